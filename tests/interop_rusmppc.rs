//! Interop with a client no one here wrote: `rusmppc` 0.4 (tokio, Rusmpp
//! project). rusmppc speaks SMPP v5.0 PDUs; we bind with interface_version
//! 0x34 (its v5-only check disabled) except where a test says otherwise.
//!
//! Every connection goes through [`Tap`], which records the raw bytes both
//! ways, so a failure message can show what rusmppc sent and what the server
//! answered in hex.
//!
//! rusmppc behaviour worth knowing (from its source, 0.4.0):
//! - it answers the server's enquire_link by itself (auto_enquire_link_response,
//!   on by default) but NOT deliver_sm: the application must call
//!   `Client::deliver_sm_resp`;
//! - its own periodic enquire_link is disabled here (`no_enquire_link_interval`)
//!   so it cannot interleave with what a test checks;
//! - a non-OK response surfaces as `Error::UnexpectedResponse { response }`
//!   with the server's command status in `response.status()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use futures::{Stream, StreamExt};
use rusmpp::{
    pdus::{BindReceiver, BindTransceiver, BindTransmitter, DeliverSm, DeliverSmResp, SubmitSm},
    tlvs::{MessageSubmissionRequestTlvValue, TlvValue},
    types::{AnyOctetString, COctetString, OctetString},
    values::{
        DataCoding, InterfaceVersion, MessagePayload, MessageState, Npi, RegisteredDelivery, Ton,
    },
    Command, CommandId, CommandStatus, Pdu,
};
use rusmppc::{error::Error, Client, ConnectionBuilder, Event};
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Upper bound for each whole test.
const TEST_LIMIT: Duration = Duration::from_secs(20);
/// Upper bound for one wait inside a test.
const STEP: Duration = Duration::from_secs(5);

#[path = "interop_rusmppc/tap.rs"]
mod tap;
use tap::{headers, split_pdus, Tap, TapHandle};

// ---------------------------------------------------------------------------
// rusmppc helpers

type Events = Box<dyn Stream<Item = Event> + Unpin + Send>;

/// Connects rusmppc over a tapped TCP stream: no client-side enquire_link
/// timer, 5 s response timeout, v5 interface check as asked.
async fn connect(addr: SocketAddr, check_v5: bool) -> (Client, Events, TapHandle) {
    let tcp = timeout(STEP, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    tcp.set_nodelay(true).unwrap();
    let log = TapHandle::default();
    let tap = Tap {
        inner: tcp,
        log: log.clone(),
    };
    let (client, events) = ConnectionBuilder::new()
        .no_enquire_link_interval()
        .response_timeout(STEP)
        .with_interface_version_check(check_v5)
        .connected(tap);
    (client, Box::new(events), log)
}

fn cstr<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_str(s).expect("valid C-octet string")
}

macro_rules! bind_pdu {
    ($ty:ident, $sid:expr, $pw:expr, $ver:expr) => {
        $ty::builder()
            .system_id(cstr($sid))
            .password(cstr($pw))
            .system_type(COctetString::empty())
            .interface_version($ver)
            .addr_ton(Ton::Unknown)
            .addr_npi(Npi::Unknown)
            .address_range(COctetString::empty())
            .build()
    };
}

/// A client bound as a v3.4 transceiver with the test account.
async fn connect_trx(addr: SocketAddr) -> (Client, Events, TapHandle) {
    let (client, events, tap) = connect(addr, false).await;
    client
        .bind_transceiver(bind_pdu!(
            BindTransceiver,
            "esme",
            "secret",
            InterfaceVersion::Smpp3_4
        ))
        .await
        .unwrap_or_else(|e| panic!("bind: {e}{}", tap.dump()));
    (client, events, tap)
}

const SRC: &str = "447700900001";
const DST: &str = "447700900002";

fn submit(registered_delivery: u8) -> rusmpp::pdus::builders::SubmitSmBuilder {
    SubmitSm::builder()
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr(cstr(SRC))
        .dest_addr_ton(Ton::International)
        .dest_addr_npi(Npi::Isdn)
        .destination_addr(cstr(DST))
        .registered_delivery(RegisteredDelivery::from(registered_delivery))
}

/// The server's status from a rusmppc error, or panic with the transcript.
fn error_status(
    r: Result<impl std::fmt::Debug, Error>,
    tap: &TapHandle,
) -> (CommandId, CommandStatus) {
    match r {
        Err(Error::UnexpectedResponse { response }) => (response.id(), response.status()),
        other => panic!("expected an error response, got {other:?}{}", tap.dump()),
    }
}

fn assert_message_id(id: &str, tap: &TapHandle) {
    assert!(
        id.len() == 24 && id.bytes().all(|c| c.is_ascii_hexdigit()),
        "message_id {id:?} is not 24 hex chars{}",
        tap.dump()
    );
}

/// Next incoming command of this id from the event stream (anything else
/// that arrives first is a failure).
async fn next_incoming(events: &mut Events, id: CommandId, tap: &TapHandle) -> Command {
    match timeout(STEP, events.next()).await {
        Ok(Some(Event::Incoming(c))) if c.id() == id => c,
        Ok(other) => panic!("expected incoming {id:?}, got {other:?}{}", tap.dump()),
        Err(_) => panic!("no {id:?} within {STEP:?}{}", tap.dump()),
    }
}

/// What a receipt deliver_sm says, as rusmppc decoded it.
#[derive(Debug)]
struct ReceiptView {
    seq: u32,
    esm_class: u8,
    source_addr: String,
    destination_addr: String,
    text: String,
    receipted_message_id: Option<String>,
    message_state: Option<MessageState>,
}

fn receipt_view(c: &Command) -> ReceiptView {
    let Some(Pdu::DeliverSm(d)) = c.pdu() else {
        panic!("not a deliver_sm body: {c:?}")
    };
    let d: &DeliverSm = d;
    let mut v = ReceiptView {
        seq: c.sequence_number(),
        esm_class: u8::from(d.esm_class),
        source_addr: d.source_addr.as_str().to_owned(),
        destination_addr: d.destination_addr.as_str().to_owned(),
        text: String::from_utf8_lossy(d.short_message().as_ref()).into_owned(),
        receipted_message_id: None,
        message_state: None,
    };
    for t in d.tlvs() {
        match t.value() {
            Some(TlvValue::ReceiptedMessageId(id)) => {
                v.receipted_message_id = Some(id.as_str().to_owned())
            }
            Some(TlvValue::MessageState(s)) => v.message_state = Some(*s),
            _ => {}
        }
    }
    v
}

/// The value of `key:` in a receipt text (up to the next space; `text:` runs
/// to the end).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text
        .split(' ')
        .scan(0usize, |pos, w| {
            let p = *pos;
            *pos += w.len() + 1;
            Some((p, w))
        })
        .find(|(_, w)| w.starts_with(&format!("{key}:")))?
        .0;
    let rest = &text[at + key.len() + 1..];
    if key == "text" {
        Some(rest)
    } else {
        Some(rest.split(' ').next().unwrap_or(""))
    }
}

fn receipt_acked(srv: &smsc::server::Server) -> u64 {
    srv.shared().snapshot().counters.receipt_acked
}

/// Polls the published snapshot (every ~100 ms) until receipt_acked == n.
async fn wait_receipt_acked(srv: &smsc::server::Server, n: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let v = receipt_acked(srv);
        if v == n || tokio::time::Instant::now() >= deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

// ---------------------------------------------------------------------------
// 1. bind_transceiver, enquire_link, unbind, clean close

#[tokio::test]
async fn rusmppc_trx_bind_enquire_link_unbind_closes_cleanly() {
    let srv = common::server(&[]);
    let addr = srv.local_addr();
    timeout(TEST_LIMIT, async {
        let (client, mut events, tap) = connect(addr, false).await;

        // enquire_link is answered before bind as well.
        client
            .enquire_link()
            .await
            .unwrap_or_else(|e| panic!("enquire_link before bind: {e}{}", tap.dump()));

        let resp = client
            .bind_transceiver(bind_pdu!(
                BindTransceiver,
                "esme",
                "secret",
                InterfaceVersion::Smpp3_4
            ))
            .await
            .unwrap_or_else(|e| panic!("bind_transceiver: {e}{}", tap.dump()));
        assert_eq!(resp.system_id.as_str(), "smsc", "default --system-id");
        assert_eq!(
            resp.sc_interface_version(),
            Some(InterfaceVersion::Smpp3_4),
            "a 3.4 bind gets sc_interface_version 0x34{}",
            tap.dump()
        );

        for _ in 0..3 {
            client
                .enquire_link()
                .await
                .unwrap_or_else(|e| panic!("enquire_link when bound: {e}{}", tap.dump()));
        }

        client
            .unbind()
            .await
            .unwrap_or_else(|e| panic!("unbind: {e}{}", tap.dump()));

        // The server closes after unbind_resp: rusmppc reports a peer close
        // (an orderly FIN, not a reset) and then ends its event stream.
        match timeout(STEP, events.next()).await {
            Ok(Some(Event::Error(Error::ConnectionClosedByPeer))) => {}
            other => panic!(
                "expected ConnectionClosedByPeer, got {other:?}{}",
                tap.dump()
            ),
        }
        match timeout(STEP, events.next()).await {
            Ok(None) => {}
            other => panic!("event stream should end, got {other:?}{}", tap.dump()),
        }
        timeout(STEP, client.closed())
            .await
            .expect("rusmppc connection did not terminate");
        assert!(tap.eof(), "server side closed (EOF){}", tap.dump());
        assert_eq!(tap.io_error(), None, "no reset/io error{}", tap.dump());
        assert!(
            matches!(client.enquire_link().await, Err(Error::ConnectionClosed)),
            "requests fail once closed"
        );

        // Wire check: every request got exactly one OK response with its
        // sequence number, in order; unbind_resp is the last PDU.
        let sent = headers(&tap.sent());
        let recv = headers(&tap.recv());
        let ids: Vec<u32> = sent.iter().map(|h| h.0).collect();
        assert_eq!(
            ids,
            [0x15, 0x09, 0x15, 0x15, 0x15, 0x06],
            "what rusmppc sent{}",
            tap.dump()
        );
        assert_eq!(
            recv.len(),
            sent.len(),
            "one response per request{}",
            tap.dump()
        );
        for (req, resp) in sent.iter().zip(&recv) {
            assert_eq!(resp.0, req.0 | 0x8000_0000, "response id{}", tap.dump());
            assert_eq!(resp.1, 0, "status OK{}", tap.dump());
            assert_eq!(resp.2, req.2, "sequence echoed{}", tap.dump());
        }
    })
    .await
    .expect("test timed out");
    srv.stop();
}

// ---------------------------------------------------------------------------
// 2. TX + RX binds, wrong password, unknown system_id

#[tokio::test]
async fn rusmppc_tx_rx_binds_and_bind_errors() {
    let srv = common::server(&[]);
    let addr = srv.local_addr();
    timeout(TEST_LIMIT, async {
        let (tx, _tx_events, tx_tap) = connect(addr, false).await;
        let r = tx
            .bind_transmitter(bind_pdu!(
                BindTransmitter,
                "esme",
                "secret",
                InterfaceVersion::Smpp3_4
            ))
            .await
            .unwrap_or_else(|e| panic!("bind_transmitter: {e}{}", tx_tap.dump()));
        assert_eq!(r.system_id.as_str(), "smsc");

        // The RX binds as rusmppc does by default: interface_version 0x50
        // (SMPP v5.0) with its own version check on. The server must accept it.
        let (rx, mut rx_events, rx_tap) = connect(addr, true).await;
        let r = rx
            .bind_receiver(bind_pdu!(
                BindReceiver,
                "esme",
                "secret",
                InterfaceVersion::Smpp5_0
            ))
            .await
            .unwrap_or_else(|e| panic!("bind_receiver (v5.0): {e}{}", rx_tap.dump()));
        assert_eq!(r.system_id.as_str(), "smsc");
        assert_eq!(
            r.sc_interface_version(),
            Some(InterfaceVersion::Smpp3_4),
            "the server announces the version it speaks{}",
            rx_tap.dump()
        );
        // bind body ends: interface_version, addr_ton, addr_npi, address_range NUL.
        let sent = rx_tap.sent();
        let bind = split_pdus(&sent)[0];
        assert_eq!(
            bind[bind.len() - 4],
            0x50,
            "rusmppc sent interface_version 0x50{}",
            rx_tap.dump()
        );

        // The TX's receipt reaches the RX of the same system_id, and rusmppc
        // decodes it.
        let sm = tx
            .submit_sm(
                submit(1)
                    .short_message(OctetString::from_str("tx to rx").unwrap())
                    .build(),
            )
            .await
            .unwrap_or_else(|e| panic!("submit_sm on TX: {e}{}", tx_tap.dump()));
        let id = sm.message_id().as_str().to_owned();
        assert_message_id(&id, &tx_tap);
        let d = next_incoming(&mut rx_events, CommandId::DeliverSm, &rx_tap).await;
        let v = receipt_view(&d);
        assert_eq!(v.receipted_message_id.as_deref(), Some(&id[..]), "{v:?}");
        rx.deliver_sm_resp(v.seq, DeliverSmResp::default())
            .await
            .unwrap();

        // Wrong password: rusmppc surfaces the server's status.
        let (bad, _e1, bad_tap) = connect(addr, false).await;
        let (id, st) = error_status(
            bad.bind_transmitter(bind_pdu!(
                BindTransmitter,
                "esme",
                "wrong",
                InterfaceVersion::Smpp3_4
            ))
            .await,
            &bad_tap,
        );
        assert_eq!(id, CommandId::BindTransmitterResp, "{}", bad_tap.dump());
        assert_eq!(st, CommandStatus::EsmeRinvpaswd, "{}", bad_tap.dump());

        // Unknown system_id.
        let (bad2, _e2, bad2_tap) = connect(addr, false).await;
        let (id, st) = error_status(
            bad2.bind_receiver(bind_pdu!(
                BindReceiver,
                "nobody",
                "secret",
                InterfaceVersion::Smpp3_4
            ))
            .await,
            &bad2_tap,
        );
        assert_eq!(id, CommandId::BindReceiverResp, "{}", bad2_tap.dump());
        assert_eq!(st, CommandStatus::EsmeRinvsysid, "{}", bad2_tap.dump());

        // A refused session is not bound: submit_sm gets ESME_RINVBNDSTS.
        let (_, st) = error_status(
            bad.submit_sm(
                submit(0)
                    .short_message(OctetString::from_str("x").unwrap())
                    .build(),
            )
            .await,
            &bad_tap,
        );
        assert_eq!(st, CommandStatus::EsmeRinvbndsts, "{}", bad_tap.dump());

        tx.unbind().await.unwrap();
        rx.unbind().await.unwrap();
    })
    .await
    .expect("test timed out");
    srv.stop();
}

// ---------------------------------------------------------------------------
// 3. submit with registered_delivery=1 on TRX, receipt via the event stream

#[tokio::test]
async fn rusmppc_trx_submit_gets_receipt_and_acks_it() {
    let srv = common::server(&[]);
    let addr = srv.local_addr();
    timeout(TEST_LIMIT, async {
        let (client, mut events, tap) = connect_trx(addr).await;

        let resp = client
            .submit_sm(
                submit(1)
                    .short_message(OctetString::from_str("hello from rusmppc").unwrap())
                    .build(),
            )
            .await
            .unwrap_or_else(|e| panic!("submit_sm: {e}{}", tap.dump()));
        let message_id = resp.message_id().as_str().to_owned();
        assert_message_id(&message_id, &tap);

        let d = next_incoming(&mut events, CommandId::DeliverSm, &tap).await;
        let v = receipt_view(&d);
        assert_eq!(v.esm_class & 0x3C, 0x04, "esm_class marks a receipt: {v:?}");
        assert_eq!(
            v.receipted_message_id.as_deref(),
            Some(&message_id[..]),
            "receipted_message_id TLV{}",
            tap.dump()
        );
        assert_eq!(v.message_state, Some(MessageState::Delivered), "{v:?}");
        assert_eq!(
            field(&v.text, "id"),
            Some(&message_id[..]),
            "text id: {v:?}"
        );
        assert_eq!(field(&v.text, "stat"), Some("DELIVRD"), "{v:?}");
        assert_eq!(field(&v.text, "sub"), Some("001"), "{v:?}");
        assert_eq!(field(&v.text, "dlvrd"), Some("001"), "{v:?}");
        assert_eq!(field(&v.text, "text"), Some("hello from rusmppc"), "{v:?}");
        assert_eq!(v.destination_addr, SRC, "receipt goes back to the sender");
        assert_eq!(v.source_addr, DST);

        // Not acked yet: rusmppc does not answer deliver_sm on its own.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            receipt_acked(&srv),
            0,
            "nothing acked before deliver_sm_resp"
        );
        assert!(
            !headers(&tap.sent()).iter().any(|h| h.0 == 0x8000_0005),
            "rusmppc sent a deliver_sm_resp by itself{}",
            tap.dump()
        );

        client
            .deliver_sm_resp(v.seq, DeliverSmResp::default())
            .await
            .unwrap_or_else(|e| panic!("deliver_sm_resp: {e}{}", tap.dump()));
        let acked = wait_receipt_acked(&srv, 1).await;
        assert_eq!(
            acked,
            1,
            "server counted rusmppc's deliver_sm_resp{}",
            tap.dump()
        );

        // No receipt for registered_delivery=0.
        client
            .submit_sm(
                submit(0)
                    .short_message(OctetString::from_str("quiet").unwrap())
                    .build(),
            )
            .await
            .unwrap_or_else(|e| panic!("submit_sm rd=0: {e}{}", tap.dump()));
        if let Ok(ev) = timeout(Duration::from_millis(400), events.next()).await {
            panic!(
                "unexpected event for registered_delivery=0: {ev:?}{}",
                tap.dump()
            );
        }

        client.unbind().await.unwrap();
    })
    .await
    .expect("test timed out");
    srv.stop();
}

// ---------------------------------------------------------------------------
// 4. UCS2 and message_payload

#[tokio::test]
async fn rusmppc_ucs2_and_message_payload_are_accepted() {
    let srv = common::server(&[]);
    let addr = srv.local_addr();
    timeout(TEST_LIMIT, async {
        let (client, mut events, tap) = connect_trx(addr).await;

        // UCS2 (data_coding 8): "hi Привет 你好".
        let ucs2 = utf16be("hi Привет 你好");
        let r = client
            .submit_sm(
                submit(1)
                    .data_coding(DataCoding::Ucs2)
                    .short_message(OctetString::from_vec(ucs2).unwrap())
                    .build(),
            )
            .await
            .unwrap_or_else(|e| panic!("UCS2 submit_sm: {e}{}", tap.dump()));
        let ucs2_id = r.message_id().as_str().to_owned();
        assert_message_id(&ucs2_id, &tap);

        // message_payload TLV (400 octets, more than short_message can hold),
        // empty short_message.
        let payload: Vec<u8> = (0..400).map(|i| b"0123456789abcdefghij"[i % 20]).collect();
        let r = client
            .submit_sm(
                submit(1)
                    .push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
                        MessagePayload::new(AnyOctetString::from_vec(payload.clone())),
                    ))
                    .build(),
            )
            .await
            .unwrap_or_else(|e| panic!("message_payload submit_sm: {e}{}", tap.dump()));
        let payload_id = r.message_id().as_str().to_owned();
        assert_message_id(&payload_id, &tap);
        assert_ne!(ucs2_id, payload_id, "distinct message ids");

        // Both are delivered; the receipt texts show what the server read.
        let mut seen = Vec::new();
        for _ in 0..2 {
            let d = next_incoming(&mut events, CommandId::DeliverSm, &tap).await;
            let v = receipt_view(&d);
            client
                .deliver_sm_resp(v.seq, DeliverSmResp::default())
                .await
                .unwrap();
            assert_eq!(v.message_state, Some(MessageState::Delivered), "{v:?}");
            seen.push((
                v.receipted_message_id.clone().unwrap(),
                field(&v.text, "text").map(str::to_owned),
            ));
        }
        seen.sort();
        let mut want = vec![
            (ucs2_id.clone(), Some("hi ?????? ??".to_owned())),
            (payload_id.clone(), Some("0123456789abcdefghij".to_owned())),
        ];
        want.sort();
        assert_eq!(
            seen,
            want,
            "receipts for UCS2 and payload messages{}",
            tap.dump()
        );
        assert_eq!(wait_receipt_acked(&srv, 2).await, 2);

        // And the negative cases come back as statuses through rusmppc.
        // Odd-length UCS2 is not UCS2.
        let (_, st) = error_status(
            client
                .submit_sm(
                    submit(0)
                        .data_coding(DataCoding::Ucs2)
                        .short_message(OctetString::from_static_slice(b"\x00h\x00").unwrap())
                        .build(),
                )
                .await,
            &tap,
        );
        assert_eq!(st, CommandStatus::EsmeRinvmsglen, "{}", tap.dump());
        // short_message and message_payload together are refused.
        let (_, st) = error_status(
            client
                .submit_sm(
                    submit(0)
                        .short_message(OctetString::from_str("both").unwrap())
                        .push_tlv(MessageSubmissionRequestTlvValue::MessagePayload(
                            MessagePayload::new(AnyOctetString::from_static_slice(b"both")),
                        ))
                        .build(),
                )
                .await,
            &tap,
        );
        assert_eq!(st, CommandStatus::EsmeRinvmsglen, "{}", tap.dump());

        client.unbind().await.unwrap();
    })
    .await
    .expect("test timed out");
    srv.stop();
}

// ---------------------------------------------------------------------------
// 5. The server's own enquire_link is answered by rusmppc (auto response)

#[tokio::test]
async fn server_enquire_link_is_answered_by_rusmppc() {
    let srv = common::server(&["--enquire-link-timer", "200ms"]);
    let addr = srv.local_addr();
    timeout(TEST_LIMIT, async {
        let (client, mut events, tap) = connect_trx(addr).await;
        // Idle for a while: the server probes, rusmppc answers, the session
        // stays up and nothing surfaces on the event stream.
        if let Ok(ev) = timeout(Duration::from_millis(1500), events.next()).await {
            panic!("unexpected event while idle: {ev:?}{}", tap.dump());
        }
        // A round trip of our own first: the session is alive, and the server
        // (which probes only after 200 ms without an ESME PDU) cannot have a
        // probe in flight while the transcript is compared below.
        client
            .enquire_link()
            .await
            .unwrap_or_else(|e| panic!("still alive: {e}{}", tap.dump()));
        let probes: Vec<u32> = headers(&tap.recv())
            .into_iter()
            .filter(|h| h.0 == 0x15)
            .map(|h| h.2)
            .collect();
        let answers: Vec<u32> = headers(&tap.sent())
            .into_iter()
            .filter(|h| h.0 == 0x8000_0015 && h.1 == 0)
            .map(|h| h.2)
            .collect();
        assert!(
            !probes.is_empty(),
            "server sent no enquire_link{}",
            tap.dump()
        );
        assert_eq!(
            probes,
            answers,
            "each probe answered with its sequence{}",
            tap.dump()
        );
        client.unbind().await.unwrap();
    })
    .await
    .expect("test timed out");
    srv.stop();
}
