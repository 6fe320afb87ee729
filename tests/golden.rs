//! Golden files for every template, rendered for Fedora and Debian with one image in the menu.
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites them after an intended change.
// Tests build fixtures, run the binary and tools directly: no Root or Runner here.
#![allow(clippy::disallowed_methods)]
mod common;

use std::path::{Path, PathBuf};

use pxe_kit::config::{Config, DhcpServer, Serial, Transfer, UefiLoader};
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
    let mut vars = Vars::new(cfg, profile, vec![entry(), shell_entry()]);
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

/// An entry whose kernel arguments hold what each loader's syntax reads specially (GRUB's
/// `&`, `$`, `{}`, `;`, `|`; a value with a space), as `bootline::canonical` lets them through:
/// the goldens show how each menu carries them.
fn shell_entry() -> BootEntry {
    BootEntry {
        label: "tools".into(),
        title: "tools (rescue_ x86_64 _1_.iso)".into(),
        kernel: "pxe-kit/tools/vmlinuz".into(),
        initrd: "pxe-kit/tools/initrd.img".into(),
        args: "root=live:http://10.0.0.1/pxe-kit/tools/squashfs.img rd.live.image ip=dhcp \"acpi_osi=!Windows 2012\" a&b $x {y} semi;colon x|y".into(),
        comment: None,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// `kea-dhcp4 -t` on the Kea configuration `f` with its interface names taken out (this host
/// has no `ens4`), as `init` tests a staged root's.
fn kea_test_without_interfaces(f: &Path) -> std::process::Output {
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        t.path(),
        pxe_kit::kea::without_interfaces(&std::fs::read(f).unwrap()).unwrap(),
    )
    .unwrap();
    std::process::Command::new("kea-dhcp4")
        .arg("-t")
        .arg(t.path())
        .output()
        .unwrap()
}

/// GRUB's own parser on a rendered grub.cfg: its complaint, if it has one.
fn grub_script_check(text: &str) -> Option<String> {
    if common::skip(common::missing(false, &["grub-script-check"], &[])) {
        return None;
    }
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), text).unwrap();
    common::grub_accepts(t.path()).err()
}

/// Compares `got` with the golden file at `path` (a diff into `failures` when they differ),
/// or rewrites the file with `update` (UPDATE_GOLDEN=1). Every grub.cfg must also pass
/// `grub-script-check`, updated or not.
fn check_golden(path: &Path, got: &str, update: bool, failures: &mut Vec<String>) {
    if path.file_name().is_some_and(|n| n == "grub.cfg") {
        if let Some(e) = grub_script_check(got) {
            failures.push(format!(
                "{}: grub-script-check rejects it: {e}",
                path.display()
            ));
        }
    }
    if update {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    if got != want {
        failures.push(format!(
            "{}:\n{}",
            path.display(),
            similar::TextDiff::from_lines(&want, got).unified_diff()
        ));
    }
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
            check_golden(&path, &got, update, &mut failures);
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

/// The real `dnsmasq --test` on every golden proxy configuration (`--conf-file`: that file
/// alone, never the host's), and the test bites: a broken copy is refused.
#[test]
fn golden_dnsmasq_proxy_conf_passes_real_dnsmasq() {
    if common::skip(common::missing(false, &["dnsmasq"], &[])) {
        return;
    }
    for d in ["fedora", "debian", "debian-classic"] {
        let f = golden_dir().join(d).join("dnsmasq-proxy.conf");
        common::dnsmasq_accepts(&f).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
    let text = std::fs::read_to_string(golden_dir().join("debian/dnsmasq-proxy.conf"))
        .unwrap()
        .replace(",proxy,", ",proxy,x");
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), text).unwrap();
    assert!(common::dnsmasq_accepts(t.path()).is_err());
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
    assert!(format!("{err:#}").contains("control character"), "{err:#}");
    // Values that never passed add-image's checks (a manifest from elsewhere, a variable in
    // an override): every menu refuses them by name instead of writing them into its syntax.
    for (field, value) in [
        ("args", "quiet ; poweroff"),
        ("args", "quiet #x"),
        ("args", "ip=${net0/ip}"),
        ("args", "it's"),
        ("args", "acpi_osi=\"!Windows 2012\""),
        ("kernel", "pxe-kit/f42/vmlinuz ; poweroff"),
        ("initrd", "pxe-kit/f42/$x"),
        ("title", "f42 || poweroff"),
        ("label", "f42 ; poweroff"),
    ] {
        let mut e = entry();
        match field {
            "args" => e.args = value.into(),
            "kernel" => e.kernel = value.into(),
            "initrd" => e.initrd = value.into(),
            "title" => e.title = value.into(),
            _ => e.label = value.into(),
        }
        let vars = Vars::new(&cfg, &profile, vec![e]);
        for tpl in ["pxelinux.cfg.j2", "grub.cfg.j2", "boot.ipxe.j2"] {
            if (field, tpl) == ("label", "pxelinux.cfg.j2")
                || (field, tpl) == ("label", "grub.cfg.j2")
            {
                // pxelinux's LABEL takes its whole line, GRUB's --id is single-quoted.
                continue;
            }
            let err = match Templates::builtin().render(tpl, &vars) {
                Ok(out) => panic!("{tpl}: {field} {value:?} rendered:\n{out}"),
                Err(e) => format!("{e:#}"),
            };
            let named = format!("{value:?}");
            assert!(err.contains(&named), "{tpl}: {err}");
        }
    }
    // A search domain with a quote is escaped, never closes the dhcpd string.
    let mut cfg2 = cfg.clone();
    cfg2.domain_search = vec!["a\";evil".into()];
    let vars = Vars::new(&cfg2, &profile, vec![]);
    let out = Templates::builtin().render("dhcpd.conf.j2", &vars).unwrap();
    assert!(out.contains(r#"option domain-search "a\";evil";"#), "{out}");
}

/// Kea's configuration is JSON from typed values, not a template: its golden files sit beside
/// the templates' (`kea-dhcp4.conf`): with a fixed-address host, iPXE and shim (debian); with
/// iPXE off (debian-no-ipxe); the classic chain with syslinux.efi for UEFI (debian-classic);
/// and with a user's merge patch (debian-patched). Fedora and RHEL render the same bytes:
/// every path in it is the same on the three families.
#[test]
fn kea_config_matches_its_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let mut no_ipxe = config();
    no_ipxe.boot.ipxe = false;
    let mut classic = config();
    classic.boot.transfer = Transfer::Tftp;
    classic.boot.ipxe = false;
    classic.boot.uefi = UefiLoader::Syslinux;
    let patch = r#"{"Dhcp4": {"option-data": [{"name": "ntp-servers", "data": "10.0.0.1"}],
        "valid-lifetime": 7200, "max-valid-lifetime": 14400, "comment": "mine"}}"#;
    let render = |distro, cfg: &Config, patch: Option<&str>| {
        let mut cfg = cfg.clone();
        cfg.dhcp.server = Some(DhcpServer::Kea);
        let profile = Profile::new(distro, Some(&cfg), &root);
        let vars = Vars::new(&cfg, &profile, vec![entry()]);
        pxe_kit::kea::render(
            &vars,
            &profile.dhcp.leases,
            profile.dhcp.control_socket.as_deref().unwrap(),
            patch,
        )
        .unwrap()
    };
    let mut failures = Vec::new();
    for (dir, cfg, patch) in [
        ("debian", config(), None),
        ("debian-no-ipxe", no_ipxe, None),
        ("debian-classic", classic, None),
        ("debian-patched", config(), Some(patch)),
    ] {
        let got = render(Distro::Debian, &cfg, patch);
        for d in [Distro::Fedora, Distro::Rhel] {
            assert_eq!(render(d, &cfg, patch), got, "{d:?} differs from Debian");
        }
        let path = golden_dir().join(dir).join("kea-dhcp4.conf");
        check_golden(&path, &got, update, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let g = |d: &str| std::fs::read_to_string(golden_dir().join(d).join("kea-dhcp4.conf")).unwrap();
    // What each variant is for, in the file itself.
    assert!(g("debian").contains("pxe-kit-ipxe") && g("debian").contains("\"uefi/shimx64.efi\""));
    assert!(g("debian").contains("\"hw-address\": \"52:54:00:12:34:56\""));
    assert!(!g("debian-no-ipxe").contains("pxe-kit-ipxe"));
    assert!(
        g("debian-classic").contains("\"efi64/syslinux.efi\"")
            && g("debian-classic").contains("\"pxelinux.0\"")
    );
    let p: serde_json::Value = serde_json::from_str(&g("debian-patched")).unwrap();
    assert_eq!(p["Dhcp4"]["valid-lifetime"], 7200);
    assert_eq!(p["Dhcp4"]["option-data"][0]["name"], "ntp-servers");
    // The patch cannot take the header away: pxe-kit must still know its own file.
    assert!(pxe_kit::root::is_generated(g("debian-patched").as_bytes()));
    for d in ["debian", "debian-no-ipxe", "debian-classic"] {
        assert!(pxe_kit::root::is_generated(g(d).as_bytes()), "{d}");
    }
}

/// `kea-dhcp4 -t` on every golden Kea config: the real files inside a network namespace of
/// the test's own that has their interface (`ens4`, a veth), and the copies without
/// interface names that `init` tests on a host without it (no namespace needed).
#[test]
fn golden_kea_configs_pass_real_kea_dhcp4() {
    if common::skip(common::missing(true, &["kea-dhcp4", "ip"], &[])) {
        return;
    }
    let ns = common::Netns::new("kea-golden");
    ns.ip(&[
        "link", "add", "ens4", "type", "veth", "peer", "name", "ens4p",
    ]);
    ns.ip(&["link", "set", "ens4", "up"]);
    for d in [
        "debian",
        "debian-no-ipxe",
        "debian-classic",
        "debian-patched",
    ] {
        let f = golden_dir().join(d).join("kea-dhcp4.conf");
        let o = std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name, "kea-dhcp4", "-t"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{d}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let o = kea_test_without_interfaces(&f);
        assert!(
            o.status.success(),
            "{d} without interfaces: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // And the test bites: a wrong value type is refused.
    let bad = golden_dir().join("debian").join("kea-dhcp4.conf");
    let text = std::fs::read_to_string(bad)
        .unwrap()
        .replace("\"valid-lifetime\": 3600", "\"valid-lifetime\": \"x\"");
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        t.path(),
        pxe_kit::kea::without_interfaces(text.as_bytes()).unwrap(),
    )
    .unwrap();
    let o = std::process::Command::new("kea-dhcp4")
        .arg("-t")
        .arg(t.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// The JSON's shape: every string emptied, so two documents compare by structure (keys,
/// nesting, array lengths, types) whatever their values.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(_) => Value::String(String::new()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        other => other.clone(),
    }
}

/// Every string value of a JSON document.
fn strings(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Hostile strings put straight into every value that reaches Kea's JSON (the settings'
/// validation is bypassed: this is the renderer's own fence). Each is either refused with an
/// error, or the output parses to exactly the structure of a clean rendering and carries the
/// string intact as a value: no string can open a key, a class, an option or a reservation.
#[test]
fn hostile_strings_never_change_the_kea_json_structure() {
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    // With a relayed subnet: its values reach the JSON too.
    let mut cfg = relayed_config();
    cfg.dhcp.server = Some(DhcpServer::Kea);
    let profile = Profile::new(Distro::Debian, Some(&cfg), &root);
    let clean = Vars::new(&cfg, &profile, vec![entry()]);
    let render = |v: &Vars| {
        pxe_kit::kea::render(
            v,
            std::path::Path::new("/var/lib/kea/kea-leases4.csv"),
            std::path::Path::new("/run/kea/kea4-ctrl-socket"),
            None,
        )
    };
    let want = shape(&serde_json::from_str(&render(&clean).unwrap()).unwrap());
    let hostile = [
        "\"",
        "\\",
        "\", \"evil\": \"x",
        "\"}], \"client-classes\": [{\"name\": \"evil\", \"test\": \"true\"}], \"x\": [{\"y\": \"",
        "ens4\n\"hooks-libraries\": []",
        "x\u{0}y",
        "' or true or '",
        "PXEClient' and member('pxe-kit-bios",
        "a,b",
        "lab.example, evil.example",
        "&#x2c",
        "{{ header }}",
        "$(reboot)",
        "\u{202e}evil",
        "10.0.0.1\", \"routers\": \"6.6.6.6",
        "52:54:00:12:34:56\", \"ip-address\": \"10.0.0.99",
        "*",
    ];
    type Field = (&'static str, fn(&mut Vars, &str));
    let fields: &[Field] = &[
        ("interface", |v, s| v.interface = s.into()),
        ("subnet_cidr", |v, s| v.subnet_cidr = s.into()),
        ("range_start", |v, s| v.range_start = s.into()),
        ("router", |v, s| v.router = Some(s.into())),
        ("dns", |v, s| v.dns = vec![s.into()]),
        ("domain_search", |v, s| v.domain_search = vec![s.into()]),
        ("server_ip", |v, s| v.server_ip = s.into()),
        ("broadcast", |v, s| v.broadcast = s.into()),
        ("bios_boot_file", |v, s| v.bios_boot_file = s.into()),
        ("uefi_boot_file", |v, s| v.uefi_boot_file = s.into()),
        ("ipxe_url", |v, s| v.ipxe_url = s.into()),
        ("host id", |v, s| v.hosts[0].id = s.into()),
        ("host mac", |v, s| v.hosts[0].mac = s.into()),
        ("host ip", |v, s| v.hosts[0].ip = s.into()),
        ("hostname", |v, s| v.hosts[0].hostname = Some(s.into())),
        ("relayed subnet", |v, s| v.relayed[0].subnet_cidr = s.into()),
        ("relayed range", |v, s| v.relayed[0].range_end = s.into()),
        ("relayed router", |v, s| v.relayed[0].router = s.into()),
        ("relayed dns", |v, s| v.relayed[0].dns = vec![s.into()]),
        ("relayed domain", |v, s| {
            v.relayed[0].domain_search = vec![s.into()]
        }),
        ("relayed broadcast", |v, s| {
            v.relayed[0].broadcast = s.into()
        }),
    ];
    let (mut refused, mut carried) = (0, 0);
    for (name, set) in fields {
        for s in hostile {
            let mut v = clean.clone();
            set(&mut v, s);
            match render(&v) {
                Err(_) => refused += 1,
                Ok(text) => {
                    let got: serde_json::Value = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{name} = {s:?}: not JSON ({e}):\n{text}"));
                    assert_eq!(
                        shape(&got),
                        want,
                        "{name} = {s:?} changed the structure:\n{text}"
                    );
                    assert!(
                        strings(&got).iter().any(|x| x.contains(s)),
                        "{name} = {s:?} is not carried intact as a value:\n{text}"
                    );
                    carried += 1;
                }
            }
        }
    }
    assert!(
        refused > 0 && carried > 0,
        "refused {refused}, carried {carried}"
    );
    // What Kea parses again is refused, not carried: a comma in a search domain would become
    // two domains, a quote in a hostname would reach clients, a long boot file overflows.
    for (name, set, s) in [
        ("domain_search", fields[5].1, "lab,example"),
        ("hostname", fields[14].1, "a\"b"),
        ("bios_boot_file", fields[8].1, "a b"),
    ] {
        let mut v = clean.clone();
        set(&mut v, s);
        assert!(render(&v).is_err(), "{name} = {s:?} was accepted");
    }
    let mut v = clean.clone();
    v.ipxe_url = format!("http://{}/", "a".repeat(130));
    assert!(
        render(&v).is_err(),
        "a boot file over 127 bytes was accepted"
    );
}

/// The two members of a failover pair, as both would render them: the primary (10.0.0.1)
/// and the secondary (10.0.0.2) of a load-balancing pair, and the secondary of a hot-standby
/// one. Each names itself as next-server and in its URLs, and the other as its partner.
fn pair_members() -> Vec<(&'static str, Config)> {
    let member = |ip: &str, partner: &str, role: &str, mode: &str| {
        let mut c = config();
        c.server_ip = ip.parse().unwrap();
        c.peers = Some(
            serde_yaml::from_str(&format!("partner: {partner}\nrole: {role}\nmode: {mode}\n"))
                .unwrap(),
        );
        c.validate().unwrap();
        c
    };
    vec![
        (
            "debian-pair-primary",
            member("10.0.0.1", "10.0.0.2", "primary", "load-balancing"),
        ),
        (
            "debian-pair-secondary",
            member("10.0.0.2", "10.0.0.1", "secondary", "load-balancing"),
        ),
        (
            "debian-pair-standby",
            member("10.0.0.2", "10.0.0.1", "secondary", "hot-standby"),
        ),
    ]
}

/// The files a pair changes: dhcpd.conf (failover peer, pool), the iPXE script (the
/// partner's URLs as fallback) and Kea's configuration (HA hook).
#[test]
fn pair_configs_match_their_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let mut failures = Vec::new();
    for (dir, cfg) in pair_members() {
        let profile = Profile::new(Distro::Debian, Some(&cfg), &root);
        // The entry as this member's menus name it: its own address in the root URL.
        let mut e = entry();
        e.args = e
            .args
            .replace("//10.0.0.1/", &format!("//{}/", cfg.server_ip));
        let vars = Vars::new(&cfg, &profile, vec![e]);
        let mut kea_cfg = cfg.clone();
        kea_cfg.dhcp.server = Some(DhcpServer::Kea);
        let kea_profile = Profile::new(Distro::Debian, Some(&kea_cfg), &root);
        let kea = pxe_kit::kea::render(
            &Vars::new(&kea_cfg, &kea_profile, vec![entry()]),
            &kea_profile.dhcp.leases,
            kea_profile.dhcp.control_socket.as_deref().unwrap(),
            None,
        )
        .unwrap();
        for (name, got) in [
            (
                "dhcpd.conf",
                Templates::builtin().render("dhcpd.conf.j2", &vars).unwrap(),
            ),
            (
                "boot.ipxe",
                Templates::builtin().render("boot.ipxe.j2", &vars).unwrap(),
            ),
            ("kea-dhcp4.conf", kea),
        ] {
            let path = golden_dir().join(dir).join(name);
            check_golden(&path, &got, update, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let g = |d: &str, f: &str| std::fs::read_to_string(golden_dir().join(d).join(f)).unwrap();
    // Each member answers with itself, and knows the other.
    let p = g("debian-pair-primary", "dhcpd.conf");
    assert!(p.contains("next-server 10.0.0.1;") && p.contains("peer address 10.0.0.2;"));
    assert!(p.contains("split 128;") && p.contains("mclt 1800;"));
    let s = g("debian-pair-secondary", "dhcpd.conf");
    assert!(s.contains("next-server 10.0.0.2;") && s.contains("    secondary;"));
    assert!(!s.contains("    split ") && !s.contains("    mclt "), "{s}");
    assert!(g("debian-pair-secondary", "boot.ipxe").contains("http://10.0.0.1/pxe-kit-tftp/"));
    let k: serde_json::Value =
        serde_json::from_str(&g("debian-pair-standby", "kea-dhcp4.conf")).unwrap();
    let ha = &k["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0];
    assert_eq!(ha["this-server-name"], "pxe-kit-secondary");
    assert_eq!(ha["mode"], "hot-standby");
    assert_eq!(ha["peers"][1]["role"], "standby");
    assert_eq!(ha["peers"][1]["url"], "http://10.0.0.2:647/");
    assert_eq!(
        k["Dhcp4"]["multi-threading"]["enable-multi-threading"],
        true
    );
}

/// Both members' files pass the real daemons' tests: `dhcpd -t` (the failover declaration
/// and pool statements), `kea-dhcp4 -t` with the hook libraries loaded from this host's Kea
/// (the paths the distribution profile names must exist). Kea 2.2's `-t` loads the
/// libraries but leaves their parameters to the running server: the lab's pair run
/// (tests/lab_pair.rs) proves the HA configuration by running it.
#[test]
fn pair_configs_pass_the_real_config_tests() {
    if common::skip(common::missing(true, &["dhcpd", "kea-dhcp4"], &[])) {
        return;
    }
    for (dir, _) in pair_members() {
        common::dhcpd_accepts(&golden_dir().join(dir).join("dhcpd.conf"))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        let f = golden_dir().join(dir).join("kea-dhcp4.conf");
        let o = kea_test_without_interfaces(&f);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{dir}: {out}");
        assert!(
            out.contains("libdhcp_ha.so"),
            "{dir}: the HA hook was not loaded: {out}"
        );
    }
    // The test bites: a failover pool naming an undeclared peer is refused.
    let text = std::fs::read_to_string(golden_dir().join("debian-pair-primary/dhcpd.conf"))
        .unwrap()
        .replace("failover peer \"pxe-kit\";", "failover peer \"other\";");
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), text).unwrap();
    let o = std::process::Command::new("dhcpd")
        .args(["-t", "-4", "-cf"])
        .arg(t.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// The settings of a server with two relayed subnets (settings: subnets): one with its own
/// name server and search domain, a /22 inheriting the top-level ones, and a fixed host
/// behind the relay besides the provisioning subnet's.
fn relayed_config() -> Config {
    let mut c = config();
    c.subnets = serde_yaml::from_str(
        "- network: 10.1.0.0/24\n  range: 10.1.0.100-10.1.0.200\n  router: 10.1.0.1\n  dns: [10.1.0.53]\n  domain_search: [branch.example]\n\
         - network: 172.16.8.0/22\n  range: 172.16.8.10-172.16.11.250\n  router: 172.16.8.1\n",
    )
    .unwrap();
    c.hosts.push(Host {
        mac: Some("52:54:00:12:34:99".parse().unwrap()),
        ip: Some("10.1.0.20".parse().unwrap()),
        hostname: Some("branch01".into()),
        image: "f42".into(),
    });
    c.validate().unwrap();
    c
}

/// The relayed-subnet variants: alone (`debian-relayed`) and as the primary of a
/// load-balancing pair (`debian-relayed-pair`).
fn relayed_variants() -> Vec<(&'static str, Config)> {
    let mut pair = relayed_config();
    pair.peers = Some(serde_yaml::from_str("partner: 10.0.0.2\nrole: primary\n").unwrap());
    pair.validate().unwrap();
    vec![
        ("debian-relayed", relayed_config()),
        ("debian-relayed-pair", pair),
    ]
}

/// dhcpd.conf and kea-dhcp4.conf with relayed subnets: one subnet block (with its pool's
/// failover statement in a pair) and one `subnet4` entry per subnet, each fixed address in
/// the subnet that holds it.
#[test]
fn relayed_subnet_configs_match_their_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let mut failures = Vec::new();
    for (dir, cfg) in relayed_variants() {
        let profile = Profile::new(Distro::Debian, Some(&cfg), &root);
        let dhcpd = Templates::builtin()
            .render("dhcpd.conf.j2", &Vars::new(&cfg, &profile, vec![entry()]))
            .unwrap();
        let mut kea_cfg = cfg.clone();
        kea_cfg.dhcp.server = Some(DhcpServer::Kea);
        let kp = Profile::new(Distro::Debian, Some(&kea_cfg), &root);
        let kea = pxe_kit::kea::render(
            &Vars::new(&kea_cfg, &kp, vec![entry()]),
            &kp.dhcp.leases,
            kp.dhcp.control_socket.as_deref().unwrap(),
            None,
        )
        .unwrap();
        let httpd = Templates::builtin()
            .render("httpd.conf.j2", &Vars::new(&cfg, &profile, vec![entry()]))
            .unwrap();
        for (name, got) in [
            ("dhcpd.conf", dhcpd),
            ("kea-dhcp4.conf", kea),
            ("httpd.conf", httpd),
        ] {
            check_golden(
                &golden_dir().join(dir).join(name),
                &got,
                update,
                &mut failures,
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let g = |d: &str, f: &str| std::fs::read_to_string(golden_dir().join(d).join(f)).unwrap();
    let d = g("debian-relayed", "dhcpd.conf");
    for want in [
        "subnet 10.1.0.0 netmask 255.255.255.0 {",
        "range 10.1.0.100 10.1.0.200;",
        "option routers 10.1.0.1;",
        "option domain-name-servers 10.1.0.53;",
        "option domain-search \"branch.example\";",
        "subnet 172.16.8.0 netmask 255.255.252.0 {",
        "option broadcast-address 172.16.11.255;",
        // The /22 names no DNS of its own: the top-level servers.
        "option domain-name-servers 10.0.0.1, 10.0.0.2;",
        "fixed-address 10.1.0.20;",
    ] {
        assert!(
            d.contains(want),
            "debian-relayed dhcpd.conf lacks {want:?}:\n{d}"
        );
    }
    // Relayed machines fetch their kernels and roots over HTTP too: httpd lets them in.
    let h = g("debian-relayed", "httpd.conf");
    assert_eq!(
        h.matches("Require ip 10.0.0.0/24 10.1.0.0/24 172.16.8.0/22\n")
            .count(),
        2,
        "{h}"
    );
    let p = g("debian-relayed-pair", "dhcpd.conf");
    assert_eq!(p.matches("failover peer \"pxe-kit\";").count(), 3, "{p}");
    let k: serde_json::Value =
        serde_json::from_str(&g("debian-relayed", "kea-dhcp4.conf")).unwrap();
    let s = k["Dhcp4"]["subnet4"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0]["interface"], "ens4");
    assert_eq!(s[1]["subnet"], "10.1.0.0/24");
    assert_eq!(s[1]["id"], u32::from(std::net::Ipv4Addr::new(10, 1, 0, 0)));
    assert!(s[1].get("interface").is_none() && s[2].get("interface").is_none());
    assert_eq!(s[1]["reservations"][0]["ip-address"], "10.1.0.20");
    assert_eq!(s[0]["reservations"].as_array().unwrap().len(), 1);
    assert!(s[2].get("reservations").is_none());
    let kp: serde_json::Value =
        serde_json::from_str(&g("debian-relayed-pair", "kea-dhcp4.conf")).unwrap();
    for sn in kp["Dhcp4"]["subnet4"].as_array().unwrap() {
        assert_eq!(
            sn["pools"].as_array().unwrap().len(),
            2,
            "each pool split by HA scope: {sn}"
        );
    }
}

/// The relayed goldens pass the real daemons: `dhcpd -t`, and `kea-dhcp4 -t` inside a
/// namespace of the test's own that has `ens4` and without interface names (the pair's with
/// the HA hook loaded).
#[test]
fn relayed_subnet_configs_pass_the_real_config_tests() {
    if common::skip(common::missing(true, &["dhcpd", "kea-dhcp4", "ip"], &[])) {
        return;
    }
    for (dir, _) in relayed_variants() {
        common::dhcpd_accepts(&golden_dir().join(dir).join("dhcpd.conf"))
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        let f = golden_dir().join(dir).join("kea-dhcp4.conf");
        common::kea_accepts(&f, "ens4").unwrap_or_else(|e| panic!("{dir}: {e}"));
        let o = kea_test_without_interfaces(&f);
        assert!(
            o.status.success(),
            "{dir} without interfaces: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // The tests bite: two subnets with one id, and a relayed pool outside its subnet, are
    // refused by the daemons themselves.
    let kea = std::fs::read_to_string(golden_dir().join("debian-relayed/kea-dhcp4.conf")).unwrap();
    let dup = kea.replace(
        &format!(
            "\"id\": {}",
            u32::from(std::net::Ipv4Addr::new(10, 1, 0, 0))
        ),
        "\"id\": 1",
    );
    assert_ne!(dup, kea);
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), dup).unwrap();
    assert!(
        !kea_test_without_interfaces(t.path()).status.success(),
        "a duplicate subnet id passed"
    );
    let d = std::fs::read_to_string(golden_dir().join("debian-relayed/dhcpd.conf"))
        .unwrap()
        .replace(
            "range 10.1.0.100 10.1.0.200;",
            "range 10.2.0.100 10.2.0.200;",
        );
    std::fs::write(t.path(), d).unwrap();
    let o = std::process::Command::new("dhcpd")
        .args(["-t", "-4", "-cf"])
        .arg(t.path())
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a pool outside its subnet passed dhcpd -t"
    );
}

/// Every DHCP unit gets pxe-kit's drop-in: the priority from `dhcp.nice` (a raised CPU weight
/// only with a raised priority), the interface on the command line only for Fedora's dhcpd.
#[test]
fn the_dhcp_unit_dropin_follows_the_server_and_the_setting() {
    let t = tempfile::tempdir().unwrap();
    let root = Root::new(t.path(), false, Out::default()).unwrap();
    let render = |distro: Distro, server: DhcpServer, nice: Option<i32>| {
        let mut cfg = config();
        cfg.dhcp.server = Some(server);
        cfg.dhcp.nice = nice;
        let profile = Profile::new(distro, Some(&cfg), &root);
        let text = Templates::builtin()
            .render("dhcpd-service.conf.j2", &Vars::new(&cfg, &profile, vec![]))
            .unwrap();
        (profile.dhcp.unit_dropin(), text)
    };
    let (path, text) = render(Distro::Fedora, DhcpServer::Isc, None);
    assert_eq!(
        path,
        Path::new("/etc/systemd/system/dhcpd.service.d/pxe-kit.conf")
    );
    assert!(
        text.contains("\nNice=-10\nCPUWeight=1000\n") && text.contains("--no-pid ens4\n"),
        "{text}"
    );
    let (path, text) = render(Distro::Fedora, DhcpServer::Kea, Some(0));
    assert_eq!(
        path,
        Path::new("/etc/systemd/system/kea-dhcp4.service.d/pxe-kit.conf")
    );
    assert!(
        text.contains("\nNice=0\n")
            && !text.contains("\nCPUWeight=")
            && !text.contains("\nExecStart="),
        "{text}"
    );
    let (path, text) = render(Distro::Debian, DhcpServer::Kea, Some(-5));
    assert_eq!(
        path,
        Path::new("/etc/systemd/system/kea-dhcp4-server.service.d/pxe-kit.conf")
    );
    assert!(
        text.contains("\nNice=-5\nCPUWeight=1000\n") && !text.contains("\nExecStart="),
        "{text}"
    );
    let (path, _) = render(Distro::Debian, DhcpServer::Isc, None);
    assert_eq!(
        path,
        Path::new("/etc/systemd/system/isc-dhcp-server.service.d/pxe-kit.conf")
    );
}
