//! docs/grafana/smsc.json uses only metrics the server exports: every
//! `smsc_...` name in the dashboard must be in a scrape of GET /metrics
//! of a real server that has served a little traffic.
mod common;
use common::*;
use smsc::pdu::CommandId;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::Duration;

/// Every `smsc_<name>` token in `text`.
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text.get(i..).and_then(|t| t.find("smsc_")) {
        let start = i + at;
        let mut end = start + "smsc_".len();
        while end < b.len()
            && (b[end].is_ascii_lowercase() || b[end].is_ascii_digit() || b[end] == b'_')
        {
            end += 1;
        }
        // Not the tail of a longer identifier.
        let standalone =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        if standalone && end > start + "smsc_".len() {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    c.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn every_metric_the_dashboard_uses_is_exported() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grafana/smsc.json");
    let text = std::fs::read_to_string(path).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 20, "{} expressions", exprs.len());
    // The whole file, not only the expressions: template queries count.
    let used = names(&text);
    for want in [
        "smsc_submit_ok",
        "smsc_response_seconds_bucket",
        "smsc_receipts_queued",
        "smsc_conn_current",
        "smsc_resp_status",
    ] {
        assert!(used.contains(want), "the dashboard lacks {want}");
    }

    let srv = server(&[]);
    let addr =
        smsc::http::serve_metrics("127.0.0.1:0".parse().unwrap(), srv.shared().clone()).unwrap();
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.submit(sm(b"for the histogram", 0));
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(3), || s
        .snapshot()
        .latency
        .sum_ns
        .iter()
        .any(|&n| n > 0)));
    let body = scrape(addr);
    // Exported names: the first word of each sample line.
    let exported: BTreeSet<String> = body
        .lines()
        .filter(|l| l.starts_with("smsc_"))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    assert!(exported.contains("smsc_response_seconds_count"), "{body}");
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard uses metrics the server does not export: {missing:?}"
    );
    srv.stop();
}

#[test]
fn the_histogram_is_cumulative_and_counts_the_responses() {
    let srv = server(&[]);
    let addr =
        smsc::http::serve_metrics("127.0.0.1:0".parse().unwrap(), srv.shared().clone()).unwrap();
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    for _ in 0..5 {
        e.submit(sm(b"timed", 0));
    }
    let s = srv.shared().clone();
    let idx = smsc::metrics::cmd_index(CommandId::SUBMIT_SM_RESP);
    assert!(eventually(Duration::from_secs(3), || s
        .snapshot()
        .latency
        .buckets[idx]
        .iter()
        .sum::<u64>()
        == 5));
    let body = scrape(addr);
    let series: Vec<(String, u64)> = body
        .lines()
        .filter(|l| l.starts_with("smsc_response_seconds_bucket{command=\"submit_sm\""))
        .map(|l| {
            let (head, v) = l.rsplit_once(' ').unwrap();
            let le = head.split("le=\"").nth(1).unwrap().trim_end_matches("\"}");
            (le.to_string(), v.parse().unwrap())
        })
        .collect();
    assert_eq!(series.len(), smsc::metrics::LAT_BUCKETS);
    assert_eq!(series.last().unwrap(), &("+Inf".to_string(), 5));
    assert!(series.windows(2).all(|w| w[0].1 <= w[1].1), "{series:?}");
    let bounds: Vec<f64> = series[..series.len() - 1]
        .iter()
        .map(|(le, _)| le.parse().unwrap())
        .collect();
    assert!(bounds.windows(2).all(|w| (w[1] / w[0] - 2.0).abs() < 1e-9));
    assert!(body.contains("smsc_response_seconds_count{command=\"submit_sm\"} 5"));
    assert!(body.contains("smsc_response_seconds_count{command=\"bind_transceiver\"} 1"));
    srv.stop();
}
