//! Hosts in bulk, for racks and clusters: hostlist ranges as HPC tools write them
//! (`node[001-500]`, `rack[1-2]-n[01-16]`, `a,b[3,5-7]`) with consecutive addresses and MACs,
//! and CSV files (`mac,hostname,ip,image`). Pure: text in, hosts out; add-host validates the
//! whole batch and applies it in one converge.
//!
//! The hostlist syntax is expanded here rather than with the `hostlist` crate, whose last
//! release pulls nom 6 and clap 2 for a forty-line job.
use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};

use crate::host::{Host, Mac};

/// How many names one hostlist may expand to.
pub const MAX_HOSTS: usize = 65_536;

/// The longest name a hostlist may make: a host name's label (see `config::valid_hostname`).
const MAX_NAME: usize = 63;

/// Expands a hostlist into names, in order.
pub fn expand_hostlist(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for part in split_top(s)? {
        let mut names = vec![String::new()];
        // The longest name so far: checked before names are built, like their count, so a
        // hostile list is refused before it costs memory.
        let mut longest = 0;
        let mut rest = part.as_str();
        while !rest.is_empty() {
            let (lit, after) = match rest.find('[') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            longest += lit.len();
            if longest > MAX_NAME {
                bail!("hostlist {s:?} makes names longer than {MAX_NAME} characters");
            }
            for n in &mut names {
                n.push_str(lit);
            }
            let Some(after) = after else { break };
            let close = after
                .find(']')
                .with_context(|| format!("hostlist {s:?}: a [ without its ]"))?;
            let items = range_items(s, &after[..close])?;
            longest += items.iter().map(String::len).max().unwrap_or(0);
            if longest > MAX_NAME {
                bail!("hostlist {s:?} makes names longer than {MAX_NAME} characters");
            }
            // `a[1-60000]b[1-60000]` would make 3.6 billion names before a later check.
            if names.len().saturating_mul(items.len()) > MAX_HOSTS {
                bail!("hostlist {s:?} expands to more than {MAX_HOSTS} names");
            }
            names = names
                .iter()
                .flat_map(|n| items.iter().map(move |i| format!("{n}{i}")))
                .collect();
            rest = &after[close + 1..];
        }
        if out.len() + names.len() > MAX_HOSTS {
            bail!("hostlist {s:?} expands to more than {MAX_HOSTS} names");
        }
        out.extend(names);
    }
    if out.iter().any(|n| n.is_empty() || n.contains(['[', ']'])) {
        bail!("hostlist {s:?} has an empty name or a stray bracket");
    }
    Ok(out)
}

/// Splits at commas outside brackets.
fn split_top(s: &str) -> Result<Vec<String>> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in s.trim().chars() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => bail!("hostlist {s:?}: a ] without its ["),
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if depth != 0 {
        bail!("hostlist {s:?}: a [ without its ]");
    }
    parts.push(cur);
    Ok(parts)
}

/// `001-010,15` inside brackets: numbers keep the width of the range's first bound.
fn range_items(s: &str, body: &str) -> Result<Vec<String>> {
    let mut v = Vec::new();
    for item in body.split(',') {
        let item = item.trim();
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let bad =
            || anyhow::anyhow!("hostlist {s:?}: {item:?} is not a number or a range like 001-100");
        // Twenty digits hold any u64; more would only be zeros padding every name.
        if a.is_empty()
            || a.len() > 20
            || b.len() > 20
            || !a.chars().all(|c| c.is_ascii_digit())
            || !b.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let (lo, hi): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if hi < lo {
            bail!("hostlist {s:?}: range {item:?} runs backwards");
        }
        if hi - lo >= (MAX_HOSTS - v.len()) as u64 {
            bail!("hostlist {s:?}: one [ ] holds more than {MAX_HOSTS} numbers");
        }
        let width = if a.len() > 1 && a.starts_with('0') {
            a.len()
        } else {
            0
        };
        v.extend((lo..=hi).map(|n| format!("{n:0width$}")));
    }
    Ok(v)
}

/// `count` consecutive addresses from `first`; with `first-last`, the range must hold exactly
/// that many.
pub fn addresses(spec: &str, count: usize) -> Result<Vec<Ipv4Addr>> {
    let (a, b) = match spec.split_once('-') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (spec.trim(), None),
    };
    let first: Ipv4Addr = crate::config::parse_ip("first address", a)?;
    let start = u32::from(first);
    if let Some(b) = b {
        let last = u32::from(crate::config::parse_ip("last address", b)?);
        let n = u64::from(last.saturating_sub(start)) + 1;
        if last < start || n != count as u64 {
            bail!(
                "address range {spec} holds {} addresses for {count} names; give a range of exactly {count}, or the first address alone",
                if last < start { 0 } else { n }
            );
        }
    }
    (0..count as u32)
        .map(|i| {
            start
                .checked_add(i)
                .map(Ipv4Addr::from)
                .with_context(|| format!("{count} addresses from {first} run past 255.255.255.255"))
        })
        .collect()
}

/// `count` consecutive MACs from `first` (counting in the last three bytes).
pub fn macs(first: &str, count: usize) -> Result<Vec<Mac>> {
    let m: Mac = first.parse()?;
    let base = u32::from_be_bytes([0, m.0[3], m.0[4], m.0[5]]);
    if base as usize + count > 1 << 24 {
        bail!("{count} MACs from {m} run past its last three bytes; start lower");
    }
    Ok((0..count as u32)
        .map(|i| {
            let [_, a, b, c] = (base + i).to_be_bytes();
            Mac([m.0[0], m.0[1], m.0[2], a, b, c])
        })
        .collect())
}

/// Hosts from a hostlist of names, with addresses (and MACs) counted up from the first.
pub fn from_hostlist(
    names: &str,
    ips: Option<&str>,
    first_mac: Option<&str>,
    image: &str,
) -> Result<Vec<Host>> {
    let names = expand_hostlist(names)?;
    let ips = ips.map(|s| addresses(s, names.len())).transpose()?;
    let macs = first_mac.map(|m| macs(m, names.len())).transpose()?;
    if ips.is_none() && macs.is_none() {
        bail!("hosts from a hostlist need --ips FIRST[-LAST] or --macs FIRST (or both) to tell the machines apart");
    }
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, n)| Host {
            mac: macs.as_ref().map(|m| m[i]),
            ip: ips.as_ref().map(|v| v[i]),
            hostname: Some(n),
            image: image.to_string(),
        })
        .collect())
}

/// Hosts from CSV: `mac,hostname,ip,image` per line (a header line naming the columns is
/// allowed, and then the columns may come in any order); empty fields are left out; `image`
/// may be empty when `default_image` is given.
pub fn from_csv(text: &str, default_image: Option<&str>) -> Result<Vec<Host>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut cols = ["mac", "hostname", "ip", "image"]
        .map(String::from)
        .to_vec();
    let mut hosts = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("CSV line {}", n + 1))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(n as u64 + 1);
        if n == 0
            && rec
                .iter()
                .any(|f| f.eq_ignore_ascii_case("mac") || f.eq_ignore_ascii_case("hostname"))
        {
            cols = rec.iter().map(|f| f.to_ascii_lowercase()).collect();
            if let Some(c) = cols
                .iter()
                .find(|c| !["mac", "hostname", "ip", "image"].contains(&c.as_str()))
            {
                bail!("CSV header names column {c:?}; the columns are mac, hostname, ip, image");
            }
            continue;
        }
        let get = |name: &str| {
            cols.iter()
                .position(|c| c == name)
                .and_then(|i| rec.get(i))
                .filter(|v| !v.is_empty())
        };
        let at = |e: anyhow::Error| e.context(format!("CSV line {line}"));
        let mac = get("mac").map(str::parse::<Mac>).transpose().map_err(at)?;
        let ip = get("ip")
            .map(|s| crate::config::parse_ip("address", s))
            .transpose()
            .map_err(at)?;
        let image = match (get("image"), default_image) {
            (Some(i), _) => i.to_string(),
            (None, Some(d)) => d.to_string(),
            (None, None) => bail!("CSV line {line} names no image; add the column or pass --image"),
        };
        if mac.is_none() && ip.is_none() {
            bail!("CSV line {line} has neither a MAC nor an address");
        }
        hosts.push(Host {
            mac,
            ip,
            hostname: get("hostname").map(String::from),
            image,
        });
    }
    if hosts.is_empty() {
        bail!("the CSV file lists no host");
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostlists_expand_like_slurms() {
        assert_eq!(
            expand_hostlist("node[01-03]").unwrap(),
            ["node01", "node02", "node03"]
        );
        assert_eq!(
            expand_hostlist("r[1-2]-n[8-9],login").unwrap(),
            ["r1-n8", "r1-n9", "r2-n8", "r2-n9", "login"]
        );
        assert_eq!(
            expand_hostlist("a[1,3,5-6]").unwrap(),
            ["a1", "a3", "a5", "a6"]
        );
        assert_eq!(expand_hostlist("node[001-500]").unwrap().len(), 500);
        assert_eq!(expand_hostlist("node[001-500]").unwrap()[499], "node500");
        assert_eq!(expand_hostlist("plain").unwrap(), ["plain"]);
        for bad in [
            "node[1-",
            "node]1[",
            "node[3-1]",
            "node[a-b]",
            "n[1-2],,x",
            "n[]",
        ] {
            assert!(expand_hostlist(bad).is_err(), "{bad}");
        }
        assert!(expand_hostlist("n[0-99999999]").is_err());
    }

    /// Counted before built: the old code made 3.6 billion names for the first of these, and
    /// names 65 536 characters long for the last.
    #[test]
    fn hostlists_are_bounded_before_they_are_built() {
        for (bad, why) in [
            ("a[1-60000]b[1-60000]", "more than 65536 names"),
            ("a[1-40000],b[1-40000]", "more than 65536 names"),
            ("a[1-40000,1-40000]", "more than 65536 numbers"),
            (&format!("{}[1-2]", "n".repeat(70)), "longer than 63"),
            (&format!("n[{}1-2]", "0".repeat(1 << 16)), "not a number"),
        ] {
            let e = expand_hostlist(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        assert_eq!(expand_hostlist("n[1-256]x[1-256]").unwrap().len(), 65_536);
    }

    #[test]
    fn addresses_and_macs_count_up() {
        let a = addresses("10.0.1.254", 3).unwrap();
        assert_eq!(a[2], "10.0.2.0".parse::<Ipv4Addr>().unwrap());
        assert!(addresses("10.0.1.1-10.0.1.3", 3).is_ok());
        let e = addresses("10.0.1.1-10.0.1.9", 3).unwrap_err().to_string();
        assert!(e.contains("holds 9 addresses for 3 names"), "{e}");
        let m = macs("52:54:00:00:00:ff", 2).unwrap();
        assert_eq!(m[1].to_string(), "52:54:00:00:01:00");
        assert!(macs("52:54:00:ff:ff:ff", 2).is_err());
    }

    #[test]
    fn hostlists_become_hosts() {
        let h = from_hostlist(
            "n[1-2]",
            Some("10.0.0.10"),
            Some("52:54:00:00:00:01"),
            "img",
        )
        .unwrap();
        assert_eq!(h[1].hostname.as_deref(), Some("n2"));
        assert_eq!(h[1].ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(h[1].mac.unwrap().to_string(), "52:54:00:00:00:02");
        assert!(from_hostlist("n[1-2]", None, None, "img").is_err());
    }

    #[test]
    fn csv_with_or_without_header() {
        let h = from_csv(
            "52:54:00:00:00:01,n1,10.0.0.10,img\n# a comment\n52-54-00-00-00-02, n2 ,,\n",
            Some("dflt"),
        )
        .unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].image, "dflt");
        assert_eq!(h[1].ip, None);
        assert_eq!(h[1].hostname.as_deref(), Some("n2"));
        let h = from_csv("ip,image,hostname\n10.0.0.5,img,x\n", None).unwrap();
        assert_eq!(
            (h[0].mac, h[0].ip),
            (None, Some("10.0.0.5".parse().unwrap()))
        );
        let e = from_csv("mac,rack\n", None).unwrap_err().to_string();
        assert!(e.contains("\"rack\""), "{e}");
        let e = from_csv("52:54:00:00:00:01,n1,10.0.0.999,img\n", None).unwrap_err();
        assert!(format!("{e:#}").contains("CSV line 1"), "{e:#}");
        assert!(
            from_csv("52:54:00:00:00:01,n1,,\n", None).is_err(),
            "no image"
        );
    }
}
