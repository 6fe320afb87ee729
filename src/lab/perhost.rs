//! Which image a lab boot of one MAC boots. A MAC that `add-host` configured boots its own
//! per-machine entry, through the pxelinux file `init` wrote for it: the lab then writes no
//! file of its own (it would overwrite that file and delete it afterwards), so the boot proves
//! the per-machine path itself.
use anyhow::{bail, Result};

use crate::config::Config;
use crate::host::Mac;

/// The image to boot and whether a configured host's own pxelinux file serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub image: String,
    pub host_file: bool,
}

/// `image` is `--image`, if given; else the host's image, else the menu default.
pub fn choose(cfg: &Config, mac: &str, image: Option<&str>) -> Result<Choice> {
    let mac: Option<Mac> = mac.parse().ok();
    let host = cfg.hosts.iter().find(|h| h.mac.is_some() && h.mac == mac);
    match (host, image) {
        (Some(h), Some(i)) if i != h.image => bail!(
            "MAC {} is a configured host that boots image {} (add-host); the lab will not overwrite its pxelinux file: drop --image, or boot another --mac",
            h.id(),
            h.image
        ),
        (Some(h), _) => Ok(Choice {
            image: h.image.clone(),
            host_file: true,
        }),
        (None, i) => Ok(Choice {
            image: i.map(String::from).unwrap_or_else(|| cfg.boot.default.clone()),
            host_file: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;

    fn cfg() -> Config {
        let y = "interface: br0\nserver_ip: 10.77.0.1\nsubnet: 10.77.0.0/24\nrange: 10.77.0.100-10.77.0.200\nboot:\n  default: local\n";
        let mut c = Config::load(std::path::Path::new("x.yaml"), y).unwrap();
        c.hosts.push(Host {
            mac: Some("52:54:00:77:00:20".parse().unwrap()),
            ip: Some("10.77.0.50".parse().unwrap()),
            hostname: None,
            image: "terminal".into(),
        });
        c
    }

    #[test]
    fn a_configured_mac_boots_its_own_entry() {
        let c = cfg();
        let want = Choice {
            image: "terminal".into(),
            host_file: true,
        };
        assert_eq!(choose(&c, "52-54-00-77-00-20", None).unwrap(), want);
        assert_eq!(
            choose(&c, "52:54:00:77:00:20", Some("terminal")).unwrap(),
            want
        );
        let e = choose(&c, "52:54:00:77:00:20", Some("demo")).unwrap_err();
        assert!(e.to_string().contains("boots image terminal"), "{e}");
    }

    #[test]
    fn other_macs_boot_the_given_image_or_the_default() {
        let c = cfg();
        assert_eq!(
            choose(&c, "52:54:00:77:00:10", None).unwrap(),
            Choice {
                image: "local".into(),
                host_file: false
            }
        );
        assert_eq!(
            choose(&c, "52:54:00:77:00:10", Some("demo")).unwrap().image,
            "demo"
        );
    }
}
