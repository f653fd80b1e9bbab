//! The NATS thread: one connection (reconnecting forever), the delivery
//! stream, one pull consumer per account that has a receiver on this node,
//! the publishes (each retried until JetStream acknowledges it), and the
//! acks of what the loops finished (per batch: `batch.rs`, `ledger.rs`).
//! A current-thread tokio runtime: the broker's latency and outages are
//! this thread's, never a loop's.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::batch::{self, Book, Pulled};
use super::{mt, wire, ClusterShared, FromBroker, ToBroker, DELIVER, MANAGE, OUTCOME, STREAM};
use crate::account::AccountId;
use crate::server::Shared;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a node has to deliver what it pulled before JetStream gives
/// it to another node (a node that died leaves its deliveries for this long).
pub const ACK_WAIT: Duration = Duration::from_secs(10);
/// Batches of one account pulled and not yet acked, per consumer (each
/// at most `wire::MAX_ITEMS` deliveries and `wire::MAX_BATCH` bytes).
const MAX_ACK_PENDING: i64 = 256;
/// A batch still held this long is reported in progress to JetStream (so
/// a slow receiver does not make it redeliver to another node); one held
/// longer than `FORGET` is left to JetStream's redelivery.
const PROGRESS: Duration = Duration::from_secs(4);
const FORGET: Duration = Duration::from_secs(120);

/// Starts the NATS thread of a node with `--nats` (nothing otherwise).
pub fn start(shared: Arc<Shared>) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
    let Some(ops) = shared
        .cluster
        .as_ref()
        .and_then(ClusterShared::take_broker_rx)
    else {
        return Ok(None);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let t = std::thread::Builder::new()
        .name("smsc-nats".into())
        .spawn(move || rt.block_on(run(shared, ops)))?;
    Ok(Some(t))
}

async fn run(shared: Arc<Shared>, mut ops: mpsc::Receiver<ToBroker>) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    let events = shared.clone();
    let options = async_nats::ConnectOptions::new()
        .name(format!("smsc-node-{}", c.node))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .reconnect_delay_callback(|n| Duration::from_millis((100 * n as u64).min(2000)))
        .event_callback(move |ev| {
            let shared = events.clone();
            async move { on_event(&shared, ev) }
        });
    // The first connection can take forever (the broker is down at start):
    // meanwhile hand-offs wait here, and broker-routed submits are refused
    // when their response timer runs out.
    let connecting = options.connect(c.url.as_str());
    tokio::pin!(connecting);
    let mut early: Vec<ToBroker> = Vec::new();
    let mut wait = tokio::time::interval(Duration::from_millis(50));
    let born = Instant::now();
    let client = loop {
        tokio::select! {
            r = &mut connecting => match r {
                Ok(cl) => break cl,
                Err(e) => {
                    crate::log::warn(format_args!("cluster: cannot use --nats {}: {e}", c.url));
                    return;
                }
            },
            Some(op) = ops.recv() => early.push(op),
            _ = wait.tick() => {
                early.retain(|op| match op {
                    ToBroker::Mt { loop_id, slot, mseq, .. } if born.elapsed() >= shared.config.response_timer => {
                        c.held.fetch_sub(1, Ordering::Relaxed);
                        answer_mt(&shared, *loop_id, FromBroker::MtAnswered { slot: *slot, mseq: *mseq, ok: false });
                        false
                    }
                    _ => true,
                });
                if shared.shutdown.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
    };
    let js = jetstream::new(client.clone());
    let (pulled_tx, mut pulled) = mpsc::channel::<Pulled>(4096);
    let mut outcomes = client.subscribe(format!("{OUTCOME}.{}", c.node)).await.ok();
    // Every node reads the reports and keeps those naming it; inbound MO
    // goes to one node of the queue group.
    let mut reports = client.subscribe(mt::REPORT).await.ok();
    let mut inbound = client
        .queue_subscribe(mt::MO, "smsc".to_string())
        .await
        .ok();
    let mut next_inject = 0usize;
    let mut manage = client.subscribe(format!("{MANAGE}.{}", c.node)).await.ok();
    let mut replies: HashMap<u64, (async_nats::Subject, Instant)> = HashMap::new();
    let mut next_reply: u64 = 1;
    let mut consumers: HashMap<usize, JoinHandle<()>> = HashMap::new();
    let mut book = Book::default();
    let mut rr: usize = 0;
    let mut ready = false;
    let stream_ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut ensuring: Option<JoinHandle<()>> = None;
    let mut last_sweep = Instant::now();
    let mut last_progress = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut stopping: Option<Instant> = None;
    for op in early {
        handle_op(&shared, &client, &js, &mut book, op).await;
    }
    loop {
        tokio::select! {
            op = ops.recv() => {
                let Some(op) = op else { break };
                if let ToBroker::Reply { reply, frame } = op {
                    if let Some((subject, _)) = replies.remove(&reply) {
                        let _ = client.publish(subject, Bytes::from(frame)).await;
                    }
                    continue;
                }
                handle_op(&shared, &client, &js, &mut book, op).await;
            }
            Some(p) = pulled.recv() => {
                batch::take(&shared, &client, &js, &mut book, &mut rr, p).await;
            }
            Some(m) = next_of(&mut outcomes) => {
                match wire::decode_outcome(&m.payload) {
                    Some(o) => {
                        let lp = usize::from(o.origin.0);
                        if let Some(tx) = c.to_loops.get(lp) {
                            if tx.try_send(FromBroker::Outcome(o)).is_ok() {
                                shared.wake(lp);
                            }
                        }
                    }
                    None => { c.stats.malformed.fetch_add(1, Ordering::Relaxed); }
                }
            }
            Some(m) = next_of(&mut reports) => {
                // Another node's report (or garbage) is not ours to count.
                if let Some((lp, o)) = mt::parse_report(&shared, &m.payload) {
                    if let Some(tx) = c.to_loops.get(lp) {
                        if tx.try_send(FromBroker::Outcome(o)).is_ok() {
                            shared.wake(lp);
                        }
                    }
                }
            }
            Some(m) = next_of(&mut manage) => {
                let asked = m.reply.clone().zip(wire::decode_ask(&shared, &m.payload));
                match asked {
                    Some((reply, (lp, account, frame))) => {
                        let token = next_reply;
                        next_reply += 1;
                        if let Some(tx) = c.to_loops.get(lp) {
                            if tx.try_send(FromBroker::Ask { reply: token, account, frame }).is_ok() {
                                replies.insert(token, (reply, Instant::now()));
                                shared.wake(lp);
                            }
                        }
                    }
                    None => { c.stats.malformed.fetch_add(1, Ordering::Relaxed); }
                }
            }
            Some(m) = next_of(&mut inbound) => {
                if let Err(e) = mt::inject_mo(&shared, &m.payload, &mut next_inject) {
                    c.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    crate::log::debug(format_args!("cluster: {} refused: {e}", mt::MO));
                }
            }
            _ = tick.tick() => {
                // Streams are made off this loop: a request to a broker that
                // is away waits for its timeout, and the hand-offs must not.
                if !ready && ensuring.as_ref().is_none_or(|h| h.is_finished()) {
                    ready = stream_ready.load(Ordering::Relaxed);
                    if !ready {
                        let (shared, js, flag) = (shared.clone(), js.clone(), stream_ready.clone());
                        ensuring = Some(tokio::spawn(async move {
                            if let Some(c) = shared.cluster.as_ref() {
                                flag.store(ensure_stream(c, &js).await, Ordering::Relaxed);
                            }
                        }));
                    }
                }
                if ready && stopping.is_none() {
                    sync_consumers(&shared, &js, &pulled_tx, &mut consumers);
                }
                if last_progress.elapsed() >= Duration::from_secs(1) {
                    last_progress = Instant::now();
                    for reply in book.sweep(last_progress, PROGRESS, FORGET) {
                        let _ = client.publish(reply, Bytes::from_static(b"+WPI")).await;
                    }
                    c.stats.pulled_batches.store(book.len() as u64, Ordering::Relaxed);
                    c.stats.pulled_items.store(book.open_items() as u64, Ordering::Relaxed);
                }
                if last_sweep.elapsed() > ACK_WAIT {
                    last_sweep = Instant::now();
                    replies.retain(|_, (_, at)| at.elapsed() < ACK_WAIT);
                }
                if shared.shutdown.load(Ordering::Relaxed) {
                    let since = *stopping.get_or_insert_with(Instant::now);
                    for (_, h) in consumers.drain() {
                        h.abort();
                    }
                    let loops_done = shared.stopped.load(Ordering::Relaxed) >= shared.config.threads;
                    let quiet = c.held.load(Ordering::Relaxed) == 0 && ops.is_empty();
                    if loops_done && quiet {
                        // What the loops never finished goes back to JetStream
                        // now, without the finished items of its batch.
                        let closing = batch::close(&shared, &client, &js, &mut book);
                        let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
                        break;
                    }
                    if since.elapsed() > shared.config.shutdown_grace + Duration::from_secs(2) {
                        break;
                    }
                }
            }
        }
    }
    // Acks still in the client's buffer go out before the process exits.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
}

/// The next message of a subscription that may not exist (then never).
async fn next_of(sub: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match sub.as_mut() {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

fn on_event(shared: &Shared, ev: async_nats::Event) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    match ev {
        async_nats::Event::Connected => {
            c.connected.store(true, Ordering::Relaxed);
            c.warned.store(false, Ordering::Relaxed);
            crate::log::info(format_args!(
                "cluster: broker {} connected (node {})",
                c.url, c.node
            ));
        }
        async_nats::Event::Disconnected => {
            c.connected.store(false, Ordering::Relaxed);
            c.stats.disconnects.fetch_add(1, Ordering::Relaxed);
            crate::log::warn(format_args!(
                "cluster: broker {} unreachable: local traffic goes on, up to {} hand-offs held",
                c.url, c.hold
            ));
        }
        // Said once, then at debug level: the client retries every few
        // hundred ms while the broker is away.
        async_nats::Event::ClientError(e) => {
            if c.warned.swap(true, Ordering::Relaxed) {
                crate::log::debug(format_args!("cluster: broker {}: {e}", c.url));
            } else {
                crate::log::warn(format_args!(
                    "cluster: broker {} unreachable ({e}): local traffic goes on, retrying",
                    c.url
                ));
            }
        }
        other => crate::log::info(format_args!("cluster: broker {}: {other}", c.url)),
    }
}

/// The delivery stream, created by the first node (the others find it).
async fn ensure_stream(c: &ClusterShared, js: &jetstream::Context) -> bool {
    let config = stream::Config {
        name: STREAM.to_string(),
        subjects: vec![format!("{DELIVER}.>")],
        // Gone once acked; one consumer per account subject.
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        max_age: c.max_age,
        max_messages_per_subject: c.account_hold,
        // A full account refuses new messages (the publisher holds and
        // retries) instead of dropping its oldest.
        discard: stream::DiscardPolicy::New,
        discard_new_per_subject: true,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let mt_stream = stream::Config {
        name: mt::MT_STREAM.to_string(),
        subjects: vec![format!("{}.>", mt::MT)],
        storage: stream::StorageType::File,
        max_age: c.max_age,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    if let Err(e) = js.get_or_create_stream(mt_stream).await {
        crate::log::debug(format_args!(
            "cluster: stream {} not ready: {e}",
            mt::MT_STREAM
        ));
        return false;
    }
    match js.get_or_create_stream(config).await {
        Ok(_) => true,
        Err(e) => {
            crate::log::debug(format_args!("cluster: stream {STREAM} not ready: {e}"));
            false
        }
    }
}

/// One consumer task per account with a receiver on this node; stopped
/// when the last one leaves (and restarted after an error).
fn sync_consumers(
    shared: &Arc<Shared>,
    js: &jetstream::Context,
    tx: &mpsc::Sender<Pulled>,
    consumers: &mut HashMap<usize, JoinHandle<()>>,
) {
    consumers.retain(|_, h| !h.is_finished());
    let accounts = shared.accounts();
    for (i, st) in shared.accounts.iter().enumerate().take(accounts.len()) {
        let local = st.receivers.iter().any(|n| n.load(Ordering::Relaxed) > 0);
        match (local, consumers.contains_key(&i)) {
            (true, false) => {
                let Some(acct) = accounts.get(AccountId(i as u32)) else {
                    continue;
                };
                let task = consume(
                    js.clone(),
                    acct.system_id.clone(),
                    AccountId(i as u32),
                    tx.clone(),
                );
                consumers.insert(i, tokio::spawn(task));
            }
            (false, true) => {
                if let Some(h) = consumers.remove(&i) {
                    h.abort();
                }
            }
            _ => {}
        }
    }
}

/// Pulls an account's deliveries from its durable consumer (shared by
/// every node with a receiver for it) until stopped or failed.
async fn consume(
    js: jetstream::Context,
    system_id: String,
    account: AccountId,
    tx: mpsc::Sender<Pulled>,
) {
    let token = wire::token(&system_id);
    let durable = format!("deliver_{token}");
    let config = consumer::pull::Config {
        durable_name: Some(durable.clone()),
        filter_subject: ClusterShared::deliver_subject(&system_id),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        max_ack_pending: MAX_ACK_PENDING,
        ..Default::default()
    };
    let result: Result<(), async_nats::Error> = async {
        let stream = js.get_stream(STREAM).await?;
        // Created, or brought to this build's settings (a consumer left by
        // an older build keeps its max_ack_pending otherwise).
        let consumer: consumer::PullConsumer = stream.create_consumer(config).await?;
        let mut msgs = consumer
            .stream()
            .max_messages_per_batch(64)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(10))
            .messages()
            .await?;
        while let Some(m) = msgs.next().await {
            let m = m?;
            let delivered = m.info().map(|i| i.delivered).unwrap_or(1);
            let pulled = Pulled {
                account,
                payload: m.payload.clone(),
                reply: m.reply.clone(),
                delivered,
            };
            if tx.send(pulled).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        crate::log::debug(format_args!("cluster: consumer {durable}: {e} (restarted)"));
    }
}

async fn handle_op(
    shared: &Arc<Shared>,
    client: &async_nats::Client,
    js: &jetstream::Context,
    book: &mut Book,
    op: ToBroker,
) {
    match op {
        ToBroker::Publish {
            subject,
            msg_id,
            payload,
            loop_id,
            jids,
            count,
        } => {
            tokio::spawn(batch::publish(
                shared.clone(),
                js.clone(),
                subject,
                msg_id,
                Bytes::from(payload),
                (loop_id, jids, count),
            ));
        }
        ToBroker::Settle(token, outcome) => {
            batch::resolve(shared, client, js, book, token, outcome).await;
        }
        ToBroker::Mt {
            subject,
            msg_id,
            payload,
            loop_id,
            slot,
            mseq,
        } => {
            let deadline = Instant::now() + shared.config.response_timer;
            tokio::spawn(publish_mt(
                shared.clone(),
                js.clone(),
                subject,
                msg_id,
                Bytes::from(payload),
                deadline,
                (loop_id, slot, mseq),
            ));
        }
        ToBroker::Ask {
            node,
            token,
            loop_id,
            system_id,
            frame,
        } => {
            let client = client.clone();
            let shared = shared.clone();
            let timeout = shared.config.response_timer;
            tokio::spawn(async move {
                let payload = wire::encode_ask(&system_id, &frame);
                let asked = client.request(format!("{MANAGE}.{node}"), Bytes::from(payload));
                // No answer in time: the asker's deadline answers the ESME.
                let Ok(Ok(m)) = tokio::time::timeout(timeout, asked).await else {
                    return;
                };
                let ok =
                    m.payload.len() <= 64 * 1024 && crate::pdu::Header::peek(&m.payload).is_some();
                if let (true, Some(c)) = (ok, shared.cluster.as_ref()) {
                    if let Some(tx) = c.to_loops.get(loop_id) {
                        let answer = FromBroker::Answer {
                            token,
                            frame: m.payload.to_vec(),
                        };
                        if tx.try_send(answer).is_ok() {
                            shared.wake(loop_id);
                        }
                    }
                }
            });
        }
        ToBroker::Reply { .. } => {}
        ToBroker::Outcome { node, payload } => {
            let _ = client
                .publish(format!("{OUTCOME}.{node}"), Bytes::from(payload))
                .await;
        }
    }
}

/// Publishes a broker-routed submit until JetStream has it or the
/// submitter's response timer is nearly over; its loop learns which.
async fn publish_mt(
    shared: Arc<Shared>,
    js: jetstream::Context,
    subject: String,
    msg_id: String,
    payload: Bytes,
    deadline: Instant,
    (loop_id, slot, mseq): (usize, usize, u64),
) {
    let Some(c) = shared.cluster.as_ref() else {
        return;
    };
    let subject = async_nats::Subject::from(subject);
    let ok = batch::publish_acked(c, &js, &subject, &msg_id, payload, Some(deadline)).await;
    if ok {
        c.stats.published.fetch_add(1, Ordering::Relaxed);
    }
    c.held.fetch_sub(1, Ordering::Relaxed);
    answer_mt(&shared, loop_id, FromBroker::MtAnswered { slot, mseq, ok });
}

/// A broker-routed submit's answer to its loop (the ESME waits on it, so
/// a full inbox is waited out, briefly).
fn answer_mt(shared: &Shared, loop_id: usize, mut msg: FromBroker) {
    let Some(tx) = shared
        .cluster
        .as_ref()
        .and_then(|c| c.to_loops.get(loop_id))
    else {
        return;
    };
    for _ in 0..1000 {
        match tx.try_send(msg) {
            Ok(()) => break,
            Err(std::sync::mpsc::TrySendError::Full(m)) => {
                msg = m;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return,
        }
    }
    shared.wake(loop_id);
}
