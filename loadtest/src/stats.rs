//! Per-thread counters and histograms, merged by the main thread.

use hdrhistogram::Histogram;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Histograms are in microseconds from 1 µs to one hour, 3 significant digits.
pub const HIST_LOW_US: u64 = 1;
pub const HIST_HIGH_US: u64 = 3_600_000_000;
pub const HIST_SIGFIG: u8 = 3;

pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(HIST_LOW_US, HIST_HIGH_US, HIST_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// The latency histograms of a run (or of one interval).
#[derive(Clone)]
pub struct Hists {
    /// submit -> submit_sm_resp from the intended send time.
    pub resp_c: Histogram<u64>,
    /// submit -> submit_sm_resp from the actual write.
    pub resp_u: Histogram<u64>,
    /// submit -> receipt from the intended send time.
    pub rcpt_c: Histogram<u64>,
    /// submit -> receipt from the actual write.
    pub rcpt_u: Histogram<u64>,
    /// ESME-to-ESME: submit -> MO deliver_sm at account B, from the intended send time.
    pub mo_c: Histogram<u64>,
    /// ... from the actual write.
    pub mo_u: Histogram<u64>,
    /// query_sm -> query_sm_resp (from the write).
    pub query: Histogram<u64>,
    /// enquire_link -> enquire_link_resp beside the messages (from the write).
    pub enquire: Histogram<u64>,
}

impl Hists {
    pub fn new() -> Hists {
        Hists {
            resp_c: new_hist(),
            resp_u: new_hist(),
            rcpt_c: new_hist(),
            rcpt_u: new_hist(),
            mo_c: new_hist(),
            mo_u: new_hist(),
            query: new_hist(),
            enquire: new_hist(),
        }
    }

    /// Every histogram, in [`crate::hlog::FILES`] order.
    pub fn all(&self) -> [&Histogram<u64>; 8] {
        [
            &self.resp_c,
            &self.resp_u,
            &self.rcpt_c,
            &self.rcpt_u,
            &self.mo_c,
            &self.mo_u,
            &self.query,
            &self.enquire,
        ]
    }

    fn all_mut(&mut self) -> [&mut Histogram<u64>; 8] {
        [
            &mut self.resp_c,
            &mut self.resp_u,
            &mut self.rcpt_c,
            &mut self.rcpt_u,
            &mut self.mo_c,
            &mut self.mo_u,
            &mut self.query,
            &mut self.enquire,
        ]
    }

    pub fn add(&mut self, o: &Hists) {
        // Same bounds everywhere: addition cannot fail.
        for (h, x) in self.all_mut().into_iter().zip(o.all()) {
            let _ = h.add(x);
        }
    }

    pub fn reset(&mut self) {
        for h in self.all_mut() {
            h.reset();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.all().iter().all(|h| h.is_empty())
    }
}

impl Default for Hists {
    fn default() -> Self {
        Hists::new()
    }
}

/// Cumulative counters of one thread (or, summed, of the run).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Counters {
    /// submit_sm written.
    pub sent: u64,
    /// ... of which with registered_delivery = 1.
    pub sent_with_receipt: u64,
    /// submit_sm answered (submit_sm_resp or generic_nack).
    pub answered: u64,
    /// submit_sm_resp with status 0.
    pub ok: u64,
    /// ... of those, sent inside the measured window.
    pub ok_measured: u64,
    /// submit_sm_resp with an error status.
    pub failed: u64,
    /// generic_nack answering a submit.
    pub nacked: u64,
    /// Responses whose sequence number matched nothing outstanding.
    pub unexpected: u64,
    /// OK answers to submits that asked for a receipt.
    pub receipts_expected: u64,
    /// Receipts (deliver_sm, esm_class receipt) read from the sockets.
    pub receipts_received: u64,
    /// Receipts matched to a submit (counted by the matching thread).
    pub receipts_matched: u64,
    pub receipts_duplicate: u64,
    /// Final only: asked for, answered OK, no receipt within the grace time.
    pub receipts_missing: u64,
    /// Final only: receipts for no message this run sent.
    pub receipts_unknown: u64,
    /// Receipts read after the books were closed.
    pub receipts_late: u64,
    /// Receipts read before sending began (left over from an earlier run).
    pub receipts_stale: u64,
    /// message_ids the server handed out twice.
    pub duplicate_message_ids: u64,
    /// deliver_sm that are not receipts (mobile originated).
    pub deliver_other: u64,
    /// deliver_sm that could not be decoded, or receipts without an id.
    pub deliver_bad: u64,
    /// enquire_link answered.
    pub enquire_links: u64,
    /// Connections lost while bound, or framing errors.
    pub conn_errors: u64,
    /// ESME-to-ESME (see [`crate::mo::MoStats`]): tracked submits answered OK.
    pub mo_expected: u64,
    /// MO deliver_sm with a tag, read from the sockets.
    pub mo_received: u64,
    pub mo_matched: u64,
    pub mo_duplicate: u64,
    pub mo_unknown: u64,
    /// Final only: answered OK, no MO by the end.
    pub mo_missing: u64,
    /// MO read after the books were closed.
    pub mo_late: u64,
    /// MO of an earlier run (another nonce, or before sending began).
    pub mo_stale: u64,
    /// query_sm written, answered, answered ESME_ROK, refused or nacked.
    pub query_sent: u64,
    pub query_answered: u64,
    pub query_ok: u64,
    pub query_failed: u64,
    /// enquire_link written beside the messages, and answered.
    pub enquire_sent: u64,
    pub enquire_answered: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.sent += o.sent;
        self.sent_with_receipt += o.sent_with_receipt;
        self.answered += o.answered;
        self.ok += o.ok;
        self.ok_measured += o.ok_measured;
        self.failed += o.failed;
        self.nacked += o.nacked;
        self.unexpected += o.unexpected;
        self.receipts_expected += o.receipts_expected;
        self.receipts_received += o.receipts_received;
        self.receipts_matched += o.receipts_matched;
        self.receipts_duplicate += o.receipts_duplicate;
        self.receipts_missing += o.receipts_missing;
        self.receipts_unknown += o.receipts_unknown;
        self.receipts_late += o.receipts_late;
        self.receipts_stale += o.receipts_stale;
        self.duplicate_message_ids += o.duplicate_message_ids;
        self.deliver_other += o.deliver_other;
        self.deliver_bad += o.deliver_bad;
        self.enquire_links += o.enquire_links;
        self.conn_errors += o.conn_errors;
        self.mo_expected += o.mo_expected;
        self.mo_received += o.mo_received;
        self.mo_matched += o.mo_matched;
        self.mo_duplicate += o.mo_duplicate;
        self.mo_unknown += o.mo_unknown;
        self.mo_missing += o.mo_missing;
        self.mo_late += o.mo_late;
        self.mo_stale += o.mo_stale;
        self.query_sent += o.query_sent;
        self.query_answered += o.query_answered;
        self.query_ok += o.query_ok;
        self.query_failed += o.query_failed;
        self.enquire_sent += o.enquire_sent;
        self.enquire_answered += o.enquire_answered;
    }

    /// The MO tracker's counts.
    pub fn set_mo(&mut self, m: &crate::mo::MoStats) {
        self.mo_expected = m.expected;
        self.mo_matched = m.matched;
        self.mo_duplicate = m.duplicate;
        self.mo_unknown = m.unknown;
        self.mo_missing = m.missing;
    }

    pub fn mo_pending(&self) -> u64 {
        self.mo_expected.saturating_sub(self.mo_matched)
    }

    /// Submits that failed: error status, nack, or never answered.
    pub fn errors(&self) -> u64 {
        self.failed + self.nacked + self.sent.saturating_sub(self.answered)
    }

    /// Submits answered with an error so far (unanswered ones not counted:
    /// mid-run they are simply in flight).
    pub fn answered_errors(&self) -> u64 {
        self.failed + self.nacked
    }

    pub fn receipts_pending(&self) -> u64 {
        self.receipts_expected.saturating_sub(self.receipts_matched)
    }
}

/// Count of every (response command_id, command_status) pair received.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct StatusCounts(pub Vec<(u32, u32, u64)>);

impl StatusCounts {
    #[inline]
    pub fn add(&mut self, command_id: u32, status: u32, n: u64) {
        for e in &mut self.0 {
            if e.0 == command_id && e.1 == status {
                e.2 += n;
                return;
            }
        }
        self.0.push((command_id, status, n));
    }

    pub fn merge(&mut self, o: &StatusCounts) {
        for &(c, s, n) in &o.0 {
            self.add(c, s, n);
        }
    }

    pub fn sorted(&self) -> Vec<(u32, u32, u64)> {
        let mut v = self.0.clone();
        v.sort_unstable();
        v
    }
}

/// What a worker sends the main thread.
// Once a second per thread: the size of the interval's counters costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Report {
    /// One second of a thread: cumulative counters, that second's samples.
    Interval {
        thread: usize,
        index: u64,
        counters: Counters,
        hists: Box<Hists>,
    },
    Final(Box<FinalReport>),
}

pub struct FinalReport {
    pub thread: usize,
    pub counters: Counters,
    pub statuses: StatusCounts,
    /// Samples not yet reported in an interval.
    pub hists: Hists,
    /// Thread CPU time and wall time from the start of sending to its end.
    pub cpu_sending: Duration,
    pub wall_sending: Duration,
    pub binds: BindStats,
    pub error: Option<String>,
}

/// How the connections of a thread (or, merged, of the run) went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindStats {
    /// Connections asked for.
    pub requested: u64,
    pub bound: u64,
    /// Refused, closed, not answered, or not tried in the setup time.
    pub failed: u64,
    /// The first few distinct reasons.
    pub errors: Vec<String>,
}

impl BindStats {
    const MAX_ERRORS: usize = 3;

    pub fn note_error(&mut self, e: &str) {
        if self.errors.len() < Self::MAX_ERRORS && !self.errors.iter().any(|x| x == e) {
            self.errors.push(e.to_string());
        }
    }

    pub fn merge(&mut self, o: &BindStats) {
        self.requested += o.requested;
        self.bound += o.bound;
        self.failed += o.failed;
        for e in &o.errors {
            self.note_error(e);
        }
    }
}

/// A barrier that gives up after a timeout (a worker that failed must not
/// hang the others).
pub struct TimedBarrier {
    n: usize,
    state: Mutex<(usize, u64)>,
    cv: Condvar,
}

impl TimedBarrier {
    pub fn new(n: usize) -> TimedBarrier {
        TimedBarrier {
            n,
            state: Mutex::new((0, 0)),
            cv: Condvar::new(),
        }
    }

    /// Waits for all `n` parties; false on timeout.
    pub fn wait(&self, timeout: Duration) -> bool {
        let Ok(mut g) = self.state.lock() else {
            return false;
        };
        let gen = g.1;
        g.0 += 1;
        if g.0 == self.n {
            g.0 = 0;
            g.1 += 1;
            self.cv.notify_all();
            return true;
        }
        let deadline = std::time::Instant::now() + timeout;
        while g.1 == gen {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.cv.wait_timeout(g, left) {
                Ok((ng, _)) => g = ng,
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn status_counts_merge() {
        let mut a = StatusCounts::default();
        a.add(0x8000_0004, 0, 5);
        a.add(0x8000_0004, 0x58, 1);
        a.add(0x8000_0004, 0, 2);
        let mut b = StatusCounts::default();
        b.add(0x8000_0000, 3, 1);
        b.merge(&a);
        assert_eq!(
            b.sorted(),
            vec![
                (0x8000_0000, 3, 1),
                (0x8000_0004, 0, 7),
                (0x8000_0004, 0x58, 1)
            ]
        );
    }

    #[test]
    fn counters_errors() {
        let c = Counters {
            sent: 10,
            answered: 8,
            failed: 1,
            nacked: 1,
            ..Counters::default()
        };
        assert_eq!(c.errors(), 4);
        let mut d = c;
        d.add(&c);
        assert_eq!(d.sent, 20);
    }

    #[test]
    fn barrier_releases_and_times_out() {
        let b = Arc::new(TimedBarrier::new(2));
        let b2 = b.clone();
        let h = std::thread::spawn(move || b2.wait(Duration::from_secs(5)));
        assert!(b.wait(Duration::from_secs(5)));
        assert!(h.join().unwrap());
        let lone = TimedBarrier::new(2);
        assert!(!lone.wait(Duration::from_millis(20)));
    }

    #[test]
    fn hists_merge() {
        let mut a = Hists::new();
        a.resp_c.saturating_record(10);
        a.rcpt_u.saturating_record(u64::MAX);
        let mut b = Hists::new();
        b.add(&a);
        b.add(&a);
        assert_eq!(b.resp_c.len(), 2);
        assert_eq!(b.rcpt_u.len(), 2);
        b.reset();
        assert!(b.resp_c.is_empty());
    }
}
