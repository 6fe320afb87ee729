//! `pxe-kit lab`: boot a blank VM through the real daemons in a private network namespace,
//! build a demo image from this host, and print libvirt XML for the same setup.
use std::time::Duration;

use anyhow::Result;
use regex::Regex;

use crate::cli::{GlobalArgs, LabArgs, LabCommand};
use crate::ctx::Ctx;
use crate::lab::boot::{self, BootOpts, VmChoice, WorkDir};
use crate::lab::libvirt::{self, BootFrom, Vm};
use crate::lab::timeline::DEMO_MARKER;
use crate::Exit;

/// Takes the global flags rather than a `Ctx`: `lab demo` stages its own root (there is no
/// settings file or os-release to detect yet) and the libvirt printers need no distribution.
pub fn run(args: &LabArgs, g: &GlobalArgs) -> Result<Exit> {
    match &args.command {
        LabCommand::Boot(a) => {
            let ctx = Ctx::new(&g.options())?;
            let pattern = match &a.pattern {
                Some(p) => Regex::new(p)
                    .map_err(|e| anyhow::anyhow!("--pattern {p:?} is not a valid regex: {e}"))?,
                None => Regex::new(DEMO_MARKER).expect("the marker is a plain regex"),
            };
            let opts = BootOpts {
                image: a.image.clone(),
                pattern,
                timeout: Duration::from_secs(a.timeout),
                keep: a.keep,
                mac: a.mac.clone(),
                memory_mib: a.memory,
                vm: VmChoice::from_args(a)?,
            };
            let mut work = WorkDir::new("pxe-kit-lab.")?;
            boot::boot(&ctx, &opts, &mut work)
        }
        LabCommand::Demo(a) => crate::lab::demo::run(a, g),
        LabCommand::Relay(a) => {
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
