//! Builds real dracut images and checks that `pxe_kit::initrd` finds the modules in them.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use pxe_kit::initrd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Picks a kernel whose modules are installed: the running kernel in a container
/// is usually the host's and has no modules here.
fn installed_kernel() -> Option<String> {
    let running = Command::new("uname")
        .arg("-r")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let usable = |k: &str| {
        Path::new("/lib/modules")
            .join(k)
            .join("modules.dep")
            .is_file()
    };
    if let Some(k) = running.filter(|k| usable(k)) {
        return Some(k);
    }
    let mut found: Vec<String> = std::fs::read_dir("/lib/modules")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|k| usable(k))
        .collect();
    found.sort();
    found.pop()
}

/// `dracut --help` exits 1, so only whether it can be started at all is meaningful.
fn dracut_available() -> bool {
    Command::new("dracut").arg("--version").output().is_ok()
}

/// Returns the image path, or `None` (after saying why) when the test must skip.
fn build(dir: &Path, modules: &str) -> Option<PathBuf> {
    if !dracut_available() {
        common::skip(Some("needs dracut".into()));
        return None;
    }
    let Some(kver) = installed_kernel() else {
        common::skip(Some(
            "needs a kernel with modules.dep under /lib/modules (linux-image-amd64)".into(),
        ));
        return None;
    };
    // An empty config dir keeps the host's dracut.conf.d from adding modules
    // (which would defeat the "without livenet" case); zstd level 1 instead of
    // dracut's default 15 cuts the build from ~20 s to ~4 s.
    let confdir = dir.join("conf.d");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&confdir).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let img = dir.join("initrd.img");
    let out = Command::new("dracut")
        .args([
            "--no-hostonly",
            "--force",
            "--conf",
            "/dev/null",
            "--confdir",
        ])
        .arg(&confdir)
        .arg("--tmpdir")
        .arg(&tmp)
        .args(["-m", modules])
        .args(["--omit", "kernel-modules kernel-modules-extra"])
        .args(["--compress", "zstd -1 -q -T0"])
        .arg(&img)
        .arg(&kver)
        .output()
        .expect("running dracut");
    assert!(
        out.status.success() && img.is_file(),
        "dracut failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(img)
}

#[test]
fn dracut_image_with_livenet() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = build(dir.path(), "base livenet dmsquash-live network-legacy") else {
        return;
    };
    let info = initrd::inspect_path(&img).unwrap();
    assert!(info.has_livenet(), "livenet not found in {:?}", info.files);
    assert!(info.has_dmsquash_live());
    assert!(!info.has_nfs());
    assert_eq!(info.compression.last(), Some(&"zstd"));
    let kver = installed_kernel().unwrap();
    assert!(
        info.kernel_versions().contains(&kver),
        "{kver} not in {:?}",
        info.kernel_versions()
    );
    assert!(info.files.iter().any(|f| f == "init"));
}

#[test]
fn dracut_image_without_livenet() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = build(dir.path(), "base network-legacy") else {
        return;
    };
    let info = initrd::inspect_path(&img).unwrap();
    assert!(!info.has_livenet());
    assert!(!info.has_dmsquash_live());
    assert!(!info.has_nfs());
    assert!(!info.files.is_empty());
}
