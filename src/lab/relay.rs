//! `lab boot --latency` where the kernel has no netem qdisc (containers and minimal kernels
//! often lack `sch_netem`): a userspace relay between QEMU's UDP socket netdev and the lab's
//! tap that holds every Ethernet frame for a fixed one-way delay in each direction. Runs as
//! `pxe-kit lab relay` inside the namespace, started by the lab's supervisor.
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// `TUNSETIFF` from <linux/if_tun.h>.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// The `struct ifreq` TUNSETIFF takes: the name, then the flags (the union is 24 bytes).
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// An ifreq naming `tap` as a tap without packet information headers (raw Ethernet frames,
/// what QEMU's socket netdev sends).
fn ifreq(tap: &str) -> Result<IfReq> {
    if tap.is_empty() || tap.len() >= libc::IFNAMSIZ || tap.contains('\0') {
        bail!("{tap:?} is not a valid interface name");
    }
    let mut r = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    r.name[..tap.len()].copy_from_slice(tap.as_bytes());
    Ok(r)
}

/// Attaches to the existing tap `tap` (created by the lab with `ip tuntap add`).
fn open_tap(tap: &str) -> Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .context("opening /dev/net/tun")?;
    let mut req = ifreq(tap)?;
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `req` is laid out as.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("attaching to {tap}"));
    }
    Ok(f)
}

/// Frames waiting for their time, oldest first: a fixed delay keeps them in order.
pub struct DelayLine {
    delay: Duration,
    queue: VecDeque<(Instant, Vec<u8>)>,
}

impl DelayLine {
    pub fn new(delay: Duration) -> DelayLine {
        DelayLine {
            delay,
            queue: VecDeque::new(),
        }
    }

    pub fn push(&mut self, now: Instant, frame: Vec<u8>) {
        self.queue.push_back((now + self.delay, frame));
    }

    /// The frames due at `now`.
    pub fn due(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(t, _)| *t <= now) {
            out.push(self.queue.pop_front().expect("checked").1);
        }
        out
    }

    /// When the next frame is due.
    pub fn next(&self) -> Option<Instant> {
        self.queue.front().map(|(t, _)| *t)
    }
}

/// Sends each frame from `rx` once its delay has passed. Sleeps to just short of the due time,
/// then spins: thread sleeps overshoot by ~50–100 µs, a fifth of the smallest delay we model.
fn deliver(rx: Receiver<(Instant, Vec<u8>)>, delay: Duration, mut send: impl FnMut(&[u8])) {
    let mut line = DelayLine::new(delay);
    loop {
        let now = Instant::now();
        for f in line.due(now) {
            send(&f);
        }
        let wait = line
            .next()
            .map(|t| t.saturating_duration_since(Instant::now()));
        let got = match wait {
            None => match rx.recv() {
                Ok(x) => Some(x),
                Err(_) => return,
            },
            Some(w) if w > Duration::from_micros(200) => {
                rx.recv_timeout(w - Duration::from_micros(150)).ok()
            }
            Some(_) => {
                std::hint::spin_loop();
                rx.try_recv().ok()
            }
        };
        if let Some((at, frame)) = got {
            // Stamped when read, so time spent queued in the channel counts.
            line.queue.push_back((at + delay, frame));
        }
    }
}

/// Relays frames between QEMU (UDP on loopback: we listen on `listen`, QEMU on `qemu`) and
/// the tap, each way `delay` late. Runs until killed.
pub fn run(tap: &str, listen: u16, qemu: u16, delay: Duration) -> Result<()> {
    let tap_r = open_tap(tap)?;
    let mut tap_w = tap_r.try_clone().context("duplicating the tap handle")?;
    let sock = UdpSocket::bind(("127.0.0.1", listen))
        .with_context(|| format!("binding 127.0.0.1:{listen}"))?;
    let sock_w = sock.try_clone().context("duplicating the UDP socket")?;
    println!(
        "relay: {tap} <-> QEMU udp 127.0.0.1:{qemu}, {} ms each way",
        delay.as_secs_f64() * 1000.0
    );

    let (to_tap, from_vm) = channel::<(Instant, Vec<u8>)>();
    let (to_vm, from_tap) = channel::<(Instant, Vec<u8>)>();
    let vm_to_tap = std::thread::spawn(move || {
        deliver(from_vm, delay, |f| {
            let _ = tap_w.write(f);
        })
    });
    let tap_to_vm = std::thread::spawn(move || {
        deliver(from_tap, delay, |f| {
            // QEMU may not be listening yet (or any more): such frames are lost, as on a wire.
            let _ = sock_w.send_to(f, ("127.0.0.1", qemu));
        })
    });
    let reader = std::thread::spawn(move || {
        let mut tap_r = tap_r;
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = tap_r.read(&mut buf) {
            if to_vm.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = sock.recv_from(&mut buf).context("receiving from QEMU")?;
        if to_tap.send((Instant::now(), buf[..n].to_vec())).is_err() {
            break;
        }
    }
    let _ = (vm_to_tap.join(), tap_to_vm.join(), reader.join());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_leave_in_order_after_the_delay() {
        let t = Instant::now();
        let mut l = DelayLine::new(Duration::from_millis(5));
        l.push(t, vec![1]);
        l.push(t + Duration::from_millis(1), vec![2]);
        assert!(l.due(t + Duration::from_millis(4)).is_empty());
        assert_eq!(l.next(), Some(t + Duration::from_millis(5)));
        assert_eq!(l.due(t + Duration::from_millis(5)), vec![vec![1]]);
        assert_eq!(l.due(t + Duration::from_millis(9)), vec![vec![2]]);
        assert_eq!(l.next(), None);
    }

    #[test]
    fn ifreq_names_a_tap_without_packet_info() {
        let r = ifreq("pxk-tap0").unwrap();
        assert_eq!(&r.name[..9], b"pxk-tap0\0");
        assert_eq!(r.flags as i32, libc::IFF_TAP | libc::IFF_NO_PI);
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
        assert!(ifreq("a-name-longer-than-15").is_err());
    }

    #[test]
    fn delivery_waits_for_the_delay() {
        let (tx, rx) = channel();
        let (out_tx, out_rx) = channel();
        let h = std::thread::spawn(move || {
            deliver(rx, Duration::from_millis(20), |f| {
                let _ = out_tx.send((Instant::now(), f.to_vec()));
            })
        });
        let sent = Instant::now();
        tx.send((sent, vec![7])).unwrap();
        let (at, f) = out_rx.recv_timeout(Duration::from_secs(2)).unwrap();
        assert_eq!(f, vec![7]);
        let took = at - sent;
        assert!(took >= Duration::from_millis(20), "{took:?}");
        // Delivered on its own (not held until a later frame or the end): a bound far above
        // the delay, so a loaded CI machine's scheduling cannot fail it.
        assert!(took < Duration::from_secs(1), "{took:?}");
        drop(tx);
        h.join().unwrap();
    }
}
