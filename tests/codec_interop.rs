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

// ---------------------------------------------------------------- rusmpp I/O

/// rusmpp's decode entry point, as its tokio codec calls it: the buffer
/// starts after command_length, and the length is command_length - 4.
///
/// `bytes` is not our dependency, so the `BytesMut` it reads from is made
/// from rusmpp's own `AnyOctetString` (`BytesMut: From<Bytes>`).
/// Returns the command, the octets it consumed and the octets left over.
fn rusmpp_try_decode(bytes: &[u8]) -> Result<(Command, usize, usize), DecodeError> {
    let command_length = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(command_length, bytes.len());
    let mut src = AnyOctetString::from_slice(&bytes[4..]).into_bytes().into();
    let (cmd, size) = Command::decode(&mut src, command_length - 4)?;
    Ok((cmd, size, src.len()))
}

fn rusmpp_decode(bytes: &[u8]) -> Command {
    let (cmd, size, left) = rusmpp_try_decode(bytes)
        .unwrap_or_else(|e| panic!("rusmpp refused our bytes: {e:?}\n{bytes:02x?}"));
    assert_eq!(size, bytes.len() - 4, "rusmpp consumed a different length");
    assert_eq!(left, 0);
    cmd
}

/// rusmpp's encode, into a slice: command_length first, then the command.
fn rusmpp_encode(cmd: &Command) -> Vec<u8> {
    let len = 4 + cmd.length();
    let mut out = vec![0u8; len];
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    let n = cmd.encode(&mut out[4..]);
    assert_eq!(n + 4, len);
    out
}

// ------------------------------------------------------- comparison helpers

/// A C-Octet String's characters without its NUL.
fn chars(x: &impl AsRef<[u8]>) -> &[u8] {
    let b = x.as_ref();
    match b.split_last() {
        Some((0, head)) => head,
        _ => panic!("rusmpp C-string without NUL: {b:02x?}"),
    }
}

/// Any rusmpp value as the octets it encodes to.
fn octets<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = vec![0u8; v.length()];
    let n = v.encode(&mut out);
    out.truncate(n);
    out
}

/// rusmpp TLVs as (tag, value octets).
fn their_tlvs(t: &[RTlv]) -> Vec<(u16, Vec<u8>)> {
    t.iter()
        .map(|t| {
            let value = t.value().map(octets).unwrap_or_default();
            assert_eq!(usize::from(t.value_length()), value.len());
            (u16::from(t.tag()), value)
        })
        .collect()
}

fn our_tlvs(t: &Tlvs<'_>) -> Vec<(u16, Vec<u8>)> {
    t.iter().map(|t| (t.tag.0, t.value.to_vec())).collect()
}

macro_rules! same {
    ($what:expr, $ours:expr, $theirs:expr) => {
        assert_eq!($ours, $theirs, "field {} differs", $what)
    };
}

macro_rules! cmp_bind {
    ($o:expr, $t:expr) => {{
        let (o, t): (&Bind<'_>, _) = ($o, $t);
        same!("system_id", o.system_id, chars(&t.system_id));
        same!("password", o.password, chars(&t.password));
        same!("system_type", o.system_type, chars(&t.system_type));
        same!(
            "interface_version",
            o.interface_version,
            u8::from(t.interface_version)
        );
        same!("addr_ton", o.addr_ton, u8::from(t.addr_ton));
        same!("addr_npi", o.addr_npi, u8::from(t.addr_npi));
        same!("address_range", o.address_range, chars(&t.address_range));
    }};
}

macro_rules! cmp_bind_resp {
    ($o:expr, $t:expr) => {{
        let (o, t) = ($o, $t.clone().into_parts());
        same!("system_id", o.system_id, chars(&t.system_id));
        let theirs: Vec<RTlv> = t.sc_interface_version.into_iter().collect();
        same!("tlvs", our_tlvs(&o.tlvs), their_tlvs(&theirs));
    }};
}

/// The fields from esm_class to the TLVs, shared by submit_sm, deliver_sm
/// and submit_multi (`o` ours, `t` rusmpp's parts).
macro_rules! cmp_message {
    ($o:expr, $t:expr) => {{
        let (o, t) = (&$o, &$t);
        same!("esm_class", o.esm_class, u8::from(t.esm_class));
        same!("protocol_id", o.protocol_id, t.protocol_id);
        same!("priority_flag", o.priority_flag, u8::from(t.priority_flag));
        same!(
            "schedule_delivery_time",
            o.schedule_delivery_time,
            chars(&t.schedule_delivery_time)
        );
        same!(
            "validity_period",
            o.validity_period,
            chars(&t.validity_period)
        );
        same!(
            "registered_delivery",
            o.registered_delivery,
            u8::from(t.registered_delivery)
        );
        same!(
            "replace_if_present_flag",
            o.replace_if_present_flag,
            u8::from(t.replace_if_present_flag)
        );
        same!("data_coding", o.data_coding, u8::from(t.data_coding));
        same!(
            "sm_default_msg_id",
            o.sm_default_msg_id,
            t.sm_default_msg_id
        );
        same!("sm_length", o.short_message.len(), usize::from(t.sm_length));
        same!("short_message", o.short_message, t.short_message.as_ref());
        same!("tlvs", our_tlvs(&o.tlvs), their_tlvs(&t.tlvs));
    }};
}

/// The submit_sm / deliver_sm field set, from rusmpp parts.
macro_rules! cmp_sm {
    ($o:expr, $t:expr) => {{
        let (o, t): (&Sm<'_>, _) = ($o, $t.clone().into_parts());
        same!(
            "service_type",
            o.service_type,
            chars(t.service_type.value())
        );
        same!(
            "source_addr_ton",
            o.source_addr_ton,
            u8::from(t.source_addr_ton)
        );
        same!(
            "source_addr_npi",
            o.source_addr_npi,
            u8::from(t.source_addr_npi)
        );
        same!("source_addr", o.source_addr, chars(&t.source_addr));
        same!("dest_addr_ton", o.dest_addr_ton, u8::from(t.dest_addr_ton));
        same!("dest_addr_npi", o.dest_addr_npi, u8::from(t.dest_addr_npi));
        same!(
            "destination_addr",
            o.destination_addr,
            chars(&t.destination_addr)
        );
        cmp_message!(o, t);
    }};
}

/// Compares one of our bodies with rusmpp's, field by field.
fn compare(ours: &Body<'_>, theirs: &RPdu) {
    match (ours, theirs) {
        (Body::GenericNack, RPdu::GenericNack)
        | (Body::Unbind, RPdu::Unbind)
        | (Body::UnbindResp, RPdu::UnbindResp)
        | (Body::CancelSmResp, RPdu::CancelSmResp)
        | (Body::ReplaceSmResp, RPdu::ReplaceSmResp)
        | (Body::EnquireLink, RPdu::EnquireLink)
        | (Body::EnquireLinkResp, RPdu::EnquireLinkResp) => {}
        (Body::BindReceiver(o), RPdu::BindReceiver(t)) => cmp_bind!(o, t),
        (Body::BindTransmitter(o), RPdu::BindTransmitter(t)) => cmp_bind!(o, t),
        (Body::BindTransceiver(o), RPdu::BindTransceiver(t)) => cmp_bind!(o, t),
        (Body::BindReceiverResp(o), RPdu::BindReceiverResp(t)) => cmp_bind_resp!(o, t),
        (Body::BindTransmitterResp(o), RPdu::BindTransmitterResp(t)) => cmp_bind_resp!(o, t),
        (Body::BindTransceiverResp(o), RPdu::BindTransceiverResp(t)) => cmp_bind_resp!(o, t),
        (Body::Outbind(o), RPdu::Outbind(t)) => {
            same!("system_id", o.system_id, chars(&t.system_id));
            same!("password", o.password, chars(&t.password));
        }
        (Body::SubmitSm(o), RPdu::SubmitSm(t)) => cmp_sm!(o, t),
        (Body::DeliverSm(o), RPdu::DeliverSm(t)) => cmp_sm!(o, t),
        (Body::SubmitSmResp(o), RPdu::SubmitSmResp(t)) => {
            let t = t.clone().into_parts();
            same!("message_id", o.message_id, chars(&t.message_id));
            assert!(t.tlvs.is_empty());
        }
        (Body::DeliverSmResp(o), RPdu::DeliverSmResp(t)) => {
            let t = t.clone().into_parts();
            same!("message_id", o.message_id, chars(&t.message_id));
            assert!(t.tlvs.is_empty());
        }
        (Body::DataSmResp(o), RPdu::DataSmResp(t)) => {
            let t = t.clone().into_parts();
            same!("message_id", o.message_id, chars(&t.message_id));
            same!("tlvs", our_tlvs(&o.tlvs), their_tlvs(&t.tlvs));
        }
        (Body::SubmitMulti(o), RPdu::SubmitMulti(t)) => {
            let t = t.clone().into_parts();
            same!(
                "service_type",
                o.service_type,
                chars(t.service_type.value())
            );
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
            same!(
                "number_of_dests",
                o.dest_addresses.count(),
                t.number_of_dests
            );
            let ours: Vec<DestAddress<'_>> = o.dest_addresses.iter().collect();
            same!("dest_address count", ours.len(), t.dest_address.len());
            for (i, (a, b)) in ours.iter().zip(&t.dest_address).enumerate() {
                match (a, b) {
                    (
                        DestAddress::Sme {
                            dest_addr_ton,
                            dest_addr_npi,
                            destination_addr,
                        },
                        RDest::SmeAddress(s),
                    ) => {
                        same!(
                            format!("dest[{i}].ton"),
                            *dest_addr_ton,
                            u8::from(s.dest_addr_ton)
                        );
                        same!(
                            format!("dest[{i}].npi"),
                            *dest_addr_npi,
                            u8::from(s.dest_addr_npi)
                        );
                        same!(
                            format!("dest[{i}].addr"),
                            *destination_addr,
                            chars(&s.destination_addr)
                        );
                    }
                    (DestAddress::DistributionList { dl_name }, RDest::DistributionListName(d)) => {
                        same!(format!("dest[{i}].dl_name"), *dl_name, chars(&d.dl_name));
                    }
                    other => panic!("dest[{i}] kind differs: {other:?}"),
                }
            }
            cmp_message!(o, t);
        }
        (Body::SubmitMultiResp(o), RPdu::SubmitMultiResp(t)) => {
            let t = t.clone().into_parts();
            same!("message_id", o.message_id, chars(&t.message_id));
            same!("no_unsuccess", o.unsuccess_smes.count(), t.no_unsuccess);
            let ours: Vec<UnsuccessSme<'_>> = o.unsuccess_smes.iter().collect();
            same!("unsuccess_sme count", ours.len(), t.unsuccess_sme.len());
            for (i, (a, b)) in ours.iter().zip(&t.unsuccess_sme).enumerate() {
                same!(
                    format!("uns[{i}].ton"),
                    a.dest_addr_ton,
                    u8::from(b.dest_addr_ton)
                );
                same!(
                    format!("uns[{i}].npi"),
                    a.dest_addr_npi,
                    u8::from(b.dest_addr_npi)
                );
                same!(
                    format!("uns[{i}].addr"),
                    a.destination_addr,
                    chars(&b.destination_addr)
                );
                same!(
                    format!("uns[{i}].error_status_code"),
                    a.error_status_code.0,
                    u32::from(b.error_status_code)
                );
            }
            assert!(t.tlvs.is_empty());
        }
        (Body::DataSm(o), RPdu::DataSm(t)) => {
            let t = t.clone().into_parts();
            same!(
                "service_type",
                o.service_type,
                chars(t.service_type.value())
            );
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
            same!("dest_addr_ton", o.dest_addr_ton, u8::from(t.dest_addr_ton));
            same!("dest_addr_npi", o.dest_addr_npi, u8::from(t.dest_addr_npi));
            same!(
                "destination_addr",
                o.destination_addr,
                chars(&t.destination_addr)
            );
            same!("esm_class", o.esm_class, u8::from(t.esm_class));
            same!(
                "registered_delivery",
                o.registered_delivery,
                u8::from(t.registered_delivery)
            );
            same!("data_coding", o.data_coding, u8::from(t.data_coding));
            same!("tlvs", our_tlvs(&o.tlvs), their_tlvs(&t.tlvs));
        }
        (Body::QuerySm(o), RPdu::QuerySm(t)) => {
            same!("message_id", o.message_id, chars(&t.message_id));
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
        }
        (Body::QuerySmResp(o), RPdu::QuerySmResp(t)) => {
            same!("message_id", o.message_id, chars(&t.message_id));
            same!("final_date", o.final_date, chars(&t.final_date));
            same!("message_state", o.message_state, u8::from(t.message_state));
            same!("error_code", o.error_code, t.error_code);
        }
        (Body::CancelSm(o), RPdu::CancelSm(t)) => {
            same!(
                "service_type",
                o.service_type,
                chars(t.service_type.value())
            );
            same!("message_id", o.message_id, chars(&t.message_id));
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
            same!("dest_addr_ton", o.dest_addr_ton, u8::from(t.dest_addr_ton));
            same!("dest_addr_npi", o.dest_addr_npi, u8::from(t.dest_addr_npi));
            same!(
                "destination_addr",
                o.destination_addr,
                chars(&t.destination_addr)
            );
        }
        (Body::ReplaceSm(o), RPdu::ReplaceSm(t)) => {
            let t = t.clone().into_parts();
            same!("message_id", o.message_id, chars(&t.message_id));
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
            same!(
                "schedule_delivery_time",
                o.schedule_delivery_time,
                chars(&t.schedule_delivery_time)
            );
            same!(
                "validity_period",
                o.validity_period,
                chars(&t.validity_period)
            );
            same!(
                "registered_delivery",
                o.registered_delivery,
                u8::from(t.registered_delivery)
            );
            same!(
                "sm_default_msg_id",
                o.sm_default_msg_id,
                t.sm_default_msg_id
            );
            same!("sm_length", o.short_message.len(), usize::from(t.sm_length));
            same!("short_message", o.short_message, t.short_message.as_ref());
            assert!(t.message_payload.is_none());
        }
        (Body::AlertNotification(o), RPdu::AlertNotification(t)) => {
            let t = t.clone().into_parts();
            same!(
                "source_addr_ton",
                o.source_addr_ton,
                u8::from(t.source_addr_ton)
            );
            same!(
                "source_addr_npi",
                o.source_addr_npi,
                u8::from(t.source_addr_npi)
            );
            same!("source_addr", o.source_addr, chars(&t.source_addr));
            same!("esme_addr_ton", o.esme_addr_ton, u8::from(t.esme_addr_ton));
            same!("esme_addr_npi", o.esme_addr_npi, u8::from(t.esme_addr_npi));
            same!("esme_addr", o.esme_addr, chars(&t.esme_addr));
            let theirs: Vec<RTlv> = t.ms_availability_status.into_iter().collect();
            same!("tlvs", our_tlvs(&o.tlvs), their_tlvs(&theirs));
        }
        (o, t) => panic!("different PDUs: ours {:?}, rusmpp {:?}", o.command_id(), t),
    }
}

// --------------------------------------------- building rusmpp values by hand

fn c<const MIN: usize, const MAX: usize>(s: &[u8]) -> COctetString<MIN, MAX> {
    let mut v = s.to_vec();
    v.push(0);
    COctetString::from_vec(v).unwrap()
}

fn t17(s: &[u8]) -> EmptyOrFullCOctetString<17> {
    let mut v = s.to_vec();
    v.push(0);
    EmptyOrFullCOctetString::from_vec(v).unwrap()
}

fn st(s: &[u8]) -> ServiceType {
    ServiceType::new(c(s))
}

fn sm_octets(s: &[u8]) -> OctetString<0, 255> {
    OctetString::from_slice(s).unwrap()
}

/// One of our TLVs as rusmpp's typed value (the tags the samples use).
fn their_tlv(tag: Tag, v: &[u8]) -> RTlv {
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

fn their_tlv_list(t: &Tlvs<'_>) -> Vec<RTlv> {
    t.iter().map(|t| their_tlv(t.tag, t.value)).collect()
}

/// rusmpp's bind fields, in declaration order.
type TheirBind = (
    COctetString<1, 16>,
    COctetString<1, 9>,
    COctetString<1, 13>,
    rv::InterfaceVersion,
    rv::Ton,
    rv::Npi,
    COctetString<1, 41>,
);

fn their_bind_fields(b: &Bind<'_>) -> TheirBind {
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
fn to_rusmpp(b: &Body<'_>) -> RPdu {
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

// ------------------------------------------------------------------ samples

struct Scratch {
    sm_tlvs: TlvBuf,
    receipt_tlvs: TlvBuf,
    data_tlvs: TlvBuf,
    sc_version: TlvBuf,
    ms_avail: TlvBuf,
    dests: Vec<u8>,
    uns: Vec<u8>,
}

impl Scratch {
    fn new() -> Scratch {
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
fn samples(s: &mut Scratch) -> Vec<Pdu<'_>> {
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
