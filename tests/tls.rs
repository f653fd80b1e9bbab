//! SMPP over TLS against the real server: both listeners at once, TLS 1.3
//! and 1.2, `tls = required`, client-certificate accounts, the start-up
//! errors of bad files (exit 2), and the certificate swap on SIGHUP. The
//! certificates are made at test time (common/tls.rs, rcgen).
mod common;
use common::tls::{peer_certificate, Pki};
use common::*;
use smsc::pdu::{Body, CommandId, CommandStatus as S, Pdu};
use std::process::Command;
use std::time::Duration;

fn start(pki: &Pki, client_ca: bool, extra: &[&str]) -> smsc::server::Server {
    let flags = if client_ca {
        pki.flags_with_client_ca()
    } else {
        pki.flags()
    };
    let mut argv: Vec<&str> = flags.iter().map(String::as_str).collect();
    argv.extend_from_slice(extra);
    server(&argv)
}

fn accounts_file(pki: &Pki, text: &str) -> String {
    let p = pki.dir.join("accounts.conf");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Binds TRX, submits asking for a receipt, gets and answers the
/// receipt, unbinds.
fn full_session(e: &mut Esme) {
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    assert_eq!(e.submit(sm(b"over TLS", 1)).status(), S::ESME_ROK);
    let d = e.recv_id(CommandId::DELIVER_SM);
    assert!(matches!(d.pdu().body, Body::DeliverSm(_)));
    e.auto_answer(&d);
    e.request(Body::Unbind);
    assert_eq!(e.recv_id(CommandId::UNBIND_RESP).status(), S::ESME_ROK);
    assert!(e.closed_within(Duration::from_secs(2)));
}

#[test]
fn tls13_and_tls12_sessions_next_to_plaintext_ones() {
    let pki = Pki::new("versions");
    let srv = start(&pki, false, &["--threads", "2"]);
    let tls = srv.tls_addr().expect("TLS listener");
    assert_ne!(tls, srv.local_addr());
    for versions in [
        &[&rustls::version::TLS13][..],
        &[&rustls::version::TLS12][..],
    ] {
        let mut e = Esme::connect_tls(tls, pki.client_config(None, Some(versions)));
        let Wire::Tls(t) = &e.stream else {
            unreachable!()
        };
        assert_eq!(t.conn.protocol_version(), Some(versions[0].version));
        full_session(&mut e);
    }
    // The plaintext listener serves at the same time.
    full_session(&mut Esme::connect(srv.local_addr()));
    let s = srv.shared().clone();
    assert!(
        eventually(Duration::from_secs(2), || {
            let c = s.snapshot().counters;
            c.tls_handshakes == 2
                && c.tls_handshakes_tls12 == 1
                && c.tls_conn_accepted == 2
                && c.tls_sessions_current == 0
                && c.tls_bytes_rx > c.bytes_rx / 2
                && c.tls_bytes_tx > 0
                && c.bind_trx == 3
        }),
        "{:?}",
        s.snapshot().counters
    );
    srv.stop();
}

#[test]
fn many_pdus_and_large_writes_cross_tls_records() {
    // A window of receipts written at once crosses TLS record and write
    // batch boundaries; every receipt arrives intact.
    let pki = Pki::new("bulk");
    let srv = start(&pki, false, &["--window", "500"]);
    let mut e = Esme::connect_tls(srv.tls_addr().unwrap(), pki.client_config(None, None));
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );
    let long = vec![b'x'; 160];
    let long: &'static [u8] = Box::leak(long.into_boxed_slice());
    let mut burst = Vec::new();
    for i in 0..2000u32 {
        let p = Pdu::new(i + 1, Body::SubmitSm(sm(long, 1)));
        burst.extend_from_slice(&p.to_vec().unwrap());
    }
    e.send_raw(&burst);
    let (mut resps, mut receipts) = (0, 0);
    while resps < 2000 || receipts < 2000 {
        let g = e.recv();
        match g.id() {
            CommandId::SUBMIT_SM_RESP => {
                assert_eq!(g.status(), S::ESME_ROK);
                resps += 1;
            }
            CommandId::DELIVER_SM => {
                receipts += 1;
                e.auto_answer(&g);
            }
            other => panic!("{other:?}"),
        }
    }
    srv.stop();
}

#[test]
fn tls_required_refuses_the_plaintext_bind_and_accepts_the_tls_one() {
    let pki = Pki::new("required");
    let file = accounts_file(
        &pki,
        "[secure]\npassword = pw\ntls = required\n[esme]\npassword = secret\n",
    );
    let srv = start(&pki, false, &["--accounts", &file]);
    let (plain, tls) = (srv.local_addr(), srv.tls_addr().unwrap());
    let (_, st) = Esme::try_bind(plain, "secure", "pw");
    assert_eq!(st, S::ESME_RBINDFAIL);
    // A wrong password over plaintext gets the same answer: the plain
    // port tells nothing about a TLS-only account's password.
    let (_, st) = Esme::try_bind(plain, "secure", "guess");
    assert_eq!(st, S::ESME_RBINDFAIL);
    // Other accounts still bind in plaintext.
    assert_eq!(Esme::try_bind(plain, "esme", "secret").1, S::ESME_ROK);
    let mut e = Esme::connect_tls(tls, pki.client_config(None, None));
    assert_eq!(
        e.bind(CommandId::BIND_TRANSCEIVER, "secure", "pw").status(),
        S::ESME_ROK
    );
    assert_eq!(e.submit(sm(b"secret", 0)).status(), S::ESME_ROK);
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .bind_ex_tls_required
        == 2));
    srv.stop();
}

#[test]
fn client_certificate_accounts_bind_only_with_a_certificate_naming_them() {
    let pki = Pki::new("clientcert");
    let file = accounts_file(
        &pki,
        "[esme1]\npassword = a\nclient_cert = required\n[esme2]\npassword = b\nclient_cert = required\n[open]\npassword = c\n",
    );
    let srv = start(&pki, true, &["--accounts", &file]);
    let tls = srv.tls_addr().unwrap();
    let bind = |cfg, sid: &str, pw: &str| {
        let mut e = Esme::connect_tls(tls, cfg);
        e.bind(CommandId::BIND_TRANSCEIVER, sid, pw).status()
    };
    let by_cn = pki.client("esme1", &[]);
    let by_san = pki.client("someone", &["esme2"]);
    // The right CN, the right DNS SAN.
    assert_eq!(
        bind(pki.client_config(Some(&by_cn), None), "esme1", "a"),
        S::ESME_ROK
    );
    assert_eq!(
        bind(pki.client_config(Some(&by_san), None), "esme2", "b"),
        S::ESME_ROK
    );
    // A certificate naming another account, or none at all.
    assert_eq!(
        bind(pki.client_config(Some(&by_cn), None), "esme2", "b"),
        S::ESME_RBINDFAIL
    );
    assert_eq!(
        bind(pki.client_config(None, None), "esme1", "a"),
        S::ESME_RBINDFAIL
    );
    // TLS 1.2 carries the certificate too.
    let v12 = &[&rustls::version::TLS12][..];
    assert_eq!(
        bind(pki.client_config(Some(&by_cn), Some(v12)), "esme1", "a"),
        S::ESME_ROK
    );
    // Accounts without the requirement bind with or without one.
    assert_eq!(
        bind(pki.client_config(None, None), "open", "c"),
        S::ESME_ROK
    );
    assert_eq!(
        bind(pki.client_config(Some(&by_cn), None), "open", "c"),
        S::ESME_ROK
    );
    // And never in plaintext.
    assert_eq!(
        Esme::try_bind(srv.local_addr(), "esme1", "a").1,
        S::ESME_RBINDFAIL
    );
    // A certificate from another CA does not get through the handshake.
    let stranger = Pki::new("stranger");
    let foreign = stranger.client("esme1", &[]);
    // Trusts our server, presents the stranger's certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let cfg = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![foreign.der.clone()], foreign.key_der())
        .unwrap(),
    );
    let refused = match common::tls::connect(tls, cfg) {
        // TLS 1.3: the client's handshake ends before the server's
        // verdict; it arrives as an alert on the first read.
        Ok(s) => {
            let mut e = Esme::over(Wire::Tls(Box::new(s)));
            e.request(Body::EnquireLink);
            e.closed_within(Duration::from_secs(2))
        }
        Err(_) => true,
    };
    assert!(refused);
    let s = srv.shared().clone();
    assert!(
        eventually(Duration::from_secs(2), || {
            let c = s.snapshot().counters;
            // (The plaintext bind counts as a missing certificate.)
            c.bind_ex_client_cert == 3 && c.tls_handshake_ex_cert == 1
        }),
        "{:?}",
        s.snapshot().counters
    );
    srv.stop();
}

/// Runs the binary with `args`; returns its exit code and stderr.
fn run_binary(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smsc"))
        .args(["--listen", "127.0.0.1:0", "--threads", "1"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_certificate_key_or_ca_files_exit_2_naming_the_file() {
    let pki = Pki::new("badfiles");
    let garbage = pki.dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = pki.dir.join("missing.pem");
    let other = pki.server_pair("other");
    let (cert, key) = (pki.server.cert_str(), pki.server.key_str());
    let g = garbage.to_str().unwrap();
    let m = missing.to_str().unwrap();
    let tls = ["--tls-listen", "127.0.0.1:0"];
    for (args, names, says) in [
        (vec!["--tls-cert", m, "--tls-key", key], m, "cannot read it"),
        (vec!["--tls-cert", g, "--tls-key", key], g, "--tls-cert"),
        (
            vec!["--tls-cert", cert, "--tls-key", g],
            g,
            "no private key",
        ),
        (
            vec!["--tls-cert", cert, "--tls-key", other.key_str()],
            other.key_str(),
            "does not belong to the certificate",
        ),
        (
            vec!["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", g],
            g,
            "--tls-client-ca",
        ),
    ] {
        let mut argv = tls.to_vec();
        argv.extend(args);
        let (code, err) = run_binary(&argv);
        assert_eq!(code, Some(2), "{argv:?}: {err}");
        assert!(err.contains(names) && err.contains(says), "{argv:?}: {err}");
    }
    let (code, err) = run_binary(&["--tls-listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tls-cert and --tls-key"), "{err}");
    let (code, err) = run_binary(&["--tls-cert", cert]);
    assert_eq!(code, Some(2));
    assert!(err.contains("needs --tls-listen"), "{err}");
    let file = accounts_file(&pki, "[a]\npassword = x\ntls = required\n");
    let (code, err) = run_binary(&["--accounts", &file]);
    assert_eq!(code, Some(2));
    assert!(err.contains("requires TLS"), "{err}");
    let file = accounts_file(&pki, "[a]\npassword = x\nclient_cert = required\n");
    let mut argv = vec![
        "--accounts",
        file.as_str(),
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ];
    argv.extend(tls);
    let (code, err) = run_binary(&argv);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tls-client-ca"), "{err}");
}

#[test]
fn sighup_swaps_the_certificate_for_new_handshakes_and_old_sessions_go_on() {
    let pki = Pki::new("sighup");
    // The server reads these two paths; the test rewrites them.
    let (cert, key) = (pki.dir.join("live.pem"), pki.dir.join("live.key"));
    std::fs::copy(&pki.server.cert, &cert).unwrap();
    std::fs::copy(&pki.server.key, &key).unwrap();
    let (mut child, _addr, log) = common::binary::spawn_smsc(
        &[
            "--threads",
            "1",
            "--account",
            "esme:secret",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        None,
    );
    let tls: std::net::SocketAddr = loop {
        let line = log
            .recv_timeout(Duration::from_secs(5))
            .expect("TLS listening line");
        if let Some(rest) = line.split("listening for TLS on ").nth(1) {
            break rest.trim().parse().unwrap();
        }
    };
    let cfg = pki.client_config(None, None);
    assert_eq!(peer_certificate(tls, cfg.clone()), pki.server.der);
    let mut old = Esme::connect_tls(tls, cfg.clone());
    assert_eq!(
        old.bind(CommandId::BIND_TRANSCEIVER, "esme", "secret")
            .status(),
        S::ESME_ROK
    );

    let wait_for = |what: &str| loop {
        let line = log
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("no log line with {what:?}"));
        if line.contains(what) {
            return line;
        }
    };
    let next = pki.server_pair("next");
    std::fs::copy(&next.cert, &cert).unwrap();
    std::fs::copy(&next.key, &key).unwrap();
    common::binary::signal(&child, "HUP");
    wait_for("TLS reloaded");
    assert_eq!(
        peer_certificate(tls, cfg.clone()),
        next.der,
        "a new client sees the new pair"
    );
    // The session from before keeps working on its keys.
    assert_eq!(old.submit(sm(b"still here", 1)).status(), S::ESME_ROK);
    old.recv_id(CommandId::DELIVER_SM);

    // A pair that does not load changes nothing, and says why.
    std::fs::write(&key, "broken\n").unwrap();
    common::binary::signal(&child, "HUP");
    let line = wait_for("TLS not reloaded");
    assert!(line.contains("live.key"), "{line}");
    assert_eq!(peer_certificate(tls, cfg.clone()), next.der);
    assert_eq!(old.submit(sm(b"and here", 0)).status(), S::ESME_ROK);
    common::binary::signal(&child, "TERM");
    let _ = child.wait();
}
