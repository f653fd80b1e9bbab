//! The `smsc` binary itself: SIGTERM shutdown (unbind, exit 0), flag and
//! accounts-file errors (exit 2), and a descriptor limit (EMFILE) that must
//! not kill the loop.
mod common;
use common::binary::wait_exit;
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S, Pdu};
use std::process::{Child, Command};
use std::time::Duration;

/// The binary with one loop and the test account (under `ulimit -n` when
/// `nofile` is given).
fn spawn(
    extra: &[&str],
    nofile: Option<u32>,
) -> (
    Child,
    std::net::SocketAddr,
    std::sync::mpsc::Receiver<String>,
) {
    let mut args = vec!["--threads", "1", "--account", "esme:secret"];
    args.extend_from_slice(extra);
    common::binary::spawn_smsc(&args, nofile)
}

#[test]
fn sigterm_unbinds_sessions_and_exits_zero() {
    let (mut child, addr, _log) = spawn(&["--shutdown-grace", "2s"], None);
    let mut e = Esme::bound(addr, CommandId::BIND_TRANSCEIVER);
    assert_eq!(e.submit(sm(b"before", 0)).status(), S::ESME_ROK);
    common::binary::signal(&child, "TERM");
    let g = e.recv_id(CommandId::UNBIND);
    e.send(&Pdu::new(g.seq(), Body::UnbindResp));
    assert!(e.closed_within(Duration::from_secs(3)));
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
}

#[test]
fn bad_flags_and_bad_accounts_file_exit_2_naming_the_problem() {
    let bin = env!("CARGO_BIN_EXE_smsc");
    let out = Command::new(bin)
        .args(["--session-init-timer", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("session-init-timer"));
    let path = std::env::temp_dir().join(format!("smsc-bad-accounts-{}.conf", std::process::id()));
    std::fs::write(&path, "[a]\npassword = x\nmax_binds = many\n").unwrap();
    let out = Command::new(bin)
        .args(["--accounts", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(msg.contains(":3:") && msg.contains("max_binds"), "{msg}");
}

#[test]
fn running_out_of_descriptors_does_not_kill_the_loop() {
    // 40 descriptors: the listener, epoll, waker, std streams... leave room
    // for only a few dozen connections, then open more than that.
    let (mut child, addr, log) = spawn(&["-v"], Some(40));
    let mut conns = Vec::new();
    for _ in 0..60 {
        if let Ok(s) = std::net::TcpStream::connect(addr) {
            conns.push(s);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // Free the descriptors; the server must accept and serve again.
    drop(conns);
    let ok = eventually(Duration::from_secs(5), || {
        let mut e = Esme::connect(addr);
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status()
            == S::ESME_ROK
    });
    assert!(ok, "server did not recover after EMFILE");
    let lines: Vec<String> = log.try_iter().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("accept:") && l.contains("Too many open files")),
        "EMFILE was not reached: {lines:?}"
    );
    assert!(child.try_wait().unwrap().is_none(), "server died");
    common::binary::signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
}

/// GET /metrics on the admin API: whether it answered 200.
fn metrics_answer(admin: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(admin) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.starts_with(b"HTTP/1.1 200") || out.starts_with(b"HTTP/1.0 200")
}

/// Under `ulimit -n limit`, idle connections exhaust the descriptors on
/// the admin port, then close; the server must live on and the admin API
/// answer again.
fn exhaust_the_admin_port(limit: u32) {
    let (mut child, _addr, log) = spawn(&["-v", "--admin-listen", "127.0.0.1:0"], Some(limit));
    let admin = common::binary::admin_addr(&log).expect("admin address in the log");
    assert!(metrics_answer(admin));
    // Idle connections, each holding a descriptor.
    let mut conns = Vec::new();
    for _ in 0..60 {
        if let Ok(s) = std::net::TcpStream::connect(admin) {
            conns.push(s);
        }
    }
    // Descriptors run out: nothing more is accepted.
    assert!(
        eventually(Duration::from_secs(5), || !metrics_answer(admin)),
        "the admin API kept answering: EMFILE was not reached"
    );
    drop(conns);
    let back = eventually(Duration::from_secs(10), || metrics_answer(admin));
    let lines: Vec<String> = log.try_iter().collect();
    assert!(
        child.try_wait().unwrap().is_none(),
        "server died: {lines:?}"
    );
    assert!(back, "the admin API did not come back: {lines:?}");
    common::binary::signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
}

/// Out of descriptors on the admin port, the admin listener once (tiny_http)
/// ended its accept thread (an accept error) or panicked (the clone of an
/// accepted socket, which ended the whole server: `panic = "abort"`),
/// depending on the parity of the descriptors left: limits 40 and 41 see
/// both. The server must live on and the admin API answer again once
/// descriptors are free, either way.
#[test]
fn running_out_of_descriptors_on_the_admin_port_does_not_end_the_admin_api() {
    for limit in [40, 41] {
        exhaust_the_admin_port(limit);
    }
}
