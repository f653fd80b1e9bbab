//! Logging setup: `tracing` events on stderr through `tracing-subscriber`,
//! as text or one JSON object per line (`--log-format`), at `info` (or
//! `debug` with `-v`) unless `RUST_LOG` says otherwise.
//!
//! The code logs with tracing's macros (`tracing::info!`, ...): each one
//! compares its level with the global maximum before it evaluates or
//! formats anything, so a `debug!` on a path the loops run costs a load and
//! a compare while debug is off. Per-PDU paths never log at info.

use std::fmt::Arguments;

/// How a log line is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// `2026-11-25T23:40:01.123456Z  INFO message key=value`
    #[default]
    Text,
    /// `{"timestamp":"...","level":"INFO","fields":{"message":"...",...},"target":"..."}`
    Json,
}

/// Installs the process-wide subscriber (the binary calls it once; tests
/// that start servers in-process install none, so they log nothing).
/// `RUST_LOG` (e.g. `debug`, `smsc::worker=debug,info`) replaces the level
/// `-v` chooses.
pub fn init(format: Format, verbose: bool) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let default = if verbose { "debug" } else { "info" };
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v.trim()).map_err(|e| format!("RUST_LOG: {e}"))?
        }
        _ => EnvFilter::new(default),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let r = match format {
        Format::Text => builder.try_init(),
        Format::Json => builder
            .json()
            .with_target(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    r.map_err(|e| e.to_string())
}

// Helpers kept for code written against the earlier logger (they forward
// to tracing and cost what its macros cost); new code uses the macros.

pub fn info(args: Arguments<'_>) {
    tracing::info!("{args}");
}

pub fn warn(args: Arguments<'_>) {
    tracing::warn!("{args}");
}

pub fn debug(args: Arguments<'_>) {
    tracing::debug!("{args}");
}

/// No effect: servers started in-process (tests) log nothing unless a
/// subscriber is installed. Kept so older callers still build.
pub fn set_quiet(_quiet: bool) {}
