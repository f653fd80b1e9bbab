//! UCS2 as carried by `data_coding` 8: big-endian 16-bit units.
//!
//! In practice peers send UTF-16BE (surrogate pairs for emoji), so we count and
//! split in 16-bit units and never cut a surrogate pair (linxGnu/gosmpp #167).
//! Plain [`validate`] only rejects an odd length: handsets send lone surrogates
//! and the SMSC should pass them through, not bounce the message.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// 16-bit units in a single, unsegmented message.
pub const SINGLE_UNITS: usize = 70;
/// Units per part with an 8-bit-reference concatenation UDH.
pub const PART_UNITS: usize = 67;
/// Units per part with a 16-bit-reference concatenation UDH.
pub const PART_UNITS_REF16: usize = 66;

/// Errors from UCS2 encoding and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ucs2Error {
    /// The data is not a whole number of 16-bit units.
    OddLength { len: usize },
    /// Unpaired surrogate starting at byte offset `index` (strict validation only).
    LoneSurrogate { index: usize },
    /// The output buffer cannot hold the result.
    OutputTooSmall,
}

impl core::fmt::Display for Ucs2Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::OddLength { len } => write!(f, "UCS2 data has odd length {len}"),
            Self::LoneSurrogate { index } => write!(f, "lone surrogate at byte {index}"),
            Self::OutputTooSmall => f.write_str("output buffer too small"),
        }
    }
}

impl std::error::Error for Ucs2Error {}

/// Counts from [`validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ucs2Info {
    /// 16-bit units (what segment limits are measured in).
    pub units: usize,
    /// Characters: a valid surrogate pair is one, a lone surrogate is one.
    pub chars: usize,
}

#[inline]
fn is_high(u: u16) -> bool {
    (0xD800..=0xDBFF).contains(&u)
}

#[inline]
fn is_low(u: u16) -> bool {
    (0xDC00..=0xDFFF).contains(&u)
}

/// Big-endian 16-bit units of `data` (a trailing odd octet is ignored).
#[inline]
fn units(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2).map(|p| match *p {
        [a, b] => u16::from_be_bytes([a, b]),
        _ => 0,
    })
}

/// Encodes `s` as UTF-16BE into `out`; returns octets written.
pub fn encode(s: &str, out: &mut [u8]) -> Result<usize, Ucs2Error> {
    let mut slots = out.chunks_exact_mut(2);
    let mut n = 0usize;
    for u in s.encode_utf16() {
        let slot = slots.next().ok_or(Ucs2Error::OutputTooSmall)?;
        for (dst, src) in slot.iter_mut().zip(u.to_be_bytes()) {
            *dst = src;
        }
        n += 2;
    }
    Ok(n)
}

/// Convenience: UTF-16BE of `s` in a new `Vec` (clients and tests).
pub fn encode_to_vec(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Octets that [`encode`] writes for `s`.
pub fn encoded_len(s: &str) -> usize {
    s.chars().map(|c| c.len_utf16() * 2).sum()
}

/// Checks the length is even and counts units and characters. Lone surrogates
/// are counted as one character each and are not an error here.
pub fn validate(data: &[u8]) -> Result<Ucs2Info, Ucs2Error> {
    scan(data, false)
}

/// Like [`validate`] but also rejects unpaired surrogates.
pub fn validate_strict(data: &[u8]) -> Result<Ucs2Info, Ucs2Error> {
    scan(data, true)
}

fn scan(data: &[u8], strict: bool) -> Result<Ucs2Info, Ucs2Error> {
    if data.len() % 2 != 0 {
        return Err(Ucs2Error::OddLength { len: data.len() });
    }
    let n_units = data.len() / 2;
    let mut pairs = 0usize;
    let mut it = units(data).enumerate().peekable();
    while let Some((i, u)) = it.next() {
        if is_high(u) {
            if it.next_if(|&(_, next)| is_low(next)).is_some() {
                pairs += 1;
            } else if strict {
                return Err(Ucs2Error::LoneSurrogate { index: i * 2 });
            }
        } else if strict && is_low(u) {
            return Err(Ucs2Error::LoneSurrogate { index: i * 2 });
        }
    }
    Ok(Ucs2Info {
        units: n_units,
        chars: n_units - pairs,
    })
}

/// Decodes UTF-16BE to a `String`, lone surrogates becoming U+FFFD (clients
/// and tests).
pub fn decode_to_string(data: &[u8]) -> Result<String, Ucs2Error> {
    if data.len() % 2 != 0 {
        return Err(Ucs2Error::OddLength { len: data.len() });
    }
    Ok(char::decode_utf16(units(data))
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Segments needed for `units` 16-bit units: 1 up to 70, else 67 per part.
/// Informational: a surrogate pair at a boundary can add a part.
pub fn segments(units: usize) -> usize {
    if units <= SINGLE_UNITS {
        1
    } else {
        units.div_ceil(PART_UNITS)
    }
}

/// Splits UTF-16BE `data` into consecutive **byte** ranges `(start, end)` of at
/// most `per_part` units each, never separating a high surrogate from the low
/// surrogate after it. `per_part` below 2 is treated as 2. A trailing odd octet
/// (invalid input) is kept in the last range so nothing is lost.
pub fn split_points(data: &[u8], per_part: usize) -> SplitPoints<'_> {
    SplitPoints {
        data,
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
        let mut taken = 0usize; // units
        let mut it = units(rest).peekable();
        while let Some(u) = it.next() {
            let w = if is_high(u) && it.next_if(|&n| is_low(n)).is_some() {
                2
            } else {
                1
            };
            if taken + w > self.per_part {
                break;
            }
            taken += w;
        }
        let mut end = start + taken * 2;
        if end + 1 == self.data.len() {
            end += 1; // odd trailing octet
        }
        self.pos = end;
        Some((start, end))
    }
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

    #[test]
    fn encode_hand_written() {
        let mut out = [0u8; 16];
        // 'H' U+0048, 'é' U+00E9, '€' U+20AC, '😀' U+1F600 = D83D DE00.
        let n = encode("Hé€😀", &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[0x00, 0x48, 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00]
        );
        assert_eq!(encoded_len("Hé€😀"), 10);
        assert_eq!(encode_to_vec("Hé€😀"), out[..10].to_vec());
        assert_eq!(encode("", &mut []), Ok(0));
    }

    #[test]
    fn encode_output_too_small() {
        let mut out = [0u8; 5];
        assert_eq!(encode("abc", &mut out), Err(Ucs2Error::OutputTooSmall));
        let mut out = [0u8; 2];
        assert_eq!(encode("😀", &mut out), Err(Ucs2Error::OutputTooSmall));
    }

    #[test]
    fn validate_counts_pairs_and_tolerates_lone() {
        let pair = [0xD8, 0x3D, 0xDE, 0x00];
        assert_eq!(validate(&pair), Ok(Ucs2Info { units: 2, chars: 1 }));
        assert_eq!(validate(&[]), Ok(Ucs2Info { units: 0, chars: 0 }));
        // lone high, lone low, reversed pair: all counted, no error.
        let odd = [0xD8, 0x3D, 0x00, 0x41, 0xDE, 0x00, 0xDE, 0x00, 0xD8, 0x3D];
        assert_eq!(validate(&odd), Ok(Ucs2Info { units: 5, chars: 5 }));
        assert_eq!(
            validate(&[0x00, 0x41, 0x00]),
            Err(Ucs2Error::OddLength { len: 3 })
        );
        assert_eq!(validate(&[0x00]), Err(Ucs2Error::OddLength { len: 1 }));
    }

    #[test]
    fn validate_strict_rejects_lone() {
        assert_eq!(
            validate_strict(&[0x00, 0x41, 0xD8, 0x3D]),
            Err(Ucs2Error::LoneSurrogate { index: 2 })
        );
        assert_eq!(
            validate_strict(&[0xDE, 0x00, 0x00, 0x41]),
            Err(Ucs2Error::LoneSurrogate { index: 0 })
        );
        assert_eq!(
            validate_strict(&[0xD8, 0x3D, 0x00, 0x41]),
            Err(Ucs2Error::LoneSurrogate { index: 0 })
        );
        assert_eq!(
            validate_strict(&[0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]),
            Ok(Ucs2Info { units: 3, chars: 2 })
        );
        assert_eq!(
            validate_strict(&[0x00]),
            Err(Ucs2Error::OddLength { len: 1 })
        );
    }

    #[test]
    fn decode_cases() {
        assert_eq!(
            decode_to_string(&[0x04, 0x1F, 0x04, 0x40, 0x04, 0x38]).unwrap(),
            "При"
        );
        assert_eq!(
            decode_to_string(&[0xD8, 0x3D, 0xDE, 0x00, 0x00, 0x21]).unwrap(),
            "😀!"
        );
        assert_eq!(
            decode_to_string(&[0xD8, 0x3D, 0x00, 0x41]).unwrap(),
            "\u{FFFD}A"
        );
        assert_eq!(
            decode_to_string(&[0x00]),
            Err(Ucs2Error::OddLength { len: 1 })
        );
        let s = "mixed ascii, кириллица, 中文, and 🎉🎉";
        assert_eq!(decode_to_string(&encode_to_vec(s)).unwrap(), s);
    }

    #[test]
    fn segment_counts() {
        assert_eq!(segments(0), 1);
        assert_eq!(segments(70), 1);
        assert_eq!(segments(71), 2);
        assert_eq!(segments(134), 2);
        assert_eq!(segments(135), 3);
    }

    #[test]
    fn split_never_breaks_surrogate_pair() {
        // 66 'a' units then an emoji (2 units): the pair would straddle 67.
        let mut s = "a".repeat(66);
        s.push('😀');
        s.push('b');
        let v = encode_to_vec(&s);
        let parts: Vec<_> = split_points(&v, 67).collect();
        assert_eq!(parts, vec![(0, 132), (132, 138)]);
        for (a, b) in &parts {
            assert!(validate_strict(&v[*a..*b]).is_ok());
        }
        // Lone high surrogate before a normal unit is one unit.
        let lone = [0xD8, 0x3D, 0x00, 0x41, 0x00, 0x42];
        assert_eq!(
            split_points(&lone, 2).collect::<Vec<_>>(),
            vec![(0, 4), (4, 6)]
        );
        // Odd trailing octet goes into the last range.
        assert_eq!(
            split_points(&[0x00, 0x41, 0x00], 67).collect::<Vec<_>>(),
            vec![(0, 3)]
        );
        assert_eq!(split_points(&[0x00], 67).collect::<Vec<_>>(), vec![(0, 1)]);
        assert_eq!(split_points(&[], 67).count(), 0);
        // per_part 0 still terminates.
        assert_eq!(
            split_points(&[0xD8, 0x3D, 0xDE, 0x00], 0).collect::<Vec<_>>(),
            vec![(0, 4)]
        );
    }

    #[test]
    fn split_round_trips_text() {
        let s = "😀x".repeat(100);
        let v = encode_to_vec(&s);
        let mut joined = String::new();
        let mut prev = 0;
        for (a, b) in split_points(&v, 67) {
            assert_eq!(a, prev);
            assert!((b - a) / 2 <= 67);
            joined.push_str(&decode_to_string(&v[a..b]).unwrap());
            assert!(!decode_to_string(&v[a..b]).unwrap().contains('\u{FFFD}'));
            prev = b;
        }
        assert_eq!(prev, v.len());
        assert_eq!(joined, s);
    }
}
