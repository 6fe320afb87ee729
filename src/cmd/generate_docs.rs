//! Writes the man pages and shell completions generated from the clap definitions, so the
//! committed copies in man/ and completions/ can be checked fresh in CI.
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::Exit;

pub fn run(args: &crate::cli::GenerateDocsArgs) -> Result<Exit> {
    write_all(&args.out)?;
    Ok(Exit::Ok)
}

pub fn write_all(out: &Path) -> Result<()> {
    for d in ["man", "completions"] {
        let d = out.join(d);
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    let cmd = Cli::command();
    write_man(out, &cmd, "pxe-kit")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pxe-kit-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        write_man(out, &sub, &name)?;
    }
    for (shell, file) in [
        (Shell::Bash, "pxe-kit.bash"),
        (Shell::Zsh, "_pxe-kit"),
        (Shell::Fish, "pxe-kit.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pxe-kit", &mut buf);
        write(&out.join("completions").join(file), &buf)?;
    }
    Ok(())
}

fn write_man(out: &Path, cmd: &clap::Command, name: &str) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .with_context(|| format!("rendering man page {name}"))?;
    write(&out.join("man").join(format!("{name}.1")), &buf)
}

/// Build outputs in the source tree, not files of a server: no backup, no --dry-run, so not
/// through `Root`.
#[allow(clippy::disallowed_methods)]
fn write(p: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display()))
}
