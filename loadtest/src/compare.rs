//! `loadtest compare A B ...`: runs side by side, ratios to the first, and
//! the latency-by-percentile chart (HdrHistogram's usual plot: percentile
//! on a logarithmic 1/(1-p) axis) as a hand-written SVG, one colour per run,
//! solid for submit -> submit_sm_resp, dashed for submit -> receipt.
//!
//! The SVG is written by hand; the PNG is made from it by `rsvg-convert`
//! (librsvg2-bin) when that is installed, since a rasteriser and font stack
//! in-process (resvg) would be far heavier than this tool. Without it only
//! the SVG is written, and the output says so.

use crate::report::{parse_hgrm, Hgrm};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One results folder, loaded.
pub struct Run {
    pub name: String,
    pub summary: Value,
    pub resp: Hgrm,
    pub rcpt: Hgrm,
}

pub fn load(dir: &Path) -> Result<Run, String> {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let summary: Value = serde_json::from_str(&read("summary.json")?)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let resp = parse_hgrm(&read("submit_resp.hgrm")?)?;
    let rcpt = parse_hgrm(&read("receipt.hgrm")?)?;
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Run {
        name,
        summary,
        resp,
        rcpt,
    })
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

/// The comparison table (latencies in ms, ratios to the first run).
pub fn table(runs: &[Run]) -> String {
    let mut rows: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    rows.push((
        "throughput (submit_sm/s)".into(),
        runs.iter()
            .map(|r| num(&r.summary, &["throughput_per_s"]))
            .collect(),
    ));
    for (label, key) in [
        ("submit->resp", "submit_resp"),
        ("submit->receipt", "receipt"),
    ] {
        for (pl, pk) in [
            ("p50", "p50"),
            ("p90", "p90"),
            ("p99", "p99"),
            ("p99.9", "p99_9"),
            ("p99.99", "p99_99"),
            ("max", "max"),
        ] {
            rows.push((
                format!("{label} {pl} (ms)"),
                runs.iter()
                    .map(|r| {
                        let lat = &["latency_us", key, "corrected"];
                        let count = num(&r.summary, &[lat[0], lat[1], lat[2], "count"]);
                        num(&r.summary, &[lat[0], lat[1], lat[2], pk])
                            .filter(|_| count != Some(0.0))
                            .map(|v| v / 1000.0)
                    })
                    .collect(),
            ));
        }
    }
    rows.push((
        "error rate".into(),
        runs.iter()
            .map(|r| num(&r.summary, &["error_rate"]))
            .collect(),
    ));
    rows.push((
        "receipts matched".into(),
        runs.iter()
            .map(|r| num(&r.summary, &["receipts", "matched"]))
            .collect(),
    ));
    rows.push((
        "receipts missing".into(),
        runs.iter()
            .map(|r| num(&r.summary, &["receipts", "missing"]))
            .collect(),
    ));
    rows.push((
        "load gen cpu % (max thread)".into(),
        runs.iter()
            .map(|r| {
                r.summary
                    .get("cpu")
                    .and_then(|c| c.get("threads_pct"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_f64).fold(0.0, f64::max))
            })
            .collect(),
    ));
    let w = 22;
    let mut o = String::new();
    let _ = write!(o, "{:<32}", "");
    for r in runs {
        let mut n = r.name.clone();
        n.truncate(w - 1);
        let _ = write!(o, "{n:>w$}");
    }
    o.push('\n');
    for (label, vals) in rows {
        let _ = write!(o, "{label:<32}");
        let first = vals.first().copied().flatten();
        for (i, v) in vals.iter().enumerate() {
            let cell = match v {
                None => "-".to_string(),
                Some(v) => {
                    let s = if v.abs() >= 1000.0 || label.starts_with("receipts") {
                        format!("{v:.0}")
                    } else if label.starts_with("error") {
                        if *v == 0.0 {
                            "0".into()
                        } else {
                            format!("{v:.2e}")
                        }
                    } else {
                        format!("{v:.3}")
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

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// x of a percentile fraction on the log axis: log10(1/(1-p)), capped.
fn px(q: f64, xmax: f64) -> f64 {
    if q >= 1.0 {
        xmax
    } else {
        (1.0 / (1.0 - q)).log10().min(xmax)
    }
}

fn nice_step(range: f64) -> f64 {
    let raw = range / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let f = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * mag
}

/// The latency-by-percentile chart. The y axis is linear (the usual chart)
/// unless the curves span more than two decades, then logarithmic.
pub fn svg(runs: &[Run]) -> String {
    let (w, h) = (960.0, 560.0);
    let (l, r, t, b) = (80.0, 230.0, 50.0, 60.0);
    let pw = w - l - r;
    let ph = h - t - b;
    let curves: Vec<(usize, bool, &Hgrm)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| [(i, false, &run.resp), (i, true, &run.rcpt)])
        .filter(|(_, _, hg)| !hg.rows.is_empty())
        .collect();
    let finite_x = curves
        .iter()
        .flat_map(|(_, _, hg)| hg.rows.iter().filter(|r| r.1 < 1.0).map(|r| px(r.1, 9.0)))
        .fold(0.0, f64::max);
    let xmax = (finite_x.ceil()).clamp(2.0, 6.0);
    let vmax = curves
        .iter()
        .flat_map(|c| c.2.rows.iter().map(|r| r.0))
        .fold(0.0, f64::max)
        .max(0.001);
    let vmin_pos = curves
        .iter()
        .flat_map(|c| c.2.rows.iter().map(|r| r.0))
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let log_y = vmin_pos.is_finite() && vmax / vmin_pos > 100.0;
    let (ylo, yhi) = if log_y {
        (vmin_pos.log10().floor(), vmax.log10().ceil())
    } else {
        let step = nice_step(vmax);
        (0.0, (vmax / step).ceil() * step)
    };
    let sx = |x: f64| l + pw * x / xmax;
    let sy = |v: f64| {
        let y = if log_y {
            v.max(10f64.powf(ylo)).log10()
        } else {
            v
        };
        t + ph - ph * (y - ylo) / (yhi - ylo).max(1e-12)
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">Latency by percentile (solid: submit→submit_sm_resp, dashed: submit→receipt)</text>"#,
        l + pw / 2.0
    );
    // Grid and x ticks.
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
    for (i, lab) in labels.iter().enumerate().take(xmax as usize + 1) {
        let x = sx(i as f64);
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            t + ph
        );
        let _ = writeln!(
            o,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{lab}</text>"#,
            t + ph + 18.0
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">Percentile</text>"#,
        l + pw / 2.0,
        h - 18.0
    );
    // y ticks.
    let yticks: Vec<f64> = if log_y {
        (ylo as i32..=yhi as i32).map(|e| 10f64.powi(e)).collect()
    } else {
        let step = nice_step(yhi);
        (0..=((yhi / step).round() as usize))
            .map(|i| i as f64 * step)
            .collect()
    };
    for v in yticks {
        let y = sy(v);
        let _ = writeln!(
            o,
            r##"<line x1="{l}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            l + pw
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            l - 6.0,
            y + 4.0,
            fmt_ms(v)
        );
    }
    let _ = writeln!(
        o,
        r#"<text transform="translate(20,{:.1}) rotate(-90)" text-anchor="middle">Latency (ms{})</text>"#,
        t + ph / 2.0,
        if log_y { ", log scale" } else { "" }
    );
    let _ = writeln!(
        o,
        r##"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    // Curves.
    for (i, dashed, hg) in &curves {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        for (v, q, _) in &hg.rows {
            let _ = write!(pts, "{:.1},{:.1} ", sx(px(*q, xmax)), sy(*v));
        }
        let dash = if *dashed {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        };
        let _ = writeln!(
            o,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{}"/>"#,
            pts.trim_end()
        );
    }
    // Legend.
    let lx = l + pw + 16.0;
    for (i, run) in runs.iter().enumerate() {
        let y = t + 10.0 + 22.0 * i as f64;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="3"/>"#,
            lx + 24.0
        );
        let mut name = run.name.clone();
        name.truncate(26);
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 30.0,
            y + 4.0,
            esc(&name)
        );
    }
    o.push_str("</svg>\n");
    o
}

fn fmt_ms(v: f64) -> String {
    if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    }
}

/// Runs `compare`: prints the table, writes compare.svg; returns its path.
pub fn compare(dirs: &[PathBuf], out: Option<&Path>) -> Result<PathBuf, String> {
    let runs = dirs
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()?;
    print!("{}", table(&runs));
    let dir = out.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = dir.join("compare.svg");
    std::fs::write(&path, svg(&runs)).map_err(|e| format!("write {}: {e}", path.display()))?;
    println!("plot: {}", path.display());
    let png = dir.join("compare.png");
    match std::process::Command::new("rsvg-convert")
        .arg(&path)
        .arg("-o")
        .arg(&png)
        .status()
    {
        Ok(st) if st.success() => println!("plot: {}", png.display()),
        _ => println!("(no compare.png: rsvg-convert, from librsvg2-bin, is not available)"),
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, tput: f64, scale: f64) -> Run {
        let rows: Vec<(f64, f64, u64)> = [(0.0, 1), (0.5, 50), (0.9, 90), (0.99, 99), (1.0, 100)]
            .iter()
            .map(|(q, n)| (scale * (1.0 + 10.0 * q), *q, *n))
            .collect();
        let hg = Hgrm {
            rows,
            mean: scale,
            stdev: 0.0,
            max: 11.0 * scale,
            total: 100,
        };
        let summary: Value = serde_json::from_str(&format!(
            r#"{{"throughput_per_s":{tput},"latency_us":{{"submit_resp":{{"corrected":{{"p50":{}}}}}}},"cpu":{{"threads_pct":[50,95.5]}}}}"#,
            scale * 1000.0
        ))
        .unwrap();
        Run {
            name: name.into(),
            summary,
            resp: hg.clone(),
            rcpt: hg,
        }
    }

    #[test]
    fn table_has_ratios() {
        let t = table(&[run("a", 1000.0, 1.0), run("b", 2000.0, 2.0)]);
        assert!(t.contains("throughput"));
        assert!(t.contains("2000 (2.00x)"), "{t}");
        assert!(t.contains("2.000 (2.00x)"), "{t}");
        assert!(t.contains("95.500"), "{t}");
    }

    #[test]
    fn svg_is_well_formed() {
        let s = svg(&[run("a&b", 1000.0, 1.0), run("c", 1.0, 500.0)]);
        assert!(s.starts_with("<svg"));
        assert!(s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 4);
        assert!(s.contains("a&amp;b"));
        assert!(s.contains("log scale"), "spans > 2 decades");
        assert!(!s.contains("NaN") && !s.contains("inf"));
        let s = svg(&[run("x", 1.0, 1.0)]);
        assert!(!s.contains("log scale"));
    }
}
