//! Message ids: unique across loops, threads and restarts, made without a
//! syscall or a lock.
//!
//! Format: 24 lowercase hex digits = 11 digits of the server's start time in
//! milliseconds since the Unix epoch (good until the year 2527), 2 digits of
//! the loop (worker) number, 11 digits of a per-loop counter. Two servers
//! started in the same millisecond on one port cannot both be listening, so
//! (start, loop, counter) never repeats; the counter would need 17.6e12
//! messages on one loop to wrap.

/// Length of every id we issue.
pub const LEN: usize = 24;

pub type MessageId = [u8; LEN];

const HEX: &[u8; 16] = b"0123456789abcdef";

pub struct MsgIdGen {
    /// The last id issued; the counter digits are incremented in place
    /// (an odometer), so making an id costs a copy and usually one add.
    current: MessageId,
}

impl MsgIdGen {
    pub fn new(start_epoch_ms: u64, worker: u8) -> MsgIdGen {
        let mut current = [b'0'; LEN];
        write_hex(&mut current[..11], start_epoch_ms);
        write_hex(&mut current[11..13], u64::from(worker));
        MsgIdGen { current }
    }

    /// The next id.
    #[inline]
    pub fn next_id(&mut self) -> MessageId {
        for d in self.current[13..].iter_mut().rev() {
            match *d {
                b'9' => {
                    *d = b'a';
                    break;
                }
                b'f' => *d = b'0', // carry into the next digit
                _ => {
                    *d += 1;
                    break;
                }
            }
        }
        self.current
    }
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
        // The odometer carries like a counter.
        let mut c = MsgIdGen::new(0, 0);
        for _ in 0..0x1234 {
            c.next_id();
        }
        assert_eq!(&c.next_id()[13..], b"00000001235");
        // A restart one millisecond later never collides with the first run.
        let mut g3 = MsgIdGen::new(0x0012_3456_789b, 3);
        for _ in 0..10_000 {
            assert!(seen.insert(g3.next_id()));
        }
    }
}
