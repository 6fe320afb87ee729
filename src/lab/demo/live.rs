//! `lab demo`: a busybox root tree whose init prints a marker and powers off, squashed, the
//! host's kernel and a slim dracut livenet initramfs, added as image `demo` and booted as the
//! menu default over the default chain (iPXE, HTTP).
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::{build_rootfs, host_kernel, pxe_kit, stage_server, DemoOpts, Needs};
use crate::dracut::{Dracut, Flavour, Purpose};
use crate::lab::boot::WorkDir;
use crate::lab::timeline::DEMO_MARKER;
use crate::progress::Progress;
use crate::root::Out;
use crate::runner::{Cmd, Kind, Runner};
use crate::Exit;

/// Kernel arguments the demo image needs beyond pxe-kit's own: the plain root tree in the
/// squashfs gets an overlayfs on top; fail fast instead of dropping to a shell.
pub const DEMO_APPEND: &str = "rd.live.overlay.overlayfs=1 rd.shell=0 panic=5";

/// What the demo image is built with.
pub(crate) const NEEDS: Needs = &[
    ("busybox-static", "busybox"),
    ("dracut", "dracut"),
    (
        "dracut-network",
        "/usr/lib/dracut/modules.d/35network-legacy",
    ),
    ("dracut-live", "/usr/lib/dracut/modules.d/90livenet"),
    ("squashfs-tools", "mksquashfs"),
    ("zstd", "zstd"),
    ("cpio", "cpio"),
];

/// /sbin/init of the demo root: the marker on the console, then power off.
pub fn init_script(marker: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # pxe-kit lab demo: prove that userspace on the network root was reached, then stop.\n\
         export PATH=/bin:/sbin\n\
         mount -t proc proc /proc 2>/dev/null\n\
         echo \"{marker}: pxe-kit demo userspace reached\" > /dev/console\n\
         sync\n\
         poweroff -f\n"
    )
}

pub fn run(o: &DemoOpts, out: Out) -> Result<Exit> {
    let relay: Needs = if o.boot.vm.relay {
        super::RELAY_NEEDS
    } else {
        &[]
    };
    super::preflight(
        "lab demo",
        &[
            NEEDS,
            super::dhcp_needs(o.dhcp_server),
            if o.proxy_dhcp {
                super::PROXY_NEEDS
            } else {
                &[]
            },
            super::SERVER_AND_VM,
            relay,
        ],
    )?;
    let started = Instant::now();
    let work = WorkDir::new("pxe-kit-demo.")?;
    let wp = work.path().to_path_buf();
    let runner = Runner::new(true, false, out);
    let img = build_image(out, &work, &runner)?;

    let pb = Progress::spinner(out, "staging a Debian boot server (pxe-kit init)");
    let root = wp.join("root");
    let mut settings = super::settings_yaml_mode(o.dhcp_server, o.proxy_dhcp);
    if o.boot.vm.relay {
        settings += super::RELAYED_SUBNET;
    }
    stage_server(&root, &settings)?;
    pxe_kit(&runner, &root, "staging the demo server", &["init"])?;
    pb.finish();

    let pb = Progress::spinner(out, "adding the demo image (pxe-kit add-image)");
    let (k, i, r) = (
        img.kernel.display().to_string(),
        img.initrd.display().to_string(),
        img.squashfs.display().to_string(),
    );
    let add = [
        "add-image",
        "--kernel",
        &k,
        "--initrd",
        &i,
        "--rootfs",
        &r,
        "--name",
        "demo",
        "--default",
        "--append",
        DEMO_APPEND,
    ];
    pxe_kit(&runner, &root, "adding the demo image", &add)?;
    pb.finish();
    out.say(format!(
        "lab demo: image built and server staged in {:.0} s under {}",
        started.elapsed().as_secs_f64(),
        root.display()
    ));
    super::boot_staged("lab demo", o, out, work, &root, started, "")
}

/// The demo image's files on this host.
#[derive(Debug, Clone)]
pub struct DemoImage {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub squashfs: PathBuf,
}

/// Builds the demo image under `work`'s build/: the host's newest kernel, a slim dracut
/// livenet initramfs for it and the busybox root squashed.
pub fn build_image(out: Out, work: &WorkDir, runner: &Runner) -> Result<DemoImage> {
    let wp = work.path().to_path_buf();
    let build = work.root()?;

    let pb = Progress::spinner(out, "building the demo root tree (busybox-static)");
    build_rootfs(
        &build.other(&wp.join("build/rootfs"))?,
        &init_script(DEMO_MARKER),
    )?;
    pb.finish();

    let (kernel, kver) = host_kernel()?;
    let pb = Progress::spinner(
        out,
        &format!("building the initramfs with dracut for {kver} (about 15 s)"),
    );
    let initrd = Path::new("/build/initrd.img");
    build.create_dir_all(Path::new("/build/dracut-tmp"))?;
    let dracut = Dracut {
        flavour: Flavour::Slim,
        tmpdir: Some(wp.join("build/dracut-tmp")),
        ..Dracut::new(Purpose::Live, &kver)
    };
    dracut.build(runner, &build, initrd, "building the demo initramfs")?;
    pb.finish();

    let pb = Progress::spinner(out, "squashing the root tree");
    let squash = wp.join("build/squashfs.img");
    let (rootfs_s, squash_s) = (
        wp.join("build/rootfs").display().to_string(),
        squash.display().to_string(),
    );
    runner.must(&Cmd::new(
        Kind::Build,
        "squashing the demo root",
        &[
            "mksquashfs",
            &rootfs_s,
            &squash_s,
            "-noappend",
            "-no-progress",
            "-quiet",
            "-all-root",
        ],
    ))?;
    pb.finish();
    Ok(DemoImage {
        kernel,
        initrd: build.path(initrd),
        squashfs: squash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_prints_the_marker_and_powers_off() {
        let s = init_script("M-OK");
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("echo \"M-OK: "));
        assert!(s.trim_end().ends_with("poweroff -f"));
    }
}
