//! Where `pxe-kit status` reads what the daemons said, for the tracker (`track`): on a systemd
//! host the journal (dhcpd and in.tftpd log through syslog) and httpd's pxe-kit access log;
//! where `serve` runs the daemons, the log it keeps under the root. The line formats are
//! parsed here (pure, with golden tests); reading goes through `Root` and `Runner`.
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use crate::ctx::Ctx;
use crate::runner::{Cmd, Kind};
use crate::track::{at_epoch, Tracker};

/// The log `serve` keeps of every daemon's lines: `EPOCH.MS WHO| TEXT`.
pub const SERVE_LOG: &str = "/var/log/pxe-kit/serve.log";

/// The syslog identifiers whose journal lines the tracker reads.
const JOURNAL_IDS: &[&str] = &["dhcpd", "in.tftpd", "kea-dhcp4", "dnsmasq-dhcp"];

/// The furthest back `status --since` reads: ten of humantime's years (`10y`), beyond any log
/// a server keeps; a longer span only overflows the clock arithmetic.
pub const MAX_SINCE: Duration = Duration::from_secs(315_576_000);

/// When `status --since BACK` starts reading, counted back from `now`; a span beyond
/// `MAX_SINCE` is refused by name.
pub fn since(now: SystemTime, back: Duration) -> Result<SystemTime> {
    let refuse = || {
        anyhow::anyhow!(
            "--since {} is out of range: give a duration from 0s to {} (such as 30m, 2h or 7days)",
            humantime::format_duration(back),
            humantime::format_duration(MAX_SINCE)
        )
    };
    if back > MAX_SINCE {
        return Err(refuse());
    }
    now.checked_sub(back).ok_or_else(refuse)
}

/// A log read whole, its bytes that are not UTF-8 replaced: a daemon may log a client's file
/// name as it came, and one such line must not hide the others.
fn read_log(ctx: &Ctx, path: &Path) -> Result<Option<String>> {
    Ok(ctx
        .root
        .read_opt(path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// One line of serve's log.
pub fn serve_log_line(at: SystemTime, who: &str, text: &str) -> String {
    let t = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    format!("{t:.3} {who}| {text}\n")
}

/// A line of serve's log: when, who, what.
pub fn parse_serve_log_line(line: &str) -> Option<(SystemTime, &str, &str)> {
    let (t, rest) = line.split_once(' ')?;
    let (who, text) = rest.split_once("| ")?;
    Some((at_epoch(t.parse().ok()?)?, who.trim(), text.trim_end()))
}

/// A line of `journalctl -o json`: when, the syslog identifier, the message. Messages that are
/// not UTF-8 come as arrays of bytes.
pub fn parse_journal_line(line: &str) -> Option<(SystemTime, String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let us: u64 = v["__REALTIME_TIMESTAMP"].as_str()?.parse().ok()?;
    let who = v["SYSLOG_IDENTIFIER"].as_str()?.to_string();
    let text = match &v["MESSAGE"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => {
            let b: Vec<u8> = bytes
                .iter()
                .filter_map(|x| x.as_u64().map(|n| n as u8))
                .collect();
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => return None,
    };
    Some((
        UNIX_EPOCH.checked_add(Duration::from_micros(us))?,
        who,
        text,
    ))
}

/// Where the lines came from, for the report.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub read: Vec<String>,
    pub missing: Vec<String>,
}

/// Feeds everything the daemons said since `since` into a tracker.
pub fn collect(ctx: &Ctx, since: SystemTime) -> Result<(Tracker, Sources)> {
    let mut tracker = Tracker::new();
    let mut src = Sources::default();
    let live_systemd = ctx.root.is_live() && ctx.systemd();
    if live_systemd {
        let epoch = since
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut argv = vec![
            "journalctl".to_string(),
            "--output=json".into(),
            "--no-pager".into(),
            format!("--since=@{epoch}"),
        ];
        for id in JOURNAL_IDS {
            argv.push(format!("--identifier={id}"));
        }
        let cmd = Cmd::new(Kind::Probe, "reading the daemons' journal", &argv);
        match ctx.runner.query(&cmd)? {
            Some(out) if out.success => {
                for l in out.stdout.lines() {
                    if let Some((at, who, text)) = parse_journal_line(l) {
                        tracker.feed(&who, &text, at);
                    }
                }
                src.read
                    .push(format!("the journal ({})", JOURNAL_IDS.join(", ")));
            }
            _ => src.missing.push("the journal (journalctl failed)".into()),
        }
        let profile = ctx.profile(ctx.load_config()?.as_ref());
        if let Some(log) = &profile.httpd_access_log {
            match read_log(ctx, log)? {
                Some(text) => {
                    // Each line carries its own start time: older ones are left out.
                    for l in text.lines() {
                        let recent = match crate::track::parse("httpd", l, since) {
                            Some(crate::track::Seen {
                                what: crate::track::What::Http { start, .. },
                                ..
                            }) => start.is_none_or(|s| s >= since),
                            _ => false,
                        };
                        if recent {
                            tracker.feed("httpd", l, since);
                        }
                    }
                    src.read.push(log.display().to_string());
                }
                None => src.missing.push(log.display().to_string()),
            }
        }
    } else {
        match read_log(ctx, Path::new(SERVE_LOG))? {
            Some(text) => {
                for l in text.lines() {
                    if let Some((at, who, text)) = parse_serve_log_line(l) {
                        if at >= since {
                            tracker.feed(who, text, at);
                        }
                    }
                }
                src.read
                    .push(ctx.root.path(Path::new(SERVE_LOG)).display().to_string());
            }
            None => src.missing.push(format!(
                "{} (written by `pxe-kit serve`)",
                ctx.root.path(Path::new(SERVE_LOG)).display()
            )),
        }
    }
    Ok((tracker, src))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_log_lines_round_trip() {
        let at = UNIX_EPOCH + Duration::from_millis(1_800_000_000_250);
        let l = serve_log_line(at, "tftpd", "RRQ from 10.0.0.5 filename pxelinux.0");
        assert_eq!(
            l,
            "1800000000.250 tftpd| RRQ from 10.0.0.5 filename pxelinux.0\n"
        );
        let (t, who, text) = parse_serve_log_line(l.trim_end()).unwrap();
        assert_eq!(
            (t, who, text),
            (at, "tftpd", "RRQ from 10.0.0.5 filename pxelinux.0")
        );
        assert_eq!(parse_serve_log_line("garbage"), None);
    }

    /// `nan` made `status` exit 101; so did any time `SystemTime` cannot hold.
    #[test]
    fn serve_log_lines_without_a_time_are_skipped() {
        for t in ["nan", "-1", "inf", "1e400", "1e19", "18446744073709551616"] {
            assert_eq!(
                parse_serve_log_line(&format!("{t} tftpd| RRQ")),
                None,
                "{t}"
            );
        }
        let far = r#"{"__REALTIME_TIMESTAMP":"18446744073709551615","SYSLOG_IDENTIFIER":"dhcpd","MESSAGE":"x"}"#;
        assert!(
            parse_journal_line(far).is_some(),
            "u64 microseconds fit SystemTime"
        );
    }

    /// `--since 500000000000y` made `status` exit 101.
    #[test]
    fn since_beyond_ten_years_is_refused_by_name() {
        let now = SystemTime::now();
        let e = since(now, Duration::from_secs(500_000_000_000 * 31_557_600))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--since 500000000000years") && e.contains("10years"),
            "{e}"
        );
        assert!(since(now, MAX_SINCE).is_ok());
        assert!(since(now, MAX_SINCE + Duration::from_secs(1)).is_err());
        assert!(since(UNIX_EPOCH, Duration::from_secs(3600)).is_ok());
    }

    #[test]
    fn journal_json_lines_give_time_identifier_and_message() {
        let l = r#"{"__REALTIME_TIMESTAMP":"1800000000123456","SYSLOG_IDENTIFIER":"dhcpd","MESSAGE":"DHCPACK on 10.0.0.100 to 52:54:00:12:34:56 via ens4","_PID":"812"}"#;
        let (t, who, text) = parse_journal_line(l).unwrap();
        assert_eq!(t, UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456));
        assert_eq!(who, "dhcpd");
        assert!(text.starts_with("DHCPACK on 10.0.0.100"));
        let bytes =
            r#"{"__REALTIME_TIMESTAMP":"1","SYSLOG_IDENTIFIER":"in.tftpd","MESSAGE":[82,82,81]}"#;
        assert_eq!(parse_journal_line(bytes).unwrap().2, "RRQ");
        assert_eq!(parse_journal_line("{}"), None);
    }
}
