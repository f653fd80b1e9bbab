//! Persistence at the loop's edges: the journal hooks delivery calls when a
//! receipt is created and when it is finished, the commit that must happen
//! before any socket write (the loop calls it), the spool written at stop,
//! and the receipts loaded back at start (journal replay, spool files).
//!
//! It decides nothing about delivery: what it loads goes onto delivery's
//! queues like any new receipt. Without `--journal` the hooks cost one
//! branch. The journal's file format and its ring of segments are `journal/`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::cluster::ledger::Outcome;
use crate::delivery::{Delivery, Item, Mo};
use crate::dlr::Stat;
use crate::loop_state::LoopState;
use crate::metrics::LoopMetrics;
use crate::receipt::Receipt;
use crate::receipt::{unhex, Addr};
use crate::server::Shared;
use crate::store::Pending;
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// One loop's side of the journal: this iteration's lines and its jids.
pub struct JournalHooks {
    /// This iteration's lines (`--journal`), committed before any socket
    /// write; None without a journal.
    batch: Option<crate::journal::Batch>,
    /// `--journal fsync`: a commit is an fdatasync, shared by everything
    /// the loop read in one iteration.
    group_commit: bool,
    /// Counter part of the next jid (see [`JournalHooks::new_jid`]).
    jid_next: u64,
    loop_id: usize,
    /// Deliveries the broker gave us, settled (finished, failed, given
    /// back), sent by `cluster::bridge::flush`.
    pub broker_ops: Vec<(u64, Outcome)>,
}

impl JournalHooks {
    pub fn new(shared: &Shared, loop_id: usize) -> JournalHooks {
        JournalHooks {
            batch: (shared.config.journal != crate::journal::Mode::Off)
                .then(crate::journal::Batch::default),
            group_commit: shared.config.journal == crate::journal::Mode::Fsync,
            jid_next: shared.jid_base,
            loop_id,
            broker_ops: Vec::new(),
        }
    }

    /// A journal is kept (`--journal write|fsync`).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.batch.is_some()
    }

    /// The loop answers what it read at the end of the iteration, after one
    /// commit for all (`fsync`: one fdatasync); in `write` mode a commit is
    /// a copy into the mapping and each connection is answered when read.
    #[inline]
    pub fn group_commit(&self) -> bool {
        self.group_commit
    }

    /// Lines wait for a commit.
    pub fn is_pending(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| !b.is_empty())
    }

    /// A jid no other loop or earlier run uses: the loop number in the low
    /// bits, this loop's counter above.
    fn new_jid(&mut self) -> u64 {
        let jid = self.jid_next << crate::journal::LOOP_BITS | self.loop_id as u64;
        self.jid_next += 1;
        jid
    }

    /// Journals a receipt that was just created (no-op without a journal).
    #[inline]
    pub fn add(&mut self, r: &mut Receipt, system_id: &str) {
        if self.batch.is_none() {
            return;
        }
        r.jid = self.new_jid();
        if let Some(b) = self.batch.as_mut() {
            b.add(r, system_id);
        }
    }

    /// Journals a pending message (its line written by `write`); its jid,
    /// or 0 without a journal.
    pub fn add_message(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> u64 {
        if self.batch.is_none() {
            return 0;
        }
        let jid = self.new_jid();
        if let Some(b) = self.batch.as_mut() {
            b.add_raw(jid, write);
        }
        jid
    }

    /// Journals a receipt as finished: delivered, refused, dropped, expired.
    #[inline]
    pub fn done(&mut self, jid: u64) {
        // Not journaled (no journal, or an MO message's item): nothing to do.
        if jid == 0 {
            return;
        }
        // A broker's delivery is not in our journal: JetStream is told instead.
        if crate::cluster::is_broker(jid) {
            self.broker_ops.push((jid, Outcome::Done));
            return;
        }
        if let Some(b) = self.batch.as_mut() {
            b.done(jid);
        }
    }

    /// A broker's delivery to be tried again after `delay`, on any node.
    pub fn nak(&mut self, jid: u64, delay: std::time::Duration) {
        self.broker_ops.push((jid, Outcome::Failed(delay)));
    }

    /// Writes this iteration's lines; false if that failed (they are kept
    /// for the next attempt). True at once when there is nothing to write.
    pub fn commit(&mut self, shared: &Shared, m: &mut LoopMetrics) -> bool {
        let Some(b) = self.batch.as_mut() else {
            return true;
        };
        if b.is_empty() {
            return true;
        }
        if shared.commit_journal(b) {
            m.journal_commits += 1;
            true
        } else {
            m.journal_errors += 1;
            false
        }
    }
}

fn spool_path(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("receipts-{id}.spool"))
}

/// At stop without a journal: writes the receipts still queued on this
/// loop to its spool file (or removes the file when there are none).
pub fn write_spool(
    dir: &Path,
    loop_id: usize,
    delivery: &Delivery,
    shared: &Shared,
    m: &mut LoopMetrics,
) {
    let mut text = String::new();
    let mut n = 0u64;
    // The broker's deliveries stay the broker's (redelivered after its ack wait).
    for r in delivery
        .queued_receipts()
        .filter(|r| !crate::cluster::is_broker(r.jid))
    {
        if let Some(acct) = shared.accounts().get(r.account) {
            text.push_str(&r.to_spool_line(&acct.system_id));
            n += 1;
        }
    }
    let path = spool_path(dir, loop_id);
    if n == 0 {
        let _ = std::fs::remove_file(&path);
        return;
    }
    let tmp = path.with_extension("tmp");
    let res = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&tmp, text.as_bytes()))
        .and_then(|_| std::fs::rename(&tmp, &path));
    match res {
        Ok(()) => {
            m.receipt_spooled += n;
            tracing::info!("loop {loop_id}: spooled {n} receipts to {}", path.display());
        }
        Err(e) => tracing::warn!(
            "loop {loop_id}: could not write spool {}: {e}",
            path.display()
        ),
    }
}

/// At start (loop 0, before the loops run): queues the receipts the journal
/// still had (they keep their jids) and puts its pending messages back in
/// the store. Those of accounts that no longer exist are journaled as done.
pub fn load_journaled(
    st: &mut LoopState,
    shared: &Shared,
    entries: Vec<(u64, crate::journal::Entry)>,
) {
    use crate::journal::Entry;
    let (mut ok, mut msgs, mut bad) = (0u64, 0u64, 0u64);
    for (jid, entry) in entries {
        match entry {
            Entry::Message(line) => {
                if recover_message(st, shared, jid, &line) {
                    msgs += 1;
                } else {
                    st.delivery.journal.done(jid);
                    bad += 1;
                }
            }
            Entry::Receipt {
                system_id,
                mut receipt,
            } => match shared.accounts().by_system_id(&system_id) {
                Some(acct) => {
                    receipt.account = acct.id;
                    receipt.jid = jid;
                    st.delivery.enqueue(receipt, shared);
                    ok += 1;
                }
                None => {
                    st.delivery.journal.done(jid);
                    bad += 1;
                }
            },
        }
    }
    st.delivery.journal.commit(shared, &mut st.m);
    st.m.receipt_recovered += ok;
    st.m.message_recovered += msgs;
    if ok + msgs + bad > 0 {
        tracing::info!(
            "recovered {ok} receipts and {msgs} pending messages from the journal ({bad} unreadable or for unknown accounts)"
        );
    }
}

/// At start (loop 0, before the loops run): loads every spool file in `dir`
/// onto the queues, journals them, then removes the files.
pub fn load_spool(dir: &Path, delivery: &mut Delivery, shared: &Shared, m: &mut LoopMetrics) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("spool") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (mut ok, mut bad) = (0u64, 0u64);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Some((sid, mut r)) = Receipt::from_spool_line(line) else {
                bad += 1;
                continue;
            };
            let Some(acct) = shared.accounts().by_system_id(&sid) else {
                bad += 1;
                continue;
            };
            r.account = acct.id;
            delivery.journal.add(&mut r, &acct.system_id);
            delivery.enqueue(r, shared);
            ok += 1;
        }
        // Journaled before the spool file goes.
        if !delivery.journal.commit(shared, m) {
            tracing::warn!(
                "{} kept: its receipts could not be journaled",
                path.display()
            );
            continue;
        }
        m.receipt_unspooled += ok;
        tracing::info!(
            "loaded {ok} receipts from {} ({bad} unreadable or for unknown accounts)",
            path.display()
        );
        let _ = std::fs::remove_file(&path);
    }
    // The first pump publishes the held counts to the shared state.
}

/// A pending message's journal line: `M`, its final receipt as a spool
/// line's fields, then `wants outcome due expires service_type data_coding
/// esm_class`, then `-` or its MO deliver_sm (`to_system_id source_ton
/// source_npi source dest_ton dest_npi dest esm_class protocol_id priority
/// data_coding short_message tlvs`), octet strings in hex.
pub fn message_line(p: &Pending, system_id: &str, mo: Option<(&Mo, &str)>, out: &mut Vec<u8>) {
    let hex = |out: &mut Vec<u8>, b: &[u8]| {
        out.push(b' ');
        crate::receipt::push_hex(out, b);
    };
    let num = |out: &mut Vec<u8>, v: i64| {
        out.push(b' ');
        crate::receipt::push_num(out, v);
    };
    out.extend_from_slice(b"M ");
    p.receipt.write_spool_line(system_id, out);
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    num(out, p.wants.into());
    num(out, p.outcome.message_state().into());
    num(out, p.due);
    num(out, p.expires);
    hex(out, p.service_type());
    num(out, p.data_coding.into());
    num(out, p.esm_class.into());
    match mo {
        None => out.extend_from_slice(b" -"),
        Some((m, to)) => {
            hex(out, to.as_bytes());
            num(out, m.source.ton.into());
            num(out, m.source.npi.into());
            hex(out, m.source.as_bytes());
            num(out, m.dest.ton.into());
            num(out, m.dest.npi.into());
            hex(out, m.dest.as_bytes());
            num(out, m.esm_class.into());
            num(out, m.protocol_id.into());
            num(out, m.priority_flag.into());
            num(out, m.data_coding.into());
            hex(out, &m.short_message);
            hex(out, &m.tlvs);
        }
    }
    out.push(b'\n');
}

/// A message line read back: the submitter's account, the pending entry
/// (seq and jid left for the caller) and its MO deliver_sm.
struct Recovered {
    pending: Pending,
    mo: Option<Box<Mo>>,
}

fn parse_message_line(line: &str, shared: &Shared) -> Option<Recovered> {
    let rest = line.strip_prefix("M ")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let receipt_fields = f.get(..14)?.join(" ");
    let (sid, mut receipt) = Receipt::from_spool_line(&receipt_fields)?;
    let accounts = shared.accounts();
    receipt.account = accounts.by_system_id(&sid)?.id;
    let n = |i: usize| -> Option<i64> { f.get(i)?.parse().ok() };
    let u8_at = |i: usize| -> Option<u8> { u8::try_from(n(i)?).ok() };
    let service = unhex(f.get(18)?)?;
    let mut service_type = [0u8; 6];
    let sn = service.len().min(6);
    service_type
        .get_mut(..sn)?
        .copy_from_slice(service.get(..sn)?);
    let mut pending = Pending {
        seq: 0,
        receipt,
        wants: u8_at(14)?,
        outcome: Stat::from_message_state(u8_at(15)?)?,
        due: n(16)?,
        expires: n(17)?,
        timer_gen: 0,
        timer: None,
        jid: 0,
        service_type,
        service_type_len: sn as u8,
        data_coding: u8_at(19)?,
        esm_class: u8_at(20)?,
        mo_to: None,
        mo: None,
    };
    let mo = if f.get(21) == Some(&"-") {
        None
    } else {
        let to = accounts.by_system_id(&unhex(f.get(21)?)?)?.id;
        pending.mo_to = Some(to);
        let (short_message, tlvs) = (unhex(f.get(32)?)?, unhex(f.get(33)?)?);
        // Written out as they are (`Mo::encode`): a damaged line is refused.
        if short_message.len() > 255 || crate::pdu::Tlvs::parse(&tlvs).is_err() {
            return None;
        }
        Some(Box::new(Mo {
            account: to,
            origin: (0, 0),
            origin_node: 0,
            source: Addr::new(u8_at(22)?, u8_at(23)?, &unhex(f.get(24)?)?),
            dest: Addr::new(u8_at(25)?, u8_at(26)?, &unhex(f.get(27)?)?),
            esm_class: u8_at(28)?,
            protocol_id: u8_at(29)?,
            priority_flag: u8_at(30)?,
            data_coding: u8_at(31)?,
            short_message: Bytes::from(short_message),
            tlvs: Bytes::from(tlvs),
            expires_unix: pending.expires,
            attempts: 0,
            jid: 0,
        }))
    };
    Some(Recovered { pending, mo })
}

/// A pending message from the journal, back in this loop's store (under a
/// new sequence number: its receipt keeps the id the ESME was given), with
/// its timer, and its MO deliver_sm queued again unless it waits for its
/// schedule. False if it could not be taken back.
fn recover_message(st: &mut LoopState, shared: &Shared, jid: u64, line: &str) -> bool {
    let Some(Recovered { mut pending, mo }) = parse_message_line(line, shared) else {
        return false;
    };
    let now = st.clock.unix;
    let source = pending.receipt.dest;
    let Some(seq) = st.store.admit(
        pending.receipt.account,
        now,
        (source.ton, source.npi, source.as_bytes()),
        crate::store::MessageState::Enroute,
        0,
    ) else {
        return false;
    };
    pending.seq = seq;
    pending.jid = jid;
    // query_sm, cancel_sm and replace_sm by the id the ESME was given.
    st.store.alias(pending.receipt.message_id, seq);
    shared
        .recovered_ids
        .store(true, std::sync::atomic::Ordering::Release);
    let scheduled = pending.due != i64::MAX && pending.due > now && pending.mo_to.is_some();
    if let Some(mut mo) = mo {
        mo.origin = (st.id as u8, seq);
        if scheduled {
            pending.mo = Some(mo);
        } else {
            st.delivery.enqueue(Item::Mo(*mo), shared);
        }
    }
    let wait = std::time::Duration::from_secs(pending.fires_at().saturating_sub(now).max(0) as u64);
    match st.store.hold(pending) {
        Some(idx) => {
            st.arm_message(idx, 0, wait);
            true
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::account::BindType;
    use crate::pdu::{Body, Sm};
    use crate::testutil::Harness;

    #[test]
    fn a_pending_mo_message_line_reads_back() {
        let mut h = Harness::new(&["--account", "mo:pw", "--route", "4479=mo"]);
        let c = h.connect();
        h.bind(c, BindType::Transmitter);
        let m = Sm {
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"447700900001",
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447912345678",
            registered_delivery: 1,
            service_type: b"WAP",
            schedule_delivery_time: b"000000000010000R",
            short_message: b"to B",
            ..Default::default()
        };
        h.send(c, 2, Body::SubmitSm(m));
        let p = h.st.store.pending_mut(1).unwrap().clone();
        let mo = p.mo.as_deref().unwrap();
        let mut line = Vec::new();
        message_line(&p, "esme", Some((mo, "mo")), &mut line);
        let text = String::from_utf8(line).unwrap();
        // The journal's check for a whole line counts these fields.
        assert_eq!(
            text.trim_end()
                .strip_prefix("M ")
                .unwrap()
                .split_whitespace()
                .count(),
            34
        );
        let back = parse_message_line(text.trim_end(), &h.shared)
            .unwrap_or_else(|| panic!("does not read back: {text}"));
        assert_eq!(back.pending.receipt.message_id, p.receipt.message_id);
        assert_eq!((back.pending.due, back.pending.expires), (p.due, p.expires));
        assert_eq!(back.pending.service_type(), b"WAP");
        assert_eq!(back.pending.mo_to, p.mo_to);
        let bm = back.mo.unwrap();
        assert_eq!(bm.short_message, mo.short_message);
        assert_eq!(bm.dest, mo.dest);
    }
}
