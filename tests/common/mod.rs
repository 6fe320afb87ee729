//! Helpers shared by the integration tests: staged roots, running the binary, tree snapshots.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub const BIN: &str = env!("CARGO_BIN_EXE_pxe-kit");

/// `CI=true` (what CI sets): every prerequisite of every test must be there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What a test does when a prerequisite is missing (`why`): off CI it skips, saying why;
/// under `CI=true` it fails with the reason, because a skip there would be a pass that proved
/// nothing. Returns true when the test must stop.
#[track_caller]
pub fn skip(why: Option<String>) -> bool {
    let Some(why) = why else { return false };
    if in_ci() {
        panic!("CI=true but a prerequisite is missing: {why} (.ci/install-deps installs the packages; the VM and namespace tests run as root)");
    }
    eprintln!("skipped: {why}");
    true
}

/// The first missing prerequisite among: root (when `root`), `programs` on PATH or in sbin,
/// `files`; `None` when all are there.
pub fn missing(root: bool, programs: &[&str], files: &[&str]) -> Option<String> {
    if root && !is_root() {
        return Some("needs root".into());
    }
    if let Some(p) = programs.iter().find(|p| which(p).is_none()) {
        return Some(format!("needs {p} on PATH"));
    }
    files
        .iter()
        .find(|f| !Path::new(f).exists())
        .map(|f| format!("needs {f}"))
}

/// A network namespace of the test's own, deleted with every process in it however the
/// test ends.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// `pxk-test-TAG-PID`, created now, with its loopback up.
    pub fn new(tag: &str) -> Netns {
        let ns = Netns {
            name: format!("pxk-test-{tag}-{}", std::process::id()),
        };
        sh(&["ip", "netns", "add", &ns.name]);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        sh(&v);
    }

    /// A bash script run inside the namespace; its stdout.
    pub fn bash(&self, script: &str) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.name, "bash", "-c", script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// PIDs of the processes still in the namespace.
    /// The nice value of each process in the namespace named `comm`.
    pub fn nice_of(&self, comm: &str) -> Vec<i32> {
        self.pids()
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm)
            })
            .filter_map(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                // After the ")" that ends comm: state is field 3, nice field 19.
                let rest = &stat[stat.rfind(')')? + 2..];
                rest.split(' ').nth(16)?.parse().ok()
            })
            .collect()
    }

    pub fn pids(&self) -> Vec<i32> {
        let o = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for p in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command that must succeed.
#[track_caller]
pub fn sh(argv: &[&str]) {
    let o = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A doctor --json report where every check is ok or a skip that says why, and exit 0.
#[track_caller]
pub fn assert_healthy(code: i32, j: &serde_json::Value, what: &str) {
    for c in j["checks"].as_array().unwrap() {
        let st = c["status"].as_str().unwrap();
        assert!(
            st == "ok" || (st == "skip" && !c["summary"].as_str().unwrap().is_empty()),
            "{what}: {} is {st}: {c:#}",
            c["id"]
        );
    }
    assert_eq!(code, 0, "{what}: {j:#}");
}

/// The Debian host's syslinux files, which the tests stage at the path each profile reads.
const HOST_PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
const HOST_LPXELINUX: &str = "/usr/lib/PXELINUX/lpxelinux.0";
const HOST_MODULES: &str = "/usr/lib/syslinux/modules/bios";
const MODULES: &[&str] = &["ldlinux.c32", "menu.c32", "libutil.c32", "libcom32.c32"];

/// Why the host cannot stage a server root (tests/common copies its syslinux, shim and GRUB).
pub fn syslinux_missing() -> Option<String> {
    (!host_has_syslinux()).then(|| {
        "needs pxelinux, syslinux-common, shim-signed, grub-efi-amd64-signed and grub-efi-amd64-bin".into()
    })
}

pub fn host_has_syslinux() -> bool {
    Path::new(HOST_PXELINUX).is_file()
        && Path::new(HOST_MODULES).join("ldlinux.c32").is_file()
        && Path::new(HOST_SHIM).is_file()
        && Path::new(HOST_GRUB).is_file()
        && Path::new(HOST_GRUB_HTTP).is_file()
}

/// Debian's signed shim and network GRUB, staged as each profile's UEFI loader (on a staged
/// Fedora root they stand in for shim-x64 and grub2-efi-x64).
const HOST_SHIM: &str = "/usr/lib/shim/shimx64.efi.signed";
const HOST_GRUB: &str = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";
const HOST_GRUB_HTTP: &str = "/usr/lib/grub/x86_64-efi/http.mod";

fn copy_to(root: &Path, src: &str, rel: &str) {
    let dst = root.join(rel);
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::copy(src, dst).unwrap_or_else(|e| panic!("staging {src}: {e}"));
}

/// A temp root that looks like a fresh Fedora 42 server with syslinux-nonlinux, shim-x64 and
/// grub2-efi-x64 installed.
pub fn stage_fedora() -> tempfile::TempDir {
    stage_redhat(
        "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=42\n",
        "fedora",
    )
}

/// A temp root that looks like a fresh RHEL 10 server (no ISC dhcpd in that release) with
/// syslinux-nonlinux, shim-x64 and grub2-efi-x64 installed.
pub fn stage_rhel10() -> tempfile::TempDir {
    stage_redhat(
        "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"centos fedora\"\nVERSION_ID=\"10.0\"\n",
        "redhat",
    )
}

/// A Fedora/RHEL-family root with this os-release, shim and GRUB under EFI/<vendor>.
pub fn stage_redhat(os_release: &str, vendor: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "etc/os-release", os_release);
    copy_to(t.path(), HOST_PXELINUX, "usr/share/syslinux/pxelinux.0");
    copy_to(t.path(), HOST_LPXELINUX, "usr/share/syslinux/lpxelinux.0");
    for m in MODULES {
        copy_to(
            t.path(),
            &format!("{HOST_MODULES}/{m}"),
            &format!("usr/share/syslinux/{m}"),
        );
    }
    copy_to(
        t.path(),
        HOST_SHIM,
        &format!("boot/efi/EFI/{vendor}/shimx64.efi"),
    );
    copy_to(
        t.path(),
        HOST_GRUB,
        &format!("boot/efi/EFI/{vendor}/grubx64.efi"),
    );
    t
}

/// A temp root that looks like a fresh Debian 12 server with pxelinux, syslinux-common,
/// shim-signed and grub-efi-amd64-signed installed.
pub fn stage_debian() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    for f in [
        HOST_PXELINUX,
        HOST_LPXELINUX,
        HOST_SHIM,
        HOST_GRUB,
        HOST_GRUB_HTTP,
    ] {
        copy_to(t.path(), f, f.trim_start_matches('/'));
    }
    for m in MODULES {
        let f = format!("{HOST_MODULES}/{m}");
        copy_to(t.path(), &f, f.trim_start_matches('/'));
    }
    t
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

pub const INIT: &[&str] = &[
    "init",
    "--interface",
    "ens4",
    "--server-ip",
    "10.0.0.1",
    "--subnet",
    "10.0.0.0/24",
    "--range",
    "10.0.0.100-10.0.0.200",
];

/// Runs pxe-kit with `--root root` and the given args; records every command in `log`.
pub fn run(root: &Path, args: &[&str]) -> Output {
    let log = root.with_extension("runner.jsonl");
    Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .env("PXE_KIT_RUNNER_LOG", &log)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "pxe-kit failed: {}\n{}",
        stderr(o),
        stdout(o)
    );
    stdout(o)
}

/// The argv of every command the runner recorded for `root`, as JSON values.
pub fn runner_log(root: &Path) -> Vec<serde_json::Value> {
    let log = root.with_extension("runner.jsonl");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn clear_runner_log(root: &Path) {
    let _ = std::fs::remove_file(root.with_extension("runner.jsonl"));
}

/// Planned (not run) argvs joined with spaces.
pub fn planned(root: &Path) -> Vec<String> {
    runner_log(root)
        .iter()
        .filter(|v| v["ran"] == false)
        .map(|v| {
            v["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Every file under root with its bytes and mtime: equal snapshots mean nothing changed.
pub fn snapshot(root: &Path) -> Snapshot {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                (
                    std::fs::read(e.path()).unwrap(),
                    m.modified().unwrap(),
                    m.permissions().mode(),
                ),
            )
        })
        .collect()
}

pub type Snapshot = BTreeMap<PathBuf, (Vec<u8>, SystemTime, u32)>;

/// Asserts two snapshots are equal, naming only the paths that differ.
#[track_caller]
pub fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    let mut diffs = Vec::new();
    for (p, v) in before {
        match after.get(p) {
            None => diffs.push(format!("removed {}", p.display())),
            Some(a) if a.0 != v.0 => diffs.push(format!("content of {}", p.display())),
            Some(a) if a.1 != v.1 => diffs.push(format!("mtime of {}", p.display())),
            Some(a) if a.2 != v.2 => diffs.push(format!("mode of {}", p.display())),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("added {}", p.display()));
    }
    assert!(diffs.is_empty(), "{what}: {diffs:?}");
}

pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file());
    found
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A config test's verdict: Ok when the checker exits 0, else what it printed.
fn verdict(cmd: &mut Command) -> Result<(), String> {
    let o = cmd
        .output()
        .map_err(|e| format!("running {:?}: {e}", cmd.get_program()))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// `dhcpd -t -cf FILE`, the real ISC parser.
pub fn dhcpd_accepts(file: &Path) -> Result<(), String> {
    let dhcpd = which("dhcpd").ok_or("dhcpd is not installed")?;
    verdict(Command::new(dhcpd).args(["-t", "-4", "-cf"]).arg(file))
}

/// The real `dnsmasq --test` on this file alone (`--conf-file`: never the host's
/// /etc/dnsmasq.conf): Ok, or its complaint.
pub fn dnsmasq_accepts(f: &Path) -> Result<(), String> {
    verdict(
        Command::new("dnsmasq")
            .arg("--test")
            .arg(format!("--conf-file={}", f.display())),
    )
}

/// `grub-script-check FILE`, GRUB's own parser: Ok, or its complaint.
pub fn grub_accepts(file: &Path) -> Result<(), String> {
    verdict(Command::new("grub-script-check").arg(file))
}

/// `kea-dhcp4 -t FILE`, the real Kea parser, on the file as it is: inside a network namespace
/// of its own that has the interface the file names (`iface`, a veth), because Kea refuses a
/// configuration whose interface is missing. Needs root.
pub fn kea_accepts(file: &Path, iface: &str) -> Result<(), String> {
    which("kea-dhcp4").ok_or("kea-dhcp4 is not installed")?;
    // Tests of one binary run in parallel: each call its own namespace.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let ns = Netns::new(&format!("kea-t{n}"));
    ns.ip(&[
        "link",
        "add",
        iface,
        "type",
        "veth",
        "peer",
        "name",
        "pxk-kea-t",
    ]);
    ns.ip(&["link", "set", iface, "up"]);
    verdict(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, "kea-dhcp4", "-t"])
            .arg(file),
    )
}

/// A generated file without its comment lines, for asserting on what the daemon reads.
pub fn directives(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fake but well-formed bzImage: the setup header with a version string.
pub fn fake_kernel(p: &Path, version: &str) {
    fake_kernel_seeded(p, version, 0);
}

/// `fake_kernel` whose bytes differ by `seed` (images that must not share a checksum).
pub fn fake_kernel_seeded(p: &Path, version: &str, seed: u32) {
    let mut k = vec![0u8; 0x1000];
    k[0x202..0x206].copy_from_slice(b"HdrS");
    k[0x20E..0x210].copy_from_slice(&(0x400u16).to_le_bytes());
    k[0x600..0x600 + version.len()].copy_from_slice(version.as_bytes());
    k.extend((0..50_000u32).map(|i| ((i * 7 + seed) % 251) as u8));
    std::fs::write(p, k).unwrap();
}

/// An initramfs (newc cpio, as dracut writes) holding dracut's livenet and dmsquash-live
/// markers, or not.
pub fn fake_initrd(p: &Path, live: bool) {
    let d = tempfile::tempdir().unwrap();
    let mut files = vec!["usr/lib/modules/6.9.0-test/modules.dep", "init"];
    if live {
        files.extend(["usr/sbin/livenetroot", "usr/sbin/dmsquash-live-root"]);
    }
    for f in &files {
        write(d.path(), f, "x\n");
    }
    let list = files.join("\n") + "\n";
    let out = std::fs::File::create(p).unwrap();
    let mut c = std::process::Command::new("cpio")
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(d.path())
        .stdin(std::process::Stdio::piped())
        .stdout(out)
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), list.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
}

/// A fake kernel, an initrd with dracut's livenet markers and a squashfs-magic root image
/// named `rootfs` in `w`: what `add-image --kernel --initrd --rootfs` takes.
pub fn fake_image_files(w: &Path, rootfs: &str) {
    fake_kernel(&w.join("vmlinuz"), "6.9.0-test");
    fake_initrd(&w.join("initrd.img"), true);
    let mut head = b"hsqs".to_vec();
    head.resize(4096, 7);
    std::fs::write(w.join(rootfs), head).unwrap();
}

/// The arguments of `add-image --name NAME` of the files `fake_image_files` left in `w`.
pub fn fake_image_argv(w: &Path, name: &str, rootfs: &str) -> Vec<String> {
    let mut v = fake_files_argv(w, rootfs);
    v.extend(["--name".into(), name.into()]);
    v
}

/// `add-image` of the files `fake_image_files` left in `w`, unnamed.
fn fake_files_argv(w: &Path, rootfs: &str) -> Vec<String> {
    let p = |f: &str| w.join(f).display().to_string();
    vec![
        "add-image".into(),
        "--kernel".into(),
        p("vmlinuz"),
        "--rootfs".into(),
        p(rootfs),
        "--initrd".into(),
        p("initrd.img"),
    ]
}

/// Adds a live image by the kernel + root image form from fake files made in a temp dir that
/// is returned (tests put more inputs there). `args` adds to the command line (`--name`,
/// `--default`).
pub fn add_fake_image(root: &Path, args: &[&str]) -> tempfile::TempDir {
    let w = tempfile::tempdir().unwrap();
    fake_image_files(w.path(), "root.squashfs");
    let mut argv = fake_files_argv(w.path(), "root.squashfs");
    argv.extend(args.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    ok(&run(root, &argv));
    w
}

/// `add-image` of those files (see `fake_image_argv`) plus `extra`: the outcome, whatever it is.
pub fn add_image_from(root: &Path, w: &Path, name: &str, extra: &[&str]) -> Output {
    let mut argv = fake_image_argv(w, name, "root.squashfs");
    argv.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(root, &argv)
}

/// What every VM test needs besides its own extras: root (namespaces) and QEMU.
pub fn lab_missing(extra_programs: &[&str], extra_files: &[&str]) -> Option<String> {
    let mut programs = vec!["qemu-system-x86_64", "ip"];
    programs.extend_from_slice(extra_programs);
    missing(true, &programs, extra_files)
}

/// Runs pxe-kit (no `--root` added); its pid, exit code and stdout+stderr.
pub fn run_bin(args: &[&str]) -> (u32, i32, String) {
    let child = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (pid, o.status.code().unwrap_or(-1), text)
}

/// A demo server staged by `lab demo --no-boot`; its work directory goes when dropped.
pub struct StagedDemo {
    pub root: PathBuf,
}

impl StagedDemo {
    pub fn new() -> StagedDemo {
        let (_, code, out) = run_bin(&["lab", "demo", "--no-boot"]);
        assert_eq!(code, 0, "{out}");
        let root: PathBuf = out
            .lines()
            .find_map(|l| l.split("pxe-kit --root ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no staged root in:\n{out}"));
        StagedDemo { root }
    }

    /// The demo's work directory (the root's parent).
    pub fn work(&self) -> &Path {
        self.root.parent().unwrap()
    }

    pub fn r(&self) -> &str {
        self.root.to_str().unwrap()
    }
}

impl Drop for StagedDemo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.work());
    }
}

/// A storm run with `lab storm --json --keep`: its report (the whole of stdout, so nothing
/// else may be printed there) and its kept work directory (named on stderr, after the
/// report), removed when dropped.
pub struct KeptStorm {
    pub report: serde_json::Value,
    pub dir: PathBuf,
}

impl KeptStorm {
    /// From run_bin's output (stdout, then stderr).
    pub fn parse(out: &str) -> KeptStorm {
        let json_end = out.rfind("\n}").map(|i| i + 2).unwrap_or(out.len());
        let report = serde_json::from_str(&out[..json_end])
            .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{out}"));
        let dir = out
            .lines()
            .find_map(|l| l.strip_prefix("lab storm: kept "))
            .and_then(|r| r.split_whitespace().next())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("no kept directory in:\n{out}"));
        KeptStorm { report, dir }
    }
}

impl Drop for KeptStorm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Nothing of one lab run is left: its namespace (named after the lab's pid; any lab's when
/// `pid` is None), no lab interface in the root namespace, no process whose command line
/// mentions `path` (its staged root or work directory: every daemon and QEMU ran with it).
pub fn lab_leftovers(pid: Option<u32>, path: &Path) -> Result<(), String> {
    let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let ns = String::from_utf8_lossy(&o.stdout).into_owned();
    let left = ns.lines().any(|l| {
        let n = l.split_whitespace().next().unwrap_or("");
        // The server's, the machines', a pair's partner and switch namespaces.
        ["pxk-lab-", "pxk-labc-", "pxk-labs-", "pxk-labw-"]
            .iter()
            .any(|prefix| match pid {
                Some(p) => n == format!("{prefix}{p}"),
                None => n.starts_with(prefix),
            })
    });
    if left {
        return Err(format!("lab namespace left: {ns}"));
    }
    for link in ["pxk-br0", "pxk-tap0"] {
        let st = Command::new("ip")
            .args(["link", "show", link])
            .output()
            .unwrap();
        if st.status.success() {
            return Err(format!("{link} exists in the root namespace"));
        }
    }
    let p = path.display().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&p) && !cmd.contains("cargo") {
            return Err(format!("process left: {cmd}"));
        }
    }
    Ok(())
}

/// A fake live system for a staged root: pxe-kit runs the root's live-system commands (probes
/// and changes) from `tests/common/fakebin` only (`PXE_KIT_FAKE_BIN`), whose firewalld,
/// NetworkManager, systemd and SELinux tools keep their state in files here. What they model,
/// and why, is said at the top of `fakebin/fake-system`.
pub struct FakeSystem {
    pub state: tempfile::TempDir,
}

pub const FAKE_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/fakebin");

impl FakeSystem {
    /// firewalld running with its default zone `public` (ssh, dhcpv6-client), no interface
    /// bound, no unit enabled, no SELinux rule.
    pub fn new() -> FakeSystem {
        let f = FakeSystem {
            state: tempfile::tempdir().unwrap(),
        };
        f.set("fw/default", "public\n");
        f.set("fw/perm/public/target", "default\n");
        f.set("fw/perm/public/services", "dhcpv6-client\nssh\n");
        f.set("se/rules", "");
        f.set("log", "");
        f.set("fw/running", "");
        f.reload();
        f
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.state.path().join(rel)
    }

    pub fn set(&self, rel: &str, text: &str) {
        write(self.state.path(), rel, text);
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn remove(&self, rel: &str) {
        let _ = std::fs::remove_file(self.path(rel));
    }

    /// One of the fake programs, run directly (to set the scene), its stdout.
    pub fn call(&self, prog: &str, args: &[&str]) -> String {
        let o = Command::new(Path::new(FAKE_BIN).join(prog))
            .args(args)
            .env("FAKE_STATE", self.state.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// firewalld's runtime from its permanent configuration and NM's bindings; clears the log.
    pub fn reload(&self) {
        self.call("firewall-cmd", &["--reload"]);
        self.set("log", "");
    }

    /// NetworkManager manages `iface` with connection `conn` in `zone` ("" the default).
    pub fn nm(&self, iface: &str, conn: &str, zone: &str) {
        self.set(&format!("nm/dev/{iface}"), &format!("{conn}\n"));
        self.set(&format!("nm/conn/{conn}/zone"), &format!("{zone}\n"));
    }

    /// A list of the zone (`services`, `interfaces` …), permanent or runtime.
    pub fn zone(&self, perm: bool, zone: &str, what: &str) -> Vec<String> {
        let base = if perm { "fw/perm" } else { "fw/run" };
        self.read(&format!("{base}/{zone}/{what}"))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The runtime zone of an interface.
    pub fn zone_of(&self, iface: &str) -> String {
        self.call(
            "firewall-cmd",
            &[&format!("--get-zone-of-interface={iface}")],
        )
        .trim()
        .to_string()
    }

    /// Every call of a fake program since the last `clear_log`.
    pub fn log(&self) -> Vec<String> {
        self.read("log").lines().map(str::to_string).collect()
    }

    pub fn clear_log(&self) {
        self.set("log", "");
    }

    /// pxe-kit with `--root root` against this fake system.
    pub fn run(&self, root: &Path, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--root")
            .arg(root)
            .args(args)
            .env("PXE_KIT_FAKE_BIN", FAKE_BIN)
            .env("FAKE_STATE", self.state.path())
            .env("FAKE_ROOT", root)
            .env("PXE_KIT_RUNNER_LOG", root.with_extension("runner.jsonl"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

/// A staged Debian 12 server whose kernel runs SELinux enforcing and which has firewalld:
/// the prototype server VM's setup.
pub fn stage_debian_selinux_firewalld() -> tempfile::TempDir {
    let t = stage_debian();
    write(t.path(), "sys/fs/selinux/enforce", "1");
    write(t.path(), "usr/bin/firewall-cmd", "");
    t
}

/// A staged Debian member of a failover pair: the common init with this member's address.
pub fn pair_member(ip: &str, partner: &str, role: &str) -> tempfile::TempDir {
    let t = stage_debian();
    let mut args: Vec<&str> = INIT
        .iter()
        .map(|a| if *a == "10.0.0.1" { ip } else { *a })
        .collect();
    args.extend(["--peer", partner, "--role", role]);
    ok(&run(t.path(), &args));
    t
}

/// `pxe-kit serve` of a staged root inside a namespace, its output lines collected.
pub struct Served {
    pub child: Child,
    rx: std::sync::mpsc::Receiver<String>,
    pub out: Vec<String>,
}

impl Served {
    pub fn start(ns: &Netns, root: &Path) -> Served {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, BIN, "--root"])
            .arg(root)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for s in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in std::io::BufReader::new(s).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
        }
        Served {
            child,
            rx,
            out: Vec::new(),
        }
    }

    /// Whether a line containing `needle` came within `secs` (a bound, not a timing).
    pub fn wait_for(&mut self, needle: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.out.iter().any(|l| l.contains(needle)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            if let Ok(l) = self.rx.recv_timeout(Duration::from_millis(200)) {
                self.out.push(l);
            }
        }
    }

    /// SIGTERM, then waits for serve to stop.
    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
        self.wait_for("pxe-kit serve: stopped", 5);
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
