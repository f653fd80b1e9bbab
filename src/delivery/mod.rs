//! Delivery: a deliver_sm that must reach a receiving session of an account.
//!
//! Owns the loop's store of deliverables (today receipts), each account's
//! queue and receiving sessions, the windows (what is in flight on each
//! session, answered by deliver_sm_resp), retries with back-off, expiry,
//! the delayed store, and the hand-off to a loop that has a receiver. What
//! is delivered is decided elsewhere (acceptance makes receipts); how bytes
//! reach the socket is the loop's. It never blocks, never locks, and
//! reaches sessions only through [`Sessions`], so it runs without sockets
//! in its tests.
//!
//! - `mod.rs`: the store, the queues, receivers joining and leaving.
//! - `pump.rs`: moving queued items into windows, or to another loop.
//! - `window.rs`: deliver_sm_resp, retries, response timeouts, delays.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod item;
#[cfg(test)]
mod mo_tests;
mod pump;
#[cfg(test)]
mod tests;
mod window;

pub use item::{carried_tlvs, Item, Mo, MoOutcome};
pub use pump::Sessions;
pub use window::Answered;

use crate::account::AccountId;
use crate::conn::{ConnKey, Session};
use crate::link::Batch;
use crate::persist::JournalHooks;
use crate::receipt::{self, Receipt};
use crate::server::Shared;
use slab::Slab;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// An account's deliveries on this loop.
#[derive(Default)]
struct AccountQueue {
    /// Keys into [`Delivery::store`], oldest first.
    queue: VecDeque<u32>,
    /// This loop's receiving sessions (RX/TRX binds) of the account.
    receivers: Vec<ConnKey>,
    /// Round-robin position over `receivers` (and over target loops).
    rr: usize,
    /// Queue length last added to the shared `queued` counter.
    published: usize,
    /// Already on the dirty list: pumped at the end of the iteration.
    dirty: bool,
}

/// How deliveries behave: from the configuration, fixed per run.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// deliver_sm in flight per session.
    pub window: usize,
    /// A session whose write buffer holds this much takes no more.
    pub high_watermark: usize,
    /// Retries after a retryable failure or a timeout, then dropped.
    pub retries: u8,
    /// First retry delay; doubled per attempt.
    pub backoff: Duration,
}

pub struct Delivery {
    loop_id: usize,
    policy: Policy,
    /// Every receipt queued or in flight on this loop. Queues and windows
    /// move 4-byte keys into it, not the 150-byte records.
    pub(crate) store: Slab<Item>,
    accounts: Vec<AccountQueue>,
    /// Accounts to pump at the end of this iteration.
    dirty: Vec<usize>,
    /// Receipts back from delays, mailboxes and the spool, to be queued.
    pub fresh: Vec<Item>,
    /// Deliveries handed to other loops, one batch per loop, shipped by the loop.
    pub outbox: Vec<Batch<Item>>,
    /// Scratch list of loops with a receiver for the account being pumped.
    targets: Vec<usize>,
    /// Receipts waiting for a timer (outcome delay, retry back-off).
    /// Items waiting for a retry, each with the generation its timer
    /// carries: a timer whose item was withdrawn finds another generation
    /// in a reused slot and leaves that item alone.
    pub(crate) delayed: Slab<(u32, Item)>,
    delayed_gen: u32,
    /// How MO deliveries ended, for their submitters' stores (drained by
    /// the loop at the end of the iteration).
    pub outcomes: Vec<MoOutcome>,
    dates: receipt::DateCache,
    /// The journal hooks: created and finished receipts.
    pub journal: JournalHooks,
    /// What happened to recent messages (`events.rs`): recorded by
    /// delivery, acceptance and the store's timers alike.
    pub events: crate::events::EventLog,
    /// Deliveries for the cluster's broker (`--nats`): no receiver for
    /// their account on any loop of this node (`cluster::bridge::flush`).
    pub cluster_out: Vec<Item>,
}

impl Delivery {
    pub fn new(loop_id: usize, shared: &Shared, policy: Policy) -> Delivery {
        let n = shared.config.accounts.len();
        Delivery {
            loop_id,
            policy,
            store: Slab::new(),
            accounts: (0..n).map(|_| AccountQueue::default()).collect(),
            dirty: Vec::new(),
            fresh: Vec::new(),
            outbox: (0..shared.config.threads).map(|_| Vec::new()).collect(),
            targets: Vec::new(),
            delayed: Slab::new(),
            delayed_gen: 0,
            outcomes: Vec::new(),
            dates: receipt::DateCache::default(),
            journal: JournalHooks::new(shared, loop_id),
            events: crate::events::EventLog::new(shared.config.message_events, loop_id as u8),
            cluster_out: Vec::new(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Per-account tables as long as the accounts in force (a reload may
    /// have added some; another loop may send their receipts first).
    pub fn grow_accounts(&mut self, n: usize) {
        if self.accounts.len() < n {
            self.accounts.resize_with(n, AccountQueue::default);
        }
    }

    /// Puts a receipt in the store and its key on its account's queue.
    #[inline(always)]
    pub fn enqueue(&mut self, r: impl Into<Item>, shared: &Shared) {
        let r = r.into();
        let a = r.account().index();
        let key = self.store.insert(r);
        self.enqueue_stored(a, key, shared);
    }

    /// Queues a receipt already in the store (key `key`) for account `a`.
    #[inline(always)]
    pub fn enqueue_stored(&mut self, a: usize, key: usize, shared: &Shared) {
        if a >= self.accounts.len() {
            self.grow_accounts(shared.accounts().len());
        }
        match self.accounts.get_mut(a) {
            Some(q) => {
                q.queue.push_back(key as u32);
                self.mark_dirty(a);
            }
            None => {
                if let Some(r) = self.store.try_remove(key) {
                    self.journal.done(r.jid());
                }
            }
        }
    }

    /// Journals the receipt at `key` as created.
    #[inline]
    pub fn journal_add(&mut self, key: usize, system_id: &str) {
        if let Some(Item::Receipt(r)) = self.store.get_mut(key) {
            self.journal.add(r, system_id);
        }
    }

    /// Queues this iteration's fresh receipts.
    pub fn route_fresh(&mut self, shared: &Shared) {
        let mut fresh = std::mem::take(&mut self.fresh);
        for r in fresh.drain(..) {
            self.enqueue(r, shared);
        }
        self.fresh = fresh;
    }

    /// Schedules a pump of account `a` at the end of this iteration.
    #[inline]
    pub fn mark_dirty(&mut self, a: usize) {
        if let Some(q) = self.accounts.get_mut(a) {
            if !q.dirty {
                q.dirty = true;
                self.dirty.push(a);
            }
        }
    }

    /// Schedules a pump of every account holding receipts (a receiver may
    /// have bound on another loop; some may have expired).
    pub fn mark_held_dirty(&mut self) {
        for a in 0..self.accounts.len() {
            if self.accounts.get(a).is_some_and(|q| !q.queue.is_empty()) {
                self.mark_dirty(a);
            }
        }
    }

    /// Nothing of account `a` is queued on this loop.
    #[inline]
    pub fn queue_is_empty(&self, a: usize) -> bool {
        self.accounts.get(a).is_none_or(|q| q.queue.is_empty())
    }

    /// Receipts queued on this loop (not in flight, not delayed).
    pub fn queued(&self) -> usize {
        self.accounts.iter().map(|q| q.queue.len()).sum()
    }

    /// The queued receipts, account by account, oldest first (the spool).
    pub fn queued_receipts(&self) -> impl Iterator<Item = &Receipt> + '_ {
        self.accounts
            .iter()
            .flat_map(|q| q.queue.iter())
            .filter_map(|&k| match self.store.get(k as usize) {
                Some(Item::Receipt(r)) => Some(r),
                _ => None,
            })
    }

    /// Takes the MO message of `origin` out of this loop's queues, retry
    /// delays or this iteration's arrivals (its message was cancelled or
    /// expired). Rare: a scan. False if it is not here (in flight, on
    /// another loop, or gone).
    pub fn withdraw_mo(&mut self, origin: (u8, u64)) -> bool {
        let store = &mut self.store;
        for q in &mut self.accounts {
            let pos = q.queue.iter().position(
                |&k| matches!(store.get(k as usize), Some(Item::Mo(m)) if m.origin == origin),
            );
            if let Some(i) = pos {
                if let Some(k) = q.queue.remove(i) {
                    store.try_remove(k as usize);
                }
                return true;
            }
        }
        // Waiting for a retry: its timer then finds the slot empty, or
        // reused by another generation.
        let delayed = self
            .delayed
            .iter()
            .find(|(_, (_, it))| matches!(it, Item::Mo(m) if m.origin == origin))
            .map(|(k, _)| k);
        if let Some(k) = delayed {
            self.delayed.try_remove(k);
            return true;
        }
        // Arrived from another loop this iteration, not queued yet.
        if let Some(i) = self
            .fresh
            .iter()
            .position(|it| matches!(it, Item::Mo(m) if m.origin == origin))
        {
            self.fresh.swap_remove(i);
            return true;
        }
        false
    }

    /// At stop: what is delayed goes back on the queues (to be spooled).
    pub fn undelay_all(&mut self, shared: &Shared) {
        let delayed: Vec<Item> = self.delayed.drain().map(|(_, it)| it).collect();
        for r in delayed {
            self.enqueue(r, shared);
        }
    }

    /// A session that bound as receiver (RX/TRX) of account `a` joins the
    /// round-robin; loops holding receipts for it are woken.
    pub fn add_receiver(&mut self, s: &mut Session, a: AccountId, shared: &Shared) {
        s.receiving = true;
        if let Some(q) = self.accounts.get_mut(a.index()) {
            q.receivers.push(s.key);
        }
        self.mark_dirty(a.index());
        if let Some(c) = shared
            .account(a)
            .and_then(|st| st.receivers.get(self.loop_id))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        // Loops holding receipts for this account can now forward them.
        shared.wake_all_but(self.loop_id);
    }

    /// Takes a session out of routing (no new receipts are sent to it);
    /// receipts already in flight may still be acknowledged.
    pub fn stop_routing(&mut self, s: &mut Session, a: AccountId, shared: &Shared) {
        if !s.receiving {
            return;
        }
        s.receiving = false;
        if let Some(q) = self.accounts.get_mut(a.index()) {
            q.receivers.retain(|k| *k != s.key);
        }
        if let Some(c) = shared
            .account(a)
            .and_then(|st| st.receivers.get(self.loop_id))
        {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Stops routing to a session and puts its unacknowledged receipts back
    /// at the front of the queue (unbind, close).
    pub fn stop_receiving(
        &mut self,
        s: &mut Session,
        a: AccountId,
        shared: &Shared,
        m: &mut crate::metrics::Counters,
    ) {
        self.stop_routing(s, a, shared);
        if s.inflight.is_empty() {
            return;
        }
        if let Some(q) = self.accounts.get_mut(a.index()) {
            for inf in s.inflight.drain(..).rev() {
                match self.store.get(inf.receipt as usize) {
                    Some(Item::Mo(_)) => m.mo_retried += 1,
                    _ => m.receipt_retried += 1,
                }
                q.queue.push_front(inf.receipt);
            }
        }
        self.mark_dirty(a.index());
    }
}
