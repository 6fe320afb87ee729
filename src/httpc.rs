//! The project's HTTP client: ureq agents, optionally sending from a given local address.
//!
//! The storm's simulated clients each fetch their files from their own leased address, as
//! real machines do, so that the server's logs (and `pxe-kit status`) tell them apart. ureq
//! has no setting for the source address, so a connector of ours binds the socket before it
//! connects and hands ureq the stream through ureq's transport interface (its `unversioned`
//! module: the version is pinned by Cargo.lock, and this is the one place that uses it).
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

/// An agent for plain HTTP; with `local`, every connection is made from that address.
pub fn agent(local: Option<IpAddr>, timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_recv_body(Some(timeout * 30))
        .http_status_as_error(false)
        .build();
    match local {
        None => ureq::Agent::new_with_config(config),
        Some(local) => ureq::Agent::with_parts(
            config,
            BoundConnector { local, timeout },
            DefaultResolver::default(),
        ),
    }
}

/// Connects from a fixed local address.
#[derive(Debug)]
struct BoundConnector {
    local: IpAddr,
    timeout: Duration,
}

impl Connector<()> for BoundConnector {
    type Out = BoundTcp;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<BoundTcp>, ureq::Error> {
        let mut last = None;
        for addr in details.addrs.iter() {
            match connect_from(self.local, *addr, self.timeout) {
                Ok(stream) => {
                    let c = details.config;
                    return Ok(Some(BoundTcp {
                        stream,
                        buffers: LazyBuffers::new(c.input_buffer_size(), c.output_buffer_size()),
                    }));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .map(ureq::Error::from)
            .unwrap_or(ureq::Error::HostNotFound))
    }
}

fn connect_from(local: IpAddr, to: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let domain = socket2::Domain::for_address(to);
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    s.bind(&SocketAddr::new(local, 0).into())?;
    s.connect_timeout(&to.into(), timeout)?;
    let stream: TcpStream = s.into();
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A connected stream as ureq's transport.
#[derive(Debug)]
struct BoundTcp {
    stream: TcpStream,
    buffers: LazyBuffers,
}

/// ureq's timeout for the next operation as a socket timeout (none: block).
fn socket_timeout(t: &NextTimeout) -> Option<Duration> {
    t.not_zero().map(|d| *d)
}

fn io_error(e: io::Error, t: &NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ureq::Error::Timeout(t.reason),
        _ => e.into(),
    }
}

impl Transport for BoundTcp {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        self.stream.set_write_timeout(socket_timeout(&timeout))?;
        let output = &self.buffers.output()[..amount];
        self.stream
            .write_all(output)
            .map_err(|e| io_error(e, &timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        self.stream.set_read_timeout(socket_timeout(&timeout))?;
        let n = loop {
            match self.stream.read(self.buffers.input_append_buf()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r.map_err(|e| io_error(e, &timeout))?,
            }
        };
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    /// Open while the peer has neither closed nor sent anything unasked (what ureq's own
    /// transport checks before reusing a pooled connection).
    fn is_open(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut b = [0u8];
        let open =
            matches!(self.stream.read(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        open && self.stream.set_nonblocking(false).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot HTTP server that answers with the peer address it saw.
    fn echo_peer() -> (SocketAddr, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, peer) = l.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).unwrap();
                let body = peer.ip().to_string();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (addr, h)
    }

    #[test]
    fn a_bound_agent_sends_from_its_address() {
        let (addr, h) = echo_peer();
        let url = format!("http://{addr}/");
        let bound = agent(Some("127.0.0.2".parse().unwrap()), Duration::from_secs(5));
        let body = bound
            .get(&url)
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        assert_eq!(body, "127.0.0.2");
        let plain = agent(None, Duration::from_secs(5));
        let body = plain
            .get(&url)
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        assert_eq!(body, "127.0.0.1");
        h.join().unwrap();
    }
}
