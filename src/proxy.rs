//! The PROXY protocol (HAProxy's; v1 text, v2 binary) in front of SMPP.
//!
//! Behind a TCP load balancer every connection comes from the balancer's
//! address: account `allow_ips`, the failed-bind throttle, the logs and
//! the console would all see it instead of the ESME's. A balancer set to
//! send the PROXY header (HAProxy `send-proxy` / `send-proxy-v2`) names
//! the client first. Only connections from `--proxy-protocol-from`
//! sources are read this way (anyone else could name any address); from
//! them the header is required, before TLS too.
//!
//! The header is peeked, parsed by `ppp`, and only its own octets are
//! consumed: what follows stays in the socket for the transport
//! (plaintext or TLS), exactly as if it had come first.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::account::Cidr;
use ppp::{v1, v2, HeaderResult, PartialResult};
use std::io::{ErrorKind, Read};
use std::net::SocketAddr;

/// The longest header accepted. A v1 header is at most 107 octets; v2 is
/// 16 plus its addresses (216 for UNIX sockets) plus TLVs, which HAProxy
/// keeps small (unique id, ALPN, SSL facts): 1 KiB is ample, and bounds
/// what a connection may make the server look at before it is trusted.
pub const MAX_HEADER: usize = 1024;

/// The longest v1 line, CRLF included (the protocol's own bound).
const V1_MAX: usize = 107;

/// What the first octets of a connection from a proxy say.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A header of `len` octets naming the client at `client`; None when
    /// it names none (v1 `UNKNOWN`, v2 `LOCAL` such as a health check, or
    /// an address family other than TCP over IPv4/IPv6): the connection
    /// keeps the proxy's address.
    Header {
        len: usize,
        client: Option<SocketAddr>,
    },
    /// Not all of the header yet.
    Incomplete,
    /// Not a PROXY header, or longer than [`MAX_HEADER`].
    Invalid(&'static str),
}

/// Reads a header from the start of `buf` (the octets received so far).
pub fn parse(buf: &[u8]) -> Parsed {
    // A v1 header is one line: judged once its end has come (the parser
    // can take a line cut after a separator for a bad one).
    let v1_prefix = buf.len().min(6);
    if buf.get(..v1_prefix) == b"PROXY ".get(..v1_prefix) && !buf.contains(&b'\n') {
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("PROXY v1 line longer than 107 octets")
        } else {
            Parsed::Incomplete
        };
    }
    let result = HeaderResult::parse(buf);
    if result.is_incomplete() {
        return if buf.len() >= MAX_HEADER {
            Parsed::Invalid("PROXY header longer than 1024 octets")
        } else {
            Parsed::Incomplete
        };
    }
    let (len, client) = match result {
        HeaderResult::V1(Ok(h)) => {
            let client = match h.addresses {
                v1::Addresses::Tcp4(a) => Some((a.source_address, a.source_port).into()),
                v1::Addresses::Tcp6(a) => Some((a.source_address, a.source_port).into()),
                v1::Addresses::Unknown => None,
            };
            (h.header.len(), client)
        }
        HeaderResult::V2(Ok(h)) => {
            let client = match (h.command, h.addresses) {
                (v2::Command::Proxy, v2::Addresses::IPv4(a)) => {
                    Some((a.source_address, a.source_port).into())
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(a)) => {
                    Some((a.source_address, a.source_port).into())
                }
                _ => None,
            };
            (h.len(), client)
        }
        HeaderResult::V1(Err(_)) | HeaderResult::V2(Err(_)) => {
            return Parsed::Invalid("no valid PROXY header")
        }
    };
    if len == 0 || len > buf.len() || len > MAX_HEADER {
        return Parsed::Invalid("PROXY header length out of bounds");
    }
    Parsed::Header { len, client }
}

/// Whether connections from `peer` must start with a PROXY header.
pub fn expected_from(trusted: &[Cidr], peer: SocketAddr) -> bool {
    trusted.iter().any(|c| c.contains(peer.ip()))
}

/// One step of reading the header from the socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Read and consumed; the client's address if it named one.
    Done(Option<SocketAddr>),
    /// Wait for more octets (the next readable event).
    Wait,
    /// Close the connection: the peer closed, or sent no valid header.
    Close(&'static str),
}

/// The socket calls the header needs: a peek, and a read of what the
/// peek saw (a trait so that tests can drive it without a socket).
pub trait Peek: Read {
    fn peek(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl Peek for mio::net::TcpStream {
    fn peek(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        mio::net::TcpStream::peek(self, buf)
    }
}

/// Peeks at what has arrived; once it holds a whole header, consumes
/// exactly the header. Nothing after it is taken from the socket.
pub fn read_header(sock: &mut impl Peek, scratch: &mut [u8; MAX_HEADER]) -> Step {
    let n = loop {
        match sock.peek(scratch) {
            Ok(0) => return Step::Close("closed before its PROXY header"),
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
            Err(_) => return Step::Close("error before its PROXY header"),
        }
    };
    let Some(seen) = scratch.get(..n) else {
        return Step::Close("error before its PROXY header");
    };
    let (len, client) = match parse(seen) {
        Parsed::Header { len, client } => (len, client),
        Parsed::Incomplete => return Step::Wait,
        Parsed::Invalid(why) => return Step::Close(why),
    };
    // The octets were peeked, so they are there: one read takes them
    // (looped only for EINTR and a short read the kernel may still make).
    let Some(mut rest) = scratch.get_mut(..len) else {
        return Step::Close("PROXY header length out of bounds");
    };
    while !rest.is_empty() {
        match sock.read(rest) {
            Ok(0) => return Step::Close("closed inside its PROXY header"),
            Ok(k) => rest = rest.get_mut(k..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Step::Close("error inside its PROXY header"),
        }
    }
    Step::Done(client)
}

#[cfg(test)]
mod tests;
