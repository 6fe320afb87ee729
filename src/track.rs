//! The boot tracker: the daemons' log lines turned into what each machine did — the address
//! it was offered and given, the loader and menus it fetched, its kernel and initramfs, its
//! root image, with times and errors. Pure: lines in, machines out. `pxe-kit status` feeds it
//! the journal (or the log `serve` keeps), the lab's timeline and the storm's report feed it
//! the lines `serve` prints, so all three read the daemons the same way.
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use regex::Regex;
use serde::Serialize;

use crate::host::Mac;

/// How far a boot got, in the order a network boot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    PowerOn,
    Dhcp,
    Loader,
    KernelLoad,
    KernelStart,
    Initramfs,
    /// An NFS-root client's mount, seen in the NFS server's log.
    NfsRoot,
    RootImage,
    Userspace,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::PowerOn => "firmware",
            Stage::Dhcp => "DHCP",
            // TFTP or HTTP, depending on the chain: events carry their own transport.
            Stage::Loader => "loader",
            Stage::KernelLoad => "kernel+initrd",
            Stage::KernelStart => "kernel",
            Stage::Initramfs => "initramfs",
            Stage::NfsRoot => "NFS",
            Stage::RootImage => "HTTP",
            Stage::Userspace => "userspace",
        }
    }

    pub fn doing(self) -> &'static str {
        match self {
            Stage::PowerOn => "firmware and the NIC's boot ROM",
            Stage::Dhcp => "DHCP",
            Stage::Loader => "fetching the boot loader",
            Stage::KernelLoad => "fetching the kernel and initrd",
            Stage::KernelStart => "kernel start",
            Stage::Initramfs => "the initramfs",
            Stage::NfsRoot => "mounting the root over NFS",
            Stage::RootImage => "fetching the root image over HTTP",
            Stage::Userspace => "userspace",
        }
    }

    /// What a machine that got this far has done, for `status`.
    pub fn done(self) -> &'static str {
        match self {
            Stage::PowerOn => "seen",
            Stage::Dhcp => "address given",
            Stage::Loader => "loader fetched",
            Stage::KernelLoad => "kernel+initrd fetched",
            Stage::KernelStart => "kernel started",
            Stage::Initramfs => "initramfs running",
            Stage::NfsRoot => "NFS root mounted",
            Stage::RootImage => "root fetched",
            Stage::Userspace => "booted",
        }
    }

    pub fn next(self) -> Stage {
        match self {
            Stage::PowerOn => Stage::Dhcp,
            Stage::Dhcp => Stage::Loader,
            Stage::Loader => Stage::KernelLoad,
            Stage::KernelLoad => Stage::KernelStart,
            Stage::KernelStart => Stage::Initramfs,
            Stage::Initramfs => Stage::RootImage,
            Stage::NfsRoot | Stage::RootImage | Stage::Userspace => Stage::Userspace,
        }
    }
}

/// What one log line says.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Discover {
        mac: Mac,
    },
    Offer {
        ip: Ipv4Addr,
        mac: Mac,
    },
    Ack {
        ip: Ipv4Addr,
        mac: Mac,
    },
    /// The DHCP server could not serve a machine (no free leases, a NAK).
    DhcpError {
        mac: Mac,
        why: String,
    },
    /// A TFTP read request.
    Tftp {
        ip: Ipv4Addr,
        file: String,
    },
    /// A TFTP request refused (file not found, access violation).
    TftpError {
        ip: Ipv4Addr,
        why: String,
    },
    /// An HTTP request, logged when it ended.
    Http {
        ip: Ipv4Addr,
        method: String,
        path: String,
        status: u16,
        bytes: Option<u64>,
        /// When the request started, and how long it took, when the log says.
        start: Option<SystemTime>,
        secs: Option<f64>,
    },
    /// pxe-kit's proxyDHCP (dnsmasq, proxy mode) answered a PXE request of `mac`
    /// (transaction `xid`): its offer on udp/67, or its reply on udp/4011 naming `file`,
    /// with the address the network's DHCP server gave the machine when the client says it.
    ProxyOffer {
        xid: u32,
        mac: Mac,
        ip: Option<Ipv4Addr>,
        file: Option<String>,
    },
    /// The boot file proxyDHCP sent in transaction `xid` (`log-dhcp`'s detail line).
    ProxyFile {
        xid: u32,
        file: String,
    },
    /// An NFS client mounted its root (ganesha's client record).
    NfsMount {
        ip: Ipv4Addr,
        version: String,
    },
}

/// One line, read: when and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub at: SystemTime,
    pub what: What,
}

/// Which daemon a line's source name stands for: serve's prefixes (`dhcpd`, `tftpd`,
/// `httpd`, `nfs`, `kea`, `dnsmasq`) and the journal's syslog identifiers (`dhcpd`,
/// `kea-dhcp4`, `in.tftpd`, `dnsmasq-dhcp`).
fn daemon(who: &str) -> Option<&'static str> {
    match who {
        "dhcpd" | OFFICE => Some("dhcp"),
        crate::kea::WHO | "kea-dhcp4" => Some("kea"),
        "tftpd" | "in.tftpd" => Some("tftp"),
        "httpd" | "apache2" => Some("http"),
        "nfs" | "ganesha.nfsd" => Some("nfs"),
        "dnsmasq" | "dnsmasq-dhcp" => Some("proxy"),
        _ => None,
    }
}

/// The lab's stand-in for the network's own DHCP server in proxy mode (a dhcpd, see
/// `lab::office`): its lines read as dhcpd's.
pub const OFFICE: &str = "office";

/// Whether lines from `who` come from Kea (whose lease messages read as dhcpd's).
pub fn is_kea(who: &str) -> bool {
    daemon(who) == Some("kea")
}

static MAC_RE: &str = r"([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})";
static DHCP_LEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(DHCPOFFER|DHCPACK) on (\d+\.\d+\.\d+\.\d+) to {MAC_RE}"
    ))
    .expect("regex")
});
static DHCP_DISCOVER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^DHCPDISCOVER from {MAC_RE}(?: \([^)]*\))? via \S+(?:: (.*))?$"
    ))
    .expect("regex")
});
static DHCP_NAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^DHCPNAK on (\d+\.\d+\.\d+\.\d+) to {MAC_RE}")).expect("regex")
});
/// Kea's lease messages (logged at INFO by `kea-dhcp4.leases`): ADVERT/OFFER are dhcpd's
/// DHCPOFFER, ALLOC its DHCPACK.
static KEA_LEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"DHCP4_LEASE_(ADVERT|OFFER|ALLOC) \[hwtype=\d+ {MAC_RE}\].*?: lease (\d+\.\d+\.\d+\.\d+)"
    ))
    .expect("regex")
});
/// Kea's allocation failures (a full pool and the like), logged per client.
static KEA_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"DHCP4_(ALLOC_FAIL\w*) \[hwtype=\d+ {MAC_RE}\].*?tid=0x[0-9a-fA-F]+: (.*)$"
    ))
    .expect("regex")
});
/// dnsmasq's proxyDHCP answer (`log-dhcp` puts the transaction id first): `4660
/// PXE(ens4) 52:54:00:aa:bb:01 proxy` for its offer, `4660 PXE(ens4) 10.0.0.50
/// 52:54:00:aa:bb:01 lpxelinux.0` for a boot-server reply to a client that has an address.
/// Under `serve` (`--log-facility=-`) each line starts with `dnsmasq-dhcp[PID]: `.
static PROXY_PXE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^(?:dnsmasq-dhcp\[\d+\]: )?(\d+) PXE\([^)]*\) (?:(\d+\.\d+\.\d+\.\d+) )?{MAC_RE} (\S+)$"
    ))
    .expect("regex")
});
static PROXY_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:dnsmasq-dhcp\[\d+\]: )?(\d+) bootfile name: (\S+)$").expect("regex")
});
static RRQ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"RRQ from (?:::ffff:)?(\d+\.\d+\.\d+\.\d+) filename (\S+)").expect("regex")
});
static NAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"sending NAK \((\d+), ([^)]*)\) to (?:::ffff:)?(\d+\.\d+\.\d+\.\d+)")
        .expect("regex")
});
/// pxe-kit's access log format (`serve::daemons::ACCESS_FORMAT`): request start as epoch
/// seconds with milliseconds, client, request line, status, bytes, microseconds taken.
static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\d+\.\d+) (\d+\.\d+\.\d+\.\d+) "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-) (\d+)$"#)
        .expect("regex")
});
/// Apache's common/combined formats, for logs written without pxe-kit's format.
static COMBINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\d+\.\d+\.\d+\.\d+) \S+ \S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-)"#)
        .expect("regex")
});

/// The time `secs` seconds after the Unix epoch, if it is one: a log line's number may be
/// anything (`nan`, `-1`, `1e400`, twenty digits), and `Duration::from_secs_f64` and
/// `SystemTime + Duration` panic where this says `None`.
pub fn at_epoch(secs: f64) -> Option<SystemTime> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

/// Reads one line of a daemon (`who`) that arrived (or was logged) at `at`.
pub fn parse(who: &str, text: &str, at: SystemTime) -> Option<Seen> {
    let text = text.trim();
    let what = match daemon(who)? {
        "dhcp" => {
            if let Some(c) = DHCP_LEASE.captures(text) {
                let (ip, mac) = (c[2].parse().ok()?, c[3].parse().ok()?);
                if &c[1] == "DHCPOFFER" {
                    What::Offer { ip, mac }
                } else {
                    What::Ack { ip, mac }
                }
            } else if let Some(c) = DHCP_DISCOVER.captures(text) {
                let mac = c[1].parse().ok()?;
                match c.get(2) {
                    // "…: network 10.0.0.0/24: no free leases" and the like.
                    Some(why) => What::DhcpError {
                        mac,
                        why: why.as_str().to_string(),
                    },
                    None => What::Discover { mac },
                }
            } else if let Some(c) = DHCP_NAK.captures(text) {
                What::DhcpError {
                    mac: c[2].parse().ok()?,
                    why: format!("DHCPNAK on {}", &c[1]),
                }
            } else {
                return None;
            }
        }
        "kea" => {
            if let Some(c) = KEA_LEASE.captures(text) {
                let (mac, ip) = (c[2].parse().ok()?, c[3].parse().ok()?);
                if &c[1] == "ALLOC" {
                    What::Ack { ip, mac }
                } else {
                    What::Offer { ip, mac }
                }
            } else if let Some(c) = KEA_FAIL.captures(text) {
                What::DhcpError {
                    mac: c[2].parse().ok()?,
                    why: format!("{}: {}", &c[1], &c[3]),
                }
            } else {
                return None;
            }
        }
        "tftp" => {
            if let Some(c) = RRQ.captures(text) {
                What::Tftp {
                    ip: c[1].parse().ok()?,
                    file: c[2].trim_start_matches('/').to_string(),
                }
            } else if let Some(c) = NAK.captures(text) {
                What::TftpError {
                    ip: c[3].parse().ok()?,
                    why: c[2].to_string(),
                }
            } else {
                return None;
            }
        }
        "http" => {
            if let Some(c) = ACCESS.captures(text) {
                What::Http {
                    ip: c[2].parse().ok()?,
                    method: c[3].to_string(),
                    path: c[4].to_string(),
                    status: c[5].parse().ok()?,
                    bytes: c[6].parse().ok(),
                    start: Some(at_epoch(c[1].parse().ok()?)?),
                    secs: c[7]
                        .parse::<f64>()
                        .ok()
                        .map(|us| us / 1e6)
                        .filter(|s| s.is_finite()),
                }
            } else if let Some(c) = COMBINED.captures(text) {
                What::Http {
                    ip: c[1].parse().ok()?,
                    method: c[2].to_string(),
                    path: c[3].to_string(),
                    status: c[4].parse().ok()?,
                    bytes: c[5].parse().ok(),
                    start: None,
                    secs: None,
                }
            } else {
                return None;
            }
        }
        "proxy" => {
            if let Some(c) = PROXY_PXE.captures(text) {
                What::ProxyOffer {
                    xid: c[1].parse().ok()?,
                    ip: c.get(2).and_then(|m| m.as_str().parse().ok()),
                    mac: c[3].parse().ok()?,
                    file: Some(c[4].to_string()).filter(|f| !f.starts_with("proxy")),
                }
            } else if let Some(c) = PROXY_FILE.captures(text) {
                What::ProxyFile {
                    xid: c[1].parse().ok()?,
                    file: c[2].to_string(),
                }
            } else {
                return None;
            }
        }
        _ => {
            let (ip, version) = ganesha_mount(text)?;
            What::NfsMount { ip, version }
        }
    };
    Some(Seen { at, what })
}

/// A client's NFSv4 mount in a ganesha log line (`: COMPONENT :LEVEL :message`), seen as the
/// client record ganesha creates for it (`Created client name [::ffff:10.77.0.50-(20:Linux
/// NFSv4.2 (none))]`, CLIENTID at DEBUG): its address and NFS version.
fn ganesha_mount(line: &str) -> Option<(Ipv4Addr, String)> {
    let body = line.trim().trim_start_matches(':').trim_start();
    let mut parts = body.splitn(3, " :");
    let (component, _level, msg) = (parts.next()?, parts.next()?, parts.next()?);
    if component.trim() != "CLIENT ID" {
        return None;
    }
    let rec = msg.strip_prefix("Created client name [")?;
    let (addr, name) = rec.split_once("-(")?;
    let addr = addr.strip_prefix("::ffff:").unwrap_or(addr);
    let version = name
        .split(|c: char| c.is_whitespace() || c == ':' || c == ')')
        .find(|w| w.starts_with("NFSv"))
        .unwrap_or("NFSv4");
    Some((addr.parse().ok()?, version.to_string()))
}

/// Which stage a file a loader fetched belongs to, by its path in the TFTP root or URL path:
/// an image's kernel and initrd (`pxe-kit/NAME/…` over TFTP, `/pxe-kit-tftp/pxe-kit/NAME/…`
/// over HTTP), the root image (`/pxe-kit/NAME/…` over HTTP), else loaders, menus and scripts.
pub fn file_stage(path: &str, http: bool) -> Stage {
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with(".ipxe") {
        return Stage::Loader;
    }
    if !http {
        return if path.trim_start_matches('/').starts_with("pxe-kit/") {
            Stage::KernelLoad
        } else {
            Stage::Loader
        };
    }
    match path
        .strip_prefix(crate::render::TFTP_URL_PREFIX)
        .and_then(|p| p.strip_prefix('/'))
    {
        Some(rel) if rel.starts_with("pxe-kit/") => Stage::KernelLoad,
        Some(_) => Stage::Loader,
        None => Stage::RootImage,
    }
}

/// One thing a machine did, for `status` and the reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub stage: Stage,
    pub what: String,
}

/// Everything the logs say about one machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Its MAC, once DHCP named it; machines seen only by address (a fixed IP, a log that
    /// started mid-boot) have none.
    pub mac: Option<Mac>,
    /// The address it was last given (or used).
    pub ip: Option<Ipv4Addr>,
    /// Every address acknowledged to this MAC: more than one means it held two leases.
    pub leases: Vec<Ipv4Addr>,
    /// The furthest stage reached.
    pub stage: Stage,
    pub first: f64,
    pub last: f64,
    /// The last error seen, if the machine did not get past it.
    pub error: Option<String>,
    pub steps: Vec<Step>,
}

impl Machine {
    fn new(mac: Option<Mac>, ip: Option<Ipv4Addr>, t: f64) -> Machine {
        Machine {
            mac,
            ip,
            leases: Vec::new(),
            stage: Stage::PowerOn,
            first: t,
            last: t,
            error: None,
            steps: Vec::new(),
        }
    }

    fn step(&mut self, t: f64, stage: Stage, what: String) {
        if stage > self.stage {
            self.stage = stage;
            // Getting further clears an earlier error (a retried file, a second DISCOVER).
            self.error = None;
        }
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        self.steps.push(Step { at: t, stage, what });
    }

    /// When the machine first reached `stage`, if it did.
    pub fn reached(&self, stage: Stage) -> Option<f64> {
        self.steps
            .iter()
            .filter(|s| s.stage == stage)
            .map(|s| s.at)
            .reduce(f64::min)
    }

    /// A name for tables: the MAC, else the address.
    pub fn id(&self) -> String {
        match (self.mac, self.ip) {
            (Some(m), _) => m.to_string(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => "?".into(),
        }
    }
}

/// Machines by MAC (or by address until DHCP names them), fed one line at a time.
#[derive(Debug, Default)]
pub struct Tracker {
    machines: Vec<Machine>,
    by_mac: BTreeMap<Mac, usize>,
    by_ip: BTreeMap<Ipv4Addr, usize>,
    /// proxyDHCP transactions by id: its detail lines name no machine.
    by_xid: BTreeMap<u32, usize>,
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Reads one line and files it under its machine; returns what it said, if anything.
    pub fn feed(&mut self, who: &str, text: &str, at: SystemTime) -> Option<Seen> {
        let seen = parse(who, text, at)?;
        self.record(&seen);
        Some(seen)
    }

    /// `ip` is machine `i`'s address now: a machine seen by that address before (a log that
    /// began mid-boot, or proxy mode, where the address comes from elsewhere) is this one.
    fn link(&mut self, i: usize, ip: Ipv4Addr) {
        if let Some(j) = self.by_ip.get(&ip).copied().filter(|j| *j != i) {
            if self.machines[j].mac.is_none() {
                let steps = std::mem::take(&mut self.machines[j].steps);
                for st in steps {
                    self.machines[i].step(st.at, st.stage, st.what);
                }
                self.machines[j].stage = Stage::PowerOn;
            }
        }
        self.by_ip.insert(ip, i);
        self.machines[i].ip = Some(ip);
    }

    fn by_mac(&mut self, mac: Mac, t: f64) -> usize {
        if let Some(&i) = self.by_mac.get(&mac) {
            return i;
        }
        self.machines.push(Machine::new(Some(mac), None, t));
        let i = self.machines.len() - 1;
        self.by_mac.insert(mac, i);
        i
    }

    fn by_ip(&mut self, ip: Ipv4Addr, t: f64) -> usize {
        if let Some(&i) = self.by_ip.get(&ip) {
            return i;
        }
        self.machines.push(Machine::new(None, Some(ip), t));
        let i = self.machines.len() - 1;
        self.by_ip.insert(ip, i);
        i
    }

    fn record(&mut self, s: &Seen) {
        let t = epoch(s.at);
        match &s.what {
            What::Discover { mac } => {
                let i = self.by_mac(*mac, t);
                self.machines[i].step(t, Stage::PowerOn, "DHCPDISCOVER".into());
            }
            What::Offer { ip, mac } => {
                let i = self.by_mac(*mac, t);
                self.machines[i].step(t, Stage::PowerOn, format!("DHCPOFFER {ip}"));
            }
            What::Ack { ip, mac } => {
                let i = self.by_mac(*mac, t);
                self.link(i, *ip);
                let m = &mut self.machines[i];
                if !m.leases.contains(ip) {
                    m.leases.push(*ip);
                }
                m.step(t, Stage::Dhcp, format!("DHCPACK {ip}"));
            }
            What::ProxyOffer { xid, mac, ip, file } => {
                let i = self.by_mac(*mac, t);
                self.by_xid.insert(*xid, i);
                if let Some(ip) = ip {
                    self.link(i, *ip);
                }
                // A reply naming its file is followed by its detail line (`ProxyFile`),
                // which records the file.
                if file.is_none() {
                    self.machines[i].step(t, Stage::PowerOn, "proxyDHCP offer".into());
                }
            }
            What::ProxyFile { xid, file } => {
                if let Some(&i) = self.by_xid.get(xid) {
                    // The address came from the network's DHCP server; the boot file from
                    // pxe-kit's proxy: together the DHCP stage of server mode.
                    self.machines[i].step(t, Stage::Dhcp, format!("proxyDHCP boot file {file}"));
                }
            }
            What::DhcpError { mac, why } => {
                let i = self.by_mac(*mac, t);
                let m = &mut self.machines[i];
                m.step(t, Stage::PowerOn, format!("DHCP: {why}"));
                m.error = Some(format!("DHCP: {why}"));
            }
            What::Tftp { ip, file } => {
                let i = self.by_ip(*ip, t);
                self.machines[i].step(t, file_stage(file, false), format!("TFTP {file}"));
            }
            What::TftpError { ip, why } => {
                let i = self.by_ip(*ip, t);
                let m = &mut self.machines[i];
                // tftpd logs the request, then the refusal: the file was not fetched after
                // all. pxelinux probes per-machine names that need not exist, so only a
                // refused kernel or initrd is the machine's error.
                let Some(k) = m.steps.iter().rposition(|s| s.what.starts_with("TFTP ")) else {
                    return;
                };
                let file = m.steps.remove(k).what["TFTP ".len()..].to_string();
                m.stage = m
                    .steps
                    .iter()
                    .map(|s| s.stage)
                    .max()
                    .unwrap_or(Stage::PowerOn);
                if file_stage(&file, false) == Stage::KernelLoad {
                    m.error = Some(format!("TFTP {file}: {why}"));
                }
            }
            What::Http {
                ip,
                method,
                path,
                status,
                bytes,
                start,
                secs,
            } => {
                let i = self.by_ip(*ip, t);
                let stage = file_stage(path, true);
                let start = start.map(epoch).unwrap_or(t);
                let m = &mut self.machines[i];
                let mut what = format!("{method} {path} -> {status}");
                if let (Some(b), Some(s)) = (bytes, secs) {
                    what += &format!(", {b} bytes in {s:.2} s");
                }
                if *status >= 400 {
                    m.error = Some(format!("HTTP {path}: {status}"));
                    m.first = m.first.min(start);
                    m.last = m.last.max(start);
                    m.steps.push(Step {
                        at: start,
                        stage,
                        what,
                    });
                } else {
                    // The request is logged when it ends; it counts from its end.
                    m.step(start + secs.unwrap_or(0.0), stage, what);
                }
            }
            What::NfsMount { ip, version } => {
                let i = self.by_ip(*ip, t);
                self.machines[i].step(t, Stage::NfsRoot, format!("{version} mount"));
            }
        }
    }

    /// Every machine seen, in the order first seen (merged records left out).
    pub fn machines(&self) -> Vec<&Machine> {
        self.machines
            .iter()
            .filter(|m| m.mac.is_some() || !m.steps.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn kea_lines_of_2_2_and_later_read_as_offers_and_acks() {
        let p = |t| parse("kea", t, at(0)).map(|s| s.what);
        let mac: Mac = "52:54:00:aa:00:02".parse().unwrap();
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(
            p("INFO  [kea-dhcp4.leases] DHCP4_LEASE_ADVERT [hwtype=1 52:54:00:aa:00:02], cid=[no info], tid=0xc340ec6d: lease 10.88.0.11 will be advertised"),
            Some(What::Offer { ip: ip("10.88.0.11"), mac })
        );
        // 2.5.3 renamed ADVERT to OFFER; MACs may come in capitals.
        assert_eq!(
            p("INFO  [kea-dhcp4.leases/4242.1] DHCP4_LEASE_OFFER [hwtype=1 52:54:00:AA:00:02], cid=[01:02], tid=0x1: lease 10.88.0.12 will be offered"),
            Some(What::Offer { ip: ip("10.88.0.12"), mac })
        );
        assert_eq!(
            p("INFO  [kea-dhcp4.leases] DHCP4_LEASE_ALLOC [hwtype=1 52:54:00:aa:00:02], cid=[no info], tid=0xc340ec6d: lease 10.88.0.11 has been allocated for 3600 seconds"),
            Some(What::Ack { ip: ip("10.88.0.11"), mac })
        );
        assert_eq!(
            p("WARN  [kea-dhcp4.alloc-engine] DHCP4_ALLOC_FAIL_SUBNET [hwtype=1 52:54:00:aa:00:02], cid=[no info], tid=0x5: failed to allocate an IPv4 lease in the subnet 10.88.0.0/24, subnet-id 1, shared network (none)"),
            Some(What::DhcpError {
                mac,
                why: "ALLOC_FAIL_SUBNET: failed to allocate an IPv4 lease in the subnet 10.88.0.0/24, subnet-id 1, shared network (none)".into()
            })
        );
        assert_eq!(
            p("INFO  [kea-dhcp4.dhcp4] DHCP4_STARTED Kea DHCPv4 server version 2.2.0 started"),
            None
        );
        assert!(is_kea("kea-dhcp4") && is_kea("kea") && !is_kea("dhcpd"));
    }

    /// Lines dnsmasq 2.90 wrote (proxy mode, `log-dhcp`, `--log-facility=-` as under serve)
    /// for a BIOS iPXE client: its proxy offer, then its boot-server request on udp/4011 with
    /// the address the network's server gave it; TFTP seen by that address first is merged.
    #[test]
    fn proxy_dhcp_lines_give_the_boot_file_and_link_the_address() {
        let mut tr = Tracker::new();
        let lines = [
            ("tftpd", "RRQ from 10.99.0.50 filename lpxelinux.0"),
            ("dnsmasq", "dnsmasq-dhcp[22540]: 3131129162 vendor class: PXEClient:Arch:00000:UNDI:002001"),
            ("dnsmasq", "dnsmasq-dhcp[22540]: 3131129162 PXE(pxkdm0) 52:54:00:aa:bb:01 proxy"),
            ("dnsmasq", "dnsmasq-dhcp[22540]: 4660 PXE(pxkdm0) 10.99.0.50 52:54:00:aa:bb:01 http://10.99.0.1/pxe-kit/ipxe/boot.ipxe"),
            ("dnsmasq", "dnsmasq-dhcp[22540]: 4660 tags: ipxe, pxkdm0"),
            ("dnsmasq", "dnsmasq-dhcp[22540]: 4660 bootfile name: http://10.99.0.1/pxe-kit/ipxe/boot.ipxe"),
            // The journal's form (identifier dnsmasq-dhcp, no prefix), another machine.
            ("dnsmasq-dhcp", "77 PXE(ens4) 52:54:00:aa:bb:02 proxy"),
            ("dnsmasq-dhcp", "77 bootfile name: uefi/shimx64.efi"),
            ("dnsmasq-dhcp", "77 next server: 10.99.0.1"),
        ];
        for (n, (who, l)) in lines.iter().enumerate() {
            tr.feed(who, l, at(n as u64));
        }
        let ms = tr.machines();
        assert_eq!(ms.len(), 2, "{ms:#?}");
        let a = ms[0];
        assert_eq!(a.mac, Some("52:54:00:aa:bb:01".parse().unwrap()));
        assert_eq!(a.ip, Some("10.99.0.50".parse().unwrap()));
        // Its TFTP read, seen by address before the proxy named it, is its own.
        assert_eq!(a.stage, Stage::Loader, "{a:#?}");
        assert!(a
            .steps
            .iter()
            .any(|s| s.what == "proxyDHCP boot file http://10.99.0.1/pxe-kit/ipxe/boot.ipxe"));
        assert!(
            a.steps.iter().any(|s| s.what == "TFTP lpxelinux.0"),
            "{a:#?}"
        );
        let b = ms[1];
        assert_eq!(b.stage, Stage::Dhcp);
        assert_eq!(
            b.steps.last().unwrap().what,
            "proxyDHCP boot file uefi/shimx64.efi"
        );
        // Not dnsmasq's, or not a PXE line: nothing.
        assert_eq!(
            parse("cron", "77 PXE(ens4) 52:54:00:aa:bb:02 proxy", at(0)),
            None
        );
        assert_eq!(parse("dnsmasq", "77 next server: 10.99.0.1", at(0)), None);
        assert_eq!(
            parse("dnsmasq", "99999999999 bootfile name: x", at(0)),
            None
        );
    }

    #[test]
    fn dhcpd_lines_name_the_machine() {
        let p = |t| parse("dhcpd", t, at(0)).map(|s| s.what);
        let mac: Mac = "52:54:00:77:00:10".parse().unwrap();
        assert_eq!(
            p("DHCPOFFER on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
            Some(What::Offer {
                ip: "10.77.0.100".parse().unwrap(),
                mac
            })
        );
        assert_eq!(
            p("DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 (node01) via pxk-br0"),
            Some(What::Ack {
                ip: "10.77.0.100".parse().unwrap(),
                mac
            })
        );
        assert_eq!(
            p("DHCPDISCOVER from 52:54:00:77:00:10 via pxk-br0: network 10.77.0.0/24: no free leases"),
            Some(What::DhcpError {
                mac,
                why: "network 10.77.0.0/24: no free leases".into()
            })
        );
        assert_eq!(p("Wrote 3 leases to leases file."), None);
        assert_eq!(
            parse("cron", "DHCPACK on 1.2.3.4 to 52:54:00:77:00:10", at(0)),
            None
        );
    }

    #[test]
    fn a_boot_is_followed_from_dhcp_to_root() {
        let mut t = Tracker::new();
        let lines = [
            ("dhcpd", "DHCPDISCOVER from 52:54:00:77:00:10 via pxk-br0"),
            ("dhcpd", "DHCPOFFER on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
            ("dhcpd", "DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
            ("tftpd", "RRQ from 10.77.0.100 filename lpxelinux.0"),
            ("tftpd", "RRQ from 10.77.0.100 filename pxelinux.cfg/01-52-54-00-77-00-10"),
            ("tftpd", "sending NAK (1, File not found) to 10.77.0.100"),
            ("tftpd", "RRQ from 10.77.0.100 filename pxelinux.cfg/default"),
            ("httpd", "1800000005.000 10.77.0.100 \"GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz HTTP/1.0\" 200 8000000 500000"),
            ("httpd", "1800000006.000 10.77.0.100 \"GET /pxe-kit/demo/squashfs.img HTTP/1.1\" 200 64000000 2000000"),
            ("dhcpd", "DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
        ];
        for (i, (who, text)) in lines.iter().enumerate() {
            t.feed(who, text, at(i as u64));
        }
        let ms = t.machines();
        assert_eq!(ms.len(), 1, "{ms:#?}");
        let m = ms[0];
        assert_eq!(m.stage, Stage::RootImage);
        assert_eq!(m.leases, ["10.77.0.100".parse::<Ipv4Addr>().unwrap()]);
        assert_eq!(m.error, None, "a probed per-machine name is no error");
        assert_eq!(m.reached(Stage::KernelLoad), Some(1_800_000_005.5));
        assert_eq!(m.reached(Stage::RootImage), Some(1_800_000_008.0));
    }

    #[test]
    fn two_leases_and_errors_are_kept() {
        let mut t = Tracker::new();
        t.feed(
            "dhcpd",
            "DHCPACK on 10.0.0.100 to 52:54:00:00:00:01 via br0",
            at(0),
        );
        t.feed(
            "dhcpd",
            "DHCPACK on 10.0.0.101 to 52:54:00:00:00:01 via br0",
            at(9),
        );
        t.feed(
            "httpd",
            "1800000010.000 10.0.0.101 \"GET /pxe-kit/x/squashfs.img HTTP/1.1\" 404 196 300",
            at(10),
        );
        let m = t.machines()[0].clone();
        assert_eq!(m.leases.len(), 2);
        assert_eq!(m.ip, Some("10.0.0.101".parse().unwrap()));
        assert_eq!(
            m.error.as_deref(),
            Some("HTTP /pxe-kit/x/squashfs.img: 404")
        );
        assert_eq!(m.stage, Stage::Dhcp, "a 404 is not a fetched root");
    }

    /// A 400-digit start time (infinite as f64) made `status` exit 101; a 400-digit duration
    /// made every later time of the machine infinite.
    #[test]
    fn access_lines_with_impossible_numbers_are_skipped() {
        let d = "9".repeat(400);
        let line = format!("{d}.0 10.0.0.5 \"GET /x HTTP/1.1\" 200 5 1");
        assert_eq!(parse("httpd", &line, at(0)), None);
        let line = format!("1.5 10.0.0.5 \"GET /x HTTP/1.1\" 200 5 {d}");
        match parse("httpd", &line, at(0)).map(|s| s.what) {
            Some(What::Http { start, secs, .. }) => {
                assert_eq!(start, Some(UNIX_EPOCH + Duration::from_millis(1500)));
                assert_eq!(secs, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(at_epoch(f64::NAN), None);
        assert_eq!(at_epoch(-0.5), None);
        assert_eq!(at_epoch(1.0), Some(UNIX_EPOCH + Duration::from_secs(1)));
    }

    #[test]
    fn ganesha_client_records_are_mounts() {
        let p = |l| parse("nfs", l, at(0)).map(|s| s.what);
        assert_eq!(
            p(": CLIENT ID :DEBUG :Created client name [::ffff:10.77.0.50-(20:Linux NFSv4.2 (none))]"),
            Some(What::NfsMount {
                ip: "10.77.0.50".parse().unwrap(),
                version: "NFSv4.2".into()
            })
        );
        for l in [
            ": NFS STARTUP :EVENT :             NFS SERVER INITIALIZED",
            ": CLIENT ID :DEBUG :CREATE_SESSION client addr=::ffff:10.77.0.50",
            ": DBUS :CRIT :dbus_bus_get failed",
            "garbage",
        ] {
            assert_eq!(p(l), None, "{l}");
        }
    }

    #[test]
    fn a_machine_seen_by_address_first_is_merged_when_dhcp_names_it() {
        let mut t = Tracker::new();
        t.feed(
            "tftpd",
            "RRQ from 10.0.0.50 filename pxe-kit/x/vmlinuz",
            at(0),
        );
        t.feed(
            "dhcpd",
            "DHCPACK on 10.0.0.50 to 52:54:00:00:00:02 via br0",
            at(1),
        );
        let ms = t.machines();
        let named: Vec<_> = ms.iter().filter(|m| m.mac.is_some()).collect();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].stage, Stage::KernelLoad);
    }
}
