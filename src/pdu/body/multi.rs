//! submit_multi and its response, with the allocation-free lists they carry.

use super::{tlvs, BodyCodec};
use crate::pdu::header::CommandStatus as S;
use crate::pdu::tlv::Tlvs;
use crate::pdu::wire::{check_cstr, max, EncodeError, Reader, Writer};

/// One destination of submit_multi (§4.5.1.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DestAddress<'a> {
    /// dest_flag 1.
    Sme {
        dest_addr_ton: u8,
        dest_addr_npi: u8,
        destination_addr: &'a [u8],
    },
    /// dest_flag 2.
    DistributionList { dl_name: &'a [u8] },
}

impl<'a> DestAddress<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        match r.u8()? {
            1 => Ok(DestAddress::Sme {
                dest_addr_ton: r.u8()?,
                dest_addr_npi: r.u8()?,
                destination_addr: r.cstr(max::ADDR, S::ESME_RINVDSTADR)?,
            }),
            2 => Ok(DestAddress::DistributionList {
                dl_name: r.cstr(max::DL_NAME, S::ESME_RINVDLNAME)?,
            }),
            _ => Err(S::ESME_RINVDESTFLAG),
        }
    }
    fn len(&self) -> Result<usize, EncodeError> {
        match self {
            DestAddress::Sme {
                destination_addr, ..
            } => Ok(3 + check_cstr(destination_addr, max::ADDR, "destination_addr")?),
            DestAddress::DistributionList { dl_name } => {
                Ok(1 + check_cstr(dl_name, max::DL_NAME, "dl_name")?)
            }
        }
    }
    fn write(&self, w: &mut Writer<'_>) {
        match self {
            DestAddress::Sme {
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            } => {
                w.u8(1);
                w.u8(*dest_addr_ton);
                w.u8(*dest_addr_npi);
                w.cstr(destination_addr);
            }
            DestAddress::DistributionList { dl_name } => {
                w.u8(2);
                w.cstr(dl_name);
            }
        }
    }
}

/// A list kept as its validated raw bytes plus count, iterated on demand,
/// so that decoding submit_multi does not allocate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RawList<'a, T> {
    count: u8,
    raw: &'a [u8],
    _t: std::marker::PhantomData<T>,
}

impl<T> Default for RawList<'_, T> {
    fn default() -> Self {
        RawList {
            count: 0,
            raw: &[],
            _t: std::marker::PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for RawList<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RawList({} entries, {} octets)",
            self.count,
            self.raw.len()
        )
    }
}

/// An element of a [`RawList`].
pub trait ListItem<'a>: Sized {
    fn read_item(r: &mut Reader<'a>) -> Result<Self, S>;
    fn item_len(&self) -> Result<usize, EncodeError>;
    fn write_item(&self, w: &mut Writer<'_>);
}

impl<'a> ListItem<'a> for DestAddress<'a> {
    fn read_item(r: &mut Reader<'a>) -> Result<Self, S> {
        DestAddress::read(r)
    }
    fn item_len(&self) -> Result<usize, EncodeError> {
        self.len()
    }
    fn write_item(&self, w: &mut Writer<'_>) {
        self.write(w)
    }
}

impl<'a, T: ListItem<'a>> RawList<'a, T> {
    fn read(r: &mut Reader<'a>, count: u8) -> Result<Self, S> {
        let before: &'a [u8] = r.rest();
        let mut sub = Reader::new(before);
        for _ in 0..count {
            T::read_item(&mut sub)?;
        }
        let used = before.len() - sub.remaining();
        let (raw, after) = before.split_at_checked(used).ok_or(S::ESME_RINVCMDLEN)?;
        *r = Reader::new(after);
        Ok(RawList {
            count,
            raw,
            _t: std::marker::PhantomData,
        })
    }

    /// Encodes `items` into `out` (a scratch the caller owns) and returns a
    /// list borrowing it, for building PDUs.
    pub fn build(items: &[T], out: &'a mut Vec<u8>) -> Result<Self, EncodeError> {
        let count = u8::try_from(items.len()).map_err(|_| EncodeError::TooManyEntries)?;
        let mut len = 0;
        for it in items {
            len += it.item_len()?;
        }
        out.clear();
        out.resize(len, 0);
        let mut w = Writer::new(out);
        for it in items {
            it.write_item(&mut w);
        }
        Ok(RawList {
            count,
            raw: out.as_slice(),
            _t: std::marker::PhantomData,
        })
    }

    pub fn count(&self) -> u8 {
        self.count
    }

    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let mut r = Reader::new(self.raw);
        (0..self.count).map_while(move |_| T::read_item(&mut r).ok())
    }
}

/// submit_multi (§4.5.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SubmitMulti<'a> {
    pub service_type: &'a [u8],
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: &'a [u8],
    pub dest_addresses: RawList<'a, DestAddress<'a>>,
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

impl<'a> BodyCodec<'a> for SubmitMulti<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        let service_type = r.cstr(max::SERVICE_TYPE, S::ESME_RINVSERTYP)?;
        let source_addr_ton = r.u8()?;
        let source_addr_npi = r.u8()?;
        let source_addr = r.cstr(max::ADDR, S::ESME_RINVSRCADR)?;
        let number_of_dests = r.u8()?;
        let dest_addresses = RawList::read(r, number_of_dests)?;
        let esm_class = r.u8()?;
        let protocol_id = r.u8()?;
        let priority_flag = r.u8()?;
        let schedule_delivery_time = r.cstr(max::TIME, S::ESME_RINVSCHED)?;
        let validity_period = r.cstr(max::TIME, S::ESME_RINVEXPIRY)?;
        let registered_delivery = r.u8()?;
        let replace_if_present_flag = r.u8()?;
        let data_coding = r.u8()?;
        let sm_default_msg_id = r.u8()?;
        let sm_length = r.u8()?;
        let short_message = r.octets(usize::from(sm_length), S::ESME_RINVMSGLEN)?;
        Ok(SubmitMulti {
            service_type,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            dest_addresses,
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
                + check_cstr(
                    self.schedule_delivery_time,
                    max::TIME,
                    "schedule_delivery_time",
                )?
                + check_cstr(self.validity_period, max::TIME, "validity_period")?
                + 3
                + self.dest_addresses.raw().len()
                + 8
                + self.short_message.len()
                + self.tlvs.raw().len(),
        )
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.service_type);
        w.u8(self.source_addr_ton);
        w.u8(self.source_addr_npi);
        w.cstr(self.source_addr);
        w.u8(self.dest_addresses.count());
        w.bytes(self.dest_addresses.raw());
        w.u8(self.esm_class);
        w.u8(self.protocol_id);
        w.u8(self.priority_flag);
        w.cstr(self.schedule_delivery_time);
        w.cstr(self.validity_period);
        w.u8(self.registered_delivery);
        w.u8(self.replace_if_present_flag);
        w.u8(self.data_coding);
        w.u8(self.sm_default_msg_id);
        w.u8(u8::try_from(self.short_message.len()).unwrap_or(u8::MAX));
        w.bytes(self.short_message);
        w.bytes(self.tlvs.raw());
    }
}

/// One failed destination in submit_multi_resp (§4.5.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UnsuccessSme<'a> {
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: &'a [u8],
    pub error_status_code: S,
}

impl<'a> ListItem<'a> for UnsuccessSme<'a> {
    fn read_item(r: &mut Reader<'a>) -> Result<Self, S> {
        Ok(UnsuccessSme {
            dest_addr_ton: r.u8()?,
            dest_addr_npi: r.u8()?,
            destination_addr: r.cstr(max::ADDR, S::ESME_RINVDSTADR)?,
            error_status_code: S(r.u32()?),
        })
    }
    fn item_len(&self) -> Result<usize, EncodeError> {
        Ok(6 + check_cstr(self.destination_addr, max::ADDR, "destination_addr")?)
    }
    fn write_item(&self, w: &mut Writer<'_>) {
        w.u8(self.dest_addr_ton);
        w.u8(self.dest_addr_npi);
        w.cstr(self.destination_addr);
        w.u32(self.error_status_code.0);
    }
}

/// submit_multi_resp (§4.5.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SubmitMultiResp<'a> {
    pub message_id: &'a [u8],
    pub unsuccess_smes: RawList<'a, UnsuccessSme<'a>>,
}

impl<'a> BodyCodec<'a> for SubmitMultiResp<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, S> {
        if r.remaining() == 0 {
            return Ok(SubmitMultiResp::default());
        }
        let message_id = r.cstr(max::MESSAGE_ID, S::ESME_RINVMSGID)?;
        let no_unsuccess = r.u8()?;
        Ok(SubmitMultiResp {
            message_id,
            unsuccess_smes: RawList::read(r, no_unsuccess)?,
        })
    }
    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(check_cstr(self.message_id, max::MESSAGE_ID, "message_id")?
            + 1
            + self.unsuccess_smes.raw().len())
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.cstr(self.message_id);
        w.u8(self.unsuccess_smes.count());
        w.bytes(self.unsuccess_smes.raw());
    }
}
