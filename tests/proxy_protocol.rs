//! `--proxy-protocol-from`: a real HAProxy in TCP mode in front of the
//! server sends the PROXY protocol header (v1 `send-proxy`, v2
//! `send-proxy-v2`, plaintext and TLS passthrough), and the session takes
//! the client it names as its address: account `allow_ips` and the
//! console see the ESME, not the balancer. Loopback has a whole /8, so the
//! ESMEs connect from 127.0.0.2 and 127.0.0.4 and HAProxy from 127.0.0.3.
mod common;

use common::cluster::{temp_dir, Haproxy};
use common::http::sessions_of;
use common::tls::Pki;
use common::{eventually, sm, Esme, Wire};
use smsc::pdu::{Bind, Body, CommandId as C, CommandStatus as S, Pdu};
use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const BALANCER: &str = "127.0.0.3";

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let src: SocketAddr = format!("{from}:0").parse().unwrap();
    s.bind(&src.into()).unwrap();
    s.connect(&to.into()).unwrap();
    let t: TcpStream = s.into();
    t.set_nodelay(true).unwrap();
    t.set_read_timeout(Some(common::WAIT)).unwrap();
    t
}

/// A server whose account `near` may bind from 127.0.0.2 only, taking
/// PROXY headers from the balancer's address; and its admin listener.
fn start(extra: &[&str]) -> (smsc::server::Server, SocketAddr, std::path::PathBuf) {
    let dir = temp_dir("proxy-protocol");
    let accounts = dir.join("accounts.conf");
    std::fs::write(&accounts, "[near]\npassword = pw\nallow_ips = 127.0.0.2\n").unwrap();
    let mut args = vec![
        "--accounts",
        accounts.to_str().unwrap(),
        "--proxy-protocol-from",
        BALANCER,
    ];
    args.extend_from_slice(extra);
    let server = common::server(&args);
    let admin = smsc::admin::serve("127.0.0.1:0".parse().unwrap(), server.shared().clone())
        .expect("admin listener");
    (server, admin, dir)
}

/// `peer` of each session of `near`, with ` via <balancer IP>` when it
/// came through one.
fn peers_of_near(admin: SocketAddr) -> Vec<String> {
    sessions_of(admin, "near")
        .iter()
        .map(|s| {
            let peer = s["peer"].as_str().unwrap_or("").to_string();
            match s["via"].as_str() {
                Some(v) => format!("{peer} via {}", v.split(':').next().unwrap_or("")),
                None => peer,
            }
        })
        .collect()
}

/// Through HAProxy with `mode` (send-proxy or send-proxy-v2): the ESME at
/// 127.0.0.2 binds and submits, its session shows 127.0.0.2 and its own
/// port; the one at 127.0.0.4 is refused by allow_ips. Without the header
/// both would be 127.0.0.3 and both refused.
fn through_haproxy(mode: &str) {
    let (server, admin, dir) = start(&[]);
    let lb = Haproxy::start_with(
        &[server.local_addr()],
        &format!("{mode} source {BALANCER} check check-send-proxy inter 200ms"),
    );
    let tcp = connect_from("127.0.0.2", lb.addr);
    let local = tcp.local_addr().unwrap().to_string();
    let mut near = Esme::over(Wire::Tcp(tcp));
    assert_eq!(
        near.bind(C::BIND_TRANSCEIVER, "near", "pw").status(),
        S::ESME_ROK,
        "{mode}"
    );
    assert_eq!(
        near.submit(sm(b"via the balancer", 0)).status(),
        S::ESME_ROK
    );
    let shown = format!("{local} via {BALANCER}");
    assert!(
        eventually(Duration::from_secs(3), || peers_of_near(admin)
            == [shown.clone()]),
        "{mode}: the session's peer is the ESME ({local}), via HAProxy: {:?}",
        peers_of_near(admin)
    );
    let mut far = Esme::over(Wire::Tcp(connect_from("127.0.0.4", lb.addr)));
    assert_eq!(
        far.bind(C::BIND_TRANSCEIVER, "near", "pw").status(),
        S::ESME_RBINDFAIL,
        "{mode}: allow_ips sees 127.0.0.4"
    );
    // HAProxy's health checks (check-send-proxy) send a header too: the
    // two ESMEs' and at least one check's.
    assert!(eventually(Duration::from_secs(3), || {
        server.snapshot().counters.proxy_headers >= 3
    }));
    assert_eq!(server.snapshot().counters.proxy_header_ex, 0, "{mode}");
    drop(lb);
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn haproxy_send_proxy_v1_names_the_esme() {
    through_haproxy("send-proxy");
}

#[test]
fn haproxy_send_proxy_v2_names_the_esme() {
    through_haproxy("send-proxy-v2");
}

/// TLS passthrough: HAProxy in TCP mode puts the v2 header before the
/// ClientHello; the handshake and the bind follow as on a direct line.
#[test]
fn haproxy_send_proxy_v2_before_tls() {
    let pki = Pki::new("proxy-protocol");
    let flags = pki.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (server, admin, dir) = start(&flags);
    let lb = Haproxy::start_with(
        &[server.tls_addr().unwrap()],
        &format!("send-proxy-v2 source {BALANCER}"),
    );
    let tcp = connect_from("127.0.0.2", lb.addr);
    let local = tcp.local_addr().unwrap().to_string();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(pki.client_config(None, None), name).unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn
            .complete_io(&mut s.sock)
            .expect("TLS handshake through HAProxy");
    }
    let mut near = Esme::over(Wire::Tls(Box::new(s)));
    assert_eq!(
        near.bind(C::BIND_TRANSCEIVER, "near", "pw").status(),
        S::ESME_ROK
    );
    assert_eq!(
        near.submit(sm(b"TLS via the balancer", 0)).status(),
        S::ESME_ROK
    );
    let shown = format!("{local} via {BALANCER}");
    assert!(eventually(Duration::from_secs(3), || peers_of_near(admin)
        == [shown.clone()]));
    drop(lb);
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// True if the server closed `t` within the wait, having sent nothing (a
/// reset counts: the server closes with our octets unread).
fn closed_silently(mut t: TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match t.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A bind_transceiver as `near`, as octets.
fn bind_octets() -> Vec<u8> {
    let body = Body::BindTransceiver(Bind {
        system_id: b"near",
        password: b"pw",
        system_type: b"",
        interface_version: 0x34,
        addr_ton: 0,
        addr_npi: 0,
        address_range: b"",
    });
    Pdu::new(1, body).to_vec().unwrap()
}

/// From the balancer's address the header is required: a bind without it,
/// a header cut by the peer's close, or a header longer than the bound
/// ends the connection with no answer (counted). From anyone else a PROXY
/// header is not trusted: it is not SMPP, and the address is not taken.
#[test]
fn the_header_is_required_from_the_balancer_and_ignored_from_others() {
    let (server, _admin, dir) = start(&[]);
    let addr = server.local_addr();
    let bind = |t: &mut TcpStream| t.write_all(&bind_octets()).unwrap();
    // 1. SMPP straight from the balancer's address: no header, closed.
    let mut t = connect_from(BALANCER, addr);
    bind(&mut t);
    assert!(
        closed_silently(t),
        "a bind without its PROXY header is answered"
    );
    // 2. Half a header, then the peer's close.
    let mut t = connect_from(BALANCER, addr);
    t.write_all(b"PROXY TCP4 127.0.0.2 127.0.0.1 400").unwrap();
    t.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed_silently(t));
    // 3. A v2 header announcing more than 1 KiB: closed once 1 KiB is in.
    let mut t = connect_from(BALANCER, addr);
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11".to_vec();
    h.extend_from_slice(&4000u16.to_be_bytes());
    h.resize(1100, 0);
    t.write_all(&h).unwrap();
    assert!(closed_silently(t));
    assert!(eventually(Duration::from_secs(2), || {
        server.snapshot().counters.proxy_header_ex == 3
    }));
    // 4. A valid header, then the bind, from the balancer: accepted.
    let mut t = connect_from(BALANCER, addr);
    t.write_all(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 2775\r\n")
        .unwrap();
    let mut e = Esme::over(Wire::Tcp(t));
    assert_eq!(
        e.bind(C::BIND_TRANSCEIVER, "near", "pw").status(),
        S::ESME_ROK
    );
    // 5. A PROXY header from 127.0.0.4 (not a balancer) claiming
    // 127.0.0.2: not trusted, not SMPP: no bind comes of it.
    let mut t = connect_from("127.0.0.4", addr);
    t.write_all(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 2775\r\n")
        .unwrap();
    bind(&mut t);
    let mut spoof = Esme::over(Wire::Tcp(t));
    let mut bound = false;
    while let Some(g) = spoof.recv_timeout(Duration::from_secs(2)) {
        bound |= g.id() == C::BIND_TRANSCEIVER_RESP && g.status() == S::ESME_ROK;
    }
    assert!(
        !bound,
        "a PROXY header from an untrusted source was honoured"
    );
    // 6. Direct ESMEs from elsewhere are unaffected (allow_ips still applies).
    let mut direct = Esme::over(Wire::Tcp(connect_from("127.0.0.2", addr)));
    assert_eq!(
        direct.bind(C::BIND_TRANSCEIVER, "near", "pw").status(),
        S::ESME_ROK
    );
    // Counters are published every 100 ms.
    assert!(eventually(Duration::from_secs(2), || {
        server.snapshot().counters.proxy_headers == 1
    }));
    server.stop();
    let _ = std::fs::remove_dir_all(dir);
}
