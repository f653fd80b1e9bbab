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
mod tests;
