//! submit_sm and delivery receipts over real sockets.
mod common;
use common::*;
use smsc::dlr::{self, Stat};
use smsc::pdu::{Body, CommandId, CommandStatus as S, Tag, TlvBuf};
use std::time::Duration;

fn message_id(g: &Got) -> Vec<u8> {
    match g.pdu().body {
        Body::SubmitSmResp(r) => r.message_id.to_vec(),
        other => panic!("{other:?}"),
    }
}

fn receipt_of(g: &Got) -> (Vec<u8>, Stat, Vec<u8>) {
    let p = g.pdu();
    let Body::DeliverSm(d) = p.body else {
        panic!("{:?}", p.body)
    };
    assert_eq!(d.esm_class & 0x3C, 0x04, "esm_class marks a receipt");
    let text = dlr::parse(d.short_message).expect("standard receipt text");
    let id = d
        .tlvs
        .receipted_message_id()
        .expect("receipted_message_id TLV")
        .to_vec();
    assert_eq!(text.id, &id[..], "text id equals TLV id");
    assert_eq!(
        Stat::from_message_state(d.tlvs.message_state().unwrap()),
        text.stat
    );
    (id, text.stat.unwrap(), d.destination_addr.to_vec())
}

#[test]
fn receipt_on_trx_matches_message_id_and_swaps_addresses() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let r = e.submit(sm(b"hello receipt", 1));
    assert_eq!(r.status(), S::ESME_ROK);
    let id = message_id(&r);
    assert!(!id.is_empty() && id.len() <= 64);
    let d = e.recv_id(CommandId::DELIVER_SM);
    let (rid, stat, dest) = receipt_of(&d);
    assert_eq!(rid, id);
    assert_eq!(stat, Stat::Delivrd);
    assert_eq!(
        dest, b"447700900001",
        "receipt goes back to the original source"
    );
    let Body::DeliverSm(dsm) = d.pdu().body else {
        panic!()
    };
    assert_eq!(dsm.source_addr, b"447700900002");
    let txt = dlr::parse(dsm.short_message).unwrap();
    assert_eq!(txt.text, Some(&b"hello receipt"[..]));
    assert_eq!((txt.sub, txt.dlvrd), (Some(1), Some(1)));
    e.auto_answer(&d);
    // No receipt without registered_delivery.
    assert_eq!(e.submit(sm(b"no receipt", 0)).status(), S::ESME_ROK);
    assert!(e.recv_timeout(Duration::from_millis(300)).is_none());
    srv.stop();
}

#[test]
fn receipt_goes_to_rx_of_same_system_id_not_to_tx() {
    let srv = server(&["--account", "other:pw"]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    let mut stranger = Esme::connect(srv.local_addr());
    assert_eq!(
        stranger
            .bind(CommandId::BIND_RECEIVER, "other", "pw")
            .status(),
        S::ESME_ROK
    );
    let id = message_id(&tx.submit(sm(b"via rx", 1)));
    let d = rx.recv_id(CommandId::DELIVER_SM);
    assert_eq!(receipt_of(&d).0, id);
    rx.auto_answer(&d);
    assert!(tx.recv_timeout(Duration::from_millis(200)).is_none());
    assert!(stranger.recv_timeout(Duration::from_millis(200)).is_none());
    srv.stop();
}

#[test]
fn receipts_are_held_until_a_receiver_binds() {
    let srv = server(&[]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(message_id(&tx.submit(sm(b"held", 1))));
    }
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(3), || s
        .snapshot()
        .receipts_queued
        == 5));
    let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    let mut got = Vec::new();
    for _ in 0..5 {
        let d = rx.recv_id(CommandId::DELIVER_SM);
        got.push(receipt_of(&d).0);
        rx.auto_answer(&d);
    }
    assert_eq!(got, ids, "oldest first");
    assert!(eventually(Duration::from_secs(3), || s
        .snapshot()
        .counters
        .receipt_acked
        == 5));
    srv.stop();
}

#[test]
fn receipt_reaches_rx_on_another_loop() {
    let srv = server(&["--threads", "2"]);
    // Connect until the RX and the TX sessions land on different loops.
    let s = srv.shared().clone();
    for attempt in 0..50 {
        let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
        let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
        let per_loop: Vec<u32> = s.accounts[0]
            .receivers
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        let before = s.snapshot().counters.receipt_forwarded;
        let id = message_id(&tx.submit(sm(b"cross loop", 1)));
        let d = rx.recv_id(CommandId::DELIVER_SM);
        assert_eq!(receipt_of(&d).0, id);
        rx.auto_answer(&d);
        drop(tx);
        drop(rx);
        assert!(eventually(Duration::from_secs(2), || s
            .snapshot()
            .counters
            .receipt_acked
            > attempt));
        if per_loop.iter().filter(|&&c| c > 0).count() == 1
            && s.snapshot().counters.receipt_forwarded > before
        {
            srv.stop();
            return;
        }
    }
    panic!("never saw the TX and RX on different loops");
}

/// Hundreds of receipts through the loop-to-loop link (bounded channels
/// whose emptied batches are given back for reuse): none lost, none twice.
#[test]
fn many_receipts_cross_loops_all_arrive_once() {
    let srv = server(&["--threads", "2"]);
    let s = srv.shared().clone();
    for _ in 0..50 {
        let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
        let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
        let before = s.snapshot().counters.receipt_forwarded;
        let id = message_id(&tx.submit(sm(b"probe", 1)));
        let d = rx.recv_id(CommandId::DELIVER_SM);
        assert_eq!(receipt_of(&d).0, id);
        rx.auto_answer(&d);
        // Counters are published by each loop as it goes: give it a moment.
        let forwarded = eventually(Duration::from_millis(300), || {
            s.snapshot().counters.receipt_forwarded > before
        });
        if !forwarded {
            continue; // same loop: try another pair of connections
        }
        const N: usize = 600;
        let mut want = std::collections::HashSet::new();
        for _ in 0..N {
            let g = tx.submit(sm(b"many across loops", 1));
            assert_eq!(g.status(), S::ESME_ROK);
            assert!(want.insert(message_id(&g)));
        }
        let mut got = std::collections::HashSet::new();
        while got.len() < N {
            let d = rx
                .recv_timeout(Duration::from_secs(5))
                .expect("every receipt arrives");
            assert_eq!(d.id(), CommandId::DELIVER_SM);
            rx.auto_answer(&d);
            assert!(got.insert(receipt_of(&d).0), "a receipt arrived twice");
        }
        assert_eq!(got, want);
        assert!(eventually(Duration::from_secs(2), || s
            .snapshot()
            .counters
            .receipt_forwarded
            > before + N as u64));
        srv.stop();
        return;
    }
    panic!("never saw the TX and RX on different loops");
}

#[test]
fn two_receivers_share_the_load() {
    let srv = server(&[]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut rx1 = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    let mut rx2 = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    for _ in 0..20 {
        assert_eq!(tx.submit(sm(b"share", 1)).status(), S::ESME_ROK);
    }
    let (mut n1, mut n2) = (0, 0);
    for _ in 0..40 {
        if let Some(d) = rx1.recv_timeout(Duration::from_millis(50)) {
            rx1.auto_answer(&d);
            n1 += 1;
        }
        if let Some(d) = rx2.recv_timeout(Duration::from_millis(50)) {
            rx2.auto_answer(&d);
            n2 += 1;
        }
        if n1 + n2 == 20 {
            break;
        }
    }
    assert_eq!(n1 + n2, 20);
    assert!(n1 >= 5 && n2 >= 5, "round-robin: {n1} vs {n2}");
    srv.stop();
}

#[test]
fn silent_receiver_window_fills_then_receipts_move_to_another_bind() {
    let srv = server(&[
        "--window",
        "4",
        "--response-timer",
        "300ms",
        "--receipt-retry-backoff",
        "50ms",
    ]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    let mut silent = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    for _ in 0..10 {
        assert_eq!(tx.submit(sm(b"win", 1)).status(), S::ESME_ROK);
    }
    // The silent receiver gets exactly its window and nothing more.
    let mut seen = 0;
    while silent.recv_timeout(Duration::from_millis(200)).is_some() {
        seen += 1;
    }
    assert_eq!(seen, 4);
    let s = srv.shared().clone();
    assert_eq!(s.snapshot().counters.receipt_acked, 0);
    // A responsive receiver binds: everything ends up acknowledged there,
    // including the silent one's receipts after their response timer.
    let mut good = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    let mut ids = std::collections::HashSet::new();
    let ok = eventually(Duration::from_secs(5), || {
        while let Some(d) = good.recv_timeout(Duration::from_millis(20)) {
            if d.id() == CommandId::DELIVER_SM {
                ids.insert(receipt_of(&d).0);
            }
            good.auto_answer(&d);
        }
        ids.len() == 10
    });
    assert!(ok, "got {} distinct receipts", ids.len());
    assert!(s.snapshot().counters.receipt_retried >= 4);
    drop(silent);
    srv.stop();
}

#[test]
fn error_status_in_deliver_sm_resp_retries_then_drops() {
    let srv = server(&["--receipt-retries", "2", "--receipt-retry-backoff", "20ms"]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    e.submit(sm(b"retry me", 1));
    for _ in 0..3 {
        let d = e.recv_id(CommandId::DELIVER_SM);
        e.send(&smsc::pdu::Pdu::with_status(
            d.seq(),
            S::ESME_RX_T_APPN,
            Body::DeliverSmResp(Default::default()),
        ));
    }
    assert!(e.recv_timeout(Duration::from_millis(400)).is_none());
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .receipt_dropped_retries
        == 1));
    // A permanent refusal is final at once.
    e.submit(sm(b"reject", 1));
    let d = e.recv_id(CommandId::DELIVER_SM);
    e.send(&smsc::pdu::Pdu::with_status(
        d.seq(),
        S::ESME_RX_P_APPN,
        Body::DeliverSmResp(Default::default()),
    ));
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .receipt_rejected
        == 1));
    srv.stop();
}

#[test]
fn long_messages_of_every_kind_are_accepted() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    // UDH 8-bit and 16-bit references.
    let p1 = [0x05, 0x00, 0x03, 0x11, 0x02, 0x01, b'a', b'b'];
    let p2 = [0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, b'c'];
    for p in [&p1[..], &p2[..]] {
        let v = p.to_vec().leak();
        assert_eq!(
            e.submit(smsc::pdu::Sm {
                esm_class: 0x40,
                short_message: v,
                ..sm(b"", 0)
            })
            .status(),
            S::ESME_ROK
        );
    }
    // SAR TLVs.
    let mut t = TlvBuf::new();
    t.push_u16(Tag::SAR_MSG_REF_NUM, 7);
    t.push_u8(Tag::SAR_TOTAL_SEGMENTS, 2);
    t.push_u8(Tag::SAR_SEGMENT_SEQNUM, 1);
    let t: &'static TlvBuf = Box::leak(Box::new(t));
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            tlvs: t.as_tlvs(),
            ..sm(b"part one", 0)
        })
        .status(),
        S::ESME_ROK
    );
    // message_payload of 2000 octets.
    let mut p = TlvBuf::new();
    p.push(Tag::MESSAGE_PAYLOAD, &[b'x'; 2000]);
    let p: &'static TlvBuf = Box::leak(Box::new(p));
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            tlvs: p.as_tlvs(),
            ..sm(b"", 0)
        })
        .status(),
        S::ESME_ROK
    );
    // UCS2, Latin-1, binary.
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            data_coding: 8,
            ..sm(&[0x04, 0x10, 0x00, 0x41], 0)
        })
        .status(),
        S::ESME_ROK
    );
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            data_coding: 3,
            ..sm(&[0xE9, 0x41], 0)
        })
        .status(),
        S::ESME_ROK
    );
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            data_coding: 4,
            ..sm(&[0xFF, 0x00, 0x80], 0)
        })
        .status(),
        S::ESME_ROK
    );
    // Odd-length UCS2 and both payload fields are refused.
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            data_coding: 8,
            ..sm(&[0x00, 0x41, 0x00], 0)
        })
        .status(),
        S::ESME_RINVMSGLEN
    );
    assert_eq!(
        e.submit(smsc::pdu::Sm {
            tlvs: p.as_tlvs(),
            ..sm(b"also", 0)
        })
        .status(),
        S::ESME_RINVMSGLEN
    );
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(2), || s
        .snapshot()
        .counters
        .submit_segments
        >= 6 + 14));
    srv.stop();
}

#[test]
fn validation_statuses_over_the_wire() {
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let cases: Vec<(smsc::pdu::Sm<'static>, S)> = vec![
        (
            smsc::pdu::Sm {
                destination_addr: b"",
                ..sm(b"x", 0)
            },
            S::ESME_RINVDSTADR,
        ),
        (
            smsc::pdu::Sm {
                source_addr: b"12ab",
                ..sm(b"x", 0)
            },
            S::ESME_RINVSRCADR,
        ),
        (
            smsc::pdu::Sm {
                source_addr_ton: 9,
                ..sm(b"x", 0)
            },
            S::ESME_RINVSRCTON,
        ),
        (
            smsc::pdu::Sm {
                source_addr_npi: 7,
                ..sm(b"x", 0)
            },
            S::ESME_RINVSRCNPI,
        ),
        (
            smsc::pdu::Sm {
                dest_addr_ton: 8,
                ..sm(b"x", 0)
            },
            S::ESME_RINVDSTTON,
        ),
        (
            smsc::pdu::Sm {
                dest_addr_npi: 2,
                ..sm(b"x", 0)
            },
            S::ESME_RINVDSTNPI,
        ),
        (
            smsc::pdu::Sm {
                priority_flag: 4,
                ..sm(b"x", 0)
            },
            S::ESME_RINVPRTFLG,
        ),
        (
            smsc::pdu::Sm {
                registered_delivery: 0x80,
                ..sm(b"x", 0)
            },
            S::ESME_RINVREGDLVFLG,
        ),
        (
            smsc::pdu::Sm {
                esm_class: 0x04,
                ..sm(b"x", 0)
            },
            S::ESME_RINVESMCLASS,
        ),
        (
            smsc::pdu::Sm {
                schedule_delivery_time: b"99999",
                ..sm(b"x", 0)
            },
            S::ESME_RINVSCHED,
        ),
        (
            smsc::pdu::Sm {
                validity_period: b"000001000000000X",
                ..sm(b"x", 0)
            },
            S::ESME_RINVEXPIRY,
        ),
        (
            smsc::pdu::Sm {
                data_coding: 0x30,
                ..sm(b"x", 0)
            },
            S::ESME_RINVDCS,
        ),
    ];
    for (m, want) in cases {
        assert_eq!(e.submit(m).status(), want, "{m:?}");
    }
    // sm_length claiming more than is present.
    let mut bytes = smsc::pdu::Pdu::new(99, Body::SubmitSm(sm(b"abc", 0)))
        .to_vec()
        .unwrap();
    let n = bytes.len();
    bytes[n - 4] = 10;
    e.send_raw(&bytes);
    let r = e.recv_id(CommandId::SUBMIT_SM_RESP);
    assert_eq!((r.status(), r.seq()), (S::ESME_RINVMSGLEN, 99));
    srv.stop();
}

#[test]
fn held_receipts_expire_after_the_ttl_and_are_counted() {
    let srv = server(&["--receipt-ttl", "1s"]);
    let mut tx = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSMITTER);
    assert_eq!(tx.submit(sm(b"expires", 1)).status(), S::ESME_ROK);
    let s = srv.shared().clone();
    assert!(eventually(Duration::from_secs(4), || s
        .snapshot()
        .counters
        .receipt_expired
        == 1));
    let mut rx = Esme::bound(srv.local_addr(), CommandId::BIND_RECEIVER);
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_none());
    srv.stop();
}

#[test]
fn submit_multi_accepts_valid_destinations_and_lists_the_rest() {
    use smsc::pdu::{DestAddress, RawList, SubmitMulti};
    let srv = server(&[]);
    let mut e = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let dests = [
        DestAddress::Sme {
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447700900010",
        },
        DestAddress::Sme {
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"44x",
        },
        DestAddress::DistributionList {
            dl_name: b"friends",
        },
        DestAddress::Sme {
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"447700900011",
        },
    ];
    let mut scratch = Vec::new();
    let list = RawList::build(&dests, &mut scratch).unwrap();
    let m = SubmitMulti {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: b"447700900001",
        dest_addresses: list,
        registered_delivery: 1,
        short_message: b"to many",
        ..Default::default()
    };
    e.request(Body::SubmitMulti(m));
    let r = e.recv_id(CommandId::SUBMIT_MULTI_RESP);
    assert_eq!(r.status(), S::ESME_ROK);
    let p = r.pdu();
    let Body::SubmitMultiResp(resp) = p.body else {
        panic!()
    };
    let failed: Vec<_> = resp
        .unsuccess_smes
        .iter()
        .map(|u| (u.destination_addr.to_vec(), u.error_status_code))
        .collect();
    assert_eq!(
        failed,
        vec![
            (b"44x".to_vec(), S::ESME_RINVDSTADR),
            (b"friends".to_vec(), S::ESME_RINVDLNAME)
        ]
    );
    let id = resp.message_id.to_vec();
    let mut sources = Vec::new();
    for _ in 0..2 {
        let d = e.recv_id(CommandId::DELIVER_SM);
        let (rid, stat, _) = receipt_of(&d);
        assert_eq!((rid, stat), (id.clone(), Stat::Delivrd));
        let Body::DeliverSm(dsm) = d.pdu().body else {
            panic!()
        };
        sources.push(dsm.source_addr.to_vec());
        e.auto_answer(&d);
    }
    sources.sort();
    assert_eq!(
        sources,
        vec![b"447700900010".to_vec(), b"447700900011".to_vec()]
    );
    // number_of_dests 0 is refused.
    let empty = SubmitMulti {
        dest_addresses: RawList::default(),
        ..m
    };
    e.request(Body::SubmitMulti(empty));
    assert_eq!(
        e.recv_id(CommandId::SUBMIT_MULTI_RESP).status(),
        S::ESME_RINVNUMDESTS
    );
    srv.stop();
}

#[test]
fn trx_gets_the_receipts_of_its_own_submits_while_it_has_room() {
    let srv = server(&["--window", "4"]);
    let mut a = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    let mut b = Esme::bound(srv.local_addr(), CommandId::BIND_TRANSCEIVER);
    // Each receipt follows its submit_sm_resp on the same connection.
    for _ in 0..10 {
        let id = message_id(&a.submit(sm(b"mine", 1)));
        let d = a.recv_id(CommandId::DELIVER_SM);
        assert_eq!(receipt_of(&d).0, id);
        a.auto_answer(&d);
    }
    // On the wire the submit_sm_resp always comes first: the ESME knows the
    // message id before its receipt arrives.
    for _ in 0..10 {
        a.request(Body::SubmitSm(sm(b"order", 1)));
        let r = a.recv();
        assert_eq!(r.id(), CommandId::SUBMIT_SM_RESP);
        let d = a.recv();
        assert_eq!(d.id(), CommandId::DELIVER_SM);
        assert_eq!(receipt_of(&d).0, message_id(&r));
        a.auto_answer(&d);
    }
    assert!(b.recv_timeout(Duration::from_millis(200)).is_none());
    // A session that does not acknowledge fills its window; the rest go to
    // the other receiving session.
    for _ in 0..8 {
        a.request(Body::SubmitSm(sm(b"overflow", 1)));
    }
    let mut on_b = 0;
    while let Some(g) = b.recv_timeout(Duration::from_millis(300)) {
        if g.id() == CommandId::DELIVER_SM {
            on_b += 1;
            b.auto_answer(&g);
        }
    }
    assert_eq!(on_b, 4, "window 4 on a, the other 4 on b");
    srv.stop();
}
