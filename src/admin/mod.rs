//! The operator's console on the HTTP listener (`--admin-listen`, alias
//! `--metrics-listen`): the page (`GET /`, `page.rs`), the JSON API under
//! `/api/v1/`, Prometheus text (`GET /metrics`) and `POST /mo`.
//!
//! Two threads, never a loop. The listener's (`listener.rs`: hyper on a
//! current-thread tokio runtime) reads each request within bounds and
//! hands it whole to the admin thread, which answers them one at a time.
//! The admin thread reads what the loops publish every 100 ms
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
pub mod listener;
pub mod messages;
mod page;
pub mod sessions;

use crate::server::Shared;
use listener::{Call, Method};
use serde_json::{json, Value};
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

/// An answer, turned into HTTP by `listener.rs` (a 401 also gets
/// `WWW-Authenticate: Bearer`).
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: bytes::Bytes,
}

/// A JSON response.
pub fn json_response(status: u16, v: &Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: v.to_string().into(),
    }
}

/// `{"error": why}` with `status`.
pub fn error(status: u16, why: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": why.into() }))
}

/// Starts the listener (`listener.rs`) and the admin thread (both stop
/// when the server shuts down); returns the address it listens on.
pub fn serve(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let (calls, rx) = mpsc::sync_channel(listener::QUEUE);
    listener::start(listener, calls, shared.clone())?;
    std::thread::Builder::new()
        .name("smsc-admin".into())
        .spawn(move || run(rx, shared))?;
    Ok(local)
}

/// The admin thread: requests as they come, one sample a second between
/// them. It answers one at a time (a call that needs a loop waits for it
/// at most [`LOOP_WAIT`]); the listener has already read each request in
/// full, so no client can hold it.
fn run(calls: mpsc::Receiver<(Call, Reply)>, shared: Arc<Shared>) {
    let mut state = State {
        history: accounts::History::default(),
        next_loop: 0,
    };
    let mut next_sample = Instant::now();
    while !shared.shutdown.load(std::sync::atomic::Ordering::Relaxed) {
        let now = Instant::now();
        if now >= next_sample {
            state.history.sample(&shared, now);
            next_sample = now + accounts::SAMPLE_EVERY;
        }
        let wait = next_sample
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(250));
        match calls.recv_timeout(wait) {
            Ok((call, reply)) => {
                let r = route(&shared, &mut state, &call.method, &call.path, &call.body);
                let _ = reply.send(r);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Where a call's answer goes.
type Reply = tokio::sync::oneshot::Sender<Response>;

/// What the admin thread keeps between requests.
pub struct State {
    pub history: accounts::History,
    /// Round-robin over the loops for injected MO messages.
    pub next_loop: usize,
}

/// The token check: the refusal, if any.
fn refusal(
    shared: &Shared,
    method: &Method,
    path: &str,
    authorization: Option<&str>,
) -> Option<Response> {
    // The page holds no data (a browser cannot send a header when it
    // navigates); it asks for the token and sends it with every call.
    let public = method == &Method::Get && (path == "/" || path == "/index.html");
    if public || authorized(shared, authorization) {
        return None;
    }
    Some(error(401, "missing or wrong Authorization: Bearer token"))
}

/// With `--admin-token-file`: the request carries `Authorization: Bearer
/// <token>` (compared in constant time).
fn authorized(shared: &Shared, authorization: Option<&str>) -> bool {
    let Some(token) = &shared.config.admin_token else {
        return true;
    };
    let given = authorization
        .and_then(|v| {
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

fn route(shared: &Shared, state: &mut State, method: &Method, path: &str, body: &[u8]) -> Response {
    use Method::{Get, Post};
    let wrong = || error(405, format!("method {method} not allowed on {path}"));
    match path {
        "/" | "/index.html" => {
            return match method {
                Get => Response {
                    status: 200,
                    content_type: "text/html; charset=utf-8",
                    body: bytes::Bytes::from_static(page::PAGE.as_bytes()),
                },
                _ => wrong(),
            }
        }
        "/metrics" => {
            return match method {
                Get => Response {
                    status: 200,
                    content_type: "text/plain; version=0.0.4",
                    body: crate::http::render(shared, &shared.snapshot()).into(),
                },
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
