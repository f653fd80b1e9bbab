//! Pre-encoded submit_sm PDUs. Each kind of message is encoded once with the
//! project's codec at start-up; sending one is then a copy into the write
//! buffer plus patching the sequence number (and the concatenation reference
//! for long messages), with no allocation and no re-encoding.

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

/// One encoded submit_sm.
#[derive(Clone, Debug)]
pub struct Template {
    pub bytes: Vec<u8>,
    /// Offset of the concatenation reference octet (long messages).
    pub ref_off: Option<usize>,
}

impl Template {
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

fn base<'a>(registered_delivery: u8) -> Sm<'a> {
    Sm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: SOURCE_ADDR,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: DEST_ADDR,
        registered_delivery,
        ..Sm::default()
    }
}

impl Templates {
    pub fn new() -> Templates {
        let ucs2: Vec<u8> = UCS2_TEXT
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        let payload_text: Vec<u8> = (0..300).map(|i| b'a' + (i % 26) as u8).collect();
        let mut payload_tlv = TlvBuf::new();
        payload_tlv.push(Tag::MESSAGE_PAYLOAD, &payload_text);
        let mut t = Vec::new();
        let mk = |f: &dyn Fn(u8) -> Template| [f(0), f(1)];
        t.push(mk(&|rd| Template {
            bytes: encode(Sm {
                short_message: GSM7_TEXT.as_bytes(),
                ..base(rd)
            }),
            ref_off: None,
        }));
        t.push(mk(&|rd| Template {
            bytes: encode(Sm {
                data_coding: 8,
                short_message: &ucs2,
                ..base(rd)
            }),
            ref_off: None,
        }));
        for part in 1..=LONG_PARTS {
            t.push(mk(&|rd| {
                // UDH: IEI 0x00 (concat, 8-bit ref), len 3, ref, total, seq.
                let mut ud = vec![0x05, 0x00, 0x03, 0x00, LONG_PARTS, part];
                ud.extend((0..153).map(|i| b'A' + ((i + usize::from(part)) % 26) as u8));
                let bytes = encode(Sm {
                    esm_class: 0x40,
                    short_message: &ud,
                    ..base(rd)
                });
                // The short message ends the PDU (no TLVs): the UDH starts ud.len() from the end.
                let ref_off = bytes.len() - ud.len() + 3;
                Template {
                    bytes,
                    ref_off: Some(ref_off),
                }
            }));
        }
        t.push(mk(&|rd| Template {
            bytes: encode(Sm {
                short_message: b"",
                tlvs: payload_tlv.as_tlvs(),
                ..base(rd)
            }),
            ref_off: None,
        }));
        let enquire = Pdu::new(0, Body::EnquireLink).to_vec().unwrap_or_default();
        t.push(mk(&|_| Template {
            bytes: enquire.clone(),
            ref_off: None,
        }));
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
