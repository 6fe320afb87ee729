//! `lab demo --nfs`: the NFS-root and per-machine paths end to end, with no downloads. Builds
//! a busybox root tree holding the host's kernel, an initramfs with dracut's nfs module,
//! stages a Debian server whose menu default stays `local`, adds the tree as NFS-root image
//! `terminal` (add-image --nfs) for one MAC only (add-host, fixed address) and boots that MAC:
//! only the per-MAC pxelinux file can make the VM reach the marker, over nfs-ganesha.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::cli::{GlobalArgs, LabDemoArgs};
use crate::lab::boot::{self, spinner, BootOpts, WorkDir};
use crate::lab::demo;
use crate::root::Out;
use crate::runner::Runner;
use crate::Exit;

/// What the NFS root's init prints; the default success pattern of `lab demo --nfs`.
pub const NFS_MARKER: &str = "PXE-KIT-NFS-OK";
/// The image name and the fixed address the demo's machine gets (outside the dynamic range).
pub const IMAGE: &str = "terminal";
pub const FIXED_IP: &str = "10.77.0.50";
/// Fail fast instead of dropping to a shell; nothing else is needed beyond pxe-kit's own.
pub const APPEND: &str = "rd.shell=0 panic=5";

/// What the NFS demo image is built and served with: (package, a file it provides).
const NEEDS: &[(&str, &str)] = &[
    ("busybox-static", "busybox"),
    ("dracut", "dracut"),
    (
        "dracut-network",
        "/usr/lib/dracut/modules.d/35network-legacy",
    ),
    ("dracut-network", "/usr/lib/dracut/modules.d/95nfs"),
    ("nfs-common", "mount.nfs"),
    ("rpcbind", "rpcbind"),
    ("nfs-ganesha", "ganesha.nfsd"),
    (
        "nfs-ganesha-vfs",
        "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so",
    ),
    ("zstd", "zstd"),
    ("cpio", "cpio"),
];

/// The packages whose files are missing, each named once. Pure, so the message is tested.
pub fn missing_packages(have: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
    super::demo::missing_from(&[NEEDS, super::demo::SERVER_AND_VM], have)
}

/// The dracut command line for a slim shell-init NFS-root initramfs built from this host:
/// dracut's nfs module (mount.nfs, rpcbind) on network-legacy, and only the drivers a QEMU
/// client needs to reach the server (virtio NIC) and mount NFSv4.
pub fn dracut_argv(kver: &str, out: &Path, tmp: &Path) -> Vec<String> {
    [
        "dracut",
        "--no-hostonly",
        "--force",
        "--quiet",
        "--tmpdir",
        &tmp.display().to_string(),
        "-m",
        "base udev-rules network-legacy nfs",
        "--omit",
        "kernel-modules kernel-modules-extra",
        "--add-drivers",
        "virtio_net virtio_pci e1000 nfs nfsv4 sunrpc",
        "--compress",
        "zstd",
        "--kver",
        kver,
        &out.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// /sbin/init of the NFS root: says what the root is mounted from (the proof it is NFS),
/// prints the marker and powers off. Shell builtins only, beyond the applets the tree links.
pub fn init_script(marker: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # pxe-kit lab demo --nfs: prove that userspace on the NFS root was reached, then stop.\n\
         export PATH=/bin:/sbin\n\
         mount -t proc proc /proc 2>/dev/null\n\
         root=unknown\n\
         while read -r dev mnt fs rest; do\n\
         \x20   [ \"$mnt\" = / ] && root=\"$dev ($fs)\"\n\
         done < /proc/mounts\n\
         echo \"{marker}: pxe-kit NFS-root userspace reached, / is $root\" > /dev/console\n\
         sync\n\
         poweroff -f\n"
    )
}

/// The demo settings on the classic chain: every client, iPXE ROM included, gets pxelinux.0
/// and its files over TFTP, so the per-machine file it boots through is
/// `pxelinux.cfg/01-<mac>` (iPXE clients would otherwise take the per-host iPXE script).
pub fn classic_settings(base: &str) -> String {
    format!("{base}  # The classic chain: pxelinux and its per-MAC files over TFTP.\n  transfer: tftp\n  ipxe: false\n")
}

pub fn run(a: &LabDemoArgs, g: &GlobalArgs) -> Result<Exit> {
    if !nix::unistd::geteuid().is_root() {
        bail!("pxe-kit lab demo --nfs builds an initramfs and creates network namespaces; run it as root");
    }
    let out = Out {
        quiet: g.quiet,
        verbose: g.verbose,
    };
    let missing = missing_packages(&demo::have);
    if !missing.is_empty() {
        bail!(
            "lab demo --nfs needs packages that are not installed: {}; install them with: apt-get install -y --no-install-recommends {}",
            missing.join(", "),
            missing.join(" ")
        );
    }
    if a.boot.image.as_deref().is_some_and(|i| i != IMAGE) {
        bail!("lab demo --nfs boots image {IMAGE} through the MAC's own entry; drop --image");
    }
    let mac: crate::host::Mac = a.boot.mac.parse()?;
    let pattern = match &a.boot.pattern {
        Some(p) => Regex::new(p)
            .map_err(|e| anyhow::anyhow!("--pattern {p:?} is not a valid regex: {e}"))?,
        None => Regex::new(NFS_MARKER).expect("the marker is a plain regex"),
    };
    let started = std::time::Instant::now();
    let mut work = WorkDir::new("pxe-kit-demo.")?;
    let wp = work.path().to_path_buf();
    let build = wp.join("build");
    let runner = Runner::new(true, false, out);

    let pb = spinner(
        out,
        "building the NFS root tree (busybox-static, host kernel)",
    );
    let tree = build.join("nfsroot");
    demo::build_rootfs(&tree)?;
    let init = tree.join("sbin/init");
    std::fs::write(&init, init_script(NFS_MARKER))
        .with_context(|| format!("writing {}", init.display()))?;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting mode of {}", init.display()))?;
    // add-image --nfs takes the kernel from the tree, as on a real NFS root.
    let (kernel, kver) = demo::host_kernel()?;
    let boot_dir = tree.join("boot");
    std::fs::create_dir_all(&boot_dir)
        .with_context(|| format!("creating {}", boot_dir.display()))?;
    let tree_kernel = boot_dir.join(format!("vmlinuz-{kver}"));
    std::fs::copy(&kernel, &tree_kernel)
        .with_context(|| format!("copying {} into the tree", kernel.display()))?;
    pb.finish_and_clear();

    let pb = spinner(
        out,
        &format!("building the NFS-root initramfs with dracut for {kver} (about 10 s)"),
    );
    let initrd = build.join("initrd-nfs.img");
    let tmp = build.join("dracut-tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    demo::run_dracut(
        &runner,
        "building the NFS-root initramfs",
        &dracut_argv(&kver, &initrd, &tmp),
        &initrd,
    )?;
    pb.finish_and_clear();

    let pb = spinner(out, "staging a Debian boot server (pxe-kit init)");
    let root = wp.join("root");
    demo::stage_server(&root)?;
    let settings = root.join(crate::config::DEFAULT_CONFIG.trim_start_matches('/'));
    std::fs::write(&settings, classic_settings(&demo::settings_yaml()))
        .with_context(|| format!("writing {}", settings.display()))?;
    demo::pxe_kit(&runner, &root, "staging the demo server", &["init"])?;
    pb.finish_and_clear();

    let pb = spinner(out, "adding the NFS-root image and the machine");
    let (t, i, m) = (
        tree.display().to_string(),
        initrd.display().to_string(),
        mac.to_string(),
    );
    let add = [
        "add-image",
        "--nfs",
        &t,
        "--initrd",
        &i,
        "--name",
        IMAGE,
        "--append",
        APPEND,
    ];
    demo::pxe_kit(&runner, &root, "adding the NFS-root image", &add)?;
    let host = ["add-host", &m, "--image", IMAGE, "--ip", FIXED_IP];
    demo::pxe_kit(&runner, &root, "adding the machine", &host)?;
    pb.finish_and_clear();
    out.say(format!(
        "lab demo --nfs: image {IMAGE} (NFS root {t}) for {m} only, fixed address {FIXED_IP}, menu default local; staged in {:.0} s under {}",
        started.elapsed().as_secs_f64(),
        root.display()
    ));

    if a.no_boot {
        work.keep();
        out.say(format!(
            "lab demo --nfs: not booting (--no-boot); boot it with: pxe-kit --root {} lab boot --mac {m} --pattern {NFS_MARKER}",
            root.display()
        ));
        return Ok(Exit::Ok);
    }
    let opts = BootOpts {
        image: None,
        pattern,
        timeout: Duration::from_secs(a.boot.timeout),
        keep: a.boot.keep,
        mac: m,
        memory_mib: a.boot.memory,
        vm: boot::VmChoice::from_args(&a.boot)?,
    };
    let ctx = demo::staged_ctx(&root, out)?;
    let exit = boot::boot(&ctx, &opts, &mut work)?;
    demo::say_outcome(out, "lab demo --nfs", exit, started);
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_packages_are_named_once() {
        let m = missing_packages(&|f| !f.contains("dracut/modules.d") && f != "ganesha.nfsd");
        assert_eq!(m, ["dracut-network", "nfs-ganesha"]);
        assert!(missing_packages(&|_| true).is_empty());
    }

    #[test]
    fn settings_take_the_classic_chain() {
        let y = classic_settings(&demo::settings_yaml());
        let c = crate::config::Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(c.boot.transfer, crate::config::Transfer::Tftp);
        assert!(!c.boot.ipxe);
        assert_eq!(c.boot.default, "local");
    }

    #[test]
    fn init_names_the_root_then_prints_the_marker_and_powers_off() {
        let s = init_script("N-OK");
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("done < /proc/mounts\n"));
        assert!(s.contains("echo \"N-OK: pxe-kit NFS-root userspace reached, / is $root\""));
        assert!(s.trim_end().ends_with("poweroff -f"));
    }

    #[test]
    fn dracut_builds_a_slim_generic_nfs_initramfs() {
        let v = dracut_argv("6.1.0-1-amd64", Path::new("/w/i.img"), Path::new("/w/t")).join(" ");
        assert!(v.contains("--no-hostonly"));
        assert!(v.contains("-m base udev-rules network-legacy nfs --omit"));
        assert!(v.contains("virtio_net virtio_pci e1000 nfs nfsv4 sunrpc"));
        assert!(v.ends_with("--kver 6.1.0-1-amd64 /w/i.img"));
    }
}
