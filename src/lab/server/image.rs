//! The server VM's disk image: Debian 12 from the distribution's packages (mmdebstrap),
//! configured (NetworkManager keyfiles, the runner unit, masks, a generic dracut initramfs),
//! labelled for SELinux at build time with the image's own policy (setfiles) and packed into
//! an ext4 image. Cached under the lab cache directory by a key over everything that shapes
//! it; rebuilt only when the key changes.
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::progress::Progress;
use crate::root::{Out, Root};
use crate::runner::{failure, Cmd, Kind, Runner};

/// Bump to invalidate every cached image whatever else changed.
const FORMAT: u32 = 1;
pub const SUITE: &str = "bookworm";
/// The image file's size; sparse, about 1 GiB is used.
const IMAGE_SIZE: &str = "3G";

/// The server's packages. pxe-kit's Debian profile probes its own list with dpkg-query and
/// runs `apt-get install` when one is missing; the VM has no network, so everything the
/// profile names must be here (dracut*, shim-signed, grub-efi-amd64-*). `netbase` gives
/// /etc/protocols, without which firewalld dies at boot ("INVALID_PROTOCOL: esp").
pub const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "udev",
    "dbus",
    "procps",
    "linux-image-amd64",
    "dracut",
    "dracut-network",
    "dracut-live",
    "zstd",
    "selinux-policy-default",
    "selinux-basics",
    "selinux-utils",
    "policycoreutils",
    "policycoreutils-python-utils",
    "auditd",
    "firewalld",
    "network-manager",
    "netbase",
    "iproute2",
    "curl",
    "openssh-server",
    "isc-dhcp-server",
    "tftpd-hpa",
    "apache2",
    "pxelinux",
    "syslinux-common",
    "shim-signed",
    "grub-efi-amd64-signed",
    "grub-efi-amd64-bin",
    "squashfs-tools",
];

/// The provisioning NIC: its MAC, PCI slot (0x10 gives the name ens16) and address.
pub const PROV_MAC: &str = "52:54:00:99:00:01";
pub const PROV_SLOT: u8 = 0x10;
pub const PROV_IF: &str = "ens16";
pub const PROV_IP: &str = "10.99.0.1";
/// The public NIC.
pub const PUB_MAC: &str = "52:54:00:99:01:02";
pub const PUB_SLOT: u8 = 0x11;
pub const PUB_IF: &str = "ens17";
pub const PUB_IP: &str = "192.168.100.2";

const RUNNER_SH: &str = include_str!("runner.sh");
const CUSTOMIZE_SH: &str = include_str!("customize.sh");
const CUSTOMIZE_AT: &str = "/usr/local/lib/pxk-lab/customize.sh";

/// One entry of the tree copied into the image before the customize script runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        path: &'static str,
        content: String,
        mode: u32,
    },
    Link {
        path: String,
        target: &'static str,
    },
}

fn file(path: &'static str, content: impl Into<String>, mode: u32) -> Entry {
    Entry::File {
        path,
        content: content.into(),
        mode,
    }
}

/// A NetworkManager keyfile matched by MAC, static address, no IPv6. No `zone=`: both NICs
/// start in firewalld's default zone (public: ssh, dhcpv6-client), as on a fresh server.
fn keyfile(id: &str, mac: &str, addr: &str) -> String {
    format!(
        "[connection]\nid={id}\ntype=ethernet\nautoconnect=true\n\n[ethernet]\nmac-address={mac}\n\n[ipv4]\nmethod=manual\naddress1={addr}/24\n\n[ipv6]\nmethod=disabled\n"
    )
}

/// Everything the image gets besides its packages.
pub fn overlay() -> Vec<Entry> {
    let mut v = vec![
        file("/etc/hostname", "pxe-server\n", 0o644),
        file(
            "/etc/hosts",
            "127.0.0.1\tlocalhost\n127.0.1.1\tpxe-server\n",
            0o644,
        ),
        file(
            "/etc/fstab",
            "/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n",
            0o644,
        ),
        // Enforcing with Debian's reference policy ("default").
        file(
            "/etc/selinux/config",
            "SELINUX=enforcing\nSELINUXTYPE=default\n",
            0o644,
        ),
        // A generic initramfs (the chroot is not the VM: host-only detection would look at
        // the build host) with virtio and ext4 for root=/dev/vda.
        file(
            "/etc/dracut.conf.d/50-pxk-lab.conf",
            "hostonly=\"no\"\ncompress=\"zstd\"\nadd_drivers+=\" virtio_pci virtio_blk virtio_net ext4 9p 9pnet_virtio \"\nomit_dracutmodules+=\" plymouth \"\n",
            0o644,
        ),
        file(
            "/etc/NetworkManager/system-connections/provisioning.nmconnection",
            keyfile("provisioning", PROV_MAC, PROV_IP),
            0o600,
        ),
        file(
            "/etc/NetworkManager/system-connections/public.nmconnection",
            keyfile("public", PUB_MAC, PUB_IP),
            0o600,
        ),
        // Without it NM also makes "Wired connection N" DHCP profiles for unmatched NICs.
        file(
            "/etc/NetworkManager/conf.d/50-pxk-lab.conf",
            "[main]\nno-auto-default=*\n",
            0o644,
        ),
        // TCG on a busy host runs the guest many times slower than real hardware: firewalld's
        // start took 4 of its 5 minutes once. No unit may time out for being slow here.
        file(
            "/etc/systemd/system.conf.d/50-pxk-lab.conf",
            "[Manager]\nDefaultTimeoutStartSec=20min\n",
            0o644,
        ),
        file(
            "/etc/systemd/system/firewalld.service.d/50-pxk-lab.conf",
            "[Service]\nTimeoutStartSec=20min\n",
            0o644,
        ),
        file("/usr/local/sbin/pxk-lab-run", RUNNER_SH, 0o755),
        // Type=simple: its start job completes at once, so `is-system-running --wait` inside
        // it does not wait for itself. The context is what a root login shell gets.
        file(
            "/etc/systemd/system/pxk-lab-run.service",
            "[Unit]\nDescription=pxe-kit lab: run /share/guest.sh from the 9p share, then power off\nAfter=multi-user.target\nConditionVirtualization=vm\n\n[Service]\nType=simple\nExecStart=/usr/local/sbin/pxk-lab-run\nSELinuxContext=unconfined_u:unconfined_r:unconfined_t:s0\nStandardOutput=journal+console\nStandardError=journal+console\n\n[Install]\nWantedBy=multi-user.target\n",
            0o644,
        ),
        Entry::Link {
            path: "/etc/systemd/system/multi-user.target.wants/pxk-lab-run.service".into(),
            target: "/etc/systemd/system/pxk-lab-run.service",
        },
        file(
            "/usr/local/lib/pxk-lab/firewalld-dbus.cil",
            "(allow firewalld_t unconfined_t (dbus (send_msg)))\n",
            0o644,
        ),
        file(CUSTOMIZE_AT, CUSTOMIZE_SH, 0o755),
    ];
    // A serial getty hangs up ttyS0 for the runner's console output; nobody logs in.
    // NetworkManager-dispatcher only runs ifupdown hooks that fail here, and under TCG its
    // D-Bus activation timed out and held up network-online for a minute. Timers would wake
    // in the middle of a measured run.
    for unit in [
        "serial-getty@ttyS0.service",
        "NetworkManager-dispatcher.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
        "man-db.timer",
        "e2scrub_all.timer",
        "fstrim.timer",
    ] {
        v.push(Entry::Link {
            path: format!("/etc/systemd/system/{unit}"),
            target: "/dev/null",
        });
    }
    v
}

/// mmdebstrap's arguments for an overlay at `overlay` and a tree at `tree`, and an optional
/// mirror (default: this host's apt sources).
pub fn mmdebstrap_argv(overlay: &Path, tree: &Path, mirror: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = vec![
        // The kernel's postinst skips the initramfs; customize.sh builds it once.
        "env".into(),
        "INITRD=No".into(),
        "mmdebstrap".into(),
        "--variant=minbase".into(),
        "--format=directory".into(),
        format!("--include={}", PACKAGES.join(",")),
        "--aptopt=Acquire::Retries \"3\"".into(),
        format!("--customize-hook=sync-in {} /", overlay.display()),
        format!("--customize-hook=chroot \"$1\" /bin/sh {CUSTOMIZE_AT}"),
        SUITE.into(),
        tree.display().to_string(),
    ];
    if let Some(m) = mirror {
        v.push(m.into());
    }
    v
}

/// The cache key: a hash of everything that shapes the image (not of the mirror, which only
/// says where the same packages come from).
pub fn key() -> String {
    let mut h = Sha256::new();
    h.update(format!("format={FORMAT} suite={SUITE} size={IMAGE_SIZE}\n"));
    for p in PACKAGES {
        h.update(format!("package {p}\n"));
    }
    for e in overlay() {
        match e {
            Entry::File {
                path,
                content,
                mode,
            } => h.update(format!(
                "file {path} {mode:o} {}\n{content}\n",
                content.len()
            )),
            Entry::Link { path, target } => h.update(format!("link {path} {target}\n")),
        }
    }
    let argv = mmdebstrap_argv(Path::new("OVERLAY"), Path::new("TREE"), None);
    h.update(argv.join("\u{1f}"));
    hex::encode(h.finalize())[..16].to_string()
}

/// A built image in the cache.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Image {
    pub key: String,
    #[serde(skip)]
    pub dir: PathBuf,
    pub kernel_version: String,
    pub packages: usize,
    pub build_secs: f64,
    /// Whether this run found it in the cache.
    #[serde(skip_deserializing)]
    pub cached: bool,
}

impl Image {
    pub fn root_img(&self) -> PathBuf {
        self.dir.join("root.img")
    }
    pub fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.img")
    }
}

/// The image for the current key: from the cache, or built now (also when `rebuild`).
pub fn ensure(
    runner: &Runner,
    out: Out,
    cache: &Path,
    mirror: Option<&str>,
    rebuild: bool,
) -> Result<Image> {
    let key = key();
    let croot = Root::new(Path::new("/"), false, out)?.other(cache)?;
    // A second `lab server` (CI builds the image ahead of the test that boots it) waits for
    // the first one's image instead of building it again.
    let lock = Path::new("/.lock");
    let _lock = match croot.lock(lock) {
        Ok(l) => l,
        Err(_) => {
            out.say(format!(
                "lab server: another pxe-kit lab server is building the image in {}; waiting for it",
                cache.display()
            ));
            croot.lock_wait(lock)?
        }
    };
    let meta = Path::new("/").join(&key).join("image.json");
    if !rebuild {
        if let Some(text) = croot.read_string_opt(&meta)? {
            let mut img: Image = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", croot.path(&meta).display()))?;
            img.dir = cache.join(&key);
            img.cached = true;
            return Ok(img);
        }
    }
    let img = build(runner, out, &croot, &key, mirror)?;
    // Older keys' images are of no further use and take a GiB each.
    for name in croot.list_dir(Path::new("/"))? {
        if name != key && name.len() == 16 && name.chars().all(|c| c.is_ascii_hexdigit()) {
            croot.remove_dir_all(&Path::new("/").join(&name))?;
        }
    }
    Ok(img)
}

/// Runs a build step; its output goes to the build log, a failure names the log.
fn build_step(runner: &Runner, log: &mut String, log_path: &Path, cmd: &Cmd) -> Result<()> {
    let o = runner.query(cmd)?.context("a build step did not run")?;
    log.push_str(&format!("$ {}\n{}{}", cmd.shell(), o.stdout, o.stderr));
    if !o.success {
        bail!("{}; full log: {}", failure(cmd, &o), log_path.display());
    }
    Ok(())
}

// Long: the build is one sequence of steps (tree, label, pack, extract) sharing the log.
fn build(
    runner: &Runner,
    out: Out,
    croot: &Root,
    key: &str,
    mirror: Option<&str>,
) -> Result<Image> {
    let started = Instant::now();
    let dir = Path::new("/").join(key);
    croot.remove_dir_all(&dir)?;
    croot.create_dir_all(&dir)?;
    let build_dir = croot.path(&dir);
    let overlay_root = croot.other(&build_dir.join("overlay"))?;
    for e in overlay() {
        match e {
            Entry::File {
                path,
                content,
                mode,
            } => {
                overlay_root.write(Path::new(path), content.as_bytes(), mode)?;
            }
            Entry::Link { path, target } => {
                let p = Path::new(&path);
                if let Some(parent) = p.parent() {
                    overlay_root.create_dir_all(parent)?;
                }
                overlay_root.symlink(Path::new(target), p)?;
            }
        }
    }
    let tree = build_dir.join("tree");
    let log_path = build_dir.join("build.log");
    let mut log = String::new();
    let pb = Progress::spinner(
        out,
        &format!(
            "building the server image: mmdebstrap {SUITE} ({} packages and their dependencies, 2-5 min)",
            PACKAGES.len()
        ),
    );
    let argv = mmdebstrap_argv(&build_dir.join("overlay"), &tree, mirror);
    let r = build_step(
        runner,
        &mut log,
        &log_path,
        &Cmd::new(
            Kind::Build,
            "building the server image with mmdebstrap",
            &argv,
        ),
    );
    let t_strap = started.elapsed().as_secs_f64();
    let r = r.and_then(|()| {
        pb.set_message("labelling the server image for SELinux (setfiles) and packing it");
        let sel = tree.join("etc/selinux/default");
        let tree_root = croot.other(&tree)?;
        let mut policies: Vec<String> = tree_root
            .list_dir(Path::new("/etc/selinux/default/policy"))?
            .into_iter()
            .filter(|n| n.starts_with("policy."))
            .collect();
        policies.sort_by_key(|n| {
            n.trim_start_matches("policy.")
                .parse::<u32>()
                .unwrap_or_default()
        });
        let policy = policies
            .last()
            .context("the image has no SELinux policy under /etc/selinux/default/policy")?;
        let (t, p, fc) = (
            tree.display().to_string(),
            sel.join("policy").join(policy).display().to_string(),
            sel.join("contexts/files/file_contexts")
                .display()
                .to_string(),
        );
        // The host kernel need not run SELinux: setfiles writes the xattrs anyway, with the
        // image's own policy. Anything edited after this loses its label.
        build_step(
            runner,
            &mut log,
            &log_path,
            &Cmd::new(
                Kind::Build,
                "labelling the server image",
                &["setfiles", "-r", &t, "-c", &p, &fc, &t],
            ),
        )?;
        let img = build_dir.join("root.img").display().to_string();
        build_step(
            runner,
            &mut log,
            &log_path,
            &Cmd::new(
                Kind::Build,
                "sizing the image file",
                &["truncate", "-s", IMAGE_SIZE, &img],
            ),
        )?;
        // mkfs.ext4 -d copies the tree with its xattrs (the labels).
        build_step(
            runner,
            &mut log,
            &log_path,
            &Cmd::new(
                Kind::Build,
                "packing the server image",
                &["mkfs.ext4", "-q", "-F", "-L", "pxk-server", "-d", &t, &img],
            ),
        )?;
        Ok(())
    });
    let t_label = started.elapsed().as_secs_f64() - t_strap;
    croot.write(&dir.join("build.log"), log.as_bytes(), 0o644)?;
    pb.finish();
    r?;
    let tree_root = croot.other(&tree)?;
    let kver = tree_root
        .list_dir(Path::new("/lib/modules"))?
        .pop()
        .context("the image has no kernel under /lib/modules")?;
    for (from, to) in [
        (format!("/boot/vmlinuz-{kver}"), "vmlinuz"),
        (format!("/boot/initrd.img-{kver}"), "initrd.img"),
    ] {
        let bytes = tree_root.read(Path::new(&from))?;
        croot.write(&dir.join(to), &bytes, 0o644)?;
    }
    let t = tree.display().to_string();
    let pkgs = runner.must(&Cmd::new(
        Kind::Build,
        "listing the image's packages",
        &[
            "chroot",
            &t,
            "dpkg-query",
            "-W",
            "-f=${Package} ${Version}\\n",
        ],
    ))?;
    croot.write(&dir.join("packages.txt"), pkgs.as_bytes(), 0o644)?;
    croot.remove_dir_all(&dir.join("tree"))?;
    croot.remove_dir_all(&dir.join("overlay"))?;
    let build_secs = started.elapsed().as_secs_f64();
    croot.write(
        &dir.join("timings.tsv"),
        format!("mmdebstrap+customize\t{t_strap:.1}\nsetfiles+mkfs\t{t_label:.1}\ntotal\t{build_secs:.1}\n").as_bytes(),
        0o644,
    )?;
    let img = Image {
        key: key.to_string(),
        dir: croot.path(&dir),
        kernel_version: kver,
        packages: pkgs.lines().count(),
        build_secs,
        cached: false,
    };
    // Written last: its presence is what makes the entry complete.
    croot.write(
        &dir.join("image.json"),
        serde_json::to_string_pretty(&img)?.as_bytes(),
        0o644,
    )?;
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_follows_the_overlay() {
        assert_eq!(key(), key());
        assert_eq!(key().len(), 16);
        let o = overlay();
        assert!(o.iter().any(|e| matches!(e, Entry::File { path, mode: 0o600, .. } if path.ends_with("provisioning.nmconnection"))));
    }

    #[test]
    fn mmdebstrap_gets_the_packages_overlay_and_customize_hook() {
        let a = mmdebstrap_argv(Path::new("/c/o"), Path::new("/c/t"), None);
        assert_eq!(&a[..3], ["env", "INITRD=No", "mmdebstrap"]);
        assert!(a.contains(&"--customize-hook=sync-in /c/o /".to_string()));
        assert!(a
            .iter()
            .any(|x| x.starts_with("--include=systemd,") && x.contains(",netbase,")));
        assert_eq!(a[a.len() - 2..], [SUITE.to_string(), "/c/t".into()]);
        let m = mmdebstrap_argv(Path::new("/o"), Path::new("/t"), Some("http://m/debian"));
        assert_eq!(m.last().unwrap(), "http://m/debian");
    }

    #[test]
    fn keyfiles_match_by_mac_without_a_zone() {
        let k = keyfile("provisioning", PROV_MAC, PROV_IP);
        assert!(k.contains("mac-address=52:54:00:99:00:01\n"));
        assert!(k.contains("address1=10.99.0.1/24\n"));
        assert!(!k.contains("zone="));
    }
}
