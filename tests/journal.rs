//! The receipt journal against the real `smsc` binary: receipts accepted
//! before a `SIGKILL` are delivered after the restart, each once, and those
//! already acknowledged are not delivered again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::binary::{signal, start_smsc};
use common::mo::query;
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("smsc-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The binary with two loops and the journal in `dir`.
fn start(dir: &Path, mode: &str) -> (Child, SocketAddr) {
    let dir = dir.to_str().unwrap();
    start_smsc(&[
        "--threads",
        "2",
        "--account",
        "esme:secret",
        "--shutdown-grace",
        "200ms",
        "--spool-dir",
        dir,
        "--journal",
        mode,
    ])
}

/// Message ids as text, so a failed comparison reads well.
fn text(id: &[u8]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

fn message_id(g: &Got) -> String {
    let Body::SubmitSmResp(m) = g.pdu().body else {
        panic!("not a submit_sm_resp: {g:?}")
    };
    text(m.message_id)
}

/// Receives receipts (acknowledging each) until `quiet` passes without one.
fn receipts_until_quiet(e: &mut Esme, quiet: Duration) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(g) = e.recv_timeout(quiet) {
        if g.id() == CommandId::DELIVER_SM {
            let Body::DeliverSm(d) = g.pdu().body else {
                unreachable!()
            };
            got.push(text(d.tlvs.receipted_message_id().unwrap()));
        }
        e.auto_answer(&g);
    }
    got
}

/// Held receipts survive SIGKILL; delivered and acknowledged ones do not
/// come back. Two loops, so receipts also cross between them.
fn survives_sigkill(mode: &str) {
    let dir = temp_dir(mode);
    let (mut srv, addr) = start(&dir, mode);

    // 10 messages whose receipts are delivered and acknowledged before the crash.
    let mut trx = Esme::bound(addr, CommandId::BIND_TRANSCEIVER);
    for _ in 0..10 {
        trx.request(Body::SubmitSm(sm(b"acked", 1)));
    }
    let (mut acked, mut got) = (BTreeSet::new(), BTreeSet::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.len() < 10 || got.len() < 10 {
        assert!(
            Instant::now() < deadline,
            "{} resps, {} receipts",
            acked.len(),
            got.len()
        );
        let g = trx.recv();
        match g.pdu().body {
            Body::SubmitSmResp(m) => {
                acked.insert(text(m.message_id));
            }
            Body::DeliverSm(d) => {
                got.insert(text(d.tlvs.receipted_message_id().unwrap()));
            }
            _ => {}
        }
        trx.auto_answer(&g);
    }
    assert_eq!(got, acked);
    drop(trx);

    // 40 messages whose receipts wait: nobody can receive them.
    let mut tx = Esme::bound(addr, CommandId::BIND_TRANSMITTER);
    let mut held = BTreeSet::new();
    for i in 0..40 {
        let g = tx.submit(sm(b"held over a crash", 1));
        assert_eq!(g.status(), S::ESME_ROK, "submit {i}");
        held.insert(message_id(&g));
    }
    // The acknowledgements' done lines reach the journal within a
    // housekeeping tick (100 ms); a loaded CI machine gets five.
    std::thread::sleep(Duration::from_millis(500));
    srv.kill().unwrap(); // SIGKILL: no shutdown, no spool
    srv.wait().unwrap();

    let (mut srv, addr) = start(&dir, mode);
    let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
    let got = receipts_until_quiet(&mut rx, Duration::from_millis(1500));
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a receipt came twice");
    assert_eq!(unique, held, "exactly the held receipts come back");
    drop(rx);

    // A clean stop now leaves nothing to deliver.
    signal(&srv, "TERM");
    assert!(srv.wait().unwrap().success());
    let (mut srv, addr) = start(&dir, mode);
    let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
    assert!(receipts_until_quiet(&mut rx, Duration::from_millis(500)).is_empty());
    srv.kill().unwrap();
    srv.wait().unwrap();
    let journals = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(journals, 1, "one compacted journal file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn journal_write_mode_keeps_receipts_over_sigkill() {
    survives_sigkill("write");
}

#[test]
fn journal_fsync_mode_keeps_receipts_over_sigkill() {
    survives_sigkill("fsync");
}

/// Under load on two loops (receipts crossing between them), a SIGKILL in
/// the middle loses nothing: every message the server accepted gets its
/// receipt, before the crash or after the restart.
#[test]
fn journal_loses_no_receipt_when_killed_under_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let dir = temp_dir("load");
    let (mut srv, addr) = start(&dir, "write");
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (stop, pause) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    // One receiver: its loop gets the other loop's receipts over the link.
    // Halfway it stops reading, so receipts pile up in its window and the
    // account's queue, on both loops and in the link.
    let receiver = {
        let (seen, stop, pause) = (seen.clone(), stop.clone(), pause.clone());
        let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if pause.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                let Some(g) = rx.recv_timeout(Duration::from_millis(20)) else {
                    continue;
                };
                if let Body::DeliverSm(d) = g.pdu().body {
                    let id = text(d.tlvs.receipted_message_id().unwrap());
                    seen.lock().unwrap().push(id);
                }
                rx.auto_answer(&g);
            }
        })
    };

    // Submitters: 4 transmitters, 20 requests in flight each, until 1500
    // messages are accepted; then the server is killed with more in flight.
    let mut txs: Vec<Esme> = (0..4)
        .map(|_| Esme::bound(addr, CommandId::BIND_TRANSMITTER))
        .collect();
    let mut accepted = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while accepted.len() < 1500 {
        assert!(
            Instant::now() < deadline,
            "only {} accepted",
            accepted.len()
        );
        if accepted.len() >= 750 {
            pause.store(true, Ordering::Relaxed);
        }
        for tx in &mut txs {
            for _ in 0..20 {
                tx.request(Body::SubmitSm(sm(b"under load", 1)));
            }
        }
        for tx in &mut txs {
            for _ in 0..20 {
                let g = tx.recv_id(CommandId::SUBMIT_SM_RESP);
                assert_eq!(g.status(), S::ESME_ROK);
                accepted.insert(message_id(&g));
            }
        }
    }
    // More submits on the wire, some answered, some not: then SIGKILL.
    for tx in &mut txs {
        for _ in 0..20 {
            tx.request(Body::SubmitSm(sm(b"in flight at the crash", 1)));
        }
    }
    for tx in &mut txs {
        while let Some(g) = tx.recv_timeout(Duration::from_millis(5)) {
            if g.id() == CommandId::SUBMIT_SM_RESP && g.status() == S::ESME_ROK {
                accepted.insert(message_id(&g));
            }
        }
    }
    srv.kill().unwrap();
    srv.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    receiver.join().unwrap();
    let before = seen.lock().unwrap().len();

    let (mut srv, addr) = start(&dir, "write");
    let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
    let after = receipts_until_quiet(&mut rx, Duration::from_millis(1500));
    assert!(
        after.len() >= 500,
        "the crash left only {} receipts ({before} before, {} accepted)",
        after.len(),
        accepted.len()
    );
    let mut all: BTreeSet<String> = seen.lock().unwrap().iter().cloned().collect();
    all.extend(after.iter().cloned());
    let lost: Vec<&String> = accepted.difference(&all).collect();
    assert!(
        lost.is_empty(),
        "{} of {} accepted messages have no receipt (first: {:?}); {before} before the crash, {} after",
        lost.len(),
        accepted.len(),
        lost.first(),
        after.len()
    );
    // Receipts come only for messages the server accepted (or was about
    // to acknowledge when it died).
    assert!(all.len() <= accepted.len() + 4 * 20);
    eprintln!(
        "accepted {}, receipts before the crash {before}, after {}",
        accepted.len(),
        after.len()
    );
    srv.kill().unwrap();
    srv.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn journal_without_spool_dir_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_smsc"))
        .args(["--listen", "127.0.0.1:0", "--journal", "write"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--journal needs --spool-dir"));
}

/// Pending messages survive SIGKILL with `--journal write`: a message
/// scheduled for later and MO messages waiting for their receiver (none is
/// bound) are all delivered after the restart, the MO to their owner and
/// the receipts, with the ids the ESME was given, to the submitter.
#[test]
fn pending_and_mo_messages_survive_sigkill() {
    let dir = temp_dir("pending");
    let d = dir.to_str().unwrap();
    let args = [
        "--threads",
        "2",
        "--account",
        "esme:secret",
        "--account",
        "mo:pw",
        "--route",
        "4479=mo",
        "--shutdown-grace",
        "200ms",
        "--spool-dir",
        d,
        "--journal",
        "write",
    ];
    let (mut srv, addr) = start_smsc(&args);
    let mut tx = Esme::bound(addr, CommandId::BIND_TRANSMITTER);
    let mut ids = BTreeSet::new();
    for i in 0..5 {
        let mut m = sm(b"to B", 1);
        m.destination_addr = if i % 2 == 0 {
            b"447912345678"
        } else {
            b"447912345679"
        };
        let g = tx.submit(m);
        assert_eq!(g.status(), S::ESME_ROK);
        ids.insert(message_id(&g));
    }
    let mut later = sm(b"in three seconds", 1);
    later.schedule_delivery_time = b"000000000003000R";
    let g = tx.submit(later);
    assert_eq!(g.status(), S::ESME_ROK);
    let scheduled = message_id(&g);
    ids.insert(scheduled.clone());
    // The responses are out, so the journal has them: crash now.
    srv.kill().unwrap();
    srv.wait().unwrap();

    let (mut srv, addr) = start_smsc(&args);
    // The ids of the run before are known: waiting for their receiver.
    let mo_id = ids.iter().find(|i| **i != scheduled).unwrap().clone();
    let mut q = Esme::bound(addr, CommandId::BIND_TRANSMITTER);
    assert_eq!(query(&mut q, mo_id.as_bytes()), (S::ESME_ROK, 1), "ENROUTE");
    let (mut b, st) = Esme::try_bind(addr, "mo", "pw");
    assert_eq!(st, S::ESME_ROK);
    let mut mo = 0;
    while let Some(g) = b.recv_timeout(Duration::from_millis(800)) {
        if g.id() == CommandId::DELIVER_SM {
            let Body::DeliverSm(d) = g.pdu().body else {
                unreachable!()
            };
            assert_eq!(d.short_message, b"to B");
            mo += 1;
        }
        b.auto_answer(&g);
    }
    assert_eq!(mo, 5, "every MO message delivered once after the restart");
    let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
    let got: BTreeSet<String> = receipts_until_quiet(&mut rx, Duration::from_secs(4))
        .into_iter()
        .collect();
    assert_eq!(
        got, ids,
        "a receipt for every message, under its original id"
    );
    assert_eq!(
        query(&mut q, mo_id.as_bytes()),
        (S::ESME_ROK, 2),
        "DELIVERED"
    );
    // An id of the run before that the journal did not hold (final
    // before the crash) is not known.
    let mut unknown = mo_id.clone().into_bytes();
    unknown[23] = if unknown[23] == b'0' { b'1' } else { b'0' };
    assert_eq!(query(&mut q, &unknown).0, S::ESME_RQUERYFAIL);
    // Delivered and acknowledged: a second crash brings none of it back.
    srv.kill().unwrap();
    srv.wait().unwrap();
    let (mut srv, addr) = start_smsc(&args);
    let (mut b, st) = Esme::try_bind(addr, "mo", "pw");
    assert_eq!(st, S::ESME_ROK);
    let mut again = 0;
    while let Some(g) = b.recv_timeout(Duration::from_millis(800)) {
        if g.id() == CommandId::DELIVER_SM {
            again += 1;
        }
        b.auto_answer(&g);
    }
    assert_eq!(again, 0, "a delivered MO message is not delivered again");
    let mut rx = Esme::bound(addr, CommandId::BIND_RECEIVER);
    let got = receipts_until_quiet(&mut rx, Duration::from_secs(1));
    assert!(got.is_empty(), "receipts sent again: {got:?}");
    signal(&srv, "TERM");
    srv.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
