//! Pre-encoded submit_sm PDUs. Each kind of message is encoded once with the
//! project's codec at start-up; sending one is then a copy into the write
//! buffer plus patching the sequence number (and the concatenation reference
//! for long messages), with no allocation and no re-encoding.

use crate::mo::{write_tag, Tag as MoTag, TAG_LEN, TAG_PLACEHOLDER};
use smsc::pdu::{Body, CommandId, Pdu, Sm, Tag, TlvBuf, HEADER_LEN};

/// The message kinds of `--mix`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// 20 characters of GSM 7-bit text (unpacked, data_coding 0).
    Gsm7,
    /// 20 characters of UCS2 (data_coding 8).
    Ucs2,
    /// Three 153-septet parts with an 8-bit concatenation UDH, each its own submit_sm.
    Long,
    /// 300 GSM characters in a message_payload TLV, sm_length 0.
    Payload,
    /// Not a message: an enquire_link, for link round-trip benchmarks
    /// (counted like a submit, answered by enquire_link_resp, no receipt).
    Enquire,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Gsm7,
        Kind::Ucs2,
        Kind::Long,
        Kind::Payload,
        Kind::Enquire,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Gsm7 => "gsm7",
            Kind::Ucs2 => "ucs2",
            Kind::Long => "long",
            Kind::Payload => "payload",
            Kind::Enquire => "enquire",
        }
    }

    /// submit_sm PDUs per message.
    pub fn parts(self) -> u8 {
        if self == Kind::Long {
            LONG_PARTS
        } else {
            1
        }
    }
}

pub const LONG_PARTS: u8 = 3;
pub const GSM7_TEXT: &str = "Hello from loadtest!";
pub const UCS2_TEXT: &str = "Привет, loadtest! ☺✓";
pub const SOURCE_ADDR: &[u8] = b"12345";
pub const DEST_ADDR: &[u8] = b"447700900001";
/// ESME-to-ESME mode: the destination is `--mo-prefix` followed by this.
pub const MO_DEST_TAIL: &str = "00900001";

/// One encoded submit_sm.
#[derive(Clone, Debug)]
pub struct Template {
    pub bytes: Vec<u8>,
    /// Offset of the concatenation reference octet (long messages).
    pub ref_off: Option<usize>,
    /// ESME-to-ESME mode: offset of the tag placeholder in the text, and
    /// whether the text is UCS2 (see [`crate::mo`]).
    pub tag_off: Option<(usize, bool)>,
}

impl Template {
    fn new(bytes: Vec<u8>, ref_off: Option<usize>) -> Template {
        let find = |pat: &[u8]| bytes.windows(pat.len()).position(|w| w == pat);
        let ucs2: Vec<u8> = TAG_PLACEHOLDER.iter().flat_map(|c| [0, *c]).collect();
        let tag_off = match find(TAG_PLACEHOLDER) {
            Some(at) => Some((at, false)),
            None => find(&ucs2).map(|at| (at, true)),
        };
        Template {
            bytes,
            ref_off,
            tag_off,
        }
    }

    /// Appends this PDU to `out` with the given sequence number and
    /// concatenation reference.
    #[inline]
    pub fn write(&self, out: &mut Vec<u8>, seq: u32, concat_ref: u8) {
        let at = out.len();
        out.extend_from_slice(&self.bytes);
        if let Some(h) = out.get_mut(at + 12..at + 16) {
            h.copy_from_slice(&seq.to_be_bytes());
        }
        if let Some(off) = self.ref_off {
            if let Some(b) = out.get_mut(at + off) {
                *b = concat_ref;
            }
        }
    }

    /// [`Template::write`], and the message's tag over the placeholder.
    #[inline]
    pub fn write_tagged(&self, out: &mut Vec<u8>, seq: u32, concat_ref: u8, tag: MoTag) {
        let at = out.len();
        self.write(out, seq, concat_ref);
        if let Some((off, ucs2)) = self.tag_off {
            if let Some(b) = out.get_mut(at + off..) {
                write_tag(b, tag, ucs2);
            }
        }
    }
}

/// All templates: [gsm7, ucs2, long part 1..3, payload] x [no receipt, receipt].
#[derive(Clone, Debug)]
pub struct Templates {
    t: Vec<[Template; 2]>,
}

fn encode(sm: Sm<'_>) -> Vec<u8> {
    // The inputs are fixed and valid: encoding cannot fail.
    Pdu::new(0, Body::SubmitSm(sm)).to_vec().unwrap_or_default()
}

fn base<'a>(registered_delivery: u8, dest: &'a [u8]) -> Sm<'a> {
    Sm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: SOURCE_ADDR,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: dest,
        registered_delivery,
        ..Sm::default()
    }
}

/// `text` with its first [`TAG_LEN`] characters replaced by the tag
/// placeholder (ESME-to-ESME mode), or as it is.
fn tagged(text: &[char], tag: bool) -> String {
    if !tag {
        return text.iter().collect();
    }
    let rest = text.get(TAG_LEN..).unwrap_or(&[]);
    TAG_PLACEHOLDER
        .iter()
        .map(|b| char::from(*b))
        .chain(rest.iter().copied())
        .collect()
}

impl Templates {
    /// The messages to [`DEST_ADDR`], as the receipt scenarios send them.
    pub fn new() -> Templates {
        Templates::build(DEST_ADDR, false)
    }

    /// ESME-to-ESME mode: the same kinds and sizes to `prefix` followed by
    /// [`MO_DEST_TAIL`], each text starting with a tag placeholder.
    pub fn mo(prefix: &str) -> Result<Templates, String> {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("--mo-prefix {prefix:?}: digits expected"));
        }
        let dest = format!("{prefix}{MO_DEST_TAIL}");
        if dest.len() > 20 {
            return Err(format!("--mo-prefix {prefix:?}: at most 12 digits"));
        }
        Ok(Templates::build(dest.as_bytes(), true))
    }

    fn build(dest: &[u8], tag: bool) -> Templates {
        let gsm7: Vec<char> = GSM7_TEXT.chars().collect();
        let ucs2_text: Vec<char> = UCS2_TEXT.chars().collect();
        let ucs2: Vec<u8> = tagged(&ucs2_text, tag)
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let payload: Vec<char> = (0..300)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let payload_text = tagged(&payload, tag);
        let mut payload_tlv = TlvBuf::new();
        payload_tlv.push(Tag::MESSAGE_PAYLOAD, payload_text.as_bytes());
        let gsm7_text = tagged(&gsm7, tag);
        let mut t = Vec::new();
        let mk = |f: &dyn Fn(u8) -> Template| [f(0), f(1)];
        t.push(mk(&|rd| {
            let sm = Sm {
                short_message: gsm7_text.as_bytes(),
                ..base(rd, dest)
            };
            Template::new(encode(sm), None)
        }));
        t.push(mk(&|rd| {
            let sm = Sm {
                data_coding: 8,
                short_message: &ucs2,
                ..base(rd, dest)
            };
            Template::new(encode(sm), None)
        }));
        for part in 1..=LONG_PARTS {
            t.push(mk(&|rd| {
                // UDH: IEI 0x00 (concat, 8-bit ref), len 3, ref, total, seq.
                let mut ud = vec![0x05, 0x00, 0x03, 0x00, LONG_PARTS, part];
                let text: Vec<char> = (0..153)
                    .map(|i| char::from(b'A' + ((i + usize::from(part)) % 26) as u8))
                    .collect();
                ud.extend_from_slice(tagged(&text, tag).as_bytes());
                let bytes = encode(Sm {
                    esm_class: 0x40,
                    short_message: &ud,
                    ..base(rd, dest)
                });
                // The short message ends the PDU (no TLVs): the UDH starts ud.len() from the end.
                let ref_off = bytes.len() - ud.len() + 3;
                Template::new(bytes, Some(ref_off))
            }));
        }
        t.push(mk(&|rd| {
            let sm = Sm {
                short_message: b"",
                tlvs: payload_tlv.as_tlvs(),
                ..base(rd, dest)
            };
            Template::new(encode(sm), None)
        }));
        let enquire = Pdu::new(0, Body::EnquireLink).to_vec().unwrap_or_default();
        t.push(mk(&|_| Template::new(enquire.clone(), None)));
        Templates { t }
    }

    /// The template for part `part` (0-based) of a message of `kind`.
    #[inline]
    pub fn get(&self, kind: Kind, part: u8, receipt: bool) -> &Template {
        let i = match kind {
            Kind::Gsm7 => 0,
            Kind::Ucs2 => 1,
            Kind::Long => 2 + usize::from(part.min(LONG_PARTS - 1)),
            Kind::Payload => 5,
            Kind::Enquire => 6,
        };
        &self.t[i][usize::from(receipt)]
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

/// A deliver_sm_resp (status 0, empty message_id) for `seq`.
#[inline]
pub fn write_deliver_sm_resp(out: &mut Vec<u8>, seq: u32) {
    write_empty_resp(out, CommandId::DELIVER_SM_RESP, seq);
}

/// A response whose body is one empty C-string (deliver_sm_resp) or nothing.
#[inline]
pub fn write_empty_resp(out: &mut Vec<u8>, id: CommandId, seq: u32) {
    let with_body = id == CommandId::DELIVER_SM_RESP;
    let len = HEADER_LEN + usize::from(with_body);
    let mut b = [0u8; HEADER_LEN + 1];
    b[..4].copy_from_slice(&(len as u32).to_be_bytes());
    b[4..8].copy_from_slice(&id.0.to_be_bytes());
    b[12..16].copy_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&b[..len]);
}

/// A header-only PDU with a status.
#[inline]
pub fn write_header(out: &mut Vec<u8>, id: CommandId, status: u32, seq: u32) {
    let mut b = [0u8; HEADER_LEN];
    b[..4].copy_from_slice(&(HEADER_LEN as u32).to_be_bytes());
    b[4..8].copy_from_slice(&id.0.to_be_bytes());
    b[8..12].copy_from_slice(&status.to_be_bytes());
    b[12..].copy_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use smsc::pdu::{check_frame, decode, Frame};

    fn dec(bytes: &[u8]) -> Sm<'_> {
        assert_eq!(check_frame(bytes, 65536), Ok(Frame::Complete(bytes.len())));
        match decode(bytes).unwrap().body {
            Body::SubmitSm(sm) => sm,
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn templates_decode_and_patch() {
        let t = Templates::new();
        let mut out = Vec::new();
        t.get(Kind::Enquire, 0, false).write(&mut out, 5, 0);
        assert_eq!(decode(&out).unwrap().body, Body::EnquireLink);
        assert_eq!(decode(&out).unwrap().header.sequence_number, 5);
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Enquire) {
            for part in 0..kind.parts() {
                for rd in [false, true] {
                    let mut out = vec![9u8; 3];
                    t.get(kind, part, rd).write(&mut out, 0x0102_0304, 77);
                    let pdu = &out[3..];
                    assert_eq!(decode(pdu).unwrap().header.sequence_number, 0x0102_0304);
                    let sm = dec(pdu);
                    assert_eq!(sm.registered_delivery, u8::from(rd));
                    match kind {
                        Kind::Gsm7 => assert_eq!(sm.short_message, GSM7_TEXT.as_bytes()),
                        Kind::Ucs2 => {
                            assert_eq!(sm.data_coding, 8);
                            assert_eq!(sm.short_message.len(), 40);
                        }
                        Kind::Long => {
                            assert_eq!(sm.esm_class, 0x40);
                            assert_eq!(&sm.short_message[..6], &[5, 0, 3, 77, 3, part + 1]);
                            assert_eq!(sm.short_message.len(), 159);
                        }
                        Kind::Payload => {
                            assert!(sm.short_message.is_empty());
                            assert_eq!(sm.tlvs.message_payload().map(|p| p.len()), Some(300));
                        }
                        Kind::Enquire => unreachable!(),
                    }
                }
            }
        }
        assert_eq!(GSM7_TEXT.chars().count(), 20);
        assert_eq!(UCS2_TEXT.chars().count(), 20);
    }

    #[test]
    fn mo_templates_carry_a_tag_and_keep_sizes() {
        let plain = Templates::new();
        let mo = Templates::mo("4479").unwrap();
        let tag = crate::mo::make_tag(0xABCD, 1, 77);
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::Enquire) {
            for part in 0..kind.parts() {
                let t = mo.get(kind, part, true);
                assert!(t.tag_off.is_some(), "{kind:?}");
                assert_eq!(t.bytes.len(), plain.get(kind, part, true).bytes.len());
                let mut out = Vec::new();
                t.write_tagged(&mut out, 5, 9, tag);
                let sm = dec(&out);
                assert_eq!(sm.destination_addr, b"447900900001");
                let text = if sm.short_message.is_empty() {
                    sm.tlvs.message_payload().unwrap()
                } else {
                    sm.short_message
                };
                let got = crate::mo::read_tag(text, sm.esm_class & 0x40 != 0, sm.data_coding == 8);
                assert_eq!(got, Some(tag), "{kind:?} part {part}");
                if kind == Kind::Long {
                    assert_eq!(&sm.short_message[..6], &[5, 0, 3, 9, 3, part + 1]);
                }
            }
        }
        assert!(plain.get(Kind::Gsm7, 0, false).tag_off.is_none());
        assert!(Templates::mo("44a").is_err());
        assert!(Templates::mo("").is_err());
        assert!(Templates::mo("1234567890123").is_err());
    }

    #[test]
    fn small_responses_decode() {
        let mut out = Vec::new();
        write_deliver_sm_resp(&mut out, 42);
        write_empty_resp(&mut out, CommandId::ENQUIRE_LINK_RESP, 43);
        write_header(&mut out, CommandId::GENERIC_NACK, 3, 44);
        let a = decode(&out[..17]).unwrap();
        assert_eq!(a.header.command_id, CommandId::DELIVER_SM_RESP);
        assert_eq!(a.header.sequence_number, 42);
        let b = decode(&out[17..33]).unwrap();
        assert_eq!(b.body, Body::EnquireLinkResp);
        let c = decode(&out[33..]).unwrap();
        assert_eq!(c.header.command_status.0, 3);
    }
}
