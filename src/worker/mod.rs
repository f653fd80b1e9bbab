//! One event loop per core: a `mio::Poll`, its own SO_REUSEPORT listener, a
//! slab of connections, and the links to the other loops. Mechanics only:
//! poll, accept, read, flush, close, reap, fire timers, housekeeping, ship
//! and drain the links. Every SMPP decision is the session's
//! (`session/`), acceptance's (`accept/`) or delivery's (`delivery/`),
//! working on the loop's [`LoopState`].
//!
//! One iteration (see docs/architecture.md for the whole path):
//! poll -> accept, drain mailboxes -> per ready connection: read, decode,
//! answer, pump the receipts it produced, flush -> fire timers ->
//! housekeeping (every 100 ms) -> pump and flush what those produced ->
//! send cross-loop batches -> reap closes.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod accept;
mod admin;
mod housekeeping;
mod links;
mod tls;

pub use accept::Listeners;

use crate::clock::{Kind, TimerKey, TICK};
use crate::conn::{Conn, ConnKey, Session, State};
use crate::delivery::{Item, Sessions};
use crate::link::{InLink, OutLink};
use crate::loop_state::LoopState;
use crate::metrics::Snapshot;
use crate::remote::Mail;
use crate::server::Shared;
use crate::session;
use crate::transport::Transport;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::io::{self, ErrorKind};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const TLS_LISTENER: Token = Token(2);
const CONN_BASE: usize = 3;

/// Housekeeping (metrics publish, shutdown check, accept resume) period in ticks.
const HOUSEKEEPING_TICKS: u64 = 10;
/// Bytes read from one connection before yielding to the others.
const READ_BUDGET: usize = 1 << 20;
const RX_INITIAL: usize = 4096;
/// Read buffer size a busy connection grows to (fewer reads per PDU).
const RX_BUSY: usize = 256 * 1024;
/// A connection idle this long (in ticks) releases its buffers.
const IDLE_RELEASE_TICKS: u64 = 100;
const TX_INITIAL: usize = 4096;

pub struct Worker {
    st: LoopState,
    shared: Arc<Shared>,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    listener: TcpListener,
    /// The loop's own socket of `--tls-listen`.
    tls_listener: Option<TcpListener>,
    /// The TLS configuration this loop's new handshakes use, with the
    /// reload version it was taken at.
    tls_config: Option<(usize, Arc<rustls::ServerConfig>)>,
    /// Ciphertext read from a TLS socket before rustls decrypts it (64 KiB
    /// per loop; empty without TLS).
    tls_scratch: Vec<u8>,
    listening: bool,
    accept_paused: bool,
    conns: Slab<Conn>,
    next_gen: u32,
    scratch: Vec<u8>,
    /// Where a PROXY protocol header is peeked at.
    proxy_scratch: Box<[u8; crate::proxy::MAX_HEADER]>,
    senders: Vec<Option<OutLink<Item>>>,
    receivers: Vec<InLink<Item>>,
    /// The management links (`remote.rs`), one pair per other loop.
    mail_senders: Vec<Option<OutLink<Mail>>>,
    mail_receivers: Vec<InLink<Mail>>,
    /// The admin thread's requests (`admin::Request`; `worker/admin.rs`).
    admin: Option<std::sync::mpsc::Receiver<crate::admin::Request>>,
    flush_list: Vec<usize>,
    /// Connections whose receipts wait for their read in this iteration
    /// (`Session::read_pending`); flushed at its end in any case.
    held_list: Vec<usize>,
    /// Connections whose write waits for a failed journal commit.
    flush_retry: Vec<usize>,
    /// A journal commit failed: no new attempt until housekeeping.
    journal_blocked: bool,
    ready: Vec<usize>,
    close_list: Vec<usize>,
    fired: Vec<TimerKey>,
    last_housekeeping: u64,
    /// The accounts version this loop has applied (see `accounts_reloaded`).
    accounts_seen: usize,
    last_stats: Instant,
    last_stats_snapshot: Snapshot,
    shutdown_deadline: Option<Instant>,
}

/// What one read of a connection brought.
enum Step {
    /// `n` octets read (ciphertext for TLS); `drained`: a short read;
    /// `eof`: the peer closed right after them (TLS close_notify).
    Data {
        n: usize,
        drained: bool,
        eof: bool,
    },
    Blocked,
    Eof,
    /// rx cannot take more: a framing error.
    Full,
    /// TLS failed: flush its alert, then close.
    Failed,
}

/// The loop's connections as delivery sees them: sessions by key, and a
/// flush scheduled for each one written to.
struct Conns<'a> {
    slab: &'a mut Slab<Conn>,
    flush_list: &'a mut Vec<usize>,
    held_list: &'a mut Vec<usize>,
}

impl Sessions for Conns<'_> {
    #[inline]
    fn get(&mut self, key: ConnKey) -> Option<&mut Session> {
        self.slab
            .get_mut(key.slot as usize)
            .map(|c| &mut c.s)
            .filter(|s| s.key == key)
    }

    #[inline]
    fn wrote(&mut self, key: ConnKey, receipt: bool) {
        if let Some(c) = self.slab.get_mut(key.slot as usize) {
            // A receipt made by another session's PDUs (an MO's answer,
            // typically) for a session that is itself to be read in this
            // iteration: it leaves with that read's answers, one write
            // instead of two (docs/architecture.md, read path step 9).
            if receipt && c.s.read_pending {
                if !c.s.in_flush_list && !c.s.in_held_list {
                    c.s.in_held_list = true;
                    self.held_list.push(key.slot as usize);
                }
            } else if !c.s.in_flush_list {
                c.s.in_flush_list = true;
                self.flush_list.push(key.slot as usize);
            }
        }
    }
}

impl Worker {
    pub fn new(
        id: usize,
        shared: Arc<Shared>,
        listeners: Listeners,
        senders: Vec<Option<OutLink<Item>>>,
        receivers: Vec<InLink<Item>>,
        mail_senders: Vec<Option<OutLink<Mail>>>,
        mail_receivers: Vec<InLink<Mail>>,
    ) -> io::Result<Worker> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let Listeners {
            plain: mut listener,
            tls: mut tls_listener,
        } = listeners;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        if let Some(l) = &mut tls_listener {
            poll.registry()
                .register(l, TLS_LISTENER, Interest::READABLE)?;
        }
        let tls_scratch = if tls_listener.is_some() {
            vec![0; tls::SCRATCH]
        } else {
            Vec::new()
        };
        Ok(Worker {
            st: LoopState::new(id, &shared),
            poll,
            events: Events::with_capacity(1024),
            waker,
            listener,
            tls_listener,
            tls_config: None,
            tls_scratch,
            listening: true,
            accept_paused: false,
            conns: Slab::new(),
            next_gen: 0,
            scratch: vec![0; shared.config.max_pdu_bytes as usize],
            proxy_scratch: Box::new([0; crate::proxy::MAX_HEADER]),
            senders,
            receivers,
            mail_senders,
            mail_receivers,
            admin: None,
            flush_list: Vec::new(),
            held_list: Vec::new(),
            flush_retry: Vec::new(),
            journal_blocked: false,
            ready: Vec::new(),
            close_list: Vec::new(),
            fired: Vec::new(),
            last_housekeeping: 0,
            accounts_seen: shared.accounts_version(),
            last_stats: Instant::now(),
            last_stats_snapshot: Snapshot::default(),
            shutdown_deadline: None,
            shared,
        })
    }

    /// Where this loop's admin requests arrive.
    pub fn set_admin(&mut self, rx: std::sync::mpsc::Receiver<crate::admin::Request>) {
        self.admin = Some(rx);
    }

    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    /// Runs the loop until shutdown completes.
    pub fn run(&mut self) {
        let mut ready_now: Vec<usize> = Vec::new();
        let mut writable_now: Vec<usize> = Vec::new();
        loop {
            let timeout = if !self.ready.is_empty() {
                Some(Duration::ZERO)
            } else if self.st.delivery.outbox.iter().any(|b| !b.is_empty()) {
                // A full link to another loop: retry after one tick.
                Some(TICK)
            } else {
                let next = self.st.clock.next_deadline().unwrap_or(u64::MAX);
                let hk = self.last_housekeeping + HOUSEKEEPING_TICKS;
                let t = next.min(hk).saturating_sub(self.st.clock.tick);
                Some(TICK * (t.clamp(1, 100) as u32))
            };
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() != ErrorKind::Interrupted {
                    tracing::warn!("loop {}: poll failed: {e}", self.st.id);
                }
            }
            self.st.clock.update();
            self.st.m.loop_iterations += 1;
            if self.shared.accounts_version() != self.accounts_seen {
                self.accounts_reloaded();
            }

            let mut wake = false;
            let mut accept = false;
            let mut accept_tls = false;
            // Events are copied out so the handlers may borrow `self`.
            ready_now.clear();
            writable_now.clear();
            for ev in self.events.iter() {
                self.st.m.loop_events += 1;
                match ev.token() {
                    LISTENER => accept = true,
                    WAKER => wake = true,
                    TLS_LISTENER => accept_tls = true,
                    Token(t) => {
                        let idx = t - CONN_BASE;
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            ready_now.push(idx);
                        }
                        if ev.is_read_closed() || ev.is_error() {
                            // The peer's FIN came with this event: read on
                            // to the end of file instead of stopping at a
                            // short read (no later event would report it).
                            if let Some(c) = self.conns.get_mut(idx) {
                                c.s.hup = true;
                            }
                        }
                        if ev.is_writable() {
                            writable_now.push(idx);
                        }
                    }
                }
            }
            for &idx in &writable_now {
                self.mark_flush(idx);
            }
            if accept {
                self.accept_all(false);
            }
            if accept_tls {
                self.accept_all(true);
            }
            if wake {
                self.drain_mailboxes();
            }
            ready_now.append(&mut self.ready);
            for &idx in &ready_now {
                if let Some(c) = self.conns.get_mut(idx) {
                    c.s.read_pending = true;
                }
            }
            // Each connection is answered as soon as it is read (on_readable).
            for &idx in &ready_now {
                self.on_readable(idx);
            }
            self.fire_timers();
            if self.st.clock.tick >= self.last_housekeeping + HOUSEKEEPING_TICKS {
                self.last_housekeeping = self.st.clock.tick;
                if self.housekeeping() {
                    break;
                }
            }
            // What mailboxes, timers and housekeeping produced, and the
            // connections that became writable, go out in this iteration too.
            self.st.delivery.route_fresh(&self.shared);
            self.pump_dirty();
            self.flush_all();
            self.send_outboxes();
            self.reap();
        }
    }

    // ------------------------------------------------------------- read path

    fn on_readable(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        conn.s.read_pending = false;
        if conn.s.closed || conn.s.state == State::Closing {
            return;
        }
        if conn.s.proxy_pending {
            match accept::proxy_header(conn, &mut self.proxy_scratch, &mut self.st.m) {
                Some(true) => {}
                Some(false) => return,
                None => {
                    self.close(idx);
                    return;
                }
            }
        }
        let (st, shared) = (&mut self.st, &*self.shared);
        // Frames left over from a backpressure pause come first.
        if !conn.rx.is_empty() {
            session::process_frames(st, shared, &mut conn.rx, &mut conn.s, &mut self.scratch);
        }
        let mut budget = READ_BUDGET;
        loop {
            if conn.s.tx.len() >= st.high_watermark {
                // Backpressure: stop reading until the peer drains its responses.
                if !conn.s.read_paused {
                    conn.s.read_paused = true;
                    st.m.backpressure_pauses += 1;
                }
                break;
            }
            // The one branch the transport costs the plaintext path.
            let step = match &mut conn.io {
                Transport::Plain(stream) => {
                    if conn.rx.is_full() {
                        // Only possible if a frame larger than the buffer is
                        // announced, which check_frame refuses first.
                        Step::Full
                    } else {
                        let room = conn.rx.capacity() - conn.rx.len();
                        match conn.rx.read_from(stream) {
                            Ok(0) => Step::Eof,
                            Ok(n) => {
                                st.m.bytes_rx += n as u64;
                                if conn.s.state == State::Open {
                                    tls::count_tls_on_plain_port(&conn.rx, &mut st.m);
                                }
                                Step::Data {
                                    n,
                                    drained: n < room,
                                    eof: false,
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => Step::Blocked,
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            Err(_) => Step::Eof,
                        }
                    }
                }
                Transport::Tls(t) => tls::read_step(
                    t,
                    &mut conn.rx,
                    &mut conn.s,
                    &mut st.m,
                    &mut self.tls_scratch,
                ),
            };
            match step {
                Step::Full => {
                    // Treated as a framing error.
                    conn.s.close_after_flush = true;
                    break;
                }
                Step::Eof => {
                    conn.s.closed_by_peer();
                    break;
                }
                // A TLS failure: its alert is flushed, then the close.
                Step::Blocked | Step::Failed => break,
                Step::Data { n, drained, eof } => {
                    session::process_frames(
                        st,
                        shared,
                        &mut conn.rx,
                        &mut conn.s,
                        &mut self.scratch,
                    );
                    if eof {
                        conn.s.closed_by_peer();
                        break;
                    }
                    if conn.s.state == State::Closing || conn.s.close_after_flush {
                        break;
                    }
                    // A short read drained the socket: edge-triggered epoll
                    // reports the next arrival, so skip the read that would
                    // only return WouldBlock (one syscall per event saved).
                    if drained && !conn.s.hup {
                        break;
                    }
                    // The read filled the buffer: a busy connection.
                    conn.rx.grow_towards(RX_BUSY);
                    budget = budget.saturating_sub(n.max(1));
                    if budget == 0 {
                        self.ready.push(idx);
                        break;
                    }
                }
            }
        }
        let close = conn.s.state == State::Closing && !conn.s.close_after_flush;
        if close {
            self.mark_flush(idx);
            self.close(idx);
            return;
        }
        self.mark_flush(idx);
        // `--journal fsync`: every connection read in this iteration is
        // answered at its end, after one commit for all of them (one
        // fdatasync per iteration, not one per connection). In `write`
        // mode a commit is a copy into the mapped segment, so each
        // connection is answered when read, as without a journal (`flush`
        // commits first): answering all at the end made the ESMEs and the
        // loop sleep and wake in turn (docs/performance.md, the journal).
        if self.st.delivery.journal.group_commit() {
            return;
        }
        // Answer now, like a request/response server should: receipts made
        // by these PDUs are pumped first so a TRX session gets its
        // submit_sm_resp and the receipt in the same write. What they made
        // for other sessions (an MO for its receiver, receipts of other
        // binds) leaves first: another ESME is waiting for it, and the
        // round trip it starts (its answer, then the submitter's receipt)
        // overlaps this connection's write instead of following it.
        self.pump_dirty();
        self.flush_all_then(Some(idx));
    }

    fn mark_flush(&mut self, idx: usize) {
        if let Some(c) = self.conns.get_mut(idx) {
            if !c.s.in_flush_list {
                c.s.in_flush_list = true;
                self.flush_list.push(idx);
            }
        }
    }

    /// Delivery's pump over this loop's connections; the MO outcomes it
    /// produced go to their submitters' stores.
    fn pump_dirty(&mut self) {
        crate::manage::settle_outcomes(&mut self.st, &self.shared);
        let mut conns = Conns {
            slab: &mut self.conns,
            flush_list: &mut self.flush_list,
            held_list: &mut self.held_list,
        };
        self.st
            .delivery
            .pump_dirty(&mut conns, &mut self.st.clock, &mut self.st.m, &self.shared);
    }

    // ------------------------------------------------------------ write path

    /// Commits this iteration's journal lines; false if that failed (the
    /// lines are kept and retried, and no socket is written meanwhile).
    fn commit_journal(&mut self) -> bool {
        if !self.st.delivery.journal.is_pending() {
            return true;
        }
        // After a failure, one retry per housekeeping tick, not one per
        // connection flush.
        if self.journal_blocked {
            return false;
        }
        let ok = self
            .st
            .delivery
            .journal
            .commit(&self.shared, &mut self.st.m);
        self.journal_blocked = !ok;
        ok
    }

    /// A connection whose write waits for the journal: tried again at the
    /// next housekeeping tick.
    fn mark_flush_later(&mut self, idx: usize) {
        if let Some(c) = self.conns.get_mut(idx) {
            c.s.in_flush_list = false;
        }
        if !self.flush_retry.contains(&idx) {
            self.flush_retry.push(idx);
        }
    }

    /// Flushes everything, the output held for reads included.
    fn flush_all(&mut self) {
        let mut held = std::mem::take(&mut self.held_list);
        for &idx in &held {
            if let Some(c) = self.conns.get_mut(idx) {
                c.s.in_held_list = false;
            }
            self.mark_flush(idx);
        }
        held.clear();
        self.held_list = held;
        self.flush_all_then(None);
    }

    /// Flushes every connection written to, `last` (if it was) after the
    /// others.
    fn flush_all_then(&mut self, last: Option<usize>) {
        let mut list = std::mem::take(&mut self.flush_list);
        for &idx in list.iter().filter(|&&i| Some(i) != last) {
            self.flush(idx);
        }
        if let Some(idx) = last {
            self.flush(idx);
        }
        list.clear();
        if self.flush_list.is_empty() {
            self.flush_list = list;
        }
        // Responses timed from the iteration's clock read to this flush.
        self.st.m.record_flush(self.st.clock.now);
    }

    fn flush(&mut self, idx: usize) {
        // Nothing leaves before the receipts it answers for are journaled.
        if !self.commit_journal() {
            self.mark_flush_later(idx);
            return;
        }
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        conn.s.in_flush_list = false;
        if conn.s.closed {
            return;
        }
        let mut failed = false;
        let pending = match &mut conn.io {
            Transport::Plain(stream) => {
                while !conn.s.tx.is_empty() {
                    match conn.s.tx.write_to(stream) {
                        Ok(0) => break,
                        Ok(n) => self.st.m.bytes_tx += n as u64,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                !conn.s.tx.is_empty()
            }
            Transport::Tls(t) => {
                let (ok, pending) = tls::flush(t, &mut conn.s, &mut self.st.m);
                failed = !ok;
                pending
            }
        };
        if !pending && conn.s.close_after_flush {
            failed = true;
        }
        let want_write = pending && !failed;
        if want_write != conn.s.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let token = Token(idx + CONN_BASE);
            if self
                .poll
                .registry()
                .reregister(conn.io.stream_mut(), token, interest)
                .is_ok()
            {
                conn.s.write_interest = want_write;
            } else {
                failed = true;
            }
        }
        if conn.s.read_paused && conn.s.tx.len() < self.st.high_watermark / 2 {
            conn.s.read_paused = false;
            // Edge-triggered: the readiness was consumed; look again.
            self.ready.push(idx);
        }
        if failed {
            self.close(idx);
        }
    }

    // --------------------------------------------------------------- closing

    fn close(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        if conn.s.closed {
            return;
        }
        conn.s.closed = true;
        conn.s.state = State::Closing;
        let _ = self.poll.registry().deregister(conn.io.stream_mut());
        if conn.io.tls().is_some_and(|t| t.established) {
            self.st.m.tls_sessions_current = self.st.m.tls_sessions_current.saturating_sub(1);
        }
        session::end(&mut self.st, &self.shared, &mut conn.s);
        self.close_list.push(idx);
    }

    fn reap(&mut self) {
        for idx in std::mem::take(&mut self.close_list) {
            if self.conns.contains(idx) {
                let conn = self.conns.remove(idx);
                tracing::debug!(worker = self.st.id, peer = %conn.s.peer, "closed");
                self.shared.connections.fetch_sub(1, Ordering::Relaxed);
                self.st.m.conn_closed += 1;
                self.st.m.conn_current = self.st.m.conn_current.saturating_sub(1);
            }
        }
    }

    // ---------------------------------------------------------------- timers

    /// Hands each fired timer to its owner.
    fn fire_timers(&mut self) {
        self.st.arm_deferred();
        self.fired.clear();
        self.st.clock.fire(&mut self.fired);
        let fired = std::mem::take(&mut self.fired);
        for key in &fired {
            self.st.m.timers_fired += 1;
            match key.kind {
                Kind::Receipt => self.st.delivery.on_delayed(key.slot as usize, key.gen),
                Kind::LateResponse => self.on_late_response(key.slot as usize),
                Kind::Message => crate::manage::on_message_due(
                    &mut self.st,
                    &self.shared,
                    key.slot as usize,
                    key.gen,
                ),
                _ => {
                    let idx = key.slot as usize;
                    let Some(conn) = self.conns.get_mut(idx) else {
                        continue;
                    };
                    if conn.s.key.gen != key.gen || conn.s.closed {
                        continue;
                    }
                    let close =
                        session::on_timer(&mut self.st, &self.shared, &mut conn.s, key.kind);
                    if close && key.kind == Kind::SessionInit {
                        tls::count_stalled_handshake(&mut conn.io, &mut self.st.m);
                    }
                    self.mark_flush(idx);
                    if close {
                        self.close(idx);
                    }
                }
            }
        }
        self.fired = fired;
    }

    /// A response held by a `late:` rule is due: written if its session is
    /// still there.
    fn on_late_response(&mut self, slot: usize) {
        let Some(late) = self.st.accept.late.try_remove(slot) else {
            return;
        };
        let idx = late.key.slot as usize;
        if let Some(conn) = self.conns.get_mut(idx) {
            if conn.s.key == late.key && !conn.s.closed {
                session::respond::respond_accepted(
                    &mut self.st.m,
                    &mut conn.s,
                    late.seq,
                    &late.id,
                    late.data_sm,
                );
                self.mark_flush(idx);
            }
        }
    }

    /// Loop 0, before the loops start: receipts the journal still had.
    pub fn load_journaled(&mut self, entries: Vec<(u64, crate::journal::Entry)>) {
        crate::persist::load_journaled(&mut self.st, &self.shared, entries);
    }

    /// Loop 0, before the loops start: receipts spooled by the last stop.
    pub fn load_spool(&mut self, dir: &std::path::Path) {
        crate::persist::load_spool(dir, &mut self.st.delivery, &self.shared, &mut self.st.m);
    }
}
