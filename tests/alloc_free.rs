//! Zero heap allocations per decode and per encode, measured with a
//! counting `#[global_allocator]` (wrapping `System`) in this test binary.
//!
//! Counting is armed per thread and only inside the measured closure, so
//! the test harness, other tests running in parallel and the setup of each
//! input do not count. Each closure runs a few thousand times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smsc::account::AccountId;
use smsc::dlr::Stat;
use smsc::pdu::{
    self, Bind, Body, CommandId, CommandStatus, Frame, MessageIdResp, Pdu, Sm, Tag, TlvBuf,
};
use smsc::receipt::{Addr, Receipt, MAX_PDU_LEN};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping
// only touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const RUNS: usize = 5_000;

/// Heap allocations made by `RUNS` calls of `f` on this thread.
fn allocations(mut f: impl FnMut()) -> u64 {
    ALLOCS.with(|n| n.set(0));
    ARMED.with(|a| a.set(true));
    for _ in 0..RUNS {
        f();
    }
    ARMED.with(|a| a.set(false));
    ALLOCS.with(|n| n.get())
}

fn sm_tlvs() -> TlvBuf {
    let mut t = TlvBuf::new();
    t.push_u16(Tag::SAR_MSG_REF_NUM, 0x0102);
    t.push_u8(Tag::SAR_TOTAL_SEGMENTS, 2);
    t.push_u8(Tag::SAR_SEGMENT_SEQNUM, 1);
    t.push(Tag(0x1501), b"vendor");
    t
}

fn submit_sm(tlvs: &TlvBuf) -> Pdu<'_> {
    Pdu::new(
        7,
        Body::SubmitSm(Sm {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"447700900001",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447700900002",
            registered_delivery: 1,
            short_message: &[b'x'; 140],
            tlvs: tlvs.as_tlvs(),
            ..Sm::default()
        }),
    )
}

fn receipt() -> Receipt {
    let mut r = Receipt::new(
        AccountId(1),
        *b"0123456789a0100000000001",
        Addr::new(1, 1, b"447700900002"),
        Addr::new(1, 1, b"447700900001"),
        1_715_005_320,
        Stat::Undeliv,
        b"hello world",
        i64::MAX,
    );
    r.done_unix += 60;
    r.err = 1;
    r
}

fn bind(id: CommandId) -> Vec<u8> {
    let b = Bind {
        system_id: b"esme01",
        password: b"secret08",
        system_type: b"VMA",
        interface_version: 0x34,
        addr_ton: 1,
        addr_npi: 1,
        address_range: b"",
    };
    let body = match id {
        CommandId::BIND_RECEIVER => Body::BindReceiver(b),
        CommandId::BIND_TRANSMITTER => Body::BindTransmitter(b),
        _ => Body::BindTransceiver(b),
    };
    Pdu::new(1, body).to_vec().unwrap()
}

/// Frames the bytes and decodes them, as a connection would.
fn frame_and_decode(bytes: &[u8]) {
    let Ok(Frame::Complete(n)) = pdu::check_frame(black_box(bytes), pdu::DEFAULT_MAX_PDU_BYTES)
    else {
        panic!("not a frame")
    };
    let p = pdu::decode(&bytes[..n]).unwrap();
    black_box(p);
}

#[test]
fn the_counter_counts() {
    // Guards against a vacuous zero: an allocation inside the window counts,
    // one outside does not.
    let n = allocations(|| {
        black_box(Vec::<u8>::with_capacity(black_box(32)));
    });
    assert_eq!(n, RUNS as u64);
    black_box(Vec::<u8>::with_capacity(black_box(32)));
    assert_eq!(ALLOCS.with(|n| n.get()), RUNS as u64);
}

#[test]
fn decode_submit_sm_is_allocation_free() {
    let t = sm_tlvs();
    let bytes = submit_sm(&t).to_vec().unwrap();
    let n = allocations(|| {
        frame_and_decode(&bytes);
        // Reading its fields (TLV walk included) does not allocate either.
        let Body::SubmitSm(sm) = pdu::decode(black_box(&bytes)).unwrap().body else {
            panic!()
        };
        black_box((sm.tlvs.sar(), sm.tlvs.iter().count(), sm.short_message));
    });
    assert_eq!(n, 0);
}

#[test]
fn decode_deliver_sm_receipt_is_allocation_free() {
    let mut buf = [0u8; MAX_PDU_LEN];
    let len = receipt().encode(3, true, &mut buf).unwrap();
    let bytes = buf[..len].to_vec();
    let n = allocations(|| {
        frame_and_decode(&bytes);
        let Body::DeliverSm(sm) = pdu::decode(black_box(&bytes)).unwrap().body else {
            panic!()
        };
        black_box((sm.tlvs.receipted_message_id(), sm.tlvs.message_state()));
    });
    assert_eq!(n, 0);
}

#[test]
fn decode_enquire_link_is_allocation_free() {
    let bytes = Pdu::new(9, Body::EnquireLink).to_vec().unwrap();
    assert_eq!(allocations(|| frame_and_decode(&bytes)), 0);
}

#[test]
fn decode_bind_is_allocation_free() {
    for id in [
        CommandId::BIND_TRANSMITTER,
        CommandId::BIND_RECEIVER,
        CommandId::BIND_TRANSCEIVER,
    ] {
        let bytes = bind(id);
        assert_eq!(allocations(|| frame_and_decode(&bytes)), 0, "{id:?}");
    }
}

#[test]
fn decode_errors_are_allocation_free() {
    // A refused body (bad source_addr) and a refused frame cost nothing either.
    let t = sm_tlvs();
    let mut bad = submit_sm(&t).to_vec().unwrap();
    let at = 16 + 1 + 2; // service_type "\0", ton, npi: source_addr starts here
    bad[at..at + 12].fill(b'9');
    bad[at + 12] = b'9';
    let long = [0, 1, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1];
    let n = allocations(|| {
        let e = pdu::decode(black_box(&bad)).unwrap_err();
        black_box(e);
        black_box(pdu::check_frame(black_box(&long), pdu::DEFAULT_MAX_PDU_BYTES).unwrap_err());
    });
    assert_eq!(n, 0);
    assert_eq!(
        pdu::decode(&bad).unwrap_err().status,
        CommandStatus::ESME_RINVSRCADR
    );
}

#[test]
fn encode_submit_sm_resp_into_stack_buffer_is_allocation_free() {
    let id = *b"0123456789a0100000000001";
    let n = allocations(|| {
        let mut out = [0u8; 64];
        let p = Pdu::new(
            black_box(42),
            Body::SubmitSmResp(MessageIdResp {
                message_id: black_box(&id),
            }),
        );
        let len = p.encode(&mut out).unwrap();
        black_box(&out[..len]);
    });
    assert_eq!(n, 0);
}

#[test]
fn encode_receipt_deliver_sm_into_stack_buffer_is_allocation_free() {
    let r = receipt();
    for with_tlvs in [true, false] {
        let n = allocations(|| {
            let mut out = [0u8; MAX_PDU_LEN];
            let len = black_box(&r)
                .encode(black_box(5), with_tlvs, &mut out)
                .unwrap();
            black_box(&out[..len]);
        });
        assert_eq!(n, 0, "with_tlvs {with_tlvs}");
    }
    // What was encoded is the receipt we meant.
    let mut out = [0u8; MAX_PDU_LEN];
    let len = r.encode(5, true, &mut out).unwrap();
    let Body::DeliverSm(sm) = pdu::decode(&out[..len]).unwrap().body else {
        panic!()
    };
    assert_eq!(sm.esm_class, 0x04);
    assert_eq!(
        sm.tlvs.receipted_message_id(),
        Some(&b"0123456789a0100000000001"[..])
    );
}

#[test]
fn encode_submit_sm_into_preallocated_slice_is_allocation_free() {
    let t = sm_tlvs();
    let p = submit_sm(&t);
    let mut out = vec![0u8; 4096];
    let n = allocations(|| {
        let len = black_box(&p).encode(&mut out).unwrap();
        black_box(&out[..len]);
    });
    assert_eq!(n, 0);
    let len = p.encoded_len().unwrap();
    assert_eq!(pdu::decode(&out[..len]).unwrap().body, p.body);
}
