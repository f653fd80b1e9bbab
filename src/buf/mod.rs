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
mod tests;
