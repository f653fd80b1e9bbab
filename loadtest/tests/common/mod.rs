//! Helpers shared by the load test's integration tests.

use clap::Parser;
use loadtest::cli::{Cli, Cmd, RunArgs};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A fresh results folder for one run of this test process.
pub fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("loadtest-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `loadtest run --json --addr ADDR --out OUT EXTRA...`, parsed as the binary would.
pub fn run_args(addr: SocketAddr, out: &Path, extra: &[&str]) -> RunArgs {
    let mut v: Vec<String> = ["loadtest", "run", "--json", "--addr"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.push(addr.to_string());
    v.push("--out".into());
    v.push(out.display().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    match Cli::try_parse_from(v).unwrap().cmd {
        Cmd::Run(a) => a,
        Cmd::Compare(_) => unreachable!(),
    }
}
