//! What one loop owns besides its sockets, in the typed parts the SMPP
//! logic works on: the clock and timers, the counters, message acceptance,
//! delivery (with its journal hooks). The session handlers take this and
//! the read-only [`Shared`]; nothing here touches a socket, so a test builds
//! one from a configuration and drives sessions with frames and ticks.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::accept::Acceptance;
use crate::clock::Clock;
use crate::delivery::{Delivery, Policy};
use crate::metrics::LoopMetrics;
use crate::server::Shared;

pub struct LoopState {
    /// This loop's number (0..threads).
    pub id: usize,
    pub clock: Clock,
    pub m: LoopMetrics,
    pub accept: Acceptance,
    pub delivery: Delivery,
    /// Every message this loop accepted (`store.rs`).
    pub store: crate::store::Store,
    /// Questions to other loops about their messages, and their answers.
    pub remote: crate::remote::Remote,
    /// A session whose write buffer holds this much stops reading
    /// (backpressure) and takes no more deliver_sm.
    pub high_watermark: usize,
    /// Deliveries and answers from the cluster's broker (`--nats`).
    pub cluster: Option<std::sync::mpsc::Receiver<crate::cluster::FromBroker>>,
    /// MO messages handed to delivery at once: (sequence number, the tick
    /// their validity timer is armed at if they are still pending then,
    /// the tick it fires at) (`arm_message_after_grace`). In submit order, so
    /// the first due is in front.
    deferred: std::collections::VecDeque<(u64, u64, u64)>,
}

/// How long an MO message handed to delivery goes without its validity
/// timer. Most are answered within a millisecond; a timer armed and
/// disarmed for each of them was the largest cost of its store entry (a
/// wheel insert and remove, ~140 instructions per message).
pub const ARM_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// A validity that ends within this is armed at once, not deferred.
const ARM_AT_ONCE_UP_TO: std::time::Duration = std::time::Duration::from_secs(1);

impl LoopState {
    pub fn new(id: usize, shared: &Shared) -> LoopState {
        let cfg = &shared.config;
        let high_watermark = cfg
            .max_write_buffer_bytes
            .saturating_sub(cfg.max_pdu_bytes as usize + 4096)
            .max(16 * 1024);
        let policy = Policy {
            window: cfg.window,
            high_watermark,
            retries: cfg.receipt_retries,
            backoff: cfg.receipt_retry_backoff,
        };
        LoopState {
            id,
            clock: Clock::new(shared.epoch, cfg),
            m: LoopMetrics::new(cfg.accounts.len()),
            accept: Acceptance::new(id, shared),
            delivery: Delivery::new(id, shared, policy),
            remote: crate::remote::Remote::new(cfg.threads),
            store: crate::store::Store::new(
                cfg.message_store / cfg.threads.max(1),
                cfg.message_retention.as_secs().min(u64::from(u32::MAX)) as u32,
            ),
            high_watermark,
            cluster: shared.cluster.as_ref().and_then(|c| c.take_loop_rx(id)),
            deferred: std::collections::VecDeque::new(),
        }
    }

    /// Pending MO message `seq` (at `idx`), just handed to its receiver,
    /// gets its timer (generation 0, `wait` from now) only if it is still
    /// pending [`ARM_GRACE`] later (`arm_deferred`); a short validity is
    /// armed at once.
    pub fn arm_message_after_grace(&mut self, idx: usize, seq: u64, wait: std::time::Duration) {
        if wait <= ARM_AT_ONCE_UP_TO {
            return self.arm_message(idx, 0, wait);
        }
        let now = self.clock.tick;
        let at = now + crate::clock::ticks(ARM_GRACE);
        self.deferred
            .push_back((seq, at, now + crate::clock::ticks(wait)));
    }

    /// Arms the timers of the messages deferred by
    /// `arm_message_after_grace` whose grace is over and that are still
    /// pending without one (every loop iteration, before the wheel fires).
    pub fn arm_deferred(&mut self) {
        while let Some(&(seq, at, fires)) = self.deferred.front() {
            if at > self.clock.tick {
                break;
            }
            self.deferred.pop_front();
            let Some(idx) = self.store.pending_index(seq) else {
                continue;
            };
            if let Some(gen) = self
                .store
                .pending_at(idx)
                .filter(|p| p.timer.is_none())
                .map(|p| p.timer_gen)
            {
                self.arm_message_at(idx, gen, fires);
            }
        }
    }

    /// Messages whose timer is deferred (a gauge for tests).
    pub fn deferred_timers(&self) -> usize {
        self.deferred.len()
    }

    /// Arms pending message `idx`'s timer (`gen`) `wait` from now, in
    /// place of the one it had.
    pub fn arm_message(&mut self, idx: usize, gen: u32, wait: std::time::Duration) {
        let at = self.clock.tick + crate::clock::ticks(wait);
        self.arm_message_at(idx, gen, at);
    }

    /// `arm_message` at tick `at`.
    fn arm_message_at(&mut self, idx: usize, gen: u32, at: u64) {
        let kind = crate::clock::Kind::Message;
        let Some(p) = self.store.pending_at_mut(idx) else {
            return;
        };
        if let Some(old) = p.timer.take() {
            self.clock.cancel(old);
        }
        p.timer = Some(self.clock.slot_gen_at(idx, gen, kind, at));
    }

    /// Message `seq` reaches a final state: its pending part (if it had
    /// one) is returned and its timer disarmed.
    pub fn finish_message(
        &mut self,
        seq: u64,
        state: crate::store::MessageState,
        error: u8,
        now: i64,
    ) -> Option<crate::store::Pending> {
        let p = self.store.finish(seq, state, error, now)?;
        if let Some(h) = p.timer {
            self.clock.cancel(h);
        }
        Some(p)
    }

    /// `finish_message`, reading what the caller needs from the pending
    /// part in place (`Store::finish_with`).
    pub fn finish_message_with<T>(
        &mut self,
        seq: u64,
        state: crate::store::MessageState,
        error: u8,
        now: i64,
        f: impl FnOnce(&crate::store::Pending) -> T,
    ) -> Option<T> {
        let (out, timer) = self
            .store
            .finish_with(seq, state, error, now, |p| (f(p), p.timer))?;
        if let Some(h) = timer {
            self.clock.cancel(h);
        }
        Some(out)
    }

    /// Per-account tables as long as the accounts in force (after a reload).
    pub fn grow_accounts(&mut self, shared: &Shared) {
        let n = shared.accounts().len();
        self.delivery.grow_accounts(n);
        if self.m.accounts.len() < n {
            self.m
                .accounts
                .resize(n, crate::metrics::AccountCounters::default());
        }
    }
}
