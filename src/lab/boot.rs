//! `lab boot`: a blank VM boots from the (staged) server inside a private network namespace.
//! The lab creates the namespace, runs `pxe-kit serve` and radvd in it, starts QEMU on a tap,
//! watches the serial console and the daemons' logs, and reports a timeline. One `Lab` owns
//! everything it creates, each phase a method; its `Drop` takes it all down in a fixed order
//! (VM, console reader, daemons, per-MAC files, namespace), whatever happened.
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, LazyLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use regex::Regex;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::distro::Profile;
use crate::host::{Host, Mac};
use crate::image::{self, BootEntry};
use crate::lab::netns::{self, Netns};
use crate::lab::qemu::{self, Accel, Firmware, Net, Ovmf, VmOpts};
use crate::lab::timeline::{Stage, Timeline};
use crate::progress::Progress;
use crate::render::Templates;
use crate::root::Root;
use crate::runner::{find_program, Runner};
use crate::serve::supervise::{self, Line, Spec, Supervisor};
use crate::serve::{describe, READY};
use crate::Exit;

/// The VM's tap inside the lab namespace.
pub const TAP: &str = "pxk-tap0";
/// No output at all from the VM or the daemons for this long means the boot is stuck.
const STALL: Duration = Duration::from_secs(90);
/// QEMU may ignore SIGTERM (it does under kvm_pvm); SIGKILL follows after this.
const QEMU_GRACE: Duration = Duration::from_secs(3);
/// How long `pxe-kit serve` gets to have every daemon listening.
const SERVE_WITHIN: Duration = Duration::from_secs(30);

/// Relay ports on the namespace's own loopback (nothing else listens there).
const RELAY_PORT: u16 = 40000;
const RELAY_QEMU_PORT: u16 = 40001;

#[derive(Debug, Clone)]
pub struct BootOpts {
    pub image: Option<String>,
    pub pattern: Regex,
    pub timeout: Duration,
    pub keep: bool,
    pub mac: String,
    pub memory_mib: u32,
    pub vm: VmChoice,
}

/// The VM's firmware and network, beyond the defaults (BIOS, iPXE ROM, no delay).
#[derive(Debug, Clone)]
pub struct VmChoice {
    pub firmware: Firmware,
    pub ipxe_rom: bool,
    /// One-way delay in milliseconds, each direction.
    pub latency_ms: Option<f64>,
    /// QEMU loads the image's kernel and initrd itself.
    pub direct: bool,
    /// The VM sits on the settings' first relayed subnet, behind a router running dhcrelay
    /// (`routed`).
    pub relay: bool,
}

impl Default for VmChoice {
    fn default() -> Self {
        VmChoice {
            firmware: Firmware::Bios,
            ipxe_rom: true,
            latency_ms: None,
            direct: false,
            relay: false,
        }
    }
}

impl VmChoice {
    /// How the lab reports the VM: "UEFI Secure Boot, no iPXE ROM, 2.5 ms each way".
    pub fn describe(&self) -> String {
        let mut s = if self.direct {
            "direct kernel boot".to_string()
        } else {
            self.firmware.name().to_string()
        };
        if !self.direct && !self.ipxe_rom {
            s += ", no iPXE ROM";
        }
        if let Some(ms) = self.latency_ms {
            s += &format!(", {ms} ms each way");
        }
        if self.relay {
            s += ", behind a DHCP relay";
        }
        s
    }
}

/// The lab's work directory: logs and runtime files, removed unless kept.
pub struct WorkDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl WorkDir {
    pub fn new(prefix: &str) -> Result<WorkDir> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .context("creating the lab's work directory")?;
        let path = dir.path().to_path_buf();
        let w = WorkDir {
            dir: Some(dir),
            path,
        };
        // apache's workers and in.tftpd run unprivileged and must traverse it.
        w.root()?.set_mode(Path::new("/"), 0o755)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The work directory as a tree to write in.
    pub fn root(&self) -> Result<Root> {
        Root::new(&self.path, false, Default::default())
    }

    /// Keeps the directory after exit.
    pub fn keep(&mut self) {
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
    }
}

static SERVE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\w+)\s*\| (.*)$").expect("regex"));

/// One lab boot and everything it created.
struct Lab<'a> {
    ctx: &'a Ctx,
    o: &'a BootOpts,
    cfg: Config,
    profile: Profile,
    /// The image booted and its menu entry.
    entry: BootEntry,
    mac: String,
    accel: (Accel, String),
    qemu: String,
    wp: PathBuf,
    log: std::fs::File,
    pb: Progress,
    /// The serial console reader: its stop flag and thread.
    tail: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    sup: Supervisor,
    /// The image is not what this MAC boots by default: it gets per-MAC files of its own.
    mac_boot: bool,
    /// Per-MAC boot files written for this boot only (target paths under the root).
    mac_files: Vec<PathBuf>,
    ns: Option<Netns>,
    /// With `--relay`: the router namespace the VM sits behind.
    router: Option<Netns>,
    /// Proxy mode: the network's own DHCP server (`lab::office`).
    office: Option<Netns>,
}

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        // The VM first (it may ignore SIGTERM), then the console reader, the daemons, this
        // boot's per-MAC files, and last the namespace, which kills whatever is left in it.
        self.sup.stop("qemu", QEMU_GRACE);
        if let Some((stop, t)) = self.tail.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = t.join();
        }
        self.sup.stop_all(Duration::from_secs(5));
        for f in self.mac_files.drain(..) {
            let _ = self.ctx.root.remove(&f);
        }
        if let Some(mut rt) = self.router.take() {
            if let Err(e) = rt.remove() {
                eprintln!("pxe-kit: warning: removing the lab's router namespace: {e:#}");
            }
        }
        if let Some(mut ns) = self.ns.take() {
            if let Err(e) = ns.remove() {
                eprintln!("pxe-kit: warning: removing the lab namespace: {e:#}");
            }
        }
        self.pb.finish();
    }
}

/// Boots a blank VM from the server of `ctx` and reports the timeline.
pub fn boot(ctx: &Ctx, o: &BootOpts, work: &mut WorkDir) -> Result<Exit> {
    let mut lab = Lab::new(ctx, o, work.path())?;
    lab.write_mac_files()?;
    lab.start_network()?;
    lab.start_server()?;
    lab.start_radvd()?;
    lab.start_relay()?;
    let net = lab.link()?;
    let t0 = lab.start_vm(net)?;
    let (tl, verdict) = lab.watch(t0)?;
    lab.stop_vm();
    let image = lab.entry.label.clone();
    drop(lab);
    finish(ctx, o, work, &image, tl, verdict)
}

impl<'a> Lab<'a> {
    /// Checks everything that can be checked before anything is created.
    fn new(ctx: &'a Ctx, o: &'a BootOpts, wp: &Path) -> Result<Lab<'a>> {
        if !nix::unistd::geteuid().is_root() {
            bail!("pxe-kit lab creates network namespaces and must run as root; use sudo");
        }
        let cfg = ctx.require_config()?;
        if o.vm.relay {
            crate::lab::routed::relayed_subnet(&cfg)?;
        }
        let profile = ctx.profile(Some(&cfg));
        let images = image::load_all(&ctx.root)?;
        // A MAC configured with add-host boots through its own per-machine files.
        let choice = crate::lab::perhost::choose(&cfg, &o.mac, o.image.as_deref())?;
        if choice.image == "local" {
            bail!(
                "the menu boots the local disk by default; pass --image NAME (one of: {})",
                image::names(&images)
            );
        }
        let Some(entry) = image::boot_entries(&cfg, &profile, &images)
            .into_iter()
            .find(|e| e.label == choice.image)
        else {
            bail!(
                "no image named {:?}; pick one of: {}",
                choice.image,
                image::names(&images)
            );
        };
        if cfg.boot.serial.is_none() {
            ctx.out.say("warning: boot.serial is not set, so the kernel's console is not on the serial port the lab watches; set boot: {serial: {port: 0, baud: 115200}}");
        }
        let qemu = find_program("qemu-system-x86_64").with_context(|| {
            "qemu-system-x86_64 not found; install it: apt-get install -y qemu-system-x86 ipxe-qemu seabios"
        })?;
        let mac = qemu::parse_mac(&o.mac)?;
        if o.vm.firmware != Firmware::Bios {
            qemu::find_ovmf(o.vm.firmware)?;
        }
        let runner = Runner::new(true, false, ctx.out);
        for n in netns::sweep_stale(&runner)? {
            ctx.out.say(format!("removed the stale lab namespace {n}"));
        }
        let accel = qemu::host_accel();
        ctx.out.say(format!(
            "lab: QEMU uses {} ({}); {}",
            accel.0.name(),
            accel.1,
            o.vm.describe()
        ));
        let log = std::fs::File::create(wp.join("lab.log"))
            .with_context(|| format!("creating {}", wp.join("lab.log").display()))?;
        let mac_boot = !choice.host_file && choice.image != cfg.boot.default;
        Ok(Lab {
            ctx,
            o,
            cfg,
            profile,
            entry,
            mac,
            accel,
            qemu,
            wp: wp.to_path_buf(),
            log,
            pb: Progress::spinner(ctx.out, "preparing the lab"),
            tail: None,
            sup: Supervisor::new(),
            mac_boot,
            mac_files: Vec::new(),
            ns: None,
            router: None,
            office: None,
        })
    }

    /// Boots the requested image rather than the menu default: the per-machine files of a
    /// host with this MAC, rendered as `add-host` renders them, removed after the boot.
    fn write_mac_files(&mut self) -> Result<()> {
        if !self.mac_boot {
            return Ok(());
        }
        let host = Host {
            mac: Some(self.mac.parse::<Mac>()?),
            ip: None,
            hostname: None,
            image: self.entry.label.clone(),
        };
        let mut cfg = self.cfg.clone();
        cfg.hosts = vec![host];
        let images = image::load_all(&self.ctx.root)?;
        let entries = image::boot_entries(&cfg, &self.profile, &images);
        let files = crate::plan::host_files(
            &cfg,
            &self.profile,
            &Templates::load(&self.ctx.root)?,
            &entries,
        )?;
        for f in files {
            // A file of pxe-kit's (a lab boot killed before its cleanup) may be replaced; a
            // file the user wrote may not.
            if let Some(old) = self.ctx.root.read_opt(&f.path)? {
                if !crate::root::is_generated(&old) {
                    bail!(
                        "{} exists and was not written by pxe-kit; the lab will not overwrite it: boot another --mac",
                        f.path.display()
                    );
                }
            }
            self.ctx.root.write(&f.path, &f.content, f.mode)?;
            self.mac_files.push(f.path);
        }
        Ok(())
    }

    fn start_network(&mut self) -> Result<()> {
        supervise::install_stop_handler()?;
        self.pb.set_message("creating the lab network");
        self.ns = Some(Netns::create(
            Runner::new(true, false, self.ctx.out),
            &self.cfg.interface,
            TAP,
            self.cfg.server_ip,
            self.cfg.subnet.prefix_len(),
        )?);
        Ok(())
    }

    fn ns(&self) -> &Netns {
        self.ns.as_ref().expect("the network is started first")
    }

    /// `pxe-kit serve` inside the namespace; returns once it says every daemon listens.
    fn start_server(&mut self) -> Result<()> {
        self.pb.set_message(format!(
            "starting {}, in.tftpd and apache (pxe-kit serve)",
            self.profile
                .proxy
                .as_ref()
                .map_or(self.profile.dhcp.comm, |p| p.comm)
        ));
        let t_start = SystemTime::now();
        let ns = self.ns.take().expect("the network is started first");
        // Proxy mode needs the network's own DHCP server on the segment, before the VM.
        if self.cfg.dhcp.mode() == crate::config::DhcpMode::Proxy {
            let dir = self.wp.join(crate::lab::office::WHO);
            match crate::lab::office::start(
                Runner::new(true, false, self.ctx.out),
                &ns,
                &self.cfg,
                &mut self.sup,
                &dir,
            ) {
                Ok(office) => self.office = Some(office),
                Err(e) => {
                    self.ns = Some(ns);
                    return Err(e);
                }
            }
        }
        let mut lines = Vec::new();
        let r = start_serve(
            self.ctx,
            &ns,
            &mut self.sup,
            &self.wp.join("serve"),
            &mut |who, text| lines.push((who.to_string(), text.to_string())),
        );
        self.ns = Some(ns);
        for (who, text) in lines {
            self.log_line(t_start, &who, &text);
        }
        r.map_err(|e| anyhow::anyhow!("{e:#}; see {}", self.wp.join("lab.log").display()))
    }

    /// Router advertisements on the lab bridge: without them iPXE waits ~13 s for IPv6.
    fn start_radvd(&mut self) -> Result<()> {
        let Some(radvd) = find_program("radvd") else {
            self.ctx.out.say(
                "warning: radvd is not installed; iPXE will wait ~13 s for an IPv6 router advertisement (apt-get install -y radvd)",
            );
            return Ok(());
        };
        let iface = self.cfg.interface.clone();
        let argv = self.radvd_argv(self.ns(), radvd, &iface, "radvd")?;
        self.sup.spawn(&Spec::new("radvd", &argv))?;
        Ok(())
    }

    /// radvd in `ns` advertising on `iface`, its files in the work directory named `name`.
    fn radvd_argv(
        &self,
        ns: &Netns,
        radvd: String,
        iface: &str,
        name: &str,
    ) -> Result<Vec<String>> {
        let conf = PathBuf::from(format!("/{name}.conf"));
        let work = Root::new(&self.wp, false, Default::default())?;
        work.write(&conf, radvd_conf(iface).as_bytes(), 0o644)?;
        Ok(ns.exec_argv(&[
            radvd,
            "-n".into(),
            "-m".into(),
            "stderr".into(),
            "-C".into(),
            work.path(&conf).display().to_string(),
            "-p".into(),
            self.wp.join(format!("{name}.pid")).display().to_string(),
        ]))
    }

    /// With `--relay`: the router namespace with dhcrelay, and router advertisements on the
    /// relayed subnet's bridge too (iPXE waits for them there as on the lab bridge).
    fn start_relay(&mut self) -> Result<()> {
        if !self.o.vm.relay {
            return Ok(());
        }
        self.pb
            .set_message("starting the relayed subnet's router (dhcrelay)");
        let t_start = SystemTime::now();
        let ns = self.ns.take().expect("the network is started first");
        let mut lines = Vec::new();
        let r = crate::lab::routed::start(
            &ns,
            &self.cfg,
            TAP,
            &mut self.sup,
            self.ctx.out,
            &mut |who, text| lines.push((who.to_string(), text.to_string())),
        );
        self.ns = Some(ns);
        for (who, text) in lines {
            self.log_line(t_start, &who, &text);
        }
        let rt = r?;
        if let Some(radvd) = find_program("radvd") {
            let argv = self.radvd_argv(&rt, radvd, crate::lab::routed::BRIDGE, "radvd-relayed")?;
            self.sup.spawn(&Spec::new("radvd-relayed", &argv))?;
        }
        self.router = Some(rt);
        Ok(())
    }

    /// How the VM's NIC reaches the bridge: the tap, delayed by netem or by the relay.
    fn link(&mut self) -> Result<Net> {
        let Some(ms) = self.o.vm.latency_ms else {
            return Ok(Net::Tap(TAP.into()));
        };
        match self.ns().add_latency(TAP, ms) {
            Ok(()) => {
                self.ctx.out.say(format!(
                    "lab: netem delays the VM's traffic {ms} ms each way (round trip {} ms)",
                    2.0 * ms
                ));
                Ok(Net::Tap(TAP.into()))
            }
            Err(e) => {
                // This kernel has no netem (or ifb/u32/mirred): delay the frames ourselves.
                let e = format!("{e:#}");
                self.ctx.out.say(format!(
                    "lab: netem is not available here ({}); a userspace relay delays the VM's frames {ms} ms each way (round trip {} ms)",
                    e.lines().next().unwrap_or(&e),
                    2.0 * ms
                ));
                let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
                let argv = self.ns().exec_argv(&[
                    exe.display().to_string(),
                    "lab".into(),
                    "relay".into(),
                    "--tap".into(),
                    TAP.into(),
                    "--listen".into(),
                    RELAY_PORT.to_string(),
                    "--qemu".into(),
                    RELAY_QEMU_PORT.to_string(),
                    "--delay-ms".into(),
                    ms.to_string(),
                ]);
                self.sup.spawn(&Spec::new("relay", &argv))?;
                Ok(Net::Udp {
                    local: RELAY_QEMU_PORT,
                    remote: RELAY_PORT,
                })
            }
        }
    }

    /// Powers the VM on; returns the moment it did.
    fn start_vm(&mut self, net: Net) -> Result<SystemTime> {
        let work = Root::new(&self.wp, false, Default::default())?;
        let ovmf = match self.o.vm.firmware {
            Firmware::Bios => None,
            fw => {
                let (code, template) = qemu::find_ovmf(fw)?;
                // Each VM gets fresh variables: boot entries OVMF records must not leak
                // between runs.
                let vars = Path::new("/OVMF_VARS.fd");
                let bytes = std::fs::read(&template)
                    .with_context(|| format!("reading {}", template.display()))?;
                work.write(vars, &bytes, 0o644)?;
                Some(Ovmf {
                    code,
                    vars: work.path(vars),
                })
            }
        };
        let tftp_root = self.ctx.root.path(&self.profile.tftp_root);
        let direct = self.o.vm.direct.then(|| {
            let mut append = self.entry.args.clone();
            if let Some(s) = self.cfg.boot.serial {
                // What the loaders' SERIAL line would have given the kernel.
                let console = format!("console=ttyS{},{}", s.port, s.baud);
                if !append.contains(&console) {
                    append += &format!(" {console}");
                }
            }
            qemu::Direct {
                kernel: tftp_root.join(&self.entry.kernel),
                initrd: tftp_root.join(&self.entry.initrd),
                append,
            }
        });
        let serial_log = self.wp.join("serial.log");
        let vm = VmOpts {
            accel: self.accel.0,
            memory_mib: self.o.memory_mib,
            mac: self.mac.clone(),
            serial_log: serial_log.clone(),
            firmware: self.o.vm.firmware,
            ovmf,
            ipxe_rom: self.o.vm.ipxe_rom,
            net,
            direct,
        };
        let mut argv = qemu::argv(&vm);
        argv[0] = self.qemu.clone();
        // Behind a relay the VM's tap is in the router's namespace.
        let vm_ns = self.router.as_ref().unwrap_or_else(|| self.ns());
        let qemu_argv = vm_ns.exec_argv(&argv);
        self.ctx
            .out
            .detail(format!("> {}", crate::runner::shell_join(&qemu_argv)));
        work.write(Path::new("/serial.log"), b"", 0o644)?;
        let t0 = SystemTime::now();
        self.sup.spawn(&Spec::new("qemu", &qemu_argv))?;
        let stop = Arc::new(AtomicBool::new(false));
        let t = tail_console(serial_log, self.sup.sender(), stop.clone());
        self.tail = Some((stop, t));
        self.pb.set_message(format!(
            "booting a blank VM ({}): power on",
            self.accel.0.name()
        ));
        Ok(t0)
    }

    /// Feeds the timeline until the marker, a failure, a stall or the timeout.
    fn watch(&mut self, t0: SystemTime) -> Result<(Timeline, Result<(), String>)> {
        let mut tl = Timeline::new(t0, self.o.pattern.clone());
        let tftp_root = self.ctx.root.path(&self.profile.tftp_root);
        let size_of = |f: &str| -> Option<u64> {
            std::fs::metadata(tftp_root.join(f))
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        };
        let started = Instant::now();
        let mut last_activity = Instant::now();
        let mut shown = Stage::PowerOn;
        let verdict = loop {
            if supervise::stop_requested() {
                break Err("interrupted (Ctrl-C or SIGTERM)".into());
            }
            if let Some(l) = self.sup.recv(Duration::from_millis(200)) {
                last_activity = Instant::now();
                let (who, text) = split_serve(&l);
                self.log_line(t0, &who, &text);
                tl.feed(&who, &text, l.at, &size_of);
                if tl.reached != shown {
                    shown = tl.reached;
                    self.pb.set_message(format!(
                        "booting a blank VM ({}): {} after {:.0} s",
                        self.accel.0.name(),
                        shown.doing(),
                        started.elapsed().as_secs_f64()
                    ));
                }
                if let Some(v) = tl.outcome() {
                    break v;
                }
            }
            if let Some((n, st)) = self.sup.reap() {
                // The console may still hold the last lines.
                std::thread::sleep(Duration::from_millis(300));
                while let Some(l) = self.sup.recv(Duration::from_millis(200)) {
                    let (who, text) = split_serve(&l);
                    self.log_line(t0, &who, &text);
                    tl.feed(&who, &text, l.at, &size_of);
                }
                if tl.success {
                    break Ok(());
                }
                if n == "radvd" {
                    self.ctx.out.say(format!(
                        "warning: radvd {}: {}",
                        describe(&st),
                        self.sup.tail("radvd").join(" | ")
                    ));
                    continue;
                }
                let why = self.sup.tail(&n).last().cloned().unwrap_or_default();
                break Err(format!(
                    "{n} {} before the marker appeared{}",
                    describe(&st),
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({why})")
                    }
                ));
            }
            if started.elapsed() > self.o.timeout {
                break Err(format!("timed out after {} s", self.o.timeout.as_secs()));
            }
            // A loader fetching the kernel and initrd over TFTP says nothing until it is
            // done, which takes minutes on a slow link: only the overall timeout applies then.
            let stall = if tl.reached == Stage::KernelLoad {
                self.o.timeout
            } else {
                STALL.min(self.o.timeout)
            };
            if last_activity.elapsed() > stall {
                break Err(format!(
                    "stalled: no output from the VM or the daemons for {} s",
                    stall.as_secs()
                ));
            }
        };
        Ok((tl, verdict))
    }

    fn stop_vm(&mut self) {
        self.pb.set_message("stopping the VM and the daemons");
        if let Some(st) = self.sup.stop("qemu", QEMU_GRACE) {
            self.ctx.out.detail(format!("qemu {}", describe(&st)));
        }
    }

    fn log_line(&mut self, t0: SystemTime, who: &str, text: &str) {
        let t = SystemTime::now()
            .duration_since(t0)
            .unwrap_or_default()
            .as_secs_f64();
        let _ = writeln!(self.log, "[{t:8.3}] {who:<7}| {text}");
        if self.ctx.out.verbose {
            self.pb.println(format!("{who:<7}| {text}"));
        }
    }
}

/// Runs `pxe-kit serve` for `ctx`'s root inside `ns` under `sup`, its runtime files in
/// `run_dir`; returns once serve says every daemon listens. Every line goes to `log` first.
pub(crate) fn start_serve(
    ctx: &Ctx,
    ns: &Netns,
    sup: &mut Supervisor,
    run_dir: &Path,
    log: &mut dyn FnMut(&str, &str),
) -> Result<()> {
    start_serve_as(ctx, ns, sup, run_dir, "serve", log)
}

/// `start_serve` under the supervisor name `name` (a pair's storm runs two: `serve-a`,
/// `serve-b`); `split_serve` takes their daemons' lines apart the same way.
pub(crate) fn start_serve_as(
    ctx: &Ctx,
    ns: &Netns,
    sup: &mut Supervisor,
    run_dir: &Path,
    name: &str,
    log: &mut dyn FnMut(&str, &str),
) -> Result<()> {
    let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
    let serve = ns.exec_argv(&[
        exe.display().to_string(),
        "--root".into(),
        ctx.root.base().display().to_string(),
        "--config".into(),
        ctx.config_display().display().to_string(),
        "--distro".into(),
        format!("{:?}", ctx.distro).to_lowercase(),
        "serve".into(),
        "--run-dir".into(),
        run_dir.display().to_string(),
    ]);
    sup.spawn(&Spec::new(name, &serve))?;
    let ready_by = Instant::now() + SERVE_WITHIN;
    loop {
        if supervise::stop_requested() {
            bail!("interrupted; the lab was cleaned up");
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            let (who, text) = split_serve(&l);
            // Several serves under one supervisor: their lines say whose they are.
            if name == "serve" {
                log(&who, &text);
            } else {
                log(&format!("{}|{who}", l.who), &text);
            }
            if l.who == name && (who == "serve" || who == name) && text.starts_with(READY) {
                return Ok(());
            }
        }
        if let Some((n, st)) = sup.reap() {
            while let Some(l) = sup.recv(Duration::from_millis(100)) {
                let (who, text) = split_serve(&l);
                if name == "serve" {
                    log(&who, &text);
                } else {
                    log(&format!("{}|{who}", l.who), &text);
                }
            }
            bail!(
                "{n} {} before the daemons were up: {}",
                describe(&st),
                sup.tail(name).join(" | ")
            );
        }
        if Instant::now() > ready_by {
            bail!(
                "the daemons did not come up within {} s",
                SERVE_WITHIN.as_secs()
            );
        }
    }
}

/// The report after everything is stopped: the timeline and the verdict.
fn finish(
    ctx: &Ctx,
    o: &BootOpts,
    work: &mut WorkDir,
    image: &str,
    tl: Timeline,
    verdict: Result<(), String>,
) -> Result<Exit> {
    let accel = qemu::host_accel().0;
    let total = tl.events().last().map(|e| e.t).unwrap_or_default();
    let mut report = format!(
        "boot timeline (seconds since power-on, {}, {}):\n{}",
        accel.name(),
        o.vm.describe(),
        tl.render()
    );
    let exit = match verdict {
        Ok(()) => {
            report += &format!(
                "lab boot: OK: /{}/ appeared on the serial console {total:.1} s after power-on ({}, {}; image {image})\nboot phases: {}\n",
                o.pattern.as_str(),
                accel.name(),
                o.vm.describe(),
                tl.phases_line()
            );
            Exit::Ok
        }
        Err(why) => {
            let at = tl.stopped_at();
            report += &format!(
                "lab boot: FAILED at the {} stage ({}): {why}\nlast console lines:\n",
                at.label(),
                at.doing()
            );
            for l in tl.last_console(12) {
                report += &format!("  | {l}\n");
            }
            Exit::Problems
        }
    };
    if !ctx.out.quiet || exit != Exit::Ok {
        print!("{report}");
    }
    let log = work.path().join("lab.log");
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&log) {
        let _ = f.write_all(report.as_bytes());
    }
    if o.keep {
        work.keep();
        ctx.out.say(format!(
            "lab: logs kept in {} (lab.log, serial.log, serve/httpd.conf, radvd.conf)",
            work.path().display()
        ));
    } else if exit != Exit::Ok {
        ctx.out
            .say("lab: rerun with --keep to keep the logs and the serial console");
    }
    Ok(exit)
}

/// The lab's `serve` prefixes each daemon's lines with `name| `; its own lines are `serve`.
pub(crate) fn split_serve(l: &Line) -> (String, String) {
    if l.who.starts_with("serve") {
        if let Some(c) = SERVE_LINE.captures(&l.text) {
            return (c[1].to_string(), c[2].to_string());
        }
    }
    (l.who.clone(), l.text.clone())
}

/// Router advertisements on the lab bridge: without them iPXE waits ~13 s for IPv6. No
/// default route is announced (lifetime 0): the lab has no uplink.
pub fn radvd_conf(bridge: &str) -> String {
    format!(
        "# Generated by pxe-kit lab.\ninterface {bridge} {{\n    AdvSendAdvert on;\n    MinRtrAdvInterval 3;\n    MaxRtrAdvInterval 10;\n    AdvDefaultLifetime 0;\n    prefix fd00:77::/64 {{\n        AdvOnLink on;\n        AdvAutonomous on;\n    }};\n}};\n"
    )
}

/// Follows the serial log QEMU writes, sending each complete line (the rest when stopped).
pub(crate) fn tail_console(
    path: PathBuf,
    tx: Sender<Line>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut f) = std::fs::File::open(&path) else {
            return;
        };
        let mut pos = 0u64;
        let mut pending: Vec<u8> = Vec::new();
        let send = |bytes: &[u8]| {
            let _ = tx.send(Line {
                who: "console".into(),
                text: String::from_utf8_lossy(bytes).into_owned(),
                at: SystemTime::now(),
            });
        };
        loop {
            let stopping = stop.load(Ordering::SeqCst);
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(pos)).is_ok() {
                if let Ok(n) = f.read_to_end(&mut buf) {
                    pos += n as u64;
                }
            }
            for b in buf {
                if b == b'\n' || b == b'\r' {
                    if !pending.is_empty() {
                        send(&pending);
                        pending.clear();
                    }
                } else {
                    pending.push(b);
                }
            }
            if stopping {
                if !pending.is_empty() {
                    send(&pending);
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_lines_are_split_by_daemon() {
        let l = Line {
            who: "serve".into(),
            text: "dhcpd| DHCPACK on 10.77.0.100".into(),
            at: SystemTime::now(),
        };
        assert_eq!(
            split_serve(&l),
            ("dhcpd".into(), "DHCPACK on 10.77.0.100".into())
        );
        let l = Line {
            who: "qemu".into(),
            text: "x| y".into(),
            at: SystemTime::now(),
        };
        assert_eq!(split_serve(&l).0, "qemu");
    }

    #[test]
    fn radvd_announces_no_default_route() {
        let c = radvd_conf("pxk-br0");
        assert!(c.starts_with("# Generated by pxe-kit lab.\ninterface pxk-br0 {"));
        assert!(c.contains("AdvDefaultLifetime 0;"));
    }
}
