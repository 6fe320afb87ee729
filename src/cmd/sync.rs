//! `pxe-kit sync [PEER]`: the pair's images, settings and hosts to the partner (rsync over
//! SSH, then the partner's `pxe-kit sync --accept`), and `--accept` itself on the partner.
use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cli::SyncArgs;
use crate::config::Role;
use crate::ctx::Ctx;
use crate::runner::{Cmd, Kind};
use crate::sync::{self, Remote};
use crate::Exit;

pub fn run(a: &SyncArgs, ctx: &Ctx) -> Result<Exit> {
    if a.print_index {
        println!("{}", serde_json::to_string_pretty(&sync::index(ctx)?)?);
        return Ok(Exit::Ok);
    }
    let _lock = ctx.begin_change("sync")?;
    if let Some(from) = a.accept {
        return accept(ctx, from.into());
    }
    let cfg = ctx.require_config()?;
    let Some(peers) = &cfg.peers else {
        bail!("this server is not one of a pair (no peers: in {}); run `pxe-kit init --peer IP --role primary|secondary` first", ctx.config_display().display());
    };
    let target = match &a.peer {
        Some(p) => {
            let mut c = cfg.clone();
            c.peers.as_mut().expect("checked above").ssh = Some(p.clone());
            c.validate()
                .map_err(|e| anyhow::anyhow!("{}", e.to_string().replace("peers.ssh", "PEER")))?;
            p.clone()
        }
        None => peers.ssh_target(),
    };
    let ssh: Vec<String> = a.ssh_command.split_whitespace().map(String::from).collect();
    if ssh.is_empty() {
        bail!("--ssh-command is empty; give the SSH command, e.g. \"ssh -p 2222\"");
    }
    let remote = Remote {
        target,
        ssh,
        root: a.remote_root.clone(),
        pxe_kit: a.remote_pxe_kit.clone(),
    };
    let out = sync::outgoing(ctx, &cfg)?;
    let mut list = tempfile::NamedTempFile::new().context("creating rsync's file list")?;
    for f in &out.files {
        writeln!(list, "{f}").context("writing rsync's file list")?;
    }
    list.flush().context("writing rsync's file list")?;
    let t = Instant::now();
    let argv = sync::rsync_argv(ctx.root.base(), list.path(), &remote);
    // Under --dry-run rsync runs in its own --dry-run: it only lists what it would send. The
    // settings and index sent along are not written then (Root shows their diff instead):
    // rsync passes over them when they are missing.
    let rsync = Cmd::new(
        Kind::Build,
        format!("copying to {} with rsync", remote.target),
        &argv,
    )
    .previewed_with(&["--dry-run", "--ignore-missing-args"]);
    let o = ctx.runner.query(&rsync)?.context("rsync was not run")?;
    if !o.success {
        bail!(crate::runner::failure(&rsync, &o));
    }
    let (files, bytes) = sync::parse_stats(&o.stdout);
    let copy_secs = t.elapsed().as_secs_f64();
    ctx.out.say(format!(
        "sync: {} images, {} files checked; {files} {} {} ({:.1} MiB) in {copy_secs:.1} s",
        out.images,
        out.files.len(),
        ctx.root.verb("sent to", "would be sent to"),
        remote.target,
        bytes as f64 / 1048576.0
    ));
    let t = Instant::now();
    let accept = Cmd::new(
        Kind::Build,
        format!("taking the files in on {}", remote.target),
        &sync::accept_argv(&remote, peers.role),
    );
    let Some(o) = ctx.runner.query(&accept)? else {
        ctx.out
            .say("sync: --dry-run: the partner takes nothing in; run without it to apply");
        return Ok(Exit::Ok);
    };
    // The partner's verdict; the converge it ran shows under -v.
    for l in o.stdout.lines() {
        if l.starts_with("accepted ") || l.starts_with("refused: ") || l.starts_with("ignored: ") {
            ctx.out.say(format!("  {}: {l}", remote.target));
        } else {
            ctx.out.detail(format!("  {}: {l}", remote.target));
        }
    }
    let accept_secs = t.elapsed().as_secs_f64();
    match o.code {
        Some(0) => {
            ctx.out.say(format!(
                "sync: {} is up to date ({accept_secs:.1} s to check and take in)",
                remote.target
            ));
            Ok(Exit::Ok)
        }
        Some(1) => {
            ctx.out.say(format!(
                "sync: {} refused some images (see above); fix this server's copy (`pxe-kit doctor`) and run sync again",
                remote.target
            ));
            Ok(Exit::Problems)
        }
        _ => bail!(crate::runner::failure(&accept, &o)),
    }
}

/// On the partner: take in what `from` sent; exit 1 when an image was refused.
fn accept(ctx: &Ctx, from: Role) -> Result<Exit> {
    let done = sync::accept(ctx, from)?;
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    ctx.out.say(format!(
        "accepted from the {}: images {} ({} files installed, checksums match); removed {}; settings {}",
        from.key(),
        list(&done.images),
        done.files,
        list(&done.removed),
        if done.settings { "updated" } else { "unchanged" }
    ));
    for r in &done.refused {
        ctx.out.say(format!("refused: {r}"));
    }
    Ok(if done.refused.is_empty() {
        Exit::Ok
    } else {
        Exit::Problems
    })
}
