//! End to end under UEFI Secure Boot: the demo image, staged by `lab demo --no-boot`, boots in
//! OVMF's Secure Boot build (Microsoft's keys enrolled) through the firmware's own PXE, shim,
//! GRUB over TFTP and the distribution's signed kernel to the marker; the timeline shows the
//! signed loaders and the kernel's own word that Secure Boot was on. One boot, about 80 s
//! under TCG. Runs only as root with QEMU, OVMF, shim-signed and grub-efi-amd64-signed.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use common::*;

#[test]
fn secure_boot_boots_the_demo_through_shim_and_grub() {
    if skip(lab_missing(
        &[],
        &[
            "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
            "/usr/lib/shim/shimx64.efi.signed",
            "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
        ],
    )) {
        return;
    }
    let demo = StagedDemo::new();
    let root = demo.root.clone();

    // Debian's signed network GRUB has no http module and may load none under Secure Boot:
    // kernel and initrd over TFTP.
    let yaml = root.join("etc/pxe-kit/pxe-kit.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let text = if text.contains("  transfer:") {
        text.lines()
            .map(|l| {
                if l.starts_with("  transfer:") {
                    "  transfer: tftp"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    } else {
        text.replacen("boot:\n", "boot:\n  transfer: tftp\n", 1)
    };
    std::fs::write(&yaml, text).unwrap();
    let r = root.to_str().unwrap();
    let (_, code, out) = run_bin(&["--root", r, "--distro", "debian", "-q", "init"]);
    assert_eq!(code, 0, "{out}");

    let (pid, code, out) = run_bin(&[
        "--root",
        r,
        "lab",
        "boot",
        "--secure-boot",
        "--timeout",
        "240",
    ]);
    assert_eq!(code, 0, "{out}");
    for needle in [
        "UEFI Secure Boot, no iPXE ROM",
        "UEFI PXE (the firmware's own) started",
        "TFTP       uefi/shimx64.efi (",
        "TFTP       uefi/grubx64.efi (",
        "TFTP       grub/grub.cfg (",
        "TFTP       pxe-kit/demo/vmlinuz (",
        "TFTP       pxe-kit/demo/initrd.img (",
        "kernel     EFI stub: UEFI Secure Boot is enabled",
        "HTTP       GET /pxe-kit/demo/squashfs.img -> 200, ",
        "userspace  marker: PXE-KIT-DEMO-OK",
        "lab boot: OK",
        "boot phases: firmware ",
    ] {
        assert!(out.contains(needle), "output lacks {needle:?}:\n{out}");
    }
    // GRUB prints nothing when a transfer ends; the timeline still gives the kernel a rate.
    let kernel = out
        .lines()
        .find(|l| l.contains("pxe-kit/demo/vmlinuz ("))
        .unwrap();
    assert!(kernel.contains("MiB/s"), "{kernel}");
    lab_leftovers(Some(pid), &root).unwrap();
}
