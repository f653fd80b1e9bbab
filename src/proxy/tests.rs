#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use std::io::Cursor;

const SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// A v2 header: PROXY (or LOCAL) over TCP/IPv4, with `tlvs` after the
/// addresses.
fn v2_tcp4(local: bool, src: [u8; 4], sport: u16, tlvs: &[u8]) -> Vec<u8> {
    let mut h = SIG.to_vec();
    h.push(if local { 0x20 } else { 0x21 });
    h.push(0x11); // AF_INET, STREAM
    h.extend_from_slice(&(12 + tlvs.len() as u16).to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&[10, 0, 0, 1]);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&2775u16.to_be_bytes());
    h.extend_from_slice(tlvs);
    h
}

/// A socket that holds `data`, of which `arrived` octets have come;
/// `eof`: the peer has closed (a read past what arrived gives 0).
struct Sock {
    data: Cursor<Vec<u8>>,
    arrived: usize,
    eof: bool,
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.data.position() as usize;
        let n = buf.len().min(self.arrived.saturating_sub(pos));
        self.data.read(&mut buf[..n])
    }
}

impl Peek for Sock {
    fn peek(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.data.position() as usize;
        let avail = self.arrived.saturating_sub(pos);
        if avail == 0 {
            return if self.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(avail);
        buf[..n].copy_from_slice(&self.data.get_ref()[pos..pos + n]);
        Ok(n)
    }
}

fn sock(data: &[u8], arrived: usize, eof: bool) -> Sock {
    Sock {
        data: Cursor::new(data.to_vec()),
        arrived,
        eof,
    }
}

#[test]
fn v1_names_the_client_and_its_length() {
    let h = b"PROXY TCP4 192.0.2.7 10.0.0.1 40001 2775\r\n";
    let mut input = h.to_vec();
    input.extend_from_slice(b"\0\0\0\x2f"); // an SMPP header follows
    assert_eq!(
        parse(&input),
        Parsed::Header {
            len: h.len(),
            client: Some("192.0.2.7:40001".parse().unwrap())
        }
    );
    let h6 = b"PROXY TCP6 2001:db8::5 2001:db8::1 40002 2775\r\n";
    assert_eq!(
        parse(h6),
        Parsed::Header {
            len: h6.len(),
            client: Some("[2001:db8::5]:40002".parse().unwrap())
        }
    );
    assert_eq!(
        parse(b"PROXY UNKNOWN\r\n"),
        Parsed::Header {
            len: 15,
            client: None
        }
    );
}

#[test]
fn v2_proxy_names_the_client_and_local_names_none() {
    let h = v2_tcp4(false, [198, 51, 100, 9], 50000, &[]);
    let mut input = h.clone();
    input.extend_from_slice(&[0, 0, 0, 16, 0, 0, 0, 0x15]);
    assert_eq!(
        parse(&input),
        Parsed::Header {
            len: h.len(),
            client: Some("198.51.100.9:50000".parse().unwrap())
        }
    );
    // TLVs (here a NOOP of 3 octets) are part of the header's length.
    let t = v2_tcp4(false, [198, 51, 100, 9], 50000, &[0x04, 0, 3, 1, 2, 3]);
    assert_eq!(
        parse(&t),
        Parsed::Header {
            len: t.len(),
            client: Some("198.51.100.9:50000".parse().unwrap())
        }
    );
    // A health check of the balancer: LOCAL, the proxy's own address stays.
    let l = v2_tcp4(true, [0, 0, 0, 0], 0, &[]);
    assert_eq!(
        parse(&l),
        Parsed::Header {
            len: l.len(),
            client: None
        }
    );
    // The crate's own builder agrees.
    let addrs: v2::Addresses = (
        "203.0.113.4:1234".parse::<SocketAddr>().unwrap(),
        "10.0.0.1:2775".parse::<SocketAddr>().unwrap(),
    )
        .into();
    let b = v2::Builder::with_addresses(
        v2::Version::Two | v2::Command::Proxy,
        v2::Protocol::Stream,
        addrs,
    )
    .build()
    .unwrap();
    assert_eq!(
        parse(&b),
        Parsed::Header {
            len: b.len(),
            client: Some("203.0.113.4:1234".parse().unwrap())
        }
    );
}

#[test]
fn every_prefix_of_a_header_is_incomplete_and_garbage_is_invalid() {
    let v1 = b"PROXY TCP4 192.0.2.7 10.0.0.1 40001 2775\r\n".to_vec();
    let v2 = v2_tcp4(false, [198, 51, 100, 9], 50000, &[0x04, 0, 2, 9, 9]);
    for h in [&v1, &v2] {
        for cut in 1..h.len() {
            assert_eq!(
                parse(&h[..cut]),
                Parsed::Incomplete,
                "cut at {cut} of {h:?}"
            );
        }
    }
    // An SMPP bind where a header should be: refused, not waited for.
    let bind = [0u8, 0, 0, 0x27, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0, 1];
    assert!(matches!(parse(&bind), Parsed::Invalid(_)));
    assert!(matches!(
        parse(b"PROXY TCP4 999.0.2.7 10.0.0.1 1 2\r\n"),
        Parsed::Invalid(_)
    ));
    assert!(matches!(parse(b"GET / HTTP/1.1\r\n"), Parsed::Invalid(_)));
}

#[test]
fn a_header_longer_than_the_bound_is_invalid() {
    // A v2 header announcing 2000 octets of TLVs: never read to its end.
    let mut h = SIG.to_vec();
    h.extend_from_slice(&[0x21, 0x11]);
    h.extend_from_slice(&2012u16.to_be_bytes());
    h.resize(MAX_HEADER, 0);
    assert!(matches!(parse(&h), Parsed::Invalid(_)));
    assert_eq!(parse(&h[..MAX_HEADER - 1]), Parsed::Incomplete);
}

#[test]
fn read_header_takes_only_the_header_and_waits_for_the_rest() {
    let h = v2_tcp4(false, [198, 51, 100, 9], 50000, &[]);
    let mut data = h.clone();
    data.extend_from_slice(b"SMPP");
    let mut s = sock(&data, 5, false);
    let mut scratch = [0u8; MAX_HEADER];
    assert_eq!(read_header(&mut s, &mut scratch), Step::Wait);
    assert_eq!(s.data.position(), 0, "nothing consumed while incomplete");
    s.arrived = h.len() + 4;
    assert_eq!(
        read_header(&mut s, &mut scratch),
        Step::Done(Some("198.51.100.9:50000".parse().unwrap()))
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(
        rest, b"SMPP",
        "what follows the header stays for the transport"
    );
}

#[test]
fn read_header_closes_on_eof_and_garbage_and_waits_on_nothing() {
    let mut scratch = [0u8; MAX_HEADER];
    assert!(matches!(
        read_header(&mut sock(b"", 0, true), &mut scratch),
        Step::Close(_)
    ));
    assert_eq!(
        read_header(&mut sock(b"", 0, false), &mut scratch),
        Step::Wait
    );
    let bind = b"\0\0\0\x10\0\0\0\x15\0\0\0\0\0\0\0\x01";
    assert!(matches!(
        read_header(&mut sock(bind, 16, false), &mut scratch),
        Step::Close(_)
    ));
}

#[test]
fn only_trusted_sources_are_expected_to_send_a_header() {
    let trusted = [
        Cidr::parse("10.1.0.0/16").unwrap(),
        Cidr::parse("::1").unwrap(),
    ];
    assert!(expected_from(&trusted, "10.1.2.3:5000".parse().unwrap()));
    assert!(expected_from(&trusted, "[::1]:5000".parse().unwrap()));
    assert!(!expected_from(&trusted, "10.2.0.1:5000".parse().unwrap()));
    assert!(!expected_from(&[], "10.1.2.3:5000".parse().unwrap()));
}

#[test]
fn a_v1_line_without_its_end_is_refused_at_107_octets() {
    let mut line = b"PROXY TCP4 ".to_vec();
    line.resize(106, b'1');
    assert_eq!(parse(&line), Parsed::Incomplete);
    line.push(b'1');
    assert!(matches!(parse(&line), Parsed::Invalid(_)));
}

/// Hostile input: random octets, and valid headers with octets changed,
/// cut or extended, never panic and never claim more than was given.
#[test]
fn random_and_mangled_input_never_panics_nor_overreaches() {
    let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = [
        b"PROXY TCP4 192.0.2.7 10.0.0.1 40001 2775\r\n".to_vec(),
        b"PROXY TCP6 2001:db8::5 2001:db8::1 40002 2775\r\n".to_vec(),
        b"PROXY UNKNOWN\r\n".to_vec(),
        v2_tcp4(false, [198, 51, 100, 9], 50000, &[0x04, 0, 2, 9, 9]),
        v2_tcp4(true, [0, 0, 0, 0], 0, &[]),
    ];
    let mut scratch = [0u8; MAX_HEADER];
    for i in 0..20_000 {
        let mut input = if i % 4 == 0 {
            let n = rng.index(MAX_HEADER + 64);
            (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>()
        } else {
            seeds[rng.index(seeds.len())].clone()
        };
        for _ in 0..rng.index(4) {
            if !input.is_empty() {
                let at = rng.index(input.len());
                input[at] = rng.next() as u8;
            }
        }
        match rng.index(3) {
            0 => input.truncate(rng.index(input.len() + 1)),
            1 => input.extend((0..rng.index(40)).map(|_| rng.next() as u8)),
            _ => {}
        }
        if let Parsed::Header { len, .. } = parse(&input) {
            assert!(
                len > 0 && len <= input.len() && len <= MAX_HEADER,
                "{input:?}"
            );
        }
        let arrived = input.len();
        let mut s = sock(&input, arrived, true);
        if let Step::Done(_) = read_header(&mut s, &mut scratch) {
            assert!(s.data.position() as usize <= arrived);
        }
    }
}
