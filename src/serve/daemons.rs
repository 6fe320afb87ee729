//! How `serve` runs the distribution's stock daemons in the foreground: their command lines,
//! the self-contained apache config, the syslog socket in.tftpd logs to, and where the host
//! keeps the binaries. Pure builders, unit-tested; `cmd::serve` runs them.
use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::config::DhcpServer;
use crate::distro::{DhcpBackend, Distro};
use crate::render::ACCESS_FORMAT;
use crate::runner::find_program;
use crate::serve::supervise::Line;

/// The daemons' binaries and apache's module directory on this host.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The chosen DHCP server's daemon: dhcpd or kea-dhcp4.
    pub dhcp: String,
    pub tftpd: String,
    pub httpd: String,
    pub httpd_modules: PathBuf,
    /// Unprivileged account apache's workers run as.
    pub httpd_user: String,
    /// Account in.tftpd drops to after chrooting.
    pub tftp_user: String,
}

impl Binaries {
    /// Finds every binary (of the DHCP server `server`, or dnsmasq with `proxy`) or names the
    /// packages that are missing.
    pub fn find(distro: Distro, server: DhcpServer, proxy: bool) -> Result<Binaries> {
        let deb = distro == Distro::Debian;
        let mut missing = Vec::new();
        let mut get = |names: &[&str], pkg: &'static str| -> String {
            match names.iter().find_map(|n| find_program(n)) {
                Some(p) => p,
                None => {
                    missing.push(pkg);
                    String::new()
                }
            }
        };
        let backend = DhcpBackend::of(distro, server);
        let dhcp = if proxy {
            get(&["dnsmasq"], "dnsmasq")
        } else {
            get(&[backend.comm], backend.packages[0])
        };
        let tftpd = get(&["in.tftpd"], if deb { "tftpd-hpa" } else { "tftp-server" });
        let httpd = get(&["apache2", "httpd"], if deb { "apache2" } else { "httpd" });
        if !missing.is_empty() {
            bail!(
                "serve needs {}; install with: {} {}",
                missing.join(", "),
                if deb {
                    "apt-get install -y"
                } else {
                    "dnf install -y"
                },
                missing.join(" ")
            );
        }
        let httpd_modules = [
            "/usr/lib/apache2/modules",
            "/usr/lib64/httpd/modules",
            "/usr/lib/httpd/modules",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("mod_alias.so").exists())
        .context(
            "apache's module directory (with mod_alias.so) was not found; reinstall apache2/httpd",
        )?;
        let user = |names: &[&str]| {
            names
                .iter()
                .find(|n| matches!(nix::unistd::User::from_name(n), Ok(Some(_))))
                .map(|n| n.to_string())
                .unwrap_or_else(|| "nobody".into())
        };
        Ok(Binaries {
            dhcp,
            tftpd,
            httpd,
            httpd_modules,
            httpd_user: user(&["www-data", "apache", "nobody"]),
            tftp_user: user(&["tftp", "nobody"]),
        })
    }
}

/// dnsmasq as proxyDHCP in the foreground (`-k`), logging to stderr, reading pxe-kit's file
/// alone (`--conf-file`: never the host's /etc/dnsmasq.conf or /etc/dnsmasq.d), with its own
/// pid file and no lease file (a proxy gives no leases).
pub fn dnsmasq_argv(bin: &str, conf: &Path, pid: &Path) -> Vec<String> {
    vec![
        bin.into(),
        "-k".into(),
        "--log-facility=-".into(),
        format!("--conf-file={}", conf.display()),
        format!("--pid-file={}", pid.display()),
        "--leasefile-ro".into(),
    ]
}

/// dhcpd in the foreground (`-f`), logging to stderr (`-d`), on the one interface only.
pub fn dhcpd_argv(bin: &str, conf: &Path, leases: &Path, pid: &Path, iface: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![bin.into(), "-4".into(), "-f".into(), "-d".into()];
    for (flag, p) in [("-cf", conf), ("-lf", leases), ("-pf", pid)] {
        v.push(flag.into());
        v.push(p.display().to_string());
    }
    v.push(iface.into());
    v
}

/// in.tftpd in the foreground (`-L`), chrooted read-only (`-s`, no `-c`), on the server
/// address only, verbose enough to log each request.
pub fn tftpd_argv(bin: &str, user: &str, server: Ipv4Addr, root: &Path) -> Vec<String> {
    vec![
        bin.into(),
        "-L".into(),
        "-s".into(),
        "-u".into(),
        user.into(),
        "-a".into(),
        format!("{server}:69"),
    ]
    .into_iter()
    .chain(crate::render::TFTPD_OPTIONS.iter().map(|s| s.to_string()))
    .chain([root.display().to_string()])
    .collect()
}

pub fn httpd_argv(bin: &str, conf: &Path) -> Vec<String> {
    vec![
        bin.into(),
        "-f".into(),
        conf.display().to_string(),
        "-DFOREGROUND".into(),
    ]
}

/// A self-contained apache config: only the modules pxe-kit needs, listening on the server
/// address, logs to stdout/stderr, everything denied but pxe-kit's drop-in (given rendered,
/// with its paths already mapped under --root).
pub fn apache_conf(b: &Binaries, run_dir: &Path, server: Ipv4Addr, dropin: &str) -> String {
    let run = run_dir.display();
    let mut s = format!(
        "# Generated by pxe-kit serve: apache in the foreground with pxe-kit's drop-in only.\n\
         ServerRoot \"{run}\"\n\
         ServerName pxe-kit\n"
    );
    for m in [
        "mpm_event",
        "unixd",
        "authz_core",
        "authz_host",
        "alias",
        "log_config",
    ] {
        let so = b.httpd_modules.join(format!("mod_{m}.so"));
        // Debian builds some of these in; load only what is a module here, once.
        if so.exists() {
            s += &format!(
                "<IfModule !{m}_module>\n    LoadModule {m}_module \"{}\"\n</IfModule>\n",
                so.display()
            );
        }
    }
    s += &format!(
        "Listen {server}:80\n\
         User {user}\n\
         Group {user}\n\
         PidFile \"{run}/httpd.pid\"\n\
         Mutex file:{run} default\n\
         DefaultRuntimeDir \"{run}\"\n\
         ErrorLog /dev/stderr\n\
         LogLevel warn\n\
         LogFormat {ACCESS_FORMAT} pxekit\n\
         CustomLog /dev/stdout pxekit\n\
         DocumentRoot \"{run}/empty\"\n\
         <Directory />\n    Options None\n    AllowOverride None\n    Require all denied\n</Directory>\n\
         \n# pxe-kit's httpd drop-in, rendered with the paths under the root:\n{dropin}",
        user = b.httpd_user,
    );
    s
}

/// Binds a syslog socket and forwards each message's text, stamped on arrival, as `who`.
pub fn listen_syslog(path: &Path, who: &str, tx: Sender<Line>) -> Result<()> {
    let sock = UnixDatagram::bind(path)
        .with_context(|| format!("binding the syslog socket {}", path.display()))?;
    let who = who.to_string();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = sock.recv(&mut buf) {
            let text = syslog_text(&String::from_utf8_lossy(&buf[..n]));
            let line = Line {
                who: who.clone(),
                text,
                at: SystemTime::now(),
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The message part of a local syslog datagram (`<30>Nov 22 05:00:01 in.tftpd[42]: text`).
pub fn syslog_text(raw: &str) -> String {
    let s = raw.trim_end_matches(['\n', '\0']);
    let s = match s.strip_prefix('<').and_then(|r| r.split_once('>')) {
        Some((_, rest)) => rest,
        None => s,
    };
    // The tag ends at the first ": " after the timestamp ("Mmm dd hh:mm:ss ").
    let after_ts = s.get(16..).filter(|_| s.as_bytes().get(15) == Some(&b' '));
    let body = after_ts.unwrap_or(s);
    match body.split_once(": ") {
        Some((tag, msg)) if !tag.contains(' ') => msg.to_string(),
        _ => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins() -> Binaries {
        Binaries {
            dhcp: "/usr/sbin/dhcpd".into(),
            tftpd: "/usr/sbin/in.tftpd".into(),
            httpd: "/usr/sbin/apache2".into(),
            httpd_modules: "/nonexistent/modules".into(),
            httpd_user: "www-data".into(),
            tftp_user: "tftp".into(),
        }
    }

    #[test]
    fn dhcpd_runs_in_foreground_on_one_interface() {
        let v = dhcpd_argv(
            "/usr/sbin/dhcpd",
            Path::new("/r/etc/dhcp/dhcpd.conf"),
            Path::new("/r/l"),
            Path::new("/run/x.pid"),
            "pxk-br0",
        );
        assert_eq!(
            v.join(" "),
            "/usr/sbin/dhcpd -4 -f -d -cf /r/etc/dhcp/dhcpd.conf -lf /r/l -pf /run/x.pid pxk-br0"
        );
    }

    #[test]
    fn tftpd_is_secure_read_only_and_bound() {
        let v = tftpd_argv(
            "in.tftpd",
            "tftp",
            "10.77.0.1".parse().unwrap(),
            Path::new("/r/srv/tftp"),
        );
        assert!(v.contains(&"-s".to_string()));
        assert!(!v.contains(&"-c".to_string()));
        assert!(v.contains(&"10.77.0.1:69".to_string()));
        assert_eq!(v.last().unwrap(), "/r/srv/tftp");
    }

    #[test]
    fn apache_conf_is_self_contained() {
        let c = apache_conf(
            &bins(),
            Path::new("/tmp/run"),
            "10.77.0.1".parse().unwrap(),
            "Alias /pxe-kit/ \"/r/var/www/html/pxe-kit/\"\n",
        );
        assert!(c.contains("Listen 10.77.0.1:80\n"), "{c}");
        assert!(c.contains("PidFile \"/tmp/run/httpd.pid\""), "{c}");
        assert!(c.contains("Require all denied"), "{c}");
        assert!(c.contains("CustomLog /dev/stdout pxekit"), "{c}");
        assert!(
            c.ends_with("Alias /pxe-kit/ \"/r/var/www/html/pxe-kit/\"\n"),
            "{c}"
        );
        assert!(!c.contains("Include"), "{c}");
    }

    #[test]
    fn syslog_text_strips_priority_timestamp_and_tag() {
        assert_eq!(
            syslog_text(
                "<30>Nov 22 05:00:01 in.tftpd[42]: RRQ from 10.77.0.100 filename pxelinux.0\n"
            ),
            "RRQ from 10.77.0.100 filename pxelinux.0"
        );
        assert_eq!(syslog_text("<30>plain message"), "plain message");
    }
}
