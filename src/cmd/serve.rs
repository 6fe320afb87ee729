//! `pxe-kit serve`: the stock daemons in the foreground with pxe-kit's configs (see `serve`).
use anyhow::{Context, Result};

use crate::cli::ServeArgs;
use crate::ctx::Ctx;
use crate::serve::{self, Plan};
use crate::Exit;

pub fn run(args: &ServeArgs, ctx: &Ctx) -> Result<Exit> {
    let cfg = ctx.require_config()?;
    // The run directory: given, or a temporary one removed on exit.
    let tmp = tempfile::Builder::new()
        .prefix("pxe-kit-serve.")
        .tempdir()
        .context("creating the run directory")?;
    let run_dir = args.run_dir.clone().unwrap_or_else(|| tmp.path().into());
    let plan = Plan::new(ctx, &cfg, &run_dir)?;
    if !ctx.runner.may_start(&plan.cmds())? {
        for c in ctx.runner.planned() {
            println!("would run: {}", c.shell());
        }
        return Ok(Exit::Ok);
    }
    plan.preflight(&ctx.config_display())?;
    serve::prepare(ctx, &plan, &ctx.root.other(&run_dir)?)?;
    serve::run(ctx, &plan)?;
    Ok(Exit::Ok)
}
