//! `pxe-kit sync`: a failover pair's images (manifests and files), settings (hosts
//! included) and template overrides copied to the partner with rsync over SSH, and taken in
//! there by `pxe-kit sync --accept`, which makes an image bootable only once every file of it
//! matches its manifest's SHA-256.
//!
//! rsync does the copying: `--checksum` compares content (a file corrupted on the partner
//! differs and is sent again), `--compare-dest` the partner's live tree, so only what differs
//! from what the partner serves travels, into a staging directory of the partner's state
//! (`/var/lib/pxe-kit/sync/incoming`); a second run copies nothing. The settings travel as
//! `sync/from-ROLE.yaml` and the image list as `sync/from-ROLE.json`, which the partner keeps
//! after accepting them, so unchanged ones are not sent either.
//!
//! The receiver trusts the partner with images and nothing else (README, "What sync --accept
//! trusts"): names by the image-name rule, files only at the places it derives itself from
//! the name and role, read from the staging without following a symbolic link, no NFS roots,
//! template overrides only when its settings opt in, and its own identity, paths, daemons and
//! firewall kept (`merge_settings`). It changes the tree all or nothing.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::apply::{self, Desired};
use crate::config::{check_image_name, Config, Role};
use crate::copyhash;
use crate::ctx::Ctx;
use crate::distro::{Profile, STATE_DIR, TEMPLATE_DIR};
use crate::image::{self, check, Manifest};
use crate::render::{Templates, BUILTIN, KEA_PATCH};
use crate::root::{Root, Staging};
use crate::runner::shell_join;

/// The partner's staging directory for what rsync brings.
pub fn incoming_dir() -> PathBuf {
    Path::new(STATE_DIR).join("sync/incoming")
}

/// The settings and the image list a member sends, by its role (kept by the partner after
/// accepting, under the same names).
pub fn sent_settings(role: Role) -> PathBuf {
    Path::new(STATE_DIR).join(format!("sync/from-{}.yaml", role.key()))
}
pub fn sent_index(role: Role) -> PathBuf {
    Path::new(STATE_DIR).join(format!("sync/from-{}.json", role.key()))
}

/// The images a member serves: name → SHA-256 of its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub images: BTreeMap<String, String>,
}

/// What one sync sends: the paths (relative to the root) for rsync's `--files-from`.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub files: Vec<String>,
    pub images: usize,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn rel(p: &Path) -> String {
    p.to_string_lossy().trim_start_matches('/').to_string()
}

/// Writes this member's outgoing settings and image list into its state directory and lists
/// every file to send.
pub fn outgoing(ctx: &Ctx, cfg: &Config) -> Result<Outgoing> {
    let Some(peers) = &cfg.peers else {
        bail!("{} has no peers: section; make this server one of a pair first: `pxe-kit init --peer IP --role primary|secondary`", ctx.config_display().display());
    };
    let images = image::load_all(&ctx.root)?;
    let mut out = Outgoing {
        images: images.len(),
        ..Default::default()
    };
    for m in images.iter().filter(|m| m.nfs_export.is_none()) {
        for f in &m.files {
            if !ctx.root.exists(&f.path) {
                bail!(
                    "image {}: {} is missing here; fix this server first (`pxe-kit doctor`)",
                    m.name,
                    f.path.display()
                );
            }
            out.files.push(rel(&f.path));
        }
        out.files.push(rel(&image::manifest_path(&m.name)));
    }
    let index = index(ctx)?;
    let settings = cfg.to_yaml();
    ctx.root
        .write(&sent_settings(peers.role), settings.as_bytes(), 0o644)?;
    let idx = serde_json::to_vec_pretty(&index).expect("index serialises");
    ctx.root.write(&sent_index(peers.role), &idx, 0o644)?;
    out.files.push(rel(&sent_settings(peers.role)));
    out.files.push(rel(&sent_index(peers.role)));
    // Only what the partner takes: regular files named like a template (a backup or a
    // sub-directory beside them would make its accept refuse them all).
    for name in ctx.root.list_dir(Path::new(TEMPLATE_DIR))? {
        let p = Path::new(TEMPLATE_DIR).join(&name);
        let known = is_template_name(&name);
        let regular = ctx.root.lstat(&p)?.is_some_and(|m| m.file_type().is_file());
        if known && regular {
            out.files.push(rel(&p));
        } else {
            ctx.out.say(format!(
                "sync: {} is not sent: template overrides are regular files named like the built-in templates",
                p.display()
            ));
        }
    }
    Ok(out)
}

/// Whether `name` is a template override's: a built-in template's name or Kea's patch.
fn is_template_name(name: &str) -> bool {
    name == KEA_PATCH || BUILTIN.iter().any(|(b, _)| *b == name)
}

/// The images this member serves, by the SHA-256 of their manifests (which hold every
/// file's). NFS roots are trees without checksums: not replicated.
pub fn index(ctx: &Ctx) -> Result<Index> {
    let mut index = Index::default();
    for m in image::load_all(&ctx.root)?
        .iter()
        .filter(|m| m.nfs_export.is_none())
    {
        let text = ctx.root.read(&image::manifest_path(&m.name))?;
        index.images.insert(m.name.clone(), sha256_hex(&text));
    }
    Ok(index)
}

/// How the sender reaches the partner.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `[user@]host`.
    pub target: String,
    /// The SSH command, split in words (`ssh -o BatchMode=yes` by default).
    pub ssh: Vec<String>,
    /// The partner's root (`/`, or a staged root).
    pub root: PathBuf,
    /// pxe-kit on the partner.
    pub pxe_kit: String,
}

/// rsync's command line: only what differs from the partner's live tree (by content) into
/// its staging directory.
pub fn rsync_argv(local_root: &Path, list: &Path, r: &Remote) -> Vec<String> {
    let dest = r.root.join(rel(&incoming_dir()));
    let mut v: Vec<String> = vec![
        "rsync".into(),
        "--archive".into(),
        "--checksum".into(),
        "--numeric-ids".into(),
        "--mkpath".into(),
        "--stats".into(),
        format!("--files-from={}", list.display()),
        format!("--compare-dest={}", r.root.display()),
        "--rsh".into(),
        shell_join(&r.ssh),
    ];
    v.push(format!("{}/", local_root.display()));
    v.push(format!("{}:{}/", r.target, dest.display()));
    v
}

/// The command the partner runs to take the staged files in.
pub fn accept_argv(r: &Remote, from: Role) -> Vec<String> {
    let mut v = r.ssh.clone();
    v.push(r.target.clone());
    v.push(shell_join(&[
        r.pxe_kit.as_str(),
        "--root",
        &r.root.display().to_string(),
        "sync",
        "--accept",
        from.key(),
    ]));
    v
}

/// rsync's `--stats`: files transferred and their bytes.
pub fn parse_stats(stdout: &str) -> (u64, u64) {
    let num = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|r| r.split_whitespace().next().map(|n| n.replace(',', "")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (
        num("Number of regular files transferred:"),
        num("Total transferred file size:"),
    )
}

/// What `--accept` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Images made bootable (new or changed), and the files installed for them.
    pub images: Vec<String>,
    pub files: usize,
    pub removed: Vec<String>,
    /// Images refused, each with the file and the rule: a name, a manifest or a file that is
    /// not what this server takes.
    pub refused: Vec<String>,
    pub settings: bool,
}

/// The sender's settings with this member's own: its identity (interface, address, its side
/// of the pair), where it keeps its files (`tftp_root`, `http_dir`), how it runs its daemons
/// (`tftp_launcher`, `dhcp`), what its firewall keeps open (`firewall`) and whether it takes
/// template overrides (`peers.accept_templates`) stay this server's; the rest (the pool and
/// its options, the hosts, the menu) is the pair's. Refused when the sender is not this
/// member's partner.
pub fn merge_settings(mine: &Config, theirs: &Config) -> Result<Config> {
    let (Some(me), Some(them)) = (&mine.peers, &theirs.peers) else {
        bail!("both members need a peers: section; run `pxe-kit init --peer IP --role …` on each");
    };
    if them.partner != mine.server_ip || me.partner != theirs.server_ip {
        bail!(
            "the sender ({}) names {} as its partner, this server is {} and names {}; fix peers.partner on one of them",
            theirs.server_ip,
            them.partner,
            mine.server_ip,
            me.partner
        );
    }
    if them.role == me.role {
        bail!(
            "both members say they are {}; give one of them --role {}",
            me.role.key(),
            me.role.other().key()
        );
    }
    let mut cfg = theirs.clone();
    cfg.interface = mine.interface.clone();
    cfg.server_ip = mine.server_ip;
    // Where files go and what the system runs are this server's: a partner that could set
    // them could make it write its menus anywhere or open its firewall.
    cfg.tftp_root = mine.tftp_root.clone();
    cfg.http_dir = mine.http_dir.clone();
    cfg.tftp_launcher = mine.tftp_launcher;
    cfg.dhcp = mine.dhcp;
    cfg.firewall = mine.firewall.clone();
    let mut p = them.clone();
    p.partner = me.partner;
    p.role = me.role;
    p.ssh = me.ssh.clone();
    p.accept_templates = me.accept_templates;
    cfg.peers = Some(p);
    cfg.validate()?;
    Ok(cfg)
}

/// The most a manifest, image list, settings file or template may weigh: pxe-kit's own are a
/// few KiB; more is not read into memory.
const TEXT_LIMIT: u64 = 1 << 20;

/// A text the partner staged (`abs` as it is on the sender), read without following a
/// symbolic link anywhere below the staging directory; `None` when it did not travel.
fn read_staged(root: &Root, abs: &Path) -> Result<Option<Vec<u8>>> {
    let Some(f) = root.open_beneath(&incoming_dir(), Path::new(&rel(abs)))? else {
        return Ok(None);
    };
    let mut b = Vec::new();
    f.take(TEXT_LIMIT + 1)
        .read_to_end(&mut b)
        .with_context(|| format!("reading the partner's {}", abs.display()))?;
    if b.len() as u64 > TEXT_LIMIT {
        bail!(
            "the partner's {} is over {} KiB; pxe-kit sends no such file",
            abs.display(),
            TEXT_LIMIT / 1024
        );
    }
    Ok(Some(b))
}

/// The staging directory is this server's: rsync fills it, but it must be a directory, not a
/// symbolic link to somewhere else.
fn check_staging(root: &Root) -> Result<()> {
    let inc = incoming_dir();
    match root.lstat(&inc)? {
        Some(m) if !m.file_type().is_dir() => bail!(
            "{} is not a directory (a symbolic link?); remove it and run `pxe-kit sync` on the partner again",
            inc.display()
        ),
        _ => Ok(()),
    }
}

/// Takes in what rsync staged from the partner `from`, all or nothing: every image whose
/// name, manifest and files pass (see `image::check`) is staged beside its place, then one
/// converge renders everything with the partner's settings (and templates, when this server
/// takes them) and only once it all rendered and passed its daemon's test are the files
/// renamed into place, the manifests written and the images the partner dropped removed. The
/// staging directory goes on every exit: a later `pxe-kit sync` sends again what still
/// differs, and nothing refused lingers for a later accept to find.
pub fn accept(ctx: &Ctx, from: Role) -> Result<Accepted> {
    let r = accept_staged(ctx, from);
    let cleaned = ctx.root.remove_dir_all(&incoming_dir());
    let done = r?;
    cleaned?;
    Ok(done)
}

/// What the partner sent besides images: its image list and its settings (merged).
struct Sent {
    index: Index,
    /// The bytes to keep (so rsync does not send them again), by where they are kept.
    keep: Files,
    cfg: Config,
}

fn read_sent(ctx: &Ctx, from: Role, mine: &Config) -> Result<Sent> {
    let root = &ctx.root;
    let mut keep = Vec::new();
    let index_text = match read_staged(root, &sent_index(from))? {
        Some(b) => {
            keep.push((sent_index(from), b.clone()));
            b
        }
        None => match root.read_opt(&sent_index(from))? {
            Some(b) => b,
            None => bail!(
                "nothing was sent from the {}: run `pxe-kit sync` there",
                from.key()
            ),
        },
    };
    let index: Index = serde_json::from_slice(&index_text).with_context(|| {
        format!(
            "reading the partner's image list {}",
            sent_index(from).display()
        )
    })?;
    let cfg = match read_staged(root, &sent_settings(from))? {
        Some(b) => {
            let text =
                String::from_utf8(b.clone()).context("the partner's settings are not UTF-8")?;
            let theirs = Config::load(&sent_settings(from), &text)?;
            keep.push((sent_settings(from), b));
            merge_settings(mine, &theirs)?
        }
        None => mine.clone(),
    };
    Ok(Sent { index, keep, cfg })
}

/// Files to write, by where they go.
type Files = Vec<(PathBuf, Vec<u8>)>;

/// One image taken: its manifest, the bytes to write, its staged files.
struct Taken<'r> {
    manifest: Manifest,
    text: Vec<u8>,
    changed: bool,
    files: usize,
    staging: Staging<'r>,
}

// Long: the accept read in order: what came, each image checked and staged, the templates,
// then one converge whose commit points make the changes.
fn accept_staged(ctx: &Ctx, from: Role) -> Result<Accepted> {
    let mine = ctx.require_config()?;
    let root = &ctx.root;
    check_staging(root)?;
    let sent = read_sent(ctx, from, &mine)?;
    let mut done = Accepted {
        settings: sent.keep.iter().any(|(p, _)| *p == sent_settings(from)),
        ..Default::default()
    };
    let mut cfg = sent.cfg;
    let profile = ctx.profile(Some(&cfg));
    let own = image::load_all(root)?;
    let mut images: Vec<Manifest> = Vec::new();
    let mut taken: Vec<Taken> = Vec::new();
    for (name, digest) in &sent.index.images {
        match take_image(ctx, &profile, name, digest, &own)? {
            Ok(t) => {
                images.push(t.manifest.clone());
                if t.changed || t.files > 0 {
                    done.images.push(name.clone());
                    done.files += t.files;
                }
                taken.push(t);
            }
            Err(why) => {
                done.refused.push(format!("{name}: {why}"));
                // What this server had of it stays as it was.
                if let Some(old) = own.iter().find(|m| m.name == *name) {
                    images.push(old.clone());
                }
            }
        }
    }
    let (gone, kept): (Vec<Manifest>, Vec<Manifest>) = own
        .into_iter()
        .filter(|m| !images.iter().any(|i| i.name == m.name))
        .partition(|m| !sent.index.images.contains_key(&m.name) && m.nfs_export.is_none());
    // This server's own NFS roots are not the partner's to remove.
    images.extend(kept);
    images.sort_by(|a, b| a.name.cmp(&b.name));
    if cfg.boot.default != "local" && !images.iter().any(|m| m.name == cfg.boot.default) {
        ctx.out.say(format!(
            "  the partner's menu default {} is not served here (refused); the menu defaults to local boot",
            cfg.boot.default
        ));
        cfg.boot.default = "local".into();
    }
    let opt_in = mine.peers.as_ref().is_some_and(|p| p.accept_templates);
    let (templates, template_files) = match take_templates(ctx, opt_in)? {
        Some((t, f)) => (Some(t), f),
        None => (None, Vec::new()),
    };
    let mut writes: Files = Vec::new();
    let mut relabel: Vec<PathBuf> = Vec::new();
    let mut stagings = Vec::new();
    for t in taken {
        if t.changed {
            writes.push((image::manifest_path(&t.manifest.name), t.text));
        }
        if t.files > 0 {
            relabel.extend(check::image_dirs(&profile, &t.manifest.name));
        }
        stagings.push(t.staging);
    }
    writes.extend(template_files);
    writes.extend(sent.keep);
    let want = Desired { cfg, images };
    apply::announce(ctx, "sync", &want.cfg);
    let opts = apply::Options {
        templates,
        relabel,
        ..Default::default()
    };
    let gone_names: Vec<String> = gone.iter().map(|m| m.name.clone()).collect();
    let commit = apply::Commit {
        // The files go into place before their manifests, all once everything rendered.
        first: Some(Box::new(move || {
            for st in stagings {
                st.commit()?;
            }
            let batch: Vec<(&Path, &[u8], u32)> = writes
                .iter()
                .map(|(p, b)| (p.as_path(), b.as_slice(), 0o644))
                .collect();
            root.write_many(&batch)?;
            Ok(())
        })),
        // Dropped images go once no menu names them; only their own directories, derived
        // here from the name, never the paths their manifests list.
        then: Some(Box::new(|| {
            for name in &gone_names {
                root.remove(&image::manifest_path(name))?;
                for d in check::image_dirs(&profile, name) {
                    root.remove_dir_all(&d)?;
                }
            }
            Ok(())
        })),
    };
    let report = apply::converge_with(ctx, &want, &opts, commit)?;
    done.removed = gone.into_iter().map(|m| m.name).collect();
    apply::conclude(ctx, &report, false);
    Ok(done)
}

/// Checks image `name` as the partner sent it and stages its files; `Err` is why it is
/// refused (the file and the rule).
fn take_image<'r>(
    ctx: &'r Ctx,
    profile: &Profile,
    name: &str,
    digest: &str,
    own: &[Manifest],
) -> Result<std::result::Result<Taken<'r>, String>> {
    let root = &ctx.root;
    if let Err(e) = check_image_name(name) {
        return Ok(Err(format!("{e:#}; not taken")));
    }
    if own.iter().any(|m| m.name == name && m.nfs_export.is_some()) {
        return Ok(Err(
            "this server's image of that name is an NFS root, which sync leaves alone".into(),
        ));
    }
    let mp = image::manifest_path(name);
    let text = match read_staged(root, &mp) {
        Ok(Some(t)) => t,
        Ok(None) => match root.read_opt(&mp)? {
            Some(t) => t,
            None => return Ok(Err("its manifest did not arrive".into())),
        },
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    if sha256_hex(&text) != digest {
        return Ok(Err("its manifest differs from the list sent".into()));
    }
    let manifest = match check::foreign_manifest(&text, name, profile) {
        Ok(m) => m,
        Err(why) => return Ok(Err(why)),
    };
    let changed = root.read_opt(&mp)?.as_deref() != Some(&text[..]);
    Ok(match stage_files(ctx, profile, &manifest)? {
        Ok((staging, files)) => Ok(Taken {
            manifest,
            text,
            changed,
            files,
            staging,
        }),
        Err(why) => Err(why),
    })
}

/// Stages the image's files that travelled beside their places (at the places this server
/// derives) and checks every file, staged or already here, against the manifest; returns the
/// staging (uncommitted) and how many files travelled, or why the image is refused.
fn stage_files<'r>(
    ctx: &'r Ctx,
    profile: &Profile,
    m: &Manifest,
) -> Result<std::result::Result<(Staging<'r>, usize), String>> {
    let root = &ctx.root;
    let inc = incoming_dir();
    let mut st = root.staging();
    // Every directory first: preparing one clears the temporary files left in it.
    for d in check::image_dirs(profile, &m.name) {
        st.dir(&d)?;
    }
    let mut n = 0;
    for (role, path) in check::image_paths(profile, &m.name) {
        let f = m.file(role).expect("checked: every role is there");
        let (dir, file) = (
            path.parent().expect("an image file has a directory"),
            Path::new(path.file_name().expect("an image file has a name")),
        );
        let got = match root.open_beneath(&inc, Path::new(&rel(&path))) {
            Ok(Some(mut src)) => {
                n += 1;
                match st.file(&path) {
                    Some(tmp) => {
                        copyhash::copy_hashed(&mut src, Some(f.size), &root.path(&tmp), &|_| {})
                    }
                    None => copyhash::hash_reader(&mut src, Some(f.size), &|_| {}),
                }
            }
            // Unchanged here, so rsync did not send it: this server's own copy, which must be
            // a regular file too.
            Ok(None) => match root.open_beneath(dir, file) {
                Ok(Some(mut own)) => copyhash::hash_reader(&mut own, Some(f.size), &|_| {}),
                Ok(None) => return Ok(Err(format!("{} did not arrive", path.display()))),
                Err(e) => return Ok(Err(format!("{e:#}"))),
            },
            Err(e) => return Ok(Err(format!("{e:#}"))),
        };
        let digest = match got {
            Ok(c) => c.hex(),
            Err(e) => return Ok(Err(format!("{}: {e:#}; not made bootable", path.display()))),
        };
        if digest != f.sha256 {
            // Dropping the staging removes what it copied: nothing of it is served.
            return Ok(Err(format!(
                "SHA-256 of {} is {digest}, its manifest says {}; not made bootable",
                path.display(),
                f.sha256
            )));
        }
    }
    Ok(Ok((st, n)))
}

/// The partner's template overrides, when this server takes them (`peers.accept_templates`):
/// this server's overrides with the partner's over them, and the files to write once they
/// rendered. Without the opt-in they are ignored, said in one line. Anything in the staged
/// templates directory that is not a regular file named like a template refuses the whole
/// accept: the templates are one set.
fn take_templates(ctx: &Ctx, opt_in: bool) -> Result<Option<(Templates, Files)>> {
    let root = &ctx.root;
    let tdir = Path::new(TEMPLATE_DIR);
    let staged = incoming_dir().join(rel(tdir));
    let Some(meta) = root.lstat(&staged)? else {
        return Ok(None);
    };
    let refuse = |what: &str| {
        anyhow::anyhow!("refused the partner's template overrides: {what}; nothing was changed")
    };
    if !meta.file_type().is_dir() {
        if !opt_in {
            return Ok(None);
        }
        return Err(refuse(&format!("{} is not a directory", staged.display())));
    }
    let names = root.list_dir(&staged)?;
    if names.is_empty() {
        return Ok(None);
    }
    if !opt_in {
        ctx.out.say(format!(
            "ignored: the partner's template overrides ({}); this server takes them only with `accept_templates: true` under peers: in its settings",
            names.join(", ")
        ));
        return Ok(None);
    }
    let mut t = Templates::load(root)?;
    let mut files = Vec::new();
    for n in names {
        let abs = tdir.join(&n);
        if !root
            .lstat(&staged.join(&n))?
            .is_some_and(|m| m.file_type().is_file())
        {
            return Err(refuse(&format!(
                "{}: not a regular file; only regular files are taken",
                staged.join(&n).display()
            )));
        }
        if !is_template_name(&n) {
            return Err(refuse(&format!(
                "{} is not a template pxe-kit knows (the built-in templates' names and {KEA_PATCH})",
                staged.join(&n).display()
            )));
        }
        let bytes = read_staged(root, &abs)
            .map_err(|e| refuse(&format!("{e:#}")))?
            .ok_or_else(|| refuse(&format!("{} vanished", staged.join(&n).display())))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| refuse(&format!("{} is not UTF-8 text", staged.join(&n).display())))?;
        t.set(&n, text);
        files.push((abs, bytes));
    }
    Ok(Some((t, files)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_argv() {
        let out = "Number of files: 7 (reg: 5, dir: 2)\nNumber of regular files transferred: 3\nTotal file size: 1,234 bytes\nTotal transferred file size: 1,048,576 bytes\n";
        assert_eq!(parse_stats(out), (3, 1_048_576));
        assert_eq!(parse_stats(""), (0, 0));
        let r = Remote {
            target: "root@10.0.0.2".into(),
            ssh: vec!["ssh".into(), "-o".into(), "BatchMode=yes".into()],
            root: "/".into(),
            pxe_kit: "pxe-kit".into(),
        };
        let v = rsync_argv(Path::new("/"), Path::new("/tmp/list"), &r);
        assert!(
            v.contains(&"--checksum".to_string()) && v.contains(&"--compare-dest=/".to_string())
        );
        assert_eq!(
            v.last().unwrap(),
            "root@10.0.0.2:/var/lib/pxe-kit/sync/incoming/"
        );
        assert_eq!(
            accept_argv(&r, Role::Primary).last().unwrap(),
            "pxe-kit --root / sync --accept primary"
        );
    }

    #[test]
    fn the_partner_keeps_its_identity() {
        let base = |ip: &str, partner: &str, role: &str| {
            let c: Config = serde_yaml::from_str(&format!(
                "interface: ens4\nserver_ip: {ip}\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\npeers:\n  partner: {partner}\n  role: {role}\n"
            ))
            .unwrap();
            c.validate().unwrap();
            c
        };
        let mut a = base("10.0.0.1", "10.0.0.2", "primary");
        a.lease_time = 7200;
        a.tftp_root = Some("/etc".into());
        a.http_dir = Some("/etc/apache2/conf-enabled".into());
        a.firewall.services = vec!["telnet".into()];
        a.dhcp.nice = Some(-20);
        a.peers.as_mut().unwrap().accept_templates = true;
        let mut b = base("10.0.0.2", "10.0.0.1", "secondary");
        b.interface = "eno1".into();
        let m = merge_settings(&b, &a).unwrap();
        assert_eq!(m.lease_time, 7200);
        assert_eq!(m.interface, "eno1");
        assert_eq!(m.server_ip, b.server_ip);
        assert_eq!(m.peers.as_ref().unwrap().role, Role::Secondary);
        assert_eq!(m.peers.as_ref().unwrap().partner, a.server_ip);
        // Where files go, what runs and what the firewall keeps are the receiver's.
        assert_eq!(m.tftp_root, None);
        assert_eq!(m.http_dir, None);
        assert!(m.firewall.services.is_empty());
        assert_eq!(m.dhcp, b.dhcp);
        assert!(!m.peers.as_ref().unwrap().accept_templates);
        let stranger = base("10.0.0.3", "10.0.0.4", "primary");
        assert!(merge_settings(&b, &stranger)
            .unwrap_err()
            .to_string()
            .contains("partner"));
        let twin = base("10.0.0.1", "10.0.0.2", "secondary");
        assert!(merge_settings(&b, &twin)
            .unwrap_err()
            .to_string()
            .contains("both members"));
    }
}
