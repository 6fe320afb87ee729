//! Importing an image: the inputs checked before anything is touched, then the kernel, the
//! initramfs and the root image brought into the TFTP and HTTP trees whole or not at all
//! (`Root::staging`), hashed as they are copied, and the manifest that describes them.
//! Under --dry-run nothing is written: the same bytes are read and hashed, so the manifest
//! shown is the real one (but for what dracut or mksquashfs would build).
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::kernel::{self, read_up_to};
use super::layout::{self, IsoLayout};
use super::{FileEntry, Manifest, Role, RootType, Source};
use crate::config::valid_abs_path;
use crate::copyhash;
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::dracut::{Dracut, Purpose};
use crate::initrd;
use crate::iso9660::Iso;
use crate::progress::Progress;
use crate::root::Staging;
use crate::runner::{Cmd, Kind};

/// What to import, checked before anything is touched.
#[derive(Debug, Clone)]
pub enum Input {
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

impl Input {
    /// A live ISO: its directory is read and its root image's magic checked.
    pub fn iso(path: &Path) -> Result<Input> {
        check_file("ISO", path)?;
        let (layout, root_type) = layout::examine(path)?;
        Ok(Input::Iso {
            path: path.to_path_buf(),
            layout,
            root_type,
        })
    }

    /// A kernel and a root tree (squashed at import) or root image.
    pub fn tree(kernel: &Path, rootfs: &Path) -> Result<Input> {
        check_file("kernel", kernel)?;
        if kernel::file_version(kernel)?.is_none() {
            bail!(
                "{} is not a Linux kernel image (no bzImage header); give a vmlinuz file",
                kernel.display()
            );
        }
        if !rootfs.exists() {
            bail!("root tree {}: no such file or directory; give a directory or a squashfs/EROFS image", rootfs.display());
        }
        if !rootfs.is_dir() {
            layout::sniff_file(rootfs)?;
        }
        Ok(Input::Tree {
            kernel: kernel.to_path_buf(),
            rootfs: rootfs.to_path_buf(),
        })
    }

    /// An NFS root tree and its kernel (`want` names a version or a path when the tree holds
    /// several).
    pub fn nfs(dir: &Path, want: Option<&Path>) -> Result<Input> {
        crate::config::check_nfs_export(dir)?;
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
        if !valid_abs_path(dir) {
            bail!(
                "NFS root {:?} must be an absolute path of letters, digits and /-_.+ (it goes into the exports file and the kernel command line)",
                dir
            );
        }
        let kernels = kernel::tree_kernels(dir);
        let list = || {
            kernels
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pick = match want {
            Some(w) => kernels
                .iter()
                .find(|(v, p)| Path::new(v) == w || p == w || p.ends_with(w))
                .cloned()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "NFS root {} has no kernel {}; it has: {}",
                        dir.display(),
                        w.display(),
                        list()
                    )
                })?,
            None => match kernels.as_slice() {
                [] => bail!(
                    "NFS root {} holds no kernel (boot/vmlinuz-* or lib/modules/*/vmlinuz); install one in the tree",
                    dir.display()
                ),
                [one] => one.clone(),
                _ => bail!(
                    "NFS root {} holds several kernels ({}); pick one with --kernel KVER",
                    dir.display(),
                    list()
                ),
            },
        };
        Ok(Input::Nfs {
            dir: dir.to_path_buf(),
            kernel: pick.1,
            kver: pick.0,
        })
    }

    /// The image name when none is given: the ISO's or tree's file name, made safe.
    pub fn default_name(&self) -> String {
        let p = match self {
            Input::Iso { path, .. } => path,
            Input::Tree { rootfs, .. } => rootfs,
            Input::Nfs { dir, .. } => dir,
        };
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

    /// Where the image comes from, as the manifest records it.
    pub fn source(&self) -> Result<Source> {
        let size = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len())
                .with_context(|| format!("reading {}", p.display()))
        };
        let file_name = |p: &Path| {
            p.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        Ok(match self {
            Input::Iso { path, layout, .. } => Source {
                name: file_name(path),
                size: size(path)?,
                layout: layout.layout.into(),
            },
            Input::Nfs { dir, kernel, .. } => Source {
                name: dir.display().to_string(),
                size: size(kernel)?,
                layout: "nfs-root".into(),
            },
            Input::Tree { kernel, rootfs } => Source {
                name: format!("{} + {}", file_name(kernel), file_name(rootfs)),
                size: size(kernel).unwrap_or(0),
                layout: "kernel+rootfs".into(),
            },
        })
    }
}

/// A file the user names: present, a file, not empty.
pub fn check_file(what: &str, p: &Path) -> Result<()> {
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

/// What to import and how: add-image's flags, checked.
#[derive(Debug, Clone)]
pub struct Request {
    pub input: Input,
    pub name: String,
    /// An initramfs to use as it is.
    pub initrd: Option<PathBuf>,
    /// Build the initramfs with dracut even when the ISO's own can boot over the network.
    pub dracut: bool,
}

/// An import's result: the manifest, the directories to label for SELinux, and the files,
/// staged beside their places: nothing is served until the caller commits them.
pub struct Imported<'r> {
    pub manifest: Manifest,
    pub relabel: Vec<PathBuf>,
    pub staged: Staging<'r>,
}

/// Where an image's three files go.
struct Dsts {
    kernel: PathBuf,
    initrd: PathBuf,
    root: PathBuf,
}

/// Brings the image's files into the trees beside their places (see `Imported`).
pub fn import<'r>(ctx: &'r Ctx, profile: &Profile, req: &Request) -> Result<Imported<'r>> {
    let (tftp_dir, _) = profile.tftp_image_dir(&req.name);
    let http_dir = profile.http_image_dir(&req.name);
    let d = Dsts {
        kernel: tftp_dir.join("vmlinuz"),
        initrd: tftp_dir.join("initrd.img"),
        root: http_dir.join("squashfs.img"),
    };
    // An NFS root is served by the NFS server, not httpd: no HTTP directory for it.
    let nfs = matches!(req.input, Input::Nfs { .. });
    let dirs: Vec<&PathBuf> = if nfs {
        vec![&tftp_dir]
    } else {
        vec![&tftp_dir, &http_dir]
    };
    let mut st = ctx.root.staging();
    for dir in &dirs {
        let removed = st.dir(dir)?;
        if removed > 0 {
            ctx.out.say(format!(
                "  removed {removed} leftover temp file(s) of an interrupted import in {}",
                dir.display()
            ));
        }
    }
    let mut files = Vec::new();
    let found = match &req.input {
        Input::Iso {
            path,
            layout,
            root_type,
        } => import_iso(ctx, &mut st, req, path, layout, *root_type, &d, &mut files)?,
        Input::Tree { kernel, rootfs } => {
            import_tree(ctx, &mut st, req, kernel, rootfs, &d, &mut files)?
        }
        Input::Nfs { dir, kernel, kver } => {
            let bar = Progress::hidden();
            files.push(copy_file(
                ctx,
                &mut st,
                kernel,
                Role::Kernel,
                &d.kernel,
                &bar,
            )?);
            let from = match &req.initrd {
                Some(i) => {
                    files.push(copy_file(ctx, &mut st, i, Role::Initrd, &d.initrd, &bar)?);
                    "given"
                }
                None => {
                    let mut dr = Dracut::new(Purpose::Nfs, kver);
                    dr.sysroot = Some(dir.clone());
                    files.push(build_initrd(ctx, &mut st, &dr, &d.initrd)?);
                    "dracut"
                }
            };
            Found {
                root_type: RootType::Nfs,
                kver: Some(kver.clone()),
                initrd_from: from,
                initrd_modules: None,
            }
        }
    };
    // What the initramfs carries is recorded once, here, so `doctor` need not decompress
    // every image on every run (`doctor --deep` reads them again).
    let initrd_modules = found.initrd_modules.or_else(|| {
        let f = files.iter().find(|f| f.role == Role::Initrd)?;
        let at = st.staged(&f.path).unwrap_or_else(|| f.path.clone());
        let info = initrd::inspect_path(&ctx.root.path(&at)).ok()?;
        Some(info.dracut_modules())
    });
    // Label what this import holds, directories included: a directory made under the TFTP
    // root keeps its parent's type, not the one pxe-kit's rule gives the image directory.
    let mut relabel = vec![profile.tftp_root.join("pxe-kit")];
    if !nfs {
        relabel.push(http_dir.clone());
    }
    Ok(Imported {
        manifest: Manifest {
            name: req.name.clone(),
            source: req.input.source()?,
            root_type: found.root_type,
            kernel_version: found.kver,
            initrd_from: found.initrd_from.to_string(),
            initrd_modules,
            append: String::new(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            files,
            nfs_export: match &req.input {
                Input::Nfs { dir, .. } => Some(dir.clone()),
                _ => None,
            },
        },
        relabel,
        staged: st,
    })
}

/// What an import found: the root type, the kernel version, where the initramfs came from,
/// and the dracut modules of the ISO's own initramfs when it was inspected on the way.
struct Found {
    root_type: RootType,
    kver: Option<String>,
    initrd_from: &'static str,
    initrd_modules: Option<Vec<String>>,
}

#[allow(clippy::too_many_arguments)]
fn import_iso(
    ctx: &Ctx,
    st: &mut Staging,
    req: &Request,
    iso: &Path,
    l: &IsoLayout,
    root_type: RootType,
    d: &Dsts,
    files: &mut Vec<FileEntry>,
) -> Result<Found> {
    let mut isofs = Iso::open_path(iso)?;
    let name = iso
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = Progress::bytes(
        ctx.out,
        l.kernel.size + l.initrd.size + l.root.size,
        &format!("importing {name}"),
    );
    // Whether the ISO's initramfs is kept depends on what it holds, and finding out means
    // decompressing and listing all of it: a fraction of a second of CPU for a real one. It
    // runs on its own thread, from its own handle on the ISO, while the kernel and the root
    // image are copied: that copy waits on the disk and on hashing, and leaves CPU to spare.
    let inspect = req.initrd.is_none() && !req.dracut;
    let info = std::thread::scope(|s| -> Result<Option<initrd::InitrdInfo>> {
        let inspecting = inspect.then(|| s.spawn(|| inspect_iso_file(iso, &l.initrd)));
        for (e, role, dst) in [
            (&l.kernel, Role::Kernel, &d.kernel),
            (&l.root, Role::Root, &d.root),
        ] {
            let mut r = isofs.open_file(e)?;
            files.push(
                bring(ctx, st, &mut r, Some(e.size), role, dst, &bar)
                    .with_context(|| format!("extracting {} from {}", e.path, iso.display()))?,
            );
        }
        let Some(h) = inspecting else {
            return Ok(None);
        };
        let info = h
            .join()
            .map_err(|_| anyhow::anyhow!("the initramfs inspection thread panicked"))?
            .with_context(|| format!("inspecting {} from {}", l.initrd.path, iso.display()))?;
        Ok(Some(info))
    })?;
    // The setup header points at the version string anywhere in the first 64 KiB.
    let mut head = vec![0u8; 0x200 + 0x10000 + 256];
    let n = read_up_to(&mut isofs.open_file(&l.kernel)?, &mut head)
        .with_context(|| format!("reading {} in {}", l.kernel.path, iso.display()))?;
    let kver = kernel::kernel_version(&head[..n]);
    let mut modules = None;
    let from = if let Some(given) = &req.initrd {
        files.push(copy_file(ctx, st, given, Role::Initrd, &d.initrd, &bar)?);
        "given"
    } else {
        match info {
            Some(i) if i.has_livenet() && i.has_dmsquash_live() => {
                modules = Some(i.dracut_modules());
                let mut r = isofs.open_file(&l.initrd)?;
                files.push(bring(
                    ctx,
                    st,
                    &mut r,
                    Some(l.initrd.size),
                    Role::Initrd,
                    &d.initrd,
                    &bar,
                )?);
                "iso"
            }
            _ => {
                if let Some(i) = info {
                    ctx.out.say(format!(
                        "  the ISO's initramfs lacks dracut's {}: building one with dracut",
                        if i.has_livenet() {
                            "dmsquash-live module"
                        } else {
                            "livenet module"
                        }
                    ));
                }
                files.push(live_initrd(ctx, st, kver.as_deref(), root_type, &d.initrd)?);
                "dracut"
            }
        }
    };
    bar.finish();
    Ok(Found {
        root_type,
        kver,
        initrd_from: from,
        initrd_modules: modules,
    })
}

/// Lists the initramfs `e` of the ISO at `iso`, read through a handle of its own so that
/// it can run beside the copy that reads the same ISO.
fn inspect_iso_file(iso: &Path, e: &crate::iso9660::Entry) -> Result<initrd::InitrdInfo> {
    let mut isofs = Iso::open_path(iso)?;
    initrd::inspect(&mut isofs.open_file(e)?)
}

fn import_tree(
    ctx: &Ctx,
    st: &mut Staging,
    req: &Request,
    kernel: &Path,
    rootfs: &Path,
    d: &Dsts,
    files: &mut Vec<FileEntry>,
) -> Result<Found> {
    let kver = kernel::file_version(kernel)?;
    let bar = Progress::hidden();
    files.push(copy_file(ctx, st, kernel, Role::Kernel, &d.kernel, &bar)?);
    let root_type = if rootfs.is_dir() {
        files.push(squash(ctx, st, rootfs, &d.root)?);
        RootType::Squashfs
    } else {
        files.push(copy_file(ctx, st, rootfs, Role::Root, &d.root, &bar)?);
        layout::sniff_file(rootfs)?
    };
    let from = match &req.initrd {
        Some(i) => {
            files.push(copy_file(ctx, st, i, Role::Initrd, &d.initrd, &bar)?);
            "given"
        }
        None => {
            files.push(live_initrd(ctx, st, kver.as_deref(), root_type, &d.initrd)?);
            "dracut"
        }
    };
    Ok(Found {
        root_type,
        kver,
        initrd_from: from,
        initrd_modules: None,
    })
}

/// Streams `src` into the staged file for `dst` while hashing it (only hashing under
/// --dry-run, where no staged file is handed out).
fn bring(
    ctx: &Ctx,
    st: &mut Staging,
    src: &mut dyn Read,
    len: Option<u64>,
    role: Role,
    dst: &Path,
    bar: &Progress,
) -> Result<FileEntry> {
    let progress = |n| bar.inc(n);
    let copied = match st.file(dst) {
        Some(tmp) => copyhash::copy_hashed(src, len, &ctx.root.path(&tmp), &progress)?,
        None => copyhash::hash_reader(src, len, &progress)?,
    };
    Ok(entry(role, dst, copied))
}

fn entry(role: Role, dst: &Path, c: copyhash::Copied) -> FileEntry {
    FileEntry {
        role,
        path: dst.to_path_buf(),
        size: c.size,
        sha256: c.hex(),
    }
}

fn copy_file(
    ctx: &Ctx,
    st: &mut Staging,
    src: &Path,
    role: Role,
    dst: &Path,
    bar: &Progress,
) -> Result<FileEntry> {
    let mut f = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let len = f
        .metadata()
        .with_context(|| format!("reading {}", src.display()))?
        .len();
    bring(ctx, st, &mut f, Some(len), role, dst, bar)
        .with_context(|| format!("copying {}", src.display()))
}

/// What a build step produced, hashed; size 0 and no digest under --dry-run (not built).
fn built(ctx: &Ctx, role: Role, dst: &Path, out: Option<&Path>) -> Result<FileEntry> {
    match out {
        Some(tmp) => Ok(entry(
            role,
            dst,
            copyhash::hash_file(&ctx.root.path(tmp), &|_| {})?,
        )),
        None => Ok(FileEntry {
            role,
            path: dst.to_path_buf(),
            size: 0,
            sha256: String::new(),
        }),
    }
}

fn squash(ctx: &Ctx, st: &mut Staging, tree: &Path, dst: &Path) -> Result<FileEntry> {
    let tmp = st.file(dst);
    let out = ctx.root.path(tmp.as_deref().unwrap_or(dst));
    let (tree_s, out_s) = (tree.display().to_string(), out.display().to_string());
    let cmd = Cmd::new(
        Kind::Build,
        format!("squashing {}", tree.display()),
        &[
            "mksquashfs",
            &tree_s,
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
    if let Some(t) = &tmp {
        ctx.root.set_mode(t, 0o644)?;
    }
    built(ctx, Role::Root, dst, tmp.as_deref())
}

/// A live initramfs built with dracut for `kver` from this server's modules.
fn live_initrd(
    ctx: &Ctx,
    st: &mut Staging,
    kver: Option<&str>,
    root_type: RootType,
    dst: &Path,
) -> Result<FileEntry> {
    let Some(kver) = kver else {
        bail!("cannot build an initramfs: the kernel's version is unknown; pass --initrd FILE");
    };
    if root_type == RootType::Erofs {
        ctx.out
            .say("  note: EROFS live roots need dracut >= 103 in the client initramfs");
    }
    build_initrd(ctx, st, &Dracut::new(Purpose::Live, kver), dst)
}

fn build_initrd(ctx: &Ctx, st: &mut Staging, dr: &Dracut, dst: &Path) -> Result<FileEntry> {
    let tmp = st.file(dst);
    let what = match dr.purpose {
        Purpose::Live => format!("the initramfs for {}", dr.kver),
        Purpose::Nfs => format!("the NFS-root initramfs for {}", dr.kver),
    };
    let sp = Progress::spinner(ctx.out, &format!("building {what} with dracut"));
    dr.build(
        &ctx.runner,
        &ctx.root,
        tmp.as_deref().unwrap_or(dst),
        &format!("building {what}"),
    )?;
    sp.finish();
    built(ctx, Role::Initrd, dst, tmp.as_deref())
}
