//! The binary's log (tracing): `--log-format json` writes one JSON object
//! per line with time, level, message and fields; the text format starts
//! each line with a UTC time and a level; debug lines only with -v.
mod common;
use common::*;
use smsc::pdu::CommandId;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts the binary with `args` (its own, not the shared helper's: that
/// one sets --stats-interval 0), binds and unbinds once, stops it, and
/// returns every line it logged.
fn run(extra: &[&str]) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smsc"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--account",
            "esme:secret",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, log) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut lines = Vec::new();
    let addr: std::net::SocketAddr = loop {
        let l = log
            .recv_timeout(Duration::from_secs(10))
            .expect("no listening line");
        let found = l.split("listening on ").nth(1).map(|r| {
            r.split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        });
        lines.push(l);
        if let Some(a) = found {
            break a;
        }
    };
    let e = Esme::bound(addr, CommandId::BIND_TRANSCEIVER);
    drop(e);
    std::thread::sleep(Duration::from_millis(300));
    common::binary::signal(&child, "TERM");
    assert!(
        common::binary::wait_exit(&mut child, Duration::from_secs(10)).is_some(),
        "smsc did not stop"
    );
    while let Ok(l) = log.recv_timeout(Duration::from_secs(2)) {
        lines.push(l);
    }
    lines
}

#[test]
fn json_lines_have_time_level_message_and_fields() {
    let lines = run(&["--log-format", "json", "-v", "--stats-interval", "200ms"]);
    assert!(!lines.is_empty());
    let mut bound = None;
    let mut stats = None;
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        let t = v["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("no time: {l}"));
        // RFC 3339, UTC: 2026-12-01T11:52:44.140726Z
        assert!(
            t.len() >= 20 && t.ends_with('Z') && &t[10..11] == "T",
            "{l}"
        );
        let level = v["level"].as_str().unwrap();
        assert!(["INFO", "DEBUG", "WARN", "ERROR"].contains(&level), "{l}");
        let msg = v["fields"]["message"].as_str().unwrap();
        if msg.contains("bound as") {
            bound = Some(v.clone());
        }
        if msg == "stats" {
            stats = Some(v.clone());
        }
    }
    let bound = bound.unwrap_or_else(|| panic!("no bind line: {lines:?}"));
    assert_eq!(bound["level"], "DEBUG");
    assert_eq!(bound["fields"]["bind"], "trx");
    assert!(bound["fields"]["peer"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    // The stats line's numbers are JSON numbers, not text.
    let stats = stats.unwrap_or_else(|| panic!("no stats line: {lines:?}"));
    assert!(stats["fields"]["conns"].is_u64(), "{stats}");
    assert!(stats["fields"]["submit_per_s"].is_number(), "{stats}");
    assert!(lines.iter().any(|l| l.contains("\"stopped\"")));
    assert!(lines.iter().any(|l| l.contains("listening on")));
}

#[test]
fn text_lines_start_with_time_and_level_and_hide_debug_without_v() {
    let lines = run(&["--stats-interval", "0"]);
    assert!(
        lines.iter().any(|l| l.ends_with("INFO stopped")),
        "{lines:?}"
    );
    for l in &lines {
        let (time, rest) = l.split_once(' ').unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{l}");
        let level = rest.split_whitespace().next().unwrap();
        assert!(["INFO", "WARN", "ERROR"].contains(&level), "{l}");
    }
    // A RUST_LOG that does not parse stops the start, naming it.
    let bin = env!("CARGO_BIN_EXE_smsc");
    let out = std::process::Command::new(bin)
        .env("RUST_LOG", "nonsense=[")
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RUST_LOG"));
}
