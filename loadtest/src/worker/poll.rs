//! Waiting for events: `epoll_pwait2` on mio's epoll descriptor, whose
//! timeout is in nanoseconds, so the loop sleeps exactly until the next
//! intended send (or held reply) in the same syscall that collects the
//! events: no timerfd to re-arm and read per wake-up, no spinning. Where
//! the kernel lacks it (before 5.11) mio's millisecond poll plus the
//! timerfd of [`crate::timer`] do the same in three syscalls.
//!
//! mio registers every source edge-triggered with its token as the event's
//! data; the flags are read as mio reads them.

use super::conn::{mark_dirty, State};
use super::{Worker, TIMER};
use mio::{Events, Token};
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Events collected per wait.
pub(super) const EVENTS: usize = 1024;

/// One readiness event, as mio would report it.
#[derive(Clone, Copy)]
pub(super) struct Ready {
    token: Token,
    readable: bool,
    writable: bool,
    error: bool,
    read_closed: bool,
}

impl Ready {
    fn from_epoll(ev: &libc::epoll_event) -> Ready {
        let (bits, data) = (ev.events as libc::c_int, ev.u64);
        Ready {
            token: Token(data as usize),
            readable: bits & (libc::EPOLLIN | libc::EPOLLPRI) != 0,
            writable: bits & libc::EPOLLOUT != 0,
            error: bits & libc::EPOLLERR != 0,
            read_closed: bits & libc::EPOLLHUP != 0
                || (bits & libc::EPOLLIN != 0 && bits & libc::EPOLLRDHUP != 0),
        }
    }

    fn from_mio(ev: &mio::event::Event) -> Ready {
        Ready {
            token: ev.token(),
            readable: ev.is_readable(),
            writable: ev.is_writable(),
            error: ev.is_error(),
            read_closed: ev.is_read_closed(),
        }
    }
}

/// Whether this kernel has `epoll_pwait2` (probed on a scratch epoll set,
/// so that no event of ours is consumed).
pub(super) fn have_pwait2() -> bool {
    // SAFETY: plain syscalls on a descriptor created and closed here; the
    // event buffer is a local of the right type and length.
    unsafe {
        let fd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let mut ev: libc::epoll_event = std::mem::zeroed();
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let rc = libc::epoll_pwait2(fd, &mut ev, 1, &ts, std::ptr::null());
        libc::close(fd);
        rc >= 0
    }
}

/// The wait's buffers: raw epoll events, or mio's where pwait2 is missing.
pub(super) enum Waiter {
    Pwait2(Vec<libc::epoll_event>),
    Mio(Option<Events>),
}

impl Waiter {
    pub(super) fn new() -> Waiter {
        if have_pwait2() {
            // SAFETY: epoll_event is plain data; all-zero is valid.
            Waiter::Pwait2(vec![unsafe { std::mem::zeroed() }; EVENTS])
        } else {
            Waiter::Mio(Some(Events::with_capacity(EVENTS)))
        }
    }

    /// Sub-millisecond sleeps without a timerfd.
    pub(super) fn precise(&self) -> bool {
        matches!(self, Waiter::Pwait2(_))
    }
}

/// Sleeps until `at` on the run's clock (nanoseconds since `base`).
pub(super) fn sleep_until(base: std::time::Instant, at: u64) {
    let left = at.saturating_sub(base.elapsed().as_nanos() as u64);
    if left > 0 {
        std::thread::sleep(Duration::from_nanos(left));
    }
}

impl Worker {
    /// The last wait returned a full buffer: more events may be waiting.
    pub(super) fn events_full(&self) -> bool {
        self.ready_events.len() >= EVENTS
    }

    /// One wait of at most `wait`, then reads for every readable connection
    /// and writes for every writable one.
    pub(super) fn poll_once(&mut self, wait: Duration) -> io::Result<()> {
        let mut ready: Vec<Ready> = std::mem::take(&mut self.ready_events);
        ready.clear();
        let res = match &mut self.waiter {
            Waiter::Pwait2(buf) => {
                let ts = libc::timespec {
                    tv_sec: wait.as_secs() as libc::time_t,
                    tv_nsec: wait.subsec_nanos() as libc::c_long,
                };
                // SAFETY: buf holds buf.len() initialised epoll_events that
                // the kernel may overwrite; the epoll descriptor is mio's,
                // alive as long as self.poll.
                let n = unsafe {
                    libc::epoll_pwait2(
                        self.poll.as_raw_fd(),
                        buf.as_mut_ptr(),
                        buf.len() as libc::c_int,
                        &ts,
                        std::ptr::null(),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    ready.extend(buf[..n as usize].iter().map(Ready::from_epoll));
                    Ok(())
                }
            }
            Waiter::Mio(events) => {
                let mut ev = events
                    .take()
                    .unwrap_or_else(|| Events::with_capacity(EVENTS));
                let r = self.poll.poll(&mut ev, Some(wait));
                ready.extend(ev.iter().map(Ready::from_mio));
                *events = Some(ev);
                r
            }
        };
        match res {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                self.ready_events = ready;
                return Err(e);
            }
        }
        for ev in &ready {
            self.on_event(*ev);
        }
        self.ready_events = ready;
        Ok(())
    }

    fn on_event(&mut self, ev: Ready) {
        if ev.token == TIMER {
            if let Some(t) = self.timer.as_mut() {
                t.fired();
            }
            self.armed_for = 0;
            return;
        }
        let key = ev.token.0;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if ev.writable || ev.error {
            if !c.connected {
                match c.stream.take_error() {
                    Ok(Some(e)) | Err(e) => {
                        // Counted by the setup loop, which sees it Closed.
                        c.state = State::Closed;
                        let _ = self.poll.registry().deregister(&mut c.stream);
                        self.binds
                            .note_error(&format!("connect to {}: {e}", self.plan.addr));
                        return;
                    }
                    Ok(None) => {}
                }
                if c.stream.peer_addr().is_err() {
                    return;
                }
                c.connected = true;
                c.writable = true;
                self.write_bind(key);
            } else {
                c.writable = true;
                // Held replies wait for the next submit or their deadline.
                if !c.held && c.wpos < c.wbuf.len() {
                    mark_dirty(&mut self.dirty, c, key);
                }
            }
        }
        if ev.readable || ev.read_closed || ev.error {
            self.on_readable(key);
        }
    }
}
