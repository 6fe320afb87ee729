//! `lab storm --pair`: a failover pair under a boot storm. Two staged servers (the primary
//! 10.78.0.1 and the secondary 10.78.0.2, the same synthetic image on both), each served in a
//! namespace of its own behind its own link, a switch namespace joining them to the machines'
//! namespace. The storm starts once the pair reports normal operation; the primary's daemons
//! are killed (SIGKILL, every process in its namespace) in the middle, machines caught by it
//! power on again and must finish on the survivor. The report adds the recovery times, where
//! machines booted, and every address held for two machines, from the machines' view and
//! from both servers' lease files.
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::client::{ClientResult, Plan};
use super::report::{PairReport, Report};
use super::{check_neighbours, dhcp_setting, helper_address, settings, stage_synthetic};
use super::{collect_results, spawn_clients};
use super::{StormOpts, CLIENT_IF};
use crate::config::{DhcpServer, HaMode};
use crate::ctx::{Ctx, Options};
use crate::distro::Distro;
use crate::lab::boot::{split_serve, start_serve_as, WorkDir};
use crate::lab::netns::{self, Netns, PARTNER_PREFIX, SWITCH_PREFIX};
use crate::progress::Progress;
use crate::root::{Out, Root};
use crate::runner::{Cmd, Kind, Runner};
use crate::serve::supervise::{self, Supervisor};
use crate::track::Tracker;

/// The pair's addresses: the primary (killed mid-storm) and the secondary.
const PRIMARY: &str = "10.78.0.1";
const SECONDARY: &str = "10.78.0.2";
/// How long the pair may take to reach normal operation before the storm.
const FORM_WITHIN: Duration = Duration::from_secs(90);

#[derive(Debug, Clone)]
pub struct PairOpts {
    pub mode: HaMode,
    /// When the primary's daemons are killed.
    pub kill: KillAt,
}

/// When the primary dies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KillAt {
    /// Never: the pair's throughput alone.
    Never,
    /// A time after the first power-on.
    After(Duration),
    /// As the Nth machine starts its loader transfer from the primary (an event: that
    /// machine is then mid-boot on it, whatever the host's speed).
    Transfer(usize),
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Addresses two booted machines held at the same time, with their holders. A machine holds
/// its firmware's address from that ACK until its initramfs takes another one (the server
/// moved its lease: Kea's load balancing hashes the client identifier, which the firmware and
/// the initramfs send differently), and its last address from its ACK on. An address that
/// went from one machine to another after the first let it go is not held twice.
fn held_twice(rs: &[ClientResult]) -> Vec<(Ipv4Addr, Vec<&str>)> {
    let acked = |r: &ClientResult, stage: &str| {
        r.stages
            .iter()
            .find(|s| s.stage == stage)
            .map_or(r.boot_start, |s| r.boot_start + s.start + s.secs)
    };
    let mut spans: BTreeMap<Ipv4Addr, Vec<(&str, f64, f64)>> = BTreeMap::new();
    for r in rs.iter().filter(|r| r.booted.is_some()) {
        let last = r.ip2.or(r.ip);
        if let (Some(fw), Some(l)) = (r.ip, last) {
            if fw != l {
                spans.entry(fw).or_default().push((
                    &r.mac,
                    acked(r, "dhcp"),
                    acked(r, "dhcp-initramfs"),
                ));
            }
        }
        if let Some(l) = last {
            let from = if r.ip2.is_some() && r.ip2 != r.ip {
                acked(r, "dhcp-initramfs")
            } else {
                acked(r, "dhcp")
            };
            spans
                .entry(l)
                .or_default()
                .push((&r.mac, from, f64::INFINITY));
        }
    }
    spans
        .into_iter()
        .filter_map(|(ip, v)| {
            let mut who: BTreeSet<&str> = BTreeSet::new();
            for (i, a) in v.iter().enumerate() {
                for b in &v[i + 1..] {
                    if a.0 != b.0 && a.1 < b.2 && b.1 < a.2 {
                        who.extend([a.0, b.0]);
                    }
                }
            }
            (!who.is_empty()).then(|| (ip, who.into_iter().collect()))
        })
        .collect()
}

/// The pair's figures from the machines' results, the kill (the killed server's address and
/// the time, epoch seconds) and each server's active leases (address → MAC); the caller fills
/// in the mode, server, forming time and the kill's wording. Pure.
pub fn summarize(
    rs: &[ClientResult],
    killed: Option<(&str, f64)>,
    leases: &[(String, BTreeMap<Ipv4Addr, String>)],
) -> PairReport {
    let first = rs.iter().map(|r| r.start).reduce(f64::min).unwrap_or(0.0);
    let restarts = rs.iter().map(|r| r.restarts.len()).sum();
    let (mut hit, mut first_answer, mut recover) = (0, None::<f64>, None::<f64>);
    if let Some((_, k)) = killed {
        for r in rs.iter().filter(|r| r.restarts.iter().any(|x| x.at >= k)) {
            hit += 1;
            if let Some(d) = r.stages.iter().find(|s| s.stage == "dhcp") {
                let t = r.boot_start + d.start + d.secs - k;
                first_answer = Some(first_answer.map_or(t, |f| f.min(t)));
            }
            if let Some(b) = r.booted {
                let t = r.start + b - k;
                recover = Some(recover.map_or(t, |f| f.max(t)));
            }
        }
        // A machine it broke that never booted: no recovery.
        if rs
            .iter()
            .any(|r| r.booted.is_none() && r.restarts.iter().any(|x| x.at >= k))
        {
            recover = None;
        }
    }
    let mut booted_by = BTreeMap::new();
    for r in rs.iter().filter(|r| r.booted.is_some()) {
        let s = r.server.map(|s| s.to_string()).unwrap_or_default();
        *booted_by.entry(s).or_insert(0) += 1;
    }
    let duplicates = held_twice(rs)
        .into_iter()
        .map(|(ip, m)| format!("{ip} held by {}", m.join(", ")))
        .collect();
    let (conflicts, stale) = judge_conflicts(rs, killed.map(|(ip, _)| ip), leases);
    PairReport {
        mode: String::new(),
        dhcp_server: String::new(),
        formed_secs: 0.0,
        takeover_secs: None,
        killed: killed.map(|(who, _)| who.to_string()),
        killed_on: None,
        killed_at_secs: killed.map(|(_, k)| round3(k - first)),
        machines_hit: hit,
        restarts,
        first_answer_after_kill_secs: first_answer.map(round3),
        recover_secs: recover.map(round3),
        booted_by,
        duplicate_addresses: duplicates,
        lease_conflicts: conflicts,
        stale_on_killed: stale,
        active_leases: leases.iter().map(|(s, l)| (s.clone(), l.len())).collect(),
        doctor: BTreeMap::new(),
    }
}

/// The addresses both servers' lease files hold for different machines, split in two: real
/// conflicts, and records only the killed server (`killed`, its address) still holds for a
/// machine whose last lease is another address. The latter is what a crash leaves: the dead
/// server wrote the lease before the kill cut its answer (or the machine's boot) short, the
/// machine took another address from the survivor, and the survivor rightly handed the
/// address on. Pure.
fn judge_conflicts(
    rs: &[ClientResult],
    killed: Option<&str>,
    leases: &[(String, BTreeMap<Ipv4Addr, String>)],
) -> (Vec<String>, Vec<String>) {
    let last: BTreeMap<String, Ipv4Addr> = rs
        .iter()
        .filter_map(|r| Some((r.mac.to_ascii_lowercase(), r.ip2.or(r.ip)?)))
        .collect();
    let (mut real, mut stale) = (Vec::new(), Vec::new());
    for (ip, holders) in crate::pair::conflicts(leases) {
        let who: Vec<String> = holders.iter().map(|(s, m)| format!("{m} on {s}")).collect();
        let line = format!("{ip} leased to {}", who.join(" and "));
        let let_go = |(s, m): &(String, String)| {
            killed == Some(s.as_str()) && last.get(&m.to_ascii_lowercase()) != Some(&ip)
        };
        let live: BTreeSet<String> = holders
            .iter()
            .filter(|h| !let_go(h))
            .map(|(_, m)| m.to_ascii_lowercase())
            .collect();
        if live.len() > 1 {
            real.push(line);
        } else {
            stale.push(line);
        }
    }
    (real, stale)
}

/// One member of the pair: its namespace, root and context.
struct Member {
    name: &'static str,
    ip: &'static str,
    ns: Netns,
    ctx: Ctx,
}

/// The switch's bridge and its ports toward each namespace.
const SWITCH: &str = "pxk-sw0";
/// Each server's port, inside its namespace (its egress is the server's link).
const SERVER_PORT: &str = "pxk-sv0";

/// Puts a server's bridge (its address) in `ns`, wired to the switch in `sw` through
/// `sw_port`, with its link limited to `mbit` on its side.
fn wire_server(ns: &Netns, sw: &Netns, sw_port: &str, addr: &str, mbit: Option<u32>) -> Result<()> {
    let bridge = crate::lab::demo::BRIDGE;
    let s = |desc, args: &[&str]| ns.ip(desc, args).map(|_| ());
    s(
        "creating a server's bridge",
        &[
            "link",
            "add",
            bridge,
            "type",
            "bridge",
            "forward_delay",
            "0",
        ],
    )?;
    s(
        "giving the bridge its server address",
        &["addr", "add", addr, "dev", bridge],
    )?;
    s(
        "wiring the server to the switch",
        &[
            "link",
            "add",
            SERVER_PORT,
            "type",
            "veth",
            "peer",
            "name",
            sw_port,
            "netns",
            &sw.name,
        ],
    )?;
    s(
        "attaching the port to the bridge",
        &["link", "set", SERVER_PORT, "master", bridge],
    )?;
    for dev in [bridge, SERVER_PORT] {
        s("bringing up a server's side", &["link", "set", dev, "up"])?;
    }
    sw.ip(
        "attaching the server to the switch",
        &["link", "set", sw_port, "master", SWITCH],
    )?;
    sw.ip(
        "bringing up the switch port",
        &["link", "set", sw_port, "up"],
    )?;
    if let Some(mbit) = mbit {
        // As a single server's storm.
        super::limit_link(&ns.name, SERVER_PORT, mbit)?;
    }
    Ok(())
}

/// The pair's network: both servers and the machines on one switch.
fn network(
    a: &Netns,
    b: &Netns,
    clients: &Netns,
    sw: &Netns,
    helper: Ipv4Net,
    mbit: Option<u32>,
) -> Result<()> {
    sw.ip(
        "creating the switch",
        &[
            "link",
            "add",
            SWITCH,
            "type",
            "bridge",
            "forward_delay",
            "0",
        ],
    )?;
    sw.ip("bringing up the switch", &["link", "set", SWITCH, "up"])?;
    let prefix = helper.prefix_len();
    wire_server(a, sw, "pxk-swa", &format!("{PRIMARY}/{prefix}"), mbit)?;
    wire_server(b, sw, "pxk-swb", &format!("{SECONDARY}/{prefix}"), mbit)?;
    sw.ip(
        "wiring the machines to the switch",
        &[
            "link",
            "add",
            "pxk-swc",
            "type",
            "veth",
            "peer",
            "name",
            CLIENT_IF,
            "netns",
            &clients.name,
        ],
    )?;
    sw.ip(
        "attaching the machines to the switch",
        &["link", "set", "pxk-swc", "master", SWITCH],
    )?;
    sw.ip(
        "bringing up the machines' port",
        &["link", "set", "pxk-swc", "up"],
    )?;
    clients.ip(
        "giving the machines' side its helper address",
        &["addr", "add", &helper.to_string(), "dev", CLIENT_IF],
    )?;
    clients.ip(
        "bringing up the machines' side",
        &["link", "set", CLIENT_IF, "up"],
    )?;
    Ok(())
}

/// Whether a daemon line says its server reached the pair's normal operation.
fn says_normal(who: &str, text: &str) -> bool {
    match who {
        "dhcpd" => text.contains("I move from") && text.trim_end().ends_with("to normal"),
        "kea" => {
            text.contains("HA_STATE_TRANSITION")
                && (text.contains("to LOAD-BALANCING state")
                    || text.contains("to HOT-STANDBY state"))
        }
        _ => false,
    }
}

/// Whether a survivor's line says it now serves alone.
fn says_alone(who: &str, text: &str) -> bool {
    match who {
        "dhcpd" => {
            text.contains("I move from")
                && (text.contains("to communications-interrupted")
                    || text.contains("to partner-down"))
        }
        "kea" => text.contains("HA_STATE_TRANSITION") && text.contains("to PARTNER-DOWN state"),
        _ => false,
    }
}

/// `pxe-kit doctor` on a member, in its namespace: its pair checks, id → "status: summary".
fn doctor(m: &Member) -> Result<BTreeMap<String, String>> {
    let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
    let argv = m.ns.exec_argv(&[
        exe.display().to_string(),
        "--root".into(),
        m.ctx.root.base().display().to_string(),
        "--distro".into(),
        "debian".into(),
        "doctor".into(),
        "--json".into(),
    ]);
    let cmd = Cmd::new(
        Kind::Check,
        format!("running doctor on the {}", m.name),
        &argv,
    );
    let o = Runner::new(true, false, Default::default())
        .query(&cmd)?
        .context("doctor was not run")?;
    let j: serde_json::Value = serde_json::from_str(&o.stdout).with_context(|| {
        format!(
            "doctor on the {} printed no JSON: {}",
            m.name,
            o.stderr.trim()
        )
    })?;
    Ok(j["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["id"].as_str().is_some_and(|i| i.starts_with("pair.")))
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                format!(
                    "{}: {}",
                    c["status"].as_str().unwrap_or_default(),
                    c["summary"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect())
}

/// Each server's active leases (address → MAC) from its lease file under its root.
fn active_leases(m: &Member, dhcp: DhcpServer) -> Result<BTreeMap<Ipv4Addr, String>> {
    let cfg = m.ctx.require_config()?;
    let profile = m.ctx.profile(Some(&cfg));
    let root = &m.ctx.root;
    Ok(match dhcp {
        DhcpServer::Isc => {
            let text = root
                .read_string_opt(&profile.dhcp.leases)?
                .unwrap_or_default();
            crate::pair::parse_dhcpd_leases(&text)
                .0
                .into_values()
                .filter(|l| l.active())
                .map(|l| (l.address, l.mac))
                .collect()
        }
        DhcpServer::Kea => {
            let texts: Vec<String> = crate::kea::lease_files(&profile.dhcp.leases)
                .iter()
                .filter_map(|p| root.read_string_opt(p).ok().flatten())
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let now = epoch(SystemTime::now()) as u64;
            crate::kea::parse_leases(&refs)
                .into_values()
                .filter(|l| l.active(now))
                .map(|l| (l.address, l.hwaddr))
                .collect()
        }
    })
}

/// Both members, staged and wired, with what the storm needs.
struct Pair {
    // Fields drop in order: the machines, the switch (held only to be dropped), then the
    // servers.
    clients: Netns,
    _switch: Netns,
    b: Member,
    a: Member,
    dhcp: DhcpServer,
    plan: Plan,
}

/// Stages both servers with the same synthetic image and builds the pair's network.
fn stage(
    ctx_opts: &Options,
    o: &StormOpts,
    p: &PairOpts,
    work: &WorkDir,
    out: Out,
) -> Result<Pair> {
    let dhcp_line = dhcp_setting(o);
    let peers = |partner: &str, role: &str| {
        format!(
            "peers:\n  partner: {partner}\n  role: {role}\n  mode: {}\n{dhcp_line}",
            p.mode.key()
        )
    };
    let ctx = |dir: &str, ip: &str, partner: &str, role: &str| -> Result<Ctx> {
        let settings = settings(ip, &peers(partner, role));
        let root = stage_synthetic(work.path(), dir, &settings, o.sizes_mib, out)?;
        Ctx::new(&Options {
            root,
            distro: ctx_opts.distro.or(Some(Distro::Debian)),
            ..ctx_opts.clone()
        })
    };
    let ctx_a = ctx("root-a", PRIMARY, SECONDARY, "primary")?;
    let ctx_b = ctx("root-b", SECONDARY, PRIMARY, "secondary")?;
    let cfg = ctx_a.require_config()?;
    let dhcp = ctx_a.profile(Some(&cfg)).dhcp.server;
    let helper = helper_address(&cfg)?;
    let plan: Plan = super::plan(&ctx_a, o, helper)?;
    supervise::install_stop_handler()?;
    let runner = || Runner::new(true, false, Default::default());
    let a = Member {
        name: "primary",
        ip: PRIMARY,
        ns: Netns::empty(runner(), false)?,
        ctx: ctx_a,
    };
    let b = Member {
        name: "secondary",
        ip: SECONDARY,
        ns: Netns::empty_as(runner(), PARTNER_PREFIX)?,
        ctx: ctx_b,
    };
    let sw = Netns::empty_as(runner(), SWITCH_PREFIX)?;
    let clients = Netns::empty(runner(), true)?;
    network(&a.ns, &b.ns, &clients, &sw, helper, o.link_mbit)?;
    Ok(Pair {
        a,
        b,
        dhcp,
        plan,
        clients,
        _switch: sw,
    })
}

/// Every daemon line of the storm: fed to the tracker and written to storm.log, tagged with
/// its server.
struct Logbook {
    tracker: Tracker,
    log: Option<std::fs::File>,
}

impl Logbook {
    fn keep(&mut self, server: &str, who: &str, text: &str) -> Option<crate::track::Seen> {
        let at = SystemTime::now();
        if let Some(f) = self.log.as_mut() {
            let tag = format!("{server}/{who}");
            let _ = std::io::Write::write_all(
                f,
                crate::status::serve_log_line(at, &tag, text).as_bytes(),
            );
        }
        self.tracker.feed(who, text, at)
    }
}

/// Which member a supervised process belongs to, from its name (`serve-NAME…`).
fn server_of(who: &str) -> &'static str {
    if who.ends_with("secondary") {
        "secondary"
    } else {
        "primary"
    }
}

/// Starts both servers and waits for the pair's normal operation; the seconds it took.
fn form(pair: &Pair, sup: &mut Supervisor, book: &mut Logbook, work: &WorkDir) -> Result<f64> {
    let formed_from = Instant::now();
    let mut normal = BTreeSet::new();
    for m in [&pair.a, &pair.b] {
        let name = format!("serve-{}", m.name);
        start_serve_as(
            &m.ctx,
            &m.ns,
            sup,
            &work.path().join(&name),
            &name,
            &mut |tagged, text| {
                // `serve-NAME|daemon`: which server said it.
                let (spec, who) = tagged.split_once('|').unwrap_or(("", tagged));
                let server = server_of(spec);
                if says_normal(who, text) {
                    normal.insert(server);
                }
                book.keep(server, who, text);
            },
        )?;
    }
    while normal.len() < 2 {
        if supervise::stop_requested() {
            bail!("interrupted; the storm was cleaned up");
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            let server = server_of(&l.who);
            let (who, text) = split_serve(&l);
            if says_normal(&who, &text) {
                normal.insert(server);
            }
            book.keep(server, &who, &text);
        }
        if let Some((who, st)) = sup.reap() {
            bail!(
                "{who} {} while the pair formed: {}",
                crate::serve::describe(&st),
                sup.tail(&who).join(" | ")
            );
        }
        if formed_from.elapsed() > FORM_WITHIN {
            bail!(
                "the pair did not reach normal operation within {} s (normal: {:?}); see storm.log with --keep",
                FORM_WITHIN.as_secs(),
                normal
            );
        }
    }
    Ok(formed_from.elapsed().as_secs_f64())
}

/// What the storm saw of the kill: when (epoch seconds), what set it off, and when the
/// survivor said it serves alone (seconds after the kill).
struct KillSeen {
    at: Option<f64>,
    trigger: Option<String>,
    takeover: Option<f64>,
}

/// Powers the machines on and kills the primary when `p.kill` says: after a time, or as the
/// Nth machine starts its loader transfer from it. The transfer is an event, not a clock: at
/// that moment that machine is provably mid-boot on the primary (its kernel, initramfs and
/// root are still to come from it), however fast this host runs.
fn storm_and_kill(
    pair: &Pair,
    o: &StormOpts,
    p: &PairOpts,
    sup: &mut Supervisor,
    book: &mut Logbook,
    pb: &Progress,
    wr: &Root,
) -> Result<(std::process::ExitStatus, std::path::PathBuf, KillSeen)> {
    let results_file = spawn_clients(sup, wr, &pair.clients, &pair.plan)?;
    pb.set_message(format!(
        "{} machines powering on at {}/s",
        o.clients, o.rate
    ));
    let started = Instant::now();
    // Read by the kill (tick), the line handler and the exit check at once.
    let killed_at: Cell<Option<f64>> = Cell::new(None);
    // The machines whose loader transfer started from the primary.
    let loading: RefCell<BTreeSet<Ipv4Addr>> = RefCell::new(BTreeSet::new());
    let mut trigger = None;
    let mut takeover: Option<f64> = None;
    let serve_a = format!("serve-{}", pair.a.name);
    let a = &pair.a;
    let ended = super::until_machines_end(
        sup,
        pb,
        o.timeout,
        || {
            if killed_at.get().is_some() {
                return Ok(());
            }
            let why = match p.kill {
                KillAt::Never => None,
                KillAt::After(k) => (started.elapsed() >= k)
                    .then(|| format!("{:.1} s after the first power-on", k.as_secs_f64())),
                KillAt::Transfer(n) => (loading.borrow().len() >= n).then(|| {
                    format!(
                        "as machine {n} started its loader transfer from the {}",
                        a.name
                    )
                }),
            };
            let Some(why) = why else { return Ok(()) };
            // The primary dies: every process of its namespace at once, no goodbye to its
            // partner (a crash or a power cut, not a shutdown). Its time is taken before the
            // first signal: the survivor may see the partner gone before the last one is sent.
            let at = epoch(SystemTime::now());
            let runner = Runner::new(true, false, Default::default());
            for pid in netns::pids(&runner, &a.ns.name)? {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            killed_at.set(Some(at));
            // On stderr: with --json, stdout is the report alone.
            pb.eprintln(format!(
                "killed the {} ({}) {:.1} s into the storm, {why}",
                a.name,
                a.ip,
                started.elapsed().as_secs_f64()
            ));
            trigger = Some(why);
            Ok(())
        },
        |l, who, text| {
            let server = server_of(&l.who);
            if let Some(k) = killed_at.get() {
                if takeover.is_none() && server == pair.b.name && says_alone(who, text) {
                    takeover = Some(epoch(l.at) - k);
                }
            }
            let seen = book.keep(server, who, text);
            // An RRQ from the primary: that machine's loader transfer started there (a set:
            // each machine counts once, whatever it fetches next).
            if let Some(crate::track::What::Tftp { ip, .. }) = seen.map(|s| s.what) {
                if server == a.name && killed_at.get().is_none() {
                    loading.borrow_mut().insert(ip);
                }
            }
        },
        |who| who == serve_a && killed_at.get().is_some(),
    )?;
    let kill = KillSeen {
        at: killed_at.get(),
        trigger,
        takeover,
    };
    Ok((ended, results_file, kill))
}

/// Stages both servers, forms the pair, storms it, kills the primary mid-storm, reports.
pub fn run(
    ctx_opts: &Options,
    o: &StormOpts,
    p: &PairOpts,
    work: &WorkDir,
    out: Out,
) -> Result<Report> {
    check_neighbours(o.clients)?;
    let pb = Progress::spinner(
        out,
        "staging two boot servers with the same synthetic image",
    );
    let pair = stage(ctx_opts, o, p, work, out)?;
    let mut sup = Supervisor::new();
    let wr = Root::new(work.path(), false, Out::default())?;
    let mut book = Logbook {
        tracker: Tracker::new(),
        log: wr.append(Path::new("/storm.log"))?,
    };
    pb.set_message("starting both servers and forming the pair (pxe-kit serve)");
    let formed_secs = form(&pair, &mut sup, &mut book, work)?;
    pb.set_message("doctor on both members");
    let mut doctors = BTreeMap::new();
    for m in [&pair.a, &pair.b] {
        doctors.insert(format!("{} (formed)", m.name), doctor(m)?);
    }
    let (ended, results_file, kill) = storm_and_kill(&pair, o, p, &mut sup, &mut book, &pb, &wr)?;
    if kill.at.is_some() {
        let b = &pair.b;
        doctors.insert(format!("{} (after the kill)", b.name), doctor(b)?);
    }
    let results = collect_results(ended, &mut sup, &results_file)?;
    drop(sup);
    let leases = vec![
        (pair.a.ip.to_string(), active_leases(&pair.a, pair.dhcp)?),
        (pair.b.ip.to_string(), active_leases(&pair.b, pair.dhcp)?),
    ];
    pb.finish();
    let mut report = Report::new(o, &pair.plan, &results, &book.tracker);
    report.pair = Some(PairReport {
        mode: p.mode.key().into(),
        dhcp_server: pair.dhcp.name().into(),
        formed_secs: round3(formed_secs),
        takeover_secs: kill.takeover.map(round3),
        killed: kill.at.map(|_| format!("{} ({})", pair.a.name, pair.a.ip)),
        killed_on: kill.trigger,
        doctor: doctors,
        ..summarize(&results, kill.at.map(|k| (pair.a.ip, k)), &leases)
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::storm::client::{Restart, StageTime};

    fn machine(mac: &str, ip: &str, restarts: &[f64], booted: Option<f64>) -> ClientResult {
        ClientResult {
            mac: mac.into(),
            uefi: false,
            start: 100.0,
            boot_start: restarts.last().map_or(100.0, |r| r + 1.0),
            stages: vec![StageTime {
                stage: "dhcp".into(),
                start: 0.0,
                secs: 2.0,
                bytes: 0,
            }],
            ip: Some(ip.parse().unwrap()),
            ip2: Some(ip.parse().unwrap()),
            discovers: 1,
            booted,
            failed_at: None,
            error: None,
            server: Some(SECONDARY.parse().unwrap()),
            restarts: restarts
                .iter()
                .map(|at| Restart {
                    at: *at,
                    server: Some(PRIMARY.parse().unwrap()),
                    failed_at: "loader".into(),
                    error: "TFTP timeout".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn recovery_counts_the_machines_the_kill_broke() {
        let rs = vec![
            machine("m1", "10.78.0.100", &[], Some(5.0)),
            machine("m2", "10.78.0.101", &[110.0], Some(20.0)),
            machine("m3", "10.78.0.102", &[112.0], Some(30.0)),
        ];
        let r = summarize(&rs, Some((PRIMARY, 108.0)), &[]);
        assert_eq!(r.killed_at_secs, Some(8.0));
        assert_eq!((r.machines_hit, r.restarts), (2, 2));
        // m2 powered on again at 111 and had its answer 2 s later: 5 s after the kill.
        assert_eq!(r.first_answer_after_kill_secs, Some(5.0));
        // m3 reached its root at 130: 22 s after the kill.
        assert_eq!(r.recover_secs, Some(22.0));
        assert_eq!(r.booted_by[SECONDARY], 3);
        assert!(r.duplicate_addresses.is_empty() && r.lease_conflicts.is_empty());
        let twice = vec![
            machine("m1", "10.78.0.100", &[], Some(5.0)),
            machine("m2", "10.78.0.100", &[], Some(6.0)),
        ];
        assert_eq!(summarize(&twice, None, &[]).duplicate_addresses.len(), 1);
        // m1's firmware took .100, its initramfs .200 (the server moved its lease at 104);
        // m2 got .100 at 109: not held twice. m3 got .200 while m1 held it: held twice.
        let mut m1 = machine("m1", "10.78.0.100", &[], Some(5.0));
        m1.ip2 = Some("10.78.0.200".parse().unwrap());
        m1.stages.push(StageTime {
            stage: "dhcp-initramfs".into(),
            start: 3.0,
            secs: 1.0,
            bytes: 0,
        });
        let m2 = machine("m2", "10.78.0.100", &[108.0], Some(12.0));
        assert!(summarize(&[m1.clone(), m2], None, &[])
            .duplicate_addresses
            .is_empty());
        let m3 = machine("m3", "10.78.0.200", &[108.0], Some(12.0));
        assert_eq!(
            summarize(&[m1, m3], None, &[]).duplicate_addresses,
            ["10.78.0.200 held by m1, m3"]
        );
        let unbooted = vec![machine("m2", "10.78.0.101", &[110.0], None)];
        assert_eq!(
            summarize(&unbooted, Some((PRIMARY, 108.0)), &[]).recover_secs,
            None
        );
    }

    #[test]
    fn a_record_only_the_dead_server_keeps_is_stale_not_a_conflict() {
        let leases = |l: &[(&str, &str)]| -> BTreeMap<Ipv4Addr, String> {
            l.iter()
                .map(|(ip, m)| (ip.parse().unwrap(), m.to_string()))
                .collect()
        };
        let both = vec![
            (
                PRIMARY.to_string(),
                leases(&[("10.78.0.115", "52:54:01:00:00:13")]),
            ),
            (
                SECONDARY.to_string(),
                leases(&[("10.78.0.115", "52:54:01:00:00:15")]),
            ),
        ];
        let line = "10.78.0.115 leased to 52:54:01:00:00:13 on 10.78.0.1 and 52:54:01:00:00:15 on 10.78.0.2";
        // m13 was caught by the kill and went on to .120 from the survivor, which handed
        // .115 to m15: the dead primary's record is stale.
        let m13 = machine("52:54:01:00:00:13", "10.78.0.120", &[110.0], Some(20.0));
        let m15 = machine("52:54:01:00:00:15", "10.78.0.115", &[], Some(20.0));
        let (real, stale) = judge_conflicts(&[m13.clone(), m15.clone()], Some(PRIMARY), &both);
        assert!(real.is_empty(), "{real:?}");
        assert_eq!(stale, [line]);
        // m13 still holds .115: both machines have it, a double allocation.
        let m13_holds = machine("52:54:01:00:00:13", "10.78.0.115", &[], Some(20.0));
        let (real, stale) = judge_conflicts(&[m13_holds, m15.clone()], Some(PRIMARY), &both);
        assert_eq!((real.as_slice(), stale.len()), (&[line.to_string()][..], 0));
        // No server was killed: two live servers disagreeing is a conflict.
        let (real, _) = judge_conflicts(&[m13, m15], None, &both);
        assert_eq!(real, [line]);
    }
}
