//! The live path on a real server, end to end: `pxe-kit lab server` builds (or takes from its
//! cache) a Debian 12 image, boots it under QEMU with systemd, SELinux enforcing, firewalld and
//! NetworkManager, installs pxe-kit from the `.deb` packaging/build.sh makes of this build, runs
//! `init` twice, `add-image` of a live ISO and `doctor` live, breaks a kernel's label and stops
//! firewalld, and boots a blank client through the server's real daemons. Every fact of issue
//! 11's list is a named check in the JSON report; this test asserts each one. Root, QEMU and
//! the image's build tools. Measured on two loaded cores under TCG: 27 minutes with a fresh
//! image (image 6, ISO 1.5, boot 5, the guest's steps and client 14); an idle machine is
//! several times faster.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;

/// Every check the report must carry, each of which must pass.
const CHECKS: &[&str] = &[
    "deb.installed",
    "packages.present",
    "init.units",
    "init.dhcp_priority",
    "init.nothing_to_change",
    "init.no_restarts",
    "doctor.healthy",
    "selinux.mode",
    "selinux.labels",
    "firewall.rules",
    "avc.none",
    "firewall.public_closed",
    "firewall.public_ssh",
    "firewall.provisioning_ssh",
    "provisioning.tftp",
    "relabel.caught",
    "relabel.tftp_denied",
    "relabel.fixed",
    "firewalld_stopped.init",
    "firewalld_stopped.doctor",
    "client.marker",
];

/// The `.deb` of this very build (the debug binary, stripped), made by the repository's
/// packaging script into `dir`.
fn build_deb(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/build.sh");
    let o = Command::new("bash")
        .arg(&script)
        .args(["--debug", "--deb-only", "--out"])
        .arg(dir)
        .env("PXE_KIT_BIN", BIN)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "packaging/build.sh failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap_or_else(|| panic!("no .deb in {}", dir.display()))
}

#[test]
fn real_server_vm_runs_pxe_kit_live_and_a_client_boots_through_it() {
    let needs = lab_missing(
        &[
            "mmdebstrap",
            "setfiles",
            "mkfs.ext4",
            "qemu-img",
            "xorriso",
            "curl",
            "dracut",
            "mksquashfs",
            "cargo-deb",
            "dpkg-deb",
        ],
        &["/usr/lib/ipxe/qemu/efi-virtio.rom"],
    );
    if skip(needs) {
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(tmp.path());
    let (pid, code, out) = run_bin(&[
        "lab",
        "server",
        "--deb",
        deb.to_str().unwrap(),
        "--json",
        // A guard against a hung VM within CI's hour, not a target: the VM run took 19 min
        // on two cores shared with builds (load 5-60); an idle machine needs a fraction.
        "--timeout",
        "1800",
    ]);
    // stdout is the JSON document; the human report follows on stderr.
    let start = out.find("{\n").unwrap_or(0);
    let end = out.rfind("\n}").map(|i| i + 2).unwrap_or(out.len());
    let report: serde_json::Value = serde_json::from_str(&out[start..end])
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{out}"));
    let human = &out[end..];
    eprintln!("{human}");
    eprintln!(
        "lab_server: the whole test took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(w) = report["work_dir"].as_str() {
        eprintln!("lab_server: logs in {w}");
    }
    let checks = report["checks"].as_array().expect("checks");
    let mut failed = Vec::new();
    for id in CHECKS {
        match checks.iter().find(|c| c["id"] == *id) {
            Some(c) if c["ok"] == true => {}
            Some(c) => failed.push(format!("{id}: {}", c["detail"].as_str().unwrap_or(""))),
            None => failed.push(format!("{id}: not in the report")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} checks failed:\n  {}\nproblems: {}\n{human}",
        failed.len(),
        CHECKS.len(),
        failed.join("\n  "),
        report["problems"]
    );
    assert_eq!(report["problems"], serde_json::json!([]), "{human}");
    assert_eq!(code, 0, "{human}");
    // The report's facts the issue asks to be shown.
    assert_eq!(report["selinux_mode"], "Enforcing");
    assert!(report["second_init"]
        .as_str()
        .unwrap()
        .contains("nothing to change"));
    let client = &report["client"];
    assert_eq!(client["reached_marker"], true, "{client:#}");
    for k in [
        "boot_to_multi_user",
        "init",
        "add_image",
        "doctor",
        "client_boot",
    ] {
        assert!(
            report["timings"][k].as_f64().is_some_and(|t| t > 0.0),
            "timing {k} missing: {:#}",
            report["timings"]
        );
    }
    // Nothing of the run is left: its namespace, processes, taps.
    lab_leftovers(Some(pid), Path::new("pxe-kit-server.")).unwrap();
}
