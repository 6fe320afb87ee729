//! End to end through Kea: the demo image, staged by `lab demo --no-boot` on ISC dhcpd (the
//! default), is switched to Kea with `init --dhcp-server kea` and boots blank VMs through the
//! real kea-dhcp4, in.tftpd and apache inside a private network namespace: (1) BIOS, the
//! NIC's iPXE ROM, pxe-kit's default chain (iPXE script, kernel over HTTP); (2) UEFI with
//! Secure Boot, the firmware's own PXE, shim + GRUB over TFTP (option 93 = 7), as a machine
//! added with `add-host` whose fixed address Kea hands out; (3) BIOS, the classic chain
//! (boot.ipxe false, transfer tftp: pxelinux.0 over TFTP). Then it is switched back with
//! `init --dhcp-server isc` and (4) boots BIOS again through ISC dhcpd: switching
//! isc → kea → isc keeps the server booting.
//!
//! One staged demo, four boots (about 5 minutes under TCG). Runs only as root with QEMU,
//! Kea, OVMF, shim-signed and grub-efi-amd64-signed; under CI=true a missing one fails.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;

use common::*;

/// Sets `boot.KEY` in the staged settings (the keys sit under `boot:`, indented two spaces).
fn set_boot(root: &Path, key: &str, value: &str) {
    let yaml = root.join("etc/pxe-kit/pxe-kit.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let prefix = format!("  {key}:");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(String::from)
        .collect();
    let at = lines.iter().position(|l| l == "boot:").unwrap() + 1;
    lines.insert(at, format!("{prefix} {value}"));
    std::fs::write(&yaml, lines.join("\n") + "\n").unwrap();
}

/// `pxe-kit --root R ARGS`, which must succeed; its output.
fn pk(r: &str, args: &[&str]) -> String {
    let mut argv = vec!["--root", r, "--distro", "debian"];
    argv.extend_from_slice(args);
    let (_, code, out) = run_bin(&argv);
    assert_eq!(code, 0, "pxe-kit {args:?}: {out}");
    out
}

/// One `lab boot` that must reach the marker; its output, after checking it left nothing.
fn boot(root: &Path, args: &[&str], needles: &[&str]) -> String {
    let r = root.to_str().unwrap();
    let mut argv = vec!["--root", r, "lab", "boot", "--timeout", "300"];
    argv.extend_from_slice(args);
    let (pid, code, out) = run_bin(&argv);
    assert_eq!(code, 0, "lab boot {args:?}:\n{out}");
    for n in needles {
        assert!(out.contains(n), "lab boot {args:?} lacks {n:?}:\n{out}");
    }
    lab_leftovers(Some(pid), root).unwrap();
    // The timeline's own words, for the closing note.
    eprintln!(
        "lab boot {args:?}: {}",
        out.lines()
            .find(|l| l.starts_with("lab boot: OK"))
            .unwrap_or("")
    );
    out
}

// Long: one staged demo carries four boots and the switches between them, in order; staging
// it once is what keeps this test within CI's time.
#[test]
fn kea_boots_bios_uefi_classic_and_a_fixed_host_and_switching_back_keeps_booting() {
    if skip(lab_missing(
        &["kea-dhcp4", "dhcpd"],
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
    let r = demo.r();

    // isc → kea on the staged server: the old daemon is stopped and disabled (planned: the
    // root is staged), Kea's file is written and passes kea-dhcp4 -t.
    let out = pk(r, &["-v", "init", "--dhcp-server", "kea"]);
    for n in [
        "systemctl disable isc-dhcp-server.service",
        "systemctl stop isc-dhcp-server.service",
        "systemctl enable kea-dhcp4-server.service",
        "created /etc/kea/kea-dhcp4.conf",
    ] {
        assert!(
            out.contains(n),
            "init --dhcp-server kea lacks {n:?}:\n{out}"
        );
    }
    kea_accepts(&root.join("etc/kea/kea-dhcp4.conf"), "pxk-br0").unwrap();

    // 1. BIOS, iPXE ROM, the default chain: Kea's iPXE class sends the script URL.
    boot(
        &root,
        &[],
        &[
            "DHCPACK 10.77.0.",
            "(Kea)",
            "HTTP       GET /pxe-kit/ipxe/boot.ipxe -> 200, ",
            "HTTP       GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz -> 200, ",
            "userspace  marker: PXE-KIT-DEMO-OK",
            "lab boot: OK",
        ],
    );

    // 2. UEFI Secure Boot as a machine with a fixed address: Kea's UEFI class (option 93)
    // sends shim, its reservation the address and host name. Debian's signed network GRUB
    // loads no http module under Secure Boot: kernel and initrd over TFTP.
    let mac = "52:54:00:77:00:21";
    set_boot(&root, "transfer", "tftp");
    pk(r, &["-q", "init"]);
    pk(
        r,
        &[
            "-q",
            "add-host",
            mac,
            "--image",
            "demo",
            "--ip",
            "10.77.0.50",
            "--hostname",
            "term01",
        ],
    );
    let conf = std::fs::read_to_string(root.join("etc/kea/kea-dhcp4.conf")).unwrap();
    assert!(conf.contains("\"ip-address\": \"10.77.0.50\""), "{conf}");
    boot(
        &root,
        &["--secure-boot", "--mac", mac],
        &[
            "UEFI Secure Boot, no iPXE ROM",
            "DHCPACK 10.77.0.50 to 52:54:00:77:00:21 (Kea)",
            "TFTP       uefi/shimx64.efi (",
            "TFTP       uefi/grubx64.efi (",
            "TFTP       pxe-kit/demo/vmlinuz (",
            "kernel     EFI stub: UEFI Secure Boot is enabled",
            "userspace  marker: PXE-KIT-DEMO-OK",
        ],
    );

    // 3. BIOS, the classic chain: no iPXE class, pxelinux.0 and the kernel over TFTP.
    set_boot(&root, "ipxe", "false");
    pk(r, &["-q", "init"]);
    let conf = std::fs::read_to_string(root.join("etc/kea/kea-dhcp4.conf")).unwrap();
    assert!(!conf.contains("pxe-kit-ipxe") && conf.contains("\"pxelinux.0\""));
    boot(
        &root,
        &[],
        &[
            "(Kea)",
            "TFTP       pxelinux.0 (",
            "TFTP       pxe-kit/demo/vmlinuz (",
            "userspace  marker: PXE-KIT-DEMO-OK",
        ],
    );

    // 4. kea → isc: Kea is stopped and disabled, dhcpd serves again, the VM still boots.
    let out = pk(r, &["-v", "init", "--dhcp-server", "isc"]);
    for n in [
        "systemctl disable kea-dhcp4-server.service",
        "systemctl stop kea-dhcp4-server.service",
        "systemctl enable isc-dhcp-server.service",
    ] {
        assert!(
            out.contains(n),
            "init --dhcp-server isc lacks {n:?}:\n{out}"
        );
    }
    let out = boot(
        &root,
        &[],
        &[
            "DHCP       DHCPACK 10.77.0.",
            "TFTP       pxelinux.0 (",
            "userspace  marker: PXE-KIT-DEMO-OK",
        ],
    );
    assert!(!out.contains("(Kea)"), "ISC dhcpd served this boot:\n{out}");
}
