//! Progress display (indicatif) shown only on a terminal and never with -q.
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::root::Out;

/// A progress bar or spinner on stderr, or nothing.
pub struct Progress(Option<ProgressBar>);

fn visible(out: Out) -> bool {
    !out.quiet && std::io::stderr().is_terminal()
}

impl Progress {
    pub fn hidden() -> Self {
        Progress(None)
    }

    /// Bytes with rate and ETA.
    pub fn bytes(out: Out, total: u64, msg: &str) -> Self {
        if !visible(out) {
            return Self::hidden();
        }
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        Progress(Some(pb))
    }

    pub fn spinner(out: Out, msg: &str) -> Self {
        if !visible(out) {
            return Self::hidden();
        }
        let pb = ProgressBar::new_spinner();
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(pb))
    }

    pub fn set_message(&self, msg: impl Into<String>) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.into());
        }
    }

    /// A line above the bar (or on stdout when there is no bar), so output and bar do not
    /// tear each other.
    pub fn println(&self, line: impl AsRef<str>) {
        match &self.0 {
            Some(pb) => pb.println(line.as_ref()),
            None => println!("{}", line.as_ref()),
        }
    }

    /// A line above the bar, or on stderr when there is no bar: for commands whose stdout
    /// is a report (`lab storm --json`).
    pub fn eprintln(&self, line: impl AsRef<str>) {
        match &self.0 {
            Some(pb) => pb.println(line.as_ref()),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc(n);
        }
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
