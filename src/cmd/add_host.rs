//! `pxe-kit add-host`: one machine boots its own image directly (a per-MAC or per-address
//! pxelinux file) and, with `--ip`, gets a fixed lease; the settings change and init applies.
use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};

use crate::apply;
use crate::bulk;
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
    let _lock = ctx.begin_change("add-host")?;
    let mut cfg = ctx.require_config()?;
    let new = match (&a.id, &a.csv, &a.names) {
        (Some(id), ..) => vec![one(a, id)?],
        (None, Some(csv), _) => {
            let text = std::fs::read_to_string(csv)
                .with_context(|| format!("reading {}", csv.display()))?;
            bulk::from_csv(&text, a.image.as_deref())
                .with_context(|| format!("{}", csv.display()))?
        }
        (None, None, Some(names)) => bulk::from_hostlist(
            names,
            a.ips.as_deref(),
            a.macs.as_deref(),
            a.image.as_deref().expect("clap requires --image"),
        )?,
        (None, None, None) => unreachable!("clap requires one of them"),
    };
    // Proxy mode: the network's DHCP server gives every address, fixed ones included. A
    // machine named by its address alone still gets its own boot files.
    if cfg.dhcp.mode() == crate::config::DhcpMode::Proxy {
        if let Some(h) = new.iter().find(|h| h.mac.is_some() && h.ip.is_some()) {
            bail!(
                "host {}: --ip gives a fixed address, which in dhcp.mode proxy belongs to the network's DHCP server; reserve {} for it there and add the host without --ip",
                h.id(),
                h.ip.map(|i| i.to_string()).unwrap_or_default()
            );
        }
    }
    let known: Vec<String> = image::load_all(&ctx.root)?
        .into_iter()
        .map(|m| m.name)
        .collect();
    for h in &new {
        if !known.contains(&h.image) {
            bail!(
                "unknown image {:?} (host {}); add it with `pxe-kit add-image` or pick one of: {}",
                h.image,
                h.id(),
                if known.is_empty() {
                    "(none yet)".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
    }
    // By MAC, else by address: looked up, not searched, for batches of thousands.
    let key = |h: &Host| match h.mac {
        Some(m) => (Some(m), None),
        None => (None, h.ip),
    };
    let mut by_id: std::collections::HashMap<_, usize> = cfg
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (key(h), i))
        .collect();
    let mut added = 0;
    for host in new {
        match by_id.get(&key(&host)).map(|&i| &cfg.hosts[i]) {
            // Already there as given: adding it again changes nothing.
            Some(old) if *old == host => {}
            Some(old) => bail!(
                "host {} exists already (image {}); remove it first with `pxe-kit remove-host {}`",
                old.id(),
                old.image,
                old.id()
            ),
            None => {
                by_id.insert(key(&host), cfg.hosts.len());
                cfg.hosts.push(host);
                added += 1;
            }
        }
    }
    // The whole batch is checked before anything is written: one bad line changes nothing.
    cfg.validate()?;
    if added > 1 {
        ctx.out.say(format!("add-host: {added} machines"));
    }
    apply::apply_settings(ctx, cfg, "add-host", &Default::default())
}

/// One machine from the positional MAC or address, with --ip and --hostname.
fn one(a: &AddHostArgs, id: &str) -> Result<Host> {
    let (mac, id_ip) = parse_id(id)?;
    let ip = match (&a.ip, id_ip) {
        (Some(_), Some(_)) => {
            bail!("--ip goes with a MAC; a machine known by address is given as {id} alone")
        }
        (Some(s), None) => Some(parse_ip("fixed address", s)?),
        (None, ip) => ip,
    };
    Ok(Host {
        mac,
        ip,
        hostname: a.hostname.clone(),
        image: a.image.clone().expect("clap requires --image with an id"),
    })
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
