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
/// Prefix of a lab's second namespace (the storm's machines), also followed by the pid.
pub const SECOND_PREFIX: &str = "pxk-labc-";
/// A pair's storm: the second server's namespace and the switch joining everything.
pub const PARTNER_PREFIX: &str = "pxk-labs-";
pub const SWITCH_PREFIX: &str = "pxk-labw-";
/// Every prefix a lab namespace has.
pub const PREFIXES: [&str; 4] = [PREFIX, SECOND_PREFIX, PARTNER_PREFIX, SWITCH_PREFIX];
/// The bridge's carrier port and its peer (inside the lab namespace only).
const CARRIER: &str = "pxk-carrier0";
const CARRIER_PEER: &str = "pxk-carrier1";

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
    /// with the tap `tap` and a carrier port enslaved to it.
    pub fn create(
        runner: Runner,
        bridge: &str,
        tap: &str,
        server: Ipv4Addr,
        prefix: u8,
    ) -> Result<Netns> {
        Netns::create_as(runner, PREFIX, bridge, tap, server, prefix)
    }

    /// `create` under another of `PREFIXES` (a relayed subnet's router namespace).
    pub fn create_as(
        runner: Runner,
        ns_prefix: &str,
        bridge: &str,
        tap: &str,
        server: Ipv4Addr,
        prefix: u8,
    ) -> Result<Netns> {
        let ns = Netns::empty_as(runner, ns_prefix)?;
        let n = ns.name.clone();
        let addr = format!("{server}/{prefix}");
        let steps: [(&str, Vec<&str>); 9] = [
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
            // A bridge whose only port is a tap nobody holds yet has no carrier, and Kea
            // opens no socket on an interface without carrier (dhcpd does not mind): a veth
            // pair whose one end is a port of the bridge gives it carrier before the VM runs.
            (
                "giving the bridge carrier before the VM starts",
                vec![
                    "-n",
                    &n,
                    "link",
                    "add",
                    CARRIER,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    CARRIER_PEER,
                ],
            ),
            (
                "attaching the carrier port to the bridge",
                vec!["-n", &n, "link", "set", CARRIER, "master", bridge, "up"],
            ),
            (
                "bringing up the carrier port's peer",
                vec!["-n", &n, "link", "set", CARRIER_PEER, "up"],
            ),
        ];
        for (desc, args) in steps {
            ip(&ns.runner, desc, &args)?;
        }
        Ok(ns)
    }

    /// An empty namespace of this lab, `pxk-lab-PID` (or, `second`, `pxk-labc-PID`),
    /// loopback up.
    pub fn empty(runner: Runner, second: bool) -> Result<Netns> {
        Netns::empty_as(runner, if second { SECOND_PREFIX } else { PREFIX })
    }

    /// An empty namespace `PREFIX` + pid (one of `PREFIXES`), loopback up.
    pub fn empty_as(runner: Runner, prefix: &str) -> Result<Netns> {
        let name = format!("{prefix}{}", std::process::id());
        ip(
            &runner,
            "creating a lab network namespace",
            &["netns", "add", &name],
        )?;
        let ns = Netns {
            name,
            runner,
            deleted: false,
        };
        ns.ip("bringing up lo", &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, desc: &str, args: &[&str]) -> Result<String> {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend_from_slice(args);
        ip(&self.runner, desc, &v)
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

/// The ifb device that carries the VM's outgoing traffic through a delay.
pub const IFB: &str = "pxk-ifb0";

/// `tc`/`ip` commands (to run with `-n NS`) that delay every frame by `one_way_ms` in each
/// direction on the VM's tap, so a round trip takes twice that: netem on the tap's egress
/// (server → VM), and the tap's ingress (VM → server) redirected through an ifb device with
/// netem of its own.
pub fn netem_argvs(ns: &str, tap: &str, one_way_ms: f64) -> Vec<Vec<String>> {
    let d = format!("{one_way_ms}ms");
    let cmds: [&[&str]; 6] = [
        &["ip", "-n", ns, "link", "add", IFB, "type", "ifb"],
        &["ip", "-n", ns, "link", "set", IFB, "up"],
        &[
            "tc", "-n", ns, "qdisc", "add", "dev", tap, "root", "netem", "delay", &d,
        ],
        &[
            "tc", "-n", ns, "qdisc", "add", "dev", tap, "handle", "ffff:", "ingress",
        ],
        &[
            "tc", "-n", ns, "filter", "add", "dev", tap, "parent", "ffff:", "protocol", "all",
            "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", IFB,
        ],
        &[
            "tc", "-n", ns, "qdisc", "add", "dev", IFB, "root", "netem", "delay", &d,
        ],
    ];
    cmds.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// Removes what `netem_argvs` may have added (each command may fail: not everything was).
pub fn netem_undo_argvs(ns: &str, tap: &str) -> Vec<Vec<String>> {
    let cmds: [&[&str]; 3] = [
        &["tc", "-n", ns, "qdisc", "del", "dev", tap, "root"],
        &["tc", "-n", ns, "qdisc", "del", "dev", tap, "ingress"],
        &["ip", "-n", ns, "link", "del", IFB],
    ];
    cmds.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

impl Netns {
    /// Delays the VM's traffic with netem (see `netem_argvs`). Fails where the kernel has no
    /// netem, ifb or u32/mirred (containers often lack them); the caller falls back to the
    /// userspace relay.
    pub fn add_latency(&self, tap: &str, one_way_ms: f64) -> Result<()> {
        for argv in netem_argvs(&self.name, tap, one_way_ms) {
            let r = self.runner.must(&Cmd::new(
                Kind::Check,
                "adding the lab's network delay",
                &argv,
            ));
            if let Err(e) = r {
                // Half a setup would delay one direction on top of the relay's delay: undo it.
                for undo in netem_undo_argvs(&self.name, tap) {
                    let _ = self.runner.query(&Cmd::new(
                        Kind::Check,
                        "removing a partial delay",
                        &undo,
                    ));
                }
                return Err(e);
            }
        }
        Ok(())
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
        .filter(|n| PREFIXES.iter().any(|p| n.starts_with(p)))
        .map(String::from)
        .collect()
}

/// Removes lab namespaces whose creating process is gone (a lab killed with SIGKILL).
pub fn sweep_stale(runner: &Runner) -> Result<Vec<String>> {
    let list = ip(runner, "listing network namespaces", &["netns", "list"])?;
    let mut removed = Vec::new();
    for n in lab_names(&list) {
        let owner_alive = PREFIXES
            .iter()
            .find_map(|p| n.strip_prefix(p))
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
    fn netem_delays_both_directions() {
        let v: Vec<String> = netem_argvs("pxk-lab-1", "pxk-tap0", 2.5)
            .iter()
            .map(|a| a.join(" "))
            .collect();
        assert!(v.contains(&"tc -n pxk-lab-1 qdisc add dev pxk-tap0 root netem delay 2.5ms".into()));
        assert!(v.contains(&"tc -n pxk-lab-1 qdisc add dev pxk-ifb0 root netem delay 2.5ms".into()));
        assert!(v.iter().any(
            |c| c.contains("dev pxk-tap0 parent ffff:") && c.ends_with("redirect dev pxk-ifb0")
        ));
        // The ifb exists and is up before anything redirects to it.
        assert!(v[0].contains("type ifb") && v[1].ends_with("pxk-ifb0 up"));
    }

    #[test]
    fn finds_lab_namespaces_in_listing() {
        let l = "pxk-lab-12 (id: 0)\nother\npxk-lab-99\npxk-labc-99\n";
        assert_eq!(lab_names(l), ["pxk-lab-12", "pxk-lab-99", "pxk-labc-99"]);
    }
}
