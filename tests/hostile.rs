//! Hostile input over a real socket: random frames with every command id,
//! random bodies and lying lengths, bound and unbound. The server must
//! answer what it can, close what it must, and keep serving everyone else.
mod common;
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S, Pdu};
use std::io::Write;
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_frames_never_take_the_server_down() {
    let srv = server(&["--bind-fail-limit", "0"]);
    let a = srv.local_addr();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..40 {
        // Half the rounds on a bound session, half unbound.
        let mut e = if round % 2 == 0 {
            Esme::bound(a, CommandId::BIND_TRANSCEIVER)
        } else {
            Esme::connect(a)
        };
        let mut burst = Vec::new();
        for _ in 0..50 {
            let id = if rng.next() % 8 == 0 {
                rng.next() as u32
            } else {
                let all = CommandId::ALL;
                all[(rng.next() as usize) % all.len()].0
            };
            let body_len = (rng.next() % 120) as usize;
            // Mostly honest lengths, sometimes a lie (short, long, huge).
            let len = match rng.next() % 10 {
                0 => (rng.next() % 16) as u32,
                1 => (16 + body_len + (rng.next() % 8) as usize) as u32,
                2 => rng.next() as u32,
                _ => (16 + body_len) as u32,
            };
            burst.extend_from_slice(&len.to_be_bytes());
            burst.extend_from_slice(&id.to_be_bytes());
            burst.extend_from_slice(&(rng.next() as u32 % 3).to_be_bytes());
            burst.extend_from_slice(&(rng.next() as u32).to_be_bytes());
            for _ in 0..body_len {
                // NULs often, so C-strings end sometimes.
                let b = rng.next() as u8;
                burst.push(if b < 64 { 0 } else { b });
            }
        }
        let _ = e.stream.write_all(&burst);
        // Drain whatever comes back until the server closes or goes quiet.
        while let Some(g) = e.recv_timeout(Duration::from_millis(50)) {
            // Everything the server sends must itself be well-formed.
            let _ = g.pdu();
        }
    }
    // Still serving: a fresh session binds, submits and gets its receipt.
    let mut ok = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    assert_eq!(ok.submit(sm(b"after the storm", 1)).status(), S::ESME_ROK);
    let d = ok.recv_id(CommandId::DELIVER_SM);
    assert!(matches!(d.pdu().body, Body::DeliverSm(_)));
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || {
        let c = s.snapshot().counters;
        c.frame_ex > 0 && c.decode_ex > 0
    }));
    srv.stop();
}

/// A frame: header with the given id and sequence number, then `body`.
fn frame(id: CommandId, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + body.len());
    f.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&id.0.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// submit_sm / deliver_sm body from its parts (addresses international).
fn sm_body(
    esm: u8,
    sched: &[u8],
    valid: &[u8],
    rd: u8,
    dc: u8,
    msg: &[u8],
    tlvs: &[u8],
) -> Vec<u8> {
    let mut b = vec![0, 1, 1];
    b.extend_from_slice(b"447700900001\0\x01\x01447700900002\0");
    b.extend_from_slice(&[esm, 0, 0]);
    for t in [sched, valid] {
        b.extend_from_slice(t);
        b.push(0);
    }
    b.extend_from_slice(&[rd, 0, dc, 0, msg.len() as u8]);
    b.extend_from_slice(msg);
    b.extend_from_slice(tlvs);
    b
}

/// Valid requests of every kind a bound ESME sends, reaching deep into
/// validation: UDH, SAR, message_payload, UCS2, SMPP times, submit_multi
/// with a distribution list, data_sm, query/cancel/replace.
fn seeds() -> Vec<Vec<u8>> {
    let sar = b"\x02\x0c\x00\x02\x12\x34\x02\x0e\x00\x01\x03\x02\x0f\x00\x01\x01";
    let payload = b"\x04\x24\x00\x08\x04\x1f\x04\x40\x04\x38\x00\x21";
    let udh = b"\x05\x00\x03\x7a\x02\x01hello world";
    let mut multi = vec![0, 1, 1];
    multi.extend_from_slice(b"447700900001\0\x03");
    multi.extend_from_slice(b"\x01\x01\x01447700900002\0\x01\x01\x01447700900003\0\x02friends\0");
    multi.extend_from_slice(b"\x00\x00\x00\0\0\x01\x00\x00\x00\x05hello");
    let mut data = vec![0, 1, 1];
    data.extend_from_slice(b"447700900001\0\x01\x01447700900002\0\x00\x01\x08");
    data.extend_from_slice(payload);
    let query = b"0123456789ab\0\x01\x01447700900001\0".to_vec();
    // service_type "", then the message id.
    let cancel = b"\x000123456789ab\0\x01\x01447700900001\0\x01\x01447700900002\0".to_vec();
    let replace = b"0123456789ab\0\x01\x01447700900001\0\0\0\x01\x00\x03abc".to_vec();
    vec![
        frame(
            CommandId::SUBMIT_SM,
            1,
            &sm_body(0x40, b"", b"", 1, 0, udh, b""),
        ),
        frame(
            CommandId::SUBMIT_SM,
            2,
            &sm_body(0, b"", b"", 1, 0, b"part one", sar),
        ),
        frame(
            CommandId::SUBMIT_SM,
            3,
            &sm_body(0, b"", b"", 1, 8, b"", payload),
        ),
        frame(
            CommandId::SUBMIT_SM,
            4,
            &sm_body(
                0,
                b"000000000100000R",
                b"491231235959000+",
                0x11,
                3,
                b"caf\xe9",
                b"",
            ),
        ),
        frame(
            CommandId::SUBMIT_SM,
            5,
            &sm_body(0x03, b"", b"", 1, 4, &[0, 1, 2, 0xff], b""),
        ),
        frame(CommandId::SUBMIT_MULTI, 6, &multi),
        frame(CommandId::DATA_SM, 7, &data),
        frame(CommandId::QUERY_SM, 8, &query),
        frame(CommandId::CANCEL_SM, 9, &cancel),
        frame(CommandId::REPLACE_SM, 10, &replace),
        frame(CommandId::ENQUIRE_LINK, 11, b""),
        frame(CommandId::DELIVER_SM_RESP, 12, b"\0"),
    ]
}

/// Valid frames with a few octets changed, inserted or cut (the length
/// usually fixed up, so the body is parsed): every answer must be a
/// well-formed PDU, and the server keeps serving. The tests run a debug
/// build, so an arithmetic overflow on any of these paths would panic a
/// loop and fail the final check.
#[test]
fn mutated_valid_frames_never_take_the_server_down() {
    let srv = server(&["--threads", "2", "--window", "8"]);
    let a = srv.local_addr();
    let seeds = seeds();
    // Every seed is valid as it stands: its answer is ROK (query, cancel
    // and replace answer their own failure statuses, enquire_link and the
    // stray deliver_sm_resp as they always do).
    {
        let mut e = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
        for f in seeds.iter().take(7) {
            e.send_raw(f);
            let id = CommandId(u32::from_be_bytes(f[4..8].try_into().unwrap()));
            let r = e.recv_id(id.response());
            assert_eq!(r.status(), S::ESME_ROK, "seed {id:?}");
        }
    }
    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    let mut e = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
    let mut reconnects = 0;
    for _ in 0..150 {
        let mut burst = Vec::new();
        for _ in 0..20 {
            let mut f = seeds[(rng.next() as usize) % seeds.len()].clone();
            let mut fix_length = true;
            for _ in 0..1 + rng.next() % 4 {
                let at = (4 + (rng.next() as usize) % (f.len() - 4).max(1)).min(f.len() - 1);
                let v = match rng.next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                };
                match rng.next() % 10 {
                    0..=5 => f[at] = v,
                    6 | 7 => f.insert(at, v),
                    8 => {
                        let keep = 16 + (rng.next() as usize) % (f.len() - 15);
                        f.truncate(keep);
                    }
                    // Now and then a lying length: nack and close.
                    _ => fix_length = rng.next() % 8 != 0,
                }
            }
            if fix_length {
                let n = f.len() as u32;
                f[..4].copy_from_slice(&n.to_be_bytes());
            }
            burst.extend_from_slice(&f);
        }
        if e.stream.write_all(&burst).is_err() || e.closed_within(Duration::ZERO) {
            reconnects += 1;
            e = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
            continue;
        }
        let mut closed = false;
        while let Some(g) = e.recv_timeout(Duration::from_millis(30)) {
            let _ = g.pdu(); // must decode
                             // Answer receipts and probes; the server may have closed.
            let answer = match g.id() {
                CommandId::DELIVER_SM => frame(CommandId::DELIVER_SM_RESP, g.seq(), b"\0"),
                CommandId::ENQUIRE_LINK => frame(CommandId::ENQUIRE_LINK_RESP, g.seq(), b""),
                _ => continue,
            };
            let _ = e.stream.write_all(&answer);
        }
        if e.closed_within(Duration::from_millis(1)) {
            closed = true;
        }
        if closed {
            reconnects += 1;
            e = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
        }
    }
    // Still serving, on both loops' connections.
    for _ in 0..4 {
        let mut ok = Esme::bound(a, CommandId::BIND_TRANSCEIVER);
        assert_eq!(ok.submit(sm(b"still here", 1)).status(), S::ESME_ROK);
        ok.recv_id(CommandId::DELIVER_SM);
    }
    // The mutations reached both the decoder and the validation behind it.
    let c = srv.snapshot().counters;
    assert!(c.decode_ex > 0, "no decode errors: {c:?}");
    assert!(c.submit_ex > 50 && c.submit_ok > 100, "submits: {c:?}");
    eprintln!(
        "mutated frames: {reconnects} reconnects, decode_ex {}, submit ok/ex {}/{}",
        c.decode_ex, c.submit_ok, c.submit_ex
    );
    srv.stop();
}

// ------------------------------------------------------------------ TLS

use common::tls::Pki;
use std::sync::Arc;

fn tls_server(pki: &Pki, extra: &[&str]) -> smsc::server::Server {
    let flags = pki.flags();
    let mut argv: Vec<&str> = flags.iter().map(String::as_str).collect();
    argv.extend_from_slice(extra);
    server(&argv)
}

/// The TLS record of `plain` as the client would send it (encrypted
/// under the session's keys), not yet written.
fn record_of(e: &mut Esme, plain: &[u8]) -> Vec<u8> {
    let Wire::Tls(t) = &mut e.stream else {
        panic!("not TLS")
    };
    t.conn.writer().write_all(plain).unwrap();
    let mut out = Vec::new();
    while t.conn.wants_write() {
        t.conn.write_tls(&mut out).unwrap();
    }
    out
}

/// Plaintext SMPP on the TLS port, a TLS client on the plaintext port,
/// garbage and oversized records in the handshake, a handshake that
/// stalls, a client that closes in the middle of a record, key updates,
/// random frames inside TLS: each is closed or handled and counted, and
/// the loop keeps serving.
#[test]
fn tls_port_survives_plaintext_garbage_stalls_truncation_and_key_updates() {
    let pki = Pki::new("hostile");
    let srv = tls_server(
        &pki,
        &["--session-init-timer", "500ms", "--bind-fail-limit", "0"],
    );
    let (plain, tls) = (srv.local_addr(), srv.tls_addr().unwrap());
    let cfg = pki.client_config(None, None);
    let s = srv.shared().clone();
    let counters = || s.snapshot().counters;

    // A plaintext bind on the TLS port: closed, nothing answered in SMPP.
    let mut e = Esme::connect(tls);
    e.send_raw(&Pdu::new(1, Body::EnquireLink).to_vec().unwrap());
    assert!(e.closed_within(Duration::from_secs(2)));
    // A TLS client on the plaintext port: its handshake fails.
    assert!(common::tls::connect(plain, cfg.clone()).is_err());
    // Garbage after a handshake record header; an oversized record.
    let mut rng = Rng(0x7115_0000_0000_0001);
    for header in [[0x16, 3, 1, 0, 0x40], [0x16, 3, 3, 0xff, 0xff]] {
        let mut e = Esme::connect(tls);
        let mut bytes = header.to_vec();
        bytes.extend((0..200).map(|_| rng.next() as u8));
        let _ = e.stream.write_all(&bytes);
        assert!(e.closed_within(Duration::from_secs(2)), "{header:?}");
    }
    // Half a record header, then nothing: the session init timer closes it.
    let mut e = Esme::connect(tls);
    e.send_raw(&[0x16, 3, 1]);
    assert!(!e.closed_within(Duration::from_millis(200)));
    assert!(
        e.closed_within(Duration::from_secs(3)),
        "a stalled handshake stays open"
    );

    // Mid-record close: a bound session sends half a record and leaves.
    let mut e = Esme::connect_tls(tls, cfg.clone());
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    let rec = record_of(&mut e, &Pdu::new(9, Body::EnquireLink).to_vec().unwrap());
    e.stream
        .tcp()
        .try_clone()
        .unwrap()
        .write_all(&rec[..rec.len() / 2])
        .unwrap();
    e.stream.tcp().shutdown(std::net::Shutdown::Both).unwrap();
    drop(e);
    assert!(
        eventually(Duration::from_secs(2), || counters().tls_eof_unclean >= 1),
        "{:?}",
        counters()
    );

    // Key updates (TLS 1.3) between submits: handled, the session goes on.
    let mut e = Esme::connect_tls(tls, cfg.clone());
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    for _ in 0..5 {
        if let Wire::Tls(t) = &mut e.stream {
            t.conn.refresh_traffic_keys().unwrap();
        }
        assert_eq!(e.submit(sm(b"new keys", 1)).status(), S::ESME_ROK);
        let d = e.recv_id(CommandId::DELIVER_SM);
        e.auto_answer(&d);
    }

    // Random frames inside TLS, bound and unbound.
    for round in 0..10 {
        let mut e = Esme::connect_tls(tls, cfg.clone());
        if round % 2 == 0 {
            e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret");
        }
        let mut burst = Vec::new();
        for _ in 0..30 {
            let body_len = (rng.next() % 100) as usize;
            let len = if rng.next() % 5 == 0 {
                rng.next() as u32
            } else {
                (16 + body_len) as u32
            };
            burst.extend_from_slice(&len.to_be_bytes());
            let all = CommandId::ALL;
            burst.extend_from_slice(&all[(rng.next() as usize) % all.len()].0.to_be_bytes());
            burst.extend_from_slice(&0u32.to_be_bytes());
            burst.extend_from_slice(&(rng.next() as u32).to_be_bytes());
            burst.extend((0..body_len).map(|_| rng.next() as u8));
        }
        let _ = e.stream.write_all(&burst);
        while let Some(g) = e.recv_timeout(Duration::from_millis(50)) {
            let _ = g.pdu();
        }
    }

    // Still serving, over TLS and in plaintext.
    for addr in [tls, plain] {
        let mut ok = if addr == tls {
            Esme::connect_tls(tls, cfg.clone())
        } else {
            Esme::connect(plain)
        };
        assert_eq!(
            ok.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
                .status(),
            S::ESME_ROK
        );
        assert_eq!(ok.submit(sm(b"after the storm", 1)).status(), S::ESME_ROK);
        ok.recv_id(CommandId::DELIVER_SM);
    }
    assert!(
        eventually(Duration::from_secs(2), || {
            let c = counters();
            c.tls_handshake_ex_not_tls == 1
                && c.tls_on_plain_port == 1
                && c.tls_handshake_ex_protocol == 2
                && c.tls_handshake_ex_timeout == 1
                && c.frame_ex > 0
        }),
        "{:?}",
        counters()
    );
    srv.stop();
}

/// A TLS 1.2 client (node, OpenSSL) asks for a renegotiation: rustls
/// refuses it, the attempt is counted, and the loop goes on.
#[test]
fn tls12_renegotiation_is_refused_and_counted() {
    let node = common::provision::node();
    let pki = Pki::new("reneg");
    let srv = tls_server(&pki, &[]);
    let tls = srv.tls_addr().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/tls_renegotiate.js"
    );
    let port = tls.port().to_string();
    let events = common::script::run_script(node, &[script, &port, pki.ca_file.to_str().unwrap()]);
    let connected = common::script::of(&events, "connected");
    assert_eq!(connected[0].get("version"), "TLSv1.2", "{events:?}");
    let s = srv.shared().clone();
    assert!(
        eventually(Duration::from_secs(2), || s
            .snapshot()
            .counters
            .tls_renegotiation_refused
            == 1),
        "{:?} {events:?}",
        s.snapshot().counters
    );
    let mut ok = Esme::connect_tls(
        tls,
        pki.client_config(None, Some(&[&rustls::version::TLS12])),
    );
    assert_eq!(
        ok.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    assert_eq!(ok.submit(sm(b"no renegotiation", 0)).status(), S::ESME_ROK);
    let _ = Arc::strong_count(&s);
    srv.stop();
}
