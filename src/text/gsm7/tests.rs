//! GSM 7-bit tests: the §16 tables, (un)packing, validation, segments, splitting.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;

#[test]
fn table_spot_checks_from_spec() {
    // Hand-picked cells of smpp34.md §16.
    let cells: &[(u8, char)] = &[
        (0x00, '@'),
        (0x01, '£'),
        (0x02, '$'),
        (0x0A, '\n'),
        (0x0D, '\r'),
        (0x10, 'Δ'),
        (0x11, '_'),
        (0x1C, 'Æ'),
        (0x1F, 'É'),
        (0x20, ' '),
        (0x24, '¤'),
        (0x40, '¡'),
        (0x41, 'A'),
        (0x5B, 'Ä'),
        (0x5F, '§'),
        (0x60, '¿'),
        (0x61, 'a'),
        (0x7F, 'à'),
    ];
    for &(code, ch) in cells {
        assert_eq!(septet_to_char(code), Some(ch), "code {code:#04x}");
        assert_eq!(char_to_septets(ch), Some(Septets::One(code)), "char {ch:?}");
    }
    let ext: &[(u8, char)] = &[
        (0x0A, '\u{0C}'),
        (0x14, '^'),
        (0x28, '{'),
        (0x29, '}'),
        (0x2F, '\\'),
        (0x3C, '['),
        (0x3D, '~'),
        (0x3E, ']'),
        (0x40, '|'),
        (0x65, '€'),
    ];
    for &(code, ch) in ext {
        assert_eq!(ext_to_char(code), Some(ch));
        assert_eq!(char_to_septets(ch), Some(Septets::Escaped(code)));
    }
    assert_eq!(septet_to_char(ESC), None);
    assert_eq!(septet_to_char(0x80), None);
    assert_eq!(ext_to_char(0x41), None);
}

#[test]
fn exactly_137_chars_encodable_and_round_trip() {
    let mut count = 0;
    for cp in 0..=0x10FFFFu32 {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        match char_to_septets(c) {
            None => {}
            Some(Septets::One(v)) => {
                count += 1;
                assert_eq!(septet_to_char(v), Some(c));
            }
            Some(Septets::Escaped(v)) => {
                count += 1;
                assert_eq!(ext_to_char(v), Some(c));
            }
        }
    }
    // 127 basic (128 minus ESC) + 10 extension.
    assert_eq!(count, 137);
    for code in 0u8..128 {
        if code != ESC {
            let c = septet_to_char(code).unwrap();
            assert_eq!(char_to_septets(c), Some(Septets::One(code)));
        }
    }
}

#[test]
fn ascii_lookalikes_not_in_alphabet() {
    assert_eq!(char_to_septets('`'), None);
    assert_eq!(char_to_septets('\t'), None);
    assert_eq!(char_to_septets('\u{2126}'), None); // Ohm sign, not Greek Omega
    assert_eq!(char_to_septets('é'), Some(Septets::One(0x05)));
    assert_eq!(char_to_septets('ç'), None); // only capital Ç is in the table
}

#[test]
fn encode_unpacked_hand_written() {
    let mut out = [0u8; 32];
    let n = encode_unpacked("@£$ Hi€{", &mut out).unwrap();
    assert_eq!(
        &out[..n],
        &[0x00, 0x01, 0x02, 0x20, 0x48, 0x69, 0x1B, 0x65, 0x1B, 0x28]
    );
    assert_eq!(septet_len("@£$ Hi€{"), Some(10));
    assert_eq!(encode_unpacked_to_vec("Ωß").unwrap(), vec![0x15, 0x1E]);
}

#[test]
fn encode_unpacked_errors() {
    let mut out = [0u8; 8];
    assert_eq!(
        encode_unpacked("ab\u{1F600}c", &mut out),
        Err(Gsm7Error::Unencodable { index: 2 })
    );
    assert_eq!(
        encode_unpacked("é`", &mut out),
        Err(Gsm7Error::Unencodable { index: 2 })
    );
    assert_eq!(septet_len("x\u{4E2D}"), None);
    assert_eq!(
        encode_unpacked_to_vec("ok😀"),
        Err(Gsm7Error::Unencodable { index: 2 })
    );
    let mut small = [0u8; 3];
    assert_eq!(
        encode_unpacked("abcd", &mut small),
        Err(Gsm7Error::OutputTooSmall)
    );
    // Escape pair needs two slots even if one is left.
    assert_eq!(
        encode_unpacked("ab€", &mut small),
        Err(Gsm7Error::OutputTooSmall)
    );
    assert_eq!(encode_unpacked("", &mut []), Ok(0));
}

#[test]
fn validate_unpacked_cases() {
    assert_eq!(validate_unpacked(&[]), Ok(0));
    assert_eq!(validate_unpacked(b"hello"), Ok(5));
    assert_eq!(validate_unpacked(&[0x1B, 0x65, 0x1B]), Ok(3));
    assert_eq!(validate_unpacked(&[0x1B, 0x41]), Ok(2)); // unknown ext code tolerated
    assert_eq!(
        validate_unpacked(&[0x41, 0x80]),
        Err(Gsm7Error::InvalidSeptet { index: 1 })
    );
    // High bit at every position of a long buffer, across chunk boundaries.
    for len in [1usize, 31, 32, 33, 64, 100] {
        for bad in 0..len {
            let mut v = vec![0x41u8; len];
            v[bad] = 0xC3;
            assert_eq!(
                validate_unpacked(&v),
                Err(Gsm7Error::InvalidSeptet { index: bad })
            );
            if bad + 1 < len {
                v[bad + 1] = 0xFF; // first one reported
                assert_eq!(
                    validate_unpacked(&v),
                    Err(Gsm7Error::InvalidSeptet { index: bad })
                );
            }
        }
        assert_eq!(validate_unpacked(&vec![0x7F; len]), Ok(len));
    }
}

#[test]
fn decode_unpacked() {
    assert_eq!(
        decode_unpacked_to_string(&[0x00, 0x01, 0x02, 0x1B, 0x65, 0x48, 0x69]).unwrap(),
        "@£$€Hi"
    );
    // ESC + unknown code -> basic char; ESC ESC -> space; trailing ESC dropped.
    assert_eq!(
        decode_unpacked_to_string(&[0x1B, 0x41, 0x1B, 0x1B, 0x42, 0x1B]).unwrap(),
        "A B"
    );
    assert_eq!(
        decode_unpacked_to_string(&[0x41, 0xFF]),
        Err(Gsm7Error::InvalidSeptet { index: 1 })
    );
    assert_eq!(
        count_chars_unpacked(&[0x1B, 0x41, 0x1B, 0x1B, 0x42, 0x1B]),
        3
    );
    assert_eq!(count_chars_unpacked(b"abc"), 3);
    assert_eq!(count_chars_unpacked(&[]), 0);
}

#[test]
fn unpacked_round_trip_all_chars() {
    let s: String = (0u8..128)
        .filter(|&c| c != ESC)
        .filter_map(septet_to_char)
        .chain(EXT.iter().map(|&(_, c)| c))
        .collect();
    let v = encode_unpacked_to_vec(&s).unwrap();
    assert_eq!(v.len(), 127 + 20);
    assert_eq!(decode_unpacked_to_string(&v).unwrap(), s);
}

#[test]
fn pack_known_vectors() {
    let mut out = [0u8; 16];
    // Widely published example (e.g. 3GPP/Wikipedia "hellohello").
    let n = pack(b"hellohello", &mut out).unwrap();
    assert_eq!(
        &out[..n],
        &[0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]
    );
    // "hello": h=0x68 e=0x65 l=0x6C l=0x6C o=0x6F, worked by hand:
    // 1101000 | 1100101<<7 | ... -> E8 32 9B FD 06
    let n = pack(b"hello", &mut out).unwrap();
    assert_eq!(&out[..n], &[0xE8, 0x32, 0x9B, 0xFD, 0x06]);
    // Eight septets fill exactly seven octets: "12345678".
    // '1'=0x31 '2'=0x32 ... worked by hand -> 31 D9 8C 56 B3 DD 70
    let n = pack(b"12345678", &mut out).unwrap();
    assert_eq!(&out[..n], &[0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70]);
    // All-ones septets: bits are all set except the 1 spare bit.
    // Seven all-ones septets = 49 bits: six full octets and one bit.
    let n = pack(&[0x7F; 7], &mut out).unwrap();
    assert_eq!(&out[..n], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
    // Eight all-ones septets = 56 bits: exactly seven full octets.
    let n = pack(&[0x7F; 8], &mut out).unwrap();
    assert_eq!(&out[..n], &[0xFF; 7]);
    assert_eq!(pack(&[], &mut []), Ok(0));
}

#[test]
fn pack_errors() {
    let mut out = [0u8; 16];
    assert_eq!(
        pack(&[0x41, 0x80], &mut out),
        Err(Gsm7Error::InvalidSeptet { index: 1 })
    );
    let mut small = [0u8; 8];
    assert_eq!(
        pack(b"hellohello", &mut small),
        Err(Gsm7Error::OutputTooSmall)
    );
}

#[test]
fn unpack_known_vectors_and_errors() {
    let packed = [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37];
    let mut out = [0u8; 16];
    let n = unpack(&packed, 10, &mut out).unwrap();
    assert_eq!(&out[..n], b"hellohello");
    // Septet count decides: 9 septets from the same octets.
    let n = unpack(&packed, 9, &mut out).unwrap();
    assert_eq!(&out[..n], b"hellohell");
    assert_eq!(
        unpack(&packed, 11, &mut out),
        Err(Gsm7Error::PackedTooShort)
    );
    assert_eq!(
        unpack(&packed[..8], 10, &mut out),
        Err(Gsm7Error::PackedTooShort)
    );
    let mut small = [0u8; 9];
    assert_eq!(
        unpack(&packed, 10, &mut small),
        Err(Gsm7Error::OutputTooSmall)
    );
    assert_eq!(
        unpack(&[], usize::MAX, &mut out),
        Err(Gsm7Error::PackedTooShort)
    );
    assert_eq!(unpack(&[], 0, &mut []), Ok(0));
}

#[test]
fn pack_unpack_round_trip_all_lengths() {
    let mut seed = 0x1234_5678u32;
    for len in 0..200usize {
        let septets: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed & 0x7F) as u8
            })
            .collect();
        let mut packed = vec![0u8; packed_len(len).unwrap()];
        assert_eq!(
            pack(&septets, &mut packed),
            Ok(len * 7 / 8 + usize::from(len % 8 != 0))
        );
        let mut back = vec![0u8; len];
        assert_eq!(unpack(&packed, len, &mut back), Ok(len));
        assert_eq!(back, septets, "len {len}");
    }
}

#[test]
fn segment_counts() {
    assert_eq!(segments(0, false), 1);
    assert_eq!(segments(160, false), 1);
    assert_eq!(segments(161, false), 2);
    assert_eq!(segments(306, false), 2);
    assert_eq!(segments(307, false), 3);
    assert_eq!(segments(304, true), 2);
    assert_eq!(segments(305, true), 3);
}

#[test]
fn split_never_breaks_escape_pair() {
    // 152 'a' then '€' (ESC 0x65): the pair would straddle 153.
    let mut v = vec![b'a'; 152];
    v.extend_from_slice(&[ESC, 0x65]);
    v.extend_from_slice(b"bc");
    let parts: Vec<_> = split_points(&v, 153).collect();
    assert_eq!(parts, vec![(0, 152), (152, 156)]);
    // Exactly fitting pair stays.
    let mut w = vec![b'a'; 151];
    w.extend_from_slice(&[ESC, 0x65, b'z']);
    let parts: Vec<_> = split_points(&w, 153).collect();
    assert_eq!(parts, vec![(0, 153), (153, 154)]);
    // ESC ESC is a pair too; a lone trailing ESC is one septet.
    let x = [ESC, ESC, ESC];
    assert_eq!(
        split_points(&x, 2).collect::<Vec<_>>(),
        vec![(0, 2), (2, 3)]
    );
    assert_eq!(split_points(&[], 153).count(), 0);
    // per_part 0/1 still terminates and keeps pairs.
    assert_eq!(
        split_points(&[ESC, 0x65, b'a'], 0).collect::<Vec<_>>(),
        vec![(0, 2), (2, 3)]
    );
}

#[test]
fn split_covers_input_contiguously() {
    let mut v = Vec::new();
    for i in 0..500u32 {
        if i % 7 == 0 {
            v.extend_from_slice(&[ESC, 0x28]);
        } else {
            v.push(b'x');
        }
    }
    for per in [2usize, 3, 152, 153, 160] {
        let mut expect_start = 0;
        for (s, e) in split_points(&v, per) {
            assert_eq!(s, expect_start);
            assert!(e > s && e - s <= per);
            // A part never ends right after an ESC that starts a pair.
            let part = &v[s..e];
            assert!(decode_unpacked_to_string(part)
                .unwrap()
                .chars()
                .all(|c| c == 'x' || c == '{'));
            expect_start = e;
        }
        assert_eq!(expect_start, v.len());
    }
}
