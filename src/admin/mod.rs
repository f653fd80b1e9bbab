//! The operator's console on the HTTP listener (`--admin-listen`, alias
//! `--metrics-listen`): the page (`GET /`, `page.rs`), the JSON API under
//! `/api/v1/`, Prometheus text (`GET /metrics`) and `POST /mo`.
//!
//! One thread, never a loop: it reads what the loops publish every 100 ms
//! (`metrics::Snapshot`, with the sessions and per-account binds) and keeps
//! one sample a second for the rates and the five-minute chart
//! (`accounts.rs`). What needs a loop (a message's record and events, an
//! unbind, an MO injection) goes to it as a [`Request`] on its bounded
//! admin channel with its `mio::Waker`, and the answer comes back on a
//! channel of the request's own, waited for a bounded time. Nothing here
//! takes a lock the per-PDU path takes.
//!
//! Requests are hostile input: bodies are bounded, ids parsed without
//! panics, and every failure is a 4xx/5xx with `{"error": "..."}`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod accounts;
pub mod messages;
mod page;
pub mod sessions;

use crate::server::Shared;
use serde_json::{json, Value};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the admin thread asks of a loop.
pub enum Request {
    /// `POST /mo`: inject an MO message (`inject.rs`).
    Mo(crate::inject::Inject),
    /// Message `key`'s record (if this loop holds it) and its events here.
    Message {
        key: u64,
        reply: mpsc::Sender<messages::LoopView>,
    },
    /// Send unbind to session (slot, gen) of this loop; true if it was bound.
    Unbind {
        slot: u32,
        gen: u32,
        reply: mpsc::Sender<bool>,
    },
}

/// How long the admin thread waits for a loop's answer.
pub const LOOP_WAIT: Duration = Duration::from_secs(3);

/// Largest request body read.
pub const MAX_BODY: usize = 64 * 1024;

pub type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

/// A JSON response.
pub fn json_response(status: u16, v: &Value) -> Response {
    with_type(
        tiny_http::Response::from_data(v.to_string().into_bytes()).with_status_code(status),
        "application/json",
    )
}

/// `{"error": why}` with `status`.
pub fn error(status: u16, why: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": why.into() }))
}

fn with_type(mut r: Response, content_type: &str) -> Response {
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes()) {
        r.add_header(h);
    }
    r
}

/// Starts the listener on its own thread (it stops when the server shuts
/// down); returns the address it listens on.
pub fn serve(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<SocketAddr> {
    let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
    std::thread::Builder::new()
        .name("smsc-admin".into())
        .spawn(move || run(server, local, shared))?;
    Ok(local)
}

/// A new listener on `local` after tiny_http's accept thread ended, tried
/// once a second until it binds; None at shutdown.
fn listen_again(local: SocketAddr, shared: &Shared) -> Option<tiny_http::Server> {
    while !shared.shutdown.load(std::sync::atomic::Ordering::Relaxed) {
        match tiny_http::Server::http(local) {
            Ok(s) => return Some(s),
            Err(e) => {
                tracing::warn!("admin API: cannot listen on {local} again: {e} (retried)");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    None
}

/// A request whose body has been read in full, back on the admin thread.
type BodyRead = (tiny_http::Request, Vec<u8>);

/// The admin thread: requests as they come, one sample a second between
/// them. A request with a body is read on a thread of its own: tiny_http
/// reads a body over 1 KiB (or chunked) only when asked, and drains what is
/// left of it when the request is dropped, so a client that announces a
/// body and never sends it would otherwise hold the console and `/metrics`
/// (even a refusal, 401 or 413, drops the request). That thread holds the
/// request until its body is in, or answers the refusal and drains it;
/// like tiny_http's own thread per connection, it lasts as long as the
/// client keeps the connection open.
fn run(mut server: tiny_http::Server, local: SocketAddr, shared: Arc<Shared>) {
    let mut state = State {
        history: accounts::History::default(),
        next_loop: 0,
    };
    let readers = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (read_tx, read_rx) = mpsc::channel::<BodyRead>();
    let mut next_sample = Instant::now();
    while !shared.shutdown.load(std::sync::atomic::Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next_sample {
            state.history.sample(&shared, now);
            next_sample = now + accounts::SAMPLE_EVERY;
        }
        while let Ok((req, body)) = read_rx.try_recv() {
            let resp = respond_to(&shared, &mut state, &req, &body);
            let _ = req.respond(resp);
        }
        // Bodies being read: look for them again soon.
        let busy = readers.load(std::sync::atomic::Ordering::Relaxed) > 0;
        let wait = next_sample
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(if busy { 5 } else { 250 }));
        match server.recv_timeout(wait) {
            Ok(Some(req)) if has_body(&req) => read_aside(&shared, req, &readers, &read_tx),
            Ok(Some(req)) => {
                let resp = match refusal(&shared, &req) {
                    Some(r) => r,
                    None => respond_to(&shared, &mut state, &req, &[]),
                };
                let _ = req.respond(resp);
            }
            Ok(None) => {}
            // tiny_http's accept thread stops at an accept error that does
            // not pass (the vendored patch retries those that do) and
            // closes the listener: the API would be gone for good. Listen
            // anew on the same address (the old server dropped first: its
            // drop connects to it).
            Err(e) => {
                tracing::warn!("admin API: accept failed: {e}; listening again on {local}");
                drop(server);
                std::thread::sleep(Duration::from_millis(200));
                match listen_again(local, &shared) {
                    Some(s) => server = s,
                    None => return,
                }
            }
        }
    }
}

/// Whether `req` carries a body tiny_http has not read yet (or may not
/// have: chunked).
fn has_body(req: &tiny_http::Request) -> bool {
    req.body_length().is_some_and(|n| n > 0)
        || req
            .headers()
            .iter()
            .any(|h| h.field.equiv("Transfer-Encoding"))
}

/// Checks and reads `req`'s body on a thread of its own; a request that
/// passes is handed back on `done` with its body, a refusal is answered
/// there.
fn read_aside(
    shared: &Arc<Shared>,
    mut req: tiny_http::Request,
    readers: &Arc<std::sync::atomic::AtomicUsize>,
    done: &mpsc::Sender<BodyRead>,
) {
    use std::sync::atomic::Ordering;
    let (shared, count, done) = (shared.clone(), readers.clone(), done.clone());
    count.fetch_add(1, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("smsc-admin-body".into())
        .spawn(move || {
            let checked = match refusal(&shared, &req) {
                Some(r) => Err(r),
                None if req.method() != &tiny_http::Method::Post => {
                    Err(error(400, "a body is only taken with POST"))
                }
                None => read_body(&mut req),
            };
            match checked {
                // Read in full: dropping it on the admin thread drains nothing.
                Ok(body) => {
                    let _ = done.send((req, body));
                }
                Err(r) => {
                    let _ = req.respond(r);
                }
            }
            count.fetch_sub(1, Ordering::Relaxed);
        });
    if spawned.is_err() {
        // The request went with the closure; only the count is left.
        readers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the admin thread keeps between requests.
pub struct State {
    pub history: accounts::History,
    /// Round-robin over the loops for injected MO messages.
    pub next_loop: usize,
}

/// The token check: the refusal, if any.
fn refusal(shared: &Shared, req: &tiny_http::Request) -> Option<Response> {
    let path = req.url().split('?').next().unwrap_or("");
    // The page holds no data (a browser cannot send a header when it
    // navigates); it asks for the token and sends it with every call.
    let public = req.method() == &tiny_http::Method::Get && (path == "/" || path == "/index.html");
    if public || authorized(shared, req) {
        return None;
    }
    let mut r = error(401, "missing or wrong Authorization: Bearer token");
    if let Ok(h) = tiny_http::Header::from_bytes(&b"WWW-Authenticate"[..], &b"Bearer"[..]) {
        r.add_header(h);
    }
    Some(r)
}

/// Answers one admitted request with its body.
fn respond_to(
    shared: &Shared,
    state: &mut State,
    req: &tiny_http::Request,
    body: &[u8],
) -> Response {
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let method = req.method().clone();
    route(shared, state, &method, &path, body)
}

/// Reads a request body of at most [`MAX_BODY`] octets.
fn read_body(req: &mut tiny_http::Request) -> Result<Vec<u8>, Response> {
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(error(413, "body over 64 KiB"));
    }
    let mut body = Vec::new();
    let read = req
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    if read.is_err() || body.len() > MAX_BODY {
        return Err(error(413, "body unreadable or over 64 KiB"));
    }
    Ok(body)
}

/// With `--admin-token-file`: the request carries `Authorization: Bearer
/// <token>` (compared in constant time).
fn authorized(shared: &Shared, req: &tiny_http::Request) -> bool {
    let Some(token) = &shared.config.admin_token else {
        return true;
    };
    let given = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| {
            let v = h.value.as_str();
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The path's segments after `/api/v1/`.
fn api_path(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix("/api/v1/")?;
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

fn route(
    shared: &Shared,
    state: &mut State,
    method: &tiny_http::Method,
    path: &str,
    body: &[u8],
) -> Response {
    use tiny_http::Method::{Get, Post};
    let wrong = || error(405, format!("method {method} not allowed on {path}"));
    match path {
        "/" | "/index.html" => {
            return match method {
                Get => with_type(
                    tiny_http::Response::from_data(page::PAGE.as_bytes().to_vec()),
                    "text/html; charset=utf-8",
                ),
                _ => wrong(),
            }
        }
        "/metrics" => {
            return match method {
                Get => with_type(
                    tiny_http::Response::from_data(
                        crate::http::render(shared, &shared.snapshot()).into_bytes(),
                    ),
                    "text/plain; version=0.0.4",
                ),
                _ => wrong(),
            }
        }
        "/mo" => {
            return match method {
                Post => post_mo(shared, state, body),
                _ => wrong(),
            }
        }
        _ => {}
    }
    let Some(parts) = api_path(path) else {
        return error(
            404,
            format!("no such path {path:?} (GET /, /metrics, /api/v1/...; POST /mo)"),
        );
    };
    match (parts.as_slice(), method) {
        (["overview"], Get) => json_response(200, &state.history.overview(shared)),
        (["sessions"], Get) => json_response(200, &sessions::list(shared)),
        (["sessions", id, "unbind"], Post) => sessions::unbind(shared, id),
        (["accounts"], Get) => json_response(200, &state.history.accounts(shared)),
        (["messages", id], Get) => messages::lookup(shared, id),
        (["mo"], Post) => post_mo(shared, state, body),
        (["reload"], Post) => {
            let (code, v) = reload(shared);
            json_response(code, &v)
        }
        (["overview"] | ["sessions"] | ["accounts"] | ["messages", _], _)
        | (["sessions", _, "unbind"] | ["mo"] | ["reload"], _) => wrong(),
        _ => error(
            404,
            format!(
                "no such path {path:?} (overview, sessions, sessions/ID/unbind, accounts, \
                 messages/ID, mo, reload under /api/v1/)"
            ),
        ),
    }
}

/// `POST /mo` and `POST /api/v1/mo`: an MO message for the account owning `to`.
fn post_mo(shared: &Shared, state: &mut State, body: &[u8]) -> Response {
    let mo = match crate::inject::parse(body) {
        Ok(mo) => mo,
        Err(e) => return error(400, e),
    };
    state.next_loop = state.next_loop.wrapping_add(1);
    match shared.inject(state.next_loop, mo, Duration::from_secs(5)) {
        Ok(id) => json_response(200, &json!({ "message_id": id })),
        Err(e)
            if e.starts_with("no account") || e.starts_with("ESME_") || e.starts_with("tlvs") =>
        {
            error(400, e)
        }
        Err(e) => error(503, e),
    }
}

/// What SIGHUP does: the accounts file (when there is one, or when there
/// is no TLS to reload) and the TLS files, each logged as the signal's
/// reload logs them. Returns the status (200, or 409 when something did
/// not reload) and what happened.
pub fn reload(shared: &Shared) -> (u16, Value) {
    let mut out = serde_json::Map::new();
    let mut ok = true;
    let files = shared.config.accounts_file.is_some() || shared.config.config_file.is_some();
    if files || shared.tls.is_none() {
        match shared.reload_accounts() {
            Ok(summary) => {
                tracing::info!("accounts reloaded: {summary}");
                out.insert(
                    "accounts".into(),
                    json!({ "reloaded": true, "summary": summary }),
                );
            }
            Err(e) => {
                tracing::warn!("accounts not reloaded: {e}");
                out.insert("accounts".into(), json!({ "reloaded": false, "error": e }));
                ok = false;
            }
        }
    }
    if let Some(tls) = &shared.tls {
        match tls.reload() {
            Ok(summary) => {
                tracing::info!("TLS reloaded: {summary}");
                out.insert(
                    "tls".into(),
                    json!({ "reloaded": true, "summary": summary }),
                );
            }
            Err(e) => {
                tracing::warn!("TLS not reloaded (the certificate in force stays): {e}");
                out.insert(
                    "tls".into(),
                    json!({ "reloaded": false, "error": e.to_string() }),
                );
                ok = false;
            }
        }
    }
    (if ok { 200 } else { 409 }, Value::Object(out))
}

/// Sends `req` to loop `lp` and wakes it. Err: why not (503).
pub fn ask(shared: &Shared, lp: usize, req: Request) -> Result<(), String> {
    let tx = shared
        .admin
        .get()
        .and_then(|v| v.get(lp))
        .ok_or("the server is not running")?;
    tx.try_send(req)
        .map_err(|_| "busy: too many admin requests waiting".to_string())?;
    shared.wake(lp);
    Ok(())
}

/// `secs` (Unix) as `2026-12-01T11:47:00Z`.
pub fn iso(secs: i64) -> String {
    let t = crate::smpp_time::civil_from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}
