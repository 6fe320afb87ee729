//! An exclusive lock on pxe-kit's state dir, so two imports cannot interleave.
use std::path::Path;

use anyhow::Result;
use nix::fcntl::Flock;

use crate::distro::STATE_DIR;
use crate::root::Root;

/// Held until dropped; the kernel releases it if the process dies.
pub struct StateLock {
    _held: Option<Flock<std::fs::File>>,
}

impl StateLock {
    /// Takes the lock, failing at once (not waiting) when another pxe-kit holds it. The state
    /// directory itself is locked: no lock file is left behind.
    pub fn acquire(root: &Root) -> Result<StateLock> {
        let held = root.lock(Path::new(STATE_DIR)).map_err(|e| {
            anyhow::anyhow!("{e:#}: another pxe-kit is changing images; wait for it to finish")
        })?;
        Ok(StateLock { _held: held })
    }
}
