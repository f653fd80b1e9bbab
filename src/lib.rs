//! smsc: an SMPP v3.4 Short Message Service Centre.
//!
//! The library holds everything reusable: the protocol codec (`pdu`), text
//! helpers (`text`, `dlr`, `smpp_time`), and the server's building blocks
//! (buffers, timer wheel, sessions, loops). The `smsc` binary and the
//! `loadtest` crate sit on top of it. See docs/architecture.md.
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod accept;
pub mod account;
pub mod admin;
pub mod affinity;
pub mod buf;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod delivery;
pub mod dlr;
pub mod events;
pub mod http;
pub mod inject;
pub mod journal;
pub mod link;
pub mod listener;
pub mod log;
pub mod loop_state;
pub mod manage;
pub mod metrics;
pub mod msgid;
pub mod outcome;
pub mod pdu;
pub mod persist;
pub mod proxy;
pub mod receipt;
pub mod remote;
pub mod route;
pub mod server;
pub mod session;
pub mod smpp_time;
pub mod store;
pub mod submit;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod timer;
pub mod tls;
pub mod transport;
pub mod worker;
