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
//! | `mo.hgrm`, `mo_uncorrected.hgrm` | ESME-to-ESME: submit -> MO deliver_sm at account B, likewise |
//! | `query.hgrm`, `enquire_link.hgrm` | the query_sm and enquire_link beside the messages (from the write) |
//! | `intervals.csv` | one row per second, see below |
//! | `*.hlog` ([`crate::hlog::FILES`]) | HdrHistogram interval logs of the same eight latencies: one histogram per second (see [`crate::hlog`]) |
//!
//! `intervals.csv` columns: `second` (interval index from the start of
//! sending), `phase` (`warmup`, `measure`, `drain`), `submits`, `ok`,
//! `errors`, `receipts` (matched in that second), `receipts_pending` (at its
//! end), then that second's latency percentiles in microseconds:
//! `resp_p50_us, resp_p99_us, resp_max_us` (corrected), `resp_uncorr_p50_us,
//! resp_uncorr_p99_us`, `rcpt_p50_us, rcpt_p99_us, rcpt_max_us` (corrected),
//! `rcpt_uncorr_p50_us, rcpt_uncorr_p99_us`, then `mo` (matched in that
//! second), `mo_pending`, `mo_p50_us, mo_p99_us, mo_max_us` (corrected),
//! `query_p50_us, query_p99_us, query_max_us`, `enquire_p50_us,
//! enquire_p99_us, enquire_max_us`. Empty histograms give 0.
//!
//! The `.hlog` files are HdrHistogram's standard interval log (what
//! `HistogramLogProcessor` and `HistogramLogAnalyzer` read): StartTime and
//! BaseTime are the wall-clock time sending began, each line is one second
//! (start offset, length, max, compressed histogram; values in µs), the
//! same seconds as `intervals.csv`, plus a last, shorter interval with the
//! samples that came after the last whole second (the drain), so the
//! intervals of a file add up to its `.hgrm`.

mod progress;
mod server;

use crate::cli::RunArgs;
use crate::cli::{BindMode, MoBind, MoWindow};
use crate::hlog::RunLogs;
use crate::report::write_hgrm;
use crate::stats::{BindStats, Counters, FinalReport, Hists, Report, StatusCounts};
use crate::summary::{
    summary_table, Binds, Cpu, DeliverSm, Enquires, Lat, LatPair, Latencies, MoCounts, Mode,
    Queries, Receipts, StatusRow, Submits, Summary,
};
use crate::sys::ProcUsage;
use crate::templates::Templates;
use crate::worker::{MoPlan, Plan, Shared, Worker, BIND_TIMEOUT};
use progress::{Interval, Progress, CSV_HEADER};
use server::ServerWatch;
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
        (
            "mo_system_id".into(),
            a.mo_system_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("mo_prefix".into(), a.mo_prefix.clone()),
        ("mo_binds".into(), a.mo_bind_count().to_string()),
        (
            "mo_bind".into(),
            match a.mo_bind {
                MoBind::Rx => "rx".into(),
                MoBind::Trx => "trx".into(),
            },
        ),
        ("query_share".into(), a.query_share.to_string()),
        ("enquire_share".into(), a.enquire_share.to_string()),
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

/// Runs the load test described by `a`.
pub fn run(a: &RunArgs) -> Result<Outcome, String> {
    let addr = a
        .addr
        .to_socket_addrs()
        .map_err(|e| format!("bad --addr {}: {e}", a.addr))?
        .next()
        .ok_or(format!("--addr {} resolves to nothing", a.addr))?;
    let rx_addr = match &a.rx_addr {
        Some(r) => r
            .to_socket_addrs()
            .map_err(|e| format!("bad --rx-addr {r}: {e}"))?
            .next()
            .ok_or(format!("--rx-addr {r} resolves to nothing"))?,
        None => addr,
    };
    if a.binds == 0 || a.window == 0 {
        return Err("--binds and --window must be at least 1".into());
    }
    for (flag, v) in [
        ("--receipts", a.receipts),
        ("--query-share", a.query_share),
        ("--enquire-share", a.enquire_share),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{flag} is a fraction between 0 and 1"));
        }
    }
    let mo_binds = a.mo_bind_count();
    if a.mo_system_id.is_some() && mo_binds == 0 {
        return Err("--mo-binds must be at least 1".into());
    }
    let templates = Arc::new(match &a.mo_system_id {
        Some(_) => Templates::mo(&a.mo_prefix)?,
        None => Templates::new(),
    });
    let threads = a.threads.clamp(1, a.binds);
    // Bind g is on thread g mod threads (the open-loop schedule's layout).
    let binds_per_thread: Vec<usize> = (0..threads)
        .map(|t| a.binds / threads + usize::from(t < a.binds % threads))
        .collect();
    let mo_per_thread: Vec<usize> = (0..threads)
        .map(|t| mo_binds / threads + usize::from(t < mo_binds % threads))
        .collect();
    let conns = a.binds * if a.bind == BindMode::Tx { 2 } else { 1 } + mo_binds;
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
        rx_addr,
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
        mo: a.mo_system_id.as_ref().map(|sid| MoPlan {
            system_id: sid.clone(),
            password: a.mo_password.clone().unwrap_or_else(|| a.password.clone()),
            trx: a.mo_bind == MoBind::Trx,
            until_receipt: a.mo_window == MoWindow::Receipt,
            binds_per_thread: mo_per_thread,
        }),
        query_threshold: (a.query_share * 4_294_967_296.0).round() as u64,
        enquire_threshold: (a.enquire_share * 4_294_967_296.0).round() as u64,
        run_nonce: run_nonce(),
    });
    let shared = Arc::new(Shared::new(threads));
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
        mo: a.mo_system_id.is_some(),
        extras: a.query_share > 0.0 || a.enquire_share > 0.0,
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
    if !rest.is_empty() {
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
    for (n, what) in [
        (counters.mo_missing, "MO messages missing"),
        (counters.mo_unknown, "unknown MO messages"),
        (counters.mo_duplicate, "duplicate MO messages"),
    ] {
        if n > 0 {
            failures.push(format!("{n} {what}"));
        }
    }
    let query_errors = counters.query_sent.saturating_sub(counters.query_ok);
    if query_errors as f64 > a.max_error_rate * counters.query_sent as f64 {
        failures.push(format!(
            "{query_errors} of {} query_sm failed or unanswered",
            counters.query_sent
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
            mo: LatPair {
                corrected: Lat::of(&totals.mo_c),
                uncorrected: Lat::of(&totals.mo_u),
            },
            query: Lat::of(&totals.query),
            enquire_link: Lat::of(&totals.enquire),
        },
        receipts: Receipts::of(&counters),
        mo_per_s: throughput(totals.mo_u.len()),
        mo: MoCounts::of(&counters),
        queries: Queries::of(&counters),
        enquire_links: Enquires::of(&counters),
        query_p99_over_enquire_p99: if totals.enquire.is_empty() || totals.query.is_empty() {
            0.0
        } else {
            totals.query.value_at_quantile(0.99) as f64
                / totals.enquire.value_at_quantile(0.99).max(1) as f64
        },
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
    for (name, h) in [
        ("submit_resp.hgrm", &totals.resp_c),
        ("submit_resp_uncorrected.hgrm", &totals.resp_u),
        ("receipt.hgrm", &totals.rcpt_c),
        ("receipt_uncorrected.hgrm", &totals.rcpt_u),
        ("mo.hgrm", &totals.mo_c),
        ("mo_uncorrected.hgrm", &totals.mo_u),
        ("query.hgrm", &totals.query),
        ("enquire_link.hgrm", &totals.enquire),
    ] {
        write_file(&dir, name, &write_hgrm(h, 1000.0))?;
    }
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

/// A 16-bit nonce for this run's MO tags (time and pid: runs in a row differ).
fn run_nonce() -> u16 {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let x = crate::ids::fmix64(t ^ (u64::from(std::process::id()) << 32));
    (x as u16).max(1)
}

fn write_file(dir: &std::path::Path, name: &str, text: &str) -> Result<(), String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| format!("write {}: {e}", p.display()))
}
