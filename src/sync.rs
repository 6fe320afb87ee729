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
//! after accepting them, so unchanged ones are not sent either. The partner keeps its own
//! identity (interface, address, its side of `peers:`) and takes everything else.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::apply::{self, Desired};
use crate::config::{Config, Role};
use crate::copyhash;
use crate::ctx::Ctx;
use crate::distro::{STATE_DIR, TEMPLATE_DIR};
use crate::image::{self, Manifest};
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
    for name in ctx.root.list_dir(Path::new(TEMPLATE_DIR))? {
        out.files.push(rel(&Path::new(TEMPLATE_DIR).join(name)));
    }
    Ok(out)
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
    /// Images refused: a file does not match its manifest.
    pub refused: Vec<String>,
    pub settings: bool,
}

/// The sender's settings with this member's identity: its interface, address and its side
/// of the pair; refused when the sender is not this member's partner.
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
    let mut p = them.clone();
    p.partner = me.partner;
    p.role = me.role;
    p.ssh = me.ssh.clone();
    cfg.peers = Some(p);
    cfg.validate()?;
    Ok(cfg)
}

/// Takes in what rsync staged from the partner `from`: every image whose files all match
/// its manifest becomes bootable (files renamed into place together, the manifest last),
/// images the partner no longer has go, the settings follow, the menus are rendered again.
// Long: the accept is one transaction read best in order: read what came, check and install
// each image, converge, remove what went, keep the copies, clean the staging.
pub fn accept(ctx: &Ctx, from: Role) -> Result<Accepted> {
    let mine = ctx.require_config()?;
    let root = &ctx.root;
    let inc = incoming_dir();
    let staged = |p: &Path| inc.join(rel(p));
    let pick = |p: &Path| -> Result<Option<Vec<u8>>> {
        match root.read_opt(&staged(p))? {
            Some(b) => Ok(Some(b)),
            None => root.read_opt(p),
        }
    };
    let index: Index = match pick(&sent_index(from))? {
        Some(b) => serde_json::from_slice(&b).context("reading the partner's image list")?,
        None => bail!(
            "nothing was sent from the {}: run `pxe-kit sync` there",
            from.key()
        ),
    };
    let mut done = Accepted::default();
    let cfg = match root.read_opt(&staged(&sent_settings(from)))? {
        Some(b) => {
            let text = String::from_utf8(b).context("the partner's settings are not UTF-8")?;
            let theirs = Config::load(&sent_settings(from), &text)?;
            done.settings = true;
            merge_settings(&mine, &theirs)?
        }
        None => mine.clone(),
    };
    let mut images: Vec<Manifest> = Vec::new();
    for (name, digest) in &index.images {
        let mp = image::manifest_path(name);
        let Some(text) = pick(&mp)? else {
            done.refused
                .push(format!("{name}: its manifest did not arrive"));
            continue;
        };
        if sha256_hex(&text) != *digest {
            done.refused
                .push(format!("{name}: its manifest differs from the list sent"));
            continue;
        }
        let m: Manifest = serde_yaml::from_slice(&text)
            .with_context(|| format!("reading the partner's manifest of {name}"))?;
        let changed = root.read_opt(&mp)?.as_deref() != Some(&text[..]);
        match install(ctx, &m, &inc)? {
            Ok(n) => {
                if changed || n > 0 {
                    root.write(&mp, &text, 0o644)?;
                    done.images.push(name.clone());
                    done.files += n;
                }
                images.push(m);
            }
            Err(why) => {
                done.refused.push(format!("{name}: {why}"));
                // What this server had of it stays as it was.
                if let Some(old) = image::load(root, name)? {
                    images.push(old);
                }
            }
        }
    }
    let gone: Vec<Manifest> = image::load_all(root)?
        .into_iter()
        .filter(|m| !index.images.contains_key(&m.name) && m.nfs_export.is_none())
        .collect();
    let nfs: Vec<Manifest> = image::load_all(root)?
        .into_iter()
        .filter(|m| m.nfs_export.is_some() && !images.iter().any(|i| i.name == m.name))
        .collect();
    images.extend(nfs);
    // The menus stop naming removed images before their files go (as remove-image).
    let want = Desired { cfg, images };
    apply::announce(ctx, "sync", &want.cfg);
    let report = apply::converge(ctx, &want, &apply::Options::default())?;
    let profile = ctx.profile(Some(&want.cfg));
    for m in gone {
        root.remove(&image::manifest_path(&m.name))?;
        for f in &m.files {
            root.remove(&f.path)?;
        }
        let (tftp_dir, _) = profile.tftp_image_dir(&m.name);
        for d in [tftp_dir, profile.http_image_dir(&m.name)] {
            root.remove_dir_all(&d)?;
        }
        done.removed.push(m.name);
    }
    // Template overrides follow the partner's.
    let tdir = Path::new(TEMPLATE_DIR);
    for name in root.list_dir(&staged(tdir))? {
        let b = root.read(&staged(&tdir.join(&name)))?;
        root.write(&tdir.join(&name), &b, 0o644)?;
    }
    // Kept: unchanged next time, rsync sends them no more.
    for p in [sent_settings(from), sent_index(from)] {
        if let Some(b) = root.read_opt(&staged(&p))? {
            root.write(&p, &b, 0o644)?;
        }
    }
    root.remove_dir_all(&inc)?;
    apply::conclude(ctx, &report, false);
    Ok(done)
}

/// Brings one image's staged files into place when every file, staged or already here,
/// matches the manifest; returns how many were installed, or why the image was refused.
fn install(ctx: &Ctx, m: &Manifest, inc: &Path) -> Result<std::result::Result<usize, String>> {
    let root = &ctx.root;
    let mut st = root.staging();
    // Every directory first: preparing one clears the temporary files left in it.
    let mut dirs: Vec<&Path> = m.files.iter().filter_map(|f| f.path.parent()).collect();
    dirs.dedup();
    for d in dirs {
        st.dir(d)?;
    }
    let mut n = 0;
    for f in &m.files {
        let from_inc = inc.join(rel(&f.path));
        let digest = if root.exists(&from_inc) {
            let mut src = std::fs::File::open(root.path(&from_inc))
                .with_context(|| format!("opening {}", root.path(&from_inc).display()))?;
            n += 1;
            match st.file(&f.path) {
                Some(tmp) => {
                    copyhash::copy_hashed(&mut src, None, &root.path(&tmp), &|_| {})?.hex()
                }
                None => copyhash::hash_reader(&mut src, None, &|_| {})?.hex(),
            }
        } else if root.exists(&f.path) {
            copyhash::hash_file(&root.path(&f.path), &|_| {})?.hex()
        } else {
            return Ok(Err(format!("{} did not arrive", f.path.display())));
        };
        if digest != f.sha256 {
            // Dropping the staging removes what it copied: nothing of it is served.
            return Ok(Err(format!(
                "SHA-256 of {} is {digest}, its manifest says {}; not made bootable",
                f.path.display(),
                f.sha256
            )));
        }
    }
    st.commit()?;
    Ok(Ok(n))
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
        let mut b = base("10.0.0.2", "10.0.0.1", "secondary");
        b.interface = "eno1".into();
        let m = merge_settings(&b, &a).unwrap();
        assert_eq!(m.lease_time, 7200);
        assert_eq!(m.interface, "eno1");
        assert_eq!(m.server_ip, b.server_ip);
        assert_eq!(m.peers.as_ref().unwrap().role, Role::Secondary);
        assert_eq!(m.peers.as_ref().unwrap().partner, a.server_ip);
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
