//! Prometheus text for `GET /metrics`, read from the snapshots the loops
//! publish (so it never slows them). The listener that serves it, with the
//! console and `POST /mo`, is `admin/` (`--admin-listen`).

use crate::metrics::Snapshot;
use crate::pdu::{CommandId, CommandStatus};
use crate::server::Shared;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

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
    if let Some(c) = &shared.cluster {
        c.render(&mut out);
    }
    out
}

/// Serves the HTTP listener (`admin::serve`: the console, its API,
/// `/metrics` and `POST /mo`) until the server shuts down.
pub fn serve_metrics(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<SocketAddr> {
    crate::admin::serve(addr, shared)
}
