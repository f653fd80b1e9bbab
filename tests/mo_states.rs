//! The life of an MO message over real sockets, one transition per test:
//! held until the owner binds, split by address_range, retried after a
//! temporary refusal, undeliverable when the retries run out, expired while
//! nobody receives it, replaced before its delivery, and refused when the
//! store is full of pending messages. The submitter's receipt and query_sm
//! tell each outcome.
mod common;

use common::mo::{self, answer, dest_of, message_id, query, receiver, replace, text_of, to};
use common::{sm, Esme};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S};
use std::time::Duration;

/// Spec §5.2.28 message_state values.
const ENROUTE: u8 = 1;
const DELIVERED: u8 = 2;
const EXPIRED: u8 = 3;
const UNDELIVERABLE: u8 = 5;

fn with_mo(extra: &[&str]) -> smsc::server::Server {
    let mut args = mo::ACCOUNT.to_vec();
    args.extend_from_slice(extra);
    common::server(&args)
}

#[test]
fn an_mo_waits_for_a_receiver_that_binds_after_the_submit() {
    let server = with_mo(&[]);
    let addr = server.local_addr();
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let id = message_id(&s.submit(to(b"447912345678", b"wait for me")));
    assert_eq!(query(&mut s, &id), (S::ESME_ROK, ENROUTE));
    assert!(
        s.recv_timeout(Duration::from_millis(500)).is_none(),
        "a receipt before anyone received the message"
    );
    let mut r = receiver(addr, b"");
    let g = r.recv_id(C::DELIVER_SM);
    assert_eq!(text_of(&g), "wait for me");
    r.auto_answer(&g);
    let rc = s.recv_id(C::DELIVER_SM);
    assert!(text_of(&rc).contains("stat:DELIVRD"), "{}", text_of(&rc));
    s.auto_answer(&rc);
    assert_eq!(query(&mut s, &id), (S::ESME_ROK, DELIVERED));
    server.stop();
}

#[test]
fn address_range_splits_mo_between_two_receivers_but_not_receipts() {
    let server = with_mo(&[]);
    let addr = server.local_addr();
    let mut r1 = receiver(addr, b"^44791");
    let mut r2 = receiver(addr, b"^44792");
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let dests: [&'static [u8]; 4] = [
        b"447910000001",
        b"447920000001",
        b"447910000002",
        b"447920000002",
    ];
    for d in dests {
        let mut m = to(d, b"split");
        m.registered_delivery = 0;
        assert_eq!(s.submit(m).status(), S::ESME_ROK);
    }
    for (r, prefix) in [(&mut r1, b"44791"), (&mut r2, b"44792")] {
        let mut got = Vec::new();
        for _ in 0..2 {
            let g = r.recv_id(C::DELIVER_SM);
            got.push(dest_of(&g));
            r.auto_answer(&g);
        }
        assert!(got.iter().all(|d| d.starts_with(prefix)), "{got:?}");
        assert!(
            r.recv_timeout(Duration::from_millis(300)).is_none(),
            "a third MO for {prefix:?}"
        );
    }
    // A receipt for `mo`'s own message (sent over a transmitter, so it
    // must travel to a receiver) goes to its receivers whatever their
    // range: the receipt's destination matches neither.
    let mut tx = Esme::connect(addr);
    assert_eq!(
        tx.bind(C::BIND_TRANSMITTER, "mo", "pw").status(),
        S::ESME_ROK
    );
    assert_eq!(tx.submit(sm(b"mine", 1)).status(), S::ESME_ROK);
    let one = r1.recv_timeout(Duration::from_secs(2));
    let other = r2.recv_timeout(Duration::from_millis(300));
    let receipts: Vec<_> = one.iter().chain(other.iter()).collect();
    assert_eq!(receipts.len(), 1, "one receipt, to either receiver");
    assert!(text_of(receipts[0]).contains("stat:DELIVRD"));
    server.stop();
}

#[test]
fn a_temporary_refusal_is_retried_then_delivered() {
    let server = with_mo(&["--receipt-retry-backoff", "200ms"]);
    let addr = server.local_addr();
    let mut r = receiver(addr, b"");
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let id = message_id(&s.submit(to(b"447912345678", b"again")));
    let first = r.recv_id(C::DELIVER_SM);
    answer(&mut r, &first, S::ESME_RTHROTTLED);
    let second = r.recv_id(C::DELIVER_SM);
    assert_eq!(text_of(&second), "again");
    assert_ne!(first.seq(), second.seq(), "a new deliver_sm");
    r.auto_answer(&second);
    let rc = s.recv_id(C::DELIVER_SM);
    assert!(text_of(&rc).contains("stat:DELIVRD"), "{}", text_of(&rc));
    s.auto_answer(&rc);
    assert_eq!(query(&mut s, &id), (S::ESME_ROK, DELIVERED));
    assert_eq!(server.snapshot().counters.mo_retried, 1);
    server.stop();
}

#[test]
fn retries_run_out_and_the_submitter_learns_undeliv_with_the_last_status() {
    let server = with_mo(&["--receipt-retries", "1", "--receipt-retry-backoff", "200ms"]);
    let addr = server.local_addr();
    let mut r = receiver(addr, b"");
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let id = message_id(&s.submit(to(b"447912345678", b"busy")));
    for _ in 0..2 {
        let g = r.recv_id(C::DELIVER_SM);
        answer(&mut r, &g, S::ESME_RTHROTTLED);
    }
    let rc = s.recv_id(C::DELIVER_SM);
    let t = text_of(&rc);
    assert!(t.contains("stat:UNDELIV") && t.contains("err:088"), "{t}");
    s.auto_answer(&rc);
    assert_eq!(query(&mut s, &id), (S::ESME_ROK, UNDELIVERABLE));
    assert!(
        r.recv_timeout(Duration::from_millis(600)).is_none(),
        "a third attempt"
    );
    assert_eq!(server.snapshot().counters.mo_dropped_retries, 1);
    server.stop();
}

#[test]
fn an_mo_nobody_receives_expires_at_its_validity() {
    let server = with_mo(&[]);
    let addr = server.local_addr();
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let mut m = to(b"447912345678", b"too late");
    m.validity_period = b"000000000002000R";
    let id = message_id(&s.submit(m));
    let rc = s.recv_id(C::DELIVER_SM);
    assert!(text_of(&rc).contains("stat:EXPIRED"), "{}", text_of(&rc));
    s.auto_answer(&rc);
    assert_eq!(query(&mut s, &id), (S::ESME_ROK, EXPIRED));
    // A receiver that binds now gets nothing.
    let mut r = receiver(addr, b"");
    assert!(r.recv_timeout(Duration::from_millis(500)).is_none());
    server.stop();
}

#[test]
fn a_replaced_mo_is_delivered_with_its_new_text() {
    let server = with_mo(&[]);
    let addr = server.local_addr();
    let mut r = receiver(addr, b"");
    let mut s = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let mut m = to(b"447912345678", b"first");
    m.schedule_delivery_time = b"000000000002000R";
    let id = message_id(&s.submit(m));
    assert_eq!(replace(&mut s, &id, b"second"), S::ESME_ROK);
    assert!(
        r.recv_timeout(Duration::from_millis(1000)).is_none(),
        "delivered before its schedule"
    );
    let g = r.recv_id(C::DELIVER_SM);
    assert_eq!(text_of(&g), "second");
    r.auto_answer(&g);
    let rc = s.recv_id(C::DELIVER_SM);
    let t = text_of(&rc);
    assert!(
        t.contains("stat:DELIVRD") && t.contains("text:second"),
        "{t}"
    );
    server.stop();
}

#[test]
fn a_store_full_of_pending_messages_answers_rmsgqful() {
    let server = common::server(&["--message-store", "3"]);
    let mut s = Esme::bound(server.local_addr(), C::BIND_TRANSCEIVER);
    let later = || {
        let mut m = sm(b"later", 0);
        m.schedule_delivery_time = b"000000000030000R";
        m
    };
    let ids: Vec<_> = (0..3).map(|_| message_id(&s.submit(later()))).collect();
    assert_eq!(s.submit(later()).status(), S::ESME_RMSGQFUL);
    // A cancelled message is final: its slot can be taken again.
    s.request(Body::CancelSm(pdu::CancelSm {
        message_id: &ids[0],
        ..Default::default()
    }));
    assert_eq!(s.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_ROK);
    assert_eq!(s.submit(later()).status(), S::ESME_ROK);
    assert!(common::eventually(Duration::from_secs(3), || server
        .snapshot()
        .counters
        .submit_store_full
        == 1));
    server.stop();
}
