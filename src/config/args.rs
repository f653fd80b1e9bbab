//! The command line's flags (clap), as given: `mod.rs` checks them and
//! builds the [`Config`](super::Config) the loops trust.
use super::{parse_admin_listen, parse_cidr, parse_duration};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What `0` in data_coding means (it is SMSC-defined, §5.2.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ZeroCoding {
    Gsm7,
    Latin1,
    Ascii,
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "smsc",
    version,
    about = "SMPP v3.4 SMSC: per-core mio event loops"
)]
pub struct Args {
    /// Read settings, accounts and routes from this TOML file (see
    /// docs/operations.md and examples/smsc.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the flags, the config file, the accounts and routes and the
    /// TLS files, print a summary, and exit (0, or 2 with the error)
    /// without listening.
    #[arg(long)]
    pub check_config: bool,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:2775")]
    pub listen: SocketAddr,
    /// Also serve SMPP over TLS on this address (off by default; the
    /// conventional one is 0.0.0.0:8775). Needs --tls-cert and --tls-key.
    #[arg(long)]
    pub tls_listen: Option<SocketAddr>,
    /// The server's certificate chain, PEM (leaf first); re-read on SIGHUP.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key, PEM (PKCS#8, RSA or EC); re-read on SIGHUP.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Ask TLS clients for a certificate and verify it against these CA
    /// certificates (PEM); accounts with `client_cert = required` need one.
    #[arg(long)]
    pub tls_client_ca: Option<PathBuf>,
    /// Connections from these sources (CIDR, comma list or repeated) are
    /// from a load balancer and start with a PROXY protocol header (v1 or
    /// v2, as HAProxy's `send-proxy`/`send-proxy-v2` sends): the client it
    /// names is the session's address (allow_ips, failed-bind throttle,
    /// logs, console). Required from them, ignored from anyone else.
    #[arg(long, value_delimiter = ',', value_parser = parse_cidr, value_name = "CIDR")]
    pub proxy_protocol_from: Vec<crate::account::Cidr>,
    /// Event loops (threads); default: the cores available.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Pin loop i to the i-th core listed, e.g. `0` or `0,1`.
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// An account as SYSTEM_ID:PASSWORD (repeatable; all bind types, no IP limit).
    #[arg(long = "account")]
    pub accounts: Vec<String>,
    /// Accounts file (see docs/operations.md).
    #[arg(long = "accounts")]
    pub accounts_file: Option<PathBuf>,
    /// A destination prefix owned by an account: PREFIX=SYSTEM_ID (repeatable);
    /// messages to it are delivered to that account as MO deliver_sm.
    #[arg(long = "route")]
    pub routes: Vec<String>,
    /// system_id this SMSC returns in bind responses.
    #[arg(long, default_value = "smsc")]
    pub system_id: String,
    /// Close a connection that has not bound within this time.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub session_init_timer: Duration,
    /// Send enquire_link after this long without a PDU from the ESME.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub enquire_link_timer: Duration,
    /// Unbind a session with no traffic other than enquire_link for this long.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub inactivity_timer: Duration,
    /// How long the ESME has to answer a PDU the server sent.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub response_timer: Duration,
    /// Connections accepted at most (all loops together).
    #[arg(long, default_value_t = 100_000)]
    pub max_connections: usize,
    /// Largest command_length accepted from a bound ESME.
    #[arg(long, default_value_t = 65_536)]
    pub max_pdu_bytes: u32,
    /// Largest write buffer per connection before the server stops reading it.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_write_buffer_bytes: usize,
    /// Outstanding deliver_sm per receiving session.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Receipts held per account while no receiver is bound (default for accounts).
    #[arg(long, default_value_t = 1_000_000)]
    pub receipt_queue: usize,
    /// Times a receipt is re-sent after an error or timeout before it is dropped.
    #[arg(long, default_value_t = 5)]
    pub receipt_retries: u8,
    /// Delay before a receipt that failed is offered again (doubles per retry).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub receipt_retry_backoff: Duration,
    /// How long a receipt waits for a receiver when the message set no validity period.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub receipt_ttl: Duration,
    /// Messages the store keeps per server (pending and final, split over the loops).
    #[arg(long, default_value_t = 1_000_000)]
    pub message_store: usize,
    /// How long a final message stays queryable (query_sm).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub message_retention: Duration,
    /// Validity of a message that gives no validity_period.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub default_validity: Duration,
    /// Submits per second per account (token bucket); 0 = unlimited.
    #[arg(long, default_value_t = 0)]
    pub throughput: u32,
    /// Meaning of data_coding 0.
    #[arg(long, value_enum, default_value = "gsm7")]
    pub data_coding_zero: ZeroCoding,
    /// Outcome model: e.g. `delay=0ms..2s,undeliv=0.1,expired=0.01,enroute,prefix:4479=REJECTD,prefix:4470=throttled`.
    #[arg(long, default_value = "")]
    pub outcomes: String,
    /// Directory for the receipt spool written at shutdown and read at start.
    #[arg(long)]
    pub spool_dir: Option<PathBuf>,
    /// Receipt journal in --spool-dir: `write` survives a crash of the
    /// process, `fsync` a power cut too (see docs/operations.md).
    #[arg(long, value_enum, default_value = "off")]
    pub journal: crate::journal::Mode,
    /// The HTTP listener: the operator's console (`GET /`), its API
    /// (`/api/v1/...`), Prometheus metrics and `POST /mo`; ADDR or a bare
    /// PORT (then on 127.0.0.1). Off by default. `--metrics-listen` is its
    /// old name.
    #[arg(long, alias = "metrics-listen", value_parser = parse_admin_listen)]
    pub admin_listen: Option<SocketAddr>,
    /// Every request to --admin-listen needs `Authorization: Bearer
    /// <token>`, the token being this file's content (surrounding
    /// whitespace ignored). Required when the listener is not on loopback.
    #[arg(long)]
    pub admin_token_file: Option<PathBuf>,
    /// Message events kept for GET /api/v1/messages/{id} (per server,
    /// split over the loops; 0 = none, the default): a ring of 40-octet
    /// records. Costs about 8 ns per accepted message and 14 ns per
    /// deliver_sm sent and acknowledged (benches/events.rs).
    #[arg(long, default_value_t = 0)]
    pub message_events: usize,
    /// Log one stats line this often (0 = never).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub stats_interval: Duration,
    /// Failed binds from one IP within a minute before further binds are delayed.
    #[arg(long, default_value_t = 5)]
    pub bind_fail_limit: u32,
    /// Time given to ESMEs to answer unbind at shutdown.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Log every connection open/close and bind (debug level); RUST_LOG,
    /// when set, chooses the levels instead.
    #[arg(long, short)]
    pub verbose: bool,
    /// Log lines as text or as one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: crate::log::Format,
    /// Join a cluster through this NATS server (JetStream), e.g.
    /// `nats://127.0.0.1:4222` (see docs/operations.md, "Cluster").
    #[arg(long)]
    pub nats: Option<String>,
    /// This node's number in the cluster (1..=4095, unique per node), carried
    /// in its message ids; 0 = a single node (needed with --nats).
    #[arg(long, default_value_t = 0)]
    pub node_id: u16,
    /// Deliveries and broker-routed submits held in memory per node while
    /// the broker is unreachable; submits beyond it get ESME_RSYSERR.
    #[arg(long, default_value_t = 100_000)]
    pub cluster_hold: usize,
    /// JetStream messages held per account for receivers that are not bound
    /// anywhere (the oldest beyond it are refused: the publisher retries).
    #[arg(long, default_value_t = 1_000_000)]
    pub cluster_account_hold: i64,
}
