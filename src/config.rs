//! The settings model (`/etc/pxe-kit/pxe-kit.yaml`): parsing, defaults and validation.
//!
//! Everything a user can type ends up here and is validated before anything is touched, so a
//! bad value is a one-line error naming the value and the fix, never a broken daemon config.
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::host::Host;

pub const DEFAULT_CONFIG: &str = "/etc/pxe-kit/pxe-kit.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Provisioning interface: the only one dhcpd serves and the firewall opens.
    pub interface: String,
    pub server_ip: Ipv4Addr,
    pub subnet: Ipv4Net,
    pub range: Pool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain_search: Vec<String>,
    /// Subnets behind DHCP relays (routers forwarding their clients' DHCP to this server):
    /// each with its own pool, router and options, served by the same DHCP server and boot
    /// files. The top-level `subnet`, `range`, `router`, `dns` and `domain_search` stay the
    /// provisioning interface's own subnet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Relayed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_offset: Option<i32>,
    /// Seconds; dhcpd's max-lease-time is twice this.
    #[serde(default = "default_lease_time")]
    pub lease_time: u32,
    /// dhcpd pings an address before offering it and waits a whole second for an answer.
    /// Off by default: under a boot storm the stall delays every new machine and dhcpd drops
    /// the DISCOVERs a client repeats meanwhile (see dhcpd.conf's comment). ISC dhcpd only:
    /// Kea offers without a ping.
    #[serde(default)]
    pub ping_check: bool,
    /// Which DHCP server serves the provisioning interface.
    #[serde(default, skip_serializing_if = "Dhcp::is_unset")]
    pub dhcp: Dhcp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tftp_launcher: Option<Launcher>,
    /// Override of the distribution's TFTP root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tftp_root: Option<PathBuf>,
    /// Override of the directory httpd serves images from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_dir: Option<PathBuf>,
    #[serde(default)]
    pub boot: Boot,
    /// A failover pair: the partner server and this server's part in it (ISC dhcpd's
    /// failover protocol or Kea's High Availability hook; images copied with `pxe-kit sync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Peers>,
    /// What stays open on the provisioning interface besides DHCP, TFTP and HTTP (firewalld).
    #[serde(default, skip_serializing_if = "FirewallKeep::is_empty")]
    pub firewall: FirewallKeep,
    /// Machines with their own boot entry and, given a MAC and an address, a fixed lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Host>,
}

/// The DHCP daemon's nice value unless the settings say otherwise (`dhcp.nice`), in its
/// unit's drop-in and under `serve`. In a boot storm hundreds of lock-step in.tftpd children
/// and httpd workers are runnable at once; at the default priority dhcpd waited for a time
/// slice while the firmware's DISCOVERs overflowed its socket (the storm bench: 10-17 % of
/// DISCOVERs unanswered at 200/s, none at -10). DHCP takes microseconds of CPU per packet, so
/// ranking it first costs the transfers nothing.
pub const DHCP_NICE: i32 = -10;

/// The TCP port the pair talks on: IANA's dhcp-failover port, for dhcpd's failover protocol
/// and for Kea's HA listener alike (one port to open, one to remember).
pub const FAILOVER_PORT: u16 = 647;

/// The `peers:` section: the two members of a failover pair name each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peers {
    /// The partner server's address on the provisioning network.
    pub partner: Ipv4Addr,
    /// This server's part: `primary` or `secondary` (the other server takes the other).
    pub role: Role,
    /// `load-balancing` (both answer, each for half of the machines) or `hot-standby` (the
    /// primary answers, the secondary takes over when it goes silent).
    #[serde(default)]
    pub mode: HaMode,
    /// ISC dhcpd's maximum client lead time, in seconds: how far a lease may run past what
    /// the partner knows. A survivor hands out addresses for at most this long while the
    /// partner is unreachable. Kea does not use it.
    #[serde(default = "Peers::default_mclt")]
    pub mclt: u32,
    /// How `pxe-kit sync` reaches the partner over SSH: `[user@]host` [default: root@partner].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
    /// Whether `sync --accept` takes the partner's template overrides. Off by default: a
    /// template decides what this server's daemons are configured to do. Never synced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accept_templates: bool,
}

impl Peers {
    /// Half an hour: a survivor's leases stay short while it cannot reach its partner, and
    /// a member returning after losing its lease database waits this long before serving.
    pub fn default_mclt() -> u32 {
        1800
    }

    /// The SSH destination `sync` uses.
    pub fn ssh_target(&self) -> String {
        self.ssh
            .clone()
            .unwrap_or_else(|| format!("root@{}", self.partner))
    }
}

/// One subnet behind a DHCP relay (`subnets:`). Its clients' requests arrive relayed (the
/// relay's address in `giaddr` picks the subnet), and they reach this server's TFTP and HTTP
/// through `router`. Left out, `dns` and `domain_search` are the top-level ones: a site's
/// name servers seldom differ per subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relayed {
    /// The subnet, in CIDR form (`10.1.0.0/24`).
    pub network: Ipv4Net,
    /// Its dynamic pool, `FIRST-LAST`.
    pub range: Pool,
    /// Its router: required, since the relay is usually the router and a relayed client
    /// reaches this server only through it.
    pub router: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain_search: Vec<String>,
}

impl Relayed {
    /// Host addresses in the pool (saturating: unvalidated settings count too).
    fn pool_size(&self) -> u32 {
        pool_size(&self.range)
    }
}

fn pool_size(r: &Pool) -> u32 {
    u32::from(r.end)
        .saturating_sub(u32::from(r.start))
        .saturating_add(1)
}

/// A member's part in the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Secondary,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
    /// The partner's part.
    pub fn other(self) -> Role {
        match self {
            Role::Primary => Role::Secondary,
            Role::Secondary => Role::Primary,
        }
    }
}

/// How the pair shares the machines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HaMode {
    #[default]
    LoadBalancing,
    HotStandby,
}

impl HaMode {
    pub fn key(self) -> &'static str {
        match self {
            HaMode::LoadBalancing => "load-balancing",
            HaMode::HotStandby => "hot-standby",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boot {
    /// Menu timeout in tenths of a second (pxelinux's unit).
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    #[serde(default = "default_title")]
    pub title: String,
    /// Image booted when the menu times out; `local` boots the local disk.
    #[serde(default = "default_entry")]
    pub default: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Serial>,
    /// How kernels and initramfs images travel: `http` (TFTP carries only the first-stage
    /// loader) or `tftp` (the classic chain).
    #[serde(default)]
    pub transfer: Transfer,
    /// The loader UEFI clients get: the distribution's signed shim + GRUB (Secure Boot), or
    /// syslinux.efi.
    #[serde(default)]
    pub uefi: UefiLoader,
    /// Clients that already run iPXE get an iPXE script over HTTP instead of a TFTP loader.
    #[serde(default = "default_true")]
    pub ipxe: bool,
}

impl Default for Boot {
    fn default() -> Self {
        Boot {
            timeout: default_timeout(),
            title: default_title(),
            default: default_entry(),
            serial: None,
            transfer: Transfer::default(),
            uefi: UefiLoader::default(),
            ipxe: true,
        }
    }
}

/// The `dhcp:` section of the settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dhcp {
    /// `isc` or `kea`. Left out, the release's default applies (ISC dhcpd where the release
    /// ships it, Kea on RHEL-family 10 and later), and `init` saves the choice here so that
    /// later runs, and upgrades of the distribution, do not switch servers behind the user's
    /// back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<DhcpServer>,
    /// The daemon's nice value, -20 to 19, in its unit's drop-in and under `serve`. Left out,
    /// -10 (`DHCP_NICE`): in a boot storm the DHCP daemon answers before the hundreds
    /// of TFTP and HTTP transfers get the CPU. 0 or more also drops the unit's raised CPUWeight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nice: Option<i32>,
    /// `server` (left out): pxe-kit's DHCP server gives addresses and boot files. `proxy`:
    /// the network's own DHCP server gives addresses and pxe-kit's dnsmasq, a proxyDHCP
    /// server, gives PXE clients their boot files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DhcpMode>,
    /// Serve addresses (server mode) even where another DHCP server answers on the
    /// provisioning interface: for a segment split some other way (the other server's
    /// pool excludes these machines, or it ignores them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_other_dhcp: bool,
}

/// Who gives the provisioning network its addresses (see `Dhcp::mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpMode {
    #[default]
    Server,
    Proxy,
}

impl DhcpMode {
    pub fn key(self) -> &'static str {
        match self {
            DhcpMode::Server => "server",
            DhcpMode::Proxy => "proxy",
        }
    }
}

impl Dhcp {
    fn is_unset(&self) -> bool {
        self.server.is_none()
            && self.nice.is_none()
            && self.mode.is_none()
            && !self.allow_other_dhcp
    }

    /// Server or proxy.
    pub fn mode(&self) -> DhcpMode {
        self.mode.unwrap_or_default()
    }

    /// The nice value the DHCP daemon runs at.
    pub fn nice(&self) -> i32 {
        self.nice.unwrap_or(DHCP_NICE)
    }
}

/// The `firewall:` section: when `init` moves the provisioning interface into firewalld's
/// `pxe-kit` zone, what the interface's previous zone let in stays allowed there (an admin's
/// SSH session must not be closed by a PXE setup). Edit the lists and run `pxe-kit init` to
/// change what the zone keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallKeep {
    /// The zone the interface was in before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// firewalld services kept (ssh, cockpit …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Ports kept, `PORT/PROTO` or `FIRST-LAST/PROTO`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ports: Vec<String>,
}

impl FirewallKeep {
    fn is_empty(&self) -> bool {
        *self == FirewallKeep::default()
    }

    /// Every kept item as firewall-cmd spells it without the verb: `service=ssh`,
    /// `port=9090/tcp`.
    pub fn items(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (kind, list) in [
            ("service", &self.services),
            ("port", &self.ports),
            ("protocol", &self.protocols),
            ("source-port", &self.source_ports),
        ] {
            v.extend(list.iter().map(|x| format!("{kind}={x}")));
        }
        v
    }

    fn validate(&self) -> Result<()> {
        for item in self.items().iter().chain(&self.moved_from) {
            let value = item.split_once('=').map_or(item.as_str(), |(_, v)| v);
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                bail!("firewall: {item:?} is not a firewalld name or PORT/PROTO; use letters, digits and -_./");
            }
        }
        Ok(())
    }
}

/// The DHCP server pxe-kit configures: one at a time, from the same settings and hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpServer {
    /// ISC dhcpd (end of life since 2022; still shipped by Fedora, EL9 and Debian 12).
    Isc,
    /// ISC Kea's kea-dhcp4, the replacement RHEL 10 ships.
    Kea,
}

impl DhcpServer {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            DhcpServer::Isc => "ISC dhcpd",
            DhcpServer::Kea => "Kea",
        }
    }

    /// How the settings and the command line spell it.
    pub fn key(self) -> &'static str {
        match self {
            DhcpServer::Isc => "isc",
            DhcpServer::Kea => "kea",
        }
    }
}

/// How the TFTP server is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launcher {
    /// systemd's tftp.socket (current Fedora / RHEL).
    Socket,
    /// xinetd with /etc/xinetd.d/tftp (legacy).
    Xinetd,
    /// tftpd-hpa with /etc/default/tftpd-hpa (Debian, Ubuntu).
    TftpdHpa,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transfer {
    #[default]
    Http,
    Tftp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UefiLoader {
    #[default]
    ShimGrub,
    Syslinux,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serial {
    pub port: u8,
    pub baud: u32,
}

impl FromStr for Serial {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (p, b) = s
            .split_once(',')
            .with_context(|| format!("serial {s:?}: expected PORT,BAUD such as 0,115200"))?;
        let port = p
            .trim()
            .parse()
            .with_context(|| format!("serial {s:?}: port {p:?} is not a number 0-3"))?;
        let baud = b
            .trim()
            .parse()
            .with_context(|| format!("serial {s:?}: baud {b:?} is not a number such as 115200"))?;
        Ok(Serial { port, baud })
    }
}

/// The dynamic pool, written `FIRST-LAST` in YAML and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pool {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

impl FromStr for Pool {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (a, b) = s.split_once('-').with_context(|| {
            format!("range {s:?}: expected FIRST-LAST such as 10.0.0.100-10.0.0.200")
        })?;
        Ok(Pool {
            start: parse_ip("range start", a.trim())?,
            end: parse_ip("range end", b.trim())?,
        })
    }
}

impl TryFrom<String> for Pool {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Pool> for String {
    fn from(p: Pool) -> String {
        p.to_string()
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl Pool {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.start <= ip && ip <= self.end
    }
}

fn default_lease_time() -> u32 {
    3600
}
fn default_true() -> bool {
    true
}
fn default_timeout() -> u32 {
    50
}
fn default_title() -> String {
    "pxe-kit network boot".into()
}
fn default_entry() -> String {
    "local".into()
}

pub fn parse_ip(what: &str, s: &str) -> Result<Ipv4Addr> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("{what} {s:?} is not an IPv4 address; write it like 10.0.0.1"))
}

pub fn parse_subnet(s: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = s.parse().map_err(|_| {
        anyhow::anyhow!("subnet {s:?} is not in CIDR form; write it like 10.0.0.0/24")
    })?;
    if net.addr() != net.network() {
        bail!(
            "subnet {s:?} has host bits set; did you mean {}/{}?",
            net.network(),
            net.prefix_len()
        );
    }
    check_prefix(net)?;
    Ok(net)
}

/// The subnet prefixes pxe-kit serves: /8 to /30.
pub const PREFIXES: std::ops::RangeInclusive<u8> = 8..=30;

/// A provisioning subnet is /8 to /30: a /31 or /32 has no room for a server and a pool, and
/// anything wider than a /8 is no broadcast domain a DHCP server could serve (its size also
/// overflows the neighbour-table and pool arithmetic).
pub fn check_prefix(net: Ipv4Net) -> Result<()> {
    let p = net.prefix_len();
    if p > *PREFIXES.end() {
        bail!("subnet {net} is too small for a DHCP pool; use a prefix from /8 to /30");
    }
    if p < *PREFIXES.start() {
        bail!(
            "subnet {net} is too large for one provisioning network; use a prefix from /8 to /30"
        );
    }
    Ok(())
}

/// Directories whose whole subtree belongs to the system: nothing below them is an image.
const SYSTEM_TREES: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root",
    "/run", "/sbin", "/sys",
];

/// System directories refused themselves; below them (an image tree under /var/lib/…, /srv/…)
/// is fine.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/home",
    "/opt",
    "/srv",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
    "/var/tmp",
    "/var/www",
];

/// The path with `.` and `..` taken out, without touching the filesystem.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// The system directory `p` is or lies in, if any.
fn system_dir(p: &Path) -> Option<&'static str> {
    SYSTEM_TREES
        .iter()
        .find(|t| p.starts_with(t))
        .or_else(|| SYSTEM_DIRS.iter().find(|d| p == Path::new(d)))
        .copied()
}

/// An NFS export directory is an image's root tree, never `/` or a system directory of this
/// server (/etc, /usr, /var/lib …), also not by a symlink or `..` that resolves to one: the
/// export is `no_root_squash` to the whole subnet. (Paths are resolved on this host's
/// filesystem, where the NFS server runs.)
pub fn check_nfs_export(path: &Path) -> Result<()> {
    if !path.is_absolute() {
        bail!(
            "NFS export {:?} is not an absolute path; give the image's root tree as /srv/…",
            path
        );
    }
    let lex = lexical(path);
    // A path that does not exist yet resolves to itself; the import refuses it later.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| lex.clone());
    for p in [&lex, &real] {
        if let Some(sys) = system_dir(p) {
            let via = if p.as_path() == path {
                String::new()
            } else {
                format!(" (resolves to {})", p.display())
            };
            let is = if p.as_path() == Path::new(sys) {
                "is"
            } else {
                "lies in"
            };
            bail!(
                "NFS export {}{via} {is} {sys}, a system directory of this server: exporting it would hand it to every client of the subnet as root; give the image's own root tree, such as /srv/pxe-kit/NAME",
                path.display()
            );
        }
    }
    Ok(())
}

/// Names pxe-kit places into config files and file names: labels, interfaces, images.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Why `s` cannot name an image or a host: it is pxe-kit's own. The `local` menu entry, the
/// iPXE script's `menu` label, the `ipxe` directory beside the images' HTTP directories, and
/// the iPXE script's fallback labels of a failover pair (`NAME-partner`).
pub fn reserved_name(s: &str) -> Option<&'static str> {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "local" => Some("the menu's local-disk entry"),
        "menu" => Some("the iPXE script's menu label"),
        "ipxe" => Some("the directory of the iPXE scripts beside the images"),
        _ if l.ends_with("-partner") => Some("the iPXE script's failover labels end -partner"),
        _ => None,
    }
}

/// An image name as add-image, sync and the settings take it.
pub fn check_image_name(s: &str) -> Result<()> {
    if !valid_name(s) {
        bail!("image name {s:?} is not usable; use letters, digits and -_. (at most 64, starting with a letter or digit), e.g. f42");
    }
    if let Some(why) = reserved_name(s) {
        bail!(
            "image name {s:?} is reserved ({why}); choose another name, e.g. {}-1",
            s.trim_end_matches("-partner")
        );
    }
    Ok(())
}

fn valid_interface(s: &str) -> bool {
    // Linux allows most bytes in interface names; we accept the ones that are safe in every
    // file we write them into (systemd command lines, dhcpd arguments, firewall rules).
    !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c))
}

fn valid_domain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Paths pxe-kit writes into configs unquoted or quoted: absolute, no spaces or quotes.
pub fn valid_abs_path(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.starts_with('/')
        && !s.split('/').any(|c| c == "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.+".contains(c))
}

impl Config {
    /// Settings with every optional value at its default.
    pub fn new(interface: String, server_ip: Ipv4Addr, subnet: Ipv4Net, range: Pool) -> Config {
        Config {
            interface,
            server_ip,
            subnet,
            range,
            router: None,
            dns: Vec::new(),
            domain_search: Vec::new(),
            subnets: Vec::new(),
            time_offset: None,
            lease_time: default_lease_time(),
            ping_check: false,
            dhcp: Dhcp::default(),
            tftp_launcher: None,
            tftp_root: None,
            http_dir: None,
            boot: Boot::default(),
            peers: None,
            firewall: FirewallKeep::default(),
            hosts: Vec::new(),
        }
    }

    /// How many machines may boot at once: every pool address (relayed subnets' too: their
    /// machines fetch from this server's httpd like the others) and every fixed host outside
    /// the pools.
    pub fn machines(&self) -> u32 {
        // Saturating: called on settings that may not have been validated yet.
        let pool = self.subnets.iter().fold(pool_size(&self.range), |n, s| {
            n.saturating_add(s.pool_size())
        });
        let fixed = self
            .hosts
            .iter()
            .filter(|h| h.ip.is_some_and(|ip| !self.in_a_pool(ip)))
            .count();
        pool.saturating_add(u32::try_from(fixed).unwrap_or(u32::MAX))
    }

    /// Whether `ip` is in the provisioning pool or a relayed subnet's.
    fn in_a_pool(&self, ip: Ipv4Addr) -> bool {
        self.range.contains(ip) || self.subnets.iter().any(|s| s.range.contains(ip))
    }

    /// Every subnet served: the provisioning interface's, then the relayed ones.
    pub fn all_subnets(&self) -> Vec<Ipv4Net> {
        std::iter::once(self.subnet)
            .chain(self.subnets.iter().map(|s| s.network))
            .collect()
    }

    /// Host addresses in the subnet (a /0 would need 33 bits: counted in 64, capped).
    pub fn subnet_hosts(&self) -> u32 {
        let all = 1u64 << (32 - u32::from(self.subnet.prefix_len()));
        u32::try_from(all.saturating_sub(2)).unwrap_or(u32::MAX)
    }

    pub fn load(path: &Path, text: &str) -> Result<Config> {
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{}: {}; fix the file or run `pxe-kit init` with flags",
                path.display(),
                e.to_string().replace('\n', " ")
            )
        })?;
        cfg.validate()
            .with_context(|| format!("{}", path.display()))?;
        Ok(cfg)
    }

    pub fn to_yaml(&self) -> String {
        let body = serde_yaml::to_string(self).expect("config serialises");
        format!("{}\n{body}", crate::root::SETTINGS_HEADER)
    }

    /// What proxy mode cannot do: the network's DHCP server gives every address, so there are
    /// no leases for a failover pair to share (two proxies would both answer every client)
    /// and no fixed addresses to hand out. The subnet to answer on is the provisioning
    /// subnet, which holds server_ip (checked with the rest).
    fn validate_proxy(&self) -> Result<()> {
        if self.dhcp.mode() != DhcpMode::Proxy {
            return Ok(());
        }
        if self.peers.is_some() {
            bail!("dhcp.mode proxy has no leases for a failover pair to share; remove peers (run one pxe-kit proxy per network) or use dhcp.mode server");
        }
        // dnsmasq's proxy answers on the provisioning segment only; relayed subnets are the
        // network's DHCP server's and its relays'.
        if !self.subnets.is_empty() {
            bail!("dhcp.mode proxy answers on the provisioning segment only; remove subnets: (the network's DHCP server and its relays serve them) or use dhcp.mode server");
        }
        if let Some(h) = self
            .hosts
            .iter()
            .find(|h| h.mac.is_some() && h.ip.is_some())
        {
            bail!(
                "host {} has a fixed address, which in dhcp.mode proxy only the network's DHCP server can give; reserve it there and re-add the host without --ip, or use dhcp.mode server",
                h.id()
            );
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<()> {
        self.validate_proxy()?;
        if !valid_interface(&self.interface) {
            bail!(
                "interface {:?} is not a valid interface name; use letters, digits and -_.: (at most 15)",
                self.interface
            );
        }
        if self.interface == "lo" {
            bail!("interface lo is the loopback device, which no client can reach; pass the provisioning network's interface (--interface IF)");
        }
        self.firewall.validate()?;
        if let Some(n) = self.dhcp.nice.filter(|n| !(-20..=19).contains(n)) {
            bail!("dhcp.nice {n} is outside -20..19; use -10 (the default) or 0 for no priority");
        }
        let net = self.subnet;
        if net.addr() != net.network() {
            bail!(
                "subnet {net} has host bits set; use {}/{}",
                net.network(),
                net.prefix_len()
            );
        }
        check_prefix(net)?;
        let host = |what: &str, ip: Ipv4Addr| -> Result<()> {
            if !net.contains(&ip) {
                bail!("{what} {ip} is outside subnet {net}; pick an address inside it");
            }
            if ip == net.network() || ip == net.broadcast() {
                bail!(
                    "{what} {ip} is the network or broadcast address of {net}; pick a host address"
                );
            }
            Ok(())
        };
        host("server address", self.server_ip)?;
        host("range start", self.range.start)?;
        host("range end", self.range.end)?;
        if self.range.start > self.range.end {
            bail!(
                "range {} is reversed; write the lower address first",
                self.range
            );
        }
        if self.range.contains(self.server_ip) {
            bail!(
                "server address {} is inside the range {}; move the range or the address",
                self.server_ip,
                self.range
            );
        }
        if let Some(r) = self.router {
            host("router", r)?;
            if self.range.contains(r) {
                bail!(
                    "router {r} is inside the range {}; move the range",
                    self.range
                );
            }
        }
        for d in &self.dns {
            if d.is_unspecified() || d.is_broadcast() || d.is_multicast() {
                bail!("DNS server {d} is not a usable unicast address");
            }
        }
        for d in &self.domain_search {
            if !valid_domain(d) {
                bail!("search domain {d:?} is not a valid DNS name; use labels of letters, digits and -");
            }
        }
        if let Some(t) = self.time_offset {
            if !(-43200..=50400).contains(&t) {
                bail!("time offset {t} is outside -43200..50400 seconds (UTC-12 to UTC+14)");
            }
        }
        if !(60..=604800).contains(&self.lease_time) {
            bail!(
                "lease_time {} is outside 60..604800 seconds",
                self.lease_time
            );
        }
        for (what, p) in [("tftp_root", &self.tftp_root), ("http_dir", &self.http_dir)] {
            if let Some(p) = p {
                if !valid_abs_path(p) || p == Path::new("/") {
                    bail!(
                        "{what} {:?} must be an absolute path of letters, digits and /-_.+ (not /)",
                        p
                    );
                }
                // Served to every client and written into by pxe-kit: never a system tree.
                if let Some(sys) = system_dir(&lexical(p)) {
                    bail!(
                        "{what} {} is or lies in {sys}, a system directory of this server, which pxe-kit would write into and serve to every client; give a directory of its own, such as /srv/tftp or /var/www/html/pxe-kit",
                        p.display()
                    );
                }
            }
        }
        let b = &self.boot;
        if b.timeout > 36000 {
            bail!(
                "boot.timeout {} is over an hour (unit: tenths of a second)",
                b.timeout
            );
        }
        if b.title.is_empty() || b.title.len() > 80 || b.title.chars().any(|c| c.is_control()) {
            bail!(
                "boot.title {:?} must be one line of at most 80 characters",
                b.title
            );
        }
        if let Some(why) = crate::bootline::title_problem(&b.title) {
            bail!("boot.title {:?} {why}", b.title);
        }
        if b.default != "local" && check_image_name(&b.default).is_err() {
            bail!("boot.default {:?} is not an image name; use `local` or an image from `pxe-kit images`", b.default);
        }
        self.validate_relayed()?;
        self.validate_hosts()?;
        self.validate_peers()?;
        if let Some(s) = b.serial {
            if s.port > 3 {
                bail!("serial port {} is not 0-3 (ttyS0-ttyS3)", s.port);
            }
            if ![9600, 19200, 38400, 57600, 115200].contains(&s.baud) {
                bail!(
                    "serial baud {} is not one of 9600 19200 38400 57600 115200",
                    s.baud
                );
            }
        }
        Ok(())
    }

    /// The partner: another host address of the subnet that nothing else holds; an MCLT
    /// within the lease time; an SSH destination that cannot carry options.
    fn validate_peers(&self) -> Result<()> {
        let Some(p) = &self.peers else {
            return Ok(());
        };
        let net = self.subnet;
        let ip = p.partner;
        if !net.contains(&ip) || ip == net.network() || ip == net.broadcast() {
            bail!("peers.partner {ip} is outside subnet {net}; give the partner server's address on the provisioning network");
        }
        if ip == self.server_ip {
            bail!("peers.partner {ip} is this server's own address; give the other server's");
        }
        if self.range.contains(ip) {
            bail!(
                "peers.partner {ip} is inside the dynamic pool {}; move the pool or the partner",
                self.range
            );
        }
        if Some(ip) == self.router || self.hosts.iter().any(|h| h.ip == Some(ip)) {
            bail!("peers.partner {ip} is the router's or a fixed host's address; give the partner server's");
        }
        if !(10..=86400).contains(&p.mclt) || p.mclt > self.lease_time {
            bail!(
                "peers.mclt {} must be 10 to 86400 seconds and at most lease_time ({})",
                p.mclt,
                self.lease_time
            );
        }
        if let Some(t) = &p.ssh {
            let (user, host) = t.rsplit_once('@').unwrap_or(("root", t.as_str()));
            let word = |w: &str| {
                !w.is_empty()
                    && !w.starts_with('-')
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            };
            if !word(user) || !word(host) {
                bail!("peers.ssh {t:?} is not an SSH destination; write [user@]host such as root@10.0.0.2");
            }
        }
        Ok(())
    }

    /// Each relayed subnet as the provisioning one: a /8-/30 network address of a unicast
    /// range, its pool and router host addresses inside it (the router outside the pool),
    /// usable options; and no two subnets (the provisioning one included) overlapping, so
    /// the server's own address and every relay's pick one subnet.
    fn validate_relayed(&self) -> Result<()> {
        for (i, s) in self.subnets.iter().enumerate() {
            let net = s.network;
            let at = format!("subnets[{i}] ({net})");
            if net.addr() != net.network() {
                bail!(
                    "{at}: network has host bits set; use {}/{}",
                    net.network(),
                    net.prefix_len()
                );
            }
            check_prefix(net).with_context(|| at.clone())?;
            let first = net.network().octets()[0];
            if first == 0 || first == 127 || first >= 224 {
                bail!("{at}: not a unicast network a relay can serve; give the relayed subnet's own network");
            }
            for (j, other) in self.all_subnets().iter().enumerate() {
                if j != i + 1 && (other.contains(&net.network()) || net.contains(&other.network()))
                {
                    let what = if j == 0 {
                        format!("the provisioning subnet {other}")
                    } else {
                        format!("subnets[{}] ({other})", j - 1)
                    };
                    bail!("{at} overlaps {what}; every subnet needs its own addresses");
                }
            }
            let host = |what: &str, ip: Ipv4Addr| -> Result<()> {
                if !net.contains(&ip) || ip == net.network() || ip == net.broadcast() {
                    bail!("{at}: {what} {ip} is not a host address of {net}; pick one inside it");
                }
                Ok(())
            };
            host("range start", s.range.start)?;
            host("range end", s.range.end)?;
            if s.range.start > s.range.end {
                bail!(
                    "{at}: range {} is reversed; write the lower address first",
                    s.range
                );
            }
            host("router", s.router)?;
            if s.range.contains(s.router) {
                bail!(
                    "{at}: router {} is inside the range {}; move the range",
                    s.router,
                    s.range
                );
            }
            for d in &s.dns {
                if d.is_unspecified() || d.is_broadcast() || d.is_multicast() {
                    bail!("{at}: DNS server {d} is not a usable unicast address");
                }
            }
            for d in &s.domain_search {
                if !valid_domain(d) {
                    bail!("{at}: search domain {d:?} is not a valid DNS name; use labels of letters, digits and -");
                }
            }
        }
        Ok(())
    }

    /// Fixed addresses inside a subnet served, outside every pool, unique; MACs unique.
    fn validate_hosts(&self) -> Result<()> {
        let net = self.subnet;
        let mut macs = std::collections::BTreeMap::new();
        let mut ips = std::collections::BTreeMap::new();
        for h in &self.hosts {
            let id = h.id();
            if h.mac.is_none() && h.ip.is_none() {
                bail!(
                    "host for image {:?} has neither a MAC nor an address; give one",
                    h.image
                );
            }
            if let Err(e) = check_image_name(&h.image) {
                bail!("host {id}: {e}");
            }
            if let Some(n) = &h.hostname {
                if !valid_hostname(n) {
                    bail!("host {id}: hostname {n:?} is not a valid host name; use letters, digits and - (at most 63)");
                }
                if let Some(why) = reserved_name(n) {
                    bail!("host {id}: hostname {n:?} is reserved ({why}); choose another");
                }
            }
            if let Some(m) = h.mac {
                if let Some(other) = macs.insert(m, id.clone()) {
                    bail!("MAC {m} is given twice (hosts {other} and {id}); remove one");
                }
            }
            if let Some(ip) = h.ip {
                let relayed = self.subnets.iter().find(|s| s.network.contains(&ip));
                let (net, range, router) = match relayed {
                    Some(s) => (s.network, s.range, Some(s.router)),
                    None => (net, self.range, self.router),
                };
                if !net.contains(&ip) || ip == net.network() || ip == net.broadcast() {
                    if self.subnets.is_empty() {
                        bail!("host {id}: fixed address {ip} is outside subnet {net}; pick a host address inside it");
                    }
                    bail!("host {id}: fixed address {ip} is outside every subnet served ({}); pick a host address inside one", self.all_subnets().iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "));
                }
                if range.contains(ip) {
                    bail!("host {id}: fixed address {ip} is inside the dynamic pool {range}; pick one outside it");
                }
                if ip == self.server_ip || Some(ip) == router {
                    bail!("host {id}: fixed address {ip} is the server's or the router's; pick another");
                }
                if let Some(other) = ips.insert(ip, id.clone()) {
                    bail!(
                        "address {ip} is given to two hosts ({other} and {id}); give each its own"
                    );
                }
            }
        }
        Ok(())
    }
}

fn valid_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Config {
        Config::new(
            "ens4".into(),
            "10.0.0.1".parse().unwrap(),
            "10.0.0.0/24".parse().unwrap(),
            "10.0.0.100-10.0.0.200".parse().unwrap(),
        )
    }

    #[test]
    fn served_directories_are_never_system_trees() {
        for (dir, ok) in [
            ("/srv/tftp", true),
            ("/var/lib/tftpboot", true),
            ("/var/www/html/pxe-kit", true),
            ("/etc", false),
            ("/etc/pxe-kit", false),
            ("/usr/lib", false),
            ("/var/lib", false),
            ("/srv/../etc/x", false),
        ] {
            let mut c = good();
            c.http_dir = Some(dir.into());
            assert_eq!(c.validate().is_ok(), ok, "http_dir {dir}");
            let mut c = good();
            c.tftp_root = Some(dir.into());
            let r = c.validate();
            assert_eq!(r.is_ok(), ok, "tftp_root {dir}: {r:?}");
        }
    }

    #[test]
    fn yaml_round_trips() {
        let mut c = good();
        c.dns = vec!["10.0.0.1".parse().unwrap()];
        c.boot.serial = Some(Serial {
            port: 0,
            baud: 115200,
        });
        let y = c.to_yaml();
        assert!(y.contains("range: 10.0.0.100-10.0.0.200"), "{y}");
        assert_eq!(Config::load(Path::new("x.yaml"), &y).unwrap(), c);
    }

    #[test]
    fn unknown_key_is_refused_on_one_line() {
        let y = good().to_yaml() + "colour: blue\n";
        let e = Config::load(Path::new("/etc/pxe-kit/pxe-kit.yaml"), &y).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("unknown field `colour`"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn validation_names_the_bad_value() {
        type Case = (fn(&mut Config), &'static str);
        let cases: Vec<Case> = vec![
            (
                |c| c.range = "10.0.0.200-10.0.0.100".parse().unwrap(),
                "reversed",
            ),
            (
                |c| c.range = "10.0.1.100-10.0.1.200".parse().unwrap(),
                "10.0.1.100 is outside",
            ),
            (
                |c| c.server_ip = "10.0.0.150".parse().unwrap(),
                "inside the range",
            ),
            (
                |c| c.router = Some("192.168.1.1".parse().unwrap()),
                "router 192.168.1.1",
            ),
            (|c| c.interface = "eth0;reboot".into(), "eth0;reboot"),
            (|c| c.domain_search = vec!["a\"b".into()], "a\\\"b"),
            (|c| c.boot.default = "x y".into(), "x y"),
            (|c| c.subnet = "10.0.0.0/31".parse().unwrap(), "too small"),
            (|c| c.time_offset = Some(999_999), "999999"),
        ];
        for (f, needle) in cases {
            let mut c = good();
            f(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        good().validate().unwrap();
    }

    /// A /0 and a /1 wrapped the subnet arithmetic (exit 101), a /7 went through.
    #[test]
    fn prefixes_outside_8_to_30_are_refused() {
        for s in [
            "0.0.0.0/0",
            "0.0.0.0/1",
            "10.0.0.0/7",
            "10.0.0.0/31",
            "10.0.0.1/32",
        ] {
            let e = parse_subnet(s).unwrap_err().to_string();
            assert!(e.contains(s) && e.contains("/8 to /30"), "{e}");
        }
        assert!(parse_subnet("10.0.0.0/8").is_ok() && parse_subnet("10.0.0.0/30").is_ok());
        let mut c = good();
        c.subnet = "0.0.0.0/1".parse().unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("/8 to /30"), "{e}");
        // Unvalidated settings still count without wrapping.
        c.subnet = "0.0.0.0/0".parse().unwrap();
        assert_eq!(c.subnet_hosts(), u32::MAX - 1);
        c.range = "0.0.0.0-255.255.255.255".parse().unwrap();
        assert_eq!(c.machines(), u32::MAX);
    }

    #[test]
    fn nfs_exports_of_system_directories_are_refused() {
        let t = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", t.path().join("etc")).unwrap();
        let link = t.path().join("etc");
        let up = format!("{}/../../../../../../../../usr", t.path().display());
        for p in [
            "/", "//", "/./", "/etc", "/etc/ssh", "/usr", "/usr/lib", "/var/lib", "/root/x",
        ]
        .iter()
        .map(PathBuf::from)
        .chain([link, PathBuf::from(up)])
        {
            let e = check_nfs_export(&p).unwrap_err().to_string();
            assert!(e.contains("a system directory of this server"), "{e}");
            assert!(e.contains(&p.display().to_string()), "{e}");
        }
        assert!(check_nfs_export(Path::new("relative/tree")).is_err());
        for ok in [
            "/srv/pxe-kit/terminal",
            "/var/lib/pxe-kit/nfs/x",
            "/usr/local/trees/a",
        ] {
            check_nfs_export(Path::new(ok)).unwrap();
        }
        check_nfs_export(t.path()).unwrap();
    }

    fn relayed(net: &str, range: &str, router: &str) -> Relayed {
        Relayed {
            network: net.parse().unwrap(),
            range: range.parse().unwrap(),
            router: router.parse().unwrap(),
            dns: Vec::new(),
            domain_search: Vec::new(),
        }
    }

    fn with_relayed() -> Config {
        let mut c = good();
        c.subnets = vec![relayed("10.1.0.0/24", "10.1.0.100-10.1.0.200", "10.1.0.1")];
        c
    }

    /// `subnets:` in the settings file: parsed, validated, written back; and each way a
    /// relayed subnet can be wrong is refused on one line naming the entry and the fix.
    #[test]
    fn relayed_subnets_are_read_and_validated() {
        let y = good().to_yaml()
            + "subnets:\n- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n  router: 10.1.0.1\n  dns: [10.1.0.53]\n";
        let c = Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(
            c.subnets[0].dns,
            vec!["10.1.0.53".parse::<Ipv4Addr>().unwrap()]
        );
        assert_eq!(Config::load(Path::new("x.yaml"), &c.to_yaml()).unwrap(), c);
        assert!(
            !good().to_yaml().contains("subnets"),
            "unchanged files without relays"
        );
        // A relayed subnet without its router, or with an unknown key, is refused.
        for bad in [
            "subnets:\n- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n",
            "subnets:\n- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n  router: 10.1.0.1\n  next_server: 1.2.3.4\n",
        ] {
            let e = Config::load(Path::new("x.yaml"), &(good().to_yaml() + bad)).unwrap_err();
            assert!(!format!("{e:#}").contains('\n'), "{e:#}");
        }
        type Case = (fn(&mut Config), &'static str);
        let cases: Vec<Case> = vec![
            (
                |c| c.subnets[0].network = "10.1.0.5/24".parse().unwrap(),
                "host bits set; use 10.1.0.0/24",
            ),
            (
                |c| c.subnets[0].network = "10.1.0.0/31".parse().unwrap(),
                "too small",
            ),
            (
                |c| c.subnets[0].network = "10.0.0.0/16".parse().unwrap(),
                "overlaps the provisioning subnet 10.0.0.0/24",
            ),
            (
                |c| c.subnets[0].network = "10.0.0.128/25".parse().unwrap(),
                "overlaps the provisioning subnet",
            ),
            (
                |c| {
                    c.subnets
                        .push(relayed("10.1.0.0/16", "10.1.1.1-10.1.1.9", "10.1.2.1"))
                },
                "subnets[0] (10.1.0.0/24) overlaps subnets[1] (10.1.0.0/16)",
            ),
            (
                |c| c.subnets[0].network = "127.0.0.0/8".parse().unwrap(),
                "not a unicast network",
            ),
            (
                |c| c.subnets[0].network = "224.1.0.0/24".parse().unwrap(),
                "not a unicast network",
            ),
            (
                |c| c.subnets[0].range = "10.1.1.100-10.1.1.200".parse().unwrap(),
                "range start 10.1.1.100 is not a host address of 10.1.0.0/24",
            ),
            (
                |c| c.subnets[0].range = "10.1.0.100-10.1.0.255".parse().unwrap(),
                "range end 10.1.0.255",
            ),
            (
                |c| c.subnets[0].range = "10.1.0.200-10.1.0.100".parse().unwrap(),
                "reversed",
            ),
            (
                |c| c.subnets[0].router = "10.0.0.1".parse().unwrap(),
                "router 10.0.0.1 is not a host address of 10.1.0.0/24",
            ),
            (
                |c| c.subnets[0].router = "10.1.0.150".parse().unwrap(),
                "router 10.1.0.150 is inside the range",
            ),
            (
                |c| c.subnets[0].dns = vec![Ipv4Addr::BROADCAST],
                "DNS server 255.255.255.255",
            ),
            (
                |c| c.subnets[0].domain_search = vec!["a b".into()],
                "search domain \"a b\"",
            ),
        ];
        for (f, needle) in cases {
            let mut c = with_relayed();
            f(&mut c);
            let e = format!("{:#}", c.validate().unwrap_err());
            assert!(e.contains(needle), "{e} lacks {needle}");
            assert!(e.contains("subnets[0]"), "{e} does not name the entry");
        }
        with_relayed().validate().unwrap();
    }

    /// Fixed addresses may sit in a relayed subnet, but never in its pool, on its router or
    /// outside every subnet served.
    #[test]
    fn fixed_hosts_in_relayed_subnets() {
        let host = |ip: &str| Host {
            mac: Some("52:54:00:00:00:01".parse().unwrap()),
            ip: Some(ip.parse().unwrap()),
            hostname: None,
            image: "f42".into(),
        };
        let mut c = with_relayed();
        c.hosts = vec![host("10.1.0.20")];
        c.validate().unwrap();
        for (ip, needle) in [
            (
                "10.1.0.150",
                "inside the dynamic pool 10.1.0.100-10.1.0.200",
            ),
            ("10.1.0.1", "the server's or the router's"),
            (
                "10.2.0.5",
                "outside every subnet served (10.0.0.0/24, 10.1.0.0/24)",
            ),
            ("10.1.0.255", "outside every subnet"),
        ] {
            c.hosts = vec![host(ip)];
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{ip}: {e}");
        }
        // Counted as machines: both pools and the fixed host outside them.
        c.hosts = vec![host("10.1.0.20")];
        assert_eq!(c.machines(), 101 + 101 + 1);
    }

    #[test]
    fn subnet_with_host_bits_suggests_network() {
        let e = parse_subnet("10.0.0.5/24").unwrap_err().to_string();
        assert!(e.contains("10.0.0.0/24"), "{e}");
    }
}
