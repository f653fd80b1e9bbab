//! `GET /api/v1/sessions` and `POST /api/v1/sessions/{id}/unbind`.
//!
//! Each loop copies a row per session into its published snapshot at
//! housekeeping (every 100 ms, at most [`MAX_ROWS`] per loop): the list is
//! read from there and costs the loops nothing per PDU. An unbind goes to
//! the session's loop as a [`Request::Unbind`].
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::{ask, error, json_response, Request, Response, LOOP_WAIT};
use crate::account::{AccountId, BindType};
use crate::conn::{Session, State};
use crate::server::Shared;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Sessions listed per loop (the count says how many there are).
pub const MAX_ROWS: usize = 2000;

/// One session as its loop published it.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub slot: u32,
    pub gen: u32,
    pub peer: SocketAddr,
    /// The balancer it came through (PROXY protocol).
    pub via: Option<SocketAddr>,
    pub account: Option<AccountId>,
    pub state: State,
    pub bound_at: u32,
    pub tls: bool,
    pub pdus_rx: u64,
    pub pdus_tx: u64,
    pub inflight: u32,
}

impl SessionRow {
    pub fn of(s: &Session) -> SessionRow {
        SessionRow {
            slot: s.key.slot,
            gen: s.key.gen,
            peer: s.peer,
            via: s.via,
            account: s.account,
            state: s.state,
            bound_at: s.bound_at,
            tls: s.tls,
            pdus_rx: s.pdus_rx,
            pdus_tx: s.pdus_tx,
            inflight: s.inflight.len() as u32,
        }
    }
}

/// Binds by type (transmitter, receiver, transceiver) per account.
pub type Binds = Vec<[u32; 3]>;

/// A loop's rows (up to [`MAX_ROWS`]) and binds per account, from its
/// sessions; returns how many sessions it has.
pub fn collect<'a>(
    sessions: impl Iterator<Item = &'a Session>,
    rows: &mut Vec<SessionRow>,
    binds: &mut Binds,
) -> u64 {
    let mut n = 0;
    for s in sessions {
        n += 1;
        if rows.len() < MAX_ROWS {
            rows.push(SessionRow::of(s));
        }
        if let (Some(a), Some(t)) = (s.account, s.bind_type()) {
            if binds.len() <= a.index() {
                binds.resize(a.index() + 1, [0; 3]);
            }
            if let Some(b) = binds.get_mut(a.index()) {
                let i = match t {
                    BindType::Transmitter => 0,
                    BindType::Receiver => 1,
                    BindType::Transceiver => 2,
                };
                if let Some(c) = b.get_mut(i) {
                    *c += 1;
                }
            }
        }
    }
    n
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Open => "open",
        State::Bound(BindType::Transmitter) => "transmitter",
        State::Bound(BindType::Receiver) => "receiver",
        State::Bound(BindType::Transceiver) => "transceiver",
        State::Unbinding => "unbinding",
        State::Closing => "closing",
    }
}

/// Every loop's published sessions.
pub fn list(shared: &Shared) -> Value {
    let accounts = shared.accounts();
    let window = shared.config.window;
    let mut out = Vec::new();
    let mut total = 0u64;
    for (lp, snap) in shared.snapshots.iter().enumerate() {
        // Copied out: the loop's next publish does not wait for the JSON.
        let (rows, n) = match snap.lock() {
            Ok(s) => (s.sessions.clone(), s.sessions_total),
            Err(_) => continue,
        };
        total += n;
        for r in &rows {
            let system_id = r
                .account
                .and_then(|a| accounts.get(a))
                .map(|a| a.system_id.as_str());
            out.push(json!({
                "id": format!("{lp}-{}-{}", r.slot, r.gen),
                "loop": lp,
                "peer": r.peer.to_string(),
                "via": r.via.map(|v| v.to_string()),
                "system_id": system_id,
                "bind_type": state_name(r.state),
                "bound_since": (r.bound_at > 0).then(|| super::iso(i64::from(r.bound_at))),
                "bound_since_unix": (r.bound_at > 0).then_some(r.bound_at),
                "tls": r.tls,
                "pdus_in": r.pdus_rx,
                "pdus_out": r.pdus_tx,
                "deliver_sm_inflight": r.inflight,
                "window": window,
            }));
        }
    }
    json!({ "sessions": out, "total": total, "listed_per_loop_max": MAX_ROWS })
}

/// `{loop}-{slot}-{gen}`, as `list` names sessions.
fn parse_id(id: &str) -> Option<(usize, u32, u32)> {
    let mut it = id.split('-');
    let lp = it.next()?.parse().ok()?;
    let slot = it.next()?.parse().ok()?;
    let gen = it.next()?.parse().ok()?;
    it.next().is_none().then_some((lp, slot, gen))
}

/// The session's loop sends it unbind (it closes when the ESME answers,
/// or at the response timer).
pub fn unbind(shared: &Shared, id: &str) -> Response {
    let Some((lp, slot, gen)) = parse_id(id) else {
        return error(400, format!("{id:?} is not a session id (LOOP-SLOT-GEN)"));
    };
    if lp >= shared.config.threads {
        return error(404, format!("no session {id}"));
    }
    let (reply, answer) = std::sync::mpsc::channel();
    if let Err(e) = ask(shared, lp, Request::Unbind { slot, gen, reply }) {
        return error(503, e);
    }
    match answer.recv_timeout(LOOP_WAIT) {
        Ok(true) => json_response(200, &json!({ "unbind_sent": id })),
        Ok(false) => error(404, format!("no bound session {id}")),
        Err(_) => error(503, "no answer from the server loop in time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly() {
        assert_eq!(parse_id("0-12-7"), Some((0, 12, 7)));
        for bad in [
            "",
            "0",
            "0-1",
            "0-1-2-3",
            "a-1-2",
            "-1-2-3",
            "0-99999999999-1",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
