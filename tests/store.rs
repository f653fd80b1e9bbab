//! The message store over real sockets, on a server with two loops:
//! query_sm, cancel_sm and replace_sm from a bind on the other loop than
//! the one that accepted the message (the id names the loop; the question
//! travels to it), and scheduled delivery seen from outside.
mod common;

use common::mo::{message_id, query, replace};
use common::{sm, Esme};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S};
use std::time::Duration;

/// Two TRX binds of `esme` on different loops: (session, its loop) each.
/// A submit tells the loop (the id's digits 11-12).
fn two_loops(addr: std::net::SocketAddr) -> ((Esme, u8), (Esme, u8)) {
    let mut seen: Vec<(Esme, u8)> = Vec::new();
    for _ in 0..64 {
        let mut e = Esme::bound(addr, C::BIND_TRANSCEIVER);
        let g = e.submit(sm(b"probe", 0));
        assert_eq!(g.status(), S::ESME_ROK);
        let id = message_id(&g);
        let lp = u8::from_str_radix(std::str::from_utf8(&id[11..13]).unwrap(), 16).unwrap();
        if let Some(i) = seen.iter().position(|(_, l)| *l != lp) {
            let other = seen.swap_remove(i);
            return (other, (e, lp));
        }
        seen.push((e, lp));
    }
    panic!("64 connections all landed on one loop");
}

#[test]
fn query_cancel_and_replace_reach_the_loop_that_holds_the_message() {
    let server = common::server(&["--threads", "2"]);
    let ((mut a, la), (mut b, lb)) = two_loops(server.local_addr());
    assert_ne!(la, lb);
    // A message scheduled in 5 s, accepted on a's loop.
    let mut m = sm(b"first", 1);
    m.schedule_delivery_time = b"000000000005000R";
    let id = message_id(&a.submit(m));
    // Queried from the other loop: ENROUTE.
    assert_eq!(query(&mut b, &id), (S::ESME_ROK, 1));
    // Replaced from the other loop, then queried again.
    assert_eq!(replace(&mut b, &id, b"second"), S::ESME_ROK);
    // Cancelled from the other loop: DELETED, and the submitter's receipt says so.
    b.request(Body::CancelSm(pdu::CancelSm {
        message_id: &id,
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        ..Default::default()
    }));
    assert_eq!(b.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_ROK);
    assert_eq!(query(&mut b, &id), (S::ESME_ROK, 4));
    let receipt = a.recv_id(C::DELIVER_SM);
    let text = match receipt.pdu().body {
        Body::DeliverSm(d) => String::from_utf8(d.short_message.to_vec()).unwrap(),
        x => panic!("{x:?}"),
    };
    assert!(
        text.contains("stat:DELETED") && text.contains("text:second"),
        "{text}"
    );
    a.auto_answer(&receipt);
    // A second cancel from either loop fails.
    for e in [&mut a, &mut b] {
        e.request(Body::CancelSm(pdu::CancelSm {
            message_id: &id,
            ..Default::default()
        }));
        assert_eq!(e.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_RCANCELFAIL);
    }
    // Counted once each, where they were received, not again where the
    // loop holding the message answered them.
    let counted = || {
        let c = server.snapshot().counters;
        (c.query_rx, c.cancel_rx, c.tx_of(C::QUERY_SM_RESP))
    };
    common::eventually(Duration::from_secs(2), || counted() != (0, 0, 0));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counted(), (2, 3, 2));
    server.stop();
}

#[test]
fn cancel_by_source_and_destination_covers_every_loop() {
    let server = common::server(&["--threads", "2"]);
    let ((mut a, _), (mut b, _)) = two_loops(server.local_addr());
    let mut m = sm(b"later", 0);
    m.schedule_delivery_time = b"000000000030000R";
    let on_a = message_id(&a.submit(m));
    let on_b = message_id(&b.submit(m));
    a.request(Body::CancelSm(pdu::CancelSm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900002",
        ..Default::default()
    }));
    assert_eq!(a.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_ROK);
    assert_eq!(query(&mut a, &on_a).1, 4);
    assert_eq!(query(&mut a, &on_b).1, 4, "the other loop's message too");
    server.stop();
}

#[test]
fn a_scheduled_message_is_delivered_at_its_time() {
    let server = common::server(&[]);
    let mut e = Esme::bound(server.local_addr(), C::BIND_TRANSCEIVER);
    let mut m = sm(b"at two", 1);
    m.schedule_delivery_time = b"000000000002000R";
    let t0 = std::time::Instant::now();
    let id = message_id(&e.submit(m));
    assert_eq!(query(&mut e, &id), (S::ESME_ROK, 1));
    assert!(
        e.recv_timeout(Duration::from_millis(1500)).is_none(),
        "nothing before its time"
    );
    let receipt = e.recv_id(C::DELIVER_SM);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(1900), "{waited:?}");
    e.auto_answer(&receipt);
    assert_eq!(query(&mut e, &id), (S::ESME_ROK, 2));
    server.stop();
}

#[test]
fn replace_if_present_finds_the_message_on_another_loop() {
    let server = common::server(&["--threads", "2"]);
    let ((mut a, la), (mut b, lb)) = two_loops(server.local_addr());
    assert_ne!(la, lb);
    let mut m = sm(b"first", 1);
    m.schedule_delivery_time = b"000000000030000R";
    let id = message_id(&a.submit(m));
    // The same source, destination and service_type from the other loop,
    // with replace_if_present: a's message takes the new text, same id.
    let mut again = sm(b"second", 1);
    again.replace_if_present_flag = 1;
    again.schedule_delivery_time = b"000000000030000R";
    let g = b.submit(again);
    assert_eq!(g.status(), S::ESME_ROK);
    assert_eq!(message_id(&g), id, "replaced, not added");
    // Nothing pending to that destination anywhere: stored as new, on b's loop.
    let mut other = sm(b"third", 0);
    other.destination_addr = b"447700900099";
    other.replace_if_present_flag = 1;
    let g = b.submit(other);
    assert_eq!(g.status(), S::ESME_ROK);
    let new_id = message_id(&g);
    assert_ne!(new_id, id);
    let lp = u8::from_str_radix(std::str::from_utf8(&new_id[11..13]).unwrap(), 16).unwrap();
    assert_eq!(lp, lb);
    // The replaced message's receipt (after a cancel) carries the new text.
    a.request(Body::CancelSm(pdu::CancelSm {
        message_id: &id,
        ..Default::default()
    }));
    assert_eq!(a.recv_id(C::CANCEL_SM_RESP).status(), S::ESME_ROK);
    let receipt = a.recv_id(C::DELIVER_SM);
    let text = match receipt.pdu().body {
        Body::DeliverSm(d) => String::from_utf8(d.short_message.to_vec()).unwrap(),
        x => panic!("{x:?}"),
    };
    assert!(text.contains("text:second"), "{text}");
    server.stop();
}
