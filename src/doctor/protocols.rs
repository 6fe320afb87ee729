//! Protocol checks, for real, against the server address: TFTP reads of what a PXE client
//! fetches (pxelinux.0, ldlinux.c32, the menu, every kernel and initrd) compared by SHA-256
//! with the files on disk, and an HTTP GET of every root image URL exactly as the menu writes
//! it. Transfers run in parallel threads with short timeouts, so a healthy server answers in
//! well under a second and a dead one fails in about one.
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::menu::{split_url, tftp_rel, url_file};
use super::{Check, Env, Finding};
use crate::image::Role;
use crate::need;
use crate::tftp::{self, TftpOptions};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "protocols.tftp",
            title: "TFTP serves the boot files byte for byte",
            run: tftp_check,
        },
        Check {
            id: "protocols.http",
            title: "HTTP serves every root image the menu names",
            run: http_check,
        },
    ]
}

/// Without --deep, files larger than this are compared on their first QUICK_PREFIX bytes and
/// their announced size: a whole 60 MB initrd takes seconds over lock-step TFTP, and doctor's
/// time must not grow with the images' sizes. The prefix proves what a client needs to know
/// (tftpd serves the file, may read it, and it starts with the bytes on disk); the size comes
/// from the server's tsize answer, and `--deep` compares every byte.
pub const QUICK_LIMIT: u64 = 2 << 20;
pub const QUICK_PREFIX: u64 = 8 << 10;

/// A `Write` that hashes what it is given, refusing bytes past `limit` (which aborts the
/// transfer; the TFTP client then tells the server to stop).
pub struct HashWriter {
    pub hasher: Sha256,
    pub len: u64,
    pub limit: Option<u64>,
}

impl HashWriter {
    pub fn new(limit: Option<u64>) -> HashWriter {
        HashWriter {
            hasher: Sha256::new(),
            len: 0,
            limit,
        }
    }
    pub fn hex(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let take = match self.limit {
            Some(l) if self.len >= l => return Err(std::io::Error::other(ENOUGH)),
            Some(l) => buf.len().min((l - self.len) as usize),
            None => buf.len(),
        };
        self.hasher.update(&buf[..take]);
        self.len += take as u64;
        Ok(take)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const ENOUGH: &str = "prefix read, transfer stopped on purpose";

/// SHA-256 of a file's first `limit` bytes (all when None), streamed.
pub fn hash_prefix(p: &Path, limit: Option<u64>) -> std::io::Result<(u64, String)> {
    let f = std::fs::File::open(p)?;
    let mut w = HashWriter::new(limit);
    let mut r = std::io::Read::take(f, limit.unwrap_or(u64::MAX));
    std::io::copy(&mut r, &mut w)?;
    let n = w.len;
    Ok((n, w.hex()))
}

/// Outcome of fetching one file over TFTP and comparing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compared {
    Same { bytes: u64, whole: bool },
    Differs(String),
    Failed(String),
}

/// Fetches `rel` from the TFTP server and compares it with `disk` (size and SHA-256, whole
/// or the first QUICK_PREFIX bytes).
pub fn fetch_compare(
    server: Ipv4Addr,
    rel: &str,
    disk: &Path,
    deep: bool,
    opts: &TftpOptions,
) -> Compared {
    let size = match std::fs::metadata(disk) {
        Ok(m) => m.len(),
        // Missing on disk: what the server answers is what a client would get.
        Err(e) => {
            let mut w = HashWriter::new(Some(1));
            return match tftp::fetch(SocketAddr::from((server, 69)), rel, &mut w, opts) {
                Err(te) if !format!("{te:#}").contains(ENOUGH) => {
                    Compared::Failed(format!("{te:#}"))
                }
                _ => Compared::Differs(format!(
                    "served, but {} is not on disk ({e})",
                    disk.display()
                )),
            };
        }
    };
    let whole = deep || size <= QUICK_LIMIT;
    let limit = (!whole).then_some(QUICK_PREFIX);
    let mut w = HashWriter::new(limit);
    let res = tftp::fetch(SocketAddr::from((server, 69)), rel, &mut w, opts);
    let tsize = match res {
        Ok(st) => st.tsize,
        Err(e) if !whole && format!("{e:#}").contains(ENOUGH) => None,
        Err(e) => return Compared::Failed(format!("{e:#}")),
    };
    let got_len = w.len;
    let got = w.hex();
    let want = match hash_prefix(disk, limit) {
        Ok((_, h)) => h,
        Err(e) => return Compared::Failed(format!("reading {}: {e}", disk.display())),
    };
    if let Some(t) = tsize.filter(|t| *t != size) {
        return Compared::Differs(format!(
            "server announces {t} bytes, the file on disk has {size}"
        ));
    }
    if whole && got_len != size {
        return Compared::Differs(format!(
            "received {got_len} bytes, the file on disk has {size}"
        ));
    }
    if got != want {
        return Compared::Differs(format!(
            "SHA-256 of the {} received differs from the file on disk",
            if whole { "file" } else { "first 8 KiB" }
        ));
    }
    Compared::Same {
        bytes: got_len,
        whole,
    }
}

/// What a PXE client fetches over TFTP, relative to the TFTP root, deduplicated.
fn tftp_files(env: &Env) -> Result<Vec<String>, Finding> {
    // Every loader a client may get (BIOS pxelinux with its modules, the UEFI loader's files)
    // and their menus.
    let mut v: Vec<String> = env
        .profile
        .loader_files()
        .map(|(n, _)| n.to_string())
        .collect();
    v.push("pxelinux.cfg/default".into());
    v.extend(env.profile.efi.config.iter().map(|c| c.to_string()));
    for m in env.menus()? {
        v.extend(m.modules.iter().map(|x| tftp_rel(x)));
        for e in &m.entries {
            v.extend(e.kernel.iter().map(|k| tftp_rel(k)));
            v.extend(e.initrds.iter().map(|i| tftp_rel(i)));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| !x.is_empty() && seen.insert(x.clone()));
    Ok(v)
}

/// Runs `f` over `items` on up to `threads` threads, keeping the order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let n = threads.max(1).min(items.len().max(1));
    let chunk = items.len().div_ceil(n).max(1);
    std::thread::scope(|s| {
        let hs: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

fn tftp_check(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    let files = need!(tftp_files(env));
    let opts = TftpOptions {
        blksize: 1468,
        timeout: Duration::from_millis(250),
        retries: 3,
        local: None,
    };
    let root = &env.profile.tftp_root;
    let disk: Vec<(String, PathBuf)> = files
        .iter()
        .map(|f| (f.clone(), env.ctx.root.path(&root.join(f))))
        .collect();
    let (server, deep) = (cfg.server_ip, env.deep);
    let res = par_map(&disk, 8, |(rel, p)| {
        (rel.clone(), fetch_compare(server, rel, p, deep, &opts))
    });
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    for (rel, c) in &res {
        match c {
            Compared::Same { bytes, whole } => ev.push(format!(
                "{rel}: {} {bytes} bytes match",
                if *whole { "all" } else { "first" }
            )),
            Compared::Differs(why) => bad.push(format!("{rel}: {why}")),
            Compared::Failed(why) => bad.push(format!("{rel}: {why}")),
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} file(s) fetched from {}:69 match the disk",
            ev.len(),
            cfg.server_ip
        ))
        .with_evidence(ev);
    }
    let timeouts = bad.iter().all(|b| b.contains("timed out"));
    let fix = if timeouts {
        vec![
            "start the TFTP server (see services.tftp) and open udp/69 on the interface (see firewall.rules)".into(),
            format!("test by hand: tftp {} -c get pxelinux.0", cfg.server_ip),
        ]
    } else {
        vec![
            format!(
                "check the TFTP server's root is {} (see config.drift), then restart it",
                root.display()
            ),
            format!(
                "files must be world-readable (in.tftpd drops to nobody): chmod -R o+rX {}",
                root.display()
            ),
        ]
    };
    Finding::fail(
        format!(
            "{} of {} TFTP read(s) failed: {}",
            bad.len(),
            res.len(),
            bad[0]
        ),
        fix,
    )
    .with_evidence(bad)
}

/// One root image to GET: the URL as written, the file it maps to, the manifest's record.
struct Target {
    url: String,
    disk: Option<PathBuf>,
    expect: Option<(u64, String)>,
}

fn http_check(env: &Env) -> Finding {
    let _cfg = need!(env.cfg());
    need!(env.live());
    let menus = need!(env.menus());
    let images = env.images().ok();
    let mut targets: Vec<Target> = Vec::new();
    for m in menus {
        for e in &m.entries {
            let Some(url) = &e.root_url else { continue };
            if targets.iter().any(|t| &t.url == url) {
                continue;
            }
            let file = split_url(url)
                .and_then(|(_, p)| url_file(p, env.profile.http_prefix, &env.profile.http_dir));
            let expect = file.as_ref().and_then(|f| {
                images?
                    .iter()
                    .flat_map(|m| &m.files)
                    .find(|fe| fe.role == Role::Root && &fe.path == f)
                    .map(|fe| (fe.size, fe.sha256.clone()))
            });
            targets.push(Target {
                url: url.clone(),
                disk: file.map(|f| env.ctx.root.path(&f)),
                expect,
            });
        }
    }
    if targets.is_empty() {
        return Finding::ok("no root image URL in the menu yet");
    }
    let deep = env.deep;
    let res = par_map(&targets, 8, |t| (t.url.clone(), get_one(t, deep)));
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    for (url, r) in res {
        match r {
            Ok(s) => ev.push(format!("{url}: {s}")),
            Err(e) => bad.push(format!("{url}: {e}")),
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} root image(s) served with the manifest's size{}",
            ev.len(),
            if deep { " and SHA-256" } else { "" }
        ))
        .with_evidence(ev);
    }
    Finding::fail(
        format!("{} of {} root image(s) not served right: {}", bad.len(), targets.len(), bad[0]),
        vec![
            "a refused connection or timeout: start httpd (services.httpd) and open tcp/80 (firewall.rules)".into(),
            "404/403: the image file or httpd's pxe-kit drop-in is missing (menu.files, config.drift)".into(),
            format!("a size or checksum mismatch: the image is damaged; re-import it ({} add-image … --name NAME)", env.pxe_kit()),
        ],
    )
    .with_evidence(bad)
}

fn get_one(t: &Target, deep: bool) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_millis(700)))
        .timeout_recv_response(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        // A proxy from the environment must not stand between doctor and the server.
        .proxy(None)
        .build()
        .into();
    let mut resp = agent
        .get(&t.url)
        .call()
        .map_err(|e| format!("GET failed: {e}"))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("HTTP {status} (expected 200)"));
    }
    let len: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let disk_size = t
        .disk
        .as_ref()
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| m.len());
    let want = t.expect.as_ref().map(|e| e.0).or(disk_size);
    match (len, want) {
        (Some(l), Some(w)) if l != w => {
            return Err(format!("Content-Length {l}, the manifest says {w} bytes"))
        }
        (None, _) => {
            return Err("no Content-Length: the client cannot tell a cut-off download".into())
        }
        _ => {}
    }
    if !deep {
        return Ok(format!("200, {} bytes", len.unwrap_or(0)));
    }
    let mut w = HashWriter::new(None);
    std::io::copy(&mut resp.body_mut().as_reader(), &mut w)
        .map_err(|e| format!("reading the body: {e}"))?;
    let n = w.len;
    let got = w.hex();
    match &t.expect {
        Some((_, sha)) if *sha != got => Err(format!(
            "SHA-256 of the {n} bytes served differs from the manifest"
        )),
        _ => Ok(format!("200, {n} bytes, SHA-256 matches")),
    }
}

// Tests build their fixtures directly.
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn hash_writer_stops_at_its_limit() {
        let mut w = HashWriter::new(Some(5));
        assert_eq!(w.write(b"abc").unwrap(), 3);
        assert_eq!(w.write(b"defg").unwrap(), 2);
        assert!(w.write(b"h").is_err());
        assert_eq!(w.len, 5);
        assert_eq!(w.hex(), hex::encode(Sha256::digest(b"abcde")));
    }

    #[test]
    fn prefix_hash_of_a_file() {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), b"hello world").unwrap();
        assert_eq!(
            hash_prefix(t.path(), Some(5)).unwrap(),
            (5, hex::encode(Sha256::digest(b"hello")))
        );
        assert_eq!(hash_prefix(t.path(), None).unwrap().0, 11);
    }

    #[test]
    fn par_map_keeps_order() {
        let v: Vec<u32> = (0..23).collect();
        assert_eq!(
            par_map(&v, 4, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(par_map(&Vec::<u32>::new(), 4, |x| *x).is_empty());
    }

    #[test]
    fn a_dead_tftp_server_fails_quickly() {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), b"x").unwrap();
        let opts = TftpOptions {
            blksize: 1468,
            timeout: Duration::from_millis(50),
            retries: 1,
            local: None,
        };
        // 127.0.0.1:69 with nothing listening (or refusing): a failure, not a hang.
        let start = std::time::Instant::now();
        let r = fetch_compare(
            "127.0.0.1".parse().unwrap(),
            "pxelinux.0",
            t.path(),
            false,
            &opts,
        );
        assert!(
            matches!(r, Compared::Failed(_) | Compared::Differs(_)),
            "{r:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
