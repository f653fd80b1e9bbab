//! The main thread's per-second view: `intervals.csv`, the interval logs
//! and the progress line on stderr.

use crate::hlog::RunLogs;
use crate::stats::{Counters, Hists};
use std::fmt::Write as _;
use std::time::Duration;

/// Per-interval aggregation in the main thread.
pub(super) struct Interval {
    pub reports: usize,
    pub counters: Counters,
    pub hists: Hists,
}

pub(super) struct Progress {
    pub csv: String,
    pub hlogs: RunLogs,
    /// Index of the next interval (the first not emitted yet).
    pub next_index: u64,
    pub prev: Counters,
    pub totals: Hists,
    pub quiet: bool,
    pub warmup_s: f64,
    pub measure_end_s: f64,
    /// ESME-to-ESME mode / the query mix: their parts of the progress line.
    pub mo: bool,
    pub extras: bool,
}

pub(super) fn pct(h: &hdrhistogram::Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

/// A percentile in ms for the progress line ("-" before the first sample).
fn pms(h: &hdrhistogram::Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        "-".into()
    } else {
        format!("{:.3}", h.value_at_quantile(q) as f64 / 1000.0)
    }
}

impl Progress {
    pub fn emit(&mut self, index: u64, iv: &Interval) {
        self.totals.add(&iv.hists);
        self.hlogs.append(
            &iv.hists,
            Duration::from_secs(index),
            Duration::from_secs(1),
        );
        self.next_index = index + 1;
        let c = &iv.counters;
        let p = &self.prev;
        let end_s = (index + 1) as f64;
        let phase = if end_s <= self.warmup_s {
            "warmup"
        } else if end_s <= self.measure_end_s + 1e-9 {
            "measure"
        } else {
            "drain"
        };
        let h = &iv.hists;
        let _ = writeln!(
            self.csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            index + 1,
            phase,
            c.sent.saturating_sub(p.sent),
            c.ok.saturating_sub(p.ok),
            c.answered_errors().saturating_sub(p.answered_errors()),
            c.receipts_matched.saturating_sub(p.receipts_matched),
            c.receipts_pending(),
            pct(&h.resp_c, 0.5),
            pct(&h.resp_c, 0.99),
            h.resp_c.max(),
            pct(&h.resp_u, 0.5),
            pct(&h.resp_u, 0.99),
            pct(&h.rcpt_c, 0.5),
            pct(&h.rcpt_c, 0.99),
            h.rcpt_c.max(),
            pct(&h.rcpt_u, 0.5),
            pct(&h.rcpt_u, 0.99),
            c.mo_matched.saturating_sub(p.mo_matched),
            c.mo_pending(),
            pct(&h.mo_c, 0.5),
            pct(&h.mo_c, 0.99),
            h.mo_c.max(),
            pct(&h.query, 0.5),
            pct(&h.query, 0.99),
            h.query.max(),
            pct(&h.enquire, 0.5),
            pct(&h.enquire, 0.99),
            h.enquire.max(),
        );
        if !self.quiet {
            let t = &self.totals;
            let mut line = format!(
                "[{:>4}s {:<7}] {:>9} submit/s  ok {:>9}/s  errors {:>6}  resp p50 {} p99 {} ms  rcpt p50 {} p99 {} ms  receipts pending {}",
                index + 1,
                phase,
                c.sent.saturating_sub(p.sent),
                c.ok.saturating_sub(p.ok),
                c.answered_errors(),
                pms(&t.resp_c, 0.5),
                pms(&t.resp_c, 0.99),
                pms(&t.rcpt_c, 0.5),
                pms(&t.rcpt_c, 0.99),
                c.receipts_pending(),
            );
            if self.mo {
                let _ = write!(
                    line,
                    "  mo p50 {} p99 {} ms  mo pending {}",
                    pms(&t.mo_c, 0.5),
                    pms(&t.mo_c, 0.99),
                    c.mo_pending()
                );
            }
            if self.extras {
                // This second's, side by side: the query_sm target.
                let _ = write!(
                    line,
                    "  query p99 {} enquire p99 {} ms",
                    pms(&h.query, 0.99),
                    pms(&h.enquire, 0.99)
                );
            }
            eprintln!("{line}");
        }
        self.prev = iv.counters;
    }
}

pub(super) const CSV_HEADER: &str = "second,phase,submits,ok,errors,receipts,receipts_pending,resp_p50_us,resp_p99_us,resp_max_us,resp_uncorr_p50_us,resp_uncorr_p99_us,rcpt_p50_us,rcpt_p99_us,rcpt_max_us,rcpt_uncorr_p50_us,rcpt_uncorr_p99_us,mo,mo_pending,mo_p50_us,mo_p99_us,mo_max_us,query_p50_us,query_p99_us,query_max_us,enquire_p50_us,enquire_p99_us,enquire_max_us\n";
