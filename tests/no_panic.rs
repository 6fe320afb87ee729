//! No input panics pxe-kit: hostile daemon log lines and `--since` spans for `status`, subnets
//! outside /8–/30, NFS exports of `/` and the server's system directories, hostlists that
//! would expand without bound — each refused (exit 2, one line) or skipped, never exit 101 —
//! and property tests feeding every parser of outside input (the log parsers, settings,
//! the sync index, manifests, CSV and hostlists, ISO images mastered by xorriso then
//! damaged) arbitrary and structured-random data. The property tests run a fixed number of
//! cases from a fixed seed, so a run is repeatable.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use pxe_kit::config::Config;
use pxe_kit::iso9660::Iso;
use pxe_kit::status::{parse_journal_line, parse_serve_log_line};
use pxe_kit::track::Tracker;

/// A staged root `status` can read: a Fedora os-release and serve's log.
fn status_root(log: &[u8]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "etc/os-release", "ID=fedora\nVERSION_ID=42\n");
    let p = t.path().join("var/log/pxe-kit/serve.log");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, log).unwrap();
    t
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[track_caller]
fn refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected exit 2: {e}{}",
        stdout(o)
    );
    assert_eq!(e.trim_end().lines().count(), 1, "not one line: {e}");
    for n in needles {
        assert!(e.contains(n), "{e} lacks {n:?}");
    }
}

/// serve.log lines whose time is no time (`nan`, negative, beyond `SystemTime`), an access
/// line whose start has 400 digits, bytes that are not UTF-8, a megabyte-long line: each is
/// skipped, and the good line among them still shows its machine.
#[test]
fn status_skips_hostile_log_lines() {
    let now = now_secs();
    let mut log = Vec::new();
    for t in [
        "nan",
        "NaN",
        "-1",
        "-0.5",
        "inf",
        "-inf",
        "1e400",
        "1e19",
        "18446744073709551616",
        "340282366920938463463374607431768211456.5",
    ] {
        log.extend(format!("{t} tftpd| RRQ from 10.0.0.66 filename pxelinux.0\n").bytes());
    }
    let digits = "9".repeat(400);
    log.extend(
        format!("{now}.000 httpd| {digits}.0 10.0.0.67 \"GET /pxe-kit/x/squashfs.img HTTP/1.1\" 200 5 {digits}\n")
            .bytes(),
    );
    log.extend(
        format!("{now}.000 httpd| 1.0 10.0.0.68 \"GET /x HTTP/1.1\" 200 5 {digits}\n").bytes(),
    );
    log.extend(b"\xff\xfe\xfd tftpd| RRQ from 10.0.0.69 filename \xc3\x28\n");
    log.extend(format!("{now}.000 tftpd| RRQ from 10.0.0.70 filename ").bytes());
    log.extend(std::iter::repeat_n(b'A', 1 << 20));
    log.push(b'\n');
    log.extend(format!("{now}.000 tftpd| RRQ from 10.0.0.5 filename pxelinux.0\n").bytes());
    let t = status_root(&log);
    let out = ok(&run(t.path(), &["status"]));
    assert!(out.contains("10.0.0.5"), "{out}");
    assert!(
        !out.contains("10.0.0.66"),
        "a line without a time was read: {out}"
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&run(t.path(), &["status", "--json"])))
        .expect("status --json prints JSON");
    let ips: Vec<&str> = j["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["ip"].as_str())
        .collect();
    assert!(ips.contains(&"10.0.0.5"), "{j:#}");
    assert!(
        ips.contains(&"10.0.0.70"),
        "the long line is a request too: {j:#}"
    );
}

#[test]
fn status_since_beyond_range_is_refused() {
    let t = status_root(b"");
    for span in ["500000000000y", "11y", "4000days"] {
        let o = run(t.path(), &["status", "--since", span]);
        refused(&o, &["--since", "out of range", "10years"]);
    }
    for span in ["10y", "0s", "2h"] {
        ok(&run(t.path(), &["status", "--since", span]));
    }
}

/// A /0 and a /1 wrapped the neighbour-table and pool arithmetic (exit 101); a /7 went
/// through. Each prefix outside /8–/30 is refused by name, on the command line and in the
/// settings file.
#[test]
fn subnets_outside_8_to_30_are_refused() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    for (net, range) in [
        ("0.0.0.0/0", "10.0.0.100-10.0.0.200"),
        ("0.0.0.0/1", "10.0.0.100-10.0.0.200"),
        ("10.0.0.0/7", "10.0.0.100-10.0.0.200"),
        ("10.0.0.0/31", "10.0.0.0-10.0.0.1"),
    ] {
        let before = snapshot(r);
        let mut args: Vec<&str> = INIT.to_vec();
        let i = args.iter().position(|a| *a == "--subnet").unwrap();
        args[i + 1] = net;
        args[i + 3] = range;
        refused(&run(r, &args), &[net, "/8 to /30"]);
        assert_same(&before, &snapshot(r), net);
    }
    // The widest and the narrowest accepted.
    let mut args: Vec<&str> = INIT.to_vec();
    let i = args.iter().position(|a| *a == "--subnet").unwrap();
    args[i + 1] = "10.0.0.0/8";
    ok(&run(r, &args));
    let settings = read(r, "etc/pxe-kit/pxe-kit.yaml");
    assert!(settings.contains("subnet: 10.0.0.0/8"), "{settings}");
    // A settings file edited to a /1 is refused when loaded, not rendered.
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        &settings.replace("subnet: 10.0.0.0/8", "subnet: 0.0.0.0/1"),
    );
    let before = snapshot(r);
    refused(
        &run(r, &["init"]),
        &["0.0.0.0/1", "/8 to /30", "pxe-kit.yaml"],
    );
    assert_same(&before, &snapshot(r), "settings with a /1");
}

/// `add-image --nfs /` exported the whole server `no_root_squash`. `/`, system directories
/// and paths that reach them through `..` or a symlink are refused before anything is read.
#[test]
fn nfs_exports_of_system_directories_are_refused() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let w = tempfile::tempdir().unwrap();
    let initrd = w.path().join("initrd-nfs.img");
    fake_initrd(&initrd, false);
    std::os::unix::fs::symlink("/", w.path().join("slash")).unwrap();
    std::os::unix::fs::symlink("/usr/lib", w.path().join("usrlib")).unwrap();
    let slash = w.path().join("slash");
    let usrlib = w.path().join("usrlib");
    let dotdot = format!("{}/../../../../../../../../etc", w.path().display());
    for dir in [
        "/",
        "//",
        "/etc",
        "/etc/ssh",
        "/usr",
        "/var/lib",
        "/boot",
        "/root",
        "/tmp/../var",
        dotdot.as_str(),
        slash.to_str().unwrap(),
        usrlib.to_str().unwrap(),
    ] {
        let before = snapshot(r);
        let o = run(
            r,
            &[
                "add-image",
                "--nfs",
                dir,
                "--initrd",
                initrd.to_str().unwrap(),
                "--name",
                "sys",
            ],
        );
        refused(&o, &[dir, "a system directory of this server"]);
        assert_same(&before, &snapshot(r), dir);
    }
}

/// `--names 'a[1-60000]b[1-60000]'` built 3.6 billion names before counting them. Under a
/// 1 GiB address-space limit the old code dies allocating; now the count is refused first.
#[test]
fn hostlists_are_refused_before_they_are_built() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let long = format!("{}[1-2]", "n".repeat(70));
    let zeros = format!("n[{}1-2]", "0".repeat(1 << 16));
    for (names, needle) in [
        ("a[1-60000]b[1-60000]", "more than 65536 names"),
        ("a[1-40000],b[1-40000]", "more than 65536 names"),
        ("a[1-40000,1-40000]", "more than 65536"),
        (long.as_str(), "longer than 63"),
        (zeros.as_str(), "is not a number"),
    ] {
        let before = snapshot(r);
        let mut c = Command::new(BIN);
        c.arg("--root").arg(r).args([
            "add-host",
            "--names",
            names,
            "--image",
            "x",
            "--ips",
            "10.0.0.10",
        ]);
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                let lim = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = c.output().unwrap();
        let short: String = names.chars().take(40).collect();
        refused(&o, &[&short, needle]);
        assert_same(&before, &snapshot(r), names);
    }
}

/// A manifest (a partner's, an edited one) whose files claim sizes that overflow a sum:
/// `images` and `doctor` panicked adding them up.
#[test]
fn manifest_sizes_that_overflow_a_sum_do_not_panic() {
    if skip(syslinux_missing()) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let max = u64::MAX;
    write(
        r,
        "var/lib/pxe-kit/images/big.yaml",
        &format!(
            "name: big\nsource: {{name: x, size: {max}, layout: lorax}}\nroot_type: squashfs\ninitrd_from: iso\ncreated: x\nfiles:\n- {{role: kernel, path: /var/lib/tftpboot/pxe-kit/big/vmlinuz, size: {max}, sha256: x}}\n- {{role: initrd, path: /var/lib/tftpboot/pxe-kit/big/initrd.img, size: {max}, sha256: x}}\n"
        ),
    );
    let out = ok(&run(r, &["images"]));
    assert!(out.contains("big") && out.contains("missing"), "{out}");
    let o = run(r, &["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stderr(&o), stdout(&o));
    assert!(stdout(&o).contains("vmlinuz is missing"), "{}", stdout(&o));
}

/// `lab relay --delay-ms nan` (the helper `lab boot --latency` starts) panicked converting
/// the delay before anything else ran.
#[test]
fn relay_delays_out_of_range_are_refused() {
    let t = tempfile::tempdir().unwrap();
    for d in ["nan", "-5", "inf", "1e300"] {
        let o = run(
            t.path(),
            &[
                "lab",
                "relay",
                "--tap",
                "x",
                "--listen",
                "1",
                "--qemu",
                "2",
                &format!("--delay-ms={d}"),
            ],
        );
        refused(&o, &["--delay-ms", "between 0 and 10000"]);
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(19),
        ..ProptestConfig::default()
    }
}

/// Numbers as logs may carry them: digits of any length, signs, exponents, nan and inf.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{0,30}(\\.[0-9]{0,30})?(e-?[0-9]{1,4})?",
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
    ]
}

/// Lines shaped like each daemon's, with hostile numbers and text in them.
fn daemon_line() -> impl Strategy<Value = (String, String)> {
    let who = prop_oneof![
        Just("dhcpd"),
        Just("kea-dhcp4"),
        Just("tftpd"),
        Just("in.tftpd"),
        Just("httpd"),
        Just("nfs"),
        Just("cron"),
    ];
    let text = prop_oneof![
        (number(), number(), number()).prop_map(|(a, b, c)| format!(
            "{a} 10.0.0.{} \"GET /pxe-kit/x/squashfs.img HTTP/1.1\" 200 {b} {c}",
            a.len() % 256
        )),
        number().prop_map(|n| format!("DHCPACK on 10.0.0.{n} to 52:54:00:00:00:01 via br0")),
        number().prop_map(|n| format!("RRQ from 10.0.0.5 filename {n}")),
        number().prop_map(|n| format!("sending NAK ({n}, File not found) to 10.0.0.5")),
        number().prop_map(|n| format!("DHCP4_LEASE_ALLOC [hwtype={n} 52:54:00:aa:00:02], tid=0x1: lease 10.0.0.{n} has been allocated")),
        number().prop_map(|n| format!(": CLIENT ID :DEBUG :Created client name [::ffff:10.0.0.{n}-(20:Linux NFSv4.2 (none))]")),
        ".{0,200}",
    ];
    (who, text).prop_map(|(w, t)| (w.to_string(), t))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn serve_log_lines_never_panic(
        t in number(),
        (who, text) in daemon_line(),
        junk in ".{0,120}",
    ) {
        let mut tr = Tracker::new();
        for l in [format!("{t} {who}| {text}"), junk] {
            if let Some((at, who, text)) = parse_serve_log_line(&l) {
                tr.feed(who, text, at);
            }
        }
        for m in tr.machines() {
            let _ = serde_json::to_string(m).unwrap();
        }
    }

    #[test]
    fn journal_lines_never_panic(
        ts in prop_oneof![number(), ".{0,30}"],
        who in prop_oneof![Just("dhcpd".to_string()), Just("in.tftpd".to_string()), ".{0,10}"],
        (_, text) in daemon_line(),
        bytes in proptest::collection::vec(any::<i64>(), 0..40),
        junk in ".{0,120}",
    ) {
        let msg = serde_json::to_string(&text).unwrap();
        let bytes = serde_json::to_string(&bytes).unwrap();
        let who = serde_json::to_string(&who).unwrap();
        let mut tr = Tracker::new();
        for l in [
            format!(r#"{{"__REALTIME_TIMESTAMP":"{ts}","SYSLOG_IDENTIFIER":{who},"MESSAGE":{msg}}}"#),
            format!(r#"{{"__REALTIME_TIMESTAMP":"{ts}","SYSLOG_IDENTIFIER":{who},"MESSAGE":{bytes}}}"#),
            format!(r#"{{"__REALTIME_TIMESTAMP":{ts},"SYSLOG_IDENTIFIER":{who},"MESSAGE":null}}"#),
            junk,
        ] {
            if let Some((at, who, text)) = parse_journal_line(&l) {
                tr.feed(&who, &text, at);
            }
        }
    }

    #[test]
    fn since_spans_never_panic(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let back = Duration::new(secs, nanos);
        match pxe_kit::status::since(SystemTime::now(), back) {
            Ok(t) => prop_assert!(back <= pxe_kit::status::MAX_SINCE && t <= SystemTime::now()),
            Err(e) => prop_assert!(e.to_string().contains("out of range")),
        }
    }
}

/// Settings as YAML with every field drawn from hostile values.
fn settings_yaml() -> impl Strategy<Value = String> {
    let ip = prop_oneof![
        any::<u32>().prop_map(|n| std::net::Ipv4Addr::from(n).to_string()),
        (0u8..4).prop_map(|n| format!("10.0.0.{n}")),
        ".{0,20}",
    ];
    (
        (ip.clone(), ip.clone(), 0u8..=40),
        (ip.clone(), ip.clone(), ip.clone()),
        (any::<u32>(), any::<i64>(), any::<u32>(), any::<i64>()),
        proptest::collection::vec((ip.clone(), "[0-9a-f:]{0,20}"), 0..4),
        ("[a-z0-9;\\-]{0,20}", ".{0,30}"),
    )
        .prop_map(
            |((server, net, prefix), (start, end, router), (lease, offset, timeout, nice), hosts, (iface, title))| {
                let mut y = format!(
                    "interface: {iface:?}\nserver_ip: {server:?}\nsubnet: \"{net}/{prefix}\"\nrange: \"{start}-{end}\"\nrouter: {router:?}\nlease_time: {lease}\ntime_offset: {offset}\nboot:\n  timeout: {timeout}\n  title: {title:?}\ndhcp:\n  nice: {nice}\n"
                );
                if !hosts.is_empty() {
                    y += "hosts:\n";
                    for (ip, mac) in hosts {
                        y += &format!("- ip: {ip:?}\n  mac: {mac:?}\n  image: x\n");
                    }
                }
                y
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn settings_never_panic(y in settings_yaml(), junk in ".{0,200}") {
        let _ = Config::load(Path::new("pxe-kit.yaml"), &junk);
        if let Ok(c) = Config::load(Path::new("pxe-kit.yaml"), &y) {
            // Loaded means validated: the arithmetic on it must hold.
            let p = c.subnet.prefix_len();
            prop_assert!((8..=30).contains(&p), "{y}");
            let _ = pxe_kit::render::neigh_thresholds(c.subnet_hosts());
            let _ = pxe_kit::render::http_workers(c.machines());
            let _ = c.to_yaml();
        }
        // The same arithmetic on whatever parses, validated or not.
        if let Ok(c) = serde_yaml::from_str::<Config>(&y) {
            let _ = c.validate();
            let _ = pxe_kit::render::neigh_thresholds(c.subnet_hosts());
            let _ = pxe_kit::render::http_workers(c.machines());
        }
    }

    #[test]
    fn sync_index_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        names in proptest::collection::vec((".{0,20}", ".{0,70}"), 0..6),
    ) {
        let _ = serde_json::from_slice::<pxe_kit::sync::Index>(&bytes);
        let obj: serde_json::Map<String, serde_json::Value> =
            names.into_iter().map(|(k, v)| (k, v.into())).collect();
        let text = serde_json::json!({ "images": obj }).to_string();
        let _ = serde_json::from_str::<pxe_kit::sync::Index>(&text);
    }

    #[test]
    fn manifests_never_panic(
        files in proptest::collection::vec(
            (prop_oneof![Just("kernel"), Just("initrd"), Just("root"), Just("x")], ".{0,40}", any::<u64>()),
            0..5,
        ),
        (name, export, append) in (".{0,20}", ".{0,40}", ".{0,40}"),
        junk in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let _ = serde_yaml::from_slice::<pxe_kit::image::Manifest>(&junk);
        let mut y = format!(
            "name: {name:?}\nsource:\n  name: x\n  size: 1\n  layout: lorax\nroot_type: squashfs\ninitrd_from: iso\nappend: {append:?}\ncreated: x\nnfs_export: {export:?}\nfiles:\n"
        );
        for (role, path, size) in &files {
            y += &format!("- role: {role}\n  path: {path:?}\n  size: {size}\n  sha256: x\n");
        }
        if let Ok(m) = serde_yaml::from_str::<pxe_kit::image::Manifest>(&y) {
            let dir = tempfile::tempdir().unwrap();
            let root = pxe_kit::root::Root::new(dir.path(), true, Default::default()).unwrap();
            let _ = m.check_sizes(&root);
            for f in &m.files {
                let _ = f.size_problem(Some(f.size.wrapping_add(1)));
            }
            if let Some(e) = &m.nfs_export {
                let _ = pxe_kit::config::check_nfs_export(e);
            }
        }
    }

    #[test]
    fn csv_and_hostlists_never_panic(
        csv in "[0-9a-f:,\\-\\.\\n\"# ]{0,200}",
        rows in proptest::collection::vec((".{0,20}", ".{0,20}", ".{0,20}", ".{0,10}"), 0..5),
        list in "[a-c0-9\\[\\]\\-, ]{0,40}",
    ) {
        let _ = pxe_kit::bulk::from_csv(&csv, Some("img"));
        let mut text = String::from("mac,hostname,ip,image\n");
        for (a, b, c, d) in rows {
            text += &format!("{a},{b},{c},{d}\n");
        }
        let _ = pxe_kit::bulk::from_csv(&text, None);
        if let Ok(names) = pxe_kit::bulk::expand_hostlist(&list) {
            prop_assert!(names.len() <= pxe_kit::bulk::MAX_HOSTS);
            prop_assert!(names.iter().all(|n| n.len() <= 63));
        }
        let _ = pxe_kit::bulk::from_hostlist(&list, Some("10.0.0.1"), Some("52:54:00:ff:ff:f0"), "x");
    }
}

/// A small live-ISO-shaped image mastered by the real xorriso (Rock Ridge and Joliet).
fn real_iso() -> Option<Vec<u8>> {
    if skip(missing(false, &["xorriso"], &[])) {
        return None;
    }
    let w = tempfile::tempdir().unwrap();
    let src = w.path().join("src");
    for (rel, len) in [
        ("images/pxeboot/vmlinuz", 5000),
        ("images/pxeboot/initrd.img", 9000),
        ("LiveOS/squashfs.img", 20_000),
        ("isolinux/isolinux.cfg", 300),
        ("a/b/c/d/e/deep.txt", 10),
    ] {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, vec![rel.len() as u8; len]).unwrap();
    }
    let iso = w.path().join("t.iso");
    let out = Command::new("xorriso")
        .args([
            "-report_about",
            "SORRY",
            "-joliet",
            "on",
            "-rockridge",
            "on",
        ])
        .arg("-outdev")
        .arg(&iso)
        .args(["-volid", "NO_PANIC", "-map"])
        .arg(&src)
        .args(["/", "-commit", "-end"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(iso).unwrap())
}

/// Opens, lists, looks up and reads everything; errors are fine, panics are not.
fn exercise_iso(img: Vec<u8>) {
    let Ok(mut iso) = Iso::open(Cursor::new(img)) else {
        return;
    };
    let _ = iso.find_ci("/LiveOS/squashfs.img");
    let _ = iso.find("/images/pxeboot/vmlinuz");
    if let Ok(all) = iso.entries() {
        for e in all.iter().filter(|e| !e.is_dir) {
            if let Ok(mut r) = iso.open_file(e) {
                let mut sink = Vec::new();
                let _ = r.read_to_end(&mut sink);
            }
        }
    }
}

#[test]
fn damaged_real_isos_never_panic() {
    let Some(base) = real_iso() else {
        return;
    };
    // The undamaged image reads whole: the damage below is what the reader meets.
    let mut iso = Iso::open(Cursor::new(base.clone())).unwrap();
    let names: Vec<String> = iso.entries().unwrap().into_iter().map(|e| e.path).collect();
    assert!(
        names.contains(&"/a/b/c/d/e/deep.txt".to_string()),
        "{names:?}"
    );
    // Where the metadata lives: the descriptors and the directories (before the file data).
    let meta_end = base.len().min(64 * 2048);
    let mut runner = proptest::test_runner::TestRunner::new(config(256));
    let strategy = (
        proptest::collection::vec((16 * 2048..meta_end, any::<u8>()), 1..16),
        proptest::option::of(0..base.len()),
        proptest::collection::vec((0..base.len(), any::<u8>()), 0..4),
    );
    runner
        .run(&strategy, |(meta, cut, anywhere)| {
            let mut img = base.clone();
            for (at, v) in meta.into_iter().chain(anywhere) {
                img[at] = v;
            }
            if let Some(c) = cut {
                img.truncate(c);
            }
            exercise_iso(img);
            Ok(())
        })
        .unwrap();
    // Every truncation of the metadata, one sector at a time.
    for cut in (0..meta_end).step_by(2048) {
        exercise_iso(base[..cut].to_vec());
    }
}
