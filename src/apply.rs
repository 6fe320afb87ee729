//! Thin applying of a plan: write the files, run the steps whose probes say they are needed,
//! and report what happened.
use std::collections::BTreeSet;

use anyhow::Result;

use crate::ctx::Ctx;
use crate::plan::{describe, FileSpec, Step};
use crate::root::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The probe found it in place.
    AlreadyDone,
    Ran,
    /// Staged or dry-run: listed, not run.
    Planned,
    /// Its trigger group did not run.
    NotNeeded,
}

/// Writes every file whose content differs; returns the ones that changed.
pub fn write_files<'a>(ctx: &Ctx, files: &'a [FileSpec]) -> Result<Vec<&'a FileSpec>> {
    let mut changed = Vec::new();
    for f in files {
        match ctx.root.write(&f.path, &f.content, f.mode)? {
            Change::Unchanged => ctx.out.detail(format!("  unchanged {}", f.path.display())),
            c => {
                let verb = match (c, ctx.root.dry_run()) {
                    (Change::Created, false) => "created",
                    (Change::Created, true) => "would create",
                    (_, false) => "updated",
                    (_, true) => "would update",
                };
                ctx.out.say(format!("  {verb} {}", describe(f)));
                changed.push(f);
            }
        }
    }
    Ok(changed)
}

/// Runs steps in order; a step with `after_group` runs only when a step of that group ran
/// (or was planned).
pub fn run_steps(ctx: &Ctx, steps: &[Step]) -> Result<Vec<Outcome>> {
    let mut acted: BTreeSet<&str> = BTreeSet::new();
    let mut outcomes = Vec::new();
    for s in steps {
        let o = run_step(ctx, s, &acted)?;
        if matches!(o, Outcome::Ran | Outcome::Planned) {
            acted.insert(s.group);
        }
        outcomes.push(o);
    }
    Ok(outcomes)
}

pub fn run_step(ctx: &Ctx, s: &Step, acted: &BTreeSet<&str>) -> Result<Outcome> {
    if let Some(g) = s.after_group {
        if !acted.contains(g) {
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

/// Prints what was listed instead of run.
pub fn print_plan(ctx: &Ctx, why: &str) {
    let planned = ctx.runner.planned();
    if planned.is_empty() {
        return;
    }
    println!("{why}:");
    for c in planned {
        println!("  $ {}    # {}", c.shell(), c.desc);
    }
}
