//! rusmpp's encode and decode on byte slices, and the field-by-field
//! comparison of our bodies with rusmpp's PDUs.
use super::*;

// ---------------------------------------------------------------- rusmpp I/O

/// rusmpp's decode entry point, as its tokio codec calls it: the buffer
/// starts after command_length, and the length is command_length - 4.
///
/// `bytes` is not our dependency, so the `BytesMut` it reads from is made
/// from rusmpp's own `AnyOctetString` (`BytesMut: From<Bytes>`).
/// Returns the command, the octets it consumed and the octets left over.
pub(crate) fn rusmpp_try_decode(bytes: &[u8]) -> Result<(Command, usize, usize), DecodeError> {
    let command_length = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(command_length, bytes.len());
    let mut src = AnyOctetString::from_slice(&bytes[4..]).into_bytes().into();
    let (cmd, size) = Command::decode(&mut src, command_length - 4)?;
    Ok((cmd, size, src.len()))
}

pub(crate) fn rusmpp_decode(bytes: &[u8]) -> Command {
    let (cmd, size, left) = rusmpp_try_decode(bytes)
        .unwrap_or_else(|e| panic!("rusmpp refused our bytes: {e:?}\n{bytes:02x?}"));
    assert_eq!(size, bytes.len() - 4, "rusmpp consumed a different length");
    assert_eq!(left, 0);
    cmd
}

/// rusmpp's encode, into a slice: command_length first, then the command.
pub(crate) fn rusmpp_encode(cmd: &Command) -> Vec<u8> {
    let len = 4 + cmd.length();
    let mut out = vec![0u8; len];
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    let n = cmd.encode(&mut out[4..]);
    assert_eq!(n + 4, len);
    out
}

// ------------------------------------------------------- comparison helpers

/// A C-Octet String's characters without its NUL.
pub(crate) fn chars(x: &impl AsRef<[u8]>) -> &[u8] {
    let b = x.as_ref();
    match b.split_last() {
        Some((0, head)) => head,
        _ => panic!("rusmpp C-string without NUL: {b:02x?}"),
    }
}

/// Any rusmpp value as the octets it encodes to.
pub(crate) fn octets<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = vec![0u8; v.length()];
    let n = v.encode(&mut out);
    out.truncate(n);
    out
}

/// rusmpp TLVs as (tag, value octets).
pub(crate) fn their_tlvs(t: &[RTlv]) -> Vec<(u16, Vec<u8>)> {
    t.iter()
        .map(|t| {
            let value = t.value().map(octets).unwrap_or_default();
            assert_eq!(usize::from(t.value_length()), value.len());
            (u16::from(t.tag()), value)
        })
        .collect()
}

pub(crate) fn our_tlvs(t: &Tlvs<'_>) -> Vec<(u16, Vec<u8>)> {
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
pub(crate) fn compare(ours: &Body<'_>, theirs: &RPdu) {
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
