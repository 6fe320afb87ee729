//! Network checks: the provisioning interface exists, is up and carries the server address
//! inside the subnet; the DHCP server (dhcpd or Kea) is restricted to it, in its settings and
//! in the running process.
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use nix::net::if_::InterfaceFlags;

use super::{Check, Env, Finding};
use crate::config::DhcpServer;
use crate::distro::DhcpInterfaces;
use crate::need;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "network.interface",
            title: "provisioning interface is up with the server address",
            run: interface,
        },
        Check {
            id: "network.dhcpd-scope",
            title: "dhcpd answers on the provisioning interface only",
            run: dhcpd_scope,
        },
        Check {
            id: "network.kea-scope",
            title: "Kea answers on the provisioning interface only",
            run: kea_scope,
        },
        Check {
            id: "network.relays",
            title: "each relayed subnet is routed through the provisioning interface",
            run: relays,
        },
    ]
}

/// What the kernel says about one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfState {
    pub exists: bool,
    pub up: bool,
    pub running: bool,
    pub addrs: Vec<Ipv4Net>,
}

pub fn if_state(name: &str) -> IfState {
    let mut st = IfState {
        exists: crate::netinfo::interface_exists(name),
        ..Default::default()
    };
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs.filter(|a| a.interface_name == name) {
            st.up |= a.flags.contains(InterfaceFlags::IFF_UP);
            st.running |= a.flags.contains(InterfaceFlags::IFF_RUNNING);
        }
    }
    st.addrs = crate::netinfo::ipv4_addrs(name).unwrap_or_default();
    st
}

/// Judges an interface's state against the settings (pure).
pub fn judge_interface(name: &str, server: Ipv4Addr, subnet: Ipv4Net, st: &IfState) -> Finding {
    let addr_fix = format!("ip addr add {server}/{} dev {name}", subnet.prefix_len());
    let ev = vec![format!(
        "{name}: {}{}, addresses [{}]",
        if st.up { "UP" } else { "DOWN" },
        if st.running { ",RUNNING" } else { "" },
        st.addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    if !st.exists {
        return Finding::fail(
            format!("interface {name} does not exist"),
            vec![
                "ip -br link   (pick the provisioning interface)".into(),
                "pxe-kit init --interface IF   (then doctor again)".into(),
            ],
        );
    }
    if !st.up {
        return Finding::fail(
            format!("interface {name} is down"),
            vec![format!("ip link set {name} up")],
        )
        .with_evidence(ev);
    }
    let Some(have) = st.addrs.iter().find(|n| n.addr() == server) else {
        return Finding::fail(
            format!("interface {name} does not carry the server address {server}"),
            vec![addr_fix],
        )
        .with_evidence(ev);
    };
    if have.trunc() != subnet {
        return Finding::warn(
            format!("{name} carries {have}, but the provisioning subnet is {subnet}"),
            vec![
                format!("ip addr del {have} dev {name} && {addr_fix}"),
                "or fix `subnet` in the settings and run `pxe-kit init`".into(),
            ],
        )
        .with_evidence(ev);
    }
    if !st.running {
        return Finding::warn(
            format!("{name} is up with {have} but has no carrier (no cable or peer)"),
            vec![format!("check the link of {name}: ip link show {name}")],
        )
        .with_evidence(ev);
    }
    Finding::ok(format!("{name} is up and carries {have}")).with_evidence(ev)
}

fn interface(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    judge_interface(
        &cfg.interface,
        cfg.server_ip,
        cfg.subnet,
        &if_state(&cfg.interface),
    )
}

fn relays(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    if cfg.subnets.is_empty() {
        return Finding::skip("no relayed subnets in the settings (subnets:)");
    }
    need!(env.live());
    judge_relays(cfg, &crate::netinfo::read_routes())
}

/// Judges the routes to the relayed subnets (pure). Their requests reach the DHCP server only
/// on the provisioning interface (it listens there alone), and the answers, the TFTP and HTTP
/// replies go back by this route: one that leaves another way, or none, strands the subnet.
pub fn judge_relays(cfg: &crate::config::Config, routes: &[crate::netinfo::Route]) -> Finding {
    let iface = &cfg.interface;
    let mut ev = Vec::new();
    let mut bad = Vec::new();
    let mut fix = Vec::new();
    for s in &cfg.subnets {
        let net = s.network;
        match crate::netinfo::route_to(routes, s.router) {
            Some(r) if r.iface == *iface && r.gateway.is_some() => ev.push(format!(
                "{net}: via {} dev {iface}",
                r.gateway.map(|g| g.to_string()).unwrap_or_default()
            )),
            Some(r) if r.iface == *iface => {
                bad.push(format!("{net} is taken as directly on {iface} (route {} without a gateway), but it is behind a relay", r.dest));
                fix.push(format!(
                    "ip route replace {net} via RELAY-ADDRESS-IN-{} dev {iface}",
                    cfg.subnet
                ));
            }
            Some(r) => {
                bad.push(format!(
                    "{net} is routed via {} dev {}, not the provisioning interface {iface}",
                    r.gateway.map_or("(direct)".to_string(), |g| g.to_string()),
                    r.iface
                ));
                fix.push(format!(
                    "ip route add {net} via RELAY-ADDRESS-IN-{} dev {iface}",
                    cfg.subnet
                ));
            }
            None => {
                bad.push(format!(
                    "{net} has no route: the answers to its relay go nowhere"
                ));
                fix.push(format!(
                    "ip route add {net} via RELAY-ADDRESS-IN-{} dev {iface}",
                    cfg.subnet
                ));
            }
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} relayed subnet(s) routed through {iface}",
            cfg.subnets.len()
        ))
        .with_evidence(ev);
    }
    fix.push("make the route permanent in the system's network configuration".into());
    ev.extend(bad.iter().cloned());
    Finding::fail(bad.join("; "), fix).with_evidence(ev)
}

/// Interface names a dhcpd command line serves (trailing non-option words); empty = all.
pub fn dhcpd_argv_interfaces(argv: &[String]) -> Vec<String> {
    // dhcpd's options that take a value (dhcpd(8)).
    const WITH_VALUE: &[&str] = &[
        "-p",
        "-cf",
        "-lf",
        "-pf",
        "-tf",
        "-play",
        "-user",
        "-group",
        "-chroot",
        "-s",
        "--pid-file",
        "-lf6",
        "-pf6",
    ];
    let mut out = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if WITH_VALUE.contains(&a) {
            i += 2;
            continue;
        }
        if !a.starts_with('-') && !a.is_empty() {
            out.push(a.to_string());
        }
        i += 1;
    }
    out
}

/// The interfaces named by `INTERFACESv4=` in /etc/default/isc-dhcp-server (last one wins,
/// as the shell that sources it does).
pub fn default_file_interfaces(text: &str) -> Option<Vec<String>> {
    let mut found = None;
    for l in text.lines() {
        let l = l.trim();
        if let Some(v) = l.strip_prefix("INTERFACESv4=") {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            found = Some(v.split_whitespace().map(String::from).collect());
        }
    }
    found
}

/// The interfaces on the last `ExecStart=` of a dhcpd.service drop-in.
pub fn dropin_interfaces(text: &str) -> Option<Vec<String>> {
    let last = text
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("ExecStart="))
        .find(|v| !v.trim().is_empty())?;
    let argv: Vec<String> = last.split_whitespace().map(String::from).collect();
    Some(dhcpd_argv_interfaces(&argv))
}

/// Judges what dhcpd serves (pure): `configured` from the rendered settings file (None =
/// unreadable), `running` one entry per dhcpd process of this namespace (pid, interfaces).
pub fn judge_scope(
    iface: &str,
    file: &str,
    configured: Option<Vec<String>>,
    running: Option<&[(i32, Vec<String>)]>,
    fix_cmd: &str,
) -> Finding {
    let mut ev = Vec::new();
    let mut problems = Vec::new();
    match &configured {
        None => problems.push(format!("{file} names no interfaces (or is missing)")),
        Some(v) if v.is_empty() => problems.push(format!(
            "{file} names no interface: dhcpd would answer on every interface"
        )),
        Some(v) if v.iter().any(|i| i != iface) => problems.push(format!(
            "{file} also names {}",
            v.iter()
                .filter(|i| *i != iface)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(_) => {}
    }
    if let Some(c) = &configured {
        ev.push(format!("{file}: [{}]", c.join(" ")));
    }
    if let Some(procs) = running {
        for (pid, ifs) in procs {
            ev.push(format!("running dhcpd pid {pid}: [{}]", ifs.join(" ")));
            if ifs.is_empty() {
                problems.push(format!("the running dhcpd (pid {pid}) was started without an interface: it answers on every interface"));
            } else if ifs.iter().any(|i| i != iface) {
                problems.push(format!(
                    "the running dhcpd (pid {pid}) also serves {}",
                    ifs.iter()
                        .filter(|i| *i != iface)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if problems.is_empty() {
        return Finding::ok(format!("dhcpd is restricted to {iface}")).with_evidence(ev);
    }
    Finding::warn(
        problems.join("; "),
        vec![
            fix_cmd.to_string(),
            "restart dhcpd so it reads it (systemctl restart, or restart `pxe-kit serve`)".into(),
        ],
    )
    .with_evidence(ev)
}

fn dhcpd_scope(env: &Env) -> Finding {
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Isc, "network.kea-scope") {
        return f;
    }
    let cfg = need!(env.cfg());
    let dropin = env.profile.dhcp.unit_dropin();
    let (path, configured) = match &env.profile.dhcp.interfaces {
        DhcpInterfaces::InConfig => {
            return Finding::skip("dhcpd names its interfaces on its command line")
        }
        DhcpInterfaces::DefaultFile(p) => (
            p,
            env.ctx
                .root
                .read_string_opt(p)
                .ok()
                .flatten()
                .and_then(|t| default_file_interfaces(&t)),
        ),
        DhcpInterfaces::SystemdDropIn => (
            &dropin,
            env.ctx
                .root
                .read_string_opt(&dropin)
                .ok()
                .flatten()
                .and_then(|t| dropin_interfaces(&t)),
        ),
    };
    let running: Option<Vec<(i32, Vec<String>)>> = env.live().ok().map(|_| {
        env.procs()
            .iter()
            .filter(|p| p.comm == "dhcpd" && p.here)
            .map(|p| (p.pid, dhcpd_argv_interfaces(&p.cmdline)))
            .collect()
    });
    judge_scope(
        &cfg.interface,
        &path.display().to_string(),
        configured,
        running.as_deref(),
        &format!(
            "{} doctor --fix   (re-renders {})",
            env.pxe_kit(),
            path.display()
        ),
    )
}

/// Judges what Kea serves (pure): `summary` from kea-dhcp4.conf on disk (None = unreadable),
/// `running` one entry per kea-dhcp4 process of this namespace with the addresses its UDP
/// port 67 sockets are bound to. Kea binds the address of each interface it serves (dhcpd
/// binds the wildcard), so a socket on another address means another interface is served.
pub fn judge_kea_scope(
    iface: &str,
    server: Ipv4Addr,
    file: &str,
    summary: Option<&crate::kea::Summary>,
    running: Option<&[(i32, Vec<Ipv4Addr>)]>,
    fix_cmd: &str,
) -> Finding {
    let mut ev = Vec::new();
    let mut problems = Vec::new();
    match summary {
        None => problems.push(format!("{file} cannot be read as Kea's configuration")),
        Some(s) => {
            ev.push(format!(
                "{file}: interfaces-config [{}], subnet interfaces [{}]",
                s.interfaces.join(" "),
                s.subnet_interfaces.join(" ")
            ));
            if s.interfaces.is_empty() {
                problems.push(format!("{file} names no interface: Kea serves nothing"));
            } else if s.interfaces.iter().any(|i| i == "*") {
                problems.push(format!(
                    "{file} lists \"*\": Kea answers on every interface"
                ));
            } else if s.interfaces.iter().any(|i| i != iface) {
                problems.push(format!(
                    "{file} also names {}",
                    s.interfaces
                        .iter()
                        .filter(|i| *i != iface)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if let Some(o) = s.subnet_interfaces.iter().find(|i| *i != iface) {
                problems.push(format!("{file} ties the subnet to {o}, not {iface}"));
            }
        }
    }
    for (pid, addrs) in running.unwrap_or_default() {
        ev.push(format!(
            "running kea-dhcp4 pid {pid}: udp/67 on [{}]",
            addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let other: Vec<String> = addrs
            .iter()
            .filter(|a| **a != server)
            .map(|a| a.to_string())
            .collect();
        if !other.is_empty() {
            problems.push(format!(
                "the running kea-dhcp4 (pid {pid}) also listens on {}: it serves another interface",
                other.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        return Finding::ok(format!("Kea is restricted to {iface}")).with_evidence(ev);
    }
    Finding::warn(
        problems.join("; "),
        vec![
            fix_cmd.to_string(),
            "restart Kea so it reads it (systemctl restart, or restart `pxe-kit serve`)".into(),
        ],
    )
    .with_evidence(ev)
}

fn kea_scope(env: &Env) -> Finding {
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Kea, "network.dhcpd-scope") {
        return f;
    }
    let cfg = need!(env.cfg());
    let p = &env.profile.dhcp.conf;
    let summary = env
        .ctx
        .root
        .read_opt(p)
        .ok()
        .flatten()
        .and_then(|c| crate::kea::summarize(&c).ok());
    let running: Option<Vec<(i32, Vec<Ipv4Addr>)>> = env.live().ok().map(|_| {
        let udp = crate::netinfo::read_net("udp");
        env.procs()
            .iter()
            .filter(|p| p.comm == "kea-dhcp4" && p.here)
            .map(|p| {
                let mine = crate::netinfo::socket_inodes(p.pid as u32);
                let addrs = udp
                    .iter()
                    .filter(|s| s.port == 67 && mine.contains(&s.inode))
                    .filter_map(|s| match s.addr {
                        std::net::IpAddr::V4(a) => Some(a),
                        std::net::IpAddr::V6(_) => None,
                    })
                    .collect();
                (p.pid, addrs)
            })
            .collect()
    });
    judge_kea_scope(
        &cfg.interface,
        cfg.server_ip,
        &p.display().to_string(),
        summary.as_ref(),
        running.as_deref(),
        &format!(
            "{} doctor --fix   (re-renders {})",
            env.pxe_kit(),
            p.display()
        ),
    )
}

/// Registered last (see `registry`): its probe runs while the other checks do.
pub fn other_dhcp_check() -> Check {
    Check {
        id: "network.other-dhcp",
        title: "no other DHCP server answers where pxe-kit gives addresses",
        run: other_dhcp,
    }
}

/// Asks the segment, as `init` does, which DHCP servers answer a PXE client: a rogue server
/// that appeared after `init` is found here.
fn other_dhcp(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    let Some(survey) = env.dhcp_survey() else {
        return Finding::skip(format!(
            "{} is not in this network namespace",
            cfg.interface
        ));
    };
    match survey {
        Ok(Some(s)) => judge_other_dhcp(cfg, s),
        Ok(None) => Finding::skip(format!(
            "{} is down: nothing can answer there (see network.interface)",
            cfg.interface
        )),
        Err(e) => Finding::warn(
            format!(
                "could not look for other DHCP servers on {}: {e}",
                cfg.interface
            ),
            vec!["run doctor as root (the probe needs a raw socket, CAP_NET_RAW)".into()],
        ),
    }
}

/// Judges who answered against the settings' DHCP mode (pure).
pub fn judge_other_dhcp(cfg: &crate::config::Config, s: &crate::dhcpprobe::Survey) -> Finding {
    use crate::config::DhcpMode;
    use crate::dhcpprobe::Kind;
    let i = &cfg.interface;
    let mut ev: Vec<String> = s.others.iter().map(|a| a.describe()).collect();
    ev.extend(
        s.own
            .iter()
            .map(|a| format!("this server (not counted): {}", a.describe())),
    );
    let data = serde_json::to_value(s).ok().map(Box::new);
    let finish = |f: Finding| Finding {
        data,
        ..f.with_evidence(ev)
    };
    let window = format!("{:.1} s", s.window_ms as f64 / 1000.0);
    let servers = |k: Kind| -> Vec<String> {
        s.others
            .iter()
            .filter(|a| a.kind == k)
            .map(|a| a.server.to_string())
            .collect()
    };
    let (addr, proxy) = (servers(Kind::Address), servers(Kind::Proxy));
    if cfg.dhcp.mode() == DhcpMode::Proxy {
        // Beside the network's server: it must be there, and no other proxy may answer.
        if !proxy.is_empty() {
            return finish(Finding::fail(
                format!("another proxyDHCP server answers PXE clients on {i}: {}", proxy.join(", ")),
                vec![format!("stop the other PXE service on {i}: each machine would boot from whichever answers first")],
            ));
        }
        if addr.is_empty() {
            return finish(Finding::fail(
                format!("proxy mode, but no DHCP server gives addresses on {i} (looked {window})"),
                vec![
                    "start the network's DHCP server, or check the link to it".into(),
                    "or let pxe-kit give the addresses: pxe-kit init --dhcp-mode server".into(),
                ],
            ));
        }
        return finish(Finding::ok(format!(
            "proxy mode beside the DHCP server {} on {i}",
            addr.join(", ")
        )));
    }
    let all: Vec<String> = addr.iter().chain(&proxy).cloned().collect();
    if all.is_empty() {
        return finish(Finding::ok(format!(
            "only pxe-kit answers DHCP on {i} (looked {window})"
        )));
    }
    if cfg.dhcp.allow_other_dhcp {
        return finish(Finding::ok(format!(
            "{} also answer(s) on {i}, allowed by dhcp.allow_other_dhcp",
            all.join(", ")
        )));
    }
    finish(Finding::fail(
        format!(
            "another DHCP server answers on {i} beside pxe-kit: {} — machines there may get a lease from either",
            all.join(", ")
        ),
        vec![
            format!("stop the other server on {i}, or boot beside it: pxe-kit init --dhcp-mode proxy"),
            "where the segment is split some other way: pxe-kit init --dhcp-mode server --allow-other-dhcp".into(),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// A relayed subnet routed through the provisioning interface via a gateway passes; one
    /// routed out another interface, taken as on-link, or not routed at all fails and is named.
    #[test]
    fn relayed_subnets_must_be_routed_through_the_interface() {
        use crate::netinfo::Route;
        let cfg: crate::config::Config = serde_yaml::from_str(
            "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\n\
             subnets:\n- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n  router: 10.1.0.1\n",
        )
        .unwrap();
        let route = |dest: &str, gw: Option<&str>, iface: &str| Route {
            dest: dest.parse().unwrap(),
            gateway: gw.map(|g| g.parse().unwrap()),
            iface: iface.into(),
        };
        let on_link = route("10.0.0.0/24", None, "ens4");
        let good = [
            on_link.clone(),
            route("10.1.0.0/24", Some("10.0.0.254"), "ens4"),
        ];
        let f = judge_relays(&cfg, &good);
        assert_eq!(f.status, super::super::Status::Ok, "{f:?}");
        assert!(
            f.evidence[0].contains("10.1.0.0/24: via 10.0.0.254 dev ens4"),
            "{f:?}"
        );
        for (routes, needle) in [
            (vec![on_link.clone()], "10.1.0.0/24 has no route"),
            (
                vec![
                    on_link.clone(),
                    route("0.0.0.0/0", Some("192.168.1.1"), "eth0"),
                ],
                "routed via 192.168.1.1 dev eth0, not the provisioning interface ens4",
            ),
            (
                vec![on_link.clone(), route("10.1.0.0/24", None, "ens4")],
                "directly on ens4",
            ),
        ] {
            let f = judge_relays(&cfg, &routes);
            assert_eq!(f.status, super::super::Status::Fail, "{f:?}");
            assert!(f.summary.contains(needle), "{}", f.summary);
            assert!(
                f.fix[0].contains("10.1.0.0/24 via RELAY-ADDRESS-IN-10.0.0.0/24 dev ens4"),
                "{:?}",
                f.fix
            );
        }
    }

    #[test]
    fn dhcpd_command_lines_name_their_interfaces() {
        assert_eq!(
            dhcpd_argv_interfaces(&v("/usr/sbin/dhcpd -4 -f -d -cf /x -lf /l -pf /p pxkd0")),
            ["pxkd0"]
        );
        assert_eq!(
            dhcpd_argv_interfaces(&v("dhcpd -user dhcpd -group dhcpd --no-pid ens4 ens5")),
            ["ens4", "ens5"]
        );
        assert!(dhcpd_argv_interfaces(&v("dhcpd -4 -q -cf /etc/dhcp/dhcpd.conf")).is_empty());
    }

    #[test]
    fn settings_files_name_their_interfaces() {
        assert_eq!(
            default_file_interfaces("# x\nINTERFACESv4=\"ens4\"\nINTERFACESv6=\"\"\n").unwrap(),
            ["ens4"]
        );
        assert_eq!(
            default_file_interfaces("INTERFACESv4=\"\"\n").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(default_file_interfaces("nothing\n"), None);
        let d = "[Service]\nExecStart=\nExecStart=/usr/sbin/dhcpd -f -cf /etc/dhcp/dhcpd.conf -user dhcpd -group dhcpd --no-pid ens4\n";
        assert_eq!(dropin_interfaces(d).unwrap(), ["ens4"]);
    }

    #[test]
    fn scope_warns_on_every_interface_and_extra_ones() {
        let ok = judge_scope(
            "ens4",
            "/etc/default/isc-dhcp-server",
            Some(v("ens4")),
            Some(&[(7, v("ens4"))]),
            "fix",
        );
        assert_eq!(ok.status, super::super::Status::Ok);
        let empty = judge_scope("ens4", "F", Some(vec![]), None, "fix");
        assert_eq!(empty.status, super::super::Status::Warn);
        assert!(
            empty.summary.contains("every interface"),
            "{}",
            empty.summary
        );
        let wide = judge_scope("ens4", "F", Some(v("ens4")), Some(&[(9, vec![])]), "fix");
        assert!(
            wide.summary.contains("pid 9") && wide.fix[0] == "fix",
            "{wide:?}"
        );
        let extra = judge_scope("ens4", "F", Some(v("ens4 eth0")), None, "fix");
        assert!(
            extra.summary.contains("also names eth0"),
            "{}",
            extra.summary
        );
    }

    #[test]
    fn kea_scope_ok_and_broken() {
        use super::super::Status;
        use crate::kea::Summary;
        let ip: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let good = Summary {
            interfaces: v("ens4"),
            subnet_interfaces: v("ens4"),
            ..Default::default()
        };
        let ok = judge_kea_scope("ens4", ip, "F", Some(&good), Some(&[(7, vec![ip])]), "fix");
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        let star = Summary {
            interfaces: v("*"),
            ..good.clone()
        };
        let w = judge_kea_scope("ens4", ip, "F", Some(&star), None, "fix");
        assert_eq!(w.status, Status::Warn);
        assert!(w.summary.contains("every interface"), "{}", w.summary);
        let extra = Summary {
            interfaces: v("ens4 eth0"),
            ..good.clone()
        };
        let w = judge_kea_scope("ens4", ip, "F", Some(&extra), None, "fix");
        assert!(w.summary.contains("also names eth0"), "{}", w.summary);
        let other: Ipv4Addr = "192.168.1.5".parse().unwrap();
        let w = judge_kea_scope(
            "ens4",
            ip,
            "F",
            Some(&good),
            Some(&[(9, vec![ip, other])]),
            "fix",
        );
        assert!(
            w.summary.contains("pid 9") && w.summary.contains("192.168.1.5") && w.fix[0] == "fix",
            "{w:?}"
        );
        let none = judge_kea_scope("ens4", ip, "F", None, None, "fix");
        assert_eq!(none.status, Status::Warn);
    }

    #[test]
    fn interface_states_are_judged() {
        use super::super::Status;
        let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        let ip: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let good = IfState {
            exists: true,
            up: true,
            running: true,
            addrs: vec!["10.0.0.1/24".parse().unwrap()],
        };
        assert_eq!(judge_interface("ens4", ip, net, &good).status, Status::Ok);
        let missing = judge_interface("ens4", ip, net, &IfState::default());
        assert_eq!(missing.status, Status::Fail);
        let down = IfState {
            up: false,
            ..good.clone()
        };
        assert_eq!(
            judge_interface("ens4", ip, net, &down).fix,
            ["ip link set ens4 up"]
        );
        let noaddr = IfState {
            addrs: vec![],
            ..good.clone()
        };
        assert_eq!(
            judge_interface("ens4", ip, net, &noaddr).fix,
            ["ip addr add 10.0.0.1/24 dev ens4"]
        );
        let wrongnet = IfState {
            addrs: vec!["10.0.0.1/16".parse().unwrap()],
            ..good.clone()
        };
        assert_eq!(
            judge_interface("ens4", ip, net, &wrongnet).status,
            Status::Warn
        );
        // The real kernel: loopback is up with 127.0.0.1/8.
        let lo = if_state("lo");
        assert!(lo.exists && lo.up, "{lo:?}");
    }

    fn answer(server: [u8; 4], kind: crate::dhcpprobe::Kind) -> crate::dhcpprobe::Answer {
        crate::dhcpprobe::Answer {
            server: server.into(),
            kind,
            source_mac: "52:54:00:00:00:09".into(),
            source_ip: server.into(),
            relay: None,
            offered: None,
            next_server: None,
            boot_file: None,
            options: Vec::new(),
        }
    }

    #[test]
    fn other_dhcp_is_judged_by_the_mode() {
        use crate::config::{Config, DhcpMode};
        use crate::dhcpprobe::{Kind, Survey};
        let mut cfg = Config::new(
            "ens4".into(),
            "10.0.0.1".parse().unwrap(),
            "10.0.0.0/24".parse().unwrap(),
            "10.0.0.100-10.0.0.200".parse().unwrap(),
        );
        let none = Survey::default();
        let other = Survey {
            others: vec![answer([10, 0, 0, 2], Kind::Address)],
            own: vec![answer([10, 0, 0, 1], Kind::Address)],
            window_ms: 3000,
        };
        let proxy = Survey {
            others: vec![answer([10, 0, 0, 3], Kind::Proxy)],
            ..other.clone()
        };
        assert_eq!(judge_other_dhcp(&cfg, &none).status, Status::Ok);
        let f = judge_other_dhcp(&cfg, &other);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.summary.contains("10.0.0.2") && f.fix.join(" ").contains("--dhcp-mode proxy"));
        assert_eq!(f.data.as_ref().unwrap()["others"][0]["server"], "10.0.0.2");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.starts_with("this server (not counted)")));
        cfg.dhcp.allow_other_dhcp = true;
        assert_eq!(judge_other_dhcp(&cfg, &other).status, Status::Ok);
        cfg.dhcp.allow_other_dhcp = false;
        cfg.dhcp.mode = Some(DhcpMode::Proxy);
        assert_eq!(judge_other_dhcp(&cfg, &other).status, Status::Ok);
        assert_eq!(judge_other_dhcp(&cfg, &none).status, Status::Fail);
        assert_eq!(judge_other_dhcp(&cfg, &proxy).status, Status::Fail);
    }
}
