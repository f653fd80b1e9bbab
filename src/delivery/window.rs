//! The window's other side: deliver_sm_resp (or a generic_nack, or the
//! response timer) frees a slot; the delivery is finished, retried after a
//! back-off, or dropped with its reason counted.

use super::Delivery;
use super::{Item, MoOutcome};
use crate::clock::{Clock, Kind};
use crate::conn::Session;
use crate::dlr::Stat;
use crate::events::Kind as Ev;
use crate::metrics::LoopMetrics;
use crate::pdu::CommandStatus as S;
use crate::receipt;
use std::time::Duration;

/// What became of a deliver_sm_resp.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answered {
    /// It answered one of ours in the window.
    InWindow,
    /// Its sequence number is not in the window (late, duplicate, made up).
    Unexpected,
}

impl Delivery {
    /// The ESME answered deliver_sm `seq` with `status`.
    pub fn on_resp(
        &mut self,
        s: &mut Session,
        seq: u32,
        status: S,
        clock: &mut Clock,
        m: &mut LoopMetrics,
    ) -> Answered {
        // Answers come in order almost always: the oldest first, no search.
        let inf = if s.inflight.front().is_some_and(|i| i.seq == seq) {
            s.inflight.pop_front()
        } else {
            s.inflight
                .iter()
                .position(|i| i.seq == seq)
                .and_then(|pos| s.inflight.remove(pos))
        };
        let Some(inf) = inf else {
            return Answered::Unexpected;
        };
        let key = inf.receipt as usize;
        let Some(a) = self.store.get(key).map(|r| r.account().index()) else {
            return Answered::InWindow;
        };
        if status.is_ok() && self.events.is_on() {
            if let Some(r) = self.store.get(key) {
                let (k, mo) = crate::events::of_item(r);
                let kind = if mo { Ev::MoAcked } else { Ev::ReceiptAcked };
                self.events.record(k, clock.micros, kind, &[]);
            }
        }
        if status.is_ok() {
            // Removed without moving the record out (it is not needed).
            match self.store.get(key) {
                Some(Item::Receipt(r)) => {
                    let jid = r.jid;
                    self.store.remove(key);
                    self.journal.done(jid);
                    m.receipt_acked += 1;
                    if let Some(am) = m.account(a) {
                        am.receipt_acked += 1;
                    }
                }
                _ => {
                    if let Some(Item::Mo(mo)) = self.store.try_remove(key) {
                        self.journal.done(mo.jid);
                        m.mo_delivered += 1;
                        self.outcomes.push(MoOutcome {
                            origin: mo.origin,
                            node: mo.origin_node,
                            stat: Stat::Delivrd,
                            err: 0,
                        });
                    }
                }
            }
        } else if let Some(r) = self.store.try_remove(key) {
            self.retry(r, status, clock, m);
        }
        // A window slot is free: send more.
        if !self.queue_is_empty(a) {
            self.mark_dirty(a);
        }
        Answered::InWindow
    }

    /// Whether `seq` is one of ours in the session's window.
    pub fn in_window(s: &Session, seq: u32) -> bool {
        s.inflight.iter().any(|i| i.seq == seq)
    }

    /// After an error status or a timeout: try again later with back-off, or
    /// count the drop with its reason.
    pub fn retry(&mut self, mut r: Item, status: S, clock: &mut Clock, m: &mut LoopMetrics) {
        if self.events.is_on() {
            let (k, _) = crate::events::of_item(&r);
            let again = receipt::is_retryable(status) && r.attempts() < self.policy.retries;
            let mut d = [0u8; 5];
            d[..4].copy_from_slice(&status.0.to_be_bytes());
            d[4] = u8::from(again);
            self.events.record(k, clock.micros, Ev::Retried, &d);
        }
        if !receipt::is_retryable(status) {
            match r {
                Item::Receipt(_) => m.receipt_rejected += 1,
                Item::Mo(_) => m.mo_rejected += 1,
            }
            return self.give_up(r, status);
        }
        let attempts = r.attempts_mut();
        *attempts = attempts.saturating_add(1);
        let attempts = *attempts;
        if attempts > self.policy.retries {
            match r {
                Item::Receipt(_) => m.receipt_dropped_retries += 1,
                Item::Mo(_) => m.mo_dropped_retries += 1,
            }
            return self.give_up(r, status);
        }
        match r {
            Item::Receipt(_) => m.receipt_retried += 1,
            Item::Mo(_) => m.mo_retried += 1,
        }
        let backoff = self.policy.backoff * (1u32 << (attempts - 1).min(10));
        if crate::cluster::is_broker(r.jid()) {
            // The broker's: it redelivers after the back-off, to any node.
            return self.journal.nak(r.jid(), backoff);
        }
        self.delay(r, backoff, clock);
    }

    /// A delivery that ends without success: finished in the journal, and
    /// an MO message's submitter learns it was UNDELIV with the status.
    fn give_up(&mut self, r: Item, status: S) {
        self.journal.done(r.jid());
        if let Item::Mo(mo) = r {
            self.outcomes.push(MoOutcome {
                origin: mo.origin,
                node: mo.origin_node,
                stat: Stat::Undeliv,
                err: status.0.min(u32::from(u16::MAX)) as u16,
            });
        }
    }

    /// Keeps `r` aside until `delay` has passed; then it is queued again.
    pub fn delay(&mut self, r: impl Into<Item>, delay: Duration, clock: &mut Clock) {
        let r = r.into();
        self.delayed_gen = self.delayed_gen.wrapping_add(1);
        let gen = self.delayed_gen;
        let slot = self.delayed.insert((gen, r));
        clock.slot_gen_after(slot, gen, Kind::Receipt, delay);
    }

    /// The timer (`slot`, `gen`) of a delayed item fired: it is queued this
    /// iteration (unless that item went and the slot holds another).
    pub fn on_delayed(&mut self, slot: usize, gen: u32) {
        if self.delayed.get(slot).is_some_and(|(g, _)| *g == gen) {
            if let Some((_, r)) = self.delayed.try_remove(slot) {
                self.fresh.push(r);
            }
        }
    }

    /// The response timer of `s` fired: every deliver_sm unanswered for the
    /// response timer is given up on this session and retried.
    pub fn expire_window(&mut self, s: &mut Session, clock: &mut Clock, m: &mut LoopMetrics) {
        let limit = clock.timers.response;
        while s
            .inflight
            .front()
            .is_some_and(|i| clock.tick >= i.sent_tick + limit)
        {
            if let Some(inf) = s.inflight.pop_front() {
                m.timeout_response += 1;
                if let Some(r) = self.store.try_remove(inf.receipt as usize) {
                    self.retry(r, S::ESME_RSYSERR, clock, m);
                }
            }
        }
    }
}
