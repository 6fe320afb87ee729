//! Kea served for real: a staged Debian server with `--dhcp-server kea`, `pxe-kit serve` in a
//! network namespace this test creates, and a real DHCP client (ISC dhclient, broadcasting from
//! 0.0.0.0:68 like a PXE ROM) in a second namespace on the same bridge. What a BIOS, a UEFI
//! (option 93 = 7 and 9) and an iPXE client are offered, the fixed address and host name of a
//! machine added with `add-host`, one lease per MAC whatever client id the firmware and the
//! initramfs send, and a non-PXE client getting no boot file. Then doctor's Kea checks, each
//! healthy first and then broken (a hand edit, a value Kea rejects, a second DHCP server, a
//! fixed address leased to another machine, Kea stopped). Needs root, Kea, dhclient and the
//! daemons; skips with the reason otherwise (fails under CI=true).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BR: &str = "pxk-ks0";
const SERVER: &str = "10.81.0.1";
const HOST_MAC: &str = "52:54:00:12:34:56";

fn missing_here() -> Option<String> {
    missing(
        true,
        &[
            "kea-dhcp4",
            "dhclient",
            "in.tftpd",
            "apache2",
            "dhcpd",
            "cpio",
            "ip",
        ],
        &[],
    )
    .or_else(syslinux_missing)
}

/// What one dhclient exchange got: the `new_*` variables its script saw.
fn lease(
    client: &Netns,
    work: &Path,
    mac: &str,
    vendor: Option<&str>,
    arch: Option<u16>,
    ipxe: bool,
    client_id: Option<&str>,
) -> BTreeMap<String, String> {
    client.ip(&["link", "set", "pxk-kc0", "down"]);
    client.ip(&["link", "set", "pxk-kc0", "address", mac]);
    client.ip(&["link", "set", "pxk-kc0", "up"]);
    let dump = work.join("dump");
    let _ = std::fs::remove_file(&dump);
    let _ = std::fs::remove_file(work.join("dhclient.leases"));
    let mut conf = String::from("option pxe-arch code 93 = unsigned integer 16;\n");
    if let Some(v) = vendor {
        conf += &format!("send vendor-class-identifier \"{v}\";\n");
    }
    if let Some(a) = arch {
        conf += &format!("send pxe-arch {a};\n");
    }
    if ipxe {
        conf += "send user-class \"iPXE\";\n";
    }
    if let Some(c) = client_id {
        conf += &format!("send dhcp-client-identifier \"{c}\";\n");
    }
    conf += "request subnet-mask, routers, domain-name-servers, domain-search, host-name, time-offset;\ntimeout 10; retry 1; initial-interval 1;\n";
    std::fs::write(work.join("dhclient.conf"), conf).unwrap();
    let mut c = Command::new("ip")
        .args(["netns", "exec", &client.name, "timeout", "15", "dhclient"])
        .args(["-4", "-1", "-d", "-q", "-cf"])
        .arg(work.join("dhclient.conf"))
        .arg("-lf")
        .arg(work.join("dhclient.leases"))
        .arg("-pf")
        .arg(work.join("dhclient.pid"))
        .arg("-sf")
        .arg(work.join("dump.sh"))
        .arg("pxk-kc0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(14);
    while Instant::now() < deadline && !dump.exists() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = c.kill();
    let _ = c.wait();
    std::fs::read_to_string(&dump)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn doctor(ns: &Netns, root: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let o = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "--root"])
        .arg(root)
        .arg("doctor")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let j = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code().unwrap(), j)
}

fn check<'a>(j: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

#[track_caller]
fn assert_check(j: &serde_json::Value, id: &str, status: &str, needle: &str) {
    let c = check(j, id);
    assert_eq!(c["status"], status, "{id}: {c:#}");
    assert!(
        c.to_string().contains(needle),
        "{id} does not mention {needle:?}: {c:#}"
    );
}

// Long: one served namespace carries the client cases and every doctor case, in order;
// starting Kea, apache and tftpd once is what keeps this test short.
#[test]
fn kea_serves_pxe_clients_and_doctor_sees_each_break() {
    if skip(missing_here()) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(&run(
        r,
        &[
            "init",
            "--interface",
            BR,
            "--server-ip",
            SERVER,
            "--subnet",
            "10.81.0.0/24",
            "--range",
            "10.81.0.100-10.81.0.200",
            "--dns",
            SERVER,
            "--domain-search",
            "lab.example",
            "--dhcp-server",
            "kea",
        ],
    ));
    let _img = add_fake_image(r, &["--name", "demo", "--default"]);
    ok(&run(
        r,
        &[
            "add-host",
            HOST_MAC,
            "--image",
            "demo",
            "--ip",
            "10.81.0.50",
            "--hostname",
            "term01",
        ],
    ));

    let server = Netns::new("kea-srv");
    let client = Netns::new("kea-cli");
    server.ip(&["link", "add", BR, "type", "bridge", "forward_delay", "0"]);
    server.ip(&["addr", "add", &format!("{SERVER}/24"), "dev", BR]);
    server.ip(&["link", "set", BR, "up"]);
    server.ip(&[
        "link", "add", "pxk-kc1", "type", "veth", "peer", "name", "pxk-kc0",
    ]);
    server.ip(&["link", "set", "pxk-kc1", "master", BR]);
    server.ip(&["link", "set", "pxk-kc1", "up"]);
    server.ip(&["link", "set", "pxk-kc0", "netns", &client.name]);
    // The client's end up: the bridge has carrier (Kea opens no socket without it).
    client.ip(&["link", "set", "pxk-kc0", "up"]);

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(
        w.join("dump.sh"),
        format!(
            "#!/bin/sh\ncase \"$reason\" in BOUND|RENEW|REBOOT) env | grep '^new_' > {}/dump.tmp && mv {}/dump.tmp {}/dump;; esac\nexit 0\n",
            w.display(),
            w.display(),
            w.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(w.join("dump.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut served = Served::start(&server, r);
    assert!(
        served.wait_for("pxe-kit serve: ready: kea on pxk-ks0", 20),
        "serve did not come up:\n{}",
        served.out.join("\n")
    );
    assert_eq!(server.nice_of("kea-dhcp4"), [-10], "kea-dhcp4's nice value");
    const BIOS: &str = "PXEClient:Arch:00000:UNDI:002001";
    const UEFI: &str = "PXEClient:Arch:00007:UNDI:003016";
    let get = |l: &BTreeMap<String, String>, k: &str| l.get(k).cloned().unwrap_or_default();

    let bios = lease(
        &client,
        w,
        "52:54:00:aa:00:01",
        Some(BIOS),
        Some(0),
        false,
        None,
    );
    assert!(
        get(&bios, "new_ip_address").starts_with("10.81.0.1"),
        "{bios:?}"
    );
    assert_eq!(get(&bios, "new_filename"), "lpxelinux.0", "{bios:?}");
    assert_eq!(get(&bios, "new_next_server"), SERVER, "{bios:?}");
    assert_eq!(get(&bios, "new_domain_search"), "lab.example.", "{bios:?}");
    assert_eq!(get(&bios, "new_domain_name_servers"), SERVER, "{bios:?}");
    for arch in [7, 9] {
        let uefi = lease(
            &client,
            w,
            "52:54:00:aa:00:02",
            Some(UEFI),
            Some(arch),
            false,
            None,
        );
        assert_eq!(
            get(&uefi, "new_filename"),
            "uefi/shimx64.efi",
            "arch {arch}: {uefi:?}"
        );
    }
    let ipxe = lease(
        &client,
        w,
        "52:54:00:aa:00:03",
        Some(UEFI),
        Some(7),
        true,
        None,
    );
    assert_eq!(
        get(&ipxe, "new_filename"),
        format!("http://{SERVER}/pxe-kit/ipxe/boot.ipxe"),
        "{ipxe:?}"
    );
    let plain = lease(&client, w, "52:54:00:aa:00:04", None, None, false, None);
    assert!(!get(&plain, "new_ip_address").is_empty(), "{plain:?}");
    assert_eq!(
        get(&plain, "new_filename"),
        "",
        "not PXE: no boot file: {plain:?}"
    );
    let fixed = lease(&client, w, HOST_MAC, Some(BIOS), Some(0), false, None);
    assert_eq!(get(&fixed, "new_ip_address"), "10.81.0.50", "{fixed:?}");
    assert_eq!(get(&fixed, "new_host_name"), "term01", "{fixed:?}");
    // The firmware and then the initramfs, with different client ids: one address.
    let fw = lease(
        &client,
        w,
        "52:54:00:aa:00:05",
        Some(BIOS),
        Some(0),
        false,
        Some("fw-rom"),
    );
    let rd = lease(
        &client,
        w,
        "52:54:00:aa:00:05",
        None,
        None,
        false,
        Some("initramfs"),
    );
    assert_eq!(
        get(&fw, "new_ip_address"),
        get(&rd, "new_ip_address"),
        "one lease per MAC: {fw:?} {rd:?}"
    );
    // Kea's log lines came through serve, with the prefix the timeline reads.
    assert!(
        served.wait_for(
            "kea  | INFO  [kea-dhcp4.leases] DHCP4_LEASE_ALLOC [hwtype=1 52:54:00:12:34:56]",
            5
        ),
        "{}",
        served.out.join("\n")
    );

    // doctor, healthy: every Kea check ok, the dhcpd ones skipped with the reason.
    let (code, j) = doctor(&server, r, &[]);
    for (id, needle) in [
        ("config.kea", "kea-dhcp4 -t /etc/kea/kea-dhcp4.conf` passes"),
        ("network.kea-scope", "restricted to pxk-ks0"),
        ("services.kea", "kea-dhcp4 runs"),
        ("services.dhcp-single", "ISC dhcpd is not running"),
        ("hosts.kea-reservations", "1 reservation(s)"),
        (
            "hosts.kea-leases",
            "1 of 1 machine(s) with a fixed address hold it",
        ),
        ("services.ports", "udp/67"),
    ] {
        assert_check(&j, id, "ok", needle);
    }
    for id in [
        "config.dhcpd",
        "network.dhcpd-scope",
        "services.dhcpd",
        "hosts.leases",
    ] {
        assert_check(&j, id, "skip", "the DHCP server is Kea");
    }
    assert_eq!(code, 0, "{j:#}");

    // A second DHCP server in the namespace (a real dhcpd on the wildcard).
    std::fs::write(
        w.join("stray.conf"),
        "subnet 10.81.0.0 netmask 255.255.255.0 { }\n",
    )
    .unwrap();
    std::fs::write(w.join("stray.leases"), "").unwrap();
    let mut stray = Command::new("ip")
        .args(["netns", "exec", &server.name, "dhcpd", "-4", "-f", "-cf"])
        .arg(w.join("stray.conf"))
        .arg("-lf")
        .arg(w.join("stray.leases"))
        .arg("-pf")
        .arg(w.join("stray.pid"))
        .arg(BR)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut code, mut j) = doctor(&server, r, &[]);
    while check(&j, "services.dhcp-single")["status"] != "fail" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        (code, j) = doctor(&server, r, &[]);
    }
    let _ = stray.kill();
    let _ = stray.wait();
    assert_check(
        &j,
        "services.dhcp-single",
        "fail",
        "ISC dhcpd runs beside Kea",
    );
    assert_check(&j, "services.dhcp-single", "fail", "stop ISC dhcpd");
    assert_eq!(code, 1);

    // A fixed address leased to another machine (a row Kea would have written).
    let leases = r.join("var/lib/kea/kea-leases4.csv");
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let mut text = std::fs::read_to_string(&leases).unwrap();
    text += &format!("10.81.0.50,52:54:00:bb:bb:bb,,3600,{far},1,0,0,,0,\n");
    std::fs::write(&leases, text).unwrap();
    let (_, j) = doctor(&server, r, &[]);
    assert_check(
        &j,
        "hosts.kea-leases",
        "fail",
        "10.81.0.50 of 52:54:00:12:34:56 is leased to 52:54:00:bb:bb:bb",
    );

    // A hand edit that widens Kea to every interface: drift and scope.
    let conf = r.join("etc/kea/kea-dhcp4.conf");
    let good = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, good.replacen("\"pxk-ks0\"", "\"*\"", 1)).unwrap();
    let (_, j) = doctor(&server, r, &[]);
    assert_check(&j, "network.kea-scope", "warn", "every interface");
    assert_check(&j, "config.drift", "fail", "/etc/kea/kea-dhcp4.conf");
    // A value Kea rejects: its own test names the file.
    std::fs::write(
        &conf,
        good.replace("\"valid-lifetime\": 3600", "\"valid-lifetime\": \"soon\""),
    )
    .unwrap();
    let (_, j) = doctor(&server, r, &[]);
    assert_check(
        &j,
        "config.kea",
        "fail",
        "Kea rejects /etc/kea/kea-dhcp4.conf",
    );
    assert_check(&j, "config.kea", "fail", "doctor --fix");
    // --fix puts the rendered file back.
    let (_, j) = doctor(&server, r, &["--fix"]);
    assert_check(&j, "config.kea", "ok", "passes");
    assert_check(&j, "network.kea-scope", "ok", "restricted to pxk-ks0");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), good);

    // Kea stopped (serve stops everything): named, with how to start it here.
    served.stop();
    let (_, j) = doctor(&server, r, &[]);
    assert_check(&j, "services.kea", "fail", "no kea-dhcp4 process");
    assert_check(&j, "services.kea", "fail", "serve");
    assert!(
        server.pids().is_empty(),
        "processes left in {}",
        server.name
    );
}
