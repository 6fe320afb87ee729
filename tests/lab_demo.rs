//! End to end: `lab demo` builds an image from this host and boots a blank QEMU VM through
//! the real dhcpd, in.tftpd and apache inside a private network namespace, by pxe-kit's default
//! chain (QEMU's iPXE ROM gets the iPXE script, kernel and initrd over HTTP); a second boot by
//! the classic chain (boot.ipxe false, boot.transfer tftp: pxelinux.0, TFTP) with the kernel
//! removed must fail at the kernel stage. Both leave nothing behind. Runs only as root with
//! QEMU present (about 90 s + 45 s under TCG).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::*;

/// The labs share the CPU (TCG) and the leftover checks look at the whole host: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The work directory a lab demo printed ("staged in N s under ROOT": ROOT's parent).
fn work_of(out: &str) -> PathBuf {
    out.lines()
        .find_map(|l| l.split("staged in ").nth(1))
        .and_then(|r| r.split(" under ").nth(1))
        .and_then(|r| Path::new(r.trim()).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| panic!("no staged root in:\n{out}"))
}

#[test]
fn lab_demo_boots_a_blank_vm_to_the_marker() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if skip(lab_missing(&[], &[])) {
        return;
    }
    let (pid, code, out) = run_bin(&["lab", "demo", "--timeout", "240"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PXE-KIT-DEMO-OK"), "{out}");
    for needle in [
        "DHCP       DHCPOFFER 10.77.0.",
        "DHCP       DHCPACK 10.77.0.",
        "HTTP       GET /pxe-kit/ipxe/boot.ipxe -> 200, ",
        "HTTP       GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz -> 200, ",
        "HTTP       GET /pxe-kit-tftp/pxe-kit/demo/initrd.img -> 200, ",
        "HTTP       GET /pxe-kit/demo/squashfs.img -> 200, ",
        "kernel     Linux version",
        "initramfs  ",
        "userspace  marker: PXE-KIT-DEMO-OK",
        "lab boot: OK",
        "boot phases: firmware ",
    ] {
        assert!(out.contains(needle), "timeline lacks {needle:?}:\n{out}");
    }
    // Sizes and rates are reported for the files.
    let http = out
        .lines()
        .find(|l| l.contains("squashfs.img -> 200"))
        .unwrap();
    assert!(http.contains("iB") && http.contains("MiB/s"), "{http}");
    let kernel = out
        .lines()
        .find(|l| l.contains("pxe-kit/demo/vmlinuz -> 200"))
        .unwrap();
    assert!(kernel.contains("MiB/s"), "{kernel}");
    lab_leftovers(Some(pid), &work_of(&out)).unwrap();
}

/// `lab demo --relay`: the VM on a second subnet (10.78.0.0/24) behind a router namespace
/// running ISC's dhcrelay. dhcpd picks the relayed subnet's pool by the relay's address, the
/// iPXE ROM boots from this server through the router, and the initramfs's own DHCP goes
/// through the relay too (about 60 s of boot under TCG besides building the image).
#[test]
fn lab_demo_boots_through_a_dhcp_relay() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if skip(lab_missing(&["dhcrelay"], &[])) {
        return;
    }
    let (pid, code, out) = run_bin(&["lab", "demo", "--relay", "--timeout", "240"]);
    assert_eq!(code, 0, "{out}");
    for needle in [
        "behind a DHCP relay",
        "DHCP       DHCPACK 10.78.0.",
        "HTTP       GET /pxe-kit/ipxe/boot.ipxe -> 200, ",
        "HTTP       GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz -> 200, ",
        "HTTP       GET /pxe-kit/demo/squashfs.img -> 200, ",
        "userspace  marker: PXE-KIT-DEMO-OK",
        "lab boot: OK",
    ] {
        assert!(out.contains(needle), "timeline lacks {needle:?}:\n{out}");
    }
    // Every lease came from the relayed subnet's pool, none from the lab bridge's own.
    assert!(!out.contains("DHCPACK 10.77.0."), "{out}");
    lab_leftovers(Some(pid), &work_of(&out)).unwrap();
}

#[test]
fn a_missing_kernel_fails_at_the_tftp_kernel_stage() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if skip(lab_missing(&[], &[])) {
        return;
    }
    let demo = StagedDemo::new();
    let root = demo.root.clone();
    // The classic chain: pxelinux.0 and TFTP for every client, iPXE or not.
    let yaml = root.join("etc/pxe-kit/pxe-kit.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("  ipxe:") && !l.starts_with("  transfer:"))
        .map(String::from)
        .collect();
    let at = lines.iter().position(|l| l == "boot:").unwrap() + 1;
    lines.insert(at, "  ipxe: false".into());
    lines.insert(at, "  transfer: tftp".into());
    std::fs::write(&yaml, lines.join("\n") + "\n").unwrap();
    let (_, code, out) = run_bin(&["--root", demo.r(), "--distro", "debian", "-q", "init"]);
    assert_eq!(code, 0, "{out}");
    std::fs::remove_file(root.join("srv/tftp/pxe-kit/demo/vmlinuz")).unwrap();

    let (pid, code, out) = run_bin(&["--root", demo.r(), "lab", "boot", "--timeout", "120"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("lab boot: FAILED at the kernel+initrd stage"),
        "{out}"
    );
    assert!(out.contains("TFTP       pxelinux.0 ("), "{out}");
    assert!(
        out.contains("pxe-kit/demo/vmlinuz (not found on the server)"),
        "{out}"
    );
    assert!(out.contains("last console lines:"), "{out}");
    // pxelinux's own words, from the serial console.
    assert!(
        out.contains("Loading pxe-kit/demo/vmlinuz") && out.contains("failed"),
        "{out}"
    );
    // `status` reads serve's log of that boot: the machine got past its loader, and the
    // kernel it asked for was refused.
    let (_, code, st) = run_bin(&["--root", demo.r(), "status"]);
    assert_eq!(code, 0, "{st}");
    let line = st
        .lines()
        .find(|l| l.starts_with("52:54:00:77:00:10"))
        .unwrap_or_else(|| panic!("the VM is not in:\n{st}"));
    assert!(
        line.contains("loader fetched")
            && line.contains("TFTP pxe-kit/demo/vmlinuz: File not found"),
        "{line}"
    );
    lab_leftovers(Some(pid), &root).unwrap();
}
