//! The properties every input must satisfy, shared by the libFuzzer target
//! (`fuzz_targets/decode.rs`) and the stable replay of the kept corpus
//! (`tests/codec_regressions.rs`), which include this file with `#[path]`.
//!
//! For any octets:
//! - `check_frame` and `decode` never panic, and their answers are
//!   consistent with the header octets (length bounds, sequence number);
//! - a successful `decode` re-encodes (into a preallocated slice) to octets
//!   that decode to the same PDU; for requests the octets are identical;
//! - neither `decode` nor `encode` touches the heap (a counting global
//!   allocator, armed only around those calls on this thread).
#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use smsc::pdu::{self, CommandId, CommandStatus, Frame, Header, HEADER_LEN};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

/// Counts heap calls made on a thread while it is armed.
pub struct CountingAlloc;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn note() {
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards every call unchanged to `System`; the bookkeeping only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
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

/// Runs `f` and returns its result with the number of heap allocations it
/// made on this thread.
pub fn allocs_in<R>(f: impl FnOnce() -> R) -> (R, u64) {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (r, COUNT.with(|c| c.get()))
}

/// What became of an input (for reports and corpus selection).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Fewer octets than the frame needs.
    Incomplete,
    /// command_length out of bounds: nack and close.
    BadFrame,
    /// A complete frame refused with this status.
    Rejected(CommandId, CommandStatus),
    /// A complete frame decoded.
    Decoded(CommandId),
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Checks every property on one input; panics on a violation. Returns the
/// outcome of decoding the first frame under the default bound.
pub fn check(data: &[u8]) -> Outcome {
    for max in [
        pdu::MAX_UNBOUND_PDU_BYTES,
        pdu::DEFAULT_MAX_PDU_BYTES,
        u32::MAX,
    ] {
        check_framing(data, max);
    }
    // decode on an unframed slice: never panics, never reads past it.
    let (r, n) = allocs_in(|| pdu::decode(data));
    assert_eq!(n, 0, "decode allocated");
    if let Ok(p) = r {
        assert!(p.header.command_length as usize <= data.len());
        assert!(p.header.command_length as usize >= HEADER_LEN);
    }
    // The input as a stream of pipelined PDUs.
    let mut rest = data;
    let mut first = None;
    loop {
        let outcome = match pdu::check_frame(rest, pdu::DEFAULT_MAX_PDU_BYTES) {
            Ok(Frame::NeedMore(_)) => Outcome::Incomplete,
            Err(_) => Outcome::BadFrame,
            Ok(Frame::Complete(len)) => {
                let o = check_frame_body(&rest[..len]);
                rest = &rest[len..];
                o
            }
        };
        first.get_or_insert(outcome);
        if matches!(outcome, Outcome::Incomplete | Outcome::BadFrame) {
            break;
        }
    }
    first.unwrap()
}

fn check_framing(data: &[u8], max: u32) {
    let (r, n) = allocs_in(|| pdu::check_frame(data, max));
    assert_eq!(n, 0, "check_frame allocated");
    let Some(len) = be32(data, 0) else {
        assert_eq!(r, Ok(Frame::NeedMore(HEADER_LEN)));
        return;
    };
    match r {
        Err(e) => {
            assert!(len < HEADER_LEN as u32 || len > max, "{e:?}");
            assert_eq!(e.command_length, len);
            assert_eq!(e.max, max);
            assert_eq!(e.sequence_number, be32(data, 12).unwrap_or(0));
            assert_eq!(e.status(), CommandStatus::ESME_RINVCMDLEN);
        }
        Ok(Frame::NeedMore(need)) => {
            assert!((HEADER_LEN as u32..=max).contains(&len));
            assert_eq!(need, len as usize);
            assert!(need > data.len());
        }
        Ok(Frame::Complete(have)) => {
            assert!((HEADER_LEN as u32..=max).contains(&len));
            assert_eq!(have, len as usize);
            assert!(have <= data.len());
        }
    }
}

/// One complete frame: decode, and re-encode what decodes.
fn check_frame_body(frame: &[u8]) -> Outcome {
    let raw = Header::peek(frame).unwrap();
    let (r, n) = allocs_in(|| pdu::decode(frame));
    assert_eq!(n, 0, "decode allocated");
    let p = match r {
        Err(e) => {
            assert_eq!(e.command_id, raw.command_id);
            assert_eq!(e.sequence_number, raw.sequence_number);
            assert_ne!(e.status, CommandStatus::ESME_ROK);
            let _ = e.response_id();
            return Outcome::Rejected(raw.command_id, e.status);
        }
        Ok(p) => p,
    };
    assert_eq!(p.header, raw);
    assert_eq!(p.body.command_id(), raw.command_id);
    let len = p
        .encoded_len()
        .unwrap_or_else(|e| panic!("decoded {:?} does not encode: {e:?}", p.body));
    OUT.with(|out| {
        let mut out = out.borrow_mut();
        if out.len() < len {
            out.resize(len, 0);
        }
        let (w, n) = allocs_in(|| p.encode(&mut out[..]));
        assert_eq!(n, 0, "encode allocated");
        assert_eq!(w, Ok(len));
        let again = pdu::decode(&out[..len]).unwrap_or_else(|e| {
            panic!(
                "re-encoded {:?} does not decode: {e:?}",
                p.body.command_id()
            )
        });
        assert_eq!(again.body, p.body);
        assert_eq!(again.header.command_id, p.header.command_id);
        assert_eq!(again.header.command_status, p.header.command_status);
        assert_eq!(again.header.sequence_number, p.header.sequence_number);
        assert_eq!(again.header.command_length as usize, len);
        if !raw.command_id.is_response() {
            // Requests keep every octet: encoding is the exact inverse.
            assert_eq!(&out[..len], frame, "request did not re-encode identically");
        }
    });
    Outcome::Decoded(raw.command_id)
}
