//! A small boot storm in CI: `lab storm` stages a server with a synthetic image, powers on
//! 100 simulated PXE machines (half BIOS, half UEFI) at 100 per second in the lab's private
//! network, and every one must reach its root image with one lease. The JSON report's shape
//! is checked, and `status` reads the same storm back from the log serve kept. Root only
//! (namespaces, daemons); about 20 s.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use common::*;

#[test]
fn a_small_storm_boots_every_machine_once() {
    if skip(
        missing(true, &["dhcpd", "in.tftpd", "apache2", "ip", "tc"], &[]).or_else(syslinux_missing),
    ) {
        return;
    }
    let (pid, code, out) = run_bin(&[
        "lab",
        "storm",
        "--clients",
        "100",
        "--rate",
        "100",
        "--sizes",
        "1,2,4",
        "--timeout",
        "240",
        "--json",
        "--keep",
    ]);
    let storm = KeptStorm::parse(&out);
    let (report, kept) = (&storm.report, &storm.dir);
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["clients"], 100, "{report:#}");
    assert_eq!(report["booted"], 100, "{report:#}");
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(report["uefi"], 50);
    let stages: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["dhcp", "loader", "kernel+initrd", "dhcp-initramfs", "root"]
    );
    for s in report["stages"].as_array().unwrap() {
        assert_eq!(s["n"], 100, "{s}");
        let (p50, p95, p99, max) = (
            s["p50"].as_f64().unwrap(),
            s["p95"].as_f64().unwrap(),
            s["p99"].as_f64().unwrap(),
            s["max"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max, "{s}");
    }
    // One lease per machine across the firmware's DHCP and the initramfs's, seen from the
    // machines and from the server's log.
    assert_eq!(report["leases"]["max_per_machine"], 1, "{report:#}");
    assert_eq!(report["leases"]["server_view"]["1"], 100, "{report:#}");
    assert_eq!(report["server_root_fetched"], 100, "{report:#}");
    assert!(report["dhcp"]["discovers"].as_u64().unwrap() >= 100);
    assert!(report["all_booted_secs"].as_f64().unwrap() > 0.0);
    assert!(report["link"]["http_bytes"].as_u64().unwrap() >= (100 * 7) << 20);

    // status reads the storm back from serve's log under the kept root.
    let root = kept.join("root");
    let (_, code, st) = run_bin(&[
        "--root",
        root.to_str().unwrap(),
        "status",
        "--json",
        "--since",
        "1h",
    ]);
    assert_eq!(code, 0, "{st}");
    let j: serde_json::Value = serde_json::from_str(&st).unwrap();
    let machines = j["machines"].as_array().unwrap();
    let storm: Vec<_> = machines
        .iter()
        .filter(|m| {
            m["mac"]
                .as_str()
                .is_some_and(|m| m.starts_with("52:54:01:"))
        })
        .collect();
    assert_eq!(storm.len(), 100, "{j:#}");
    assert!(
        storm
            .iter()
            .all(|m| m["stage"] == "root-image" && m["leases"].as_array().unwrap().len() == 1),
        "{j:#}"
    );
    lab_leftovers(Some(pid), kept).unwrap();
}

/// Out-of-bounds storms are refused before anything is created.
#[test]
fn storms_are_bounded() {
    for (args, needle) in [
        (&["--clients", "0"][..], "--clients 0 is out of range"),
        (&["--clients", "5000"][..], "--clients 5000 is out of range"),
        (&["--rate", "0"][..], "--rate 0 is out of range"),
        (&["--timeout", "99999"][..], "--timeout must be"),
        (&["--sizes", "1,2"][..], "--sizes"),
    ] {
        let mut argv = vec!["lab", "storm"];
        argv.extend_from_slice(args);
        let (_, code, out) = run_bin(&argv);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains(needle), "{args:?}: {out}");
        assert_eq!(out.trim().lines().count(), 1, "one line: {out}");
    }
}
