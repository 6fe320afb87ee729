//! `pxe-kit init` with Kea against staged RHEL 10, Fedora and Debian roots: RHEL 10 picks Kea
//! by itself (it ships no ISC dhcpd) and refuses `--dhcp-server isc` with the fix; Fedora and
//! Debian take `--dhcp-server kea`; every written kea-dhcp4.conf passes the real
//! `kea-dhcp4 -t` (in a namespace that has its interface); switching isc → kea → isc plans
//! stopping and disabling the other daemon, and a run with nothing changed changes nothing;
//! a configuration Kea rejects is never installed.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

const KEA_CONF: &str = "etc/kea/kea-dhcp4.conf";

macro_rules! need {
    ($e:expr) => {
        if skip($e) {
            return;
        }
    };
}

/// What the Kea tests need: the staging files, and for `kea-dhcp4 -t` in a namespace, root
/// and Kea.
fn kea_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(true, &["kea-dhcp4", "ip"], &[]))
}

fn yaml(r: &std::path::Path) -> String {
    read(r, "etc/pxe-kit/pxe-kit.yaml")
}

#[test]
fn rhel10_picks_kea_and_its_config_passes_kea_dhcp4() {
    need!(kea_missing());
    let t = stage_rhel10();
    let r = t.path();
    let out = ok(&run(r, INIT));
    assert!(out.contains("Rhel profile"), "{out}");
    assert!(r.join(KEA_CONF).is_file(), "{out}");
    assert!(
        !r.join("etc/dhcp/dhcpd.conf").exists(),
        "no dhcpd on RHEL 10"
    );
    assert!(
        !r.join("etc/systemd/system/dhcpd.service.d").exists(),
        "no dhcpd drop-in: Kea names its interface in its own file"
    );
    // The choice is saved, so a later run (or an upgraded release) keeps it.
    assert!(yaml(r).contains("dhcp:\n  server: kea\n"), "{}", yaml(r));
    kea_accepts(&r.join(KEA_CONF), "ens4").unwrap();
    let conf: serde_json::Value = serde_json::from_str(&read(r, KEA_CONF)).unwrap();
    assert_eq!(conf["Dhcp4"]["interfaces-config"]["interfaces"][0], "ens4");
    assert_eq!(
        conf["Dhcp4"]["lease-database"]["name"],
        "/var/lib/kea/kea-leases4.csv"
    );
    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(has("dnf install -y kea tftp-server httpd"), "{plan:#?}");
    assert!(has("systemctl enable kea-dhcp4.service"), "{plan:#?}");
    assert!(has("systemctl restart kea-dhcp4.service"), "{plan:#?}");
    assert!(
        !plan
            .iter()
            .any(|c| c.contains("dhcpd") || c.contains("dhcp-server")),
        "{plan:#?}"
    );
    // init tested the file with the real kea-dhcp4 before writing it.
    assert!(
        runner_log(r).iter().any(|c| c["kind"] == "check"
            && c["argv"][0].as_str().unwrap().ends_with("kea-dhcp4")
            && c["argv"][1] == "-t"),
        "{:#?}",
        runner_log(r)
    );

    let before = snapshot(r);
    let again = ok(&run(r, &["init"]));
    assert!(again.contains("nothing to change"), "{again}");
    assert_same(&before, &snapshot(r), "second init");
}

#[test]
fn rhel10_refuses_isc_dhcpd_with_the_fix_and_changes_nothing() {
    need!(syslinux_missing());
    let t = stage_rhel10();
    let r = t.path();
    let before = snapshot(r);
    let mut argv = INIT.to_vec();
    argv.extend(["--dhcp-server", "isc"]);
    let o = run(r, &argv);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("ships no ISC dhcpd") && err.contains("--dhcp-server kea"),
        "{err}"
    );
    assert_same(&before, &snapshot(r), "refused init");
    assert!(planned(r).is_empty(), "{:?}", planned(r));

    // Settings carried over from an EL9 server that named isc: refused the same way, by init
    // and by every command that converges.
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\ndhcp:\n  server: isc\n",
    );
    let before = snapshot(r);
    for args in [&["init"][..], &["doctor", "--fix"][..]] {
        let o = run(r, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("--dhcp-server kea"), "{}", stderr(&o));
    }
    // doctor names it as the settings' problem, with the fix.
    let o = run(r, &["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let valid = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "config.valid")
        .unwrap();
    assert_eq!(valid["status"], "fail", "{valid:#}");
    assert!(valid["summary"]
        .as_str()
        .unwrap()
        .contains("ships no ISC dhcpd"));
    assert!(valid["fix"][0]
        .as_str()
        .unwrap()
        .ends_with("init --dhcp-server kea"));
    assert_same(&before, &snapshot(r), "refused with isc in the settings");
}

#[test]
fn el9_and_fedora_keep_isc_by_default() {
    need!(syslinux_missing());
    for (os, vendor) in [
        (
            "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
            "rocky",
        ),
        ("ID=fedora\nVERSION_ID=43\n", "fedora"),
    ] {
        let t = stage_redhat(os, vendor);
        let r = t.path();
        ok(&run(r, INIT));
        assert!(r.join("etc/dhcp/dhcpd.conf").is_file(), "{os}");
        assert!(!r.join(KEA_CONF).exists(), "{os}");
        assert!(yaml(r).contains("dhcp:\n  server: isc\n"), "{}", yaml(r));
    }
}

#[test]
fn fedora_and_debian_take_kea_when_asked() {
    need!(kea_missing());
    for (t, pkg, unit) in [
        (stage_fedora(), "dnf install -y kea ", "kea-dhcp4.service"),
        (
            stage_debian(),
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kea-dhcp4-server ",
            "kea-dhcp4-server.service",
        ),
    ] {
        let r = t.path();
        let mut argv = INIT.to_vec();
        argv.extend(["--dhcp-server", "kea", "--dns", "10.0.0.1", "--domain-search", "lab.example"]);
        ok(&run(r, &argv));
        kea_accepts(&r.join(KEA_CONF), "ens4").unwrap();
        assert!(!r.join("etc/dhcp/dhcpd.conf").exists());
        assert!(!r.join("etc/default/isc-dhcp-server").exists());
        let plan = planned(r);
        let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
        assert!(has(pkg), "{plan:#?}");
        assert!(has(&format!("systemctl enable {unit}")), "{plan:#?}");
        // A fresh staged tree had no other DHCP server set up: nothing to stop.
        assert!(!has("systemctl disable"), "{plan:#?}");
        let conf = read(r, KEA_CONF);
        assert!(conf.contains("\"data\": \"lab.example\""), "{conf}");
        assert!(pxe_kit::root::is_generated(conf.as_bytes()));
    }
}

#[test]
fn switching_isc_kea_isc_stops_the_other_and_settles() {
    need!(kea_missing());
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    let dhcpd_conf = read(r, "etc/dhcp/dhcpd.conf");

    clear_runner_log(r);
    let out = ok(&run(r, &["init", "--dhcp-server", "kea"]));
    // ping_check is off by default: nothing to warn about.
    assert!(!out.contains("ping_check"), "{out}");
    let plan = planned(r);
    let pos = |p: &str| {
        plan.iter()
            .position(|c| c.starts_with(p))
            .unwrap_or_else(|| panic!("{p} not planned: {plan:#?}"))
    };
    let (dis, stop, en) = (
        pos("systemctl disable isc-dhcp-server.service"),
        pos("systemctl stop isc-dhcp-server.service"),
        pos("systemctl enable kea-dhcp4-server.service"),
    );
    assert!(
        dis < en && stop < en,
        "the old server stops first: {plan:#?}"
    );
    assert!(pos("systemctl restart kea-dhcp4-server.service") > stop);
    kea_accepts(&r.join(KEA_CONF), "ens4").unwrap();
    // The other server's files stay as they were (switching back needs them).
    assert_eq!(read(r, "etc/dhcp/dhcpd.conf"), dhcpd_conf);
    assert!(yaml(r).contains("server: kea"));

    let before = snapshot(r);
    let again = ok(&run(r, &["init"]));
    assert!(again.contains("nothing to change"), "{again}");
    assert_same(&before, &snapshot(r), "second init with kea");

    clear_runner_log(r);
    ok(&run(r, &["init", "--dhcp-server", "isc"]));
    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(
        has("systemctl disable kea-dhcp4-server.service"),
        "{plan:#?}"
    );
    assert!(has("systemctl stop kea-dhcp4-server.service"), "{plan:#?}");
    assert!(has("systemctl enable isc-dhcp-server.service"), "{plan:#?}");
    assert!(has("systemctl start isc-dhcp-server.service"), "{plan:#?}");
    assert!(yaml(r).contains("server: isc"));
    assert_eq!(read(r, "etc/dhcp/dhcpd.conf"), dhcpd_conf);
    let before = snapshot(r);
    let again = ok(&run(r, &["init"]));
    assert!(again.contains("nothing to change"), "{again}");
    assert_same(&before, &snapshot(r), "second init back on isc");

    // A dhcpd setting Kea has no equivalent for is named when switching.
    let settings = yaml(r);
    assert!(settings.contains("ping_check: false"), "{settings}");
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        &settings.replace("ping_check: false", "ping_check: true"),
    );
    let out = ok(&run(r, &["init", "--dhcp-server", "kea"]));
    assert!(
        out.contains("ping_check applies to ISC dhcpd only"),
        "{out}"
    );
}

#[test]
fn a_config_kea_rejects_is_never_installed() {
    need!(syslinux_missing().or_else(|| missing(false, &["kea-dhcp4"], &[])));
    let t = stage_debian();
    let r = t.path();
    let mut argv = INIT.to_vec();
    argv.extend(["--dhcp-server", "kea"]);
    ok(&run(r, &argv));
    let good = read(r, KEA_CONF);
    let before = snapshot(r);
    // A merge patch with a value of the wrong type: Kea's own test refuses it.
    write(
        r,
        "etc/pxe-kit/templates/kea-dhcp4.merge.json",
        r#"{"Dhcp4": {"valid-lifetime": "an hour"}}"#,
    );
    let o = run(r, &["init"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("fails `kea-dhcp4 -t`")
            && err.contains("kea-dhcp4.conf:")
            && err.contains("kea-dhcp4.merge.json"),
        "{err}"
    );
    assert_eq!(read(r, KEA_CONF), good);
    // Not JSON at all: named with the fix.
    write(
        r,
        "etc/pxe-kit/templates/kea-dhcp4.merge.json",
        "{\"Dhcp4\": ",
    );
    let o = run(r, &["init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not JSON"), "{}", stderr(&o));
    std::fs::remove_file(r.join("etc/pxe-kit/templates/kea-dhcp4.merge.json")).unwrap();
    std::fs::remove_dir(r.join("etc/pxe-kit/templates")).unwrap();
    assert_same(&before, &snapshot(r), "refused patches");
    // A good patch goes in, and the file says where it came from.
    write(
        r,
        "etc/pxe-kit/templates/kea-dhcp4.merge.json",
        r#"{"Dhcp4": {"option-data": [{"name": "ntp-servers", "data": "10.0.0.1"}]}}"#,
    );
    let out = ok(&run(r, &["init"]));
    assert!(out.contains("updated /etc/kea/kea-dhcp4.conf"), "{out}");
    let conf = read(r, KEA_CONF);
    assert!(
        conf.contains("ntp-servers") && conf.contains("kea-dhcp4.merge.json"),
        "{conf}"
    );
}

#[test]
fn bad_dhcp_server_values_are_refused_on_one_line() {
    need!(syslinux_missing());
    let t = stage_debian();
    let r = t.path();
    let mut argv = INIT.to_vec();
    argv.extend(["--dhcp-server", "dnsmasq"]);
    let o = run(r, &argv);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("dnsmasq"), "{}", stderr(&o));
    write(
        r,
        "etc/pxe-kit/pxe-kit.yaml",
        "interface: ens4\nserver_ip: 10.0.0.1\nsubnet: 10.0.0.0/24\nrange: 10.0.0.100-10.0.0.200\ndhcp:\n  server: kea\n  ha: true\n",
    );
    let before = snapshot(r);
    let o = run(r, &["init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown field `ha`"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1);
    assert_same(&before, &snapshot(r), "refused settings");
}
