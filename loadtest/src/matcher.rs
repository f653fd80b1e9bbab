//! Receipt matching: pairs each delivery receipt with the submit whose
//! submit_sm_resp carried the same message_id.
//!
//! Two events meet here, in either order: "submitted" (the submit_sm_resp
//! arrived with message_id X, and the submit asked for a receipt) and
//! "receipt" (a deliver_sm receipt for X arrived). A receipt can come first:
//! it may arrive on another bind (another thread, another socket) before the
//! submit_sm_resp has been read. Such an early receipt is parked and matched
//! when the submit shows up.
//!
//! At the end, submits still waiting are *missing* receipts and parked
//! receipts nobody claimed are *unknown*. A second receipt for an id already
//! matched is a *duplicate*. To keep the hot path to one small map (the
//! receipts in flight), matched ids are only appended to a list per
//! generation of [`GENERATION_NS`]; a receipt that matches nothing is parked,
//! and parked receipts are looked up in a generation's list when it is
//! dropped (and in both lists at the end). So a duplicate is recognised if it
//! comes within one to two generations of the original; a later one stays
//! parked and counts as unknown (both fail the run).

use crate::ids::{IdKey, KeyMap};

/// How long a matched id is remembered at least, for duplicate detection.
pub const GENERATION_NS: u64 = 1_000_000_000;

/// When a submit went out.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SentAt {
    /// Its slot in the schedule (open loop); equals `sent` in closed loop.
    pub intended: u64,
    /// When it was actually written.
    pub sent: u64,
    /// Sent after the warm-up: its latencies are recorded.
    pub measured: bool,
    /// ESME-to-ESME mode: the message's tag (its sender completes it when
    /// the receipt is matched); 0 otherwise.
    pub tag: u64,
}

/// What an event turned out to be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Receipt and submit met: latency is `recv - sent.intended` (corrected)
    /// and `recv - sent.sent` (uncorrected).
    Matched { sent: SentAt, recv: u64 },
    /// Waiting for the other half.
    Waiting,
    /// A second receipt for an id already parked (duplicates of matched ids
    /// are found later: see the module doc).
    DuplicateReceipt,
    /// The server returned a message_id it had already returned (still
    /// awaiting its receipt): the second submit cannot be told apart.
    DuplicateMessageId,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub struct MatchStats {
    pub matched: u64,
    pub duplicate: u64,
    pub duplicate_message_ids: u64,
    /// Set by [`Matcher::finish`].
    pub missing: u64,
    /// Set by [`Matcher::finish`].
    pub unknown: u64,
}

#[derive(Default)]
pub struct Matcher {
    pending: KeyMap<SentAt>,
    early: KeyMap<u64>,
    matched_cur: Vec<IdKey>,
    matched_prev: Vec<IdKey>,
    gen_start: u64,
    pub stats: MatchStats,
}

impl Matcher {
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// Submits still waiting for their receipt.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Receipts parked without a submit (yet).
    pub fn parked(&self) -> usize {
        self.early.len()
    }

    /// Parked receipts whose id is in `gen` are duplicates.
    fn resolve(early: &mut KeyMap<u64>, gen: &[IdKey], stats: &mut MatchStats) {
        if early.is_empty() {
            return;
        }
        for k in gen {
            if early.remove(k).is_some() {
                stats.duplicate += 1;
                if early.is_empty() {
                    return;
                }
            }
        }
    }

    #[inline]
    fn remember(&mut self, key: IdKey, now: u64) {
        if now.saturating_sub(self.gen_start) >= GENERATION_NS {
            Self::resolve(&mut self.early, &self.matched_prev, &mut self.stats);
            std::mem::swap(&mut self.matched_cur, &mut self.matched_prev);
            self.matched_cur.clear();
            self.gen_start = now;
        }
        self.matched_cur.push(key);
    }

    /// The submit_sm_resp for a submit that asked for a receipt.
    pub fn on_submitted(&mut self, key: IdKey, sent: SentAt, now: u64) -> Outcome {
        if !self.early.is_empty() {
            if let Some(recv) = self.early.remove(&key) {
                self.stats.matched += 1;
                self.remember(key, now);
                return Outcome::Matched { sent, recv };
            }
        }
        match self.pending.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.stats.duplicate_message_ids += 1;
                Outcome::DuplicateMessageId
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(sent);
                Outcome::Waiting
            }
        }
    }

    /// A receipt for `key` received at `recv`.
    pub fn on_receipt(&mut self, key: IdKey, recv: u64, now: u64) -> Outcome {
        if let Some(sent) = self.pending.remove(&key) {
            self.stats.matched += 1;
            self.remember(key, now);
            return Outcome::Matched { sent, recv };
        }
        match self.early.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.stats.duplicate += 1;
                Outcome::DuplicateReceipt
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(recv);
                Outcome::Waiting
            }
        }
    }

    /// Closes the books: what is still pending is missing, what is still
    /// parked is unknown.
    pub fn finish(&mut self) -> MatchStats {
        Self::resolve(&mut self.early, &self.matched_cur, &mut self.stats);
        Self::resolve(&mut self.early, &self.matched_prev, &mut self.stats);
        self.stats.missing = self.pending.len() as u64;
        self.stats.unknown = self.early.len() as u64;
        self.pending.clear();
        self.early.clear();
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::id_key;

    fn at(t: u64) -> SentAt {
        SentAt {
            intended: t,
            sent: t + 5,
            measured: true,
            tag: 0,
        }
    }

    #[test]
    fn in_order_match() {
        let mut m = Matcher::new();
        assert_eq!(m.on_submitted(id_key(b"1"), at(100), 200), Outcome::Waiting);
        assert_eq!(m.pending(), 1);
        assert_eq!(
            m.on_receipt(id_key(b"1"), 900, 900),
            Outcome::Matched {
                sent: at(100),
                recv: 900
            }
        );
        let s = m.finish();
        assert_eq!((s.matched, s.missing, s.unknown, s.duplicate), (1, 0, 0, 0));
    }

    #[test]
    fn early_receipt_is_parked_then_matched() {
        let mut m = Matcher::new();
        assert_eq!(m.on_receipt(id_key(b"7"), 300, 300), Outcome::Waiting);
        assert_eq!(m.parked(), 1);
        assert_eq!(
            m.on_submitted(id_key(b"7"), at(100), 400),
            Outcome::Matched {
                sent: at(100),
                recv: 300
            }
        );
        assert_eq!(m.parked(), 0);
        let s = m.finish();
        assert_eq!((s.matched, s.missing, s.unknown), (1, 0, 0));
    }

    #[test]
    fn unknown_duplicate_missing() {
        let mut m = Matcher::new();
        m.on_submitted(id_key(b"a"), at(1), 1);
        m.on_submitted(id_key(b"b"), at(2), 2);
        // Matched, then the same receipt again: duplicate.
        assert!(matches!(
            m.on_receipt(id_key(b"a"), 10, 10),
            Outcome::Matched { .. }
        ));
        // Parked for now, recognised as a duplicate at the end.
        assert_eq!(m.on_receipt(id_key(b"a"), 11, 11), Outcome::Waiting);
        // A receipt for an id never submitted: parked, twice = duplicate.
        assert_eq!(m.on_receipt(id_key(b"zz"), 12, 12), Outcome::Waiting);
        assert_eq!(
            m.on_receipt(id_key(b"zz"), 13, 13),
            Outcome::DuplicateReceipt
        );
        // The server hands out "b" twice.
        assert_eq!(
            m.on_submitted(id_key(b"b"), at(3), 3),
            Outcome::DuplicateMessageId
        );
        let s = m.finish();
        assert_eq!(s.matched, 1);
        assert_eq!(s.duplicate, 2);
        assert_eq!(s.unknown, 1, "zz never matched");
        assert_eq!(s.missing, 1, "b never got its receipt");
        assert_eq!(s.duplicate_message_ids, 1);
    }

    #[test]
    fn duplicates_remembered_for_one_to_two_generations() {
        let g = GENERATION_NS;
        let mut m = Matcher::new();
        m.on_submitted(id_key(b"x"), at(0), 0);
        assert!(matches!(
            m.on_receipt(id_key(b"x"), 1, 1),
            Outcome::Matched { .. }
        ));
        // Next generation: x's list becomes the previous one.
        m.on_submitted(id_key(b"y"), at(g + 1), g + 1);
        assert!(matches!(
            m.on_receipt(id_key(b"y"), g + 2, g + 2),
            Outcome::Matched { .. }
        ));
        assert_eq!(m.on_receipt(id_key(b"x"), g + 3, g + 3), Outcome::Waiting);
        assert_eq!(m.parked(), 1);
        // When x's generation is dropped, the parked copy is found there.
        m.on_submitted(id_key(b"z"), at(3 * g), 3 * g);
        assert!(matches!(
            m.on_receipt(id_key(b"z"), 3 * g, 3 * g),
            Outcome::Matched { .. }
        ));
        assert_eq!(m.stats.duplicate, 1);
        assert_eq!(m.parked(), 0);
        // Now x is forgotten: another copy stays unknown.
        assert_eq!(
            m.on_receipt(id_key(b"x"), 3 * g + 1, 3 * g + 1),
            Outcome::Waiting
        );
        m.on_submitted(id_key(b"w"), at(5 * g), 5 * g);
        assert!(matches!(
            m.on_receipt(id_key(b"w"), 5 * g, 5 * g),
            Outcome::Matched { .. }
        ));
        let s = m.finish();
        assert_eq!((s.duplicate, s.unknown, s.matched), (1, 1, 4));
    }

    #[test]
    fn early_receipts_survive_rotation() {
        let g = GENERATION_NS;
        let mut m = Matcher::new();
        assert_eq!(m.on_receipt(id_key(b"late-resp"), 5, 5), Outcome::Waiting);
        for i in 0..5u64 {
            let k = id_key(format!("k{i}").as_bytes());
            m.on_submitted(k, at(i * g), i * g);
            assert!(matches!(
                m.on_receipt(k, i * g, i * g),
                Outcome::Matched { .. }
            ));
        }
        assert!(matches!(
            m.on_submitted(id_key(b"late-resp"), at(1), 6 * g),
            Outcome::Matched { recv: 5, .. }
        ));
        let s = m.finish();
        assert_eq!((s.matched, s.duplicate, s.unknown, s.missing), (6, 0, 0, 0));
    }
}
