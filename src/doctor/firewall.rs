//! Firewall check: udp/67, udp/69 and tcp/80 are let in on the provisioning interface
//! (firewalld: the interface's zone allows dhcp, tftp, http; else the iptables INPUT chain or
//! nftables input hooks, parsed here), and a warning where they are open on every interface.
use super::{Check, Env, Finding};
use crate::distro::Firewall;
use crate::need;
use crate::plan::{firewall_steps_for, Opening, BOOT_OPENING};
use crate::runner::{Cmd, Kind, Output};

pub fn checks() -> Vec<Check> {
    vec![Check {
        id: "firewall.rules",
        title: "the firewall lets DHCP, TFTP and HTTP in on the interface",
        run: rules,
    }]
}

/// The three ports a PXE client needs.
pub const PORTS: [(&str, u16); 3] = [("udp", 67), ("udp", 69), ("tcp", 80)];

/// What one firewall judgement is about: the ports, and how messages name them.
pub struct Want<'a> {
    pub ports: &'a [(&'a str, u16)],
    /// Names the services in messages: "DHCP/TFTP/HTTP".
    pub label: &'a str,
}

/// The PXE boot ports, as `firewall.rules` judges them.
pub const BOOT: Want<'static> = Want {
    ports: &PORTS,
    label: "DHCP/TFTP/HTTP",
};

/// `a, b and c` (pure).
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

impl Want<'_> {
    fn names(&self) -> String {
        and_list(
            &self
                .ports
                .iter()
                .map(|(p, n)| format!("{p}/{n}"))
                .collect::<Vec<_>>(),
        )
    }
}

/// One rule of `iptables -S INPUT`, reduced to what decides a new packet's fate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IptRule {
    pub text: String,
    /// `-i IF` (false) or `! -i IF` (true).
    pub iface: Option<(bool, String)>,
    pub proto: Option<String>,
    pub dports: Option<Vec<(u16, u16)>>,
    pub target: String,
    /// Conditions not modelled (source, destination, marks …): such a rule is not relied on.
    pub other: bool,
    /// Matches only packets of existing connections (`--ctstate` without NEW).
    pub not_new: bool,
}

/// Splits a line into words, honouring double quotes (`--comment "a b"`).
fn words(l: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in l.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn ports_list(s: &str) -> Option<Vec<(u16, u16)>> {
    s.split(',')
        .map(|p| match p.split_once(':') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => p.trim().parse().ok().map(|x| (x, x)),
        })
        .collect()
}

/// Parses `iptables -S INPUT` (pure): the chain policy and its rules in order.
pub fn parse_iptables(text: &str) -> (String, Vec<IptRule>) {
    let mut policy = "ACCEPT".to_string();
    let mut rules = Vec::new();
    for l in text.lines() {
        let w = words(l);
        match w.first().map(String::as_str) {
            Some("-P") if w.len() >= 3 && w[1] == "INPUT" => policy = w[2].clone(),
            Some("-A") if w.len() >= 2 && w[1] == "INPUT" => {
                let mut r = IptRule {
                    text: l.trim().to_string(),
                    ..Default::default()
                };
                let mut neg = false;
                let mut i = 2;
                while i < w.len() {
                    let a = w[i].as_str();
                    let val = w.get(i + 1).cloned().unwrap_or_default();
                    match a {
                        "!" => {
                            neg = true;
                            i += 1;
                            continue;
                        }
                        "-i" | "--in-interface" => r.iface = Some((neg, val)),
                        "-p" | "--protocol" => {
                            if neg {
                                r.other = true;
                            } else if val != "all" {
                                r.proto = Some(val);
                            }
                        }
                        "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                            match ports_list(&val) {
                                Some(p) if !neg => r.dports = Some(p),
                                _ => r.other = true,
                            }
                        }
                        "-m" | "--match" | "--comment" => {}
                        "--ctstate" | "--state" => {
                            r.not_new = val.split(',').any(|s| s == "NEW") == neg
                        }
                        "-j" | "--jump" | "-g" | "--goto" => r.target = val,
                        _ => {
                            r.other = true;
                            // Unknown options with a value: skip the value too.
                            if !val.starts_with('-') && val != "!" {
                                i += 1;
                            }
                            i += 1;
                            neg = false;
                            continue;
                        }
                    }
                    neg = false;
                    i += 2;
                }
                rules.push(r);
            }
            _ => {}
        }
    }
    (policy, rules)
}

/// iptables interface match, with its `+` wildcard suffix.
fn if_matches(pattern: &str, iface: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(p) => iface.starts_with(p),
        None => pattern == iface,
    }
}

impl IptRule {
    /// Whether this rule certainly matches a new packet for proto/port arriving on `iface`.
    fn matches(&self, iface: &str, proto: &str, port: u16) -> bool {
        if self.other || self.not_new {
            return false;
        }
        if let Some((neg, p)) = &self.iface {
            if if_matches(p, iface) == *neg {
                return false;
            }
        }
        if self.proto.as_deref().is_some_and(|p| p != proto) {
            return false;
        }
        if let Some(d) = &self.dports {
            if !d.iter().any(|(a, b)| (*a..=*b).contains(&port)) {
                return false;
            }
        }
        true
    }
}

/// The verdict of the INPUT chain for a new packet (pure): accepted, and by what.
pub fn iptables_verdict(
    policy: &str,
    rules: &[IptRule],
    iface: &str,
    proto: &str,
    port: u16,
) -> (bool, String) {
    for (n, r) in rules.iter().enumerate() {
        if !r.matches(iface, proto, port) {
            continue;
        }
        match r.target.as_str() {
            "ACCEPT" => return (true, format!("rule {}: {}", n + 1, r.text)),
            "DROP" | "REJECT" => return (false, format!("rule {}: {}", n + 1, r.text)),
            "RETURN" => break,
            // LOG, user chains …: not followed; the packet goes on.
            _ => {}
        }
    }
    (policy == "ACCEPT", format!("chain policy {policy}"))
}

/// Explicit ACCEPT rules for proto/port that are not limited to `iface`.
pub fn iptables_wide(rules: &[IptRule], iface: &str, proto: &str, port: u16) -> Vec<String> {
    rules
        .iter()
        .filter(|r| r.target == "ACCEPT" && !r.other && !r.not_new && r.dports.is_some())
        .filter(|r| r.proto.as_deref().is_none_or(|p| p == proto))
        .filter(|r| {
            r.dports
                .as_ref()
                .is_some_and(|d| d.iter().any(|(a, b)| (*a..=*b).contains(&port)))
        })
        .filter(|r| match &r.iface {
            None => true,
            Some((true, _)) => true,
            Some((false, p)) => !if_matches(p, iface),
        })
        .map(|r| r.text.clone())
        .collect()
}

/// Judges the iptables INPUT chain (pure). `fixes` gives the insert command per port.
pub fn judge_iptables(text: &str, iface: &str, fixes: &dyn Fn(&str, u16) -> String) -> Finding {
    judge_iptables_for(text, iface, &BOOT, fixes)
}

/// Judges the iptables INPUT chain for the ports of `want` (pure).
pub fn judge_iptables_for(
    text: &str,
    iface: &str,
    want: &Want,
    fixes: &dyn Fn(&str, u16) -> String,
) -> Finding {
    let (policy, rules) = parse_iptables(text);
    if policy == "ACCEPT"
        && rules
            .iter()
            .all(|r| r.target != "DROP" && r.target != "REJECT")
    {
        return Finding::ok(format!(
            "iptables: INPUT policy ACCEPT, nothing blocks: no filtering ({} rule(s))",
            rules.len()
        ))
        .with_evidence(vec![format!("-P INPUT {policy}")]);
    }
    let mut ev = Vec::new();
    let mut closed = Vec::new();
    let mut wide = Vec::new();
    for &(proto, port) in want.ports {
        let (ok, why) = iptables_verdict(&policy, &rules, iface, proto, port);
        ev.push(format!(
            "{proto}/{port} on {iface}: {} by {why}",
            if ok { "accepted" } else { "dropped" }
        ));
        if !ok {
            closed.push((proto, port));
        }
        for w in iptables_wide(&rules, iface, proto, port) {
            wide.push(format!("{proto}/{port} is open on every interface: {w}"));
        }
    }
    conclude(
        Verdicts { tool: "iptables", iface, want, closed, wide, evidence: ev },
        fixes,
        format!("limit the rule to the interface: replace it with one that has `-i {iface}` (iptables -D INPUT …, then pxe-kit's rule)"),
        format!("iptables lets {} in on {iface} only", want.names()),
    )
}

/// What a firewall judge found: ports dropped on the interface, rules open on every
/// interface, and the evidence.
struct Verdicts<'a> {
    tool: &'a str,
    iface: &'a str,
    want: &'a Want<'a>,
    closed: Vec<(&'a str, u16)>,
    wide: Vec<String>,
    evidence: Vec<String>,
}

/// The finding both judges reach from their verdicts: dropped ports fail with one fix each,
/// rules open beyond the interface warn, else ok.
fn conclude(
    v: Verdicts,
    fixes: &dyn Fn(&str, u16) -> String,
    narrow_fix: String,
    ok: String,
) -> Finding {
    let Verdicts {
        tool,
        iface,
        want,
        closed,
        wide,
        mut evidence,
    } = v;
    if !closed.is_empty() {
        let ports: Vec<String> = closed.iter().map(|(p, n)| format!("{p}/{n}")).collect();
        return Finding::fail(
            format!("{tool} drops {} on {iface}", ports.join(", ")),
            closed.iter().map(|(p, n)| fixes(p, *n)).collect(),
        )
        .with_evidence(evidence);
    }
    if !wide.is_empty() {
        evidence.extend(wide.iter().cloned());
        return Finding::warn(
            format!("{} are open beyond {iface}: {}", want.label, wide[0]),
            vec![narrow_fix],
        )
        .with_evidence(evidence);
    }
    Finding::ok(ok).with_evidence(evidence)
}

/// One base chain on the input hook, from `nft list ruleset`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NftChain {
    pub name: String,
    pub policy: String,
    pub rules: Vec<String>,
}

/// The input-hook base chains of `nft list ruleset` (pure).
pub fn parse_nft(text: &str) -> Vec<NftChain> {
    let mut out = Vec::new();
    let mut table = String::new();
    let mut cur: Option<NftChain> = None;
    let mut is_input = false;
    for l in text.lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("table ") {
            table = rest.trim_end_matches('{').trim().to_string();
        } else if let Some(rest) = t.strip_prefix("chain ") {
            cur = Some(NftChain {
                name: format!("{table} {}", rest.trim_end_matches('{').trim()),
                policy: "accept".into(),
                rules: vec![],
            });
            is_input = false;
        } else if t == "}" {
            if let Some(c) = cur.take() {
                if is_input {
                    out.push(c);
                }
            }
        } else if let Some(c) = cur.as_mut() {
            if t.starts_with("type ") && t.contains("hook input") {
                is_input = true;
                if let Some(p) = t.split("policy ").nth(1) {
                    c.policy = p.trim_end_matches(';').trim().to_string();
                }
            } else if !t.is_empty() {
                c.rules.push(t.to_string());
            }
        }
    }
    out
}

/// Whether an nft rule certainly accepts (Some(true)), drops (Some(false)) or does not
/// certainly match (None) a new packet for proto/port on `iface`.
pub fn nft_rule_verdict(rule: &str, iface: &str, proto: &str, port: u16) -> Option<bool> {
    let w = words(&rule.replace(['{', '}', ','], " "));
    let mut i = 0;
    let mut verdict = None;
    while i < w.len() {
        let a = w[i].as_str();
        match a {
            "iifname" | "iif" => {
                let (neg, v) = if w.get(i + 1).map(String::as_str) == Some("!=") {
                    (true, w.get(i + 2)?)
                } else {
                    (false, w.get(i + 1)?)
                };
                let m = match v.strip_suffix('*') {
                    Some(p) => iface.starts_with(p),
                    None => v == iface,
                };
                if m == neg {
                    return None;
                }
                i += if neg { 3 } else { 2 };
            }
            "udp" | "tcp" if w.get(i + 1).map(String::as_str) == Some("dport") => {
                if a != proto {
                    return None;
                }
                let mut j = i + 2;
                let mut hit = false;
                while let Some(p) = w.get(j) {
                    let r = match p.split_once('-') {
                        Some((x, y)) => x.parse::<u16>().ok().zip(y.parse::<u16>().ok()),
                        None => p.parse::<u16>().ok().map(|x| (x, x)),
                    };
                    match r {
                        Some((x, y)) => hit |= (x..=y).contains(&port),
                        None => break,
                    }
                    j += 1;
                }
                if !hit {
                    return None;
                }
                i = j;
            }
            "meta" if w.get(i + 1).map(String::as_str) == Some("l4proto") => {
                if w.get(i + 2).map(String::as_str) != Some(proto) {
                    return None;
                }
                i += 3;
            }
            "ct" if w.get(i + 1).map(String::as_str) == Some("state") => {
                let mut j = i + 2;
                let mut new = false;
                while let Some(s) = w.get(j) {
                    if !["new", "established", "related", "invalid", "untracked"]
                        .contains(&s.as_str())
                    {
                        break;
                    }
                    new |= s == "new";
                    j += 1;
                }
                if !new {
                    return None;
                }
                i = j;
            }
            "counter" => {
                i += 1;
                if w.get(i).map(String::as_str) == Some("packets") {
                    i += 4;
                }
            }
            "comment" => i += 2,
            "accept" => {
                verdict = Some(true);
                i += 1;
            }
            "drop" | "reject" => {
                verdict = Some(false);
                i += 1;
            }
            "with" => i = w.len(),
            // Anything else is a condition we do not model: do not rely on the rule.
            _ => return None,
        }
    }
    verdict
}

/// Judges nftables' input hooks (pure): a packet must pass every base chain.
pub fn judge_nft(text: &str, iface: &str, fixes: &dyn Fn(&str, u16) -> String) -> Finding {
    judge_nft_for(text, iface, &BOOT, fixes)
}

/// Judges nftables' input hooks for the ports of `want` (pure).
pub fn judge_nft_for(
    text: &str,
    iface: &str,
    want: &Want,
    fixes: &dyn Fn(&str, u16) -> String,
) -> Finding {
    let chains = parse_nft(text);
    if chains.is_empty() {
        return Finding::ok("nftables has no input chain: no filtering")
            .with_evidence(vec!["nft list ruleset: no hook input".into()]);
    }
    let mut ev = Vec::new();
    let mut closed = Vec::new();
    let mut wide = Vec::new();
    for &(proto, port) in want.ports {
        let mut ok = true;
        for c in &chains {
            let (acc, why) = c
                .rules
                .iter()
                .find_map(|r| nft_rule_verdict(r, iface, proto, port).map(|v| (v, r.clone())))
                .unwrap_or((c.policy == "accept", format!("policy {}", c.policy)));
            ev.push(format!(
                "{proto}/{port} on {iface}: {} by {} ({why})",
                if acc { "accepted" } else { "dropped" },
                c.name
            ));
            ok &= acc;
            if c.policy != "accept" {
                // Open elsewhere: the same verdict for an interface that is not ours.
                if let Some(r) = c.rules.iter().find(|r| {
                    nft_rule_verdict(r, "pxk-other-if", proto, port) == Some(true)
                        && nft_rule_verdict(r, iface, proto, port) == Some(true)
                }) {
                    wide.push(format!("{proto}/{port} is open on every interface: {r}"));
                }
            }
        }
        if !ok {
            closed.push((proto, port));
        }
    }
    conclude(
        Verdicts {
            tool: "nftables",
            iface,
            want,
            closed,
            wide,
            evidence: ev,
        },
        fixes,
        format!("limit the rule with `iifname \"{iface}\"`"),
        format!("nftables lets {} in on {iface}", want.names()),
    )
}

fn rules(env: &Env) -> Finding {
    judge_opening(env, &BOOT_OPENING, "DHCP/TFTP/HTTP")
}

/// Whether the live firewall lets `opening` in on the provisioning interface; the fixes are
/// the exact commands init (or add-image, for NFS) runs. Shared by `firewall.rules` and
/// `nfs.firewall`.
pub fn judge_opening(env: &Env, opening: &Opening, label: &str) -> Finding {
    let cfg = need!(env.cfg());
    let live = need!(env.live());
    let iface = cfg.interface.as_str();
    let ports: Vec<(&str, u16)> = opening
        .ports
        .iter()
        .filter_map(|(p, n)| n.parse().ok().map(|n| (*p, n)))
        .collect();
    let want = Want {
        ports: &ports,
        label,
    };
    // The exact commands init runs, picked per port.
    let steps = firewall_steps_for(cfg, &env.profile, opening);
    let fix_for = |proto: &str, port: u16| {
        steps
            .iter()
            .find(|s| {
                s.cmd.argv.iter().any(|a| a == proto)
                    && s.cmd.argv.iter().any(|a| {
                        a.split(|c: char| !c.is_ascii_digit())
                            .any(|w| w == port.to_string())
                    })
            })
            .map(|s| s.cmd.shell())
            .unwrap_or_else(|| format!("allow {proto}/{port} on {iface}"))
    };
    let q = |desc: &str, argv: &[&str]| live.runner.query(&Cmd::new(Kind::Probe, desc, argv));
    match env.profile.firewall {
        Firewall::None => Finding::ok("no firewall tool is installed: nothing filters"),
        Firewall::Iptables => match q(
            "reading the iptables INPUT chain",
            &["iptables", "-S", "INPUT"],
        ) {
            Ok(Some(o)) if o.success => {
                let mut f = judge_iptables_for(&o.stdout, iface, &want, &fix_for);
                if f.status != super::Status::Ok {
                    f.fix.push(format!("or: {} doctor --fix", env.pxe_kit()));
                }
                f
            }
            Ok(Some(o)) => Finding::skip(format!("iptables -S INPUT failed: {}", o.stderr.trim())),
            Ok(None) => Finding::skip("iptables was not asked"),
            Err(e) => Finding::skip(format!("{e:#}")),
        },
        Firewall::Nft => match q("reading the nftables ruleset", &["nft", "list", "ruleset"]) {
            Ok(Some(o)) if o.success => judge_nft_for(&o.stdout, iface, &want, &fix_for),
            Ok(Some(o)) => Finding::skip(format!("nft list ruleset failed: {}", o.stderr.trim())),
            _ => Finding::skip("nft could not be asked"),
        },
        Firewall::Firewalld => {
            // One call answers it all: whether firewalld runs, the interface's zone and what
            // that zone lets in (each firewall-cmd costs seconds on a slow host).
            match q(
                "reading firewalld's zones",
                &["firewall-cmd", "--list-all-zones"],
            ) {
                Ok(Some(o)) => judge_firewalld(&o, iface, opening, &env.pxe_kit()),
                _ => Finding::skip("firewall-cmd could not be asked"),
            }
        }
    }
}

/// Judges `firewall-cmd --list-all-zones` (pure): firewalld stopped (nothing filters; its
/// rules apply once it starts), unreachable over D-Bus, or the zone of `iface` with what it
/// lets in.
pub fn judge_firewalld(o: &Output, iface: &str, opening: &Opening, pxe_kit: &str) -> Finding {
    use crate::firewalld::{is_no_reply, parse_zones, unanswered, NOT_RUNNING};
    if !o.success {
        if o.code == Some(NOT_RUNNING) || o.stderr.contains("not running") {
            return Finding::warn(
                "firewalld is installed but not running: nothing filters now; the pxe-kit zone filters once it starts",
                vec![
                    "systemctl enable --now firewalld".into(),
                    format!("{pxe_kit} init   (checks the pxe-kit zone once firewalld runs)"),
                ],
            )
            .with_evidence(vec![format!(
                "firewall-cmd --list-all-zones: status {NOT_RUNNING} (not running)"
            )]);
        }
        let fix = if is_no_reply(&o.stderr) {
            vec![
                "ausearch -m avc -ts recent -c firewalld   (a policy denying firewalld's D-Bus replies; Debian's needs `allow firewalld_t unconfined_t:dbus send_msg`)".into(),
                "systemctl restart firewalld".into(),
            ]
        } else {
            vec!["systemctl status firewalld".into()]
        };
        return Finding::fail(unanswered(o), fix);
    }
    let zones = parse_zones(&o.stdout);
    let Some(zone) = zones
        .iter()
        .find(|z| z.interfaces.iter().any(|i| i == iface))
        .or_else(|| zones.iter().find(|z| z.default))
    else {
        return Finding::skip("firewalld names no zone for the interface and no default zone");
    };
    let bound = zone.interfaces.iter().any(|i| i == iface);
    let mut ev = vec![format!(
        "{iface} is in zone {}{}",
        zone.name,
        if bound {
            ""
        } else {
            " (the default zone: bound nowhere)"
        }
    )];
    // Services by name; ports firewalld has no service for (the failover port) as ports, as
    // init opens them.
    let items: Vec<(&str, String)> = if opening.services.is_empty() {
        opening
            .ports
            .iter()
            .map(|(proto, port)| ("port", format!("{port}/{proto}")))
            .collect()
    } else {
        opening
            .services
            .iter()
            .map(|s| ("service", s.to_string()))
            .collect()
    };
    let mut missing: Vec<(&str, &str)> = Vec::new();
    for (kind, item) in &items {
        let allowed = if *kind == "port" {
            &zone.ports
        } else {
            &zone.services
        };
        let on = allowed.iter().any(|s| s == item);
        ev.push(format!(
            "{item}: {}",
            if on { "allowed" } else { "not allowed" }
        ));
        if !on {
            missing.push((kind, item));
        }
    }
    let names: Vec<&str> = items.iter().map(|(_, i)| i.as_str()).collect();
    if zone.target == "ACCEPT" {
        return Finding::ok(format!(
            "zone {} of {iface} accepts everything (target ACCEPT)",
            zone.name
        ))
        .with_evidence(ev);
    }
    if missing.is_empty() {
        return Finding::ok(format!(
            "zone {} of {iface} allows {}",
            zone.name,
            and_list(&names)
        ))
        .with_evidence(ev);
    }
    let fix = if zone.name == crate::firewalld::ZONE {
        let mut f: Vec<String> = missing
            .iter()
            .map(|(kind, s)| {
                format!(
                    "firewall-cmd --permanent --zone={} --add-{kind}={s}",
                    zone.name
                )
            })
            .collect();
        f.push("firewall-cmd --reload".into());
        f
    } else {
        // pxe-kit's way: its own zone on the interface, keeping what this zone allows.
        vec![format!(
            "{pxe_kit} init   (moves {iface} into the pxe-kit zone, keeping what zone {} allows)",
            zone.name
        )]
    };
    Finding::fail(
        format!(
            "zone {} of {iface} does not allow {}",
            zone.name,
            missing
                .iter()
                .map(|(_, i)| *i)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        fix,
    )
    .with_evidence(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn fix(p: &str, n: u16) -> String {
        format!("iptables -I INPUT -i pxkd0 -p {p} --dport {n} -j ACCEPT")
    }

    const OURS: &str = "-P INPUT DROP\n\
-A INPUT -i lo -j ACCEPT\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -i pxkd0 -p udp -m udp --dport 67 -m comment --comment pxe-kit -j ACCEPT\n\
-A INPUT -i pxkd0 -p udp -m udp --dport 69 -m comment --comment pxe-kit -j ACCEPT\n\
-A INPUT -i pxkd0 -p tcp -m tcp --dport 80 -m comment --comment \"pxe-kit rule\" -j ACCEPT\n";

    #[test]
    fn iptables_open_closed_and_no_filtering() {
        assert_eq!(
            judge_iptables("-P INPUT ACCEPT\n", "pxkd0", &fix).status,
            Status::Ok
        );
        let f = judge_iptables("-P INPUT ACCEPT\n", "pxkd0", &fix);
        assert!(f.summary.contains("no filtering"), "{}", f.summary);
        let ok = judge_iptables(OURS, "pxkd0", &fix);
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        let broken = OURS.replace(
            "-A INPUT -i pxkd0 -p udp -m udp --dport 69 -m comment --comment pxe-kit -j ACCEPT\n",
            "",
        );
        let f = judge_iptables(&broken, "pxkd0", &fix);
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("udp/69"), "{}", f.summary);
        assert_eq!(f.fix, [fix("udp", 69)]);
        // Another interface gets nothing from our rules.
        assert_eq!(judge_iptables(OURS, "eth0", &fix).status, Status::Fail);
    }

    #[test]
    fn iptables_rule_order_negation_ranges_and_wide_rules() {
        let dropped_first = "-P INPUT ACCEPT\n-A INPUT -p udp --dport 60:70 -j DROP\n-A INPUT -i pxkd0 -p udp --dport 69 -j ACCEPT\n";
        let f = judge_iptables(dropped_first, "pxkd0", &fix);
        assert!(f.summary.contains("udp/67, udp/69"), "{f:?}");
        let neg = "-P INPUT DROP\n-A INPUT ! -i eth0 -p udp -m multiport --dports 67,69 -j ACCEPT\n-A INPUT -i pxkd0 -p tcp --dport 80 -j ACCEPT\n";
        let f = judge_iptables(neg, "pxkd0", &fix);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        let wide = "-P INPUT DROP\n-A INPUT -p udp -m udp --dport 67 -j ACCEPT\n-A INPUT -i pxkd0 -p udp --dport 69 -j ACCEPT\n-A INPUT -i pxkd0 -p tcp --dport 80 -j ACCEPT\n";
        let f = judge_iptables(wide, "pxkd0", &fix);
        assert_eq!(f.status, Status::Warn);
        assert!(
            f.summary.contains("udp/67 is open on every interface"),
            "{}",
            f.summary
        );
        // A source-limited accept is not relied on.
        let src = "-P INPUT DROP\n-A INPUT -s 10.0.0.5/32 -i pxkd0 -p udp --dport 67 -j ACCEPT\n";
        assert_eq!(judge_iptables(src, "pxkd0", &fix).status, Status::Fail);
        let (_, r) = parse_iptables(OURS);
        assert!(r[1].not_new);
        assert_eq!(r[4].target, "ACCEPT");
    }

    const NFT: &str = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\tiifname \"pxkd0\" udp dport { 67, 69 } accept comment \"pxe-kit\"\n\t\tiifname \"pxkd0\" tcp dport 80 counter packets 3 bytes 180 accept comment \"pxe-kit\"\n\t}\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n";

    #[test]
    fn nft_input_hooks_are_judged() {
        let chains = parse_nft(NFT);
        assert_eq!(chains.len(), 1);
        assert_eq!(chains[0].policy, "drop");
        assert_eq!(judge_nft(NFT, "pxkd0", &fix).status, Status::Ok);
        let broken = NFT.replace("\t\tiifname \"pxkd0\" tcp dport 80 counter packets 3 bytes 180 accept comment \"pxe-kit\"\n", "");
        let f = judge_nft(&broken, "pxkd0", &fix);
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("tcp/80"), "{}", f.summary);
        assert_eq!(judge_nft("", "pxkd0", &fix).status, Status::Ok);
        let wide = NFT.replace("iifname \"pxkd0\" udp", "udp");
        assert_eq!(judge_nft(&wide, "pxkd0", &fix).status, Status::Warn);
        assert_eq!(
            nft_rule_verdict("iifname != \"pxkd0\" drop", "pxkd0", "udp", 67),
            None
        );
        assert_eq!(
            nft_rule_verdict("meta l4proto udp th dport 67 accept", "pxkd0", "udp", 67),
            None,
            "th dport is not modelled"
        );
    }
}

#[cfg(test)]
mod firewalld_tests {
    use super::*;
    use crate::doctor::Status;
    use crate::plan::BOOT_OPENING;

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            success: code == 0,
            code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    const ZONES: &str = "public (default, active)\n  target: default\n  interfaces: ens17\n  services: dhcpv6-client ssh\n\npxe-kit (active)\n  target: default\n  interfaces: ens16\n  services: dhcp http ssh tftp\n";

    #[test]
    fn one_listing_judges_the_interfaces_zone() {
        let f = judge_firewalld(&out(0, ZONES, ""), "ens16", &BOOT_OPENING, "pxe-kit");
        assert_eq!(f.status, Status::Ok, "{f:?}");
        assert!(f.summary.contains("zone pxe-kit of ens16"), "{}", f.summary);
        // The public NIC's zone does not let DHCP in: pxe-kit's way is its own zone.
        let f = judge_firewalld(&out(0, ZONES, ""), "ens17", &BOOT_OPENING, "pxe-kit");
        assert_eq!(f.status, Status::Fail);
        assert!(f.fix[0].starts_with("pxe-kit init"), "{f:?}");
        // A missing service in pxe-kit's own zone: the exact commands.
        let broken = ZONES.replace("dhcp http ssh tftp", "dhcp http ssh");
        let f = judge_firewalld(&out(0, &broken, ""), "ens16", &BOOT_OPENING, "pxe-kit");
        assert_eq!(
            f.fix,
            [
                "firewall-cmd --permanent --zone=pxe-kit --add-service=tftp",
                "firewall-cmd --reload"
            ]
        );
    }

    #[test]
    fn the_failover_port_is_judged_as_a_port() {
        use crate::plan::FAILOVER_OPENING;
        // pxe-kit's zone without tcp/647: the exact commands; with it: ok.
        let f = judge_firewalld(&out(0, ZONES, ""), "ens16", &FAILOVER_OPENING, "pxe-kit");
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert_eq!(
            f.fix,
            [
                "firewall-cmd --permanent --zone=pxe-kit --add-port=647/tcp",
                "firewall-cmd --reload"
            ]
        );
        let open = ZONES.replace(
            "services: dhcp http ssh tftp\n",
            "services: dhcp http ssh tftp\n  ports: 647/tcp\n",
        );
        let f = judge_firewalld(&out(0, &open, ""), "ens16", &FAILOVER_OPENING, "pxe-kit");
        assert_eq!(f.status, Status::Ok, "{f:?}");
        assert!(f.summary.ends_with("allows 647/tcp"), "{}", f.summary);
    }

    #[test]
    fn stopped_and_unreachable_firewalld_say_what_to_do() {
        let f = judge_firewalld(
            &out(252, "", "FirewallD is not running\n"),
            "ens16",
            &BOOT_OPENING,
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Warn);
        assert!(f.summary.contains("nothing filters now"), "{}", f.summary);
        assert_eq!(f.fix[0], "systemctl enable --now firewalld");
        let f = judge_firewalld(
            &out(
                1,
                "",
                "ERROR: org.freedesktop.DBus.Error.NoReply: Did not receive a reply.\n",
            ),
            "ens16",
            &BOOT_OPENING,
            "pxe-kit",
        );
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary.contains("no answer from firewalld"),
            "{}",
            f.summary
        );
        assert!(f.fix[0].starts_with("ausearch -m avc"), "{f:?}");
    }
}
