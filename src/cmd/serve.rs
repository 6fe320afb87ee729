//! `pxe-kit serve`: the distribution's stock daemons (dhcpd, in.tftpd, apache) in the
//! foreground with the configs pxe-kit rendered, their logs prefixed and interleaved, all
//! stopped together on Ctrl-C/SIGTERM or when one of them dies. This is how pxe-kit runs where
//! PID 1 is not systemd, and what `lab boot` runs inside its namespace.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cli::ServeArgs;
use crate::ctx::Ctx;
use crate::image;
use crate::lab::daemons::{self, Binaries};
use crate::lab::nfs;
use crate::lab::supervise::{self, Spec, Supervisor};
use crate::netinfo;
use crate::render::{Templates, Vars};
use crate::runner::shell_join;
use crate::Exit;

/// What `serve` prints once every daemon is up; `lab boot` waits for it.
pub const READY: &str = "pxe-kit serve: ready";

pub fn run(args: &ServeArgs, ctx: &Ctx) -> Result<Exit> {
    let cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let bins = Binaries::find(ctx.distro)?;

    let tmp;
    let run_dir: PathBuf = match &args.run_dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("pxe-kit-serve.")
                .tempdir()
                .context("creating the run directory")?;
            tmp.path().to_path_buf()
        }
    };
    let tftp_root = ctx.root.path(&profile.tftp_root);
    let dhcpd_conf = ctx.root.path(&profile.dhcpd_conf);
    let leases = ctx.root.path(daemons::leases_path(ctx.distro));
    let httpd_conf = run_dir.join("httpd.conf");
    let mut specs = vec![
        Spec::new(
            "dhcpd",
            &daemons::dhcpd_argv(
                &bins.dhcpd,
                &dhcpd_conf,
                &leases,
                &run_dir.join("dhcpd.pid"),
                &cfg.interface,
            ),
        ),
        Spec {
            private_dev: Some(run_dir.join("dev")),
            ..Spec::new(
                "tftpd",
                &daemons::tftpd_argv(&bins.tftpd, &bins.tftp_user, cfg.server_ip, &tftp_root),
            )
        },
        Spec::new("httpd", &daemons::httpd_argv(&bins.httpd, &httpd_conf)),
    ];
    // NFS-root images need their NFS server as well (nfs-ganesha; see lab::nfs).
    let nfs = nfs::Serve::plan(&image::load_all(&ctx.root)?, cfg.server_ip, &run_dir)?;
    specs.extend(nfs.iter().map(|n| n.spec.clone()));
    if ctx.root.dry_run() {
        for s in &specs {
            println!("would run: {}", shell_join(&s.argv));
        }
        return Ok(Exit::Ok);
    }
    if !nix::unistd::geteuid().is_root() {
        bail!("pxe-kit serve binds ports 67, 69 and 80 and must run as root; use sudo");
    }
    if !netinfo::interface_exists(&cfg.interface) {
        bail!(
            "interface {} does not exist here; fix `interface` in {} or run serve in the namespace that has it",
            cfg.interface,
            ctx.config_display().display()
        );
    }
    if !netinfo::ipv4_addrs(&cfg.interface)?
        .iter()
        .any(|n| n.addr() == cfg.server_ip)
    {
        bail!(
            "interface {} does not carry the server address {}; add it (ip addr add {}/{} dev {}) or fix server_ip",
            cfg.interface,
            cfg.server_ip,
            cfg.server_ip,
            cfg.subnet.prefix_len(),
            cfg.interface
        );
    }
    for (what, p) in [
        ("dhcpd.conf", &dhcpd_conf),
        ("pxelinux.0", &tftp_root.join("pxelinux.0")),
    ] {
        if !p.exists() {
            bail!(
                "{what} is missing at {}; run `pxe-kit init` first",
                p.display()
            );
        }
    }
    if !leases.exists() {
        ctx.root
            .write(daemons::leases_path(ctx.distro), b"", 0o644)?;
    }
    ctx.root.create_dir_all(&profile.http_dir)?;
    let http_dir = ctx.root.path(&profile.http_dir);
    if let Some(blocked) = untraversable(&http_dir) {
        ctx.out.say(format!(
            "warning: {} is not searchable by others: apache (user {}) cannot serve {}; chmod o+x it",
            blocked.display(),
            bins.httpd_user,
            http_dir.display()
        ));
    }

    // The drop-in init installs, rendered again with its paths mapped under the root.
    let mut mapped = profile.clone();
    mapped.http_dir = http_dir;
    // HTTP-capable loaders fetch kernels from the TFTP root's image directory too.
    mapped.tftp_root = ctx.root.path(&profile.tftp_root);
    let dropin = Templates::load(&ctx.root)?
        .render("httpd.conf.j2", &Vars::new(&cfg, &mapped, Vec::new()))?;
    for d in [run_dir.join("empty"), run_dir.join("dev")] {
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    let conf = daemons::apache_conf(&bins, &run_dir, cfg.server_ip, &dropin);
    std::fs::write(&httpd_conf, conf)
        .with_context(|| format!("writing {}", httpd_conf.display()))?;
    if let Some(n) = &nfs {
        n.write()?;
    }

    supervise::install_stop_handler()?;
    let mut sup = Supervisor::new();
    let sock = run_dir.join("dev/log");
    let _ = std::fs::remove_file(&sock);
    daemons::listen_syslog(&sock, "tftpd", sup.sender())?;
    for s in &specs {
        ctx.out.detail(format!("> {}", shell_join(&s.argv)));
        sup.spawn(s)?;
    }

    let started = Instant::now();
    let mut ready = false;
    let ended = loop {
        if supervise::stop_requested() {
            break None;
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            if !ctx.out.quiet {
                println!("{:<5}| {}", l.who, l.text);
            }
        }
        if let Some(dead) = sup.reap() {
            break Some(dead);
        }
        if !ready && started.elapsed() > Duration::from_millis(800) {
            ready = true;
            ctx.out.say(format!(
                "{READY}: dhcpd on {}, tftp and http on {} (TFTP root {}); Ctrl-C stops",
                cfg.interface,
                cfg.server_ip,
                tftp_root.display()
            ));
        }
    };
    // Whatever is still buffered belongs in the log before we stop.
    while let Some(l) = sup.recv(Duration::from_millis(50)) {
        if !ctx.out.quiet {
            println!("{:<5}| {}", l.who, l.text);
        }
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
            Ok(Exit::Ok)
        }
        Some((name, st)) => {
            let tail = sup.tail(&name);
            let last = tail
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "(it said nothing)".into());
            bail!(
                "{name} {} (last words: {last}); stopped the others ({})",
                describe(&st),
                summary.join(", ")
            )
        }
    }
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
