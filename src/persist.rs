//! Persistence at the loop's edges: the journal hooks delivery calls when a
//! receipt is created and when it is finished, the commit that must happen
//! before any socket write (the loop calls it), the spool written at stop,
//! and the receipts loaded back at start (journal replay, spool files).
//!
//! It decides nothing about delivery: what it loads goes onto delivery's
//! queues like any new receipt. Without `--journal` the hooks cost one
//! branch. The journal's file format and compaction are `journal.rs`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::delivery::Delivery;
use crate::metrics::LoopMetrics;
use crate::receipt::Receipt;
use crate::server::Shared;
use std::path::{Path, PathBuf};

/// One loop's side of the journal: this iteration's lines and its jids.
pub struct JournalHooks {
    /// This iteration's lines (`--journal`), committed before any socket
    /// write; None without a journal.
    batch: Option<crate::journal::Batch>,
    /// Counter part of the next jid (see [`JournalHooks::new_jid`]).
    jid_next: u64,
    loop_id: usize,
}

impl JournalHooks {
    pub fn new(shared: &Shared, loop_id: usize) -> JournalHooks {
        JournalHooks {
            batch: (shared.config.journal != crate::journal::Mode::Off)
                .then(crate::journal::Batch::default),
            jid_next: shared.jid_base,
            loop_id,
        }
    }

    /// A journal is kept (`--journal write|fsync`).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.batch.is_some()
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

    /// Journals a receipt as finished: delivered, refused, dropped, expired.
    #[inline]
    pub fn done(&mut self, jid: u64) {
        if let Some(b) = self.batch.as_mut() {
            b.done(jid);
        }
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
    for r in delivery.queued_receipts() {
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
            crate::log::info(format_args!(
                "loop {loop_id}: spooled {n} receipts to {}",
                path.display()
            ));
        }
        Err(e) => crate::log::warn(format_args!(
            "loop {loop_id}: could not write spool {}: {e}",
            path.display()
        )),
    }
}

/// At start (loop 0, before the loops run): queues the receipts the journal
/// still had; they keep their jids. Those of accounts that no longer exist
/// are journaled as done.
pub fn load_journaled(
    receipts: Vec<(u64, String)>,
    delivery: &mut Delivery,
    shared: &Shared,
    m: &mut LoopMetrics,
) {
    let (mut ok, mut bad) = (0u64, 0u64);
    for (jid, line) in receipts {
        let parsed = Receipt::from_spool_line(&line).and_then(|(sid, r)| {
            let acct = shared.accounts().by_system_id(&sid)?;
            Some((acct.id, r))
        });
        match parsed {
            Some((account, mut r)) => {
                r.account = account;
                r.jid = jid;
                delivery.enqueue(r, shared);
                ok += 1;
            }
            None => {
                delivery.journal.done(jid);
                bad += 1;
            }
        }
    }
    delivery.journal.commit(shared, m);
    m.receipt_recovered += ok;
    if ok + bad > 0 {
        crate::log::info(format_args!(
            "recovered {ok} receipts from the journal ({bad} unreadable or for unknown accounts)"
        ));
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
            crate::log::warn(format_args!(
                "{} kept: its receipts could not be journaled",
                path.display()
            ));
            continue;
        }
        m.receipt_unspooled += ok;
        crate::log::info(format_args!(
            "loaded {ok} receipts from {} ({bad} unreadable or for unknown accounts)",
            path.display()
        ));
        let _ = std::fs::remove_file(&path);
    }
    // The first pump publishes the held counts to the shared state.
}
