//! The `smsc` binary: parse flags, start one loop per core, wait for
//! SIGINT/SIGTERM, shut down gracefully.

use smsc::config::{Config, LoadError};
use smsc::server::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let loaded = match smsc::config::load(std::env::args_os().collect()) {
        Ok(l) => l,
        Err(LoadError::Clap(e)) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
        Err(LoadError::Config(e)) => {
            eprintln!("smsc: {e}");
            std::process::exit(2);
        }
    };
    let check_only = loaded.args.check_config;
    let config = match Config::from_loaded(loaded) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smsc: {e}");
            std::process::exit(2);
        }
    };
    if check_only {
        println!("smsc: {}", config.summary());
        std::process::exit(0);
    }
    if let Err(e) = smsc::log::init(config.log_format, config.verbose) {
        eprintln!("smsc: {e}");
        std::process::exit(2);
    }
    if config.demo_account {
        tracing::warn!(
            "no account configured: using the demo account movider/1111 (use --account or --accounts)"
        );
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
    tracing::info!(
        "smsc listening on {} with {threads} loop(s)",
        server.local_addr()
    );
    if let Some(addr) = server.tls_addr() {
        tracing::info!("smsc listening for TLS on {addr}");
    }
    if let Some(addr) = server.shared().config.admin_listen {
        match smsc::admin::serve(addr, server.shared().clone()) {
            Ok(a) => tracing::info!("console and admin API on http://{a}/"),
            Err(e) => {
                eprintln!("smsc: cannot serve --admin-listen {addr}: {e}");
                std::process::exit(1);
            }
        }
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if reload.swap(false, Ordering::Relaxed) {
            // The same as POST /api/v1/reload (it logs what it did).
            let _ = smsc::admin::reload(server.shared());
        }
    }
    tracing::info!("shutting down: unbinding sessions");
    server.shutdown();
    server.join();
    tracing::info!("stopped");
}
