//! `loadtest run`: starts the worker threads, prints a progress line every
//! second, merges their histograms, writes the results folder and decides
//! the verdict.
//!
//! # Results folder
//!
//! | file | content |
//! |---|---|
//! | `params.txt` | the run's flags, `key = value` per line |
//! | `summary.json` | the summary (fields: see [`crate::summary`]) |
//! | `summary.txt` | the table printed at the end |
//! | `submit_resp.hgrm` | submit -> submit_sm_resp, corrected for coordinated omission (open loop; in closed loop the same as uncorrected) |
//! | `submit_resp_uncorrected.hgrm` | the same from the actual write |
//! | `receipt.hgrm`, `receipt_uncorrected.hgrm` | submit -> receipt, likewise |
//! | `intervals.csv` | one row per second, see below |
//! | `submit_resp.hlog`, `submit_resp_uncorrected.hlog`, `receipt.hlog`, `receipt_uncorrected.hlog` | HdrHistogram interval logs of the same four latencies: one histogram per second (see [`crate::hlog`]) |
//!
//! `intervals.csv` columns: `second` (interval index from the start of
//! sending), `phase` (`warmup`, `measure`, `drain`), `submits`, `ok`,
//! `errors`, `receipts` (matched in that second), `receipts_pending` (at its
//! end), then that second's latency percentiles in microseconds:
//! `resp_p50_us, resp_p99_us, resp_max_us` (corrected), `resp_uncorr_p50_us,
//! resp_uncorr_p99_us`, `rcpt_p50_us, rcpt_p99_us, rcpt_max_us` (corrected),
//! `rcpt_uncorr_p50_us, rcpt_uncorr_p99_us`. Empty histograms give 0.
//!
//! The `.hlog` files are HdrHistogram's standard interval log (what
//! `HistogramLogProcessor` and `HistogramLogAnalyzer` read): StartTime and
//! BaseTime are the wall-clock time sending began, each line is one second
//! (start offset, length, max, compressed histogram; values in µs), the
//! same seconds as `intervals.csv`, plus a last, shorter interval with the
//! samples that came after the last whole second (the drain), so the
//! intervals of a file add up to its `.hgrm`.

use crate::cli::BindMode;
use crate::cli::RunArgs;
use crate::hlog::RunLogs;
use crate::report::write_hgrm;
use crate::stats::{BindStats, Counters, FinalReport, Hists, Report, StatusCounts};
use crate::summary::{
    summary_table, Binds, Cpu, DeliverSm, Lat, LatPair, Latencies, Mode, Receipts, ServerUsage,
    StatusRow, Submits, Summary,
};
use crate::sys::ProcUsage;
use crate::templates::Templates;
use crate::worker::{Plan, Shared, Worker, BIND_TIMEOUT};
use smsc::pdu::CommandId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// CPU share of one core above which a thread is called saturated.
pub const SATURATED_PCT: f64 = 90.0;

/// How the run ended.
pub struct Outcome {
    pub summary: Summary,
    /// The run's counters, merged over the threads (the summary shows most).
    pub counters: Counters,
    /// 0 pass, 1 the server misbehaved (thresholds), 2 the run could not be done.
    pub exit_code: i32,
}

fn params(a: &RunArgs, threads: usize) -> Vec<(String, String)> {
    let d = |d: Duration| format!("{}ms", d.as_millis());
    vec![
        ("addr".into(), a.addr.clone()),
        ("system_id".into(), a.system_id.clone()),
        ("binds".into(), a.binds.to_string()),
        ("bind_concurrency".into(), a.bind_concurrency.to_string()),
        ("bind".into(), a.bind.name().into()),
        ("window".into(), a.window.to_string()),
        ("reply_hold".into(), d(a.reply_hold)),
        (
            "pacing_quantum".into(),
            format!("{}us", a.pacing_quantum.as_micros()),
        ),
        ("tick".into(), format!("{}us", a.tick.as_micros())),
        ("rate".into(), a.rate.to_string()),
        ("duration".into(), d(a.duration)),
        ("warmup".into(), d(a.warmup)),
        ("receipts".into(), a.receipts.to_string()),
        ("mix".into(), a.mix.describe()),
        ("threads".into(), threads.to_string()),
        (
            "cores".into(),
            a.cores.as_ref().map_or("-".into(), |c| {
                c.0.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        ),
        ("seed".into(), a.seed.to_string()),
        (
            "tls".into(),
            match (a.tls, a.tls_insecure) {
                (false, _) => "off".into(),
                (true, true) => "insecure".into(),
                (true, false) => "verified".into(),
            },
        ),
        ("max_error_rate".into(), a.max_error_rate.to_string()),
        ("receipt_grace".into(), d(a.receipt_grace)),
        (
            "server_pid".into(),
            a.server_pid.map_or("-".into(), |p| p.to_string()),
        ),
    ]
}

fn results_dir(a: &RunArgs) -> PathBuf {
    a.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(crate::sys::timestamp(crate::sys::unix_now()))
    })
}

/// Per-interval aggregation in the main thread.
struct Interval {
    reports: usize,
    counters: Counters,
    hists: Hists,
}

struct Progress {
    csv: String,
    hlogs: RunLogs,
    /// Index of the next interval (the first not emitted yet).
    next_index: u64,
    prev: Counters,
    totals: Hists,
    quiet: bool,
    warmup_s: f64,
    measure_end_s: f64,
}

fn pct(h: &hdrhistogram::Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

/// A percentile in ms for the progress line ("-" before the first sample).
fn pms(h: &hdrhistogram::Histogram<u64>, q: f64) -> String {
    if h.is_empty() {
        "-".into()
    } else {
        format!("{:.3}", h.value_at_quantile(q) as f64 / 1000.0)
    }
}

impl Progress {
    fn emit(&mut self, index: u64, iv: &Interval) {
        self.totals.add(&iv.hists);
        self.hlogs.append(
            &iv.hists,
            Duration::from_secs(index),
            Duration::from_secs(1),
        );
        self.next_index = index + 1;
        let c = &iv.counters;
        let p = &self.prev;
        let end_s = (index + 1) as f64;
        let phase = if end_s <= self.warmup_s {
            "warmup"
        } else if end_s <= self.measure_end_s + 1e-9 {
            "measure"
        } else {
            "drain"
        };
        let h = &iv.hists;
        let _ = writeln!(
            self.csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            index + 1,
            phase,
            c.sent.saturating_sub(p.sent),
            c.ok.saturating_sub(p.ok),
            c.answered_errors().saturating_sub(p.answered_errors()),
            c.receipts_matched.saturating_sub(p.receipts_matched),
            c.receipts_pending(),
            pct(&h.resp_c, 0.5),
            pct(&h.resp_c, 0.99),
            h.resp_c.max(),
            pct(&h.resp_u, 0.5),
            pct(&h.resp_u, 0.99),
            pct(&h.rcpt_c, 0.5),
            pct(&h.rcpt_c, 0.99),
            h.rcpt_c.max(),
            pct(&h.rcpt_u, 0.5),
            pct(&h.rcpt_u, 0.99),
        );
        if !self.quiet {
            let t = &self.totals;
            eprintln!(
                "[{:>4}s {:<7}] {:>9} submit/s  ok {:>9}/s  errors {:>6}  resp p50 {} p99 {} ms  rcpt p50 {} p99 {} ms  receipts pending {}",
                index + 1,
                phase,
                c.sent.saturating_sub(p.sent),
                c.ok.saturating_sub(p.ok),
                c.answered_errors(),
                pms(&t.resp_c, 0.5),
                pms(&t.resp_c, 0.99),
                pms(&t.rcpt_c, 0.5),
                pms(&t.rcpt_c, 0.99),
                c.receipts_pending(),
            );
        }
        self.prev = iv.counters;
    }
}

const CSV_HEADER: &str = "second,phase,submits,ok,errors,receipts,receipts_pending,resp_p50_us,resp_p99_us,resp_max_us,resp_uncorr_p50_us,resp_uncorr_p99_us,rcpt_p50_us,rcpt_p99_us,rcpt_max_us,rcpt_uncorr_p50_us,rcpt_uncorr_p99_us\n";

/// Runs the load test described by `a`.
pub fn run(a: &RunArgs) -> Result<Outcome, String> {
    let addr = a
        .addr
        .to_socket_addrs()
        .map_err(|e| format!("bad --addr {}: {e}", a.addr))?
        .next()
        .ok_or(format!("--addr {} resolves to nothing", a.addr))?;
    if a.binds == 0 || a.window == 0 {
        return Err("--binds and --window must be at least 1".into());
    }
    if !(0.0..=1.0).contains(&a.receipts) {
        return Err("--receipts is a fraction between 0 and 1".into());
    }
    let threads = a.threads.clamp(1, a.binds);
    // Bind g is on thread g mod threads (the open-loop schedule's layout).
    let binds_per_thread: Vec<usize> = (0..threads)
        .map(|t| a.binds / threads + usize::from(t < a.binds % threads))
        .collect();
    let conns = a.binds * if a.bind == BindMode::Tx { 2 } else { 1 };
    check_fd_limit(conns)?;
    let server0 = match a.server_pid {
        Some(pid) => Some(
            ProcUsage::read(pid).map_err(|e| format!("--server-pid {pid}: /proc/{pid}: {e}"))?,
        ),
        None => None,
    };
    let dir = results_dir(a);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let params = params(a, threads);
    let mut ptxt = String::new();
    for (k, v) in &params {
        let _ = writeln!(ptxt, "{k} = {v}");
    }
    write_file(&dir, "params.txt", &ptxt)?;

    let tls = if a.tls {
        Some(crate::tls::client(
            a.tls_ca.as_deref(),
            a.tls_insecure,
            a.tls_server_name.as_deref(),
            addr,
        )?)
    } else {
        None
    };
    let plan = Arc::new(Plan {
        addr,
        system_id: a.system_id.clone(),
        password: a.password.clone(),
        bind: a.bind,
        window: a.window,
        reply_hold_ns: a.reply_hold.as_nanos() as u64,
        pacing_quantum_ns: a.pacing_quantum.as_nanos() as u64,
        tick_ns: a.tick.as_nanos() as u64,
        rate: a.rate,
        warmup: a.warmup,
        duration: a.duration,
        grace: a.receipt_grace,
        receipt_threshold: (a.receipts * 4_294_967_296.0).round() as u64,
        mix: a.mix.thresholds(),
        threads,
        seed: a.seed,
        cores: a.cores.as_ref().map(|c| c.0.clone()),
        binds_per_thread,
        bind_concurrency: a.bind_concurrency.max(threads).div_ceil(threads),
        // Generous: a healthy server binds a connection in well under a ms.
        setup_timeout: BIND_TIMEOUT + Duration::from_millis(10) * conns as u32,
        tls,
    });
    let shared = Arc::new(Shared::new(threads));
    let templates = Arc::new(Templates::new());
    let (report_tx, report_rx) = mpsc::channel::<Report>();
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..threads {
        let (tx, rx) = mpsc::channel();
        senders.push(tx);
        receivers.push(rx);
    }
    let mut handles = Vec::new();
    for (i, inbox) in receivers.into_iter().enumerate() {
        let w = Worker::new(
            i,
            plan.clone(),
            shared.clone(),
            templates.clone(),
            inbox,
            senders.clone(),
            report_tx.clone(),
        )
        .map_err(|e| format!("poll: {e}"))?;
        let h = std::thread::Builder::new()
            .name(format!("loadtest-{i}"))
            .spawn(move || w.run())
            .map_err(|e| format!("spawn: {e}"))?;
        handles.push(h);
    }
    drop(report_tx);
    drop(senders);

    let setup0 = Instant::now();
    let started = shared.start.wait(plan.start_timeout());
    let setup_s = setup0.elapsed().as_secs_f64();
    let wall0 = Instant::now();
    // The server's usage over the measured time: sampled at its two ends.
    let mut server = ServerWatch::new(a, wall0, server0);
    let start_time = SystemTime::now();
    let cpu0 = crate::sys::process_cpu();
    if !started {
        shared.bind_failed.store(true, Ordering::SeqCst);
    }
    let mut prog = Progress {
        csv: CSV_HEADER.to_string(),
        hlogs: RunLogs::new(start_time),
        next_index: 0,
        prev: Counters::default(),
        totals: Hists::new(),
        quiet: a.json,
        warmup_s: a.warmup.as_secs_f64(),
        measure_end_s: (a.warmup + a.duration).as_secs_f64(),
    };
    let mut pending: BTreeMap<u64, Interval> = BTreeMap::new();
    let mut finals: Vec<FinalReport> = Vec::new();
    let deadline =
        Instant::now() + a.warmup + a.duration + a.receipt_grace + Duration::from_secs(90);
    while finals.len() < threads {
        server.sample();
        match report_rx.recv_timeout(server.wait(Duration::from_millis(200))) {
            Ok(Report::Interval {
                index,
                counters,
                hists,
                ..
            }) => {
                let iv = pending.entry(index).or_insert_with(|| Interval {
                    reports: 0,
                    counters: Counters::default(),
                    hists: Hists::new(),
                });
                iv.reports += 1;
                iv.counters.add(&counters);
                iv.hists.add(&hists);
                // Emit every interval all threads have reported, in order.
                while let Some(entry) = pending.first_entry() {
                    if entry.get().reports < threads {
                        break;
                    }
                    let (k, iv) = entry.remove_entry();
                    prog.emit(k, &iv);
                }
            }
            Ok(Report::Final(f)) => finals.push(*f),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() > deadline {
                    shared.stop.store(true, Ordering::SeqCst);
                    return Err("workers did not finish in time".into());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // The workers can end a hair before the main thread's clock says the
    // measured time is over: then the end is sampled now.
    server.finish();
    for h in handles {
        let _ = h.join();
    }
    if finals.len() < threads {
        return Err("a worker thread died".into());
    }
    let wall = wall0.elapsed();
    let cpu = crate::sys::process_cpu().saturating_sub(cpu0);
    // Intervals not reported by every thread: their samples still count.
    for (k, iv) in std::mem::take(&mut pending) {
        prog.emit(k, &iv);
    }
    let mut totals = std::mem::take(&mut prog.totals);
    let mut counters = Counters::default();
    let mut statuses = StatusCounts::default();
    let mut errors = Vec::new();
    finals.sort_by_key(|f| f.thread);
    let mut cpu_threads = Vec::new();
    // The samples after the last whole second: a last, shorter interval.
    let mut rest = Hists::new();
    let mut binds = BindStats::default();
    for f in &finals {
        totals.add(&f.hists);
        rest.add(&f.hists);
        counters.add(&f.counters);
        statuses.merge(&f.statuses);
        binds.merge(&f.binds);
        if let Some(e) = &f.error {
            errors.push(format!("thread {}: {e}", f.thread));
        }
        let wall = f.wall_sending.as_secs_f64();
        cpu_threads.push(if wall > 0.0 {
            100.0 * f.cpu_sending.as_secs_f64() / wall
        } else {
            0.0
        });
    }
    if [&rest.resp_c, &rest.resp_u, &rest.rcpt_c, &rest.rcpt_u]
        .iter()
        .any(|h| !h.is_empty())
    {
        let offset = Duration::from_secs(prog.next_index);
        let length = wall.saturating_sub(offset).max(Duration::from_millis(1));
        prog.hlogs.append(&rest, offset, length);
    }
    if counters.ok > 0 {
        statuses.add(CommandId::SUBMIT_SM_RESP.0, 0, counters.ok);
    }

    let duration_s = a.duration.as_secs_f64();
    let error_rate = if counters.sent > 0 {
        counters.errors() as f64 / counters.sent as f64
    } else {
        0.0
    };
    let saturated = cpu_threads.iter().any(|p| *p > SATURATED_PCT);
    let mut failures = Vec::new();
    let setup_failed = shared.bind_failed.load(Ordering::SeqCst);
    if setup_failed {
        failures.push(format!("setup failed: {}", errors.join("; ")));
    } else if !errors.is_empty() {
        failures.push(errors.join("; "));
    }
    if binds.failed > 0 && !setup_failed {
        failures.push(format!(
            "{} of {} binds failed ({})",
            binds.failed,
            binds.requested,
            binds.errors.join("; ")
        ));
    }
    if error_rate > a.max_error_rate {
        failures.push(format!(
            "error rate {error_rate:.6} > {} ({} failed, {} nacked, {} unanswered of {} sent)",
            a.max_error_rate,
            counters.failed,
            counters.nacked,
            counters.sent.saturating_sub(counters.answered),
            counters.sent
        ));
    }
    if counters.receipts_missing > 0 {
        failures.push(format!("{} receipts missing", counters.receipts_missing));
    }
    if counters.receipts_unknown > 0 {
        failures.push(format!("{} unknown receipts", counters.receipts_unknown));
    }
    if counters.receipts_duplicate > 0 {
        failures.push(format!(
            "{} duplicate receipts",
            counters.receipts_duplicate
        ));
    }
    if counters.duplicate_message_ids > 0 {
        failures.push(format!(
            "{} duplicate message ids",
            counters.duplicate_message_ids
        ));
    }
    if counters.sent == 0 && !setup_failed {
        failures.push("nothing was sent".into());
    }
    let throughput = |n: u64| {
        if duration_s > 0.0 {
            n as f64 / duration_s
        } else {
            0.0
        }
    };
    let summary = Summary {
        version: 1,
        mode: if a.rate > 0 { Mode::Open } else { Mode::Closed },
        results_dir: dir.display().to_string(),
        params: params.into_iter().collect(),
        duration_s,
        throughput_per_s: throughput(counters.ok_measured),
        receipts_per_s: throughput(totals.rcpt_u.len()),
        offered_rate_per_s: a.rate,
        submits: Submits::of(&counters),
        error_rate,
        statuses: StatusRow::rows(&statuses),
        latency_us: Latencies {
            submit_resp: LatPair {
                corrected: Lat::of(&totals.resp_c),
                uncorrected: Lat::of(&totals.resp_u),
            },
            receipt: LatPair {
                corrected: Lat::of(&totals.rcpt_c),
                uncorrected: Lat::of(&totals.rcpt_u),
            },
        },
        receipts: Receipts::of(&counters),
        deliver_sm: DeliverSm {
            other: counters.deliver_other,
            bad: counters.deliver_bad,
        },
        connection_errors: counters.conn_errors,
        binds: Binds {
            requested: binds.requested,
            bound: binds.bound,
            failed: binds.failed,
            setup_s,
        },
        server: server.usage(),
        cpu: Cpu {
            process_pct: if wall > Duration::ZERO {
                100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
            } else {
                0.0
            },
            threads_pct: cpu_threads,
            saturated,
        },
        pass: failures.is_empty(),
        failures,
    };
    write_file(&dir, "summary.json", &(summary.to_json() + "\n"))?;
    write_file(&dir, "summary.txt", &summary_table(&summary))?;
    write_file(
        &dir,
        "submit_resp.hgrm",
        &write_hgrm(&totals.resp_c, 1000.0),
    )?;
    write_file(
        &dir,
        "submit_resp_uncorrected.hgrm",
        &write_hgrm(&totals.resp_u, 1000.0),
    )?;
    write_file(&dir, "receipt.hgrm", &write_hgrm(&totals.rcpt_c, 1000.0))?;
    write_file(
        &dir,
        "receipt_uncorrected.hgrm",
        &write_hgrm(&totals.rcpt_u, 1000.0),
    )?;
    write_file(&dir, "intervals.csv", &prog.csv)?;
    for (name, bytes) in prog.hlogs.finish()? {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("write {}: {e}", p.display()))?;
    }
    let exit_code = if setup_failed {
        2
    } else if summary.pass {
        0
    } else {
        1
    };
    Ok(Outcome {
        summary,
        counters,
        exit_code,
    })
}

/// File descriptors the process needs beyond its connections (epoll,
/// timerfds, stdio, the results files).
const SPARE_FDS: u64 = 64;

/// Raises the soft open-file limit to the hard one and checks it covers
/// `conns` connections: thousands of binds need thousands of descriptors.
fn check_fd_limit(conns: usize) -> Result<(), String> {
    let need = conns as u64 + SPARE_FDS;
    match crate::sys::raise_nofile() {
        Ok((soft, _)) if soft >= need => Ok(()),
        Ok((soft, hard)) => Err(format!(
            "{conns} connections need about {need} file descriptors, but the limit is {soft} \
             (hard limit {hard}): raise it (ulimit -Hn / limits.conf) or use fewer --binds"
        )),
        Err(e) => Err(format!("getrlimit(RLIMIT_NOFILE): {e}")),
    }
}

/// `--server-pid`: samples the server's /proc at the start and the end of
/// the measured time (the main thread wakes for each).
struct ServerWatch {
    pid: Option<u32>,
    start_at: Instant,
    end_at: Instant,
    start: Option<ProcUsage>,
    end: Option<(ProcUsage, Duration)>,
    /// The reading before the run: the start's fallback if missed.
    before: Option<ProcUsage>,
}

impl ServerWatch {
    fn new(a: &RunArgs, wall0: Instant, before: Option<ProcUsage>) -> ServerWatch {
        ServerWatch {
            pid: a.server_pid,
            start_at: wall0 + a.warmup,
            end_at: wall0 + a.warmup + a.duration,
            start: None,
            end: None,
            before,
        }
    }

    fn sample(&mut self) {
        let Some(pid) = self.pid else { return };
        let now = Instant::now();
        if self.start.is_none() && now >= self.start_at {
            self.start = ProcUsage::read(pid).ok().or(self.before);
        }
        if self.end.is_none() && now >= self.end_at {
            let span = now.saturating_duration_since(self.start_at);
            self.end = ProcUsage::read(pid).ok().map(|u| (u, span));
        }
    }

    /// Takes the samples still missing (a run that ended early or on time).
    fn finish(&mut self) {
        let Some(pid) = self.pid else { return };
        if self.start.is_none() {
            self.start = self.before;
        }
        if self.end.is_none() {
            let span = Instant::now().saturating_duration_since(self.start_at);
            self.end = ProcUsage::read(pid).ok().map(|u| (u, span));
        }
    }

    /// How long the main thread may block: `max`, or less to sample on time.
    fn wait(&self, max: Duration) -> Duration {
        let now = Instant::now();
        let next = match (&self.pid, &self.start, &self.end) {
            (None, _, _) | (_, _, Some(_)) => return max,
            (_, None, _) => self.start_at,
            (_, Some(_), None) => self.end_at,
        };
        max.min(next.saturating_duration_since(now))
            .max(Duration::from_millis(1))
    }

    fn usage(&self) -> Option<ServerUsage> {
        let (s, (e, span)) = (self.start?, self.end?);
        let cpu = e.cpu.saturating_sub(s.cpu).as_secs_f64();
        Some(ServerUsage {
            pid: self.pid?,
            cpu_s: cpu,
            cpu_pct: 100.0 * cpu / span.as_secs_f64().max(1e-9),
            vm_rss_kib: e.vm_rss_kib,
            vm_hwm_kib: e.vm_hwm_kib,
        })
    }
}

fn write_file(dir: &std::path::Path, name: &str, text: &str) -> Result<(), String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| format!("write {}: {e}", p.display()))
}
