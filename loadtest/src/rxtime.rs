//! Kernel receive timestamps (`SO_TIMESTAMPNS`): when the data a `recvmsg`
//! returns reached the socket, so that an answer is timed at its arrival
//! even when the loop reads it later (`--tick`: the thread wakes once per
//! tick, not per arriving segment). For TCP the kernel reports the time of
//! the last segment the read consumed, so an earlier segment read together
//! with it is timed a little late, never early.
//!
//! The stamps are CLOCK_REALTIME; [`RealToRun`] maps them onto the run's
//! monotonic clock by the offset taken once at the start (a run is far too
//! short for clock slewing to matter).

use std::io;
use std::os::fd::RawFd;

// asm-generic/socket.h (x86_64, aarch64, ...): SO_TIMESTAMPNS_OLD. The libc
// crate does not export it for Linux.
#[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
const SO_TIMESTAMPNS: libc::c_int = 35;
#[cfg(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))]
const SO_TIMESTAMPNS: libc::c_int = -1;

/// Asks the kernel to stamp what arrives on `fd`.
pub fn enable(fd: RawFd) -> io::Result<()> {
    if SO_TIMESTAMPNS < 0 {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads an int from a valid local.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One `recvmsg` into `buf`: the octets read and, if the kernel stamped
/// them, their arrival (CLOCK_REALTIME nanoseconds).
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one timespec control message (and then some), aligned.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer in it refers to a local
    // (iov, control) or to buf, all alive across the call; the control
    // messages are walked with the libc macros within msg_controllen and
    // their payload read unaligned.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        let n = libc::recvmsg(fd, &mut msg, 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stamp = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(ts.tv_sec.max(0) as u64 * 1_000_000_000 + ts.tv_nsec.max(0) as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok((n as usize, stamp))
    }
}

/// CLOCK_REALTIME now, in nanoseconds.
pub fn realtime_ns() -> u64 {
    // SAFETY: clock_gettime writes the local timespec.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
        ts
    };
    ts.tv_sec.max(0) as u64 * 1_000_000_000 + ts.tv_nsec.max(0) as u64
}

/// Realtime stamps onto the run's clock (nanoseconds since its base).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealToRun {
    /// Realtime at run-clock zero.
    offset: u64,
}

impl RealToRun {
    /// From one reading of both clocks taken together.
    pub fn new(realtime: u64, run_now: u64) -> RealToRun {
        RealToRun {
            offset: realtime.saturating_sub(run_now),
        }
    }

    /// The run-clock time of `stamp`, never after `run_now` (a stamp is in
    /// the past; clamping guards against the two clocks' small jitter).
    #[inline]
    pub fn map(&self, stamp: u64, run_now: u64) -> u64 {
        stamp.saturating_sub(self.offset).min(run_now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn a_read_carries_its_arrival_time() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (rx, _) = l.accept().unwrap();
        enable(rx.as_raw_fd()).unwrap();
        // The kernel turns receive stamps on lazily (a static key flipped
        // from a work queue): the first segments after the first enable in
        // a process may come unstamped, which `recv` reports as None and
        // callers fall back from. Try a few times; one must be stamped.
        let mut got = None;
        for _ in 0..10 {
            let before = realtime_ns();
            tx.write_all(b"hello").unwrap();
            // Read well after arrival: the stamp is the arrival, not the read.
            std::thread::sleep(Duration::from_millis(30));
            let mut buf = [0u8; 16];
            let (n, stamp) = recv(rx.as_raw_fd(), &mut buf).unwrap();
            let after = realtime_ns();
            assert_eq!(&buf[..n], b"hello");
            if let Some(stamp) = stamp {
                got = Some((before, stamp, after));
                break;
            }
        }
        let (before, stamp, after) = got.expect("no read was stamped in 10 tries");
        assert!(stamp >= before - 1_000_000, "{stamp} {before}");
        assert!(stamp + 20_000_000 < after, "arrival, not the read");
        // Onto a run clock whose zero was 5 ms before `before`.
        let m = RealToRun::new(before, 5_000_000);
        let t = m.map(stamp, 1_000_000_000);
        assert!((4_000_000..20_000_000).contains(&t), "{t}");
        assert_eq!(m.map(stamp, 5_000_000), 5_000_000, "never after now");
    }
}
