//! One module per subcommand, each with `run(args, &Ctx)`.
pub mod add_host;
pub mod add_image;
pub mod doctor;
pub mod generate_docs;
pub mod hosts;
pub mod images;
pub mod init;
pub mod lab;
pub mod remove_host;
pub mod remove_image;
pub mod serve;
pub mod status;
pub mod sync;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::Exit;

pub fn dispatch(cli: Cli) -> Result<Exit> {
    if let Command::GenerateDocs(a) = &cli.command {
        return generate_docs::run(a);
    }
    // The lab builds its own Ctx: `lab demo` stages a root of its own and the libvirt
    // printers need no distribution at all.
    if let Command::Lab(a) = &cli.command {
        return lab::run(a, &cli.global);
    }
    let ctx = Ctx::new(&cli.global.options())?;
    match &cli.command {
        Command::Init(a) => init::run(a, &ctx),
        Command::AddImage(a) => add_image::run(a, &ctx),
        Command::Images(a) => images::run(a, &ctx),
        Command::RemoveImage(a) => remove_image::run(a, &ctx),
        Command::AddHost(a) => add_host::run(a, &ctx),
        Command::Hosts(a) => hosts::run(a, &ctx),
        Command::RemoveHost(a) => remove_host::run(a, &ctx),
        Command::Serve(a) => serve::run(a, &ctx),
        Command::Status(a) => status::run(a, &ctx),
        Command::Sync(a) => sync::run(a, &ctx),
        Command::Doctor(a) => doctor::run(a, &ctx),
        Command::GenerateDocs(_) | Command::Lab(_) => unreachable!("handled above"),
    }
}
