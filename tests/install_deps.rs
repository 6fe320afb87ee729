//! `.ci/install-deps --check LAYER` fails when its own result is incomplete, naming what is
//! missing: a package dpkg no longer has (what apt did to the machine image's qemu-utils when
//! qemu-system-x86 came in), and a file a package is installed without. The check runs for
//! real; only dpkg's answer (first case) or the file (second case, hidden under a tmpfs in a
//! mount namespace of the test's own) is taken away.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/install-deps");

fn check(layer: &str, path_first: Option<&Path>, wrap: &[&str]) -> (i32, String) {
    let mut argv: Vec<String> = wrap.iter().map(|s| s.to_string()).collect();
    argv.extend(["bash", SCRIPT, "--check", layer].map(String::from));
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]);
    if let Some(dir) = path_first {
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", dir.display()));
    }
    let o = c.output().unwrap();
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn the_check_names_a_package_dpkg_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("dpkg-query");
    // dpkg as it answers after apt removed a package and kept its configuration.
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a; do last=$a; done\n\
         [ \"$last\" = qemu-utils ] && { printf 'deinstall ok config-files'; exit 0; }\n\
         exec /usr/bin/dpkg-query \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out) = check("demo", Some(dir.path()), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("demo layer incomplete"), "{out}");
    assert!(out.contains("package qemu-utils"), "{out}");
}

#[test]
fn the_check_names_a_file_its_package_lost() {
    let pxelinux = "/usr/lib/PXELINUX/pxelinux.0";
    if skip(missing(true, &["unshare", "dpkg-query"], &[pxelinux])) {
        return;
    }
    // As the layer is now (CI installed it), the check passes...
    let (code, out) = check("demo", None, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("demo layer complete"), "{out}");
    // ...and fails once the file is gone, though dpkg still lists its package.
    let (code, out) = check(
        "demo",
        None,
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs none /usr/lib/PXELINUX && exec \"$@\"",
            "sh",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("/usr/lib/PXELINUX/pxelinux.0 (package pxelinux)"),
        "{out}"
    );
}

#[test]
fn an_unknown_layer_is_refused() {
    let (code, out) = check("everything", None, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("use demo, test or all"), "{out}");
}
