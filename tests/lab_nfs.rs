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

use common::*;

const MAC: &str = "52:54:00:77:00:20";

#[test]
fn a_configured_mac_boots_its_nfs_root_through_its_own_pxelinux_file() {
    if skip(lab_missing(&["ganesha.nfsd"], &[])) {
        return;
    }
    let (pid, code, out) = run_bin(&["lab", "demo", "--nfs", "--mac", MAC, "--timeout", "240"]);
    assert_eq!(code, 0, "{out}");
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
    lab_leftovers(Some(pid), &work).unwrap();
    assert!(!work.exists(), "work directory left: {}", work.display());
}

#[test]
fn serve_runs_ganesha_for_nfs_root_images() {
    if skip(
        missing(
            false,
            &["dhcpd", "in.tftpd", "apache2", "ganesha.nfsd"],
            &[],
        )
        .or_else(syslinux_missing),
    ) {
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
