//! `lab demo`: with no downloads, builds a demo image from this host (a busybox root tree
//! whose init prints a marker and powers off, the host's kernel, a slim dracut livenet
//! initramfs), stages a Debian boot server in a temporary root, adds the image and boots it.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::cli::{GlobalArgs, LabDemoArgs};
use crate::ctx::{Ctx, Options};
use crate::distro::{Distro, Profile};
use crate::lab::boot::{self, spinner, BootOpts, WorkDir};
use crate::lab::timeline::DEMO_MARKER;
use crate::root::{Out, Root};
use crate::runner::find_program;
use crate::runner::{Cmd, Kind, Runner};
use crate::Exit;

/// The lab bridge's name: the staged settings' interface.
pub const BRIDGE: &str = "pxk-br0";
/// Kernel arguments the demo image needs beyond pxe-kit's own: the plain root tree in the
/// squashfs gets an overlayfs on top; fail fast instead of dropping to a shell.
pub const DEMO_APPEND: &str = "rd.live.overlay.overlayfs=1 rd.shell=0 panic=5";

/// What the demo image is built with: (package, a file it provides).
const NEEDS: &[(&str, &str)] = &[
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

/// What every lab needs to serve and boot a VM: (package, a file it provides).
pub(crate) const SERVER_AND_VM: &[(&str, &str)] = &[
    ("isc-dhcp-server", "dhcpd"),
    ("tftpd-hpa", "in.tftpd"),
    ("apache2", "apache2"),
    ("pxelinux", "/usr/lib/PXELINUX/pxelinux.0"),
    (
        "syslinux-common",
        "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    ),
    ("qemu-system-x86", "qemu-system-x86_64"),
    ("ipxe-qemu", "/usr/lib/ipxe/qemu/efi-virtio.rom"),
    ("seabios", "/usr/share/seabios/bios-256k.bin"),
    ("radvd", "radvd"),
    ("iproute2", "ip"),
];

/// Runs dracut for a demo image and makes its output readable: dracut writes 0600, and
/// in.tftpd serves as an unprivileged user.
pub(crate) fn run_dracut(
    runner: &Runner,
    desc: &str,
    argv: &[String],
    initrd: &Path,
) -> Result<()> {
    runner.must(&Cmd::new(Kind::Build, desc, argv))?;
    std::fs::set_permissions(initrd, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting mode of {}", initrd.display()))
}

/// The packages whose files are missing from any of `lists`, each named once, in order, given
/// a way to tell whether a file or program is there. Pure, so the message can be tested.
pub(crate) fn missing_from(
    lists: &[&[(&'static str, &'static str)]],
    have: &dyn Fn(&str) -> bool,
) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (p, f) in lists.iter().flat_map(|l| l.iter()) {
        if !have(f) && !v.contains(p) {
            v.push(p);
        }
    }
    v
}

pub fn missing_packages(have: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
    missing_from(&[NEEDS, SERVER_AND_VM], have)
}

pub(crate) fn have(f: &str) -> bool {
    if f.starts_with('/') {
        Path::new(f).exists()
    } else if f == "busybox" {
        // busybox-static, not the dynamically linked busybox: the demo root has no libc.
        find_program("busybox").is_some_and(|p| is_static(Path::new(&p)))
    } else {
        find_program(f).is_some()
    }
}

/// An ELF without a program interpreter (no "ld-linux" in its headers) is static.
fn is_static(p: &Path) -> bool {
    let Ok(bytes) = std::fs::read(p) else {
        return false;
    };
    let head = &bytes[..bytes.len().min(8192)];
    !head.windows(8).any(|w| w == b"ld-linux")
}

/// The newest host kernel and its version, from /boot/vmlinuz-*.
pub(crate) fn host_kernel() -> Result<(PathBuf, String)> {
    let mut found: Vec<(PathBuf, String)> = std::fs::read_dir("/boot")
        .context("listing /boot")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let v = name.strip_prefix("vmlinuz-")?.to_string();
            Path::new("/lib/modules")
                .join(&v)
                .is_dir()
                .then(|| (e.path(), v))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found.pop().context(
        "no /boot/vmlinuz-* with matching /lib/modules found; install one: apt-get install -y linux-image-amd64",
    )
}

/// The dracut command line for the slim shell-init livenet initramfs (network-legacy: the
/// systemd-networkd backend in dracut 059 never runs livenet's fetch).
pub fn dracut_argv(kver: &str, out: &Path, tmp: &Path) -> Vec<String> {
    [
        "dracut",
        "--no-hostonly",
        "--force",
        "--quiet",
        "--tmpdir",
        &tmp.display().to_string(),
        "-m",
        "base udev-rules network-legacy livenet dmsquash-live",
        "--omit",
        "kernel-modules kernel-modules-extra",
        "--add-drivers",
        "virtio_blk virtio_pci virtio_net e1000 squashfs loop overlay ext4 dm_snapshot",
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

const OS_RELEASE_DEMO: &str =
    "NAME=\"pxe-kit demo\"\nID=pxe-kit-demo\nPRETTY_NAME=\"pxe-kit lab demo (busybox)\"\n";
const OS_RELEASE_SERVER: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

/// The staged server's settings: the lab bridge on 10.77.0.0/24, the serial console on.
pub fn settings_yaml() -> String {
    format!(
        "# pxe-kit lab demo settings.\n\
         interface: {BRIDGE}\n\
         server_ip: 10.77.0.1\n\
         subnet: 10.77.0.0/24\n\
         range: 10.77.0.100-10.77.0.200\n\
         ping_check: false\n\
         boot:\n  timeout: 10\n  default: local\n  serial:\n    port: 0\n    baud: 115200\n"
    )
}

pub(crate) fn build_rootfs(dir: &Path) -> Result<()> {
    let bb =
        find_program("busybox").context("busybox not found; apt-get install -y busybox-static")?;
    for d in [
        "bin", "sbin", "etc", "dev", "proc", "sys", "run", "tmp", "root",
    ] {
        let p = dir.join(d);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    }
    let dst = dir.join("bin/busybox");
    std::fs::copy(&bb, &dst).with_context(|| format!("copying {bb} to {}", dst.display()))?;
    for applet in [
        "sh", "mount", "poweroff", "cat", "sleep", "ls", "sync", "echo",
    ] {
        let l = dir.join("bin").join(applet);
        std::os::unix::fs::symlink("busybox", &l)
            .with_context(|| format!("linking {}", l.display()))?;
    }
    let write = |rel: &str, text: &str, mode: u32| -> Result<()> {
        let p = dir.join(rel);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting mode of {}", p.display()))
    };
    write("sbin/init", &init_script(DEMO_MARKER), 0o755)?;
    // systemd's switch-root (in fuller initramfs flavours) insists on an os-release.
    write("etc/os-release", OS_RELEASE_DEMO, 0o644)
}

/// Stages a Debian server root: os-release, the host's boot loader files where the Debian
/// profile copies them from, and the settings.
pub(crate) fn stage_server(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let staged = Root::new(
        root,
        false,
        Out {
            quiet: true,
            verbose: false,
        },
    )?;
    staged.write(
        Path::new("/etc/os-release"),
        OS_RELEASE_SERVER.as_bytes(),
        0o644,
    )?;
    let profile = Profile::new(Distro::Debian, None, &staged);
    for (_, src) in profile.loader_files() {
        let bytes = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
        staged.write(src, &bytes, 0o644)?;
    }
    staged.write(
        Path::new(crate::config::DEFAULT_CONFIG),
        settings_yaml().as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// Runs this pxe-kit binary on the staged root, quietly (its output is only shown on failure).
pub(crate) fn pxe_kit(runner: &Runner, root: &Path, desc: &str, args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
    let mut argv = vec![
        exe.display().to_string(),
        "--root".into(),
        root.display().to_string(),
        "--distro".into(),
        "debian".into(),
        "-q".into(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    runner.must(&Cmd::new(Kind::Build, desc, &argv))?;
    Ok(())
}

pub(crate) fn staged_ctx(root: &Path, out: Out) -> Result<Ctx> {
    Ctx::new(&Options::staged(root, Some(Distro::Debian), out))
}

pub fn run(a: &LabDemoArgs, g: &GlobalArgs) -> Result<Exit> {
    if a.nfs {
        return crate::lab::demo_nfs::run(a, g);
    }
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "pxe-kit lab demo builds an initramfs and creates network namespaces; run it as root"
        );
    }
    let out = Out {
        quiet: g.quiet,
        verbose: g.verbose,
    };
    let missing = missing_packages(&have);
    if !missing.is_empty() {
        bail!(
            "lab demo needs packages that are not installed: {}; install them with: apt-get install -y --no-install-recommends {}",
            missing.join(", "),
            missing.join(" ")
        );
    }
    let pattern = match &a.boot.pattern {
        Some(p) => Regex::new(p)
            .map_err(|e| anyhow::anyhow!("--pattern {p:?} is not a valid regex: {e}"))?,
        None => Regex::new(DEMO_MARKER).expect("the marker is a plain regex"),
    };
    let started = std::time::Instant::now();
    let mut work = WorkDir::new("pxe-kit-demo.")?;
    let wp = work.path().to_path_buf();
    let build = wp.join("build");
    let runner = Runner::new(true, false, out);

    let pb = spinner(out, "building the demo root tree (busybox-static)");
    let rootfs = build.join("rootfs");
    build_rootfs(&rootfs)?;
    pb.finish_and_clear();

    let (kernel, kver) = host_kernel()?;
    let pb = spinner(
        out,
        &format!("building the initramfs with dracut for {kver} (about 15 s)"),
    );
    let initrd = build.join("initrd.img");
    let tmp = build.join("dracut-tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    run_dracut(
        &runner,
        "building the demo initramfs",
        &dracut_argv(&kver, &initrd, &tmp),
        &initrd,
    )?;
    pb.finish_and_clear();

    let pb = spinner(out, "squashing the root tree");
    let squash = build.join("squashfs.img");
    let (rootfs_s, squash_s) = (rootfs.display().to_string(), squash.display().to_string());
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
    pb.finish_and_clear();

    let pb = spinner(out, "staging a Debian boot server (pxe-kit init)");
    let root = wp.join("root");
    stage_server(&root)?;
    pxe_kit(&runner, &root, "staging the demo server", &["init"])?;
    pb.finish_and_clear();

    let pb = spinner(out, "adding the demo image (pxe-kit add-image)");
    let (k, i, r) = (
        kernel.display().to_string(),
        initrd.display().to_string(),
        squash.display().to_string(),
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
    pb.finish_and_clear();
    out.say(format!(
        "lab demo: image built and server staged in {:.0} s under {}",
        started.elapsed().as_secs_f64(),
        root.display()
    ));

    if a.no_boot {
        work.keep();
        out.say(format!(
            "lab demo: not booting (--no-boot); boot it with: pxe-kit --root {} lab boot",
            root.display()
        ));
        return Ok(Exit::Ok);
    }
    let opts = BootOpts {
        image: a.boot.image.clone(),
        pattern,
        timeout: Duration::from_secs(a.boot.timeout),
        keep: a.boot.keep,
        mac: a.boot.mac.clone(),
        memory_mib: a.boot.memory,
        vm: boot::VmChoice::from_args(&a.boot)?,
    };
    let ctx = staged_ctx(&root, out)?;
    let exit = boot::boot(&ctx, &opts, &mut work)?;
    say_outcome(out, "lab demo", exit, started);
    Ok(exit)
}

/// The demos' last line: how the boot ended and how long everything took.
pub(crate) fn say_outcome(out: Out, what: &str, exit: Exit, started: std::time::Instant) {
    let how = if exit == Exit::Ok {
        "done"
    } else {
        "boot failed"
    };
    out.say(format!(
        "{what}: {how} in {:.0} s in all",
        started.elapsed().as_secs_f64()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_packages_are_named() {
        let m = missing_packages(&|f| f != "radvd" && f != "/usr/lib/dracut/modules.d/90livenet");
        assert_eq!(m, ["dracut-live", "radvd"]);
        assert!(missing_packages(&|_| true).is_empty());
    }

    #[test]
    fn settings_name_the_lab_bridge_and_parse() {
        let y = settings_yaml();
        let c = crate::config::Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(c.interface, BRIDGE);
        assert!(!c.ping_check);
        assert_eq!(c.boot.serial.unwrap().baud, 115200);
    }

    #[test]
    fn init_prints_the_marker_and_powers_off() {
        let s = init_script("M-OK");
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("echo \"M-OK: "));
        assert!(s.trim_end().ends_with("poweroff -f"));
    }

    #[test]
    fn dracut_is_slim_and_generic() {
        let v = dracut_argv(
            "6.1.0-1-amd64",
            Path::new("/w/initrd.img"),
            Path::new("/w/t"),
        )
        .join(" ");
        assert!(v.contains("--no-hostonly"));
        assert!(v.contains("network-legacy livenet dmsquash-live"));
        assert!(v.contains("virtio_net"));
        assert!(v.ends_with("--kver 6.1.0-1-amd64 /w/initrd.img"));
    }
}
