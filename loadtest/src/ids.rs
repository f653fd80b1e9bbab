//! Message ids as fixed-size map keys, so matching a receipt to its submit
//! allocates nothing.
//!
//! An id of up to 15 octets is packed into a `u128` exactly (octets plus
//! length), so two keys are equal exactly when the ids are. A longer id
//! (hex digests, UUIDs) is reduced to a 120-bit hash: a false match between
//! two distinct long ids has a probability around 2^-120 per pair, far below
//! anything a run can observe.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A message id as a map key.
pub type IdKey = u128;

/// murmur3's 64-bit finaliser: a cheap full-avalanche mix.
#[inline]
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

fn hash64(data: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (data.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for chunk in data.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ fmix64(u64::from_le_bytes(b)))
            .rotate_left(27)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(0x52dc_e729);
    }
    fmix64(h)
}

/// The key of a message id (see the module doc).
#[inline]
pub fn id_key(id: &[u8]) -> IdKey {
    if id.len() <= 15 {
        let mut b = [0u8; 16];
        b[..id.len()].copy_from_slice(id);
        b[15] = id.len() as u8;
        u128::from_le_bytes(b)
    } else {
        let hi = hash64(id, 0x1234_5678_9abc_def1) as u128;
        let lo = hash64(id, 0x0fed_cba9_8765_4321) as u128;
        // Top octet 0xFF marks a hashed key; packed keys have a length <= 15 there.
        ((hi << 64) | lo) | (0xFFu128 << 120)
    }
}

/// Which of `threads` owns (matches receipts for) this key.
#[inline]
pub fn owner(key: IdKey, threads: usize) -> usize {
    if threads <= 1 {
        return 0;
    }
    (fmix64((key as u64) ^ ((key >> 64) as u64).rotate_left(17)) % threads as u64) as usize
}

/// Hasher for [`IdKey`]s: one mix of the two halves.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u128 keys; keep it correct, not fast.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.0 = fmix64(self.0 ^ (v as u64) ^ fmix64((v >> 64) as u64));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type KeyMap<V> = HashMap<IdKey, V, BuildHasherDefault<KeyHasher>>;
pub type KeySet = HashSet<IdKey, BuildHasherDefault<KeyHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_are_exact() {
        assert_ne!(id_key(b"1"), id_key(b"1\0"));
        assert_ne!(id_key(b""), id_key(b"\0"));
        assert_eq!(id_key(b"0000000001"), id_key(b"0000000001"));
        assert_ne!(id_key(b"0000000001"), id_key(b"0000000002"));
        assert_ne!(id_key(b"123456789012345"), id_key(b"12345678901234"));
    }

    #[test]
    fn long_ids_hash_distinctly() {
        let mut seen = KeySet::default();
        for i in 0..100_000u32 {
            let id = format!("{i:032x}");
            assert!(seen.insert(id_key(id.as_bytes())));
        }
        // Hashed keys never equal packed ones.
        assert_eq!(id_key(&[b'a'; 16]) >> 120, 0xFF);
        assert_eq!(id_key(&[b'a'; 15]) >> 120, 15);
    }

    #[test]
    fn owners_spread() {
        let mut counts = [0usize; 4];
        for i in 0..40_000u32 {
            let id = format!("{i}");
            counts[owner(id_key(id.as_bytes()), 4)] += 1;
        }
        for c in counts {
            assert!((8_000..12_000).contains(&c), "{counts:?}");
        }
        assert_eq!(owner(id_key(b"x"), 1), 0);
    }
}
