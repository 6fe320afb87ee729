//! Per-machine boot: MAC address parsing and the pxelinux file names a client looks up
//! (`01-<mac>` then its IP address in upper-case hex), pure and unit-tested.
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// An Ethernet MAC address, accepted in the usual spellings and kept normalised
/// (`52:54:00:12:34:56`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac(pub [u8; 6]);

impl FromStr for Mac {
    type Err = anyhow::Error;
    /// Accepts `52:54:00:12:34:56`, `52-54-00-12-34-56`, `5254.0012.3456`, `525400123456`,
    /// any case; refuses anything else with the reason.
    fn from_str(s: &str) -> Result<Mac> {
        let t = s.trim();
        let hex: String = match (t.contains(':'), t.contains('-'), t.contains('.')) {
            (true, false, false) | (false, true, false) => {
                let parts: Vec<&str> = t.split([':', '-']).collect();
                if parts.len() != 6 || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
                    bail!("MAC address {s:?} must have six groups of two hex digits, e.g. 52:54:00:12:34:56");
                }
                parts.iter().map(|p| format!("{p:0>2}")).collect()
            }
            (false, false, true) => {
                let parts: Vec<&str> = t.split('.').collect();
                if parts.len() != 3 || parts.iter().any(|p| p.len() != 4) {
                    bail!("MAC address {s:?} in dotted form must be three groups of four hex digits, e.g. 5254.0012.3456");
                }
                parts.concat()
            }
            (false, false, false) => t.to_string(),
            _ => bail!("MAC address {s:?} mixes separators; use colons, dashes or dots"),
        };
        if hex.len() != 12 {
            bail!("MAC address {s:?} must have 12 hex digits, e.g. 52:54:00:12:34:56");
        }
        // Checked before slicing: twelve bytes of multi-byte characters would split one (a
        // panic), and from_str_radix would take `+1` for a byte.
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            bail!("MAC address {s:?} has a character that is not a hex digit");
        }
        let mut b = [0u8; 6];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
        if b == [0; 6] || b == [0xff; 6] {
            bail!("MAC address {s:?} is the null or broadcast address, not a network card's");
        }
        if b[0] & 1 == 1 {
            bail!("MAC address {s:?} is a multicast address (first octet is odd), not a network card's");
        }
        Ok(Mac(b))
    }
}

impl TryFrom<String> for Mac {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Mac> {
        s.parse()
    }
}

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Mac {
    /// pxelinux's per-MAC config name: ARP type 1 (Ethernet), lower case, dashes.
    pub fn pxelinux_name(&self) -> String {
        format!("01-{}", self.to_string().replace(':', "-"))
    }
}

/// pxelinux's per-address config name: the IPv4 address in upper-case hex.
pub fn hex_ip_name(ip: Ipv4Addr) -> String {
    format!("{:08X}", u32::from(ip))
}

/// True for names pxelinux looks up per client: `01-aa-bb-…` or eight hex digits.
pub fn is_per_client_name(name: &str) -> bool {
    let mac = name.len() == 20
        && name.starts_with("01-")
        && name[3..].split('-').all(|p| {
            p.len() == 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        });
    let ip = name.len() == 8
        && name
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c));
    mac || ip
}

/// One machine with its own boot entry (and, with a MAC and an address, a fixed lease).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub image: String,
}

impl Host {
    /// How the host is named in messages and on the command line.
    pub fn id(&self) -> String {
        match (self.mac, self.ip) {
            (Some(m), _) => m.to_string(),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => "(no MAC or address)".into(),
        }
    }

    /// The pxelinux.cfg file that serves this host: by MAC when known, else by address.
    pub fn pxelinux_name(&self) -> Option<String> {
        match (self.mac, self.ip) {
            (Some(m), _) => Some(m.pxelinux_name()),
            (None, Some(ip)) => Some(hex_ip_name(ip)),
            (None, None) => None,
        }
    }

    /// Name of the dhcpd `host` block: the hostname, else one derived from the MAC.
    pub fn dhcp_name(&self) -> Option<String> {
        let mac = self.mac?;
        Some(match &self.hostname {
            Some(h) => h.clone(),
            None => format!("pxk-{}", mac.to_string().replace(':', "")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_spellings_normalise() {
        for s in [
            "52:54:00:12:34:56",
            "52-54-00-12-34-56",
            "5254.0012.3456",
            "525400123456",
            "52:54:00:12:34:56 ",
            "52:54:0:12:34:56",
        ] {
            assert_eq!(
                s.parse::<Mac>().unwrap().to_string(),
                "52:54:00:12:34:56",
                "{s}"
            );
        }
        assert_eq!(
            "AA:BB:CC:DD:EE:FE".parse::<Mac>().unwrap().to_string(),
            "aa:bb:cc:dd:ee:fe"
        );
    }

    #[test]
    fn bad_macs_say_why() {
        for (s, why) in [
            ("52:54:00:12:34", "six groups"),
            ("52:54:00:12:34:5g", "not a hex digit"),
            ("52:54-00:12:34:56", "mixes separators"),
            ("01:00:5e:00:00:01", "multicast"),
            ("00:00:00:00:00:00", "null or broadcast"),
            ("ff:ff:ff:ff:ff:ff", "null or broadcast"),
            ("5254.0012.345", "three groups"),
            ("52540012345", "12 hex digits"),
            ("", "12 hex digits"),
            // Twelve bytes, not twelve digits: sliced in half a character, it panicked.
            ("\u{10000}\u{10000}0A0A", "not a hex digit"),
            ("éé:00:12:34:56", "six groups"),
            ("éé.0012.3456", "not a hex digit"),
            ("+1+1+1+1+1+1", "not a hex digit"),
        ] {
            let e = s.parse::<Mac>().unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn pxelinux_names() {
        let m: Mac = "52:54:00:AB:34:56".parse().unwrap();
        assert_eq!(m.pxelinux_name(), "01-52-54-00-ab-34-56");
        assert_eq!(hex_ip_name("10.0.0.50".parse().unwrap()), "0A000032");
        assert!(is_per_client_name("01-52-54-00-ab-34-56"));
        assert!(is_per_client_name("0A000032"));
        assert!(!is_per_client_name("default"));
        assert!(!is_per_client_name("0a000032"));
    }
}
