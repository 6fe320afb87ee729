//! The one place that spawns long-running processes (the daemons of `serve`, the lab's own
//! `serve`, radvd and QEMU) with `std::process::Command` directly.
//!
//! `Runner` runs a command to completion and hands back its output; these run for minutes,
//! stream their output line by line, must be stopped with a signal (QEMU may need SIGKILL) and
//! some need a private mount namespace set up between fork and exec. Everything else goes
//! through `Runner`.
// The supervisor spawns long-running daemons (streamed output, signals, a private /dev), which
// `Runner` (run to completion) cannot: the raw calls clippy forbids elsewhere live here.
#![allow(clippy::disallowed_methods)]
use std::collections::{HashMap, VecDeque};
use std::ffi::CString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// One line a process (or a log source feeding the supervisor) said, stamped on arrival.
#[derive(Debug, Clone)]
pub struct Line {
    pub who: String,
    pub text: String,
    pub at: SystemTime,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub argv: Vec<String>,
    /// Run in a private mount namespace whose /dev is this directory (holding our syslog
    /// socket as `log`; /dev/null is bound into it): how in.tftpd's syslog-only messages reach
    /// us on hosts without a syslog daemon, without touching the host's /dev.
    pub private_dev: Option<PathBuf>,
    /// Environment variables added to ours (Kea takes its runtime directories from them).
    pub env: Vec<(String, String)>,
    /// A nice value set before exec, so every thread the daemon starts inherits it (the DHCP
    /// daemon's, settings `dhcp.nice`).
    pub nice: Option<i32>,
}

impl Spec {
    pub fn new<S: AsRef<str>>(name: &str, argv: &[S]) -> Spec {
        Spec {
            name: name.into(),
            argv: argv.iter().map(|s| s.as_ref().to_string()).collect(),
            private_dev: None,
            env: Vec::new(),
            nice: None,
        }
    }
}

struct Proc {
    name: String,
    child: Child,
}

/// Children plus a channel of everything they print.
pub struct Supervisor {
    procs: Vec<Proc>,
    tx: Sender<Line>,
    rx: Receiver<Line>,
    tails: HashMap<String, VecDeque<String>>,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Turns SIGINT, SIGTERM and SIGHUP into a flag the supervising loops poll, so every exit path
/// runs the same cleanup. Children are started in their own process groups, so a terminal's
/// Ctrl-C reaches only us and we stop them in order.
pub fn install_stop_handler() -> Result<()> {
    let sa = signal::SigAction::new(
        signal::SigHandler::Handler(on_stop),
        signal::SaFlags::SA_RESTART,
        signal::SigSet::empty(),
    );
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { signal::sigaction(s, &sa) }.context("installing the signal handler")?;
    }
    Ok(())
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Supervisor {
        let (tx, rx) = channel();
        Supervisor {
            procs: Vec::new(),
            tx,
            rx,
            tails: HashMap::new(),
        }
    }

    /// A sender for other line sources (the syslog listener, the serial console tail).
    pub fn sender(&self) -> Sender<Line> {
        self.tx.clone()
    }

    pub fn spawn(&mut self, spec: &Spec) -> Result<u32> {
        let (prog, args) = spec
            .argv
            .split_first()
            .with_context(|| format!("{}: empty command", spec.name))?;
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(dev) = &spec.private_dev {
            private_dev(&mut cmd, dev)?;
        }
        if let Some(nice) = spec.nice {
            // SAFETY: one raw syscall in the child before exec.
            unsafe {
                cmd.pre_exec(move || {
                    // PRIO_PROCESS with who = 0 is the calling process: the child.
                    if libc::setpriority(libc::PRIO_PROCESS, 0, nice) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!(
                    "starting {}: {prog} not found; install the package that provides it",
                    spec.name
                )
            }
            Err(e) => return Err(e).with_context(|| format!("starting {}: {prog}", spec.name)),
        };
        let pid = child.id();
        if let Some(o) = child.stdout.take() {
            pump(o, &spec.name, self.tx.clone());
        }
        if let Some(e) = child.stderr.take() {
            pump(e, &spec.name, self.tx.clone());
        }
        self.procs.push(Proc {
            name: spec.name.clone(),
            child,
        });
        Ok(pid)
    }

    /// The next line within `wait`, if any. Keeps the last lines of each source.
    pub fn recv(&mut self, wait: Duration) -> Option<Line> {
        match self.rx.recv_timeout(wait) {
            Ok(l) => {
                let t = self.tails.entry(l.who.clone()).or_default();
                t.push_back(l.text.clone());
                if t.len() > 5 {
                    t.pop_front();
                }
                Some(l)
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The last lines a source said, for "why did it die" messages.
    pub fn tail(&self, who: &str) -> Vec<String> {
        self.tails
            .get(who)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A child that has exited since the last call, removed from the watch list.
    pub fn reap(&mut self) -> Option<(String, ExitStatus)> {
        for i in 0..self.procs.len() {
            if let Ok(Some(st)) = self.procs[i].child.try_wait() {
                let p = self.procs.remove(i);
                return Some((p.name, st));
            }
        }
        None
    }

    pub fn running(&self, name: &str) -> bool {
        self.procs.iter().any(|p| p.name == name)
    }

    /// Stops one child: SIGTERM, then SIGKILL to its process group after `grace` (QEMU under
    /// some accelerators ignores SIGTERM).
    pub fn stop(&mut self, name: &str, grace: Duration) -> Option<ExitStatus> {
        let i = self.procs.iter().position(|p| p.name == name)?;
        let mut p = self.procs.remove(i);
        Some(terminate(&mut p.child, grace))
    }

    /// Stops every child, newest first; returns how each ended.
    pub fn stop_all(&mut self, grace: Duration) -> Vec<(String, ExitStatus)> {
        let mut out = Vec::new();
        for p in &self.procs {
            let _ = signal::kill(Pid::from_raw(p.child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while let Some(mut p) = self.procs.pop() {
            let left = deadline.saturating_duration_since(Instant::now());
            out.push((p.name.clone(), terminate(&mut p.child, left)));
        }
        out
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_all(Duration::from_secs(3));
    }
}

fn terminate(child: &mut Child, grace: Duration) -> ExitStatus {
    let pid = child.id() as i32;
    if let Ok(Some(st)) = child.try_wait() {
        return st;
    }
    let _ = signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    child.wait().unwrap_or_else(|_| {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(9)
    })
}

fn pump<R: Read + Send + 'static>(r: R, who: &str, tx: Sender<Line>) {
    let who = who.to_string();
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                    let line = Line {
                        who: who.clone(),
                        text,
                        at: SystemTime::now(),
                    };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Between fork and exec: a private mount namespace whose /dev is `dev` (which already holds
/// our syslog socket `log`), with the real /dev/null bound in.
fn private_dev(cmd: &mut Command, dev: &Path) -> Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .with_context(|| format!("{}: path contains a NUL byte", p.display()))
    };
    let null_file = dev.join("null");
    std::fs::write(&null_file, b"").with_context(|| format!("creating {}", null_file.display()))?;
    let dev_c = c(dev)?;
    let null_c = c(&null_file)?;
    // SAFETY: only raw syscalls on pre-built C strings run in the child before exec.
    unsafe {
        cmd.pre_exec(move || {
            let none = std::ptr::null();
            let check = |r: libc::c_int| {
                if r == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"/dev/null".as_ptr(),
                null_c.as_ptr(),
                none,
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                dev_c.as_ptr(),
                c"/dev".as_ptr(),
                none,
                libc::MS_BIND,
                std::ptr::null(),
            ))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_streamed_and_exit_is_reaped() {
        let mut s = Supervisor::new();
        s.spawn(&Spec::new(
            "t",
            &["sh", "-c", "echo one; echo two >&2; exit 3"],
        ))
        .unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let l = s.recv(Duration::from_secs(5)).expect("a line");
            assert_eq!(l.who, "t");
            got.push(l.text);
        }
        got.sort();
        assert_eq!(got, ["one", "two"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some((n, st)) = s.reap() {
                assert_eq!(n, "t");
                assert_eq!(st.code(), Some(3));
                break;
            }
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn stop_kills_a_child_that_ignores_sigterm() {
        let mut s = Supervisor::new();
        s.spawn(&Spec::new(
            "stubborn",
            &["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
        ))
        .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let st = s.stop("stubborn", Duration::from_millis(300)).unwrap();
        assert!(!st.success());
        assert!(!s.running("stubborn"));
    }
}
