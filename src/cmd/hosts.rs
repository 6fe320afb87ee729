//! `pxe-kit hosts`: the machines with their own boot entry, their image, address and the
//! files that serve them.
use anyhow::Result;
use serde::Serialize;

use crate::cli::HostsArgs;
use crate::ctx::Ctx;
use crate::Exit;

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub mac: Option<String>,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub image: String,
    /// The pxelinux.cfg file that serves it.
    pub config_file: Option<String>,
    /// Whether the DHCP server gives it a fixed lease (a dhcpd host block or a Kea
    /// reservation) or one from the pool.
    pub lease: &'static str,
}

pub fn run(a: &HostsArgs, ctx: &Ctx) -> Result<Exit> {
    let cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let rows: Vec<Row> = cfg
        .hosts
        .iter()
        .map(|h| Row {
            id: h.id(),
            mac: h.mac.map(|m| m.to_string()),
            ip: h.ip.map(|i| i.to_string()),
            hostname: h.hostname.clone(),
            image: h.image.clone(),
            config_file: h
                .pxelinux_name()
                .map(|n| profile.pxelinux_cfg_dir().join(n).display().to_string()),
            lease: if h.mac.is_some() && h.ip.is_some() {
                "fixed"
            } else {
                "pool"
            },
        })
        .collect();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        println!("no hosts; add one with `pxe-kit add-host MAC --image NAME`");
        return Ok(Exit::Ok);
    }
    println!(
        "{:<18} {:<15} {:<14} {:<16} {:<6} CONFIG",
        "MAC", "ADDRESS", "HOSTNAME", "IMAGE", "LEASE"
    );
    for r in &rows {
        println!(
            "{:<18} {:<15} {:<14} {:<16} {:<6} {}",
            r.mac.as_deref().unwrap_or("-"),
            r.ip.as_deref().unwrap_or("-"),
            r.hostname.as_deref().unwrap_or("-"),
            r.image,
            r.lease,
            r.config_file.as_deref().unwrap_or("-")
        );
    }
    Ok(Exit::Ok)
}
