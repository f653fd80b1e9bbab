//! `--server-pid`: the server's CPU and memory over the measured time.

use crate::cli::RunArgs;
use crate::summary::ServerUsage;
use crate::sys::ProcUsage;
use std::time::{Duration, Instant};

/// `--server-pid`: samples the server's /proc at the start and the end of
/// the measured time (the main thread wakes for each).
pub(super) struct ServerWatch {
    pid: Option<u32>,
    start_at: Instant,
    end_at: Instant,
    start: Option<ProcUsage>,
    end: Option<(ProcUsage, Duration)>,
    /// The reading before the run: the start's fallback if missed.
    before: Option<ProcUsage>,
}

impl ServerWatch {
    pub fn new(a: &RunArgs, wall0: Instant, before: Option<ProcUsage>) -> ServerWatch {
        ServerWatch {
            pid: a.server_pid,
            start_at: wall0 + a.warmup,
            end_at: wall0 + a.warmup + a.duration,
            start: None,
            end: None,
            before,
        }
    }

    pub fn sample(&mut self) {
        let Some(pid) = self.pid else { return };
        let now = Instant::now();
        if self.start.is_none() && now >= self.start_at {
            self.start = ProcUsage::read(pid).ok().or(self.before);
        }
        if self.end.is_none() && now >= self.end_at {
            let span = now.saturating_duration_since(self.start_at);
            self.end = ProcUsage::read(pid).ok().map(|u| (u, span));
        }
    }

    /// Takes the samples still missing (a run that ended early or on time).
    pub fn finish(&mut self) {
        let Some(pid) = self.pid else { return };
        if self.start.is_none() {
            self.start = self.before;
        }
        if self.end.is_none() {
            let span = Instant::now().saturating_duration_since(self.start_at);
            self.end = ProcUsage::read(pid).ok().map(|u| (u, span));
        }
    }

    /// How long the main thread may block: `max`, or less to sample on time.
    pub fn wait(&self, max: Duration) -> Duration {
        let now = Instant::now();
        let next = match (&self.pid, &self.start, &self.end) {
            (None, _, _) | (_, _, Some(_)) => return max,
            (_, None, _) => self.start_at,
            (_, Some(_), None) => self.end_at,
        };
        max.min(next.saturating_duration_since(now))
            .max(Duration::from_millis(1))
    }

    pub fn usage(&self) -> Option<ServerUsage> {
        let (s, (e, span)) = (self.start?, self.end?);
        let cpu = e.cpu.saturating_sub(s.cpu).as_secs_f64();
        Some(ServerUsage {
            pid: self.pid?,
            cpu_s: cpu,
            cpu_pct: 100.0 * cpu / span.as_secs_f64().max(1e-9),
            vm_rss_kib: e.vm_rss_kib,
            vm_hwm_kib: e.vm_hwm_kib,
        })
    }
}
