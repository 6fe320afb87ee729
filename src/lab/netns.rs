//! The lab's private network: a network namespace holding a bridge (the server's interface)
//! and a tap for the VM. Nothing is added to the host's own interfaces; dropping `Netns` kills
//! every process left in the namespace and deletes it, on success, failure and Ctrl-C alike.
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::runner::{Cmd, Kind, Runner};

/// Prefix of every namespace the lab creates; the suffix is the creating process's pid.
pub const PREFIX: &str = "pxk-lab-";

pub struct Netns {
    pub name: String,
    runner: Runner,
    deleted: bool,
}

fn ip(runner: &Runner, desc: &str, args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    runner.must(&Cmd::new(Kind::Check, desc, &argv))
}

impl Netns {
    /// Creates the namespace, the bridge `bridge` (forward delay 0, carrying `server/prefix`)
    /// and the tap `tap` enslaved to it.
    pub fn create(
        runner: Runner,
        bridge: &str,
        tap: &str,
        server: Ipv4Addr,
        prefix: u8,
    ) -> Result<Netns> {
        let name = format!("{PREFIX}{}", std::process::id());
        ip(
            &runner,
            "creating the lab network namespace",
            &["netns", "add", &name],
        )?;
        let ns = Netns {
            name,
            runner,
            deleted: false,
        };
        let n = ns.name.clone();
        let addr = format!("{server}/{prefix}");
        let steps: [(&str, Vec<&str>); 7] = [
            ("bringing up lo", vec!["-n", &n, "link", "set", "lo", "up"]),
            (
                "creating the lab bridge",
                vec![
                    "-n",
                    &n,
                    "link",
                    "add",
                    bridge,
                    "type",
                    "bridge",
                    "forward_delay",
                    "0",
                ],
            ),
            (
                "creating the VM's tap",
                vec!["-n", &n, "tuntap", "add", "dev", tap, "mode", "tap"],
            ),
            (
                "attaching the tap to the bridge",
                vec!["-n", &n, "link", "set", tap, "master", bridge],
            ),
            (
                "giving the bridge the server address",
                vec!["-n", &n, "addr", "add", &addr, "dev", bridge],
            ),
            (
                "bringing up the bridge",
                vec!["-n", &n, "link", "set", bridge, "up"],
            ),
            (
                "bringing up the tap",
                vec!["-n", &n, "link", "set", tap, "up"],
            ),
        ];
        for (desc, args) in steps {
            ip(&ns.runner, desc, &args)?;
        }
        Ok(ns)
    }

    /// `argv` run inside the namespace.
    pub fn exec_argv<S: AsRef<str>>(&self, argv: &[S]) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.name.clone(),
        ];
        v.extend(argv.iter().map(|s| s.as_ref().to_string()));
        v
    }

    /// Kills everything left in the namespace and deletes it.
    pub fn remove(&mut self) -> Result<()> {
        if self.deleted {
            return Ok(());
        }
        remove_ns(&self.runner, &self.name)?;
        self.deleted = true;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            eprintln!(
                "pxe-kit: warning: cleaning up namespace {}: {e:#}",
                self.name
            );
        }
    }
}

/// Pids of the processes in a namespace.
pub fn pids(runner: &Runner, name: &str) -> Result<Vec<i32>> {
    let out = ip(
        runner,
        "listing the lab's processes",
        &["netns", "pids", name],
    )?;
    Ok(out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

fn remove_ns(runner: &Runner, name: &str) -> Result<()> {
    let mut left = pids(runner, name).unwrap_or_default();
    for p in &left {
        let _ = kill(Pid::from_raw(*p), Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = pids(runner, name).unwrap_or_default();
    }
    for p in &left {
        let _ = kill(Pid::from_raw(*p), Signal::SIGKILL);
    }
    if !left.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
    }
    ip(
        runner,
        "deleting the lab network namespace",
        &["netns", "del", name],
    )?;
    Ok(())
}

/// Lab namespaces in `ip netns list` output (`NAME` or `NAME (id: N)` per line).
pub fn lab_names(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
        .map(String::from)
        .collect()
}

/// Removes lab namespaces whose creating process is gone (a lab killed with SIGKILL).
pub fn sweep_stale(runner: &Runner) -> Result<Vec<String>> {
    let list = ip(runner, "listing network namespaces", &["netns", "list"])?;
    let mut removed = Vec::new();
    for n in lab_names(&list) {
        let owner_alive = n
            .strip_prefix(PREFIX)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !owner_alive {
            remove_ns(runner, &n)?;
            removed.push(n);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lab_namespaces_in_listing() {
        let l = "pxk-lab-12 (id: 0)\nother\npxk-lab-99\n";
        assert_eq!(lab_names(l), ["pxk-lab-12", "pxk-lab-99"]);
    }
}
