//! One load-generator thread: its own mio `Poll`, a slab of ESME
//! connections, nonblocking sockets with `TCP_NODELAY`.
//!
//! The hot path per submit is a copy of a pre-encoded template into the
//! connection's write buffer plus a sequence-number patch; per answer, a
//! header parse, a slot lookup by sequence number and one or two histogram
//! records. Reads go until the socket is drained (a short read means
//! drained, as tokio assumes too); everything produced while handling one
//! batch of events is written with one `write` per connection. Nothing is
//! allocated per message.
//!
//! Receipt matching is sharded by message id: the thread that *owns* an id
//! (`ids::owner`) matches it, whichever thread read the submit_sm_resp and
//! whichever read the receipt. Events for another owner are batched and
//! handed over once per loop iteration over a channel. With one thread
//! everything stays local.

use crate::cli::BindMode;
use crate::ids::{id_key, owner, IdKey};
use crate::matcher::{Matcher, Outcome, SentAt};
use crate::receipt::{is_receipt, receipt_id};
use crate::schedule::{latencies_us, Schedule};
use crate::stats::{Counters, FinalReport, Hists, Report, StatusCounts, TimedBarrier};
use crate::templates::{write_deliver_sm_resp, write_empty_resp, write_header, Kind, Templates};
use crate::timer::{tight_timer_slack, Timer};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use smsc::pdu::{check_frame, decode, Bind, Body, CommandId, CommandStatus, Frame, Pdu};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

const READ_BUF: usize = 256 * 1024;
const MAX_PDU: u32 = 64 * 1024;
const MAX_POLL_WAIT: Duration = Duration::from_millis(10);
const BIND_TIMEOUT: Duration = Duration::from_secs(10);
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);
const UNBIND_TIMEOUT: Duration = Duration::from_secs(1);
const SEC: u64 = 1_000_000_000;
const TIMER: Token = Token(usize::MAX - 1);
/// Open loop: sends due within this long of each other go out in one pass
/// (one write per connection). Below 1/rate it changes nothing; at 1M/s it
/// batches ~50 messages, adding at most this much to corrected latencies.
pub const PACING_QUANTUM_NS: u64 = 50_000;

/// Everything the threads share read-only.
pub struct Plan {
    pub addr: SocketAddr,
    pub system_id: String,
    pub password: String,
    pub bind: BindMode,
    pub window: u32,
    /// submit_sm/s in total; 0 = closed loop.
    pub rate: u64,
    pub warmup: Duration,
    pub duration: Duration,
    pub grace: Duration,
    /// registered_delivery = 1 when `rng32 < receipt_threshold` (out of 2^32).
    pub receipt_threshold: u64,
    /// Cumulative (kind, threshold out of 2^32).
    pub mix: Vec<(Kind, u64)>,
    pub threads: usize,
    pub seed: u64,
    pub cores: Option<Vec<usize>>,
    /// Submitting binds of each thread.
    pub binds_per_thread: Vec<usize>,
}

/// Progress a thread publishes once it has stopped sending, so that all
/// threads can tell when every answer and receipt is in.
#[repr(align(128))]
#[derive(Default)]
pub struct Progress {
    pub stopped: AtomicBool,
    pub sent: AtomicU64,
    pub answered: AtomicU64,
    pub expected: AtomicU64,
    pub matched: AtomicU64,
}

/// Coordination between the threads and the main thread.
pub struct Shared {
    /// Workers + main: everyone bound.
    pub start: TimedBarrier,
    /// Workers: nobody hands over matcher events any more.
    pub finish: TimedBarrier,
    pub bind_failed: AtomicBool,
    pub stop: AtomicBool,
    pub progress: Vec<Progress>,
    /// The run's clock: nanoseconds since this instant.
    pub base: Instant,
}

impl Shared {
    pub fn new(threads: usize) -> Shared {
        Shared {
            start: TimedBarrier::new(threads + 1),
            finish: TimedBarrier::new(threads),
            bind_failed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            progress: (0..threads).map(|_| Progress::default()).collect(),
            base: Instant::now(),
        }
    }
}

/// A matcher event handed to the thread that owns the id.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    Submitted { key: IdKey, at: SentAt },
    Receipt { key: IdKey, recv: u64 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Tx,
    Rx,
    Trx,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Connecting,
    Binding,
    Bound,
    Unbinding,
    Closed,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    seq: u32,
    receipt: bool,
    measured: bool,
    intended: u64,
    sent: u64,
}

/// The message a connection is in the middle of (long messages span parts).
#[derive(Clone, Copy)]
struct Current {
    kind: Kind,
    next_part: u8,
    receipt: bool,
    concat_ref: u8,
}

struct Conn {
    stream: TcpStream,
    role: Role,
    state: State,
    connected: bool,
    writable: bool,
    dirty: bool,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    next_seq: u32,
    slots: Vec<Slot>,
    mask: u32,
    outstanding: u32,
    cur: Option<Current>,
}

impl Conn {
    fn new(stream: TcpStream, role: Role, window: u32) -> Conn {
        let cap = (window.max(1) as usize * 2).next_power_of_two();
        Conn {
            stream,
            role,
            state: State::Connecting,
            connected: false,
            writable: false,
            dirty: false,
            rbuf: vec![0; READ_BUF],
            rstart: 0,
            rend: 0,
            wbuf: Vec::with_capacity(64 * 1024),
            wpos: 0,
            next_seq: 1,
            slots: vec![Slot::default(); cap],
            mask: cap as u32 - 1,
            outstanding: 0,
            cur: None,
        }
    }

    /// A sequence number not in use by an outstanding submit.
    #[inline]
    fn alloc_seq(&mut self) -> u32 {
        loop {
            let s = self.next_seq;
            self.next_seq = if s >= 0x7FFF_FFFF { 1 } else { s + 1 };
            if self.slots[(s & self.mask) as usize].seq == 0 {
                return s;
            }
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// xorshift64*: tiny, seeded, good enough to pick message kinds.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    #[inline]
    pub fn next_u32(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
    }
}

pub struct Worker {
    idx: usize,
    plan: Arc<Plan>,
    shared: Arc<Shared>,
    templates: Arc<Templates>,
    poll: Poll,
    conns: Slab<Conn>,
    submitters: Vec<usize>,
    rr: usize,
    rng: Rng,
    concat_ref: u8,
    counters: Counters,
    statuses: StatusCounts,
    hists: Hists,
    matcher: Matcher,
    outbox: Vec<Vec<Ev>>,
    inbox: Receiver<Vec<Ev>>,
    peers: Vec<Sender<Vec<Ev>>>,
    reports: Sender<Report>,
    now: u64,
    sending: bool,
    finishing: bool,
    open_loop: bool,
    warmup_end: u64,
    schedule: Option<Schedule>,
    dirty: Vec<usize>,
    /// Sending has begun (receipts before that are stale).
    started: bool,
    /// Open loop: something is due but every window is full.
    blocked: bool,
    /// Open loop: wakes the poll at the next intended send time.
    timer: Option<Timer>,
    /// The intended time the timer is armed for (0: none).
    armed_for: u64,
    /// Open loop: earliest time of the next send pass.
    next_pass: u64,
    error: Option<String>,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        idx: usize,
        plan: Arc<Plan>,
        shared: Arc<Shared>,
        templates: Arc<Templates>,
        inbox: Receiver<Vec<Ev>>,
        peers: Vec<Sender<Vec<Ev>>>,
        reports: Sender<Report>,
    ) -> io::Result<Worker> {
        let threads = plan.threads;
        let open_loop = plan.rate > 0;
        let seed = plan.seed ^ (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Ok(Worker {
            idx,
            poll: Poll::new()?,
            conns: Slab::new(),
            submitters: Vec::new(),
            rr: 0,
            rng: Rng::new(seed),
            concat_ref: (idx as u8).wrapping_mul(37),
            counters: Counters::default(),
            statuses: StatusCounts::default(),
            hists: Hists::new(),
            matcher: Matcher::new(),
            outbox: (0..threads).map(|_| Vec::new()).collect(),
            inbox,
            peers,
            reports,
            now: 0,
            sending: false,
            finishing: false,
            open_loop,
            warmup_end: 0,
            schedule: None,
            dirty: Vec::new(),
            started: false,
            blocked: false,
            timer: None,
            armed_for: 0,
            next_pass: 0,
            error: None,
            plan,
            shared,
            templates,
        })
    }

    #[inline]
    fn clock(&self) -> u64 {
        self.shared.base.elapsed().as_nanos() as u64
    }

    /// Runs the thread to the end and sends its final report.
    pub fn run(mut self) {
        if let Some(cores) = &self.plan.cores {
            if let Some(&core) = cores.get(self.idx % cores.len().max(1)) {
                if let Err(e) = crate::sys::pin_to_core(core) {
                    eprintln!(
                        "loadtest: thread {} cannot pin to CPU {core}: {e}",
                        self.idx
                    );
                }
            }
        }
        if let Err(e) = self.connect_and_bind() {
            self.error = Some(e);
            self.shared.bind_failed.store(true, Ordering::SeqCst);
        }
        if !self.shared.start.wait(BARRIER_TIMEOUT) && self.error.is_none() {
            self.error = Some("start barrier timed out".into());
            self.shared.bind_failed.store(true, Ordering::SeqCst);
        }
        let mut cpu_sending = Duration::ZERO;
        let mut wall_sending = Duration::ZERO;
        if !self.shared.bind_failed.load(Ordering::SeqCst) {
            let t0 = self.clock();
            let cpu0 = crate::sys::thread_cpu();
            (cpu_sending, wall_sending) = self.main_loop(t0, cpu0);
        }
        self.finish();
        let mut counters = self.counters;
        let m = self.matcher.stats;
        counters.receipts_matched = m.matched;
        counters.receipts_duplicate = m.duplicate;
        counters.receipts_missing = m.missing;
        counters.receipts_unknown = m.unknown;
        counters.duplicate_message_ids = m.duplicate_message_ids;
        let hists = self.take_hists();
        let _ = self.reports.send(Report::Final(Box::new(FinalReport {
            thread: self.idx,
            counters,
            statuses: std::mem::take(&mut self.statuses),
            hists,
            cpu_sending,
            wall_sending,
            error: self.error.take(),
        })));
    }

    // ---------------------------------------------------------------- setup

    fn open(&mut self, role: Role) -> Result<(), String> {
        let stream = TcpStream::connect(self.plan.addr)
            .map_err(|e| format!("connect to {}: {e}", self.plan.addr))?;
        let _ = stream.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let conn = entry.insert(Conn::new(stream, role, self.plan.window));
        self.poll
            .registry()
            .register(
                &mut conn.stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("register: {e}"))?;
        if role != Role::Rx {
            self.submitters.push(key);
        }
        Ok(())
    }

    fn connect_and_bind(&mut self) -> Result<(), String> {
        let n = self
            .plan
            .binds_per_thread
            .get(self.idx)
            .copied()
            .unwrap_or(0);
        for _ in 0..n {
            match self.plan.bind {
                BindMode::Trx => self.open(Role::Trx)?,
                BindMode::Tx => {
                    self.open(Role::Tx)?;
                    self.open(Role::Rx)?;
                }
            }
        }
        let deadline = Instant::now() + BIND_TIMEOUT;
        let mut events = Events::with_capacity(256);
        loop {
            if self.error.is_some() {
                return Err(self.error.take().unwrap_or_default());
            }
            if self.conns.iter().all(|(_, c)| c.state == State::Bound) {
                return Ok(());
            }
            if let Some((_, c)) = self.conns.iter().find(|(_, c)| c.state == State::Closed) {
                return Err(format!("connection closed during bind ({:?})", c.role));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("bind not answered within {BIND_TIMEOUT:?}"));
            }
            self.poll_once(&mut events, Some(left.min(MAX_POLL_WAIT)))
                .map_err(|e| format!("poll: {e}"))?;
            self.flush_dirty();
        }
    }

    fn write_bind(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let seq = c.alloc_seq();
        let bind = Bind {
            system_id: self.plan.system_id.as_bytes(),
            password: self.plan.password.as_bytes(),
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

    // ------------------------------------------------------------ the loop

    fn main_loop(&mut self, t0: u64, cpu0: Duration) -> (Duration, Duration) {
        let plan = self.plan.clone();
        self.warmup_end = t0 + plan.warmup.as_nanos() as u64;
        let send_end = self.warmup_end + plan.duration.as_nanos() as u64;
        let grace_end = send_end + plan.grace.as_nanos() as u64;
        if self.open_loop {
            self.schedule = Some(Schedule::new(
                t0,
                plan.rate,
                self.idx,
                plan.threads,
                send_end,
            ));
            tight_timer_slack();
            self.timer = Timer::new()
                .ok()
                .filter(|t| t.register(self.poll.registry(), TIMER).is_ok());
        }
        self.sending = !self.submitters.is_empty();
        self.started = true;
        let mut cpu_sending = Duration::ZERO;
        let mut wall_sending = Duration::ZERO;
        let mut stopped_sending = false;
        let mut next_report = t0 + SEC;
        let mut report_index = 0u64;
        let mut events = Events::with_capacity(1024);
        self.now = self.clock();
        loop {
            // Send what is due before sleeping (open loop: at most one
            // pass per PACING_QUANTUM, so that high rates go out in batches).
            let mut pass_ran = false;
            if self.sending && (!self.open_loop || self.now >= self.next_pass) {
                self.send_due();
                self.next_pass = self.now + PACING_QUANTUM_NS;
                pass_ran = true;
            }
            self.flush_dirty();
            self.flush_outbox();

            let mut wait = MAX_POLL_WAIT;
            if self.sending {
                let due = self
                    .schedule
                    .as_ref()
                    // Window full (known from this pass): answers wake us.
                    .filter(|_| !(self.blocked && pass_ran))
                    .and_then(|s| s.next_due());
                if let Some(due) = due.map(|d| d.max(self.next_pass)) {
                    let after = Duration::from_nanos(due.saturating_sub(self.now));
                    match self.timer.as_mut() {
                        // Sub-millisecond wake-up at the next intended send.
                        Some(t) if self.armed_for != due => {
                            if t.arm(after).is_ok() {
                                self.armed_for = due;
                            } else {
                                wait = wait.min(after);
                            }
                        }
                        Some(_) => {}
                        None => wait = wait.min(after),
                    }
                }
                wait = wait.min(Duration::from_nanos(send_end.saturating_sub(self.now)));
            } else if let Some(t) = self.timer.as_mut() {
                let _ = t.disarm();
            }
            wait = wait.min(Duration::from_nanos(next_report.saturating_sub(self.now)));
            if let Err(e) = self.poll_once(&mut events, Some(wait)) {
                self.error = Some(format!("poll: {e}"));
                self.shared.stop.store(true, Ordering::SeqCst);
            }
            self.drain_inbox();
            self.now = self.clock();

            if self.sending && self.now >= send_end {
                // The schedule's last slots are all before send_end: send
                // what is still due (window permitting) before stopping.
                if self.open_loop {
                    self.send_due();
                    self.flush_dirty();
                }
                self.sending = false;
            }
            if !self.sending && !stopped_sending {
                stopped_sending = true;
                cpu_sending = crate::sys::thread_cpu().saturating_sub(cpu0);
                wall_sending = Duration::from_nanos(self.now.saturating_sub(t0));
            }
            while self.now >= next_report {
                self.send_interval(report_index);
                report_index += 1;
                next_report += SEC;
            }
            if stopped_sending {
                self.flush_outbox();
                self.publish();
                if self.now >= grace_end || self.all_done() {
                    self.shared.stop.store(true, Ordering::SeqCst);
                }
            }
            if self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        if !stopped_sending {
            cpu_sending = crate::sys::thread_cpu().saturating_sub(cpu0);
            wall_sending = Duration::from_nanos(self.clock().saturating_sub(t0));
        }
        // The last, partial interval goes with the final report.
        (cpu_sending, wall_sending)
    }

    fn send_interval(&mut self, index: u64) {
        let mut counters = self.counters;
        counters.receipts_matched = self.matcher.stats.matched;
        counters.receipts_duplicate = self.matcher.stats.duplicate;
        let hists = Box::new(self.take_hists());
        let _ = self.reports.send(Report::Interval {
            thread: self.idx,
            index,
            counters,
            hists,
        });
    }

    /// The samples so far, leaving empty histograms. In closed loop only
    /// the uncorrected ones are recorded (intended == sent): copied over here.
    fn take_hists(&mut self) -> Hists {
        let mut h = std::mem::take(&mut self.hists);
        if !self.open_loop {
            h.resp_c = h.resp_u.clone();
            h.rcpt_c = h.rcpt_u.clone();
        }
        h
    }

    fn publish(&self) {
        let p = &self.shared.progress[self.idx];
        p.sent.store(self.counters.sent, Ordering::SeqCst);
        p.answered.store(self.counters.answered, Ordering::SeqCst);
        p.expected
            .store(self.counters.receipts_expected, Ordering::SeqCst);
        p.matched
            .store(self.matcher.stats.matched, Ordering::SeqCst);
        p.stopped.store(true, Ordering::SeqCst);
    }

    /// Every thread stopped, every submit answered, every expected receipt matched.
    fn all_done(&self) -> bool {
        let ps = &self.shared.progress;
        if !ps.iter().all(|p| p.stopped.load(Ordering::SeqCst)) {
            return false;
        }
        let matched: u64 = ps.iter().map(|p| p.matched.load(Ordering::SeqCst)).sum();
        let (mut sent, mut answered, mut expected) = (0u64, 0u64, 0u64);
        for p in ps {
            sent += p.sent.load(Ordering::SeqCst);
            answered += p.answered.load(Ordering::SeqCst);
            expected += p.expected.load(Ordering::SeqCst);
        }
        sent == answered && expected == matched
    }

    fn finish(&mut self) {
        self.finishing = true;
        self.sending = false;
        self.flush_outbox();
        if !self.shared.finish.wait(BARRIER_TIMEOUT) && self.error.is_none() {
            self.error = Some("finish barrier timed out".into());
        }
        self.drain_inbox();
        self.matcher.finish();
        // Unbind politely; receipts arriving now are late.
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
        let mut events = Events::with_capacity(256);
        while self.conns.iter().any(|(_, c)| c.state == State::Unbinding) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if self
                .poll_once(&mut events, Some(left.min(MAX_POLL_WAIT)))
                .is_err()
            {
                break;
            }
            self.flush_dirty();
        }
        for (_, c) in self.conns.iter_mut() {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
        self.conns.clear();
    }

    /// One poll, then reads for every readable connection and writes for
    /// every writable one.
    fn poll_once(&mut self, events: &mut Events, wait: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            if ev.token() == TIMER {
                if let Some(t) = self.timer.as_mut() {
                    t.fired();
                }
                self.armed_for = 0;
                continue;
            }
            let key = ev.token().0;
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if ev.is_writable() || ev.is_error() {
                if !c.connected {
                    match c.stream.take_error() {
                        Ok(Some(e)) | Err(e) => {
                            self.error = Some(format!("connect to {}: {e}", self.plan.addr));
                            c.state = State::Closed;
                            continue;
                        }
                        Ok(None) => {}
                    }
                    if c.stream.peer_addr().is_err() {
                        continue;
                    }
                    c.connected = true;
                    c.writable = true;
                    self.write_bind(key);
                } else {
                    c.writable = true;
                    mark_dirty(&mut self.dirty, c, key);
                }
            }
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                self.on_readable(key);
            }
        }
        Ok(())
    }

    fn on_readable(&mut self, key: usize) {
        loop {
            let Some(c) = self.conns.get_mut(key) else {
                return;
            };
            if c.state == State::Closed || !c.connected {
                return;
            }
            crate::sys::make_read_room(&mut c.rbuf, &mut c.rstart, &mut c.rend);
            let space = c.rbuf.len() - c.rend;
            match c.stream.read(&mut c.rbuf[c.rend..]) {
                Ok(0) => {
                    self.lost(key);
                    return;
                }
                Ok(n) => {
                    c.rend += n;
                    self.now = self.clock();
                    self.process_frames(key);
                    if n < space {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.lost(key);
                    return;
                }
            }
        }
    }

    fn lost(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            if matches!(c.state, State::Bound | State::Binding) && !self.finishing {
                self.counters.conn_errors += 1;
            }
            c.state = State::Closed;
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
        if self.sending
            && self
                .submitters
                .iter()
                .all(|k| self.conns.get(*k).is_none_or(|c| c.state == State::Closed))
        {
            self.error
                .get_or_insert_with(|| "all submitting connections closed".into());
            self.sending = false;
        }
    }

    fn process_frames(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let rbuf = std::mem::take(&mut c.rbuf);
        let (mut start, end) = (c.rstart, c.rend);
        let mut framing_error = false;
        while start < end {
            match check_frame(&rbuf[start..end], MAX_PDU) {
                Ok(Frame::Complete(n)) => {
                    self.handle_frame(key, &rbuf[start..start + n]);
                    start += n;
                }
                Ok(Frame::NeedMore(_)) => break,
                Err(_) => {
                    framing_error = true;
                    break;
                }
            }
        }
        if let Some(c) = self.conns.get_mut(key) {
            c.rbuf = rbuf;
            c.rstart = start;
        }
        if framing_error {
            self.counters.conn_errors += 1;
            self.lost(key);
        }
    }

    fn handle_frame(&mut self, key: usize, frame: &[u8]) {
        let id = CommandId(be32(frame, 4));
        let status = be32(frame, 8);
        let seq = be32(frame, 12);
        match id {
            CommandId::SUBMIT_SM_RESP => self.on_submit_resp(key, status, seq, frame),
            CommandId::DELIVER_SM => self.on_deliver_sm(key, seq, frame),
            CommandId::ENQUIRE_LINK => {
                self.counters.enquire_links += 1;
                self.reply(key, |w| {
                    write_empty_resp(w, CommandId::ENQUIRE_LINK_RESP, seq)
                });
            }
            CommandId::GENERIC_NACK => {
                self.statuses.add(id.0, status, 1);
                if let Some(c) = self.conns.get_mut(key) {
                    let slot = &mut c.slots[(seq & c.mask) as usize];
                    if seq != 0 && slot.seq == seq {
                        slot.seq = 0;
                        c.outstanding -= 1;
                        self.counters.answered += 1;
                        self.counters.nacked += 1;
                        return;
                    }
                }
                self.counters.unexpected += 1;
            }
            CommandId::BIND_TRANSMITTER_RESP
            | CommandId::BIND_RECEIVER_RESP
            | CommandId::BIND_TRANSCEIVER_RESP => {
                self.statuses.add(id.0, status, 1);
                if let Some(c) = self.conns.get_mut(key) {
                    if status == 0 {
                        c.state = State::Bound;
                    } else {
                        c.state = State::Closed;
                        let name = CommandStatus(status).name().unwrap_or("?");
                        self.error = Some(format!("bind refused: status {status:#010x} ({name})"));
                    }
                }
            }
            CommandId::UNBIND => {
                self.reply(key, |w| write_empty_resp(w, CommandId::UNBIND_RESP, seq));
                self.flush(key);
                self.lost(key);
            }
            CommandId::UNBIND_RESP => {
                if let Some(c) = self.conns.get_mut(key) {
                    c.state = State::Closed;
                }
            }
            // Answers to the `enquire` mix kind are timed like submit_sm_resp.
            CommandId::ENQUIRE_LINK_RESP => self.on_submit_resp(key, status, seq, frame),
            other if other.is_response() => {
                self.statuses.add(id.0, status, 1);
                self.counters.unexpected += 1;
            }
            _ => {
                self.counters.unexpected += 1;
                self.reply(key, |w| {
                    write_header(
                        w,
                        CommandId::GENERIC_NACK,
                        CommandStatus::ESME_RINVCMDID.0,
                        seq,
                    )
                });
            }
        }
    }

    #[inline]
    fn reply(&mut self, key: usize, f: impl FnOnce(&mut Vec<u8>)) {
        if let Some(c) = self.conns.get_mut(key) {
            f(&mut c.wbuf);
            mark_dirty(&mut self.dirty, c, key);
        }
    }

    #[inline]
    fn on_submit_resp(&mut self, key: usize, status: u32, seq: u32, frame: &[u8]) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let i = (seq & c.mask) as usize;
        let slot = c.slots[i];
        if seq == 0 || slot.seq != seq {
            self.counters.unexpected += 1;
            self.statuses.add(CommandId::SUBMIT_SM_RESP.0, status, 1);
            return;
        }
        c.slots[i].seq = 0;
        c.outstanding -= 1;
        self.counters.answered += 1;
        if status != 0 {
            self.counters.failed += 1;
            self.statuses.add(CommandId::SUBMIT_SM_RESP.0, status, 1);
            return;
        }
        self.counters.ok += 1;
        if slot.measured {
            self.counters.ok_measured += 1;
            let (lc, lu) = latencies_us(slot.intended, slot.sent, self.now);
            self.hists.resp_u.saturating_record(lu);
            if self.open_loop {
                self.hists.resp_c.saturating_record(lc);
            }
        }
        if slot.receipt {
            let body = frame.get(16..).unwrap_or(&[]);
            let id = &body[..smsc::pdu::wire::find_nul(body).unwrap_or(body.len())];
            self.counters.receipts_expected += 1;
            let at = SentAt {
                intended: slot.intended,
                sent: slot.sent,
                measured: slot.measured,
            };
            self.route(Ev::Submitted {
                key: id_key(id),
                at,
            });
        }
    }

    fn on_deliver_sm(&mut self, key: usize, seq: u32, frame: &[u8]) {
        self.reply(key, |w| write_deliver_sm_resp(w, seq));
        match decode(frame) {
            Ok(Pdu {
                body: Body::DeliverSm(sm),
                ..
            }) if is_receipt(sm.esm_class) => {
                self.counters.receipts_received += 1;
                match receipt_id(&sm) {
                    Some(_) if self.finishing => self.counters.receipts_late += 1,
                    // Left over from an earlier run, delivered at bind.
                    Some(_) if !self.started => self.counters.receipts_stale += 1,
                    Some(id) => self.route(Ev::Receipt {
                        key: id_key(id),
                        recv: self.now,
                    }),
                    None => self.counters.deliver_bad += 1,
                }
            }
            Ok(_) => self.counters.deliver_other += 1,
            Err(_) => self.counters.deliver_bad += 1,
        }
    }

    #[inline]
    fn route(&mut self, ev: Ev) {
        let k = match ev {
            Ev::Submitted { key, .. } | Ev::Receipt { key, .. } => key,
        };
        let o = owner(k, self.plan.threads);
        if o == self.idx {
            self.apply(ev);
        } else if let Some(b) = self.outbox.get_mut(o) {
            b.push(ev);
        }
    }

    fn apply(&mut self, ev: Ev) {
        let out = match ev {
            Ev::Submitted { key, at } => self.matcher.on_submitted(key, at, self.now),
            Ev::Receipt { key, recv } => self.matcher.on_receipt(key, recv, self.now),
        };
        if let Outcome::Matched { sent, recv } = out {
            if sent.measured {
                let (lc, lu) = latencies_us(sent.intended, sent.sent, recv);
                self.hists.rcpt_u.saturating_record(lu);
                if self.open_loop {
                    self.hists.rcpt_c.saturating_record(lc);
                }
            }
        }
    }

    fn flush_outbox(&mut self) {
        for (o, batch) in self.outbox.iter_mut().enumerate() {
            if !batch.is_empty() {
                let cap = batch.len();
                let full = std::mem::replace(batch, Vec::with_capacity(cap));
                if let Some(p) = self.peers.get(o) {
                    let _ = p.send(full);
                }
            }
        }
    }

    fn drain_inbox(&mut self) {
        while let Ok(batch) = self.inbox.try_recv() {
            for ev in batch {
                self.apply(ev);
            }
        }
    }

    // ------------------------------------------------------------ sending

    /// Closed loop: fill every window. Open loop: send what the schedule
    /// says is due, round robin over connections with window space.
    fn send_due(&mut self) {
        let window = self.plan.window;
        let n = self.submitters.len();
        if n == 0 {
            return;
        }
        if !self.open_loop {
            for i in 0..n {
                let key = self.submitters[i];
                let Some(c) = self.conns.get(key) else {
                    continue;
                };
                if c.state != State::Bound || c.outstanding >= window {
                    continue;
                }
                let now = self.clock();
                self.now = now;
                let measured = now >= self.warmup_end;
                while self.conns.get(key).is_some_and(|c| c.outstanding < window) {
                    self.send_one(key, now, now, measured);
                }
            }
            return;
        }
        let now = self.clock();
        self.now = now;
        self.blocked = false;
        while let Some(due) = self
            .schedule
            .as_ref()
            .and_then(|s| s.next_due())
            .filter(|d| *d <= now)
        {
            // This pass's connection while it has window space, else the
            // next ones: one write per pass, passes rotate over the binds.
            let mut found = None;
            for _ in 0..n {
                let key = self.submitters[self.rr % n];
                if self
                    .conns
                    .get(key)
                    .is_some_and(|c| c.state == State::Bound && c.outstanding < window)
                {
                    found = Some(key);
                    break;
                }
                self.rr = self.rr.wrapping_add(1);
            }
            let Some(key) = found else {
                self.blocked = true;
                break;
            };
            if let Some(s) = self.schedule.as_mut() {
                s.take_due(now);
            }
            self.send_one(key, due, now, due >= self.warmup_end);
        }
        self.rr = self.rr.wrapping_add(1);
    }

    #[inline]
    fn send_one(&mut self, key: usize, intended: u64, sent: u64, measured: bool) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let cur = match c.cur {
            Some(cur) if cur.next_part < cur.kind.parts() => cur,
            _ => {
                let r = self.rng.next_u32();
                let kind = self
                    .plan
                    .mix
                    .iter()
                    .find(|(_, th)| r < *th)
                    .map_or(Kind::Gsm7, |m| m.0);
                let receipt =
                    self.rng.next_u32() < self.plan.receipt_threshold && kind != Kind::Enquire;
                let concat_ref = if kind == Kind::Long {
                    self.concat_ref = self.concat_ref.wrapping_add(1);
                    self.concat_ref
                } else {
                    0
                };
                Current {
                    kind,
                    next_part: 0,
                    receipt,
                    concat_ref,
                }
            }
        };
        c.cur = Some(Current {
            next_part: cur.next_part + 1,
            ..cur
        });
        let seq = c.alloc_seq();
        self.templates
            .get(cur.kind, cur.next_part, cur.receipt)
            .write(&mut c.wbuf, seq, cur.concat_ref);
        c.slots[(seq & c.mask) as usize] = Slot {
            seq,
            receipt: cur.receipt,
            measured,
            intended,
            sent,
        };
        c.outstanding += 1;
        self.counters.sent += 1;
        if cur.receipt {
            self.counters.sent_with_receipt += 1;
        }
        mark_dirty(&mut self.dirty, c, key);
    }

    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &key in &dirty {
            if let Some(c) = self.conns.get_mut(key) {
                c.dirty = false;
            }
            self.flush(key);
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    fn flush(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if !c.connected || !c.writable || c.state == State::Closed {
            return;
        }
        while c.wpos < c.wbuf.len() {
            match c.stream.write(&c.wbuf[c.wpos..]) {
                Ok(0) => break,
                Ok(n) => c.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    c.writable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.lost(key);
                    return;
                }
            }
        }
        if c.wpos == c.wbuf.len() {
            c.wbuf.clear();
            c.wpos = 0;
        } else if c.wpos > 1 << 20 {
            c.wbuf.drain(..c.wpos);
            c.wpos = 0;
        }
    }
}

#[inline]
fn mark_dirty(dirty: &mut Vec<usize>, c: &mut Conn, key: usize) {
    if !c.dirty {
        c.dirty = true;
        dirty.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_seeded_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u32()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u32()).collect();
        let zs: Vec<u64> = (0..5).map(|_| c.next_u32()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let mut r = Rng::new(1);
        let below = (0..100_000).filter(|_| r.next_u32() < (1 << 31)).count();
        assert!((48_000..52_000).contains(&below), "{below}");
        assert!(xs.iter().all(|x| *x < (1 << 32)));
    }

    #[test]
    fn seq_allocation_skips_stuck_slots() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut c = Conn::new(s, Role::Trx, 2);
        assert_eq!(c.slots.len(), 4);
        let a = c.alloc_seq();
        c.slots[(a & c.mask) as usize].seq = a; // stuck forever
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(c.alloc_seq());
        }
        assert!(seen.iter().all(|s| s & c.mask != a & c.mask));
        c.next_seq = 0x7FFF_FFFF;
        assert_eq!(c.alloc_seq(), 0x7FFF_FFFF);
        assert_ne!(c.alloc_seq(), 0, "never zero after wrap");
    }
}
