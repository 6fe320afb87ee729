//! The one place that knows how Fedora, the RHEL family and Debian differ: packages, paths,
//! services, the TFTP launcher, the firewall tool and whether SELinux applies.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cli::{DistroArg, LauncherArg};
use crate::config::Config;
use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distro {
    Fedora,
    Rhel,
    Debian,
}

impl Distro {
    /// Reads `<root>/etc/os-release`; Rocky/Alma/CentOS count as RHEL, Ubuntu as Debian.
    pub fn detect(root: &Root) -> Result<Distro> {
        let Some(text) = root.read_string_opt(Path::new("/etc/os-release"))? else {
            bail!(
                "cannot tell the distribution: {} is missing; pass --distro fedora|rhel|debian",
                root.path(Path::new("/etc/os-release")).display()
            );
        };
        Self::from_os_release(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "distribution in {} is not one pxe-kit knows (Fedora, RHEL family, Debian family); pass --distro",
                root.path(Path::new("/etc/os-release")).display()
            )
        })
    }

    pub fn from_os_release(text: &str) -> Option<Distro> {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(|v| {
                    v.trim()
                        .trim_matches('"')
                        .trim_matches('\'')
                        .to_ascii_lowercase()
                })
                .unwrap_or_default()
        };
        let id = field("ID");
        let like = field("ID_LIKE");
        match id.as_str() {
            "fedora" => return Some(Distro::Fedora),
            "rhel" | "centos" | "rocky" | "almalinux" | "ol" | "circle" => {
                return Some(Distro::Rhel)
            }
            "debian" | "ubuntu" | "raspbian" => return Some(Distro::Debian),
            _ => {}
        }
        let like: Vec<&str> = like.split_whitespace().collect();
        if like
            .iter()
            .any(|l| *l == "rhel" || *l == "centos" || *l == "fedora")
        {
            Some(Distro::Rhel)
        } else if like.iter().any(|l| *l == "debian" || *l == "ubuntu") {
            Some(Distro::Debian)
        } else {
            None
        }
    }

    pub fn from_arg(a: DistroArg) -> Distro {
        match a {
            DistroArg::Fedora => Distro::Fedora,
            DistroArg::Rhel => Distro::Rhel,
            DistroArg::Debian => Distro::Debian,
        }
    }

    fn redhat(self) -> bool {
        matches!(self, Distro::Fedora | Distro::Rhel)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firewall {
    Firewalld,
    Iptables,
    Nft,
    /// No firewall tool on a live system: nothing filters, nothing to open.
    None,
}

/// Where dhcpd learns which interface to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpdInterfaces {
    /// A dhcpd.service drop-in whose ExecStart names the interface (Fedora, RHEL).
    SystemdDropIn(PathBuf),
    /// `INTERFACESv4` in /etc/default/isc-dhcp-server (Debian).
    DefaultFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub distro: Distro,
    pub launcher: LauncherArg,
    pub firewall: Firewall,
    pub selinux: bool,
    pub tftp_root: PathBuf,
    /// Directory httpd serves images from, and the URL path it appears under.
    pub http_dir: PathBuf,
    pub http_prefix: &'static str,
    pub dhcpd_conf: PathBuf,
    pub dhcpd_interfaces: DhcpdInterfaces,
    pub dhcpd_service: &'static str,
    pub dhcpd_bin: &'static str,
    pub httpd_service: &'static str,
    pub httpd_dropin: PathBuf,
    /// Command that enables the drop-in (Debian's a2enconf), with the file it creates.
    pub httpd_enable: Option<(Vec<&'static str>, PathBuf)>,
    pub httpd_test: Vec<&'static str>,
    /// TFTP launcher unit to enable, and the file that configures it.
    pub tftp_unit: &'static str,
    pub tftp_file: PathBuf,
    pub tftpd_bin: &'static str,
    /// Boot loader files copied into the TFTP root: (name in the TFTP root, source path).
    pub syslinux: Vec<(&'static str, PathBuf)>,
    pub packages: Vec<&'static str>,
    /// The NFS server for NFS-root images: packages and unit.
    pub nfs_packages: Vec<&'static str>,
    pub nfs_service: &'static str,
}

/// Where NFS-root exports are written, one file per image.
pub const EXPORTS_DIR: &str = "/etc/exports.d";

/// Where pxe-kit keeps its own state (image manifests).
pub const STATE_DIR: &str = "/var/lib/pxe-kit";
/// Where a user's template overrides live.
pub const TEMPLATE_DIR: &str = "/etc/pxe-kit/templates";

const DEFAULT_HTTP_DIR: &str = "/var/www/html/pxe-kit";

impl Profile {
    pub fn new(distro: Distro, cfg: Option<&Config>, root: &Root) -> Profile {
        let rh = distro.redhat();
        let launcher = cfg.and_then(|c| c.tftp_launcher).unwrap_or(if !rh {
            LauncherArg::TftpdHpa
        } else if root.is_dir(Path::new("/etc/xinetd.d")) {
            LauncherArg::Xinetd
        } else {
            LauncherArg::Socket
        });
        let default_tftp = if rh { "/var/lib/tftpboot" } else { "/srv/tftp" };
        let tftp_root = cfg
            .and_then(|c| c.tftp_root.clone())
            .unwrap_or_else(|| default_tftp.into());
        let http_dir = cfg
            .and_then(|c| c.http_dir.clone())
            .unwrap_or_else(|| DEFAULT_HTTP_DIR.into());
        let (tftp_unit, tftp_file) = match launcher {
            LauncherArg::Socket => (
                "tftp.socket",
                "/etc/systemd/system/tftp.service.d/pxe-kit.conf",
            ),
            LauncherArg::Xinetd => ("xinetd.service", "/etc/xinetd.d/tftp"),
            LauncherArg::TftpdHpa => ("tftpd-hpa.service", "/etc/default/tftpd-hpa"),
        };
        let (syslinux_dir, pxelinux_dir) = if rh {
            ("/usr/share/syslinux", "/usr/share/syslinux")
        } else {
            ("/usr/lib/syslinux/modules/bios", "/usr/lib/PXELINUX")
        };
        let syslinux = vec![
            ("pxelinux.0", Path::new(pxelinux_dir).join("pxelinux.0")),
            ("ldlinux.c32", Path::new(syslinux_dir).join("ldlinux.c32")),
            ("menu.c32", Path::new(syslinux_dir).join("menu.c32")),
            ("libutil.c32", Path::new(syslinux_dir).join("libutil.c32")),
            ("libcom32.c32", Path::new(syslinux_dir).join("libcom32.c32")),
        ];
        let mut packages: Vec<&'static str> = if rh {
            vec![
                "dhcp-server",
                "tftp-server",
                "httpd",
                "syslinux",
                "syslinux-nonlinux",
                "dracut-live",
                "dracut-network",
            ]
        } else {
            vec![
                "isc-dhcp-server",
                "tftpd-hpa",
                "apache2",
                "pxelinux",
                "syslinux-common",
                "dracut",
                "dracut-network",
                "dracut-live",
            ]
        };
        if launcher == LauncherArg::Xinetd {
            packages.push("xinetd");
        }
        let firewall = detect_firewall(root, rh);
        if rh && firewall == Firewall::Firewalld {
            packages.push("firewalld");
        }
        if rh {
            packages.push("policycoreutils-python-utils");
        }
        Profile {
            distro,
            launcher,
            firewall,
            selinux: rh,
            tftp_root,
            http_dir,
            http_prefix: "/pxe-kit",
            dhcpd_conf: "/etc/dhcp/dhcpd.conf".into(),
            dhcpd_interfaces: if rh {
                DhcpdInterfaces::SystemdDropIn(
                    "/etc/systemd/system/dhcpd.service.d/pxe-kit.conf".into(),
                )
            } else {
                DhcpdInterfaces::DefaultFile("/etc/default/isc-dhcp-server".into())
            },
            dhcpd_service: if rh {
                "dhcpd.service"
            } else {
                "isc-dhcp-server.service"
            },
            dhcpd_bin: "/usr/sbin/dhcpd",
            httpd_service: if rh {
                "httpd.service"
            } else {
                "apache2.service"
            },
            httpd_dropin: if rh {
                "/etc/httpd/conf.d/pxe-kit.conf".into()
            } else {
                "/etc/apache2/conf-available/pxe-kit.conf".into()
            },
            httpd_enable: (!rh).then(|| {
                (
                    vec!["a2enconf", "-q", "pxe-kit"],
                    "/etc/apache2/conf-enabled/pxe-kit.conf".into(),
                )
            }),
            httpd_test: if rh {
                vec!["apachectl", "-t"]
            } else {
                vec!["apache2ctl", "-t"]
            },
            tftp_unit,
            tftp_file: tftp_file.into(),
            tftpd_bin: "/usr/sbin/in.tftpd",
            syslinux,
            packages,
            nfs_packages: if rh {
                vec!["nfs-utils"]
            } else {
                vec!["nfs-kernel-server"]
            },
            nfs_service: if rh {
                "nfs-server.service"
            } else {
                "nfs-kernel-server.service"
            },
        }
    }

    pub fn install_argv(&self) -> Vec<&'static str> {
        self.install_argv_for(&self.packages)
    }

    pub fn install_argv_for(&self, packages: &[&'static str]) -> Vec<&'static str> {
        let mut v = if self.distro.redhat() {
            vec!["dnf", "install", "-y"]
        } else {
            // Without a terminal, debconf must not wait for answers.
            vec![
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
            ]
        };
        v.extend(packages.iter().copied());
        v
    }

    /// A probe that succeeds when every package is installed.
    pub fn installed_probe_argv(&self) -> Vec<String> {
        self.installed_probe_argv_for(&self.packages)
    }

    pub fn installed_probe_argv_for(&self, packages: &[&'static str]) -> Vec<String> {
        let mut v: Vec<String> = if self.distro.redhat() {
            vec!["rpm".into(), "-q".into()]
        } else {
            vec![
                "dpkg-query".into(),
                "-W".into(),
                "-f=${db:Status-Abbrev} ${Package}\\n".into(),
            ]
        };
        v.extend(packages.iter().map(|s| s.to_string()));
        v
    }

    pub fn is_redhat(&self) -> bool {
        self.distro.redhat()
    }

    /// Directory of an image's kernel and initrd inside the TFTP root, and its path as the
    /// boot loader names it (relative to the TFTP root).
    pub fn tftp_image_dir(&self, name: &str) -> (PathBuf, String) {
        (
            self.tftp_root.join("pxe-kit").join(name),
            format!("pxe-kit/{name}"),
        )
    }

    pub fn http_image_dir(&self, name: &str) -> PathBuf {
        self.http_dir.join(name)
    }

    pub fn pxelinux_cfg_dir(&self) -> PathBuf {
        self.tftp_root.join("pxelinux.cfg")
    }

    /// Directories whose SELinux label is not the policy's default, which need a persistent
    /// `semanage fcontext` rule before restorecon can label them.
    pub fn fcontext_rules(&self) -> Vec<(&'static str, PathBuf)> {
        let mut v = Vec::new();
        if !self.tftp_root.starts_with("/var/lib/tftpboot")
            && !self.tftp_root.starts_with("/tftpboot")
        {
            v.push(("tftpdir_rw_t", self.tftp_root.clone()));
        }
        if !self.http_dir.starts_with("/var/www") {
            v.push(("httpd_sys_content_t", self.http_dir.clone()));
        }
        v
    }
}

fn detect_firewall(root: &Root, redhat: bool) -> Firewall {
    let has = |names: &[&str]| {
        names.iter().any(|n| {
            ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
                .iter()
                .any(|d| root.exists(&Path::new(d).join(n)))
        })
    };
    if has(&["firewall-cmd"]) {
        Firewall::Firewalld
    } else if has(&["iptables"]) {
        Firewall::Iptables
    } else if has(&["nft"]) {
        Firewall::Nft
    } else if root.is_live() {
        Firewall::None
    } else if redhat {
        // Fedora and RHEL ship firewalld by default; a staged tree without binaries plans it.
        Firewall::Firewalld
    } else {
        Firewall::Iptables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_families() {
        let d = |s: &str| Distro::from_os_release(s);
        assert_eq!(
            d("NAME=Fedora\nID=fedora\nVERSION_ID=42\n"),
            Some(Distro::Fedora)
        );
        assert_eq!(
            d("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
            Some(Distro::Rhel)
        );
        assert_eq!(d("ID=almalinux\n"), Some(Distro::Rhel));
        assert_eq!(d("ID=\"centos\"\n"), Some(Distro::Rhel));
        assert_eq!(d("ID=ubuntu\nID_LIKE=debian\n"), Some(Distro::Debian));
        assert_eq!(
            d("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"),
            Some(Distro::Debian)
        );
        assert_eq!(d("ID=arch\n"), None);
        // ID_LIKE must not be mistaken for ID.
        assert_eq!(d("ID_LIKE=debian\nID=fedora\n"), Some(Distro::Fedora));
    }
}
