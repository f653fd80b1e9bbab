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
    assert!(csv.lines().next().unwrap().ends_with("enquire_max_us"));

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
