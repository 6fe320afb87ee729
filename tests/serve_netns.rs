//! `pxe-kit serve` on a staged root inside a network namespace this test creates: the three
//! daemons start, a real HTTP GET and a TFTP request reach them (and their logs come back
//! through serve), SIGTERM stops all of them and nothing is left in the namespace.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

mod common;

use common::*;

/// A staged Debian server whose settings name the bridge `pxk-st0` with 10.79.0.1, after
/// `init`.
fn served_root() -> tempfile::TempDir {
    // A Debian server root with the stock boot loader files (tests/common).
    let t = stage_debian();
    // apache's workers and in.tftpd run unprivileged: the staged root must be traversable.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = t.path();
    let w = |rel: &str, text: &str| {
        let p = r.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "etc/pxe-kit/pxe-kit.yaml",
        "interface: pxk-st0\nserver_ip: 10.79.0.1\nsubnet: 10.79.0.0/24\nrange: 10.79.0.100-10.79.0.200\nping_check: false\n",
    );
    let init = Command::new(BIN)
        .args(["--root", r.to_str().unwrap(), "-q", "init"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    t
}

#[test]
fn serve_runs_the_daemons_in_a_netns_and_stops_on_sigterm() {
    if skip(missing(true, &["dhcpd", "in.tftpd", "apache2", "ip"], &[]).or_else(syslinux_missing)) {
        return;
    }
    let t = served_root();
    let r = t.path();
    let w = |rel: &str, text: &str| write(r, rel, text);
    w(
        "var/www/html/pxe-kit/hello.txt",
        "hello from pxe-kit serve\n",
    );

    let ns = Netns::new("serve");
    ns.ip(&["link", "add", "pxk-st0", "type", "bridge"]);
    ns.ip(&["addr", "add", "10.79.0.1/24", "dev", "pxk-st0"]);
    ns.ip(&["link", "set", "pxk-st0", "up"]);

    let mut served = Served::start(&ns, r);
    let mut wait_for = |needle: &str, secs: u64| served.wait_for(needle, secs);
    assert!(
        wait_for("pxe-kit serve: ready", 20),
        "serve did not come up:\n{}",
        served.out.join("\n")
    );

    // The DHCP daemon runs ranked above the transfers (settings dhcp.nice, default -10).
    assert_eq!(ns.nice_of("dhcpd"), [-10], "dhcpd's nice value");
    assert!(
        ns.nice_of("in.tftpd").iter().all(|&n| n == 0) && !ns.nice_of("in.tftpd").is_empty(),
        "in.tftpd's nice values: {:?}",
        ns.nice_of("in.tftpd")
    );

    let body = ns.bash(
        "exec 3<>/dev/tcp/10.79.0.1/80; printf 'GET /pxe-kit/hello.txt HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
    );
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("hello from pxe-kit serve"), "{body}");
    // Everything outside pxe-kit's directory is refused.
    let denied = ns.bash(
        "exec 3<>/dev/tcp/10.79.0.1/80; printf 'GET /etc/passwd HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
    );
    assert!(!denied.starts_with("HTTP/1.1 200"), "{denied}");
    // A TFTP read request: in.tftpd logs it to our syslog socket, serve prints it.
    ns.bash("printf '\\0\\1pxelinux.0\\0octet\\0' > /dev/udp/10.79.0.1/69");
    for needle in [
        "httpd| ",
        "GET /pxe-kit/hello.txt HTTP/1.0\" 200",
        "RRQ from 10.79.0.1 filename pxelinux.0",
    ] {
        assert!(wait_for(needle, 10), "{}", served.out.join("\n"));
    }
    // serve keeps what the daemons said; `status` reads it back per machine.
    let st = ok(&run(r, &["status", "--json"]));
    let j: serde_json::Value = serde_json::from_str(&st).unwrap();
    let m = j["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["ip"] == "10.79.0.1")
        .unwrap_or_else(|| panic!("no machine 10.79.0.1 in {j:#}"));
    let steps = m["steps"].to_string();
    assert!(
        steps.contains("TFTP pxelinux.0") && steps.contains("GET /pxe-kit/hello.txt -> 200"),
        "{m:#}"
    );

    served.stop();
    let status = served.child.wait().unwrap();
    assert!(
        served.wait_for("pxe-kit serve: stopped", 5),
        "{}",
        served.out.join("\n")
    );
    assert!(
        status.success(),
        "serve exited with {status:?}:\n{}",
        served.out.join("\n")
    );
    assert!(ns.pids().is_empty(), "processes left in {}", ns.name);
    // Nothing was written outside the staged root: the leases file is under it.
    assert!(r.join("var/lib/dhcp/dhcpd.leases").exists());
}

/// A daemon that cannot listen (another process holds tcp/80 on the server address) makes
/// serve give up naming it, instead of saying ready.
#[test]
fn serve_names_the_daemon_that_did_not_start() {
    if skip(
        missing(
            true,
            &["dhcpd", "in.tftpd", "apache2", "ip", "python3"],
            &[],
        )
        .or_else(syslinux_missing),
    ) {
        return;
    }
    let t = served_root();
    let ns = Netns::new("serve-busy");
    ns.ip(&["link", "add", "pxk-st0", "type", "bridge"]);
    ns.ip(&["addr", "add", "10.79.0.1/24", "dev", "pxk-st0"]);
    ns.ip(&["link", "set", "pxk-st0", "up"]);
    let mut squatter = Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c"])
        .arg("import socket,time\ns=socket.socket()\ns.bind(('10.79.0.1',80))\ns.listen()\nprint('bound',flush=True)\ntime.sleep(120)")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(squatter.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "bound");
    let o = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "--root"])
        .arg(t.path())
        .arg("serve")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = squatter.kill();
    let _ = squatter.wait();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(!out.contains("pxe-kit serve: ready"), "{out}");
    assert!(
        err.contains("httpd exited") && err.contains("before it listened"),
        "{err}"
    );
    assert!(ns.pids().is_empty(), "processes left in {}", ns.name);
}
