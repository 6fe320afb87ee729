//! Streaming copy that hashes while it writes: temp file in the destination dir, fsync, rename.
//!
//! Images are gigabytes, so reading, hashing and writing run as a pipeline: the caller's
//! thread reads into a small pool of large buffers and shares each filled buffer with a
//! hashing thread and a writing thread. The buffer goes back to the pool when both are done,
//! so the total time is close to the slowest stage rather than the sum of all three.
//! Whole blocks are written with O_DIRECT where the filesystem allows it: that saves the
//! copy into the page cache and leaves almost nothing for the final fsync, which matters
//! more than anything else when hashing already keeps one of two cores busy.
// The streaming copy writes, syncs and renames its own temporary files: that is its job.
#![allow(clippy::disallowed_methods)]

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

/// Prefix of temporary files; a full name is `<dir>/.pxe-kit-tmp.<final-name>.<pid>`.
pub const TMP_PREFIX: &str = ".pxe-kit-tmp.";

/// Large enough that per-block overhead (syscalls, channel hand-offs) is negligible, small
/// enough that the pool stays at a few MiB.
const BLOCK: usize = 2 << 20;
/// Bytes written between writeback kicks (see `start_writeback`).
const WRITEBACK_WINDOW: u64 = 32 << 20;
/// O_DIRECT wants buffer address, file offset and length aligned to the device's logical
/// block size; 4096 covers every common device.
const ALIGN: usize = 4096;
/// Enough buffers to keep the reader one step ahead of both consumers.
const POOL: usize = 4;

/// Size and SHA-256 of the bytes that were copied or hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Copied {
    /// The digest as lower-case hex, as `sha256sum` prints it.
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// A BLOCK-sized buffer whose usable part starts at an ALIGN boundary, as O_DIRECT needs.
struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
}

impl AlignedBuf {
    fn new() -> Self {
        let raw = vec![0u8; BLOCK + ALIGN];
        // If no aligned start exists, direct writes fail with EINVAL and fall back.
        let start = raw.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf { raw, start }
    }

    fn full(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + BLOCK]
    }
}

/// A filled block shared by the hasher and the writer; the last one to drop it returns the
/// allocation to the reader's pool.
struct Block {
    buf: Option<AlignedBuf>,
    len: usize,
    pool: Sender<AlignedBuf>,
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            // The reader may already have finished and dropped the pool; then it is freed.
            let _ = self.pool.send(buf);
        }
    }
}

impl Block {
    fn bytes(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b.raw[b.start..b.start + self.len],
            None => &[],
        }
    }
}

/// Removes the temporary file unless the copy completed.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The temporary file name used while `dest` is being written.
pub fn temp_path(dest: &Path) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .with_context(|| format!("destination {} has no file name", dest.display()))?;
    let mut tmp = std::ffi::OsString::from(TMP_PREFIX);
    tmp.push(name);
    tmp.push(format!(".{}", std::process::id()));
    Ok(parent_dir(dest).join(tmp))
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies `src` to `dest` atomically while computing its SHA-256.
///
/// The data goes to a temporary file next to `dest` (mode 0644 regardless of umask, because
/// tftpd serves it as an unprivileged user), which is fsynced and renamed over `dest`; the
/// directory is fsynced so the rename survives a crash. On any error the temporary file is
/// removed and `dest` is left untouched. `progress` is called after each block with the
/// number of bytes in that block (a delta, as `ProgressBar::inc` wants), not a running total.
pub fn copy_hashed(
    src: &mut dyn Read,
    expected_len: Option<u64>,
    dest: &Path,
    progress: &dyn Fn(u64),
) -> Result<Copied> {
    copy_hashed_with(src, expected_len, dest, progress, true)
}

fn copy_hashed_with(
    src: &mut dyn Read,
    expected_len: Option<u64>,
    dest: &Path,
    progress: &dyn Fn(u64),
    try_direct: bool,
) -> Result<Copied> {
    let tmp = temp_path(dest)?;
    let dir = parent_dir(dest);
    let mut guard = TempGuard {
        path: tmp.clone(),
        armed: true,
    };
    // Direct I/O skips the copy into the page cache and the writeback at fsync time, which
    // on a 2-core box is the difference between overlapping with hashing and adding to it.
    // Filesystems without it (tmpfs before Linux 6.6, some FUSE) refuse at open: go buffered.
    let open = |direct: bool| {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(if direct { libc::O_DIRECT } else { 0 })
            .open(&tmp)
    };
    let (file, direct) = match open(try_direct) {
        Ok(f) => (Ok(f), try_direct),
        Err(e) if try_direct && e.raw_os_error() == Some(libc::EINVAL) => (open(false), false),
        Err(e) => (Err(e), false),
    };
    let file = file.with_context(|| format!("creating {}", tmp.display()))?;
    file.set_permissions(Permissions::from_mode(0o644))
        .with_context(|| format!("setting permissions of {}", tmp.display()))?;

    let (copied, file) = pipeline(src, expected_len, Some((file, &tmp, direct)), progress)
        .with_context(|| format!("copying to {}", dest.display()))?;
    let file = file.context("copy pipeline lost its output file")?;
    file.sync_all()
        .with_context(|| format!("syncing {}", tmp.display()))?;
    drop(file);
    fs::rename(&tmp, dest)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
    guard.armed = false;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))?;
    Ok(copied)
}

/// Computes size and SHA-256 of a file with the same pipelined reader, without copying;
/// `progress` gets per-block deltas as in [`copy_hashed`].
pub fn hash_file(path: &Path, progress: &dyn Fn(u64)) -> Result<Copied> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    hash_reader(&mut f, None, progress).with_context(|| format!("hashing {}", path.display()))
}

/// Size and SHA-256 of what `src` yields (exactly `expected_len` bytes when given), without
/// writing it anywhere: what a dry run reports of an import.
pub fn hash_reader(
    src: &mut dyn Read,
    expected_len: Option<u64>,
    progress: &dyn Fn(u64),
) -> Result<Copied> {
    Ok(pipeline(src, expected_len, None, progress)?.0)
}

/// Reads `src` on the calling thread (a `dyn Read` need not be `Send`), hashing and writing
/// each block on their own threads.
fn pipeline(
    src: &mut dyn Read,
    expected_len: Option<u64>,
    sink: Option<(File, &Path, bool)>,
    progress: &dyn Fn(u64),
) -> Result<(Copied, Option<File>)> {
    let (pool_tx, pool_rx) = mpsc::channel::<AlignedBuf>();
    thread::scope(|s| {
        let (hash_tx, hash_rx) = mpsc::sync_channel::<Arc<Block>>(POOL);
        let hasher = s.spawn(move || {
            let mut h = Sha256::new();
            for b in hash_rx {
                h.update(b.bytes());
            }
            let out: [u8; 32] = h.finalize().into();
            out
        });
        let (write_tx, writer) = match sink {
            Some((file, path, direct)) => {
                let (tx, rx) = mpsc::sync_channel::<Arc<Block>>(POOL);
                let w = s.spawn(move || write_blocks(file, path, direct, rx));
                (Some(tx), Some(w))
            }
            None => (None, None),
        };

        let read_res = read_blocks(
            src,
            expected_len,
            &pool_tx,
            &pool_rx,
            &hash_tx,
            write_tx.as_ref(),
            progress,
        );
        drop(hash_tx);
        drop(write_tx);
        let digest = hasher
            .join()
            .map_err(|_| anyhow::anyhow!("hashing thread panicked"))?;
        let file = match writer {
            Some(w) => Some(
                w.join()
                    .map_err(|_| anyhow::anyhow!("writing thread panicked"))??,
            ),
            None => None,
        };
        // A write error makes the reader stop early; report the write error, which is the
        // cause, rather than the reader's "channel closed".
        let size = read_res?;
        Ok((
            Copied {
                size,
                sha256: digest,
            },
            file,
        ))
    })
}

fn write_blocks(
    mut file: File,
    path: &Path,
    mut direct: bool,
    rx: Receiver<Arc<Block>>,
) -> Result<File> {
    let ctx = || format!("writing {}", path.display());
    let mut written: u64 = 0;
    let mut flushed: u64 = 0;
    let mut prev_flushed: u64 = 0;
    for b in rx {
        let data = b.bytes();
        // Only whole aligned blocks can go direct; the short tail goes through the cache.
        if direct && (data.len() % ALIGN != 0 || !(data.as_ptr() as usize).is_multiple_of(ALIGN)) {
            clear_direct(&file).with_context(ctx)?;
            direct = false;
        }
        if direct {
            match file.write_all(data) {
                Ok(()) => {}
                // Some filesystems accept O_DIRECT at open and reject the write itself.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    clear_direct(&file).with_context(ctx)?;
                    direct = false;
                    file.seek(SeekFrom::Start(written)).with_context(ctx)?;
                    file.write_all(data).with_context(ctx)?;
                }
                Err(e) => return Err(e).with_context(ctx),
            }
        } else {
            file.write_all(data).with_context(ctx)?;
        }
        written += data.len() as u64;
        if !direct && written - flushed >= WRITEBACK_WINDOW {
            start_writeback(&file, prev_flushed, flushed, written);
            prev_flushed = flushed;
            flushed = written;
        }
    }
    Ok(file)
}

fn clear_direct(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a valid, open descriptor with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Starts writeback of `[flushed, written)` and waits for the window before it, so the final
/// fsync finds little left to do and dirty memory stays bounded for multi-GiB images. Both
/// are only hints for speed; the fsync after the copy is what guarantees durability, so
/// errors (e.g. a filesystem without sync_file_range) are ignored.
fn start_writeback(file: &File, prev: u64, flushed: u64, written: u64) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: plain syscalls on a valid, open descriptor; no memory is passed.
    unsafe {
        libc::sync_file_range(
            fd,
            flushed as libc::off64_t,
            (written - flushed) as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
        if flushed > prev {
            libc::sync_file_range(
                fd,
                prev as libc::off64_t,
                (flushed - prev) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            );
        }
    }
}

fn read_blocks(
    src: &mut dyn Read,
    expected_len: Option<u64>,
    pool_tx: &Sender<AlignedBuf>,
    pool_rx: &Receiver<AlignedBuf>,
    hash_tx: &SyncSender<Arc<Block>>,
    write_tx: Option<&SyncSender<Arc<Block>>>,
    progress: &dyn Fn(u64),
) -> Result<u64> {
    let mut allocated = 0usize;
    let mut total: u64 = 0;
    loop {
        let mut buf = match pool_rx.try_recv() {
            Ok(d) => d,
            Err(_) if allocated < POOL => {
                allocated += 1;
                AlignedBuf::new()
            }
            Err(_) => pool_rx
                .recv()
                .context("copy pipeline stopped (buffer pool closed)")?,
        };
        let len = fill(src, buf.full()).context("reading the source")?;
        if len == 0 {
            break;
        }
        total += len as u64;
        if let Some(exp) = expected_len {
            if total > exp {
                bail!("source is longer than the expected {exp} bytes");
            }
        }
        let block = Arc::new(Block {
            buf: Some(buf),
            len,
            pool: pool_tx.clone(),
        });
        if let Some(w) = write_tx {
            if w.send(Arc::clone(&block)).is_err() {
                bail!("copy pipeline stopped (writer exited)");
            }
        }
        if hash_tx.send(block).is_err() {
            bail!("copy pipeline stopped (hasher exited)");
        }
        progress(len as u64);
    }
    if let Some(exp) = expected_len {
        if total != exp {
            bail!("source ended after {total} bytes, expected {exp}");
        }
    }
    Ok(total)
}

/// Reads until `buf` is full or the source ends, so every block but the last is full size.
fn fill(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Removes temporary files left in `dir` by runs that were killed. Files whose owning
/// process is still alive are kept, since a concurrent run may be writing them.
/// Returns the number of files removed; a missing directory has nothing to clean.
pub fn clean_stale_temps(dir: &Path) -> Result<usize> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut removed = 0;
    for ent in rd {
        let ent = ent.with_context(|| format!("listing {}", dir.display()))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TMP_PREFIX) else {
            continue;
        };
        let pid = rest
            .rsplit_once('.')
            .and_then(|(_, p)| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
        }
        let path = ent.path();
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("inspecting {}", path.display()))?;
        if !meta.is_file() {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            // Another cleaner got there first.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn no_progress(_: u64) {}

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TMP_PREFIX))
            .collect()
    }

    #[test]
    fn copies_and_hashes_known_vector() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("out.bin");
        let c = copy_hashed(&mut Cursor::new(b"abc"), Some(3), &dest, &no_progress).unwrap();
        assert_eq!(c.size, 3);
        assert_eq!(c.hex(), ABC_SHA256);
        assert_eq!(fs::read(&dest).unwrap(), b"abc");
        let mode = fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(leftovers(d.path()).is_empty());
        assert_eq!(hash_file(&dest, &no_progress).unwrap(), c);
    }

    #[test]
    fn multi_block_copy_matches_one_shot_digest() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("big");
        // Not a multiple of the block size, so the last block is partial.
        let data: Vec<u8> = (0..(3 * BLOCK + 12345)).map(|i| (i % 251) as u8).collect();
        let seen = std::cell::Cell::new(0u64);
        let calls = std::cell::Cell::new(0u32);
        let progress = |n: u64| {
            assert!(n > 0 && n <= BLOCK as u64);
            seen.set(seen.get() + n);
            calls.set(calls.get() + 1);
        };
        let c = copy_hashed(&mut Cursor::new(&data), None, &dest, &progress).unwrap();
        let want: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(c.sha256, want);
        assert_eq!(c.size, data.len() as u64);
        assert_eq!(seen.get(), data.len() as u64);
        assert_eq!(calls.get(), 4);
        assert_eq!(fs::read(&dest).unwrap(), data);
        // Replacing an existing file works and keeps it atomic.
        copy_hashed(&mut Cursor::new(b"abc"), None, &dest, &no_progress).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"abc");
    }

    #[test]
    fn buffered_and_direct_paths_agree() {
        // Partial tail, whole blocks only, and smaller than one alignment unit.
        for len in [2 * BLOCK + 7, 2 * BLOCK, 100] {
            let data: Vec<u8> = (0..len).map(|i| (i % 241) as u8).collect();
            let want = <[u8; 32]>::from(Sha256::digest(&data));
            for direct in [true, false] {
                let d = tempfile::tempdir().unwrap();
                let dest = d.path().join("img");
                let c =
                    copy_hashed_with(&mut Cursor::new(&data), None, &dest, &no_progress, direct)
                        .unwrap();
                assert_eq!(c.sha256, want);
                assert_eq!(fs::read(&dest).unwrap(), data, "len {len} direct {direct}");
                assert!(leftovers(d.path()).is_empty());
            }
        }
    }

    #[test]
    fn empty_source() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("empty");
        let c = copy_hashed(&mut Cursor::new(b""), Some(0), &dest, &no_progress).unwrap();
        assert_eq!(
            c.hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(fs::metadata(&dest).unwrap().len(), 0);
    }

    #[test]
    fn short_or_long_source_errors_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("x");
        let err = copy_hashed(&mut Cursor::new(b"abc"), Some(4), &dest, &no_progress).unwrap_err();
        assert!(format!("{err:#}").contains("expected 4"), "{err:#}");
        assert!(!dest.exists());
        assert!(leftovers(d.path()).is_empty());
        let err = copy_hashed(&mut Cursor::new(b"abcd"), Some(3), &dest, &no_progress).unwrap_err();
        assert!(format!("{err:#}").contains("longer"), "{err:#}");
        assert!(!dest.exists());
        assert!(leftovers(d.path()).is_empty());
    }

    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(7);
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn read_error_keeps_old_destination() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("keep");
        fs::write(&dest, b"old").unwrap();
        let err = copy_hashed(&mut Failing(BLOCK + 5), None, &dest, &no_progress).unwrap_err();
        assert!(format!("{err:#}").contains("disk on fire"), "{err:#}");
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn missing_destination_dir_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("no/such/dir/file");
        let err = copy_hashed(&mut Cursor::new(b"abc"), None, &dest, &no_progress).unwrap_err();
        assert!(format!("{err:#}").contains("creating"), "{err:#}");
    }

    #[test]
    fn stale_temps_are_cleaned() {
        let d = tempfile::tempdir().unwrap();
        // PIDs above the kernel's maximum (4194304) can never be alive.
        let stale = d.path().join(format!("{TMP_PREFIX}vmlinuz.99999999"));
        let odd = d.path().join(format!("{TMP_PREFIX}initrd"));
        let live = d
            .path()
            .join(format!("{TMP_PREFIX}squashfs.img.{}", std::process::id()));
        let other = d.path().join("vmlinuz");
        for p in [&stale, &odd, &live, &other] {
            fs::write(p, b"x").unwrap();
        }
        fs::create_dir(d.path().join(format!("{TMP_PREFIX}dir.99999999"))).unwrap();
        assert_eq!(clean_stale_temps(d.path()).unwrap(), 2);
        assert!(!stale.exists() && !odd.exists());
        assert!(live.exists() && other.exists());
        assert_eq!(clean_stale_temps(&d.path().join("missing")).unwrap(), 0);
    }

    #[test]
    fn temp_name_format() {
        let t = temp_path(Path::new("/srv/tftp/vmlinuz")).unwrap();
        assert_eq!(
            t,
            PathBuf::from(format!(
                "/srv/tftp/.pxe-kit-tmp.vmlinuz.{}",
                std::process::id()
            ))
        );
        assert!(temp_path(Path::new("/")).is_err());
    }
}
