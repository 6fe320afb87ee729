//! The one dracut command line pxe-kit builds client initramfs images with, and its runner.
//!
//! Every image is `--no-hostonly`: it boots the clients' hardware, not the server's. What it
//! boots decides the modules (dracut's livenet + dmsquash-live for a live root fetched over
//! HTTP, nfs for an NFS root). dracut 059's systemd-networkd backend never runs livenet's
//! fetch, so where dracut has network-legacy it is pinned. The lab's demos build a slim
//! flavour: only the modules and drivers a QEMU client needs, which builds in a third of the
//! time.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::root::Root;
use crate::runner::{Cmd, Kind, Runner};

/// Where the host's dracut keeps network-legacy (Debian; gone from Fedora 40+).
const NETWORK_LEGACY: &str = "/usr/lib/dracut/modules.d/35network-legacy";

/// What the initramfs boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `root=live:http://…`: dracut's livenet and dmsquash-live.
    Live,
    /// `root=nfs:SERVER:PATH`: dracut's nfs module.
    Nfs,
}

/// How much goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// dracut's generic module set plus the purpose's modules (real clients, any NIC).
    Full,
    /// Only the modules listed and the drivers of a QEMU client (the lab's demos).
    Slim,
}

#[derive(Debug, Clone)]
pub struct Dracut {
    pub purpose: Purpose,
    pub flavour: Flavour,
    pub kver: String,
    /// Take the kernel modules and tools from this root tree (an NFS root's own).
    pub sysroot: Option<PathBuf>,
    /// dracut's scratch directory (the lab keeps it inside its work directory).
    pub tmpdir: Option<PathBuf>,
    /// Pin network-legacy: where the host's dracut has it.
    pub network_legacy: bool,
}

impl Dracut {
    /// A full client initramfs for kernel `kver`, network-legacy pinned where installed.
    pub fn new(purpose: Purpose, kver: &str) -> Dracut {
        Dracut {
            purpose,
            flavour: Flavour::Full,
            kver: kver.to_string(),
            sysroot: None,
            tmpdir: None,
            network_legacy: Path::new(NETWORK_LEGACY).is_dir(),
        }
    }

    fn modules(&self) -> &'static str {
        match self.purpose {
            Purpose::Live => "livenet dmsquash-live",
            Purpose::Nfs => "nfs",
        }
    }

    /// The command line writing the image to `out` (a host path).
    pub fn argv(&self, out: &Path) -> Vec<String> {
        let mut v: Vec<String> = ["dracut", "--no-hostonly", "--force"]
            .map(String::from)
            .to_vec();
        let mut push = |a: &str, b: String| {
            v.push(a.to_string());
            v.push(b);
        };
        if let Some(t) = &self.tmpdir {
            push("--tmpdir", t.display().to_string());
        }
        match self.flavour {
            Flavour::Full => {
                push("--add", self.modules().to_string());
                if self.network_legacy {
                    push("--add", "network-legacy".into());
                    push("--omit", "systemd-networkd plymouth".into());
                }
            }
            Flavour::Slim => {
                push(
                    "-m",
                    format!("base udev-rules network-legacy {}", self.modules()),
                );
                push("--omit", "kernel-modules kernel-modules-extra".into());
                let drivers = match self.purpose {
                    Purpose::Live => {
                        "virtio_blk virtio_pci virtio_net e1000 squashfs loop overlay ext4 dm_snapshot"
                    }
                    Purpose::Nfs => "virtio_net virtio_pci e1000 nfs nfsv4 sunrpc",
                };
                push("--add-drivers", drivers.into());
                push("--compress", "zstd".into());
            }
        }
        if let Some(tree) = &self.sysroot {
            let t = tree.display().to_string();
            push("--sysroot", t.clone());
            push("--kmoddir", format!("{t}/lib/modules/{}", self.kver));
        }
        push("--kver", self.kver.clone());
        v.push(out.display().to_string());
        v
    }

    /// Refuses what dracut would fail on with a message naming a symptom, not the fix.
    pub fn check(&self) -> Result<()> {
        match &self.sysroot {
            Some(tree) => {
                let moddir = tree.join("lib/modules").join(&self.kver);
                if !moddir.is_dir() {
                    bail!(
                        "cannot build an NFS-root initramfs: {} is missing; install the tree's kernel modules or pass --initrd FILE",
                        moddir.display()
                    );
                }
                // dracut --sysroot runs the tree's own dracut scripts: without them it stops
                // at "Cannot find …/dracut-init.sh".
                let init = tree.join("usr/lib/dracut/dracut-init.sh");
                if !init.is_file() {
                    bail!(
                        "cannot build an NFS-root initramfs from {}: the tree has no dracut ({} is missing); install dracut and dracut-network in the tree (dnf --installroot {} install dracut-network) or pass --initrd FILE",
                        tree.display(),
                        init.display(),
                        tree.display()
                    );
                }
            }
            None => {
                // dracut runs on this server and takes the modules of the server's /lib/modules.
                let moddir = Path::new("/lib/modules").join(&self.kver);
                if !moddir.is_dir() {
                    bail!(
                        "cannot build an initramfs for kernel {}: its modules are not on this server ({}); install that kernel's modules package (Fedora: kernel-modules-{0}, Debian: linux-image-{0}) or pass --initrd FILE",
                        self.kver,
                        moddir.display()
                    );
                }
            }
        }
        Ok(())
    }

    /// Builds the image at `out` (a target path under `root`) and makes it readable by the
    /// TFTP server, which serves as an unprivileged user (dracut writes 0600). Returns whether
    /// it ran (not under --dry-run).
    pub fn build(&self, runner: &Runner, root: &Root, out: &Path, desc: &str) -> Result<bool> {
        self.check()?;
        let cmd = Cmd::new(Kind::Build, desc, &self.argv(&root.path(out)));
        match runner.query(&cmd)? {
            None => Ok(false),
            Some(o) if o.success => {
                root.set_mode(out, 0o644)?;
                Ok(true)
            }
            Some(o) => bail!(crate::runner::failure(&cmd, &o)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(purpose: Purpose, legacy: bool) -> Dracut {
        Dracut {
            network_legacy: legacy,
            ..Dracut::new(purpose, "6.1.0")
        }
    }

    #[test]
    fn live_pins_network_legacy_where_it_exists() {
        let v = d(Purpose::Live, true).argv(Path::new("/x.img"));
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
        let without = d(Purpose::Live, false).argv(Path::new("/x.img"));
        assert!(!without.contains(&"network-legacy".to_string()));
    }

    #[test]
    fn nfs_initramfs_comes_from_the_tree() {
        let mut x = d(Purpose::Nfs, true);
        x.kver = "6.9.0".into();
        x.sysroot = Some("/srv/stateless/terminal".into());
        let s = x.argv(Path::new("/o.img")).join(" ");
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
    fn slim_is_generic_and_small() {
        let mut x = d(Purpose::Live, true);
        x.flavour = Flavour::Slim;
        x.kver = "6.1.0-1-amd64".into();
        x.tmpdir = Some("/w/t".into());
        let v = x.argv(Path::new("/w/initrd.img")).join(" ");
        assert!(v.contains("--no-hostonly --force --tmpdir /w/t"), "{v}");
        assert!(v.contains("-m base udev-rules network-legacy livenet dmsquash-live"));
        assert!(v.contains("virtio_net"));
        assert!(v.ends_with("--kver 6.1.0-1-amd64 /w/initrd.img"));
        x.purpose = Purpose::Nfs;
        let v = x.argv(Path::new("/w/i.img")).join(" ");
        assert!(v.contains("-m base udev-rules network-legacy nfs --omit"));
        assert!(v.contains("virtio_net virtio_pci e1000 nfs nfsv4 sunrpc"));
    }

    #[test]
    fn a_tree_without_dracut_names_the_package_not_the_symptom() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("lib/modules/6.9.0")).unwrap();
        let mut x = d(Purpose::Nfs, false);
        x.kver = "6.9.0".into();
        x.sysroot = Some(t.path().into());
        let e = x.check().unwrap_err().to_string();
        assert!(
            e.contains("install dracut and dracut-network in the tree"),
            "{e}"
        );
        assert!(e.contains("--initrd"), "{e}");
    }
}
