//! End to end from a live ISO: the demo image's kernel, dracut livenet initramfs and squashfs
//! root packed by xorriso in Fedora's lorax layout, imported with `add-image ISO` into a staged
//! server and booted by a blank VM to the marker — proving the dhcpd.conf, TFTP and httpd
//! configs, menu and root=live URL pxe-kit wrote for an ISO. Then a boot interrupted with
//! SIGINT must leave no namespace, interface or process behind. Root and QEMU only (one TCG
//! boot, about 60–90 s).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The demo root is a plain tree in the squashfs, which the slim initramfs mounts with
/// overlayfs (see the lab recipe).
const APPEND: &str = "rd.live.overlay.overlayfs=1 rd.shell=0 panic=5";

fn output(cmd: &mut Command) -> (i32, String) {
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn live_iso_imports_and_boots_then_interrupt_cleans_up() {
    if skip(lab_missing(&["xorriso"], &[])) {
        return;
    }
    let demo = StagedDemo::new();
    let root = demo.root.clone();

    // A Fedora-layout live ISO made from the demo image's files.
    let tree = root.parent().unwrap().join("iso-tree");
    std::fs::create_dir_all(tree.join("images/pxeboot")).unwrap();
    std::fs::create_dir_all(tree.join("LiveOS")).unwrap();
    for (from, to) in [
        ("srv/tftp/pxe-kit/demo/vmlinuz", "images/pxeboot/vmlinuz"),
        (
            "srv/tftp/pxe-kit/demo/initrd.img",
            "images/pxeboot/initrd.img",
        ),
        (
            "var/www/html/pxe-kit/demo/squashfs.img",
            "LiveOS/squashfs.img",
        ),
    ] {
        std::fs::copy(root.join(from), tree.join(to)).unwrap();
    }
    let iso = root.parent().unwrap().join("Demo-Live-x86_64.iso");
    let (code, out) = output(
        Command::new("xorriso")
            .args(["-no_rc", "-report_about", "SORRY", "-outdev"])
            .arg(&iso)
            .args(["-volid", "Demo-Live", "-map"])
            .arg(&tree)
            .arg("/"),
    );
    assert_eq!(code, 0, "{out}");

    let r = root.to_str().unwrap();
    let (_, code, out) = run_bin(&["--root", r, "remove-image", "demo"]);
    assert_eq!(code, 0, "{out}");
    let (_, code, out) = run_bin(&[
        "--root",
        r,
        "add-image",
        iso.to_str().unwrap(),
        "--name",
        "demolive",
        "--default",
        "--append",
        APPEND,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("image demolive: squashfs root") && out.contains("initrd from iso"),
        "{out}"
    );

    let (pid, code, out) = run_bin(&["--root", r, "lab", "boot", "--timeout", "300"]);
    assert_eq!(code, 0, "boot from the imported ISO failed:\n{out}");
    assert!(out.contains("PXE-KIT-DEMO-OK"), "{out}");
    assert!(
        out.contains("GET /pxe-kit/demolive/squashfs.img -> 200"),
        "root=live URL not fetched:\n{out}"
    );
    lab_leftovers(Some(pid), &root).unwrap();

    // Interrupted half-way: Ctrl-C (SIGINT) tears the lab down.
    let mut child = Command::new(common::BIN)
        .args(["--root", r, "lab", "boot", "--timeout", "300"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Wait until QEMU is running in the lab's namespace, then interrupt.
    while start.elapsed() < Duration::from_secs(120) {
        let ps =
            output(Command::new("pgrep").args(["-f", "qemu-system-x86_64 -name pxe-kit-lab"])).1;
        if !ps.trim().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted boot must not report success"
    );
    // The supervisor kills QEMU with SIGKILL after its grace period; give it that long.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match lab_leftovers(Some(child.id()), &root) {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}
