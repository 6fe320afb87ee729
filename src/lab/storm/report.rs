//! The storm's report: each stage's percentiles and failures from the machines' own clocks,
//! DHCP answers, leases per machine from both sides (the machines' and the server's logs,
//! read by `track` as `status` reads them), the time until all booted and the ratio to the
//! link's floor. Pure: results and a tracker in, numbers and text out.
use std::collections::BTreeMap;

use serde::Serialize;

use super::client::{ClientResult, Plan, STAGES};
use super::StormOpts;
use crate::track::{Stage, Tracker};

/// Percentiles of one stage, in seconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageStats {
    pub stage: String,
    /// Machines that completed it.
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Machines whose boot ended in it.
    pub failures: usize,
}

/// DHCP as the firmware saw it: every DISCOVER sent, and those no OFFER answered before the
/// ROM sent the next (or gave up).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DhcpStats {
    /// DISCOVERs per second offered to the server (the machines' power-on rate).
    pub offered_per_sec: f64,
    pub discovers: u64,
    pub unanswered: u64,
    pub unanswered_percent: f64,
}

/// How many addresses each machine held, from each side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Leases {
    /// Machines by the number of distinct addresses their two DHCP exchanges got.
    pub machines_view: BTreeMap<usize, usize>,
    /// Machines by the number of addresses the server's log acknowledged to their MAC.
    pub server_view: BTreeMap<usize, usize>,
    /// The most any machine held (1: one lease per machine).
    pub max_per_machine: usize,
}

/// The link and the bytes over it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Link {
    pub mbit: Option<u32>,
    pub http_bytes: u64,
    pub tftp_bytes: u64,
    /// From the first HTTP fetch's start to the last one's end.
    pub http_secs: f64,
    /// What the link needs at least for the HTTP bytes: bytes × 8 ÷ rate.
    pub http_floor_secs: Option<f64>,
    /// http_secs ÷ http_floor_secs.
    pub http_vs_floor: Option<f64>,
    /// Every byte moved ÷ link rate, against the time until all booted.
    pub all_floor_secs: Option<f64>,
    pub all_vs_floor: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub clients: u32,
    pub uefi: usize,
    pub rate: f64,
    pub booted: usize,
    pub failed: usize,
    /// From the first power-on to the last machine's root image (when all booted).
    pub all_booted_secs: Option<f64>,
    pub stages: Vec<StageStats>,
    pub dhcp: DhcpStats,
    pub leases: Leases,
    pub link: Link,
    /// What the server's logs say: machines seen and those that fetched their root.
    pub server_seen: usize,
    pub server_root_fetched: usize,
    /// The first failures, for the reader: MAC, stage, why.
    pub failures: Vec<(String, String, String)>,
    /// A pair's storm: the kill, the recovery, where the machines booted, the leases of both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<PairReport>,
}

/// The `p`-th percentile (0–100) of sorted values, by nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Per stage: how many machines reached it, its percentiles and how many failed there.
fn stage_stats(rs: &[ClientResult]) -> Vec<StageStats> {
    STAGES
        .iter()
        .map(|st| {
            let mut v: Vec<f64> = rs
                .iter()
                .flat_map(|r| r.stages.iter().filter(|s| s.stage == *st).map(|s| s.secs))
                .collect();
            v.sort_by(f64::total_cmp);
            StageStats {
                stage: st.to_string(),
                n: v.len(),
                p50: round3(percentile(&v, 50.0)),
                p95: round3(percentile(&v, 95.0)),
                p99: round3(percentile(&v, 99.0)),
                max: round3(v.last().copied().unwrap_or(0.0)),
                failures: rs
                    .iter()
                    .filter(|r| r.failed_at.as_deref() == Some(st))
                    .count(),
            }
        })
        .collect()
}

impl Report {
    pub fn new(o: &StormOpts, plan: &Plan, rs: &[ClientResult], tracker: &Tracker) -> Report {
        let stages = stage_stats(rs);
        let discovers: u64 = rs.iter().map(|r| u64::from(r.discovers)).sum();
        // Each machine's answered DISCOVER is its last one; a machine that failed at DHCP had
        // none answered.
        let answered = rs.iter().filter(|r| r.ip.is_some()).count() as u64;
        let unanswered = discovers.saturating_sub(answered);
        let mut machines_view = BTreeMap::new();
        for r in rs.iter().filter(|r| r.ip2.is_some()) {
            let n = if r.ip == r.ip2 { 1 } else { 2 };
            *machines_view.entry(n).or_insert(0) += 1;
        }
        let mut server_view = BTreeMap::new();
        let mut server_root = 0;
        let ms = tracker.machines();
        let ours: Vec<_> = ms
            .iter()
            .filter(|m| m.mac.is_some_and(|mac| mac.0[..3] == plan.mac_prefix))
            .collect();
        for m in &ours {
            *server_view.entry(m.leases.len()).or_insert(0) += 1;
            if m.stage >= Stage::RootImage {
                server_root += 1;
            }
        }
        let max_per_machine = machines_view
            .keys()
            .chain(server_view.keys())
            .copied()
            .max()
            .unwrap_or(0);
        let bytes = |http: bool| -> u64 {
            rs.iter()
                .flat_map(|r| r.stages.iter())
                .filter(|s| {
                    let is_http = s.stage == "root"
                        || (s.stage == "kernel+initrd" && plan.kernel.starts_with("http://"));
                    is_http == http
                })
                .map(|s| s.bytes)
                .sum()
        };
        let (http_bytes, tftp_bytes) = (bytes(true), bytes(false));
        // The HTTP phase across all machines, on one clock (power-on times are epochs).
        let http_spans: Vec<(f64, f64)> = rs
            .iter()
            .flat_map(|r| {
                r.stages
                    .iter()
                    .filter(|s| {
                        s.stage == "root"
                            || (s.stage == "kernel+initrd" && plan.kernel.starts_with("http://"))
                    })
                    .map(move |s| (r.boot_start + s.start, r.boot_start + s.start + s.secs))
            })
            .collect();
        let http_secs = match (
            http_spans.iter().map(|s| s.0).reduce(f64::min),
            http_spans.iter().map(|s| s.1).reduce(f64::max),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let booted = rs.iter().filter(|r| r.booted.is_some()).count();
        let all_booted_secs = (booted == rs.len() && !rs.is_empty()).then(|| {
            let first = rs.iter().map(|r| r.start).reduce(f64::min).unwrap_or(0.0);
            let last = rs
                .iter()
                .filter_map(|r| r.booted.map(|b| r.start + b))
                .reduce(f64::max)
                .unwrap_or(first);
            round3(last - first)
        });
        // A pair has a link each: twice the rate between them.
        let links = if o.pair.is_some() { 2.0 } else { 1.0 };
        let floor = |b: u64| {
            o.link_mbit
                .map(|m| b as f64 * 8.0 / (links * f64::from(m) * 1e6))
        };
        let http_floor_secs = floor(http_bytes);
        let all_floor_secs = floor(http_bytes + tftp_bytes);
        Report {
            clients: o.clients,
            uefi: rs.iter().filter(|r| r.uefi).count(),
            rate: o.rate,
            booted,
            failed: rs.len() - booted,
            all_booted_secs,
            stages,
            dhcp: DhcpStats {
                offered_per_sec: o.rate,
                discovers,
                unanswered,
                unanswered_percent: if discovers == 0 {
                    0.0
                } else {
                    round3(unanswered as f64 * 100.0 / discovers as f64)
                },
            },
            leases: Leases {
                machines_view,
                server_view,
                max_per_machine,
            },
            link: Link {
                mbit: o.link_mbit,
                http_bytes,
                tftp_bytes,
                http_secs: round3(http_secs),
                http_floor_secs: http_floor_secs.map(round3),
                http_vs_floor: http_floor_secs.map(|f| round3(http_secs / f)),
                all_floor_secs: all_floor_secs.map(round3),
                all_vs_floor: match (all_floor_secs, all_booted_secs) {
                    (Some(f), Some(t)) => Some(round3(t / f)),
                    _ => None,
                },
            },
            server_seen: ours.len(),
            server_root_fetched: server_root,
            failures: rs
                .iter()
                .filter(|r| r.booted.is_none())
                .take(10)
                .map(|r| {
                    (
                        r.mac.clone(),
                        r.failed_at.clone().unwrap_or_default(),
                        r.error.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            pair: None,
        }
    }

    /// The report for people.
    pub fn render(&self) -> String {
        let mut s = format!(
            "lab storm: {} machines ({} UEFI, {} BIOS) powered on at {}/s: {} booted, {} failed\n",
            self.clients,
            self.uefi,
            self.clients as usize - self.uefi,
            self.rate,
            self.booted,
            self.failed
        );
        s += &format!(
            "{:<16} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
            "stage (s)", "done", "p50", "p95", "p99", "max", "failures"
        );
        for st in &self.stages {
            s += &format!(
                "{:<16} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9}\n",
                st.stage, st.n, st.p50, st.p95, st.p99, st.max, st.failures
            );
        }
        s += &format!(
            "DHCP: {} DISCOVERs at {}/s offered, {} unanswered ({}%)\n",
            self.dhcp.discovers,
            self.dhcp.offered_per_sec,
            self.dhcp.unanswered,
            self.dhcp.unanswered_percent
        );
        s += &format!(
            "leases per machine: machines' view {:?}, server's view {:?} (most: {})\n",
            self.leases.machines_view, self.leases.server_view, self.leases.max_per_machine
        );
        s += &format!(
            "server's logs: {} machines seen, {} fetched their root\n",
            self.server_seen, self.server_root_fetched
        );
        let mib = |b: u64| b as f64 / 1048576.0;
        s += &format!(
            "moved: {:.1} MiB over HTTP in {:.2} s, {:.1} MiB over TFTP",
            mib(self.link.http_bytes),
            self.link.http_secs,
            mib(self.link.tftp_bytes)
        );
        match (self.link.mbit, self.link.http_vs_floor) {
            (Some(m), Some(r)) => {
                s += &format!(
                    "; link {m} Mbit/s: HTTP floor {:.2} s, {r}x the floor\n",
                    self.link.http_floor_secs.unwrap_or(0.0)
                )
            }
            _ => s += "; link not limited (no floor)\n",
        }
        match self.all_booted_secs {
            Some(t) => {
                s += &format!("all {} machines booted in {t:.2} s", self.clients);
                if let (Some(f), Some(r)) = (self.link.all_floor_secs, self.link.all_vs_floor) {
                    s += &format!(" ({r}x the link floor of {f:.2} s)");
                }
                s += "\n";
            }
            None => s += "not every machine booted\n",
        }
        for (mac, stage, why) in &self.failures {
            s += &format!("  failed: {mac} at {stage}: {why}\n");
        }
        if let Some(p) = &self.pair {
            s += &p.render();
        }
        s
    }
}

/// What the pair did under the storm.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairReport {
    pub mode: String,
    pub dhcp_server: String,
    /// Seconds from starting both servers to both reporting normal operation.
    pub formed_secs: f64,
    /// The server killed, and when (seconds after the first power-on); none: not killed.
    pub killed: Option<String>,
    pub killed_at_secs: Option<f64>,
    /// What set the kill off: a machine's transfer from the primary, or a time.
    pub killed_on: Option<String>,
    /// Machines whose boot the kill broke (they powered on again), and all restarts.
    pub machines_hit: usize,
    pub restarts: usize,
    /// From the kill to the survivor saying it serves alone (dhcpd: communications-interrupted
    /// or partner-down; Kea: partner-down): the DHCP side of the recovery.
    pub takeover_secs: Option<f64>,
    /// From the kill to the first machine it broke getting a DHCP answer again.
    pub first_answer_after_kill_secs: Option<f64>,
    /// From the kill to the last machine it broke reaching its root image: time to recover.
    pub recover_secs: Option<f64>,
    /// Machines by the server whose answer their (last) boot followed.
    pub booted_by: BTreeMap<String, usize>,
    /// Addresses the machines hold for two of them at once (their last leases).
    pub duplicate_addresses: Vec<String>,
    /// Addresses both servers' lease files hold active for different machines.
    pub lease_conflicts: Vec<String>,
    /// Records only the killed server still holds for a machine that no longer has that
    /// address (the kill broke its boot before it used the lease; it took another from the
    /// survivor): stale, reported apart from the conflicts.
    pub stale_on_killed: Vec<String>,
    /// Active leases in each server's lease file at the end.
    pub active_leases: BTreeMap<String, usize>,
    /// `pxe-kit doctor`'s pair checks on each member once formed, and on the survivor after
    /// the kill: check id → "status: summary".
    pub doctor: BTreeMap<String, BTreeMap<String, String>>,
}

impl PairReport {
    pub fn render(&self) -> String {
        let mut s = format!(
            "pair ({} {}): formed in {:.1} s; machines booted by {:?}\n",
            self.dhcp_server, self.mode, self.formed_secs, self.booted_by
        );
        if let (Some(k), Some(t)) = (&self.killed, self.killed_at_secs) {
            s += &format!(
                "killed {k} at {t:.1} s ({}): the survivor took over after {}; {} machines caught ({} restarts); first of them answered again after {}, all of them booted {} after the kill\n",
                self.killed_on.as_deref().unwrap_or("-"),
                secs(self.takeover_secs),
                self.machines_hit,
                self.restarts,
                secs(self.first_answer_after_kill_secs),
                secs(self.recover_secs),
            );
        }
        s += &format!(
            "addresses held for two machines: {} (machines' view), {} (both servers' leases); active leases {:?}\n",
            self.duplicate_addresses.len(),
            self.lease_conflicts.len(),
            self.active_leases
        );
        for d in self.duplicate_addresses.iter().chain(&self.lease_conflicts) {
            s += &format!("  duplicate: {d}\n");
        }
        for d in &self.stale_on_killed {
            s += &format!("  stale on the killed server (not a conflict): {d}\n");
        }
        for (when, checks) in &self.doctor {
            for (id, verdict) in checks {
                s += &format!("doctor on the {when}: {id}: {verdict}\n");
            }
        }
        s
    }
}

fn secs(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.1} s")).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
