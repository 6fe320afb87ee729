//! Looks for other DHCP servers on a segment before pxe-kit answers there: a PXE client's
//! broadcast DISCOVER (never a REQUEST, so nobody commits a lease) sent as a raw Ethernet
//! frame, and every answer with its transaction id collected for a fixed window. `init`
//! refuses a segment where another server answers; `doctor` reports them (network.other-dhcp).
//!
//! Raw frames (AF_PACKET) rather than a UDP socket: a DHCP client on this host may hold
//! udp/68, and a broadcast from a UDP socket would also reach this host's own server, whose
//! answer is not news. Every received frame is hostile input: parsed with bounds checks only.
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dhcproto::v4::{
    Architecture, DhcpOption, Encodable, Encoder, Flags, Message, MessageType, OptionCode,
};
use nix::sys::socket::{self, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockProtocol, SockType};
use serde::Serialize;

use crate::config::Config;

/// How long answers are collected. ISC dhcpd with its default ping-check answers a new client
/// only after a second of pinging the address; the DISCOVER is repeated once at `RESEND` in
/// case the first was lost, which still leaves that server a second to answer it.
pub const WINDOW: Duration = Duration::from_millis(3000);
const RESEND: Duration = Duration::from_millis(1500);

/// The probe's client hardware address: locally administered ("pxk" + 1), so it is never a
/// real machine's and a server's log shows who asked.
pub const PROBE_MAC: [u8; 6] = [0x02, b'p', b'x', b'k', 0x00, 0x01];

/// What one other server offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The server's own name for itself (option 54), else the answer's source address.
    pub server: Ipv4Addr,
    /// `address`: it offers leases; `proxy`: a proxyDHCP (PXE) answer with no address.
    pub kind: Kind,
    /// The answer's source MAC and IP (a relay's, when the server is behind one).
    pub source_mac: String,
    pub source_ip: Ipv4Addr,
    /// The relay agent address (giaddr), when the answer came through a relay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<Ipv4Addr>,
    /// The offered address (yiaddr); absent in a proxy answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_server: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_file: Option<String>,
    /// Every option of the answer, in its order, rendered for people.
    pub options: Vec<Opt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Address,
    Proxy,
}

/// One DHCP option of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opt {
    pub code: u8,
    pub name: &'static str,
    pub value: String,
}

impl Answer {
    /// One line: who answered and what it offered.
    pub fn describe(&self) -> String {
        let mut s = match self.kind {
            Kind::Address => format!(
                "DHCP server {} offered {}",
                self.server,
                self.offered.map_or("no address".into(), |a| a.to_string())
            ),
            Kind::Proxy => format!("proxyDHCP (PXE) server {}", self.server),
        };
        if let Some(r) = self.relay {
            s.push_str(&format!(" through relay {r}"));
        }
        if let Some(f) = &self.boot_file {
            s.push_str(&format!(", boot file {f:?}"));
        }
        if let Some(n) = self.next_server {
            s.push_str(&format!(", next-server {n}"));
        }
        s.push_str(&format!(" (from {} {})", self.source_ip, self.source_mac));
        s
    }
}

/// Broadcasts the DISCOVER on `interface` and returns every answer within `window`, one per
/// server (the first of each), this host's own servers included (see `foreign`).
pub fn probe(interface: &str, window: Duration) -> Result<Vec<Answer>> {
    let index = nix::net::if_::if_nametoindex(interface)
        .with_context(|| format!("interface {interface} does not exist here"))?;
    let src_mac = crate::netinfo::mac(interface).unwrap_or(PROBE_MAC);
    let xid: u32 = Message::default().xid();
    let frame = discover_frame(src_mac, xid)?;
    let sock = open(index).with_context(|| {
        format!("opening a raw socket on {interface} to look for other DHCP servers (needs root or CAP_NET_RAW)")
    })?;
    let start = Instant::now();
    let mut next_send = start;
    let mut out: Vec<Answer> = Vec::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= start + window {
            break;
        }
        if now >= next_send {
            socket::send(sock.as_raw_fd(), &frame, MsgFlags::empty())
                .with_context(|| format!("sending a DHCP DISCOVER on {interface}"))?;
            next_send += RESEND;
        }
        let until = (start + window).min(next_send);
        let wait = until.saturating_duration_since(Instant::now());
        set_wait(&sock, wait)?;
        let n = match socket::recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
            Err(e) => bail!("reading DHCP answers on {interface}: {e}"),
        };
        if let Some(a) = parse_frame(&buf[..n.min(buf.len())], xid) {
            if !out.iter().any(|o| o.server == a.server && o.kind == a.kind) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// The answers that are not this server's own: option 54 (or the source address) is none of
/// `own` (the settings' server address and the interface's addresses).
pub fn foreign(answers: Vec<Answer>, own: &[Ipv4Addr]) -> Vec<Answer> {
    answers
        .into_iter()
        .filter(|a| !own.contains(&a.server))
        .collect()
}

/// Whether the settings' interface is here to probe: it exists in this network namespace
/// and, for a staged root, carries the server address (a staged root whose interface name
/// merely matches one of this host's is not served here, and its segment is not ours to ask).
pub fn interface_here(cfg: &Config, live: bool) -> bool {
    let i = &cfg.interface;
    if !crate::netinfo::interface_exists(i) || crate::netinfo::is_loopback(i) {
        return false;
    }
    live || crate::netinfo::ipv4_addrs(i).is_ok_and(|a| a.iter().any(|n| n.addr() == cfg.server_ip))
}

/// Who answered on the settings' interface: other servers, and pxe-kit's own (this server by
/// its addresses, and its failover partner), which are reported but never count against it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Survey {
    pub window_ms: u64,
    pub others: Vec<Answer>,
    pub own: Vec<Answer>,
}

/// Probes the settings' interface, or None when it is down (nothing can answer there).
pub fn survey(cfg: &Config) -> Result<Option<Survey>> {
    if !crate::netinfo::is_up(&cfg.interface) {
        return Ok(None);
    }
    let mut own: Vec<Ipv4Addr> = crate::netinfo::ipv4_addrs(&cfg.interface)
        .unwrap_or_default()
        .iter()
        .map(|n| n.addr())
        .collect();
    own.push(cfg.server_ip);
    // The partner of a failover pair answers on the same segment by design.
    own.extend(cfg.peers.as_ref().map(|p| p.partner));
    let all = probe(&cfg.interface, WINDOW)?;
    let (mine, others): (Vec<Answer>, Vec<Answer>) =
        all.into_iter().partition(|a| own.contains(&a.server));
    Ok(Some(Survey {
        window_ms: WINDOW.as_millis() as u64,
        others,
        own: mine,
    }))
}

/// An AF_PACKET socket bound to the interface, receiving its IPv4 frames.
fn open(index: u32) -> Result<OwnedFd> {
    let fd = socket::socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::EthIp,
    )?;
    // SAFETY: a zeroed sockaddr_ll is valid; nix has no safe constructor for a link address.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    sll.sll_ifindex = index as i32;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the pointer and length describe the sockaddr_ll above, alive for the call.
    let addr = unsafe {
        <LinkAddr as socket::SockaddrLike>::from_raw(
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            Some(len),
        )
    }
    .context("building the interface's link address")?;
    socket::bind(fd.as_raw_fd(), &addr)?;
    Ok(fd)
}

/// The next receive waits at most `wait` for a frame (the socket blocks until then).
fn set_wait(sock: &OwnedFd, wait: Duration) -> Result<()> {
    let wait = wait.max(Duration::from_millis(1));
    let tv = nix::sys::time::TimeVal::new(wait.as_secs() as _, wait.subsec_micros() as _);
    socket::setsockopt(sock, socket::sockopt::ReceiveTimeout, &tv)
        .context("setting the DHCP probe's receive timeout")?;
    Ok(())
}

/// The DISCOVER a BIOS PXE ROM sends, in an Ethernet frame to the broadcast address:
/// 0.0.0.0:68 → 255.255.255.255:67, broadcast flag set (so answers are broadcast, whatever
/// this host's IP stack would do with a unicast to an address it does not have).
pub fn discover_frame(src_mac: [u8; 6], xid: u32) -> Result<Vec<u8>> {
    let z = Ipv4Addr::UNSPECIFIED;
    let mut msg = Message::new_with_id(xid, z, z, z, z, &PROBE_MAC);
    msg.set_flags(Flags::default().set_broadcast());
    let o = msg.opts_mut();
    o.insert(DhcpOption::MessageType(MessageType::Discover));
    o.insert(DhcpOption::MaxMessageSize(1260));
    o.insert(DhcpOption::ClassIdentifier(
        b"PXEClient:Arch:00000:UNDI:002001".to_vec(),
    ));
    o.insert(DhcpOption::ClientSystemArchitecture(Architecture::from(0)));
    o.insert(DhcpOption::ParameterRequestList(vec![
        OptionCode::SubnetMask,
        OptionCode::Router,
        OptionCode::DomainNameServer,
        OptionCode::ClassIdentifier,
        OptionCode::ServerIdentifier,
        OptionCode::TFTPServerName,
        OptionCode::BootfileName,
    ]));
    let mut dhcp = Vec::new();
    msg.encode(&mut Encoder::new(&mut dhcp))
        .context("encoding the DHCP DISCOVER")?;
    let udp_len = 8 + dhcp.len();
    let ip_len = 20 + udp_len;
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[8] = 64; // TTL
    ip[9] = 17; // UDP
    ip[16..20].copy_from_slice(&[255; 4]);
    let sum = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&68u16.to_be_bytes());
    f.extend_from_slice(&67u16.to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    // UDP checksum 0: "none", allowed over IPv4 (RFC 768), and every DHCP server accepts it.
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&dhcp);
    Ok(f)
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(s))
}

fn nonzero(a: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
    a.filter(|a| !a.is_unspecified())
}

/// A received Ethernet frame as an answer to our DISCOVER `xid`, or None for anything else
/// (other traffic, other clients' answers, truncated or malformed frames).
pub fn parse_frame(f: &[u8], xid: u32) -> Option<Answer> {
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = f.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || ihl < 20 || *ip.get(9)? != 17 {
        return None;
    }
    let source_ip = ipv4(ip, 12)?;
    let udp = ip.get(ihl..)?;
    if u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]) != 68 {
        return None;
    }
    // The UDP length bounds the payload (Ethernet pads short frames).
    let udp_len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    let d = udp.get(8..udp_len.max(8).min(udp.len()))?;
    // BOOTREPLY for our xid and our chaddr.
    if *d.first()? != 2 || d.get(4..8)? != xid.to_be_bytes() || d.get(28..34)? != PROBE_MAC {
        return None;
    }
    if d.get(236..240)? != [99, 130, 83, 99] {
        return None;
    }
    let options = parse_options(d.get(240..)?);
    let opt = |code: u8| options.iter().find(|o| o.0 == code).map(|o| &o.1[..]);
    // Only an OFFER (53 = 2) is an answer to a DISCOVER.
    if opt(53) != Some(&[2][..]) {
        return None;
    }
    let yiaddr = nonzero(ipv4(d, 16));
    let server = opt(54)
        .and_then(|v| ipv4(v, 0))
        .filter(|a| !a.is_unspecified())
        .unwrap_or(source_ip);
    let pxe = opt(60).is_some_and(|v| v.starts_with(b"PXEClient"));
    let kind = if yiaddr.is_none() && pxe {
        Kind::Proxy
    } else {
        Kind::Address
    };
    let file_field = cstr(d.get(108..236)?);
    let boot_file = opt(67).map(text).or(file_field).filter(|s| !s.is_empty());
    Some(Answer {
        server,
        kind,
        source_mac: mac_str(f.get(6..12)?),
        source_ip,
        relay: nonzero(ipv4(d, 24)),
        offered: yiaddr,
        next_server: nonzero(ipv4(d, 20)),
        boot_file,
        options: options.iter().map(|(c, v)| render(*c, v)).collect(),
    })
}

/// The TLV options (pad 0 skipped, end 255 stops); a truncated last option is dropped.
fn parse_options(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((&code, rest)) = b.split_first() {
        match code {
            0 => b = rest,
            255 => break,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    break;
                };
                let Some(v) = rest.get(..usize::from(len)) else {
                    break;
                };
                out.push((code, v.to_vec()));
                b = &rest[v.len()..];
            }
        }
    }
    out
}

/// A NUL-terminated text field (sname, file), printable, or None when empty.
fn cstr(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Some(text(&b[..end])).filter(|s| !s.is_empty())
}

/// Bytes as text a terminal shows safely: control and non-ASCII bytes escaped.
fn text(b: &[u8]) -> String {
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

fn mac_str(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn render(code: u8, v: &[u8]) -> Opt {
    let addrs = || {
        if v.is_empty() || !v.len().is_multiple_of(4) {
            return hex::encode(v);
        }
        v.chunks(4)
            .filter_map(|c| ipv4(c, 0))
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let secs = || match <[u8; 4]>::try_from(v) {
        Ok(b) => format!("{} s", u32::from_be_bytes(b)),
        Err(_) => hex::encode(v),
    };
    let (name, value) = match code {
        1 => ("subnet-mask", addrs()),
        3 => ("routers", addrs()),
        6 => ("domain-name-servers", addrs()),
        12 => ("host-name", text(v)),
        15 => ("domain-name", text(v)),
        28 => ("broadcast-address", addrs()),
        43 => ("vendor-encapsulated-options", hex::encode(v)),
        51 => ("lease-time", secs()),
        53 => ("message-type", hex::encode(v)),
        54 => ("server-identifier", addrs()),
        58 => ("renewal-time", secs()),
        59 => ("rebinding-time", secs()),
        60 => ("vendor-class-identifier", text(v)),
        66 => ("tftp-server-name", text(v)),
        67 => ("bootfile-name", text(v)),
        97 => ("client-machine-identifier", hex::encode(v)),
        _ => ("", hex::encode(v)),
    };
    Opt { code, name, value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An OFFER as a server sends it, in a frame, with `opts` as raw TLVs.
    fn offer(xid: u32, yiaddr: [u8; 4], giaddr: [u8; 4], opts: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 240];
        d[0] = 2;
        d[1] = 1;
        d[2] = 6;
        d[4..8].copy_from_slice(&xid.to_be_bytes());
        d[16..20].copy_from_slice(&yiaddr);
        d[24..28].copy_from_slice(&giaddr);
        d[28..34].copy_from_slice(&PROBE_MAC);
        d[108..118].copy_from_slice(b"pxelinux.0");
        d[236..240].copy_from_slice(&[99, 130, 83, 99]);
        d.extend_from_slice(opts);
        d.push(255);
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x52, 0x54, 0, 0, 0, 9]);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&[10, 9, 0, 2]);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&67u16.to_be_bytes());
        f.extend_from_slice(&68u16.to_be_bytes());
        f.extend_from_slice(&((8 + d.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&d);
        f
    }

    #[test]
    fn an_offer_names_its_server_by_option_54() {
        let f = offer(
            7,
            [10, 9, 0, 50],
            [0; 4],
            &[53, 1, 2, 54, 4, 10, 9, 0, 1, 51, 4, 0, 0, 2, 88],
        );
        let a = parse_frame(&f, 7).expect("an answer");
        assert_eq!(a.server, Ipv4Addr::new(10, 9, 0, 1));
        assert_eq!(a.source_ip, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(a.kind, Kind::Address);
        assert_eq!(a.offered, Some(Ipv4Addr::new(10, 9, 0, 50)));
        assert_eq!(a.boot_file.as_deref(), Some("pxelinux.0"));
        assert!(a
            .options
            .iter()
            .any(|o| o.name == "lease-time" && o.value == "600 s"));
        assert!(
            a.describe()
                .contains("DHCP server 10.9.0.1 offered 10.9.0.50"),
            "{}",
            a.describe()
        );
        // Another client's answer, or one that is not an OFFER, is not ours.
        assert!(parse_frame(&f, 8).is_none());
        let ack = offer(7, [10, 9, 0, 50], [0; 4], &[53, 1, 5]);
        assert!(parse_frame(&ack, 7).is_none());
    }

    #[test]
    fn a_proxy_answer_and_a_relayed_one() {
        let mut o = vec![53, 1, 2, 54, 4, 10, 9, 0, 3, 60, 9];
        o.extend_from_slice(b"PXEClient");
        let a = parse_frame(&offer(1, [0; 4], [0; 4], &o), 1).unwrap();
        assert_eq!(a.kind, Kind::Proxy);
        assert!(a.describe().starts_with("proxyDHCP (PXE) server 10.9.0.3"));
        let r = parse_frame(&offer(1, [10, 8, 0, 9], [10, 8, 0, 254], &[53, 1, 2]), 1).unwrap();
        // No option 54: named by the source address (the relay's).
        assert_eq!(r.server, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(r.relay, Some(Ipv4Addr::new(10, 8, 0, 254)));
    }

    #[test]
    fn the_discover_is_a_pxe_broadcast_with_a_valid_header() {
        let f = discover_frame([2, 0, 0, 0, 0, 1], 0x1234).unwrap();
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(ip_checksum(&f[14..34]), 0, "header checksum verifies to 0");
        assert_eq!(&f[34..38], &[0, 68, 0, 67]);
        let d = &f[42..];
        assert_eq!(d[0], 1);
        assert_eq!(&d[10..12], &[0x80, 0]);
        let opts = parse_options(&d[240..]);
        assert!(opts.contains(&(53, vec![1])));
        assert!(opts
            .iter()
            .any(|(c, v)| *c == 60 && v.starts_with(b"PXEClient")));
        assert!(opts.iter().any(|(c, _)| *c == 93));
    }

    #[test]
    fn own_servers_are_not_foreign() {
        let f = offer(7, [10, 9, 0, 50], [0; 4], &[53, 1, 2, 54, 4, 10, 9, 0, 1]);
        let a = parse_frame(&f, 7).unwrap();
        assert!(foreign(vec![a.clone()], &[Ipv4Addr::new(10, 9, 0, 1)]).is_empty());
        assert_eq!(foreign(vec![a], &[Ipv4Addr::new(10, 9, 0, 7)]).len(), 1);
    }

    proptest! {
        /// Any bytes, and any corruption of a valid answer, parse without a panic.
        #[test]
        fn hostile_frames_never_panic(b in proptest::collection::vec(any::<u8>(), 0..700)) {
            let _ = parse_frame(&b, 7);
        }

        #[test]
        fn corrupted_answers_never_panic(
            cut in 0usize..400,
            at in 0usize..400,
            byte in any::<u8>(),
            opts in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut o = vec![53, 1, 2];
            o.extend_from_slice(&opts);
            let mut f = offer(7, [10, 9, 0, 50], [0; 4], &o);
            if at < f.len() {
                f[at] = byte;
            }
            f.truncate(cut.max(1) + 14);
            if let Some(a) = parse_frame(&f, 7) {
                let _ = a.describe();
            }
        }
    }
}
