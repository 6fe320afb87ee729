//! `pxe-kit init` against staged Fedora and Debian roots: layout, plan argv, idempotence,
//! dry-run, backups, template overrides and the dhcpd -t guard.
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

/// A pair member on firewalld opens the failover port (no firewalld service has it) as a port
/// in pxe-kit's zone; a lone server does not.
#[test]
fn staged_fedora_pair_member_plans_the_failover_port() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let port = "firewall-cmd --permanent --zone=pxe-kit --add-port=647/tcp";
    assert!(!planned(r).iter().any(|c| c.starts_with(port)));
    clear_runner_log(r);
    let mut args = INIT.to_vec();
    args.extend(["--peer", "10.0.0.2", "--role", "primary"]);
    ok(&run(r, &args));
    let plan = planned(r);
    assert!(plan.iter().any(|c| c.starts_with(port)), "{plan:#?}");
}

#[test]
fn staged_fedora_writes_fedora_layout_and_plans_live_steps() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    let out = ok(&run(r, INIT));
    for f in [
        "etc/dhcp/dhcpd.conf",
        "etc/systemd/system/dhcpd.service.d/pxe-kit.conf",
        "etc/systemd/system/tftp.service.d/pxe-kit.conf",
        "etc/httpd/conf.d/pxe-kit.conf",
        "var/lib/tftpboot/pxelinux.cfg/default",
        "etc/pxe-kit/pxe-kit.yaml",
    ] {
        assert!(r.join(f).is_file(), "{f} missing; output:\n{out}");
    }
    for f in ["pxelinux.0", "ldlinux.c32", "menu.c32", "libutil.c32"] {
        assert_eq!(
            std::fs::read(r.join("var/lib/tftpboot").join(f)).unwrap(),
            std::fs::read(r.join("usr/share/syslinux").join(f)).unwrap(),
            "{f} differs from the syslinux package's"
        );
    }
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
    let dropin = read(r, "etc/systemd/system/dhcpd.service.d/pxe-kit.conf");
    assert!(
        dropin.contains("ExecStart=\nExecStart=/usr/sbin/dhcpd -f -cf /etc/dhcp/dhcpd.conf"),
        "{dropin}"
    );
    assert!(
        dropin.trim_end().ends_with(" ens4"),
        "dhcpd must serve ens4 only: {dropin}"
    );
    let tftp = directives(&read(r, "etc/systemd/system/tftp.service.d/pxe-kit.conf"));
    assert!(
        tftp.contains("in.tftpd -s -vv -B 1468 -T 250000 /var/lib/tftpboot")
            && !tftp.contains(" -c"),
        "{tftp}"
    );

    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(has("dnf install -y dhcp-server tftp-server httpd syslinux syslinux-nonlinux dracut-live dracut-network"), "{plan:#?}");
    assert!(has("restorecon -RF /etc/dhcp/dhcpd.conf"), "{plan:#?}");
    assert!(
        has("firewall-cmd --permanent --zone=pxe-kit --change-interface=ens4"),
        "{plan:#?}"
    );
    for svc in ["dhcp", "tftp", "http"] {
        assert!(
            has(&format!(
                "firewall-cmd --permanent --zone=pxe-kit --add-service={svc}"
            )),
            "{plan:#?}"
        );
    }
    assert!(has("firewall-cmd --reload"), "{plan:#?}");
    for unit in ["dhcpd.service", "tftp.socket", "httpd.service"] {
        assert!(has(&format!("systemctl enable {unit}")), "{plan:#?}");
        assert!(has(&format!("systemctl restart {unit}")), "{plan:#?}");
    }
    assert!(has("systemctl daemon-reload"), "{plan:#?}");
    // The seed's wrong ports never appear.
    assert!(
        !plan
            .iter()
            .any(|c| c.contains("68") || c.contains("tcp/69")),
        "{plan:#?}"
    );
}

#[test]
fn staged_debian_writes_debian_layout_and_plans_apt_iptables() {
    need_syslinux!();
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    assert_eq!(
        std::fs::read(r.join("srv/tftp/pxelinux.0")).unwrap(),
        std::fs::read(r.join("usr/lib/PXELINUX/pxelinux.0")).unwrap()
    );
    assert!(r.join("srv/tftp/ldlinux.c32").is_file());
    assert!(r.join("srv/tftp/pxelinux.cfg/default").is_file());
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
    let def = read(r, "etc/default/isc-dhcp-server");
    assert!(def.contains("INTERFACESv4=\"ens4\""), "{def}");
    let hpa = directives(&read(r, "etc/default/tftpd-hpa"));
    assert!(
        hpa.contains("TFTP_DIRECTORY=\"/srv/tftp\"")
            && hpa.contains("--secure")
            && !hpa.contains("--create"),
        "{hpa}"
    );
    let httpd = read(r, "etc/apache2/conf-available/pxe-kit.conf");
    assert!(
        httpd.contains("Options None") && httpd.contains("Require ip 10.0.0.0/24"),
        "{httpd}"
    );
    assert!(!r.join("etc/httpd").exists() && !r.join("var/lib/tftpboot").exists());

    let plan = planned(r);
    let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
    assert!(has("env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends isc-dhcp-server tftpd-hpa apache2 pxelinux syslinux-common dracut dracut-network dracut-live"), "{plan:#?}");
    assert!(has("a2enconf -q pxe-kit"), "{plan:#?}");
    for (proto, port) in [("udp", "67"), ("udp", "69"), ("tcp", "80")] {
        assert!(
            has(&format!(
                "iptables -I INPUT -i ens4 -p {proto} --dport {port} "
            )),
            "{plan:#?}"
        );
    }
    assert!(
        !plan
            .iter()
            .any(|c| c.starts_with("restorecon") || c.starts_with("semanage")),
        "no SELinux on Debian: {plan:#?}"
    );
    for unit in [
        "isc-dhcp-server.service",
        "tftpd-hpa.service",
        "apache2.service",
    ] {
        assert!(has(&format!("systemctl enable {unit}")), "{plan:#?}");
    }
}

#[test]
fn second_run_changes_nothing_byte_or_mtime() {
    need_syslinux!();
    for t in [stage_fedora(), stage_debian()] {
        let r = t.path();
        ok(&run(r, INIT));
        let before = snapshot(r);
        std::thread::sleep(std::time::Duration::from_millis(30));
        clear_runner_log(r);
        // Again with the same flags, and with none (re-applying the saved YAML).
        for args in [INIT, &["init"][..]] {
            let out = ok(&run(r, args));
            assert!(out.contains("nothing to change"), "{out}");
            assert_same(&before, &snapshot(r), "second run changed the tree");
        }
        assert!(
            !planned(r)
                .iter()
                .any(|c| c.contains("restart") || c.starts_with("restorecon")),
            "{:#?}",
            planned(r)
        );
    }
}

#[test]
fn dry_run_prints_diff_and_plan_and_changes_nothing() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    let before = snapshot(r);
    let mut args = vec!["--dry-run"];
    args.extend(INIT);
    let out = ok(&run(r, &args));
    assert_same(&before, &snapshot(r), "the tree changed");
    assert!(out.contains("+++ /etc/dhcp/dhcpd.conf"), "{out}");
    assert!(out.contains("+allow booting;"), "{out}");
    assert!(out.contains("$ dnf install -y"), "{out}");
    assert!(out.contains("$ systemctl enable dhcpd.service"), "{out}");
    // After a real run, a dry run with a change shows just that change.
    ok(&run(r, INIT));
    let out = ok(&run(r, &["--dry-run", "init", "--dns", "10.0.0.53"]));
    assert!(
        out.contains("+    option domain-name-servers 10.0.0.53;"),
        "{out}"
    );
    assert!(!read(r, "etc/dhcp/dhcpd.conf").contains("10.0.0.53"));
}

#[test]
fn user_file_is_backed_up_once() {
    need_syslinux!();
    let t = stage_debian();
    let r = t.path();
    write(
        r,
        "etc/default/isc-dhcp-server",
        "INTERFACESv4=\"\"\nINTERFACESv6=\"\"\n",
    );
    write(r, "etc/dhcp/dhcpd.conf", "# the user's own config\n");
    ok(&run(r, INIT));
    assert_eq!(
        read(r, "etc/dhcp/dhcpd.conf.pxe-kit.orig"),
        "# the user's own config\n"
    );
    assert_eq!(
        read(r, "etc/default/isc-dhcp-server.pxe-kit.orig"),
        "INTERFACESv4=\"\"\nINTERFACESv6=\"\"\n"
    );
    ok(&run(r, &["init", "--dns", "10.0.0.53"]));
    assert_eq!(
        read(r, "etc/dhcp/dhcpd.conf.pxe-kit.orig"),
        "# the user's own config\n"
    );
}

#[test]
fn failing_dhcpd_config_is_never_installed() {
    need_syslinux!();
    if skip(missing(false, &["dhcpd"], &[])) {
        return;
    }
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    let good = read(r, "etc/dhcp/dhcpd.conf");
    let tpl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/dhcpd.conf.j2"
    ))
    .unwrap();
    write(
        r,
        "etc/pxe-kit/templates/dhcpd.conf.j2",
        &tpl.replace("allow bootp;", "allow bootp"),
    );
    let before = snapshot(r);
    let o = run(r, &["init", "--dns", "10.0.0.53"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("fails `dhcpd -t`") && e.contains("line"), "{e}");
    assert_eq!(read(r, "etc/dhcp/dhcpd.conf"), good);
    assert_same(
        &before,
        &snapshot(r),
        "a failed validation must change nothing, settings included",
    );
}

#[test]
fn template_override_is_used_and_named_in_header() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    let tpl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/pxelinux.cfg.j2"
    ))
    .unwrap();
    write(
        r,
        "etc/pxe-kit/templates/pxelinux.cfg.j2",
        &tpl.replace("PROMPT 0", "PROMPT 0\nALLOWOPTIONS 0"),
    );
    ok(&run(r, INIT));
    let menu = read(r, "var/lib/tftpboot/pxelinux.cfg/default");
    assert!(menu.contains("ALLOWOPTIONS 0"), "{menu}");
    assert!(
        menu.starts_with("# Generated by pxe-kit from /etc/pxe-kit/templates/pxelinux.cfg.j2"),
        "{menu}"
    );
}

#[test]
fn xinetd_launcher_renders_read_only_service() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    // xinetd is used where it is installed, never installed by pxe-kit.
    write(r, "usr/sbin/xinetd", "");
    let mut args = INIT.to_vec();
    args.extend(["--tftp-launcher", "xinetd"]);
    ok(&run(r, &args));
    let x = directives(&read(r, "etc/xinetd.d/tftp"));
    assert!(
        x.contains("disable\t\t= no")
            && x.contains("server_args\t= -s -vv -B 1468 -T 250000 /var/lib/tftpboot"),
        "{x}"
    );
    assert!(!x.contains("-c"), "TFTP must be read-only: {x}");
    assert!(
        !planned(r)
            .iter()
            .any(|c| c.contains("xinetd") && c.starts_with("dnf")),
        "{:#?}",
        planned(r)
    );
    assert!(planned(r)
        .iter()
        .any(|c| c == "systemctl enable xinetd.service"));
}

#[test]
fn a_stale_xinetd_directory_neither_picks_nor_installs_xinetd() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    // Left over from an old release: the directory without the program.
    write(
        r,
        "etc/xinetd.d/echo-stream",
        "service echo { disable = yes }\n",
    );
    ok(&run(r, INIT));
    let plan = planned(r);
    assert!(
        plan.iter()
            .any(|c| c.starts_with("dnf install -y") && !c.contains("xinetd")),
        "{plan:#?}"
    );
    assert!(
        plan.iter().any(|c| c == "systemctl enable tftp.socket"),
        "{plan:#?}"
    );
    assert!(!r.join("etc/xinetd.d/tftp").exists());
    // Asking for xinetd where it is not installed: refused, nothing changed.
    let t = stage_fedora();
    let r = t.path();
    let before = snapshot(r);
    let mut args = INIT.to_vec();
    args.extend(["--tftp-launcher", "xinetd"]);
    let o = run(r, &args);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("xinetd is not installed")
            && stderr(&o).contains("--tftp-launcher socket"),
        "{}",
        stderr(&o)
    );
    assert_same(&before, &snapshot(r), "a refused launcher changes nothing");
}

#[test]
fn all_options_reach_dhcpd_conf_and_pass_dhcpd() {
    need_syslinux!();
    let t = stage_debian();
    let r = t.path();
    let mut args = INIT.to_vec();
    args.extend([
        "--router",
        "10.0.0.254",
        "--dns",
        "10.0.0.1,10.0.0.2",
        "--domain-search",
        "lab.example,example.org",
        "--time-offset",
        "-18000",
        "--serial",
        "0,115200",
    ]);
    ok(&run(r, &args));
    let c = read(r, "etc/dhcp/dhcpd.conf");
    for needle in [
        "option routers 10.0.0.254;",
        "option domain-name-servers 10.0.0.1, 10.0.0.2;",
        "option domain-search \"lab.example\", \"example.org\";",
        "option time-offset -18000;",
        "next-server 10.0.0.1;",
        "option arch code 93 = unsigned integer 16;",
        "if exists user-class and option user-class = \"iPXE\" {\n            # Already iPXE: its script over HTTP, not a loader that would chain back to iPXE.\n            filename \"http://10.0.0.1/pxe-kit/ipxe/boot.ipxe\";\n        } elsif option arch = 00:07 or option arch = 00:09 {\n            filename \"uefi/shimx64.efi\";\n        } else {\n            filename \"lpxelinux.0\";\n        }",
        "match if substring(option vendor-class-identifier, 0, 9) = \"PXEClient\";",
    ] {
        assert!(c.contains(needle), "{needle} missing:\n{c}");
    }
    dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
    assert!(read(r, "srv/tftp/pxelinux.cfg/default").contains("SERIAL 0 115200"));
}

#[test]
fn fedora_44_takes_shim_and_grub_from_usr_lib_efi_newest_version_first() {
    need_syslinux!();
    let t = stage_fedora();
    let r = t.path();
    // Fedora 44+: the packages' own copies, one directory per version (rpm order, epoch
    // included); the EFI partition's copy is only best effort.
    write(
        r,
        "usr/lib/efi/shim/15.8-3/EFI/fedora/shimx64.efi",
        "shim 15.8-3",
    );
    write(
        r,
        "usr/lib/efi/shim/16.1-7/EFI/fedora/shimx64.efi",
        "shim 16.1-7",
    );
    // A newer version without this vendor's directory does not count.
    write(
        r,
        "usr/lib/efi/shim/17.0-1/EFI/BOOT/BOOTX64.EFI",
        "other vendor",
    );
    write(
        r,
        "usr/lib/efi/grub2/1:2.12-9.fc43/EFI/fedora/grubx64.efi",
        "grub 9",
    );
    write(
        r,
        "usr/lib/efi/grub2/1:2.12-40.fc43/EFI/fedora/grubx64.efi",
        "grub 40",
    );
    let out = ok(&run(r, INIT));
    assert_eq!(
        read(r, "var/lib/tftpboot/uefi/shimx64.efi"),
        "shim 16.1-7",
        "{out}"
    );
    assert_eq!(read(r, "var/lib/tftpboot/uefi/grubx64.efi"), "grub 40");
    assert!(
        out.contains("uefi/shimx64.efi (from /usr/lib/efi/shim/16.1-7/EFI/fedora/shimx64.efi)"),
        "{out}"
    );
    // Without /usr/lib/efi (Fedora ≤ 43, RHEL 9): the EFI partition, as before.
    let t = stage_fedora();
    let r = t.path();
    ok(&run(r, INIT));
    assert_eq!(
        std::fs::read(r.join("var/lib/tftpboot/uefi/shimx64.efi")).unwrap(),
        std::fs::read(r.join("boot/efi/EFI/fedora/shimx64.efi")).unwrap()
    );
}

#[test]
fn debian_with_selinux_enforcing_gets_labels_that_fit_its_policy() {
    need_syslinux!();
    let t = stage_debian();
    let r = t.path();
    // The kernel runs SELinux: labels follow it, not the distribution's name.
    write(r, "sys/fs/selinux/enforce", "1");
    ok(&run(r, INIT));
    let plan = planned(r);
    // Debian's refpolicy labels /srv/tftp var_t, which httpd_t may traverse: no tftpdir
    // type on the TFTP root; the image tree gets the type tftpd and httpd both read.
    assert!(
        plan.iter()
            .any(|c| c == "semanage fcontext -a -t public_content_t /srv/tftp/pxe-kit(/.*)?"),
        "{plan:#?}"
    );
    assert!(!plan.iter().any(|c| c.contains("tftpdir")), "{plan:#?}");
    // The files and the DHCP lease database are labelled.
    assert!(
        plan.iter()
            .any(|c| c.starts_with("restorecon -RF /etc/dhcp/dhcpd.conf")
                && c.ends_with(" /var/lib/dhcp")),
        "{plan:#?}"
    );
    // Without SELinux in the kernel: no label step at all.
    let t = stage_debian();
    ok(&run(t.path(), INIT));
    assert!(
        !planned(t.path())
            .iter()
            .any(|c| c.starts_with("semanage") || c.starts_with("restorecon")),
        "{:#?}",
        planned(t.path())
    );
}

#[test]
fn pxe_kits_own_settings_file_is_never_backed_up() {
    need_syslinux!();
    let t = stage_debian();
    let r = t.path();
    ok(&run(r, INIT));
    // add-image --default rewrites the settings (boot.default).
    let _w = add_fake_image(r, &["--name", "demo", "--default"]);
    assert!(read(r, "etc/pxe-kit/pxe-kit.yaml").contains("default: demo"));
    assert!(
        !r.join("etc/pxe-kit/pxe-kit.yaml.pxe-kit.orig").exists(),
        "pxe-kit backed up its own settings file"
    );
}
