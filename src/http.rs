//! The HTTP listener (`--metrics-listen`), on its own thread with the
//! `tiny_http` crate: `GET /metrics` (Prometheus text, read from the
//! snapshots the loops publish, so it never slows them) and `POST /mo`
//! (an MO message injected for testing ESMEs: `inject.rs`). Bodies are
//! bounded; a bad one gets a 4xx with a JSON reason.

use crate::metrics::Snapshot;
use crate::pdu::{CommandId, CommandStatus};
use crate::server::Shared;
use std::fmt::Write as _;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Renders all counters in the Prometheus text exposition format.
pub fn render(shared: &Shared, s: &Snapshot) -> String {
    let mut out = String::with_capacity(16 * 1024);
    for (name, help, v) in s.counters.scalars() {
        let kind = if name.ends_with("_current") {
            "gauge"
        } else {
            "counter"
        };
        let _ = writeln!(
            out,
            "# HELP smsc_{name} {help}\n# TYPE smsc_{name} {kind}\nsmsc_{name} {v}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP smsc_pdu_rx PDUs received by command\n# TYPE smsc_pdu_rx counter"
    );
    for id in CommandId::ALL {
        let _ = writeln!(
            out,
            "smsc_pdu_rx{{command=\"{}\"}} {}",
            id.name().unwrap_or("unknown"),
            s.counters.rx_of(*id)
        );
    }
    let _ = writeln!(
        out,
        "# HELP smsc_pdu_tx PDUs sent by command\n# TYPE smsc_pdu_tx counter"
    );
    for id in CommandId::ALL {
        let _ = writeln!(
            out,
            "smsc_pdu_tx{{command=\"{}\"}} {}",
            id.name().unwrap_or("unknown"),
            s.counters.tx_of(*id)
        );
    }
    let _ = writeln!(
        out,
        "# HELP smsc_resp_status Responses sent by command_status\n# TYPE smsc_resp_status counter"
    );
    for st in CommandStatus::ALL {
        let v = s.counters.status_of(*st);
        if v > 0 || st.is_ok() {
            let _ = writeln!(
                out,
                "smsc_resp_status{{status=\"{}\"}} {v}",
                st.name().unwrap_or("other")
            );
        }
    }
    let _ = writeln!(out, "# HELP smsc_receipts_queued Receipts waiting for a receiver\n# TYPE smsc_receipts_queued gauge\nsmsc_receipts_queued {}", s.receipts_queued);
    let _ = writeln!(out, "# HELP smsc_receipts_inflight Receipts sent, not yet acknowledged\n# TYPE smsc_receipts_inflight gauge\nsmsc_receipts_inflight {}", s.receipts_inflight);
    let _ = writeln!(out, "# HELP smsc_receipts_delayed Receipts waiting for a retry back-off, and responses held by a late: rule\n# TYPE smsc_receipts_delayed gauge\nsmsc_receipts_delayed {}", s.receipts_delayed);
    let _ = writeln!(out, "# HELP smsc_messages_pending Messages in the store not yet final (ENROUTE: scheduled, outcome delayed)\n# TYPE smsc_messages_pending gauge\nsmsc_messages_pending {}", s.messages_pending);
    let _ = writeln!(out, "# HELP smsc_messages_stored Messages in the store, pending and final\n# TYPE smsc_messages_stored gauge\nsmsc_messages_stored {}", s.messages_stored);
    s.latency.render(&mut out);
    let _ = writeln!(out, "# HELP smsc_account_submit_ok Accepted submits per account\n# TYPE smsc_account_submit_ok counter");
    for (i, a) in s.accounts.iter().enumerate() {
        let sid = shared
            .accounts()
            .get(crate::account::AccountId(i as u32))
            .map(|a| a.system_id.as_str())
            .unwrap_or("?");
        let _ = writeln!(
            out,
            "smsc_account_submit_ok{{system_id=\"{sid}\"}} {}",
            a.submit_ok
        );
        let _ = writeln!(
            out,
            "smsc_account_submit_ex{{system_id=\"{sid}\"}} {}",
            a.submit_ex
        );
        let _ = writeln!(
            out,
            "smsc_account_segments{{system_id=\"{sid}\"}} {}",
            a.segments
        );
        let _ = writeln!(
            out,
            "smsc_account_receipt_created{{system_id=\"{sid}\"}} {}",
            a.receipt_created
        );
        let _ = writeln!(
            out,
            "smsc_account_receipt_acked{{system_id=\"{sid}\"}} {}",
            a.receipt_acked
        );
    }
    out
}

/// Largest request body read (`POST /mo`).
const MAX_BODY: usize = 64 * 1024;

fn json(status: u16, v: serde_json::Value) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_data(v.to_string().into_bytes()).with_status_code(status);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
        r.add_header(h);
    }
    r
}

/// Serves the HTTP listener until the process exits.
pub fn serve_metrics(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<SocketAddr> {
    let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
    std::thread::Builder::new()
        .name("smsc-http".into())
        .spawn(move || {
            let mut next_loop = 0usize;
            for mut req in server.incoming_requests() {
                let path = req.url().split('?').next().unwrap_or("").to_string();
                let resp = match (req.method(), path.as_str()) {
                    (tiny_http::Method::Get, "/metrics") => {
                        let body = render(&shared, &shared.snapshot());
                        let mut r = tiny_http::Response::from_data(body.into_bytes());
                        if let Ok(h) = tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"text/plain; version=0.0.4"[..],
                        ) {
                            r.add_header(h);
                        }
                        r
                    }
                    (tiny_http::Method::Post, "/mo") => {
                        let mut body = Vec::new();
                        let read = req
                            .as_reader()
                            .take(MAX_BODY as u64 + 1)
                            .read_to_end(&mut body);
                        if read.is_err() || body.len() > MAX_BODY {
                            json(
                                413,
                                serde_json::json!({"error": "body unreadable or over 64 KiB"}),
                            )
                        } else {
                            match crate::inject::parse(&body) {
                                Err(e) => json(400, serde_json::json!({ "error": e })),
                                Ok(mo) => {
                                    next_loop = next_loop.wrapping_add(1);
                                    match shared.inject(next_loop, mo, Duration::from_secs(5)) {
                                        Ok(id) => {
                                            json(200, serde_json::json!({ "message_id": id }))
                                        }
                                        Err(e) if e.starts_with("no account") => {
                                            json(400, serde_json::json!({ "error": e }))
                                        }
                                        Err(e) if e.starts_with("ESME_") => {
                                            json(400, serde_json::json!({ "error": e }))
                                        }
                                        Err(e) => json(503, serde_json::json!({ "error": e })),
                                    }
                                }
                            }
                        }
                    }
                    (_, "/metrics") | (_, "/mo") => {
                        json(405, serde_json::json!({"error": "method not allowed"}))
                    }
                    _ => json(
                        404,
                        serde_json::json!({"error": "no such path (GET /metrics, POST /mo)"}),
                    ),
                };
                let _ = req.respond(resp);
            }
        })?;
    Ok(local)
}
