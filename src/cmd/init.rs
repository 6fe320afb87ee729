//! `pxe-kit init`: settings from flags (or the saved YAML), then packages, rendered configs,
//! boot loader files, SELinux labels, firewall and services — idempotently.
use std::net::Ipv4Addr;

use anyhow::{bail, Result};
use ipnet::Ipv4Net;

use crate::apply;
use crate::cli::InitArgs;
use crate::config::{
    parse_ip, parse_subnet, Config, DhcpMode, DhcpServer, HaMode, Launcher, Peers, Pool, Serial,
};
use crate::ctx::Ctx;
use crate::dhcpprobe;
use crate::netinfo;
use crate::Exit;

pub fn run(args: &InitArgs, ctx: &Ctx) -> Result<Exit> {
    let _lock = ctx.begin_change("init")?;
    let existing = ctx.load_config()?;
    let cfg = settings(args, existing.as_ref(), ctx)?;
    let profile = ctx.profile(Some(&cfg));
    // Before anything is said or touched: RHEL 10 has no dhcpd to install.
    profile.check_dhcp_available()?;
    let before = existing.as_ref().map(|o| ctx.profile(Some(o)).dhcp.server);
    let now = profile.dhcp.server;
    if now == DhcpServer::Kea && before != Some(now) && cfg.ping_check {
        ctx.out.say(
            "note: ping_check applies to ISC dhcpd only; Kea offers an address without pinging it first",
        );
    }
    look_for_other_dhcp(&cfg, ctx)?;
    let opts = apply::Options {
        firewall_takeover: args.firewall_takeover,
        ..Default::default()
    };
    apply::apply_settings(ctx, cfg, "init", &opts)
}

/// Before anything changes: on a segment where another DHCP server answers, serving
/// addresses too would hand every machine there (not only those to boot) a lease from either
/// server. Asked only in server mode without `dhcp.allow_other_dhcp`, and only when the
/// interface is here (also under --dry-run: the probe changes nothing).
fn look_for_other_dhcp(cfg: &Config, ctx: &Ctx) -> Result<()> {
    if cfg.dhcp.mode() != DhcpMode::Server
        || cfg.dhcp.allow_other_dhcp
        || !dhcpprobe::interface_here(cfg, ctx.root.is_live())
    {
        return Ok(());
    }
    let i = &cfg.interface;
    let Some(survey) = dhcpprobe::survey(cfg)? else {
        ctx.out.say(format!(
            "note: {i} is down, so no other DHCP server could be looked for there; `pxe-kit doctor` looks again once it is up"
        ));
        return Ok(());
    };
    if survey.others.is_empty() {
        return Ok(());
    }
    let who = survey
        .others
        .iter()
        .map(|a| a.describe())
        .collect::<Vec<_>>()
        .join("; ");
    bail!(
        "another DHCP server answers on {i}: {who}; nothing was changed. Boot beside it with `--dhcp-mode proxy` (it keeps giving addresses, pxe-kit answers PXE clients only), or, where the segment is split some other way, `--dhcp-mode server --allow-other-dhcp`"
    )
}

/// Merges flags over the saved settings, filling gaps from the interface, and validates.
fn settings(a: &InitArgs, old: Option<&Config>, ctx: &Ctx) -> Result<Config> {
    let interface = match (&a.interface, old) {
        (Some(i), _) => i.clone(),
        (None, Some(o)) => o.interface.clone(),
        (None, None) => bail!(
            "no settings at {} yet; pass --interface IF (the provisioning interface)",
            ctx.config_display().display()
        ),
    };
    let live = ctx.root.is_live();
    if live && !netinfo::interface_exists(&interface) {
        let have = netinfo::interfaces().unwrap_or_default().join(", ");
        bail!("interface {interface:?} does not exist on this host; pick one of: {have}");
    }
    if live && netinfo::is_loopback(&interface) {
        let have = netinfo::interfaces().unwrap_or_default().join(", ");
        bail!("interface {interface:?} is a loopback device, which no client can reach; pick the provisioning network's interface: {have}");
    }
    // The interface's own address, used for flags left out.
    let if_net: Option<Ipv4Net> = if live {
        let addrs = netinfo::ipv4_addrs(&interface)?;
        match a.server_ip.as_deref() {
            Some(ip) => {
                let ip = parse_ip("server address", ip)?;
                addrs
                    .iter()
                    .find(|n| n.addr() == ip)
                    .copied()
                    .or(addrs.first().copied())
            }
            None => addrs.first().copied(),
        }
    } else {
        None
    };
    let server_ip: Ipv4Addr = match (&a.server_ip, old, if_net) {
        (Some(s), _, _) => parse_ip("server address", s)?,
        (None, Some(o), _) => o.server_ip,
        (None, None, Some(n)) => n.addr(),
        (None, None, None) => bail!(
            "--server-ip is required: interface {interface} has no IPv4 address{}",
            if live { "" } else { " known under --root" }
        ),
    };
    let subnet = match (&a.subnet, old, if_net) {
        (Some(s), _, _) => parse_subnet(s)?,
        (None, Some(o), _) => o.subnet,
        (None, None, Some(n)) => n.trunc(),
        (None, None, None) => bail!(
            "--subnet is required (e.g. 10.0.0.0/24): it cannot be read from interface {interface}"
        ),
    };
    // Also a subnet read from the interface: the default pool below counts its addresses.
    crate::config::check_prefix(subnet)?;
    let range = match (&a.range, old) {
        (Some(r), _) => r.parse::<Pool>()?,
        (None, Some(o)) => o.range,
        (None, None) => default_pool(subnet, server_ip)?,
    };
    let base = old
        .cloned()
        .unwrap_or_else(|| Config::new(interface.clone(), server_ip, subnet, range));
    let mut cfg = Config {
        interface,
        server_ip,
        subnet,
        range,
        ..base
    };
    if let Some(r) = &a.router {
        cfg.router = Some(parse_ip("router", r)?);
    }
    if let Some(d) = &a.dns {
        cfg.dns = d
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_ip("DNS server", s.trim()))
            .collect::<Result<_>>()?;
    }
    if let Some(d) = &a.domain_search {
        cfg.domain_search = d
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if a.time_offset.is_some() {
        cfg.time_offset = a.time_offset;
    }
    if let Some(l) = a.tftp_launcher {
        cfg.tftp_launcher = Some(l.into());
    }
    if cfg.tftp_launcher == Some(Launcher::Xinetd) && !crate::distro::xinetd_installed(&ctx.root) {
        bail!(
            "tftp launcher xinetd: xinetd is not installed ({} is missing) and pxe-kit does not install it (Fedora's last build is fc33, RHEL 8 deprecated it); install it yourself, or use --tftp-launcher socket",
            ctx.root.path(std::path::Path::new("/usr/sbin/xinetd")).display()
        );
    }
    // The DHCP server is saved explicitly from the first run on (the release's default when
    // neither flag nor settings name one), so a later run, or an upgraded release, keeps it.
    cfg.dhcp.server = Some(match a.dhcp_server {
        Some(s) => s.into(),
        None => ctx.profile(Some(&cfg)).dhcp.server,
    });
    if let Some(m) = a.dhcp_mode {
        cfg.dhcp.mode = Some(m.into());
    }
    if a.allow_other_dhcp {
        cfg.dhcp.allow_other_dhcp = true;
    }
    if let Some(s) = &a.serial {
        cfg.boot.serial = Some(s.parse::<Serial>()?);
    }
    cfg.peers = peers(a, cfg.peers.take())?;
    cfg.validate()?;
    Ok(cfg)
}

/// The pair settings: `--peer` (or `none`), `--role` and `--ha-mode` over the saved ones. A
/// new pair needs its role: two members that both guessed "primary" would never agree.
fn peers(a: &InitArgs, old: Option<Peers>) -> Result<Option<Peers>> {
    let partner = match a.peer.as_deref().map(str::trim) {
        Some("none") => {
            if a.role.is_some() || a.ha_mode.is_some() {
                bail!("--peer none leaves the pair; drop --role and --ha-mode");
            }
            return Ok(None);
        }
        Some(ip) => Some(parse_ip("--peer", ip)?),
        None => None,
    };
    let mut p = match (old, partner) {
        (Some(p), _) => p,
        (None, Some(partner)) => {
            let Some(role) = a.role else {
                bail!("--peer {partner} starts a failover pair; say this server's part with --role primary or --role secondary (the partner takes the other)");
            };
            Peers {
                partner,
                role: role.into(),
                mode: HaMode::default(),
                mclt: Peers::default_mclt(),
                ssh: None,
                accept_templates: false,
            }
        }
        (None, None) => {
            if a.role.is_some() || a.ha_mode.is_some() {
                bail!("--role and --ha-mode belong to a failover pair; name the partner with --peer IP");
            }
            return Ok(None);
        }
    };
    if let Some(ip) = partner {
        p.partner = ip;
    }
    if let Some(r) = a.role {
        p.role = r.into();
    }
    if let Some(m) = a.ha_mode {
        p.mode = m.into();
    }
    Ok(Some(p))
}

/// The upper half of the subnet, which leaves the lower half for static addresses.
fn default_pool(net: Ipv4Net, server: Ipv4Addr) -> Result<Pool> {
    let first = u32::from(net.network());
    let last = u32::from(net.broadcast());
    let size = last - first + 1;
    let pool = Pool {
        start: Ipv4Addr::from(first + size / 2),
        end: Ipv4Addr::from(last - 1),
    };
    if pool.contains(server) || pool.start > pool.end {
        bail!("--range is required: the default pool {pool} (upper half of {net}) would contain the server address {server}");
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pool_is_upper_half_without_broadcast() {
        let p = default_pool("10.0.0.0/24".parse().unwrap(), "10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(p.to_string(), "10.0.0.128-10.0.0.254");
        assert!(default_pool(
            "10.0.0.0/24".parse().unwrap(),
            "10.0.0.200".parse().unwrap()
        )
        .is_err());
    }
}
