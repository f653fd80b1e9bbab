//! The run summary: `summary.json` (also what `--json` prints) and the
//! table printed at the end.
//!
//! The JSON is derived from these types with serde and read back (`compare`,
//! tests) through the same types, so what is written always parses. Every
//! struct is `#[serde(default)]`: a summary from an older version, without
//! a field added since, still loads.
//!
//! # summary.json
//!
//! One object; latencies in microseconds, rates per second:
//!
//! | field | meaning |
//! |---|---|
//! | `version` | 1 |
//! | `mode` | `"closed"` or `"open"` |
//! | `results_dir` | the run's folder |
//! | `params` | every flag of the run, as strings |
//! | `duration_s` | measured time (after the warm-up) |
//! | `throughput_per_s` | submit_sm sent in the measured time and answered OK, per second |
//! | `receipts_per_s` | receipts matched to submits sent in the measured time, per second |
//! | `offered_rate_per_s` | `--rate` (0 in closed loop) |
//! | `submits` | `sent`, `with_receipt`, `answered`, `ok`, `ok_measured`, `failed` (error status), `nacked`, `unanswered`, `unexpected_responses` |
//! | `error_rate` | (failed + nacked + unanswered) / sent |
//! | `statuses` | list of `{command, command_id, status, name, count}`: every command_status of every response received (submit_sm_resp OK included) |
//! | `latency_us` | `submit_resp`, `receipt` and `mo` (submit -> MO at B), each with `corrected` (from the intended send time) and `uncorrected` (from the actual write), each `{count, mean, p50, p90, p99, p99_9, p99_99, max}`; in closed loop both are the same; `query` and `enquire_link` (from the write, no correction) |
//! | `mo_per_s` | ESME-to-ESME: MO messages matched to submits sent in the measured time, per second |
//! | `mo` | `expected` (submits answered OK), `received` (tagged MO read), `matched`, `missing`, `unknown` (this run's tag, no such message), `duplicate`, `late`, `stale` (an earlier run's) |
//! | `queries` | `--query-share`: `sent`, `answered`, `ok` (ESME_ROK), `failed`, `unanswered` |
//! | `enquire_links` | `--enquire-share`: `sent`, `answered` |
//! | `query_p99_over_enquire_p99` | the run's query_sm p99 over its enquire_link p99 (0 without both) |
//! | `receipts` | `requested`, `expected` (answered OK), `received`, `matched`, `missing`, `unknown`, `duplicate`, `late` (after the grace time), `stale` (before sending began: left over from an earlier run, not judged), `duplicate_message_ids` |
//! | `deliver_sm` | `other` (not receipts), `bad` (undecodable or without id) |
//! | `connection_errors` | connections lost while bound, framing errors |
//! | `binds` | `requested` (connections asked for: `--binds`, twice that with `--bind tx`), `bound`, `failed`, `setup_s` (time to bind them all) |
//! | `server` | only with `--server-pid`: the server's `cpu_s` and `cpu_pct` (utime + stime over the measured time, % of one core), `vm_rss_kib` at its end and `vm_hwm_kib` (peak RSS) |
//! | `cpu` | `process_pct` (whole process, % of one core), `threads_pct` (each thread over the measured time), `saturated` (a thread above 90%) |
//! | `pass`, `failures` | the verdict the exit code follows, and why |

use crate::stats::{Counters, StatusCounts};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize, Serializer};
use smsc::pdu::{CommandId, CommandStatus};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rates, shares and means are written with three decimals (as before the
/// JSON was derived); a non-finite value becomes 0, never `null`.
fn r3<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round3(*v))
}

fn r3_vec<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| round3(*x)))
}

fn round3(v: f64) -> f64 {
    if v.is_finite() {
        (v * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// A ratio written in full precision (non-finite: 0).
fn finite<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(if v.is_finite() { *v } else { 0.0 })
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Closed,
    Open,
}

/// Percentiles of one latency histogram, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lat {
    pub count: u64,
    #[serde(serialize_with = "r3")]
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    #[serde(rename = "p99_9")]
    pub p999: u64,
    #[serde(rename = "p99_99")]
    pub p9999: u64,
    pub max: u64,
}

impl Lat {
    pub fn of(h: &Histogram<u64>) -> Lat {
        if h.is_empty() {
            return Lat::default();
        }
        Lat {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }

    /// (label, value) in table order.
    pub fn points(&self) -> [(&'static str, u64); 6] {
        [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p99.9", self.p999),
            ("p99.99", self.p9999),
            ("max", self.max),
        ]
    }
}

/// One latency, from the intended send time and from the actual write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LatPair {
    pub corrected: Lat,
    pub uncorrected: Lat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latencies {
    /// submit -> submit_sm_resp.
    pub submit_resp: LatPair,
    /// submit -> receipt.
    pub receipt: LatPair,
    /// ESME-to-ESME: submit -> MO deliver_sm at account B.
    pub mo: LatPair,
    /// query_sm -> query_sm_resp (ESME_ROK only), from the write.
    pub query: Lat,
    /// enquire_link -> enquire_link_resp beside the messages, from the write.
    pub enquire_link: Lat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Submits {
    pub sent: u64,
    pub with_receipt: u64,
    pub answered: u64,
    pub ok: u64,
    pub ok_measured: u64,
    pub failed: u64,
    pub nacked: u64,
    pub unanswered: u64,
    pub unexpected_responses: u64,
}

impl Submits {
    pub fn of(c: &Counters) -> Submits {
        Submits {
            sent: c.sent,
            with_receipt: c.sent_with_receipt,
            answered: c.answered,
            ok: c.ok,
            ok_measured: c.ok_measured,
            failed: c.failed,
            nacked: c.nacked,
            unanswered: c.sent.saturating_sub(c.answered),
            unexpected_responses: c.unexpected,
        }
    }

    /// Failed, nacked or unanswered.
    pub fn errors(&self) -> u64 {
        self.failed + self.nacked + self.unanswered
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Receipts {
    pub requested: u64,
    pub expected: u64,
    pub received: u64,
    pub matched: u64,
    pub missing: u64,
    pub unknown: u64,
    pub duplicate: u64,
    pub late: u64,
    pub stale: u64,
    pub duplicate_message_ids: u64,
}

impl Receipts {
    pub fn of(c: &Counters) -> Receipts {
        Receipts {
            requested: c.sent_with_receipt,
            expected: c.receipts_expected,
            received: c.receipts_received,
            matched: c.receipts_matched,
            missing: c.receipts_missing,
            unknown: c.receipts_unknown,
            duplicate: c.receipts_duplicate,
            late: c.receipts_late,
            stale: c.receipts_stale,
            duplicate_message_ids: c.duplicate_message_ids,
        }
    }
}

/// ESME-to-ESME: the MO messages, accounted like receipts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MoCounts {
    /// Submits answered OK (each should reach B once).
    pub expected: u64,
    /// MO deliver_sm carrying a tag, read on any bind.
    pub received: u64,
    pub matched: u64,
    pub missing: u64,
    pub unknown: u64,
    pub duplicate: u64,
    pub late: u64,
    pub stale: u64,
}

impl MoCounts {
    pub fn of(c: &Counters) -> MoCounts {
        MoCounts {
            expected: c.mo_expected,
            received: c.mo_received,
            matched: c.mo_matched,
            missing: c.mo_missing,
            unknown: c.mo_unknown,
            duplicate: c.mo_duplicate,
            late: c.mo_late,
            stale: c.mo_stale,
        }
    }
}

/// `--query-share`: the query_sm beside the messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Queries {
    pub sent: u64,
    pub answered: u64,
    /// Answered ESME_ROK.
    pub ok: u64,
    /// Answered with another status, or nacked.
    pub failed: u64,
    pub unanswered: u64,
}

impl Queries {
    pub fn of(c: &Counters) -> Queries {
        Queries {
            sent: c.query_sent,
            answered: c.query_answered,
            ok: c.query_ok,
            failed: c.query_failed,
            unanswered: c.query_sent.saturating_sub(c.query_answered),
        }
    }
}

/// `--enquire-share`: the enquire_link beside the messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Enquires {
    pub sent: u64,
    pub answered: u64,
}

impl Enquires {
    pub fn of(c: &Counters) -> Enquires {
        Enquires {
            sent: c.enquire_sent,
            answered: c.enquire_answered,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverSm {
    pub other: u64,
    pub bad: u64,
}

/// One (command, status) of the responses received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusRow {
    pub command: String,
    /// `0x80000004`.
    pub command_id: String,
    /// `0x00000058`.
    pub status: String,
    pub name: String,
    pub count: u64,
}

impl StatusRow {
    /// Rows sorted by command id, then status.
    pub fn rows(s: &StatusCounts) -> Vec<StatusRow> {
        s.sorted()
            .into_iter()
            .map(|(cmd, st, n)| StatusRow {
                command: command_name(cmd),
                command_id: format!("{cmd:#010x}"),
                status: format!("{st:#010x}"),
                name: status_name(st),
                count: n,
            })
            .collect()
    }
}

/// The connections of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Binds {
    pub requested: u64,
    pub bound: u64,
    pub failed: u64,
    /// From the first connect to the last bind_resp.
    #[serde(serialize_with = "r3")]
    pub setup_s: f64,
}

/// The server process's resources, read from /proc (`--server-pid`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerUsage {
    pub pid: u32,
    /// utime + stime over the measured time.
    #[serde(serialize_with = "r3")]
    pub cpu_s: f64,
    /// ... as % of one core.
    #[serde(serialize_with = "r3")]
    pub cpu_pct: f64,
    /// VmRSS at the end of the measured time.
    pub vm_rss_kib: u64,
    /// VmHWM: the peak resident set of the process so far.
    pub vm_hwm_kib: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    #[serde(serialize_with = "r3")]
    pub process_pct: f64,
    #[serde(serialize_with = "r3_vec")]
    pub threads_pct: Vec<f64>,
    pub saturated: bool,
}

/// Everything a run reports: `summary.json` field for field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub version: u32,
    pub mode: Mode,
    pub results_dir: String,
    pub params: BTreeMap<String, String>,
    #[serde(serialize_with = "r3")]
    pub duration_s: f64,
    #[serde(serialize_with = "r3")]
    pub throughput_per_s: f64,
    #[serde(serialize_with = "r3")]
    pub receipts_per_s: f64,
    pub offered_rate_per_s: u64,
    pub submits: Submits,
    #[serde(serialize_with = "finite")]
    pub error_rate: f64,
    pub statuses: Vec<StatusRow>,
    pub latency_us: Latencies,
    pub receipts: Receipts,
    /// ESME-to-ESME: MO messages matched to submits sent in the measured time, per second.
    #[serde(serialize_with = "r3")]
    pub mo_per_s: f64,
    pub mo: MoCounts,
    pub queries: Queries,
    pub enquire_links: Enquires,
    /// The run's query_sm p99 over its enquire_link p99 (0 without both).
    #[serde(serialize_with = "finite")]
    pub query_p99_over_enquire_p99: f64,
    pub deliver_sm: DeliverSm,
    pub connection_errors: u64,
    pub binds: Binds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerUsage>,
    pub cpu: Cpu,
    pub pass: bool,
    pub failures: Vec<String>,
}

impl Summary {
    /// One line of JSON (what `summary.json` holds and `--json` prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Summary always serialises")
    }

    pub fn from_json(text: &str) -> Result<Summary, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn open_loop(&self) -> bool {
        self.mode == Mode::Open
    }

    fn param(&self, k: &str) -> &str {
        self.params.get(k).map_or("?", String::as_str)
    }
}

/// Name of a response command id.
pub fn command_name(id: u32) -> String {
    match CommandId(id).name() {
        Some(n) => n.to_ascii_lowercase(),
        None => format!("{id:#010x}"),
    }
}

pub fn status_name(s: u32) -> String {
    CommandStatus(s)
        .name()
        .map_or_else(|| format!("{s:#010x}"), str::to_string)
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// The table printed at the end of a run (and kept as `summary.txt`).
pub fn summary_table(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "loadtest: {} loop{}, {} {} binds x window {}, {} thread(s), {:.1} s measured",
        if s.open_loop() { "open" } else { "closed" },
        if s.open_loop() {
            format!(" at {}/s", s.offered_rate_per_s)
        } else {
            String::new()
        },
        s.param("binds"),
        s.param("bind"),
        s.param("window"),
        s.param("threads"),
        s.duration_s
    );
    let b = &s.binds;
    let _ = writeln!(
        o,
        "binds       {} of {} bound{} in {:.2} s",
        b.bound,
        b.requested,
        if b.failed > 0 {
            format!(", {} failed", b.failed)
        } else {
            String::new()
        },
        b.setup_s
    );
    let u = &s.submits;
    let _ = writeln!(
        o,
        "throughput  {:.0} submit_sm/s, {:.0} receipts/s  (sent {}, ok {}, errors {}, error rate {:.6})",
        s.throughput_per_s,
        s.receipts_per_s,
        u.sent,
        u.ok,
        u.errors(),
        s.error_rate
    );
    let _ = writeln!(
        o,
        "\n{:<30}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>12}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "p99.99", "max", "count"
    );
    let mut row = |name: &str, l: &Lat| {
        let _ = write!(o, "{name:<30}");
        for (_, v) in l.points() {
            let cell = if l.count == 0 { "-".to_string() } else { ms(v) };
            let _ = write!(o, "{cell:>10}");
        }
        let _ = writeln!(o, "{:>12}", l.count);
    };
    let l = &s.latency_us;
    if s.open_loop() {
        row("submit->resp (corrected)", &l.submit_resp.corrected);
        row("submit->resp (uncorrected)", &l.submit_resp.uncorrected);
        row("submit->receipt (corrected)", &l.receipt.corrected);
        row("submit->receipt (uncorrected)", &l.receipt.uncorrected);
        if l.mo.corrected.count > 0 {
            row("submit->MO (corrected)", &l.mo.corrected);
            row("submit->MO (uncorrected)", &l.mo.uncorrected);
        }
    } else {
        row("submit->resp", &l.submit_resp.uncorrected);
        row("submit->receipt", &l.receipt.uncorrected);
        if l.mo.uncorrected.count > 0 {
            row("submit->MO", &l.mo.uncorrected);
        }
    }
    if l.query.count + l.enquire_link.count > 0 {
        row("query_sm->resp", &l.query);
        row("enquire_link->resp", &l.enquire_link);
    }
    let _ = writeln!(o, "\nstatuses:");
    for r in &s.statuses {
        let _ = writeln!(o, "  {:<24}{:<22}{}", r.command, r.name, r.count);
    }
    let r = &s.receipts;
    let _ = writeln!(
        o,
        "receipts: requested {} expected {} received {} matched {} missing {} unknown {} duplicate {} late {} stale {}",
        r.requested,
        r.expected,
        r.received,
        r.matched,
        r.missing,
        r.unknown,
        r.duplicate,
        r.late,
        r.stale
    );
    if s.params.get("mo_system_id").is_some_and(|v| v != "-") {
        let m = &s.mo;
        let _ = writeln!(
            o,
            "MO: {:.0}/s, expected {} received {} matched {} missing {} unknown {} duplicate {} late {} stale {}",
            s.mo_per_s,
            m.expected,
            m.received,
            m.matched,
            m.missing,
            m.unknown,
            m.duplicate,
            m.late,
            m.stale
        );
    }
    let (q, e) = (&s.queries, &s.enquire_links);
    if q.sent + e.sent > 0 {
        let _ = writeln!(
            o,
            "query_sm: sent {} ok {} failed {} unanswered {}; enquire_link: sent {} answered {}; query p99 / enquire_link p99 = {:.2}",
            q.sent, q.ok, q.failed, q.unanswered, e.sent, e.answered, s.query_p99_over_enquire_p99
        );
    }
    let d = &s.deliver_sm;
    if d.other + d.bad + s.connection_errors + u.unexpected_responses + r.duplicate_message_ids > 0
    {
        let _ = writeln!(
            o,
            "other: deliver_sm non-receipt {} bad {}; unexpected responses {}; connection errors {}; duplicate message ids {}",
            d.other, d.bad, u.unexpected_responses, s.connection_errors, r.duplicate_message_ids
        );
    }
    let threads: Vec<String> = s
        .cpu
        .threads_pct
        .iter()
        .map(|v| format!("{v:.0}%"))
        .collect();
    let _ = writeln!(
        o,
        "cpu: load generator threads {} of one core while sending; process {:.0}%",
        threads.join(" "),
        s.cpu.process_pct
    );
    if let Some(sv) = &s.server {
        let _ = writeln!(
            o,
            "server (pid {}): cpu {:.0}% of one core over the measured time ({:.2} s), RSS {} KiB, peak {} KiB",
            sv.pid, sv.cpu_pct, sv.cpu_s, sv.vm_rss_kib, sv.vm_hwm_kib
        );
    }
    if s.cpu.saturated {
        let _ = writeln!(
            o,
            "WARNING: load generator saturated: result is a lower bound"
        );
    }
    let _ = writeln!(o, "results: {}", s.results_dir);
    if s.pass {
        let _ = writeln!(o, "PASS");
    } else {
        let _ = writeln!(o, "FAIL: {}", s.failures.join("; "));
    }
    o
}

#[cfg(test)]
mod tests;
