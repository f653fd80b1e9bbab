//! Per-record cost of the connection ring buffer and the timer wheel.
//!
//! Records are 17 bytes (header + empty message_id, e.g. a minimal
//! submit_sm_resp) and 40 bytes (submit_sm_resp with a 23-char message_id).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use smsc::buf::RingBuf;
use smsc::timer::TimerWheel;
use std::hint::black_box;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};

const SIZES: [usize; 2] = [17, 40];

/// Encodes a header-shaped record of `dst.len()` bytes.
fn encode(dst: &mut [u8], seq: u32) -> usize {
    let n = dst.len();
    if let Some(h) = dst.get_mut(..16) {
        h[0..4].copy_from_slice(&(n as u32).to_be_bytes());
        h[4..8].copy_from_slice(&0x8000_0004u32.to_be_bytes());
        h[8..12].copy_from_slice(&0u32.to_be_bytes());
        h[12..16].copy_from_slice(&seq.to_be_bytes());
    }
    if let Some(body) = dst.get_mut(16..) {
        body.fill(b'7');
    }
    n
}

/// Writer that takes everything except the last `keep` bytes, so a residue
/// stays behind, the head keeps moving and records regularly straddle the
/// end of storage (the wrap path of `write_with`).
struct Residue {
    keep: usize,
}

impl Write for Residue {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len().saturating_sub(self.keep))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        Ok(total.saturating_sub(self.keep))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reader that delivers one `record` per call, split across the buffers.
struct Records {
    record: Vec<u8>,
}

impl Read for Records {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_vectored(&mut [IoSliceMut::new(buf)])
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut src = &self.record[..];
        let mut total = 0;
        for b in bufs.iter_mut() {
            let k = b.len().min(src.len());
            b[..k].copy_from_slice(&src[..k]);
            src = &src[k..];
            total += k;
        }
        Ok(total)
    }
}

fn ringbuf(c: &mut Criterion) {
    let mut g = c.benchmark_group("ringbuf");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        g.bench_with_input(BenchmarkId::new("write_with+write_to", n), &n, |b, &n| {
            let mut rb = RingBuf::new(4096, 1 << 20);
            let mut sink = io::sink();
            let mut seq = 0u32;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                let ok = rb.write_with(n, |d| encode(d, seq));
                let w = rb.write_to(&mut sink).unwrap_or(0);
                black_box((ok, w))
            });
        });
        g.bench_with_input(
            BenchmarkId::new("write_with+write_to/residue", n),
            &n,
            |b, &n| {
                let mut rb = RingBuf::new(4096, 1 << 20);
                let mut w = Residue { keep: 5 };
                let mut seq = 0u32;
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    let ok = rb.write_with(n, |d| encode(d, seq));
                    let k = rb.write_to(&mut w).unwrap_or(0);
                    black_box((ok, k))
                });
            },
        );
        g.bench_with_input(BenchmarkId::new("read_from+consume", n), &n, |b, &n| {
            let mut record = vec![0u8; n];
            encode(&mut record, 1);
            let mut r = Records { record };
            let mut rb = RingBuf::new(4096, 1 << 20);
            // Keep a 3-byte partial frame in front so reads wrap regularly.
            let _ = rb.extend_from_slice(&[0, 0, 0]);
            let mut scratch = [0u8; 64];
            b.iter(|| {
                let got = rb.read_from(&mut r).unwrap_or(0);
                let len = rb.peek_u32_be(3).unwrap_or(0) as usize;
                let frame_ok = match rb.contiguous(3 + len) {
                    Some(f) => f.len(),
                    None => usize::from(rb.copy_front(3 + len, &mut scratch)),
                };
                rb.consume(got);
                black_box(frame_ok)
            });
        });
    }
    g.finish();
}

fn timer(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(1));
    g.bench_function("insert+cancel", |b| {
        let mut w = TimerWheel::new(512);
        // Background population, like 10k sessions with armed timers.
        for i in 0..10_000u64 {
            w.insert(1 + i % 3_000, i);
        }
        let mut i = 0u64;
        b.iter(|| {
            i = i.wrapping_add(1);
            let h = w.insert(black_box(300 + i % 1_000), i);
            black_box(w.cancel(h))
        });
    });
    g.bench_function("insert+advance", |b| {
        let mut w = TimerWheel::new(512);
        let mut fired = Vec::with_capacity(64);
        let mut t = 0u64;
        // Steady state: 300 pending, one inserted and one fired per tick.
        for k in 1..=300u64 {
            w.insert(k, k);
        }
        b.iter(|| {
            t += 1;
            w.insert(t + 300, t);
            w.advance_to(t, &mut fired);
            let n = fired.len();
            fired.clear();
            black_box(n)
        });
    });
    g.finish();
}

criterion_group!(benches, ringbuf, timer);
criterion_main!(benches);
