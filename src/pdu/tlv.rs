//! Optional parameters (TLVs, §3.2.4, §5.3).
//!
//! A PDU's TLV area is kept as the borrowed raw bytes it arrived in, walked
//! once at decode time to check its structure and the lengths of the tags we
//! know. Unknown and vendor tags are therefore kept and re-encoded unchanged
//! at zero cost, and nothing is allocated.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::header::CommandStatus;
use smallvec::SmallVec;

/// A TLV tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u16);

macro_rules! tags {
    ($($name:ident = $val:expr, $min:expr, $max:expr;)*) => {
        impl Tag {
            $(pub const $name: Tag = Tag($val);)*

            /// Every tag defined by SMPP v3.4.
            pub const ALL: &'static [Tag] = &[$(Tag::$name),*];

            /// The spec's name, or `None` for an unknown/vendor tag.
            pub fn name(self) -> Option<&'static str> {
                #[allow(non_snake_case)]
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Allowed value length (min, max) for known tags.
            pub fn value_len(self) -> Option<(u16, u16)> {
                match self.0 {
                    $($val => Some(($min, $max)),)*
                    _ => None,
                }
            }
        }
    };
}

// (name, tag, min len, max len) from §5.3.2 Table 5-7. source_telematics_id
// accepts 1 or 2 octets (the spec's tables disagree, see the fact sheet).
tags! {
    DEST_ADDR_SUBUNIT = 0x0005, 1, 1;
    DEST_NETWORK_TYPE = 0x0006, 1, 1;
    DEST_BEARER_TYPE = 0x0007, 1, 1;
    DEST_TELEMATICS_ID = 0x0008, 2, 2;
    SOURCE_ADDR_SUBUNIT = 0x000D, 1, 1;
    SOURCE_NETWORK_TYPE = 0x000E, 1, 1;
    SOURCE_BEARER_TYPE = 0x000F, 1, 1;
    SOURCE_TELEMATICS_ID = 0x0010, 1, 2;
    QOS_TIME_TO_LIVE = 0x0017, 4, 4;
    PAYLOAD_TYPE = 0x0019, 1, 1;
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D, 1, 256;
    RECEIPTED_MESSAGE_ID = 0x001E, 1, 65;
    MS_MSG_WAIT_FACILITIES = 0x0030, 1, 1;
    PRIVACY_INDICATOR = 0x0201, 1, 1;
    SOURCE_SUBADDRESS = 0x0202, 2, 23;
    DEST_SUBADDRESS = 0x0203, 2, 23;
    USER_MESSAGE_REFERENCE = 0x0204, 2, 2;
    USER_RESPONSE_CODE = 0x0205, 1, 1;
    SOURCE_PORT = 0x020A, 2, 2;
    DESTINATION_PORT = 0x020B, 2, 2;
    SAR_MSG_REF_NUM = 0x020C, 2, 2;
    LANGUAGE_INDICATOR = 0x020D, 1, 1;
    SAR_TOTAL_SEGMENTS = 0x020E, 1, 1;
    SAR_SEGMENT_SEQNUM = 0x020F, 1, 1;
    SC_INTERFACE_VERSION = 0x0210, 1, 1;
    CALLBACK_NUM_PRES_IND = 0x0302, 1, 1;
    CALLBACK_NUM_ATAG = 0x0303, 1, 65;
    NUMBER_OF_MESSAGES = 0x0304, 1, 1;
    CALLBACK_NUM = 0x0381, 4, 19;
    DPF_RESULT = 0x0420, 1, 1;
    SET_DPF = 0x0421, 1, 1;
    MS_AVAILABILITY_STATUS = 0x0422, 1, 1;
    NETWORK_ERROR_CODE = 0x0423, 3, 3;
    MESSAGE_PAYLOAD = 0x0424, 0, 65535;
    DELIVERY_FAILURE_REASON = 0x0425, 1, 1;
    MORE_MESSAGES_TO_SEND = 0x0426, 1, 1;
    MESSAGE_STATE = 0x0427, 1, 1;
    USSD_SERVICE_OP = 0x0501, 1, 1;
    DISPLAY_TIME = 0x1201, 1, 1;
    SMS_SIGNAL = 0x1203, 2, 2;
    MS_VALIDITY = 0x1204, 1, 1;
    ALERT_ON_MESSAGE_DELIVERY = 0x130C, 0, 0;
    ITS_REPLY_TYPE = 0x1380, 1, 1;
    ITS_SESSION_INFO = 0x1383, 2, 2;
}

impl Tag {
    /// Vendor-specific range (§5.3.2): passed through, never rejected.
    pub fn is_vendor(self) -> bool {
        (0x1400..=0x3FFF).contains(&self.0)
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{}", n.to_ascii_lowercase()),
            None => write!(f, "Tag({:#06x})", self.0),
        }
    }
}

/// One TLV, borrowed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
}

/// The TLV area of a PDU: raw bytes that passed [`Tlvs::parse`].
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tlvs<'a> {
    raw: &'a [u8],
}

impl<'a> Tlvs<'a> {
    pub const EMPTY: Tlvs<'static> = Tlvs { raw: &[] };

    /// Checks the structure of a TLV area: every TLV header complete, every
    /// value inside the area, and known tags with a legal value length.
    /// Errors: `ESME_RINVOPTPARSTREAM` (malformed area), `ESME_RINVPARLEN`.
    #[inline]
    pub fn parse(raw: &'a [u8]) -> Result<Tlvs<'a>, CommandStatus> {
        // Most PDUs carry no TLVs: that case costs one comparison, inline.
        if raw.is_empty() {
            return Ok(Tlvs { raw });
        }
        Self::parse_area(raw)
    }

    fn parse_area(raw: &'a [u8]) -> Result<Tlvs<'a>, CommandStatus> {
        let mut rest = raw;
        while !rest.is_empty() {
            let (tag, value, next) = split_one(rest).ok_or(CommandStatus::ESME_RINVOPTPARSTREAM)?;
            if let Some((min, max)) = tag.value_len() {
                let n = value.len();
                if n < usize::from(min) || n > usize::from(max) {
                    return Err(CommandStatus::ESME_RINVPARLEN);
                }
            }
            rest = next;
        }
        Ok(Tlvs { raw })
    }

    /// The raw bytes, exactly as received (or built).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn iter(&self) -> TlvIter<'a> {
        TlvIter { rest: self.raw }
    }

    /// The value of the first TLV with this tag.
    pub fn get(&self, tag: Tag) -> Option<&'a [u8]> {
        self.iter().find(|t| t.tag == tag).map(|t| t.value)
    }

    pub fn get_u8(&self, tag: Tag) -> Option<u8> {
        match self.get(tag)? {
            [b] => Some(*b),
            _ => None,
        }
    }

    pub fn get_u16(&self, tag: Tag) -> Option<u16> {
        match self.get(tag)? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// A C-string TLV value without its NUL (tolerates a missing NUL).
    pub fn get_cstr(&self, tag: Tag) -> Option<&'a [u8]> {
        let v = self.get(tag)?;
        Some(match v.split_last() {
            Some((0, head)) => head,
            _ => v,
        })
    }

    #[inline]
    pub fn message_payload(&self) -> Option<&'a [u8]> {
        if self.raw.is_empty() {
            return None;
        }
        self.get(Tag::MESSAGE_PAYLOAD)
    }

    /// The three SAR TLVs, only when all three are present (§5.3.2.22-24).
    #[inline]
    pub fn sar(&self) -> Option<Sar> {
        if self.raw.is_empty() {
            return None;
        }
        self.sar_in_area()
    }

    fn sar_in_area(&self) -> Option<Sar> {
        Some(Sar {
            msg_ref_num: self.get_u16(Tag::SAR_MSG_REF_NUM)?,
            total_segments: self.get_u8(Tag::SAR_TOTAL_SEGMENTS)?,
            segment_seqnum: self.get_u8(Tag::SAR_SEGMENT_SEQNUM)?,
        })
    }

    pub fn receipted_message_id(&self) -> Option<&'a [u8]> {
        self.get_cstr(Tag::RECEIPTED_MESSAGE_ID)
    }

    pub fn message_state(&self) -> Option<u8> {
        self.get_u8(Tag::MESSAGE_STATE)
    }

    pub fn sc_interface_version(&self) -> Option<u8> {
        self.get_u8(Tag::SC_INTERFACE_VERSION)
    }

    pub(crate) fn from_checked(raw: &'a [u8]) -> Tlvs<'a> {
        Tlvs { raw }
    }
}

impl std::fmt::Debug for Tlvs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Tlvs<'a> {
    type Item = Tlv<'a>;
    type IntoIter = TlvIter<'a>;
    fn into_iter(self) -> TlvIter<'a> {
        self.iter()
    }
}

/// The SAR concatenation TLVs taken together.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sar {
    pub msg_ref_num: u16,
    pub total_segments: u8,
    pub segment_seqnum: u8,
}

pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        let (tag, value, next) = split_one(self.rest)?;
        self.rest = next;
        Some(Tlv { tag, value })
    }
}

fn split_one(buf: &[u8]) -> Option<(Tag, &[u8], &[u8])> {
    let (head, rest) = buf.split_at_checked(4)?;
    let [t0, t1, l0, l1]: [u8; 4] = head.try_into().ok()?;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let (value, next) = rest.split_at_checked(len)?;
    Some((Tag(u16::from_be_bytes([t0, t1])), value, next))
}

/// Builds a TLV area without touching the heap for the usual few TLVs
/// (receipts carry three: 64 inline octets hold them).
#[derive(Clone, Default, Debug)]
pub struct TlvBuf {
    bytes: SmallVec<[u8; 96]>,
}

impl TlvBuf {
    pub fn new() -> TlvBuf {
        TlvBuf::default()
    }

    /// Appends one TLV. Values over 65535 octets cannot be represented and
    /// are refused (returns false).
    pub fn push(&mut self, tag: Tag, value: &[u8]) -> bool {
        let Ok(len) = u16::try_from(value.len()) else {
            return false;
        };
        self.bytes.extend_from_slice(&tag.0.to_be_bytes());
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(value);
        true
    }

    pub fn push_u8(&mut self, tag: Tag, v: u8) -> bool {
        self.push(tag, &[v])
    }

    pub fn push_u16(&mut self, tag: Tag, v: u16) -> bool {
        self.push(tag, &v.to_be_bytes())
    }

    /// A C-string value: the bytes plus a terminating NUL.
    pub fn push_cstr(&mut self, tag: Tag, s: &[u8]) -> bool {
        let Ok(len) = u16::try_from(s.len() + 1) else {
            return false;
        };
        self.bytes.extend_from_slice(&tag.0.to_be_bytes());
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        true
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// The TLVs as a PDU field. Built by `push`, so always well-formed.
    pub fn as_tlvs(&self) -> Tlvs<'_> {
        Tlvs::from_checked(&self.bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn walk_and_get() {
        // sar_msg_ref_num=0x1234, sar_total_segments=3, sar_segment_seqnum=2, vendor 0x1403 "ab"
        let raw = [
            0x02, 0x0C, 0x00, 0x02, 0x12, 0x34, 0x02, 0x0E, 0x00, 0x01, 0x03, 0x02, 0x0F, 0x00,
            0x01, 0x02, 0x14, 0x03, 0x00, 0x02, b'a', b'b',
        ];
        let t = Tlvs::parse(&raw).unwrap();
        assert_eq!(
            t.sar(),
            Some(Sar {
                msg_ref_num: 0x1234,
                total_segments: 3,
                segment_seqnum: 2
            })
        );
        assert_eq!(t.get(Tag(0x1403)), Some(&b"ab"[..]));
        assert_eq!(t.iter().count(), 4);
        assert!(Tag(0x1403).is_vendor());
        assert_eq!(t.raw(), &raw[..]);
    }

    #[test]
    fn malformed_areas() {
        // Truncated TLV header.
        assert_eq!(
            Tlvs::parse(&[0x02, 0x0C, 0x00]),
            Err(CommandStatus::ESME_RINVOPTPARSTREAM)
        );
        // Value overruns the area.
        assert_eq!(
            Tlvs::parse(&[0x04, 0x24, 0x00, 0x05, 1, 2]),
            Err(CommandStatus::ESME_RINVOPTPARSTREAM)
        );
        // Known tag with wrong length.
        assert_eq!(
            Tlvs::parse(&[0x02, 0x0C, 0x00, 0x01, 1]),
            Err(CommandStatus::ESME_RINVPARLEN)
        );
        // Unknown tag of any length is fine.
        assert!(Tlvs::parse(&[0x7F, 0x00, 0x00, 0x00]).is_ok());
        assert!(Tlvs::parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn builder_writes_spec_bytes() {
        let mut b = TlvBuf::new();
        b.push_cstr(Tag::RECEIPTED_MESSAGE_ID, b"ab12");
        b.push_u8(Tag::MESSAGE_STATE, 2);
        let raw = b.as_tlvs().raw();
        assert_eq!(
            raw,
            &[0x00, 0x1E, 0x00, 0x05, b'a', b'b', b'1', b'2', 0, 0x04, 0x27, 0, 1, 2]
        );
        let t = Tlvs::parse(raw).unwrap();
        assert_eq!(t.receipted_message_id(), Some(&b"ab12"[..]));
        assert_eq!(t.message_state(), Some(2));
    }

    #[test]
    fn tags_unique() {
        let mut v: Vec<u16> = Tag::ALL.iter().map(|t| t.0).collect();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), Tag::ALL.len());
        assert_eq!(Tag(0x0424).name(), Some("MESSAGE_PAYLOAD"));
    }
}
