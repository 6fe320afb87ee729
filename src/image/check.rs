//! A manifest this server did not write (a partner's, taken in by `sync --accept`) checked as
//! strictly as add-image checks its own input: the name by the image-name rule, every file at
//! the place this server derives from the name and role (never where the manifest says), each
//! role once, well-formed sizes and checksums, kernel arguments by `validate_append`, and no
//! NFS root. The partner's text decides what an image holds, never where anything goes.
use std::path::PathBuf;

use super::{validate_append, Manifest, Role, RootType};
use crate::config::check_image_name;
use crate::distro::Profile;

/// Where this server keeps image `name`'s files, by role (the places add-image imports to).
pub fn image_paths(profile: &Profile, name: &str) -> [(Role, PathBuf); 3] {
    let (tftp_dir, _) = profile.tftp_image_dir(name);
    let http_dir = profile.http_image_dir(name);
    [
        (Role::Kernel, tftp_dir.join("vmlinuz")),
        (Role::Initrd, tftp_dir.join("initrd.img")),
        (Role::Root, http_dir.join("squashfs.img")),
    ]
}

/// The directories image `name` owns on this server: all that removing it may remove.
pub fn image_dirs(profile: &Profile, name: &str) -> [PathBuf; 2] {
    let (tftp_dir, _) = profile.tftp_image_dir(name);
    [tftp_dir, profile.http_image_dir(name)]
}

/// Parses and checks the manifest sent for image `name`; `Err` says what is refused and by
/// which rule, in one line.
pub fn foreign_manifest(text: &[u8], name: &str, profile: &Profile) -> Result<Manifest, String> {
    check_image_name(name).map_err(|e| format!("{e:#}"))?;
    let m: Manifest = serde_yaml::from_slice(text)
        .map_err(|e| format!("its manifest is not a pxe-kit image manifest ({e})"))?;
    if m.name != name {
        return Err(format!(
            "its manifest names image {:?}; a manifest must carry the name it is listed under",
            m.name
        ));
    }
    if m.root_type == RootType::Nfs || m.nfs_export.is_some() {
        return Err("an NFS-root image; NFS roots are not replicated (their trees carry no checksums): add it on each member with `add-image --nfs`".into());
    }
    validate_append(&m.append).map_err(|e| format!("its append: {e:#}"))?;
    check_files(&m, profile)?;
    for (field, value, max) in [
        ("source.name", Some(m.source.name.as_str()), 4096),
        ("source.layout", Some(m.source.layout.as_str()), 64),
        ("kernel_version", m.kernel_version.as_deref(), 128),
        ("initrd_from", Some(m.initrd_from.as_str()), 64),
        ("created", Some(m.created.as_str()), 64),
    ] {
        plain(field, value.unwrap_or(""), max)?;
    }
    for module in m.initrd_modules.iter().flatten() {
        plain("initrd_modules", module, 64)?;
    }
    Ok(m)
}

/// One file per role, each at this server's place for it, with a size and a SHA-256.
fn check_files(m: &Manifest, profile: &Profile) -> Result<(), String> {
    let want = image_paths(profile, &m.name);
    for f in &m.files {
        let Some((_, path)) = want.iter().find(|(r, _)| *r == f.role) else {
            return Err(format!(
                "its manifest lists a {:?} file; an image has a kernel, an initrd and a root image",
                f.role
            ));
        };
        if m.files.iter().filter(|o| o.role == f.role).count() > 1 {
            return Err(format!(
                "its manifest lists {:?} files twice; an image has one of each",
                f.role
            ));
        }
        if f.path != *path {
            return Err(format!(
                "its manifest puts the {:?} file at {}; this server keeps it at {} (only an image's own directories are written; give both members the same tftp_root and http_dir)",
                f.role,
                f.path.display(),
                path.display()
            ));
        }
        if f.size == 0 {
            return Err(format!("{} is empty in its manifest", f.path.display()));
        }
        if f.sha256.len() != 64
            || !f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!(
                "the SHA-256 of {} in its manifest is not 64 lower-case hex digits",
                f.path.display()
            ));
        }
    }
    for (role, _) in &want {
        if m.file(*role).is_none() {
            return Err(format!(
                "its manifest has no {role:?} file; an image needs a kernel, an initrd and a root image"
            ));
        }
    }
    Ok(())
}

/// A text field of one printable line, at most `max` bytes (it is shown in lists and menus).
fn plain(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "its manifest's {field} is {} bytes; at most {max} are taken",
            value.len()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "its manifest's {field} {value:?} holds a control character or newline; it must be one printable line"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distro::Distro;
    use crate::root::{Out, Root};

    fn profile() -> Profile {
        let t = tempfile::tempdir().unwrap();
        let r = Root::new(t.path(), true, Out::default()).unwrap();
        Profile::new(Distro::Debian, None, &r)
    }

    fn text(name: &str, edit: &dyn Fn(&mut Manifest)) -> Vec<u8> {
        let p = profile();
        let mut m = Manifest {
            name: name.into(),
            source: super::super::Source {
                name: "live.iso".into(),
                size: 1,
                layout: "lorax".into(),
            },
            root_type: RootType::Squashfs,
            kernel_version: Some("6.9.0".into()),
            initrd_from: "iso".into(),
            initrd_modules: None,
            append: String::new(),
            created: "2026-01-01T00:00:00Z".into(),
            files: image_paths(&p, name)
                .into_iter()
                .map(|(role, path)| super::super::FileEntry {
                    role,
                    path,
                    size: 4,
                    sha256: "0".repeat(64),
                })
                .collect(),
            nfs_export: None,
        };
        edit(&mut m);
        serde_yaml::to_string(&m).unwrap().into_bytes()
    }

    #[test]
    fn a_sound_manifest_passes_and_each_rule_refuses() {
        let p = profile();
        assert!(foreign_manifest(&text("live", &|_| {}), "live", &p).is_ok());
        let refused = |t: Vec<u8>, name: &str, says: &str| {
            let e = foreign_manifest(&t, name, &p).unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        refused(text("live", &|_| {}), "other", "names image \"live\"");
        refused(text("ipxe", &|_| {}), "ipxe", "reserved");
        refused(
            text("live", &|m| m.files[0].path = "/etc/sudoers.d/x".into()),
            "live",
            "/etc/sudoers.d/x",
        );
        refused(
            text("live", &|m| m.nfs_export = Some("/".into())),
            "live",
            "NFS",
        );
        refused(
            text("live", &|m| m.append = "quiet\nLABEL x".into()),
            "live",
            "append",
        );
        refused(
            text("live", &|m| m.files[1].sha256 = "../x".into()),
            "live",
            "64 lower-case hex",
        );
        refused(
            text("live", &|m| {
                m.files.pop();
            }),
            "live",
            "no Root file",
        );
        refused(
            text("live", &|m| {
                let k = m.files[0].clone();
                m.files.push(k);
            }),
            "live",
            "twice",
        );
        refused(
            text("live", &|m| m.source.name = "a\nb".into()),
            "live",
            "source.name",
        );
        refused(b"name: live\nevil: 1\n".to_vec(), "live", "not a pxe-kit");
    }
}
