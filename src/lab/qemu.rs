//! The lab's VM: which accelerator is safe on this host, and QEMU's command line for a blank
//! machine that boots from the network with its output on a serial log.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        }
    }
}

/// KVM only when /dev/kvm is usable, it is not kvm_pvm (QEMU hangs on it at 100% CPU and
/// ignores SIGTERM) and the CPU has hardware virtualisation; else TCG. Returns why.
pub fn choose_accel(kvm_writable: bool, kvm_pvm: bool, cpuinfo: &str) -> (Accel, String) {
    let hw = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if !kvm_writable {
        (Accel::Tcg, "/dev/kvm is absent or not writable".into())
    } else if kvm_pvm {
        (
            Accel::Tcg,
            "/dev/kvm is kvm_pvm, on which QEMU hangs".into(),
        )
    } else if !hw {
        (Accel::Tcg, "the CPU shows no vmx/svm flag".into())
    } else {
        (Accel::Kvm, "hardware virtualisation is available".into())
    }
}

/// The decision for this host.
pub fn host_accel() -> (Accel, String) {
    use nix::unistd::{access, AccessFlags};
    let writable = access("/dev/kvm", AccessFlags::R_OK | AccessFlags::W_OK).is_ok();
    let pvm = Path::new("/sys/module/kvm_pvm").exists();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    choose_accel(writable, pvm, &cpuinfo)
}

#[derive(Debug, Clone)]
pub struct VmOpts {
    pub accel: Accel,
    pub memory_mib: u32,
    pub mac: String,
    pub tap: String,
    pub serial_log: PathBuf,
}

/// A blank VM: no disk, a virtio NIC (its iPXE ROM from ipxe-qemu) on the tap, network boot,
/// every byte of firmware, loader and kernel output on the serial log, no reboot on exit.
pub fn argv(o: &VmOpts) -> Vec<String> {
    let accel = match o.accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg",
    };
    [
        "qemu-system-x86_64",
        "-name",
        "pxe-kit-lab",
        "-accel",
        accel,
        "-m",
        &o.memory_mib.to_string(),
        "-smp",
        "2",
        "-boot",
        "n",
        "-no-reboot",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        &format!("file:{}", o.serial_log.display()),
        "-netdev",
        &format!("tap,id=n0,ifname={},script=no,downscript=no", o.tap),
        "-device",
        &format!("virtio-net-pci,netdev=n0,mac={}", o.mac),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Accepts `52:54:00:12:34:56` (or with dashes) and returns it lower-case with colons;
/// refuses multicast addresses, which no NIC can have.
pub fn parse_mac(s: &str) -> Result<String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        bail!("MAC {s:?} is not six hex pairs like 52:54:00:12:34:56");
    }
    let first = u8::from_str_radix(parts[0], 16).expect("checked hex");
    if first & 1 == 1 {
        bail!("MAC {s:?} is a multicast address; use a unicast one such as 52:54:00:12:34:56");
    }
    Ok(parts.join(":").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VMX: &str = "processor: 0\nflags\t\t: fpu vme vmx sse2\n";
    const PLAIN: &str = "processor: 0\nflags\t\t: fpu vme sse2\n";

    #[test]
    fn kvm_only_with_hardware_support_and_no_pvm() {
        assert_eq!(choose_accel(true, false, VMX).0, Accel::Kvm);
        assert_eq!(choose_accel(true, true, VMX).0, Accel::Tcg);
        assert_eq!(choose_accel(false, false, VMX).0, Accel::Tcg);
        assert_eq!(choose_accel(true, false, PLAIN).0, Accel::Tcg);
        assert!(choose_accel(true, true, VMX).1.contains("kvm_pvm"));
        // "vmx" inside another flag name is not hardware support.
        assert_eq!(choose_accel(true, false, "flags : vmxnope\n").0, Accel::Tcg);
    }

    #[test]
    fn argv_is_a_blank_network_booting_vm() {
        let a = argv(&VmOpts {
            accel: Accel::Tcg,
            memory_mib: 1024,
            mac: "52:54:00:77:00:10".into(),
            tap: "pxk-tap0".into(),
            serial_log: "/tmp/w/serial.log".into(),
        });
        let s = a.join(" ");
        assert!(s.contains("-accel tcg"), "{s}");
        assert!(s.contains("-boot n"), "{s}");
        assert!(s.contains("-serial file:/tmp/w/serial.log"), "{s}");
        assert!(s.contains("ifname=pxk-tap0,script=no"), "{s}");
        assert!(
            s.contains("virtio-net-pci,netdev=n0,mac=52:54:00:77:00:10"),
            "{s}"
        );
        assert!(!s.contains("-drive") && !s.contains("-hda"), "{s}");
    }

    #[test]
    fn macs_are_validated() {
        assert_eq!(parse_mac("52-54-00-AA-bb-01").unwrap(), "52:54:00:aa:bb:01");
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("52:54:00:aa:bb").is_err());
        assert!(parse_mac("52:54:00:aa:bb:zz").is_err());
    }
}
