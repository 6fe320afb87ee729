//! pxe-kit's entry point: parse, dispatch, print the error chain on one line, map to an exit code.
use std::process::ExitCode;

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
    let cli = pxe_kit::cli::Cli::parse();
    match pxe_kit::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("pxe-kit: error: {e:#}");
            ExitCode::from(pxe_kit::Exit::Error as u8)
        }
    }
}
