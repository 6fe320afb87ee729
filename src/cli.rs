//! Every clap structure of the command line, so man pages and completions come from one place.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pxe-kit",
    version,
    about = "Turn a server into a PXE boot server for diskless, stateless machines",
    long_about = "pxe-kit prepares ISC dhcpd, a TFTP server, httpd and pxelinux so that blank \
                  machines boot a live image over the network (dracut livenet), checks that \
                  the chain works, and proves it by booting a blank VM."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Act on DIR as if it were /: files are read and written under DIR and commands that
    /// would change the live system are listed, not run.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Settings file [default: <root>/etc/pxe-kit/pxe-kit.yaml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Show a unified diff of every file and every command; change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Distribution profile [default: detected from <root>/etc/os-release].
    #[arg(long, global = true, value_enum)]
    pub distro: Option<DistroArg>,
    /// Print each command before running it, and diffs of changed files.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistroArg {
    Fedora,
    Rhel,
    Debian,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LauncherArg {
    /// systemd tftp.socket (current Fedora / RHEL).
    Socket,
    /// xinetd with /etc/xinetd.d/tftp (legacy Fedora, or where xinetd is installed).
    Xinetd,
    /// tftpd-hpa with /etc/default/tftpd-hpa (Debian, Ubuntu).
    TftpdHpa,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up (or re-apply) the boot server: packages, configs, boot loader, labels,
    /// firewall, services.
    Init(InitArgs),
    /// Import a live ISO, or a kernel + root tree, as a bootable image.
    AddImage(AddImageArgs),
    /// List the images this server boots.
    Images(ImagesArgs),
    /// Remove an image: its files, manifest and menu entry.
    RemoveImage(RemoveImageArgs),
    /// Write man pages and shell completions (used by the build; hidden).
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

#[derive(Debug, Clone, Default, Args)]
pub struct InitArgs {
    /// Provisioning interface (the only one dhcpd serves and the firewall opens).
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    /// This server's address on the provisioning network [default: the interface's].
    #[arg(long, value_name = "IP")]
    pub server_ip: Option<String>,
    /// Provisioning subnet in CIDR form [default: the interface's].
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,
    /// Dynamic pool, FIRST-LAST [default: the upper half of the subnet].
    #[arg(long, value_name = "FIRST-LAST")]
    pub range: Option<String>,
    /// Default gateway handed to clients.
    #[arg(long, value_name = "IP")]
    pub router: Option<String>,
    /// DNS servers handed to clients, comma-separated.
    #[arg(long, value_name = "IP,...", value_delimiter = ',')]
    pub dns: Option<Vec<String>>,
    /// DNS search domains, comma-separated.
    #[arg(long, value_name = "DOMAIN,...", value_delimiter = ',')]
    pub domain_search: Option<Vec<String>>,
    /// Clients' offset from UTC in seconds (DHCP option 2).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub time_offset: Option<i32>,
    /// How TFTP is launched [default: the distribution's way].
    #[arg(long, value_enum)]
    pub tftp_launcher: Option<LauncherArg>,
    /// Serial console for the boot menu and kernels, PORT,BAUD (e.g. 0,115200).
    #[arg(long, value_name = "PORT,BAUD")]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AddImageArgs {
    /// Live ISO to import (read directly, no loop mount).
    #[arg(value_name = "ISO", conflicts_with_all = ["kernel", "rootfs"])]
    pub iso: Option<PathBuf>,
    /// Kernel for the kernel + root tree form.
    #[arg(long, value_name = "FILE", requires = "rootfs")]
    pub kernel: Option<PathBuf>,
    /// Root tree (a directory, squashed with mksquashfs) or an existing squashfs/EROFS image.
    #[arg(long, value_name = "PATH", requires = "kernel")]
    pub rootfs: Option<PathBuf>,
    /// Existing initramfs to use instead of building one with dracut.
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,
    /// Image name (menu label) [default: derived from the ISO or root tree name].
    #[arg(long)]
    pub name: Option<String>,
    /// Make this image the menu default.
    #[arg(long)]
    pub default: bool,
    /// Extra kernel arguments.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub append: Option<String>,
    /// Build the initramfs with dracut even when the ISO's own can boot over the network.
    #[arg(long)]
    pub dracut: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RemoveImageArgs {
    /// Image name.
    pub name: String,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateDocsArgs {
    /// Directory that receives man/ and completions/.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}
