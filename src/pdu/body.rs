//! PDU bodies (§4): typed fields borrowed from the frame, with each body's
//! decode, length and encode side by side so the three cannot drift apart.
//!
//! C-Octet Strings are held without their NUL. Each decode error is the
//! command_status the field's owner should be answered with.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::header::CommandStatus as S;
use super::tlv::Tlvs;
use super::wire::{check_cstr, max, EncodeError, Reader, Writer};

/// Decode, size and encode of one body type.
pub trait BodyCodec<'a>: Sized {
    fn read(r: &mut Reader<'a>) -> Result<Self, S>;
    /// Body length in octets; fails if a field cannot be encoded.
    fn body_len(&self) -> Result<usize, EncodeError>;
    fn write(&self, w: &mut Writer<'_>);
}

fn tlvs<'a>(r: &mut Reader<'a>) -> Result<Tlvs<'a>, S> {
    Tlvs::parse(r.rest())
}

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
