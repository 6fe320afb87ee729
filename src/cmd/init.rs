//! `pxe-kit init`: settings from flags (or the saved YAML), then packages, rendered configs,
//! boot loader files, SELinux labels, firewall and services — idempotently.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};
use ipnet::Ipv4Net;

use crate::apply::{self, Outcome};
use crate::cli::InitArgs;
use crate::config::{parse_ip, parse_subnet, Config, Pool, Serial};
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::image;
use crate::netinfo;
use crate::plan::{self, FileSpec, Origin};
use crate::render::Templates;
use crate::runner::{find_program, Cmd, Kind};
use crate::Exit;

pub fn run(args: &InitArgs, ctx: &Ctx) -> Result<Exit> {
    ctx.require_privileges("init")?;
    let existing = ctx.load_config()?;
    let cfg = settings(args, existing.as_ref(), ctx)?;
    apply_config(ctx, cfg, "init")
}

/// Converges the server on `cfg`: init's work, also used by add-host and remove-host after
/// they edit the settings. Nothing is written unless all of it renders and validates.
pub fn apply_config(ctx: &Ctx, cfg: Config, verb: &str) -> Result<Exit> {
    let profile = ctx.profile(Some(&cfg));
    let templates = Templates::load(&ctx.root)?;
    let images = image::load_all(&ctx.root)?;
    if cfg.boot.default != "local" && !images.iter().any(|m| m.name == cfg.boot.default) {
        bail!(
            "boot.default {:?} names no image; use `local` or one of: {}",
            cfg.boot.default,
            names(&images)
        );
    }
    let staged = if ctx.root.is_live() {
        String::new()
    } else {
        " (staged: live-system commands are listed, not run)".into()
    };
    ctx.out.say(format!(
        "pxe-kit {verb}: {:?} profile, root {}{staged}",
        profile.distro,
        ctx.root.base().display()
    ));

    // Packages come first: the boot loader files are copied out of them.
    let pkg = apply::run_step(ctx, &plan::package_step(&profile), &Default::default())?;
    let files = render_files(
        ctx,
        &cfg,
        &profile,
        &templates,
        &images,
        pkg == Outcome::Planned,
    )?;
    validate_dhcpd(ctx, &profile, &files)?;

    let cfg_change = ctx.save_config(&cfg)?;
    if cfg_change.changed() {
        let verb = if ctx.root.dry_run() {
            "would save"
        } else {
            "saved"
        };
        ctx.out.say(format!(
            "  {verb} settings to {}",
            ctx.config_display().display()
        ));
    }
    let httpd_old = ctx.root.read_opt(&profile.httpd_dropin)?;
    let changed = apply::write_files(ctx, &files)?;
    let stale = remove_stale_host_files(ctx, &profile, &files)?;
    if changed.iter().any(|f| f.path == profile.httpd_dropin) {
        check_httpd(ctx, &profile, httpd_old)?;
    }

    let mut steps = plan::system_steps(&cfg, &profile, &changed, ctx.systemd());
    if let Some((_, enabled)) = &profile.httpd_enable {
        if ctx.root.exists(enabled) {
            steps.retain(|s| s.group != "httpd");
        }
    }
    if images.iter().any(|m| m.nfs_export.is_some()) {
        steps.extend(plan::nfs_steps(
            &cfg,
            &profile,
            plan::exports_changed(&changed),
            ctx.systemd(),
        ));
    }
    let outcomes = apply::run_steps(ctx, &steps)?;
    let ran = pkg == Outcome::Ran || outcomes.contains(&Outcome::Ran);
    if ctx.root.is_live() && !ctx.systemd() {
        ctx.out.say(
            "  PID 1 is not systemd here: services were not enabled or restarted; \
             run the daemons in the foreground with `pxe-kit serve`",
        );
    }
    let planned = !ctx.runner.planned().is_empty();
    if ctx.root.dry_run() {
        apply::print_plan(ctx, "commands (dry run, not run)");
    } else if planned
        && (!changed.is_empty() || !stale.is_empty() || cfg_change.changed() || ctx.out.verbose)
    {
        apply::print_plan(ctx, "live-system steps (not run under --root)");
    }
    if changed.is_empty() && stale.is_empty() && !cfg_change.changed() && !ran {
        ctx.out.say("nothing to change");
    }
    Ok(Exit::Ok)
}

/// Every file init owns, rendered from `cfg` exactly as init writes it: `doctor` compares the
/// tree against it (drift) and `doctor --fix` writes it.
pub fn desired_files(ctx: &Ctx, cfg: &Config, profile: &Profile) -> Result<Vec<FileSpec>> {
    let templates = Templates::load(&ctx.root)?;
    let images = image::load_all(&ctx.root)?;
    render_files(ctx, cfg, profile, &templates, &images, false)
}

fn render_files(
    ctx: &Ctx,
    cfg: &Config,
    profile: &Profile,
    templates: &Templates,
    images: &[image::Manifest],
    pkg_planned: bool,
) -> Result<Vec<FileSpec>> {
    let loader = read_loader(ctx, profile, pkg_planned)?;
    let entries = image::boot_entries(cfg, profile, images);
    let mut files = plan::files(cfg, profile, templates, entries, &loader)?;
    // Loader files skipped under a live dry-run (not yet installed) are not shown as writes.
    files.retain(|f| !matches!(&f.origin, Origin::Copy(_)) || !f.content.is_empty());
    // NFS-root images' exports files are re-rendered from their manifests like the menu, so
    // a changed subnet reaches them and `doctor --fix` can put a deleted one back.
    for m in images {
        if let Some(export) = &m.nfs_export {
            files.push(plan::exports_file(
                cfg, profile, templates, &m.name, export,
            )?);
        }
    }
    Ok(files)
}

/// Removes per-machine pxelinux files of machines that are no longer configured (also
/// `doctor --fix`).
pub fn remove_stale_host_files(
    ctx: &Ctx,
    profile: &Profile,
    files: &[FileSpec],
) -> Result<Vec<std::path::PathBuf>> {
    let present = per_client_present(&ctx.root, profile)?;
    let stale = plan::stale_host_files(files, &present);
    for p in &stale {
        ctx.root.remove(p)?;
        ctx.out.say(format!(
            "  removed {} (no such machine configured)",
            p.display()
        ));
    }
    Ok(stale)
}

/// The per-machine files on disk (see `plan::per_client_dirs`), with their first bytes.
pub fn per_client_present(
    root: &crate::root::Root,
    profile: &Profile,
) -> Result<Vec<(std::path::PathBuf, Vec<u8>)>> {
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

fn names(images: &[image::Manifest]) -> String {
    if images.is_empty() {
        return "(no images yet)".into();
    }
    images
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Merges flags over the saved settings, filling gaps from the interface, and validates.
fn settings(a: &InitArgs, old: Option<&Config>, ctx: &Ctx) -> Result<Config> {
    let interface = match (&a.interface, old) {
        (Some(i), _) => i.clone(),
        (None, Some(o)) => o.interface.clone(),
        (None, None) => bail!(
            "no settings at {} yet; pass --interface IF (the provisioning interface)",
            ctx.config_display().display()
        ),
    };
    let live = ctx.root.is_live();
    if live && !netinfo::interface_exists(&interface) {
        let have = netinfo::interfaces().unwrap_or_default().join(", ");
        bail!("interface {interface:?} does not exist on this host; pick one of: {have}");
    }
    // The interface's own address, used for flags left out.
    let if_net: Option<Ipv4Net> = if live {
        let addrs = netinfo::ipv4_addrs(&interface)?;
        match a.server_ip.as_deref() {
            Some(ip) => {
                let ip = parse_ip("server address", ip)?;
                addrs
                    .iter()
                    .find(|n| n.addr() == ip)
                    .copied()
                    .or(addrs.first().copied())
            }
            None => addrs.first().copied(),
        }
    } else {
        None
    };
    let server_ip: Ipv4Addr = match (&a.server_ip, old, if_net) {
        (Some(s), _, _) => parse_ip("server address", s)?,
        (None, Some(o), _) => o.server_ip,
        (None, None, Some(n)) => n.addr(),
        (None, None, None) => bail!(
            "--server-ip is required: interface {interface} has no IPv4 address{}",
            if live { "" } else { " known under --root" }
        ),
    };
    let subnet = match (&a.subnet, old, if_net) {
        (Some(s), _, _) => parse_subnet(s)?,
        (None, Some(o), _) => o.subnet,
        (None, None, Some(n)) => n.trunc(),
        (None, None, None) => bail!(
            "--subnet is required (e.g. 10.0.0.0/24): it cannot be read from interface {interface}"
        ),
    };
    let range = match (&a.range, old) {
        (Some(r), _) => r.parse::<Pool>()?,
        (None, Some(o)) => o.range,
        (None, None) => default_pool(subnet, server_ip)?,
    };
    let base = old
        .cloned()
        .unwrap_or_else(|| Config::new(interface.clone(), server_ip, subnet, range));
    let mut cfg = Config {
        interface,
        server_ip,
        subnet,
        range,
        ..base
    };
    if let Some(r) = &a.router {
        cfg.router = Some(parse_ip("router", r)?);
    }
    if let Some(d) = &a.dns {
        cfg.dns = d
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_ip("DNS server", s.trim()))
            .collect::<Result<_>>()?;
    }
    if let Some(d) = &a.domain_search {
        cfg.domain_search = d
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if a.time_offset.is_some() {
        cfg.time_offset = a.time_offset;
    }
    if let Some(l) = a.tftp_launcher {
        cfg.tftp_launcher = Some(l.into());
    }
    if let Some(s) = &a.serial {
        cfg.boot.serial = Some(s.parse::<Serial>()?);
    }
    cfg.validate()?;
    Ok(cfg)
}

/// The upper half of the subnet, which leaves the lower half for static addresses.
fn default_pool(net: Ipv4Net, server: Ipv4Addr) -> Result<Pool> {
    let first = u32::from(net.network());
    let last = u32::from(net.broadcast());
    let size = last - first + 1;
    let pool = Pool {
        start: Ipv4Addr::from(first + size / 2),
        end: Ipv4Addr::from(last - 1),
    };
    if pool.contains(server) || pool.start > pool.end {
        bail!("--range is required: the default pool {pool} (upper half of {net}) would contain the server address {server}");
    }
    Ok(pool)
}

/// Reads the boot loader files out of the distribution's syslinux packages.
fn read_loader(
    ctx: &Ctx,
    profile: &Profile,
    pkg_planned: bool,
) -> Result<BTreeMap<&'static str, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for (name, src) in profile.loader_files() {
        match ctx.root.read_opt(src)? {
            Some(b) => {
                out.insert(*name, b);
            }
            // Previewing a fresh live system: the packages that bring them are not there yet.
            None if ctx.root.is_live() && ctx.root.dry_run() && pkg_planned => {
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

/// A dhcpd.conf that ISC dhcpd rejects is never installed: test it in a scratch file first.
fn validate_dhcpd(ctx: &Ctx, profile: &Profile, files: &[FileSpec]) -> Result<()> {
    let Some(conf) = files.iter().find(|f| f.path == profile.dhcpd_conf) else {
        return Ok(());
    };
    let Some(dhcpd) = find_program("dhcpd") else {
        ctx.out
            .say("  note: dhcpd is not installed on this host; dhcpd.conf was not validated");
        return Ok(());
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("pxe-kit-dhcpd.")
        .suffix(".conf")
        .tempfile()
        .context("creating a scratch file for dhcpd -t")?;
    std::io::Write::write_all(&mut tmp, &conf.content).context("writing the scratch dhcpd.conf")?;
    let path = tmp.path().display().to_string();
    let cmd = Cmd::new(
        Kind::Check,
        "validating dhcpd.conf",
        &[dhcpd.as_str(), "-t", "-4", "-cf", &path],
    );
    let out = ctx.runner.query(&cmd)?.expect("checks always run");
    if !out.success {
        // dhcpd names the scratch file; say dhcpd.conf, which is what the user knows.
        let detail: Vec<String> = out
            .stderr
            .lines()
            .chain(out.stdout.lines())
            .filter(|l| l.contains(&path) && l.contains(" line "))
            .take(3)
            .map(|l| l.replace(&path, "dhcpd.conf"))
            .collect();
        bail!(
            "rendered dhcpd.conf fails `dhcpd -t` ({}); not installed: fix the settings or the dhcpd.conf.j2 override",
            if detail.is_empty() { crate::runner::failure(&cmd, &out) } else { detail.join(" | ") }
        );
    }
    Ok(())
}

/// Apache's own config test after the drop-in changed; a failing drop-in is rolled back.
fn check_httpd(ctx: &Ctx, profile: &Profile, old: Option<Vec<u8>>) -> Result<()> {
    if !ctx.root.is_live() || ctx.root.dry_run() {
        return Ok(());
    }
    let cmd = Cmd::new(
        Kind::Check,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pool_is_upper_half_without_broadcast() {
        let p = default_pool("10.0.0.0/24".parse().unwrap(), "10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(p.to_string(), "10.0.0.128-10.0.0.254");
        assert!(default_pool(
            "10.0.0.0/24".parse().unwrap(),
            "10.0.0.200".parse().unwrap()
        )
        .is_err());
    }
}
