//! Delivery receipt text (smpp34.md §14, spec Appendix B).
//!
//! [`Receipt::write`] builds the de-facto standard line on the per-message hot
//! path: hand-rolled digits, no `fmt`, no allocation. [`parse`] reads receipts
//! from peers and is deliberately tolerant, because real ones vary: missing
//! `sub`/`dlvrd`/`text` (Jasmin), 12-digit dates, `Text:` vs `text:`, hex or
//! UUID ids.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::smpp_time::{days_in_month, Ymdhms, CENTURY_PIVOT};

/// Receipt `stat:` words (7 characters) and their `message_state` numbers (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    Enroute,
    Delivrd,
    Expired,
    Deleted,
    Undeliv,
    Acceptd,
    Unknown,
    Rejectd,
}

impl Stat {
    /// The 7-character receipt word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stat::Enroute => "ENROUTE",
            Stat::Delivrd => "DELIVRD",
            Stat::Expired => "EXPIRED",
            Stat::Deleted => "DELETED",
            Stat::Undeliv => "UNDELIV",
            Stat::Acceptd => "ACCEPTD",
            Stat::Unknown => "UNKNOWN",
            Stat::Rejectd => "REJECTD",
        }
    }

    /// Parses a `stat:` word, ignoring ASCII case. Also accepts the spelled-out
    /// forms some peers send (`DELIVERED`, `UNDELIVERABLE`, `ACCEPTED`, `REJECTED`).
    pub fn from_str_ci(word: &[u8]) -> Option<Stat> {
        const ALL: [Stat; 8] = [
            Stat::Enroute,
            Stat::Delivrd,
            Stat::Expired,
            Stat::Deleted,
            Stat::Undeliv,
            Stat::Acceptd,
            Stat::Unknown,
            Stat::Rejectd,
        ];
        const LONG: [(&[u8], Stat); 4] = [
            (b"DELIVERED", Stat::Delivrd),
            (b"UNDELIVERABLE", Stat::Undeliv),
            (b"ACCEPTED", Stat::Acceptd),
            (b"REJECTED", Stat::Rejectd),
        ];
        ALL.iter()
            .copied()
            .find(|s| s.as_str().as_bytes().eq_ignore_ascii_case(word))
            .or_else(|| {
                LONG.iter()
                    .find(|(w, _)| w.eq_ignore_ascii_case(word))
                    .map(|&(_, s)| s)
            })
    }

    /// The `message_state` value (query_sm_resp, `message_state` TLV).
    pub const fn message_state(self) -> u8 {
        match self {
            Stat::Enroute => 1,
            Stat::Delivrd => 2,
            Stat::Expired => 3,
            Stat::Deleted => 4,
            Stat::Undeliv => 5,
            Stat::Acceptd => 6,
            Stat::Unknown => 7,
            Stat::Rejectd => 8,
        }
    }

    /// Inverse of [`Stat::message_state`]; `None` for 0, 9 (v5.0) and others.
    pub const fn from_message_state(state: u8) -> Option<Stat> {
        Some(match state {
            1 => Stat::Enroute,
            2 => Stat::Delivrd,
            3 => Stat::Expired,
            4 => Stat::Deleted,
            5 => Stat::Undeliv,
            6 => Stat::Acceptd,
            7 => Stat::Unknown,
            8 => Stat::Rejectd,
            _ => return None,
        })
    }

    /// Whether this is a final state (everything but ENROUTE).
    pub const fn is_final(self) -> bool {
        !matches!(self, Stat::Enroute)
    }
}

/// A receipt date, written as `YYMMDDhhmm`. `year` is the full year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ymdhm {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl Ymdhm {
    /// The 10 ASCII digits. Each field is written modulo 100 so a bad value can
    /// garble a digit pair but never the line's layout.
    pub fn to_digits(&self) -> [u8; 10] {
        let [y1, y2] = two_digits(self.year % 100);
        let [m1, m2] = two_digits(u16::from(self.month));
        let [d1, d2] = two_digits(u16::from(self.day));
        let [h1, h2] = two_digits(u16::from(self.hour));
        let [n1, n2] = two_digits(u16::from(self.minute));
        [y1, y2, m1, m2, d1, d2, h1, h2, n1, n2]
    }
}

#[inline]
fn two_digits(v: u16) -> [u8; 2] {
    let v = v % 100;
    // v < 100, so both casts are lossless.
    [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]
}

/// Errors from [`Receipt::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlrError {
    /// The output buffer is shorter than [`Receipt::encoded_len`].
    OutputTooSmall,
}

impl core::fmt::Display for DlrError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("receipt output buffer too small")
    }
}

impl std::error::Error for DlrError {}

/// At most this many octets of the original message go into `text:`.
pub const TEXT_LEN: usize = 20;
/// Longest `message_id` we issue (C-Octet String of 65 with the NUL).
pub const MAX_ID_LEN: usize = 64;
/// A `u16` needs at most five digits.
const MAX_NUM_DIGITS: usize = 5;

/// A receipt to build. Borrowed fields point at the message's own storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt<'a> {
    /// Exactly the `message_id` returned in submit_sm_resp; must not contain spaces.
    pub id: &'a [u8],
    pub sub: u16,
    pub dlvrd: u16,
    /// `YYMMDDhhmm`, e.g. from [`Ymdhm::to_digits`] (the server caches them).
    pub submit_date: [u8; 10],
    pub done_date: [u8; 10],
    pub stat: Stat,
    pub err: u16,
    /// Start of the original message; truncated to [`TEXT_LEN`] octets.
    pub text: &'a [u8],
}

const K_ID: &[u8] = b"id:";
const K_SUB: &[u8] = b" sub:";
const K_DLVRD: &[u8] = b" dlvrd:";
const K_SUBMIT: &[u8] = b" submit date:";
const K_DONE: &[u8] = b" done date:";
const K_STAT: &[u8] = b" stat:";
const K_ERR: &[u8] = b" err:";
const K_TEXT: &[u8] = b" text:";
const FIXED_LEN: usize = K_ID.len()
    + K_SUB.len()
    + K_DLVRD.len()
    + K_SUBMIT.len()
    + 10
    + K_DONE.len()
    + 10
    + K_STAT.len()
    + 7
    + K_ERR.len()
    + K_TEXT.len();

/// Upper bound of [`Receipt::write`]'s output for an id of up to
/// [`MAX_ID_LEN`] octets (fits the 254-octet `short_message`).
pub const MAX_LEN: usize = FIXED_LEN + MAX_ID_LEN + 3 * MAX_NUM_DIGITS + TEXT_LEN;

// A receipt must fit `short_message` (at most 254 octets).
const _: () = assert!(MAX_LEN <= 254);

/// Decimal digits of `v`, zero-padded to at least 3: (buffer, used length);
/// the digits are the last `len` octets of the buffer.
#[inline]
fn pad3(v: u16) -> ([u8; MAX_NUM_DIGITS], usize) {
    let mut buf = [b'0'; MAX_NUM_DIGITS];
    let mut v = v;
    let mut len = 0usize;
    for slot in buf.iter_mut().rev() {
        // v % 10 < 10: lossless.
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
        len += 1;
        if v == 0 && len >= 3 {
            break;
        }
    }
    (buf, len)
}

#[inline]
fn pad3_len(v: u16) -> usize {
    match v {
        0..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

/// Append-only writer over a caller buffer; every write is bounds-checked.
struct Cursor<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Cursor<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), DlrError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(DlrError::OutputTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(DlrError::OutputTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    #[inline]
    fn put_num(&mut self, v: u16) -> Result<(), DlrError> {
        let (buf, len) = pad3(v);
        let digits = buf
            .get(MAX_NUM_DIGITS.saturating_sub(len)..)
            .unwrap_or(&buf);
        self.put(digits)
    }
}

impl Receipt<'_> {
    fn text_part(&self) -> &[u8] {
        self.text.get(..TEXT_LEN).unwrap_or(self.text)
    }

    /// Exact length [`Receipt::write`] produces.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN
            + self.id.len()
            + pad3_len(self.sub)
            + pad3_len(self.dlvrd)
            + pad3_len(self.err)
            + self.text_part().len()
    }

    /// Writes `id:<id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done
    /// date:YYMMDDhhmm stat:DELIVRD err:000 text:<first 20 octets>` into `out`
    /// and returns its length. Numbers are zero-padded to 3 digits (wider if
    /// above 999). No allocation.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, DlrError> {
        if out.len() < self.encoded_len() {
            return Err(DlrError::OutputTooSmall);
        }
        let mut c = Cursor { buf: out, pos: 0 };
        c.put(K_ID)?;
        c.put(self.id)?;
        c.put(K_SUB)?;
        c.put_num(self.sub)?;
        c.put(K_DLVRD)?;
        c.put_num(self.dlvrd)?;
        c.put(K_SUBMIT)?;
        c.put(&self.submit_date)?;
        c.put(K_DONE)?;
        c.put(&self.done_date)?;
        c.put(K_STAT)?;
        c.put(self.stat.as_str().as_bytes())?;
        c.put(K_ERR)?;
        c.put_num(self.err)?;
        c.put(K_TEXT)?;
        c.put(self.text_part())?;
        Ok(c.pos)
    }

    /// Convenience: the receipt text in a new `Vec` (clients and tests).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.encoded_len()];
        let n = self.write(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }
}

/// A receipt read from a peer. Borrowed from the input; only `id` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParsedReceipt<'a> {
    pub id: &'a [u8],
    pub sub: Option<u16>,
    pub dlvrd: Option<u16>,
    /// Raw digits: 10 (`YYMMDDhhmm`), 12 (`+ss`) or 14 (`YYYYMMDDhhmmss`); see [`parse_date`].
    pub submit_date: Option<&'a [u8]>,
    pub done_date: Option<&'a [u8]>,
    pub stat: Option<Stat>,
    /// Raw token: usually 3 decimal digits, but vendors put anything here.
    pub err: Option<&'a [u8]>,
    /// Rest of the line after `text:`.
    pub text: Option<&'a [u8]>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Sub,
    Dlvrd,
    Submit,
    Done,
    Stat,
    Err,
    Text,
}

/// Field names as they appear, matched ignoring ASCII case at token starts.
const KEYS: [(&[u8], Key); 12] = [
    (b"id:", Key::Id),
    (b"sub:", Key::Sub),
    (b"dlvrd:", Key::Dlvrd),
    (b"submit date:", Key::Submit),
    (b"submit_date:", Key::Submit),
    (b"submitdate:", Key::Submit),
    (b"done date:", Key::Done),
    (b"done_date:", Key::Done),
    (b"donedate:", Key::Done),
    (b"stat:", Key::Stat),
    (b"err:", Key::Err),
    (b"text:", Key::Text),
];

#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[inline]
fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

/// Splits `s` at the first octet matching `pred` (or at the end).
#[inline]
fn split_at_first(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let i = s.iter().position(|&b| pred(b)).unwrap_or(s.len());
    (s.get(..i).unwrap_or(s), s.get(i..).unwrap_or(&[]))
}

/// Decimal `u16` of 1..=5 digits.
fn parse_u16(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > MAX_NUM_DIGITS {
        return None;
    }
    s.iter().try_fold(0u16, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u16::from(b - b'0'))
    })
}

fn is_date_shape(s: &[u8]) -> bool {
    matches!(s.len(), 10 | 12 | 14) && s.iter().all(u8::is_ascii_digit)
}

/// Reads a receipt text from a peer. Tolerant: field names ignore case and may
/// come in any order, every field but `id` may be missing or malformed (then
/// `None`), unknown tokens are skipped, the first valid occurrence of a field wins.
/// `text:` takes the rest of its line. `None` if there is no non-empty `id`.
pub fn parse(text: &[u8]) -> Option<ParsedReceipt<'_>> {
    let mut r = ParsedReceipt::default();
    let mut have_id = false;
    let mut rest = text;
    // Each round skips separators, then reads one token.
    while let Some(tok) = rest
        .iter()
        .position(|&b| !is_space(b))
        .and_then(|start| rest.get(start..))
    {
        let key = KEYS
            .iter()
            .find(|(name, _)| starts_with_ci(tok, name))
            .map(|&(name, k)| (k, tok.get(name.len()..).unwrap_or(&[])));
        let Some((key, after)) = key else {
            // Unknown token: skip it.
            let (_, tail) = split_at_first(tok, is_space);
            rest = tail;
            continue;
        };
        if key == Key::Text {
            let (value, tail) = split_at_first(after, |b| b == b'\r' || b == b'\n');
            r.text = r.text.or(Some(value));
            rest = tail;
            continue;
        }
        let (value, tail) = split_at_first(after, is_space);
        rest = tail;
        match key {
            Key::Id if !have_id && !value.is_empty() => {
                r.id = value;
                have_id = true;
            }
            Key::Sub if r.sub.is_none() => r.sub = parse_u16(value),
            Key::Dlvrd if r.dlvrd.is_none() => r.dlvrd = parse_u16(value),
            Key::Submit if r.submit_date.is_none() && is_date_shape(value) => {
                r.submit_date = Some(value);
            }
            Key::Done if r.done_date.is_none() && is_date_shape(value) => {
                r.done_date = Some(value);
            }
            Key::Stat if r.stat.is_none() => r.stat = Stat::from_str_ci(value),
            Key::Err if r.err.is_none() && !value.is_empty() => r.err = Some(value),
            _ => {}
        }
    }
    have_id.then_some(r)
}

/// Decodes a receipt date: `YYMMDDhhmm`, `YYMMDDhhmmss` (two-digit years use
/// the 38 pivot) or `YYYYMMDDhhmmss`. Seconds default to 0. `None` if the shape
/// or any field is invalid.
pub fn parse_date(d: &[u8]) -> Option<Ymdhms> {
    fn num(s: &[u8]) -> Option<u16> {
        s.iter().try_fold(0u16, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
        })
    }
    let (year, rest) = match d.len() {
        10 | 12 => {
            let yy = num(d.get(..2)?)?;
            let year = if yy < u16::from(CENTURY_PIVOT) {
                2000 + yy
            } else {
                1900 + yy
            };
            (year, d.get(2..)?)
        }
        14 => (num(d.get(..4)?)?, d.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<u8> { u8::try_from(num(rest.get(i..i + 2)?)?).ok() };
    let month = field(0)?;
    let day = field(2)?;
    let hour = field(4)?;
    let minute = field(6)?;
    let second = if rest.len() >= 10 { field(8)? } else { 0 };
    let year = i32::from(year);
    let ok = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    ok.then_some(Ymdhms {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    fn date(year: u16, month: u8, day: u8, hour: u8, minute: u8) -> Ymdhm {
        Ymdhm {
            year,
            month,
            day,
            hour,
            minute,
        }
    }

    fn spec_receipt() -> Receipt<'static> {
        Receipt {
            id: b"4f2a91c07e",
            sub: 1,
            dlvrd: 1,
            submit_date: date(2024, 5, 6, 14, 22).to_digits(),
            done_date: date(2024, 5, 6, 14, 23).to_digits(),
            stat: Stat::Delivrd,
            err: 0,
            text: b"hello world",
        }
    }

    const SPEC_TEXT: &[u8] = b"id:4f2a91c07e sub:001 dlvrd:001 submit date:2405061422 \
done date:2405061423 stat:DELIVRD err:000 text:hello world";

    #[test]
    fn spec_example_byte_exact() {
        let r = spec_receipt();
        let mut out = [0u8; MAX_LEN];
        let n = r.write(&mut out).unwrap();
        assert_eq!(&out[..n], SPEC_TEXT);
        assert_eq!(r.encoded_len(), SPEC_TEXT.len());
        assert_eq!(r.to_vec(), SPEC_TEXT.to_vec());
    }

    #[test]
    fn text_truncated_numbers_padded() {
        let r = Receipt {
            id: b"1",
            sub: 12,
            dlvrd: 0,
            submit_date: date(1999, 12, 31, 23, 59).to_digits(),
            done_date: date(2000, 1, 1, 0, 0).to_digits(),
            stat: Stat::Undeliv,
            err: 1234,
            text: b"0123456789abcdefghijKLMNOP",
        };
        assert_eq!(
            r.to_vec(),
            b"id:1 sub:012 dlvrd:000 submit date:9912312359 done date:0001010000 \
stat:UNDELIV err:1234 text:0123456789abcdefghij"
                .to_vec()
        );
        let r = Receipt {
            sub: 65535,
            text: b"",
            err: 7,
            ..r
        };
        assert_eq!(
            r.to_vec(),
            b"id:1 sub:65535 dlvrd:000 submit date:9912312359 done date:0001010000 \
stat:UNDELIV err:007 text:"
                .to_vec()
        );
    }

    #[test]
    fn max_len_is_tight_and_fits_short_message() {
        let id = [b'f'; MAX_ID_LEN];
        let r = Receipt {
            id: &id,
            sub: u16::MAX,
            dlvrd: u16::MAX,
            submit_date: date(2024, 5, 6, 14, 22).to_digits(),
            done_date: date(2024, 5, 6, 14, 23).to_digits(),
            stat: Stat::Acceptd,
            err: u16::MAX,
            text: &[b'x'; 40],
        };
        assert_eq!(r.encoded_len(), MAX_LEN);
        let mut out = [0u8; MAX_LEN];
        assert_eq!(r.write(&mut out), Ok(MAX_LEN));
        assert_eq!(MAX_LEN, 182);
    }

    #[test]
    fn output_too_small_at_every_length() {
        let r = spec_receipt();
        let full = SPEC_TEXT.len();
        for len in 0..full {
            let mut out = vec![0xAAu8; len];
            assert_eq!(
                r.write(&mut out),
                Err(DlrError::OutputTooSmall),
                "len {len}"
            );
        }
        let mut out = vec![0u8; full];
        assert_eq!(r.write(&mut out), Ok(full));
    }

    #[test]
    fn stat_words_and_states() {
        let all = [
            (Stat::Enroute, "ENROUTE", 1),
            (Stat::Delivrd, "DELIVRD", 2),
            (Stat::Expired, "EXPIRED", 3),
            (Stat::Deleted, "DELETED", 4),
            (Stat::Undeliv, "UNDELIV", 5),
            (Stat::Acceptd, "ACCEPTD", 6),
            (Stat::Unknown, "UNKNOWN", 7),
            (Stat::Rejectd, "REJECTD", 8),
        ];
        for (s, w, n) in all {
            assert_eq!(s.as_str(), w);
            assert_eq!(w.len(), 7);
            assert_eq!(s.message_state(), n);
            assert_eq!(Stat::from_message_state(n), Some(s));
            assert_eq!(Stat::from_str_ci(w.as_bytes()), Some(s));
            assert_eq!(Stat::from_str_ci(w.to_lowercase().as_bytes()), Some(s));
        }
        assert_eq!(Stat::from_str_ci(b"Delivered"), Some(Stat::Delivrd));
        assert_eq!(Stat::from_str_ci(b"UNDELIVERABLE"), Some(Stat::Undeliv));
        assert_eq!(Stat::from_str_ci(b"DELIVR"), None);
        assert_eq!(Stat::from_str_ci(b""), None);
        assert_eq!(Stat::from_message_state(0), None);
        assert_eq!(Stat::from_message_state(9), None);
        assert!(!Stat::Enroute.is_final() && Stat::Delivrd.is_final());
    }

    #[test]
    fn parse_own_output() {
        let p = parse(SPEC_TEXT).unwrap();
        assert_eq!(
            p,
            ParsedReceipt {
                id: b"4f2a91c07e",
                sub: Some(1),
                dlvrd: Some(1),
                submit_date: Some(b"2405061422"),
                done_date: Some(b"2405061423"),
                stat: Some(Stat::Delivrd),
                err: Some(b"000"),
                text: Some(b"hello world"),
            }
        );
    }

    #[test]
    fn parse_jasmin_style_missing_fields() {
        let t = b"id:5a1e3b7c-0c3f-4a8e-bf50-2c1d9a6e4f21 submit date:1906061505 \
done date:1906061506 stat:DELIVRD err:000";
        let p = parse(t).unwrap();
        assert_eq!(p.id, b"5a1e3b7c-0c3f-4a8e-bf50-2c1d9a6e4f21");
        assert_eq!(p.sub, None);
        assert_eq!(p.dlvrd, None);
        assert_eq!(p.text, None);
        assert_eq!(p.submit_date, Some(&b"1906061505"[..]));
        assert_eq!(p.done_date, Some(&b"1906061506"[..]));
        assert_eq!(p.stat, Some(Stat::Delivrd));
        assert_eq!(p.err, Some(&b"000"[..]));
    }

    #[test]
    fn parse_twelve_digit_dates_and_uppercase_text() {
        let t = b"id:0123456789 sub:001 dlvrd:001 submit date:171205142233 \
done date:171205142235 stat:DELIVRD err:000 Text:Hello World: id:x";
        let p = parse(t).unwrap();
        assert_eq!(p.id, b"0123456789");
        assert_eq!(p.submit_date, Some(&b"171205142233"[..]));
        assert_eq!(p.done_date, Some(&b"171205142235"[..]));
        // Text runs to end of line, including things that look like fields.
        assert_eq!(p.text, Some(&b"Hello World: id:x"[..]));
        assert_eq!(
            parse_date(p.done_date.unwrap()),
            Some(Ymdhms {
                year: 2017,
                month: 12,
                day: 5,
                hour: 14,
                minute: 22,
                second: 35
            })
        );
    }

    #[test]
    fn parse_hex_id_and_mixed_case_keys() {
        let id = b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let mut t = Vec::new();
        t.extend_from_slice(b"ID:");
        t.extend_from_slice(id);
        t.extend_from_slice(b"  SUB:001\tDLVRD:000 Submit Date:2405061422 DONE DATE:2405061423 Stat:undeliv ERR:0x1F");
        let p = parse(&t).unwrap();
        assert_eq!(p.id, id);
        assert_eq!(p.sub, Some(1));
        assert_eq!(p.dlvrd, Some(0));
        assert_eq!(p.submit_date, Some(&b"2405061422"[..]));
        assert_eq!(p.done_date, Some(&b"2405061423"[..]));
        assert_eq!(p.stat, Some(Stat::Undeliv));
        assert_eq!(p.err, Some(&b"0x1F"[..]));
        assert_eq!(p.text, None);
    }

    #[test]
    fn parse_tolerates_junk_and_bad_values() {
        let t = b"garbage id:42 sub:abc dlvrd:99999 submit date:24050614 done date:2405061423xx \
stat:WHATEVER err: text:\r\nid:43 sub:007";
        let p = parse(t).unwrap();
        assert_eq!(p.id, b"42"); // first id wins
        assert_eq!(p.sub, Some(7)); // "abc" unparsable: the first valid one wins
        assert_eq!(p.dlvrd, None); // 99999 > u16::MAX
        assert_eq!(p.submit_date, None); // 8 digits
        assert_eq!(p.done_date, None); // trailing junk
        assert_eq!(p.stat, None);
        assert_eq!(p.err, None);
        assert_eq!(p.text, Some(&b""[..]));
        // underscore variants
        let p = parse(b"id:1 submit_date:2405061422 done_date:240506142359").unwrap();
        assert_eq!(p.submit_date, Some(&b"2405061422"[..]));
        assert_eq!(p.done_date, Some(&b"240506142359"[..]));
    }

    #[test]
    fn parse_requires_id() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"   "), None);
        assert_eq!(parse(b"sub:001 dlvrd:001 stat:DELIVRD"), None);
        assert_eq!(parse(b"id: sub:001"), None); // empty id
        assert_eq!(parse(b"xid:5 stat:DELIVRD"), None); // not at token start
        assert!(parse(b"id:5").is_some());
    }

    #[test]
    fn parse_never_panics_on_noise() {
        let mut seed = 0x9E37_79B9u32;
        let words: [&[u8]; 10] = [
            b"id:",
            b"sub:",
            b"dlvrd:",
            b"submit date:",
            b"done date:",
            b"stat:",
            b"err:",
            b"text:",
            b" ",
            b"\n",
        ];
        let mut hits = 0;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..(next() % 12) {
                let seed = next();
                if seed % 3 == 0 {
                    v.extend_from_slice(words[(seed >> 8) as usize % words.len()]);
                } else {
                    v.push((seed >> 16) as u8);
                }
            }
            if let Some(p) = parse(&v) {
                hits += 1;
                assert!(!p.id.is_empty());
                assert!(!p.id.iter().any(|&b| is_space(b)));
            }
        }
        assert!(hits > 0);
    }

    #[test]
    fn parse_date_forms() {
        let d = |y, mo, d, h, mi, s| Ymdhms {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        };
        assert_eq!(parse_date(b"2405061422"), Some(d(2024, 5, 6, 14, 22, 0)));
        assert_eq!(parse_date(b"240506142259"), Some(d(2024, 5, 6, 14, 22, 59)));
        assert_eq!(
            parse_date(b"20240506142259"),
            Some(d(2024, 5, 6, 14, 22, 59))
        );
        assert_eq!(parse_date(b"9912312359"), Some(d(1999, 12, 31, 23, 59, 0)));
        assert_eq!(parse_date(b"2402291200"), Some(d(2024, 2, 29, 12, 0, 0)));
        assert_eq!(parse_date(b"2302291200"), None); // not a leap year
        assert_eq!(parse_date(b"2413061422"), None);
        assert_eq!(parse_date(b"2405061460"), None);
        assert_eq!(parse_date(b"240506142260"), None);
        assert_eq!(parse_date(b"24050614x2"), None);
        assert_eq!(parse_date(b"24050614"), None);
        assert_eq!(parse_date(b""), None);
    }

    #[test]
    fn ymdhm_digits() {
        assert_eq!(&date(2024, 5, 6, 14, 22).to_digits(), b"2405061422");
        assert_eq!(&date(2000, 1, 2, 3, 4).to_digits(), b"0001020304");
        // Out-of-range values keep the layout.
        assert_eq!(&date(2024, 255, 6, 14, 22).to_digits(), b"2455061422");
    }
}
