//! pxe-kit: prepare and keep healthy a PXE boot server for diskless, stateless machines.

pub mod apply;
pub mod bootline;
pub mod bulk;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod copyhash;
pub mod ctx;
pub mod dhcpprobe;
pub mod distro;
pub mod doctor;
pub mod dracut;
pub mod firewalld;
pub mod host;
pub mod httpc;
pub mod image;
pub mod initrd;
pub mod iso9660;
pub mod kea;
pub mod lab;
pub mod lock;
pub mod netinfo;
pub mod pair;
pub mod plan;
pub mod progress;
pub mod render;
pub mod root;
pub mod runner;
pub mod serve;
pub mod status;
pub mod sync;
pub mod tftp;
pub mod track;

/// Process exit codes, shared by every subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// doctor found problems; lab boot failed.
    Problems = 1,
    /// bad input or could not run.
    Error = 2,
}

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<Exit> {
    cmd::dispatch(cli)
}
