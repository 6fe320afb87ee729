//! The network's own DHCP server, for labs whose settings say `dhcp.mode: proxy`: an ISC
//! dhcpd with no PXE options and its own pool (the settings' `range`, which pxe-kit leaves
//! alone in proxy mode), in a namespace of its own whose veth is a port of the lab's bridge.
//! It gives the VM its address; pxe-kit's proxyDHCP gives the boot file. Its lines reach the
//! timeline as `office`.
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::lab::netns::Netns;
use crate::root::Root;
use crate::runner::{find_program, Runner};
use crate::serve::supervise::{Spec, Supervisor};

/// The supervisor name of the office server, and the name its lines carry.
pub const WHO: &str = crate::track::OFFICE;
/// The veth pair between the lab's bridge and the office namespace.
const PORT: &str = "pxk-office0";
const PEER: &str = "pxk-office1";

/// The office server's address: the subnet's first host that is neither pxe-kit's address
/// nor in the pool.
pub fn address(cfg: &Config) -> Option<Ipv4Addr> {
    let net = cfg.subnet;
    (u32::from(net.network()) + 1..u32::from(net.broadcast()))
        .map(Ipv4Addr::from)
        .find(|a| *a != cfg.server_ip && !cfg.range.contains(*a))
}

/// dhcpd.conf of a plain office network: addresses from the pool, no next-server, no boot
/// file, nothing for PXE.
pub fn dhcpd_conf(cfg: &Config) -> String {
    let net = cfg.subnet;
    format!(
        "# The lab's stand-in for the network's own DHCP server: no PXE options.\n\
         ddns-update-style none;\n\
         default-lease-time 600;\n\
         max-lease-time 1200;\n\
         authoritative;\n\
         ping-check false;\n\
         subnet {} netmask {} {{\n    range {} {};\n    option subnet-mask {};\n}}\n",
        net.network(),
        net.netmask(),
        cfg.range.start,
        cfg.range.end,
        net.netmask()
    )
}

/// Creates the office namespace on `lab`'s bridge and starts its dhcpd under `sup`, its
/// files in `dir`.
pub fn start(
    runner: Runner,
    lab: &Netns,
    cfg: &Config,
    sup: &mut Supervisor,
    dir: &Path,
) -> Result<Netns> {
    let Some(addr) = address(cfg) else {
        bail!(
            "subnet {} has no address left for the lab's office DHCP server beside {} and the range {}",
            cfg.subnet,
            cfg.server_ip,
            cfg.range
        );
    };
    let dhcpd = find_program("dhcpd").context(
        "the lab stands in for the network's DHCP server with ISC dhcpd; apt-get install -y isc-dhcp-server",
    )?;
    let office = Netns::empty(runner, true)?;
    lab.ip(
        "creating the office DHCP server's port",
        &[
            "link",
            "add",
            PORT,
            "type",
            "veth",
            "peer",
            "name",
            PEER,
            "netns",
            &office.name,
        ],
    )?;
    lab.ip(
        "attaching the office port to the lab bridge",
        &["link", "set", PORT, "master", &cfg.interface, "up"],
    )?;
    let cidr = format!("{addr}/{}", cfg.subnet.prefix_len());
    office.ip(
        "giving the office server its address",
        &["addr", "add", &cidr, "dev", PEER],
    )?;
    office.ip("bringing up the office port", &["link", "set", PEER, "up"])?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let files = Root::new(dir, false, Default::default())?;
    files.write(Path::new("/dhcpd.conf"), dhcpd_conf(cfg).as_bytes(), 0o644)?;
    files.write(Path::new("/dhcpd.leases"), b"", 0o644)?;
    let p = |f: &str| dir.join(f).display().to_string();
    let argv = office.exec_argv(&[
        dhcpd.as_str(),
        "-4",
        "-f",
        "-d",
        "-cf",
        &p("dhcpd.conf"),
        "-lf",
        &p("dhcpd.leases"),
        "-pf",
        &p("dhcpd.pid"),
        PEER,
    ]);
    sup.spawn(&Spec::new(WHO, &argv))?;
    Ok(office)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_office_server_has_its_own_address_and_no_pxe_options() {
        let y = crate::lab::demo::settings_yaml_mode(crate::config::DhcpServer::Isc, true);
        let cfg = Config::load(Path::new("x.yaml"), &y).unwrap();
        assert_eq!(address(&cfg), Some(Ipv4Addr::new(10, 77, 0, 2)));
        let c = dhcpd_conf(&cfg);
        assert!(c.contains("range 10.77.0.100 10.77.0.200;"), "{c}");
        for pxe in ["next-server", "filename", "PXEClient"] {
            assert!(!c.contains(pxe), "{c}");
        }
    }
}
