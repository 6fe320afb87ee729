//! The boot timeline: turns the daemons' log lines and the VM's serial console into stages
//! with seconds since power-on, sizes and rates, and spots success and failure. Pure: lines and
//! their arrival times go in, the caller supplies file sizes.
use std::collections::VecDeque;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use regex::Regex;

/// The demo image's marker, the default success pattern.
pub const DEMO_MARKER: &str = "PXE-KIT-DEMO-OK";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
            Stage::Loader | Stage::KernelLoad => "TFTP",
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
            Stage::Loader => "fetching the boot loader over TFTP",
            Stage::KernelLoad => "fetching the kernel and initrd over TFTP",
            Stage::KernelStart => "kernel start",
            Stage::Initramfs => "the initramfs",
            Stage::NfsRoot => "mounting the root over NFS",
            Stage::RootImage => "fetching the root image over HTTP",
            Stage::Userspace => "userspace",
        }
    }

    fn next(self) -> Stage {
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

static DHCP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(DHCPOFFER|DHCPACK) on (\S+) to (\S+)").expect("regex"));
static RRQ: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"RRQ from (\S+) filename (\S+)").expect("regex"));
static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\d+\.\d+) (\S+) "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-) (\d+)$"#).expect("regex")
});
static LOADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Loading ([^\s.]\S*?)\.{2,}.*o+k+$").expect("regex"));
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

    fn first(&self, stage: Stage) -> bool {
        !self.events.iter().any(|e| e.stage == stage)
    }

    /// Takes one line from `who` (dhcpd, tftpd, httpd, console) that arrived at `at`.
    /// `size_of` answers the size of a file in the TFTP root.
    pub fn feed(
        &mut self,
        who: &str,
        text: &str,
        at: SystemTime,
        size_of: &dyn Fn(&str) -> Option<u64>,
    ) {
        let t = secs_between(self.t0, at);
        match who {
            "dhcpd" => {
                if let Some(c) = DHCP.captures(text) {
                    let what = format!("{} {} to {}", &c[1], &c[2], &c[3]);
                    self.push(event(t, Stage::Dhcp, what));
                }
            }
            "tftpd" => {
                if let Some(c) = RRQ.captures(text) {
                    let file = c[2].trim_start_matches('/').to_string();
                    let image_file = file.starts_with("pxe-kit/");
                    let size = size_of(&file);
                    // pxelinux probes many config names that do not exist; show only real
                    // files and the image's own files (whose absence is the news).
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
                    let repeat = size.is_none()
                        && self.events.last().and_then(|e| e.file.as_deref()) == Some(&file);
                    if !repeat {
                        self.push(Event {
                            file: Some(file),
                            bytes: size,
                            ..event(t, stage, what)
                        });
                    }
                }
            }
            "httpd" => {
                if let Some(c) = ACCESS.captures(text) {
                    let start: f64 = c[1].parse().unwrap_or(0.0);
                    let start = UNIX_EPOCH + Duration::from_secs_f64(start);
                    let bytes: Option<u64> = c[6].parse().ok();
                    let secs = c[7].parse::<f64>().ok().map(|us| us / 1e6);
                    let mut what = format!("{} {} -> {}", &c[3], &c[4], &c[5]);
                    if let Some(b) = bytes {
                        what += &format!(", {}", human_bytes(b));
                        if let Some(s) = secs {
                            what += &format!(" in {s:.2} s");
                        }
                    }
                    self.push(Event {
                        t: secs_between(self.t0, start),
                        stage: Stage::RootImage,
                        what,
                        file: Some(c[4].to_string()),
                        bytes,
                        secs,
                    });
                }
            }
            crate::lab::nfs::WHO => {
                if let Some(what) = crate::lab::nfs::timeline_text(text) {
                    self.push(event(t, Stage::NfsRoot, what));
                }
            }
            "console" => self.console_line(&clean_console(text), t),
            _ => {}
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
        } else if let Some(i) = line.find("Linux version") {
            if self.first(Stage::KernelStart) {
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

    /// The timeline as text, one event per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for e in self.events() {
            let mut what = e.what.clone();
            if let (Some(b), Some(secs)) = (e.bytes, e.secs) {
                let rate = b as f64 / secs.max(0.001) / 1024.0 / 1024.0;
                if e.stage == Stage::RootImage {
                    what += &format!(" ({rate:.1} MiB/s)");
                } else {
                    what += &format!(" in {secs:.2} s ({rate:.1} MiB/s)");
                }
            }
            s += &format!("{:>7.1}s  {:<9}  {what}\n", e.t, e.stage.label());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn console_escapes_are_stripped() {
        assert_eq!(clean_console("\x1b[1;1H\x1b[2J  Boot menu\r"), "Boot menu");
    }
}
