//! Per-machine checks: every configured host's pxelinux file exists, matches its rendering
//! and boots an image whose kernel and initrd are there; per-machine files pxe-kit wrote for
//! machines no longer configured are flagged; the dhcpd.conf on disk (which a hand edit may
//! have changed behind the validated settings) gives no MAC or fixed address twice and no
//! fixed address inside a dynamic pool.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::{Check, Env, Finding};
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
    let mut problems = Vec::new();
    let mut macs: BTreeMap<&str, &str> = BTreeMap::new();
    let mut ips: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for h in hosts {
        if let Some(m) = &h.mac {
            if let Some(other) = macs.insert(m, &h.name) {
                problems.push(format!(
                    "MAC {m} is in two host blocks ({other} and {}): dhcpd answers it with either",
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
                    "fixed address {ip} of host {} is inside the dynamic pool {a}-{b}: dhcpd may lease it to another machine",
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
            return Finding::ok(format!("{conf} has no host blocks")).with_evidence(ev);
        }
        return Finding::ok(format!(
            "{} host block(s) in {conf}: MACs and fixed addresses unique, outside the pool",
            hosts.len()
        ))
        .with_evidence(ev);
    }
    let mut all = problems.clone();
    all.extend(ev);
    Finding::fail(
        format!("{conf}: {}", problems.join("; ")),
        vec![
            format!("{pk} doctor --fix   (puts back the dhcpd.conf rendered from the settings, which refuse duplicates and pool addresses)"),
            format!("or edit {conf}: give each host its own MAC and address, outside the pool; check with `dhcpd -t -4 -cf {conf}`"),
        ],
    )
    .with_evidence(all)
}

fn leases(env: &Env) -> Finding {
    // The file on disk is judged, not the settings: the settings validate at load, a hand
    // edit of dhcpd.conf does not.
    let p = &env.profile.dhcpd_conf;
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
