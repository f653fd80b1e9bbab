//! The ESME-to-ESME mode against the real smsc server (in-process,
//! 127.0.0.1:0, two loops): account `a` submits to 4479..., owned by `b`,
//! whose RX binds receive every message as an MO; `a` gets the receipts;
//! query_sm and enquire_link go alongside. Every MO and receipt must be
//! accounted for, and the window (over MO completion, not just
//! submit_sm_resp) must keep the server's store from filling.

use clap::Parser;
use loadtest::run::run;
use std::time::{Duration, Instant};

mod common;
use common::{out_dir, run_args};

#[test]
fn every_mo_and_receipt_accounted_for() {
    smsc::log::set_quiet(true);
    let cfg = smsc::config::Config::from_args(smsc::config::Args::parse_from([
        "smsc",
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "2",
        "--account",
        "a:pw",
        "--account",
        "b:pw2",
        "--route",
        "4479=b",
        // Small: a load test that over-runs the MO deliveries fills it
        // (ESME_RMSGQFUL); 4 x 16 messages in flight fit easily, and the
        // 2 x 1,024 ids a query picks from are still held.
        "--message-store",
        "8192",
        "--stats-interval",
        "0",
        "--shutdown-grace",
        "300ms",
    ]))
    .unwrap();
    let srv = smsc::server::Server::start(cfg).unwrap();
    let dir = out_dir("e2e");
    let a = run_args(
        srv.local_addr(),
        &dir,
        &[
            "--system-id",
            "a",
            "--password",
            "pw",
            "--binds",
            "4",
            "--window",
            "16",
            "--mo-system-id",
            "b",
            "--mo-password",
            "pw2",
            "--mo-prefix",
            "4479",
            "--mo-binds",
            "3",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--receipts",
            "1",
            "--mix",
            "gsm7=3,ucs2=1,long=1,payload=1",
            "--threads",
            "2",
            "--query-share",
            "0.05",
            "--enquire-share",
            "0.05",
        ],
    );
    let out = run(&a).unwrap();
    let c = &out.counters;
    let s = &out.summary;
    assert!(c.sent > 500, "sent {}", c.sent);
    assert_eq!(c.ok, c.sent, "every submit accepted: {:?}", s.statuses);
    assert_eq!(
        (c.mo_missing, c.mo_unknown, c.mo_duplicate, c.mo_stale),
        (0, 0, 0, 0)
    );
    assert_eq!(c.mo_expected, c.ok, "every message tracked to its MO");
    assert_eq!(c.mo_matched, c.ok);
    assert_eq!(c.mo_received, c.ok, "one MO per message, none stray");
    assert_eq!(
        (c.receipts_missing, c.receipts_unknown, c.receipts_duplicate),
        (0, 0, 0)
    );
    assert_eq!(c.receipts_matched, c.ok);
    let lat = &s.latency_us;
    assert!(lat.mo.uncorrected.count > 0);
    assert_eq!(lat.mo.corrected, lat.mo.uncorrected, "closed loop");
    // The MO reaches B before A's receipt (B's answer makes it DELIVRD).
    assert!(lat.mo.uncorrected.p50 <= lat.receipt.uncorrected.p50);
    assert!(s.mo_per_s > 0.0);
    // The mix beside the messages: answered ESME_ROK, each timed apart.
    assert!(c.query_sent > 10 && c.enquire_sent > 10, "{c:?}");
    assert_eq!(
        (c.query_ok, c.query_failed),
        (c.query_sent, 0),
        "{:?}",
        s.statuses
    );
    assert_eq!(c.enquire_answered, c.enquire_sent);
    assert!(lat.query.count > 0 && lat.enquire_link.count > 0);
    assert!(s.query_p99_over_enquire_p99 > 0.0);
    assert_eq!(out.exit_code, 0, "{:?}", s.failures);
    assert!(s.failures.is_empty());
    // The MO histograms and interval logs were written.
    for f in ["mo.hgrm", "query.hgrm", "enquire_link.hgrm"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(text.contains("#[Mean"), "{f}");
    }
    let (_, ivs) = loadtest::hlog::read(&std::fs::read(dir.join("mo.hlog")).unwrap()).unwrap();
    let total: u64 = ivs.iter().map(|i| i.hist.len()).sum();
    assert_eq!(total, lat.mo.corrected.count);
    let csv = std::fs::read_to_string(dir.join("intervals.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("enquire_max_us"));
    let cols = header.split(',').count();
    assert!(csv.lines().all(|l| l.split(',').count() == cols), "{csv}");
    // Some measured second saw MO messages matched and queries timed.
    let idx = |name: &str| header.split(',').position(|c| c == name).unwrap();
    let (mo, q99) = (idx("mo"), idx("query_p99_us"));
    assert!(csv.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[1] == "measure" && f[mo] != "0" && f[q99] != "0"
    }));

    // The server's side: every message routed to B and acknowledged.
    let shared = srv.shared().clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    let snap = loop {
        let s = shared.snapshot();
        if s.counters.mo_delivered >= c.mo_received || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let sc = &snap.counters;
    assert_eq!(sc.mo_routed, c.ok);
    assert_eq!(sc.mo_delivered, c.mo_received);
    // A query for a message of the other loop is counted again there
    // (manage::answer_for runs on_query, which counts query_rx): either
    // way every query reached the server.
    assert!(
        sc.query_rx == c.query_sent || sc.query_rx == c.query_sent + sc.remote_answered,
        "query_rx {} sent {} remote_answered {}",
        sc.query_rx,
        c.query_sent,
        sc.remote_answered
    );
    assert_eq!(
        sc.bind_tx + sc.bind_rx + sc.bind_trx,
        7,
        "4 TRX of a, 3 RX of b"
    );
    srv.stop();
}

/// Open loop (`--rate`), one thread, B bound as transceivers, no receipts:
/// the MO latency is corrected from the schedule and every MO arrives.
#[test]
fn open_loop_with_transceiver_receivers() {
    smsc::log::set_quiet(true);
    let cfg = smsc::config::Config::from_args(smsc::config::Args::parse_from([
        "smsc",
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "1",
        "--account",
        "a:pw",
        "--account",
        "b:pw",
        "--route",
        "4470=b",
        "--stats-interval",
        "0",
        "--shutdown-grace",
        "300ms",
    ]))
    .unwrap();
    let srv = smsc::server::Server::start(cfg).unwrap();
    let dir = out_dir("e2e-open");
    let a = run_args(
        srv.local_addr(),
        &dir,
        &[
            "--system-id",
            "a",
            "--password",
            "pw",
            "--binds",
            "2",
            "--mo-system-id",
            "b",
            "--mo-prefix",
            "4470",
            "--mo-bind",
            "trx",
            "--mo-binds",
            "1",
            "--rate",
            "2000",
            "--duration",
            "600ms",
            "--warmup",
            "100ms",
        ],
    );
    let out = run(&a).unwrap();
    let c = &out.counters;
    let s = &out.summary;
    assert!((1300..=1500).contains(&c.sent), "sent {}", c.sent);
    assert_eq!(
        (c.ok, c.mo_matched, c.mo_received),
        (c.sent, c.sent, c.sent)
    );
    assert_eq!((c.mo_missing, c.mo_unknown, c.mo_duplicate), (0, 0, 0));
    assert_eq!(c.sent_with_receipt, 0);
    let mo = &s.latency_us.mo;
    assert!(mo.corrected.count > 1000, "{mo:?}");
    assert!(
        mo.corrected.p50 >= mo.uncorrected.p50,
        "corrected from the schedule"
    );
    assert_eq!(out.exit_code, 0, "{:?}", s.failures);
    assert!(summary_has_mo_line(&dir));
    srv.stop();
}

fn summary_has_mo_line(dir: &std::path::Path) -> bool {
    std::fs::read_to_string(dir.join("summary.txt"))
        .unwrap()
        .lines()
        .any(|l| l.starts_with("MO: ") && l.contains("missing 0"))
}
