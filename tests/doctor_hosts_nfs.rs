//! `pxe-kit --root T doctor --json` on a staged Debian server with an NFS-root image and two
//! machines: healthy first, then broken by hand one way at a time (a host's pxelinux file
//! deleted, a fixed address duplicated or moved into the pool in dhcpd.conf, the exports
//! file deleted or made read-write, a stale per-machine file, an initramfs without dracut's
//! nfs module), each seen by the right check with the right fix; `--fix` puts the files back.
//! Needs no root: the running system is not checked under a staged root.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;

use common::*;

const HOST_FILE: &str = "srv/tftp/pxelinux.cfg/01-52-54-00-12-34-56";
const EXPORTS: &str = "etc/exports.d/pxe-kit-terminal.exports";
const DHCPD: &str = "etc/dhcp/dhcpd.conf";

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio"], &[]))
}

/// A newc cpio initramfs with dracut's nfs module marker (`nfsroot`), or without it.
fn nfs_initrd(p: &Path, nfs: bool) {
    let d = tempfile::tempdir().unwrap();
    let mut files = vec!["init", "usr/lib/modules/6.9.0-test/modules.dep"];
    if nfs {
        files.push("usr/sbin/nfsroot");
    }
    for f in &files {
        write(d.path(), f, "x\n");
    }
    let out = std::fs::File::create(p).unwrap();
    let mut c = std::process::Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(d.path())
        .stdin(std::process::Stdio::piped())
        .stdout(out)
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        c.stdin.as_mut().unwrap(),
        (files.join("\n") + "\n").as_bytes(),
    )
    .unwrap();
    assert!(c.wait().unwrap().success());
}

/// `doctor --json` (plus `extra`): exit code and document.
fn doctor(r: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["doctor", "--json"];
    args.extend(extra);
    let o = run(r, &args);
    let j = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}\n{}", stdout(&o), stderr(&o)));
    (o.status.code().unwrap(), j)
}

fn check<'a>(j: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {j:#}"))
}

/// Asserts `id` has `status`, its summary/evidence mention `needle` and, unless ok, its
/// first fix mentions `fix`.
#[track_caller]
fn assert_check(j: &serde_json::Value, id: &str, status: &str, needle: &str, fix: &str) {
    let c = check(j, id);
    assert_eq!(c["status"], status, "{id}: {c:#}");
    let text = format!("{} {}", c["summary"], c["evidence"]);
    assert!(text.contains(needle), "{id}: {needle:?} not in {c:#}");
    let fixes: Vec<&str> = c["fix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    if status == "ok" {
        assert!(fixes.is_empty(), "{id}: an ok check with a fix: {fixes:?}");
    } else {
        assert!(
            fixes.first().is_some_and(|f| f.contains(fix)),
            "{id}: fix {fix:?} not first in {fixes:?}"
        );
    }
}

#[test]
fn doctor_sees_broken_hosts_and_nfs_exports_and_fix_restores_them() {
    if skip(tools_missing()) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));

    // Without NFS images or machines, the new checks say why they do not apply.
    let (code, j) = doctor(r, &[]);
    assert_eq!(code, 0, "{j:#}");
    for id in [
        "nfs.exports",
        "nfs.exported",
        "nfs.services",
        "nfs.firewall",
        "menu.nfs",
    ] {
        assert_eq!(check(&j, id)["status"], "skip", "{id}");
        assert_eq!(check(&j, id)["summary"], "no NFS-root images", "{id}");
    }
    assert_eq!(check(&j, "hosts.files")["status"], "skip");

    let w = tempfile::tempdir().unwrap();
    let tree = w.path().join("terminal");
    std::fs::create_dir_all(tree.join("boot")).unwrap();
    fake_kernel(&tree.join("boot/vmlinuz-6.9.0-test"), "6.9.0-test");
    nfs_initrd(&w.path().join("initrd-nfs.img"), true);
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
    ok(&run(
        r,
        &[
            "add-host",
            "52:54:00:12:34:56",
            "--image",
            "terminal",
            "--ip",
            "10.0.0.50",
            "--hostname",
            "term01",
        ],
    ));
    ok(&run(
        r,
        &[
            "add-host",
            "52:54:00:12:34:57",
            "--image",
            "terminal",
            "--ip",
            "10.0.0.51",
        ],
    ));
    // init re-renders the exports file from the manifest: a second run changes nothing.
    let before = snapshot(r);
    let out = ok(&run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert_same(&before, &snapshot(r), "init over an NFS image");

    let (code, j) = doctor(r, &[]);
    assert_healthy(code, &j, "healthy");
    assert_check(&j, "nfs.exports", "ok", "read-only to the subnet", "");
    assert_check(&j, "hosts.files", "ok", "2 machine(s)", "");
    assert_check(&j, "hosts.leases", "ok", "2 host block(s)", "");
    assert_check(&j, "menu.nfs", "ok", "NFS carries no SELinux labels", "");
    assert_check(&j, "menu.nfs", "ok", "has dracut's nfs module", "");
    for id in ["nfs.exported", "nfs.services", "nfs.firewall"] {
        let c = check(&j, id);
        assert_eq!(c["status"], "skip", "{id}");
        assert!(
            c["summary"]
                .as_str()
                .unwrap()
                .contains("not in this network namespace"),
            "{id}: {c:#}"
        );
    }

    // Three breaks at once, each seen by its own check.
    let good_dhcpd = read(r, DHCPD);
    let good_host = read(r, HOST_FILE);
    let good_exports = read(r, EXPORTS);
    std::fs::remove_file(r.join(HOST_FILE)).unwrap();
    std::fs::remove_file(r.join(EXPORTS)).unwrap();
    std::fs::write(
        r.join(DHCPD),
        good_dhcpd.replace("fixed-address 10.0.0.51;", "fixed-address 10.0.0.50;"),
    )
    .unwrap();
    let (code, j) = doctor(r, &[]);
    assert_eq!(code, 1);
    assert_check(
        &j,
        "hosts.files",
        "fail",
        "01-52-54-00-12-34-56: missing",
        "doctor --fix",
    );
    assert_check(
        &j,
        "hosts.leases",
        "fail",
        "10.0.0.50 is given to two hosts",
        "doctor --fix",
    );
    assert_check(
        &j,
        "nfs.exports",
        "fail",
        "pxe-kit-terminal.exports: missing",
        "doctor --fix",
    );
    assert_eq!(check(&j, "config.drift")["status"], "fail");

    // --fix puts every file back.
    let (code, j) = doctor(r, &["--fix"]);
    assert_healthy(code, &j, "after --fix");
    let actions = j["fix"]["actions"].to_string();
    assert!(
        actions.contains("re-rendered /etc/exports.d/pxe-kit-terminal.exports")
            && actions.contains("exportfs -r"),
        "{actions}"
    );
    assert_eq!(read(r, DHCPD), good_dhcpd);
    assert_eq!(read(r, HOST_FILE), good_host);
    assert_eq!(read(r, EXPORTS), good_exports);

    // A fixed address moved into the dynamic pool by hand.
    std::fs::write(
        r.join(DHCPD),
        good_dhcpd.replace("fixed-address 10.0.0.51;", "fixed-address 10.0.0.150;"),
    )
    .unwrap();
    let (_, j) = doctor(r, &[]);
    assert_check(
        &j,
        "hosts.leases",
        "fail",
        "inside the dynamic pool 10.0.0.100-10.0.0.200",
        "doctor --fix",
    );
    std::fs::write(r.join(DHCPD), &good_dhcpd).unwrap();

    // A read-write export to everyone: wrong file, and the evidence says why it matters.
    std::fs::write(
        r.join(EXPORTS),
        good_exports.replace("10.0.0.0/24(ro,", "*(rw,"),
    )
    .unwrap();
    let (_, j) = doctor(r, &[]);
    assert_check(&j, "nfs.exports", "fail", "read-write", "doctor --fix");
    assert_check(&j, "nfs.exports", "fail", "every host", "doctor --fix");
    assert!(check(&j, "nfs.exports")["diff"]
        .as_str()
        .unwrap()
        .contains("+\""));
    std::fs::write(r.join(EXPORTS), &good_exports).unwrap();

    // A per-machine file pxe-kit wrote for a machine no longer configured: warn, init fixes.
    let stale = "srv/tftp/pxelinux.cfg/0A00003C";
    std::fs::write(r.join(stale), &good_host).unwrap();
    let (code, j) = doctor(r, &[]);
    assert_eq!(code, 0, "a warning is not a failure");
    assert_check(&j, "hosts.files", "warn", "0A00003C", "init");
    ok(&run(r, &["init"]));
    assert!(!r.join(stale).exists());

    // An exports file of an image that is gone still exports its tree.
    let old = "etc/exports.d/pxe-kit-old.exports";
    std::fs::write(r.join(old), &good_exports).unwrap();
    let (_, j) = doctor(r, &[]);
    assert_check(
        &j,
        "nfs.exports",
        "warn",
        "pxe-kit-old.exports",
        "rm /etc/exports.d/pxe-kit-old.exports && exportfs -r",
    );
    std::fs::remove_file(r.join(old)).unwrap();

    // An initramfs without dracut's nfs module cannot mount the root.
    let initrd = r.join("srv/tftp/pxe-kit/terminal/initrd.img");
    let good_initrd = std::fs::read(&initrd).unwrap();
    nfs_initrd(&initrd, false);
    let (_, j) = doctor(r, &[]);
    assert_check(
        &j,
        "menu.nfs",
        "fail",
        "lacks dracut's nfs module",
        "remove-image terminal --force",
    );
    std::fs::write(&initrd, good_initrd).unwrap();

    // A host whose kernel is gone cannot boot.
    let kernel = r.join("srv/tftp/pxe-kit/terminal/vmlinuz");
    let k = std::fs::read(&kernel).unwrap();
    std::fs::remove_file(&kernel).unwrap();
    let (_, j) = doctor(r, &[]);
    assert_check(
        &j,
        "hosts.files",
        "fail",
        "kernel of image terminal",
        "add-image",
    );
    std::fs::write(&kernel, k).unwrap();
    let (code, j) = doctor(r, &[]);
    assert_healthy(code, &j, "restored");
}
