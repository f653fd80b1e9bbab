//! Helpers shared by the unit tests of several modules.

/// Seeded xorshift64* so randomised tests reproduce from their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// [`Rng::below`] for indices and lengths.
    pub fn index(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A receipt as the receipt and journal tests use it: DELIVRD, text
/// "hello world", no expiry.
pub fn receipt() -> crate::receipt::Receipt {
    use crate::receipt::{Addr, Receipt};
    Receipt::new(
        crate::account::AccountId(0),
        *b"0123456789a0100000000001",
        Addr::new(1, 1, b"447700900002"),
        Addr::new(5, 0, b"Shop"),
        1_715_005_320, // 2024-05-06 14:22:00 UTC
        crate::dlr::Stat::Delivrd,
        b"hello world",
        i64::MAX,
    )
}
