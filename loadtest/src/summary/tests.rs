//! The summary's JSON and table.

use super::*;
use crate::stats::new_hist;

fn sample() -> Summary {
    let mut h = new_hist();
    h.saturating_record(120);
    h.saturating_record(2500);
    let mut st = StatusCounts::default();
    st.add(CommandId::SUBMIT_SM_RESP.0, 0, 5);
    st.add(CommandId::SUBMIT_SM_RESP.0, 0x58, 1);
    let c = Counters {
        sent: 6,
        answered: 6,
        ok: 5,
        failed: 1,
        ..Counters::default()
    };
    let lat = LatPair {
        corrected: Lat::of(&h),
        uncorrected: Lat::of(&h),
    };
    Summary {
        version: 1,
        mode: Mode::Open,
        results_dir: "results/x".into(),
        params: [
            ("addr", "127.0.0.1:1"),
            ("mix", "q\"uote\\"),
            ("binds", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        duration_s: 2.5,
        throughput_per_s: 1234.5,
        receipts_per_s: 0.0,
        offered_rate_per_s: 2000,
        submits: Submits::of(&c),
        error_rate: 1.0 / 6.0,
        statuses: StatusRow::rows(&st),
        latency_us: Latencies {
            submit_resp: lat,
            receipt: LatPair::default(),
            ..Latencies::default()
        },
        receipts: Receipts::of(&c),
        mo_per_s: 0.0,
        mo: MoCounts::of(&c),
        queries: Queries::of(&c),
        enquire_links: Enquires::of(&c),
        query_p99_over_enquire_p99: 0.0,
        deliver_sm: DeliverSm::default(),
        connection_errors: 0,
        binds: Binds {
            requested: 2,
            bound: 2,
            failed: 0,
            setup_s: 0.012,
        },
        server: None,
        cpu: Cpu {
            process_pct: 12.5,
            threads_pct: vec![12.0, 13.0],
            saturated: false,
        },
        pass: false,
        failures: vec!["error rate 0.17 > 0".into()],
    }
}

#[test]
fn json_keeps_the_field_names() {
    let s = sample();
    let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["mode"], "open");
    assert_eq!(v["params"]["mix"], "q\"uote\\");
    assert_eq!(v["throughput_per_s"].as_f64(), Some(1234.5));
    assert_eq!(v["submits"]["failed"], 1);
    assert_eq!(v["submits"]["unanswered"], 0);
    assert_eq!(
        v["latency_us"]["submit_resp"]["corrected"]["max"].as_u64(),
        Some(s.latency_us.submit_resp.corrected.max)
    );
    assert!(v["latency_us"]["receipt"]["uncorrected"]["p99_9"].is_u64());
    assert_eq!(v["statuses"][1]["name"], "ESME_RTHROTTLED");
    assert_eq!(v["statuses"][1]["status"], "0x00000058");
    assert_eq!(v["statuses"][0]["command"], "submit_sm_resp");
    assert_eq!(v["statuses"][0]["command_id"], "0x80000004");
    assert!((v["error_rate"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert_eq!(v["cpu"]["threads_pct"][1].as_f64(), Some(13.0));
    assert_eq!(v["binds"]["bound"], 2);
    assert!(v.get("server").is_none(), "only with --server-pid");
    assert_eq!(v["pass"], false);
    // Compact, as loadtest/bench.sh greps it.
    assert!(s.to_json().contains("\"throughput_per_s\":1234.5"));
    let table = summary_table(&s);
    assert!(table.contains("FAIL: error rate"));
    assert!(table.contains("submit->resp (corrected)"));
    assert!(table.contains("2 of 2 bound"));
}

#[test]
fn json_round_trips() {
    let mut s = sample();
    s.server = Some(ServerUsage {
        pid: 42,
        cpu_s: 1.25,
        cpu_pct: 62.5,
        vm_rss_kib: 1000,
        vm_hwm_kib: 2000,
    });
    // Written with three decimals: a value that has them round-trips.
    s.latency_us.submit_resp.corrected.mean = 1311.0;
    s.latency_us.submit_resp.uncorrected.mean = 1311.0;
    let back = Summary::from_json(&s.to_json()).unwrap();
    assert_eq!(back, s);
    assert!(summary_table(&back).contains("server (pid 42): cpu 62%"));
    // Non-finite numbers are written as 0, never as null.
    s.error_rate = f64::NAN;
    s.cpu.threads_pct = vec![f64::INFINITY];
    let back = Summary::from_json(&s.to_json()).unwrap();
    assert_eq!((back.error_rate, back.cpu.threads_pct[0]), (0.0, 0.0));
    // An older or partial summary loads, missing fields at their defaults.
    let old = Summary::from_json(r#"{"version":1,"throughput_per_s":5}"#).unwrap();
    assert_eq!(old.throughput_per_s, 5.0);
    assert_eq!(old.binds, Binds::default());
    assert!(Summary::from_json("{").is_err());
}
