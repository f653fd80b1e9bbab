//! Command line: `loadtest run ...` and `loadtest compare A B ...`.

use crate::templates::Kind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "loadtest",
    version,
    about = "SMPP v3.4 load generator for smsc"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

// Parsed once per process: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Bind, pipeline submit_sm, measure latencies, write a results folder.
    Run(RunArgs),
    /// Show results folders side by side and plot their latency curves.
    Compare(CompareArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum BindMode {
    /// bind_transmitter for submits plus one bind_receiver each for receipts.
    Tx,
    /// bind_transceiver: submits and receipts on the same bind.
    Trx,
}

impl BindMode {
    pub fn name(self) -> &'static str {
        match self {
            BindMode::Tx => "tx",
            BindMode::Trx => "trx",
        }
    }
}

/// How account B's binds receive the MO messages.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum MoBind {
    Rx,
    Trx,
}

/// ESME-to-ESME mode: until when a message holds its room in the window.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum MoWindow {
    /// Its submit_sm_resp and its MO: the message reached B. Its receipt
    /// is awaited and counted, not windowed (as in the receipt scenario,
    /// where the room is held until the submit_sm_resp); a thread has at
    /// most twice its windows' worth of messages in flight in all.
    Delivered,
    /// Its receipt as well (the submitter paces on receipts).
    Receipt,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:2775")]
    pub addr: String,
    /// With --bind tx: the receiver binds connect here instead (another
    /// node of a cluster: receipts then cross nodes).
    #[arg(long)]
    pub rx_addr: Option<String>,
    #[arg(long, default_value = "movider")]
    pub system_id: String,
    #[arg(long, default_value = "1111")]
    pub password: String,
    /// Submitting binds (with --bind tx, as many receiver binds again);
    /// thousands are fine (see --bind-concurrency).
    #[arg(long, default_value_t = 4)]
    pub binds: usize,
    /// Connections with a connect or bind in flight at once (in all
    /// threads): binds go in batches, not as one burst of SYNs.
    #[arg(long, default_value_t = 64)]
    pub bind_concurrency: usize,
    #[arg(long, value_enum, default_value_t = BindMode::Trx)]
    pub bind: BindMode,
    /// Outstanding submit_sm per bind.
    #[arg(long, default_value_t = 64)]
    pub window: u32,
    /// Hold each deliver_sm_resp up to this long so that it goes out with
    /// the bind's next submit_sm in one write (one TCP segment instead of
    /// two); 0 = answer at once. Thousands of binds at a few messages per
    /// second each then cost the load generator about half the CPU; the
    /// server sees its receipts acknowledged that much later.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub reply_hold: Duration,
    /// Open loop: sends due within this long of each other go out in one
    /// pass, after one wake-up. Larger: fewer wake-ups (less load-generator
    /// CPU), but up to this much of its own delay in the corrected latencies.
    #[arg(long, default_value = "50us", value_parser = parse_duration)]
    pub pacing_quantum: Duration,
    /// Open loop: wake once per tick instead of per arriving answer and per
    /// send. Each wake-up sends what is due within the next tick (up to one
    /// tick early; its latency is then counted from the actual send), and
    /// answers are timed by the kernel's receive timestamps, so a late read
    /// costs nothing in the figures. Far fewer wake-ups: the load generator
    /// needs much less CPU with thousands of binds. 0 = off.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub tick: Duration,
    /// submit_sm per second in total; 0 = closed loop (as fast as the windows allow).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Measured time (after the warm-up), e.g. 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Warm-up before measuring; its samples are discarded.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Share of messages sent with registered_delivery = 1 (0..=1).
    #[arg(long, default_value_t = 0.0)]
    pub receipts: f64,
    /// Message mix as shares: gsm7=1,ucs2=0,long=0,payload=0 (enquire=1: enquire_link round trips instead of messages).
    #[arg(long, default_value = "gsm7=1", value_parser = parse_mix)]
    pub mix: Mix,
    /// Event-loop threads of the load generator.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// CPUs to pin the threads to, e.g. 1 or 2,3 or 2-5 (thread i -> i-th CPU, cycling).
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<Cores>,
    /// PRNG seed (message kinds and receipt choices).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Results folder [default: results/YYYYMMDD-hhmmss, the start time in UTC].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Largest tolerated share of failed submits (error statuses, nacks, no answer).
    #[arg(long, default_value_t = 0.0)]
    pub max_error_rate: f64,
    /// After sending stops, how long to wait for outstanding answers and receipts.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub receipt_grace: Duration,
    /// The server's PID (on this machine): its CPU time and RSS over the
    /// measured time go into the summary (`server`), read from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Connect over TLS (the server's --tls-listen); needs --tls-ca or --tls-insecure.
    #[arg(long)]
    pub tls: bool,
    /// Verify the server's certificate against this CA file (PEM).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Accept any server certificate (benchmarks: the cost is the same, nothing is authenticated).
    #[arg(long)]
    pub tls_insecure: bool,
    /// Name to verify the certificate for [default: the --addr IP].
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// ESME-to-ESME mode: account B, which owns the --mo-prefix
    /// destinations (server: --route PREFIX=B). Every message goes to B,
    /// whose binds get it as an MO deliver_sm; a message holds its window
    /// room until its MO has arrived (see --mo-window).
    #[arg(long)]
    pub mo_system_id: Option<String>,
    /// Account B's password [default: --password].
    #[arg(long)]
    pub mo_password: Option<String>,
    /// Destination prefix owned by B (the destination is this + 00900001).
    #[arg(long, default_value = "4479")]
    pub mo_prefix: String,
    /// Account B's binds [default: --binds].
    #[arg(long)]
    pub mo_binds: Option<usize>,
    /// How B binds: bind_receiver or bind_transceiver.
    #[arg(long, value_enum, default_value_t = MoBind::Rx)]
    pub mo_bind: MoBind,
    /// ESME-to-ESME mode: what a message holds its window room until.
    #[arg(long, value_enum, default_value_t = MoWindow::Delivered)]
    pub mo_window: MoWindow,
    /// Per message, the chance of a query_sm beside it (for a recently
    /// accepted message id, with its source address), timed apart.
    #[arg(long, default_value_t = 0.0)]
    pub query_share: f64,
    /// Per message, the chance of an enquire_link beside it, timed apart
    /// (the link's round trip at the same moment as the queries').
    #[arg(long, default_value_t = 0.0)]
    pub enquire_share: f64,
}

impl RunArgs {
    /// `--mo-binds`, or as many as A's.
    pub fn mo_bind_count(&self) -> usize {
        match &self.mo_system_id {
            Some(_) => self.mo_binds.unwrap_or(self.binds),
            None => 0,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Results folders; ratios are relative to the first.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Where to write compare.svg [default: current directory].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `10s`, `500ms`, `250us`, `2m`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit.trim() {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" | "µs" => v / 1e6,
        "ns" => v / 1e9,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        u => return Err(format!("bad duration unit {u:?} in {s:?}")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Message-kind shares, normalised to cumulative thresholds over `u32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// (kind, share) as given.
    pub shares: Vec<(Kind, f64)>,
}

impl Mix {
    /// Cumulative thresholds: kind i is chosen when `r < cum[i]`, r uniform in u32.
    pub fn thresholds(&self) -> Vec<(Kind, u64)> {
        let total: f64 = self.shares.iter().map(|(_, w)| w).sum();
        let mut acc = 0.0;
        let mut out = Vec::new();
        for (k, w) in &self.shares {
            if *w <= 0.0 {
                continue;
            }
            acc += w / total;
            out.push((*k, (acc * 4_294_967_296.0).round() as u64));
        }
        if let Some(last) = out.last_mut() {
            last.1 = 1 << 32;
        }
        out
    }

    pub fn describe(&self) -> String {
        self.shares
            .iter()
            .map(|(k, w)| format!("{}={}", k.name(), w))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut shares: Vec<(Kind, f64)> = Kind::ALL.iter().map(|k| (*k, 0.0)).collect();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, val) = part
            .split_once('=')
            .ok_or(format!("mix entry {part:?} is not kind=share"))?;
        let v: f64 = val
            .trim()
            .parse()
            .map_err(|_| format!("bad share in {part:?}"))?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("bad share in {part:?}"));
        }
        let slot = shares
            .iter_mut()
            .find(|(k, _)| k.name() == name.trim())
            .ok_or(format!(
                "unknown message kind {name:?} (gsm7, ucs2, long, payload)"
            ))?;
        slot.1 = v;
    }
    if shares.iter().all(|(_, w)| *w <= 0.0) {
        return Err("the mix has no positive share".into());
    }
    Ok(Mix { shares })
}

/// A CPU list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cores(pub Vec<usize>);

/// `1`, `0,2`, `2-5`, `0,2-3`.
pub fn parse_cores(s: &str) -> Result<Cores, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad core {x:?} in {s:?}"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    return Err(format!("bad core range {part:?}"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    if out.is_empty() {
        return Err("empty core list".into());
    }
    Ok(Cores(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn mixes() {
        let m = parse_mix("gsm7=1,ucs2=0,long=0,payload=0").unwrap();
        assert_eq!(m.thresholds(), vec![(Kind::Gsm7, 1 << 32)]);
        let m = parse_mix("gsm7=3,long=1").unwrap();
        let t = m.thresholds();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].0, Kind::Gsm7);
        assert_eq!(t[0].1, 3 << 30);
        assert_eq!(t[1], (Kind::Long, 1 << 32));
        assert!(parse_mix("gsm7=0").is_err());
        assert!(parse_mix("sms=1").is_err());
        assert!(parse_mix("gsm7").is_err());
    }

    #[test]
    fn cores() {
        assert_eq!(parse_cores("1"), Ok(Cores(vec![1])));
        assert_eq!(parse_cores("0,2-4"), Ok(Cores(vec![0, 2, 3, 4])));
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores("").is_err());
    }

    #[test]
    fn cli_parses_issue_flags() {
        let cli = Cli::try_parse_from([
            "loadtest",
            "run",
            "--addr",
            "127.0.0.1:1",
            "--system-id",
            "a",
            "--password",
            "b",
            "--binds",
            "8",
            "--bind",
            "tx",
            "--window",
            "32",
            "--rate",
            "1000",
            "--duration",
            "3s",
            "--warmup",
            "500ms",
            "--receipts",
            "0.5",
            "--mix",
            "gsm7=1,ucs2=1",
            "--threads",
            "2",
            "--cores",
            "0-1",
            "--seed",
            "9",
            "--json",
            "--out",
            "/tmp/x",
            "--max-error-rate",
            "0.01",
            "--receipt-grace",
            "2s",
            "--bind-concurrency",
            "16",
            "--server-pid",
            "4242",
            "--mo-system-id",
            "bee",
            "--mo-binds",
            "3",
            "--mo-bind",
            "trx",
            "--mo-prefix",
            "4470",
            "--query-share",
            "0.01",
            "--enquire-share",
            "0.02",
        ])
        .unwrap();
        let Cmd::Run(a) = cli.cmd else { panic!() };
        assert_eq!(a.binds, 8);
        assert_eq!((a.bind_concurrency, a.server_pid), (16, Some(4242)));
        assert_eq!(a.bind, BindMode::Tx);
        assert_eq!(a.cores, Some(Cores(vec![0, 1])));
        assert_eq!(a.warmup, Duration::from_millis(500));
        assert!(a.json);
        assert_eq!(a.mo_system_id.as_deref(), Some("bee"));
        assert_eq!((a.mo_bind_count(), a.mo_bind), (3, MoBind::Trx));
        assert_eq!(
            (a.mo_prefix.as_str(), a.mo_password.as_deref()),
            ("4470", None)
        );
        assert_eq!((a.query_share, a.enquire_share), (0.01, 0.02));
        let cli = Cli::try_parse_from(["loadtest", "compare", "a", "b", "--out", "o"]).unwrap();
        let Cmd::Compare(c) = cli.cmd else { panic!() };
        assert_eq!(c.runs.len(), 2);
    }
}
