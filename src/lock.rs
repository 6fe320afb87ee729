//! An exclusive lock on pxe-kit's state dir, so two imports cannot interleave.
use std::fs::OpenOptions;
use std::path::Path;

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

use crate::distro::STATE_DIR;
use crate::root::Root;

/// Held until dropped; the kernel releases it if the process dies.
pub struct StateLock {
    _held: Option<Flock<std::fs::File>>,
}

impl StateLock {
    /// Takes the lock, failing at once (not waiting) when another pxe-kit holds it.
    pub fn acquire(root: &Root) -> Result<StateLock> {
        if root.dry_run() {
            return Ok(StateLock { _held: None });
        }
        // The state directory itself is locked: no lock file is left behind.
        let p = root.path(Path::new(STATE_DIR));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        let f = OpenOptions::new()
            .read(true)
            .open(&p)
            .with_context(|| format!("opening {}", p.display()))?;
        let lock = Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
            anyhow::anyhow!(
                "{} is locked ({e}): another pxe-kit is changing images; wait for it to finish",
                p.display()
            )
        })?;
        Ok(StateLock { _held: Some(lock) })
    }
}
