//! The server VM's run: a lab namespace with two bridges (provisioning: the server's first NIC
//! and the client's tap; public: the server's second NIC), the server under QEMU with a
//! throw-away overlay on the cached image and a 9p share, and the host's side of the
//! guest/host barrier: probes from outside (TCP, TFTP through each NIC) and the blank client
//! VM, each run when the guest asks (`share/sync/PHASE`, answered by `PHASE.done`).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use regex::Regex;

use super::image::{self, Image};
use crate::lab::boot::{tail_console, WorkDir};
use crate::lab::netns::Netns;
use crate::lab::qemu::{self, Accel, Firmware, Net, VmOpts};
use crate::lab::timeline::{Timeline, DEMO_MARKER};
use crate::progress::Progress;
use crate::root::{Out, Root};
use crate::runner::{Cmd, Kind, Runner};
use crate::serve::supervise::{self, Spec, Supervisor};

pub const BR_PROV: &str = "pxk-prov0";
pub const BR_PUB: &str = "pxk-pub0";
const TAP_PROV: &str = "pxk-tsp0";
const TAP_PUB: &str = "pxk-tsu0";
const TAP_CLIENT: &str = "pxk-tcl0";
/// The host's address on each bridge (the "outside" the probes come from).
const HOST_PROV: &str = "10.99.0.254/24";
const HOST_PUB: &str = "192.168.100.1/24";
pub const CLIENT_MAC: &str = "52:54:00:99:00:20";
/// QEMU may ignore SIGTERM; SIGKILL follows after this.
const QEMU_GRACE: Duration = Duration::from_secs(5);

/// The server VM's command line.
#[derive(Debug, Clone)]
pub struct ServerVm {
    pub accel: Accel,
    pub memory_mib: u32,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub disk: PathBuf,
    pub share: PathBuf,
    pub serial_log: PathBuf,
}

/// `-vga none`: with a VGA device the guest's bochs-drm clears VRAM with `rep stosb` and
/// soft-locks the vCPU for 20-45 s under TCG. The NICs are pinned to PCI slots 0x10/0x11
/// (-virtfs takes the first free slot and would shift them), which also fixes their names.
/// `enforcing=` is given once: the kernel takes the last, libselinux the first.
pub fn server_argv(o: &ServerVm) -> Vec<String> {
    let (accel, cpu) = match o.accel {
        Accel::Kvm => ("kvm", "host"),
        Accel::Tcg => ("tcg", "max"),
    };
    let nic = |id: &str, tap: &str, mac: &str, slot: u8| {
        [
            "-netdev".to_string(),
            format!("tap,id={id},ifname={tap},script=no,downscript=no"),
            "-device".to_string(),
            format!("virtio-net-pci,netdev={id},mac={mac},addr={slot:#04x}"),
        ]
    };
    let mut v: Vec<String> = [
        "qemu-system-x86_64",
        "-name",
        "pxe-kit-lab-server",
        "-accel",
        accel,
        "-cpu",
        cpu,
        "-m",
        &o.memory_mib.to_string(),
        "-smp",
        "2",
        "-nographic",
        "-vga",
        "none",
        "-no-reboot",
        "-monitor",
        "none",
        "-serial",
        &format!("file:{}", o.serial_log.display()),
        "-kernel",
        &o.kernel.display().to_string(),
        "-initrd",
        &o.initrd.display().to_string(),
        "-append",
        "root=/dev/vda rw console=ttyS0,115200 security=selinux selinux=1 enforcing=1 panic=-1",
        "-drive",
        &format!(
            "file={},format=qcow2,if=virtio,cache=unsafe",
            o.disk.display()
        ),
        "-virtfs",
        &format!(
            "local,path={},mount_tag=share,security_model=none",
            o.share.display()
        ),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(nic("prov", TAP_PROV, image::PROV_MAC, image::PROV_SLOT));
    v.extend(nic("pub", TAP_PUB, image::PUB_MAC, image::PUB_SLOT));
    v
}

/// How the blank client's boot went.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ClientResult {
    pub reached_marker: bool,
    /// Seconds from power-on to the marker (or to the end).
    pub secs: f64,
    pub verdict: String,
    pub phases: String,
    pub timeline: String,
    pub last_console: Vec<String>,
}

/// What the run left besides the share's files.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    /// Seconds from QEMU's start to the guest's "ready" (multi-user reached).
    pub boot_secs: Option<f64>,
    pub total_secs: f64,
    pub timed_out: bool,
    pub interrupted: bool,
    pub qemu_exit: String,
    /// Facts the host side observed.
    pub facts: BTreeMap<String, String>,
    pub client: Option<ClientResult>,
}

pub struct Opts {
    pub accel: Accel,
    pub memory_mib: u32,
    pub timeout: Duration,
    pub client_timeout: Duration,
    /// The demo kernel the client boots (to compare TFTP bytes with).
    pub kernel: PathBuf,
    pub qemu: String,
}

/// The run and everything it created; `Drop` takes it down: the client, the server, the
/// console reader, then the namespace (which kills whatever is left in it).
pub struct Run<'a> {
    o: &'a Opts,
    out: Out,
    runner: Runner,
    work: Root,
    wp: PathBuf,
    sup: Supervisor,
    tail: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    ns: Option<Netns>,
    pb: Progress,
    result: RunResult,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        self.sup.stop("client", QEMU_GRACE);
        self.stop_tail();
        self.sup.stop("server", QEMU_GRACE);
        self.sup.stop_all(QEMU_GRACE);
        if let Some(mut ns) = self.ns.take() {
            if let Err(e) = ns.remove() {
                eprintln!("pxe-kit: warning: removing the lab namespace: {e:#}");
            }
        }
        self.pb.finish();
    }
}

impl<'a> Run<'a> {
    pub fn new(o: &'a Opts, out: Out, work: &WorkDir) -> Result<Run<'a>> {
        Ok(Run {
            o,
            out,
            runner: Runner::new(true, false, out),
            work: work.root()?,
            wp: work.path().to_path_buf(),
            sup: Supervisor::new(),
            tail: None,
            ns: None,
            pb: Progress::spinner(out, "creating the lab network"),
            result: RunResult::default(),
        })
    }

    fn ns(&self) -> &Netns {
        self.ns.as_ref().expect("the network is created first")
    }

    /// The namespace, both bridges (the host's address on each) and the three taps.
    pub fn network(&mut self) -> Result<()> {
        supervise::install_stop_handler()?;
        let ns = Netns::empty(self.runner.derive(true, self.out), false)?;
        let steps: [(&str, Vec<&str>); 14] = [
            (
                "creating the provisioning bridge",
                vec![
                    "link",
                    "add",
                    BR_PROV,
                    "type",
                    "bridge",
                    "forward_delay",
                    "0",
                ],
            ),
            (
                "creating the public bridge",
                vec![
                    "link",
                    "add",
                    BR_PUB,
                    "type",
                    "bridge",
                    "forward_delay",
                    "0",
                ],
            ),
            (
                "addressing the provisioning bridge",
                vec!["addr", "add", HOST_PROV, "dev", BR_PROV],
            ),
            (
                "addressing the public bridge",
                vec!["addr", "add", HOST_PUB, "dev", BR_PUB],
            ),
            (
                "creating the server's provisioning tap",
                vec!["tuntap", "add", "dev", TAP_PROV, "mode", "tap"],
            ),
            (
                "creating the server's public tap",
                vec!["tuntap", "add", "dev", TAP_PUB, "mode", "tap"],
            ),
            (
                "creating the client's tap",
                vec!["tuntap", "add", "dev", TAP_CLIENT, "mode", "tap"],
            ),
            (
                "attaching the server's provisioning tap",
                vec!["link", "set", TAP_PROV, "master", BR_PROV, "up"],
            ),
            (
                "attaching the client's tap",
                vec!["link", "set", TAP_CLIENT, "master", BR_PROV, "up"],
            ),
            (
                "attaching the server's public tap",
                vec!["link", "set", TAP_PUB, "master", BR_PUB, "up"],
            ),
            (
                "bringing up the provisioning bridge",
                vec!["link", "set", BR_PROV, "up"],
            ),
            (
                "bringing up the public bridge",
                vec!["link", "set", BR_PUB, "up"],
            ),
            (
                "bringing up the server's provisioning tap",
                vec!["link", "set", TAP_PROV, "up"],
            ),
            (
                "bringing up the server's public tap",
                vec!["link", "set", TAP_PUB, "up"],
            ),
        ];
        for (desc, args) in steps {
            ns.ip(desc, &args)?;
        }
        self.ns = Some(ns);
        Ok(())
    }

    /// Boots the server on a fresh overlay and serves the guest's phases until it powers
    /// off, the timeout passes or the user interrupts.
    pub fn serve_guest(&mut self, img: &Image) -> Result<RunResult> {
        let disk = self.wp.join("server.qcow2");
        let base = img.root_img().display().to_string();
        let d = disk.display().to_string();
        self.runner.must(&Cmd::new(
            Kind::Build,
            "creating the server's throw-away overlay",
            &[
                "qemu-img", "create", "-q", "-f", "qcow2", "-b", &base, "-F", "raw", &d,
            ],
        ))?;
        let serial_log = self.wp.join("server-serial.log");
        let mut argv = server_argv(&ServerVm {
            accel: self.o.accel,
            memory_mib: self.o.memory_mib,
            kernel: img.kernel(),
            initrd: img.initrd(),
            disk,
            share: self.wp.join("share"),
            serial_log,
        });
        argv[0] = self.o.qemu.clone();
        let argv = self.ns().exec_argv(&argv);
        self.out
            .detail(format!("> {}", crate::runner::shell_join(&argv)));
        let started = Instant::now();
        self.sup.spawn(&Spec::new("server", &argv))?;
        self.pb
            .set_message(format!("server VM ({}): booting", self.o.accel.name()));
        let mut handled: BTreeSet<String> = BTreeSet::new();
        let mut qemu_log = String::new();
        loop {
            if supervise::stop_requested() {
                self.result.interrupted = true;
                break;
            }
            while let Some(l) = self.sup.recv(Duration::from_millis(300)) {
                qemu_log.push_str(&format!("{}| {}\n", l.who, l.text));
            }
            if let Some((n, st)) = self.sup.reap() {
                if n == "server" {
                    self.result.qemu_exit = crate::serve::describe(&st);
                    break;
                }
            }
            let el = started.elapsed().as_secs_f64();
            if self.result.boot_secs.is_none() && self.work.exists(Path::new("/share/out/ready")) {
                self.result.boot_secs = Some(el);
            }
            let current = self
                .work
                .read_string_opt(Path::new("/share/out/current"))?
                .unwrap_or_default();
            self.pb.set_message(match self.result.boot_secs {
                None => format!("server VM ({}): booting, {el:.0} s", self.o.accel.name()),
                Some(_) => format!("server VM: {} ({el:.0} s since power-on)", current.trim()),
            });
            for name in self.work.list_dir(Path::new("/share/sync"))? {
                if name.ends_with(".done") || name == "end" || !handled.insert(name.clone()) {
                    continue;
                }
                self.phase(&name)?;
                self.work.write(
                    &Path::new("/share/sync").join(format!("{name}.done")),
                    b"",
                    0o644,
                )?;
            }
            if started.elapsed() > self.o.timeout {
                self.result.timed_out = true;
                break;
            }
        }
        if let Some(st) = self.sup.stop("server", QEMU_GRACE) {
            self.result.qemu_exit = crate::serve::describe(&st);
        }
        self.work
            .write(Path::new("/qemu.log"), qemu_log.as_bytes(), 0o644)?;
        self.result.total_secs = started.elapsed().as_secs_f64();
        Ok(std::mem::take(&mut self.result))
    }

    fn fact(&mut self, k: &str, v: impl Into<String>) {
        self.result.facts.insert(format!("host.{k}"), v.into());
    }

    /// One phase the guest asked for.
    fn phase(&mut self, name: &str) -> Result<()> {
        let (p, u) = (image::PROV_IP, image::PUB_IP);
        match name {
            "baseline" => {
                self.tcp("baseline.ssh_prov", p, 22)?;
                self.tcp("baseline.ssh_pub", u, 22)?;
            }
            "after_init" => {
                self.tcp("after_init.ssh_prov", p, 22)?;
                self.tcp("after_init.ssh_pub", u, 22)?;
                self.tftp("after_init.tftp_prov", p, "pxelinux.0", None)?;
                self.tftp("after_init.tftp_pub", u, "pxelinux.0", None)?;
            }
            "relabelled" | "fixed" => {
                let k = self.o.kernel.clone();
                self.tftp(
                    &format!("{name}.tftp_kernel"),
                    p,
                    "pxe-kit/demo/vmlinuz",
                    Some(&k),
                )?;
            }
            "client" => {
                let c = self.client()?;
                self.fact("client.marker", if c.reached_marker { "yes" } else { "no" });
                self.result.client = Some(c);
            }
            other => self.fact(&format!("unknown_phase.{other}"), "asked"),
        }
        Ok(())
    }

    /// A TCP connect from the host's side: open, closed (refused or rejected) or dropped.
    fn tcp(&mut self, key: &str, ip: &str, port: u16) -> Result<()> {
        self.pb
            .set_message(format!("probing tcp {ip}:{port} from outside"));
        let script = format!("exec 3<>/dev/tcp/{ip}/{port}");
        let argv = self
            .ns()
            .exec_argv(&["timeout", "3", "bash", "-c", script.as_str()]);
        let o = self
            .runner
            .query(&Cmd::new(Kind::Check, "probing a TCP port", &argv))?
            .context("a check always runs")?;
        let v = if o.success {
            "open".to_string()
        } else if o.code == Some(124) {
            "dropped".to_string()
        } else {
            format!("closed: {}", o.stderr.lines().next().unwrap_or("").trim())
        };
        self.fact(key, v);
        Ok(())
    }

    /// A TFTP read from the host's side with curl; compared with `want` when given.
    fn tftp(&mut self, key: &str, ip: &str, file: &str, want: Option<&Path>) -> Result<()> {
        self.pb
            .set_message(format!("fetching tftp://{ip}/{file} from outside"));
        let dl = self.wp.join("download");
        self.work.remove(Path::new("/download"))?;
        let url = format!("tftp://{ip}/{file}");
        let d = dl.display().to_string();
        // A TFTP request the firewall drops or rejects gets no answer curl sees (ICMP errors do
        // not reach its unconnected socket): the connect timeout bounds the wait for the first
        // block, the max time a slow transfer from a TCG guest.
        let argv = self.ns().exec_argv(&[
            "curl",
            "-sS",
            "--connect-timeout",
            "15",
            "--max-time",
            "300",
            "-o",
            d.as_str(),
            url.as_str(),
        ]);
        let o = self
            .runner
            .query(&Cmd::new(Kind::Check, "fetching a file over TFTP", &argv))?
            .context("a check always runs")?;
        let v = if !o.success {
            format!(
                "fail: curl exit {}: {}",
                o.code.unwrap_or(-1),
                o.stderr.trim().replace('\n', " ")
            )
        } else {
            match want {
                None => "ok".to_string(),
                Some(w) => {
                    let got = self.work.read(Path::new("/download"))?;
                    let want =
                        std::fs::read(w).with_context(|| format!("reading {}", w.display()))?;
                    if got == want {
                        "ok identical".to_string()
                    } else {
                        format!("ok but different: {} of {} bytes", got.len(), want.len())
                    }
                }
            }
        };
        self.fact(key, v);
        Ok(())
    }

    fn stop_tail(&mut self) {
        if let Some((stop, t)) = self.tail.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = t.join();
        }
    }

    /// A blank VM on the provisioning bridge boots from the network through the server VM's
    /// daemons; its console feeds the lab's timeline until the demo marker.
    fn client(&mut self) -> Result<ClientResult> {
        let serial = self.wp.join("client-serial.log");
        self.work
            .write(Path::new("/client-serial.log"), b"", 0o644)?;
        let mut argv = qemu::argv(&VmOpts {
            accel: self.o.accel,
            memory_mib: 1024,
            mac: CLIENT_MAC.into(),
            serial_log: serial.clone(),
            firmware: Firmware::Bios,
            ovmf: None,
            ipxe_rom: true,
            net: Net::Tap(TAP_CLIENT.into()),
            direct: None,
        });
        argv[0] = self.o.qemu.clone();
        let argv = self.ns().exec_argv(&argv);
        let t0 = SystemTime::now();
        let started = Instant::now();
        self.sup.spawn(&Spec::new("client", &argv))?;
        let stop = Arc::new(AtomicBool::new(false));
        self.tail = Some((stop.clone(), tail_console(serial, self.sup.sender(), stop)));
        let mut tl = Timeline::new(t0, Regex::new(DEMO_MARKER).expect("a plain regex"));
        let none = |_: &str| None;
        let verdict: Result<(), String> = loop {
            if supervise::stop_requested() {
                break Err("interrupted".into());
            }
            if let Some(l) = self.sup.recv(Duration::from_millis(200)) {
                if l.who == "console" {
                    tl.feed("console", &l.text, l.at, &none);
                    self.pb.set_message(format!(
                        "client VM: {} after {:.0} s",
                        tl.reached.doing(),
                        started.elapsed().as_secs_f64()
                    ));
                }
                if let Some(v) = tl.outcome() {
                    break v;
                }
            }
            if let Some((n, st)) = self.sup.reap() {
                std::thread::sleep(Duration::from_millis(300));
                while let Some(l) = self.sup.recv(Duration::from_millis(200)) {
                    if l.who == "console" {
                        tl.feed("console", &l.text, l.at, &none);
                    }
                }
                if tl.success {
                    break Ok(());
                }
                let who = if n == "server" {
                    "the server VM"
                } else {
                    "the client VM"
                };
                if n == "server" {
                    self.result.qemu_exit = crate::serve::describe(&st);
                }
                break Err(format!(
                    "{who} {} before the marker appeared",
                    crate::serve::describe(&st)
                ));
            }
            if started.elapsed() > self.o.client_timeout {
                break Err(format!(
                    "timed out after {} s",
                    self.o.client_timeout.as_secs()
                ));
            }
        };
        self.sup.stop("client", QEMU_GRACE);
        self.stop_tail();
        let secs = tl
            .events()
            .last()
            .map(|e| e.t)
            .unwrap_or_else(|| started.elapsed().as_secs_f64());
        Ok(ClientResult {
            reached_marker: verdict.is_ok(),
            secs,
            verdict: match &verdict {
                Ok(()) => "reached the marker".into(),
                Err(e) => e.clone(),
            },
            phases: if verdict.is_ok() {
                tl.phases_line()
            } else {
                String::new()
            },
            timeline: tl.render(),
            last_console: tl.last_console(12),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_argv_pins_nics_and_boots_enforcing() {
        let a = server_argv(&ServerVm {
            accel: Accel::Tcg,
            memory_mib: 1536,
            kernel: "/c/k/vmlinuz".into(),
            initrd: "/c/k/initrd.img".into(),
            disk: "/w/server.qcow2".into(),
            share: "/w/share".into(),
            serial_log: "/w/server-serial.log".into(),
        });
        let s = a.join(" ");
        assert!(s.contains("-accel tcg -cpu max"), "{s}");
        assert!(s.contains("-vga none"), "{s}");
        assert!(
            s.contains("virtio-net-pci,netdev=prov,mac=52:54:00:99:00:01,addr=0x10"),
            "{s}"
        );
        assert!(
            s.contains("virtio-net-pci,netdev=pub,mac=52:54:00:99:01:02,addr=0x11"),
            "{s}"
        );
        assert!(s.contains("-virtfs local,path=/w/share,mount_tag=share,security_model=none"));
        let append = &a[a.iter().position(|x| x == "-append").unwrap() + 1];
        assert_eq!(append.matches("enforcing=").count(), 1, "{append}");
        assert!(append.contains("security=selinux selinux=1"));
        assert!(s.contains("file=/w/server.qcow2,format=qcow2,if=virtio,cache=unsafe"));
    }
}
