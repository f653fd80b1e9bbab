//! Interop with node-smpp 0.5.1 (an SMPP v5.0 client for node.js that no one
//! here wrote). `tests/interop/node_smpp_client.js` runs against a real
//! server on an ephemeral port and prints what node-smpp saw, one event per
//! line; the assertions are all here.
//!
//! Needs `node` and `npm`: node-smpp is installed from
//! tests/interop/package-lock.json on the first run (common/provision.rs).
//! Without them this test fails and says so; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::script::{of, position, run_script};
use smsc::dlr::{self, Stat};

/// node-smpp chooses data_coding from the text (1 IA5, 3 Latin-1, 8 UCS2),
/// builds UDH parts and message_payload itself. Each submit is accepted,
/// its receipt follows its response on the wire and is read back by
/// node-smpp's own decoder; a v5.0-only PDU gets generic_nack RINVCMDID,
/// query_sm of a delivered message DELIVERED with its final date (RQUERYFAIL
/// with another source, RINVMSGID for a malformed id), a bad destination RINVDSTADR.
#[test]
fn node_smpp_codings_udh_payload_receipts_and_errors() {
    let node = common::provision::node();
    let server = common::server(&[]);
    let port = server.local_addr().port().to_string();
    let events = run_script(node, &[SCRIPT, &port]);
    server.stop();
    check(&events);
}

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/node_smpp_client.js"
);

/// The same scenario over TLS (`ssmpp://`, node's tls trusting the test
/// CA, server name checked): every answer and receipt as in plaintext, and
/// the certificate node was shown is ours.
#[test]
fn node_smpp_over_tls_same_scenario() {
    let node = common::provision::node();
    let pki = common::tls::Pki::new("node");
    let flags = pki.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = common::server(&flags);
    let port = server.tls_addr().unwrap().port().to_string();
    let events = run_script(node, &[SCRIPT, &port, pki.ca_file.to_str().unwrap()]);
    let handshakes = server.shared().clone();
    server.stop();
    let tls = of(&events, "tls")[0];
    assert_eq!(tls.get("version"), "TLSv1.3");
    assert_eq!(tls.get("authorized"), "true");
    assert_eq!(tls.octets("peer"), pki.server.der.to_vec());
    assert_eq!(handshakes.snapshot().counters.tls_handshakes, 1);
    check(&events);
}

fn check(events: &[common::script::Event]) {
    let bind = of(events, "bind")[0];
    assert_eq!((bind.num("status"), bind.get("system_id")), (0, "smsc"));

    // (kind, the receipt's expected text: first 20 characters, `?` for
    // anything outside printable ASCII)
    let expected: [(&str, &[u8]); 6] = [
        ("ascii", b"Hello from node-smpp"),
        ("latin1", b"Caf? cr?me ? Z?rich"),
        ("ucs2", b"??????, ???! ??"),
        ("udh1", b"First half of a long"),
        ("udh2", b"and its second half."),
        ("payload", b"PPPPPPPPPPPPPPPPPPPP"),
    ];
    let resps = of(events, "resp");
    assert_eq!(resps.len(), expected.len());
    let receipts = of(events, "receipt");
    // One receipt per message, and the DELETED one of the cancelled message below.
    assert_eq!(receipts.len(), expected.len() + 1);
    assert_eq!(
        receipts
            .iter()
            .filter(|r| r.get("message_state") == "4")
            .count(),
        1,
        "the cancelled message's receipt says DELETED"
    );
    let wire = of(events, "wire");
    for (kind, text) in expected {
        let resp = resps.iter().find(|r| r.get("kind") == kind).unwrap();
        assert_eq!(resp.num("status"), 0, "{kind} refused");
        let id = resp.get("id");

        let mine: Vec<_> = receipts
            .iter()
            .filter(|r| r.get("receipted_message_id") == id)
            .collect();
        assert_eq!(mine.len(), 1, "receipts for {kind} ({id})");
        let r = mine[0];
        assert_eq!(r.num("esm_class"), 4);
        assert_eq!(r.num("data_coding"), 0);
        assert_eq!(r.num("message_state"), 2, "DELIVERED");
        let body = r.octets("text");
        let parsed = dlr::parse(&body).expect("receipt text parses");
        assert_eq!(parsed.id, id.as_bytes());
        assert_eq!(parsed.stat, Some(Stat::Delivrd));
        assert_eq!(
            parsed.text.unwrap_or_default(),
            text,
            "{kind}: {}",
            String::from_utf8_lossy(&body)
        );

        // On the wire: submit_sm_resp before the deliver_sm carrying its receipt.
        let at = |command: &str| {
            let e = wire
                .iter()
                .find(|w| w.get("command") == command && w.get("id") == id)
                .unwrap_or_else(|| panic!("no {command} for {id}"));
            position(events, e)
        };
        assert!(
            at("submit_sm_resp") < at("deliver_sm"),
            "{kind}: receipt first"
        );
    }

    let answer = |kind: &str| {
        let e = of(events, kind)[0];
        (e.get("answer").to_string(), e.num("status"))
    };
    assert_eq!(answer("broadcast_sm"), ("generic_nack".into(), 0x03));
    assert_eq!(answer("query_sm"), ("query_sm_resp".into(), 0));
    let q = of(events, "query_sm")[0];
    assert_eq!(q.num("state"), 2, "DELIVERED");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        q.num("final_unix").abs_diff(now) < 120,
        "final_date is when it was delivered: {q:?}"
    );
    assert_eq!(
        answer("query_sm_other_source"),
        ("query_sm_resp".into(), 0x67)
    );
    assert_eq!(answer("query_sm_bad_id"), ("query_sm_resp".into(), 0x0C));
    assert_eq!(answer("bad_destination"), ("submit_sm_resp".into(), 0x0B));
    // A scheduled message: ENROUTE, replaced, cancelled (DELETED), then final.
    let state = |kind: &str| of(events, kind)[0].num("state");
    assert_eq!(answer("scheduled_query"), ("query_sm_resp".into(), 0));
    assert_eq!(state("scheduled_query"), 1, "ENROUTE");
    assert_eq!(answer("replace_sm"), ("replace_sm_resp".into(), 0));
    assert_eq!(answer("cancel_sm"), ("cancel_sm_resp".into(), 0));
    assert_eq!(state("cancelled_query"), 4, "DELETED");
    assert_eq!(answer("cancel_again"), ("cancel_sm_resp".into(), 0x11));
    assert_eq!(answer("enquire_link"), ("enquire_link_resp".into(), 0));
    assert_eq!(answer("unbind"), ("unbind_resp".into(), 0));
}
