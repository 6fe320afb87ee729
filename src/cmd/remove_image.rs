//! `pxe-kit remove-image`: take an image out of the menu first (so no client is sent to a
//! file that is going away), then remove its manifest and files.
use anyhow::{bail, Result};

use crate::apply::{self, Desired};
use crate::cli::RemoveImageArgs;
use crate::ctx::Ctx;
use crate::image;
use crate::Exit;

pub fn run(a: &RemoveImageArgs, ctx: &Ctx) -> Result<Exit> {
    let _lock = ctx.begin_change("remove-image")?;
    let mut cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let Some(m) = image::load(&ctx.root, &a.name)? else {
        let known: Vec<String> = image::load_all(&ctx.root)?
            .into_iter()
            .map(|m| m.name)
            .collect();
        bail!(
            "no image named {:?}; known images: {}",
            a.name,
            if known.is_empty() {
                "(none)".into()
            } else {
                known.join(", ")
            }
        );
    };
    let users: Vec<String> = cfg
        .hosts
        .iter()
        .filter(|h| h.image == m.name)
        .map(|h| h.id())
        .collect();
    if !users.is_empty() {
        if !a.force {
            bail!(
                "image {} is booted by hosts {}; remove them first (`pxe-kit remove-host`) or pass --force",
                m.name,
                users.join(", ")
            );
        }
        cfg.hosts.retain(|h| h.image != m.name);
        ctx.out
            .say(format!("  removed hosts {} (--force)", users.join(", ")));
    }
    if cfg.boot.default == m.name {
        cfg.boot.default = "local".into();
        ctx.out.say(format!(
            "  menu default was {}; it is now local boot",
            m.name
        ));
    }
    // The menus, hosts and exports stop naming the image before its files go.
    let want = Desired {
        cfg,
        images: image::load_all(&ctx.root)?
            .into_iter()
            .filter(|i| i.name != m.name)
            .collect(),
    };
    apply::announce(ctx, "remove-image", &want.cfg);
    let commit = apply::Commit {
        first: None,
        // Its files go once no menu names it, before any service is restarted: its own two
        // directories, derived from its name here, never paths its manifest names (a
        // manifest on disk is input too).
        then: Some(Box::new(|| {
            ctx.root.remove(&image::manifest_path(&m.name))?;
            for d in image::check::image_dirs(&profile, &m.name) {
                ctx.root.remove_dir_all(&d)?;
            }
            Ok(())
        })),
    };
    let report = apply::converge_with(ctx, &want, &apply::Options::default(), commit)?;
    apply::conclude(ctx, &report, true);
    ctx.out.say(format!("removed image {}", m.name));
    Ok(Exit::Ok)
}
