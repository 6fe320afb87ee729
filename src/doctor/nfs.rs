//! NFS-root checks: each NFS image's exports file is there, renders as now and exports the
//! tree read-only to the provisioning subnet; the running export table (`exportfs -v`, else
//! /var/lib/nfs/etab) carries it the same way; an NFS server runs and listens on tcp/2049;
//! the firewall lets NFS in on the interface. Every check skips when no image is NFS-root.
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::services::Proc;
use super::{Check, Env, Finding};
use crate::need;
use crate::netinfo::{listening_on, Sock};
use crate::plan::{self, NFS_OPENING};
use crate::render::Templates;
use crate::runner::{Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "nfs.exports",
            title: "NFS-root images' exports files match and are read-only to the subnet",
            run: exports,
        },
        Check {
            id: "nfs.exported",
            title: "the NFS server exports each NFS-root tree read-only to the subnet",
            run: exported,
        },
        Check {
            id: "nfs.services",
            title: "an NFS server runs and listens on tcp/2049",
            run: services,
        },
        Check {
            id: "nfs.firewall",
            title: "the firewall lets NFS, mountd and rpcbind in on the interface",
            run: firewall,
        },
    ]
}

/// The NFS-root images (name, exported tree), or the skip every NFS check reports.
pub fn nfs_images<'e>(env: &'e Env) -> Result<Vec<(&'e str, &'e Path)>, Finding> {
    let v: Vec<(&str, &Path)> = env
        .images()?
        .iter()
        .filter_map(|m| m.nfs_export.as_deref().map(|e| (m.name.as_str(), e)))
        .collect();
    if v.is_empty() {
        return Err(Finding::skip("no NFS-root images"));
    }
    Ok(v)
}

/// One exported tree for one client, as an exports file or the export table lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEntry {
    pub path: String,
    pub client: String,
    pub options: Vec<String>,
}

impl ExportEntry {
    /// Read-only unless `rw` comes last: `ro` is the NFS server's default.
    pub fn read_only(&self) -> bool {
        self.options
            .iter()
            .rev()
            .find(|o| *o == "ro" || *o == "rw")
            .is_none_or(|o| o == "ro")
    }
}

/// Decodes the `\040`-style octal escapes exportfs and etab write for spaces.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Words of one line of exports syntax: double quotes group (and mark a path), `#` starts a
/// comment outside quotes. Returns each word and whether it was quoted.
fn export_words(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut was_quoted, mut any) = (false, false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
                any = true;
            }
            '#' if !quoted => break,
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push((std::mem::take(&mut cur), was_quoted));
                }
                any = false;
                was_quoted = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push((cur, was_quoted));
    }
    out
}

/// Parses an exports file, /var/lib/nfs/etab or `exportfs -v` output (pure). A line that
/// starts with a path (or a quoted word) names the tree; the clients may follow on the same
/// line or, as `exportfs -v` prints long paths, on indented lines after it. `-opts` sets
/// default options for the clients after it; `<world>` is exportfs' spelling of `*`.
pub fn parse_exports(text: &str) -> Vec<ExportEntry> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    let mut path: Option<String> = None;
    for line in joined.lines() {
        let words = export_words(line);
        let Some(((first, quoted), rest)) = words.split_first() else {
            continue;
        };
        let clients = if *quoted || first.starts_with('/') {
            path = Some(unescape(first));
            rest
        } else if line.starts_with(char::is_whitespace) {
            &words[..]
        } else {
            continue;
        };
        let Some(p) = &path else { continue };
        let mut defaults: Vec<String> = Vec::new();
        for (w, _) in clients {
            if let Some(d) = w.strip_prefix('-') {
                defaults = d.split(',').map(String::from).collect();
                continue;
            }
            let (client, opts) = match w.split_once('(') {
                Some((c, o)) => (
                    c,
                    o.trim_end_matches(')')
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ),
                None => (w.as_str(), defaults.clone()),
            };
            let client = match client {
                "" | "<world>" => "*",
                c => c,
            };
            out.push(ExportEntry {
                path: p.clone(),
                client: client.to_string(),
                options: opts,
            });
        }
    }
    out
}

/// How messages name the subnets NFS roots go to: the provisioning subnet alone, or every
/// subnet served (relayed ones boot NFS roots through their router too).
fn subnets_named(subnets: &[Ipv4Net]) -> String {
    match subnets {
        [one] => format!("the provisioning subnet {one}"),
        all => format!(
            "the subnets served ({})",
            all.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether an export client is inside one of the subnets served: `Err` says why not (pure).
pub fn client_in_subnet(client: &str, subnets: &[Ipv4Net]) -> Result<(), String> {
    if client == "*" {
        return Err("every host (`*`)".into());
    }
    let net = client
        .parse::<Ipv4Net>()
        .ok()
        .or_else(|| client.parse::<Ipv4Addr>().ok().map(Ipv4Net::from));
    match net {
        Some(n) if subnets.iter().any(|s| s.contains(&n)) => Ok(()),
        Some(n) => Err(format!("{n}, which is beyond {}", subnets_named(subnets))),
        None => Err(format!(
            "{client}, a name or pattern not provably inside {}",
            subnets_named(subnets)
        )),
    }
}

fn same_path(a: &str, b: &Path) -> bool {
    let b = b.display().to_string();
    let trim = |s: &str| {
        let t = s.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    trim(a) == trim(&b)
}

/// How `export` appears among `entries` (pure): whether it is there, what was seen, and the
/// risks (writable, or open beyond the subnet).
pub fn judge_export(
    entries: &[ExportEntry],
    export: &Path,
    subnets: &[Ipv4Net],
) -> (bool, Vec<String>, Vec<String>) {
    let mut seen = Vec::new();
    let mut risks = Vec::new();
    for e in entries.iter().filter(|e| same_path(&e.path, export)) {
        seen.push(format!("{} {}({})", e.path, e.client, e.options.join(",")));
        if !e.read_only() {
            risks.push(format!("{} is exported read-write to {}", e.path, e.client));
        }
        if let Err(why) = client_in_subnet(&e.client, subnets) {
            risks.push(format!("{} is exported to {why}", e.path));
        }
    }
    (!seen.is_empty(), seen, risks)
}

fn exports(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    let imgs = need!(nfs_images(env));
    let pk = env.pxe_kit();
    let templates = match Templates::load(&env.ctx.root) {
        Ok(t) => t,
        Err(e) => {
            return Finding::fail(
                format!("the templates do not load: {e:#}"),
                vec![format!("{pk} init")],
            )
        }
    };
    let mut broken = Vec::new();
    let mut risks = Vec::new();
    let mut ev = Vec::new();
    let mut diff = String::new();
    let mut wanted = Vec::new();
    for (name, export) in &imgs {
        let spec = match plan::exports_file(cfg, &env.profile, &templates, name, export) {
            Ok(s) => s,
            Err(e) => {
                broken.push(format!("{name}: the exports file does not render: {e:#}"));
                continue;
            }
        };
        wanted.push(spec.path.clone());
        let shown = spec.path.display().to_string();
        let disk = match env.ctx.root.read_opt(&spec.path) {
            Ok(Some(d)) => d,
            Ok(None) => {
                broken.push(format!(
                    "{shown}: missing: {} of image {name} is not exported after the next `exportfs -r`",
                    export.display()
                ));
                continue;
            }
            Err(e) => {
                broken.push(format!("{shown}: {e:#}"));
                continue;
            }
        };
        if disk != spec.content {
            broken.push(format!("{shown}: differs from the rendering"));
            diff += &super::config::unified(&shown, &disk, &spec.content);
        }
        let (found, seen, r) = judge_export(
            &parse_exports(&String::from_utf8_lossy(&disk)),
            export,
            &cfg.all_subnets(),
        );
        if !found {
            broken.push(format!("{shown}: does not export {}", export.display()));
        }
        risks.extend(r.into_iter().map(|r| format!("{shown}: {r}")));
        ev.extend(seen.into_iter().map(|s| format!("{shown}: {s}")));
    }
    // pxe-kit's exports files of images that are gone still export their trees.
    let dir = Path::new(crate::distro::EXPORTS_DIR);
    let stale: Vec<String> = env
        .ctx
        .root
        .list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("pxe-kit-") && n.ends_with(".exports"))
        .map(|n| dir.join(n))
        .filter(|p| !wanted.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    let mut f = judge_exports_files(imgs.len(), broken, risks, &stale, &pk);
    f.evidence.splice(0..0, ev);
    if !diff.is_empty() {
        f.diff = Some(diff);
    }
    f
}

/// The verdict of `nfs.exports` from what was found (pure).
pub fn judge_exports_files(
    images: usize,
    broken: Vec<String>,
    risks: Vec<String>,
    stale: &[String],
    pk: &str,
) -> Finding {
    let mut ev: Vec<String> = broken.iter().chain(risks.iter()).cloned().collect();
    ev.extend(
        stale
            .iter()
            .map(|s| format!("{s}: pxe-kit's, for an image that is gone")),
    );
    if !broken.is_empty() {
        return Finding::fail(
            format!(
                "{} of {images} NFS-root export(s) are wrong: {}",
                broken.len(),
                broken[0]
            ),
            vec![
                format!("{pk} doctor --fix   (re-renders the exports files from the image manifests, then `exportfs -r`)"),
                format!("or: {pk} init"),
            ],
        )
        .with_evidence(ev);
    }
    if !risks.is_empty() || !stale.is_empty() {
        let mut fix = Vec::new();
        if !risks.is_empty() {
            fix.push(format!("{pk} doctor --fix   (puts back the read-only export to the subnet), then `exportfs -r`"));
        }
        fix.extend(stale.iter().map(|s| format!("rm {s} && exportfs -r")));
        return Finding::warn(
            match risks.first() {
                Some(r) => format!("an NFS root is exported too widely: {r}"),
                None => format!(
                    "{} exports file(s) of removed images still export their trees: {}",
                    stale.len(),
                    stale[0]
                ),
            },
            fix,
        )
        .with_evidence(ev);
    }
    Finding::ok(format!(
        "{images} NFS-root exports file(s) match and export read-only to the subnet"
    ))
}

fn exported(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    let imgs = need!(nfs_images(env));
    let live = need!(env.live());
    let pk = env.pxe_kit();
    // exportfs shows what the kernel server exports now; etab is its record when exportfs
    // cannot be run. Either is the running state, not the files in /etc/exports.d/.
    let table = match live.runner.query(&Cmd::new(
        Kind::Probe,
        "listing the NFS exports",
        &["exportfs", "-v"],
    )) {
        Ok(Some(o)) if o.success => Some(("exportfs -v".to_string(), o.stdout)),
        _ if env.ctx.root.is_live() => {
            let etab = Path::new("/var/lib/nfs/etab");
            env.ctx
                .root
                .read_string_opt(etab)
                .ok()
                .flatten()
                .map(|t| (etab.display().to_string(), t))
        }
        _ => None,
    };
    let Some((source, text)) = table else {
        if let Some(g) = env
            .procs()
            .iter()
            .find(|p| p.here && p.comm == "ganesha.nfsd")
        {
            return Finding::skip(format!(
                "ganesha.nfsd (pid {}) serves NFS here: its exports are EXPORT blocks in its own configuration, not the kernel's export table; not checked",
                g.pid
            ));
        }
        return Finding::fail(
            "no NFS export table: `exportfs -v` does not run and /var/lib/nfs/etab is absent",
            plan::nfs_steps(&env.profile, false, false)
                .first()
                .map(|s| s.cmd.shell())
                .into_iter()
                .chain(["exportfs -r".to_string()])
                .collect(),
        );
    };
    judge_exported(
        &parse_exports(&text),
        &source,
        &imgs,
        &cfg.all_subnets(),
        &pk,
    )
}

/// The verdict of `nfs.exported` from the export table (pure).
pub fn judge_exported(
    table: &[ExportEntry],
    source: &str,
    imgs: &[(&str, &Path)],
    subnets: &[Ipv4Net],
    pk: &str,
) -> Finding {
    let mut ev = Vec::new();
    let mut missing = Vec::new();
    let mut risks = Vec::new();
    for (name, export) in imgs {
        let (found, seen, r) = judge_export(table, export, subnets);
        if found {
            ev.extend(seen.into_iter().map(|s| format!("{source}: {s}")));
        } else {
            missing.push(format!("{} (image {name})", export.display()));
        }
        risks.extend(r);
    }
    if !missing.is_empty() {
        ev.splice(
            0..0,
            missing
                .iter()
                .map(|m| format!("{source}: {m} is not listed")),
        );
        return Finding::fail(
            format!("not exported: {}", missing.join(", ")),
            vec![
                "exportfs -r   (exports what /etc/exports and /etc/exports.d/ list)".into(),
                format!("if the exports file is missing: {pk} doctor --fix"),
            ],
        )
        .with_evidence(ev);
    }
    if !risks.is_empty() {
        ev.extend(risks.iter().cloned());
        return Finding::warn(
            format!("an NFS root is exported too widely: {}", risks[0]),
            vec![
                "remove the wider export (the line in /etc/exports or /etc/exports.d/ that adds it, or `exportfs -u CLIENT:PATH`)".into(),
                format!("{pk} doctor --fix && exportfs -r   (puts back pxe-kit's read-only export to the subnet)"),
            ],
        )
        .with_evidence(ev);
    }
    Finding::ok(format!(
        "{} NFS-root tree(s) exported read-only to {}",
        imgs.len(),
        subnets
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    ))
    .with_evidence(ev)
}

fn services(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(nfs_images(env));
    let live = need!(env.live());
    let unit = env.profile.nfs_service;
    let active = if env.systemd {
        match live.runner.query(&Cmd::new(
            Kind::Probe,
            format!("asking systemd whether {unit} is active"),
            &["systemctl", "is-active", unit],
        )) {
            Ok(Some(o)) => Some((o.success, o.stdout.trim().to_string())),
            _ => return Finding::skip("systemctl could not be asked"),
        }
    } else {
        None
    };
    let tcp = crate::netinfo::read_net("tcp");
    judge_nfs_server(unit, active, env.procs(), &tcp, cfg.server_ip)
}

/// The verdict of `nfs.services` (pure): under systemd `unit_active` is the unit's state,
/// else the NFS server is a process: kernel `nfsd` threads (kernel threads belong to the
/// initial namespace, so any count) or `ganesha.nfsd` in this network namespace. Either way
/// something must listen on tcp/2049 for the server address.
pub fn judge_nfs_server(
    unit: &str,
    unit_active: Option<(bool, String)>,
    procs: &[Proc],
    tcp: &[Sock],
    server: Ipv4Addr,
) -> Finding {
    let mut ev = Vec::new();
    let mut fix = Vec::new();
    let mut problems = Vec::new();
    match &unit_active {
        Some((true, _)) => ev.push(format!("{unit}: active")),
        Some((false, state)) => {
            problems.push(format!("{unit} is not active ({state})"));
            fix.push(format!("systemctl enable --now {unit}"));
            fix.push(format!("journalctl -u {unit} -n 20   (why it stopped)"));
        }
        None => {
            let found: Vec<&Proc> = procs
                .iter()
                .filter(|p| p.comm == "nfsd" || (p.here && p.comm == "ganesha.nfsd"))
                .collect();
            match found.first() {
                Some(p) => ev.push(format!(
                    "{} process(es), e.g. pid {} {} (PID 1 is not systemd)",
                    found.len(),
                    p.pid,
                    p.comm
                )),
                None => {
                    problems.push("no nfsd or ganesha.nfsd process runs".to_string());
                    fix.push("start the NFS server: `rpc.nfsd 8 && exportfs -r` (kernel server, nfs-kernel-server / nfs-utils), or where the kernel has no nfsd `ganesha.nfsd -f /etc/ganesha/ganesha.conf` (nfs-ganesha, nfs-ganesha-vfs; NFSv4 only)".into());
                }
            }
        }
    }
    match listening_on(tcp, true, 2049, server) {
        Some(s) => ev.push(format!("tcp/2049: listening on {}", s.addr)),
        None => {
            ev.push(format!(
                "tcp/2049: nothing listens on {server} or the wildcard"
            ));
            problems.push(format!("nothing listens on tcp/2049 for {server}"));
            if fix.is_empty() {
                fix.push(match &unit_active {
                    Some(_) => format!("systemctl restart {unit}"),
                    None => {
                        "restart the NFS server so it binds tcp/2049 on the server address".into()
                    }
                });
            }
        }
    }
    if problems.is_empty() {
        return Finding::ok(format!("the NFS server runs and listens on {server}:2049"))
            .with_evidence(ev);
    }
    Finding::fail(problems.join("; "), fix).with_evidence(ev)
}

fn firewall(env: &Env) -> Finding {
    need!(nfs_images(env));
    super::firewall::judge_opening(env, &NFS_OPENING, "NFS/mountd/rpcbind")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::firewall::{judge_iptables_for, Want};
    use crate::doctor::Status;
    use crate::netinfo::parse_proc_net;

    const NET: &str = "10.0.0.0/24";
    const OURS: &str = "# Generated by pxe-kit\n# NFS root of image t: read-only …\n\"/srv/nfs/terminal\" 10.0.0.0/24(ro,no_root_squash,no_subtree_check,sec=sys)\n";
    const EXPORTFS_V: &str = "/srv/nfs/terminal\n\t\t10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,no_root_squash,no_all_squash)\n/srv\t\t<world>(sync,wdelay,hide,no_subtree_check,sec=sys,rw,secure,root_squash,no_all_squash)\n";
    const ETAB: &str = "/srv/nfs/my\\040tree\t10.0.0.0/25(ro,sync,wdelay,hide,nocrossmnt,secure,no_root_squash,no_all_squash,no_subtree_check,secure_locks,acl,no_pnfs,anonuid=65534,anongid=65534,sec=sys,ro,no_root_squash,no_all_squash)\n";

    fn net() -> [Ipv4Net; 1] {
        [NET.parse().unwrap()]
    }

    #[test]
    fn exports_files_etab_and_exportfs_parse() {
        let e = parse_exports(OURS);
        assert_eq!(
            e,
            [ExportEntry {
                path: "/srv/nfs/terminal".into(),
                client: "10.0.0.0/24".into(),
                options: ["ro", "no_root_squash", "no_subtree_check", "sec=sys"]
                    .map(String::from)
                    .to_vec(),
            }]
        );
        let v = parse_exports(EXPORTFS_V);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, "/srv/nfs/terminal");
        assert!(v[0].read_only());
        assert_eq!((v[1].path.as_str(), v[1].client.as_str()), ("/srv", "*"));
        assert!(!v[1].read_only());
        let t = parse_exports(ETAB);
        assert_eq!(t[0].path, "/srv/nfs/my tree");
        assert!(t[0].read_only());
        let d = parse_exports("/a -rw,sync 10.0.0.5 host1(ro)\n/b\n");
        assert_eq!(d.len(), 2);
        assert!(!d[0].read_only() && d[1].read_only());
        assert!(parse_exports("# only a comment\n\n").is_empty());
    }

    /// Relayed subnets' machines mount NFS roots too: the exports file names each subnet
    /// served, and doctor takes those exports as inside, while anything beyond them stays a
    /// risk.
    #[test]
    fn exports_reach_relayed_subnets_and_doctor_accepts_them() {
        let t = tempfile::tempdir().unwrap();
        let root = crate::root::Root::new(t.path(), false, crate::root::Out::default()).unwrap();
        let mut cfg: crate::config::Config = serde_yaml::from_str(
            "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\n\
             subnets:\n- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n  router: 10.1.0.1\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        let profile = crate::distro::Profile::new(crate::distro::Distro::Debian, Some(&cfg), &root);
        let tree = Path::new("/srv/nfs/terminal");
        let spec =
            plan::exports_file(&cfg, &profile, &Templates::builtin(), "terminal", tree).unwrap();
        let text = String::from_utf8(spec.content).unwrap();
        let entries = parse_exports(&text);
        let clients: Vec<&str> = entries.iter().map(|e| e.client.as_str()).collect();
        assert_eq!(clients, ["10.0.0.0/24", "10.1.0.0/24"], "{text}");
        assert!(entries.iter().all(|e| e.read_only()));
        let (found, _, risks) = judge_export(&entries, tree, &cfg.all_subnets());
        assert!(found && risks.is_empty(), "{risks:?}");
        let wide = parse_exports("/srv/nfs/terminal 10.2.0.0/24(ro)\n");
        let (_, _, risks) = judge_export(&wide, tree, &cfg.all_subnets());
        assert!(
            risks[0].contains("beyond the subnets served (10.0.0.0/24, 10.1.0.0/24)"),
            "{risks:?}"
        );
        // Without relays the file is what it always was.
        cfg.subnets.clear();
        let one =
            plan::exports_file(&cfg, &profile, &Templates::builtin(), "terminal", tree).unwrap();
        assert_eq!(
            parse_exports(&String::from_utf8(one.content).unwrap()).len(),
            1
        );
    }

    #[test]
    fn clients_must_be_inside_the_subnet() {
        assert!(client_in_subnet("10.0.0.0/24", &net()).is_ok());
        assert!(client_in_subnet("10.0.0.0/25", &net()).is_ok());
        assert!(client_in_subnet("10.0.0.7", &net()).is_ok());
        assert!(client_in_subnet("*", &net())
            .unwrap_err()
            .contains("every host"));
        assert!(client_in_subnet("10.0.0.0/8", &net())
            .unwrap_err()
            .contains("beyond"));
        assert!(client_in_subnet("*.example.com", &net()).is_err());
    }

    #[test]
    fn exports_files_judged_good_and_broken() {
        let p = Path::new("/srv/nfs/terminal");
        let (found, _, risks) = judge_export(&parse_exports(OURS), p, &net());
        assert!(found && risks.is_empty());
        let f = judge_exports_files(1, vec![], risks, &[], "pxe-kit");
        assert_eq!(f.status, Status::Ok, "{f:?}");

        let rw = OURS.replace("(ro,", "(rw,").replace("10.0.0.0/24", "*");
        let (found, _, risks) = judge_export(&parse_exports(&rw), p, &net());
        assert!(found);
        assert_eq!(risks.len(), 2, "{risks:?}");
        let f = judge_exports_files(1, vec![], risks, &[], "pxe-kit");
        assert_eq!(f.status, Status::Warn);
        assert!(f.summary.contains("read-write"), "{}", f.summary);

        let f = judge_exports_files(
            1,
            vec!["/etc/exports.d/pxe-kit-t.exports: missing".into()],
            vec![],
            &[],
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Fail);
        assert!(f.fix[0].starts_with("pxe-kit doctor --fix"), "{:?}", f.fix);
        let f = judge_exports_files(
            1,
            vec![],
            vec![],
            &["/etc/exports.d/pxe-kit-old.exports".into()],
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Warn);
        assert_eq!(
            f.fix,
            ["rm /etc/exports.d/pxe-kit-old.exports && exportfs -r"]
        );
    }

    #[test]
    fn export_table_judged_good_missing_and_wide() {
        let imgs = [("terminal", Path::new("/srv/nfs/terminal"))];
        let table = parse_exports(EXPORTFS_V);
        let ok = judge_exported(&table[..1], "exportfs -v", &imgs, &net(), "pxe-kit");
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        let missing = judge_exported(&[], "exportfs -v", &imgs, &net(), "pxe-kit");
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.fix[0].starts_with("exportfs -r"));
        let wide = parse_exports("/srv/nfs/terminal 10.0.0.0/24(ro) *(rw)\n");
        let f = judge_exported(&wide, "exportfs -v", &imgs, &net(), "pxe-kit");
        assert_eq!(f.status, Status::Warn, "{f:?}");
    }

    #[test]
    fn nfs_server_judged_by_unit_or_process_and_port() {
        let server: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let listen = parse_proc_net(
            "sl local rem st\n 0: 0100000A:0801 00000000:0000 0A 0\n",
            false,
        );
        let ganesha = Proc {
            pid: 42,
            comm: "ganesha.nfsd".into(),
            cmdline: vec!["ganesha.nfsd".into(), "-F".into()],
            here: true,
        };
        let ok = judge_nfs_server(
            "nfs-server.service",
            None,
            std::slice::from_ref(&ganesha),
            &listen,
            server,
        );
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        let unit = judge_nfs_server(
            "nfs-server.service",
            Some((true, "active".into())),
            &[],
            &listen,
            server,
        );
        assert_eq!(unit.status, Status::Ok);

        let elsewhere = Proc {
            here: false,
            ..ganesha
        };
        let f = judge_nfs_server("nfs-server.service", None, &[elsewhere], &[], server);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary.contains("no nfsd or ganesha.nfsd") && f.summary.contains("tcp/2049"),
            "{}",
            f.summary
        );
        assert!(f.fix[0].contains("ganesha.nfsd -f"), "{:?}", f.fix);
        let down = judge_nfs_server(
            "nfs-server.service",
            Some((false, "inactive".into())),
            &[],
            &listen,
            server,
        );
        assert_eq!(down.fix[0], "systemctl enable --now nfs-server.service");
    }

    #[test]
    fn nfs_firewall_ports_are_judged_like_the_boot_ports() {
        let ports: Vec<(&str, u16)> = NFS_OPENING
            .ports
            .iter()
            .map(|(p, n)| (*p, n.parse().unwrap()))
            .collect();
        let want = Want {
            ports: &ports,
            label: "NFS/mountd/rpcbind",
        };
        let fix =
            |p: &str, n: u16| format!("iptables -I INPUT -i ens4 -p {p} --dport {n} -j ACCEPT");
        let mut open = "-P INPUT DROP\n".to_string();
        for (p, n) in &ports {
            open += &format!("-A INPUT -i ens4 -p {p} -m {p} --dport {n} -j ACCEPT\n");
        }
        let f = judge_iptables_for(&open, "ens4", &want, &fix);
        assert_eq!(f.status, Status::Ok, "{f:?}");
        assert!(f.summary.contains("tcp/2049"), "{}", f.summary);
        let closed = open.replace(
            "-A INPUT -i ens4 -p tcp -m tcp --dport 2049 -j ACCEPT\n",
            "",
        );
        let f = judge_iptables_for(&closed, "ens4", &want, &fix);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.fix, [fix("tcp", 2049)]);
        let wide = open.replace(
            "-i ens4 -p tcp -m tcp --dport 2049",
            "-p tcp -m tcp --dport 2049",
        );
        let f = judge_iptables_for(&wide, "ens4", &want, &fix);
        assert_eq!(f.status, Status::Warn);
        assert!(
            f.summary.starts_with("NFS/mountd/rpcbind are open beyond"),
            "{}",
            f.summary
        );
    }
}
