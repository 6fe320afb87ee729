//! `pxe-kit add-image` with ISOs built by xorriso in the lorax and kiwi layouts, with Rock
//! Ridge, Joliet-only and plain ISO 9660 names; the kernel + root tree form; bad inputs; an
//! import killed half-way; `images` and `remove-image`.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sha2::{Digest, Sha256};

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["xorriso", "mksquashfs", "cpio"], &[]))
}

fn sha(p: &Path) -> String {
    let mut h = Sha256::new();
    h.update(std::fs::read(p).unwrap());
    format!("{:x}", h.finalize())
}

fn sh(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn squashfs(p: &Path) {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "etc/os-release", "ID=demo\n");
    write(d.path(), "sbin/init", "#!/bin/sh\necho hello\n");
    sh(Command::new("mksquashfs").arg(d.path()).arg(p).args([
        "-noappend",
        "-quiet",
        "-no-progress",
    ]));
}

struct Layout {
    kernel: &'static str,
    initrd: &'static str,
}
const LORAX: Layout = Layout {
    kernel: "images/pxeboot/vmlinuz",
    initrd: "images/pxeboot/initrd.img",
};
const KIWI: Layout = Layout {
    kernel: "boot/x86_64/loader/linux",
    initrd: "boot/x86_64/loader/initrd",
};

/// Builds an ISO in `dir` and returns it with the source tree (for checksums).
fn make_iso(
    dir: &Path,
    name: &str,
    l: &Layout,
    names: &[&str],
    live_initrd: bool,
    with_root: bool,
) -> (PathBuf, PathBuf) {
    let src = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(src.join(Path::new(l.kernel).parent().unwrap())).unwrap();
    fake_kernel(&src.join(l.kernel), "6.9.0-test");
    fake_initrd(&src.join(l.initrd), live_initrd);
    if with_root {
        std::fs::create_dir_all(src.join("LiveOS")).unwrap();
        squashfs(&src.join("LiveOS/squashfs.img"));
    } else {
        write(&src, "images/install.img", "not a live root");
    }
    let iso = dir.join(format!("{name}.iso"));
    let mut c = Command::new("xorriso");
    c.args(["-no_rc", "-report_about", "SORRY", "-outdev"])
        .arg(&iso)
        .args(names)
        .args(["-map"])
        .arg(&src)
        .arg("/");
    sh(&mut c);
    (iso, src)
}

fn staged_with_config() -> tempfile::TempDir {
    let t = stage_fedora();
    ok(&run(t.path(), INIT));
    t
}

fn check_import(names: &[&str], layout: &Layout, label: &str) {
    let t = staged_with_config();
    let r = t.path();
    let work = tempfile::tempdir().unwrap();
    let (iso, src) = make_iso(work.path(), label, layout, names, true, true);
    let out = ok(&run(
        r,
        &[
            "add-image",
            iso.to_str().unwrap(),
            "--name",
            label,
            "--default",
            "--append",
            "quiet",
        ],
    ));
    assert!(
        out.contains(&format!(
            "image {label}: squashfs root, kernel 6.9.0-test, initrd from iso"
        )),
        "{out}"
    );
    let tftp = r.join("var/lib/tftpboot/pxe-kit").join(label);
    assert_eq!(sha(&tftp.join("vmlinuz")), sha(&src.join(layout.kernel)));
    assert_eq!(sha(&tftp.join("initrd.img")), sha(&src.join(layout.initrd)));
    let root_img = r
        .join("var/www/html/pxe-kit")
        .join(label)
        .join("squashfs.img");
    assert_eq!(sha(&root_img), sha(&src.join("LiveOS/squashfs.img")));
    let manifest = read(r, &format!("var/lib/pxe-kit/images/{label}.yaml"));
    assert!(manifest.contains(&sha(&root_img)), "{manifest}");
    assert!(
        manifest.contains("root_type: squashfs") && manifest.contains("kernel_version: 6.9.0-test"),
        "{manifest}"
    );
    let menu = read(r, "var/lib/tftpboot/pxelinux.cfg/default");
    let entry = format!(
        "LABEL {label}\n    MENU LABEL {label} ({label}.iso)\n    MENU DEFAULT\n    KERNEL http://10.0.0.1/pxe-kit-tftp/pxe-kit/{label}/vmlinuz\n    APPEND initrd=http://10.0.0.1/pxe-kit-tftp/pxe-kit/{label}/initrd.img root=live:http://10.0.0.1/pxe-kit/{label}/squashfs.img rd.live.image rd.neednet=1 ip=dhcp quiet\n    IPAPPEND 2\n"
    );
    assert!(menu.contains(&entry), "{menu}");
    assert!(menu.contains(&format!("ONTIMEOUT {label}")), "{menu}");
    // The image's directories are labelled with what they hold, not only its files: a
    // directory made under the TFTP root keeps the parent's type otherwise.
    let plan = planned(r);
    assert!(
        plan.iter().any(|c| c.starts_with("restorecon -RF ")
            && c.contains(" /var/lib/tftpboot/pxe-kit ")
            && c.ends_with(&format!(" /var/www/html/pxe-kit/{label}"))),
        "{plan:#?}"
    );
    // The same ISO again: nothing to do, nothing touched.
    let before = snapshot(r);
    let out = ok(&run(
        r,
        &[
            "add-image",
            iso.to_str().unwrap(),
            "--name",
            label,
            "--default",
            "--append",
            "quiet",
        ],
    ));
    assert!(
        out.contains("already imported") && out.contains("nothing to change"),
        "{out}"
    );
    assert_same(&before, &snapshot(r), "the tree changed");
}

#[test]
fn lorax_iso_with_rock_ridge_imports() {
    if !skip(tools_missing()) {
        check_import(&[], &LORAX, "lorax-rr");
    }
}

#[test]
fn kiwi_iso_with_rock_ridge_imports() {
    if !skip(tools_missing()) {
        check_import(&[], &KIWI, "kiwi-rr");
    }
}

#[test]
fn joliet_only_iso_imports() {
    if !skip(tools_missing()) {
        check_import(&["-rockridge", "off", "-joliet", "on"], &LORAX, "joliet");
    }
}

#[test]
fn plain_iso9660_names_import() {
    if !skip(tools_missing()) {
        check_import(&["-rockridge", "off", "-joliet", "off"], &KIWI, "plain");
    }
}

#[test]
fn bad_isos_are_refused_and_change_nothing() {
    if skip(tools_missing()) {
        return;
    }
    let t = staged_with_config();
    let r = t.path();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (good, _) = make_iso(w, "good", &LORAX, &[], true, true);
    let (installer, _) = make_iso(w, "installer", &LORAX, &[], true, false);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(w.join("truncated.iso"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(w.join("garbage.iso"), vec![0x5au8; 100_000]).unwrap();
    std::fs::write(w.join("empty.iso"), b"").unwrap();
    std::fs::create_dir(w.join("dir.iso")).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (w.join("truncated.iso"), "truncated.iso"),
        (w.join("garbage.iso"), "garbage.iso"),
        (installer, "no live root image"),
        (w.join("empty.iso"), "is empty"),
        (w.join("dir.iso"), "is a directory"),
        (w.join("missing.iso"), "missing.iso"),
    ];
    for (iso, needle) in cases {
        let before = snapshot(r);
        let o = run(r, &["add-image", iso.to_str().unwrap(), "--name", "x"]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {e}", iso.display());
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains(needle), "{e} lacks {needle}");
        assert_same(
            &before,
            &snapshot(r),
            &format!("{} changed the tree", iso.display()),
        );
    }
    for (args, needle) in [
        (
            vec!["add-image", good.to_str().unwrap(), "--name", "bad name"],
            "bad name",
        ),
        (
            vec!["add-image", good.to_str().unwrap(), "--name", "local"],
            "local",
        ),
        (
            vec![
                "add-image",
                good.to_str().unwrap(),
                "--append",
                "root=/dev/sda",
            ],
            "root=",
        ),
        (vec!["remove-image", "nosuch"], "no image named \"nosuch\""),
    ] {
        let before = snapshot(r);
        let o = run(r, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert_same(&before, &snapshot(r), "the tree changed");
    }
}

#[test]
fn iso_initrd_without_livenet_is_not_trusted() {
    if skip(tools_missing()) {
        return;
    }
    let t = staged_with_config();
    let work = tempfile::tempdir().unwrap();
    let (iso, _) = make_iso(work.path(), "nolive", &LORAX, &[], false, true);
    // The fake kernel's modules are not on this server, so dracut cannot run: the refusal
    // must say what is needed.
    let o = run(t.path(), &["add-image", iso.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        stdout(&o).contains("lacks dracut's livenet module"),
        "{}",
        stdout(&o)
    );
    assert!(
        e.contains("modules are not on this server (/lib/modules/6.9.0-test)")
            && e.contains("--initrd"),
        "{e}"
    );
    assert!(!t.path().join("var/lib/pxe-kit/images/nolive.yaml").exists());
    let leftovers: Vec<_> = walkdir::WalkDir::new(t.path())
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pxe-kit-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn kernel_and_root_tree_form_with_given_initrd() {
    if skip(tools_missing()) {
        return;
    }
    let t = staged_with_config();
    let r = t.path();
    let w = tempfile::tempdir().unwrap();
    fake_kernel(&w.path().join("vmlinuz-6.9.0-test"), "6.9.0-test");
    fake_initrd(&w.path().join("initrd.img"), true);
    let tree = w.path().join("compute");
    write(&tree, "etc/os-release", "ID=compute\n");
    write(&tree, "sbin/init", "#!/bin/sh\n");
    let out = ok(&run(
        r,
        &[
            "add-image",
            "--kernel",
            w.path().join("vmlinuz-6.9.0-test").to_str().unwrap(),
            "--rootfs",
            tree.to_str().unwrap(),
            "--initrd",
            w.path().join("initrd.img").to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("image compute: squashfs root, kernel 6.9.0-test, initrd from given"),
        "{out}"
    );
    let img = r.join("var/www/html/pxe-kit/compute/squashfs.img");
    assert_eq!(&std::fs::read(&img).unwrap()[..4], b"hsqs");
    assert!(read(r, "var/lib/tftpboot/pxelinux.cfg/default").contains("LABEL compute"));

    let json: serde_json::Value =
        serde_json::from_str(&ok(&run(r, &["images", "--json"]))).unwrap();
    assert_eq!(json[0]["name"], "compute");
    assert_eq!(json[0]["state"], "ok");
    assert_eq!(
        json[0]["url"],
        "http://10.0.0.1/pxe-kit/compute/squashfs.img"
    );
    std::fs::write(&img, b"corrupt").unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&run(r, &["images", "--json"]))).unwrap();
    assert!(
        json[0]["state"]
            .as_str()
            .unwrap()
            .starts_with("size of /var/www/html/pxe-kit/compute/squashfs.img"),
        "{json}"
    );

    ok(&run(r, &["remove-image", "compute"]));
    assert!(!img.exists() && !r.join("var/lib/tftpboot/pxe-kit/compute").exists());
    assert!(!r.join("var/lib/pxe-kit/images/compute.yaml").exists());
    assert!(!read(r, "var/lib/tftpboot/pxelinux.cfg/default").contains("compute"));
}

#[test]
fn import_killed_half_way_leaves_previous_state() {
    if skip(tools_missing()) {
        return;
    }
    let t = staged_with_config();
    let r = t.path();
    let w = tempfile::tempdir().unwrap();
    // A root image large enough that the copy is still running when the test kills it.
    fake_kernel(&w.path().join("vmlinuz"), "6.9.0-test");
    fake_initrd(&w.path().join("initrd.img"), true);
    let big = w.path().join("big.squashfs");
    {
        let mut f = std::fs::File::create(&big).unwrap();
        std::io::Write::write_all(&mut f, b"hsqs").unwrap();
        let block: Vec<u8> = (0..(1 << 20))
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        for _ in 0..512 {
            std::io::Write::write_all(&mut f, &block).unwrap();
        }
    }
    let before = snapshot(r);
    let mut child = Command::new(BIN)
        .args([
            "--root",
            r.to_str().unwrap(),
            "-q",
            "add-image",
            "--name",
            "big",
            "--kernel",
        ])
        .arg(w.path().join("vmlinuz"))
        .arg("--rootfs")
        .arg(&big)
        .arg("--initrd")
        .arg(w.path().join("initrd.img"))
        .spawn()
        .unwrap();
    // Wait until the copy has started, then kill -9.
    let dir = r.join("var/www/html/pxe-kit/big");
    let start = std::time::Instant::now();
    loop {
        let copying = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok()).any(|e| {
                    std::fs::metadata(e.path())
                        .map(|m| m.len() > 1 << 20)
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        if copying || start.elapsed().as_secs() > 60 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the import finished before it could be killed; make the file larger"
    );
    let after = snapshot(r);
    let is_temp = |p: &Path| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".pxe-kit-tmp")
    };
    let extra: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(
        extra.iter().all(|p| is_temp(p)),
        "non-temp files appeared: {extra:?}"
    );
    assert!(
        !extra.is_empty(),
        "the kill left no temp file: the test did not interrupt a copy"
    );
    for (p, v) in &before {
        assert_eq!(after.get(p), Some(v), "{} changed", p.display());
    }
    // The next run cleans up and completes.
    let out = ok(&run(
        r,
        &[
            "add-image",
            "--name",
            "big",
            "--kernel",
            w.path().join("vmlinuz").to_str().unwrap(),
            "--rootfs",
            big.to_str().unwrap(),
            "--initrd",
            w.path().join("initrd.img").to_str().unwrap(),
        ],
    ));
    assert!(out.contains("leftover temp file"), "{out}");
    let temps: Vec<_> = snapshot(r).into_keys().filter(|p| is_temp(p)).collect();
    assert!(temps.is_empty(), "{temps:?}");
    assert_eq!(sha(&dir.join("squashfs.img")), sha(&big));
}

/// Real ISOs from Debian packages: the reader lists exactly the files xorriso lists, and
/// add-image refuses them (none is a live image) naming what it found.
#[test]
fn third_party_isos_are_read_and_refused() {
    let isos = [
        "/usr/lib/ipxe/ipxe.iso",
        "/usr/lib/grub-rescue/grub-rescue-cdrom.iso",
        "/usr/lib/memtest86+/memtest86+x64.iso",
    ];
    if skip(tools_missing().or_else(|| missing(false, &[], &isos))) {
        return;
    }
    let t = staged_with_config();
    for iso in isos {
        let o = Command::new("xorriso")
            .args(["-no_rc", "-indev", iso, "-find", "/", "-type", "f"])
            .output()
            .unwrap();
        let mut theirs: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim_matches('\'').to_string())
            .collect();
        theirs.sort();
        let f = std::fs::File::open(iso).unwrap();
        let mut reader = pxe_kit::iso9660::Iso::open(f).unwrap();
        // xorriso shows the El Torito boot catalog as a special node, not a file.
        let mut ours: Vec<String> = reader
            .entries()
            .unwrap()
            .into_iter()
            .filter(|e| {
                !e.is_dir && !e.path.ends_with("boot.cat") && !e.path.ends_with("boot.catalog")
            })
            .map(|e| e.path)
            .collect();
        ours.sort();
        assert!(!ours.is_empty(), "{iso}");
        assert_eq!(ours, theirs, "{iso}: file lists differ");
        let before = snapshot(t.path());
        let o = run(t.path(), &["add-image", iso]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{iso}: {e}");
        assert!(
            e.contains("expected LiveOS/squashfs.img") && e.contains("found:"),
            "{iso}: {e}"
        );
        assert_same(&before, &snapshot(t.path()), iso);
    }
}

#[test]
fn erofs_root_is_recognised_by_magic() {
    if skip(tools_missing().or_else(|| missing(false, &["mkfs.erofs"], &[]))) {
        return;
    }
    let t = staged_with_config();
    let w = tempfile::tempdir().unwrap();
    let src = w.path().join("tree");
    std::fs::create_dir_all(src.join("images/pxeboot")).unwrap();
    std::fs::create_dir_all(src.join("LiveOS")).unwrap();
    fake_kernel(&src.join("images/pxeboot/vmlinuz"), "6.9.0-test");
    fake_initrd(&src.join("images/pxeboot/initrd.img"), true);
    let root = w.path().join("root");
    write(&root, "etc/os-release", "ID=erofs\n");
    // Fedora 42 names its EROFS image squashfs.img: the magic decides, not the name.
    sh(Command::new("mkfs.erofs")
        .arg(src.join("LiveOS/squashfs.img"))
        .arg(&root));
    let iso = w.path().join("erofs.iso");
    sh(Command::new("xorriso")
        .args(["-no_rc", "-report_about", "SORRY", "-outdev"])
        .arg(&iso)
        .arg("-map")
        .arg(&src)
        .arg("/"));
    let out = ok(&run(
        t.path(),
        &["add-image", iso.to_str().unwrap(), "--name", "f42"],
    ));
    assert!(out.contains("image f42: EROFS root"), "{out}");
    assert!(read(t.path(), "var/lib/pxe-kit/images/f42.yaml").contains("root_type: erofs"));
}

/// An ISO file name as a download may give it, imported by the real reader without --name:
/// the image name is made of its safe characters, the name shown in the menus stays inert
/// text, grub.cfg passes the real `grub-script-check` and no iPXE line gains a command.
#[test]
fn a_hostile_iso_file_name_stays_inside_the_menu_text() {
    if skip(tools_missing().or_else(|| missing(false, &["grub-script-check"], &[]))) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let work = tempfile::tempdir().unwrap();
    let (iso, _) = make_iso(work.path(), "Fedora ; poweroff ; ", &LORAX, &[], true, true);
    assert!(
        iso.ends_with("Fedora ; poweroff ; .iso"),
        "{}",
        iso.display()
    );
    let out = ok(&run(r, &["add-image", iso.to_str().unwrap()]));
    let name = out
        .lines()
        .find_map(|l| l.strip_prefix("image ")?.split(':').next())
        .expect("add-image names the image")
        .to_string();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{name}"
    );
    if let Err(e) = grub_accepts(&r.join("srv/tftp/grub/grub.cfg")) {
        panic!("{e}\n{}", read(r, "srv/tftp/grub/grub.cfg"));
    }
    let ipxe = read(r, "var/www/html/pxe-kit/ipxe/boot.ipxe");
    for line in ipxe.lines() {
        // iPXE splits a line into commands at `;`, `||` and `&&` words: only pxe-kit's own
        // fallbacks (`|| goto …`) may follow a command.
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            if matches!(*w, ";" | "||" | "&&") {
                assert_eq!(words.get(i + 1), Some(&"goto"), "{line}");
            }
        }
        // The title is text only on an `item` line (or a comment); nowhere else is it a word.
        if !(line.starts_with("item ") || line.starts_with('#')) {
            assert!(!words.contains(&"poweroff"), "{line}");
        }
    }
    let menu = read(r, "srv/tftp/pxelinux.cfg/default");
    assert!(menu.contains(&format!("LABEL {name}")), "{menu}");
}
