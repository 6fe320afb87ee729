//! Every clap structure of the command line, so man pages and completions come from one place.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{DhcpMode, DhcpServer, HaMode, Launcher, Role};
use crate::ctx::Options;
use crate::distro::Distro;
use crate::root::Out;

#[derive(Debug, Parser)]
#[command(
    name = "pxe-kit",
    version,
    about = "Turn a server into a PXE boot server for diskless, stateless machines",
    long_about = "pxe-kit prepares a DHCP server (ISC dhcpd or Kea), a TFTP server, httpd and pxelinux so that blank \
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
    /// How long a command that changes the server waits for another one to finish (they
    /// take turns on a lock); 0 refuses at once.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 600)]
    pub lock_wait: u64,
}

impl GlobalArgs {
    /// The plain options a `Ctx` is built from.
    pub fn options(&self) -> Options {
        Options {
            root: self.root.clone(),
            config: self.config.clone(),
            dry_run: self.dry_run,
            distro: self.distro.map(Distro::from),
            out: self.out(),
            lock_wait: std::time::Duration::from_secs(self.lock_wait),
        }
    }

    pub fn out(&self) -> Out {
        Out {
            quiet: self.quiet,
            verbose: self.verbose,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DistroArg {
    Fedora,
    Rhel,
    Debian,
}

impl From<DistroArg> for Distro {
    fn from(a: DistroArg) -> Distro {
        match a {
            DistroArg::Fedora => Distro::Fedora,
            DistroArg::Rhel => Distro::Rhel,
            DistroArg::Debian => Distro::Debian,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LauncherArg {
    /// systemd tftp.socket (current Fedora / RHEL).
    Socket,
    /// xinetd with /etc/xinetd.d/tftp (legacy Fedora, or where xinetd is installed).
    Xinetd,
    /// tftpd-hpa with /etc/default/tftpd-hpa (Debian, Ubuntu).
    TftpdHpa,
}

impl From<LauncherArg> for Launcher {
    fn from(a: LauncherArg) -> Launcher {
        match a {
            LauncherArg::Socket => Launcher::Socket,
            LauncherArg::Xinetd => Launcher::Xinetd,
            LauncherArg::TftpdHpa => Launcher::TftpdHpa,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DhcpServerArg {
    /// ISC dhcpd (Fedora, EL9, Debian 12; end of life upstream).
    Isc,
    /// ISC Kea's kea-dhcp4 (the only one RHEL 10 and its rebuilds ship).
    Kea,
}

impl From<DhcpServerArg> for DhcpServer {
    fn from(a: DhcpServerArg) -> DhcpServer {
        match a {
            DhcpServerArg::Isc => DhcpServer::Isc,
            DhcpServerArg::Kea => DhcpServer::Kea,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DhcpModeArg {
    /// pxe-kit's DHCP server gives addresses and boot files.
    Server,
    /// The network's DHCP server gives addresses; pxe-kit's dnsmasq answers PXE clients.
    Proxy,
}

impl From<DhcpModeArg> for DhcpMode {
    fn from(a: DhcpModeArg) -> DhcpMode {
        match a {
            DhcpModeArg::Server => DhcpMode::Server,
            DhcpModeArg::Proxy => DhcpMode::Proxy,
        }
    }
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
    /// Give one machine its own boot entry (by MAC or address) and optionally a fixed lease.
    AddHost(AddHostArgs),
    /// List the machines with their own boot entry.
    Hosts(HostsArgs),
    /// Remove a machine's boot entry and fixed lease.
    RemoveHost(RemoveHostArgs),
    /// Each machine's last boot stage (address, loader, kernel and initramfs, root image),
    /// with times and errors, read from the daemons' logs.
    Status(StatusArgs),
    /// Run the DHCP, TFTP and HTTP daemons in the foreground with pxe-kit's configs
    /// (for hosts whose PID 1 is not systemd, containers and labs).
    Serve(ServeArgs),
    /// Prove the chain end to end: boot a blank VM in a private network namespace.
    Lab(LabArgs),
    /// Copy images, settings and hosts to the failover partner with rsync over SSH; the
    /// partner checks every file's SHA-256 before an image becomes bootable there.
    Sync(SyncArgs),
    /// Check that the server works: settings, network, services, TFTP/HTTP for real, menu,
    /// images, SELinux labels and firewall; exit 0 healthy, 1 problems found, 2 could not run.
    Doctor(DoctorArgs),
    /// Write man pages and shell completions (used by the build; hidden).
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

#[derive(Debug, Clone, Default, Args)]
pub struct InitArgs {
    /// Provisioning interface (the only one the DHCP server serves and the firewall opens).
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
    /// The DHCP server; switching stops and disables the other one [default: the saved
    /// setting, else ISC dhcpd where the release ships it, Kea on RHEL-family 10 and later].
    #[arg(long, value_enum, value_name = "SERVER")]
    pub dhcp_server: Option<DhcpServerArg>,
    /// `server`: pxe-kit's DHCP server gives addresses; `proxy`: the network's own DHCP
    /// server does and pxe-kit answers PXE clients only (proxyDHCP, dnsmasq) [default: the
    /// saved setting, else server].
    #[arg(long, value_enum, value_name = "MODE")]
    pub dhcp_mode: Option<DhcpModeArg>,
    /// Serve addresses even though another DHCP server answers on the interface (a segment
    /// split some other way); saved in the settings (`dhcp.allow_other_dhcp`).
    #[arg(long)]
    pub allow_other_dhcp: bool,
    /// Serial console for the boot menu and kernels, PORT,BAUD (e.g. 0,115200).
    #[arg(long, value_name = "PORT,BAUD")]
    pub serial: Option<String>,
    /// The partner of a failover pair: the other boot server's address on the provisioning
    /// network (`none` leaves the pair). Needs --role the first time.
    #[arg(long, value_name = "IP|none")]
    pub peer: Option<String>,
    /// This server's part in the pair.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// How the pair shares the machines [default: load-balancing].
    #[arg(long, value_enum, value_name = "MODE")]
    pub ha_mode: Option<HaModeArg>,
    /// Move the provisioning interface into firewalld's pxe-kit zone even when its current
    /// zone allows more than services and ports (an accepting target, rich rules,
    /// forwarding), which then no longer apply there. Services and ports are always kept.
    #[arg(long)]
    pub firewall_takeover: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Holds the failover split (dhcpd's mclt/split; Kea's primary).
    Primary,
    /// The other member.
    Secondary,
}

impl From<RoleArg> for Role {
    fn from(a: RoleArg) -> Role {
        match a {
            RoleArg::Primary => Role::Primary,
            RoleArg::Secondary => Role::Secondary,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HaModeArg {
    /// Both servers answer, each for half of the machines; either takes all when the other
    /// is gone.
    LoadBalancing,
    /// The primary answers; the secondary takes over when it goes silent.
    HotStandby,
}

impl From<HaModeArg> for HaMode {
    fn from(a: HaModeArg) -> HaMode {
        match a {
            HaModeArg::LoadBalancing => HaMode::LoadBalancing,
            HaModeArg::HotStandby => HaMode::HotStandby,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct AddImageArgs {
    /// Live ISO to import (read directly, no loop mount).
    #[arg(value_name = "ISO", conflicts_with_all = ["kernel", "rootfs"])]
    pub iso: Option<PathBuf>,
    /// Kernel for the kernel + root tree form; with --nfs, the tree's kernel version (or
    /// path) when it holds several.
    #[arg(long, value_name = "FILE|KVER")]
    pub kernel: Option<PathBuf>,
    /// Export this root tree read-only over NFS and boot it with root=nfs:SERVER:PATH.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["iso", "rootfs"])]
    pub nfs: Option<PathBuf>,
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
    /// Extra kernel arguments, as the kernel reads them (`quiet acpi_osi="!Windows 2012"`).
    /// Words every loader (pxelinux, GRUB, iPXE) passes alike; `;`, `||`, `&&`, `#…`, `${`,
    /// `'`, `\` and non-ASCII are refused.
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
    /// Remove it even though hosts boot it (their entries go too).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateDocsArgs {
    /// Directory that receives man/ and completions/.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// How far back to read the logs (e.g. 30m, 2h, 1day; at most 10 years).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub since: humantime::Duration,
    /// Redraw every 2 seconds until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Machine-readable output.
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Directory for the daemons' runtime files (generated apache config, pid files,
    /// sockets) [default: a temporary directory removed on exit].
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LabCommand {
    /// Boot a blank VM from this (staged) server inside a private network namespace.
    Boot(LabBootArgs),
    /// Build a demo image from this host (no downloads), stage a server and boot it.
    Demo(LabDemoArgs),
    /// Print an isolated libvirt network without DHCP (pxe-kit's DHCP server serves it).
    LibvirtNetwork(LibvirtNetworkArgs),
    /// Print a libvirt domain that boots from the network with no disk.
    LibvirtVm(LibvirtVmArgs),
    /// Relay the VM's frames to the lab tap with a delay (used by `lab boot --latency`).
    #[command(hide = true)]
    Relay(LabRelayArgs),
    /// Power on hundreds of simulated PXE machines at once against a served server in the
    /// lab's private network; report each stage's percentiles, DHCP answers, leases per
    /// machine and the time until all booted.
    Storm(LabStormArgs),
    /// The storm's simulated machines (run by `lab storm` inside its namespace).
    #[command(hide = true)]
    StormClients(LabStormClientsArgs),
    /// Rehearse the live path on a disposable real server: a Debian 12 VM (systemd, SELinux
    /// enforcing, firewalld, NetworkManager) built from the distribution's packages, pxe-kit
    /// installed from its .deb and run live (init, add-image of a live ISO, doctor), then a
    /// blank client PXE-boots through it; prints pass/fail facts and timings.
    Server(LabServerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LabServerArgs {
    /// The pxe-kit package to install in the VM [default: the newest target/debian/pxe-kit_*.deb
    /// under the current directory, as packaging/build.sh leaves it].
    #[arg(long, value_name = "FILE")]
    pub deb: Option<PathBuf>,
    /// Where server images are cached, one per content key.
    #[arg(long, value_name = "DIR", default_value = "/var/cache/pxe-kit/lab")]
    pub cache: PathBuf,
    /// Debian mirror for the image build [default: this host's apt sources].
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Build the image again even when the cache has one for the current key.
    #[arg(long)]
    pub rebuild: bool,
    /// Only make sure the cached image is there (build it when missing), then stop.
    #[arg(long)]
    pub image_only: bool,
    /// Seconds the whole VM run may take (TCG on a busy host is slow).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub timeout: u64,
    /// Seconds the client VM gets to reach the demo marker.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub client_timeout: u64,
    /// Server VM memory in MiB.
    #[arg(long, value_name = "MiB", default_value_t = 1536)]
    pub memory: u32,
    /// Keep the work directory (the guest's logs, journal, audit log, serial consoles, the
    /// disk overlay) and print where it is; it is always kept, without the overlay, when a
    /// check fails.
    #[arg(long)]
    pub keep: bool,
    /// Machine-readable report on stdout (the human one goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LabStormArgs {
    /// How many machines power on.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub clients: u32,
    /// Machines powered on per second (each sends its DHCPDISCOVER then).
    #[arg(long, default_value_t = 100.0, value_name = "PER_SEC")]
    pub rate: f64,
    /// Limit the server's link to this many Mbit/s (tc tbf).
    #[arg(long, value_name = "MBIT")]
    pub link: Option<u32>,
    /// Image to boot, with --root [default: the menu default].
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// Share of UEFI machines, in percent (the rest are BIOS).
    #[arg(long, default_value_t = 50, value_name = "PERCENT")]
    pub uefi: u32,
    /// Sizes of the synthetic image when no --root is given: kernel, initramfs and root, in
    /// MiB.
    #[arg(long, default_value = "4,16,32", value_name = "K,I,R")]
    pub sizes: String,
    /// Seconds after which every machine still booting gives up.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub timeout: u64,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
    /// Keep the storm's work directory (logs, the machines' results) and print where it is.
    #[arg(long)]
    pub keep: bool,
    /// The synthetic servers' DHCP server [default: the release's].
    #[arg(long, value_enum, value_name = "SERVER")]
    pub dhcp_server: Option<DhcpServerArg>,
    /// Storm a failover pair: two servers (primary 10.78.0.1, secondary 10.78.0.2), each with
    /// its own link, the primary's daemons killed mid-storm; machines it breaks power on
    /// again and must finish on the survivor.
    #[arg(long)]
    pub pair: bool,
    /// The pair's mode.
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        requires = "pair",
        default_value = "load-balancing"
    )]
    pub ha_mode: HaModeArg,
    /// Kill the primary this many seconds after the first power-on, or `never`.
    #[arg(long, value_name = "SECONDS|never", requires = "pair")]
    pub kill_after: Option<String>,
    /// Kill the primary as the Nth machine starts its loader transfer from it: that machine
    /// is then mid-boot on it [default: a quarter of the machines].
    #[arg(
        long,
        value_name = "N",
        requires = "pair",
        conflicts_with = "kill_after"
    )]
    pub kill_at_transfer: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// The partner as SSH reaches it, [user@]host [default: peers.ssh, else root@partner].
    #[arg(value_name = "PEER")]
    pub peer: Option<String>,
    /// The SSH command rsync and the partner's pxe-kit run through.
    #[arg(long, value_name = "CMD", default_value = "ssh -o BatchMode=yes")]
    pub ssh_command: String,
    /// pxe-kit on the partner.
    #[arg(long, value_name = "PATH", default_value = "pxe-kit")]
    pub remote_pxe_kit: String,
    /// The partner's root (a staged root, for tests) [default: /].
    #[arg(long, value_name = "DIR", hide = true, default_value = "/")]
    pub remote_root: PathBuf,
    /// Run on the partner by `sync`: take in what the named member sent.
    #[arg(long, value_enum, value_name = "ROLE", hide = true)]
    pub accept: Option<RoleArg>,
    /// Print this server's image list (names and manifest checksums) as JSON, for the
    /// partner's doctor.
    #[arg(long, hide = true)]
    pub print_index: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LabStormClientsArgs {
    /// The storm's plan (JSON).
    #[arg(long)]
    pub plan: PathBuf,
    /// Where the machines' results go (JSON).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct LabRelayArgs {
    /// The tap to attach to.
    #[arg(long)]
    pub tap: String,
    /// UDP port on 127.0.0.1 QEMU sends to.
    #[arg(long)]
    pub listen: u16,
    /// UDP port on 127.0.0.1 QEMU listens on.
    #[arg(long)]
    pub qemu: u16,
    /// One-way delay in milliseconds.
    #[arg(long)]
    pub delay_ms: f64,
}

#[derive(Debug, Clone, Args)]
pub struct LabBootArgs {
    /// Image to boot [default: the menu default].
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// Success marker on the serial console [default: the demo's marker].
    #[arg(long, value_name = "REGEX")]
    pub pattern: Option<String>,
    /// Seconds to wait for the marker.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Keep the lab's work directory (logs, serial console) and print where it is.
    #[arg(long)]
    pub keep: bool,
    /// MAC address of the VM's NIC.
    #[arg(long, value_name = "MAC", default_value = "52:54:00:77:00:10")]
    pub mac: String,
    /// VM memory in MiB (the live image is held in RAM).
    #[arg(long, value_name = "MiB", default_value_t = 1024)]
    pub memory: u32,
    /// UEFI firmware (OVMF, no Secure Boot) instead of BIOS (SeaBIOS).
    #[arg(long)]
    pub uefi: bool,
    /// UEFI with Secure Boot enforced (OVMF's secboot build, Microsoft's keys enrolled);
    /// implies --uefi and --no-ipxe-rom (shim cannot verify GRUB fetched through iPXE).
    #[arg(long)]
    pub secure_boot: bool,
    /// UEFI only: no iPXE ROM on the NIC, so the firmware's own PXE boots, as on most real
    /// machines.
    #[arg(long)]
    pub no_ipxe_rom: bool,
    /// Delay every frame between the VM and the server by MS milliseconds each way (round
    /// trip 2 x MS): netem, or a userspace relay where the kernel has no netem.
    #[arg(long, value_name = "MS")]
    pub latency: Option<f64>,
    /// Boot the image's kernel and initrd directly (QEMU -kernel), no firmware, DHCP or
    /// loader before the kernel: the floor for boot-time comparisons.
    #[arg(long, conflicts_with_all = ["uefi", "secure_boot", "no_ipxe_rom"])]
    pub direct: bool,
    /// Put the VM on the settings' first relayed subnet (`subnets:`), behind a router
    /// namespace that forwards to the server and relays DHCP with ISC's dhcrelay.
    #[arg(long, conflicts_with_all = ["direct", "latency"])]
    pub relay: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LabDemoArgs {
    #[command(flatten)]
    pub boot: LabBootArgs,
    /// Build and stage the demo server, print its root and stop (implies --keep).
    #[arg(long)]
    pub no_boot: bool,
    /// The staged server's DHCP server [default: isc].
    #[arg(long, value_enum, value_name = "SERVER")]
    pub dhcp_server: Option<DhcpServerArg>,
    /// The network already has DHCP: an ISC dhcpd with no PXE options and a pool of its own
    /// (in a namespace of its own on the lab's segment) gives the VM its address, and pxe-kit
    /// in proxy mode (dnsmasq) gives the boot file.
    #[arg(long, conflicts_with_all = ["nfs", "dhcp_server", "relay"])]
    pub proxy_dhcp: bool,
    /// Demo the NFS-root and per-machine paths instead: an NFS root tree served by
    /// nfs-ganesha, added as image `terminal` for --mac only (add-host, fixed address), the
    /// menu default left at `local`.
    #[arg(long, conflicts_with = "relay")]
    pub nfs: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LibvirtNetworkArgs {
    /// Network name.
    #[arg(long, default_value = "pxe-kit")]
    pub name: String,
    /// Bridge libvirt creates (the interface pxe-kit serves).
    #[arg(long, default_value = "pxk-virbr0")]
    pub bridge: String,
}

#[derive(Debug, Clone, Args)]
pub struct LibvirtVmArgs {
    /// MAC address of the VM's NIC.
    #[arg(long, value_name = "MAC")]
    pub mac: String,
    /// Domain name.
    #[arg(long, default_value = "pxe-kit-client")]
    pub name: String,
    /// Memory in MiB.
    #[arg(long, value_name = "MiB", default_value_t = 2048)]
    pub memory: u32,
    /// libvirt network the NIC joins.
    #[arg(long, default_value = "pxe-kit")]
    pub network: String,
    /// Boot this kernel directly instead of from the network.
    #[arg(long, value_name = "FILE", requires_all = ["initrd", "cmdline"])]
    pub kernel: Option<PathBuf>,
    /// Initramfs for --kernel.
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    /// Kernel command line for --kernel.
    #[arg(
        long,
        value_name = "ARGS",
        allow_hyphen_values = true,
        requires = "kernel"
    )]
    pub cmdline: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct DoctorArgs {
    /// Machine-readable report (schema in docs/doctor-json.md).
    #[arg(long)]
    pub json: bool,
    /// Repair what can be repaired (rendered files, labels, firewall, services), then check
    /// again and report before and after.
    #[arg(long)]
    pub fix: bool,
    /// Also hash every image in full: root images over HTTP and on disk, kernels and
    /// initrds over TFTP (slow on large images).
    #[arg(long)]
    pub deep: bool,
    /// List the checks and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "csv", "names"])))]
pub struct AddHostArgs {
    /// The machine's MAC address (52:54:00:12:34:56, 52-54-…, 5254.0012.3456) or, for a
    /// machine known by address only, its IPv4 address.
    #[arg(value_name = "MAC|IP")]
    pub id: Option<String>,
    /// Image the machine boots (with --csv: for lines that name none).
    #[arg(long, required_unless_present = "csv")]
    pub image: Option<String>,
    /// Many machines from a CSV file: mac,hostname,ip,image per line (a header line naming
    /// the columns is allowed).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["id", "names"])]
    pub csv: Option<PathBuf>,
    /// Many machines from a hostlist of names, e.g. node[001-500] (with --ips and/or --macs).
    #[arg(long, value_name = "HOSTLIST", conflicts_with = "id")]
    pub names: Option<String>,
    /// With --names: their addresses, counted up from FIRST (or exactly FIRST-LAST).
    #[arg(long, value_name = "FIRST[-LAST]", requires = "names")]
    pub ips: Option<String>,
    /// With --names: their MACs, counted up from FIRST.
    #[arg(long, value_name = "FIRST", requires = "names")]
    pub macs: Option<String>,
    /// Fixed address (a dhcpd host block or Kea reservation; outside the dynamic pool).
    #[arg(long, value_name = "IP", requires = "id")]
    pub ip: Option<String>,
    /// Host name handed out with the fixed lease.
    #[arg(long, requires = "id")]
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct HostsArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RemoveHostArgs {
    /// The machine's MAC address or IPv4 address, as given to add-host.
    #[arg(value_name = "MAC|IP")]
    pub id: String,
}
