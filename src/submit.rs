//! submit_sm validation: every field checked, each failure mapped to the
//! status the user's interface document names. Pure: no I/O, no allocation.
//!
//! Strict where the spec is clear (reserved bits, lengths, time syntax),
//! lenient where real ESMEs differ (TON/NPI 0 with any address, any
//! service_type, vendor TLVs, packed-looking data under binary codings).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::pdu::{CommandStatus as S, Sm};
use crate::smpp_time::{self, SmppTime};
use crate::text::{self, Encoding};

/// What validation learned about an accepted message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageInfo<'a> {
    pub encoding: Encoding,
    /// The user data after any UDH (from short_message or message_payload).
    pub body: &'a [u8],
    /// Air-interface segments this part stands for (1 for a UDH/SAR part).
    pub segments: u32,
    /// registered_delivery bits 1-0: 0 none, 1 final, 2 failure only, 3 success only (v5.0).
    pub receipt: u8,
    /// registered_delivery bit 4: intermediate notification requested.
    pub intermediate: bool,
    /// Expiry from validity_period (unix seconds), if given.
    pub expires_at: Option<i64>,
    /// schedule_delivery_time (unix seconds), if given.
    pub schedule_at: Option<i64>,
}

/// The furthest ahead a schedule_delivery_time or validity_period may lie:
/// beyond it, ESME_RINVSCHED or ESME_RINVEXPIRY.
pub const MAX_AHEAD_SECS: i64 = 30 * 86_400;

/// TON values of §5.2.5: 0-6.
pub fn ton_valid(ton: u8) -> bool {
    ton <= 6
}

/// NPI values of §5.2.6.
pub fn npi_valid(npi: u8) -> bool {
    matches!(npi, 0 | 1 | 3 | 4 | 6 | 8 | 9 | 10 | 14 | 18)
}

fn numeric(addr: &[u8]) -> bool {
    let digits = addr.strip_prefix(b"+").unwrap_or(addr);
    !digits.is_empty() && all_digits(digits)
}

/// Every octet < 0x80, eight at a time (the tail as the last eight).
#[inline]
fn all_ascii(s: &[u8]) -> bool {
    const HI: u64 = 0x8080_8080_8080_8080;
    let Some(last) = s.last_chunk::<8>() else {
        return s.iter().all(|&b| b < 0x80);
    };
    let mut acc = u64::from_le_bytes(*last);
    for c in s.chunks_exact(8) {
        if let Some(c) = c.first_chunk::<8>() {
            acc |= u64::from_le_bytes(*c);
        }
    }
    acc & HI == 0
}

/// `s.iter().all(u8::is_ascii_digit)`, eight octets at a time: every
/// message has two addresses of 10-15 digits.
#[inline]
fn all_digits(s: &[u8]) -> bool {
    // x ^ 0x30 is 0..=9 exactly for '0'..='9'; adding 0x76 sets bit 7 of a
    // byte from 10 up, and bytes with bit 7 already set fail by the `| a`
    // (a carry out of such a byte only affects a word that fails anyway).
    #[inline(always)]
    fn word(c: &[u8; 8]) -> bool {
        let a = u64::from_le_bytes(*c) ^ 0x3030_3030_3030_3030;
        (a.wrapping_add(0x7676_7676_7676_7676) | a) & 0x8080_8080_8080_8080 == 0
    }
    if s.len() < 8 {
        return s.iter().all(u8::is_ascii_digit);
    }
    let mut chunks = s.chunks_exact(8);
    let body = chunks
        .by_ref()
        .all(|c| c.first_chunk::<8>().is_some_and(word));
    // The tail as the last eight octets (overlapping checked ones).
    body && s.last_chunk::<8>().is_some_and(word)
}

fn printable(addr: &[u8]) -> bool {
    addr.iter().all(|b| (0x20..0x7F).contains(b))
}

/// An address is checked against its TON: international and national
/// numbers are digits (an optional leading `+` tolerated), alphanumeric
/// (TON 5) is printable ASCII of at most 11 characters, other TONs
/// (unknown, network specific, subscriber, abbreviated) any printable ASCII.
pub fn address_valid(ton: u8, addr: &[u8]) -> bool {
    match ton {
        1 | 2 => numeric(addr),
        5 => addr.len() <= 11 && printable(addr),
        _ => printable(addr),
    }
}

/// schedule_delivery_time and validity_period as unix seconds (None when
/// empty), each at most [`MAX_AHEAD_SECS`] ahead.
#[inline]
pub fn times(
    schedule: &[u8],
    validity: &[u8],
    now_unix: i64,
) -> Result<(Option<i64>, Option<i64>), S> {
    if schedule.is_empty() && validity.is_empty() {
        return Ok((None, None));
    }
    let resolve = |field: &[u8], err: S| -> Result<Option<i64>, S> {
        if field.is_empty() {
            return Ok(None);
        }
        let t = match smpp_time::parse(field).map_err(|_| err)? {
            SmppTime::None => None,
            t => t.to_unix(now_unix),
        };
        match t {
            Some(t) if t > now_unix.saturating_add(MAX_AHEAD_SECS) => Err(err),
            t => Ok(t),
        }
    };
    Ok((
        resolve(schedule, S::ESME_RINVSCHED)?,
        resolve(validity, S::ESME_RINVEXPIRY)?,
    ))
}

/// Validates a submit_sm. `zero_means` is what data_coding 0 is for this
/// account; `now_unix` resolves relative validity periods.
pub fn validate<'a>(
    sm: &Sm<'a>,
    zero_means: Encoding,
    now_unix: i64,
) -> Result<MessageInfo<'a>, S> {
    if !ton_valid(sm.source_addr_ton) {
        return Err(S::ESME_RINVSRCTON);
    }
    if !npi_valid(sm.source_addr_npi) {
        return Err(S::ESME_RINVSRCNPI);
    }
    if !ton_valid(sm.dest_addr_ton) {
        return Err(S::ESME_RINVDSTTON);
    }
    if !npi_valid(sm.dest_addr_npi) {
        return Err(S::ESME_RINVDSTNPI);
    }
    // An empty source is allowed: the SMSC may substitute a default (§5.2.8).
    if !sm.source_addr.is_empty() && !address_valid(sm.source_addr_ton, sm.source_addr) {
        return Err(S::ESME_RINVSRCADR);
    }
    if sm.destination_addr.is_empty() || !address_valid(sm.dest_addr_ton, sm.destination_addr) {
        return Err(S::ESME_RINVDSTADR);
    }
    // Message type bits (5-2) of an ESME submit: normal, delivery ack, manual ack.
    if !matches!(sm.esm_class & 0x3C, 0x00 | 0x08 | 0x10) {
        return Err(S::ESME_RINVESMCLASS);
    }
    if sm.priority_flag > 3 {
        return Err(S::ESME_RINVPRTFLG);
    }
    if sm.registered_delivery & 0xE0 != 0 {
        return Err(S::ESME_RINVREGDLVFLG);
    }
    if sm.replace_if_present_flag > 1 {
        return Err(S::ESME_RINVREPFLAG);
    }
    let (schedule_at, expires_at) = times(sm.schedule_delivery_time, sm.validity_period, now_unix)?;
    let encoding = Encoding::from_data_coding(sm.data_coding, zero_means);
    if let Encoding::Other(dc) = encoding {
        // Reserved codings (0x0B, 0x0C, 0x0F-0xBF) are refused; the named
        // national ones (JIS, Cyrillic, Hebrew, ...) pass as 8-bit data.
        if matches!(dc, 0x0B | 0x0C | 0x0F..=0xBF) {
            return Err(S::ESME_RINVDCS);
        }
    }

    // sm_length: at most 254 (255 is not allowed), and never both fields.
    if sm.short_message.len() > 254 {
        return Err(S::ESME_RINVMSGLEN);
    }
    let payload = sm.tlvs.message_payload();
    let user_data = match payload {
        Some(_) if !sm.short_message.is_empty() => return Err(S::ESME_RINVMSGLEN),
        Some(p) => p,
        None => sm.short_message,
    };

    let mut part = false;
    let body = if sm.esm_class & 0x40 != 0 {
        let udh = text::udh::parse(user_data).map_err(|_| S::ESME_RINVMSGLEN)?;
        part = udh.concat().is_some();
        udh.body(user_data)
    } else {
        user_data
    };
    if let Some(sar) = sm.tlvs.sar() {
        if sar.total_segments == 0
            || sar.segment_seqnum == 0
            || sar.segment_seqnum > sar.total_segments
        {
            return Err(S::ESME_RINVOPTPARAMVAL);
        }
        part = true;
    }
    let segments = check_content(encoding, body)?;
    let segments = if part { 1 } else { segments };
    Ok(MessageInfo {
        encoding,
        body,
        segments,
        receipt: sm.registered_delivery & 0x03,
        intermediate: sm.registered_delivery & 0x10 != 0,
        expires_at,
        schedule_at,
    })
}

/// Checks the body against its encoding and returns the air segments it
/// needs on its own. One pass, no character decoding: unpacked GSM 7-bit
/// and IA5 need every octet < 0x80 (an escape pair is two septets, so
/// septets = octets), UCS2 an even length (units = octets / 2).
#[inline]
fn check_content(encoding: Encoding, body: &[u8]) -> Result<u32, S> {
    let n = body.len();
    let segments = match encoding {
        Encoding::Gsm7 | Encoding::Ascii => {
            if !all_ascii(body) {
                return Err(S::ESME_RINVDCS);
            }
            text::gsm7::segments(n, false)
        }
        Encoding::Ucs2 => {
            if n % 2 != 0 {
                return Err(S::ESME_RINVMSGLEN);
            }
            text::ucs2::segments(n / 2)
        }
        Encoding::Latin1 | Encoding::Binary | Encoding::Other(_) => text::latin1::segments(n),
    };
    Ok(u32::try_from(segments).unwrap_or(u32::MAX))
}

/// Octets that are the same character in ASCII and in the GSM 7-bit default
/// alphabet map to themselves; every other octet maps to `?`. The receipt
/// goes out with data_coding 0, which some clients decode as ASCII and
/// others as GSM 03.38: with this map all of them show the same `text:`.
/// The two differ at controls, `$ @ [ \ ] ^ _ \` { | } ~` and DEL (GSM puts
/// `¤ ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü à` there), so those become `?` too.
#[allow(clippy::indexing_slicing)] // evaluated at compile time
const PLAIN: [u8; 256] = {
    let mut map = [b'?'; 256];
    let mut c = 0x20;
    while c < 0x7B {
        if !matches!(c, 0x24 | 0x40 | 0x5B..=0x60) {
            map[c] = c as u8;
        }
        c += 1;
    }
    map
};

#[inline]
fn plain(c: u8) -> u8 {
    PLAIN.get(usize::from(c)).copied().unwrap_or(b'?')
}

/// Whether every octet maps to itself in [`PLAIN`], eight at a time. May
/// say false for a word that holds an octet >= 0x80 next to plain ones
/// (carries); never true for a word with any octet outside the map.
#[inline]
fn all_plain(s: &[u8]) -> bool {
    #[inline(always)]
    fn word(c: &[u8; 8]) -> bool {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let x = u64::from_le_bytes(*c);
        // Bit 7 of each octet of `x + k * LO` is set iff the octet is
        // >= 0x80 - k (exact while every octet is below 0x80: no carries).
        let at_least = |k: u64| x.wrapping_add(k.wrapping_mul(LO)) & HI;
        let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
        let below_space = !at_least(0x60) & HI; // < 0x20
        let above_z = at_least(0x05); // > 0x7A
        let brackets = at_least(0x25) & !at_least(0x1F); // 0x5B..=0x60
        let dollar_at = has_zero(x ^ (0x24 * LO)) | has_zero(x ^ (0x40 * LO));
        (x & HI) | below_space | above_z | brackets | dollar_at == 0
    }
    let Some(last) = s.last_chunk::<8>() else {
        return s.iter().all(|&b| plain(b) == b);
    };
    word(last)
        && s.chunks_exact(8)
            .all(|c| c.first_chunk::<8>().is_some_and(word))
}

/// The first characters of the message for the receipt's `text:` field, in
/// the characters ASCII and GSM 7-bit share ([`PLAIN`]), `?` for the rest.
/// A GSM 7-bit message's septets and an ASCII/Latin-1 message's octets are
/// mapped alike: in the shared range the two alphabets agree.
pub fn receipt_text(info: &MessageInfo<'_>, out: &mut [u8; crate::dlr::TEXT_LEN]) -> usize {
    match info.encoding {
        Encoding::Ucs2 => {
            let mut n = 0;
            for (slot, pair) in out.iter_mut().zip(info.body.chunks_exact(2)) {
                let unit = match pair {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    _ => 0,
                };
                *slot = u8::try_from(unit).map_or(b'?', plain);
                n += 1;
            }
            n
        }
        Encoding::Binary => 0,
        _ => {
            let head = info.body.get(..crate::dlr::TEXT_LEN).unwrap_or(info.body);
            if all_plain(head) {
                // The usual case: one copy instead of a lookup per octet.
                if let Some(dst) = out.get_mut(..head.len()) {
                    dst.copy_from_slice(head);
                    return head.len();
                }
            }
            let mut n = 0;
            for (slot, &c) in out.iter_mut().zip(head) {
                *slot = plain(c);
                n += 1;
            }
            n
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::pdu::{Tag, TlvBuf, Tlvs};

    #[test]
    fn all_plain_matches_the_map() {
        let mut rng = crate::testutil::Rng(7);
        let good: Vec<u8> = (0..=255u8).filter(|&c| plain(c) == c).collect();
        for len in 0..=24 {
            let ok: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(all_plain(&ok));
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut v = ok.clone();
                    v[pos] = b;
                    assert_eq!(all_plain(&v), plain(b) == b, "{v:?}");
                }
            }
            // Random 7-bit words, mostly plain: exact both ways.
            for _ in 0..2000 {
                let v: Vec<u8> = (0..len)
                    .map(|_| match rng.below(12) {
                        0 => rng.below(0x80) as u8,
                        _ => good[rng.index(good.len())],
                    })
                    .collect();
                assert_eq!(all_plain(&v), v.iter().all(|&c| plain(c) == c), "{v:?}");
            }
        }
    }

    #[test]
    fn plain_keeps_exactly_what_ascii_and_gsm7_agree_on() {
        for c in 0..=255u8 {
            let ascii = (0x20..0x7F).contains(&c).then_some(char::from(c));
            let gsm = (c < 0x80)
                .then(|| crate::text::gsm7::septet_to_char(c))
                .flatten();
            let same = ascii.is_some() && ascii == gsm;
            assert_eq!(plain(c) == c, same, "octet {c:#04x}: {ascii:?} / {gsm:?}");
            if !same {
                assert_eq!(plain(c), b'?');
            }
        }
        // 52 letters, 10 digits, space and 20 punctuation marks.
        assert_eq!((0..=255u8).filter(|&c| plain(c) == c).count(), 83);
    }

    #[test]
    fn all_ascii_matches_a_byte_check() {
        for len in 0..=40 {
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(all_ascii(&text));
            for pos in 0..len {
                for b in [0x00, 0x7F, 0x80, 0xC3, 0xFF] {
                    let mut v = text.clone();
                    v[pos] = b;
                    assert_eq!(all_ascii(&v), b < 0x80, "{v:?}");
                }
            }
        }
    }

    #[test]
    fn all_digits_matches_a_byte_check() {
        // Every single-octet value at every position of strings of 0..=24
        // digits, so each word and the overlapping tail see every byte.
        for len in 0..=24 {
            let digits: Vec<u8> = (0..len).map(|i| b'0' + (i % 10) as u8).collect();
            assert!(all_digits(&digits), "{digits:?}");
            for pos in 0..len {
                for b in 0..=255u8 {
                    let mut v = digits.clone();
                    v[pos] = b;
                    assert_eq!(all_digits(&v), b.is_ascii_digit(), "{v:?}");
                }
            }
        }
    }

    fn base() -> Sm<'static> {
        Sm {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"447700900001",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447700900002",
            short_message: b"hello",
            ..Sm::default()
        }
    }

    fn check(sm: Sm<'_>) -> Result<MessageInfo<'_>, S> {
        validate(&sm, Encoding::Gsm7, 1_700_000_000)
    }

    #[test]
    fn accepts_a_plain_message() {
        let i = check(base()).unwrap();
        assert_eq!(i.body, b"hello");
        assert_eq!(i.segments, 1);
        assert_eq!(i.receipt, 0);
    }

    #[test]
    fn each_field_has_its_status() {
        assert_eq!(
            check(Sm {
                source_addr_ton: 7,
                ..base()
            }),
            Err(S::ESME_RINVSRCTON)
        );
        assert_eq!(
            check(Sm {
                source_addr_npi: 2,
                ..base()
            }),
            Err(S::ESME_RINVSRCNPI)
        );
        assert_eq!(
            check(Sm {
                dest_addr_ton: 9,
                ..base()
            }),
            Err(S::ESME_RINVDSTTON)
        );
        assert_eq!(
            check(Sm {
                dest_addr_npi: 5,
                ..base()
            }),
            Err(S::ESME_RINVDSTNPI)
        );
        assert_eq!(
            check(Sm {
                destination_addr: b"",
                ..base()
            }),
            Err(S::ESME_RINVDSTADR)
        );
        assert_eq!(
            check(Sm {
                destination_addr: b"44abc",
                ..base()
            }),
            Err(S::ESME_RINVDSTADR)
        );
        assert_eq!(
            check(Sm {
                source_addr: b"12a4",
                ..base()
            }),
            Err(S::ESME_RINVSRCADR)
        );
        assert_eq!(
            check(Sm {
                priority_flag: 4,
                ..base()
            }),
            Err(S::ESME_RINVPRTFLG)
        );
        assert_eq!(
            check(Sm {
                registered_delivery: 0x20,
                ..base()
            }),
            Err(S::ESME_RINVREGDLVFLG)
        );
        assert_eq!(
            check(Sm {
                esm_class: 0x04,
                ..base()
            }),
            Err(S::ESME_RINVESMCLASS)
        );
        assert_eq!(
            check(Sm {
                replace_if_present_flag: 2,
                ..base()
            }),
            Err(S::ESME_RINVREPFLAG)
        );
        assert_eq!(
            check(Sm {
                schedule_delivery_time: b"2405",
                ..base()
            }),
            Err(S::ESME_RINVSCHED)
        );
        assert_eq!(
            check(Sm {
                validity_period: b"241306142233004+",
                ..base()
            }),
            Err(S::ESME_RINVEXPIRY)
        );
        assert_eq!(
            check(Sm {
                data_coding: 0x20,
                ..base()
            }),
            Err(S::ESME_RINVDCS)
        );
        assert_eq!(
            check(Sm {
                data_coding: 8,
                short_message: b"abc",
                ..base()
            }),
            Err(S::ESME_RINVMSGLEN)
        );
        assert_eq!(
            check(Sm {
                short_message: &[0x80],
                ..base()
            }),
            Err(S::ESME_RINVDCS)
        );
        assert_eq!(
            check(Sm {
                short_message: &[b'a'; 255],
                ..base()
            }),
            Err(S::ESME_RINVMSGLEN)
        );
    }

    #[test]
    fn lenient_where_esmes_differ() {
        // TON/NPI 0 with anything printable; alphanumeric sender; '+' prefix.
        assert!(check(Sm {
            dest_addr_ton: 0,
            dest_addr_npi: 0,
            destination_addr: b"abc-12",
            ..base()
        })
        .is_ok());
        assert!(check(Sm {
            source_addr_ton: 5,
            source_addr_npi: 0,
            source_addr: b"MyShop",
            ..base()
        })
        .is_ok());
        assert!(check(Sm {
            destination_addr: b"+447700900002",
            ..base()
        })
        .is_ok());
        assert!(check(Sm {
            source_addr: b"",
            ..base()
        })
        .is_ok());
        assert_eq!(
            check(Sm {
                source_addr_ton: 5,
                source_addr: b"ABCDEFGHIJKL",
                ..base()
            }),
            Err(S::ESME_RINVSRCADR)
        );
        // Binary data with any octets.
        assert!(check(Sm {
            data_coding: 4,
            short_message: &[0xFF, 0x00],
            ..base()
        })
        .is_ok());
    }

    #[test]
    fn payload_and_long_messages() {
        let mut t = TlvBuf::new();
        t.push(Tag::MESSAGE_PAYLOAD, &[b'x'; 400]);
        let sm = Sm {
            short_message: b"",
            tlvs: t.as_tlvs(),
            ..base()
        };
        let i = check(sm).unwrap();
        assert_eq!(i.body.len(), 400);
        assert_eq!(i.segments, 3); // 400 septets = 3 x 153
                                   // Both fields present.
        assert_eq!(
            check(Sm {
                tlvs: t.as_tlvs(),
                ..base()
            }),
            Err(S::ESME_RINVMSGLEN)
        );
        // UDH concatenation part.
        let ud = [0x05, 0x00, 0x03, 0x7A, 0x02, 0x01, b'h', b'i'];
        let i = check(Sm {
            esm_class: 0x40,
            short_message: &ud,
            ..base()
        })
        .unwrap();
        assert_eq!(i.body, b"hi");
        assert_eq!(i.segments, 1);
        // UDH longer than the data.
        assert_eq!(
            check(Sm {
                esm_class: 0x40,
                short_message: &[0x09, 0x00],
                ..base()
            }),
            Err(S::ESME_RINVMSGLEN)
        );
        // SAR with seqnum beyond total.
        let mut s = TlvBuf::new();
        s.push_u16(Tag::SAR_MSG_REF_NUM, 1);
        s.push_u8(Tag::SAR_TOTAL_SEGMENTS, 2);
        s.push_u8(Tag::SAR_SEGMENT_SEQNUM, 3);
        assert_eq!(
            check(Sm {
                tlvs: s.as_tlvs(),
                ..base()
            }),
            Err(S::ESME_RINVOPTPARAMVAL)
        );
        let _ = Tlvs::EMPTY;
    }

    #[test]
    fn content_check_agrees_with_the_text_module() {
        let cases: [(Encoding, &[u8]); 6] = [
            (Encoding::Gsm7, &[b'a'; 160]),
            (Encoding::Gsm7, &[b'a'; 161]),
            (Encoding::Gsm7, &[0x1B, 0x65, b'x']),
            (Encoding::Ucs2, &[0; 140]),
            (Encoding::Ucs2, &[0; 142]),
            (Encoding::Latin1, &[0xE9; 300]),
        ];
        for (enc, body) in cases {
            let want = crate::text::validate_content(enc, body).unwrap().segments as u32;
            assert_eq!(check_content(enc, body), Ok(want), "{enc:?} {}", body.len());
        }
        assert_eq!(
            check_content(Encoding::Gsm7, &[b'a', 0x80]),
            Err(S::ESME_RINVDCS)
        );
        assert_eq!(
            check_content(Encoding::Ucs2, &[0, 1, 2]),
            Err(S::ESME_RINVMSGLEN)
        );
    }

    #[test]
    fn receipt_text_is_printable() {
        let ucs = [0x00, b'h', 0x04, 0x10, 0x00, b'i'];
        // (data_coding, message, the receipt's text:)
        let cases: [(u8, &[u8], &[u8]); 5] = [
            (
                0,
                b"hello world, this is longer than twenty",
                b"hello world, this is",
            ),
            (8, &ucs, b"h?i"),
            // A control character or DEL within the first twenty: replaced.
            (
                0,
                b"line1\nline2\x7Fend and more text",
                b"line1?line2?end and ",
            ),
            // Characters GSM 7-bit puts elsewhere: replaced, so a client
            // that reads data_coding 0 as GSM does not show `~` as `ü`.
            (0, b"cost $5 @ shop_x~ {ok}", b"cost ?5 ? shop?x? ?o"),
            (0, b"hi", b"hi"),
        ];
        let mut out = [0u8; 20];
        for (data_coding, short_message, want) in cases {
            let i = check(Sm {
                data_coding,
                short_message,
                ..base()
            })
            .unwrap();
            let n = receipt_text(&i, &mut out);
            assert_eq!(&out[..n], want, "{short_message:?}");
        }
    }
}
