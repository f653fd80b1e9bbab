//! What arrives on a connection: answers to our submits (latency samples),
//! receipts (handed to the id's owner thread for matching), binds' and
//! unbinds' answers, and the server's own requests (answered at once).

use super::conn::{be32, mark_dirty, Req, State};
use super::{Ev, Worker};
use crate::ids::{id_key, owner};
use crate::matcher::{Outcome, SentAt};
use crate::receipt::{is_receipt, receipt_id};
use crate::schedule::latencies_us;
use crate::templates::{write_deliver_sm_resp, write_empty_resp, write_header};
use smsc::pdu::{decode, Body, CommandId, CommandStatus, Pdu};

impl Worker {
    pub(super) fn handle_frame(&mut self, key: usize, frame: &[u8]) {
        let id = CommandId(be32(frame, 4));
        let status = be32(frame, 8);
        let seq = be32(frame, 12);
        match id {
            CommandId::SUBMIT_SM_RESP => self.on_submit_resp(key, status, seq, frame),
            CommandId::DELIVER_SM => self.on_deliver_sm(key, seq, frame),
            CommandId::ENQUIRE_LINK => {
                self.counters.enquire_links += 1;
                self.reply(key, |w| {
                    write_empty_resp(w, CommandId::ENQUIRE_LINK_RESP, seq)
                });
            }
            CommandId::GENERIC_NACK => {
                self.statuses.add(id.0, status, 1);
                if let Some(c) = self.conns.get_mut(key) {
                    let i = (seq & c.mask) as usize;
                    let slot = c.slots[i];
                    if seq != 0 && slot.seq == seq {
                        c.slots[i].seq = 0;
                        c.outstanding -= 1;
                        if slot.req != Req::Msg {
                            self.extra_answered(&slot, status, true);
                            return;
                        }
                        self.counters.answered += 1;
                        self.counters.nacked += 1;
                        self.msg_answered(key, &slot, false);
                        return;
                    }
                }
                self.counters.unexpected += 1;
            }
            CommandId::QUERY_SM_RESP => self.on_submit_resp(key, status, seq, frame),
            CommandId::BIND_TRANSMITTER_RESP
            | CommandId::BIND_RECEIVER_RESP
            | CommandId::BIND_TRANSCEIVER_RESP => {
                self.statuses.add(id.0, status, 1);
                if let Some(c) = self.conns.get_mut(key) {
                    if c.state != State::Binding {
                        self.counters.unexpected += 1;
                    } else if status == 0 {
                        c.state = State::Bound;
                    } else {
                        // Counted by the setup loop, which sees it Closed.
                        c.state = State::Closed;
                        let _ = self.poll.registry().deregister(&mut c.stream);
                        let name = CommandStatus(status).name().unwrap_or("?");
                        self.binds
                            .note_error(&format!("bind refused: status {status:#010x} ({name})"));
                    }
                }
            }
            CommandId::UNBIND => {
                self.reply(key, |w| write_empty_resp(w, CommandId::UNBIND_RESP, seq));
                self.flush(key);
                self.lost(key);
            }
            CommandId::UNBIND_RESP => {
                if let Some(c) = self.conns.get_mut(key) {
                    c.state = State::Closed;
                }
            }
            // Answers to the `enquire` mix kind are timed like submit_sm_resp.
            CommandId::ENQUIRE_LINK_RESP => self.on_submit_resp(key, status, seq, frame),
            other if other.is_response() => {
                self.statuses.add(id.0, status, 1);
                self.counters.unexpected += 1;
            }
            _ => {
                self.counters.unexpected += 1;
                self.reply(key, |w| {
                    write_header(
                        w,
                        CommandId::GENERIC_NACK,
                        CommandStatus::ESME_RINVCMDID.0,
                        seq,
                    )
                });
            }
        }
    }

    #[inline]
    pub(super) fn reply(&mut self, key: usize, f: impl FnOnce(&mut Vec<u8>)) {
        if let Some(c) = self.conns.get_mut(key) {
            f(&mut c.wbuf);
            mark_dirty(&mut self.dirty, c, key);
        }
    }

    /// A reply that may wait (`--reply-hold`) for the connection's next
    /// write, so that it shares that write's segment: one sendto and one
    /// wake-up of the server fewer per receipt. Sent at once when holding
    /// is off, the connection has output going anyway, or the run ends.
    #[inline]
    pub(super) fn reply_later(&mut self, key: usize, f: impl FnOnce(&mut Vec<u8>)) {
        let hold = self.plan.reply_hold_ns;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let idle = !c.dirty && c.wpos == c.wbuf.len();
        f(&mut c.wbuf);
        if hold == 0 || self.finishing || !(idle || c.held) {
            mark_dirty(&mut self.dirty, c, key);
        } else if !c.held {
            c.held = true;
            c.held_until = self.now + hold;
            self.holds.insert(c.held_until, key);
        }
    }

    #[inline]
    pub(super) fn on_submit_resp(&mut self, key: usize, status: u32, seq: u32, frame: &[u8]) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let i = (seq & c.mask) as usize;
        let slot = c.slots[i];
        let id = CommandId(be32(frame, 4));
        let fits = match slot.req {
            Req::Msg => id != CommandId::QUERY_SM_RESP,
            Req::Query => id == CommandId::QUERY_SM_RESP,
            Req::Ping => id == CommandId::ENQUIRE_LINK_RESP,
        };
        if seq == 0 || slot.seq != seq || !fits {
            self.counters.unexpected += 1;
            self.statuses.add(id.0, status, 1);
            return;
        }
        c.slots[i].seq = 0;
        c.outstanding -= 1;
        if slot.req != Req::Msg {
            self.statuses.add(id.0, status, 1);
            self.extra_answered(&slot, status, false);
            return;
        }
        self.counters.answered += 1;
        self.msg_answered(key, &slot, status == 0);
        if status != 0 {
            self.counters.failed += 1;
            self.statuses.add(CommandId::SUBMIT_SM_RESP.0, status, 1);
            return;
        }
        self.counters.ok += 1;
        if slot.measured {
            self.counters.ok_measured += 1;
            let (lc, lu) = latencies_us(slot.intended, slot.sent, self.now);
            self.hists.resp_u.saturating_record(lu);
            if self.open_loop {
                self.hists.resp_c.saturating_record(lc);
            }
        }
        let body = frame.get(16..).unwrap_or(&[]);
        let id = body
            .get(..smsc::pdu::wire::find_nul(body).unwrap_or(body.len()))
            .unwrap_or(&[]);
        if self.plan.query_threshold > 0 {
            self.recent.push(id);
        }
        if slot.receipt {
            self.counters.receipts_expected += 1;
            let at = SentAt {
                intended: slot.intended,
                sent: slot.sent,
                measured: slot.measured,
                tag: slot.tag,
            };
            self.route(Ev::Submitted {
                key: id_key(id),
                at,
            });
        }
    }

    pub(super) fn on_deliver_sm(&mut self, key: usize, seq: u32, frame: &[u8]) {
        self.reply_later(key, |w| write_deliver_sm_resp(w, seq));
        match decode(frame) {
            Ok(Pdu {
                body: Body::DeliverSm(sm),
                ..
            }) if is_receipt(sm.esm_class) => {
                self.counters.receipts_received += 1;
                match receipt_id(&sm) {
                    Some(_) if self.finishing => self.counters.receipts_late += 1,
                    // Left over from an earlier run, delivered at bind.
                    Some(_) if !self.started => self.counters.receipts_stale += 1,
                    Some(id) => self.route(Ev::Receipt {
                        key: id_key(id),
                        recv: self.now,
                    }),
                    None => self.counters.deliver_bad += 1,
                }
            }
            Ok(Pdu {
                body: Body::DeliverSm(sm),
                ..
            }) => self.on_mo(&sm),
            Ok(_) => self.counters.deliver_other += 1,
            Err(_) => self.counters.deliver_bad += 1,
        }
    }

    /// Hands a receipt event to the id's owner thread.
    #[inline]
    pub(super) fn route(&mut self, ev: Ev) {
        let k = match ev {
            Ev::Submitted { key, .. } | Ev::Receipt { key, .. } => key,
            Ev::Mo { .. } | Ev::ReceiptDone { .. } => return self.apply(ev),
        };
        self.send_to(owner(k, self.plan.threads), ev);
    }

    pub(super) fn apply(&mut self, ev: Ev) {
        let out = match ev {
            Ev::Submitted { key, at } => self.matcher.on_submitted(key, at, self.now),
            Ev::Receipt { key, recv } => self.matcher.on_receipt(key, recv, self.now),
            Ev::Mo { tag, recv } => return self.apply_mo(tag, recv),
            Ev::ReceiptDone { tag } => return self.receipt_in(tag),
        };
        if let Outcome::Matched { sent, recv } = out {
            self.receipt_matched(sent.tag);
            if sent.measured {
                let (lc, lu) = latencies_us(sent.intended, sent.sent, recv);
                self.hists.rcpt_u.saturating_record(lu);
                if self.open_loop {
                    self.hists.rcpt_c.saturating_record(lc);
                }
            }
        }
    }

    pub(super) fn flush_outbox(&mut self) {
        for (o, batch) in self.outbox.iter_mut().enumerate() {
            if !batch.is_empty() {
                let cap = batch.len();
                let full = std::mem::replace(batch, Vec::with_capacity(cap));
                if let Some(p) = self.peers.get(o) {
                    let _ = p.send(full);
                }
            }
        }
    }

    pub(super) fn drain_inbox(&mut self) {
        while let Ok(batch) = self.inbox.try_recv() {
            for ev in batch {
                self.apply(ev);
            }
        }
    }
}
