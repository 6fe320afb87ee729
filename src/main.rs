//! pxe-kit's entry point: parse, dispatch, print the error chain on one line, map to an exit code.
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`pxe-kit images | head`) like other Unix tools.
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let cli = match pxe_kit::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            eprintln!("pxe-kit: error: {}", one_line(&e.to_string()));
            return ExitCode::from(pxe_kit::Exit::Error as u8);
        }
    };
    match pxe_kit::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("pxe-kit: error: {e:#}");
            ExitCode::from(pxe_kit::Exit::Error as u8)
        }
    }
}

/// clap's usage errors span several lines; bad input gets one line here, with the fix.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .map(|l| l.trim_start_matches("error: "))
        .collect::<Vec<_>>()
        .join("; ")
        + "; see `pxe-kit --help`"
}
