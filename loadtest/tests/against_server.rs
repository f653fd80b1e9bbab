//! The load test for about a second against the real smsc server
//! (in-process, 127.0.0.1:0, two loops) with TX binds (receipts on separate
//! RX binds, so some cross loops) and a receipt for every message; its
//! counts must agree with the server's own counters.

use clap::Parser;
use loadtest::run::run;
use smsc::pdu::{CommandId, CommandStatus};
use std::time::{Duration, Instant};

mod common;
use common::{out_dir, run_args};

#[test]
fn counts_agree_with_the_server_counters() {
    smsc::log::set_quiet(true);
    let cfg = smsc::config::Config::from_args(smsc::config::Args::parse_from([
        "smsc",
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "2",
        "--account",
        "lt:pw",
        "--stats-interval",
        "0",
        "--shutdown-grace",
        "300ms",
    ]))
    .unwrap();
    let srv = smsc::server::Server::start(cfg).unwrap();
    let dir = out_dir("server");
    let a = run_args(
        srv.local_addr(),
        &dir,
        &[
            "--system-id",
            "lt",
            "--password",
            "pw",
            "--bind",
            "tx",
            "--binds",
            "4",
            "--window",
            "16",
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
        ],
    );
    let out = run(&a).unwrap();
    let c = &out.counters;
    assert!(c.sent > 1000, "sent {}", c.sent);
    assert_eq!(c.ok, c.sent, "every submit accepted");
    assert_eq!(
        (c.receipts_missing, c.receipts_unknown, c.receipts_duplicate),
        (0, 0, 0)
    );
    assert_eq!(out.exit_code, 0, "{:?}", out.summary.failures);
    // The interval logs add up to the run's histograms.
    let s = &out.summary;
    for (file, lat) in loadtest::hlog::FILES.iter().zip([
        &s.latency_us.submit_resp.corrected,
        &s.latency_us.submit_resp.uncorrected,
        &s.latency_us.receipt.corrected,
        &s.latency_us.receipt.uncorrected,
    ]) {
        let (_, ivs) = loadtest::hlog::read(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        let total: u64 = ivs.iter().map(|i| i.hist.len()).sum();
        assert_eq!(total, lat.count, "{file}");
        assert!(total > 0, "{file}");
    }

    // The server's counters are published every 100 ms: wait for them.
    let shared = srv.shared().clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    let snap = loop {
        let s = shared.snapshot();
        if s.counters.receipt_acked >= c.receipts_received || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let sc = &snap.counters;
    assert_eq!(
        sc.rx_of(CommandId::SUBMIT_SM),
        c.sent,
        "server saw every submit_sm"
    );
    assert_eq!(sc.submit_ok, c.ok, "accepted on both sides");
    assert_eq!(sc.tx_of(CommandId::SUBMIT_SM_RESP), c.answered);
    assert_eq!(sc.receipt_created, c.sent_with_receipt);
    assert_eq!(
        sc.receipt_sent, c.receipts_received,
        "receipts sent = received (no retries in a clean run)"
    );
    assert_eq!(
        sc.receipt_acked, c.receipts_received,
        "every receipt acknowledged"
    );
    assert_eq!(sc.rx_of(CommandId::DELIVER_SM_RESP), c.receipts_received);
    assert_eq!(sc.bind_tx + sc.bind_rx, 8, "4 TX binds and 4 RX binds");
    // OK responses: the submits, the 8 binds, and any unbind/enquire_link answered.
    let others = 8 + sc.unbind_rx + sc.rx_of(CommandId::ENQUIRE_LINK);
    assert_eq!(sc.status_of(CommandStatus::ESME_ROK), c.ok + others);
    assert_eq!(sc.unexpected_resp, 0);
    srv.stop();
}

#[test]
fn binds_beyond_the_accounts_limit_fail_and_the_rest_run() {
    smsc::log::set_quiet(true);
    let dir = out_dir("max-binds");
    std::fs::create_dir_all(&dir).unwrap();
    let accounts = dir.join("accounts.ini");
    std::fs::write(&accounts, "[lt]\npassword = pw\nmax_binds = 5\n").unwrap();
    let cfg = smsc::config::Config::from_args(smsc::config::Args::parse_from([
        "smsc",
        "--listen",
        "127.0.0.1:0",
        "--threads",
        "1",
        "--accounts",
        accounts.to_str().unwrap(),
        "--stats-interval",
        "0",
        "--shutdown-grace",
        "300ms",
    ]))
    .unwrap();
    let srv = smsc::server::Server::start(cfg).unwrap();
    let out_dir = dir.join("run");
    let a = run_args(
        srv.local_addr(),
        &out_dir,
        &[
            "--system-id",
            "lt",
            "--password",
            "pw",
            "--binds",
            "8",
            "--bind-concurrency",
            "2",
            "--rate",
            "1000",
            "--duration",
            "500ms",
            "--warmup",
            "100ms",
            "--server-pid",
            &std::process::id().to_string(),
        ],
    );
    let out = run(&a).unwrap();
    let b = &out.summary.binds;
    assert_eq!((b.requested, b.bound, b.failed), (8, 5, 3));
    assert_eq!(out.exit_code, 1, "binds failed: not a pass");
    assert!(
        out.summary
            .failures
            .iter()
            .any(|f| f.starts_with("3 of 8 binds failed (bind refused")),
        "{:?}",
        out.summary.failures
    );
    // The 5 bound ones carried the whole rate.
    let c = &out.counters;
    assert!((550..=600).contains(&c.sent), "{}", c.sent);
    assert_eq!(c.ok, c.sent);
    // --server-pid (here the test process, the server being in-process).
    let sv = out.summary.server.expect("server usage");
    assert_eq!(sv.pid, std::process::id());
    assert!(sv.cpu_s > 0.0 && sv.vm_hwm_kib >= sv.vm_rss_kib && sv.vm_rss_kib > 0);
    srv.stop();
}

/// `run --tls` against the server's TLS listener: once verifying the
/// server's certificate (`--tls-ca`, a certificate made at test time),
/// once with `--tls-insecure`. Every submit and receipt over TLS.
#[test]
fn tls_runs_verified_and_insecure() {
    smsc::log::set_quiet(true);
    let dir = out_dir("tls-certs");
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let cfg = smsc::config::Config::from_args(smsc::config::Args::parse_from([
        "smsc",
        "--listen",
        "127.0.0.1:0",
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert_file.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
        "--threads",
        "1",
        "--account",
        "lt:pw",
        "--stats-interval",
        "0",
        "--shutdown-grace",
        "300ms",
    ]))
    .unwrap();
    let srv = smsc::server::Server::start(cfg).unwrap();
    let tls = srv.tls_addr().unwrap();
    for (name, trust) in [
        (
            "tls-verified",
            vec!["--tls-ca", cert_file.to_str().unwrap()],
        ),
        ("tls-insecure", vec!["--tls-insecure"]),
    ] {
        let out_dir = out_dir(name);
        let mut args = vec![
            "--system-id",
            "lt",
            "--password",
            "pw",
            "--binds",
            "2",
            "--window",
            "16",
            "--duration",
            "500ms",
            "--warmup",
            "100ms",
            "--receipts",
            "1",
            "--tls",
        ];
        args.extend(trust);
        let out = run(&run_args(tls, &out_dir, &args)).unwrap();
        let c = &out.counters;
        assert!(c.sent > 100, "{name}: sent {}", c.sent);
        assert_eq!(c.ok, c.sent, "{name}");
        assert_eq!(
            (c.receipts_missing, c.receipts_unknown, c.receipts_duplicate),
            (0, 0, 0),
            "{name}"
        );
        assert_eq!(out.exit_code, 0, "{name}: {:?}", out.summary.failures);
    }
    let shared = srv.shared().clone();
    srv.stop();
    let c = shared.snapshot().counters;
    assert_eq!(c.tls_handshakes, 4, "{c:?}");
    assert!(c.tls_bytes_rx > c.bytes_rx && c.bytes_tx > 0);
    // Without a trust choice the run refuses to start.
    let bad = run_args(tls, &out_dir("tls-bad"), &["--tls"]);
    assert!(run(&bad).is_err());
}
