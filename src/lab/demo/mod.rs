//! `lab demo`: with no downloads, builds a demo image from this host, stages a Debian boot
//! server in a temporary root with pxe-kit's own `init` and `add-image`, and boots a blank VM
//! through it. Two demos share what is here: `live` (a live root over HTTP, the default chain)
//! and `nfs` (an NFS root through one machine's own entry).
pub mod live;
pub mod nfs;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::config::DhcpServer;
use crate::ctx::{Ctx, Options};
use crate::distro::{Distro, Profile};
use crate::lab::boot::{self, BootOpts, WorkDir};
use crate::root::{Out, Root};
use crate::runner::{find_program, Cmd, Kind, Runner};
use crate::Exit;

/// The lab bridge's name: the staged settings' interface.
pub const BRIDGE: &str = "pxk-br0";

/// What a demo does besides building: boot (with these options) or stop once staged.
#[derive(Debug, Clone)]
pub struct DemoOpts {
    pub boot: BootOpts,
    /// Build and stage, print the root, keep it and stop.
    pub no_boot: bool,
    /// The staged server's DHCP server.
    pub dhcp_server: DhcpServer,
    /// Proxy mode, with the lab's stand-in for the network's own DHCP server (`office`).
    pub proxy_dhcp: bool,
}

/// A demo's needs: (package, a file it provides).
pub type Needs = &'static [(&'static str, &'static str)];

/// What every lab needs to serve and boot a VM, besides its DHCP server (`dhcp_needs`).
pub const SERVER_AND_VM: Needs = &[
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

/// Proxy mode: pxe-kit's dnsmasq and the office's dhcpd (see `lab::office`).
pub const PROXY_NEEDS: Needs = &[("dnsmasq-base", "dnsmasq"), ("isc-dhcp-server", "dhcpd")];

/// The DHCP server's package on this (Debian) host.
pub fn dhcp_needs(server: DhcpServer) -> Needs {
    match server {
        DhcpServer::Isc => &[("isc-dhcp-server", "dhcpd")],
        DhcpServer::Kea => &[("kea-dhcp4-server", "kea-dhcp4")],
    }
}

/// The packages whose files are missing from any of `lists`, each named once, in order, given
/// a way to tell whether a file or program is there. Pure, so the message can be tested.
pub fn missing_from(lists: &[Needs], have: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (p, f) in lists.iter().flat_map(|l| l.iter()) {
        if !have(f) && !v.contains(p) {
            v.push(p);
        }
    }
    v
}

/// Whether a file (absolute path) or program is on this host.
fn have(f: &str) -> bool {
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

/// Refuses to start without root or without the packages, naming them all at once.
pub(crate) fn preflight(what: &str, needs: &[Needs]) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!("pxe-kit {what} creates network namespaces and runs daemons; run it as root");
    }
    let missing = missing_from(needs, &have);
    if !missing.is_empty() {
        bail!(
            "{what} needs packages that are not installed: {}; install them with: apt-get install -y --no-install-recommends {}",
            missing.join(", "),
            missing.join(" ")
        );
    }
    Ok(())
}

/// The newest host kernel and its version, from /boot/vmlinuz-*.
fn host_kernel() -> Result<(PathBuf, String)> {
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

const OS_RELEASE_DEMO: &str =
    "NAME=\"pxe-kit demo\"\nID=pxe-kit-demo\nPRETTY_NAME=\"pxe-kit lab demo (busybox)\"\n";
const OS_RELEASE_SERVER: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

/// The staged server's settings: the lab bridge on 10.77.0.0/24, the serial console on, the
/// DHCP server `server`.
pub fn settings_yaml(server: DhcpServer) -> String {
    settings_yaml_mode(server, false)
}

/// The same, in proxy mode with `proxy` (the range is then the office server's pool, see
/// `lab::office`).
pub fn settings_yaml_mode(server: DhcpServer, proxy: bool) -> String {
    format!(
        "# pxe-kit lab demo settings.\n\
         interface: {BRIDGE}\n\
         server_ip: 10.77.0.1\n\
         subnet: 10.77.0.0/24\n\
         range: 10.77.0.100-10.77.0.200\n\
         ping_check: false\n\
         dhcp:\n  server: {}\n{}\
         boot:\n  timeout: 10\n  default: local\n  serial:\n    port: 0\n    baud: 115200\n",
        server.key(),
        if proxy { "  mode: proxy\n" } else { "" }
    )
}

/// `lab demo --relay`: the relayed subnet the VM boots on, behind the lab's router.
pub const RELAYED_SUBNET: &str =
    "subnets:\n- network: 10.78.0.0/24\n  range: 10.78.0.100-10.78.0.200\n  router: 10.78.0.1\n";

/// What `--relay` needs besides the demo's own packages.
pub const RELAY_NEEDS: Needs = &[("isc-dhcp-relay", "dhcrelay")];

/// A busybox-static root tree whose /sbin/init is `init`.
fn build_rootfs(tree: &Root, init: &str) -> Result<()> {
    let bb =
        find_program("busybox").context("busybox not found; apt-get install -y busybox-static")?;
    for d in [
        "bin", "sbin", "etc", "dev", "proc", "sys", "run", "tmp", "root",
    ] {
        tree.create_dir_all(&Path::new("/").join(d))?;
    }
    let bytes = std::fs::read(&bb).with_context(|| format!("reading {bb}"))?;
    tree.write(Path::new("/bin/busybox"), &bytes, 0o755)?;
    for applet in [
        "sh", "mount", "poweroff", "cat", "sleep", "ls", "sync", "echo",
    ] {
        tree.symlink(Path::new("busybox"), &Path::new("/bin").join(applet))?;
    }
    tree.write(Path::new("/sbin/init"), init.as_bytes(), 0o755)?;
    // systemd's switch-root (in fuller initramfs flavours) insists on an os-release.
    tree.write(
        Path::new("/etc/os-release"),
        OS_RELEASE_DEMO.as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// Stages a Debian server root: os-release, the host's boot loader files where the Debian
/// profile copies them from, and the settings.
pub(crate) fn stage_server(root: &Path, settings: &str) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let staged = Root::new(root, false, Out::default())?;
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
        settings.as_bytes(),
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

/// Boots the staged server (or, with --no-boot, keeps it and says how to boot it), then says
/// how it all ended.
fn boot_staged(
    what: &str,
    o: &DemoOpts,
    out: Out,
    mut work: WorkDir,
    root: &Path,
    started: Instant,
    boot_hint: &str,
) -> Result<Exit> {
    if o.no_boot {
        work.keep();
        out.say(format!(
            "{what}: not booting (--no-boot); boot it with: pxe-kit --root {} lab boot{boot_hint}",
            root.display()
        ));
        return Ok(Exit::Ok);
    }
    let ctx = Ctx::new(&Options::staged(root, Some(Distro::Debian), out))?;
    let exit = boot::boot(&ctx, &o.boot, &mut work)?;
    let how = if exit == Exit::Ok {
        "done"
    } else {
        "boot failed"
    };
    out.say(format!(
        "{what}: {how} in {:.0} s in all",
        started.elapsed().as_secs_f64()
    ));
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_packages_are_named_once_in_order() {
        const NEEDS: Needs = &[("dracut-live", "/x/livenet"), ("dracut-network", "/x/nfs")];
        let m = missing_from(&[NEEDS, dhcp_needs(DhcpServer::Kea), SERVER_AND_VM], &|f| {
            f != "radvd" && f != "/x/livenet" && f != "kea-dhcp4"
        });
        assert_eq!(m, ["dracut-live", "kea-dhcp4-server", "radvd"]);
        assert!(missing_from(&[NEEDS, SERVER_AND_VM], &|_| true).is_empty());
    }

    #[test]
    fn settings_name_the_lab_bridge_and_parse() {
        let y = settings_yaml(DhcpServer::Kea);
        let c = crate::config::Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(c.dhcp.server, Some(DhcpServer::Kea));
        assert_eq!(c.interface, BRIDGE);
        assert!(!c.ping_check);
        assert_eq!(c.boot.serial.unwrap().baud, 115200);
        // --relay's settings: the lab bridge's subnet and one behind the lab's router.
        let y = settings_yaml(DhcpServer::Isc) + RELAYED_SUBNET;
        let c = crate::config::Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(c.subnets[0].network.to_string(), "10.78.0.0/24");
        assert_eq!(
            crate::lab::routed::uplink_address(&c).unwrap().to_string(),
            "10.77.0.254"
        );
    }
}
