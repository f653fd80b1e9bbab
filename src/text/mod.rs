//! Text encodings used in SMS (smpp34.md §11, §16).
//!
//! `data_coding` picks an [`Encoding`]; [`validate_content`] checks a
//! `short_message` body (after any UDH) against it and counts characters and
//! air-interface segments without allocating. The submodules hold the codecs.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod gsm7;
pub mod latin1;
pub mod ucs2;
pub mod udh;

pub use gsm7::{Gsm7Error, Septets};
pub use latin1::Latin1Error;
pub use ucs2::{Ucs2Error, Ucs2Info};
pub use udh::{Concat, Ie, Udh, UdhError};

/// How the octets of a message body are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GSM 03.38 default alphabet, unpacked (one septet per octet).
    Gsm7,
    /// IA5 / ASCII (`data_coding` 1).
    Ascii,
    /// ISO-8859-1 (`data_coding` 3).
    Latin1,
    /// Octet-unspecified 8-bit data.
    Binary,
    /// UCS2 / UTF-16BE (`data_coding` 8).
    Ucs2,
    /// Anything else (JIS, Cyrillic, Hebrew, reserved, ...): passed through as 8-bit.
    Other(u8),
}

impl Encoding {
    /// Maps a `data_coding` value. `0x00` has no fixed meaning (GSM 7-bit or
    /// Latin-1 depending on the SMSC), so the caller says per account what it is.
    #[inline]
    pub fn from_data_coding(dc: u8, zero_means: Encoding) -> Encoding {
        match dc {
            0x00 => zero_means,
            0x01 => Encoding::Ascii,
            0x02 | 0x04 => Encoding::Binary,
            0x03 => Encoding::Latin1,
            0x08 => Encoding::Ucs2,
            // GSM MWI groups (discard / store): default alphabet.
            0xC0..=0xDF => Encoding::Gsm7,
            // GSM MWI store group with UCS2.
            0xE0..=0xEF => Encoding::Ucs2,
            // Data coding / message class group: bit 2 selects 8-bit data.
            0xF0..=0xFF if dc & 0x04 != 0 => Encoding::Binary,
            0xF0..=0xFF => Encoding::Gsm7,
            other => Encoding::Other(other),
        }
    }
}

/// What [`validate_content`] found. `segments` is informational (how many air
/// parts the text would need if sent alone without a UDH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Content {
    pub chars: usize,
    pub segments: usize,
}

/// Why a body does not match its `data_coding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentError {
    /// IA5/ASCII body with an octet >= 0x80 at `index`.
    NotAscii {
        index: usize,
    },
    Gsm7(Gsm7Error),
    Ucs2(Ucs2Error),
}

impl core::fmt::Display for ContentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::NotAscii { index } => write!(f, "octet {index} is not ASCII"),
            Self::Gsm7(e) => write!(f, "GSM 7-bit: {e}"),
            Self::Ucs2(e) => write!(f, "UCS2: {e}"),
        }
    }
}

impl std::error::Error for ContentError {}

impl From<Gsm7Error> for ContentError {
    fn from(e: Gsm7Error) -> Self {
        Self::Gsm7(e)
    }
}

impl From<Ucs2Error> for ContentError {
    fn from(e: Ucs2Error) -> Self {
        Self::Ucs2(e)
    }
}

/// Checks a message body against its encoding and counts characters and
/// segments. Hot path: no allocation. Pass the body *after* any UDH.
///
/// - Gsm7: every octet < 0x80 (unpacked); escape pairs count as one char, two septets.
/// - Ascii: every octet < 0x80; segmented like 7-bit text (160/153).
/// - Ucs2: even length (lone surrogates tolerated); 70/67 units.
/// - Latin1, Binary, Other: any octets; 140/134 octets.
pub fn validate_content(enc: Encoding, data: &[u8]) -> Result<Content, ContentError> {
    match enc {
        Encoding::Gsm7 => {
            let septets = gsm7::validate_unpacked(data)?;
            Ok(Content {
                chars: gsm7::count_chars_unpacked(data),
                segments: gsm7::segments(septets, false),
            })
        }
        Encoding::Ascii => match gsm7::validate_unpacked(data) {
            Ok(n) => Ok(Content {
                chars: n,
                segments: gsm7::segments(n, false),
            }),
            Err(Gsm7Error::InvalidSeptet { index }) => Err(ContentError::NotAscii { index }),
            Err(e) => Err(ContentError::Gsm7(e)),
        },
        Encoding::Ucs2 => {
            let info = ucs2::validate(data)?;
            Ok(Content {
                chars: info.chars,
                segments: ucs2::segments(info.units),
            })
        }
        Encoding::Latin1 | Encoding::Binary | Encoding::Other(_) => Ok(Content {
            chars: data.len(),
            segments: latin1::segments(data.len()),
        }),
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
    fn data_coding_map() {
        let from_data_coding = Encoding::from_data_coding;
        use Encoding::*;
        assert_eq!(Encoding::from_data_coding(0, Gsm7), Gsm7);
        assert_eq!(Encoding::from_data_coding(0, Latin1), Latin1);
        assert_eq!(from_data_coding(1, Gsm7), Ascii);
        assert_eq!(from_data_coding(2, Gsm7), Binary);
        assert_eq!(from_data_coding(3, Gsm7), Latin1);
        assert_eq!(from_data_coding(4, Gsm7), Binary);
        assert_eq!(from_data_coding(5, Gsm7), Other(5));
        assert_eq!(from_data_coding(6, Gsm7), Other(6));
        assert_eq!(from_data_coding(8, Gsm7), Ucs2);
        assert_eq!(from_data_coding(0x0F, Gsm7), Other(0x0F));
        assert_eq!(from_data_coding(0xBF, Gsm7), Other(0xBF));
        assert_eq!(from_data_coding(0xC0, Binary), Gsm7);
        assert_eq!(from_data_coding(0xDF, Binary), Gsm7);
        assert_eq!(from_data_coding(0xE0, Gsm7), Ucs2);
        assert_eq!(from_data_coding(0xEF, Gsm7), Ucs2);
        assert_eq!(from_data_coding(0xF0, Binary), Gsm7);
        assert_eq!(from_data_coding(0xF1, Binary), Gsm7);
        assert_eq!(from_data_coding(0xF4, Gsm7), Binary);
        assert_eq!(from_data_coding(0xF5, Gsm7), Binary);
        assert_eq!(from_data_coding(0xFB, Binary), Gsm7);
        assert_eq!(from_data_coding(0xFF, Gsm7), Binary);
    }

    #[test]
    fn content_gsm7() {
        // "Hi€": H i ESC 0x65 -> 3 chars, 4 septets.
        let c = validate_content(Encoding::Gsm7, &[0x48, 0x69, 0x1B, 0x65]).unwrap();
        assert_eq!(
            c,
            Content {
                chars: 3,
                segments: 1
            }
        );
        let long = [b'a'; 161];
        assert_eq!(validate_content(Encoding::Gsm7, &long).unwrap().segments, 2);
        assert_eq!(
            validate_content(Encoding::Gsm7, &[0x41, 0xE9]),
            Err(ContentError::Gsm7(Gsm7Error::InvalidSeptet { index: 1 }))
        );
        assert_eq!(
            validate_content(Encoding::Gsm7, &[]).unwrap(),
            Content {
                chars: 0,
                segments: 1
            }
        );
    }

    #[test]
    fn content_ascii() {
        assert_eq!(
            validate_content(Encoding::Ascii, b"plain {text}").unwrap(),
            Content {
                chars: 12,
                segments: 1
            }
        );
        assert_eq!(
            validate_content(Encoding::Ascii, b"caf\xE9"),
            Err(ContentError::NotAscii { index: 3 })
        );
    }

    #[test]
    fn content_ucs2() {
        let c = validate_content(Encoding::Ucs2, &[0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]).unwrap();
        assert_eq!(
            c,
            Content {
                chars: 2,
                segments: 1
            }
        );
        assert_eq!(
            validate_content(Encoding::Ucs2, &[0x00, 0x41, 0x00]),
            Err(ContentError::Ucs2(Ucs2Error::OddLength { len: 3 }))
        );
        // 71 units -> 2 segments.
        assert_eq!(
            validate_content(Encoding::Ucs2, &[0u8; 142])
                .unwrap()
                .segments,
            2
        );
        // Lone surrogate is tolerated.
        assert!(validate_content(Encoding::Ucs2, &[0xD8, 0x00]).is_ok());
    }

    #[test]
    fn content_octets() {
        let data = [0xFFu8; 141];
        for enc in [Encoding::Latin1, Encoding::Binary, Encoding::Other(6)] {
            assert_eq!(
                validate_content(enc, &data).unwrap(),
                Content {
                    chars: 141,
                    segments: 2
                }
            );
            assert_eq!(validate_content(enc, &data[..140]).unwrap().segments, 1);
        }
    }
}
