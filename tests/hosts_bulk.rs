//! Hosts in bulk: a thousand machines from a hostlist (`node[0001-1000]` with consecutive
//! addresses and MACs) applied in one converge on a staged server: every per-machine file and
//! dhcpd host block rendered, the real `dhcpd -t` passing, a second run changing nothing;
//! CSV files with and without a header; a bad line refusing the whole batch.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::time::Instant;

use common::*;

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio", "dhcpd"], &[]))
}

/// A Debian server on a /21 whose pool leaves room for a thousand fixed addresses.
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
            "10.1.0.0/21",
            "--range",
            "10.1.7.0-10.1.7.250",
        ],
    ));
    let w = add_fake_image(t.path(), &["--name", "compute"]);
    (t, w)
}

#[test]
fn a_thousand_hosts_in_one_converge() {
    if skip(tools_missing()) {
        return;
    }
    let (t, _w) = big_server();
    let r = t.path();
    clear_runner_log(r);
    let started = Instant::now();
    let out = ok(&run(
        r,
        &[
            "add-host",
            "--names",
            "node[0001-1000]",
            "--ips",
            "10.1.0.10-10.1.3.241",
            "--macs",
            "52:54:00:10:00:00",
            "--image",
            "compute",
        ],
    ));
    eprintln!("1000 hosts applied in {:?}", started.elapsed());
    assert!(out.contains("add-host: 1000 machines"), "{out}");
    // One converge: dhcpd.conf validated once, written once.
    let checks = runner_log(r)
        .iter()
        .filter(|v| v["argv"].to_string().contains("\"-t\""))
        .count();
    assert_eq!(checks, 1, "dhcpd -t runs once for the whole batch");
    let conf = read(r, "etc/dhcp/dhcpd.conf");
    assert_eq!(conf.matches("\nhost ").count(), 1000);
    assert!(conf.contains("host node1000 {\n    hardware ethernet 52:54:00:10:03:e7;\n    fixed-address 10.1.3.241;"), "{}", &conf[conf.len() - 400..]);
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
    assert_eq!(per_mac, 1000);
    let ipxe = std::fs::read_dir(r.join("var/www/html/pxe-kit/ipxe/hosts"))
        .unwrap()
        .count();
    assert_eq!(ipxe, 1000);
    assert_eq!(
        read(r, "srv/tftp/grub/grub.cfg")
            .matches("net_default_mac")
            .count(),
        1000
    );
    let hosts = ok(&run(r, &["hosts", "--json"]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&hosts)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1000
    );

    // The same batch again: nothing to change, nothing touched.
    let before = snapshot(r);
    let out = ok(&run(
        r,
        &[
            "add-host",
            "--names",
            "node[0001-1000]",
            "--ips",
            "10.1.0.10",
            "--macs",
            "52:54:00:10:00:00",
            "--image",
            "compute",
        ],
    ));
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
