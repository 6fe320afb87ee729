//! `pxe-kit images`: the images this server boots, with a quick integrity state.
use anyhow::Result;
use serde::Serialize;

use crate::cli::ImagesArgs;
use crate::ctx::Ctx;
use crate::image::{self, Role, RootType};
use crate::Exit;

#[derive(Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub default: bool,
    pub root_type: RootType,
    pub source: String,
    pub kernel_version: Option<String>,
    pub size: u64,
    /// `ok` when every file is present with its recorded size, else what is wrong.
    pub state: String,
    pub url: Option<String>,
}

pub fn rows(ctx: &Ctx) -> Result<Vec<Row>> {
    let cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let images = image::load_all(&ctx.root)?;
    Ok(images
        .iter()
        .map(|m| Row {
            name: m.name.clone(),
            default: cfg.boot.default == m.name,
            root_type: m.root_type,
            source: m.source.name.clone(),
            kernel_version: m.kernel_version.clone(),
            // Saturating: a manifest (a partner's, an edited one) may claim any sizes.
            size: m.files.iter().fold(0u64, |a, f| a.saturating_add(f.size)),
            state: m
                .check_sizes(&ctx.root)
                .err()
                .unwrap_or_else(|| "ok".into()),
            url: m.file(Role::Root).map(|f| {
                let file = f
                    .path
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!(
                    "http://{}{}/{}/{file}",
                    cfg.server_ip, profile.http_prefix, m.name
                )
            }),
        })
        .collect())
}

pub fn run(a: &ImagesArgs, ctx: &Ctx) -> Result<Exit> {
    let rows = rows(ctx)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        println!("no images; add one with `pxe-kit add-image ISO`");
        return Ok(Exit::Ok);
    }
    println!(
        "{:<2}{:<20} {:<9} {:>10}  {:<28} STATE",
        "", "NAME", "ROOT", "SIZE", "KERNEL"
    );
    for r in &rows {
        println!(
            "{:<2}{:<20} {:<9} {:>10}  {:<28} {}",
            if r.default { "*" } else { "" },
            r.name,
            match r.root_type {
                RootType::Squashfs => "squashfs",
                RootType::Erofs => "erofs",
                RootType::Nfs => "nfs",
            },
            format!("{:.1} MiB", r.size as f64 / 1048576.0),
            r.kernel_version.as_deref().unwrap_or("-"),
            r.state
        );
    }
    Ok(Exit::Ok)
}
