//! What travels on `smsc.deliver.<system_id>` between nodes: a batch of
//! receipts and MO messages of one account (`BatchWriter`, `decode_batch`),
//! each item a line of text (the spool line's fields, octet strings in
//! hex), and the MO outcomes on `smsc.outcome.<node>`.
//!
//! Everything read here came from the broker: hostile input. It is
//! length-checked before it is split, and parsing never panics.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;
use crate::delivery::{Item, Mo, MoOutcome};
use crate::dlr::Stat;
use crate::receipt::{push_hex, unhex, Addr, Receipt};
use bytes::Bytes;

/// No payload we write is longer (an MO message's TLVs are at most 64 KiB
/// of hex); anything longer is refused before it is parsed.
pub const MAX_PAYLOAD: usize = 160 * 1024;

/// `R <spool line>` or `M <origin> <to> <fields...>`.
pub fn encode(item: &Item, system_id: &str, node: u16, out: &mut Vec<u8>) {
    match item {
        Item::Receipt(r) => {
            out.extend_from_slice(b"R ");
            r.write_spool_line(system_id, out);
        }
        Item::Mo(m) => {
            // An MO message keeps the node that holds its submitter's message.
            let origin = if m.origin_node == 0 {
                node
            } else {
                m.origin_node
            };
            let num = |out: &mut Vec<u8>, v: u64| {
                out.extend_from_slice(v.to_string().as_bytes());
                out.push(b' ');
            };
            let hex = |out: &mut Vec<u8>, b: &[u8]| {
                push_hex(out, b);
                out.push(b' ');
            };
            out.extend_from_slice(b"M ");
            num(out, u64::from(origin));
            num(out, u64::from(m.origin.0));
            num(out, m.origin.1);
            hex(out, system_id.as_bytes());
            for a in [&m.source, &m.dest] {
                num(out, u64::from(a.ton));
                num(out, u64::from(a.npi));
                hex(out, a.as_bytes());
            }
            for v in [m.esm_class, m.protocol_id, m.priority_flag, m.data_coding] {
                num(out, u64::from(v));
            }
            hex(out, &m.short_message);
            hex(out, &m.tlvs);
            out.extend_from_slice(m.expires_unix.to_string().as_bytes());
            out.push(b'\n');
        }
    }
}

/// A delivery read back: its system_id and the item, `account` left for
/// the caller to resolve. None for anything malformed.
pub fn decode(payload: &[u8]) -> Option<(Vec<u8>, Item)> {
    if payload.len() > MAX_PAYLOAD {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    if let Some(line) = text.strip_prefix("R ") {
        let (sid, r) = Receipt::from_spool_line(line)?;
        return Some((sid, Item::Receipt(r)));
    }
    let line = text.strip_prefix("M ")?;
    let mut f = line.split_ascii_whitespace();
    let mut next = || f.next();
    let origin_node: u16 = next()?.parse().ok()?;
    let origin_loop: u8 = next()?.parse().ok()?;
    let origin_seq: u64 = next()?.parse().ok()?;
    let sid = unhex(next()?)?;
    let mut addr = || -> Option<Addr> {
        let ton = next()?.parse().ok()?;
        let npi = next()?.parse().ok()?;
        let a = unhex(next()?)?;
        (a.len() <= 21).then(|| Addr::new(ton, npi, &a))
    };
    let source = addr()?;
    let dest = addr()?;
    let mut byte = || -> Option<u8> { next()?.parse().ok() };
    let (esm_class, protocol_id, priority_flag, data_coding) = (byte()?, byte()?, byte()?, byte()?);
    let short_message = unhex(next()?)?;
    let tlvs = unhex(next()?)?;
    let expires_unix: i64 = next()?.parse().ok()?;
    if next().is_some() || short_message.len() > 255 || crate::pdu::Tlvs::parse(&tlvs).is_err() {
        return None;
    }
    let mo = Mo {
        account: AccountId(0),
        origin: (origin_loop, origin_seq),
        origin_node,
        source,
        dest,
        esm_class,
        protocol_id,
        priority_flag,
        data_coding,
        short_message: Bytes::from(short_message),
        tlvs: Bytes::from(tlvs),
        expires_unix,
        attempts: 0,
        jid: 0,
    };
    Some((sid, Item::Mo(mo)))
}

/// A batch starts with these four bytes (a single item, from a node of
/// before batches, starts with `R ` or `M `).
pub const BATCH_MAGIC: &[u8; 4] = b"SMB1";
/// No batch we write is longer (NATS refuses messages over 1 MiB by default).
pub const MAX_BATCH: usize = 512 * 1024;
/// No batch we write has more items.
pub const MAX_ITEMS: usize = 1024;
/// Magic, not-before (u64), count (u16).
const BATCH_HEADER: usize = 4 + 8 + 2;
/// Each item: attempts (u8), length (u32).
const ITEM_HEADER: usize = 1 + 4;

/// Builds one batch: `SMB1`, not-before in unix ms (u64, 0 for at once),
/// the count (u16), then per item its attempts so far (u8), its length
/// (u32) and the item as [`encode`] writes it. Integers big-endian.
pub struct BatchWriter {
    buf: Vec<u8>,
    count: usize,
}

/// Why an item was not added.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// The batch is full: finish it and start another.
    Batch,
    /// The item alone is over [`MAX_PAYLOAD`]: it can never travel.
    Item,
}

impl BatchWriter {
    pub fn new(not_before_ms: u64) -> BatchWriter {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(BATCH_MAGIC);
        buf.extend_from_slice(&not_before_ms.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        BatchWriter { buf, count: 0 }
    }

    /// Items so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds the item `write` appends (nothing of it stays on an error).
    pub fn push_with(
        &mut self,
        attempts: u8,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Full> {
        if self.count >= MAX_ITEMS {
            return Err(Full::Batch);
        }
        let start = self.buf.len();
        self.buf.push(attempts);
        self.buf.extend_from_slice(&[0; 4]);
        write(&mut self.buf);
        let len = self.buf.len() - start - ITEM_HEADER;
        if len > MAX_PAYLOAD {
            self.buf.truncate(start);
            return Err(Full::Item);
        }
        if self.buf.len() > MAX_BATCH {
            self.buf.truncate(start);
            return Err(Full::Batch);
        }
        if let Some(l) = self.buf.get_mut(start + 1..start + ITEM_HEADER) {
            l.copy_from_slice(&(len as u32).to_be_bytes());
        }
        self.count += 1;
        Ok(())
    }

    /// Adds an item already encoded.
    pub fn push(&mut self, attempts: u8, item: &[u8]) -> Result<(), Full> {
        self.push_with(attempts, |out| out.extend_from_slice(item))
    }

    /// The payload (count written in).
    pub fn finish(mut self) -> Vec<u8> {
        let count = (self.count as u16).to_be_bytes();
        if let Some(c) = self.buf.get_mut(12..BATCH_HEADER) {
            c.copy_from_slice(&count);
        }
        self.buf
    }
}

/// A batch read back: its items are slices of the payload, not yet parsed
/// (each is given to [`decode`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    /// Unix ms before which it is not to be delivered (0: at once).
    pub not_before_ms: u64,
    /// (attempts so far, the item).
    pub items: Vec<(u8, Bytes)>,
    /// A single item of the format before batches (its attempts are the
    /// broker's delivery count).
    pub single: bool,
}

/// Splits a batch, checking every length against what is left, the count
/// against [`MAX_ITEMS`] and the total against [`MAX_BATCH`]; None for
/// anything malformed (nothing of it is delivered).
pub fn decode_batch(payload: &Bytes) -> Option<Batch> {
    if payload.len() > MAX_BATCH {
        return None;
    }
    if payload.starts_with(b"R ") || payload.starts_with(b"M ") {
        return (payload.len() <= MAX_PAYLOAD).then(|| Batch {
            not_before_ms: 0,
            items: vec![(0, payload.clone())],
            single: true,
        });
    }
    let header = payload.get(..BATCH_HEADER)?;
    let (magic, rest) = header.split_at_checked(4)?;
    if magic != BATCH_MAGIC {
        return None;
    }
    let (nb, count) = rest.split_at_checked(8)?;
    let not_before_ms = u64::from_be_bytes(nb.try_into().ok()?);
    let count = usize::from(u16::from_be_bytes(count.try_into().ok()?));
    if count == 0 || count > MAX_ITEMS {
        return None;
    }
    let mut items = Vec::with_capacity(count);
    let mut at = BATCH_HEADER;
    for _ in 0..count {
        let h = payload.get(at..at.checked_add(ITEM_HEADER)?)?;
        let (&attempts, len) = h.split_first()?;
        let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
        if len > MAX_PAYLOAD {
            return None;
        }
        let start = at + ITEM_HEADER;
        let end = start.checked_add(len)?;
        if end > payload.len() {
            return None;
        }
        items.push((attempts, payload.slice(start..end)));
        at = end;
    }
    (at == payload.len()).then_some(Batch {
        not_before_ms,
        items,
        single: false,
    })
}

/// How an MO delivery ended, for the node of its submitter: `loop seq stat err`.
pub fn encode_outcome(o: &MoOutcome) -> Vec<u8> {
    format!(
        "{} {} {} {}",
        o.origin.0,
        o.origin.1,
        o.stat.message_state(),
        o.err
    )
    .into_bytes()
}

pub fn decode_outcome(payload: &[u8]) -> Option<MoOutcome> {
    if payload.len() > 128 {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    let mut f = text.split_ascii_whitespace();
    let lp: u8 = f.next()?.parse().ok()?;
    let seq: u64 = f.next()?.parse().ok()?;
    let stat = Stat::from_message_state(f.next()?.parse().ok()?)?;
    let err: u16 = f.next()?.parse().ok()?;
    if f.next().is_some() {
        return None;
    }
    Some(MoOutcome {
        origin: (lp, seq),
        node: 0,
        stat,
        err,
    })
}

/// A question for another node: `<system_id hex> <frame hex>`.
pub fn encode_ask(system_id: &str, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * frame.len() + 40);
    push_hex(&mut out, system_id.as_bytes());
    out.push(b' ');
    push_hex(&mut out, frame);
    out
}

/// Another node's question for this node: the loop its message id names,
/// the account, the frame (a query_sm, cancel_sm or replace_sm with an id
/// of this run). None for anything else.
pub fn decode_ask(
    shared: &crate::server::Shared,
    payload: &[u8],
) -> Option<(usize, AccountId, Vec<u8>)> {
    if payload.len() > 2 * 64 * 1024 + 64 {
        return None;
    }
    let text = std::str::from_utf8(payload).ok()?;
    let (sid, frame) = text.split_once(' ')?;
    let sid = unhex(sid)?;
    let frame = unhex(frame)?;
    let account = shared.accounts().by_system_id(&sid)?.id;
    let p = crate::pdu::decode(&frame).ok()?;
    let id = match p.body {
        crate::pdu::Body::QuerySm(q) => q.message_id,
        crate::pdu::Body::CancelSm(c) => c.message_id,
        crate::pdu::Body::ReplaceSm(r) => r.message_id,
        _ => return None,
    };
    let (start, lp, _) = crate::msgid::parse(id)?;
    let lp = usize::from(lp);
    (start == shared.id_start && lp < shared.config.threads).then_some((lp, account, frame))
}

/// A system_id as one subject token and consumer name: itself when it is
/// plain (`[A-Za-z0-9_-]`), else `=` and its hex (`.`, `*`, `>` and spaces
/// would change the subject's meaning).
pub fn token(system_id: &str) -> String {
    let plain = !system_id.is_empty()
        && system_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        return system_id.to_string();
    }
    let mut v = b"=".to_vec();
    push_hex(&mut v, system_id.as_bytes());
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_and_garbage_is_refused() {
        let mut r = Receipt::new(
            AccountId(3),
            *b"0123456789a0300000000001",
            Addr::new(1, 1, b"447700900001"),
            Addr::new(5, 0, b"ACME"),
            1_700_000_000,
            Stat::Delivrd,
            b"hello",
            1_700_086_400,
        );
        r.done_unix = 1_700_000_005;
        let mut out = Vec::new();
        encode(&Item::Receipt(r), "acme", 1, &mut out);
        let (sid, back) = decode(&out).unwrap();
        assert_eq!(sid, b"acme");
        r.account = AccountId(0);
        assert_eq!(back, Item::Receipt(r));

        let mo = Mo {
            account: AccountId(2),
            origin: (1, 77),
            origin_node: 0,
            source: Addr::new(1, 1, b"4479"),
            dest: Addr::new(1, 1, b"1234"),
            esm_class: 0x40,
            protocol_id: 0,
            priority_flag: 1,
            data_coding: 8,
            short_message: Bytes::from_static(b"\x00h\x00i"),
            tlvs: Bytes::from_static(&[0x02, 0x04, 0, 2, 0, 9]),
            expires_unix: 1_700_086_400,
            attempts: 0,
            jid: 0,
        };
        let mut out = Vec::new();
        encode(&Item::Mo(mo.clone()), "a.b c", 5, &mut out);
        let (sid, back) = decode(&out).unwrap();
        assert_eq!(sid, b"a.b c");
        let Item::Mo(back) = back else { panic!() };
        assert_eq!(back.origin_node, 5, "the submitter's node is carried");
        assert_eq!(
            (back.origin, &back.short_message, &back.tlvs),
            (mo.origin, &mo.short_message, &mo.tlvs)
        );

        for bad in [
            &b""[..],
            b"R",
            b"R 61 zz",
            b"M 1 2",
            b"M 1 2 3 61 1 1 - 1 1 - 0 0 0 0 - 0102 0",
            b"X whatever",
            &[0xff, 0xfe],
        ] {
            assert!(decode(bad).is_none(), "{bad:?}");
        }
        assert!(decode(&vec![b'R'; MAX_PAYLOAD + 1]).is_none());

        let o = MoOutcome {
            origin: (1, 9),
            node: 0,
            stat: Stat::Undeliv,
            err: 0x45,
        };
        assert_eq!(decode_outcome(&encode_outcome(&o)), Some(o));
        assert!(decode_outcome(b"1 9 99 0").is_none());
        assert_eq!(token("acme_1-x"), "acme_1-x");
        assert_eq!(token("a.b"), "=612e62");
        assert_eq!(token(""), "=-");
    }

    #[test]
    fn batches_round_trip() {
        let mut w = BatchWriter::new(1_700_000_000_123);
        assert!(w.is_empty());
        w.push(0, b"R first\n").unwrap();
        w.push_with(3, |out| out.extend_from_slice(b"M second\n"))
            .unwrap();
        w.push(255, b"").unwrap();
        assert_eq!(w.len(), 3);
        let payload = Bytes::from(w.finish());
        let b = decode_batch(&payload).unwrap();
        assert_eq!(b.not_before_ms, 1_700_000_000_123);
        assert!(!b.single);
        let items: Vec<(u8, &[u8])> = b.items.iter().map(|(a, i)| (*a, &i[..])).collect();
        assert_eq!(
            items,
            [(0, &b"R first\n"[..]), (3, b"M second\n"), (255, b"")]
        );
        // An item of a node of before batches is a batch of one.
        let b = decode_batch(&Bytes::from_static(b"R 61 62\n")).unwrap();
        assert!(b.single);
        assert_eq!(b.items.len(), 1);
    }

    #[test]
    fn batches_stay_within_their_bounds() {
        let mut w = BatchWriter::new(0);
        for _ in 0..MAX_ITEMS {
            w.push(0, b"R x\n").unwrap();
        }
        assert_eq!(w.push(0, b"R x\n"), Err(Full::Batch));
        assert_eq!(
            decode_batch(&Bytes::from(w.finish())).unwrap().items.len(),
            MAX_ITEMS
        );

        let mut w = BatchWriter::new(0);
        let big = vec![b'R'; MAX_PAYLOAD + 1];
        assert_eq!(w.push(0, &big), Err(Full::Item));
        assert!(w.is_empty());
        let item = vec![b'R'; MAX_PAYLOAD];
        let mut n = 0;
        loop {
            match w.push(0, &item) {
                Ok(()) => n += 1,
                Err(e) => {
                    assert_eq!(e, Full::Batch);
                    break;
                }
            }
        }
        assert_eq!(n, MAX_BATCH / (MAX_PAYLOAD + ITEM_HEADER));
        let payload = w.finish();
        assert!(payload.len() <= MAX_BATCH);
        assert_eq!(decode_batch(&Bytes::from(payload)).unwrap().items.len(), n);
    }

    #[test]
    fn hostile_batches_are_refused() {
        let mut w = BatchWriter::new(7);
        w.push(1, b"R abc\n").unwrap();
        w.push(2, b"M defg\n").unwrap();
        let good = w.finish();
        // Every truncation, and a byte too many.
        for cut in 0..good.len() {
            assert!(
                decode_batch(&Bytes::copy_from_slice(&good[..cut])).is_none(),
                "cut {cut}"
            );
        }
        let mut long = good.clone();
        long.push(0);
        assert!(decode_batch(&Bytes::from(long)).is_none());
        let with = |at: usize, v: &[u8]| {
            let mut p = good.clone();
            p[at..at + v.len()].copy_from_slice(v);
            decode_batch(&Bytes::from(p))
        };
        assert!(with(0, b"SMB2").is_none(), "magic");
        assert!(with(12, &[0, 0]).is_none(), "count 0");
        assert!(with(12, &[0, 3]).is_none(), "count past the items");
        assert!(with(12, &[0xff, 0xff]).is_none(), "count over the bound");
        assert!(
            with(15, &[0xff, 0xff, 0xff, 0xff]).is_none(),
            "length past the end"
        );
        assert!(
            with(15, &[0, 0, 0, 3]).is_none(),
            "length short of the next item"
        );
        // Lengths over the item bound are refused before they are trusted.
        let mut p = BATCH_MAGIC.to_vec();
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&[0, 1, 0]);
        p.extend_from_slice(&((MAX_PAYLOAD + 1) as u32).to_be_bytes());
        p.resize(p.len() + MAX_PAYLOAD + 1, b'R');
        assert!(decode_batch(&Bytes::from(p)).is_none());
        assert!(decode_batch(&Bytes::from(vec![b'R'; MAX_BATCH + 1])).is_none());
        assert!(decode_batch(&Bytes::from(vec![0xff; 64])).is_none());
        assert!(decode_batch(&Bytes::new()).is_none());
    }
}
