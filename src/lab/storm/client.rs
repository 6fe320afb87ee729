//! The storm's simulated machines, run inside the client side of the storm's network (`pxe-kit
//! lab storm-clients`, started there by `lab storm`). Each behaves like a PXE boot: DHCP from
//! its own MAC with the options a PXE ROM sends (60 PXEClient, 93 architecture, 97 UUID, 61 as
//! iPXE), its loader and the loader's own files over TFTP with the options a ROM negotiates,
//! the kernel and initramfs, the initramfs's own DHCP (with a client identifier unlike the
//! firmware's), then the root image over HTTP, every fetch from the machine's leased address.
//! Packets come from dhcproto, transfers from pxe-kit's TFTP and HTTP clients.
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use dhcproto::v4::{
    Architecture, Decodable, Decoder, DhcpOption, Encodable, Encoder, Flags, Message, MessageType,
    OptionCode,
};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::runner::{Cmd, Kind, Runner};
use crate::tftp::{self, TftpOptions};

/// What every simulated machine does, decided by `lab storm` and handed over as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The client side's interface, and the address it holds besides the leases (the
    /// simulator's DHCP socket sends from it).
    pub interface: String,
    pub helper: Ipv4Net,
    pub server: Ipv4Addr,
    pub clients: u32,
    /// Machines powered on per second.
    pub rate: f64,
    /// Share of UEFI machines, in percent; the rest are BIOS.
    pub uefi_percent: u32,
    /// The first three bytes of every MAC (a locally administered prefix).
    pub mac_prefix: [u8; 3],
    /// Files each loader fetches over TFTP after itself, in order; `{uuid}`-style probes of
    /// pxelinux are added per machine.
    pub bios_files: Vec<String>,
    pub bios_menu: String,
    /// The menu's own modules, fetched after it (menu.c32 and its libraries).
    pub bios_modules: Vec<String>,
    pub uefi_files: Vec<String>,
    /// The image's kernel and initramfs: URLs (HTTP transfer) or TFTP paths.
    pub kernel: String,
    pub initrd: String,
    pub root_url: String,
    /// Seconds after which every machine still booting gives up.
    pub deadline_secs: f64,
    /// A machine whose boot fails powers on again a second later (a firmware that falls back
    /// to the network, a watchdog, an operator), until the deadline: the pair's storm, where
    /// machines caught by a dying server must finish on the survivor.
    #[serde(default)]
    pub reboot_on_failure: bool,
}

/// One fetch or exchange of one machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageTime {
    pub stage: String,
    /// Seconds since the machine powered on.
    pub start: f64,
    pub secs: f64,
    pub bytes: u64,
}

/// How one machine's boot went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientResult {
    pub mac: String,
    pub uefi: bool,
    /// Power-on, seconds since the Unix epoch.
    pub start: f64,
    pub stages: Vec<StageTime>,
    /// The firmware's lease and the initramfs's.
    pub ip: Option<Ipv4Addr>,
    pub ip2: Option<Ipv4Addr>,
    /// DISCOVERs the firmware sent before an OFFER came.
    pub discovers: u32,
    /// Seconds from the first power-on to the root image, when it got there (reboots
    /// included).
    pub booted: Option<f64>,
    /// The last power-on, seconds since the Unix epoch (`start` unless it rebooted); its
    /// stages' `start` count from here.
    #[serde(default)]
    pub boot_start: f64,
    pub failed_at: Option<String>,
    pub error: Option<String>,
    /// The server whose DHCP answer (next-server) the last boot followed: every fetch of that
    /// boot went to it.
    #[serde(default)]
    pub server: Option<Ipv4Addr>,
    /// Boots that failed before the last one (with `reboot_on_failure`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarts: Vec<Restart>,
}

/// One failed boot of a machine that powered on again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Restart {
    /// When it failed, seconds since the Unix epoch.
    pub at: f64,
    pub server: Option<Ipv4Addr>,
    pub failed_at: String,
    pub error: String,
}

/// The stage names, in boot order.
pub const STAGES: &[&str] = &["dhcp", "loader", "kernel+initrd", "dhcp-initramfs", "root"];

/// A machine's identity: MAC, architecture, SMBIOS UUID.
#[derive(Debug, Clone)]
struct Machine {
    mac: [u8; 6],
    uefi: bool,
    uuid: [u8; 16],
}

impl Machine {
    fn new(plan: &Plan, i: u32) -> Machine {
        let p = plan.mac_prefix;
        let mac = [p[0], p[1], p[2], (i >> 16) as u8, (i >> 8) as u8, i as u8];
        // Spread UEFI machines evenly through the sequence: i * share crosses a multiple of
        // 100 exactly `uefi_percent` times per hundred machines.
        let share = plan.uefi_percent;
        let uefi = (i + 1) * share / 100 != i * share / 100;
        let mut uuid = [0u8; 16];
        uuid[..4].copy_from_slice(b"pxkS");
        uuid[10..].copy_from_slice(&mac);
        Machine { mac, uefi, uuid }
    }

    fn mac_str(&self) -> String {
        self.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    fn uuid_str(&self) -> String {
        let h = hex::encode(self.uuid);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

/// The client identifier (option 61) iPXE sends: hardware type 1 (Ethernet) and the MAC.
fn firmware_client_id(m: &Machine) -> Vec<u8> {
    [&[1u8][..], &m.mac[..]].concat()
}

/// The client identifier the initramfs's DHCP client sends: an RFC 4361 identifier (0xff,
/// a 4-byte IAID, a DUID-LL of the MAC), as systemd-networkd does by default and
/// NetworkManager with `dhcp-client-id=duid`. It differs from the firmware's, so a server
/// that keys leases on client identifiers holds two leases per machine (Warewulf issue 802).
fn initramfs_client_id(m: &Machine) -> Vec<u8> {
    let mut id = vec![0xff];
    id.extend_from_slice(&m.mac[2..]);
    id.extend_from_slice(&[0x00, 0x03, 0x00, 0x01]);
    id.extend_from_slice(&m.mac);
    id
}

/// The DISCOVER or REQUEST a PXE ROM (firmware) or the initramfs's DHCP client sends.
fn request(
    m: &Machine,
    xid: u32,
    kind: MessageType,
    firmware: bool,
    offer: Option<&Message>,
) -> Message {
    let mut msg = Message::new_with_id(
        xid,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &m.mac,
    );
    // Answers are broadcast: the simulator hears every machine's on one socket.
    msg.set_flags(Flags::default().set_broadcast());
    let o = msg.opts_mut();
    o.insert(DhcpOption::MessageType(kind));
    o.insert(DhcpOption::MaxMessageSize(1260));
    if firmware {
        let arch = if m.uefi { 7 } else { 0 };
        let class = if m.uefi {
            "PXEClient:Arch:00007:UNDI:003016"
        } else {
            "PXEClient:Arch:00000:UNDI:002001"
        };
        o.insert(DhcpOption::ClassIdentifier(class.as_bytes().to_vec()));
        o.insert(DhcpOption::ClientSystemArchitecture(Architecture::from(
            arch,
        )));
        let mut id = vec![0u8];
        id.extend_from_slice(&m.uuid);
        o.insert(DhcpOption::ClientMachineIdentifier(id));
        // iPXE (the ROM of most lab and virtual NICs) names itself: type 1 and the MAC.
        o.insert(DhcpOption::ClientIdentifier(firmware_client_id(m)));
        o.insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::Hostname,
            OptionCode::ClassIdentifier,
            OptionCode::TFTPServerName,
            OptionCode::BootfileName,
        ]));
    } else {
        o.insert(DhcpOption::ClientIdentifier(initramfs_client_id(m)));
        o.insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::Hostname,
            OptionCode::DomainSearch,
        ]));
    }
    if let Some(off) = offer {
        o.insert(DhcpOption::RequestedIpAddress(off.yiaddr()));
        if let Some(DhcpOption::ServerIdentifier(s)) = off.opts().get(OptionCode::ServerIdentifier)
        {
            o.insert(DhcpOption::ServerIdentifier(*s));
        }
    }
    msg
}

/// The simulator's one DHCP socket: replies are handed to the machine waiting for their xid.
struct Dhcp {
    sock: UdpSocket,
    waiting: Mutex<HashMap<u32, Sender<Message>>>,
    stop: AtomicBool,
}

impl Dhcp {
    fn open(interface: &str) -> Result<Arc<Dhcp>> {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
            .context("creating the DHCP socket")?;
        s.set_reuse_address(true)?;
        s.set_broadcast(true)?;
        s.bind_device(Some(interface.as_bytes()))
            .with_context(|| format!("binding the DHCP socket to {interface}"))?;
        s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 68)).into())
            .context("binding udp/68 (is another DHCP client running in the storm's namespace?)")?;
        // Hundreds of machines answered at once: room for their replies.
        let _ = s.set_recv_buffer_size(8 << 20);
        let sock: UdpSocket = s.into();
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        let d = Arc::new(Dhcp {
            sock,
            waiting: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        let r = d.clone();
        std::thread::spawn(move || r.receive());
        Ok(d)
    }

    fn receive(&self) {
        let mut buf = vec![0u8; 1500];
        while !self.stop.load(Ordering::Relaxed) {
            let n = match self.sock.recv(&mut buf) {
                Ok(n) => n,
                Err(_) => continue,
            };
            let Ok(msg) = Message::decode(&mut Decoder::new(&buf[..n])) else {
                continue;
            };
            if let Some(tx) = self.waiting.lock().expect("lock").get(&msg.xid()) {
                let _ = tx.send(msg);
            }
        }
    }

    /// Sends `msg` and waits for a reply of type `want`, retransmitting after each of
    /// `schedule`'s intervals (a PXE ROM waits 4, 8, 16 and 32 s). Returns the reply and how
    /// many times it was sent.
    fn exchange(
        &self,
        msg: &Message,
        want: MessageType,
        schedule: &[Duration],
        begun: Instant,
        deadline: Instant,
    ) -> Result<(Message, u32)> {
        let (tx, rx): (Sender<Message>, Receiver<Message>) = channel();
        self.waiting.lock().expect("lock").insert(msg.xid(), tx);
        let to = SocketAddr::from((Ipv4Addr::BROADCAST, 67));
        let result = (|| {
            for (n, wait) in schedule.iter().enumerate() {
                // `secs`: how long the client has been trying, as PXE ROMs and dhclient
                // fill it in. Failover servers read it: past a few seconds either member
                // of a pair answers (dhcpd's load balance max seconds, Kea's unacked
                // clients that tell a dead partner from a quiet one).
                let mut m = msg.clone();
                m.set_secs(begun.elapsed().as_secs().min(u64::from(u16::MAX)) as u16);
                let mut bytes = Vec::new();
                m.encode(&mut Encoder::new(&mut bytes))
                    .context("encoding a DHCP message")?;
                self.sock.send_to(&bytes, to).context("sending DHCP")?;
                let until = (Instant::now() + *wait).min(deadline);
                while let Some(left) = until.checked_duration_since(Instant::now()) {
                    match rx.recv_timeout(left) {
                        Ok(r) if r.opts().msg_type() == Some(want) => return Ok((r, n as u32 + 1)),
                        Ok(r) if r.opts().msg_type() == Some(MessageType::Nak) => {
                            bail!("DHCPNAK")
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            bail!("no DHCP{:?} after {} tries", want, schedule.len())
        })();
        self.waiting.lock().expect("lock").remove(&msg.xid());
        result
    }
}

/// The DHCP retransmission schedule of a PXE ROM (PXE 2.1) and of dhclient in an initramfs.
const PXE_SCHEDULE: [Duration; 4] = [
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(32),
];
/// How long a machine whose boot failed stays off before it powers on again.
const REBOOT_AFTER: Duration = Duration::from_secs(1);

const INITRAMFS_SCHEDULE: [Duration; 3] = [
    Duration::from_secs(3),
    Duration::from_secs(6),
    Duration::from_secs(12),
];

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Gives the client side the leased address, so fetches can come from it; an address added
/// before (the initramfs's lease equal to the firmware's, another machine's) is kept.
fn add_address(interface: &str, ip: Ipv4Addr, prefix: u8) -> Result<()> {
    static ADDED: Mutex<Vec<Ipv4Addr>> = Mutex::new(Vec::new());
    if ADDED.lock().expect("lock").contains(&ip) {
        return Ok(());
    }
    let runner = Runner::new(true, false, Default::default());
    let addr = format!("{ip}/{prefix}");
    let cmd = Cmd::new(
        Kind::Check,
        "giving a simulated machine its address",
        &["ip", "addr", "add", &addr, "dev", interface],
    );
    let out = runner.query(&cmd)?.expect("checks run");
    if !out.success
        && !out.stderr.contains("already assigned")
        && !out.stderr.contains("File exists")
    {
        bail!(crate::runner::failure(&cmd, &out));
    }
    ADDED.lock().expect("lock").push(ip);
    Ok(())
}

/// One machine from power-on to its root image.
struct Boot<'a> {
    plan: &'a Plan,
    dhcp: &'a Dhcp,
    m: Machine,
    t0: Instant,
    /// The first power-on.
    first: Instant,
    deadline: Instant,
    /// The file the firmware's DHCP answer named (its loader).
    boot_file: String,
    /// The server that answered the firmware (its next-server): the whole chain follows it.
    server: Ipv4Addr,
    r: ClientResult,
}

/// Tags an error with the stage it ended the boot in.
fn at(stage: &'static str) -> impl Fn(anyhow::Error) -> (&'static str, anyhow::Error) {
    move |e| (stage, e)
}

impl<'a> Boot<'a> {
    fn new(plan: &'a Plan, dhcp: &'a Dhcp, i: u32, deadline: Instant) -> Boot<'a> {
        let m = Machine::new(plan, i);
        let now = epoch(SystemTime::now());
        Boot {
            plan,
            dhcp,
            r: ClientResult {
                mac: m.mac_str(),
                uefi: m.uefi,
                start: now,
                boot_start: now,
                stages: Vec::new(),
                ip: None,
                ip2: None,
                discovers: 0,
                booted: None,
                failed_at: None,
                error: None,
                server: None,
                restarts: Vec::new(),
            },
            m,
            t0: Instant::now(),
            first: Instant::now(),
            deadline,
            boot_file: String::new(),
            server: plan.server,
        }
    }

    fn run(mut self) -> ClientResult {
        loop {
            let Err((stage, e)) = self.steps() else {
                return self.r;
            };
            let again = self.plan.reboot_on_failure
                && Instant::now() + REBOOT_AFTER + Duration::from_secs(1) < self.deadline;
            if !again {
                self.r.failed_at = Some(stage.to_string());
                self.r.error = Some(format!("{e:#}"));
                return self.r;
            }
            self.r.restarts.push(Restart {
                at: epoch(SystemTime::now()),
                server: self.r.server,
                failed_at: stage.to_string(),
                error: format!("{e:#}"),
            });
            // Power on again: a new boot, its own clock for the stages.
            std::thread::sleep(REBOOT_AFTER);
            self.r.stages.clear();
            self.r.ip = None;
            self.r.ip2 = None;
            self.r.server = None;
            self.t0 = Instant::now();
            self.r.boot_start = epoch(SystemTime::now());
        }
    }

    /// A URL of the plan (which names the plan's server) on the server that answered.
    fn on_server(&self, url: &str) -> String {
        url.replacen(
            &format!("//{}/", self.plan.server),
            &format!("//{}/", self.server),
            1,
        )
    }

    fn steps(&mut self) -> Result<(), (&'static str, anyhow::Error)> {
        let t = Instant::now();
        let ip = self.dhcp(true).map_err(at("dhcp"))?;
        self.r.ip = Some(ip);
        self.record("dhcp", t, 0);

        let t = Instant::now();
        let bytes = self.loader(ip).map_err(at("loader"))?;
        self.record("loader", t, bytes);

        let t = Instant::now();
        let agent = crate::httpc::agent(Some(IpAddr::V4(ip)), Duration::from_secs(30));
        let mut bytes = 0;
        for f in [&self.plan.kernel, &self.plan.initrd] {
            bytes += if f.starts_with("http://") {
                http(&agent, &self.on_server(f))
            } else {
                self.tftp(ip, f)
            }
            .map_err(at("kernel+initrd"))?;
        }
        self.record("kernel+initrd", t, bytes);

        let t = Instant::now();
        let ip2 = self.dhcp(false).map_err(at("dhcp-initramfs"))?;
        self.r.ip2 = Some(ip2);
        self.record("dhcp-initramfs", t, 0);

        // The initramfs fetches the root (dracut's livenet runs curl): a new program, a new
        // connection, from the address its own DHCP gave it.
        let t = Instant::now();
        drop(agent);
        let agent = crate::httpc::agent(Some(IpAddr::V4(ip2)), Duration::from_secs(30));
        let bytes = http(&agent, &self.on_server(&self.plan.root_url)).map_err(at("root"))?;
        self.record("root", t, bytes);
        self.r.booted = Some(self.first.elapsed().as_secs_f64());
        Ok(())
    }

    fn since(&self, t: Instant) -> f64 {
        t.duration_since(self.t0).as_secs_f64()
    }

    fn record(&mut self, stage: &str, start: Instant, bytes: u64) {
        let s = self.since(start);
        self.r.stages.push(StageTime {
            stage: stage.into(),
            start: s,
            secs: start.elapsed().as_secs_f64(),
            bytes,
        });
    }

    /// A DHCP exchange: the firmware's (PXE options) or the initramfs's (a client id).
    fn dhcp(&mut self, firmware: bool) -> Result<Ipv4Addr> {
        let schedule: &[Duration] = if firmware {
            &PXE_SCHEDULE
        } else {
            &INITRAMFS_SCHEDULE
        };
        // dhcproto picks a random transaction id; the REQUEST carries the same.
        let xid = Message::default().xid();
        let begun = Instant::now();
        let discover = request(&self.m, xid, MessageType::Discover, firmware, None);
        let (offer, tries) = self.dhcp.exchange(
            &discover,
            MessageType::Offer,
            schedule,
            begun,
            self.deadline,
        )?;
        if firmware {
            self.r.discovers += tries;
        }
        let req = request(&self.m, xid, MessageType::Request, firmware, Some(&offer));
        let (ack, _) =
            self.dhcp
                .exchange(&req, MessageType::Ack, schedule, begun, self.deadline)?;
        let ip = ack.yiaddr();
        if firmware {
            // next-server: the loader, its files and the menu's URLs come from it.
            let next = ack.siaddr();
            self.server = if next.is_unspecified() {
                self.plan.server
            } else {
                next
            };
            self.r.server = Some(self.server);
        }
        add_address(&self.plan.interface, ip, self.plan.helper.prefix_len())?;
        if firmware {
            self.boot_file = ack
                .fname_str()
                .and_then(|r| r.ok())
                .map(|s| s.trim_end_matches('\0').to_string())
                .unwrap_or_default();
            if self.boot_file.is_empty() {
                bail!("the DHCP answer names no boot file");
            }
        }
        Ok(ip)
    }

    /// A TFTP read with the block size a PXE ROM asks for (BIOS 1456, UEFI 1468) and a
    /// ROM's patience (EDK2's PXE: 4 s, 6 retries); the bytes go nowhere, only their count is
    /// kept.
    fn tftp(&self, ip: Ipv4Addr, file: &str) -> Result<u64> {
        let opts = TftpOptions {
            blksize: if self.m.uefi { 1468 } else { 1456 },
            timeout: Duration::from_secs(4),
            retries: 6,
            local: Some(IpAddr::V4(ip)),
        };
        let st = tftp::fetch(
            SocketAddr::from((self.server, 69)),
            file,
            &mut io::sink(),
            &opts,
        )?;
        Ok(st.bytes)
    }

    /// The loader and what it fetches itself: pxelinux's modules and the configuration it
    /// looks for by UUID, MAC and address before `default`; GRUB and its menu for UEFI.
    fn loader(&mut self, ip: Ipv4Addr) -> Result<u64> {
        let mut bytes = self.tftp(ip, &self.boot_file.clone())?;
        if self.m.uefi {
            for f in &self.plan.uefi_files {
                bytes += self.tftp(ip, f)?;
            }
            return Ok(bytes);
        }
        for f in &self.plan.bios_files {
            bytes += self.tftp(ip, f)?;
        }
        let hex = format!("{:08X}", u32::from(ip));
        let mut probes = vec![
            format!("pxelinux.cfg/{}", self.m.uuid_str()),
            format!("pxelinux.cfg/01-{}", self.m.mac_str().replace(':', "-")),
        ];
        probes.extend((1..=8).rev().map(|n| format!("pxelinux.cfg/{}", &hex[..n])));
        // A machine's own file ends the search; most machines have none. Only the server's
        // "not found" moves on to the next name: a server that stopped answering ends the
        // boot, as it does pxelinux's.
        let mut own = None;
        for p in &probes {
            match self.tftp(ip, p) {
                Ok(n) => {
                    own = Some(n);
                    break;
                }
                Err(e) if format!("{e:#}").contains("TFTP error") => {}
                Err(e) => return Err(e),
            }
        }
        bytes += match own {
            Some(n) => n,
            None => self.tftp(ip, &self.plan.bios_menu)?,
        };
        for f in &self.plan.bios_modules {
            bytes += self.tftp(ip, f)?;
        }
        Ok(bytes)
    }
}

/// A GET whose body is counted and dropped. A request on a kept-alive connection the server
/// has closed meanwhile is sent again once, as curl and iPXE do.
fn http(agent: &ureq::Agent, url: &str) -> Result<u64> {
    let resp = match agent.get(url).call() {
        Err(ureq::Error::Io(_)) => agent.get(url).call(),
        r => r,
    }
    .with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    if status != 200 {
        bail!("GET {url}: HTTP {status}");
    }
    let mut body = resp.into_body().into_reader();
    io::copy(&mut body, &mut io::sink()).with_context(|| format!("reading {url}"))
}

/// Powers on `plan.clients` machines at `plan.rate` per second and returns how each boot
/// went. Every machine gives up at the plan's deadline.
pub fn run(plan: &Plan) -> Result<Vec<ClientResult>> {
    let dhcp = Dhcp::open(&plan.interface)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(plan.deadline_secs);
    let results = Mutex::new(Vec::with_capacity(plan.clients as usize));
    std::thread::scope(|s| -> Result<()> {
        for i in 0..plan.clients {
            let at = start + Duration::from_secs_f64(f64::from(i) / plan.rate);
            let (dhcp, results) = (&dhcp, &results);
            std::thread::Builder::new()
                .stack_size(512 << 10)
                .spawn_scoped(s, move || {
                    if let Some(wait) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let r = Boot::new(plan, dhcp, i, deadline).run();
                    results.lock().expect("lock").push(r);
                })
                .context("starting a simulated machine")?;
        }
        Ok(())
    })?;
    dhcp.stop.store(true, Ordering::Relaxed);
    let mut v = results.into_inner().expect("lock");
    v.sort_by(|a, b| a.mac.cmp(&b.mac));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(uefi: u32) -> Plan {
        Plan {
            interface: "x".into(),
            helper: "10.0.0.2/24".parse().unwrap(),
            server: "10.0.0.1".parse().unwrap(),
            clients: 100,
            rate: 10.0,
            uefi_percent: uefi,
            mac_prefix: [0x52, 0x54, 0x01],
            bios_files: vec![],
            bios_menu: "pxelinux.cfg/default".into(),
            bios_modules: vec![],
            uefi_files: vec![],
            kernel: String::new(),
            initrd: String::new(),
            root_url: String::new(),
            deadline_secs: 1.0,
            reboot_on_failure: false,
        }
    }

    #[test]
    fn machines_get_distinct_macs_and_the_asked_uefi_share() {
        let p = plan(30);
        let ms: Vec<Machine> = (0..100).map(|i| Machine::new(&p, i)).collect();
        assert_eq!(ms.iter().filter(|m| m.uefi).count(), 30);
        assert_eq!(ms[0].mac_str(), "52:54:01:00:00:00");
        assert_eq!(ms[99].mac_str(), "52:54:01:00:00:63");
        assert_eq!(ms[1].uuid_str().len(), 36);
        assert_eq!(
            (0..100).filter(|i| Machine::new(&plan(0), *i).uefi).count(),
            0
        );
        assert_eq!(
            (0..100)
                .filter(|i| Machine::new(&plan(100), *i).uefi)
                .count(),
            100
        );
    }

    #[test]
    fn firmware_requests_carry_the_pxe_options_initramfs_ones_a_client_id() {
        let m = Machine::new(&plan(100), 7);
        let d = request(&m, 42, MessageType::Discover, true, None);
        let mut b = Vec::new();
        d.encode(&mut Encoder::new(&mut b)).unwrap();
        let back = Message::decode(&mut Decoder::new(&b)).unwrap();
        assert_eq!(back.xid(), 42);
        assert_eq!(back.chaddr(), &m.mac[..]);
        assert!(back.flags().broadcast());
        let o = back.opts();
        assert_eq!(
            o.get(OptionCode::ClassIdentifier),
            Some(&DhcpOption::ClassIdentifier(
                b"PXEClient:Arch:00007:UNDI:003016".to_vec()
            ))
        );
        assert_eq!(
            o.get(OptionCode::ClientSystemArchitecture),
            Some(&DhcpOption::ClientSystemArchitecture(Architecture::from(7)))
        );
        assert!(o.get(OptionCode::ClientMachineIdentifier).is_some());
        assert_eq!(
            o.get(OptionCode::ClientIdentifier),
            Some(&DhcpOption::ClientIdentifier(
                [&[1u8][..], &m.mac[..]].concat()
            ))
        );
        let i = request(&m, 43, MessageType::Discover, false, None);
        assert!(i.opts().get(OptionCode::ClassIdentifier).is_none());
        let Some(DhcpOption::ClientIdentifier(id)) = i.opts().get(OptionCode::ClientIdentifier)
        else {
            panic!("the initramfs sends no client identifier")
        };
        // RFC 4361: 0xff, IAID, DUID-LL (type 3, hardware type 1, the MAC).
        assert_eq!(id.len(), 1 + 4 + 4 + 6);
        assert_eq!(
            (id[0], &id[5..9], &id[9..]),
            (0xff, &[0, 3, 0, 1][..], &m.mac[..])
        );
    }
}
