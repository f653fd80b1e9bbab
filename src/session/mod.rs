//! The SMPP session: the state machine of §2.2 for one ESME connection.
//!
//! Owns the PDU dispatch (which operation is legal in which state, and the
//! answer to each), bind and unbind, and the session's own timers (session
//! init, enquire link, inactivity, response). It is called with the bytes
//! the loop read and a clock, and writes its answers into the session's
//! write buffer; it never touches a socket, so it runs in tests without one.
//! Messages go on to acceptance (`accept/`), deliver_sm_resp to delivery.
//!
//! - `mod.rs`: framing and the dispatch of every PDU.
//! - `bind.rs`: bind_*, unbind (both ways), a session's end.
//! - `timers.rs`: the session's timers.
//! - `respond.rs`: writing PDUs into the write buffer.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bind;
pub mod respond;
#[cfg(test)]
mod tests;
mod timers;

pub use bind::{end, start_unbind};
pub use timers::{arm_session_init, on_timer};

use crate::accept;
use crate::account::BindType;
use crate::buf::RingBuf;
use crate::conn::{Session, State};
use crate::delivery::Delivery;
use crate::loop_state::LoopState;
use crate::pdu::{self, Body, CommandId, CommandStatus as S, Sm};
use crate::server::Shared;
use respond::{refuse, respond_header};

/// Decodes and answers every complete PDU in `rx` (the session's read
/// buffer), consuming what it handled. Stops at a partial frame, at
/// backpressure (the write buffer over the high watermark) and when the
/// session closes. `scratch` holds a frame that wraps the ring's end.
pub fn process_frames(
    st: &mut LoopState,
    shared: &Shared,
    rx: &mut RingBuf,
    s: &mut Session,
    scratch: &mut [u8],
) {
    let max_pdu = if s.is_bound() {
        shared.config.max_pdu_bytes
    } else {
        pdu::MAX_UNBOUND_PDU_BYTES
    };
    let mut consumed_any = false;
    loop {
        if s.state == State::Closing || s.close_after_flush {
            break;
        }
        if s.tx.len() >= st.high_watermark {
            if !s.read_paused {
                s.read_paused = true;
                st.m.backpressure_pauses += 1;
            }
            break;
        }
        let Some(len) = rx.peek_u32_be(0) else {
            break;
        };
        if len < pdu::HEADER_LEN as u32 || len > max_pdu {
            // The stream cannot be re-synchronised: nack and close.
            let seq = rx.peek_u32_be(12).unwrap_or(0);
            st.m.frame_ex += 1;
            respond_header(
                &mut st.m,
                s,
                CommandId::GENERIC_NACK,
                S::ESME_RINVCMDLEN,
                seq,
            );
            s.close_after_flush = true;
            let all = rx.len();
            rx.consume(all);
            break;
        }
        let len = len as usize;
        if rx.len() < len {
            break;
        }
        let frame: &[u8] = match rx.contiguous(len) {
            Some(f) => f,
            None => {
                // A frame across the ring's end: copy it out (rare).
                let Some(dst) = scratch.get_mut(..len) else {
                    break;
                };
                if !rx.copy_front(len, dst) {
                    break;
                }
                dst
            }
        };
        handle_frame(st, shared, s, frame);
        s.pdus_rx += 1;
        rx.consume(len);
        consumed_any = true;
        // A bind changes the size limit for what follows.
        if s.is_bound() && max_pdu == pdu::MAX_UNBOUND_PDU_BYTES {
            return process_frames(st, shared, rx, s, scratch);
        }
    }
    if consumed_any {
        s.last_rx = st.clock.tick;
    }
}

/// Answers one whole PDU (`frame` is exactly its command_length octets).
/// Private and inlined into `process_frames`, its one caller: as a public
/// function it was not inlined (+14 instructions per submit_sm).
#[inline]
fn handle_frame(st: &mut LoopState, shared: &Shared, s: &mut Session, frame: &[u8]) {
    if fast_path(st, shared, s, frame) {
        return;
    }
    let pdu = match pdu::decode(frame) {
        Ok(p) => p,
        Err(e) => {
            st.m.decode_ex += 1;
            st.m.rx(e.command_id);
            if e.command_id.is_response() && e.status != S::ESME_RINVCMDID {
                // A response we cannot read is still a response: never answer it.
                st.m.unexpected_resp += 1;
                return;
            }
            if matches!(
                e.command_id,
                CommandId::OUTBIND | CommandId::ALERT_NOTIFICATION
            ) {
                return;
            }
            respond_header(&mut st.m, s, e.response_id(), e.status, e.sequence_number);
            return;
        }
    };
    let h = pdu.header;
    let seq = h.sequence_number;
    st.m.rx(h.command_id);
    if !matches!(pdu.body, Body::EnquireLink | Body::EnquireLinkResp) {
        s.last_traffic = st.clock.tick;
    }
    match pdu.body {
        Body::BindTransmitter(b) => bind::on_bind(st, shared, s, seq, BindType::Transmitter, &b),
        Body::BindReceiver(b) => bind::on_bind(st, shared, s, seq, BindType::Receiver, &b),
        Body::BindTransceiver(b) => bind::on_bind(st, shared, s, seq, BindType::Transceiver, &b),
        Body::EnquireLink => {
            respond_header(&mut st.m, s, CommandId::ENQUIRE_LINK_RESP, S::ESME_ROK, seq)
        }
        Body::EnquireLinkResp => match s.enquire_pending {
            Some((p, _)) if p == seq => s.enquire_pending = None,
            _ => st.m.unexpected_resp += 1,
        },
        Body::Unbind => bind::on_unbind(st, shared, s, seq),
        Body::UnbindResp => match s.unbind_pending {
            Some((p, _)) if p == seq => {
                s.unbind_pending = None;
                s.state = State::Closing;
            }
            _ => st.m.unexpected_resp += 1,
        },
        Body::SubmitSm(sm) => match s.bind_type() {
            Some(t) if t.can_submit() => accept::on_submit(st, shared, s, seq, &sm, false),
            _ => refuse(
                &mut st.m,
                s,
                CommandId::SUBMIT_SM_RESP,
                S::ESME_RINVBNDSTS,
                seq,
            ),
        },
        Body::DataSm(d) => match s.bind_type() {
            Some(_) => {
                // data_sm carries its text in message_payload; treat it as a submit.
                let sm = Sm {
                    service_type: d.service_type,
                    source_addr_ton: d.source_addr_ton,
                    source_addr_npi: d.source_addr_npi,
                    source_addr: d.source_addr,
                    dest_addr_ton: d.dest_addr_ton,
                    dest_addr_npi: d.dest_addr_npi,
                    destination_addr: d.destination_addr,
                    esm_class: d.esm_class,
                    registered_delivery: d.registered_delivery,
                    data_coding: d.data_coding,
                    tlvs: d.tlvs,
                    ..Sm::default()
                };
                if sm.source_addr.len() > 20 || sm.destination_addr.len() > 20 {
                    let code = if sm.source_addr.len() > 20 {
                        S::ESME_RINVSRCADR
                    } else {
                        S::ESME_RINVDSTADR
                    };
                    refuse(&mut st.m, s, CommandId::DATA_SM_RESP, code, seq);
                } else {
                    accept::on_submit(st, shared, s, seq, &sm, true);
                }
            }
            None => refuse(
                &mut st.m,
                s,
                CommandId::DATA_SM_RESP,
                S::ESME_RINVBNDSTS,
                seq,
            ),
        },
        Body::DeliverSmResp(_) => on_deliver_sm_resp(st, s, seq, h.command_status),
        Body::GenericNack => {
            // A nack of one of our deliver_sm counts as a failed delivery.
            if Delivery::in_window(s, seq) {
                let status = if h.command_status.is_ok() {
                    S::ESME_RSYSERR
                } else {
                    h.command_status
                };
                on_deliver_sm_resp(st, s, seq, status);
            } else if s.enquire_pending.is_some_and(|(p, _)| p == seq) {
                s.enquire_pending = None;
            } else if s.unbind_pending.is_some_and(|(p, _)| p == seq) {
                s.state = State::Closing;
            } else {
                st.m.unexpected_resp += 1;
            }
        }
        Body::QuerySm(q) => crate::manage::on_query(st, shared, s, seq, &q, Some(frame)),
        Body::CancelSm(c) => crate::manage::on_cancel(st, shared, s, seq, &c, Some(frame)),
        Body::ReplaceSm(r) => crate::manage::on_replace(st, shared, s, seq, &r, Some(frame)),
        Body::SubmitMulti(m) => match s.bind_type() {
            Some(t) if t.can_submit() => accept::on_submit_multi(st, shared, s, seq, &m),
            _ => refuse(
                &mut st.m,
                s,
                CommandId::SUBMIT_MULTI_RESP,
                S::ESME_RINVBNDSTS,
                seq,
            ),
        },
        Body::DeliverSm(_) => refuse(
            &mut st.m,
            s,
            CommandId::DELIVER_SM_RESP,
            S::ESME_RINVBNDSTS,
            seq,
        ),
        // ESMEs never send these two; neither has a response.
        Body::Outbind(_) | Body::AlertNotification(_) => {}
        Body::BindReceiverResp(_)
        | Body::BindTransmitterResp(_)
        | Body::BindTransceiverResp(_)
        | Body::SubmitSmResp(_)
        | Body::SubmitMultiResp(_)
        | Body::DataSmResp(_)
        | Body::QuerySmResp(_)
        | Body::CancelSmResp
        | Body::ReplaceSmResp => st.m.unexpected_resp += 1,
    }
}

/// The two PDUs of the hot loop, handled without building a `Pdu`/`Body`
/// (each a few hundred bytes moved per PDU otherwise). Same answers and
/// counters as the general path; returns false for everything else.
#[inline]
fn fast_path(st: &mut LoopState, shared: &Shared, s: &mut Session, frame: &[u8]) -> bool {
    use crate::pdu::BodyCodec;
    let Some(h) = pdu::Header::peek(frame) else {
        return false;
    };
    let seq = h.sequence_number;
    match h.command_id {
        CommandId::SUBMIT_SM => {
            if !s.bind_type().is_some_and(|t| t.can_submit()) {
                return false;
            }
            let Some(body) = frame.get(pdu::HEADER_LEN..) else {
                return false;
            };
            let mut r = pdu::Reader::new(body);
            // Used in place by reference: moving it out of the Result read
            // its one-octet fields back 16 octets at a time right after they
            // were written (a store-forwarding stall per message).
            let read = pdu::Sm::read(&mut r);
            let Ok(sm) = &read else {
                // Let the general path produce the exact error answer.
                return false;
            };
            st.m.rx(CommandId::SUBMIT_SM);
            s.last_traffic = st.clock.tick;
            accept::on_submit(st, shared, s, seq, sm, false);
            true
        }
        CommandId::DELIVER_SM_RESP => {
            // Its body (an empty message_id) is never used: the header says all.
            st.m.rx(CommandId::DELIVER_SM_RESP);
            s.last_traffic = st.clock.tick;
            on_deliver_sm_resp(st, s, seq, h.command_status);
            true
        }
        _ => false,
    }
}

/// deliver_sm_resp (or a generic_nack of a deliver_sm): delivery's window.
#[inline]
fn on_deliver_sm_resp(st: &mut LoopState, s: &mut Session, seq: u32, status: S) {
    let answered = st
        .delivery
        .on_resp(s, seq, status, &mut st.clock, &mut st.m);
    if answered == crate::delivery::Answered::Unexpected {
        st.m.unexpected_resp += 1;
    }
}
