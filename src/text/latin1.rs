//! ISO-8859-1 (`data_coding` 3): one octet per character, U+0000..=U+00FF.
//!
//! Every octet is a valid Latin-1 character, so there is nothing to validate on
//! the server; segments are counted as 8-bit data (140 / 134 octets).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// Octets in a single, unsegmented 8-bit message.
pub const SINGLE_OCTETS: usize = 140;
/// Octets per part with an 8-bit-reference concatenation UDH (6 octets).
pub const PART_OCTETS: usize = 134;
/// Octets per part with a 16-bit-reference concatenation UDH (7 octets).
pub const PART_OCTETS_REF16: usize = 133;

/// Errors from Latin-1 encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latin1Error {
    /// The character at byte offset `index` of the input is above U+00FF.
    Unencodable { index: usize },
    /// The output buffer cannot hold the result.
    OutputTooSmall,
}

impl core::fmt::Display for Latin1Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Unencodable { index } => write!(f, "character at byte {index} is not Latin-1"),
            Self::OutputTooSmall => f.write_str("output buffer too small"),
        }
    }
}

impl std::error::Error for Latin1Error {}

/// Encodes `s` as ISO-8859-1 into `out`; returns octets written.
pub fn encode(s: &str, out: &mut [u8]) -> Result<usize, Latin1Error> {
    let mut slots = out.iter_mut();
    let mut n = 0usize;
    for (index, c) in s.char_indices() {
        let b = u8::try_from(u32::from(c)).map_err(|_| Latin1Error::Unencodable { index })?;
        *slots.next().ok_or(Latin1Error::OutputTooSmall)? = b;
        n += 1;
    }
    Ok(n)
}

/// Decodes ISO-8859-1 to a `String`; cannot fail (clients and tests).
pub fn decode_to_string(data: &[u8]) -> String {
    data.iter().map(|&b| char::from(b)).collect()
}

/// Segments needed for `octets` octets of 8-bit data: 1 up to 140, else 134 per part.
pub fn segments(octets: usize) -> usize {
    if octets <= SINGLE_OCTETS {
        1
    } else {
        octets.div_ceil(PART_OCTETS)
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
        let mut out = [0u8; 8];
        let n = encode("Aé£ÿ\u{0}", &mut out).unwrap();
        assert_eq!(&out[..n], &[0x41, 0xE9, 0xA3, 0xFF, 0x00]);
    }

    #[test]
    fn encode_errors() {
        let mut out = [0u8; 8];
        assert_eq!(
            encode("ab€", &mut out),
            Err(Latin1Error::Unencodable { index: 2 })
        );
        assert_eq!(
            encode("é\u{100}", &mut out),
            Err(Latin1Error::Unencodable { index: 2 })
        );
        let mut small = [0u8; 2];
        assert_eq!(encode("abc", &mut small), Err(Latin1Error::OutputTooSmall));
        assert_eq!(encode("", &mut []), Ok(0));
    }

    #[test]
    fn decode_all_octets_round_trip() {
        let all: Vec<u8> = (0..=255u8).collect();
        let s = decode_to_string(&all);
        assert_eq!(s.chars().count(), 256);
        assert_eq!(s.chars().nth(0xE9), Some('é'));
        let mut out = [0u8; 256];
        assert_eq!(encode(&s, &mut out), Ok(256));
        assert_eq!(out.to_vec(), all);
    }

    #[test]
    fn segment_counts() {
        assert_eq!(segments(0), 1);
        assert_eq!(segments(140), 1);
        assert_eq!(segments(141), 2);
        assert_eq!(segments(268), 2);
        assert_eq!(segments(269), 3);
    }
}
