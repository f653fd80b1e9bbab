//! rusmppc 0.4 over TLS through its own rustls path (`ssmpp://`, its
//! `rustls` + `rustls-ring` features, a `rustls::ClientConfig` trusting the
//! test CA): bind, submit with a receipt, the receipt, its deliver_sm_resp,
//! unbind. The plaintext interop tests are in interop_rusmppc.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use futures::StreamExt;
use rusmpp::{
    pdus::{BindTransceiver, DeliverSmResp, SubmitSm},
    types::{COctetString, OctetString},
    values::{InterfaceVersion, Npi, RegisteredDelivery, Ton},
    CommandId, Pdu,
};
use rusmppc::{ConnectionBuilder, Event};
use std::str::FromStr;
use std::time::Duration;
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(5);

#[tokio::test]
async fn rusmppc_over_tls_binds_submits_gets_its_receipt_and_unbinds() {
    let pki = common::tls::Pki::new("rusmppc");
    let flags = pki.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let srv = common::server(&flags);
    let url = format!("ssmpp://127.0.0.1:{}", srv.tls_addr().unwrap().port());
    let config = (*pki.client_config(None, None)).clone();
    timeout(Duration::from_secs(20), async {
        let (client, mut events) = ConnectionBuilder::new()
            .rustls_config(config)
            .no_enquire_link_interval()
            .response_timeout(STEP)
            .with_interface_version_check(false)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("TLS connect to {url}: {e}"));
        client
            .bind_transceiver(
                BindTransceiver::builder()
                    .system_id(COctetString::from_str("esme").unwrap())
                    .password(COctetString::from_str("secret").unwrap())
                    .system_type(COctetString::empty())
                    .interface_version(InterfaceVersion::Smpp3_4)
                    .addr_ton(Ton::Unknown)
                    .addr_npi(Npi::Unknown)
                    .address_range(COctetString::empty())
                    .build(),
            )
            .await
            .expect("bind over TLS");
        let resp = client
            .submit_sm(
                SubmitSm::builder()
                    .source_addr_ton(Ton::International)
                    .source_addr_npi(Npi::Isdn)
                    .source_addr(COctetString::from_str("447700900001").unwrap())
                    .dest_addr_ton(Ton::International)
                    .dest_addr_npi(Npi::Isdn)
                    .destination_addr(COctetString::from_str("447700900002").unwrap())
                    .registered_delivery(RegisteredDelivery::from(1))
                    .short_message(OctetString::from_str("hello over TLS").unwrap())
                    .build(),
            )
            .await
            .expect("submit_sm over TLS");
        let id = resp.message_id().as_str().to_owned();
        let d = loop {
            match timeout(STEP, events.next()).await {
                Ok(Some(Event::Incoming(c))) if c.id() == CommandId::DeliverSm => break c,
                Ok(Some(Event::Incoming(_))) => continue,
                other => panic!("no receipt: {other:?}"),
            }
        };
        let Some(Pdu::DeliverSm(sm)) = d.pdu() else {
            panic!("not a deliver_sm: {d:?}")
        };
        let text = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
        assert!(text.starts_with(&format!("id:{id} ")), "{text}");
        assert!(text.contains("stat:DELIVRD"), "{text}");
        client
            .deliver_sm_resp(d.sequence_number(), DeliverSmResp::default())
            .await
            .expect("deliver_sm_resp");
        let shared = srv.shared().clone();
        assert!(common::eventually(STEP, || {
            let c = shared.snapshot().counters;
            c.receipt_acked == 1 && c.tls_handshakes == 1
        }));
        client.unbind().await.expect("unbind over TLS");
    })
    .await
    .expect("test timed out");
    srv.stop();
}
