//! Pure planning: which files the settings render to, and which system steps follow from
//! what changed. No I/O here; `cmd::init` applies the plan and tests check it directly.
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::config::Config;
use crate::config::DhcpServer;
use crate::config::Launcher;
use crate::config::UefiLoader;
use crate::distro::{DhcpInterfaces, Firewall, Profile, ProxyDhcp};
use crate::image::BootEntry;
use crate::render::{HostVars, Templates, Vars};
use crate::runner::{Cmd, Kind, Output};

/// A daemon whose configuration a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// The chosen DHCP server (ISC dhcpd or Kea).
    Dhcp,
    Tftp,
    Httpd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Template(&'static str),
    /// Built by pxe-kit's code rather than a template (Kea's JSON), with this description.
    Generated(&'static str),
    /// Copied from a distribution file (boot loader).
    Copy(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub mode: u32,
    pub origin: Origin,
    /// Daemon to restart when this file changes.
    pub service: Option<Service>,
    /// A systemd unit drop-in: a change needs `systemctl daemon-reload`.
    pub unit_dropin: bool,
}

/// Every file `init` owns, rendered from the settings. `loader` holds the boot loader files'
/// bytes by name, read by the caller from the distribution's syslinux directory.
pub fn files(
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    entries: Vec<BootEntry>,
    loader: &BTreeMap<&'static str, Vec<u8>>,
) -> Result<Vec<FileSpec>> {
    let vars = Vars::new(cfg, profile, entries);
    let mut out = Vec::new();
    let tpl = |path: PathBuf,
               name: &'static str,
               service: Option<Service>,
               unit_dropin: bool|
     -> Result<FileSpec> {
        Ok(FileSpec {
            path,
            content: templates.render(name, &vars)?.into_bytes(),
            mode: 0o644,
            origin: Origin::Template(name),
            service,
            unit_dropin,
        })
    };
    match &profile.proxy {
        // Proxy mode: dnsmasq's file alone; the DHCP server's files stay as they are (its
        // unit is stopped and disabled) and are rendered again when server mode returns.
        Some(p) => out.push(tpl(
            p.conf.clone(),
            "dnsmasq-proxy.conf.j2",
            Some(Service::Dhcp),
            false,
        )?),
        None => out.extend(dhcp_server_files(profile, &vars, templates)?),
    }
    let tftp_tpl = match profile.launcher {
        Launcher::Socket => "tftp-service.conf.j2",
        Launcher::Xinetd => "tftp-xinetd.j2",
        Launcher::TftpdHpa => "tftpd-hpa.j2",
    };
    out.push(tpl(
        profile.tftp_file.clone(),
        tftp_tpl,
        Some(Service::Tftp),
        profile.launcher == Launcher::Socket,
    )?);
    out.push(tpl(
        profile.httpd_dropin.clone(),
        "httpd.conf.j2",
        Some(Service::Httpd),
        false,
    )?);
    if vars.neigh.is_some() {
        out.push(tpl(
            NEIGH_SYSCTL.into(),
            "neigh-sysctl.conf.j2",
            None,
            false,
        )?);
    }
    out.push(menu_file(
        cfg,
        profile,
        templates,
        vars.menu.entries.clone(),
    )?);
    out.extend(host_files(cfg, profile, templates, &vars.menu.entries)?);
    out.extend(loader_menus(cfg, profile, templates, &vars.menu.entries)?);
    for (name, src) in profile.loader_files() {
        let Some(bytes) = loader.get(name) else {
            bail!(
                "boot loader file {name} was not read from {}",
                src.display()
            );
        };
        out.push(FileSpec {
            path: profile.tftp_root.join(name),
            content: bytes.clone(),
            mode: 0o644,
            origin: Origin::Copy(src.clone()),
            service: None,
            unit_dropin: false,
        });
    }
    Ok(out)
}

/// The DHCP server's files (server mode): its configuration, its unit's drop-in and, for
/// Debian's dhcpd, its defaults file.
fn dhcp_server_files(
    profile: &Profile,
    vars: &Vars,
    templates: &Templates,
) -> Result<Vec<FileSpec>> {
    let mut out = Vec::new();
    let tpl = |path: PathBuf, name: &'static str, unit_dropin: bool| -> Result<FileSpec> {
        Ok(FileSpec {
            path,
            content: templates.render(name, vars)?.into_bytes(),
            mode: 0o644,
            origin: Origin::Template(name),
            service: Some(Service::Dhcp),
            unit_dropin,
        })
    };
    let dhcp = &profile.dhcp;
    out.push(match dhcp.server {
        DhcpServer::Isc => tpl(dhcp.conf.clone(), "dhcpd.conf.j2", false)?,
        DhcpServer::Kea => kea_file(profile, vars, templates)?,
    });
    // Every DHCP unit gets pxe-kit's drop-in (its priority; on Fedora/RHEL dhcpd also its
    // interface); Debian's dhcpd takes the interface from its defaults file.
    out.push(tpl(dhcp.unit_dropin(), "dhcpd-service.conf.j2", true)?);
    if let DhcpInterfaces::DefaultFile(p) = &dhcp.interfaces {
        out.push(tpl(p.clone(), "isc-dhcp-server.j2", false)?);
    }
    Ok(out)
}

/// The neighbour-table settings for subnets larger than the kernel's default table.
pub const NEIGH_SYSCTL: &str = "/etc/sysctl.d/90-pxe-kit-neigh.conf";

/// Kea's configuration: JSON from typed values (see `kea`), the user's merge patch on top.
pub fn kea_file(profile: &Profile, vars: &Vars, templates: &Templates) -> Result<FileSpec> {
    let dhcp = &profile.dhcp;
    let socket = dhcp
        .control_socket
        .clone()
        .unwrap_or_else(|| "/run/kea/kea4-ctrl-socket".into());
    let text = crate::kea::render(vars, &dhcp.leases, &socket, templates.kea_patch())?;
    Ok(FileSpec {
        path: dhcp.conf.clone(),
        content: text.into_bytes(),
        mode: dhcp.conf_mode,
        origin: Origin::Generated(KEA_ORIGIN),
        service: Some(Service::Dhcp),
        unit_dropin: false,
    })
}

/// How messages name where Kea's configuration comes from.
pub const KEA_ORIGIN: &str = "pxe-kit's Kea renderer";

/// The boot menu alone, which add-image and remove-image re-render.
pub fn menu_file(
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    entries: Vec<BootEntry>,
) -> Result<FileSpec> {
    let vars = Vars::new(cfg, profile, entries);
    Ok(FileSpec {
        path: profile.pxelinux_cfg_dir().join("default"),
        content: templates.render("pxelinux.cfg.j2", &vars)?.into_bytes(),
        mode: 0o644,
        origin: Origin::Template("pxelinux.cfg.j2"),
        service: None,
        unit_dropin: false,
    })
}

/// Every loader's menu besides pxelinux.cfg/default: the UEFI loader's (GRUB or syslinux.efi)
/// and the iPXE script, all from the same image list.
pub fn loader_menus(
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    entries: &[BootEntry],
) -> Result<Vec<FileSpec>> {
    let mut out = Vec::new();
    let mut vars = Vars::new(cfg, profile, entries.to_vec());
    let (tpl, efi) = match profile.efi.kind {
        UefiLoader::ShimGrub => ("grub.cfg.j2", false),
        UefiLoader::Syslinux => ("pxelinux.cfg.j2", true),
    };
    vars.efi = efi;
    let text = templates.render(tpl, &vars)?;
    for rel in &profile.efi.config {
        out.push(spec(profile.tftp_root.join(rel), &text, tpl));
    }
    if cfg.boot.ipxe {
        let text = templates.render("boot.ipxe.j2", &Vars::new(cfg, profile, entries.to_vec()))?;
        out.push(spec(
            ipxe_dir(profile).join("boot.ipxe"),
            &text,
            "boot.ipxe.j2",
        ));
    }
    Ok(out)
}

fn spec(path: PathBuf, text: &str, tpl: &'static str) -> FileSpec {
    FileSpec {
        path,
        content: text.as_bytes().to_vec(),
        mode: 0o644,
        origin: Origin::Template(tpl),
        service: None,
        unit_dropin: false,
    }
}

/// Where the iPXE scripts live: served by httpd under `<http prefix>/ipxe/`.
pub fn ipxe_dir(profile: &Profile) -> PathBuf {
    profile.http_dir.join("ipxe")
}

/// The files that make one machine boot its image directly, for every loader it may run:
/// pxelinux (`01-<mac>` or the address in hex), syslinux.efi's own pxelinux.cfg and iPXE
/// (`hosts/<mac>.ipxe`); GRUB picks machines inside grub.cfg itself.
pub fn host_files(
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    entries: &[BootEntry],
) -> Result<Vec<FileSpec>> {
    use minijinja::{context, value::Serde, Value};
    let mut out = Vec::new();
    // Every machine's files share the settings' variables, serialised once.
    let base = Value::from(Serde(Vars::new(cfg, profile, entries.to_vec())));
    let tpl = "pxelinux-host.cfg.j2";
    for h in &cfg.hosts {
        let hv = HostVars::new(h, entries);
        if hv.entry.is_none() {
            bail!(
                "host {} boots image {:?}, which is not imported; add the image or change the host",
                h.id(),
                h.image
            );
        }
        let Some(name) = h.pxelinux_name() else {
            continue;
        };
        let vars = context! { host => Value::from(Serde(&hv)), ..base.clone() };
        out.push(spec(
            profile.pxelinux_cfg_dir().join(&name),
            &templates.render_value(tpl, vars.clone())?,
            tpl,
        ));
        match profile.efi.kind {
            UefiLoader::Syslinux => {
                let text = templates.render_value(tpl, context! { efi => true, ..vars.clone() })?;
                for rel in &profile.efi.config {
                    let dir = profile.tftp_root.join(rel).with_file_name("");
                    out.push(spec(dir.join(&name), &text, tpl));
                }
            }
            // GRUB picks machines inside grub.cfg (see grub.cfg.j2).
            UefiLoader::ShimGrub => {}
        }
        if let (true, Some(mac)) = (cfg.boot.ipxe, h.mac) {
            let text = templates.render_value("boot.ipxe.j2", vars)?;
            let file = format!("{}.ipxe", mac.to_string().replace(':', "-"));
            out.push(spec(
                ipxe_dir(profile).join("hosts").join(file),
                &text,
                "boot.ipxe.j2",
            ));
        }
    }
    Ok(out)
}

/// A directory of per-machine files and the test for such a file's name there.
pub type PerClientDir = (PathBuf, fn(&str) -> bool);

/// Directories that hold per-machine files, each with the test for such a file's name.
pub fn per_client_dirs(profile: &Profile) -> Vec<PerClientDir> {
    let mut v: Vec<PerClientDir> =
        vec![(profile.pxelinux_cfg_dir(), crate::host::is_per_client_name)];
    for rel in &profile.efi.config {
        let dir = profile.tftp_root.join(rel).with_file_name("");
        if profile.efi.kind == UefiLoader::Syslinux {
            v.push((dir, crate::host::is_per_client_name));
        }
    }
    v.push((ipxe_dir(profile).join("hosts"), |n: &str| {
        n.ends_with(".ipxe")
    }));
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

/// Per-machine files pxe-kit wrote earlier for machines no longer configured: files in the
/// per-machine directories, generated by pxe-kit, and not wanted now. `present` holds each
/// existing per-machine file with its first bytes.
pub fn stale_host_files(wanted: &[FileSpec], present: &[(PathBuf, Vec<u8>)]) -> Vec<PathBuf> {
    // A set: ten thousand machines' files against ten thousand wanted ones.
    let wanted: std::collections::HashSet<&PathBuf> = wanted.iter().map(|f| &f.path).collect();
    present
        .iter()
        .filter(|(_, head)| crate::root::is_generated(head))
        .map(|(p, _)| p.clone())
        .filter(|p| !wanted.contains(p))
        .collect()
}

/// The exports file of an NFS-root image: read-only, to the provisioning subnet only.
pub fn exports_file(
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    image: &str,
    export: &std::path::Path,
) -> Result<FileSpec> {
    let mut vars = Vars::new(cfg, profile, Vec::new());
    vars.image = image.to_string();
    vars.export_path = export.display().to_string();
    Ok(FileSpec {
        path: exports_path(image),
        content: templates.render("exports.j2", &vars)?.into_bytes(),
        mode: 0o644,
        origin: Origin::Template("exports.j2"),
        service: None,
        unit_dropin: false,
    })
}

pub fn exports_path(image: &str) -> PathBuf {
    std::path::Path::new(crate::distro::EXPORTS_DIR).join(format!("pxe-kit-{image}.exports"))
}

/// Whether a path is one of pxe-kit's exports files.
pub fn is_exports_file(p: &std::path::Path) -> bool {
    p.parent() == Some(std::path::Path::new(crate::distro::EXPORTS_DIR))
        && p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pxe-kit-") && n.ends_with(".exports"))
}

/// Whether any of the written files is an exports file: then `exportfs -r` must follow.
pub fn exports_changed(changed: &[&FileSpec]) -> bool {
    changed.iter().any(|f| is_exports_file(&f.path))
}

/// `exportfs -r`: the kernel's export table follows /etc/exports.d.
pub fn reexport_step() -> Step {
    step(
        Group::Nfs,
        "re-exporting NFS file systems",
        &["exportfs", "-r"],
        None,
    )
}

/// Labelling exactly the given files for SELinux, where it applies.
pub fn relabel_step(profile: &Profile, paths: &[&std::path::Path]) -> Option<Step> {
    if !profile.selinux || paths.is_empty() {
        return None;
    }
    let mut argv = vec!["restorecon".to_string(), "-RF".to_string()];
    argv.extend(paths.iter().map(|p| p.display().to_string()));
    Some(Step {
        cmd: Cmd::change("labelling written files for SELinux", &argv),
        probe: None,
        after_group: None,
        group: Group::Selinux,
    })
}

/// What a step belongs to: steps of one group share a trigger (the firewall reload runs after
/// a firewall change), and the firewall's steps act on the network namespace rather than the
/// tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Packages,
    Selinux,
    Firewall,
    FirewallReload,
    /// Enabling the httpd drop-in (Debian's a2enconf).
    HttpdConf,
    Systemd,
    Services,
    Nfs,
    /// Loading kernel settings (the neighbour table).
    Sysctl,
}

impl Group {
    /// Firewall steps change the network namespace's filter, not files of the root.
    pub fn is_firewall(self) -> bool {
        matches!(self, Group::Firewall | Group::FirewallReload)
    }

    /// A failure of this group's steps does not stop the others: every service and the
    /// firewall are tried, and every failure is reported.
    pub fn goes_on(self) -> bool {
        matches!(
            self,
            Group::Firewall | Group::FirewallReload | Group::Services | Group::Nfs | Group::Sysctl
        )
    }
}

/// A system change, skipped when its probe says it is already in place.
#[derive(Debug, Clone)]
pub struct Step {
    pub cmd: Cmd,
    pub probe: Option<Probe>,
    /// Run only if an earlier step of this group ran (e.g. firewall reload).
    pub after_group: Option<Group>,
    pub group: Group,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub cmd: Cmd,
    pub satisfied: Satisfied,
}

/// How a probe's output says that its step is already in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Satisfied {
    Success,
    /// The probe failed: what the step would remove is not there (a disabled unit).
    Failure,
    /// Every line of `dpkg-query -W -f='${db:Status-Abbrev} …'` says installed.
    DpkgAllInstalled,
    StdoutContains(String),
    /// The probe failed (nothing to act on) or its output already holds the text.
    FailedOrContains(String),
}

impl Satisfied {
    pub fn check(&self, o: &Output) -> bool {
        match self {
            Satisfied::Success => o.success,
            Satisfied::Failure => !o.success,
            Satisfied::DpkgAllInstalled => {
                o.success
                    && !o.stdout.trim().is_empty()
                    && o.stdout.lines().all(|l| l.starts_with("ii "))
            }
            Satisfied::StdoutContains(t) => o.success && o.stdout.contains(t.as_str()),
            Satisfied::FailedOrContains(t) => !o.success || o.stdout.contains(t.as_str()),
        }
    }
}

fn probe(argv: &[&str], satisfied: Satisfied) -> Option<Probe> {
    Some(Probe {
        cmd: Cmd::new(Kind::Probe, "checking", argv),
        satisfied,
    })
}

fn step(group: Group, desc: &str, argv: &[&str], probe: Option<Probe>) -> Step {
    Step {
        cmd: Cmd::change(desc, argv),
        probe,
        after_group: None,
        group,
    }
}

/// Installing the stock packages, which must precede copying their files.
pub fn package_step(profile: &Profile) -> Step {
    packages_step(profile, &profile.packages)
}

fn packages_step(profile: &Profile, packages: &[&'static str]) -> Step {
    let probe_argv = profile.installed_probe_argv_for(packages);
    let probe_ref: Vec<&str> = probe_argv.iter().map(String::as_str).collect();
    let satisfied = if profile.is_redhat() {
        Satisfied::Success
    } else {
        Satisfied::DpkgAllInstalled
    };
    step(
        Group::Packages,
        "installing packages",
        &profile.install_argv_for(packages),
        probe(&probe_ref, satisfied),
    )
}

/// Stopping and disabling the DHCP daemons the settings no longer run, before the chosen one
/// starts: two servers must never answer on one network. Each step's probe finds it done
/// when that unit is already disabled (or not installed) and inactive. In server mode that is
/// the other server, and dnsmasq when pxe-kit's proxy file was there (a switch back from
/// proxy mode); in proxy mode both DHCP servers. `present` says which may be set up here
/// (always on a live system, where the probes decide; on a staged root only when their
/// files are there, so a fresh tree's plan does not list them).
pub fn other_dhcp_steps(profile: &Profile, present: &DaemonsPresent) -> Vec<Step> {
    let mut units: Vec<(&'static str, String)> = Vec::new();
    let other = profile.other_dhcp();
    match &profile.proxy {
        None => {
            let why = format!("the DHCP server is now {}", profile.dhcp.server.name());
            if present.other {
                units.push((other.service, why.clone()));
            }
            if present.proxy {
                units.push((ProxyDhcp::new().service, format!("server mode: {why}")));
            }
        }
        Some(_) => {
            let why = "proxy mode: the network's DHCP server gives the addresses".to_string();
            if present.chosen {
                units.push((profile.dhcp.service, why.clone()));
            }
            if present.other {
                units.push((other.service, why));
            }
        }
    }
    let mut steps = Vec::new();
    for (unit, why) in units {
        steps.push(step(
            Group::Services,
            &format!("disabling {unit} ({why})"),
            &["systemctl", "disable", unit],
            probe(
                &["systemctl", "is-enabled", "--quiet", unit],
                Satisfied::Failure,
            ),
        ));
        steps.push(step(
            Group::Services,
            &format!("stopping {unit} ({why})"),
            &["systemctl", "stop", unit],
            probe(
                &["systemctl", "is-active", "--quiet", unit],
                Satisfied::Failure,
            ),
        ));
    }
    steps
}

/// Which DHCP daemons may be set up here besides the one the settings run (see
/// `other_dhcp_steps`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DaemonsPresent {
    /// The DHCP server the settings name (stopped in proxy mode).
    pub chosen: bool,
    /// The other DHCP server.
    pub other: bool,
    /// dnsmasq with pxe-kit's proxy file (stopped in server mode).
    pub proxy: bool,
}

/// What the steps after the files follow from.
pub struct SystemInputs<'a> {
    /// The files that were (or, staged, would be) written.
    pub changed: &'a [&'a FileSpec],
    /// More paths to label with them (an import's directories, the DHCP lease database).
    pub relabel: &'a [&'a std::path::Path],
    /// PID 1 is systemd (false: no service steps).
    pub systemd: bool,
    /// See `other_dhcp_steps`.
    pub other_dhcp_present: DaemonsPresent,
    /// More SELinux steps, after the relabel (the lease database's own, live).
    pub selinux: Vec<Step>,
    /// The firewall's steps (`open_firewall`).
    pub firewall: Vec<Step>,
    /// Services to restart although none of their files changed: a restart an earlier,
    /// interrupted run left due, or httpd whose drop-in is being enabled.
    pub restart: std::collections::BTreeSet<Service>,
}

/// The unit of each service pxe-kit runs, in the order they are started.
pub fn service_units(profile: &Profile) -> [(Service, &'static str); 3] {
    [
        (
            Service::Dhcp,
            profile
                .proxy
                .as_ref()
                .map_or(profile.dhcp.service, |p| p.service),
        ),
        (Service::Tftp, profile.tftp_unit),
        (Service::Httpd, profile.httpd_service),
    ]
}

/// The services whose files are among `changed`.
pub fn changed_services(changed: &[&FileSpec]) -> std::collections::BTreeSet<Service> {
    changed.iter().filter_map(|f| f.service).collect()
}

/// What follows the files: labels, firewall, services.
pub fn system_steps(profile: &Profile, i: SystemInputs) -> Vec<Step> {
    let changed = i.changed;
    let mut steps = Vec::new();
    if profile.selinux {
        for (ty, dir) in profile.fcontext_rules() {
            let spec = format!("{}(/.*)?", dir.display());
            // matchpathcon prints the label the policy gives the directory: once our rule is
            // in, it names our type.
            let dir = dir.display().to_string();
            steps.push(step(
                Group::Selinux,
                "adding a persistent SELinux label rule",
                &["semanage", "fcontext", "-a", "-t", ty, &spec],
                probe(
                    &["matchpathcon", &dir],
                    Satisfied::StdoutContains(format!(":{ty}:")),
                ),
            ));
        }
        let mut paths: Vec<&std::path::Path> = changed.iter().map(|f| f.path.as_path()).collect();
        paths.extend(i.relabel);
        steps.extend(relabel_step(profile, &paths));
        steps.extend(i.selinux);
    }
    steps.extend(i.firewall);
    if changed
        .iter()
        .any(|f| f.path == std::path::Path::new(NEIGH_SYSCTL))
    {
        steps.push(step(
            Group::Sysctl,
            "loading the neighbour-table settings",
            &["sysctl", "-p", NEIGH_SYSCTL],
            None,
        ));
    }
    if let Some((argv, _)) = &profile.httpd_enable {
        steps.push(step(
            Group::HttpdConf,
            "enabling the httpd drop-in",
            argv,
            None,
        ));
    }
    if !i.systemd {
        return steps;
    }
    if changed.iter().any(|f| f.unit_dropin) {
        steps.push(step(
            Group::Systemd,
            "reloading systemd units",
            &["systemctl", "daemon-reload"],
            None,
        ));
    }
    steps.extend(other_dhcp_steps(profile, &i.other_dhcp_present));
    let restart = &i.restart;
    for (svc, unit) in service_units(profile) {
        steps.push(step(
            Group::Services,
            &format!("enabling {unit}"),
            &["systemctl", "enable", unit],
            probe(
                &["systemctl", "is-enabled", "--quiet", unit],
                Satisfied::Success,
            ),
        ));
        if changed.iter().any(|f| f.service == Some(svc)) {
            steps.push(step(
                Group::Services,
                &format!("restarting {unit}"),
                &["systemctl", "restart", unit],
                None,
            ));
        } else if restart.contains(&svc) {
            steps.push(step(
                Group::Services,
                &format!("restarting {unit} (its configuration changed in an earlier run that stopped before restarting it)"),
                &["systemctl", "restart", unit],
                None,
            ));
        } else {
            steps.push(step(
                Group::Services,
                &format!("starting {unit}"),
                &["systemctl", "start", unit],
                probe(
                    &["systemctl", "is-active", "--quiet", unit],
                    Satisfied::Success,
                ),
            ));
        }
    }
    steps
}

/// The rules that let DHCP (udp/67), TFTP (udp/69) and HTTP (tcp/80) in on the provisioning
/// interface only. (The seed's rules for port 68 and tcp/69 were wrong: a DHCP server listens
/// on udp/67 and TFTP is udp only.)
pub fn firewall_steps(cfg: &Config, profile: &Profile) -> Vec<Step> {
    firewall_steps_for(cfg, profile, &BOOT_OPENING)
}

/// What to let in on the provisioning interface: firewalld service names, and the same as
/// protocol/port pairs for iptables and nftables.
pub struct Opening {
    pub services: &'static [&'static str],
    pub ports: &'static [(&'static str, &'static str)],
}

pub const BOOT_OPENING: Opening = Opening {
    services: &["dhcp", "tftp", "http"],
    ports: &[("udp", "67"), ("udp", "69"), ("tcp", "80")],
};

/// Proxy mode: UEFI clients (and BIOS boot-server discovery) ask again on udp/4011, which
/// firewalld's `proxy-dhcp` service opens (it is udp/4011 alone; `dhcp` stays for udp/67).
pub const PROXY_OPENING: Opening = Opening {
    services: &["proxy-dhcp"],
    ports: &[("udp", "4011")],
};

/// A failover pair: dhcpd's failover protocol, or Kea's HA listener, on tcp/647
/// (`config::FAILOVER_PORT`). firewalld has no service for it: the port itself is opened.
pub const FAILOVER_OPENING: Opening = Opening {
    services: &[],
    ports: &[("tcp", "647")],
};

/// NFS root: nfsd, mountd (fixed at 20048 on Fedora) and rpcbind for NFSv3 clients.
pub const NFS_OPENING: Opening = Opening {
    services: &["nfs", "mountd", "rpc-bind"],
    ports: &[
        ("tcp", "2049"),
        ("tcp", "111"),
        ("udp", "111"),
        ("tcp", "20048"),
        ("udp", "20048"),
    ],
};

/// The steps for one opening when the firewall's state is unknown (a staged root, doctor's
/// fixes): each firewalld step carries its own probe.
pub fn firewall_steps_for(cfg: &Config, profile: &Profile, opening: &Opening) -> Vec<Step> {
    open_firewall(cfg, profile, &[opening], None)
}

/// What converge saw of firewalld before changing it, and the items the settings kept
/// earlier that are no longer wanted.
pub struct FirewalldSeen<'a> {
    pub state: &'a crate::firewalld::State,
    pub dropped: Vec<String>,
}

/// The firewall steps for every opening the server needs, in one pass: with firewalld's state
/// known, exactly the changes it lacks (no probes); otherwise the full list, each with a
/// probe.
pub fn open_firewall(
    cfg: &Config,
    profile: &Profile,
    openings: &[&Opening],
    seen: Option<&FirewalldSeen>,
) -> Vec<Step> {
    let ifname = cfg.interface.as_str();
    let mut steps = Vec::new();
    match profile.firewall {
        Firewall::Firewalld => {
            let mut want: Vec<String> = openings
                .iter()
                .flat_map(|o| o.services.iter().map(|s| format!("service={s}")))
                .collect();
            // Ports firewalld has no service for (the failover port) are opened as ports.
            want.extend(
                openings
                    .iter()
                    .filter(|o| o.services.is_empty())
                    .flat_map(|o| o.ports.iter())
                    .map(|(proto, port)| format!("port={port}/{proto}")),
            );
            want.extend(cfg.firewall.items());
            want.dedup();
            match seen {
                Some(s) => steps.extend(firewalld_changes(ifname, s, &want)),
                None => steps.extend(firewalld_probed(ifname, &want)),
            }
        }
        Firewall::Iptables => {
            for (proto, port) in openings.iter().flat_map(|o| o.ports.iter()) {
                let rule = [
                    "INPUT",
                    "-i",
                    ifname,
                    "-p",
                    proto,
                    "--dport",
                    port,
                    "-m",
                    "comment",
                    "--comment",
                    "pxe-kit",
                    "-j",
                    "ACCEPT",
                ];
                let mut check = vec!["iptables", "-C"];
                check.extend(rule);
                let mut insert = vec!["iptables", "-I"];
                insert.extend(rule);
                steps.push(step(
                    Group::Firewall,
                    &format!("allowing {proto}/{port} on {ifname}"),
                    &insert,
                    probe(&check, Satisfied::Success),
                ));
            }
        }
        Firewall::None => {}
        Firewall::Nft => {
            for proto in ["udp", "tcp"] {
                let ports: Vec<&str> = openings
                    .iter()
                    .flat_map(|o| o.ports.iter())
                    .filter(|(p, _)| *p == proto)
                    .map(|(_, n)| *n)
                    .collect();
                let set = match ports.as_slice() {
                    [] => continue,
                    [one] => one.to_string(),
                    many => format!("{{ {} }}", many.join(", ")),
                };
                steps.push(step(
                    Group::Firewall,
                    &format!("allowing {proto} {set} on {ifname}"),
                    &[
                        "nft",
                        "insert",
                        "rule",
                        "inet",
                        "filter",
                        "input",
                        "iifname",
                        ifname,
                        proto,
                        "dport",
                        &set,
                        "accept",
                        "comment",
                        "\"pxe-kit\"",
                    ],
                    // No `inet filter input` chain means nftables filters nothing: nothing to open.
                    probe(
                        &["nft", "list", "chain", "inet", "filter", "input"],
                        Satisfied::FailedOrContains(format!(
                            "iifname \"{ifname}\" {proto} dport {set}"
                        )),
                    ),
                ));
            }
        }
    }
    steps
}

/// firewalld's steps when its state is unknown: create the zone, add what it lets in, reload,
/// then bind the interface (after the reload: on a NetworkManager interface the permanent
/// binding is NM's, which asks firewalld for the runtime binding at once and fails while the
/// zone does not exist at runtime) and set the runtime binding.
fn firewalld_probed(ifname: &str, want: &[String]) -> Vec<Step> {
    let zone = crate::firewalld::ZONE;
    let zone_arg = format!("--zone={zone}");
    let mut steps = vec![step(
        Group::Firewall,
        "creating the pxe-kit firewalld zone",
        &["firewall-cmd", "--permanent", &format!("--new-zone={zone}")],
        probe(
            &[
                "firewall-cmd",
                "--permanent",
                &format!("--info-zone={zone}"),
            ],
            Satisfied::Success,
        ),
    )];
    for w in want {
        steps.push(step(
            Group::Firewall,
            &format!("allowing {} in the pxe-kit zone", item_name(w)),
            &[
                "firewall-cmd",
                "--permanent",
                &zone_arg,
                &format!("--add-{w}"),
            ],
            probe(
                &[
                    "firewall-cmd",
                    "--permanent",
                    &zone_arg,
                    &format!("--query-{w}"),
                ],
                Satisfied::Success,
            ),
        ));
    }
    let mut reload = step(
        Group::FirewallReload,
        "loading the permanent firewall rules",
        &["firewall-cmd", "--reload"],
        None,
    );
    reload.after_group = Some(Group::Firewall);
    steps.push(reload);
    let bound = || {
        probe(
            &["firewall-cmd", &format!("--get-zone-of-interface={ifname}")],
            Satisfied::StdoutContains(zone.to_string()),
        )
    };
    steps.push(step(
        Group::Firewall,
        "binding the provisioning interface to the pxe-kit zone",
        &[
            "firewall-cmd",
            "--permanent",
            &zone_arg,
            &format!("--change-interface={ifname}"),
        ],
        bound(),
    ));
    steps.push(step(
        Group::Firewall,
        "binding the provisioning interface to the pxe-kit zone now",
        &[
            "firewall-cmd",
            &zone_arg,
            &format!("--change-interface={ifname}"),
        ],
        bound(),
    ));
    steps
}

/// `service=ssh` → `ssh`, `port=9090/tcp` → `port 9090/tcp`.
fn item_name(item: &str) -> String {
    match item.split_once('=') {
        Some(("service", v)) => v.to_string(),
        Some((k, v)) => format!("{k} {v}"),
        None => item.to_string(),
    }
}

/// firewalld's steps from its known state: only what it lacks (see `firewalld::changes`).
fn firewalld_changes(ifname: &str, seen: &FirewalldSeen, want: &[String]) -> Vec<Step> {
    use crate::firewalld::{changes, ZONE};
    let st = seen.state;
    let c = changes(st, ifname, want, &seen.dropped);
    let zone_arg = format!("--zone={ZONE}");
    // Running firewalld: permanent changes through firewall-cmd; stopped: the saved
    // configuration through firewall-offline-cmd (always permanent, no --permanent flag).
    let perm = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = if st.running {
            vec!["firewall-cmd".into(), "--permanent".into()]
        } else {
            vec!["firewall-offline-cmd".into()]
        };
        v.extend(args.iter().map(|a| a.to_string()));
        v
    };
    let mut steps = Vec::new();
    let mut add = |desc: String, argv: Vec<String>| {
        steps.push(Step {
            cmd: Cmd::change(desc, &argv),
            probe: None,
            after_group: None,
            group: Group::Firewall,
        })
    };
    if c.create_zone {
        add(
            "creating the pxe-kit firewalld zone".into(),
            perm(&[&format!("--new-zone={ZONE}")]),
        );
    }
    for a in &c.zone_args {
        let (verb, item) = a
            .trim_start_matches("--")
            .split_once('-')
            .unwrap_or(("add", a));
        let desc = if verb == "add" {
            format!("allowing {} in the pxe-kit zone", item_name(item))
        } else {
            format!(
                "no longer allowing {} in the pxe-kit zone (no longer kept)",
                item_name(item)
            )
        };
        // firewall-offline-cmd spells the removal of a zone's service differently.
        let arg = if !st.running && a.starts_with("--remove-service=") {
            a.replace("--remove-service=", "--remove-service-from-zone=")
        } else {
            a.clone()
        };
        add(desc, perm(&[&zone_arg, &arg]));
    }
    if c.bind_file {
        add(
            "binding the provisioning interface to the pxe-kit zone".into(),
            perm(&[&zone_arg, &format!("--change-interface={ifname}")]),
        );
    }
    for i in &c.unbind_file {
        add(
            format!("taking {i} out of the pxe-kit zone (the provisioning interface is {ifname})"),
            perm(&[&zone_arg, &format!("--remove-interface={i}")]),
        );
    }
    if c.reload {
        add(
            "loading the permanent firewall rules".into(),
            vec!["firewall-cmd".into(), "--reload".into()],
        );
    }
    // NetworkManager holds the binding of the interfaces it manages: its connection's zone
    // ("" is the default zone).
    let nm_zone = |conn: &str, zone: &str| -> Vec<String> {
        [
            "nmcli",
            "connection",
            "modify",
            conn,
            "connection.zone",
            zone,
        ]
        .map(String::from)
        .to_vec()
    };
    if let Some(conn) = &c.bind_nm {
        add(
            format!("binding the provisioning interface to the pxe-kit zone (NetworkManager connection {conn})"),
            nm_zone(conn, ZONE),
        );
    }
    for (i, conn) in &c.unbind_nm {
        add(
            format!("taking {i} out of the pxe-kit zone (NetworkManager connection {conn}; the default zone again)"),
            nm_zone(conn, ""),
        );
    }
    for i in &c.unbind_runtime {
        add(
            format!("taking {i} out of the pxe-kit zone now"),
            vec![
                "firewall-cmd".into(),
                zone_arg.clone(),
                format!("--remove-interface={i}"),
            ],
        );
    }
    if c.bind_runtime {
        add(
            "binding the provisioning interface to the pxe-kit zone now".into(),
            vec![
                "firewall-cmd".into(),
                zone_arg.clone(),
                format!("--change-interface={ifname}"),
            ],
        );
    }
    steps
}

/// What an NFS-root image needs besides its files: the NFS server package and unit, and
/// `exportfs -r` when an exports file changed (the firewall's NFS opening comes with the
/// others, see `open_firewall`).
pub fn nfs_steps(profile: &Profile, exports_changed: bool, systemd: bool) -> Vec<Step> {
    let mut steps = vec![packages_step(profile, &profile.nfs_packages)];
    if systemd {
        let unit = profile.nfs_service;
        steps.push(step(
            Group::Services,
            &format!("enabling {unit}"),
            &["systemctl", "enable", "--now", unit],
            probe(
                &["systemctl", "is-active", "--quiet", unit],
                Satisfied::Success,
            ),
        ));
    }
    if exports_changed {
        steps.push(reexport_step());
    }
    steps
}

/// A file and where its content comes from, for messages.
pub fn describe(f: &FileSpec) -> String {
    match &f.origin {
        Origin::Template(t) | Origin::Generated(t) => format!("{} (from {t})", f.path.display()),
        Origin::Copy(src) => format!("{} (from {})", f.path.display(), src.display()),
    }
}
