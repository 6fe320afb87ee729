//! `pxe-kit init` against a staged Debian server whose live-system commands meet fake
//! firewalld, NetworkManager, systemd and SELinux tools (`tests/common/fakebin`, state in
//! files): what only a live server shows, checked by its logic and recorded argv. The server
//! VM (`pxe-kit lab server`) proves the same against the real daemons.
//!
//! Covered: firewalld stopped (the zone saved offline, services still enabled, a warning); a
//! NetworkManager interface's binding settling (a second run changes nothing); moving the
//! interface keeps what its previous zone allowed, and refuses a zone it cannot carry without
//! a flag; a new interface takes the old one out of the zone; every service step runs when
//! one fails, each failure reported with SELinux's denial; a restart left due by a failed run
//! is done by the next; the DHCP lease database relabelled when its label is wrong.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use common::*;

macro_rules! need {
    () => {
        if skip(syslinux_missing()) {
            return;
        }
    };
}

fn ran(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("ran: "))
        .collect()
}

fn changes(log: &[String]) -> Vec<&String> {
    // The fake programs' calls that change something (probes excluded).
    log.iter()
        .filter(|l| {
            !(l.contains("--list-all-zones")
                || l.contains("--info-zone")
                || l.contains("--get-")
                || l.starts_with("nmcli -g")
                || l.starts_with("systemctl is-")
                || l.starts_with("dpkg-query")
                || l.starts_with("matchpathcon")
                || l.starts_with("apache2ctl"))
        })
        .collect()
}

#[test]
fn firewalld_stopped_init_saves_the_zone_offline_and_starts_the_services() {
    need!();
    let f = FakeSystem::new();
    f.remove("fw/running");
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    let o = f.run(r, INIT);
    let out = ok(&o);
    assert!(
        out.contains("firewalld is installed but not running: nothing is filtered now"),
        "{out}"
    );
    let log = f.log();
    for want in [
        "firewall-offline-cmd --new-zone=pxe-kit",
        "firewall-offline-cmd --zone=pxe-kit --add-service=dhcp",
        "firewall-offline-cmd --zone=pxe-kit --add-service=tftp",
        "firewall-offline-cmd --zone=pxe-kit --add-service=http",
        "firewall-offline-cmd --zone=pxe-kit --change-interface=ens4",
        "systemctl enable isc-dhcp-server.service",
        "systemctl restart isc-dhcp-server.service",
        "systemctl restart tftpd-hpa.service",
        "systemctl restart apache2.service",
    ] {
        assert!(log.iter().any(|l| l == want), "{want} missing: {log:#?}");
    }
    assert!(
        !log.iter().any(|l| l == "firewall-cmd --reload"),
        "{log:#?}"
    );
    assert_eq!(f.zone(true, "pxe-kit", "interfaces"), ["ens4"]);
    // What public allowed on ens4 stays allowed in pxe-kit's zone once firewalld starts.
    assert_eq!(
        f.zone(true, "pxe-kit", "services"),
        ["dhcp", "tftp", "http", "dhcpv6-client", "ssh"]
    );
    // Run again: the saved zone is in place, nothing changes.
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert!(changes(&f.log()).is_empty(), "{:#?}", f.log());
}

#[test]
fn a_networkmanager_interface_settles_in_the_zone_and_keeps_ssh() {
    need!();
    let f = FakeSystem::new();
    f.nm("ens4", "provisioning", "");
    f.nm("ens5", "public-side", "");
    f.reload();
    assert_eq!(f.zone_of("ens4"), "public");
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    let out = ok(&f.run(r, INIT));
    assert!(
        out.contains("ens4 moves from zone public into the pxe-kit zone; kept open there what public allowed: dhcpv6-client, ssh"),
        "{out}"
    );
    // NM holds the binding; the runtime zone follows; ssh stays open on ens4.
    assert_eq!(f.read("nm/conn/provisioning/zone").trim(), "pxe-kit");
    assert_eq!(f.zone_of("ens4"), "pxe-kit");
    assert_eq!(f.zone_of("ens5"), "public");
    assert!(f
        .zone(false, "pxe-kit", "services")
        .contains(&"ssh".to_string()));
    assert!(
        !f.zone(false, "public", "services")
            .contains(&"dhcp".to_string()),
        "DHCP must not open on the public side"
    );
    // The binding was made after the zone existed at runtime: NM's request did not fail.
    assert_eq!(f.read("errors"), "", "NM's binding failed: {:#?}", f.log());
    let settings = read(r, "etc/pxe-kit/pxe-kit.yaml");
    assert!(
        settings
            .contains("firewall:\n  moved_from: public\n  services:\n  - dhcpv6-client\n  - ssh"),
        "{settings}"
    );
    // The second run finds everything in place: no change, no reload, no restart.
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert!(ran(&out).is_empty(), "{out}");
    assert!(changes(&f.log()).is_empty(), "{:#?}", f.log());
    // Two calls of firewall-cmd answer it all.
    assert_eq!(
        f.log()
            .iter()
            .filter(|l| l.starts_with("firewall-cmd"))
            .count(),
        2,
        "{:#?}",
        f.log()
    );
}

#[test]
fn a_zone_that_allows_more_than_services_needs_the_takeover_flag() {
    need!();
    let f = FakeSystem::new();
    f.set("fw/perm/trusted/target", "ACCEPT\n");
    f.set("fw/perm/trusted/interfaces", "ens4\n");
    f.reload();
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    let before = snapshot(r);
    let o = f.run(r, INIT);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("moving ens4 from firewalld zone trusted")
            && e.contains("target ACCEPT")
            && e.contains("--firewall-takeover"),
        "{e}"
    );
    assert_same(&before, &snapshot(r), "a refused move changes nothing");
    assert!(changes(&f.log()).is_empty(), "{:#?}", f.log());
    let mut args = INIT.to_vec();
    args.push("--firewall-takeover");
    ok(&f.run(r, &args));
    assert_eq!(f.zone_of("ens4"), "pxe-kit");
}

#[test]
fn a_new_provisioning_interface_takes_the_old_one_out_of_the_zone() {
    need!();
    let f = FakeSystem::new();
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    ok(&f.run(r, INIT));
    assert_eq!(f.zone(true, "pxe-kit", "interfaces"), ["ens4"]);
    assert_eq!(f.zone_of("ens4"), "pxe-kit");
    f.clear_log();
    let out = ok(&f.run(r, &["init", "--interface", "ens5"]));
    assert!(out.contains("ens4 leaves the pxe-kit zone"), "{out}");
    assert!(
        f.log()
            .iter()
            .any(|l| l == "firewall-cmd --permanent --zone=pxe-kit --remove-interface=ens4"),
        "{:#?}",
        f.log()
    );
    assert_eq!(f.zone(true, "pxe-kit", "interfaces"), ["ens5"]);
    assert_eq!(f.zone_of("ens4"), "no zone");
    assert_eq!(f.zone_of("ens5"), "pxe-kit");
}

#[test]
fn every_service_step_runs_and_each_failure_names_selinux_denials() {
    need!();
    let f = FakeSystem::new();
    f.set("sd/fail/isc-dhcp-server.service", "");
    f.set(
        "se/avc/dhcpd",
        "----\ntime->Tue Nov 25 23:03:41 2026\ntype=AVC msg=audit(1764111821.123:212): avc:  denied  { read } for  pid=812 comm=\"dhcpd\" name=\"dhcpd.leases\" dev=\"vda\" ino=1234 scontext=system_u:system_r:dhcpd_t:s0 tcontext=system_u:object_r:dhcp_state_t:s0 tclass=file permissive=0\n",
    );
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    let o = f.run(r, INIT);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("failed: restarting isc-dhcp-server.service")
            && out.contains("SELinux denied dhcpd: avc: denied  { read }")
            && out.contains("restorecon -Rv /var/lib/dhcp /etc/dhcp")
            && out.contains("ausearch -m avc -ts recent -c dhcpd"),
        "{out}"
    );
    // The other services were set up all the same.
    let log = f.log();
    for want in [
        "systemctl restart tftpd-hpa.service",
        "systemctl restart apache2.service",
    ] {
        assert!(log.iter().any(|l| l == want), "{want}: {log:#?}");
    }
    assert!(
        stderr(&o).contains("1 step(s) failed")
            && stderr(&o).contains("restarting isc-dhcp-server.service"),
        "{}",
        stderr(&o)
    );
    // Fixed: the next run restarts what is still due, and only that.
    f.remove("sd/fail/isc-dhcp-server.service");
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert_eq!(
        ran(&out),
        ["systemctl restart isc-dhcp-server.service"],
        "{out}"
    );
    assert!(!r.join("var/lib/pxe-kit/pending-restarts").exists());
}

#[test]
fn a_restart_a_failed_run_left_due_is_done_by_the_next() {
    need!();
    let f = FakeSystem::new();
    // apache2 runs since boot; its restart fails (and leaves it running on the old config).
    f.set("sd/active/apache2.service", "");
    f.set("sd/fail/apache2.service", "");
    f.set("sd/fail-keeps-running/apache2.service", "");
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    assert_eq!(f.run(r, INIT).status.code(), Some(2));
    assert!(read(r, "var/lib/pxe-kit/pending-restarts").contains("apache2.service"));
    // The cause is fixed; the files are all in place, so nothing else would restart it.
    f.remove("sd/fail/apache2.service");
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert!(
        f.log()
            .iter()
            .any(|l| l == "systemctl restart apache2.service"),
        "{out}\n{:#?}",
        f.log()
    );
    assert!(!r.join("var/lib/pxe-kit/pending-restarts").exists());
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
}

#[test]
fn the_lease_database_is_relabelled_when_its_label_is_wrong() {
    need!();
    let f = FakeSystem::new();
    f.set("se/leases-wrong", "");
    let t = stage_debian_selinux_firewalld();
    let r = t.path();
    write(r, "var/lib/dhcp/dhcpd.leases", "");
    let out = ok(&f.run(r, INIT));
    let log = f.log();
    let relabel = log
        .iter()
        .position(|l| l == "restorecon -RF /var/lib/dhcp")
        .unwrap_or_else(|| panic!("{out}\n{log:#?}"));
    let dhcpd = log
        .iter()
        .position(|l| l == "systemctl restart isc-dhcp-server.service")
        .unwrap();
    assert!(relabel < dhcpd, "relabel before dhcpd starts: {log:#?}");
    // Debian's policy gets the rule for the image tree only (httpd_t must traverse /srv/tftp).
    assert!(
        log.iter()
            .any(|l| l == "semanage fcontext -a -t public_content_t /srv/tftp/pxe-kit(/.*)?"),
        "{log:#?}"
    );
    assert!(!log.iter().any(|l| l.contains("tftpdir")), "{log:#?}");
    f.clear_log();
    let out = ok(&f.run(r, &["init"]));
    assert!(out.contains("nothing to change"), "{out}");
}
