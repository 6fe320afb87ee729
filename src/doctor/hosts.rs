//! Per-machine checks: every configured host's pxelinux file exists, matches its rendering
//! and boots an image whose kernel and initrd are there; per-machine files pxe-kit wrote for
//! machines no longer configured are flagged; the dhcpd.conf or kea-dhcp4.conf on disk (which
//! a hand edit may have changed behind the validated settings) gives no MAC or fixed address
//! twice and no fixed address inside a dynamic pool; Kea's leases show each configured machine
//! on its fixed address and no other machine on it.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::{Check, Env, Finding};
use crate::config::DhcpServer;
use crate::host::Mac;
use crate::image;
use crate::need;
use crate::plan;
use crate::render::Templates;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "hosts.files",
            title: "each configured machine's pxelinux file matches and boots an existing image",
            run: files,
        },
        Check {
            id: "hosts.leases",
            title: "dhcpd.conf gives no MAC or fixed address twice, none inside the pool",
            run: leases,
        },
        Check {
            id: "hosts.kea-reservations",
            title: "kea-dhcp4.conf reserves no MAC or address twice, none inside the pool",
            run: kea_reservations,
        },
        Check {
            id: "hosts.kea-leases",
            title:
                "Kea's leases put each configured machine on its fixed address, no other machine",
            run: kea_leases,
        },
    ]
}

/// What `hosts.files` found, per kind of problem.
#[derive(Debug, Default)]
pub struct HostFiles {
    pub hosts: usize,
    /// Files missing or differing from their rendering.
    pub broken: Vec<String>,
    /// Hosts whose image is not imported, or whose kernel/initrd is missing.
    pub unbootable: Vec<String>,
    /// pxe-kit's per-machine files for machines no longer configured.
    pub stale: Vec<PathBuf>,
    pub evidence: Vec<String>,
}

/// The verdict of `hosts.files` (pure).
pub fn judge_host_files(h: HostFiles, pk: &str) -> Finding {
    let mut ev = h.broken.clone();
    ev.extend(h.unbootable.iter().cloned());
    ev.extend(h.stale.iter().map(|p| {
        format!(
            "{}: written by pxe-kit for a machine no longer configured",
            p.display()
        )
    }));
    ev.extend(h.evidence);
    if !h.unbootable.is_empty() {
        return Finding::fail(
            format!(
                "{} machine(s) cannot boot their image: {}",
                h.unbootable.len(),
                h.unbootable[0]
            ),
            vec![
                format!("re-import the image ({pk} add-image …), or point the machine elsewhere: {pk} remove-host ID && {pk} add-host ID --image NAME"),
            ],
        )
        .with_evidence(ev);
    }
    if !h.broken.is_empty() {
        return Finding::fail(
            format!(
                "{} per-machine pxelinux file(s) differ from the settings: {}",
                h.broken.len(),
                h.broken[0]
            ),
            vec![
                format!("{pk} doctor --fix   (re-renders them from the settings)"),
                format!("or: {pk} init"),
            ],
        )
        .with_evidence(ev);
    }
    if !h.stale.is_empty() {
        return Finding::warn(
            format!(
                "{} per-machine file(s) of machines no longer configured still boot them: {}",
                h.stale.len(),
                h.stale[0].display()
            ),
            vec![format!(
                "{pk} init   (removes per-machine files of machines no longer configured; `{pk} doctor --fix` does too)"
            )],
        )
        .with_evidence(ev);
    }
    if h.hosts == 0 {
        return Finding::skip("no machines configured (pxe-kit add-host)");
    }
    Finding::ok(format!(
        "{} machine(s): their pxelinux files match and their images are there",
        h.hosts
    ))
    .with_evidence(ev)
}

fn files(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    let images = need!(env.images());
    let pk = env.pxe_kit();
    let profile = &env.profile;
    let root = &env.ctx.root;
    let templates = match Templates::load(root) {
        Ok(t) => t,
        Err(e) => {
            return Finding::fail(
                format!("the templates do not load: {e:#}"),
                vec![format!("{pk} init")],
            )
        }
    };
    let entries = image::boot_entries(cfg, profile, images);
    let mut h = HostFiles {
        hosts: cfg.hosts.len(),
        ..Default::default()
    };
    // A host whose image is gone cannot be rendered: report it, render the others.
    let mut renderable = cfg.clone();
    renderable.hosts.clear();
    let mut orphan_names = Vec::new();
    for host in &cfg.hosts {
        match entries.iter().find(|e| e.label == host.image) {
            None => {
                h.unbootable.push(format!(
                    "host {} boots image {:?}, which is not imported",
                    host.id(),
                    host.image
                ));
                orphan_names.extend(host.pxelinux_name());
            }
            Some(e) => {
                for (what, f) in [("kernel", &e.kernel), ("initrd", &e.initrd)] {
                    let p = profile.tftp_root.join(super::menu::tftp_rel(f));
                    if !root.path(&p).is_file() {
                        h.unbootable.push(format!(
                            "host {}: {what} of image {} ({}) is missing",
                            host.id(),
                            host.image,
                            p.display()
                        ));
                    }
                }
                renderable.hosts.push(host.clone());
            }
        }
    }
    let wanted = match plan::host_files(&renderable, profile, &templates, &entries) {
        Ok(w) => w,
        Err(e) => {
            return Finding::fail(
                format!("the per-machine files do not render: {e:#}"),
                vec![format!("{pk} init")],
            )
        }
    };
    for f in &wanted {
        let shown = f.path.display().to_string();
        match root.read_opt(&f.path) {
            Ok(None) => h.broken.push(format!("{shown}: missing")),
            Ok(Some(c)) if c != f.content => h.broken.push(format!("{shown}: content differs")),
            Ok(Some(_)) => h.evidence.push(format!("{shown}: matches")),
            Err(e) => h.broken.push(format!("{shown}: {e:#}")),
        }
    }
    let present: Vec<_> = crate::apply::per_client_present(root, profile)
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _)| {
            !p.file_name()
                .is_some_and(|n| orphan_names.iter().any(|o| o.as_str() == n))
        })
        .collect();
    h.stale = plan::stale_host_files(&wanted, &present);
    judge_host_files(h, &pk)
}

/// One `host NAME { … }` block of dhcpd.conf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostBlock {
    pub name: String,
    /// `hardware ethernet`, normalised when it parses as a MAC.
    pub mac: Option<String>,
    /// `fixed-address` values that are IPv4 addresses (names are not resolved).
    pub ips: Vec<Ipv4Addr>,
}

/// dhcpd.conf as tokens: words, quoted strings, and `{`, `}`, `;` on their own; `#` comments
/// dropped.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                flush(&mut cur, &mut out);
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut s = String::from('"');
                while let Some(n) = chars.next() {
                    match n {
                        '\\' => s.extend(chars.next()),
                        '"' => break,
                        n => s.push(n),
                    }
                }
                cur.push_str(&s);
            }
            '{' | '}' | ';' => {
                flush(&mut cur, &mut out);
                out.push(c.to_string());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The host blocks and dynamic ranges of a dhcpd.conf (pure). Blocks may sit at any depth
/// (top level, inside a subnet or group); a one-address `range A;` is a pool of one.
pub fn parse_dhcpd(text: &str) -> (Vec<HostBlock>, Vec<(Ipv4Addr, Ipv4Addr)>) {
    let mut hosts = Vec::new();
    let mut ranges = Vec::new();
    // Each open brace: the host block it opened, if any.
    let mut stack: Vec<Option<HostBlock>> = Vec::new();
    let mut stmt: Vec<String> = Vec::new();
    for t in tokens(text) {
        match t.as_str() {
            "{" => {
                let block = match stmt.as_slice() {
                    [kw, name] if kw == "host" => Some(HostBlock {
                        name: name.trim_matches('"').to_string(),
                        ..Default::default()
                    }),
                    _ => None,
                };
                stack.push(block);
                stmt.clear();
            }
            "}" => {
                if let Some(Some(b)) = stack.pop() {
                    hosts.push(b);
                }
                stmt.clear();
            }
            ";" => {
                let host = stack.iter_mut().rev().find_map(|b| b.as_mut());
                match (stmt.first().map(String::as_str), host) {
                    (Some("hardware"), Some(b)) if stmt.len() >= 3 && stmt[1] == "ethernet" => {
                        b.mac = Some(
                            stmt[2]
                                .parse::<Mac>()
                                .map(|m| m.to_string())
                                .unwrap_or_else(|_| stmt[2].to_ascii_lowercase()),
                        );
                    }
                    (Some("fixed-address"), Some(b)) => b.ips.extend(
                        stmt[1..]
                            .join(" ")
                            .split(',')
                            .filter_map(|a| a.trim().parse::<Ipv4Addr>().ok()),
                    ),
                    (Some("range"), _) => {
                        let addrs: Vec<Ipv4Addr> = stmt[1..]
                            .iter()
                            .filter(|w| *w != "dynamic-bootp")
                            .filter_map(|w| w.parse().ok())
                            .collect();
                        match addrs.as_slice() {
                            [a] => ranges.push((*a, *a)),
                            [a, b, ..] => ranges.push((*a.min(b), *a.max(b))),
                            [] => {}
                        }
                    }
                    _ => {}
                }
                stmt.clear();
            }
            _ => stmt.push(t),
        }
    }
    (hosts, ranges)
}

/// The verdict of `hosts.leases` (pure): duplicates and pool addresses fail.
pub fn judge_leases(
    hosts: &[HostBlock],
    ranges: &[(Ipv4Addr, Ipv4Addr)],
    server: Option<Ipv4Addr>,
    conf: &str,
    pk: &str,
) -> Finding {
    judge_fixed(DhcpServer::Isc, hosts, ranges, server, conf, pk)
}

/// The verdict of `hosts.leases` or `hosts.kea-reservations` (pure), in the words of the
/// DHCP server whose file it is.
pub fn judge_fixed(
    daemon: DhcpServer,
    hosts: &[HostBlock],
    ranges: &[(Ipv4Addr, Ipv4Addr)],
    server: Option<Ipv4Addr>,
    conf: &str,
    pk: &str,
) -> Finding {
    let (block, who, test) = match daemon {
        DhcpServer::Isc => ("host blocks", "dhcpd", format!("dhcpd -t -4 -cf {conf}")),
        DhcpServer::Kea => ("reservations", "Kea", format!("kea-dhcp4 -t {conf}")),
    };
    let mut problems = Vec::new();
    let mut macs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut ips: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for h in hosts {
        if let Some(m) = &h.mac {
            if let Some(other) = macs.insert(m, &h.name) {
                problems.push(format!(
                    "MAC {m} is in two {block} ({other} and {}): {who} answers it with either",
                    h.name
                ));
            }
        }
        for ip in &h.ips {
            if let Some(other) = ips.insert(*ip, &h.name) {
                problems.push(format!(
                    "fixed address {ip} is given to two hosts ({other} and {}): both machines would use it",
                    h.name
                ));
            }
            if let Some((a, b)) = ranges.iter().find(|(a, b)| a <= ip && ip <= b) {
                problems.push(format!(
                    "fixed address {ip} of host {} is inside the dynamic pool {a}-{b}: {who} may lease it to another machine",
                    h.name
                ));
            }
            if Some(*ip) == server {
                problems.push(format!(
                    "fixed address {ip} of host {} is the server's own address",
                    h.name
                ));
            }
        }
    }
    let ev: Vec<String> = hosts
        .iter()
        .map(|h| {
            format!(
                "host {}: {} → {}",
                h.name,
                h.mac.as_deref().unwrap_or("(no MAC)"),
                if h.ips.is_empty() {
                    "(no fixed address)".to_string()
                } else {
                    h.ips
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        })
        .chain(ranges.iter().map(|(a, b)| format!("pool {a}-{b}")))
        .collect();
    if problems.is_empty() {
        if hosts.is_empty() {
            return Finding::ok(format!("{conf} has no {block}")).with_evidence(ev);
        }
        return Finding::ok(format!(
            "{} {}(s) in {conf}: MACs and fixed addresses unique, outside the pool",
            hosts.len(),
            block.trim_end_matches('s')
        ))
        .with_evidence(ev);
    }
    let mut all = problems.clone();
    all.extend(ev);
    Finding::fail(
        format!("{conf}: {}", problems.join("; ")),
        vec![
            format!("{pk} doctor --fix   (puts back the {} rendered from the settings, which refuse duplicates and pool addresses)", conf.rsplit('/').next().unwrap_or(conf)),
            format!("or edit {conf}: give each host its own MAC and address, outside the pool; check with `{test}`"),
        ],
    )
    .with_evidence(all)
}

fn leases(env: &Env) -> Finding {
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Isc, "hosts.kea-reservations") {
        return f;
    }
    // The file on disk is judged, not the settings: the settings validate at load, a hand
    // edit of dhcpd.conf does not.
    let p = &env.profile.dhcp.conf;
    let text = match env.ctx.root.read_string_opt(p) {
        Ok(Some(t)) => t,
        Ok(None) => return Finding::skip(format!("{} is missing (see config.dhcpd)", p.display())),
        Err(e) => {
            return Finding::fail(
                format!("{e:#}"),
                vec![format!("{} doctor --fix", env.pxe_kit())],
            )
        }
    };
    let (hosts, ranges) = parse_dhcpd(&text);
    let server = env.cfg.as_ref().ok().map(|c| c.server_ip);
    judge_leases(
        &hosts,
        &ranges,
        server,
        &p.display().to_string(),
        &env.pxe_kit(),
    )
}

fn kea_reservations(env: &Env) -> Finding {
    if let Some(f) = super::config::not_chosen(env, DhcpServer::Kea, "hosts.leases") {
        return f;
    }
    let p = &env.profile.dhcp.conf;
    let shown = p.display().to_string();
    let fix = vec![format!("{} doctor --fix", env.pxe_kit())];
    let summary = match env.ctx.root.read_opt(p) {
        Ok(Some(t)) => match crate::kea::summarize(&t) {
            Ok(s) => s,
            Err(e) => return Finding::fail(format!("{shown}: {e:#}"), fix),
        },
        Ok(None) => return Finding::skip(format!("{shown} is missing (see config.kea)")),
        Err(e) => return Finding::fail(format!("{e:#}"), fix),
    };
    let blocks: Vec<HostBlock> = summary
        .reservations
        .iter()
        .map(|r| HostBlock {
            name: r.name.clone(),
            mac: r.mac.as_ref().map(|m| {
                m.parse::<Mac>()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|_| m.clone())
            }),
            ips: r.ip.into_iter().collect(),
        })
        .collect();
    let server = env.cfg.as_ref().ok().map(|c| c.server_ip);
    judge_fixed(
        DhcpServer::Kea,
        &blocks,
        &summary.pools,
        server,
        &shown,
        &env.pxe_kit(),
    )
}

/// What Kea's lease file says about one configured machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The host as the settings name it, its MAC and fixed address.
    pub id: String,
    pub mac: String,
    pub ip: Ipv4Addr,
    /// The address an active lease gives its MAC, if any.
    pub leased: Option<Ipv4Addr>,
    /// Another MAC holding an active lease on its fixed address.
    pub taken_by: Option<String>,
}

/// What the leases say about each machine with a MAC and a fixed address (pure): `leases`
/// from `kea::parse_leases`, `now` in seconds since the epoch.
pub fn served(
    hosts: &[crate::host::Host],
    leases: &BTreeMap<Ipv4Addr, crate::kea::Lease>,
    now: u64,
) -> Vec<Served> {
    hosts
        .iter()
        .filter_map(|h| Some((h, h.mac?, h.ip?)))
        .map(|(h, mac, ip)| {
            let mac = mac.to_string();
            let active = || leases.values().filter(|l| l.active(now));
            Served {
                id: h.id(),
                leased: active().find(|l| l.hwaddr == mac).map(|l| l.address),
                taken_by: active()
                    .find(|l| l.address == ip && l.hwaddr != mac)
                    .map(|l| l.hwaddr.clone()),
                mac,
                ip,
            }
        })
        .collect()
}

/// The verdict of `hosts.kea-leases` (pure).
pub fn judge_served(s: &[Served], leases_file: &str, pk: &str) -> Finding {
    if s.is_empty() {
        return Finding::skip(
            "no machine has a MAC and a fixed address (pxe-kit add-host MAC --ip IP)",
        );
    }
    let mut ev = Vec::new();
    let mut taken = Vec::new();
    let mut elsewhere = Vec::new();
    for m in s {
        ev.push(match (m.leased, &m.taken_by) {
            (_, Some(o)) => format!("{} ({}): {} is leased to {o}", m.id, m.mac, m.ip),
            (Some(a), None) if a == m.ip => {
                format!("{} ({}): leased {a}, its fixed address", m.id, m.mac)
            }
            (Some(a), None) => format!(
                "{} ({}): leased {a}, not its fixed address {}",
                m.id, m.mac, m.ip
            ),
            (None, None) => format!("{} ({}): no active lease yet", m.id, m.mac),
        });
        if let Some(o) = &m.taken_by {
            taken.push(format!("{} of {} is leased to {o}", m.ip, m.id));
        } else if m.leased.is_some_and(|a| a != m.ip) {
            elsewhere.push(format!(
                "{} holds {} instead of {}",
                m.id,
                m.leased.unwrap_or(m.ip),
                m.ip
            ));
        }
    }
    if !taken.is_empty() {
        return Finding::fail(
            format!("fixed addresses leased to other machines: {}", taken.join("; ")),
            vec![
                "find the machine named above and stop it, or give the host another address: pxe-kit remove-host ID && pxe-kit add-host ID --image NAME --ip IP".replace("pxe-kit", pk),
                format!("its lease ends by itself; or stop Kea, remove the address's rows from {leases_file} and start it again"),
            ],
        )
        .with_evidence(ev);
    }
    if !elsewhere.is_empty() {
        return Finding::warn(
            format!("machines on a pool address, not their fixed one: {} (they got it before their reservation; they move at their next DHCP exchange)", elsewhere.join("; ")),
            vec!["reboot the machine (or let its lease renew) to take its fixed address".into()],
        )
        .with_evidence(ev);
    }
    let seen = s.iter().filter(|m| m.leased.is_some()).count();
    Finding::ok(format!(
        "{seen} of {} machine(s) with a fixed address hold it; none is taken by another machine",
        s.len()
    ))
    .with_evidence(ev)
}

fn kea_leases(env: &Env) -> Finding {
    if env.profile.dhcp.server != DhcpServer::Kea {
        return Finding::skip(format!(
            "the DHCP server is {} (dhcp.server): dhcpd records no lease for a fixed address, see hosts.leases",
            env.profile.dhcp.server.name()
        ));
    }
    let cfg = need!(env.cfg());
    let file = &env.profile.dhcp.leases;
    let mut texts = Vec::new();
    for f in crate::kea::lease_files(file) {
        match env.ctx.root.read_string_opt(&f) {
            Ok(Some(t)) => texts.push(t),
            Ok(None) => {}
            Err(e) => return Finding::skip(format!("{e:#}")),
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let leases = crate::kea::parse_leases(&refs);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut f = judge_served(
        &served(&cfg.hosts, &leases, now),
        &file.display().to_string(),
        &env.pxe_kit(),
    );
    if texts.is_empty() && f.status == super::Status::Ok {
        f.summary = format!(
            "{} does not exist yet: Kea has leased nothing",
            file.display()
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    const CONF: &str = "# Generated by pxe-kit\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n    authoritative;\n    range 10.0.0.100 10.0.0.200;\n    class \"pxeclients\" {\n        match if substring(option vendor-class-identifier, 0, 9) = \"PXEClient\";\n        filename \"pxelinux.0\";\n    }\n}\n\n# A fixed lease for 52:54:00:12:34:56.\nhost term01 {\n    hardware ethernet 52:54:00:12:34:56;\n    fixed-address 10.0.0.50;\n    option host-name \"term01\";\n}\n\nhost pxk-525400123457 {\n    hardware ethernet 52:54:00:12:34:57; # second\n    fixed-address 10.0.0.51;\n}\n";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn dhcpd_host_blocks_and_ranges_parse() {
        let (h, r) = parse_dhcpd(CONF);
        assert_eq!(r, [(ip("10.0.0.100"), ip("10.0.0.200"))]);
        assert_eq!(
            h,
            [
                HostBlock {
                    name: "term01".into(),
                    mac: Some("52:54:00:12:34:56".into()),
                    ips: vec![ip("10.0.0.50")],
                },
                HostBlock {
                    name: "pxk-525400123457".into(),
                    mac: Some("52:54:00:12:34:57".into()),
                    ips: vec![ip("10.0.0.51")],
                },
            ]
        );
        let (h, r) = parse_dhcpd(
            "group { host a { hardware ethernet 52:54:00:AA:BB:CC; fixed-address 10.0.0.5, 10.0.0.6; } }\nsubnet 10.0.0.0 netmask 255.255.255.0 { pool { range dynamic-bootp 10.0.0.9; } }",
        );
        assert_eq!(h[0].mac.as_deref(), Some("52:54:00:aa:bb:cc"));
        assert_eq!(h[0].ips, [ip("10.0.0.5"), ip("10.0.0.6")]);
        assert_eq!(r, [(ip("10.0.0.9"), ip("10.0.0.9"))]);
    }

    #[test]
    fn leases_judged_good_duplicate_and_in_pool() {
        let (h, r) = parse_dhcpd(CONF);
        let f = judge_leases(
            &h,
            &r,
            Some(ip("10.0.0.1")),
            "/etc/dhcp/dhcpd.conf",
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Ok, "{f:?}");

        let dup_ip = CONF.replace("fixed-address 10.0.0.51;", "fixed-address 10.0.0.50;");
        let (h, r) = parse_dhcpd(&dup_ip);
        let f = judge_leases(&h, &r, None, "/etc/dhcp/dhcpd.conf", "pxe-kit");
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary
                .contains("10.0.0.50 is given to two hosts (term01 and pxk-525400123457)"),
            "{}",
            f.summary
        );
        assert!(f.fix[0].starts_with("pxe-kit doctor --fix"));

        let dup_mac = CONF.replace("52:54:00:12:34:57", "52-54-00-12-34-56");
        let (h, r) = parse_dhcpd(&dup_mac);
        let f = judge_leases(&h, &r, None, "dhcpd.conf", "pxe-kit");
        assert!(
            f.summary
                .contains("MAC 52:54:00:12:34:56 is in two host blocks"),
            "{}",
            f.summary
        );

        let in_pool = CONF.replace("fixed-address 10.0.0.51;", "fixed-address 10.0.0.150;");
        let (h, r) = parse_dhcpd(&in_pool);
        let f = judge_leases(&h, &r, None, "dhcpd.conf", "pxe-kit");
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary
                .contains("inside the dynamic pool 10.0.0.100-10.0.0.200"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn kea_reservations_are_judged_in_keas_words() {
        let s = crate::kea::summarize(br#"{"Dhcp4": {"subnet4": [{"pools": [{"pool": "10.0.0.100 - 10.0.0.200"}],
            "reservations": [{"hw-address": "52:54:00:12:34:56", "ip-address": "10.0.0.50", "hostname": "term01"},
                             {"hw-address": "52:54:00:12:34:57", "ip-address": "10.0.0.150"}]}]}}"#).unwrap();
        let blocks: Vec<HostBlock> = s
            .reservations
            .iter()
            .map(|r| HostBlock {
                name: r.name.clone(),
                mac: r.mac.clone(),
                ips: r.ip.into_iter().collect(),
            })
            .collect();
        let f = judge_fixed(
            DhcpServer::Kea,
            &blocks,
            &s.pools,
            None,
            "/etc/kea/kea-dhcp4.conf",
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("10.0.0.150 of host 52:54:00:12:34:57 is inside the dynamic pool 10.0.0.100-10.0.0.200: Kea may"), "{}", f.summary);
        assert!(
            f.fix[1].contains("kea-dhcp4 -t /etc/kea/kea-dhcp4.conf"),
            "{:?}",
            f.fix
        );
        let ok = judge_fixed(
            DhcpServer::Kea,
            &blocks[..1],
            &s.pools,
            None,
            "K",
            "pxe-kit",
        );
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert!(ok.summary.starts_with("1 reservation(s)"), "{}", ok.summary);
    }

    #[test]
    fn served_leases_judged_ok_elsewhere_and_taken() {
        let host = |mac: &str, ip: &str| crate::host::Host {
            mac: Some(mac.parse().unwrap()),
            ip: Some(ip.parse().unwrap()),
            hostname: None,
            image: "demo".into(),
        };
        let hosts = vec![
            host("52:54:00:12:34:56", "10.0.0.50"),
            host("52:54:00:12:34:57", "10.0.0.51"),
        ];
        let csv = |rows: &str| {
            format!("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n{rows}")
        };
        let judge = |rows: &str| {
            let t = csv(rows);
            let l = crate::kea::parse_leases(&[&t]);
            judge_served(
                &served(&hosts, &l, 1000),
                "/var/lib/kea/kea-leases4.csv",
                "pxe-kit",
            )
        };
        let ok = judge("10.0.0.50,52:54:00:12:34:56,,3600,4600,1,0,0,,0,\n");
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert!(ok.summary.starts_with("1 of 2"), "{}", ok.summary);
        let elsewhere = judge("10.0.0.120,52:54:00:12:34:57,,3600,4600,1,0,0,,0,\n");
        assert_eq!(elsewhere.status, Status::Warn, "{elsewhere:?}");
        let taken = judge("10.0.0.51,52:54:00:aa:bb:cc,,3600,4600,1,0,0,,0,\n");
        assert_eq!(taken.status, Status::Fail, "{taken:?}");
        assert!(
            taken
                .summary
                .contains("10.0.0.51 of 52:54:00:12:34:57 is leased to 52:54:00:aa:bb:cc"),
            "{}",
            taken.summary
        );
        // An expired lease on the address takes nothing.
        assert_eq!(
            judge("10.0.0.51,52:54:00:aa:bb:cc,,3600,900,1,0,0,,0,\n").status,
            Status::Ok
        );
        assert_eq!(judge_served(&[], "f", "pxe-kit").status, Status::Skip);
    }

    #[test]
    fn host_files_judged_good_broken_unbootable_and_stale() {
        let ok = judge_host_files(
            HostFiles {
                hosts: 2,
                ..Default::default()
            },
            "pxe-kit",
        );
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(
            judge_host_files(HostFiles::default(), "pxe-kit").status,
            Status::Skip
        );
        let broken = judge_host_files(
            HostFiles {
                hosts: 1,
                broken: vec!["/srv/tftp/pxelinux.cfg/01-52-54-00-12-34-56: missing".into()],
                ..Default::default()
            },
            "pxe-kit",
        );
        assert_eq!(broken.status, Status::Fail);
        assert!(broken.fix[0].starts_with("pxe-kit doctor --fix"));
        let unbootable = judge_host_files(
            HostFiles {
                hosts: 1,
                unbootable: vec![
                    "host 10.0.0.60 boots image \"gone\", which is not imported".into()
                ],
                ..Default::default()
            },
            "pxe-kit",
        );
        assert_eq!(unbootable.status, Status::Fail);
        assert!(unbootable.fix[0].contains("remove-host"));
        let stale = judge_host_files(
            HostFiles {
                stale: vec!["/srv/tftp/pxelinux.cfg/0A00003C".into()],
                ..Default::default()
            },
            "pxe-kit",
        );
        assert_eq!(stale.status, Status::Warn);
        assert!(stale.fix[0].starts_with("pxe-kit init"), "{:?}", stale.fix);
    }
}
