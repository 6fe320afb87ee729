//! `Runner`: the one way pxe-kit runs external commands.
//!
//! Commands are of four kinds. A *check* runs a tool on this host that changes nothing
//! (`dhcpd -t`): it always runs. A *build* produces files for the target tree (`dracut`,
//! `mksquashfs`): it runs unless `--dry-run`, staged or live. A *probe* asks the live system a question (`systemctl
//! is-enabled`): it runs only when acting on `/`. A *change* alters the live system
//! (`dnf install`, `restorecon`): it runs only live and without `--dry-run`; otherwise it is
//! recorded and listed as the plan. Errors carry the description, the quoted argv, the exit
//! status and the last lines of stderr. With `PXE_KIT_RUNNER_LOG=FILE` every command is also
//! appended to FILE as a JSON line, which is how tests check argv without running dnf.
//!
//! With `PXE_KIT_FAKE_BIN=DIR` (tests only) a staged root's probes, changes and verifications
//! run too, but each program is taken from DIR and nowhere else: tests stand in fake
//! `firewall-cmd`, `systemctl`, `nmcli` … that keep their state in files, and a program DIR
//! lacks fails as "not found" instead of reaching the host's real one.
// Runner is the choke point for commands: the raw `Command::new` clippy forbids elsewhere.
#![allow(clippy::disallowed_methods)]
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::root::Out;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Check,
    Build,
    Probe,
    Change,
    /// A read-only test of the live system after a change (`apachectl -t` once the drop-in
    /// is written): runs only where changes run.
    Verify,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cmd {
    pub desc: String,
    pub argv: Vec<String>,
    pub kind: Kind,
    /// For a build with a harmless mode of its own (rsync's `--dry-run`): the arguments
    /// that select it, put right after the program when pxe-kit runs under --dry-run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preview: Vec<String>,
}

impl Cmd {
    pub fn new<S: AsRef<str>>(kind: Kind, desc: impl Into<String>, argv: &[S]) -> Self {
        Cmd {
            desc: desc.into(),
            argv: argv.iter().map(|s| s.as_ref().to_string()).collect(),
            kind,
            preview: Vec::new(),
        }
    }
    /// A build that under --dry-run runs anyway with `args` (its own dry-run) instead of
    /// being listed, so the preview says what it would do.
    pub fn previewed_with<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        debug_assert_eq!(self.kind, Kind::Build);
        self.preview = args.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }
    pub fn change<S: AsRef<str>>(desc: impl Into<String>, argv: &[S]) -> Self {
        Cmd::new(Kind::Change, desc, argv)
    }
    /// The argv as a shell would need it typed, for messages and plans.
    pub fn shell(&self) -> String {
        shell_join(&self.argv)
    }
}

/// What running a command produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub struct Runner {
    live: bool,
    dry_run: bool,
    out: Out,
    planned: RefCell<Vec<Cmd>>,
    log: Option<PathBuf>,
    /// Tests' directory of fake system programs (`PXE_KIT_FAKE_BIN`).
    fake_bin: Option<PathBuf>,
}

impl Runner {
    pub fn new(live: bool, dry_run: bool, out: Out) -> Self {
        let fake_bin = std::env::var_os("PXE_KIT_FAKE_BIN")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        Runner {
            live: live || fake_bin.is_some(),
            dry_run,
            out,
            planned: RefCell::new(Vec::new()),
            log: std::env::var_os("PXE_KIT_RUNNER_LOG").map(PathBuf::from),
            fake_bin,
        }
    }

    /// A runner with the same --dry-run and log, other output settings, and (with `live`)
    /// the running system as its target even when the root is staged.
    pub fn derive(&self, live: bool, out: Out) -> Runner {
        Runner::new(live || self.live, self.dry_run, out)
    }

    /// Whether probes of the live system can be answered.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Whether changes really run (live and not --dry-run): state that must follow what ran,
    /// such as restarts still due, is kept only then.
    pub fn acts(&self) -> bool {
        self.live && !self.dry_run
    }

    /// Commands that were listed instead of run.
    pub fn planned(&self) -> Vec<Cmd> {
        self.planned.borrow().clone()
    }

    /// Runs a change, or records it when staged or dry-run. Returns whether it ran.
    pub fn change(&self, cmd: &Cmd) -> Result<bool> {
        debug_assert_eq!(cmd.kind, Kind::Change);
        if !self.live || self.dry_run {
            self.record(cmd, false)?;
            self.planned.borrow_mut().push(cmd.clone());
            return Ok(false);
        }
        let out = self.exec(cmd)?;
        if !out.success {
            bail!(failure(cmd, &out));
        }
        Ok(true)
    }

    /// Whether long-running daemons may be started (by `serve`'s supervisor, which streams
    /// their output): not under --dry-run, where their command lines become the plan.
    pub fn may_start(&self, cmds: &[Cmd]) -> Result<bool> {
        if !self.dry_run {
            return Ok(true);
        }
        for c in cmds {
            self.record(c, false)?;
            self.planned.borrow_mut().push(c.clone());
        }
        Ok(false)
    }

    /// Runs a check or probe and returns its output whatever the exit status; `None` for a
    /// probe when not acting on the live system, or a build under dry-run (one with a
    /// preview mode runs in it instead).
    pub fn query(&self, cmd: &Cmd) -> Result<Option<Output>> {
        if cmd.kind == Kind::Build && self.dry_run && !cmd.preview.is_empty() {
            let mut preview = cmd.clone();
            let at = preview.argv.len().min(1);
            preview.argv.splice(at..at, cmd.preview.iter().cloned());
            return Ok(Some(self.exec(&preview)?));
        }
        let skip = match cmd.kind {
            Kind::Probe => !self.live,
            Kind::Build => self.dry_run,
            Kind::Verify => !self.live || self.dry_run,
            Kind::Check | Kind::Change => false,
        };
        if skip {
            if cmd.kind == Kind::Build {
                self.record(cmd, false)?;
                self.planned.borrow_mut().push(cmd.clone());
            }
            return Ok(None);
        }
        Ok(Some(self.exec(cmd)?))
    }

    /// Runs a check or probe that must succeed; returns stdout.
    pub fn must(&self, cmd: &Cmd) -> Result<String> {
        match self.query(cmd)? {
            Some(out) if out.success => Ok(out.stdout),
            Some(out) => bail!(failure(cmd, &out)),
            None => Ok(String::new()),
        }
    }

    fn exec(&self, cmd: &Cmd) -> Result<Output> {
        self.record(cmd, true)?;
        self.out.detail(format!("> {}", cmd.shell()));
        let (prog, args) = cmd
            .argv
            .split_first()
            .with_context(|| format!("{}: empty command", cmd.desc))?;
        // Tests' fake system: what acts on the live system comes from the fake directory only.
        let program = match (&self.fake_bin, cmd.kind) {
            (Some(dir), Kind::Probe | Kind::Change | Kind::Verify) => {
                let name = std::path::Path::new(prog)
                    .file_name()
                    .unwrap_or(prog.as_ref());
                dir.join(name)
            }
            _ => PathBuf::from(prog),
        };
        let res = Command::new(&program)
            .args(args)
            .stdin(Stdio::null())
            .output();
        let o = match res {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!(
                    "{}: {prog} not found; install the package that provides it",
                    cmd.desc
                )
            }
            Err(e) => {
                return Err(e).with_context(|| format!("{}: running {}", cmd.desc, cmd.shell()))
            }
        };
        Ok(Output {
            success: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        })
    }

    fn record(&self, cmd: &Cmd, ran: bool) -> Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        let line =
            serde_json::json!({"kind": cmd.kind, "ran": ran, "desc": cmd.desc, "argv": cmd.argv});
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening runner log {}", log.display()))?;
        writeln!(f, "{line}").with_context(|| format!("writing runner log {}", log.display()))
    }
}

/// One line naming the command, its status and the tail of what it said.
pub fn failure(cmd: &Cmd, out: &Output) -> String {
    let status = match out.code {
        Some(c) => format!("exited with status {c}"),
        None => "was killed by a signal".to_string(),
    };
    let said = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    let tail: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        format!("{}: `{}` {status}", cmd.desc, cmd.shell())
    } else {
        format!("{}: `{}` {status}: {tail}", cmd.desc, cmd.shell())
    }
}

/// Quotes words for display so a user can paste the command.
pub fn shell_join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.as_ref();
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Looks a program up on PATH and in the sbin directories (dhcpd lives in /usr/sbin, which a
/// non-root PATH often lacks).
pub fn find_program(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_changes_are_planned_not_run() {
        let r = Runner::new(false, false, Out::default());
        let c = Cmd::change("install", &["/nonexistent/dnf", "install", "-y", "x"]);
        assert!(!r.change(&c).unwrap());
        assert_eq!(r.planned(), vec![c]);
    }

    #[test]
    fn probes_are_skipped_when_staged_checks_run() {
        let r = Runner::new(false, false, Out::default());
        assert!(r
            .query(&Cmd::new(Kind::Probe, "p", &["true"]))
            .unwrap()
            .is_none());
        let out = r
            .query(&Cmd::new(Kind::Check, "c", &["sh", "-c", "echo hi"]))
            .unwrap()
            .unwrap();
        assert_eq!(out.stdout, "hi\n");
    }

    #[test]
    fn failure_names_command_status_and_stderr_tail() {
        let r = Runner::new(true, false, Out::default());
        let c = Cmd::change("testing", &["sh", "-c", "echo a >&2; echo b >&2; exit 3"]);
        let e = r.change(&c).unwrap_err().to_string();
        assert!(
            e.starts_with("testing: `sh -c 'echo a >&2; echo b >&2; exit 3'` exited with status 3"),
            "{e}"
        );
        assert!(e.ends_with("a | b"), "{e}");
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let r = Runner::new(true, false, Out::default());
        let e = r
            .must(&Cmd::new(
                Kind::Check,
                "validating",
                &["/nonexistent/dhcpd"],
            ))
            .unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent/dhcpd not found"),
            "{e}"
        );
    }

    #[test]
    fn shell_join_quotes_only_when_needed() {
        assert_eq!(shell_join(&["a", "b c", "it's"]), r"a 'b c' 'it'\''s'");
    }
}
