//! Test helpers: a server on 127.0.0.1:0 and a scripted blocking ESME that
//! speaks raw SMPP through the project's codec.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod binary;
pub mod cluster;
pub mod http;
pub mod mo;
pub mod provision;
pub mod script;
pub mod tls;
pub mod webdriver;

use clap::Parser;
use smsc::config::{Args, Config};
use smsc::pdu::{self, Body, CommandId, CommandStatus, Frame, Pdu, Sm};
use smsc::server::Server;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Starts a server with the given extra flags (ephemeral port, 1 loop
/// unless --threads is given; no log: no subscriber is installed).
pub fn server(extra: &[&str]) -> Server {
    let mut argv = vec!["smsc", "--listen", "127.0.0.1:0", "--stats-interval", "0"];
    if !extra.contains(&"--shutdown-grace") {
        argv.extend(["--shutdown-grace", "300ms"]);
    }
    if !extra.contains(&"--threads") {
        argv.extend(["--threads", "1"]);
    }
    if !extra.contains(&"--accounts") {
        argv.extend(["--account", "esme:secret"]);
    }
    argv.extend_from_slice(extra);
    let config = Config::from_args(Args::parse_from(argv)).expect("config");
    Server::start(config).expect("server start")
}

/// An owned copy of a received PDU (tests keep them around).
#[derive(Debug, Clone)]
pub struct Got {
    pub bytes: Vec<u8>,
}

impl Got {
    pub fn pdu(&self) -> Pdu<'_> {
        pdu::decode(&self.bytes).expect("server sent an undecodable PDU")
    }
    pub fn id(&self) -> CommandId {
        self.pdu().header.command_id
    }
    pub fn status(&self) -> CommandStatus {
        self.pdu().header.command_status
    }
    pub fn seq(&self) -> u32 {
        self.pdu().header.sequence_number
    }
}

/// The ESME's connection: plain TCP, or TLS over it.
pub enum Wire {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Wire {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Wire::Tcp(s) => s,
            Wire::Tls(t) => &t.sock,
        }
    }
    pub fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        self.tcp().set_read_timeout(t)
    }
    pub fn set_nonblocking(&self, on: bool) -> std::io::Result<()> {
        self.tcp().set_nonblocking(on)
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.read(buf),
            Wire::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Wire::Tcp(s) => s.write(buf),
            Wire::Tls(t) => t.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Wire::Tcp(s) => s.flush(),
            Wire::Tls(t) => t.flush(),
        }
    }
}

pub struct Esme {
    pub stream: Wire,
    buf: Vec<u8>,
    seq: u32,
}

pub const WAIT: Duration = Duration::from_secs(5);

impl Esme {
    pub fn connect(addr: SocketAddr) -> Esme {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        Esme::over(Wire::Tcp(stream))
    }

    pub fn over(stream: Wire) -> Esme {
        Esme {
            stream,
            buf: Vec::new(),
            seq: 0,
        }
    }

    /// A TLS connection (handshake done) with this client configuration.
    pub fn connect_tls(addr: SocketAddr, config: std::sync::Arc<rustls::ClientConfig>) -> Esme {
        let s = tls::connect(addr, config).expect("TLS handshake");
        Esme::over(Wire::Tls(Box::new(s)))
    }

    pub fn next_seq(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    pub fn send(&mut self, p: &Pdu<'_>) {
        let v = p.to_vec().unwrap();
        self.stream.write_all(&v).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a request body with a fresh sequence number; returns it.
    pub fn request(&mut self, body: Body<'_>) -> u32 {
        let seq = self.next_seq();
        self.send(&Pdu::new(seq, body));
        seq
    }

    /// The next PDU, or None on timeout / EOF.
    pub fn recv_timeout(&mut self, t: Duration) -> Option<Got> {
        let deadline = Instant::now() + t;
        loop {
            if let Ok(Frame::Complete(n)) = pdu::check_frame(&self.buf, 1 << 20) {
                let bytes: Vec<u8> = self.buf.drain(..n).collect();
                return Some(Got { bytes });
            }
            if self.read_more(deadline) != Some(true) {
                return None;
            }
        }
    }

    pub fn recv(&mut self) -> Got {
        self.recv_timeout(WAIT)
            .expect("no PDU from server within 5 s")
    }

    /// Receives until a PDU with this command id arrives (answering
    /// deliver_sm and enquire_link on the way unless it is what we wait for).
    pub fn recv_id(&mut self, id: CommandId) -> Got {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("timed out");
            let g = self
                .recv_timeout(left)
                .unwrap_or_else(|| panic!("no {id:?} within 5 s"));
            if g.id() == id {
                return g;
            }
            self.auto_answer(&g);
        }
    }

    pub fn auto_answer(&mut self, g: &Got) {
        let seq = g.seq();
        match g.id() {
            CommandId::DELIVER_SM => self.send(&Pdu::new(
                seq,
                Body::DeliverSmResp(pdu::MessageIdResp { message_id: b"" }),
            )),
            CommandId::ENQUIRE_LINK => self.send(&Pdu::new(seq, Body::EnquireLinkResp)),
            _ => {}
        }
    }

    /// One read into `buf` before `deadline`: Some(true) when octets came,
    /// Some(false) when the connection is closed (EOF or an error), None
    /// when the deadline passed.
    fn read_more(&mut self, deadline: Instant) -> Option<bool> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => Some(false),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Some(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(_) => Some(false),
        }
    }

    /// True when the server closed the connection within `t`.
    pub fn closed_within(&mut self, t: Duration) -> bool {
        let deadline = Instant::now() + t;
        loop {
            match self.read_more(deadline) {
                Some(true) => {}
                Some(false) => return true,
                None => return false,
            }
        }
    }

    pub fn bind(&mut self, id: CommandId, system_id: &str, password: &str) -> Got {
        let b = pdu::Bind {
            system_id: system_id.as_bytes(),
            password: password.as_bytes(),
            system_type: b"",
            interface_version: 0x34,
            addr_ton: 0,
            addr_npi: 0,
            address_range: b"",
        };
        let body = match id {
            CommandId::BIND_TRANSMITTER => Body::BindTransmitter(b),
            CommandId::BIND_RECEIVER => Body::BindReceiver(b),
            _ => Body::BindTransceiver(b),
        };
        self.request(body);
        self.recv_id(id.response())
    }

    /// A transceiver bind as `system_id`/`password`: the session and the
    /// bind's status, whatever it is.
    pub fn try_bind(addr: SocketAddr, system_id: &str, password: &str) -> (Esme, CommandStatus) {
        let mut e = Esme::connect(addr);
        let status = e
            .bind(CommandId::BIND_TRANSCEIVER, system_id, password)
            .status();
        (e, status)
    }

    pub fn bound(addr: SocketAddr, id: CommandId) -> Esme {
        let mut e = Esme::connect(addr);
        let r = e.bind(id, "esme", "secret");
        assert_eq!(r.status(), CommandStatus::ESME_ROK);
        e
    }

    pub fn submit(&mut self, sm: Sm<'_>) -> Got {
        self.request(Body::SubmitSm(sm));
        self.recv_id(CommandId::SUBMIT_SM_RESP)
    }
}

/// A valid submit_sm asking for a receipt.
pub fn sm(text: &'static [u8], registered_delivery: u8) -> Sm<'static> {
    Sm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900002",
        registered_delivery,
        short_message: text,
        ..Sm::default()
    }
}

/// Waits until `f` holds or the deadline passes.
pub fn eventually(t: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + t;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}
