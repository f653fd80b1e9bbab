//! `loadtest compare A B ...`: runs side by side with ratios to the first,
//! and the latency-by-percentile chart ([`crate::chart`]) as `compare.svg`
//! and `compare.png`.

use crate::report::{parse_hgrm, Hgrm};
use crate::summary::{Lat, Summary};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One results folder, loaded.
pub struct Run {
    pub name: String,
    pub summary: Summary,
    pub resp: Hgrm,
    pub rcpt: Hgrm,
    /// ESME-to-ESME runs: submit -> MO (empty for other runs and older folders).
    pub mo: Hgrm,
}

pub fn load(dir: &Path) -> Result<Run, String> {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let summary = Summary::from_json(&read("summary.json")?)
        .map_err(|e| format!("{}: {e}", dir.join("summary.json").display()))?;
    let resp = parse_hgrm(&read("submit_resp.hgrm")?)?;
    let rcpt = parse_hgrm(&read("receipt.hgrm")?)?;
    // Results folders from before the ESME-to-ESME mode have none.
    let mo = match read("mo.hgrm") {
        Ok(text) => parse_hgrm(&text)?,
        Err(_) => Hgrm::default(),
    };
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Run {
        name,
        summary,
        resp,
        rcpt,
        mo,
    })
}

/// How a row's cells are printed.
#[derive(Clone, Copy, PartialEq)]
enum Fmt {
    /// Three decimals below 1000, none above.
    Num,
    /// A whole number.
    Count,
    /// 0, or scientific.
    Rate,
}

type Row = (String, Fmt, Vec<Option<f64>>);

fn row(label: &str, fmt: Fmt, runs: &[Run], f: impl Fn(&Summary) -> Option<f64>) -> Row {
    (
        label.to_string(),
        fmt,
        runs.iter().map(|r| f(&r.summary)).collect(),
    )
}

/// The comparison table (latencies in ms, ratios to the first run).
pub fn table(runs: &[Run]) -> String {
    let mut rows: Vec<Row> = vec![
        row("throughput (submit_sm/s)", Fmt::Num, runs, |s| {
            Some(s.throughput_per_s)
        }),
        row("receipts/s", Fmt::Num, runs, |s| Some(s.receipts_per_s)),
    ];
    let any = |f: fn(&Summary) -> bool| runs.iter().any(|r| f(&r.summary));
    let mo = any(|s| s.latency_us.mo.corrected.count > 0);
    if mo {
        rows.push(row("MO/s", Fmt::Num, runs, |s| Some(s.mo_per_s)));
    }
    type Pick = fn(&Summary) -> &Lat;
    let mut lats: Vec<(&str, Pick)> = vec![
        ("submit->resp", |s| &s.latency_us.submit_resp.corrected),
        ("submit->receipt", |s| &s.latency_us.receipt.corrected),
    ];
    if mo {
        lats.push(("submit->MO", |s| &s.latency_us.mo.corrected));
    }
    if any(|s| s.latency_us.query.count > 0) {
        lats.push(("query_sm", |s| &s.latency_us.query));
        lats.push(("enquire_link", |s| &s.latency_us.enquire_link));
    }
    for (label, pick) in lats {
        for (i, pl) in ["p50", "p90", "p99", "p99.9", "p99.99", "max"]
            .iter()
            .enumerate()
        {
            rows.push(row(&format!("{label} {pl} (ms)"), Fmt::Num, runs, |s| {
                let l = pick(s);
                (l.count > 0).then(|| l.points()[i].1 as f64 / 1000.0)
            }));
        }
    }
    rows.extend([
        row("error rate", Fmt::Rate, runs, |s| Some(s.error_rate)),
        row("receipts matched", Fmt::Count, runs, |s| {
            Some(s.receipts.matched as f64)
        }),
        row("receipts missing", Fmt::Count, runs, |s| {
            Some(s.receipts.missing as f64)
        }),
    ]);
    if mo {
        rows.extend([
            row("MO matched", Fmt::Count, runs, |s| {
                Some(s.mo.matched as f64)
            }),
            row("MO missing", Fmt::Count, runs, |s| {
                Some(s.mo.missing as f64)
            }),
        ]);
    }
    rows.extend([
        row("binds bound", Fmt::Count, runs, |s| {
            (s.binds.requested > 0).then_some(s.binds.bound as f64)
        }),
        row("load gen cpu % (max thread)", Fmt::Num, runs, |s| {
            Some(s.cpu.threads_pct.iter().copied().fold(0.0, f64::max))
        }),
    ]);
    if runs.iter().any(|r| r.summary.server.is_some()) {
        rows.extend([
            row("server cpu % (one core = 100)", Fmt::Num, runs, |s| {
                s.server.map(|v| v.cpu_pct)
            }),
            row("server peak RSS (MiB)", Fmt::Num, runs, |s| {
                s.server.map(|v| v.vm_hwm_kib as f64 / 1024.0)
            }),
        ]);
    }
    let w = 22;
    let mut o = String::new();
    let _ = write!(o, "{:<32}", "");
    for r in runs {
        let n: String = r.name.chars().take(w - 1).collect();
        let _ = write!(o, "{n:>w$}");
    }
    o.push('\n');
    for (label, fmt, vals) in rows {
        let _ = write!(o, "{label:<32}");
        let first = vals.first().copied().flatten();
        for (i, v) in vals.iter().enumerate() {
            let cell = match v {
                None => "-".to_string(),
                Some(v) => {
                    let s = match fmt {
                        Fmt::Count => format!("{v:.0}"),
                        Fmt::Rate if *v == 0.0 => "0".into(),
                        Fmt::Rate => format!("{v:.2e}"),
                        Fmt::Num if v.abs() >= 1000.0 => format!("{v:.0}"),
                        Fmt::Num => format!("{v:.3}"),
                    };
                    match first {
                        Some(f) if i > 0 && f != 0.0 => format!("{s} ({:.2}x)", v / f),
                        _ => s,
                    }
                }
            };
            let _ = write!(o, "{cell:>w$}");
        }
        o.push('\n');
    }
    o
}

/// Runs `compare`: prints the table, writes compare.svg and compare.png;
/// returns the SVG's path.
pub fn compare(dirs: &[PathBuf], out: Option<&Path>) -> Result<PathBuf, String> {
    let runs = dirs
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()?;
    print!("{}", table(&runs));
    let dir = out.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = dir.join("compare.svg");
    let svg = crate::chart::svg(&runs).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(&path, svg).map_err(|e| format!("write {}: {e}", path.display()))?;
    println!("plot: {}", path.display());
    let png_path = dir.join("compare.png");
    let bytes = crate::chart::png(&runs).map_err(|e| format!("{}: {e}", png_path.display()))?;
    std::fs::write(&png_path, bytes).map_err(|e| format!("write {}: {e}", png_path.display()))?;
    println!("plot: {}", png_path.display());
    Ok(path)
}

#[cfg(test)]
mod tests;
