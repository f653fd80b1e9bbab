//! Session init, enquire link, inactivity and response timers, with short values.
mod common;
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S, Pdu};
use std::time::{Duration, Instant};

#[test]
fn session_init_timer_closes_unbound_connection() {
    let srv = server(&["--session-init-timer", "300ms"]);
    let mut e = Esme::connect(srv.local_addr());
    let t0 = Instant::now();
    assert!(e.closed_within(Duration::from_secs(3)));
    assert!(t0.elapsed() >= Duration::from_millis(250));
    // A bound session is not closed by it.
    let mut b = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    assert!(!b.closed_within(Duration::from_millis(600)));
    assert!(srv.shared().snapshot().counters.timeout_session_init >= 1);
    srv.stop();
}

#[test]
fn enquire_link_sent_when_idle_and_answered_keeps_session() {
    let srv = server(&["--enquire-link-timer", "200ms", "--response-timer", "300ms"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    for _ in 0..3 {
        let g = e
            .recv_timeout(Duration::from_secs(2))
            .expect("server enquire_link");
        assert_eq!(g.id(), CommandId::ENQUIRE_LINK);
        e.send(&Pdu::new(g.seq(), Body::EnquireLinkResp));
    }
    assert_eq!(e.submit(sm(b"alive", 0)).status(), S::ESME_ROK);
    srv.stop();
}

#[test]
fn unanswered_enquire_link_closes_after_response_timer() {
    let srv = server(&["--enquire-link-timer", "200ms", "--response-timer", "300ms"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let g = e
        .recv_timeout(Duration::from_secs(2))
        .expect("enquire_link");
    assert_eq!(g.id(), CommandId::ENQUIRE_LINK);
    assert!(e.closed_within(Duration::from_secs(3)));
    let shared = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || shared
        .snapshot()
        .counters
        .timeout_enquire_link
        >= 1));
    srv.stop();
}

#[test]
fn inactivity_timer_unbinds_then_closes_on_unbind_resp() {
    // enquire_link traffic keeps the link up but does not count as activity.
    let srv = server(&[
        "--inactivity-timer",
        "500ms",
        "--enquire-link-timer",
        "150ms",
    ]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let t0 = Instant::now();
    let unbind = loop {
        let g = e
            .recv_timeout(Duration::from_secs(3))
            .expect("unbind from server");
        match g.id() {
            CommandId::ENQUIRE_LINK => e.send(&Pdu::new(g.seq(), Body::EnquireLinkResp)),
            CommandId::UNBIND => break g,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(t0.elapsed() >= Duration::from_millis(450));
    e.send(&Pdu::new(unbind.seq(), Body::UnbindResp));
    assert!(e.closed_within(Duration::from_secs(2)));
    srv.stop();
}

#[test]
fn inactivity_unbind_without_resp_closes_after_response_timer() {
    let srv = server(&["--inactivity-timer", "300ms", "--response-timer", "300ms"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let g = e.recv_id(CommandId::UNBIND);
    assert_eq!(g.status(), S::ESME_ROK);
    // During unbinding new submits are refused.
    e.request(Body::SubmitSm(sm(b"late", 0)));
    assert_eq!(
        e.recv_id(CommandId::SUBMIT_SM_RESP).status(),
        S::ESME_RINVBNDSTS
    );
    assert!(e.closed_within(Duration::from_secs(3)));
    srv.stop();
}

#[test]
fn traffic_defers_inactivity() {
    let srv = server(&["--inactivity-timer", "400ms"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(900) {
        assert_eq!(e.submit(sm(b"busy", 0)).status(), S::ESME_ROK);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(srv.shared().snapshot().counters.timeout_inactivity, 0);
    srv.stop();
}
