//! Open-loop pacing and latency correction (after wrk2).
//!
//! The run has one global schedule: message `k` is due at
//! `t0 + k / rate`, and belongs to bind `k mod N` (see [`Schedule`]), so
//! the binds' sends interleave evenly and no thread needs a fractional
//! rate. A message that cannot go out at its slot (window full, timer late)
//! keeps its intended time: its latency is measured from that time, so a
//! stalled server shows up as the queueing delay a real client would see
//! (coordinated omission corrected) instead of being hidden by a load
//! generator that politely waited.

/// One thread's share of the open-loop schedule. Times are nanoseconds on
/// the run's clock.
///
/// Slot `k` of the global schedule belongs to bind `k mod N` (N submitting
/// binds in all), so every bind sends at `rate / N`, evenly spaced, and
/// consecutive binds are offset by `1 / rate`: thousands of binds at a
/// modest rate each never send in lockstep. Bind `g` lives on thread
/// `g mod T`; thread `t`'s `i`-th message is round `i / n` (n: its binds),
/// its local bind `j = i mod n`, global bind `t + j T`, slot
/// `round N + t + j T`. With N a multiple of T this is slot `t + i T`.
#[derive(Clone, Debug)]
pub struct Schedule {
    t0: u64,
    rate: u64,
    thread: u64,
    threads: u64,
    /// Submitting binds of the whole run (N).
    binds: u64,
    /// ... of this thread (n).
    local: u64,
    next: u64,
    end: u64,
}

impl Schedule {
    /// `rate` messages/s in total (> 0) over `binds` submitting binds spread
    /// over `threads` threads, starting at `t0`, no message intended at or
    /// after `end`.
    pub fn new(
        t0: u64,
        rate: u64,
        thread: usize,
        threads: usize,
        binds: usize,
        end: u64,
    ) -> Schedule {
        let threads = threads.max(1) as u64;
        let binds = (binds as u64).max(threads);
        let thread = thread as u64;
        Schedule {
            t0,
            rate: rate.max(1),
            thread,
            threads,
            binds,
            // Binds g < N with g = thread (mod T).
            local: (binds - thread.min(binds)).div_ceil(threads),
            next: 0,
            end,
        }
    }

    /// Global slot of this thread's `i`-th message.
    #[inline]
    fn slot(&self, i: u64) -> u64 {
        let local = self.local.max(1);
        (i / local) * self.binds + self.thread + (i % local) * self.threads
    }

    /// Intended send time of this thread's `i`-th message.
    #[inline]
    pub fn intended(&self, i: u64) -> u64 {
        let k = u128::from(self.slot(i));
        self.t0 + (k * 1_000_000_000 / u128::from(self.rate)) as u64
    }

    /// Intended time of the next message, or `None` when the schedule is over.
    #[inline]
    pub fn next_due(&self) -> Option<u64> {
        let t = self.intended(self.next);
        (t < self.end).then_some(t)
    }

    /// The thread-local bind (0..n) the next message belongs to.
    #[inline]
    pub fn next_bind(&self) -> usize {
        (self.next % self.local.max(1)) as usize
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
}

/// Latencies of one answer, in microseconds: (corrected = from the intended
/// send time, or from the actual write if that was earlier (`--tick` sends
/// up to a tick early), uncorrected = from the actual write). Never below
/// 1 µs.
#[inline]
pub fn latencies_us(intended: u64, sent: u64, recv: u64) -> (u64, u64) {
    let c = recv.saturating_sub(intended.min(sent)) / 1000;
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
        let mut s = Schedule::new(5 * MS, 1000, 0, 1, 1, 15 * MS);
        assert_eq!(s.next_due(), Some(5 * MS));
        assert_eq!(s.take_due(5 * MS - 1), None);
        assert_eq!(s.take_due(5 * MS), Some(5 * MS));
        assert_eq!(s.take_due(5 * MS), None);
        // Late wake-up at 8.5 ms: three messages due, each keeps its slot.
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

    /// Every slot of the global schedule, exactly once: (time, global bind).
    fn all_slots(rate: u64, threads: usize, binds: usize, end: u64) -> Vec<(u64, u64)> {
        let mut all = Vec::new();
        for t in 0..threads {
            let mut s = Schedule::new(0, rate, t, threads, binds, end);
            let mut last = 0;
            loop {
                let j = s.next_bind() as u64;
                let Some(x) = s.take_due(u64::MAX) else { break };
                assert!(x >= last, "in order within a thread");
                last = x;
                all.push((x, t as u64 + j * threads as u64));
            }
        }
        all.sort_unstable();
        all
    }

    #[test]
    fn threads_interleave() {
        // 3 threads sharing 3000 msg/s: together one slot every 1/3 ms.
        let all = all_slots(3000, 3, 3, 10 * MS);
        assert_eq!(all.len(), 30);
        for (k, (x, bind)) in all.iter().enumerate() {
            assert_eq!(*x, k as u64 * 1_000_000_000 / 3000);
            assert_eq!(*bind, k as u64 % 3);
        }
    }

    #[test]
    fn many_binds_are_staggered_not_in_lockstep() {
        // 2,000 binds at 100/s each on 3 threads (2000 is no multiple of 3).
        let (binds, rate) = (2000usize, 200_000u64);
        let all = all_slots(rate, 3, binds, 50 * MS);
        assert_eq!(all.len(), 10_000, "the total rate");
        for (k, (x, bind)) in all.iter().enumerate() {
            assert_eq!(*x, k as u64 * 1_000_000_000 / rate, "one slot each");
            assert_eq!(*bind, k as u64 % binds as u64, "slot k is bind k mod N");
        }
        // Each bind: every 10 ms (100/s), its first message at its offset.
        let b7: Vec<u64> = all.iter().filter(|s| s.1 == 7).map(|s| s.0).collect();
        assert_eq!(
            b7,
            (0..5).map(|r| r * 10 * MS + 7 * 5_000).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rate_is_exact_over_a_second() {
        let mut s = Schedule::new(0, 1_000_003, 0, 1, 4, 1_000_000_000);
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
        // Sent early (--tick): from the actual write, never less.
        assert_eq!(latencies_us(5 * MS, 4 * MS, 4 * MS + 300_000), (300, 300));
        // Clock quirks never record zero or wrap.
        assert_eq!(latencies_us(100, 100, 50), (1, 1));
    }
}
