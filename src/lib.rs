//! smsc: an SMPP v3.4 Short Message Service Centre.
//!
//! The library holds everything reusable: the protocol codec (`pdu`), text
//! helpers (`text`, `dlr`, `smpp_time`), and the server's building blocks
//! (buffers, timer wheel, sessions, workers). The `smsc` binary and the
//! `loadtest` crate sit on top of it.
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod buf;
pub mod pdu;
pub mod dlr;
pub mod smpp_time;
pub mod text;
pub mod timer;
