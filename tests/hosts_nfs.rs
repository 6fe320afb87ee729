//! Per-machine boot (per-MAC and hex-IP pxelinux files, dhcpd host blocks) and NFS-root
//! images, staged for Fedora and Debian, with the real `dhcpd -t` and a bad-input table.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;
use std::path::Path;

use common::*;

fn tools_missing() -> Option<String> {
    syslinux_missing().or_else(|| missing(false, &["cpio"], &[]))
}

/// A staged server with one live image `compute` (fake kernel, initrd with livenet markers).
fn server(fedora: bool) -> (tempfile::TempDir, tempfile::TempDir) {
    let t = if fedora {
        stage_fedora()
    } else {
        stage_debian()
    };
    ok(&run(t.path(), INIT));
    let w = add_fake_image(t.path(), &["--name", "compute"]);
    (t, w)
}

fn tftp(fedora: bool) -> &'static str {
    if fedora {
        "var/lib/tftpboot"
    } else {
        "srv/tftp"
    }
}

#[test]
fn per_mac_and_hex_ip_hosts_with_fixed_leases() {
    if skip(tools_missing()) {
        return;
    }
    for fedora in [true, false] {
        let (t, _w) = server(fedora);
        let r = t.path();
        ok(&run(
            r,
            &[
                "add-host",
                "52-54-00-12-34-56",
                "--image",
                "compute",
                "--ip",
                "10.0.0.50",
                "--hostname",
                "term01",
            ],
        ));
        ok(&run(r, &["add-host", "10.0.0.60", "--image", "compute"]));
        ok(&run(
            r,
            &["add-host", "5254.00AB.CDEF", "--image", "compute"],
        ));
        let cfgdir = Path::new(tftp(fedora)).join("pxelinux.cfg");
        let mac_file = read(r, cfgdir.join("01-52-54-00-12-34-56").to_str().unwrap());
        assert!(
            mac_file.contains("DEFAULT compute\n")
                && mac_file.contains("KERNEL http://10.0.0.1/pxe-kit-tftp/pxe-kit/compute/vmlinuz"),
            "{mac_file}"
        );
        assert!(
            mac_file.contains("root=live:http://10.0.0.1/pxe-kit/compute/squashfs.img"),
            "{mac_file}"
        );
        assert!(
            r.join(tftp(fedora)).join("pxelinux.cfg/0A00003C").is_file(),
            "hex-IP file for 10.0.0.60"
        );
        assert!(
            r.join(tftp(fedora))
                .join("pxelinux.cfg/01-52-54-00-ab-cd-ef")
                .is_file(),
            "normalised MAC file"
        );
        let conf = read(r, "etc/dhcp/dhcpd.conf");
        assert!(
            conf.contains("host term01 {\n    hardware ethernet 52:54:00:12:34:56;\n    fixed-address 10.0.0.50;\n    option host-name \"term01\";\n}"),
            "{conf}"
        );
        dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();

        let json: serde_json::Value =
            serde_json::from_str(&ok(&run(r, &["hosts", "--json"]))).unwrap();
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["lease"], "fixed");
        assert!(rows[0]["config_file"]
            .as_str()
            .unwrap()
            .ends_with("pxelinux.cfg/01-52-54-00-12-34-56"));
        assert!(rows[1]["config_file"]
            .as_str()
            .unwrap()
            .ends_with("pxelinux.cfg/0A00003C"));

        // The same host again is a no-op; a second run of init changes nothing.
        let before = snapshot(r);
        let out = ok(&run(
            r,
            &[
                "add-host",
                "52:54:00:12:34:56",
                "--image",
                "compute",
                "--ip",
                "10.0.0.50",
                "--hostname",
                "term01",
            ],
        ));
        assert!(out.contains("nothing to change"), "{out}");
        assert_same(&before, &snapshot(r), "re-adding the same host");

        // An image in use cannot go without --force.
        let o = run(r, &["remove-image", "compute"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("booted by hosts 52:54:00:12:34:56, 10.0.0.60"),
            "{}",
            stderr(&o)
        );

        ok(&run(r, &["remove-host", "52:54:00:12:34:56"]));
        assert!(!r
            .join(tftp(fedora))
            .join("pxelinux.cfg/01-52-54-00-12-34-56")
            .exists());
        assert!(!read(r, "etc/dhcp/dhcpd.conf").contains("term01"));
        assert!(!read(r, "etc/pxe-kit/pxe-kit.yaml").contains("52:54:00:12:34:56"));
        ok(&run(r, &["remove-host", "10.0.0.60"]));
        assert!(!r.join(tftp(fedora)).join("pxelinux.cfg/0A00003C").exists());

        let out = ok(&run(r, &["remove-image", "compute", "--force"]));
        assert!(
            out.contains("removed hosts 52:54:00:ab:cd:ef (--force)"),
            "{out}"
        );
        assert!(!r
            .join(tftp(fedora))
            .join("pxelinux.cfg/01-52-54-00-ab-cd-ef")
            .exists());
        assert!(read(r, "etc/pxe-kit/pxe-kit.yaml").find("hosts").is_none());
    }
}

#[test]
fn host_bad_input_is_refused_cleanly() {
    if skip(tools_missing()) {
        return;
    }
    let (t, w) = server(false);
    let r = t.path();
    ok(&run(
        r,
        &[
            "add-host",
            "52:54:00:12:34:56",
            "--image",
            "compute",
            "--ip",
            "10.0.0.50",
        ],
    ));
    std::fs::create_dir_all(w.path().join("nokernel/etc")).unwrap();
    std::fs::write(w.path().join("afile"), "x").unwrap();
    let nokernel = w.path().join("nokernel");
    let afile = w.path().join("afile");
    // A tree with a kernel and its modules but no dracut of its own: the fix is named.
    let nodracut = w.path().join("nodracut");
    std::fs::create_dir_all(nodracut.join("boot")).unwrap();
    std::fs::create_dir_all(nodracut.join("lib/modules/6.9.0-test/kernel")).unwrap();
    fake_kernel(&nodracut.join("boot/vmlinuz-6.9.0-test"), "6.9.0-test");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["add-host", "52:54:00:12:34", "--image", "compute"],
            "six groups",
        ),
        (
            vec!["add-host", "52:54:00:12:34:zz", "--image", "compute"],
            "not a hex digit",
        ),
        (
            vec!["add-host", "01:00:5e:00:00:01", "--image", "compute"],
            "multicast",
        ),
        (
            vec!["add-host", "52:54-00:12:34:57", "--image", "compute"],
            "mixes separators",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:56",
                "--image",
                "compute",
                "--ip",
                "10.0.0.51",
            ],
            "exists already",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:57",
                "--image",
                "compute",
                "--ip",
                "10.0.0.50",
            ],
            "address 10.0.0.50 is given to two hosts",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:57",
                "--image",
                "compute",
                "--ip",
                "10.0.0.150",
            ],
            "inside the dynamic pool",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:57",
                "--image",
                "compute",
                "--ip",
                "10.9.0.5",
            ],
            "outside subnet",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:57",
                "--image",
                "compute",
                "--ip",
                "10.0.0.1",
            ],
            "the server's or the router's",
        ),
        (
            vec!["add-host", "52:54:00:12:34:57", "--image", "nosuch"],
            "unknown image \"nosuch\"",
        ),
        (
            vec![
                "add-host",
                "52:54:00:12:34:57",
                "--image",
                "compute",
                "--hostname",
                "bad_name",
            ],
            "bad_name",
        ),
        (
            vec![
                "add-host",
                "10.0.0.70",
                "--image",
                "compute",
                "--ip",
                "10.0.0.71",
            ],
            "--ip goes with a MAC",
        ),
        (
            vec!["remove-host", "52:54:00:99:99:99"],
            "no host 52:54:00:99:99:99",
        ),
        (
            vec!["add-image", "--nfs", afile.to_str().unwrap(), "--name", "t"],
            "is not a directory",
        ),
        (
            vec![
                "add-image",
                "--nfs",
                nokernel.to_str().unwrap(),
                "--name",
                "t",
            ],
            "holds no kernel",
        ),
        (
            vec!["add-image", "--nfs", "/nonexistent/tree", "--name", "t"],
            "/nonexistent/tree",
        ),
        (
            vec![
                "add-image",
                "--nfs",
                nodracut.to_str().unwrap(),
                "--name",
                "t",
            ],
            "install dracut and dracut-network in the tree (dnf --installroot",
        ),
    ];
    for (args, needle) in cases {
        let before = snapshot(r);
        let o = run(r, &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e} lacks {needle}");
        assert_same(&before, &snapshot(r), &format!("{args:?}"));
    }
}

#[test]
fn nfs_root_image_exports_read_only_and_boots_with_nfs_root() {
    if skip(tools_missing()) {
        return;
    }
    for fedora in [true, false] {
        let t = if fedora {
            stage_fedora()
        } else {
            stage_debian()
        };
        let r = t.path();
        ok(&run(r, INIT));
        let w = tempfile::tempdir().unwrap();
        let tree = w.path().join("terminal");
        std::fs::create_dir_all(tree.join("boot")).unwrap();
        fake_kernel(&tree.join("boot/vmlinuz-6.9.0-test"), "6.9.0-test");
        fake_initrd(&w.path().join("initrd-nfs.img"), false);
        clear_runner_log(r);
        ok(&run(
            r,
            &[
                "add-image",
                "--nfs",
                tree.to_str().unwrap(),
                "--initrd",
                w.path().join("initrd-nfs.img").to_str().unwrap(),
            ],
        ));
        let exports = read(r, "etc/exports.d/pxe-kit-terminal.exports");
        assert!(
            directives(&exports).contains(&format!(
                "\"{}\" 10.0.0.0/24(ro,no_root_squash,no_subtree_check,sec=sys)",
                tree.display()
            )),
            "{exports}"
        );
        let menu = read(r, &format!("{}/pxelinux.cfg/default", tftp(fedora)));
        assert!(menu.contains("# NFS carries no SELinux labels"), "{menu}");
        assert!(
            menu.contains(&format!(
                "root=nfs:10.0.0.1:{} ro rd.neednet=1 ip=dhcp selinux=0 systemd.volatile=overlay",
                tree.display()
            )),
            "{menu}"
        );
        assert!(r
            .join(tftp(fedora))
            .join("pxe-kit/terminal/vmlinuz")
            .is_file());
        assert!(
            !r.join("var/www/html/pxe-kit/terminal").exists(),
            "an NFS root needs no HTTP directory"
        );
        let manifest = read(r, "var/lib/pxe-kit/images/terminal.yaml");
        assert!(
            manifest.contains("root_type: nfs") && manifest.contains("nfs_export:"),
            "{manifest}"
        );
        let plan = planned(r);
        let has = |p: &str| plan.iter().any(|c| c.starts_with(p));
        if fedora {
            assert!(has("dnf install -y nfs-utils"), "{plan:#?}");
            for svc in ["nfs", "mountd", "rpc-bind"] {
                assert!(
                    has(&format!(
                        "firewall-cmd --permanent --zone=pxe-kit --add-service={svc}"
                    )),
                    "{plan:#?}"
                );
            }
            assert!(
                has("systemctl enable --now nfs-server.service"),
                "{plan:#?}"
            );
        } else {
            assert!(has("env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nfs-kernel-server"), "{plan:#?}");
            assert!(
                has("iptables -I INPUT -i ens4 -p tcp --dport 2049"),
                "{plan:#?}"
            );
            assert!(
                has("systemctl enable --now nfs-kernel-server.service"),
                "{plan:#?}"
            );
        }
        assert!(has("exportfs -r"), "{plan:#?}");
        // A host can boot the NFS image directly.
        ok(&run(
            r,
            &[
                "add-host",
                "52:54:00:12:34:56",
                "--image",
                "terminal",
                "--ip",
                "10.0.0.50",
            ],
        ));
        let f = read(
            r,
            &format!("{}/pxelinux.cfg/01-52-54-00-12-34-56", tftp(fedora)),
        );
        assert!(
            f.contains("root=nfs:10.0.0.1:") && f.contains("selinux=0"),
            "{f}"
        );
        dhcpd_accepts(&r.join("etc/dhcp/dhcpd.conf")).unwrap();
        // Removing the image takes the export away.
        ok(&run(r, &["remove-image", "terminal", "--force"]));
        assert!(!r.join("etc/exports.d/pxe-kit-terminal.exports").exists());
    }
}
