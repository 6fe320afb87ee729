//! Another DHCP server on the provisioning segment, for real: two network namespaces this test
//! creates, joined by a veth pair; a foreign ISC dhcpd (its own config, no PXE options, its
//! default ping-check, so it answers only after about a second) in one, pxe-kit in the other.
//! `init` refuses the segment naming the foreign server and changes nothing (also under
//! --dry-run); `--allow-other-dhcp` proceeds; doctor's `network.other-dhcp` fails while the
//! foreign server answers and passes once it is gone; pxe-kit's own dhcpd answering on the
//! interface never counts against it. No DHCP leaves the test's namespaces.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::*;

const IF: &str = "pxkp0";

/// A dhcpd in the foreground inside `ns`, returned once it says it serves (an event, not a
/// sleep); killed when dropped.
struct Dhcpd(Child);

impl Dhcpd {
    fn start(ns: &Netns, conf: &Path, dir: &Path, iface: &str) -> Dhcpd {
        let leases = dir.join("dhcpd.leases");
        if !leases.exists() {
            std::fs::write(&leases, "").unwrap();
        }
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "dhcpd", "-4", "-f", "-d", "-cf"])
            .arg(conf)
            .arg("-lf")
            .arg(&leases)
            .arg("-pf")
            .arg(dir.join("dhcpd.pid"))
            .arg(iface)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(l) if l.contains("Server starting service") => break,
                Ok(l) => seen.push(l),
                Err(_) => panic!("dhcpd in {} did not start:\n{}", ns.name, seen.join("\n")),
            }
        }
        Dhcpd(child)
    }
}

impl Drop for Dhcpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_ns(ns: &Netns, root: &Path, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "--root"])
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// doctor --json's `network.other-dhcp` row.
fn other_dhcp(ns: &Netns, root: &Path) -> serde_json::Value {
    let o = in_ns(ns, root, &["doctor", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", stderr(&o)));
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "network.other-dhcp")
        .cloned()
        .unwrap_or_else(|| panic!("no network.other-dhcp in {j:#}"))
}

fn servers(row: &serde_json::Value, key: &str) -> Vec<String> {
    row["data"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["server"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn init_refuses_a_segment_with_a_foreign_dhcp_server_and_doctor_finds_it() {
    if skip(missing(true, &["dhcpd", "in.tftpd", "ip"], &[]).or_else(syslinux_missing)) {
        return;
    }
    let (ns, other) = (Netns::new("probe"), Netns::new("probe-foreign"));
    ns.ip(&["link", "add", IF, "type", "veth", "peer", "name", "pxkp0f"]);
    ns.ip(&["link", "set", "pxkp0f", "netns", &other.name]);
    ns.ip(&["addr", "add", "10.91.0.1/24", "dev", IF]);
    ns.ip(&["link", "set", IF, "up"]);
    other.ip(&["addr", "add", "10.91.0.2/24", "dev", "pxkp0f"]);
    other.ip(&["link", "set", "pxkp0f", "up"]);

    // The foreign server: a plain office-style dhcpd, no PXE options, ping-check left on.
    let fdir = tempfile::tempdir().unwrap();
    let fconf = fdir.path().join("dhcpd.conf");
    std::fs::write(
        &fconf,
        "ddns-update-style none;\ndefault-lease-time 600;\nmax-lease-time 1200;\nauthoritative;\nsubnet 10.91.0.0 netmask 255.255.255.0 {\n  range 10.91.0.150 10.91.0.160;\n  option routers 10.91.0.2;\n}\n",
    )
    .unwrap();
    let foreign = Dhcpd::start(&other, &fconf, fdir.path(), "pxkp0f");

    let t = stage_debian();
    let r = t.path();
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        "interface: pxkp0\nserver_ip: 10.91.0.1\nsubnet: 10.91.0.0/24\nrange: 10.91.0.100-10.91.0.140\nping_check: false\n",
    );
    let before = snapshot(r);
    for args in [&["init"][..], &["--dry-run", "init"]] {
        let o = in_ns(&ns, r, args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}\n{}", stdout(&o));
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        for want in [
            "another DHCP server answers on pxkp0",
            "DHCP server 10.91.0.2 offered 10.91.0.15",
            "--dhcp-mode proxy",
            "--dhcp-mode server --allow-other-dhcp",
        ] {
            assert!(err.contains(want), "{args:?}: {want:?} not in: {err}");
        }
        assert_same(
            &before,
            &snapshot(r),
            "init refused a segment with another server",
        );
    }

    // The segment is split some other way: the user says so, and init serves.
    ok(&in_ns(&ns, r, &["-q", "init", "--allow-other-dhcp"]));
    assert!(read(r, "etc/pxe-kit/pxe-kit.yaml").contains("allow_other_dhcp: true"));
    // A TFTP server for doctor's protocols.tftp to ask, which would otherwise wait out a
    // minute of timeouts on every run (this test looks at network.other-dhcp only).
    std::fs::set_permissions(r, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let _tftpd = Guard(
        Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "in.tftpd", "-L", "-s", "-u", "nobody", "-a",
            ])
            .arg("10.91.0.1:69")
            .arg(r.join("srv/tftp"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let row = other_dhcp(&ns, r);
    assert_eq!(row["status"], "ok", "{row:#}");
    assert_eq!(servers(&row, "others"), ["10.91.0.2"], "{row:#}");

    // Without that allowance, doctor fails naming the server and what it offered.
    let yaml = read(r, "etc/pxe-kit/pxe-kit.yaml");
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        &yaml.replace("allow_other_dhcp: true", "allow_other_dhcp: false"),
    );
    let row = other_dhcp(&ns, r);
    assert_eq!(row["status"], "fail", "{row:#}");
    assert_eq!(servers(&row, "others"), ["10.91.0.2"], "{row:#}");
    let offer = &row["data"]["others"][0];
    assert_eq!(offer["kind"], "address", "{offer:#}");
    assert!(
        offer["offered"].as_str().unwrap().starts_with("10.91.0.15")
            || offer["offered"] == "10.91.0.160",
        "{offer:#}"
    );
    assert!(
        offer["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "routers" && o["value"] == "10.91.0.2"),
        "{offer:#}"
    );
    assert!(
        row["fix"].to_string().contains("--dhcp-mode proxy"),
        "{row:#}"
    );

    // A failover partner at that address is pxe-kit's own: seen, and not counted.
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        &format!("{yaml}peers:\n  partner: 10.91.0.2\n  role: primary\n")
            .replace("allow_other_dhcp: true", "allow_other_dhcp: false"),
    );
    let row = other_dhcp(&ns, r);
    assert_eq!(row["status"], "ok", "{row:#}");
    assert!(servers(&row, "others").is_empty(), "{row:#}");
    assert_eq!(servers(&row, "own"), ["10.91.0.2"], "{row:#}");
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        &yaml.replace("allow_other_dhcp: true", "allow_other_dhcp: false"),
    );

    // The foreign server gone and pxe-kit's own dhcpd running on the interface (init run
    // again on a working server): nothing counts against it, and init runs without a flag.
    drop(foreign);
    let own_dir = tempfile::tempdir().unwrap();
    let _own = Dhcpd::start(&ns, &r.join("etc/dhcp/dhcpd.conf"), own_dir.path(), IF);
    let row = other_dhcp(&ns, r);
    assert_eq!(row["status"], "ok", "{row:#}");
    assert!(servers(&row, "others").is_empty(), "{row:#}");
    ok(&in_ns(&ns, r, &["-q", "init"]));
}
