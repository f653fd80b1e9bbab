//! RingBuf tests: scripted I/O, wrapping, growth, release, a VecDeque model.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

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
                    let want = (off + 4 <= m.len())
                        .then(|| u32::from_be_bytes([m[off], m[off + 1], m[off + 2], m[off + 3]]));
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
