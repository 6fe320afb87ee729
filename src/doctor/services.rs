//! Service checks: the DHCP server (dhcpd or Kea), the TFTP launcher and httpd are enabled
//! and active (systemd), or their processes run in this network namespace (no systemd); the
//! DHCP server the settings do not choose is not running beside it; udp/67, udp/69 and tcp/80
//! listen on the server address or the wildcard (from /proc/net, parsed here).
//!
//! /proc is read directly rather than through `Root`: it describes the running kernel, which
//! is the same whatever `--root` names.
use std::path::Path;

use anyhow::{Context, Result};

use super::{Check, Env, Finding};
use crate::config::{DhcpServer, Launcher};
use crate::need;
use crate::netinfo::{listening_on, read_net};
use crate::runner::{Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "services.dhcpd",
            title: "dhcpd is enabled and running",
            run: dhcpd,
        },
        Check {
            id: "services.kea",
            title: "Kea (kea-dhcp4) is enabled and running",
            run: kea,
        },
        Check {
            id: "services.dnsmasq",
            title: "dnsmasq (proxy mode) is enabled and running, at a version that answers UEFI clients",
            run: dnsmasq,
        },
        Check {
            id: "services.dhcp-single",
            title: "the other DHCP server is not running beside the chosen one",
            run: dhcp_single,
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

fn ports(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    let udp = read_net("udp");
    let tcp = read_net("tcp");
    let mut ev = Vec::new();
    let mut missing = Vec::new();
    for (what, is_tcp, port, svc) in [
        (
            "udp/67",
            false,
            67,
            env.profile
                .proxy
                .as_ref()
                .map_or(env.profile.dhcp.comm, |p| p.comm),
        ),
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
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Isc, "services.kea") {
        return f;
    }
    service(env, env.profile.dhcp.service, &["dhcpd"])
}

fn kea(env: &Env) -> Finding {
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Kea, "services.dhcpd") {
        return f;
    }
    service(env, env.profile.dhcp.service, &["kea-dhcp4"])
}

fn dnsmasq(env: &Env) -> Finding {
    let Some(p) = &env.profile.proxy else {
        return Finding::skip("dhcp.mode is server: no proxyDHCP");
    };
    let f = service(env, p.service, &[p.comm]);
    if f.status != super::Status::Ok {
        return f;
    }
    let live = need!(env.live());
    let version = live
        .runner
        .query(&Cmd::new(
            Kind::Probe,
            "asking dnsmasq its version",
            &[p.bin, "--version"],
        ))
        .ok()
        .flatten()
        .map(|o| o.stdout)
        .unwrap_or_default();
    judge_dnsmasq_version(&version).unwrap_or(f)
}

/// dnsmasq 2.92 sends its udp/4011 replies (what UEFI firmware and iPXE ask for their boot
/// file after the proxy offer) to the broadcast address instead of the client; 2.93 fixed it.
/// Fedora 43 and 44 ship 2.92. Pure: the first line of `dnsmasq --version`.
pub fn judge_dnsmasq_version(version: &str) -> Option<Finding> {
    let v = version
        .lines()
        .next()?
        .strip_prefix("Dnsmasq version ")?
        .split_whitespace()
        .next()?;
    (v == "2.92" || v.starts_with("2.92-") || v.starts_with("2.92rc")).then(|| {
        Finding::warn(
            format!("dnsmasq {v} answers proxyDHCP requests on udp/4011 to the broadcast address (fixed in 2.93): UEFI clients may never get their boot file"),
            vec![
                "update dnsmasq to 2.93 or later (or an older 2.91 build)".into(),
                "or have the network's DHCP server give PXE clients next-server and the boot file, and use dhcp.mode server on a segment of its own".into(),
            ],
        )
        .with_evidence(vec![version.lines().next().unwrap_or_default().to_string()])
    })
}

/// The verdict of `services.dhcp-single` (pure): `running` says how the other server was
/// seen running (its unit active, or its processes here); empty when it is not.
pub fn judge_single(
    chosen: &str,
    other: &str,
    unit: &str,
    running: &[String],
    systemd: bool,
) -> Finding {
    if running.is_empty() {
        return Finding::ok(format!(
            "{other} is not running; {chosen} is the only DHCP server"
        ));
    }
    let fix = if systemd {
        format!("systemctl disable --now {unit}")
    } else {
        format!("stop {other} (kill the processes named above); pxe-kit serve runs {chosen} only")
    };
    Finding::fail(
        format!(
            "{other} runs beside {chosen}: two DHCP servers answer on one network and clients get whichever is faster"
        ),
        vec![fix],
    )
    .with_evidence(running.to_vec())
}

fn dhcp_single(env: &Env) -> Finding {
    let live = need!(env.live());
    // Proxy mode: the DHCP server the settings name must not run beside dnsmasq.
    let (other, chosen) = match &env.profile.proxy {
        Some(_) => (env.profile.dhcp.clone(), "dnsmasq (proxy mode)"),
        None => (env.profile.other_dhcp(), env.profile.dhcp.server.name()),
    };
    let running: Vec<String> = if env.systemd {
        match live.runner.query(&Cmd::new(
            Kind::Probe,
            format!("asking systemd whether {} is active", other.service),
            &["systemctl", "is-active", other.service],
        )) {
            Ok(Some(o)) if o.success => vec![format!("{}: active", other.service)],
            Ok(Some(_)) => Vec::new(),
            _ => return Finding::skip("systemctl could not be asked"),
        }
    } else {
        env.procs()
            .iter()
            .filter(|p| p.here && p.comm == other.comm)
            .map(|p| format!("pid {}: {}", p.pid, p.cmdline.join(" ")))
            .collect()
    };
    judge_single(
        chosen,
        other.server.name(),
        other.service,
        &running,
        env.systemd,
    )
}

fn tftp(env: &Env) -> Finding {
    let comms: &[&str] = match env.profile.launcher {
        Launcher::Xinetd => &["xinetd", "in.tftpd"],
        Launcher::TftpdHpa | Launcher::Socket => &["in.tftpd"],
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

    #[test]
    fn dnsmasq_2_92_is_named_with_its_fix() {
        use crate::doctor::Status;
        let bad = judge_dnsmasq_version(
            "Dnsmasq version 2.92  Copyright (c) 2000-2025 Simon Kelley\nCompile time options: IPv6\n",
        )
        .unwrap();
        assert_eq!(bad.status, Status::Warn);
        assert!(bad.summary.contains("2.93"), "{}", bad.summary);
        for fine in [
            "Dnsmasq version 2.90  Copyright (c) 2000-2024 Simon Kelley",
            "Dnsmasq version 2.93  Copyright",
            "Dnsmasq version 2.85  Copyright",
            "",
            "garbage",
        ] {
            assert!(judge_dnsmasq_version(fine).is_none(), "{fine}");
        }
    }

    #[test]
    fn a_second_dhcp_server_fails() {
        use crate::doctor::Status;
        let ok = judge_single("Kea", "ISC dhcpd", "isc-dhcp-server.service", &[], true);
        assert_eq!(ok.status, Status::Ok);
        let both = judge_single(
            "Kea",
            "ISC dhcpd",
            "isc-dhcp-server.service",
            &["isc-dhcp-server.service: active".into()],
            true,
        );
        assert_eq!(both.status, Status::Fail);
        assert_eq!(
            both.fix,
            ["systemctl disable --now isc-dhcp-server.service"]
        );
        let procs = judge_single("Kea", "ISC dhcpd", "u", &["pid 7: dhcpd -f".into()], false);
        assert!(procs.fix[0].starts_with("stop ISC dhcpd"), "{procs:?}");
        assert_eq!(procs.evidence, ["pid 7: dhcpd -f"]);
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
