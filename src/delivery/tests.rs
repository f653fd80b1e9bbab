//! Delivery without sockets: windows, deliver_sm_resp in any order,
//! retryable and final statuses, back-off, expiry, round-robin, and
//! deliveries held until a receiver binds.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::account::BindType;
use crate::pdu::{Body, CommandId as C, CommandStatus as S, MessageIdResp};
use crate::receipt::Receipt;
use crate::testutil::{receipt, Harness, Out};

/// Queues `n` receipts for the test account (as acceptance or a mailbox would).
fn queue(h: &mut Harness, n: usize) {
    for i in 0..n {
        let mut r: Receipt = receipt();
        r.message_id[23] = b'0' + (i % 10) as u8;
        h.st.delivery.fresh.push(r.into());
    }
    h.end_iteration();
}

fn deliver_sms(out: &[Out]) -> Vec<u32> {
    out.iter()
        .filter(|o| o.id == C::DELIVER_SM)
        .map(|o| o.seq)
        .collect()
}

fn resp(h: &mut Harness, slot: usize, seq: u32, status: S) {
    h.send_with(
        slot,
        seq,
        status,
        Body::DeliverSmResp(MessageIdResp { message_id: b"" }),
    );
}

fn receiver(h: &mut Harness) -> usize {
    let c = h.connect();
    h.bind(c, BindType::Receiver);
    c
}

#[test]
fn the_window_bounds_what_is_in_flight() {
    let mut h = Harness::new(&["--window", "2"]);
    let c = receiver(&mut h);
    queue(&mut h, 5);
    let sent = deliver_sms(&h.out(c));
    assert_eq!(sent.len(), 2);
    assert_eq!(h.st.delivery.queued(), 3);
    // One answer frees one slot: exactly one more goes out.
    resp(&mut h, c, sent[0], S::ESME_ROK);
    assert_eq!(deliver_sms(&h.out(c)).len(), 1);
    assert_eq!(h.session(c).inflight.len(), 2);
    assert_eq!(h.st.m.receipt_acked, 1);
}

#[test]
fn answers_in_any_order_each_free_their_own_slot() {
    let mut h = Harness::new(&["--window", "3"]);
    let c = receiver(&mut h);
    queue(&mut h, 3);
    let sent = deliver_sms(&h.out(c));
    assert_eq!(sent.len(), 3);
    for &seq in [sent[2], sent[0], sent[1]].iter() {
        resp(&mut h, c, seq, S::ESME_ROK);
    }
    assert!(h.session(c).inflight.is_empty());
    assert_eq!(h.st.m.receipt_acked, 3);
    assert!(h.st.delivery.store.is_empty());
    // A repeated or made-up sequence number changes nothing.
    resp(&mut h, c, sent[0], S::ESME_ROK);
    resp(&mut h, c, 999_999, S::ESME_ROK);
    assert_eq!(h.st.m.unexpected_resp, 2);
    assert_eq!(h.st.m.receipt_acked, 3);
}

#[test]
fn a_retryable_status_is_retried_with_doubling_back_off_then_dropped() {
    let mut h = Harness::new(&["--receipt-retries", "2", "--receipt-retry-backoff", "1s"]);
    let c = receiver(&mut h);
    queue(&mut h, 1);
    let first = deliver_sms(&h.out(c));
    resp(&mut h, c, first[0], S::ESME_RMSGQFUL);
    assert_eq!(h.st.m.receipt_retried, 1);
    assert_eq!(h.st.delivery.delayed.len(), 1);
    // First back-off: 1 s (100 ticks).
    h.advance(99);
    assert!(h.out(c).is_empty());
    h.advance(1);
    let second = deliver_sms(&h.out(c));
    assert_eq!(second.len(), 1);
    assert_ne!(second[0], first[0], "a retry is a new deliver_sm");
    resp(&mut h, c, second[0], S::ESME_RSYSERR);
    // Second back-off: 2 s.
    h.advance(199);
    assert!(h.out(c).is_empty());
    h.advance(1);
    let third = deliver_sms(&h.out(c));
    assert_eq!(third.len(), 1);
    // Retries spent: dropped and counted, not retried again.
    resp(&mut h, c, third[0], S::ESME_RTHROTTLED);
    assert_eq!(h.st.m.receipt_dropped_retries, 1);
    assert!(h.st.delivery.delayed.is_empty());
    h.advance(1000);
    assert!(deliver_sms(&h.out(c)).is_empty());
    assert!(h.st.delivery.store.is_empty());
}

#[test]
fn a_final_status_drops_the_delivery_at_once() {
    let mut h = Harness::new(&[]);
    let c = receiver(&mut h);
    queue(&mut h, 2);
    let sent = deliver_sms(&h.out(c));
    resp(&mut h, c, sent[0], S::ESME_RX_P_APPN);
    // A generic_nack of a deliver_sm counts as its answer.
    h.send_with(c, sent[1], S::ESME_RX_R_APPN, Body::GenericNack);
    assert_eq!(h.st.m.receipt_rejected, 2);
    assert_eq!(h.st.m.receipt_retried, 0);
    assert!(h.st.delivery.store.is_empty());
    h.advance(10_000);
    assert!(deliver_sms(&h.out(c)).is_empty());
}

#[test]
fn an_unanswered_deliver_sm_is_retried_after_the_response_timer() {
    let mut h = Harness::new(&["--response-timer", "1s", "--receipt-retry-backoff", "1s"]);
    let c = receiver(&mut h);
    queue(&mut h, 1);
    assert_eq!(deliver_sms(&h.out(c)).len(), 1);
    h.advance(99);
    assert_eq!(h.st.m.timeout_response, 0);
    h.advance(1);
    assert_eq!(h.st.m.timeout_response, 1);
    assert!(h.session(c).inflight.is_empty());
    h.advance(100);
    assert_eq!(
        deliver_sms(&h.out(c)).len(),
        1,
        "sent again after its back-off"
    );
}

#[test]
fn an_expired_delivery_is_dropped_not_sent() {
    let mut h = Harness::new(&[]);
    let mut r = receipt();
    r.expires_unix = h.st.clock.unix - 1;
    h.st.delivery.fresh.push(r.into());
    h.end_iteration();
    let c = receiver(&mut h);
    assert!(deliver_sms(&h.out(c)).is_empty());
    assert_eq!(h.st.m.receipt_expired, 1);
    assert!(h.st.delivery.store.is_empty());
}

#[test]
fn deliveries_go_round_robin_over_the_receivers() {
    let mut h = Harness::new(&["--window", "10"]);
    let a = receiver(&mut h);
    let b = h.connect();
    h.bind(b, BindType::Transceiver);
    // A transmitter of the same account never receives.
    let tx = h.connect();
    h.bind(tx, BindType::Transmitter);
    // Each pass starts at the next receiver and gives it what its window
    // has room for: six passes of one alternate.
    for _ in 0..6 {
        queue(&mut h, 1);
    }
    assert_eq!(deliver_sms(&h.out(a)).len(), 3);
    assert_eq!(deliver_sms(&h.out(b)).len(), 3);
    assert!(h.out(tx).is_empty());
    // One pass of twelve: the first in turn fills its window (10), the
    // other takes the rest.
    let mut h = Harness::new(&["--window", "10"]);
    let a = receiver(&mut h);
    let b = h.connect();
    h.bind(b, BindType::Transceiver);
    queue(&mut h, 12);
    let (na, nb) = (deliver_sms(&h.out(a)).len(), deliver_sms(&h.out(b)).len());
    assert_eq!(na + nb, 12);
    assert!(na == 10 || nb == 10, "{na} + {nb}");
}

#[test]
fn deliveries_are_held_until_a_receiver_binds() {
    let mut h = Harness::new(&[]);
    queue(&mut h, 4);
    assert_eq!(h.st.delivery.queued(), 4);
    let tx = h.connect();
    h.bind(tx, BindType::Transmitter);
    assert_eq!(h.st.delivery.queued(), 4);
    let c = receiver(&mut h);
    assert_eq!(deliver_sms(&h.out(c)).len(), 4);
    assert_eq!(h.st.delivery.queued(), 0);
}

#[test]
fn a_closed_receivers_window_goes_back_to_the_front_of_the_queue() {
    let mut h = Harness::new(&["--window", "2"]);
    let a = receiver(&mut h);
    queue(&mut h, 3);
    let sent_a = h.out(a);
    assert_eq!(deliver_sms(&sent_a).len(), 2);
    h.close(a);
    assert_eq!(h.st.m.receipt_retried, 2);
    assert_eq!(h.st.delivery.queued(), 3);
    // The next receiver gets them oldest first: the two that were in flight.
    let b = receiver(&mut h);
    let got = h.out(b);
    assert_eq!(deliver_sms(&got).len(), 2);
    let text = |o: &Out| match o.pdu().body {
        Body::DeliverSm(d) => d.short_message.to_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(&got[0]), text(&sent_a[0]));
    assert_eq!(text(&got[1]), text(&sent_a[1]));
}

#[test]
fn a_full_write_buffer_holds_deliveries_back() {
    let mut h = Harness::new(&["--window", "65535", "--max-write-buffer-bytes", "65536"]);
    let c = receiver(&mut h);
    queue(&mut h, 2000);
    let hw = h.st.high_watermark;
    assert!(h.session(c).tx.len() >= hw, "filled to the watermark");
    let inflight = h.session(c).inflight.len();
    assert!(inflight > 10 && inflight < 2000, "{inflight}");
    assert_eq!(h.st.delivery.queued(), 2000 - inflight);
    // The socket drains the buffer; one answer wakes the pump, which
    // fills the buffer to the watermark again.
    let sent = deliver_sms(&h.out(c));
    assert_eq!(sent.len(), inflight);
    resp(&mut h, c, sent[0], S::ESME_ROK);
    assert!(h.session(c).tx.len() >= hw);
    assert!(h.st.delivery.queued() < 2000 - inflight - 10);
}

#[test]
fn a_withdrawn_retrys_timer_does_not_release_the_next_item_in_its_slot() {
    let mut h = Harness::new(&[]);
    let c = receiver(&mut h);
    let ms = std::time::Duration::from_millis;
    h.st.delivery.delay(receipt(), ms(100), &mut h.st.clock);
    // Withdrawn (as a cancelled MO message is): its slot is free, its timer
    // still armed.
    h.st.delivery.delayed.clear();
    h.st.delivery.delay(receipt(), ms(300), &mut h.st.clock);
    h.advance(11);
    assert_eq!(h.st.delivery.delayed.len(), 1, "released at the old time");
    assert!(deliver_sms(&h.out(c)).is_empty());
    h.advance(20);
    assert!(h.st.delivery.delayed.is_empty());
    assert_eq!(deliver_sms(&h.out(c)).len(), 1, "at its own time");
}
