//! The admin listener's HTTP side: hyper's HTTP/1.1 server on a
//! current-thread tokio runtime of its own thread (`smsc-admin-http`).
//! It only reads requests within bounds and writes answers; what a request
//! means is decided on the admin thread (`mod.rs`), which gets each
//! admitted request whole, as a [`Call`] over a bounded channel, and
//! answers on the call's own oneshot.
//!
//! Requests are hostile input, and so are connections:
//! - at most [`MAX_CONNECTIONS`] at once; beyond that the listener stops
//!   accepting (they wait in the kernel's backlog) until one ends, so no
//!   number of clients costs more than that many connections' buffers;
//! - a request head within [`HEADER_TIMEOUT`] (hyper starts it again when a
//!   kept-alive connection goes idle: an idle connection ends there too)
//!   and [`MAX_HEAD`] octets of buffer;
//! - a body within [`super::MAX_BODY`] and [`BODY_TIMEOUT`], read only
//!   after the token check;
//! - a connection ends after [`CONNECTION_LIFETIME`] (the request in hand
//!   answered first, for at most [`BODY_TIMEOUT`] more): a client that
//!   never reads its answer cannot hold its place for ever;
//! - an accept error (out of descriptors) is waited out and logged once a
//!   second at most; it never ends the listener.
use super::{error, Response};
use crate::server::Shared;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Semaphore};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a request head to arrive, and the most a kept-alive connection
/// stays idle between requests.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a request body to arrive once its head has.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a connection lasts.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);
/// hyper's read buffer per connection: a head larger than this is refused
/// (431) and the connection closed. 8 KiB is hyper's smallest allowed.
pub const MAX_HEAD: usize = 16 * 1024;
/// Admitted requests waiting for the admin thread.
pub const QUEUE: usize = 64;

/// The request methods the API knows; any other is named in its 405.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other(String),
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Other(m) => m,
        })
    }
}

/// An admitted request, read in full: what the admin thread needs of it.
pub struct Call {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    pub body: Bytes,
}

/// Where admitted requests go, each with the sender of its answer.
pub type Calls = mpsc::SyncSender<(Call, oneshot::Sender<Response>)>;

/// Serves `listener` on a thread of its own until the server shuts down.
pub fn start(
    listener: std::net::TcpListener,
    calls: Calls,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("smsc-admin-http".into())
        .spawn(move || rt.block_on(accept_loop(listener, calls, shared)))?;
    Ok(())
}

async fn accept_loop(listener: std::net::TcpListener, calls: Calls, shared: Arc<Shared>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("admin API: cannot serve its listener: {e}");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Shutdown is a flag: looked at every tick, whatever else is waited for.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last_warning: Option<Instant> = None;
    while !shared.shutdown.load(Ordering::Relaxed) {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = tick.tick() => continue,
        };
        // accept() is cancel-safe: a tick loses no connection.
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = tick.tick() => continue,
        };
        match accepted {
            Ok((stream, _)) => {
                let (calls, shared) = (calls.clone(), shared.clone());
                tokio::spawn(async move {
                    serve_connection(stream, calls, shared, CONNECTION_LIFETIME).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // EMFILE and the like: the pending connection stays in the
                // backlog; try again when descriptors may be free.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!("admin API: accept failed: {e} (retried)");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    calls: Calls,
    shared: Arc<Shared>,
    lifetime: Duration,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req| {
        let (calls, shared) = (calls.clone(), shared.clone());
        async move { Ok::<_, Infallible>(into_http(answer(req, &calls, &shared).await)) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = tokio::time::sleep(lifetime) => {}
    }
    // Past its lifetime: the request in hand is answered (a browser then
    // opens a new connection), within one more body timeout; then the
    // connection is dropped, whatever it was doing.
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(BODY_TIMEOUT, conn).await;
}

/// One request: the token check, the body within bounds, then the admin
/// thread's answer.
async fn answer(req: hyper::Request<Incoming>, calls: &Calls, shared: &Shared) -> Response {
    let method = match *req.method() {
        hyper::Method::GET => Method::Get,
        hyper::Method::POST => Method::Post,
        ref m => Method::Other(m.to_string()),
    };
    let path = req.uri().path().to_string();
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(r) = super::refusal(shared, &method, &path, authorization) {
        return r;
    }
    // hyper's body knows what the head announced: nothing (no length, or
    // 0), a Content-Length (its exact size), or chunked (unknown).
    let body = if req.body().is_end_stream() {
        Bytes::new()
    } else {
        if method != Method::Post {
            return error(400, "a body is only taken with POST");
        }
        if req.body().size_hint().lower() > super::MAX_BODY as u64 {
            return error(413, "body over 64 KiB");
        }
        let limited = Limited::new(req.into_body(), super::MAX_BODY);
        match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
            Ok(Ok(c)) => c.to_bytes(),
            Ok(Err(_)) => return error(413, "body unreadable or over 64 KiB"),
            Err(_) => {
                return error(
                    408,
                    format!(
                        "the body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )
            }
        }
    };
    let (tx, rx) = oneshot::channel();
    if calls.try_send((Call { method, path, body }, tx)).is_err() {
        return error(503, "busy: too many admin requests waiting");
    }
    rx.await
        .unwrap_or_else(|_| error(503, "the admin thread is not running"))
}

fn into_http(r: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(r.body));
    *out.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = out.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    if r.status == 401 {
        h.insert(
            hyper::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A kept-alive connection ends at its lifetime even while idle (long
    /// before the header timeout would end it), its request answered.
    #[test]
    fn a_connection_ends_at_its_lifetime() {
        let shared = Arc::new(crate::testutil::Harness::new(&[]).shared);
        let (calls, rx) = mpsc::sync_channel::<(Call, oneshot::Sender<Response>)>(4);
        std::thread::spawn(move || {
            while let Ok((call, reply)) = rx.recv() {
                let body = Bytes::from(format!("{} {}", call.method, call.path));
                let _ = reply.send(Response {
                    status: 200,
                    content_type: "text/plain",
                    body,
                });
            }
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let lifetime = Duration::from_millis(300);
        let server = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                let (s, _) = l.accept().await.unwrap();
                serve_connection(s, calls, shared, lifetime).await;
            });
        });
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = Instant::now();
        c.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"GET /x") {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "closed before the answer: {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
        // Kept alive, idle: closed at the lifetime.
        assert_eq!(c.read(&mut buf).unwrap(), 0);
        let took = started.elapsed();
        assert!(took >= lifetime && took < HEADER_TIMEOUT, "{took:?}");
        server.join().unwrap();
    }
}
