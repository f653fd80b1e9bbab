//! Run outputs: the summary (table and JSON), HdrHistogram percentile
//! distributions (`.hgrm`), and their parsers.
//!
//! # summary.json (also what `--json` prints)
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
//! | `offered_rate_per_s` | `--rate` (0 in closed loop) |
//! | `submits` | `sent`, `with_receipt`, `answered`, `ok`, `ok_measured`, `failed` (error status), `nacked`, `unanswered`, `unexpected_responses` |
//! | `error_rate` | (failed + nacked + unanswered) / sent |
//! | `statuses` | list of `{command, command_id, status, name, count}`: every command_status of every response received (submit_sm_resp OK included) |
//! | `latency_us` | `submit_resp` and `receipt`, each with `corrected` (from the intended send time) and `uncorrected` (from the actual write), each `{count, mean, p50, p90, p99, p99_9, p99_99, max}`; in closed loop both are the same |
//! | `receipts` | `requested`, `expected` (answered OK), `received`, `matched`, `missing`, `unknown`, `duplicate`, `late` (after the grace time), `stale` (before sending began: left over from an earlier run, not judged), `duplicate_message_ids` |
//! | `deliver_sm` | `other` (not receipts), `bad` (undecodable or without id) |
//! | `connection_errors` | connections lost while bound, framing errors |
//! | `cpu` | `process_pct` (whole process, % of one core), `threads_pct` (each thread while sending), `saturated` (a thread above 90%) |
//! | `pass`, `failures` | the verdict the exit code follows, and why |
//!
//! # .hgrm
//!
//! The text of HdrHistogram's `outputPercentileDistribution` with 5 ticks per
//! half distance and values in **milliseconds** (recorded in µs, scaling
//! ratio 1000, as wrk2 prints), ending with the `#[Mean ...]`, `#[Max ...]`
//! and `#[Buckets ...]` footer; the HdrHistogram plotter reads it as is.

use crate::stats::{Counters, StatusCounts};
use hdrhistogram::Histogram;
use smsc::pdu::{CommandId, CommandStatus};
use std::fmt::Write as _;

/// Percentiles of one latency histogram, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Lat {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
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

/// Everything a run reports.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub params: Vec<(String, String)>,
    pub open_loop: bool,
    pub results_dir: String,
    pub duration_s: f64,
    pub throughput: f64,
    pub offered_rate: u64,
    pub counters: Counters,
    pub statuses: StatusCounts,
    pub error_rate: f64,
    pub resp_c: Lat,
    pub resp_u: Lat,
    pub rcpt_c: Lat,
    pub rcpt_u: Lat,
    pub cpu_process_pct: f64,
    pub cpu_threads_pct: Vec<f64>,
    pub saturated: bool,
    pub failures: Vec<String>,
}

impl Summary {
    pub fn pass(&self) -> bool {
        self.failures.is_empty()
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

// ------------------------------------------------------------------ JSON

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number (non-finite values become 0).
pub fn json_f64(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        "0".into()
    }
}

fn lat_json(l: &Lat) -> String {
    format!(
        "{{\"count\":{},\"mean\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"p99_9\":{},\"p99_99\":{},\"max\":{}}}",
        l.count,
        json_f64(l.mean),
        l.p50,
        l.p90,
        l.p99,
        l.p999,
        l.p9999,
        l.max
    )
}

pub fn summary_json(s: &Summary) -> String {
    let c = &s.counters;
    let mut o = String::new();
    o.push_str("{\"version\":1");
    let _ = write!(
        o,
        ",\"mode\":{}",
        json_str(if s.open_loop { "open" } else { "closed" })
    );
    let _ = write!(o, ",\"results_dir\":{}", json_str(&s.results_dir));
    o.push_str(",\"params\":{");
    for (i, (k, v)) in s.params.iter().enumerate() {
        let _ = write!(
            o,
            "{}{}:{}",
            if i > 0 { "," } else { "" },
            json_str(k),
            json_str(v)
        );
    }
    o.push('}');
    let _ = write!(o, ",\"duration_s\":{}", json_f64(s.duration_s));
    let _ = write!(o, ",\"throughput_per_s\":{}", json_f64(s.throughput));
    let _ = write!(o, ",\"offered_rate_per_s\":{}", s.offered_rate);
    let _ = write!(
        o,
        ",\"submits\":{{\"sent\":{},\"with_receipt\":{},\"answered\":{},\"ok\":{},\"ok_measured\":{},\"failed\":{},\"nacked\":{},\"unanswered\":{},\"unexpected_responses\":{}}}",
        c.sent,
        c.sent_with_receipt,
        c.answered,
        c.ok,
        c.ok_measured,
        c.failed,
        c.nacked,
        c.sent.saturating_sub(c.answered),
        c.unexpected
    );
    let _ = write!(o, ",\"error_rate\":{}", json_f64_precise(s.error_rate));
    o.push_str(",\"statuses\":[");
    for (i, (cmd, st, n)) in s.statuses.sorted().iter().enumerate() {
        let _ = write!(
            o,
            "{}{{\"command\":{},\"command_id\":\"{:#010x}\",\"status\":\"{:#010x}\",\"name\":{},\"count\":{}}}",
            if i > 0 { "," } else { "" },
            json_str(&command_name(*cmd)),
            cmd,
            st,
            json_str(&status_name(*st)),
            n
        );
    }
    o.push(']');
    let _ = write!(
        o,
        ",\"latency_us\":{{\"submit_resp\":{{\"corrected\":{},\"uncorrected\":{}}},\"receipt\":{{\"corrected\":{},\"uncorrected\":{}}}}}",
        lat_json(&s.resp_c),
        lat_json(&s.resp_u),
        lat_json(&s.rcpt_c),
        lat_json(&s.rcpt_u)
    );
    let _ = write!(
        o,
        ",\"receipts\":{{\"requested\":{},\"expected\":{},\"received\":{},\"matched\":{},\"missing\":{},\"unknown\":{},\"duplicate\":{},\"late\":{},\"stale\":{},\"duplicate_message_ids\":{}}}",
        c.sent_with_receipt,
        c.receipts_expected,
        c.receipts_received,
        c.receipts_matched,
        c.receipts_missing,
        c.receipts_unknown,
        c.receipts_duplicate,
        c.receipts_late,
        c.receipts_stale,
        c.duplicate_message_ids
    );
    let _ = write!(
        o,
        ",\"deliver_sm\":{{\"other\":{},\"bad\":{}}}",
        c.deliver_other, c.deliver_bad
    );
    let _ = write!(o, ",\"connection_errors\":{}", c.conn_errors);
    let threads: Vec<String> = s.cpu_threads_pct.iter().map(|v| json_f64(*v)).collect();
    let _ = write!(
        o,
        ",\"cpu\":{{\"process_pct\":{},\"threads_pct\":[{}],\"saturated\":{}}}",
        json_f64(s.cpu_process_pct),
        threads.join(","),
        s.saturated
    );
    let _ = write!(o, ",\"pass\":{}", s.pass());
    let fails: Vec<String> = s.failures.iter().map(|f| json_str(f)).collect();
    let _ = write!(o, ",\"failures\":[{}]", fails.join(","));
    o.push('}');
    o
}

fn json_f64_precise(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "0".into()
    }
}

// ------------------------------------------------------------------ table

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

pub fn summary_table(s: &Summary) -> String {
    let c = &s.counters;
    let p = |k: &str| {
        s.params
            .iter()
            .find(|(n, _)| n == k)
            .map_or("?", |(_, v)| v.as_str())
            .to_string()
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "loadtest: {} loop{}, {} {} binds x window {}, {} thread(s), {:.1} s measured",
        if s.open_loop { "open" } else { "closed" },
        if s.open_loop {
            format!(" at {}/s", s.offered_rate)
        } else {
            String::new()
        },
        p("binds"),
        p("bind"),
        p("window"),
        p("threads"),
        s.duration_s
    );
    let _ = writeln!(
        o,
        "throughput  {:.0} submit_sm/s  (sent {}, ok {}, errors {}, error rate {:.6})",
        s.throughput,
        c.sent,
        c.ok,
        c.errors(),
        s.error_rate
    );
    let _ = writeln!(
        o,
        "\n{:<28}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>12}",
        "latency (ms)", "p50", "p90", "p99", "p99.9", "p99.99", "max", "count"
    );
    let mut row = |name: &str, l: &Lat| {
        let _ = write!(o, "{name:<28}");
        for (_, v) in l.points() {
            let cell = if l.count == 0 { "-".to_string() } else { ms(v) };
            let _ = write!(o, "{cell:>10}");
        }
        let _ = writeln!(o, "{:>12}", l.count);
    };
    if s.open_loop {
        row("submit->resp (corrected)", &s.resp_c);
        row("submit->resp (uncorrected)", &s.resp_u);
        row("submit->receipt (corrected)", &s.rcpt_c);
        row("submit->receipt (uncorrected)", &s.rcpt_u);
    } else {
        row("submit->resp", &s.resp_u);
        row("submit->receipt", &s.rcpt_u);
    }
    let _ = writeln!(o, "\nstatuses:");
    for (cmd, st, n) in s.statuses.sorted() {
        let _ = writeln!(o, "  {:<24}{:<22}{n}", command_name(cmd), status_name(st));
    }
    let _ = writeln!(
        o,
        "receipts: requested {} expected {} received {} matched {} missing {} unknown {} duplicate {} late {} stale {}",
        c.sent_with_receipt,
        c.receipts_expected,
        c.receipts_received,
        c.receipts_matched,
        c.receipts_missing,
        c.receipts_unknown,
        c.receipts_duplicate,
        c.receipts_late,
        c.receipts_stale
    );
    if c.deliver_other + c.deliver_bad + c.conn_errors + c.unexpected + c.duplicate_message_ids > 0
    {
        let _ = writeln!(
            o,
            "other: deliver_sm non-receipt {} bad {}; unexpected responses {}; connection errors {}; duplicate message ids {}",
            c.deliver_other, c.deliver_bad, c.unexpected, c.conn_errors, c.duplicate_message_ids
        );
    }
    let threads: Vec<String> = s
        .cpu_threads_pct
        .iter()
        .map(|v| format!("{v:.0}%"))
        .collect();
    let _ = writeln!(
        o,
        "cpu: load generator threads {} of one core while sending; process {:.0}%",
        threads.join(" "),
        s.cpu_process_pct
    );
    if s.saturated {
        let _ = writeln!(
            o,
            "WARNING: load generator saturated: result is a lower bound"
        );
    }
    let _ = writeln!(o, "results: {}", s.results_dir);
    if s.pass() {
        let _ = writeln!(o, "PASS");
    } else {
        let _ = writeln!(o, "FAIL: {}", s.failures.join("; "));
    }
    o
}

// ------------------------------------------------------------------ .hgrm

/// Writes `h` (µs) as HdrHistogram's `outputPercentileDistribution` text with
/// values divided by `scale` (1000.0: milliseconds).
pub fn write_hgrm(h: &Histogram<u64>, scale: f64) -> String {
    let digits = usize::from(h.sigfig());
    let mut o = String::new();
    let _ = write!(
        o,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        let mut total = 0u64;
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = v.value_iterated_to() as f64 / scale;
            if q < 1.0 {
                let _ = writeln!(
                    o,
                    "{value:>12.digits$} {q:2.12} {total:>10} {:>14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(o, "{value:>12.digits$} {q:2.12} {total:>10}");
            }
        }
    }
    let (mean, sd, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (h.mean() / scale, h.stdev() / scale, h.max() as f64 / scale)
    };
    let _ = writeln!(
        o,
        "#[Mean    = {mean:>12.digits$}, StdDeviation   = {sd:>12.digits$}]"
    );
    let _ = writeln!(
        o,
        "#[Max     = {max:>12.digits$}, Total count    = {:>12}]",
        h.len()
    );
    let sub_buckets = (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two();
    let _ = writeln!(
        o,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        sub_buckets
    );
    o
}

/// A parsed `.hgrm`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hgrm {
    /// (value, percentile as a fraction 0..=1, total count to here).
    pub rows: Vec<(f64, f64, u64)>,
    pub mean: f64,
    pub stdev: f64,
    pub max: f64,
    pub total: u64,
}

impl Hgrm {
    /// Value at fraction `q`: the first row at or above it.
    pub fn value_at(&self, q: f64) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.1 >= q)
            .or(self.rows.last())
            .map(|r| r.0)
    }
}

fn footer_field(line: &str, key: &str) -> Option<String> {
    let at = line.find(key)? + key.len();
    let rest = line.get(at..)?.trim_start().strip_prefix('=')?;
    let end = rest.find([',', ']']).unwrap_or(rest.len());
    Some(rest.get(..end)?.trim().to_string())
}

/// Parses the text [`write_hgrm`] (or HdrHistogram, or wrk2) writes.
pub fn parse_hgrm(text: &str) -> Result<Hgrm, String> {
    let mut h = Hgrm::default();
    let mut footer = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("Value") {
            continue;
        }
        if t.starts_with("#[Mean") {
            footer = true;
            h.mean = footer_field(t, "Mean")
                .and_then(|v| v.parse().ok())
                .ok_or("bad Mean line")?;
            h.stdev = footer_field(t, "StdDeviation")
                .and_then(|v| v.parse().ok())
                .ok_or("bad StdDeviation")?;
        } else if t.starts_with("#[Max") {
            h.max = footer_field(t, "Max")
                .and_then(|v| v.parse().ok())
                .ok_or("bad Max line")?;
            h.total = footer_field(t, "Total count")
                .and_then(|v| v.parse().ok())
                .ok_or("bad Total count")?;
        } else if t.starts_with('#') {
            continue;
        } else {
            let cols: Vec<&str> = t.split_whitespace().collect();
            if cols.len() < 3 {
                return Err(format!("bad .hgrm row {t:?}"));
            }
            let v: f64 = cols[0].parse().map_err(|_| format!("bad value in {t:?}"))?;
            let q: f64 = cols[1]
                .parse()
                .map_err(|_| format!("bad percentile in {t:?}"))?;
            let n: u64 = cols[2].parse().map_err(|_| format!("bad count in {t:?}"))?;
            h.rows.push((v, q, n));
        }
    }
    if !footer {
        return Err("no #[Mean ...] footer".into());
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_hist;

    #[test]
    fn hgrm_round_trip() {
        let mut h = new_hist();
        for v in 1..=10_000u64 {
            h.saturating_record(v);
        }
        let text = write_hgrm(&h, 1000.0);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
        assert!(
            text.contains("#[Mean    =        5.001, StdDeviation   =        2.887]"),
            "{text}"
        );
        assert!(
            text.contains("#[Max     =       10.007, Total count    =        10000]"),
            "{text}"
        );
        assert!(text.contains("#[Buckets = "));
        let p = parse_hgrm(&text).unwrap();
        assert_eq!(p.total, 10_000);
        assert_eq!(p.rows.first().map(|r| r.1), Some(0.0));
        assert_eq!(p.rows.last().map(|r| (r.1, r.2)), Some((1.0, 10_000)));
        assert!((p.value_at(0.5).unwrap() - 5.0).abs() < 0.01);
        assert!((p.value_at(0.99).unwrap() - 9.9).abs() < 0.02);
        // Rows are monotonic.
        assert!(p
            .rows
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1 && w[0].2 <= w[1].2));
    }

    #[test]
    fn hgrm_empty_and_foreign() {
        let text = write_hgrm(&new_hist(), 1000.0);
        let p = parse_hgrm(&text).unwrap();
        assert!(p.rows.is_empty());
        assert_eq!(p.total, 0);
        // A wrk2-style file.
        let wrk2 = "       Value   Percentile   TotalCount 1/(1-Percentile)\n\n       0.921     0.000000            1         1.00\n       1.000     1.000000         1000\n#[Mean    =        0.950, StdDeviation   =        0.010]\n#[Max     =        1.000, Total count    =         1000]\n#[Buckets =           27, SubBuckets     =         2048]\n";
        let p = parse_hgrm(wrk2).unwrap();
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.total, 1000);
        assert!(parse_hgrm("garbage").is_err());
    }

    #[test]
    fn json_parses_back() {
        let mut h = new_hist();
        h.saturating_record(120);
        h.saturating_record(2500);
        let mut st = StatusCounts::default();
        st.add(CommandId::SUBMIT_SM_RESP.0, 0, 5);
        st.add(CommandId::SUBMIT_SM_RESP.0, 0x58, 1);
        let s = Summary {
            params: vec![
                ("addr".into(), "127.0.0.1:1".into()),
                ("mix".into(), "q\"uote\\".into()),
            ],
            open_loop: true,
            results_dir: "results/x".into(),
            duration_s: 2.5,
            throughput: 1234.5,
            offered_rate: 2000,
            counters: Counters {
                sent: 6,
                answered: 6,
                ok: 5,
                failed: 1,
                ..Counters::default()
            },
            statuses: st,
            error_rate: 1.0 / 6.0,
            resp_c: Lat::of(&h),
            resp_u: Lat::of(&h),
            rcpt_c: Lat::default(),
            rcpt_u: Lat::default(),
            cpu_process_pct: 12.5,
            cpu_threads_pct: vec![12.0, 13.0],
            saturated: false,
            failures: vec!["error rate 0.17 > 0".into()],
        };
        let v: serde_json::Value = serde_json::from_str(&summary_json(&s)).unwrap();
        assert_eq!(v["mode"], "open");
        assert_eq!(v["params"]["mix"], "q\"uote\\");
        assert_eq!(v["throughput_per_s"].as_f64(), Some(1234.5));
        assert_eq!(v["submits"]["failed"], 1);
        assert_eq!(
            v["latency_us"]["submit_resp"]["corrected"]["max"].as_u64(),
            Some(h.max())
        );
        assert_eq!(v["statuses"][1]["name"], "ESME_RTHROTTLED");
        assert_eq!(v["statuses"][0]["command"], "submit_sm_resp");
        assert!((v["error_rate"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(v["cpu"]["threads_pct"][1].as_f64(), Some(13.0));
        assert_eq!(v["pass"], false);
        let table = summary_table(&s);
        assert!(table.contains("FAIL: error rate"));
        assert!(table.contains("submit->resp (corrected)"));
    }
}
