//! firewalld and NetworkManager as pxe-kit meets them: one look at the firewall
//! (`firewall-cmd --list-all-zones` and pxe-kit's permanent zone, or `firewall-offline-cmd` when
//! firewalld is stopped), the NetworkManager connection that holds an interface's zone, and the
//! pure decisions that follow: which changes bring the provisioning interface into the
//! `pxe-kit` zone and keep open what its previous zone allowed there.
//!
//! Facts this relies on (firewalld's `firewall-cmd.in`, `core/fw_nm.py`): on an interface
//! NetworkManager manages, `firewall-cmd --permanent --change-interface` only sets the NM
//! connection's `connection.zone`, so the zone file never lists the interface and
//! `--permanent --query-interface` never says yes; NM then asks firewalld for the runtime
//! binding at once, which fails with INVALID_ZONE while the zone exists only permanently.
//! firewall-cmd exits 252 when firewalld is not running; `firewall-offline-cmd` edits the
//! permanent configuration without it.
use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::config::{Config, FirewallKeep};
use crate::runner::{Cmd, Kind, Output, Runner};

/// pxe-kit's own zone.
pub const ZONE: &str = "pxe-kit";

/// firewall-cmd's exit status when firewalld is not running (`NOT_RUNNING`).
pub const NOT_RUNNING: i32 = 252;
/// firewall-cmd's exit status for a zone that does not exist (`INVALID_ZONE`).
pub const INVALID_ZONE: i32 = 112;

/// One zone as `firewall-cmd --list-all-zones` / `--info-zone` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    pub name: String,
    /// The header says `(default…)`.
    pub default: bool,
    pub target: String,
    pub interfaces: Vec<String>,
    pub services: Vec<String>,
    pub ports: Vec<String>,
    pub protocols: Vec<String>,
    pub source_ports: Vec<String>,
    /// What the zone allows that pxe-kit does not carry into its own zone, described: a
    /// target that accepts everything, masquerading, forwarded ports, rich rules.
    pub extras: Vec<String>,
}

impl Zone {
    /// What the zone lets in that pxe-kit's zone can carry: services, ports, protocols and
    /// source ports.
    pub fn keep(&self) -> FirewallKeep {
        FirewallKeep {
            moved_from: Some(self.name.clone()),
            services: self.services.clone(),
            ports: self.ports.clone(),
            protocols: self.protocols.clone(),
            source_ports: self.source_ports.clone(),
        }
    }
}

/// Parses `firewall-cmd --list-all-zones` or `--info-zone=Z` output (pure): a header line per
/// zone (`public (default, active)`), then `  key: value` lines; forwarded ports and rich
/// rules continue on tab-indented lines.
pub fn parse_zones(text: &str) -> Vec<Zone> {
    let mut zones: Vec<Zone> = Vec::new();
    let mut key = String::new();
    let mut rich = 0usize;
    let mut fwd = 0usize;
    let finish = |z: &mut Zone, rich: usize, fwd: usize| {
        if rich > 0 {
            z.extras.push(format!("{rich} rich rule(s)"));
        }
        if fwd > 0 {
            z.extras.push(format!("{fwd} forwarded port(s)"));
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            if let Some(z) = zones.last_mut() {
                finish(z, rich, fwd);
            }
            rich = 0;
            fwd = 0;
            let (name, attrs) = match line.split_once(' ') {
                Some((n, a)) => (n, a),
                None => (line, ""),
            };
            zones.push(Zone {
                name: name.trim().to_string(),
                default: attrs.contains("default"),
                target: "default".into(),
                ..Default::default()
            });
            continue;
        }
        let Some(z) = zones.last_mut() else { continue };
        if line.starts_with('\t') {
            // A continuation of the key above (one more rich rule or forwarded port).
            match key.as_str() {
                "rich rules" => rich += 1,
                "forward-ports" => fwd += 1,
                _ => {}
            }
            continue;
        }
        let Some((k, v)) = line.trim().split_once(':') else {
            continue;
        };
        key = k.trim().to_string();
        let v = v.trim();
        let words = || v.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        match key.as_str() {
            "target" => z.target = v.to_string(),
            "interfaces" => z.interfaces = words(),
            "services" => z.services = words(),
            "ports" => z.ports = words(),
            "protocols" => z.protocols = words(),
            "source-ports" => z.source_ports = words(),
            "masquerade" if v == "yes" => z.extras.push("masquerading".into()),
            "forward-ports" if !v.is_empty() => fwd += 1,
            "rich rules" if !v.is_empty() => rich += 1,
            _ => {}
        }
    }
    if let Some(z) = zones.last_mut() {
        finish(z, rich, fwd);
    }
    for z in &mut zones {
        // A target that accepts everything: moving the interface would close all of it.
        if z.target == "ACCEPT" {
            z.extras
                .insert(0, "target ACCEPT (everything is let in)".into());
        }
    }
    zones
}

/// The NetworkManager connection active on an interface, and the zone it names ("" for the
/// default zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmConn {
    pub connection: String,
    pub zone: String,
}

/// What pxe-kit saw of the firewall before changing it.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// firewalld runs; false: it is installed but stopped, and the permanent configuration
    /// is edited with firewall-offline-cmd.
    pub running: bool,
    /// The zones as they filter now (runtime), or as configured when firewalld is stopped.
    pub zones: Vec<Zone>,
    /// pxe-kit's zone in the permanent configuration, when it exists.
    pub ours: Option<Zone>,
    /// The NetworkManager connection of each interface that matters (the provisioning one
    /// and any other in pxe-kit's zone), for those NM manages.
    pub nm: BTreeMap<String, NmConn>,
}

impl State {
    /// The zone filtering an interface: the one listing it, else the default zone (where
    /// firewalld puts traffic of interfaces bound nowhere).
    pub fn zone_of(&self, iface: &str) -> Option<&Zone> {
        if let Some(c) = self
            .nm
            .get(iface)
            .filter(|c| !self.running && !c.zone.is_empty())
        {
            // Stopped firewalld: NM's setting is what will apply when it starts.
            if let Some(z) = self.zones.iter().find(|z| z.name == c.zone) {
                return Some(z);
            }
        }
        self.zones
            .iter()
            .find(|z| z.interfaces.iter().any(|i| i == iface))
            .or_else(|| self.zones.iter().find(|z| z.default))
    }

    /// Interfaces other than `iface` bound to pxe-kit's zone now, in its zone file, or by
    /// their NetworkManager connection.
    pub fn strays(&self, iface: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .zones
            .iter()
            .filter(|z| z.name == ZONE)
            .chain(self.ours.iter())
            .flat_map(|z| z.interfaces.iter().cloned())
            .chain(
                self.nm
                    .iter()
                    .filter(|(_, c)| c.zone == ZONE)
                    .map(|(i, _)| i.clone()),
            )
            .filter(|i| i != iface)
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Looks at the firewall once: firewall-cmd's runtime zones and pxe-kit's permanent zone
/// (two calls, each seconds on a slow host), or firewall-offline-cmd's configuration when
/// firewalld is stopped; then NetworkManager's connection of each interface that matters.
pub fn inspect(runner: &Runner, cfg: &Config) -> Result<State> {
    let q = |desc: &str, argv: &[&str]| -> Result<Output> {
        let cmd = Cmd::new(Kind::Probe, desc, argv);
        Ok(runner
            .query(&cmd)?
            .expect("inspect runs where probes are answered"))
    };
    let all = q(
        "reading firewalld's zones",
        &["firewall-cmd", "--list-all-zones"],
    )?;
    let mut st = State::default();
    if all.success {
        st.running = true;
        st.zones = parse_zones(&all.stdout);
        let ours = q(
            "reading the permanent pxe-kit zone",
            &[
                "firewall-cmd",
                "--permanent",
                &format!("--info-zone={ZONE}"),
            ],
        )?;
        st.ours = if ours.success {
            parse_zones(&ours.stdout).into_iter().next()
        } else if ours.code == Some(INVALID_ZONE) || ours.stderr.contains("INVALID_ZONE") {
            None
        } else {
            bail!(unanswered(&ours));
        };
    } else if all.code == Some(NOT_RUNNING) || all.stderr.contains("not running") {
        let off = q(
            "reading firewalld's saved zones (firewalld is stopped)",
            &["firewall-offline-cmd", "--list-all-zones"],
        )?;
        if !off.success {
            bail!(
                "firewalld is stopped and firewall-offline-cmd failed too: {}",
                tail(&off)
            );
        }
        st.zones = parse_zones(&off.stdout);
        st.ours = st.zones.iter().find(|z| z.name == ZONE).cloned();
    } else {
        bail!(unanswered(&all));
    }
    // Older firewall-cmd listings do not mark the default zone: ask for it.
    if !st.zones.iter().any(|z| z.default) {
        let tool = if st.running {
            "firewall-cmd"
        } else {
            "firewall-offline-cmd"
        };
        let d = q("asking the default zone", &[tool, "--get-default-zone"])?;
        let name = d.stdout.trim().to_string();
        if let Some(z) = st.zones.iter_mut().find(|z| z.name == name) {
            z.default = true;
        }
    }
    let mut ifaces = vec![cfg.interface.clone()];
    ifaces.extend(st.strays(&cfg.interface));
    for i in ifaces {
        if let Some(c) = nm_conn(runner, &i)? {
            st.nm.insert(i, c);
        }
    }
    // NM's strays are known only now.
    Ok(st)
}

/// The NetworkManager connection active on `iface`, or None when NM does not manage it (or
/// is not there at all).
fn nm_conn(runner: &Runner, iface: &str) -> Result<Option<NmConn>> {
    let q = |desc: &str, argv: &[&str]| runner.query(&Cmd::new(Kind::Probe, desc, argv));
    let conn = match q(
        "asking NetworkManager which connection holds the interface",
        &["nmcli", "-g", "GENERAL.CONNECTION", "device", "show", iface],
    ) {
        Ok(Some(o)) if o.success => nm_value(&o.stdout),
        // No nmcli, NM not running, or a device NM does not know.
        _ => return Ok(None),
    };
    if conn.is_empty() {
        return Ok(None);
    }
    let zone = match q(
        "asking NetworkManager for the connection's firewall zone",
        &[
            "nmcli",
            "-g",
            "connection.zone",
            "connection",
            "show",
            &conn,
        ],
    ) {
        Ok(Some(o)) if o.success => nm_value(&o.stdout),
        _ => return Ok(None),
    };
    Ok(Some(NmConn {
        connection: conn,
        zone,
    }))
}

/// One value of `nmcli -g` (terse: `:` and `\` escaped with a backslash).
fn nm_value(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let mut out = String::new();
    let mut esc = false;
    for c in line.chars() {
        if esc || c != '\\' {
            out.push(c);
            esc = false;
        } else {
            esc = true;
        }
    }
    out
}

fn tail(o: &Output) -> String {
    let said = if o.stderr.trim().is_empty() {
        &o.stdout
    } else {
        &o.stderr
    };
    said.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// What firewall-cmd's failure means, with the fix (a D-Bus policy that keeps firewall-cmd
/// from reaching firewalld makes it wait 25 s and fail with NoReply).
pub fn unanswered(o: &Output) -> String {
    let t = tail(o);
    if is_no_reply(&o.stderr) {
        format!(
            "firewall-cmd got no answer from firewalld over D-Bus ({t}): firewalld runs but cannot answer; on an SELinux host look for denials (`ausearch -m avc -ts recent -c firewalld`), e.g. Debian's policy lacks `allow firewalld_t unconfined_t:dbus send_msg`; restart it with `systemctl restart firewalld`"
        )
    } else {
        format!(
            "firewall-cmd failed (status {}): {t}",
            o.code.map(|c| c.to_string()).unwrap_or("signal".into())
        )
    }
}

/// D-Bus gave firewall-cmd no reply (a hang, then a timeout).
pub fn is_no_reply(stderr: &str) -> bool {
    stderr.contains("NoReply") || stderr.contains("Did not receive a reply")
}

/// The settings' `firewall:` section after the provisioning interface moves into pxe-kit's
/// zone (pure): what its current zone lets in is kept there. `old` is the section as saved.
/// When the interface is already in pxe-kit's zone nothing changes. Refused (nothing
/// changed) when the current zone allows what cannot be carried, unless `takeover`.
pub fn settle_keep(
    old: &FirewallKeep,
    st: &State,
    iface: &str,
    boot_services: &[&str],
    takeover: bool,
) -> Result<FirewallKeep> {
    let Some(current) = st.zone_of(iface) else {
        return Ok(old.clone());
    };
    if current.name == ZONE {
        return Ok(old.clone());
    }
    if !current.extras.is_empty() && !takeover {
        bail!(
            "moving {iface} from firewalld zone {} into the {ZONE} zone would close what {} allows there beyond services and ports: {}; re-run with --firewall-takeover to move it anyway (services and ports are kept), or put {iface} in the {ZONE} zone yourself",
            current.name,
            current.name,
            current.extras.join(", ")
        );
    }
    let mut keep = current.keep();
    keep.services
        .retain(|s| !boot_services.contains(&s.as_str()));
    Ok(keep)
}

/// One change of pxe-kit's zone's content: `--add-service=ssh`, `--remove-port=9090/tcp`.
pub type ZoneArg = String;

/// The changes that bring the firewall to the wanted state (pure). `want` are the zone's
/// wanted items as firewall-cmd options without the verb (`service=dhcp`, `port=9090/tcp`),
/// `drop` those kept earlier and no longer wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub create_zone: bool,
    /// `--add-service=…` / `--remove-port=…` … for the permanent zone.
    pub zone_args: Vec<ZoneArg>,
    /// Bind the interface in the zone file (interfaces NM does not manage).
    pub bind_file: bool,
    /// Interfaces to take out of the zone file.
    pub unbind_file: Vec<String>,
    /// firewalld must reload for the permanent changes to filter.
    pub reload: bool,
    /// Set this NM connection's zone to pxe-kit.
    pub bind_nm: Option<String>,
    /// NM connections whose zone goes back to the default.
    pub unbind_nm: Vec<(String, String)>,
    /// The runtime binding is wrong although the permanent one is right.
    pub bind_runtime: bool,
    /// Interfaces bound to the zone at runtime only.
    pub unbind_runtime: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// Decides the changes (pure).
pub fn changes(st: &State, iface: &str, want: &[String], drop: &[String]) -> Changes {
    let mut c = Changes {
        create_zone: st.ours.is_none(),
        ..Default::default()
    };
    let empty = Zone::default();
    let ours = st.ours.as_ref().unwrap_or(&empty);
    let has = |item: &str| -> bool {
        let (kind, value) = item.split_once('=').unwrap_or((item, ""));
        let list = match kind {
            "service" => &ours.services,
            "port" => &ours.ports,
            "protocol" => &ours.protocols,
            "source-port" => &ours.source_ports,
            _ => return false,
        };
        list.iter().any(|x| x == value)
    };
    for w in want {
        if !has(w) {
            c.zone_args.push(format!("--add-{w}"));
        }
    }
    for d in drop {
        if has(d) && !want.contains(d) {
            c.zone_args.push(format!("--remove-{d}"));
        }
    }
    let nm = st.nm.get(iface);
    match nm {
        Some(conn) => {
            if conn.zone != ZONE {
                c.bind_nm = Some(conn.connection.clone());
            }
        }
        None => c.bind_file = !ours.interfaces.iter().any(|i| i == iface),
    }
    for s in st.strays(iface) {
        if let Some(conn) = st.nm.get(&s).filter(|c| c.zone == ZONE) {
            c.unbind_nm.push((s.clone(), conn.connection.clone()));
        }
        if ours.interfaces.contains(&s) {
            c.unbind_file.push(s.clone());
        } else if st.running
            && !st.nm.contains_key(&s)
            && st
                .zones
                .iter()
                .any(|z| z.name == ZONE && z.interfaces.contains(&s))
        {
            c.unbind_runtime.push(s);
        }
    }
    c.reload = st.running
        && (c.create_zone || !c.zone_args.is_empty() || c.bind_file || !c.unbind_file.is_empty());
    // A zone file binding filters after the reload; otherwise (NM's binding, whose own
    // request fails while the zone does not exist at runtime yet, or a runtime binding lost)
    // the runtime binding is set directly, after the reload.
    let runtime_zone = st
        .zones
        .iter()
        .find(|z| z.interfaces.iter().any(|i| i == iface))
        .map(|z| z.name.as_str());
    c.bind_runtime = st.running && runtime_zone != Some(ZONE) && !c.bind_file;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &str = "\
block
  target: %%REJECT%%
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: 
  ports: 
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

FedoraServer (default, active)
  target: default
  icmp-block-inversion: no
  interfaces: ens16 ens17
  sources: 
  services: cockpit dhcpv6-client ssh
  ports: 9090/tcp
  protocols: 
  forward: yes
  masquerade: no
  forward-ports: 
  source-ports: 
  icmp-blocks: 
  rich rules: 

trusted
  target: ACCEPT
  icmp-block-inversion: no
  interfaces: 
  sources: 
  services: 
  ports: 
  protocols: 
  forward: yes
  masquerade: yes
  forward-ports: port=2222:proto=tcp:toport=22:toaddr=
\tport=8080:proto=tcp:toport=80:toaddr=
  source-ports: 
  icmp-blocks: 
  rich rules: rule family=\"ipv4\" source address=\"10.0.0.0/8\" accept
";

    fn state(zones: &str, ours: Option<&str>) -> State {
        State {
            running: true,
            zones: parse_zones(zones),
            ours: ours.and_then(|o| parse_zones(o).into_iter().next()),
            nm: BTreeMap::new(),
        }
    }

    #[test]
    fn zones_parse_with_their_defaults_and_extras() {
        let z = parse_zones(ALL);
        assert_eq!(z.len(), 3);
        assert_eq!(z[1].name, "FedoraServer");
        assert!(z[1].default && !z[0].default);
        assert_eq!(z[1].interfaces, ["ens16", "ens17"]);
        assert_eq!(z[1].services, ["cockpit", "dhcpv6-client", "ssh"]);
        assert_eq!(z[1].ports, ["9090/tcp"]);
        assert!(z[1].extras.is_empty(), "{:?}", z[1].extras);
        assert!(
            z[0].extras.is_empty(),
            "a rejecting target closes nothing more"
        );
        assert_eq!(
            z[2].extras,
            [
                "target ACCEPT (everything is let in)",
                "masquerading",
                "1 rich rule(s)",
                "2 forwarded port(s)"
            ]
        );
    }

    #[test]
    fn moving_keeps_what_the_previous_zone_allowed() {
        let st = state(ALL, None);
        let k = settle_keep(
            &Default::default(),
            &st,
            "ens16",
            &["dhcp", "tftp", "http"],
            false,
        )
        .unwrap();
        assert_eq!(k.moved_from.as_deref(), Some("FedoraServer"));
        assert_eq!(k.services, ["cockpit", "dhcpv6-client", "ssh"]);
        assert_eq!(k.ports, ["9090/tcp"]);
        // An interface bound nowhere is filtered by the default zone.
        let k = settle_keep(&Default::default(), &st, "ens99", &[], false).unwrap();
        assert_eq!(k.moved_from.as_deref(), Some("FedoraServer"));
        // Already in pxe-kit's zone: the saved section stays.
        let mut moved = ALL.replace("interfaces: ens16 ens17", "interfaces: ens17");
        moved.push_str("\npxe-kit (active)\n  target: default\n  interfaces: ens16\n  services: dhcp tftp http ssh\n");
        let st = state(&moved, None);
        let saved = FirewallKeep {
            moved_from: Some("FedoraServer".into()),
            services: vec!["ssh".into()],
            ..Default::default()
        };
        assert_eq!(
            settle_keep(&saved, &st, "ens16", &[], false).unwrap(),
            saved
        );
    }

    #[test]
    fn a_zone_with_more_than_services_is_not_left_without_a_flag() {
        let trusted = ALL
            .replace("interfaces: ens16 ens17", "interfaces: ens17")
            .replace(
                "trusted\n  target: ACCEPT\n  icmp-block-inversion: no\n  interfaces: ",
                "trusted\n  target: ACCEPT\n  icmp-block-inversion: no\n  interfaces: ens16",
            );
        let st = state(&trusted, None);
        let e = settle_keep(&Default::default(), &st, "ens16", &[], false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("from firewalld zone trusted")
                && e.contains("target ACCEPT")
                && e.contains("--firewall-takeover"),
            "{e}"
        );
        assert!(settle_keep(&Default::default(), &st, "ens16", &[], true).is_ok());
    }

    fn want() -> Vec<String> {
        [
            "service=dhcp",
            "service=tftp",
            "service=http",
            "service=ssh",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_new_zone_then_reload_then_nms_binding() {
        let mut st = state(ALL, None);
        st.nm.insert(
            "ens16".into(),
            NmConn {
                connection: "provisioning".into(),
                zone: "".into(),
            },
        );
        let c = changes(&st, "ens16", &want(), &[]);
        assert!(c.create_zone && c.reload);
        assert_eq!(c.bind_nm.as_deref(), Some("provisioning"));
        assert!(!c.bind_file && c.bind_runtime);
        assert_eq!(c.zone_args.len(), 4);
    }

    #[test]
    fn an_nm_binding_in_place_is_nothing_to_change() {
        let moved = format!(
            "{}\npxe-kit (active)\n  target: default\n  interfaces: ens16\n  services: dhcp tftp http ssh\n",
            ALL.replace("interfaces: ens16 ens17", "interfaces: ens17")
        );
        // The permanent zone lists no interface: NM holds the binding.
        let mut st = state(
            &moved,
            Some("pxe-kit\n  target: default\n  interfaces: \n  services: dhcp tftp http ssh\n"),
        );
        st.nm.insert(
            "ens16".into(),
            NmConn {
                connection: "provisioning".into(),
                zone: ZONE.into(),
            },
        );
        let c = changes(&st, "ens16", &want(), &[]);
        assert!(c.is_empty(), "{c:?}");
        // Dropping a service kept earlier removes it.
        let c = changes(&st, "ens16", &want()[..3], &["service=ssh".into()]);
        assert_eq!(c.zone_args, ["--remove-service=ssh"]);
        assert!(c.reload);
    }

    #[test]
    fn the_old_interface_leaves_the_zone() {
        let moved = format!(
            "{}\npxe-kit (active)\n  target: default\n  interfaces: lo ens16\n  services: dhcp tftp http\n",
            ALL.replace("interfaces: ens16 ens17", "interfaces: ens17")
        );
        let st = state(
            &moved,
            Some("pxe-kit\n  target: default\n  interfaces: lo\n  services: dhcp tftp http\n"),
        );
        assert_eq!(st.strays("ens16"), ["lo"]);
        let c = changes(&st, "ens16", &want()[..3], &[]);
        assert_eq!(c.unbind_file, ["lo"]);
        assert!(c.bind_file && c.reload);
    }

    #[test]
    fn stopped_firewalld_edits_the_saved_zones() {
        let mut st = state(ALL, None);
        st.running = false;
        let c = changes(&st, "ens16", &want(), &[]);
        assert!(c.create_zone && c.bind_file && !c.reload && !c.bind_runtime);
    }

    #[test]
    fn nm_values_are_unescaped_and_no_reply_is_named() {
        assert_eq!(nm_value("Wired\\: one\n"), "Wired: one");
        let o = Output {
            success: false,
            code: Some(1),
            stdout: String::new(),
            stderr: "ERROR:dbus.proxies:Introspect error on :1.5:/org/fedoraproject/FirewallD1: dbus.exceptions.DBusException: org.freedesktop.DBus.Error.NoReply: Did not receive a reply.\n".into(),
        };
        let m = unanswered(&o);
        assert!(
            m.contains("no answer from firewalld") && m.contains("ausearch"),
            "{m}"
        );
    }
}
