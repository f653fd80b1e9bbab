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
        // Empty strings (service_type, schedule and validity nearly always)
        // on a branch: the next field's position is then predicted, not
        // computed from this one's NUL search, which would chain the loads
        // of every field of the body one after the other.
        if let Some((0, rest)) = self.buf.split_first() {
            self.buf = rest;
            return Ok(&[]);
        }
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

    /// Runs `f` with a writer over the rest of the output that lives in
    /// registers, then advances this one. A body's `write` receives
    /// `&mut Writer`, whose position would otherwise be stored and reloaded
    /// around every field: a store-to-load chain of a few cycles per field.
    #[inline(always)]
    pub fn local(&mut self, f: impl FnOnce(&mut Writer<'_>)) {
        let rest = self.buf.get_mut(self.pos..).unwrap_or_default();
        let mut w = Writer::new(rest);
        f(&mut w);
        self.pos += w.pos;
        self.overflow |= w.overflow;
    }

    /// The next `n` octets of the output, or None (and the overflow flag).
    #[inline(always)]
    fn take(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.pos + n;
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                self.pos = end;
                Some(dst)
            }
            None => {
                self.overflow = true;
                None
            }
        }
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        if let Some(dst) = self.take(b.len()) {
            copy(dst, b);
        }
    }

    /// `N` consecutive one-octet fields as one store.
    #[inline]
    pub fn array<const N: usize>(&mut self, a: [u8; N]) {
        if let Some(dst) = self.take(N).and_then(|d| d.first_chunk_mut::<N>()) {
            *dst = a;
        }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.array([v]);
    }

    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.array(v.to_be_bytes());
    }

    /// The characters and their NUL with one bounds check.
    #[inline]
    pub fn cstr(&mut self, s: &[u8]) {
        if let Some((nul, dst)) = self.take(s.len() + 1).and_then(|d| d.split_last_mut()) {
            copy(dst, s);
            *nul = 0;
        }
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length. Fields are mostly
/// a few octets (addresses, ids, C-strings), where a `memmove` call costs
/// more than the copy: up to 64 octets are copied inline as two overlapping
/// word-sized loads and stores.
#[inline(always)]
fn copy(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn two<const W: usize>(dst: &mut [u8], src: &[u8]) {
        if let (Some(a), Some(b)) = (src.first_chunk::<W>(), src.last_chunk::<W>()) {
            let (a, b) = (*a, *b);
            if let Some(d) = dst.first_chunk_mut::<W>() {
                *d = a;
            }
            if let Some(d) = dst.last_chunk_mut::<W>() {
                *d = b;
            }
        }
    }
    #[inline(always)]
    fn upto16(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        match n {
            0 => {}
            1..=3 => {
                // First, middle and last octet cover 1, 2 and 3.
                for i in [0, n / 2, n - 1] {
                    if let (Some(d), Some(s)) = (dst.get_mut(i), src.get(i)) {
                        *d = *s;
                    }
                }
            }
            4..=7 => two::<4>(dst, src),
            _ => two::<8>(dst, src),
        }
    }
    let n = src.len();
    if n != dst.len() {
        return; // callers pass equal lengths; never reached
    }
    match n {
        0..=16 => upto16(dst, src),
        17..=32 => {
            // 16 octets, then the rest from offset 16 (not the last 16:
            // a 24-octet message id just built as 16 + 8 octets would be
            // read back across both stores, which cannot be forwarded).
            let (dh, dt) = dst.split_at_mut(16);
            let (sh, st) = src.split_at(16);
            two::<16>(dh, sh);
            upto16(dt, st);
        }
        33..=64 => two::<32>(dst, src),
        _ => dst.copy_from_slice(src),
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
    fn short_copy_matches_copy_from_slice_at_every_length() {
        let src: Vec<u8> = (1..=100).collect();
        for n in 0..=100 {
            let mut a = [0xEEu8; 112];
            let mut b = [0xEEu8; 112];
            // At an odd offset too, so the word copies are unaligned.
            for off in [0, 3] {
                copy(&mut a[off..off + n], &src[..n]);
                b[off..off + n].copy_from_slice(&src[..n]);
                assert_eq!(a, b, "n = {n}, off = {off}");
            }
        }
        // Mismatched lengths (a caller bug) write nothing rather than panic.
        let mut d = [0u8; 4];
        copy(&mut d, b"abc");
        assert_eq!(d, [0; 4]);
    }

    #[test]
    fn cstr_and_array_write_exact_octets() {
        let mut buf = [0xEEu8; 32];
        let mut w = Writer::new(&mut buf);
        w.cstr(b"");
        w.cstr(b"447700900123");
        w.array([1, 2, 3]);
        w.u32(0x0102_0304);
        let n = w.pos();
        assert!(!w.overflowed());
        assert_eq!(
            &buf[..n],
            b"\x00447700900123\x00\x01\x02\x03\x01\x02\x03\x04"
        );
        assert_eq!(buf[n], 0xEE);
        // A C-string that does not fit is flagged and leaves the output alone.
        let mut small = [0xEEu8; 4];
        let mut w = Writer::new(&mut small);
        w.cstr(b"abcd");
        assert!(w.overflowed());
        assert_eq!(small, [0xEE; 4]);
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
