//! HdrHistogram percentile distributions (`.hgrm`): the writer and the
//! parser `compare` reads them back with. The summary is in
//! [`crate::summary`].
//!
//! # .hgrm
//!
//! The text of HdrHistogram's `outputPercentileDistribution` with 5 ticks per
//! half distance and values in **milliseconds** (recorded in µs, scaling
//! ratio 1000, as wrk2 prints), ending with the `#[Mean ...]`, `#[Max ...]`
//! and `#[Buckets ...]` footer; the HdrHistogram plotter reads it as is.

use hdrhistogram::Histogram;
use std::fmt::Write as _;

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
}
