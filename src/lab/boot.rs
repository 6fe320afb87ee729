//! `lab boot`: a blank VM boots from the (staged) server inside a private network namespace.
//! The lab creates the namespace, runs `pxe-kit serve` and radvd in it, starts QEMU on a tap,
//! watches the serial console and the daemons' logs, and reports a timeline. Everything it
//! created is removed afterwards, whatever happened.
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use regex::Regex;

use crate::ctx::Ctx;
use crate::image;
use crate::lab::netns::{self, Netns};
use crate::lab::qemu::{self, Firmware, Net, Ovmf, VmOpts};
use crate::lab::timeline::{Stage, Timeline};
use crate::root::Out;
use crate::runner::find_program;
use crate::runner::Runner;
use crate::serve::supervise::{self, Line, Spec, Supervisor};
use crate::serve::{describe, READY};
use crate::Exit;

/// The VM's tap inside the lab namespace.
pub const TAP: &str = "pxk-tap0";
/// No output at all from the VM or the daemons for this long means the boot is stuck.
const STALL: Duration = Duration::from_secs(90);
/// QEMU may ignore SIGTERM (it does under kvm_pvm); SIGKILL follows after this.
const QEMU_GRACE: Duration = Duration::from_secs(3);

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
}

impl Default for VmChoice {
    fn default() -> Self {
        VmChoice {
            firmware: Firmware::Bios,
            ipxe_rom: true,
            latency_ms: None,
            direct: false,
        }
    }
}

impl VmChoice {
    /// From `lab boot`'s flags: --secure-boot implies UEFI without the iPXE ROM.
    pub fn from_args(a: &crate::cli::LabBootArgs) -> Result<VmChoice> {
        if let Some(ms) = a.latency {
            if !(0.0..=10_000.0).contains(&ms) {
                bail!("--latency {ms} is out of range; give milliseconds between 0 and 10000");
            }
        }
        if a.no_ipxe_rom && !(a.uefi || a.secure_boot) {
            bail!("--no-ipxe-rom needs --uefi: SeaBIOS cannot boot from the network without the NIC's iPXE ROM");
        }
        let firmware = if a.secure_boot {
            Firmware::SecureBoot
        } else if a.uefi {
            Firmware::Uefi
        } else {
            Firmware::Bios
        };
        Ok(VmChoice {
            firmware,
            ipxe_rom: !(a.no_ipxe_rom || a.secure_boot),
            latency_ms: a.latency.filter(|ms| *ms > 0.0),
            direct: a.direct,
        })
    }

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
        s
    }
}

/// A spinner on stderr, hidden when stderr is not a terminal or with -q.
pub fn spinner(out: Out, msg: &str) -> ProgressBar {
    use std::io::IsTerminal;
    if out.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
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
        // apache's workers and in.tftpd run unprivileged and must traverse it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting mode of {}", dir.path().display()))?;
        let path = dir.path().to_path_buf();
        Ok(WorkDir {
            dir: Some(dir),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the directory after exit.
    pub fn keep(&mut self) {
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
    }
}

/// A per-MAC pxelinux config that boots one image, removed when dropped.
struct MacConfig {
    path: PathBuf,
}

impl Drop for MacConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

static SERVE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\w+)\s*\| (.*)$").expect("regex"));

pub fn boot(ctx: &Ctx, o: &BootOpts, work: &mut WorkDir) -> Result<Exit> {
    if !nix::unistd::geteuid().is_root() {
        bail!("pxe-kit lab creates network namespaces and must run as root; use sudo");
    }
    let cfg = ctx.require_config()?;
    let profile = ctx.profile(Some(&cfg));
    let images = image::load_all(&ctx.root)?;
    // A MAC configured with add-host boots through its own pxelinux file (lab::perhost).
    let choice = crate::lab::perhost::choose(&cfg, &o.mac, o.image.as_deref())?;
    let name = choice.image.clone();
    if name == "local" {
        bail!(
            "the menu boots the local disk by default; pass --image NAME (one of: {})",
            image_names(&images)
        );
    }
    let Some(_) = images.iter().find(|m| m.name == name) else {
        bail!(
            "no image named {name:?}; pick one of: {}",
            image_names(&images)
        );
    };
    if cfg.boot.serial.is_none() {
        ctx.out.say("warning: boot.serial is not set, so the kernel's console is not on the serial port the lab watches; set boot: {serial: {port: 0, baud: 115200}}");
    }
    let qemu_bin = find_program("qemu-system-x86_64").with_context(|| {
        "qemu-system-x86_64 not found; install it: apt-get install -y qemu-system-x86 ipxe-qemu seabios"
    })?;
    let mac = qemu::parse_mac(&o.mac)?;
    let runner = Runner::new(true, false, ctx.out);
    for n in netns::sweep_stale(&runner)? {
        ctx.out.say(format!("removed the stale lab namespace {n}"));
    }
    let (accel, why) = qemu::host_accel();
    ctx.out.say(format!(
        "lab: QEMU uses {} ({why}); {}",
        accel.name(),
        o.vm.describe()
    ));
    let ovmf_files = match o.vm.firmware {
        Firmware::Bios => None,
        fw => Some(qemu::find_ovmf(fw)?),
    };

    // Boot the requested image rather than the menu default: a config for this MAC only.
    let _mac_cfg = if !choice.host_file && name != cfg.boot.default {
        let entries = image::boot_entries(&cfg, &profile, &images);
        let e = entries
            .iter()
            .find(|e| e.label == name)
            .expect("image was found above");
        let mut text =
            String::from("# Generated by pxe-kit lab for one boot; removed afterwards.\n");
        if let Some(s) = cfg.boot.serial {
            text += &format!("SERIAL {} {}\n", s.port, s.baud);
        }
        text += &format!(
            "DEFAULT {0}\nLABEL {0}\n    KERNEL {1}\n    APPEND initrd={2} {3}\n    IPAPPEND 2\n",
            e.label, e.kernel, e.initrd, e.args
        );
        let rel = profile
            .pxelinux_cfg_dir()
            .join(format!("01-{}", mac.replace(':', "-")));
        ctx.root.write(&rel, text.as_bytes(), 0o644)?;
        Some(MacConfig {
            path: ctx.root.path(&rel),
        })
    } else {
        None
    };

    let tftp_root = ctx.root.path(&profile.tftp_root);
    let direct = if o.vm.direct {
        let entries = image::boot_entries(&cfg, &profile, &images);
        let e = entries
            .iter()
            .find(|e| e.label == name)
            .expect("image was found above");
        let mut append = e.args.clone();
        if let Some(s) = cfg.boot.serial {
            // What the loaders' SERIAL line would have given the kernel.
            let console = format!("console=ttyS{},{}", s.port, s.baud);
            if !append.contains(&console) {
                append += &format!(" {console}");
            }
        }
        Some(qemu::Direct {
            kernel: tftp_root.join(&e.kernel),
            initrd: tftp_root.join(&e.initrd),
            append,
        })
    } else {
        None
    };

    let wp = work.path().to_path_buf();
    let serial_log = wp.join("serial.log");
    let mut log = std::fs::File::create(wp.join("lab.log"))
        .with_context(|| format!("creating {}", wp.join("lab.log").display()))?;

    supervise::install_stop_handler()?;
    let pb = spinner(ctx.out, "creating the lab network");
    let mut ns = Netns::create(
        runner,
        &cfg.interface,
        TAP,
        cfg.server_ip,
        cfg.subnet.prefix_len(),
    )?;
    // Declared after the namespace so it is dropped (children stopped) before it.
    let mut sup = Supervisor::new();

    pb.set_message("starting dhcpd, in.tftpd and apache (pxe-kit serve)");
    let exe = std::env::current_exe().context("finding pxe-kit's own binary")?;
    let distro = format!("{:?}", ctx.distro).to_lowercase();
    let serve = ns.exec_argv(&[
        exe.display().to_string(),
        "--root".into(),
        ctx.root.base().display().to_string(),
        "--config".into(),
        ctx.config_display().display().to_string(),
        "--distro".into(),
        distro,
        "serve".into(),
        "--run-dir".into(),
        wp.join("serve").display().to_string(),
    ]);
    sup.spawn(&Spec::new("serve", &serve))?;
    let t_start = SystemTime::now();
    let ready_by = Instant::now() + Duration::from_secs(20);
    loop {
        if supervise::stop_requested() {
            bail!("interrupted; the lab was cleaned up");
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            let (who, text) = split_serve(&l);
            log_line(&mut log, t_start, &who, &text);
            if ctx.out.verbose {
                pb.println(format!("{who:<7}| {text}"));
            }
            if who == "serve" && text.starts_with(READY) {
                break;
            }
        }
        if let Some((n, st)) = sup.reap() {
            while let Some(l) = sup.recv(Duration::from_millis(100)) {
                let (who, text) = split_serve(&l);
                log_line(&mut log, t_start, &who, &text);
            }
            bail!(
                "{n} {} before the daemons were up: {}",
                describe(&st),
                sup.tail("serve").join(" | ")
            );
        }
        if Instant::now() > ready_by {
            bail!(
                "the daemons did not come up within 20 s; see {}",
                wp.join("lab.log").display()
            );
        }
    }

    match find_program("radvd") {
        Some(radvd) => {
            let conf = wp.join("radvd.conf");
            std::fs::write(&conf, radvd_conf(&cfg.interface))
                .with_context(|| format!("writing {}", conf.display()))?;
            let argv = ns.exec_argv(&[
                radvd,
                "-n".into(),
                "-m".into(),
                "stderr".into(),
                "-C".into(),
                conf.display().to_string(),
                "-p".into(),
                wp.join("radvd.pid").display().to_string(),
            ]);
            sup.spawn(&Spec::new("radvd", &argv))?;
        }
        None => ctx.out.say(
            "warning: radvd is not installed; iPXE will wait ~13 s for an IPv6 router advertisement (apt-get install -y radvd)",
        ),
    }

    let net = match o.vm.latency_ms {
        None => Net::Tap(TAP.into()),
        Some(ms) => match ns.add_latency(TAP, ms) {
            Ok(()) => {
                ctx.out.say(format!(
                    "lab: netem delays the VM's traffic {ms} ms each way (round trip {} ms)",
                    2.0 * ms
                ));
                Net::Tap(TAP.into())
            }
            Err(e) => {
                // This kernel has no netem (or ifb/u32/mirred): delay the frames ourselves.
                ctx.out.say(format!(
                    "lab: netem is not available here ({}); a userspace relay delays the VM's frames {ms} ms each way (round trip {} ms)",
                    first_line(&format!("{e:#}")),
                    2.0 * ms
                ));
                let argv = ns.exec_argv(&[
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
                sup.spawn(&Spec::new("relay", &argv))?;
                Net::Udp {
                    local: RELAY_QEMU_PORT,
                    remote: RELAY_PORT,
                }
            }
        },
    };
    let ovmf = match ovmf_files {
        Some((code, template)) => {
            // Each VM gets fresh variables: boot entries OVMF records must not leak between runs.
            let vars = wp.join("OVMF_VARS.fd");
            std::fs::copy(&template, &vars)
                .with_context(|| format!("copying {} to {}", template.display(), vars.display()))?;
            Some(Ovmf { code, vars })
        }
        None => None,
    };
    let vm = VmOpts {
        accel,
        memory_mib: o.memory_mib,
        mac: mac.clone(),
        serial_log: serial_log.clone(),
        firmware: o.vm.firmware,
        ovmf,
        ipxe_rom: o.vm.ipxe_rom,
        net,
        direct,
    };
    let mut argv = qemu::argv(&vm);
    argv[0] = qemu_bin;
    let qemu_argv = ns.exec_argv(&argv);
    ctx.out
        .detail(format!("> {}", crate::runner::shell_join(&qemu_argv)));
    std::fs::write(&serial_log, b"")
        .with_context(|| format!("creating {}", serial_log.display()))?;
    let t0 = SystemTime::now();
    sup.spawn(&Spec::new("qemu", &qemu_argv))?;
    let tail_stop = Arc::new(AtomicBool::new(false));
    let tail = tail_console(serial_log.clone(), sup.sender(), tail_stop.clone());
    pb.set_message(format!("booting a blank VM ({}): power on", accel.name()));

    let mut tl = Timeline::new(t0, o.pattern.clone());
    let size_of = |f: &str| -> Option<u64> {
        std::fs::metadata(tftp_root.join(f))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    let started = Instant::now();
    let mut last_activity = Instant::now();
    let mut shown = Stage::PowerOn;
    let verdict: Result<(), String> = loop {
        if supervise::stop_requested() {
            break Err("interrupted (Ctrl-C or SIGTERM)".into());
        }
        if let Some(l) = sup.recv(Duration::from_millis(200)) {
            last_activity = Instant::now();
            let (who, text) = split_serve(&l);
            log_line(&mut log, t0, &who, &text);
            if ctx.out.verbose {
                pb.println(format!("{who:<7}| {text}"));
            }
            tl.feed(&who, &text, l.at, &size_of);
            if tl.reached != shown {
                shown = tl.reached;
                pb.set_message(format!(
                    "booting a blank VM ({}): {} after {:.0} s",
                    accel.name(),
                    shown.doing(),
                    started.elapsed().as_secs_f64()
                ));
            }
            if tl.success {
                break Ok(());
            }
            if let Some((_, line)) = &tl.failure {
                break Err(line.clone());
            }
        }
        if let Some((n, st)) = sup.reap() {
            // The console may still hold the last lines.
            std::thread::sleep(Duration::from_millis(300));
            while let Some(l) = sup.recv(Duration::from_millis(200)) {
                let (who, text) = split_serve(&l);
                log_line(&mut log, t0, &who, &text);
                tl.feed(&who, &text, l.at, &size_of);
            }
            if tl.success {
                break Ok(());
            }
            if n == "radvd" {
                ctx.out.say(format!(
                    "warning: radvd {}: {}",
                    describe(&st),
                    sup.tail("radvd").join(" | ")
                ));
                continue;
            }
            let why = sup.tail(&n).last().cloned().unwrap_or_default();
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
        if started.elapsed() > o.timeout {
            break Err(format!("timed out after {} s", o.timeout.as_secs()));
        }
        // A loader fetching the kernel and initrd over TFTP says nothing until it is done,
        // which takes minutes on a slow link: only the overall timeout applies then.
        let stall = if tl.reached == Stage::KernelLoad {
            o.timeout
        } else {
            STALL.min(o.timeout)
        };
        if last_activity.elapsed() > stall {
            break Err(format!(
                "stalled: no output from the VM or the daemons for {} s",
                stall.as_secs()
            ));
        }
    };
    let elapsed = SystemTime::now().duration_since(t0).unwrap_or_default();
    pb.set_message("stopping the VM and the daemons");
    if let Some(st) = sup.stop("qemu", QEMU_GRACE) {
        ctx.out.detail(format!("qemu {}", describe(&st)));
    }
    tail_stop.store(true, Ordering::SeqCst);
    let _ = tail.join();
    sup.stop_all(Duration::from_secs(5));
    drop(sup);
    ns.remove()?;
    pb.finish_and_clear();

    let total = tl
        .events()
        .last()
        .map(|e| e.t)
        .unwrap_or(elapsed.as_secs_f64());
    let mut report = format!(
        "boot timeline (seconds since power-on, {}, {}):\n{}",
        accel.name(),
        o.vm.describe(),
        tl.render()
    );
    let exit = match verdict {
        Ok(()) => {
            report += &format!(
                "lab boot: OK: /{}/ appeared on the serial console {total:.1} s after power-on ({}, {}; image {name})\nboot phases: {}\n",
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
    let _ = log.write_all(report.as_bytes());
    if o.keep {
        work.keep();
        ctx.out.say(format!(
            "lab: logs kept in {} (lab.log, serial.log, serve/httpd.conf, radvd.conf)",
            wp.display()
        ));
    } else if exit != Exit::Ok {
        ctx.out
            .say("lab: rerun with --keep to keep the logs and the serial console");
    }
    Ok(exit)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn image_names(images: &[image::Manifest]) -> String {
    if images.is_empty() {
        return "(none; add one with `pxe-kit add-image`)".into();
    }
    images
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lab's `serve` prefixes each daemon's lines with `name| `; its own lines are `serve`.
fn split_serve(l: &Line) -> (String, String) {
    if l.who == "serve" {
        if let Some(c) = SERVE_LINE.captures(&l.text) {
            return (c[1].to_string(), c[2].to_string());
        }
    }
    (l.who.clone(), l.text.clone())
}

fn log_line(log: &mut std::fs::File, t0: SystemTime, who: &str, text: &str) {
    let t = SystemTime::now()
        .duration_since(t0)
        .unwrap_or_default()
        .as_secs_f64();
    let _ = writeln!(log, "[{t:8.3}] {who:<7}| {text}");
}

/// Router advertisements on the lab bridge: without them iPXE waits ~13 s for IPv6. No
/// default route is announced (lifetime 0): the lab has no uplink.
pub fn radvd_conf(bridge: &str) -> String {
    format!(
        "# Generated by pxe-kit lab.\ninterface {bridge} {{\n    AdvSendAdvert on;\n    MinRtrAdvInterval 3;\n    MaxRtrAdvInterval 10;\n    AdvDefaultLifetime 0;\n    prefix fd00:77::/64 {{\n        AdvOnLink on;\n        AdvAutonomous on;\n    }};\n}};\n"
    )
}

/// Follows the serial log QEMU writes, sending each complete line (the rest when stopped).
fn tail_console(
    path: PathBuf,
    tx: Sender<Line>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
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

    fn args(extra: &[&str]) -> crate::cli::LabBootArgs {
        use clap::Parser;
        let mut v = vec!["pxe-kit", "lab", "boot"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Lab(l) => match l.command {
                crate::cli::LabCommand::Boot(b) => b,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }
    }

    #[test]
    fn secure_boot_implies_uefi_without_the_ipxe_rom() {
        let v = VmChoice::from_args(&args(&["--secure-boot"])).unwrap();
        assert_eq!(v.firmware, Firmware::SecureBoot);
        assert!(!v.ipxe_rom);
        assert_eq!(v.describe(), "UEFI Secure Boot, no iPXE ROM");
        let v = VmChoice::from_args(&args(&["--uefi", "--latency", "2.5"])).unwrap();
        assert_eq!(v.firmware, Firmware::Uefi);
        assert!(v.ipxe_rom);
        assert_eq!(v.describe(), "UEFI, 2.5 ms each way");
        let v = VmChoice::from_args(&args(&["--latency", "0"])).unwrap();
        assert_eq!(v.latency_ms, None, "0 ms is no delay at all");
        assert!(VmChoice::from_args(&args(&["--no-ipxe-rom"])).is_err());
        assert!(VmChoice::from_args(&args(&["--latency=-1"])).is_err());
        assert_eq!(
            VmChoice::from_args(&args(&["--direct"]))
                .unwrap()
                .describe(),
            "direct kernel boot"
        );
    }

    #[test]
    fn radvd_announces_no_default_route() {
        let c = radvd_conf("pxk-br0");
        assert!(c.starts_with("# Generated by pxe-kit lab.\ninterface pxk-br0 {"));
        assert!(c.contains("AdvDefaultLifetime 0;"));
    }
}
