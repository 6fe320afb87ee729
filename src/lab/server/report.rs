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

// Long: one place lists every check of issue 11's item 2, in the order the scenario runs.
/// Every check, in the order the scenario runs them.
pub fn evaluate(f: &BTreeMap<String, String>, d: &Doctors) -> Vec<Check> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let num = |k: &str| get(k).parse::<i64>().ok();
    let mut v = Vec::new();
    v.push(check(
        "deb.installed",
        get("deb.rc") == "0" && num("deb.files").unwrap_or(0) >= 3,
        format!(
            "dpkg -i exit {}, {} of binary/man page/completion files listed, `pxe-kit --version`: {}",
            get("deb.rc"),
            get("deb.files"),
            get("pxe_kit.version")
        ),
    ));
    v.push(check(
        "packages.present",
        f.contains_key("packages.missing")
            && get("packages.missing").is_empty()
            && num("init1.installed") == Some(0),
        format!(
            "missing before init: [{}]; init's apt-get runs: {}",
            get("packages.missing"),
            get("init1.installed")
        ),
    ));
    let units: Vec<String> = ["isc-dhcp-server", "tftpd-hpa", "apache2"]
        .iter()
        .map(|u| format!("{u} {}", get(&format!("unit.{u}"))))
        .collect();
    let units_ok = ["isc-dhcp-server", "tftpd-hpa", "apache2"]
        .iter()
        .all(|u| get(&format!("unit.{u}")) == "active enabled");
    v.push(check(
        "init.units",
        get("init1.rc") == "0" && units_ok,
        format!("init exit {}; {}", get("init1.rc"), units.join(", ")),
    ));
    v.push(check(
        "init.dhcp_priority",
        get("dhcpd.nice") == crate::config::DHCP_NICE.to_string(),
        format!(
            "dhcpd runs at nice {:?} (the unit's drop-in says {})",
            get("dhcpd.nice"),
            crate::config::DHCP_NICE
        ),
    ));
    v.push(check(
        "init.nothing_to_change",
        get("init2.rc") == "0" && get("init2.nothing_to_change") == "yes",
        format!(
            "second init exit {}, said: {}",
            get("init2.rc"),
            get("init2.output")
        ),
    ));
    v.push(check(
        "init.no_restarts",
        num("init2.unit_events") == Some(0) && num("init2.nm_updates") == Some(0),
        format!(
            "journal during the second init: {} unit job(s) of the PXE daemons/firewalld/NetworkManager, {} NetworkManager connection update(s)",
            get("init2.unit_events"),
            get("init2.nm_updates")
        ),
    ));
    let first = d.first.as_ref();
    v.push(check(
        "doctor.healthy",
        get("doctor.rc") == "0" && first.is_some_and(|j| j["exit_code"] == 0),
        match first {
            Some(j) => format!(
                "{}; failing: [{}]",
                doctor_summary(j),
                failing(j).join("; ")
            ),
            None => format!("no doctor document (exit {})", get("doctor.rc")),
        },
    ));
    let (mode_ok, mode) = status_is(first, "selinux.mode", "ok");
    v.push(check(
        "selinux.mode",
        mode_ok
            && mode.to_lowercase().contains("enforcing")
            && get("selinux.getenforce") == "Enforcing",
        format!("getenforce: {}; {mode}", get("selinux.getenforce")),
    ));
    let (ok, det) = status_is(first, "selinux.labels", "ok");
    v.push(check("selinux.labels", ok, det));
    let (ok, det) = status_is(first, "firewall.rules", "ok");
    v.push(check("firewall.rules", ok, det));
    v.push(check(
        "avc.none",
        num("avc.daemons") == Some(0),
        format!(
            "AVC denials from dhcpd, tftpd or httpd from pxe-kit's install to the client's boot: {} (all denials since: {}; before pxe-kit, the stock image's: {})",
            get("avc.daemons"),
            get("avc.all"),
            get("avc.before")
        ),
    ));
    let pub_services = services(get("fw.public.services"));
    let pub_closed = !pub_services.iter().any(|s| *s == "dhcp" || *s == "tftp")
        && !get("fw.public.ports").contains("67/udp")
        && !get("fw.public.ports").contains("69/udp");
    let tftp_pub = get("host.after_init.tftp_pub");
    v.push(check(
        "firewall.public_closed",
        !get("fw.public.zone").is_empty()
            && get("fw.public.zone") != get("fw.provisioning.zone")
            && pub_closed
            && tftp_pub.starts_with("fail"),
        format!(
            "public NIC zone {} services [{}] ports [{}]; TFTP from the public side: {}",
            get("fw.public.zone"),
            get("fw.public.services"),
            get("fw.public.ports"),
            tftp_pub
        ),
    ));
    v.push(check(
        "firewall.public_ssh",
        pub_services.contains(&"ssh") && get("host.after_init.ssh_pub") == "open",
        format!(
            "ssh in the public zone's services: {}; tcp/22 on the public NIC from outside: {}",
            pub_services.contains(&"ssh"),
            get("host.after_init.ssh_pub")
        ),
    ));
    v.push(check(
        "firewall.provisioning_ssh",
        get("host.baseline.ssh_prov") == "open" && get("host.after_init.ssh_prov") == "open",
        format!(
            "tcp/22 on the provisioning NIC from outside: {} before init, {} after (an admin on that NIC keeps ssh)",
            get("host.baseline.ssh_prov"),
            get("host.after_init.ssh_prov")
        ),
    ));
    v.push(check(
        "provisioning.tftp",
        get("host.after_init.tftp_prov") == "ok",
        format!(
            "TFTP pxelinux.0 from the provisioning side: {}",
            get("host.after_init.tftp_prov")
        ),
    ));
    let (caught, det) = status_is(d.relabel.as_ref(), "selinux.labels", "fail");
    v.push(check(
        "relabel.caught",
        get("relabel.type") == "user_home_t" && caught && get("doctor-relabel.rc") != "0",
        format!(
            "kernel type {}; doctor exit {}; {det}",
            get("relabel.type"),
            get("doctor-relabel.rc")
        ),
    ));
    v.push(check(
        "relabel.tftp_denied",
        get("host.relabelled.tftp_kernel").starts_with("fail"),
        format!(
            "TFTP fetch of the relabelled kernel: {}",
            get("host.relabelled.tftp_kernel")
        ),
    ));
    let fix = d.fix.as_ref();
    v.push(check(
        "relabel.fixed",
        get("doctor-fix.rc") == "0"
            && fix.is_some_and(|j| j["exit_code"] == 0)
            && get("relabel.type_after") == get("relabel.type_want")
            && !get("relabel.type_want").is_empty()
            && get("host.fixed.tftp_kernel") == "ok identical",
        format!(
            "doctor --fix exit {} ({}); kernel type {} (policy wants {}); TFTP fetch after: {}",
            get("doctor-fix.rc"),
            fix.map(doctor_summary).unwrap_or_default(),
            get("relabel.type_after"),
            get("relabel.type_want"),
            get("host.fixed.tftp_kernel")
        ),
    ));
    v.push(check(
        "firewalld_stopped.init",
        get("fwstop.init_rc") == "0",
        format!(
            "init with firewalld stopped: exit {}; said: {}",
            get("fwstop.init_rc"),
            get("fwstop.init_output")
        ),
    ));
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
    v.push(check(
        "firewalld_stopped.doctor",
        says_what_to_do,
        format!(
            "doctor exit {}; firewall findings: [{}]",
            get("doctor-fw-stopped.rc"),
            advice
                .iter()
                .map(|(st, s, fx)| format!("{st}: {s} (fix: {})", fx.join("; ")))
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    ));
    v.push(check(
        "client.marker",
        get("host.client.marker") == "yes",
        format!(
            "client reached the demo marker: {}",
            get("host.client.marker")
        ),
    ));
    v
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
