//! The minimal responder (see `loadtest::responder`): the baseline the SMSC
//! is compared against. Runs until killed.
//!
//! `responder --listen 127.0.0.1:2776 [--threads N] [--cores LIST]`
//! prints `listening on ADDR` once it accepts connections.

use clap::Parser;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "responder",
    about = "Minimal SMPP responder: answers everything at once"
)]
struct Args {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:2776")]
    listen: String,
    /// Event-loop threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// CPUs to pin the threads to, e.g. 0 or 0-1.
    #[arg(long, value_parser = loadtest::cli::parse_cores)]
    cores: Option<loadtest::cli::Cores>,
}

fn main() {
    let args = Args::parse();
    let listener = match std::net::TcpListener::bind(&args.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("responder: bind {}: {e}", args.listen);
            std::process::exit(2);
        }
    };
    if let Ok(a) = listener.local_addr() {
        println!("listening on {a}");
        let _ = std::io::stdout().flush();
    }
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) =
        loadtest::responder::serve(listener, args.threads, args.cores.map(|c| c.0), stop)
    {
        eprintln!("responder: {e}");
        std::process::exit(2);
    }
}
