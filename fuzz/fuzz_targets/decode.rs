//! libFuzzer target: `check_frame` + `decode` on arbitrary octets must never
//! panic or allocate, and whatever decodes must re-encode to the same PDU.
//! The properties live in `../check.rs`, shared with the stable replay test
//! `tests/codec_regressions.rs`.
#![no_main]

#[path = "../check.rs"]
mod check;

#[global_allocator]
static ALLOC: check::CountingAlloc = check::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
