//! rusmpp PDUs built by hand, with rusmpp's own constructors, from the
//! field values of ours (never by decoding our bytes).
use super::*;

// --------------------------------------------- building rusmpp values by hand

pub(crate) fn c<const MIN: usize, const MAX: usize>(s: &[u8]) -> COctetString<MIN, MAX> {
    let mut v = s.to_vec();
    v.push(0);
    COctetString::from_vec(v).unwrap()
}

pub(crate) fn t17(s: &[u8]) -> EmptyOrFullCOctetString<17> {
    let mut v = s.to_vec();
    v.push(0);
    EmptyOrFullCOctetString::from_vec(v).unwrap()
}

pub(crate) fn st(s: &[u8]) -> ServiceType {
    ServiceType::new(c(s))
}

pub(crate) fn sm_octets(s: &[u8]) -> OctetString<0, 255> {
    OctetString::from_slice(s).unwrap()
}

/// One of our TLVs as rusmpp's typed value (the tags the samples use).
pub(crate) fn their_tlv(tag: Tag, v: &[u8]) -> RTlv {
    let u16v = || u16::from_be_bytes(v.try_into().unwrap());
    let value = match tag {
        Tag::SAR_MSG_REF_NUM => TlvValue::SarMsgRefNum(u16v()),
        Tag::SAR_TOTAL_SEGMENTS => TlvValue::SarTotalSegments(v[0]),
        Tag::SAR_SEGMENT_SEQNUM => TlvValue::SarSegmentSeqnum(v[0]),
        Tag::SOURCE_PORT => TlvValue::SourcePort(u16v()),
        Tag::DESTINATION_PORT => TlvValue::DestPort(u16v()),
        Tag::USER_MESSAGE_REFERENCE => TlvValue::UserMessageReference(u16v().into()),
        Tag::RECEIPTED_MESSAGE_ID => {
            TlvValue::ReceiptedMessageId(COctetString::from_slice(v).unwrap())
        }
        Tag::MESSAGE_STATE => TlvValue::MessageState(rv::MessageState::from(v[0])),
        Tag::NETWORK_ERROR_CODE => TlvValue::NetworkErrorCode(NetworkErrorCode::new(
            ErrorCodeNetworkType::from(v[0]),
            u16::from_be_bytes([v[1], v[2]]),
        )),
        Tag::SC_INTERFACE_VERSION => TlvValue::ScInterfaceVersion(rv::InterfaceVersion::from(v[0])),
        Tag::MS_AVAILABILITY_STATUS => {
            TlvValue::MsAvailabilityStatus(rv::MsAvailabilityStatus::from(v[0]))
        }
        Tag::MESSAGE_PAYLOAD => {
            TlvValue::MessagePayload(MessagePayload::new(AnyOctetString::from_slice(v)))
        }
        Tag(other) if Tag(other).is_vendor() => TlvValue::Other {
            tag: TlvTag::from(other),
            value: AnyOctetString::from_slice(v),
        },
        other => panic!("add {other:?} to their_tlv"),
    };
    RTlv::from(value)
}

pub(crate) fn their_tlv_list(t: &Tlvs<'_>) -> Vec<RTlv> {
    t.iter().map(|t| their_tlv(t.tag, t.value)).collect()
}

/// rusmpp's bind fields, in declaration order.
pub(crate) type TheirBind = (
    COctetString<1, 16>,
    COctetString<1, 9>,
    COctetString<1, 13>,
    rv::InterfaceVersion,
    rv::Ton,
    rv::Npi,
    COctetString<1, 41>,
);

pub(crate) fn their_bind_fields(b: &Bind<'_>) -> TheirBind {
    (
        c(b.system_id),
        c(b.password),
        c(b.system_type),
        b.interface_version.into(),
        b.addr_ton.into(),
        b.addr_npi.into(),
        c(b.address_range),
    )
}

macro_rules! their_bind {
    ($ty:ident, $b:expr) => {{
        let f = their_bind_fields($b);
        r::$ty::new(f.0, f.1, f.2, f.3, f.4, f.5, f.6)
    }};
}

macro_rules! their_bind_resp {
    ($ty:ident, $parts:ident, $b:expr) => {{
        let b: &BindResp<'_> = $b;
        let tlv = their_tlv_list(&b.tlvs);
        assert!(
            tlv.len() <= 1,
            "bind_resp carries at most sc_interface_version"
        );
        r::$ty::from_parts(r::parts::$parts {
            system_id: c(b.system_id),
            sc_interface_version: tlv.into_iter().next(),
        })
    }};
}

macro_rules! their_sm {
    ($ty:ident, $parts:ident, $s:expr) => {{
        let s: &Sm<'_> = $s;
        r::$ty::from_parts(r::parts::$parts {
            service_type: st(s.service_type),
            source_addr_ton: s.source_addr_ton.into(),
            source_addr_npi: s.source_addr_npi.into(),
            source_addr: c(s.source_addr),
            dest_addr_ton: s.dest_addr_ton.into(),
            dest_addr_npi: s.dest_addr_npi.into(),
            destination_addr: c(s.destination_addr),
            esm_class: s.esm_class.into(),
            protocol_id: s.protocol_id,
            priority_flag: s.priority_flag.into(),
            schedule_delivery_time: t17(s.schedule_delivery_time),
            validity_period: t17(s.validity_period),
            registered_delivery: s.registered_delivery.into(),
            replace_if_present_flag: s.replace_if_present_flag.into(),
            data_coding: s.data_coding.into(),
            sm_default_msg_id: s.sm_default_msg_id,
            sm_length: s.short_message.len() as u8,
            short_message: sm_octets(s.short_message),
            tlvs: their_tlv_list(&s.tlvs),
        })
    }};
}

/// Builds rusmpp's PDU from the same field values, with rusmpp's own
/// constructors (never by decoding our bytes).
pub(crate) fn to_rusmpp(b: &Body<'_>) -> RPdu {
    match b {
        Body::GenericNack => RPdu::GenericNack,
        Body::Unbind => RPdu::Unbind,
        Body::UnbindResp => RPdu::UnbindResp,
        Body::CancelSmResp => RPdu::CancelSmResp,
        Body::ReplaceSmResp => RPdu::ReplaceSmResp,
        Body::EnquireLink => RPdu::EnquireLink,
        Body::EnquireLinkResp => RPdu::EnquireLinkResp,
        Body::BindReceiver(x) => their_bind!(BindReceiver, x).into(),
        Body::BindTransmitter(x) => their_bind!(BindTransmitter, x).into(),
        Body::BindTransceiver(x) => their_bind!(BindTransceiver, x).into(),
        Body::BindReceiverResp(x) => {
            their_bind_resp!(BindReceiverResp, BindReceiverRespParts, x).into()
        }
        Body::BindTransmitterResp(x) => {
            their_bind_resp!(BindTransmitterResp, BindTransmitterRespParts, x).into()
        }
        Body::BindTransceiverResp(x) => {
            their_bind_resp!(BindTransceiverResp, BindTransceiverRespParts, x).into()
        }
        Body::Outbind(x) => r::Outbind::new(c(x.system_id), c(x.password)).into(),
        Body::SubmitSm(s) => their_sm!(SubmitSm, SubmitSmParts, s).into(),
        Body::DeliverSm(s) => their_sm!(DeliverSm, DeliverSmParts, s).into(),
        Body::SubmitSmResp(m) => r::SubmitSmResp::new(c(m.message_id), vec![]).into(),
        Body::DeliverSmResp(m) => r::DeliverSmResp::new(c(m.message_id), vec![]).into(),
        Body::DataSmResp(m) => r::DataSmResp::from_parts(r::parts::DataSmRespParts {
            message_id: c(m.message_id),
            tlvs: their_tlv_list(&m.tlvs),
        })
        .into(),
        Body::SubmitMulti(m) => {
            let dests: Vec<RDest> = m
                .dest_addresses
                .iter()
                .map(|d| match d {
                    DestAddress::Sme {
                        dest_addr_ton,
                        dest_addr_npi,
                        destination_addr,
                    } => RDest::SmeAddress(SmeAddress::new(
                        dest_addr_ton.into(),
                        dest_addr_npi.into(),
                        c(destination_addr),
                    )),
                    DestAddress::DistributionList { dl_name } => {
                        RDest::DistributionListName(DistributionListName::new(c(dl_name)))
                    }
                })
                .collect();
            r::SubmitMulti::from_parts(r::parts::SubmitMultiParts {
                service_type: st(m.service_type),
                source_addr_ton: m.source_addr_ton.into(),
                source_addr_npi: m.source_addr_npi.into(),
                source_addr: c(m.source_addr),
                number_of_dests: dests.len() as u8,
                dest_address: dests,
                esm_class: m.esm_class.into(),
                protocol_id: m.protocol_id,
                priority_flag: m.priority_flag.into(),
                schedule_delivery_time: t17(m.schedule_delivery_time),
                validity_period: t17(m.validity_period),
                registered_delivery: m.registered_delivery.into(),
                replace_if_present_flag: m.replace_if_present_flag.into(),
                data_coding: m.data_coding.into(),
                sm_default_msg_id: m.sm_default_msg_id,
                sm_length: m.short_message.len() as u8,
                short_message: sm_octets(m.short_message),
                tlvs: their_tlv_list(&m.tlvs),
            })
            .into()
        }
        Body::SubmitMultiResp(m) => {
            let uns: Vec<rv::UnsuccessSme> = m
                .unsuccess_smes
                .iter()
                .map(|u| {
                    rv::UnsuccessSme::new(
                        u.dest_addr_ton.into(),
                        u.dest_addr_npi.into(),
                        c(u.destination_addr),
                        RStatus::from(u.error_status_code.0),
                    )
                })
                .collect();
            r::SubmitMultiResp::from_parts(r::parts::SubmitMultiRespParts {
                message_id: c(m.message_id),
                no_unsuccess: uns.len() as u8,
                unsuccess_sme: uns,
                tlvs: vec![],
            })
            .into()
        }
        Body::DataSm(d) => r::DataSm::from_parts(r::parts::DataSmParts {
            service_type: st(d.service_type),
            source_addr_ton: d.source_addr_ton.into(),
            source_addr_npi: d.source_addr_npi.into(),
            source_addr: c(d.source_addr),
            dest_addr_ton: d.dest_addr_ton.into(),
            dest_addr_npi: d.dest_addr_npi.into(),
            destination_addr: c(d.destination_addr),
            esm_class: d.esm_class.into(),
            registered_delivery: d.registered_delivery.into(),
            data_coding: d.data_coding.into(),
            tlvs: their_tlv_list(&d.tlvs),
        })
        .into(),
        Body::QuerySm(q) => r::QuerySm::new(
            c(q.message_id),
            q.source_addr_ton.into(),
            q.source_addr_npi.into(),
            c(q.source_addr),
        )
        .into(),
        Body::QuerySmResp(q) => r::QuerySmResp::new(
            c(q.message_id),
            t17(q.final_date),
            q.message_state.into(),
            q.error_code,
        )
        .into(),
        Body::CancelSm(x) => r::CancelSm::new(
            st(x.service_type),
            c(x.message_id),
            x.source_addr_ton.into(),
            x.source_addr_npi.into(),
            c(x.source_addr),
            x.dest_addr_ton.into(),
            x.dest_addr_npi.into(),
            c(x.destination_addr),
        )
        .into(),
        Body::ReplaceSm(x) => r::ReplaceSm::from_parts(r::parts::ReplaceSmParts {
            message_id: c(x.message_id),
            source_addr_ton: x.source_addr_ton.into(),
            source_addr_npi: x.source_addr_npi.into(),
            source_addr: c(x.source_addr),
            schedule_delivery_time: t17(x.schedule_delivery_time),
            validity_period: t17(x.validity_period),
            registered_delivery: x.registered_delivery.into(),
            sm_default_msg_id: x.sm_default_msg_id,
            sm_length: x.short_message.len() as u8,
            short_message: sm_octets(x.short_message),
            message_payload: None,
        })
        .into(),
        Body::AlertNotification(a) => {
            let tlv = their_tlv_list(&a.tlvs);
            assert!(
                tlv.len() <= 1,
                "alert_notification: ms_availability_status only"
            );
            r::AlertNotification::from_parts(r::parts::AlertNotificationParts {
                source_addr_ton: a.source_addr_ton.into(),
                source_addr_npi: a.source_addr_npi.into(),
                source_addr: c(a.source_addr),
                esme_addr_ton: a.esme_addr_ton.into(),
                esme_addr_npi: a.esme_addr_npi.into(),
                esme_addr: c(a.esme_addr),
                ms_availability_status: tlv.into_iter().next(),
            })
            .into()
        }
    }
}
