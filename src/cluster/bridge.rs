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

use super::{is_broker, ClusterShared, FromBroker, ToBroker, BROKER_BIT};
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
            FromBroker::Published(jid) => st.delivery.journal.done(jid),
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
        for (jid, nak) in ops.drain(..) {
            let token = jid & !BROKER_BIT;
            let op = match nak {
                None => ToBroker::Ack(token),
                Some(delay) => ToBroker::Nak(token, delay),
            };
            if c.send(op).is_err() {
                kept.push((jid, nak));
            }
        }
        d.journal.broker_ops = kept;
    }
    if d.cluster_out.is_empty() {
        return;
    }
    let items = std::mem::take(&mut d.cluster_out);
    for item in items {
        let jid = item.jid();
        if is_broker(jid) {
            // Ours from the broker, and no receiver is left here: any node may take it.
            let _ = c.send(ToBroker::Nak(jid & !BROKER_BIT, Duration::ZERO));
            continue;
        }
        match publish_op(c, shared, st.id, &item) {
            Some(op) => {
                c.held.fetch_add(1, Ordering::Relaxed);
                if let Err(ToBroker::Publish { .. }) = c.send(op) {
                    c.held.fetch_sub(1, Ordering::Relaxed);
                    // Full: kept here and tried again shortly.
                    d.delay(item, Duration::from_millis(20), &mut st.clock);
                }
            }
            // Its account is gone: nobody can take it.
            None => d.journal.done(jid),
        }
    }
}

/// The publish of a delivery: its account's subject, an id JetStream
/// de-duplicates by, the payload.
fn publish_op(c: &ClusterShared, shared: &Shared, loop_id: usize, item: &Item) -> Option<ToBroker> {
    let acct = shared.accounts().get(item.account())?;
    let mut payload = Vec::with_capacity(256);
    super::wire::encode(item, &acct.system_id, c.node, &mut payload);
    let msg_id = match item {
        // One final receipt per message id (ids are unique across nodes).
        Item::Receipt(r) => format!("r{}", String::from_utf8_lossy(&r.message_id)),
        // The submitter's store slot of this run names an MO message.
        Item::Mo(m) => format!(
            "m{}-{}-{}-{}",
            if m.origin_node == 0 {
                c.node
            } else {
                m.origin_node
            },
            shared.id_start,
            m.origin.0,
            m.origin.1
        ),
    };
    Some(ToBroker::Publish {
        subject: ClusterShared::deliver_subject(&acct.system_id),
        msg_id,
        payload,
        loop_id,
        jid: item.jid(),
    })
}
