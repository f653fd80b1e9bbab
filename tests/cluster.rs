//! The cluster over NATS JetStream with real processes on 127.0.0.1: a
//! nats-server with JetStream, two or more smsc nodes (the binary), HAProxy
//! in TCP mode in front. Every process is stopped by its PID.
mod common;
use common::cluster::{cluster, node, Haproxy, NatsServer};
use common::mo::query;
use common::*;
use smsc::dlr;
use smsc::pdu::{Body, CommandId, CommandStatus as S};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

fn message_id(g: &Got) -> Vec<u8> {
    match g.pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        other => panic!("{other:?}"),
    }
}

/// Submits `n` messages asking for receipts, pipelined; their ids.
fn submit_many(tx: &mut Esme, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..n {
        tx.request(Body::SubmitSm(sm(b"hello cluster", 1)));
    }
    let mut ids = Vec::new();
    while ids.len() < n {
        let g = tx.recv_id(CommandId::SUBMIT_SM_RESP);
        assert_eq!(g.status(), S::ESME_ROK);
        ids.push(message_id(&g));
    }
    ids
}

/// Receives receipts on `rx` (answering each with ESME_ROK) until `want`
/// distinct ids came or `t` passed; how often each id came.
fn collect_receipts(rx: &mut Esme, want: usize, t: Duration) -> HashMap<Vec<u8>, u32> {
    let mut got: HashMap<Vec<u8>, u32> = HashMap::new();
    let deadline = Instant::now() + t;
    while got.len() < want && Instant::now() < deadline {
        let Some(g) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if g.id() == CommandId::DELIVER_SM {
            if let Body::DeliverSm(d) = g.pdu().body {
                assert_eq!(d.esm_class & 0x3C, 0x04, "a receipt");
                let text = dlr::parse(d.short_message).expect("receipt text");
                *got.entry(text.id.to_vec()).or_default() += 1;
            }
        }
        rx.auto_answer(&g);
    }
    got
}

fn bound(addr: std::net::SocketAddr, id: CommandId) -> Esme {
    Esme::bound(addr, id)
}

/// TX bound on node 1, RX on node 2: every receipt reaches node 2, once,
/// through JetStream (node 1 published them, node 2 consumed and acked).
#[test]
fn receipts_cross_from_the_tx_node_to_the_rx_node() {
    let (_nats, [n1, n2]) = cluster([&[], &[]]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 300);
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), 300, "ids are unique");
    // Ids of node 1 name it (start second, node 001, loop, counter).
    assert!(
        ids.iter().all(|id| &id[8..11] == b"001"),
        "{:?}",
        String::from_utf8_lossy(&ids[0])
    );
    let got = collect_receipts(&mut rx, 300, Duration::from_secs(20));
    assert_eq!(got.len(), 300, "every receipt arrived on node 2");
    assert!(got.keys().all(|k| unique.contains(k)));
    assert!(
        got.values().all(|&c| c == 1),
        "no duplicates without a fault"
    );
    assert!(eventually(Duration::from_secs(5), || n2
        .metric("smsc_cluster_acked")
        >= 300));
    assert!(n1.metric("smsc_cluster_published") >= 300);
    assert_eq!(
        n1.metric("smsc_cluster_consumed"),
        0,
        "node 1 has no receiver: it pulls nothing"
    );
}

/// Receipts cross nodes in batches; the receiver refuses every third one
/// retryably the first time it sees it. The batch's other items are
/// finished and never come again (nothing duplicated without a fault);
/// the refused ones are published again as a new batch and arrive once
/// more (nothing lost).
#[test]
fn a_batch_partly_failing_retryably_loses_and_duplicates_nothing() {
    let args: &[&str] = &["--receipt-retry-backoff", "50ms"];
    let (_nats, [n1, n2]) = cluster([args, args]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 300);
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut accepted: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.len() < ids.len() && Instant::now() < deadline {
        let Some(g) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let Body::DeliverSm(d) = g.pdu().body else {
            rx.auto_answer(&g);
            continue;
        };
        let id = dlr::parse(d.short_message)
            .expect("receipt text")
            .id
            .to_vec();
        let n = seen.entry(id.clone()).or_default();
        *n += 1;
        let refuse = *n == 1 && seen.len() % 3 == 0;
        let status = if refuse {
            refused += 1;
            S::ESME_RTHROTTLED
        } else {
            *accepted.entry(id).or_default() += 1;
            S::ESME_ROK
        };
        let resp = Body::DeliverSmResp(smsc::pdu::MessageIdResp { message_id: b"" });
        rx.send(&smsc::pdu::Pdu::with_status(g.seq(), status, resp));
    }
    assert_eq!(accepted.len(), ids.len(), "every receipt was accepted once");
    assert!(refused >= 100, "{refused} refused");
    assert!(
        accepted.values().all(|&c| c == 1),
        "an accepted receipt came again"
    );
    let times: u32 = seen.values().sum();
    assert_eq!(
        times as usize,
        ids.len() + refused,
        "each refused receipt came back once, nothing else did"
    );
    // Nothing more comes: every batch was settled.
    assert!(eventually(Duration::from_secs(5), || n2
        .metric("smsc_cluster_republished")
        >= refused as u64));
    let late = collect_receipts(&mut rx, 1, Duration::from_secs(2));
    assert!(late.is_empty(), "{} came again", late.len());
    // In batches: fewer than one per receipt, and some.
    let batches = n1.metric("smsc_cluster_batches");
    assert!(
        (1..300).contains(&batches),
        "{batches} batches for 300 receipts"
    );
}

/// A node stopped gracefully while its receiver has answered only part of
/// what the node pulled: the rest reaches a receiver on another node, and
/// what was answered does not come again (the node settled its open
/// batches at stop instead of leaving them whole to JetStream).
#[test]
fn a_node_stopped_gracefully_gives_back_only_what_it_did_not_finish() {
    let (_nats, [n1, mut n2, n3]) = cluster([&[], &[], &[]]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 300);
    let first = collect_receipts(&mut rx, 100, Duration::from_secs(20));
    assert_eq!(first.len(), 100);
    // The receiver stops answering; node 2 has acted on the 100 answers.
    assert!(eventually(Duration::from_secs(5), || n2
        .metric("smsc_cluster_acked")
        >= 100));
    n2.stop();
    let mut rx3 = bound(n3.addr, CommandId::BIND_RECEIVER);
    let rest = collect_receipts(&mut rx3, 200, Duration::from_secs(30));
    let again: Vec<_> = rest.keys().filter(|k| first.contains_key(*k)).collect();
    assert!(
        again.is_empty(),
        "{} answered receipts came again",
        again.len()
    );
    let missing = ids
        .iter()
        .filter(|id| !first.contains_key(*id) && !rest.contains_key(*id))
        .count();
    assert_eq!(missing, 0, "receipts lost across a graceful stop");
    assert!(rest.values().all(|&c| c == 1));
}

/// The receipts of messages submitted while no receiver is bound anywhere
/// wait in JetStream and arrive when a receiver binds on another node.
#[test]
fn held_receipts_arrive_when_a_receiver_binds_on_another_node() {
    let (_nats, [n1, n2]) = cluster([&[], &[]]);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 50);
    assert!(eventually(Duration::from_secs(10), || n1
        .metric("smsc_cluster_published")
        >= 50));
    assert_eq!(
        n1.metric("smsc_receipts_queued"),
        0,
        "held by the broker, not by node 1"
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let got = collect_receipts(&mut rx, 50, Duration::from_secs(20));
    assert_eq!(got.len(), 50);
    assert!(ids.iter().all(|id| got.contains_key(id)));
}

/// An MO message injected on node 1 (POST /mo) for an account whose
/// receiver is bound on node 2 is delivered there as an MO deliver_sm.
#[test]
fn mo_injected_on_one_node_reaches_a_receiver_on_another() {
    let route: &[&str] = &["--route", "4479=esme"];
    let (_nats, [n1, n2]) = cluster([route, route]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    // Give node 2's consumer a moment to exist (not needed for delivery:
    // JetStream holds it; only for the timing of this test).
    std::thread::sleep(Duration::from_millis(200));
    let answer =
        n1.post_mo(r#"{"from":"447700900123","to":"447900000001","text":"hello from node 1"}"#);
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut text = None;
    while text.is_none() && Instant::now() < deadline {
        let Some(g) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if let Body::DeliverSm(d) = g.pdu().body {
            assert_eq!(d.esm_class & 0x3C, 0, "an MO message, not a receipt");
            assert_eq!(d.source_addr, b"447700900123");
            assert_eq!(d.destination_addr, b"447900000001");
            text = Some(d.short_message.to_vec());
        }
        rx.auto_answer(&g);
    }
    let text = text.expect("the MO message reached node 2");
    assert_eq!(
        smsc::text::gsm7::decode_unpacked_to_string(&text).unwrap(),
        "hello from node 1"
    );
}

/// ESMEs reach the nodes through HAProxy (TCP mode, round-robin): the
/// transmitter and the receiver land on different nodes and every receipt
/// still arrives.
#[test]
fn receipts_arrive_through_haproxy_whichever_node_a_bind_lands_on() {
    let (_nats, [n1, n2]) = cluster([&[], &[]]);
    let lb = Haproxy::start(&[n1.addr, n2.addr]);
    let nodes = [&n1, &n2];
    let landed = |metric: &str, before: [u64; 2]| -> usize {
        let mut at = None;
        assert!(eventually(Duration::from_secs(5), || {
            at = (0..2).find(|&i| nodes[i].metric(metric) > before[i]);
            at.is_some()
        }));
        at.unwrap()
    };
    let rx_before = [n1.metric("smsc_bind_rx"), n2.metric("smsc_bind_rx")];
    let mut rx = bound(lb.addr, CommandId::BIND_RECEIVER);
    let rx_node = landed("smsc_bind_rx", rx_before);
    // Round-robin: within a few binds a transmitter lands on the other node.
    let mut spare = Vec::new();
    let mut tx = loop {
        assert!(
            spare.len() < 6,
            "every transmitter bind landed on the receiver's node"
        );
        let before = [n1.metric("smsc_bind_tx"), n2.metric("smsc_bind_tx")];
        let tx = bound(lb.addr, CommandId::BIND_TRANSMITTER);
        if landed("smsc_bind_tx", before) != rx_node {
            break tx;
        }
        spare.push(tx);
    };
    let ids = submit_many(&mut tx, 100);
    let got = collect_receipts(&mut rx, 100, Duration::from_secs(20));
    assert_eq!(got.len(), 100);
    assert!(ids.iter().all(|id| got.contains_key(id)));
    let tx_node = nodes[1 - rx_node];
    assert!(
        tx_node.metric("smsc_cluster_published") >= 100,
        "they crossed nodes"
    );
}

/// NATS unreachable at start: local traffic goes on (TX and RX on node 1),
/// cross-node receipts are held (bounded) in memory, and they flow once
/// the broker comes up, without a restart.
#[test]
fn broker_down_at_start_local_traffic_goes_on_and_held_receipts_flow_after() {
    let port = common::cluster::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let n1 = node(&url, 1, &[]);
    let n2 = node(&url, 2, &[]);
    assert_eq!(n1.metric("smsc_cluster_connected"), 0);
    // Local: a transceiver on node 1 gets its receipts at once.
    let mut trx = bound(n1.addr, CommandId::BIND_TRANSCEIVER);
    let mut ids = Vec::new();
    let mut got = HashSet::new();
    for _ in 0..20 {
        trx.request(Body::SubmitSm(sm(b"local", 1)));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while (ids.len() < 20 || got.len() < 20) && Instant::now() < deadline {
        let Some(g) = trx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        match g.pdu().body {
            Body::SubmitSmResp(r) => ids.push(r.message_id.to_vec()),
            Body::DeliverSm(d) => {
                got.insert(dlr::parse(d.short_message).expect("receipt").id.to_vec());
            }
            _ => {}
        }
        trx.auto_answer(&g);
    }
    assert_eq!(ids.len(), 20);
    assert!(
        ids.iter().all(|id| got.contains(id)),
        "local receipts need no broker"
    );
    trx.request(Body::Unbind);
    let _ = trx.recv_id(CommandId::UNBIND_RESP);
    drop(trx);
    // Cross-node: held on node 1 while the broker is away.
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 40);
    assert!(eventually(Duration::from_secs(5), || n1
        .metric("smsc_cluster_held_current")
        == 40));
    let _nats = NatsServer::start_on(Some(port));
    n1.wait_connected();
    let got = collect_receipts(&mut rx, 40, Duration::from_secs(20));
    assert!(
        ids.iter().all(|id| got.contains_key(id)),
        "held receipts flowed after the broker came up"
    );
    assert!(eventually(Duration::from_secs(5), || n1
        .metric("smsc_cluster_held_current")
        == 0));
}

/// The broker restarted (SIGKILL, same port and store) while receipts
/// cross nodes: nothing accepted is lost; duplicates are counted.
#[test]
fn broker_restarted_under_load_loses_no_receipt() {
    let (mut nats, [n1, n2]) = cluster([&[], &[]]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let mut ids = submit_many(&mut tx, 200);
    let mut got = collect_receipts(&mut rx, 50, Duration::from_secs(10));
    nats.restart();
    ids.extend(submit_many(&mut tx, 200));
    let deadline = Instant::now() + Duration::from_secs(40);
    while got.len() < 400 && Instant::now() < deadline {
        for (k, v) in collect_receipts(&mut rx, 400 - got.len(), Duration::from_secs(1)) {
            *got.entry(k).or_default() += v;
        }
    }
    let missing = ids.iter().filter(|id| !got.contains_key(*id)).count();
    let dups: u32 = got.values().map(|c| c - 1).sum();
    assert_eq!(
        missing, 0,
        "receipts lost across a broker restart ({dups} duplicates)"
    );
}

/// A node killed with SIGKILL while it holds unacknowledged deliveries:
/// JetStream gives them to a receiver on another node after the ack wait.
#[test]
fn deliveries_of_a_killed_node_reach_a_receiver_on_another() {
    let (_nats, [n1, mut n2, n3]) = cluster([&[], &[], &[]]);
    // Node 2's receiver takes deliver_sm and never answers.
    let mut silent = bound(n2.addr, CommandId::BIND_RECEIVER);
    std::thread::sleep(Duration::from_millis(300));
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 30);
    let mut unanswered = 0;
    while let Some(g) = silent.recv_timeout(Duration::from_millis(500)) {
        if g.id() == CommandId::DELIVER_SM {
            unanswered += 1;
        }
    }
    assert_eq!(unanswered, 30, "node 2 held every delivery, unacknowledged");
    n2.kill();
    let mut rx = bound(n3.addr, CommandId::BIND_RECEIVER);
    let got = collect_receipts(&mut rx, 30, Duration::from_secs(30));
    assert!(
        ids.iter().all(|id| got.contains_key(id)),
        "{} of 30 redelivered",
        got.len()
    );
}

/// A broker route (`--route 44=nats`): the submit is answered once
/// JetStream has it, the example delivery service reports it, and the
/// report becomes the standard receipt on the node where the receiver is,
/// and the state query_sm sees on the node that holds the message.
#[test]
fn broker_route_reports_from_the_example_service_become_receipts_on_another_node() {
    let (nats, [n1, n2]) = cluster([&["--route", "44=nats"], &[]]);
    let _svc = common::cluster::DeliveryService::start(&nats.url(), &["--delay", "0.2"]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 20);
    let got = collect_receipts(&mut rx, 20, Duration::from_secs(20));
    assert_eq!(got.len(), 20, "every report became a receipt on node 2");
    assert!(ids.iter().all(|id| got.contains_key(id)));
    // query_sm on node 1: DELIVERED (2), as the service reported.
    let q = smsc::pdu::QuerySm {
        message_id: &ids[0],
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
    };
    tx.request(Body::QuerySm(q));
    let r = tx.recv_id(CommandId::QUERY_SM_RESP);
    let Body::QuerySmResp(qr) = r.pdu().body else {
        panic!()
    };
    assert_eq!((r.status(), qr.message_state), (S::ESME_ROK, 2));
}

/// With the broker away, a broker-routed submit is not answered ESME_ROK:
/// it gets ESME_RSYSERR when JetStream does not take it within the
/// response timer.
#[test]
fn broker_route_without_the_broker_is_refused() {
    let port = common::cluster::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let n1 = node(&url, 1, &["--route", "44=nats", "--response-timer", "1s"]);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let started = Instant::now();
    let r = tx.submit(sm(b"to the broker", 1));
    assert_eq!(r.status(), S::ESME_RSYSERR);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "answered only after trying"
    );
    // A destination no broker route covers is accepted as ever.
    let mut local = sm(b"local", 0);
    local.destination_addr = b"33600000001";
    assert_eq!(tx.submit(local).status(), S::ESME_ROK);
}

/// Inbound MO from the service (`smsc.mo`) reaches the account that owns
/// the number, whichever node its receiver is bound on.
#[test]
fn inbound_mo_from_the_broker_reaches_the_owning_account() {
    let route: &[&str] = &["--route", "4479=esme"];
    let (nats, [_n1, n2]) = cluster([route, route]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    std::thread::sleep(Duration::from_millis(200));
    common::cluster::DeliveryService::send_mo(
        &nats.url(),
        "447700900555",
        "447900000002",
        "inbound",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut text = None;
    while text.is_none() && Instant::now() < deadline {
        let Some(g) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if let Body::DeliverSm(d) = g.pdu().body {
            assert_eq!(d.source_addr, b"447700900555");
            text = Some(smsc::text::gsm7::decode_unpacked_to_string(d.short_message).unwrap());
        }
        rx.auto_answer(&g);
    }
    assert_eq!(text.as_deref(), Some("inbound"));
}

/// query_sm and cancel_sm on node 2 for a message node 1 holds: the id
/// names node 1, which answers through a NATS request; an id naming a
/// node that does not answer gets ESME_RQUERYFAIL within the response timer.
#[test]
fn query_and_cancel_reach_the_node_that_holds_the_message() {
    let (_nats, [n1, n2]) = cluster([
        &["--outcomes", "delay=60s..60s"],
        &["--response-timer", "2s"],
    ]);
    let mut tx1 = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx1, 2);
    let mut tx2 = bound(n2.addr, CommandId::BIND_TRANSMITTER);
    assert_eq!(
        query(&mut tx2, &ids[0]),
        (S::ESME_ROK, 1),
        "ENROUTE, as node 1 says"
    );
    tx2.request(Body::CancelSm(smsc::pdu::CancelSm {
        service_type: b"",
        message_id: &ids[0],
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: b"447700900002",
    }));
    assert_eq!(tx2.recv_id(CommandId::CANCEL_SM_RESP).status(), S::ESME_ROK);
    assert_eq!(
        query(&mut tx1, &ids[0]),
        (S::ESME_ROK, 4),
        "DELETED on node 1"
    );
    assert_eq!(query(&mut tx1, &ids[1]).1, 1, "the other one is untouched");
    // Node 9 does not exist: no answer, the response timer answers.
    let mut other = ids[1].clone();
    other[8..11].copy_from_slice(b"009");
    let started = Instant::now();
    assert_eq!(query(&mut tx2, &other).0, S::ESME_RQUERYFAIL);
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// A node killed with SIGKILL right after accepting messages, then
/// restarted on its journal: its journal and the broker agree, every
/// receipt reaches the receiver on the other node (duplicates counted,
/// none lost).
#[test]
fn a_node_restarted_on_its_journal_loses_no_receipt() {
    let dir = common::cluster::temp_dir("journal");
    let spool = dir.to_str().unwrap().to_string();
    let args = ["--spool-dir", spool.as_str(), "--journal", "write"];
    let (nats, [mut n1, n2]) = cluster([&args, &[]]);
    let mut rx = bound(n2.addr, CommandId::BIND_RECEIVER);
    let mut tx = bound(n1.addr, CommandId::BIND_TRANSMITTER);
    let ids = submit_many(&mut tx, 300);
    // Killed while receipts are still on their way to the broker.
    n1.kill();
    drop(tx);
    let mut got = collect_receipts(&mut rx, 300, Duration::from_secs(1));
    let before = got.len();
    let n1 = node(&nats.url(), 1, &args);
    n1.wait_connected();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ids.iter().any(|id| !got.contains_key(id)) && Instant::now() < deadline {
        for (k, v) in collect_receipts(&mut rx, 300, Duration::from_secs(1)) {
            *got.entry(k).or_default() += v;
        }
    }
    let missing = ids.iter().filter(|id| !got.contains_key(*id)).count();
    let dups: u32 = got.values().map(|c| c - 1).sum();
    eprintln!("{before} receipts before the restart, {dups} duplicates");
    assert_eq!(missing, 0, "receipts lost across the node's restart");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The max_ack_pending of the durable consumer `durable`, once it exists.
fn max_ack_pending(rt: &tokio::runtime::Runtime, url: &str, durable: &str) -> Option<i64> {
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(url).await.ok()?);
        let stream = js.get_stream(smsc::cluster::STREAM).await.ok()?;
        let info = stream.consumer_info(durable).await.ok()?;
        Some(info.config.max_ack_pending)
    })
}

/// A durable consumer found with other settings (as an older build left
/// it) is brought to this build's when a node starts pulling from it, not
/// used as it was found.
#[test]
fn an_existing_consumer_gets_this_builds_settings() {
    use async_nats::jetstream::consumer;
    let nats = NatsServer::start();
    let url = nats.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let durable = format!("deliver_{}", smsc::cluster::wire::token("esme"));
    let mut n1 = node(&url, 1, &[]);
    n1.wait_connected();
    let rx = bound(n1.addr, CommandId::BIND_RECEIVER);
    let mut built = None;
    assert!(
        eventually(Duration::from_secs(10), || {
            built = max_ack_pending(&rt, &url, &durable);
            built.is_some()
        }),
        "the node never made its consumer"
    );
    let built = built.expect("consumer");
    drop(rx);
    n1.stop();
    // As an older build would have left it.
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&url).await.expect("connect"));
        let stream = js.get_stream(smsc::cluster::STREAM).await.expect("stream");
        let found = stream.consumer_info(&durable).await.expect("info").config;
        let old = consumer::pull::Config {
            durable_name: Some(durable.clone()),
            filter_subject: found.filter_subject,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: found.ack_wait,
            max_ack_pending: built / 2,
            ..Default::default()
        };
        let _: consumer::PullConsumer = stream.create_consumer(old).await.expect("older settings");
    });
    assert_eq!(max_ack_pending(&rt, &url, &durable), Some(built / 2));
    let n1 = node(&url, 1, &[]);
    n1.wait_connected();
    let _rx = bound(n1.addr, CommandId::BIND_RECEIVER);
    assert!(
        eventually(Duration::from_secs(10), || max_ack_pending(
            &rt, &url, &durable
        ) == Some(built)),
        "the consumer kept the older settings: {:?}",
        max_ack_pending(&rt, &url, &durable)
    );
}
