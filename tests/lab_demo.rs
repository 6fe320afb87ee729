//! End to end: `lab demo` builds an image from this host and boots a blank QEMU VM through
//! the real dhcpd, in.tftpd and apache inside a private network namespace, by pxe-kit's default
//! chain (QEMU's iPXE ROM gets the iPXE script, kernel and initrd over HTTP); a second boot by
//! the classic chain (boot.ipxe false, boot.transfer tftp: pxelinux.0, TFTP) with the kernel
//! removed must fail at the kernel stage. Both leave nothing behind. Runs only as root with
//! QEMU present (about 90 s + 45 s under TCG).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_pxe-kit");

/// The labs share the CPU (TCG) and the leftover checks look at the whole host: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn skip_reason() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces)");
    }
    if !Path::new("/usr/bin/qemu-system-x86_64").exists() {
        return Some("needs qemu-system-x86");
    }
    None
}

fn run(args: &[&str]) -> (i32, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

/// No lab namespace, no lab interface on the host, no QEMU or daemon of ours running.
fn assert_nothing_left() {
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ns = String::from_utf8_lossy(&ns.stdout);
    assert!(!ns.contains("pxk-lab-"), "lab namespace left: {ns}");
    for link in ["pxk-br0", "pxk-tap0"] {
        let st = Command::new("ip")
            .args(["link", "show", link])
            .output()
            .unwrap();
        assert!(!st.status.success(), "{link} exists in the root namespace");
    }
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        assert!(
            !cmd.contains("pxe-kit-lab") && !cmd.contains("pxe-kit-demo."),
            "process left: {cmd}"
        );
    }
}

#[test]
fn lab_demo_boots_a_blank_vm_to_the_marker() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = skip_reason() {
        eprintln!("skipping: {why}");
        return;
    }
    let (code, out) = run(&["lab", "demo", "--timeout", "240"]);
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
    assert_nothing_left();
}

#[test]
fn a_missing_kernel_fails_at_the_tftp_kernel_stage() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = skip_reason() {
        eprintln!("skipping: {why}");
        return;
    }
    let (code, out) = run(&["lab", "demo", "--no-boot"]);
    assert_eq!(code, 0, "{out}");
    let root: PathBuf = out
        .lines()
        .find_map(|l| l.split("pxe-kit --root ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no staged root in:\n{out}"));
    let work = root.parent().unwrap().to_path_buf();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _c = Cleanup(work);
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
    let (code, out) = run(&[
        "--root",
        root.to_str().unwrap(),
        "--distro",
        "debian",
        "-q",
        "init",
    ]);
    assert_eq!(code, 0, "{out}");
    std::fs::remove_file(root.join("srv/tftp/pxe-kit/demo/vmlinuz")).unwrap();

    let (code, out) = run(&[
        "--root",
        root.to_str().unwrap(),
        "lab",
        "boot",
        "--timeout",
        "120",
    ]);
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
    assert_nothing_left();
}
