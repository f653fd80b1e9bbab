//! The ESME-to-ESME mode's events (MO messages, completions that open a
//! window) and the request mix beside the messages (query_sm and
//! enquire_link, each with its own histogram).

use super::conn::{Req, Slot};
use super::{Ev, Worker};
use crate::mo::{read_tag, tag_run, tag_thread, MoOutcome};
use crate::query::write_query_sm;
use crate::schedule::latencies_us;
use crate::templates::{write_header, SOURCE_ADDR};
use smsc::pdu::{CommandId, Sm};

impl Worker {
    /// A deliver_sm that is not a receipt: in ESME-to-ESME mode, an MO
    /// whose tag says which message (and thread) it belongs to.
    pub(super) fn on_mo(&mut self, sm: &Sm<'_>) {
        if self.plan.mo.is_none() {
            self.counters.deliver_other += 1;
            return;
        }
        let text = if sm.short_message.is_empty() {
            sm.tlvs.message_payload().unwrap_or(&[])
        } else {
            sm.short_message
        };
        let Some(tag) = read_tag(text, sm.esm_class & 0x40 != 0, sm.data_coding == 8) else {
            self.counters.deliver_other += 1;
            return;
        };
        self.counters.mo_received += 1;
        if self.finishing {
            self.counters.mo_late += 1;
        } else if !self.started || tag_run(tag) != self.plan.run_nonce {
            // Held for B since an earlier run.
            self.counters.mo_stale += 1;
        } else {
            // A thread that does not exist: its own tracker calls it unknown.
            let t = tag_thread(tag);
            let to = if t < self.plan.threads { t } else { self.idx };
            self.send_to(
                to,
                Ev::Mo {
                    tag,
                    recv: self.now,
                },
            );
        }
    }

    /// Hands `ev` to thread `to` (applied now if that is this one).
    pub(super) fn send_to(&mut self, to: usize, ev: Ev) {
        if to == self.idx {
            self.apply(ev);
        } else if let Some(b) = self.outbox.get_mut(to) {
            b.push(ev);
        }
    }

    /// An MO for one of this thread's messages.
    pub(super) fn apply_mo(&mut self, tag: u64, recv: u64) {
        let Some(t) = self.tracker.as_mut() else {
            return;
        };
        if let MoOutcome::Matched { sent, done } = t.on_mo(tag) {
            if sent.measured {
                let (lc, lu) = latencies_us(sent.intended, sent.sent, recv);
                self.hists.mo_u.saturating_record(lu);
                if self.open_loop {
                    self.hists.mo_c.saturating_record(lc);
                }
            }
            if let Some(conn) = done {
                self.complete(conn);
            }
        }
    }

    /// A receipt matched by its id's owner: the sender's message may be complete.
    pub(super) fn receipt_matched(&mut self, tag: u64) {
        if tag == 0 {
            return;
        }
        let t = tag_thread(tag);
        if t == self.idx {
            self.receipt_in(tag);
        } else {
            self.send_to(t, Ev::ReceiptDone { tag });
        }
    }

    /// This thread's message got its receipt: its window room (when held
    /// until then) and its tracker entry come back.
    pub(super) fn receipt_in(&mut self, tag: u64) {
        let done = self.tracker.as_mut().and_then(|tr| tr.on_receipt(tag));
        if let Some(conn) = done {
            self.complete(conn);
        }
        if !self.waiting_for_tracker.is_empty()
            && self.tracker.as_ref().is_some_and(|tr| tr.has_room())
        {
            for key in std::mem::take(&mut self.waiting_for_tracker) {
                self.want_refill(key);
            }
        }
    }

    /// The answer to a message: frees its window room now, or (tracked)
    /// when its MO (and, with `--mo-window receipt`, its receipt) is in too.
    pub(super) fn msg_answered(&mut self, key: usize, slot: &Slot, ok: bool) {
        if slot.tag == 0 {
            self.complete(key);
            return;
        }
        let done = self.tracker.as_mut().and_then(|t| t.on_resp(slot.tag, ok));
        if let Some(conn) = done {
            self.complete(conn);
        }
    }

    /// A message no longer holds room in `key`'s window.
    pub(super) fn complete(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            c.busy = c.busy.saturating_sub(1);
        }
        self.want_refill(key);
    }

    /// The answer to a query_sm or an enquire_link of the mix (the slot is
    /// already freed): timed, and a query's status checked.
    pub(super) fn extra_answered(&mut self, slot: &Slot, status: u32, nack: bool) {
        let lat = self.now.saturating_sub(slot.sent) / 1000;
        match slot.req {
            Req::Query => {
                self.counters.query_answered += 1;
                if status == 0 && !nack {
                    self.counters.query_ok += 1;
                    if slot.measured {
                        self.hists.query.saturating_record(lat);
                    }
                } else {
                    self.counters.query_failed += 1;
                }
            }
            Req::Ping => {
                self.counters.enquire_answered += 1;
                if status == 0 && !nack && slot.measured {
                    self.hists.enquire.saturating_record(lat);
                }
            }
            Req::Msg => {}
        }
    }

    /// After a message: maybe a query_sm (for a recent accepted id, from
    /// its source address) and maybe an enquire_link, on the same bind.
    pub(super) fn send_extras(&mut self, key: usize, sent: u64, measured: bool) {
        let plan = &self.plan;
        let (qt, et) = (plan.query_threshold, plan.enquire_threshold);
        if qt > 0 && self.rng.next_u32() < qt {
            let r = self.rng.next_u32();
            if let (Some(id), Some(c)) = (self.recent.pick(r), self.conns.get_mut(key)) {
                if c.room_for_extra() {
                    let seq = c.alloc_seq();
                    write_query_sm(&mut c.wbuf, seq, id, SOURCE_ADDR);
                    c.slots[(seq & c.mask) as usize] = Slot {
                        seq,
                        measured,
                        req: Req::Query,
                        intended: sent,
                        sent,
                        ..Slot::default()
                    };
                    c.outstanding += 1;
                    self.counters.query_sent += 1;
                }
            }
        }
        if et > 0 && self.rng.next_u32() < et {
            if let Some(c) = self.conns.get_mut(key) {
                if c.room_for_extra() {
                    let seq = c.alloc_seq();
                    write_header(&mut c.wbuf, CommandId::ENQUIRE_LINK, 0, seq);
                    c.slots[(seq & c.mask) as usize] = Slot {
                        seq,
                        measured,
                        req: Req::Ping,
                        intended: sent,
                        sent,
                        ..Slot::default()
                    };
                    c.outstanding += 1;
                    self.counters.enquire_sent += 1;
                }
            }
        }
    }
}
