//! Per-event cost of the message event log (`src/events.rs`): what
//! `GET /api/v1/messages/{id}` costs the per-message path. An `accepted`
//! event with a 12-digit destination, and a `receipt_sent` event (its key
//! parsed from the receipt's message id, as the pump does), into a ring of
//! 2^20 records that has wrapped (every write lands on a touched page, as
//! in a server that has run a while); and the same calls with the log off.

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
