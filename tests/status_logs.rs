//! Golden files of the boot tracker reading each kind of log `pxe-kit status` reads: serve's
//! own log (dhcpd, tftpd-hpa's in.tftpd, apache, ganesha), the journal's JSON (dhcpd and
//! in.tftpd under systemd, tftp.socket's IPv6-mapped addresses, a message sent as bytes), and
//! apache access logs in pxe-kit's format and in the combined format. Each fixture's machines
//! are compared, as JSON, with `<fixture>.expected.json`; `UPDATE_GOLDEN=1` rewrites those.
// Tests build fixtures directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use pxe_kit::status::{parse_journal_line, parse_serve_log_line};
use pxe_kit::track::Tracker;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/logs")
}

fn machines(fixture: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir().join(fixture)).unwrap();
    let mut t = Tracker::new();
    // Lines without their own time (the combined format) are stamped with this one.
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_200);
    for l in text.lines() {
        if fixture.ends_with(".json") {
            let (at, who, text) = parse_journal_line(l).expect("a journal line");
            t.feed(&who, &text, at);
        } else if fixture == "serve.log" {
            let (at, who, text) = parse_serve_log_line(l).expect("a serve log line");
            t.feed(who, text, at);
        } else {
            assert!(t.feed("httpd", l, at).is_some(), "unread: {l}");
        }
    }
    serde_json::to_value(t.machines()).unwrap()
}

#[test]
fn every_log_kind_reads_as_its_golden_machines() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for f in [
        "serve.log",
        "journal.json",
        "pxe-kit-access.log",
        "apache-combined.log",
    ] {
        let got = serde_json::to_string_pretty(&machines(f)).unwrap() + "\n";
        let want_path = dir().join(format!("{f}.expected.json"));
        if update {
            std::fs::write(&want_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&want_path).unwrap_or_default();
        if got != want {
            failures.push(format!("{f}: got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The facts the golden files hold, said once in words.
#[test]
fn the_logs_say_what_each_machine_did() {
    let serve = machines("serve.log");
    let ms = serve.as_array().unwrap();
    let by = |id: &str| {
        ms.iter()
            .find(|m| m["mac"] == id || m["ip"] == id)
            .unwrap_or_else(|| panic!("no machine {id} in {serve:#}"))
    };
    // The default chain: iPXE script, kernel and initrd, then the initramfs's own DHCP and
    // the root: one lease across both DHCP exchanges.
    let a = by("52:54:00:77:00:10");
    assert_eq!(a["stage"], "root-image");
    assert_eq!(a["leases"].as_array().unwrap().len(), 1);
    assert_eq!(
        a["error"],
        serde_json::Value::Null,
        "a missing per-host script is no error"
    );
    // The classic chain with the kernel deleted: stuck after the loader, the NAK named.
    let b = by("52:54:00:77:00:11");
    assert_eq!(b["stage"], "loader");
    assert_eq!(b["error"], "TFTP pxe-kit/demo/vmlinuz: File not found");
    // No address for the third.
    let c = by("52:54:00:77:00:12");
    assert_eq!(c["stage"], "power-on");
    assert!(c["error"].as_str().unwrap().contains("no free leases"));
    assert_eq!(by("10.77.0.50")["stage"], "nfs-root");

    let j = machines("journal.json");
    let j = j.as_array().unwrap();
    let m = j.iter().find(|m| m["mac"] == "52:54:00:12:34:56").unwrap();
    assert_eq!(m["ip"], "10.0.0.150");
    assert_eq!(
        m["stage"], "kernel-load",
        "IPv6-mapped addresses are the machine's"
    );
    assert!(
        j.iter().any(|m| m["ip"] == "10.0.0.151"),
        "a byte-array message is read"
    );

    let acc = machines("pxe-kit-access.log");
    assert_eq!(acc[0]["stage"], "root-image");
    assert_eq!(acc[1]["error"], "HTTP /pxe-kit/f42/squashfs.img: 403");
    assert_eq!(machines("apache-combined.log")[0]["stage"], "root-image");
}
