//! Names pxe-kit keeps for itself beside the images (`ipxe`, the iPXE scripts' directory;
//! `local` and `menu`, menu labels; `*-partner`, a pair's fallback labels) are refused as
//! image and host names, and an image manifest an older release let take one is never
//! served or removed as an image.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use common::*;

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio", "dhcpd"], &[]))
}

#[track_caller]
fn refused(o: &std::process::Output, names: &[&str]) {
    assert_eq!(o.status.code(), Some(2), "{}", stdout(o));
    let e = stderr(o);
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    for n in names {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
}

#[test]
fn reserved_names_are_refused_and_nothing_changes() {
    if skip(tools_missing()) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let w = add_fake_image(r, &["--name", "compute"]);
    ok(&run(
        r,
        &["add-host", "52:54:00:00:00:01", "--image", "compute"],
    ));
    let before = snapshot(r);
    for name in ["ipxe", "IPXE", "menu", "local", "compute-partner"] {
        let o = add_image_from(r, w.path(), name, &[]);
        refused(&o, &["--name", name, "reserved"]);
        assert_same(&before, &snapshot(r), name);
    }
    let o = run(
        r,
        &[
            "add-host",
            "52:54:00:00:00:02",
            "--hostname",
            "ipxe",
            "--image",
            "compute",
        ],
    );
    refused(&o, &["hostname", "ipxe", "reserved"]);
    assert_same(&before, &snapshot(r), "hostname ipxe");

    // A manifest named like pxe-kit's own directory (an older release took it): not an image.
    write(
        r,
        "var/lib/pxe-kit/images/ipxe.yaml",
        &read(r, "var/lib/pxe-kit/images/compute.yaml").replace("name: compute", "name: ipxe"),
    );
    let before = snapshot(r);
    let o = run(r, &["remove-image", "ipxe"]);
    refused(&o, &["ipxe", "reserved"]);
    assert_same(&before, &snapshot(r), "remove-image ipxe");
    assert!(r.join("var/www/html/pxe-kit/ipxe/boot.ipxe").is_file());
    let images = ok(&run(r, &["images"]));
    assert!(!images.contains("ipxe"), "{images}");
    // And init renders no menu entry for it.
    ok(&run(r, &["init"]));
    assert!(!read(r, "srv/tftp/pxelinux.cfg/default").contains("LABEL ipxe"));
    assert!(
        r.join("var/www/html/pxe-kit/ipxe/hosts")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
}
