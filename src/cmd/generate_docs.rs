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
    let man = out.join("man");
    let comp = out.join("completions");
    for d in [&man, &comp] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let cmd = Cli::command();
    write_man(&cmd, "pxe-kit", &man)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pxe-kit-{}", sub.get_name());
        let sub = sub.clone().name(name.clone());
        write_man(&sub, &name, &man)?;
    }
    for (shell, file) in [
        (Shell::Bash, "pxe-kit.bash"),
        (Shell::Zsh, "_pxe-kit"),
        (Shell::Fish, "pxe-kit.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pxe-kit", &mut buf);
        let p = comp.join(file);
        std::fs::write(&p, buf).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .with_context(|| format!("rendering man page {name}"))?;
    let p = dir.join(format!("{name}.1"));
    std::fs::write(&p, buf).with_context(|| format!("writing {}", p.display()))
}
