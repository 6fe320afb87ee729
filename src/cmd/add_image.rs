//! `pxe-kit add-image`: import a live ISO (read directly, no loop mount) or a kernel + root
//! tree as a bootable image: files into the TFTP and HTTP trees, a manifest, a menu entry.
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::apply;
use crate::cli::AddImageArgs;
use crate::config::{valid_name, Config};
use crate::copyhash::{self, Copied, TMP_PREFIX};
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::image::{self, FileEntry, Manifest, Role, RootType, Source};
use crate::initrd;
use crate::iso9660::{Entry, Iso};
use crate::plan;
use crate::progress::Progress;
use crate::render::Templates;
use crate::runner::{Cmd, Kind};
use crate::Exit;

/// Where an ISO keeps its kernel and initramfs, by layout name.
const KERNEL_LAYOUTS: &[(&str, &str, &str)] = &[
    (
        "lorax",
        "images/pxeboot/vmlinuz",
        "images/pxeboot/initrd.img",
    ),
    (
        "kiwi",
        "boot/x86_64/loader/linux",
        "boot/x86_64/loader/initrd",
    ),
];

/// The boot files found in an ISO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoLayout {
    pub layout: &'static str,
    pub kernel: Entry,
    pub initrd: Entry,
    pub root: Entry,
}

/// Recognises a live layout from the ISO's file list (pure). Names compare case-insensitively
/// because plain ISO 9660 names are upper case.
pub fn find_layout(entries: &[Entry]) -> Result<IsoLayout, String> {
    let files: Vec<&Entry> = entries.iter().filter(|e| !e.is_dir).collect();
    let get = |p: &str| {
        files
            .iter()
            .find(|e| e.path.trim_start_matches('/').eq_ignore_ascii_case(p))
            .map(|e| (*e).clone())
    };
    let root = get("LiveOS/squashfs.img").or_else(|| {
        files
            .iter()
            .find(|e| {
                let p = e.path.trim_start_matches('/').to_ascii_lowercase();
                p.starts_with("liveos/") && p.ends_with(".img") && !p.contains("osmin")
            })
            .map(|e| (*e).clone())
    });
    let mut kernel_pair = None;
    for (layout, k, i) in KERNEL_LAYOUTS {
        if let (Some(k), Some(i)) = (get(k), get(i)) {
            kernel_pair = Some((*layout, k, i));
            break;
        }
    }
    if kernel_pair.is_none() {
        // The older isolinux layout: isolinux/vmlinuz0 + isolinux/initrd0.img and friends.
        let pick = |prefix: &str| {
            files
                .iter()
                .filter(|e| {
                    let p = e.path.trim_start_matches('/').to_ascii_lowercase();
                    p.starts_with("isolinux/") && p["isolinux/".len()..].starts_with(prefix)
                })
                .min_by_key(|e| e.path.len())
                .map(|e| (*e).clone())
        };
        if let (Some(k), Some(i)) = (pick("vmlinuz"), pick("initrd")) {
            kernel_pair = Some(("isolinux", k, i));
        }
    }
    match (kernel_pair, root) {
        (Some((layout, kernel, initrd)), Some(root)) => Ok(IsoLayout {
            layout,
            kernel,
            initrd,
            root,
        }),
        (kp, root) => {
            let mut found: Vec<String> = files
                .iter()
                .filter(|e| {
                    let p = e.path.to_ascii_lowercase();
                    p.contains("vmlinuz")
                        || p.contains("linux")
                        || p.contains("initrd")
                        || p.starts_with("/liveos/")
                        || p.ends_with(".img")
                })
                .take(8)
                .map(|e| e.path.clone())
                .collect();
            if found.is_empty() {
                found = entries
                    .iter()
                    .filter(|e| e.is_dir && e.path.matches('/').count() == 1)
                    .take(8)
                    .map(|e| format!("{}/", e.path))
                    .collect();
            }
            let missing = match (kp.is_some(), root.is_some()) {
                (true, false) => "no live root image (LiveOS/squashfs.img)",
                (false, true) => "no kernel + initrd pair",
                _ => "no live root image (LiveOS/squashfs.img) and no kernel + initrd pair",
            };
            Err(format!(
                "{missing}; expected LiveOS/squashfs.img with a kernel in images/pxeboot/ (lorax), boot/x86_64/loader/ (kiwi) or isolinux/; found: {}",
                if found.is_empty() { "nothing of the kind".to_string() } else { found.join(", ") }
            ))
        }
    }
}

/// The version string a bzImage kernel carries in its setup header ("6.11.4-301.fc41.x86_64").
pub fn kernel_version(head: &[u8]) -> Option<String> {
    if head.len() < 0x210 || &head[0x202..0x206] != b"HdrS" {
        return None;
    }
    let off = u16::from_le_bytes([head[0x20E], head[0x20F]]) as usize + 0x200;
    let s = head.get(off..(off + 256).min(head.len()))?;
    let end = s.iter().position(|&b| b == 0 || b == b' ')?;
    let v = std::str::from_utf8(&s[..end]).ok()?;
    (!v.is_empty() && v.chars().all(|c| c.is_ascii_graphic())).then(|| v.to_string())
}

/// What to import, checked before anything is touched.
enum Input {
    Iso {
        path: PathBuf,
        layout: IsoLayout,
        root_type: RootType,
    },
    Tree {
        kernel: PathBuf,
        rootfs: PathBuf,
    },
    Nfs {
        dir: PathBuf,
        kernel: PathBuf,
        kver: String,
    },
}

/// Kernels a root tree holds: `boot/vmlinuz-KVER` and `(usr/)lib/modules/KVER/vmlinuz`, by
/// version.
pub fn tree_kernels(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = std::collections::BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("boot")) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = n.strip_prefix("vmlinuz-") {
                if !v.contains("rescue") {
                    found.insert(v.to_string(), e.path());
                }
            }
        }
    }
    for m in ["lib/modules", "usr/lib/modules"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(m)) {
            for e in rd.flatten() {
                let k = e.path().join("vmlinuz");
                if k.is_file() {
                    found
                        .entry(e.file_name().to_string_lossy().into_owned())
                        .or_insert(k);
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Checks an NFS root tree and picks its kernel (`--kernel` names a version or a path when
/// the tree holds several).
fn examine_nfs(dir: &Path, want: Option<&Path>) -> Result<Input> {
    let m = std::fs::metadata(dir).map_err(|e| {
        anyhow::anyhow!(
            "NFS root {}: {e}; give the root tree to export",
            dir.display()
        )
    })?;
    if !m.is_dir() {
        bail!(
            "NFS root {} is not a directory; give the root tree to export",
            dir.display()
        );
    }
    if !crate::config::valid_abs_path(dir) {
        bail!(
            "NFS root {:?} must be an absolute path of letters, digits and /-_.+ (it goes into the exports file and the kernel command line)",
            dir
        );
    }
    let kernels = tree_kernels(dir);
    let pick = match want {
        Some(w) => kernels.iter().find(|(v, p)| Path::new(v) == w || p == w || p.ends_with(w)).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "NFS root {} has no kernel {}; it has: {}",
                dir.display(),
                w.display(),
                kernels.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?,
        None => match kernels.as_slice() {
            [] => bail!(
                "NFS root {} holds no kernel (boot/vmlinuz-* or lib/modules/*/vmlinuz); install one in the tree",
                dir.display()
            ),
            [one] => one.clone(),
            many => bail!(
                "NFS root {} holds several kernels ({}); pick one with --kernel KVER",
                dir.display(),
                many.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
            ),
        },
    };
    Ok(Input::Nfs {
        dir: dir.to_path_buf(),
        kernel: pick.1,
        kver: pick.0,
    })
}

/// Reads the ISO's directory and the root image's magic: a bad ISO is refused here, before
/// pxe-kit writes anything.
fn examine_iso(iso: &Path) -> Result<(IsoLayout, RootType)> {
    let f = File::open(iso).with_context(|| format!("opening {}", iso.display()))?;
    let mut isofs = Iso::open(f).with_context(|| format!("reading ISO {}", iso.display()))?;
    let entries = isofs
        .entries()
        .with_context(|| format!("reading ISO {}", iso.display()))?;
    let l = find_layout(&entries).map_err(|e| anyhow::anyhow!("{}: {e}", iso.display()))?;
    let t = sniff_entry(&mut isofs, &l.root, iso)?;
    Ok((l, t))
}

pub fn run(a: &AddImageArgs, ctx: &Ctx) -> Result<Exit> {
    ctx.require_privileges("add-image")?;
    let mut cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let append = a.append.clone().unwrap_or_default();
    image::validate_append(&append)?;
    let input = match (&a.iso, &a.kernel, &a.rootfs) {
        _ if a.nfs.is_some() => {
            examine_nfs(a.nfs.as_deref().expect("checked"), a.kernel.as_deref())?
        }
        (Some(iso), _, _) => {
            check_file("ISO", iso)?;
            let (layout, root_type) = examine_iso(iso)?;
            Input::Iso {
                path: iso.clone(),
                layout,
                root_type,
            }
        }
        (None, Some(k), Some(r)) => {
            check_file("kernel", k)?;
            if kernel_head_version(k)?.is_none() {
                bail!(
                    "{} is not a Linux kernel image (no bzImage header); give a vmlinuz file",
                    k.display()
                );
            }
            if !r.exists() {
                bail!("root tree {}: no such file or directory; give a directory or a squashfs/EROFS image", r.display());
            }
            if !r.is_dir() {
                sniff_file(r)?;
            }
            Input::Tree {
                kernel: k.clone(),
                rootfs: r.clone(),
            }
        }
        _ => bail!("add-image needs an ISO, or --kernel FILE with --rootfs PATH"),
    };
    if let Some(i) = &a.initrd {
        check_file("initrd", i)?;
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => derive_name(match &input {
            Input::Iso { path, .. } => path,
            Input::Tree { rootfs, .. } => rootfs,
            Input::Nfs { dir, .. } => dir,
        }),
    };
    if !valid_name(&name) || name == "local" {
        bail!("image name {name:?} is not usable; use letters, digits and -_. (at most 64, not `local`), e.g. --name f42");
    }
    let _lock = crate::lock::StateLock::acquire(&ctx.root)?;
    let old = image::load(&ctx.root, &name)?;
    let source = source_of(&input)?;
    let same_source = old.as_ref().is_some_and(|m| {
        m.source.name == source.name && m.source.size == source.size && files_intact(ctx, m)
    });
    let mut manifest = if same_source && !a.dracut && a.initrd.is_none() {
        let m = old.clone().expect("checked above");
        ctx.out.say(format!(
            "image {name} is already imported from {}; nothing to copy",
            source.name
        ));
        m
    } else {
        import(ctx, &profile, &input, &name, a)?
    };
    manifest.append = append;
    if let Input::Nfs { dir, .. } = &input {
        manifest.nfs_export = Some(dir.clone());
    }
    if old.as_ref() != Some(&manifest) {
        let text = serde_yaml::to_string(&manifest).context("serialising the image manifest")?;
        ctx.root
            .write(&image::manifest_path(&name), text.as_bytes(), 0o644)?;
    }
    if a.default && cfg.boot.default != name {
        cfg.boot.default = name.clone();
        ctx.save_config(&cfg)?;
    }
    let mut menu = refresh_menu(ctx, &cfg, &profile)?;
    if let Some(export) = &manifest.nfs_export {
        menu |= export_nfs(ctx, &cfg, &profile, &name, export)?;
    }
    if old.as_ref() == Some(&manifest) && !menu {
        ctx.out.say("nothing to change");
    } else {
        ctx.out.say(format!("image {name}: {}", summary(&manifest)));
    }
    if ctx.root.dry_run() {
        apply::print_plan(ctx, "commands (dry run, not run)");
    } else if !ctx.root.is_live() {
        apply::print_plan(ctx, "live-system steps (not run under --root)");
    }
    Ok(Exit::Ok)
}

fn check_file(what: &str, p: &Path) -> Result<()> {
    let m = std::fs::metadata(p)
        .map_err(|e| anyhow::anyhow!("{what} {}: {e}; check the path", p.display()))?;
    if m.is_dir() {
        bail!(
            "{what} {} is a directory; give the {what} file itself",
            p.display()
        );
    }
    if m.len() == 0 {
        bail!(
            "{what} {} is empty; give a complete {what} file",
            p.display()
        );
    }
    Ok(())
}

fn derive_name(p: &Path) -> String {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    n = n
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    n.truncate(64);
    n
}

fn source_of(input: &Input) -> Result<Source> {
    Ok(match input {
        Input::Iso { path: p, .. } => Source {
            name: p
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: std::fs::metadata(p)
                .with_context(|| format!("reading {}", p.display()))?
                .len(),
            layout: String::new(),
        },
        Input::Nfs { dir, kernel, .. } => Source {
            name: dir.display().to_string(),
            size: std::fs::metadata(kernel)
                .with_context(|| format!("reading {}", kernel.display()))?
                .len(),
            layout: "nfs-root".into(),
        },
        Input::Tree { kernel, rootfs } => Source {
            name: format!(
                "{} + {}",
                kernel
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                rootfs
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            size: std::fs::metadata(kernel).map(|m| m.len()).unwrap_or(0),
            layout: String::new(),
        },
    })
}

/// Quick integrity: every file of the manifest is there with its recorded size.
pub fn files_intact(ctx: &Ctx, m: &Manifest) -> bool {
    m.files.iter().all(|f| {
        std::fs::metadata(ctx.root.path(&f.path))
            .map(|md| md.len() == f.size)
            .unwrap_or(false)
    })
}

fn summary(m: &Manifest) -> String {
    let total: u64 = m.files.iter().map(|f| f.size).sum();
    format!(
        "{} root, kernel {}, initrd from {}, {:.1} MiB",
        match m.root_type {
            RootType::Squashfs => "squashfs",
            RootType::Erofs => "EROFS",
            RootType::Nfs => "NFS",
        },
        m.kernel_version.as_deref().unwrap_or("(version unknown)"),
        m.initrd_from,
        total as f64 / 1048576.0
    )
}

/// Re-renders pxelinux.cfg/default from the manifests; returns whether it changed.
/// Re-renders pxelinux.cfg/default and the per-machine files from the manifests; returns
/// whether any changed.
pub fn refresh_menu(ctx: &Ctx, cfg: &Config, profile: &Profile) -> Result<bool> {
    let images = image::load_all(&ctx.root)?;
    let templates = Templates::load(&ctx.root)?;
    let entries = image::boot_entries(cfg, profile, &images);
    let mut files = vec![plan::menu_file(cfg, profile, &templates, entries.clone())?];
    files.extend(plan::host_files(cfg, profile, &templates, &entries)?);
    files.extend(plan::loader_menus(cfg, profile, &templates, &entries)?);
    let mut written = Vec::new();
    for f in &files {
        if ctx.root.write(&f.path, &f.content, f.mode)?.changed() {
            written.push(f.path.as_path());
        }
    }
    if let Some(s) = plan::relabel_step(profile, &written) {
        apply::run_step(ctx, &s, &Default::default())?;
    }
    Ok(!written.is_empty())
}

/// One file being brought in: staged under a temp name, renamed into place at the end.
struct Staged {
    role: Role,
    final_path: PathBuf,
    staged: PathBuf,
    copied: Copied,
}

fn staged_name(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!("{TMP_PREFIX}staged.{name}"))
}

fn import(
    ctx: &Ctx,
    profile: &Profile,
    input: &Input,
    name: &str,
    a: &AddImageArgs,
) -> Result<Manifest> {
    let (tftp_dir, _) = profile.tftp_image_dir(name);
    let http_dir = profile.http_image_dir(name);
    let kernel_dst = tftp_dir.join("vmlinuz");
    let initrd_dst = tftp_dir.join("initrd.img");
    let root_dst = http_dir.join("squashfs.img");
    if ctx.root.dry_run() {
        return dry_run_manifest(ctx, input, name, a, &kernel_dst, &initrd_dst, &root_dst);
    }
    // An NFS root is served by the NFS server, not httpd: no HTTP directory for it.
    let dirs: Vec<&PathBuf> = if matches!(input, Input::Nfs { .. }) {
        vec![&tftp_dir]
    } else {
        vec![&tftp_dir, &http_dir]
    };
    let fresh: Vec<PathBuf> = dirs
        .iter()
        .copied()
        .filter(|d| !ctx.root.exists(d))
        .cloned()
        .collect();
    for d in &dirs {
        ctx.root.create_dir_all(d)?;
        let removed = copyhash::clean_stale_temps(&ctx.root.path(d))?;
        if removed > 0 {
            ctx.out.say(format!(
                "  removed {removed} leftover temp file(s) of an interrupted import in {}",
                d.display()
            ));
        }
    }
    let mut staged: Vec<Staged> = Vec::new();
    let result = (|| -> Result<Manifest> {
        let mut source = source_of(input)?;
        let (root_type, kernel_version, initrd_from) = match input {
            Input::Iso {
                path,
                layout,
                root_type,
            } => {
                source.layout = layout.layout.into();
                import_iso(
                    ctx,
                    path,
                    layout,
                    *root_type,
                    a,
                    &mut staged,
                    [&kernel_dst, &initrd_dst, &root_dst],
                )?
            }
            Input::Nfs { dir, kernel, kver } => import_nfs(
                ctx,
                dir,
                kernel,
                kver,
                a,
                &mut staged,
                [&kernel_dst, &initrd_dst],
            )?,
            Input::Tree { kernel, rootfs } => {
                source.layout = "kernel+rootfs".into();
                import_tree(
                    ctx,
                    kernel,
                    rootfs,
                    a,
                    &mut staged,
                    [&kernel_dst, &initrd_dst, &root_dst],
                )?
            }
        };
        // Everything is complete and synced: only now do the final names change.
        for s in &staged {
            std::fs::rename(ctx.root.path(&s.staged), ctx.root.path(&s.final_path))
                .with_context(|| format!("renaming into {}", s.final_path.display()))?;
        }
        let files = staged
            .iter()
            .map(|s| FileEntry {
                role: s.role,
                path: s.final_path.clone(),
                size: s.copied.size,
                sha256: s.copied.hex(),
            })
            .collect();
        Ok(Manifest {
            name: name.to_string(),
            source,
            root_type,
            kernel_version,
            initrd_from,
            append: String::new(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            files,
            nfs_export: None,
        })
    })();
    if result.is_err() {
        for s in &staged {
            let _ = std::fs::remove_file(ctx.root.path(&s.staged));
        }
        // Directories this run created go too (remove_dir leaves non-empty ones alone).
        for d in &fresh {
            let _ = std::fs::remove_dir(ctx.root.path(d));
        }
    }
    let m = result?;
    let paths: Vec<&Path> = m.files.iter().map(|f| f.path.as_path()).collect();
    if let Some(s) = plan::relabel_step(profile, &paths) {
        apply::run_step(ctx, &s, &Default::default())?;
    }
    Ok(m)
}

fn dry_run_manifest(
    ctx: &Ctx,
    input: &Input,
    name: &str,
    a: &AddImageArgs,
    k: &Path,
    i: &Path,
    r: &Path,
) -> Result<Manifest> {
    let mut source = source_of(input)?;
    let mut root_type = RootType::Squashfs;
    if let Input::Iso {
        layout,
        root_type: t,
        ..
    } = input
    {
        root_type = *t;
        source.layout = layout.layout.into();
    }
    if matches!(input, Input::Nfs { .. }) {
        root_type = RootType::Nfs;
    }
    let nfs = matches!(input, Input::Nfs { .. });
    for (p, what) in [(k, "kernel"), (i, "initramfs"), (r, "root image")] {
        if nfs && what == "root image" {
            continue;
        }
        ctx.out
            .say(format!("  would install {what} {}", p.display()));
    }
    let _ = a;
    Ok(Manifest {
        name: name.into(),
        source,
        root_type,
        kernel_version: None,
        initrd_from: "dry-run".into(),
        append: String::new(),
        created: String::new(),
        files: Vec::new(),
        nfs_export: None,
    })
}

fn sniff_entry<R: Read + std::io::Seek>(
    isofs: &mut Iso<R>,
    e: &Entry,
    iso: &Path,
) -> Result<RootType> {
    let mut head = Vec::with_capacity(1028);
    isofs
        .open_file(e)?
        .take(1028)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {} in {}", e.path, iso.display()))?;
    RootType::sniff(&head).with_context(|| {
        format!(
            "{}: {} is neither squashfs nor EROFS (by its magic); this is not a live image",
            iso.display(),
            e.path
        )
    })
}

fn progress_for(ctx: &Ctx, total: u64, what: &str) -> Progress {
    Progress::bytes(ctx.out, total, what)
}

type Found = (RootType, Option<String>, String);

#[allow(clippy::too_many_arguments)]
fn import_iso(
    ctx: &Ctx,
    iso: &Path,
    l: &IsoLayout,
    root_type: RootType,
    a: &AddImageArgs,
    staged: &mut Vec<Staged>,
    [k_dst, i_dst, r_dst]: [&PathBuf; 3],
) -> Result<Found> {
    let f = File::open(iso).with_context(|| format!("opening {}", iso.display()))?;
    let mut isofs = Iso::open(f).with_context(|| format!("reading ISO {}", iso.display()))?;
    let total = l.kernel.size + l.initrd.size + l.root.size;
    let name = iso
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = progress_for(ctx, total, &format!("importing {name}"));
    let mut extract = |e: &Entry, role: Role, dst: &Path, staged: &mut Vec<Staged>| -> Result<()> {
        let st = staged_name(dst);
        let mut r = isofs.open_file(e)?;
        let copied =
            copyhash::copy_hashed(&mut r, Some(e.size), &ctx.root.path(&st), &|n| bar.inc(n))
                .with_context(|| format!("extracting {} from {}", e.path, iso.display()))?;
        staged.push(Staged {
            role,
            final_path: dst.to_path_buf(),
            staged: st,
            copied,
        });
        Ok(())
    };
    extract(&l.kernel, Role::Kernel, k_dst, staged)?;
    extract(&l.root, Role::Root, r_dst, staged)?;
    let kver = kernel_head_version(&ctx.root.path(&staged_name(k_dst)))?;
    let initrd_from;
    if let Some(given) = &a.initrd {
        copy_in(ctx, given, Role::Initrd, i_dst, staged, &bar)?;
        initrd_from = "given".to_string();
    } else if a.dracut {
        build_initrd(ctx, kver.as_deref(), root_type, i_dst, staged)?;
        initrd_from = "dracut".to_string();
    } else {
        extract(&l.initrd, Role::Initrd, i_dst, staged)?;
        let info = initrd::inspect_path(&ctx.root.path(&staged_name(i_dst)))
            .with_context(|| format!("inspecting {} from {}", l.initrd.path, iso.display()))?;
        if info.has_livenet() && info.has_dmsquash_live() {
            initrd_from = "iso".to_string();
        } else {
            ctx.out.say(format!(
                "  the ISO's initramfs lacks dracut's {}: building one with dracut",
                if info.has_livenet() {
                    "dmsquash-live module"
                } else {
                    "livenet module"
                }
            ));
            staged.retain(|s| s.role != Role::Initrd);
            let _ = std::fs::remove_file(ctx.root.path(&staged_name(i_dst)));
            build_initrd(ctx, kver.as_deref(), root_type, i_dst, staged)?;
            initrd_from = "dracut".to_string();
        }
    }
    bar.finish();
    Ok((root_type, kver, initrd_from))
}

fn kernel_head_version(p: &Path) -> Result<Option<String>> {
    // The setup header points at the version string with a 16-bit offset from 0x200, so it
    // can lie anywhere in the first 64 KiB (0x44c0 in Debian's kernel).
    let mut head = vec![0u8; 0x200 + 0x10000 + 256];
    let mut f = File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let n = read_up_to(&mut f, &mut head).with_context(|| format!("reading {}", p.display()))?;
    head.truncate(n);
    Ok(kernel_version(&head))
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn copy_in(
    ctx: &Ctx,
    src: &Path,
    role: Role,
    dst: &Path,
    staged: &mut Vec<Staged>,
    bar: &Progress,
) -> Result<()> {
    let st = staged_name(dst);
    let mut f = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let len = f
        .metadata()
        .with_context(|| format!("reading {}", src.display()))?
        .len();
    let copied = copyhash::copy_hashed(&mut f, Some(len), &ctx.root.path(&st), &|n| bar.inc(n))
        .with_context(|| format!("copying {}", src.display()))?;
    staged.push(Staged {
        role,
        final_path: dst.to_path_buf(),
        staged: st,
        copied,
    });
    Ok(())
}

fn import_tree(
    ctx: &Ctx,
    kernel: &Path,
    rootfs: &Path,
    a: &AddImageArgs,
    staged: &mut Vec<Staged>,
    [k_dst, i_dst, r_dst]: [&PathBuf; 3],
) -> Result<Found> {
    let kver = kernel_head_version(kernel)?;
    let bar = Progress::hidden();
    copy_in(ctx, kernel, Role::Kernel, k_dst, staged, &bar)?;
    let root_type = if rootfs.is_dir() {
        let st = staged_name(r_dst);
        let out = ctx.root.path(&st);
        let rootfs_s = rootfs.display().to_string();
        let out_s = out.display().to_string();
        let cmd = Cmd::new(
            Kind::Build,
            format!("squashing {}", rootfs.display()),
            &[
                "mksquashfs",
                &rootfs_s,
                &out_s,
                "-noappend",
                "-quiet",
                "-no-progress",
                "-comp",
                "zstd",
                "-xattrs",
            ],
        );
        ctx.runner.must(&cmd)?;
        let copied = copyhash::hash_file(&out, &|_| {})?;
        set_mode_644(&out)?;
        staged.push(Staged {
            role: Role::Root,
            final_path: r_dst.to_path_buf(),
            staged: st,
            copied,
        });
        RootType::Squashfs
    } else {
        let t = sniff_file(rootfs)?;
        copy_in(ctx, rootfs, Role::Root, r_dst, staged, &bar)?;
        t
    };
    let initrd_from = match &a.initrd {
        Some(i) => {
            copy_in(ctx, i, Role::Initrd, i_dst, staged, &bar)?;
            "given".to_string()
        }
        None => {
            build_initrd(ctx, kver.as_deref(), root_type, i_dst, staged)?;
            "dracut".to_string()
        }
    };
    Ok((root_type, kver, initrd_from))
}

fn sniff_file(rootfs: &Path) -> Result<RootType> {
    let mut head = vec![0u8; 1028];
    let mut f = File::open(rootfs).with_context(|| format!("opening {}", rootfs.display()))?;
    let n =
        read_up_to(&mut f, &mut head).with_context(|| format!("reading {}", rootfs.display()))?;
    RootType::sniff(&head[..n]).with_context(|| {
        format!(
            "{} is neither a directory nor a squashfs/EROFS image; give a root tree or its image",
            rootfs.display()
        )
    })
}

fn set_mode_644(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting mode of {}", p.display()))
}

/// dracut arguments for a network-booting live initramfs. dracut 059's systemd-networkd
/// backend never runs livenet's fetch, so where that backend exists we pin network-legacy.
pub fn dracut_argv(kver: &str, out: &str, have_network_legacy: bool) -> Vec<String> {
    let mut v = dracut_base("livenet dmsquash-live", have_network_legacy);
    v.extend(["--kver".to_string(), kver.to_string(), out.to_string()]);
    v
}

/// A client initramfs (`--no-hostonly`: the clients' NIC drivers, not the server's) with the
/// given dracut modules; network-legacy pinned where installed (see `dracut_argv`).
fn dracut_base(modules: &str, have_network_legacy: bool) -> Vec<String> {
    let mut v = vec!["dracut", "--no-hostonly", "--force", "--add", modules];
    if have_network_legacy {
        v.extend([
            "--add",
            "network-legacy",
            "--omit",
            "systemd-networkd plymouth",
        ]);
    }
    v.into_iter().map(String::from).collect()
}

fn build_initrd(
    ctx: &Ctx,
    kver: Option<&str>,
    root_type: RootType,
    dst: &Path,
    staged: &mut Vec<Staged>,
) -> Result<()> {
    let Some(kver) = kver else {
        bail!("cannot build an initramfs: the kernel's version is unknown; pass --initrd FILE");
    };
    // dracut runs on this server and takes the modules of the server's /lib/modules.
    let moddir = Path::new("/lib/modules").join(kver);
    if !moddir.is_dir() {
        bail!(
            "cannot build an initramfs for kernel {kver}: its modules are not on this server ({}); install that kernel's modules package (Fedora: kernel-modules-{kver}, Debian: linux-image-{kver}) or pass --initrd FILE",
            moddir.display()
        );
    }
    if root_type == RootType::Erofs {
        ctx.out
            .say("  note: EROFS live roots need dracut >= 103 in the client initramfs");
    }
    run_dracut(
        ctx,
        &format!("the initramfs for {kver}"),
        dst,
        staged,
        |out| dracut_argv(kver, out, have_network_legacy()),
    )
}

/// dracut's network-legacy module, where installed, is pinned (see `dracut_argv`).
fn have_network_legacy() -> bool {
    Path::new("/usr/lib/dracut/modules.d/35network-legacy").is_dir()
}

/// Runs dracut into a staged name beside `dst`, readable by tftpd (dracut writes 0600).
fn run_dracut(
    ctx: &Ctx,
    what: &str,
    dst: &Path,
    staged: &mut Vec<Staged>,
    argv: impl FnOnce(&str) -> Vec<String>,
) -> Result<()> {
    let st = staged_name(dst);
    let out = ctx.root.path(&st);
    let argv = argv(&out.display().to_string());
    let sp = Progress::spinner(ctx.out, &format!("building {what} with dracut"));
    ctx.runner
        .must(&Cmd::new(Kind::Build, format!("building {what}"), &argv))?;
    sp.finish();
    set_mode_644(&out)?;
    let copied = copyhash::hash_file(&out, &|_| {})?;
    staged.push(Staged {
        role: Role::Initrd,
        final_path: dst.to_path_buf(),
        staged: st,
        copied,
    });
    Ok(())
}

/// The NFS-root form: the tree's own kernel, and an initramfs with dracut's nfs module built
/// from the tree itself (`--sysroot`), so kernel and modules match.
fn import_nfs(
    ctx: &Ctx,
    dir: &Path,
    kernel: &Path,
    kver: &str,
    a: &AddImageArgs,
    staged: &mut Vec<Staged>,
    [k_dst, i_dst]: [&PathBuf; 2],
) -> Result<Found> {
    let bar = Progress::hidden();
    copy_in(ctx, kernel, Role::Kernel, k_dst, staged, &bar)?;
    let initrd_from = match &a.initrd {
        Some(i) => {
            copy_in(ctx, i, Role::Initrd, i_dst, staged, &bar)?;
            "given".to_string()
        }
        None => {
            let moddir = dir.join("lib/modules").join(kver);
            if !moddir.is_dir() {
                bail!(
                    "cannot build an NFS-root initramfs: {} is missing; install the tree's kernel modules or pass --initrd FILE",
                    moddir.display()
                );
            }
            run_dracut(
                ctx,
                &format!("the NFS-root initramfs for {kver}"),
                i_dst,
                staged,
                |out| dracut_nfs_argv(dir, kver, out, have_network_legacy()),
            )?;
            "dracut".to_string()
        }
    };
    Ok((RootType::Nfs, Some(kver.to_string()), initrd_from))
}

/// dracut arguments for an NFS-root initramfs taken from the root tree itself.
pub fn dracut_nfs_argv(
    tree: &Path,
    kver: &str,
    out: &str,
    have_network_legacy: bool,
) -> Vec<String> {
    let tree_s = tree.display().to_string();
    let mut v = dracut_base("nfs", have_network_legacy);
    v.extend([
        "--sysroot".to_string(),
        tree_s.clone(),
        "--kmoddir".to_string(),
        format!("{tree_s}/lib/modules/{kver}"),
        "--kver".to_string(),
        kver.to_string(),
        out.to_string(),
    ]);
    v
}

/// Writes the image's exports file and runs what NFS needs: server package, firewall,
/// service, `exportfs -r`. Returns whether anything changed.
fn export_nfs(
    ctx: &Ctx,
    cfg: &Config,
    profile: &Profile,
    name: &str,
    export: &Path,
) -> Result<bool> {
    let templates = Templates::load(&ctx.root)?;
    let f = plan::exports_file(cfg, profile, &templates, name, export)?;
    let changed = ctx.root.write(&f.path, &f.content, f.mode)?.changed();
    if changed {
        ctx.out.say(format!(
            "  exported {} read-only to {} ({})",
            export.display(),
            cfg.subnet,
            f.path.display()
        ));
    }
    let steps = plan::nfs_steps(cfg, profile, changed, ctx.systemd());
    let outcomes = apply::run_steps(ctx, &steps)?;
    Ok(changed || outcomes.contains(&apply::Outcome::Ran))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso9660::Extent;

    fn f(p: &str) -> Entry {
        Entry {
            path: p.into(),
            is_dir: false,
            size: 1,
            extents: vec![Extent { offset: 0, len: 1 }],
        }
    }

    #[test]
    fn recognises_lorax_kiwi_isolinux() {
        let lorax = [
            f("/images/pxeboot/vmlinuz"),
            f("/images/pxeboot/initrd.img"),
            f("/LiveOS/squashfs.img"),
        ];
        assert_eq!(find_layout(&lorax).unwrap().layout, "lorax");
        let kiwi = [
            f("/boot/x86_64/loader/linux"),
            f("/boot/x86_64/loader/initrd"),
            f("/LiveOS/squashfs.img"),
        ];
        assert_eq!(find_layout(&kiwi).unwrap().layout, "kiwi");
        let old = [
            f("/isolinux/vmlinuz0"),
            f("/isolinux/initrd0.img"),
            f("/LiveOS/squashfs.img"),
        ];
        let l = find_layout(&old).unwrap();
        assert_eq!(
            (l.layout, l.kernel.path.as_str()),
            ("isolinux", "/isolinux/vmlinuz0")
        );
        let plain = [
            f("/IMAGES/PXEBOOT/VMLINUZ"),
            f("/IMAGES/PXEBOOT/INITRD.IMG"),
            f("/LIVEOS/SQUASHFS.IMG"),
        ];
        assert_eq!(find_layout(&plain).unwrap().layout, "lorax");
    }

    #[test]
    fn refuses_installer_iso_listing_what_it_found() {
        let installer = [
            f("/images/pxeboot/vmlinuz"),
            f("/images/pxeboot/initrd.img"),
            f("/images/install.img"),
        ];
        let e = find_layout(&installer).unwrap_err();
        assert!(e.contains("no live root image"), "{e}");
        assert!(e.contains("/images/install.img"), "{e}");
    }

    #[test]
    fn reads_bzimage_version() {
        let mut h = vec![0u8; 0x400];
        h[0x202..0x206].copy_from_slice(b"HdrS");
        h[0x20E..0x210].copy_from_slice(&(0x100u16).to_le_bytes());
        h[0x300..0x300 + 24].copy_from_slice(b"6.11.4-301.fc41.x86_64 (");
        assert_eq!(
            kernel_version(&h).as_deref(),
            Some("6.11.4-301.fc41.x86_64")
        );
        assert_eq!(kernel_version(&[0u8; 0x400]), None);
        assert_eq!(kernel_version(b"short"), None);
    }

    #[test]
    fn nfs_initramfs_comes_from_the_tree() {
        let v = dracut_nfs_argv(
            Path::new("/srv/stateless/terminal"),
            "6.9.0",
            "/o.img",
            true,
        );
        let s = v.join(" ");
        assert!(
            s.starts_with("dracut --no-hostonly --force --add nfs --add network-legacy"),
            "{s}"
        );
        assert!(
            s.ends_with("--sysroot /srv/stateless/terminal --kmoddir /srv/stateless/terminal/lib/modules/6.9.0 --kver 6.9.0 /o.img"),
            "{s}"
        );
    }

    #[test]
    fn finds_kernels_in_boot_and_lib_modules() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("boot")).unwrap();
        std::fs::create_dir_all(t.path().join("lib/modules/6.10.0/kernel")).unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-6.9.0"), b"k").unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-0-rescue-abc"), b"k").unwrap();
        std::fs::write(t.path().join("lib/modules/6.10.0/vmlinuz"), b"k").unwrap();
        let k: Vec<String> = tree_kernels(t.path()).into_iter().map(|(v, _)| v).collect();
        assert_eq!(k, ["6.10.0", "6.9.0"]);
    }

    #[test]
    fn dracut_pins_network_legacy_where_it_exists() {
        let v = dracut_argv("6.1.0", "/x.img", true);
        assert_eq!(
            v[..5],
            [
                "dracut",
                "--no-hostonly",
                "--force",
                "--add",
                "livenet dmsquash-live"
            ]
        );
        assert!(v
            .windows(2)
            .any(|w| w == ["--omit", "systemd-networkd plymouth"]));
        assert_eq!(v[v.len() - 3..], ["--kver", "6.1.0", "/x.img"]);
        assert!(!dracut_argv("6.1.0", "/x.img", false).contains(&"network-legacy".to_string()));
    }
}
