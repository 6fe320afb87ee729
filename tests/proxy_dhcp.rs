//! Proxy mode (`dhcp.mode: proxy`) against staged Fedora and Debian roots: dnsmasq's file
//! passes the real `dnsmasq --test`, the plan installs and runs dnsmasq instead of the DHCP
//! server and opens proxy-dhcp, a switch back restores the server, and what proxy mode
//! cannot do (fixed addresses, a failover pair) is refused with nothing changed.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

use std::path::Path;

macro_rules! need_syslinux {
    () => {
        if skip(syslinux_missing()) {
            return;
        }
    };
}

const CONF: &str = "etc/dnsmasq.d/pxe-kit.conf";

fn proxy_init() -> Vec<&'static str> {
    let mut v = INIT.to_vec();
    v.extend(["--dhcp-mode", "proxy"]);
    v
}

fn server_init() -> Vec<&'static str> {
    let mut v = INIT.to_vec();
    v.extend(["--dhcp-mode", "server"]);
    v
}

/// The real `dnsmasq --test` on this file alone (never the host's /etc/dnsmasq.conf).
fn dnsmasq_accepts(f: &Path) -> Result<(), String> {
    let o = std::process::Command::new("dnsmasq")
        .arg("--test")
        .arg(format!("--conf-file={}", f.display()))
        .output()
        .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn need_dnsmasq() -> bool {
    !skip(missing(false, &["dnsmasq"], &[]))
}

#[test]
fn staged_fedora_proxy_mode_runs_dnsmasq_instead_of_dhcpd() {
    need_syslinux!();
    if !need_dnsmasq() {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, &proxy_init()));
    dnsmasq_accepts(&r.join(CONF)).unwrap();
    let conf = read(r, CONF);
    for want in [
        "port=0",
        "interface=ens4",
        "bind-interfaces",
        "dhcp-range=10.0.0.0,proxy,255.255.255.0",
        "log-dhcp",
        "pxe-service=tag:!ipxe,x86PC,\"pxe-kit\",lpxelinux.0",
        "pxe-service=tag:!ipxe,X86-64_EFI,\"pxe-kit\",uefi/shimx64.efi",
        "pxe-service=tag:!ipxe,BC_EFI,\"pxe-kit\",uefi/shimx64.efi",
        "pxe-service=tag:ipxe,x86PC,\"iPXE script\",http://10.0.0.1/pxe-kit/ipxe/boot.ipxe",
    ] {
        assert!(conf.lines().any(|l| l == want), "missing {want:?}:\n{conf}");
    }
    // No TFTP of its own: the distribution's tftpd keeps udp/69.
    assert!(!conf.contains("enable-tftp"), "{conf}");
    // No DHCP server files: nothing that could hand out addresses.
    assert!(!r.join("etc/dhcp/dhcpd.conf").exists());
    assert!(!r
        .join("etc/systemd/system/dhcpd.service.d/pxe-kit.conf")
        .exists());
    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(has("dnf install -y dnsmasq tftp-server httpd"), "{plan:#?}");
    assert!(!plan.iter().any(|c| c.contains("dhcp-server")), "{plan:#?}");
    assert!(
        has("restorecon -RF /etc/dnsmasq.d/pxe-kit.conf"),
        "{plan:#?}"
    );
    for svc in ["dhcp", "proxy-dhcp", "tftp", "http"] {
        assert!(
            has(&format!(
                "firewall-cmd --permanent --zone=pxe-kit --add-service={svc}"
            )),
            "{svc}: {plan:#?}"
        );
    }
    assert!(has("systemctl enable dnsmasq.service"), "{plan:#?}");
    assert!(has("systemctl restart dnsmasq.service"), "{plan:#?}");
    assert!(!has("systemctl enable dhcpd.service"), "{plan:#?}");
    // A second run changes nothing.
    clear_runner_log(r);
    let out = ok(&run(r, &proxy_init()));
    assert!(
        !out.contains("updated") && !out.contains("created"),
        "{out}"
    );
}

#[test]
fn staged_debian_proxy_mode_plans_the_dnsmasq_package_and_unit() {
    need_syslinux!();
    if !need_dnsmasq() {
        return;
    }
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, &proxy_init()));
    dnsmasq_accepts(&r.join(CONF)).unwrap();
    let conf = read(r, CONF);
    assert!(
        conf.contains("pxe-service=tag:!ipxe,x86PC,\"pxe-kit\",lpxelinux.0\n"),
        "{conf}"
    );
    assert!(!r.join("etc/default/isc-dhcp-server").exists());
    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(
        has("env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsmasq tftpd-hpa"),
        "{plan:#?}"
    );
    assert!(has("systemctl enable dnsmasq.service"), "{plan:#?}");
    assert!(
        has("iptables -I INPUT -i ens4 -p udp --dport 4011"),
        "{plan:#?}"
    );
}

/// Server → proxy → server: proxy mode stops and disables dhcpd; the switch back removes
/// pxe-kit's dnsmasq file, stops and disables dnsmasq and starts dhcpd again.
#[test]
fn switching_modes_stops_one_daemon_and_restores_the_other() {
    need_syslinux!();
    if !need_dnsmasq() {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    clear_runner_log(r);
    ok(&run(r, &proxy_init()));
    let plan = planned(r);
    let has = |plan: &[String], p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(has(&plan, "systemctl disable dhcpd.service"), "{plan:#?}");
    assert!(has(&plan, "systemctl stop dhcpd.service"), "{plan:#?}");
    assert!(has(&plan, "systemctl restart dnsmasq.service"), "{plan:#?}");
    // dhcpd's file stays for the way back; only its unit stops.
    assert!(r.join("etc/dhcp/dhcpd.conf").is_file());
    assert!(r.join(CONF).is_file());
    clear_runner_log(r);
    let out = ok(&run(r, &server_init()));
    assert!(!r.join(CONF).exists(), "{out}");
    assert!(out.contains("removed /etc/dnsmasq.d/pxe-kit.conf"), "{out}");
    let plan = planned(r);
    assert!(has(&plan, "systemctl disable dnsmasq.service"), "{plan:#?}");
    assert!(has(&plan, "systemctl stop dnsmasq.service"), "{plan:#?}");
    assert!(has(&plan, "systemctl enable dhcpd.service"), "{plan:#?}");
    assert!(has(&plan, "systemctl start dhcpd.service"), "{plan:#?}");
    assert!(
        !plan.iter().any(|c| c.contains("enable dnsmasq")),
        "{plan:#?}"
    );
}

/// A dnsmasq file dnsmasq rejects (here from a template override) never replaces a working
/// one: `dnsmasq --test` runs on a scratch copy first.
#[test]
fn a_config_dnsmasq_rejects_is_not_installed() {
    need_syslinux!();
    if !need_dnsmasq() {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, &proxy_init()));
    let good = read(r, CONF);
    write(
        r,
        "etc/pxe-kit/templates/dnsmasq-proxy.conf.j2",
        "{{ header }}\nport=0\ndhcp-range={{ subnet }},proxy,not-a-mask\npxe-service=x86PC,\"x\",pxelinux.0\n",
    );
    let before = snapshot(r);
    let o = run(r, &proxy_init());
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("fails `dnsmasq --test`") && e.contains("/etc/dnsmasq.d/pxe-kit.conf"),
        "{e}"
    );
    assert!(
        !e.contains("pxe-kit-dnsmasq."),
        "names the scratch file: {e}"
    );
    assert_eq!(read(r, CONF), good);
    assert_same(&before, &snapshot(r), "a rejected dnsmasq config");
}

/// Fixed addresses are the network's DHCP server's business in proxy mode: add-host --ip is
/// refused with nothing changed; the same machine without --ip gets its own boot files.
#[test]
fn proxy_mode_refuses_fixed_addresses_and_keeps_per_host_boot() {
    need_syslinux!();
    if !need_dnsmasq() {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, &proxy_init()));
    let _img = add_fake_image(r, &["--name", "fake"]);
    let before = snapshot(r);
    let mac = "52:54:00:aa:bb:cc";
    let o = run(
        r,
        &["add-host", mac, "--ip", "10.0.0.50", "--image", "fake"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("belongs to the network's DHCP server"),
        "{}",
        stderr(&o)
    );
    assert_same(&before, &snapshot(r), "add-host --ip in proxy mode");
    ok(&run(r, &["add-host", mac, "--image", "fake"]));
    assert!(r
        .join("var/lib/tftpboot/pxelinux.cfg/01-52-54-00-aa-bb-cc")
        .is_file());
    // A settings file with a fixed lease cannot switch to proxy mode either.
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let _img = add_fake_image(r, &["--name", "fake"]);
    ok(&run(
        r,
        &["add-host", mac, "--ip", "10.0.0.50", "--image", "fake"],
    ));
    let before = snapshot(r);
    let o = run(r, &proxy_init());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fixed address"), "{}", stderr(&o));
    assert_same(
        &before,
        &snapshot(r),
        "init --dhcp-mode proxy with a fixed lease",
    );
}

/// A failover pair shares leases, and a proxy has none: refused.
#[test]
fn proxy_mode_refuses_a_failover_pair() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    let mut args = proxy_init();
    args.extend(["--peer", "10.0.0.2", "--role", "primary"]);
    let o = run(r, &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("failover pair"), "{}", stderr(&o));
    assert!(!r.join(CONF).exists());
}
