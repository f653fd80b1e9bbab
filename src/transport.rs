//! The byte stream under a session: a TCP socket, or rustls over one. The
//! loop reads into the session's rx ring and writes its tx ring through a
//! [`Transport`]; the SMPP session never knows which it has.
//!
//! The plaintext path is untouched: one `match` on the enum per read and per
//! flush (a predictable branch; a loop serves one kind per connection).
//!
//! TLS (`TlsConn`, rustls' sans-io `ServerConnection`):
//! - **Read**: one `read` of the socket into the loop's scratch (as the
//!   plain path reads into the ring: a short read means drained), then the
//!   ciphertext is fed to rustls from that slice, records are decrypted and
//!   the plaintext moved into rx. No more ciphertext is read than rx can
//!   take as plaintext (plaintext is never longer than its records), so
//!   nothing is left in the scratch and rustls' own plaintext buffer stays
//!   empty between reads: the rx bound and its backpressure hold as in the
//!   plain path. rustls keeps at most one partial record (its 4 KiB to 16 KiB
//!   deframer buffer, 64 KiB during a handshake).
//! - **Write**: the tx ring's bytes are encrypted into records (at most
//!   16 KiB each) up to [`TLS_WRITE_BATCH`] at a time, and the records go
//!   out in one `writev` (rustls' `write_tls`); what does not fit waits in tx,
//!   where the high watermark counts it.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::buf::RingBuf;
use mio::net::TcpStream;
use rustls::ServerConnection;
use std::io::{ErrorKind, Read};

/// Plaintext encrypted per write round (then written with one `writev`):
/// the bound on the encrypted bytes rustls holds for a connection.
pub const TLS_WRITE_BATCH: usize = 64 * 1024;
/// The largest TLS record on the wire (16 KiB of payload + overhead): the
/// plaintext one partial record held by rustls can still turn into.
pub const MAX_RECORD: usize = 16 * 1024 + 2048 + 5;
/// TLS record content type of a handshake message: the first octet a TLS
/// client sends.
const HANDSHAKE: u8 = 0x16;

pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsConn>),
}

impl Transport {
    /// The socket (registration with the poll).
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.stream,
        }
    }

    pub fn tls(&mut self) -> Option<&mut TlsConn> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(t) => Some(t),
        }
    }
}

/// Why a TLS connection failed (counted by reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The first octets were not a TLS handshake record (plaintext SMPP,
    /// HTTP, garbage on the TLS port).
    NotTls,
    /// The client's certificate did not verify (or was refused).
    Cert,
    /// No protocol version or cipher suite in common.
    Incompatible,
    /// The client sent a fatal alert (it refused our certificate, ...).
    Alert,
    /// Anything else the peer got wrong: malformed messages, bad records,
    /// decryption failures, a second renegotiation attempt, too many key
    /// updates.
    Protocol,
    /// The socket failed.
    Io,
}

impl TlsFailure {
    fn of(e: &rustls::Error) -> TlsFailure {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(_) | E::NoCertificatesPresented => TlsFailure::Cert,
            E::PeerIncompatible(_) => TlsFailure::Incompatible,
            E::AlertReceived(_) => TlsFailure::Alert,
            _ => TlsFailure::Protocol,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TlsFailure::NotTls => "not_tls",
            TlsFailure::Cert => "cert",
            TlsFailure::Incompatible => "incompatible",
            TlsFailure::Alert => "alert",
            TlsFailure::Protocol => "protocol",
            TlsFailure::Io => "io",
        }
    }
}

/// What one TLS read did.
#[derive(Debug, PartialEq, Eq)]
pub enum TlsRead {
    /// `wire` ciphertext octets read, `plain` plaintext octets put in rx.
    /// `drained`: the read was short (edge-triggered: wait for the next
    /// event). `peer_closed`: a close_notify came (after that plaintext).
    Data {
        wire: usize,
        plain: usize,
        drained: bool,
        peer_closed: bool,
    },
    /// The socket had nothing.
    WouldBlock,
    /// TCP EOF or reset; `clean` if the peer sent close_notify first.
    Eof { clean: bool },
    /// rx cannot take another record's plaintext: the caller stops reading
    /// (only reachable if a frame larger than rx was announced).
    NoRoom,
    /// The connection cannot go on; an alert may wait in rustls to be
    /// flushed before the close.
    Failed(TlsFailure),
}

/// What one TLS flush did.
#[derive(Debug, PartialEq, Eq)]
pub enum TlsFlushed {
    /// Everything (records and tx) is out.
    Done,
    /// The socket is full: wait for writable.
    Blocked,
    Failed,
}

pub struct TlsConn {
    pub stream: TcpStream,
    pub conn: ServerConnection,
    /// The handshake completed (and was counted).
    pub established: bool,
    /// The handshake just completed: the loop takes this once.
    handshake_done: bool,
    /// Nothing read yet (the first octet tells TLS from plaintext).
    first_read: bool,
    /// A fatal error happened: no more plaintext in or out, only the alert.
    pub failed: bool,
    /// close_notify queued.
    pub close_sent: bool,
    /// TLS 1.2 after its handshake: record headers are in the clear, and a
    /// handshake record can only be a renegotiation attempt.
    scan: Option<RecordScan>,
    /// Renegotiation attempts seen (TLS 1.2), not yet taken by the loop.
    renegotiations: u32,
}

impl TlsConn {
    pub fn new(stream: TcpStream, mut conn: ServerConnection) -> TlsConn {
        conn.set_buffer_limit(Some(TLS_WRITE_BATCH));
        TlsConn {
            stream,
            conn,
            established: false,
            handshake_done: false,
            first_read: true,
            failed: false,
            close_sent: false,
            scan: None,
            renegotiations: 0,
        }
    }

    /// True once after the handshake completed.
    pub fn take_handshake_done(&mut self) -> bool {
        std::mem::take(&mut self.handshake_done)
    }

    /// Renegotiation attempts seen since the last call (rustls refuses the
    /// first with a no_renegotiation warning; a second one is fatal).
    pub fn take_renegotiations(&mut self) -> u32 {
        std::mem::take(&mut self.renegotiations)
    }

    /// Records or an alert wait to be written.
    #[inline]
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// One read of the socket into `scratch`, fed through rustls; the
    /// plaintext goes into `rx`.
    pub fn read_into(&mut self, rx: &mut RingBuf, scratch: &mut [u8]) -> TlsRead {
        if self.failed {
            return TlsRead::Failed(TlsFailure::Protocol);
        }
        let before = rx.len();
        // Plaintext left by a previous call (only if rx was full then).
        if let Err(f) = self.drain_plaintext(rx) {
            return TlsRead::Failed(f);
        }
        let room = rx
            .max_capacity()
            .saturating_sub(rx.len())
            .saturating_sub(MAX_RECORD);
        let want = room.min(scratch.len());
        let Some(buf) = scratch.get_mut(..want) else {
            return TlsRead::NoRoom;
        };
        if buf.is_empty() {
            return TlsRead::NoRoom;
        }
        let n = loop {
            match self.stream.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return if rx.len() > before {
                        TlsRead::Data {
                            wire: 0,
                            plain: rx.len() - before,
                            drained: true,
                            peer_closed: false,
                        }
                    } else {
                        TlsRead::WouldBlock
                    }
                }
                // A reset is the peer leaving without close_notify too.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return TlsRead::Eof { clean: false }
                }
                Err(_) => return self.fail(TlsFailure::Io),
            }
        };
        if n == 0 {
            return TlsRead::Eof {
                clean: self.peer_closed(),
            };
        }
        let data = buf.get(..n).unwrap_or_default();
        if self.first_read {
            self.first_read = false;
            if data.first() != Some(&HANDSHAKE) {
                return self.fail(TlsFailure::NotTls);
            }
        }
        if let Some(scan) = &mut self.scan {
            self.renegotiations += scan.feed(data);
        }
        let mut rest: &[u8] = data;
        let mut peer_closed = false;
        while !rest.is_empty() {
            match self.conn.read_tls(&mut rest) {
                // After close_notify rustls takes nothing more.
                Ok(0) if peer_closed => break,
                Ok(0) => return self.fail(TlsFailure::Protocol),
                Ok(_) => {}
                Err(_) => return self.fail(TlsFailure::Protocol),
            }
            match self.conn.process_new_packets() {
                Ok(state) => peer_closed |= state.peer_has_closed(),
                Err(e) => return self.fail(TlsFailure::of(&e)),
            }
            if !self.established && !self.conn.is_handshaking() {
                self.established = true;
                self.handshake_done = true;
                // TLS 1.2: the records that follow start at the end of
                // what was fed (a client sends nothing more before our
                // Finished); if more was read, the count is not kept.
                if self.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2)
                    && rest.is_empty()
                {
                    self.scan = Some(RecordScan::default());
                }
            }
            if let Err(f) = self.drain_plaintext(rx) {
                return TlsRead::Failed(f);
            }
        }
        TlsRead::Data {
            wire: n,
            plain: rx.len() - before,
            drained: n < want,
            peer_closed,
        }
    }

    fn peer_closed(&mut self) -> bool {
        matches!(self.conn.process_new_packets(), Ok(s) if s.peer_has_closed())
    }

    fn fail(&mut self, f: TlsFailure) -> TlsRead {
        self.failed = true;
        TlsRead::Failed(f)
    }

    /// Moves rustls' decrypted plaintext into rx.
    fn drain_plaintext(&mut self, rx: &mut RingBuf) -> Result<(), TlsFailure> {
        loop {
            if rx.is_full() {
                return Ok(());
            }
            match rx.read_from(&mut self.conn.reader()) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                // EOF without close_notify: the TCP side reports it.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
                Err(_) => {
                    self.failed = true;
                    return Err(TlsFailure::Protocol);
                }
            }
        }
    }

    /// Writes the records rustls holds, then encrypts what tx holds (a
    /// batch at a time) and writes that, until both are empty or the
    /// socket is full. `wire`/`plain` count the octets sent and taken.
    pub fn flush(&mut self, tx: &mut RingBuf, wire: &mut u64, plain: &mut u64) -> TlsFlushed {
        loop {
            while self.conn.wants_write() {
                match self.conn.write_tls(&mut self.stream) {
                    Ok(0) => return TlsFlushed::Failed,
                    Ok(n) => *wire += n as u64,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return TlsFlushed::Blocked,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return TlsFlushed::Failed,
                }
            }
            if self.failed {
                // Only the alert goes out; answers die with the session.
                tx.clear();
                return TlsFlushed::Done;
            }
            if tx.is_empty() || self.conn.is_handshaking() || self.close_sent {
                return TlsFlushed::Done;
            }
            match tx.write_to(&mut self.conn.writer()) {
                Ok(0) => return TlsFlushed::Done,
                Ok(n) => *plain += n as u64,
                Err(_) => return TlsFlushed::Failed,
            }
        }
    }

    /// Queues close_notify (once); the next flush writes it.
    pub fn send_close_notify(&mut self) {
        if !self.close_sent && !self.failed {
            self.close_sent = true;
            self.conn.send_close_notify();
        }
    }
}

/// Walks TLS record headers (TLS 1.2, after the handshake, where they are
/// in the clear) to count handshake records: renegotiation attempts.
#[derive(Default, Debug)]
struct RecordScan {
    /// Body octets of the current record still to skip.
    skip: usize,
    /// Header octets collected so far.
    header: [u8; 5],
    have: usize,
}

impl RecordScan {
    /// Returns the handshake records whose header is in `data`.
    fn feed(&mut self, mut data: &[u8]) -> u32 {
        let mut seen = 0;
        loop {
            if self.skip > 0 {
                let k = self.skip.min(data.len());
                self.skip -= k;
                data = data.get(k..).unwrap_or_default();
            }
            let Some((&b, rest)) = data.split_first() else {
                return seen;
            };
            data = rest;
            if let Some(h) = self.header.get_mut(self.have) {
                *h = b;
            }
            self.have += 1;
            if self.have == 5 {
                self.have = 0;
                let [kind, _, _, hi, lo] = self.header;
                if kind == HANDSHAKE {
                    seen += 1;
                }
                self.skip = usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn record_scan_counts_handshake_records_across_reads() {
        let mut s = RecordScan::default();
        // application data (3 octets), handshake (2), application (0)
        let stream = [
            0x17, 3, 3, 0, 3, 1, 2, 3, 0x16, 3, 3, 0, 2, 9, 9, 0x17, 3, 3, 0, 0,
        ];
        assert_eq!(s.feed(&stream), 1);
        let mut s = RecordScan::default();
        let total: u32 = stream.chunks(1).map(|c| s.feed(c)).sum();
        assert_eq!(total, 1);
        assert_eq!((s.skip, s.have), (0, 0));
        assert_eq!(RecordScan::default().feed(&[0x16, 3, 3]), 0);
    }
}
