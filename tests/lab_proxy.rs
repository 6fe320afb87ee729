//! `lab demo --proxy-dhcp`: the network's own DHCP server (an ISC dhcpd with no PXE options
//! and a pool of its own, in a namespace of its own on the lab's segment) gives the VM its
//! address, pxe-kit in proxy mode (dnsmasq) the boot file. One staged server, two boots under
//! TCG: BIOS with QEMU's iPXE ROM (about 35 s), and UEFI through the firmware's own PXE
//! (`--uefi --no-ipxe-rom`, udp/4011) with syslinux.efi (about 45 s). The timeline names which
//! server gave the address and which the boot file. Secure Boot (shim + GRUB) is not booted:
//! Debian 12's GRUB ignores proxy answers (init warns; see README).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use common::*;

const EFI: [&str; 5] = [
    "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
    "/usr/lib/syslinux/modules/efi64/ldlinux.e64",
    "/usr/lib/syslinux/modules/efi64/menu.c32",
    "/usr/lib/syslinux/modules/efi64/libutil.c32",
    "/usr/lib/syslinux/modules/efi64/libcom32.c32",
];

/// The timeline's proof of proxy mode: the address from the network's server, the boot
/// file from pxe-kit's proxy, and no address from pxe-kit.
#[track_caller]
fn assert_split(out: &str, file: &str) {
    assert!(
        out.contains("DHCPACK 10.77.0.100 to 52:54:00:77:00:10 (the network's DHCP server)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "boot file {file} from pxe-kit's proxyDHCP (dnsmasq)"
        )),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.contains("DHCPACK") && !l.contains("network's DHCP server")),
        "an address from pxe-kit in proxy mode:\n{out}"
    );
    assert!(out.contains("lab boot: OK"), "{out}");
}

#[test]
fn proxy_mode_boots_bios_and_uefi_beside_the_networks_own_dhcp() {
    if skip(lab_missing(
        &["dnsmasq", "dhcpd"],
        &[&["/usr/share/OVMF/OVMF_CODE_4M.fd"][..], &EFI[..]].concat(),
    )) {
        return;
    }
    let (_, code, out) = run_bin(&["lab", "demo", "--proxy-dhcp", "--no-boot"]);
    assert_eq!(code, 0, "{out}");
    let root: std::path::PathBuf = out
        .lines()
        .find_map(|l| l.split("pxe-kit --root ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .map(Into::into)
        .unwrap_or_else(|| panic!("no staged root in:\n{out}"));
    let _work = Cleanup(root.parent().unwrap().to_path_buf());
    let r = root.to_str().unwrap();
    // Proxy mode on Debian with shim + GRUB: init says what GRUB will not do.
    let (_, code, out) = run_bin(&["--root", r, "--distro", "debian", "init"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Debian's GRUB ignores the proxy's answer"),
        "{out}"
    );
    let conf = read(&root, "etc/dnsmasq.d/pxe-kit.conf");
    assert!(
        conf.contains("dhcp-range=10.77.0.0,proxy,255.255.255.0"),
        "{conf}"
    );
    assert!(!root.join("etc/dhcp/dhcpd.conf").exists());

    // BIOS: QEMU's iPXE ROM takes the address from the network's server and the iPXE
    // script from the proxy.
    let (_, code, out) = run_bin(&["--root", r, "lab", "boot", "--timeout", "240"]);
    assert_eq!(code, 0, "{out}");
    assert_split(&out, "http://10.77.0.1/pxe-kit/ipxe/boot.ipxe");

    // UEFI through the firmware's own PXE: the proxy's answer on udp/4011, syslinux.efi.
    for f in EFI {
        let dst = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(f, dst).unwrap();
    }
    let yaml = read(&root, "etc/pxe-kit/pxe-kit.yaml").replace("uefi: shim-grub", "uefi: syslinux");
    assert!(yaml.contains("uefi: syslinux"), "{yaml}");
    write(&root, "etc/pxe-kit/pxe-kit.yaml", &yaml);
    let (_, code, out) = run_bin(&["--root", r, "--distro", "debian", "init"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Debian's GRUB"), "{out}");
    let (_, code, out) = run_bin(&[
        "--root",
        r,
        "lab",
        "boot",
        "--uefi",
        "--no-ipxe-rom",
        "--timeout",
        "240",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_split(&out, "efi64/syslinux.efi");
}

/// Removes the demo's work directory however the test ends.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
