//! The admin API (`--admin-listen`) over real sockets: the server started
//! on ephemeral ports, ESMEs bound to it, every endpoint and its errors,
//! the token, and the refusal to listen off loopback without one.
mod common;

use common::http::{call, get, post, sessions_of};
use common::{eventually, sm, Esme};
use smsc::pdu::{self, Body, CommandId as C, CommandStatus as S, Sm};
use std::net::SocketAddr;
use std::time::Duration;

/// A server with `extra` flags and its admin listener.
fn start(extra: &[&str]) -> (smsc::server::Server, SocketAddr) {
    let server = common::server(extra);
    let admin = smsc::admin::serve("127.0.0.1:0".parse().unwrap(), server.shared().clone())
        .expect("admin listener");
    (server, admin)
}

fn message_id(g: &common::Got) -> String {
    match g.pdu().body {
        Body::SubmitSmResp(r) => String::from_utf8(r.message_id.to_vec()).unwrap(),
        b => panic!("{b:?}"),
    }
}

#[test]
fn sessions_list_every_bind_with_its_counters() {
    let (server, admin) = start(&["--window", "7"]);
    let addr = server.local_addr();
    let mut trx = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let _rx = Esme::bound(addr, C::BIND_RECEIVER);
    for _ in 0..3 {
        assert_eq!(trx.submit(sm(b"hi", 0)).status(), S::ESME_ROK);
    }
    let local = trx.stream.tcp().local_addr().unwrap().to_string();
    // Rows are published every 100 ms.
    assert!(eventually(Duration::from_secs(3), || {
        let rows = sessions_of(admin, "esme");
        rows.len() == 2
            && rows
                .iter()
                .any(|r| r["peer"] == local.as_str() && r["pdus_in"].as_u64() >= Some(4))
    }));
    let rows = sessions_of(admin, "esme");
    let t = rows.iter().find(|r| r["peer"] == local.as_str()).unwrap();
    assert!(
        t["via"].is_null(),
        "a direct session came through no balancer"
    );
    assert_eq!(t["bind_type"], "transceiver");
    assert_eq!(t["tls"], false);
    assert_eq!(t["loop"], 0);
    assert_eq!(t["window"], 7);
    assert_eq!(t["deliver_sm_inflight"], 0);
    // bind_resp + 3 submit_sm_resp.
    assert_eq!(t["pdus_out"].as_u64(), Some(4));
    assert!(t["bound_since"].as_str().unwrap().ends_with('Z'));
    assert!(rows.iter().any(|r| r["bind_type"] == "receiver"));
    let ov = get(admin, "/api/v1/overview").json();
    assert!(
        eventually(Duration::from_secs(3), || {
            let ov = get(admin, "/api/v1/overview").json();
            ov["binds"]["transceiver"] == 1
                && ov["binds"]["receiver"] == 1
                && ov["connections"] == 2
        }),
        "{ov}"
    );
    server.stop();
}

#[test]
fn unbind_reaches_that_session_only() {
    let (server, admin) = start(&[]);
    let addr = server.local_addr();
    let mut a = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let mut b = Esme::bound(addr, C::BIND_TRANSMITTER);
    let local = a.stream.tcp().local_addr().unwrap().to_string();
    assert!(eventually(Duration::from_secs(3), || sessions_of(
        admin, "esme"
    )
    .len()
        == 2));
    let rows = sessions_of(admin, "esme");
    let id = rows.iter().find(|r| r["peer"] == local.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(admin, &format!("/api/v1/sessions/{id}/unbind"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["unbind_sent"], id.as_str());
    let u = a.recv_id(C::UNBIND);
    a.send(&pdu::Pdu::new(u.seq(), Body::UnbindResp));
    assert!(a.closed_within(Duration::from_secs(3)));
    // The other session goes on.
    assert_eq!(b.submit(sm(b"still here", 0)).status(), S::ESME_ROK);
    // Gone now: 404; not an id: 400; a loop that does not exist: 404.
    assert!(eventually(Duration::from_secs(3), || {
        post(admin, &format!("/api/v1/sessions/{id}/unbind"), "").status == 404
    }));
    for (path, code) in [
        ("/api/v1/sessions/nonsense/unbind", 400),
        ("/api/v1/sessions/0-1-2-3/unbind", 400),
        ("/api/v1/sessions/9-0-0/unbind", 404),
        ("/api/v1/sessions/0-4000000-1/unbind", 404),
    ] {
        let r = post(admin, path, "");
        assert_eq!(r.status, code, "{path}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }
    let r = get(admin, &format!("/api/v1/sessions/{id}/unbind"));
    assert_eq!(r.status, 405);
    server.stop();
}

#[test]
fn accounts_show_binds_rates_queues_and_refusals() {
    let (server, admin) = start(&["--account", "slow:pw", "--throughput", "5"]);
    let addr = server.local_addr();
    // A transmitter asking for receipts nobody receives: they are held.
    let mut tx = Esme::bound(addr, C::BIND_TRANSMITTER);
    let (mut throttled, mut ok) = (0, 0);
    for _ in 0..30 {
        match tx.submit(sm(b"r", 1)).status() {
            S::ESME_ROK => ok += 1,
            S::ESME_RTHROTTLED => throttled += 1,
            s => panic!("{s:?}"),
        }
    }
    assert!(ok > 0 && throttled > 0, "{ok} {throttled}");
    // A scheduled message stays pending.
    let mut later = sm(b"later", 0);
    later.schedule_delivery_time = b"000000001000000R";
    // The limiter lets one through again after a moment.
    assert!(eventually(Duration::from_secs(3), || {
        tx.submit(later).status() == S::ESME_ROK
    }));
    let esme = |v: &serde_json::Value| {
        v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["system_id"] == "esme")
            .cloned()
            .unwrap()
    };
    assert!(
        eventually(Duration::from_secs(5), || {
            let a = esme(&get(admin, "/api/v1/accounts").json());
            a["submit_per_s"].as_f64() > Some(0.0)
                && a["messages_pending"] == 1
                && a["receipts_held"].as_u64() == Some(ok)
                && a["throttled"].as_u64() >= Some(throttled)
        }),
        "{}",
        get(admin, "/api/v1/accounts").body
    );
    let all = get(admin, "/api/v1/accounts").json();
    let a = esme(&all);
    assert_eq!(a["binds"]["transmitter"], 1);
    assert_eq!(a["binds"]["total"], 1);
    assert!(a["refused"].as_u64() >= a["throttled"].as_u64());
    let slow = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["system_id"] == "slow")
        .unwrap()
        .clone();
    assert_eq!(slow["binds"]["total"], 0);
    assert_eq!(slow["submit_ok"], 0);
    let ov = get(admin, "/api/v1/overview").json();
    assert!(ov["chart"].as_array().is_some());
    assert!(ov["queues"]["messages_pending"].as_u64() >= Some(1));
    server.stop();
}

#[test]
fn a_message_tells_its_state_and_the_events_it_went_through() {
    let (server, admin) = start(&["--message-events", "10000"]);
    let addr = server.local_addr();
    let mut trx = Esme::bound(addr, C::BIND_TRANSCEIVER);
    let g = trx.submit(Sm {
        destination_addr: b"447700900555",
        ..sm(b"look me up", 1)
    });
    let id = message_id(&g);
    let rc = trx.recv_id(C::DELIVER_SM);
    trx.auto_answer(&rc);
    let path = format!("/api/v1/messages/{id}");
    assert!(eventually(Duration::from_secs(3), || {
        get(admin, &path).body.contains("receipt_acked")
    }));
    let m = get(admin, &path).json();
    assert_eq!(m["message_id"], id.as_str());
    assert_eq!(m["state"], "DELIVERED");
    assert_eq!(m["system_id"], "esme");
    assert_eq!(m["source"], "447700900001");
    assert_eq!(m["destination"], "447700900555");
    let events: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["accepted", "receipt_sent", "receipt_acked"]);
    let sent = &m["events"][1];
    assert!(sent["session"].as_str().unwrap().starts_with("0-"));
    // Not an id: 400. An id of another run or an unused one: 404.
    let r = get(admin, "/api/v1/messages/zzz");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("not a message id"));
    let other_run = format!("00000000001{}", &id[11..]);
    assert_eq!(
        get(admin, &format!("/api/v1/messages/{other_run}")).status,
        404
    );
    let unused = format!("{}0000fffffff", &id[..13]);
    let r = get(admin, &format!("/api/v1/messages/{unused}"));
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(post(admin, &path, "").status, 405);
    server.stop();
}

#[test]
fn without_events_a_message_still_has_its_record() {
    let (server, admin) = start(&[]);
    let mut tx = Esme::bound(server.local_addr(), C::BIND_TRANSMITTER);
    let id = message_id(&tx.submit(sm(b"no story", 0)));
    let m = get(admin, &format!("/api/v1/messages/{id}")).json();
    assert_eq!(m["state"], "DELIVERED");
    assert_eq!(m["source"], "447700900001");
    assert_eq!(m["events_recorded"], false);
    assert_eq!(m["events"].as_array().map(Vec::len), Some(0));
    // A final message's destination was only in its events.
    assert!(m["destination"].is_null());
    server.stop();
}

#[test]
fn an_mo_from_the_api_reaches_the_bound_receiver_and_its_story_is_told() {
    let (server, admin) = start(&[
        "--threads",
        "2",
        "--account",
        "mo:pw",
        "--route",
        "4479=mo",
        "--message-events",
        "10000",
    ]);
    let addr = server.local_addr();
    let (mut rx, st) = Esme::try_bind(addr, "mo", "pw");
    assert_eq!(st, S::ESME_ROK);
    let r = post(
        admin,
        "/api/v1/mo",
        r#"{"from":"447700900123","to":"447912345678","text":"from the API"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["message_id"].as_str().unwrap().to_string();
    let d = rx.recv_id(C::DELIVER_SM);
    match d.pdu().body {
        Body::DeliverSm(x) => {
            assert_eq!(x.short_message, b"from the API");
            assert_eq!(x.source_addr, b"447700900123");
        }
        b => panic!("{b:?}"),
    }
    rx.auto_answer(&d);
    let path = format!("/api/v1/messages/{id}");
    assert!(eventually(Duration::from_secs(3), || {
        get(admin, &path).json()["state"] == "DELIVERED"
    }));
    let m = get(admin, &path).json();
    let events: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["accepted", "held", "delivered", "acked", "final"],
        "{m}"
    );
    assert_eq!(m["destination"], "447912345678");
    assert_eq!(m["events"][4]["state"], "DELIVERED");
    // The old path works the same.
    let r = post(
        admin,
        "/mo",
        r#"{"from":"1","to":"4479000","text":"old path"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = rx.recv_id(C::DELIVER_SM);
    rx.auto_answer(&d);
    // Bad bodies: 4xx with a reason.
    for (body, code, why) in [
        ("{", 400, "bad JSON"),
        (
            r#"{"from":"1","to":"2","text":"x"}"#,
            400,
            "no account owns",
        ),
        (
            r#"{"from":"1","to":"4479","text":"x","hex":"00"}"#,
            400,
            "one of text or hex",
        ),
    ] {
        let r = post(admin, "/api/v1/mo", body);
        assert_eq!(r.status, code, "{body}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(why),
            "{}",
            r.body
        );
    }
    let big = format!(
        r#"{{"from":"1","to":"4479","text":"{}"}}"#,
        "x".repeat(70_000)
    );
    let r = post(admin, "/api/v1/mo", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(get(admin, "/api/v1/mo").status, 405);
    server.stop();
}

#[test]
fn reload_is_what_sighup_does() {
    let dir = std::env::temp_dir().join(format!("smsc-admin-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("accounts.conf");
    std::fs::write(&file, "[esme]\npassword = secret\n").unwrap();
    let (server, admin) = start(&["--accounts", file.to_str().unwrap()]);
    let addr = server.local_addr();
    assert_eq!(Esme::try_bind(addr, "late", "pw").1, S::ESME_RINVSYSID);
    std::fs::write(&file, "[esme]\npassword = secret\n[late]\npassword = pw\n").unwrap();
    let r = post(admin, "/api/v1/reload", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accounts"]["reloaded"], true);
    assert!(eventually(Duration::from_secs(3), || {
        Esme::try_bind(addr, "late", "pw").1 == S::ESME_ROK
    }));
    // A file that does not parse: 409 and why; nothing changes.
    std::fs::write(&file, "[esme]\nmax_binds = lots\n").unwrap();
    let r = post(admin, "/api/v1/reload", "");
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["accounts"]["reloaded"], false);
    assert_eq!(get(admin, "/api/v1/reload").status, 405);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_a_token_every_call_needs_it() {
    let dir = std::env::temp_dir().join(format!("smsc-admin-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "s3cr3t-t0ken\n").unwrap();
    let (server, admin) = start(&["--admin-token-file", file.to_str().unwrap()]);
    for path in [
        "/api/v1/overview",
        "/api/v1/sessions",
        "/metrics",
        "/api/v1/nope",
    ] {
        let r = get(admin, path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(r.json()["error"].as_str().unwrap().contains("Bearer"));
        assert_eq!(
            call(admin, "GET", path, Some("s3cr3t-t0keN"), b"").status,
            401
        );
        assert_eq!(call(admin, "GET", path, Some("s3cr3t"), b"").status, 401);
    }
    assert_eq!(post(admin, "/api/v1/mo", "{}").status, 401);
    let good = Some("s3cr3t-t0ken");
    assert_eq!(
        call(admin, "GET", "/api/v1/overview", good, b"").status,
        200
    );
    assert_eq!(call(admin, "GET", "/metrics", good, b"").status, 200);
    assert_eq!(call(admin, "GET", "/api/v1/nope", good, b"").status, 404);
    // The page holds no data: a browser loads it, then sends the token.
    let page = get(admin, "/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("smsc console"));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn page_metrics_and_unknown_paths() {
    let (server, admin) = start(&[]);
    let page = get(admin, "/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    for id in [
        "c-conn", "accounts", "sessions", "chart", "msg-form", "mo-form",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!page.body.contains("http://") || !page.body.contains("<script src"));
    let m = get(admin, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m.body.contains("smsc_submit_ok "));
    assert_eq!(post(admin, "/metrics", "").status, 405);
    assert_eq!(post(admin, "/", "").status, 405);
    for path in [
        "/nope",
        "/api/v1/",
        "/api/v1/sessions/x",
        "/api/v2/sessions",
        "/api/v1/messages",
    ] {
        let r = get(admin, path);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(r.json()["error"].is_string());
    }
    // Garbage instead of HTTP does not stop the listener.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(admin).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let _ = s.write_all(b"\x00\xff\x16\x03 garbage\r\n\r\n");
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    assert_eq!(get(admin, "/api/v1/overview").status, 200);
    server.stop();
}

#[test]
fn metrics_listen_is_an_alias_and_a_port_means_localhost() {
    use clap::Parser;
    use smsc::config::{Args, Config};
    let c = |argv: &[&str]| {
        let mut v = vec!["smsc"];
        v.extend_from_slice(argv);
        Config::from_args(Args::parse_from(v))
    };
    let a = c(&["--metrics-listen", "127.0.0.1:9102"]).unwrap();
    assert_eq!(a.admin_listen, Some("127.0.0.1:9102".parse().unwrap()));
    let b = c(&["--admin-listen", "9100"]).unwrap();
    assert_eq!(b.admin_listen, Some("127.0.0.1:9100".parse().unwrap()));
    let e = c(&["--admin-listen", "[::]:9100"]).unwrap_err().to_string();
    assert!(e.contains("--admin-token-file"), "{e}");
    let e = c(&["--admin-token-file", "/nonexistent/token"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/token"), "{e}");
}

/// The binary itself: off loopback without a token it refuses to start
/// (exit 2, one clear line); with one it serves.
#[test]
fn off_loopback_without_a_token_the_binary_exits_2() {
    let bin = env!("CARGO_BIN_EXE_smsc");
    let out = std::process::Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--admin-listen 0.0.0.0:0 is not a loopback address")
            && err.contains("--admin-token-file"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("smsc-admin-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "tok\n").unwrap();
    let mut child = std::process::Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0"])
        .arg("--admin-token-file")
        .arg(&token)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    use std::io::BufRead;
    while !seen.contains("console and admin API on") {
        line.clear();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
    }
    // Stop the one process this test started, by its id.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(
        seen.contains("console and admin API on http://0.0.0.0:"),
        "{seen}"
    );
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// In a `--config` file the old key still works, and `--check-config`
/// refuses an admin listener off loopback without a token (exit 2).
#[test]
fn the_config_file_knows_both_names_and_check_config_the_token_rule() {
    let dir = std::env::temp_dir().join(format!("smsc-admin-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |text: &str| {
        let f = dir.join("smsc.toml");
        std::fs::write(&f, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_smsc"))
            .arg("--check-config")
            .arg("--config")
            .arg(&f)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check("metrics-listen = \"127.0.0.1:9102\"\n");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = check("admin-listen = \"9102\"\n");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = check("admin-listen = \"0.0.0.0:9102\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("not a loopback address"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client that announces a body and never sends it holds only its own
/// connection (for at most the body timeout), not the admin thread:
/// `/metrics` and the API still answer, and the request is answered once
/// its body is in. A GET with such a body too (refused without reading it).
#[test]
fn a_body_that_never_comes_does_not_stall_the_api() {
    use std::io::{Read, Write};
    let (_server, admin) = start(&[]);
    let stall = |method: &str| {
        let mut c = std::net::TcpStream::connect(admin).unwrap();
        let head = format!(
            "{method} /api/v1/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n{{"
        );
        c.write_all(head.as_bytes()).unwrap();
        c
    };
    let mut stalled: Vec<_> = (0..4).map(|_| stall("POST")).collect();
    stalled.push(stall("GET"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(admin, "/metrics").status, 200);
    assert_eq!(get(admin, "/api/v1/overview").status, 200);
    // The rest of one body arrives: that request is answered.
    let mut c = stalled.remove(0);
    c.write_all(&[b' '; 1999]).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 "), "{answer:?}");
    assert!(!answer.starts_with("HTTP/1.1 5"), "{answer:?}");
    assert_eq!(get(admin, "/metrics").status, 200);
    drop(stalled);
}
