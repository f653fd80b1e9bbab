//! `GET /api/v1/messages/{id}`: a message's record from the store of the
//! loop that holds it, and its events from every loop (its receipt or MO
//! deliver_sm may have gone out on another loop), merged by time.
//!
//! The loops answer a [`Request::Message`] between two iterations' work:
//! one index into the store and one scan of the loop's event ring.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::{ask, error, iso, json_response, Request, Response, LOOP_WAIT};
use crate::account::AccountId;
use crate::events::{self, Event, Kind};
use crate::loop_state::LoopState;
use crate::pdu::CommandStatus;
use crate::server::Shared;
use crate::store::MessageState;
use serde_json::{json, Value};
use std::time::Instant;

/// What the loop holding a message knows of it.
#[derive(Clone, Debug)]
pub struct Record {
    pub account: AccountId,
    pub state: MessageState,
    pub error: u8,
    pub submit: u32,
    pub done: u32,
    pub source: String,
    /// Known while it is pending (its receipt names it).
    pub destination: Option<String>,
    /// Pending: when its outcome is due and when it expires (Unix s).
    pub due: Option<i64>,
    pub expires: Option<i64>,
}

/// One loop's answer.
#[derive(Clone, Debug, Default)]
pub struct LoopView {
    /// The loop that answered.
    pub lp: usize,
    pub record: Option<Record>,
    pub events: Vec<Event>,
}

/// On loop `st`: message `key`'s record if it is this loop's, and its events here.
pub fn view(st: &LoopState, key: u64) -> LoopView {
    let (lp, seq) = ((key & 0xFF) as usize, key >> 8);
    let record = (lp == st.id)
        .then(|| st.store.get(seq, st.clock.unix))
        .flatten()
        .map(|m| {
            let pending = st
                .store
                .pending_index(seq)
                .and_then(|i| st.store.pending_at(i));
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            Record {
                account: m.account,
                state: m.state,
                error: m.error,
                submit: m.submit,
                done: m.done,
                source: text(m.source.as_bytes()),
                destination: pending.map(|p| text(p.receipt.source.as_bytes())),
                due: pending.map(|p| p.due).filter(|&d| d != i64::MAX),
                expires: pending.map(|p| p.expires),
            }
        });
    LoopView {
        lp: st.id,
        record,
        events: st.delivery.events.of(key),
    }
}

fn state_name(s: MessageState) -> &'static str {
    match s {
        MessageState::Enroute => "ENROUTE",
        MessageState::Delivered => "DELIVERED",
        MessageState::Expired => "EXPIRED",
        MessageState::Deleted => "DELETED",
        MessageState::Undeliverable => "UNDELIVERABLE",
        MessageState::Accepted => "ACCEPTED",
        MessageState::Unknown => "UNKNOWN",
        MessageState::Rejected => "REJECTED",
    }
}

fn state_of(v: u8) -> Option<MessageState> {
    use MessageState::*;
    [
        Enroute,
        Delivered,
        Expired,
        Deleted,
        Undeliverable,
        Accepted,
        Unknown,
        Rejected,
    ]
    .into_iter()
    .find(|s| *s as u8 == v)
}

/// An event as JSON: when, what, and what its data says.
fn event_json(shared: &Shared, lp: usize, e: &Event) -> Value {
    let at_ms = shared.start_unix_ms + e.at / 1000;
    let data = e.data.get(..usize::from(e.len)).unwrap_or(&[]);
    let at = iso((at_ms / 1000) as i64);
    let mut v = serde_json::Map::new();
    v.insert("at_ms".into(), at_ms.into());
    v.insert(
        "at".into(),
        format!("{}.{:03}Z", at.trim_end_matches('Z'), at_ms % 1000).into(),
    );
    v.insert("event".into(), e.kind.name().into());
    v.insert("loop".into(), lp.into());
    let u32_at = |i: usize| {
        data.get(i..i + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    match e.kind {
        Kind::Accepted => {
            v.insert("destination".into(), String::from_utf8_lossy(data).into());
        }
        Kind::Held => {
            let due = data
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(i64::from_be_bytes);
            if let Some(d) = due.filter(|&d| d != i64::MAX) {
                v.insert("due".into(), iso(d).into());
            }
        }
        Kind::ReceiptSent | Kind::MoSent => {
            if let (Some(l), Some(slot), Some(gen)) = (data.first(), u32_at(1), u32_at(5)) {
                v.insert("session".into(), format!("{l}-{slot}-{gen}").into());
            }
        }
        Kind::Retried => {
            if let Some(st) = u32_at(0) {
                let name = CommandStatus(st)
                    .name()
                    .map(str::to_string)
                    .unwrap_or(format!("0x{st:08x}"));
                v.insert("status".into(), name.into());
            }
            v.insert("again".into(), (data.get(4) == Some(&1)).into());
        }
        Kind::Final => {
            if let Some(s) = data.first().and_then(|&b| state_of(b)) {
                v.insert("state".into(), state_name(s).into());
            }
            if let Some(e) = data.get(1) {
                v.insert("error".into(), (*e).into());
            }
        }
        Kind::MoAcked | Kind::ReceiptAcked | Kind::Replaced | Kind::None => {}
    }
    Value::Object(v)
}

/// Asks every loop about message `id` and answers with what they said.
pub fn lookup(shared: &Shared, id: &str) -> Response {
    let Some((start, lp, seq)) = crate::msgid::parse(id.as_bytes()) else {
        return error(
            400,
            format!("{id:?} is not a message id of this server (24 hex digits)"),
        );
    };
    let lp = usize::from(lp);
    if start != shared.start_unix_ms & 0xFFF_FFFF_FFFF || lp >= shared.config.threads {
        return error(404, format!("no message {id} (not an id of this run)"));
    }
    let key = events::key(lp as u8, seq);
    let (reply, answers) = std::sync::mpsc::channel();
    let mut asked = Vec::new();
    for l in 0..shared.config.threads {
        let r = Request::Message {
            key,
            reply: reply.clone(),
        };
        // The owner must answer; a busy other loop only costs its events.
        match ask(shared, l, r) {
            Ok(()) => asked.push(l),
            Err(e) if l == lp => return error(503, e),
            Err(_) => {}
        }
    }
    drop(reply);
    let deadline = Instant::now() + LOOP_WAIT;
    let mut views: Vec<LoopView> = Vec::new();
    while views.len() < asked.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match answers.recv_timeout(left) {
            Ok(v) => views.push(v),
            Err(_) => break,
        }
    }
    let record = views.iter().find_map(|v| v.record.clone());
    // Every loop's events, by time (one clock: the server's epoch).
    let mut all: Vec<(usize, Event)> = views
        .iter()
        .flat_map(|v| v.events.iter().map(move |e| (v.lp, *e)))
        .collect();
    all.sort_by_key(|(_, e)| e.at);
    let accepted_dest = all
        .iter()
        .find(|(_, e)| e.kind == Kind::Accepted)
        .map(|(_, e)| {
            String::from_utf8_lossy(e.data.get(..usize::from(e.len)).unwrap_or(&[])).into_owned()
        });
    let evs: Vec<Value> = all.iter().map(|(l, e)| event_json(shared, *l, e)).collect();
    let Some(r) = record else {
        if views.is_empty() {
            return error(503, "no answer from the server loops in time");
        }
        return error(
            404,
            format!(
                "no message {id} in the store (never stored, overwritten, or past its retention)"
            ),
        );
    };
    let system_id = shared
        .accounts()
        .get(r.account)
        .map(|a| a.system_id.clone());
    json_response(
        200,
        &json!({
            "message_id": id,
            "loop": lp,
            "system_id": system_id,
            "state": state_name(r.state),
            "final": r.state.is_final(),
            "error_code": r.error,
            "submitted": iso(i64::from(r.submit)),
            "done": (r.done > 0).then(|| iso(i64::from(r.done))),
            "due": r.due.map(iso),
            "expires": r.expires.filter(|&e| e < i64::MAX / 2).map(iso),
            "source": r.source,
            "destination": r.destination.or(accepted_dest),
            "events": evs,
            "events_recorded": shared.config.message_events > 0,
            "events_complete": views.len() == asked.len(),
        }),
    )
}
