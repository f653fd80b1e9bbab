//! The pump: queued deliveries into the windows of an account's receiving
//! sessions (the submitter first, then round-robin per pass: each receiver
//! in turn takes what it has room for), or to another loop that has a
//! receiver, or kept until one binds.

use super::Item;
use super::{Delivery, Policy};
use crate::clock::{Clock, Kind};
use crate::conn::{ConnKey, Inflight, Session};
use crate::events::{EventLog, Kind as Ev};
use crate::metrics::Counters;
use crate::pdu::CommandId;
use crate::receipt;
use crate::server::Shared;
use std::sync::atomic::Ordering;

/// The sessions delivery may write to: the loop's connections, or a test's
/// plain sessions.
pub trait Sessions {
    /// The open session `key` names (None if the slot was reused).
    fn get(&mut self, key: ConnKey) -> Option<&mut Session>;
    /// `key` has new output: flush it. `receipt`: only a receipt, which may
    /// wait for the session's own read later in this iteration.
    fn wrote(&mut self, key: ConnKey, receipt: bool);
}

/// Whether `s` can take a deliver_sm of account `a` now: an open receiving
/// session of that account with room in its window and write buffer.
#[inline]
pub fn takes(s: &Session, a: usize, p: &Policy) -> bool {
    !s.closed
        && s.receiving
        && s.account.map(|x| x.index()) == Some(a)
        && s.inflight.len() < p.window
        && s.tx.len() < p.high_watermark
}

/// Writes receipt `rk` (`r` in the store) to `s` as a deliver_sm and puts
/// it in the session's window. False (nothing sent) if the write buffer is
/// at its bound.
#[inline]
fn write_deliver_sm(
    r: &Item,
    rk: u32,
    s: &mut Session,
    dates: &mut receipt::DateCache,
    clock: &mut Clock,
    m: &mut Counters,
    events: &mut EventLog,
) -> bool {
    let seq = s.next_seq();
    let v34 = s.v34;
    let ok = s.tx.write_with(r.max_len(), |buf| {
        r.encode(seq, v34, dates, buf).unwrap_or(0)
    });
    if !ok {
        return false;
    }
    s.inflight.push_back(Inflight {
        seq,
        sent_tick: clock.tick,
        receipt: rk,
    });
    m.receipt_sent += 1;
    m.tx(CommandId::DELIVER_SM);
    s.pdus_tx += 1;
    if events.is_on() {
        let (k, mo) = crate::events::of_item(r);
        let kind = if mo { Ev::MoSent } else { Ev::ReceiptSent };
        let (d, n) = crate::events::session_data(events.lp, s.key.slot, s.key.gen);
        events.record(
            k,
            clock.micros,
            kind,
            d.get(..usize::from(n)).unwrap_or(&[]),
        );
    }
    if !s.resp_timer_armed {
        s.resp_timer_armed = true;
        clock.session_at(s.key, Kind::Response, clock.tick + clock.timers.response);
    }
    true
}

impl Delivery {
    /// A receipt made while its submitting session is being answered goes
    /// straight into that session's write buffer (after the submit_sm_resp)
    /// when nothing of the account is queued before it and the session's
    /// window has room: no trip through the account queue and the pump, and
    /// the record is encoded while still in cache. False: queue it instead.
    #[inline]
    pub fn send_direct(
        &mut self,
        s: &mut Session,
        a: usize,
        rk: u32,
        clock: &mut Clock,
        m: &mut Counters,
    ) -> bool {
        if !self.queue_is_empty(a) || !takes(s, a, &self.policy) {
            return false;
        }
        let Some(r) = self.store.get(rk as usize) else {
            return false;
        };
        write_deliver_sm(r, rk, s, &mut self.dates, clock, m, &mut self.events)
    }

    /// Pumps every account marked dirty in this iteration.
    pub fn pump_dirty(
        &mut self,
        sessions: &mut impl Sessions,
        clock: &mut Clock,
        m: &mut Counters,
        shared: &Shared,
    ) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &a in &dirty {
            if let Some(q) = self.accounts.get_mut(a) {
                q.dirty = false;
            }
            self.pump(a, sessions, clock, m, shared);
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    /// Sends queued receipts of account `a` to its receivers on this loop
    /// (round-robin, within each session's window), or hands them to a loop
    /// that has a receiver, or keeps them until one binds.
    pub fn pump(
        &mut self,
        a: usize,
        sessions: &mut impl Sessions,
        clock: &mut Clock,
        m: &mut Counters,
        shared: &Shared,
    ) {
        let Some(q) = self.accounts.get_mut(a) else {
            return;
        };
        let policy = self.policy;
        // MO messages no receiver's address_range admits are moved behind
        // the others, at most once each per pump.
        let mut rotations = q.queue.len();
        // The receiver round-robin chose last in this pass: it takes what
        // follows while its window has room, so a pass's deliveries leave
        // in one write per receiver (and their answers, and the receipts
        // those make, come back in few), not one message per receiver in
        // turn. The next pass starts at the next receiver.
        let mut run: Option<ConnKey> = None;
        while let Some(&rk) = q.queue.front() {
            let Some(r) = self.store.get(rk as usize) else {
                q.queue.pop_front();
                continue;
            };
            if r.expires_unix() < clock.unix {
                q.queue.pop_front();
                if let Some(r) = self.store.try_remove(rk as usize) {
                    self.journal.done(r.jid());
                    if let Item::Mo(mo) = r {
                        m.mo_expired += 1;
                        self.outcomes.push(super::MoOutcome {
                            origin: mo.origin,
                            node: mo.origin_node,
                            stat: crate::dlr::Stat::Expired,
                            err: 0,
                        });
                    } else {
                        m.receipt_expired += 1;
                    }
                }
                continue;
            }
            // The submitting session first when it receives too (a TRX
            // bind gets the receipt on the connection, and in the write, of
            // its submit_sm_resp: no "receipt for an unknown id" race), then
            // round-robin over the account's receiving sessions.
            let mo_dest = match r {
                Item::Mo(m) => Some(m.dest.as_bytes()),
                Item::Receipt(_) => None,
            };
            let admits = |s: &Session| mo_dest.is_none_or(|d| s.admits(d));
            let mut eligible = |key: ConnKey| {
                sessions
                    .get(key)
                    .is_some_and(|s| takes(s, a, &policy) && admits(s))
            };
            let preferred = r
                .prefer()
                .map(|(slot, gen)| ConnKey { slot, gen })
                .filter(|&k| eligible(k));
            let n = q.receivers.len();
            let chosen = match preferred.or_else(|| run.filter(|&k| eligible(k))) {
                Some(k) => Some((None, k)),
                None => (0..n)
                    .map(|k| (q.rr + k) % n)
                    .filter_map(|i| q.receivers.get(i).map(|&key| (i, key)))
                    .find(|&(_, key)| eligible(key))
                    .map(|(i, key)| (Some(i), key)),
            };
            let Some((rr_index, key)) = chosen else {
                let nobody = mo_dest.is_some()
                    && !q
                        .receivers
                        .iter()
                        .any(|&k| sessions.get(k).is_some_and(|s| admits(s)));
                if nobody && rotations > 0 && !q.receivers.is_empty() {
                    rotations -= 1;
                    q.queue.rotate_left(1);
                    continue;
                }
                break;
            };
            let Some(s) = sessions.get(key) else {
                break;
            };
            if !write_deliver_sm(r, rk, s, &mut self.dates, clock, m, &mut self.events) {
                break;
            }
            sessions.wrote(key, mo_dest.is_none());
            if let Some(i) = rr_index {
                q.rr = i + 1;
                run = Some(key);
            }
            q.queue.pop_front();
        }
        // No local receiver: hand the queue to a loop that has one.
        if q.receivers.is_empty() && !q.queue.is_empty() && !shared.shutdown.load(Ordering::Relaxed)
        {
            if let Some(st) = shared.accounts.get(a) {
                let me = self.loop_id;
                // A reused list: no allocation per forwarding pump.
                self.targets.clear();
                self.targets.extend(
                    st.receivers
                        .iter()
                        .enumerate()
                        .filter(|(w, c)| *w != me && c.load(Ordering::Relaxed) > 0)
                        .map(|(w, _)| w),
                );
                let n = self.targets.len();
                if n > 0 {
                    let mut k = q.rr;
                    while let Some(rk) = q.queue.pop_front() {
                        let Some(mut r) = self.store.try_remove(rk as usize) else {
                            continue;
                        };
                        // Slot numbers mean nothing on another loop.
                        r.forget_prefer();
                        match self
                            .targets
                            .get(k % n)
                            .and_then(|&w| self.outbox.get_mut(w))
                        {
                            Some(ob) => {
                                ob.push(r);
                                m.receipt_forwarded += 1;
                            }
                            // Cannot happen (targets index the outboxes); never drop.
                            None => self.fresh.push(r),
                        }
                        k += 1;
                    }
                    q.rr = k;
                } else if let Some(c) = &shared.cluster {
                    // No receiver on this node: to whichever node has one,
                    // through the broker, within its bound.
                    let room = c.room().saturating_sub(self.cluster_out.len());
                    for _ in 0..room.min(q.queue.len()) {
                        let Some(rk) = q.queue.pop_front() else {
                            break;
                        };
                        if let Some(mut r) = self.store.try_remove(rk as usize) {
                            r.forget_prefer();
                            self.cluster_out.push(r);
                        }
                    }
                }
            }
        }
        // Publish the held count (only when it changed: usually never).
        let len = q.queue.len();
        if len != q.published {
            if let Some(st) = shared.accounts.get(a) {
                if len > q.published {
                    st.queued.fetch_add(len - q.published, Ordering::Relaxed);
                } else {
                    st.queued.fetch_sub(q.published - len, Ordering::Relaxed);
                }
            }
            q.published = len;
        }
    }
}
