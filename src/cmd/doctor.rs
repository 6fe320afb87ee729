//! `pxe-kit doctor`: run the check registry, print a compact table (or JSON), and with
//! `--fix` repair what can be repaired with init's own code, then check again.
use std::io::IsTerminal;

use anyhow::Result;
use serde::Serialize;

use crate::apply::{self, Desired};
use crate::cli::DoctorArgs;
use crate::ctx::Ctx;
use crate::doctor::{self, Env, Report, Runtime, Status, SCHEMA_VERSION};
use crate::root::Out;
use crate::Exit;

#[derive(Debug, Serialize)]
struct Summary {
    ok: usize,
    warn: usize,
    fail: usize,
    skip: usize,
}

fn summarize(r: &[Report]) -> Summary {
    let n = |s| r.iter().filter(|x| x.finding.status == s).count();
    Summary {
        ok: n(Status::Ok),
        warn: n(Status::Warn),
        fail: n(Status::Fail),
        skip: n(Status::Skip),
    }
}

#[derive(Debug, Serialize)]
struct Before {
    id: &'static str,
    status: Status,
}

#[derive(Debug, Serialize)]
struct FixReport {
    before: Vec<Before>,
    actions: Vec<String>,
}

/// The `--json` document (docs/doctor-json.md).
#[derive(Debug, Serialize)]
struct Doc<'a> {
    schema_version: u32,
    pxe_kit_version: &'static str,
    root: String,
    profile: String,
    deep: bool,
    runtime: &'a Runtime,
    exit_code: u8,
    summary: Summary,
    checks: &'a [Report],
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixReport>,
}

pub fn run(args: &DoctorArgs, ctx: &Ctx) -> Result<Exit> {
    if args.list {
        return list(args.json);
    }
    // Under --json nothing but the document goes to stdout.
    let quiet_out = Out {
        quiet: true,
        verbose: false,
    };
    // --fix changes the server: it reads the settings under the state lock like init.
    let _lock = if args.fix {
        Some(ctx.begin_change("doctor --fix")?)
    } else {
        None
    };
    let env = Env::new(ctx, args.deep);
    let mut reports = doctor::run_all(&env);
    let mut fix = None;
    if args.fix {
        let fix_ctx = ctx.derive(false, if args.json { quiet_out } else { ctx.out });
        let actions = repair(&env, &fix_ctx, &reports)?;
        let before = reports
            .iter()
            .map(|r| Before {
                id: r.id,
                status: r.finding.status,
            })
            .collect();
        // A fresh look: settings, manifests and processes may all have changed.
        let env2 = Env::new(ctx, args.deep);
        reports = doctor::run_all(&env2);
        fix = Some(FixReport { before, actions });
    }
    let exit = if reports.iter().any(|r| r.finding.status == Status::Fail) {
        Exit::Problems
    } else {
        Exit::Ok
    };
    if args.json {
        let doc = Doc {
            schema_version: SCHEMA_VERSION,
            pxe_kit_version: env!("CARGO_PKG_VERSION"),
            root: ctx.root.base().display().to_string(),
            profile: format!("{:?}", env.profile.distro).to_lowercase(),
            deep: args.deep,
            runtime: &env.runtime,
            exit_code: exit as u8,
            summary: summarize(&reports),
            checks: &reports,
            fix,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_human(&env, &reports, fix.as_ref(), ctx.out);
    }
    Ok(exit)
}

fn list(json: bool) -> Result<Exit> {
    let reg = doctor::registry();
    if json {
        let v: Vec<_> = reg
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "title": c.title}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"schema_version": SCHEMA_VERSION, "checks": v})
            )?
        );
    } else {
        for c in reg {
            println!("{:<22} {}", c.id, c.title);
        }
    }
    Ok(Exit::Ok)
}

/// Repairs with init's converge step: re-renders the files, removes stale ones, runs the
/// system steps (labels, firewall, httpd drop-in, services); relabels the trees when labels
/// were found wrong. Returns what was done or listed.
fn repair(env: &Env, ctx: &Ctx, reports: &[Report]) -> Result<Vec<String>> {
    let mut actions = Vec::new();
    let Ok(cfg) = &env.cfg else {
        actions.push("nothing repaired: the settings do not load (see config.valid)".into());
        return Ok(actions);
    };
    let bad = |id: &str| {
        reports
            .iter()
            .any(|r| r.id == id && matches!(r.finding.status, Status::Warn | Status::Fail))
    };
    let want = Desired::from_disk(&ctx.root, cfg.clone())?;
    let opts = apply::Options {
        relabel_trees: bad("selinux.labels"),
        live_firewall: env.runtime.checked,
        keep_settings_file: true,
        ..Default::default()
    };
    let report = apply::converge(ctx, &want, &opts)?;
    actions.extend(report.written.iter().map(|w| format!("re-rendered {w}")));
    for p in &report.removed {
        actions.push(format!(
            "removed {} (pxe-kit's file for a machine or image no longer configured)",
            p.display()
        ));
    }
    for (cmd, o) in &report.steps {
        match o {
            apply::Outcome::Ran => actions.push(format!("ran: {}", cmd.shell())),
            apply::Outcome::Planned => {
                actions.push(format!("not run (staged or dry run): {}", cmd.shell()))
            }
            apply::Outcome::Failed => actions.push(format!("failed: {}", cmd.shell())),
            apply::Outcome::AlreadyDone | apply::Outcome::NotNeeded => {}
        }
    }
    if !env.systemd
        && (bad("services.dhcpd")
            || bad("services.kea")
            || bad("services.tftp")
            || bad("services.httpd"))
    {
        actions.push(format!(
            "not started: PID 1 is not systemd; run `{} serve`",
            env.pxe_kit()
        ));
    }
    if actions.is_empty() {
        actions.push("nothing to repair automatically".into());
    }
    Ok(actions)
}

/// Whether to colour: a terminal, and NO_COLOR unset (https://no-color.org).
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(on: bool, s: Status, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match s {
        Status::Ok => "32",
        Status::Warn => "33",
        Status::Fail => "31",
        Status::Skip => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn print_human(env: &Env, reports: &[Report], fix: Option<&FixReport>, out: Out) {
    let c = colour();
    let mut s = String::new();
    s += &format!(
        "pxe-kit doctor: {} profile, root {}{}\n",
        format!("{:?}", env.profile.distro).to_lowercase(),
        env.ctx.root.base().display(),
        if env.deep { ", deep" } else { "" }
    );
    if !env.runtime.checked {
        s += &format!(
            "  note: running system not checked: {}\n",
            env.runtime.reason
        );
    }
    if let Some(f) = fix {
        s += "repairs:\n";
        for a in &f.actions {
            s += &format!("  {a}\n");
        }
    }
    let width = reports.iter().map(|r| r.id.len()).max().unwrap_or(10);
    for r in reports {
        let f = &r.finding;
        if out.quiet && f.status != Status::Fail {
            continue;
        }
        let was = fix
            .and_then(|x| x.before.iter().find(|b| b.id == r.id))
            .filter(|b| b.status != f.status)
            .map(|b| format!(" (was {})", b.status.symbol()))
            .unwrap_or_default();
        s += &format!(
            "{} {:<width$}  {}{}\n",
            paint(c, f.status, f.status.symbol()),
            r.id,
            match f.status {
                // The long reason is printed once, in the note above.
                Status::Skip if f.summary == env.runtime.reason =>
                    "skipped: running system not checked (see note)".to_string(),
                Status::Skip => format!("skipped: {}", f.summary),
                _ => f.summary.clone(),
            },
            was
        );
        if out.verbose || f.status == Status::Fail || f.status == Status::Warn {
            let show = if out.verbose {
                f.evidence.len()
            } else {
                3.min(f.evidence.len())
            };
            if f.status != Status::Ok || out.verbose {
                for e in &f.evidence[..show] {
                    s += &format!("    · {e}\n");
                }
            }
        }
        for x in &f.fix {
            s += &format!("    fix: {x}\n");
        }
        if out.verbose {
            if let Some(d) = &f.diff {
                for l in d.lines() {
                    s += &format!("    {l}\n");
                }
            }
        }
    }
    let sum = summarize(reports);
    s += &format!(
        "{} ok, {} warning(s), {} problem(s), {} skipped{}\n",
        sum.ok,
        sum.warn,
        sum.fail,
        sum.skip,
        if sum.fail > 0 && fix.is_none() {
            format!(
                "; `{} doctor --fix` repairs rendered files, labels, firewall and services",
                env.pxe_kit()
            )
        } else {
            String::new()
        }
    );
    print!("{s}");
}
