//! Two admins at once: every command that changes the server takes turns on one lock held
//! from before it reads the settings until it has written them, so none loses another's
//! change. A command holding the lock is kept inside its converge by a `dhcpd` on PATH that
//! waits for the test (the real `dhcpd -t` runs once it is let go), so every step here is
//! decided by an event, not by how long anything takes.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_pxe-kit");

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio", "dhcpd", "mkfifo"], &[]))
}

/// A `dhcpd` that says it started, waits until the test writes to its gate, then runs the
/// real one with the same arguments.
struct Gate {
    dir: tempfile::TempDir,
}

impl Gate {
    fn new() -> Gate {
        let dir = tempfile::tempdir().unwrap();
        let real = which("dhcpd").expect("dhcpd is installed");
        let script = format!(
            "#!/bin/sh\ntouch {d}/started\nread _ < {d}/gate\nexec {real} \"$@\"\n",
            d = dir.path().display(),
            real = real.display()
        );
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("dhcpd"), script).unwrap();
        sh(&["chmod", "755", bin.join("dhcpd").to_str().unwrap()]);
        sh(&["mkfifo", dir.path().join("gate").to_str().unwrap()]);
        Gate { dir }
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Waits until the held command is inside its `dhcpd -t` (bounded, so a broken command
    /// fails the test instead of hanging it).
    fn wait_started(&self, holder: &mut Child) {
        let t = Instant::now();
        while !self.dir.path().join("started").exists() {
            if let Some(st) = holder.try_wait().unwrap() {
                panic!("the holder ended ({st}) before reaching dhcpd -t");
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "holder never reached dhcpd -t"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn open(&self) {
        std::fs::write(self.dir.path().join("gate"), "go\n").unwrap();
    }
}

impl Drop for Gate {
    /// A failing test still lets a waiting holder go (and with it everyone queued behind
    /// it): the gate is opened without blocking when a holder waits at it.
    fn drop(&mut self) {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(self.dir.path().join("gate"))
        {
            let _ = f.write_all(b"go\n");
        }
    }
}

fn spawn(root: &Path, args: &[&str], path: Option<&str>) -> Child {
    let mut c = Command::new(BIN);
    c.arg("--root").arg(root).args(args);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads a waiting command's stderr up to its "waiting for" line and returns that line.
fn waiting_line(child: &mut Child) -> String {
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let line = lines
        .next()
        .expect("the waiting command says it waits")
        .unwrap();
    // The rest of stderr drains on a thread so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    line
}

#[track_caller]
fn finished_ok(child: Child, what: &str) -> String {
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{what} failed: {}", stderr(&o));
    stdout(&o)
}

fn server() -> (tempfile::TempDir, tempfile::TempDir) {
    let t = stage_debian();
    ok(&run(t.path(), INIT));
    let w = add_fake_image(t.path(), &["--name", "compute"]);
    (t, w)
}

fn settings(root: &Path) -> String {
    read(root, "etc/pxe-kit/pxe-kit.yaml")
}

#[test]
fn a_command_waits_for_the_holder_and_neither_change_is_lost() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server();
    let r = t.path();
    let gate = Gate::new();
    let holder_args = [
        "add-host",
        "52:54:00:00:00:01",
        "--ip",
        "10.0.0.21",
        "--image",
        "compute",
    ];
    let mut holder = spawn(r, &holder_args, Some(&gate.path()));
    gate.wait_started(&mut holder);

    // Refusing at once names the holder: its command line and pid.
    let o = run(
        r,
        &[
            "--lock-wait",
            "0",
            "add-host",
            "52:54:00:00:00:02",
            "--image",
            "compute",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("add-host 52:54:00:00:00:01 --ip 10.0.0.21")
            && e.contains(&format!("pid {}", holder.id()))
            && e.contains("--lock-wait"),
        "{e}"
    );

    // Waiting: another host, and an image import, each start while the holder is inside
    // its converge and say whom they wait for.
    let mut second = spawn(
        r,
        &["add-host", "52:54:00:00:00:03", "--image", "compute"],
        None,
    );
    let line = waiting_line(&mut second);
    assert!(
        line.contains("waiting for") && line.contains("52:54:00:00:00:01"),
        "{line}"
    );
    let argv = fake_image_argv(w.path(), "second", "root.squashfs");
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut import = spawn(r, &argv, None);
    let line = waiting_line(&mut import);
    assert!(line.contains("waiting for"), "{line}");
    assert!(
        !settings(r).contains("52:54:00:00:00:01"),
        "the holder has not saved yet"
    );

    gate.open();
    finished_ok(holder, "the holder");
    finished_ok(second, "the waiting add-host");
    finished_ok(import, "the waiting add-image");
    let s = settings(r);
    for mac in ["52:54:00:00:00:01", "52:54:00:00:00:03"] {
        assert!(s.contains(mac), "host {mac} was lost:\n{s}");
    }
    assert!(!s.contains("52:54:00:00:00:02"), "the refused host came in");
    let images = ok(&run(r, &["images"]));
    assert!(
        images.contains("second") && images.contains("compute"),
        "{images}"
    );
}

#[test]
fn five_admins_adding_hosts_at_once_keep_all_five() {
    if skip(tools_missing()) {
        return;
    }
    let (t, _w) = server();
    let r = t.path();
    let macs: Vec<String> = (1..=5).map(|n| format!("52:54:00:00:01:0{n}")).collect();
    let children: Vec<Child> = macs
        .iter()
        .map(|m| spawn(r, &["add-host", m, "--image", "compute"], None))
        .collect();
    for c in children {
        finished_ok(c, "add-host");
    }
    let s = settings(r);
    for m in &macs {
        assert!(s.contains(m.as_str()), "host {m} was lost:\n{s}");
    }
    let files: Vec<PathBuf> = macs
        .iter()
        .map(|m| {
            r.join("srv/tftp/pxelinux.cfg")
                .join(format!("01-{}", m.replace(':', "-")))
        })
        .collect();
    for f in files {
        assert!(f.is_file(), "{} was not written", f.display());
    }
}
