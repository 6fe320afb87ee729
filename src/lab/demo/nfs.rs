//! `lab demo --nfs`: the NFS-root and per-machine paths end to end, with no downloads. Builds
//! a busybox root tree holding the host's kernel, an initramfs with dracut's nfs module,
//! stages a Debian server whose menu default stays `local`, adds the tree as NFS-root image
//! `terminal` (add-image --nfs) for one MAC only (add-host, fixed address) and boots that MAC:
//! only the per-MAC pxelinux file can make the VM reach the marker, over nfs-ganesha.
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{build_rootfs, host_kernel, pxe_kit, stage_server, DemoOpts, Needs};
use crate::dracut::{Dracut, Flavour, Purpose};
use crate::lab::boot::WorkDir;
use crate::progress::Progress;
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

/// What the NFS demo image is built and served with.
const NEEDS: Needs = &[
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

pub fn run(o: &DemoOpts, out: Out) -> Result<Exit> {
    super::preflight(
        "lab demo --nfs",
        &[
            NEEDS,
            super::dhcp_needs(o.dhcp_server),
            super::SERVER_AND_VM,
        ],
    )?;
    if o.boot.image.as_deref().is_some_and(|i| i != IMAGE) {
        bail!("lab demo --nfs boots image {IMAGE} through the MAC's own entry; drop --image");
    }
    let mac: crate::host::Mac = o.boot.mac.parse()?;
    let started = Instant::now();
    let work = WorkDir::new("pxe-kit-demo.")?;
    let wp = work.path().to_path_buf();
    let runner = Runner::new(true, false, out);
    let build = work.root()?;

    let pb = Progress::spinner(
        out,
        "building the NFS root tree (busybox-static, host kernel)",
    );
    let tree_path = wp.join("build/nfsroot");
    let tree = build.other(&tree_path)?;
    build_rootfs(&tree, &init_script(NFS_MARKER))?;
    // add-image --nfs takes the kernel from the tree, as on a real NFS root.
    let (kernel, kver) = host_kernel()?;
    let bytes = std::fs::read(&kernel).with_context(|| format!("reading {}", kernel.display()))?;
    tree.write(
        &Path::new("/boot").join(format!("vmlinuz-{kver}")),
        &bytes,
        0o644,
    )?;
    pb.finish();

    let pb = Progress::spinner(
        out,
        &format!("building the NFS-root initramfs with dracut for {kver} (about 10 s)"),
    );
    let initrd = Path::new("/build/initrd-nfs.img");
    build.create_dir_all(Path::new("/build/dracut-tmp"))?;
    let dracut = Dracut {
        flavour: Flavour::Slim,
        tmpdir: Some(wp.join("build/dracut-tmp")),
        ..Dracut::new(Purpose::Nfs, &kver)
    };
    dracut.build(&runner, &build, initrd, "building the NFS-root initramfs")?;
    pb.finish();

    let pb = Progress::spinner(out, "staging a Debian boot server (pxe-kit init)");
    let root = wp.join("root");
    stage_server(
        &root,
        &classic_settings(&super::settings_yaml(o.dhcp_server)),
    )?;
    pxe_kit(&runner, &root, "staging the demo server", &["init"])?;
    pb.finish();

    let pb = Progress::spinner(out, "adding the NFS-root image and the machine");
    let (t, i, m) = (
        tree_path.display().to_string(),
        build.path(initrd).display().to_string(),
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
    pxe_kit(&runner, &root, "adding the NFS-root image", &add)?;
    let host = ["add-host", &m, "--image", IMAGE, "--ip", FIXED_IP];
    pxe_kit(&runner, &root, "adding the machine", &host)?;
    pb.finish();
    out.say(format!(
        "lab demo --nfs: image {IMAGE} (NFS root {t}) for {m} only, fixed address {FIXED_IP}, menu default local; staged in {:.0} s under {}",
        started.elapsed().as_secs_f64(),
        root.display()
    ));
    let hint = format!(" --mac {m} --pattern {NFS_MARKER}");
    let mut o = o.clone();
    o.boot.mac = m;
    super::boot_staged("lab demo --nfs", &o, out, work, &root, started, &hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_the_classic_chain() {
        let y = classic_settings(&super::super::settings_yaml(crate::config::DhcpServer::Isc));
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
}
