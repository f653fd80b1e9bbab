//! Sending: closed loop refills the windows that answers opened; open loop
//! sends what the schedule says is due, each message on its own bind.

use super::conn::{mark_dirty, Current, Req, Slot, State};
use super::Worker;
use crate::matcher::SentAt;
use crate::templates::Kind;

impl Worker {
    /// Remembers that `key`'s window has room (an answer came): closed
    /// loop, to refill it; open loop, as a spare for messages whose own bind
    /// is full.
    #[inline]
    pub(super) fn want_refill(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            if !c.queued {
                c.queued = true;
                if self.open_loop {
                    self.spare.push_back(key);
                } else {
                    self.ready.push(key);
                }
            }
        }
    }

    /// Closed loop: fill every window with room, only those (with thousands
    /// of binds, scanning them all per loop iteration would cost more than
    /// the sends). Open loop: send what the schedule says is due.
    pub(super) fn send_due(&mut self) {
        if self.submitters.is_empty() {
            return;
        }
        if self.open_loop {
            self.send_scheduled();
            return;
        }
        let window = self.plan.window;
        let mut ready = std::mem::take(&mut self.ready);
        for &key in &ready {
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            c.queued = false;
            if c.state != State::Bound || c.busy >= window {
                continue;
            }
            let now = self.clock();
            self.now = now;
            let measured = now >= self.warmup_end;
            while self.conns.get(key).is_some_and(|c| c.busy < window) {
                // ESME to ESME: too many messages await their receipts.
                if self.tracker.as_ref().is_some_and(|t| !t.has_room()) {
                    self.waiting_for_tracker.push(key);
                    break;
                }
                self.send_one(key, now, now, measured);
            }
        }
        ready.clear();
        if self.ready.is_empty() {
            self.ready = ready;
        }
    }

    /// Open loop: every message due goes out on the bind the schedule gives
    /// it (its own evenly spaced share); if that bind's window is full (or
    /// it was lost), on the next one with room, round robin; if none has
    /// room, the message waits and keeps its intended time.
    fn send_scheduled(&mut self) {
        let window = self.plan.window;
        let n = self.submitters.len();
        let now = self.clock();
        self.now = now;
        self.blocked = false;
        // --tick: what falls due before the next wake-up goes now.
        let horizon = now
            + if self.plan.ticked() {
                self.plan.tick_ns
            } else {
                0
            };
        let has_room = |w: &Worker, key: usize| {
            w.conns
                .get(key)
                .is_some_and(|c| c.state == State::Bound && c.busy < window)
        };
        while let Some((due, bind)) = self
            .schedule
            .as_ref()
            .and_then(|s| s.next_due().map(|d| (d, s.next_bind())))
            .filter(|(d, _)| *d <= horizon)
        {
            let own = self.submitters[bind % n];
            let key = if has_room(self, own) {
                own
            } else {
                // The spares in turn; a full one leaves the queue until an
                // answer gives it room again (so no scan of every bind).
                let mut found = None;
                while let Some(key) = self.spare.pop_front() {
                    if let Some(c) = self.conns.get_mut(key) {
                        c.queued = false;
                    }
                    if has_room(self, key) {
                        self.want_refill(key);
                        found = Some(key);
                        break;
                    }
                }
                let Some(key) = found else {
                    self.blocked = true;
                    break;
                };
                key
            };
            if let Some(s) = self.schedule.as_mut() {
                s.take_due(horizon);
            }
            self.send_one(key, due, now, due >= self.warmup_end);
        }
    }

    #[inline]
    pub(super) fn send_one(&mut self, key: usize, intended: u64, sent: u64, measured: bool) {
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
        let template = self.templates.get(cur.kind, cur.next_part, cur.receipt);
        // ESME-to-ESME: every message but a link check is tracked to its MO.
        let tag = match self.tracker.as_mut() {
            Some(t) if cur.kind != Kind::Enquire => {
                let at = SentAt {
                    intended,
                    sent,
                    measured,
                    tag: 0,
                };
                t.start(key, at, cur.receipt).unwrap_or(0)
            }
            _ => 0,
        };
        if tag != 0 {
            template.write_tagged(&mut c.wbuf, seq, cur.concat_ref, tag);
        } else {
            template.write(&mut c.wbuf, seq, cur.concat_ref);
        }
        c.slots[(seq & c.mask) as usize] = Slot {
            seq,
            receipt: cur.receipt,
            measured,
            req: Req::Msg,
            intended,
            sent,
            tag,
        };
        c.outstanding += 1;
        c.busy += 1;
        self.counters.sent += 1;
        if cur.receipt {
            self.counters.sent_with_receipt += 1;
        }
        mark_dirty(&mut self.dirty, c, key);
        if self.plan.query_threshold | self.plan.enquire_threshold != 0 {
            self.send_extras(key, sent, measured);
        }
    }
}
