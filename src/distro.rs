//! The one place that knows how Fedora, the RHEL family and Debian differ: packages, paths,
//! services, the DHCP server (ISC dhcpd or Kea) and the release's default, the TFTP launcher,
//! the firewall tool and whether SELinux applies. docs/platforms.md lists these facts with
//! their sources.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config::{Config, DhcpServer, Launcher, Transfer, UefiLoader};
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
        let id = os_release_field(text, "ID");
        let like = os_release_field(text, "ID_LIKE");
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

    fn redhat(self) -> bool {
        matches!(self, Distro::Fedora | Distro::Rhel)
    }

    /// The DHCP server a release gets when the settings name none: ISC dhcpd where the
    /// release ships it, Kea on the RHEL family from 10 on (RHEL, CentOS Stream, Rocky and
    /// Alma 10 ship no dhcp-server, not even in EPEL 10). `major` is VERSION_ID's major number.
    pub fn default_dhcp_server(self, major: Option<u32>) -> DhcpServer {
        if self.ships_isc_dhcpd(major) {
            DhcpServer::Isc
        } else {
            DhcpServer::Kea
        }
    }

    /// Whether the release ships ISC dhcpd at all. Fedora still does (dhcp-server,
    /// deprecated), as do EL9 and Debian 12.
    pub fn ships_isc_dhcpd(self, major: Option<u32>) -> bool {
        !matches!((self, major), (Distro::Rhel, Some(m)) if m >= 10)
    }
}

/// One `KEY=value` of os-release, unquoted and lower-cased; empty when absent.
fn os_release_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| {
            v.trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The major release number of `<root>/etc/os-release` (VERSION_ID "10.0" → 10), when the file
/// describes `distro`: with `--distro` forcing another family, its numbers mean nothing here.
pub fn release_major(root: &Root, distro: Distro) -> Option<u32> {
    let text = root
        .read_string_opt(Path::new("/etc/os-release"))
        .ok()
        .flatten()?;
    if Distro::from_os_release(&text) != Some(distro) {
        return None;
    }
    major_of(&os_release_field(&text, "VERSION_ID"))
}

/// "10.0" → 10, "42" → 42; None for what is not a number (rawhide, an empty field).
fn major_of(version_id: &str) -> Option<u32> {
    version_id.split('.').next()?.parse().ok()
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

/// Where the DHCP server learns which interface to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpInterfaces {
    /// pxe-kit's drop-in of the unit (`DhcpBackend::unit_dropin`) names the interface on its
    /// ExecStart (ISC on Fedora, RHEL).
    SystemdDropIn,
    /// `INTERFACESv4` in /etc/default/isc-dhcp-server (ISC on Debian).
    DefaultFile(PathBuf),
    /// In the configuration file itself (Kea's `interfaces-config`): nothing else to write.
    InConfig,
}

/// One DHCP server as a distribution packages it.
#[derive(Debug, Clone)]
pub struct DhcpBackend {
    pub server: DhcpServer,
    /// What installs it (the daemon only: Kea's meta-package on Debian would also start the
    /// DHCPv6, DDNS and control-agent daemons).
    pub packages: Vec<&'static str>,
    pub service: &'static str,
    /// The daemon's program name (its /proc comm) and binary.
    pub comm: &'static str,
    pub bin: &'static str,
    /// The configuration file pxe-kit renders, and its mode.
    pub conf: PathBuf,
    pub conf_mode: u32,
    /// How messages name the configuration file.
    pub conf_name: &'static str,
    pub interfaces: DhcpInterfaces,
    /// The lease database the packaged unit writes.
    pub leases: PathBuf,
    /// The account the packaged unit runs the daemon as (None: root).
    pub user: Option<&'static str>,
    /// Kea's control socket, in the directory the unit creates (`RuntimeDirectory=kea`).
    pub control_socket: Option<PathBuf>,
    /// Kea's hook libraries (`kea-dhcp4 -W` prints it): for HA and lease commands later.
    pub hooks_dir: Option<PathBuf>,
    /// The SELinux policies (Fedora's targeted, Debian's refpolicy) confine the daemon
    /// (`dhcpd_t`): its lease database must carry the policy's label. False for Kea, which
    /// no policy module confines (it runs unconfined, nothing to label).
    pub selinux_confined: bool,
}

impl DhcpBackend {
    /// pxe-kit's drop-in for the daemon's systemd unit: its CPU priority everywhere, and on
    /// Fedora/RHEL's dhcpd the interface (`DhcpInterfaces::SystemdDropIn`). Debian's
    /// isc-dhcp-server unit, generated from its init script, takes drop-ins too.
    pub fn unit_dropin(&self) -> PathBuf {
        format!("/etc/systemd/system/{}.d/pxe-kit.conf", self.service).into()
    }

    /// The facts of `server` on `distro`'s family.
    pub fn of(distro: Distro, server: DhcpServer) -> DhcpBackend {
        let rh = distro.redhat();
        match server {
            DhcpServer::Isc => DhcpBackend {
                server,
                packages: vec![if rh { "dhcp-server" } else { "isc-dhcp-server" }],
                service: if rh {
                    "dhcpd.service"
                } else {
                    "isc-dhcp-server.service"
                },
                comm: "dhcpd",
                bin: "/usr/sbin/dhcpd",
                conf: "/etc/dhcp/dhcpd.conf".into(),
                conf_mode: 0o644,
                conf_name: "dhcpd.conf",
                interfaces: if rh {
                    DhcpInterfaces::SystemdDropIn
                } else {
                    DhcpInterfaces::DefaultFile("/etc/default/isc-dhcp-server".into())
                },
                leases: if rh {
                    "/var/lib/dhcpd/dhcpd.leases"
                } else {
                    "/var/lib/dhcp/dhcpd.leases"
                }
                .into(),
                user: rh.then_some("dhcpd"),
                control_socket: None,
                hooks_dir: None,
                selinux_confined: true,
            },
            DhcpServer::Kea => DhcpBackend {
                server,
                // Fedora/RHEL: one `kea` package (daemons, kea-admin, perfdhcp, units);
                // Debian: the DHCPv4 daemon alone (kea-common comes with it).
                packages: vec![if rh { "kea" } else { "kea-dhcp4-server" }],
                service: if rh {
                    "kea-dhcp4.service"
                } else {
                    "kea-dhcp4-server.service"
                },
                comm: "kea-dhcp4",
                bin: "/usr/sbin/kea-dhcp4",
                conf: "/etc/kea/kea-dhcp4.conf".into(),
                // Fedora packages it 0640 root:kea inside a 0750 root:kea /etc/kea; 0644
                // lets the unprivileged daemon read it without pxe-kit changing groups, and
                // the directory still keeps other users out (Debian ships it 0644 itself).
                conf_mode: 0o644,
                conf_name: "kea-dhcp4.conf",
                interfaces: DhcpInterfaces::InConfig,
                leases: "/var/lib/kea/kea-leases4.csv".into(),
                user: Some(if rh { "kea" } else { "_kea" }),
                control_socket: Some("/run/kea/kea4-ctrl-socket".into()),
                hooks_dir: Some(
                    if rh {
                        "/usr/lib64/kea/hooks"
                    } else {
                        "/usr/lib/x86_64-linux-gnu/kea/hooks"
                    }
                    .into(),
                ),
                selinux_confined: false,
            },
        }
    }
}

/// dnsmasq as the proxyDHCP server (settings `dhcp.mode: proxy`): the network's own DHCP
/// server gives addresses, dnsmasq gives PXE clients their boot files. The same package,
/// unit and paths on every family (docs/platforms.md has the sources).
#[derive(Debug, Clone)]
pub struct ProxyDhcp {
    /// The service package: Debian's `dnsmasq` brings the unit (`dnsmasq-base` is the
    /// binary alone, what libvirt and NetworkManager use).
    pub packages: Vec<&'static str>,
    pub service: &'static str,
    pub comm: &'static str,
    pub bin: &'static str,
    /// pxe-kit's file in the directory the packaged unit reads (Fedora/RHEL's dnsmasq.conf
    /// names it in `conf-dir`, Debian's init script reads it by default): labelled
    /// dnsmasq_etc_t by the policy there.
    pub conf: PathBuf,
    /// Where `serve` keeps its foreground dnsmasq's pid (dnsmasq_var_run_t under /run).
    pub pid: PathBuf,
}

impl ProxyDhcp {
    pub fn new() -> ProxyDhcp {
        ProxyDhcp {
            packages: vec!["dnsmasq"],
            service: "dnsmasq.service",
            comm: "dnsmasq",
            bin: "/usr/sbin/dnsmasq",
            conf: PROXY_CONF.into(),
            pid: "/run/dnsmasq-pxe-kit.pid".into(),
        }
    }
}

impl Default for ProxyDhcp {
    fn default() -> Self {
        Self::new()
    }
}

/// pxe-kit's dnsmasq file in proxy mode.
pub const PROXY_CONF: &str = "/etc/dnsmasq.d/pxe-kit.conf";

#[derive(Debug, Clone)]
pub struct Profile {
    pub distro: Distro,
    /// httpd also serves the TFTP root's image directory (HTTP transfer or iPXE clients).
    pub http_boot: bool,
    /// What UEFI clients boot: files copied into the TFTP root, the DHCP boot file and
    /// where the loader looks for its configuration.
    pub efi: EfiLoader,
    pub launcher: Launcher,
    pub firewall: Firewall,
    /// SELinux labels apply: the kernel has SELinux on (see `selinux_applies`).
    pub selinux: bool,
    /// Whose policy labels the files: Fedora/RHEL's targeted policy or Debian's refpolicy.
    pub selinux_policy: SelinuxPolicy,
    pub tftp_root: PathBuf,
    /// Directory httpd serves images from, and the URL path it appears under.
    pub http_dir: PathBuf,
    pub http_prefix: &'static str,
    /// The DHCP server the settings choose (or the release's default).
    pub dhcp: DhcpBackend,
    /// Proxy mode: dnsmasq answers PXE clients and `dhcp` stays stopped (None: server mode).
    pub proxy: Option<ProxyDhcp>,
    /// The release's major version (os-release VERSION_ID), when known.
    pub release: Option<u32>,
    pub httpd_service: &'static str,
    pub httpd_dropin: PathBuf,
    /// Where httpd logs the requests for pxe-kit's paths in pxe-kit's format (`pxe-kit status`
    /// reads it); `None` when httpd logs elsewhere (`serve` reads its stdout).
    pub httpd_access_log: Option<PathBuf>,
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
        // xinetd only where its binary is installed: Fedora's last xinetd build is fc33 and
        // RHEL 8 deprecated it, so a stale /etc/xinetd.d says nothing, and pxe-kit never
        // installs xinetd.
        let launcher = cfg.and_then(|c| c.tftp_launcher).unwrap_or(if !rh {
            Launcher::TftpdHpa
        } else if xinetd_installed(root) {
            Launcher::Xinetd
        } else {
            Launcher::Socket
        });
        let default_tftp = if rh { "/var/lib/tftpboot" } else { "/srv/tftp" };
        let tftp_root = cfg
            .and_then(|c| c.tftp_root.clone())
            .unwrap_or_else(|| default_tftp.into());
        let http_dir = cfg
            .and_then(|c| c.http_dir.clone())
            .unwrap_or_else(|| DEFAULT_HTTP_DIR.into());
        let (tftp_unit, tftp_file) = match launcher {
            Launcher::Socket => (
                "tftp.socket",
                "/etc/systemd/system/tftp.service.d/pxe-kit.conf",
            ),
            Launcher::Xinetd => ("xinetd.service", "/etc/xinetd.d/tftp"),
            Launcher::TftpdHpa => ("tftpd-hpa.service", "/etc/default/tftpd-hpa"),
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
            // lpxelinux.0 is pxelinux with HTTP: same build, same ldlinux.c32.
            ("lpxelinux.0", Path::new(pxelinux_dir).join("lpxelinux.0")),
        ];
        let uefi = cfg.map(|c| c.boot.uefi).unwrap_or_default();
        let efi = efi_loader(rh, uefi, &efi_vendor(root), root);
        let release = release_major(root, distro);
        let server = cfg
            .and_then(|c| c.dhcp.server)
            .unwrap_or_else(|| distro.default_dhcp_server(release));
        let dhcp = DhcpBackend::of(distro, server);
        let proxy = cfg
            .is_some_and(|c| c.dhcp.mode() == crate::config::DhcpMode::Proxy)
            .then(ProxyDhcp::new);
        // Proxy mode installs dnsmasq instead of the DHCP server: switching back installs
        // the server again.
        let mut packages: Vec<&'static str> = match &proxy {
            Some(p) => p.packages.clone(),
            None => dhcp.packages.clone(),
        };
        packages.extend(if rh {
            vec![
                "tftp-server",
                "httpd",
                "syslinux",
                "syslinux-nonlinux",
                "dracut-live",
                "dracut-network",
            ]
        } else {
            vec![
                "tftpd-hpa",
                "apache2",
                "pxelinux",
                "syslinux-common",
                "dracut",
                "dracut-network",
                "dracut-live",
            ]
        });
        packages.extend(efi.packages.iter().copied());
        let firewall = detect_firewall(root, rh);
        if rh && firewall == Firewall::Firewalld {
            packages.push("firewalld");
        }
        if rh {
            packages.push("policycoreutils-python-utils");
        }
        Profile {
            distro,
            http_boot: cfg.is_none_or(|c| c.boot.transfer == Transfer::Http || c.boot.ipxe),
            efi,
            launcher,
            firewall,
            selinux: selinux_applies(root, rh),
            selinux_policy: if rh {
                SelinuxPolicy::Targeted
            } else {
                SelinuxPolicy::Refpolicy
            },
            tftp_root,
            http_dir,
            http_prefix: "/pxe-kit",
            dhcp,
            proxy,
            release,
            httpd_service: if rh {
                "httpd.service"
            } else {
                "apache2.service"
            },
            httpd_access_log: Some(if rh {
                "/var/log/httpd/pxe-kit-access.log".into()
            } else {
                "/var/log/apache2/pxe-kit-access.log".into()
            }),
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

    /// Every boot loader file copied into the TFTP root: syslinux for BIOS, then the UEFI
    /// loader's.
    pub fn loader_files(&self) -> impl Iterator<Item = &(&'static str, PathBuf)> {
        self.syslinux.iter().chain(self.efi.files.iter())
    }

    /// The package that ships a boot loader file, for "install …" messages.
    pub fn loader_package(&self, name: &str) -> String {
        if self.efi.files.iter().any(|(n, _)| *n == name) {
            return self.efi.packages.join(" and ");
        }
        if self.distro.redhat() {
            "syslinux-nonlinux"
        } else {
            "pxelinux and syslinux-common"
        }
        .to_string()
    }

    pub fn is_redhat(&self) -> bool {
        self.distro.redhat()
    }

    /// The DHCP server the settings do not choose: what a switch stops and disables.
    pub fn other_dhcp(&self) -> DhcpBackend {
        let other = match self.dhcp.server {
            DhcpServer::Isc => DhcpServer::Kea,
            DhcpServer::Kea => DhcpServer::Isc,
        };
        DhcpBackend::of(self.distro, other)
    }

    /// ISC dhcpd's facts on this distribution, whichever server is chosen (the dhcpd
    /// templates name its binary and file).
    pub fn isc(&self) -> DhcpBackend {
        DhcpBackend::of(self.distro, DhcpServer::Isc)
    }

    /// Refuses a DHCP server the release does not ship, naming the fix: RHEL 10 and its
    /// rebuilds have no ISC dhcpd.
    pub fn check_dhcp_available(&self) -> Result<()> {
        // Proxy mode runs no DHCP server (dnsmasq ships everywhere).
        if self.proxy.is_none()
            && self.dhcp.server == DhcpServer::Isc
            && !self.distro.ships_isc_dhcpd(self.release)
        {
            bail!(
                "RHEL-family {} ships no ISC dhcpd (no dhcp-server package); use Kea: `pxe-kit init --dhcp-server kea` (or dhcp: {{server: kea}} in the settings)",
                self.release.map(|r| r.to_string()).unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Proxy mode with a UEFI loader that cannot find its menu there: Debian 12's GRUB
    /// (2.06, upstream's behaviour) ignores proxyDHCP answers, so after shim loads it, GRUB
    /// looks for grub.cfg on the network's DHCP server and stops at its shell (seen in the
    /// lab). Fedora's and RHEL's GRUB carry a patch that reads the proxy's answer.
    pub fn proxy_loader_warning(&self) -> Option<String> {
        (self.proxy.is_some()
            && self.efi.kind == UefiLoader::ShimGrub
            && self.distro == Distro::Debian)
            .then(|| {
                "in dhcp.mode proxy, Debian's GRUB ignores the proxy's answer: UEFI machines load shim and GRUB, then GRUB stops at its shell without its menu; set boot.uefi: syslinux (no Secure Boot), or have the network's DHCP server give next-server for PXE clients (then Secure Boot works)".to_string()
            })
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
        match self.selinux_policy {
            // Fedora/RHEL: tftpd reads tftpdir_rw_t (the policy's type for
            // /var/lib/tftpboot), and httpd_t may search every directory
            // (`files_search_all(httpd_t)` in apache.te), so a custom TFTP root gets the
            // TFTP type.
            SelinuxPolicy::Targeted => {
                if !self.tftp_root.starts_with("/var/lib/tftpboot")
                    && !self.tftp_root.starts_with("/tftpboot")
                {
                    v.push(("tftpdir_rw_t", self.tftp_root.clone()));
                }
            }
            // Debian's refpolicy labels /srv and /var var_t, which tftpd_t reads and httpd_t
            // may traverse; a tftpdir type on the TFTP root would stop httpd_t searching it
            // (live: `avc: denied { search } … httpd_t … tftpdir_rw_t`). A root elsewhere
            // gets public_content_t, which both daemons read.
            SelinuxPolicy::Refpolicy => {
                if !self.tftp_root.starts_with("/srv") && !self.tftp_root.starts_with("/var") {
                    v.push(("public_content_t", self.tftp_root.clone()));
                }
            }
        }
        if !self.http_dir.starts_with("/var/www") {
            v.push(("httpd_sys_content_t", self.http_dir.clone()));
        }
        // Kernels and initrds that both tftpd and httpd serve: public_content_t is the type
        // both domains may read (a file has one label, and tftpdir_rw_t is tftpd's alone).
        if self.http_boot {
            v.push(("public_content_t", self.tftp_root.join("pxe-kit")));
        }
        v
    }

    /// What to relabel besides the written files: the DHCP lease database, which the
    /// package's init script may have created with its directory's type before the policy's
    /// file context applied (Debian: `dhcp_state_t`, which `dhcpd_t` cannot read, so dhcpd
    /// never starts).
    pub fn selinux_state_paths(&self) -> Vec<PathBuf> {
        if !self.selinux || !self.dhcp.selinux_confined {
            return Vec::new();
        }
        self.dhcp
            .leases
            .parent()
            .map(Path::to_path_buf)
            .into_iter()
            .collect()
    }
}

/// Whose SELinux policy a distribution ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelinuxPolicy {
    /// Fedora/RHEL's targeted policy (fedora-selinux/selinux-policy).
    Targeted,
    /// The reference policy Debian packages as selinux-policy-default.
    Refpolicy,
}

/// Whether SELinux labels apply to the root: the running kernel has SELinux on (its
/// `/sys/fs/selinux/enforce`, read through Root, so a staged tree may carry one), whatever the
/// distribution; without it a live system has no labels to set. A staged tree without that
/// file follows its `/etc/selinux/config`, else its family's default (Fedora and RHEL ship
/// SELinux enforcing, Debian off).
pub fn selinux_applies(root: &Root, redhat: bool) -> bool {
    if root.exists(Path::new(SELINUX_ENFORCE)) {
        return true;
    }
    if root.is_live() {
        return false;
    }
    let config = root
        .read_string_opt(Path::new("/etc/selinux/config"))
        .ok()
        .flatten()
        .unwrap_or_default();
    match os_release_field(&config, "SELINUX").as_str() {
        "enforcing" | "permissive" => true,
        "disabled" => false,
        _ => redhat,
    }
}

/// The kernel's SELinux enforce switch (present when SELinux is on).
pub const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";

/// xinetd's binary in the root: the only reason to use the xinetd launcher.
pub fn xinetd_installed(root: &Root) -> bool {
    ["/usr/sbin/xinetd", "/sbin/xinetd"]
        .iter()
        .any(|p| root.exists(Path::new(p)))
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

    #[test]
    fn the_release_picks_the_default_dhcp_server() {
        assert_eq!(major_of("10.0"), Some(10));
        assert_eq!(major_of("9.4"), Some(9));
        assert_eq!(major_of("42"), Some(42));
        assert_eq!(major_of(""), None);
        assert_eq!(major_of("rawhide"), None);
        use DhcpServer::*;
        for (d, m, want) in [
            (Distro::Rhel, Some(10), Kea),
            (Distro::Rhel, Some(11), Kea),
            (Distro::Rhel, Some(9), Isc),
            (Distro::Rhel, None, Isc),
            (Distro::Fedora, Some(42), Isc),
            (Distro::Fedora, Some(44), Isc),
            (Distro::Debian, Some(12), Isc),
        ] {
            assert_eq!(d.default_dhcp_server(m), want, "{d:?} {m:?}");
        }
    }

    #[test]
    fn rpm_versions_order_like_rpm() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            ("16.1-7", "15.8-3", Greater),
            ("15.10-1", "15.8-3", Greater),
            ("1:2.12-40.fc43", "2.12-41.fc43", Greater),
            ("1:2.12-40.fc43", "1:2.12-41.fc43", Less),
            ("2.12-40.fc43", "2.12-40.fc43", Equal),
            ("2.12~rc1-1", "2.12-1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0.1", "1.0a", Greater),
            ("010", "10", Equal),
        ] {
            assert_eq!(rpm_vercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpm_vercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn selinux_follows_the_kernel_not_the_distribution() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path(), false, Default::default()).unwrap();
        root.write(
            Path::new("/etc/os-release"),
            b"ID=debian\nVERSION_ID=12\n",
            0o644,
        )
        .unwrap();
        // A staged tree takes its family's default...
        assert!(!selinux_applies(&root, false));
        assert!(selinux_applies(&root, true));
        // ...or its SELinux config...
        root.write(
            Path::new("/etc/selinux/config"),
            b"SELINUX=enforcing\nSELINUXTYPE=default\n",
            0o644,
        )
        .unwrap();
        assert!(selinux_applies(&root, false));
        root.write(
            Path::new("/etc/selinux/config"),
            b"SELINUX=disabled\n",
            0o644,
        )
        .unwrap();
        assert!(!selinux_applies(&root, true));
        // ...and the kernel's switch above all: a Debian server with SELinux on.
        root.write(Path::new(SELINUX_ENFORCE), b"1", 0o644).unwrap();
        assert!(selinux_applies(&root, false));
        let p = Profile::new(Distro::Debian, None, &root);
        assert!(p.selinux);
        assert_eq!(p.selinux_policy, SelinuxPolicy::Refpolicy);
        // Debian's /srv/tftp stays var_t (httpd_t may traverse it); the image tree gets the
        // type both daemons read; the lease directory is relabelled.
        assert_eq!(
            p.fcontext_rules(),
            [("public_content_t", PathBuf::from("/srv/tftp/pxe-kit"))]
        );
        assert_eq!(p.selinux_state_paths(), [PathBuf::from("/var/lib/dhcp")]);
        let f = Profile::new(Distro::Fedora, None, &root);
        assert_eq!(
            f.fcontext_rules(),
            [(
                "public_content_t",
                PathBuf::from("/var/lib/tftpboot/pxe-kit")
            )]
        );
    }

    #[test]
    fn xinetd_only_where_its_binary_is_and_never_installed() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path(), false, Default::default()).unwrap();
        root.write(Path::new("/etc/xinetd.d/echo"), b"# stale\n", 0o644)
            .unwrap();
        let p = Profile::new(Distro::Fedora, None, &root);
        assert_eq!(p.launcher, Launcher::Socket);
        assert!(!p.packages.contains(&"xinetd"));
        root.write(Path::new("/usr/sbin/xinetd"), b"", 0o755)
            .unwrap();
        let p = Profile::new(Distro::Fedora, None, &root);
        assert_eq!(p.launcher, Launcher::Xinetd);
        assert!(!p.packages.contains(&"xinetd"));
    }

    #[test]
    fn release_comes_from_the_roots_os_release_for_its_own_family() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path(), false, Default::default()).unwrap();
        assert_eq!(release_major(&root, Distro::Rhel), None);
        for (text, distro) in [
            ("ID=\"rhel\"\nVERSION_ID=\"10.0\"\n", Distro::Rhel),
            (
                "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"10.0\"\n",
                Distro::Rhel,
            ),
            ("ID=\"almalinux\"\nVERSION_ID=\"10.0\"\n", Distro::Rhel),
            ("ID=\"centos\"\nVERSION_ID=\"10\"\n", Distro::Rhel),
        ] {
            root.write(Path::new("/etc/os-release"), text.as_bytes(), 0o644)
                .unwrap();
            assert_eq!(release_major(&root, distro), Some(10), "{text}");
            let p = Profile::new(distro, None, &root);
            assert_eq!(p.dhcp.server, DhcpServer::Kea, "{text}");
            assert_eq!(p.dhcp.service, "kea-dhcp4.service");
            assert_eq!(p.packages[0], "kea");
        }
        // --distro rhel over a Debian 12 root: its VERSION_ID is not a RHEL release.
        root.write(
            Path::new("/etc/os-release"),
            b"ID=debian\nVERSION_ID=\"12\"\n",
            0o644,
        )
        .unwrap();
        assert_eq!(release_major(&root, Distro::Rhel), None);
        assert_eq!(release_major(&root, Distro::Debian), Some(12));
        let p = Profile::new(Distro::Debian, None, &root);
        assert_eq!(p.dhcp.server, DhcpServer::Isc);
        assert_eq!(p.other_dhcp().service, "kea-dhcp4-server.service");
        p.check_dhcp_available().unwrap();
    }
}

/// The UEFI first-stage loader and where its pieces live.
#[derive(Debug, Clone)]
pub struct EfiLoader {
    pub kind: UefiLoader,
    /// (path in the TFTP root, source on the server).
    pub files: Vec<(&'static str, PathBuf)>,
    /// The file DHCP names for x86-64 UEFI clients.
    pub boot_file: &'static str,
    /// Where the loader reads its menu, relative to the TFTP root.
    pub config: Vec<&'static str>,
    pub packages: Vec<&'static str>,
}

/// The directory under /boot/efi/EFI that the RHEL family's shim and GRUB packages use.
fn efi_vendor(root: &Root) -> String {
    let text = root
        .read_string_opt(Path::new("/etc/os-release"))
        .ok()
        .flatten()
        .unwrap_or_default();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("ID="))
        .map(|v| v.trim().trim_matches('"').to_ascii_lowercase())
        .unwrap_or_default();
    match id.as_str() {
        "fedora" => "fedora",
        "centos" => "centos",
        "rocky" => "rocky",
        "almalinux" => "almalinux",
        "ol" => "redhat",
        _ => "redhat",
    }
    .to_string()
}

fn efi_loader(redhat: bool, kind: UefiLoader, vendor: &str, root: &Root) -> EfiLoader {
    match (kind, redhat) {
        // Secure Boot: shim (signed by Microsoft's UEFI CA) loads grubx64.efi from its own
        // directory; GRUB reads grub.cfg from its prefix.
        (UefiLoader::ShimGrub, true) => {
            let esp = Path::new("/boot/efi/EFI").join(vendor);
            EfiLoader {
                kind,
                files: vec![
                    (
                        "uefi/shimx64.efi",
                        packaged_efi(root, "shim", vendor, "shimx64.efi")
                            .unwrap_or_else(|| esp.join("shimx64.efi")),
                    ),
                    (
                        "uefi/grubx64.efi",
                        packaged_efi(root, "grub2", vendor, "grubx64.efi")
                            .unwrap_or_else(|| esp.join("grubx64.efi")),
                    ),
                ],
                boot_file: "uefi/shimx64.efi",
                config: vec!["uefi/grub.cfg"],
                packages: vec!["shim-x64", "grub2-efi-x64"],
            }
        }
        (UefiLoader::ShimGrub, false) => EfiLoader {
            kind,
            files: vec![
                (
                    "uefi/shimx64.efi",
                    "/usr/lib/shim/shimx64.efi.signed".into(),
                ),
                (
                    "uefi/grubx64.efi",
                    "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed".into(),
                ),
                // Debian's network GRUB has no http built in; without Secure Boot it loads this
                // module (same grub build) from its prefix and fetches kernels over HTTP.
                (
                    "grub/x86_64-efi/http.mod",
                    "/usr/lib/grub/x86_64-efi/http.mod".into(),
                ),
            ],
            boot_file: "uefi/shimx64.efi",
            // Debian's network GRUB image has the prefix (tftp,SERVER)/grub.
            config: vec!["grub/grub.cfg"],
            packages: vec!["shim-signed", "grub-efi-amd64-signed", "grub-efi-amd64-bin"],
        },
        (UefiLoader::Syslinux, rh) => {
            let (core, modules) = if rh {
                (
                    "/usr/share/syslinux/efi64/syslinux.efi",
                    "/usr/share/syslinux/efi64",
                )
            } else {
                (
                    "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
                    "/usr/lib/syslinux/modules/efi64",
                )
            };
            let m = Path::new(modules);
            EfiLoader {
                kind,
                files: vec![
                    ("efi64/syslinux.efi", core.into()),
                    ("efi64/ldlinux.e64", m.join("ldlinux.e64")),
                    ("efi64/menu.c32", m.join("menu.c32")),
                    ("efi64/libutil.c32", m.join("libutil.c32")),
                    ("efi64/libcom32.c32", m.join("libcom32.c32")),
                ],
                boot_file: "efi64/syslinux.efi",
                // syslinux.efi resolves names relative to its own directory.
                config: vec!["efi64/pxelinux.cfg/default"],
                packages: vec![if rh { "syslinux-efi64" } else { "syslinux-efi" }],
            }
        }
    }
}

/// Where Fedora 44 and later (and image-mode hosts) keep the package's own copy of a UEFI
/// binary: `/usr/lib/efi/COMPONENT/VERSION/EFI/VENDOR/FILE`, newest VERSION first (rpm order,
/// epoch included: `1:2.12-40.fc43`). The copy on the EFI partition is only a best-effort
/// post-install step there, and absent on image-mode hosts.
fn packaged_efi(root: &Root, component: &str, vendor: &str, file: &str) -> Option<PathBuf> {
    let base = Path::new("/usr/lib/efi").join(component);
    let mut versions: Vec<String> = root.list_dir(&base).ok()?;
    versions.sort_by(|a, b| rpm_vercmp(b, a));
    versions
        .iter()
        .map(|v| base.join(v).join("EFI").join(vendor).join(file))
        .find(|p| root.exists(p))
}

/// Compares two rpm `[EPOCH:]VERSION[-RELEASE]` strings the way rpm orders them: epoch first
/// (missing is 0), then runs of digits (numerically) and of letters (lexically), a digit run
/// newer than a letter run, `~` older than anything, and the longer string newer when all else
/// is equal.
pub fn rpm_vercmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn epoch(s: &str) -> (u64, &str) {
        match s.split_once(':') {
            Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) => {
                (e.parse().unwrap_or(0), rest)
            }
            _ => (0, s),
        }
    }
    let ((ea, mut a), (eb, mut b)) = (epoch(a), epoch(b));
    if ea != eb {
        return ea.cmp(&eb);
    }
    let sep = |c: char| !c.is_ascii_alphanumeric() && c != '~';
    loop {
        a = a.trim_start_matches(sep);
        b = b.trim_start_matches(sep);
        match (a.strip_prefix('~'), b.strip_prefix('~')) {
            (Some(ra), Some(rb)) => {
                (a, b) = (ra, rb);
                continue;
            }
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => {}
        }
        if a.is_empty() || b.is_empty() {
            return a.len().cmp(&b.len());
        }
        let digits = a.starts_with(|c: char| c.is_ascii_digit());
        let run = |s: &str| -> usize {
            s.find(|c: char| {
                if digits {
                    !c.is_ascii_digit()
                } else {
                    !c.is_ascii_alphabetic()
                }
            })
            .unwrap_or(s.len())
        };
        let (na, nb) = (run(a), run(b));
        if nb == 0 {
            // One has digits where the other has letters: digits are newer.
            return if digits {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[..na], &b[..nb]);
        let ord = if digits {
            let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (a, b) = (&a[na..], &b[nb..]);
    }
}
