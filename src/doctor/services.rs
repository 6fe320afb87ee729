//! Service checks: dhcpd, the TFTP launcher and httpd are enabled and active (systemd), or
//! their processes run in this network namespace (no systemd); udp/67, udp/69 and tcp/80
//! listen on the server address or the wildcard (from /proc/net, parsed here).
//!
//! /proc is read directly rather than through `Root`: it describes the running kernel, which
//! is the same whatever `--root` names.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context, Result};

use super::{Check, Env, Finding};
use crate::cli::LauncherArg;
use crate::need;
use crate::runner::{Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "services.dhcpd",
            title: "dhcpd is enabled and running",
            run: dhcpd,
        },
        Check {
            id: "services.tftp",
            title: "the TFTP server is enabled and running",
            run: tftp,
        },
        Check {
            id: "services.httpd",
            title: "httpd is enabled and running",
            run: httpd,
        },
        Check {
            id: "services.ports",
            title: "udp/67, udp/69 and tcp/80 listen on the server address",
            run: ports,
        },
    ]
}

/// One process, as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub comm: String,
    pub cmdline: Vec<String>,
    /// In this process's network namespace (true when that cannot be told).
    pub here: bool,
}

/// Every process under `proc` (normally /proc), marking those in our network namespace:
/// PIDs are shared across namespaces, so a daemon serving another namespace must not count.
pub fn scan_procs(proc: &Path) -> Result<Vec<Proc>> {
    let own_ns = std::fs::read_link(proc.join("self/ns/net")).ok();
    let mut out = Vec::new();
    let rd = std::fs::read_dir(proc).with_context(|| format!("listing {}", proc.display()))?;
    for ent in rd.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let dir = ent.path();
        // Processes may exit while we look: skip what vanished.
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let cmdline = std::fs::read(dir.join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let ns = std::fs::read_link(dir.join("ns/net")).ok();
        let here = match (&own_ns, &ns) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        out.push(Proc {
            pid,
            comm: comm.trim_end().to_string(),
            cmdline,
            here,
        });
    }
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// One socket line of /proc/net/{tcp,udp}{,6}.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sock {
    pub addr: IpAddr,
    pub port: u16,
    /// Kernel state: 0x0A is TCP LISTEN, 0x07 an unconnected UDP socket.
    pub state: u8,
}

/// Parses /proc/net/{tcp,udp} (`v6` false) or {tcp6,udp6}. Addresses are the kernel's
/// in-memory network-order words printed as native hex, so each 32-bit group is turned back
/// into bytes in native order; ports are plain hex.
pub fn parse_proc_net(text: &str, v6: bool) -> Vec<Sock> {
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        let mut f = l.split_whitespace();
        let (Some(_sl), Some(local), Some(_rem), Some(st)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let Some((a, p)) = local.split_once(':') else {
            continue;
        };
        let (Ok(port), Ok(state)) = (u16::from_str_radix(p, 16), u8::from_str_radix(st, 16)) else {
            continue;
        };
        let words: Option<Vec<[u8; 4]>> = (0..a.len() / 8)
            .map(|i| {
                u32::from_str_radix(&a[i * 8..i * 8 + 8], 16)
                    .ok()
                    .map(u32::to_ne_bytes)
            })
            .collect();
        let Some(words) = words else { continue };
        let addr = match (v6, words.len()) {
            (false, 1) => IpAddr::V4(Ipv4Addr::from(words[0])),
            (true, 4) => {
                let mut b = [0u8; 16];
                for (i, w) in words.iter().enumerate() {
                    b[i * 4..i * 4 + 4].copy_from_slice(w);
                }
                IpAddr::V6(Ipv6Addr::from(b))
            }
            _ => continue,
        };
        out.push(Sock { addr, port, state });
    }
    out
}

/// Whether a socket is listening on `port` for `server` (its address, the wildcard, or the
/// IPv6 wildcard / v4-mapped form, which dual-stack daemons use).
pub fn listening_on(socks: &[Sock], tcp: bool, port: u16, server: Ipv4Addr) -> Option<Sock> {
    socks
        .iter()
        .find(|s| {
            s.port == port
                && (!tcp || s.state == 0x0A)
                && match s.addr {
                    IpAddr::V4(a) => a == server || a.is_unspecified(),
                    IpAddr::V6(a) => a.is_unspecified() || a.to_ipv4_mapped() == Some(server),
                }
        })
        .copied()
}

pub fn read_net(name: &str) -> Vec<Sock> {
    let mut v = Vec::new();
    for (file, v6) in [(name.to_string(), false), (format!("{name}6"), true)] {
        if let Ok(t) = std::fs::read_to_string(Path::new("/proc/net").join(&file)) {
            v.extend(parse_proc_net(&t, v6));
        }
    }
    v
}

fn ports(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    let udp = read_net("udp");
    let tcp = read_net("tcp");
    let mut ev = Vec::new();
    let mut missing = Vec::new();
    for (what, is_tcp, port, svc) in [
        ("udp/67", false, 67, "dhcpd"),
        ("udp/69", false, 69, "TFTP"),
        ("tcp/80", true, 80, "httpd"),
    ] {
        match listening_on(
            if is_tcp { &tcp } else { &udp },
            is_tcp,
            port,
            cfg.server_ip,
        ) {
            Some(s) => ev.push(format!("{what}: listening on {}", s.addr)),
            None => {
                ev.push(format!(
                    "{what}: nothing listens on {} or the wildcard",
                    cfg.server_ip
                ));
                missing.push(format!("{what} ({svc})"));
            }
        }
    }
    if missing.is_empty() {
        return Finding::ok(format!(
            "udp/67, udp/69 and tcp/80 listen for {}",
            cfg.server_ip
        ))
        .with_evidence(ev);
    }
    Finding::fail(
        format!("nothing listens on {}", missing.join(", ")),
        vec![start_fix(env, "the services named above")],
    )
    .with_evidence(ev)
}

/// The command that starts a service here.
fn start_fix(env: &Env, unit: &str) -> String {
    if env.systemd {
        format!("systemctl enable --now {unit}")
    } else {
        format!(
            "{} serve   (PID 1 is not systemd: run the daemons in the foreground)",
            env.pxe_kit()
        )
    }
}

/// A service's state: unit probes under systemd, else its processes in this namespace.
fn service(env: &Env, unit: &str, comms: &[&str]) -> Finding {
    let live = need!(env.live());
    if env.systemd {
        let probe = |verb: &str| {
            live.runner
                .query(&Cmd::new(
                    Kind::Probe,
                    format!("asking systemd whether {unit} is {verb}"),
                    &["systemctl", verb, unit],
                ))
                .ok()
                .flatten()
        };
        let (Some(en), Some(ac)) = (probe("is-enabled"), probe("is-active")) else {
            return Finding::skip("systemctl could not be asked");
        };
        let ev = vec![format!(
            "{unit}: {} and {}",
            en.stdout.trim(),
            ac.stdout.trim()
        )];
        return match (en.success, ac.success) {
            (true, true) => Finding::ok(format!("{unit} is enabled and active")).with_evidence(ev),
            (_, false) => Finding::fail(
                format!("{unit} is not active ({})", ac.stdout.trim()),
                vec![
                    format!("systemctl enable --now {unit}"),
                    format!("journalctl -u {unit} -n 20   (why it stopped)"),
                ],
            )
            .with_evidence(ev),
            (false, true) => Finding::warn(
                format!("{unit} runs but is not enabled: it will not start at boot"),
                vec![format!("systemctl enable {unit}")],
            )
            .with_evidence(ev),
        };
    }
    let found: Vec<&Proc> = env
        .procs()
        .iter()
        .filter(|p| p.here && comms.contains(&p.comm.as_str()))
        .collect();
    if found.is_empty() {
        return Finding::fail(
            format!(
                "no {} process runs in this network namespace",
                comms.join(" or ")
            ),
            vec![start_fix(env, unit)],
        );
    }
    let ev = found
        .iter()
        .take(3)
        .map(|p| format!("pid {}: {}", p.pid, p.cmdline.join(" ")))
        .collect();
    Finding::ok(format!(
        "{} runs (pid {}; PID 1 is not systemd)",
        found[0].comm, found[0].pid
    ))
    .with_evidence(ev)
}

fn dhcpd(env: &Env) -> Finding {
    service(env, env.profile.dhcpd_service, &["dhcpd"])
}

fn tftp(env: &Env) -> Finding {
    let comms: &[&str] = match env.profile.launcher {
        LauncherArg::Xinetd => &["xinetd", "in.tftpd"],
        LauncherArg::TftpdHpa | LauncherArg::Socket => &["in.tftpd"],
    };
    // Under systemd the launcher unit is asked (tftp.socket starts in.tftpd on demand, so an
    // idle server has no process); without systemd only a running daemon counts.
    service(env, env.profile.tftp_unit, comms)
}

fn httpd(env: &Env) -> Finding {
    service(env, env.profile.httpd_service, &["apache2", "httpd"])
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  1: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n\
  2: 0100580A:0045 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n";
    const TCP: &str = "  sl  local_address rem_address   st\n\
   0: 0100580A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n\
   1: 0100580A:0051 0200580A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1\n";
    const TCP6: &str =
        "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0\n\
   1: 0000000000000000FFFF00000100580A:1F90 00000000000000000000000000000000:0000 0A 0\n";

    #[test]
    fn proc_net_addresses_and_ports_parse() {
        let s = parse_proc_net(UDP, false);
        assert_eq!(
            s[0],
            Sock {
                addr: "0.0.0.0".parse().unwrap(),
                port: 67,
                state: 7
            }
        );
        assert_eq!(s[1].addr, "10.88.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s[1].port, 69);
        let t6 = parse_proc_net(TCP6, true);
        assert_eq!(t6[0].addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(t6[1].addr, "::ffff:10.88.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(t6[1].port, 8080);
    }

    #[test]
    fn listening_matches_address_wildcard_and_state() {
        let server: Ipv4Addr = "10.88.0.1".parse().unwrap();
        let udp = parse_proc_net(UDP, false);
        assert!(
            listening_on(&udp, false, 67, server).is_some(),
            "wildcard counts"
        );
        assert!(listening_on(&udp, false, 69, server).is_some());
        assert!(listening_on(&udp, false, 69, "10.88.0.2".parse().unwrap()).is_none());
        let tcp = parse_proc_net(TCP, false);
        assert!(listening_on(&tcp, true, 80, server).is_some());
        assert!(
            listening_on(&tcp, true, 81, server).is_none(),
            "an established socket is not listening"
        );
        let tcp6 = parse_proc_net(TCP6, true);
        assert!(listening_on(&tcp6, true, 80, server).is_some(), ":: counts");
        assert!(
            listening_on(&tcp6, true, 8080, server).is_some(),
            "v4-mapped counts"
        );
    }

    #[test]
    fn own_process_is_found_in_own_namespace() {
        let procs = scan_procs(Path::new("/proc")).unwrap();
        let me = procs
            .iter()
            .find(|p| p.pid == std::process::id() as i32)
            .expect("self listed");
        assert!(me.here);
        assert!(!me.cmdline.is_empty());
    }
}
