//! Open-loop pacing and latency correction (after wrk2).
//!
//! The run has one global schedule: message `k` is due at
//! `t0 + k / rate`. Thread `t` of `T` owns messages `k = t, t+T, t+2T, ...`
//! so the threads' sends interleave evenly and no thread needs a fractional
//! rate. A message that cannot go out at its slot (window full, timer late)
//! keeps its intended time: its latency is measured from that time, so a
//! stalled server shows up as the queueing delay a real client would see
//! (coordinated omission corrected) instead of being hidden by a load
//! generator that politely waited.

/// One thread's share of the open-loop schedule. Times are nanoseconds on
/// the run's clock.
#[derive(Clone, Debug)]
pub struct Schedule {
    t0: u64,
    rate: u64,
    thread: u64,
    threads: u64,
    next: u64,
    end: u64,
}

impl Schedule {
    /// `rate` messages/s in total (> 0), starting at `t0`, no message
    /// intended at or after `end`.
    pub fn new(t0: u64, rate: u64, thread: usize, threads: usize, end: u64) -> Schedule {
        Schedule {
            t0,
            rate: rate.max(1),
            thread: thread as u64,
            threads: threads.max(1) as u64,
            next: 0,
            end,
        }
    }

    /// Intended send time of this thread's `i`-th message.
    #[inline]
    pub fn intended(&self, i: u64) -> u64 {
        let k = u128::from(self.thread + i * self.threads);
        self.t0 + (k * 1_000_000_000 / u128::from(self.rate)) as u64
    }

    /// Intended time of the next message, or `None` when the schedule is over.
    #[inline]
    pub fn next_due(&self) -> Option<u64> {
        let t = self.intended(self.next);
        (t < self.end).then_some(t)
    }

    /// Takes the next message if it is due at `now`; returns its intended time.
    #[inline]
    pub fn take_due(&mut self, now: u64) -> Option<u64> {
        let t = self.next_due()?;
        if t <= now {
            self.next += 1;
            Some(t)
        } else {
            None
        }
    }

    /// Messages taken so far.
    pub fn taken(&self) -> u64 {
        self.next
    }

    /// Messages due at `now` and not yet taken (the backlog).
    pub fn backlog(&self, now: u64) -> u64 {
        let now = now.min(self.end.saturating_sub(1));
        if now < self.t0 {
            return 0;
        }
        // Number of k <= (now - t0) * rate / 1e9 with k = thread (mod threads).
        let kmax = u128::from(now - self.t0) * u128::from(self.rate) / 1_000_000_000;
        let kmax = kmax as u64;
        // Largest i with intended(i) <= now, guarding against rounding.
        let mut due = if kmax >= self.thread {
            (kmax - self.thread) / self.threads + 1
        } else {
            0
        };
        while due > 0 && self.intended(due - 1) > now {
            due -= 1;
        }
        while self.intended(due) <= now {
            due += 1;
        }
        due.saturating_sub(self.next)
    }
}

/// Latencies of one answer, in microseconds: (corrected = from the intended
/// send time, uncorrected = from the actual write). Never below 1 µs.
#[inline]
pub fn latencies_us(intended: u64, sent: u64, recv: u64) -> (u64, u64) {
    let c = recv.saturating_sub(intended) / 1000;
    let u = recv.saturating_sub(sent) / 1000;
    (c.max(1), u.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn single_thread_pacing() {
        // 1000 msg/s: one every ms, from t0 = 5 ms, schedule ends at 15 ms.
        let mut s = Schedule::new(5 * MS, 1000, 0, 1, 15 * MS);
        assert_eq!(s.next_due(), Some(5 * MS));
        assert_eq!(s.take_due(5 * MS - 1), None);
        assert_eq!(s.take_due(5 * MS), Some(5 * MS));
        assert_eq!(s.take_due(5 * MS), None);
        // Late wake-up at 8.5 ms: three messages due, each keeps its slot.
        assert_eq!(s.backlog(8 * MS + MS / 2), 3);
        assert_eq!(s.take_due(8 * MS + MS / 2), Some(6 * MS));
        assert_eq!(s.take_due(8 * MS + MS / 2), Some(7 * MS));
        assert_eq!(s.take_due(8 * MS + MS / 2), Some(8 * MS));
        assert_eq!(s.take_due(8 * MS + MS / 2), None);
        // The schedule stops before `end`: slots 9..14 ms, 6 more.
        let mut n = 0;
        while s.take_due(100 * MS).is_some() {
            n += 1;
        }
        assert_eq!(n, 6);
        assert_eq!(s.taken(), 10);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn threads_interleave() {
        // 3 threads sharing 3000 msg/s: together one slot every 1/3 ms.
        let end = 10 * MS;
        let mut all = Vec::new();
        for t in 0..3 {
            let mut s = Schedule::new(0, 3000, t, 3, end);
            while let Some(x) = s.take_due(u64::MAX) {
                all.push(x);
            }
        }
        all.sort_unstable();
        assert_eq!(all.len(), 30);
        for (k, x) in all.iter().enumerate() {
            assert_eq!(*x, k as u64 * 1_000_000_000 / 3000);
        }
    }

    #[test]
    fn backlog_matches_take_due() {
        let mut s = Schedule::new(1000, 7_777, 1, 2, u64::MAX);
        for now in [0, 1000, 50_000, 1_000_000, 3_333_333, 3_333_334, 99_999_999] {
            let b = s.backlog(now);
            let mut n = 0;
            while s.take_due(now).is_some() {
                n += 1;
            }
            assert_eq!(b, n, "at {now}");
            assert_eq!(s.backlog(now), 0);
        }
    }

    #[test]
    fn rate_is_exact_over_a_second() {
        let mut s = Schedule::new(0, 1_000_003, 0, 1, 1_000_000_000);
        let mut n = 0;
        while s.take_due(u64::MAX).is_some() {
            n += 1;
        }
        assert_eq!(n, 1_000_003);
    }

    #[test]
    fn correction_counts_queueing_delay() {
        // Intended at 1 ms, stalled sender wrote at 4 ms, answer at 4.2 ms.
        let (c, u) = latencies_us(MS, 4 * MS, 4 * MS + 200_000);
        assert_eq!(c, 3200);
        assert_eq!(u, 200);
        // Closed loop: intended == sent.
        assert_eq!(latencies_us(10, 10, 50_010), (50, 50));
        // Clock quirks never record zero or wrap.
        assert_eq!(latencies_us(100, 100, 50), (1, 1));
    }
}
