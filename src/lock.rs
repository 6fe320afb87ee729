//! The state lock: every command that changes the server holds it from before it reads the
//! settings until it has written them, so two admins' commands run one after the other and
//! neither loses the other's change.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use nix::fcntl::Flock;

use crate::distro::STATE_DIR;
use crate::root::{Lock, Root};

/// How long a command waits for another one's lock by default: an image import of a few
/// GiB finishes well within it; a hung holder does not make scripts wait forever.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// How often a waiting command tries again (flock has no timed wait).
const POLL: Duration = Duration::from_millis(100);

/// Held until dropped; the kernel releases it if the process dies.
pub struct StateLock {
    _held: Option<Flock<std::fs::File>>,
}

impl StateLock {
    /// Takes the lock on the state directory itself (no lock file to go stale). When another
    /// pxe-kit holds it, says who and waits up to `wait` (zero: refuses at once).
    pub fn acquire(root: &Root, wait: Duration) -> Result<StateLock> {
        let start = Instant::now();
        let mut said = false;
        let dir = Path::new(STATE_DIR);
        loop {
            match root.try_lock(dir)? {
                Lock::Held(h) => return Ok(StateLock { _held: Some(h) }),
                Lock::NotTaken => return Ok(StateLock { _held: None }),
                Lock::Busy => {}
            }
            // The holder is looked up when it is named, not on every try.
            if start.elapsed() >= wait {
                bail!(
                    "the state is locked by {}; wait for it to finish (or give --lock-wait SECONDS to wait longer)",
                    holder(&root.path(dir))
                );
            }
            if !said {
                eprintln!(
                    "pxe-kit: waiting for {} to finish (it holds the state lock)",
                    holder(&root.path(dir))
                );
                said = true;
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The process holding the lock on `dir`, from the kernel's own table of locks: nothing is
/// written to name it, so nothing goes stale when a holder is killed.
// The kernel's tables, not the tree: read directly.
#[allow(clippy::disallowed_methods)]
fn holder(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let fallback = "another pxe-kit".to_string();
    let Ok(meta) = std::fs::metadata(dir) else {
        return fallback;
    };
    let dev = meta.dev();
    let id = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let Some(pid) = locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&id.as_str()))
            .then(|| f.get(4).and_then(|p| p.parse::<u32>().ok()))
            .flatten()
    }) else {
        return fallback;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if args.is_empty() {
        return format!("{fallback} (pid {pid})");
    }
    // Its own words, one line, bounded: a command line is the holder's, not ours to trust.
    let line: String = crate::runner::shell_join(&args)
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    format!("`{line}` (pid {pid})")
}
