//! Bad input, from flags and from the YAML: exit code 2, one line naming the bad value and
//! the fix, and a tree left exactly as it was.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

fn check(root: &std::path::Path, args: &[&str], needle: &str) {
    let before = snapshot(root);
    let o = run(root, args);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?}: expected exit 2, got {:?}; stderr: {err}",
        o.status.code()
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: error is not one line: {err}"
    );
    assert!(err.starts_with("pxe-kit: error: "), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: error does not name {needle:?}: {err}"
    );
    assert_same(
        &before,
        &snapshot(root),
        &format!("{args:?}: the tree changed"),
    );
}

fn with(extra: &[&str], replace: Option<(&str, &str)>) -> Vec<String> {
    let mut v: Vec<String> = INIT.iter().map(|s| s.to_string()).collect();
    if let Some((flag, val)) = replace {
        let i = v.iter().position(|a| a == flag).unwrap();
        v[i + 1] = val.to_string();
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn bad_flags_are_refused_cleanly() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (with(&[], Some(("--server-ip", "10.0.0.300"))), "10.0.0.300"),
        (
            with(&[], Some(("--server-ip", "10.0.1.1"))),
            "10.0.1.1 is outside subnet 10.0.0.0/24",
        ),
        (
            with(&[], Some(("--server-ip", "10.0.0.150"))),
            "inside the range",
        ),
        (with(&[], Some(("--server-ip", "10.0.0.255"))), "broadcast"),
        (with(&[], Some(("--subnet", "10.0.0.0/33"))), "10.0.0.0/33"),
        (
            with(&[], Some(("--subnet", "10.0.0.7/24"))),
            "did you mean 10.0.0.0/24",
        ),
        (
            with(&[], Some(("--range", "10.0.0.200-10.0.0.100"))),
            "reversed",
        ),
        (
            with(&[], Some(("--range", "10.0.0.100-10.0.9.200"))),
            "10.0.9.200 is outside",
        ),
        (with(&[], Some(("--range", "10.0.0.100"))), "FIRST-LAST"),
        (
            with(&["--router", "192.168.1.1"], None),
            "router 192.168.1.1",
        ),
        (
            with(&["--dns", "10.0.0.1,nameserver"], None),
            "\"nameserver\"",
        ),
        (
            with(&["--domain-search", "lab.example\";evil"], None),
            "lab.example",
        ),
        (with(&["--time-offset", "999999"], None), "999999"),
        (with(&["--serial", "7,115200"], None), "serial port 7"),
        (with(&["--serial", "0,1234"], None), "baud 1234"),
        (
            with(&[], Some(("--interface", "ens4;reboot"))),
            "ens4;reboot",
        ),
        (with(&["--tftp-launcher", "inetd"], None), "inetd"),
        // No client can reach a loopback device.
        (with(&[], Some(("--interface", "lo"))), "loopback"),
        (vec!["init".into()], "pass --interface"),
    ];
    assert!(cases.len() >= 15);
    for (args, needle) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        check(r, &args, needle);
    }
}

#[test]
fn bad_yaml_is_refused_cleanly() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let good = read(r, "etc/pxe-kit/pxe-kit.yaml");
    let cases: Vec<(String, &str)> = vec![
        (good.clone() + "colour: blue\n", "unknown field `colour`"),
        (
            good.replace("server_ip: 10.0.0.1", "server_ip: 42"),
            "server_ip",
        ),
        (
            good.replace(
                "range: 10.0.0.100-10.0.0.200",
                "range: 10.0.0.200-10.0.0.100",
            ),
            "reversed",
        ),
        (
            good.replace("interface: ens4\n", ""),
            "missing field `interface`",
        ),
        (
            good.replace("default: local", "default: nosuchimage"),
            "nosuchimage",
        ),
        (
            good.replace("timeout: 50", "timeout: 999999"),
            "boot.timeout 999999",
        ),
        (
            good.replace("subnet: 10.0.0.0/24", "subnet: [1, 2]"),
            "subnet",
        ),
        (
            good.clone() + "boot: {serial: {port: 9, baud: 115200}}\n",
            "duplicate",
        ),
        (
            "interface: ens4\n  bad: indentation\n".into(),
            "pxe-kit.yaml",
        ),
        (
            good.replace("dhcp:\n", "dhcp:\n  nice: -30\n"),
            "dhcp.nice -30",
        ),
    ];
    assert!(
        good.contains("dhcp:\n"),
        "init saves the DHCP server: {good}"
    );
    for (yaml, needle) in cases {
        write(r, "etc/pxe-kit/pxe-kit.yaml", &yaml);
        check(r, &["init"], needle);
    }
}

#[test]
fn bad_roots_and_missing_boot_loader() {
    let o = std::process::Command::new(BIN)
        .args(["--root", "/nonexistent/pxe-kit-root", "init"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/pxe-kit-root"),
        "{}",
        stderr(&o)
    );

    let t = tempfile::tempdir().unwrap();
    check(t.path(), INIT, "etc/os-release is missing; pass --distro");
    write(t.path(), "etc/os-release", "ID=arch\n");
    check(t.path(), INIT, "pass --distro");
    write(t.path(), "etc/os-release", "ID=fedora\n");
    check(
        t.path(),
        INIT,
        "usr/share/syslinux/pxelinux.0 is missing; install syslinux-nonlinux",
    );
}

#[test]
fn live_mode_refuses_non_root_and_unknown_interfaces() {
    if skip(missing(true, &["setpriv"], &[])) {
        return;
    }
    // As nobody on the live system: refused before anything is touched.
    let o = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(INIT)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("must run as root; use sudo, or --root DIR to stage"),
        "{}",
        stderr(&o)
    );
    // A live dry run with an interface that cannot serve: refused (nothing could change
    // anyway).
    let refused = |iface: &str, ip: &str, subnet: &str, needle: &str| {
        let o = std::process::Command::new(BIN)
            .args(["--dry-run", "init", "--interface", iface])
            .args(["--server-ip", ip, "--subnet", subnet])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    };
    // An interface this host does not have.
    refused(
        "nosuch0",
        "10.0.0.1",
        "10.0.0.0/24",
        "interface \"nosuch0\" does not exist on this host; pick one of:",
    );
    // The loopback device exists on every host, and no client can reach it.
    refused(
        "lo",
        "127.0.0.1",
        "127.0.0.0/8",
        "interface \"lo\" is a loopback device",
    );
}
