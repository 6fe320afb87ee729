//! The state lock: every command that changes the server holds it from before it reads the
//! settings until it has written them, so two admins' commands run one after the other and
//! neither loses the other's change.
use std::path::{Path, PathBuf};
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
    held: Option<Flock<std::fs::File>>,
    root: Root,
}

/// Who holds the lock, for the one waiting: the command line, its pid and since when.
fn holder_note() -> PathBuf {
    Path::new(STATE_DIR).join("lock-holder")
}

impl StateLock {
    /// Takes the lock on the state directory itself (no lock file to go stale). When another
    /// pxe-kit holds it, says who and waits up to `wait` (zero: refuses at once).
    pub fn acquire(root: &Root, wait: Duration) -> Result<StateLock> {
        let start = Instant::now();
        let mut said = false;
        let held = loop {
            match root.try_lock(Path::new(STATE_DIR))? {
                Lock::Held(h) => break Some(h),
                Lock::NotTaken => break None,
                Lock::Busy => {}
            }
            let who = holder(root);
            if start.elapsed() >= wait {
                bail!(
                    "the state is locked by {who}; wait for it to finish (or give --lock-wait SECONDS to wait longer)"
                );
            }
            if !said {
                eprintln!("pxe-kit: waiting for {who} to finish (it holds the state lock)");
                said = true;
            }
            std::thread::sleep(POLL);
        };
        if held.is_some() {
            let args: Vec<String> = std::env::args().collect();
            let line: String = crate::runner::shell_join(&args)
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
            root.put_note(
                &holder_note(),
                &format!("`{line}` (pid {}, since {now})\n", std::process::id()),
            )?;
        }
        Ok(StateLock {
            held,
            root: root.clone(),
        })
    }
}

/// What the holder wrote of itself, or a plain description when it had no time to yet.
fn holder(root: &Root) -> String {
    match root.read_string_opt(&holder_note()) {
        Ok(Some(t)) if !t.trim().is_empty() => {
            let t: String = t
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(400)
                .collect();
            format!("another pxe-kit, {t}")
        }
        _ => "another pxe-kit".to_string(),
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if self.held.is_some() {
            // The note goes before the lock: a waiter never reads a finished holder's name.
            let _ = self.root.remove(&holder_note());
        }
    }
}
