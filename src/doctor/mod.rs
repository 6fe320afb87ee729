//! `pxe-kit doctor`'s check registry: every check has an id, a title and a function that
//! looks at the server and returns a `Finding` (ok, warn, fail, or skip with the reason), its
//! evidence and, for every warn or fail, the exact command or edit that repairs it.
//!
//! Checks read files through `Root`. Questions about the running system (interfaces,
//! processes, sockets, firewall, SELinux) are asked of *this* network namespace: always when
//! acting on `/`, and under `--root` when the staged root's interface with the server address
//! is here, i.e. when the root is being served here (`pxe-kit serve`, a lab, a container).
//! Otherwise those checks are skipped with that reason.
pub mod config;
pub mod firewall;
pub mod hosts;
pub mod images;
pub mod menu;
pub mod network;
pub mod nfs;
pub mod pair;
pub mod protocols;
pub mod selinux;
pub mod services;

use std::cell::OnceCell;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::image::Manifest;

/// Version of the `--json` document; bumped on any incompatible change (docs/doctor-json.md).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skip,
    Warn,
    Fail,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "-",
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub status: Status,
    /// One line: what is right or wrong (for a skip, why it was skipped).
    pub summary: String,
    /// What was looked at: values read, commands' answers, offending files.
    pub evidence: Vec<String>,
    /// For warn/fail: commands or edits that repair it, in order.
    pub fix: Vec<String>,
    /// A unified diff (drift), shown under -v and always in JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Structured findings for `--json` (network.other-dhcp: who answered, what it offered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<serde_json::Value>>,
}

impl Finding {
    fn new(status: Status, summary: impl Into<String>) -> Finding {
        Finding {
            status,
            summary: summary.into(),
            evidence: Vec::new(),
            fix: Vec::new(),
            diff: None,
            data: None,
        }
    }
    pub fn ok(summary: impl Into<String>) -> Finding {
        Finding::new(Status::Ok, summary)
    }
    pub fn skip(reason: impl Into<String>) -> Finding {
        Finding::new(Status::Skip, reason)
    }
    pub fn warn(summary: impl Into<String>, fix: Vec<String>) -> Finding {
        Finding {
            fix,
            ..Finding::new(Status::Warn, summary)
        }
    }
    pub fn fail(summary: impl Into<String>, fix: Vec<String>) -> Finding {
        Finding {
            fix,
            ..Finding::new(Status::Fail, summary)
        }
    }
    pub fn with_evidence(mut self, ev: Vec<String>) -> Finding {
        self.evidence = ev;
        self
    }
}

/// One registered check.
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub run: fn(&Env) -> Finding,
}

/// Every check in the order they run and are reported.
pub fn registry() -> Vec<Check> {
    let mut v = Vec::new();
    v.extend(config::checks());
    v.extend(network::checks());
    v.extend(services::checks());
    v.extend(protocols::checks());
    v.extend(menu::checks());
    v.extend(images::checks());
    v.extend(selinux::checks());
    v.extend(firewall::checks());
    v.extend(hosts::checks());
    v.extend(nfs::checks());
    v.extend(pair::checks());
    // Last: its probe (started with `Env`) listens 3 s for answers while the checks above run.
    v.push(network::other_dhcp_check());
    v
}

/// A check's result with its identity, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: &'static str,
    pub title: &'static str,
    #[serde(flatten)]
    pub finding: Finding,
    pub duration_ms: u64,
}

/// Whether (and why not) the running system is checked.
#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    pub checked: bool,
    pub reason: String,
}

/// What every check may use: the context, the settings and facts gathered once.
pub struct Env<'a> {
    pub ctx: &'a Ctx,
    pub cfg: Result<Config, String>,
    pub profile: Profile,
    pub deep: bool,
    pub verbose: bool,
    pub runtime: Runtime,
    /// A context whose runner asks the running system; `None` when it is not checked.
    live: Option<Ctx>,
    /// PID 1 is systemd and the root is `/`: services are units.
    pub systemd: bool,
    images: OnceCell<Result<Vec<Manifest>, String>>,
    procs: OnceCell<Vec<services::Proc>>,
    menus: OnceCell<Result<Vec<menu::MenuFile>, String>>,
    /// The DHCP probe of network.other-dhcp, started in `new` so its window overlaps the
    /// other checks; joined once.
    dhcp_probe: std::sync::Mutex<Option<std::thread::JoinHandle<DhcpSurvey>>>,
    dhcp_survey: OnceCell<Option<DhcpSurvey>>,
}

/// Who answered a DHCP probe of the provisioning interface (None: the interface is down).
pub type DhcpSurvey = Result<Option<crate::dhcpprobe::Survey>, String>;

impl<'a> Env<'a> {
    pub fn new(ctx: &'a Ctx, deep: bool) -> Env<'a> {
        let cfg = match ctx.load_config() {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(format!("no settings at {}", ctx.config_display().display())),
            Err(e) => Err(format!("{e:#}")),
        };
        let profile = ctx.profile(cfg.as_ref().ok());
        let quiet = crate::root::Out {
            quiet: true,
            verbose: false,
        };
        let (runtime, live) = if ctx.root.is_live() {
            (
                Runtime {
                    checked: true,
                    reason: "acting on / : the running system is checked".into(),
                },
                Some(ctx.derive(true, quiet)),
            )
        } else {
            match &cfg {
                Ok(c) if serves_here(c) => (
                    Runtime {
                        checked: true,
                        reason: format!(
                            "staged root, but {} carries {} here: checking the daemons that serve it in this network namespace",
                            c.interface, c.server_ip
                        ),
                    },
                    Some(ctx.derive(true, quiet)),
                ),
                Ok(c) => (
                    Runtime {
                        checked: false,
                        reason: format!(
                            "staged root whose interface {} with {} is not in this network namespace; run doctor where the root is served (`pxe-kit --root DIR serve`)",
                            c.interface, c.server_ip
                        ),
                    },
                    None,
                ),
                Err(_) => (
                    Runtime {
                        checked: false,
                        reason: "the settings did not load".into(),
                    },
                    None,
                ),
            }
        };
        let systemd = ctx.root.is_live() && Path::new("/run/systemd/system").is_dir();
        let dhcp_probe = match (&cfg, &live) {
            (Ok(c), Some(_)) if crate::dhcpprobe::interface_here(c, ctx.root.is_live()) => {
                let c = c.clone();
                Some(std::thread::spawn(move || {
                    crate::dhcpprobe::survey(&c).map_err(|e| format!("{e:#}"))
                }))
            }
            _ => None,
        };
        Env {
            ctx,
            cfg,
            profile,
            deep,
            verbose: ctx.out.verbose,
            runtime,
            live,
            systemd,
            images: OnceCell::new(),
            procs: OnceCell::new(),
            menus: OnceCell::new(),
            dhcp_probe: std::sync::Mutex::new(dhcp_probe),
            dhcp_survey: OnceCell::new(),
        }
    }

    /// The DHCP probe's result, waiting for its window to end; None when it was not started
    /// (the interface is not here).
    pub fn dhcp_survey(&self) -> Option<&DhcpSurvey> {
        self.dhcp_survey
            .get_or_init(|| {
                let h = self.dhcp_probe.lock().ok()?.take()?;
                Some(
                    h.join()
                        .unwrap_or_else(|_| Err("the DHCP probe stopped unexpectedly".into())),
                )
            })
            .as_ref()
    }

    /// The settings, or the skip every dependent check reports.
    pub fn cfg(&self) -> Result<&Config, Finding> {
        self.cfg
            .as_ref()
            .map_err(|_| Finding::skip("the settings did not load (see config.valid)"))
    }

    /// The context that asks the running system, or the skip naming why it is not asked.
    pub fn live(&self) -> Result<&Ctx, Finding> {
        self.live
            .as_ref()
            .ok_or_else(|| Finding::skip(self.runtime.reason.clone()))
    }

    pub fn images(&self) -> Result<&Vec<Manifest>, Finding> {
        self.images
            .get_or_init(|| crate::image::load_all(&self.ctx.root).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Finding::fail(format!("image manifests do not load: {e}"), vec![
                "fix or remove the manifest named in the error (pxe-kit remove-image NAME), then re-import the image".into(),
            ]))
    }

    /// Processes of this network namespace (read from /proc once).
    pub fn procs(&self) -> &Vec<services::Proc> {
        self.procs
            .get_or_init(|| services::scan_procs(Path::new("/proc")).unwrap_or_default())
    }

    /// Every file in pxelinux.cfg/, parsed.
    pub fn menus(&self) -> Result<&Vec<menu::MenuFile>, Finding> {
        self.menus
            .get_or_init(|| menu::load(self).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| {
                Finding::fail(
                    format!("the boot menu cannot be read: {e}"),
                    vec!["pxe-kit init".into()],
                )
            })
    }

    /// How a user runs pxe-kit against this root, for fix commands.
    pub fn pxe_kit(&self) -> String {
        if self.ctx.root.is_live() {
            "pxe-kit".into()
        } else {
            format!(
                "pxe-kit --root {}",
                crate::runner::shell_join(&[self.ctx.root.base().display().to_string()])
            )
        }
    }
}

/// True when the settings' interface exists here and carries the server address.
fn serves_here(c: &Config) -> bool {
    crate::netinfo::interface_exists(&c.interface)
        && crate::netinfo::ipv4_addrs(&c.interface)
            .map(|a| a.iter().any(|n| n.addr() == c.server_ip))
            .unwrap_or(false)
}

/// Runs every check in order, timing each.
pub fn run_all(env: &Env) -> Vec<Report> {
    registry()
        .into_iter()
        .map(|c| {
            let t = std::time::Instant::now();
            let finding = (c.run)(env);
            Report {
                id: c.id,
                title: c.title,
                finding,
                duration_ms: t.elapsed().as_millis() as u64,
            }
        })
        .collect()
}

/// Unwraps a `Result<T, Finding>` or returns the finding from the check.
#[macro_export]
macro_rules! need {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(f) => return f,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_dotted_and_titled() {
        let r = registry();
        let mut ids: Vec<&str> = r.iter().map(|c| c.id).collect();
        assert!(r.len() >= 18, "{ids:?}");
        for c in &r {
            let (fam, name) = c.id.split_once('.').expect("family.name");
            assert!(
                !fam.is_empty() && !name.is_empty() && !c.title.is_empty(),
                "{}",
                c.id
            );
            assert!(
                c.id.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ".-".contains(ch)),
                "{}",
                c.id
            );
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), r.len());
    }

    #[test]
    fn statuses_order_by_severity() {
        assert!(
            Status::Fail > Status::Warn && Status::Warn > Status::Skip && Status::Skip > Status::Ok
        );
        let j = serde_json::to_value(Finding::warn("x", vec!["y".into()])).unwrap();
        assert_eq!(j["status"], "warn");
        assert_eq!(j["fix"][0], "y");
        assert!(j.get("diff").is_none());
    }
}
