//! An ESME managing its messages in the store: query_sm, cancel_sm,
//! replace_sm, submit_sm's replace_if_present_flag, and the timer that
//! finishes a pending message (schedule, outcome delay, expiry).
//!
//! An account sees only its own messages. It answers from this loop's
//! store; an id naming another loop is that loop's to answer.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::accept::{error_of, set_stat};
use crate::account::{Account, AccountId};
use crate::conn::Session;
use crate::delivery::MoOutcome;
use crate::dlr::Stat;
use crate::events::Kind as EventKind;
use crate::loop_state::LoopState;
use crate::msgid::{self, MessageId};
use crate::pdu::{self, Body, CommandId, CommandStatus as S, Sm};
use crate::server::Shared;
use crate::session::respond::{refuse, respond};
use crate::store::{wants_receipt, MessageState};
use crate::submit;
use std::time::Duration;

/// Where an id points.
enum Target {
    /// The sequence number in this loop's store.
    Here(u64),
    /// Another loop of this server holds it.
    Loop(usize),
    /// Not an id of this run (another server, an earlier run).
    Nowhere,
}

/// ESME_RINVMSGID for what is not an id at all.
fn target(st: &LoopState, shared: &Shared, id: &[u8]) -> Result<Target, S> {
    let Some((start, lp, seq)) = msgid::parse(id) else {
        return Err(S::ESME_RINVMSGID);
    };
    let lp = usize::from(lp);
    if start != shared.id_start && shared.cluster.is_some() {
        // Another node's id: asked through the broker (`cluster::bridge`).
        let node = msgid::node_of(start, true);
        if node != 0 && node != shared.config.node_id {
            return Ok(Target::Loop(crate::remote::NODE_BASE + usize::from(node)));
        }
    }
    if start != shared.id_start {
        // An earlier run's id: loop 0 knows the messages the journal
        // brought back.
        if !shared
            .recovered_ids
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(Target::Nowhere);
        }
        if st.id != 0 {
            return Ok(Target::Loop(0));
        }
        return Ok(st.store.by_alias(id).map_or(Target::Nowhere, Target::Here));
    }
    if lp >= shared.config.threads {
        return Ok(Target::Nowhere);
    }
    if lp != st.id {
        return Ok(Target::Loop(lp));
    }
    Ok(Target::Here(seq))
}

/// The request as it came: its frame when the session is this loop's own
/// (it may be forwarded to the loop that holds the message), None when
/// answering for another loop (never forwarded again).
pub type Origin<'a> = Option<&'a [u8]>;

/// Forwards the request to loop `lp` (or answers `fail` when it may not be
/// forwarded); the answer is written when it comes (`remote.rs`).
#[allow(clippy::too_many_arguments)]
fn forward(
    st: &mut LoopState,
    s: &mut Session,
    a: AccountId,
    seq: u32,
    resp: CommandId,
    fail: S,
    to: &[usize],
    origin: Origin<'_>,
    first: Option<Vec<u8>>,
) {
    let Some(frame) = origin else {
        return refuse(&mut st.m, s, resp, fail, seq);
    };
    let deadline = st.clock.tick + st.clock.timers.response;
    st.remote
        .ask(st.id, to, s.key, a, seq, resp, fail, frame, deadline, first);
    st.m.remote_asked += 1;
}

/// The account of a session allowed to manage messages (TX or TRX bind).
fn transmitter(s: &Session) -> Option<AccountId> {
    match s.bind_type() {
        Some(t) if t.can_submit() => s.account,
        _ => None,
    }
}

/// query_sm: the message's state, final date and error code.
pub fn on_query(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    q: &pdu::QuerySm<'_>,
    origin: Origin<'_>,
) {
    let resp = CommandId::QUERY_SM_RESP;
    let Some(a) = transmitter(s) else {
        return refuse(&mut st.m, s, resp, S::ESME_RINVBNDSTS, seq);
    };
    // Counted where the session is, not again where it is answered.
    if origin.is_some() {
        st.m.query_rx += 1;
    }
    let mseq = match target(st, shared, q.message_id) {
        Err(code) => return refuse(&mut st.m, s, resp, code, seq),
        Ok(Target::Nowhere) => return refuse(&mut st.m, s, resp, S::ESME_RQUERYFAIL, seq),
        Ok(Target::Loop(lp)) => {
            return forward(st, s, a, seq, resp, S::ESME_RQUERYFAIL, &[lp], origin, None)
        }
        Ok(Target::Here(mseq)) => mseq,
    };
    let Ok(m) = st.store.find(mseq, a, st.clock.unix) else {
        return refuse(&mut st.m, s, resp, S::ESME_RQUERYFAIL, seq);
    };
    // The source must be the message's (an empty one is not checked).
    if !q.source_addr.is_empty() && q.source_addr != m.source.as_bytes() {
        return refuse(&mut st.m, s, resp, S::ESME_RQUERYFAIL, seq);
    }
    let mut date = [0u8; crate::smpp_time::FIELD_LEN];
    let final_date: &[u8] = if m.state.is_final() {
        crate::smpp_time::format_absolute(i64::from(m.done), &mut date);
        &date
    } else {
        &[]
    };
    let body = pdu::QuerySmResp {
        message_id: q.message_id,
        final_date,
        message_state: m.state as u8,
        error_code: m.error,
    };
    respond(&mut st.m, s, seq, S::ESME_ROK, Body::QuerySmResp(body));
}

/// cancel_sm: by id, or (empty id) every pending message of the account
/// from that source to that destination, of that service_type if given.
pub fn on_cancel(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    c: &pdu::CancelSm<'_>,
    origin: Origin<'_>,
) {
    let resp = CommandId::CANCEL_SM_RESP;
    let Some(a) = transmitter(s) else {
        return refuse(&mut st.m, s, resp, S::ESME_RINVBNDSTS, seq);
    };
    if origin.is_some() {
        st.m.cancel_rx += 1;
    }
    let picked: Vec<u64> = if c.message_id.is_empty() {
        if c.destination_addr.is_empty() {
            return refuse(&mut st.m, s, resp, S::ESME_RINVDSTADR, seq);
        }
        // The receipt's addresses are the message's, swapped.
        st.store.pending_matching(a, |p| {
            p.receipt.dest.as_bytes() == c.source_addr
                && p.receipt.source.as_bytes() == c.destination_addr
                && (c.service_type.is_empty() || p.service_type() == c.service_type)
        })
    } else {
        match target(st, shared, c.message_id) {
            Err(code) => return refuse(&mut st.m, s, resp, code, seq),
            Ok(Target::Nowhere) => Vec::new(),
            Ok(Target::Loop(lp)) => {
                return forward(
                    st,
                    s,
                    a,
                    seq,
                    resp,
                    S::ESME_RCANCELFAIL,
                    &[lp],
                    origin,
                    None,
                )
            }
            Ok(Target::Here(mseq)) => match st.store.find(mseq, a, st.clock.unix) {
                Ok(m)
                    if !m.state.is_final()
                        && (c.source_addr.is_empty() || c.source_addr == m.source.as_bytes()) =>
                {
                    vec![mseq]
                }
                _ => Vec::new(),
            },
        }
    };
    let any = !picked.is_empty();
    for mseq in picked {
        cancel_one(st, shared, mseq);
    }
    // By source and destination: the other loops cancel theirs too; the
    // answer is OK if any loop cancelled something.
    let others: Vec<usize> = (0..shared.config.threads).filter(|&l| l != st.id).collect();
    if c.message_id.is_empty() && origin.is_some() && !others.is_empty() {
        let first = any.then(|| crate::remote::failure(resp, S::ESME_ROK, seq));
        return forward(
            st,
            s,
            a,
            seq,
            resp,
            S::ESME_RCANCELFAIL,
            &others,
            origin,
            first,
        );
    }
    if !any {
        return refuse(&mut st.m, s, resp, S::ESME_RCANCELFAIL, seq);
    }
    respond(&mut st.m, s, seq, S::ESME_ROK, Body::CancelSmResp);
}

/// Records message `mseq`'s final state (or `Replaced`) in the event log.
fn record_final(st: &mut LoopState, mseq: u64, kind: EventKind, state: MessageState, error: u8) {
    let ek = crate::events::key(st.id as u8, mseq);
    st.delivery
        .events
        .record(ek, st.clock.micros, kind, &[state as u8, error]);
}

/// A pending message is cancelled: DELETED, its pending receipt withdrawn,
/// a DELETED receipt if the submitter asked for failures.
fn cancel_one(st: &mut LoopState, shared: &Shared, mseq: u64) {
    let Some(p) = st.store.pending_mut(mseq).cloned() else {
        return;
    };
    let now = st.clock.unix;
    // Its journal line goes (the DELETED receipt, if sent, is journaled anew).
    st.delivery.journal.done(p.jid);
    // An MO message waiting in a queue (of any loop) is taken out of it.
    if p.mo_to.is_some() && p.mo.is_none() {
        withdraw_everywhere(st, shared, mseq);
    }
    st.finish_message(mseq, MessageState::Deleted, error_of(Stat::Deleted), now);
    let err = error_of(Stat::Deleted);
    record_final(st, mseq, EventKind::Final, MessageState::Deleted, err);
    st.m.message_cancelled += 1;
    if wants_receipt(p.wants, Stat::Deleted) {
        let mut r = p.receipt;
        r.jid = 0;
        set_stat(&mut r, Stat::Deleted);
        send_final(st, shared, r);
    }
}

/// Takes the MO deliver_sm of this loop's message `seq` out of this loop's
/// queues, or asks every other loop to (it went to a receiver bound there).
/// True if it was here. One already sent may still arrive at its receiver:
/// the message stays DELETED (or EXPIRED) and that late answer is ignored.
fn withdraw_everywhere(st: &mut LoopState, shared: &Shared, seq: u64) -> bool {
    let origin = (st.id as u8, seq);
    if st.delivery.withdraw_mo(origin) {
        st.m.mo_withdrawn += 1;
        return true;
    }
    for lp in (0..shared.config.threads).filter(|&l| l != st.id) {
        if let Some(ob) = st.remote.outbox.get_mut(lp) {
            ob.push(crate::remote::Mail::Withdraw(origin));
        }
    }
    false
}

/// Queues a pending message's final receipt (journaled if not yet).
fn send_final(st: &mut LoopState, shared: &Shared, r: crate::receipt::Receipt) {
    send_final_with(st, shared, r, |_| {});
}

/// `send_final` with `adjust` applied to the receipt where it is queued.
/// Copied there first, then its fields set: fields written just before a
/// copy of the whole record are read back by wider loads, which stall.
fn send_final_with(
    st: &mut LoopState,
    shared: &Shared,
    r: crate::receipt::Receipt,
    adjust: impl FnOnce(&mut crate::receipt::Receipt),
) {
    let now = st.clock.unix;
    let expires = now.saturating_add(shared.config.receipt_ttl.as_secs() as i64);
    let a = r.account;
    let key = st.delivery.store.insert(crate::delivery::Item::Receipt(r));
    let mut journaled = true;
    if let Some(crate::delivery::Item::Receipt(r)) = st.delivery.store.get_mut(key) {
        adjust(r);
        r.done_unix = now;
        r.expires_unix = expires;
        journaled = r.jid != 0;
    }
    if !journaled && st.delivery.journal.is_on() {
        if let Some(acct) = shared.accounts().get(a) {
            st.delivery.journal_add(key, &acct.system_id);
        }
    }
    st.delivery.enqueue_stored(a.index(), key, shared);
    st.m.receipt_created += 1;
    if let Some(am) = st.m.account(a.index()) {
        am.receipt_created += 1;
    }
}

/// The timer of pending message (`idx`, `gen`) fired: its outcome happens
/// (or its validity ran out): final state, and the receipt if wanted.
pub fn on_message_due(st: &mut LoopState, shared: &Shared, idx: usize, gen: u32) {
    let now = st.clock.unix;
    // Looked at in place: the entry is moved out only when it ends.
    let Some(pm) = st.store.pending_at_mut(idx).filter(|p| p.timer_gen == gen) else {
        return;
    };
    // A scheduled MO message's time has come: to its receiver's queue; its
    // timer now waits for its expiry.
    if pm.mo.is_some() && now < pm.expires {
        let Some(mo) = pm.mo.take() else {
            return;
        };
        pm.due = i64::MAX;
        pm.timer_gen = pm.timer_gen.wrapping_add(1);
        let gen = pm.timer_gen;
        let wait = Duration::from_secs(pm.expires.saturating_sub(now).max(0) as u64);
        st.arm_message(idx, gen, wait);
        st.m.mo_routed += 1;
        st.delivery.enqueue(crate::delivery::Item::Mo(*mo), shared);
        return;
    }
    let (seq, stat) = (pm.seq, pm.final_stat());
    let (state, error) = (MessageState::of_stat(stat), error_of(stat));
    let Some(p) = st.finish_message(seq, state, error, now) else {
        return;
    };
    record_final(st, p.seq, EventKind::Final, state, error);
    if stat == Stat::Expired {
        st.m.message_expired += 1;
        // Its MO deliver_sm, if still queued (on any loop), will not be sent.
        if p.mo_to.is_some() && p.mo.is_none() && withdraw_everywhere(st, shared, p.seq) {
            st.m.mo_expired += 1;
        }
    }
    if wants_receipt(p.wants, stat) {
        send_final(st, shared, p.receipt);
    }
    // The final receipt (journaled by send_final) takes the message's place.
    st.delivery.journal.done(p.jid);
}

/// The receiving ESME answered (or never will) the MO deliver_sm of
/// message `seq` of this loop: its final state, and the submitter's
/// receipt saying what really happened.
pub fn on_mo_outcome(st: &mut LoopState, shared: &Shared, o: MoOutcome) {
    let now = st.clock.unix;
    let error = if o.stat == Stat::Delivrd {
        0
    } else {
        o.err.clamp(1, 255) as u8
    };
    let state = MessageState::of_stat(o.stat);
    let wanted = |p: &crate::store::Pending| {
        let r = wants_receipt(p.wants, o.stat).then_some(p.receipt);
        (r, p.jid)
    };
    // None: cancelled or expired meanwhile, and that outcome stands.
    let Some((receipt, jid)) = st.finish_message_with(o.origin.1, state, error, now, wanted) else {
        return;
    };
    record_final(st, o.origin.1, EventKind::Final, state, error);
    // The message's own journal line (its receipt is journaled anew).
    st.delivery.journal.done(jid);
    if let Some(r) = receipt {
        send_final_with(st, shared, r, |r| {
            set_stat(r, o.stat);
            if o.stat != Stat::Delivrd {
                r.err = o.err;
            }
            r.jid = 0;
        });
    }
}

/// Sends the outcomes of the MO deliveries of this iteration to the
/// stores of their submitters: this loop's at once, the others' by mail.
pub fn settle_outcomes(st: &mut LoopState, shared: &Shared) {
    if st.delivery.outcomes.is_empty() {
        return;
    }
    let mut outcomes = std::mem::take(&mut st.delivery.outcomes);
    for o in outcomes.drain(..) {
        if o.node != 0 {
            // The submitter is on another node: told through the broker.
            if let Some(c) = &shared.cluster {
                let payload = crate::cluster::wire::encode_outcome(&o);
                if c.send(crate::cluster::ToBroker::Outcome {
                    node: o.node,
                    payload,
                })
                .is_ok()
                {
                    c.stats
                        .outcomes
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            continue;
        }
        let lp = usize::from(o.origin.0);
        if lp == st.id {
            on_mo_outcome(st, shared, o);
        } else if let Some(ob) = st.remote.outbox.get_mut(lp) {
            ob.push(crate::remote::Mail::Outcome(o));
        }
    }
    // The buffer goes back (no allocation per pump pass), unless this
    // pass's outcomes made new ones.
    if st.delivery.outcomes.is_empty() {
        st.delivery.outcomes = outcomes;
    }
}

/// Another loop's session asks about a message of this loop: `frame` is
/// answered by the handlers above on a stand-in session of `account`
/// (bound as transmitter), and the response frame goes back to loop `from`.
pub fn answer_for(
    st: &mut LoopState,
    shared: &Shared,
    from: usize,
    token: u64,
    account: AccountId,
    frame: &[u8],
) {
    // Sent even when empty (nothing to say here): the asker stops waiting.
    let out = answer_frame(st, shared, account, frame);
    if let Some(ob) = st.remote.outbox.get_mut(from) {
        ob.push(crate::remote::Mail::Answer { token, frame: out });
    }
    st.m.remote_answered += 1;
}

/// The response to `frame` (query_sm, cancel_sm, replace_sm, or a
/// replace_if_present submit_sm of `account`) from this loop's store,
/// answered on a stand-in transmitter session; empty when there is none.
pub fn answer_frame(
    st: &mut LoopState,
    shared: &Shared,
    account: AccountId,
    frame: &[u8],
) -> Vec<u8> {
    let key = crate::conn::ConnKey {
        slot: u32::MAX,
        gen: 0,
    };
    let peer = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let mut s = Session::new(
        key,
        peer,
        st.clock.tick,
        crate::buf::RingBuf::new(512, 64 * 1024),
    );
    s.state = crate::conn::State::Bound(crate::account::BindType::Transmitter);
    s.account = Some(account);
    match pdu::decode(frame) {
        Ok(p) => {
            let seq = p.header.sequence_number;
            match p.body {
                Body::QuerySm(q) => on_query(st, shared, &mut s, seq, &q, None),
                Body::CancelSm(c) => on_cancel(st, shared, &mut s, seq, &c, None),
                Body::ReplaceSm(r) => on_replace(st, shared, &mut s, seq, &r, None),
                Body::SubmitSm(sm) => present_here(st, shared, &mut s, seq, &sm),
                _ => {}
            }
        }
        // Another node's frame may not decode: no answer (its asker times out).
        Err(_) => return Vec::new(),
    }
    let (a, b) = s.tx.as_slices();
    let mut out = a.to_vec();
    out.extend_from_slice(b);
    out
}

/// New content, schedule, validity and registered_delivery for a pending
/// message (replace_sm, replace_if_present). Err: the status to answer.
struct Replacement<'a> {
    short_message: &'a [u8],
    /// Message payload TLV instead of short_message (replace_if_present).
    tlvs: pdu::Tlvs<'a>,
    schedule: &'a [u8],
    validity: &'a [u8],
    registered_delivery: u8,
}

fn replace(
    st: &mut LoopState,
    shared: &Shared,
    acct: &Account,
    mseq: u64,
    new: &Replacement<'_>,
) -> Result<(), S> {
    let now = st.clock.unix;
    let zero_means = st.accept.zero_means();
    let Some(p) = st.store.pending_mut(mseq) else {
        return Err(S::ESME_RREPLACEFAIL);
    };
    // The new text must pass the checks a submit's would.
    let check = Sm {
        source_addr_ton: p.receipt.dest.ton,
        source_addr_npi: p.receipt.dest.npi,
        source_addr: p.receipt.dest.as_bytes(),
        dest_addr_ton: p.receipt.source.ton,
        dest_addr_npi: p.receipt.source.npi,
        destination_addr: p.receipt.source.as_bytes(),
        esm_class: p.esm_class,
        data_coding: p.data_coding,
        registered_delivery: new.registered_delivery,
        short_message: new.short_message,
        tlvs: new.tlvs,
        ..Sm::default()
    };
    let info = submit::validate(&check, zero_means, now)?;
    let (schedule, validity) = submit::times(new.schedule, new.validity, now)?;
    let mut r = p.receipt;
    r.set_text(|buf| submit::receipt_text(&info, buf));
    // An MO message already handed to its receiver's queue has left.
    if p.mo_to.is_some() && p.mo.is_none() {
        return Err(S::ESME_RREPLACEFAIL);
    }
    let mut next = p.clone();
    if let Some(mo) = next.mo.as_mut() {
        mo.short_message = bytes::Bytes::copy_from_slice(new.short_message);
        mo.tlvs = crate::delivery::carried_tlvs(&new.tlvs);
    }
    // Empty fields keep the original schedule and validity.
    next.expires = validity.unwrap_or(p.expires);
    if let Some(t) = schedule {
        next.due = t.max(now);
    }
    next.wants = new.registered_delivery & 3;
    set_stat(&mut r, next.final_stat());
    r.jid = 0;
    next.receipt = r;
    // Journaled anew before the old line goes.
    let to = next
        .mo_to
        .and_then(|b| shared.accounts().get(b))
        .map(|b| b.system_id.clone());
    let old_jid = next.jid;
    next.jid = st.delivery.journal.add_message(|out| {
        let m = next.mo.as_deref().zip(to.as_deref());
        crate::persist::message_line(&next, &acct.system_id, m, out)
    });
    st.delivery.journal.done(old_jid);
    let Some(p) = st.store.pending_mut(mseq) else {
        return Err(S::ESME_RREPLACEFAIL);
    };
    next.timer_gen = p.timer_gen.wrapping_add(1);
    let (gen, at) = (next.timer_gen, next.fires_at());
    *p = next;
    let idx = st.store.pending_index(mseq).ok_or(S::ESME_RREPLACEFAIL)?;
    let wait = Duration::from_secs(at.saturating_sub(now).max(0) as u64);
    st.arm_message(idx, gen, wait);
    st.m.message_replaced += 1;
    record_final(st, mseq, EventKind::Replaced, MessageState::Enroute, 0);
    Ok(())
}

/// replace_sm of a pending message of the session's account.
pub fn on_replace(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    r: &pdu::ReplaceSm<'_>,
    origin: Origin<'_>,
) {
    let resp = CommandId::REPLACE_SM_RESP;
    let Some(a) = transmitter(s) else {
        return refuse(&mut st.m, s, resp, S::ESME_RINVBNDSTS, seq);
    };
    let Some(acct) = shared.accounts().get(a) else {
        return refuse(&mut st.m, s, resp, S::ESME_RSYSERR, seq);
    };
    let mseq = match target(st, shared, r.message_id) {
        Err(code) => return refuse(&mut st.m, s, resp, code, seq),
        Ok(Target::Nowhere) => return refuse(&mut st.m, s, resp, S::ESME_RREPLACEFAIL, seq),
        Ok(Target::Loop(lp)) => {
            return forward(
                st,
                s,
                a,
                seq,
                resp,
                S::ESME_RREPLACEFAIL,
                &[lp],
                origin,
                None,
            )
        }
        Ok(Target::Here(mseq)) => mseq,
    };
    let owned = st.store.find(mseq, a, st.clock.unix).is_ok_and(|m| {
        !m.state.is_final() && (r.source_addr.is_empty() || r.source_addr == m.source.as_bytes())
    });
    if !owned {
        return refuse(&mut st.m, s, resp, S::ESME_RREPLACEFAIL, seq);
    }
    let new = Replacement {
        short_message: r.short_message,
        tlvs: pdu::Tlvs::EMPTY,
        schedule: r.schedule_delivery_time,
        validity: r.validity_period,
        registered_delivery: r.registered_delivery,
    };
    match replace(st, shared, acct, mseq, &new) {
        Ok(()) => respond(&mut st.m, s, seq, S::ESME_ROK, Body::ReplaceSmResp),
        Err(code) => refuse(&mut st.m, s, resp, code, seq),
    }
}

/// submit_sm with replace_if_present_flag 1: the pending message of the
/// account with the same source, destination and service_type takes the
/// new content; its id is the answer. None: there is none (submit as new).
pub fn replace_present(
    st: &mut LoopState,
    shared: &Shared,
    acct: &Account,
    sm: &Sm<'_>,
) -> Option<MessageId> {
    let found = st.store.pending_matching(acct.id, |p| {
        p.receipt.dest.as_bytes() == sm.source_addr
            && p.receipt.source.as_bytes() == sm.destination_addr
            && p.service_type() == sm.service_type
    });
    let mseq = *found.first()?;
    let id = st.store.pending_mut(mseq)?.receipt.message_id;
    let new = Replacement {
        short_message: sm.short_message,
        tlvs: sm.tlvs,
        schedule: sm.schedule_delivery_time,
        validity: sm.validity_period,
        registered_delivery: sm.registered_delivery,
    };
    replace(st, shared, acct, mseq, &new).ok()?;
    Some(id)
}

/// Another loop's submit_sm with replace_if_present found no pending
/// message to replace there: does this loop hold one? Answers the submit's
/// response with its id, or ESME_RREPLACEFAIL for "not here" (never stores
/// the submit: the asking loop does if nobody replaced).
fn present_here(st: &mut LoopState, shared: &Shared, s: &mut Session, seq: u32, sm: &Sm<'_>) {
    let accounts = shared.accounts();
    let found = s
        .account
        .and_then(|a| accounts.get(a))
        .and_then(|acct| replace_present(st, shared, acct, sm));
    match found {
        Some(id) => crate::session::respond::respond_accepted(&mut st.m, s, seq, &id, false),
        None => refuse(
            &mut st.m,
            s,
            CommandId::SUBMIT_SM_RESP,
            S::ESME_RREPLACEFAIL,
            seq,
        ),
    }
}

/// A submit_sm with replace_if_present that this loop has nothing to
/// replace for, on a server of several loops: the other loops are asked;
/// if none replaces a message of theirs, the submit comes back
/// ([`resubmit`]) and is stored here as a new message. Its response then
/// waits for them (SMPP allows responses out of order); rare by nature.
pub fn ask_present_elsewhere(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    sm: &Sm<'_>,
) -> bool {
    let Some(a) = s.account else {
        return false;
    };
    let others: Vec<usize> = (0..shared.config.threads).filter(|&l| l != st.id).collect();
    if others.is_empty() {
        return false;
    }
    let Ok(frame) = pdu::Pdu::new(seq, Body::SubmitSm(*sm)).to_vec() else {
        return false;
    };
    forward(
        st,
        s,
        a,
        seq,
        CommandId::SUBMIT_SM_RESP,
        S::ESME_RREPLACEFAIL,
        &others,
        Some(&frame),
        None,
    );
    st.remote.fall_back_to_here(frame);
    true
}

/// A submit that no loop could apply its replace_if_present to is stored
/// here after all, as a new message.
pub fn resubmit(st: &mut LoopState, shared: &Shared, s: &mut Session, frame: &[u8]) {
    if let Ok(p) = pdu::decode(frame) {
        if let Body::SubmitSm(mut sm) = p.body {
            sm.replace_if_present_flag = 0;
            crate::accept::on_submit(st, shared, s, p.header.sequence_number, &sm, false);
        }
    }
}

#[cfg(test)]
mod tests;
