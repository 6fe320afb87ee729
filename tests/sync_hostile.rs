//! `pxe-kit sync --accept` facing a hostile partner: what a partner's rsync could leave in the
//! staging directory (symbolic links, paths outside the image's directories, names that are
//! paths, NFS exports, kernel arguments that break the menu, manifests whose name is not
//! their own, template sub-directories, templates that do not render) is refused, naming the
//! file and the rule, and the receiver's tree is changed all or nothing. The real rsync fills
//! the staging (through an `ssh` that runs the command here: no sshd needed), then the
//! fixture is tampered with as the partner could, and the receiver's accept runs.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sha2::Digest;

const INC: &str = "var/lib/pxe-kit/sync/incoming";
const INDEX: &str = "var/lib/pxe-kit/sync/incoming/var/lib/pxe-kit/sync/from-primary.json";
const KERNEL: &str = "srv/tftp/pxe-kit/live/vmlinuz";

/// A primary with image `live` (the menu default) and a secondary that has nothing yet.
struct Pair {
    a: tempfile::TempDir,
    b: tempfile::TempDir,
    _inputs: tempfile::TempDir,
    /// The `ssh` that runs the command on this machine.
    ssh: tempfile::TempDir,
}

fn needs() -> bool {
    skip(missing(false, &["rsync", "dhcpd"], &[]).or_else(syslinux_missing))
}

impl Pair {
    fn new() -> Pair {
        let a = pair_member("10.0.0.1", "10.0.0.2", "primary");
        let b = pair_member("10.0.0.2", "10.0.0.1", "secondary");
        let inputs = add_fake_image(a.path(), &["--name", "live", "--default"]);
        let ssh = tempfile::tempdir().unwrap();
        // rsync calls `ssh [-l USER] HOST COMMAND…`, sync's accept `ssh HOST 'COMMAND'`.
        let fake = ssh.path().join("ssh");
        std::fs::write(
            &fake,
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in -l|-o|-p|-i) shift 2;; -*) shift;; *) shift; break;; esac; done\nexec sh -c \"$*\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        Pair {
            a,
            b,
            _inputs: inputs,
            ssh,
        }
    }

    fn a(&self) -> &Path {
        self.a.path()
    }

    fn b(&self) -> &Path {
        self.b.path()
    }

    fn inc(&self, rel: &str) -> PathBuf {
        self.b().join(INC).join(rel)
    }

    /// The primary's `sync` with the real rsync; the partner's accept is `true`, so what
    /// rsync staged stays for the test to tamper with.
    fn send(&self) {
        let o = run(
            self.a(),
            &[
                "sync",
                "root@127.0.0.1",
                "--ssh-command",
                self.ssh.path().join("ssh").to_str().unwrap(),
                "--remote-pxe-kit",
                "true",
                "--remote-root",
                self.b().to_str().unwrap(),
            ],
        );
        ok(&o);
        assert!(self.inc(KERNEL).is_file() || self.b().join(KERNEL).is_file());
    }

    /// The secondary's `sync --accept primary`.
    fn accept(&self) -> Output {
        run(self.b(), &["sync", "--accept", "primary"])
    }

    /// The staged manifest of `live` as YAML, edited, put back under `name` (its path as
    /// the old receiver built it: the name joined to the images directory) with the list
    /// naming it by its new SHA-256.
    fn restage_manifest(&self, name: &str, edit: &dyn Fn(&mut serde_yaml::Value)) {
        let src = self.inc("var/lib/pxe-kit/images/live.yaml");
        let mut m: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
        edit(&mut m);
        let text = serde_yaml::to_string(&m).unwrap();
        let at = Path::new("/var/lib/pxe-kit/images").join(format!("{name}.yaml"));
        let staged = self.b().join(INC).join(at.strip_prefix("/").unwrap());
        std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
        std::fs::write(&staged, &text).unwrap();
        let idx = self.b().join(INDEX);
        let mut list: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&idx).unwrap()).unwrap();
        list["images"][name] = hex::encode(sha2::Sha256::digest(text.as_bytes())).into();
        std::fs::write(&idx, serde_json::to_string(&list).unwrap()).unwrap();
    }

    /// Turns on `peers.accept_templates` in the secondary's settings.
    fn opt_in_templates(&self) {
        let p = self.b().join("etc/pxe-kit/pxe-kit.yaml");
        let mut v: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["peers"]["accept_templates"] = true.into();
        std::fs::write(&p, serde_yaml::to_string(&v).unwrap()).unwrap();
    }
}

/// Exit code, stdout and stderr together.
fn outcome(o: &Output) -> (i32, String) {
    (
        o.status.code().unwrap_or(-1),
        format!("{}{}", stdout(o), stderr(o)),
    )
}

/// Every path under `root` but the staging directory: its kind, mode and content (a
/// symbolic link's target). Equal trees mean nothing was changed.
fn tree(root: &Path) -> BTreeMap<PathBuf, (String, u32, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| !e.path().ends_with(INC))
        .map(|e| e.unwrap())
        .map(|e| {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let (kind, content) = if m.file_type().is_symlink() {
                (
                    "link",
                    std::fs::read_link(e.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if m.is_dir() {
                ("dir", Vec::new())
            } else {
                (
                    "file",
                    sha2::Sha256::digest(std::fs::read(e.path()).unwrap()).to_vec(),
                )
            };
            (
                e.path().strip_prefix(root).unwrap().to_path_buf(),
                (kind.to_string(), m.permissions().mode(), content),
            )
        })
        .collect()
}

#[track_caller]
fn assert_tree_same(before: &BTreeMap<PathBuf, (String, u32, Vec<u8>)>, root: &Path) {
    let after = tree(root);
    let mut diffs: Vec<String> = Vec::new();
    for (p, v) in before {
        match after.get(p) {
            None => diffs.push(format!("removed {}", p.display())),
            Some(a) if a != v => diffs.push(format!("changed {}", p.display())),
            _ => {}
        }
    }
    diffs.extend(
        after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .map(|p| format!("added {}", p.display())),
    );
    assert!(diffs.is_empty(), "the receiver's tree changed: {diffs:?}");
}

/// Whether any regular file under `root` holds `needle`.
fn any_file_holds(root: &Path, needle: &[u8]) -> Option<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .find(|e| {
            std::fs::read(e.path())
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .map(|e| e.path().to_path_buf())
}

/// A file named `name` anywhere under `root`.
fn any_named(root: &Path, name: &str) -> Option<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .find(|e| e.file_name() == name)
        .map(|e| e.path().to_path_buf())
}

/// A 0600 file outside the staging, and the manifest's kernel entry made to match it.
fn secret_kernel(p: &Pair) -> (tempfile::TempDir, PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("shadow");
    std::fs::write(&secret, b"root:SECRET-HASH:19000:0:99999:7:::\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bytes = std::fs::read(&secret).unwrap();
    let sum = hex::encode(sha2::Sha256::digest(&bytes));
    p.restage_manifest("live", &|m| {
        let f = &mut m["files"][0];
        assert_eq!(f["role"], "kernel");
        f["sha256"] = sum.clone().into();
        f["size"] = (bytes.len() as u64).into();
    });
    (outside, secret)
}

#[test]
fn a_staged_kernel_that_links_to_a_private_file_is_refused_and_nothing_is_published() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    let (_outside, secret) = secret_kernel(&p);
    std::fs::remove_file(p.inc(KERNEL)).unwrap();
    symlink(&secret, p.inc(KERNEL)).unwrap();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused: live:") && out.contains("vmlinuz: reached through a symbolic link"),
        "{out}"
    );
    assert!(
        !p.b().join(KERNEL).exists(),
        "the link's target was published"
    );
    assert_eq!(any_file_holds(p.b(), b"SECRET-HASH"), None);
    assert!(!p.inc("").exists(), "staging cleaned");
}

#[test]
fn a_staged_image_directory_that_is_a_link_is_refused() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    let (outside, _secret) = secret_kernel(&p);
    // The whole directory is a link to one holding the secret as vmlinuz and the real rest.
    let dir = p.inc("srv/tftp/pxe-kit/live");
    std::fs::rename(
        p.inc("srv/tftp/pxe-kit/live/initrd.img"),
        outside.path().join("initrd.img"),
    )
    .unwrap();
    std::fs::rename(
        outside.path().join("shadow"),
        outside.path().join("vmlinuz"),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    symlink(outside.path(), &dir).unwrap();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("reached through a symbolic link"), "{out}");
    assert!(!p.b().join(KERNEL).exists());
    assert_eq!(any_file_holds(p.b(), b"SECRET-HASH"), None);
}

#[test]
fn manifest_paths_outside_the_image_are_refused() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    std::fs::create_dir_all(p.inc("etc/sudoers.d")).unwrap();
    std::fs::copy(p.inc(KERNEL), p.inc("etc/sudoers.d/x")).unwrap();
    p.restage_manifest("live", &|m| {
        m["files"][0]["path"] = "/etc/sudoers.d/x".into()
    });
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused: live:")
            && out.contains("/etc/sudoers.d/x")
            && out.contains("this server keeps it at /srv/tftp/pxe-kit/live/vmlinuz"),
        "{out}"
    );
    assert!(!p.b().join("etc/sudoers.d/x").exists());
    assert!(!p.b().join("var/lib/pxe-kit/images/live.yaml").exists());
}

#[test]
fn dropping_an_image_removes_only_its_own_directories() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 0, "{out}");
    assert!(p.b().join(KERNEL).is_file());
    // The manifest on the receiver names a system file (an older release took it as sent).
    let mp = p.b().join("var/lib/pxe-kit/images/live.yaml");
    let text = std::fs::read_to_string(&mp).unwrap();
    std::fs::write(
        &mp,
        text.replace("/srv/tftp/pxe-kit/live/vmlinuz", "/etc/os-release"),
    )
    .unwrap();
    let os_release = std::fs::read(p.b().join("etc/os-release")).unwrap();
    ok(&run(p.a(), &["remove-image", "live"]));
    p.send();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("removed live"), "{out}");
    assert_eq!(
        std::fs::read(p.b().join("etc/os-release")).unwrap(),
        os_release,
        "a file the old manifest named outside the image was removed"
    );
    assert!(!mp.exists() && !p.b().join("srv/tftp/pxe-kit/live").exists());
    assert_eq!(
        any_named(p.b(), "squashfs.img"),
        None,
        "the image's files went"
    );
}

#[test]
fn index_names_that_are_paths_or_reserved_are_refused() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    for name in ["/etc/apache2/conf-enabled/x", "../x", "ipxe", "a-partner"] {
        p.restage_manifest(name, &|m| m["name"] = name.into());
    }
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    for (name, rule) in [
        ("/etc/apache2/conf-enabled/x", "is not usable"),
        ("../x", "is not usable"),
        ("ipxe", "is reserved"),
        ("a-partner", "is reserved"),
    ] {
        assert!(
            out.contains(&format!("refused: {name}: image name {name:?} {rule}")),
            "{name}: {out}"
        );
    }
    assert!(
        out.contains("accepted from the primary: images live"),
        "{out}"
    );
    for f in [
        "etc/apache2/conf-enabled/x.yaml",
        "var/lib/pxe-kit/x.yaml",
        "var/lib/pxe-kit/images/x.yaml",
        "var/lib/pxe-kit/images/ipxe.yaml",
        "var/lib/pxe-kit/images/a-partner.yaml",
    ] {
        assert!(!p.b().join(f).exists(), "{f} was written");
    }
    ok(&run(p.b(), &["images"]));
}

#[test]
fn nfs_exports_and_bad_kernel_arguments_are_refused() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    p.restage_manifest("live", &|m| m["nfs_export"] = "/".into());
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused: live: an NFS-root image; NFS roots are not replicated"),
        "{out}"
    );
    let exports = std::fs::read_to_string(p.b().join("etc/exports")).unwrap_or_default();
    assert!(!exports.contains("no_root_squash"), "{exports}");
    assert!(!p.b().join("var/lib/pxe-kit/images/live.yaml").exists());

    p.send();
    p.restage_manifest("live", &|m| {
        m["append"] = "quiet\nLABEL evil\nKERNEL http://x/e".into()
    });
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused: live: its append:"), "{out}");
    let menu = std::fs::read_to_string(p.b().join("srv/tftp/pxelinux.cfg/default")).unwrap();
    assert!(!menu.contains("evil"), "{menu}");

    // One line that every iPXE client would run as a second command.
    p.send();
    p.restage_manifest("live", &|m| m["append"] = "quiet ; poweroff".into());
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused: live: its append:"), "{out}");
    let ipxe = std::fs::read_to_string(p.b().join("var/www/html/pxe-kit/ipxe/boot.ipxe"))
        .unwrap_or_default();
    assert!(!ipxe.contains("poweroff"), "{ipxe}");
}

#[test]
fn a_manifest_named_other_than_its_entry_is_refused_and_images_still_lists() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    p.restage_manifest("live", &|m| m["name"] = "other".into());
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("refused: live: its manifest names image \"other\""),
        "{out}"
    );
    ok(&run(p.b(), &["images"]));
    assert!(!p.b().join("var/lib/pxe-kit/images/live.yaml").exists());
}

#[test]
fn the_partners_settings_cannot_move_the_receivers_files_or_firewall() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.send();
    let sp = p.inc("var/lib/pxe-kit/sync/from-primary.yaml");
    let mut v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&sp).unwrap()).unwrap();
    v["tftp_root"] = "/srv/evil-tftp".into();
    v["http_dir"] = "/srv/evil-http".into();
    v["firewall"] = serde_yaml::from_str("services: [telnet]").unwrap();
    std::fs::write(&sp, serde_yaml::to_string(&v).unwrap()).unwrap();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 0, "{out}");
    let settings = read(p.b(), "etc/pxe-kit/pxe-kit.yaml");
    assert!(
        !settings.contains("evil") && !settings.contains("telnet"),
        "{settings}"
    );
    assert!(!p.b().join("srv/evil-tftp").exists() && !p.b().join("srv/evil-http").exists());
    assert!(p.b().join(KERNEL).is_file());

    // A system directory is refused outright, as in this server's own settings.
    p.send();
    let mut v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&sp).unwrap()).unwrap();
    v["http_dir"] = "/etc/apache2".into();
    std::fs::write(&sp, serde_yaml::to_string(&v).unwrap()).unwrap();
    let before = tree(p.b());
    let o = p.accept();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("http_dir /etc/apache2"),
        "{}",
        stderr(&o)
    );
    assert!(
        tree(p.b()) == before,
        "settings naming /etc changed the receiver"
    );
}

#[test]
fn templates_without_the_opt_in_are_ignored_and_a_sub_directory_blocks_nothing() {
    if needs() {
        return;
    }
    let p = Pair::new();
    // The sender's own templates directory holds a sub-directory and a backup: not sent.
    write(p.a(), "etc/pxe-kit/templates/old/pxelinux.cfg.j2", "x");
    write(p.a(), "etc/pxe-kit/templates/pxelinux.cfg.j2.bak", "x");
    p.send();
    assert!(!p.inc("etc/pxe-kit/templates/old").exists());
    assert!(!p.inc("etc/pxe-kit/templates/pxelinux.cfg.j2.bak").exists());
    // What an older sender (or a hostile one) stages anyway.
    std::fs::create_dir_all(p.inc("etc/pxe-kit/templates/old")).unwrap();
    std::fs::write(
        p.inc("etc/pxe-kit/templates/pxelinux.cfg.j2"),
        "# PARTNER-TEMPLATE\n",
    )
    .unwrap();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ignored: the partner's template overrides (old, pxelinux.cfg.j2)"),
        "{out}"
    );
    assert!(!p.b().join("etc/pxe-kit/templates").exists());
    assert!(!read(p.b(), "srv/tftp/pxelinux.cfg/default").contains("PARTNER-TEMPLATE"));
    assert!(p.b().join(KERNEL).is_file(), "the image was taken");
}

#[test]
fn with_the_opt_in_a_template_sub_directory_is_refused_and_nothing_changes() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.opt_in_templates();
    p.send();
    std::fs::create_dir_all(p.inc("etc/pxe-kit/templates/old")).unwrap();
    let before = tree(p.b());
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("templates/old: not a regular file; only regular files are taken"),
        "{out}"
    );
    assert_tree_same(&before, p.b());
    assert!(!p.inc("").exists(), "staging cleaned");

    // An unknown name and a link are refused the same way.
    for (name, make) in [
        (
            "evil.conf",
            &(|f: &Path| std::fs::write(f, "x").unwrap()) as &dyn Fn(&Path),
        ),
        ("dhcpd.conf.j2", &|f: &Path| {
            symlink("/etc/shadow", f).unwrap()
        }),
    ] {
        p.send();
        let f = p.inc("etc/pxe-kit/templates").join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        make(&f);
        let (code, out) = outcome(&p.accept());
        assert_eq!(code, 2, "{name}: {out}");
        assert!(
            out.contains(&format!("templates/{name}")) && out.contains("nothing was changed"),
            "{name}: {out}"
        );
        assert_tree_same(&before, p.b());
    }
}

#[test]
fn with_the_opt_in_a_template_that_does_not_render_changes_nothing() {
    if needs() {
        return;
    }
    let p = Pair::new();
    p.opt_in_templates();
    p.send();
    std::fs::create_dir_all(p.inc("etc/pxe-kit/templates")).unwrap();
    std::fs::write(
        p.inc("etc/pxe-kit/templates/pxelinux.cfg.j2"),
        "{% if %}broken\n",
    )
    .unwrap();
    let before = tree(p.b());
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("pxelinux.cfg.j2"), "{out}");
    assert_tree_same(&before, p.b());
    assert!(!p.inc("").exists(), "staging cleaned");

    // A template that renders is taken, with the images, in the same accept.
    p.send();
    let own = read(p.a(), "srv/tftp/pxelinux.cfg/default");
    assert!(own.contains("LABEL live"));
    let builtin = include_str!("../templates/pxelinux.cfg.j2");
    std::fs::create_dir_all(p.inc("etc/pxe-kit/templates")).unwrap();
    std::fs::write(
        p.inc("etc/pxe-kit/templates/pxelinux.cfg.j2"),
        format!("# PARTNER-TEMPLATE\n{builtin}"),
    )
    .unwrap();
    let (code, out) = outcome(&p.accept());
    assert_eq!(code, 0, "{out}");
    assert!(read(p.b(), "srv/tftp/pxelinux.cfg/default").contains("PARTNER-TEMPLATE"));
    assert!(read(p.b(), "etc/pxe-kit/templates/pxelinux.cfg.j2").contains("PARTNER-TEMPLATE"));
    assert!(p.b().join(KERNEL).is_file());
}
