//! Golden files for every template, rendered for Fedora and Debian with one image in the menu.
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites them after an intended change.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::{Path, PathBuf};

use pxe_kit::config::{Config, Serial, Transfer, UefiLoader};
use pxe_kit::distro::{Distro, Profile};
use pxe_kit::host::Host;
use pxe_kit::image::BootEntry;
use pxe_kit::render::{HostVars, Templates, Vars, BUILTIN};
use pxe_kit::root::{Out, Root};

fn config() -> Config {
    let mut c: Config = serde_yaml::from_str(
        "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\n\
         router: 10.0.0.254\ndns: [10.0.0.1, 10.0.0.2]\ndomain_search: [lab.example]\ntime_offset: -18000\n",
    )
    .unwrap();
    c.boot.serial = Some(Serial {
        port: 0,
        baud: 115200,
    });
    c.boot.default = "f42".into();
    c.hosts = vec![Host {
        mac: Some("52:54:00:12:34:56".parse().unwrap()),
        ip: Some("10.0.0.50".parse().unwrap()),
        hostname: Some("term01".into()),
        image: "f42".into(),
    }];
    c
}

/// The variables each template is rendered with: per-host and exports templates get their
/// object.
fn vars_for(name: &str, cfg: &Config, profile: &Profile) -> Vars {
    let mut vars = Vars::new(cfg, profile, vec![entry()]);
    if name == "pxelinux-host.cfg.j2" {
        vars.host = Some(HostVars::new(&cfg.hosts[0], &[entry()]));
    }
    if name == "neigh-sysctl.conf.j2" {
        // Written only for subnets larger than the kernel's table: as for a /22.
        vars.neigh = pxe_kit::render::neigh_thresholds(1022);
    }
    if name == "exports.j2" {
        vars.image = "terminal".into();
        vars.export_path = "/srv/stateless/terminal".into();
    }
    vars
}

fn entry() -> BootEntry {
    BootEntry {
        label: "f42".into(),
        title: "f42 (Fedora-Workstation-Live-x86_64-42-1.1.iso)".into(),
        kernel: "pxe-kit/f42/vmlinuz".into(),
        initrd: "pxe-kit/f42/initrd.img".into(),
        args: "root=live:http://10.0.0.1/pxe-kit/f42/squashfs.img rd.live.image rd.neednet=1 ip=dhcp console=tty0 console=ttyS0,115200".into(),
        comment: None,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn every_template_matches_its_golden_file() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    // The classic chain: everything over TFTP, no iPXE script, syslinux.efi for UEFI.
    let mut classic = config();
    classic.boot.transfer = Transfer::Tftp;
    classic.boot.ipxe = false;
    classic.boot.uefi = UefiLoader::Syslinux;
    let mut failures = Vec::new();
    for (distro, dir, cfg) in [
        (Distro::Fedora, "fedora", config()),
        (Distro::Debian, "debian", config()),
        (Distro::Debian, "debian-classic", classic),
    ] {
        let profile = Profile::new(distro, Some(&cfg), &root);
        for (name, _) in BUILTIN {
            let got = Templates::builtin()
                .render(name, &vars_for(name, &cfg, &profile))
                .unwrap();
            let path = golden_dir().join(dir).join(name.trim_end_matches(".j2"));
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
            if got != want {
                failures.push(format!(
                    "{}:\n{}",
                    path.display(),
                    similar::TextDiff::from_lines(&want, &got).unified_diff()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rendered output differs from golden files (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
}

#[test]
fn golden_dhcpd_conf_passes_real_dhcpd() {
    let Some(dhcpd) = ["/usr/sbin/dhcpd", "/sbin/dhcpd"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        common::skip(Some("needs dhcpd (isc-dhcp-server)".into()));
        return;
    };
    for d in ["fedora", "debian", "debian-classic"] {
        let o = std::process::Command::new(dhcpd)
            .args(["-t", "-4", "-cf"])
            .arg(golden_dir().join(d).join("dhcpd.conf"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{d}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn generated_files_carry_the_header() {
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let cfg = config();
    let profile = Profile::new(Distro::Fedora, Some(&cfg), &root);
    for (name, _) in BUILTIN {
        let got = Templates::builtin()
            .render(name, &vars_for(name, &cfg, &profile))
            .unwrap();
        assert!(
            got.trim_start_matches("#!ipxe\n")
                .starts_with("# Generated by pxe-kit from built-in template"),
            "{name}: {got}"
        );
        assert!(pxe_kit::root::is_generated(got.as_bytes()), "{name}");
    }
}

#[test]
fn injection_through_values_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let cfg = config();
    let profile = Profile::new(Distro::Debian, Some(&cfg), &root);
    // A label or title with a newline would start a new pxelinux directive.
    let mut e = entry();
    e.title = "x\n    KERNEL http://evil/vmlinuz".into();
    let vars = Vars::new(&cfg, &profile, vec![e]);
    let err = Templates::builtin()
        .render("pxelinux.cfg.j2", &vars)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("control character or newline"),
        "{err:#}"
    );
    // A search domain with a quote is escaped, never closes the dhcpd string.
    let mut cfg2 = cfg.clone();
    cfg2.domain_search = vec!["a\";evil".into()];
    let vars = Vars::new(&cfg2, &profile, vec![]);
    let out = Templates::builtin().render("dhcpd.conf.j2", &vars).unwrap();
    assert!(out.contains(r#"option domain-search "a\";evil";"#), "{out}");
}
