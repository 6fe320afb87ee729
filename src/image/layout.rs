//! Live media layouts: where an ISO keeps its kernel, initramfs and root image (lorax, kiwi,
//! isolinux), and what the root image is, by its magic. `find_layout` is pure; `examine`
//! reads only the ISO's directory and the root image's first bytes.
use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

use super::kernel::read_up_to;
use super::RootType;
use crate::iso9660::{Entry, Iso};

/// Where an ISO keeps its kernel and initramfs, by layout name.
const KERNEL_LAYOUTS: &[(&str, &str, &str)] = &[
    (
        "lorax",
        "images/pxeboot/vmlinuz",
        "images/pxeboot/initrd.img",
    ),
    (
        "kiwi",
        "boot/x86_64/loader/linux",
        "boot/x86_64/loader/initrd",
    ),
];

/// The boot files found in an ISO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoLayout {
    pub layout: &'static str,
    pub kernel: Entry,
    pub initrd: Entry,
    pub root: Entry,
}

/// Recognises a live layout from the ISO's file list (pure). Names compare case-insensitively
/// because plain ISO 9660 names are upper case.
pub fn find_layout(entries: &[Entry]) -> Result<IsoLayout, String> {
    let files: Vec<&Entry> = entries.iter().filter(|e| !e.is_dir).collect();
    let get = |p: &str| {
        files
            .iter()
            .find(|e| e.path.trim_start_matches('/').eq_ignore_ascii_case(p))
            .map(|e| (*e).clone())
    };
    let root = get("LiveOS/squashfs.img").or_else(|| {
        files
            .iter()
            .find(|e| {
                let p = e.path.trim_start_matches('/').to_ascii_lowercase();
                p.starts_with("liveos/") && p.ends_with(".img") && !p.contains("osmin")
            })
            .map(|e| (*e).clone())
    });
    let mut kernel_pair = None;
    for (layout, k, i) in KERNEL_LAYOUTS {
        if let (Some(k), Some(i)) = (get(k), get(i)) {
            kernel_pair = Some((*layout, k, i));
            break;
        }
    }
    if kernel_pair.is_none() {
        // The older isolinux layout: isolinux/vmlinuz0 + isolinux/initrd0.img and friends.
        let pick = |prefix: &str| {
            files
                .iter()
                .filter(|e| {
                    let p = e.path.trim_start_matches('/').to_ascii_lowercase();
                    p.starts_with("isolinux/") && p["isolinux/".len()..].starts_with(prefix)
                })
                .min_by_key(|e| e.path.len())
                .map(|e| (*e).clone())
        };
        if let (Some(k), Some(i)) = (pick("vmlinuz"), pick("initrd")) {
            kernel_pair = Some(("isolinux", k, i));
        }
    }
    match (kernel_pair, root) {
        (Some((layout, kernel, initrd)), Some(root)) => Ok(IsoLayout {
            layout,
            kernel,
            initrd,
            root,
        }),
        (kp, root) => {
            let mut found: Vec<String> = files
                .iter()
                .filter(|e| {
                    let p = e.path.to_ascii_lowercase();
                    p.contains("vmlinuz")
                        || p.contains("linux")
                        || p.contains("initrd")
                        || p.starts_with("/liveos/")
                        || p.ends_with(".img")
                })
                .take(8)
                .map(|e| e.path.clone())
                .collect();
            if found.is_empty() {
                found = entries
                    .iter()
                    .filter(|e| e.is_dir && e.path.matches('/').count() == 1)
                    .take(8)
                    .map(|e| format!("{}/", e.path))
                    .collect();
            }
            let missing = match (kp.is_some(), root.is_some()) {
                (true, false) => "no live root image (LiveOS/squashfs.img)",
                (false, true) => "no kernel + initrd pair",
                _ => "no live root image (LiveOS/squashfs.img) and no kernel + initrd pair",
            };
            Err(format!(
                "{missing}; expected LiveOS/squashfs.img with a kernel in images/pxeboot/ (lorax), boot/x86_64/loader/ (kiwi) or isolinux/; found: {}",
                if found.is_empty() { "nothing of the kind".to_string() } else { found.join(", ") }
            ))
        }
    }
}

/// Reads the ISO's directory and the root image's magic: a bad ISO is refused here, before
/// pxe-kit writes anything.
pub fn examine(iso: &Path) -> Result<(IsoLayout, RootType)> {
    let mut isofs = Iso::open_path(iso)?;
    let entries = isofs
        .entries()
        .with_context(|| format!("reading ISO {}", iso.display()))?;
    let l = find_layout(&entries).map_err(|e| anyhow::anyhow!("{}: {e}", iso.display()))?;
    let t = sniff_entry(&mut isofs, &l.root, iso)?;
    Ok((l, t))
}

fn sniff_entry<R: Read + std::io::Seek>(
    isofs: &mut Iso<R>,
    e: &Entry,
    iso: &Path,
) -> Result<RootType> {
    let mut head = Vec::with_capacity(1028);
    isofs
        .open_file(e)?
        .take(1028)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {} in {}", e.path, iso.display()))?;
    RootType::sniff(&head).with_context(|| {
        format!(
            "{}: {} is neither squashfs nor EROFS (by its magic); this is not a live image",
            iso.display(),
            e.path
        )
    })
}

pub fn sniff_file(rootfs: &Path) -> Result<RootType> {
    let mut head = vec![0u8; 1028];
    let mut f = File::open(rootfs).with_context(|| format!("opening {}", rootfs.display()))?;
    let n =
        read_up_to(&mut f, &mut head).with_context(|| format!("reading {}", rootfs.display()))?;
    RootType::sniff(&head[..n]).with_context(|| {
        format!(
            "{} is neither a directory nor a squashfs/EROFS image; give a root tree or its image",
            rootfs.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso9660::Extent;

    fn f(p: &str) -> Entry {
        Entry {
            path: p.into(),
            is_dir: false,
            size: 1,
            extents: vec![Extent { offset: 0, len: 1 }],
        }
    }

    #[test]
    fn recognises_lorax_kiwi_isolinux() {
        let lorax = [
            f("/images/pxeboot/vmlinuz"),
            f("/images/pxeboot/initrd.img"),
            f("/LiveOS/squashfs.img"),
        ];
        assert_eq!(find_layout(&lorax).unwrap().layout, "lorax");
        let kiwi = [
            f("/boot/x86_64/loader/linux"),
            f("/boot/x86_64/loader/initrd"),
            f("/LiveOS/squashfs.img"),
        ];
        assert_eq!(find_layout(&kiwi).unwrap().layout, "kiwi");
        let old = [
            f("/isolinux/vmlinuz0"),
            f("/isolinux/initrd0.img"),
            f("/LiveOS/squashfs.img"),
        ];
        let l = find_layout(&old).unwrap();
        assert_eq!(
            (l.layout, l.kernel.path.as_str()),
            ("isolinux", "/isolinux/vmlinuz0")
        );
        let plain = [
            f("/IMAGES/PXEBOOT/VMLINUZ"),
            f("/IMAGES/PXEBOOT/INITRD.IMG"),
            f("/LIVEOS/SQUASHFS.IMG"),
        ];
        assert_eq!(find_layout(&plain).unwrap().layout, "lorax");
    }

    #[test]
    fn refuses_installer_iso_listing_what_it_found() {
        let installer = [
            f("/images/pxeboot/vmlinuz"),
            f("/images/pxeboot/initrd.img"),
            f("/images/install.img"),
        ];
        let e = find_layout(&installer).unwrap_err();
        assert!(e.contains("no live root image"), "{e}");
        assert!(e.contains("/images/install.img"), "{e}");
    }
}
