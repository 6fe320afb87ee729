//! `doctor`'s menu.grub and menu.ipxe on a staged Debian root: healthy after `init` and
//! `add-image`, and failing, with the override named in the fix, when a template override
//! renders a grub.cfg GRUB cannot parse or an iPXE script that jumps nowhere or comments out
//! its own fallback. An override renders without drift, so config.drift stays ok there: only
//! these checks see such a menu.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::Path;

use common::*;

const GRUB_TEMPLATE: &str = include_str!("../templates/grub.cfg.j2");
const IPXE_TEMPLATE: &str = include_str!("../templates/boot.ipxe.j2");

/// `doctor --json`: exit code and the check `id`'s entry.
fn doctor(root: &Path, id: &str) -> (i32, serde_json::Value) {
    let o = run(root, &["doctor", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}\n{}", stdout(&o), stderr(&o)));
    let c = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {j:#}"))
        .clone();
    (o.status.code().unwrap(), c)
}

fn status(root: &Path, id: &str) -> String {
    doctor(root, id).1["status"].as_str().unwrap().to_string()
}

#[test]
fn doctor_reads_grub_cfg_and_the_ipxe_scripts_as_their_loaders_do() {
    if skip(syslinux_missing().or_else(|| missing(false, &["grub-script-check", "cpio"], &[]))) {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let _w = add_fake_image(r, &["--name", "f42", "--default"]);
    ok(&run(
        r,
        &["add-host", "52:54:00:aa:bb:01", "--image", "f42"],
    ));
    let (code, c) = doctor(r, "menu.grub");
    assert_eq!(c["status"], "ok", "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("grub-script-check passes"),
        "{c:#}"
    );
    let (_, c) = doctor(r, "menu.ipxe");
    assert_eq!(c["status"], "ok", "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 iPXE script(s)"),
        "{c:#}"
    );
    assert_eq!(code, 0);

    // An override whose grub.cfg leaves an `if` open: it renders, init succeeds, and GRUB
    // would stop at it on every UEFI client.
    write(
        r,
        "etc/pxe-kit/templates/grub.cfg.j2",
        &format!("{GRUB_TEMPLATE}\nif [ \"${{net_default_mac}}\" = x ]; then\n    set timeout=1\n"),
    );
    ok(&run(r, &["init"]));
    assert_eq!(status(r, "config.drift"), "ok");
    let (code, c) = doctor(r, "menu.grub");
    assert_eq!(code, 1);
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("GRUB cannot parse /srv/tftp/grub/grub.cfg"),
        "{c:#}"
    );
    assert!(
        c["fix"][0]
            .as_str()
            .unwrap()
            .contains("/etc/pxe-kit/templates/grub.cfg.j2"),
        "{c:#}"
    );
    std::fs::remove_file(r.join("etc/pxe-kit/templates/grub.cfg.j2")).unwrap();
    ok(&run(r, &["init"]));
    assert_eq!(status(r, "menu.grub"), "ok");

    // An override that comments out the menu's fallback and jumps to a label it lacks.
    let broken = IPXE_TEMPLATE
        .replace("|| goto menu", "|| goto mneu")
        .replace(
            "menu {{ menu.title | menu_text }} ||",
            "menu {{ menu.title | menu_text }} #1 ||",
        );
    assert_ne!(broken, IPXE_TEMPLATE);
    write(r, "etc/pxe-kit/templates/boot.ipxe.j2", &broken);
    ok(&run(r, &["init"]));
    assert_eq!(status(r, "config.drift"), "ok");
    let (code, c) = doctor(r, "menu.ipxe");
    assert_eq!(code, 1);
    assert_eq!(c["status"], "fail", "{c:#}");
    let ev = c["evidence"].to_string();
    assert!(ev.contains("no label :mneu"), "{c:#}");
    assert!(
        ev.contains("iPXE ignores everything from \\\"#1\\\""),
        "{c:#}"
    );
    assert!(
        c["fix"][0]
            .as_str()
            .unwrap()
            .contains("/etc/pxe-kit/templates/boot.ipxe.j2"),
        "{c:#}"
    );
    std::fs::remove_file(r.join("etc/pxe-kit/templates/boot.ipxe.j2")).unwrap();
    ok(&run(r, &["init"]));
    assert_eq!(status(r, "menu.ipxe"), "ok");
}
