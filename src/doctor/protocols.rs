//! Protocol checks, for real, against the server address: TFTP reads of what a PXE client
//! fetches (pxelinux.0, ldlinux.c32, the menu, every kernel and initrd) compared by SHA-256
//! with the files on disk, and an HTTP request for every kernel, initrd and root image URL a
//! loader fetches (as the menu writes it, or as iPXE and GRUB name the TFTP root's files over
//! HTTP), so a drop-in httpd never loaded, a 403 or a 404 is caught. Transfers run in parallel threads with short timeouts, so a healthy server answers in
//! well under a second and a dead one fails in about one.
use std::io::Write;
use std::net::SocketAddr;
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
            title: "HTTP serves every kernel, initrd and root image the menus name",
            run: http_check,
        },
    ]
}

/// How long a retried TFTP read waits for each reply (see `tftp_check`).
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(1);

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
    server: SocketAddr,
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
            return match tftp::fetch(server, rel, &mut w, opts) {
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
    let res = tftp::fetch(server, rel, &mut w, opts);
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

/// Fetches every file in parallel and compares it; a read that timed out is tried again alone
/// with a longer wait before it counts (a slow server, a busy VM or a loaded host, may miss
/// 250 ms under eight parallel reads).
pub fn compare_all(
    server: SocketAddr,
    disk: &[(String, PathBuf)],
    deep: bool,
    opts: &TftpOptions,
) -> Vec<(String, Compared)> {
    let mut res = par_map(disk, 8, |(rel, p)| {
        (rel.clone(), fetch_compare(server, rel, p, deep, opts))
    });
    let patient = TftpOptions {
        timeout: RETRY_TIMEOUT,
        retries: 4,
        ..*opts
    };
    for ((rel, c), (_, p)) in res.iter_mut().zip(disk) {
        if matches!(c, Compared::Failed(why) if why.contains("timed out")) {
            *c = fetch_compare(server, rel, p, deep, &patient);
        }
    }
    res
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
    let res = compare_all(
        SocketAddr::from((cfg.server_ip, 69)),
        &disk,
        env.deep,
        &opts,
    );
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

/// One URL to request: as written (or as the HTTP loaders name it), the file it maps to, the
/// manifest's record of a root image (size, SHA-256).
struct Target {
    url: String,
    disk: Option<PathBuf>,
    expect: Option<(u64, String)>,
    /// A kernel or initrd: its headers are enough (HEAD); a root image is fetched (GET).
    head: bool,
}

/// Every URL an HTTP loader fetches: root images, and each kernel and initrd (the menu's own
/// http:// names, or, where httpd serves the TFTP root's image directory to iPXE and GRUB,
/// the `/pxe-kit-tftp/` URL of each TFTP-named one).
fn http_targets(env: &Env, menus: &[super::menu::MenuFile], server: &str) -> Vec<Target> {
    let images = env.images().ok();
    let p = &env.profile;
    let mut targets: Vec<Target> = Vec::new();
    let mut push = |t: Target| {
        if !targets.iter().any(|x| x.url == t.url) {
            targets.push(t);
        }
    };
    for m in menus {
        for e in &m.entries {
            for f in e.kernel.iter().chain(&e.initrds) {
                let rel = tftp_rel(f);
                let url = if split_url(f).is_some() {
                    f.clone()
                } else if p.http_boot && rel.starts_with("pxe-kit/") {
                    format!("http://{server}{}/{rel}", crate::render::TFTP_URL_PREFIX)
                } else {
                    continue;
                };
                push(Target {
                    url,
                    disk: Some(env.ctx.root.path(&p.tftp_root.join(&rel))),
                    expect: None,
                    head: true,
                });
            }
            let Some(url) = &e.root_url else { continue };
            let file =
                split_url(url).and_then(|(_, path)| url_file(path, p.http_prefix, &p.http_dir));
            let expect = file.as_ref().and_then(|f| {
                images?
                    .iter()
                    .flat_map(|m| &m.files)
                    .find(|fe| fe.role == Role::Root && &fe.path == f)
                    .map(|fe| (fe.size, fe.sha256.clone()))
            });
            push(Target {
                url: url.clone(),
                disk: file.map(|f| env.ctx.root.path(&f)),
                expect,
                head: false,
            });
        }
    }
    targets
}

fn http_check(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    need!(env.live());
    let menus = need!(env.menus());
    let targets = http_targets(env, menus, &cfg.server_ip.to_string());
    if targets.is_empty() {
        return Finding::ok("no kernel, initrd or root image URL in the menus yet");
    }
    let deep = env.deep;
    let res = par_map(&targets, 8, |t| (t.url.clone(), get_one(t, deep)));
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    let mut denied: Vec<&Target> = Vec::new();
    for ((url, r), t) in res.into_iter().zip(&targets) {
        match r {
            Ok(s) => ev.push(format!("{url}: {s}")),
            Err(e) => {
                if e.starts_with("HTTP 403") {
                    denied.push(t);
                }
                bad.push(format!("{url}: {e}"));
            }
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} URL(s) served with the expected size{}",
            ev.len(),
            if deep {
                " (root images: and SHA-256)"
            } else {
                ""
            }
        ))
        .with_evidence(ev);
    }
    let mut fix = Vec::new();
    // A 403 on a file that exists: a directory httpd cannot enter, or (SELinux) a label it
    // may not read; named precisely.
    for t in &denied {
        if let Some(d) = &t.disk {
            let (why, f) = diagnose_denied(d, env.ctx.root.base(), env.profile.selinux);
            bad.extend(why);
            for x in f {
                if !fix.contains(&x) {
                    fix.push(x);
                }
            }
        }
    }
    fix.extend([
        "a refused connection or timeout: start httpd (services.httpd) and open tcp/80 (firewall.rules)".to_string(),
        format!("404: the file or httpd's pxe-kit drop-in is missing, or httpd has not loaded the drop-in (menu.files, config.drift; then `systemctl reload {}`)", env.profile.httpd_service),
        format!("a size or checksum mismatch: the image is damaged; re-import it ({} add-image … --name NAME)", env.pxe_kit()),
    ]);
    Finding::fail(
        format!(
            "{} of {} URL(s) not served right: {}",
            bad.iter().filter(|b| b.contains("://")).count(),
            targets.len(),
            bad[0]
        ),
        fix,
    )
    .with_evidence(bad)
}

/// Why httpd may refuse a file that exists (pure but for reading the file system): the
/// directories on its way that the httpd user (an "other" user) cannot search, the file
/// itself if not world-readable, and on SELinux hosts the labels on the way. Returns the
/// evidence and the fixes. `base` is the root's base: paths are shown as on the server.
pub fn diagnose_denied(file: &Path, base: &Path, selinux: bool) -> (Vec<String>, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let shown = |p: &Path| -> String {
        let rel = p.strip_prefix(base).unwrap_or(p);
        format!("/{}", rel.display()).replace("//", "/")
    };
    let mut ev = Vec::new();
    let mut fix = Vec::new();
    let mut labels = Vec::new();
    // Each directory on the way needs search permission, the file itself read permission.
    let mut chain: Vec<(&Path, u32, &str, &str)> = file
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(base) && *a != base)
        .map(|d| {
            (
                d,
                0o001,
                "httpd's user cannot enter it (no search permission for others)",
                "o+x",
            )
        })
        .collect();
    chain.reverse();
    chain.push((file, 0o004, "not readable by httpd's user", "o+r"));
    for (p, bit, why, chmod) in chain {
        let Ok(m) = std::fs::metadata(p) else {
            continue;
        };
        let mode = m.permissions().mode() & 0o7777;
        if mode & bit == 0 {
            ev.push(format!("{} is mode {mode:04o}: {why}", shown(p)));
            fix.push(format!("chmod {chmod} {}", shown(p)));
        }
        if selinux {
            if let Ok(Some(l)) = super::selinux::file_label(p) {
                labels.push(format!("{} {l}", shown(p)));
            }
        }
    }
    if selinux && !labels.is_empty() {
        ev.push(format!("SELinux labels on the way: {}", labels.join(", ")));
        if let Some(parent) = file.parent() {
            fix.push(format!(
                "restorecon -RFv {}   (SELinux: see selinux.labels; denials: ausearch -m avc -ts recent -c httpd)",
                shown(parent)
            ));
        }
    }
    (ev, fix)
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
    let mut resp = if t.head {
        agent.head(&t.url).call()
    } else {
        agent.get(&t.url).call()
    }
    .map_err(|e| format!("{} failed: {e}", if t.head { "HEAD" } else { "GET" }))?;
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
    let what = if t.expect.is_some() {
        "the manifest"
    } else {
        "the file on disk"
    };
    match (len, want) {
        (Some(l), Some(w)) if l != w => {
            return Err(format!("Content-Length {l}, {what} has {w} bytes"))
        }
        (None, _) => {
            return Err("no Content-Length: the client cannot tell a cut-off download".into())
        }
        _ => {}
    }
    if !deep || t.head {
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
            "127.0.0.1:69".parse().unwrap(),
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

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod denied_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_closed_directory_is_named_with_its_mode() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("srv/tftp/pxe-kit/demo");
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("vmlinuz");
        std::fs::write(&f, b"k").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let closed = t.path().join("srv/tftp/pxe-kit");
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o750)).unwrap();
        let (ev, fix) = diagnose_denied(&f, t.path(), false);
        assert_eq!(
            ev,
            ["/srv/tftp/pxe-kit is mode 0750: httpd's user cannot enter it (no search permission for others)"]
        );
        assert_eq!(fix, ["chmod o+x /srv/tftp/pxe-kit"]);
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (ev, fix) = diagnose_denied(&f, t.path(), false);
        assert_eq!(
            ev,
            ["/srv/tftp/pxe-kit/demo/vmlinuz is mode 0600: not readable by httpd's user"]
        );
        assert_eq!(fix, ["chmod o+r /srv/tftp/pxe-kit/demo/vmlinuz"]);
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod retry_tests {
    use super::*;
    use std::net::UdpSocket;

    /// A TFTP server that ignores the first `ignore` requests (a slow server), then sends the
    /// file in one DATA block (no options: the client falls back to 512-byte blocks).
    fn slow_server(ignore: usize, data: Vec<u8>) -> (SocketAddr, std::thread::JoinHandle<usize>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut seen = 0;
            let mut buf = [0u8; 1500];
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            loop {
                let Ok((_, from)) = sock.recv_from(&mut buf) else {
                    return seen;
                };
                seen += 1;
                if seen <= ignore {
                    continue;
                }
                let tid = UdpSocket::bind("127.0.0.1:0").unwrap();
                let mut pkt = vec![0, 3, 0, 1];
                pkt.extend(&data);
                tid.send_to(&pkt, from).unwrap();
                tid.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let _ = tid.recv_from(&mut buf);
                return seen;
            }
        });
        (addr, h)
    }

    #[test]
    fn a_timed_out_read_is_retried_alone_with_a_longer_wait() {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), b"ldlinux").unwrap();
        let opts = TftpOptions {
            blksize: 1468,
            timeout: Duration::from_millis(100),
            retries: 1,
            local: None,
        };
        // The parallel pass sends 2 requests (one retransmission) and times out; the retry
        // is answered.
        let (addr, h) = slow_server(2, b"ldlinux".to_vec());
        let disk = vec![("ldlinux.c32".to_string(), t.path().to_path_buf())];
        let res = compare_all(addr, &disk, false, &opts);
        assert!(
            matches!(
                res[0].1,
                Compared::Same {
                    bytes: 7,
                    whole: true
                }
            ),
            "{res:?}"
        );
        assert_eq!(h.join().unwrap(), 3);
    }
}
