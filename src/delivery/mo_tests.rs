//! Messages to numbers an account owns, delivered to it as MO deliver_sm
//! through the same windows, queues and retries as receipts; the
//! submitter's receipt tells what the receiving ESME did.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::account::BindType;
use crate::pdu::{self, Body, CommandId as C, CommandStatus as S, MessageIdResp, Sm, Tag};
use crate::testutil::{Harness, Out};

/// The submitter is `esme`; numbers 4479... belong to `mo`.
fn harness(extra: &[&str]) -> Harness {
    let mut args = vec!["--account", "mo:pw", "--route", "4479=mo"];
    args.extend_from_slice(extra);
    Harness::new(&args)
}

fn sm(dest: &'static [u8], text: &'static [u8]) -> Sm<'static> {
    Sm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: dest,
        registered_delivery: 1,
        data_coding: 0,
        short_message: text,
        ..Default::default()
    }
}

fn submitter(h: &mut Harness) -> usize {
    let c = h.connect();
    h.bind(c, BindType::Transceiver);
    c
}

fn receiver(h: &mut Harness, range: &[u8]) -> usize {
    let c = h.connect();
    let b = pdu::Bind {
        system_id: b"mo",
        password: b"pw",
        interface_version: 0x34,
        address_range: range,
        ..Default::default()
    };
    h.send(c, 1, Body::BindReceiver(b));
    let out = h.out(c);
    assert_eq!(out[0].status, S::ESME_ROK, "{out:?}");
    h.pending_push(c, out.into_iter().skip(1).collect());
    c
}

fn submit(h: &mut Harness, c: usize, m: Sm<'_>) -> Vec<u8> {
    h.send(c, 2, Body::SubmitSm(m));
    let out = h.out(c);
    assert_eq!(
        (out[0].id, out[0].status),
        (C::SUBMIT_SM_RESP, S::ESME_ROK),
        "{out:?}"
    );
    let id = match out[0].pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        b => panic!("{b:?}"),
    };
    assert_eq!(
        out.len(),
        1,
        "no receipt before the receiver answered: {out:?}"
    );
    id
}

fn delivers(out: &[Out]) -> Vec<&Out> {
    out.iter().filter(|o| o.id == C::DELIVER_SM).collect()
}

fn text(o: &Out) -> String {
    match o.pdu().body {
        Body::DeliverSm(d) => String::from_utf8_lossy(d.short_message).into_owned(),
        b => panic!("{b:?}"),
    }
}

fn answer(h: &mut Harness, c: usize, seq: u32, status: S) {
    h.send_with(
        c,
        seq,
        status,
        Body::DeliverSmResp(MessageIdResp { message_id: b"" }),
    );
}

fn state_of(h: &mut Harness, c: usize, id: &[u8]) -> u8 {
    h.send(
        c,
        9,
        Body::QuerySm(pdu::QuerySm {
            message_id: id,
            ..Default::default()
        }),
    );
    match h.out(c)[0].pdu().body {
        Body::QuerySmResp(r) => r.message_state,
        b => panic!("{b:?}"),
    }
}

#[test]
fn an_mo_message_reaches_the_owner_and_its_receipt_the_submitter() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let b = receiver(&mut h, b"");
    let id = submit(&mut h, a, sm(b"447912345678", b"hi B"));
    let got = h.out(b);
    let mo = delivers(&got);
    assert_eq!(mo.len(), 1);
    match mo[0].pdu().body {
        Body::DeliverSm(d) => {
            assert_eq!(d.esm_class, 0, "MO, not a receipt");
            assert_eq!(
                (d.source_addr, d.destination_addr),
                (&b"447700900001"[..], &b"447912345678"[..])
            );
            assert_eq!((d.source_addr_ton, d.dest_addr_ton), (1, 1));
            assert_eq!(d.short_message, b"hi B");
        }
        x => panic!("{x:?}"),
    }
    assert_eq!(state_of(&mut h, a, &id), 1, "ENROUTE until B answers");
    answer(&mut h, b, mo[0].seq, S::ESME_ROK);
    let r = h.out(a);
    assert_eq!(r.len(), 1);
    let t = text(&r[0]);
    assert!(
        t.contains("stat:DELIVRD") && t.contains(std::str::from_utf8(&id).unwrap()),
        "{t}"
    );
    assert_eq!(state_of(&mut h, a, &id), 2);
    assert_eq!(h.st.m.mo_delivered, 1);
    // Numbers nobody owns keep the outcome model.
    submit_immediate(&mut h, a);
}

#[test]
fn a_delivered_mo_message_leaves_no_timer_behind() {
    // Its validity timer (days away) is disarmed when B answers: the wheel
    // does not keep one entry per message delivered until the validity.
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let b = receiver(&mut h, b"");
    let before = h.st.clock.armed();
    let mut seqs = Vec::new();
    for _ in 0..20 {
        submit(&mut h, a, sm(b"447912345678", b"hi B"));
        seqs.extend(delivers(&h.out(b)).iter().map(|o| o.seq));
    }
    assert_eq!(seqs.len(), 20);
    // Handed to B at once: no validity timer yet, only a deferred one
    // (the response timers of B's window aside).
    assert_eq!(h.st.deferred_timers(), 20);
    assert!(
        h.st.clock.armed() <= before + 2,
        "no validity timer armed yet"
    );
    // The first ten are answered within the grace; the others after it,
    // by when their validity timers are armed, then disarmed.
    for &seq in &seqs[..10] {
        answer(&mut h, b, seq, S::ESME_ROK);
    }
    h.advance(crate::clock::ticks(crate::loop_state::ARM_GRACE) + 1);
    assert_eq!(h.st.deferred_timers(), 0);
    assert!(
        h.st.clock.armed() >= before + 10,
        "the ten still pending got their timer"
    );
    for &seq in &seqs[10..] {
        answer(&mut h, b, seq, S::ESME_ROK);
    }
    assert_eq!(h.st.m.mo_delivered, 20);
    // (Session timers aside: the response timers of the two windows.)
    assert!(
        h.st.clock.armed() <= before + 4,
        "{} timers armed after delivery, {before} before",
        h.st.clock.armed()
    );
}

#[test]
fn a_pass_fills_one_receivers_window_and_the_next_pass_starts_at_the_next() {
    let mut h = harness(&["--window", "4"]);
    let a = submitter(&mut h);
    let b1 = receiver(&mut h, b"");
    let b2 = receiver(&mut h, b"");
    // Six MO messages in one pass (one read): the first receiver takes what
    // its window has room for, the second the rest.
    let frames: Vec<u8> = (0..6u32)
        .flat_map(|i| {
            let body = Body::SubmitSm(sm(b"447912345678", b"x"));
            crate::pdu::Pdu::with_status(10 + i, S::ESME_ROK, body)
                .to_vec()
                .unwrap()
        })
        .collect();
    h.feed(a, &frames);
    h.end_iteration();
    let (n1, n2) = (delivers(&h.out(b1)).len(), delivers(&h.out(b2)).len());
    assert_eq!((n1, n2), (4, 2), "a pass fills a window before the next");
    // One at a time, passes take turns over the receivers with room.
    let b3 = receiver(&mut h, b"");
    let mut got = [0usize; 3];
    for i in 0..2u32 {
        h.send(a, 40 + i, Body::SubmitSm(sm(b"447912345678", b"y")));
        for (k, c) in [b1, b2, b3].into_iter().enumerate() {
            got[k] += delivers(&h.out(c)).len();
        }
    }
    assert_eq!(got[0], 0, "b1's window is full");
    assert_eq!((got[1], got[2]), (1, 1), "turns: {got:?}");
}

fn submit_immediate(h: &mut Harness, a: usize) {
    h.send(a, 3, Body::SubmitSm(sm(b"447700900002", b"x")));
    let out = h.out(a);
    assert_eq!(out.len(), 2, "response and receipt at once: {out:?}");
}

#[test]
fn a_final_refusal_is_undeliv_with_the_receivers_status() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let b = receiver(&mut h, b"");
    let id = submit(&mut h, a, sm(b"447912345678", b"no"));
    let seq = delivers(&h.out(b))[0].seq;
    answer(&mut h, b, seq, S::ESME_RX_P_APPN);
    let t = text(&h.out(a)[0]);
    assert!(t.contains("stat:UNDELIV"), "{t}");
    assert_eq!(state_of(&mut h, a, &id), 5, "UNDELIVERABLE");
    assert_eq!(
        (h.st.m.mo_rejected, h.st.m.receipt_rejected),
        (1, 0),
        "counted as an MO drop"
    );
}

#[test]
fn a_retryable_refusal_is_retried_then_delivered() {
    let mut h = harness(&["--receipt-retry-backoff", "1s"]);
    let a = submitter(&mut h);
    let b = receiver(&mut h, b"");
    submit(&mut h, a, sm(b"447912345678", b"again"));
    let seq = delivers(&h.out(b))[0].seq;
    answer(&mut h, b, seq, S::ESME_RMSGQFUL);
    assert!(h.out(a).is_empty());
    assert_eq!(h.st.m.mo_retried, 1);
    h.advance(100);
    let again = h.out(b);
    let mo = delivers(&again);
    assert_eq!(mo.len(), 1);
    assert_eq!(text(mo[0]), "again");
    answer(&mut h, b, mo[0].seq, S::ESME_ROK);
    assert!(text(&h.out(a)[0]).contains("stat:DELIVRD"));
}

#[test]
fn held_until_the_owner_binds_or_expired_when_its_validity_ends() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    submit(&mut h, a, sm(b"447912345678", b"wait"));
    let mut short = sm(b"447912345679", b"too late");
    short.validity_period = b"000000000002000R";
    let late = submit(&mut h, a, short);
    // As the loop does, in steps: the validity timers are armed once their
    // grace is over (`LoopState::arm_deferred`), then fire on time.
    h.advance(30);
    assert!(h.out(a).is_empty(), "not expired yet");
    h.advance(170);
    let t = text(&h.out(a)[0]);
    assert!(
        t.contains("stat:EXPIRED") && t.contains(std::str::from_utf8(&late).unwrap()),
        "{t}"
    );
    let b = receiver(&mut h, b"");
    let got = h.out(b);
    let mo = delivers(&got);
    assert_eq!(mo.len(), 1, "only the one still valid: {got:?}");
    assert_eq!(text(mo[0]), "wait");
}

#[test]
fn address_range_splits_mo_between_receivers_but_not_receipts() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let one = receiver(&mut h, b"^44791");
    let two = receiver(&mut h, b"^44792");
    submit(&mut h, a, sm(b"447911111111", b"for one"));
    submit(&mut h, a, sm(b"447922222222", b"for two"));
    submit(&mut h, a, sm(b"447933333333", b"for nobody"));
    let o1 = h.out(one);
    let o2 = h.out(two);
    assert_eq!(
        delivers(&o1).iter().map(|o| text(o)).collect::<Vec<_>>(),
        vec!["for one"]
    );
    assert_eq!(
        delivers(&o2).iter().map(|o| text(o)).collect::<Vec<_>>(),
        vec!["for two"]
    );
    assert_eq!(
        h.st.delivery.queued(),
        1,
        "the third waits for a bind whose range admits it"
    );
    // A bind without a range takes what nobody else could.
    let any = receiver(&mut h, b"");
    assert_eq!(delivers(&h.out(any)).len(), 1);
    // An address_range that does not compile refuses the bind.
    let bad = h.connect();
    h.send(
        bad,
        1,
        Body::BindReceiver(pdu::Bind {
            system_id: b"mo",
            password: b"pw",
            address_range: b"(",
            ..Default::default()
        }),
    );
    assert_eq!(h.out(bad)[0].status, S::ESME_RBINDFAIL);
}

#[test]
fn a_scheduled_mo_waits_and_a_cancelled_one_never_arrives() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let mut later = sm(b"447912345678", b"at five");
    later.schedule_delivery_time = b"000000000005000R";
    submit(&mut h, a, later);
    let gone = submit(&mut h, a, sm(b"447912345670", b"cancelled"));
    h.send(
        a,
        11,
        Body::CancelSm(pdu::CancelSm {
            message_id: &gone,
            ..Default::default()
        }),
    );
    let out = h.out(a);
    assert_eq!(out[0].status, S::ESME_ROK);
    assert!(text(&out[1]).contains("stat:DELETED"));
    let b = receiver(&mut h, b"");
    let early = h.out(b);
    assert!(
        delivers(&early).is_empty(),
        "neither before its time nor cancelled: {:?}",
        delivers(&early).iter().map(|o| text(o)).collect::<Vec<_>>()
    );
    h.advance(500);
    let got = h.out(b);
    assert_eq!(
        delivers(&got).iter().map(|o| text(o)).collect::<Vec<_>>(),
        vec!["at five"]
    );
}

#[test]
fn udh_and_payload_tlvs_are_carried_over() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let b = receiver(&mut h, b"");
    let mut part = sm(b"447912345678", b"\x05\x00\x03\x2a\x02\x01part one");
    part.esm_class = 0x40;
    submit(&mut h, a, part);
    let mut tlvs = pdu::TlvBuf::new();
    tlvs.push(Tag::MESSAGE_PAYLOAD, b"a long payload");
    tlvs.push_u16(Tag::USER_MESSAGE_REFERENCE, 77);
    let mut payload = sm(b"447912345678", b"");
    payload.tlvs = tlvs.as_tlvs();
    submit(&mut h, a, payload);
    let got = h.out(b);
    let mo = delivers(&got);
    assert_eq!(mo.len(), 2);
    match mo[0].pdu().body {
        Body::DeliverSm(d) => assert_eq!(d.esm_class, 0x40, "UDHI kept"),
        x => panic!("{x:?}"),
    }
    match mo[1].pdu().body {
        Body::DeliverSm(d) => {
            assert_eq!(d.tlvs.message_payload(), Some(&b"a long payload"[..]));
            assert_eq!(d.tlvs.get_u16(Tag::USER_MESSAGE_REFERENCE), Some(77));
        }
        x => panic!("{x:?}"),
    }
}

#[test]
fn an_mo_in_flight_to_a_receiver_that_closes_goes_to_the_next_one() {
    let mut h = harness(&[]);
    let a = submitter(&mut h);
    let b1 = receiver(&mut h, b"");
    submit(&mut h, a, sm(b"447912345678", b"again"));
    assert_eq!(delivers(&h.out(b1)).len(), 1);
    // b1 goes away without answering: the MO is requeued, counted as an
    // MO retry (not a receipt's), and reaches the next receiver.
    h.close(b1);
    assert_eq!((h.st.m.mo_retried, h.st.m.receipt_retried), (1, 0));
    let b2 = receiver(&mut h, b"");
    h.end_iteration();
    let got = h.out(b2);
    let mo = delivers(&got);
    assert_eq!(mo.len(), 1, "{got:?}");
    assert_eq!(text(mo[0]), "again");
}

/// The field-by-field deliver_sm of an MO message is octet for octet what
/// the generic encoder makes of the same fields (the UDHI bit kept, other
/// esm_class bits cleared, TLVs only when asked for).
#[test]
fn mo_encode_matches_the_generic_encoder() {
    use crate::delivery::item::Mo;
    use crate::receipt::Addr;
    use bytes::Bytes;
    let tlvs: &[u8] = &[0x02, 0x04, 0, 2, 0, 9, 0x04, 0x24, 0, 3, b'a', b'b', b'c'];
    for (esm, text, raw, with) in [
        (0x40u8, &b"\x05\x00\x03\x01\x02\x01hi"[..], tlvs, true),
        (0x43, &b"plain"[..], tlvs, false),
        (0x00, &b""[..], &[][..], true),
        (0x00, &[0x41u8; 255][..], tlvs, true),
    ] {
        let mo = Mo {
            account: crate::account::AccountId(1),
            origin: (0, 7),
            origin_node: 0,
            source: Addr::new(5, 0, b"Sender"),
            dest: Addr::new(1, 1, b"447900900001"),
            esm_class: esm,
            protocol_id: 0x7f,
            priority_flag: 2,
            data_coding: 8,
            short_message: Bytes::copy_from_slice(text),
            tlvs: Bytes::copy_from_slice(raw),
            expires_unix: 0,
            attempts: 0,
            jid: 0,
        };
        let mut got = vec![0u8; mo.max_len()];
        let n = mo.encode(42, with, &mut got).unwrap();
        got.truncate(n);
        let sm = Sm {
            source_addr_ton: 5,
            source_addr_npi: 0,
            source_addr: b"Sender",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447900900001",
            esm_class: esm & 0x40,
            protocol_id: 0x7f,
            priority_flag: 2,
            data_coding: 8,
            short_message: text,
            tlvs: if with {
                pdu::Tlvs::parse(raw).unwrap()
            } else {
                pdu::Tlvs::EMPTY
            },
            ..Sm::default()
        };
        let len = pdu::BodyCodec::body_len(&sm).unwrap() + pdu::HEADER_LEN;
        let mut want = vec![0u8; len];
        pdu::encode_body_into(&sm, C::DELIVER_SM, S::ESME_ROK, 42, len, &mut want).unwrap();
        assert_eq!(got, want, "esm {esm:#x} with_tlvs {with}");
        // A buffer one octet short is refused, never overrun.
        let mut short = vec![0u8; n - 1];
        assert!(mo.encode(42, with, &mut short).is_err());
    }
}
