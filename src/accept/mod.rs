//! Message acceptance: submit_sm, data_sm and submit_multi once the session
//! has let them through. Rate limits, the outcome model's refusals, the
//! checks of `submit.rs`, the message id, the answer, and what is created
//! for each accepted message (today: its receipts, handed to delivery).
//!
//! It never writes a deliver_sm itself and never waits: a receipt goes to
//! [`Delivery`](crate::delivery::Delivery), which may put it straight
//! behind the submit_sm_resp in the same write.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::{Account, AccountId};
use crate::clock::Kind;
use crate::conn::{ConnKey, Session};
use crate::delivery::{carried_tlvs, Item, Mo};
use crate::dlr::Stat;
use crate::events::Kind as EventKind;
use crate::loop_state::LoopState;
use crate::msgid::{MessageId, MsgIdGen};
use crate::outcome::PrefixAction;
use crate::pdu::{CommandId, CommandStatus as S, Sm};
use crate::receipt::{Addr, Receipt};
use crate::server::Shared;
use crate::session::respond::{refuse, respond_accepted};
use crate::store::{wants_receipt, MessageState, Pending};
use crate::submit;
use crate::text::Encoding;
use bytes::Bytes;
use slab::Slab;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod multi;
pub use multi::on_submit_multi;

/// A submit_sm_resp (or data_sm_resp) held back by a `late:` rule.
pub struct LateResponse {
    pub key: ConnKey,
    pub seq: u32,
    pub id: MessageId,
    pub data_sm: bool,
}

/// Acceptance's own state on one loop.
pub struct Acceptance {
    msgid: MsgIdGen,
    /// The outcome model's dice.
    rng: u64,
    /// What data_coding 0 means (`--data-coding-zero`).
    zero_means: Encoding,
    /// Responses waiting for their `late:` delay (timer [`Kind::LateResponse`]).
    pub late: Slab<LateResponse>,
}

impl Acceptance {
    pub fn new(id: usize, shared: &Shared) -> Acceptance {
        let zero_means = match shared.config.data_coding_zero {
            crate::config::ZeroCoding::Gsm7 => Encoding::Gsm7,
            crate::config::ZeroCoding::Latin1 => Encoding::Latin1,
            crate::config::ZeroCoding::Ascii => Encoding::Ascii,
        };
        Acceptance {
            msgid: MsgIdGen::with_start(shared.id_start, id as u8),
            rng: 0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) << 32) ^ shared.start_unix_ms,
            zero_means,
            late: Slab::new(),
        }
    }

    /// The id of stored message `mseq`.
    pub fn id_of(&mut self, mseq: u64) -> MessageId {
        self.msgid.id_of(mseq)
    }

    /// What data_coding 0 means for messages of this server.
    pub fn zero_means(&self) -> Encoding {
        self.zero_means
    }

    fn next_f64(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A bound transmitter's submit_sm, or a data_sm (`data_sm`: answered with
/// data_sm_resp).
pub fn on_submit(
    st: &mut LoopState,
    shared: &Shared,
    s: &mut Session,
    seq: u32,
    sm: &Sm<'_>,
    data_sm: bool,
) {
    let resp_id = if data_sm {
        CommandId::DATA_SM_RESP
    } else {
        CommandId::SUBMIT_SM_RESP
    };
    let Some(a) = s.account else {
        return refuse(&mut st.m, s, resp_id, S::ESME_RINVBNDSTS, seq);
    };
    let accounts = shared.accounts();
    let Some(acct) = accounts.get(a) else {
        return refuse(&mut st.m, s, resp_id, S::ESME_RSYSERR, seq);
    };
    let rule = acct.outcomes.rule_for(sm.destination_addr);
    let refused_by_rule = match rule {
        Some(PrefixAction::Refuse(code)) => Err(*code),
        _ => Ok(()),
    };
    if let Err(code) = rate_limit(st, shared, acct).and(refused_by_rule) {
        return refuse_message(st, s, a, resp_id, code, seq);
    }
    // Kept in place and used by reference: moving the MessageInfo out of
    // its Result (as a combinator chain did) read its one-octet fields back
    // 16 octets at a time right after they were written, a store-forwarding
    // stall on every message.
    let validated = submit::validate(sm, st.accept.zero_means, st.clock.unix);
    let info = match &validated {
        Ok(i) => i,
        Err(code) => return refuse_message(st, s, a, resp_id, *code, seq),
    };
    if let Err(code) = receipt_room(st, shared, acct, info) {
        return refuse_message(st, s, a, resp_id, code, seq);
    }
    // replace_if_present_flag: the pending message with the same source,
    // destination and service_type takes the new content instead.
    if sm.replace_if_present_flag == 1 {
        if let Some(id) = crate::manage::replace_present(st, shared, acct, sm) {
            respond_accepted(&mut st.m, s, seq, &id, data_sm);
            count_accepted(st, a, info.segments);
            return;
        }
        // Not here: another loop may hold it (answered when they have
        // looked; stored here if none does).
        if !data_sm && crate::manage::ask_present_elsewhere(st, shared, s, seq, sm) {
            return;
        }
    }
    if let Some(c) = &shared.config.broker_routes {
        if c.owner(sm.destination_addr).is_some() {
            return crate::cluster::mt::on_submit(st, shared, s, seq, sm, info, acct, data_sm);
        }
    }
    let fate = decide(st, &accounts.routes, acct, sm, info);
    let source = (sm.source_addr_ton, sm.source_addr_npi, sm.source_addr);
    let Some(mseq) = st
        .store
        .admit(a, st.clock.unix, source, fate.state(), fate.error())
    else {
        st.m.submit_store_full += 1;
        return refuse_message(st, s, a, resp_id, S::ESME_RMSGQFUL, seq);
    };
    let id = st.accept.msgid.id_of(mseq);
    let ek = crate::events::key(st.id as u8, mseq);
    st.delivery.events.record(
        ek,
        st.clock.micros,
        EventKind::Accepted,
        sm.destination_addr,
    );
    match rule {
        Some(PrefixAction::LateResponse(d)) => {
            let slot = st.accept.late.insert(LateResponse {
                key: s.key,
                seq,
                id,
                data_sm,
            });
            st.clock.slot_after(slot, Kind::LateResponse, *d);
        }
        _ => respond_accepted(&mut st.m, s, seq, &id, data_sm),
    }
    count_accepted(st, a, info.segments);
    // Its receipt may follow the submit_sm_resp at once, not before a late one.
    // Final at once and no receipt asked for: nothing more to do (the
    // headline path of a bulk sender).
    if !fate.later && info.receipt == 0 && !info.intermediate && !acct.outcomes.enroute {
        return;
    }
    let direct = !matches!(rule, Some(PrefixAction::LateResponse(_)));
    dispose(st, shared, acct, sm, info, mseq, id, s, direct, fate);
}

/// The account's submit rate (GCRA), only for accounts with a limit.
#[inline]
fn rate_limit(st: &mut LoopState, shared: &Shared, acct: &Account) -> Result<(), S> {
    if acct.throughput > 0 && !shared.admit(acct.id, acct.throughput, st.clock.now) {
        st.m.submit_throttled += 1;
        if let Some(am) = st.m.account(acct.id.index()) {
            am.submit_throttled += 1;
        }
        return Err(S::ESME_RTHROTTLED);
    }
    Ok(())
}

/// A message asking for a receipt is refused while the account already
/// holds `receipt_queue` receipts nobody can take (they would be lost).
#[inline]
fn receipt_room(
    st: &mut LoopState,
    shared: &Shared,
    acct: &Account,
    info: &submit::MessageInfo<'_>,
) -> Result<(), S> {
    if info.receipt == 0 && !info.intermediate {
        return Ok(());
    }
    let held = shared
        .account(acct.id)
        .map(|a| a.queued.load(Ordering::Relaxed))
        .unwrap_or(0);
    if held >= acct.receipt_queue {
        st.m.submit_queue_full += 1;
        return Err(S::ESME_RMSGQFUL);
    }
    Ok(())
}

/// A refused message, counted per loop and per account.
fn refuse_message(
    st: &mut LoopState,
    s: &mut Session,
    a: AccountId,
    id: CommandId,
    status: S,
    seq: u32,
) {
    st.m.submit_ex += 1;
    if let Some(am) = st.m.account(a.index()) {
        am.submit_ex += 1;
    }
    refuse(&mut st.m, s, id, status, seq);
}

/// An accepted message (one per submit_sm, one per submit_multi destination).
#[inline]
fn count_accepted(st: &mut LoopState, a: AccountId, segments: u32) {
    st.m.submit_ok += 1;
    st.m.submit_segments += u64::from(segments);
    if let Some(am) = st.m.account(a.index()) {
        am.submit_ok += 1;
        am.segments += u64::from(segments);
    }
}

/// The error code a final state reports (query_sm_resp, receipt `err:`).
pub fn error_of(stat: Stat) -> u8 {
    u8::from(!matches!(
        stat,
        Stat::Delivrd | Stat::Enroute | Stat::Acceptd
    ))
}

/// Sets a receipt's outcome and the error that goes with it.
pub fn set_stat(r: &mut Receipt, stat: Stat) {
    r.stat = stat;
    r.err = u16::from(error_of(stat));
}

/// What the outcome model decided for a message, before it is stored.
#[derive(Clone, Copy)]
struct Fate {
    stat: Stat,
    delay: Duration,
    /// Not final at once: scheduled, delayed, or its validity already over.
    later: bool,
    /// The destination is owned by this account: an MO message to it.
    mo_to: Option<AccountId>,
}

impl Fate {
    /// The state it is stored in.
    #[inline]
    fn state(&self) -> MessageState {
        if self.later {
            MessageState::Enroute
        } else {
            MessageState::of_stat(self.stat)
        }
    }

    #[inline]
    fn error(&self) -> u8 {
        if self.later {
            0
        } else {
            error_of(self.stat)
        }
    }
}

/// The outcome model's decision for one message (`routes`: the route
/// table in force, read once per message by the caller).
#[inline(always)]
fn decide(
    st: &mut LoopState,
    routes: &crate::route::Routes,
    acct: &Account,
    sm: &Sm<'_>,
    info: &submit::MessageInfo<'_>,
) -> Fate {
    if !routes.is_empty() {
        if let Some(b) = routes.owner(sm.destination_addr) {
            // Its fate is the receiving ESME's: pending until it answers.
            return Fate {
                stat: Stat::Delivrd,
                delay: Duration::ZERO,
                later: true,
                mo_to: Some(b),
            };
        }
    }
    let (stat, delay) = if acct.outcomes.is_trivial() {
        (Stat::Delivrd, Duration::ZERO)
    } else {
        let (r1, r2) = (st.accept.next_f64(), st.accept.next_f64());
        let f = acct.outcomes.decide(sm.destination_addr, r1, r2);
        (f.stat, f.delay)
    };
    let now = st.clock.unix;
    let later = info.schedule_at.is_some_and(|t| t > now)
        || !delay.is_zero()
        || info.expires_at.is_some_and(|t| t <= now);
    Fate {
        stat,
        delay,
        later,
        mo_to: None,
    }
}

/// What becomes of an accepted message (stored as `mseq`, answered with
/// `id`), as the outcome model decided (`fate`). Now: the message is
/// final at once and its receipts (an ENROUTE notification if wanted, the
/// final one) go to delivery. Later (a schedule in the future, an outcome
/// delay, a validity already over): the message stays ENROUTE in the store
/// with its final receipt, and a timer finishes it
/// (`manage::on_message_due`). `s` submitted it; with `direct` an
/// immediate final receipt may go straight to it (see
/// `Delivery::send_direct`).
#[allow(clippy::too_many_arguments)]
#[inline]
fn dispose(
    st: &mut LoopState,
    shared: &Shared,
    acct: &Account,
    sm: &Sm<'_>,
    info: &submit::MessageInfo<'_>,
    mseq: u64,
    id: MessageId,
    s: &mut Session,
    direct: bool,
    fate: Fate,
) {
    let a = acct.id;
    let Fate {
        stat,
        delay,
        later,
        mo_to,
    } = fate;
    let now_unix = st.clock.unix;
    if later {
        let prefer = s.receiving.then_some((s.key.slot, s.key.gen));
        return hold(
            st, shared, acct, sm, info, mseq, id, prefer, stat, delay, mo_to,
        );
    }
    let wants_final = wants_receipt(info.receipt, stat);
    let wants_enroute = acct.outcomes.enroute || info.intermediate;
    if !wants_final && !wants_enroute {
        return;
    }
    let prefer = s.receiving.then_some((s.key.slot, s.key.gen));
    let expires = info
        .expires_at
        .unwrap_or(now_unix + shared.config.receipt_ttl.as_secs() as i64);
    let d = &mut st.delivery;
    // The record is filled where it is stored. Filled on the stack and then
    // moved, its addresses and text (written a few octets at a time) were
    // read back 16 octets at a time at once: a store-forwarding stall on
    // every receipt, a third of this function's time.
    let entry = d.store.vacant_entry();
    let key = entry.key();
    let Item::Receipt(r) = entry.insert(Item::Receipt(Receipt::new(
        a,
        id,
        Addr::default(),
        Addr::default(),
        now_unix,
        stat,
        &[],
        expires.max(now_unix + 1),
    ))) else {
        return;
    };
    r.source
        .set(sm.dest_addr_ton, sm.dest_addr_npi, sm.destination_addr);
    r.dest
        .set(sm.source_addr_ton, sm.source_addr_npi, sm.source_addr);
    r.set_text(|buf| submit::receipt_text(info, buf));
    r.prefer = prefer;
    let mut made = 0;
    if wants_enroute {
        if let Some(Item::Receipt(base)) = d.store.get(key) {
            let mut e = *base;
            e.stat = Stat::Enroute;
            e.err = 0;
            let ek = d.store.insert(e.into());
            d.journal_add(ek, &acct.system_id);
            d.enqueue_stored(a.index(), ek, shared);
            made += 1;
        }
    }
    if !wants_final {
        d.store.try_remove(key);
    } else {
        d.journal_add(key, &acct.system_id);
        if !(direct && d.send_direct(s, a.index(), key as u32, &mut st.clock, &mut st.m)) {
            d.enqueue_stored(a.index(), key, shared);
        }
        made += 1;
    }
    st.m.receipt_created += made;
    if let Some(am) = st.m.account(a.index()) {
        am.receipt_created += made;
    }
}

/// A message whose outcome is not now (scheduled, delayed by the outcome
/// model, or an MO message for `mo_to`): kept ENROUTE with its final
/// receipt, journaled as a pending message (`persist::message_line`),
/// finished by a timer at its due time or its expiry, whichever comes
/// first, or by its MO delivery's outcome. Its ENROUTE notification, if
/// wanted, goes at once.
#[allow(clippy::too_many_arguments)]
#[cold]
pub(crate) fn hold(
    st: &mut LoopState,
    shared: &Shared,
    acct: &Account,
    sm: &Sm<'_>,
    info: &submit::MessageInfo<'_>,
    mseq: u64,
    id: MessageId,
    prefer: Option<(u32, u32)>,
    stat: Stat,
    delay: Duration,
    mo_to: Option<AccountId>,
) {
    let now = st.clock.unix;
    // Built once for the receipt (swapped) and the MO deliver_sm (as is).
    let source = Addr::new(sm.source_addr_ton, sm.source_addr_npi, sm.source_addr);
    let dest = Addr::new(sm.dest_addr_ton, sm.dest_addr_npi, sm.destination_addr);
    let mut r = Receipt::new(acct.id, id, dest, source, now, stat, &[], i64::MAX);
    r.set_text(|buf| submit::receipt_text(info, buf));
    r.prefer = prefer;
    if acct.outcomes.enroute || info.intermediate {
        let mut e = r;
        set_stat(&mut e, Stat::Enroute);
        e.expires_unix = now + shared.config.receipt_ttl.as_secs() as i64;
        st.delivery.journal.add(&mut e, &acct.system_id);
        st.delivery.enqueue(e, shared);
        st.m.receipt_created += 1;
    }
    let expires = info
        .expires_at
        .unwrap_or(now.saturating_add(shared.config.default_validity.as_secs() as i64));
    let start = info.schedule_at.unwrap_or(now).max(now);
    // An MO message's outcome is its receiver's answer: no due time of its
    // own, only its schedule (when it is handed to delivery) and expiry.
    let scheduled = start > now;
    let due = match mo_to {
        Some(_) if scheduled => start,
        Some(_) => i64::MAX,
        None => start.saturating_add(delay.as_secs() as i64),
    };
    let mo = mo_to.map(|b| Mo {
        account: b,
        origin: (st.id as u8, mseq),
        origin_node: 0,
        source,
        dest,
        esm_class: sm.esm_class,
        protocol_id: sm.protocol_id,
        priority_flag: sm.priority_flag,
        data_coding: sm.data_coding,
        short_message: Bytes::copy_from_slice(sm.short_message),
        tlvs: carried_tlvs(&sm.tlvs),
        expires_unix: expires,
        attempts: 0,
        jid: 0,
    });
    let mut service_type = [0u8; 6];
    let n = sm.service_type.len().min(6);
    if let (Some(d), Some(src)) = (service_type.get_mut(..n), sm.service_type.get(..n)) {
        d.copy_from_slice(src);
    }
    let mut p = Pending {
        seq: mseq,
        receipt: r,
        outcome: stat,
        wants: info.receipt,
        due,
        expires,
        timer_gen: 0,
        timer: None,
        jid: 0,
        service_type,
        service_type_len: n as u8,
        data_coding: sm.data_coding,
        esm_class: sm.esm_class,
        mo_to,
        mo: None,
    };
    let ek = crate::events::key(st.id as u8, mseq);
    st.delivery
        .events
        .record(ek, st.clock.micros, EventKind::Held, &due.to_be_bytes());
    let final_stat = p.final_stat();
    set_stat(&mut p.receipt, final_stat);
    // Journaled as a pending message (with its MO deliver_sm): after a
    // crash it comes back to the store and goes on (`persist.rs`).
    if st.delivery.journal.is_on() {
        let accounts = shared.accounts();
        let to = mo_to
            .and_then(|b| accounts.get(b))
            .map(|b| b.system_id.as_str());
        p.jid = st.delivery.journal.add_message(|out| {
            let m = mo.as_ref().zip(to);
            crate::persist::message_line(&p, &acct.system_id, m, out)
        });
    }
    // Not scheduled: it goes to its receiver's queue now; scheduled: it
    // waits in the store and is handed over at its time.
    match mo {
        Some(mo) if scheduled => p.mo = Some(Box::new(mo)),
        Some(mo) => {
            st.m.mo_routed += 1;
            st.delivery.enqueue(Item::Mo(mo), shared);
        }
        None => {}
    }
    // Sub-second outcome delays keep their precision in the timer.
    let wait = if p.due < p.expires && mo_to.is_none() {
        Duration::from_secs((start - now) as u64) + delay
    } else {
        Duration::from_secs(p.fires_at().saturating_sub(now).max(0) as u64)
    };
    match st.store.hold(p) {
        // Handed to its receiver now: usually answered long before a
        // timer would matter.
        Some(idx) if mo_to.is_some() && !scheduled => st.arm_message_after_grace(idx, mseq, wait),
        Some(idx) => st.arm_message(idx, 0, wait),
        // Cannot happen (admit just stored it); never leave it ENROUTE.
        None => {
            st.finish_message(mseq, MessageState::Unknown, 1, now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use crate::account::BindType;
    use crate::pdu::{Body, CommandId as C, CommandStatus as S, Sm};
    use crate::testutil::Harness;

    fn sm(dest: &'static [u8]) -> Sm<'static> {
        Sm {
            source_addr_ton: 5,
            source_addr: b"Shop",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: dest,
            registered_delivery: 1,
            short_message: b"hello",
            ..Default::default()
        }
    }

    #[test]
    fn an_outcome_delay_holds_the_receipt_not_the_response() {
        let mut h = Harness::new(&["--outcomes", "delay=1s"]);
        let c = h.connect();
        h.bind(c, BindType::Transceiver);
        h.send(c, 5, Body::SubmitSm(sm(b"447700900001")));
        let out = h.out(c);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].id, out[0].status), (C::SUBMIT_SM_RESP, S::ESME_ROK));
        h.advance(99);
        assert!(h.out(c).is_empty());
        h.advance(1);
        let out = h.out(c);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].id, C::DELIVER_SM);
    }

    #[test]
    fn a_late_rule_holds_the_response_and_lets_the_receipt_go_first() {
        let mut h = Harness::new(&["--outcomes", "prefix:4471=late:2s"]);
        let c = h.connect();
        h.bind(c, BindType::Transceiver);
        h.send(c, 6, Body::SubmitSm(sm(b"447100000001")));
        let out = h.out(c);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].id, C::DELIVER_SM, "the receipt first, on purpose");
        h.advance(199);
        assert!(h.out(c).is_empty());
        h.advance(1);
        let out = h.out(c);
        assert_eq!(
            (out[0].id, out[0].status, out[0].seq),
            (C::SUBMIT_SM_RESP, S::ESME_ROK, 6)
        );
    }

    #[test]
    fn refusals_by_rule_and_by_validation_are_counted_per_account() {
        let mut h = Harness::new(&["--outcomes", "prefix:4470=ESME_RTHROTTLED"]);
        let c = h.connect();
        h.bind(c, BindType::Transmitter);
        h.send(c, 7, Body::SubmitSm(sm(b"447000000001")));
        let out = h.out(c);
        assert_eq!(
            (out[0].id, out[0].status),
            (C::SUBMIT_SM_RESP, S::ESME_RTHROTTLED)
        );
        let mut bad = sm(b"447700900001");
        bad.dest_addr_ton = 9;
        h.send(c, 8, Body::SubmitSm(bad));
        let out = h.out(c);
        assert_eq!(out[0].status, S::ESME_RINVDSTTON);
        assert_eq!(h.st.m.submit_ex, 2);
        assert_eq!(h.st.m.accounts[0].submit_ex, 2);
        assert_eq!(h.st.m.submit_ok, 0);
    }
}
