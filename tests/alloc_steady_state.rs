//! Zero heap allocations per message in steady state (submit_sm,
//! submit_sm_resp, receipt deliver_sm, deliver_sm_resp), shown with a
//! counting global allocator around the whole process: the server loop and
//! an allocation-free client in this test. Per-tick work (the 100 ms metrics
//! publish) allocates a little; per-message work must not, so the count for
//! 20,000 messages has to stay far below one per message.

mod common;
use smsc::pdu::{self, Body, CommandId, CommandStatus, Frame, MessageIdResp, Pdu};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Sends `n` submit_sm (window 32) with receipts and answers every receipt;
/// returns when all responses and receipts are in. Allocation-free.
fn exchange(stream: &mut std::net::TcpStream, submit: &mut [u8], n: u32, buf: &mut [u8]) {
    let (mut sent, mut resps, mut receipts) = (0u32, 0u32, 0u32);
    let mut have = 0usize;
    let mut out = [0u8; 64];
    while resps < n || receipts < n {
        while sent < n && sent - resps < 32 {
            sent += 1;
            submit[12..16].copy_from_slice(&sent.to_be_bytes());
            stream.write_all(submit).unwrap();
        }
        let k = stream.read(&mut buf[have..]).unwrap();
        assert!(k > 0, "server closed");
        have += k;
        let mut off = 0;
        while let Ok(Frame::Complete(len)) = pdu::check_frame(&buf[off..have], 1 << 16) {
            let p = pdu::decode(&buf[off..off + len]).unwrap();
            match p.body {
                Body::SubmitSmResp(_) => {
                    assert_eq!(p.header.command_status, CommandStatus::ESME_ROK);
                    resps += 1;
                }
                Body::DeliverSm(_) => {
                    receipts += 1;
                    let r = Pdu::new(
                        p.header.sequence_number,
                        Body::DeliverSmResp(MessageIdResp { message_id: b"" }),
                    );
                    let m = r.encode(&mut out).unwrap();
                    stream.write_all(&out[..m]).unwrap();
                }
                other => panic!("{other:?}"),
            }
            off += len;
        }
        buf.copy_within(off..have, 0);
        have -= off;
    }
}

#[test]
fn no_allocation_per_message_in_steady_state() {
    let srv = common::server(&["--shutdown-grace", "200ms"]);
    let mut stream = std::net::TcpStream::connect(srv.local_addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    let bind = Pdu::new(
        1,
        Body::BindTransceiver(pdu::Bind {
            system_id: b"esme",
            password: b"secret",
            interface_version: 0x34,
            ..Default::default()
        }),
    );
    stream.write_all(&bind.to_vec().unwrap()).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut hdr = [0u8; 64];
    let k = stream.read(&mut hdr).unwrap();
    let resp = pdu::decode(&hdr[..k]).unwrap();
    assert_eq!(resp.header.command_id, CommandId::BIND_TRANSCEIVER_RESP);
    assert_eq!(resp.header.command_status, CommandStatus::ESME_ROK);

    let sm = common::sm(b"twenty chars message", 1);
    let mut submit = Pdu::new(1, Body::SubmitSm(sm)).to_vec().unwrap();
    // Warm up: buffers, queues and lists reach their working size.
    exchange(&mut stream, &mut submit, 20_000, &mut buf);
    let before = ALLOCS.load(Ordering::Relaxed);
    let n = 20_000;
    exchange(&mut stream, &mut submit, n, &mut buf);
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    assert!(
        allocs < u64::from(n) / 100,
        "{allocs} allocations for {n} messages with receipts: something allocates per message"
    );
    drop(stream);
    srv.stop();
}
