//! One module per subcommand, each with `run(args, &Ctx)`.
pub mod generate_docs;
pub mod init;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::Exit;

pub fn dispatch(cli: Cli) -> Result<Exit> {
    if let Command::GenerateDocs(a) = &cli.command {
        return generate_docs::run(a);
    }
    let ctx = Ctx::new(&cli.global)?;
    match &cli.command {
        Command::Init(a) => init::run(a, &ctx),
        Command::AddImage(_) | Command::Images(_) | Command::RemoveImage(_) => {
            anyhow::bail!("this subcommand is not built yet")
        }
        Command::GenerateDocs(_) => unreachable!("handled above"),
    }
}
