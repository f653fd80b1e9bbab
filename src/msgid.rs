//! Message ids: unique across loops, threads and restarts, made without a
//! syscall or a lock.
//!
//! Format: 24 lowercase hex digits = 11 digits of the server's start time in
//! milliseconds since the Unix epoch (good until the year 2527), 2 digits of
//! the loop (worker) number, 11 digits of a per-loop counter. Two servers
//! started in the same millisecond on one port cannot both be listening, so
//! (start, loop, counter) never repeats; the counter would need 17.6e12
//! messages on one loop to wrap.
//!
//! In a cluster (`--node-id N`, 1..=4095) the id also names its node, in
//! the same 24 digits: 8 digits of the start time in seconds (good until
//! 2106), 3 of the node, 2 of the loop, 11 of the counter. A node waits for
//! the next whole second before it starts (`start_second`), so two runs of
//! one node never share a start second; node ids keep nodes apart. Node 0
//! (no `--node-id`) keeps the single-node format above.

/// Length of every id we issue.
pub const LEN: usize = 24;

pub type MessageId = [u8; LEN];

const HEX: &[u8; 16] = b"0123456789abcdef";

pub struct MsgIdGen {
    /// The last id issued.
    current: MessageId,
    counter: u64,
}

impl MsgIdGen {
    pub fn new(start_epoch_ms: u64, worker: u8) -> MsgIdGen {
        MsgIdGen::with_start(start_epoch_ms, worker)
    }

    /// The generator of node `node`'s loop `worker`: `start` is
    /// [`start_field`] of the node's start.
    pub fn with_start(start: u64, worker: u8) -> MsgIdGen {
        let mut current = [b'0'; LEN];
        write_hex(&mut current[..11], start);
        write_hex(&mut current[11..13], u64::from(worker));
        MsgIdGen {
            current,
            counter: 0,
        }
    }

    /// The next id.
    #[inline]
    pub fn next_id(&mut self) -> MessageId {
        let next = self.counter.wrapping_add(1);
        self.id_of(next)
    }

    /// The id of sequence number `seq` (the message store's: it names the
    /// store slot; sequence numbers only grow, so ids stay unique).
    #[inline]
    pub fn id_of(&mut self, seq: u64) -> MessageId {
        // The low 8 digits are rendered branch-free and stored as one word
        // (a byte-wise odometer made the following read of the id stall on
        // store forwarding); the 3 high digits change every 2^32 ids.
        if seq >> 32 != self.counter >> 32 || self.counter == 0 {
            write_hex(&mut self.current[13..16], seq >> 32);
        }
        self.counter = seq;
        self.current[16..].copy_from_slice(&hex8(seq as u32));
        self.current
    }
}

/// The parts of an id we issued: (start time in ms, loop, sequence number).
/// None for anything else (wrong length, not lowercase hex).
pub fn parse(id: &[u8]) -> Option<(u64, u8, u64)> {
    if id.len() != LEN {
        return None;
    }
    let hex = |s: &[u8]| -> Option<u64> {
        s.iter().try_fold(0u64, |acc, &c| {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            Some(acc << 4 | u64::from(d))
        })
    };
    let start = hex(id.get(..11)?)?;
    let lp = hex(id.get(11..13)?)? as u8;
    let seq = hex(id.get(13..)?)?;
    Some((start, lp, seq))
}

/// Highest `--node-id` (3 hex digits).
pub const MAX_NODE: u16 = 0xFFF;

/// The 11 leading digits' value: the start in ms (node 0), or the start
/// second and the node (a cluster node).
pub fn start_field(start_epoch_ms: u64, node: u16) -> u64 {
    if node == 0 {
        start_epoch_ms & 0xFFF_FFFF_FFFF
    } else {
        ((start_epoch_ms / 1000) & 0xFFFF_FFFF) << 12 | u64::from(node & MAX_NODE)
    }
}

/// The node an id of a cluster node names (0 for a single-node id, which
/// only a run without `--node-id` makes).
pub fn node_of(start_field: u64, cluster: bool) -> u16 {
    if cluster {
        (start_field & u64::from(MAX_NODE)) as u16
    } else {
        0
    }
}

/// Eight lowercase hex digits of `x`, most significant first, without a loop.
#[inline]
fn hex8(x: u32) -> [u8; 8] {
    let x = u64::from(x);
    // Spread the 8 nibbles into the 8 bytes (most significant nibble in the top byte).
    let mut v = ((x & 0xFFFF_0000) << 16) | (x & 0xFFFF);
    v = ((v & 0x0000_FF00_0000_FF00) << 8) | (v & 0x0000_00FF_0000_00FF);
    v = ((v & 0x00F0_00F0_00F0_00F0) << 4) | (v & 0x000F_000F_000F_000F);
    // Bytes >= 10 get 'a' - '0' - 10 = 0x27 more.
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (v + 0x3030_3030_3030_3030 + letters * 0x27).to_be_bytes()
}

/// Writes `v` as fixed-width lowercase hex into all of `out` (high digits
/// that do not fit are dropped).
#[inline]
fn write_hex(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = HEX[(v & 0xF) as usize];
        v >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn layout_and_uniqueness() {
        let mut g = MsgIdGen::new(0x0012_3456_789a, 3);
        let a = g.next_id();
        assert_eq!(&a, b"0123456789a0300000000001");
        let mut g2 = MsgIdGen::new(0x0012_3456_789a, 4);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(g.next_id()));
            assert!(seen.insert(g2.next_id()));
        }
        for x in [0u32, 9, 10, 15, 16, 0xABCD_EF01, u32::MAX, 0x1234_5678] {
            assert_eq!(std::str::from_utf8(&hex8(x)).unwrap(), format!("{x:08x}"));
        }
        // The counter carries into the high digits.
        let mut c = MsgIdGen::new(0, 0);
        for _ in 0..0x1234 {
            c.next_id();
        }
        assert_eq!(&c.next_id()[13..], b"00000001235");
        // Ids parse back into their parts.
        assert_eq!(parse(&a), Some((0x0012_3456_789a, 3, 1)));
        assert_eq!(parse(&c.id_of(0x5_0000_0007)), Some((0, 0, 0x5_0000_0007)));
        assert_eq!(parse(b"0123456789A0300000000001"), None);
        assert_eq!(parse(b"01234"), None);
        // A cluster node's ids name it; node 0 keeps the single-node field.
        assert_eq!(start_field(0x0012_3456_789a, 0), 0x0012_3456_789a);
        let f = start_field(1_764_590_000_123, 7);
        assert_eq!(f, (1_764_590_000u64 << 12) | 7);
        let mut n7 = MsgIdGen::with_start(f, 1);
        let id = n7.next_id();
        assert_eq!(&id[..11], format!("{:08x}007", 1_764_590_000u64).as_bytes());
        let (start, lp, seq) = parse(&id).unwrap();
        assert_eq!((node_of(start, true), lp, seq), (7, 1, 1));
        assert_eq!(node_of(start, false), 0);
        let mut n8 = MsgIdGen::with_start(start_field(1_764_590_000_123, 8), 1);
        for _ in 0..10_000 {
            assert!(seen.insert(n7.next_id()));
            assert!(seen.insert(n8.next_id()));
        }
        // A restart one millisecond later never collides with the first run.
        let mut g3 = MsgIdGen::new(0x0012_3456_789b, 3);
        for _ in 0..10_000 {
            assert!(seen.insert(g3.next_id()));
        }
    }
}
