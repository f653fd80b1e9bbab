//! Replays every input kept in `fuzz/corpus_regressions/` through the same
//! checks the libFuzzer target runs (`fuzz/check.rs`): no panic, framing
//! consistent with the header, decode and encode allocation-free, and
//! decode -> encode -> decode is the identity (octet-exact for requests).
//!
//! The fuzz crate needs nightly; this test keeps its findings on stable.
//! `cargo test --test codec_regressions -- --ignored` also writes a seed
//! corpus for a new fuzzing campaign into `fuzz/corpus/decode/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/check.rs"]
mod check;

#[global_allocator]
static ALLOC: check::CountingAlloc = check::CountingAlloc;

use check::Outcome;
use smsc::pdu::{
    Bind, BindResp, Body, CommandId, CommandStatus, DataSm, DestAddress, MessageIdResp, Pdu,
    QuerySm, RawList, Sm, SubmitMulti, SubmitMultiResp, Tag, TlvBuf, Tlvs, UnsuccessSme,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus_regressions")
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir())
        .expect("fuzz/corpus_regressions exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_kept_input_passes_the_fuzz_properties() {
    let files = corpus();
    assert!(files.len() >= 20, "corpus_regressions has {}", files.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (name, data) in &files {
        let outcome = std::panic::catch_unwind(|| check::check(data))
            .unwrap_or_else(|_| panic!("fuzz/corpus_regressions/{name} failed"));
        let key = match outcome {
            Outcome::Decoded(id) => format!("decoded {id:?}"),
            Outcome::Rejected(_, st) => format!("rejected {st:?}"),
            other => format!("{other:?}"),
        };
        *seen.entry(key).or_default() += 1;
    }
    // The kept corpus exercises every command the codec knows and a range
    // of refusals; losing that coverage should be a visible change.
    let decoded = seen.keys().filter(|k| k.starts_with("decoded")).count();
    assert!(decoded >= CommandId::ALL.len(), "{seen:#?}");
    let rejected = seen.keys().filter(|k| k.starts_with("rejected")).count();
    assert!(rejected >= 5, "{seen:#?}");
}

/// Each kept file named `<command>-...` decodes as that command (or, for
/// `err-<STATUS>-...`, is refused with that status): the corpus documents
/// itself and a change of behaviour names the file.
#[test]
fn kept_inputs_keep_their_meaning() {
    for (name, data) in corpus() {
        let Some(frame) = smsc::pdu::check_frame(&data, smsc::pdu::DEFAULT_MAX_PDU_BYTES)
            .ok()
            .and_then(|f| match f {
                smsc::pdu::Frame::Complete(n) => Some(&data[..n]),
                _ => None,
            })
        else {
            assert!(name.starts_with("frame-"), "{name}: not a complete frame");
            continue;
        };
        let got = smsc::pdu::decode(frame);
        if let Some(rest) = name.strip_prefix("err-") {
            let status = rest.split('-').next().unwrap();
            let e = got.expect_err(&name);
            assert_eq!(format!("{:?}", e.status), status, "{name}");
        } else if !name.starts_with("frame-") && !name.starts_with("seed-") {
            let cmd = name.split('-').next().unwrap();
            let p = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(format!("{:?}", p.header.command_id), cmd, "{name}");
        }
    }
}

/// Writes a seed corpus (the codec's own examples of every PDU) for a new
/// fuzzing campaign into `fuzz/corpus/decode/`.
#[test]
#[ignore = "writes files; run by hand before fuzzing"]
fn write_seed_corpus() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
    std::fs::create_dir_all(&out).unwrap();
    let mut tlvs = TlvBuf::new();
    tlvs.push_u16(Tag::SAR_MSG_REF_NUM, 0x0102);
    tlvs.push_u8(Tag::SAR_TOTAL_SEGMENTS, 2);
    tlvs.push_u8(Tag::SAR_SEGMENT_SEQNUM, 1);
    tlvs.push(Tag(0x1500), b"vendor");
    tlvs.push(Tag::MESSAGE_PAYLOAD, b"payload");
    tlvs.push_cstr(Tag::RECEIPTED_MESSAGE_ID, b"abc");
    let t = tlvs.as_tlvs();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let dests = RawList::build(
        &[
            DestAddress::Sme {
                dest_addr_ton: 1,
                dest_addr_npi: 1,
                destination_addr: b"4477",
            },
            DestAddress::DistributionList { dl_name: b"dl" },
        ],
        &mut a,
    )
    .unwrap();
    let uns = RawList::build(
        &[UnsuccessSme {
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            destination_addr: b"4478",
            error_status_code: CommandStatus::ESME_RINVDSTADR,
        }],
        &mut b,
    )
    .unwrap();
    let bind = Bind {
        system_id: b"esme",
        password: b"pw",
        system_type: b"",
        interface_version: 0x34,
        addr_ton: 0,
        addr_npi: 0,
        address_range: b"",
    };
    let sm = Sm {
        source_addr: b"447700900001",
        destination_addr: b"447700900002",
        short_message: b"hello",
        tlvs: t,
        ..Sm::default()
    };
    let bodies = [
        Body::BindTransceiver(bind),
        Body::BindTransceiverResp(BindResp {
            system_id: b"smsc",
            tlvs: t,
        }),
        Body::SubmitSm(sm),
        Body::DeliverSm(Sm { esm_class: 4, ..sm }),
        Body::SubmitSmResp(MessageIdResp { message_id: b"id1" }),
        Body::SubmitMulti(SubmitMulti {
            source_addr: b"1",
            dest_addresses: dests,
            short_message: b"hi",
            tlvs: t,
            ..SubmitMulti::default()
        }),
        Body::SubmitMultiResp(SubmitMultiResp {
            message_id: b"m",
            unsuccess_smes: uns,
        }),
        Body::DataSm(DataSm {
            source_addr: b"1",
            destination_addr: b"2",
            tlvs: t,
            ..DataSm::default()
        }),
        Body::QuerySm(QuerySm {
            message_id: b"q",
            source_addr_ton: 1,
            source_addr_npi: 1,
            source_addr: b"1",
        }),
        Body::EnquireLink,
        Body::Unbind,
        Body::GenericNack,
        Body::BindReceiverResp(BindResp {
            system_id: b"",
            tlvs: Tlvs::EMPTY,
        }),
    ];
    let mut stream = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let bytes = Pdu::new(i as u32 + 1, body).to_vec().unwrap();
        stream.extend_from_slice(&bytes);
        std::fs::write(out.join(format!("seed-{i:02}")), bytes).unwrap();
    }
    std::fs::write(out.join("seed-stream"), stream).unwrap();
}

/// After a fuzzing campaign: replays `fuzz/corpus/decode/` (where libFuzzer
/// keeps the inputs that found new coverage) through the checks and copies
/// into `fuzz/corpus_regressions/` the smallest (and, for what decodes, the
/// largest) input of each kind not kept yet: each command decoded, each
/// (status, command) refusal, a bad frame, an incomplete one, and a
/// pipelined stream of several PDUs.
#[test]
#[ignore = "writes files; run by hand after fuzzing"]
fn promote_from_fuzz_corpus() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
    let kept: std::collections::BTreeSet<String> = corpus()
        .into_iter()
        .map(|(name, _)| name.rsplit_once('-').unwrap().0.to_string())
        .collect();
    let mut best: BTreeMap<String, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    let mut inputs = 0;
    for e in std::fs::read_dir(&from).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        inputs += 1;
        let outcome = check::check(&data);
        let name = |id: CommandId| id.name().unwrap_or("unknown").to_string();
        let mut kinds = vec![match outcome {
            Outcome::Decoded(id) => name(id),
            Outcome::Rejected(id, st) => format!("err-{st:?}-{}", name(id)),
            Outcome::Incomplete => "frame-incomplete".into(),
            Outcome::BadFrame => "frame-badlen".into(),
        }];
        if frames_decoded(&data) >= 2 {
            kinds.push("frame-stream".into());
        }
        for kind in kinds {
            let slot = best
                .entry(kind)
                .or_insert_with(|| (data.clone(), data.clone()));
            if data.len() < slot.0.len() {
                slot.0 = data.clone();
            }
            if data.len() > slot.1.len() {
                slot.1 = data.clone();
            }
        }
    }
    let mut written = 0;
    for (kind, (small, large)) in best {
        if kept.contains(&kind) {
            continue;
        }
        // Refusals keep their smallest example; decodes also their largest.
        let mut keep = vec![("s", small.clone())];
        if large != small && !kind.starts_with("err-") {
            keep.push(("l", large));
        }
        for (tag, data) in keep {
            let path = dir().join(format!("{kind}-{tag}{:016x}", fnv(&data)));
            std::fs::write(path, &data).unwrap();
            written += 1;
        }
    }
    println!("{inputs} inputs replayed, {written} files written");
}

fn frames_decoded(mut data: &[u8]) -> usize {
    let mut n = 0;
    while let Ok(smsc::pdu::Frame::Complete(len)) =
        smsc::pdu::check_frame(data, smsc::pdu::DEFAULT_MAX_PDU_BYTES)
    {
        if smsc::pdu::decode(&data[..len]).is_err() {
            break;
        }
        n += 1;
        data = &data[len..];
    }
    n
}

/// A stable content hash for file names.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
