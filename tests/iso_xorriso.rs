//! Reads ISO images mastered by the real xorriso and checks every file byte for byte.
//!
//! Without xorriso the tests skip with the reason (and fail under `CI=true`).
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use pxe_kit::copyhash::{copy_hashed, hash_file};
use pxe_kit::iso9660::{Entry, Iso, NameKind};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn have_xorriso() -> bool {
    !common::skip(common::missing(false, &["xorriso"], &[]))
}

/// Deterministic, incompressible-looking content so a misplaced block cannot go unnoticed.
fn write_pattern(path: &Path, len: usize, seed: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    fs::write(path, data).unwrap();
}

/// Runs xorriso with `settings` (name options) to master `src` into `iso`.
fn master(src: &Path, iso: &Path, volid: &str, settings: &[&str]) {
    let out = Command::new("xorriso")
        .args(["-report_about", "SORRY"])
        .args(settings)
        .arg("-outdev")
        .arg(iso)
        .args(["-volid", volid])
        .arg("-map")
        .arg(src)
        .args(["/", "-commit", "-end"])
        .output()
        .expect("running xorriso");
    assert!(
        out.status.success(),
        "xorriso failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Extracts `entry` through the reader into `dir` and checks size and SHA-256 against the
/// original file.
fn check_file(iso: &mut Iso<File>, entry: &Entry, original: &Path, dir: &Path) {
    let want = hash_file(original, &|_| {}).unwrap();
    assert_eq!(entry.size, want.size, "size of {}", entry.path);
    let dest = dir.join("extracted");
    let mut reader = iso.open_file(entry).unwrap();
    let got = copy_hashed(&mut reader, Some(entry.size), &dest, &|_| {}).unwrap();
    assert_eq!(got, want, "digest of {}", entry.path);
    assert!(fs::read(&dest).unwrap() == fs::read(original).unwrap());
    fs::remove_file(dest).unwrap();
}

struct Layout {
    files: Vec<(&'static str, usize)>,
}

fn make_tree(root: &Path, layout: &Layout) {
    for (i, (path, len)) in layout.files.iter().enumerate() {
        write_pattern(&root.join(path), *len, i as u64 + 1);
    }
}

fn lorax() -> Layout {
    Layout {
        files: vec![
            ("images/pxeboot/vmlinuz", 3 * 1024 * 1024 + 17),
            ("images/pxeboot/initrd.img", 9 * 1024 * 1024 + 4095),
            ("LiveOS/squashfs.img", 24 * 1024 * 1024 + 1),
            ("EFI/BOOT/grub.cfg", 1234),
        ],
    }
}

fn kiwi() -> Layout {
    Layout {
        files: vec![
            ("boot/x86_64/loader/linux", 2 * 1024 * 1024 + 3),
            ("boot/x86_64/loader/initrd", 7 * 1024 * 1024 + 511),
            ("LiveOS/squashfs.img", 16 * 1024 * 1024),
            ("boot/x86_64/loader/isolinux.cfg", 300),
        ],
    }
}

/// Masters `layout`, opens the image and checks the name kind, the listing and every file.
fn roundtrip(layout: &Layout, settings: &[&str], kind: NameKind, upper: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src, layout);
    let iso_path = tmp.path().join("test.iso");
    master(&src, &iso_path, "PXEKIT_TEST", settings);

    let mut iso = Iso::open(File::open(&iso_path).unwrap()).unwrap();
    assert_eq!(iso.name_kind(), kind);
    assert_eq!(iso.volume_id(), "PXEKIT_TEST");
    assert_eq!(iso.image_len(), fs::metadata(&iso_path).unwrap().len());
    let entries = iso.entries().unwrap();
    let files: Vec<&Entry> = entries.iter().filter(|e| !e.is_dir).collect();
    assert_eq!(files.len(), layout.files.len(), "{entries:#?}");

    for (path, _) in &layout.files {
        let wanted = if upper {
            format!("/{}", path.to_uppercase())
        } else {
            format!("/{path}")
        };
        let entry = if upper {
            assert!(
                iso.find(&format!("/{path}")).unwrap().is_none(),
                "plain names should be upper case"
            );
            iso.find_ci(&format!("/{path}")).unwrap()
        } else {
            iso.find(&format!("/{path}")).unwrap()
        };
        let entry = entry.unwrap_or_else(|| panic!("{path} not found in {entries:#?}"));
        assert_eq!(entry.path, wanted);
        assert!(entries.contains(&entry));
        check_file(&mut iso, &entry, &src.join(path), tmp.path());
    }
    // Directories come before their contents, siblings in name order.
    for w in entries.windows(2) {
        let (a, b) = (&w[0].path, &w[1].path);
        let parent = |p: &str| p.rsplit_once('/').map(|x| x.0.to_string()).unwrap();
        if parent(a) == parent(b) {
            assert!(a < b, "{a} listed before {b}");
        }
    }
}

#[test]
fn fedora_lorax_layout_with_rock_ridge() {
    if !have_xorriso() {
        return;
    }
    roundtrip(&lorax(), &[], NameKind::RockRidge, false);
}

#[test]
fn kiwi_layout_with_rock_ridge() {
    if !have_xorriso() {
        return;
    }
    roundtrip(&kiwi(), &[], NameKind::RockRidge, false);
}

#[test]
fn rock_ridge_preferred_over_joliet() {
    if !have_xorriso() {
        return;
    }
    roundtrip(&lorax(), &["-joliet", "on"], NameKind::RockRidge, false);
}

#[test]
fn joliet_only_names() {
    if !have_xorriso() {
        return;
    }
    roundtrip(
        &lorax(),
        &["-rockridge", "off", "-joliet", "on"],
        NameKind::Joliet,
        false,
    );
}

#[test]
fn plain_iso9660_names_are_upper_case() {
    if !have_xorriso() {
        return;
    }
    roundtrip(
        &kiwi(),
        &["-rockridge", "off", "-joliet", "off"],
        NameKind::Plain,
        true,
    );
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// (start LBA, blocks) of every extent xorriso reports for `path`.
fn xorriso_extents(iso: &Path, path: &str) -> Vec<(u64, u64)> {
    let out = Command::new("xorriso")
        .args(["-report_about", "SORRY", "-indev"])
        .arg(iso)
        .args(["-find", path, "-exec", "report_lba", "--"])
        .output()
        .expect("running xorriso");
    assert!(out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| l.starts_with("File data lba:"))
        .map(|l| {
            let f: Vec<&str> = l["File data lba:".len()..]
                .split(',')
                .map(str::trim)
                .collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn multi_extent_file_over_4gib() {
    if !have_xorriso() {
        return;
    }
    const BIG: u64 = (4 << 30) + (1 << 20);
    // The image is over 4 GiB of real data, so keep it off a possible tmpfs /tmp.
    let tmp = tempfile::Builder::new()
        .prefix("pxe-kit-iso-test")
        .tempdir_in("/var/tmp")
        .unwrap();
    let src = tmp.path().join("src");
    write_pattern(&src.join("images/pxeboot/vmlinuz"), 100_000, 7);
    let big = src.join("LiveOS/squashfs.img");
    fs::create_dir_all(big.parent().unwrap()).unwrap();
    {
        // Sparse, with marks around the 4 GiB extent limit and the ends.
        let mut f = File::create(&big).unwrap();
        f.set_len(BIG).unwrap();
        for (i, at) in [0, 1 << 30, (4 << 30) - 2048 - 3, 4 << 30, BIG - 32]
            .into_iter()
            .enumerate()
        {
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(format!("mark{i:03}@{at:012}").as_bytes())
                .unwrap();
        }
    }
    let iso_path = tmp.path().join("big.iso");
    master(
        &src,
        &iso_path,
        "PXEKIT_TEST",
        &["-compliance", "iso_9660_level=3"],
    );
    fs::remove_dir_all(src.join("images")).unwrap();

    let mut iso = Iso::open(File::open(&iso_path).unwrap()).unwrap();
    assert_eq!(iso.name_kind(), NameKind::RockRidge);
    let e = iso.find("/LiveOS/squashfs.img").unwrap().unwrap();
    assert_eq!(e.size, BIG);

    let xo = xorriso_extents(&iso_path, "/LiveOS/squashfs.img");
    assert!(xo.len() > 1, "xorriso reports a single extent: {xo:?}");
    let ours: Vec<u64> = e.extents.iter().map(|x| x.offset / 2048).collect();
    let theirs: Vec<u64> = xo.iter().map(|x| x.0).collect();
    assert_eq!(ours, theirs);
    assert_eq!(e.extents.iter().map(|x| x.len).sum::<u64>(), BIG);

    // Compare byte for byte with the original rather than by digest: hashing 8 GiB is
    // slow in an unoptimised test build, and a direct comparison also pinpoints the offset.
    let mut orig = File::open(&big).unwrap();
    let mut r = iso.open_file(&e).unwrap();
    let mut a = vec![0u8; 4 << 20];
    let mut b = vec![0u8; 4 << 20];
    let mut n = 0u64;
    loop {
        let k = read_full(&mut r, &mut a);
        let m = read_full(&mut orig, &mut b[..k.max(1)]);
        assert_eq!(k, m, "length differs at byte {n}");
        if k == 0 {
            break;
        }
        if a[..k] != b[..k] {
            let i = a[..k]
                .iter()
                .zip(&b[..k])
                .position(|(x, y)| x != y)
                .unwrap();
            panic!("content differs at byte {}", n + i as u64);
        }
        n += k as u64;
    }
    assert_eq!(n, BIG);
    drop(iso);
    let keep: PathBuf = tmp.path().to_path_buf();
    tmp.close().unwrap();
    assert!(!keep.exists());
}
