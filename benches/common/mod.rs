//! The PDUs the codec bench and `examples/encode_probe.rs` measure, and
//! rusmpp's encode and decode as both call them (the example includes this
//! file by path).
#![allow(dead_code)]

use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::{Encode, Length};
use rusmpp::types::AnyOctetString;
use rusmpp::Command;
use smsc::account::AccountId;
use smsc::dlr::Stat;
use smsc::pdu::{Body, Pdu, Sm, Tlvs};
use smsc::receipt::{Addr, Receipt, MAX_PDU_LEN};

pub const SEQ: u32 = 0x0102_0304;
pub const SRC: &[u8] = b"447700900001";
pub const DST: &[u8] = b"447700900002";
pub const TEXT: &[u8; 140] = b"Your verification code is 482913. It expires in 10 minutes. Do not share this code with anyone, including people claiming to be from us. App";
pub const MSG_ID: &[u8] = b"0123456789a0100000000001";

/// A 140-octet submit_sm asking for a receipt, no TLVs.
pub fn submit_sm_pdu() -> Pdu<'static> {
    Pdu::new(
        SEQ,
        Body::SubmitSm(Sm {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: SRC,
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: DST,
            registered_delivery: 1,
            short_message: TEXT,
            tlvs: Tlvs::EMPTY,
            ..Sm::default()
        }),
    )
}

/// The receipt for that message (DELIVRD, done 7 s after submit).
pub fn receipt() -> Receipt {
    let mut r = Receipt::new(
        AccountId(1),
        MSG_ID.try_into().unwrap(),
        Addr::new(1, 1, DST),
        Addr::new(1, 1, SRC),
        1_715_005_320,
        Stat::Delivrd,
        &TEXT[..20],
        i64::MAX,
    );
    r.done_unix += 7;
    r
}

/// The receipt as the server sends it: a deliver_sm with its TLVs.
pub fn receipt_bytes() -> Vec<u8> {
    let mut out = [0u8; MAX_PDU_LEN];
    let n = receipt().encode(SEQ, true, &mut out).unwrap();
    out[..n].to_vec()
}

/// rusmpp's encode: `length()`, command_length, then `Encode::encode`.
pub fn rusmpp_encode(cmd: &Command, out: &mut [u8]) -> usize {
    let len = 4 + cmd.length();
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    cmd.encode(&mut out[4..len]) + 4
}

/// rusmpp's decode of a whole frame into its owned `Command`.
pub fn rusmpp_decoded(frame: &[u8]) -> Command {
    let mut src = AnyOctetString::from_slice(&frame[4..]).into_bytes().into();
    Command::decode(&mut src, frame.len() - 4).unwrap().0
}
