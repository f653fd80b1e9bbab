//! The real `smsc` binary as a child process: for what only a process
//! shows (signals, SIGKILL, restarts, descriptor limits).
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Starts the binary on an ephemeral 127.0.0.1 port with `args` after the
/// listen flags (under `ulimit -n` when `nofile` is given). Returns it, the
/// address from its "listening on" log line, and the rest of its log, read
/// on a thread so it never blocks on a full pipe.
pub fn spawn_smsc(args: &[&str], nofile: Option<u32>) -> (Child, SocketAddr, Receiver<String>) {
    let bin = env!("CARGO_BIN_EXE_smsc");
    let mut cmd = match nofile {
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--stats-interval", "0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smsc");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = loop {
        assert!(Instant::now() < deadline, "no listening line");
        let line = lines.next().expect("smsc exited early").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    (child, addr, rx)
}

/// The admin listener's address from the log's start-up line (waits up
/// to 5 s); None if it never came.
pub fn admin_addr(log: &Receiver<String>) -> Option<SocketAddr> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(l) = log.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = l.split("admin API on http://").nth(1) {
                return rest.trim().trim_end_matches('/').parse().ok();
            }
        }
    }
    None
}

/// [`spawn_smsc`] when the log is not needed.
pub fn start_smsc(args: &[&str]) -> (Child, SocketAddr) {
    let (child, addr, _log) = spawn_smsc(args, None);
    (child, addr)
}

/// Waits up to `t` for `child` to exit: its exit code, or None (then it
/// is killed).
pub fn wait_exit(child: &mut Child, t: Duration) -> Option<i32> {
    let deadline = Instant::now() + t;
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
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
