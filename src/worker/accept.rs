//! Accepting: the loop's own SO_REUSEPORT sockets of `--listen` and
//! `--tls-listen`, the connection limit, a new connection's transport,
//! buffers, session and session init timer, and the PROXY protocol header
//! a balancer's connection starts with.

use super::{Worker, CONN_BASE, RX_INITIAL, TX_INITIAL};
use crate::buf::RingBuf;
use crate::conn::{Conn, ConnKey, Session};
use crate::proxy;
use crate::session;
use crate::transport::Transport;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};
use std::io::ErrorKind;
use std::sync::atomic::Ordering;

/// A loop's listening sockets: plaintext, and TLS with `--tls-listen`.
pub struct Listeners {
    pub plain: TcpListener,
    pub tls: Option<TcpListener>,
}

impl Worker {
    /// Accepts from the plain listener, or the TLS one.
    pub(super) fn accept_all(&mut self, tls: bool) {
        if !self.listening || self.accept_paused {
            return;
        }
        let max = self.shared.config.max_connections;
        loop {
            if self.shared.connections.load(Ordering::Relaxed) >= max {
                // Stop accepting; housekeeping resumes below 90% of the limit.
                self.accept_paused = true;
                self.st.m.conn_rejected_limit += 1;
                return;
            }
            let listener = if tls {
                match &self.tls_listener {
                    Some(l) => l,
                    None => return,
                }
            } else {
                &self.listener
            };
            match listener.accept() {
                Ok((stream, peer)) => self.add_conn(stream, peer, tls),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: back off and retry on the next
                    // housekeeping tick instead of spinning or dying.
                    self.st.m.accept_ex += 1;
                    self.accept_paused = true;
                    tracing::debug!(worker = self.st.id, "loop {}: accept: {e}", self.st.id);
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, stream: TcpStream, peer: std::net::SocketAddr, tls: bool) {
        let _ = stream.set_nodelay(true);
        let mut io = if tls {
            match self.new_tls(stream, peer) {
                Some(t) => Transport::Tls(t),
                None => return,
            }
        } else {
            Transport::Plain(stream)
        };
        let entry = self.conns.vacant_entry();
        let slot = entry.key();
        self.next_gen = self.next_gen.wrapping_add(1);
        let key = ConnKey {
            slot: slot as u32,
            gen: self.next_gen,
        };
        if let Err(e) = self.poll.registry().register(
            io.stream_mut(),
            Token(slot + CONN_BASE),
            // Write interest is added only while output is blocked: every
            // ACK would otherwise wake the loop with a useless EPOLLOUT.
            Interest::READABLE,
        ) {
            tracing::warn!("register: {e}");
            return;
        }
        let cfg = &self.shared.config;
        let rx_max = (cfg.max_pdu_bytes as usize * 2).max(64 * 1024);
        let mut s = Session::new(
            key,
            peer,
            self.st.clock.tick,
            RingBuf::new(TX_INITIAL, cfg.max_write_buffer_bytes),
        );
        s.tls = tls;
        s.proxy_pending = proxy::expected_from(&cfg.proxy_protocol_from, peer);
        session::arm_session_init(&mut self.st, &s);
        entry.insert(Conn {
            io,
            rx: RingBuf::new(RX_INITIAL, rx_max),
            s,
        });
        self.shared.connections.fetch_add(1, Ordering::Relaxed);
        self.st.m.conn_accepted += 1;
        self.st.m.conn_current += 1;
        // Data may already be waiting (edge-triggered: read it now).
        self.ready.push(slot);
        tracing::debug!(worker = self.st.id, %peer, "loop {}: accepted {peer}", self.st.id);
    }
}

/// The PROXY protocol header of a connection from a `--proxy-protocol-from`
/// source, before any transport reads: Some(true) once it is read (the
/// session's peer is then the client it names, `via` the balancer),
/// Some(false) while more of it is awaited, None when the connection must
/// be closed (the caller closes it).
pub(super) fn proxy_header(
    conn: &mut Conn,
    scratch: &mut [u8; proxy::MAX_HEADER],
    m: &mut crate::metrics::LoopMetrics,
) -> Option<bool> {
    match proxy::read_header(conn.io.stream_mut(), scratch) {
        proxy::Step::Done(client) => {
            conn.s.proxy_pending = false;
            m.proxy_headers += 1;
            if let Some(c) = client {
                tracing::debug!(proxy = %conn.s.peer, client = %c, "PROXY header: {c} via {}", conn.s.peer);
                conn.s.via = Some(conn.s.peer);
                conn.s.peer = c;
            }
            return Some(true);
        }
        // Not all of it yet: its next octets are the next edge.
        proxy::Step::Wait if !conn.s.hup => return Some(false),
        // Part of it, then the peer's close: closed now rather than at the
        // session init timer.
        proxy::Step::Wait => {}
        proxy::Step::Close(why) => {
            tracing::debug!(peer = %conn.s.peer, "closed: {why}");
        }
    }
    m.proxy_header_ex += 1;
    conn.s.closed_by_peer();
    None
}
