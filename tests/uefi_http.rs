//! Beyond BIOS and TFTP, staged: boot files by client architecture, the signed shim + GRUB
//! for UEFI, HTTP transfer (lpxelinux, GRUB's http, iPXE scripts) and the classic chain, all
//! menus from one image list.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use std::path::Path;

use common::*;

fn image(r: &Path) {
    add_fake_image(r, &["--name", "f42", "--default"]);
}

#[test]
fn default_chain_is_http_with_shim_grub_and_ipxe() {
    if skip(syslinux_missing().or_else(|| missing(false, &["cpio"], &[]))) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    image(r);
    ok(&run(
        r,
        &[
            "add-host",
            "52:54:00:12:34:56",
            "--image",
            "f42",
            "--ip",
            "10.0.0.50",
        ],
    ));
    let tftp = r.join("var/lib/tftpboot");
    for f in [
        "lpxelinux.0",
        "pxelinux.0",
        "uefi/shimx64.efi",
        "uefi/grubx64.efi",
    ] {
        assert!(tftp.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read(tftp.join("uefi/shimx64.efi")).unwrap(),
        std::fs::read(r.join("boot/efi/EFI/fedora/shimx64.efi")).unwrap()
    );
    let conf = read(r, "etc/dhcp/dhcpd.conf");
    assert!(
        conf.contains("filename \"uefi/shimx64.efi\";")
            && conf.contains("filename \"lpxelinux.0\";"),
        "{conf}"
    );
    assert!(
        conf.contains("filename \"http://10.0.0.1/pxe-kit/ipxe/boot.ipxe\";"),
        "{conf}"
    );
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();

    // One image list: the same label, default and kernel arguments in every loader's menu.
    let args =
        "root=live:http://10.0.0.1/pxe-kit/f42/squashfs.img rd.live.image rd.neednet=1 ip=dhcp";
    let pxe = read(r, "var/lib/tftpboot/pxelinux.cfg/default");
    let grub = read(r, "var/lib/tftpboot/uefi/grub.cfg");
    let ipxe = read(r, "var/www/html/pxe-kit/ipxe/boot.ipxe");
    assert!(
        pxe.contains("KERNEL http://10.0.0.1/pxe-kit-tftp/pxe-kit/f42/vmlinuz")
            && pxe.contains(args),
        "{pxe}"
    );
    assert!(
        grub.contains("set default='f42'")
            && grub.contains("set pxekit_boot=(http,10.0.0.1)/pxe-kit-tftp")
            && grub.contains("linux ${pxekit_boot}/pxe-kit/f42/vmlinuz"),
        "{grub}"
    );
    assert!(grub.contains(args), "{grub}");
    assert!(
        ipxe.starts_with("#!ipxe\n")
            && ipxe.contains("kernel http://10.0.0.1/pxe-kit-tftp/pxe-kit/f42/vmlinuz"),
        "{ipxe}"
    );
    assert!(
        ipxe.contains(args) && ipxe.contains("choose --default f42"),
        "{ipxe}"
    );
    // Per-host entries for every loader; GRUB picks the machine inside grub.cfg.
    assert!(
        read(r, "var/lib/tftpboot/uefi/grub.cfg")
            .contains("if [ \"${net_default_mac}\" = \"52:54:00:12:34:56\" ]; then set default='f42'; set timeout=0; fi"),
        "per-machine choice in grub.cfg"
    );
    for f in [
        "var/lib/tftpboot/pxelinux.cfg/01-52-54-00-12-34-56",
        "var/www/html/pxe-kit/ipxe/hosts/52-54-00-12-34-56.ipxe",
    ] {
        assert!(read(r, f).contains("f42/vmlinuz"), "{f}");
    }
    // httpd serves the TFTP root's image directory for those loaders; SELinux gets a label
    // both daemons may read.
    let httpd = read(r, "etc/httpd/conf.d/pxe-kit.conf");
    assert!(
        httpd.contains("Alias /pxe-kit-tftp/pxe-kit/ \"/var/lib/tftpboot/pxe-kit/\""),
        "{httpd}"
    );
    let plan = planned(r);
    assert!(
        plan.iter().any(
            |c| c == "semanage fcontext -a -t public_content_t /var/lib/tftpboot/pxe-kit(/.*)?"
        ),
        "{plan:#?}"
    );
    assert!(
        plan.iter()
            .any(|c| c.starts_with("dnf install -y") && c.contains("shim-x64 grub2-efi-x64")),
        "{plan:#?}"
    );

    // Removing the host removes its files for every loader.
    ok(&run(r, &["remove-host", "52:54:00:12:34:56"]));
    let f = "var/www/html/pxe-kit/ipxe/hosts/52-54-00-12-34-56.ipxe";
    assert!(!r.join(f).exists(), "{f} left behind");
}

#[test]
fn classic_chain_is_tftp_and_syslinux_efi() {
    let efi = [
        (
            "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
            "usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
        ),
        (
            "/usr/lib/syslinux/modules/efi64/ldlinux.e64",
            "usr/lib/syslinux/modules/efi64/ldlinux.e64",
        ),
        (
            "/usr/lib/syslinux/modules/efi64/menu.c32",
            "usr/lib/syslinux/modules/efi64/menu.c32",
        ),
        (
            "/usr/lib/syslinux/modules/efi64/libutil.c32",
            "usr/lib/syslinux/modules/efi64/libutil.c32",
        ),
        (
            "/usr/lib/syslinux/modules/efi64/libcom32.c32",
            "usr/lib/syslinux/modules/efi64/libcom32.c32",
        ),
    ];
    let efi_files: Vec<&str> = efi.iter().map(|(s, _)| *s).collect();
    if skip(syslinux_missing().or_else(|| missing(false, &["cpio"], &efi_files))) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    for (src, rel) in efi {
        std::fs::create_dir_all(r.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(src, r.join(rel)).unwrap();
    }
    ok(&run(r, INIT));
    image(r);
    // The user edits the YAML and re-applies it.
    let yaml = read(r, "etc/pxe-kit/pxe-kit.yaml")
        .replace("transfer: http", "transfer: tftp")
        .replace("ipxe: true", "ipxe: false")
        .replace("uefi: shim-grub", "uefi: syslinux");
    assert!(
        yaml.contains("transfer: tftp") && yaml.contains("uefi: syslinux"),
        "{yaml}"
    );
    write(r, "etc/pxe-kit/pxe-kit.yaml", &yaml);
    ok(&run(r, &["init"]));
    let conf = read(r, "etc/dhcp/dhcpd.conf");
    // No iPXE script for iPXE clients (a firmware's iPXE ROM gets pxelinux too); only the
    // option that spares them the wait for proxy answers names iPXE.
    assert!(!conf.contains("user-class = \"iPXE\""), "{conf}");
    assert!(!conf.contains("boot.ipxe"), "{conf}");
    assert!(
        conf.contains("filename \"efi64/syslinux.efi\";")
            && conf.contains("filename \"pxelinux.0\";"),
        "{conf}"
    );
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
    assert!(r.join("srv/tftp/efi64/ldlinux.e64").is_file());
    let efi_menu = read(r, "srv/tftp/efi64/pxelinux.cfg/default");
    assert!(
        // syslinux.efi resolves names from its own directory; `::` names the TFTP root.
        efi_menu.contains("KERNEL ::pxe-kit/f42/vmlinuz")
            && efi_menu.contains("initrd=::pxe-kit/f42/initrd.img"),
        "{efi_menu}"
    );
    let bios_menu = read(r, "srv/tftp/pxelinux.cfg/default");
    assert!(
        bios_menu.contains("KERNEL pxe-kit/f42/vmlinuz")
            && bios_menu.contains("APPEND initrd=pxe-kit/f42/initrd.img"),
        "{bios_menu}"
    );
    assert!(!read(r, "etc/apache2/conf-available/pxe-kit.conf").contains("pxe-kit-tftp"));
    let out = ok(&run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
}
