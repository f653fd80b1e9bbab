//! The `smsc` binary: parse flags, start one loop per core, wait for
//! SIGINT/SIGTERM, shut down gracefully.

use clap::Parser;
use smsc::config::{Args, Config};
use smsc::server::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let config = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smsc: {e}");
            std::process::exit(2);
        }
    };
    smsc::log::set_verbose(config.verbose);
    if config.demo_account {
        smsc::log::warn(format_args!(
            "no account configured: using the demo account movider/1111 (use --account or --accounts)"
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("smsc: cannot install signal handler: {e}");
            std::process::exit(1);
        }
    }
    // SIGHUP: read the accounts file and the TLS certificate and key again.
    let reload = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, reload.clone()) {
        eprintln!("smsc: cannot install signal handler: {e}");
        std::process::exit(1);
    }
    let threads = config.threads;
    let server = match Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("smsc: cannot start: {e}");
            std::process::exit(1);
        }
    };
    smsc::log::info(format_args!(
        "smsc listening on {} with {threads} loop(s)",
        server.local_addr()
    ));
    if let Some(addr) = server.tls_addr() {
        smsc::log::info(format_args!("smsc listening for TLS on {addr}"));
    }
    if let Some(addr) = server.shared().config.metrics_listen {
        if let Err(e) = smsc::http::serve_metrics(addr, server.shared().clone()) {
            eprintln!("smsc: cannot serve metrics on {addr}: {e}");
            std::process::exit(1);
        }
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if reload.swap(false, Ordering::Relaxed) {
            // Without an accounts file the warning says so, unless TLS is
            // what SIGHUP is for.
            let shared = server.shared();
            if shared.config.accounts_file.is_some() || shared.tls.is_none() {
                match server.reload_accounts() {
                    Ok(summary) => smsc::log::info(format_args!("accounts reloaded: {summary}")),
                    Err(e) => smsc::log::warn(format_args!("accounts not reloaded: {e}")),
                }
            }
            match server.reload_tls() {
                Some(Ok(summary)) => smsc::log::info(format_args!("TLS reloaded: {summary}")),
                Some(Err(e)) => smsc::log::warn(format_args!(
                    "TLS not reloaded (the certificate in force stays): {e}"
                )),
                None => {}
            }
        }
    }
    smsc::log::info(format_args!("shutting down: unbinding sessions"));
    server.shutdown();
    server.join();
    smsc::log::info(format_args!("stopped"));
}
