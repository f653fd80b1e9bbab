//! The admin listener under hostile clients, against the real binary (its
//! thread count is read from /proc): a request head that never ends is
//! refused at its bound, idle connections cost no thread each and end at
//! the header timeout, beyond the connection cap the SMPP side and, once
//! idle connections have ended, the API still answer, and a body is
//! bounded in size and time; random octets end their connection, never
//! the server.
mod common;
use common::http::call_within;
use common::*;
use smsc::pdu::{CommandId, CommandStatus as S};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

fn spawn() -> (Child, SocketAddr, SocketAddr) {
    let args = [
        "--threads",
        "1",
        "--account",
        "esme:secret",
        "--admin-listen",
        "127.0.0.1:0",
    ];
    let (child, addr, log) = common::binary::spawn_smsc(&args, None);
    let admin = common::binary::admin_addr(&log).expect("admin address in the log");
    // The log is read on a thread of spawn_smsc's; dropping the receiver
    // only discards the lines.
    (child, addr, admin)
}

fn threads(child: &Child) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn stop(mut child: Child) {
    common::binary::signal(&child, "TERM");
    let code = common::binary::wait_exit(&mut child, Duration::from_secs(10));
    assert!(code.is_some(), "smsc did not stop on SIGTERM");
}

/// Whether the server closed `s` within `limit` (EOF, or a reset).
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

/// A header line that never ends: refused with 431 once the head passes
/// the listener's 16 KiB buffer (a reader without a bound buffers it all,
/// as long as the client sends). The server lives on.
#[test]
fn a_request_head_without_end_is_refused_at_its_bound() {
    let (child, _addr, admin) = spawn();
    let mut s = TcpStream::connect(admin).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: ")
        .unwrap();
    let chunk = [b'a'; 4096];
    let mut sent = 0usize;
    // At most 256 KiB: well past the bound; a write error is the server
    // having closed the connection already.
    while sent < 256 * 1024 && s.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "after {sent} octets of one header: {text:?}"
    );
    assert_eq!(common::http::get(admin, "/metrics").status, 200);
    stop(child);
}

/// 100 idle connections (past the cap of 64): the listener spends no
/// thread on them, the SMPP side binds and answers meanwhile, an idle
/// connection (also one kept alive after a request) is closed at the
/// header timeout (10 s), and then the API answers again.
#[test]
fn idle_connections_cost_no_thread_and_end_at_the_header_timeout() {
    let (child, addr, admin) = spawn();
    assert_eq!(common::http::get(admin, "/metrics").status, 200);
    let before = threads(&child);
    // One kept alive after a complete request.
    let mut kept = TcpStream::connect(admin).unwrap();
    kept.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let started = Instant::now();
    let mut idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(admin).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = threads(&child);
    assert!(
        during <= before + 2,
        "threads went from {before} to {during} with 100 idle connections"
    );
    // The SMPP side does not notice.
    let mut e = Esme::connect(addr);
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    e.request(smsc::pdu::Body::EnquireLink);
    assert_eq!(
        e.recv_id(CommandId::ENQUIRE_LINK_RESP).status(),
        S::ESME_ROK
    );
    // The first idle one and the kept-alive one end at the header timeout.
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(20)),
        "an idle connection was still open after {:?}",
        started.elapsed()
    );
    assert!(
        closed_within(&mut kept, Duration::from_secs(5)),
        "a kept-alive idle connection was still open after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_secs(8));
    // Those behind the cap are accepted as others end, and end in turn;
    // a request among them is answered.
    let r = call_within(admin, "GET", "/metrics", None, b"", Duration::from_secs(30));
    assert_eq!(r.status, 200, "{r:?}");
    drop(idle);
    assert!(threads(&child) <= before + 2);
    stop(child);
}

/// Sends `head` (and `body`) on a new connection; the answer's status line,
/// read within `limit`.
fn status_line(admin: SocketAddr, head: &str, body: &[u8], limit: Duration) -> String {
    let mut s = TcpStream::connect(admin).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    s.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    text.lines().next().unwrap_or("").to_string()
}

/// A body is taken only with POST, up to 64 KiB (announced or chunked),
/// and within 10 s of its head: 400, 413, 413 and 408 otherwise.
#[test]
fn a_body_is_bounded_in_size_and_time() {
    let (child, _addr, admin) = spawn();
    let limit = Duration::from_secs(5);
    let get_with_body = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(
        status_line(admin, get_with_body, b"hello", limit),
        "HTTP/1.1 400 Bad Request"
    );
    let announced = "POST /mo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";
    assert_eq!(
        status_line(admin, announced, b"{", limit),
        "HTTP/1.1 413 Payload Too Large"
    );
    // 80 KiB in 1 KiB chunks, no length announced.
    let chunked = "POST /mo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut body = Vec::new();
    for _ in 0..80 {
        body.extend_from_slice(b"400\r\n");
        body.extend_from_slice(&[b' '; 1024]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        status_line(admin, chunked, &body, limit),
        "HTTP/1.1 413 Payload Too Large"
    );
    // 10 of 100 announced octets, then nothing.
    let started = Instant::now();
    let slow = "POST /mo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    assert_eq!(
        status_line(admin, slow, b"{\"from\": 1", Duration::from_secs(20)),
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(common::http::get(admin, "/metrics").status, 200);
    stop(child);
}

/// 300 connections of random octets, some after a valid request line or
/// inside a header: every one ends (answered 4xx or closed), the process
/// lives, and the API answers after them.
#[test]
fn random_octets_on_the_admin_port_end_each_connection_not_the_server() {
    let (mut child, _addr, admin) = spawn();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let prefixes: [&[u8]; 4] = [
        b"",
        b"GET /metrics HTTP/1.1\r\n",
        b"POST /mo HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n",
        b"GET /api/v1/messages/",
    ];
    for i in 0..300 {
        let mut s = TcpStream::connect(admin).unwrap();
        let mut bytes = prefixes[i % prefixes.len()].to_vec();
        let n = (next() % 3000) as usize;
        bytes.extend((0..n).map(|_| next() as u8));
        // The server may close before taking it all.
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut answer = Vec::new();
        let ended = match s.read_to_end(&mut answer) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(ended, "connection {i} still open after 15 s");
        let text = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || text.starts_with("HTTP/1.1 4") || text.starts_with("HTTP/1.1 2"),
            "connection {i}: {text:?}"
        );
    }
    assert!(child.try_wait().unwrap().is_none(), "server died");
    assert_eq!(common::http::get(admin, "/metrics").status, 200);
    stop(child);
}
