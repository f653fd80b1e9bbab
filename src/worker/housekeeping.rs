//! The loop's slow path, every 100 ms and at the edges of its life: the
//! journal retry, accept resume, idle buffers given back, the published
//! snapshot and stats line, account reloads, and the graceful shutdown.

use super::{Worker, IDLE_RELEASE_TICKS};
use crate::clock::unix_now;
use crate::conn::State;
use crate::metrics::Snapshot;
use crate::session;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Worker {
    /// After a reload: tables for new accounts, and sessions of removed
    /// accounts are unbound (they close when they answer, or at the
    /// response timer).
    pub(super) fn accounts_reloaded(&mut self) {
        self.accounts_seen = self.shared.accounts_version();
        self.st.grow_accounts(&self.shared);
        let accounts = self.shared.accounts();
        let gone: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.s.is_bound()
                    && c.s.unbind_pending.is_none()
                    && c.s
                        .account
                        .and_then(|a| accounts.get(a))
                        .is_some_and(|a| a.removed)
            })
            .map(|(i, _)| i)
            .collect();
        for idx in gone {
            if let Some(conn) = self.conns.get_mut(idx) {
                session::start_unbind(&mut self.st, &self.shared, &mut conn.s);
                self.mark_flush(idx);
            }
        }
    }

    /// Returns true when the loop should exit.
    pub(super) fn housekeeping(&mut self) -> bool {
        self.st.clock.unix = unix_now();
        // Done lines of a quiet loop reach the journal within 100 ms, and
        // writes held by a failed commit are tried again.
        self.journal_blocked = false;
        if self.commit_journal() {
            for idx in std::mem::take(&mut self.flush_retry) {
                self.mark_flush(idx);
            }
        }
        let max = self.shared.config.max_connections;
        if self.accept_paused
            && self.listening
            && self.shared.connections.load(Ordering::Relaxed) < max * 9 / 10 + 1
        {
            self.accept_paused = false;
            self.accept_all(false);
            self.accept_all(true);
        }
        // Idle connections give their buffers' memory back (10k idle
        // sessions); busy ones keep them, so the hot path never allocates.
        let idle_since = self.st.clock.tick.saturating_sub(IDLE_RELEASE_TICKS);
        for (_, conn) in self.conns.iter_mut() {
            if conn.s.last_rx <= idle_since && conn.rx.is_empty() && conn.s.tx.is_empty() {
                conn.rx.release();
                conn.s.tx.release();
                if conn.s.inflight.is_empty() && conn.s.inflight.capacity() > 0 {
                    conn.s.inflight = VecDeque::new();
                }
            }
        }
        self.expire_remote();
        // Safety net for held receipts (a receiver elsewhere, an expiry).
        self.st.delivery.mark_held_dirty();
        self.publish();
        if self.st.id == 0 {
            self.stats_line();
        }
        if self.shared.shutdown.load(Ordering::Relaxed) {
            return self.shutdown_step();
        }
        false
    }

    /// Copies this loop's counters and queue sizes to its shared snapshot.
    fn publish(&mut self) {
        let mut sessions = Vec::new();
        let mut binds = Vec::new();
        let sessions_total = crate::admin::sessions::collect(
            self.conns.iter().map(|(_, c)| &c.s),
            &mut sessions,
            &mut binds,
        );
        let mut snap = Snapshot {
            sessions_total,
            sessions,
            binds,
            pending_by_account: self.st.store.pending_by_account().to_vec(),
            counters: self.st.m.counters.clone(),
            accounts: self.st.m.accounts.clone(),
            latency: self.st.m.latency.clone(),
            receipts_queued: self.st.delivery.queued() as u64,
            receipts_delayed: (self.st.delivery.delayed.len() + self.st.accept.late.len()) as u64,
            messages_pending: self.st.store.pending_len() as u64,
            messages_stored: self.st.store.len() as u64,
            receipts_inflight: self
                .conns
                .iter()
                .map(|(_, c)| c.s.inflight.len() as u64)
                .sum(),
        };
        if let Some(m) = self.shared.snapshots.get(self.st.id) {
            if let Ok(mut g) = m.lock() {
                std::mem::swap(&mut *g, &mut snap);
            }
        }
    }

    fn stats_line(&mut self) {
        let every = self.shared.config.stats_interval;
        if every.is_zero() || self.last_stats.elapsed() < every {
            return;
        }
        let secs = self.last_stats.elapsed().as_secs_f64().max(1e-3);
        self.last_stats = Instant::now();
        let s = self.shared.snapshot();
        let p = &self.last_stats_snapshot.counters;
        let c = &s.counters;
        // Fields, not text: a JSON log line carries each as a number.
        tracing::info!(
            conns = c.conn_current,
            submit_per_s = ((c.submit_ok - p.submit_ok.min(c.submit_ok)) as f64 / secs).round(),
            receipts_per_s =
                ((c.receipt_acked - p.receipt_acked.min(c.receipt_acked)) as f64 / secs).round(),
            submit_ok = c.submit_ok,
            submit_ex = c.submit_ex,
            receipts_acked = c.receipt_acked,
            receipts_queued = s.receipts_queued,
            receipts_inflight = s.receipts_inflight,
            receipts_delayed = s.receipts_delayed,
            receipts_dropped = c.receipt_dropped_retries + c.receipt_rejected,
            receipts_expired = c.receipt_expired,
            "stats"
        );
        self.last_stats_snapshot = s;
    }

    /// Graceful shutdown: stop accepting, unbind every session, wait a
    /// bounded time, then spool what is left. Returns true when done.
    fn shutdown_step(&mut self) -> bool {
        let deadline = match self.shutdown_deadline {
            Some(d) => d,
            None => {
                let d = self.st.clock.now + self.shared.config.shutdown_grace;
                self.shutdown_deadline = Some(d);
                self.listening = false;
                let _ = self.poll.registry().deregister(&mut self.listener);
                if let Some(l) = &mut self.tls_listener {
                    let _ = self.poll.registry().deregister(l);
                }
                let idxs: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
                for idx in idxs {
                    let Some(conn) = self.conns.get_mut(idx) else {
                        continue;
                    };
                    if conn.s.is_bound() {
                        session::start_unbind(&mut self.st, &self.shared, &mut conn.s);
                        self.mark_flush(idx);
                    } else if conn.s.state == State::Open {
                        self.close(idx);
                    }
                }
                self.flush_all();
                d
            }
        };
        // Sessions stay until they answer unbind (their in-flight receipts may
        // still be acknowledged) or the grace period ends.
        if !self.conns.is_empty() && self.st.clock.now < deadline {
            return false;
        }
        let idxs: Vec<usize> = self.conns.iter().map(|(i, _)| i).collect();
        for idx in idxs {
            self.close(idx);
        }
        self.reap();
        self.send_outboxes();
        self.take_back_outboxes();
        // Wait until every loop has stopped sending to us, then collect.
        self.shared.stopped.fetch_add(1, Ordering::SeqCst);
        let wait_until = Instant::now() + Duration::from_secs(2);
        while self.shared.stopped.load(Ordering::SeqCst) < self.shared.config.threads
            && Instant::now() < wait_until
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.drain_mailboxes();
        self.st.delivery.route_fresh(&self.shared);
        self.st.delivery.undelay_all(&self.shared);
        if self.st.delivery.journal.is_on() {
            // The journal already holds every receipt left: it is the spool.
            self.journal_blocked = false;
            if !self.commit_journal() {
                tracing::warn!("loop {}: last journal commit failed", self.st.id);
            }
        } else if let Some(dir) = self.shared.config.spool_dir.clone() {
            crate::persist::write_spool(
                &dir,
                self.st.id,
                &self.st.delivery,
                &self.shared,
                &mut self.st.m,
            );
        }
        self.publish();
        true
    }
}
