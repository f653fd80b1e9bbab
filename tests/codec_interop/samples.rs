//! One or more examples of every v3.4 PDU, inside what both codecs accept.
use super::*;

// ------------------------------------------------------------------ samples

pub(crate) struct Scratch {
    sm_tlvs: TlvBuf,
    receipt_tlvs: TlvBuf,
    data_tlvs: TlvBuf,
    sc_version: TlvBuf,
    ms_avail: TlvBuf,
    dests: Vec<u8>,
    uns: Vec<u8>,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        let mut sm_tlvs = TlvBuf::new();
        sm_tlvs.push_u16(Tag::SAR_MSG_REF_NUM, 0x1234);
        sm_tlvs.push_u8(Tag::SAR_TOTAL_SEGMENTS, 3);
        sm_tlvs.push_u8(Tag::SAR_SEGMENT_SEQNUM, 2);
        sm_tlvs.push_u16(Tag::SOURCE_PORT, 9200);
        sm_tlvs.push(Tag(0x1501), b"vendor\x00\xff");
        let mut receipt_tlvs = TlvBuf::new();
        receipt_tlvs.push_cstr(Tag::RECEIPTED_MESSAGE_ID, b"0123456789abcdef");
        receipt_tlvs.push_u8(Tag::MESSAGE_STATE, 5);
        receipt_tlvs.push(Tag::NETWORK_ERROR_CODE, &[3, 0, 1]);
        let mut data_tlvs = TlvBuf::new();
        data_tlvs.push(Tag::MESSAGE_PAYLOAD, &[0x42; 300]);
        data_tlvs.push_u16(Tag::USER_MESSAGE_REFERENCE, 7);
        let mut sc_version = TlvBuf::new();
        sc_version.push_u8(Tag::SC_INTERFACE_VERSION, 0x34);
        let mut ms_avail = TlvBuf::new();
        ms_avail.push_u8(Tag::MS_AVAILABILITY_STATUS, 1);
        Scratch {
            sm_tlvs,
            receipt_tlvs,
            data_tlvs,
            sc_version,
            ms_avail,
            dests: Vec::new(),
            uns: Vec::new(),
        }
    }
}

/// One or more examples of every v3.4 PDU, inside what both codecs accept.
pub(crate) fn samples(s: &mut Scratch) -> Vec<Pdu<'_>> {
    let bind = Bind {
        system_id: b"esme01",
        password: b"secret08",
        system_type: b"VMA",
        interface_version: 0x34,
        addr_ton: 1,
        addr_npi: 1,
        address_range: b"^447700",
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
        tlvs: s.sm_tlvs.as_tlvs(),
    };
    let plain_sm = Sm {
        service_type: b"",
        source_addr: b"447700900001",
        source_addr_ton: 1,
        source_addr_npi: 1,
        destination_addr: b"447700900002",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        short_message: &[b'x'; 160],
        ..Sm::default()
    };
    let receipt = Sm {
        service_type: b"",
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900002",
        dest_addr_ton: 5,
        dest_addr_npi: 0,
        destination_addr: b"Shop",
        esm_class: 0x04,
        short_message: b"id:0123456789abcdef sub:001 dlvrd:000 submit date:2405061422 done date:2405061423 stat:UNDELIV err:001 text:hello world",
        tlvs: s.receipt_tlvs.as_tlvs(),
        ..Sm::default()
    };
    let dests = RawList::build(
        &[
            DestAddress::Sme {
                dest_addr_ton: 1,
                dest_addr_npi: 1,
                destination_addr: b"447700900003",
            },
            DestAddress::DistributionList {
                dl_name: b"friends",
            },
            DestAddress::Sme {
                dest_addr_ton: 2,
                dest_addr_npi: 8,
                destination_addr: b"12345678901234567890",
            },
        ],
        &mut s.dests,
    )
    .unwrap();
    let uns = RawList::build(
        &[
            UnsuccessSme {
                dest_addr_ton: 1,
                dest_addr_npi: 1,
                destination_addr: b"4478",
                error_status_code: CommandStatus::ESME_RINVDSTADR,
            },
            UnsuccessSme {
                dest_addr_ton: 0,
                dest_addr_npi: 0,
                destination_addr: b"",
                error_status_code: CommandStatus(0x0400),
            },
        ],
        &mut s.uns,
    )
    .unwrap();
    let bodies = vec![
        Body::GenericNack,
        Body::BindReceiver(bind),
        Body::BindTransmitter(Bind {
            address_range: b"",
            ..bind
        }),
        Body::BindTransceiver(Bind {
            interface_version: 0x33,
            ..bind
        }),
        Body::BindReceiverResp(BindResp {
            system_id: b"smsc",
            tlvs: s.sc_version.as_tlvs(),
        }),
        Body::BindTransmitterResp(BindResp {
            system_id: b"smsc",
            tlvs: Tlvs::EMPTY,
        }),
        Body::BindTransceiverResp(BindResp {
            system_id: b"012345678901234",
            tlvs: s.sc_version.as_tlvs(),
        }),
        Body::Outbind(Outbind {
            system_id: b"smsc",
            password: b"pw",
        }),
        Body::Unbind,
        Body::UnbindResp,
        Body::SubmitSm(sm),
        Body::SubmitSm(plain_sm),
        Body::SubmitSmResp(MessageIdResp {
            message_id: b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
        }),
        Body::DeliverSm(Sm {
            esm_class: 0x00,
            ..sm
        }),
        Body::DeliverSm(receipt),
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
            tlvs: s.sm_tlvs.as_tlvs(),
        }),
        Body::SubmitMultiResp(SubmitMultiResp {
            message_id: b"m1",
            unsuccess_smes: uns,
        }),
        Body::DataSm(DataSm {
            service_type: b"WAP",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"12345678901234567890",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"99",
            esm_class: 0,
            registered_delivery: 0,
            data_coding: 4,
            tlvs: s.data_tlvs.as_tlvs(),
        }),
        Body::DataSmResp(DataSmResp {
            message_id: b"d1",
            tlvs: Tlvs::EMPTY,
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
        Body::QuerySmResp(QuerySmResp {
            message_id: b"q2",
            final_date: b"",
            message_state: 1,
            error_code: 9,
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
            validity_period: b"000001020000000R",
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
            tlvs: s.ms_avail.as_tlvs(),
        }),
        Body::AlertNotification(AlertNotification {
            source_addr: b"",
            esme_addr: b"",
            tlvs: Tlvs::EMPTY,
            ..AlertNotification::default()
        }),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| Pdu::new(0x7000_0000 + i as u32, b))
        .collect()
}
