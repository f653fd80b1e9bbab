//! End-to-end: the load tester against the minimal responder (in-process on
//! an ephemeral 127.0.0.1 port, and as child binaries), and against a
//! deliberately broken server, checking the counts on both sides agree and
//! the verdict follows. Every run is about a second.

use loadtest::report::parse_hgrm;
use loadtest::responder::{serve, ResponderStats};
use loadtest::run::{run, Outcome};
use smsc::pdu::{check_frame, decode, Body, CommandId, Frame, Pdu, Sm, Tag, TlvBuf};
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

mod common;
use common::{out_dir, run_args as args};

struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<ResponderStats>,
}

fn responder(threads: usize) -> Responder {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::spawn(move || serve(l, threads, None, s).unwrap());
    Responder { addr, stop, handle }
}

impl Responder {
    fn stop(self) -> ResponderStats {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn check_agree(out: &Outcome, rs: &ResponderStats) {
    let c = &out.counters;
    assert!(c.sent > 0);
    assert_eq!(c.answered, c.sent, "every submit answered");
    assert_eq!(c.ok, c.sent);
    assert_eq!(rs.submits, c.sent, "responder saw every submit");
    assert_eq!(
        rs.receipts, c.sent_with_receipt,
        "responder sent one receipt per request"
    );
    assert_eq!(c.receipts_expected, c.sent_with_receipt);
    assert_eq!(
        c.receipts_received, c.sent_with_receipt,
        "every requested receipt received"
    );
    assert_eq!(
        c.receipts_matched, c.sent_with_receipt,
        "every receipt matched"
    );
    assert_eq!(
        (c.receipts_missing, c.receipts_unknown, c.receipts_duplicate),
        (0, 0, 0)
    );
    assert_eq!(
        rs.deliver_sm_resps, c.receipts_received,
        "every receipt acknowledged"
    );
    assert_eq!(out.exit_code, 0, "{:?}", out.summary.failures);
}

fn check_folder(dir: &Path) -> serde_json::Value {
    for f in ["params.txt", "summary.txt", "intervals.csv"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    for f in [
        "submit_resp.hgrm",
        "submit_resp_uncorrected.hgrm",
        "receipt.hgrm",
        "receipt_uncorrected.hgrm",
    ] {
        parse_hgrm(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap();
    }
    let csv = std::fs::read_to_string(dir.join("intervals.csv")).unwrap();
    assert!(csv.starts_with("second,phase,"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    // The interval logs parse, one interval per CSV row (plus at most the
    // last partial one), and add up to the summary's counts.
    let rows = csv.lines().count() - 1;
    for (file, (kind, corr)) in loadtest::hlog::FILES.iter().zip([
        ("submit_resp", "corrected"),
        ("submit_resp", "uncorrected"),
        ("receipt", "corrected"),
        ("receipt", "uncorrected"),
    ]) {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let (base, ivs) = loadtest::hlog::read(&bytes).unwrap();
        assert!(base.is_some(), "{file}: BaseTime");
        assert!(
            ivs.len() == rows || ivs.len() == rows + 1,
            "{file}: {} intervals, {rows} rows",
            ivs.len()
        );
        let total: u64 = ivs.iter().map(|i| i.hist.len()).sum();
        assert_eq!(
            Some(total),
            v["latency_us"][kind][corr]["count"].as_u64(),
            "{file}"
        );
        let max = ivs.iter().map(|i| i.hist.max()).max().unwrap_or(0);
        assert_eq!(
            Some(max),
            v["latency_us"][kind][corr]["max"].as_u64(),
            "{file}"
        );
        for w in ivs.windows(2) {
            assert!(w[0].start < w[1].start, "{file}: intervals in order");
        }
    }
    v
}

#[test]
fn closed_loop_trx_with_receipts() {
    let r = responder(1);
    let dir = out_dir("closed");
    let a = args(
        r.addr,
        &dir,
        &[
            "--binds",
            "2",
            "--window",
            "16",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--receipts",
            "1",
        ],
    );
    let out = run(&a).unwrap();
    let rs = r.stop();
    check_agree(&out, &rs);
    assert_eq!(rs.binds, 2);
    let v = check_folder(&dir);
    assert_eq!(v["mode"], "closed");
    assert_eq!(v["pass"], true);
    assert_eq!(
        v["receipts"]["matched"].as_u64(),
        Some(out.counters.receipts_matched)
    );
    let resp = parse_hgrm(&std::fs::read_to_string(dir.join("submit_resp.hgrm")).unwrap()).unwrap();
    assert_eq!(resp.total, out.counters.ok_measured);
    assert!(out.summary.latency_us.receipt.uncorrected.count > 0);
}

#[test]
fn tx_binds_two_threads_open_loop_mixed() {
    // Receipts come back on the receiver binds, possibly on the other thread.
    let r = responder(2);
    let dir = out_dir("open");
    let a = args(
        r.addr,
        &dir,
        &[
            "--binds",
            "4",
            "--bind",
            "tx",
            "--threads",
            "2",
            "--rate",
            "4000",
            "--duration",
            "1s",
            "--warmup",
            "250ms",
            "--receipts",
            "0.5",
            "--mix",
            "gsm7=2,ucs2=1,long=1,payload=1",
            "--seed",
            "42",
        ],
    );
    let out = run(&a).unwrap();
    let rs = r.stop();
    check_agree(&out, &rs);
    assert_eq!(rs.binds, 8, "4 transmitters + 4 receivers");
    let c = &out.counters;
    // Open loop at 4000/s for 1.25 s: the schedule, not the windows, set the count.
    assert!((4950..=5000).contains(&c.sent), "{}", c.sent);
    assert!(c.sent_with_receipt > c.sent / 4 && c.sent_with_receipt < c.sent * 3 / 4);
    assert!(
        out.summary.latency_us.submit_resp.corrected.count > 0
            && out.summary.latency_us.submit_resp.uncorrected.count > 0
    );
    assert!(
        out.summary.latency_us.submit_resp.corrected.p50
            >= out.summary.latency_us.submit_resp.uncorrected.p50,
        "corrected >= uncorrected"
    );
    let v = check_folder(&dir);
    assert_eq!(v["mode"], "open");
    assert_eq!(v["offered_rate_per_s"], 4000);
}

#[test]
fn many_binds_open_loop_from_one_process() {
    // 400 TRX binds at 20 msg/s each, a receipt per message, bound 32 at a
    // time by two threads: every bind works and the counts agree.
    let r = responder(1);
    let dir = out_dir("many");
    let a = args(
        r.addr,
        &dir,
        &[
            "--binds",
            "400",
            "--threads",
            "2",
            "--bind-concurrency",
            "32",
            "--rate",
            "8000",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--receipts",
            "1",
        ],
    );
    let out = run(&a).unwrap();
    let rs = r.stop();
    check_agree(&out, &rs);
    assert_eq!((rs.connections, rs.binds), (400, 400));
    let b = &out.summary.binds;
    assert_eq!((b.requested, b.bound, b.failed), (400, 400, 0));
    let c = &out.counters;
    assert!((9500..=9600).contains(&c.sent), "{}", c.sent);
    let v = check_folder(&dir);
    assert_eq!(v["binds"]["bound"], 400);
    assert!(v["latency_us"]["receipt"]["corrected"]["p99_9"].as_u64() > Some(0));
    let table = std::fs::read_to_string(dir.join("summary.txt")).unwrap();
    assert!(table.contains("400 of 400 bound"), "{table}");
}

#[test]
fn held_replies_all_go_out() {
    // 200 TRX binds at 20 msg/s each (one submit per bind every 50 ms),
    // a receipt per message. A 10 ms hold expires before the bind's next
    // submit (the wheel flushes it); a 200 ms one rides on that submit.
    for hold in ["10ms", "200ms"] {
        let r = responder(1);
        let dir = out_dir(&format!("hold-{hold}"));
        let a = args(
            r.addr,
            &dir,
            &[
                "--binds",
                "200",
                "--rate",
                "4000",
                "--duration",
                "1s",
                "--warmup",
                "200ms",
                "--receipts",
                "1",
                "--reply-hold",
                hold,
            ],
        );
        let out = run(&a).unwrap();
        let rs = r.stop();
        // Includes: every deliver_sm answered, none left behind at the end.
        check_agree(&out, &rs);
        assert!((4700..=4900).contains(&out.counters.sent), "{hold}");
        let params = std::fs::read_to_string(dir.join("params.txt")).unwrap();
        assert!(params.contains(&format!("reply_hold = {hold}")), "{params}");
    }
}

#[test]
fn ticked_open_loop_times_answers_by_kernel_stamps() {
    // --tick 2ms: the thread wakes every 2 ms, sends up to 2 ms early and
    // reads late, yet every answer is timed at its arrival: latencies stay
    // far below the tick against a responder that answers at once.
    let r = responder(1);
    let dir = out_dir("tick");
    let a = args(
        r.addr,
        &dir,
        &[
            "--binds",
            "50",
            "--rate",
            "5000",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--receipts",
            "1",
            "--tick",
            "2ms",
            "--reply-hold",
            "20ms",
        ],
    );
    let out = run(&a).unwrap();
    let rs = r.stop();
    check_agree(&out, &rs);
    assert!((5900..=6100).contains(&out.counters.sent));
    let v = check_folder(&dir);
    let p50 = v["latency_us"]["submit_resp"]["uncorrected"]["p50"].as_u64();
    assert!(p50.is_some_and(|p| (1..1000).contains(&p)), "{p50:?}");
    let c50 = v["latency_us"]["submit_resp"]["corrected"]["p50"].as_u64();
    assert!(c50 >= p50, "corrected never below uncorrected");
}

#[test]
fn binaries_end_to_end_and_compare() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_responder"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let mut dirs = Vec::new();
    for (name, receipts) in [("bin-a", "0"), ("bin-b", "1")] {
        let dir = out_dir(name);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
            .args([
                "run",
                "--addr",
                &addr,
                "--duration",
                "500ms",
                "--warmup",
                "100ms",
                "--binds",
                "1",
            ])
            .args(["--receipts", receipts, "--json", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["pass"], true);
        assert!(v["throughput_per_s"].as_f64().unwrap() > 0.0);
        dirs.push(dir);
    }
    let _ = child.kill();
    let _ = child.wait();
    let cmp = out_dir("cmp");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .arg("compare")
        .args(&dirs)
        .arg("--out")
        .arg(&cmp)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("throughput"), "{table}");
    assert!(table.contains("x)"), "ratios: {table}");
    let svg = std::fs::read_to_string(cmp.join("compare.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
    // The PNG, rasterised in-process: decodes, chart size, both runs' colours.
    let png = std::fs::read(cmp.join("compare.png")).unwrap();
    let mut r = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut px = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut px).unwrap();
    assert_eq!(
        (info.width as usize, info.height as usize),
        (
            (loadtest::chart::WIDTH * loadtest::chart::PNG_SCALE) as usize,
            (loadtest::chart::HEIGHT * loadtest::chart::PNG_SCALE) as usize
        )
    );
    for c in &loadtest::chart::COLORS[..2] {
        assert!(px.chunks(3).any(|p| p == [c.0, c.1, c.2]), "{c:?}");
    }
}

// ---------------------------------------------------------------- a broken server

#[derive(Clone, Copy)]
enum Misbehave {
    /// Every receipt twice, plus one receipt for an id never handed out.
    DuplicateAndUnknown,
    /// No receipts at all.
    NoReceipts,
    /// Every second submit refused with ESME_RTHROTTLED.
    Throttle,
    /// A receipt from "an earlier run" right after bind_resp, then behaves.
    StaleAtBind,
}

fn broken_server(mode: Misbehave) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        let mut n_submit = 0u32;
        let mut dseq = 1u32;
        loop {
            let n = match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut out = Vec::new();
            while let Ok(Frame::Complete(len)) = check_frame(&buf, 65536) {
                let frame: Vec<u8> = buf.drain(..len).collect();
                let pdu = decode(&frame).unwrap();
                let seq = pdu.header.sequence_number;
                let mut receipt = |id: &[u8], out: &mut Vec<u8>| {
                    let mut t = TlvBuf::new();
                    t.push_cstr(Tag::RECEIPTED_MESSAGE_ID, id);
                    let sm = Sm {
                        esm_class: 4,
                        short_message: b"stat:DELIVRD",
                        tlvs: t.as_tlvs(),
                        ..Sm::default()
                    };
                    out.extend(Pdu::new(dseq, Body::DeliverSm(sm)).to_vec().unwrap());
                    dseq += 1;
                };
                match pdu.body {
                    Body::BindTransceiver(_) => {
                        let r = smsc::pdu::BindResp {
                            system_id: b"broken",
                            ..Default::default()
                        };
                        out.extend(
                            Pdu::new(seq, Body::BindTransceiverResp(r))
                                .to_vec()
                                .unwrap(),
                        );
                        if matches!(mode, Misbehave::StaleAtBind) {
                            receipt(b"from-yesterday", &mut out);
                        }
                    }
                    Body::SubmitSm(sm) => {
                        n_submit += 1;
                        let id = format!("m{n_submit}");
                        if matches!(mode, Misbehave::Throttle) && n_submit.is_multiple_of(2) {
                            let mut b = [0u8; 16];
                            smsc::pdu::encode_header_only(
                                CommandId::SUBMIT_SM_RESP,
                                smsc::pdu::CommandStatus::ESME_RTHROTTLED,
                                seq,
                                &mut b,
                            );
                            out.extend_from_slice(&b);
                            continue;
                        }
                        let r = smsc::pdu::MessageIdResp {
                            message_id: id.as_bytes(),
                        };
                        out.extend(Pdu::new(seq, Body::SubmitSmResp(r)).to_vec().unwrap());
                        if sm.registered_delivery & 1 == 1 {
                            match mode {
                                Misbehave::DuplicateAndUnknown => {
                                    receipt(id.as_bytes(), &mut out);
                                    receipt(id.as_bytes(), &mut out);
                                    if n_submit == 1 {
                                        receipt(b"never-sent", &mut out);
                                    }
                                }
                                Misbehave::NoReceipts => {}
                                Misbehave::Throttle | Misbehave::StaleAtBind => {
                                    receipt(id.as_bytes(), &mut out)
                                }
                            }
                        }
                    }
                    Body::EnquireLink => {
                        out.extend(Pdu::new(seq, Body::EnquireLinkResp).to_vec().unwrap());
                    }
                    Body::Unbind => {
                        out.extend(Pdu::new(seq, Body::UnbindResp).to_vec().unwrap());
                        let _ = s.write_all(&out);
                        return;
                    }
                    _ => {}
                }
            }
            if s.write_all(&out).is_err() {
                return;
            }
        }
    });
    (addr, h)
}

fn run_broken(mode: Misbehave, name: &str, extra: &[&str]) -> Outcome {
    let (addr, h) = broken_server(mode);
    let dir = out_dir(name);
    let mut flags = vec![
        "--binds",
        "1",
        "--rate",
        "200",
        "--duration",
        "500ms",
        "--warmup",
        "100ms",
        "--receipts",
        "1",
        "--receipt-grace",
        "300ms",
    ];
    flags.extend_from_slice(extra);
    let out = run(&args(addr, &dir, &flags)).unwrap();
    h.join().unwrap();
    check_folder(&dir);
    out
}

#[test]
fn duplicate_and_unknown_receipts_fail_the_run() {
    let out = run_broken(Misbehave::DuplicateAndUnknown, "dup", &[]);
    let c = &out.counters;
    assert_eq!(c.receipts_matched, c.sent);
    assert_eq!(c.receipts_duplicate, c.sent);
    assert_eq!(c.receipts_unknown, 1);
    assert_eq!(c.receipts_missing, 0);
    assert_eq!(out.exit_code, 1);
    assert!(out.summary.failures.iter().any(|f| f.contains("duplicate")));
}

#[test]
fn missing_receipts_fail_the_run() {
    let out = run_broken(Misbehave::NoReceipts, "missing", &[]);
    let c = &out.counters;
    assert!(c.sent > 50);
    assert_eq!(c.receipts_missing, c.sent);
    assert_eq!(out.exit_code, 1);
}

#[test]
fn error_statuses_are_counted_and_thresholded() {
    let out = run_broken(Misbehave::Throttle, "throttle", &[]);
    let c = &out.counters;
    assert_eq!(c.failed, c.sent / 2);
    assert_eq!(c.receipts_matched, c.ok);
    assert_eq!(out.exit_code, 1, "error rate 0.5 > 0");
    let throttled = out
        .summary
        .statuses
        .iter()
        .find(|s| s.status == "0x00000058" && s.name == "ESME_RTHROTTLED")
        .map(|s| s.count);
    assert_eq!(throttled, Some(c.failed));
    let out = run_broken(
        Misbehave::Throttle,
        "throttle-ok",
        &["--max-error-rate", "0.6"],
    );
    assert_eq!(out.exit_code, 0, "{:?}", out.summary.failures);
}

#[test]
fn receipts_before_sending_are_stale_not_unknown() {
    let out = run_broken(Misbehave::StaleAtBind, "stale", &[]);
    let c = &out.counters;
    assert_eq!(c.receipts_stale, 1);
    assert_eq!(c.receipts_unknown, 0);
    assert_eq!(c.receipts_matched, c.sent);
    assert_eq!(out.exit_code, 0, "{:?}", out.summary.failures);
}
