//! A one-shot `timerfd` for the open-loop schedule. epoll's own timeout is
//! in whole milliseconds (mio rounds up), which would send a 2000/s
//! schedule in 1 ms bursts and charge up to a millisecond of the load
//! generator's lateness to every corrected latency. A timerfd in the same
//! poll wakes at the next intended send time with microsecond resolution
//! (plus the machine's wake-up latency, which the corrected figures then
//! honestly include).

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

pub struct Timer {
    fd: OwnedFd,
    armed: bool,
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        // SAFETY: plain syscall; the returned descriptor is owned below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Timer {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            armed: false,
        })
    }

    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.fd.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    fn settime(&self, after: Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: spec is a valid itimerspec; old value not requested.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Fires once, `after` from now (at least 1 µs: zero would disarm).
    pub fn arm(&mut self, after: Duration) -> io::Result<()> {
        self.settime(after.max(Duration::from_micros(1)))?;
        self.armed = true;
        Ok(())
    }

    pub fn disarm(&mut self) -> io::Result<()> {
        if self.armed {
            self.settime(Duration::ZERO)?;
            self.armed = false;
        }
        Ok(())
    }

    /// Consumes an expiry (call when the token is readable).
    pub fn fired(&mut self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a local buffer.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        self.armed = false;
    }
}

/// Lowers the calling thread's timer slack to 1 µs (default 50 µs), so the
/// timer above is not deferred to be coalesced with others.
pub fn tight_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and touches only
    // the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Instant;

    #[test]
    fn fires_sub_millisecond() {
        tight_timer_slack();
        let mut poll = Poll::new().unwrap();
        let mut t = Timer::new().unwrap();
        t.register(poll.registry(), Token(7)).unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        t.arm(Duration::from_micros(300)).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(2)))
            .unwrap();
        let took = start.elapsed();
        assert!(events.iter().any(|e| e.token() == Token(7)));
        t.fired();
        assert!(took >= Duration::from_micros(300), "{took:?}");
        assert!(took < Duration::from_millis(500), "{took:?}");
        // Disarmed: nothing fires.
        t.arm(Duration::from_millis(5)).unwrap();
        t.disarm().unwrap();
        poll.poll(&mut events, Some(Duration::from_millis(30)))
            .unwrap();
        assert!(events.is_empty());
    }
}
