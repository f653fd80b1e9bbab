//! Minimal stderr logging: a UTC timestamp, a level, the message. Used for
//! startup, shutdown, protocol errors and the periodic stats line; per-PDU
//! paths never log.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(v: bool) {
    VERBOSE.store(v, Ordering::Relaxed);
}

/// Silences info and debug lines (tests start many servers).
pub fn set_quiet(q: bool) {
    QUIET.store(q, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

fn line(level: &str, args: Arguments<'_>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let t = crate::smpp_time::civil_from_unix(now / 1000);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {level} {args}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        now % 1000
    );
}

pub fn info(args: Arguments<'_>) {
    if !QUIET.load(Ordering::Relaxed) {
        line("INFO", args);
    }
}

pub fn warn(args: Arguments<'_>) {
    line("WARN", args);
}

pub fn debug(args: Arguments<'_>) {
    if verbose() && !QUIET.load(Ordering::Relaxed) {
        line("DEBUG", args);
    }
}
