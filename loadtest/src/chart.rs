//! The `compare` chart, drawn with plotters: latency by percentile on
//! HdrHistogram's usual logarithmic 1/(1-p) axis, one colour per run, solid
//! for submit -> submit_sm_resp, dashed for submit -> receipt, dotted for
//! submit -> MO (ESME-to-ESME runs). The latency
//! axis turns logarithmic when the curves span more than two decades.
//!
//! One description ([`Layout`] and [`draw`]) feeds both backends: the SVG
//! backend for `compare.svg` and the bitmap backend, at [`PNG_SCALE`] times
//! the size, for `compare.png`. Text is set in DejaVu Sans, embedded in the
//! binary and registered with plotters' `ab_glyph` font support, so the PNG
//! needs no fonts on the machine (and the SVG's text is measured with it).

use crate::compare::Run;
use crate::report::Hgrm;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::ops::Range;
use std::sync::Once;

/// The SVG's size; the PNG is [`PNG_SCALE`] times larger.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 560;
/// Pixels per SVG unit in the PNG (2: sharp at twice the SVG's size).
pub const PNG_SCALE: u32 = 2;

/// One colour per run (matplotlib's tab10), in run order.
pub const COLORS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const FONT: &str = "sans-serif";
/// Longest run name shown in the legend (characters).
const LEGEND_NAME_MAX: usize = 26;
/// Percentile tick labels at x = 0, 1, 2, ... (x = log10(1/(1-p))).
const X_LABELS: [&str; 7] = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];

/// Registers the embedded font under the family name the chart uses
/// (plotters' `ab_glyph` support has no system font to fall back to).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err()
        {
            eprintln!("loadtest: the embedded DejaVu Sans font did not load");
        }
    });
}

/// x of a percentile fraction on the log axis: log10(1/(1-p)), capped.
fn px(q: f64, xmax: f64) -> f64 {
    if q >= 1.0 {
        xmax
    } else {
        (1.0 / (1.0 - q)).log10().min(xmax)
    }
}

/// Which latency a curve shows (its line style).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Line {
    /// Solid: submit -> submit_sm_resp.
    Resp,
    /// Dashed: submit -> receipt.
    Receipt,
    /// Dotted: submit -> MO at the receiving account.
    Mo,
}

/// One curve: (x on the percentile axis, latency in ms).
pub struct Curve {
    pub run: usize,
    pub line: Line,
    pub points: Vec<(f64, f64)>,
}

/// What the chart shows, independent of the backend.
pub struct Layout {
    /// Percentile axis 0..xmax (2 = 99%, ... 6 = 99.9999%).
    pub xmax: f64,
    /// Latency axis range in ms, logarithmic or linear.
    pub y: Range<f64>,
    pub log_y: bool,
    pub curves: Vec<Curve>,
    pub names: Vec<String>,
}

impl Layout {
    pub fn new(runs: &[Run]) -> Layout {
        let hgrms: Vec<(usize, Line, &Hgrm)> = runs
            .iter()
            .enumerate()
            .flat_map(|(i, run)| {
                [
                    (i, Line::Resp, &run.resp),
                    (i, Line::Receipt, &run.rcpt),
                    (i, Line::Mo, &run.mo),
                ]
            })
            .filter(|(_, _, hg)| !hg.rows.is_empty())
            .collect();
        let finite_x = hgrms
            .iter()
            .flat_map(|(_, _, hg)| hg.rows.iter().filter(|r| r.1 < 1.0).map(|r| px(r.1, 9.0)))
            .fold(0.0, f64::max);
        let xmax = finite_x.ceil().clamp(2.0, 6.0);
        let values = || hgrms.iter().flat_map(|c| c.2.rows.iter().map(|r| r.0));
        let vmax = values().fold(0.0, f64::max).max(0.001);
        let vmin = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        let log_y = vmin.is_finite() && vmax / vmin > 100.0;
        let (y, floor) = if log_y {
            let lo = 10f64.powf(vmin.log10().floor());
            (lo..10f64.powf(vmax.log10().ceil()), lo)
        } else {
            (0.0..vmax * 1.05, 0.0)
        };
        let curves = hgrms
            .iter()
            .map(|(i, line, hg)| Curve {
                run: *i,
                line: *line,
                points: hg
                    .rows
                    .iter()
                    .map(|(v, q, _)| (px(*q, xmax), v.max(floor)))
                    .collect(),
            })
            .collect();
        let names = runs
            .iter()
            .map(|r| r.name.chars().take(LEGEND_NAME_MAX).collect())
            .collect();
        Layout {
            xmax,
            y,
            log_y,
            curves,
            names,
        }
    }
}

pub fn color(run: usize) -> RGBColor {
    COLORS[run % COLORS.len()]
}

/// Latency tick label in ms: as many digits as the value needs.
fn fmt_ms(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    }
}

/// The plot area's pixels (x, y) of a drawn chart: where the curves are.
pub type PlotPixels = (Range<i32>, Range<i32>);

/// Draws the chart on `root`, every size times `k` (1: the SVG, 2: the PNG).
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    l: &Layout,
    k: u32,
) -> Result<PlotPixels, String> {
    register_font();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    if l.log_y {
        plot(root, l, k, l.y.clone().log_scale())
    } else {
        plot(root, l, k, l.y.clone())
    }
}

fn plot<DB, Y>(
    root: &DrawingArea<DB, Shift>,
    l: &Layout,
    k: u32,
    y: Y,
) -> Result<PlotPixels, String>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let s = |v: u32| v * k;
    let font = |size: u32| (FONT, s(size)).into_font();
    let mut chart = ChartBuilder::on(root)
        .caption(
            if l.curves.iter().any(|c| c.line == Line::Mo) {
                "Latency by percentile (solid: submit→resp, dashed: →receipt, dotted: →MO)"
            } else {
                "Latency by percentile (solid: submit→submit_sm_resp, dashed: submit→receipt)"
            },
            font(16),
        )
        .margin(s(16))
        // Room for the last percentile label, centred on the right edge.
        .margin_right(s(36))
        .x_label_area_size(s(44))
        .y_label_area_size(s(64))
        .build_cartesian_2d(0.0..l.xmax, y)
        .map_err(e)?;
    chart
        .configure_mesh()
        .bold_line_style(GRID.stroke_width(s(1)))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.mix(0.8).stroke_width(s(1)))
        .x_desc("Percentile")
        .y_desc(if l.log_y {
            "Latency (ms, log scale)"
        } else {
            "Latency (ms)"
        })
        // One tick per decade of 1/(1-p): xmax + 1 labels fall on the integers.
        .x_labels(l.xmax as usize + 1)
        .x_label_formatter(&|x| {
            let i = x.round();
            let label = X_LABELS
                .get(i.max(0.0) as usize)
                .filter(|_| (x - i).abs() < 1e-9);
            label.copied().unwrap_or("").to_string()
        })
        .y_label_formatter(&|v| fmt_ms(*v))
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()
        .map_err(e)?;
    for c in &l.curves {
        let style = color(c.run).stroke_width(s(2));
        if c.line != Line::Resp {
            let (dash, gap) = if c.line == Line::Mo { (2, 3) } else { (6, 4) };
            chart
                .draw_series(DashedLineSeries::new(
                    c.points.iter().copied(),
                    s(dash),
                    s(gap),
                    style,
                ))
                .map_err(e)?;
        } else {
            let name = l.names.get(c.run).cloned().unwrap_or_default();
            chart
                .draw_series(LineSeries::new(c.points.iter().copied(), style))
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + s(24) as i32, y)], style.stroke_width(s(3)))
                });
        }
    }
    // The two line styles, in black, after the runs.
    let ink = BLACK.stroke_width(s(2));
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(e)?
        .label("submit→submit_sm_resp")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + s(24) as i32, y)], ink));
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(e)?
        .label("submit→receipt")
        .legend(move |(x, y)| {
            DashedPathElement::new([(x, y), (x + s(24) as i32, y)], s(6), s(4), ink)
        });
    if l.curves.iter().any(|c| c.line == Line::Mo) {
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(e)?
            .label("submit→MO")
            .legend(move |(x, y)| {
                DashedPathElement::new([(x, y), (x + s(24) as i32, y)], s(2), s(3), ink)
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .margin(s(10))
        .legend_area_size(s(30))
        .label_font(font(12))
        .background_style(WHITE.mix(0.85))
        .border_style(GRID.stroke_width(s(1)))
        .draw()
        .map_err(e)?;
    let pixels = chart.plotting_area().get_pixel_range();
    root.present().map_err(e)?;
    Ok(pixels)
}

/// The chart as SVG text.
pub fn svg(runs: &[Run]) -> Result<String, String> {
    let layout = Layout::new(runs);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, &layout, 1)?;
    }
    Ok(out)
}

/// The chart drawn into an RGB buffer, [`PNG_SCALE`] times the SVG's size:
/// (width, height, pixels, plot area).
pub fn rgb(runs: &[Run]) -> Result<(u32, u32, Vec<u8>, PlotPixels), String> {
    let (w, h) = (WIDTH * PNG_SCALE, HEIGHT * PNG_SCALE);
    let layout = Layout::new(runs);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let pixels = {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root, &layout, PNG_SCALE)?
    };
    Ok((w, h, buf, pixels))
}

/// The chart as a PNG file (the `png` crate encodes the RGB buffer).
pub fn png(runs: &[Run]) -> Result<Vec<u8>, String> {
    let (w, h, buf, _) = rgb(runs)?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().map_err(|e| e.to_string())?;
        wr.write_image_data(&buf).map_err(|e| e.to_string())?;
        wr.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
