//! The journal's binary records and the frames that carry them.
//!
//! A commit is one frame: `len: u32 LE, gen: u32 LE, crc32(gen, payload):
//! u32 LE, payload`. The checksum covers the whole batch, so a frame cut by
//! a crash or a power cut (fsync mode) is seen whole or not at all; `gen`
//! is the low half of the segment file's generation, so the frames a reused
//! segment still holds from its last lap end the replay instead of being
//! read as new. A record needs no framing of its own beyond its header:
//!
//! ```text
//! kind: u8   b'R' a receipt, b'M' a pending message, b'D' done
//! jid:  u64 LE
//! len:  u32 LE  octets of the body that follows (0 for D)
//! body          R: the receipt's fields (below); M: the message's text
//!               line (`persist::message_line`)
//! ```
//!
//! A receipt's body is its fields as they are, no text conversion:
//! `sid_len u8, sid, message_id [24], src ton npi len bytes, dst ton npi len
//! bytes, submit i64, done i64, state u8, err u16, text_len u8, text,
//! expires i64` (integers little-endian), about 110 octets.
//!
//! Everything read back is checked: a length past the end, an unknown kind
//! or a field out of range ends the frame's records as unreadable.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;
use crate::dlr::Stat;
use crate::receipt::{Addr, Receipt};

/// Octets of a frame's header: length, generation, checksum.
pub const FRAME_HEADER: usize = 12;
/// Octets of a record's header: kind, jid, body length.
pub const RECORD_HEADER: usize = 13;
/// Frames written when live records are copied hold at most this many
/// octets (a batch is one frame whatever its size).
pub const MAX_FRAME: usize = 64 << 20;

pub const RECEIPT: u8 = b'R';
pub const MESSAGE: u8 = b'M';
pub const DONE: u8 = b'D';

/// Starts a record of `kind` for `jid`; its body follows, then
/// [`end_record`] with the position this returned.
#[inline]
pub fn begin_record(out: &mut Vec<u8>, kind: u8, jid: u64) -> usize {
    let at = out.len();
    out.push(kind);
    out.extend_from_slice(&jid.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    at
}

/// Writes the body length of the record begun at `at`.
#[inline]
pub fn end_record(out: &mut [u8], at: usize) {
    let body = out.len().saturating_sub(at + RECORD_HEADER) as u32;
    if let Some(len) = out.get_mut(at + 9..at + RECORD_HEADER) {
        len.copy_from_slice(&body.to_le_bytes());
    }
}

/// A receipt body's largest size with a system_id of up to 16 octets
/// (SMPP's limit is 15), and room past it for fixed-size copies.
const BODY_CAP: usize = 1 + 16 + crate::msgid::LEN + 2 * 23 + 8 + 8 + 1 + 2 + 1 + TEXT + 8 + 32;
const TEXT: usize = crate::dlr::TEXT_LEN;

/// Room for a whole receipt record written at fixed sizes.
const RECORD_CAP: usize = RECORD_HEADER + BODY_CAP;

/// A record's room at the end of the batch, written at a moving position:
/// each field is copied at its buffer's full size (a constant-size copy the
/// compiler inlines) and the position moves by its length, so the next
/// field overwrites the padding; the batch is cut back to the end at last.
struct Body<'a> {
    b: &'a mut [u8; RECORD_CAP],
    pos: usize,
}

impl Body<'_> {
    #[inline(always)]
    fn put<const N: usize>(&mut self, src: &[u8; N], len: usize) {
        if let Some(d) = self.b.get_mut(self.pos..self.pos + N) {
            d.copy_from_slice(src);
            self.pos += len.min(N);
        }
    }
    #[inline(always)]
    fn put_addr(&mut self, a: &Addr) {
        let (bytes, len) = a.padded();
        self.put(&[a.ton, a.npi, len as u8], 3);
        self.put(bytes, len);
    }
}

/// A whole receipt record (header and body, see the module's doc) for
/// `jid` at the end of `out`; returns its length.
#[inline]
pub fn push_receipt_record(out: &mut Vec<u8>, jid: u64, r: &Receipt, system_id: &[u8]) -> usize {
    let start = out.len();
    let sid = system_id.get(..system_id.len().min(255)).unwrap_or(&[]);
    let mut sid16 = [0u8; 16];
    match (sid16.get_mut(..sid.len()), sid.get(..16.min(sid.len()))) {
        (Some(d), Some(s)) => d.copy_from_slice(s),
        _ => {
            let at = begin_record(out, RECEIPT, jid);
            push_receipt_long_sid(out, r, sid);
            end_record(out, at);
            return out.len() - start;
        }
    }
    out.resize(start + RECORD_CAP, 0);
    let Some(room) = out
        .get_mut(start..)
        .and_then(|b| <&mut [u8; RECORD_CAP]>::try_from(b).ok())
    else {
        out.truncate(start);
        return 0;
    };
    let mut w = Body {
        b: room,
        pos: RECORD_HEADER,
    };
    w.put(&[sid.len() as u8], 1);
    w.put(&sid16, sid.len());
    w.put(&r.message_id, crate::msgid::LEN);
    w.put_addr(&r.source);
    w.put_addr(&r.dest);
    w.put(&r.submit_unix.to_le_bytes(), 8);
    w.put(&r.done_unix.to_le_bytes(), 8);
    let err = r.err.to_le_bytes();
    w.put(&[r.stat.message_state(), err[0], err[1]], 3);
    let (text, len) = r.text_padded();
    w.put(&[len as u8], 1);
    w.put(text, len);
    w.put(&r.expires_unix.to_le_bytes(), 8);
    let end = w.pos;
    let mut head = [0u8; RECORD_HEADER];
    head[0] = RECEIPT;
    head[1..9].copy_from_slice(&jid.to_le_bytes());
    head[9..].copy_from_slice(&((end - RECORD_HEADER) as u32).to_le_bytes());
    w.pos = 0;
    w.put(&head, RECORD_HEADER);
    out.truncate(start + end);
    end
}

/// A receipt's body alone (tests compare the two encodings).
#[cfg(test)]
fn push_receipt(out: &mut Vec<u8>, r: &Receipt, system_id: &[u8]) {
    let mut rec = Vec::new();
    push_receipt_record(&mut rec, 0, r, system_id);
    out.extend_from_slice(rec.get(RECORD_HEADER..).unwrap_or(&[]));
}

/// The same body for a system_id past 16 octets, field by field.
fn push_receipt_long_sid(out: &mut Vec<u8>, r: &Receipt, sid: &[u8]) {
    let addr = |out: &mut Vec<u8>, a: &Addr| {
        let b = a.as_bytes();
        out.extend_from_slice(&[a.ton, a.npi, b.len() as u8]);
        out.extend_from_slice(b);
    };
    out.push(sid.len() as u8);
    out.extend_from_slice(sid);
    out.extend_from_slice(&r.message_id);
    addr(out, &r.source);
    addr(out, &r.dest);
    out.extend_from_slice(&r.submit_unix.to_le_bytes());
    out.extend_from_slice(&r.done_unix.to_le_bytes());
    out.push(r.stat.message_state());
    out.extend_from_slice(&r.err.to_le_bytes());
    let text = r.text();
    out.push(text.len() as u8);
    out.extend_from_slice(text);
    out.extend_from_slice(&r.expires_unix.to_le_bytes());
}

/// Reads fields off a byte slice, every length checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn addr(&mut self) -> Option<Addr> {
        let (ton, npi, len) = (self.u8()?, self.u8()?, self.u8()?);
        if len > 20 {
            return None;
        }
        Some(Addr::new(ton, npi, self.take(usize::from(len))?))
    }
}

/// A receipt's body read back: its system_id and the receipt, with
/// `account` and `jid` left for the caller.
pub fn read_receipt(body: &[u8]) -> Option<(Vec<u8>, Receipt)> {
    let mut rd = Reader(body);
    let sid_len = rd.u8()?;
    let sid = rd.take(usize::from(sid_len))?.to_vec();
    let message_id = rd.take(crate::msgid::LEN)?.try_into().ok()?;
    let source = rd.addr()?;
    let dest = rd.addr()?;
    let submit = rd.i64()?;
    let done = rd.i64()?;
    let stat = Stat::from_message_state(rd.u8()?)?;
    let err = rd.u16()?;
    let text_len = rd.u8()?;
    if usize::from(text_len) > crate::dlr::TEXT_LEN {
        return None;
    }
    let text = rd.take(usize::from(text_len))?;
    let expires = rd.i64()?;
    if !rd.0.is_empty() {
        return None;
    }
    let mut r = Receipt::new(
        AccountId(0),
        message_id,
        source,
        dest,
        submit,
        stat,
        text,
        expires,
    );
    r.done_unix = done;
    r.err = err;
    Some((sid, r))
}

/// One record of a frame's payload.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Record<'a> {
    pub kind: u8,
    pub jid: u64,
    /// Where the record starts in the payload, and its whole length.
    pub at: usize,
    pub len: usize,
    pub body: &'a [u8],
}

/// The records of a payload; stops at the first that is not whole or of
/// an unknown kind (`rest_unreadable` tells).
pub struct Records<'a> {
    payload: &'a [u8],
    pos: usize,
    pub rest_unreadable: bool,
}

pub fn records(payload: &[u8]) -> Records<'_> {
    Records {
        payload,
        pos: 0,
        rest_unreadable: false,
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        let rest = self.payload.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let mut rd = Reader(rest);
        let parsed = (|| {
            let kind = rd.u8()?;
            let jid = rd.u64()?;
            let len = rd.u32()? as usize;
            let body = rd.take(len)?;
            matches!(kind, RECEIPT | MESSAGE | DONE).then_some((kind, jid, body))
        })();
        let Some((kind, jid, body)) = parsed else {
            self.rest_unreadable = true;
            self.pos = self.payload.len();
            return None;
        };
        let at = self.pos;
        let len = RECORD_HEADER + body.len();
        self.pos += len;
        Some(Record {
            kind,
            jid,
            at,
            len,
            body,
        })
    }
}

fn checksum(gen: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&gen.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Fills in the frame header reserved at the start of `frame`, for a
/// segment of generation `gen`.
pub fn seal_frame(frame: &mut [u8], gen: u64) {
    let gen = gen as u32;
    let Some((head, payload)) = frame.split_at_mut_checked(FRAME_HEADER) else {
        return;
    };
    let mut h = [0u8; FRAME_HEADER];
    let fields = [payload.len() as u32, gen, checksum(gen, payload)];
    for (d, v) in h.chunks_exact_mut(4).zip(fields) {
        d.copy_from_slice(&v.to_le_bytes());
    }
    head.copy_from_slice(&h);
}

/// How a segment's frames ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum End {
    /// At the end of the file, or at a frame of an earlier lap: normal.
    Clean,
    /// At a frame of this generation that is cut or fails its checksum:
    /// the write a crash interrupted.
    Torn,
}

/// The frames of a segment of generation `gen`: (offset of the payload in
/// the file, payload), up to the first that is not one of its whole frames.
pub fn frames(file: &[u8], gen: u64) -> (Vec<(usize, &[u8])>, End) {
    let gen = gen as u32;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < file.len() {
        let mut rd = Reader(file.get(pos..).unwrap_or(&[]));
        let (Some(len), Some(g), Some(crc)) = (rd.u32(), rd.u32(), rd.u32()) else {
            return (out, End::Torn);
        };
        if g != gen {
            return (out, End::Clean);
        }
        match rd.take(len as usize) {
            Some(payload) if checksum(gen, payload) == crc => {
                out.push((pos + FRAME_HEADER, payload));
                pos += FRAME_HEADER + payload.len();
            }
            _ => return (out, End::Torn),
        }
    }
    (out, End::Clean)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_reads_back_as_written() {
        let mut r = crate::testutil::receipt();
        r.err = 0x45;
        r.done_unix = r.submit_unix + 7;
        let mut out = Vec::new();
        let n = push_receipt_record(&mut out, 77, &r, b"movider");
        assert_eq!(n, out.len());
        let recs: Vec<_> = records(&out).collect();
        assert_eq!(recs.len(), 1);
        assert_eq!(
            (recs[0].kind, recs[0].jid, recs[0].len),
            (RECEIPT, 77, out.len())
        );
        let (sid, back) = read_receipt(recs[0].body).unwrap();
        assert_eq!(sid, b"movider");
        assert_eq!(back.message_id, r.message_id);
        assert_eq!(back.source.as_bytes(), r.source.as_bytes());
        assert_eq!(back.dest.as_bytes(), r.dest.as_bytes());
        assert_eq!(
            (back.submit_unix, back.done_unix),
            (r.submit_unix, r.done_unix)
        );
        assert_eq!((back.stat, back.err), (r.stat, r.err));
        assert_eq!(back.text(), r.text());
        assert_eq!(back.expires_unix, r.expires_unix);
    }

    #[test]
    fn both_encodings_of_a_receipt_are_the_same() {
        let r = crate::testutil::receipt();
        for sid in [
            &b""[..],
            b"a",
            b"movider",
            b"sixteen_octets_x",
            b"a_system_id_of_40_octets_from_a_config_x",
        ] {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            push_receipt(&mut fast, &r, sid);
            push_receipt_long_sid(&mut slow, &r, sid);
            assert_eq!(fast, slow, "{sid:?}");
            assert_eq!(read_receipt(&fast).unwrap().0, sid);
        }
    }

    #[test]
    fn every_cut_of_a_receipt_body_is_refused() {
        let r = crate::testutil::receipt();
        let mut body = Vec::new();
        push_receipt(&mut body, &r, b"movider");
        for n in 0..body.len() {
            assert!(read_receipt(&body[..n]).is_none(), "cut at {n}");
        }
        let mut long = body.clone();
        long.push(0);
        assert!(read_receipt(&long).is_none(), "trailing octet");
    }

    fn frame_of(jids: &[u64], gen: u64) -> Vec<u8> {
        let mut f = vec![0; FRAME_HEADER];
        for &jid in jids {
            let at = begin_record(&mut f, DONE, jid);
            end_record(&mut f, at);
        }
        seal_frame(&mut f, gen);
        f
    }

    #[test]
    fn frames_stop_at_a_torn_or_corrupt_one() {
        let mut file = Vec::new();
        for jid in [1u64, 2, 3] {
            file.extend(frame_of(&[jid], 7));
        }
        let one = FRAME_HEADER + RECORD_HEADER;
        assert_eq!(file.len(), 3 * one);
        let (fs, end) = frames(&file, 7);
        assert_eq!((fs.len(), end), (3, End::Clean));
        // Cut inside the last frame.
        let (fs, end) = frames(&file[..file.len() - 3], 7);
        assert_eq!((fs.len(), end), (2, End::Torn));
        // Cut inside the last frame's header.
        let (fs, end) = frames(&file[..2 * one + 5], 7);
        assert_eq!((fs.len(), end), (2, End::Torn));
        // A flipped bit in the second frame's payload.
        let mut bad = file.clone();
        bad[one + FRAME_HEADER + 2] ^= 1;
        let (fs, end) = frames(&bad, 7);
        assert_eq!((fs.len(), end), (1, End::Torn));
    }

    #[test]
    fn frames_of_an_earlier_lap_end_the_segment() {
        // A reused segment: two new frames over three of the lap before.
        let mut file = Vec::new();
        for jid in [1u64, 2, 3] {
            file.extend(frame_of(&[jid], 5));
        }
        let new: Vec<u8> = [frame_of(&[8], 6), frame_of(&[9], 6)].concat();
        file[..new.len()].copy_from_slice(&new);
        let (fs, end) = frames(&file, 6);
        assert_eq!((fs.len(), end), (2, End::Clean));
        let jids: Vec<u64> = fs
            .iter()
            .flat_map(|(_, p)| records(p).map(|r| r.jid).collect::<Vec<_>>())
            .collect();
        assert_eq!(jids, vec![8, 9]);
        // The same file read as the old generation: its frames are gone.
        assert_eq!(frames(&file, 5).0.len(), 0);
    }

    #[test]
    fn records_refuse_unknown_kinds_and_cut_bodies() {
        let mut p = Vec::new();
        let at = begin_record(&mut p, MESSAGE, 9);
        p.extend_from_slice(b"M 1 2 3\n");
        end_record(&mut p, at);
        let mut it = records(&p[..p.len() - 1]);
        assert!(it.next().is_none());
        assert!(it.rest_unreadable);
        p[0] = b'Z';
        let mut it = records(&p);
        assert!(it.next().is_none());
        assert!(it.rest_unreadable);
    }
}
