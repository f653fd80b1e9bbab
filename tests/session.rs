//! Binds, statuses and state transitions over real sockets.
mod common;
use common::*;
use smsc::pdu::{self, Body, CommandId, CommandStatus as S};
use std::time::Duration;

#[test]
fn bind_each_type_and_resp_carries_system_id_and_version() {
    let srv = server(&["--system-id", "TESTSMSC"]);
    for id in [
        CommandId::BIND_TRANSMITTER,
        CommandId::BIND_RECEIVER,
        CommandId::BIND_TRANSCEIVER,
    ] {
        let mut e = Esme::connect(srv.local_addr());
        let r = e.bind(id, "esme", "secret");
        assert_eq!(r.status(), S::ESME_ROK);
        assert_eq!(r.id(), id.response());
        let p = r.pdu();
        let resp = match p.body {
            Body::BindTransmitterResp(b)
            | Body::BindReceiverResp(b)
            | Body::BindTransceiverResp(b) => b,
            other => panic!("{other:?}"),
        };
        assert_eq!(resp.system_id, b"TESTSMSC");
        assert_eq!(resp.tlvs.sc_interface_version(), Some(0x34));
    }
    srv.stop();
}

#[test]
fn bind_failures_have_their_statuses() {
    let srv = server(&["--bind-fail-limit", "0"]);
    let mut e = Esme::connect(srv.local_addr());
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "nobody", "secret")
            .status(),
        S::ESME_RINVSYSID
    );
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "wrong")
            .status(),
        S::ESME_RINVPASWD
    );
    // The connection stays usable after a refused bind.
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    assert_eq!(
        e.bind(CommandId::BIND_TRANSMITTER, "esme", "secret")
            .status(),
        S::ESME_RALYBND
    );
    srv.stop();
}

#[test]
fn submit_before_bind_and_on_receiver_is_rinvbndsts() {
    let srv = server(&[]);
    let mut e = Esme::connect(srv.local_addr());
    let r = e.submit(sm(b"hi", 0));
    assert_eq!(r.status(), S::ESME_RINVBNDSTS);
    let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    assert_eq!(rx.submit(sm(b"hi", 0)).status(), S::ESME_RINVBNDSTS);
    srv.stop();
}

#[test]
fn enquire_link_answered_in_every_state() {
    let srv = server(&[]);
    let mut e = Esme::connect(srv.local_addr());
    let seq = e.request(Body::EnquireLink);
    let r = e.recv();
    assert_eq!(
        (r.id(), r.status(), r.seq()),
        (CommandId::ENQUIRE_LINK_RESP, S::ESME_ROK, seq)
    );
    let mut b = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let seq = b.request(Body::EnquireLink);
    let r = b.recv();
    assert_eq!((r.id(), r.seq()), (CommandId::ENQUIRE_LINK_RESP, seq));
    srv.stop();
}

#[test]
fn unknown_command_id_gets_generic_nack_and_session_continues() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.send_raw(&[0, 0, 0, 16, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 42]);
    let r = e.recv();
    assert_eq!(
        (r.id(), r.status(), r.seq()),
        (CommandId::GENERIC_NACK, S::ESME_RINVCMDID, 42)
    );
    assert_eq!(e.submit(sm(b"still here", 0)).status(), S::ESME_ROK);
    srv.stop();
}

#[test]
fn bad_command_length_gets_nack_then_close() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.send_raw(&[0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9]);
    let r = e.recv();
    assert_eq!(
        (r.id(), r.status(), r.seq()),
        (CommandId::GENERIC_NACK, S::ESME_RINVCMDLEN, 9)
    );
    assert!(e.closed_within(Duration::from_secs(5)));
    // Oversized before bind (small pre-bind cap).
    let mut u = Esme::connect(srv.local_addr());
    u.send_raw(&[0, 0, 0x10, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3]);
    let r = u.recv();
    assert_eq!(
        (r.id(), r.status()),
        (CommandId::GENERIC_NACK, S::ESME_RINVCMDLEN)
    );
    assert!(u.closed_within(Duration::from_secs(5)));
    srv.stop();
}

#[test]
fn unbind_from_esme_gets_resp_and_close() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let seq = e.request(Body::Unbind);
    let r = e.recv();
    assert_eq!(
        (r.id(), r.status(), r.seq()),
        (CommandId::UNBIND_RESP, S::ESME_ROK, seq)
    );
    assert!(e.closed_within(Duration::from_secs(5)));
    // unbind while open is not allowed.
    let mut o = Esme::connect(srv.local_addr());
    o.request(Body::Unbind);
    assert_eq!(o.recv().status(), S::ESME_RINVBNDSTS);
    srv.stop();
}

#[test]
fn unexpected_responses_are_ignored() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.send(&pdu::Pdu::new(
        77,
        Body::DeliverSmResp(pdu::MessageIdResp { message_id: b"" }),
    ));
    e.send(&pdu::Pdu::new(78, Body::EnquireLinkResp));
    e.send(&pdu::Pdu::new(79, Body::GenericNack));
    assert_eq!(e.submit(sm(b"ok", 0)).status(), S::ESME_ROK);
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(3), || s
        .snapshot()
        .counters
        .unexpected_resp
        >= 3));
    srv.stop();
}
