//! ESME to ESME over real sockets: a message to a number account `mo`
//! owns reaches `mo`'s receiver as a deliver_sm, on whatever loop it is
//! bound, and the submitter's receipt reports the receiver's answer.
mod common;

use common::mo::{answer, message_id, receiver, text_of as receipt_text, to};
use common::{sm, Esme};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S};
use std::time::Duration;

/// A TRX bind of `system_id` and the loop it landed on (told by the id of
/// a probe message to a number nobody owns).
fn bound_on(addr: std::net::SocketAddr, system_id: &str, pw: &str) -> (Esme, u8) {
    let (mut e, st) = Esme::try_bind(addr, system_id, pw);
    assert_eq!(st, S::ESME_ROK);
    let g = e.submit(sm(b"probe", 0));
    let id = message_id(&g);
    let lp = u8::from_str_radix(std::str::from_utf8(&id[11..13]).unwrap(), 16).unwrap();
    (e, lp)
}

#[test]
fn mo_crosses_loops_and_the_receipt_comes_back() {
    let server = common::server(&["--threads", "2", "--account", "mo:pw", "--route", "4479=mo"]);
    let addr = server.local_addr();
    // The receiver on one loop, a submitter on the other: the MO goes
    // over the link to the receiver's loop, its outcome comes back by mail.
    let (mut receiver, rl) = bound_on(addr, "mo", "pw");
    let mut sender = None;
    for _ in 0..64 {
        let (e, l) = bound_on(addr, "esme", "secret");
        if l != rl {
            sender = Some(e);
            break;
        }
    }
    let mut sender = sender.expect("64 binds all on the receiver's loop");
    let g = sender.submit(to(b"447912345678", b"from A"));
    assert_eq!(g.status(), S::ESME_ROK);
    let id = message_id(&g);
    let mo = receiver.recv_id(C::DELIVER_SM);
    match mo.pdu().body {
        Body::DeliverSm(d) => {
            assert_eq!(d.esm_class, 0);
            assert_eq!(d.short_message, b"from A");
            assert_eq!(d.destination_addr, b"447912345678");
        }
        b => panic!("{b:?}"),
    }
    receiver.auto_answer(&mo);
    let rc = sender.recv_id(C::DELIVER_SM);
    let t = receipt_text(&rc);
    assert!(t.contains("stat:DELIVRD"), "{t}");
    assert!(t.contains(std::str::from_utf8(&id).unwrap()), "{t}");
    sender.auto_answer(&rc);
    assert!(common::eventually(
        std::time::Duration::from_secs(2),
        || { server.snapshot().counters.receipt_forwarded >= 1 }
    ));
    server.stop();
}

#[test]
fn an_mo_refused_for_good_is_undeliv_for_the_submitter() {
    let server = common::server(&["--account", "mo:pw", "--route", "4479=mo"]);
    let addr = server.local_addr();
    let mut r = receiver(addr, b"^4479");
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    assert_eq!(s.submit(to(b"447912345678", b"no")).status(), S::ESME_ROK);
    let g = r.recv_id(C::DELIVER_SM);
    answer(&mut r, &g, S::ESME_RX_P_APPN);
    let rc = s.recv_id(C::DELIVER_SM);
    assert!(
        receipt_text(&rc).contains("stat:UNDELIV"),
        "{}",
        receipt_text(&rc)
    );
    server.stop();
}

#[test]
fn a_cancel_reaches_an_mo_waiting_for_a_retry_on_another_loop() {
    let server = common::server(&[
        "--threads",
        "2",
        "--account",
        "mo:pw",
        "--route",
        "4479=mo",
        "--receipt-retry-backoff",
        "2s",
    ]);
    let addr = server.local_addr();
    let (mut receiver, rl) = bound_on(addr, "mo", "pw");
    let mut sender = None;
    for _ in 0..64 {
        let (e, l) = bound_on(addr, "esme", "secret");
        if l != rl {
            sender = Some(e);
            break;
        }
    }
    let mut sender = sender.expect("64 binds all on the receiver's loop");
    let g = sender.submit(to(b"447912345678", b"take it back"));
    let id = message_id(&g);
    // The receiver says "later": the MO waits for its retry on the
    // receiver's loop, not on the loop that owns the message.
    let mo = receiver.recv_id(C::DELIVER_SM);
    answer(&mut receiver, &mo, S::ESME_RTHROTTLED);
    assert!(common::eventually(Duration::from_secs(2), || {
        server.snapshot().counters.mo_retried >= 1
    }));
    sender.request(Body::CancelSm(pdu::CancelSm {
        message_id: &id,
        ..Default::default()
    }));
    assert_eq!(sender.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_ROK);
    // The submitter learns DELETED; the receiver never gets the retry.
    let rc = sender.recv_id(C::DELIVER_SM);
    assert!(
        receipt_text(&rc).contains("stat:DELETED"),
        "{}",
        receipt_text(&rc)
    );
    sender.auto_answer(&rc);
    assert!(
        receiver.recv_timeout(Duration::from_secs(3)).is_none(),
        "the cancelled MO was delivered after all"
    );
    assert_eq!(server.snapshot().counters.mo_withdrawn, 1);
    server.stop();
}
