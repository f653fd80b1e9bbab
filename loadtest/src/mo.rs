//! ESME-to-ESME mode (`--mo-system-id`): account A submits to destinations
//! account B owns, B's binds receive each message as an MO deliver_sm.
//!
//! Every submit_sm carries a *tag* at the start of its text: `#` and 16
//! hex digits naming the run (a 16-bit nonce, so MO messages left over from
//! an earlier run are told apart), the sending thread and a per-thread
//! counter. The MO is matched on arrival by its tag alone, on whichever
//! bind and thread it arrives: the tag names the thread that sent it, and
//! that thread's [`Tracker`] knows the message.
//!
//! The tracker also keeps the closed-loop window honest: a message stays
//! outstanding on its bind until its submit_sm_resp, its MO and (if asked
//! for) its receipt have all arrived, so the load test cannot submit faster
//! than the server completes messages.

use crate::matcher::SentAt;

/// `#` + 16 hex digits.
pub const TAG_LEN: usize = 17;
/// The placeholder the templates carry where the tag is patched in.
pub const TAG_PLACEHOLDER: &[u8; TAG_LEN] = b"#0000000000000000";

/// A tag: run nonce (16 bits), thread (16 bits), counter (32 bits, from 1).
pub type Tag = u64;

#[inline]
pub fn make_tag(run: u16, thread: usize, counter: u32) -> Tag {
    (u64::from(run) << 48) | ((thread as u64 & 0xFFFF) << 32) | u64::from(counter)
}

#[inline]
pub fn tag_run(t: Tag) -> u16 {
    (t >> 48) as u16
}

#[inline]
pub fn tag_thread(t: Tag) -> usize {
    ((t >> 32) & 0xFFFF) as usize
}

#[inline]
pub fn tag_counter(t: Tag) -> u32 {
    t as u32
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes the tag over a placeholder: `#` + 16 hex digits, one octet a
/// character, or (UCS2) two, big-endian. Short buffers are left alone.
#[inline]
pub fn write_tag(out: &mut [u8], tag: Tag, ucs2: bool) {
    let w = if ucs2 { 2 } else { 1 };
    let Some(dst) = out.get_mut(..TAG_LEN * w) else {
        return;
    };
    dst[w - 1] = b'#';
    for i in 0..16 {
        let nib = ((tag >> (60 - 4 * i)) & 0xF) as usize;
        dst[(i + 1) * w + w - 1] = HEX[nib];
    }
}

/// The tag at the start of an MO's text (after its UDH if `udhi`), one or
/// (UCS2) two octets a character; None if there is none.
pub fn read_tag(text: &[u8], udhi: bool, ucs2: bool) -> Option<Tag> {
    let text = if udhi {
        let udh = usize::from(*text.first()?) + 1;
        text.get(udh..)?
    } else {
        text
    };
    let w = if ucs2 { 2 } else { 1 };
    let chars = text.get(..TAG_LEN * w)?;
    let ch = |i: usize| -> Option<u8> {
        // UCS2: the high octet of an ASCII character is zero.
        if ucs2 && chars.get(i * 2) != Some(&0) {
            return None;
        }
        chars.get(i * w + w - 1).copied()
    };
    if ch(0)? != b'#' {
        return None;
    }
    let mut t: u64 = 0;
    for i in 1..TAG_LEN {
        let v = match ch(i)? {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        t = (t << 4) | u64::from(v);
    }
    Some(t)
}

/// MO accounting of one thread (or, summed, of the run).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MoStats {
    /// Tracked submits answered OK (each should bring one MO).
    pub expected: u64,
    /// MO messages matched to their submit.
    pub matched: u64,
    /// A second MO for a message.
    pub duplicate: u64,
    /// An MO with this run's tag for no message it sent (or one refused).
    pub unknown: u64,
    /// Set by [`Tracker::finish`]: answered OK, no MO by the end.
    pub missing: u64,
}

/// What arrived for a message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MoOutcome {
    /// Its first MO: latency from `sent`; `done` = the bind whose window
    /// this completes.
    Matched {
        sent: SentAt,
        done: Option<usize>,
    },
    Duplicate,
    Unknown,
}

const RESP: u8 = 1;
const OK: u8 = 2;
const MO: u8 = 4;
const WANT_RCPT: u8 = 8;
const RCPT: u8 = 16;
/// Its window room was given back (the entry may stay for the receipt).
const ROOM: u8 = 32;

#[derive(Clone, Copy, Default)]
struct Entry {
    /// The counter (0: free).
    counter: u32,
    flags: u8,
    conn: usize,
    sent: SentAt,
}

impl Entry {
    /// Nothing more is expected for it (its receipt in, if one was asked).
    fn complete(&self) -> bool {
        self.room_done(true)
    }

    /// Its window room can be given back: answered, and delivered (and
    /// its receipt in, when the room is held until then).
    fn room_done(&self, until_receipt: bool) -> bool {
        let f = self.flags;
        f & RESP != 0
            && (f & OK == 0
                || (f & MO != 0 && (!until_receipt || f & WANT_RCPT == 0 || f & RCPT != 0)))
    }
}

/// The messages one thread has in flight, in a ring indexed by counter
/// (no hashing), and which counters have had their MO (a bit each, for
/// duplicates after the message is complete).
pub struct Tracker {
    run: u16,
    thread: usize,
    ring: Vec<Entry>,
    mask: u32,
    next: u32,
    live: usize,
    /// The counter went round (4 billion messages on one thread).
    wrapped: bool,
    seen: Vec<u64>,
    /// The room is held until the receipt (`--mo-window receipt`).
    until_receipt: bool,
    pub stats: MoStats,
}

impl Tracker {
    /// Room for `in_window` messages (windows x binds of the thread), or
    /// twice that when a message leaves the window before its receipt: the
    /// ring is twice the room, so a free entry is found in a step or two.
    pub fn new(run: u16, thread: usize, in_window: usize, until_receipt: bool) -> Tracker {
        let room = in_window.max(32) * if until_receipt { 1 } else { 2 };
        let cap = (room * 2).next_power_of_two();
        Tracker {
            run,
            thread,
            ring: vec![Entry::default(); cap],
            mask: cap as u32 - 1,
            next: 1,
            live: 0,
            wrapped: false,
            seen: Vec::new(),
            until_receipt,
            stats: MoStats::default(),
        }
    }

    /// Messages not complete yet.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Room for one more message (the closed loop waits for it).
    pub fn has_room(&self) -> bool {
        self.live * 2 < self.ring.len()
    }

    /// A new message sent on `conn`: its tag, or None when there is no
    /// room (the open loop then sends it untracked).
    pub fn start(&mut self, conn: usize, sent: SentAt, want_receipt: bool) -> Option<Tag> {
        if !self.has_room() {
            return None;
        }
        loop {
            let c = self.next;
            self.wrapped |= c == u32::MAX;
            self.next = self.next.wrapping_add(1).max(1);
            let e = &mut self.ring[(c & self.mask) as usize];
            // A message that never completes keeps its entry: skip it.
            if e.counter == 0 {
                *e = Entry {
                    counter: c,
                    flags: if want_receipt { WANT_RCPT } else { 0 },
                    conn,
                    sent,
                };
                self.live += 1;
                return Some(make_tag(self.run, self.thread, c));
            }
        }
    }

    fn entry(&mut self, tag: Tag) -> Option<&mut Entry> {
        let c = tag_counter(tag);
        if tag_run(tag) != self.run || tag_thread(tag) != self.thread || c == 0 {
            return None;
        }
        let e = self.ring.get_mut((c & self.mask) as usize)?;
        (e.counter == c).then_some(e)
    }

    /// Gives the message's window room back once (its bind, then) and
    /// frees its entry when nothing more is expected for it.
    fn settle(&mut self, tag: Tag) -> Option<usize> {
        let until_receipt = self.until_receipt;
        let e = self.entry(tag)?;
        let conn = e.conn;
        let room = e.flags & ROOM == 0 && e.room_done(until_receipt);
        if room {
            e.flags |= ROOM;
        }
        if e.complete() {
            e.counter = 0;
            self.live -= 1;
        }
        room.then_some(conn)
    }

    /// The submit_sm_resp (or generic_nack) for `tag`; `ok` = status 0.
    pub fn on_resp(&mut self, tag: Tag, ok: bool) -> Option<usize> {
        let e = self.entry(tag)?;
        if e.flags & RESP != 0 {
            return None;
        }
        e.flags |= RESP | if ok { OK } else { 0 };
        if ok {
            self.stats.expected += 1;
        }
        self.settle(tag)
    }

    /// An MO with this thread's tag.
    pub fn on_mo(&mut self, tag: Tag) -> MoOutcome {
        let c = tag_counter(tag);
        if tag_run(tag) != self.run || tag_thread(tag) != self.thread || c == 0 {
            self.stats.unknown += 1;
            return MoOutcome::Unknown;
        }
        // Never issued (the bit set only grows for counters handed out).
        if c >= self.next && !self.wrapped {
            self.stats.unknown += 1;
            return MoOutcome::Unknown;
        }
        let (word, bit) = ((c / 64) as usize, 1u64 << (c % 64));
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            self.stats.duplicate += 1;
            return MoOutcome::Duplicate;
        }
        let Some(e) = self.entry(tag) else {
            self.stats.unknown += 1;
            return MoOutcome::Unknown;
        };
        e.flags |= MO;
        let sent = e.sent;
        self.seen[word] |= bit;
        self.stats.matched += 1;
        MoOutcome::Matched {
            sent,
            done: self.settle(tag),
        }
    }

    /// The receipt for `tag` was matched (by the id's owner thread).
    pub fn on_receipt(&mut self, tag: Tag) -> Option<usize> {
        let e = self.entry(tag)?;
        e.flags |= RCPT;
        self.settle(tag)
    }

    /// Closes the books: messages answered OK whose MO never came are missing.
    pub fn finish(&mut self) -> MoStats {
        self.stats.missing = self
            .ring
            .iter()
            .filter(|e| e.counter != 0 && e.flags & OK != 0 && e.flags & MO == 0)
            .count() as u64;
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: u64) -> SentAt {
        SentAt {
            intended: t,
            sent: t + 1,
            measured: true,
            tag: 0,
        }
    }

    #[test]
    fn tags_round_trip_in_both_encodings() {
        for tag in [make_tag(0xBEEF, 3, 1), make_tag(1, 0, u32::MAX), 0] {
            let mut b = TAG_PLACEHOLDER.to_vec();
            b.extend_from_slice(b" lt");
            write_tag(&mut b, tag, false);
            assert_eq!(b[0], b'#');
            assert_eq!(read_tag(&b, false, false), Some(tag));
            // UCS2: 00 '#' 00 'h' ...
            let mut u: Vec<u8> = TAG_PLACEHOLDER.iter().flat_map(|c| [0, *c]).collect();
            write_tag(&mut u, tag, true);
            assert_eq!(read_tag(&u, false, true), Some(tag));
            assert!(u.iter().step_by(2).all(|b| *b == 0));
            // After a 6-octet UDH.
            let mut l = vec![5, 0, 3, 9, 3, 1];
            l.extend_from_slice(&b);
            assert_eq!(read_tag(&l, true, false), Some(tag));
            assert_eq!(read_tag(&l, false, false), None);
        }
        let t = make_tag(7, 2, 42);
        assert_eq!((tag_run(t), tag_thread(t), tag_counter(t)), (7, 2, 42));
        // Not tags: short, wrong marker, uppercase, UCS2 with a high octet.
        assert_eq!(read_tag(b"#00000000000000", false, false), None);
        assert_eq!(read_tag(b"x0000000000000000", false, false), None);
        assert_eq!(read_tag(b"#000000000000000A", false, false), None);
        assert_eq!(read_tag(&[], true, false), None);
        assert_eq!(read_tag(&[200, 1, 2], true, false), None);
        let mut u: Vec<u8> = TAG_PLACEHOLDER.iter().flat_map(|c| [0, *c]).collect();
        u[2] = 4;
        assert_eq!(read_tag(&u, false, true), None);
        // A short buffer is not written past.
        let mut s = [0u8; 5];
        write_tag(&mut s, t, false);
        assert_eq!(s, [0; 5]);
    }

    #[test]
    fn a_message_completes_after_resp_mo_and_receipt_in_any_order() {
        let mut t = Tracker::new(9, 0, 4, true);
        // resp, MO (no receipt asked).
        let a = t.start(11, at(100), false).unwrap();
        assert_eq!(t.on_resp(a, true), None);
        assert_eq!(
            t.on_mo(a),
            MoOutcome::Matched {
                sent: at(100),
                done: Some(11)
            }
        );
        // MO before its resp; a receipt asked for, arriving last.
        let b = t.start(12, at(200), true).unwrap();
        assert!(matches!(t.on_mo(b), MoOutcome::Matched { done: None, .. }));
        assert_eq!(t.on_resp(b, true), None, "receipt still due");
        assert_eq!(t.live(), 1);
        assert_eq!(t.on_receipt(b), Some(12));
        // Receipt before the MO.
        let c = t.start(13, at(300), true).unwrap();
        assert_eq!(t.on_resp(c, true), None);
        assert_eq!(t.on_receipt(c), None);
        assert!(matches!(
            t.on_mo(c),
            MoOutcome::Matched { done: Some(13), .. }
        ));
        // A refused submit completes at once and expects no MO.
        let d = t.start(14, at(400), true).unwrap();
        assert_eq!(t.on_resp(d, false), Some(14));
        assert_eq!(t.live(), 0);
        let s = t.finish();
        assert_eq!((s.expected, s.matched, s.missing), (3, 3, 0));
        assert_eq!((s.duplicate, s.unknown), (0, 0));
    }

    /// The bind whose room the tag's (matched) MO gave back.
    fn mo_done(t: &mut Tracker, tag: Tag) -> Option<usize> {
        match t.on_mo(tag) {
            MoOutcome::Matched { done, .. } => done,
            other => panic!("not matched: {other:?}"),
        }
    }

    #[test]
    fn delivered_gives_the_room_back_at_the_mo_and_waits_for_the_receipt() {
        let mut t = Tracker::new(9, 0, 32, false);
        assert_eq!(t.ring.len(), 128, "twice the windows' room, twice that");
        // resp then MO: the room comes back; the entry waits for the receipt.
        let a = t.start(11, at(100), true).unwrap();
        assert_eq!(t.on_resp(a, true), None);
        assert_eq!(mo_done(&mut t, a), Some(11));
        assert_eq!(t.live(), 1, "its receipt is still awaited");
        assert_eq!(t.on_receipt(a), None, "the room came back once");
        assert_eq!(t.live(), 0);
        // Receipt before the MO: the MO gives the room back and frees it.
        let b = t.start(12, at(200), true).unwrap();
        assert_eq!(t.on_resp(b, true), None);
        assert_eq!(t.on_receipt(b), None);
        assert_eq!(mo_done(&mut t, b), Some(12));
        assert_eq!(t.live(), 0);
        // Messages awaiting receipts are bounded: 64 live, then no room.
        for _ in 0..64 {
            let x = t.start(1, at(0), true).unwrap();
            t.on_resp(x, true);
            assert_eq!(mo_done(&mut t, x), Some(1));
        }
        assert!(!t.has_room());
        assert_eq!(t.start(1, at(0), true), None);
        let s = t.finish();
        assert_eq!((s.expected, s.matched, s.missing), (66, 66, 0));
    }

    #[test]
    fn duplicates_unknowns_and_missing() {
        let mut t = Tracker::new(9, 1, 4, true);
        let a = t.start(1, at(1), false).unwrap();
        t.on_resp(a, true);
        assert!(matches!(t.on_mo(a), MoOutcome::Matched { .. }));
        // Again after completion, and while another is live.
        assert_eq!(t.on_mo(a), MoOutcome::Duplicate);
        let b = t.start(1, at(2), false).unwrap();
        assert_eq!(t.on_resp(b, true), None);
        // Another run's, another thread's, a counter never issued, zero.
        assert_eq!(t.on_mo(make_tag(8, 1, tag_counter(b))), MoOutcome::Unknown);
        assert_eq!(t.on_mo(make_tag(9, 0, tag_counter(b))), MoOutcome::Unknown);
        assert_eq!(t.on_mo(make_tag(9, 1, 1000)), MoOutcome::Unknown);
        assert_eq!(t.on_mo(make_tag(9, 1, 0)), MoOutcome::Unknown);
        // The MO of a refused submit.
        let c = t.start(1, at(3), false).unwrap();
        t.on_resp(c, false);
        assert_eq!(t.on_mo(c), MoOutcome::Unknown);
        // A second resp changes nothing.
        assert_eq!(t.on_resp(b, true), None);
        let s = t.finish();
        assert_eq!(s.expected, 2);
        assert_eq!(s.missing, 1, "b never got its MO");
        assert_eq!((s.matched, s.duplicate, s.unknown), (1, 1, 5));
    }

    #[test]
    fn the_ring_skips_stuck_messages_and_refuses_overruns() {
        let mut t = Tracker::new(1, 0, 32, true);
        assert_eq!(t.ring.len(), 64);
        let stuck = t.start(0, at(0), false).unwrap();
        t.on_resp(stuck, true); // its MO never comes
        for i in 0..500u64 {
            let x = t.start(0, at(i), false).unwrap();
            assert_ne!(tag_counter(x) & t.mask, tag_counter(stuck) & t.mask);
            t.on_resp(x, true);
            assert!(matches!(
                t.on_mo(x),
                MoOutcome::Matched { done: Some(0), .. }
            ));
        }
        assert_eq!(t.live(), 1);
        // Half the ring live: no more.
        for _ in 0..31 {
            assert!(t.start(0, at(0), false).is_some());
        }
        assert_eq!(t.start(0, at(0), false), None);
        assert_eq!(t.finish().missing, 1);
        // The counter wraps past zero.
        let mut w = Tracker::new(1, 0, 1, true);
        w.next = u32::MAX;
        let x = w.start(0, at(0), false).unwrap();
        let y = w.start(0, at(0), false).unwrap();
        assert_eq!((tag_counter(x), tag_counter(y)), (u32::MAX, 1));
    }
}
