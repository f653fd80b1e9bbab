//! What happened to recent messages, for `GET /api/v1/messages/{id}`: a
//! per-loop ring of fixed 40-octet records (accepted, held, delivered to a
//! session, acknowledged, retried, final state), overwritten oldest first.
//!
//! Recording is one branch and one 40-octet store into memory the ring
//! already has (no allocation, no lock, no hash); a lookup scans the ring,
//! which only the admin API does, on the loop, rarely. The ring is
//! `--message-events` records per server (split over the loops); 0 turns
//! it off (recording is then the branch alone). A message's events may
//! live on several loops (its receipt is delivered where its receiver is
//! bound): the API asks every loop and merges them by time.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::msgid::MessageId;

/// What happened.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(u8)]
pub enum Kind {
    #[default]
    None = 0,
    /// Accepted from an ESME (or injected); data: the destination.
    Accepted,
    /// Kept ENROUTE: scheduled, an outcome delay, or an MO message waiting
    /// for its receiver's answer; data: due unix second (i64, BE).
    Held,
    /// A receipt deliver_sm written to a session; data: loop, slot, gen.
    ReceiptSent,
    /// The MO deliver_sm written to a receiving session; data as above.
    MoSent,
    /// deliver_sm_resp OK for the receipt (or the MO deliver_sm: `MoAcked`).
    ReceiptAcked,
    MoAcked,
    /// A deliver_sm answered with an error or not at all; data: status
    /// (u32, BE), then 1 when it will be tried again, 0 when given up.
    Retried,
    /// The message reached its final state; data: message_state, error.
    Final,
    /// replace_sm / replace_if_present took new content.
    Replaced,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::Accepted => "accepted",
            Kind::Held => "held",
            Kind::ReceiptSent => "receipt_sent",
            Kind::MoSent => "delivered",
            Kind::ReceiptAcked => "receipt_acked",
            Kind::MoAcked => "acked",
            Kind::Retried => "retried",
            Kind::Final => "final",
            Kind::Replaced => "replaced",
        }
    }
}

/// Octets of data an event carries.
pub const DATA: usize = 22;

/// One event: 40 octets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Event {
    /// The message: its sequence number << 8 | its loop ([`key`]).
    pub key: u64,
    /// When it happened: microseconds since the server's epoch (the
    /// loop's clock, read once per iteration).
    pub at: u64,
    pub kind: Kind,
    /// Octets of `data` used.
    pub len: u8,
    pub data: [u8; DATA],
}

/// The key of message `seq` of loop `lp`.
#[inline]
pub fn key(lp: u8, seq: u64) -> u64 {
    seq << 8 | u64::from(lp)
}

/// The key of a message id this server issued (its loop and sequence
/// number; the start time is not checked: a lookup compares whole keys).
#[inline]
pub fn key_of_id(id: &MessageId) -> u64 {
    match crate::msgid::parse(id) {
        Some((_, lp, seq)) => key(lp, seq),
        None => 0,
    }
}

/// A session's place in the data of `*Sent` events: loop, slot, gen.
pub fn session_data(lp: u8, slot: u32, gen: u32) -> ([u8; DATA], u8) {
    let mut d = [0u8; DATA];
    d[0] = lp;
    d[1..5].copy_from_slice(&slot.to_be_bytes());
    d[5..9].copy_from_slice(&gen.to_be_bytes());
    (d, 9)
}

/// The message a deliverable is about, and whether it is an MO message
/// (else a receipt).
#[inline]
pub fn of_item(r: &crate::delivery::Item) -> (u64, bool) {
    match r {
        crate::delivery::Item::Receipt(x) => (key_of_id(&x.message_id), false),
        crate::delivery::Item::Mo(mo) => (key(mo.origin.0, mo.origin.1), true),
    }
}

pub struct EventLog {
    /// The loop this log belongs to (the `*Sent` events name it).
    pub lp: u8,
    ring: Vec<Event>,
    cap: usize,
    /// Where the next event goes.
    next: usize,
}

impl EventLog {
    /// Room for `cap` events (address space only; pages are touched as it fills).
    pub fn new(cap: usize, lp: u8) -> EventLog {
        EventLog {
            lp,
            ring: Vec::with_capacity(cap),
            cap,
            next: 0,
        }
    }

    #[inline]
    pub fn is_on(&self) -> bool {
        self.cap > 0
    }

    /// Records event `kind` of message `key` at `at` (µs) with `data`.
    #[inline]
    pub fn record(&mut self, key: u64, at: u64, kind: Kind, data: &[u8]) {
        if self.cap == 0 {
            return;
        }
        let n = data.len().min(DATA);
        let mut e = Event {
            key,
            at,
            kind,
            len: n as u8,
            data: [0; DATA],
        };
        if let (Some(d), Some(s)) = (e.data.get_mut(..n), data.get(..n)) {
            d.copy_from_slice(s);
        }
        if self.ring.len() < self.cap {
            self.ring.push(e);
        } else if let Some(slot) = self.ring.get_mut(self.next) {
            *slot = e;
        }
        self.next += 1;
        if self.next == self.cap {
            self.next = 0;
        }
    }

    /// The events of message `key` still in the ring, oldest first.
    pub fn of(&self, key: u64) -> Vec<Event> {
        let (newer, older) = self.ring.split_at(self.next.min(self.ring.len()));
        older
            .iter()
            .chain(newer.iter())
            .filter(|e| e.key == key)
            .copied()
            .collect()
    }

    /// Events held now.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_40_octets() {
        assert_eq!(std::mem::size_of::<Event>(), 40);
    }

    #[test]
    fn events_come_back_in_order_and_the_oldest_are_overwritten() {
        let mut log = EventLog::new(4, 0);
        let (a, b) = (key(0, 1), key(1, 1));
        log.record(a, 1, Kind::Accepted, b"4479");
        log.record(b, 2, Kind::Accepted, b"x");
        log.record(a, 3, Kind::ReceiptSent, &[0; 9]);
        let got = log.of(a);
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].kind, got[0].len, &got[0].data[..4]),
            (Kind::Accepted, 4, &b"4479"[..])
        );
        assert_eq!(got[1].at, 3);
        // Two more: the ring is full and a's first event goes.
        log.record(b, 4, Kind::Final, &[2, 0]);
        log.record(a, 5, Kind::ReceiptAcked, &[]);
        assert_eq!(log.len(), 4);
        let kinds: Vec<Kind> = log.of(a).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Kind::ReceiptSent, Kind::ReceiptAcked]);
        // Data longer than a record holds is cut, never a panic.
        log.record(a, 6, Kind::Accepted, &[b'9'; 40]);
        assert_eq!(log.of(a).last().unwrap().len as usize, DATA);
    }

    #[test]
    fn off_records_nothing() {
        let mut log = EventLog::new(0, 0);
        log.record(key(0, 1), 1, Kind::Accepted, b"1");
        assert!(log.is_empty() && log.of(key(0, 1)).is_empty());
    }

    #[test]
    fn the_key_of_an_id_is_its_loop_and_sequence() {
        let mut g = crate::msgid::MsgIdGen::new(1_700_000_000_000, 3);
        let id = g.id_of(42);
        assert_eq!(key_of_id(&id), key(3, 42));
        assert_eq!(key_of_id(b"not an id at all........"), 0);
    }
}
