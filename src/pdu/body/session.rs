//! Session bodies: bind_* and bind_*_resp, outbind, alert_notification.

use super::{tlvs, BodyCodec};
use crate::pdu::header::CommandStatus as S;
use crate::pdu::tlv::Tlvs;
use crate::pdu::wire::{check_cstr, max, EncodeError, Reader, Writer};

/// bind_transmitter / bind_receiver / bind_transceiver (§4.1.1, §4.1.3, §4.1.5).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Bind<'a> {
    pub system_id: &'a [u8],
    pub password: &'a [u8],
    pub system_type: &'a [u8],
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: &'a [u8],
}

impl<'a> BodyCodec<'a> for Bind<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(Bind {
            system_id: r.cstr(max::SYSTEM_ID, S::ESME_RINVSYSID)?,
            password: r.cstr(max::PASSWORD, S::ESME_RINVPASWD)?,
            system_type: r.cstr(max::SYSTEM_TYPE, S::ESME_RINVSYSTYP)?,
            interface_version: r.u8()?,
            addr_ton: r.u8()?,
            addr_npi: r.u8()?,
            address_range: r.cstr(max::ADDRESS_RANGE, S::ESME_RBINDFAIL)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.system_id, max::SYSTEM_ID, "system_id")?
            + check_cstr(self.password, max::PASSWORD, "password")?
            + check_cstr(self.system_type, max::SYSTEM_TYPE, "system_type")?
            + 3
            + check_cstr(self.address_range, max::ADDRESS_RANGE, "address_range")?)
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.system_id);
        w.cstr(self.password);
        w.cstr(self.system_type);
        w.u8(self.interface_version);
        w.u8(self.addr_ton);
        w.u8(self.addr_npi);
        w.cstr(self.address_range);
    }
}

/// bind_*_resp (§4.1.2): the SMSC's system_id and optional sc_interface_version.
/// The body is omitted on error responses; an empty body decodes to defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct BindResp<'a> {
    pub system_id: &'a [u8],
    pub tlvs: Tlvs<'a>,
}

impl<'a> BodyCodec<'a> for BindResp<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        if r.remaining() == 0 {
            return Ok(BindResp::default());
        }
        Ok(BindResp {
            system_id: r.cstr(max::SYSTEM_ID, S::ESME_RINVSYSID)?,
            tlvs: tlvs(r)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.system_id, max::SYSTEM_ID, "system_id")? + self.tlvs.raw().len())
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.system_id);
        w.bytes(self.tlvs.raw());
    }
}

/// outbind (§4.1.7).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Outbind<'a> {
    pub system_id: &'a [u8],
    pub password: &'a [u8],
}

impl<'a> BodyCodec<'a> for Outbind<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(Outbind {
            system_id: r.cstr(max::SYSTEM_ID, S::ESME_RINVSYSID)?,
            password: r.cstr(max::PASSWORD, S::ESME_RINVPASWD)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.system_id, max::SYSTEM_ID, "system_id")?
            + check_cstr(self.password, max::PASSWORD, "password")?)
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.system_id);
        w.cstr(self.password);
    }
}

/// alert_notification (§4.12.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AlertNotification<'a> {
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub esme_addr_ton: u8,
    pub esme_addr_npi: u8,
    pub esme_addr: &'a [u8],
    pub tlvs: Tlvs<'a>,
}

impl<'a> BodyCodec<'a> for AlertNotification<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(AlertNotification {
            source_addr_ton: r.u8()?,
            source_addr_npi: r.u8()?,
            source_addr: r.cstr(max::ADDR_LONG, S::ESME_RINVSRCADR)?,
            esme_addr_ton: r.u8()?,
            esme_addr_npi: r.u8()?,
            esme_addr: r.cstr(max::ADDR_LONG, S::ESME_RINVDSTADR)?,
            tlvs: tlvs(r)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.source_addr, max::ADDR_LONG, "source_addr")?
            + check_cstr(self.esme_addr, max::ADDR_LONG, "esme_addr")?
            + 4
            + self.tlvs.raw().len())
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
        w.u8(self.esme_addr_ton);
        w.u8(self.esme_addr_npi);
        w.cstr(self.esme_addr);
        w.bytes(self.tlvs.raw());
    }
}
