//! Loop-to-loop links: receipts for a system_id bound on another loop
//! travel there in batches, one batch per destination per iteration (and,
//! on links of their own, the rare questions about messages another loop
//! holds: `remote.rs`).
//!
//! Each ordered pair of loops has one link: a bounded channel for batches
//! (its slots are allocated once, at start) and one back the other way on
//! which the receiver returns the emptied `Vec`s. Once a link is warm,
//! sending allocates nothing. A full link (the other loop is
//! [`LINK_BATCHES`] batches behind) leaves the batch with the sender.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::receipt::Receipt;
use std::sync::mpsc::{self, TrySendError};

/// A batch for one other loop (receipts, unless said otherwise).
pub type Batch<T = Receipt> = Vec<T>;

/// Batches in flight per link.
pub const LINK_BATCHES: usize = 64;

/// The sending end of a link.
pub struct OutLink<T = Receipt> {
    tx: mpsc::SyncSender<Batch<T>>,
    spares: mpsc::Receiver<Batch<T>>,
}

/// The receiving end of a link.
pub struct InLink<T = Receipt> {
    rx: mpsc::Receiver<Batch<T>>,
    back: mpsc::SyncSender<Batch<T>>,
}

/// One link of `cap` batches.
pub fn link<T>(cap: usize) -> (OutLink<T>, InLink<T>) {
    let (tx, rx) = mpsc::sync_channel(cap);
    let (back, spares) = mpsc::sync_channel(cap);
    (OutLink { tx, spares }, InLink { rx, back })
}

/// What became of a batch given to [`OutLink::ship`].
#[derive(Debug, PartialEq, Eq)]
pub enum Shipped<T = Receipt> {
    /// Sent: wake the other loop. The caller's batch is now an empty
    /// (recycled, if one came back) `Vec`.
    Sent,
    /// The link is full: the batch is still the caller's, untouched.
    Full,
    /// The other loop is gone: its receipts, to be kept by the caller.
    Gone(Batch<T>),
}

impl<T> OutLink<T> {
    pub fn ship(&self, batch: &mut Batch<T>) -> Shipped<T> {
        // An emptied batch given back by the other loop takes this one's
        // place: no allocation once the link is warm.
        let spare = self.spares.try_recv().unwrap_or_default();
        let b = std::mem::replace(batch, spare);
        match self.tx.try_send(b) {
            Ok(()) => Shipped::Sent,
            Err(TrySendError::Full(b)) => {
                *batch = b;
                Shipped::Full
            }
            Err(TrySendError::Disconnected(b)) => Shipped::Gone(b),
        }
    }
}

impl<T> InLink<T> {
    /// Moves everything that arrived into `into`; returns how many.
    pub fn drain_into(&self, into: &mut Vec<T>) -> usize {
        let mut n = 0;
        while let Ok(mut batch) = self.rx.try_recv() {
            n += batch.len();
            into.append(&mut batch);
            // Back for reuse; if the sender is full or gone, it is freed.
            let _ = self.back.try_send(batch);
        }
        n
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::account::AccountId;
    use crate::dlr::Stat;
    use crate::receipt::Addr;

    fn receipt(i: u8) -> Receipt {
        let mut id = *b"000000000000000000000000";
        id[23] = b'0' + i % 10;
        Receipt::new(
            AccountId(0),
            id,
            Addr::new(1, 1, b"447700900001"),
            Addr::new(1, 1, b"12345"),
            1_715_005_320,
            Stat::Delivrd,
            &[b'a' + i % 26],
            i64::MAX,
        )
    }

    #[test]
    fn batches_arrive_in_order_and_vecs_come_back() {
        let (out, inl) = link(4);
        let mut batch: Batch = (0..3).map(receipt).collect();
        let first_buf = batch.as_ptr();
        assert_eq!(out.ship(&mut batch), Shipped::Sent);
        assert!(batch.is_empty());
        let mut got = Vec::new();
        assert_eq!(inl.drain_into(&mut got), 3);
        assert_eq!(got, (0..3).map(receipt).collect::<Vec<_>>());
        // The next send reuses the Vec the receiver gave back.
        batch.push(receipt(9));
        assert_eq!(out.ship(&mut batch), Shipped::Sent);
        assert_eq!(batch.as_ptr(), first_buf, "the emptied Vec was recycled");
        assert!(batch.capacity() >= 3);
        assert_eq!(inl.drain_into(&mut got), 1);
        assert_eq!(got.last(), Some(&receipt(9)));
    }

    #[test]
    fn a_full_link_leaves_the_batch_with_the_sender() {
        let (out, inl) = link(2);
        for i in 0..2 {
            let mut b = vec![receipt(i)];
            assert_eq!(out.ship(&mut b), Shipped::Sent);
        }
        let mut b = vec![receipt(7), receipt(8)];
        assert_eq!(out.ship(&mut b), Shipped::Full);
        assert_eq!(b, vec![receipt(7), receipt(8)], "nothing lost");
        let mut got = Vec::new();
        assert_eq!(inl.drain_into(&mut got), 2);
        assert_eq!(out.ship(&mut b), Shipped::Sent);
        assert_eq!(inl.drain_into(&mut got), 2);
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn a_gone_receiver_hands_the_receipts_back() {
        let (out, inl) = link(2);
        drop(inl);
        let mut b = vec![receipt(1)];
        assert_eq!(out.ship(&mut b), Shipped::Gone(vec![receipt(1)]));
    }
}
