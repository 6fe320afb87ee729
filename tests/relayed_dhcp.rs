//! Relayed requests through the real daemons: the relayed-subnet golden configurations
//! (`tests/golden/debian-relayed/`) served by kea-dhcp4 and by dhcpd in a network namespace
//! of the test's own, and Kea's `perfdhcp` in a second namespace acting as a relay on
//! 10.1.0.1 (its requests carry giaddr 10.1.0.1, sent to the server's address as a relay
//! sends them). Each daemon must hand out an address from the relayed subnet's pool
//! (10.1.0.100-200), not the provisioning subnet's: the relay's address picks the subnet.
//! Kea listens with raw sockets: this also proves they take relayed (unicast) traffic.
//! A few seconds; no VM (tests/lab_demo.rs boots one through `dhcrelay`).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/debian-relayed");

/// The server namespace (`ens4`, 10.0.0.1/24, a route back to 10.1.0.0/24) and the relay's
/// (its uplink with 10.0.0.254 and the relay address 10.1.0.1).
fn network(tag: &str) -> (Netns, Netns) {
    let s = Netns::new(&format!("{tag}s"));
    let r = Netns::new(&format!("{tag}r"));
    s.ip(&[
        "link", "add", "ens4", "type", "veth", "peer", "name", "up1", "netns", &r.name,
    ]);
    s.ip(&["addr", "add", "10.0.0.1/24", "dev", "ens4"]);
    s.ip(&["link", "set", "ens4", "up"]);
    r.ip(&["addr", "add", "10.0.0.254/24", "dev", "up1"]);
    r.ip(&["addr", "add", "10.1.0.1/24", "dev", "up1"]);
    r.ip(&["link", "set", "up1", "up"]);
    s.ip(&["route", "add", "10.1.0.0/24", "via", "10.0.0.254"]);
    (s, r)
}

/// Waits until `log` holds `ready` (the daemon's own word that it serves); fails with the log
/// when the daemon exits or takes over 30 s.
fn wait_for(child: &mut Child, log: &Path, ready: &str) {
    let by = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(ready) {
            return;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("the daemon exited ({st}) before {ready:?}:\n{text}");
        }
        assert!(Instant::now() < by, "no {ready:?} within 30 s:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One DISCOVER-OFFER-REQUEST-ACK exchange relayed from 10.1.0.1. perfdhcp sends its
/// REQUEST only on an OFFER that came back through the relay address (`-W`: it waits up to
/// 10 s for late answers once `-n 1` is reached); it may stop before the ACK arrives, so the
/// daemon's own log of the lease decides.
fn relayed_exchange(relay: &Netns) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", &relay.name, "timeout", "30", "perfdhcp"])
        .args([
            "-4", "-r", "1", "-n", "1", "-R", "1", "-W", "10000000", "-l", "10.1.0.1", "10.0.0.1",
        ])
        .output()
        .unwrap()
}

/// perfdhcp got an OFFER back through the relay address and sent its REQUEST.
#[track_caller]
fn assert_requested(o: &std::process::Output) {
    let out = String::from_utf8_lossy(&o.stdout);
    let req = out
        .split("***Statistics for: REQUEST-ACK***")
        .nth(1)
        .unwrap_or_else(|| {
            panic!(
                "perfdhcp ran no exchange: {out}{}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
    assert!(req.contains("sent packets: 1"), "no OFFER came back: {out}");
}

#[test]
fn kea_gives_a_relayed_client_an_address_of_its_subnet() {
    if skip(missing(true, &["kea-dhcp4", "perfdhcp", "ip"], &[])) {
        return;
    }
    let (s, r) = network("krel");
    let t = tempfile::tempdir().unwrap();
    let leases = t.path().join("leases.csv");
    let conf = t.path().join("kea.conf");
    let golden = std::fs::read(Path::new(GOLDEN).join("kea-dhcp4.conf")).unwrap();
    let text = pxe_kit::kea::for_serve(&golden, &leases, &t.path().join("sock")).unwrap();
    std::fs::write(&conf, text).unwrap();
    let log = t.path().join("kea.log");
    let mut kea = Command::new("ip")
        .args(["netns", "exec", &s.name, "kea-dhcp4", "-c"])
        .arg(&conf)
        .envs(pxe_kit::kea::serve_env(t.path(), t.path()))
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&mut kea, &log, "DHCP4_STARTED");
    let o = relayed_exchange(&r);
    assert_requested(&o);
    wait_for(&mut kea, &log, "DHCP4_LEASE_ALLOC");
    let l = std::fs::read_to_string(&leases).unwrap();
    let all = pxe_kit::kea::parse_leases(&[&l]);
    let got: Vec<_> = all.keys().collect();
    assert_eq!(got.len(), 1, "{l}");
    let pool: std::ops::RangeInclusive<std::net::Ipv4Addr> =
        "10.1.0.100".parse().unwrap()..="10.1.0.200".parse().unwrap();
    assert!(pool.contains(got[0]), "not from the relayed pool: {l}");
    // The lease belongs to the relayed subnet's id: its network address as a number.
    let id = u32::from(std::net::Ipv4Addr::new(10, 1, 0, 0)).to_string();
    assert!(
        l.lines().nth(1).unwrap().contains(&format!(",{id},")),
        "{l}"
    );
    let _ = kea.kill();
    let _ = kea.wait();
}

#[test]
fn dhcpd_gives_a_relayed_client_an_address_of_its_subnet() {
    if skip(missing(true, &["dhcpd", "perfdhcp", "ip"], &[])) {
        return;
    }
    let (s, r) = network("drel");
    let t = tempfile::tempdir().unwrap();
    let leases = t.path().join("dhcpd.leases");
    std::fs::write(&leases, "").unwrap();
    let log = t.path().join("dhcpd.log");
    let mut dhcpd = Command::new("ip")
        .args(["netns", "exec", &s.name, "dhcpd", "-4", "-f", "-d", "-cf"])
        .arg(Path::new(GOLDEN).join("dhcpd.conf"))
        .arg("-lf")
        .arg(&leases)
        .arg("-pf")
        .arg(t.path().join("dhcpd.pid"))
        .arg("ens4")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&mut dhcpd, &log, "Server starting service.");
    let o = relayed_exchange(&r);
    assert_requested(&o);
    wait_for(&mut dhcpd, &log, "DHCPACK on ");
    let text = std::fs::read_to_string(&log).unwrap();
    let ack = text
        .lines()
        .find(|l| l.starts_with("DHCPACK on "))
        .unwrap_or_else(|| panic!("no DHCPACK:\n{text}"));
    let ip: std::net::Ipv4Addr = ack.split_whitespace().nth(2).unwrap().parse().unwrap();
    let pool: std::ops::RangeInclusive<std::net::Ipv4Addr> =
        "10.1.0.100".parse().unwrap()..="10.1.0.200".parse().unwrap();
    assert!(pool.contains(&ip), "not from the relayed pool: {ack}");
    assert!(ack.ends_with("via 10.1.0.1"), "{ack}");
    let _ = dhcpd.kill();
    let _ = dhcpd.wait();
}
