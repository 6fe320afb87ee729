//! `lab boot --relay`: the VM on a relayed subnet (the settings' first `subnets:` entry),
//! behind a router namespace that forwards between it and the lab bridge and runs ISC's
//! `dhcrelay` towards the server, as a site's router would. The server's namespace routes the
//! relayed subnet back through the router, so DHCP answers (to the relay's `giaddr`), TFTP
//! and HTTP reach the VM the way they reach a real relayed machine.
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;

use crate::config::Config;
use crate::lab::netns::{Netns, SECOND_PREFIX};
use crate::root::Out;
use crate::runner::{find_program, Cmd, Kind, Runner};
use crate::serve::supervise::{self, Spec, Supervisor};

/// The relayed subnet's bridge, in the router namespace (the VM's tap is its port).
pub const BRIDGE: &str = "pxk-br1";
/// The router's uplink: a veth pair, one end a port of the lab bridge, the other the
/// router's interface on the provisioning subnet.
const UPLINK_LAB: &str = "pxk-up0";
const UPLINK_ROUTER: &str = "pxk-up1";
/// How long dhcrelay may take to open its sockets.
const RELAY_WITHIN: Duration = Duration::from_secs(20);

/// The router's address on the provisioning subnet: its highest host address that nothing
/// in the settings holds (the server, the router, the pool, a partner or a fixed host).
pub fn uplink_address(cfg: &Config) -> Result<Ipv4Addr> {
    let net = cfg.subnet;
    let taken = |ip: Ipv4Addr| {
        ip == cfg.server_ip
            || Some(ip) == cfg.router
            || cfg.range.contains(ip)
            || cfg.peers.as_ref().is_some_and(|p| p.partner == ip)
            || cfg.hosts.iter().any(|h| h.ip == Some(ip))
    };
    let (first, last) = (u32::from(net.network()) + 1, u32::from(net.broadcast()) - 1);
    (first..=last)
        .rev()
        .map(Ipv4Addr::from)
        .find(|ip| !taken(*ip))
        .with_context(|| format!("no free address in {net} for the lab's router"))
}

/// The relayed subnet the VM sits on: the settings' first `subnets:` entry.
pub fn relayed_subnet(cfg: &Config) -> Result<(Ipv4Net, Ipv4Addr)> {
    match cfg.subnets.first() {
        Some(s) => Ok((s.network, s.router)),
        None => bail!("lab boot --relay needs a relayed subnet in the settings (subnets:, with network, range and router); `pxe-kit lab demo --relay` stages one"),
    }
}

/// Builds the router namespace (the VM's tap on its bridge, carrying the relayed subnet's
/// router address), links it to the lab bridge, routes the relayed subnet back from the
/// server's namespace and starts dhcrelay; returns the router namespace once dhcrelay
/// listens. The namespace's drop takes all of it away.
pub fn start(
    lab: &Netns,
    cfg: &Config,
    tap: &str,
    sup: &mut Supervisor,
    out: Out,
    log: &mut dyn FnMut(&str, &str),
) -> Result<Netns> {
    let dhcrelay = find_program("dhcrelay").context(
        "dhcrelay not found; install it: apt-get install -y --no-install-recommends isc-dhcp-relay",
    )?;
    let (net, router) = relayed_subnet(cfg)?;
    let uplink = uplink_address(cfg)?;
    let rt = Netns::create_as(
        Runner::new(true, false, out),
        SECOND_PREFIX,
        BRIDGE,
        tap,
        router,
        net.prefix_len(),
    )?;
    let up = format!("{uplink}/{}", cfg.subnet.prefix_len());
    let dest = net.to_string();
    let via = uplink.to_string();
    lab.ip(
        "linking the router to the lab bridge",
        &[
            "link",
            "add",
            UPLINK_LAB,
            "type",
            "veth",
            "peer",
            "name",
            UPLINK_ROUTER,
            "netns",
            &rt.name,
        ],
    )?;
    lab.ip(
        "attaching the router's uplink to the lab bridge",
        &["link", "set", UPLINK_LAB, "master", &cfg.interface, "up"],
    )?;
    rt.ip(
        "giving the router its address on the provisioning subnet",
        &["addr", "add", &up, "dev", UPLINK_ROUTER],
    )?;
    rt.ip(
        "bringing up the router's uplink",
        &["link", "set", UPLINK_ROUTER, "up"],
    )?;
    lab.ip(
        "routing the relayed subnet through the router",
        &["route", "add", &dest, "via", &via],
    )?;
    let fwd = rt.exec_argv(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    Runner::new(true, false, out).must(&Cmd::new(
        Kind::Check,
        "letting the router forward",
        &fwd,
    ))?;
    // -iu/-id: requests come in on the relayed subnet's bridge, go up to the server through
    // the uplink; --no-pid: nothing written outside the lab's directory.
    let argv = rt.exec_argv(&[
        dhcrelay,
        "-4".into(),
        "-d".into(),
        "--no-pid".into(),
        "-id".into(),
        BRIDGE.into(),
        "-iu".into(),
        UPLINK_ROUTER.into(),
        cfg.server_ip.to_string(),
    ]);
    sup.spawn(&Spec::new("dhcrelay", &argv))?;
    wait_ready(sup, log)?;
    Ok(rt)
}

/// Waits until dhcrelay says it sends on its fallback socket, the last socket it opens.
fn wait_ready(sup: &mut Supervisor, log: &mut dyn FnMut(&str, &str)) -> Result<()> {
    let by = Instant::now() + RELAY_WITHIN;
    loop {
        if supervise::stop_requested() {
            bail!("interrupted; the lab was cleaned up");
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            log(&l.who, &l.text);
            if l.who == "dhcrelay" && l.text.contains("Sending on") && l.text.contains("fallback") {
                return Ok(());
            }
        }
        if let Some((n, st)) = sup.reap() {
            bail!(
                "{n} {} before it relayed anything: {}",
                crate::serve::describe(&st),
                sup.tail(&n).join(" | ")
            );
        }
        if Instant::now() > by {
            bail!(
                "dhcrelay did not open its sockets within {} s: {}",
                RELAY_WITHIN.as_secs(),
                sup.tail("dhcrelay").join(" | ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_router_takes_a_free_address_and_needs_a_relayed_subnet() {
        let mut cfg: Config = serde_yaml::from_str(
            "interface: br0\nserver_ip: 10.77.0.1\nsubnet: 10.77.0.0/24\nrange: 10.77.0.100-10.77.0.200\nrouter: 10.77.0.254\n",
        )
        .unwrap();
        assert_eq!(
            uplink_address(&cfg).unwrap(),
            "10.77.0.253".parse::<Ipv4Addr>().unwrap()
        );
        let e = relayed_subnet(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("subnets:") && e.contains("lab demo --relay"),
            "{e}"
        );
        cfg.subnet = "10.77.0.0/30".parse().unwrap();
        cfg.server_ip = "10.77.0.1".parse().unwrap();
        cfg.range = "10.77.0.2-10.77.0.2".parse().unwrap();
        cfg.router = None;
        assert!(uplink_address(&cfg)
            .unwrap_err()
            .to_string()
            .contains("no free address"));
    }
}
