//! Binding and unbinding: bind_transmitter / bind_receiver /
//! bind_transceiver against the accounts in force, unbind from either side,
//! and what a session's end releases.

use super::respond::{respond, respond_header};
use super::timers::arm_response;
use crate::account::Account;
use crate::account::BindType;
use crate::clock::Kind;
use crate::conn::{Session, State};
use crate::loop_state::LoopState;
use crate::pdu::{self, Body, CommandId, CommandStatus as S, Tag, TlvBuf};
use crate::server::{BindFailKey, Shared};
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) fn on_bind(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    t: BindType,
    b: &pdu::Bind<'_>,
) {
    let resp_id = match t {
        BindType::Transmitter => CommandId::BIND_TRANSMITTER_RESP,
        BindType::Receiver => CommandId::BIND_RECEIVER_RESP,
        BindType::Transceiver => CommandId::BIND_TRANSCEIVER_RESP,
    };
    if s.state != State::Open {
        st.m.bind_ex += 1;
        return respond_header(&mut st.m, s, resp_id, S::ESME_RALYBND, seq);
    }
    let ip = s.peer.ip();
    let now = st.clock.now;
    let status = (|| {
        let accounts = shared.accounts();
        // Failed binds count per (IP, account) for a known system_id and
        // per IP for unknown ones (docs/operations.md, "Failed binds").
        let unknown = BindFailKey::UnknownSystemId(ip);
        let Some(acct) = accounts.by_system_id(b.system_id) else {
            if shared.bind_blocked(unknown, now) {
                st.m.bind_throttled += 1;
                return Err(S::ESME_RBINDFAIL);
            }
            shared.record_bind_failure(unknown, now);
            return Err(S::ESME_RINVSYSID);
        };
        // Transport requirements come before the password, so the
        // plaintext port is no oracle for a TLS-only account's password.
        if acct.tls_required && !s.tls {
            st.m.bind_ex_tls_required += 1;
            refusal_log(s, acct, "tls = required and the bind came in plaintext");
            return Err(S::ESME_RBINDFAIL);
        }
        if acct.client_cert_required
            && !s
                .client_cert
                .as_ref()
                .is_some_and(|c| c.names(acct.system_id.as_bytes()))
        {
            st.m.bind_ex_client_cert += 1;
            let why = if s.client_cert.is_some() {
                "client_cert = required and the client certificate names another system_id"
            } else {
                "client_cert = required and no client certificate was presented"
            };
            refusal_log(s, acct, why);
            return Err(S::ESME_RBINDFAIL);
        }
        let key = BindFailKey::Account(ip, acct.id);
        if shared.bind_blocked(key, now) {
            st.m.bind_throttled += 1;
            return Err(S::ESME_RBINDFAIL);
        }
        if !acct.password_matches(b.password) {
            shared.record_bind_failure(key, now);
            // While this IP is slowed down for unknown system_ids, a wrong
            // password is answered like one, so the search cannot tell
            // the accounts that exist from those that do not.
            if shared.bind_blocked(unknown, now) {
                st.m.bind_throttled += 1;
                return Err(S::ESME_RBINDFAIL);
            }
            return Err(S::ESME_RINVPASWD);
        }
        if !acct.allows(t) || !acct.ip_allowed(ip) {
            return Err(S::ESME_RBINDFAIL);
        }
        let state = shared.account(acct.id).ok_or(S::ESME_RSYSERR)?;
        let before = state.binds.fetch_add(1, Ordering::Relaxed);
        if acct.max_binds > 0 && before >= acct.max_binds {
            state.binds.fetch_sub(1, Ordering::Relaxed);
            return Err(S::ESME_RBINDFAIL);
        }
        Ok(acct.id)
    })();
    // address_range: a regular expression matched anywhere in an MO
    // message's destination (`^4478` anchors a prefix), compiled once,
    // bounded; one that does not compile refuses the bind.
    let range = match status {
        Ok(_) if t.can_receive() && !b.address_range.is_empty() => {
            match std::str::from_utf8(b.address_range).ok().and_then(|p| {
                regex::bytes::RegexBuilder::new(p)
                    .size_limit(64 * 1024)
                    .dfa_size_limit(256 * 1024)
                    .build()
                    .ok()
            }) {
                Some(re) => Some(Box::new(re)),
                None => {
                    if let Ok(a) = status {
                        if let Some(state) = shared.account(a) {
                            state.binds.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    st.m.bind_bad_range += 1;
                    st.m.bind_ex += 1;
                    return respond_header(&mut st.m, s, resp_id, S::ESME_RBINDFAIL, seq);
                }
            }
        }
        _ => None,
    };
    let a = match status {
        Ok(a) => a,
        Err(code) => {
            st.m.bind_ex += 1;
            tracing::debug!(peer = %s.peer, status = ?code, "bind refused for {}: {:?}", s.peer, code);
            return respond_header(&mut st.m, s, resp_id, code, seq);
        }
    };
    s.state = State::Bound(t);
    s.account = Some(a);
    s.bound_at = st.clock.unix.max(0) as u32;
    s.range = range;
    s.v34 = b.interface_version >= 0x34;
    match t {
        BindType::Transmitter => st.m.bind_tx += 1,
        BindType::Receiver => st.m.bind_rx += 1,
        BindType::Transceiver => st.m.bind_trx += 1,
    }
    let mut tlvs = TlvBuf::new();
    if s.v34 {
        tlvs.push_u8(Tag::SC_INTERFACE_VERSION, 0x34);
    }
    let resp = pdu::BindResp {
        system_id: shared.config.system_id.as_bytes(),
        tlvs: tlvs.as_tlvs(),
    };
    let body = match t {
        BindType::Transmitter => Body::BindTransmitterResp(resp),
        BindType::Receiver => Body::BindReceiverResp(resp),
        BindType::Transceiver => Body::BindTransceiverResp(resp),
    };
    respond(&mut st.m, s, seq, S::ESME_ROK, body);
    let c = &mut st.clock;
    c.session_at(s.key, Kind::EnquireLink, c.tick + c.timers.enquire_link);
    c.session_at(s.key, Kind::Inactivity, c.tick + c.timers.inactivity);
    if t.can_receive() {
        st.delivery.add_receiver(s, a, shared);
    }
    tracing::debug!(
        peer = %s.peer,
        bind = t.name(),
        account = a.0,
        "{} bound as {} ({:?})",
        s.peer,
        t.name(),
        a
    );
}

/// Logs a bind refused for a transport requirement (not a guess, so always
/// logged, but at most one line per second across the loops: a client that
/// retries in a loop cannot flood the log).
fn refusal_log(s: &Session, acct: &Account, why: &str) {
    static LAST_SECOND: AtomicU64 = AtomicU64::new(0);
    let second = crate::clock::unix_now() as u64;
    if LAST_SECOND.swap(second, Ordering::Relaxed) != second {
        tracing::info!(
            "bind refused for {} as {:?}: {why} (ESME_RBINDFAIL)",
            s.peer,
            acct.system_id
        );
    }
}

/// The ESME's unbind: answered, the session leaves delivery (its window goes
/// back to the queue) and closes once the answer is out.
pub(super) fn on_unbind(st: &mut LoopState, shared: &Shared, s: &mut Session, seq: u32) {
    if s.is_bound() || s.state == State::Unbinding {
        st.m.unbind_rx += 1;
        respond_header(&mut st.m, s, CommandId::UNBIND_RESP, S::ESME_ROK, seq);
        // Unbound: no further PDUs; close once the response is out.
        if let Some(a) = s.account {
            st.delivery.stop_receiving(s, a, shared, &mut st.m);
        }
        s.close_after_flush = true;
    } else {
        respond_header(
            &mut st.m,
            s,
            CommandId::UNBIND_RESP,
            S::ESME_RINVBNDSTS,
            seq,
        );
    }
}

/// The server's unbind (inactivity, shutdown, account removed): no new
/// deliveries; those in flight may still be answered until the unbind_resp
/// or the response timer.
pub fn start_unbind(st: &mut LoopState, shared: &Shared, s: &mut Session) {
    let seq = s.next_seq();
    respond_header(&mut st.m, s, CommandId::UNBIND, S::ESME_ROK, seq);
    st.m.unbind_tx += 1;
    s.unbind_pending = Some((seq, st.clock.tick));
    if let Some(a) = s.account {
        st.delivery.stop_routing(s, a, shared);
    }
    s.state = State::Unbinding;
    arm_response(st, s);
}

/// The connection is closing: the session leaves its account (bind count,
/// receivers) and its unacknowledged deliveries go back on the queue.
pub fn end(st: &mut LoopState, shared: &Shared, s: &mut Session) {
    let Some(a) = s.account.take() else { return };
    if let Some(state) = shared.accounts.get(a.index()) {
        state.binds.fetch_sub(1, Ordering::Relaxed);
    }
    st.delivery.stop_receiving(s, a, shared, &mut st.m);
}
