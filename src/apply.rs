//! The one converge step: every command that changes the server (init, add-image, add-host,
//! remove-host, remove-image, doctor --fix) hands it the desired state (settings + images) and
//! it renders, validates, writes what differs, removes what is stale and runs the system steps
//! whose probes say they are needed. Nothing is written unless all of it renders and validates.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::{Config, DhcpServer};
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::image::{self, Manifest};
use crate::plan::{self, describe, FileSpec, Group, Origin, Step};
use crate::render::Templates;
use crate::root::{Change, Root};
use crate::runner::{find_program, Cmd, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The probe found it in place.
    AlreadyDone,
    Ran,
    /// Staged or dry-run: listed, not run.
    Planned,
    /// Its trigger group did not run.
    NotNeeded,
    /// It ran and failed (the run went on with the other services and the firewall).
    Failed,
}

/// What the server should look like.
#[derive(Debug, Clone)]
pub struct Desired {
    pub cfg: Config,
    /// Every image the server boots (add-image passes the new one before its manifest is
    /// written, so a dry run shows the real menu).
    pub images: Vec<Manifest>,
}

impl Desired {
    /// The settings with the images whose manifests are on disk.
    pub fn from_disk(root: &Root, cfg: Config) -> Result<Desired> {
        Ok(Desired {
            cfg,
            images: image::load_all(root)?,
        })
    }
}

/// How a converge differs from init's.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Paths written outside the rendered files (an import's directories and files) that
    /// need their SELinux labels too.
    pub relabel: Vec<PathBuf>,
    /// Relabel the whole TFTP and HTTP trees (doctor found wrong labels).
    pub relabel_trees: bool,
    /// The firewall steps act on this network namespace even when the root is staged:
    /// doctor --fix of a staged root that is served here.
    pub live_firewall: bool,
    /// Leave the settings file as the user wrote it (doctor --fix repairs from it, it does
    /// not reformat it).
    pub keep_settings_file: bool,
    /// Move the provisioning interface into the pxe-kit zone even when its current zone
    /// allows what cannot be carried over (init --firewall-takeover).
    pub firewall_takeover: bool,
    /// Render with these templates rather than the overrides on disk: a partner's, which
    /// `sync --accept` installs only once they have rendered.
    pub templates: Option<Templates>,
}

/// A command's own changes, made by converge at the one point where they can no longer be
/// refused: after every file rendered and every configuration passed its daemon's test.
#[derive(Default)]
pub struct Commit<'a> {
    /// Before the first rendered file is written: an import's staged files renamed into
    /// place, a manifest written.
    pub first: Option<Box<dyn FnOnce() -> Result<()> + 'a>>,
    /// Once the rendered files are written (menus no longer name what goes), before the
    /// system steps: a removed image's files.
    pub then: Option<Box<dyn FnOnce() -> Result<()> + 'a>>,
}

/// What a converge did (or, staged and dry-run, would do).
#[derive(Debug, Default)]
pub struct Report {
    /// Files written, described with their origin.
    pub written: Vec<String>,
    /// Stale per-machine files removed.
    pub removed: Vec<PathBuf>,
    pub config_saved: bool,
    /// Steps that ran or were listed.
    pub steps: Vec<(Cmd, Outcome)>,
}

impl Report {
    /// Whether anything was (or would be) changed.
    pub fn changed(&self) -> bool {
        !self.written.is_empty()
            || !self.removed.is_empty()
            || self.config_saved
            || self.steps.iter().any(|(_, o)| *o == Outcome::Ran)
    }
}

/// init's converge for changed settings with the images on disk, from announcement to
/// conclusion: what add-host and remove-host do after editing the settings.
pub fn apply_settings(ctx: &Ctx, cfg: Config, verb: &str, opts: &Options) -> Result<crate::Exit> {
    let want = Desired::from_disk(&ctx.root, cfg)?;
    announce(ctx, verb, &want.cfg);
    let report = converge(ctx, &want, opts)?;
    conclude(ctx, &report, false);
    Ok(crate::Exit::Ok)
}

/// The first line of every changing command: which profile, which root.
pub fn announce(ctx: &Ctx, verb: &str, cfg: &Config) {
    let staged = if ctx.root.is_live() {
        ""
    } else {
        " (staged: live-system commands are listed, not run)"
    };
    ctx.out.say(format!(
        "pxe-kit {verb}: {:?} profile, root {}{staged}",
        ctx.profile(Some(cfg)).distro,
        ctx.root.base().display()
    ));
}

/// Converges the server on `want`. Prints each change as it happens (quiet under -q).
pub fn converge(ctx: &Ctx, want: &Desired, opts: &Options) -> Result<Report> {
    converge_with(ctx, want, opts, Commit::default())
}

/// As `converge`, with the command's own changes made at their points (see `Commit`): a
/// failure before them leaves the tree as it was.
// Long: one converge from settings to services; each phase is a call, their order is the point.
pub fn converge_with(ctx: &Ctx, want: &Desired, opts: &Options, commit: Commit) -> Result<Report> {
    let profile = ctx.profile(Some(&want.cfg));
    profile.check_dhcp_available()?;
    if let Some(w) = profile.proxy_loader_warning() {
        ctx.out.say(format!("warning: {w}"));
    }
    let boot_default = &want.cfg.boot.default;
    if boot_default != "local" && !want.images.iter().any(|m| &m.name == boot_default) {
        bail!(
            "boot.default {:?} names no image; use `local` or one of: {}",
            boot_default,
            image::names(&want.images)
        );
    }
    // The firewall belongs to the network namespace, not to the tree: for a staged root
    // served here (doctor --fix) it is looked at and changed here.
    let fw_ctx = ctx.derive(opts.live_firewall && !ctx.root.is_live(), ctx.out);
    let mut failures: Vec<String> = Vec::new();
    // firewalld is looked at once, before anything changes: moving the interface into the
    // pxe-kit zone keeps what its zone allowed, or is refused here with nothing changed.
    let nfs = want.images.iter().any(|m| m.nfs_export.is_some());
    let mut openings = vec![&plan::BOOT_OPENING];
    if nfs {
        openings.push(&plan::NFS_OPENING);
    }
    if want.cfg.peers.is_some() {
        openings.push(&plan::FAILOVER_OPENING);
    }
    if profile.proxy.is_some() {
        openings.push(&plan::PROXY_OPENING);
    }
    let fw = look_at_firewalld(&fw_ctx, &want.cfg, &profile, &openings, opts)?;
    let cfg = &fw.cfg;
    if let Some(e) = &fw.failure {
        ctx.out.say(format!("  failed: {e}"));
        failures.push(e.clone());
    }
    let mut report = Report::default();
    // Packages come first: the boot loader files are copied out of them.
    let pkg_step = plan::package_step(&profile);
    let pkg = run_step(ctx, &pkg_step, &Default::default())?;
    report.steps.push((pkg_step.cmd.clone(), pkg));
    // Previewing a fresh live system: the loader files arrive with the packages.
    let loader_pending = pkg == Outcome::Planned && ctx.root.is_live();
    let want_now = Desired {
        cfg: cfg.clone(),
        images: want.images.clone(),
    };
    let files = render(
        ctx,
        &want_now,
        &profile,
        loader_pending,
        opts.templates.as_ref(),
    )?;
    validate_dhcp(ctx, cfg, &profile, &files)?;
    validate_dnsmasq(ctx, &profile, &files)?;
    if let Some(first) = commit.first {
        first()?;
    }

    let systemd = ctx.systemd();
    let httpd_enable_due = profile
        .httpd_enable
        .as_ref()
        .is_some_and(|(_, enabled)| !ctx.root.exists(enabled));
    // Restarts are due before the files change: an interruption between writing a
    // configuration and restarting its daemon must not leave the daemon on the old one.
    let mut due = Pending::load(ctx, &profile, systemd)?;
    due.add(files_about_to_change(ctx, &files)?);
    if httpd_enable_due && ctx.runner.live() {
        // Enabling the drop-in changes what httpd loads.
        due.add([plan::Service::Httpd].into());
    }
    due.save(ctx)?;
    let httpd_old = ctx.root.read_opt(&profile.httpd_dropin)?;
    let changed = write_files(ctx, &files)?;
    report.written = changed.iter().map(|f| describe(f)).collect();
    // The settings follow the files they render to: a batch that cannot be written (a full
    // disk) leaves the settings as they were too.
    let cfg_change = if opts.keep_settings_file {
        Change::Unchanged
    } else {
        ctx.save_config(cfg)?
    };
    if cfg_change.changed() {
        report.config_saved = true;
        ctx.out.say(format!(
            "  {} settings to {}",
            ctx.root.verb("saved", "would save"),
            ctx.config_display().display()
        ));
    }
    report.removed = remove_stale(ctx, &profile, &files)?;
    if changed.iter().any(|f| f.path == profile.httpd_dropin) {
        check_httpd(ctx, &profile, httpd_old)?;
    }
    if let Some(then) = commit.then {
        then()?;
    }

    let state_paths = profile.selinux_state_paths();
    let mut relabel: Vec<&Path> = Vec::new();
    if opts.relabel_trees || (!changed.is_empty() && !ctx.runner.live()) {
        // Doctor found wrong labels, or a staged tree: the lease database is labelled with
        // the files (live, its own probed step does it).
        relabel.extend(state_paths.iter().map(PathBuf::as_path));
    }
    relabel.extend(opts.relabel.iter().map(PathBuf::as_path));
    if opts.relabel_trees {
        relabel.extend([profile.tftp_root.as_path(), profile.http_dir.as_path()]);
    }
    // The DHCP daemons not to run may be set up here: on a live system the probes tell; on
    // a staged root their configuration files do.
    let live = ctx.root.is_live();
    let other_present = plan::DaemonsPresent {
        chosen: live || ctx.root.exists(&profile.dhcp.conf),
        other: live || ctx.root.exists(&profile.other_dhcp().conf),
        proxy: report
            .removed
            .iter()
            .any(|p| p == Path::new(crate::distro::PROXY_CONF)),
    };
    let firewall = if fw.skip {
        Vec::new()
    } else {
        plan::open_firewall(cfg, &profile, &openings, fw.seen().as_ref())
    };
    let mut steps = plan::system_steps(
        &profile,
        plan::SystemInputs {
            changed: &changed,
            relabel: &relabel,
            systemd,
            other_dhcp_present: other_present,
            // Live: the lease database is relabelled whenever the policy disagrees with it.
            selinux: if ctx.runner.live() {
                lease_label_step(ctx, &profile).into_iter().collect()
            } else {
                Vec::new()
            },
            firewall,
            restart: due.services(),
        },
    );
    if !httpd_enable_due {
        steps.retain(|s| s.group != Group::HttpdConf);
    }
    let exports_changed =
        plan::exports_changed(&changed) || report.removed.iter().any(|p| plan::is_exports_file(p));
    if nfs {
        steps.extend(plan::nfs_steps(&profile, exports_changed, systemd));
    } else if exports_changed {
        // The last NFS-root image went: its export must go from the kernel's table too.
        steps.push(plan::reexport_step());
    }

    let (fw_steps, rest): (Vec<Step>, Vec<Step>) = if fw_ctx.runner.live() != ctx.runner.live() {
        steps.into_iter().partition(|s| s.group.is_firewall())
    } else {
        (Vec::new(), steps)
    };
    let hint = |s: &Step| failure_hint(ctx, &profile, s);
    for (c, steps) in [(&fw_ctx, fw_steps), (ctx, rest)] {
        let ran = run_steps(c, &steps, &hint)?;
        for (s, o) in steps.iter().zip(ran.outcomes) {
            if o == Outcome::Ran && s.cmd.argv.get(1).map(String::as_str) == Some("restart") {
                due.done(&s.cmd.argv[2]);
            }
            report.steps.push((s.cmd.clone(), o));
        }
        failures.extend(ran.failures);
    }
    due.save(ctx)?;
    if !failures.is_empty() {
        bail!(
            "{} step(s) failed (each is shown above with its fix): {}",
            failures.len(),
            failures
                .iter()
                .map(|f| f.split(':').next().unwrap_or(f))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(report)
}

/// What converge learned of firewalld before changing anything.
struct FirewalldLook {
    /// The settings, with what the provisioning interface's previous zone let in kept.
    cfg: Config,
    state: Option<crate::firewalld::State>,
    /// Items kept earlier and no longer wanted.
    dropped: Vec<String>,
    /// firewalld could not be asked: its steps are left out and the run fails at the end.
    failure: Option<String>,
    skip: bool,
}

impl FirewalldLook {
    fn seen(&self) -> Option<plan::FirewalldSeen<'_>> {
        self.state.as_ref().map(|state| plan::FirewalldSeen {
            state,
            dropped: self.dropped.clone(),
        })
    }
}

/// Looks at firewalld where its state can be asked (a live system, or a staged root served
/// here), says what moving the interface keeps, and warns when firewalld is stopped.
fn look_at_firewalld(
    fw_ctx: &Ctx,
    cfg: &Config,
    profile: &Profile,
    openings: &[&plan::Opening],
    opts: &Options,
) -> Result<FirewalldLook> {
    let mut look = FirewalldLook {
        cfg: cfg.clone(),
        state: None,
        dropped: Vec::new(),
        failure: None,
        skip: false,
    };
    if profile.firewall != crate::distro::Firewall::Firewalld || !fw_ctx.runner.live() {
        return Ok(look);
    }
    let st = match crate::firewalld::inspect(&fw_ctx.runner, cfg) {
        Ok(st) => st,
        Err(e) => {
            // Without the zones' state the interface is not moved (it could lock the admin
            // out); the rest of the server is still set up.
            look.failure = Some(format!("firewall: {e:#}; the firewall was left as it is"));
            look.skip = true;
            return Ok(look);
        }
    };
    let out = fw_ctx.out;
    if !st.running {
        out.say(format!(
            "  warning: firewalld is installed but not running: nothing is filtered now; pxe-kit saves the {} zone with firewall-offline-cmd and it filters once firewalld starts (systemctl enable --now firewalld)",
            crate::firewalld::ZONE
        ));
    }
    let boot: Vec<&str> = openings
        .iter()
        .flat_map(|o| o.services.iter().copied())
        .collect();
    let keep = crate::firewalld::settle_keep(
        &cfg.firewall,
        &st,
        &cfg.interface,
        &boot,
        opts.firewall_takeover,
    )?;
    if keep != cfg.firewall {
        let kept: Vec<String> = keep.items().iter().map(|i| item_label(i)).collect();
        out.say(format!(
            "  firewall: {} moves from zone {} into the {} zone; kept open there what {} allowed: {} (`firewall:` in the settings)",
            cfg.interface,
            keep.moved_from.as_deref().unwrap_or("?"),
            crate::firewalld::ZONE,
            keep.moved_from.as_deref().unwrap_or("it"),
            if kept.is_empty() { "nothing besides DHCP, TFTP and HTTP".into() } else { kept.join(", ") }
        ));
        let now = keep.items();
        look.dropped = cfg
            .firewall
            .items()
            .into_iter()
            .filter(|i| !now.contains(i))
            .collect();
        look.cfg.firewall = keep;
    }
    for s in st.strays(&cfg.interface) {
        out.say(format!(
            "  firewall: {s} leaves the {} zone (the provisioning interface is {}) and falls back to the default zone",
            crate::firewalld::ZONE,
            cfg.interface
        ));
    }
    look.state = Some(st);
    Ok(look)
}

/// `service=ssh` → `ssh`, `port=9090/tcp` → `9090/tcp`.
fn item_label(item: &str) -> String {
    item.split_once('=').map_or(item, |(_, v)| v).to_string()
}

/// The DHCP lease database relabelled when the policy disagrees with its label (`matchpathcon
/// -V` fails): a leases file the init script created before the policy's rule applied keeps
/// its directory's type, which dhcpd may not read.
fn lease_label_step(ctx: &Ctx, profile: &Profile) -> Option<Step> {
    let dir = profile.selinux_state_paths().into_iter().next()?;
    let mut check = vec!["matchpathcon".to_string(), "-V".into()];
    check.push(dir.display().to_string());
    if ctx.root.exists(&profile.dhcp.leases) {
        check.push(profile.dhcp.leases.display().to_string());
    }
    Some(Step {
        cmd: Cmd::change(
            "labelling the DHCP lease database for SELinux",
            &["restorecon", "-RF", &dir.display().to_string()],
        ),
        probe: Some(plan::Probe {
            cmd: Cmd::new(Kind::Probe, "checking the lease database's labels", &check),
            satisfied: plan::Satisfied::Success,
        }),
        after_group: None,
        group: Group::Selinux,
    })
}

/// Files among `files` whose content differs from the disk: the services they belong to
/// will need a restart.
fn files_about_to_change(ctx: &Ctx, files: &[FileSpec]) -> Result<BTreeSet<plan::Service>> {
    let mut v = BTreeSet::new();
    for f in files {
        if let Some(svc) = f.service {
            if ctx.root.read_opt(&f.path)?.as_deref() != Some(f.content.as_slice()) {
                v.insert(svc);
            }
        }
    }
    Ok(v)
}

/// Where restarts still due are kept between runs: a run that stops after writing a
/// configuration and before restarting its daemon leaves the restart to the next one.
pub const PENDING: &str = "/var/lib/pxe-kit/pending-restarts";

/// The restarts due, kept in `PENDING` where changes really run (live, not --dry-run, and
/// under systemd: elsewhere no restart step exists).
struct Pending {
    units: BTreeSet<String>,
    saved: BTreeSet<String>,
    by_service: Vec<(plan::Service, &'static str)>,
    keep: bool,
}

impl Pending {
    fn load(ctx: &Ctx, profile: &Profile, systemd: bool) -> Result<Pending> {
        let keep = ctx.runner.acts() && systemd;
        let saved: BTreeSet<String> = if ctx.runner.live() && systemd {
            ctx.root
                .read_string_opt(Path::new(PENDING))?
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        } else {
            BTreeSet::new()
        };
        Ok(Pending {
            units: saved.clone(),
            saved: if keep { saved } else { BTreeSet::new() },
            by_service: plan::service_units(profile).to_vec(),
            keep,
        })
    }

    fn add(&mut self, services: BTreeSet<plan::Service>) {
        for (svc, unit) in &self.by_service {
            if services.contains(svc) {
                self.units.insert(unit.to_string());
            }
        }
    }

    /// The services whose restart is due.
    fn services(&self) -> BTreeSet<plan::Service> {
        self.by_service
            .iter()
            .filter(|(_, u)| self.units.contains(*u))
            .map(|(s, _)| *s)
            .collect()
    }

    fn done(&mut self, unit: &str) {
        self.units.remove(unit);
    }

    fn save(&mut self, ctx: &Ctx) -> Result<()> {
        if !self.keep || self.units == self.saved {
            return Ok(());
        }
        if self.units.is_empty() {
            ctx.root.remove(Path::new(PENDING))?;
        } else {
            let mut text = format!(
                "# {}: services whose restart is due (a change they have not loaded yet)\n",
                crate::root::GENERATED_MARK
            );
            for u in &self.units {
                text.push_str(u);
                text.push('\n');
            }
            ctx.root.write(Path::new(PENDING), text.as_bytes(), 0o644)?;
        }
        self.saved = self.units.clone();
        Ok(())
    }
}

/// What a failed service start or restart should say besides systemctl's words: on an
/// SELinux-enforcing host, the denials for that daemon and the relabel that fixes a wrong
/// label.
fn failure_hint(ctx: &Ctx, profile: &Profile, s: &Step) -> Option<String> {
    if s.group != Group::Services || !profile.selinux {
        return None;
    }
    let unit = s.cmd.argv.get(2)?;
    let enforcing = ctx
        .root
        .read_string_opt(Path::new(crate::distro::SELINUX_ENFORCE))
        .ok()
        .flatten()
        .is_some_and(|t| t.trim() == "1");
    if !enforcing {
        return None;
    }
    let (comm, paths): (&str, Vec<String>) = if unit == profile.dhcp.service {
        (
            profile.dhcp.comm,
            profile
                .selinux_state_paths()
                .iter()
                .chain(profile.dhcp.conf.parent().map(Path::to_path_buf).iter())
                .map(|p| p.display().to_string())
                .collect(),
        )
    } else if unit == profile.tftp_unit {
        ("in.tftpd", vec![profile.tftp_root.display().to_string()])
    } else if unit == profile.httpd_service {
        (
            if profile.is_redhat() {
                "httpd"
            } else {
                "apache2"
            },
            vec![
                profile.http_dir.display().to_string(),
                profile.tftp_root.join("pxe-kit").display().to_string(),
            ],
        )
    } else {
        return None;
    };
    let search = format!("ausearch -m avc -ts recent -c {comm}");
    let denial = ctx
        .runner
        .query(&Cmd::new(
            Kind::Probe,
            format!("looking for SELinux denials of {comm}"),
            &["ausearch", "-m", "avc", "-ts", "recent", "-c", comm],
        ))
        .ok()
        .flatten()
        .and_then(|o| {
            o.stdout.lines().find(|l| l.contains("denied")).map(|l| {
                l.split_once("avc:")
                    .map_or(l, |(_, r)| r)
                    .trim()
                    .chars()
                    .take(240)
                    .collect::<String>()
            })
        });
    Some(match denial {
        Some(d) => format!(
            "SELinux denied {comm}: avc: {d}; a file with the wrong label is fixed with `restorecon -Rv {}` (more: `{search}`)",
            paths.join(" ")
        ),
        None => format!(
            "SELinux is enforcing: look for denials with `{search}`; a file with the wrong label is fixed with `restorecon -Rv {}`",
            paths.join(" ")
        ),
    })
}

/// What every changing command says at the end: the PID 1 note, the listed plan, or that
/// nothing changed. `other_changes`: the command changed files itself besides the converge
/// (an import, a removal).
pub fn conclude(ctx: &Ctx, report: &Report, other_changes: bool) {
    if ctx.root.is_live() && !ctx.systemd() {
        ctx.out.say(
            "  PID 1 is not systemd here: services were not enabled or restarted; \
             run the daemons in the foreground with `pxe-kit serve`",
        );
    }
    let planned: Vec<&Cmd> = report
        .steps
        .iter()
        .filter(|(_, o)| *o == Outcome::Planned)
        .map(|(c, _)| c)
        .collect();
    // Staged runs list the live-system steps only when something changed (or with -v): a
    // second staged run says "nothing to change".
    let files_changed = other_changes
        || !report.written.is_empty()
        || !report.removed.is_empty()
        || report.config_saved;
    if !planned.is_empty() && (files_changed || ctx.out.verbose || ctx.root.is_live()) {
        ctx.out.say(format!(
            "{}:",
            ctx.root.verb(
                "live-system steps (not run under --root)",
                "commands (dry run, not run)"
            )
        ));
        for c in planned {
            ctx.out.say(format!("  $ {}    # {}", c.shell(), c.desc));
        }
    }
    if !report.changed() && !other_changes {
        ctx.out.say("nothing to change");
    }
}

/// Every file the settings and images render to, exactly as converge writes them: doctor
/// compares the tree against it (drift).
pub fn desired_files(ctx: &Ctx, want: &Desired, profile: &Profile) -> Result<Vec<FileSpec>> {
    render(ctx, want, profile, false, None)
}

fn render(
    ctx: &Ctx,
    want: &Desired,
    profile: &Profile,
    loader_pending: bool,
    templates: Option<&Templates>,
) -> Result<Vec<FileSpec>> {
    // Given templates are used as they are; only the overrides on disk are read.
    let templates = match templates {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => std::borrow::Cow::Owned(Templates::load(&ctx.root)?),
    };
    let loader = read_loader(ctx, profile, loader_pending)?;
    let entries = image::boot_entries(&want.cfg, profile, &want.images);
    let mut files = plan::files(&want.cfg, profile, &templates, entries, &loader)?;
    // Loader files not yet installed (live dry run) are not shown as writes.
    files.retain(|f| !matches!(&f.origin, Origin::Copy(_)) || !f.content.is_empty());
    // NFS-root images' exports files are rendered from their manifests like the menu, so a
    // changed subnet reaches them and `doctor --fix` can put a deleted one back.
    for m in &want.images {
        if let Some(export) = &m.nfs_export {
            // A manifest is input too (edited by hand, or an older release's): `/` or a
            // system directory is never exported, whatever it says.
            crate::config::check_nfs_export(export).with_context(|| {
                format!(
                    "image {}: its manifest; remove the image with `pxe-kit remove-image {}`",
                    m.name, m.name
                )
            })?;
            files.push(plan::exports_file(
                &want.cfg, profile, &templates, &m.name, export,
            )?);
        }
    }
    Ok(files)
}

/// Reads the boot loader files out of the distribution's packages.
fn read_loader(
    ctx: &Ctx,
    profile: &Profile,
    pending: bool,
) -> Result<BTreeMap<&'static str, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (name, src) in profile.loader_files() {
        match ctx.root.read_opt(src)? {
            Some(b) => {
                out.insert(*name, b);
            }
            None if pending => {
                ctx.out.say(format!(
                    "  would copy {} after installing packages",
                    src.display()
                ));
                out.insert(*name, Vec::new());
            }
            None => bail!(
                "boot loader file {} is missing; install {} (or stage it under --root)",
                ctx.root.path(src).display(),
                profile.loader_package(name)
            ),
        }
    }
    Ok(out)
}

/// Writes every file whose content differs (with one flush for all); returns the ones that
/// changed.
pub fn write_files<'a>(ctx: &Ctx, files: &'a [FileSpec]) -> Result<Vec<&'a FileSpec>> {
    let batch: Vec<(&Path, &[u8], u32)> = files
        .iter()
        .map(|f| (f.path.as_path(), f.content.as_slice(), f.mode))
        .collect();
    let mut changed = Vec::new();
    for (f, c) in files.iter().zip(ctx.root.write_many(&batch)?) {
        match c {
            Change::Unchanged => ctx.out.detail(format!("  unchanged {}", f.path.display())),
            c => {
                let verb = match c {
                    Change::Created => ctx.root.verb("created", "would create"),
                    _ => ctx.root.verb("updated", "would update"),
                };
                ctx.out.say(format!("  {verb} {}", describe(f)));
                changed.push(f);
            }
        }
    }
    Ok(changed)
}

/// Removes what pxe-kit wrote earlier and no longer wants: per-machine files of machines no
/// longer configured, exports files of images no longer there.
fn remove_stale(ctx: &Ctx, profile: &Profile, files: &[FileSpec]) -> Result<Vec<PathBuf>> {
    let mut present = per_client_present(&ctx.root, profile)?;
    let exports = Path::new(crate::distro::EXPORTS_DIR);
    for n in ctx.root.list_dir(exports)? {
        let p = exports.join(&n);
        if plan::is_exports_file(&p) {
            let head = ctx.root.read(&p)?;
            present.push((p, head[..head.len().min(512)].to_vec()));
        }
    }
    // The neighbour-table settings of a subnet that has since shrunk.
    let neigh = Path::new(plan::NEIGH_SYSCTL);
    if let Some(head) = ctx.root.read_opt(neigh)? {
        present.push((neigh.to_path_buf(), head));
    }
    // dnsmasq's proxy file after a switch back to server mode.
    let proxy = Path::new(crate::distro::PROXY_CONF);
    if let Some(head) = ctx.root.read_opt(proxy)? {
        present.push((proxy.to_path_buf(), head));
    }
    let stale = plan::stale_host_files(files, &present);
    for p in &stale {
        ctx.root.remove(p)?;
        let why = if plan::is_exports_file(p) {
            "no such NFS-root image"
        } else if p == proxy {
            "server mode: no proxyDHCP"
        } else if p == neigh {
            "the subnet no longer needs it"
        } else {
            "no such machine configured"
        };
        ctx.out.say(format!("  removed {} ({why})", p.display()));
    }
    Ok(stale)
}

/// The per-machine files on disk (see `plan::per_client_dirs`), with their first bytes.
pub fn per_client_present(root: &Root, profile: &Profile) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut present = Vec::new();
    for (dir, is_per_client) in plan::per_client_dirs(profile) {
        for n in root.list_dir(&dir)? {
            let p = dir.join(&n);
            if is_per_client(&n) && !root.is_dir(&p) {
                let head = root.read(&p)?;
                present.push((p, head[..head.len().min(512)].to_vec()));
            }
        }
    }
    Ok(present)
}

/// A DHCP configuration its daemon rejects is never installed: `dhcpd -t` or `kea-dhcp4 -t`
/// on a scratch copy first, and only when it would replace the file in place.
fn validate_dhcp(ctx: &Ctx, cfg: &Config, profile: &Profile, files: &[FileSpec]) -> Result<()> {
    let d = &profile.dhcp;
    let Some(conf) = files.iter().find(|f| f.path == d.conf) else {
        return Ok(());
    };
    if ctx.root.read_opt(&conf.path)?.as_deref() == Some(conf.content.as_slice()) {
        return Ok(());
    }
    let Some(bin) = find_program(d.comm) else {
        ctx.out.say(format!(
            "  note: {} is not installed on this host; {} was not validated",
            d.comm, d.conf_name
        ));
        return Ok(());
    };
    let (content, fix) = match d.server {
        DhcpServer::Isc => (conf.content.clone(), "the dhcpd.conf.j2 override"),
        // kea-dhcp4 -t refuses an interface this network namespace lacks (a staged root's):
        // then the copy without interface names is tested (see kea::without_interfaces).
        DhcpServer::Kea if crate::netinfo::interface_exists(&cfg.interface) => {
            (conf.content.clone(), KEA_FIX)
        }
        DhcpServer::Kea => (crate::kea::without_interfaces(&conf.content)?, KEA_FIX),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("pxe-kit-dhcp.")
        .suffix(".conf")
        .tempfile()
        .context("creating a scratch file for the DHCP config test")?;
    std::io::Write::write_all(&mut tmp, &content).context("writing the scratch DHCP config")?;
    let path = tmp.path().display().to_string();
    let argv: Vec<&str> = match d.server {
        DhcpServer::Isc => vec![bin.as_str(), "-t", "-4", "-cf", &path],
        DhcpServer::Kea => vec![bin.as_str(), "-t", &path],
    };
    let test = format!("{} -t", d.comm);
    let cmd = Cmd::new(Kind::Check, format!("validating {}", d.conf_name), &argv);
    let out = ctx.runner.query(&cmd)?.expect("checks always run");
    if !out.success {
        // The daemon names the scratch file; say the file the user knows.
        let detail: Vec<String> = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .filter(|l| l.contains(&path) && (l.contains(" line ") || l.contains("rror")))
            .take(3)
            .map(|l| l.replace(&path, d.conf_name))
            .collect();
        bail!(
            "rendered {} fails `{test}` ({}); not installed: fix the settings or {fix}",
            d.conf_name,
            if detail.is_empty() {
                crate::runner::failure(&cmd, &out)
            } else {
                detail.join(" | ")
            }
        );
    }
    Ok(())
}

/// dnsmasq's proxy file is never installed when dnsmasq rejects it: `dnsmasq --test` on a
/// scratch copy first, as `validate_dhcp` does for the DHCP servers.
fn validate_dnsmasq(ctx: &Ctx, profile: &Profile, files: &[FileSpec]) -> Result<()> {
    let Some(p) = &profile.proxy else {
        return Ok(());
    };
    let Some(conf) = files.iter().find(|f| f.path == p.conf) else {
        return Ok(());
    };
    if ctx.root.read_opt(&conf.path)?.as_deref() == Some(conf.content.as_slice()) {
        return Ok(());
    }
    let Some(bin) = find_program(p.comm) else {
        ctx.out.say(format!(
            "  note: dnsmasq is not installed on this host; {} was not validated",
            p.conf.display()
        ));
        return Ok(());
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("pxe-kit-dnsmasq.")
        .suffix(".conf")
        .tempfile()
        .context("creating a scratch file for the dnsmasq config test")?;
    std::io::Write::write_all(&mut tmp, &conf.content)
        .context("writing the scratch dnsmasq config")?;
    let path = tmp.path().display().to_string();
    // --conf-file: this file alone, never the host's /etc/dnsmasq.conf.
    let arg = format!("--conf-file={path}");
    let argv = [bin.as_str(), "--test", arg.as_str()];
    let cmd = Cmd::new(
        Kind::Check,
        "validating the dnsmasq proxy configuration",
        &argv,
    );
    let out = ctx.runner.query(&cmd)?.expect("checks always run");
    if !out.success {
        let name = p.conf.display().to_string();
        let detail: Vec<String> = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .map(|l| l.replace(&path, &name))
            .collect();
        bail!(
            "rendered {name} fails `dnsmasq --test` ({}); not installed: fix the settings or {}/dnsmasq-proxy.conf.j2",
            if detail.is_empty() {
                crate::runner::failure(&cmd, &out)
            } else {
                detail.join(" | ")
            },
            crate::distro::TEMPLATE_DIR
        );
    }
    Ok(())
}

/// Where a Kea configuration that fails its test can be fixed.
const KEA_FIX: &str = "/etc/pxe-kit/templates/kea-dhcp4.merge.json";

/// Apache's own config test after the drop-in changed; a failing drop-in is rolled back.
fn check_httpd(ctx: &Ctx, profile: &Profile, old: Option<Vec<u8>>) -> Result<()> {
    // A verification of the live system: the runner runs it only where the drop-in was
    // really written there.
    let cmd = Cmd::new(
        Kind::Verify,
        "testing the httpd configuration",
        &profile.httpd_test,
    );
    let Ok(Some(out)) = ctx.runner.query(&cmd) else {
        return Ok(());
    };
    if out.success {
        return Ok(());
    }
    match old {
        Some(o) => ctx
            .root
            .write(&profile.httpd_dropin, &o, 0o644)
            .map(|_| ())?,
        None => ctx.root.remove(&profile.httpd_dropin).map(|_| ())?,
    };
    bail!(
        "{}; restored the previous {}",
        crate::runner::failure(&cmd, &out),
        profile.httpd_dropin.display()
    );
}

/// What a run of steps did.
pub struct Ran {
    pub outcomes: Vec<Outcome>,
    /// The failures of steps the run went on after (services, firewall), each one line.
    pub failures: Vec<String>,
}

/// Runs steps in order; a step with `after_group` runs only when a step of that group ran
/// (or was planned). A failing service or firewall step does not stop the others: each
/// failure is said at once (with `hint`'s addition) and returned; any other failure stops
/// the run.
pub fn run_steps(ctx: &Ctx, steps: &[Step], hint: &dyn Fn(&Step) -> Option<String>) -> Result<Ran> {
    let mut acted: BTreeSet<Group> = BTreeSet::new();
    let mut ran = Ran {
        outcomes: Vec::new(),
        failures: Vec::new(),
    };
    for s in steps {
        let o = match run_step(ctx, s, &acted) {
            Ok(o) => o,
            Err(e) if s.group.goes_on() => {
                let mut msg = format!("{e:#}");
                if let Some(h) = hint(s) {
                    msg.push_str("; ");
                    msg.push_str(&h);
                }
                ctx.out.say(format!("  failed: {msg}"));
                ran.failures.push(msg);
                Outcome::Failed
            }
            Err(e) => return Err(e),
        };
        if matches!(o, Outcome::Ran | Outcome::Planned) {
            acted.insert(s.group);
        }
        ran.outcomes.push(o);
    }
    Ok(ran)
}

pub fn run_step(ctx: &Ctx, s: &Step, acted: &BTreeSet<Group>) -> Result<Outcome> {
    if let Some(g) = s.after_group {
        if !acted.contains(&g) {
            return Ok(Outcome::NotNeeded);
        }
    }
    if let Some(p) = &s.probe {
        // A probe whose program is missing answers "not in place"; the change then says
        // which program is missing.
        if let Ok(Some(out)) = ctx.runner.query(&p.cmd) {
            if p.satisfied.check(&out) {
                ctx.out.detail(format!("  in place: {}", s.cmd.desc));
                return Ok(Outcome::AlreadyDone);
            }
        }
    }
    if ctx.runner.change(&s.cmd)? {
        ctx.out.say(format!("  ran: {}", s.cmd.shell()));
        Ok(Outcome::Ran)
    } else {
        Ok(Outcome::Planned)
    }
}
