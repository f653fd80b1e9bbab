//! Per-connection byte ring buffer (one for rx, one for tx).
//!
//! Why a ring and not linear + compaction: a partially received frame never
//! has to be moved, and a wrapped readable region still leaves in one
//! `writev`. A frame that wraps is copied into a small scratch by the caller
//! (`copy_front`), which is the rare path.
//!
//! Storage is a zeroed `Box<[u8]>` with a power-of-two length, so `read()`
//! only ever sees initialised memory and index wrapping is a mask. Capacity
//! grows by doubling up to `max` and never beyond (backpressure is the
//! caller's job); `release` hands the memory back while a connection idles.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};

/// Records that straddle the end of storage are encoded into a stack scratch
/// of this size first (larger ones use a heap scratch). Happens at most once
/// per trip around the ring, so the extra copy is noise.
const WRAP_SCRATCH: usize = 512;

/// A bounded, growable byte ring buffer.
pub struct RingBuf {
    /// Storage; its length is the capacity: a power of two, or 0 when released.
    buf: Box<[u8]>,
    /// Index of the first readable byte; 0 whenever the buffer is empty.
    head: usize,
    /// Number of readable bytes.
    len: usize,
    /// Capacity to allocate after `release` (power of two, <= `max`).
    initial: usize,
    /// Hard capacity limit (power of two).
    max: usize,
}

/// Rounds up to a power of two (at least 1), saturating at the largest one.
fn pow2(n: usize) -> usize {
    n.max(1)
        .checked_next_power_of_two()
        .unwrap_or(1 << (usize::BITS - 1))
}

fn zeroed(cap: usize) -> Box<[u8]> {
    vec![0u8; cap].into_boxed_slice()
}

impl RingBuf {
    /// Creates a buffer with `initial` bytes allocated that may grow to `max`.
    /// Both are rounded up to powers of two; `initial` is capped at `max`.
    pub fn new(initial: usize, max: usize) -> RingBuf {
        let max = pow2(max);
        let initial = pow2(initial).min(max);
        RingBuf {
            buf: zeroed(initial),
            head: 0,
            len: 0,
            initial,
            max,
        }
    }

    /// Readable bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Currently allocated bytes (0 after `release`).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes that can be added without growing.
    #[inline]
    pub fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    #[inline]
    pub fn max_capacity(&self) -> usize {
        self.max
    }

    /// True when nothing more fits even after growing: stop reading into it.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len >= self.max
    }

    /// Drops all readable bytes (keeps the allocation).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Frees the storage if the buffer is empty, so idle connections cost no
    /// buffer memory; the next write or read allocates `initial` again.
    /// Returns whether the storage was released.
    pub fn release(&mut self) -> bool {
        if self.len != 0 {
            return false;
        }
        self.buf = Box::default();
        self.head = 0;
        true
    }

    /// The readable bytes in order; the second slice is non-empty only when
    /// the data wraps around the end of storage.
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        if self.len == 0 {
            return (&[], &[]);
        }
        let cap = self.buf.len();
        let end = self.head + self.len;
        if end <= cap {
            (self.buf.get(self.head..end).unwrap_or_default(), &[])
        } else {
            (
                self.buf.get(self.head..).unwrap_or_default(),
                self.buf.get(..end - cap).unwrap_or_default(),
            )
        }
    }

    /// Marks the first `n` readable bytes as done (clamped to `len`). An
    /// emptied buffer restarts at index 0 so the next data is contiguous.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len, "consume({n}) with len {}", self.len);
        let n = n.min(self.len);
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        } else {
            self.head = (self.head + n) & (self.buf.len() - 1);
        }
    }

    /// The first `n` readable bytes, if there are that many and they do not
    /// wrap (the common case: decode the frame in place).
    #[inline]
    pub fn contiguous(&self, n: usize) -> Option<&[u8]> {
        if n > self.len {
            return None;
        }
        self.buf.get(self.head..self.head.checked_add(n)?)
    }

    /// Copies the first `n` readable bytes into `dst[..n]` (for a frame that
    /// wraps). False, copying nothing, if fewer than `n` bytes are readable or
    /// `dst` is too short.
    #[must_use]
    pub fn copy_front(&self, n: usize, dst: &mut [u8]) -> bool {
        if n > self.len {
            return false;
        }
        let Some(dst) = dst.get_mut(..n) else {
            return false;
        };
        let (a, b) = self.as_slices();
        let k = a.len().min(n);
        let (d1, d2) = dst.split_at_mut(k);
        match (a.get(..k), b.get(..n - k)) {
            (Some(s1), Some(s2)) => {
                d1.copy_from_slice(s1);
                d2.copy_from_slice(s2);
                true
            }
            _ => false,
        }
    }

    /// Big-endian u32 at `offset` into the readable bytes, across the wrap
    /// (reads `command_length` without copying the frame).
    #[inline]
    pub fn peek_u32_be(&self, offset: usize) -> Option<u32> {
        if offset.checked_add(4)? > self.len {
            return None;
        }
        let start = self.head + offset;
        if let Some(b) = self.buf.get(start..start + 4) {
            let mut out = [0u8; 4];
            out.copy_from_slice(b);
            return Some(u32::from_be_bytes(out));
        }
        let mask = self.buf.len() - 1;
        let mut out = [0u8; 4];
        for (i, o) in out.iter_mut().enumerate() {
            *o = *self.buf.get((start + i) & mask)?;
        }
        Some(u32::from_be_bytes(out))
    }

    /// One `read`/`read_vectored` into all free space, growing first (up to
    /// `max`) if there is none. Returns the reader's result, so `Ok(0)` means
    /// EOF. Check `is_full()` before calling: a buffer that is full at `max`
    /// yields an `ErrorKind::Other` "ring buffer full" error instead of
    /// reading. Call in a loop until `WouldBlock` (edge-triggered).
    pub fn read_from<R: Read + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.free() == 0 && !self.reserve(1) {
            return Err(io::Error::other("ring buffer full"));
        }
        let free = self.free();
        let cap = self.buf.len();
        let start = self.head + self.len;
        let n = if start < cap {
            // Data does not wrap: free space is [start, cap) then [0, head).
            let (front, back) = self.buf.split_at_mut(start);
            let wrap = front.get_mut(..self.head).unwrap_or_default();
            if wrap.is_empty() {
                r.read(back)?
            } else {
                r.read_vectored(&mut [IoSliceMut::new(back), IoSliceMut::new(wrap)])?
            }
        } else {
            // Data wraps (or ends exactly at cap): free space is [start - cap, head).
            r.read(self.buf.get_mut(start - cap..self.head).unwrap_or_default())?
        };
        debug_assert!(n <= free, "reader claimed {n} bytes into {free}");
        let n = n.min(free);
        self.len += n;
        Ok(n)
    }

    /// One `write`/`write_vectored` of all readable bytes (both halves when
    /// wrapped); consumes what the writer took. Returns `Ok(0)` without
    /// calling the writer when empty.
    pub fn write_to<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<usize> {
        let (a, b) = self.as_slices();
        if a.is_empty() {
            return Ok(0);
        }
        let n = if b.is_empty() {
            w.write(a)?
        } else {
            w.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])?
        };
        let n = n.min(self.len);
        self.consume(n);
        Ok(n)
    }

    /// Lets `f` encode up to `n` bytes straight into the tail and commits the
    /// count it returns (clamped to `n`). `f` always gets exactly `n`
    /// contiguous (initialised, arbitrary) bytes. Grows up to `max` if
    /// needed; returns false without calling `f` if `n` bytes cannot fit.
    #[must_use]
    pub fn write_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, n: usize, f: F) -> bool {
        if n == 0 {
            f(&mut []);
            return true;
        }
        if !self.reserve(n) {
            return false;
        }
        let cap = self.buf.len();
        let tail = (self.head + self.len) & (cap - 1);
        if let Some(dst) = self.buf.get_mut(tail..tail + n) {
            // Free space is contiguous for n bytes: it cannot run into the
            // head because free() >= n.
            let k = f(dst).min(n);
            self.len += k;
        } else if n <= WRAP_SCRATCH {
            let mut scratch = [0u8; WRAP_SCRATCH];
            let s = scratch.get_mut(..n).unwrap_or_default();
            let k = f(s).min(n);
            self.put(s.get(..k).unwrap_or_default());
        } else {
            let mut scratch = vec![0u8; n];
            let k = f(&mut scratch).min(n);
            self.put(scratch.get(..k).unwrap_or_default());
        }
        true
    }

    /// Appends `data`, growing up to `max`; false (nothing written) if it
    /// does not fit.
    #[must_use]
    pub fn extend_from_slice(&mut self, data: &[u8]) -> bool {
        if data.is_empty() {
            return true;
        }
        if !self.reserve(data.len()) {
            return false;
        }
        self.put(data);
        true
    }

    /// Copies `data` to the tail, wrapping as needed. Caller ensured room.
    fn put(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        debug_assert!(data.len() <= self.free());
        let cap = self.buf.len();
        let tail = (self.head + self.len) & (cap - 1);
        let k = data.len().min(cap - tail);
        let (d1, d2) = data.split_at(k);
        if let Some(dst) = self.buf.get_mut(tail..tail + k) {
            dst.copy_from_slice(d1);
        }
        if let Some(dst) = self.buf.get_mut(..d2.len()) {
            dst.copy_from_slice(d2);
        }
        self.len += data.len();
    }

    /// Doubles the capacity (up to `max`) when the buffer is smaller than
    /// `target`: a connection whose reads fill the whole buffer gets a
    /// bigger one, so it needs fewer read syscalls per PDU.
    pub fn grow_towards(&mut self, target: usize) {
        let cap = self.buf.len();
        if cap < target.min(self.max) {
            let new_cap = cap.saturating_mul(2).max(self.initial).min(self.max);
            if new_cap > cap {
                self.realloc(new_cap);
            }
        }
    }

    /// Ensures `free() >= extra`, doubling (at least) up to `max`. False if
    /// that would exceed `max`.
    fn reserve(&mut self, extra: usize) -> bool {
        let Some(need) = self.len.checked_add(extra) else {
            return false;
        };
        let cap = self.buf.len();
        if need <= cap {
            return true;
        }
        if need > self.max {
            return false;
        }
        let base = if cap == 0 {
            self.initial
        } else {
            cap.saturating_mul(2)
        };
        self.realloc(base.max(pow2(need)).min(self.max));
        true
    }

    /// Moves the data to the front of a fresh zeroed allocation of `new_cap`.
    fn realloc(&mut self, new_cap: usize) {
        debug_assert!(new_cap.is_power_of_two() && new_cap >= self.len);
        let mut nb = zeroed(new_cap);
        let (a, b) = self.as_slices();
        if let Some(d) = nb.get_mut(..a.len()) {
            d.copy_from_slice(a);
        }
        if let Some(d) = nb.get_mut(a.len()..a.len() + b.len()) {
            d.copy_from_slice(b);
        }
        self.buf = nb;
        self.head = 0;
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("len", &self.len)
            .field("head", &self.head)
            .field("capacity", &self.buf.len())
            .field("max", &self.max)
            .finish()
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
    use std::collections::VecDeque;

    use crate::testutil::Rng;

    /// One scripted outcome of a mock read/write call.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// Transfer at most this many bytes.
        Up(usize),
        WouldBlock,
    }

    /// Reader over `data` that follows a script, then transfers freely.
    struct MockReader {
        data: Vec<u8>,
        pos: usize,
        script: VecDeque<Step>,
        calls: usize,
    }

    impl MockReader {
        fn new(data: Vec<u8>, script: &[Step]) -> Self {
            MockReader {
                data,
                pos: 0,
                script: script.iter().copied().collect(),
                calls: 0,
            }
        }
    }

    impl Read for MockReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.read_vectored(&mut [IoSliceMut::new(buf)])
        }
        fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let mut limit = match self.script.pop_front() {
                Some(Step::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
                Some(Step::Up(k)) => k,
                None => usize::MAX,
            };
            let mut total = 0;
            for b in bufs.iter_mut() {
                let rest = &self.data[self.pos..];
                let k = b.len().min(rest.len()).min(limit);
                b[..k].copy_from_slice(&rest[..k]);
                self.pos += k;
                total += k;
                limit -= k;
            }
            Ok(total)
        }
    }

    /// Writer that records bytes and follows a script, then accepts all.
    #[derive(Default)]
    struct MockWriter {
        out: Vec<u8>,
        script: VecDeque<Step>,
        vectored_calls: usize,
    }

    impl Write for MockWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if bufs.len() > 1 {
                self.vectored_calls += 1;
            }
            let mut limit = match self.script.pop_front() {
                Some(Step::WouldBlock) => return Err(io::ErrorKind::WouldBlock.into()),
                Some(Step::Up(k)) => k,
                None => usize::MAX,
            };
            let mut total = 0;
            for b in bufs {
                let k = b.len().min(limit);
                self.out.extend_from_slice(&b[..k]);
                total += k;
                limit -= k;
            }
            Ok(total)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn contents(b: &RingBuf) -> Vec<u8> {
        let (x, y) = b.as_slices();
        [x, y].concat()
    }

    /// Capacity-16 buffer (growable to `max`) holding [1, 2] at indices 14..16.
    fn near_end(max: usize) -> RingBuf {
        at(14, max)
    }

    /// Capacity-16 buffer holding [1, 2] at `head..head + 2`.
    fn at(head: usize, max: usize) -> RingBuf {
        let mut b = RingBuf::new(16, max);
        assert!(b.extend_from_slice(&vec![0; head]));
        assert!(b.extend_from_slice(&[1, 2]));
        b.consume(head);
        assert_eq!((b.head, b.len), (head, 2));
        b
    }

    #[test]
    fn rounding_and_limits() {
        let b = RingBuf::new(3000, 1_000_000);
        assert_eq!(b.capacity(), 4096);
        assert_eq!(b.max_capacity(), 1 << 20);
        let b = RingBuf::new(1 << 20, 4096);
        assert_eq!((b.capacity(), b.max_capacity()), (4096, 4096));
        let b = RingBuf::new(0, 0);
        assert_eq!((b.capacity(), b.max_capacity()), (1, 1));
        assert!(b.is_empty() && !b.is_full());
    }

    #[test]
    fn wrapped_read_and_write_with_short_counts() {
        let mut b = RingBuf::new(16, 16);
        assert!(b.extend_from_slice(b"0123456789ab"));
        b.consume(10);
        // Free: [12,16) and [0,10): 14 bytes across the end.
        let data: Vec<u8> = (100..130).collect();
        let mut r = MockReader::new(data.clone(), &[Step::Up(3), Step::WouldBlock]);
        assert_eq!(b.read_from(&mut r).unwrap(), 3);
        assert_eq!(
            b.read_from(&mut r).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(b.read_from(&mut r).unwrap(), 11); // fills both regions
        assert_eq!(b.len(), 16);
        assert_eq!(b.free(), 0);
        let (x, y) = b.as_slices();
        assert_eq!(x, b"abdefg");
        assert_eq!(y.len(), 10);
        assert_eq!(contents(&b)[2..], data[..14]);

        let mut w = MockWriter {
            script: [Step::Up(3), Step::WouldBlock, Step::Up(5)].into(),
            ..Default::default()
        };
        assert_eq!(b.write_to(&mut w).unwrap(), 3);
        assert!(b.write_to(&mut w).is_err());
        assert_eq!(b.write_to(&mut w).unwrap(), 5);
        assert_eq!(b.write_to(&mut w).unwrap(), 8);
        assert!(b.is_empty());
        assert_eq!(b.head, 0);
        assert_eq!(b.write_to(&mut w).unwrap(), 0);
        assert_eq!(&w.out[..2], b"ab");
        assert_eq!(w.out[2..], data[..14]);
        assert!(w.vectored_calls >= 2);
    }

    #[test]
    fn read_into_wrapped_data_fills_single_gap() {
        let mut b = near_end(16);
        // Data [14,16), append 4 -> wraps; free is now [4,14).
        assert!(b.extend_from_slice(&[3, 4, 5, 6]));
        let mut r = MockReader::new((0..50).collect(), &[]);
        assert_eq!(b.read_from(&mut r).unwrap(), 10);
        assert_eq!(b.len(), 16);
        assert_eq!(
            contents(&b),
            [&[1, 2, 3, 4, 5, 6][..], &(0..10).collect::<Vec<u8>>()].concat()
        );
    }

    #[test]
    fn growth_to_max_and_refusal() {
        let mut b = RingBuf::new(16, 64);
        let data: Vec<u8> = (0..=255).collect();
        let mut r = MockReader::new(data.clone(), &[]);
        let mut total = 0;
        while !b.is_full() {
            total += b.read_from(&mut r).unwrap();
        }
        assert_eq!(total, 64);
        assert_eq!(b.capacity(), 64);
        let e = b.read_from(&mut r).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert!(!b.extend_from_slice(&[1]));
        assert!(!b.write_with(1, |_| panic!("must not be called")));
        assert_eq!(contents(&b), data[..64]);
        b.consume(1);
        assert!(!b.is_full());
        assert!(b.write_with(1, |d| {
            d[0] = 7;
            1
        }));
        assert_eq!(*contents(&b).last().unwrap(), 7);
        // Growth keeps the order of wrapped data.
        let mut small = near_end(64);
        let b2: Vec<u8> = (0..20).collect();
        assert!(small.extend_from_slice(&b2));
        assert_eq!(small.capacity(), 32);
        assert_eq!(contents(&small), [&[1u8, 2][..], &b2].concat());
        assert!(!small.extend_from_slice(&[0; 43]));
        assert!(small.extend_from_slice(&[0; 42]));
        assert!(small.is_full());
        assert!(!small.write_with(usize::MAX, |_| 0));
    }

    #[test]
    fn release_and_reuse() {
        let mut b = RingBuf::new(64, 1024);
        assert!(b.extend_from_slice(&[1; 100]));
        assert_eq!(b.capacity(), 128);
        assert!(!b.release());
        b.consume(100);
        assert!(b.release());
        assert_eq!(b.capacity(), 0);
        assert_eq!(b.free(), 0);
        assert_eq!(b.as_slices(), (&[][..], &[][..]));
        assert_eq!(b.contiguous(0), Some(&[][..]));
        assert_eq!(b.peek_u32_be(0), None);
        let mut w = MockWriter::default();
        assert_eq!(b.write_to(&mut w).unwrap(), 0);
        // Read allocates `initial`.
        let mut r = MockReader::new(vec![5; 10], &[]);
        assert_eq!(b.read_from(&mut r).unwrap(), 10);
        assert_eq!(b.capacity(), 64);
        b.consume(10);
        assert!(b.release());
        // write_with allocates what it needs.
        assert!(b.write_with(200, |d| {
            d.fill(3);
            200
        }));
        assert_eq!(b.capacity(), 256);
        b.clear();
        assert!(b.release());
        assert!(b.write_with(0, |d| d.len()));
        assert_eq!(b.capacity(), 0);
        assert!(b.extend_from_slice(&[]));
        assert!(b.extend_from_slice(&[1, 2]));
        assert_eq!(b.capacity(), 64);
    }

    #[test]
    fn peek_u32_be_across_wrap() {
        for head in 0..16 {
            // Park head at `head` with one byte, append, drop that byte.
            let mut b = RingBuf::new(16, 16);
            assert!(b.extend_from_slice(&vec![0; head + 1]));
            b.consume(head);
            let bytes: Vec<u8> = (1..=12).collect();
            assert!(b.extend_from_slice(&bytes));
            b.consume(1);
            assert_eq!(b.head, (head + 1) % 16);
            assert_eq!(contents(&b), bytes);
            for off in 0..=8 {
                let want = u32::from_be_bytes(bytes[off..off + 4].try_into().unwrap());
                assert_eq!(b.peek_u32_be(off), Some(want), "head {head} off {off}");
            }
            assert_eq!(b.peek_u32_be(9), None);
            assert_eq!(b.peek_u32_be(usize::MAX), None);
        }
    }

    #[test]
    fn contiguous_and_copy_front() {
        let mut b = near_end(16);
        assert!(b.extend_from_slice(&[3, 4, 5]));
        assert_eq!(b.contiguous(2), Some(&[1, 2][..]));
        assert_eq!(b.contiguous(3), None);
        assert_eq!(b.contiguous(6), None);
        let mut dst = [0u8; 8];
        assert!(b.copy_front(5, &mut dst));
        assert_eq!(dst[..5], [1, 2, 3, 4, 5]);
        assert!(!b.copy_front(6, &mut dst));
        assert!(!b.copy_front(5, &mut [0u8; 4]));
        assert!(b.copy_front(0, &mut []));
    }

    #[test]
    fn write_with_across_wrap() {
        // Data at [12, 14): an 8-byte record must straddle the end.
        // Small record through the stack scratch.
        let mut b = at(12, 16);
        assert!(b.write_with(8, |d| {
            assert_eq!(d.len(), 8);
            d.copy_from_slice(&[10, 11, 12, 13, 14, 15, 16, 17]);
            6 // commit less than asked
        }));
        assert_eq!(contents(&b), [1, 2, 10, 11, 12, 13, 14, 15]);
        let (x, y) = b.as_slices();
        assert_eq!((x.len(), y.len()), (4, 4));
        // Data ending exactly at the end: the record goes to index 0 directly.
        let mut b = near_end(16);
        assert!(b.write_with(8, |d| {
            d.fill(4);
            8
        }));
        assert_eq!(b.as_slices(), (&[1, 2][..], &[4; 8][..]));
        // f claiming more than n is clamped.
        assert!(b.write_with(2, |d| {
            d.fill(9);
            99
        }));
        assert_eq!(b.len(), 12);
        // Large record through the heap scratch, without growing.
        let mut b = RingBuf::new(2048, 2048);
        assert!(b.extend_from_slice(&[0; 2000]));
        b.consume(1990);
        let rec: Vec<u8> = (0..1000).map(|i| i as u8).collect();
        assert!(b.write_with(1000, |d| {
            d.copy_from_slice(&rec);
            1000
        }));
        assert_eq!(b.capacity(), 2048);
        assert_eq!(contents(&b)[10..], rec[..]);
        assert!(!b.as_slices().1.is_empty());
    }

    #[test]
    fn lying_reader_is_clamped() {
        struct Liar;
        impl Read for Liar {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Ok(1 << 30)
            }
        }
        let mut b = RingBuf::new(16, 16);
        // debug_assert fires in debug builds; only check release semantics.
        if !cfg!(debug_assertions) {
            assert_eq!(b.read_from(&mut Liar).unwrap(), 16);
            assert_eq!(b.len(), 16);
        }
        struct LiarW;
        impl Write for LiarW {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(1 << 30)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        b.clear();
        assert!(b.extend_from_slice(&[1; 5]));
        assert_eq!(b.write_to(&mut LiarW).unwrap(), 5);
        assert!(b.is_empty());
    }

    #[test]
    fn model_against_vecdeque() {
        const MAX: usize = 1024;
        for seed in 1..=8u64 {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
            let mut b = RingBuf::new(8, MAX);
            let mut m: VecDeque<u8> = VecDeque::new();
            let mut counter = 0u8;
            let mut next_byte = || {
                counter = counter.wrapping_add(1);
                counter
            };
            for _ in 0..5000 {
                match rng.index(9) {
                    0 => {
                        // read_from with a short or blocking reader
                        let n = rng.index(300);
                        let data: Vec<u8> = (0..n).map(|_| next_byte()).collect();
                        let step = if rng.index(5) == 0 {
                            Step::WouldBlock
                        } else {
                            Step::Up(rng.index(200))
                        };
                        let mut r = MockReader::new(data.clone(), &[step]);
                        let was_full = b.is_full();
                        match b.read_from(&mut r) {
                            Ok(k) => {
                                assert!(!was_full);
                                m.extend(&data[..k]);
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(_) => assert!(was_full),
                        }
                    }
                    1 => {
                        let step = match rng.index(4) {
                            0 => Step::WouldBlock,
                            _ => Step::Up(rng.index(300)),
                        };
                        let mut w = MockWriter {
                            script: [step].into(),
                            ..Default::default()
                        };
                        if let Ok(k) = b.write_to(&mut w) {
                            let want: Vec<u8> = m.drain(..k).collect();
                            assert_eq!(w.out, want);
                        }
                    }
                    2 => {
                        let k = rng.index(m.len() + 1);
                        b.consume(k);
                        m.drain(..k);
                    }
                    3 | 4 => {
                        let limit = if rng.index(10) == 0 { 700 } else { 40 };
                        let n = rng.index(limit);
                        let commit = rng.index(n + 1);
                        let data: Vec<u8> = (0..n).map(|_| next_byte()).collect();
                        let fits = m.len() + n <= MAX;
                        let ok = b.write_with(n, |d| {
                            assert_eq!(d.len(), n);
                            d.copy_from_slice(&data);
                            commit
                        });
                        assert_eq!(ok, fits);
                        if ok {
                            m.extend(&data[..commit]);
                        }
                    }
                    5 => {
                        let n = rng.index(60);
                        let data: Vec<u8> = (0..n).map(|_| next_byte()).collect();
                        let ok = b.extend_from_slice(&data);
                        assert_eq!(ok, m.len() + n <= MAX);
                        if ok {
                            m.extend(&data);
                        }
                    }
                    6 => {
                        let off = rng.index(m.len() + 2);
                        let want = (off + 4 <= m.len()).then(|| {
                            u32::from_be_bytes([m[off], m[off + 1], m[off + 2], m[off + 3]])
                        });
                        assert_eq!(b.peek_u32_be(off), want);
                    }
                    7 => {
                        let n = rng.index(m.len() + 2);
                        let mut dst = vec![0u8; n];
                        let ok = b.copy_front(n, &mut dst);
                        assert_eq!(ok, n <= m.len());
                        if ok {
                            assert!(dst.iter().eq(m.iter().take(n)));
                        }
                        if let Some(c) = b.contiguous(n) {
                            assert!(c.iter().eq(m.iter().take(n)));
                        }
                    }
                    _ => {
                        let released = b.release();
                        assert_eq!(released, m.is_empty());
                    }
                }
                assert_eq!(b.len(), m.len());
                assert!(b.capacity() <= MAX);
                assert!(b.len() <= b.capacity());
                let (x, y) = b.as_slices();
                assert!(x.iter().chain(y).eq(m.iter()));
                assert!(!x.is_empty() || y.is_empty());
            }
        }
    }
}
