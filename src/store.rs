//! The message store: every message this loop accepted, with its state of
//! §5.2.28, its dates and error code, and while it is pending what is needed
//! to finish, cancel or replace it.
//!
//! A message's id is its place: the per-loop sequence number in the id
//! (see `msgid.rs`) picks the slot (`seq % capacity`) of a ring of small
//! fixed-size records, so a lookup by id is an index and a compare, and the
//! submit path takes no lock and hashes no string. A new message takes the
//! next slot whose message is final (the oldest go first); a slot whose
//! message is still pending is skipped, so long-pending messages never
//! block the ring, and a store with no final slot within [`PROBES`] answers
//! `ESME_RMSGQFUL`. Final messages stay queryable for the retention time.
//!
//! It owns no timer and no delivery: acceptance fills it, the loop's timers
//! and delivery's outcomes move messages to their final state.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;
use crate::dlr::Stat;
use crate::receipt::{Addr, Receipt};
use slab::Slab;

/// Slots tried for a new message before the store counts as full.
pub const PROBES: u64 = 256;

/// message_state values of §5.2.28.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum MessageState {
    Enroute = 1,
    Delivered = 2,
    Expired = 3,
    Deleted = 4,
    Undeliverable = 5,
    Accepted = 6,
    Unknown = 7,
    Rejected = 8,
}

impl MessageState {
    /// ENROUTE is the only state a message leaves.
    pub fn is_final(self) -> bool {
        self != MessageState::Enroute
    }

    /// The state a receipt's `stat:` reports.
    pub fn of_stat(s: Stat) -> MessageState {
        match s {
            Stat::Enroute => MessageState::Enroute,
            Stat::Delivrd => MessageState::Delivered,
            Stat::Expired => MessageState::Expired,
            Stat::Deleted => MessageState::Deleted,
            Stat::Undeliv => MessageState::Undeliverable,
            Stat::Acceptd => MessageState::Accepted,
            Stat::Unknown => MessageState::Unknown,
            Stat::Rejectd => MessageState::Rejected,
        }
    }
}

/// One message, final or pending: 56 octets.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// The sequence number in its id; 0 for a slot never used.
    pub seq: u64,
    pub account: AccountId,
    /// Index into the pending table while ENROUTE.
    pending: u32,
    /// Unix seconds (u32: good until 2106).
    pub submit: u32,
    /// Unix seconds of the final state; 0 while pending.
    pub done: u32,
    pub state: MessageState,
    /// error_code of query_sm_resp (the network error; 0 when delivered).
    pub error: u8,
    /// The source address, which query_sm must name.
    pub source: Addr,
}

const NO_PENDING: u32 = u32::MAX;

/// What a pending message still needs: its receipt (addresses, text and
/// the outcome it will report), when it is due, what cancel_sm matches.
#[derive(Clone, Debug)]
pub struct Pending {
    pub seq: u64,
    /// The final receipt as it will be sent (its `stat` is the outcome).
    pub receipt: Receipt,
    /// registered_delivery bits 1-0: which final outcomes get a receipt.
    pub wants: u8,
    /// What the outcome model chose for it.
    pub outcome: Stat,
    /// Unix second the outcome happens (schedule + the outcome model's delay).
    pub due: i64,
    /// Unix second the message expires (validity period or the default).
    pub expires: i64,
    /// Bumped when the message is rescheduled: an older timer is stale.
    pub timer_gen: u32,
    /// Its armed timer: cancelled when the message ends before it fires
    /// (an MO message's validity timer would otherwise stay in the wheel
    /// for days, one per message delivered).
    pub timer: Option<crate::timer::TimerHandle>,
    /// Its journal line's jid (`persist::message_line`); 0 without a journal.
    pub jid: u64,
    pub service_type: [u8; 6],
    pub service_type_len: u8,
    /// What replace_sm's new short_message is validated against.
    pub data_coding: u8,
    pub esm_class: u8,
    /// For a message to a number an account owns: the account, and while
    /// it waits for its schedule, its MO deliver_sm (handed to delivery then).
    pub mo_to: Option<AccountId>,
    pub mo: Option<Box<crate::delivery::Mo>>,
}

impl Pending {
    /// The state it ends in: the outcome, or EXPIRED if that comes first.
    pub fn final_stat(&self) -> Stat {
        if self.due >= self.expires {
            Stat::Expired
        } else {
            self.outcome
        }
    }

    /// Unix second its timer is for.
    pub fn fires_at(&self) -> i64 {
        self.due.min(self.expires)
    }

    pub fn service_type(&self) -> &[u8] {
        self.service_type
            .get(..usize::from(self.service_type_len))
            .unwrap_or(&[])
    }
}

/// Which receipts `wants` (registered_delivery & 3) asks for, given the
/// final outcome.
pub fn wants_receipt(wants: u8, stat: Stat) -> bool {
    match wants {
        1 => true,
        2 => stat != Stat::Delivrd,
        3 => stat == Stat::Delivrd,
        _ => false,
    }
}

pub struct Store {
    ring: Vec<Meta>,
    cap: u64,
    /// The next sequence number to try, and its slot (kept alongside, so
    /// admitting divides nothing).
    next: u64,
    next_slot: usize,
    pending: Slab<Pending>,
    retention: u32,
    /// Messages of an earlier run recovered from the journal, by the id
    /// their ESME was given: the sequence number they have now. Filled at
    /// start only (bounded by what the journal held); a stale entry finds
    /// its slot reused by another sequence and misses.
    aliases: std::collections::HashMap<crate::msgid::MessageId, u64>,
    /// Pending messages per account (the admin API's accounts table).
    pending_by_account: Vec<u32>,
}

/// Why a lookup found nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Miss {
    /// Never stored, overwritten, or past its retention.
    Unknown,
    /// Another account's message.
    NotYours,
}

impl Store {
    /// `capacity` messages (at least one), final ones kept `retention_secs`.
    pub fn new(capacity: usize, retention_secs: u32) -> Store {
        let cap = capacity.max(1) as u64;
        Store {
            // Grows as it fills: an idle server does not hold the whole ring.
            ring: Vec::new(),
            cap,
            next: 1,
            next_slot: 0,
            pending: Slab::new(),
            retention: retention_secs,
            aliases: Default::default(),
            pending_by_account: Vec::new(),
        }
    }

    /// The ring slot of `seq`: `(seq - 1) % cap`, counted back from the
    /// next slot to issue for the messages of the last `cap` (every one
    /// still in the ring), so the lookups of the hot path (an MO outcome,
    /// a pending message's timer) divide nothing: a 64-bit division on the
    /// dependent chain of each lookup was a fifth of an MO outcome's cycles.
    #[inline]
    fn slot(&self, seq: u64) -> usize {
        let back = self.next.wrapping_sub(seq);
        let here = self.next_slot as u64;
        if back <= here {
            (here - back) as usize
        } else if back <= self.cap {
            (self.cap - (back - here)) as usize
        } else {
            // Overwritten long ago, or never issued: the slot holds another
            // sequence number, which the caller's check finds.
            (seq.wrapping_sub(1) % self.cap) as usize
        }
    }

    /// Stores a new message in `state` (ENROUTE, or its final state when
    /// that is known at once) and returns its sequence number, or None when
    /// no slot within [`PROBES`] holds a final message (the store is full
    /// of pending ones). The record is written where it is stored.
    #[inline(always)]
    pub fn admit(
        &mut self,
        account: AccountId,
        now: i64,
        (ton, npi, source): (u8, u8, &[u8]),
        state: MessageState,
        error: u8,
    ) -> Option<u64> {
        let done = if state.is_final() {
            now.max(1) as u32
        } else {
            0
        };
        for _ in 0..PROBES {
            let seq = self.next;
            let slot = self.next_slot;
            self.next += 1;
            self.next_slot = if slot + 1 == self.cap as usize {
                0
            } else {
                slot + 1
            };
            if slot == self.ring.len() {
                if self.ring.capacity() == 0 {
                    // Address space for the whole ring at once (pages are
                    // touched as it fills): no copy as it grows.
                    self.ring.reserve_exact(self.cap as usize);
                }
                self.ring.push(Meta {
                    seq,
                    account,
                    pending: NO_PENDING,
                    submit: now as u32,
                    done,
                    state,
                    error,
                    source: Addr::new(ton, npi, source),
                });
                return Some(seq);
            }
            match self.ring.get_mut(slot) {
                Some(m) if m.state.is_final() || m.seq == 0 => {
                    m.seq = seq;
                    m.account = account;
                    m.pending = NO_PENDING;
                    m.submit = now as u32;
                    m.done = done;
                    m.state = state;
                    m.error = error;
                    m.source.set(ton, npi, source);
                    return Some(seq);
                }
                // Pending: skip it (its sequence number is never issued).
                _ => continue,
            }
        }
        None
    }

    /// The message `seq`, if still held.
    #[inline]
    pub fn get(&self, seq: u64, now: i64) -> Option<&Meta> {
        if seq == 0 {
            return None;
        }
        self.ring
            .get(self.slot(seq))
            .filter(|m| m.seq == seq)
            .filter(|m| !m.state.is_final() || i64::from(m.done) + i64::from(self.retention) >= now)
    }

    /// The message `seq` of `account`.
    pub fn find(&self, seq: u64, account: AccountId, now: i64) -> Result<&Meta, Miss> {
        match self.get(seq, now) {
            Some(m) if m.account == account => Ok(m),
            Some(_) => Err(Miss::NotYours),
            None => Err(Miss::Unknown),
        }
    }

    /// Message `id` of an earlier run is now `seq` (journal recovery).
    pub fn alias(&mut self, id: crate::msgid::MessageId, seq: u64) {
        self.aliases.insert(id, seq);
    }

    /// The sequence number an earlier run's message `id` has now.
    pub fn by_alias(&self, id: &[u8]) -> Option<u64> {
        let id: crate::msgid::MessageId = id.try_into().ok()?;
        self.aliases.get(&id).copied()
    }

    /// Moves message `seq` to a final state (no-op if it is gone or final);
    /// returns what it had pending (whose timer the caller disarms).
    #[inline]
    pub fn finish(
        &mut self,
        seq: u64,
        state: MessageState,
        error: u8,
        now: i64,
    ) -> Option<Pending> {
        let idx = self.end(seq, state, error, now)?;
        self.pending.try_remove(idx)
    }

    /// `finish`, reading what the caller needs from the pending part in
    /// place (an MO outcome, per message: no copy of the whole entry).
    /// None, and nothing changed, unless the message is pending.
    #[inline]
    pub fn finish_with<T>(
        &mut self,
        seq: u64,
        state: MessageState,
        error: u8,
        now: i64,
        f: impl FnOnce(&Pending) -> T,
    ) -> Option<T> {
        let slot = self.slot(seq);
        let m = self.ring.get(slot).filter(|m| m.seq == seq)?;
        let out = f(self.pending.get(m.pending as usize)?);
        let idx = self.end_at(slot, seq, state, error, now)?;
        self.pending.try_remove(idx);
        Some(out)
    }

    /// Records message `seq`'s final state unless it is gone or final; its
    /// pending index, if it had one (the entry is still in the table).
    #[inline]
    fn end(&mut self, seq: u64, state: MessageState, error: u8, now: i64) -> Option<usize> {
        self.end_at(self.slot(seq), seq, state, error, now)
    }

    /// `end` of the message in ring slot `slot`.
    #[inline]
    fn end_at(
        &mut self,
        slot: usize,
        seq: u64,
        state: MessageState,
        error: u8,
        now: i64,
    ) -> Option<usize> {
        let m = self.ring.get_mut(slot).filter(|m| m.seq == seq)?;
        if m.state.is_final() {
            return None;
        }
        m.state = state;
        m.error = error;
        m.done = now.max(1) as u32;
        if m.pending == NO_PENDING {
            return None;
        }
        let idx = m.pending as usize;
        m.pending = NO_PENDING;
        if let Some(n) = self.pending_by_account.get_mut(m.account.index()) {
            *n = n.saturating_sub(1);
        }
        Some(idx)
    }

    /// Attaches what a pending message needs; returns its pending index.
    pub fn hold(&mut self, p: Pending) -> Option<usize> {
        let slot = self.slot(p.seq);
        let seq = p.seq;
        let m = self.ring.get_mut(slot).filter(|m| m.seq == seq)?;
        let idx = self.pending.insert(p);
        m.pending = idx as u32;
        let a = m.account.index();
        if self.pending_by_account.len() <= a {
            self.pending_by_account.resize(a + 1, 0);
        }
        if let Some(n) = self.pending_by_account.get_mut(a) {
            *n += 1;
        }
        Some(idx)
    }

    /// The pending part of message `seq`.
    pub fn pending_mut(&mut self, seq: u64) -> Option<&mut Pending> {
        let slot = self.slot(seq);
        let m = self.ring.get(slot).filter(|m| m.seq == seq)?;
        if m.pending == NO_PENDING {
            return None;
        }
        self.pending
            .get_mut(m.pending as usize)
            .filter(|p| p.seq == seq)
    }

    /// The pending-table index of message `seq` (its timer's slot).
    pub fn pending_index(&self, seq: u64) -> Option<usize> {
        let m = self.ring.get(self.slot(seq)).filter(|m| m.seq == seq)?;
        (m.pending != NO_PENDING).then_some(m.pending as usize)
    }

    /// The pending entry at `idx` (a timer's slot).
    pub fn pending_at(&self, idx: usize) -> Option<&Pending> {
        self.pending.get(idx)
    }

    pub fn pending_at_mut(&mut self, idx: usize) -> Option<&mut Pending> {
        self.pending.get_mut(idx)
    }

    /// Sequence numbers of `account`'s pending messages `pick` selects
    /// (cancel_sm without an id). Rare: a scan of the pending table.
    pub fn pending_matching(
        &self,
        account: AccountId,
        mut pick: impl FnMut(&Pending) -> bool,
    ) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|(_, p)| p.receipt.account == account && pick(p))
            .map(|(_, p)| p.seq)
            .collect()
    }

    /// Pending messages per account (index = account id; may be shorter).
    pub fn pending_by_account(&self) -> &[u32] {
        &self.pending_by_account
    }

    /// Messages pending on this loop.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Slots in use (final or pending).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const A: AccountId = AccountId(0);
    const B: AccountId = AccountId(1);

    fn src() -> (u8, u8, &'static [u8]) {
        (5, 0, b"Shop")
    }

    #[test]
    fn the_slot_counted_back_is_the_slot_divided() {
        for cap in [1u64, 2, 3, 7, 64, 1000] {
            let mut st = Store::new(cap as usize, 60);
            for n in 0..(3 * cap + 5) {
                let seq = st.admit(A, 100, src(), MessageState::Delivered, 0).unwrap();
                assert_eq!(seq, n + 1);
                // Recent, old, overwritten, never issued.
                for probe in [
                    seq,
                    seq.saturating_sub(cap - 1).max(1),
                    seq.saturating_sub(cap).max(1),
                    1,
                    seq + 1,
                    seq + cap + 3,
                ] {
                    let want = ((probe - 1) % cap) as usize;
                    assert_eq!(
                        st.slot(probe),
                        want,
                        "cap {cap} next {} seq {probe}",
                        st.next
                    );
                }
                // 0 is never issued (lookups refuse it first): any slot, no panic.
                assert!((st.slot(0) as u64) < cap);
            }
        }
    }

    const E: MessageState = MessageState::Enroute;

    fn pending(seq: u64) -> Pending {
        Pending {
            seq,
            receipt: crate::testutil::receipt(),
            wants: 1,
            outcome: Stat::Delivrd,
            due: 0,
            expires: i64::MAX,
            timer_gen: 0,
            timer: None,
            jid: 0,
            service_type: [0; 6],
            service_type_len: 0,
            data_coding: 0,
            esm_class: 0,
            mo_to: None,
            mo: None,
        }
    }

    #[test]
    fn a_record_is_56_octets() {
        // docs/architecture.md and docs/performance.md count on it.
        assert_eq!(std::mem::size_of::<Meta>(), 56);
    }

    #[test]
    fn a_lookup_is_by_sequence_and_account() {
        let mut s = Store::new(4, 60);
        let a = s.admit(A, 100, src(), E, 0).unwrap();
        let b = s.admit(B, 100, src(), E, 0).unwrap();
        assert_eq!(s.find(a, A, 100).unwrap().state, MessageState::Enroute);
        assert_eq!(s.find(a, B, 100).unwrap_err(), Miss::NotYours);
        assert_eq!(s.find(b + 7, B, 100).unwrap_err(), Miss::Unknown);
        assert_eq!(s.find(0, A, 100).unwrap_err(), Miss::Unknown);
        s.finish(a, MessageState::Delivered, 0, 105);
        let m = s.find(a, A, 105).unwrap();
        assert_eq!((m.state, m.done), (MessageState::Delivered, 105));
        // Final states do not change again.
        s.finish(a, MessageState::Expired, 1, 106);
        assert_eq!(s.find(a, A, 106).unwrap().state, MessageState::Delivered);
    }

    #[test]
    fn final_messages_stay_for_the_retention_then_go() {
        let mut s = Store::new(4, 60);
        let a = s.admit(A, 100, src(), E, 0).unwrap();
        s.finish(a, MessageState::Delivered, 0, 100);
        assert!(s.get(a, 160).is_some());
        assert!(s.get(a, 161).is_none());
    }

    #[test]
    fn the_oldest_final_message_goes_first_and_pending_ones_are_skipped() {
        let mut s = Store::new(3, 3600);
        let m1 = s.admit(A, 1, src(), E, 0).unwrap();
        let m2 = s.admit(A, 1, src(), E, 0).unwrap();
        let m3 = s.admit(A, 1, src(), E, 0).unwrap();
        s.hold(pending(m1)).unwrap();
        s.finish(m2, MessageState::Delivered, 0, 2);
        s.finish(m3, MessageState::Delivered, 0, 2);
        // m1's slot is pending: skipped; m2's is reused.
        let m4 = s.admit(A, 3, src(), E, 0).unwrap();
        assert_eq!(m4, m2 + 3);
        assert!(s.get(m1, 3).is_some());
        assert!(s.get(m2, 3).is_none(), "overwritten");
        assert!(s.pending_mut(m1).is_some());
        assert!(s.pending_mut(m4).is_none());
    }

    #[test]
    fn a_store_full_of_pending_messages_refuses() {
        let mut s = Store::new(8, 3600);
        for _ in 0..8 {
            let m = s.admit(A, 1, src(), E, 0).unwrap();
            s.hold(pending(m)).unwrap();
        }
        assert_eq!(s.admit(A, 1, src(), E, 0), None);
        assert_eq!(s.len(), 8, "bounded");
        // One finishes: there is room again.
        let first = 1;
        s.finish(first, MessageState::Deleted, 0, 2);
        assert_eq!(s.pending_len(), 7);
        assert!(s.admit(A, 2, src(), E, 0).is_some());
    }

    #[test]
    fn cancel_matching_scans_only_the_accounts_pending_messages() {
        let mut s = Store::new(8, 3600);
        let a = s.admit(A, 1, src(), E, 0).unwrap();
        let b = s.admit(B, 1, src(), E, 0).unwrap();
        let mut pb = pending(b);
        pb.receipt.account = B;
        s.hold(pending(a)).unwrap();
        s.hold(pb).unwrap();
        assert_eq!(s.pending_matching(A, |_| true), vec![a]);
        assert_eq!(s.pending_matching(B, |_| true), vec![b]);
    }
}
