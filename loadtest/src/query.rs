//! The request mix beside the messages (`--query-share`, `--enquire-share`):
//! query_sm for a recently accepted message, and enquire_link, each timed in
//! its own histogram so that both are read at the same moment of one run.

use crate::templates::write_header;
use smsc::pdu::{CommandId, HEADER_LEN};

/// Longest message_id kept (the spec's 65 octets with the NUL).
pub const MAX_ID: usize = 64;
/// Accepted ids remembered per thread: a query picks one of the latest.
pub const RECENT: usize = 1024;

/// The latest accepted message ids, overwritten in turn (no allocation
/// after the first round).
pub struct RecentIds {
    ids: Vec<([u8; MAX_ID], u8)>,
    next: usize,
}

impl Default for RecentIds {
    fn default() -> Self {
        RecentIds::new()
    }
}

impl RecentIds {
    pub fn new() -> RecentIds {
        RecentIds {
            ids: Vec::new(),
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Remembers an accepted id (empty or overlong ones are not queryable).
    pub fn push(&mut self, id: &[u8]) {
        if id.is_empty() || id.len() > MAX_ID {
            return;
        }
        let mut b = [0u8; MAX_ID];
        b[..id.len()].copy_from_slice(id);
        let e = (b, id.len() as u8);
        if self.ids.len() < RECENT {
            self.ids.push(e);
        } else if let Some(slot) = self.ids.get_mut(self.next) {
            *slot = e;
        }
        self.next = (self.next + 1) % RECENT;
    }

    /// The id at `r` modulo how many are kept.
    pub fn pick(&self, r: u64) -> Option<&[u8]> {
        if self.ids.is_empty() {
            return None;
        }
        let (b, n) = self.ids.get((r % self.ids.len() as u64) as usize)?;
        b.get(..usize::from(*n))
    }
}

/// Appends a query_sm for `id` from `source` (TON 1, NPI 1, as the
/// templates submit) with sequence number `seq`.
pub fn write_query_sm(out: &mut Vec<u8>, seq: u32, id: &[u8], source: &[u8]) {
    let len = HEADER_LEN + id.len() + 1 + 2 + source.len() + 1;
    let at = out.len();
    write_header(out, CommandId::QUERY_SM, 0, seq);
    if let Some(h) = out.get_mut(at..at + 4) {
        h.copy_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(id);
    out.extend_from_slice(&[0, 1, 1]);
    out.extend_from_slice(source);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use smsc::pdu::{decode, Body};

    #[test]
    fn recent_ids_keep_the_latest() {
        let mut r = RecentIds::new();
        assert_eq!(r.pick(5), None);
        r.push(b"");
        r.push(&[b'x'; MAX_ID + 1]);
        assert!(r.is_empty(), "not queryable ids are not kept");
        for i in 0..RECENT + 10 {
            r.push(format!("id{i}").as_bytes());
        }
        assert_eq!(r.len(), RECENT);
        // The first ten were overwritten by the last ten.
        assert_eq!(r.pick(0), Some(&b"id1024"[..]));
        assert_eq!(r.pick(9), Some(&b"id1033"[..]));
        assert_eq!(r.pick(10), Some(&b"id10"[..]));
        assert_eq!(r.pick(RECENT as u64 + 10), Some(&b"id10"[..]));
        r.push(&[b'y'; MAX_ID]);
        assert_eq!(r.pick(10).map(<[u8]>::len), Some(MAX_ID));
    }

    #[test]
    fn query_sm_decodes() {
        let mut out = vec![7u8];
        write_query_sm(&mut out, 99, b"0123abcd", b"12345");
        let pdu = decode(&out[1..]).unwrap();
        assert_eq!(pdu.header.sequence_number, 99);
        match pdu.body {
            Body::QuerySm(q) => {
                assert_eq!(q.message_id, b"0123abcd");
                assert_eq!((q.source_addr_ton, q.source_addr_npi), (1, 1));
                assert_eq!(q.source_addr, b"12345");
            }
            b => panic!("{b:?}"),
        }
    }
}
