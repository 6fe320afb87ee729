//! Fetches files from a real tftpd-hpa on 127.0.0.1 with `pxe_kit::tftp`.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use pxe_kit::tftp::{fetch, TftpOptions};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TFTPD: &str = "/usr/sbin/in.tftpd";

/// Kills and reaps the daemon however the test ends.
struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Streams into a hash so multi-megabyte downloads are checked without a copy.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Returns `None` (after saying why) when the test must skip.
fn start(dir: &Path) -> Option<Daemon> {
    // in.tftpd drops privileges to nobody, which needs root.
    if common::skip(common::missing(true, &[], &[TFTPD])) {
        return None;
    }
    // Another process may grab the probed port before the daemon binds it.
    for _ in 0..5 {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(TFTPD)
            .args(["-L", "-s", "-a", &addr.to_string()])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting in.tftpd");
        let mut d = Daemon { child, addr };
        if wait_ready(&mut d) {
            return Some(d);
        }
    }
    panic!("in.tftpd did not come up on 127.0.0.1");
}

/// Polls with a tiny file: the daemon gives no readiness signal of its own.
fn wait_ready(d: &mut Daemon) -> bool {
    let quick = TftpOptions {
        blksize: 512,
        timeout: Duration::from_millis(100),
        retries: 1,
        local: None,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = d.child.try_wait() {
            return false;
        }
        if fetch(d.addr, "ready", &mut Vec::new(), &quick).is_ok() {
            return true;
        }
    }
    false
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// tftpd-hpa serves as `nobody`, so the tree must be world-readable.
fn served_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("pxe-kit-tftp-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, data) in files.iter().chain([("ready", &b"ok"[..])].iter()) {
        let p = dir.path().join(name);
        let parent = p.parent().unwrap();
        if !parent.exists() {
            std::fs::create_dir_all(parent).unwrap();
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    dir
}

fn fetch_and_hash(
    addr: SocketAddr,
    name: &str,
    blksize: u16,
) -> (Vec<u8>, pxe_kit::tftp::TftpStats) {
    let mut h = HashWriter(Sha256::new());
    let opts = TftpOptions {
        blksize,
        ..TftpOptions::default()
    };
    let st = fetch(addr, name, &mut h, &opts).unwrap();
    (h.0.finalize().to_vec(), st)
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

#[test]
fn real_tftpd_random_file_at_512_and_1468() {
    let data = pseudo_random(3_000_000);
    let want = Sha256::digest(&data).to_vec();
    let dir = served_dir(&[("boot/random.bin", &data[..])]);
    let Some(d) = start(dir.path()) else {
        return;
    };
    for blksize in [512u16, 1468] {
        let (got, st) = fetch_and_hash(d.addr, "boot/random.bin", blksize);
        assert_eq!(got, want, "SHA-256 mismatch at blksize {blksize}");
        assert_eq!(st.bytes, data.len() as u64);
        assert_eq!(st.blksize, blksize);
        assert_eq!(st.tsize, Some(data.len() as u64));
        eprintln!(
            "blksize {blksize}: {} bytes in {:?} = {:.1} MB/s",
            st.bytes,
            st.elapsed,
            mb_per_s(st.bytes, st.elapsed)
        );
    }
}

#[test]
fn real_tftpd_block_number_rollover() {
    // 65536 blocks of 512 bytes plus a bit forces the block counter past 65535.
    let data = pseudo_random(512 * 65536 + 1000);
    let want = Sha256::digest(&data).to_vec();
    let dir = served_dir(&[("big.bin", &data[..])]);
    let Some(d) = start(dir.path()) else {
        return;
    };
    let (got, st) = fetch_and_hash(d.addr, "big.bin", 512);
    assert_eq!(got, want);
    assert_eq!(st.bytes, data.len() as u64);
    eprintln!(
        "rollover: {} bytes in {:?} = {:.1} MB/s",
        st.bytes,
        st.elapsed,
        mb_per_s(st.bytes, st.elapsed)
    );
}

#[test]
fn real_tftpd_missing_file() {
    let dir = served_dir(&[]);
    let Some(d) = start(dir.path()) else {
        return;
    };
    let err = fetch(
        d.addr,
        "no/such/file",
        &mut Vec::new(),
        &TftpOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("File not found"), "{err}");
    assert!(err.contains("TFTP error 1"), "{err}");
}
