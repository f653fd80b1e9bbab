//! One load-generator thread: its own mio `Poll`, a slab of ESME
//! connections (one to thousands), nonblocking sockets with `TCP_NODELAY`.
//! [`setup`] binds them in batches, [`send`] sends, [`frames`] handles
//! what arrives, [`conn`] is a connection and its socket I/O.
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

mod conn;
mod e2e;
mod frames;
mod poll;
mod send;
mod setup;

pub use setup::BIND_TIMEOUT;

use crate::cli::BindMode;
use crate::ids::IdKey;
use crate::matcher::{Matcher, SentAt};
use crate::schedule::Schedule;
use crate::stats::{BindStats, Counters, FinalReport, Hists, Report, StatusCounts, TimedBarrier};
use crate::templates::{Kind, Templates};
use crate::timer::{tight_timer_slack, Timer};
use crate::wheel::Wheel;
use conn::{mark_dirty, Conn};
use mio::{Poll, Token};
use poll::{Ready, Waiter};
use slab::Slab;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The thread's read buffer (every connection reads into it in turn).
const READ_BUF: usize = 256 * 1024;
const MAX_PDU: u32 = 64 * 1024;
const MAX_POLL_WAIT: Duration = Duration::from_millis(10);
const BARRIER_TIMEOUT: Duration = Duration::from_secs(30);
const UNBIND_TIMEOUT: Duration = Duration::from_secs(1);
const SEC: u64 = 1_000_000_000;
const TIMER: Token = Token(usize::MAX - 1);
/// Open loop: sends due within this long of each other go out in one pass
/// (one write per connection). Below 1/rate it changes nothing; at 1M/s it
/// batches ~50 messages, adding at most this much to corrected latencies.
/// The default of `--pacing-quantum`.
pub const PACING_QUANTUM_NS: u64 = 50_000;
/// The held-replies wheel: 1 ms buckets, a 1 s turn (longer holds wrap).
const HOLD_TICK_NS: u64 = 1_000_000;
const HOLD_BUCKETS: usize = 1024;

/// Everything the threads share read-only.
pub struct Plan {
    pub addr: SocketAddr,
    /// Where the receiver binds of `--bind tx` connect (`--rx-addr`).
    pub rx_addr: SocketAddr,
    pub system_id: String,
    pub password: String,
    pub bind: BindMode,
    pub window: u32,
    /// deliver_sm_resp held up to this long for the bind's next write (0: not held).
    pub reply_hold_ns: u64,
    /// Open loop: at most one send pass per this long (see [`PACING_QUANTUM_NS`]).
    pub pacing_quantum_ns: u64,
    /// Open loop: wake once per tick, send up to a tick early, time answers
    /// by kernel receive stamps (0: per event; see `--tick`).
    pub tick_ns: u64,
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
    /// Submitting binds of each thread (bind g is on thread g mod threads).
    pub binds_per_thread: Vec<usize>,
    /// Connections of one thread with a connect or bind in flight at once.
    pub bind_concurrency: usize,
    /// How long a thread may take to bind all its connections.
    pub setup_timeout: Duration,
    /// `--tls`: every connection speaks TLS with this client.
    pub tls: Option<crate::tls::TlsClient>,
    /// ESME-to-ESME mode: account B's binds (see [`crate::mo`]).
    pub mo: Option<MoPlan>,
    /// A query_sm beside a message when `rng32 < query_threshold` (of 2^32).
    pub query_threshold: u64,
    /// Likewise an enquire_link.
    pub enquire_threshold: u64,
    /// This run's nonce in the MO tags.
    pub run_nonce: u16,
}

/// Account B's side of the ESME-to-ESME mode.
pub struct MoPlan {
    pub system_id: String,
    pub password: String,
    /// bind_receiver (false) or bind_transceiver (true).
    pub trx: bool,
    /// B's binds on each thread.
    pub binds_per_thread: Vec<usize>,
    /// A message holds its window room until its receipt too (`--mo-window receipt`).
    pub until_receipt: bool,
}

impl Plan {
    /// `--tick` is in force (open loop only).
    pub fn ticked(&self) -> bool {
        self.rate > 0 && self.tick_ns > 0
    }

    /// Submitting binds of the whole run (N of the open-loop schedule).
    pub fn submit_binds(&self) -> usize {
        self.binds_per_thread.iter().sum()
    }

    /// How long the threads wait for each other at the start.
    pub fn start_timeout(&self) -> Duration {
        self.setup_timeout + BARRIER_TIMEOUT
    }
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
    pub mo_expected: AtomicU64,
    pub mo_matched: AtomicU64,
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
    Submitted {
        key: IdKey,
        at: SentAt,
    },
    Receipt {
        key: IdKey,
        recv: u64,
    },
    /// An MO for the tag's thread, read at `recv`.
    Mo {
        tag: u64,
        recv: u64,
    },
    /// The receipt of the tag's message was matched (its window may open).
    ReceiptDone {
        tag: u64,
    },
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
    /// Bound connections that submit (TX or TRX), in bind order.
    submitters: Vec<usize>,
    /// Open loop: binds that may have room, for messages whose own bind is
    /// full (a bind is in it at most once: `Conn::queued`).
    spare: std::collections::VecDeque<usize>,
    /// Every connection reads into this in turn (see [`conn`]).
    rbuf: Vec<u8>,
    /// Closed loop: connections whose window has room again.
    ready: Vec<usize>,
    binds: BindStats,
    /// Connecting and binding (a connection lost now is a failed bind).
    in_setup: bool,
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
    /// How the loop waits (see [`poll`]), and the events of one wait.
    waiter: Waiter,
    ready_events: Vec<Ready>,
    /// Connections with held replies, by deadline (`--reply-hold`).
    holds: Wheel<usize>,
    expired: Vec<usize>,
    /// `--tick`: reads carry kernel receive stamps, mapped by this.
    rx_clock: Option<crate::rxtime::RealToRun>,
    /// ESME-to-ESME mode: the messages this thread has in flight.
    tracker: Option<crate::mo::Tracker>,
    /// Closed loop: binds with window room that wait for the tracker (too
    /// many messages awaiting their receipts); refilled when one comes.
    waiting_for_tracker: Vec<usize>,
    /// `--query-share`: ids to query.
    recent: crate::query::RecentIds,
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
            spare: std::collections::VecDeque::new(),
            rbuf: vec![0; READ_BUF],
            ready: Vec::new(),
            binds: BindStats::default(),
            in_setup: false,
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
            waiter: Waiter::new(),
            ready_events: Vec::with_capacity(poll::EVENTS),
            holds: Wheel::new(HOLD_TICK_NS, HOLD_BUCKETS, 0),
            expired: Vec::new(),
            rx_clock: None,
            tracker: plan.mo.as_ref().map(|mo| {
                let binds = plan.binds_per_thread.get(idx).copied().unwrap_or(0);
                let in_window = binds * plan.window as usize;
                crate::mo::Tracker::new(plan.run_nonce, idx, in_window, mo.until_receipt)
            }),
            waiting_for_tracker: Vec::new(),
            recent: crate::query::RecentIds::new(),
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
        if !self.shared.start.wait(self.plan.start_timeout()) && self.error.is_none() {
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
        if let Some(t) = self.tracker.as_mut() {
            counters.set_mo(&t.finish());
        }
        let hists = self.take_hists();
        let _ = self.reports.send(Report::Final(Box::new(FinalReport {
            thread: self.idx,
            counters,
            statuses: std::mem::take(&mut self.statuses),
            hists,
            cpu_sending,
            wall_sending,
            binds: std::mem::take(&mut self.binds),
            error: self.error.take(),
        })));
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
                plan.submit_binds(),
                send_end,
            ));
            tight_timer_slack();
            if !self.waiter.precise() {
                self.timer = Timer::new()
                    .ok()
                    .filter(|t| t.register(self.poll.registry(), TIMER).is_ok());
            }
        }
        self.sending = !self.submitters.is_empty();
        self.started = true;
        // Every window starts empty (closed loop: to fill; open: spares).
        for i in 0..self.submitters.len() {
            self.want_refill(self.submitters[i]);
        }
        let mut cpu_sending = Duration::ZERO;
        let mut wall_sending = Duration::ZERO;
        let mut stopped_sending = false;
        // CPU and wall time are counted over the measured time only.
        let (mut cpu_m0, mut wall_m0) = (cpu0, t0);
        let mut measuring = self.warmup_end <= t0;
        let mut next_report = t0 + SEC;
        let mut report_index = 0u64;
        let tick = if plan.ticked() { plan.tick_ns } else { 0 };
        if tick > 0 {
            self.rx_clock = Some(crate::rxtime::RealToRun::new(
                crate::rxtime::realtime_ns(),
                self.clock(),
            ));
        }
        let mut last_wake = 0u64;
        self.now = self.clock();
        loop {
            if !measuring && self.now >= self.warmup_end {
                measuring = true;
                (cpu_m0, wall_m0) = (crate::sys::thread_cpu(), self.now);
            }
            self.expire_holds();
            // Send what is due before sleeping (open loop: at most one
            // pass per PACING_QUANTUM, so that high rates go out in batches).
            let mut pass_ran = false;
            if self.sending && (!self.open_loop || self.now >= self.next_pass) {
                self.send_due();
                self.next_pass = self.now + plan.pacing_quantum_ns;
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
                        // epoll_pwait2 sleeps to the nanosecond itself.
                        _ if self.waiter.precise() => wait = wait.min(after),
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
            if let Some(d) = self.holds.next_deadline() {
                wait = wait.min(Duration::from_nanos(d.saturating_sub(self.now)));
            }
            if tick > 0 && self.sending {
                // Not woken by arrivals: sleep to the wake-up (at most one
                // per tick), then collect whatever came meanwhile.
                // Windows full: answers cannot wake us, so look each tick.
                let w = if self.blocked {
                    tick
                } else {
                    wait.as_nanos() as u64
                };
                let at = (self.now + w).max(last_wake + tick);
                if !self.events_full() {
                    poll::sleep_until(self.shared.base, at);
                }
                last_wake = self.clock();
                wait = Duration::ZERO;
            }
            if let Err(e) = self.poll_once(wait) {
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
                cpu_sending = crate::sys::thread_cpu().saturating_sub(cpu_m0);
                wall_sending = Duration::from_nanos(self.now.saturating_sub(wall_m0));
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
            cpu_sending = crate::sys::thread_cpu().saturating_sub(cpu_m0);
            wall_sending = Duration::from_nanos(self.clock().saturating_sub(wall_m0));
        }
        // The last, partial interval goes with the final report.
        (cpu_sending, wall_sending)
    }

    /// Flushes the connections whose held replies are due.
    fn expire_holds(&mut self) {
        let mut due = std::mem::take(&mut self.expired);
        self.holds.expire(self.now, &mut due);
        for &key in &due {
            if let Some(c) = self.conns.get_mut(key) {
                // Stale entries (flushed since, or held again) are skipped.
                if c.held && c.held_until <= self.now {
                    mark_dirty(&mut self.dirty, c, key);
                }
            }
        }
        due.clear();
        self.expired = due;
    }

    fn send_interval(&mut self, index: u64) {
        let mut counters = self.counters;
        counters.receipts_matched = self.matcher.stats.matched;
        counters.receipts_duplicate = self.matcher.stats.duplicate;
        if let Some(t) = &self.tracker {
            counters.set_mo(&t.stats);
        }
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
            h.mo_c = h.mo_u.clone();
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
        let mo = self.tracker.as_ref().map(|t| t.stats).unwrap_or_default();
        p.mo_expected.store(mo.expected, Ordering::SeqCst);
        p.mo_matched.store(mo.matched, Ordering::SeqCst);
        p.stopped.store(true, Ordering::SeqCst);
    }

    /// Every thread stopped, every submit answered, every expected receipt
    /// and MO matched.
    fn all_done(&self) -> bool {
        let ps = &self.shared.progress;
        if !ps.iter().all(|p| p.stopped.load(Ordering::SeqCst)) {
            return false;
        }
        let matched: u64 = ps.iter().map(|p| p.matched.load(Ordering::SeqCst)).sum();
        let (mut sent, mut answered, mut expected) = (0u64, 0u64, 0u64);
        let (mut mo_expected, mut mo_matched) = (0u64, 0u64);
        for p in ps {
            sent += p.sent.load(Ordering::SeqCst);
            answered += p.answered.load(Ordering::SeqCst);
            expected += p.expected.load(Ordering::SeqCst);
            mo_expected += p.mo_expected.load(Ordering::SeqCst);
            mo_matched += p.mo_matched.load(Ordering::SeqCst);
        }
        sent == answered && expected == matched && mo_expected == mo_matched
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

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
}
