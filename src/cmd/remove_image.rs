//! `pxe-kit remove-image`: take an image out of the menu first (so no client is sent to a
//! file that is going away), then remove its manifest and files.
use anyhow::{bail, Result};

use crate::cli::RemoveImageArgs;
use crate::cmd::add_image::refresh_menu;
use crate::ctx::Ctx;
use crate::image;
use crate::Exit;

pub fn run(a: &RemoveImageArgs, ctx: &Ctx) -> Result<Exit> {
    ctx.require_privileges("remove-image")?;
    let mut cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let _lock = crate::lock::StateLock::acquire(&ctx.root)?;
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
    if cfg.boot.default == m.name {
        cfg.boot.default = "local".into();
        ctx.save_config(&cfg)?;
        ctx.out.say(format!(
            "  menu default was {}; it is now local boot",
            m.name
        ));
    }
    ctx.root.remove(&image::manifest_path(&m.name))?;
    refresh_menu(ctx, &cfg, &profile)?;
    for f in &m.files {
        ctx.root.remove(&f.path)?;
    }
    let (tftp_dir, _) = profile.tftp_image_dir(&m.name);
    for d in [tftp_dir, profile.http_image_dir(&m.name)] {
        ctx.root.remove_dir_all(&d)?;
    }
    ctx.out.say(format!("removed image {}", m.name));
    Ok(Exit::Ok)
}
