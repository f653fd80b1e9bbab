//! The NATS thread's side of the batches (`ledger.rs` keeps the book):
//! a pulled batch's items to the loops with a receiver for its account,
//! the settlement of a batch with JetStream once every item is settled,
//! and the publishes (the loops' batches and the re-published items),
//! each retried until JetStream acknowledges it.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::ledger::{Ledger, Outcome, Resolved, Settle};
use super::{wire, ClusterShared, FromBroker, BROKER_BIT};
use crate::account::AccountId;
use crate::delivery::Item;
use crate::server::Shared;
use async_nats::jetstream;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A batch pulled by an account's consumer task.
pub(super) struct Pulled {
    pub account: AccountId,
    pub payload: Bytes,
    pub reply: Option<async_nats::Subject>,
    pub delivered: i64,
}

/// How long an item that found no room (or no receiver) here waits.
const NO_ROOM: Duration = Duration::from_millis(200);
/// A not-before further ahead than this (another node's clock, or a
/// hostile one) is waited for this long at a time.
const MAX_WAIT: Duration = Duration::from_secs(3600);

pub(super) type Book = Ledger<async_nats::Subject>;

pub(super) use crate::clock::unix_ms;

/// A pulled batch's items to loops with a receiver for its account; what
/// found no place is settled at once (and so, when nothing did, the batch).
pub(super) async fn take(
    shared: &Arc<Shared>,
    client: &async_nats::Client,
    js: &jetstream::Context,
    book: &mut Book,
    rr: &mut usize,
    p: Pulled,
) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    let Some(reply) = p.reply else {
        return;
    };
    let Some(batch) = wire::decode_batch(&p.payload) else {
        // Poison: never delivered again.
        c.stats.malformed.fetch_add(1, Ordering::Relaxed);
        let _ = client.publish(reply, Bytes::from_static(b"+TERM")).await;
        return;
    };
    let now = unix_ms();
    if batch.not_before_ms > now {
        // Published again after a retryable failure: not yet.
        let wait = Duration::from_millis(batch.not_before_ms - now).min(MAX_WAIT);
        nak(client, reply, wait).await;
        return;
    }
    let loops: Vec<usize> = shared
        .account(p.account)
        .map(|st| {
            st.receivers
                .iter()
                .enumerate()
                .filter(|(_, n)| n.load(Ordering::Relaxed) > 0)
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let n = batch.items.len();
    if loops.is_empty() {
        // No receiver here (any more): the whole batch back, as it is,
        // without decoding or booking any of it.
        c.stats.naked.fetch_add(n as u64, Ordering::Relaxed);
        nak(client, reply, NO_ROOM).await;
        return;
    }
    c.stats.consumed.fetch_add(n as u64, Ordering::Relaxed);
    c.stats.batches_consumed.fetch_add(1, Ordering::Relaxed);
    let mut items = batch.items;
    if batch.single {
        // A node of before batches: the broker counts the attempts.
        let attempts = u8::try_from(p.delivered.saturating_sub(1).max(0)).unwrap_or(u8::MAX);
        for (a, _) in items.iter_mut() {
            *a = attempts;
        }
    }
    // Decoded before the items move into the book (no copy of them).
    let accounts = shared.accounts();
    let sid = accounts.get(p.account).map(|a| a.system_id.as_bytes());
    let decoded: Vec<Option<(u8, Item)>> = items
        .iter()
        .map(|(attempts, line)| {
            let (s, item) = wire::decode(line)?;
            // The subject named the account; the item must agree.
            (Some(s.as_slice()) == sid).then_some((*attempts, item))
        })
        .collect();
    let tokens = book.admit(reply, p.account, items, Instant::now());
    let mut woken = vec![false; c.to_loops.len()];
    let mut settled = Vec::new();
    for (token, item) in tokens.into_iter().zip(decoded) {
        let outcome = match item {
            None => {
                c.stats.malformed.fetch_add(1, Ordering::Relaxed);
                Some(Outcome::Done)
            }
            Some((attempts, mut item)) => {
                set_broker(&mut item, p.account, token, attempts, c.node);
                *rr = rr.wrapping_add(1);
                let sent = loops.get(*rr % loops.len()).and_then(|&lp| {
                    let tx = c.to_loops.get(lp)?;
                    tx.try_send(FromBroker::Deliver(item)).ok().map(|()| lp)
                });
                match sent {
                    Some(lp) => {
                        if let Some(w) = woken.get_mut(lp) {
                            *w = true;
                        }
                        None
                    }
                    // Its loop is behind: later, any node.
                    None => {
                        c.stats.naked.fetch_add(1, Ordering::Relaxed);
                        Some(Outcome::Returned(NO_ROOM))
                    }
                }
            }
        };
        if let Some(o) = outcome {
            if let Resolved::Settled(s) = book.resolve(token, o) {
                settled.push(s);
            }
        }
    }
    for (lp, _) in woken.iter().enumerate().filter(|(_, w)| **w) {
        shared.wake(lp);
    }
    for s in settled {
        settle(shared, client, js, s).await;
    }
}

/// A delivery of the broker's, as this node's loops know it: its account,
/// its token as jid, its attempts so far.
fn set_broker(item: &mut Item, account: AccountId, token: u64, attempts: u8, node: u16) {
    match item {
        Item::Receipt(r) => {
            r.account = account;
            r.jid = token | BROKER_BIT;
            r.attempts = attempts;
        }
        Item::Mo(m) => {
            m.account = account;
            m.jid = token | BROKER_BIT;
            m.attempts = attempts;
            if m.origin_node == node {
                m.origin_node = 0;
            }
        }
    }
}

/// One item settled by a loop; the batch settled with JetStream if it was
/// its last.
pub(super) async fn resolve(
    shared: &Arc<Shared>,
    client: &async_nats::Client,
    js: &jetstream::Context,
    book: &mut Book,
    token: u64,
    outcome: Outcome,
) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    let resolved = book.resolve(token, outcome);
    // Counted only for items the book still had (not the late outcome of
    // a forgotten batch, nor a second settlement).
    if !matches!(resolved, Resolved::Unknown) {
        let counter = match outcome {
            Outcome::Done => &c.stats.acked,
            Outcome::Failed(_) | Outcome::Returned(_) => &c.stats.naked,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    if let Resolved::Settled(s) = resolved {
        settle(shared, client, js, s).await;
    }
}

/// Tells JetStream how a batch ended.
pub(super) async fn settle(
    shared: &Arc<Shared>,
    client: &async_nats::Client,
    js: &jetstream::Context,
    s: Settle<async_nats::Subject>,
) {
    match s {
        Settle::Ack(reply) => {
            let _ = client.publish(reply, Bytes::from_static(b"+ACK")).await;
        }
        Settle::Nak(reply, delay) => nak(client, reply, delay).await,
        Settle::Republish {
            reply,
            account,
            again,
        } => {
            let (shared, client, js) = (shared.clone(), client.clone(), js.clone());
            tokio::spawn(
                async move { republish(&shared, &client, &js, reply, account, again).await },
            );
        }
    }
}

/// Publishes the unfinished items of a batch again, then acks it (only
/// then: until JetStream has them, the old batch holds them).
async fn republish(
    shared: &Shared,
    client: &async_nats::Client,
    js: &jetstream::Context,
    reply: async_nats::Subject,
    account: AccountId,
    again: Vec<(Duration, Vec<(u8, Bytes)>)>,
) {
    if let (Some(c), Some(acct)) = (shared.cluster.as_ref(), shared.accounts().get(account)) {
        let subject = async_nats::Subject::from(ClusterShared::deliver_subject(&acct.system_id));
        for (delay, items) in again {
            let n = items.len() as u64;
            let not_before = unix_ms().saturating_add(delay.as_millis() as u64);
            for payload in batches(not_before, &items) {
                let msg_id = c.batch_id();
                publish_acked(c, js, &subject, &msg_id, payload.into(), None).await;
                c.stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            c.stats.republished.fetch_add(n, Ordering::Relaxed);
        }
    }
    let _ = client.publish(reply, Bytes::from_static(b"+ACK")).await;
}

/// At stop, the loops gone: the open batches settled, waiting for each
/// (what is left unsettled JetStream redelivers after its ack wait).
pub(super) async fn close(
    shared: &Arc<Shared>,
    client: &async_nats::Client,
    js: &jetstream::Context,
    book: &mut Book,
) {
    for s in book.close() {
        match s {
            Settle::Republish {
                reply,
                account,
                again,
            } => republish(shared, client, js, reply, account, again).await,
            other => settle(shared, client, js, other).await,
        }
    }
}

/// Items as batches within the bounds (an item over them is dropped: no
/// batch we read can hold it, so it was never ours).
fn batches(not_before: u64, items: &[(u8, Bytes)]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = wire::BatchWriter::new(not_before);
    for (attempts, item) in items {
        if let Err(wire::Full::Batch) = w.push(*attempts, item) {
            out.push(std::mem::replace(&mut w, wire::BatchWriter::new(not_before)).finish());
            let _ = w.push(*attempts, item);
        }
    }
    if !w.is_empty() {
        out.push(w.finish());
    }
    out
}

pub(super) async fn nak(client: &async_nats::Client, reply: async_nats::Subject, delay: Duration) {
    let body = if delay.is_zero() {
        Bytes::from_static(b"-NAK")
    } else {
        Bytes::from(format!("-NAK {{\"delay\":{}}}", delay.as_nanos()))
    };
    let _ = client.publish(reply, body).await;
}

/// Publishes until JetStream acknowledges (de-duplicated by `Nats-Msg-Id`,
/// so a retry after a lost ack stores it once), backing off between
/// attempts; with a `deadline`, gives up once it has passed. Whether
/// JetStream has it.
pub(super) async fn publish_acked(
    c: &ClusterShared,
    js: &jetstream::Context,
    subject: &async_nats::Subject,
    msg_id: &str,
    payload: Bytes,
    deadline: Option<Instant>,
) -> bool {
    let mut backoff = Duration::from_millis(50);
    loop {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        let attempt = async {
            let ack = js
                .publish_with_headers(subject.clone(), headers, payload.clone())
                .await?;
            ack.await.map(|_| ()).map_err(async_nats::Error::from)
        };
        let sent = match deadline {
            None => attempt.await,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, attempt).await {
                    Ok(r) => r,
                    Err(_) => return false,
                }
            }
        };
        match sent {
            Ok(()) => return true,
            Err(e) => crate::log::debug(format_args!("cluster: publish to {subject}: {e}")),
        }
        c.stats.publish_retries.fetch_add(1, Ordering::Relaxed);
        if deadline.is_some_and(|d| Instant::now() + backoff >= d) {
            return false;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// A loop's batch for another node; once JetStream has it, its `count`
/// hand-offs leave the bound and its journal lines `jids` are finished.
pub(super) async fn publish(
    shared: Arc<Shared>,
    js: jetstream::Context,
    subject: String,
    msg_id: String,
    payload: Bytes,
    (loop_id, jids, count): (usize, Vec<u64>, usize),
) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    publish_acked(c, &js, &subject.into(), &msg_id, payload, None).await;
    c.stats.batches.fetch_add(1, Ordering::Relaxed);
    c.stats.published.fetch_add(count as u64, Ordering::Relaxed);
    c.held.fetch_sub(count, Ordering::Relaxed);
    if !jids.is_empty() {
        if let Some(tx) = c.to_loops.get(loop_id) {
            // A full inbox: the journal lines stay (replayed and published again).
            if tx.try_send(FromBroker::Published(jids)).is_ok() {
                shared.wake(loop_id);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn republished_items_are_split_within_the_bounds() {
        let item = Bytes::from(vec![b'R'; wire::MAX_PAYLOAD]);
        let items = vec![(1u8, item); 7];
        let out = batches(42, &items);
        let per = wire::MAX_BATCH / (wire::MAX_PAYLOAD + 5);
        assert_eq!(out.len(), 7usize.div_ceil(per));
        let mut n = 0;
        for p in out {
            let b = wire::decode_batch(&Bytes::from(p)).unwrap();
            assert_eq!(b.not_before_ms, 42);
            assert!(b.items.iter().all(|(a, _)| *a == 1));
            n += b.items.len();
        }
        assert_eq!(n, 7);
        assert!(batches(0, &[]).is_empty());
    }
}
