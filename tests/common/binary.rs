//! The real `smsc` binary as a child process: for what only a process
//! shows (signals, SIGKILL, restarts).
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary on an ephemeral 127.0.0.1 port with `args` after the
/// listen flags; returns it and its address (from its "listening on" log
/// line). Its log is read on and dropped so it never blocks.
pub fn start_smsc(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smsc"))
        .args(["--listen", "127.0.0.1:0", "--stats-interval", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = loop {
        assert!(Instant::now() < deadline, "no listening line");
        let line = lines.next().expect("smsc exited").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Sends a signal by name (`TERM`, `HUP`) with the shell's `kill` builtin
/// (always there, unlike a `kill` binary; the tests use no libc).
pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -{name} {}", child.id())])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}
