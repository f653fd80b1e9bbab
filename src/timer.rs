//! Hashed timing wheel, one per worker loop.
//!
//! There is no clock in here: time is a plain `u64` tick count that the loop
//! derives from `Instant` (e.g. 100 ms per tick), so tests drive it directly.
//! Entries live in a `Slab` and are chained per slot by index (doubly linked,
//! so cancel is O(1)). A slot holds every entry whose deadline hashes to it,
//! including ones several rotations away; those are simply skipped until
//! their deadline is reached. An occupancy bitmap lets `advance_to` and
//! `next_deadline` skip empty slots, and a long idle gap costs at most one
//! visit per slot.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use slab::Slab;

/// "No entry" in the intrusive links.
const NIL: u32 = u32::MAX;

/// Names one inserted timer. Stale handles (after fire or cancel, even if the
/// slab slot was reused) are detected by the generation and are harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerHandle {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
struct Entry<K> {
    deadline: u64,
    key: K,
    generation: u32,
    /// Slot whose list holds this entry (not always `deadline & mask`:
    /// overdue entries go to the next tick's slot).
    slot: u32,
    prev: u32,
    next: u32,
}

/// Head and tail of one slot's list (tail append keeps ties FIFO).
#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// A hashed timing wheel keyed by explicit ticks.
///
/// An entry fires in the first `advance_to(t)` with `t >= deadline`; one whose
/// deadline is already `<= now()` at insert fires in the next `advance_to`.
#[derive(Debug)]
pub struct TimerWheel<K: Copy> {
    entries: Slab<Entry<K>>,
    lists: Box<[List]>,
    /// Bit per slot: set iff that slot's list is non-empty.
    occupied: Box<[u64]>,
    mask: u64,
    /// Last tick advanced to; every deadline <= `now` has fired, except
    /// entries inserted overdue since then.
    now: u64,
    /// Smallest deadline inserted at or before `now` since the last advance
    /// (they sit in slot `now + 1`); keeps `next_deadline` a true lower bound.
    overdue_min: Option<u64>,
    next_generation: u32,
    /// Reused buffer of (deadline, key) so one advance fires in deadline order.
    scratch: Vec<(u64, K)>,
}

impl<K: Copy> TimerWheel<K> {
    /// Creates a wheel at tick 0 with `slots` rounded up to a power of two
    /// (e.g. 512 slots of 100 ms = one rotation per 51.2 s).
    pub fn new(slots: usize) -> Self {
        let slots = slots
            .max(1)
            .checked_next_power_of_two()
            .unwrap_or(1 << (usize::BITS - 1))
            .min(1 << 31);
        TimerWheel {
            entries: Slab::new(),
            lists: vec![
                List {
                    head: NIL,
                    tail: NIL
                };
                slots
            ]
            .into_boxed_slice(),
            occupied: vec![0u64; slots.div_ceil(64)].into_boxed_slice(),
            mask: slots as u64 - 1,
            now: 0,
            overdue_min: None,
            next_generation: 0,
            scratch: Vec::new(),
        }
    }

    /// Number of pending timers.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tick of the last `advance_to`.
    #[inline]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of slots (a power of two).
    #[inline]
    pub fn slots(&self) -> usize {
        self.lists.len()
    }

    /// Schedules `key` for `deadline_tick`. O(1).
    pub fn insert(&mut self, deadline_tick: u64, key: K) -> TimerHandle {
        let effective = if deadline_tick <= self.now {
            self.overdue_min = Some(
                self.overdue_min
                    .map_or(deadline_tick, |m| m.min(deadline_tick)),
            );
            self.now.wrapping_add(1) // same slot advance_to scans first
        } else {
            deadline_tick
        };
        let slot = (effective & self.mask) as u32;
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let tail = self.lists.get(slot as usize).map_or(NIL, |l| l.tail);
        let index = self.entries.insert(Entry {
            deadline: deadline_tick,
            key,
            generation,
            slot,
            prev: tail,
            next: NIL,
        });
        // 2^32 live timers would need >100 GiB; not a reachable state.
        debug_assert!(index < NIL as usize);
        let index = index as u32;
        if let Some(t) = self.entries.get_mut(tail as usize) {
            t.next = index;
        }
        if let Some(l) = self.lists.get_mut(slot as usize) {
            if l.head == NIL {
                l.head = index;
            }
            l.tail = index;
        }
        if let Some(w) = self.occupied.get_mut(slot as usize / 64) {
            *w |= 1 << (slot % 64);
        }
        TimerHandle { index, generation }
    }

    /// Removes a pending timer and returns its key; `None` for a handle that
    /// already fired or was cancelled. O(1).
    pub fn cancel(&mut self, h: TimerHandle) -> Option<K> {
        match self.entries.get(h.index as usize) {
            Some(e) if e.generation == h.generation => {}
            _ => return None,
        }
        Some(self.remove(h.index).1)
    }

    /// Advances to `now_tick` and appends the key of every entry with
    /// `deadline <= now_tick` to `fired`, in deadline order (ties in insertion
    /// order). Visits at most `min(now_tick - now, slots)` slots, skipping
    /// empty ones, so a long idle gap is cheap. A `now_tick` earlier than
    /// `now()` only fires overdue inserts.
    pub fn advance_to(&mut self, now_tick: u64, fired: &mut Vec<K>) {
        let target = now_tick.max(self.now);
        let slots = self.lists.len() as u64;
        let mut span = (target - self.now).min(slots);
        if self.overdue_min.is_some() {
            span = span.max(1);
        }
        if span == 0 {
            return;
        }
        let span = span as usize;
        let start = (self.now.wrapping_add(1) & self.mask) as usize;
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut dist = 0;
        while dist < span {
            let Some(d) = self.first_occupied((start + dist) & self.mask as usize, span - dist)
            else {
                break;
            };
            let slot = (start + dist + d) & self.mask as usize;
            self.fire_slot(slot, target, &mut scratch);
            dist += d + 1;
        }
        if !scratch.is_sorted_by_key(|&(d, _)| d) {
            scratch.sort_by_key(|&(d, _)| d); // stable: ties keep list order
        }
        fired.extend(scratch.drain(..).map(|(_, k)| k));
        self.scratch = scratch;
        self.overdue_min = None;
        self.now = target;
    }

    /// A tick no later than the earliest pending deadline, or `None` if
    /// empty. It is the next tick whose slot is occupied, so it is exact
    /// unless that slot only holds entries a rotation or more away; then the
    /// caller wakes early, advances (firing nothing) and asks again. Cost:
    /// one pass over the occupancy bitmap.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.entries.is_empty() {
            return None;
        }
        if let Some(m) = self.overdue_min {
            return Some(m);
        }
        let start = (self.now.wrapping_add(1) & self.mask) as usize;
        let d = self.first_occupied(start, self.lists.len())?;
        Some(self.now.saturating_add(1).saturating_add(d as u64))
    }

    /// Fires every entry in `slot` with `deadline <= target` into `out`.
    fn fire_slot(&mut self, slot: usize, target: u64, out: &mut Vec<(u64, K)>) {
        let mut i = self.lists.get(slot).map_or(NIL, |l| l.head);
        while let Some(e) = self.entries.get(i as usize) {
            let next = e.next;
            if e.deadline <= target {
                out.push(self.remove(i));
            }
            i = next;
        }
    }

    /// Unlinks and frees entry `i` (which must exist).
    fn remove(&mut self, i: u32) -> (u64, K) {
        let e = self.entries.remove(i as usize);
        match self.entries.get_mut(e.prev as usize) {
            Some(p) => p.next = e.next,
            None => {
                if let Some(l) = self.lists.get_mut(e.slot as usize) {
                    l.head = e.next;
                }
            }
        }
        match self.entries.get_mut(e.next as usize) {
            Some(n) => n.prev = e.prev,
            None => {
                if let Some(l) = self.lists.get_mut(e.slot as usize) {
                    l.tail = e.prev;
                }
            }
        }
        if e.prev == NIL && e.next == NIL {
            if let Some(w) = self.occupied.get_mut(e.slot as usize / 64) {
                *w &= !(1 << (e.slot % 64));
            }
        }
        (e.deadline, e.key)
    }

    /// Circular distance from `start` to the first occupied slot among the
    /// next `len` slots.
    fn first_occupied(&self, start: usize, len: usize) -> Option<usize> {
        let slots = self.lists.len();
        let mut pos = start;
        let mut dist = 0;
        while dist < len {
            let bit = pos % 64;
            let span = (64 - bit).min(slots - pos).min(len - dist);
            let mut bits = self.occupied.get(pos / 64).copied().unwrap_or(0) >> bit;
            if span < 64 {
                bits &= (1u64 << span) - 1;
            }
            if bits != 0 {
                return Some(dist + bits.trailing_zeros() as usize);
            }
            dist += span;
            pos = (pos + span) & (slots - 1);
        }
        None
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::testutil::Rng;

    fn advance<K: Copy>(w: &mut TimerWheel<K>, t: u64) -> Vec<K> {
        let mut v = Vec::new();
        w.advance_to(t, &mut v);
        v
    }

    #[test]
    fn fires_in_order_at_the_right_tick() {
        let mut w = TimerWheel::new(8);
        assert_eq!(w.slots(), 8);
        for (d, k) in [(5, 'e'), (1, 'a'), (3, 'c'), (3, 'd'), (2, 'b'), (12, 'x')] {
            w.insert(d, k);
        }
        assert_eq!(w.len(), 6);
        assert_eq!(w.next_deadline(), Some(1));
        assert_eq!(advance(&mut w, 0), Vec::<char>::new());
        assert_eq!(advance(&mut w, 1), vec!['a']);
        assert_eq!(w.next_deadline(), Some(2));
        assert_eq!(advance(&mut w, 2), vec!['b']);
        assert_eq!(advance(&mut w, 3), vec!['c', 'd']);
        assert_eq!(advance(&mut w, 4), Vec::<char>::new());
        assert_eq!(advance(&mut w, 5), vec!['e']);
        // 12 shares slot 4 with tick 4; next rotation bound is 12.
        assert_eq!(w.next_deadline(), Some(12));
        assert_eq!(advance(&mut w, 11), Vec::<char>::new());
        assert_eq!(advance(&mut w, 12), vec!['x']);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
        assert_eq!(w.now(), 12);
    }

    #[test]
    fn big_jump_fires_in_deadline_order() {
        let mut w = TimerWheel::new(4);
        for (d, k) in [(9, 3), (2, 1), (7, 2), (2, 10), (30, 4), (100, 5)] {
            w.insert(d, k);
        }
        assert_eq!(advance(&mut w, 50), vec![1, 10, 2, 3, 4]);
        assert_eq!(w.len(), 1);
        assert_eq!(advance(&mut w, 99), Vec::<i32>::new());
        assert_eq!(advance(&mut w, 100), vec![5]);
    }

    #[test]
    fn cancel_and_stale_handles() {
        let mut w = TimerWheel::new(16);
        let a = w.insert(5, "a");
        let b = w.insert(5, "b");
        let c = w.insert(5, "c");
        assert_eq!(w.cancel(b), Some("b"));
        assert_eq!(w.cancel(b), None);
        assert_eq!(w.len(), 2);
        // Slab slot of b is reused; the old handle must not hit the new entry.
        let d = w.insert(6, "d");
        assert_eq!(d.index, b.index);
        assert_eq!(w.cancel(b), None);
        assert_eq!(w.cancel(a), Some("a"));
        assert_eq!(w.cancel(c), Some("c"));
        assert_eq!(advance(&mut w, 5), Vec::<&str>::new());
        assert_eq!(advance(&mut w, 6), vec!["d"]);
        assert_eq!(w.cancel(d), None);
        let e = w.insert(7, "e");
        assert_eq!(w.cancel(d), None);
        assert_eq!(
            w.cancel(TimerHandle {
                index: 999,
                generation: 0
            }),
            None
        );
        assert_eq!(w.cancel(e), Some("e"));
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
        assert!(w.occupied.iter().all(|&x| x == 0));
    }

    #[test]
    fn cancel_middle_head_and_tail_of_a_slot() {
        let mut w = TimerWheel::new(8);
        let hs: Vec<_> = (0..5).map(|k| w.insert(3, k)).collect();
        assert_eq!(w.cancel(hs[2]), Some(2));
        assert_eq!(w.cancel(hs[0]), Some(0));
        assert_eq!(w.cancel(hs[4]), Some(4));
        let _ = w.insert(3, 5);
        assert_eq!(advance(&mut w, 3), vec![1, 3, 5]);
    }

    #[test]
    fn past_and_present_deadlines_fire_on_next_advance() {
        let mut w = TimerWheel::new(8);
        assert_eq!(advance(&mut w, 100), Vec::<u8>::new());
        w.insert(100, 1);
        w.insert(3, 2);
        w.insert(101, 3);
        assert_eq!(w.next_deadline(), Some(3));
        // Same tick again still fires overdue ones, but not 101.
        assert_eq!(advance(&mut w, 100), vec![2, 1]);
        assert_eq!(w.next_deadline(), Some(101));
        w.insert(0, 4);
        // Time going backwards: treated as no progress.
        assert_eq!(advance(&mut w, 50), vec![4]);
        assert_eq!(w.now(), 100);
        assert_eq!(advance(&mut w, 101), vec![3]);
    }

    #[test]
    fn far_future_many_rotations() {
        let mut w = TimerWheel::new(8);
        let h = w.insert(1000, 'f');
        w.insert(1000 + 8, 'g');
        for t in 1..1000 {
            assert!(advance(&mut w, t).is_empty(), "tick {t}");
            let nd = w.next_deadline().unwrap();
            assert!(nd > t && nd <= 1000);
        }
        assert_eq!(advance(&mut w, 1000), vec!['f']);
        assert_eq!(w.cancel(h), None);
        assert_eq!(advance(&mut w, 1008), vec!['g']);
    }

    #[test]
    fn huge_jumps_are_bounded() {
        let mut w = TimerWheel::new(512);
        w.insert(10, 1u32);
        w.insert(36_000, 2); // one hour of 100 ms ticks
        w.insert(u64::MAX / 2, 3);
        w.insert(u64::MAX, 4);
        assert_eq!(advance(&mut w, 36_000), vec![1, 2]);
        // Would never finish if it walked tick by tick.
        assert_eq!(advance(&mut w, u64::MAX / 2 - 1), Vec::<u32>::new());
        assert_eq!(advance(&mut w, u64::MAX / 2), vec![3]);
        assert_eq!(advance(&mut w, u64::MAX - 1), Vec::<u32>::new());
        assert_eq!(advance(&mut w, u64::MAX), vec![4]);
        w.insert(5, 5);
        assert_eq!(w.next_deadline(), Some(5));
        assert_eq!(advance(&mut w, u64::MAX), vec![5]);
    }

    #[test]
    fn odd_slot_counts() {
        for slots in [0, 1, 3, 64, 100, 200] {
            let mut w = TimerWheel::new(slots);
            assert!(w.slots().is_power_of_two());
            for d in [1u64, 2, 63, 64, 65, 130, 1000] {
                w.insert(d, d);
            }
            let mut got = Vec::new();
            for t in 0..=1000 {
                let f = advance(&mut w, t);
                assert!(f.iter().all(|&d| d == t));
                got.extend(f);
            }
            assert_eq!(got, [1, 2, 63, 64, 65, 130, 1000]);
        }
    }

    #[test]
    fn model_against_btreemap() {
        for seed in 1..=6u64 {
            let mut rng = Rng(0xdead_beef_cafe_f00d ^ seed);
            let slots = [1usize, 8, 64, 512][seed as usize % 4];
            let mut w: TimerWheel<u64> = TimerWheel::new(slots);
            // (deadline, seq) -> handle; seq doubles as key.
            let mut model: BTreeMap<(u64, u64), TimerHandle> = BTreeMap::new();
            let mut by_seq: BTreeMap<u64, (u64, TimerHandle)> = BTreeMap::new();
            let mut dead: Vec<TimerHandle> = Vec::new();
            let mut seq = 0u64;
            for _ in 0..20_000 {
                let now = w.now();
                match rng.below(10) {
                    0..=3 => {
                        let d = match rng.below(10) {
                            0 => now.saturating_sub(rng.below(5)),
                            1 => now + rng.below(100 * slots as u64 + 1),
                            _ => now + rng.below(2 * slots as u64 + 1),
                        };
                        let h = w.insert(d, seq);
                        model.insert((d, seq), h);
                        by_seq.insert(seq, (d, h));
                        seq += 1;
                    }
                    4 | 5 => {
                        if rng.below(4) == 0 && !dead.is_empty() {
                            let h = dead[rng.below(dead.len() as u64) as usize];
                            assert_eq!(w.cancel(h), None);
                        } else if let Some((&s, &(d, h))) =
                            by_seq.range(rng.below(seq + 1)..).next()
                        {
                            assert_eq!(w.cancel(h), Some(s));
                            model.remove(&(d, s));
                            by_seq.remove(&s);
                            dead.push(h);
                        }
                    }
                    _ => {
                        let t = match rng.below(20) {
                            0 => now + rng.below(1000 * slots as u64),
                            1 => now.saturating_sub(3),
                            _ => now + rng.below(4),
                        };
                        let target = t.max(now);
                        let mut fired = Vec::new();
                        w.advance_to(t, &mut fired);
                        let rest = model.split_off(&(target + 1, 0));
                        let want: Vec<u64> = model.keys().map(|&(_, s)| s).collect();
                        for (_, h) in model.iter() {
                            dead.push(*h);
                        }
                        for s in &want {
                            by_seq.remove(s);
                        }
                        model = rest;
                        assert_eq!(fired, want, "seed {seed} advance to {t}");
                    }
                }
                assert_eq!(w.len(), model.len());
                match model.keys().next() {
                    None => assert_eq!(w.next_deadline(), None),
                    Some(&(min, _)) => {
                        let nd = w.next_deadline().unwrap();
                        assert!(nd <= min, "next_deadline {nd} > earliest {min}");
                        if w.overdue_min.is_none() {
                            assert!(nd > w.now());
                        }
                    }
                }
                if dead.len() > 10_000 {
                    dead.drain(..5_000);
                }
            }
        }
    }

    #[test]
    fn hundred_thousand_entries() {
        let mut w = TimerWheel::new(512);
        let mut rng = Rng(42);
        let handles: Vec<_> = (0..100_000u32)
            .map(|k| w.insert(1 + rng.below(20_000), k))
            .collect();
        assert_eq!(w.len(), 100_000);
        for h in handles.iter().step_by(2) {
            assert!(w.cancel(*h).is_some());
        }
        assert_eq!(w.len(), 50_000);
        let mut fired = Vec::new();
        let mut t = 0;
        while !w.is_empty() {
            t += 7;
            w.advance_to(t, &mut fired);
        }
        assert_eq!(fired.len(), 50_000);
        assert!(fired.iter().all(|k| k % 2 == 1));
        assert!(t <= 20_006);
        let mut again = Vec::new();
        w.advance_to(t + 100_000, &mut again);
        assert!(again.is_empty());
    }
}
