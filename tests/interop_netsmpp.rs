//! Interop with Net::SMPP, CPAN's SMPP client (Debian's libnet-smpp-perl),
//! which no one here wrote: `tests/interop/netsmpp_client.pl` drives one
//! scenario against a real server on an ephemeral port and prints what
//! Net::SMPP saw, one event per line; the assertions are all here.
//!
//! Net::SMPP is used as its manual shows: synchronous requests, which wait
//! for their response and drop any other PDU that arrives meanwhile. The
//! receipt the server writes right after a submit_sm_resp is such a PDU
//! when the next submit follows at once: the ESME never answers it. The
//! server sends it again after `--response-timer` (1 s here), so every
//! receipt still arrives: the at-least-once delivery an ESME like this
//! depends on, checked below with the server's own counters.
//!
//! Needs perl and Net::SMPP: installed with apt on the first run
//! (common/provision.rs). Without them these tests fail and say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::script::{of, run_script, Event};
use smsc::dlr::{self, Stat};
use smsc::metrics::Counters;

/// Runs one scenario against a fresh server started with `flags` (and a
/// 1 s response timer); returns its events and the server's counters.
fn run(scenario: &str, flags: &[&str]) -> (Vec<Event>, Counters) {
    let perl = common::provision::perl();
    let mut args = vec!["--response-timer", "1s"];
    args.extend_from_slice(flags);
    let server = common::server(&args);
    let port = server.local_addr().port().to_string();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/netsmpp_client.pl"
    );
    let events = run_script(perl, &[script, scenario, &port]);
    // Counters are published every 100 ms.
    std::thread::sleep(std::time::Duration::from_millis(250));
    let counters = server.snapshot().counters;
    server.stop();
    assert!(
        of(&events, "timeout").is_empty() && of(&events, "error").is_empty(),
        "scenario {scenario}: {events:?}"
    );
    (events, counters)
}

fn stat_of(e: &Event) -> Stat {
    let text = e.octets("text");
    let parsed = dlr::parse(&text).expect("a standard receipt text");
    assert_eq!(
        parsed.id,
        e.get("receipted").as_bytes(),
        "id: and receipted_message_id agree"
    );
    parsed.stat.expect("a stat: field")
}

/// Bind, enquire_link, GSM 7-bit, UCS2 and message_payload submits, their
/// receipts (standard text, receipted_message_id, message_state; the two
/// the synchronous client dropped come again after the response timer),
/// query_sm (owner's source, another source, a malformed id), unbind.
#[test]
fn net_smpp_submits_gets_receipts_and_queries() {
    let (ev, counters) = run("basic", &[]);
    assert_eq!(of(&ev, "enquire")[0].num("status"), 0);
    let submits = of(&ev, "submit");
    assert_eq!(submits.len(), 3);
    assert!(submits.iter().all(|s| s.num("status") == 0), "{submits:?}");
    let ids: Vec<&str> = submits.iter().map(|s| s.get("id")).collect();
    let receipts = of(&ev, "receipt");
    assert_eq!(receipts.len(), 3, "every receipt arrived");
    // The first two were dropped by the client while it waited for the
    // next submit's response; the last one was not.
    assert_eq!(receipts[0].get("receipted"), ids[2], "{receipts:?}");
    assert_eq!(
        counters.timeout_response, 2,
        "the two dropped receipts timed out"
    );
    assert_eq!(counters.receipt_retried, 2, "and were sent again");
    assert_eq!(counters.receipt_acked, 3);
    for r in &receipts {
        assert_eq!(r.num("esm_class"), 0x04);
        assert_eq!(
            r.num("receipted_nul"),
            1,
            "receipted_message_id is NUL-terminated"
        );
        assert!(ids.contains(&r.get("receipted")), "{r:?}");
        assert_eq!(stat_of(r), Stat::Delivrd);
        assert_eq!(r.num("state"), 2, "message_state DELIVERED");
        // Addresses swapped: the receipt comes from the destination.
        assert_eq!((r.get("source"), r.get("dest")), ("447700900001", "12345"));
    }
    let text_of = |id: &str| {
        let r = receipts.iter().find(|r| r.get("receipted") == id).unwrap();
        dlr::parse(&r.octets("text"))
            .unwrap()
            .text
            .unwrap()
            .to_vec()
    };
    assert_eq!(text_of(ids[0]), b"Hello from Net::SMPP");
    // Cyrillic in UCS2: not representable in the receipt's text.
    assert_eq!(text_of(ids[1]), b"??????");
    assert_eq!(
        text_of(ids[2]),
        [b'P'; 20],
        "message_payload's first 20 characters"
    );
    let queries = of(&ev, "query");
    assert_eq!(queries.len(), 3);
    assert_eq!((queries[0].num("status"), queries[0].num("state")), (0, 2));
    assert_eq!(queries[0].get("final_date").len(), 16, "{:?}", queries[0]);
    assert_eq!(
        queries[1].num("status"),
        0x67,
        "another source: ESME_RQUERYFAIL"
    );
    assert_eq!(
        queries[2].num("status"),
        0x0C,
        "a malformed id: ESME_RINVMSGID"
    );
    assert_eq!(of(&ev, "unbind")[0].num("status"), 0);
}

/// ESME to ESME: a's messages to b's numbers reach b's Net::SMPP receiver
/// as MO deliver_sm (text, UCS2 octets, addresses as submitted), and b's
/// answers make a's receipts DELIVRD.
#[test]
fn net_smpp_receives_mo_messages() {
    let (ev, _) = run(
        "mo",
        &[
            "--account",
            "a:pw",
            "--account",
            "b:pw",
            "--route",
            "4479=b",
        ],
    );
    let mo = of(&ev, "mo");
    assert_eq!(mo.len(), 2, "{ev:?}");
    let gsm = mo.iter().find(|m| m.get("dest") == "447900000001").unwrap();
    assert_eq!((gsm.num("esm_class"), gsm.num("data_coding")), (0, 0));
    assert_eq!(gsm.get("source"), "12345");
    assert_eq!(gsm.octets("text"), b"MO via Net::SMPP");
    let ucs2 = mo.iter().find(|m| m.get("dest") == "447900000002").unwrap();
    assert_eq!(ucs2.num("data_coding"), 8);
    assert_eq!(ucs2.octets("text"), [0x26, 0x3a, 0, 0x20, 0, 0x6f, 0, 0x6b]);
    let receipts = of(&ev, "receipt");
    assert_eq!(receipts.len(), 2);
    for r in receipts {
        assert_eq!(stat_of(r), Stat::Delivrd, "b acknowledged: {r:?}");
    }
}

/// The store: a scheduled message is ENROUTE, replace_sm and cancel_sm
/// work on it, the receipt says DELETED with the replaced text, query_sm
/// then says DELETED with a final date, and a second cancel or replace fails.
#[test]
fn net_smpp_queries_replaces_and_cancels() {
    let (ev, _) = run("store", &[]);
    let q = of(&ev, "query");
    assert_eq!(
        (q[0].num("status"), q[0].num("state")),
        (0, 1),
        "ENROUTE while scheduled"
    );
    assert_eq!(q[0].get("final_date"), "-", "no final date while pending");
    assert_eq!(of(&ev, "replace")[0].num("status"), 0);
    assert_eq!(of(&ev, "cancel")[0].num("status"), 0);
    let r = of(&ev, "receipt")[0];
    assert_eq!(stat_of(r), Stat::Deleted);
    assert_eq!(r.num("state"), 4, "message_state DELETED");
    assert_eq!(
        dlr::parse(&r.octets("text")).unwrap().text,
        Some(&b"replaced"[..])
    );
    assert_eq!((q[1].num("status"), q[1].num("state")), (0, 4));
    assert_eq!(q[1].get("final_date").len(), 16);
    assert_eq!(
        of(&ev, "cancel_again")[0].num("status"),
        0x11,
        "ESME_RCANCELFAIL"
    );
    assert_eq!(
        of(&ev, "replace_again")[0].num("status"),
        0x13,
        "ESME_RREPLACEFAIL"
    );
}
