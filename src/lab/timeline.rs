//! The boot timeline: turns the daemons' log lines and the VM's serial console into stages
//! with seconds since power-on, sizes and rates, and spots success and failure. Pure: lines and
//! their arrival times go in, the caller supplies file sizes.
use std::collections::VecDeque;
use std::sync::LazyLock;
use std::time::SystemTime;

use regex::Regex;

/// The demo image's marker, the default success pattern.
pub const DEMO_MARKER: &str = "PXE-KIT-DEMO-OK";

pub use crate::track::Stage;
use crate::track::What;

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since power-on.
    pub t: f64,
    pub stage: Stage,
    pub what: String,
    pub file: Option<String>,
    pub bytes: Option<u64>,
    /// Transfer time, when known.
    pub secs: Option<f64>,
    /// How the file came ("TFTP", "HTTP"), shown instead of the stage's label.
    pub via: Option<&'static str>,
}

pub struct Timeline {
    t0: SystemTime,
    marker: Regex,
    events: Vec<Event>,
    pub reached: Stage,
    pub success: bool,
    /// Stage the boot failed in and the console line that says so.
    pub failure: Option<(Stage, String)>,
    console: VecDeque<String>,
}

static LOADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Loading ([^\s.]\S*?)\.{2,}.*o+k+$").expect("regex"));
/// iPXE's failure line: `URL... Error text (https://ipxe.org/XXXXXXXX)`.
static IPXE_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(https?://[^/\s]+(/\S*?))\.\.\. .*\(https?://ipxe\.org/[0-9a-f]{8}\)")
        .expect("regex")
});
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-_])").expect("regex")
});
static FAILURES: LazyLock<Vec<(Regex, Option<Stage>)>> = LazyLock::new(|| {
    [
        (
            // pxelinux with menu.c32 says "Loading F... failed: No such file or directory"
            // and shows the menu again; without the menu, "Could not find kernel image".
            r"Could not find (kernel|ramdisk) image|Loading \S+?\.{2,}.*failed",
            Some(Stage::KernelLoad),
        ),
        (
            r"Failed to load ldlinux\.c32|Unable to locate configuration file",
            Some(Stage::Loader),
        ),
        (
            r"No more network devices|No bootable device|PXE-E\d\d",
            Some(Stage::Dhcp),
        ),
        (r"Kernel panic", None),
        (r"Boot failed", None),
        (
            r"dracut: FATAL|dracut-initqueue.*timeout, still waiting",
            None,
        ),
    ]
    .into_iter()
    .map(|(r, s)| (Regex::new(r).expect("regex"), s))
    .collect()
});

/// Serial output without terminal escapes (pxelinux's menu draws with them) or stray CRs.
pub fn clean_console(s: &str) -> String {
    ANSI.replace_all(s, "")
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

fn secs_between(t0: SystemTime, at: SystemTime) -> f64 {
    match at.duration_since(t0) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

pub fn human_bytes(b: u64) -> String {
    let f = b as f64;
    if f >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", f / 1024.0 / 1024.0)
    } else if f >= 1024.0 {
        format!("{:.1} KiB", f / 1024.0)
    } else {
        format!("{b} B")
    }
}

fn event(t: f64, stage: Stage, what: String) -> Event {
    Event {
        t,
        stage,
        what,
        file: None,
        bytes: None,
        secs: None,
        via: None,
    }
}

impl Timeline {
    pub fn new(t0: SystemTime, marker: Regex) -> Timeline {
        Timeline {
            t0,
            marker,
            events: Vec::new(),
            reached: Stage::PowerOn,
            success: false,
            failure: None,
            console: VecDeque::new(),
        }
    }

    fn push(&mut self, e: Event) {
        if e.stage > self.reached {
            self.reached = e.stage;
        }
        self.events.push(e);
    }

    /// Loaders that print nothing when a TFTP transfer ends (GRUB, syslinux.efi) fetch one
    /// file after the other: the previous file's transfer took until this request (or until
    /// the kernel started). pxelinux's "ok" line, when it comes, is more precise and wins.
    fn close_tftp_transfer(&mut self, t: f64) {
        if let Some(e) = self
            .events
            .iter_mut()
            .rev()
            .find(|e| e.stage == Stage::KernelLoad)
        {
            if e.via == Some("TFTP") && e.secs.is_none() && e.bytes.is_some() && t > e.t {
                e.secs = Some(t - e.t);
            }
        }
    }

    /// The boot's verdict so far: `Some(Ok)` at the marker, `Some(Err(line))` at a failure
    /// line, `None` while it is still going.
    pub fn outcome(&self) -> Option<Result<(), String>> {
        if self.success {
            return Some(Ok(()));
        }
        self.failure.as_ref().map(|(_, line)| Err(line.clone()))
    }

    fn first(&self, stage: Stage) -> bool {
        !self.events.iter().any(|e| e.stage == stage)
    }

    /// Takes one line from `who` (dhcpd or kea, tftpd, httpd, console) that arrived at `at`.
    /// `size_of` answers the size of a file in the TFTP root.
    pub fn feed(
        &mut self,
        who: &str,
        text: &str,
        at: SystemTime,
        size_of: &dyn Fn(&str) -> Option<u64>,
    ) {
        if who == "console" {
            let t = secs_between(self.t0, at);
            return self.console_line(&clean_console(text), t);
        }
        let Some(seen) = crate::track::parse(who, text, at) else {
            return;
        };
        let t = secs_between(self.t0, seen.at);
        // Kea's lease messages read as dhcpd's; the timeline says which daemon answered.
        let by = if crate::track::is_kea(who) {
            " (Kea)"
        } else if who == crate::lab::office::WHO {
            " (the network's DHCP server)"
        } else {
            ""
        };
        match seen.what {
            What::Offer { ip, mac } => self.push(event(
                t,
                Stage::Dhcp,
                format!("DHCPOFFER {ip} to {mac}{by}"),
            )),
            What::Ack { ip, mac } => {
                self.push(event(t, Stage::Dhcp, format!("DHCPACK {ip} to {mac}{by}")))
            }
            What::Tftp { file, .. } => self.tftp(t, file, size_of),
            What::Http {
                method,
                path,
                status,
                bytes,
                start,
                secs,
                ..
            } => {
                let mut what = format!("{method} {path} -> {status}");
                if let Some(b) = bytes {
                    what += &format!(", {}", human_bytes(b));
                    if let Some(s) = secs {
                        what += &format!(" in {s:.2} s");
                    }
                }
                let stage = crate::track::file_stage(&path, true);
                self.push(Event {
                    t: start.map(|s| secs_between(self.t0, s)).unwrap_or(t),
                    stage,
                    what,
                    file: Some(path),
                    bytes,
                    secs,
                    via: Some("HTTP"),
                });
            }
            // Proxy mode: the address is the network's DHCP server's (its DHCPACK above), the
            // boot file pxe-kit's proxy's.
            What::ProxyFile { file, .. } => self.push(event(
                t,
                Stage::Dhcp,
                format!("boot file {file} from pxe-kit's proxyDHCP (dnsmasq)"),
            )),
            What::NfsMount { ip, version } => self.push(event(
                t,
                Stage::NfsRoot,
                format!("{version} client {ip} mounted its root"),
            )),
            What::Discover { .. }
            | What::DhcpError { .. }
            | What::TftpError { .. }
            | What::ProxyOffer { .. } => {}
        }
    }

    /// A TFTP read request: pxelinux probes many config names that do not exist; show only
    /// real files and the image's own files (whose absence is the news).
    fn tftp(&mut self, t: f64, file: String, size_of: &dyn Fn(&str) -> Option<u64>) {
        let image_file = file.starts_with("pxe-kit/");
        let size = size_of(&file);
        if size.is_none() && !image_file {
            return;
        }
        let stage = if image_file {
            Stage::KernelLoad
        } else {
            Stage::Loader
        };
        let what = match size {
            Some(b) => format!("{file} ({})", human_bytes(b)),
            None => format!("{file} (not found on the server)"),
        };
        // A loader retrying a missing file would flood the timeline.
        let repeat =
            size.is_none() && self.events.last().and_then(|e| e.file.as_deref()) == Some(&file);
        if !repeat {
            if stage == Stage::KernelLoad {
                self.close_tftp_transfer(t);
            }
            self.push(Event {
                file: Some(file),
                bytes: size,
                via: Some("TFTP"),
                ..event(t, stage, what)
            });
        }
    }

    fn console_line(&mut self, line: &str, t: f64) {
        if line.is_empty() {
            return;
        }
        self.console.push_back(line.to_string());
        if self.console.len() > 25 {
            self.console.pop_front();
        }
        if self.marker.is_match(line) {
            if !self.success {
                self.push(event(t, Stage::Userspace, format!("marker: {line}")));
            }
            self.success = true;
            return;
        }
        if let Some(c) = LOADING.captures(line) {
            let file = c[1].trim_start_matches('/').to_string();
            if let Some(e) = self
                .events
                .iter_mut()
                .rev()
                .find(|e| e.stage == Stage::KernelLoad && e.file.as_deref() == Some(&file))
            {
                e.secs = Some((t - e.t).max(0.001));
            }
        }
        if line.contains("iPXE") && self.first(Stage::PowerOn) {
            self.push(event(
                t,
                Stage::PowerOn,
                "iPXE (the NIC's boot ROM) started".into(),
            ));
        } else if line.contains("PXELINUX")
            && !self.events.iter().any(|e| e.what.starts_with("pxelinux"))
        {
            self.push(event(t, Stage::Loader, "pxelinux started".into()));
        } else if line.contains("Start PXE over IPv4") && self.first(Stage::PowerOn) {
            self.push(event(
                t,
                Stage::PowerOn,
                "UEFI PXE (the firmware's own) started".into(),
            ));
        } else if line.contains("EFI stub: UEFI Secure Boot is enabled") {
            // The kernel's first words, and proof it was verified (shim's protocol) to get here.
            self.close_tftp_transfer(t);
            self.push(event(t, Stage::KernelStart, line.to_string()));
        } else if let Some(i) = line.find("Linux version") {
            self.close_tftp_transfer(t);
            if !self
                .events
                .iter()
                .any(|e| e.what.starts_with("Linux version"))
            {
                // Only "Linux version X": the rest (compiler, build date) is noise here.
                let v: Vec<&str> = line[i..].split_whitespace().take(3).collect();
                self.push(event(t, Stage::KernelStart, v.join(" ")));
            }
        } else if (line.contains("Run /init as init process") || line.starts_with("dracut"))
            && self.first(Stage::Initramfs)
        {
            self.push(event(t, Stage::Initramfs, line.to_string()));
        }
        if self.failure.is_none() && !self.success {
            // Only a kernel or initrd iPXE could not fetch is fatal: a missing per-host script
            // or boot.ipxe has a fallback.
            if let Some(c) = IPXE_FAIL.captures(line) {
                if crate::track::file_stage(&c[2], true) == Stage::KernelLoad {
                    self.failure = Some((Stage::KernelLoad, line.to_string()));
                    return;
                }
            }
            for (re, stage) in FAILURES.iter() {
                if re.is_match(line) {
                    let s = stage.unwrap_or(self.reached.next());
                    self.failure = Some((s, line.to_string()));
                    break;
                }
            }
        }
    }

    /// The last console lines, oldest first, each cut to 160 characters (menus redraw whole
    /// screens on one line).
    pub fn last_console(&self, n: usize) -> Vec<String> {
        let skip = self.console.len().saturating_sub(n);
        self.console
            .iter()
            .skip(skip)
            .map(|l| match l.char_indices().nth(160) {
                Some((i, _)) => format!("{}...", &l[..i]),
                None => l.clone(),
            })
            .collect()
    }

    pub fn events(&self) -> Vec<Event> {
        let mut v = self.events.clone();
        v.sort_by(|a, b| a.t.total_cmp(&b.t));
        v
    }

    /// The stage a failed boot stopped in: the one named by a failure line, else the one after
    /// the last stage reached.
    pub fn stopped_at(&self) -> Stage {
        match &self.failure {
            Some((s, _)) => *s,
            None => self.reached.next(),
        }
    }

    /// How long each phase of a successful boot took, in boot order: (phase, seconds). A
    /// phase runs from the first event of its stage to the first event of the next stage that
    /// happened; stages that never showed (a direct kernel boot has no DHCP before the kernel,
    /// no loader) or only showed later (the initramfs's own DHCP) get no phase.
    pub fn phases(&self) -> Vec<(&'static str, f64)> {
        const NAMES: [(Stage, &str); 7] = [
            (Stage::PowerOn, "firmware"),
            (Stage::Dhcp, "DHCP"),
            (Stage::Loader, "loader"),
            (Stage::KernelLoad, "kernel+initrd"),
            (Stage::KernelStart, "kernel"),
            (Stage::Initramfs, "initramfs"),
            (Stage::RootImage, "root+userspace"),
        ];
        let ev = self.events();
        let first = |st: Stage| ev.iter().find(|e| e.stage == st).map(|e| e.t);
        let Some(end) = first(Stage::Userspace) else {
            return Vec::new();
        };
        let mut marks: Vec<(&str, f64)> = NAMES
            .iter()
            .filter_map(|(st, n)| match st {
                Stage::PowerOn => Some((*n, 0.0)),
                _ => first(*st).map(|t| (*n, t)),
            })
            .collect();
        // Keep only boundaries that come before every later stage's.
        let mut i = 0;
        while i < marks.len() {
            let later_min = marks[i + 1..].iter().map(|m| m.1).fold(end, f64::min);
            if marks[i].1 > later_min {
                marks.remove(i);
            } else {
                i += 1;
            }
        }
        marks
            .iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let next = marks.get(i + 1).map(|m| m.1).unwrap_or(end);
                (*n, (next - t).max(0.0))
            })
            .collect()
    }

    /// `phases` on one line: "firmware 9.8 s (25%), DHCP 3.1 s (8%), …".
    pub fn phases_line(&self) -> String {
        let p = self.phases();
        let total: f64 = p.iter().map(|x| x.1).sum();
        p.iter()
            .map(|(n, s)| {
                format!(
                    "{n} {s:.1} s ({:.0}%)",
                    if total > 0.0 { 100.0 * s / total } else { 0.0 }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The timeline as text, one event per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for e in self.events() {
            let mut what = e.what.clone();
            if let (Some(b), Some(secs)) = (e.bytes, e.secs) {
                let rate = b as f64 / secs.max(0.001) / 1024.0 / 1024.0;
                if e.via == Some("HTTP") {
                    what += &format!(" ({rate:.1} MiB/s)");
                } else {
                    what += &format!(" in {secs:.2} s ({rate:.1} MiB/s)");
                }
            }
            let label = e.via.unwrap_or(e.stage.label());
            s += &format!("{:>7.1}s  {:<9}  {what}\n", e.t, label);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(t0: SystemTime, s: f64) -> SystemTime {
        t0 + Duration::from_secs_f64(s)
    }

    fn sizes(f: &str) -> Option<u64> {
        match f {
            "pxelinux.0" => Some(46_000),
            "pxe-kit/demo/vmlinuz" => Some(8 * 1024 * 1024),
            _ => None,
        }
    }

    #[test]
    fn a_good_boot_yields_every_stage_in_order() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        let lines: &[(f64, &str, &str)] = &[
            (1.0, "console", "iPXE 1.21.1+ -- Open Source Network Boot Firmware"),
            (2.9, "dhcpd", "DHCPDISCOVER from 52:54:00:77:00:10 via pxk-br0"),
            (3.0, "dhcpd", "DHCPOFFER on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
            (3.1, "dhcpd", "DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0"),
            (3.3, "tftpd", "RRQ from 10.77.0.100 filename pxelinux.0"),
            (3.5, "tftpd", "RRQ from 10.77.0.100 filename pxelinux.cfg/01-52-54-00-77-00-10"),
            (5.0, "tftpd", "RRQ from 10.77.0.100 filename pxe-kit/demo/vmlinuz"),
            (6.0, "console", "\x1b[0mLoading pxe-kit/demo/vmlinuz...Loading pxe-kit/demo/vmlinuz...  ook"),
            (10.0, "console", "[    0.000000] Linux version 6.1.0-56-amd64"),
            (13.0, "console", "[    2.1] Run /init as init process"),
            (20.0, "httpd", "1700000018.500 10.77.0.100 \"GET /pxe-kit/demo/squashfs.img HTTP/1.1\" 200 2097152 500000"),
            (31.0, "console", "PXE-KIT-DEMO-OK"),
        ];
        for (t, who, text) in lines {
            tl.feed(who, text, at(t0, *t), &sizes);
        }
        assert!(tl.success);
        assert_eq!(tl.reached, Stage::Userspace);
        let ev = tl.events();
        let stages: Vec<Stage> = ev.iter().map(|e| e.stage).collect();
        let mut sorted = stages.clone();
        sorted.sort();
        assert_eq!(stages, sorted, "{ev:?}");
        // The missing config probe is not shown; the kernel's transfer time comes from the
        // loader's "ok".
        assert!(!ev.iter().any(|e| e.what.contains("01-52-54")));
        let k = ev
            .iter()
            .find(|e| e.file.as_deref() == Some("pxe-kit/demo/vmlinuz"))
            .unwrap();
        assert!((k.secs.unwrap() - 1.0).abs() < 1e-6);
        let h = ev.iter().find(|e| e.stage == Stage::RootImage).unwrap();
        assert!((h.t - 18.5).abs() < 1e-3, "{h:?}");
        assert_eq!(h.bytes, Some(2_097_152));
        let r = tl.render();
        assert!(r.contains("4.0 MiB/s"), "{r}");
        assert!(r.contains("8.0 MiB/s"), "{r}");
        assert!(r.contains("userspace"), "{r}");
    }

    #[test]
    fn keas_lease_lines_are_the_dhcp_stage() {
        let t0 = UNIX_EPOCH;
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        for (t, text) in [
            (2.0, "INFO  [kea-dhcp4.dhcp4] DHCP4_STARTED Kea DHCPv4 server version 2.2.0 started"),
            (3.0, "INFO  [kea-dhcp4.leases] DHCP4_LEASE_ADVERT [hwtype=1 52:54:00:77:00:10], cid=[no info], tid=0x1: lease 10.77.0.100 will be advertised"),
            (3.1, "INFO  [kea-dhcp4.leases] DHCP4_LEASE_ALLOC [hwtype=1 52:54:00:77:00:10], cid=[no info], tid=0x1: lease 10.77.0.100 has been allocated for 3600 seconds"),
        ] {
            tl.feed("kea", text, at(t0, t), &sizes);
        }
        assert_eq!(tl.reached, Stage::Dhcp);
        let ev = tl.events();
        let what: Vec<&str> = ev.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "DHCPOFFER 10.77.0.100 to 52:54:00:77:00:10 (Kea)",
                "DHCPACK 10.77.0.100 to 52:54:00:77:00:10 (Kea)"
            ]
        );
    }

    #[test]
    fn a_missing_kernel_stops_at_the_kernel_tftp_stage() {
        let t0 = UNIX_EPOCH;
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        tl.feed(
            "dhcpd",
            "DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 via pxk-br0",
            at(t0, 3.0),
            &sizes,
        );
        tl.feed(
            "tftpd",
            "RRQ from 10.77.0.100 filename pxe-kit/demo/initrd.img",
            at(t0, 5.0),
            &sizes,
        );
        tl.feed(
            "console",
            "Could not find kernel image: pxe-kit/demo/initrd.img",
            at(t0, 6.0),
            &sizes,
        );
        assert!(!tl.success);
        assert_eq!(tl.stopped_at(), Stage::KernelLoad);
        assert!(tl.render().contains("not found on the server"));
        assert_eq!(
            tl.last_console(1),
            ["Could not find kernel image: pxe-kit/demo/initrd.img"]
        );
    }

    #[test]
    fn a_menu_reporting_a_failed_load_stops_at_the_kernel_stage() {
        let mut tl = Timeline::new(UNIX_EPOCH, Regex::new(DEMO_MARKER).unwrap());
        for _ in 0..3 {
            tl.feed(
                "tftpd",
                "RRQ from 10.77.0.100 filename pxe-kit/gone/vmlinuz",
                UNIX_EPOCH,
                &sizes,
            );
        }
        assert_eq!(tl.events().len(), 1, "retries are shown once");
        tl.feed(
            "console",
            "Loading pxe-kit/gone/vmlinuz...Loading pxe-kit/gone/vmlinuz...  failed:failed:  No such file or directorNo such file or directory",
            UNIX_EPOCH,
            &sizes,
        );
        assert_eq!(tl.stopped_at(), Stage::KernelLoad);
        assert!(tl.failure.is_some());
    }

    #[test]
    fn silence_after_dhcp_points_at_the_loader() {
        let mut tl = Timeline::new(UNIX_EPOCH, Regex::new("x").unwrap());
        tl.feed(
            "dhcpd",
            "DHCPOFFER on 10.0.0.5 to aa:bb:cc:dd:ee:ff via br0",
            UNIX_EPOCH,
            &sizes,
        );
        assert_eq!(tl.stopped_at(), Stage::Loader);
    }

    #[test]
    fn grub_over_tftp_and_http_fetches_get_labels_and_rates() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        let sizes = |f: &str| match f {
            "uefi/shimx64.efi" => Some(1_048_504),
            "grub/grub.cfg" => Some(900),
            "pxe-kit/demo/vmlinuz" => Some(8 * 1024 * 1024),
            "pxe-kit/demo/initrd.img" => Some(28 * 1024 * 1024),
            _ => None,
        };
        let lines: &[(f64, &str, &str)] = &[
            (9.0, "console", ">>Start PXE over IPv4."),
            (12.0, "dhcpd", "DHCPACK on 10.77.0.101 to 52:54:00:77:00:10 via pxk-br0"),
            (12.1, "tftpd", "RRQ from 10.77.0.101 filename uefi/shimx64.efi"),
            (15.0, "tftpd", "RRQ from 10.77.0.101 filename /grub/x86_64-efi/command.lst"),
            (15.1, "tftpd", "RRQ from 10.77.0.101 filename /grub/grub.cfg"),
            (16.0, "tftpd", "RRQ from 10.77.0.101 filename /pxe-kit/demo/vmlinuz"),
            (20.0, "tftpd", "RRQ from 10.77.0.101 filename /pxe-kit/demo/initrd.img"),
            (34.0, "console", "EFI stub: UEFI Secure Boot is enabled."),
            (35.0, "console", "[    0.000000] Linux version 6.1.0-56-amd64 (x)"),
            (38.0, "console", "[    2.1] Run /init as init process"),
            (50.0, "httpd", "1700000049.000 10.77.0.100 \"GET /pxe-kit/demo/squashfs.img HTTP/1.1\" 200 1048576 100000"),
            (52.0, "console", "PXE-KIT-DEMO-OK"),
        ];
        for (t, who, text) in lines {
            tl.feed(who, text, at(t0, *t), &sizes);
        }
        let r = tl.render();
        assert!(r.contains("UEFI PXE"), "{r}");
        assert!(r.contains("TFTP       grub/grub.cfg ("), "{r}");
        assert!(!r.contains("command.lst"), "{r}");
        // The kernel's transfer ended when the initrd was asked for, the initrd's when the
        // kernel said hello.
        assert!(
            r.contains("pxe-kit/demo/vmlinuz (8.0 MiB) in 4.00 s (2.0 MiB/s)"),
            "{r}"
        );
        assert!(
            r.contains("pxe-kit/demo/initrd.img (28.0 MiB) in 14.00 s (2.0 MiB/s)"),
            "{r}"
        );
        assert!(r.contains("Secure Boot is enabled"), "{r}");
        assert!(
            r.contains("HTTP       GET /pxe-kit/demo/squashfs.img"),
            "{r}"
        );
        let p = tl.phases();
        let names: Vec<&str> = p.iter().map(|x| x.0).collect();
        assert_eq!(
            names,
            [
                "firmware",
                "DHCP",
                "loader",
                "kernel+initrd",
                "kernel",
                "initramfs",
                "root+userspace"
            ]
        );
        assert!((p[0].1 - 12.0).abs() < 1e-6, "{p:?}");
        assert!((p[3].1 - 18.0).abs() < 1e-6, "{p:?}");
        assert!((p.iter().map(|x| x.1).sum::<f64>() - 52.0).abs() < 1e-6);
        assert!(
            tl.phases_line().starts_with("firmware 12.0 s (23%), DHCP"),
            "{}",
            tl.phases_line()
        );
    }

    #[test]
    fn ipxe_script_and_kernel_over_http_are_loader_and_kernel_stages() {
        assert_eq!(
            crate::track::file_stage("/pxe-kit/boot.ipxe", true),
            Stage::Loader
        );
        assert_eq!(
            crate::track::file_stage("/pxe-kit-tftp/pxe-kit/demo/vmlinuz", true),
            Stage::KernelLoad
        );
        assert_eq!(
            crate::track::file_stage("/pxe-kit-tftp/ldlinux.c32", true),
            Stage::Loader
        );
        assert_eq!(
            crate::track::file_stage("/pxe-kit/demo/squashfs.img", true),
            Stage::RootImage
        );
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        tl.feed(
            "httpd",
            "1700000005.000 10.77.0.100 \"GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz HTTP/1.1\" 200 8388608 1000000",
            at(t0, 6.0),
            &sizes,
        );
        let r = tl.render();
        assert!(
            r.contains("5.0s  HTTP       GET /pxe-kit-tftp/pxe-kit/demo/vmlinuz -> 200, 8.0 MiB in 1.00 s (8.0 MiB/s)"),
            "{r}"
        );
        assert_eq!(tl.reached, Stage::KernelLoad);
    }

    #[test]
    fn a_direct_kernel_boot_has_no_dhcp_or_loader_phase() {
        let t0 = UNIX_EPOCH;
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).unwrap());
        tl.feed("console", "Linux version 6.1", at(t0, 2.0), &sizes);
        tl.feed("console", "Run /init as init process", at(t0, 5.0), &sizes);
        tl.feed(
            "dhcpd",
            "DHCPACK on 10.77.0.100 to 52:54:00:77:00:10 via b",
            at(t0, 8.0),
            &sizes,
        );
        assert!(tl.phases().is_empty(), "no marker, no phases");
        tl.feed("console", "PXE-KIT-DEMO-OK", at(t0, 20.0), &sizes);
        let names: Vec<&str> = tl.phases().iter().map(|x| x.0).collect();
        assert_eq!(names, ["firmware", "kernel", "initramfs"]);
    }

    #[test]
    fn ipxe_failing_to_fetch_the_kernel_is_the_kernel_stage_but_a_missing_host_script_is_not() {
        let mut tl = Timeline::new(UNIX_EPOCH, Regex::new(DEMO_MARKER).unwrap());
        tl.feed(
            "console",
            "http://10.77.0.1/pxe-kit/ipxe/hosts/52-54-00-77-00-10.ipxe... No such file or directory (https://ipxe.org/2d0c618e)",
            UNIX_EPOCH,
            &sizes,
        );
        assert!(tl.failure.is_none());
        tl.feed(
            "console",
            "http://10.77.0.1/pxe-kit-tftp/pxe-kit/demo/vmlinuz... No such file or directory (https://ipxe.org/2d0c618e)",
            UNIX_EPOCH,
            &sizes,
        );
        assert_eq!(tl.stopped_at(), Stage::KernelLoad);
        assert_eq!(tl.stopped_at().label(), "kernel+initrd");
    }

    #[test]
    fn console_escapes_are_stripped() {
        assert_eq!(clean_console("\x1b[1;1H\x1b[2J  Boot menu\r"), "Boot menu");
    }
}
