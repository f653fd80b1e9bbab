//! ESME-to-ESME helpers: account `mo` owns the numbers 4479..., its
//! receivers bind with an address_range, and what they get is read here.
use super::{sm, Esme, Got};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S, Sm};
use std::net::SocketAddr;

/// Server flags: account `mo:pw` owns every destination starting 4479.
pub const ACCOUNT: [&str; 4] = ["--account", "mo:pw", "--route", "4479=mo"];

/// A bind_receiver of `mo` that gets the MO messages `range` matches
/// (empty: all of them).
pub fn receiver(addr: SocketAddr, range: &'static [u8]) -> Esme {
    let mut e = Esme::connect(addr);
    e.request(Body::BindReceiver(pdu::Bind {
        system_id: b"mo",
        password: b"pw",
        system_type: b"",
        interface_version: 0x34,
        addr_ton: 0,
        addr_npi: 0,
        address_range: range,
    }));
    assert_eq!(e.recv_id(C::BIND_RECEIVER_RESP).status(), S::ESME_ROK);
    e
}

/// [`sm`] (from 447700900001, a receipt asked for) to `dest`.
pub fn to(dest: &'static [u8], text: &'static [u8]) -> Sm<'static> {
    Sm {
        destination_addr: dest,
        ..sm(text, 1)
    }
}

/// A deliver_sm's short_message (an MO's text, or a receipt's).
pub fn text_of(g: &Got) -> String {
    match g.pdu().body {
        Body::DeliverSm(d) => String::from_utf8_lossy(d.short_message).into_owned(),
        b => panic!("not a deliver_sm: {b:?}"),
    }
}

/// A deliver_sm's destination_addr.
pub fn dest_of(g: &Got) -> Vec<u8> {
    match g.pdu().body {
        Body::DeliverSm(d) => d.destination_addr.to_vec(),
        b => panic!("not a deliver_sm: {b:?}"),
    }
}

/// A submit_sm_resp's message_id.
pub fn message_id(g: &Got) -> Vec<u8> {
    match g.pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        b => panic!("not a submit_sm_resp: {b:?}"),
    }
}

/// query_sm of `id` (source 447700900001): the status and message_state.
pub fn query(e: &mut Esme, id: &[u8]) -> (S, u8) {
    e.request(Body::QuerySm(pdu::QuerySm {
        message_id: id,
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
    }));
    let g = e.recv_id(C::QUERY_SM_RESP);
    let state = match g.pdu().body {
        Body::QuerySmResp(r) => r.message_state,
        _ => 0,
    };
    (g.status(), state)
}

/// Answers the deliver_sm `g` with `status`.
pub fn answer(e: &mut Esme, g: &Got, status: S) {
    e.send(&pdu::Pdu::with_status(
        g.seq(),
        status,
        Body::DeliverSmResp(pdu::MessageIdResp { message_id: b"" }),
    ));
}

/// replace_sm of `id` (source 447700900001) with `text`, a receipt asked
/// for: the replace_sm_resp's status.
pub fn replace(e: &mut Esme, id: &[u8], text: &[u8]) -> S {
    e.request(Body::ReplaceSm(pdu::ReplaceSm {
        message_id: id,
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        registered_delivery: 1,
        short_message: text,
        ..Default::default()
    }));
    e.recv_id(C::REPLACE_SM_RESP).status()
}
