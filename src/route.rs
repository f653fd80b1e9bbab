//! The route table: destination prefixes owned by accounts (`numbers =` in
//! the accounts file, `--route PREFIX=SYSTEM_ID`). A message to a number
//! an account owns is delivered to that account as a mobile-originated
//! deliver_sm; the longest matching prefix wins.
//!
//! A digit trie: a lookup walks the destination's digits (at most 20), no
//! hash and no allocation on the submit path; an empty table costs one
//! branch.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::AccountId;

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    child: [u32; 10],
    owner: u32,
}

const EMPTY: Node = Node {
    child: [NONE; 10],
    owner: NONE,
};

#[derive(Clone, Debug, Default)]
pub struct Routes {
    nodes: Vec<Node>,
}

/// Digits of an address, without a leading `+`.
fn digits(addr: &[u8]) -> &[u8] {
    addr.strip_prefix(b"+").unwrap_or(addr)
}

impl Routes {
    /// The table of `(prefix, owner)` pairs. A prefix must be 1-20 digits
    /// (a leading `+` is dropped); one owned by two accounts is an error.
    pub fn build<'a>(
        entries: impl IntoIterator<Item = (&'a str, AccountId)>,
    ) -> Result<Routes, String> {
        let mut r = Routes { nodes: vec![EMPTY] };
        for (prefix, owner) in entries {
            let p = digits(prefix.trim().as_bytes());
            if p.is_empty() || p.len() > 20 || !p.iter().all(u8::is_ascii_digit) {
                return Err(format!("route prefix {prefix:?} is not 1-20 digits"));
            }
            let mut at = 0usize;
            for &d in p {
                let i = usize::from(d - b'0');
                let next = r
                    .nodes
                    .get(at)
                    .and_then(|n| n.child.get(i))
                    .copied()
                    .unwrap_or(NONE);
                at = if next == NONE {
                    let new = r.nodes.len();
                    r.nodes.push(EMPTY);
                    if let Some(c) = r.nodes.get_mut(at).and_then(|n| n.child.get_mut(i)) {
                        *c = new as u32;
                    }
                    new
                } else {
                    next as usize
                };
            }
            if let Some(n) = r.nodes.get_mut(at) {
                if n.owner != NONE && n.owner != owner.0 {
                    return Err(format!("route prefix {prefix:?} is owned by two accounts"));
                }
                n.owner = owner.0;
            }
        }
        if r.nodes.len() == 1 {
            r.nodes.clear();
        }
        Ok(r)
    }

    /// No account owns any number.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The account owning the longest prefix of `dest`.
    #[inline]
    pub fn owner(&self, dest: &[u8]) -> Option<AccountId> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut at = 0usize;
        let mut best = NONE;
        for &c in digits(dest) {
            if !c.is_ascii_digit() {
                break;
            }
            let Some(&next) = self
                .nodes
                .get(at)
                .and_then(|n| n.child.get(usize::from(c - b'0')))
            else {
                break;
            };
            if next == NONE {
                break;
            }
            at = next as usize;
            if let Some(n) = self.nodes.get(at) {
                if n.owner != NONE {
                    best = n.owner;
                }
            }
        }
        (best != NONE).then_some(AccountId(best))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins() {
        let r = Routes::build([
            ("44", AccountId(1)),
            ("4479", AccountId(2)),
            ("+1900123", AccountId(3)),
        ])
        .unwrap();
        assert_eq!(r.owner(b"447700900001"), Some(AccountId(1)));
        assert_eq!(r.owner(b"447912345678"), Some(AccountId(2)));
        assert_eq!(r.owner(b"+447912345678"), Some(AccountId(2)));
        assert_eq!(r.owner(b"19001234"), Some(AccountId(3)));
        assert_eq!(r.owner(b"1900124"), None);
        assert_eq!(r.owner(b"4"), None);
        assert_eq!(r.owner(b"Shop"), None);
        assert_eq!(r.owner(b""), None);
    }

    #[test]
    fn bad_and_conflicting_prefixes_are_refused() {
        assert!(Routes::build([("44a", AccountId(0))]).is_err());
        assert!(Routes::build([("", AccountId(0))]).is_err());
        assert!(Routes::build([("44", AccountId(0)), ("44", AccountId(1))]).is_err());
        assert!(Routes::build([("44", AccountId(0)), ("44", AccountId(0))]).is_ok());
        assert!(Routes::build(std::iter::empty()).unwrap().is_empty());
    }
}
