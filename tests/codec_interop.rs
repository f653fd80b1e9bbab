//! Interop with `rusmpp` 0.4, a codec no one here wrote.
//!
//! For every PDU both codecs support (all 27 of SMPP v3.4):
//! - rusmpp decodes what we encode, field by field equal to what we encoded,
//!   and rusmpp's re-encoding of it is byte-identical to ours;
//! - we decode what rusmpp encodes (built with rusmpp's own constructors
//!   from the same field values), field by field equal, and the bytes are
//!   identical to our encoding.
//!
//! rusmpp implements SMPP v5.0, which is stricter or different than v3.4 in
//! a few places; the samples stay inside what both accept, and the
//! differences are pinned by `known_differences` below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rusmpp::decode::{DecodeError, DecodeWithLength};
use rusmpp::encode::{Encode, Length};
use rusmpp::pdus as r;
use rusmpp::tlvs::{Tlv as RTlv, TlvTag, TlvValue};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    self as rv, DestAddress as RDest, DistributionListName, ErrorCodeNetworkType, MessagePayload,
    NetworkErrorCode, ServiceType, SmeAddress,
};
use rusmpp::{Command, CommandStatus as RStatus, Pdu as RPdu};
use smsc::pdu::{
    self, AlertNotification, Bind, BindResp, Body, CancelSm, CommandStatus, DataSm, DataSmResp,
    DestAddress, MessageIdResp, Outbind, Pdu, QuerySm, QuerySmResp, RawList, ReplaceSm, Sm,
    SubmitMulti, SubmitMultiResp, Tag, TlvBuf, Tlvs, UnsuccessSme,
};

#[path = "codec_interop/build.rs"]
mod build;
#[path = "codec_interop/compare.rs"]
mod compare;
#[path = "codec_interop/samples.rs"]
mod samples;
use build::*;
use compare::*;
use samples::*;

// -------------------------------------------------------------------- tests

#[test]
fn samples_cover_every_v34_command_id() {
    let mut s = Scratch::new();
    let mut ids: Vec<u32> = samples(&mut s)
        .iter()
        .map(|p| p.body.command_id().0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut all: Vec<u32> = pdu::CommandId::ALL.iter().map(|c| c.0).collect();
    all.sort_unstable();
    assert_eq!(ids, all);
}

#[test]
fn rusmpp_decodes_what_we_encode() {
    let mut s = Scratch::new();
    for p in samples(&mut s) {
        let ours = p.to_vec().unwrap();
        let cmd = rusmpp_decode(&ours);
        assert_eq!(u32::from(cmd.id()), p.body.command_id().0);
        assert_eq!(u32::from(cmd.status()), p.header.command_status.0);
        assert_eq!(cmd.sequence_number(), p.header.sequence_number);
        let theirs = cmd.pdu().expect("rusmpp decoded no body");
        compare(&p.body, theirs);
        // And rusmpp writes back exactly the octets we wrote.
        assert_eq!(
            rusmpp_encode(&cmd),
            ours,
            "rusmpp re-encoding of {:?}",
            p.body.command_id()
        );
    }
}

#[test]
fn we_decode_what_rusmpp_encodes() {
    let mut s = Scratch::new();
    for p in samples(&mut s) {
        let built = to_rusmpp(&p.body);
        let cmd = Command::new(RStatus::EsmeRok, p.header.sequence_number, built.clone());
        let theirs = rusmpp_encode(&cmd);
        assert_eq!(
            pdu::check_frame(&theirs, pdu::DEFAULT_MAX_PDU_BYTES),
            Ok(pdu::Frame::Complete(theirs.len()))
        );
        let back = pdu::decode(&theirs).unwrap_or_else(|e| {
            panic!(
                "we refused rusmpp's {:?}: {e:?}\n{theirs:02x?}",
                p.body.command_id()
            )
        });
        assert_eq!(back.header.command_id, p.body.command_id());
        assert_eq!(back.header.command_status, CommandStatus::ESME_ROK);
        assert_eq!(back.header.sequence_number, p.header.sequence_number);
        assert_eq!(back.header.command_length as usize, theirs.len());
        compare(&back.body, &built);
        assert_eq!(back.body, p.body);
        assert_eq!(
            theirs,
            p.to_vec().unwrap(),
            "octets differ for {:?}",
            p.body.command_id()
        );
    }
}

#[test]
fn error_statuses_round_trip_both_ways() {
    // A throttled submit_sm_resp and a generic_nack with a vendor status.
    for (status, body) in [
        (
            0x58u32,
            Body::SubmitSmResp(MessageIdResp { message_id: b"" }),
        ),
        (0x0000_0003, Body::GenericNack),
        (0x0000_0400, Body::GenericNack),
    ] {
        let p = Pdu::with_status(42, CommandStatus(status), body);
        let ours = p.to_vec().unwrap();
        let cmd = rusmpp_decode(&ours);
        assert_eq!(u32::from(cmd.status()), status);
        let again = rusmpp_encode(&cmd);
        assert_eq!(again, ours);
        assert_eq!(pdu::decode(&again).unwrap(), pdu::decode(&ours).unwrap());
    }
}

#[test]
fn our_receipt_encoder_is_understood_by_rusmpp() {
    use smsc::account::AccountId;
    use smsc::dlr::Stat;
    use smsc::receipt::{Addr, Receipt, MAX_PDU_LEN};
    for (stat, with_tlvs) in [
        (Stat::Delivrd, true),
        (Stat::Undeliv, true),
        (Stat::Enroute, false),
    ] {
        let mut rc = Receipt::new(
            AccountId(0),
            *b"0123456789a0100000000001",
            Addr::new(1, 1, b"447700900002"),
            Addr::new(5, 0, b"Shop"),
            1_715_005_320,
            stat,
            b"hello world",
            i64::MAX,
        );
        rc.done_unix += 60;
        let mut out = [0u8; MAX_PDU_LEN];
        let n = rc.encode(9, with_tlvs, &mut out).unwrap();
        let cmd = rusmpp_decode(&out[..n]);
        let ours = pdu::decode(&out[..n]).unwrap();
        compare(&ours.body, cmd.pdu().unwrap());
        let RPdu::DeliverSm(d) = cmd.pdu().unwrap() else {
            panic!()
        };
        let parts = d.clone().into_parts();
        let text = std::str::from_utf8(parts.short_message.as_ref()).unwrap();
        assert!(
            text.starts_with("id:0123456789a0100000000001 sub:001 "),
            "{text}"
        );
        assert_eq!(
            parts.tlvs.len(),
            if with_tlvs {
                2 + usize::from(rc.err != 0)
            } else {
                0
            }
        );
        assert_eq!(rusmpp_encode(&cmd), &out[..n]);
    }
}

/// Where rusmpp (an SMPP v5.0 codec) and v3.4 disagree. These are facts
/// about rusmpp pinned so that a rusmpp upgrade that changes them is seen.
#[test]
fn known_differences() {
    // 1. data_sm source_addr: v3.4 §4.7.1 allows 65 octets; rusmpp 21.
    let long = Pdu::new(
        1,
        Body::DataSm(DataSm {
            source_addr: &[b'1'; 40],
            destination_addr: b"2",
            ..DataSm::default()
        }),
    );
    let bytes = long.to_vec().unwrap();
    assert!(pdu::decode(&bytes).is_ok());
    assert!(rusmpp_try_decode(&bytes).is_err());

    // 2. Time fields: rusmpp wants exactly 16 characters or none; we only
    //    bound the length (17 with NUL) and leave the format to the caller.
    let odd_time = Pdu::new(
        1,
        Body::SubmitSm(Sm {
            schedule_delivery_time: b"2405",
            source_addr: b"1",
            destination_addr: b"2",
            ..Sm::default()
        }),
    );
    let bytes = odd_time.to_vec().unwrap();
    assert!(pdu::decode(&bytes).is_ok());
    assert!(rusmpp_try_decode(&bytes).is_err());

    // 3. Non-ASCII in a C-Octet String: rusmpp refuses, we carry the octets.
    let latin1 = Pdu::new(
        1,
        Body::SubmitSm(Sm {
            source_addr: b"Caf\xe9",
            destination_addr: b"2",
            ..Sm::default()
        }),
    );
    let bytes = latin1.to_vec().unwrap();
    assert!(pdu::decode(&bytes).is_ok());
    assert!(rusmpp_try_decode(&bytes).is_err());
}

/// The comparison itself is not vacuous: one changed field is caught.
#[test]
fn compare_detects_a_changed_field() {
    let mut s = Scratch::new();
    for p in samples(&mut s) {
        let Body::DeliverSm(sm) = p.body else {
            continue;
        };
        let theirs = to_rusmpp(&p.body);
        for changed in [
            Sm {
                protocol_id: sm.protocol_id ^ 1,
                ..sm
            },
            Sm {
                short_message: &sm.short_message[1..],
                ..sm
            },
            Sm {
                tlvs: Tlvs::EMPTY,
                ..sm
            },
        ] {
            let r = std::panic::catch_unwind(|| compare(&Body::DeliverSm(changed), &theirs));
            assert!(r.is_err(), "difference not caught");
        }
    }
}
