//! `lab storm`: hundreds of machines powering on at once against a served boot server, in the
//! lab's private network: the server side (its bridge, `pxe-kit serve`, optionally a link
//! limited with tc tbf) in one namespace, the simulated machines (`client`) in another, joined
//! by a veth pair. Nothing crosses to the host's interfaces. The report gives each stage's
//! percentiles and failures, DHCP answers, leases per machine (the machines' view and the
//! server's, through the same tracker as `status`), the time until all booted and the ratio
//! to the physical floor (bytes moved ÷ link rate).
pub mod client;
pub mod pair;
pub mod report;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;

use crate::config::Transfer;
use crate::ctx::{Ctx, Options};
use crate::distro::{Distro, Profile};
use crate::image;
use crate::lab::boot::{split_serve, start_serve, WorkDir};
use crate::lab::demo::{preflight, pxe_kit, stage_server, Needs};
use crate::lab::netns::Netns;
use crate::progress::Progress;
use crate::root::{Out, Root};
use crate::runner::{Cmd, Kind, Runner};
use crate::serve::supervise::{self, Line, Spec, Supervisor};
use crate::track::Tracker;
use crate::Exit;
use client::{ClientResult, Plan};
use report::Report;

/// The most machines one storm simulates, and the longest it may run: a storm is a load
/// test, bounded in count and time.
pub const MAX_CLIENTS: u32 = 2000;
pub const MAX_SECS: u64 = 1800;

/// What the storm needs on this host besides root.
const NEEDS: Needs = &[
    ("isc-dhcp-server", "dhcpd"),
    ("tftpd-hpa", "in.tftpd"),
    ("apache2", "apache2"),
    ("iproute2", "ip"),
    ("iproute2", "tc"),
    ("pxelinux", "/usr/lib/PXELINUX/pxelinux.0"),
    (
        "syslinux-common",
        "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    ),
];

/// The client side's end of the veth pair, and the server side's.
const CLIENT_IF: &str = "pxk-cl0";
const SERVER_IF: &str = "pxk-sv0";

#[derive(Debug, Clone)]
pub struct StormOpts {
    pub clients: u32,
    /// Machines powered on per second.
    pub rate: f64,
    /// The server's link, in Mbit/s (tc tbf on its side of the veth pair).
    pub link_mbit: Option<u32>,
    /// The image to boot (a staged root's); the menu default else.
    pub image: Option<String>,
    pub uefi_percent: u32,
    /// Sizes of the synthetic image (kernel, initramfs, root), in MiB.
    pub sizes_mib: [u32; 3],
    pub timeout: Duration,
    pub json: bool,
    pub keep: bool,
    /// The synthetic server's DHCP server [default: the release's].
    pub dhcp: Option<crate::config::DhcpServer>,
    /// Two servers, a failover pair, one of them killed mid-storm.
    pub pair: Option<pair::PairOpts>,
}

impl StormOpts {
    /// Refuses what is out of bounds before anything is created.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_CLIENTS).contains(&self.clients) {
            bail!(
                "--clients {} is out of range; give 1 to {MAX_CLIENTS}",
                self.clients
            );
        }
        if !(0.1..=2000.0).contains(&self.rate) {
            bail!(
                "--rate {} is out of range; give 0.1 to 2000 machines per second",
                self.rate
            );
        }
        if let Some(l) = self.link_mbit {
            if !(1..=100_000).contains(&l) {
                bail!("--link {l} is out of range; give 1 to 100000 Mbit/s");
            }
        }
        if self.uefi_percent > 100 {
            bail!("--uefi {} is not a percentage", self.uefi_percent);
        }
        if self.sizes_mib.iter().any(|s| !(1..=1024).contains(s)) {
            bail!("--sizes takes three sizes in MiB, 1 to 1024 each (kernel,initrd,root)");
        }
        if self.timeout > Duration::from_secs(MAX_SECS) || self.timeout.is_zero() {
            bail!("--timeout must be 1 to {MAX_SECS} seconds");
        }
        if let Some(p) = &self.pair {
            if matches!(p.kill, pair::KillAt::After(k) if k >= self.timeout) {
                bail!("--kill-after must be shorter than --timeout");
            }
            // Otherwise the primary would never die and the storm would prove no takeover.
            if matches!(p.kill, pair::KillAt::Transfer(n) if n > self.clients as usize) {
                bail!(
                    "--kill-at-transfer must be at most --clients ({})",
                    self.clients
                );
            }
        }
        Ok(())
    }
}

/// The synthetic server's settings: a /21, so up to 2000 machines fit the pool (and the
/// subnet needs the neighbour-table settings init writes for large subnets). `extra` adds
/// top-level settings (a pair's `peers:`, the DHCP server).
fn settings(server_ip: &str, extra: &str) -> String {
    format!(
        "# pxe-kit lab storm settings.\n\
         interface: {}\n\
         server_ip: {server_ip}\n\
         subnet: 10.78.0.0/21\n\
         range: 10.78.0.100-10.78.7.250\n\
         boot:\n  timeout: 10\n  default: local\n{extra}",
        crate::lab::demo::BRIDGE
    )
}

/// The DHCP server line of the synthetic settings.
fn dhcp_setting(o: &StormOpts) -> String {
    o.dhcp
        .map(|d| format!("dhcp:\n  server: {}\n", d.key()))
        .unwrap_or_default()
}

/// Runs a storm: against the staged server of `opts.root` (not `/`), or against a synthetic
/// one staged for it.
pub fn run(ctx_opts: &Options, o: &StormOpts, out: Out) -> Result<Exit> {
    o.check()?;
    preflight("lab storm", &[NEEDS])?;
    let mut work = WorkDir::new("pxe-kit-storm.")?;
    if let Some(p) = &o.pair {
        if ctx_opts.root != Path::new("/") {
            bail!("--pair stages its own two servers; leave out --root");
        }
        let result = pair::run(ctx_opts, o, p, &work, out);
        return finish(o, &mut work, result);
    }
    let root = if ctx_opts.root == Path::new("/") {
        let pb = Progress::spinner(out, "staging a boot server with a synthetic image");
        let root = stage_synthetic(
            work.path(),
            "root",
            &settings("10.78.0.1", &dhcp_setting(o)),
            o.sizes_mib,
            out,
        )?;
        pb.finish();
        root
    } else {
        ctx_opts.root.clone()
    };
    let ctx = Ctx::new(&Options {
        root: root.clone(),
        distro: ctx_opts.distro.or(Some(Distro::Debian)),
        ..ctx_opts.clone()
    })?;
    let result = storm(&ctx, o, &work, out);
    finish(o, &mut work, result)
}

/// Keeps the work directory if asked, prints the report, and the exit code: every machine
/// booted (and, for a pair, no address handed to two machines).
fn finish(o: &StormOpts, work: &mut WorkDir, result: Result<Report>) -> Result<Exit> {
    if o.keep {
        work.keep();
        // On stderr: with --json, stdout is the report alone.
        eprintln!(
            "lab storm: kept {} (root/ is the served root: `pxe-kit --root {}/root status`)",
            work.path().display(),
            work.path().display()
        );
    }
    let report = result?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    let clean = report
        .pair
        .as_ref()
        .is_none_or(|p| p.duplicate_addresses.is_empty() && p.lease_conflicts.is_empty());
    Ok(if report.failed == 0 && clean {
        Exit::Ok
    } else {
        Exit::Problems
    })
}

/// A Debian server staged in `work/NAME` with `settings` and image `storm`: a fake bzImage,
/// an initramfs and a root image of the given sizes (their bytes only travel, nothing boots
/// them; the same bytes every time, so a pair's two servers hold the same image).
fn stage_synthetic(
    work: &Path,
    name: &str,
    settings: &str,
    sizes: [u32; 3],
    out: Out,
) -> Result<PathBuf> {
    let root = work.join(name);
    stage_server(&root, settings)?;
    let runner = Runner::new(true, false, out);
    pxe_kit(&runner, &root, "staging the storm's server", &["init"])?;
    let files = Root::new(work, false, Out::default())?;
    let kernel = Path::new("/image/vmlinuz");
    let initrd = Path::new("/image/initrd.img");
    let rootfs = Path::new("/image/root.squashfs");
    let mut k = vec![0u8; 0x1000];
    k[0x202..0x206].copy_from_slice(b"HdrS");
    k[0x20E..0x210].copy_from_slice(&0x400u16.to_le_bytes());
    k[0x600..0x600 + 13].copy_from_slice(b"6.1.0-storm\0\0");
    files.write(kernel, &filled(k, sizes[0], 1), 0o644)?;
    files.write(initrd, &filled(Vec::new(), sizes[1], 2), 0o644)?;
    files.write(rootfs, &filled(b"hsqs".to_vec(), sizes[2], 3), 0o644)?;
    let p = |f: &Path| files.path(f).display().to_string();
    let (k, i, r) = (p(kernel), p(initrd), p(rootfs));
    pxe_kit(
        &runner,
        &root,
        "adding the storm's image",
        &[
            "add-image",
            "--kernel",
            &k,
            "--initrd",
            &i,
            "--rootfs",
            &r,
            "--name",
            "storm",
            "--default",
        ],
    )?;
    Ok(root)
}

/// `head` followed by pseudo-random bytes up to `mib` MiB (incompressible, like real images).
fn filled(mut head: Vec<u8>, mib: u32, seed: u64) -> Vec<u8> {
    let len = (mib as usize) << 20;
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    head.reserve(len.saturating_sub(head.len()));
    while head.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        head.extend_from_slice(&x.to_le_bytes());
    }
    head.truncate(len);
    head
}

/// The storm's network: the server's namespace (its bridge carrying the server address, the
/// server end of a veth pair in it) and the machines' namespace (the other end, with a helper
/// address).
struct Network {
    /// Dropped last: the client side first, then the server side.
    client: Netns,
    server: Netns,
}

fn network(
    profile_cfg: &crate::config::Config,
    helper: Ipv4Net,
    link: Option<u32>,
) -> Result<Network> {
    let runner = || Runner::new(true, false, Default::default());
    let server = Netns::empty(runner(), false)?;
    let client = Netns::empty(runner(), true)?;
    let bridge = profile_cfg.interface.as_str();
    let addr = format!(
        "{}/{}",
        profile_cfg.server_ip,
        profile_cfg.subnet.prefix_len()
    );
    let s = |desc, args: &[&str]| server.ip(desc, args).map(|_| ());
    s(
        "creating the storm's bridge",
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
        "giving the bridge the server address",
        &["addr", "add", &addr, "dev", bridge],
    )?;
    s(
        "creating the storm's link",
        &[
            "link",
            "add",
            SERVER_IF,
            "type",
            "veth",
            "peer",
            "name",
            CLIENT_IF,
            "netns",
            &client.name,
        ],
    )?;
    s(
        "attaching the link to the bridge",
        &["link", "set", SERVER_IF, "master", bridge],
    )?;
    for dev in [bridge, SERVER_IF] {
        s("bringing up the server side", &["link", "set", dev, "up"])?;
    }
    let c = |desc, args: &[&str]| client.ip(desc, args).map(|_| ());
    c(
        "giving the machines' side its helper address",
        &["addr", "add", &helper.to_string(), "dev", CLIENT_IF],
    )?;
    c(
        "bringing up the machines' side",
        &["link", "set", CLIENT_IF, "up"],
    )?;
    if let Some(mbit) = link {
        limit_link(&server.name, SERVER_IF, mbit)?;
    }
    Ok(Network { client, server })
}

/// Limits what the server can send on `dev` (in namespace `ns`) to a link of `mbit` Mbit/s:
/// a token bucket on the server's egress, so what the server sends is what a link of that
/// speed carries. Burst: a tenth of a millisecond's worth, at least one 64 KiB GSO packet; at
/// most 20 ms queued, a switch port's shallow buffer (a deep one would hold every lock-step
/// TFTP block behind a long queue of bulk HTTP). Not HTB with a class for UDP (this kernel
/// has no fq_codel, sfq or prio to do what a server's fq_codel does): measured here it moved
/// HTTP at 1.18x its floor where tbf moves it at 1.07x, and slowed TFTP.
pub(super) fn limit_link(ns: &str, dev: &str, mbit: u32) -> Result<()> {
    let burst = (u64::from(mbit) * 1_000_000 / 8 / 10_000)
        .max(64 * 1024)
        .to_string();
    let rate = format!("{mbit}mbit");
    Runner::new(true, false, Default::default())
        .must(&Cmd::new(
            Kind::Check,
            "limiting the server's link",
            &[
                "tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", &rate, "burst",
                &burst, "latency", "20ms",
            ],
        ))
        .map(|_| ())
}

/// Every simulated machine takes a neighbour entry on the server's side, in the kernel's one
/// table (gc_thresh3 entries at most, for all namespaces): past it, ARP entries are dropped
/// and the storm would measure this host, not the server. init raises the limit on servers
/// whose subnet needs it; the storm does not change the host's kernel.
fn check_neighbours(clients: u32) -> Result<()> {
    let path = "/proc/sys/net/ipv4/neigh/default/gc_thresh3";
    let limit: u32 = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    // Room for the host's own neighbours besides the storm's.
    if clients + 64 > limit {
        bail!(
            "--clients {clients} needs more neighbour entries than this host's kernel keeps ({path} is {limit}); raise it (sysctl -w net.ipv4.neigh.default.gc_thresh3={}) or storm with at most {} machines",
            clients * 4,
            limit.saturating_sub(64)
        );
    }
    Ok(())
}

/// An address for the machines' side that nothing else may take: not the server's, the
/// router's, in the pool or a fixed host's.
fn helper_address(cfg: &crate::config::Config) -> Result<Ipv4Net> {
    let net = cfg.subnet;
    let taken = |ip: Ipv4Addr| {
        ip == cfg.server_ip
            || cfg.peers.as_ref().is_some_and(|p| p.partner == ip)
            || Some(ip) == cfg.router
            || cfg.range.contains(ip)
            || cfg.hosts.iter().any(|h| h.ip == Some(ip))
    };
    let ip = net
        .hosts()
        .find(|ip| !taken(*ip))
        .with_context(|| format!("{net} has no free address outside the pool for the storm's machines' side; widen the subnet"))?;
    Ok(Ipv4Net::new(ip, net.prefix_len()).expect("prefix from a valid subnet"))
}

/// What the machines fetch, from the server's own settings and profile.
fn plan(ctx: &Ctx, o: &StormOpts, helper: Ipv4Net) -> Result<Plan> {
    let cfg = ctx.require_config()?;
    let profile: Profile = ctx.profile(Some(&cfg));
    let images = image::load_all(&ctx.root)?;
    let name = o.image.clone().unwrap_or_else(|| cfg.boot.default.clone());
    let Some(m) = images.iter().find(|m| m.name == name) else {
        bail!(
            "no image {name:?} to boot; pass --image NAME (one of: {})",
            image::names(&images)
        );
    };
    if m.nfs_export.is_some() {
        bail!("image {name} has an NFS root; the storm fetches live images over HTTP: pass --image with a live image");
    }
    let entry = image::boot_entries(&cfg, &profile, &images)
        .into_iter()
        .find(|e| e.label == name)
        .expect("every image has an entry");
    let root_url = entry
        .args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("root=live:"))
        .context("the image's kernel arguments name no root=live: URL")?
        .to_string();
    let over = |rel: &str| match cfg.boot.transfer {
        Transfer::Http => format!(
            "http://{}{}/{rel}",
            cfg.server_ip,
            crate::render::TFTP_URL_PREFIX
        ),
        Transfer::Tftp => rel.to_string(),
    };
    // The same for both UEFI loaders: what the boot file loads from its own directory (shim:
    // GRUB and, where it is a module (Debian), http; syslinux.efi: its modules), then its menu.
    let uefi_files = profile
        .efi
        .files
        .iter()
        .map(|(n, _)| n.to_string())
        .filter(|n| n != profile.efi.boot_file)
        .chain(profile.efi.config.iter().map(|c| c.to_string()))
        .collect();
    Ok(Plan {
        interface: CLIENT_IF.into(),
        helper,
        server: cfg.server_ip,
        clients: o.clients,
        rate: o.rate,
        uefi_percent: o.uefi_percent,
        mac_prefix: [0x52, 0x54, 0x01],
        bios_files: vec!["ldlinux.c32".into()],
        bios_menu: "pxelinux.cfg/default".into(),
        bios_modules: ["menu.c32", "libutil.c32", "libcom32.c32"]
            .map(String::from)
            .to_vec(),
        uefi_files,
        kernel: over(&entry.kernel),
        initrd: over(&entry.initrd),
        root_url,
        deadline_secs: o.timeout.as_secs_f64(),
        reboot_on_failure: o.pair.is_some(),
    })
}

/// Serves the root in the storm's network, powers the machines on and reports.
fn storm(ctx: &Ctx, o: &StormOpts, work: &WorkDir, out: Out) -> Result<Report> {
    let cfg = ctx.require_config()?;
    check_neighbours(o.clients)?;
    let helper = helper_address(&cfg)?;
    let plan = plan(ctx, o, helper)?;
    supervise::install_stop_handler()?;
    let pb = Progress::spinner(out, "creating the storm's network");
    let net = network(&cfg, helper, o.link_mbit)?;
    // The neighbour (ARP) table is the kernel's, shared by every namespace: the storm leaves
    // the host's settings alone and refuses to overflow them (see `check_neighbours`).
    let mut sup = Supervisor::new();
    let mut tracker = Tracker::new();
    let wr = Root::new(work.path(), false, Out::default())?;
    let mut log = wr.append(Path::new("/storm.log"))?;
    let mut keep = |who: &str, text: &str, tracker: &mut Tracker| {
        let at = SystemTime::now();
        tracker.feed(who, text, at);
        if let Some(f) = log.as_mut() {
            let _ = std::io::Write::write_all(
                f,
                crate::status::serve_log_line(at, who, text).as_bytes(),
            );
        }
    };
    pb.set_message("starting the daemons (pxe-kit serve)");
    start_serve(
        ctx,
        &net.server,
        &mut sup,
        &work.path().join("serve"),
        &mut |who, text| keep(who, text, &mut tracker),
    )?;
    let results_file = spawn_clients(&mut sup, &wr, &net.client, &plan)?;
    pb.set_message(format!(
        "{} machines powering on at {}/s",
        o.clients, o.rate
    ));
    let ended = until_machines_end(
        &mut sup,
        &pb,
        o.timeout,
        || Ok(()),
        |_, who, text| keep(who, text, &mut tracker),
        |_| false,
    )?;
    let results = collect_results(ended, &mut sup, &results_file)?;
    drop(sup);
    drop(net);
    pb.finish();
    Ok(Report::new(o, &plan, &results, &tracker))
}

/// Runs a storm until the simulated machines end, then takes what the daemons still said (the
/// final fetches' access-log lines count). Every line goes to `on_line` with its daemon and
/// text; the machines' progress is echoed on stderr (with `--json` stdout is the report
/// alone). `tick` runs each turn (the pair kills its primary there). A daemon that exits ends
/// the storm with its last words unless `may_exit` says it was meant to. Bounded: the machines
/// give up at `timeout`, the simulator gets 30 s more to report.
pub(super) fn until_machines_end(
    sup: &mut Supervisor,
    pb: &Progress,
    timeout: Duration,
    mut tick: impl FnMut() -> Result<()>,
    mut on_line: impl FnMut(&Line, &str, &str),
    may_exit: impl Fn(&str) -> bool,
) -> Result<std::process::ExitStatus> {
    let started = Instant::now();
    let limit = timeout + Duration::from_secs(30);
    let ended = loop {
        if supervise::stop_requested() {
            bail!("interrupted; the storm was cleaned up");
        }
        tick()?;
        if let Some(l) = sup.recv(Duration::from_millis(100)) {
            let (who, text) = split_serve(&l);
            if who == "clients" {
                pb.eprintln(format!("clients| {text}"));
            }
            on_line(&l, &who, &text);
        }
        if let Some((who, st)) = sup.reap() {
            if who == "clients" {
                break st;
            }
            if !may_exit(&who) {
                bail!(
                    "{who} {} during the storm: {}",
                    crate::serve::describe(&st),
                    sup.tail(&who).join(" | ")
                );
            }
        }
        if started.elapsed() > limit {
            bail!("the storm ran over its {} s bound", limit.as_secs());
        }
    };
    while let Some(l) = sup.recv(Duration::from_millis(300)) {
        let (who, text) = split_serve(&l);
        on_line(&l, &who, &text);
    }
    Ok(ended)
}

/// Writes the plan into the storm's work tree (`wr`) and starts the simulated machines in
/// `ns` under `sup`; returns the file their results will be in.
fn spawn_clients(sup: &mut Supervisor, wr: &Root, ns: &Netns, plan: &Plan) -> Result<PathBuf> {
    let plan_file = Path::new("/plan.json");
    wr.write(plan_file, serde_json::to_string(plan)?.as_bytes(), 0o644)?;
    let results_file = wr.path(Path::new("/results.json"));
    let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
    sup.spawn(&Spec::new(
        "clients",
        &ns.exec_argv(&[
            exe.display().to_string(),
            "lab".into(),
            "storm-clients".into(),
            "--plan".into(),
            wr.path(plan_file).display().to_string(),
            "--out".into(),
            results_file.display().to_string(),
        ]),
    ))?;
    Ok(results_file)
}

/// Once the simulated machines have ended (`ended`): their results, and every daemon under
/// `sup` stopped.
fn collect_results(
    ended: std::process::ExitStatus,
    sup: &mut Supervisor,
    results_file: &Path,
) -> Result<Vec<ClientResult>> {
    if !ended.success() {
        bail!(
            "the simulated machines {}: {}",
            crate::serve::describe(&ended),
            sup.tail("clients").join(" | ")
        );
    }
    let text = std::fs::read_to_string(results_file)
        .with_context(|| format!("reading {}", results_file.display()))?;
    let results: Vec<ClientResult> =
        serde_json::from_str(&text).context("reading the machines' results")?;
    sup.stop_all(Duration::from_secs(5));
    Ok(results)
}

/// `lab storm-clients`: the simulated machines, inside the machines' namespace.
pub fn run_clients(plan_file: &Path, out_file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(plan_file)
        .with_context(|| format!("reading {}", plan_file.display()))?;
    let plan: Plan = serde_json::from_str(&text).context("reading the storm's plan")?;
    let results = client::run(&plan)?;
    let dir = out_file.parent().unwrap_or(Path::new("/"));
    let name = out_file.file_name().context("--out names no file")?;
    Root::new(dir, false, Out::default())?.write(
        &Path::new("/").join(name),
        serde_json::to_string(&results)?.as_bytes(),
        0o644,
    )?;
    Ok(())
}
