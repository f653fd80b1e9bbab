//! Cursor types over a PDU body: a checked reader for decoding and a checked
//! writer for encoding. Neither can panic: every access is bounds-checked and
//! turns into an error the caller maps to a command_status.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::header::CommandStatus;

/// Maximum sizes of C-Octet String fields, NUL included (§3.8 of the fact sheet).
pub mod max {
    pub const SYSTEM_ID: usize = 16;
    pub const PASSWORD: usize = 9;
    pub const SYSTEM_TYPE: usize = 13;
    pub const ADDRESS_RANGE: usize = 41;
    pub const SERVICE_TYPE: usize = 6;
    pub const ADDR: usize = 21;
    pub const ADDR_LONG: usize = 65;
    pub const MESSAGE_ID: usize = 65;
    pub const TIME: usize = 17;
    pub const DL_NAME: usize = 21;
    pub const SHORT_MESSAGE: usize = 255;
}

/// Reads big-endian integers, C-strings and octet strings from a body.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// An integer field that is missing means the body is shorter than its
    /// mandatory part: the command_length does not fit the PDU.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, CommandStatus> {
        let (&b, rest) = self
            .buf
            .split_first()
            .ok_or(CommandStatus::ESME_RINVCMDLEN)?;
        self.buf = rest;
        Ok(b)
    }

    /// `N` consecutive one-octet fields with one bounds check.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CommandStatus> {
        let (head, rest) = self
            .buf
            .split_at_checked(N)
            .ok_or(CommandStatus::ESME_RINVCMDLEN)?;
        let arr: [u8; N] = head
            .try_into()
            .map_err(|_| CommandStatus::ESME_RINVCMDLEN)?;
        self.buf = rest;
        Ok(arr)
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, CommandStatus> {
        let (head, rest) = self
            .buf
            .split_at_checked(4)
            .ok_or(CommandStatus::ESME_RINVCMDLEN)?;
        let arr: [u8; 4] = head
            .try_into()
            .map_err(|_| CommandStatus::ESME_RINVCMDLEN)?;
        self.buf = rest;
        Ok(u32::from_be_bytes(arr))
    }

    /// A C-Octet String of at most `max` octets including its NUL. Returns
    /// the characters without the NUL. A missing NUL within `max` octets (or
    /// within the body) is `err`: the field's own status, e.g. RINVSRCADR.
    #[inline]
    pub fn cstr(&mut self, max: usize, err: CommandStatus) -> Result<&'a [u8], CommandStatus> {
        let window = self.buf.get(..max).unwrap_or(self.buf);
        let nul = find_nul(window).ok_or(err)?;
        let (s, rest) = self.buf.split_at_checked(nul).ok_or(err)?;
        self.buf = rest.get(1..).ok_or(err)?;
        Ok(s)
    }

    /// An octet string whose length was given by a preceding field.
    #[inline]
    pub fn octets(&mut self, n: usize, err: CommandStatus) -> Result<&'a [u8], CommandStatus> {
        let (s, rest) = self.buf.split_at_checked(n).ok_or(err)?;
        self.buf = rest;
        Ok(s)
    }
}

/// Index of the first NUL, eight octets at a time (addresses and ids are
/// 10-25 octets: two or three words instead of a byte loop).
#[inline]
pub fn find_nul(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().ok()?);
        // Classic "has zero byte": exact for the lowest zero byte.
        let z = v.wrapping_sub(LO) & !v & HI;
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == 0)
        .map(|i| base + i)
}

/// Why encoding failed. Encoding never panics and never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// The output slice is shorter than the PDU.
    OutputTooSmall { need: usize },
    /// A C-string is longer than the spec allows (max includes the NUL).
    FieldTooLong { field: &'static str, max: usize },
    /// short_message longer than 255 octets (sm_length is one octet).
    ShortMessageTooLong { len: usize },
    /// A list longer than its one-octet count field allows.
    TooManyEntries,
}

/// Writes into a caller's slice whose size was computed beforehand.
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Writer<'a> {
        Writer {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// True when any write did not fit (the length computation was wrong).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        let end = self.pos + b.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.pos = end;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        match self.buf.get_mut(self.pos) {
            Some(d) => {
                *d = v;
                self.pos += 1;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    #[inline]
    pub fn cstr(&mut self, s: &[u8]) {
        self.bytes(s);
        self.u8(0);
    }
}

/// Checks a C-string fits its field before encoding.
#[inline]
pub fn check_cstr(s: &[u8], max: usize, field: &'static str) -> Result<usize, EncodeError> {
    if s.len() < max {
        Ok(s.len() + 1)
    } else {
        Err(EncodeError::FieldTooLong { field, max })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn cstr_limits() {
        let e = CommandStatus::ESME_RINVSRCADR;
        // Exactly max octets with the NUL last: ok.
        let mut r = Reader::new(b"12345\0rest");
        assert_eq!(r.cstr(6, e), Ok(&b"12345"[..]));
        assert_eq!(r.rest(), b"rest");
        // NUL beyond max: error.
        let mut r = Reader::new(b"123456\0");
        assert_eq!(r.cstr(6, e), Err(e));
        // No NUL at all: error.
        let mut r = Reader::new(b"12");
        assert_eq!(r.cstr(6, e), Err(e));
        // Empty string is one NUL.
        let mut r = Reader::new(b"\0x");
        assert_eq!(r.cstr(6, e), Ok(&b""[..]));
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn find_nul_matches_a_byte_search() {
        let mut x: u32 = 12345;
        for len in 0..40 {
            for _ in 0..200 {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        // Plenty of zeros and 0x80/0x01 bytes, the tricky ones.
                        [0u8, 1, 0x80, 0xFF, b'7'][(x % 5) as usize]
                    })
                    .collect();
                assert_eq!(find_nul(&v), v.iter().position(|&b| b == 0), "{v:?}");
            }
        }
    }

    #[test]
    fn writer_overflow_is_flagged_not_panicking() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.u8(1);
        w.u32(2);
        assert!(w.overflowed());
        assert_eq!(check_cstr(b"abcde", 6, "x"), Ok(6));
        assert!(check_cstr(b"abcdef", 6, "x").is_err());
    }
}
