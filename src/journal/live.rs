//! The journal's live set: where each record added and not yet done is.
//!
//! A jid is `counter << LOOP_BITS | loop`, and each loop makes its jids in
//! order and commits them in order, so most of the set is a window per loop
//! over consecutive counters: an add appends at the back, a done clears its
//! slot, the front advances over cleared slots. That is an index, not a
//! hash, for the millions of receipts per second that live for a round
//! trip. A record that stays live while the window moves on (a receipt held
//! for hours for a receiver that is not bound) is moved to an overflow map
//! once the window would pass [`MAX_WINDOW`] slots, as are jids that arrive
//! out of order (recovery, copies); the set's memory stays bounded by what
//! is live, not by how long it has been.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::{JidHasher, LOOP_BITS};
use std::collections::{HashMap, VecDeque};

/// Where a live record is: its segment's generation, offset and length
/// (`len == 0`: an empty slot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    pub gen: u64,
    pub at: u64,
    pub len: u32,
}

/// Slots a loop's window may span before its front is moved to overflow.
pub const MAX_WINDOW: usize = 1 << 16;
/// Loops with a window; jids of others go to overflow.
const MAX_LOOPS: usize = 256;
/// A jid further than this past a window's back starts the window over.
const MAX_GAP: u64 = 1 << 12;

#[derive(Default)]
struct Window {
    /// Counter of the front slot.
    base: u64,
    slots: VecDeque<Loc>,
}

#[derive(Default)]
pub struct LiveSet {
    windows: Vec<Window>,
    overflow: HashMap<u64, Loc, std::hash::BuildHasherDefault<JidHasher>>,
    len: usize,
}

fn split(jid: u64) -> (usize, u64) {
    ((jid & ((1 << LOOP_BITS) - 1)) as usize, jid >> LOOP_BITS)
}

impl LiveSet {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Records `jid` at `loc`; the location it replaces, if it was live.
    #[inline]
    pub fn insert(&mut self, jid: u64, loc: Loc) -> Option<Loc> {
        let (lp, counter) = split(jid);
        // Only records held long or added out of order are there: the
        // steady state pays one branch.
        if !self.overflow.is_empty() {
            if let Some(slot) = self.overflow.get_mut(&jid) {
                return Some(std::mem::replace(slot, loc));
            }
        }
        if lp >= MAX_LOOPS {
            return self.insert_overflow(jid, loc);
        }
        if self.windows.len() <= lp {
            self.windows.resize_with(lp + 1, Window::default);
        }
        let w = self.windows.get_mut(lp)?;
        if w.slots.is_empty() {
            w.base = counter;
        }
        let back = w.base + w.slots.len() as u64;
        if counter < w.base {
            return self.insert_overflow(jid, loc);
        }
        if counter > back + MAX_GAP {
            // Far ahead (a new run's counters): the window starts there.
            self.spill(lp);
            let w = self.windows.get_mut(lp)?;
            w.base = counter;
            w.slots.push_back(loc);
            self.len += 1;
            return None;
        }
        if counter < back {
            let slot = w.slots.get_mut((counter - w.base) as usize)?;
            let old = std::mem::replace(slot, loc);
            if old.len == 0 {
                self.len += 1;
                return None;
            }
            return Some(old);
        }
        while w.base + (w.slots.len() as u64) < counter {
            w.slots.push_back(Loc::default());
        }
        w.slots.push_back(loc);
        self.len += 1;
        if w.slots.len() > MAX_WINDOW {
            self.trim(lp, MAX_WINDOW / 2);
        }
        None
    }

    fn insert_overflow(&mut self, jid: u64, loc: Loc) -> Option<Loc> {
        let old = self.overflow.insert(jid, loc);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Moves the front of loop `lp`'s window to overflow until `keep`
    /// slots are left.
    fn trim(&mut self, lp: usize, keep: usize) {
        let Some(w) = self.windows.get_mut(lp) else {
            return;
        };
        while w.slots.len() > keep {
            let Some(loc) = w.slots.pop_front() else {
                break;
            };
            let jid = w.base << LOOP_BITS | lp as u64;
            w.base += 1;
            if loc.len != 0 {
                self.overflow.insert(jid, loc);
            }
        }
        Self::skip_empty(w);
    }

    /// All of loop `lp`'s window to overflow.
    fn spill(&mut self, lp: usize) {
        self.trim(lp, 0);
    }

    fn skip_empty(w: &mut Window) {
        while w.slots.front().is_some_and(|l| l.len == 0) {
            w.slots.pop_front();
            w.base += 1;
        }
    }

    /// Forgets `jid`; where it was, if it was live.
    #[inline]
    pub fn remove(&mut self, jid: u64) -> Option<Loc> {
        let (lp, counter) = split(jid);
        if let Some(w) = self.windows.get_mut(lp) {
            if counter >= w.base {
                if let Some(slot) = w.slots.get_mut((counter - w.base) as usize) {
                    let old = std::mem::take(slot);
                    if old.len == 0 {
                        return None;
                    }
                    self.len -= 1;
                    if counter == w.base {
                        Self::skip_empty(w);
                    }
                    return Some(old);
                }
            }
        }
        let old = self.overflow.remove(&jid)?;
        self.len -= 1;
        Some(old)
    }

    #[cfg(test)]
    pub fn get_mut(&mut self, jid: u64) -> Option<&mut Loc> {
        let (lp, counter) = split(jid);
        if let Some(w) = self.windows.get_mut(lp) {
            if counter >= w.base {
                if let Some(slot) = w.slots.get_mut((counter - w.base) as usize) {
                    return (slot.len != 0).then_some(slot);
                }
            }
        }
        self.overflow.get_mut(&jid)
    }

    /// Every live (jid, location), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Loc)> + '_ {
        let windows = self.windows.iter().enumerate().flat_map(|(lp, w)| {
            w.slots
                .iter()
                .enumerate()
                .filter(|(_, l)| l.len != 0)
                .map(move |(i, l)| ((w.base + i as u64) << LOOP_BITS | lp as u64, *l))
        });
        windows.chain(self.overflow.iter().map(|(j, l)| (*j, *l)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn loc(n: u64) -> Loc {
        Loc {
            gen: 1,
            at: n,
            len: 10,
        }
    }

    fn jid(lp: u64, counter: u64) -> u64 {
        counter << LOOP_BITS | lp
    }

    /// The set against a map, for a sequence of operations.
    fn check(ops: &[(bool, u64)]) {
        let mut set = LiveSet::default();
        let mut model: BTreeMap<u64, Loc> = BTreeMap::new();
        for (i, &(add, j)) in ops.iter().enumerate() {
            if add {
                assert_eq!(
                    set.insert(j, loc(i as u64)),
                    model.insert(j, loc(i as u64)),
                    "op {i}"
                );
            } else {
                assert_eq!(set.remove(j), model.remove(&j), "op {i}");
            }
            assert_eq!(set.len(), model.len(), "op {i}");
        }
        let mut got: Vec<(u64, Loc)> = set.iter().collect();
        got.sort_by_key(|(j, _)| *j);
        assert_eq!(got, model.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn round_trips_stay_in_a_small_window() {
        let mut set = LiveSet::default();
        for c in 1..100_000u64 {
            set.insert(jid(0, c), loc(c));
            if c > 64 {
                set.remove(jid(0, c - 64));
            }
        }
        assert_eq!(set.len(), 64);
        assert!(set.windows[0].slots.len() <= 64);
        assert!(set.overflow.is_empty());
    }

    #[test]
    fn a_long_held_record_moves_to_overflow_and_memory_stays_bounded() {
        let mut set = LiveSet::default();
        set.insert(jid(1, 5), loc(5));
        for c in 6..(3 * MAX_WINDOW as u64) {
            set.insert(jid(1, c), loc(c));
            set.remove(jid(1, c));
        }
        assert!(set.windows[1].slots.len() <= MAX_WINDOW);
        assert_eq!(set.len(), 1);
        assert_eq!(set.get_mut(jid(1, 5)).copied(), Some(loc(5)));
        assert_eq!(set.remove(jid(1, 5)), Some(loc(5)));
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn behaves_as_a_map_for_mixed_orders() {
        let mut ops = Vec::new();
        // In order, two loops interleaved, done out of order.
        for c in 1..2000u64 {
            ops.push((true, jid(c % 2, c)));
            if c % 3 == 0 {
                ops.push((false, jid((c - 2) % 2, c - 2)));
            }
        }
        // Old jids added again (recovery, copies), a far jump, unknown dones.
        ops.extend([
            (true, jid(0, 4)),
            (true, jid(1, 1_000_000)),
            (true, jid(1, 1_000_001)),
            (false, jid(0, 4)),
            (false, jid(0, 999)),
            (false, jid(7, 3)),
            (true, jid(300, 1)),
            (true, jid(0, 5)),
            (true, jid(0, 5)),
            (false, jid(300, 1)),
        ]);
        // A jid removed from overflow region then re-added in the window.
        for c in 1_000_002..1_000_000 + 3 * MAX_WINDOW as u64 {
            ops.push((true, jid(1, c)));
            ops.push((false, jid(1, c)));
        }
        ops.push((true, jid(1, 1_000_001)));
        check(&ops);
    }
}
