//! What travels on `smsc.deliver.<system_id>` between nodes: one receipt
//! or MO message as a line of text (the spool line's fields, octet strings
//! in hex), and the MO outcomes on `smsc.outcome.<node>`.
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
    Some((sid, Item::Mo(Box::new(mo))))
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
#[allow(clippy::unwrap_used, clippy::panic)]
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
        encode(&Item::Mo(Box::new(mo.clone())), "a.b c", 5, &mut out);
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
}
