//! Image checks: every manifest's files are there with their recorded size (and with --deep
//! their SHA-256), and the TFTP and HTTP directories have room left.
use std::path::Path;

use super::{Check, Env, Finding};
use crate::image::Manifest;
use crate::need;
use crate::progress::Progress;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "images.integrity",
            title: "image files match their manifests",
            run: integrity,
        },
        Check {
            id: "images.space",
            title: "TFTP and HTTP directories have free space",
            run: space,
        },
    ]
}

/// Warn below this much free space where images are written.
pub const LOW_SPACE: u64 = 1 << 30;

/// Compares manifests with what is on disk (pure but for `stat`/`hash`, which tests fake):
/// `stat` gives a file's size, `hash` its SHA-256 (called only when `deep`).
pub fn judge_images(
    images: &[Manifest],
    deep: bool,
    stat: &dyn Fn(&Path) -> Option<u64>,
    hash: &dyn Fn(&Path) -> Result<String, String>,
) -> (Vec<String>, Vec<String>) {
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    for m in images {
        let mut ok = true;
        for f in &m.files {
            let size = stat(&f.path);
            match f.size_problem(size) {
                Some(why) => {
                    bad.push(format!("{}: {why}", m.name));
                    ok = false;
                }
                None if deep => match hash(&f.path) {
                    Ok(h) if h == f.sha256 => {}
                    Ok(_) => {
                        bad.push(format!("{}: SHA-256 of {} differs from the manifest (same size: corrupted in place)", m.name, f.path.display()));
                        ok = false;
                    }
                    Err(e) => {
                        bad.push(format!("{}: {e}", m.name));
                        ok = false;
                    }
                },
                None => {}
            }
        }
        if ok {
            ev.push(format!(
                "{}: {} files {}",
                m.name,
                m.files.len(),
                if deep {
                    "match size and SHA-256"
                } else {
                    "match size"
                }
            ));
        }
    }
    (bad, ev)
}

fn integrity(env: &Env) -> Finding {
    let images = need!(env.images());
    if images.is_empty() {
        return Finding::ok("no images imported yet");
    }
    let root = &env.ctx.root;
    // Saturating: a manifest (a partner's, an edited one) may claim any sizes.
    let total = images
        .iter()
        .flat_map(|m| &m.files)
        .fold(0u64, |a, f| a.saturating_add(f.size));
    // Progress only for --deep: it is the one slow thing doctor does.
    let bar = if env.deep {
        Progress::bytes(env.ctx.out, total, "hashing images")
    } else {
        Progress::hidden()
    };
    let stat = |p: &Path| {
        std::fs::metadata(root.path(p))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    let hash = |p: &Path| {
        crate::copyhash::hash_file(&root.path(p), &|n| bar.inc(n))
            .map(|c| c.hex())
            .map_err(|e| format!("{e:#}"))
    };
    let (bad, ev) = judge_images(images, env.deep, &stat, &hash);
    bar.finish();
    if bad.is_empty() {
        let how = if env.deep {
            "size and SHA-256"
        } else {
            "size (--deep also hashes)"
        };
        return Finding::ok(format!(
            "{} image(s), {} files: {how} match",
            images.len(),
            images.iter().map(|m| m.files.len()).sum::<usize>()
        ))
        .with_evidence(ev);
    }
    Finding::fail(
        format!("{} image file problem(s): {}", bad.len(), bad[0]),
        vec![format!(
            "re-import the damaged image: {pk} remove-image NAME && {pk} add-image ISO --name NAME",
            pk = env.pxe_kit()
        )],
    )
    .with_evidence(bad)
}

/// Free bytes for unprivileged writers on the filesystem holding `p`.
pub fn free_bytes(p: &Path) -> Result<u64, String> {
    let st = nix::sys::statvfs::statvfs(p).map_err(|e| format!("statvfs {}: {e}", p.display()))?;
    Ok(st.blocks_available() as u64 * st.fragment_size() as u64)
}

pub fn judge_space(dirs: &[(String, Result<u64, String>)]) -> Finding {
    let mut ev = Vec::new();
    let mut low = Vec::new();
    for (d, r) in dirs {
        match r {
            Ok(b) => {
                ev.push(format!(
                    "{d}: {:.1} GiB free",
                    *b as f64 / (1u64 << 30) as f64
                ));
                if *b < LOW_SPACE {
                    low.push(format!("{d} has {} MiB free", b >> 20));
                }
            }
            Err(e) => low.push(e.clone()),
        }
    }
    if low.is_empty() {
        return Finding::ok(ev.join("; ")).with_evidence(ev);
    }
    Finding::warn(
        format!("low space: {} (an image import needs its root image's size, often 1-3 GiB)", low.join("; ")),
        vec!["free space there (remove unused images: pxe-kit images, pxe-kit remove-image NAME) or move tftp_root/http_dir in the settings".into()],
    )
    .with_evidence(ev)
}

fn space(env: &Env) -> Finding {
    let mut dirs = Vec::new();
    for d in [&env.profile.tftp_root, &env.profile.http_dir] {
        // The directory may not exist yet: measure its nearest existing parent.
        let mut p = env.ctx.root.path(d);
        while !p.exists() {
            if !p.pop() {
                break;
            }
        }
        dirs.push((d.display().to_string(), free_bytes(&p)));
    }
    judge_space(&dirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::image::{FileEntry, Role, RootType, Source};

    fn manifest() -> Manifest {
        Manifest {
            name: "f42".into(),
            source: Source {
                name: "f42.iso".into(),
                size: 1,
                layout: String::new(),
            },
            root_type: RootType::Squashfs,
            kernel_version: None,
            initrd_from: "iso".into(),
            initrd_modules: None,
            append: String::new(),
            created: "now".into(),
            files: vec![
                FileEntry {
                    role: Role::Kernel,
                    path: "/k".into(),
                    size: 10,
                    sha256: "aa".into(),
                },
                FileEntry {
                    role: Role::Root,
                    path: "/r".into(),
                    size: 20,
                    sha256: "bb".into(),
                },
            ],
            nfs_export: None,
        }
    }

    #[test]
    fn quick_catches_size_deep_catches_bytes() {
        let m = [manifest()];
        let sizes = |p: &Path| Some(if p == Path::new("/k") { 10 } else { 20 });
        let good_hash = |p: &Path| {
            Ok::<_, String>(if p == Path::new("/k") {
                "aa".into()
            } else {
                "bb".into()
            })
        };
        let bad_hash = |p: &Path| {
            Ok::<_, String>(if p == Path::new("/k") {
                "aa".into()
            } else {
                "cc".into()
            })
        };
        assert!(
            judge_images(&m, false, &sizes, &bad_hash).0.is_empty(),
            "quick does not hash"
        );
        assert!(judge_images(&m, true, &sizes, &good_hash).0.is_empty());
        let (bad, _) = judge_images(&m, true, &sizes, &bad_hash);
        assert!(bad[0].contains("SHA-256 of /r"), "{bad:?}");
        let short = |p: &Path| Some(if p == Path::new("/k") { 10 } else { 19 });
        let (bad, _) = judge_images(&m, false, &short, &good_hash);
        assert!(
            bad[0].contains("size of /r is 19 bytes, the manifest says 20"),
            "{bad:?}"
        );
        let gone = |_: &Path| None;
        assert!(judge_images(&m, false, &gone, &good_hash).0[0].contains("missing"));
    }

    #[test]
    fn space_warns_under_a_gib() {
        assert_eq!(
            judge_space(&[("/srv/tftp".into(), Ok(5 << 30))]).status,
            Status::Ok
        );
        let low = judge_space(&[("/srv/tftp".into(), Ok(100 << 20))]);
        assert_eq!(low.status, Status::Warn);
        assert!(low.summary.contains("100 MiB"), "{}", low.summary);
        assert!(free_bytes(Path::new("/")).unwrap() > 0);
    }
}
