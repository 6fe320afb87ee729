//! Rendering of every generated file from minijinja templates: the built-in ones embedded in
//! the binary, each overridable by a file of the same name in /etc/pxe-kit/templates/.
//!
//! Values reach templates already validated (see `config`); the filters here escape them for
//! the target syntax once more, so a template override cannot be tricked into injection either.
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde::Serialize;

use crate::config::{Config, HaMode, Transfer, UefiLoader};

/// The access log format pxe-kit's httpd logs in and `track` reads: request start (epoch
/// seconds with milliseconds), client, request line, status, bytes sent, microseconds taken.
pub const ACCESS_FORMAT: &str = r#""%{sec}t.%{msec_frac}t %a \"%r\" %>s %B %D""#;

/// in.tftpd's options in every launcher pxe-kit writes (and `serve` runs): `-vv` logs each
/// request and refusal (what `status` reads); `-B 1468` keeps blocks within a 1500-byte MTU
/// (a block split in fragments is lost whole when one is); `-T 250000` retransmits an
/// unacknowledged block after 250 ms, not 1 s, so a block dropped on a congested link costs a
/// quarter of the time.
pub const TFTPD_OPTIONS: &[&str] = &["-vv", "-B", "1468", "-T", "250000"];

/// The DHCP unit's cgroup weight when its nice value is raised (`config::DHCP_NICE`) (systemd's default is 100): the same ranking against the tftp and
/// httpd units' cgroups, which niceness alone does not cross.
pub const DHCP_CPU_WEIGHT: u32 = 1000;

/// The file name of the merge patch over Kea's configuration in the template directory (the
/// Kea renderer, `kea::MERGE_PATCH`, names the same file).
pub const KEA_PATCH: &str = "kea-dhcp4.merge.json";

/// URL path under which httpd serves the TFTP root's image directory, so HTTP-capable
/// loaders fetch the very files TFTP would serve.
pub const TFTP_URL_PREFIX: &str = "/pxe-kit-tftp";
use crate::distro::{Profile, TEMPLATE_DIR};
use crate::image::BootEntry;
use crate::root::Root;

/// The built-in templates, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dhcpd.conf.j2", include_str!("../templates/dhcpd.conf.j2")),
    (
        "dhcpd-service.conf.j2",
        include_str!("../templates/dhcpd-service.conf.j2"),
    ),
    (
        "isc-dhcp-server.j2",
        include_str!("../templates/isc-dhcp-server.j2"),
    ),
    (
        "tftp-xinetd.j2",
        include_str!("../templates/tftp-xinetd.j2"),
    ),
    (
        "tftp-service.conf.j2",
        include_str!("../templates/tftp-service.conf.j2"),
    ),
    ("tftpd-hpa.j2", include_str!("../templates/tftpd-hpa.j2")),
    ("httpd.conf.j2", include_str!("../templates/httpd.conf.j2")),
    (
        "pxelinux.cfg.j2",
        include_str!("../templates/pxelinux.cfg.j2"),
    ),
    (
        "pxelinux-host.cfg.j2",
        include_str!("../templates/pxelinux-host.cfg.j2"),
    ),
    ("exports.j2", include_str!("../templates/exports.j2")),
    (
        "neigh-sysctl.conf.j2",
        include_str!("../templates/neigh-sysctl.conf.j2"),
    ),
    ("grub.cfg.j2", include_str!("../templates/grub.cfg.j2")),
    ("boot.ipxe.j2", include_str!("../templates/boot.ipxe.j2")),
    (
        "dnsmasq-proxy.conf.j2",
        include_str!("../templates/dnsmasq-proxy.conf.j2"),
    ),
];

/// Template sources in effect: built-ins with the user's overrides on top.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    overrides: BTreeMap<String, String>,
    /// Kea's configuration is JSON built from typed values, not a template; the user's merge
    /// patch over it (`kea-dhcp4.merge.json`) is the override.
    kea_patch: Option<String>,
}

impl Templates {
    pub fn builtin() -> Self {
        Templates::default()
    }

    /// Reads the overrides in `<root>/etc/pxe-kit/templates/`.
    pub fn load(root: &Root) -> Result<Self> {
        Templates::load_from(root, Path::new(TEMPLATE_DIR))
    }

    /// Reads the overrides in another directory of the tree (a partner's, staged).
    pub fn load_from(root: &Root, dir: &Path) -> Result<Self> {
        let mut overrides = BTreeMap::new();
        for (name, _) in BUILTIN {
            let p = dir.join(name);
            if let Some(text) = root.read_string_opt(&p)? {
                overrides.insert(name.to_string(), text);
            }
        }
        let kea_patch = root.read_string_opt(&dir.join(KEA_PATCH))?;
        Ok(Templates {
            overrides,
            kea_patch,
        })
    }

    /// Replaces the override `name` (a built-in template's name or `KEA_PATCH`) with `text`
    /// already read and checked: a partner's, which `sync --accept` reads without following
    /// symbolic links.
    pub fn set(&mut self, name: &str, text: String) {
        if name == KEA_PATCH {
            self.kea_patch = Some(text);
        } else {
            self.overrides.insert(name.to_string(), text);
        }
    }

    /// The user's merge patch over Kea's configuration, if any.
    pub fn kea_patch(&self) -> Option<&str> {
        self.kea_patch.as_deref()
    }

    pub fn is_override(&self, name: &str) -> bool {
        self.overrides.contains_key(name)
    }

    fn source(&self, name: &str) -> Option<&str> {
        self.overrides
            .get(name)
            .map(String::as_str)
            .or_else(|| BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s))
    }

    /// Renders one template; pure.
    pub fn render(&self, name: &str, vars: &Vars) -> Result<String> {
        self.render_value(name, minijinja::Value::from(minijinja::value::Serde(vars)))
    }

    /// Renders one template with variables already turned into a value: per-machine files
    /// share one (the settings, every image and host) and add their machine on top, rather
    /// than serialising every host once per machine.
    pub fn render_value(&self, name: &str, vars: minijinja::Value) -> Result<String> {
        let src = self
            .source(name)
            .with_context(|| format!("no template named {name}"))?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        env.add_filter("dhcp_string", dhcp_string);
        env.add_filter("one_line", one_line);
        env.add_filter("apache_quote", apache_quote);
        env.add_filter("grub_quote", grub_quote);
        env.add_filter("kernel_args", kernel_args);
        env.add_filter("grub_args", grub_args);
        env.add_filter("menu_text", menu_text);
        env.add_filter("boot_path", boot_path);
        env.add_filter("menu_label", menu_label);
        env.add_filter("dnsmasq_value", dnsmasq_value);
        // A template (an override above all) that loops for ever or renders without end
        // stops with an error instead of holding the command and the lock.
        env.set_fuel(Some(FUEL));
        let origin = if self.is_override(name) {
            format!("{TEMPLATE_DIR}/{name}")
        } else {
            format!("built-in template {name}")
        };
        env.add_template(name, src)
            .with_context(|| format!("parsing {origin}"))?;
        let header = format!(
            "# Generated by pxe-kit from {origin} -- do not edit: edits are overwritten.\n\
             # Change /etc/pxe-kit/pxe-kit.yaml and run `pxe-kit init` instead."
        );
        let tmpl = env.get_template(name).expect("template was just added");
        tmpl.render(minijinja::context! { header => header, ..vars })
            // `{e}`, not `{e:#}`: minijinja's alternate form adds the template's source and
            // variables over many lines; the error names the template and line in one.
            .map_err(|e| anyhow::anyhow!("rendering {origin}: {e}"))
    }
}

/// Template instructions one render may run: the built-in menus for 20 000 machines take a
/// few million (see the test); an override far past that is looping.
pub const FUEL: u64 = 200_000_000;

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// A dhcpd.conf quoted string.
fn dhcp_string(v: String) -> Result<String, Error> {
    if v.chars().any(|c| c.is_control()) {
        return Err(bad(format!(
            "{v:?} has a control character; not allowed in dhcpd.conf"
        )));
    }
    Ok(format!(
        "\"{}\"",
        v.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// A value on a line-oriented syntax (pxelinux, /etc/default files): one line, no control
/// characters, so it cannot start a new directive.
fn one_line(v: String) -> Result<String, Error> {
    if v.chars().any(|c| c.is_control()) {
        return Err(bad(format!("{v:?} has a control character or newline")));
    }
    Ok(v)
}

/// One field of a dnsmasq option: dnsmasq splits fields at commas and reads `#` as a
/// comment and quotes and backslashes specially, so a value (an interface, an address, a
/// file name or URL) carries none of them, nor spaces or control characters.
fn dnsmasq_value(v: String) -> Result<String, Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@%+=?&~[]".contains(c);
    if v.is_empty() || !v.chars().all(allowed) {
        return Err(bad(format!(
            "{v:?} is not a plain dnsmasq value (letters, digits and ._-/:@%+=?&~[] only)"
        )));
    }
    Ok(v)
}

/// A single-quoted GRUB word (a `'` is closed, escaped and reopened).
fn grub_quote(v: String) -> Result<String, Error> {
    if v.chars().any(|c| c.is_control()) {
        return Err(bad(format!("{v:?} has a control character or newline")));
    }
    Ok(format!("'{}'", v.replace('\'', r"'\''")))
}

/// A kernel command line in the one form pxelinux, GRUB and iPXE all pass unchanged and
/// whose words neither iPXE's nor pxelinux's syntax reads (`bootline`).
fn kernel_args(v: String) -> Result<String, Error> {
    crate::bootline::check_canonical(&v).map_err(bad)?;
    Ok(v)
}

/// A kernel command line as words of GRUB's `linux` command, which joins them back into the
/// same line.
fn grub_args(v: String) -> Result<String, Error> {
    crate::bootline::grub_words(&v).map_err(bad)
}

/// Menu text (titles) every loader shows as text only: for iPXE, which has no quoting, no
/// comment, command separator or setting can start inside it.
fn menu_text(v: String) -> Result<String, Error> {
    match crate::bootline::title_problem(&v) {
        Some(why) => Err(bad(format!("menu text {v:?} {why}"))),
        None => Ok(v),
    }
}

/// A menu entry's label (an image name, or `local`): one word in every loader's syntax.
fn menu_label(v: String) -> Result<String, Error> {
    if v != "local" && !crate::config::valid_name(&v) {
        return Err(bad(format!(
            "menu label {v:?} is not an image name (letters, digits and -_.)"
        )));
    }
    Ok(v)
}

/// A path a loader fetches: letters, digits and `._/+-` only, so it is one word in every
/// loader's syntax.
fn boot_path(v: String) -> Result<String, Error> {
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c))
    {
        return Err(bad(format!(
            "boot file path {v:?} may hold only letters, digits and ._/+-"
        )));
    }
    Ok(v)
}

/// A double-quoted Apache argument.
fn apache_quote(v: String) -> Result<String, Error> {
    if v.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(bad(format!("{v:?} cannot be quoted for Apache")));
    }
    Ok(format!("\"{v}\""))
}

/// Everything a template can use, derived from the settings and the distribution profile.
#[derive(Debug, Clone, Serialize)]
pub struct Vars {
    pub interface: String,
    pub server_ip: String,
    pub subnet: String,
    pub subnet_cidr: String,
    pub netmask: String,
    pub broadcast: String,
    pub range_start: String,
    pub range_end: String,
    pub router: Option<String>,
    pub dns: Vec<String>,
    pub domain_search: Vec<String>,
    pub time_offset: Option<i32>,
    pub lease_time: u32,
    pub max_lease_time: u32,
    pub ping_check: bool,
    /// Tell iPXE (option 175.176, `ipxe.no-pxedhcp`) not to wait ~2 s for proxyDHCP answers:
    /// in server mode pxe-kit's own server gives the boot file, and no proxy is there to wait
    /// for (a failover pair is two pxe-kit servers answering in full, still no proxy).
    pub ipxe_no_pxedhcp: bool,
    /// DHCP boot files: BIOS PXE (pxelinux.0, or lpxelinux.0 with HTTP transfer), x86-64
    /// UEFI, and the iPXE script URL for clients that are already iPXE.
    pub bios_boot_file: String,
    pub uefi_boot_file: String,
    pub ipxe: bool,
    pub ipxe_url: String,
    /// `http` or `tftp`: how kernels and initrds travel.
    pub transfer: String,
    /// URL under which httpd serves the TFTP root's image directory (`<this>/pxe-kit/NAME/…`).
    pub tftp_url: String,
    /// The TFTP root's image directory, which that URL maps to.
    pub tftp_image_dir: String,
    pub uefi_loader: String,
    /// The URL path of `tftp_url`, for loaders that name the server separately (GRUB).
    pub tftp_url_path: String,
    /// Rendering the UEFI syslinux menu: paths are absolute there.
    pub efi: bool,
    pub dhcpd_bin: String,
    /// The DHCP unit's drop-in names the interface on dhcpd's command line (Fedora/RHEL).
    pub dhcp_exec_start: bool,
    pub dhcp_nice: i32,
    pub dhcp_cpu_weight: u32,
    pub dhcpd_conf: String,
    pub tftpd_bin: String,
    pub tftp_root: String,
    pub http_dir: String,
    pub http_prefix: String,
    /// httpd's log of pxe-kit's requests, and its format.
    pub access_log: Option<String>,
    pub access_format: String,
    /// in.tftpd's options beyond the root and address (see `TFTPD_OPTIONS`).
    pub tftpd_options: String,
    /// How many machines may boot at once: the addresses the pool and the fixed hosts hold.
    pub machine_count: u32,
    /// httpd's workers for that many machines, and the processes that carry them.
    pub http_workers: u32,
    pub http_server_limit: u32,
    /// The kernel's neighbour-table thresholds for that many machines, when its defaults
    /// (gc_thresh2 512) are too small.
    pub neigh: Option<[u32; 3]>,
    pub menu: Menu,
    /// Per-machine dhcpd host blocks: hosts with both a MAC and a fixed address.
    pub hosts: Vec<HostVars>,
    /// The machine a per-host pxelinux file is rendered for, with its entry.
    pub host: Option<HostVars>,
    /// Every machine with its own entry (GRUB picks them inside grub.cfg).
    pub machines: Vec<HostVars>,
    /// For an NFS-root image's exports file: the image and the exported tree.
    pub image: String,
    pub export_path: String,
    /// The failover pair this server is a member of (settings: peers).
    pub failover: Option<Failover>,
    /// Subnets behind DHCP relays (settings: subnets), each with its own pool and options.
    pub relayed: Vec<RelayedVars>,
    /// Every subnet whose machines fetch boot files (httpd lets them in): the provisioning
    /// subnet, then the relayed ones, in CIDR form.
    pub client_subnets: Vec<String>,
}

/// A relayed subnet as the DHCP configurations see it: its options already resolved (the
/// top-level DNS servers and search domains where it names none).
#[derive(Debug, Clone, Serialize)]
pub struct RelayedVars {
    pub subnet: String,
    pub subnet_cidr: String,
    pub netmask: String,
    pub broadcast: String,
    pub range_start: String,
    pub range_end: String,
    pub router: String,
    pub dns: Vec<String>,
    pub domain_search: Vec<String>,
    /// Kea's subnet id: the network address as a number, so reordering or removing entries
    /// of `subnets:` never hands one subnet's leases to another (the provisioning subnet is
    /// 1; a relayed network starts at 1.0.0.0 or above, so ids never collide).
    pub kea_id: u32,
}

impl RelayedVars {
    pub fn new(cfg: &Config, s: &crate::config::Relayed) -> RelayedVars {
        let net = s.network;
        let or_top = |own: &Vec<String>, top: Vec<String>| {
            if own.is_empty() {
                top
            } else {
                own.clone()
            }
        };
        RelayedVars {
            subnet: net.network().to_string(),
            subnet_cidr: net.to_string(),
            netmask: net.netmask().to_string(),
            broadcast: net.broadcast().to_string(),
            range_start: s.range.start.to_string(),
            range_end: s.range.end.to_string(),
            router: s.router.to_string(),
            dns: or_top(
                &s.dns.iter().map(|d| d.to_string()).collect(),
                cfg.dns.iter().map(|d| d.to_string()).collect(),
            ),
            domain_search: or_top(&s.domain_search, cfg.domain_search.clone()),
            kea_id: u32::from(net.network()),
        }
    }
}

/// A failover pair as the DHCP configurations and the iPXE script see it.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    /// This server's part (`primary`, `secondary`) and the pair's mode.
    pub role: String,
    pub mode: String,
    pub partner: String,
    pub port: u16,
    pub mclt: u32,
    /// dhcpd's `split`: of 256 hash buckets of client MACs, how many the primary answers in
    /// normal operation (128 shares the machines; 256, hot standby, gives the primary all).
    pub split: u32,
    /// The partner's URLs, where an iPXE script falls back to when this server stops
    /// answering mid-boot.
    pub partner_tftp_url: String,
    /// Kea's hook libraries directory on this distribution (`libdhcp_ha.so`,
    /// `libdhcp_lease_cmds.so`).
    pub kea_hooks: String,
}

impl Failover {
    pub fn new(cfg: &Config, profile: &Profile) -> Option<Failover> {
        let p = cfg.peers.as_ref()?;
        let kea = crate::distro::DhcpBackend::of(profile.distro, crate::config::DhcpServer::Kea);
        Some(Failover {
            role: p.role.key().into(),
            mode: p.mode.key().into(),
            partner: p.partner.to_string(),
            port: crate::config::FAILOVER_PORT,
            mclt: p.mclt,
            split: match p.mode {
                HaMode::LoadBalancing => 128,
                HaMode::HotStandby => 256,
            },
            partner_tftp_url: format!("http://{}{}", p.partner, TFTP_URL_PREFIX),
            kea_hooks: kea
                .hooks_dir
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HostVars {
    pub id: String,
    pub name: String,
    pub mac: String,
    pub ip: String,
    pub hostname: Option<String>,
    pub image: String,
    pub entry: Option<BootEntry>,
}

impl HostVars {
    pub fn new(h: &crate::host::Host, entries: &[BootEntry]) -> HostVars {
        HostVars {
            id: h.id(),
            name: h.dhcp_name().unwrap_or_default(),
            mac: h.mac.map(|m| m.to_string()).unwrap_or_default(),
            ip: h.ip.map(|i| i.to_string()).unwrap_or_default(),
            hostname: h.hostname.clone(),
            image: h.image.clone(),
            entry: entries.iter().find(|e| e.label == h.image).cloned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Menu {
    pub title: String,
    pub timeout: u32,
    pub default: String,
    pub serial: Option<crate::config::Serial>,
    pub entries: Vec<BootEntry>,
}

impl Vars {
    pub fn new(cfg: &Config, profile: &Profile, entries: Vec<BootEntry>) -> Vars {
        let net = cfg.subnet;
        let default = if entries.iter().any(|e| e.label == cfg.boot.default) {
            cfg.boot.default.clone()
        } else {
            "local".into()
        };
        Vars {
            interface: cfg.interface.clone(),
            server_ip: cfg.server_ip.to_string(),
            subnet: net.network().to_string(),
            subnet_cidr: net.to_string(),
            netmask: net.netmask().to_string(),
            broadcast: net.broadcast().to_string(),
            range_start: cfg.range.start.to_string(),
            range_end: cfg.range.end.to_string(),
            router: cfg.router.map(|r| r.to_string()),
            dns: cfg.dns.iter().map(|d| d.to_string()).collect(),
            domain_search: cfg.domain_search.clone(),
            time_offset: cfg.time_offset,
            lease_time: cfg.lease_time,
            max_lease_time: cfg.lease_time.saturating_mul(2),
            ping_check: cfg.ping_check,
            ipxe_no_pxedhcp: cfg.dhcp.mode() == crate::config::DhcpMode::Server,
            bios_boot_file: match cfg.boot.transfer {
                Transfer::Http => "lpxelinux.0",
                Transfer::Tftp => "pxelinux.0",
            }
            .into(),
            uefi_boot_file: profile.efi.boot_file.into(),
            ipxe: cfg.boot.ipxe,
            ipxe_url: format!(
                "http://{}{}/ipxe/boot.ipxe",
                cfg.server_ip, profile.http_prefix
            ),
            transfer: match cfg.boot.transfer {
                Transfer::Http => "http",
                Transfer::Tftp => "tftp",
            }
            .into(),
            tftp_url: format!("http://{}{}", cfg.server_ip, TFTP_URL_PREFIX),
            tftp_url_path: TFTP_URL_PREFIX.into(),
            efi: false,
            tftp_image_dir: profile.tftp_root.join("pxe-kit").display().to_string(),
            uefi_loader: match profile.efi.kind {
                UefiLoader::ShimGrub => "shim-grub",
                UefiLoader::Syslinux => "syslinux",
            }
            .into(),
            dhcpd_bin: profile.isc().bin.into(),
            dhcp_exec_start: matches!(
                profile.dhcp.interfaces,
                crate::distro::DhcpInterfaces::SystemdDropIn
            ),
            dhcp_nice: cfg.dhcp.nice(),
            dhcp_cpu_weight: DHCP_CPU_WEIGHT,
            dhcpd_conf: profile.isc().conf.display().to_string(),
            tftpd_bin: profile.tftpd_bin.into(),
            tftp_root: profile.tftp_root.display().to_string(),
            http_dir: profile.http_dir.display().to_string(),
            http_prefix: profile.http_prefix.into(),
            access_log: profile
                .httpd_access_log
                .as_ref()
                .map(|p| p.display().to_string()),
            access_format: ACCESS_FORMAT.into(),
            tftpd_options: TFTPD_OPTIONS.join(" "),
            machine_count: cfg.machines(),
            http_workers: http_workers(cfg.machines()),
            http_server_limit: http_workers(cfg.machines()) / THREADS_PER_CHILD,
            // The provisioning subnet only: relayed machines sit behind their router, whose one
            // neighbour entry carries them all.
            neigh: neigh_thresholds(cfg.subnet_hosts()),
            menu: Menu {
                title: cfg.boot.title.clone(),
                timeout: cfg.boot.timeout,
                default,
                serial: cfg.boot.serial,
                entries,
            },
            hosts: cfg
                .hosts
                .iter()
                .filter(|h| h.mac.is_some() && h.ip.is_some())
                .map(|h| HostVars::new(h, &[]))
                .collect(),
            host: None,
            machines: cfg.hosts.iter().map(|h| HostVars::new(h, &[])).collect(),
            image: String::new(),
            export_path: String::new(),
            failover: Failover::new(cfg, profile),
            relayed: cfg
                .subnets
                .iter()
                .map(|s| RelayedVars::new(cfg, s))
                .collect(),
            client_subnets: cfg.all_subnets().iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// Apache event MPM threads per process (its default).
const THREADS_PER_CHILD: u32 = 25;

/// Enough workers that every machine booting at once gets a connection (each fetches its
/// files one after the other), a step of 25 above that for doctor and people, within Apache's
/// default 150 and xCAT's advice of 1000.
pub fn http_workers(machines: u32) -> u32 {
    let want = machines.saturating_add(THREADS_PER_CHILD);
    let rounded = want
        .div_ceil(THREADS_PER_CHILD)
        .saturating_mul(THREADS_PER_CHILD);
    rounded.clamp(150, 1000)
}

/// The kernel keeps 512 neighbours before it starts evicting (gc_thresh2) and refuses more
/// than 1024 (gc_thresh3): a subnet with more hosts than that needs room for all of them, or
/// a booting rack's ARP entries push each other out and packets wait for fresh resolutions.
pub fn neigh_thresholds(subnet_hosts: u32) -> Option<[u32; 3]> {
    let h = subnet_hosts;
    (h > 512).then(|| [h, h.saturating_mul(2), h.saturating_mul(4)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_and_neighbours_follow_the_machines() {
        assert_eq!(http_workers(10), 150);
        assert_eq!(http_workers(500), 525);
        assert_eq!(http_workers(100_000), 1000);
        assert_eq!(neigh_thresholds(254), None);
        assert_eq!(neigh_thresholds(1022), Some([1022, 2044, 4088]));
        // Unvalidated settings (a /0, a pool of every address) count without wrapping.
        assert_eq!(http_workers(u32::MAX), 1000);
        assert_eq!(neigh_thresholds(u32::MAX - 1).unwrap()[2], u32::MAX);
    }

    /// iPXE is told not to wait for proxy answers where pxe-kit gives the boot file itself
    /// (server mode, a failover pair too: both members answer in full), in dhcpd.conf and
    /// Kea alike; never in proxy mode, where the proxy's answer is the one iPXE must wait for.
    #[test]
    fn no_pxedhcp_in_server_mode_only() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path(), false, crate::root::Out::default()).unwrap();
        let base = "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\n";
        let pair = "peers:\n  partner: 10.0.0.2\n  role: primary\n";
        for (yaml, want) in [
            (base.to_string(), true),
            (format!("{base}{pair}"), true),
            (format!("{base}dhcp:\n  mode: proxy\n"), false),
        ] {
            let cfg: Config = serde_yaml::from_str(&yaml).unwrap();
            let profile = Profile::new(crate::distro::Distro::Debian, Some(&cfg), &root);
            let vars = Vars::new(&cfg, &profile, Vec::new());
            let conf = Templates::builtin().render("dhcpd.conf.j2", &vars).unwrap();
            let kea = crate::kea::render(
                &vars,
                std::path::Path::new("/l"),
                std::path::Path::new("/s"),
                None,
            )
            .unwrap();
            assert_eq!(
                conf.contains("option ipxe.no-pxedhcp 1;"),
                want,
                "{yaml}\n{conf}"
            );
            assert_eq!(kea.contains("\"no-pxedhcp\""), want, "{yaml}\n{kea}");
        }
    }

    /// The built-in menus for far more machines than a subnet pxe-kit serves holds stay well
    /// inside the fuel limit, so the limit only ever stops a runaway override.
    #[test]
    fn fuel_suffices_for_the_largest_menus() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path(), false, crate::root::Out::default()).unwrap();
        let cfg: Config = serde_yaml::from_str(
            "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\n",
        )
        .unwrap();
        let profile = Profile::new(crate::distro::Distro::Debian, Some(&cfg), &root);
        let entries: Vec<BootEntry> = (0..200)
            .map(|i| BootEntry {
                label: format!("img{i}"),
                title: format!("img{i} (some-live-image-{i}.iso)"),
                kernel: format!("pxe-kit/img{i}/vmlinuz"),
                initrd: format!("pxe-kit/img{i}/initrd.img"),
                args: format!("root=live:http://10.0.0.1/pxe-kit/img{i}/squashfs.img rd.live.image rd.neednet=1 ip=dhcp console=tty0 console=ttyS0,115200"),
                comment: None,
            })
            .collect();
        let mut vars = Vars::new(&cfg, &profile, entries.clone());
        vars.machines = (0..40_000u32)
            .map(|i| HostVars {
                id: format!("m{i}"),
                name: format!("m{i}"),
                mac: format!(
                    "52:54:00:{:02x}:{:02x}:{:02x}",
                    i >> 16,
                    (i >> 8) & 255,
                    i & 255
                ),
                ip: String::new(),
                hostname: None,
                image: format!("img{}", i % 200),
                entry: None,
            })
            .collect();
        for name in ["grub.cfg.j2", "boot.ipxe.j2", "pxelinux.cfg.j2"] {
            let out = Templates::builtin().render(name, &vars).unwrap();
            assert!(out.contains("img199"), "{name}");
        }
    }

    #[test]
    fn filters_escape_or_refuse() {
        assert_eq!(dhcp_string(r#"a"b\c"#.into()).unwrap(), r#""a\"b\\c""#);
        assert!(dhcp_string("a\nb".into()).is_err());
        assert!(one_line("quiet\nLABEL x".into()).is_err());
        assert!(apache_quote("/var/www\"x".into()).is_err());
        assert_eq!(
            dnsmasq_value("http://10.0.0.1/pxe-kit/ipxe/boot.ipxe".into()).unwrap(),
            "http://10.0.0.1/pxe-kit/ipxe/boot.ipxe"
        );
        for hostile in ["a,b", "a#b", "a\"b", "a b", "a\nb", "a\\b", "a'b", ""] {
            assert!(dnsmasq_value(hostile.into()).is_err(), "{hostile:?}");
        }
    }
}
