//! `pxe-kit serve` on a staged root inside a network namespace this test creates: the three
//! daemons start, a real HTTP GET and a TFTP request reach them (and their logs come back
//! through serve), SIGTERM stops all of them and nothing is left in the namespace.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_pxe-kit");

fn skip_reason() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces)");
    }
    for p in ["/usr/sbin/dhcpd", "/usr/sbin/in.tftpd", "/usr/sbin/apache2"] {
        if !std::path::Path::new(p).exists() {
            return Some("needs isc-dhcp-server, tftpd-hpa and apache2");
        }
    }
    if !common::host_has_syslinux() {
        return Some("needs pxelinux, syslinux-common, shim-signed and grub-efi-amd64-signed");
    }
    None
}

/// Deletes the test's namespace (and anything in it) however the test ends.
struct Ns(String);
impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().unwrap();
    assert!(st.success(), "ip {args:?} failed");
}

fn in_ns(ns: &str, script: &str) -> String {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "bash", "-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn serve_runs_the_daemons_in_a_netns_and_stops_on_sigterm() {
    if let Some(why) = skip_reason() {
        eprintln!("skipping: {why}");
        return;
    }
    // A Debian server root with the stock boot loader files (tests/common).
    let t = common::stage_debian();
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
    w(
        "var/www/html/pxe-kit/hello.txt",
        "hello from pxe-kit serve\n",
    );

    let ns = Ns(format!("pxk-test-serve-{}", std::process::id()));
    ip(&["netns", "add", &ns.0]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    ip(&["-n", &ns.0, "link", "add", "pxk-st0", "type", "bridge"]);
    ip(&["-n", &ns.0, "addr", "add", "10.79.0.1/24", "dev", "pxk-st0"]);
    ip(&["-n", &ns.0, "link", "set", "pxk-st0", "up"]);

    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.0,
            BIN,
            "--root",
            r.to_str().unwrap(),
            "serve",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    for s in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(s).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
    }
    let mut out = Vec::new();
    let wait_for = |out: &mut Vec<String>, needle: &str, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if out.iter().any(|l: &String| l.contains(needle)) {
                return true;
            }
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                out.push(l);
            }
        }
        out.iter().any(|l| l.contains(needle))
    };
    assert!(
        wait_for(&mut out, "pxe-kit serve: ready", 20),
        "serve did not come up:\n{}",
        out.join("\n")
    );

    let body = in_ns(
        &ns.0,
        "exec 3<>/dev/tcp/10.79.0.1/80; printf 'GET /pxe-kit/hello.txt HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
    );
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("hello from pxe-kit serve"), "{body}");
    // Everything outside pxe-kit's directory is refused.
    let denied = in_ns(
        &ns.0,
        "exec 3<>/dev/tcp/10.79.0.1/80; printf 'GET /etc/passwd HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
    );
    assert!(!denied.starts_with("HTTP/1.1 200"), "{denied}");
    // A TFTP read request: in.tftpd logs it to our syslog socket, serve prints it.
    in_ns(
        &ns.0,
        "printf '\\0\\1pxelinux.0\\0octet\\0' > /dev/udp/10.79.0.1/69",
    );
    assert!(wait_for(&mut out, "httpd| ", 10), "{}", out.join("\n"));
    assert!(
        wait_for(&mut out, "GET /pxe-kit/hello.txt HTTP/1.0\" 200", 10),
        "{}",
        out.join("\n")
    );
    assert!(
        wait_for(&mut out, "RRQ from 10.79.0.1 filename pxelinux.0", 10),
        "{}",
        out.join("\n")
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        wait_for(&mut out, "pxe-kit serve: stopped", 5),
        "{}",
        out.join("\n")
    );
    assert!(
        status.success(),
        "serve exited with {status:?}:\n{}",
        out.join("\n")
    );
    let pids = Command::new("ip")
        .args(["netns", "pids", &ns.0])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&pids.stdout).trim().is_empty(),
        "processes left in {}",
        ns.0
    );
    // Nothing was written outside the staged root: the leases file is under it.
    assert!(r.join("var/lib/dhcp/dhcpd.leases").exists());
}
