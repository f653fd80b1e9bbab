//! The session's timers (§2.x of the interface document): session init
//! (no bind in time: close), enquire link (a quiet link is probed), inactivity
//! (no traffic: unbind), and the response timer for what the server sent.

use super::bind::start_unbind;
use super::respond::respond_header;
use crate::clock::Kind;
use crate::conn::{Session, State};
use crate::loop_state::LoopState;
use crate::pdu::{CommandId, CommandStatus as S};
use crate::server::Shared;

/// A new connection has the session init timer to bind.
pub fn arm_session_init(st: &mut LoopState, s: &Session) {
    let c = &mut st.clock;
    c.session_at(s.key, Kind::SessionInit, c.tick + c.timers.session_init);
}

/// Arms the response timer unless one is armed already.
pub(super) fn arm_response(st: &mut LoopState, s: &mut Session) {
    if !s.resp_timer_armed {
        s.resp_timer_armed = true;
        let c = &mut st.clock;
        c.session_at(s.key, Kind::Response, c.tick + c.timers.response);
    }
}

/// Handles one of the session's fired timers; returns true when the
/// connection must close now.
pub fn on_timer(st: &mut LoopState, shared: &Shared, s: &mut Session, kind: Kind) -> bool {
    let k = s.key;
    match kind {
        Kind::SessionInit => {
            if s.state == State::Open {
                st.m.timeout_session_init += 1;
                tracing::debug!("{}: no bind within the session init timer", s.peer);
                return true;
            }
        }
        Kind::EnquireLink => {
            if !s.is_bound() {
                return false;
            }
            let every = st.clock.timers.enquire_link;
            let due = s.last_rx + every;
            let now = st.clock.tick;
            if now >= due {
                if s.enquire_pending.is_none() {
                    let seq = s.next_seq();
                    respond_header(&mut st.m, s, CommandId::ENQUIRE_LINK, S::ESME_ROK, seq);
                    st.m.enquire_link_tx += 1;
                    s.enquire_pending = Some((seq, now));
                    arm_response(st, s);
                }
                st.clock.session_at(k, Kind::EnquireLink, now + every);
            } else {
                st.clock.session_at(k, Kind::EnquireLink, due);
            }
        }
        Kind::Inactivity => {
            if !s.is_bound() {
                return false;
            }
            let due = s.last_traffic + st.clock.timers.inactivity;
            if st.clock.tick >= due {
                st.m.timeout_inactivity += 1;
                tracing::debug!(peer = %s.peer, "{}: inactive, unbinding", s.peer);
                start_unbind(st, shared, s);
            } else {
                st.clock.session_at(k, Kind::Inactivity, due);
            }
        }
        Kind::Response => {
            s.resp_timer_armed = false;
            let limit = st.clock.timers.response;
            let now = st.clock.tick;
            let expired = |sent: u64| now >= sent + limit;
            if s.enquire_pending.is_some_and(|(_, t)| expired(t)) {
                st.m.timeout_enquire_link += 1;
                st.m.timeout_response += 1;
                tracing::debug!(peer = %s.peer, "{}: enquire_link unanswered, closing", s.peer);
                return true;
            }
            if s.unbind_pending.is_some_and(|(_, t)| expired(t)) {
                st.m.timeout_response += 1;
                return true;
            }
            st.delivery.expire_window(s, &mut st.clock, &mut st.m);
            // Re-arm for the oldest outstanding request.
            let oldest = [
                s.enquire_pending.map(|p| p.1),
                s.unbind_pending.map(|p| p.1),
                s.inflight.front().map(|i| i.sent_tick),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(t) = oldest {
                s.resp_timer_armed = true;
                st.clock.session_at(k, Kind::Response, t + limit);
            }
        }
        // Not a session's timers (the loop hands them to their owners).
        Kind::Receipt | Kind::LateResponse | Kind::Message => {}
    }
    false
}
