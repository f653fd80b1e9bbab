//! The session state machine without a socket: frames in, the answers it
//! wrote out, the state it reached, and its timers moved by hand.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::account::BindType;
use crate::conn::State;
use crate::pdu::{self, Body, CommandId as C, CommandStatus as S, Sm};
use crate::testutil::{Harness, PASSWORD, SYSTEM_ID};

fn bind_body(t: BindType, system_id: &'static [u8], password: &'static [u8]) -> Body<'static> {
    let b = pdu::Bind {
        system_id,
        password,
        interface_version: 0x34,
        ..Default::default()
    };
    match t {
        BindType::Transmitter => Body::BindTransmitter(b),
        BindType::Receiver => Body::BindReceiver(b),
        BindType::Transceiver => Body::BindTransceiver(b),
    }
}

fn resp_of(t: BindType) -> C {
    match t {
        BindType::Transmitter => C::BIND_TRANSMITTER_RESP,
        BindType::Receiver => C::BIND_RECEIVER_RESP,
        BindType::Transceiver => C::BIND_TRANSCEIVER_RESP,
    }
}

const ALL_BINDS: [BindType; 3] = [
    BindType::Transmitter,
    BindType::Receiver,
    BindType::Transceiver,
];

fn sm(receipt: u8) -> Sm<'static> {
    Sm {
        source_addr_ton: 5,
        source_addr: b"Shop",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900002",
        registered_delivery: receipt,
        short_message: b"hello",
        ..Default::default()
    }
}

/// One answer: (command id, status).
fn answer(h: &mut Harness, slot: usize) -> (C, S) {
    let out = h.out(slot);
    assert_eq!(out.len(), 1, "expected one answer, got {out:?}");
    (out[0].id, out[0].status)
}

#[test]
fn bind_matrix() {
    for t in ALL_BINDS {
        let mut h = Harness::new(&[]);
        let c = h.connect();
        h.send(c, 7, bind_body(t, SYSTEM_ID, PASSWORD));
        let out = h.out(c);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].id, out[0].status, out[0].seq),
            (resp_of(t), S::ESME_ROK, 7)
        );
        // A 3.4 bind is told the SMSC speaks 3.4 (sc_interface_version).
        let p = out[0].pdu();
        let tlvs = match p.body {
            Body::BindTransmitterResp(r)
            | Body::BindReceiverResp(r)
            | Body::BindTransceiverResp(r) => r.tlvs,
            other => panic!("{other:?}"),
        };
        assert!(tlvs.raw().windows(2).any(|w| w == [0x02, 0x10]), "{tlvs:?}");
        assert_eq!(h.session(c).state, State::Bound(t));
        assert_eq!(h.session(c).receiving, t.can_receive());
        // Any second bind on a bound session: ESME_RALYBND, state kept.
        for again in ALL_BINDS {
            h.send(c, 8, bind_body(again, SYSTEM_ID, PASSWORD));
            assert_eq!(answer(&mut h, c), (resp_of(again), S::ESME_RALYBND));
            assert_eq!(h.session(c).state, State::Bound(t));
        }
        // Wrong password, unknown system_id: refused with their statuses.
        let c2 = h.connect();
        h.send(c2, 1, bind_body(t, SYSTEM_ID, b"nope"));
        assert_eq!(answer(&mut h, c2), (resp_of(t), S::ESME_RINVPASWD));
        h.send(c2, 2, bind_body(t, b"nobody", PASSWORD));
        assert_eq!(answer(&mut h, c2), (resp_of(t), S::ESME_RINVSYSID));
        assert_eq!(h.session(c2).state, State::Open);
        assert_eq!(h.st.m.bind_ex, 5);
    }
}

/// Every request an ESME can send, in every state, and the status it gets.
#[test]
fn every_state_answers_every_request() {
    let sm_body = Body::SubmitSm(sm(0));
    let data_sm = Body::DataSm(pdu::DataSm {
        source_addr: b"Shop",
        source_addr_ton: 5,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900002",
        ..Default::default()
    });
    let query = Body::QuerySm(pdu::QuerySm {
        message_id: b"0123456789a0000000000001",
        ..Default::default()
    });
    let cancel = Body::CancelSm(pdu::CancelSm {
        message_id: b"0123456789a0000000000001",
        ..Default::default()
    });
    let replace = Body::ReplaceSm(pdu::ReplaceSm {
        message_id: b"0123456789a0000000000001",
        short_message: b"x",
        ..Default::default()
    });
    let deliver = Body::DeliverSm(sm(0));
    let enquire = Body::EnquireLink;
    type Row = (&'static str, C, [S; 4]);
    // Columns: open (not bound), TX, RX, TRX.
    let ok = S::ESME_ROK;
    let bnd = S::ESME_RINVBNDSTS;
    let table: Vec<(Body<'_>, Row)> = vec![
        (
            sm_body,
            ("submit_sm", C::SUBMIT_SM_RESP, [bnd, ok, bnd, ok]),
        ),
        (data_sm, ("data_sm", C::DATA_SM_RESP, [bnd, ok, ok, ok])),
        (
            query,
            (
                "query_sm",
                C::QUERY_SM_RESP,
                [bnd, S::ESME_RQUERYFAIL, bnd, S::ESME_RQUERYFAIL],
            ),
        ),
        (
            cancel,
            (
                "cancel_sm",
                C::CANCEL_SM_RESP,
                [bnd, S::ESME_RCANCELFAIL, bnd, S::ESME_RCANCELFAIL],
            ),
        ),
        (
            replace,
            (
                "replace_sm",
                C::REPLACE_SM_RESP,
                [bnd, S::ESME_RREPLACEFAIL, bnd, S::ESME_RREPLACEFAIL],
            ),
        ),
        (
            deliver,
            ("deliver_sm", C::DELIVER_SM_RESP, [bnd, bnd, bnd, bnd]),
        ),
        (
            enquire,
            ("enquire_link", C::ENQUIRE_LINK_RESP, [ok, ok, ok, ok]),
        ),
    ];
    let states: [Option<BindType>; 4] = [
        None,
        Some(BindType::Transmitter),
        Some(BindType::Receiver),
        Some(BindType::Transceiver),
    ];
    for (col, bound) in states.iter().enumerate() {
        let mut h = Harness::new(&[]);
        let c = h.connect();
        if let Some(t) = bound {
            h.bind(c, *t);
        }
        for (seq, (body, (name, resp, want))) in table.iter().enumerate() {
            h.send(c, 100 + seq as u32, *body);
            let out = h.out(c);
            assert_eq!(out.len(), 1, "{name} in {bound:?}: {out:?}");
            assert_eq!(
                (out[0].id, out[0].status, out[0].seq),
                (*resp, want[col], 100 + seq as u32),
                "{name} in {bound:?}"
            );
        }
        // An unknown command: generic_nack ESME_RINVCMDID, same sequence.
        let mut raw = pdu::Pdu::new(55, Body::EnquireLink).to_vec().unwrap();
        raw[4..8].copy_from_slice(&0x0000_0777u32.to_be_bytes());
        h.feed(c, &raw);
        let out = h.out(c);
        assert_eq!(
            (out[0].id, out[0].status, out[0].seq),
            (C::GENERIC_NACK, S::ESME_RINVCMDID, 55)
        );
        // Responses the server never asked for are not answered.
        h.send(
            c,
            56,
            Body::SubmitSmResp(pdu::MessageIdResp { message_id: b"x" }),
        );
        h.send(c, 57, Body::EnquireLinkResp);
        assert!(h.out(c).is_empty());
        assert_eq!(h.st.m.unexpected_resp, 2);
        // unbind: OK when bound (then the session ends), refused when not.
        h.send(c, 58, Body::Unbind);
        let want = if bound.is_some() { ok } else { bnd };
        assert_eq!(answer(&mut h, c), (C::UNBIND_RESP, want));
        assert_eq!(h.session(c).close_after_flush, bound.is_some());
    }
}

#[test]
fn a_bad_command_length_is_nacked_and_closes() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    // command_length 8: shorter than a header.
    let mut raw = pdu::Pdu::new(9, Body::EnquireLink).to_vec().unwrap();
    raw[0..4].copy_from_slice(&8u32.to_be_bytes());
    h.feed(c, &raw);
    let out = h.out(c);
    assert_eq!(
        (out[0].id, out[0].status, out[0].seq),
        (C::GENERIC_NACK, S::ESME_RINVCMDLEN, 9)
    );
    assert!(h.session(c).close_after_flush);
    // Larger than an unbound session may send.
    let c = h.connect();
    let mut raw = pdu::Pdu::new(3, Body::EnquireLink).to_vec().unwrap();
    raw[0..4].copy_from_slice(&(pdu::MAX_UNBOUND_PDU_BYTES + 1).to_be_bytes());
    h.feed(c, &raw);
    assert_eq!(answer(&mut h, c), (C::GENERIC_NACK, S::ESME_RINVCMDLEN));
}

#[test]
fn frames_split_and_batched_are_answered_in_order() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    h.bind(c, BindType::Transmitter);
    let mut bytes = Vec::new();
    for seq in 10..20 {
        bytes.extend(pdu::Pdu::new(seq, Body::SubmitSm(sm(0))).to_vec().unwrap());
    }
    // Nine and a half frames; the half waits in the read buffer.
    let cut = bytes.len() - 10;
    h.feed(c, &bytes[..cut]);
    let first = h.out(c);
    assert_eq!(first.len(), 9);
    h.feed(c, &bytes[cut..]);
    let all: Vec<u32> = first.iter().chain(h.out(c).iter()).map(|o| o.seq).collect();
    assert_eq!(all, (10..20).collect::<Vec<_>>());
}

#[test]
fn session_init_timer_closes_an_unbound_session_only() {
    let mut h = Harness::new(&["--session-init-timer", "2s"]);
    let idle = h.connect();
    let bound = h.connect();
    h.bind(bound, BindType::Transceiver);
    h.advance(199);
    assert!(h.closed.is_empty());
    h.advance(1);
    assert_eq!(h.closed, vec![idle]);
    assert_eq!(h.st.m.timeout_session_init, 1);
    assert!(h.out(idle).is_empty(), "closed without a PDU");
}

#[test]
fn enquire_link_probes_a_quiet_link_and_closes_an_unanswered_one() {
    let mut h = Harness::new(&["--enquire-link-timer", "1s", "--response-timer", "500ms"]);
    let c = h.connect();
    h.bind(c, BindType::Transceiver);
    h.advance(99);
    assert!(h.out(c).is_empty());
    h.advance(1);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, C::ENQUIRE_LINK);
    // Answered: nothing closes; the next probe comes a timer later.
    h.send(c, out[0].seq, Body::EnquireLinkResp);
    assert!(h.session(c).enquire_pending.is_none());
    h.advance(100);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, C::ENQUIRE_LINK);
    // Not answered within the response timer: closed.
    h.advance(49);
    assert!(h.closed.is_empty());
    h.advance(1);
    assert_eq!(h.closed, vec![c]);
    assert_eq!(h.st.m.timeout_enquire_link, 1);
}

#[test]
fn traffic_postpones_the_enquire_link() {
    let mut h = Harness::new(&["--enquire-link-timer", "1s"]);
    let c = h.connect();
    h.bind(c, BindType::Transceiver);
    for _ in 0..5 {
        h.advance(60);
        h.send(c, 9, Body::EnquireLink);
        assert_eq!(answer(&mut h, c), (C::ENQUIRE_LINK_RESP, S::ESME_ROK));
    }
    assert_eq!(h.st.m.enquire_link_tx, 0);
}

#[test]
fn inactivity_unbinds_and_unbind_resp_closes() {
    let mut h = Harness::new(&["--inactivity-timer", "3s", "--enquire-link-timer", "1h"]);
    let c = h.connect();
    h.bind(c, BindType::Transmitter);
    // enquire_link is not traffic: it does not hold the session open.
    h.advance(150);
    h.send(c, 2, Body::EnquireLink);
    h.out(c);
    h.advance(149);
    assert!(h.out(c).is_empty());
    h.advance(1);
    let out = h.out(c);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, C::UNBIND);
    assert_eq!(h.session(c).state, State::Unbinding);
    assert_eq!(h.st.m.timeout_inactivity, 1);
    h.send(c, out[0].seq, Body::UnbindResp);
    assert_eq!(h.session(c).state, State::Closing);
}

#[test]
fn an_unanswered_server_unbind_closes_at_the_response_timer() {
    let mut h = Harness::new(&["--inactivity-timer", "1s", "--response-timer", "2s"]);
    let c = h.connect();
    h.bind(c, BindType::Receiver);
    h.advance(100);
    assert_eq!(h.out(c)[0].id, C::UNBIND);
    // Unbinding: no more deliveries are routed to it.
    assert!(!h.session(c).receiving);
    h.advance(199);
    assert!(h.closed.is_empty());
    h.advance(1);
    assert_eq!(h.closed, vec![c]);
}

#[test]
fn a_trx_submit_gets_its_response_then_its_receipt_in_one_write() {
    let mut h = Harness::new(&[]);
    let c = h.connect();
    h.bind(c, BindType::Transceiver);
    h.send(c, 40, Body::SubmitSm(sm(1)));
    let out = h.out(c);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        (out[0].id, out[0].status, out[0].seq),
        (C::SUBMIT_SM_RESP, S::ESME_ROK, 40)
    );
    assert_eq!(out[1].id, C::DELIVER_SM);
    let id = match out[0].pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        b => panic!("{b:?}"),
    };
    let text = match out[1].pdu().body {
        Body::DeliverSm(d) => d.short_message.to_vec(),
        b => panic!("{b:?}"),
    };
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.starts_with(&format!("id:{}", String::from_utf8(id).unwrap())),
        "{text}"
    );
    assert!(text.contains("stat:DELIVRD"), "{text}");
    // Acknowledged: the window empties, the journal-less store too.
    h.send(
        c,
        out[1].seq,
        Body::DeliverSmResp(pdu::MessageIdResp { message_id: b"" }),
    );
    assert!(h.session(c).inflight.is_empty());
    assert_eq!(h.st.m.receipt_acked, 1);
    assert!(h.st.delivery.store.is_empty());
}
