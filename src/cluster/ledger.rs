//! The NATS thread's book of the batches it pulled from JetStream: each
//! item handed to a loop carries a token (its jid is the token with
//! [`super::BROKER_BIT`]); the loop finishes it (`Ack`), fails it
//! retryably (`Nak` with its back-off) or gives it back (`Return`: no
//! receiver here any more). When every item of a batch is settled the
//! batch is settled once with JetStream:
//!
//! - all finished: ack it;
//! - none finished and none failed (all given back with one delay): nak
//!   the whole batch with that delay (JetStream keeps it as it is);
//! - otherwise: the unfinished items are published again as new batches
//!   (one per back-off, carrying their attempts and a not-before time),
//!   and the old batch is acked only once JetStream has the new ones. So a
//!   retryable failure neither loses an item nor duplicates the finished
//!   ones; only a node that dies in between leaves the old batch to be
//!   redelivered whole (at-least-once).
//!
//! No sockets here: `client.rs`/`batch.rs` act on what [`Ledger`] returns.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::BROKER_BIT;
use crate::account::AccountId;
use bytes::Bytes;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How a loop (or the hand-off) settled one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (ESME_ROK), or finished for good (refused, dropped,
    /// expired, malformed): not to be delivered again.
    Done,
    /// A retryable failure: again after the back-off, one attempt more.
    Failed(Duration),
    /// Not tried (no receiver or no room here): again after the delay,
    /// attempts unchanged.
    Returned(Duration),
}

/// What to tell JetStream about a batch whose items are all settled.
#[derive(Debug, PartialEq, Eq)]
pub enum Settle<R> {
    Ack(R),
    Nak(R, Duration),
    /// Publish each group (items as (attempts, item) not before the delay)
    /// as a new batch of `account`'s; then ack `reply`.
    Republish {
        reply: R,
        account: AccountId,
        again: Vec<(Duration, Vec<(u8, Bytes)>)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Out,
    Done,
    Again(Duration, bool),
}

struct Slot {
    attempts: u8,
    item: Bytes,
    state: State,
}

struct Held<R> {
    reply: R,
    account: AccountId,
    slots: Vec<Slot>,
    open: usize,
    since: Instant,
    touched: Instant,
}

/// Bits of a token that name the item's place in its batch: a token is
/// `batch key << ITEM_BITS | index`, so settling one is a lookup of its
/// batch, not of a table of every token handed out.
const ITEM_BITS: u32 = 10;
/// Items of one batch the ledger can name (no batch we read has more).
pub const MAX_SLOTS: usize = 1 << ITEM_BITS;
const _: () = assert!(super::wire::MAX_ITEMS <= MAX_SLOTS);
/// Batch keys stay below this: a token never reaches [`BROKER_BIT`].
const MAX_KEY: u64 = (BROKER_BIT >> ITEM_BITS) - 1;

/// What settling one item did.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<R> {
    /// Not a token handed out and still open (settled already, its batch
    /// forgotten, or never ours): nothing changed.
    Unknown,
    /// Settled; its batch still has open items.
    Open,
    /// Settled, and it was its batch's last: tell JetStream this.
    Settled(Settle<R>),
}

impl<R> Resolved<R> {
    #[cfg(test)]
    fn settled(self) -> Option<Settle<R>> {
        match self {
            Resolved::Settled(s) => Some(s),
            _ => None,
        }
    }
}

pub struct Ledger<R> {
    batches: HashMap<u64, Held<R>>,
    /// Items handed out and not yet settled, over all batches.
    open_items: usize,
    next_batch: u64,
}

impl<R> Default for Ledger<R> {
    fn default() -> Self {
        Ledger {
            batches: HashMap::new(),
            open_items: 0,
            next_batch: 1,
        }
    }
}

impl<R: Clone> Ledger<R> {
    /// Batches not yet settled.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Items handed out and not yet settled.
    pub fn open_items(&self) -> usize {
        self.open_items
    }

    /// Takes a pulled batch (items as (attempts, item), at most
    /// [`MAX_SLOTS`]: any beyond are not taken); gives each item's token,
    /// in order. Every token must then be settled with [`Ledger::resolve`].
    pub fn admit(
        &mut self,
        reply: R,
        account: AccountId,
        items: Vec<(u8, Bytes)>,
        now: Instant,
    ) -> Vec<u64> {
        let key = self.next_batch;
        self.next_batch = if key >= MAX_KEY { 1 } else { key + 1 };
        let slots: Vec<Slot> = items
            .into_iter()
            .take(MAX_SLOTS)
            .map(|(attempts, item)| Slot {
                attempts,
                item,
                state: State::Out,
            })
            .collect();
        let tokens = (0..slots.len() as u64)
            .map(|i| key << ITEM_BITS | i)
            .collect();
        let open = slots.len();
        self.open_items += open;
        let old = self.batches.insert(
            key,
            Held {
                reply,
                account,
                slots,
                open,
                since: now,
                touched: now,
            },
        );
        // A key comes round again only after 2^53 batches; should an old
        // batch still be there, its late outcomes are ignored.
        if let Some(old) = old {
            self.open_items = self.open_items.saturating_sub(old.open);
        }
        tokens
    }

    /// Settles one item; the batch's settlement once it was the last.
    pub fn resolve(&mut self, token: u64, outcome: Outcome) -> Resolved<R> {
        let key = token >> ITEM_BITS;
        let i = (token & (MAX_SLOTS as u64 - 1)) as usize;
        let Some(held) = self.batches.get_mut(&key) else {
            return Resolved::Unknown;
        };
        let Some(slot) = held.slots.get_mut(i) else {
            return Resolved::Unknown;
        };
        if slot.state != State::Out {
            return Resolved::Unknown;
        }
        slot.state = match outcome {
            Outcome::Done => State::Done,
            Outcome::Failed(d) => {
                slot.attempts = slot.attempts.saturating_add(1);
                State::Again(d, true)
            }
            Outcome::Returned(d) => State::Again(d, false),
        };
        held.open = held.open.saturating_sub(1);
        self.open_items = self.open_items.saturating_sub(1);
        if held.open > 0 {
            return Resolved::Open;
        }
        match self.batches.remove(&key) {
            Some(held) => Resolved::Settled(settle(held)),
            None => Resolved::Open,
        }
    }

    /// At stop, once the loops are gone: every batch still open, its items
    /// not settled taken as given back (so finished items are not
    /// delivered again by another node).
    pub fn close(&mut self) -> Vec<Settle<R>> {
        self.open_items = 0;
        self.batches
            .drain()
            .map(|(_, mut h)| {
                for s in h.slots.iter_mut().filter(|s| s.state == State::Out) {
                    s.state = State::Again(Duration::ZERO, false);
                }
                settle(h)
            })
            .collect()
    }

    /// Batches held longer than `progress` since they were taken or last
    /// reported: their replies, to tell JetStream they are in progress (so
    /// it does not give them to another node meanwhile). Batches older
    /// than `forget` are dropped (their items' late outcomes are ignored,
    /// and JetStream redelivers them after its ack wait).
    pub fn sweep(&mut self, now: Instant, progress: Duration, forget: Duration) -> Vec<R> {
        let mut out = Vec::new();
        let open_items = &mut self.open_items;
        self.batches.retain(|_, h| {
            if now.saturating_duration_since(h.since) >= forget {
                *open_items = open_items.saturating_sub(h.open);
                return false;
            }
            if now.saturating_duration_since(h.touched) >= progress {
                h.touched = now;
                out.push(h.reply.clone());
            }
            true
        });
        out
    }
}

fn settle<R>(held: Held<R>) -> Settle<R> {
    let Held {
        reply,
        account,
        slots,
        ..
    } = held;
    let mut untouched = None;
    let mut same = true;
    for s in &slots {
        match s.state {
            State::Again(d, false) if untouched.is_none_or(|u| u == d) => untouched = Some(d),
            _ => same = false,
        }
    }
    if let (true, Some(d)) = (same, untouched) {
        // Nothing of it was finished or tried: JetStream keeps it as it is.
        return Settle::Nak(reply, d);
    }
    let mut again: Vec<(Duration, Vec<(u8, Bytes)>)> = Vec::new();
    for s in slots {
        let State::Again(d, _) = s.state else {
            continue;
        };
        match again.iter_mut().find(|(g, _)| *g == d) {
            Some((_, items)) => items.push((s.attempts, s.item)),
            None => again.push((d, vec![(s.attempts, s.item)])),
        }
    }
    if again.is_empty() {
        Settle::Ack(reply)
    } else {
        Settle::Republish {
            reply,
            account,
            again,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<(u8, Bytes)> {
        (0..n)
            .map(|i| (i as u8, Bytes::from(format!("R item{i}\n"))))
            .collect()
    }

    #[test]
    fn a_batch_is_acked_once_when_its_last_item_is_done() {
        let mut l = Ledger::default();
        let now = Instant::now();
        let t = l.admit("reply-1", AccountId(2), items(3), now);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|t| t & BROKER_BIT == 0 && *t != 0));
        assert_eq!(l.open_items(), 3);
        assert_eq!(l.resolve(t[1], Outcome::Done), Resolved::Open);
        assert_eq!(l.open_items(), 2);
        assert_eq!(
            l.resolve(t[1], Outcome::Done),
            Resolved::Unknown,
            "settled twice"
        );
        assert_eq!(l.open_items(), 2);
        assert_eq!(l.resolve(t[0], Outcome::Done), Resolved::Open);
        assert_eq!(
            l.resolve(t[2], Outcome::Done),
            Resolved::Settled(Settle::Ack("reply-1"))
        );
        assert!(l.is_empty());
        assert_eq!(l.open_items(), 0);
        assert_eq!(l.resolve(t[2], Outcome::Done), Resolved::Unknown, "gone");
        assert_eq!(l.resolve(12345, Outcome::Done), Resolved::Unknown);
        // An index past its batch's items names nothing.
        let t = l.admit("reply-2", AccountId(2), items(2), now);
        assert_eq!(l.resolve(t[0] + 5, Outcome::Done), Resolved::Unknown);
        assert_eq!(l.open_items(), 2);
    }

    #[test]
    fn failed_items_are_published_again_and_the_finished_are_not() {
        let mut l = Ledger::default();
        let t = l.admit("r", AccountId(1), items(4), Instant::now());
        let ms = Duration::from_millis;
        l.resolve(t[0], Outcome::Done);
        l.resolve(t[1], Outcome::Failed(ms(500)));
        l.resolve(t[3], Outcome::Returned(ms(0)));
        let Some(Settle::Republish {
            reply,
            account,
            again,
        }) = l.resolve(t[2], Outcome::Failed(ms(500))).settled()
        else {
            panic!("not republished");
        };
        assert_eq!((reply, account), ("r", AccountId(1)));
        // One batch per back-off; a failure counts an attempt, a return does not.
        assert_eq!(
            again,
            vec![
                (
                    ms(500),
                    vec![
                        (2, Bytes::from_static(b"R item1\n")),
                        (3, Bytes::from_static(b"R item2\n"))
                    ]
                ),
                (ms(0), vec![(3, Bytes::from_static(b"R item3\n"))]),
            ]
        );
        assert!(l.is_empty());
    }

    #[test]
    fn a_batch_nothing_of_which_was_tried_is_nakked_whole() {
        let mut l = Ledger::default();
        let ms = Duration::from_millis;
        let t = l.admit(7u32, AccountId(0), items(2), Instant::now());
        l.resolve(t[0], Outcome::Returned(ms(200)));
        assert_eq!(
            l.resolve(t[1], Outcome::Returned(ms(200))),
            Resolved::Settled(Settle::Nak(7, ms(200)))
        );
        // Different delays, or one item failed: published again instead.
        let t = l.admit(8u32, AccountId(0), items(2), Instant::now());
        l.resolve(t[0], Outcome::Returned(ms(200)));
        assert!(matches!(
            l.resolve(t[1], Outcome::Failed(ms(200))),
            Resolved::Settled(Settle::Republish { .. })
        ));
        let t = l.admit(9u32, AccountId(0), items(2), Instant::now());
        l.resolve(t[0], Outcome::Returned(ms(200)));
        assert!(matches!(
            l.resolve(t[1], Outcome::Returned(ms(0))),
            Resolved::Settled(Settle::Republish { .. })
        ));
    }

    #[test]
    fn attempts_saturate_and_tokens_stay_apart_from_the_broker_bit() {
        let mut l = Ledger::<u8> {
            next_batch: MAX_KEY,
            ..Default::default()
        };
        let last = l.admit(
            0,
            AccountId(0),
            vec![(0, Bytes::new()); MAX_SLOTS + 1],
            Instant::now(),
        );
        assert_eq!(last.len(), MAX_SLOTS, "no more than a batch can name");
        assert!(last.iter().all(|t| t & BROKER_BIT == 0), "{last:?}");
        // The keys come round to 1, never 0: a token is never jid 0.
        let t = l.admit(
            1,
            AccountId(0),
            vec![(255, Bytes::new()); 3],
            Instant::now(),
        );
        assert!(t.iter().all(|t| t & BROKER_BIT == 0 && *t != 0), "{t:?}");
        assert!(t.iter().all(|x| !last.contains(x)));
        l.resolve(t[0], Outcome::Failed(Duration::ZERO));
        l.resolve(t[1], Outcome::Done);
        let Some(Settle::Republish { again, .. }) = l.resolve(t[2], Outcome::Done).settled() else {
            panic!()
        };
        assert_eq!(again, vec![(Duration::ZERO, vec![(255, Bytes::new())])]);
    }

    #[test]
    fn at_stop_open_batches_give_back_what_was_not_finished() {
        let mut l = Ledger::default();
        let now = Instant::now();
        let a = l.admit("a", AccountId(0), items(3), now);
        l.admit("b", AccountId(0), items(2), now);
        l.resolve(a[0], Outcome::Done);
        l.resolve(a[1], Outcome::Failed(Duration::from_secs(1)));
        let mut out = l.close();
        out.sort_by_key(|s| format!("{s:?}"));
        assert!(l.is_empty() && l.open_items() == 0);
        assert_eq!(out.len(), 2);
        let Settle::Republish { reply, again, .. } = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!(*reply, "a");
        assert_eq!(
            again.len(),
            2,
            "the failed one after its back-off, the other at once"
        );
        // Nothing of b was finished: nakked whole.
        assert_eq!(out[0], Settle::Nak("b", Duration::ZERO));
        assert_eq!(l.resolve(a[2], Outcome::Done), Resolved::Unknown);
    }

    #[test]
    fn long_held_batches_are_reported_in_progress_then_forgotten() {
        let mut l = Ledger::default();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let a = l.admit("a", AccountId(0), items(2), t0);
        l.admit("b", AccountId(0), items(1), t0 + s(4));
        assert!(l.sweep(t0 + s(3), s(5), s(60)).is_empty());
        assert_eq!(l.sweep(t0 + s(6), s(5), s(60)), vec!["a"]);
        assert!(l.sweep(t0 + s(7), s(5), s(60)).is_empty(), "just reported");
        let mut both = l.sweep(t0 + s(12), s(5), s(60));
        both.sort();
        assert_eq!(both, vec!["a", "b"]);
        l.resolve(a[0], Outcome::Done);
        assert_eq!(l.sweep(t0 + s(61), s(5), s(60)), vec!["b"]);
        assert_eq!(l.len(), 1, "a forgotten, b kept");
        assert_eq!(l.open_items(), 1);
        assert_eq!(
            l.resolve(a[1], Outcome::Done),
            Resolved::Unknown,
            "a's late outcome"
        );
    }
}
