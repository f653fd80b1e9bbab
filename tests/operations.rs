//! Accounts file rules, brute-force slow-down, rate limit, outcome model,
//! spool across restart, graceful shutdown, backpressure, many connections.
mod common;
use common::*;
use smsc::dlr::{self, Stat};
use smsc::pdu::{Body, CommandId, CommandStatus as S, Pdu};
use std::io::Write;
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("smsc-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn accounts_file_bind_types_max_binds_and_ip_allow_list() {
    let dir = temp_dir("accounts");
    let path = dir.join("accounts.conf");
    std::fs::write(
        &path,
        "[txonly]\npassword = a\nbinds = tx\n\n[two]\npassword = b\nmax_binds = 2\n\n[faraway]\npassword = c\nallow_ips = 10.0.0.0/8\n",
    )
    .unwrap();
    let srv = server(&["--accounts", path.to_str().unwrap()]);
    let a = srv.local_addr();
    assert_eq!(
        Esme::connect(a)
            .bind(CommandId::BIND_TRANSMITTER, "txonly", "a")
            .status(),
        S::ESME_ROK
    );
    assert_eq!(
        Esme::connect(a)
            .bind(CommandId::BIND_RECEIVER, "txonly", "a")
            .status(),
        S::ESME_RBINDFAIL
    );
    let mut b1 = Esme::connect(a);
    assert_eq!(
        b1.bind(CommandId::BIND_TRANSCEIVER, "two", "b").status(),
        S::ESME_ROK
    );
    let mut b2 = Esme::connect(a);
    assert_eq!(
        b2.bind(CommandId::BIND_TRANSCEIVER, "two", "b").status(),
        S::ESME_ROK
    );
    assert_eq!(
        Esme::connect(a)
            .bind(CommandId::BIND_TRANSCEIVER, "two", "b")
            .status(),
        S::ESME_RBINDFAIL
    );
    // Closing one frees a slot.
    b1.request(Body::Unbind);
    assert!(b1.closed_within(Duration::from_secs(2)));
    assert!(eventually(Duration::from_secs(2), || {
        Esme::connect(a)
            .bind(CommandId::BIND_TRANSCEIVER, "two", "b")
            .status()
            == S::ESME_ROK
    }));
    assert_eq!(
        Esme::connect(a)
            .bind(CommandId::BIND_TRANSCEIVER, "faraway", "c")
            .status(),
        S::ESME_RBINDFAIL
    );
    drop(b2);
    srv.stop();
}

#[test]
fn repeated_failed_binds_from_one_ip_are_refused() {
    let srv = server(&["--bind-fail-limit", "3"]);
    let mut e = Esme::connect(srv.local_addr());
    for _ in 0..3 {
        assert_eq!(
            e.bind(CommandId::BIND_TRANSCEIVER, "esme", "guess")
                .status(),
            S::ESME_RINVPASWD
        );
    }
    // Even the right password is refused while the account is over the
    // limit from this IP.
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_RBINDFAIL
    );
    let shared = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || shared
        .snapshot()
        .counters
        .bind_throttled
        >= 1));
    srv.stop();
}

/// Failed binds count per (IP, account) for known system_ids and per IP
/// for unknown ones: one account's typos behind a NAT slow that account
/// down from that IP, not its neighbours.
#[test]
fn failed_binds_slow_down_one_account_per_ip_not_its_neighbours() {
    let srv = server(&["--bind-fail-limit", "3", "--account", "other:pw"]);
    let a = srv.local_addr();
    let bind = |sid: &str, pw: &str| Esme::try_bind(a, sid, pw).1;
    for _ in 0..3 {
        assert_eq!(bind("esme", "guess"), S::ESME_RINVPASWD);
    }
    assert_eq!(
        bind("esme", "secret"),
        S::ESME_RBINDFAIL,
        "esme is slowed down"
    );
    // Its neighbour from the same IP: its own count.
    assert_eq!(bind("other", "pw"), S::ESME_ROK);
    assert_eq!(bind("other", "typo"), S::ESME_RINVPASWD);
    assert_eq!(bind("other", "pw"), S::ESME_ROK);
    // Unknown system_ids count against the IP...
    for i in 0..3 {
        assert_eq!(bind(&format!("nobody{i}"), "x"), S::ESME_RINVSYSID);
    }
    assert_eq!(bind("nobody9", "x"), S::ESME_RBINDFAIL);
    // ...and while it is slowed down for them, a wrong password answers
    // the same, so the search cannot tell which system_ids exist; the
    // right password still binds.
    assert_eq!(bind("other", "typo"), S::ESME_RBINDFAIL);
    assert_eq!(bind("other", "pw"), S::ESME_ROK);
    let shared = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || shared
        .snapshot()
        .counters
        .bind_throttled
        == 3));
    srv.stop();
}

#[test]
fn throughput_limit_answers_rthrottled() {
    let srv = server(&["--throughput", "20"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let (mut ok, mut throttled) = (0, 0);
    for _ in 0..60 {
        match e.submit(sm(b"fast", 0)).status() {
            S::ESME_ROK => ok += 1,
            S::ESME_RTHROTTLED => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    // Burst of one second's worth (20) plus whatever refilled meanwhile.
    assert!((20..45).contains(&ok), "ok {ok}");
    assert!(throttled > 0);
    srv.stop();
}

#[test]
fn receipt_queue_full_answers_rmsgqful() {
    let srv = server(&["--receipt-queue", "3"]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(tx.submit(sm(b"q", 1)).status());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(&statuses[..3], &[S::ESME_ROK; 3]);
    assert!(statuses[3..].contains(&S::ESME_RMSGQFUL), "{statuses:?}");
    // Messages without receipts are still accepted.
    assert_eq!(tx.submit(sm(b"no dlr", 0)).status(), S::ESME_ROK);
    srv.stop();
}

#[test]
fn outcome_model_prefix_rules_delay_and_enroute() {
    let srv = server(&["--outcomes", "prefix:4479=UNDELIV,prefix:4470=ESME_RTHROTTLED,prefix:4471=late:300ms,delay=200ms,enroute"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    // Refused by rule.
    let r = e.submit(smsc::pdu::Sm {
        destination_addr: b"447000000001",
        ..sm(b"x", 1)
    });
    assert_eq!(r.status(), S::ESME_RTHROTTLED);
    // UNDELIV after ENROUTE, the final one only after the delay.
    let t0 = Instant::now();
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            destination_addr: b"447900000001",
            ..sm(b"x", 1)
        })
        .status(),
        S::ESME_ROK
    );
    let first = e.recv_id(CommandId::DELIVER_SM);
    let Body::DeliverSm(d) = first.pdu().body else {
        panic!()
    };
    assert_eq!(
        dlr::parse(d.short_message).unwrap().stat,
        Some(Stat::Enroute)
    );
    e.auto_answer(&first);
    let second = e.recv_id(CommandId::DELIVER_SM);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let Body::DeliverSm(d) = second.pdu().body else {
        panic!()
    };
    assert_eq!(d.esm_class & 0x3C, 0x04);
    assert_eq!(
        dlr::parse(d.short_message).unwrap().stat,
        Some(Stat::Undeliv)
    );
    assert!(d.tlvs.get(smsc::pdu::Tag::NETWORK_ERROR_CODE).is_some());
    e.auto_answer(&second);
    // Late submit_sm_resp.
    let t1 = Instant::now();
    let seq = e.request(Body::SubmitSm(smsc::pdu::Sm {
        destination_addr: b"447100000001",
        ..sm(b"x", 0)
    }));
    let r = e.recv_id(CommandId::SUBMIT_SM_RESP);
    assert_eq!(r.seq(), seq);
    assert!(
        t1.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t1.elapsed()
    );
    srv.stop();
}

#[test]
fn failure_only_receipts() {
    let srv = server(&["--outcomes", "prefix:4479=EXPIRED"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.submit(sm(b"delivered, no receipt", 2));
    assert!(e.recv_timeout(Duration::from_millis(300)).is_none());
    e.submit(smsc::pdu::Sm {
        destination_addr: b"4479",
        ..sm(b"expired", 2)
    });
    let d = e.recv_id(CommandId::DELIVER_SM);
    let Body::DeliverSm(sm) = d.pdu().body else {
        panic!()
    };
    assert_eq!(
        dlr::parse(sm.short_message).unwrap().stat,
        Some(Stat::Expired)
    );
    srv.stop();
}

#[test]
fn receipts_survive_a_clean_restart_through_the_spool() {
    let dir = temp_dir("spool");
    let spool = dir.to_str().unwrap().to_string();
    let srv = server(&["--spool-dir", &spool]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = tx.submit(sm(b"spooled", 1));
        let Body::SubmitSmResp(m) = r.pdu().body else {
            panic!()
        };
        ids.push(m.message_id.to_vec());
    }
    drop(tx);
    srv.stop();
    assert!(
        std::fs::read_dir(&dir).unwrap().count() >= 1,
        "spool file written"
    );
    let srv = server(&["--spool-dir", &spool]);
    let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    let mut got = Vec::new();
    for _ in 0..3 {
        let d = rx.recv_id(CommandId::DELIVER_SM);
        let Body::DeliverSm(s) = d.pdu().body else {
            panic!()
        };
        got.push(s.tlvs.receipted_message_id().unwrap().to_vec());
        rx.auto_answer(&d);
    }
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    srv.stop();
}

#[test]
fn shutdown_sends_unbind_to_bound_sessions() {
    let srv = server(&["--shutdown-grace", "2s"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let t = std::thread::spawn(move || srv.stop());
    let g = e.recv_id(CommandId::UNBIND);
    e.send(&Pdu::new(g.seq(), Body::UnbindResp));
    assert!(e.closed_within(Duration::from_secs(3)));
    t.join().unwrap();
}

#[test]
fn a_client_that_never_reads_does_not_slow_others() {
    let srv = server(&["--max-write-buffer-bytes", "65536"]);
    let a = srv.local_addr();
    // The stalled client pipelines enquire_links and never reads.
    let mut stalled = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    let el = Pdu::new(1, Body::EnquireLink).to_vec().unwrap();
    let burst: Vec<u8> = el
        .iter()
        .copied()
        .cycle()
        .take(el.len() * 4_000_000)
        .collect();
    stalled.stream.set_nonblocking(true).unwrap();
    let t0 = Instant::now();
    let mut written = 0;
    while t0.elapsed() < Duration::from_secs(3) && written < burst.len() {
        match stalled.stream.write(&burst[written..]) {
            Ok(n) => written += n,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    // Meanwhile another client works normally.
    let mut good = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    let t1 = Instant::now();
    for _ in 0..500 {
        assert_eq!(good.submit(sm(b"unaffected", 0)).status(), S::ESME_ROK);
    }
    assert!(t1.elapsed() < Duration::from_secs(10));
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .backpressure_pauses
        >= 1));
    drop(stalled);
    srv.stop();
}

#[test]
fn five_hundred_idle_connections_while_another_client_works() {
    let srv = server(&[]);
    let a = srv.local_addr();
    let idle: Vec<Esme> = (0..500)
        .map(|_| Esme::bound(a, CommandId::BIND_TRANSCEIVER))
        .collect();
    let mut busy = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    for _ in 0..1000 {
        assert_eq!(busy.submit(sm(b"busy", 0)).status(), S::ESME_ROK);
    }
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .conn_current
        >= 501));
    drop(idle);
    srv.stop();
}

#[test]
fn two_loops_both_get_connections() {
    let srv = server(&["--threads", "2"]);
    let conns: Vec<Esme> = (0..64)
        .map(|_| Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER))
        .collect();
    let s = srv.shared().clone();
    let per_loop = |s: &smsc::server::Shared| -> Vec<u64> {
        s.snapshots
            .iter()
            .map(|m| m.lock().unwrap().counters.conn_current)
            .collect()
    };
    assert!(eventually(Duration::from_secs(2), || per_loop(&s)
        .iter()
        .sum::<u64>()
        == 64));
    let v = per_loop(&s);
    assert!(v.iter().all(|&c| c > 0), "connections per loop: {v:?}");
    drop(conns);
    srv.stop();
}

#[test]
fn metrics_endpoint_serves_prometheus_text() {
    let srv = server(&[]);
    let addr =
        smsc::http::serve_metrics("127.0.0.1:0".parse().unwrap(), srv.shared().clone()).unwrap();
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.submit(sm(b"counted", 0));
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .submit_ok
        == 1));
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    std::io::Read::read_to_string(&mut c, &mut body).unwrap();
    assert!(
        body.starts_with("HTTP/1.0 200 OK") || body.starts_with("HTTP/1.1 200 OK"),
        "{body}"
    );
    assert!(body.contains("smsc_submit_ok 1"), "{body}");
    assert!(body.contains("smsc_pdu_rx{command=\"submit_sm\"} 1"));
    assert!(body.contains("smsc_account_submit_ok{system_id=\"esme\"} 1"));
    srv.stop();
}

#[test]
fn accepting_stops_at_max_connections_and_resumes_below_it() {
    let srv = server(&["--max-connections", "3"]);
    let a = srv.local_addr();
    let mut first: Vec<Esme> = (0..3)
        .map(|_| Esme::bound(a, CommandId::BIND_TRANSCEIVER))
        .collect();
    // The 4th connects (kernel backlog) but is not served.
    let mut fourth = Esme::connect(a);
    fourth.request(Body::BindTransceiver(smsc::pdu::Bind {
        system_id: b"esme",
        password: b"secret",
        interface_version: 0x34,
        ..Default::default()
    }));
    assert!(
        fourth.recv_timeout(Duration::from_millis(400)).is_none(),
        "served beyond --max-connections"
    );
    // Closing one brings the count under the limit: the 4th is accepted.
    let mut gone = first.pop().unwrap();
    gone.request(Body::Unbind);
    assert!(gone.closed_within(Duration::from_secs(2)));
    let r = fourth.recv_id(CommandId::BIND_TRANSCEIVER_RESP);
    assert_eq!(r.status(), S::ESME_ROK);
    assert!(srv.shared().snapshot().counters.conn_rejected_limit >= 1);
    drop(first);
    srv.stop();
}

#[test]
fn accounts_reload_adds_changes_and_removes_accounts() {
    let dir = temp_dir("reload");
    let path = dir.join("accounts.conf");
    std::fs::write(&path, "[keep]\npassword = k1\n\n[gone]\npassword = g1\n").unwrap();
    let file = path.to_str().unwrap();
    let srv = server(&[
        "--accounts",
        file,
        "--bind-fail-limit",
        "0",
        "--threads",
        "2",
    ]);
    let a = srv.local_addr();
    let bind = |sid: &str, pw: &str| Esme::try_bind(a, sid, pw);
    let (mut gone, st) = bind("gone", "g1");
    assert_eq!(st, S::ESME_ROK);
    let (mut keep, st) = bind("keep", "k1");
    assert_eq!(st, S::ESME_ROK);
    assert_eq!(bind("fresh", "f1").1, S::ESME_RINVSYSID);

    std::fs::write(&path, "[keep]\npassword = k2\n\n[fresh]\npassword = f1\n").unwrap();
    let summary = srv.reload_accounts().unwrap();
    assert!(summary.contains("1 added, 1 removed"), "{summary}");

    // The removed account's session is unbound and it cannot bind again.
    let u = gone.recv_id(CommandId::UNBIND);
    gone.send(&Pdu::new(u.seq(), Body::UnbindResp));
    assert!(gone.closed_within(Duration::from_secs(2)));
    assert_eq!(bind("gone", "g1").1, S::ESME_RINVSYSID);
    // A changed password: the new one binds, the old one no longer; the
    // session bound before the reload goes on.
    assert_eq!(bind("keep", "k1").1, S::ESME_RINVPASWD);
    assert_eq!(bind("keep", "k2").1, S::ESME_ROK);
    assert_eq!(keep.submit(sm(b"still bound", 0)).status(), S::ESME_ROK);
    // A new account binds, submits and gets its receipt, on either loop.
    for _ in 0..4 {
        let (mut fresh, st) = bind("fresh", "f1");
        assert_eq!(st, S::ESME_ROK);
        assert_eq!(fresh.submit(sm(b"new account", 1)).status(), S::ESME_ROK);
        fresh.recv_id(CommandId::DELIVER_SM);
    }

    // A broken file changes nothing.
    std::fs::write(&path, "[keep\npassword = x\n").unwrap();
    assert!(srv.reload_accounts().is_err());
    assert_eq!(bind("fresh", "f1").1, S::ESME_ROK);
    srv.stop();
}

/// The binary reloads its accounts file on SIGHUP.
#[test]
fn sighup_reloads_the_accounts_file() {
    let dir = temp_dir("sighup");
    let path = dir.join("accounts.conf");
    std::fs::write(&path, "[first]\npassword = one\n").unwrap();
    let (mut srv, a) = common::binary::start_smsc(&[
        "--accounts",
        path.to_str().unwrap(),
        "--bind-fail-limit",
        "0",
    ]);
    let bind = |sid: &str, pw: &str| Esme::try_bind(a, sid, pw).1;
    assert_eq!(bind("second", "two"), S::ESME_RINVSYSID);
    std::fs::write(
        &path,
        "[first]\npassword = one\n\n[second]\npassword = two\n",
    )
    .unwrap();
    common::binary::signal(&srv, "HUP");
    assert!(eventually(Duration::from_secs(3), || bind("second", "two")
        == S::ESME_ROK));
    assert_eq!(bind("first", "one"), S::ESME_ROK);
    srv.kill().unwrap();
    srv.wait().unwrap();
}

/// One HTTP/1.0 request; the whole answer.
fn http(addr: std::net::SocketAddr, req: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut c, &mut out);
    out
}

fn post_mo(addr: std::net::SocketAddr, body: &str) -> String {
    http(
        addr,
        &format!(
            "POST /mo HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// POST /mo: a JSON message to a number an account owns reaches that
/// account's receiver as an MO deliver_sm, and the answer's id can be
/// queried by that account; bad bodies get a 400 with the reason.
#[test]
fn post_mo_injects_a_message_for_an_esme() {
    let srv = server(&["--account", "mo:pw", "--route", "4479=mo"]);
    let addr =
        smsc::http::serve_metrics("127.0.0.1:0".parse().unwrap(), srv.shared().clone()).unwrap();
    let (mut rx, st) = Esme::try_bind(srv.local_addr(), "mo", "pw");
    assert_eq!(st, smsc::pdu::CommandStatus::ESME_ROK);
    let ans = post_mo(
        addr,
        r#"{"from":"447700900001","to":"447912345678","text":"Hello from the operator"}"#,
    );
    assert!(ans.contains(" 200 "), "{ans}");
    let id = ans
        .split("\"message_id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no id in {ans}"))
        .to_string();
    let g = rx.recv_id(CommandId::DELIVER_SM);
    match g.pdu().body {
        smsc::pdu::Body::DeliverSm(d) => {
            assert_eq!(d.short_message, b"Hello from the operator");
            assert_eq!(d.destination_addr, b"447912345678");
            assert_eq!(d.esm_class, 0);
        }
        b => panic!("{b:?}"),
    }
    rx.auto_answer(&g);
    // The owning account can query it: DELIVERED once its receiver answered.
    assert!(eventually(Duration::from_secs(2), || {
        rx.request(smsc::pdu::Body::QuerySm(smsc::pdu::QuerySm {
            message_id: id.as_bytes(),
            ..Default::default()
        }));
        let q = rx.recv_id(CommandId::QUERY_SM_RESP);
        assert_eq!(q.status(), smsc::pdu::CommandStatus::ESME_ROK);
        matches!(q.pdu().body, smsc::pdu::Body::QuerySmResp(r) if r.message_state == 2)
    }));
    for (body, status, why) in [
        ("{not json", " 400 ", "bad JSON"),
        (
            r#"{"from":"1","to":"447700900002","text":"x"}"#,
            " 400 ",
            "no account owns",
        ),
        (r#"{"from":"1","to":"4479","hex":"zz"}"#, " 400 ", "not hex"),
    ] {
        let ans = post_mo(addr, body);
        assert!(ans.contains(status) && ans.contains(why), "{body}: {ans}");
    }
    assert!(http(addr, "GET /mo HTTP/1.0\r\n\r\n").contains(" 405 "));
    assert!(http(addr, "GET /nothing HTTP/1.0\r\n\r\n").contains(" 404 "));
    srv.stop();
}

/// `numbers =` in the accounts file routes MO to their owner, and a
/// SIGHUP reload that gives the numbers to another account applies to the
/// messages that follow.
#[test]
fn a_reload_moves_numbers_to_another_account() {
    let dir = temp_dir("routes");
    let path = dir.join("accounts.conf");
    let conf = |owner: &str| {
        let (b, c) = if owner == "b" {
            ("numbers = 4479\n", "")
        } else {
            ("", "numbers = 4479\n")
        };
        format!("[esme]\npassword = secret\n\n[b]\npassword = pb\n{b}\n[c]\npassword = pc\n{c}")
    };
    std::fs::write(&path, conf("b")).unwrap();
    let srv = server(&["--accounts", path.to_str().unwrap()]);
    let a = srv.local_addr();
    let (mut b, st) = Esme::try_bind(a, "b", "pb");
    assert_eq!(st, S::ESME_ROK);
    let (mut c, st) = Esme::try_bind(a, "c", "pc");
    assert_eq!(st, S::ESME_ROK);
    let mut tx = Esme::bound(a, CommandId::BIND_TRANSMITTER);
    let to_b = smsc::pdu::Sm {
        destination_addr: b"447912345678",
        ..sm(b"first", 0)
    };
    assert_eq!(tx.submit(to_b).status(), S::ESME_ROK);
    let g = b.recv_id(CommandId::DELIVER_SM);
    b.auto_answer(&g);
    std::fs::write(&path, conf("c")).unwrap();
    srv.reload_accounts().unwrap();
    let to_c = smsc::pdu::Sm {
        destination_addr: b"447912345678",
        ..sm(b"second", 0)
    };
    assert_eq!(tx.submit(to_c).status(), S::ESME_ROK);
    let g = c.recv_id(CommandId::DELIVER_SM);
    match g.pdu().body {
        Body::DeliverSm(d) => assert_eq!(d.short_message, b"second"),
        x => panic!("{x:?}"),
    }
    c.auto_answer(&g);
    assert!(
        b.recv_timeout(Duration::from_millis(300)).is_none(),
        "b owns nothing now"
    );
    srv.stop();
}

/// A second server on a port the first listens on exits with the reason:
/// SO_REUSEPORT (one listener per loop) must not let it join that port and
/// split the ESMEs' connections between two processes.
#[test]
fn a_second_server_on_the_same_port_is_refused() {
    let (mut first, addr) = common::binary::start_smsc(&[]);
    let port = addr.to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smsc"))
        .args(["--listen", &port, "--stats-interval", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second server started: {err}");
    assert!(err.contains("Address already in use"), "{err}");
    // The first is untouched: it still answers binds.
    let g = Esme::connect(addr).bind(CommandId::BIND_TRANSMITTER, "movider", "1111");
    assert_eq!(g.status(), S::ESME_ROK);
    common::binary::signal(&first, "TERM");
    first.wait().unwrap();
}
