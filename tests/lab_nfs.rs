//! The NFS-root and per-machine paths end to end: `lab demo --nfs` exports a busybox root
//! tree with nfs-ganesha (started by `serve`), adds it as image `terminal` for one MAC only
//! (add-host with a fixed address, menu default `local`) and boots a blank QEMU VM with that
//! MAC, which must reach the marker on an NFSv4 root through its own pxelinux file. One VM
//! boot (about 65 s under TCG); runs only as root with QEMU and nfs-ganesha present. Also
//! checks, without root, that `serve` plans ganesha for NFS-root images.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const MAC: &str = "52:54:00:77:00:20";

fn boot_skip_reason() -> Option<&'static str> {
    if !is_root() {
        return Some("needs root (network namespaces)");
    }
    if which("qemu-system-x86_64").is_none() {
        return Some("needs qemu-system-x86 (.ci/install-deps installs it)");
    }
    if which("ganesha.nfsd").is_none() {
        return Some("needs nfs-ganesha and nfs-ganesha-vfs (.ci/install-deps installs them)");
    }
    None
}

/// Nothing of this run is left: its namespace (named after its pid), its work directory, and
/// no process mentions the work directory (ganesha, dhcpd, QEMU all ran with paths in it).
fn assert_nothing_left(pid: u32, work: &Path) {
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ns = String::from_utf8_lossy(&ns.stdout);
    assert!(
        !ns.lines()
            .any(|l| l.split_whitespace().next() == Some(&format!("pxk-lab-{pid}"))),
        "lab namespace left: {ns}"
    );
    assert!(!work.exists(), "work directory left: {}", work.display());
    let w = work.display().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        assert!(!cmd.contains(&w), "process left: {cmd}");
    }
}

#[test]
fn a_configured_mac_boots_its_nfs_root_through_its_own_pxelinux_file() {
    if let Some(why) = boot_skip_reason() {
        eprintln!("skipping: {why}");
        return;
    }
    let child = Command::new(BIN)
        .args(["lab", "demo", "--nfs", "--mac", MAC, "--timeout", "240"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    for needle in [
        "menu default local",
        // The fixed lease from add-host --ip.
        "DHCP       DHCPACK 10.77.0.50 to 52:54:00:77:00:20",
        "TFTP       pxelinux.0 (",
        // Only the per-MAC file boots `terminal`: the menu's default is the local disk.
        "TFTP       pxelinux.cfg/01-52-54-00-77-00-20 (",
        "TFTP       pxe-kit/terminal/vmlinuz (",
        "TFTP       pxe-kit/terminal/initrd.img (",
        "kernel     Linux version",
        // ganesha's record of the client's mount.
        "NFS        NFSv4",
        " client 10.77.0.50 mounted its root",
        "userspace  marker: PXE-KIT-NFS-OK",
        "lab boot: OK",
        "image terminal",
    ] {
        assert!(out.contains(needle), "output lacks {needle:?}:\n{out}");
    }
    // The init saw its root mounted over NFSv4 from the lab server.
    let marker = out
        .lines()
        .find(|l| l.contains("marker: PXE-KIT-NFS-OK"))
        .unwrap();
    assert!(
        marker.contains("/ is 10.77.0.1:/") && marker.ends_with("(nfs4)"),
        "{marker}"
    );
    // The demo's default menu entry is not what booted.
    assert!(!out.contains("pxelinux.cfg/default ("), "{out}");
    let work = out
        .lines()
        .find_map(|l| l.split("staged in ").nth(1))
        .and_then(|r| r.split(" under ").nth(1))
        .and_then(|r| Path::new(r.trim()).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| panic!("no staged root in:\n{out}"));
    assert_nothing_left(pid, &work);
}

#[test]
fn serve_runs_ganesha_for_nfs_root_images() {
    for prog in ["dhcpd", "in.tftpd", "apache2", "ganesha.nfsd"] {
        if which(prog).is_none() {
            eprintln!("skipping: needs {prog} (.ci/install-deps installs it)");
            return;
        }
    }
    if !host_has_syslinux() {
        eprintln!("skipping: needs syslinux (.ci/install-deps installs it)");
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let dry = ok(&run(r, &["--dry-run", "serve", "--run-dir", "/run/pxk-x"]));
    assert!(
        !dry.contains("ganesha"),
        "no NFS image, no NFS server:\n{dry}"
    );

    let w = tempfile::tempdir().unwrap();
    let tree = w.path().join("terminal");
    std::fs::create_dir_all(tree.join("boot")).unwrap();
    fake_kernel(&tree.join("boot/vmlinuz-6.9.0-test"), "6.9.0-test");
    fake_initrd(&w.path().join("initrd-nfs.img"), false);
    ok(&run(
        r,
        &[
            "add-image",
            "--nfs",
            tree.to_str().unwrap(),
            "--initrd",
            w.path().join("initrd-nfs.img").to_str().unwrap(),
        ],
    ));
    let dry = ok(&run(r, &["--dry-run", "serve", "--run-dir", "/run/pxk-x"]));
    let line = dry
        .lines()
        .find(|l| l.contains("ganesha.nfsd"))
        .unwrap_or_else(|| panic!("serve does not start ganesha:\n{dry}"));
    assert!(
        line.ends_with(
            "ganesha.nfsd -F -L STDOUT -f /run/pxk-x/ganesha.conf -p /run/pxk-x/ganesha.pid"
        ),
        "{line}"
    );
}
