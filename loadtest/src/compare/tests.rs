use super::*;
use crate::chart::{self, color, Layout, COLORS, HEIGHT, PNG_SCALE, WIDTH};
use crate::summary::{LatPair, Latencies};

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
    let lat = Lat {
        count: 100,
        p50: (scale * 1000.0) as u64,
        ..Lat::default()
    };
    let mut summary = Summary {
        throughput_per_s: tput,
        latency_us: Latencies {
            submit_resp: LatPair {
                corrected: lat,
                uncorrected: lat,
            },
            receipt: LatPair::default(),
            ..Latencies::default()
        },
        ..Summary::default()
    };
    summary.cpu.threads_pct = vec![50.0, 95.5];
    Run {
        name: name.into(),
        summary,
        resp: hg.clone(),
        rcpt: hg,
        mo: Hgrm::default(),
    }
}

#[test]
fn table_has_ratios() {
    let mut b = run("b", 2000.0, 2.0);
    b.summary.server = Some(crate::summary::ServerUsage {
        cpu_pct: 80.0,
        vm_hwm_kib: 2048,
        ..Default::default()
    });
    let t = table(&[run("a", 1000.0, 1.0), b]);
    assert!(t.contains("throughput"));
    assert!(t.contains("2000 (2.00x)"), "{t}");
    assert!(t.contains("2.000 (2.00x)"), "{t}");
    assert!(t.contains("95.500"), "{t}");
    // No receipts in these runs: their latency rows are empty.
    assert!(t
        .lines()
        .any(|l| l.starts_with("submit->receipt p50")
            && l.split_whitespace().skip(3).all(|c| c == "-")));
    let server = t
        .lines()
        .find(|l| l.starts_with("server peak RSS"))
        .unwrap();
    assert!(server.ends_with("2.000"), "{server}");
}

#[test]
fn svg_is_valid_and_labelled() {
    let svg = chart::svg(&[run("a&b", 1000.0, 1.0), run("c", 1.0, 500.0)]).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some(WIDTH.to_string().as_str()));
    assert_eq!(root.attribute("height"), Some(HEIGHT.to_string().as_str()));
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    for want in ["a&b", "c", "Percentile", "Latency (ms, log scale)", "99%"] {
        assert!(texts.iter().any(|t| t == want), "{want:?} in {texts:?}");
    }
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    let svg = chart::svg(&[run("x", 1.0, 1.0)]).unwrap();
    assert!(svg.contains("Latency (ms)") && !svg.contains("log scale"));
}

#[test]
fn png_draws_the_chart() {
    let runs = [run("fast", 1000.0, 1.0), run("slow", 1.0, 20.0)];
    let layout = Layout::new(&runs);
    let (w, h, px, (xs, ys)) = chart::rgb(&runs).unwrap();
    assert_eq!((w, h), (WIDTH * PNG_SCALE, HEIGHT * PNG_SCALE));
    let (w, h) = (w as usize, h as usize);
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * w + x) * 3;
        [px[i], px[i + 1], px[i + 2]]
    };
    let rgb = |c: plotters::style::RGBColor| [c.0, c.1, c.2];
    assert_eq!(at(0, 0), [255; 3], "white background");
    assert_eq!(at(w - 1, h - 1), [255; 3]);
    let (fast, slow) = (rgb(color(0)), rgb(color(1)));
    for c in [fast, slow] {
        let n = px.chunks(3).filter(|p| *p == c).count();
        assert!(n > 500, "{c:?}: {n} pixels");
    }
    // The 90% column: the slower run's curve lies above the faster one's.
    let x90 = xs.start + ((xs.end - xs.start) as f64 / layout.xmax) as i32 + 2;
    let column = |c: [u8; 3]| (ys.start..ys.end).find(|y| at(x90 as usize, *y as usize) == c);
    let (yf, ysl) = (column(fast).unwrap(), column(slow).unwrap());
    assert!(ysl + 20 < yf, "slow at y {ysl}, fast at y {yf}");
    // Text (tick labels, titles) is drawn in dark ink around the plot.
    let ink = |x0: i32, y0: i32, x1: i32, y1: i32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|(x, y)| at(*x as usize, *y as usize).iter().all(|v| *v < 100))
            .count()
    };
    assert!(
        ink(xs.start, ys.end + 4, xs.end, h as i32) > 200,
        "x labels"
    );
    assert!(ink(0, ys.start, xs.start - 4, ys.end) > 200, "y labels");
    assert!(ink(0, 0, w as i32, ys.start) > 200, "title");
}

#[test]
fn compare_writes_svg_and_png() {
    let base = std::env::temp_dir().join(format!("loadtest-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut dirs = Vec::new();
    for (name, mul) in [("one", 10), ("two", 30)] {
        let d = base.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let mut hist = crate::stats::new_hist();
        for v in 1..=1000u64 {
            hist.saturating_record(v * mul);
        }
        let hgrm = crate::report::write_hgrm(&hist, 1000.0);
        std::fs::write(d.join("submit_resp.hgrm"), &hgrm).unwrap();
        std::fs::write(d.join("receipt.hgrm"), &hgrm).unwrap();
        let s = Summary {
            throughput_per_s: mul as f64,
            ..Summary::default()
        };
        std::fs::write(d.join("summary.json"), s.to_json()).unwrap();
        dirs.push(d);
    }
    let out = base.join("out");
    let svg_path = compare(&dirs, Some(&out)).unwrap();
    let svg = std::fs::read_to_string(svg_path).unwrap();
    roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let mut r = png::Decoder::new(std::io::Cursor::new(
        std::fs::read(out.join("compare.png")).unwrap(),
    ))
    .read_info()
    .unwrap();
    let mut px = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut px).unwrap();
    assert_eq!(
        (info.width, info.height),
        (WIDTH * PNG_SCALE, HEIGHT * PNG_SCALE)
    );
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert!(px
        .chunks(3)
        .any(|p| p == [COLORS[1].0, COLORS[1].1, COLORS[1].2]));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn mo_runs_get_a_dotted_curve_and_rows() {
    let plain = run("plain", 1000.0, 1.0);
    let mut e2e = run("e2e", 500.0, 2.0);
    e2e.mo = e2e.rcpt.clone();
    e2e.summary.latency_us.mo.corrected = e2e.summary.latency_us.submit_resp.corrected;
    e2e.summary.mo_per_s = 500.0;
    e2e.summary.mo.missing = 3;
    let runs = [plain, e2e];
    let layout = Layout::new(&runs);
    let lines: Vec<(usize, chart::Line)> = layout.curves.iter().map(|c| (c.run, c.line)).collect();
    assert!(lines.contains(&(1, chart::Line::Mo)));
    assert!(
        !lines.contains(&(0, chart::Line::Mo)),
        "no MO for a plain run"
    );
    let svg = chart::svg(&runs).unwrap();
    assert!(svg.contains("submit→MO"), "legend entry");
    let t = table(&runs);
    let row = |name: &str| t.lines().find(|l| l.starts_with(name)).map(str::to_string);
    assert!(row("MO/s").is_some_and(|l| l.contains("500")), "{t}");
    assert!(row("MO missing").is_some_and(|l| l.ends_with('3')), "{t}");
    assert!(row("submit->MO p50").is_some(), "{t}");
    // Without MO runs, no MO rows and no MO legend.
    let t = table(&[run("a", 1.0, 1.0)]);
    assert!(!t.contains("MO"), "{t}");
    assert!(!chart::svg(&[run("a", 1.0, 1.0)])
        .unwrap()
        .contains("submit→MO"));
}
