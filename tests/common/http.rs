//! A tiny blocking HTTP/1.1 client over std's TcpStream for the admin API
//! tests (one request per connection, `Connection: close`).
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status, headers (lowercased names) and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `method path` with `token` (if any) and `body`; reads the whole answer.
pub fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    call_within(addr, method, path, token, body, Duration::from_secs(60))
}

/// [`call`], giving up on the answer after `limit` (a partial answer is
/// parsed as far as it goes).
pub fn call_within(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
    limit: Duration,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect to the HTTP server");
    let deadline = std::time::Instant::now() + limit;
    s.set_read_timeout(Some(limit)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before taking a whole oversized body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    // Until the server closes, or the deadline (a server that keeps the
    // connection open despite `Connection: close` still has answered).
    while std::time::Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if complete(&raw) {
            break;
        }
    }
    parse(&raw)
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    call(addr, "GET", path, None, b"")
}

pub fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    call(addr, "POST", path, None, body.as_bytes())
}

/// Whether `raw` holds a whole response (by Content-Length).
fn complete(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|n| body.len() >= n)
}

fn parse(raw: &[u8]) -> Reply {
    if raw.is_empty() {
        return Reply {
            status: 0,
            headers: Vec::new(),
            body: String::new(),
        };
    }
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The rows of `GET /api/v1/sessions` for `system_id`.
pub fn sessions_of(admin: SocketAddr, system_id: &str) -> Vec<serde_json::Value> {
    let r = get(admin, "/api/v1/sessions");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["system_id"] == system_id)
        .cloned()
        .collect()
}
