//! `pxe-kit lab`: boot a blank VM through the real daemons in a private network namespace,
//! build a demo image from this host, rehearse the live path on a disposable server VM, and
//! print libvirt XML for the same setup.
use std::time::Duration;

use anyhow::{bail, Result};
use regex::Regex;

use crate::cli::{GlobalArgs, LabArgs, LabBootArgs, LabCommand};
use crate::config::DhcpServer;
use crate::ctx::Ctx;
use crate::lab::boot::{self, BootOpts, VmChoice, WorkDir};
use crate::lab::demo::{self, nfs::NFS_MARKER, DemoOpts};
use crate::lab::libvirt::{self, BootFrom, Vm};
use crate::lab::qemu::Firmware;
use crate::lab::server::{self, ServerOpts};
use crate::lab::storm::{self, StormOpts};
use crate::lab::timeline::DEMO_MARKER;
use crate::Exit;

/// Takes the global flags rather than a `Ctx`: `lab demo` stages its own root (there is no
/// settings file or os-release to detect yet) and the libvirt printers need no distribution.
pub fn run(args: &LabArgs, g: &GlobalArgs) -> Result<Exit> {
    match &args.command {
        LabCommand::Boot(a) => {
            let ctx = Ctx::new(&g.options())?;
            let mut work = WorkDir::new("pxe-kit-lab.")?;
            boot::boot(&ctx, &boot_opts(a, DEMO_MARKER)?, &mut work)
        }
        LabCommand::Demo(a) => {
            let marker = if a.nfs { NFS_MARKER } else { DEMO_MARKER };
            let o = DemoOpts {
                boot: boot_opts(&a.boot, marker)?,
                no_boot: a.no_boot,
                dhcp_server: a.dhcp_server.map(Into::into).unwrap_or(DhcpServer::Isc),
                proxy_dhcp: a.proxy_dhcp,
            };
            if a.nfs {
                demo::nfs::run(&o, g.out())
            } else {
                demo::live::run(&o, g.out())
            }
        }
        LabCommand::Storm(a) => {
            let sizes: Vec<u32> = a
                .sizes
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--sizes {:?}: give three sizes in MiB, e.g. 4,16,32",
                        a.sizes
                    )
                })?;
            let [k, i, r] = sizes[..] else {
                bail!(
                    "--sizes {:?}: give three sizes in MiB, e.g. 4,16,32",
                    a.sizes
                );
            };
            let o = StormOpts {
                clients: a.clients,
                rate: a.rate,
                link_mbit: a.link,
                image: a.image.clone(),
                uefi_percent: a.uefi,
                sizes_mib: [k, i, r],
                timeout: Duration::from_secs(a.timeout),
                json: a.json,
                keep: a.keep,
                dhcp: a.dhcp_server.map(Into::into),
                pair: a.pair.then(|| pair_opts(a)).transpose()?,
            };
            storm::run(&g.options(), &o, g.out())
        }
        LabCommand::Server(a) => {
            if a.timeout == 0 || a.client_timeout == 0 {
                bail!("--timeout and --client-timeout must be at least 1 second");
            }
            let o = ServerOpts {
                deb: a.deb.clone(),
                cache: a.cache.clone(),
                mirror: a.mirror.clone(),
                rebuild: a.rebuild,
                image_only: a.image_only,
                timeout: Duration::from_secs(a.timeout),
                client_timeout: Duration::from_secs(a.client_timeout),
                memory_mib: a.memory,
                keep: a.keep,
                json: a.json,
            };
            server::run(&o, g.out())
        }
        LabCommand::StormClients(a) => {
            storm::run_clients(&a.plan, &a.out)?;
            Ok(Exit::Ok)
        }
        LabCommand::Relay(a) => {
            // The same range as `lab boot --latency`; `nan` or a negative panicked below.
            if !(0.0..=10_000.0).contains(&a.delay_ms) {
                bail!(
                    "--delay-ms {} is out of range; give milliseconds between 0 and 10000",
                    a.delay_ms
                );
            }
            crate::lab::relay::run(
                &a.tap,
                a.listen,
                a.qemu,
                Duration::from_secs_f64(a.delay_ms / 1000.0),
            )?;
            Ok(Exit::Ok)
        }
        LabCommand::LibvirtNetwork(a) => {
            print!("{}", libvirt::network_xml(&a.name, &a.bridge)?);
            Ok(Exit::Ok)
        }
        LabCommand::LibvirtVm(a) => {
            let boot = match (&a.kernel, &a.initrd, &a.cmdline) {
                (Some(k), Some(i), Some(c)) => BootFrom::Kernel {
                    kernel: k.display().to_string(),
                    initrd: i.display().to_string(),
                    cmdline: c.clone(),
                },
                _ => BootFrom::Network,
            };
            let vm = Vm {
                name: a.name.clone(),
                mac: a.mac.clone(),
                memory_mib: a.memory,
                network: a.network.clone(),
                boot,
            };
            print!("{}", libvirt::vm_xml(&vm)?);
            Ok(Exit::Ok)
        }
    }
}

/// `lab boot`'s flags as the lab's options; `marker` is the default success pattern.
fn boot_opts(a: &LabBootArgs, marker: &str) -> Result<BootOpts> {
    let pattern = match &a.pattern {
        Some(p) => Regex::new(p)
            .map_err(|e| anyhow::anyhow!("--pattern {p:?} is not a valid regex: {e}"))?,
        None => Regex::new(marker).expect("the markers are plain regexes"),
    };
    Ok(BootOpts {
        image: a.image.clone(),
        pattern,
        timeout: Duration::from_secs(a.timeout),
        keep: a.keep,
        mac: a.mac.clone(),
        memory_mib: a.memory,
        vm: vm_choice(a)?,
    })
}

/// The VM from `lab boot`'s flags: --secure-boot implies UEFI without the iPXE ROM.
fn vm_choice(a: &LabBootArgs) -> Result<VmChoice> {
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
        relay: a.relay,
    })
}

/// `--pair`'s options: the mode and when the primary dies: after `--kill-after` seconds, or
/// as the `--kill-at-transfer`th machine starts its loader transfer from it (by default a
/// quarter of the machines, the first at least: the primary serves about half of them, so
/// that is halfway through its share).
fn pair_opts(a: &crate::cli::LabStormArgs) -> Result<storm::pair::PairOpts> {
    use storm::pair::KillAt;
    let kill = match (a.kill_after.as_deref().map(str::trim), a.kill_at_transfer) {
        (Some("never"), _) => KillAt::Never,
        (Some(s), _) => {
            let secs: f64 = s
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    anyhow::anyhow!("--kill-after {s:?}: give seconds after the first power-on (e.g. 2.5) or never")
                })?;
            KillAt::After(Duration::from_secs_f64(secs))
        }
        (None, Some(0)) => bail!("--kill-at-transfer counts machines from 1"),
        (None, Some(n)) => KillAt::Transfer(n as usize),
        (None, None) => KillAt::Transfer((a.clients as usize / 4).max(1)),
    };
    Ok(storm::pair::PairOpts {
        mode: a.ha_mode.into(),
        kill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> LabBootArgs {
        use clap::Parser;
        let mut v = vec!["pxe-kit", "lab", "boot"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Lab(l) => match l.command {
                LabCommand::Boot(b) => b,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }
    }

    #[test]
    fn secure_boot_implies_uefi_without_the_ipxe_rom() {
        let v = vm_choice(&args(&["--secure-boot"])).unwrap();
        assert_eq!(v.firmware, Firmware::SecureBoot);
        assert!(!v.ipxe_rom);
        assert_eq!(v.describe(), "UEFI Secure Boot, no iPXE ROM");
        let v = vm_choice(&args(&["--uefi", "--latency", "2.5"])).unwrap();
        assert_eq!(v.firmware, Firmware::Uefi);
        assert!(v.ipxe_rom);
        assert_eq!(v.describe(), "UEFI, 2.5 ms each way");
        let v = vm_choice(&args(&["--latency", "0"])).unwrap();
        assert_eq!(v.latency_ms, None, "0 ms is no delay at all");
        assert!(vm_choice(&args(&["--no-ipxe-rom"])).is_err());
        assert!(vm_choice(&args(&["--latency=-1"])).is_err());
        assert_eq!(
            vm_choice(&args(&["--direct"])).unwrap().describe(),
            "direct kernel boot"
        );
    }
}
