//! Measurement probe for the codec's encode goal (issue 2: 3x rusmpp on a
//! prebuilt submit_sm and deliver_sm). Not used by the server or the tests.
//!
//! It runs one encoder in a loop in its own process, so that the runs can be
//! alternated and compared as ratios on a noisy machine:
//!
//! ```sh
//! cargo build --release --example encode_probe
//! for i in 1 2 3 4 5 6; do for w in ours unchecked rusmpp d_ours d_unchecked d_rusmpp; do
//!   /usr/bin/time -f "$w %U" taskset -c 0 ./target/release/examples/encode_probe $w 50000000
//! done; done
//! ```
//!
//! - `ours`: `Pdu::encode` of a prebuilt submit_sm (the shipped, checked writer).
//! - `unchecked`: the same octets written through raw pointers after one
//!   length check: the ceiling of the current layout without per-field bounds
//!   checks. This is the `unsafe` design the goal would need; it is measured
//!   here, not shipped.
//! - `rusmpp`: `length()` + `Encode::encode` of the same PDU, prebuilt.
//! - `d_*`: the same three for a receipt deliver_sm (with its two TLVs).
//!
//! Each encoder's output is checked against the others before timing.
#[path = "../benches/common/mod.rs"]
mod common;

use common::{receipt_bytes, rusmpp_decoded, rusmpp_encode, submit_sm_pdu, SEQ};
use smsc::pdu::{self, Body, Sm};
use std::hint::black_box;

/// Copies `s` to `d` and returns the end: short lengths as two overlapping
/// unaligned word copies (as the shipped writer does), the rest by memcpy.
///
/// # Safety
/// `d` must be valid for `s.len()` octets of writes.
#[inline(always)]
unsafe fn put(d: *mut u8, s: &[u8]) -> *mut u8 {
    #[inline(always)]
    unsafe fn two<T: Copy>(d: *mut u8, s: *const u8, n: usize) {
        let w = std::mem::size_of::<T>();
        // SAFETY: w <= n, so both words lie inside `s` and inside `d`.
        unsafe {
            let a = s.cast::<T>().read_unaligned();
            let b = s.add(n - w).cast::<T>().read_unaligned();
            d.cast::<T>().write_unaligned(a);
            d.add(n - w).cast::<T>().write_unaligned(b);
        }
    }
    let (n, sp) = (s.len(), s.as_ptr());
    // SAFETY: every access is below n, within `s` and (by contract) `d`.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                *d = *sp;
                *d.add(n / 2) = *sp.add(n / 2);
                *d.add(n - 1) = *sp.add(n - 1);
            }
            4..=7 => two::<u32>(d, sp, n),
            8..=16 => two::<u64>(d, sp, n),
            17..=32 => two::<u128>(d, sp, n),
            33..=64 => two::<[u128; 2]>(d, sp, n),
            _ => std::ptr::copy_nonoverlapping(sp, d, n),
        }
        d.add(n)
    }
}

/// A C-string and its NUL. Safety as for [`put`], for `s.len() + 1` octets.
#[inline(always)]
unsafe fn put_cstr(d: *mut u8, s: &[u8]) -> *mut u8 {
    // SAFETY: the caller's contract covers the NUL too.
    unsafe {
        let d = put(d, s);
        *d = 0;
        d.add(1)
    }
}

/// submit_sm / deliver_sm written with one length check and no per-field
/// checks. Every length is taken once, checked against its field's maximum,
/// summed into `total`, and `out` is checked to hold `total` octets: the
/// writes below add up to exactly that sum.
#[inline(never)]
fn encode_unchecked(command_id: u32, seq: u32, sm: &Sm, out: &mut [u8]) -> Option<usize> {
    let (st, sa, da, sd, vp, msg, tl) = (
        sm.service_type,
        sm.source_addr,
        sm.destination_addr,
        sm.schedule_delivery_time,
        sm.validity_period,
        sm.short_message,
        sm.tlvs.raw(),
    );
    if st.len() >= 6
        || sa.len() >= 21
        || da.len() >= 21
        || sd.len() >= 17
        || vp.len() >= 17
        || msg.len() > 255
        || tl.len() > 65_536
    {
        return None;
    }
    // 16 header + 5 NULs + 2 + 2 + 3 + 5 one-octet fields = 33.
    let total = 33 + st.len() + sa.len() + da.len() + sd.len() + vp.len() + msg.len() + tl.len();
    let dst = out.get_mut(..total)?;
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&u32::try_from(total).ok()?.to_be_bytes());
    h[4..8].copy_from_slice(&command_id.to_be_bytes());
    h[12..16].copy_from_slice(&seq.to_be_bytes());
    let sm_length = u8::try_from(msg.len()).ok()?;
    // SAFETY: `dst` holds `total` octets, the exact sum of what is written.
    unsafe {
        let p = put(dst.as_mut_ptr(), &h);
        let p = put_cstr(p, st);
        let p = put(p, &[sm.source_addr_ton, sm.source_addr_npi]);
        let p = put_cstr(p, sa);
        let p = put(p, &[sm.dest_addr_ton, sm.dest_addr_npi]);
        let p = put_cstr(p, da);
        let p = put(p, &[sm.esm_class, sm.protocol_id, sm.priority_flag]);
        let p = put_cstr(p, sd);
        let p = put_cstr(p, vp);
        // Four octets, then sm_length on its own: one 5-octet array was
        // assembled on the stack and read back (a store-forwarding stall).
        let p = put(
            p,
            &[
                sm.registered_delivery,
                sm.replace_if_present_flag,
                sm.data_coding,
                sm.sm_default_msg_id,
            ],
        );
        *p = sm_length;
        let p = put(p.add(1), msg);
        put(p, tl);
    }
    Some(total)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().expect("encoder name");
    let n: u64 = args.next().expect("count").parse().expect("count");

    let submit = submit_sm_pdu();
    let submit_frame = submit.to_vec().unwrap();
    let Body::SubmitSm(submit_body) = submit.body else {
        unreachable!()
    };
    let submit_cmd = rusmpp_decoded(&submit_frame);

    let deliver_frame = receipt_bytes();
    let deliver = pdu::decode(&deliver_frame).unwrap();
    let Body::DeliverSm(deliver_body) = deliver.body else {
        unreachable!()
    };
    let deliver_cmd = rusmpp_decoded(&deliver_frame);

    // All three encoders produce the same octets.
    let mut out = [0u8; 1024];
    for (id, body, cmd, frame) in [
        (4, &submit_body, &submit_cmd, &submit_frame),
        (5, &deliver_body, &deliver_cmd, &deliver_frame),
    ] {
        let k = encode_unchecked(id, SEQ, body, &mut out).unwrap();
        assert_eq!(&out[..k], &frame[..]);
        let k = rusmpp_encode(cmd, &mut out);
        assert_eq!(&out[..k], &frame[..]);
    }

    let (id, pdu, body, cmd) = match which.strip_prefix("d_") {
        Some(_) => (5, &deliver, &deliver_body, &deliver_cmd),
        None => (4, &submit, &submit_body, &submit_cmd),
    };
    match which.trim_start_matches("d_") {
        "ours" => {
            for _ in 0..n {
                black_box(black_box(pdu).encode(&mut out).unwrap());
            }
        }
        "unchecked" => {
            for _ in 0..n {
                black_box(encode_unchecked(id, SEQ, black_box(body), &mut out).unwrap());
            }
        }
        "rusmpp" => {
            for _ in 0..n {
                black_box(rusmpp_encode(black_box(cmd), &mut out));
            }
        }
        other => panic!("unknown encoder {other}"),
    }
}
