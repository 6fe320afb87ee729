//! Facts about this host's network interfaces (addresses, existence) and listening sockets,
//! read from the kernel of this network namespace.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context, Result};
use ipnet::Ipv4Net;

/// True when the interface exists in this network namespace.
pub fn interface_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// True when the interface is a loopback device (whatever its name): no client can reach it.
pub fn is_loopback(name: &str) -> bool {
    nix::ifaddrs::getifaddrs()
        .map(|mut a| {
            a.any(|a| {
                a.interface_name == name
                    && a.flags
                        .contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK)
            })
        })
        .unwrap_or(false)
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

/// The interface's hardware (MAC) address, when it has an Ethernet-sized one.
pub fn mac(name: &str) -> Option<[u8; 6]> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|a| a.interface_name == name)
        .find_map(|a| a.address?.as_link_addr()?.addr())
}

/// True when the interface is administratively up.
pub fn is_up(name: &str) -> bool {
    nix::ifaddrs::getifaddrs()
        .map(|mut a| {
            a.any(|a| {
                a.interface_name == name && a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP)
            })
        })
        .unwrap_or(false)
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

/// One socket line of /proc/net/{tcp,udp}{,6}.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sock {
    pub addr: IpAddr,
    pub port: u16,
    /// Kernel state: 0x0A is TCP LISTEN, 0x07 an unconnected UDP socket.
    pub state: u8,
    /// The socket's inode: which process holds it shows in /proc/PID/fd.
    pub inode: u64,
}

/// Parses /proc/net/{tcp,udp} (`v6` false) or {tcp6,udp6}. Addresses are the kernel's
/// in-memory network-order words printed as native hex, so each 32-bit group is turned back
/// into bytes in native order; ports are plain hex.
pub fn parse_proc_net(text: &str, v6: bool) -> Vec<Sock> {
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        let mut f = l.split_whitespace();
        let (Some(_sl), Some(local), Some(_rem), Some(st)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        // tx/rx queues, timer, retransmits, uid, timeout, then the inode.
        let inode = f.nth(5).and_then(|s| s.parse().ok()).unwrap_or(0);
        let Some((a, p)) = local.split_once(':') else {
            continue;
        };
        let (Ok(port), Ok(state)) = (u16::from_str_radix(p, 16), u8::from_str_radix(st, 16)) else {
            continue;
        };
        let words: Option<Vec<[u8; 4]>> = (0..a.len() / 8)
            .map(|i| {
                u32::from_str_radix(&a[i * 8..i * 8 + 8], 16)
                    .ok()
                    .map(u32::to_ne_bytes)
            })
            .collect();
        let Some(words) = words else { continue };
        let addr = match (v6, words.len()) {
            (false, 1) => IpAddr::V4(Ipv4Addr::from(words[0])),
            (true, 4) => {
                let mut b = [0u8; 16];
                for (i, w) in words.iter().enumerate() {
                    b[i * 4..i * 4 + 4].copy_from_slice(w);
                }
                IpAddr::V6(Ipv6Addr::from(b))
            }
            _ => continue,
        };
        out.push(Sock {
            addr,
            port,
            state,
            inode,
        });
    }
    out
}

/// Whether a socket is listening on `port` for `server` (its address, the wildcard, or the
/// IPv6 wildcard / v4-mapped form, which dual-stack daemons use).
pub fn listening_on(socks: &[Sock], tcp: bool, port: u16, server: Ipv4Addr) -> Option<Sock> {
    socks
        .iter()
        .find(|s| {
            s.port == port
                && (!tcp || s.state == 0x0A)
                && match s.addr {
                    IpAddr::V4(a) => a == server || a.is_unspecified(),
                    IpAddr::V6(a) => a.is_unspecified() || a.to_ipv4_mapped() == Some(server),
                }
        })
        .copied()
}

/// The inodes of the sockets a process holds open (from /proc/PID/fd), so a listening socket
/// can be tied to the daemon that opened it.
pub fn socket_inodes(pid: u32) -> std::collections::BTreeSet<u64> {
    let dir = Path::new("/proc").join(pid.to_string()).join("fd");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Default::default();
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// The sockets of this network namespace, `tcp` or `udp`, IPv4 and IPv6.
pub fn read_net(name: &str) -> Vec<Sock> {
    let mut v = Vec::new();
    for (file, v6) in [(name.to_string(), false), (format!("{name}6"), true)] {
        if let Ok(t) = std::fs::read_to_string(Path::new("/proc/net").join(&file)) {
            v.extend(parse_proc_net(&t, v6));
        }
    }
    v
}

/// One route of the kernel's IPv4 main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dest: Ipv4Net,
    /// `None` for a directly connected network.
    pub gateway: Option<Ipv4Addr>,
    pub iface: String,
}

/// Parses /proc/net/route (pure): addresses and masks in the kernel's byte order, as hex.
pub fn parse_proc_route(text: &str) -> Vec<Route> {
    let ip = |h: &str| {
        u32::from_str_radix(h, 16)
            .ok()
            .map(|n| Ipv4Addr::from(n.to_le_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (iface, dest, gw, mask) =
                (f.first()?, ip(f.get(1)?)?, ip(f.get(2)?)?, ip(f.get(7)?)?);
            let prefix = u32::from(mask).count_ones() as u8;
            Some(Route {
                dest: Ipv4Net::new(dest, prefix).ok()?.trunc(),
                gateway: (!gw.is_unspecified()).then_some(gw),
                iface: iface.to_string(),
            })
        })
        .collect()
}

/// The route the kernel picks for `ip` (longest prefix; pure).
pub fn route_to(routes: &[Route], ip: Ipv4Addr) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| r.dest.contains(&ip))
        .max_by_key(|r| r.dest.prefix_len())
}

/// This network namespace's IPv4 main routing table.
pub fn read_routes() -> Vec<Route> {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| parse_proc_route(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_pick_the_longest_prefix() {
        let t =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                 ens4\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                 ens4\t0000010A\tFE00000A\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let r = parse_proc_route(t);
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].dest, "10.1.0.0/24".parse::<Ipv4Net>().unwrap());
        assert_eq!(r[2].gateway, Some("10.0.0.254".parse().unwrap()));
        assert_eq!(r[1].gateway, None);
        let pick = |ip: &str| route_to(&r, ip.parse().unwrap()).unwrap().iface.clone();
        assert_eq!(pick("10.1.0.1"), "ens4");
        assert_eq!(pick("10.2.0.1"), "eth0");
        assert!(route_to(&r[1..], "10.2.0.1".parse().unwrap()).is_none());
    }

    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  1: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n\
  2: 0100580A:0045 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n";
    const TCP: &str = "  sl  local_address rem_address   st\n\
   0: 0100580A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n\
   1: 0100580A:0051 0200580A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1\n";
    const TCP6: &str =
        "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0\n\
   1: 0000000000000000FFFF00000100580A:1F90 00000000000000000000000000000000:0000 0A 0\n";

    #[test]
    fn proc_net_addresses_and_ports_parse() {
        let s = parse_proc_net(UDP, false);
        assert_eq!(
            s[0],
            Sock {
                addr: "0.0.0.0".parse().unwrap(),
                port: 67,
                state: 7,
                inode: 1
            }
        );
        assert_eq!(s[1].addr, "10.88.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s[1].port, 69);
        let t6 = parse_proc_net(TCP6, true);
        assert_eq!(t6[0].addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(t6[1].addr, "::ffff:10.88.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(t6[1].port, 8080);
    }

    #[test]
    fn listening_matches_address_wildcard_and_state() {
        let server: Ipv4Addr = "10.88.0.1".parse().unwrap();
        let udp = parse_proc_net(UDP, false);
        assert!(
            listening_on(&udp, false, 67, server).is_some(),
            "wildcard counts"
        );
        assert!(listening_on(&udp, false, 69, server).is_some());
        assert!(listening_on(&udp, false, 69, "10.88.0.2".parse().unwrap()).is_none());
        let tcp = parse_proc_net(TCP, false);
        assert!(listening_on(&tcp, true, 80, server).is_some());
        assert!(
            listening_on(&tcp, true, 81, server).is_none(),
            "an established socket is not listening"
        );
        let tcp6 = parse_proc_net(TCP6, true);
        assert!(listening_on(&tcp6, true, 80, server).is_some(), ":: counts");
        assert!(
            listening_on(&tcp6, true, 8080, server).is_some(),
            "v4-mapped counts"
        );
    }

    #[test]
    fn loopback_is_known_as_such() {
        assert!(is_loopback("lo"));
        assert!(!is_loopback("pxk-no-such0"));
    }

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

    #[test]
    fn a_socket_is_tied_to_its_process_by_inode() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        let sock = read_net("udp")
            .into_iter()
            .find(|x| x.port == port)
            .expect("our socket is listed");
        assert_ne!(sock.inode, 0);
        assert!(socket_inodes(std::process::id()).contains(&sock.inode));
    }
}
