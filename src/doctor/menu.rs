//! Boot menu checks: every kernel, initrd, module and root image the pxelinux.cfg files name
//! exists on disk; pxelinux.0 and ldlinux.c32 come from one syslinux build; each live image's
//! initramfs carries dracut's livenet module, each NFS-root image's dracut's nfs module;
//! GRUB's own parser accepts grub.cfg and the iPXE scripts hold together (a template override
//! renders without drift, so only these see a menu it broke).
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Check, Env, Finding};
use crate::need;
use crate::runner::{Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "menu.files",
            title: "every file the boot menu names exists",
            run: files,
        },
        Check {
            id: "menu.syslinux",
            title: "pxelinux.0 and ldlinux.c32 come from one syslinux build",
            run: syslinux,
        },
        Check {
            id: "menu.livenet",
            title: "live images' initramfs has dracut's livenet module",
            run: livenet,
        },
        Check {
            id: "menu.nfs",
            title: "NFS-root images' initramfs has dracut's nfs module (entries boot selinux=0)",
            run: nfs,
        },
        Check {
            id: "menu.grub",
            title: "GRUB accepts grub.cfg (grub-script-check)",
            run: grub,
        },
        Check {
            id: "menu.ipxe",
            title: "the iPXE scripts run only iPXE commands and jump only to their own labels",
            run: ipxe,
        },
    ]
}

/// One LABEL of a pxelinux config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuEntry {
    pub label: String,
    pub kernel: Option<String>,
    pub initrds: Vec<String>,
    /// The URL of `root=live:URL` (or a bare `root=http://…`), as written.
    pub root_url: Option<String>,
}

/// One parsed file of pxelinux.cfg/.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuFile {
    /// Path on the server.
    pub path: PathBuf,
    /// `UI` and `DEFAULT`/`KERNEL` modules (menu.c32 …) named outside labels.
    pub modules: Vec<String>,
    pub entries: Vec<MenuEntry>,
}

/// Parses a pxelinux config (pure). Keywords are case-insensitive; `INITRD` and `initrd=` in
/// APPEND both name initrds (comma-separated); `APPEND -` means no arguments.
pub fn parse_menu(text: &str) -> (Vec<String>, Vec<MenuEntry>) {
    let mut modules = Vec::new();
    let mut entries: Vec<MenuEntry> = Vec::new();
    for raw in text.lines() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (kw, rest) = match l.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_ascii_uppercase(), r.trim()),
            None => (l.to_ascii_uppercase(), ""),
        };
        match kw.as_str() {
            "LABEL" => entries.push(MenuEntry {
                label: rest.to_string(),
                ..Default::default()
            }),
            "UI" => modules.push(rest.split_whitespace().next().unwrap_or("").to_string()),
            "KERNEL" | "LINUX" => match entries.last_mut() {
                Some(e) => {
                    e.kernel = Some(rest.split_whitespace().next().unwrap_or("").to_string())
                }
                None => modules.push(rest.to_string()),
            },
            "INITRD" => {
                if let Some(e) = entries.last_mut() {
                    e.initrds.extend(
                        rest.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty()),
                    );
                }
            }
            "APPEND" => {
                let Some(e) = entries.last_mut() else {
                    continue;
                };
                for w in rest.split_whitespace() {
                    if let Some(i) = w.strip_prefix("initrd=") {
                        e.initrds
                            .extend(i.split(',').filter(|s| !s.is_empty()).map(String::from));
                    } else if let Some(r) = w.strip_prefix("root=") {
                        let url = r.strip_prefix("live:").unwrap_or(r);
                        if url.starts_with("http://") || url.starts_with("https://") {
                            e.root_url = Some(url.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (modules, entries)
}

/// A path the boot loader fetches, relative to the TFTP root (pxelinux's working directory;
/// `::` and a leading `/` also mean the TFTP root under `in.tftpd -s`). With HTTP transfer the
/// menu names the same file as `http://SERVER/pxe-kit-tftp/<path>`.
pub fn tftp_rel(p: &str) -> String {
    if let Some((_, path)) = split_url(p) {
        let prefix = format!("{}/", crate::render::TFTP_URL_PREFIX);
        return path
            .strip_prefix(prefix.as_str())
            .unwrap_or(path)
            .trim_start_matches('/')
            .to_string();
    }
    p.trim_start_matches("::")
        .trim_start_matches('/')
        .to_string()
}

/// Splits an `http://host[:port]/path` URL into host and path (pure).
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Some((host, if path.is_empty() { "/" } else { path }))
}

/// The file on the server an image URL maps to, through httpd's `Alias PREFIX/ HTTP_DIR/`.
pub fn url_file(url_path: &str, http_prefix: &str, http_dir: &Path) -> Option<PathBuf> {
    let rest = url_path.strip_prefix(http_prefix)?.strip_prefix('/')?;
    if rest.split('/').any(|c| c == "..") {
        return None;
    }
    Some(http_dir.join(rest))
}

/// Reads every file in pxelinux.cfg/.
pub fn load(env: &Env) -> Result<Vec<MenuFile>> {
    let dir = env.profile.pxelinux_cfg_dir();
    let mut out = Vec::new();
    for name in env.ctx.root.list_dir(&dir)? {
        let p = dir.join(&name);
        if !env.ctx.root.path(&p).is_file()
            || name.starts_with('.')
            || name.ends_with(crate::root::BACKUP_SUFFIX)
        {
            continue;
        }
        let text = String::from_utf8_lossy(&env.ctx.root.read(&p)?).into_owned();
        let (modules, entries) = parse_menu(&text);
        out.push(MenuFile {
            path: p,
            modules,
            entries,
        });
    }
    Ok(out)
}

fn files(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    let menus = need!(env.menus());
    if menus.is_empty() {
        return Finding::fail(
            format!("{} holds no menu", env.profile.pxelinux_cfg_dir().display()),
            vec![format!("{} init", env.pxe_kit())],
        );
    }
    let tftp = &env.profile.tftp_root;
    let mut missing = Vec::new();
    let mut checked = 0;
    let mut ev = Vec::new();
    for m in menus {
        let mut need_tftp: Vec<(String, String)> =
            vec![("ldlinux.c32".into(), "boot loader".into())];
        need_tftp.extend(m.modules.iter().map(|x| (x.clone(), "module".to_string())));
        for e in &m.entries {
            if let Some(k) = &e.kernel {
                need_tftp.push((k.clone(), format!("kernel of {}", e.label)));
            }
            need_tftp.extend(
                e.initrds
                    .iter()
                    .map(|i| (i.clone(), format!("initrd of {}", e.label))),
            );
            if let Some(url) = &e.root_url {
                checked += 1;
                match split_url(url) {
                    Some((host, path)) => {
                        let host_ip = host.split(':').next().unwrap_or(host);
                        if host_ip != cfg.server_ip.to_string() {
                            missing.push(format!(
                                "{}: {} points at {host}, not this server {}",
                                m.path.display(),
                                e.label,
                                cfg.server_ip
                            ));
                        }
                        match url_file(path, env.profile.http_prefix, &env.profile.http_dir) {
                            Some(f) if env.ctx.root.path(&f).is_file() => {}
                            Some(f) => missing.push(format!(
                                "{}: root image of {} ({url}) → {} is missing",
                                m.path.display(),
                                e.label,
                                f.display()
                            )),
                            None => missing.push(format!(
                                "{}: {url} of {} is outside {}/ (what httpd serves)",
                                m.path.display(),
                                e.label,
                                env.profile.http_prefix
                            )),
                        }
                    }
                    None => missing.push(format!(
                        "{}: {} has an unreadable URL {url}",
                        m.path.display(),
                        e.label
                    )),
                }
            }
        }
        for (f, what) in need_tftp {
            checked += 1;
            let p = tftp.join(tftp_rel(&f));
            if !env.ctx.root.path(&p).is_file() {
                missing.push(format!(
                    "{}: {what} {f} → {} is missing",
                    m.path.display(),
                    p.display()
                ));
            }
        }
        ev.push(format!("{}: {} entries", m.path.display(), m.entries.len()));
    }
    if missing.is_empty() {
        return Finding::ok(format!(
            "all {checked} files named by {} menu file(s) exist",
            menus.len()
        ))
        .with_evidence(ev);
    }
    Finding::fail(
        format!(
            "{} file(s) named by the boot menu are missing: {}",
            missing.len(),
            missing[0]
        ),
        vec![
            format!(
                "{} doctor --fix   (re-renders the menu from the image manifests)",
                env.pxe_kit()
            ),
            format!(
                "if an image's files are gone: {} remove-image NAME, then add-image it again",
                env.pxe_kit()
            ),
        ],
    )
    .with_evidence(missing)
}

/// `PXELINUX 6.04 PXE 20200816` style banner of a syslinux core (pure): the version and the
/// build date. The core's uncompressed stub carries it; ldlinux.c32 carries none (the banner
/// lives in the core), which is why the build is matched through the files' provenance.
pub fn banner(bytes: &[u8]) -> Option<(String, String)> {
    let re = regex::bytes::Regex::new(r"(?:PXELINUX|SYSLINUX|ISOLINUX|EXTLINUX) ([0-9]+\.[0-9]+[^ \x00]*) [^ \x00]+ ([0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})").expect("valid regex");
    let c = re.captures(bytes)?;
    Some((
        String::from_utf8_lossy(&c[1]).into_owned(),
        String::from_utf8_lossy(&c[2]).into_owned(),
    ))
}

/// Judges the loader pair (pure): the served copies against the distribution's files they
/// are copied from, and the versions of the packages those came from.
pub fn judge_syslinux(
    served: [(&str, Option<&[u8]>); 2],
    sources: [(&Path, Option<&[u8]>); 2],
    pkg_versions: Option<Vec<String>>,
    fix: String,
) -> Finding {
    let mut ev = Vec::new();
    let mut problems = Vec::new();
    if let Some(Some((v, d))) = served[0].1.map(banner) {
        ev.push(format!("pxelinux.0: syslinux {v}, built {d}"));
    }
    for ((name, got), (src, want)) in served.iter().zip(sources.iter()) {
        match (got, want) {
            (None, _) => problems.push(format!("{name} is missing from the TFTP root")),
            (Some(_), None) => ev.push(format!(
                "{} is not on this host: cannot compare {name}",
                src.display()
            )),
            (Some(g), Some(w)) if g != w => problems.push(format!(
                "{name} differs from {} (another syslinux build)",
                src.display()
            )),
            (Some(_), Some(_)) => ev.push(format!("{name} is identical to {}", src.display())),
        }
    }
    if let Some(v) = &pkg_versions {
        ev.push(format!("package versions: {}", v.join(", ")));
        let mut u = v.clone();
        u.sort();
        u.dedup();
        if u.len() > 1 {
            problems.push(format!(
                "the packages of pxelinux.0 and ldlinux.c32 are of different versions ({})",
                v.join(" vs ")
            ));
        }
    }
    if !problems.is_empty() {
        return Finding::fail(problems.join("; "), vec![fix]).with_evidence(ev);
    }
    if sources.iter().any(|(_, w)| w.is_none()) {
        return Finding::warn("cannot prove pxelinux.0 and ldlinux.c32 are from one build: the distribution's copies are not here", vec![fix]).with_evidence(ev);
    }
    Finding::ok("pxelinux.0 and ldlinux.c32 are the distribution's copies of one syslinux build")
        .with_evidence(ev)
}

fn syslinux(env: &Env) -> Finding {
    let p = &env.profile;
    let src = |n: &str| {
        p.syslinux
            .iter()
            .find(|(x, _)| *x == n)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    let (ps, ls) = (src("pxelinux.0"), src("ldlinux.c32"));
    let rd = |path: &Path| env.ctx.root.read_opt(path).ok().flatten();
    let (pg, lg) = (
        rd(&p.tftp_root.join("pxelinux.0")),
        rd(&p.tftp_root.join("ldlinux.c32")),
    );
    let (pw, lw) = (rd(&ps), rd(&ls));
    // The packages that own the two sources, where the package database can be asked.
    let versions = env
        .live()
        .ok()
        .filter(|_| env.ctx.root.is_live())
        .and_then(|live| {
            let argv: Vec<String> = if p.is_redhat() {
                vec![
                    "rpm".into(),
                    "-q".into(),
                    "--qf".into(),
                    "%{VERSION}-%{RELEASE}\\n".into(),
                    "-f".into(),
                    ps.display().to_string(),
                    ls.display().to_string(),
                ]
            } else {
                vec![
                    "dpkg-query".into(),
                    "-W".into(),
                    "-f=${source:Version}\\n".into(),
                    "pxelinux".into(),
                    "syslinux-common".into(),
                ]
            };
            let o = live
                .runner
                .query(&Cmd::new(
                    Kind::Probe,
                    "asking which syslinux packages are installed",
                    &argv,
                ))
                .ok()
                .flatten()?;
            o.success.then(|| {
                o.stdout
                    .lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
        });
    judge_syslinux(
        [
            ("pxelinux.0", pg.as_deref()),
            ("ldlinux.c32", lg.as_deref()),
        ],
        [(&ps, pw.as_deref()), (&ls, lw.as_deref())],
        versions,
        format!(
            "{} doctor --fix   (copies both from the installed syslinux packages again)",
            env.pxe_kit()
        ),
    )
}

fn livenet(env: &Env) -> Finding {
    let menus = need!(env.menus());
    // The initrds of entries that boot a live root over HTTP.
    let mut initrds: Vec<(String, PathBuf)> = Vec::new();
    for m in menus {
        for e in m.entries.iter().filter(|e| e.root_url.is_some()) {
            for i in &e.initrds {
                let p = env.profile.tftp_root.join(tftp_rel(i));
                if !initrds.iter().any(|(_, q)| *q == p) {
                    initrds.push((e.label.clone(), p));
                }
            }
        }
    }
    if initrds.is_empty() {
        return Finding::ok("no live image in the menu yet");
    }
    let (read, recorded) = has_module(env, &initrds, "livenet");
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    if recorded > 0 {
        ev.push(format!(
            "{recorded} initramfs image(s) judged by what add-image recorded (same size on disk); --deep reads them again"
        ));
    }
    for (label, p, r) in read {
        match r {
            Ok(true) => ev.push(format!("{label}: {} has livenet", p.display())),
            Ok(false) => bad.push(format!(
                "{label}: {} lacks dracut's livenet module",
                p.display()
            )),
            Err(e) if e.contains("No such file") => {} // menu.files reports missing files
            Err(e) => bad.push(format!("{label}: {e}")),
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} live initramfs image(s) carry livenet",
            ev.len()
        ))
        .with_evidence(ev);
    }
    Finding::fail(
        format!("{} initramfs image(s) cannot boot a live root over HTTP: {}", bad.len(), bad[0]),
        vec![format!(
            "rebuild with livenet: {pk} remove-image NAME && {pk} add-image ISO --name NAME --dracut   (dracut needs dracut-live and dracut-network)",
            pk = env.pxe_kit()
        )],
    )
    .with_evidence(bad)
}

fn nfs(env: &Env) -> Finding {
    let images = need!(env.images());
    let initrds: Vec<(String, PathBuf)> = images
        .iter()
        .filter(|m| m.nfs_export.is_some())
        .filter_map(|m| {
            let f = m.file(crate::image::Role::Initrd)?;
            Some((m.name.clone(), f.path.clone()))
        })
        .collect();
    if initrds.is_empty() {
        return Finding::skip("no NFS-root images");
    }
    let (results, _) = has_module(env, &initrds, "nfs");
    judge_nfs_initrds(&results, &env.pxe_kit())
}

/// One initramfs's verdict: its label, its path on the server, whether it has the module (or
/// why it could not be read).
type Verdict = (String, PathBuf, Result<bool, String>);

/// Whether each initramfs (label, path on the server) carries dracut `module`: from what
/// add-image recorded in the image's manifest when the file still has the recorded size,
/// else (or with `--deep`) by reading the image, which means decompressing it — seconds per
/// image, the reason for the record. Returns the verdicts and how many came from records.
fn has_module(env: &Env, initrds: &[(String, PathBuf)], module: &str) -> (Vec<Verdict>, usize) {
    let recorded = |p: &Path| -> Option<bool> {
        if env.deep {
            return None;
        }
        let images = env.images().ok()?;
        let (m, f) = images.iter().find_map(|m| {
            let f = m.file(crate::image::Role::Initrd)?;
            (f.path == p).then_some((m, f))
        })?;
        let modules = m.initrd_modules.as_ref()?;
        let size = env.ctx.root.stat(p).ok()??.len();
        (size == f.size).then(|| modules.iter().any(|x| x == module))
    };
    let mut out = Vec::new();
    // (label, path on the server, path to read under the root)
    let mut to_read = Vec::new();
    for (label, p) in initrds {
        match recorded(p) {
            Some(has) => out.push((label.clone(), p.clone(), Ok(has))),
            None => to_read.push((label, p, env.ctx.root.path(p))),
        }
    }
    let from_records = out.len();
    // Decompressing initramfs images is CPU work: one thread per image.
    std::thread::scope(|s| {
        let hs: Vec<_> = to_read
            .iter()
            .map(|(l, p, under)| {
                s.spawn(move || {
                    let r = crate::initrd::inspect_path(under)
                        .map(|i| i.dracut_modules().iter().any(|x| x == module))
                        .map_err(|e| format!("{e:#}"));
                    ((*l).clone(), (*p).clone(), r)
                })
            })
            .collect();
        out.extend(
            hs.into_iter()
                .map(|h| h.join().expect("initrd inspection thread")),
        );
    });
    (out, from_records)
}

/// The verdict of `menu.nfs` (pure): per NFS-root image, its initrd (path on the server) and
/// whether it carries dracut's nfs module. The evidence also says why these entries boot
/// with selinux=0, which a reader of the menu may take for a mistake.
pub fn judge_nfs_initrds(results: &[Verdict], pk: &str) -> Finding {
    let mut ev = vec![format!(
        "selinux=0: {}; the clients' SELinux would otherwise deny or relabel every file",
        crate::image::NFS_SELINUX_NOTE
    )];
    let mut bad = Vec::new();
    for (name, p, r) in results {
        match r {
            Ok(true) => ev.push(format!("{name}: {} has dracut's nfs module", p.display())),
            Ok(false) => bad.push((
                name,
                format!("{name}: {} lacks dracut's nfs module", p.display()),
            )),
            // menu.files and images.integrity report missing files.
            Err(e) if e.contains("No such file") => ev.push(format!(
                "{name}: {} is missing (see menu.files)",
                p.display()
            )),
            Err(e) => bad.push((name, format!("{name}: {e}"))),
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!(
            "{} NFS-root image(s) carry dracut's nfs module and boot with selinux=0",
            results.len()
        ))
        .with_evidence(ev);
    }
    let summary = format!(
        "{} NFS-root initramfs image(s) cannot mount root=nfs: {}",
        bad.len(),
        bad[0].1
    );
    let fix = bad
        .iter()
        .map(|(name, _)| format!(
            "{pk} remove-image {name} --force && {pk} add-image --nfs TREE --name {name}   (builds the initramfs with dracut --add nfs from the tree; or pass --initrd FILE built so), then re-add its hosts"
        ))
        .collect();
    ev.extend(bad.into_iter().map(|(_, b)| b));
    Finding::fail(summary, fix).with_evidence(ev)
}

/// `grub-script-check` on each grub.cfg the UEFI loader reads.
fn grub(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    if cfg.boot.uefi != crate::config::UefiLoader::ShimGrub {
        return Finding::skip("UEFI clients get syslinux.efi (settings: boot.uefi): no grub.cfg");
    }
    let Some(bin) = crate::runner::find_program("grub-script-check") else {
        return Finding::skip(
            "grub-script-check is not installed on this host (package grub-common or grub2-tools)",
        );
    };
    let mut ev = Vec::new();
    for rel in &env.profile.efi.config {
        let p = env.profile.tftp_root.join(rel);
        let host = env.ctx.root.path(&p);
        if !host.is_file() {
            return Finding::fail(
                format!("{} is missing", p.display()),
                vec![format!("{} init", env.pxe_kit())],
            );
        }
        let hs = host.display().to_string();
        let cmd = Cmd::new(Kind::Check, "checking grub.cfg", &[bin.as_str(), &hs]);
        match env.ctx.runner.query(&cmd) {
            Ok(Some(o)) if o.success => {
                ev.push(format!("{}: grub-script-check passes", p.display()))
            }
            Ok(Some(o)) => {
                let said: Vec<String> = o
                    .stderr
                    .lines()
                    .chain(o.stdout.lines())
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.replace(&hs, &p.display().to_string()))
                    .collect();
                let line = said
                    .iter()
                    .find(|l| l.contains(" line "))
                    .or(said.first())
                    .cloned()
                    .unwrap_or_else(|| format!("exit {:?}", o.code));
                return Finding::fail(
                    format!("GRUB cannot parse {}: {line}", p.display()),
                    menu_fix(env, "grub.cfg.j2"),
                )
                .with_evidence(said);
            }
            Ok(None) => return Finding::skip("grub-script-check did not run"),
            Err(e) => return Finding::skip(format!("grub-script-check could not run: {e:#}")),
        }
    }
    Finding::ok(ev.join("; ")).with_evidence(ev)
}

/// The repair for a menu a loader cannot read: an override is the usual cause (the built-in
/// templates refuse any value that would break one).
fn menu_fix(env: &Env, template: &str) -> Vec<String> {
    let over = std::path::Path::new(crate::distro::TEMPLATE_DIR).join(template);
    let mut fix = Vec::new();
    if env.ctx.root.path(&over).is_file() {
        fix.push(format!(
            "correct or remove the override {}, then run {} init",
            over.display(),
            env.pxe_kit()
        ));
    }
    fix.push(format!(
        "{} doctor --fix   (puts back the rendered file)",
        env.pxe_kit()
    ));
    fix
}

/// Every iPXE script pxe-kit serves (boot.ipxe and the per-machine ones), checked as iPXE
/// reads it.
fn ipxe(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    if !cfg.boot.ipxe {
        return Finding::skip("settings: boot.ipxe is off, no iPXE script is served");
    }
    let dir = crate::plan::ipxe_dir(&env.profile);
    let main = dir.join("boot.ipxe");
    let mut files = vec![main.clone()];
    let hosts = dir.join("hosts");
    if let Ok(names) = env.ctx.root.list_dir(&hosts) {
        files.extend(
            names
                .iter()
                .filter(|n| n.ends_with(".ipxe"))
                .map(|n| hosts.join(n)),
        );
    }
    let mut problems = Vec::new();
    for f in &files {
        match env.ctx.root.read_string_opt(f) {
            Ok(Some(text)) => problems.extend(
                ipxe_problems(&text)
                    .into_iter()
                    .map(|p| format!("{}: {p}", f.display())),
            ),
            Ok(None) if *f == main => {
                return Finding::fail(
                    format!("{} is missing", main.display()),
                    vec![format!("{} init", env.pxe_kit())],
                )
            }
            Ok(None) => {}
            Err(e) => problems.push(format!("{}: {e:#}", f.display())),
        }
    }
    if problems.is_empty() {
        return Finding::ok(format!(
            "{} iPXE script(s) run only iPXE commands and jump only to their own labels",
            files.len()
        ));
    }
    Finding::fail(
        format!("an iPXE script does not hold together: {}", problems[0]),
        menu_fix(env, "boot.ipxe.j2"),
    )
    .with_evidence(problems)
}

/// The label of `item [--menu M] [--key K] [--default] [--gap] [LABEL [TEXT]]`, if any.
fn item_label<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--menu" | "--key" | "-m" | "-k" => {
                it.next();
            }
            "--gap" | "-g" => return None,
            x if x.starts_with('-') => {}
            x => return Some(x),
        }
    }
    None
}

/// iPXE's commands (its documentation's command list): anything else is a typo or text that
/// ended up where a command is read.
const IPXE_COMMANDS: &[&str] = &[
    "autoboot",
    "boot",
    "certfree",
    "certstat",
    "certstore",
    "chain",
    "choose",
    "clear",
    "colour",
    "console",
    "cpair",
    "cpuid",
    "dhcp",
    "echo",
    "exit",
    "fcels",
    "fcstat",
    "form",
    "goto",
    "ibstat",
    "ifclose",
    "ifconf",
    "ifopen",
    "ifstat",
    "imgargs",
    "imgexec",
    "imgextract",
    "imgfetch",
    "imgfree",
    "imginfo",
    "imgload",
    "imgselect",
    "imgstat",
    "imgtrust",
    "imgverify",
    "initrd",
    "inc",
    "ipstat",
    "iseq",
    "isset",
    "item",
    "kernel",
    "login",
    "lotest",
    "menu",
    "module",
    "nslookup",
    "nstat",
    "ntp",
    "param",
    "params",
    "pciscan",
    "ping",
    "poweroff",
    "prompt",
    "pxebs",
    "read",
    "reboot",
    "route",
    "sanboot",
    "sanhook",
    "sanunhook",
    "set",
    "shell",
    "show",
    "sleep",
    "sync",
    "time",
    "vcreate",
    "vdestroy",
];

/// What is wrong with an iPXE script as iPXE reads it (pure; `core/exec.c`): each line split
/// at whitespace, a word starting with `#` ending it, `||`, `&&` and `;` separating commands.
/// Problems: no `#!ipxe` first line, a command iPXE does not have, a comment starting after
/// a command's words (iPXE drops the rest of that line, a `|| goto` fallback with it), and a
/// `goto`, `choose --default` or menu `item` naming a label the script does not have.
pub fn ipxe_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("#!ipxe") {
        problems.push("the first line is not #!ipxe".to_string());
    }
    let mut labels = std::collections::BTreeSet::new();
    let mut targets = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let l = line.trim_start();
        if let Some(label) = l.strip_prefix(':') {
            labels.insert(label.trim().to_string());
            continue;
        }
        let words: Vec<&str> = l.split_whitespace().collect();
        let end = words
            .iter()
            .position(|w| w.starts_with('#'))
            .unwrap_or(words.len());
        if end == 0 {
            // Blank, or a comment line.
            continue;
        }
        if end < words.len() {
            problems.push(format!(
                "line {n}: iPXE ignores everything from {:?} on (a word starting with #): {l}",
                words[end]
            ));
        }
        for cmd in words[..end].split(|w| ["||", "&&", ";"].contains(w)) {
            let Some(name) = cmd.first() else {
                problems.push(format!("line {n}: an empty command: {l}"));
                continue;
            };
            if !IPXE_COMMANDS.contains(name) {
                problems.push(format!("line {n}: iPXE has no command {name:?}: {l}"));
                continue;
            }
            let args: Vec<&str> = cmd[1..].to_vec();
            let label = match *name {
                "goto" => args.first().copied(),
                "choose" => args
                    .iter()
                    .position(|a| *a == "--default")
                    .and_then(|i| args.get(i + 1).copied()),
                "item" => item_label(&args),
                _ => None,
            };
            if let Some(t) = label.filter(|t| !t.contains("${")) {
                targets.push((n, t.to_string()));
            }
        }
    }
    for (n, t) in targets {
        if !labels.contains(&t) {
            problems.push(format!("line {n}: no label :{t} in the script"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    const MENU: &str = "# Generated by pxe-kit\nUI menu.c32\nPROMPT 0\nLABEL local\n    LOCALBOOT 0\n\nLABEL f42\n    MENU LABEL f42 (x.iso)\n    KERNEL pxe-kit/f42/vmlinuz\n    APPEND initrd=pxe-kit/f42/initrd.img root=live:http://10.0.0.1/pxe-kit/f42/squashfs.img rd.live.image quiet\n    IPAPPEND 2\nlabel old\n  linux /k2\n  initrd a.img,b.img\n  append root=http://10.0.0.1:8080/pxe-kit/old/rootfs.img\nLABEL none\n  KERNEL k3\n  APPEND -\n";

    #[test]
    fn menu_entries_parse_kernel_initrds_and_root_url() {
        let (modules, e) = parse_menu(MENU);
        assert_eq!(modules, ["menu.c32"]);
        assert_eq!(e.len(), 4);
        assert_eq!(
            e[0],
            MenuEntry {
                label: "local".into(),
                ..Default::default()
            }
        );
        assert_eq!(e[1].kernel.as_deref(), Some("pxe-kit/f42/vmlinuz"));
        assert_eq!(e[1].initrds, ["pxe-kit/f42/initrd.img"]);
        assert_eq!(
            e[1].root_url.as_deref(),
            Some("http://10.0.0.1/pxe-kit/f42/squashfs.img")
        );
        assert_eq!(e[2].kernel.as_deref(), Some("/k2"));
        assert_eq!(e[2].initrds, ["a.img", "b.img"]);
        assert_eq!(
            e[2].root_url.as_deref(),
            Some("http://10.0.0.1:8080/pxe-kit/old/rootfs.img")
        );
        assert_eq!(e[3].root_url, None);
        assert!(e[3].initrds.is_empty());
    }

    #[test]
    fn urls_map_to_the_http_dir_and_paths_to_the_tftp_root() {
        assert_eq!(
            split_url("http://10.0.0.1/pxe-kit/a/s.img"),
            Some(("10.0.0.1", "/pxe-kit/a/s.img"))
        );
        assert_eq!(split_url("http://h:8080"), Some(("h:8080", "/")));
        assert_eq!(split_url("ftp://h/x"), None);
        let d = Path::new("/var/www/html/pxe-kit");
        assert_eq!(
            url_file("/pxe-kit/a/s.img", "/pxe-kit", d),
            Some(d.join("a/s.img"))
        );
        assert_eq!(url_file("/other/a", "/pxe-kit", d), None);
        assert_eq!(url_file("/pxe-kit/../etc/passwd", "/pxe-kit", d), None);
        assert_eq!(tftp_rel("/k2"), "k2");
        assert_eq!(tftp_rel("::pxe-kit/x"), "pxe-kit/x");
        assert_eq!(
            tftp_rel("http://10.0.0.1/pxe-kit-tftp/pxe-kit/x/vmlinuz"),
            "pxe-kit/x/vmlinuz"
        );
    }

    #[test]
    fn banner_is_read_from_the_real_pxelinux() {
        let mut fake = b"\x00\x01junk PXELINUX 6.04 PXE 20200816 \x00more".to_vec();
        assert_eq!(banner(&fake), Some(("6.04".into(), "20200816".into())));
        fake.truncate(10);
        assert_eq!(banner(&fake), None);
        if let Ok(real) = std::fs::read("/usr/lib/PXELINUX/pxelinux.0") {
            let (v, d) = banner(&real).expect("Debian's pxelinux.0 carries a banner");
            assert!(v.starts_with('6') && d.len() == 8, "{v} {d}");
        }
    }

    #[test]
    fn syslinux_pair_is_judged_by_provenance_and_versions() {
        let (ps, ls) = (
            Path::new("/usr/lib/PXELINUX/pxelinux.0"),
            Path::new("/usr/lib/syslinux/modules/bios/ldlinux.c32"),
        );
        let good = judge_syslinux(
            [("pxelinux.0", Some(b"P")), ("ldlinux.c32", Some(b"L"))],
            [(ps, Some(b"P")), (ls, Some(b"L"))],
            Some(vec!["6.04-1".into(), "6.04-1".into()]),
            "fix".into(),
        );
        assert_eq!(good.status, Status::Ok, "{good:?}");
        let other = judge_syslinux(
            [("pxelinux.0", Some(b"P")), ("ldlinux.c32", Some(b"X"))],
            [(ps, Some(b"P")), (ls, Some(b"L"))],
            None,
            "fix".into(),
        );
        assert_eq!(other.status, Status::Fail);
        assert!(
            other.summary.contains("ldlinux.c32 differs"),
            "{}",
            other.summary
        );
        let vers = judge_syslinux(
            [("pxelinux.0", Some(b"P")), ("ldlinux.c32", Some(b"L"))],
            [(ps, Some(b"P")), (ls, Some(b"L"))],
            Some(vec!["6.04-1".into(), "6.03-2".into()]),
            "fix".into(),
        );
        assert_eq!(vers.status, Status::Fail);
        let unknown = judge_syslinux(
            [("pxelinux.0", Some(b"P")), ("ldlinux.c32", Some(b"L"))],
            [(ps, None), (ls, None)],
            None,
            "fix".into(),
        );
        assert_eq!(unknown.status, Status::Warn);
        let missing = judge_syslinux(
            [("pxelinux.0", Some(b"P")), ("ldlinux.c32", None)],
            [(ps, Some(b"P")), (ls, Some(b"L"))],
            None,
            "fix".into(),
        );
        assert!(missing.summary.contains("ldlinux.c32 is missing"));
    }

    #[test]
    fn nfs_initrds_judged_with_the_selinux_note() {
        let ok = judge_nfs_initrds(
            &[(
                "t".into(),
                "/srv/tftp/pxe-kit/t/initrd.img".into(),
                Ok(true),
            )],
            "pxe-kit",
        );
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        assert!(
            ok.evidence[0].contains("NFS carries no SELinux labels"),
            "{ok:?}"
        );
        let bad = judge_nfs_initrds(
            &[
                (
                    "t".into(),
                    "/srv/tftp/pxe-kit/t/initrd.img".into(),
                    Ok(false),
                ),
                (
                    "u".into(),
                    "/srv/tftp/pxe-kit/u/initrd.img".into(),
                    Err("No such file or directory".into()),
                ),
            ],
            "pxe-kit",
        );
        assert_eq!(bad.status, Status::Fail);
        assert!(
            bad.summary
                .contains("t: /srv/tftp/pxe-kit/t/initrd.img lacks dracut's nfs module"),
            "{}",
            bad.summary
        );
        assert_eq!(bad.fix.len(), 1);
        assert!(
            bad.fix[0].contains("remove-image t --force"),
            "{:?}",
            bad.fix
        );
    }

    #[test]
    fn ipxe_scripts_are_read_as_ipxe_reads_them() {
        let good = "#!ipxe\n# comment\nchain --autofree http://x/hosts/${mac}.ipxe || goto menu\n:menu\nmenu Lab 3 || goto f42\nitem local Boot\nitem --key f f42 f42 (x.iso)\nitem --gap Other\nchoose --default f42 --timeout 5000 target || goto f42\ngoto ${target}\n:local\nexit\n:f42\nkernel http://x/vmlinuz a&b \"acpi_osi=!Windows 2012\"\nboot\n";
        assert_eq!(ipxe_problems(good), Vec::<String>::new());
        let bad = |s: &str| ipxe_problems(&good.replace("menu Lab 3 || goto f42", s));
        assert!(bad("menu Lab #3 || goto f42")[0]
            .contains("line 5: iPXE ignores everything from \"#3\""));
        assert!(bad("menu Lab ; poweroff2")[0].contains("no command \"poweroff2\""));
        assert!(bad("menu Lab || goto f43")[0].contains("no label :f43"));
        assert!(bad("menu Lab || || goto f42")[0].contains("empty command"));
        assert!(ipxe_problems(&good.replace(":f42\n", ":f4\n")).len() >= 3);
        assert!(ipxe_problems(&good.replace("#!ipxe", "#!gpxe"))[0].contains("#!ipxe"));
    }
}
