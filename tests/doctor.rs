//! `pxe-kit doctor` against a staged Debian server whose real dhcpd, in.tftpd and apache2 run
//! in a network namespace this test creates (veth `pxkd0` with 10.88.0.1/24): healthy first,
//! then broken one way at a time (a kernel deleted, a root image corrupted in place and
//! resized, tftpd and httpd stopped, a dhcpd.conf syntax error, a hand edit, a firewall rule
//! removed, the menu pointing at a missing file), each seen by the right check with the right
//! fix, and `--fix` repairing drift and the firewall. Needs root and the daemons; skips
//! with the reason otherwise. Also: exit codes, `--list` and the JSON schema on a staged root.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use pxe_kit::serve::daemons;

const NS_IF: &str = "pxkd0";
const SERVER: &str = "10.88.0.1";
const IMAGES: usize = 10;

fn missing_here() -> Option<String> {
    missing(
        true,
        &[
            "dhcpd",
            "in.tftpd",
            "apache2",
            "mksquashfs",
            "cpio",
            "iptables",
            "ip",
        ],
        &[],
    )
    .or_else(syslinux_missing)
}

/// The daemons serving the staged root in the test's namespace, stopped however the test
/// ends (the namespace then takes whatever is left).
struct Lab {
    daemons: BTreeMap<&'static str, Child>,
    root: tempfile::TempDir,
    run: tempfile::TempDir,
    ns: Netns,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in self.daemons.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Lab {
    fn r(&self) -> &Path {
        self.root.path()
    }

    fn in_ns(&self, argv: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns.name])
            .args(argv)
            .output()
            .unwrap()
    }

    /// `pxe-kit --root R doctor ARGS --json` inside the namespace: exit code and document.
    fn doctor(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let o = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns.name,
                BIN,
                "--root",
                self.r().to_str().unwrap(),
                "doctor",
                "--json",
            ])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor printed no JSON ({e}): {}\n{}",
                stdout(&o),
                stderr(&o)
            )
        });
        (o.status.code().unwrap(), j)
    }

    fn start(&mut self, which: &'static str) {
        let bins = daemons::Binaries::find(
            pxe_kit::distro::Distro::Debian,
            pxe_kit::config::DhcpServer::Isc,
            false,
        )
        .unwrap();
        let r = self.r().to_path_buf();
        let argv = match which {
            "dhcpd" => daemons::dhcpd_argv(
                &bins.dhcp,
                &r.join("etc/dhcp/dhcpd.conf"),
                &r.join("var/lib/dhcp/dhcpd.leases"),
                &self.run.path().join("dhcpd.pid"),
                NS_IF,
            ),
            "tftpd" => daemons::tftpd_argv(
                &bins.tftpd,
                &bins.tftp_user,
                SERVER.parse().unwrap(),
                &r.join("srv/tftp"),
            ),
            _ => {
                // As pxe-kit's drop-in: the root images, and the TFTP root's kernels and
                // initrds for the loaders that fetch them over HTTP.
                let http = r.join("var/www/html/pxe-kit");
                let tftp = r.join("srv/tftp/pxe-kit");
                let dropin = format!(
                    "Alias /pxe-kit/ \"{h}/\"\n<Directory \"{h}\">\n    Options None\n    AllowOverride None\n    Require all granted\n</Directory>\nAlias /pxe-kit-tftp/pxe-kit/ \"{t}/\"\n<Directory \"{t}\">\n    Options None\n    AllowOverride None\n    Require all granted\n</Directory>\n",
                    h = http.display(),
                    t = tftp.display()
                );
                let conf = self.run.path().join("httpd.conf");
                std::fs::create_dir_all(self.run.path().join("empty")).unwrap();
                std::fs::write(
                    &conf,
                    daemons::apache_conf(&bins, self.run.path(), SERVER.parse().unwrap(), &dropin),
                )
                .unwrap();
                daemons::httpd_argv(&bins.httpd, &conf)
            }
        };
        let _ = std::fs::remove_file(self.run.path().join("dhcpd.pid"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns.name])
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.daemons.insert(which, child);
        // Up when its socket is: udp/67, udp/69, tcp/80 in the namespace's /proc/net.
        let (file, port) = match which {
            "dhcpd" => ("/proc/net/udp", ":0043 "),
            "tftpd" => ("/proc/net/udp", ":0045 "),
            _ => ("/proc/net/tcp", ":0050 "),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let t = stdout(&self.in_ns(&["cat", file]));
            if t.lines().any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.ends_with(port.trim()))
                    && (file.ends_with("udp") || l.contains(" 0A "))
            }) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{which} did not start in the namespace"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self, which: &'static str) {
        let mut c = self.daemons.remove(which).unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = c.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // apache's workers leave with their parent; give them a moment.
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn setup() -> Lab {
    let root = stage_debian();
    // in.tftpd and apache's workers run unprivileged: the staged root must be traversable.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = root.path();
    ok(&run(
        r,
        &[
            "-q",
            "init",
            "--interface",
            NS_IF,
            "--server-ip",
            SERVER,
            "--subnet",
            "10.88.0.0/24",
            "--range",
            "10.88.0.100-10.88.0.200",
        ],
    ));
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fake_initrd(&w.join("initrd.img"), true);
    write(w, "tree/etc/os-release", "ID=demo\n");
    write(w, "tree/sbin/init", "#!/bin/sh\necho hello\n");
    for i in 0..IMAGES {
        let k = w.join(format!("vmlinuz{i}"));
        fake_kernel_seeded(&k, "6.9.0-test", i as u32);
        write(w, &format!("tree/etc/image-{i}"), &format!("image {i}\n"));
        ok(&run(
            r,
            &[
                "-q",
                "add-image",
                "--kernel",
                k.to_str().unwrap(),
                "--rootfs",
                w.join("tree").to_str().unwrap(),
                "--initrd",
                w.join("initrd.img").to_str().unwrap(),
                "--name",
                &format!("img{i}"),
            ],
        ));
    }
    write(r, "var/lib/dhcp/dhcpd.leases", "");

    let mut lab = Lab {
        daemons: BTreeMap::new(),
        root,
        run: tempfile::tempdir().unwrap(),
        ns: Netns::new("doctor"),
    };
    std::fs::set_permissions(lab.run.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    lab.ns.ip(&[
        "link", "add", NS_IF, "type", "veth", "peer", "name", "pxkd0p",
    ]);
    lab.ns
        .ip(&["addr", "add", &format!("{SERVER}/24"), "dev", NS_IF]);
    lab.ns.ip(&["link", "set", "pxkd0p", "up"]);
    lab.ns.ip(&["link", "set", NS_IF, "up"]);
    for d in ["dhcpd", "tftpd", "httpd"] {
        lab.start(d);
    }
    lab
}

fn statuses(j: &serde_json::Value) -> BTreeMap<String, String> {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn check<'a>(j: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// Asserts `id` has `status` and its fix text mentions `needle`; returns the other non-ok ids.
#[track_caller]
fn assert_check(j: &serde_json::Value, id: &str, status: &str, needle: &str) {
    let c = check(j, id);
    assert_eq!(c["status"], status, "{id}: {c:#}");
    let fix = c["fix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{} {} {fix}", c["summary"], c["evidence"]);
    assert!(text.contains(needle), "{id}: {needle:?} not in {c:#}");
    if status != "ok" {
        assert!(!fix.is_empty(), "{id} has no fix: {c:#}");
    }
}

#[test]
fn doctor_sees_each_break_in_a_served_namespace() {
    if skip(missing_here()) {
        return;
    }
    let mut lab = setup();
    let r = lab.r().to_path_buf();

    // Healthy: every check ok or an explained skip; the daemons and firewall are looked at.
    let (code, j) = lab.doctor(&[]);
    assert_healthy(code, &j, "healthy");
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["runtime"]["checked"], true, "{j:#}");
    for id in [
        "network.interface",
        "services.dhcpd",
        "services.tftp",
        "services.httpd",
        "services.ports",
        "protocols.tftp",
        "protocols.http",
        "firewall.rules",
        "menu.livenet",
    ] {
        assert_eq!(check(&j, id)["status"], "ok", "{id}: {:#}", check(&j, id));
    }
    assert!(
        check(&j, "protocols.tftp")["summary"]
            .as_str()
            .unwrap()
            // pxelinux.0, lpxelinux.0, ldlinux.c32 and three menu modules; shim, GRUB and its
            // http module; pxelinux.cfg/default and grub/grub.cfg; each image's kernel and initrd.
            .contains(&format!("{} file(s)", 6 + 3 + 2 + 2 * IMAGES)),
        "{j:#}"
    );
    // The human report too (its speed is a bench: benches/doctor.sh).
    let o = lab.in_ns(&[BIN, "--root", r.to_str().unwrap(), "doctor"]);
    assert!(o.status.success(), "{}", stdout(&o));
    // Without --deep, what add-image recorded about each initramfs is trusted.
    assert_check(
        &j,
        "menu.livenet",
        "ok",
        "judged by what add-image recorded",
    );
    let (code, j) = lab.doctor(&["--deep"]);
    assert_healthy(code, &j, "healthy --deep");

    // A kernel deleted.
    let kernel = r.join("srv/tftp/pxe-kit/img3/vmlinuz");
    let saved = std::fs::read(&kernel).unwrap();
    std::fs::remove_file(&kernel).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "menu.files", "fail", "pxe-kit/img3/vmlinuz");
    assert_check(&j, "images.integrity", "fail", "img3");
    assert_check(&j, "protocols.tftp", "fail", "pxe-kit/img3/vmlinuz");
    std::fs::write(&kernel, &saved).unwrap();
    std::fs::set_permissions(&kernel, std::fs::Permissions::from_mode(0o644)).unwrap();

    // A root image corrupted in place (same size): only --deep sees it.
    let img = r.join("var/www/html/pxe-kit/img5/squashfs.img");
    let good = std::fs::read(&img).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&img, &bad).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_healthy(code, &j, "same-size corruption without --deep");
    let (code, j) = lab.doctor(&["--deep"]);
    assert_eq!(code, 1);
    assert_check(
        &j,
        "images.integrity",
        "fail",
        "SHA-256 of /var/www/html/pxe-kit/img5/squashfs.img",
    );
    assert_check(&j, "protocols.http", "fail", "SHA-256");
    // A different size: the quick checks see it.
    bad.extend_from_slice(b"trailing junk");
    std::fs::write(&img, &bad).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "images.integrity", "fail", "the manifest says");
    assert_check(&j, "protocols.http", "fail", "Content-Length");
    std::fs::write(&img, &good).unwrap();

    // An initramfs swapped for one without livenet: a different size is seen at once; the
    // same size (a record that no longer holds) only with --deep, which reads every image.
    let initrd = r.join("srv/tftp/pxe-kit/img2/initrd.img");
    let good = std::fs::read(&initrd).unwrap();
    fake_initrd(&initrd, false);
    let mut same = std::fs::read(&initrd).unwrap();
    same.resize(good.len(), 0);
    for (bytes, args) in [(None, &[][..]), (Some(same), &["--deep"][..])] {
        if let Some(b) = bytes {
            std::fs::write(&initrd, b).unwrap();
        }
        let (code, j) = lab.doctor(args);
        assert_eq!(code, 1, "{args:?}");
        assert_check(
            &j,
            "menu.livenet",
            "fail",
            "img2/initrd.img lacks dracut's livenet",
        );
    }
    std::fs::write(&initrd, &good).unwrap();

    // tftpd stopped.
    lab.stop("tftpd");
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "services.tftp", "fail", "serve");
    assert_check(&j, "services.ports", "fail", "udp/69");
    assert_check(&j, "protocols.tftp", "fail", "timed out");
    assert_eq!(check(&j, "services.httpd")["status"], "ok");
    lab.start("tftpd");

    // httpd stopped.
    lab.stop("httpd");
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "services.httpd", "fail", "apache2");
    assert_check(&j, "services.ports", "fail", "tcp/80");
    assert_check(&j, "protocols.http", "fail", "GET failed");
    lab.start("httpd");
    let (code, j) = lab.doctor(&[]);
    assert_healthy(code, &j, "after restarting the daemons");

    // A directory httpd's user cannot enter: the kernel and initrd URLs (not only the root
    // images) get 403, and the finding names the directory and its mode.
    let closed = r.join("srv/tftp/pxe-kit/img2");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o750)).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(
        &j,
        "protocols.http",
        "fail",
        "/pxe-kit-tftp/pxe-kit/img2/vmlinuz: HTTP 403",
    );
    assert_check(
        &j,
        "protocols.http",
        "fail",
        "/srv/tftp/pxe-kit/img2 is mode 0750: httpd's user cannot enter it",
    );
    assert_check(
        &j,
        "protocols.http",
        "fail",
        "chmod o+x /srv/tftp/pxe-kit/img2",
    );
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A dhcpd.conf syntax error: dhcpd -t and drift see it; --fix puts the rendering back.
    let conf = r.join("etc/dhcp/dhcpd.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("allow booting;", "allow booting")).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(
        &j,
        "config.dhcpd",
        "fail",
        "dhcpd rejects /etc/dhcp/dhcpd.conf",
    );
    assert_check(&j, "config.drift", "fail", "/etc/dhcp/dhcpd.conf");
    let (code, j) = lab.doctor(&["--fix"]);
    assert_healthy(code, &j, "after --fix of dhcpd.conf");
    assert!(
        j["fix"]["actions"]
            .to_string()
            .contains("re-rendered /etc/dhcp/dhcpd.conf"),
        "{j:#}"
    );
    assert!(j["fix"]["before"].to_string().contains("\"fail\""), "{j:#}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);

    // A hand edit of a rendered file: drift with a diff naming the edit.
    let hpa = r.join("etc/default/tftpd-hpa");
    let text = std::fs::read_to_string(&hpa).unwrap();
    std::fs::write(
        &hpa,
        text.replace(
            "TFTP_OPTIONS=\"--secure",
            "TFTP_OPTIONS=\"--secure --create",
        ),
    )
    .unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "config.drift", "fail", "/etc/default/tftpd-hpa");
    let diff = check(&j, "config.drift")["diff"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        diff.contains("-TFTP_OPTIONS=\"--secure --create -vv")
            && diff.contains("+TFTP_OPTIONS=\"--secure -vv"),
        "{diff}"
    );
    let o = lab.in_ns(&[BIN, "--root", r.to_str().unwrap(), "-v", "doctor"]);
    assert!(
        stdout(&o).contains("+TFTP_OPTIONS=\"--secure -vv"),
        "-v shows the diff: {}",
        stdout(&o)
    );
    let (code, j) = lab.doctor(&["--fix"]);
    assert_healthy(code, &j, "after --fix of a hand edit");
    assert_eq!(std::fs::read_to_string(&hpa).unwrap(), text);

    // The menu pointing at a missing file: menu.files names it; --fix re-renders the menu.
    let menu = r.join("srv/tftp/pxelinux.cfg/default");
    let text = std::fs::read_to_string(&menu).unwrap();
    // The KERNEL line names the file by URL (HTTP transfer) or TFTP path; either ends so.
    let broken = text.replace("pxe-kit/img7/vmlinuz\n", "pxe-kit/img7/vmlinuz-gone\n");
    assert_ne!(broken, text, "no img7 KERNEL line in the menu:\n{text}");
    std::fs::write(&menu, broken).unwrap();
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(&j, "menu.files", "fail", "pxe-kit/img7/vmlinuz-gone");
    assert_check(&j, "protocols.tftp", "fail", "vmlinuz-gone");
    let (code, j) = lab.doctor(&["--fix"]);
    assert_healthy(code, &j, "after --fix of the menu");

    // The firewall: a DROP policy (loopback allowed, as every real ruleset does) closes all
    // three ports; --fix adds pxe-kit's rules; deleting one is seen with its exact fix.
    let ipt = |args: &[&str]| {
        let mut a = vec!["iptables"];
        a.extend_from_slice(args);
        let o = lab.in_ns(&a);
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
    };
    // The earlier --fix runs already added pxe-kit's rules (init's firewall steps): start over.
    ipt(&["-F", "INPUT"]);
    ipt(&["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
    ipt(&["-P", "INPUT", "DROP"]);
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1, "{:#}", check(&j, "firewall.rules"));
    assert_check(&j, "firewall.rules", "fail", "udp/67, udp/69, tcp/80");
    let (code, j) = lab.doctor(&["--fix"]);
    assert_healthy(code, &j, "after --fix of the firewall");
    assert!(
        j["fix"]["actions"]
            .to_string()
            .contains("ran: iptables -I INPUT -i pxkd0 -p udp --dport 69"),
        "{j:#}"
    );
    ipt(&[
        "-D",
        "INPUT",
        "-i",
        NS_IF,
        "-p",
        "udp",
        "--dport",
        "69",
        "-m",
        "comment",
        "--comment",
        "pxe-kit",
        "-j",
        "ACCEPT",
    ]);
    let (code, j) = lab.doctor(&[]);
    assert_eq!(code, 1);
    assert_check(
        &j,
        "firewall.rules",
        "fail",
        "iptables -I INPUT -i pxkd0 -p udp --dport 69 -m comment --comment pxe-kit -j ACCEPT",
    );
    assert_eq!(
        check(&j, "firewall.rules")["summary"],
        "iptables drops udp/69 on pxkd0"
    );
    // Rules open on every interface are a warning.
    ipt(&["-I", "INPUT", "-p", "udp", "--dport", "69", "-j", "ACCEPT"]);
    let (_, j) = lab.doctor(&[]);
    assert_check(&j, "firewall.rules", "warn", "open on every interface");
    drop(lab);
}

#[test]
fn staged_root_exit_codes_schema_and_list() {
    if skip(syslinux_missing().or_else(|| missing(false, &["dhcpd"], &[]))) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    // No settings yet: config.valid fails with the init command, the rest is skipped.
    let o = run(r, &["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(check(&j, "config.valid")["status"], "fail");
    assert!(
        check(&j, "config.valid")["fix"][0]
            .as_str()
            .unwrap()
            .contains("init --interface"),
        "{j:#}"
    );

    ok(&run(r, INIT));
    let o = run(r, &["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "schema_version",
        "pxe_kit_version",
        "root",
        "profile",
        "deep",
        "runtime",
        "exit_code",
        "summary",
        "checks",
    ] {
        assert!(j.get(key).is_some(), "{key} missing: {j:#}");
    }
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["runtime"]["checked"], false);
    for c in j["checks"].as_array().unwrap() {
        for key in [
            "id",
            "title",
            "status",
            "summary",
            "evidence",
            "fix",
            "duration_ms",
        ] {
            assert!(c.get(key).is_some(), "{key} missing in {c:#}");
        }
        assert!(
            ["ok", "skip"].contains(&c["status"].as_str().unwrap()),
            "{c:#}"
        );
    }
    let st = statuses(&j);
    assert_eq!(st["config.drift"], "ok");
    assert_eq!(st["protocols.tftp"], "skip");
    assert_eq!(st["selinux.mode"], "skip");

    // Human output: symbols, no colour without a terminal, a summary line.
    let o = run(r, &["doctor"]);
    let out = stdout(&o);
    assert!(
        out.contains("✓ config.drift") && out.contains("- protocols.tftp") && !out.contains('\x1b'),
        "{out}"
    );
    assert!(out.contains("running system not checked"), "{out}");

    // Drift by hand: exit 1, ✗ and the fix; --fix under a staged root repairs the file.
    let f = r.join("etc/dhcp/dhcpd.conf");
    let good = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, good.replace("allow booting;", "allow booting")).unwrap();
    let o = run(r, &["doctor"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("✗ config.drift") && stdout(&o).contains("fix: pxe-kit --root"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("✗ config.dhcpd"), "{}", stdout(&o));
    let o = run(r, &["doctor", "--fix"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("(was ✗)"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), good);

    // --list names every check; a root that does not exist cannot be checked: exit 2.
    let o = run(r, &["doctor", "--list"]);
    let out = ok(&o);
    for id in [
        "config.drift",
        "network.interface",
        "services.ports",
        "protocols.tftp",
        "protocols.http",
        "menu.syslinux",
        "menu.livenet",
        "menu.grub",
        "menu.ipxe",
        "images.integrity",
        "images.space",
        "selinux.labels",
        "firewall.rules",
        "hosts.files",
        "hosts.leases",
        "menu.nfs",
        "nfs.exports",
        "nfs.exported",
        "nfs.services",
        "nfs.firewall",
    ] {
        assert!(out.contains(id), "{id} not listed: {out}");
    }
    let o = Command::new(BIN)
        .args(["--root", "/nonexistent/pxe-kit-root", "doctor"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
