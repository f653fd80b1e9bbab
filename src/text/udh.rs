//! User Data Header (3GPP TS 23.040 §9.2.3.24) at the start of `short_message`
//! when esm_class has UDHI (0x40) set.
//!
//! Layout: `UDHL` octet, then `UDHL` octets of information elements, each
//! `IEI, IEDL, data[IEDL]`. Parsing borrows from the caller's buffer and never
//! allocates; all lengths come from the peer and are checked.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// IEI: concatenated short message, 8-bit reference.
pub const IEI_CONCAT8: u8 = 0x00;
/// IEI: concatenated short message, 16-bit reference.
pub const IEI_CONCAT16: u8 = 0x08;
/// IEI: application port addressing, 8-bit.
pub const IEI_PORT8: u8 = 0x04;
/// IEI: application port addressing, 16-bit.
pub const IEI_PORT16: u8 = 0x05;
/// IEI: national language single shift.
pub const IEI_NL_SINGLE_SHIFT: u8 = 0x24;
/// IEI: national language locking shift.
pub const IEI_NL_LOCKING_SHIFT: u8 = 0x25;

/// Octets of a whole UDH holding only an 8-bit-reference concat IE.
pub const CONCAT8_UDH_LEN: usize = 6;
/// Octets of a whole UDH holding only a 16-bit-reference concat IE.
pub const CONCAT16_UDH_LEN: usize = 7;

/// Errors from UDH parsing and building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdhError {
    /// Empty user data, or `1 + UDHL` exceeds it.
    Truncated,
    /// The information element `iei` runs past the end of the header.
    IeOverrun { iei: u8 },
    /// A concatenation IE with a wrong length, total 0, seq 0 or seq > total
    /// (23.040 says to ignore such an IE; we report it so the caller decides).
    BadConcat,
    /// The output buffer cannot hold the result.
    OutputTooSmall,
}

impl core::fmt::Display for UdhError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Truncated => f.write_str("UDH longer than user data"),
            Self::IeOverrun { iei } => write!(f, "UDH element {iei:#04x} overruns the header"),
            Self::BadConcat => f.write_str("invalid concatenation element"),
            Self::OutputTooSmall => f.write_str("output buffer too small"),
        }
    }
}

impl std::error::Error for UdhError {}

/// One information element, borrowed from the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ie<'a> {
    pub iei: u8,
    pub data: &'a [u8],
}

/// Concatenation info (IEI 0x00 or 0x08). `seq` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
    /// True for the 16-bit reference form (IEI 0x08).
    pub ref16: bool,
}

impl Concat {
    /// Reads a concat IE; `None` if `ie` is not one, `Err` if it is malformed.
    fn from_ie(ie: Ie<'_>) -> Option<Result<Self, UdhError>> {
        let (reference, total, seq, ref16) = match (ie.iei, ie.data) {
            (IEI_CONCAT8, &[r, t, s]) => (u16::from(r), t, s, false),
            (IEI_CONCAT16, &[r1, r2, t, s]) => (u16::from_be_bytes([r1, r2]), t, s, true),
            (IEI_CONCAT8 | IEI_CONCAT16, _) => return Some(Err(UdhError::BadConcat)),
            _ => return None,
        };
        let c = Self {
            reference,
            total,
            seq,
            ref16,
        };
        Some(if c.is_valid() {
            Ok(c)
        } else {
            Err(UdhError::BadConcat)
        })
    }

    fn is_valid(&self) -> bool {
        self.total != 0
            && self.seq != 0
            && self.seq <= self.total
            && (self.ref16 || self.reference <= 0xFF)
    }

    /// Octets of the whole UDH [`write_concat`] produces for this value.
    pub const fn udh_len(&self) -> usize {
        if self.ref16 {
            CONCAT16_UDH_LEN
        } else {
            CONCAT8_UDH_LEN
        }
    }
}

/// A parsed, validated UDH borrowed from the user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udh<'a> {
    /// `1 + UDHL`: where the message body starts.
    pub header_len: usize,
    /// The IE octets (without the UDHL octet).
    pub ies: &'a [u8],
}

impl<'a> Udh<'a> {
    /// Iterates the information elements in order.
    pub fn iter(&self) -> IeIter<'a> {
        IeIter { rest: self.ies }
    }

    /// The concatenation IE if any; the last one wins if repeated (23.040
    /// §9.2.3.24: "use the contents of the last occurrence").
    pub fn concat(&self) -> Option<Concat> {
        self.iter()
            .filter_map(|ie| Concat::from_ie(ie).and_then(Result::ok))
            .last()
    }

    /// The message body after the header; empty if `user_data` is shorter.
    pub fn body<'b>(&self, user_data: &'b [u8]) -> &'b [u8] {
        user_data.get(self.header_len..).unwrap_or(&[])
    }
}

impl<'a> IntoIterator for &Udh<'a> {
    type Item = Ie<'a>;
    type IntoIter = IeIter<'a>;

    fn into_iter(self) -> IeIter<'a> {
        self.iter()
    }
}

/// Iterator over the IEs of a [`Udh`]. Stops at the first malformed element
/// (cannot happen for a `Udh` from [`parse`]).
#[derive(Debug, Clone)]
pub struct IeIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for IeIter<'a> {
    type Item = Ie<'a>;

    fn next(&mut self) -> Option<Ie<'a>> {
        match next_ie(self.rest) {
            Some(Ok((ie, rest))) => {
                self.rest = rest;
                Some(ie)
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// Splits one IE off `ies`: `None` when empty, `Err` when it overruns.
fn next_ie(ies: &[u8]) -> Option<Result<(Ie<'_>, &[u8]), UdhError>> {
    let (&iei, after) = ies.split_first()?;
    let Some((&len, after)) = after.split_first() else {
        return Some(Err(UdhError::IeOverrun { iei }));
    };
    let len = usize::from(len);
    match (after.get(..len), after.get(len..)) {
        (Some(data), Some(rest)) => Some(Ok((Ie { iei, data }, rest))),
        _ => Some(Err(UdhError::IeOverrun { iei })),
    }
}

/// Parses the UDH at the start of `user_data` (call only when UDHI is set),
/// checking every length and validating concatenation IEs.
pub fn parse(user_data: &[u8]) -> Result<Udh<'_>, UdhError> {
    let (&udhl, after) = user_data.split_first().ok_or(UdhError::Truncated)?;
    let udhl = usize::from(udhl);
    let ies = after.get(..udhl).ok_or(UdhError::Truncated)?;
    let mut rest = ies;
    while let Some(r) = next_ie(rest) {
        let (ie, tail) = r?;
        if let Some(Err(e)) = Concat::from_ie(ie) {
            return Err(e);
        }
        rest = tail;
    }
    Ok(Udh {
        header_len: 1 + udhl,
        ies,
    })
}

/// Writes a complete UDH holding just the concat IE (`05 00 03 rr tt ss` or
/// `06 08 04 rr rr tt ss`); returns octets written. A reference above 0xFF
/// without `ref16` is `BadConcat` rather than silently truncated.
pub fn write_concat(c: Concat, out: &mut [u8]) -> Result<usize, UdhError> {
    if !c.is_valid() {
        return Err(UdhError::BadConcat);
    }
    let [r_hi, r_lo] = c.reference.to_be_bytes();
    let bytes: &[u8] = if c.ref16 {
        &[0x06, IEI_CONCAT16, 0x04, r_hi, r_lo, c.total, c.seq]
    } else {
        &[0x05, IEI_CONCAT8, 0x03, r_lo, c.total, c.seq]
    };
    let dst = out.get_mut(..bytes.len()).ok_or(UdhError::OutputTooSmall)?;
    for (d, s) in dst.iter_mut().zip(bytes) {
        *d = *s;
    }
    Ok(bytes.len())
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
    fn parse_concat8() {
        let ud = [0x05, 0x00, 0x03, 0xA7, 0x03, 0x02, b'h', b'i'];
        let udh = parse(&ud).unwrap();
        assert_eq!(udh.header_len, 6);
        assert_eq!(udh.ies, &[0x00, 0x03, 0xA7, 0x03, 0x02]);
        assert_eq!(
            udh.concat(),
            Some(Concat {
                reference: 0xA7,
                total: 3,
                seq: 2,
                ref16: false
            })
        );
        assert_eq!(udh.body(&ud), b"hi");
        let ies: Vec<_> = udh.iter().collect();
        assert_eq!(
            ies,
            vec![Ie {
                iei: 0x00,
                data: &[0xA7, 0x03, 0x02]
            }]
        );
    }

    #[test]
    fn parse_concat16_with_port() {
        // 16-bit port IE then 16-bit concat IE.
        let ud = [
            0x0C, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01, 0xAA,
        ];
        let udh = parse(&ud).unwrap();
        assert_eq!(udh.header_len, 13);
        assert_eq!(
            udh.concat(),
            Some(Concat {
                reference: 0x1234,
                total: 2,
                seq: 1,
                ref16: true
            })
        );
        let ies: Vec<_> = (&udh).into_iter().collect();
        assert_eq!(ies.len(), 2);
        assert_eq!(ies[0].iei, IEI_PORT16);
        assert_eq!(ies[0].data, &[0x0B, 0x84, 0x23, 0xF0]);
        assert_eq!(udh.body(&ud), &[0xAA]);
    }

    #[test]
    fn no_concat_and_empty_header() {
        let ud = [0x03, 0x24, 0x01, 0x01, b'x'];
        let udh = parse(&ud).unwrap();
        assert_eq!(udh.concat(), None);
        assert_eq!(udh.body(&ud), b"x");
        let ud = [0x00, b'y'];
        let udh = parse(&ud).unwrap();
        assert_eq!(udh.header_len, 1);
        assert_eq!(udh.iter().count(), 0);
        assert_eq!(udh.body(&ud), b"y");
        // Header exactly fills user data: empty body.
        let ud = [0x00];
        assert_eq!(parse(&ud).unwrap().body(&ud), b"");
    }

    #[test]
    fn last_concat_wins() {
        let ud = [
            0x0A, 0x00, 0x03, 0x01, 0x02, 0x01, 0x00, 0x03, 0x09, 0x04, 0x03,
        ];
        assert_eq!(
            parse(&ud).unwrap().concat(),
            Some(Concat {
                reference: 9,
                total: 4,
                seq: 3,
                ref16: false
            })
        );
    }

    #[test]
    fn hostile_headers() {
        assert_eq!(parse(&[]), Err(UdhError::Truncated));
        assert_eq!(parse(&[0x05, 0x00, 0x03]), Err(UdhError::Truncated));
        assert_eq!(parse(&[0xFF]), Err(UdhError::Truncated));
        // IE length 0x09 runs past UDHL 5.
        assert_eq!(
            parse(&[0x05, 0x00, 0x09, 0x01, 0x02, 0x03, b'a', b'b', b'c', b'd', b'e']),
            Err(UdhError::IeOverrun { iei: 0x00 })
        );
        // IEI without its length octet.
        assert_eq!(
            parse(&[0x04, 0x24, 0x01, 0x00, 0x70, b'a']),
            Err(UdhError::IeOverrun { iei: 0x70 })
        );
        // Second IE overruns.
        assert_eq!(
            parse(&[0x04, 0x24, 0x01, 0x00, 0x25, 0x02]),
            Err(UdhError::IeOverrun { iei: 0x25 })
        );
    }

    #[test]
    fn bad_concat() {
        for ie in [
            [0x05u8, 0x00, 0x03, 0x01, 0x00, 0x01], // total 0
            [0x05, 0x00, 0x03, 0x01, 0x02, 0x00],   // seq 0
            [0x05, 0x00, 0x03, 0x01, 0x02, 0x03],   // seq > total
        ] {
            assert_eq!(parse(&ie), Err(UdhError::BadConcat), "{ie:02x?}");
        }
        // Wrong IE data length for the IEI.
        assert_eq!(
            parse(&[0x06, 0x00, 0x04, 0x01, 0x02, 0x01, 0x01]),
            Err(UdhError::BadConcat)
        );
        assert_eq!(
            parse(&[0x05, 0x08, 0x03, 0x01, 0x02, 0x01]),
            Err(UdhError::BadConcat)
        );
        assert_eq!(
            parse(&[0x06, 0x08, 0x04, 0x00, 0x01, 0x02, 0x03]),
            Err(UdhError::BadConcat)
        );
    }

    #[test]
    fn every_truncation_of_valid_user_data() {
        let ud = [
            0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x10, 0x02, 0x02, b'b', b'o',
            b'd', b'y',
        ];
        assert!(parse(&ud).is_ok());
        for cut in 0..ud.len() {
            let r = parse(&ud[..cut]);
            if cut < 12 {
                assert_eq!(r, Err(UdhError::Truncated), "cut {cut}");
            } else {
                let udh = r.unwrap();
                assert_eq!(udh.header_len, 12);
                assert_eq!(udh.body(&ud[..cut]), &ud[12..cut]);
                assert_eq!(udh.concat().unwrap().seq, 2);
            }
        }
        // Shrinking UDHL instead: every value cuts into an IE or is exact.
        for udhl in 0..=0x0Bu8 {
            let mut v = ud.to_vec();
            v[0] = udhl;
            let r = parse(&v);
            match udhl {
                0 | 6 | 0x0B => assert!(r.is_ok(), "udhl {udhl}"),
                1..=5 => assert_eq!(r, Err(UdhError::IeOverrun { iei: 0x05 }), "udhl {udhl}"),
                _ => assert_eq!(r, Err(UdhError::IeOverrun { iei: 0x00 }), "udhl {udhl}"),
            }
        }
    }

    #[test]
    fn parse_never_panics_on_short_garbage() {
        // Exhaustive over all 1- and 2-octet inputs and a sweep of 3-octet ones.
        for a in 0..=255u8 {
            let _ = parse(&[a]);
            for b in 0..=255u8 {
                if let Ok(u) = parse(&[a, b]) {
                    assert_eq!(u.header_len, 1 + usize::from(a));
                    assert!(u.header_len <= 2);
                }
                let _ = parse(&[a, b, a ^ b]);
            }
        }
    }

    #[test]
    fn write_concat_bytes() {
        let mut out = [0u8; 8];
        let c = Concat {
            reference: 0xA7,
            total: 3,
            seq: 1,
            ref16: false,
        };
        assert_eq!(write_concat(c, &mut out), Ok(6));
        assert_eq!(&out[..6], &[0x05, 0x00, 0x03, 0xA7, 0x03, 0x01]);
        assert_eq!(c.udh_len(), 6);
        let c16 = Concat {
            reference: 0xBEEF,
            total: 2,
            seq: 2,
            ref16: true,
        };
        assert_eq!(write_concat(c16, &mut out), Ok(7));
        assert_eq!(&out[..7], &[0x06, 0x08, 0x04, 0xBE, 0xEF, 0x02, 0x02]);
        // Round trip through parse.
        assert_eq!(parse(&out[..7]).unwrap().concat(), Some(c16));
    }

    #[test]
    fn write_concat_errors() {
        let mut out = [0u8; 8];
        let bad = Concat {
            reference: 1,
            total: 2,
            seq: 3,
            ref16: false,
        };
        assert_eq!(write_concat(bad, &mut out), Err(UdhError::BadConcat));
        let big_ref = Concat {
            reference: 0x100,
            total: 2,
            seq: 1,
            ref16: false,
        };
        assert_eq!(write_concat(big_ref, &mut out), Err(UdhError::BadConcat));
        let ok = Concat {
            reference: 1,
            total: 1,
            seq: 1,
            ref16: true,
        };
        assert_eq!(
            write_concat(ok, &mut out[..6]),
            Err(UdhError::OutputTooSmall)
        );
    }
}
