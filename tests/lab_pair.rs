//! A failover pair under a small boot storm, in CI: `lab storm --pair` stages two servers
//! with the same synthetic image (primary 10.78.0.1, secondary 10.78.0.2), forms the pair on
//! the daemons' own engines (ISC dhcpd's failover protocol; Kea's HA hook with its own
//! listener), powers on 40 simulated PXE machines and kills every process of the primary in
//! the middle. Every machine must boot (those the kill broke power on again and finish on
//! the survivor), and no address may be held for two machines, seen from the machines and
//! from both servers' lease files (a record only the dead server keeps for a machine that
//! went on to another address is stale, reported apart). Root only (namespaces, daemons);
//! about 40 s each.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use common::*;

macro_rules! need {
    ($($prog:expr),*) => {
        if skip(missing(true, &["in.tftpd", "apache2", "ip", "tc", $($prog),*], &[]).or_else(syslinux_missing)) {
            return;
        }
    };
}

/// Runs a pair storm with `extra` arguments; returns the JSON report after checking what
/// every pair storm must show.
fn pair_storm(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "lab",
        "storm",
        "--pair",
        "--clients",
        "40",
        "--rate",
        "20",
        "--sizes",
        "1,2,4",
        "--timeout",
        "180",
        // The kill is an event: as the 4th machine starts its loader transfer from the
        // primary. From then on that machine still needs 7 MiB from the primary, which a
        // 100 Mbit/s link takes 0.6 s at the very least to send: it is caught mid-boot
        // whatever this host's speed.
        "--kill-at-transfer",
        "4",
        "--link",
        "100",
        "--json",
        "--keep",
    ];
    args.extend_from_slice(extra);
    let (pid, code, out) = run_bin(&args);
    let storm = KeptStorm::parse(&out);
    let (report, kept) = (storm.report.clone(), storm.dir.clone());
    assert_eq!(code, 0, "{out}");
    assert_eq!(report["clients"], 40, "{report:#}");
    assert_eq!(report["booted"], 40, "0 machines left unbooted: {report:#}");
    assert_eq!(report["failed"], 0, "{report:#}");
    let pair = &report["pair"];
    // For the record (visible with --nocapture): how the kill landed.
    eprintln!(
        "pair storm: killed at {} s {}, machines hit {}, takeover {} s, stale on the killed server {}",
        pair["killed_at_secs"], pair["killed_on"], pair["machines_hit"], pair["takeover_secs"],
        pair["stale_on_killed"]
    );
    assert_eq!(pair["killed"], "primary (10.78.0.1)", "{pair:#}");
    assert_eq!(
        pair["killed_on"], "as machine 4 started its loader transfer from the primary",
        "{pair:#}"
    );
    // The kill broke some boots, and those machines finished on the survivor.
    assert!(pair["machines_hit"].as_u64().unwrap() > 0, "{pair:#}");
    assert!(pair["recover_secs"].as_f64().unwrap() > 0.0, "{pair:#}");
    assert!(pair["takeover_secs"].as_f64().is_some(), "{pair:#}");
    assert!(
        pair["booted_by"]["10.78.0.2"].as_u64().unwrap() > 0,
        "{pair:#}"
    );
    // No address for two machines: the machines' leases, and both servers' lease files.
    assert_eq!(
        pair["duplicate_addresses"],
        serde_json::json!([]),
        "{pair:#}"
    );
    assert_eq!(pair["lease_conflicts"], serde_json::json!([]), "{pair:#}");
    assert!(
        pair["active_leases"]["10.78.0.2"].as_u64().unwrap() >= 30,
        "{pair:#}"
    );
    // doctor saw the pair formed on both members, and the survivor alone after the kill.
    let d = &pair["doctor"];
    for m in ["primary (formed)", "secondary (formed)"] {
        for id in ["pair.state", "pair.partner"] {
            let v = d[m][id].as_str().unwrap_or_default();
            assert!(v.starts_with("ok: "), "{m} {id}: {v}\n{d:#}");
        }
    }
    let after = &d["secondary (after the kill)"];
    for id in ["pair.state", "pair.partner"] {
        let v = after[id].as_str().unwrap_or_default();
        assert!(v.starts_with("fail: "), "after the kill {id}: {v}\n{d:#}");
    }
    // Both servers' daemons wrote the pair's leases where their roots say.
    for r in ["root-a", "root-b"] {
        assert!(kept.join(r).join("etc/pxe-kit/pxe-kit.yaml").is_file());
    }
    lab_leftovers(Some(pid), &kept).unwrap();
    report
}

#[test]
fn isc_dhcpd_pair_loses_its_primary_mid_storm_and_every_machine_boots() {
    need!("dhcpd");
    let r = pair_storm(&["--dhcp-server", "isc"]);
    assert_eq!(r["pair"]["dhcp_server"], "ISC dhcpd");
    assert_eq!(r["pair"]["mode"], "load-balancing");
}

#[test]
fn kea_ha_pair_loses_its_primary_mid_storm_and_every_machine_boots() {
    need!("kea-dhcp4");
    let r = pair_storm(&["--dhcp-server", "kea"]);
    assert_eq!(r["pair"]["dhcp_server"], "Kea");
}

/// Bad pair options are refused before anything is created.
#[test]
fn pair_options_are_checked() {
    for (args, needle) in [
        (
            &["--pair", "--kill-after", "soon"][..],
            "--kill-after \"soon\"",
        ),
        (
            &["--pair", "--kill-after", "900", "--timeout", "60"][..],
            "--kill-after must be shorter",
        ),
        (
            &["--pair", "--kill-at-transfer", "0"][..],
            "--kill-at-transfer counts machines from 1",
        ),
        (
            &["--pair", "--clients", "10", "--kill-at-transfer", "11"][..],
            "--kill-at-transfer must be at most --clients (10)",
        ),
        (
            &["--pair", "--kill-at-transfer", "3", "--kill-after", "2"][..],
            "cannot be used with",
        ),
    ] {
        let mut argv = vec!["lab", "storm"];
        argv.extend_from_slice(args);
        let (_, code, out) = run_bin(&argv);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains(needle), "{args:?}: {out}");
    }
}
