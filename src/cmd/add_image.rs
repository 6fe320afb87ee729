//! `pxe-kit add-image`: import a live ISO (read directly, no loop mount), a kernel + root tree
//! or an NFS root tree as a bootable image (see `image::import`), then converge: every menu,
//! the exports and the labels follow from the new manifest.
use anyhow::{bail, Context, Result};

use crate::apply::{self, Desired};
use crate::cli::AddImageArgs;
use crate::config::check_image_name;
use crate::ctx::Ctx;
use crate::image::import::{self, Input, Request};
use crate::image::{self, validate_append};
use crate::Exit;

pub fn run(a: &AddImageArgs, ctx: &Ctx) -> Result<Exit> {
    let _lock = ctx.begin_change("add-image")?;
    let mut cfg = ctx.require_config()?;
    let append = a.append.clone().unwrap_or_default();
    validate_append(&append)?;
    let input = match (&a.nfs, &a.iso, &a.kernel, &a.rootfs) {
        (Some(dir), ..) => Input::nfs(dir, a.kernel.as_deref())?,
        (None, Some(iso), ..) => Input::iso(iso)?,
        (None, None, Some(k), Some(r)) => Input::tree(k, r)?,
        _ => bail!("add-image needs an ISO, or --kernel FILE with --rootfs PATH"),
    };
    if let Some(i) = &a.initrd {
        import::check_file("initrd", i)?;
    }
    let name = a.name.clone().unwrap_or_else(|| input.default_name());
    check_image_name(&name).with_context(|| match a.name {
        Some(_) => "--name".to_string(),
        None => "the name taken from the file name; give one with --name".to_string(),
    })?;
    let profile = ctx.profile(Some(&cfg));
    let old = image::load(&ctx.root, &name)?;
    let source = input.source()?;
    let same_source = old.as_ref().is_some_and(|m| {
        m.source.name == source.name
            && m.source.size == source.size
            && m.check_sizes(&ctx.root).is_ok()
    });
    let (mut manifest, relabel, staged) = if same_source && !a.dracut && a.initrd.is_none() {
        ctx.out.say(format!(
            "image {name} is already imported from {}; nothing to copy",
            source.name
        ));
        (old.clone().expect("checked above"), Vec::new(), None)
    } else {
        let req = Request {
            input,
            name: name.clone(),
            initrd: a.initrd.clone(),
            dracut: a.dracut,
        };
        let imported = import::import(ctx, &profile, &req)?;
        (imported.manifest, imported.relabel, Some(imported.staged))
    };
    manifest.append = append;
    let manifest_changed = old.as_ref() != Some(&manifest);
    if a.default {
        cfg.boot.default = name.clone();
    }
    // The new image joins the others for the converge, so even a dry run shows the real menu.
    let mut images: Vec<_> = image::load_all(&ctx.root)?
        .into_iter()
        .filter(|m| m.name != name)
        .collect();
    images.push(manifest.clone());
    images.sort_by(|x, y| x.name.cmp(&y.name));
    let want = Desired { cfg, images };
    let opts = apply::Options {
        relabel,
        ..Default::default()
    };
    // The files and the manifest go into place only once every menu and configuration has
    // rendered and passed its test: a failure before leaves no trace of the image.
    let text = serde_yaml::to_string(&manifest)?;
    let commit = apply::Commit {
        first: Some(Box::new(|| {
            if let Some(st) = staged {
                st.commit()?;
            }
            if manifest_changed {
                ctx.root
                    .write(&image::manifest_path(&name), text.as_bytes(), 0o644)?;
            }
            Ok(())
        })),
        then: None,
    };
    let report = apply::converge_with(ctx, &want, &opts, commit)?;
    if manifest_changed {
        ctx.out.say(format!("image {name}: {}", manifest.summary()));
    }
    apply::conclude(ctx, &report, manifest_changed);
    Ok(Exit::Ok)
}
