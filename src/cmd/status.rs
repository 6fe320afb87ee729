//! `pxe-kit status`: each machine's last boot stage, read from the daemons' logs (see
//! `status` and `track`), as a table, JSON, or a table redrawn every two seconds.
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::ctx::Ctx;
use crate::status::{self, Sources};
use crate::track::{Machine, Stage, Tracker};
use crate::Exit;

/// One machine, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    machine: &'a Machine,
    /// The host name configured with add-host, if any.
    hostname: Option<String>,
    /// Seconds from its first DHCP answer to each stage it reached.
    since_dhcp: Vec<(Stage, f64)>,
}

pub fn run(a: &StatusArgs, ctx: &Ctx) -> Result<Exit> {
    let cfg = ctx.load_config()?;
    let names = |m: &Machine| {
        cfg.as_ref().and_then(|c| {
            c.hosts
                .iter()
                .find(|h| h.mac.is_some() && h.mac == m.mac)
                .and_then(|h| h.hostname.clone())
        })
    };
    loop {
        let since = status::since(SystemTime::now(), a.since.into())?;
        let (tracker, src) = status::collect(ctx, since)?;
        if a.json {
            let rows: Vec<Row> = tracker
                .machines()
                .into_iter()
                .map(|m| Row {
                    machine: m,
                    hostname: names(m),
                    since_dhcp: stage_times(m),
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "sources": src.read,
                    "missing_sources": src.missing,
                    "machines": rows,
                }))?
            );
            return Ok(Exit::Ok);
        }
        let text = table(&tracker, &src, &names, a.since);
        if a.watch {
            // Clear the screen and home the cursor, like watch(1).
            print!("\x1b[2J\x1b[H{text}");
            std::thread::sleep(Duration::from_secs(2));
        } else {
            print!("{text}");
            return Ok(Exit::Ok);
        }
    }
}

/// Seconds from the machine's DHCP answer to each later stage it reached.
fn stage_times(m: &Machine) -> Vec<(Stage, f64)> {
    let Some(t0) = m.reached(Stage::Dhcp) else {
        return Vec::new();
    };
    [
        Stage::Loader,
        Stage::KernelLoad,
        Stage::NfsRoot,
        Stage::RootImage,
    ]
    .into_iter()
    .filter_map(|s| m.reached(s).map(|t| (s, t - t0)))
    .collect()
}

fn ago(t: f64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(t);
    let s = (now - t).max(0.0);
    if s < 90.0 {
        format!("{s:.0}s ago")
    } else if s < 5400.0 {
        format!("{:.0}m ago", s / 60.0)
    } else {
        format!("{:.1}h ago", s / 3600.0)
    }
}

fn table(
    t: &Tracker,
    src: &Sources,
    names: &dyn Fn(&Machine) -> Option<String>,
    since: humantime::Duration,
) -> String {
    let machines = t.machines();
    let mut s = String::new();
    if machines.is_empty() {
        s += &format!("no machine booted in the last {since}");
    } else {
        s += &format!(
            "{:<18} {:<15} {:<12} {:<22} {:>9} {:>8} {:>8} {:>8}  ERROR\n",
            "MACHINE", "ADDRESS", "HOSTNAME", "STAGE", "LAST", "LOADER", "KERNEL", "ROOT"
        );
        for m in &machines {
            let times = stage_times(m);
            let at = |st| {
                times
                    .iter()
                    .find(|(x, _)| *x == st)
                    .map(|(_, v)| format!("+{v:.1}s"))
                    .unwrap_or_else(|| "-".into())
            };
            let root = if m.reached(Stage::NfsRoot).is_some() {
                at(Stage::NfsRoot)
            } else {
                at(Stage::RootImage)
            };
            let mut lease = m.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
            if m.leases.len() > 1 {
                lease += &format!(" ({} leases)", m.leases.len());
            }
            s += &format!(
                "{:<18} {:<15} {:<12} {:<22} {:>9} {:>8} {:>8} {:>8}  {}\n",
                m.id(),
                lease,
                names(m).unwrap_or_else(|| "-".into()),
                m.stage.done(),
                ago(m.last),
                at(Stage::Loader),
                at(Stage::KernelLoad),
                root,
                m.error.as_deref().unwrap_or("")
            );
        }
        let done = machines
            .iter()
            .filter(|m| m.stage >= Stage::NfsRoot)
            .count();
        s += &format!(
            "{} machine(s), {done} fetched their root; times are seconds after their DHCP answer\n",
            machines.len()
        );
    }
    if machines.is_empty() {
        s += "\n";
    }
    s += &format!("read: {}", src.read.join(", "));
    if !src.missing.is_empty() {
        s += &format!("; not found: {}", src.missing.join(", "));
    }
    s += "\n";
    s
}
