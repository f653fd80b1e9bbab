//! Codec throughput: our SMPP codec against `rusmpp` 0.4 on the same octets,
//! in the same run. One element = one PDU (`Throughput::Elements(1)`).
//!
//! What each bench measures (all inputs are built before timing starts):
//! - `decode/<pdu>/ours`: `check_frame` + `decode` of one complete frame in a
//!   byte slice, yielding a `Pdu` that borrows the frame.
//! - `decode/<pdu>/rusmpp`: `Command::decode` (the call rusmpp's own tokio
//!   codec makes) from a `BytesMut` holding the same frame after its
//!   command_length, plus dropping the owned `Command` it returns. Filling
//!   the `BytesMut` is setup and not timed, which favours rusmpp: a server
//!   reading into a reused `BytesMut` would pay for its buffer handling.
//! - `encode/<pdu>/ours`: building the borrowed `Pdu` from field slices and
//!   `Pdu::encode` into a preallocated slice.
//! - `encode/<pdu>/ours_prebuilt`: `Pdu::encode` of an already built `Pdu`
//!   into a preallocated slice: the like-for-like match of `rusmpp` below.
//! - `encode/<pdu>/rusmpp`: `length()` + command_length + `Encode::encode`
//!   of an already built owned `Command` into a preallocated slice (pure
//!   encoding; the building is not timed).
//! - `encode/<pdu>/rusmpp_build`: building that `Command` from the same
//!   field slices with rusmpp's builders (which copy into `Bytes`, `Vec`s),
//!   then encoding it: what a server does per message.
//! - `encode/deliver_sm/ours_receipt`: `Receipt::encode`, the server's real
//!   receipt path: formats the receipt text and dates, builds the TLVs and
//!   encodes the deliver_sm into a stack buffer.
//!
//! The PDUs: submit_sm (12-digit addresses, registered_delivery 1, 140
//! octets of text, no TLVs), submit_sm_resp (24-character message_id), and
//! deliver_sm carrying a standard delivery receipt with receipted_message_id
//! and message_state TLVs (from `Receipt::encode`).
//!
//! Run: `cargo bench --bench codec`. Results: docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    receipt, receipt_bytes, rusmpp_decoded, rusmpp_encode, submit_sm_pdu, DST, MSG_ID, SRC, TEXT,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::Length;
use rusmpp::pdus::{DeliverSm as RDeliverSm, SubmitSm as RSubmitSm, SubmitSmResp as RSubmitSmResp};
use rusmpp::tlvs::{MessageDeliveryRequestTlvValue, MessageSubmissionRequestTlvValue};
use rusmpp::types::{AnyOctetString, COctetString, OctetString};
use rusmpp::values::{
    DataCoding, EsmClass, MessageState, Npi, PriorityFlag, RegisteredDelivery,
    ReplaceIfPresentFlag, Ton,
};
use rusmpp::{Command, CommandStatus as RStatus};
use smsc::pdu::{self, Body, Frame, MessageIdResp, Pdu, Sm};
use smsc::receipt::MAX_PDU_LEN;
use std::hint::black_box;
use std::time::Duration;

fn submit_sm_resp_pdu(id: &[u8]) -> Pdu<'_> {
    Pdu::new(
        0x0102_0304,
        Body::SubmitSmResp(MessageIdResp { message_id: id }),
    )
}

/// Decode with rusmpp as its codec does: the buffer starts after
/// command_length and the length passed is command_length - 4. `bytes` is
/// not our dependency, so the `BytesMut` is made (in untimed setup) from
/// rusmpp's own `AnyOctetString` via `BytesMut: From<Bytes>`; its type is
/// inferred from `Command::decode`.
fn bench_decode(c: &mut Criterion, name: &str, frame: &[u8]) {
    // Both codecs accept the input and agree on what it is.
    let ours = pdu::decode(frame).unwrap();
    let mut g = c.benchmark_group(format!("decode/{name}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours", |b| {
        b.iter(|| {
            let bytes = black_box(frame);
            let Ok(Frame::Complete(n)) = pdu::check_frame(bytes, pdu::DEFAULT_MAX_PDU_BYTES) else {
                panic!()
            };
            black_box(pdu::decode(&bytes[..n]).unwrap());
        })
    });
    let len = frame.len() - 4;
    let after_len = &frame[4..];
    {
        let mut src = AnyOctetString::from_slice(after_len).into_bytes().into();
        let (cmd, size) = Command::decode(&mut src, len).unwrap();
        assert_eq!(size, len);
        assert_eq!(u32::from(cmd.id()), ours.header.command_id.0);
        assert_eq!(cmd.sequence_number(), ours.header.sequence_number);
    }
    g.bench_function("rusmpp", |b| {
        b.iter_batched(
            || AnyOctetString::from_slice(after_len).into_bytes().into(),
            |mut src| {
                let (cmd, _) = Command::decode(&mut src, black_box(len)).unwrap();
                black_box(&cmd);
                // The Command (and the buffer it shares) is dropped here,
                // inside the timing: that is part of its cost per PDU.
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn rusmpp_vec(cmd: &Command) -> Vec<u8> {
    let mut out = vec![0u8; 4 + cmd.length()];
    let n = rusmpp_encode(cmd, &mut out);
    out.truncate(n);
    out
}

fn c<const MIN: usize, const MAX: usize>(s: &[u8]) -> COctetString<MIN, MAX> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s);
    v.push(0);
    COctetString::from_vec(v).unwrap()
}

fn decode_benches(c: &mut Criterion) {
    let submit = submit_sm_pdu().to_vec().unwrap();
    let resp = submit_sm_resp_pdu(MSG_ID).to_vec().unwrap();
    let dlr = receipt_bytes();
    bench_decode(c, "submit_sm", &submit);
    bench_decode(c, "deliver_sm", &dlr);
    bench_decode(c, "submit_sm_resp", &resp);
}

fn encode_submit_sm(cr: &mut Criterion) {
    let expect = submit_sm_pdu().to_vec().unwrap();
    let built = rusmpp_decoded(&expect);
    let mut out = [0u8; 512];
    assert_eq!(&rusmpp_vec(&built)[..], &expect[..]);
    let build = |src: &[u8], dst: &[u8], text: &[u8]| {
        let sm: RSubmitSm = RSubmitSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr(c(src))
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(c(dst))
            // rusmpp's default esm_class is not 0: set every field.
            .esm_class(EsmClass::from(0))
            .protocol_id(0)
            .priority_flag(PriorityFlag::from(0))
            .registered_delivery(RegisteredDelivery::from(1))
            .replace_if_present_flag(ReplaceIfPresentFlag::from(0))
            .data_coding(DataCoding::from(0))
            .short_message(OctetString::from_slice(text).unwrap())
            .tlvs(Vec::<MessageSubmissionRequestTlvValue>::new())
            .build();
        Command::new(RStatus::EsmeRok, 0x0102_0304, sm)
    };
    assert_eq!(&rusmpp_vec(&build(SRC, DST, TEXT))[..], &expect[..]);

    let mut g = cr.benchmark_group("encode/submit_sm");
    g.throughput(Throughput::Elements(1));
    let prebuilt = submit_sm_pdu();
    g.bench_function("ours_prebuilt", |b| {
        b.iter(|| black_box(black_box(&prebuilt).encode(&mut out).unwrap()))
    });
    g.bench_function("ours", |b| {
        b.iter(|| {
            let p = Pdu::new(
                black_box(0x0102_0304),
                Body::SubmitSm(Sm {
                    source_addr_ton: 1,
                    source_addr_npi: 1,
                    source_addr: black_box(SRC),
                    dest_addr_ton: 1,
                    dest_addr_npi: 1,
                    destination_addr: black_box(DST),
                    registered_delivery: 1,
                    short_message: black_box(TEXT),
                    ..Sm::default()
                }),
            );
            black_box(p.encode(&mut out).unwrap());
        })
    });
    g.bench_function("rusmpp", |b| {
        b.iter(|| black_box(rusmpp_encode(black_box(&built), &mut out)))
    });
    g.bench_function("rusmpp_build", |b| {
        b.iter(|| {
            let cmd = build(black_box(SRC), black_box(DST), black_box(TEXT));
            black_box(rusmpp_encode(&cmd, &mut out))
        })
    });
    g.finish();
}

fn encode_submit_sm_resp(cr: &mut Criterion) {
    let expect = submit_sm_resp_pdu(MSG_ID).to_vec().unwrap();
    let built = rusmpp_decoded(&expect);
    let build = |id: &[u8]| {
        Command::new(
            RStatus::EsmeRok,
            0x0102_0304,
            RSubmitSmResp::new(c(id), Vec::new()),
        )
    };
    let mut out = [0u8; 128];
    assert_eq!(&rusmpp_vec(&built)[..], &expect[..]);
    assert_eq!(&rusmpp_vec(&build(MSG_ID))[..], &expect[..]);

    let mut g = cr.benchmark_group("encode/submit_sm_resp");
    g.throughput(Throughput::Elements(1));
    let prebuilt = submit_sm_resp_pdu(MSG_ID);
    g.bench_function("ours_prebuilt", |b| {
        b.iter(|| black_box(black_box(&prebuilt).encode(&mut out).unwrap()))
    });
    g.bench_function("ours", |b| {
        b.iter(|| {
            let p = submit_sm_resp_pdu(black_box(MSG_ID));
            black_box(p.encode(&mut out).unwrap());
        })
    });
    g.bench_function("rusmpp", |b| {
        b.iter(|| black_box(rusmpp_encode(black_box(&built), &mut out)))
    });
    g.bench_function("rusmpp_build", |b| {
        b.iter(|| {
            let cmd = build(black_box(MSG_ID));
            black_box(rusmpp_encode(&cmd, &mut out))
        })
    });
    g.finish();
}

fn encode_deliver_sm(cr: &mut Criterion) {
    let expect = receipt_bytes();
    let ours = pdu::decode(&expect).unwrap();
    let Body::DeliverSm(sm) = ours.body else {
        panic!()
    };
    let built = rusmpp_decoded(&expect);
    let mut out = [0u8; MAX_PDU_LEN];
    assert_eq!(&rusmpp_vec(&built)[..], &expect[..]);
    let build = |text: &[u8], id: &[u8]| {
        let d: RDeliverSm = RDeliverSm::builder()
            .source_addr_ton(Ton::International)
            .source_addr_npi(Npi::Isdn)
            .source_addr(c(DST))
            .dest_addr_ton(Ton::International)
            .dest_addr_npi(Npi::Isdn)
            .destination_addr(c(SRC))
            .esm_class(EsmClass::from(0x04))
            .protocol_id(0)
            .priority_flag(PriorityFlag::from(0))
            .registered_delivery(RegisteredDelivery::from(0))
            .replace_if_present_flag(ReplaceIfPresentFlag::from(0))
            .data_coding(DataCoding::from(0))
            .short_message(OctetString::from_slice(text).unwrap())
            .tlvs(vec![
                MessageDeliveryRequestTlvValue::ReceiptedMessageId(c(id)),
                MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
            ])
            .build();
        Command::new(RStatus::EsmeRok, 0x0102_0304, d)
    };
    assert_eq!(
        &rusmpp_vec(&build(sm.short_message, MSG_ID))[..],
        &expect[..]
    );
    let rc = receipt();
    let mut stack = [0u8; MAX_PDU_LEN];
    let n = rc.encode(0x0102_0304, true, &mut stack).unwrap();
    assert_eq!(&stack[..n], &expect[..]);

    let mut g = cr.benchmark_group("encode/deliver_sm");
    g.throughput(Throughput::Elements(1));
    let prebuilt = ours;
    g.bench_function("ours_prebuilt", |b| {
        b.iter(|| black_box(black_box(&prebuilt).encode(&mut out).unwrap()))
    });
    g.bench_function("ours", |b| {
        b.iter(|| {
            let p = Pdu::new(
                black_box(0x0102_0304),
                Body::DeliverSm(Sm {
                    short_message: black_box(sm.short_message),
                    tlvs: black_box(sm.tlvs),
                    ..sm
                }),
            );
            black_box(p.encode(&mut out).unwrap());
        })
    });
    g.bench_function("ours_receipt", |b| {
        b.iter(|| {
            let mut stack = [0u8; MAX_PDU_LEN];
            let n = black_box(&rc)
                .encode(black_box(0x0102_0304), true, &mut stack)
                .unwrap();
            black_box(&stack[..n]);
        })
    });
    g.bench_function("rusmpp", |b| {
        b.iter(|| black_box(rusmpp_encode(black_box(&built), &mut out)))
    });
    g.bench_function("rusmpp_build", |b| {
        b.iter(|| {
            let cmd = build(black_box(sm.short_message), black_box(MSG_ID));
            black_box(rusmpp_encode(&cmd, &mut out))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine has 2 cores shared with other work.
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = decode_benches, encode_submit_sm, encode_submit_sm_resp, encode_deliver_sm
}
criterion_main!(benches);
