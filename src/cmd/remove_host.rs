//! `pxe-kit remove-host`: every trace of a machine goes: its settings entry, its pxelinux file
//! and its fixed lease.
use anyhow::{bail, Result};

use crate::apply;
use crate::cli::RemoveHostArgs;
use crate::cmd::add_host::parse_id;
use crate::ctx::Ctx;
use crate::Exit;

pub fn run(a: &RemoveHostArgs, ctx: &Ctx) -> Result<Exit> {
    let _lock = ctx.begin_change("remove-host")?;
    let mut cfg = ctx.require_config()?;
    let (mac, ip) = parse_id(&a.id)?;
    let before = cfg.hosts.len();
    cfg.hosts.retain(|h| match mac {
        Some(m) => h.mac != Some(m),
        // By address: the host known by that address, with or without a MAC.
        None => h.ip != ip,
    });
    if cfg.hosts.len() == before {
        let known: Vec<String> = cfg.hosts.iter().map(|h| h.id()).collect();
        bail!(
            "no host {}; known hosts: {}",
            a.id,
            if known.is_empty() {
                "(none)".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    apply::apply_settings(ctx, cfg, "remove-host", &Default::default())
}
