//! Receipt text tests: the spec example, truncation, tolerant parsing of real receipts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;

fn date(year: u16, month: u8, day: u8, hour: u8, minute: u8) -> Ymdhm {
    Ymdhm {
        year,
        month,
        day,
        hour,
        minute,
    }
}

fn spec_receipt() -> Receipt<'static> {
    Receipt {
        id: b"4f2a91c07e",
        sub: 1,
        dlvrd: 1,
        submit_date: date(2024, 5, 6, 14, 22).to_digits(),
        done_date: date(2024, 5, 6, 14, 23).to_digits(),
        stat: Stat::Delivrd,
        err: 0,
        text: b"hello world",
    }
}

const SPEC_TEXT: &[u8] = b"id:4f2a91c07e sub:001 dlvrd:001 submit date:2405061422 \
done date:2405061423 stat:DELIVRD err:000 text:hello world";

#[test]
fn spec_example_byte_exact() {
    let r = spec_receipt();
    let mut out = [0u8; MAX_LEN];
    let n = r.write(&mut out).unwrap();
    assert_eq!(&out[..n], SPEC_TEXT);
    assert_eq!(r.encoded_len(), SPEC_TEXT.len());
    assert_eq!(r.to_vec(), SPEC_TEXT.to_vec());
}

#[test]
fn text_truncated_numbers_padded() {
    let r = Receipt {
        id: b"1",
        sub: 12,
        dlvrd: 0,
        submit_date: date(1999, 12, 31, 23, 59).to_digits(),
        done_date: date(2000, 1, 1, 0, 0).to_digits(),
        stat: Stat::Undeliv,
        err: 1234,
        text: b"0123456789abcdefghijKLMNOP",
    };
    assert_eq!(
        r.to_vec(),
        b"id:1 sub:012 dlvrd:000 submit date:9912312359 done date:0001010000 \
stat:UNDELIV err:1234 text:0123456789abcdefghij"
            .to_vec()
    );
    let r = Receipt {
        sub: 65535,
        text: b"",
        err: 7,
        ..r
    };
    assert_eq!(
        r.to_vec(),
        b"id:1 sub:65535 dlvrd:000 submit date:9912312359 done date:0001010000 \
stat:UNDELIV err:007 text:"
            .to_vec()
    );
}

#[test]
fn max_len_is_tight_and_fits_short_message() {
    let id = [b'f'; MAX_ID_LEN];
    let r = Receipt {
        id: &id,
        sub: u16::MAX,
        dlvrd: u16::MAX,
        submit_date: date(2024, 5, 6, 14, 22).to_digits(),
        done_date: date(2024, 5, 6, 14, 23).to_digits(),
        stat: Stat::Acceptd,
        err: u16::MAX,
        text: &[b'x'; 40],
    };
    assert_eq!(r.encoded_len(), MAX_LEN);
    let mut out = [0u8; MAX_LEN];
    assert_eq!(r.write(&mut out), Ok(MAX_LEN));
    assert_eq!(MAX_LEN, 182);
}

#[test]
fn output_too_small_at_every_length() {
    let r = spec_receipt();
    let full = SPEC_TEXT.len();
    for len in 0..full {
        let mut out = vec![0xAAu8; len];
        assert_eq!(
            r.write(&mut out),
            Err(DlrError::OutputTooSmall),
            "len {len}"
        );
    }
    let mut out = vec![0u8; full];
    assert_eq!(r.write(&mut out), Ok(full));
}

#[test]
fn stat_words_and_states() {
    let all = [
        (Stat::Enroute, "ENROUTE", 1),
        (Stat::Delivrd, "DELIVRD", 2),
        (Stat::Expired, "EXPIRED", 3),
        (Stat::Deleted, "DELETED", 4),
        (Stat::Undeliv, "UNDELIV", 5),
        (Stat::Acceptd, "ACCEPTD", 6),
        (Stat::Unknown, "UNKNOWN", 7),
        (Stat::Rejectd, "REJECTD", 8),
    ];
    for (s, w, n) in all {
        assert_eq!(s.as_str(), w);
        assert_eq!(w.len(), 7);
        assert_eq!(s.message_state(), n);
        assert_eq!(Stat::from_message_state(n), Some(s));
        assert_eq!(Stat::from_str_ci(w.as_bytes()), Some(s));
        assert_eq!(Stat::from_str_ci(w.to_lowercase().as_bytes()), Some(s));
    }
    assert_eq!(Stat::from_str_ci(b"Delivered"), Some(Stat::Delivrd));
    assert_eq!(Stat::from_str_ci(b"UNDELIVERABLE"), Some(Stat::Undeliv));
    assert_eq!(Stat::from_str_ci(b"DELIVR"), None);
    assert_eq!(Stat::from_str_ci(b""), None);
    assert_eq!(Stat::from_message_state(0), None);
    assert_eq!(Stat::from_message_state(9), None);
    assert!(!Stat::Enroute.is_final() && Stat::Delivrd.is_final());
}

#[test]
fn parse_own_output() {
    let p = parse(SPEC_TEXT).unwrap();
    assert_eq!(
        p,
        ParsedReceipt {
            id: b"4f2a91c07e",
            sub: Some(1),
            dlvrd: Some(1),
            submit_date: Some(b"2405061422"),
            done_date: Some(b"2405061423"),
            stat: Some(Stat::Delivrd),
            err: Some(b"000"),
            text: Some(b"hello world"),
        }
    );
}

#[test]
fn parse_jasmin_style_missing_fields() {
    let t = b"id:5a1e3b7c-0c3f-4a8e-bf50-2c1d9a6e4f21 submit date:1906061505 \
done date:1906061506 stat:DELIVRD err:000";
    let p = parse(t).unwrap();
    assert_eq!(p.id, b"5a1e3b7c-0c3f-4a8e-bf50-2c1d9a6e4f21");
    assert_eq!(p.sub, None);
    assert_eq!(p.dlvrd, None);
    assert_eq!(p.text, None);
    assert_eq!(p.submit_date, Some(&b"1906061505"[..]));
    assert_eq!(p.done_date, Some(&b"1906061506"[..]));
    assert_eq!(p.stat, Some(Stat::Delivrd));
    assert_eq!(p.err, Some(&b"000"[..]));
}

#[test]
fn parse_twelve_digit_dates_and_uppercase_text() {
    let t = b"id:0123456789 sub:001 dlvrd:001 submit date:171205142233 \
done date:171205142235 stat:DELIVRD err:000 Text:Hello World: id:x";
    let p = parse(t).unwrap();
    assert_eq!(p.id, b"0123456789");
    assert_eq!(p.submit_date, Some(&b"171205142233"[..]));
    assert_eq!(p.done_date, Some(&b"171205142235"[..]));
    // Text runs to end of line, including things that look like fields.
    assert_eq!(p.text, Some(&b"Hello World: id:x"[..]));
    assert_eq!(
        parse_date(p.done_date.unwrap()),
        Some(Ymdhms {
            year: 2017,
            month: 12,
            day: 5,
            hour: 14,
            minute: 22,
            second: 35
        })
    );
}

#[test]
fn parse_hex_id_and_mixed_case_keys() {
    let id = b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let mut t = Vec::new();
    t.extend_from_slice(b"ID:");
    t.extend_from_slice(id);
    t.extend_from_slice(
        b"  SUB:001\tDLVRD:000 Submit Date:2405061422 DONE DATE:2405061423 Stat:undeliv ERR:0x1F",
    );
    let p = parse(&t).unwrap();
    assert_eq!(p.id, id);
    assert_eq!(p.sub, Some(1));
    assert_eq!(p.dlvrd, Some(0));
    assert_eq!(p.submit_date, Some(&b"2405061422"[..]));
    assert_eq!(p.done_date, Some(&b"2405061423"[..]));
    assert_eq!(p.stat, Some(Stat::Undeliv));
    assert_eq!(p.err, Some(&b"0x1F"[..]));
    assert_eq!(p.text, None);
}

#[test]
fn parse_tolerates_junk_and_bad_values() {
    let t = b"garbage id:42 sub:abc dlvrd:99999 submit date:24050614 done date:2405061423xx \
stat:WHATEVER err: text:\r\nid:43 sub:007";
    let p = parse(t).unwrap();
    assert_eq!(p.id, b"42"); // first id wins
    assert_eq!(p.sub, Some(7)); // "abc" unparsable: the first valid one wins
    assert_eq!(p.dlvrd, None); // 99999 > u16::MAX
    assert_eq!(p.submit_date, None); // 8 digits
    assert_eq!(p.done_date, None); // trailing junk
    assert_eq!(p.stat, None);
    assert_eq!(p.err, None);
    assert_eq!(p.text, Some(&b""[..]));
    // underscore variants
    let p = parse(b"id:1 submit_date:2405061422 done_date:240506142359").unwrap();
    assert_eq!(p.submit_date, Some(&b"2405061422"[..]));
    assert_eq!(p.done_date, Some(&b"240506142359"[..]));
}

#[test]
fn parse_requires_id() {
    assert_eq!(parse(b""), None);
    assert_eq!(parse(b"   "), None);
    assert_eq!(parse(b"sub:001 dlvrd:001 stat:DELIVRD"), None);
    assert_eq!(parse(b"id: sub:001"), None); // empty id
    assert_eq!(parse(b"xid:5 stat:DELIVRD"), None); // not at token start
    assert!(parse(b"id:5").is_some());
}

#[test]
fn parse_never_panics_on_noise() {
    let mut seed = 0x9E37_79B9u32;
    let words: [&[u8]; 10] = [
        b"id:",
        b"sub:",
        b"dlvrd:",
        b"submit date:",
        b"done date:",
        b"stat:",
        b"err:",
        b"text:",
        b" ",
        b"\n",
    ];
    let mut hits = 0;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for _ in 0..20_000 {
        let mut v = Vec::new();
        for _ in 0..(next() % 12) {
            let seed = next();
            if seed % 3 == 0 {
                v.extend_from_slice(words[(seed >> 8) as usize % words.len()]);
            } else {
                v.push((seed >> 16) as u8);
            }
        }
        if let Some(p) = parse(&v) {
            hits += 1;
            assert!(!p.id.is_empty());
            assert!(!p.id.iter().any(|&b| is_space(b)));
        }
    }
    assert!(hits > 0);
}

#[test]
fn parse_date_forms() {
    let d = |y, mo, d, h, mi, s| Ymdhms {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
    };
    assert_eq!(parse_date(b"2405061422"), Some(d(2024, 5, 6, 14, 22, 0)));
    assert_eq!(parse_date(b"240506142259"), Some(d(2024, 5, 6, 14, 22, 59)));
    assert_eq!(
        parse_date(b"20240506142259"),
        Some(d(2024, 5, 6, 14, 22, 59))
    );
    assert_eq!(parse_date(b"9912312359"), Some(d(1999, 12, 31, 23, 59, 0)));
    assert_eq!(parse_date(b"2402291200"), Some(d(2024, 2, 29, 12, 0, 0)));
    assert_eq!(parse_date(b"2302291200"), None); // not a leap year
    assert_eq!(parse_date(b"2413061422"), None);
    assert_eq!(parse_date(b"2405061460"), None);
    assert_eq!(parse_date(b"240506142260"), None);
    assert_eq!(parse_date(b"24050614x2"), None);
    assert_eq!(parse_date(b"24050614"), None);
    assert_eq!(parse_date(b""), None);
}

#[test]
fn ymdhm_digits() {
    assert_eq!(&date(2024, 5, 6, 14, 22).to_digits(), b"2405061422");
    assert_eq!(&date(2000, 1, 2, 3, 4).to_digits(), b"0001020304");
    // Out-of-range values keep the layout.
    assert_eq!(&date(2024, 255, 6, 14, 22).to_digits(), b"2455061422");
}
