//! Message bodies: submit_sm / deliver_sm, their message_id responses, data_sm.

use super::{tlvs, BodyCodec};
use crate::pdu::header::CommandStatus as S;
use crate::pdu::tlv::Tlvs;
use crate::pdu::wire::{check_cstr, max, EncodeError, Reader, Writer};

/// The body shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1).
/// `sm_length` is not stored: it is `short_message.len()`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Sm<'a> {
    pub service_type: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: &'a [u8],
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: &'a [u8],
    pub validity_period: &'a [u8],
    pub registered_delivery: u8,
    pub replace_if_present_flag: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    pub short_message: &'a [u8],
    pub tlvs: Tlvs<'a>,
}

/// submit_sm body.
pub type SubmitSm<'a> = Sm<'a>;
/// deliver_sm body (same layout as submit_sm).
pub type DeliverSm<'a> = Sm<'a>;

impl<'a> BodyCodec<'a> for Sm<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        // Runs of one-octet fields are read as arrays: one bounds check each.
        let service_type = r.cstr(max::SERVICE_TYPE, S::ESME_RINVSERTYP)?;
        let [source_addr_ton, source_addr_npi] = r.array()?;
        let source_addr = r.cstr(max::ADDR, S::ESME_RINVSRCADR)?;
        let [dest_addr_ton, dest_addr_npi] = r.array()?;
        let destination_addr = r.cstr(max::ADDR, S::ESME_RINVDSTADR)?;
        let [esm_class, protocol_id, priority_flag] = r.array()?;
        let schedule_delivery_time = r.cstr(max::TIME, S::ESME_RINVSCHED)?;
        let validity_period = r.cstr(max::TIME, S::ESME_RINVEXPIRY)?;
        let [registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length] =
            r.array()?;
        let short_message = r.octets(usize::from(sm_length), S::ESME_RINVMSGLEN)?;
        Ok(Sm {
            service_type,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            dest_addr_ton,
            dest_addr_npi,
            destination_addr,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            short_message,
            tlvs: tlvs(r)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        if self.short_message.len() > max::SHORT_MESSAGE {
            return Err(EncodeError::ShortMessageTooLong {
                len: self.short_message.len(),
            });
        }
        Ok(
            check_cstr(self.service_type, max::SERVICE_TYPE, "service_type")?
                + check_cstr(self.source_addr, max::ADDR, "source_addr")?
                + check_cstr(self.destination_addr, max::ADDR, "destination_addr")?
                + check_cstr(
                    self.schedule_delivery_time,
                    max::TIME,
                    "schedule_delivery_time",
                )?
                + check_cstr(self.validity_period, max::TIME, "validity_period")?
                + 12
                + self.short_message.len()
                + self.tlvs.raw().len(),
        )
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.local(|w| self.write_fields(w));
    }
}

impl Sm<'_> {
    #[inline(always)]
    fn write_fields(&self, w: &mut Writer<'_>) {
        // Runs of one-octet fields are written as one store each.
        w.cstr(self.service_type);
        w.array([self.source_addr_ton, self.source_addr_npi]);
        w.cstr(self.source_addr);
        w.array([self.dest_addr_ton, self.dest_addr_npi]);
        w.cstr(self.destination_addr);
        w.array([self.esm_class, self.protocol_id, self.priority_flag]);
        w.cstr(self.schedule_delivery_time);
        w.cstr(self.validity_period);
        w.array([
            self.registered_delivery,
            self.replace_if_present_flag,
            self.data_coding,
            self.sm_default_msg_id,
            // body_len() checked the length fits one octet.
            u8::try_from(self.short_message.len()).unwrap_or(u8::MAX),
        ]);
        w.bytes(self.short_message);
        w.bytes(self.tlvs.raw());
    }
}

/// submit_sm_resp / deliver_sm_resp (§4.4.2, §4.6.2): a message_id only.
/// The body is omitted on error and often by ESMEs in deliver_sm_resp.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MessageIdResp<'a> {
    pub message_id: &'a [u8],
}

impl<'a> BodyCodec<'a> for MessageIdResp<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        if r.remaining() == 0 {
            return Ok(MessageIdResp::default());
        }
        Ok(MessageIdResp {
            message_id: r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        check_cstr(self.message_id, max::MESSAGE_ID, "message_id")
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
    }
}

/// data_sm (§4.7.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DataSm<'a> {
    pub service_type: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: &'a [u8],
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub data_coding: u8,
    pub tlvs: Tlvs<'a>,
}

impl<'a> BodyCodec<'a> for DataSm<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(DataSm {
            service_type: r.cstr(max::SERVICE_TYPE, S::ESME_RINVSERTYP)?,
            source_addr_ton: r.u8()?,
            source_addr_npi: r.u8()?,
            source_addr: r.cstr(max::ADDR_LONG, S::ESME_RINVSRCADR)?,
            dest_addr_ton: r.u8()?,
            dest_addr_npi: r.u8()?,
            destination_addr: r.cstr(max::ADDR_LONG, S::ESME_RINVDSTADR)?,
            esm_class: r.u8()?,
            registered_delivery: r.u8()?,
            data_coding: r.u8()?,
            tlvs: tlvs(r)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(
            check_cstr(self.service_type, max::SERVICE_TYPE, "service_type")?
                + check_cstr(self.source_addr, max::ADDR_LONG, "source_addr")?
                + check_cstr(self.destination_addr, max::ADDR_LONG, "destination_addr")?
                + 7
                + self.tlvs.raw().len(),
        )
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.service_type);
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
        w.u8(self.dest_addr_ton);
        w.u8(self.dest_addr_npi);
        w.cstr(self.destination_addr);
        w.u8(self.esm_class);
        w.u8(self.registered_delivery);
        w.u8(self.data_coding);
        w.bytes(self.tlvs.raw());
    }
}

/// data_sm_resp (§4.7.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DataSmResp<'a> {
    pub message_id: &'a [u8],
    pub tlvs: Tlvs<'a>,
}

impl<'a> BodyCodec<'a> for DataSmResp<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        if r.remaining() == 0 {
            return Ok(DataSmResp::default());
        }
        Ok(DataSmResp {
            message_id: r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?,
            tlvs: tlvs(r)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.message_id, max::MESSAGE_ID, "message_id")? + self.tlvs.raw().len())
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
        w.bytes(self.tlvs.raw());
    }
}
