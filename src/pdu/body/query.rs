//! Bodies that name a stored message: query_sm and its response, cancel_sm, replace_sm.

use super::BodyCodec;
use crate::pdu::header::CommandStatus as S;
use crate::pdu::wire::{check_cstr, max, EncodeError, Reader, Writer};

/// query_sm (§4.8.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct QuerySm<'a> {
    pub message_id: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
}

impl<'a> BodyCodec<'a> for QuerySm<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(QuerySm {
            message_id: r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?,
            source_addr_ton: r.u8()?,
            source_addr_npi: r.u8()?,
            source_addr: r.cstr(max::ADDR, S::ESME_RINVSRCADR)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.message_id, max::MESSAGE_ID, "message_id")?
            + 2
            + check_cstr(self.source_addr, max::ADDR, "source_addr")?)
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
    }
}

/// query_sm_resp (§4.8.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct QuerySmResp<'a> {
    pub message_id: &'a [u8],
    pub final_date: &'a [u8],
    pub message_state: u8,
    pub error_code: u8,
}

impl<'a> BodyCodec<'a> for QuerySmResp<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        if r.remaining() == 0 {
            return Ok(QuerySmResp::default());
        }
        Ok(QuerySmResp {
            message_id: r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?,
            final_date: r.cstr(max::TIME, S::ESME_RINVCMDLEN)?,
            message_state: r.u8()?,
            error_code: r.u8()?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.message_id, max::MESSAGE_ID, "message_id")?
            + check_cstr(self.final_date, max::TIME, "final_date")?
            + 2)
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
        w.cstr(self.final_date);
        w.u8(self.message_state);
        w.u8(self.error_code);
    }
}

/// cancel_sm (§4.9.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CancelSm<'a> {
    pub service_type: &'a [u8],
    pub message_id: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: &'a [u8],
}

impl<'a> BodyCodec<'a> for CancelSm<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(CancelSm {
            service_type: r.cstr(max::SERVICE_TYPE, S::ESME_RINVSERTYP)?,
            message_id: r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?,
            source_addr_ton: r.u8()?,
            source_addr_npi: r.u8()?,
            source_addr: r.cstr(max::ADDR, S::ESME_RINVSRCADR)?,
            dest_addr_ton: r.u8()?,
            dest_addr_npi: r.u8()?,
            destination_addr: r.cstr(max::ADDR, S::ESME_RINVDSTADR)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(
            check_cstr(self.service_type, max::SERVICE_TYPE, "service_type")?
                + check_cstr(self.message_id, max::MESSAGE_ID, "message_id")?
                + check_cstr(self.source_addr, max::ADDR, "source_addr")?
                + check_cstr(self.destination_addr, max::ADDR, "destination_addr")?
                + 4,
        )
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.service_type);
        w.cstr(self.message_id);
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
        w.u8(self.dest_addr_ton);
        w.u8(self.dest_addr_npi);
        w.cstr(self.destination_addr);
    }
}

/// replace_sm (§4.10.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ReplaceSm<'a> {
    pub message_id: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub schedule_delivery_time: &'a [u8],
    pub validity_period: &'a [u8],
    pub registered_delivery: u8,
    pub sm_default_msg_id: u8,
    pub short_message: &'a [u8],
}

impl<'a> BodyCodec<'a> for ReplaceSm<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        let message_id = r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?;
        let source_addr_ton = r.u8()?;
        let source_addr_npi = r.u8()?;
        let source_addr = r.cstr(max::ADDR, S::ESME_RINVSRCADR)?;
        let schedule_delivery_time = r.cstr(max::TIME, S::ESME_RINVSCHED)?;
        let validity_period = r.cstr(max::TIME, S::ESME_RINVEXPIRY)?;
        let registered_delivery = r.u8()?;
        let sm_default_msg_id = r.u8()?;
        let sm_length = r.u8()?;
        Ok(ReplaceSm {
            message_id,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            sm_default_msg_id,
            short_message: r.octets(usize::from(sm_length), S::ESME_RINVMSGLEN)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        if self.short_message.len() > max::SHORT_MESSAGE {
            return Err(EncodeError::ShortMessageTooLong {
                len: self.short_message.len(),
            });
        }
        Ok(check_cstr(self.message_id, max::MESSAGE_ID, "message_id")?
            + check_cstr(self.source_addr, max::ADDR, "source_addr")?
            + check_cstr(
                self.schedule_delivery_time,
                max::TIME,
                "schedule_delivery_time",
            )?
            + check_cstr(self.validity_period, max::TIME, "validity_period")?
            + 5
            + self.short_message.len())
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
        w.cstr(self.schedule_delivery_time);
        w.cstr(self.validity_period);
        w.u8(self.registered_delivery);
        w.u8(self.sm_default_msg_id);
        w.u8(u8::try_from(self.short_message.len()).unwrap_or(u8::MAX));
        w.bytes(self.short_message);
    }
}
