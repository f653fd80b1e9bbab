//! SMPP v3.4 codec. No sockets, no clock, no logging, no `unsafe`, no heap.
//!
//! Decoding is two steps, matching what a connection needs:
//! 1. [`check_frame`] looks at the front of a read buffer and says whether a
//!    whole PDU is there ([`Frame::Complete`]), how many bytes are still
//!    missing ([`Frame::NeedMore`]), or that the stream cannot be trusted any
//!    more ([`FrameError`]: answer generic_nack ESME_RINVCMDLEN, then close).
//! 2. [`decode`] turns one complete frame into a [`Pdu`] whose strings and
//!    payloads borrow the frame. A bad body is a [`PduError`] carrying the
//!    status to answer with; the stream goes on.
//!
//! Encoding computes the exact length first, then writes header and body
//! straight into the caller's slice ([`Pdu::encode`], [`encode_into`]).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod body;
pub mod header;
pub mod tlv;
pub mod wire;

pub use body::*;
pub use header::{CommandId, CommandStatus, Header, HEADER_LEN};
pub use tlv::{Sar, Tag, Tlv, TlvBuf, Tlvs};
pub use wire::{EncodeError, Reader, Writer};

use header::be32;

/// Default cap on `command_length` once bound (64 KiB).
pub const DEFAULT_MAX_PDU_BYTES: u32 = 64 * 1024;
/// Cap before bind: a bind PDU is at most ~100 octets, so anything large
/// from an unauthenticated peer is refused before a buffer grows.
pub const MAX_UNBOUND_PDU_BYTES: u32 = 1024;

/// What the front of a read buffer holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Frame {
    /// A whole PDU of this many octets is available.
    Complete(usize),
    /// Incomplete: this many octets in total are needed before it is.
    NeedMore(usize),
}

/// The stream cannot be re-synchronised: answer generic_nack with
/// ESME_RINVCMDLEN (echoing `sequence_number`) and close the connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FrameError {
    pub command_length: u32,
    pub max: u32,
    pub sequence_number: u32,
}

impl FrameError {
    pub fn status(&self) -> CommandStatus {
        CommandStatus::ESME_RINVCMDLEN
    }
}

/// Checks the framing at the front of `buf` against `max_len`.
#[inline]
pub fn check_frame(buf: &[u8], max_len: u32) -> Result<Frame, FrameError> {
    let Some(len) = be32(buf, 0) else {
        return Ok(Frame::NeedMore(HEADER_LEN));
    };
    if len < HEADER_LEN as u32 || len > max_len {
        // The sequence number is only trustworthy when 16 octets are here.
        let sequence_number = be32(buf, 12).unwrap_or(0);
        return Err(FrameError {
            command_length: len,
            max: max_len,
            sequence_number,
        });
    }
    let len = len as usize;
    if buf.len() < len {
        Ok(Frame::NeedMore(len))
    } else {
        Ok(Frame::Complete(len))
    }
}

/// A body that could not be decoded. Answer `command_id.response()` (or
/// generic_nack) with `status` and `sequence_number`, then carry on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PduError {
    pub command_id: CommandId,
    pub sequence_number: u32,
    pub status: CommandStatus,
}

impl PduError {
    /// The response command to answer with: the matching `_resp`, except
    /// for unknown ids, responses and unanswerable requests (generic_nack).
    pub fn response_id(&self) -> CommandId {
        if self.status == CommandStatus::ESME_RINVCMDID {
            CommandId::GENERIC_NACK
        } else {
            self.command_id.response()
        }
    }
}

/// Every PDU of SMPP v3.4, with its body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Body<'a> {
    GenericNack,
    BindReceiver(Bind<'a>),
    BindReceiverResp(BindResp<'a>),
    BindTransmitter(Bind<'a>),
    BindTransmitterResp(BindResp<'a>),
    BindTransceiver(Bind<'a>),
    BindTransceiverResp(BindResp<'a>),
    Outbind(Outbind<'a>),
    Unbind,
    UnbindResp,
    SubmitSm(SubmitSm<'a>),
    SubmitSmResp(MessageIdResp<'a>),
    DeliverSm(DeliverSm<'a>),
    DeliverSmResp(MessageIdResp<'a>),
    SubmitMulti(SubmitMulti<'a>),
    SubmitMultiResp(SubmitMultiResp<'a>),
    DataSm(DataSm<'a>),
    DataSmResp(DataSmResp<'a>),
    QuerySm(QuerySm<'a>),
    QuerySmResp(QuerySmResp<'a>),
    CancelSm(CancelSm<'a>),
    CancelSmResp,
    ReplaceSm(ReplaceSm<'a>),
    ReplaceSmResp,
    EnquireLink,
    EnquireLinkResp,
    AlertNotification(AlertNotification<'a>),
}

/// Dispatches `$m!(body)` over the variants that carry a body codec.
macro_rules! with_body {
    ($self:expr, $b:ident => $e:expr, empty => $empty:expr) => {
        match $self {
            Body::BindReceiver($b) | Body::BindTransmitter($b) | Body::BindTransceiver($b) => $e,
            Body::BindReceiverResp($b)
            | Body::BindTransmitterResp($b)
            | Body::BindTransceiverResp($b) => $e,
            Body::Outbind($b) => $e,
            Body::SubmitSm($b) | Body::DeliverSm($b) => $e,
            Body::SubmitSmResp($b) | Body::DeliverSmResp($b) => $e,
            Body::SubmitMulti($b) => $e,
            Body::SubmitMultiResp($b) => $e,
            Body::DataSm($b) => $e,
            Body::DataSmResp($b) => $e,
            Body::QuerySm($b) => $e,
            Body::QuerySmResp($b) => $e,
            Body::CancelSm($b) => $e,
            Body::ReplaceSm($b) => $e,
            Body::AlertNotification($b) => $e,
            Body::GenericNack
            | Body::Unbind
            | Body::UnbindResp
            | Body::CancelSmResp
            | Body::ReplaceSmResp
            | Body::EnquireLink
            | Body::EnquireLinkResp => $empty,
        }
    };
}

impl<'a> Body<'a> {
    pub fn command_id(&self) -> CommandId {
        match self {
            Body::GenericNack => CommandId::GENERIC_NACK,
            Body::BindReceiver(_) => CommandId::BIND_RECEIVER,
            Body::BindReceiverResp(_) => CommandId::BIND_RECEIVER_RESP,
            Body::BindTransmitter(_) => CommandId::BIND_TRANSMITTER,
            Body::BindTransmitterResp(_) => CommandId::BIND_TRANSMITTER_RESP,
            Body::BindTransceiver(_) => CommandId::BIND_TRANSCEIVER,
            Body::BindTransceiverResp(_) => CommandId::BIND_TRANSCEIVER_RESP,
            Body::Outbind(_) => CommandId::OUTBIND,
            Body::Unbind => CommandId::UNBIND,
            Body::UnbindResp => CommandId::UNBIND_RESP,
            Body::SubmitSm(_) => CommandId::SUBMIT_SM,
            Body::SubmitSmResp(_) => CommandId::SUBMIT_SM_RESP,
            Body::DeliverSm(_) => CommandId::DELIVER_SM,
            Body::DeliverSmResp(_) => CommandId::DELIVER_SM_RESP,
            Body::SubmitMulti(_) => CommandId::SUBMIT_MULTI,
            Body::SubmitMultiResp(_) => CommandId::SUBMIT_MULTI_RESP,
            Body::DataSm(_) => CommandId::DATA_SM,
            Body::DataSmResp(_) => CommandId::DATA_SM_RESP,
            Body::QuerySm(_) => CommandId::QUERY_SM,
            Body::QuerySmResp(_) => CommandId::QUERY_SM_RESP,
            Body::CancelSm(_) => CommandId::CANCEL_SM,
            Body::CancelSmResp => CommandId::CANCEL_SM_RESP,
            Body::ReplaceSm(_) => CommandId::REPLACE_SM,
            Body::ReplaceSmResp => CommandId::REPLACE_SM_RESP,
            Body::EnquireLink => CommandId::ENQUIRE_LINK,
            Body::EnquireLinkResp => CommandId::ENQUIRE_LINK_RESP,
            Body::AlertNotification(_) => CommandId::ALERT_NOTIFICATION,
        }
    }

    /// Body length in octets (header excluded).
    pub fn body_len(&self) -> Result<usize, EncodeError> {
        with_body!(self, b => b.body_len(), empty => Ok(0))
    }

    fn write_body(&self, w: &mut Writer<'_>) {
        with_body!(self, b => b.write(w), empty => ())
    }

    fn read(id: CommandId, r: &mut Reader<'a>) -> Result<Body<'a>, CommandStatus> {
        fn rd<'a, T: BodyCodec<'a>>(r: &mut Reader<'a>) -> Result<T, CommandStatus> {
            T::read(r)
        }
        Ok(match id {
            CommandId::GENERIC_NACK => Body::GenericNack,
            CommandId::BIND_RECEIVER => Body::BindReceiver(rd(r)?),
            CommandId::BIND_RECEIVER_RESP => Body::BindReceiverResp(rd(r)?),
            CommandId::BIND_TRANSMITTER => Body::BindTransmitter(rd(r)?),
            CommandId::BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(rd(r)?),
            CommandId::BIND_TRANSCEIVER => Body::BindTransceiver(rd(r)?),
            CommandId::BIND_TRANSCEIVER_RESP => Body::BindTransceiverResp(rd(r)?),
            CommandId::OUTBIND => Body::Outbind(rd(r)?),
            CommandId::UNBIND => Body::Unbind,
            CommandId::UNBIND_RESP => Body::UnbindResp,
            CommandId::SUBMIT_SM => Body::SubmitSm(rd(r)?),
            CommandId::SUBMIT_SM_RESP => Body::SubmitSmResp(rd(r)?),
            CommandId::DELIVER_SM => Body::DeliverSm(rd(r)?),
            CommandId::DELIVER_SM_RESP => Body::DeliverSmResp(rd(r)?),
            CommandId::SUBMIT_MULTI => Body::SubmitMulti(rd(r)?),
            CommandId::SUBMIT_MULTI_RESP => Body::SubmitMultiResp(rd(r)?),
            CommandId::DATA_SM => Body::DataSm(rd(r)?),
            CommandId::DATA_SM_RESP => Body::DataSmResp(rd(r)?),
            CommandId::QUERY_SM => Body::QuerySm(rd(r)?),
            CommandId::QUERY_SM_RESP => Body::QuerySmResp(rd(r)?),
            CommandId::CANCEL_SM => Body::CancelSm(rd(r)?),
            CommandId::CANCEL_SM_RESP => Body::CancelSmResp,
            CommandId::REPLACE_SM => Body::ReplaceSm(rd(r)?),
            CommandId::REPLACE_SM_RESP => Body::ReplaceSmResp,
            CommandId::ENQUIRE_LINK => Body::EnquireLink,
            CommandId::ENQUIRE_LINK_RESP => Body::EnquireLinkResp,
            CommandId::ALERT_NOTIFICATION => Body::AlertNotification(rd(r)?),
            _ => return Err(CommandStatus::ESME_RINVCMDID),
        })
    }

    /// Whether octets left after the mandatory fields are an error. Bodies
    /// with TLVs consume the rest themselves; responses are read leniently
    /// (peers append odd things to them and we never answer a response).
    fn rejects_trailing(id: CommandId) -> bool {
        !id.is_response()
    }
}

/// A decoded (or to-be-encoded) PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pdu<'a> {
    pub header: Header,
    pub body: Body<'a>,
}

/// Decodes one complete frame (as delimited by [`check_frame`]).
pub fn decode(frame: &[u8]) -> Result<Pdu<'_>, PduError> {
    let header = Header::peek(frame).ok_or(PduError {
        command_id: CommandId::GENERIC_NACK,
        sequence_number: 0,
        status: CommandStatus::ESME_RINVCMDLEN,
    })?;
    let err = |status| PduError {
        command_id: header.command_id,
        sequence_number: header.sequence_number,
        status,
    };
    let len = header.command_length as usize;
    let body = frame
        .get(HEADER_LEN..len)
        .ok_or(err(CommandStatus::ESME_RINVCMDLEN))?;
    let mut r = Reader::new(body);
    let body = Body::read(header.command_id, &mut r).map_err(err)?;
    if r.remaining() != 0 && Body::rejects_trailing(header.command_id) {
        return Err(err(CommandStatus::ESME_RINVCMDLEN));
    }
    Ok(Pdu { header, body })
}

impl<'a> Pdu<'a> {
    /// A request or response with status 0.
    pub fn new(sequence_number: u32, body: Body<'a>) -> Pdu<'a> {
        Pdu::with_status(sequence_number, CommandStatus::ESME_ROK, body)
    }

    pub fn with_status(sequence_number: u32, status: CommandStatus, body: Body<'a>) -> Pdu<'a> {
        Pdu {
            header: Header {
                command_length: 0,
                command_id: body.command_id(),
                command_status: status,
                sequence_number,
            },
            body,
        }
    }

    /// Total encoded length in octets (header included).
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        Ok(HEADER_LEN + self.body.body_len()?)
    }

    /// Encodes into the front of `out`; returns the octets written.
    /// `command_length` and `command_id` come from the body, the status and
    /// sequence number from the header.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let (id, status, seq) = (
            self.body.command_id(),
            self.header.command_status,
            self.header.sequence_number,
        );
        // One dispatch on the body type; length and fields are then computed
        // and written by the same monomorphic code.
        with_body!(&self.body, b => encode_body(b, id, status, seq, out), empty => {
            encode_header_only(id, status, seq, out)
                .ok_or(EncodeError::OutputTooSmall { need: HEADER_LEN })
        })
    }

    /// Encodes into a new Vec (for tests and clients; not the server's path).
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut v = vec![0; self.encoded_len()?];
        self.encode(&mut v)?;
        Ok(v)
    }
}

/// Writes a PDU whose total length `len` the caller computed with
/// [`Body::body_len`] + 16 (useful to reserve exactly `len` in a buffer).
pub fn encode_into(
    body: &Body<'_>,
    status: CommandStatus,
    sequence_number: u32,
    len: usize,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let id = body.command_id();
    write_frame(len, id, status, sequence_number, out, |w| {
        body.write_body(w)
    })
}

/// Encodes a PDU from a typed body (no dispatch on [`Body`]): length and
/// fields are computed and written by code specialised for `B` (the server
/// answers every submit_sm with [`encode_body_into`]).
#[inline(always)]
pub fn encode_body<'a, B: BodyCodec<'a>>(
    body: &B,
    command_id: CommandId,
    command_status: CommandStatus,
    sequence_number: u32,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let len = HEADER_LEN + body.body_len()?;
    encode_body_into(body, command_id, command_status, sequence_number, len, out)
}

/// [`encode_body`] when the caller already computed `len` (16 +
/// `body_len()`), e.g. to reserve it in a buffer: not computed twice.
#[inline(always)]
pub fn encode_body_into<'a, B: BodyCodec<'a>>(
    body: &B,
    command_id: CommandId,
    command_status: CommandStatus,
    sequence_number: u32,
    len: usize,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    write_frame(len, command_id, command_status, sequence_number, out, |w| {
        body.write(w)
    })
}

/// The header, then `write_body`, into the first `len` octets of `out`;
/// an error if the body did not fill exactly `len - 16` octets.
#[inline(always)]
fn write_frame(
    len: usize,
    command_id: CommandId,
    command_status: CommandStatus,
    sequence_number: u32,
    out: &mut [u8],
    write_body: impl FnOnce(&mut Writer<'_>),
) -> Result<usize, EncodeError> {
    let dst = out
        .get_mut(..len)
        .ok_or(EncodeError::OutputTooSmall { need: len })?;
    let command_length =
        u32::try_from(len).map_err(|_| EncodeError::OutputTooSmall { need: len })?;
    let mut header = [0u8; HEADER_LEN];
    Header {
        command_length,
        command_id,
        command_status,
        sequence_number,
    }
    .write(&mut header);
    let mut w = Writer::new(dst);
    w.array(header);
    write_body(&mut w);
    if w.overflowed() || w.pos() != len {
        debug_assert!(false, "encoded length disagrees with body_len");
        return Err(EncodeError::OutputTooSmall { need: w.pos() });
    }
    Ok(len)
}

/// Writes a header-only PDU (generic_nack, enquire_link(_resp), unbind(_resp),
/// cancel_sm_resp, replace_sm_resp, or an error response with no body).
#[inline]
pub fn encode_header_only(
    command_id: CommandId,
    status: CommandStatus,
    sequence_number: u32,
    out: &mut [u8],
) -> Option<usize> {
    let dst: &mut [u8; HEADER_LEN] = out.get_mut(..HEADER_LEN)?.try_into().ok()?;
    Header {
        command_length: HEADER_LEN as u32,
        command_id,
        command_status: status,
        sequence_number,
    }
    .write(dst);
    Some(HEADER_LEN)
}

#[cfg(test)]
mod tests;
