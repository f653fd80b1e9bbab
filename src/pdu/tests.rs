//! Codec tests: hand-written spec bytes, round trips of every PDU,
//! truncation at every byte boundary, pipelined frames, hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use super::*;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// bind_transmitter as in the classic spec example, written out by hand.
fn bind_tx_bytes() -> Vec<u8> {
    cat(&[
        &[0x00, 0x00, 0x00, 0x2F], // command_length 47
        &[0x00, 0x00, 0x00, 0x02], // bind_transmitter
        &[0x00, 0x00, 0x00, 0x00], // status
        &[0x00, 0x00, 0x00, 0x01], // sequence 1
        b"SMPP3TEST\0",
        b"secret08\0",
        b"SUBMIT1\0",
        &[0x34, 0x01, 0x01], // interface_version, addr_ton, addr_npi
        b"\0",               // address_range
    ])
}

#[test]
fn decodes_hand_written_bind_transmitter() {
    let b = bind_tx_bytes();
    assert_eq!(check_frame(&b, 1024), Ok(Frame::Complete(47)));
    let pdu = decode(&b).unwrap();
    assert_eq!(pdu.header.sequence_number, 1);
    let Body::BindTransmitter(bind) = pdu.body else {
        panic!("{pdu:?}")
    };
    assert_eq!(bind.system_id, b"SMPP3TEST");
    assert_eq!(bind.password, b"secret08");
    assert_eq!(bind.system_type, b"SUBMIT1");
    assert_eq!(bind.interface_version, 0x34);
    assert_eq!((bind.addr_ton, bind.addr_npi), (1, 1));
    assert_eq!(bind.address_range, b"");
    // Our encoder reproduces the hand-written bytes.
    assert_eq!(pdu.to_vec().unwrap(), b);
}

/// submit_sm: source 1/1 "447700900001", dest 1/1 "447700900002",
/// registered_delivery 1, data_coding 0, "hello", plus a vendor TLV.
fn submit_sm_bytes() -> Vec<u8> {
    let body = cat(&[
        b"\0",                     // service_type
        &[0x01, 0x01],             // source ton/npi
        b"447700900001\0",         // source_addr
        &[0x01, 0x01],             // dest ton/npi
        b"447700900002\0",         // destination_addr
        &[0x00, 0x00, 0x00],       // esm_class, protocol_id, priority_flag
        b"\0",                     // schedule_delivery_time
        b"\0",                     // validity_period
        &[0x01, 0x00, 0x00, 0x00], // registered_delivery, replace, data_coding, default_msg_id
        &[0x05],
        b"hello",
        &[0x14, 0x03, 0x00, 0x02, 0xAB, 0xCD], // vendor TLV 0x1403
    ]);
    let len = (16 + body.len()) as u32;
    cat(&[
        &len.to_be_bytes(),
        &[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9],
        &body,
    ])
}

#[test]
fn decodes_hand_written_submit_sm_and_keeps_vendor_tlv() {
    let b = submit_sm_bytes();
    let pdu = decode(&b).unwrap();
    let Body::SubmitSm(sm) = pdu.body else {
        panic!()
    };
    assert_eq!(sm.source_addr, b"447700900001");
    assert_eq!(sm.destination_addr, b"447700900002");
    assert_eq!(sm.registered_delivery, 1);
    assert_eq!(sm.short_message, b"hello");
    let tlvs: Vec<_> = sm.tlvs.iter().collect();
    assert_eq!(
        tlvs,
        vec![Tlv {
            tag: Tag(0x1403),
            value: &[0xAB, 0xCD]
        }]
    );
    assert_eq!(pdu.to_vec().unwrap(), b);
}

#[test]
fn submit_sm_resp_and_header_only_pdus() {
    // submit_sm_resp seq 9 message_id "abc".
    let b = [
        0, 0, 0, 20, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, b'a', b'b', b'c', 0,
    ];
    let pdu = decode(&b).unwrap();
    assert_eq!(
        pdu.body,
        Body::SubmitSmResp(MessageIdResp { message_id: b"abc" })
    );
    let mut out = [0u8; 32];
    let n = Pdu::new(9, Body::SubmitSmResp(MessageIdResp { message_id: b"abc" }))
        .encode(&mut out)
        .unwrap();
    assert_eq!(&out[..n], &b);
    // An error submit_sm_resp without body (as the spec says) decodes.
    let e = [0, 0, 0, 16, 0x80, 0, 0, 4, 0, 0, 0, 0x58, 0, 0, 0, 9];
    let pdu = decode(&e).unwrap();
    assert_eq!(pdu.header.command_status, CommandStatus::ESME_RTHROTTLED);
    // enquire_link and generic_nack.
    let el = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 2];
    assert_eq!(decode(&el).unwrap().body, Body::EnquireLink);
    let mut out = [0u8; 16];
    encode_header_only(
        CommandId::GENERIC_NACK,
        CommandStatus::ESME_RINVCMDID,
        5,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 5]);
}

#[test]
fn deliver_sm_resp_without_body_is_accepted() {
    let b = [0, 0, 0, 16, 0x80, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(
        decode(&b).unwrap().body,
        Body::DeliverSmResp(MessageIdResp { message_id: b"" })
    );
}

#[test]
fn framing_errors() {
    // command_length below 16.
    let b = [0, 0, 0, 8, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 3];
    let e = check_frame(&b, 1024).unwrap_err();
    assert_eq!(e.sequence_number, 3);
    assert_eq!(e.status(), CommandStatus::ESME_RINVCMDLEN);
    // Above the cap.
    let b = [0, 1, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4];
    assert_eq!(
        check_frame(&b, 64 * 1024).unwrap_err().command_length,
        65537
    );
    assert_eq!(check_frame(&b, 65537), Ok(Frame::NeedMore(65537)));
    // Fewer than 4 bytes.
    assert_eq!(check_frame(&[0, 0], 1024), Ok(Frame::NeedMore(16)));
}

#[test]
fn unknown_command_id_is_rinvcmdid_with_sequence() {
    let b = [0, 0, 0, 16, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 77];
    let e = decode(&b).unwrap_err();
    assert_eq!(e.status, CommandStatus::ESME_RINVCMDID);
    assert_eq!(e.sequence_number, 77);
    assert_eq!(e.response_id(), CommandId::GENERIC_NACK);
}

#[test]
fn field_errors_map_to_their_status() {
    // submit_sm whose source_addr has no NUL within 21 octets.
    let mut body = cat(&[b"\0", &[1, 1], &[b'1'; 25], b"\0", &[1, 1], b"1\0"]);
    body.extend_from_slice(&[0; 12]);
    let len = (16 + body.len()) as u32;
    let b = cat(&[
        &len.to_be_bytes(),
        &[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1],
        &body,
    ]);
    let e = decode(&b).unwrap_err();
    assert_eq!(e.status, CommandStatus::ESME_RINVSRCADR);
    assert_eq!(e.response_id(), CommandId::SUBMIT_SM_RESP);

    // sm_length larger than the bytes present.
    let mut b = submit_sm_bytes();
    let pos = b.len() - 6 - 5 - 1; // the sm_length octet
    assert_eq!(b[pos], 5);
    b[pos] = 200;
    assert_eq!(
        decode(&b).unwrap_err().status,
        CommandStatus::ESME_RINVMSGLEN
    );

    // A malformed TLV area.
    let mut b = submit_sm_bytes();
    let n = b.len();
    b[n - 3] = 0x09; // vendor TLV length 0x0009, value has only 2 octets
    assert_eq!(
        decode(&b).unwrap_err().status,
        CommandStatus::ESME_RINVOPTPARSTREAM
    );

    // bind with a too long password.
    let b = cat(&[
        &[0, 0, 0, 16 + 2 + 11 + 1 + 3 + 1],
        &[0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1],
        b"a\0",
        b"0123456789\0",
        b"\0",
        &[0x34, 0, 0],
        b"\0",
    ]);
    assert_eq!(
        decode(&b).unwrap_err().status,
        CommandStatus::ESME_RINVPASWD
    );

    // enquire_link with a stray body octet.
    let b = [0, 0, 0, 17, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    assert_eq!(
        decode(&b).unwrap_err().status,
        CommandStatus::ESME_RINVCMDLEN
    );
    // bind body cut short of its integer fields.
    let b = cat(&[
        &[0, 0, 0, 16 + 4],
        &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
        b"a\0b\0",
    ]);
    assert_eq!(
        decode(&b).unwrap_err().status,
        CommandStatus::ESME_RINVSYSTYP
    );
}

/// One example of every PDU, used by the round-trip and truncation tests.
pub fn every_pdu<'a>(
    scratch: &'a mut Vec<u8>,
    scratch2: &'a mut Vec<u8>,
    tlvs: &'a TlvBuf,
) -> Vec<Pdu<'a>> {
    let t = tlvs.as_tlvs();
    let bind = Bind {
        system_id: b"esme01",
        password: b"pw",
        system_type: b"VMA",
        interface_version: 0x34,
        addr_ton: 1,
        addr_npi: 1,
        address_range: b"^44",
    };
    let sm = Sm {
        service_type: b"CMT",
        source_addr_ton: 5,
        source_addr_npi: 0,
        source_addr: b"Sender",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900123",
        esm_class: 0x40,
        protocol_id: 0,
        priority_flag: 1,
        schedule_delivery_time: b"240506142233004+",
        validity_period: b"000001020000000R",
        registered_delivery: 1,
        replace_if_present_flag: 0,
        data_coding: 8,
        sm_default_msg_id: 0,
        short_message: &[0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x41],
        tlvs: t,
    };
    let dests = RawList::build(
        &[
            DestAddress::Sme {
                dest_addr_ton: 1,
                dest_addr_npi: 1,
                destination_addr: b"4477",
            },
            DestAddress::DistributionList {
                dl_name: b"friends",
            },
        ],
        scratch,
    )
    .unwrap();
    let uns = RawList::build(
        &[UnsuccessSme {
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"4478",
            error_status_code: CommandStatus::ESME_RINVDSTADR,
        }],
        scratch2,
    )
    .unwrap();
    let bodies = vec![
        Body::GenericNack,
        Body::BindReceiver(bind),
        Body::BindReceiverResp(BindResp {
            system_id: b"smsc",
            tlvs: t,
        }),
        Body::BindTransmitter(bind),
        Body::BindTransmitterResp(BindResp {
            system_id: b"smsc",
            tlvs: Tlvs::EMPTY,
        }),
        Body::BindTransceiver(bind),
        Body::BindTransceiverResp(BindResp {
            system_id: b"smsc",
            tlvs: t,
        }),
        Body::Outbind(Outbind {
            system_id: b"smsc",
            password: b"pw",
        }),
        Body::Unbind,
        Body::UnbindResp,
        Body::SubmitSm(sm),
        Body::SubmitSmResp(MessageIdResp {
            message_id: b"0123456789abcdef",
        }),
        Body::DeliverSm(Sm {
            esm_class: 0x04,
            ..sm
        }),
        Body::DeliverSmResp(MessageIdResp { message_id: b"" }),
        Body::SubmitMulti(SubmitMulti {
            service_type: b"",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"12345",
            dest_addresses: dests,
            esm_class: 0,
            protocol_id: 0,
            priority_flag: 0,
            schedule_delivery_time: b"",
            validity_period: b"",
            registered_delivery: 1,
            replace_if_present_flag: 0,
            data_coding: 0,
            sm_default_msg_id: 0,
            short_message: b"hi all",
            tlvs: t,
        }),
        Body::SubmitMultiResp(SubmitMultiResp {
            message_id: b"m1",
            unsuccess_smes: uns,
        }),
        Body::DataSm(DataSm {
            service_type: b"WAP",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"1234567890123456789012345678901234567890",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"99",
            esm_class: 0,
            registered_delivery: 0,
            data_coding: 4,
            tlvs: t,
        }),
        Body::DataSmResp(DataSmResp {
            message_id: b"d1",
            tlvs: t,
        }),
        Body::QuerySm(QuerySm {
            message_id: b"q1",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"1",
        }),
        Body::QuerySmResp(QuerySmResp {
            message_id: b"q1",
            final_date: b"240506142233000+",
            message_state: 2,
            error_code: 0,
        }),
        Body::CancelSm(CancelSm {
            service_type: b"",
            message_id: b"c1",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"1",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"2",
        }),
        Body::CancelSmResp,
        Body::ReplaceSm(ReplaceSm {
            message_id: b"r1",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"1",
            schedule_delivery_time: b"",
            validity_period: b"",
            registered_delivery: 0,
            sm_default_msg_id: 0,
            short_message: b"new text",
        }),
        Body::ReplaceSmResp,
        Body::EnquireLink,
        Body::EnquireLinkResp,
        Body::AlertNotification(AlertNotification {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"123",
            esme_addr_ton: 1,
            esme_addr_npi: 1,
            esme_addr: b"456",
            tlvs: t,
        }),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| Pdu::new(i as u32 + 1, b))
        .collect()
}

fn sample_tlvs() -> TlvBuf {
    let mut t = TlvBuf::new();
    t.push_u16(Tag::SAR_MSG_REF_NUM, 0x0102);
    t.push(Tag(0x1500), b"vendor");
    t
}

#[test]
fn every_command_id_has_an_example() {
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    let pdus = every_pdu(&mut a, &mut b, &t);
    let mut ids: Vec<u32> = pdus.iter().map(|p| p.body.command_id().0).collect();
    ids.sort_unstable();
    let mut all: Vec<u32> = CommandId::ALL.iter().map(|c| c.0).collect();
    all.sort_unstable();
    assert_eq!(ids, all);
}

#[test]
fn round_trip_every_pdu() {
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    for pdu in every_pdu(&mut a, &mut b, &t) {
        let bytes = pdu.to_vec().unwrap();
        assert_eq!(check_frame(&bytes, 65536), Ok(Frame::Complete(bytes.len())));
        let back = decode(&bytes).unwrap_or_else(|e| panic!("{pdu:?}: {e:?}"));
        assert_eq!(back.body, pdu.body, "{:?}", pdu.body.command_id());
        assert_eq!(back.header.sequence_number, pdu.header.sequence_number);
        assert_eq!(back.header.command_length as usize, bytes.len());
        // Encoding what we decoded gives the same bytes.
        assert_eq!(back.to_vec().unwrap(), bytes);
    }
}

#[test]
fn truncation_at_every_boundary_is_incomplete_never_wrong() {
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    for pdu in every_pdu(&mut a, &mut b, &t) {
        let bytes = pdu.to_vec().unwrap();
        for cut in 0..bytes.len() {
            match check_frame(&bytes[..cut], 65536) {
                Ok(Frame::NeedMore(n)) => assert!(n > cut, "{cut}"),
                other => panic!("cut {cut} of {:?}: {other:?}", pdu.body.command_id()),
            }
        }
    }
}

#[test]
fn shortened_command_length_never_yields_wrong_data() {
    // Lie about the length: each shorter length must be an error or, for
    // PDUs whose tail is optional TLVs, a decode that differs honestly.
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    for pdu in every_pdu(&mut a, &mut b, &t) {
        let bytes = pdu.to_vec().unwrap();
        for len in 16..bytes.len() {
            let mut v = bytes[..len].to_vec();
            v[..4].copy_from_slice(&(len as u32).to_be_bytes());
            // A response with no body at all is read as empty fields (the
            // spec omits error bodies); that is the one accepted equality.
            let empty_resp = len == 16 && pdu.body.command_id().is_response();
            if let (Ok(p), false) = (decode(&v), empty_resp) {
                assert_ne!(p.body, pdu.body, "len {len} of {:?}", pdu.body.command_id());
            }
        }
    }
}

#[test]
fn pipelined_frames_in_one_buffer() {
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    let pdus = every_pdu(&mut a, &mut b, &t);
    let mut stream = Vec::new();
    for p in &pdus {
        stream.extend(p.to_vec().unwrap());
    }
    let mut off = 0;
    let mut n = 0;
    while off < stream.len() {
        let Frame::Complete(len) = check_frame(&stream[off..], 65536).unwrap() else {
            panic!()
        };
        let p = decode(&stream[off..off + len]).unwrap();
        assert_eq!(p.body, pdus[n].body);
        off += len;
        n += 1;
    }
    assert_eq!(n, pdus.len());
}

#[test]
fn encode_refuses_oversized_fields() {
    let p = Pdu::new(
        1,
        Body::SubmitSmResp(MessageIdResp {
            message_id: &[b'x'; 65],
        }),
    );
    assert_eq!(
        p.encoded_len(),
        Err(EncodeError::FieldTooLong {
            field: "message_id",
            max: 65
        })
    );
    let p = Pdu::new(1, Body::EnquireLink);
    let mut small = [0u8; 8];
    assert_eq!(
        p.encode(&mut small),
        Err(EncodeError::OutputTooSmall { need: 16 })
    );
}

/// Deterministic pseudo-random garbage must never panic the decoder.
#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut a, mut b, t) = (Vec::new(), Vec::new(), sample_tlvs());
    let seeds: Vec<Vec<u8>> = every_pdu(&mut a, &mut b, &t)
        .iter()
        .map(|p| p.to_vec().unwrap())
        .collect();
    for i in 0..200_000 {
        let mut v = seeds[i % seeds.len()].clone();
        let flips = (next() % 4) + 1;
        for _ in 0..flips {
            let pos = (next() as usize) % v.len();
            v[pos] = next() as u8;
        }
        if let Ok(Frame::Complete(len)) = check_frame(&v, 65536) {
            if let Ok(p) = decode(&v[..len]) {
                // Whatever decodes re-encodes to something that decodes equal.
                if let Ok(bytes) = p.to_vec() {
                    assert_eq!(decode(&bytes).unwrap().body, p.body);
                }
            }
        }
    }
}
