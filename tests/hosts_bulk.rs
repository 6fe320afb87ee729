//! Hosts in bulk: ten thousand machines from a hostlist (`node[00001-10000]` with
//! consecutive addresses and MACs) applied in one converge on a staged server under the usual
//! small open-file limit: every per-machine file and dhcpd host block rendered, the real
//! `dhcpd -t` passing, a second run changing nothing; CSV files with and without a header; a
//! bad line refusing the whole batch.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::time::Instant;

use common::*;

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio", "dhcpd"], &[]))
}

/// A Debian server on a /18 whose pool leaves room for ten thousand fixed addresses.
fn big_server() -> (tempfile::TempDir, tempfile::TempDir) {
    let t = stage_debian();
    ok(&run(
        t.path(),
        &[
            "init",
            "--interface",
            "ens4",
            "--server-ip",
            "10.1.0.1",
            "--subnet",
            "10.1.0.0/18",
            "--range",
            "10.1.63.0-10.1.63.250",
        ],
    ));
    let w = add_fake_image(t.path(), &["--name", "compute"]);
    (t, w)
}

/// Open files a batch may hold: far below the 20 000 files a batch of ten thousand machines
/// writes, and below the usual `ulimit -n` of 1024 (the machines here allow many more).
const OPEN_FILES: &str = "256";

/// `run` under `ulimit -n OPEN_FILES`.
fn run_limited(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let log = root.with_extension("runner.jsonl");
    std::process::Command::new("bash")
        .args([
            "-c",
            &format!("ulimit -n {OPEN_FILES} && exec \"$@\""),
            "bash",
        ])
        .arg(env!("CARGO_BIN_EXE_pxe-kit"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("PXE_KIT_RUNNER_LOG", &log)
        .output()
        .unwrap()
}

#[test]
fn ten_thousand_hosts_in_one_converge_with_few_open_files() {
    if skip(tools_missing()) {
        return;
    }
    let (t, _w) = big_server();
    let r = t.path();
    clear_runner_log(r);
    let started = Instant::now();
    let out = ok(&run_limited(
        r,
        &[
            "add-host",
            "--names",
            "node[00001-10000]",
            "--ips",
            "10.1.0.10",
            "--macs",
            "52:54:00:10:00:00",
            "--image",
            "compute",
        ],
    ));
    eprintln!("10000 hosts applied in {:?}", started.elapsed());
    assert!(out.contains("add-host: 10000 machines"), "{out}");
    // One converge: dhcpd.conf validated once, written once.
    let checks = runner_log(r)
        .iter()
        .filter(|v| v["argv"].to_string().contains("\"-t\""))
        .count();
    assert_eq!(checks, 1, "dhcpd -t runs once for the whole batch");
    let conf = read(r, "etc/dhcp/dhcpd.conf");
    assert_eq!(conf.matches("\nhost ").count(), 10000);
    // 10.1.0.10 + 9999 = 10.1.39.25; 0x2710 - 1 = 0x270f.
    assert!(conf.contains("host node10000 {\n    hardware ethernet 52:54:00:10:27:0f;\n    fixed-address 10.1.39.25;"), "{}", &conf[conf.len() - 400..]);
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
    let per_mac = std::fs::read_dir(r.join("srv/tftp/pxelinux.cfg"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("01-")
        })
        .count();
    assert_eq!(per_mac, 10000);
    let ipxe = std::fs::read_dir(r.join("var/www/html/pxe-kit/ipxe/hosts"))
        .unwrap()
        .count();
    assert_eq!(ipxe, 10000);
    assert_eq!(
        read(r, "srv/tftp/grub/grub.cfg")
            .matches("net_default_mac")
            .count(),
        10000
    );
    let hosts = ok(&run(r, &["hosts", "--json"]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&hosts)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        10000
    );

    // The same batch again: nothing to change, nothing touched.
    let before = snapshot(r);
    let started = Instant::now();
    let out = ok(&run_limited(
        r,
        &[
            "add-host",
            "--names",
            "node[00001-10000]",
            "--ips",
            "10.1.0.10",
            "--macs",
            "52:54:00:10:00:00",
            "--image",
            "compute",
        ],
    ));
    eprintln!("10000 hosts re-applied in {:?}", started.elapsed());
    assert!(out.contains("nothing to change"), "{out}");
    assert_same(&before, &snapshot(r), "re-applying the batch");
}

#[test]
fn csv_batches_apply_whole_or_not_at_all() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = big_server();
    let r = t.path();
    let csv = w.path().join("hosts.csv");
    std::fs::write(
        &csv,
        "hostname,mac,ip\nrack1-a,52:54:00:20:00:01,10.1.0.20\nrack1-b,52-54-00-20-00-02,10.1.0.21\n# spare\nrack1-c,5254.0020.0003,\n",
    )
    .unwrap();
    ok(&run(
        r,
        &[
            "add-host",
            "--csv",
            csv.to_str().unwrap(),
            "--image",
            "compute",
        ],
    ));
    let conf = read(r, "etc/dhcp/dhcpd.conf");
    assert!(
        conf.contains("host rack1-b {\n    hardware ethernet 52:54:00:20:00:02;"),
        "{conf}"
    );
    assert!(r
        .join("srv/tftp/pxelinux.cfg/01-52-54-00-20-00-03")
        .exists());

    // A duplicate address on line 3: refused, naming it, nothing changed.
    let before = snapshot(r);
    let bad = w.path().join("bad.csv");
    std::fs::write(
        &bad,
        "52:54:00:30:00:01,x1,10.1.0.30,compute\n52:54:00:30:00:02,x2,10.1.0.30,compute\n",
    )
    .unwrap();
    let o = run(r, &["add-host", "--csv", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("10.1.0.30") && e.trim().lines().count() == 1,
        "{e}"
    );
    assert_same(&before, &snapshot(r), "a refused batch");
    // An unknown image anywhere in the file: refused the same way.
    std::fs::write(&bad, "52:54:00:30:00:03,x3,10.1.0.31,nope\n").unwrap();
    let o = run(r, &["add-host", "--csv", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown image \"nope\""),
        "{}",
        stderr(&o)
    );
    assert_same(&before, &snapshot(r), "a refused batch");
}
