//! Writes the man pages and shell completions generated from the clap definitions, so the
//! committed copies in man/ and completions/ can be checked fresh in CI.
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::root::{Out, Root};
use crate::Exit;

pub fn run(args: &crate::cli::GenerateDocsArgs) -> Result<Exit> {
    write_all(&args.out)?;
    Ok(Exit::Ok)
}

pub fn write_all(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let root = Root::new(out, false, Out::default())?;
    let cmd = Cli::command();
    write_man(&root, &cmd, "pxe-kit")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pxe-kit-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        write_man(&root, &sub, &name)?;
    }
    for (shell, file) in [
        (Shell::Bash, "pxe-kit.bash"),
        (Shell::Zsh, "_pxe-kit"),
        (Shell::Fish, "pxe-kit.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pxe-kit", &mut buf);
        root.write(&Path::new("/completions").join(file), &buf, 0o644)?;
    }
    Ok(())
}

fn write_man(root: &Root, cmd: &clap::Command, name: &str) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .with_context(|| format!("rendering man page {name}"))?;
    root.write(&Path::new("/man").join(format!("{name}.1")), &buf, 0o644)?;
    Ok(())
}
