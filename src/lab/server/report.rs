//! `lab server`'s verdict: the facts the guest and the host observed (key/value lines) and the
//! doctor documents become named checks, each passed or failed with the evidence, plus the
//! short report (SELinux mode, firewalld zones, doctor summary, the second init, AVC denials,
//! the client's time, phase timings). Pure: everything comes in parsed.
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::vm::ClientResult;

/// One pass/fail fact of issue 11's list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub id: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The doctor documents the guest saved (absent when that step never ran).
#[derive(Debug, Clone, Default)]
pub struct Doctors {
    pub first: Option<Value>,
    pub relabel: Option<Value>,
    pub fix: Option<Value>,
    pub fw_stopped: Option<Value>,
}

/// Parses `key<TAB>value` lines; a later line wins.
pub fn parse_facts(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Parses `name<TAB>rc<TAB>secs` lines into (name, rc, secs).
pub fn parse_steps(text: &str) -> Vec<(String, i32, f64)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some((
                it.next()?.to_string(),
                it.next()?.parse().ok()?,
                it.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// A doctor check's (status, summary, fix lines).
pub fn doctor_check(doc: &Value, id: &str) -> Option<(String, String, Vec<String>)> {
    doc["checks"].as_array()?.iter().find_map(|c| {
        (c["id"] == id).then(|| {
            (
                c["status"].as_str().unwrap_or("").to_string(),
                c["summary"].as_str().unwrap_or("").to_string(),
                c["fix"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
    })
}

/// "19 ok, 0 warn, 0 fail, 2 skip (exit 0)".
pub fn doctor_summary(doc: &Value) -> String {
    let s = &doc["summary"];
    format!(
        "{} ok, {} warn, {} fail, {} skip (exit {})",
        s["ok"], s["warn"], s["fail"], s["skip"], doc["exit_code"]
    )
}

fn failing(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["status"] == "fail")
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["id"].as_str().unwrap_or(""),
                        c["summary"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check(id: &'static str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        id,
        ok,
        detail: detail.into(),
    }
}

fn status_is(doc: Option<&Value>, id: &str, want: &str) -> (bool, String) {
    match doc.and_then(|d| doctor_check(d, id)) {
        Some((st, summary, _)) => (st == want, format!("{id} {st}: {summary}")),
        None => (false, format!("{id}: no such check in the doctor document")),
    }
}

fn services(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// The facts by key; a missing fact reads as empty (or no number), so its check fails.
#[derive(Clone, Copy)]
struct Facts<'a>(&'a BTreeMap<String, String>);

impl<'a> Facts<'a> {
    fn get(self, k: &str) -> &'a str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }
    fn num(self, k: &str) -> Option<i64> {
        self.get(k).parse::<i64>().ok()
    }
    fn has(self, k: &str) -> bool {
        self.0.contains_key(k)
    }
}

/// Every check, in the order the scenario runs them; one phase of the scenario each call.
pub fn evaluate(f: &BTreeMap<String, String>, d: &Doctors) -> Vec<Check> {
    let f = Facts(f);
    let mut v = install_checks(f);
    v.extend(doctor_checks(f, d));
    v.extend(exposure_checks(f));
    v.extend(relabel_checks(f, d));
    v.extend(firewalld_stopped_checks(f, d));
    v.push(check(
        "client.marker",
        f.get("host.client.marker") == "yes",
        format!(
            "client reached the demo marker: {}",
            f.get("host.client.marker")
        ),
    ));
    v
}

/// The package installed, then `init` twice: the first brings the daemons up (without
/// installing anything: the image has the packages), the second finds nothing to change and
/// restarts nothing.
fn install_checks(f: Facts) -> Vec<Check> {
    let units: Vec<String> = ["isc-dhcp-server", "tftpd-hpa", "apache2"]
        .iter()
        .map(|u| format!("{u} {}", f.get(&format!("unit.{u}"))))
        .collect();
    let units_ok = ["isc-dhcp-server", "tftpd-hpa", "apache2"]
        .iter()
        .all(|u| f.get(&format!("unit.{u}")) == "active enabled");
    vec![
        check(
            "deb.installed",
            f.get("deb.rc") == "0" && f.num("deb.files").unwrap_or(0) >= 3,
            format!(
                "dpkg -i exit {}, {} of binary/man page/completion files listed, `pxe-kit --version`: {}",
                f.get("deb.rc"),
                f.get("deb.files"),
                f.get("pxe_kit.version")
            ),
        ),
        check(
            "packages.present",
            f.has("packages.missing")
                && f.get("packages.missing").is_empty()
                && f.num("init1.installed") == Some(0),
            format!(
                "missing before init: [{}]; init's apt-get runs: {}",
                f.get("packages.missing"),
                f.get("init1.installed")
            ),
        ),
        check(
            "init.units",
            f.get("init1.rc") == "0" && units_ok,
            format!("init exit {}; {}", f.get("init1.rc"), units.join(", ")),
        ),
        check(
            "init.dhcp_priority",
            f.get("dhcpd.nice") == crate::config::DHCP_NICE.to_string(),
            format!(
                "dhcpd runs at nice {:?} (the unit's drop-in says {})",
                f.get("dhcpd.nice"),
                crate::config::DHCP_NICE
            ),
        ),
        check(
            "init.nothing_to_change",
            f.get("init2.rc") == "0" && f.get("init2.nothing_to_change") == "yes",
            format!(
                "second init exit {}, said: {}",
                f.get("init2.rc"),
                f.get("init2.output")
            ),
        ),
        check(
            "init.no_restarts",
            f.num("init2.unit_events") == Some(0) && f.num("init2.nm_updates") == Some(0),
            format!(
                "journal during the second init: {} unit job(s) of the PXE daemons/firewalld/NetworkManager, {} NetworkManager connection update(s)",
                f.get("init2.unit_events"),
                f.get("init2.nm_updates")
            ),
        ),
    ]
}

/// The first `doctor` on the fresh install: healthy, SELinux enforcing with the right labels,
/// the firewall rules in place, and no AVC denial from the daemons.
fn doctor_checks(f: Facts, d: &Doctors) -> Vec<Check> {
    let first = d.first.as_ref();
    let (mode_ok, mode) = status_is(first, "selinux.mode", "ok");
    let (labels_ok, labels) = status_is(first, "selinux.labels", "ok");
    let (rules_ok, rules) = status_is(first, "firewall.rules", "ok");
    vec![
        check(
            "doctor.healthy",
            f.get("doctor.rc") == "0" && first.is_some_and(|j| j["exit_code"] == 0),
            match first {
                Some(j) => format!(
                    "{}; failing: [{}]",
                    doctor_summary(j),
                    failing(j).join("; ")
                ),
                None => format!("no doctor document (exit {})", f.get("doctor.rc")),
            },
        ),
        check(
            "selinux.mode",
            mode_ok
                && mode.to_lowercase().contains("enforcing")
                && f.get("selinux.getenforce") == "Enforcing",
            format!("getenforce: {}; {mode}", f.get("selinux.getenforce")),
        ),
        check("selinux.labels", labels_ok, labels),
        check("firewall.rules", rules_ok, rules),
        check(
            "avc.none",
            f.num("avc.daemons") == Some(0),
            format!(
                "AVC denials from dhcpd, tftpd or httpd from pxe-kit's install to the client's boot: {} (all denials since: {}; before pxe-kit, the stock image's: {})",
                f.get("avc.daemons"),
                f.get("avc.all"),
                f.get("avc.before")
            ),
        ),
    ]
}

/// What each NIC exposes, seen from outside after `init`: the public side keeps ssh and
/// serves no DHCP or TFTP, the provisioning side keeps ssh and serves TFTP.
fn exposure_checks(f: Facts) -> Vec<Check> {
    let pub_services = services(f.get("fw.public.services"));
    let pub_closed = !pub_services.iter().any(|s| *s == "dhcp" || *s == "tftp")
        && !f.get("fw.public.ports").contains("67/udp")
        && !f.get("fw.public.ports").contains("69/udp");
    let tftp_pub = f.get("host.after_init.tftp_pub");
    vec![
        check(
            "firewall.public_closed",
            !f.get("fw.public.zone").is_empty()
                && f.get("fw.public.zone") != f.get("fw.provisioning.zone")
                && pub_closed
                && tftp_pub.starts_with("fail"),
            format!(
                "public NIC zone {} services [{}] ports [{}]; TFTP from the public side: {}",
                f.get("fw.public.zone"),
                f.get("fw.public.services"),
                f.get("fw.public.ports"),
                tftp_pub
            ),
        ),
        check(
            "firewall.public_ssh",
            pub_services.contains(&"ssh") && f.get("host.after_init.ssh_pub") == "open",
            format!(
                "ssh in the public zone's services: {}; tcp/22 on the public NIC from outside: {}",
                pub_services.contains(&"ssh"),
                f.get("host.after_init.ssh_pub")
            ),
        ),
        check(
            "firewall.provisioning_ssh",
            f.get("host.baseline.ssh_prov") == "open"
                && f.get("host.after_init.ssh_prov") == "open",
            format!(
                "tcp/22 on the provisioning NIC from outside: {} before init, {} after (an admin on that NIC keeps ssh)",
                f.get("host.baseline.ssh_prov"),
                f.get("host.after_init.ssh_prov")
            ),
        ),
        check(
            "provisioning.tftp",
            f.get("host.after_init.tftp_prov") == "ok",
            format!(
                "TFTP pxelinux.0 from the provisioning side: {}",
                f.get("host.after_init.tftp_prov")
            ),
        ),
    ]
}

/// The kernel relabelled to a type tftpd may not read: `doctor` catches it, TFTP is denied,
/// and `doctor --fix` restores the type the policy wants so TFTP serves it again.
fn relabel_checks(f: Facts, d: &Doctors) -> Vec<Check> {
    let (caught, det) = status_is(d.relabel.as_ref(), "selinux.labels", "fail");
    let fix = d.fix.as_ref();
    vec![
        check(
            "relabel.caught",
            f.get("relabel.type") == "user_home_t" && caught && f.get("doctor-relabel.rc") != "0",
            format!(
                "kernel type {}; doctor exit {}; {det}",
                f.get("relabel.type"),
                f.get("doctor-relabel.rc")
            ),
        ),
        check(
            "relabel.tftp_denied",
            f.get("host.relabelled.tftp_kernel").starts_with("fail"),
            format!(
                "TFTP fetch of the relabelled kernel: {}",
                f.get("host.relabelled.tftp_kernel")
            ),
        ),
        check(
            "relabel.fixed",
            f.get("doctor-fix.rc") == "0"
                && fix.is_some_and(|j| j["exit_code"] == 0)
                && f.get("relabel.type_after") == f.get("relabel.type_want")
                && !f.get("relabel.type_want").is_empty()
                && f.get("host.fixed.tftp_kernel") == "ok identical",
            format!(
                "doctor --fix exit {} ({}); kernel type {} (policy wants {}); TFTP fetch after: {}",
                f.get("doctor-fix.rc"),
                fix.map(doctor_summary).unwrap_or_default(),
                f.get("relabel.type_after"),
                f.get("relabel.type_want"),
                f.get("host.fixed.tftp_kernel")
            ),
        ),
    ]
}

/// firewalld stopped: `init` still succeeds, and `doctor` says how to bring firewalld back
/// (a firewall finding that names firewalld and how to start it).
fn firewalld_stopped_checks(f: Facts, d: &Doctors) -> Vec<Check> {
    let advice: Vec<(String, String, Vec<String>)> = d
        .fw_stopped
        .as_ref()
        .and_then(|j| j["checks"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|c| {
            c["id"].as_str().is_some_and(|i| i.starts_with("firewall."))
                && (c["status"] == "fail" || c["status"] == "warn")
        })
        .filter_map(|c| doctor_check(&serde_json::json!({"checks": [c]}), c["id"].as_str()?))
        .collect();
    let says_what_to_do = advice.iter().any(|(_, summary, fixes)| {
        let all = format!("{summary} {}", fixes.join(" "));
        all.contains("firewalld") && (all.contains("systemctl") || all.contains("start"))
    });
    vec![
        check(
            "firewalld_stopped.init",
            f.get("fwstop.init_rc") == "0",
            format!(
                "init with firewalld stopped: exit {}; said: {}",
                f.get("fwstop.init_rc"),
                f.get("fwstop.init_output")
            ),
        ),
        check(
            "firewalld_stopped.doctor",
            says_what_to_do,
            format!(
                "doctor exit {}; firewall findings: [{}]",
                f.get("doctor-fw-stopped.rc"),
                advice
                    .iter()
                    .map(|(st, s, fx)| format!("{st}: {s} (fix: {})", fx.join("; ")))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        ),
    ]
}

/// The whole report, as printed and as `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub accel: String,
    pub image_key: String,
    pub image_cached: bool,
    pub kernel: String,
    pub selinux_mode: String,
    pub zones: BTreeMap<String, String>,
    pub doctor_summary: String,
    pub second_init: String,
    pub avc_denials: Vec<String>,
    pub ssh_on_provisioning_after_init: String,
    pub client: Option<ClientResult>,
    /// Seconds per phase: image_build, iso_build, boot_to_multi_user, init, add_image, doctor,
    /// client_boot, vm_run, total.
    pub timings: BTreeMap<String, f64>,
    pub checks: Vec<Check>,
    pub facts: BTreeMap<String, String>,
    pub work_dir: Option<String>,
    pub problems: Vec<String>,
}

impl Report {
    /// The human report.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let t = |k: &str| {
            self.timings
                .get(k)
                .map(|x| format!("{x:.1} s"))
                .unwrap_or_else(|| "-".into())
        };
        s += &format!(
            "lab server: Debian 12 server VM ({}), SELinux {}, image {}{}\n",
            self.accel,
            self.selinux_mode,
            self.image_key,
            if self.image_cached { " (cached)" } else { "" }
        );
        for (side, z) in &self.zones {
            s += &format!("  firewalld, {side} NIC: {z}\n");
        }
        s += &format!("  doctor: {}\n", self.doctor_summary);
        s += &format!("  second init: {}\n", self.second_init);
        if self.avc_denials.is_empty() {
            s += "  AVC denials from dhcpd, tftpd, httpd: none\n";
        } else {
            s += &format!(
                "  AVC denials from dhcpd, tftpd, httpd: {}\n",
                self.avc_denials.len()
            );
            for a in self.avc_denials.iter().take(5) {
                s += &format!("    {a}\n");
            }
        }
        s += &format!(
            "  ssh on the provisioning NIC after init: {}\n",
            self.ssh_on_provisioning_after_init
        );
        match &self.client {
            Some(c) if c.reached_marker => {
                s += &format!(
                    "  client: reached the demo marker {:.1} s after power-on\n  client boot phases: {}\n",
                    c.secs, c.phases
                )
            }
            Some(c) => {
                s += &format!("  client: FAILED after {:.1} s: {}\n", c.secs, c.verdict);
                for l in &c.last_console {
                    s += &format!("    | {l}\n");
                }
            }
            None => s += "  client: did not boot\n",
        }
        s += &format!(
            "  timings: image build {}, ISO build {}, boot to multi-user {}, init {}, add-image {}, doctor {}, client boot {}, VM run {}, total {}\n",
            t("image_build"),
            t("iso_build"),
            t("boot_to_multi_user"),
            t("init"),
            t("add_image"),
            t("doctor"),
            t("client_boot"),
            t("vm_run"),
            t("total")
        );
        for p in &self.problems {
            s += &format!("  problem: {p}\n");
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        for c in &self.checks {
            s += &format!(
                "  {} {:<26} {}\n",
                if c.ok { "✓" } else { "✗" },
                c.id,
                c.detail
            );
        }
        s += &format!(
            "lab server: {}: {} passed, {} failed\n",
            if self.ok { "OK" } else { "FAILED" },
            self.checks.len() - failed,
            failed
        );
        if let Some(w) = &self.work_dir {
            s += &format!("lab server: logs kept in {w}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy_doc() -> Value {
        serde_json::json!({
            "exit_code": 0,
            "summary": {"ok": 3, "warn": 0, "fail": 0, "skip": 0},
            "checks": [
                {"id": "selinux.mode", "status": "ok", "summary": "enforcing", "fix": []},
                {"id": "selinux.labels", "status": "ok", "summary": "all match", "fix": []},
                {"id": "firewall.rules", "status": "ok", "summary": "zone pxe-kit", "fix": []}
            ]
        })
    }

    fn good_facts() -> BTreeMap<String, String> {
        parse_facts(
            "deb.rc\t0\ndeb.files\t3\npackages.missing\t\ninit1.installed\t0\ninit1.rc\t0\n\
             unit.isc-dhcp-server\tactive enabled\nunit.tftpd-hpa\tactive enabled\nunit.apache2\tactive enabled\ndhcpd.nice\t-10\n\
             init2.rc\t0\ninit2.nothing_to_change\tyes\ninit2.unit_events\t0\ninit2.nm_updates\t0\n\
             doctor.rc\t0\nselinux.getenforce\tEnforcing\navc.daemons\t0\n\
             fw.public.zone\tpublic\nfw.public.services\tdhcpv6-client ssh\nfw.public.ports\t\n\
             fw.provisioning.zone\tpxe-kit\nhost.after_init.tftp_pub\tfail: curl exit 7\n\
             host.after_init.ssh_pub\topen\nhost.after_init.tftp_prov\tok\n\
             host.baseline.ssh_prov\topen\nhost.after_init.ssh_prov\topen\n\
             relabel.type\tuser_home_t\ndoctor-relabel.rc\t1\nhost.relabelled.tftp_kernel\tfail: curl exit 71\n\
             doctor-fix.rc\t0\nrelabel.type_after\tpublic_content_t\nrelabel.type_want\tpublic_content_t\n\
             host.fixed.tftp_kernel\tok identical\nfwstop.init_rc\t0\ndoctor-fw-stopped.rc\t1\nhost.client.marker\tyes\n",
        )
    }

    fn good_doctors() -> Doctors {
        let mut relabel = healthy_doc();
        relabel["checks"][1]["status"] = "fail".into();
        relabel["exit_code"] = 1.into();
        let fw = serde_json::json!({"exit_code": 1, "checks": [
            {"id": "firewall.rules", "status": "fail", "summary": "firewalld is not running",
             "fix": ["systemctl enable --now firewalld", "pxe-kit init"]}]});
        Doctors {
            first: Some(healthy_doc()),
            relabel: Some(relabel),
            fix: Some(healthy_doc()),
            fw_stopped: Some(fw),
        }
    }

    #[test]
    fn a_healthy_run_passes_every_check() {
        let c = evaluate(&good_facts(), &good_doctors());
        let bad: Vec<_> = c.iter().filter(|c| !c.ok).collect();
        assert!(bad.is_empty(), "{bad:#?}");
        assert_eq!(c.len(), 21);
    }

    #[test]
    fn each_broken_fact_fails_its_check() {
        let cases: [(&str, &str, &str); 10] = [
            (
                "host.after_init.ssh_prov",
                "closed: No route to host",
                "firewall.provisioning_ssh",
            ),
            ("init2.nothing_to_change", "no", "init.nothing_to_change"),
            ("init2.unit_events", "2", "init.no_restarts"),
            ("avc.daemons", "1", "avc.none"),
            (
                "fw.public.services",
                "dhcp ssh tftp",
                "firewall.public_closed",
            ),
            (
                "host.after_init.ssh_pub",
                "closed: refused",
                "firewall.public_ssh",
            ),
            (
                "host.relabelled.tftp_kernel",
                "ok identical",
                "relabel.tftp_denied",
            ),
            ("relabel.type_after", "user_home_t", "relabel.fixed"),
            ("unit.apache2", "active not-enabled", "init.units"),
            ("dhcpd.nice", "0", "init.dhcp_priority"),
        ];
        for (k, v, id) in cases {
            let mut f = good_facts();
            f.insert(k.into(), v.into());
            let c = evaluate(&f, &good_doctors());
            let failed: Vec<_> = c.iter().filter(|c| !c.ok).map(|c| c.id).collect();
            assert_eq!(failed, [id], "{k}={v}");
        }
        // A doctor that stays silent about a stopped firewalld says nothing to do.
        let mut d = good_doctors();
        d.fw_stopped = Some(serde_json::json!({"exit_code": 0, "checks": []}));
        let c = evaluate(&good_facts(), &d);
        assert!(
            !c.iter()
                .find(|c| c.id == "firewalld_stopped.doctor")
                .unwrap()
                .ok
        );
        // Missing facts fail, they never pass by default.
        let c = evaluate(&BTreeMap::new(), &Doctors::default());
        assert!(c.iter().all(|c| !c.ok), "{c:#?}");
    }

    #[test]
    fn steps_and_summary_parse() {
        assert_eq!(
            parse_steps("init-1\t0\t12.5\nbad line\n"),
            [("init-1".to_string(), 0, 12.5)]
        );
        assert_eq!(
            doctor_summary(&healthy_doc()),
            "3 ok, 0 warn, 0 fail, 0 skip (exit 0)"
        );
    }
}
