//! Configuration checks: the settings load, the rendered files match what the settings render
//! now (drift), dhcpd accepts dhcpd.conf, and apache accepts its configuration.
use std::os::unix::fs::PermissionsExt;

use super::{Check, Env, Finding};
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
            id: "config.httpd",
            title: "httpd accepts its configuration",
            run: httpd,
        },
    ]
}

fn valid(env: &Env) -> Finding {
    let path = env.ctx.config_display();
    match &env.cfg {
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

/// dhcpd's own parser on the installed file.
fn dhcpd(env: &Env) -> Finding {
    let p = &env.profile.dhcpd_conf;
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
    fn unified_diff_shows_the_hand_edit() {
        let d = unified("/etc/x", b"a\nb\nc\n", b"a\nB\nc\n");
        assert!(d.contains("-b\n") && d.contains("+B\n"), "{d}");
        assert!(d.contains("/etc/x (on disk)"), "{d}");
    }
}
