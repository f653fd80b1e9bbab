//! The bundled SMPP load tester for smsc (issue 5).
//!
//! `loadtest run` binds `--binds` ESME connections, pipelines submit_sm up
//! to `--window` per bind, closed loop (as fast as the windows allow) or
//! open loop (`--rate`, a fixed schedule, latency from each message's
//! intended send time as wrk2 does), answers every deliver_sm, matches
//! receipts to submits by message id, and writes a results folder
//! ([`run`]). `loadtest compare` puts results folders side by side
//! ([`compare`]). The `responder` binary ([`responder`]) is the minimal
//! SMSC used as the baseline.
//!
//! Layout: [`worker`] is the per-thread event loop; [`schedule`] the
//! open-loop pacing and latency correction; [`matcher`] receipt matching;
//! [`mo`] the ESME-to-ESME mode's tags and window accounting; [`query`]
//! the query_sm / enquire_link mix beside the messages;
//! [`templates`] the pre-encoded submit_sm; [`summary`] the summary (JSON
//! and table), [`report`] the `.hgrm` files, [`hlog`] the interval logs,
//! [`chart`] the comparison chart (plotters); [`wheel`] the timer wheel of
//! held replies, [`rxtime`] kernel receive timestamps (`--tick`).

pub mod chart;
pub mod cli;
pub mod compare;
pub mod hlog;
pub mod ids;
pub mod matcher;
pub mod mo;
pub mod query;
pub mod receipt;
pub mod report;
pub mod responder;
pub mod run;
pub mod rxtime;
pub mod schedule;
pub mod stats;
pub mod summary;
pub mod sys;
pub mod templates;
pub mod timer;
pub mod tls;
pub mod wheel;
pub mod worker;
