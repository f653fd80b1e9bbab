//! The loop's side of the cluster: deliveries handed to the broker, acks
//! and naks of the deliveries it gave us, MO outcomes for other nodes out;
//! deliveries, publish confirmations and outcomes in. Never blocks: a full
//! channel leaves the work for a later iteration.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::ledger::Outcome;
use super::{is_broker, wire, ClusterShared, FromBroker, ToBroker, BROKER_BIT};
use crate::delivery::Item;
use crate::loop_state::LoopState;
use crate::server::Shared;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Messages taken from the inbox per wake (the rest after a new wake).
const DRAIN_BUDGET: usize = 8192;

/// Responses for this loop's sessions that came through the broker.
#[derive(Default)]
pub struct Drained {
    /// Broker-routed submits JetStream answered: (held response slot, taken).
    pub mt: Vec<(usize, bool)>,
    /// Answers of other nodes about their messages.
    pub ready: Vec<crate::remote::Ready>,
}

/// What the broker sent this loop.
pub fn drain(st: &mut LoopState, shared: &Shared) -> Drained {
    let mut out = Drained::default();
    let Some(rx) = st.cluster.take() else {
        return out;
    };
    let mut n = 0;
    while n < DRAIN_BUDGET {
        let Ok(msg) = rx.try_recv() else {
            break;
        };
        n += 1;
        match msg {
            FromBroker::Deliver(item) => st.delivery.fresh.push(item),
            FromBroker::Published(jids) => {
                for jid in jids {
                    st.delivery.journal.done(jid);
                }
            }
            FromBroker::Outcome(o) => crate::manage::on_mo_outcome(st, shared, o),
            FromBroker::MtAnswered { slot, mseq, ok } => {
                if !ok {
                    super::mt::refused(st, mseq);
                }
                out.mt.push((slot, ok));
            }
            FromBroker::Ask {
                reply,
                account,
                frame,
            } => {
                let frame = crate::manage::answer_frame(st, shared, account, &frame);
                if let Some(c) = &shared.cluster {
                    let _ = c.send(ToBroker::Reply { reply, frame });
                }
            }
            FromBroker::Answer { token, frame } => {
                if let Some(r) = st.remote.answered(token, frame) {
                    out.ready.push(r);
                }
            }
        }
    }
    if n == DRAIN_BUDGET {
        shared.wake(st.id);
    }
    st.cluster = Some(rx);
    out
}

/// What this iteration has for the broker.
pub fn flush(st: &mut LoopState, shared: &Shared) {
    let Some(c) = &shared.cluster else {
        return;
    };
    for (node, token, account, frame) in std::mem::take(&mut st.remote.to_nodes) {
        let Some(acct) = shared.accounts().get(account) else {
            continue;
        };
        let op = ToBroker::Ask {
            node,
            token,
            loop_id: st.id,
            system_id: acct.system_id.clone(),
            frame,
        };
        // Not sent: the question times out like an unanswered one.
        let _ = c.send(op);
    }
    let d = &mut st.delivery;
    if !d.journal.broker_ops.is_empty() {
        let mut ops = std::mem::take(&mut d.journal.broker_ops);
        let mut kept = Vec::new();
        for (jid, outcome) in ops.drain(..) {
            if c.send(ToBroker::Settle(jid & !BROKER_BIT, outcome))
                .is_err()
            {
                kept.push((jid, outcome));
            }
        }
        d.journal.broker_ops = kept;
    }
    if d.cluster_out.is_empty() {
        return;
    }
    // One batch per account (usually one account) of this iteration's
    // hand-offs: nothing waits for a batch to fill.
    let mut open: Vec<Open> = Vec::new();
    for item in std::mem::take(&mut d.cluster_out) {
        let jid = item.jid();
        if is_broker(jid) {
            // Ours from the broker, and no receiver is left here: any node may take it.
            let back = Outcome::Returned(Duration::ZERO);
            if c.send(ToBroker::Settle(jid & !BROKER_BIT, back)).is_err() {
                // The channel is full: sent next time, still untried.
                d.journal.broker_ops.push((jid, back));
            }
            continue;
        }
        let account = item.account();
        let Some(acct) = shared.accounts().get(account) else {
            // Its account is gone: nobody can take it.
            d.journal.done(jid);
            continue;
        };
        let at = match open.iter().position(|o| o.account == account) {
            Some(i) => i,
            None => {
                open.push(Open::new(account, &acct.system_id));
                open.len() - 1
            }
        };
        let Some(o) = open.get_mut(at) else {
            continue;
        };
        let encode = |out: &mut Vec<u8>| wire::encode(&item, &acct.system_id, c.node, out);
        let mut pushed = o.batch.push_with(item.attempts(), encode);
        if pushed == Err(wire::Full::Batch) {
            let full = std::mem::replace(o, Open::new(account, &acct.system_id));
            send_batch(c, st.id, full, d, &mut st.clock);
            pushed = o.batch.push_with(item.attempts(), encode);
        }
        match pushed {
            Ok(()) => {
                o.items.push(item);
            }
            // Over any batch's bound (cannot happen: an item's fields are
            // bounded below it): never deliverable.
            Err(_) => d.journal.done(jid),
        }
    }
    for o in open {
        send_batch(c, st.id, o, d, &mut st.clock);
    }
}

/// A batch of one account being filled by `flush`.
struct Open {
    account: crate::account::AccountId,
    /// Its account's delivery subject, named when the batch was opened (a
    /// reload meanwhile changes nothing for it).
    subject: String,
    batch: wire::BatchWriter,
    items: Vec<Item>,
}

impl Open {
    fn new(account: crate::account::AccountId, system_id: &str) -> Open {
        Open {
            account,
            subject: ClusterShared::deliver_subject(system_id),
            batch: wire::BatchWriter::new(0),
            items: Vec::new(),
        }
    }
}

/// Queues a batch's publish; when the NATS thread's channel is full its
/// items are kept here and handed off again shortly.
fn send_batch(
    c: &ClusterShared,
    loop_id: usize,
    o: Open,
    d: &mut crate::delivery::Delivery,
    clock: &mut crate::clock::Clock,
) {
    let count = o.items.len();
    if count == 0 {
        return;
    }
    let jids: Vec<u64> = o.items.iter().map(Item::jid).filter(|&j| j != 0).collect();
    let op = ToBroker::Publish {
        subject: o.subject,
        msg_id: c.batch_id(),
        payload: o.batch.finish(),
        loop_id,
        jids,
        count,
    };
    c.held.fetch_add(count, Ordering::Relaxed);
    if c.send(op).is_err() {
        c.held.fetch_sub(count, Ordering::Relaxed);
        for item in o.items {
            d.delay(item, Duration::from_millis(20), clock);
        }
    }
}
