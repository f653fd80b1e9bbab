//! Rates and history for the console: one sample of the merged snapshot a
//! second (taken by the admin thread, never by a loop), kept for five
//! minutes: `GET /api/v1/overview` (cards and the throughput chart) and
//! `GET /api/v1/accounts` (per account, rates over the last 10 s).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::metrics::{AccountCounters, Snapshot};
use crate::server::Shared;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Samples in the chart: five minutes.
const SERIES: usize = 300;
/// Rates are over this many samples back (10 s).
const RATE_SPAN: usize = 10;

struct Point {
    at: Instant,
    unix_ms: u64,
    submit_ok: u64,
    receipt_acked: u64,
    mo_delivered: u64,
}

#[derive(Default)]
pub struct History {
    /// Totals, one a second, oldest first.
    series: VecDeque<Point>,
    /// Per-account counters of the last RATE_SPAN + 1 samples.
    recent: VecDeque<(Instant, Vec<AccountCounters>)>,
    /// The last merged snapshot.
    last: Snapshot,
}

use crate::clock::unix_ms;

/// Per-second rate of a counter between two samples.
fn rate(new: u64, old: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    (new.saturating_sub(old) as f64 / secs * 10.0).round() / 10.0
}

impl History {
    /// Takes one sample of the loops' published snapshots.
    pub fn sample(&mut self, shared: &Shared, now: Instant) {
        let s = shared.snapshot();
        self.series.push_back(Point {
            at: now,
            unix_ms: unix_ms(),
            submit_ok: s.counters.submit_ok,
            receipt_acked: s.counters.receipt_acked,
            mo_delivered: s.counters.mo_delivered,
        });
        while self.series.len() > SERIES + 1 {
            self.series.pop_front();
        }
        self.recent.push_back((now, s.accounts.clone()));
        while self.recent.len() > RATE_SPAN + 1 {
            self.recent.pop_front();
        }
        self.last = s;
    }

    /// Cards and the chart: per-second rates over the last five minutes.
    pub fn overview(&self, shared: &Shared) -> Value {
        let s = &self.last;
        let c = &s.counters;
        let mut chart = Vec::with_capacity(self.series.len());
        let pairs = self.series.iter().zip(self.series.iter().skip(1));
        for (a, b) in pairs {
            let secs = b.at.duration_since(a.at).as_secs_f64();
            chart.push(json!({
                "t": b.unix_ms,
                "submit": rate(b.submit_ok, a.submit_ok, secs),
                "receipts": rate(b.receipt_acked, a.receipt_acked, secs),
                "mo": rate(b.mo_delivered, a.mo_delivered, secs),
            }));
        }
        let (submit_rate, receipt_rate) = match (self.series.back(), self.span_start()) {
            (Some(b), Some(a)) => {
                let secs = b.at.duration_since(a.at).as_secs_f64();
                (
                    rate(b.submit_ok, a.submit_ok, secs),
                    rate(b.receipt_acked, a.receipt_acked, secs),
                )
            }
            _ => (0.0, 0.0),
        };
        let uptime = shared.epoch.elapsed().as_secs();
        json!({
            "system_id": shared.config.system_id,
            "loops": shared.config.threads,
            "uptime_secs": uptime,
            "connections": c.conn_current,
            "sessions": s.sessions_total,
            "binds": {
                "transmitter": s.binds.iter().map(|b| u64::from(b[0])).sum::<u64>(),
                "receiver": s.binds.iter().map(|b| u64::from(b[1])).sum::<u64>(),
                "transceiver": s.binds.iter().map(|b| u64::from(b[2])).sum::<u64>(),
            },
            "submit_per_s": submit_rate,
            "receipts_per_s": receipt_rate,
            "queues": {
                "receipts_queued": s.receipts_queued,
                "receipts_inflight": s.receipts_inflight,
                "receipts_delayed": s.receipts_delayed,
                "messages_pending": s.messages_pending,
                "messages_stored": s.messages_stored,
            },
            "totals": {
                "submit_ok": c.submit_ok,
                "submit_ex": c.submit_ex,
                "receipt_acked": c.receipt_acked,
                "mo_injected": c.mo_injected,
                "mo_delivered": c.mo_delivered,
            },
            "chart": chart,
        })
    }

    /// The sample RATE_SPAN seconds back (or the oldest one).
    fn span_start(&self) -> Option<&Point> {
        let n = self.series.len();
        self.series.get(n.saturating_sub(RATE_SPAN + 1))
    }

    /// Per account: binds, rates over the last 10 s, queues, refusals.
    pub fn accounts(&self, shared: &Shared) -> Value {
        let s = &self.last;
        let table = shared.accounts();
        let (newest, oldest) = (self.recent.back(), self.recent.front());
        let secs = match (newest, oldest) {
            (Some(b), Some(a)) => b.0.duration_since(a.0).as_secs_f64(),
            _ => 0.0,
        };
        let zero = AccountCounters::default();
        let mut out = Vec::new();
        for a in table.iter().filter(|a| !a.removed) {
            let i = a.id.index();
            let now_c = s.accounts.get(i).unwrap_or(&zero);
            let rate_of = |f: fn(&AccountCounters) -> u64| match (newest, oldest) {
                (Some(b), Some(o)) => rate(
                    b.1.get(i).map(f).unwrap_or(0),
                    o.1.get(i).map(f).unwrap_or(0),
                    secs,
                ),
                _ => 0.0,
            };
            let b = s.binds.get(i).copied().unwrap_or([0; 3]);
            let held = shared
                .account(a.id)
                .map(|x| x.queued.load(Ordering::Relaxed))
                .unwrap_or(0);
            out.push(json!({
                "system_id": a.system_id,
                "binds": {
                    "transmitter": b[0], "receiver": b[1], "transceiver": b[2],
                    "total": b.iter().map(|&x| u64::from(x)).sum::<u64>(),
                },
                "submit_per_s": rate_of(|c| c.submit_ok),
                "receipts_per_s": rate_of(|c| c.receipt_acked),
                "messages_pending": s.pending_by_account.get(i).copied().unwrap_or(0),
                "receipts_held": held,
                "submit_ok": now_c.submit_ok,
                "refused": now_c.submit_ex,
                "throttled": now_c.submit_throttled,
                "receipts_acked": now_c.receipt_acked,
            }));
        }
        json!({ "accounts": out, "rate_window_secs": secs.round() })
    }
}
