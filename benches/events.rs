//! Per-event cost of the message event log (`src/events.rs`): what
//! `GET /api/v1/messages/{id}` costs the per-message path. An `accepted`
//! event with a 12-digit destination, and a `receipt_sent` event (its key
//! parsed from the receipt's message id, as the pump does), into a ring of
//! 2^20 records that has wrapped (every write lands on a touched page, as
//! in a server that has run a while); and the same calls with the log off.
//! Also what one lookup (`GET /api/v1/messages/{id}`) costs a loop: a scan
//! of its whole ring (2^20 records here; the default is 2^20 per server).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use smsc::events::{self, EventLog, Kind};
use smsc::msgid::MsgIdGen;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("events");
    g.throughput(Throughput::Elements(1));
    let mut ids = MsgIdGen::new(1_764_000_000_000, 0);
    for (name, cap) in [("on", 1usize << 20), ("off", 0)] {
        let mut log = EventLog::new(cap, 0);
        for i in 0..cap as u64 {
            log.record(i, i, Kind::Accepted, b"447700900002");
        }
        let mut seq = 0u64;
        g.bench_function(format!("accepted_{name}"), |b| {
            b.iter(|| {
                seq += 1;
                log.record(
                    events::key(0, seq),
                    seq,
                    Kind::Accepted,
                    black_box(b"447700900002"),
                );
            })
        });
        let id = ids.id_of(123_456_789);
        g.bench_function(format!("receipt_sent_{name}"), |b| {
            b.iter(|| {
                seq += 1;
                if log.is_on() {
                    let k = events::key_of_id(black_box(&id));
                    let (d, n) = events::session_data(0, 7, 9);
                    log.record(k, seq, Kind::ReceiptSent, &d[..usize::from(n)]);
                }
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("events_lookup");
    let mut log = EventLog::new(1 << 20, 0);
    for i in 0..(1u64 << 20) {
        log.record(events::key(0, i / 3), i, Kind::Accepted, b"447700900002");
    }
    g.sample_size(10);
    g.bench_function("scan_2^20", |b| {
        b.iter(|| black_box(log.of(black_box(events::key(0, 1000)))).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
