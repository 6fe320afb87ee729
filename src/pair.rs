//! A failover pair's facts as the daemons record them: ISC dhcpd's lease file (its leases and
//! the `failover peer … state` blocks it appends on every change of state), Kea's HA state
//! names, what each state means for the machines and what to do about it, and leases two
//! servers hold for one address. Pure: text in, values out.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The failover peer's name in dhcpd.conf (the same on both members).
pub const PEER_NAME: &str = "pxe-kit";

/// One lease of dhcpd's lease file, its last record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpdLease {
    pub address: Ipv4Addr,
    /// `hardware ethernet`, lower case; empty when the lease has none (free, backup).
    pub mac: String,
    /// `binding state`: active, free, backup, expired, released, abandoned…
    pub state: String,
}

impl DhcpdLease {
    pub fn active(&self) -> bool {
        self.state == "active"
    }
}

/// The last `failover peer "NAME" state { my state X at …; partner state Y at …; }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverState {
    pub mine: String,
    pub partner: String,
}

/// Reads dhcpd's lease file: every lease's last record (the file is a journal: a lease is
/// written again on every change) and the last failover state block.
pub fn parse_dhcpd_leases(text: &str) -> (BTreeMap<Ipv4Addr, DhcpdLease>, Option<FailoverState>) {
    let mut leases = BTreeMap::new();
    let mut state = None;
    let mut lines = text.lines().map(str::trim);
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix("lease ") {
            let Some(address) = rest
                .split_whitespace()
                .next()
                .and_then(|a| a.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            let mut lease = DhcpdLease {
                address,
                mac: String::new(),
                state: String::new(),
            };
            for b in lines.by_ref() {
                if b.starts_with('}') {
                    break;
                }
                let b = b.trim_end_matches(';');
                if let Some(s) = b.strip_prefix("binding state ") {
                    lease.state = s.trim().to_string();
                } else if let Some(m) = b.strip_prefix("hardware ethernet ") {
                    lease.mac = m.trim().to_ascii_lowercase();
                }
            }
            leases.insert(address, lease);
        } else if l.starts_with("failover peer ") && l.ends_with("state {") {
            let mut fs = FailoverState {
                mine: String::new(),
                partner: String::new(),
            };
            for b in lines.by_ref() {
                if b.starts_with('}') {
                    break;
                }
                let word = |p: &str| {
                    b.strip_prefix(p)
                        .and_then(|r| r.split_whitespace().next())
                        .map(|w| w.trim_end_matches(';').to_string())
                };
                if let Some(w) = word("my state ") {
                    fs.mine = w;
                } else if let Some(w) = word("partner state ").or_else(|| word("peer state ")) {
                    fs.partner = w;
                }
            }
            state = Some(fs);
        }
    }
    (leases, state)
}

/// Addresses two servers hold active for different machines: `(address, [(server, MAC)])`.
pub fn conflicts(
    servers: &[(String, BTreeMap<Ipv4Addr, String>)],
) -> Vec<(Ipv4Addr, Vec<(String, String)>)> {
    let mut by_addr: BTreeMap<Ipv4Addr, Vec<(String, String)>> = BTreeMap::new();
    for (name, active) in servers {
        for (ip, mac) in active {
            by_addr
                .entry(*ip)
                .or_default()
                .push((name.clone(), mac.clone()));
        }
    }
    by_addr
        .into_iter()
        .filter(|(_, holders)| holders.iter().any(|(_, m)| *m != holders[0].1))
        .collect()
}

/// How doctor judges a member's state: normal, passing (the pair is forming or catching up),
/// or something to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Normal,
    Transient,
    Act,
}

/// dhcpd's failover state names (dhcpd.leases(5)) judged, with what it means and what to do.
pub fn judge_dhcpd_state(mine: &str) -> (Verdict, &'static str) {
    match mine {
        "normal" => (Verdict::Normal, "both servers share the pool"),
        "startup" | "recover" | "recover-wait" | "recover-done" | "potential-conflict"
        | "conflict-done" => (
            Verdict::Transient,
            "the pair is forming or resynchronising its leases; it reaches normal on its own (recover-wait lasts mclt)",
        ),
        "communications-interrupted" => (
            Verdict::Act,
            "the partner is unreachable: this server serves alone from its half of the free addresses. Bring the partner back (check tcp/647 on both); if it is gone for long, declare it down: `omshell` (set local-state to partner-down) and make sure it stays off",
        ),
        "partner-down" => (
            Verdict::Act,
            "this server was told its partner is down and serves the whole pool; start the partner: it resynchronises and both return to normal",
        ),
        "shutdown" | "paused" => (
            Verdict::Act,
            "this server is stopping or paused; start its DHCP server again",
        ),
        _ => (
            Verdict::Act,
            "unknown failover state; see dhcpd.conf(5), DHCP FAILOVER",
        ),
    }
}

/// Kea's HA state names (`ha-heartbeat`) judged, with what it means and what to do.
pub fn judge_kea_state(state: &str) -> (Verdict, &'static str) {
    match state {
        "load-balancing" | "hot-standby" => (Verdict::Normal, "both servers serve as configured"),
        "waiting" | "syncing" | "ready" => (
            Verdict::Transient,
            "the pair is forming or synchronising leases; it reaches normal on its own",
        ),
        "communication-recovery" => (
            Verdict::Act,
            "the partner does not answer heartbeats; this server serves its own share and queues lease updates. Bring the partner back (check tcp/647 on both)",
        ),
        "partner-down" => (
            Verdict::Act,
            "the partner is down and this server serves every machine; start the partner: it synchronises its leases and both return to normal",
        ),
        "partner-in-maintenance" | "in-maintenance" => (
            Verdict::Act,
            "maintenance was started (ha-maintenance-start); end it with ha-maintenance-cancel",
        ),
        "terminated" => (
            Verdict::Act,
            "HA stopped (clock skew over 60 s between the servers, or an error); fix the clocks and restart both DHCP servers",
        ),
        _ => (
            Verdict::Act,
            "unknown HA state; see Kea's High Availability documentation",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASES: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
failover peer "pxe-kit" state {
  my state recover at 4 2026/11/26 00:13:27;
  partner state unknown-state at 4 2026/11/26 00:13:27;
}
lease 10.79.0.100 {
  starts 4 2026/11/26 00:20:00;
  binding state active;
  hardware ethernet 52:54:01:00:00:0A;
}
lease 10.79.0.101 {
  binding state free;
}
lease 10.79.0.100 {
  binding state active;
  next binding state free;
  hardware ethernet 52:54:01:00:00:0b;
}
failover peer "pxe-kit" state {
  my state communications-interrupted at 4 2026/11/26 00:13:54;
  partner state normal at 4 2026/11/26 00:13:28;
  mclt 10;
}
"#;

    #[test]
    fn last_records_win() {
        let (l, st) = parse_dhcpd_leases(LEASES);
        let a: Ipv4Addr = "10.79.0.100".parse().unwrap();
        assert_eq!(l[&a].mac, "52:54:01:00:00:0b");
        assert!(l[&a].active());
        assert!(!l[&"10.79.0.101".parse().unwrap()].active());
        let st = st.unwrap();
        assert_eq!(st.mine, "communications-interrupted");
        assert_eq!(st.partner, "normal");
        assert_eq!(judge_dhcpd_state(&st.mine).0, Verdict::Act);
        assert_eq!(judge_dhcpd_state("normal").0, Verdict::Normal);
        assert_eq!(judge_kea_state("partner-down").0, Verdict::Act);
        assert_eq!(judge_kea_state("syncing").0, Verdict::Transient);
    }

    #[test]
    fn one_address_for_two_machines_is_a_conflict() {
        let ip: Ipv4Addr = "10.0.0.100".parse().unwrap();
        let same = vec![
            ("a".to_string(), BTreeMap::from([(ip, "m1".to_string())])),
            ("b".to_string(), BTreeMap::from([(ip, "m1".to_string())])),
        ];
        assert!(conflicts(&same).is_empty());
        let two = vec![
            ("a".to_string(), BTreeMap::from([(ip, "m1".to_string())])),
            ("b".to_string(), BTreeMap::from([(ip, "m2".to_string())])),
        ];
        assert_eq!(conflicts(&two).len(), 1);
    }
}
