//! The operator's delivery service behind the SMSC: a submit to a prefix
//! routed to the broker (`--route 44=nats`) is published as JSON to
//! `smsc.mt.<system_id>` (stream SMSC_MT) and answered only once JetStream
//! has it; the service's reports (`smsc.report`) finish the message like
//! an MO delivery's outcome (the standard receipt, query_sm's state), and
//! its inbound MO (`smsc.mo`) is injected like `POST /mo`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::ToBroker;
use crate::accept::LateResponse;
use crate::account::Account;
use crate::conn::Session;
use crate::delivery::MoOutcome;
use crate::dlr::Stat;
use crate::loop_state::LoopState;
use crate::msgid::MessageId;
use crate::pdu::{CommandId, CommandStatus as S, Sm, Tag};
use crate::server::Shared;
use crate::session::respond::refuse;
use crate::store::MessageState;
use base64::Engine;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Subject prefix of broker-routed messages: `smsc.mt.<system_id token>`.
pub const MT: &str = "smsc.mt";
pub const MT_STREAM: &str = "SMSC_MT";
/// Delivery reports from the service.
pub const REPORT: &str = "smsc.report";
/// Inbound MO from the service.
pub const MO: &str = "smsc.mo";

/// A submit whose destination the broker owns (the caller checked the
/// route): stored ENROUTE until the service reports, its submit_sm_resp
/// held until JetStream acknowledges the publish.
#[allow(clippy::too_many_arguments)]
#[cold]
pub fn on_submit(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    sm: &Sm<'_>,
    info: &crate::submit::MessageInfo<'_>,
    acct: &Account,
    data_sm: bool,
) {
    let resp = if data_sm {
        CommandId::DATA_SM_RESP
    } else {
        CommandId::SUBMIT_SM_RESP
    };
    let Some(c) = &shared.cluster else {
        return refuse(&mut st.m, s, resp, S::ESME_RSYSERR, seq);
    };
    // Past the bound of what waits for the broker: refused, not queued.
    if c.room() == 0 {
        st.m.submit_ex += 1;
        return refuse(&mut st.m, s, resp, S::ESME_RSYSERR, seq);
    }
    let source = (sm.source_addr_ton, sm.source_addr_npi, sm.source_addr);
    let Some(mseq) = st
        .store
        .admit(acct.id, st.clock.unix, source, MessageState::Enroute, 0)
    else {
        st.m.submit_store_full += 1;
        return refuse(&mut st.m, s, resp, S::ESME_RMSGQFUL, seq);
    };
    let id = st.accept.id_of(mseq);
    let payload = to_json(shared, acct, sm, info, &id, st.clock.unix);
    // Its outcome is the service's report: no due time, only its expiry.
    let prefer = s.receiving.then_some((s.key.slot, s.key.gen));
    let never = Duration::from_secs(u64::from(u32::MAX) * 64);
    crate::accept::hold(
        st,
        shared,
        acct,
        sm,
        info,
        mseq,
        id,
        prefer,
        Stat::Delivrd,
        never,
        None,
    );
    let slot = st.accept.late.insert(LateResponse {
        key: s.key,
        seq,
        id,
        data_sm,
    });
    c.held.fetch_add(1, Ordering::Relaxed);
    let op = ToBroker::Mt {
        subject: format!("{MT}.{}", super::wire::token(&acct.system_id)),
        msg_id: format!("t{}", String::from_utf8_lossy(&id)),
        payload,
        loop_id: st.id,
        slot,
        mseq,
    };
    if c.send(op).is_err() {
        c.held.fetch_sub(1, Ordering::Relaxed);
        st.accept.late.try_remove(slot);
        refused(st, mseq);
        return refuse(&mut st.m, s, resp, S::ESME_RSYSERR, seq);
    }
    st.m.submit_ok += 1;
}

/// A broker-routed message JetStream never took: final (REJECTD, no
/// receipt), its journal line finished. The ESME got ESME_RSYSERR.
pub fn refused(st: &mut LoopState, mseq: u64) {
    let now = st.clock.unix;
    let Some(p) = st.finish_message(mseq, MessageState::Rejected, 1, now) else {
        return;
    };
    st.delivery.journal.done(p.jid);
}

/// The JSON of `smsc.mt.<system_id>` (docs/operations.md, "Broker routes").
fn to_json(
    shared: &Shared,
    acct: &Account,
    sm: &Sm<'_>,
    info: &crate::submit::MessageInfo<'_>,
    id: &MessageId,
    now: i64,
) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut payload = sm.short_message;
    let mut tlvs = Vec::new();
    for t in sm.tlvs.iter() {
        if t.tag == Tag::MESSAGE_PAYLOAD && payload.is_empty() {
            payload = t.value;
        }
        let mut hex = Vec::new();
        crate::receipt::push_hex(&mut hex, t.value);
        tlvs.push(serde_json::json!({"tag": t.tag.0, "hex": String::from_utf8_lossy(&hex)}));
    }
    let addr = |ton: u8, npi: u8, a: &[u8]| serde_json::json!({"addr": String::from_utf8_lossy(a), "ton": ton, "npi": npi});
    let v = serde_json::json!({
        "id": String::from_utf8_lossy(id),
        "system_id": acct.system_id,
        "node": shared.config.node_id,
        "source": addr(sm.source_addr_ton, sm.source_addr_npi, sm.source_addr),
        "destination": addr(sm.dest_addr_ton, sm.dest_addr_npi, sm.destination_addr),
        "data_coding": sm.data_coding,
        "esm_class": sm.esm_class,
        "protocol_id": sm.protocol_id,
        "priority_flag": sm.priority_flag,
        "registered_delivery": sm.registered_delivery,
        "payload": b64.encode(payload),
        "tlvs": tlvs,
        "schedule_time": info.schedule_at,
        "validity": info.expires_at.unwrap_or(now + shared.config.default_validity.as_secs() as i64),
        "submit_time": now,
    });
    v.to_string().into_bytes()
}

/// A report on `smsc.report`; other fields are ignored.
#[derive(Deserialize)]
struct Report {
    id: String,
    stat: String,
    #[serde(default)]
    err: u16,
}

/// A report for one of this node's messages: the loop and the outcome.
/// None for another node's id, another run's, or anything malformed.
pub fn parse_report(shared: &Shared, payload: &[u8]) -> Option<(usize, MoOutcome)> {
    if payload.len() > 4096 {
        return None;
    }
    let r: Report = serde_json::from_slice(payload).ok()?;
    let (start, lp, seq) = crate::msgid::parse(r.id.as_bytes())?;
    if start != shared.id_start || usize::from(lp) >= shared.config.threads {
        return None;
    }
    let stat = Stat::from_str_ci(r.stat.as_bytes())?;
    if stat == Stat::Enroute {
        return None;
    }
    let err = if stat == Stat::Delivrd {
        0
    } else {
        r.err.max(1)
    };
    Some((
        usize::from(lp),
        MoOutcome {
            origin: (lp, seq),
            node: 0,
            stat,
            err,
        },
    ))
}

/// An inbound MO from `smsc.mo` (the JSON of `POST /mo`), handed to a
/// loop like one posted; Err: why it was refused.
pub fn inject_mo(shared: &Shared, payload: &[u8], next: &mut usize) -> Result<(), String> {
    if payload.len() > 64 * 1024 {
        return Err("too long".into());
    }
    let req = crate::inject::parse(payload)?;
    let lp = *next % shared.config.threads.max(1);
    *next = next.wrapping_add(1);
    // Its id is not needed: nobody waits on this reply.
    let (reply, _) = std::sync::mpsc::channel();
    let r = crate::admin::Request::Mo(crate::inject::Inject { req, reply });
    crate::admin::ask(shared, lp, r)
}
