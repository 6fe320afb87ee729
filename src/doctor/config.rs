//! Configuration checks: the settings load, the rendered files match what the settings render
//! now (drift), the chosen DHCP server accepts its file (`dhcpd -t`, `kea-dhcp4 -t`), and
//! apache accepts its configuration.
use std::os::unix::fs::PermissionsExt;

use super::{Check, Env, Finding};
use crate::config::DhcpServer;
use crate::need;
use crate::plan::FileSpec;
use crate::runner::{failure, Cmd, Kind};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "config.valid",
            title: "settings file loads and validates",
            run: valid,
        },
        Check {
            id: "config.drift",
            title: "rendered files match the settings",
            run: drift,
        },
        Check {
            id: "config.dhcpd",
            title: "dhcpd accepts dhcpd.conf (dhcpd -t)",
            run: dhcpd,
        },
        Check {
            id: "config.kea",
            title: "Kea accepts kea-dhcp4.conf (kea-dhcp4 -t)",
            run: kea,
        },
        Check {
            id: "config.httpd",
            title: "httpd accepts its configuration",
            run: httpd,
        },
    ]
}

fn valid(env: &Env) -> Finding {
    let path = env.ctx.config_display();
    match &env.cfg {
        Ok(_) if env.profile.check_dhcp_available().is_err() => Finding::fail(
            format!(
                "{}: {:#}",
                path.display(),
                env.profile.check_dhcp_available().unwrap_err()
            ),
            vec![format!("{} init --dhcp-server kea", env.pxe_kit())],
        ),
        Ok(c) => Finding::ok(format!(
            "{}: interface {}, server {}, subnet {}, pool {}",
            path.display(),
            c.interface,
            c.server_ip,
            c.subnet,
            c.range
        )),
        Err(e) if e.starts_with("no settings") => Finding::fail(
            e.clone(),
            vec![format!(
                "{} init --interface IF --server-ip IP --subnet CIDR",
                env.pxe_kit()
            )],
        ),
        Err(e) => Finding::fail(
            format!("the settings do not load: {e}"),
            vec![format!(
                "edit {} (the error names the key and the value), then run `{} init`",
                path.display(),
                env.pxe_kit()
            )],
        ),
    }
}

/// How a file on disk differs from its rendering: `None` when equal.
pub fn file_drift(f: &FileSpec, on_disk: Option<(&[u8], u32)>) -> Option<String> {
    match on_disk {
        None => Some(format!("{}: missing", f.path.display())),
        Some((c, _)) if c != f.content.as_slice() => {
            Some(format!("{}: content differs", f.path.display()))
        }
        Some((_, mode)) if mode != f.mode => Some(format!(
            "{}: mode {:04o}, expected {:04o}",
            f.path.display(),
            mode,
            f.mode
        )),
        _ => None,
    }
}

/// A unified diff from the file on disk to its rendering (text files only).
pub fn unified(path: &str, old: &[u8], new: &[u8]) -> String {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(o), Ok(n)) => similar::TextDiff::from_lines(o, n)
            .unified_diff()
            .context_radius(2)
            .header(&format!("{path} (on disk)"), &format!("{path} (rendered)"))
            .to_string(),
        _ => format!(
            "binary file {path}: {} bytes on disk, {} rendered\n",
            old.len(),
            new.len()
        ),
    }
}

fn drift(env: &Env) -> Finding {
    let cfg = need!(env.cfg());
    let want = crate::apply::Desired {
        cfg: cfg.clone(),
        images: need!(env.images()).clone(),
    };
    let files = match crate::apply::desired_files(env.ctx, &want, &env.profile) {
        Ok(f) => f,
        Err(e) => {
            return Finding::fail(
                format!("the files cannot be rendered: {e:#}"),
                vec![format!("{} init", env.pxe_kit())],
            )
        }
    };
    let mut bad = Vec::new();
    let mut diff = String::new();
    for f in &files {
        let p = env.ctx.root.path(&f.path);
        let content = match env.ctx.root.read_opt(&f.path) {
            Ok(c) => c,
            Err(e) => {
                bad.push(format!("{}: {e:#}", f.path.display()));
                continue;
            }
        };
        let mode = std::fs::metadata(&p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0);
        if let Some(why) = file_drift(f, content.as_deref().map(|c| (c, mode))) {
            bad.push(why);
            if content.as_deref() != Some(f.content.as_slice()) {
                diff += &unified(
                    &f.path.display().to_string(),
                    content.as_deref().unwrap_or(b""),
                    &f.content,
                );
            }
        }
    }
    if bad.is_empty() {
        return Finding::ok(format!("all {} rendered files match", files.len()));
    }
    let mut f = Finding::fail(
        format!(
            "{} of {} rendered files differ from the settings: {}",
            bad.len(),
            files.len(),
            bad.iter()
                .map(|b| b.split(':').next().unwrap_or(b))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        vec![
            format!("{} doctor --fix   (re-renders them as init does)", env.pxe_kit()),
            format!(
                "or put lasting changes in {} (or a template override in /etc/pxe-kit/templates/) and run `{} init`",
                env.ctx.config_display().display(),
                env.pxe_kit()
            ),
        ],
    )
    .with_evidence(bad);
    if !diff.is_empty() {
        f.diff = Some(diff);
    }
    f
}

/// The skip of a check that belongs to the DHCP server the settings do not choose.
pub fn not_chosen(env: &Env, server: DhcpServer, instead: &str) -> Option<Finding> {
    if env.profile.proxy.is_some() {
        return Some(Finding::skip(format!(
            "dhcp.mode is proxy: the network's DHCP server gives the addresses and {} stays stopped; see services.dnsmasq",
            server.name()
        )));
    }
    (env.profile.dhcp.server != server).then(|| {
        Finding::skip(format!(
            "the DHCP server is {} (dhcp.server), not {}: see {instead}",
            env.profile.dhcp.server.name(),
            server.name()
        ))
    })
}

/// dhcpd's own parser on the installed file.
fn dhcpd(env: &Env) -> Finding {
    if let Some(f) = not_chosen(env, DhcpServer::Isc, "config.kea") {
        return f;
    }
    let p = &env.profile.dhcp.conf;
    let host = env.ctx.root.path(p);
    if !host.is_file() {
        return Finding::fail(
            format!("{} is missing", p.display()),
            vec![format!("{} init", env.pxe_kit())],
        );
    }
    let Some(bin) = crate::runner::find_program("dhcpd") else {
        return Finding::skip("dhcpd is not installed on this host: cannot run `dhcpd -t`");
    };
    let hs = host.display().to_string();
    let cmd = Cmd::new(
        Kind::Check,
        "testing dhcpd.conf",
        &[bin.as_str(), "-t", "-4", "-cf", &hs],
    );
    match env.ctx.runner.query(&cmd) {
        Ok(Some(o)) if o.success => Finding::ok(format!("`dhcpd -t -cf {}` passes", p.display())),
        Ok(Some(o)) => {
            let lines: Vec<String> = o
                .stderr
                .lines()
                .chain(o.stdout.lines())
                .filter(|l| {
                    l.contains(" line ")
                        || l.contains("expecting")
                        || l.trim_start().starts_with('^')
                })
                .take(4)
                .map(|l| l.replace(&hs, &p.display().to_string()))
                .collect();
            let ev = if lines.is_empty() {
                vec![failure(&cmd, &o)]
            } else {
                lines
            };
            Finding::fail(
                format!("dhcpd rejects {}: {}", p.display(), ev[0]),
                vec![
                    format!(
                        "{} doctor --fix   (puts back the rendered file; see config.drift)",
                        env.pxe_kit()
                    ),
                    format!("check again: dhcpd -t -4 -cf {}", hs),
                ],
            )
            .with_evidence(ev)
        }
        Ok(None) => Finding::skip("dhcpd -t did not run"),
        Err(e) => Finding::skip(format!("dhcpd -t could not run: {e:#}")),
    }
}

/// Kea's own parser on the installed file. `kea-dhcp4 -t` refuses a file naming an
/// interface this network namespace does not have: then (a staged root served elsewhere) the
/// copy without interface names is tested, and the summary says so.
fn kea(env: &Env) -> Finding {
    if let Some(f) = not_chosen(env, DhcpServer::Kea, "config.dhcpd") {
        return f;
    }
    let p = &env.profile.dhcp.conf;
    let shown = p.display().to_string();
    let content = match env.ctx.root.read_opt(p) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Finding::fail(
                format!("{shown} is missing"),
                vec![format!("{} init", env.pxe_kit())],
            )
        }
        Err(e) => return Finding::fail(format!("{e:#}"), vec![format!("{} init", env.pxe_kit())]),
    };
    let Some(bin) = crate::runner::find_program("kea-dhcp4") else {
        return Finding::skip("kea-dhcp4 is not installed on this host: cannot run `kea-dhcp4 -t`");
    };
    let iface = env.cfg.as_ref().ok().map(|c| c.interface.clone());
    let here = iface
        .as_deref()
        .is_some_and(crate::netinfo::interface_exists);
    let (tested, note) = if here {
        (content, String::new())
    } else {
        match crate::kea::without_interfaces(&content) {
            Ok(c) => (
                c,
                format!(
                    " (interface names taken out: {} is not in this network namespace)",
                    iface.as_deref().unwrap_or("the interface")
                ),
            ),
            Err(e) => {
                return Finding::fail(
                    format!("{shown} does not parse: {e:#}"),
                    vec![format!(
                        "{} doctor --fix   (puts back the rendered file)",
                        env.pxe_kit()
                    )],
                )
            }
        }
    };
    let tmp = match tempfile::Builder::new()
        .prefix("pxe-kit-doctor-kea.")
        .suffix(".conf")
        .tempfile()
        .and_then(|mut t| std::io::Write::write_all(&mut t, &tested).map(|_| t))
    {
        Ok(t) => t,
        Err(e) => return Finding::skip(format!("no scratch file for kea-dhcp4 -t: {e}")),
    };
    let ts = tmp.path().display().to_string();
    let cmd = Cmd::new(
        Kind::Check,
        "testing kea-dhcp4.conf",
        &[bin.as_str(), "-t", &ts],
    );
    match env.ctx.runner.query(&cmd) {
        Ok(Some(o)) if o.success => Finding::ok(format!("`kea-dhcp4 -t {shown}` passes{note}")),
        Ok(Some(o)) => {
            let ev = kea_errors(&o.stdout, &o.stderr, &ts, &shown);
            let ev = if ev.is_empty() {
                vec![failure(&cmd, &o)]
            } else {
                ev
            };
            Finding::fail(
                format!("Kea rejects {shown}: {}", ev[0]),
                vec![
                    format!(
                        "{} doctor --fix   (puts back the rendered file; see config.drift)",
                        env.pxe_kit()
                    ),
                    format!("check again: kea-dhcp4 -t {shown}"),
                ],
            )
            .with_evidence(ev)
        }
        Ok(None) => Finding::skip("kea-dhcp4 -t did not run"),
        Err(e) => Finding::skip(format!("kea-dhcp4 -t could not run: {e:#}")),
    }
}

/// Kea's complaints about a configuration, naming the file the user knows rather than the
/// scratch copy: its "Error encountered" / parser failure lines.
pub fn kea_errors(stdout: &str, stderr: &str, scratch: &str, shown: &str) -> Vec<String> {
    stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| {
            l.contains("Error encountered")
                || l.contains("Syntax check failed")
                || l.contains("DHCP4_PARSER_FAIL")
        })
        .map(|l| {
            let l = l.replace(scratch, shown);
            // Drop Kea's own timestamp and logger prefix: the message is what matters.
            match l.split_once("DHCP4_PARSER_FAIL ") {
                Some((_, m)) => m.to_string(),
                None => l.trim().to_string(),
            }
        })
        .take(3)
        .collect()
}

fn httpd(env: &Env) -> Finding {
    if !env.ctx.root.is_live() {
        return Finding::skip(
            "staged root: the host's apache configuration is not the target (`pxe-kit serve` builds and tests its own)",
        );
    }
    let cmd = Cmd::new(
        Kind::Check,
        "testing the httpd configuration",
        &env.profile.httpd_test,
    );
    match env.ctx.runner.query(&cmd) {
        Ok(Some(o)) if o.success => Finding::ok(format!("`{}` passes", cmd.shell())),
        Ok(Some(o)) => Finding::fail(
            format!("`{}` fails", cmd.shell()),
            vec![
                format!(
                    "fix the file apache names, or `{} doctor --fix` if it is {}",
                    env.pxe_kit(),
                    env.profile.httpd_dropin.display()
                ),
                format!("check again: {}", cmd.shell()),
            ],
        )
        .with_evidence(vec![failure(&cmd, &o)]),
        Ok(None) => Finding::skip("the httpd config test did not run"),
        Err(e) => Finding::skip(format!("{e:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Origin;

    fn spec(content: &str) -> FileSpec {
        FileSpec {
            path: "/etc/dhcp/dhcpd.conf".into(),
            content: content.as_bytes().to_vec(),
            mode: 0o644,
            origin: Origin::Template("dhcpd.conf.j2"),
            service: None,
            unit_dropin: false,
        }
    }

    #[test]
    fn drift_names_missing_content_and_mode() {
        let f = spec("a\n");
        assert_eq!(file_drift(&f, Some((b"a\n", 0o644))), None);
        assert_eq!(
            file_drift(&f, None).unwrap(),
            "/etc/dhcp/dhcpd.conf: missing"
        );
        assert!(file_drift(&f, Some((b"b\n", 0o644)))
            .unwrap()
            .ends_with("content differs"));
        assert!(file_drift(&f, Some((b"a\n", 0o600)))
            .unwrap()
            .contains("mode 0600, expected 0644"));
    }

    #[test]
    fn kea_complaints_name_the_installed_file() {
        let out = "2026-11-25 22:41:52.975 ERROR [kea-dhcp4.dhcp4/20477.1] DHCP4_PARSER_FAIL failed to create or run parser for configuration element subnet4: bad (/tmp/s.conf:5:23)\n";
        let err = "Error encountered: bad (/tmp/s.conf:5:23)\n";
        let e = kea_errors(out, err, "/tmp/s.conf", "/etc/kea/kea-dhcp4.conf");
        assert_eq!(
            e[0],
            "Error encountered: bad (/etc/kea/kea-dhcp4.conf:5:23)"
        );
        assert!(e[1].starts_with("failed to create or run parser"), "{e:?}");
        assert!(kea_errors("INFO fine\n", "", "/tmp/s", "x").is_empty());
    }

    #[test]
    fn unified_diff_shows_the_hand_edit() {
        let d = unified("/etc/x", b"a\nb\nc\n", b"a\nB\nc\n");
        assert!(d.contains("-b\n") && d.contains("+B\n"), "{d}");
        assert!(d.contains("/etc/x (on disk)"), "{d}");
    }
}
