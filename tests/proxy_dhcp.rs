//! Proxy mode (`dhcp.mode: proxy`) against staged Fedora and Debian roots: dnsmasq's file
//! passes the real `dnsmasq --test`, the plan installs and runs dnsmasq instead of the DHCP
//! server and opens proxy-dhcp, a switch back restores the server, and what proxy mode
//! cannot do (fixed addresses, a failover pair) is refused with nothing changed.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

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

fn need_dnsmasq() -> bool {
    !skip(missing(false, &["dnsmasq"], &[]))
}

/// A staged server (`stage`) after `init --dhcp-mode proxy`, or None (said) when syslinux or
/// dnsmasq is missing.
fn proxy_root(stage: fn() -> tempfile::TempDir) -> Option<tempfile::TempDir> {
    if skip(syslinux_missing()) || !need_dnsmasq() {
        return None;
    }
    let t = stage();
    ok(&run(t.path(), &proxy_init()));
    Some(t)
}

#[test]
fn staged_fedora_proxy_mode_runs_dnsmasq_instead_of_dhcpd() {
    let Some(t) = proxy_root(stage_fedora) else {
        return;
    };
    let r = t.path();
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
    let Some(t) = proxy_root(stage_debian) else {
        return;
    };
    let r = t.path();
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
    let Some(t) = proxy_root(stage_fedora) else {
        return;
    };
    let r = t.path();
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
    let Some(t) = proxy_root(stage_fedora) else {
        return;
    };
    let r = t.path();
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

/// A UEFI client's proxyDHCP request on udp/4011 (what the firmware sends after the proxy
/// offer, with the address the network's server gave it): BOOTP header, DHCPREQUEST,
/// vendor class PXEClient, client architecture 7.
fn uefi_proxy_request(mac: [u8; 6], ciaddr: [u8; 4]) -> Vec<u8> {
    let mut p = vec![1u8, 1, 6, 0];
    p.extend(0x0000_1234u32.to_be_bytes());
    p.extend([0, 0, 0x80, 0]);
    p.extend(ciaddr);
    p.extend([0u8; 12]);
    p.extend(mac);
    p.extend([0u8; 10 + 64 + 128]);
    p.extend([0x63, 0x82, 0x53, 0x63, 53, 1, 3]);
    let vendor = b"PXEClient:Arch:00007:UNDI:003016";
    p.extend([60, vendor.len() as u8]);
    p.extend(vendor);
    p.extend([93, 2, 0, 7, 94, 3, 1, 3, 16, 97, 17, 0]);
    p.extend([0x11; 16]);
    p.push(255);
    p
}

/// `serve` in proxy mode runs dnsmasq (not dhcpd) in the foreground in a namespace of the
/// test's own; a UEFI client's request on udp/4011 from another namespace on the bridge gets
/// its boot file, serve relays dnsmasq's lines, and `status` names the machine and the file.
#[test]
fn serve_runs_dnsmasq_in_proxy_mode_and_status_tracks_it() {
    if skip(missing(true, &["dnsmasq", "in.tftpd", "apache2", "ip"], &[]).or_else(syslinux_missing))
    {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let t = stage_debian();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = t.path();
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        "interface: pxk-sp0\nserver_ip: 10.78.0.1\nsubnet: 10.78.0.0/24\nrange: 10.78.0.100-10.78.0.200\ndhcp:\n  mode: proxy\n",
    );
    ok(&run(r, &["-q", "init"]));
    let ns = Netns::new("proxy");
    let client = Netns::new("proxy-client");
    ns.ip(&["link", "add", "pxk-sp0", "type", "bridge"]);
    ns.ip(&["addr", "add", "10.78.0.1/24", "dev", "pxk-sp0"]);
    ns.ip(&["link", "set", "pxk-sp0", "up"]);
    ns.ip(&[
        "link",
        "add",
        "pxk-sp1",
        "type",
        "veth",
        "peer",
        "name",
        "pxk-sp2",
        "netns",
        &client.name,
    ]);
    ns.ip(&["link", "set", "pxk-sp1", "master", "pxk-sp0", "up"]);
    client.ip(&[
        "link",
        "set",
        "pxk-sp2",
        "address",
        "52:54:00:aa:bb:01",
        "up",
    ]);
    client.ip(&["addr", "add", "10.78.0.50/24", "dev", "pxk-sp2"]);

    let mut served = Served::start(&ns, r);
    let mut wait_for = |needle: &str, secs: u64| {
        let seen = served.wait_for(needle, secs);
        (seen, served.out.join("\n"))
    };
    let (up, log) = wait_for("pxe-kit serve: ready", 20);
    assert!(up, "serve did not come up:\n{log}");
    assert!(log.contains("dnsmasq (proxyDHCP) on pxk-sp0"), "{log}");
    assert_eq!(ns.nice_of("dnsmasq"), [-10], "dnsmasq's nice value");
    assert!(ns.nice_of("dhcpd").is_empty(), "dhcpd runs in proxy mode");

    // The request, written once by cat: one datagram from the client's namespace.
    let pkt = t.path().with_extension("pxe-request");
    std::fs::write(
        &pkt,
        uefi_proxy_request([0x52, 0x54, 0, 0xaa, 0xbb, 1], [10, 78, 0, 50]),
    )
    .unwrap();
    client.bash(&format!("cat {} > /dev/udp/10.78.0.1/4011", pkt.display()));
    let (seen, log) = wait_for("bootfile name: uefi/shimx64.efi", 10);
    assert!(seen, "{log}");
    let st = ok(&run(r, &["status", "--json"]));
    let j: serde_json::Value = serde_json::from_str(&st).unwrap();
    let m = j["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mac"] == "52:54:00:aa:bb:01")
        .unwrap_or_else(|| panic!("no machine 52:54:00:aa:bb:01 in {j:#}"));
    assert!(
        m["steps"]
            .to_string()
            .contains("proxyDHCP boot file uefi/shimx64.efi"),
        "{m:#}"
    );

    served.stop();
    let status = served.child.wait().unwrap();
    assert!(status.success(), "serve exited with {status:?}");
    assert!(ns.pids().is_empty(), "processes left in {}", ns.name);
    let _ = std::fs::remove_file(pkt);
}
