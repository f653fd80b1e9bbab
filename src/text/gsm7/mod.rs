//! GSM 03.38 (3GPP TS 23.038) default 7-bit alphabet and its extension table.
//!
//! Over SMPP the 7-bit alphabet is normally carried *unpacked* (one septet per
//! octet, high bit clear); some peers want it packed, so both forms are here.
//! The tables are exactly those of smpp34.md §16. Extension characters are
//! sent as `ESC` (0x1B) followed by their code and cost two septets.
//!
//! The server only ever validates and counts (no allocation); the
//! `*_to_string` helpers are for clients and tests.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// The escape septet that introduces the extension table.
pub const ESC: u8 = 0x1B;

/// Septets in a single, unsegmented message.
pub const SINGLE_SEPTETS: usize = 160;
/// Septets per part when an 8-bit-reference concatenation UDH (6 octets) is present.
pub const PART_SEPTETS: usize = 153;
/// Septets per part when a 16-bit-reference concatenation UDH (7 octets) is present.
pub const PART_SEPTETS_REF16: usize = 152;

/// Errors from GSM 7-bit encoding, validation and (un)packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gsm7Error {
    /// The character at byte offset `index` of the input `str` has no GSM 7-bit code.
    Unencodable { index: usize },
    /// The output buffer cannot hold the result.
    OutputTooSmall,
    /// The octet at `index` is not a septet (high bit set).
    InvalidSeptet { index: usize },
    /// Packed input holds fewer bits than `septet_count * 7`.
    PackedTooShort,
}

impl core::fmt::Display for Gsm7Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Unencodable { index } => {
                write!(f, "character at byte {index} is not in GSM 03.38")
            }
            Self::OutputTooSmall => f.write_str("output buffer too small"),
            Self::InvalidSeptet { index } => write!(f, "octet {index} is not a 7-bit septet"),
            Self::PackedTooShort => f.write_str("packed data shorter than the septet count"),
        }
    }
}

impl std::error::Error for Gsm7Error {}

/// How one character is written: a single septet, or `ESC` followed by a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Septets {
    /// A code of the default alphabet.
    One(u8),
    /// A code of the extension table; sent as `0x1B` then this code.
    Escaped(u8),
}

impl Septets {
    /// Number of septets this character occupies (1 or 2).
    pub const fn width(self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Escaped(_) => 2,
        }
    }
}

/// Default alphabet, code -> char. Index 0x1B (ESC) holds a placeholder that is
/// never returned (see [`septet_to_char`]).
const BASIC: [char; 128] = [
    // 0x00
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00E8}', '\u{00E9}', '\u{00F9}', '\u{00EC}', '\u{00F2}',
    '\u{00C7}', '\n', '\u{00D8}', '\u{00F8}', '\r', '\u{00C5}', '\u{00E5}',
    // 0x10
    '\u{0394}', '_', '\u{03A6}', '\u{0393}', '\u{039B}', '\u{03A9}', '\u{03A0}', '\u{03A8}',
    '\u{03A3}', '\u{0398}', '\u{039E}', '\u{001B}', '\u{00C6}', '\u{00E6}', '\u{00DF}', '\u{00C9}',
    // 0x20
    ' ', '!', '"', '#', '\u{00A4}', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    // 0x30
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    // 0x40
    '\u{00A1}', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    // 0x50
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '\u{00C4}', '\u{00D6}', '\u{00D1}',
    '\u{00DC}', '\u{00A7}', // 0x60
    '\u{00BF}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    // 0x70
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '\u{00E4}', '\u{00F6}', '\u{00F1}',
    '\u{00FC}', '\u{00E0}',
];

/// Extension table: (code, char).
const EXT: [(u8, char); 10] = [
    (0x0A, '\u{000C}'), // form feed
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '\u{20AC}'), // euro sign
];

/// Marker in [`ASCII_TO_GSM`] for "not encodable".
const NONE: u8 = 0xFF;
/// Flag in [`ASCII_TO_GSM`] for "extension-table code".
const EXT_FLAG: u8 = 0x80;

/// ASCII char -> code (or `EXT_FLAG | code`, or `NONE`), built at compile time
/// from the two tables above so they cannot drift apart.
const ASCII_TO_GSM: [u8; 128] = build_ascii_table();

// Evaluated at compile time only: an out-of-range index would be a build error,
// not a runtime panic.
#[allow(clippy::indexing_slicing)]
const fn build_ascii_table() -> [u8; 128] {
    let mut t = [NONE; 128];
    let mut code = 0;
    while code < 128 {
        let c = BASIC[code] as u32;
        if c < 128 && code != ESC as usize {
            t[c as usize] = code as u8;
        }
        code += 1;
    }
    let mut i = 0;
    while i < EXT.len() {
        let (code, ch) = EXT[i];
        let c = ch as u32;
        if c < 128 {
            t[c as usize] = EXT_FLAG | code;
        }
        i += 1;
    }
    t
}

/// Maps a character to its GSM 7-bit representation, `None` if it has none.
#[inline]
pub fn char_to_septets(c: char) -> Option<Septets> {
    if c.is_ascii() {
        let v = ASCII_TO_GSM.get(c as usize).copied().unwrap_or(NONE);
        return match v {
            NONE => None,
            v if v & EXT_FLAG != 0 => Some(Septets::Escaped(v & !EXT_FLAG)),
            v => Some(Septets::One(v)),
        };
    }
    let code = match c {
        '\u{00A3}' => 0x01,                                // £
        '\u{00A5}' => 0x03,                                // ¥
        '\u{00E8}' => 0x04,                                // è
        '\u{00E9}' => 0x05,                                // é
        '\u{00F9}' => 0x06,                                // ù
        '\u{00EC}' => 0x07,                                // ì
        '\u{00F2}' => 0x08,                                // ò
        '\u{00C7}' => 0x09,                                // Ç
        '\u{00D8}' => 0x0B,                                // Ø
        '\u{00F8}' => 0x0C,                                // ø
        '\u{00C5}' => 0x0E,                                // Å
        '\u{00E5}' => 0x0F,                                // å
        '\u{0394}' => 0x10,                                // Δ
        '\u{03A6}' => 0x12,                                // Φ
        '\u{0393}' => 0x13,                                // Γ
        '\u{039B}' => 0x14,                                // Λ
        '\u{03A9}' => 0x15,                                // Ω
        '\u{03A0}' => 0x16,                                // Π
        '\u{03A8}' => 0x17,                                // Ψ
        '\u{03A3}' => 0x18,                                // Σ
        '\u{0398}' => 0x19,                                // Θ
        '\u{039E}' => 0x1A,                                // Ξ
        '\u{00C6}' => 0x1C,                                // Æ
        '\u{00E6}' => 0x1D,                                // æ
        '\u{00DF}' => 0x1E,                                // ß
        '\u{00C9}' => 0x1F,                                // É
        '\u{00A4}' => 0x24,                                // ¤
        '\u{00A1}' => 0x40,                                // ¡
        '\u{00C4}' => 0x5B,                                // Ä
        '\u{00D6}' => 0x5C,                                // Ö
        '\u{00D1}' => 0x5D,                                // Ñ
        '\u{00DC}' => 0x5E,                                // Ü
        '\u{00A7}' => 0x5F,                                // §
        '\u{00BF}' => 0x60,                                // ¿
        '\u{00E4}' => 0x7B,                                // ä
        '\u{00F6}' => 0x7C,                                // ö
        '\u{00F1}' => 0x7D,                                // ñ
        '\u{00FC}' => 0x7E,                                // ü
        '\u{00E0}' => 0x7F,                                // à
        '\u{20AC}' => return Some(Septets::Escaped(0x65)), // €
        _ => return None,
    };
    Some(Septets::One(code))
}

/// Default-alphabet code -> char. `None` for `ESC` (it is not a character) and
/// for values >= 0x80.
#[inline]
pub fn septet_to_char(s: u8) -> Option<char> {
    if s == ESC {
        return None;
    }
    BASIC.get(usize::from(s)).copied()
}

/// Extension-table code (the septet after `ESC`) -> char; `None` if unassigned.
#[inline]
pub fn ext_to_char(code: u8) -> Option<char> {
    EXT.iter().find(|&&(c, _)| c == code).map(|&(_, ch)| ch)
}

/// Encodes `s` one septet per octet into `out`; returns the octets written.
pub fn encode_unpacked(s: &str, out: &mut [u8]) -> Result<usize, Gsm7Error> {
    let mut slots = out.iter_mut();
    let mut n = 0usize;
    for (index, c) in s.char_indices() {
        let sep = char_to_septets(c).ok_or(Gsm7Error::Unencodable { index })?;
        match sep {
            Septets::One(v) => {
                *slots.next().ok_or(Gsm7Error::OutputTooSmall)? = v;
            }
            Septets::Escaped(v) => {
                *slots.next().ok_or(Gsm7Error::OutputTooSmall)? = ESC;
                *slots.next().ok_or(Gsm7Error::OutputTooSmall)? = v;
            }
        }
        n += sep.width();
    }
    Ok(n)
}

/// Convenience: encodes `s` unpacked into a new `Vec` (clients and tests).
pub fn encode_unpacked_to_vec(s: &str) -> Result<Vec<u8>, Gsm7Error> {
    let len = septet_len(s).ok_or_else(|| Gsm7Error::Unencodable {
        index: first_unencodable(s).unwrap_or(0),
    })?;
    let mut v = vec![0u8; len];
    let n = encode_unpacked(s, &mut v)?;
    v.truncate(n);
    Ok(v)
}

fn first_unencodable(s: &str) -> Option<usize> {
    s.char_indices()
        .find(|&(_, c)| char_to_septets(c).is_none())
        .map(|(i, _)| i)
}

/// Number of septets `s` needs (extension characters count 2); `None` if any
/// character is not encodable, which is the cue to fall back to UCS2.
pub fn septet_len(s: &str) -> Option<usize> {
    s.chars()
        .try_fold(0usize, |acc, c| Some(acc + char_to_septets(c)?.width()))
}

/// Checks that `data` is unpacked GSM 7-bit (every octet < 0x80) and returns
/// the septet count. `ESC` + unknown code and a trailing `ESC` are tolerated:
/// 23.038 says to show the basic character, and handsets do send them.
pub fn validate_unpacked(data: &[u8]) -> Result<usize, Gsm7Error> {
    // OR whole chunks together first: branch-free and auto-vectorised; only
    // look for the offending index once a chunk fails.
    const CHUNK: usize = 32;
    let mut chunks = data.chunks_exact(CHUNK);
    let mut base = 0usize;
    for chunk in &mut chunks {
        if chunk.iter().fold(0u8, |a, &b| a | b) & 0x80 != 0 {
            return Err(first_high_bit(chunk, base));
        }
        base += CHUNK;
    }
    let rest = chunks.remainder();
    if rest.iter().fold(0u8, |a, &b| a | b) & 0x80 != 0 {
        return Err(first_high_bit(rest, base));
    }
    Ok(data.len())
}

fn first_high_bit(chunk: &[u8], base: usize) -> Gsm7Error {
    let off = chunk.iter().position(|&b| b & 0x80 != 0).unwrap_or(0);
    Gsm7Error::InvalidSeptet { index: base + off }
}

/// Characters in valid unpacked data, counted the way [`decode_unpacked_to_string`]
/// decodes: an escape pair is one character, a trailing `ESC` is none.
pub fn count_chars_unpacked(data: &[u8]) -> usize {
    let mut chars = 0usize;
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b == ESC {
            if it.next().is_some() {
                chars += 1;
            }
        } else {
            chars += 1;
        }
    }
    chars
}

/// Decodes unpacked septets to a `String` (clients and tests).
///
/// `ESC ESC` decodes as a space and `ESC` + unknown code as the basic character
/// (both per 23.038 §6.2.1.1); a trailing lone `ESC` is dropped.
pub fn decode_unpacked_to_string(data: &[u8]) -> Result<String, Gsm7Error> {
    validate_unpacked(data)?;
    let mut s = String::with_capacity(data.len());
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b == ESC {
            let Some(&code) = it.next() else { break };
            let c = match ext_to_char(code) {
                Some(c) => c,
                None if code == ESC => ' ',
                None => septet_to_char(code).unwrap_or(' '),
            };
            s.push(c);
        } else if let Some(c) = septet_to_char(b) {
            s.push(c);
        }
    }
    Ok(s)
}

/// Octets needed to pack `septets` septets, `None` on overflow.
#[inline]
pub fn packed_len(septets: usize) -> Option<usize> {
    Some(septets.checked_mul(7)?.div_ceil(8))
}

/// Packs septets LSB first (GSM 03.38 §6.1.2.1.1); returns octets written.
/// Spare bits of the last octet are zero; the receiver knows the septet count.
pub fn pack(septets: &[u8], out: &mut [u8]) -> Result<usize, Gsm7Error> {
    let needed = packed_len(septets.len()).ok_or(Gsm7Error::OutputTooSmall)?;
    let out = out.get_mut(..needed).ok_or(Gsm7Error::OutputTooSmall)?;
    let mut slots = out.iter_mut();
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for (index, &s) in septets.iter().enumerate() {
        if s & 0x80 != 0 {
            return Err(Gsm7Error::InvalidSeptet { index });
        }
        acc |= u32::from(s) << bits;
        bits += 7;
        if bits >= 8 {
            if let Some(slot) = slots.next() {
                *slot = (acc & 0xFF) as u8;
            }
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        if let Some(slot) = slots.next() {
            *slot = (acc & 0xFF) as u8;
        }
    }
    Ok(needed)
}

/// Unpacks `septet_count` septets from `packed` into `out` (one per octet);
/// returns `septet_count`. Extra trailing octets in `packed` are ignored.
pub fn unpack(packed: &[u8], septet_count: usize, out: &mut [u8]) -> Result<usize, Gsm7Error> {
    let needed = packed_len(septet_count).ok_or(Gsm7Error::PackedTooShort)?;
    if packed.len() < needed {
        return Err(Gsm7Error::PackedTooShort);
    }
    let out = out
        .get_mut(..septet_count)
        .ok_or(Gsm7Error::OutputTooSmall)?;
    let mut src = packed.iter();
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for slot in out.iter_mut() {
        if bits < 7 {
            acc |= u32::from(src.next().copied().unwrap_or(0)) << bits;
            bits += 8;
        }
        *slot = (acc & 0x7F) as u8;
        acc >>= 7;
        bits -= 7;
    }
    Ok(septet_count)
}

/// Segments needed for `septets` septets: 1 up to 160, else 153 per part
/// (152 with a 16-bit-reference UDH). Informational: an escape pair that would
/// straddle a boundary can add a part, see [`split_points`] for the exact split.
pub fn segments(septets: usize, udh_ref16: bool) -> usize {
    if septets <= SINGLE_SEPTETS {
        return 1;
    }
    let per = if udh_ref16 {
        PART_SEPTETS_REF16
    } else {
        PART_SEPTETS
    };
    septets.div_ceil(per)
}

/// Splits unpacked septets into consecutive `(start, end)` ranges of at most
/// `per_part` septets, never separating `ESC` from its code (a split pair shows
/// garbage on handsets). `per_part` below 2 is treated as 2 so that progress is
/// always possible. Empty input yields no ranges.
pub fn split_points(septets: &[u8], per_part: usize) -> SplitPoints<'_> {
    SplitPoints {
        data: septets,
        pos: 0,
        per_part: per_part.max(2),
    }
}

/// Iterator returned by [`split_points`].
#[derive(Debug, Clone)]
pub struct SplitPoints<'a> {
    data: &'a [u8],
    pos: usize,
    per_part: usize,
}

impl Iterator for SplitPoints<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        let rest = self.data.get(start..).filter(|r| !r.is_empty())?;
        let limit = self.per_part.min(rest.len());
        // Walk whole characters so an escape pair is never cut.
        let mut i = 0usize;
        let mut it = rest.iter();
        while let Some(&b) = it.next() {
            let w = if b == ESC && it.next().is_some() {
                2
            } else {
                1
            };
            if i + w > limit {
                break;
            }
            i += w;
        }
        let end = start + i;
        self.pos = end;
        Some((start, end))
    }
}

#[cfg(test)]
mod tests;
