//! Per-loop counters: plain integers owned by the loop (no shared atomics on
//! the per-PDU path), copied to a shared snapshot on the housekeeping tick and
//! merged on demand for the stats line and the Prometheus endpoint.

use crate::pdu::{CommandId, CommandStatus};

/// Index of a command id in the per-command arrays (`CommandId::ALL` order,
/// plus one slot for unknown ids).
pub fn cmd_index(id: CommandId) -> usize {
    CommandId::ALL
        .iter()
        .position(|&c| c == id)
        .unwrap_or(CommandId::ALL.len())
}

pub const N_CMD: usize = 28;
/// Statuses below this are counted individually; the rest in the last slot.
pub const N_STATUS: usize = 0x113;

macro_rules! counters {
    ($($name:ident: $help:expr,)*) => {
        /// Loop-wide counters (all monotonic except the `_current` gauges).
        #[derive(Clone, Debug, Default)]
        pub struct Counters {
            $(pub $name: u64,)*
            /// PDUs received, by command (index from [`cmd_index`]).
            pub pdu_rx: [u64; N_CMD],
            /// PDUs sent, by command.
            pub pdu_tx: [u64; N_CMD],
            /// Responses sent, by command_status.
            pub resp_status: Vec<u64>,
        }

        impl Counters {
            /// (name, help) of every scalar counter, for the metrics endpoint.
            pub const NAMES: &'static [(&'static str, &'static str)] = &[$((stringify!($name), $help),)*];

            pub fn scalars(&self) -> Vec<(&'static str, &'static str, u64)> {
                vec![$((stringify!($name), $help, self.$name),)*]
            }

            pub fn merge(&mut self, o: &Counters) {
                $(self.$name += o.$name;)*
                for (a, b) in self.pdu_rx.iter_mut().zip(o.pdu_rx.iter()) { *a += b; }
                for (a, b) in self.pdu_tx.iter_mut().zip(o.pdu_tx.iter()) { *a += b; }
                if self.resp_status.len() < o.resp_status.len() {
                    self.resp_status.resize(o.resp_status.len(), 0);
                }
                for (a, b) in self.resp_status.iter_mut().zip(o.resp_status.iter()) { *a += b; }
            }
        }
    };
}

counters! {
    conn_accepted: "TCP connections accepted",
    conn_closed: "TCP connections closed",
    conn_current: "open connections (gauge)",
    conn_rejected_limit: "connections refused at --max-connections",
    accept_ex: "accept() failures (EMFILE and others)",
    proxy_headers: "PROXY protocol headers read from --proxy-protocol-from sources",
    proxy_header_ex: "connections from --proxy-protocol-from sources closed without a valid PROXY protocol header",
    bind_tx: "successful bind_transmitter",
    bind_rx: "successful bind_receiver",
    bind_trx: "successful bind_transceiver",
    bind_ex: "refused binds",
    bind_throttled: "binds refused by the failed-bind slow-down (per IP and system_id, or per IP for unknown system_ids)",
    bind_ex_tls_required: "binds refused with ESME_RBINDFAIL: the account has tls = required and the bind came in plaintext",
    bind_ex_client_cert: "binds refused with ESME_RBINDFAIL: the account has client_cert = required and no verified client certificate names it",
    unbind_rx: "unbind from ESMEs",
    unbind_tx: "unbind sent by the server",
    frame_ex: "framing errors (bad command_length): nack and close",
    decode_ex: "PDU bodies that failed to decode",
    unexpected_resp: "responses to PDUs the server did not send",
    submit_ok: "submit_sm accepted",
    submit_ex: "submit_sm refused",
    submit_segments: "air segments of accepted submits",
    submit_throttled: "submit_sm refused with ESME_RTHROTTLED",
    submit_queue_full: "submit_sm refused with ESME_RMSGQFUL",
    submit_store_full: "messages refused with ESME_RMSGQFUL: the message store is full of pending messages",
    query_rx: "query_sm received on a transmitter bind",
    cancel_rx: "cancel_sm received on a transmitter bind",
    message_cancelled: "pending messages cancelled (DELETED)",
    message_replaced: "pending messages replaced (replace_sm, replace_if_present)",
    remote_asked: "query/cancel/replace forwarded to the loop holding the message",
    remote_answered: "query/cancel/replace answered for another loop",
    remote_timeouts: "forwarded query/cancel/replace not answered within the response timer",
    bind_bad_range: "binds refused: an address_range that is not a valid regular expression",
    message_recovered: "pending messages put back in the store from the journal at start",
    mo_injected: "MO messages injected over HTTP (POST /mo)",
    mo_routed: "messages to a number an account owns, sent on as MO deliver_sm",
    mo_delivered: "MO deliver_sm acknowledged (ESME_ROK) by the receiving ESME",
    mo_retried: "MO deliver_sm sent again after a retryable status or no answer",
    mo_rejected: "MO messages refused for good by the receiving ESME (UNDELIV)",
    mo_dropped_retries: "MO messages given up after --receipt-retries (UNDELIV)",
    mo_expired: "MO messages whose validity ran out while waiting for a receiver",
    mo_withdrawn: "MO messages taken out of a queue or a retry delay because their message was cancelled or expired",
    message_expired: "messages whose validity ran out before their outcome (EXPIRED)",
    receipt_created: "delivery receipts created",
    receipt_sent: "deliver_sm receipts written (including retries)",
    receipt_acked: "receipts acknowledged with deliver_sm_resp OK",
    receipt_retried: "receipts re-queued after an error status or timeout",
    receipt_rejected: "receipts the ESME refused permanently (RX_P_APPN/RX_R_APPN)",
    receipt_dropped_retries: "receipts dropped after --receipt-retries",
    receipt_expired: "receipts dropped because they waited beyond their expiry",
    receipt_forwarded: "receipts handed to another loop",
    receipt_spooled: "receipts written to the spool at shutdown",
    receipt_unspooled: "receipts loaded from the spool at start",
    receipt_recovered: "receipts recovered from the journal at start",
    journal_commits: "journal batches written (--journal)",
    journal_errors: "journal writes that failed (responses held until one succeeds)",
    enquire_link_tx: "enquire_link sent by the server",
    timeout_session_init: "connections closed by the session init timer",
    timeout_enquire_link: "connections closed for an unanswered enquire_link",
    timeout_inactivity: "sessions unbound by the inactivity timer",
    timeout_response: "responses not received within --response-timer",
    bytes_rx: "bytes read (SMPP octets; decrypted ones for TLS)",
    bytes_tx: "bytes written (SMPP octets; before encryption for TLS)",
    tls_conn_accepted: "connections accepted on the TLS listener",
    tls_handshakes: "TLS handshakes completed",
    tls_handshakes_tls12: "TLS handshakes completed with TLS 1.2 (the rest are TLS 1.3)",
    tls_handshake_ex_not_tls: "TLS handshakes failed: the client did not speak TLS (plaintext SMPP or garbage on the TLS port)",
    tls_handshake_ex_cert: "TLS handshakes failed: the client certificate did not verify against --tls-client-ca",
    tls_handshake_ex_incompatible: "TLS handshakes failed: no protocol version or cipher suite in common",
    tls_handshake_ex_alert: "TLS handshakes failed: the client sent a fatal alert (it refused our certificate, ...)",
    tls_handshake_ex_protocol: "TLS handshakes failed: malformed or unexpected handshake messages",
    tls_handshake_ex_io: "TLS handshakes failed: socket error",
    tls_handshake_ex_eof: "TLS handshakes failed: the client closed the connection during the handshake",
    tls_handshake_ex_timeout: "TLS handshakes failed: not finished within the session init timer",
    tls_sessions_current: "TLS sessions open (handshake done) (gauge)",
    tls_session_ex: "TLS sessions ended by a TLS error after the handshake (bad record, second renegotiation, key-update flood, fatal alert)",
    tls_renegotiation_refused: "TLS 1.2 renegotiation attempts (the first is refused with a no_renegotiation warning, the next is fatal)",
    tls_eof_unclean: "TLS sessions the peer closed without close_notify (possibly mid-record)",
    tls_bytes_rx: "TLS octets read (records, as on the wire)",
    tls_bytes_tx: "TLS octets written (records, as on the wire)",
    tls_on_plain_port: "TLS ClientHellos received on the plaintext listener (answered generic_nack and closed)",
    loop_iterations: "event loop iterations",
    loop_events: "readiness events handled",
    timers_fired: "timer wheel entries fired",
    backpressure_pauses: "times reading stopped because the write buffer was full",
}

impl Counters {
    pub fn new() -> Counters {
        Counters {
            resp_status: vec![0; N_STATUS + 1],
            ..Default::default()
        }
    }

    #[inline]
    pub fn rx(&mut self, id: CommandId) {
        if let Some(c) = self.pdu_rx.get_mut(cmd_index(id)) {
            *c += 1;
        }
    }

    #[inline]
    pub fn tx(&mut self, id: CommandId) {
        if let Some(c) = self.pdu_tx.get_mut(cmd_index(id)) {
            *c += 1;
        }
    }

    #[inline]
    pub fn status(&mut self, s: CommandStatus) {
        let i = (s.0 as usize).min(N_STATUS);
        if let Some(c) = self.resp_status.get_mut(i) {
            *c += 1;
        }
    }

    pub fn rx_of(&self, id: CommandId) -> u64 {
        self.pdu_rx.get(cmd_index(id)).copied().unwrap_or(0)
    }

    pub fn tx_of(&self, id: CommandId) -> u64 {
        self.pdu_tx.get(cmd_index(id)).copied().unwrap_or(0)
    }

    pub fn status_of(&self, s: CommandStatus) -> u64 {
        self.resp_status
            .get((s.0 as usize).min(N_STATUS))
            .copied()
            .unwrap_or(0)
    }
}

/// Buckets of the response-latency histogram: bucket `i` counts responses
/// written less than 2^i µs after the loop read their request (the last one
/// also takes everything slower: Prometheus' `+Inf`).
pub const LAT_BUCKETS: usize = 25;

/// The bucket of a latency: the bit length of its whole microseconds (one
/// `lzcnt`, no search).
#[inline]
pub fn lat_bucket(ns: u64) -> usize {
    let us = ns / 1000;
    ((64 - us.leading_zeros()) as usize).min(LAT_BUCKETS - 1)
}

/// The upper bound of bucket `i` in seconds (`None` for the last, `+Inf`).
pub fn lat_bound(i: usize) -> Option<f64> {
    (i + 1 < LAT_BUCKETS).then(|| (1u64 << i) as f64 / 1e6)
}

/// How many of `CommandId::ALL` are responses.
const N_RESP: usize = {
    let (mut n, mut i) = (0, 0);
    while i < CommandId::ALL.len() {
        if CommandId::ALL[i].0 & 0x8000_0000 != 0 {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The `cmd_index` slots of the responses.
const RESP_SLOTS: [u8; N_RESP] = {
    let mut out = [0u8; N_RESP];
    let (mut n, mut i) = (0, 0);
    while i < CommandId::ALL.len() {
        if CommandId::ALL[i].0 & 0x8000_0000 != 0 {
            out[n] = i as u8;
            n += 1;
        }
        i += 1;
    }
    out
};

/// A loop's response latency per command (from the iteration that read
/// the request to the flush that wrote its response), with no work per
/// response: a flush compares the loop's `pdu_tx` counters with those of
/// the last flush and counts the new responses all at once, at one clock
/// read per flush.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    /// By response command (index from [`cmd_index`]), by bucket.
    pub buckets: [[u64; LAT_BUCKETS]; N_CMD],
    pub sum_ns: [u64; N_CMD],
    /// `pdu_tx` as of the last flush.
    seen: [u64; N_CMD],
}

impl Latency {
    /// Counts the responses sent since the last call (`pdu_tx` grew) as
    /// `elapsed_ns()` old. The clock behind `elapsed_ns` is read only when
    /// something was sent.
    #[inline]
    pub fn record(&mut self, pdu_tx: &[u64; N_CMD], elapsed_ns: impl FnOnce() -> u64) {
        if *pdu_tx == self.seen {
            return;
        }
        self.record_new(pdu_tx, elapsed_ns());
    }

    #[inline(never)]
    fn record_new(&mut self, pdu_tx: &[u64; N_CMD], ns: u64) {
        let b = lat_bucket(ns);
        // Only the response slots (a constant list): the loop unrolls and
        // each slot costs a subtraction and a branch.
        for &i in RESP_SLOTS.iter() {
            let i = usize::from(i);
            let (Some(&now), Some(&seen)) = (pdu_tx.get(i), self.seen.get(i)) else {
                continue;
            };
            let n = now.wrapping_sub(seen);
            if n != 0 {
                if let Some(c) = self.buckets.get_mut(i).and_then(|r| r.get_mut(b)) {
                    *c += n;
                }
                if let Some(sum) = self.sum_ns.get_mut(i) {
                    *sum = sum.saturating_add(ns.saturating_mul(n));
                }
            }
        }
        self.seen = *pdu_tx;
    }

    pub fn merge(&mut self, o: &Latency) {
        for (a, b) in self.buckets.iter_mut().zip(o.buckets.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += y;
            }
        }
        for (a, b) in self.sum_ns.iter_mut().zip(o.sum_ns.iter()) {
            *a += b;
        }
    }
}

impl Latency {
    /// `smsc_response_seconds` as a Prometheus histogram, one series per
    /// command answered (labelled by the request: `submit_sm`, ...; a
    /// generic_nack by its own name).
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP smsc_response_seconds Time from reading a request to writing its response (the loop's flush)\n# TYPE smsc_response_seconds histogram"
        );
        for ((row, sum), id) in self
            .buckets
            .iter()
            .zip(self.sum_ns.iter())
            .zip(CommandId::ALL)
        {
            let count: u64 = row.iter().sum();
            if count == 0 || !id.is_response() {
                continue;
            }
            let name = CommandId(id.0 & !0x8000_0000)
                .name()
                .or(id.name())
                .unwrap_or("unknown");
            let mut cumulative = 0u64;
            for (i, n) in row.iter().enumerate() {
                cumulative += n;
                match lat_bound(i) {
                    Some(le) => {
                        let _ = writeln!(
                            out,
                            "smsc_response_seconds_bucket{{command=\"{name}\",le=\"{le}\"}} {cumulative}"
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "smsc_response_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {cumulative}"
                        );
                    }
                }
            }
            let _ = writeln!(
                out,
                "smsc_response_seconds_sum{{command=\"{name}\"}} {}.{:09}\nsmsc_response_seconds_count{{command=\"{name}\"}} {count}",
                sum / 1_000_000_000,
                sum % 1_000_000_000
            );
        }
    }
}

/// Per-account counters.
#[derive(Clone, Debug, Default)]
pub struct AccountCounters {
    pub submit_ok: u64,
    pub submit_ex: u64,
    pub segments: u64,
    pub receipt_created: u64,
    pub receipt_acked: u64,
    /// Submits refused with ESME_RTHROTTLED (part of `submit_ex`).
    pub submit_throttled: u64,
}

impl AccountCounters {
    pub fn merge(&mut self, o: &AccountCounters) {
        self.submit_ok += o.submit_ok;
        self.submit_ex += o.submit_ex;
        self.segments += o.segments;
        self.receipt_created += o.receipt_created;
        self.receipt_acked += o.receipt_acked;
        self.submit_throttled += o.submit_throttled;
    }
}

/// A loop's own counters: loop-wide ones (reached through `Deref`, so
/// `m.submit_ok += 1` reads as before) and per account.
#[derive(Clone, Debug, Default)]
pub struct LoopMetrics {
    pub counters: Counters,
    pub accounts: Vec<AccountCounters>,
    pub latency: Latency,
}

impl LoopMetrics {
    pub fn new(accounts: usize) -> LoopMetrics {
        LoopMetrics {
            counters: Counters::new(),
            accounts: vec![AccountCounters::default(); accounts],
            latency: Latency::default(),
        }
    }

    /// Account `a`'s counters (None for an account this loop has no row for yet).
    #[inline]
    pub fn account(&mut self, a: usize) -> Option<&mut AccountCounters> {
        self.accounts.get_mut(a)
    }
}

impl LoopMetrics {
    /// Counts the responses written since the last flush into the latency
    /// histogram, as old as the time from `read_at` (the iteration's clock
    /// read, when their requests were read) to now: one clock read per
    /// flush that sent something, none per response.
    #[inline]
    pub fn record_flush(&mut self, read_at: std::time::Instant) {
        self.latency.record(&self.counters.pdu_tx, || {
            let d = std::time::Instant::now().saturating_duration_since(read_at);
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
        });
    }
}

impl std::ops::Deref for LoopMetrics {
    type Target = Counters;
    fn deref(&self) -> &Counters {
        &self.counters
    }
}

impl std::ops::DerefMut for LoopMetrics {
    fn deref_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }
}

/// One loop's published state.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub counters: Counters,
    pub accounts: Vec<AccountCounters>,
    /// Receipts waiting in this loop's queues / delayed store / in flight.
    pub receipts_queued: u64,
    pub receipts_delayed: u64,
    /// Messages in the store: pending (ENROUTE), and all (pending and final).
    pub messages_pending: u64,
    pub messages_stored: u64,
    pub receipts_inflight: u64,
    /// Response latency by command.
    pub latency: Latency,
    /// Sessions open, and a row for each of the first
    /// `admin::sessions::MAX_ROWS` (not merged: read per loop).
    pub sessions_total: u64,
    pub sessions: Vec<crate::admin::sessions::SessionRow>,
    /// Binds (TX, RX, TRX) and pending messages per account.
    pub binds: crate::admin::sessions::Binds,
    pub pending_by_account: Vec<u32>,
}

impl Snapshot {
    pub fn merge(&mut self, o: &Snapshot) {
        self.counters.merge(&o.counters);
        self.latency.merge(&o.latency);
        if self.accounts.len() < o.accounts.len() {
            self.accounts
                .resize(o.accounts.len(), AccountCounters::default());
        }
        for (a, b) in self.accounts.iter_mut().zip(o.accounts.iter()) {
            a.merge(b);
        }
        self.receipts_queued += o.receipts_queued;
        self.receipts_delayed += o.receipts_delayed;
        self.messages_pending += o.messages_pending;
        self.messages_stored += o.messages_stored;
        self.receipts_inflight += o.receipts_inflight;
        self.sessions_total += o.sessions_total;
        if self.binds.len() < o.binds.len() {
            self.binds.resize(o.binds.len(), [0; 3]);
        }
        for (a, b) in self.binds.iter_mut().zip(o.binds.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += y;
            }
        }
        if self.pending_by_account.len() < o.pending_by_account.len() {
            self.pending_by_account
                .resize(o.pending_by_account.len(), 0);
        }
        for (a, b) in self
            .pending_by_account
            .iter_mut()
            .zip(o.pending_by_account.iter())
        {
            *a += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<&str> = Counters::NAMES.iter().map(|(n, _)| *n).collect();
        // Lowercase words and `_`; digits inside a word (`tls12`).
        assert!(names
            .iter()
            .all(|n| n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')));
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        assert_eq!(CommandId::ALL.len() + 1, N_CMD);
        for (i, id) in CommandId::ALL.iter().enumerate() {
            assert_eq!(cmd_index(*id), i, "{id:?}");
        }
    }

    #[test]
    fn latency_buckets_are_powers_of_two_microseconds() {
        assert_eq!(lat_bucket(0), 0);
        assert_eq!(lat_bucket(999), 0);
        assert_eq!(lat_bucket(1_000), 1);
        assert_eq!(lat_bucket(1_999), 1);
        assert_eq!(lat_bucket(2_000), 2);
        assert_eq!(lat_bucket(100_000), 7); // 100 µs < 128 µs
        assert_eq!(lat_bucket(u64::MAX), LAT_BUCKETS - 1);
        // A value in bucket i is below its bound.
        for ns in [0, 999, 1_000, 63_999, 64_000, 5_000_000, 8_000_000_000] {
            if let Some(le) = lat_bound(lat_bucket(ns)) {
                assert!((ns as f64) * 1e-9 < le, "{ns}");
            }
        }
        assert_eq!(lat_bound(LAT_BUCKETS - 1), None);
    }

    #[test]
    fn latency_counts_new_responses_only() {
        let mut l = Latency::default();
        let mut tx = [0u64; N_CMD];
        let resp = cmd_index(CommandId::SUBMIT_SM_RESP);
        let req = cmd_index(CommandId::DELIVER_SM);
        tx[resp] = 3;
        tx[req] = 5;
        l.record(&tx, || 5_000); // 5 µs: bucket 3
        assert_eq!(l.buckets[resp][3], 3);
        assert_eq!(l.sum_ns[resp], 15_000);
        // Requests the server sends are not responses.
        assert_eq!(l.buckets[req].iter().sum::<u64>(), 0);
        // Nothing new: the clock is not read.
        l.record(&tx, || panic!("read the clock for nothing"));
        tx[resp] = 4;
        l.record(&tx, || 300);
        assert_eq!(l.buckets[resp][0], 1);
        let mut m = Latency::default();
        m.merge(&l);
        m.merge(&l);
        assert_eq!(m.buckets[resp][3], 6);
    }

    #[test]
    fn merge_adds() {
        let mut a = Counters::new();
        a.rx(CommandId::SUBMIT_SM);
        a.status(CommandStatus::ESME_RTHROTTLED);
        a.submit_ok = 2;
        let mut b = Counters::new();
        b.merge(&a);
        b.merge(&a);
        assert_eq!(b.rx_of(CommandId::SUBMIT_SM), 2);
        assert_eq!(b.status_of(CommandStatus::ESME_RTHROTTLED), 2);
        assert_eq!(b.submit_ok, 4);
    }
}
