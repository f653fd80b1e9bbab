//! A hashed timer wheel for per-connection deadlines (deliver_sm_resp held
//! for coalescing, see `--reply-hold`): O(1) to add a deadline, and the
//! cost of expiring is the entries actually due plus the ticks passed, never
//! a scan of every connection.
//!
//! Deadlines are nanoseconds on the run's clock, bucketed by `tick`. A
//! deadline further away than the wheel's span is parked in the last bucket
//! and re-filed when its bucket comes round. Entries are never removed
//! early: the owner cancels one by forgetting it, and checks each expired
//! entry against what it still wants (see `Worker::expire_holds`), so a stale
//! entry costs one comparison when it comes due.

pub struct Wheel<T> {
    tick: u64,
    buckets: Vec<Vec<(u64, T)>>,
    mask: u64,
    /// The tick expiry has reached: buckets before it are empty.
    cursor: u64,
    len: usize,
    /// No entry is due before this (a lower bound; exact after an expiry).
    earliest: u64,
}

impl<T: Copy> Wheel<T> {
    /// `buckets` (rounded up to a power of two) of `tick_ns` each, starting
    /// at `now`.
    pub fn new(tick_ns: u64, buckets: usize, now: u64) -> Wheel<T> {
        let n = buckets.max(2).next_power_of_two();
        let tick = tick_ns.max(1);
        Wheel {
            tick,
            buckets: (0..n).map(|_| Vec::new()).collect(),
            mask: n as u64 - 1,
            cursor: now / tick,
            len: 0,
            earliest: u64::MAX,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Files `item` to come due at `deadline`.
    #[inline]
    pub fn insert(&mut self, deadline: u64, item: T) {
        let t = (deadline / self.tick).clamp(self.cursor, self.cursor + self.mask);
        self.buckets[(t & self.mask) as usize].push((deadline, item));
        self.len += 1;
        self.earliest = self.earliest.min(deadline);
    }

    /// When the next entry comes due (`None`: nothing filed).
    #[inline]
    pub fn next_deadline(&self) -> Option<u64> {
        (self.len > 0).then_some(self.earliest)
    }

    /// Moves every entry due at `now` (deadline <= now) to `out`, in bucket
    /// order. Cheap when nothing is due: one comparison.
    pub fn expire(&mut self, now: u64, out: &mut Vec<T>) {
        if self.len == 0 || now < self.earliest {
            return;
        }
        let now_tick = now / self.tick;
        // Past a whole turn every bucket is visited once.
        let ticks = (now_tick.saturating_sub(self.cursor)).min(self.mask) + 1;
        let mut keep = Vec::new();
        let before = out.len();
        for i in 0..ticks {
            let b = &mut self.buckets[((self.cursor + i) & self.mask) as usize];
            for e in b.drain(..) {
                if e.0 <= now {
                    out.push(e.1);
                } else {
                    keep.push(e);
                }
            }
        }
        self.cursor = self.cursor.max(now_tick);
        self.len -= out.len() - before + keep.len();
        // Not yet due (later in this tick, or parked far ahead): filed again.
        for (deadline, item) in keep {
            self.insert(deadline, item);
        }
        self.earliest = self.scan_earliest();
    }

    /// The earliest deadline filed: buckets in tick order from the cursor,
    /// until one starts after the earliest seen (only a bucket holding
    /// parked far deadlines makes this go on past the first non-empty one).
    fn scan_earliest(&self) -> u64 {
        let mut best = u64::MAX;
        if self.len == 0 {
            return best;
        }
        for i in 0..=self.mask {
            let t = self.cursor + i;
            if t.saturating_mul(self.tick) > best {
                break;
            }
            let b = &self.buckets[(t & self.mask) as usize];
            if let Some(m) = b.iter().map(|e| e.0).min() {
                best = best.min(m);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn due(w: &mut Wheel<u32>, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        w.expire(now, &mut out);
        out
    }

    #[test]
    fn entries_come_due_at_their_deadline_not_before() {
        let mut w = Wheel::new(MS, 8, 100 * MS);
        assert_eq!(w.next_deadline(), None);
        w.insert(103 * MS + 500, 1);
        w.insert(101 * MS, 2);
        w.insert(103 * MS + 200, 3);
        assert_eq!(w.len(), 3);
        assert_eq!(w.next_deadline(), Some(101 * MS));
        assert!(due(&mut w, 101 * MS - 1).is_empty());
        assert_eq!(due(&mut w, 101 * MS), vec![2]);
        assert_eq!(w.next_deadline(), Some(103 * MS + 200));
        // Same tick, one due and one not yet.
        assert_eq!(due(&mut w, 103 * MS + 300), vec![3]);
        assert_eq!(w.next_deadline(), Some(103 * MS + 500));
        assert_eq!(due(&mut w, 103 * MS + 500), vec![1]);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn past_deadlines_fire_at_once_and_late_expiry_catches_up() {
        let mut w = Wheel::new(MS, 8, 50 * MS);
        w.insert(10 * MS, 7); // already past
        w.insert(52 * MS, 8);
        w.insert(55 * MS, 9);
        assert_eq!(due(&mut w, 50 * MS), vec![7]);
        // A late wake-up, more than a whole turn later: everything due.
        let mut got = due(&mut w, 80 * MS);
        got.sort_unstable();
        assert_eq!(got, vec![8, 9]);
        assert!(w.is_empty());
    }

    #[test]
    fn far_deadlines_wrap_round_and_stay_ordered() {
        // 8 buckets of 1 ms: a 20 ms deadline is parked and re-filed.
        let mut w = Wheel::new(MS, 8, 0);
        w.insert(20 * MS, 1);
        w.insert(9 * MS, 2);
        w.insert(3 * MS, 3);
        assert_eq!(w.next_deadline(), Some(3 * MS));
        let mut fired = Vec::new();
        let mut now = 0;
        while !w.is_empty() {
            // Sleep until the next deadline, as the event loop does.
            now = w.next_deadline().unwrap();
            for x in due(&mut w, now) {
                fired.push((now, x));
            }
            assert!(now <= 20 * MS);
        }
        assert_eq!(fired, vec![(3 * MS, 3), (9 * MS, 2), (20 * MS, 1)]);
        assert_eq!(now, 20 * MS);
    }

    #[test]
    fn thousands_of_connections() {
        // 2,000 connections, each re-armed every 40 ms for a second, 1 ms
        // ticks: each comes due exactly once per arming, on time.
        let mut w = Wheel::new(MS, 1024, 0);
        let mut armed = vec![0u64; 2000];
        for (k, a) in armed.iter_mut().enumerate() {
            *a = k as u64 * 20_000 + 40 * MS;
            w.insert(*a, k as u32);
        }
        let mut fired = 0;
        let mut now = 0;
        while now < 1000 * MS {
            now += 250_000;
            for k in due(&mut w, now) {
                let k = k as usize;
                assert!(armed[k] <= now && now - armed[k] < 250_000, "on time");
                fired += 1;
                armed[k] += 40 * MS;
                w.insert(armed[k], k as u32);
            }
        }
        assert!((2000 * 24..=2000 * 25).contains(&fired), "{fired}");
        assert_eq!(w.len(), 2000);
    }
}
