//! Kernels: the version a bzImage carries in its setup header, and the kernels a root tree
//! holds.
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// The version string a bzImage kernel carries in its setup header ("6.11.4-301.fc41.x86_64").
pub fn kernel_version(head: &[u8]) -> Option<String> {
    if head.len() < 0x210 || &head[0x202..0x206] != b"HdrS" {
        return None;
    }
    let off = u16::from_le_bytes([head[0x20E], head[0x20F]]) as usize + 0x200;
    let s = head.get(off..(off + 256).min(head.len()))?;
    let end = s.iter().position(|&b| b == 0 || b == b' ')?;
    let v = std::str::from_utf8(&s[..end]).ok()?;
    (!v.is_empty() && v.chars().all(|c| c.is_ascii_graphic())).then(|| v.to_string())
}

/// The version of the kernel image at `p`, if it is a bzImage.
pub fn file_version(p: &Path) -> Result<Option<String>> {
    // The setup header points at the version string with a 16-bit offset from 0x200, so it
    // can lie anywhere in the first 64 KiB (0x44c0 in Debian's kernel).
    let mut head = vec![0u8; 0x200 + 0x10000 + 256];
    let mut f = File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let n = read_up_to(&mut f, &mut head).with_context(|| format!("reading {}", p.display()))?;
    head.truncate(n);
    Ok(kernel_version(&head))
}

pub(crate) fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Kernels a root tree holds: `boot/vmlinuz-KVER` and `(usr/)lib/modules/KVER/vmlinuz`, by
/// version.
pub fn tree_kernels(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = std::collections::BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("boot")) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = n.strip_prefix("vmlinuz-") {
                if !v.contains("rescue") {
                    found.insert(v.to_string(), e.path());
                }
            }
        }
    }
    for m in ["lib/modules", "usr/lib/modules"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(m)) {
            for e in rd.flatten() {
                let k = e.path().join("vmlinuz");
                if k.is_file() {
                    found
                        .entry(e.file_name().to_string_lossy().into_owned())
                        .or_insert(k);
                }
            }
        }
    }
    found.into_iter().collect()
}

// Tests build their fixtures directly.
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn reads_bzimage_version() {
        let mut h = vec![0u8; 0x400];
        h[0x202..0x206].copy_from_slice(b"HdrS");
        h[0x20E..0x210].copy_from_slice(&(0x100u16).to_le_bytes());
        h[0x300..0x300 + 24].copy_from_slice(b"6.11.4-301.fc41.x86_64 (");
        assert_eq!(
            kernel_version(&h).as_deref(),
            Some("6.11.4-301.fc41.x86_64")
        );
        assert_eq!(kernel_version(&[0u8; 0x400]), None);
        assert_eq!(kernel_version(b"short"), None);
    }

    #[test]
    fn finds_kernels_in_boot_and_lib_modules() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("boot")).unwrap();
        std::fs::create_dir_all(t.path().join("lib/modules/6.10.0/kernel")).unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-6.9.0"), b"k").unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-0-rescue-abc"), b"k").unwrap();
        std::fs::write(t.path().join("lib/modules/6.10.0/vmlinuz"), b"k").unwrap();
        let k: Vec<String> = tree_kernels(t.path()).into_iter().map(|(v, _)| v).collect();
        assert_eq!(k, ["6.10.0", "6.9.0"]);
    }
}
