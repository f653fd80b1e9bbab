//! PDU bodies (§4): typed fields borrowed from the frame, with each body's
//! decode, length and encode side by side so the three cannot drift apart.
//!
//! C-Octet Strings are held without their NUL. Each decode error is the
//! command_status the field's owner should be answered with.
//!
//! - `mod.rs`: the [`BodyCodec`] trait every body implements.
//! - `session.rs`: bind_*, outbind, alert_notification.
//! - `message.rs`: submit_sm, deliver_sm, data_sm and their responses.
//! - `multi.rs`: submit_multi, its response, and [`RawList`].
//! - `query.rs`: query_sm, cancel_sm, replace_sm.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod message;
mod multi;
mod query;
mod session;

pub use message::{DataSm, DataSmResp, DeliverSm, MessageIdResp, Sm, SubmitSm};
pub use multi::{DestAddress, ListItem, RawList, SubmitMulti, SubmitMultiResp, UnsuccessSme};
pub use query::{CancelSm, QuerySm, QuerySmResp, ReplaceSm};
pub use session::{AlertNotification, Bind, BindResp, Outbind};

use super::header::CommandStatus as S;
use super::tlv::Tlvs;
use super::wire::{EncodeError, Reader, Writer};

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
