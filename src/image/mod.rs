//! Images: manifests (what was imported, with sizes and checksums), the boot entries every
//! menu is rendered from, and (in the submodules) live media layouts, kernels and the import.
pub mod check;
pub mod import;
pub mod kernel;
pub mod layout;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::{check_image_name, Config};
use crate::distro::{Profile, STATE_DIR};
use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RootType {
    Squashfs,
    Erofs,
    /// A root tree exported read-only over NFS.
    Nfs,
}

impl RootType {
    /// Identifies a root image by its magic, not its name (Fedora 42 names EROFS images
    /// squashfs.img).
    pub fn sniff(head: &[u8]) -> Option<RootType> {
        if head.len() >= 4 && &head[..4] == b"hsqs" {
            return Some(RootType::Squashfs);
        }
        if head.len() >= 1028 && head[1024..1028] == 0xE0F5_E1E2u32.to_le_bytes() {
            return Some(RootType::Erofs);
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Kernel,
    Initrd,
    Root,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub role: Role,
    /// Absolute path on the server.
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl FileEntry {
    /// What is wrong with this file, given its size on disk (`None`: it is missing).
    pub fn size_problem(&self, on_disk: Option<u64>) -> Option<String> {
        match on_disk {
            None => Some(format!(
                "{:?} file {} is missing",
                self.role,
                self.path.display()
            )),
            Some(s) if s != self.size => Some(format!(
                "size of {} is {s} bytes, the manifest says {}",
                self.path.display(),
                self.size
            )),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// What the image came from: an ISO's file name, or "kernel+rootfs".
    pub name: String,
    pub size: u64,
    /// Layout recognised in an ISO (lorax, kiwi, isolinux), or the build path.
    pub layout: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub source: Source,
    pub root_type: RootType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<String>,
    /// Where the initramfs came from: "iso" (its own, checked for livenet) or "dracut".
    pub initrd_from: String,
    /// The dracut modules pxe-kit relies on that the initramfs carried when it was imported
    /// (see `initrd::InitrdInfo::dracut_modules`); absent in manifests of older versions and
    /// when the file could not be read (dry runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initrd_modules: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub append: String,
    pub created: String,
    pub files: Vec<FileEntry>,
    /// For NFS-root images: the exported root tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs_export: Option<PathBuf>,
}

/// Why NFS-root entries boot with selinux=0, said in the menu and by doctor.
pub const NFS_SELINUX_NOTE: &str =
    "NFS carries no SELinux labels (no security xattrs), so this NFS-root entry boots with selinux=0";

impl Manifest {
    pub fn file(&self, role: Role) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.role == role)
    }

    /// Quick integrity: every file is there with its recorded size; else what is wrong with
    /// the first one that is not.
    pub fn check_sizes(&self, root: &Root) -> Result<(), String> {
        for f in &self.files {
            let on_disk = root.stat(&f.path).map_err(|e| format!("{e:#}"))?;
            if let Some(why) = f.size_problem(on_disk.map(|m| m.len())) {
                return Err(why);
            }
        }
        Ok(())
    }

    /// One line for people: root type, kernel, initramfs origin, total size.
    pub fn summary(&self) -> String {
        let total = self
            .files
            .iter()
            .fold(0u64, |a, f| a.saturating_add(f.size));
        format!(
            "{} root, kernel {}, initrd from {}, {:.1} MiB",
            match self.root_type {
                RootType::Squashfs => "squashfs",
                RootType::Erofs => "EROFS",
                RootType::Nfs => "NFS",
            },
            self.kernel_version
                .as_deref()
                .unwrap_or("(version unknown)"),
            self.initrd_from,
            total as f64 / 1048576.0
        )
    }
}

pub fn manifest_dir() -> PathBuf {
    Path::new(STATE_DIR).join("images")
}

pub fn manifest_path(name: &str) -> PathBuf {
    manifest_dir().join(format!("{name}.yaml"))
}

/// Loads every image manifest, sorted by name.
pub fn load_all(root: &Root) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for n in root.list_dir(&manifest_dir())? {
        let Some(stem) = n.strip_suffix(".yaml") else {
            continue;
        };
        // Not an image pxe-kit made (or one an older release let take a name pxe-kit keeps
        // for itself): left alone, never served or removed as an image.
        if check_image_name(stem).is_err() {
            continue;
        }
        out.push(load(root, stem)?.with_context(|| format!("reading manifest {n}"))?);
    }
    Ok(out)
}

pub fn load(root: &Root, name: &str) -> Result<Option<Manifest>> {
    check_image_name(name)?;
    let p = manifest_path(name);
    let Some(text) = root.read_string_opt(&p)? else {
        return Ok(None);
    };
    let m: Manifest = serde_yaml::from_str(&text).with_context(|| {
        format!(
            "reading {}: not a pxe-kit image manifest",
            root.path(&p).display()
        )
    })?;
    if m.name != name {
        bail!(
            "{}: manifest names image {:?}; rename the file or fix the name",
            p.display(),
            m.name
        );
    }
    Ok(Some(m))
}

/// The images' names for messages, or a hint when there are none.
pub fn names(images: &[Manifest]) -> String {
    if images.is_empty() {
        return "(no images yet; add one with `pxe-kit add-image`)".into();
    }
    images
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One menu entry, every value already checked for the boot loader's syntax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootEntry {
    pub label: String,
    pub title: String,
    pub kernel: String,
    pub initrd: String,
    /// Kernel arguments after `initrd=`.
    pub args: String,
    /// A note written above the entry (why an NFS root boots with selinux=0).
    pub comment: Option<String>,
}

/// The kernel command line a live image boots with.
pub fn live_args(cfg: &Config, profile: &Profile, m: &Manifest) -> String {
    if let Some(export) = &m.nfs_export {
        return nfs_args(cfg, m, export);
    }
    let root = m
        .file(Role::Root)
        .and_then(|f| f.path.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "squashfs.img".into());
    let args = vec![
        format!(
            "root=live:http://{}{}/{}/{}",
            cfg.server_ip, profile.http_prefix, m.name, root
        ),
        "rd.live.image".into(),
        "rd.neednet=1".into(),
        "ip=dhcp".into(),
    ];
    finish_args(cfg, m, args)
}

/// The console arguments when a serial console is configured, then the user's own.
fn finish_args(cfg: &Config, m: &Manifest, mut args: Vec<String>) -> String {
    if let Some(s) = cfg.boot.serial {
        args.push("console=tty0".into());
        args.push(format!("console=ttyS{},{}", s.port, s.baud));
    }
    if !m.append.is_empty() {
        // The form every loader passes alike; a value that has none (a manifest not written
        // by add-image) goes as it is, for the menus' filters to refuse by name.
        args.push(crate::bootline::canonical(&m.append).unwrap_or_else(|_| m.append.clone()));
    }
    args.join(" ")
}

/// An NFS root is mounted read-only; `systemd.volatile=overlay` gives a systemd client a
/// tmpfs overlay for its writable state, so the export never needs to be writable.
fn nfs_args(cfg: &Config, m: &Manifest, export: &Path) -> String {
    let args = vec![
        format!("root=nfs:{}:{}", cfg.server_ip, export.display()),
        "ro".into(),
        "rd.neednet=1".into(),
        "ip=dhcp".into(),
        "selinux=0".into(),
        "systemd.volatile=overlay".into(),
    ];
    finish_args(cfg, m, args)
}

pub fn boot_entries(cfg: &Config, profile: &Profile, images: &[Manifest]) -> Vec<BootEntry> {
    images
        .iter()
        .map(|m| {
            let (_, rel) = profile.tftp_image_dir(&m.name);
            let fname = |role| {
                m.file(role)
                    .and_then(|f| f.path.file_name())
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            BootEntry {
                label: m.name.clone(),
                // The source is a file name as a download gave it: shown, never syntax.
                title: format!(
                    "{} ({})",
                    m.name,
                    crate::bootline::inert_text(&m.source.name)
                ),
                kernel: format!("{rel}/{}", fname(Role::Kernel)),
                initrd: format!("{rel}/{}", fname(Role::Initrd)),
                args: live_args(cfg, profile, m),
                comment: m.nfs_export.as_ref().map(|_| NFS_SELINUX_NOTE.to_string()),
            }
        })
        .collect()
}

/// Kernel arguments a user adds: at most 1024 bytes, no initrd= or root= (pxe-kit writes
/// them), and in words every loader hands the kernel alike, none of which a loader's menu
/// syntax reads (see `bootline`).
pub fn validate_append(s: &str) -> Result<()> {
    if s.len() > 1024 {
        bail!("--append is {} bytes; the kernel command line allows about 2 KiB in all, keep it under 1024", s.len());
    }
    let words = crate::bootline::kernel_words(s)
        .and_then(|w| crate::bootline::canonical(s).map(|_| w))
        .map_err(|e| {
            anyhow::anyhow!("--append {s:?} cannot be passed by every boot loader: {e}")
        })?;
    if words
        .iter()
        .any(|w| w.starts_with("initrd=") || w.starts_with("root="))
    {
        bail!("--append {s:?} sets initrd= or root=, which pxe-kit writes itself; leave them out");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_root_types_by_magic() {
        let mut sq = b"hsqs".to_vec();
        sq.resize(2048, 0);
        assert_eq!(RootType::sniff(&sq), Some(RootType::Squashfs));
        let mut ero = vec![0u8; 2048];
        ero[1024..1028].copy_from_slice(&[0xE2, 0xE1, 0xF5, 0xE0]);
        assert_eq!(RootType::sniff(&ero), Some(RootType::Erofs));
        assert_eq!(RootType::sniff(&[0u8; 2048]), None);
        assert_eq!(RootType::sniff(b"hs"), None);
    }

    #[test]
    fn append_refuses_newlines_and_root() {
        assert!(validate_append("quiet splash").is_ok());
        assert!(validate_append("quiet\nLABEL evil").is_err());
        assert!(validate_append("root=/dev/sda1").is_err());
        assert!(validate_append("\"root=/dev/sda1\"").is_err());
        assert!(validate_append("quiet ; poweroff").is_err());
        assert!(validate_append("acpi_osi=\"!Windows 2012\" a&b").is_ok());
    }
}
