//! Connecting and binding, in batches, and unbinding at the end.
//!
//! A thread opens its connections at most `bind_concurrency` at a time
//! (connect + bind in flight), opening the next as each bind is answered,
//! so thousands of binds do not arrive as one burst of SYNs beyond the
//! server's listen backlog, nor as thousands of binds in one read. A bind
//! that fails (refused, closed, not answered within [`BIND_TIMEOUT`]) is
//! counted and the others go on; the run measures with the binds that
//! succeeded and reports how many did (`binds` in the summary).

use super::conn::{mark_dirty, Conn, Role, State};
use super::{Worker, BARRIER_TIMEOUT, MAX_POLL_WAIT, UNBIND_TIMEOUT};
use crate::cli::BindMode;
use crate::templates::write_header;
use mio::net::TcpStream;
use mio::{Interest, Token};
use smsc::pdu::{Bind, Body, CommandId, Pdu};
use std::time::{Duration, Instant};

/// How long one connection may take from connect to bind_resp.
pub const BIND_TIMEOUT: Duration = Duration::from_secs(10);

impl Worker {
    fn open(&mut self, role: Role, mo: bool) -> Result<usize, String> {
        // --rx-addr: the receipts' receivers on another node (not the MO ones).
        let to = if role == Role::Rx && !mo {
            self.plan.rx_addr
        } else {
            self.plan.addr
        };
        let stream = TcpStream::connect(to).map_err(|e| format!("connect to {to}: {e}"))?;
        let _ = stream.set_nodelay(true);
        if self.plan.ticked() {
            use std::os::fd::AsRawFd;
            crate::rxtime::enable(stream.as_raw_fd())
                .map_err(|e| format!("--tick: SO_TIMESTAMPNS: {e}"))?;
        }
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let mut conn = Conn::new(stream, role, self.plan.window, mo);
        if let Some(t) = &self.plan.tls {
            let c = rustls::ClientConnection::new(t.config.clone(), t.name.clone())
                .map_err(|e| format!("TLS: {e}"))?;
            conn.tls = Some(Box::new(c));
        }
        let conn = entry.insert(conn);
        if let Err(e) = self.poll.registry().register(
            &mut conn.stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.conns.remove(key);
            return Err(format!("register: {e}"));
        }
        Ok(key)
    }

    /// Connects and binds this thread's share; Err only if none bound.
    pub(super) fn connect_and_bind(&mut self) -> Result<(), String> {
        let binds = self
            .plan
            .binds_per_thread
            .get(self.idx)
            .copied()
            .unwrap_or(0);
        let roles: &[Role] = match self.plan.bind {
            BindMode::Trx => &[Role::Trx],
            BindMode::Tx => &[Role::Tx, Role::Rx],
        };
        // Account A's connections, then B's (ESME-to-ESME mode).
        let own = binds * roles.len();
        let (mo_binds, mo_role) = match &self.plan.mo {
            Some(m) => (
                m.binds_per_thread.get(self.idx).copied().unwrap_or(0),
                if m.trx { Role::Trx } else { Role::Rx },
            ),
            None => (0, Role::Rx),
        };
        let total = own + mo_binds;
        self.binds.requested = total as u64;
        let concurrency = self.plan.bind_concurrency.max(1);
        let deadline = Instant::now() + self.plan.setup_timeout;
        let mut opened = 0;
        let mut in_flight: Vec<(usize, Instant)> = Vec::with_capacity(concurrency);
        self.in_setup = true;
        loop {
            while opened < total && in_flight.len() < concurrency && Instant::now() < deadline {
                let mo = opened >= own;
                let role = if mo {
                    mo_role
                } else {
                    roles[opened % roles.len()]
                };
                opened += 1;
                match self.open(role, mo) {
                    Ok(key) => in_flight.push((key, Instant::now())),
                    Err(e) => {
                        self.binds.note_error(&e);
                        self.binds.failed += 1;
                    }
                }
            }
            self.retire(&mut in_flight);
            if in_flight.is_empty() && (opened == total || Instant::now() >= deadline) {
                break;
            }
            if let Err(e) = self.poll_once(MAX_POLL_WAIT) {
                self.in_setup = false;
                return Err(format!("poll: {e}"));
            }
            self.flush_dirty();
        }
        self.in_setup = false;
        if opened < total {
            let left = (total - opened) as u64;
            self.binds.failed += left;
            self.binds.note_error(&format!(
                "{left} not tried: binding took longer than {:?}",
                self.plan.setup_timeout
            ));
        }
        // Only the bound ones take part; the others are already deregistered.
        let conns = &self.conns;
        self.submitters
            .retain(|k| conns.get(*k).is_some_and(|c| c.state == State::Bound));
        self.conns.retain(|_, c| c.state != State::Closed);
        if self.submitters.is_empty() {
            return Err(self
                .binds
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| "no bind succeeded".into()));
        }
        Ok(())
    }

    /// Counts the connections that are bound or failed, and fails the ones
    /// that took longer than [`BIND_TIMEOUT`].
    fn retire(&mut self, in_flight: &mut Vec<(usize, Instant)>) {
        let now = Instant::now();
        let mut i = 0;
        while i < in_flight.len() {
            let (key, started) = in_flight[i];
            let Some(c) = self.conns.get_mut(key) else {
                in_flight.swap_remove(i);
                continue;
            };
            match c.state {
                State::Bound => {
                    self.binds.bound += 1;
                    if c.role != Role::Rx && !c.mo {
                        self.submitters.push(key);
                    }
                }
                State::Closed => self.binds.failed += 1,
                _ if now.duration_since(started) > BIND_TIMEOUT => {
                    c.state = State::Closed;
                    let _ = self.poll.registry().deregister(&mut c.stream);
                    self.binds.failed += 1;
                    self.binds
                        .note_error(&format!("bind not answered within {BIND_TIMEOUT:?}"));
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
            in_flight.swap_remove(i);
        }
    }

    pub(super) fn write_bind(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let seq = c.alloc_seq();
        let (system_id, password) = match (&self.plan.mo, c.mo) {
            (Some(m), true) => (m.system_id.as_bytes(), m.password.as_bytes()),
            _ => (
                self.plan.system_id.as_bytes(),
                self.plan.password.as_bytes(),
            ),
        };
        let bind = Bind {
            system_id,
            password,
            system_type: b"",
            interface_version: 0x34,
            addr_ton: 0,
            addr_npi: 0,
            address_range: b"",
        };
        let body = match c.role {
            Role::Tx => Body::BindTransmitter(bind),
            Role::Rx => Body::BindReceiver(bind),
            Role::Trx => Body::BindTransceiver(bind),
        };
        match Pdu::new(seq, body).to_vec() {
            Ok(v) => c.wbuf.extend_from_slice(&v),
            Err(e) => self.error = Some(format!("cannot encode bind: {e:?}")),
        }
        c.state = State::Binding;
        mark_dirty(&mut self.dirty, c, key);
    }

    /// Closes the books with the other threads, then unbinds politely
    /// (receipts arriving now are late).
    pub(super) fn finish(&mut self) {
        self.finishing = true;
        self.sending = false;
        self.flush_outbox();
        if !self.shared.finish.wait(BARRIER_TIMEOUT) && self.error.is_none() {
            self.error = Some("finish barrier timed out".into());
        }
        self.drain_inbox();
        self.matcher.finish();
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(c) = self.conns.get_mut(key) {
                if c.state == State::Bound {
                    let seq = c.alloc_seq();
                    write_header(&mut c.wbuf, CommandId::UNBIND, 0, seq);
                    c.state = State::Unbinding;
                    mark_dirty(&mut self.dirty, c, key);
                }
            }
        }
        self.flush_dirty();
        let deadline = Instant::now() + UNBIND_TIMEOUT;
        while self.conns.iter().any(|(_, c)| c.state == State::Unbinding) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if self.poll_once(left.min(MAX_POLL_WAIT)).is_err() {
                break;
            }
            self.flush_dirty();
        }
        for (_, c) in self.conns.iter_mut() {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
        self.conns.clear();
    }
}
