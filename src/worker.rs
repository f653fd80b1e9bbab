//! One event loop per core: a `mio::Poll`, its own SO_REUSEPORT listener, a
//! slab of connections, a timer wheel, per-account receipt queues and
//! mailboxes to the other loops.
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

use crate::account::{AccountId, BindType};
use crate::buf::RingBuf;
use crate::conn::{Conn, ConnKey, Inflight, Session, State};
use crate::dlr::Stat;
use crate::link::{Batch, InLink, OutLink, Shipped};
use crate::metrics::{AccountCounters, Counters, Snapshot};
use crate::msgid::{MessageId, MsgIdGen};
use crate::outcome::PrefixAction;
use crate::pdu::{self, Body, CommandId, CommandStatus as S, MessageIdResp, Sm, Tag, TlvBuf};
use crate::receipt::{self, Addr, Receipt};
use crate::server::Shared;
use crate::submit;
use crate::text::Encoding;
use crate::timer::TimerWheel;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const CONN_BASE: usize = 2;

/// Timer wheel granularity.
const TICK: Duration = Duration::from_millis(10);
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    SessionInit,
    EnquireLink,
    Inactivity,
    Response,
    /// A delayed receipt or response; `slot` indexes `Ctx::delayed`.
    Delayed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct TimerKey {
    slot: u32,
    gen: u32,
    kind: Kind,
}

enum Delayed {
    Receipt(Receipt),
    /// A submit_sm_resp (or data_sm_resp) held back by a `late:` rule.
    Response {
        key: ConnKey,
        seq: u32,
        id: MessageId,
        data_sm: bool,
    },
}

/// The OK answer (submit_sm_resp / data_sm_resp) to an accepted message.
fn respond_accepted(m: &mut Counters, s: &mut Session, seq: u32, id: &MessageId, data_sm: bool) {
    if data_sm {
        let body = pdu::DataSmResp {
            message_id: id,
            tlvs: pdu::Tlvs::EMPTY,
        };
        respond_typed(m, s, CommandId::DATA_SM_RESP, seq, S::ESME_ROK, &body);
    } else {
        let body = MessageIdResp { message_id: id };
        respond_typed(m, s, CommandId::SUBMIT_SM_RESP, seq, S::ESME_ROK, &body);
    }
}

/// An account's receipt state on this loop.
#[derive(Default)]
struct AcctLocal {
    /// Keys into `Ctx::store`, oldest first.
    queue: VecDeque<u32>,
    receivers: Vec<ConnKey>,
    rr: usize,
    /// Queue length last added to the shared `queued` counter.
    published: usize,
    dirty: bool,
}

/// What the PDU handlers need besides the connection itself.
struct Ctx {
    id: usize,
    shared: Arc<Shared>,
    now: Instant,
    tick: u64,
    now_unix: i64,
    timers: TimerWheel<TimerKey>,
    m: Counters,
    am: Vec<AccountCounters>,
    msgid: MsgIdGen,
    rng: u64,
    delayed: Slab<Delayed>,
    acct: Vec<AcctLocal>,
    dirty: Vec<usize>,
    /// Receipts back from delays, mailboxes and the spool, to be routed.
    fresh: Vec<Receipt>,
    /// Scratch list of loops with a receiver for the account being pumped.
    targets: Vec<usize>,
    /// Every receipt queued or in flight on this loop. Queues and windows
    /// move 4-byte keys into it, not the 150-byte records.
    store: Slab<Receipt>,
    dates: receipt::DateCache,
    /// This iteration's journal lines (`--journal`), committed before any
    /// socket write.
    journal: Option<crate::journal::Batch>,
    /// Counter part of the next jid (see [`Ctx::new_jid`]).
    jid_next: u64,
    zero_means: Encoding,
    window: usize,
    high_watermark: usize,
    el_ticks: u64,
    inact_ticks: u64,
    resp_ticks: u64,
    init_ticks: u64,
}

impl Ctx {
    /// A jid no other loop or earlier run uses: the loop number in the low
    /// bits, this loop's counter above.
    fn new_jid(&mut self) -> u64 {
        let jid = self.jid_next << crate::journal::LOOP_BITS | self.id as u64;
        self.jid_next += 1;
        jid
    }

    /// Journals a receipt that was just created (no-op without --journal).
    fn journal_add(&mut self, key: usize, system_id: &str) {
        if self.journal.is_none() {
            return;
        }
        let jid = self.new_jid();
        if let (Some(r), Some(b)) = (self.store.get_mut(key), self.journal.as_mut()) {
            r.jid = jid;
            b.add(r, system_id);
        }
    }

    /// Journals a receipt as finished: delivered, refused, dropped, expired.
    #[inline]
    fn journal_done(&mut self, jid: u64) {
        if let Some(b) = self.journal.as_mut() {
            b.done(jid);
        }
    }

    /// Puts a receipt in the store and its key on its account's queue.
    #[inline(always)]
    fn enqueue(&mut self, r: Receipt) {
        let a = r.account.index();
        let key = self.store.insert(r);
        self.enqueue_stored(a, key);
    }

    /// Per-account tables as long as the accounts in force (a reload may
    /// have added some; another loop may send their receipts first).
    fn grow_accounts(&mut self) {
        let n = self.shared.accounts().len();
        if self.acct.len() < n {
            self.acct.resize_with(n, AcctLocal::default);
        }
        if self.am.len() < n {
            self.am.resize(n, AccountCounters::default());
        }
    }

    /// Queues a receipt already in the store (key `key`) for account `a`.
    #[inline(always)]
    fn enqueue_stored(&mut self, a: usize, key: usize) {
        if a >= self.acct.len() {
            self.grow_accounts();
        }
        match self.acct.get_mut(a) {
            Some(al) => {
                al.queue.push_back(key as u32);
                self.mark_dirty(a);
            }
            None => {
                if let Some(r) = self.store.try_remove(key) {
                    self.journal_done(r.jid);
                }
            }
        }
    }

    /// Schedules a pump of account `a` at the end of this iteration.
    #[inline]
    fn mark_dirty(&mut self, a: usize) {
        if let Some(al) = self.acct.get_mut(a) {
            if !al.dirty {
                al.dirty = true;
                self.dirty.push(a);
            }
        }
    }

    /// Schedules a pump of every account holding receipts (a receiver may
    /// have bound on another loop; some may have expired).
    fn mark_held_dirty(&mut self) {
        for a in 0..self.acct.len() {
            if self.acct.get(a).is_some_and(|al| !al.queue.is_empty()) {
                self.mark_dirty(a);
            }
        }
    }
}

pub struct Worker {
    ctx: Ctx,
    /// Same as `ctx.shared`; a separate handle so the frame path can borrow
    /// it while `ctx` is borrowed mutably (no Arc clone per PDU).
    shared: Arc<Shared>,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    listener: TcpListener,
    listening: bool,
    accept_paused: bool,
    conns: Slab<Conn>,
    next_gen: u32,
    scratch: Vec<u8>,
    senders: Vec<Option<OutLink>>,
    receivers: Vec<InLink>,
    outbox: Vec<Batch>,
    flush_list: Vec<usize>,
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

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis()).max(1) as u64
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Worker {
    pub fn new(
        id: usize,
        shared: Arc<Shared>,
        listener: TcpListener,
        senders: Vec<Option<OutLink>>,
        receivers: Vec<InLink>,
    ) -> io::Result<Worker> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mut listener = listener;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let cfg = &shared.config;
        let n_accounts = cfg.accounts.len();
        let zero_means = match cfg.data_coding_zero {
            crate::config::ZeroCoding::Gsm7 => Encoding::Gsm7,
            crate::config::ZeroCoding::Latin1 => Encoding::Latin1,
            crate::config::ZeroCoding::Ascii => Encoding::Ascii,
        };
        let ctx = Ctx {
            id,
            now: Instant::now(),
            tick: 0,
            now_unix: unix_now(),
            timers: TimerWheel::new(1024),
            m: Counters::new(),
            am: vec![AccountCounters::default(); n_accounts],
            msgid: MsgIdGen::new(shared.start_unix_ms, id as u8),
            rng: 0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) << 32) ^ shared.start_unix_ms,
            delayed: Slab::new(),
            acct: (0..n_accounts).map(|_| AcctLocal::default()).collect(),
            dirty: Vec::new(),
            fresh: Vec::new(),
            targets: Vec::new(),
            store: Slab::new(),
            dates: receipt::DateCache::default(),
            journal: (cfg.journal != crate::journal::Mode::Off)
                .then(crate::journal::Batch::default),
            jid_next: shared.jid_base,
            zero_means,
            window: cfg.window,
            high_watermark: cfg
                .max_write_buffer_bytes
                .saturating_sub(cfg.max_pdu_bytes as usize + 4096)
                .max(16 * 1024),
            el_ticks: ticks(cfg.enquire_link_timer),
            inact_ticks: ticks(cfg.inactivity_timer),
            resp_ticks: ticks(cfg.response_timer),
            init_ticks: ticks(cfg.session_init_timer),
            shared: shared.clone(),
        };
        let n = shared.config.threads;
        Ok(Worker {
            shared: ctx.shared.clone(),
            ctx,
            poll,
            events: Events::with_capacity(1024),
            waker,
            listener,
            listening: true,
            accept_paused: false,
            conns: Slab::new(),
            next_gen: 0,
            scratch: vec![0; shared.config.max_pdu_bytes as usize],
            senders,
            receivers,
            outbox: (0..n).map(|_| Vec::new()).collect(),
            flush_list: Vec::new(),
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
        })
    }

    pub fn waker(&self) -> Arc<Waker> {
        self.waker.clone()
    }

    fn start(&self) -> Instant {
        self.ctx.shared.epoch
    }

    /// Runs the loop until shutdown completes.
    pub fn run(&mut self) {
        let mut ready_now: Vec<usize> = Vec::new();
        let mut writable_now: Vec<usize> = Vec::new();
        loop {
            let timeout = if !self.ready.is_empty() {
                Some(Duration::ZERO)
            } else if self.outbox.iter().any(|b| !b.is_empty()) {
                // A full link to another loop: retry after one tick.
                Some(TICK)
            } else {
                let next = self.ctx.timers.next_deadline().unwrap_or(u64::MAX);
                let hk = self.last_housekeeping + HOUSEKEEPING_TICKS;
                let t = next.min(hk).saturating_sub(self.ctx.tick);
                Some(TICK * (t.clamp(1, 100) as u32))
            };
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() != ErrorKind::Interrupted {
                    crate::log::warn(format_args!("loop {}: poll failed: {e}", self.ctx.id));
                }
            }
            self.ctx.now = Instant::now();
            self.ctx.tick =
                (self.ctx.now.duration_since(self.start()).as_millis() / TICK.as_millis()) as u64;
            self.ctx.m.loop_iterations += 1;
            if self.shared.accounts_version() != self.accounts_seen {
                self.accounts_reloaded();
            }

            let mut wake = false;
            let mut accept = false;
            // Events are copied out so the handlers may borrow `self`.
            ready_now.clear();
            writable_now.clear();
            for ev in self.events.iter() {
                self.ctx.m.loop_events += 1;
                match ev.token() {
                    LISTENER => accept = true,
                    WAKER => wake = true,
                    Token(t) => {
                        let idx = t - CONN_BASE;
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            ready_now.push(idx);
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
                self.accept_all();
            }
            if wake {
                self.drain_mailboxes();
            }
            ready_now.append(&mut self.ready);
            // Each connection is answered as soon as it is read (on_readable).
            for &idx in &ready_now {
                self.on_readable(idx);
            }
            self.fire_timers();
            if self.ctx.tick >= self.last_housekeeping + HOUSEKEEPING_TICKS {
                self.last_housekeeping = self.ctx.tick;
                if self.housekeeping() {
                    break;
                }
            }
            // What mailboxes, timers and housekeeping produced, and the
            // connections that became writable, go out in this iteration too.
            self.route_fresh();
            self.pump_dirty();
            self.flush_all();
            self.send_outboxes();
            self.reap();
        }
    }

    /// After a reload: tables for new accounts, and sessions of removed
    /// accounts are unbound (they close when they answer, or at the
    /// response timer).
    fn accounts_reloaded(&mut self) {
        self.accounts_seen = self.shared.accounts_version();
        self.ctx.grow_accounts();
        let shared = self.shared.clone();
        let accounts = shared.accounts();
        let gone: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.s.is_bound()
                    && c.s.unbind_pending.is_none()
                    && c.s
                        .account
                        .and_then(|a| accounts.get(a))
                        .is_some_and(|a| a.removed)
            })
            .map(|(i, _)| i)
            .collect();
        for idx in gone {
            if let Some(conn) = self.conns.get_mut(idx) {
                start_unbind(&mut self.ctx, &mut conn.s);
                self.mark_flush(idx);
            }
        }
    }

    // ---------------------------------------------------------------- accept

    fn accept_all(&mut self) {
        if !self.listening || self.accept_paused {
            return;
        }
        let max = self.ctx.shared.config.max_connections;
        loop {
            if self.ctx.shared.connections.load(Ordering::Relaxed) >= max {
                // Stop accepting; housekeeping resumes below 90% of the limit.
                self.accept_paused = true;
                self.ctx.m.conn_rejected_limit += 1;
                return;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.add_conn(stream, peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: back off and retry on the next
                    // housekeeping tick instead of spinning or dying.
                    self.ctx.m.accept_ex += 1;
                    self.accept_paused = true;
                    crate::log::debug(format_args!("loop {}: accept: {e}", self.ctx.id));
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, mut stream: TcpStream, peer: std::net::SocketAddr) {
        let _ = stream.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let slot = entry.key();
        self.next_gen = self.next_gen.wrapping_add(1);
        let key = ConnKey {
            slot: slot as u32,
            gen: self.next_gen,
        };
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(slot + CONN_BASE),
            // Write interest is added only while output is blocked: every
            // ACK would otherwise wake the loop with a useless EPOLLOUT.
            Interest::READABLE,
        ) {
            crate::log::warn(format_args!("register: {e}"));
            return;
        }
        let cfg = &self.ctx.shared.config;
        let rx_max = (cfg.max_pdu_bytes as usize * 2).max(64 * 1024);
        let conn = Conn {
            stream,
            rx: RingBuf::new(RX_INITIAL, rx_max),
            s: Session::new(
                key,
                peer,
                self.ctx.tick,
                RingBuf::new(TX_INITIAL, cfg.max_write_buffer_bytes),
            ),
        };
        entry.insert(conn);
        self.ctx.shared.connections.fetch_add(1, Ordering::Relaxed);
        self.ctx.m.conn_accepted += 1;
        self.ctx.m.conn_current += 1;
        let t = self.ctx.tick + self.ctx.init_ticks;
        self.ctx.timers.insert(
            t,
            TimerKey {
                slot: key.slot,
                gen: key.gen,
                kind: Kind::SessionInit,
            },
        );
        // Data may already be waiting (edge-triggered: read it now).
        self.ready.push(slot);
        crate::log::debug(format_args!("loop {}: accepted {peer}", self.ctx.id));
    }

    // ------------------------------------------------------------- read path

    fn on_readable(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        if conn.s.closed || conn.s.state == State::Closing {
            return;
        }
        // Frames left over from a backpressure pause come first.
        if !conn.rx.is_empty() {
            process_frames(&mut self.ctx, &self.shared, conn, &mut self.scratch);
        }
        let mut budget = READ_BUDGET;
        loop {
            if conn.s.tx.len() >= self.ctx.high_watermark {
                // Backpressure: stop reading until the peer drains its responses.
                if !conn.s.read_paused {
                    conn.s.read_paused = true;
                    self.ctx.m.backpressure_pauses += 1;
                }
                break;
            }
            if conn.rx.is_full() {
                // Only possible if a frame larger than the buffer is announced,
                // which check_frame refuses first; treat as a framing error.
                conn.s.close_after_flush = true;
                break;
            }
            let room = conn.rx.capacity() - conn.rx.len();
            match conn.rx.read_from(&mut conn.stream) {
                Ok(0) => {
                    conn.s.closed_by_peer();
                    break;
                }
                Ok(n) => {
                    self.ctx.m.bytes_rx += n as u64;
                    process_frames(&mut self.ctx, &self.shared, conn, &mut self.scratch);
                    if conn.s.state == State::Closing || conn.s.close_after_flush {
                        break;
                    }
                    // A short read drained the socket: edge-triggered epoll
                    // reports the next arrival, so skip the read that would
                    // only return WouldBlock (one syscall per event saved).
                    if n < room {
                        break;
                    }
                    // The read filled the buffer: a busy connection.
                    conn.rx.grow_towards(RX_BUSY);
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.ready.push(idx);
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    conn.s.closed_by_peer();
                    break;
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
        // With a journal, every connection read in this iteration is
        // answered at its end, after one commit for all of them (one
        // fdatasync per iteration, not one per connection).
        if self.ctx.journal.is_some() {
            return;
        }
        // Answer now, like a request/response server should: receipts made
        // by these PDUs are pumped first so a TRX session gets its
        // submit_sm_resp and the receipt in the same write.
        self.pump_dirty();
        self.flush_all();
    }

    fn mark_flush(&mut self, idx: usize) {
        if let Some(c) = self.conns.get_mut(idx) {
            if !c.s.in_flush_list {
                c.s.in_flush_list = true;
                self.flush_list.push(idx);
            }
        }
    }

    // ------------------------------------------------------------ write path

    /// Commits this iteration's journal lines; false if that failed (the
    /// lines are kept and retried, and no socket is written meanwhile).
    fn commit_journal(&mut self) -> bool {
        let Some(b) = self.ctx.journal.as_mut() else {
            return true;
        };
        if b.is_empty() {
            return true;
        }
        // After a failure, one retry per housekeeping tick, not one per
        // connection flush.
        if self.journal_blocked {
            return false;
        }
        if self.ctx.shared.commit_journal(b) {
            self.ctx.m.journal_commits += 1;
            true
        } else {
            self.ctx.m.journal_errors += 1;
            self.journal_blocked = true;
            false
        }
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

    fn flush_all(&mut self) {
        let mut list = std::mem::take(&mut self.flush_list);
        for &idx in &list {
            self.flush(idx);
        }
        list.clear();
        if self.flush_list.is_empty() {
            self.flush_list = list;
        }
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
        while !conn.s.tx.is_empty() {
            match conn.s.tx.write_to(&mut conn.stream) {
                Ok(0) => break,
                Ok(n) => self.ctx.m.bytes_tx += n as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if conn.s.tx.is_empty() && conn.s.close_after_flush {
            failed = true;
        }
        let want_write = !conn.s.tx.is_empty() && !failed;
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
                .reregister(&mut conn.stream, token, interest)
                .is_ok()
            {
                conn.s.write_interest = want_write;
            } else {
                failed = true;
            }
        }
        if conn.s.read_paused && conn.s.tx.len() < self.ctx.high_watermark / 2 {
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
        let _ = self.poll.registry().deregister(&mut conn.stream);
        unregister_session(&mut self.ctx, &mut conn.s);
        self.close_list.push(idx);
    }

    fn reap(&mut self) {
        for idx in std::mem::take(&mut self.close_list) {
            if self.conns.contains(idx) {
                let conn = self.conns.remove(idx);
                crate::log::debug(format_args!("loop {}: closed {}", self.ctx.id, conn.s.peer));
                self.ctx.shared.connections.fetch_sub(1, Ordering::Relaxed);
                self.ctx.m.conn_closed += 1;
                self.ctx.m.conn_current = self.ctx.m.conn_current.saturating_sub(1);
            }
        }
    }

    // ---------------------------------------------------------------- timers

    fn fire_timers(&mut self) {
        self.fired.clear();
        self.ctx.timers.advance_to(self.ctx.tick, &mut self.fired);
        let fired = std::mem::take(&mut self.fired);
        for key in &fired {
            self.ctx.m.timers_fired += 1;
            if key.kind == Kind::Delayed {
                self.on_delayed(key.slot as usize);
                continue;
            }
            let idx = key.slot as usize;
            let Some(conn) = self.conns.get_mut(idx) else {
                continue;
            };
            if conn.s.key.gen != key.gen || conn.s.closed {
                continue;
            }
            let close = on_timer(&mut self.ctx, &mut conn.s, key.kind);
            self.mark_flush(idx);
            if close {
                self.close(idx);
            }
        }
        self.fired = fired;
    }

    fn on_delayed(&mut self, slot: usize) {
        if !self.ctx.delayed.contains(slot) {
            return;
        }
        match self.ctx.delayed.remove(slot) {
            Delayed::Receipt(r) => self.ctx.fresh.push(r),
            Delayed::Response {
                key,
                seq,
                id,
                data_sm,
            } => {
                let idx = key.slot as usize;
                if let Some(conn) = self.conns.get_mut(idx) {
                    if conn.s.key == key && !conn.s.closed {
                        respond_accepted(&mut self.ctx.m, &mut conn.s, seq, &id, data_sm);
                        self.mark_flush(idx);
                    }
                }
            }
        }
    }

    // -------------------------------------------------------------- receipts

    /// Puts this iteration's new receipts on their accounts' queues.
    fn route_fresh(&mut self) {
        let mut fresh = std::mem::take(&mut self.ctx.fresh);
        for r in fresh.drain(..) {
            self.ctx.enqueue(r);
        }
        self.ctx.fresh = fresh;
    }

    fn pump_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.ctx.dirty);
        for &a in &dirty {
            if let Some(al) = self.ctx.acct.get_mut(a) {
                al.dirty = false;
            }
            self.pump(a);
        }
        let mut dirty = dirty;
        dirty.clear();
        if self.ctx.dirty.is_empty() {
            self.ctx.dirty = dirty;
        }
    }

    /// Sends queued receipts of account `a` to its receivers on this loop
    /// (round-robin, within each session's window), or hands them to a loop
    /// that has a receiver, or keeps them until one binds.
    fn pump(&mut self, a: usize) {
        let ctx = &mut self.ctx;
        let Some(al) = ctx.acct.get_mut(a) else {
            return;
        };
        let now_unix = ctx.now_unix;
        while let Some(&rk) = al.queue.front() {
            let Some(r) = ctx.store.get(rk as usize) else {
                al.queue.pop_front();
                continue;
            };
            if r.expires_unix < now_unix {
                al.queue.pop_front();
                if let (Some(r), Some(b)) = (ctx.store.try_remove(rk as usize), &mut ctx.journal) {
                    b.done(r.jid);
                }
                ctx.m.receipt_expired += 1;
                continue;
            }
            // The submitting session first when it receives too (a TRX
            // bind gets the receipt on the connection, and in the write, of
            // its submit_sm_resp: no "receipt for an unknown id" race), then
            // round-robin over the account's receiving sessions.
            let eligible = |conns: &Slab<Conn>, key: ConnKey| {
                conns.get(key.slot as usize).is_some_and(|c| {
                    c.s.key == key && takes_receipt(&c.s, a, ctx.window, ctx.high_watermark)
                })
            };
            let preferred = r
                .prefer
                .map(|(slot, gen)| ConnKey { slot, gen })
                .filter(|&k| eligible(&self.conns, k));
            let n = al.receivers.len();
            let chosen = match preferred {
                Some(k) => Some((None, k)),
                None => (0..n)
                    .map(|k| (al.rr + k) % n)
                    .filter_map(|i| al.receivers.get(i).map(|&key| (i, key)))
                    .find(|&(_, key)| eligible(&self.conns, key))
                    .map(|(i, key)| (Some(i), key)),
            };
            let Some((rr_index, key)) = chosen else {
                break;
            };
            let Some(conn) = self.conns.get_mut(key.slot as usize) else {
                break;
            };
            let s = &mut conn.s;
            let sent = send_receipt(
                r,
                rk,
                s,
                &mut ctx.dates,
                &mut ctx.m,
                &mut ctx.timers,
                ctx.tick,
                ctx.resp_ticks,
            );
            if !sent {
                break;
            }
            if !s.in_flush_list {
                s.in_flush_list = true;
                self.flush_list.push(key.slot as usize);
            }
            if let Some(i) = rr_index {
                al.rr = i + 1;
            }
            al.queue.pop_front();
        }
        // No local receiver: hand the queue to a loop that has one.
        if al.receivers.is_empty()
            && !al.queue.is_empty()
            && !ctx.shared.shutdown.load(Ordering::Relaxed)
        {
            if let Some(st) = ctx.shared.accounts.get(a) {
                let me = ctx.id;
                // A reused list: no allocation per forwarding pump.
                ctx.targets.clear();
                ctx.targets.extend(
                    st.receivers
                        .iter()
                        .enumerate()
                        .filter(|(w, c)| *w != me && c.load(Ordering::Relaxed) > 0)
                        .map(|(w, _)| w),
                );
                let n = ctx.targets.len();
                if n > 0 {
                    let mut k = al.rr;
                    while let Some(rk) = al.queue.pop_front() {
                        let Some(mut r) = ctx.store.try_remove(rk as usize) else {
                            continue;
                        };
                        // Slot numbers mean nothing on another loop.
                        r.prefer = None;
                        match ctx.targets.get(k % n).and_then(|&w| self.outbox.get_mut(w)) {
                            Some(ob) => {
                                ob.push(r);
                                ctx.m.receipt_forwarded += 1;
                            }
                            // Cannot happen (targets index the outboxes); never drop.
                            None => ctx.fresh.push(r),
                        }
                        k += 1;
                    }
                    al.rr = k;
                }
            }
        }
        // Publish the held count (only when it changed: usually never).
        let len = al.queue.len();
        if len != al.published {
            if let Some(st) = ctx.shared.accounts.get(a) {
                if len > al.published {
                    st.queued.fetch_add(len - al.published, Ordering::Relaxed);
                } else {
                    st.queued.fetch_sub(al.published - len, Ordering::Relaxed);
                }
            }
            al.published = len;
        }
    }

    fn send_outboxes(&mut self) {
        // A receipt is journaled before another loop can deliver it (and
        // journal it as done): the journal must see its A line first.
        if self.outbox.iter().all(|b| b.is_empty()) || !self.commit_journal() {
            return;
        }
        for (dst, batch) in self.outbox.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            match self.senders.get(dst).and_then(|s| s.as_ref()) {
                Some(link) => match link.ship(batch) {
                    Shipped::Sent => self.ctx.shared.wake(dst),
                    // The other loop is behind: the batch stays in the
                    // outbox and is tried again after one tick.
                    Shipped::Full => {}
                    // The other loop is gone (shutdown): keep the receipts.
                    Shipped::Gone(b) => self.ctx.fresh.extend(b),
                },
                None => self.ctx.fresh.append(batch),
            }
        }
    }

    fn drain_mailboxes(&mut self) {
        for link in &self.receivers {
            link.drain_into(&mut self.ctx.fresh);
        }
        // A receiver may have bound on another loop: re-check held queues.
        self.ctx.mark_held_dirty();
    }

    // ---------------------------------------------------------- housekeeping

    /// Returns true when the loop should exit.
    fn housekeeping(&mut self) -> bool {
        self.ctx.now_unix = unix_now();
        // Done lines of a quiet loop reach the journal within 100 ms, and
        // writes held by a failed commit are tried again.
        self.journal_blocked = false;
        if self.commit_journal() {
            for idx in std::mem::take(&mut self.flush_retry) {
                self.mark_flush(idx);
            }
        }
        let max = self.ctx.shared.config.max_connections;
        if self.accept_paused
            && self.listening
            && self.ctx.shared.connections.load(Ordering::Relaxed) < max * 9 / 10 + 1
        {
            self.accept_paused = false;
            self.accept_all();
        }
        // Idle connections give their buffers' memory back (10k idle
        // sessions); busy ones keep them, so the hot path never allocates.
        let idle_since = self.ctx.tick.saturating_sub(IDLE_RELEASE_TICKS);
        for (_, conn) in self.conns.iter_mut() {
            if conn.s.last_rx <= idle_since && conn.rx.is_empty() && conn.s.tx.is_empty() {
                conn.rx.release();
                conn.s.tx.release();
                if conn.s.inflight.is_empty() && conn.s.inflight.capacity() > 0 {
                    conn.s.inflight = VecDeque::new();
                }
            }
        }
        // Safety net for held receipts (a receiver elsewhere, an expiry).
        self.ctx.mark_held_dirty();
        self.publish();
        if self.ctx.id == 0 {
            self.stats_line();
        }
        if self.ctx.shared.shutdown.load(Ordering::Relaxed) {
            return self.shutdown_step();
        }
        false
    }

    fn publish(&mut self) {
        let mut snap = Snapshot {
            counters: self.ctx.m.clone(),
            accounts: self.ctx.am.clone(),
            receipts_queued: self.ctx.acct.iter().map(|a| a.queue.len() as u64).sum(),
            receipts_delayed: self.ctx.delayed.len() as u64,
            receipts_inflight: self
                .conns
                .iter()
                .map(|(_, c)| c.s.inflight.len() as u64)
                .sum(),
        };
        if let Some(m) = self.ctx.shared.snapshots.get(self.ctx.id) {
            if let Ok(mut g) = m.lock() {
                std::mem::swap(&mut *g, &mut snap);
            }
        }
    }

    fn stats_line(&mut self) {
        let every = self.ctx.shared.config.stats_interval;
        if every.is_zero() || self.last_stats.elapsed() < every {
            return;
        }
        let secs = self.last_stats.elapsed().as_secs_f64().max(1e-3);
        self.last_stats = Instant::now();
        let s = self.ctx.shared.snapshot();
        let p = &self.last_stats_snapshot.counters;
        let c = &s.counters;
        crate::log::info(format_args!(
            "stats: conns={} submit/s={:.0} receipts/s={:.0} submit_ok={} submit_ex={} receipts acked={} queued={} inflight={} delayed={} dropped={} expired={}",
            c.conn_current,
            (c.submit_ok - p.submit_ok.min(c.submit_ok)) as f64 / secs,
            (c.receipt_acked - p.receipt_acked.min(c.receipt_acked)) as f64 / secs,
            c.submit_ok,
            c.submit_ex,
            c.receipt_acked,
            s.receipts_queued,
            s.receipts_inflight,
            s.receipts_delayed,
            c.receipt_dropped_retries + c.receipt_rejected,
            c.receipt_expired,
        ));
        self.last_stats_snapshot = s;
    }

    /// Graceful shutdown: stop accepting, unbind every session, wait a
    /// bounded time, then spool what is left. Returns true when done.
    fn shutdown_step(&mut self) -> bool {
        let deadline = match self.shutdown_deadline {
            Some(d) => d,
            None => {
                let d = self.ctx.now + self.ctx.shared.config.shutdown_grace;
                self.shutdown_deadline = Some(d);
                self.listening = false;
                let _ = self.poll.registry().deregister(&mut self.listener);
                let idxs: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
                for idx in idxs {
                    let Some(conn) = self.conns.get_mut(idx) else {
                        continue;
                    };
                    if conn.s.is_bound() {
                        start_unbind(&mut self.ctx, &mut conn.s);
                        self.mark_flush(idx);
                    } else if conn.s.state == State::Open {
                        self.close(idx);
                    }
                }
                self.flush_all();
                d
            }
        };
        // Sessions stay until they answer unbind (their in-flight receipts may
        // still be acknowledged) or the grace period ends.
        if !self.conns.is_empty() && self.ctx.now < deadline {
            return false;
        }
        let idxs: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
        for idx in idxs {
            self.close(idx);
        }
        self.reap();
        self.send_outboxes();
        // What a full link did not take stays here (and is spooled below).
        for b in &mut self.outbox {
            self.ctx.fresh.append(b);
        }
        // Wait until every loop has stopped sending to us, then collect.
        self.ctx.shared.stopped.fetch_add(1, Ordering::SeqCst);
        let wait_until = Instant::now() + Duration::from_secs(2);
        while self.ctx.shared.stopped.load(Ordering::SeqCst) < self.ctx.shared.config.threads
            && Instant::now() < wait_until
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.drain_mailboxes();
        self.route_fresh();
        let delayed: Vec<Delayed> = self.ctx.delayed.drain().collect();
        for d in delayed {
            if let Delayed::Receipt(r) = d {
                self.ctx.enqueue(r);
            }
        }
        if self.ctx.journal.is_some() {
            // The journal already holds every receipt left: it is the spool.
            self.journal_blocked = false;
            if !self.commit_journal() {
                crate::log::warn(format_args!(
                    "loop {}: last journal commit failed",
                    self.ctx.id
                ));
            }
        } else if let Some(dir) = self.ctx.shared.config.spool_dir.clone() {
            self.write_spool(&dir);
        }
        self.publish();
        true
    }

    // ------------------------------------------------------------------ spool

    fn spool_path(dir: &Path, id: usize) -> std::path::PathBuf {
        dir.join(format!("receipts-{id}.spool"))
    }

    fn write_spool(&mut self, dir: &Path) {
        let mut text = String::new();
        let mut n = 0u64;
        for al in &self.ctx.acct {
            for r in al
                .queue
                .iter()
                .filter_map(|&k| self.ctx.store.get(k as usize))
            {
                if let Some(acct) = self.ctx.shared.accounts().get(r.account) {
                    text.push_str(&r.to_spool_line(&acct.system_id));
                    n += 1;
                }
            }
        }
        let path = Self::spool_path(dir, self.ctx.id);
        if n == 0 {
            let _ = std::fs::remove_file(&path);
            return;
        }
        let tmp = path.with_extension("tmp");
        let res = std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(&tmp, text.as_bytes()))
            .and_then(|_| std::fs::rename(&tmp, &path));
        match res {
            Ok(()) => {
                self.ctx.m.receipt_spooled += n;
                crate::log::info(format_args!(
                    "loop {}: spooled {n} receipts to {}",
                    self.ctx.id,
                    path.display()
                ));
            }
            Err(e) => crate::log::warn(format_args!(
                "loop {}: could not write spool {}: {e}",
                self.ctx.id,
                path.display()
            )),
        }
    }

    /// Queues the receipts the journal still had (called on loop 0 before
    /// the loops start); they keep their jids. Those of accounts that no
    /// longer exist are journaled as done.
    pub fn load_journaled(&mut self, receipts: Vec<(u64, String)>) {
        let (mut ok, mut bad) = (0u64, 0u64);
        for (jid, line) in receipts {
            let parsed = Receipt::from_spool_line(&line).and_then(|(sid, r)| {
                let acct = self.ctx.shared.accounts().by_system_id(&sid)?;
                Some((acct.id, r))
            });
            match parsed {
                Some((account, mut r)) => {
                    r.account = account;
                    r.jid = jid;
                    self.ctx.enqueue(r);
                    ok += 1;
                }
                None => {
                    self.ctx.journal_done(jid);
                    bad += 1;
                }
            }
        }
        self.commit_journal();
        self.ctx.m.receipt_recovered += ok;
        if ok + bad > 0 {
            crate::log::info(format_args!(
                "recovered {ok} receipts from the journal ({bad} unreadable or for unknown accounts)"
            ));
        }
    }

    /// Loads every spool file in `dir` into this loop's queues (called on
    /// loop 0 before the loops start), then removes the files.
    pub fn load_spool(&mut self, dir: &Path) {
        let shared = self.ctx.shared.clone();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("spool") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let (mut ok, mut bad) = (0u64, 0u64);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let Some((sid, mut r)) = Receipt::from_spool_line(line) else {
                    bad += 1;
                    continue;
                };
                let Some(acct) = shared.accounts().by_system_id(&sid) else {
                    bad += 1;
                    continue;
                };
                r.account = acct.id;
                let key = self.ctx.store.insert(r);
                self.ctx.journal_add(key, &acct.system_id);
                self.ctx.enqueue_stored(acct.id.index(), key);
                ok += 1;
            }
            // Journaled before the spool file goes.
            if !self.commit_journal() {
                crate::log::warn(format_args!(
                    "{} kept: its receipts could not be journaled",
                    path.display()
                ));
                continue;
            }
            self.ctx.m.receipt_unspooled += ok;
            crate::log::info(format_args!(
                "loaded {ok} receipts from {} ({bad} unreadable or for unknown accounts)",
                path.display()
            ));
            let _ = std::fs::remove_file(&path);
        }
        // The first pump publishes the held counts to the shared state.
    }
}

/// Removes a closing session from the account tables and puts its
/// unacknowledged receipts back on the queue.
fn unregister_session(ctx: &mut Ctx, s: &mut Session) {
    let Some(a) = s.account.take() else { return };
    if let Some(st) = ctx.shared.accounts.get(a.index()) {
        st.binds.fetch_sub(1, Ordering::Relaxed);
    }
    stop_receiving(ctx, s, a);
}

/// Takes a session out of receipt routing (no new receipts are sent to
/// it); receipts already in flight may still be acknowledged.
fn stop_routing(ctx: &mut Ctx, s: &mut Session, a: AccountId) {
    if !s.receiving {
        return;
    }
    s.receiving = false;
    if let Some(al) = ctx.acct.get_mut(a.index()) {
        al.receivers.retain(|k| *k != s.key);
    }
    if let Some(c) = ctx
        .shared
        .account(a)
        .and_then(|st| st.receivers.get(ctx.id))
    {
        c.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Stops routing to a session and re-queues its unacknowledged receipts.
fn stop_receiving(ctx: &mut Ctx, s: &mut Session, a: AccountId) {
    stop_routing(ctx, s, a);
    if s.inflight.is_empty() {
        return;
    }
    if let Some(al) = ctx.acct.get_mut(a.index()) {
        for inf in s.inflight.drain(..).rev() {
            al.queue.push_front(inf.receipt);
            ctx.m.receipt_retried += 1;
        }
    }
    ctx.mark_dirty(a.index());
}

// ------------------------------------------------------------ frame handling

/// Decodes and answers every complete PDU in the read buffer.
fn process_frames(ctx: &mut Ctx, shared: &Shared, conn: &mut Conn, scratch: &mut [u8]) {
    let max_pdu = if conn.s.is_bound() {
        ctx.shared.config.max_pdu_bytes
    } else {
        pdu::MAX_UNBOUND_PDU_BYTES
    };
    let mut consumed_any = false;
    loop {
        if conn.s.state == State::Closing || conn.s.close_after_flush {
            break;
        }
        if conn.s.tx.len() >= ctx.high_watermark {
            if !conn.s.read_paused {
                conn.s.read_paused = true;
                ctx.m.backpressure_pauses += 1;
            }
            break;
        }
        let Some(len) = conn.rx.peek_u32_be(0) else {
            break;
        };
        if len < pdu::HEADER_LEN as u32 || len > max_pdu {
            // The stream cannot be re-synchronised: nack and close.
            let seq = conn.rx.peek_u32_be(12).unwrap_or(0);
            ctx.m.frame_ex += 1;
            respond_header(
                &mut ctx.m,
                &mut conn.s,
                CommandId::GENERIC_NACK,
                S::ESME_RINVCMDLEN,
                seq,
            );
            conn.s.close_after_flush = true;
            let all = conn.rx.len();
            conn.rx.consume(all);
            break;
        }
        let len = len as usize;
        if conn.rx.len() < len {
            break;
        }
        let frame: &[u8] = match conn.rx.contiguous(len) {
            Some(f) => f,
            None => {
                // A frame across the ring's end: copy it out (rare).
                let Some(dst) = scratch.get_mut(..len) else {
                    break;
                };
                if !conn.rx.copy_front(len, dst) {
                    break;
                }
                dst
            }
        };
        handle_frame(ctx, shared, &mut conn.s, frame);
        conn.rx.consume(len);
        consumed_any = true;
        // A bind changes the size limit for what follows.
        if conn.s.is_bound() && max_pdu == pdu::MAX_UNBOUND_PDU_BYTES {
            return process_frames(ctx, shared, conn, scratch);
        }
    }
    if consumed_any {
        conn.s.last_rx = ctx.tick;
    }
}

fn respond(m: &mut Counters, s: &mut Session, seq: u32, status: S, body: Body<'_>) {
    let id = body.command_id();
    let Ok(len) = body.body_len().map(|n| n + pdu::HEADER_LEN) else {
        respond_header(m, s, id, S::ESME_RSYSERR, seq);
        return;
    };
    if s.tx.write_with(len, |buf| {
        pdu::encode_into(&body, status, seq, len, buf).unwrap_or(0)
    }) {
        m.tx(id);
        m.status(status);
    } else {
        // Write buffer at its bound despite the watermark: give up on the peer.
        s.state = State::Closing;
    }
}

/// [`respond`] for a body whose type is known: no dispatch on [`Body`].
#[inline]
fn respond_typed<'a, B: pdu::BodyCodec<'a>>(
    m: &mut Counters,
    s: &mut Session,
    id: CommandId,
    seq: u32,
    status: S,
    body: &B,
) {
    let Ok(len) = body.body_len().map(|n| n + pdu::HEADER_LEN) else {
        respond_header(m, s, id, S::ESME_RSYSERR, seq);
        return;
    };
    if s.tx.write_with(len, |buf| {
        pdu::encode_body_into(body, id, status, seq, len, buf).unwrap_or(0)
    }) {
        m.tx(id);
        m.status(status);
    } else {
        s.state = State::Closing;
    }
}

fn respond_header(m: &mut Counters, s: &mut Session, id: CommandId, status: S, seq: u32) {
    let ok = s.tx.write_with(pdu::HEADER_LEN, |buf| {
        pdu::encode_header_only(id, status, seq, buf).unwrap_or(0)
    });
    if ok {
        m.tx(id);
        if id.is_response() {
            m.status(status);
        }
    } else {
        s.state = State::Closing;
    }
}

fn handle_frame(ctx: &mut Ctx, shared: &Shared, s: &mut Session, frame: &[u8]) {
    if fast_path(ctx, shared, s, frame) {
        return;
    }
    let pdu = match pdu::decode(frame) {
        Ok(p) => p,
        Err(e) => {
            ctx.m.decode_ex += 1;
            ctx.m.rx(e.command_id);
            if e.command_id.is_response() && e.status != S::ESME_RINVCMDID {
                // A response we cannot read is still a response: never answer it.
                ctx.m.unexpected_resp += 1;
                return;
            }
            if matches!(
                e.command_id,
                CommandId::OUTBIND | CommandId::ALERT_NOTIFICATION
            ) {
                return;
            }
            respond_header(&mut ctx.m, s, e.response_id(), e.status, e.sequence_number);
            return;
        }
    };
    let h = pdu.header;
    let seq = h.sequence_number;
    ctx.m.rx(h.command_id);
    if !matches!(pdu.body, Body::EnquireLink | Body::EnquireLinkResp) {
        s.last_traffic = ctx.tick;
    }
    match pdu.body {
        Body::BindTransmitter(b) => on_bind(ctx, s, seq, BindType::Transmitter, &b),
        Body::BindReceiver(b) => on_bind(ctx, s, seq, BindType::Receiver, &b),
        Body::BindTransceiver(b) => on_bind(ctx, s, seq, BindType::Transceiver, &b),
        Body::EnquireLink => respond_header(
            &mut ctx.m,
            s,
            CommandId::ENQUIRE_LINK_RESP,
            S::ESME_ROK,
            seq,
        ),
        Body::EnquireLinkResp => match s.enquire_pending {
            Some((p, _)) if p == seq => s.enquire_pending = None,
            _ => ctx.m.unexpected_resp += 1,
        },
        Body::Unbind => {
            if s.is_bound() || s.state == State::Unbinding {
                ctx.m.unbind_rx += 1;
                respond_header(&mut ctx.m, s, CommandId::UNBIND_RESP, S::ESME_ROK, seq);
                // Unbound: no further PDUs; close once the response is out.
                let a = s.account;
                if let Some(a) = a {
                    stop_receiving(ctx, s, a);
                }
                s.close_after_flush = true;
            } else {
                respond_header(
                    &mut ctx.m,
                    s,
                    CommandId::UNBIND_RESP,
                    S::ESME_RINVBNDSTS,
                    seq,
                );
            }
        }
        Body::UnbindResp => match s.unbind_pending {
            Some((p, _)) if p == seq => {
                s.unbind_pending = None;
                s.state = State::Closing;
            }
            _ => ctx.m.unexpected_resp += 1,
        },
        Body::SubmitSm(sm) => match s.bind_type() {
            Some(t) if t.can_submit() => on_submit(ctx, shared, s, seq, &sm, false),
            _ => refuse(ctx, s, CommandId::SUBMIT_SM_RESP, S::ESME_RINVBNDSTS, seq),
        },
        Body::DataSm(d) => match s.bind_type() {
            Some(_) => {
                // data_sm carries its text in message_payload; treat it as a submit.
                let sm = Sm {
                    service_type: d.service_type,
                    source_addr_ton: d.source_addr_ton,
                    source_addr_npi: d.source_addr_npi,
                    source_addr: d.source_addr,
                    dest_addr_ton: d.dest_addr_ton,
                    dest_addr_npi: d.dest_addr_npi,
                    destination_addr: d.destination_addr,
                    esm_class: d.esm_class,
                    registered_delivery: d.registered_delivery,
                    data_coding: d.data_coding,
                    tlvs: d.tlvs,
                    ..Sm::default()
                };
                if sm.source_addr.len() > 20 || sm.destination_addr.len() > 20 {
                    let st = if sm.source_addr.len() > 20 {
                        S::ESME_RINVSRCADR
                    } else {
                        S::ESME_RINVDSTADR
                    };
                    refuse(ctx, s, CommandId::DATA_SM_RESP, st, seq);
                } else {
                    on_submit(ctx, shared, s, seq, &sm, true);
                }
            }
            None => refuse(ctx, s, CommandId::DATA_SM_RESP, S::ESME_RINVBNDSTS, seq),
        },
        Body::DeliverSmResp(_) => on_deliver_sm_resp(ctx, s, seq, h.command_status),
        Body::GenericNack => {
            // A nack of one of our deliver_sm counts as a failed delivery.
            if s.inflight.iter().any(|i| i.seq == seq) {
                on_deliver_sm_resp(
                    ctx,
                    s,
                    seq,
                    if h.command_status.is_ok() {
                        S::ESME_RSYSERR
                    } else {
                        h.command_status
                    },
                );
            } else if s.enquire_pending.is_some_and(|(p, _)| p == seq) {
                s.enquire_pending = None;
            } else if s.unbind_pending.is_some_and(|(p, _)| p == seq) {
                s.state = State::Closing;
            } else {
                ctx.m.unexpected_resp += 1;
            }
        }
        Body::QuerySm(_) => {
            transmit_only(ctx, s, CommandId::QUERY_SM_RESP, S::ESME_RQUERYFAIL, seq)
        }
        Body::CancelSm(_) => {
            transmit_only(ctx, s, CommandId::CANCEL_SM_RESP, S::ESME_RCANCELFAIL, seq)
        }
        Body::ReplaceSm(_) => transmit_only(
            ctx,
            s,
            CommandId::REPLACE_SM_RESP,
            S::ESME_RREPLACEFAIL,
            seq,
        ),
        Body::SubmitMulti(m) => match s.bind_type() {
            Some(t) if t.can_submit() => on_submit_multi(ctx, shared, s, seq, &m),
            _ => refuse(
                ctx,
                s,
                CommandId::SUBMIT_MULTI_RESP,
                S::ESME_RINVBNDSTS,
                seq,
            ),
        },
        Body::DeliverSm(_) => refuse(ctx, s, CommandId::DELIVER_SM_RESP, S::ESME_RINVBNDSTS, seq),
        // ESMEs never send these two; neither has a response.
        Body::Outbind(_) | Body::AlertNotification(_) => {}
        Body::BindReceiverResp(_)
        | Body::BindTransmitterResp(_)
        | Body::BindTransceiverResp(_)
        | Body::SubmitSmResp(_)
        | Body::SubmitMultiResp(_)
        | Body::DataSmResp(_)
        | Body::QuerySmResp(_)
        | Body::CancelSmResp
        | Body::ReplaceSmResp => ctx.m.unexpected_resp += 1,
    }
}

/// The two PDUs of the hot loop, handled without building a `Pdu`/`Body`
/// (each a few hundred bytes moved per PDU otherwise). Same answers and
/// counters as the general path; returns false for everything else.
#[inline]
fn fast_path(ctx: &mut Ctx, shared: &Shared, s: &mut Session, frame: &[u8]) -> bool {
    use crate::pdu::BodyCodec;
    let Some(h) = pdu::Header::peek(frame) else {
        return false;
    };
    let seq = h.sequence_number;
    match h.command_id {
        CommandId::SUBMIT_SM => {
            if !s.bind_type().is_some_and(|t| t.can_submit()) {
                return false;
            }
            let Some(body) = frame.get(pdu::HEADER_LEN..) else {
                return false;
            };
            let mut r = pdu::Reader::new(body);
            // Used in place by reference: moving it out of the Result read
            // its one-octet fields back 16 octets at a time right after they
            // were written (a store-forwarding stall per message).
            let read = pdu::Sm::read(&mut r);
            let Ok(sm) = &read else {
                // Let the general path produce the exact error answer.
                return false;
            };
            ctx.m.rx(CommandId::SUBMIT_SM);
            s.last_traffic = ctx.tick;
            on_submit(ctx, shared, s, seq, sm, false);
            true
        }
        CommandId::DELIVER_SM_RESP => {
            // Its body (an empty message_id) is never used: the header says all.
            ctx.m.rx(CommandId::DELIVER_SM_RESP);
            s.last_traffic = ctx.tick;
            on_deliver_sm_resp(ctx, s, seq, h.command_status);
            true
        }
        _ => false,
    }
}

fn refuse(ctx: &mut Ctx, s: &mut Session, id: CommandId, status: S, seq: u32) {
    respond_header(&mut ctx.m, s, id, status, seq);
}

/// query/cancel/replace/submit_multi: legal on TX/TRX; this SMSC keeps no
/// message store (messages reach their final state per the outcome model),
/// so they are answered with the operation's own failure status.
fn transmit_only(ctx: &mut Ctx, s: &mut Session, id: CommandId, fail: S, seq: u32) {
    let st = match s.bind_type() {
        Some(t) if t.can_submit() => fail,
        _ => S::ESME_RINVBNDSTS,
    };
    respond_header(&mut ctx.m, s, id, st, seq);
}

fn on_bind(ctx: &mut Ctx, s: &mut Session, seq: u32, t: BindType, b: &pdu::Bind<'_>) {
    let resp_id = match t {
        BindType::Transmitter => CommandId::BIND_TRANSMITTER_RESP,
        BindType::Receiver => CommandId::BIND_RECEIVER_RESP,
        BindType::Transceiver => CommandId::BIND_TRANSCEIVER_RESP,
    };
    if s.state != State::Open {
        ctx.m.bind_ex += 1;
        return respond_header(&mut ctx.m, s, resp_id, S::ESME_RALYBND, seq);
    }
    let shared = ctx.shared.clone();
    let ip = s.peer.ip();
    let status = (|| {
        if shared.bind_blocked(ip, ctx.now) {
            ctx.m.bind_throttled += 1;
            return Err(S::ESME_RBINDFAIL);
        }
        let Some(acct) = shared.accounts().by_system_id(b.system_id) else {
            shared.record_bind_failure(ip, ctx.now);
            return Err(S::ESME_RINVSYSID);
        };
        if !acct.password_matches(b.password) {
            shared.record_bind_failure(ip, ctx.now);
            return Err(S::ESME_RINVPASWD);
        }
        if !acct.allows(t) || !acct.ip_allowed(ip) {
            return Err(S::ESME_RBINDFAIL);
        }
        let st = shared.account(acct.id).ok_or(S::ESME_RSYSERR)?;
        let before = st.binds.fetch_add(1, Ordering::Relaxed);
        if acct.max_binds > 0 && before >= acct.max_binds {
            st.binds.fetch_sub(1, Ordering::Relaxed);
            return Err(S::ESME_RBINDFAIL);
        }
        Ok(acct.id)
    })();
    let a = match status {
        Ok(a) => a,
        Err(st) => {
            ctx.m.bind_ex += 1;
            crate::log::debug(format_args!("bind refused for {}: {:?}", s.peer, st));
            return respond_header(&mut ctx.m, s, resp_id, st, seq);
        }
    };
    s.state = State::Bound(t);
    s.account = Some(a);
    s.v34 = b.interface_version >= 0x34;
    match t {
        BindType::Transmitter => ctx.m.bind_tx += 1,
        BindType::Receiver => ctx.m.bind_rx += 1,
        BindType::Transceiver => ctx.m.bind_trx += 1,
    }
    let mut tlvs = TlvBuf::new();
    if s.v34 {
        tlvs.push_u8(Tag::SC_INTERFACE_VERSION, 0x34);
    }
    let resp = pdu::BindResp {
        system_id: shared.config.system_id.as_bytes(),
        tlvs: tlvs.as_tlvs(),
    };
    let body = match t {
        BindType::Transmitter => Body::BindTransmitterResp(resp),
        BindType::Receiver => Body::BindReceiverResp(resp),
        BindType::Transceiver => Body::BindTransceiverResp(resp),
    };
    respond(&mut ctx.m, s, seq, S::ESME_ROK, body);
    let key = s.key;
    ctx.timers.insert(
        ctx.tick + ctx.el_ticks,
        TimerKey {
            slot: key.slot,
            gen: key.gen,
            kind: Kind::EnquireLink,
        },
    );
    ctx.timers.insert(
        ctx.tick + ctx.inact_ticks,
        TimerKey {
            slot: key.slot,
            gen: key.gen,
            kind: Kind::Inactivity,
        },
    );
    if t.can_receive() {
        s.receiving = true;
        if let Some(al) = ctx.acct.get_mut(a.index()) {
            al.receivers.push(key);
        }
        ctx.mark_dirty(a.index());
        if let Some(c) = shared.account(a).and_then(|st| st.receivers.get(ctx.id)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        // Loops holding receipts for this account can now forward them.
        shared.wake_all_but(ctx.id);
    }
    crate::log::debug(format_args!("{} bound as {} ({:?})", s.peer, t.name(), a));
}

fn next_f64(rng: &mut u64) -> f64 {
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn on_submit(
    ctx: &mut Ctx,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    sm: &Sm<'_>,
    data_sm: bool,
) {
    let resp_id = if data_sm {
        CommandId::DATA_SM_RESP
    } else {
        CommandId::SUBMIT_SM_RESP
    };
    let Some(a) = s.account else {
        return refuse(ctx, s, resp_id, S::ESME_RINVBNDSTS, seq);
    };

    let Some(acct) = shared.accounts().get(a) else {
        return refuse(ctx, s, resp_id, S::ESME_RSYSERR, seq);
    };
    let rule = acct.outcomes.rule_for(sm.destination_addr);
    let refused_by_rule = match rule {
        Some(PrefixAction::Refuse(st)) => Err(*st),
        _ => Ok(()),
    };
    if let Err(st) = rate_limit(ctx, shared, acct).and(refused_by_rule) {
        return refuse_message(ctx, s, a, resp_id, st, seq);
    }
    // Kept in place and used by reference: moving the MessageInfo out of
    // its Result (as a combinator chain did) read its one-octet fields back
    // 16 octets at a time right after they were written, a store-forwarding
    // stall on every message.
    let validated = submit::validate(sm, ctx.zero_means, ctx.now_unix);
    let info = match &validated {
        Ok(i) => i,
        Err(st) => return refuse_message(ctx, s, a, resp_id, *st, seq),
    };
    if let Err(st) = receipt_room(ctx, shared, acct, info) {
        return refuse_message(ctx, s, a, resp_id, st, seq);
    }
    let id = ctx.msgid.next_id();
    match rule {
        Some(PrefixAction::LateResponse(d)) => {
            let slot = ctx.delayed.insert(Delayed::Response {
                key: s.key,
                seq,
                id,
                data_sm,
            });
            let t = ctx.tick + ticks(*d);
            ctx.timers.insert(
                t,
                TimerKey {
                    slot: slot as u32,
                    gen: 0,
                    kind: Kind::Delayed,
                },
            );
        }
        _ => respond_accepted(&mut ctx.m, s, seq, &id, data_sm),
    }
    count_accepted(ctx, a, info.segments);
    // Its receipt may follow the submit_sm_resp at once, not before a late one.
    let direct = !matches!(rule, Some(PrefixAction::LateResponse(_)));
    make_receipts(ctx, shared, acct, sm, info, id, s, direct);
}

/// The account's submit rate (GCRA), only for accounts with a limit.
#[inline]
fn rate_limit(ctx: &mut Ctx, shared: &Shared, acct: &crate::account::Account) -> Result<(), S> {
    if acct.throughput > 0 && !shared.admit(acct.id, acct.throughput, ctx.now) {
        ctx.m.submit_throttled += 1;
        return Err(S::ESME_RTHROTTLED);
    }
    Ok(())
}

/// A message asking for a receipt is refused while the account already
/// holds `receipt_queue` receipts nobody can take (they would be lost).
#[inline]
fn receipt_room(
    ctx: &mut Ctx,
    shared: &Shared,
    acct: &crate::account::Account,
    info: &submit::MessageInfo<'_>,
) -> Result<(), S> {
    if info.receipt == 0 && !info.intermediate {
        return Ok(());
    }
    let held = shared
        .account(acct.id)
        .map(|st| st.queued.load(Ordering::Relaxed))
        .unwrap_or(0);
    if held >= acct.receipt_queue {
        ctx.m.submit_queue_full += 1;
        return Err(S::ESME_RMSGQFUL);
    }
    Ok(())
}

/// A refused message, counted per loop and per account.
fn refuse_message(
    ctx: &mut Ctx,
    s: &mut Session,
    a: AccountId,
    id: CommandId,
    status: S,
    seq: u32,
) {
    ctx.m.submit_ex += 1;
    if let Some(am) = ctx.am.get_mut(a.index()) {
        am.submit_ex += 1;
    }
    refuse(ctx, s, id, status, seq);
}

/// An accepted message (one per submit_sm, one per submit_multi destination).
#[inline]
fn count_accepted(ctx: &mut Ctx, a: AccountId, segments: u32) {
    ctx.m.submit_ok += 1;
    ctx.m.submit_segments += u64::from(segments);
    if let Some(am) = ctx.am.get_mut(a.index()) {
        am.submit_ok += 1;
        am.segments += u64::from(segments);
    }
}

/// Creates the receipts an accepted message asked for: an ENROUTE
/// notification if wanted, and the final one (now, or after the outcome
/// model's delay). `s` submitted the message; with `direct` an immediate
/// final receipt may go straight to it (see [`send_direct`]).
#[allow(clippy::too_many_arguments)]
fn make_receipts(
    ctx: &mut Ctx,
    shared: &Shared,
    acct: &crate::account::Account,
    sm: &Sm<'_>,
    info: &submit::MessageInfo<'_>,
    id: MessageId,
    s: &mut Session,
    direct: bool,
) {
    let prefer = s.receiving.then_some((s.key.slot, s.key.gen));
    let a = acct.id;
    if info.receipt == 0 && !info.intermediate {
        return;
    }
    let (stat, delay) = if acct.outcomes.is_trivial() {
        (Stat::Delivrd, Duration::ZERO)
    } else {
        let (r1, r2) = (next_f64(&mut ctx.rng), next_f64(&mut ctx.rng));
        let f = acct.outcomes.decide(sm.destination_addr, r1, r2);
        (f.stat, f.delay)
    };
    let expires = info
        .expires_at
        .unwrap_or(ctx.now_unix + shared.config.receipt_ttl.as_secs() as i64);
    // The record is filled where it is stored. Filled on the stack and then
    // moved, its addresses and text (written a few octets at a time) were
    // read back 16 octets at a time at once: a store-forwarding stall on
    // every receipt, a third of this function's time.
    let entry = ctx.store.vacant_entry();
    let key = entry.key();
    let r = entry.insert(Receipt::new(
        a,
        id,
        Addr::default(),
        Addr::default(),
        ctx.now_unix,
        stat,
        &[],
        expires.max(ctx.now_unix + 1),
    ));
    r.source
        .set(sm.dest_addr_ton, sm.dest_addr_npi, sm.destination_addr);
    r.dest
        .set(sm.source_addr_ton, sm.source_addr_npi, sm.source_addr);
    r.set_text(|buf| submit::receipt_text(info, buf));
    r.prefer = prefer;
    let mut made = 0;
    if acct.outcomes.enroute || info.intermediate {
        if let Some(&base) = ctx.store.get(key) {
            let mut e = base;
            e.stat = Stat::Enroute;
            e.err = 0;
            let ek = ctx.store.insert(e);
            ctx.journal_add(ek, &acct.system_id);
            ctx.enqueue_stored(a.index(), ek);
            made += 1;
        }
    }
    let wants_final = match info.receipt {
        1 => true,
        2 => stat != Stat::Delivrd,
        3 => stat == Stat::Delivrd,
        _ => false,
    };
    if wants_final {
        ctx.journal_add(key, &acct.system_id);
    }
    if !wants_final {
        ctx.store.try_remove(key);
    } else if delay.is_zero() {
        if !(direct && send_direct(ctx, s, a.index(), key as u32)) {
            ctx.enqueue_stored(a.index(), key);
        }
        made += 1;
    } else if let Some(mut r) = ctx.store.try_remove(key) {
        r.done_unix = ctx.now_unix + delay.as_secs() as i64;
        let slot = ctx.delayed.insert(Delayed::Receipt(r));
        ctx.timers.insert(
            ctx.tick + ticks(delay),
            TimerKey {
                slot: slot as u32,
                gen: 0,
                kind: Kind::Delayed,
            },
        );
        made += 1;
    }
    ctx.m.receipt_created += made;
    if let Some(am) = ctx.am.get_mut(a.index()) {
        am.receipt_created += made;
    }
}

/// submit_multi: one message id for the PDU; every SME destination that
/// passes its address checks is a message with its own receipt (carrying
/// that id); the others are listed in unsuccess_sme with their status.
/// Distribution lists are not provisioned here (ESME_RINVDLNAME).
fn on_submit_multi(
    ctx: &mut Ctx,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    m: &pdu::SubmitMulti<'_>,
) {
    let resp_id = CommandId::SUBMIT_MULTI_RESP;
    let Some(acct) = s.account.and_then(|a| shared.accounts().get(a)) else {
        return refuse(ctx, s, resp_id, S::ESME_RINVBNDSTS, seq);
    };
    let a = acct.id;
    let n = m.dest_addresses.count();
    let template = Sm {
        service_type: m.service_type,
        source_addr_ton: m.source_addr_ton,
        source_addr_npi: m.source_addr_npi,
        source_addr: m.source_addr,
        // A placeholder destination: message-level checks first.
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"0",
        esm_class: m.esm_class,
        protocol_id: m.protocol_id,
        priority_flag: m.priority_flag,
        schedule_delivery_time: m.schedule_delivery_time,
        validity_period: m.validity_period,
        registered_delivery: m.registered_delivery,
        replace_if_present_flag: m.replace_if_present_flag,
        data_coding: m.data_coding,
        sm_default_msg_id: m.sm_default_msg_id,
        short_message: m.short_message,
        tlvs: m.tlvs,
    };
    let checked = if n == 0 || n > 254 {
        Err(S::ESME_RINVNUMDESTS)
    } else {
        rate_limit(ctx, shared, acct)
            .and_then(|()| submit::validate(&template, ctx.zero_means, ctx.now_unix))
            .and_then(|info| receipt_room(ctx, shared, acct, &info).map(|()| info))
    };
    let info = match checked {
        Ok(i) => i,
        Err(st) => return refuse_message(ctx, s, a, resp_id, st, seq),
    };
    let id = ctx.msgid.next_id();
    let mut failed: Vec<pdu::UnsuccessSme<'_>> = Vec::new();
    for d in m.dest_addresses.iter() {
        let (ton, npi, addr) = match d {
            pdu::DestAddress::Sme {
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            } => (dest_addr_ton, dest_addr_npi, destination_addr),
            pdu::DestAddress::DistributionList { dl_name } => {
                failed.push(pdu::UnsuccessSme {
                    dest_addr_ton: 0,
                    dest_addr_npi: 0,
                    destination_addr: dl_name,
                    error_status_code: S::ESME_RINVDLNAME,
                });
                continue;
            }
        };
        let st = if !submit::ton_valid(ton) {
            Some(S::ESME_RINVDSTTON)
        } else if !submit::npi_valid(npi) {
            Some(S::ESME_RINVDSTNPI)
        } else if addr.is_empty() || !submit::address_valid(ton, addr) {
            Some(S::ESME_RINVDSTADR)
        } else {
            match acct.outcomes.rule_for(addr) {
                Some(PrefixAction::Refuse(st)) => Some(*st),
                _ => None,
            }
        };
        if let Some(st) = st {
            failed.push(pdu::UnsuccessSme {
                dest_addr_ton: ton,
                dest_addr_npi: npi,
                destination_addr: addr,
                error_status_code: st,
            });
            continue;
        }
        let one = Sm {
            dest_addr_ton: ton,
            dest_addr_npi: npi,
            destination_addr: addr,
            ..template
        };
        count_accepted(ctx, a, info.segments);
        // The submit_multi_resp is written after the loop: queue receipts.
        make_receipts(ctx, shared, acct, &one, &info, id, s, false);
    }
    // submit_multi is rare: building its response list may allocate.
    let mut scratch = Vec::new();
    let body = match pdu::RawList::build(&failed, &mut scratch) {
        Ok(unsuccess_smes) => pdu::SubmitMultiResp {
            message_id: &id,
            unsuccess_smes,
        },
        Err(_) => return refuse(ctx, s, resp_id, S::ESME_RSYSERR, seq),
    };
    respond(&mut ctx.m, s, seq, S::ESME_ROK, Body::SubmitMultiResp(body));
}

/// Writes receipt `rk` (`r` in the store) to `s` as a deliver_sm and puts
/// it in the session's window. False (nothing sent) if the write buffer is
/// at its bound.
#[allow(clippy::too_many_arguments)]
#[inline]
fn send_receipt(
    r: &Receipt,
    rk: u32,
    s: &mut Session,
    dates: &mut receipt::DateCache,
    m: &mut Counters,
    timers: &mut TimerWheel<TimerKey>,
    tick: u64,
    resp_ticks: u64,
) -> bool {
    let seq = s.next_seq();
    let v34 = s.v34;
    let ok = s.tx.write_with(receipt::MAX_PDU_LEN, |buf| {
        r.encode_cached(seq, v34, dates, buf).unwrap_or(0)
    });
    if !ok {
        return false;
    }
    s.inflight.push_back(Inflight {
        seq,
        sent_tick: tick,
        receipt: rk,
    });
    m.receipt_sent += 1;
    m.tx(CommandId::DELIVER_SM);
    if !s.resp_timer_armed {
        s.resp_timer_armed = true;
        timers.insert(
            tick + resp_ticks,
            TimerKey {
                slot: s.key.slot,
                gen: s.key.gen,
                kind: Kind::Response,
            },
        );
    }
    true
}

/// Whether `s` can take a receipt of account `a` now: an open receiving
/// session of that account with room in its window and write buffer.
#[inline]
fn takes_receipt(s: &Session, a: usize, window: usize, high_watermark: usize) -> bool {
    !s.closed
        && s.receiving
        && s.account.map(|x| x.index()) == Some(a)
        && s.inflight.len() < window
        && s.tx.len() < high_watermark
}

/// A receipt made while its submitting session is being answered goes
/// straight into that session's write buffer (after the submit_sm_resp)
/// when nothing of the account is queued before it and the session's
/// window has room: no trip through the account queue and the pump, and
/// the record is encoded while still in cache. False: queue it instead.
fn send_direct(ctx: &mut Ctx, s: &mut Session, a: usize, rk: u32) -> bool {
    if !ctx.acct.get(a).is_some_and(|al| al.queue.is_empty()) {
        return false;
    }
    if !takes_receipt(s, a, ctx.window, ctx.high_watermark) {
        return false;
    }
    let Some(r) = ctx.store.get(rk as usize) else {
        return false;
    };
    send_receipt(
        r,
        rk,
        s,
        &mut ctx.dates,
        &mut ctx.m,
        &mut ctx.timers,
        ctx.tick,
        ctx.resp_ticks,
    )
}

fn on_deliver_sm_resp(ctx: &mut Ctx, s: &mut Session, seq: u32, status: S) {
    let Some(pos) = s.inflight.iter().position(|i| i.seq == seq) else {
        ctx.m.unexpected_resp += 1;
        return;
    };
    let Some(inf) = s.inflight.remove(pos) else {
        return;
    };
    let key = inf.receipt as usize;
    let Some(a) = ctx.store.get(key).map(|r| r.account.index()) else {
        return;
    };
    if status.is_ok() {
        // Removed without moving the record out (it is not needed).
        let jid = ctx.store.get(key).map_or(0, |r| r.jid);
        ctx.store.remove(key);
        ctx.journal_done(jid);
        ctx.m.receipt_acked += 1;
        if let Some(am) = ctx.am.get_mut(a) {
            am.receipt_acked += 1;
        }
    } else if let Some(r) = ctx.store.try_remove(key) {
        retry_receipt(ctx, r, status);
    }
    // A window slot is free: send more.
    if ctx.acct.get(a).is_some_and(|al| !al.queue.is_empty()) {
        ctx.mark_dirty(a);
    }
}

/// After an error status or a timeout: try again later with back-off, or
/// count the drop with its reason.
fn retry_receipt(ctx: &mut Ctx, mut r: Receipt, status: S) {
    if !receipt::is_retryable(status) {
        ctx.m.receipt_rejected += 1;
        ctx.journal_done(r.jid);
        return;
    }
    r.attempts = r.attempts.saturating_add(1);
    if r.attempts > ctx.shared.config.receipt_retries {
        ctx.m.receipt_dropped_retries += 1;
        ctx.journal_done(r.jid);
        return;
    }
    ctx.m.receipt_retried += 1;
    let backoff = ctx.shared.config.receipt_retry_backoff * (1u32 << (r.attempts - 1).min(10));
    let slot = ctx.delayed.insert(Delayed::Receipt(r));
    ctx.timers.insert(
        ctx.tick + ticks(backoff),
        TimerKey {
            slot: slot as u32,
            gen: 0,
            kind: Kind::Delayed,
        },
    );
}

fn start_unbind(ctx: &mut Ctx, s: &mut Session) {
    let seq = s.next_seq();
    respond_header(&mut ctx.m, s, CommandId::UNBIND, S::ESME_ROK, seq);
    ctx.m.unbind_tx += 1;
    s.unbind_pending = Some((seq, ctx.tick));
    if let Some(a) = s.account {
        stop_routing(ctx, s, a);
    }
    s.state = State::Unbinding;
    arm_response(ctx, s);
}

fn arm_response(ctx: &mut Ctx, s: &mut Session) {
    if !s.resp_timer_armed {
        s.resp_timer_armed = true;
        let k = s.key;
        ctx.timers.insert(
            ctx.tick + ctx.resp_ticks,
            TimerKey {
                slot: k.slot,
                gen: k.gen,
                kind: Kind::Response,
            },
        );
    }
}

/// Handles one fired timer; returns true when the connection must close now.
fn on_timer(ctx: &mut Ctx, s: &mut Session, kind: Kind) -> bool {
    let k = s.key;
    let rearm = |ctx: &mut Ctx, at: u64, kind: Kind| {
        ctx.timers.insert(
            at,
            TimerKey {
                slot: k.slot,
                gen: k.gen,
                kind,
            },
        );
    };
    match kind {
        Kind::SessionInit => {
            if s.state == State::Open {
                ctx.m.timeout_session_init += 1;
                crate::log::debug(format_args!(
                    "{}: no bind within the session init timer",
                    s.peer
                ));
                return true;
            }
        }
        Kind::EnquireLink => {
            if !s.is_bound() {
                return false;
            }
            let due = s.last_rx + ctx.el_ticks;
            if ctx.tick >= due {
                if s.enquire_pending.is_none() {
                    let seq = s.next_seq();
                    respond_header(&mut ctx.m, s, CommandId::ENQUIRE_LINK, S::ESME_ROK, seq);
                    ctx.m.enquire_link_tx += 1;
                    s.enquire_pending = Some((seq, ctx.tick));
                    arm_response(ctx, s);
                }
                rearm(ctx, ctx.tick + ctx.el_ticks, Kind::EnquireLink);
            } else {
                rearm(ctx, due, Kind::EnquireLink);
            }
        }
        Kind::Inactivity => {
            if !s.is_bound() {
                return false;
            }
            let due = s.last_traffic + ctx.inact_ticks;
            if ctx.tick >= due {
                ctx.m.timeout_inactivity += 1;
                crate::log::debug(format_args!("{}: inactive, unbinding", s.peer));
                start_unbind(ctx, s);
            } else {
                rearm(ctx, due, Kind::Inactivity);
            }
        }
        Kind::Response => {
            s.resp_timer_armed = false;
            let limit = ctx.resp_ticks;
            let now = ctx.tick;
            let expired = |sent: u64| now >= sent + limit;
            if s.enquire_pending.is_some_and(|(_, t)| expired(t)) {
                ctx.m.timeout_enquire_link += 1;
                ctx.m.timeout_response += 1;
                crate::log::debug(format_args!("{}: enquire_link unanswered, closing", s.peer));
                return true;
            }
            if s.unbind_pending.is_some_and(|(_, t)| expired(t)) {
                ctx.m.timeout_response += 1;
                return true;
            }
            while s.inflight.front().is_some_and(|i| expired(i.sent_tick)) {
                if let Some(inf) = s.inflight.pop_front() {
                    ctx.m.timeout_response += 1;
                    if let Some(r) = ctx.store.try_remove(inf.receipt as usize) {
                        retry_receipt(ctx, r, S::ESME_RSYSERR);
                    }
                }
            }
            // Re-arm for the oldest outstanding request.
            let oldest = [
                s.enquire_pending.map(|p| p.1),
                s.unbind_pending.map(|p| p.1),
                s.inflight.front().map(|i| i.sent_tick),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(t) = oldest {
                s.resp_timer_armed = true;
                rearm(ctx, t + limit, Kind::Response);
            }
        }
        Kind::Delayed => {}
    }
    false
}
