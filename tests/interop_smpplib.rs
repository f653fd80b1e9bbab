//! Interop with python-smpplib 2.2.4, the most used Python SMPP client, which
//! no one here wrote. `tests/interop/smpplib_client.py` drives one scenario
//! against a real server on an ephemeral port and prints what smpplib saw,
//! one event per line; the assertions are all here.
//!
//! Needs `python3` with pip: smpplib 2.2.4 is installed into a venv under
//! the target dir on the first run (common/provision.rs). Without it these
//! tests fail and say so; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::script::{of, position, run_script, Event};
use smsc::dlr::{self, Stat};
use std::collections::HashMap;

/// Runs one scenario of the smpplib script against a fresh server started
/// with `flags`. A scenario that had to wait past its deadline fails.
fn run(scenario: &str, flags: &[&str]) -> Vec<Event> {
    let python = common::provision::python();
    let server = common::server(flags);
    let port = server.local_addr().port().to_string();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/smpplib_client.py"
    );
    let events = run_script(python, &["-W", "ignore", script, scenario, &port]);
    server.stop();
    assert!(
        of(&events, "timeout").is_empty(),
        "scenario {scenario} timed out waiting: {events:?}"
    );
    events
}

/// What the receipt's `text:` should hold for a part smpplib sent: the first
/// 20 characters of the message (after the UDH), each kept only if ASCII and
/// GSM 7-bit agree on it (letters, digits, space, the punctuation below),
/// else `?`; nothing for binary data.
fn expected_text(kind: &str, esm_class: u64, part: &[u8]) -> Vec<u8> {
    const SHARED_PUNCTUATION: &str = " !\"#%&'()*+,-./:;<=>?";
    let body = if esm_class & 0x40 != 0 {
        &part[1 + part[0] as usize..]
    } else {
        part
    };
    let shown = |c: u32| match char::from_u32(c) {
        Some(ch) if ch.is_ascii_alphanumeric() || SHARED_PUNCTUATION.contains(ch) => ch as u8,
        _ => b'?',
    };
    match kind {
        "binary" => Vec::new(),
        "ucs2_udh" => body
            .chunks_exact(2)
            .take(20)
            .map(|p| shown(u32::from(u16::from_be_bytes([p[0], p[1]]))))
            .collect(),
        _ => body.iter().take(20).map(|&b| shown(u32::from(b))).collect(),
    }
}

/// One TRX bind sends long GSM text split with UDH, long UCS2 text split
/// with UDH, long GSM text split with SAR TLVs, a message_payload message
/// and binary data, all with registered_delivery. Each part is accepted
/// with its own id, and its standard receipt comes back on the same bind,
/// after its response. Then a bad destination, enquire_link and unbind.
#[test]
fn smpplib_trx_long_messages_every_coding_and_receipts() {
    let events = run("trx", &[]);
    let bind = &of(&events, "bind")[0];
    assert_eq!(bind.num("status"), 0, "bind_transceiver refused");
    assert_eq!(bind.get("system_id"), "smsc");

    let sent = of(&events, "sent");
    let kinds: Vec<&str> = sent.iter().map(|e| e.get("kind")).collect();
    for (kind, parts) in [
        ("gsm_udh", 3),
        ("ucs2_udh", 2),
        ("gsm_sar", 2),
        ("payload", 1),
        ("binary", 1),
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            parts,
            "{kind} parts"
        );
    }
    assert_eq!(of(&events, "total")[0].num("submitted"), sent.len() as u64);

    // Every submit_sm answered OK with a distinct message id.
    let resps = of(&events, "resp");
    assert_eq!(resps.len(), sent.len());
    let mut id_of_seq = HashMap::new();
    for r in &resps {
        assert_eq!(r.num("status"), 0, "submit_sm refused: {r:?}");
        assert!(id_of_seq
            .insert(r.num("seq"), r.get("id").to_string())
            .is_none());
    }
    let mut ids: Vec<&String> = id_of_seq.values().collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sent.len(), "message ids repeat");

    // One receipt per part, matched by receipted_message_id and by the id in
    // its text, DELIVRD, after that part's response on the wire.
    let receipts = of(&events, "receipt");
    assert_eq!(receipts.len(), sent.len());
    for s in &sent {
        let id = &id_of_seq[&s.num("seq")];
        let mine: Vec<&&Event> = receipts
            .iter()
            .filter(|r| r.get("receipted_message_id") == id)
            .collect();
        assert_eq!(mine.len(), 1, "receipts for {id}: {mine:?}");
        let r = mine[0];
        assert_eq!(r.num("esm_class"), 4, "esm_class of a receipt");
        assert_eq!(r.num("message_state"), 2, "message_state DELIVERED");
        let resp = resps.iter().find(|x| x.num("seq") == s.num("seq")).unwrap();
        assert!(
            position(&events, resp) < position(&events, r),
            "receipt for {id} before its response"
        );

        let text = r.octets("text");
        let parsed = dlr::parse(&text).expect("receipt text parses");
        assert_eq!(parsed.id, id.as_bytes());
        assert_eq!(parsed.stat, Some(Stat::Delivrd));
        assert_eq!((parsed.sub, parsed.dlvrd), (Some(1), Some(1)));
        assert_eq!(parsed.err, Some(&b"000"[..]));
        assert_eq!(parsed.submit_date.map(<[u8]>::len), Some(10));
        assert_eq!(parsed.done_date.map(<[u8]>::len), Some(10));
        let want = expected_text(s.get("kind"), s.num("esm_class"), &s.octets("part"));
        assert_eq!(
            parsed.text.unwrap_or_default(),
            &want[..],
            "text: of {} ({})",
            s.get("kind"),
            String::from_utf8_lossy(&text)
        );
    }

    // Empty destination_addr: ESME_RINVDSTADR (0x0B), seen by smpplib as an error.
    assert_eq!(of(&events, "bad_destination")[0].num("status"), 0x0B);
    let el = &of(&events, "enquire_link")[0];
    assert_eq!(
        (el.get("answer"), el.num("status")),
        ("enquire_link_resp", 0)
    );
    let ub = &of(&events, "unbind")[0];
    assert_eq!((ub.get("answer"), ub.num("status")), ("unbind_resp", 0));
}

#[test]
fn smpplib_wrong_password_gets_rinvpaswd() {
    let events = run("bad_password", &[]);
    assert_eq!(of(&events, "bind")[0].num("status"), 0x0E);
}

/// Receipts made while the account has no receiver bound are held, then
/// delivered to an RX bind of the same system_id.
#[test]
fn smpplib_receipts_are_held_until_a_receiver_binds() {
    let events = run("held", &[]);
    let resps = of(&events, "resp");
    assert_eq!(resps.len(), 2);
    assert!(resps.iter().all(|r| r.num("status") == 0));
    let closed = events.iter().position(|e| e.kind == "tx_closed").unwrap();
    let receipts = of(&events, "receipt");
    assert_eq!(receipts.len(), 2);
    for r in &resps {
        assert_eq!(
            receipts
                .iter()
                .filter(|x| x.get("receipted_message_id") == r.get("id"))
                .count(),
            1,
            "receipt for {}",
            r.get("id")
        );
    }
    // All of them on the RX bind: none reached the transmitter (the
    // script reports any deliver_sm the TX bind gets, before tx_closed).
    assert!(events.iter().take(closed).all(|e| e.kind != "receipt"));
    assert_eq!(of(&events, "bind")[0].num("status"), 0, "bind_receiver");
}

/// With a 1 s enquire-link timer, the server probes the idle session;
/// smpplib answers each probe and the session stays up to unbind cleanly.
#[test]
fn smpplib_answers_server_enquire_links_and_stays_bound() {
    let events = run("enquire", &["--enquire-link-timer", "1s"]);
    let probes = of(&events, "server_enquire_link");
    assert!(probes.len() >= 3, "{} enquire_links", probes.len());
    let seqs: Vec<u64> = probes.iter().map(|p| p.num("seq")).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequence numbers {seqs:?}"
    );
    let ub = &of(&events, "unbind")[0];
    assert_eq!((ub.get("answer"), ub.num("status")), ("unbind_resp", 0));
}

/// ESME to ESME: python-smpplib submits long GSM 7-bit and UCS2 texts,
/// split into UDH parts by smpplib itself, to a number account `mo` owns;
/// another smpplib client bound as `mo`'s receiver gets every part as an
/// MO deliver_sm with the same octets, coding and UDHI bit, and answers
/// it; then each submitted part's receipt says DELIVRD.
#[test]
fn smpplib_receives_mo_messages_in_gsm_and_ucs2_parts() {
    let events = run("mo", &["--account", "mo:pw", "--route", "4479=mo"]);
    assert_eq!(of(&events, "bind")[0].num("status"), 0);
    let sent = of(&events, "sent");
    assert_eq!(
        sent.len(),
        of(&events, "total")[0].num("submitted") as usize
    );
    let mos = of(&events, "mo");
    assert_eq!(mos.len(), sent.len(), "every part arrives once: {events:?}");
    for (s, m) in sent.iter().zip(&mos) {
        assert_eq!(m.octets("text"), s.octets("part"), "same octets, in order");
        assert_eq!(m.num("data_coding"), s.num("coding"));
        assert_eq!(
            m.num("esm_class"),
            s.num("esm_class") & 0x40,
            "MO with the UDHI bit"
        );
        assert_eq!(m.get("source"), "447700900001");
        assert_eq!(m.get("dest"), "447912345678");
    }
    let receipts = of(&events, "receipt");
    assert_eq!(receipts.len(), sent.len());
    for r in &receipts {
        let text = r.octets("text");
        let parsed = dlr::parse(&text).expect("a standard receipt");
        assert_eq!(parsed.stat, Some(Stat::Delivrd), "{r:?}");
    }
}

/// The `tls` scenario against a server with a TLS listener made for this
/// test: returns the events and the server certificate's SHA-256.
fn run_tls(pki: &common::tls::Pki, extra: &[&str], args: &[&str]) -> Vec<Event> {
    let python = common::provision::python();
    let mut flags = pki.flags_with_client_ca();
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = common::server(&flags);
    let port = server.tls_addr().unwrap().port().to_string();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/smpplib_client.py"
    );
    let mut argv = vec![
        "-W",
        "ignore",
        script,
        "tls",
        &port,
        pki.ca_file.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    let events = run_script(python, &argv);
    server.stop();
    assert!(of(&events, "timeout").is_empty(), "timed out: {events:?}");
    events
}

/// python-smpplib with an `ssl.SSLContext` trusting the test CA: TLS 1.3,
/// bind, submit with a receipt, the receipt, unbind, all over TLS; the
/// certificate it was shown is ours.
#[test]
fn smpplib_over_tls_binds_submits_gets_its_receipt_and_unbinds() {
    let pki = common::tls::Pki::new("smpplib");
    let events = run_tls(&pki, &[], &[]);
    let tls = &of(&events, "tls")[0];
    assert_eq!(tls.get("version"), "TLSv1.3");
    assert_eq!(
        tls.octets("peer"),
        pki.server.der.to_vec(),
        "the server certificate"
    );
    assert_eq!(of(&events, "bind")[0].num("status"), 0);
    let resp = &of(&events, "resp")[0];
    assert_eq!(resp.num("status"), 0);
    let receipts = of(&events, "receipt");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].get("receipted_message_id"), resp.get("id"));
    let text = receipts[0].octets("text");
    let parsed = dlr::parse(&text).unwrap();
    assert_eq!(parsed.stat, Some(Stat::Delivrd));
    let ub = &of(&events, "unbind")[0];
    assert_eq!((ub.get("answer"), ub.num("status")), ("unbind_resp", 0));
}

/// smpplib with a client certificate: an account with `client_cert =
/// required` binds with a certificate naming it, not with another one.
#[test]
fn smpplib_client_certificate_account() {
    let pki = common::tls::Pki::new("smpplib-cert");
    let accounts = pki.dir.join("accounts.conf");
    std::fs::write(
        &accounts,
        "[esme]\npassword = secret\nclient_cert = required\n[other]\npassword = secret\nclient_cert = required\n",
    )
    .unwrap();
    let cert = pki.client("esme", &[]);
    let flags = ["--accounts", accounts.to_str().unwrap()];
    let events = run_tls(&pki, &flags, &["esme", cert.cert_str(), cert.key_str()]);
    assert_eq!(of(&events, "bind")[0].num("status"), 0);
    assert_eq!(of(&events, "receipt").len(), 1);
    let events = run_tls(&pki, &flags, &["other", cert.cert_str(), cert.key_str()]);
    assert_eq!(of(&events, "bind")[0].num("status"), 0x0D, "ESME_RBINDFAIL");
}
