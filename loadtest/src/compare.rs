//! `loadtest compare A B ...`: runs side by side, ratios to the first, and
//! the latency-by-percentile chart (HdrHistogram's usual plot: percentile
//! on a logarithmic 1/(1-p) axis) as a hand-written SVG, one colour per run,
//! solid for submit -> submit_sm_resp, dashed for submit -> receipt.
//!
//! Both files come from one layout ([`Chart`]: axes, ticks, curves in chart
//! coordinates): the SVG is written by hand, the PNG is rasterised in-process
//! by [`crate::raster`] (lines, a 5x7 bitmap font) and encoded with the `png`
//! crate, so no external tool is needed.

use crate::raster::{Anchor, Canvas, Rgb, WHITE};
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
        let n: String = r.name.chars().take(w - 1).collect();
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

/// One colour per run (matplotlib's tab10), in run order.
pub const COLORS: [Rgb; 8] = [
    [0x1f, 0x77, 0xb4],
    [0xd6, 0x27, 0x28],
    [0x2c, 0xa0, 0x2c],
    [0xff, 0x7f, 0x0e],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x17, 0xbe, 0xcf],
];
const GRID: Rgb = [0xdd, 0xdd, 0xdd];
const FRAME: Rgb = [0x33, 0x33, 0x33];
const INK: Rgb = [0, 0, 0];

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

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

/// One curve of the chart, in chart coordinates.
pub struct Curve {
    pub color: Rgb,
    /// Dashed: submit -> receipt; solid: submit -> submit_sm_resp.
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// The latency-by-percentile chart laid out: every position in chart
/// coordinates (the SVG's user units, origin top left). The SVG and the PNG
/// are both drawn from this, so they plot the same points.
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// Plot area: left, top, width, height.
    pub left: f64,
    pub top: f64,
    pub plot_w: f64,
    pub plot_h: f64,
    /// The latency axis is logarithmic (the curves span over two decades).
    pub log_y: bool,
    /// (x, label) of each percentile tick.
    pub xticks: Vec<(f64, &'static str)>,
    /// (y, label in ms) of each latency tick.
    pub yticks: Vec<(f64, String)>,
    pub curves: Vec<Curve>,
    /// (colour, name) of each run, for the legend.
    pub legend: Vec<(Rgb, String)>,
}

/// Longest run name shown in the legend (characters).
const LEGEND_NAME_MAX: usize = 26;

impl Chart {
    /// The y axis is linear (the usual chart) unless the curves span more
    /// than two decades, then logarithmic.
    pub fn new(runs: &[Run]) -> Chart {
        let (w, h) = (960.0, 560.0);
        let (l, r, t, b) = (80.0, 230.0, 50.0, 60.0);
        let pw = w - l - r;
        let ph = h - t - b;
        let hgrms: Vec<(usize, bool, &Hgrm)> = runs
            .iter()
            .enumerate()
            .flat_map(|(i, run)| [(i, false, &run.resp), (i, true, &run.rcpt)])
            .filter(|(_, _, hg)| !hg.rows.is_empty())
            .collect();
        let finite_x = hgrms
            .iter()
            .flat_map(|(_, _, hg)| hg.rows.iter().filter(|r| r.1 < 1.0).map(|r| px(r.1, 9.0)))
            .fold(0.0, f64::max);
        let xmax = (finite_x.ceil()).clamp(2.0, 6.0);
        let vmax = hgrms
            .iter()
            .flat_map(|c| c.2.rows.iter().map(|r| r.0))
            .fold(0.0, f64::max)
            .max(0.001);
        let vmin_pos = hgrms
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
        let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
        let xticks = labels
            .iter()
            .enumerate()
            .take(xmax as usize + 1)
            .map(|(i, lab)| (sx(i as f64), *lab))
            .collect();
        let yvals: Vec<f64> = if log_y {
            (ylo as i32..=yhi as i32).map(|e| 10f64.powi(e)).collect()
        } else {
            let step = nice_step(yhi);
            (0..=((yhi / step).round() as usize))
                .map(|i| i as f64 * step)
                .collect()
        };
        let yticks = yvals.into_iter().map(|v| (sy(v), fmt_ms(v))).collect();
        let color = |i: usize| COLORS[i % COLORS.len()];
        let curves = hgrms
            .iter()
            .map(|(i, dashed, hg)| Curve {
                color: color(*i),
                dashed: *dashed,
                points: hg
                    .rows
                    .iter()
                    .map(|(v, q, _)| (sx(px(*q, xmax)), sy(*v)))
                    .collect(),
            })
            .collect();
        let legend = runs
            .iter()
            .enumerate()
            .map(|(i, run)| (color(i), run.name.chars().take(LEGEND_NAME_MAX).collect()))
            .collect();
        Chart {
            width: w,
            height: h,
            left: l,
            top: t,
            plot_w: pw,
            plot_h: ph,
            log_y,
            xticks,
            yticks,
            curves,
            legend,
        }
    }

    fn y_title(&self) -> &'static str {
        if self.log_y {
            "Latency (ms, log scale)"
        } else {
            "Latency (ms)"
        }
    }

    /// Start of legend entry `i`: (x, y) of its colour line.
    fn legend_at(&self, i: usize) -> (f64, f64) {
        (
            self.left + self.plot_w + 16.0,
            self.top + 10.0 + 22.0 * i as f64,
        )
    }
}

const TITLE: &str = "Latency by percentile";
const X_TITLE: &str = "Percentile";
/// Dash pattern of the submit -> receipt curves (on, off).
const DASH: (f64, f64) = (6.0, 4.0);

/// The chart as SVG.
pub fn svg(runs: &[Run]) -> String {
    let c = Chart::new(runs);
    let (w, h, l, t, pw, ph) = (c.width, c.height, c.left, c.top, c.plot_w, c.plot_h);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{TITLE} (solid: submit→submit_sm_resp, dashed: submit→receipt)</text>"#,
        l + pw / 2.0
    );
    // Grid and x ticks.
    for (x, lab) in &c.xticks {
        let _ = writeln!(
            o,
            r#"<line x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{:.1}" stroke="{}"/>"#,
            t + ph,
            hex(GRID)
        );
        let _ = writeln!(
            o,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{lab}</text>"#,
            t + ph + 18.0
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{X_TITLE}</text>"#,
        l + pw / 2.0,
        h - 18.0
    );
    // y ticks.
    for (y, lab) in &c.yticks {
        let _ = writeln!(
            o,
            r#"<line x1="{l}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}"/>"#,
            l + pw,
            hex(GRID)
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{lab}</text>"#,
            l - 6.0,
            y + 4.0,
        );
    }
    let _ = writeln!(
        o,
        r#"<text transform="translate(20,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        t + ph / 2.0,
        c.y_title()
    );
    let _ = writeln!(
        o,
        r#"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="{}"/>"#,
        hex(FRAME)
    );
    // Curves.
    for curve in &c.curves {
        let mut pts = String::new();
        for (x, y) in &curve.points {
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let dash = if curve.dashed {
            format!(r#" stroke-dasharray="{},{}""#, DASH.0, DASH.1)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            hex(curve.color),
            pts.trim_end()
        );
    }
    // Legend.
    for (i, (color, name)) in c.legend.iter().enumerate() {
        let (lx, y) = c.legend_at(i);
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="3"/>"#,
            lx + 24.0,
            hex(*color)
        );
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 30.0,
            y + 4.0,
            esc(name)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// Pixels per chart unit in the PNG (2: a sharp image at twice the SVG's size).
pub const PNG_SCALE: usize = 2;

/// The same chart rasterised, `scale` pixels per chart unit; the 5x7 font
/// is drawn at `scale` (tick labels, legend) or `scale` + 1 (title), about
/// the SVG's 12 and 16 units.
pub fn raster(runs: &[Run], scale: usize) -> Canvas {
    let c = Chart::new(runs);
    let k = scale.max(1) as f64;
    let fs = scale.max(1);
    let p = |v: f64| (v * k).round() as i64;
    let mut img = Canvas::new(
        (c.width * k).round() as usize,
        (c.height * k).round() as usize,
        WHITE,
    );
    let (l, t, pw, ph) = (c.left, c.top, c.plot_w, c.plot_h);
    let mid = l + pw / 2.0;
    img.text(p(mid), p(22.0), TITLE, fs + 1, Anchor::Middle, INK);
    img.text(
        p(mid),
        p(38.0),
        "solid: submit->submit_sm_resp, dashed: submit->receipt",
        fs,
        Anchor::Middle,
        INK,
    );
    for (x, lab) in &c.xticks {
        img.thin_line(p(*x), p(t), p(*x), p(t + ph), GRID);
        img.text(p(*x), p(t + ph + 18.0), lab, fs, Anchor::Middle, INK);
    }
    img.text(p(mid), p(c.height - 18.0), X_TITLE, fs, Anchor::Middle, INK);
    for (y, lab) in &c.yticks {
        img.thin_line(p(l), p(*y), p(l + pw), p(*y), GRID);
        img.text(p(l - 6.0), p(y + 4.0), lab, fs, Anchor::End, INK);
    }
    img.text_up(p(24.0), p(t + ph / 2.0), c.y_title(), fs, INK);
    // Frame.
    let (x0, y0, x1, y1) = (p(l), p(t), p(l + pw), p(t + ph));
    img.thin_line(x0, y0, x1, y0, FRAME);
    img.thin_line(x1, y0, x1, y1, FRAME);
    img.thin_line(x1, y1, x0, y1, FRAME);
    img.thin_line(x0, y1, x0, y0, FRAME);
    for curve in &c.curves {
        let pts: Vec<(f64, f64)> = curve.points.iter().map(|(x, y)| (x * k, y * k)).collect();
        let dash = curve.dashed.then_some((DASH.0 * k, DASH.1 * k));
        img.polyline(&pts, 2.0 * k, curve.color, dash);
    }
    for (i, (color, name)) in c.legend.iter().enumerate() {
        let (lx, y) = c.legend_at(i);
        img.polyline(
            &[(lx * k, y * k), ((lx + 24.0) * k, y * k)],
            3.0 * k,
            *color,
            None,
        );
        img.text(p(lx + 30.0), p(y + 4.0), name, fs, Anchor::Start, INK);
    }
    img
}

/// The chart as a PNG file, [`PNG_SCALE`] pixels per chart unit.
pub fn png(runs: &[Run]) -> Result<Vec<u8>, String> {
    raster(runs, PNG_SCALE).to_png()
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
    std::fs::write(&path, svg(&runs)).map_err(|e| format!("write {}: {e}", path.display()))?;
    println!("plot: {}", path.display());
    let png_path = dir.join("compare.png");
    let bytes = png(&runs).map_err(|e| format!("{}: {e}", png_path.display()))?;
    std::fs::write(&png_path, bytes).map_err(|e| format!("write {}: {e}", png_path.display()))?;
    println!("plot: {}", png_path.display());
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

    /// Decodes a PNG: (width, height, RGB pixels).
    fn decode(bytes: Vec<u8>) -> (usize, usize, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    #[test]
    fn png_draws_the_chart() {
        let runs = [run("fast", 1000.0, 1.0), run("slow", 1.0, 20.0)];
        let chart = Chart::new(&runs);
        let (w, h, px) = decode(png(&runs).unwrap());
        assert_eq!((w, h), (960 * PNG_SCALE, 560 * PNG_SCALE));
        let at = |x: usize, y: usize| -> Rgb {
            let i = (y * w + x) * 3;
            [px[i], px[i + 1], px[i + 2]]
        };
        assert_eq!(at(0, 0), WHITE, "white background");
        assert_eq!(at(w - 1, h - 1), WHITE);
        let (fast, slow) = (COLORS[0], COLORS[1]);
        for c in [fast, slow] {
            let n = px.chunks(3).filter(|p| *p == c).count();
            assert!(n > 500, "{c:?}: {n} pixels");
        }
        // The 90% column: the slower run's curve lies above the faster one's.
        let k = PNG_SCALE as f64;
        let x = (chart.xticks[1].0 * k) as usize + 1;
        let (top, bottom) = (
            (chart.top * k) as usize,
            ((chart.top + chart.plot_h) * k) as usize,
        );
        let first = |c: Rgb| (top..=bottom).find(|y| at(x, *y) == c);
        let (yf, ys) = (first(fast).unwrap(), first(slow).unwrap());
        assert!(ys + 20 < yf, "slow at y {ys}, fast at y {yf}");
        // ... where the shared mapping puts it: the slow curve's 90% point.
        let (cx, cy) = chart.curves[2].points[2];
        assert_eq!(chart.curves[2].color, slow);
        assert_eq!(at((cx * k) as usize, (cy * k) as usize), slow);
        // Tick labels and the legend's names are drawn in black.
        let ink = |x0: f64, y0: f64, x1: f64, y1: f64| {
            let (x0, y0, x1, y1) = (
                (x0 * k) as usize,
                (y0 * k) as usize,
                (x1 * k) as usize,
                (y1 * k) as usize,
            );
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|(x, y)| at(*x, *y) == INK)
                .count()
        };
        let (lx, ly) = chart.legend_at(1);
        assert!(
            ink(lx + 30.0, ly - 8.0, lx + 60.0, ly + 8.0) > 20,
            "legend name"
        );
        assert_eq!(
            at(((lx + 12.0) * k) as usize, (ly * k) as usize),
            slow,
            "legend line"
        );
        assert!(
            ink(
                0.0,
                chart.top + chart.plot_h + 5.0,
                chart.width,
                chart.height
            ) > 100,
            "x labels"
        );
        assert!(
            ink(0.0, chart.top, chart.left, chart.top + chart.plot_h) > 100,
            "y labels"
        );
    }

    #[test]
    fn compare_writes_svg_and_png() {
        let base = std::env::temp_dir().join(format!("loadtest-compare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let mut dirs = Vec::new();
        for name in ["one", "two"] {
            let d = base.join(name);
            std::fs::create_dir_all(&d).unwrap();
            let mut hist = crate::stats::new_hist();
            for v in 1..=1000u64 {
                hist.saturating_record(v * if name == "one" { 10 } else { 30 });
            }
            let hgrm = crate::report::write_hgrm(&hist, 1000.0);
            std::fs::write(d.join("submit_resp.hgrm"), &hgrm).unwrap();
            std::fs::write(d.join("receipt.hgrm"), &hgrm).unwrap();
            std::fs::write(d.join("summary.json"), r#"{"throughput_per_s":1}"#).unwrap();
            dirs.push(d);
        }
        let out = base.join("out");
        let svg_path = compare(&dirs, Some(&out)).unwrap();
        assert!(std::fs::read_to_string(svg_path)
            .unwrap()
            .starts_with("<svg"));
        let (w, h, px) = decode(std::fs::read(out.join("compare.png")).unwrap());
        assert_eq!((w, h), (960 * PNG_SCALE, 560 * PNG_SCALE));
        assert!(px.chunks(3).any(|p| p == COLORS[1]));
        let _ = std::fs::remove_dir_all(&base);
    }
}
