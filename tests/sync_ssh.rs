//! `pxe-kit sync` between two staged roots over real SSH: an sshd of the test's own (a
//! throwaway host key and client key) in a network namespace, rsync as the engine, the
//! partner's `pxe-kit sync --accept` run through SSH on the other root. The first run brings
//! the image, settings and hosts; the second copies nothing; a file corrupted on the partner
//! is detected (content, not size or time) and sent again; a file that does not match its
//! manifest is never made bootable. Root only (namespaces, sshd); a few seconds.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// An sshd on 127.0.0.1:2222 inside a namespace, with keys made for this test only.
struct Sshd {
    ns: Netns,
    child: Child,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let ns = Netns::new("sync");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (k, file) in [("host", "host_ed25519"), ("client", "client_ed25519")] {
            sh(&[
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                k,
                "-f",
                d.join(file).to_str().unwrap(),
            ]);
        }
        std::fs::copy(d.join("client_ed25519.pub"), d.join("authorized_keys")).unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port 2222\nListenAddress 127.0.0.1\nHostKey {0}/host_ed25519\n\
                 AuthorizedKeysFile {0}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPidFile {0}/sshd.pid\n",
                d.display()
            ),
        )
        .unwrap();
        // sshd's privilege separation directory, which its package's unit creates.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
            ])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while !ns.bash("ss -ltn").contains("127.0.0.1:2222") {
            assert!(Instant::now() < until, "sshd did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Sshd { ns, child, dir }
    }

    fn ssh_command(&self) -> String {
        format!(
            "ssh -p 2222 -i {} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            self.dir.path().join("client_ed25519").display()
        )
    }

    /// `pxe-kit --root FROM [GLOBAL…] sync root@127.0.0.1 …` inside the namespace: exit code
    /// and output.
    fn sync(&self, from: &Path, to: &Path, global: &[&str]) -> (i32, String) {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, BIN, "--root"])
            .arg(from)
            .args(global)
            .args([
                "sync",
                "root@127.0.0.1",
                "--ssh-command",
                &self.ssh_command(),
            ])
            .args(["--remote-pxe-kit", BIN, "--remote-root"])
            .arg(to)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Files sent, from sync's summary line.
fn sent(out: &str) -> u64 {
    let l = out
        .lines()
        .find(|l| l.starts_with("sync: ") && l.contains(" sent to "))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    l.split("; ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn image_file(root: &Path, suffix: &str) -> PathBuf {
    let m = read(root, "var/lib/pxe-kit/images/live.yaml");
    let line = m
        .lines()
        .find(|l| l.trim_start().starts_with("path:") && l.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in:\n{m}"));
    let p = line.split_once("path:").unwrap().1.trim();
    root.join(p.trim_start_matches('/'))
}

#[test]
fn sync_copies_once_checks_content_and_resends_what_the_partner_corrupted() {
    if skip(
        missing(
            true,
            &[
                "rsync",
                "ssh",
                "ssh-keygen",
                "/usr/sbin/sshd",
                "ip",
                "dhcpd",
            ],
            &[],
        )
        .or_else(syslinux_missing),
    ) {
        return;
    }
    let a = pair_member("10.0.0.1", "10.0.0.2", "primary");
    let b = pair_member("10.0.0.2", "10.0.0.1", "secondary");
    let (ra, rb) = (a.path(), b.path());
    let _inputs = add_fake_image(ra, &["--name", "live", "--default"]);
    ok(&run(
        ra,
        &[
            "add-host",
            "52:54:00:aa:bb:01",
            "--ip",
            "10.0.0.50",
            "--image",
            "live",
        ],
    ));
    let sshd = Sshd::start();

    // --dry-run: rsync lists what it would send (its own --dry-run): the image's four files
    // (the settings and index sent along are shown as diffs, not written); the partner gets
    // nothing.
    let (code, out) = sshd.sync(ra, rb, &["--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("; 4 would be sent to") && out.contains("takes nothing in"),
        "{out}"
    );
    assert!(
        !rb.join("var/lib/pxe-kit/images/live.yaml").exists()
            && !rb.join("var/lib/pxe-kit/sync/incoming").exists(),
        "--dry-run changed the partner"
    );

    // First run: the image, the settings and the host arrive, checked, and B serves them.
    let (code, out) = sshd.sync(ra, rb, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        sent(&out),
        6,
        "kernel, initrd, root, manifest, settings and list: {out}"
    );
    assert!(
        out.contains("accepted from the primary: images live (3 files installed"),
        "{out}"
    );
    for f in ["vmlinuz", "initrd.img", "squashfs.img"] {
        assert_eq!(
            std::fs::read(image_file(ra, f)).unwrap(),
            std::fs::read(image_file(rb, f)).unwrap(),
            "{f}"
        );
    }
    let settings = read(rb, "etc/pxe-kit/pxe-kit.yaml");
    assert!(
        settings.contains("server_ip: 10.0.0.2"),
        "B keeps its address: {settings}"
    );
    assert!(
        settings.contains("role: secondary") && settings.contains("partner: 10.0.0.1"),
        "{settings}"
    );
    assert!(
        settings.contains("default: live") && settings.contains("52:54:00:aa:bb:01"),
        "{settings}"
    );
    let menu = read(rb, "srv/tftp/pxelinux.cfg/default");
    assert!(
        menu.contains("LABEL live") && menu.contains("http://10.0.0.2/"),
        "B's menu names B: {menu}"
    );
    dhcpd_accepts(&rb.join("etc/dhcp/dhcpd.conf")).unwrap();
    assert!(read(rb, "etc/dhcp/dhcpd.conf").contains("fixed-address 10.0.0.50;"));
    assert!(
        !rb.join("var/lib/pxe-kit/sync/incoming").exists(),
        "staging cleaned"
    );

    // Second run: nothing travels.
    let (code, out) = sshd.sync(ra, rb, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(sent(&out), 0, "{out}");

    // A byte flipped on the partner, same size and time: found by content and sent again.
    let victim = image_file(rb, "squashfs.img");
    let good = std::fs::read(&victim).unwrap();
    let mtime = std::fs::metadata(&victim).unwrap().modified().unwrap();
    let mut bad = good.clone();
    bad[100] ^= 0xff;
    std::fs::write(&victim, &bad).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (code, out) = sshd.sync(ra, rb, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(sent(&out), 1, "{out}");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        good,
        "the partner's copy was repaired"
    );

    // The sender's own copy rots (its manifest still says the old SHA-256): the partner
    // refuses to make it bootable and keeps serving its good copy.
    let src = image_file(ra, "squashfs.img");
    let mut rotten = std::fs::read(&src).unwrap();
    rotten[200] ^= 0xff;
    std::fs::write(&src, &rotten).unwrap();
    let (code, out) = sshd.sync(ra, rb, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused: live: SHA-256 of"), "{out}");
    assert_eq!(std::fs::read(&victim).unwrap(), good, "the good copy stays");
    assert!(read(rb, "srv/tftp/pxelinux.cfg/default").contains("LABEL live"));
}

#[test]
fn sync_needs_a_pair() {
    let t = stage_debian();
    ok(&run(t.path(), INIT));
    // Refused with exit 2 and a message naming the fix.
    let refused = |args: &[&str], says: &str| {
        let o = run(t.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    };
    refused(&["sync"], "--peer IP --role");
    // A pair needs its role the first time, and a partner that is not this server.
    refused(
        &["init", "--peer", "10.0.0.2"],
        "--role primary or --role secondary",
    );
    refused(
        &["init", "--peer", "10.0.0.1", "--role", "primary"],
        "this server's own address",
    );
    refused(
        &["init", "--peer", "10.0.0.150", "--role", "primary"],
        "inside the dynamic pool",
    );
}
