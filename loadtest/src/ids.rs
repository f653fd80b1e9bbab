//! Message ids as fixed-size map keys, so matching a receipt to its submit
//! allocates nothing.
//!
//! An id of up to 15 octets is packed into a `u128` exactly (octets plus
//! length), so two keys are equal exactly when the ids are; so is one of
//! 16-30 lowercase hex digits (four bits a digit). Any other longer id
//! (UUIDs, uppercase hex) is reduced to a 120-bit hash: a false match between
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
    } else if let Some(k) = hex_key(id) {
        k
    } else {
        let hi = hash64(id, 0x1234_5678_9abc_def1) as u128;
        let lo = hash64(id, 0x0fed_cba9_8765_4321) as u128;
        // Top octet 0xFF marks a hashed key; packed keys have a length <= 15 there.
        ((hi << 64) | lo) | (0xFFu128 << 120)
    }
}

/// Ids of 16..=30 lowercase hex digits (what many SMSCs send, smsc's own
/// 24-digit ids included) packed exactly, four bits a digit: as cheap as
/// the short-id path, where hashing them cost the load generator a tenth
/// of its time. Top octet 0x80 | length: never a packed or hashed key's.
#[inline]
fn hex_key(id: &[u8]) -> Option<IdKey> {
    let n = id.len();
    if !(16..=30).contains(&n) {
        return None;
    }
    let mut key: u128 = 0;
    let mut words = id.chunks_exact(8);
    for w in &mut words {
        key = (key << 32) | u128::from(hex8(u64::from_le_bytes(w.try_into().ok()?))?);
    }
    for &c in words.remainder() {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        key = (key << 4) | u128::from(v);
    }
    Some(key | ((0x80 | n as u128) << 120))
}

/// Eight lowercase hex digits (as a little-endian word) to 32 bits, or
/// None if any octet is not one of `0-9a-f`.
#[inline]
fn hex8(v: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    if v & HI != 0 {
        return None;
    }
    // For octets < 0x80: x >= a sets bit 7 of x + (0x80 - a); x <= b
    // leaves bit 7 of x + (0x7F - b) clear. No carries between octets.
    let ge = |a: u64| v + ONES * (0x80 - a);
    let le = |b: u64| !(v + ONES * (0x7F - b));
    let digit = ge(0x30) & le(0x39) & HI;
    let letter = ge(0x61) & le(0x66) & HI;
    if (digit | letter) != HI {
        return None;
    }
    // '0'-'9' -> low nibble; 'a'-'f' -> low nibble + 9.
    let l = letter >> 7;
    let mut x = (v & 0x0F0F_0F0F_0F0F_0F0F) + (l << 3) + l;
    // Gather the eight nibbles (octet i -> bits 4i..4i+4).
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0xFFFF_FFFF;
    Some(x as u32)
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
        assert_eq!(id_key(&[b'z'; 16]) >> 120, 0xFF);
        assert_eq!(id_key(&[b'a'; 16]) >> 120, 0x90);
        assert_eq!(id_key(&[b'a'; 15]) >> 120, 15);
    }

    #[test]
    fn hex_ids_pack_exactly() {
        // Distinct ids give distinct keys: every length 16..=30, every digit
        // at every position, against the same id with one digit changed.
        for n in 16..=30 {
            let id: Vec<u8> = (0..n).map(|i| b"0123456789abcdef"[i % 16]).collect();
            let k = id_key(&id);
            assert_eq!(k >> 120, 0x80 | n as u128, "tagged with its length");
            let mut seen = KeySet::default();
            seen.insert(k);
            for pos in 0..n {
                for &c in b"0123456789abcdef" {
                    let mut v = id.clone();
                    v[pos] = c;
                    let kv = id_key(&v);
                    assert_eq!(kv == k, v == id, "{}", String::from_utf8_lossy(&v));
                    seen.insert(kv);
                }
            }
            // 15 changed digits per position plus the original.
            assert_eq!(seen.len(), 1 + n * 15);
        }
        // Swapping two digits changes the key (positions are kept).
        assert_ne!(id_key(b"000000000000000f0"), id_key(b"0000000000000000f"));
    }

    #[test]
    fn non_hex_ids_are_hashed_not_packed() {
        for bad in [
            &b"0123456789ABCDEF"[..], // uppercase: not packed (case would be lost)
            b"0123456789abcdeg",      // g
            b"0123456789abcde/",      // just below '0'
            b"0123456789abcde:",      // just above '9'
            b"0123456789abcde`",      // just below 'a'
            b"0123456789abcde\xe1",   // high bit
            b"0123456789abcdef0123456789abcdef", // 32 digits: too long to pack
        ] {
            assert_eq!(id_key(bad) >> 120, 0xFF, "{}", String::from_utf8_lossy(bad));
        }
        // A hex id and a differing non-hex one never meet.
        assert_ne!(id_key(b"0123456789abcdef"), id_key(b"0123456789ABCDEF"));
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
