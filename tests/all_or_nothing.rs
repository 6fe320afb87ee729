//! Every changing command is all or nothing: a failure at any step that can fail (a template
//! override that does not render, a DHCP configuration its daemon rejects) ends at exit 2
//! with the tree exactly as it was: no image half-installed, no manifest, no settings, no
//! temporary file left behind.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;

use common::*;

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio", "dhcpd"], &[]))
}

fn server() -> (tempfile::TempDir, tempfile::TempDir) {
    let t = stage_debian();
    ok(&run(t.path(), INIT));
    let w = add_fake_image(t.path(), &["--name", "compute", "--default"]);
    (t, w)
}

/// add-image of the fake image's files under another name.
fn add_second(root: &Path, w: &Path, extra: &[&str]) -> std::process::Output {
    add_image_from(root, w, "second", extra)
}

#[track_caller]
fn refused(o: &std::process::Output, names: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stdout(o));
    let e = stderr(o);
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(e.contains(names), "{e}");
}

#[test]
fn an_override_that_does_not_render_leaves_no_trace_of_the_image() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server();
    let r = t.path();
    // A typo in the user's GRUB menu override: the image files are copied before any menu
    // renders, and must not stay.
    write(
        r,
        "etc/pxe-kit/templates/grub.cfg.j2",
        "{{ header }}\n{% for e in menu.entries %}menuentry {{ e.title | grub_quote }} {\n{% endfo %}\n",
    );
    let before = snapshot(r);
    let o = add_second(r, w.path(), &["--default"]);
    refused(&o, "grub.cfg");
    assert_same(&before, &snapshot(r), "add-image with a broken override");
    assert!(!r.join("srv/tftp/pxe-kit/second").exists());
    assert!(!r.join("var/www/html/pxe-kit/second").exists());
    let images = ok(&run(r, &["images"]));
    assert!(!images.contains("second"), "{images}");
    assert!(read(r, "etc/pxe-kit/pxe-kit.yaml").contains("default: compute"));

    // The same with the override fixed: it all comes in.
    std::fs::remove_file(r.join("etc/pxe-kit/templates/grub.cfg.j2")).unwrap();
    ok(&add_second(r, w.path(), &["--default"]));
    assert!(ok(&run(r, &["images"])).contains("second"));
    assert!(read(r, "srv/tftp/grub/grub.cfg").contains("second"));
    assert!(read(r, "etc/pxe-kit/pxe-kit.yaml").contains("default: second"));
}

#[test]
fn a_dhcp_config_its_daemon_rejects_changes_nothing() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server();
    let r = t.path();
    // An override that renders, into something `dhcpd -t` rejects.
    write(
        r,
        "etc/pxe-kit/templates/dhcpd.conf.j2",
        "{{ header }}\nsubnet {{ server_ip }} netmask {\n",
    );
    let before = snapshot(r);
    let o = run(
        r,
        &[
            "add-host",
            "52:54:00:00:00:09",
            "--ip",
            "10.0.0.29",
            "--image",
            "compute",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_same(&before, &snapshot(r), "add-host with a rejected dhcpd.conf");
    // add-image under the same broken override: nothing of the image either.
    let o = add_second(r, w.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_same(
        &before,
        &snapshot(r),
        "add-image with a rejected dhcpd.conf",
    );
}

#[test]
fn remove_image_under_a_broken_override_keeps_the_image() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server();
    let r = t.path();
    ok(&add_second(r, w.path(), &[]));
    write(
        r,
        "etc/pxe-kit/templates/boot.ipxe.j2",
        "#!ipxe\n{% if %}\n",
    );
    let before = snapshot(r);
    let o = run(r, &["remove-image", "second"]);
    refused(&o, "boot.ipxe");
    assert_same(&before, &snapshot(r), "remove-image with a broken override");
    assert!(ok(&run(r, &["images"])).contains("second"));
}

#[test]
fn remove_image_removes_only_the_images_own_directories() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server();
    let r = t.path();
    ok(&add_second(r, w.path(), &[]));
    // A manifest on disk is input too: one edited (or left by a hostile partner) to name a
    // system file among the image's files.
    let mp = "var/lib/pxe-kit/images/second.yaml";
    let text = read(r, mp).replacen("/srv/tftp/pxe-kit/second/vmlinuz", "/etc/os-release", 1);
    assert!(text.contains("/etc/os-release"), "{text}");
    write(r, mp, &text);
    let os_release = read(r, "etc/os-release");
    ok(&run(r, &["remove-image", "second"]));
    assert_eq!(read(r, "etc/os-release"), os_release);
    assert!(!r.join("srv/tftp/pxe-kit/second").exists());
    assert!(!r.join("var/www/html/pxe-kit/second").exists());
    assert!(!r.join(mp).exists());
}
