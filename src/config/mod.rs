//! Command line (and `--config FILE`, `file.rs`) -> validated [`Config`].
//! All validation happens here, once, at startup; the loops receive a
//! `&Config` they can trust. `--check-config` stops after it.

mod args;
pub mod file;

pub use args::{Args, ZeroCoding};

use crate::account::{self, Account, AccountError, Accounts};
use crate::outcome::{OutcomeModel, OutcomeParseError};
use clap::{CommandFactory, FromArgMatches, Parser};
use file::FileConfig;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Validated configuration shared (read-only) by every loop.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `--tls-listen` with its certificate, key and client CA (loaded).
    pub tls: Option<crate::tls::TlsConfig>,
    pub threads: usize,
    pub cores: Vec<usize>,
    pub accounts: Accounts,
    pub demo_account: bool,
    /// Where the accounts came from, for a reload.
    pub accounts_file: Option<PathBuf>,
    pub account_flags: Vec<String>,
    pub route_flags: Vec<String>,
    pub account_defaults: account::Defaults,
    pub system_id: String,
    pub session_init_timer: Duration,
    pub enquire_link_timer: Duration,
    pub inactivity_timer: Duration,
    pub response_timer: Duration,
    pub max_connections: usize,
    /// `--proxy-protocol-from`: sources whose connections start with a
    /// PROXY protocol header.
    pub proxy_protocol_from: Vec<crate::account::Cidr>,
    pub max_pdu_bytes: u32,
    pub max_write_buffer_bytes: usize,
    pub window: usize,
    pub receipt_retries: u8,
    pub receipt_retry_backoff: Duration,
    pub receipt_ttl: Duration,
    pub message_store: usize,
    pub message_retention: Duration,
    pub default_validity: Duration,
    pub data_coding_zero: ZeroCoding,
    pub outcomes: OutcomeModel,
    pub spool_dir: Option<PathBuf>,
    pub journal: crate::journal::Mode,
    /// `--admin-listen` (alias `--metrics-listen`).
    pub admin_listen: Option<SocketAddr>,
    /// The bearer token of `--admin-token-file`.
    pub admin_token: Option<String>,
    /// Message events kept per loop (`--message-events` / threads).
    pub message_events: usize,
    pub stats_interval: Duration,
    pub bind_fail_limit: u32,
    pub shutdown_grace: Duration,
    pub verbose: bool,
    pub log_format: crate::log::Format,
    /// `--config FILE`, re-read on SIGHUP for its accounts and routes.
    pub config_file: Option<PathBuf>,
    /// The command line as given (a reload parses it again over the file).
    pub argv: Vec<OsString>,
    /// `--nats`: the cluster's broker; None for a single node.
    pub nats: Option<String>,
    pub node_id: u16,
    pub cluster_hold: usize,
    pub cluster_account_hold: i64,
    /// Destination prefixes routed to the broker (`--route PREFIX=nats`).
    pub broker_routes: Option<crate::route::Routes>,
}

/// The command line and the config file it names, parsed.
#[derive(Debug)]
pub struct Loaded {
    pub args: Args,
    pub file: Option<FileConfig>,
    pub argv: Vec<OsString>,
}

/// Why [`load`] failed: clap's own report (usage, `--help`), or a message.
#[derive(Debug)]
pub enum LoadError {
    Clap(clap::Error),
    Config(String),
}

/// Parses `argv` (program name first); with `--config FILE`, the file's
/// settings go before the command line's, for the keys the command line
/// does not set.
pub fn load(argv: Vec<OsString>) -> Result<Loaded, LoadError> {
    let cmd = Args::command();
    let m = cmd
        .clone()
        .try_get_matches_from(&argv)
        .map_err(LoadError::Clap)?;
    let Some(path) = m.get_one::<PathBuf>("config").cloned() else {
        let args = Args::from_arg_matches(&m).map_err(LoadError::Clap)?;
        return Ok(Loaded {
            args,
            file: None,
            argv,
        });
    };
    let given = |id: &str| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let file = file::read(&path, &cmd, &given).map_err(LoadError::Config)?;
    let mut full: Vec<OsString> = argv.iter().take(1).cloned().collect();
    full.extend(file.args.iter().cloned());
    full.extend(argv.iter().skip(1).cloned());
    let args = Args::try_parse_from(full).map_err(LoadError::Clap)?;
    Ok(Loaded {
        args,
        file: Some(file),
        argv,
    })
}

#[derive(Debug)]
pub enum ConfigError {
    Account(AccountError),
    Outcomes(OutcomeParseError),
    Tls(crate::tls::TlsError),
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Account(e) => write!(f, "{e}"),
            ConfigError::Outcomes(e) => write!(f, "--outcomes: {e}"),
            ConfigError::Tls(e) => write!(f, "{e}"),
            ConfigError::Invalid(s) => f.write_str(s),
        }
    }
}

/// The accounts of `--accounts FILE`, then `--config`'s `[[account]]`
/// tables, then the `--account` flags; `--route` flags and `[routes]` give
/// them numbers.
fn account_list(
    file: Option<&std::path::Path>,
    flags: &[String],
    routes: &[String],
    config: Option<&FileConfig>,
    defaults: &account::Defaults,
) -> Result<Vec<Account>, ConfigError> {
    let mut list: Vec<Account> = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Invalid(format!("--accounts {}: {e}", path.display())))?;
        list.extend(
            account::parse_file(&text, defaults)
                .map_err(|e| ConfigError::Account(e.in_file(path.display().to_string())))?,
        );
    }
    if let Some(cf) = config {
        for fa in &cf.accounts {
            if list.iter().any(|a| a.system_id == fa.system_id) {
                return Err(ConfigError::Invalid(cf.at(
                    fa.line,
                    "system_id",
                    &format!("{:?} is defined twice", fa.system_id),
                )));
            }
            let mut a = Account::new(&fa.system_id, "", defaults);
            for (line, key, val) in &fa.settings {
                account::apply(&mut a, key, val)
                    .map_err(|m| ConfigError::Invalid(cf.at(*line, key, &m)))?;
            }
            list.push(a);
        }
    }
    for (i, spec) in flags.iter().enumerate() {
        list.push(
            account::parse_flag(spec, defaults)
                .map_err(|e| ConfigError::Invalid(format!("--account #{}: {e}", i + 1)))?,
        );
    }
    for r in routes {
        let (prefix, sid) = r.split_once('=').ok_or_else(|| {
            ConfigError::Invalid(format!("--route {r:?}: expected PREFIX=SYSTEM_ID"))
        })?;
        let acct = list
            .iter_mut()
            .find(|a| a.system_id == sid.trim())
            .ok_or_else(|| ConfigError::Invalid(format!("--route {r:?}: no account {sid:?}")))?;
        crate::route::Routes::build([(prefix, account::AccountId(0))])
            .map_err(|e| ConfigError::Invalid(format!("--route {r:?}: {e}")))?;
        acct.numbers.push(prefix.trim().to_string());
    }
    for r in config.map(|c| c.routes.as_slice()).unwrap_or_default() {
        let at = |m: String| {
            ConfigError::Invalid(config.map_or(m.clone(), |c| c.at(r.line, &r.prefix, &m)))
        };
        let acct = list
            .iter_mut()
            .find(|a| a.system_id == r.system_id)
            .ok_or_else(|| at(format!("no account {:?}", r.system_id)))?;
        crate::route::Routes::build([(r.prefix.as_str(), account::AccountId(0))]).map_err(at)?;
        acct.numbers.push(r.prefix.trim().to_string());
    }
    Ok(list)
}

impl Config {
    /// Reads the accounts file again (for a reload on SIGHUP), with the
    /// `--account` flags after it as at start.
    pub fn reread_accounts(&self) -> Result<Vec<Account>, ConfigError> {
        let list = if self.config_file.is_some() {
            // The whole file again, under the same command line: its
            // accounts, routes and accounts file path may have changed.
            let loaded = load(self.argv.clone()).map_err(|e| match e {
                LoadError::Clap(e) => ConfigError::Invalid(e.to_string()),
                LoadError::Config(m) => ConfigError::Invalid(m),
            })?;
            let a = &loaded.args;
            // Broker routes (`PREFIX=nats`) name no account.
            let routes: Vec<String> = a
                .routes
                .iter()
                .filter(|r| r.split_once('=').is_none_or(|(_, t)| t.trim() != "nats"))
                .cloned()
                .collect();
            account_list(
                a.accounts_file.as_deref(),
                &a.accounts,
                &routes,
                loaded.file.as_ref(),
                &self.account_defaults,
            )?
        } else if let Some(file) = &self.accounts_file {
            account_list(
                Some(file),
                &self.account_flags,
                &self.route_flags,
                None,
                &self.account_defaults,
            )?
        } else {
            return Err(ConfigError::Invalid(
                "no --accounts or --config file to reload".into(),
            ));
        };
        check_tls_accounts(&list, self.tls.as_ref())?;
        if list.is_empty() {
            return Err(ConfigError::Invalid(
                "the files have no account: keeping the current ones".into(),
            ));
        }
        Ok(list)
    }

    /// A validated configuration from what [`load`] read; errors about a
    /// setting the config file made name its line.
    pub fn from_loaded(l: Loaded) -> Result<Config, ConfigError> {
        let file = l.file;
        let mut c = Config::build(l.args, file.as_ref()).map_err(|e| match &file {
            Some(f) => match e {
                ConfigError::Account(_) => e,
                other => ConfigError::Invalid(f.locate(&other.to_string())),
            },
            None => e,
        })?;
        c.config_file = file.map(|f| f.path);
        c.argv = l.argv;
        Ok(c)
    }

    pub fn from_args(a: Args) -> Result<Config, ConfigError> {
        Config::build(a, None)
    }

    fn build(a: Args, file: Option<&FileConfig>) -> Result<Config, ConfigError> {
        let threads = a.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        if threads == 0 || threads > 256 {
            return Err(ConfigError::Invalid("--threads must be 1..=256".into()));
        }
        if !a.cores.is_empty() && a.cores.len() < threads && a.threads.is_some() {
            return Err(ConfigError::Invalid(format!(
                "--cores lists {} cores for {} threads",
                a.cores.len(),
                threads
            )));
        }
        // With --cores and no --threads, run one loop per listed core.
        let threads = if a.threads.is_none() && !a.cores.is_empty() {
            a.cores.len()
        } else {
            threads
        };
        if a.max_pdu_bytes < 64 {
            return Err(ConfigError::Invalid(
                "--max-pdu-bytes must be at least 64".into(),
            ));
        }
        if a.window == 0 || a.window > 65_535 {
            return Err(ConfigError::Invalid("--window must be 1..=65535".into()));
        }
        if a.system_id.is_empty() || a.system_id.len() > 15 {
            return Err(ConfigError::Invalid(
                "--system-id must be 1..=15 characters".into(),
            ));
        }
        if a.journal != crate::journal::Mode::Off && a.spool_dir.is_none() {
            return Err(ConfigError::Invalid(
                "--journal needs --spool-dir (the journal lives there)".into(),
            ));
        }
        if let Some(d) = a.spool_dir.as_deref().filter(|d| d.exists() && !d.is_dir()) {
            return Err(ConfigError::Invalid(format!(
                "--spool-dir {}: not a directory",
                d.display()
            )));
        }
        if a.nats.is_some() && (a.node_id == 0 || a.node_id > crate::msgid::MAX_NODE) {
            return Err(ConfigError::Invalid(format!(
                "--nats needs --node-id 1..={} (unique per node)",
                crate::msgid::MAX_NODE
            )));
        }
        if a.node_id > crate::msgid::MAX_NODE {
            return Err(ConfigError::Invalid(format!(
                "--node-id must be 0..={}",
                crate::msgid::MAX_NODE
            )));
        }
        // `--route PREFIX=nats`: the operator's delivery service, not an account.
        let (broker, routes): (Vec<String>, Vec<String>) = a
            .routes
            .iter()
            .cloned()
            .partition(|r| r.split_once('=').is_some_and(|(_, t)| t.trim() == "nats"));
        let broker_routes = if broker.is_empty() {
            None
        } else {
            if a.nats.is_none() {
                return Err(ConfigError::Invalid(
                    "--route PREFIX=nats needs --nats (the broker)".into(),
                ));
            }
            let prefixes: Vec<&str> = broker
                .iter()
                .filter_map(|r| r.split_once('=').map(|(p, _)| p))
                .collect();
            Some(
                crate::route::Routes::build(prefixes.iter().map(|p| (*p, account::AccountId(0))))
                    .map_err(|e| ConfigError::Invalid(format!("--route: {e}")))?,
            )
        };
        let a = Args { routes, ..a };
        let tls = tls_config(&a)?;
        let admin_token = admin_token(&a)?;
        let outcomes = OutcomeModel::parse(&a.outcomes).map_err(ConfigError::Outcomes)?;
        let defaults = account::Defaults {
            receipt_queue: a.receipt_queue,
            throughput: a.throughput,
            outcomes: outcomes.clone(),
        };
        let mut list = account_list(
            a.accounts_file.as_deref(),
            &a.accounts,
            &a.routes,
            file,
            &defaults,
        )?;
        check_tls_accounts(&list, tls.as_ref())?;
        let demo_account = list.is_empty();
        if demo_account {
            list.push(Account::new("movider", "1111", &defaults));
        }
        let accounts = Accounts::new(list).map_err(ConfigError::Account)?;
        Ok(Config {
            listen: a.listen,
            tls,
            threads,
            cores: a.cores,
            accounts,
            demo_account,
            accounts_file: a.accounts_file,
            account_flags: a.accounts,
            route_flags: a.routes,
            account_defaults: defaults,
            system_id: a.system_id,
            session_init_timer: a.session_init_timer,
            enquire_link_timer: a.enquire_link_timer,
            inactivity_timer: a.inactivity_timer,
            response_timer: a.response_timer,
            max_connections: a.max_connections.max(1),
            proxy_protocol_from: a.proxy_protocol_from,
            max_pdu_bytes: a.max_pdu_bytes,
            max_write_buffer_bytes: a.max_write_buffer_bytes.max(64 * 1024),
            window: a.window,
            receipt_retries: a.receipt_retries,
            receipt_retry_backoff: a.receipt_retry_backoff,
            receipt_ttl: a.receipt_ttl,
            message_store: a.message_store.max(threads),
            message_retention: a.message_retention,
            default_validity: a.default_validity,
            data_coding_zero: a.data_coding_zero,
            outcomes,
            spool_dir: a.spool_dir,
            journal: a.journal,
            admin_listen: a.admin_listen,
            admin_token,
            message_events: a.message_events / threads,
            stats_interval: a.stats_interval,
            bind_fail_limit: a.bind_fail_limit,
            shutdown_grace: a.shutdown_grace,
            verbose: a.verbose,
            log_format: a.log_format,
            config_file: None,
            argv: Vec::new(),
            nats: a.nats,
            node_id: a.node_id,
            cluster_hold: a.cluster_hold.max(1),
            cluster_account_hold: a.cluster_account_hold.max(1),
            broker_routes,
        })
    }

    /// What `--check-config` prints: what the server would run with.
    pub fn summary(&self) -> String {
        let live: Vec<&Account> = self.accounts.iter().filter(|a| !a.removed).collect();
        let numbers: usize = live.iter().map(|a| a.numbers.len()).sum();
        let mut s = format!(
            "configuration OK: listen {}, {} loop(s), {} account(s){}, {numbers} route prefix(es), journal {}",
            self.listen,
            self.threads,
            live.len(),
            if self.demo_account { " (the demo account)" } else { "" },
            format!("{:?}", self.journal).to_ascii_lowercase(),
        );
        if let Some(t) = &self.tls {
            s.push_str(&format!(
                ", TLS on {} with {}",
                t.listen,
                t.files.cert.display()
            ));
        }
        if let Some(m) = self.admin_listen {
            s.push_str(&format!(", HTTP (console, API, metrics) on {m}"));
        }
        if !self.proxy_protocol_from.is_empty() {
            s.push_str(&format!(
                ", PROXY protocol from {} network(s)",
                self.proxy_protocol_from.len()
            ));
        }
        s
    }

    /// A configuration for tests: ephemeral port on 127.0.0.1, one loop.
    pub fn for_tests() -> Config {
        let args = Args::parse_from(["smsc", "--listen", "127.0.0.1:0", "--threads", "1"]);
        match Config::from_args(args) {
            Ok(c) => c,
            Err(e) => panic!("test config: {e}"),
        }
    }
}

/// `--tls-listen` and its files: loaded now, so a bad file stops the start.
fn tls_config(a: &Args) -> Result<Option<crate::tls::TlsConfig>, ConfigError> {
    let Some(listen) = a.tls_listen else {
        for (flag, set) in [
            ("--tls-cert", a.tls_cert.is_some()),
            ("--tls-key", a.tls_key.is_some()),
            ("--tls-client-ca", a.tls_client_ca.is_some()),
        ] {
            if set {
                return Err(ConfigError::Invalid(format!(
                    "{flag} needs --tls-listen (the address of the TLS listener)"
                )));
            }
        }
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) else {
        return Err(ConfigError::Invalid(
            "--tls-listen needs --tls-cert and --tls-key".into(),
        ));
    };
    if listen == a.listen && listen.port() != 0 {
        return Err(ConfigError::Invalid(format!(
            "--tls-listen {listen} is also --listen: give TLS its own port"
        )));
    }
    let files = crate::tls::TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: a.tls_client_ca.clone(),
    };
    let server = crate::tls::load(&files).map_err(ConfigError::Tls)?;
    Ok(Some(crate::tls::TlsConfig {
        listen,
        files,
        server,
    }))
}

/// `--admin-token-file`, read now; an admin listener off loopback needs it
/// (it can unbind sessions and inject messages).
fn admin_token(a: &Args) -> Result<Option<String>, ConfigError> {
    let token = match &a.admin_token_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::Invalid(format!("--admin-token-file {}: {e}", path.display()))
            })?;
            let t = text.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::Invalid(format!(
                    "--admin-token-file {}: the token must be one word of printable ASCII",
                    path.display()
                )));
            }
            Some(t.to_string())
        }
    };
    if let Some(addr) = a.admin_listen {
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(ConfigError::Invalid(format!(
                "--admin-listen {addr} is not a loopback address: give --admin-token-file too \
                 (the admin API can unbind sessions and inject messages)"
            )));
        }
    }
    Ok(token)
}

/// A network for `--proxy-protocol-from`: `10.0.0.0/8`, `192.0.2.7`, `::1`.
fn parse_cidr(s: &str) -> Result<crate::account::Cidr, String> {
    crate::account::Cidr::parse(s).ok_or_else(|| format!("not an IP network in CIDR form: {s:?}"))
}

/// `--admin-listen`: ADDR, or a bare PORT on 127.0.0.1.
fn parse_admin_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.trim().parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected ADDR:PORT (e.g. 127.0.0.1:9100) or a port"))
}

/// Accounts that need TLS or a client certificate need the listener and
/// the CA that provide them (at start and at every reload).
fn check_tls_accounts(
    list: &[Account],
    tls: Option<&crate::tls::TlsConfig>,
) -> Result<(), ConfigError> {
    for a in list {
        if (a.tls_required || a.client_cert_required) && tls.is_none() {
            return Err(ConfigError::Invalid(format!(
                "account {:?} requires TLS but there is no --tls-listen",
                a.system_id
            )));
        }
        if a.client_cert_required && tls.is_some_and(|t| t.files.client_ca.is_none()) {
            return Err(ConfigError::Invalid(format!(
                "account {:?} requires a client certificate but there is no --tls-client-ca",
                a.system_id
            )));
        }
    }
    Ok(())
}

/// Parses `30s`, `500ms`, `5m`, `1h`, `2d`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (try 30s, 500ms, 5m)"))?;
    let secs = match unit.trim() {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" => v / 1e6,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        "d" => v * 86_400.0,
        u => {
            return Err(format!(
                "bad duration unit {u:?} in {s:?} (use ms, s, m, h, d)"
            ))
        }
    };
    if !secs.is_finite() || !(0.0..=10.0 * 365.0 * 86_400.0).contains(&secs) {
        return Err(format!("duration {s:?} out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn defaults_match_the_interface_document() {
        let c = Config::from_args(Args::parse_from(["smsc"])).unwrap();
        assert_eq!(c.listen, "0.0.0.0:2775".parse().unwrap());
        assert_eq!(c.session_init_timer, Duration::from_secs(30));
        assert_eq!(c.enquire_link_timer, Duration::from_secs(30));
        assert_eq!(c.inactivity_timer, Duration::from_secs(300));
        assert!(c.demo_account);
        assert!(c.accounts.by_system_id(b"movider").is_some());
    }

    #[test]
    fn cores_imply_threads() {
        let c = Config::from_args(Args::parse_from(["smsc", "--cores", "0,1"])).unwrap();
        assert_eq!(c.threads, 2);
        assert!(
            Config::from_args(Args::parse_from(["smsc", "--threads", "3", "--cores", "0"]))
                .is_err()
        );
    }
}
