//! Writing PDUs into a session's write buffer: responses, and the few
//! requests the server originates (enquire_link, unbind). A buffer at its
//! bound closes the session rather than growing.

use crate::conn::{Session, State};
use crate::metrics::Counters;
use crate::msgid::MessageId;
use crate::pdu::{self, Body, CommandId, CommandStatus as S, MessageIdResp};

pub fn respond(m: &mut Counters, s: &mut Session, seq: u32, status: S, body: Body<'_>) {
    let id = body.command_id();
    let Ok(len) = body.body_len().map(|n| n + pdu::HEADER_LEN) else {
        respond_header(m, s, id, S::ESME_RSYSERR, seq);
        return;
    };
    if s.tx.write_with(len, |buf| {
        pdu::encode_into(&body, status, seq, len, buf).unwrap_or(0)
    }) {
        m.tx(id);
        s.pdus_tx += 1;
        m.status(status);
    } else {
        // Write buffer at its bound despite the watermark: give up on the peer.
        s.state = State::Closing;
    }
}

/// [`respond`] for a body whose type is known: no dispatch on [`Body`].
#[inline]
pub fn respond_typed<'a, B: pdu::BodyCodec<'a>>(
    m: &mut Counters,
    s: &mut Session,
    id: CommandId,
    seq: u32,
    status: S,
    body: &B,
) {
    let Ok(len) = body.body_len().map(|n| n + pdu::HEADER_LEN) else {
        respond_header(m, s, id, S::ESME_RSYSERR, seq);
        return;
    };
    if s.tx.write_with(len, |buf| {
        pdu::encode_body_into(body, id, status, seq, len, buf).unwrap_or(0)
    }) {
        m.tx(id);
        s.pdus_tx += 1;
        m.status(status);
    } else {
        s.state = State::Closing;
    }
}

/// A header-only PDU: most error answers, enquire_link(_resp), unbind(_resp).
pub fn respond_header(m: &mut Counters, s: &mut Session, id: CommandId, status: S, seq: u32) {
    let ok = s.tx.write_with(pdu::HEADER_LEN, |buf| {
        pdu::encode_header_only(id, status, seq, buf).unwrap_or(0)
    });
    if ok {
        m.tx(id);
        s.pdus_tx += 1;
        if id.is_response() {
            m.status(status);
        }
    } else {
        s.state = State::Closing;
    }
}

/// A refusal: the response `id` with an error status and no body.
#[inline]
pub fn refuse(m: &mut Counters, s: &mut Session, id: CommandId, status: S, seq: u32) {
    respond_header(m, s, id, status, seq);
}

/// The OK answer (submit_sm_resp / data_sm_resp) to an accepted message.
pub fn respond_accepted(
    m: &mut Counters,
    s: &mut Session,
    seq: u32,
    id: &MessageId,
    data_sm: bool,
) {
    if data_sm {
        let body = pdu::DataSmResp {
            message_id: id,
            tlvs: pdu::Tlvs::EMPTY,
        };
        respond_typed(m, s, CommandId::DATA_SM_RESP, seq, S::ESME_ROK, &body);
    } else {
        let body = MessageIdResp { message_id: id };
        respond_typed(m, s, CommandId::SUBMIT_SM_RESP, seq, S::ESME_ROK, &body);
    }
}
