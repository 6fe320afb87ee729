//! The server's runtime without systemd: the distribution's stock daemons (dhcpd or Kea's
//! kea-dhcp4, in.tftpd, apache, and nfs-ganesha for NFS-root images) in the foreground with the configs pxe-kit
//! rendered, their logs prefixed and interleaved, all stopped together on Ctrl-C/SIGTERM or
//! when one of them dies. `pxe-kit serve` runs it where PID 1 is not systemd, and the lab runs
//! it inside its network namespace.
//!
//! Serve says it is ready only once every daemon really listens: the socket it must open is
//! found in this namespace's /proc/net and tied to the daemon's own process by inode.
pub mod daemons;
pub mod nfs;
pub mod supervise;

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::{Config, DhcpServer};
use crate::ctx::Ctx;
use crate::image;
use crate::netinfo;
use crate::render::{Templates, Vars};
use crate::root::Root;
use crate::runner::{shell_join, Cmd, Kind};
use daemons::Binaries;
use supervise::{Line, Spec, Supervisor};

/// What `serve` prints once every daemon listens; `lab boot` waits for it.
pub const READY: &str = "pxe-kit serve: ready";
/// How long the daemons get to open their sockets.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// The socket a daemon must hold before serve calls it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    pub tcp: bool,
    pub port: u16,
    /// The address it binds: the server's, or any (dhcpd listens on the wildcard; Kea binds
    /// the interface's address next to its raw socket).
    pub addr: Ipv4Addr,
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} on {}",
            if self.tcp { "tcp" } else { "udp" },
            self.port,
            self.addr
        )
    }
}

/// One daemon: how to start it and the socket that proves it is up.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub spec: Spec,
    pub listen: Listen,
}

/// Everything serve will do, decided before anything runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub daemons: Vec<Daemon>,
    /// Files written into the run directory before the daemons start (apache's and
    /// ganesha's self-contained configs), as paths relative to it.
    pub run_files: Vec<(PathBuf, String)>,
    pub run_dir: PathBuf,
    interface: String,
    server_ip: Ipv4Addr,
    /// The DHCP server's name in the logs, and the configuration it reads (the installed
    /// one, a host path under the root).
    dhcp_name: &'static str,
    dhcp_conf: PathBuf,
    tftp_root: PathBuf,
    http_dir: PathBuf,
    /// Target-system paths serve creates when missing: the lease file (dhcpd needs it to
    /// exist; Kea creates it in a directory that must exist).
    leases: PathBuf,
    server_kind: DhcpServer,
    /// Proxy mode: dnsmasq runs instead of the DHCP server.
    proxy: bool,
    http_dir_abs: PathBuf,
    httpd_user: String,
}

impl Plan {
    /// Plans serving `cfg` from the root of `ctx`, with runtime files under `run_dir`.
    pub fn new(ctx: &Ctx, cfg: &Config, run_dir: &Path) -> Result<Plan> {
        let profile = ctx.profile(Some(cfg));
        let bins = Binaries::find(ctx.distro, profile.dhcp.server, profile.proxy.is_some())?;
        let tftp_root = ctx.root.path(&profile.tftp_root);
        let dhcp_conf = ctx.root.path(
            profile
                .proxy
                .as_ref()
                .map_or(&profile.dhcp.conf, |p| &p.conf),
        );
        let leases = profile.dhcp.leases.clone();
        let httpd_conf = run_dir.join("httpd.conf");
        let server = cfg.server_ip;
        let (dhcp, dhcp_file) = dhcp_daemon(ctx, cfg, &profile, &bins, run_dir)?;
        let mut plan = Plan {
            daemons: vec![
                dhcp,
                Daemon {
                    spec: Spec {
                        private_dev: Some(run_dir.join("dev")),
                        ..Spec::new(
                            "tftpd",
                            &daemons::tftpd_argv(&bins.tftpd, &bins.tftp_user, server, &tftp_root),
                        )
                    },
                    listen: Listen {
                        tcp: false,
                        port: 69,
                        addr: server,
                    },
                },
                Daemon {
                    spec: Spec::new("httpd", &daemons::httpd_argv(&bins.httpd, &httpd_conf)),
                    listen: Listen {
                        tcp: true,
                        port: 80,
                        addr: server,
                    },
                },
            ],
            run_files: Vec::new(),
            run_dir: run_dir.to_path_buf(),
            interface: cfg.interface.clone(),
            server_ip: server,
            dhcp_name: match (&profile.proxy, profile.dhcp.server) {
                (Some(_), _) => "dnsmasq (proxyDHCP)",
                (None, DhcpServer::Isc) => "dhcpd",
                (None, DhcpServer::Kea) => crate::kea::WHO,
            },
            dhcp_conf,
            tftp_root,
            http_dir: ctx.root.path(&profile.http_dir),
            leases,
            server_kind: profile.dhcp.server,
            proxy: profile.proxy.is_some(),
            http_dir_abs: profile.http_dir.clone(),
            httpd_user: bins.httpd_user.clone(),
        };
        // The drop-in init installs, rendered again with its paths mapped under the root.
        let mut mapped = profile.clone();
        mapped.http_dir = plan.http_dir.clone();
        // serve's apache logs to its stdout, which serve reads and keeps (see `run`).
        mapped.httpd_access_log = None;
        // HTTP-capable loaders fetch kernels from the TFTP root's image directory too.
        mapped.tftp_root = plan.tftp_root.clone();
        plan.run_files.extend(dhcp_file);
        let dropin = Templates::load(&ctx.root)?
            .render("httpd.conf.j2", &Vars::new(cfg, &mapped, Vec::new()))?;
        plan.run_files.push((
            PathBuf::from("httpd.conf"),
            daemons::apache_conf(&bins, run_dir, server, &dropin),
        ));
        // NFS-root images need their NFS server as well (nfs-ganesha; see `nfs`).
        if let Some(n) = nfs::Serve::plan(&image::load_all(&ctx.root)?, server, run_dir)? {
            plan.run_files.push((PathBuf::from(nfs::CONF), n.conf));
            plan.daemons.push(Daemon {
                spec: n.spec,
                listen: Listen {
                    tcp: true,
                    port: 2049,
                    addr: server,
                },
            });
        }
        Ok(plan)
    }

    /// The daemons' command lines, for the runner's plan and for `-v`.
    pub fn cmds(&self) -> Vec<Cmd> {
        self.daemons
            .iter()
            .map(|d| {
                Cmd::new(
                    Kind::Change,
                    format!("running {}", d.spec.name),
                    &d.spec.argv,
                )
            })
            .collect()
    }

    /// Refuses to start what cannot work here, before anything is written: not root, the
    /// interface or its address missing, init never run.
    pub fn preflight(&self, config_display: &Path) -> Result<()> {
        if !nix::unistd::geteuid().is_root() {
            bail!("pxe-kit serve binds ports 67, 69 and 80 and must run as root; use sudo");
        }
        if !netinfo::interface_exists(&self.interface) {
            bail!(
                "interface {} does not exist here; fix `interface` in {} or run serve in the namespace that has it",
                self.interface,
                config_display.display()
            );
        }
        if !netinfo::ipv4_addrs(&self.interface)?
            .iter()
            .any(|n| n.addr() == self.server_ip)
        {
            bail!(
                "interface {} does not carry the server address {}; add it (ip addr add {}/PREFIX dev {}) or fix server_ip",
                self.interface,
                self.server_ip,
                self.server_ip,
                self.interface
            );
        }
        for (what, p) in [
            (self.dhcp_conf_name(), self.dhcp_conf.clone()),
            ("pxelinux.0", self.tftp_root.join("pxelinux.0")),
        ] {
            if !p.exists() {
                bail!(
                    "{what} is missing at {}; run `pxe-kit init` first",
                    p.display()
                );
            }
        }
        Ok(())
    }
}

/// The DHCP daemon of the plan, and the file it runs from in the run directory (Kea: the
/// installed configuration with the lease file under the root and its socket in the run
/// directory; dhcpd reads the installed file and takes the rest as flags).
fn dhcp_daemon(
    ctx: &Ctx,
    cfg: &Config,
    profile: &crate::distro::Profile,
    bins: &Binaries,
    run_dir: &Path,
) -> Result<(Daemon, Option<(PathBuf, String)>)> {
    let leases = ctx.root.path(&profile.dhcp.leases);
    // dhcpd listens on the wildcard; Kea on the interface's address (and a raw socket).
    let listen = |addr| Listen {
        tcp: false,
        port: 67,
        addr,
    };
    if let Some(p) = &profile.proxy {
        // dnsmasq binds the wildcard on udp/67 and udp/4011, tied to the interface
        // (SO_BINDTODEVICE), which /proc/net shows as the wildcard.
        return Ok((
            Daemon {
                spec: Spec {
                    nice: Some(cfg.dhcp.nice()),
                    ..Spec::new(
                        "dnsmasq",
                        &daemons::dnsmasq_argv(
                            &bins.dhcp,
                            &ctx.root.path(&p.conf),
                            &run_dir.join("dnsmasq.pid"),
                        ),
                    )
                },
                listen: listen(Ipv4Addr::UNSPECIFIED),
            },
            None,
        ));
    }
    match profile.dhcp.server {
        DhcpServer::Isc => Ok((
            Daemon {
                spec: Spec {
                    nice: Some(cfg.dhcp.nice()),
                    ..Spec::new(
                        "dhcpd",
                        &daemons::dhcpd_argv(
                            &bins.dhcp,
                            &ctx.root.path(&profile.dhcp.conf),
                            &leases,
                            &run_dir.join("dhcpd.pid"),
                            &cfg.interface,
                        ),
                    )
                },
                listen: listen(Ipv4Addr::UNSPECIFIED),
            },
            None,
        )),
        DhcpServer::Kea => {
            let kea_run = run_dir.join(KEA_RUN);
            let conf = kea_run.join(crate::kea::SERVE_CONF);
            // A missing file is preflight's to report, with the fix.
            let file = match ctx.root.read_opt(&profile.dhcp.conf)? {
                Some(installed) => Some((
                    Path::new(KEA_RUN).join(crate::kea::SERVE_CONF),
                    crate::kea::for_serve(
                        &installed,
                        &leases,
                        &kea_run.join(crate::kea::SOCKET_NAME),
                    )
                    .with_context(|| {
                        format!(
                            "{}: fix it with `pxe-kit doctor --fix` or `pxe-kit init`",
                            ctx.root.path(&profile.dhcp.conf).display()
                        )
                    })?,
                )),
                None => None,
            };
            let lease_dir = leases.parent().unwrap_or(Path::new("/")).to_path_buf();
            Ok((
                Daemon {
                    spec: Spec {
                        env: crate::kea::serve_env(&kea_run, &lease_dir),
                        nice: Some(cfg.dhcp.nice()),
                        ..Spec::new(crate::kea::WHO, &crate::kea::argv(&bins.dhcp, &conf))
                    },
                    listen: listen(cfg.server_ip),
                },
                file,
            ))
        }
    }
}

/// Kea's runtime directory inside serve's: its configuration, pid and lock files and control
/// socket. Its own, mode 0750, because Kea 3.0 refuses a socket directory others may enter.
const KEA_RUN: &str = "kea";

impl Plan {
    fn dhcp_conf_name(&self) -> &'static str {
        if self.proxy {
            return "dnsmasq's pxe-kit.conf";
        }
        match self.server_kind {
            DhcpServer::Isc => "dhcpd.conf",
            DhcpServer::Kea => "kea-dhcp4.conf",
        }
    }
}

/// Writes the run directory's files, the lease file dhcpd needs (Kea's directory), and warns
/// about an image directory apache's workers cannot reach.
pub fn prepare(ctx: &Ctx, plan: &Plan, run: &Root) -> Result<()> {
    match plan.server_kind {
        // Proxy mode: no leases.
        _ if plan.proxy => {}
        DhcpServer::Isc if !ctx.root.exists(&plan.leases) => {
            ctx.root.write(&plan.leases, b"", 0o644)?;
        }
        DhcpServer::Isc => {}
        DhcpServer::Kea => {
            if let Some(dir) = plan.leases.parent() {
                ctx.root.create_dir_all(dir)?;
            }
            let kea = Path::new("/").join(KEA_RUN);
            run.create_dir_all(&kea)?;
            run.set_mode(&kea, 0o750)?;
            // Left by an earlier serve with this run directory: Kea refuses to start next to
            // a pid file whose number a live process now has.
            for f in [
                "kea-dhcp4.kea-dhcp4.pid",
                "kea4-ctrl-socket",
                "kea4-ctrl-socket.lock",
            ] {
                run.remove(&kea.join(f))?;
            }
        }
    }
    ctx.root.create_dir_all(&plan.http_dir_abs)?;
    if let Some(blocked) = untraversable(&plan.http_dir) {
        ctx.out.say(format!(
            "warning: {} is not searchable by others: apache (user {}) cannot serve {}; chmod o+x it",
            blocked.display(),
            plan.httpd_user,
            plan.http_dir.display()
        ));
    }
    for d in ["empty", "dev"] {
        run.create_dir_all(&Path::new("/").join(d))?;
    }
    // A syslog socket left by an earlier serve with this run directory.
    run.remove(Path::new("/dev/log"))?;
    for (rel, text) in &plan.run_files {
        run.write(&Path::new("/").join(rel), text.as_bytes(), 0o644)?;
    }
    Ok(())
}

/// Starts every daemon, says ready once all listen, relays their lines until Ctrl-C or until
/// one dies, then stops them all.
pub fn run(ctx: &Ctx, plan: &Plan) -> Result<()> {
    supervise::install_stop_handler()?;
    let mut sup = Supervisor::new();
    daemons::listen_syslog(&plan.run_dir.join("dev/log"), "tftpd", sup.sender())?;
    let mut pids = Vec::new();
    for d in &plan.daemons {
        ctx.out.detail(format!("> {}", shell_join(&d.spec.argv)));
        pids.push((d, sup.spawn(&d.spec)?));
    }
    // Every line is kept under the root too: `pxe-kit status` reads which machine did what.
    let mut log = ctx.root.append(Path::new(crate::status::SERVE_LOG))?;
    let mut say = |l: &Line| {
        if !ctx.out.quiet {
            println!("{:<5}| {}", l.who, l.text);
        }
        if let Some(f) = log.as_mut() {
            let _ = std::io::Write::write_all(
                f,
                crate::status::serve_log_line(l.at, &l.who, &l.text).as_bytes(),
            );
        }
    };

    let started = Instant::now();
    let mut ready = false;
    let ended = loop {
        if supervise::stop_requested() {
            break None;
        }
        if let Some(l) = sup.recv(Duration::from_millis(100)) {
            say(&l);
        }
        if let Some(dead) = sup.reap() {
            break Some(dead);
        }
        if !ready {
            let waiting = not_listening(&pids);
            if waiting.is_empty() {
                ready = true;
                ctx.out.say(format!(
                    "{READY}: {} on {}, tftp and http on {} (TFTP root {}) listen; Ctrl-C stops",
                    plan.dhcp_name,
                    plan.interface,
                    plan.server_ip,
                    plan.tftp_root.display()
                ));
            } else if started.elapsed() > READY_WITHIN {
                let names: Vec<String> = waiting
                    .iter()
                    .map(|d| format!("{} (no socket {})", d.spec.name, d.listen))
                    .collect();
                sup.stop_all(Duration::from_secs(5));
                bail!(
                    "{} did not start listening within {} s; stopped everything (rerun with -v to see their logs)",
                    names.join(", "),
                    READY_WITHIN.as_secs()
                );
            }
        }
    };
    // Whatever is still buffered belongs in the log before we stop.
    while let Some(l) = sup.recv(Duration::from_millis(50)) {
        say(&l);
    }
    let ends = sup.stop_all(Duration::from_secs(5));
    let summary: Vec<String> = ends
        .iter()
        .map(|(n, st)| format!("{n} {}", describe(st)))
        .collect();
    match ended {
        None => {
            ctx.out
                .say(format!("pxe-kit serve: stopped ({})", summary.join(", ")));
            Ok(())
        }
        Some((name, st)) => {
            let last = sup
                .tail(&name)
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "(it said nothing)".into());
            bail!(
                "{name} {}{} (last words: {last}); stopped the others ({})",
                describe(&st),
                if ready { "" } else { " before it listened" },
                summary.join(", ")
            )
        }
    }
}

/// The daemons whose socket is not yet open by their own process.
fn not_listening<'a>(pids: &[(&'a Daemon, u32)]) -> Vec<&'a Daemon> {
    let (udp, tcp) = (netinfo::read_net("udp"), netinfo::read_net("tcp"));
    pids.iter()
        .filter(|(d, pid)| {
            let socks = if d.listen.tcp { &tcp } else { &udp };
            let mine = netinfo::socket_inodes(*pid);
            !socks.iter().any(|s| {
                mine.contains(&s.inode)
                    && netinfo::listening_on(
                        std::slice::from_ref(s),
                        d.listen.tcp,
                        d.listen.port,
                        d.listen.addr,
                    )
                    .is_some()
            })
        })
        .map(|(d, _)| *d)
        .collect()
}

/// How a process ended, in words.
pub fn describe(st: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(0), _) => "exited".into(),
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!(
            "was stopped by {}",
            nix::sys::signal::Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {s}"))
        ),
        _ => "ended".into(),
    }
}

/// The first directory on the way to `p` that others cannot search (apache's workers do not
/// run as root).
fn untraversable(p: &Path) -> Option<PathBuf> {
    let mut cur = PathBuf::from("/");
    for c in p.components().skip(1) {
        cur.push(c);
        match std::fs::metadata(&cur) {
            Ok(m) if m.is_dir() && m.permissions().mode() & 0o001 == 0 => return Some(cur),
            _ => {}
        }
    }
    None
}
