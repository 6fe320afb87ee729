//! Checks of a failover pair: the failover port open on the provisioning interface, the
//! partner answering (HTTP and the failover port), the pair's state as the DHCP server
//! records it (dhcpd's lease file, Kea's HA listener), and both members booting the same
//! images with the same checksums (the partner's image list over SSH, as `sync` reaches it).
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::{Check, Env, Finding};
use crate::config::{DhcpServer, Peers, FAILOVER_PORT};
use crate::need;
use crate::pair::{self, Verdict};
use crate::runner::{Cmd, Kind};
use crate::sync::Index;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "pair.firewall",
            title: "the firewall lets the failover partner in on tcp/647",
            run: firewall,
        },
        Check {
            id: "pair.partner",
            title: "the failover partner answers",
            run: partner,
        },
        Check {
            id: "pair.state",
            title: "the failover pair operates normally",
            run: state,
        },
        Check {
            id: "pair.images",
            title: "both members boot the same images with the same checksums",
            run: images,
        },
    ]
}

fn peers<'e>(env: &'e Env) -> Result<&'e Peers, Finding> {
    let cfg = env.cfg()?;
    cfg.peers
        .as_ref()
        .ok_or_else(|| Finding::skip("not one of a failover pair (no peers: in the settings)"))
}

fn firewall(env: &Env) -> Finding {
    need!(peers(env));
    super::firewall::judge_opening(env, &crate::plan::FAILOVER_OPENING, "the failover port")
}

/// Whether the partner's HTTP and failover ports accept a connection (`None`: they do;
/// `Some(error)`: they do not).
pub fn judge_partner(
    partner: Ipv4Addr,
    http: Option<String>,
    failover: Option<String>,
    pk: &str,
) -> Finding {
    let ev = vec![
        format!(
            "http://{partner}/: {}",
            http.as_deref().unwrap_or("connects")
        ),
        format!(
            "{partner}:{FAILOVER_PORT} (failover): {}",
            failover.as_deref().unwrap_or("connects")
        ),
    ];
    match (&http, &failover) {
        (None, None) => {
            Finding::ok(format!("partner {partner} answers on HTTP and tcp/{FAILOVER_PORT}"))
                .with_evidence(ev)
        }
        (Some(_), Some(_)) => Finding::fail(
            format!("partner {partner} answers neither HTTP nor tcp/{FAILOVER_PORT}: it is down or cut off; this server serves alone"),
            vec![
                format!("on {partner}: pxe-kit doctor   (is it up? are its daemons running?)"),
                format!("check the link and the firewalls between the two (tcp/80, tcp/{FAILOVER_PORT}): {pk} doctor shows pair.firewall here"),
            ],
        )
        .with_evidence(ev),
        (Some(_), None) => Finding::fail(
            format!("partner {partner} does not serve HTTP: machines it answers cannot fetch their images"),
            vec![format!("on {partner}: pxe-kit doctor   (services.httpd)")],
        )
        .with_evidence(ev),
        (None, Some(_)) => Finding::fail(
            format!("partner {partner} does not answer on tcp/{FAILOVER_PORT}: its DHCP server is down or the port is closed"),
            vec![
                format!("on {partner}: pxe-kit doctor   (services.dhcpd, pair.firewall)"),
                format!("on {partner}: pxe-kit init   (opens tcp/{FAILOVER_PORT} on the provisioning interface)"),
            ],
        )
        .with_evidence(ev),
    }
}

fn connect(ip: Ipv4Addr, port: u16) -> Option<String> {
    TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_secs(2))
        .err()
        .map(|e| e.to_string())
}

fn partner(env: &Env) -> Finding {
    let p = need!(peers(env));
    need!(env.live());
    judge_partner(
        p.partner,
        connect(p.partner, 80),
        connect(p.partner, FAILOVER_PORT),
        &env.pxe_kit(),
    )
}

/// A member's state, judged: `mine` the state its DHCP server records (`None`: none yet).
pub fn judge_state(server: DhcpServer, mine: Option<&str>, partner: Option<&str>) -> Finding {
    let Some(mine) = mine else {
        return Finding::warn(
            format!("{} has recorded no failover state yet: the pair has not formed", server.name()),
            vec!["start the DHCP server on both members (pxe-kit init, or pxe-kit serve), then check again".into()],
        );
    };
    let (verdict, meaning) = match server {
        DhcpServer::Isc => pair::judge_dhcpd_state(mine),
        DhcpServer::Kea => pair::judge_kea_state(mine),
    };
    let ev: Vec<String> = std::iter::once(format!("this server: {mine}"))
        .chain(partner.map(|p| format!("partner: {p}")))
        .collect();
    match verdict {
        Verdict::Normal => {
            Finding::ok(format!("{}: {mine} ({meaning})", server.name())).with_evidence(ev)
        }
        Verdict::Transient => Finding::warn(
            format!("{}: {mine}: {meaning}", server.name()),
            vec!["wait, then check again".into()],
        )
        .with_evidence(ev),
        Verdict::Act => Finding::fail(
            format!("{}: {mine}", server.name()),
            vec![meaning.to_string()],
        )
        .with_evidence(ev),
    }
}

/// Kea's HA state from its own HA listener (`ha-heartbeat`, the command partners send).
fn kea_state(server_ip: Ipv4Addr) -> Result<(String, Option<String>), String> {
    let agent = crate::httpc::agent(None, Duration::from_secs(3));
    let body = r#"{"command": "ha-heartbeat", "service": ["dhcp4"]}"#;
    let mut resp = agent
        .post(&format!("http://{server_ip}:{FAILOVER_PORT}/"))
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| format!("asking Kea's HA listener at {server_ip}:{FAILOVER_PORT}: {e}"))?;
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading Kea's answer: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("Kea's answer is not JSON ({e}): {text}"))?;
    let first = v.get(0).unwrap_or(&v);
    match first["arguments"]["state"].as_str() {
        Some(s) => Ok((s.to_string(), None)),
        None => Err(format!("Kea answered without a state: {text}")),
    }
}

fn state(env: &Env) -> Finding {
    let _ = need!(peers(env));
    let cfg = need!(env.cfg());
    let server = env.profile.dhcp.server;
    match server {
        DhcpServer::Isc => {
            // dhcpd appends a state block to its lease file on every change of state.
            let p = &env.profile.dhcp.leases;
            let text = match env.ctx.root.read_string_opt(p) {
                Ok(t) => t.unwrap_or_default(),
                Err(e) => return Finding::fail(format!("{e:#}"), vec![]),
            };
            let (_, st) = pair::parse_dhcpd_leases(&text);
            let mut f = judge_state(
                server,
                st.as_ref().map(|s| s.mine.as_str()),
                st.as_ref().map(|s| s.partner.as_str()),
            );
            f.evidence.push(format!("read from {}", p.display()));
            f
        }
        DhcpServer::Kea => {
            need!(env.live());
            match kea_state(cfg.server_ip) {
                Ok((mine, partner)) => judge_state(server, Some(&mine), partner.as_deref()),
                Err(e) => Finding::fail(
                    format!("Kea's HA listener does not answer: {e}"),
                    vec![format!(
                        "{} doctor   (services.dhcpd: is kea-dhcp4 running with the HA hook?)",
                        env.pxe_kit()
                    )],
                ),
            }
        }
    }
}

/// Both members' image lists (name → SHA-256 of the manifest, which holds each file's).
pub fn judge_images(mine: &Index, theirs: Result<Index, String>, pk: &str) -> Finding {
    let theirs = match theirs {
        Ok(t) => t,
        Err(e) => {
            return Finding::warn(
                format!("the partner's images could not be listed: {e}"),
                vec!["give this server SSH access to the partner as `pxe-kit sync` uses (peers.ssh, keys), then check again".into()],
            )
        }
    };
    let mut diff = Vec::new();
    for (n, h) in &mine.images {
        match theirs.images.get(n) {
            None => diff.push(format!("{n}: only here")),
            Some(t) if t != h => diff.push(format!(
                "{n}: differs (manifest {} here, {} there)",
                &h[..12.min(h.len())],
                &t[..12.min(t.len())]
            )),
            Some(_) => {}
        }
    }
    for n in theirs
        .images
        .keys()
        .filter(|n| !mine.images.contains_key(*n))
    {
        diff.push(format!("{n}: only on the partner"));
    }
    if diff.is_empty() {
        return Finding::ok(format!(
            "both boot the same {} image(s) with the same checksums",
            mine.images.len()
        ));
    }
    Finding::fail(
        format!("the members boot different images: {}", diff.join("; ")),
        vec![format!(
            "{pk} sync   (from the member whose images are right)"
        )],
    )
    .with_evidence(diff)
}

fn images(env: &Env) -> Finding {
    let p = need!(peers(env));
    let live = need!(env.live());
    let mine = match crate::sync::index(env.ctx) {
        Ok(i) => i,
        Err(e) => return Finding::fail(format!("{e:#}"), vec![]),
    };
    let argv = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        &p.ssh_target(),
        "pxe-kit sync --print-index",
    ];
    let theirs = match live.runner.query(&Cmd::new(
        Kind::Probe,
        "listing the partner's images",
        &argv,
    )) {
        Ok(Some(o)) if o.success => {
            serde_json::from_str::<Index>(&o.stdout).map_err(|e| format!("not an image list ({e})"))
        }
        Ok(Some(o)) => Err(o
            .stderr
            .trim()
            .lines()
            .last()
            .unwrap_or("ssh failed")
            .to_string()),
        Ok(None) => Err("ssh was not run".into()),
        Err(e) => Err(format!("{e:#}")),
    };
    judge_images(&mine, theirs, &env.pxe_kit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn partner_answers_or_not() {
        let ip: Ipv4Addr = "10.0.0.2".parse().unwrap();
        assert_eq!(judge_partner(ip, None, None, "pxe-kit").status, Status::Ok);
        let f = judge_partner(ip, None, Some("Connection refused".into()), "pxe-kit");
        assert_eq!(f.status, Status::Fail);
        assert!(f.summary.contains("tcp/647"), "{}", f.summary);
        let f = judge_partner(
            ip,
            Some("timed out".into()),
            Some("timed out".into()),
            "pxe-kit",
        );
        assert!(f.summary.contains("serves alone"), "{}", f.summary);
    }

    #[test]
    fn states_normal_forming_and_alone() {
        assert_eq!(
            judge_state(DhcpServer::Isc, Some("normal"), Some("normal")).status,
            Status::Ok
        );
        assert_eq!(
            judge_state(DhcpServer::Isc, Some("recover-wait"), None).status,
            Status::Warn
        );
        let f = judge_state(
            DhcpServer::Isc,
            Some("communications-interrupted"),
            Some("normal"),
        );
        assert_eq!(f.status, Status::Fail);
        assert!(f.fix[0].contains("partner-down"), "{:?}", f.fix);
        assert_eq!(
            judge_state(DhcpServer::Kea, Some("load-balancing"), None).status,
            Status::Ok
        );
        assert_eq!(
            judge_state(DhcpServer::Kea, Some("partner-down"), None).status,
            Status::Fail
        );
        assert_eq!(
            judge_state(DhcpServer::Isc, None, None).status,
            Status::Warn
        );
    }

    #[test]
    fn images_same_or_different() {
        let idx = |v: &[(&str, &str)]| Index {
            images: v
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        let a = idx(&[("f42", "aaaa"), ("deb", "bbbb")]);
        assert_eq!(
            judge_images(&a, Ok(a.clone()), "pxe-kit").status,
            Status::Ok
        );
        let f = judge_images(&a, Ok(idx(&[("f42", "cccc")])), "pxe-kit");
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.summary.contains("f42: differs") && f.summary.contains("deb: only here"),
            "{}",
            f.summary
        );
        assert_eq!(
            judge_images(&a, Err("no route".into()), "pxe-kit").status,
            Status::Warn
        );
    }
}
