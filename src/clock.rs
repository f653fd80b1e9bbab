//! The loop's clock and timer wheel: the 10 ms tick every timer counts in,
//! the session timers' lengths in ticks, and what is due when.
//!
//! It owns no session and no message: the loop fires what is due and hands
//! each key to its owner (the session for its own timers, delivery for
//! delayed receipts, acceptance for held responses). Tests move it by hand.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::config::Config;
use crate::conn::ConnKey;
use crate::timer::TimerWheel;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Timer wheel granularity.
pub const TICK: Duration = Duration::from_millis(10);

/// What a timer is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// No bind within the session init timer: close.
    SessionInit,
    /// Time to check whether the session needs an enquire_link.
    EnquireLink,
    /// Time to check the inactivity timer.
    Inactivity,
    /// Time to check the response timer (our enquire_link, unbind, deliver_sm).
    Response,
    /// A delayed or retried receipt is due; `slot` indexes delivery's delayed store.
    Receipt,
    /// A pending message's outcome is due (schedule, outcome delay, expiry);
    /// `slot` indexes the store's pending table, `gen` its timer generation.
    Message,
    /// A submit_sm_resp held back by a `late:` rule is due; `slot` indexes
    /// acceptance's held responses.
    LateResponse,
}

/// A fired timer names its owner: a session (`slot` + `gen` of its
/// connection, so a stale timer of a reused slot is ignored) or a slot of
/// a delayed store (`gen` 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimerKey {
    pub slot: u32,
    pub gen: u32,
    pub kind: Kind,
}

/// The session timers' lengths, in ticks.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimers {
    pub session_init: u64,
    pub enquire_link: u64,
    pub inactivity: u64,
    pub response: u64,
}

pub struct Clock {
    /// Read once per loop iteration.
    pub now: Instant,
    /// Ticks since the server's epoch.
    pub tick: u64,
    /// Microseconds since the server's epoch (read with `now`).
    pub micros: u64,
    /// Unix seconds, refreshed by housekeeping (every 100 ms).
    pub unix: i64,
    epoch: Instant,
    wheel: TimerWheel<TimerKey>,
    pub timers: SessionTimers,
}

/// A duration in ticks (at least one).
pub fn ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis()).max(1) as u64
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    pub fn new(epoch: Instant, cfg: &Config) -> Clock {
        Clock {
            now: Instant::now(),
            tick: 0,
            micros: 0,
            unix: unix_now(),
            epoch,
            wheel: TimerWheel::new(1024),
            timers: SessionTimers {
                session_init: ticks(cfg.session_init_timer),
                enquire_link: ticks(cfg.enquire_link_timer),
                inactivity: ticks(cfg.inactivity_timer),
                response: ticks(cfg.response_timer),
            },
        }
    }

    /// Reads the monotonic clock (once per loop iteration).
    #[inline]
    pub fn update(&mut self) {
        self.now = Instant::now();
        self.micros = self.now.duration_since(self.epoch).as_micros() as u64;
        self.tick = self.micros / TICK.as_micros() as u64;
    }

    /// Arms a session's timer `kind` at tick `at`.
    #[inline]
    pub fn session_at(&mut self, s: ConnKey, kind: Kind, at: u64) {
        self.wheel.insert(
            at,
            TimerKey {
                slot: s.slot,
                gen: s.gen,
                kind,
            },
        );
    }

    /// Arms timer `kind` for (`slot`, `gen`) `delay` from now.
    pub fn slot_gen_after(
        &mut self,
        slot: usize,
        gen: u32,
        kind: Kind,
        delay: Duration,
    ) -> crate::timer::TimerHandle {
        self.slot_gen_at(slot, gen, kind, self.tick + ticks(delay))
    }

    /// Arms timer `kind` for (`slot`, `gen`) at tick `at` (as soon as the
    /// wheel advances, if that has passed).
    pub fn slot_gen_at(
        &mut self,
        slot: usize,
        gen: u32,
        kind: Kind,
        at: u64,
    ) -> crate::timer::TimerHandle {
        self.wheel.insert(
            at,
            TimerKey {
                slot: slot as u32,
                gen,
                kind,
            },
        )
    }

    /// Arms a delayed-store timer `kind` for `slot`, `delay` from now.
    pub fn slot_after(&mut self, slot: usize, kind: Kind, delay: Duration) {
        self.slot_gen_after(slot, 0, kind, delay);
    }

    /// Disarms a timer (a no-op if it fired or was cancelled): what it was
    /// for is gone, so it leaves the wheel now instead of at its deadline.
    #[inline]
    pub fn cancel(&mut self, h: crate::timer::TimerHandle) {
        self.wheel.cancel(h);
    }

    /// Timers armed (a gauge for tests and metrics).
    pub fn armed(&self) -> usize {
        self.wheel.len()
    }

    /// Moves the wheel to the current tick; what fell due goes to `fired`.
    pub fn fire(&mut self, fired: &mut Vec<TimerKey>) {
        self.wheel.advance_to(self.tick, fired);
    }

    /// The tick of the earliest armed timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.wheel.next_deadline()
    }
}
