//! The loop's TLS mechanics: a new TLS connection, its reads and flushes
//! through `transport::TlsConn`, the handshake's end (the client
//! certificate's names go to the session), and the TLS counters.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::{Step, Worker};
use crate::buf::RingBuf;
use crate::conn::Session;
use crate::metrics::LoopMetrics;
use crate::tls::ClientNames;
use crate::transport::{TlsConn, TlsFailure, TlsFlushed, TlsRead, Transport};
use mio::net::TcpStream;
use std::net::SocketAddr;

/// The loop's ciphertext scratch: one socket read of a TLS connection.
pub(super) const SCRATCH: usize = 64 * 1024;

impl Worker {
    /// A rustls server connection with the configuration in force (taken
    /// again after a reload).
    pub(super) fn new_tls(&mut self, stream: TcpStream, peer: SocketAddr) -> Option<Box<TlsConn>> {
        let shared_tls = self.shared.tls.as_ref()?;
        let version = shared_tls.version();
        let config = match &self.tls_config {
            Some((seen, c)) if *seen == version => c.clone(),
            _ => {
                let c = shared_tls.current();
                self.tls_config = Some((version, c.clone()));
                c
            }
        };
        match rustls::ServerConnection::new(config) {
            Ok(c) => {
                self.st.m.tls_conn_accepted += 1;
                Some(Box::new(TlsConn::new(stream, c)))
            }
            Err(e) => {
                self.st.m.tls_handshake_ex_protocol += 1;
                tracing::warn!("loop {}: TLS for {peer}: {e}", self.st.id);
                None
            }
        }
    }
}

/// One read of a TLS connection (see `TlsConn::read_into`), counted.
pub(super) fn read_step(
    t: &mut TlsConn,
    rx: &mut RingBuf,
    s: &mut Session,
    m: &mut LoopMetrics,
    scratch: &mut [u8],
) -> Step {
    match t.read_into(rx, scratch) {
        TlsRead::Data {
            wire,
            plain,
            drained,
            peer_closed,
        } => {
            m.tls_bytes_rx += wire as u64;
            m.bytes_rx += plain as u64;
            if t.take_handshake_done() {
                handshake_done(t, s, m);
            }
            m.tls_renegotiation_refused += u64::from(t.take_renegotiations());
            Step::Data {
                n: wire,
                drained,
                eof: peer_closed,
            }
        }
        TlsRead::WouldBlock => Step::Blocked,
        TlsRead::Eof { clean } => {
            if !t.established {
                m.tls_handshake_ex_eof += 1;
            } else if !clean {
                m.tls_eof_unclean += 1;
            }
            Step::Eof
        }
        TlsRead::NoRoom => Step::Full,
        TlsRead::Failed(f) => {
            m.tls_renegotiation_refused += u64::from(t.take_renegotiations());
            count_failure(t.established, f, m);
            tracing::debug!(
                "{}: TLS {} failed: {}",
                s.peer,
                if t.established {
                    "session"
                } else {
                    "handshake"
                },
                f.name()
            );
            // Nothing more is read or answered; the alert rustls queued
            // is flushed, then the connection closes.
            s.tx.clear();
            s.close_after_flush = true;
            Step::Failed
        }
    }
}

fn count_failure(established: bool, f: TlsFailure, m: &mut LoopMetrics) {
    if established {
        m.tls_session_ex += 1;
        return;
    }
    let c = match f {
        TlsFailure::NotTls => &mut m.tls_handshake_ex_not_tls,
        TlsFailure::Cert => &mut m.tls_handshake_ex_cert,
        TlsFailure::Incompatible => &mut m.tls_handshake_ex_incompatible,
        TlsFailure::Alert => &mut m.tls_handshake_ex_alert,
        TlsFailure::Protocol => &mut m.tls_handshake_ex_protocol,
        TlsFailure::Io => &mut m.tls_handshake_ex_io,
    };
    *c += 1;
}

/// The handshake is done: counted, and the client certificate's names
/// (if it presented one, verified by rustls) kept for the bind.
fn handshake_done(t: &TlsConn, s: &mut Session, m: &mut LoopMetrics) {
    m.tls_handshakes += 1;
    m.tls_sessions_current += 1;
    if t.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_2) {
        m.tls_handshakes_tls12 += 1;
    }
    s.client_cert = t
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| Box::new(ClientNames::of(c)));
    tracing::debug!(
        "{}: TLS {:?} {:?}, client certificate {:?}",
        s.peer,
        t.conn.protocol_version(),
        t.conn.negotiated_cipher_suite().map(|c| c.suite()),
        s.client_cert
            .as_deref()
            .and_then(|c| c.common_name.as_deref())
    );
}

/// Flushes a TLS connection: records first, then tx encrypted. When the
/// session is to close and everything is out, close_notify goes too.
/// Returns (ok, output still pending).
pub(super) fn flush(t: &mut TlsConn, s: &mut Session, m: &mut LoopMetrics) -> (bool, bool) {
    let c = &mut m.counters;
    let mut r = t.flush(&mut s.tx, &mut c.tls_bytes_tx, &mut c.bytes_tx);
    if r == TlsFlushed::Done && s.close_after_flush && !t.close_sent && !t.failed {
        t.send_close_notify();
        r = t.flush(&mut s.tx, &mut c.tls_bytes_tx, &mut c.bytes_tx);
    }
    match r {
        TlsFlushed::Failed => (false, false),
        _ => (true, !s.tx.is_empty() || t.wants_write()),
    }
}

/// A plaintext connection whose first octets are a TLS record header
/// (0x16 0x03): a TLS client on the plain port. Counted; the framing
/// check answers it (a command_length that large) with generic_nack and
/// closes.
#[inline]
pub(super) fn count_tls_on_plain_port(rx: &RingBuf, m: &mut LoopMetrics) {
    if rx.peek_u32_be(0).is_some_and(|v| v >> 16 == 0x1603) {
        m.tls_on_plain_port += 1;
    }
}

/// The session init timer closed a connection: a TLS one still in its
/// handshake is a stalled handshake.
pub(super) fn count_stalled_handshake(io: &mut Transport, m: &mut LoopMetrics) {
    if io.tls().is_some_and(|t| !t.established) {
        m.tls_handshake_ex_timeout += 1;
    }
}
