//! `pxe-kit init` on the live CI machine (Debian, root, no systemd), inside a network
//! namespace this test creates with a veth interface: real apt, real files in /etc, real
//! iptables rules (in the namespace), and the real `dhcpd -t` and `apache2ctl -t`.
//!
//! It changes the machine it runs on, so it runs only where that is wanted: with CI=true (a
//! throw-away CI machine) or PXE_KIT_LIVE_TESTS=1.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use std::process::Command;

use common::*;

fn in_ns(ns: &str, args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn live_init_on_debian_in_a_namespace() {
    // It changes this machine: off CI only when asked for.
    if !in_ci() && std::env::var_os("PXE_KIT_LIVE_TESTS").is_none() {
        eprintln!("skipped: changes this machine; runs with CI=true or PXE_KIT_LIVE_TESTS=1");
        return;
    }
    if skip(missing(true, &["dhcpd", "apache2ctl", "iptables"], &[])) {
        return;
    }
    let ns = Netns::new("live");
    // This kernel has no dummy driver; a veth pair whose both ends stay in the namespace does.
    ns.ip(&[
        "link", "add", "pxkl0", "type", "veth", "peer", "name", "pxkl0p",
    ]);
    ns.ip(&["link", "set", "pxkl0p", "up"]);
    ns.ip(&["addr", "add", "10.66.0.1/24", "dev", "pxkl0"]);
    ns.ip(&["link", "set", "pxkl0", "up"]);

    // Take one stock package away so that init has to install it with apt. Daemons that
    // package scripts would start must not run in the root namespace: policy-rc.d says no.
    let policy = std::path::Path::new("/usr/sbin/policy-rc.d");
    let made_policy = !policy.exists();
    if made_policy {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(policy, "#!/bin/sh\nexit 101\n").unwrap();
        std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The namespace has no route to the Debian mirror, so the package is fetched into apt's
    // cache first (download-only runs no dpkg hook that would clean the cache); pxe-kit's
    // apt-get inside the namespace then installs it from there.
    for args in [
        &["remove", "-y", "-qq", "tftpd-hpa"][..],
        &["install", "-y", "-qq", "--download-only", "tftpd-hpa"][..],
    ] {
        let o = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "apt-get {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // Server address and subnet come from the interface.
    let o = in_ns(
        &ns.name,
        &[
            BIN,
            "init",
            "--interface",
            "pxkl0",
            "--range",
            "10.66.0.100-10.66.0.200",
        ],
    );
    if made_policy {
        let _ = std::fs::remove_file(policy);
    }
    let out = ok(&o);
    assert!(
        out.contains("ran: env DEBIAN_FRONTEND=noninteractive apt-get install"),
        "{out}"
    );
    assert!(
        std::path::Path::new("/usr/sbin/in.tftpd").is_file(),
        "apt did not reinstall tftpd-hpa"
    );
    assert!(
        out.contains("PID 1 is not systemd") && out.contains("pxe-kit serve"),
        "{out}"
    );

    let conf = std::fs::read_to_string("/etc/dhcp/dhcpd.conf").unwrap();
    assert!(
        conf.contains("subnet 10.66.0.0 netmask 255.255.255.0")
            && conf.contains("next-server 10.66.0.1;"),
        "{conf}"
    );
    dhcpd_accepts(std::path::Path::new("/etc/dhcp/dhcpd.conf")).unwrap();
    let a = Command::new("apache2ctl").arg("-t").output().unwrap();
    assert!(
        a.status.success(),
        "apache2ctl -t: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(std::path::Path::new("/etc/apache2/conf-enabled/pxe-kit.conf").exists());
    assert!(std::fs::read_to_string("/etc/default/isc-dhcp-server")
        .unwrap()
        .contains("INTERFACESv4=\"pxkl0\""));
    assert!(std::path::Path::new("/srv/tftp/pxelinux.0").is_file());
    let rules =
        String::from_utf8_lossy(&in_ns(&ns.name, &["iptables", "-S", "INPUT"]).stdout).into_owned();
    for (proto, port) in [("udp", "67"), ("udp", "69"), ("tcp", "80")] {
        assert!(
            rules.contains(&format!(
                "-A INPUT -i pxkl0 -p {proto} -m {proto} --dport {port}"
            )),
            "{rules}"
        );
    }

    // A second run finds everything in place: no file written, no command run.
    let out = ok(&in_ns(&ns.name, &[BIN, "init"]));
    assert!(
        out.contains("nothing to change") && !out.contains("ran:"),
        "{out}"
    );
}
