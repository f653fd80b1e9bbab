//! query_sm, cancel_sm, replace_sm and replace_if_present without sockets.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::account::BindType;
use crate::pdu::{self, Body, CommandId as C, CommandStatus as S, Sm};
use crate::testutil::{Harness, Out};

/// In 10 s (relative time).
const IN_10S: &[u8] = b"000000000010000R";

fn sm(dest: &'static [u8], schedule: &'static [u8]) -> Sm<'static> {
    Sm {
        source_addr_ton: 5,
        source_addr: b"Shop",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: dest,
        registered_delivery: 1,
        schedule_delivery_time: schedule,
        short_message: b"hello",
        ..Default::default()
    }
}

fn submit(h: &mut Harness, c: usize, m: Sm<'_>) -> Vec<u8> {
    h.send(c, 3, Body::SubmitSm(m));
    let out = h.out(c);
    assert_eq!(
        (out[0].id, out[0].status),
        (C::SUBMIT_SM_RESP, S::ESME_ROK),
        "{out:?}"
    );
    match out[0].pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        b => panic!("{b:?}"),
    }
}

/// (status, message_state, error_code, final_date) of a query_sm.
fn query(h: &mut Harness, c: usize, id: &[u8], source: &[u8]) -> (S, u8, u8, Vec<u8>) {
    h.send(
        c,
        4,
        Body::QuerySm(pdu::QuerySm {
            message_id: id,
            source_addr_ton: 5,
            source_addr: source,
            ..Default::default()
        }),
    );
    let out = h.out(c);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].id, C::QUERY_SM_RESP);
    match out[0].pdu().body {
        Body::QuerySmResp(r) => (
            out[0].status,
            r.message_state,
            r.error_code,
            r.final_date.to_vec(),
        ),
        b => panic!("{b:?}"),
    }
}

fn receipt_text(o: &Out) -> String {
    match o.pdu().body {
        Body::DeliverSm(d) => String::from_utf8(d.short_message.to_vec()).unwrap(),
        b => panic!("{b:?}"),
    }
}

fn trx(h: &mut Harness) -> usize {
    let c = h.connect();
    h.bind(c, BindType::Transceiver);
    c
}

#[test]
fn query_reports_delivered_and_scheduled_messages() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    let now_id = submit(&mut h, c, sm(b"447700900001", b""));
    h.out(c);
    let (st, state, err, date) = query(&mut h, c, &now_id, b"Shop");
    assert_eq!((st, state, err), (S::ESME_ROK, 2, 0));
    assert_eq!(date.len(), 16, "final_date YYMMDDhhmmss000+");
    let later = submit(&mut h, c, sm(b"447700900002", IN_10S));
    assert!(h.out(c).is_empty(), "no receipt before the schedule");
    let (st, state, _, date) = query(&mut h, c, &later, b"Shop");
    assert_eq!(
        (st, state, date.len()),
        (S::ESME_ROK, 1, 0),
        "ENROUTE, no final date"
    );
    h.advance(1000);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert!(receipt_text(&out[0]).contains("stat:DELIVRD"));
    assert_eq!(query(&mut h, c, &later, b"Shop").1, 2);
}

#[test]
fn query_refuses_other_accounts_bad_ids_and_wrong_sources() {
    let mut h = Harness::new(&["--account", "other:pw"]);
    let c = trx(&mut h);
    let id = submit(&mut h, c, sm(b"447700900001", b""));
    h.out(c);
    let o = h.connect();
    h.bind_as(o, BindType::Transmitter, b"other", b"pw");
    assert_eq!(query(&mut h, o, &id, b"").0, S::ESME_RQUERYFAIL);
    assert_eq!(query(&mut h, c, &id, b"Other").0, S::ESME_RQUERYFAIL);
    assert_eq!(
        query(&mut h, c, &id, b"").0,
        S::ESME_ROK,
        "empty source: not checked"
    );
    assert_eq!(query(&mut h, c, b"not-an-id", b"").0, S::ESME_RINVMSGID);
    let mut unknown = id.clone();
    unknown[23] = if unknown[23] == b'f' { b'e' } else { b'f' };
    assert_eq!(query(&mut h, c, &unknown, b"").0, S::ESME_RQUERYFAIL);
    // A receiver may not query.
    let r = h.connect();
    h.bind(r, BindType::Receiver);
    assert_eq!(query(&mut h, r, &id, b"").0, S::ESME_RINVBNDSTS);
}

#[test]
fn cancel_deletes_a_pending_message_and_its_receipt_says_so() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    let id = submit(&mut h, c, sm(b"447700900002", IN_10S));
    fn cancel(id: &[u8]) -> Body<'_> {
        Body::CancelSm(pdu::CancelSm {
            message_id: id,
            source_addr: b"Shop",
            ..Default::default()
        })
    }
    h.send(c, 9, cancel(&id));
    let out = h.out(c);
    assert_eq!((out[0].id, out[0].status), (C::CANCEL_SM_RESP, S::ESME_ROK));
    assert_eq!(out.len(), 2, "the DELETED receipt follows");
    assert!(
        receipt_text(&out[1]).contains("stat:DELETED"),
        "{}",
        receipt_text(&out[1])
    );
    assert_eq!(query(&mut h, c, &id, b"Shop").1, 4, "DELETED");
    // Final now: a second cancel fails; the old timer sends nothing.
    h.send(c, 10, cancel(&id));
    assert_eq!(h.out(c)[0].status, S::ESME_RCANCELFAIL);
    h.advance(1000);
    assert!(h.out(c).is_empty());
    assert_eq!(h.st.m.message_cancelled, 1);
}

#[test]
fn cancel_without_an_id_takes_every_matching_pending_message() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    let a = submit(&mut h, c, sm(b"447700900002", IN_10S));
    let b = submit(&mut h, c, sm(b"447700900002", IN_10S));
    let other = submit(&mut h, c, sm(b"447700900003", IN_10S));
    h.send(
        c,
        11,
        Body::CancelSm(pdu::CancelSm {
            source_addr_ton: 5,
            source_addr: b"Shop",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447700900002",
            ..Default::default()
        }),
    );
    assert_eq!(h.out(c)[0].status, S::ESME_ROK);
    assert_eq!(query(&mut h, c, &a, b"").1, 4);
    assert_eq!(query(&mut h, c, &b, b"").1, 4);
    assert_eq!(
        query(&mut h, c, &other, b"").1,
        1,
        "another destination stays"
    );
}

#[test]
fn replace_changes_the_text_and_schedule_of_a_pending_message() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    let id = submit(&mut h, c, sm(b"447700900002", IN_10S));
    h.send(
        c,
        12,
        Body::ReplaceSm(pdu::ReplaceSm {
            message_id: &id,
            source_addr_ton: 5,
            source_addr: b"Shop",
            schedule_delivery_time: b"000000000020000R",
            registered_delivery: 1,
            short_message: b"replaced",
            ..Default::default()
        }),
    );
    assert_eq!(h.out(c)[0].status, S::ESME_ROK);
    // The old schedule (10 s) passes without a receipt; the new one (20 s) brings it.
    h.advance(1500);
    assert!(h.out(c).is_empty());
    h.advance(600);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert!(
        receipt_text(&out[0]).contains("text:replaced"),
        "{}",
        receipt_text(&out[0])
    );
    // Final now: replace fails.
    h.send(
        c,
        13,
        Body::ReplaceSm(pdu::ReplaceSm {
            message_id: &id,
            short_message: b"too late",
            ..Default::default()
        }),
    );
    assert_eq!(h.out(c)[0].status, S::ESME_RREPLACEFAIL);
}

#[test]
fn replace_if_present_takes_the_place_of_the_pending_message() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    let first = submit(&mut h, c, sm(b"447700900002", IN_10S));
    let mut again = sm(b"447700900002", IN_10S);
    again.replace_if_present_flag = 1;
    again.short_message = b"second";
    let second = submit(&mut h, c, again);
    assert_eq!(first, second, "the pending message was replaced, not added");
    assert_eq!(h.st.store.pending_len(), 1);
    h.advance(1100);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert!(receipt_text(&out[0]).contains("text:second"));
}

#[test]
fn a_message_whose_validity_runs_out_first_expires() {
    let mut h = Harness::new(&["--outcomes", "delay=5s"]);
    let c = trx(&mut h);
    let mut m = sm(b"447700900002", b"");
    m.validity_period = b"000000000002000R";
    let id = submit(&mut h, c, m);
    h.advance(199);
    assert!(h.out(c).is_empty());
    h.advance(1);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert!(receipt_text(&out[0]).contains("stat:EXPIRED"));
    assert_eq!(query(&mut h, c, &id, b"").1, 3, "EXPIRED");
    assert_eq!(h.st.m.message_expired, 1);
}

#[test]
fn a_store_full_of_pending_messages_refuses_new_ones() {
    let mut h = Harness::new(&["--message-store", "4"]);
    let c = trx(&mut h);
    for _ in 0..4 {
        submit(&mut h, c, sm(b"447700900002", IN_10S));
    }
    h.send(c, 14, Body::SubmitSm(sm(b"447700900002", IN_10S)));
    assert_eq!(h.out(c)[0].status, S::ESME_RMSGQFUL);
    // Once they are delivered, there is room again.
    h.advance(1100);
    h.out(c);
    submit(&mut h, c, sm(b"447700900002", b""));
}

#[test]
fn schedule_and_validity_beyond_thirty_days_are_refused() {
    let mut h = Harness::new(&[]);
    let c = trx(&mut h);
    h.send(
        c,
        15,
        Body::SubmitSm(sm(b"447700900002", b"000031000000000R")),
    );
    assert_eq!(h.out(c)[0].status, S::ESME_RINVSCHED);
    let mut m = sm(b"447700900002", b"");
    m.validity_period = b"000031000000000R";
    h.send(c, 16, Body::SubmitSm(m));
    assert_eq!(h.out(c)[0].status, S::ESME_RINVEXPIRY);
}
