//! The loop's links: receipt batches and management mail to the other
//! loops, the cluster's broker (`cluster::bridge`), injected MO messages.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::Worker;
use crate::link::Shipped;
use crate::remote::{Mail, Ready};

impl Worker {
    pub(super) fn send_outboxes(&mut self) {
        self.send_mail();
        crate::cluster::bridge::flush(&mut self.st, &self.shared);
        // A receipt is journaled before another loop can deliver it (and
        // journal it as done): the journal must see its A line first.
        if self.st.delivery.outbox.iter().all(|b| b.is_empty()) || !self.commit_journal() {
            return;
        }
        let d = &mut self.st.delivery;
        for (dst, batch) in d.outbox.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            match self.senders.get(dst).and_then(|s| s.as_ref()) {
                Some(link) => match link.ship(batch) {
                    Shipped::Sent => self.shared.wake(dst),
                    // The other loop is behind: the batch stays in the
                    // outbox and is tried again after one tick.
                    Shipped::Full => {}
                    // The other loop is gone (shutdown): keep the receipts.
                    Shipped::Gone(b) => d.fresh.extend(b),
                },
                None => d.fresh.append(batch),
            }
        }
    }

    /// Ships the questions and answers for other loops (`remote.rs`).
    fn send_mail(&mut self) {
        for (dst, batch) in self.st.remote.outbox.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            match self.mail_senders.get(dst).and_then(|s| s.as_ref()) {
                Some(link) => match link.ship(batch) {
                    Shipped::Sent => self.shared.wake(dst),
                    // Tried again next iteration; the asker's deadline bounds the wait.
                    Shipped::Full => {}
                    Shipped::Gone(_) => {}
                },
                None => batch.clear(),
            }
        }
    }

    /// Answers other loops' questions and writes the answers that came back.
    fn handle_mail(&mut self) {
        let mut inbox = std::mem::take(&mut self.st.remote.inbox);
        for link in &self.mail_receivers {
            link.drain_into(&mut inbox);
        }
        for mail in inbox.drain(..) {
            match mail {
                Mail::Ask {
                    from,
                    token,
                    account,
                    frame,
                } => crate::manage::answer_for(
                    &mut self.st,
                    &self.shared,
                    from,
                    token,
                    account,
                    &frame,
                ),
                Mail::Answer { token, frame } => {
                    if let Some(r) = self.st.remote.answered(token, frame) {
                        self.write_ready(r);
                    }
                }
                Mail::Outcome(o) => crate::manage::on_mo_outcome(&mut self.st, &self.shared, o),
                Mail::Withdraw(origin) => {
                    if self.st.delivery.withdraw_mo(origin) {
                        self.st.m.mo_withdrawn += 1;
                    }
                }
            }
        }
        self.st.remote.inbox = inbox;
    }

    /// Writes a response another loop produced to the session that asked.
    fn write_ready(&mut self, r: Ready) {
        let idx = r.key.slot as usize;
        let Some(conn) = self.conns.get_mut(idx) else {
            return;
        };
        if conn.s.key != r.key || conn.s.closed {
            return;
        }
        if r.resubmit {
            crate::manage::resubmit(&mut self.st, &self.shared, &mut conn.s, &r.frame);
        } else if let Some(h) = crate::pdu::Header::peek(&r.frame) {
            if conn.s.tx.extend_from_slice(&r.frame) {
                conn.s.pdus_tx += 1;
                if !r.counted {
                    self.st.m.tx(h.command_id);
                    self.st.m.status(h.command_status);
                }
            }
        }
        self.mark_flush(idx);
    }

    /// Forwarded questions not answered within the response timer.
    pub(super) fn expire_remote(&mut self) {
        for r in self.st.remote.expired(self.st.clock.tick) {
            self.st.m.remote_timeouts += 1;
            self.write_ready(r);
        }
    }

    pub(super) fn drain_mailboxes(&mut self) {
        self.handle_mail();
        let from_broker = crate::cluster::bridge::drain(&mut self.st, &self.shared);
        for (slot, ok) in from_broker.mt {
            self.mt_answered(slot, ok);
        }
        for r in from_broker.ready {
            self.write_ready(r);
        }
        self.drain_admin();
        for link in &self.receivers {
            link.drain_into(&mut self.st.delivery.fresh);
        }
        // A receiver may have bound on another loop: re-check held queues.
        self.st.delivery.mark_held_dirty();
    }

    /// What a full link did not take stays here (spooled at stop).
    /// JetStream's answer to a broker-routed submit: its held response
    /// goes out, ESME_RSYSERR when the broker never took it.
    fn mt_answered(&mut self, slot: usize, ok: bool) {
        if ok {
            return self.on_late_response(slot);
        }
        let Some(late) = self.st.accept.late.try_remove(slot) else {
            return;
        };
        let idx = late.key.slot as usize;
        if let Some(conn) = self.conns.get_mut(idx) {
            if conn.s.key == late.key && !conn.s.closed {
                let resp = if late.data_sm {
                    crate::pdu::CommandId::DATA_SM_RESP
                } else {
                    crate::pdu::CommandId::SUBMIT_SM_RESP
                };
                let status = crate::pdu::CommandStatus::ESME_RSYSERR;
                crate::session::respond::refuse(
                    &mut self.st.m,
                    &mut conn.s,
                    resp,
                    status,
                    late.seq,
                );
                self.mark_flush(idx);
            }
        }
    }

    pub(super) fn take_back_outboxes(&mut self) {
        let d = &mut self.st.delivery;
        for b in d.outbox.iter_mut() {
            d.fresh.append(b);
        }
    }
}
