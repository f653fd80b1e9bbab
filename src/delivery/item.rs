//! What delivery carries to an account's receiving sessions: a delivery
//! receipt (a fixed-size record) or a mobile-originated message for
//! another ESME (its content in reference-counted buffers, so handing it
//! to another loop copies no text).

use crate::account::AccountId;
use crate::dlr::Stat;
use crate::pdu::{self, CommandId, CommandStatus, EncodeError, Tag, Writer};
use crate::receipt::{self, Addr, Receipt};
use bytes::Bytes;

/// A deliverable.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Receipt(Receipt),
    Mo(Mo),
}

impl From<Receipt> for Item {
    #[inline(always)]
    fn from(r: Receipt) -> Item {
        Item::Receipt(r)
    }
}

/// A message an ESME submitted to a number another account owns, on its
/// way to that account as a deliver_sm.
#[derive(Clone, Debug, PartialEq)]
pub struct Mo {
    /// The receiving account.
    pub account: AccountId,
    /// The message in its submitter's store: (loop, sequence number), told
    /// the outcome (DELIVRD, UNDELIV, EXPIRED) when delivery ends.
    pub origin: (u8, u64),
    /// The node of that store in a cluster; 0: this node.
    pub origin_node: u16,
    pub source: Addr,
    pub dest: Addr,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub data_coding: u8,
    pub short_message: Bytes,
    /// The submit's TLVs that mean something to a receiver (payload, SAR,
    /// ports, user_message_reference, ...), raw.
    pub tlvs: Bytes,
    pub expires_unix: i64,
    pub attempts: u8,
    /// Its name in the journal; 0: MO messages are not journaled yet.
    pub jid: u64,
}

/// The TLVs of a submit carried over to its MO deliver_sm.
const CARRIED: [Tag; 12] = [
    Tag::MESSAGE_PAYLOAD,
    Tag::SAR_MSG_REF_NUM,
    Tag::SAR_TOTAL_SEGMENTS,
    Tag::SAR_SEGMENT_SEQNUM,
    Tag::USER_MESSAGE_REFERENCE,
    Tag::SOURCE_PORT,
    Tag::DESTINATION_PORT,
    Tag::LANGUAGE_INDICATOR,
    Tag::PAYLOAD_TYPE,
    Tag::PRIVACY_INDICATOR,
    Tag::SOURCE_SUBADDRESS,
    Tag::DEST_SUBADDRESS,
];

/// The carried TLVs of `tlvs`, re-encoded. Inline for the common case, a
/// submit without TLVs: a `Bytes` returned through memory from a call is
/// stored as four words and read back as two, which stalls.
#[inline(always)]
pub fn carried_tlvs(tlvs: &pdu::Tlvs<'_>) -> Bytes {
    if tlvs.is_empty() {
        return Bytes::new();
    }
    carried_tlvs_of(tlvs)
}

#[inline(never)]
fn carried_tlvs_of(tlvs: &pdu::Tlvs<'_>) -> Bytes {
    let mut out = Vec::new();
    for t in tlvs.iter() {
        if CARRIED.contains(&t.tag) {
            out.extend_from_slice(&t.tag.0.to_be_bytes());
            out.extend_from_slice(&(t.value.len() as u16).to_be_bytes());
            out.extend_from_slice(t.value);
        }
    }
    Bytes::from(out)
}

impl Mo {
    /// The deliver_sm: esm_class 0 but the UDHI bit, addresses as
    /// submitted, TLVs only to SMPP 3.4 binds. Written field by field like
    /// a receipt (`Receipt::encode_cached`): the carried TLVs are already
    /// encoded (`carried_tlvs`) and are copied, not parsed again.
    pub fn encode(&self, seq: u32, with_tlvs: bool, out: &mut [u8]) -> Result<usize, EncodeError> {
        let sm_length = u8::try_from(self.short_message.len()).map_err(|_| {
            EncodeError::ShortMessageTooLong {
                len: self.short_message.len(),
            }
        })?;
        let (src, dst) = (self.source.as_bytes(), self.dest.as_bytes());
        let tlvs: &[u8] = if with_tlvs { &self.tlvs } else { &[] };
        // header, service_type NUL, ton npi src NUL, ton npi dst NUL,
        // esm_class pid priority, 2 empty times, rd rip dc default id,
        // sm_length, text, TLVs
        let len = pdu::HEADER_LEN
            + 1
            + 2
            + src.len()
            + 1
            + 2
            + dst.len()
            + 1
            + 3
            + 2
            + 4
            + 1
            + self.short_message.len()
            + tlvs.len();
        let buf = out
            .get_mut(..len)
            .ok_or(EncodeError::OutputTooSmall { need: len })?;
        let mut w = Writer::new(buf);
        w.u32(len as u32);
        w.u32(CommandId::DELIVER_SM.0);
        w.u32(CommandStatus::ESME_ROK.0);
        w.u32(seq);
        w.u8(0); // service_type
        w.array([self.source.ton, self.source.npi]);
        w.cstr(src);
        w.array([self.dest.ton, self.dest.npi]);
        w.cstr(dst);
        // esm_class, protocol_id, priority_flag, schedule and validity
        // (empty), registered_delivery, replace_if_present, data_coding,
        // sm_default_msg_id, sm_length
        w.array([
            self.esm_class & 0x40,
            self.protocol_id,
            self.priority_flag,
            0,
            0,
            0,
            0,
            self.data_coding,
            0,
            sm_length,
        ]);
        w.bytes(&self.short_message);
        w.bytes(tlvs);
        if w.overflowed() || w.pos() != len {
            return Err(EncodeError::OutputTooSmall { need: len });
        }
        Ok(len)
    }

    /// Octets its deliver_sm can take.
    pub fn max_len(&self) -> usize {
        pdu::HEADER_LEN + 6 + 2 * 24 + 12 + self.short_message.len() + self.tlvs.len()
    }
}

impl Item {
    #[inline(always)]
    pub fn account(&self) -> AccountId {
        match self {
            Item::Receipt(r) => r.account,
            Item::Mo(m) => m.account,
        }
    }

    #[inline(always)]
    pub fn expires_unix(&self) -> i64 {
        match self {
            Item::Receipt(r) => r.expires_unix,
            Item::Mo(m) => m.expires_unix,
        }
    }

    /// The session tried first (a receipt's submitter on this loop).
    #[inline(always)]
    pub fn prefer(&self) -> Option<(u32, u32)> {
        match self {
            Item::Receipt(r) => r.prefer,
            Item::Mo(_) => None,
        }
    }

    /// Before it moves to another loop: slot numbers mean nothing there.
    pub fn forget_prefer(&mut self) {
        if let Item::Receipt(r) = self {
            r.prefer = None;
        }
    }

    #[inline(always)]
    pub fn jid(&self) -> u64 {
        match self {
            Item::Receipt(r) => r.jid,
            Item::Mo(m) => m.jid,
        }
    }

    pub fn attempts(&self) -> u8 {
        match self {
            Item::Receipt(r) => r.attempts,
            Item::Mo(m) => m.attempts,
        }
    }

    pub fn attempts_mut(&mut self) -> &mut u8 {
        match self {
            Item::Receipt(r) => &mut r.attempts,
            Item::Mo(m) => &mut m.attempts,
        }
    }

    /// Octets its deliver_sm can take.
    #[inline(always)]
    pub fn max_len(&self) -> usize {
        match self {
            Item::Receipt(_) => receipt::MAX_PDU_LEN,
            Item::Mo(m) => m.max_len(),
        }
    }

    /// Its deliver_sm into `out`.
    #[inline(always)]
    pub fn encode(
        &self,
        seq: u32,
        with_tlvs: bool,
        dates: &mut receipt::DateCache,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        match self {
            Item::Receipt(r) => r.encode_cached(seq, with_tlvs, dates, out),
            Item::Mo(m) => m.encode(seq, with_tlvs, out),
        }
    }
}

/// How a delivery of an MO message ended, for its submitter's store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoOutcome {
    pub origin: (u8, u64),
    /// The submitter's node (`Mo::origin_node`); 0: this node.
    pub node: u16,
    pub stat: Stat,
    /// The receiver's status (its deliver_sm_resp), 0 when delivered.
    pub err: u16,
}
