//! The cluster (`--nats URL --node-id N`): several nodes sharing NATS
//! JetStream, with no protocol of our own between them.
//!
//! A receipt or MO message whose account has no receiver on any loop of
//! this node is published to JetStream (`smsc.deliver.<system_id>`), one
//! message per account per loop iteration carrying that iteration's batch
//! (`wire.rs`); every node with a receiver for that account pulls from one
//! durable consumer per account (each batch to one node), delivers its
//! items through the normal window, and acks the batch once every item is
//! finished; items that failed retryably are published again as a new
//! batch first (`ledger.rs`).
//!
//! The NATS client runs on its own thread (`client.rs`, a current-thread
//! tokio runtime); the loops reach it only through bounded channels and
//! their `mio::Waker` (`bridge.rs`), so no PDU ever waits on the broker.
//! What travels is `wire.rs`.
//!
//! - `mod.rs`: the state shared by the loops and the NATS thread.
//! - `client.rs`: the NATS thread (connection, streams, consumers, acks).
//! - `batch.rs`: the NATS thread's side of the batches (hand-off to the
//!   loops, settlement, publishes); `ledger.rs` its book of them.
//! - `bridge.rs`: the loop's side (hand-offs out, deliveries in).
//! - `wire.rs`: the payloads, parsed as hostile input.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod batch;
pub mod bridge;
mod client;
pub mod ledger;
pub mod mt;
pub mod wire;

pub use client::start;

use crate::config::Config;
use crate::delivery::{Item, MoOutcome};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Mutex;
use std::time::Duration;

/// A delivery's jid with this bit set is a JetStream message held by this
/// node (the rest is its ack token), not a journal line: finishing it acks
/// the broker (`JournalHooks::done`). Journal jids never reach bit 63.
pub const BROKER_BIT: u64 = 1 << 63;

/// The stream of deliveries between nodes.
pub const STREAM: &str = "SMSC_DELIVER";
/// Subject prefix of the deliveries: `smsc.deliver.<system_id token>`.
pub const DELIVER: &str = "smsc.deliver";
/// MO outcomes for the submitter's node: `smsc.outcome.<node>`.
pub const OUTCOME: &str = "smsc.outcome";

#[inline(always)]
pub fn is_broker(jid: u64) -> bool {
    jid & BROKER_BIT != 0
}

/// What a loop asks of the NATS thread.
#[derive(Debug)]
pub enum ToBroker {
    /// Publish a batch of `count` deliveries of one account for another
    /// node; `jids` (their journal lines) are finished on loop `loop_id`
    /// once JetStream has it.
    Publish {
        subject: String,
        msg_id: String,
        payload: Vec<u8>,
        loop_id: usize,
        jids: Vec<u64>,
        count: usize,
    },
    /// How a loop settled a delivery of the broker's (its token): done
    /// (the broker may forget it), failed retryably (again after the
    /// delay, to any node, one attempt more) or given back untried
    /// (attempts unchanged).
    Settle(u64, ledger::Outcome),
    /// An MO delivery's outcome for the submitter's node.
    Outcome { node: u16, payload: Vec<u8> },
    /// A query_sm / cancel_sm / replace_sm for a message of node `node`
    /// (a NATS request on `smsc.manage.<node>`); answered with `Answer`.
    Ask {
        node: u16,
        token: u64,
        loop_id: usize,
        system_id: String,
        frame: Vec<u8>,
    },
    /// Our response to another node's `Ask` (`reply` names its request).
    Reply { reply: u64, frame: Vec<u8> },
    /// A broker-routed submit (`mt.rs`); answered with `MtAnswered`.
    Mt {
        subject: String,
        msg_id: String,
        payload: Vec<u8>,
        loop_id: usize,
        slot: usize,
        mseq: u64,
    },
}

/// What the NATS thread hands a loop.
#[derive(Debug)]
pub enum FromBroker {
    /// A delivery from the broker (its jid carries [`BROKER_BIT`]).
    Deliver(Item),
    /// JetStream has the publish of these journal lines: finish them.
    Published(Vec<u64>),
    /// How another node's delivery of one of our MO messages ended.
    Outcome(MoOutcome),
    /// JetStream took the broker-routed submit (`ok`) or it gave up: the
    /// held response `slot` goes out.
    MtAnswered { slot: usize, mseq: u64, ok: bool },
    /// Another node asks about one of this loop's messages.
    Ask {
        reply: u64,
        account: crate::account::AccountId,
        frame: Vec<u8>,
    },
    /// The response to our `Ask` `token`.
    Answer { token: u64, frame: Vec<u8> },
}

/// Requests between nodes about their messages: `smsc.manage.<node>`.
pub const MANAGE: &str = "smsc.manage";

/// Counters of the broker side, read by /metrics and the stats line.
#[derive(Default)]
pub struct Stats {
    pub published: AtomicU64,
    /// JetStream messages (batches) published.
    pub batches: AtomicU64,
    pub batches_consumed: AtomicU64,
    /// Items published again after a retryable failure.
    pub republished: AtomicU64,
    /// Gauges (each second): batches pulled and not yet settled, and
    /// their items still with the loops.
    pub pulled_batches: AtomicU64,
    pub pulled_items: AtomicU64,
    pub publish_retries: AtomicU64,
    pub consumed: AtomicU64,
    pub acked: AtomicU64,
    pub naked: AtomicU64,
    pub malformed: AtomicU64,
    pub outcomes: AtomicU64,
    pub disconnects: AtomicU64,
}

/// The cluster's state shared by the loops and the NATS thread.
pub struct ClusterShared {
    pub node: u16,
    pub url: String,
    /// Hand-offs to the broker not yet acknowledged, at most `hold`.
    pub held: AtomicUsize,
    pub hold: usize,
    pub account_hold: i64,
    /// How long JetStream keeps a delivery nobody takes (the receipt TTL).
    pub max_age: Duration,
    pub connected: AtomicBool,
    /// The broker's absence was logged (once per outage).
    pub warned: AtomicBool,
    pub stats: Stats,
    /// This run's start field of message ids (its start second and node:
    /// no other node or run of this one has it) and the batches it named
    /// so far: a batch's `Nats-Msg-Id`, unique across nodes and runs.
    run: u64,
    batch_seq: AtomicU64,
    to_broker: tokio::sync::mpsc::Sender<ToBroker>,
    broker_rx: Mutex<Option<tokio::sync::mpsc::Receiver<ToBroker>>>,
    to_loops: Vec<SyncSender<FromBroker>>,
    loop_rx: Mutex<Vec<Option<Receiver<FromBroker>>>>,
}

/// Deliveries waiting in one loop's inbox from the broker.
const LOOP_INBOX: usize = 16 * 1024;

impl ClusterShared {
    pub fn new(config: &Config, id_start: u64) -> ClusterShared {
        let hold = config.cluster_hold.max(1);
        // Acks and naks share the channel with the publishes: room for both.
        let (to_broker, broker_rx) = tokio::sync::mpsc::channel(hold + 64 * 1024);
        let (to_loops, loop_rx): (Vec<_>, Vec<_>) = (0..config.threads)
            .map(|_| {
                let (tx, rx) = std::sync::mpsc::sync_channel(LOOP_INBOX);
                (tx, Some(rx))
            })
            .unzip();
        ClusterShared {
            node: config.node_id,
            url: config.nats.clone().unwrap_or_default(),
            held: AtomicUsize::new(0),
            hold,
            account_hold: config.cluster_account_hold,
            max_age: config.receipt_ttl.max(config.default_validity),
            connected: AtomicBool::new(false),
            warned: AtomicBool::new(false),
            stats: Stats::default(),
            run: id_start,
            batch_seq: AtomicU64::new(0),
            to_broker,
            broker_rx: Mutex::new(Some(broker_rx)),
            to_loops,
            loop_rx: Mutex::new(loop_rx),
        }
    }

    /// A new batch's `Nats-Msg-Id`: `b<node>-<run's id start>-<seq>`. A retry
    /// of its publish keeps it (JetStream stores the batch once); nothing
    /// else, on any node or in any later run, gets it again.
    pub fn batch_id(&self) -> String {
        let seq = self.batch_seq.fetch_add(1, Ordering::Relaxed);
        format!("b{}-{}-{seq}", self.node, self.run)
    }

    /// Hand-offs the broker can still take before the bound.
    #[inline]
    pub fn room(&self) -> usize {
        self.hold.saturating_sub(self.held.load(Ordering::Relaxed))
    }

    /// Queues `op` for the NATS thread; gives it back when the channel is full.
    pub fn send(&self, op: ToBroker) -> Result<(), ToBroker> {
        self.to_broker.try_send(op).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(op)
            | tokio::sync::mpsc::error::TrySendError::Closed(op) => op,
        })
    }

    /// Loop `id`'s inbox from the broker (taken once, by the loop).
    pub fn take_loop_rx(&self, id: usize) -> Option<Receiver<FromBroker>> {
        self.loop_rx
            .lock()
            .ok()
            .and_then(|mut v| v.get_mut(id).and_then(Option::take))
    }

    fn take_broker_rx(&self) -> Option<tokio::sync::mpsc::Receiver<ToBroker>> {
        self.broker_rx.lock().ok().and_then(|mut r| r.take())
    }

    /// The subject of an account's deliveries.
    pub fn deliver_subject(system_id: &str) -> String {
        format!("{DELIVER}.{}", wire::token(system_id))
    }

    /// Prometheus lines of the broker side.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let s = &self.stats;
        let up = u8::from(self.connected.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP smsc_cluster_connected 1 while the NATS connection is up\n# TYPE smsc_cluster_connected gauge\nsmsc_cluster_connected {up}");
        let _ = writeln!(out, "# HELP smsc_cluster_held_current Hand-offs to the broker not yet acknowledged by JetStream\n# TYPE smsc_cluster_held_current gauge\nsmsc_cluster_held_current {}", self.held.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP smsc_cluster_pulled_batches_current Batches taken from JetStream and not yet settled\n# TYPE smsc_cluster_pulled_batches_current gauge\nsmsc_cluster_pulled_batches_current {}", s.pulled_batches.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP smsc_cluster_pulled_items_current Their deliveries still with this node's receivers\n# TYPE smsc_cluster_pulled_items_current gauge\nsmsc_cluster_pulled_items_current {}", s.pulled_items.load(Ordering::Relaxed));
        for (name, help, v) in [
            (
                "published",
                "Deliveries published to JetStream for another node",
                &s.published,
            ),
            (
                "batches",
                "JetStream messages (batches of deliveries) published",
                &s.batches,
            ),
            (
                "batches_consumed",
                "JetStream messages (batches of deliveries) taken",
                &s.batches_consumed,
            ),
            (
                "republished",
                "Deliveries published again after a retryable failure",
                &s.republished,
            ),
            (
                "publish_retries",
                "JetStream publishes tried again (broker down or slow)",
                &s.publish_retries,
            ),
            ("consumed", "Deliveries taken from JetStream", &s.consumed),
            ("acked", "Deliveries acknowledged to JetStream", &s.acked),
            (
                "naked",
                "Deliveries given back to JetStream for later",
                &s.naked,
            ),
            (
                "malformed",
                "Broker messages refused as malformed",
                &s.malformed,
            ),
            (
                "outcomes",
                "MO outcomes exchanged with other nodes",
                &s.outcomes,
            ),
            (
                "disconnects",
                "Times the NATS connection was lost",
                &s.disconnects,
            ),
        ] {
            let _ = writeln!(out, "# HELP smsc_cluster_{name} {help}\n# TYPE smsc_cluster_{name} counter\nsmsc_cluster_{name} {}", v.load(Ordering::Relaxed));
        }
    }
}
