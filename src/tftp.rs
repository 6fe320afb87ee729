//! Minimal TFTP read client (RFC 1350, 2347–2349) that doctor uses to fetch files the way a PXE ROM does.
//!
//! Only what a firmware client does is implemented: an octet-mode read request
//! asking for `blksize` and `tsize`, lock-step ACKs, retransmission on timeout, and
//! a transfer ID locked to the server's first reply.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const OP_RRQ: u16 = 1;
const OP_DATA: u16 = 3;
const OP_ACK: u16 = 4;
const OP_ERROR: u16 = 5;
const OP_OACK: u16 = 6;

/// Block size of RFC 1350, used when the server does not negotiate options.
pub const DEFAULT_BLKSIZE: u16 = 512;
/// RFC 2348 limits.
const MIN_BLKSIZE: u16 = 8;
const MAX_BLKSIZE: u16 = 65464;

const ERR_NOT_DEFINED: u16 = 0;
const ERR_ILLEGAL_OP: u16 = 4;
const ERR_UNKNOWN_TID: u16 = 5;
const ERR_OPTION: u16 = 8;

/// How a transfer is requested and how hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpOptions {
    /// Requested block size (RFC 2348); 1468 fills a 1500-byte Ethernet frame, as
    /// PXE ROMs usually ask for.
    pub blksize: u16,
    /// How long to wait for each reply before retransmitting.
    pub timeout: Duration,
    /// How many retransmissions of one packet before giving up.
    pub retries: u32,
    /// The local address to send from (a simulated client's own), else any.
    pub local: Option<std::net::IpAddr>,
}

impl Default for TftpOptions {
    fn default() -> Self {
        Self {
            blksize: 1468,
            timeout: Duration::from_secs(1),
            retries: 5,
            local: None,
        }
    }
}

/// What a finished transfer looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpStats {
    /// Bytes written to the output.
    pub bytes: u64,
    /// Block size in effect: the negotiated one, or 512 if the server ignored options.
    pub blksize: u16,
    /// File size the server announced in its OACK, if it did.
    pub tsize: Option<u64>,
    /// Time from sending the request to receiving the last block.
    pub elapsed: Duration,
}

/// Downloads `path` from the TFTP server at `server` into `out`.
pub fn fetch(
    server: SocketAddr,
    path: &str,
    out: &mut dyn Write,
    opts: &TftpOptions,
) -> Result<TftpStats> {
    if path.is_empty() || path.contains('\0') {
        bail!("invalid TFTP path {path:?}");
    }
    if !(MIN_BLKSIZE..=MAX_BLKSIZE).contains(&opts.blksize) {
        bail!(
            "blksize {} out of range {MIN_BLKSIZE}..={MAX_BLKSIZE}",
            opts.blksize
        );
    }
    if opts.timeout.is_zero() {
        bail!("TFTP timeout must be non-zero");
    }
    let bind: SocketAddr = match (opts.local, server.is_ipv4()) {
        (Some(ip), _) => SocketAddr::new(ip, 0),
        (None, true) => "0.0.0.0:0".parse()?,
        (None, false) => "[::]:0".parse()?,
    };
    let sock = UdpSocket::bind(bind).with_context(|| format!("binding UDP socket on {bind}"))?;
    let mut t = Transfer {
        sock,
        server,
        tid: None,
        opts,
        last_sent: rrq(path, opts.blksize),
        last_dest: server,
        buf: vec![0u8; 65536 + 4],
    };
    let start = Instant::now();
    t.send_last()
        .with_context(|| format!("sending read request for {path:?} to {server}"))?;

    let mut blksize = DEFAULT_BLKSIZE;
    let mut tsize = None;
    let mut expected: u16 = 1;
    let mut bytes: u64 = 0;
    let mut negotiated = false;
    let mut got_data = false;
    loop {
        let what = if got_data || negotiated {
            format!("block {expected} of {path:?}")
        } else {
            format!("reply to read request for {path:?}")
        };
        let n = t.recv(&what)?;
        let pkt = &t.buf[..n];
        let op = u16::from_be_bytes([pkt[0], pkt[1]]);
        match op {
            OP_ERROR => {
                let code = pkt
                    .get(2..4)
                    .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
                let msg = pkt.get(4..).and_then(cstr).unwrap_or("");
                bail!("TFTP error {code} ({msg}) from {server} for {path:?}");
            }
            // Once data flows, a late duplicate OACK carries no news.
            OP_OACK if got_data => {}
            // Our ACK 0 was lost and the server repeats its OACK.
            OP_OACK if negotiated => t.send_last()?,
            OP_OACK => match parse_oack(&pkt[2..], opts.blksize) {
                Ok((b, s)) => {
                    blksize = b;
                    tsize = s;
                    negotiated = true;
                    t.send(ack(0))?;
                }
                Err(e) => {
                    t.send_error(ERR_OPTION, "option negotiation failed");
                    return Err(e.context(format!("bad OACK from {server}")));
                }
            },
            OP_DATA if n >= 4 => {
                let block = u16::from_be_bytes([pkt[2], pkt[3]]);
                if block == expected {
                    let payload = &t.buf[4..n];
                    if payload.len() > usize::from(blksize) {
                        t.send_error(ERR_ILLEGAL_OP, "block larger than blksize");
                        bail!(
                            "server sent {} bytes in block {block}, more than blksize {blksize}",
                            payload.len()
                        );
                    }
                    if let Err(e) = out.write_all(payload) {
                        t.send_error(ERR_NOT_DEFINED, "client could not store data");
                        return Err(anyhow!(e).context(format!(
                            "writing block {block} of {path:?} (offset {bytes})"
                        )));
                    }
                    bytes += payload.len() as u64;
                    got_data = true;
                    let last = payload.len() < usize::from(blksize);
                    t.send(ack(block))?;
                    if last {
                        break;
                    }
                    // Block numbers roll over to 0 after 65535, as tftpd-hpa and
                    // most servers do for files larger than 65535 blocks.
                    expected = expected.wrapping_add(1);
                } else if got_data && block == expected.wrapping_sub(1) {
                    // Our previous ACK was lost; repeat it so the server moves on.
                    t.send_last()?;
                }
                // Anything else is a stale duplicate; the timeout handles real loss.
            }
            OP_DATA => {}
            _ => {
                t.send_error(ERR_ILLEGAL_OP, "unexpected packet");
                bail!("unexpected TFTP opcode {op} from {server} while waiting for {what}");
            }
        }
    }
    out.flush().context("flushing TFTP output")?;
    Ok(TftpStats {
        bytes,
        blksize,
        tsize,
        elapsed: start.elapsed(),
    })
}

struct Transfer<'a> {
    sock: UdpSocket,
    server: SocketAddr,
    /// The server's transfer ID: the address its first reply came from.
    tid: Option<SocketAddr>,
    opts: &'a TftpOptions,
    last_sent: Vec<u8>,
    last_dest: SocketAddr,
    buf: Vec<u8>,
}

impl Transfer<'_> {
    fn send(&mut self, pkt: Vec<u8>) -> Result<()> {
        self.last_sent = pkt;
        self.last_dest = self.tid.unwrap_or(self.server);
        self.send_last()
    }

    fn send_last(&self) -> Result<()> {
        self.sock
            .send_to(&self.last_sent, self.last_dest)
            .with_context(|| format!("sending to {}", self.last_dest))?;
        Ok(())
    }

    /// Best effort: the transfer is failing anyway, so a lost ERROR only means the
    /// server times out on its own.
    fn send_error(&self, code: u16, msg: &str) {
        if let Some(tid) = self.tid {
            let _ = self.sock.send_to(&error(code, msg), tid);
        }
    }

    /// Waits for the next valid packet from the server's TID, retransmitting the
    /// last packet on each timeout. Returns its length in `self.buf`.
    fn recv(&mut self, what: &str) -> Result<usize> {
        let mut attempts = 0;
        let mut deadline = Instant::now() + self.opts.timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                if attempts >= self.opts.retries {
                    bail!(
                        "timed out waiting for {what} from {} ({} retransmissions, {:?} each)",
                        self.tid.unwrap_or(self.server),
                        attempts,
                        self.opts.timeout
                    );
                }
                attempts += 1;
                self.send_last()?;
                deadline = Instant::now() + self.opts.timeout;
                continue;
            }
            self.sock
                .set_read_timeout(Some(deadline - now))
                .context("setting socket timeout")?;
            let (n, from) = match self.sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                // A stale ICMP error from an earlier datagram is not fatal: the
                // retransmission logic decides when to give up.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(anyhow!(e).context("receiving TFTP packet")),
            };
            if n < 2 {
                // Too short to carry an opcode: noise, and it must not lock the TID.
                continue;
            }
            match self.tid {
                None if from.ip() == self.server.ip() => self.tid = Some(from),
                None => continue,
                Some(tid) if tid != from => {
                    // RFC 1350: tell the stray sender, but keep the transfer going.
                    let _ = self
                        .sock
                        .send_to(&error(ERR_UNKNOWN_TID, "Unknown transfer ID"), from);
                    continue;
                }
                Some(_) => {}
            }
            return Ok(n);
        }
    }
}

fn rrq(path: &str, blksize: u16) -> Vec<u8> {
    let mut p = OP_RRQ.to_be_bytes().to_vec();
    for field in [path, "octet", "blksize", &blksize.to_string(), "tsize", "0"] {
        p.extend_from_slice(field.as_bytes());
        p.push(0);
    }
    p
}

fn ack(block: u16) -> Vec<u8> {
    let mut p = OP_ACK.to_be_bytes().to_vec();
    p.extend_from_slice(&block.to_be_bytes());
    p
}

fn error(code: u16, msg: &str) -> Vec<u8> {
    let mut p = OP_ERROR.to_be_bytes().to_vec();
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(msg.as_bytes());
    p.push(0);
    p
}

/// Reads a NUL-terminated string, tolerating a missing terminator at the end of
/// the packet as some servers send.
fn cstr(b: &[u8]) -> Option<&str> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    std::str::from_utf8(&b[..end]).ok()
}

/// Returns the accepted blksize and announced tsize. A server may only lower the
/// blksize we asked for and may only answer options we sent (RFC 2347).
fn parse_oack(body: &[u8], requested: u16) -> Result<(u16, Option<u64>)> {
    let mut fields = body.split(|&c| c == 0);
    let mut blksize = DEFAULT_BLKSIZE;
    let mut tsize = None;
    // `split` yields a trailing empty piece after the final NUL.
    while let Some(name) = fields.next() {
        if name.is_empty() {
            continue;
        }
        let value = fields
            .next()
            .ok_or_else(|| anyhow!("option without a value"))?;
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        let value = std::str::from_utf8(value)
            .ok()
            .ok_or_else(|| anyhow!("option {name} has a non-UTF-8 value"))?;
        match name.as_str() {
            "blksize" => {
                let b: u16 = value
                    .parse()
                    .with_context(|| format!("blksize value {value:?}"))?;
                if !(MIN_BLKSIZE..=requested).contains(&b) {
                    bail!("server chose blksize {b}, outside {MIN_BLKSIZE}..={requested}");
                }
                blksize = b;
            }
            "tsize" => {
                tsize = Some(
                    value
                        .parse()
                        .with_context(|| format!("tsize value {value:?}"))?,
                );
            }
            other => bail!("server acknowledged option {other:?} that was not requested"),
        }
    }
    Ok((blksize, tsize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::JoinHandle;

    #[derive(Clone, Default)]
    struct Fake {
        /// Answer options with an OACK capped at this blksize; `None` ignores them.
        oack_max: Option<u16>,
        error: Option<(u16, &'static str)>,
        /// Withhold this block the first time, as if it was lost on the wire.
        drop_once: Option<usize>,
        /// Send this block twice in a row.
        duplicate: Option<usize>,
        /// Have a third party send a packet to the client after block 1.
        stray: bool,
        silent: bool,
    }

    #[derive(Debug, Default)]
    struct Report {
        rrqs: usize,
        options: Vec<(String, String)>,
        stray_got: Option<Vec<u8>>,
        highest_block_wrapped: bool,
    }

    fn local() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").unwrap()
    }

    fn parse_rrq(p: &[u8]) -> (String, Vec<(String, String)>) {
        assert_eq!(&p[..2], &OP_RRQ.to_be_bytes());
        let parts: Vec<String> = p[2..]
            .split(|&c| c == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        assert_eq!(parts[1], "octet");
        let opts = parts[2..]
            .chunks(2)
            .filter(|c| c.len() == 2 && !c[0].is_empty())
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect();
        (parts[0].clone(), opts)
    }

    /// A lock-step server good enough to drive the client through each case.
    fn serve(fake: Fake, data: Vec<u8>) -> (SocketAddr, JoinHandle<Report>) {
        let listen = local();
        let addr = listen.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut rep = Report::default();
            let mut buf = vec![0u8; 70000];
            listen
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let (n, client) = match listen.recv_from(&mut buf) {
                Ok(r) => r,
                Err(_) => return rep,
            };
            rep.rrqs = 1;
            let (_, options) = parse_rrq(&buf[..n]);
            rep.options = options.clone();
            if fake.silent {
                while listen.recv_from(&mut buf).is_ok() {
                    rep.rrqs += 1;
                }
                return rep;
            }
            let tid = local();
            tid.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            if let Some((code, msg)) = fake.error {
                tid.send_to(&error(code, msg), client).unwrap();
                return rep;
            }
            let mut blksize = 512usize;
            if let Some(max) = fake.oack_max {
                let req: u16 = options
                    .iter()
                    .find(|(k, _)| k == "blksize")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap();
                blksize = usize::from(req.min(max));
                let mut p = OP_OACK.to_be_bytes().to_vec();
                for f in [
                    "blksize",
                    &blksize.to_string(),
                    "tsize",
                    &data.len().to_string(),
                ] {
                    p.extend_from_slice(f.as_bytes());
                    p.push(0);
                }
                tid.send_to(&p, client).unwrap();
                let (n, _) = tid.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..n], &ack(0)[..]);
            }
            let mut dropped = false;
            let mut k = 1usize;
            loop {
                let start = (k - 1) * blksize;
                let chunk = &data[start.min(data.len())..(start + blksize).min(data.len())];
                let block = (k % 65536) as u16;
                let mut pkt = OP_DATA.to_be_bytes().to_vec();
                pkt.extend_from_slice(&block.to_be_bytes());
                pkt.extend_from_slice(chunk);
                if fake.drop_once == Some(k) && !dropped {
                    dropped = true;
                } else {
                    tid.send_to(&pkt, client).unwrap();
                }
                if fake.duplicate == Some(k) {
                    tid.send_to(&pkt, client).unwrap();
                }
                if fake.stray && k == 1 {
                    let third = local();
                    third
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    third.send_to(&pkt, client).unwrap();
                    let (n, _) = third.recv_from(&mut buf).unwrap();
                    rep.stray_got = Some(buf[..n].to_vec());
                }
                loop {
                    let (n, from) = tid.recv_from(&mut buf).expect("client went quiet");
                    assert_eq!(from, client);
                    if buf[..n] == ack(block)[..] {
                        break;
                    }
                    // A repeated ACK of the previous block means our DATA was lost.
                    tid.send_to(&pkt, client).unwrap();
                }
                if k > 65535 && block < 5 {
                    rep.highest_block_wrapped = true;
                }
                if chunk.len() < blksize {
                    return rep;
                }
                k += 1;
            }
        });
        (addr, h)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn quick() -> TftpOptions {
        TftpOptions {
            blksize: 1468,
            timeout: Duration::from_millis(200),
            retries: 3,
            local: None,
        }
    }

    #[test]
    fn options_accepted() {
        let d = data(10_000);
        let (addr, h) = serve(
            Fake {
                oack_max: Some(1024),
                ..Default::default()
            },
            d.clone(),
        );
        let mut out = Vec::new();
        let st = fetch(addr, "pxelinux.0", &mut out, &quick()).unwrap();
        let rep = h.join().unwrap();
        assert_eq!(out, d);
        assert_eq!(st.bytes, 10_000);
        assert_eq!(st.blksize, 1024);
        assert_eq!(st.tsize, Some(10_000));
        assert!(rep
            .options
            .contains(&("blksize".to_string(), "1468".to_string())));
        assert!(rep
            .options
            .contains(&("tsize".to_string(), "0".to_string())));
    }

    #[test]
    fn options_ignored_falls_back_to_512() {
        // An exact multiple of 512 needs the empty final block.
        let d = data(512 * 5);
        let (addr, h) = serve(Fake::default(), d.clone());
        let mut out = Vec::new();
        let st = fetch(addr, "f", &mut out, &quick()).unwrap();
        h.join().unwrap();
        assert_eq!(out, d);
        assert_eq!(st.blksize, 512);
        assert_eq!(st.tsize, None);
    }

    #[test]
    fn error_packet_is_reported() {
        let (addr, h) = serve(
            Fake {
                error: Some((1, "File not found")),
                ..Default::default()
            },
            Vec::new(),
        );
        let err = fetch(addr, "missing", &mut Vec::new(), &quick()).unwrap_err();
        h.join().unwrap();
        assert!(
            err.to_string().contains("TFTP error 1 (File not found)"),
            "{err}"
        );
    }

    #[test]
    fn lost_packet_is_retransmitted() {
        for drop in [1, 3] {
            let d = data(5000);
            let (addr, h) = serve(
                Fake {
                    oack_max: Some(1000),
                    drop_once: Some(drop),
                    ..Default::default()
                },
                d.clone(),
            );
            let mut out = Vec::new();
            let st = fetch(addr, "f", &mut out, &quick()).unwrap();
            h.join().unwrap();
            assert_eq!(out, d);
            // One client timeout was needed to recover.
            assert!(st.elapsed >= Duration::from_millis(200), "{st:?}");
        }
    }

    #[test]
    fn duplicate_data_is_ignored() {
        let d = data(3000);
        let (addr, h) = serve(
            Fake {
                duplicate: Some(2),
                ..Default::default()
            },
            d.clone(),
        );
        let mut out = Vec::new();
        fetch(addr, "f", &mut out, &quick()).unwrap();
        h.join().unwrap();
        assert_eq!(out, d);
    }

    #[test]
    fn block_numbers_wrap_around() {
        let d = data(8 * 65536 + 8 * 3 + 5);
        let (addr, h) = serve(
            Fake {
                oack_max: Some(8),
                ..Default::default()
            },
            d.clone(),
        );
        let mut out = Vec::new();
        let opts = TftpOptions {
            blksize: 8,
            ..quick()
        };
        let st = fetch(addr, "big", &mut out, &opts).unwrap();
        let rep = h.join().unwrap();
        assert!(rep.highest_block_wrapped);
        assert_eq!(st.bytes, d.len() as u64);
        assert!(out == d);
    }

    #[test]
    fn stray_sender_gets_error_5_and_transfer_continues() {
        let d = data(4000);
        let (addr, h) = serve(
            Fake {
                stray: true,
                ..Default::default()
            },
            d.clone(),
        );
        let mut out = Vec::new();
        fetch(addr, "f", &mut out, &quick()).unwrap();
        let rep = h.join().unwrap();
        assert_eq!(out, d);
        let stray = rep.stray_got.unwrap();
        assert_eq!(&stray[..4], &[0, 5, 0, 5]);
    }

    #[test]
    fn silent_server_times_out_after_bounded_retries() {
        let (addr, h) = serve(
            Fake {
                silent: true,
                ..Default::default()
            },
            Vec::new(),
        );
        let opts = TftpOptions {
            timeout: Duration::from_millis(50),
            retries: 2,
            ..quick()
        };
        let t = Instant::now();
        let err = fetch(addr, "f", &mut Vec::new(), &opts).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(2));
        let rep = h.join().unwrap();
        assert_eq!(rep.rrqs, 3);
    }

    #[test]
    fn oack_validation() {
        assert_eq!(
            parse_oack(b"blksize\x001024\x00tsize\x0099\x00", 1468).unwrap(),
            (1024, Some(99))
        );
        assert_eq!(
            parse_oack(b"TSIZE\x005\x00", 1468).unwrap(),
            (DEFAULT_BLKSIZE, Some(5))
        );
        assert!(parse_oack(b"blksize\x002000\x00", 1468).is_err());
        assert!(parse_oack(b"blksize\x004\x00", 1468).is_err());
        assert!(parse_oack(b"windowsize\x004\x00", 1468).is_err());
        assert!(parse_oack(b"tsize\x00", 1468).is_err());
        assert!(parse_oack(b"tsize\x00-1\x00", 1468).is_err());
    }

    #[test]
    fn bad_arguments_are_rejected_without_network() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(fetch(addr, "", &mut Vec::new(), &quick()).is_err());
        assert!(fetch(addr, "a\0b", &mut Vec::new(), &quick()).is_err());
        let o = TftpOptions {
            blksize: 4,
            ..quick()
        };
        assert!(fetch(addr, "a", &mut Vec::new(), &o).is_err());
        assert_eq!(TftpOptions::default().blksize, 1468);
    }
}
