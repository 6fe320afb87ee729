//! Facts about this host's network interfaces (addresses, existence), read from the kernel.
use anyhow::{Context, Result};
use ipnet::Ipv4Net;

/// True when the interface exists in this network namespace.
pub fn interface_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// The interface's IPv4 addresses with their prefixes.
pub fn ipv4_addrs(name: &str) -> Result<Vec<Ipv4Net>> {
    let addrs = nix::ifaddrs::getifaddrs().context("listing network interfaces")?;
    let mut out = Vec::new();
    for a in addrs.filter(|a| a.interface_name == name) {
        let (Some(addr), Some(mask)) = (a.address, a.netmask) else {
            continue;
        };
        let (Some(addr), Some(mask)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) else {
            continue;
        };
        let ip = addr.ip();
        let prefix = u32::from(mask.ip()).count_ones() as u8;
        if let Ok(net) = Ipv4Net::new(ip, prefix) {
            out.push(net);
        }
    }
    Ok(out)
}

/// Names of all interfaces that are up, other than loopback.
pub fn interfaces() -> Result<Vec<String>> {
    let addrs = nix::ifaddrs::getifaddrs().context("listing network interfaces")?;
    let mut names: Vec<String> = addrs
        .filter(|a| {
            !a.flags
                .contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK)
        })
        .map(|a| a.interface_name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn loopback_exists_and_has_127() {
        assert!(interface_exists("lo"));
        assert!(!interface_exists("no-such-if0"));
        let a = ipv4_addrs("lo").unwrap();
        assert!(
            a.iter()
                .any(|n| n.addr() == Ipv4Addr::LOCALHOST && n.prefix_len() == 8),
            "{a:?}"
        );
    }
}
