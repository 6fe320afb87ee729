//! `pxe-kit add-host`: one machine boots its own image directly (a per-MAC or per-address
//! pxelinux file) and, with `--ip`, gets a fixed lease; the settings change and init applies.
use std::net::Ipv4Addr;

use anyhow::{bail, Result};

use crate::apply;
use crate::cli::AddHostArgs;
use crate::config::parse_ip;
use crate::ctx::Ctx;
use crate::host::{Host, Mac};
use crate::image;
use crate::Exit;

/// A machine is named by its MAC or, lacking one, by its address.
pub fn parse_id(s: &str) -> Result<(Option<Mac>, Option<Ipv4Addr>)> {
    if let Ok(ip) = s.trim().parse::<Ipv4Addr>() {
        return Ok((None, Some(ip)));
    }
    let mac = s
        .parse::<Mac>()
        .map_err(|e| anyhow::anyhow!("{e} (or give an IPv4 address)"))?;
    Ok((Some(mac), None))
}

pub fn run(a: &AddHostArgs, ctx: &Ctx) -> Result<Exit> {
    ctx.require_privileges("add-host")?;
    let mut cfg = ctx.require_config()?;
    let (mac, id_ip) = parse_id(&a.id)?;
    let ip = match (&a.ip, id_ip) {
        (Some(_), Some(_)) => bail!(
            "--ip goes with a MAC; a machine known by address is given as {} alone",
            a.id
        ),
        (Some(s), None) => Some(parse_ip("fixed address", s)?),
        (None, ip) => ip,
    };
    if image::load(&ctx.root, &a.image)?.is_none() {
        let known: Vec<String> = image::load_all(&ctx.root)?
            .into_iter()
            .map(|m| m.name)
            .collect();
        bail!(
            "unknown image {:?}; add it with `pxe-kit add-image` or pick one of: {}",
            a.image,
            if known.is_empty() {
                "(none yet)".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    let host = Host {
        mac,
        ip,
        hostname: a.hostname.clone(),
        image: a.image.clone(),
    };
    let same_id = |h: &Host| match (mac, h.mac) {
        (Some(m), Some(hm)) => m == hm,
        (None, None) => h.ip == ip,
        _ => false,
    };
    if let Some(old) = cfg.hosts.iter().find(|h| same_id(h)) {
        if *old == host {
            return apply::apply_settings(ctx, cfg, "add-host");
        }
        bail!(
            "host {} exists already (image {}); remove it first with `pxe-kit remove-host {}`",
            old.id(),
            old.image,
            old.id()
        );
    }
    cfg.hosts.push(host);
    cfg.validate()?;
    apply::apply_settings(ctx, cfg, "add-host")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_macs_or_addresses() {
        assert_eq!(
            parse_id("10.0.0.50").unwrap(),
            (None, Some("10.0.0.50".parse().unwrap()))
        );
        assert_eq!(
            parse_id("5254.0012.3456").unwrap().0.unwrap().to_string(),
            "52:54:00:12:34:56"
        );
        let e = parse_id("banana").unwrap_err().to_string();
        assert!(e.contains("\"banana\"") && e.contains("IPv4"), "{e}");
    }
}
