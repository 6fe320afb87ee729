//! The lab's VM: which accelerator is safe on this host, which firmware (SeaBIOS, OVMF, OVMF
//! with Secure Boot) and QEMU's command line for a blank machine that boots from the network
//! (or, for benchmarks, straight into a kernel) with its output on a serial log.
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

/// The VM's firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS; the NIC's iPXE ROM does the network boot.
    Bios,
    /// OVMF without Secure Boot.
    Uefi,
    /// OVMF's Secure Boot build with Microsoft's keys enrolled, enforced (SMM on).
    SecureBoot,
}

impl Firmware {
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "BIOS",
            Firmware::Uefi => "UEFI",
            Firmware::SecureBoot => "UEFI Secure Boot",
        }
    }
}

/// OVMF's code and variable-store template for `fw`, as (code, vars) pairs to try in order:
/// Debian's `ovmf` (4 MiB builds first), then Fedora's `edk2-ovmf`.
pub fn ovmf_candidates(fw: Firmware) -> Vec<(PathBuf, PathBuf)> {
    let pairs: &[(&str, &str)] = match fw {
        Firmware::Bios => &[],
        Firmware::Uefi => &[
            (
                "/usr/share/OVMF/OVMF_CODE_4M.fd",
                "/usr/share/OVMF/OVMF_VARS_4M.fd",
            ),
            (
                "/usr/share/OVMF/OVMF_CODE.fd",
                "/usr/share/OVMF/OVMF_VARS.fd",
            ),
            (
                "/usr/share/edk2/ovmf/OVMF_CODE.fd",
                "/usr/share/edk2/ovmf/OVMF_VARS.fd",
            ),
        ],
        // The .ms variable stores have Microsoft's KEK/db enrolled, which shim is signed by.
        Firmware::SecureBoot => &[
            (
                "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
                "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
            ),
            (
                "/usr/share/OVMF/OVMF_CODE.secboot.fd",
                "/usr/share/OVMF/OVMF_VARS.ms.fd",
            ),
            (
                "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd",
                "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd",
            ),
        ],
    };
    pairs
        .iter()
        .map(|(c, v)| (PathBuf::from(c), PathBuf::from(v)))
        .collect()
}

/// The first OVMF pair present on this host, or what to install.
pub fn find_ovmf(fw: Firmware) -> Result<(PathBuf, PathBuf)> {
    ovmf_candidates(fw)
        .into_iter()
        .find(|(c, v)| c.exists() && v.exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no OVMF firmware for {} found; install it: apt-get install -y ovmf (Fedora: dnf install -y edk2-ovmf)",
                fw.name()
            )
        })
}

/// UEFI firmware files: the read-only code and this VM's own writable copy of the variables.
#[derive(Debug, Clone)]
pub struct Ovmf {
    pub code: PathBuf,
    pub vars: PathBuf,
}

/// A kernel QEMU loads itself (no firmware network boot): the benchmarks' floor.
#[derive(Debug, Clone)]
pub struct Direct {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub append: String,
}

#[derive(Debug, Clone)]
pub struct VmOpts {
    pub accel: Accel,
    pub memory_mib: u32,
    pub mac: String,
    pub serial_log: PathBuf,
    pub firmware: Firmware,
    /// Required for the UEFI firmwares.
    pub ovmf: Option<Ovmf>,
    /// Give the NIC the iPXE ROM (QEMU's default romfile). Without it OVMF's own virtio-net
    /// driver and PXE do the boot; SeaBIOS cannot boot from the network without it.
    pub ipxe_rom: bool,
    pub net: Net,
    pub direct: Option<Direct>,
}

/// How the NIC reaches the lab bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Net {
    /// The tap on the bridge.
    Tap(String),
    /// UDP datagrams to and from the lab's delay relay on loopback (QEMU sends to `remote`
    /// and listens on `local`), which copies frames to the tap late.
    Udp { local: u16, remote: u16 },
}

/// A blank VM: no disk, a virtio NIC on the lab network, network boot (or a direct kernel),
/// every byte of firmware, loader and kernel output on the serial log, no reboot on exit.
pub fn argv(o: &VmOpts) -> Vec<String> {
    let accel = match o.accel {
        Accel::Kvm => "kvm",
        Accel::Tcg => "tcg",
    };
    let mut v: Vec<String> = [
        "qemu-system-x86_64",
        "-name",
        "pxe-kit-lab",
        "-accel",
        accel,
        "-m",
        &o.memory_mib.to_string(),
        "-smp",
        "2",
        "-no-reboot",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        &format!("file:{}", o.serial_log.display()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut push = |a: &[&str]| v.extend(a.iter().map(|s| s.to_string()));
    match (o.firmware, &o.ovmf) {
        (Firmware::Bios, _) | (_, None) => {}
        (fw, Some(f)) => {
            if fw == Firmware::SecureBoot {
                // The secboot build keeps its variables in SMM-protected flash: without SMM
                // and a secure pflash it does not start.
                push(&[
                    "-machine",
                    "q35,smm=on",
                    "-global",
                    "driver=cfi.pflash01,property=secure,value=on",
                ]);
            } else {
                push(&["-machine", "q35"]);
            }
            let code = format!("if=pflash,format=raw,readonly=on,file={}", f.code.display());
            let vars = format!("if=pflash,format=raw,file={}", f.vars.display());
            push(&["-drive", &code, "-drive", &vars]);
        }
    }
    let netdev = match &o.net {
        Net::Tap(tap) => format!("tap,id=n0,ifname={tap},script=no,downscript=no"),
        Net::Udp { local, remote } => {
            format!("socket,id=n0,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}")
        }
    };
    let mut nic = format!("virtio-net-pci,netdev=n0,mac={}", o.mac);
    if !o.ipxe_rom {
        // An empty romfile: no option ROM at all.
        nic += ",romfile=";
    }
    push(&["-netdev", &netdev, "-device", &nic]);
    match &o.direct {
        Some(d) => push(&[
            "-kernel",
            &d.kernel.display().to_string(),
            "-initrd",
            &d.initrd.display().to_string(),
            "-append",
            &d.append,
        ]),
        None => push(&["-boot", "n"]),
    }
    v
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

    fn bios() -> VmOpts {
        VmOpts {
            accel: Accel::Tcg,
            memory_mib: 1024,
            mac: "52:54:00:77:00:10".into(),
            serial_log: "/tmp/w/serial.log".into(),
            firmware: Firmware::Bios,
            ovmf: None,
            ipxe_rom: true,
            net: Net::Tap("pxk-tap0".into()),
            direct: None,
        }
    }

    fn ovmf() -> Option<Ovmf> {
        Some(Ovmf {
            code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd".into(),
            vars: "/tmp/w/vars.fd".into(),
        })
    }

    #[test]
    fn uefi_uses_q35_and_pflash_with_a_private_vars_copy() {
        let a = argv(&VmOpts {
            firmware: Firmware::Uefi,
            ovmf: ovmf(),
            ..bios()
        })
        .join(" ");
        assert!(a.contains("-machine q35 -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd -drive if=pflash,format=raw,file=/tmp/w/vars.fd"), "{a}");
        assert!(!a.contains("smm"), "{a}");
        assert!(a.ends_with("-boot n"), "{a}");
    }

    #[test]
    fn secure_boot_needs_smm_and_a_secure_flash_and_can_drop_the_rom() {
        let a = argv(&VmOpts {
            firmware: Firmware::SecureBoot,
            ovmf: ovmf(),
            ipxe_rom: false,
            ..bios()
        })
        .join(" ");
        assert!(
            a.contains("-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on"),
            "{a}"
        );
        assert!(a.contains("mac=52:54:00:77:00:10,romfile= "), "{a}");
    }

    #[test]
    fn direct_kernel_and_udp_relay() {
        let a = argv(&VmOpts {
            net: Net::Udp {
                local: 40001,
                remote: 40000,
            },
            direct: Some(Direct {
                kernel: "/r/vmlinuz".into(),
                initrd: "/r/initrd.img".into(),
                append: "ip=dhcp root=live:http://x/s".into(),
            }),
            ..bios()
        });
        let s = a.join(" ");
        assert!(
            s.contains("-netdev socket,id=n0,udp=127.0.0.1:40000,localaddr=127.0.0.1:40001"),
            "{s}"
        );
        assert!(!s.contains("-boot n"), "{s}");
        // The command line stays one argument.
        assert_eq!(a.last().unwrap(), "ip=dhcp root=live:http://x/s");
        assert!(
            s.contains("-kernel /r/vmlinuz -initrd /r/initrd.img -append"),
            "{s}"
        );
    }

    #[test]
    fn ovmf_pairs_match_the_firmware() {
        assert!(ovmf_candidates(Firmware::Bios).is_empty());
        let sb = ovmf_candidates(Firmware::SecureBoot);
        assert!(sb
            .iter()
            .all(|(c, _)| c.to_string_lossy().contains("secboot")));
        assert!(sb[0].1.ends_with("OVMF_VARS_4M.ms.fd"));
        let u = ovmf_candidates(Firmware::Uefi);
        assert!(u
            .iter()
            .all(|(c, _)| !c.to_string_lossy().contains("secboot")));
    }

    #[test]
    fn argv_is_a_blank_network_booting_vm() {
        let a = argv(&bios());
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
