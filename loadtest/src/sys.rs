//! The few OS calls the load tester needs: CPU pinning, CPU-time readings,
//! the open-file limit, another process's CPU and memory (/proc), the
//! wall-clock date for folder names and receipt texts.

use std::io;
use std::time::Duration;

/// Pins the calling thread to one CPU (`sched_setaffinity`).
pub fn pin_to_core(core: usize) -> io::Result<()> {
    if core >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "core number too large",
        ));
    }
    // SAFETY: cpu_set_t is a plain bit array for which all-zero is valid;
    // CPU_SET stays in bounds (checked above); the pointer and size describe
    // that local set for the duration of the call.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: rusage is plain data (all-zero valid); getrusage only writes it.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return Duration::ZERO;
        }
        ru
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// User + system CPU time of the whole process.
pub fn process_cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// User + system CPU time of the calling thread.
pub fn thread_cpu() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (thousands of binds
/// need thousands of descriptors; the usual soft limit is 1024). Returns
/// the (soft, hard) limits now in force.
pub fn raise_nofile() -> io::Result<(u64, u64)> {
    // SAFETY: rlimit is plain data; getrlimit/setrlimit only read or write it.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return Err(io::Error::last_os_error());
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
        Ok((r.rlim_cur as u64, r.rlim_max as u64))
    }
}

/// A process's CPU time and memory, from /proc/PID/stat and /proc/PID/status.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcUsage {
    /// utime + stime.
    pub cpu: Duration,
    /// VmRSS: resident now.
    pub vm_rss_kib: u64,
    /// VmHWM: the peak resident set so far.
    pub vm_hwm_kib: u64,
}

impl ProcUsage {
    pub fn read(pid: u32) -> io::Result<ProcUsage> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        ProcUsage::parse(&stat, &status, hz)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc format"))
    }

    /// `stat`: fields 14 and 15 (utime, stime, in clock ticks) counted after
    /// the command name, which is in parentheses and may hold spaces.
    pub fn parse(stat: &str, status: &str, hz: u64) -> Option<ProcUsage> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let mut f = rest.split_whitespace().skip(11);
        let utime: u64 = f.next()?.parse().ok()?;
        let stime: u64 = f.next()?.parse().ok()?;
        let ticks = utime + stime;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(ProcUsage {
            cpu: Duration::from_secs(ticks / hz)
                + Duration::from_nanos(ticks % hz * 1_000_000_000 / hz),
            vm_rss_kib: kib("VmRSS:")?,
            vm_hwm_kib: kib("VmHWM:")?,
        })
    }
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(_) => 0,
    }
}

/// UTC calendar fields (year, month, day, hour, minute, second) of a Unix time.
pub fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

/// `YYYYMMDD-HHMMSS` (UTC), for result folder names.
pub fn timestamp(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// `YYMMDDhhmm` (UTC), the receipt text's date format.
pub fn smpp_date(unix: i64) -> [u8; 10] {
    let (y, mo, d, h, mi, _) = civil(unix);
    let mut out = [b'0'; 10];
    for (i, v) in [(y.rem_euclid(100)) as u32, mo, d, h, mi]
        .into_iter()
        .enumerate()
    {
        out[2 * i] = b'0' + (v / 10 % 10) as u8;
        out[2 * i + 1] = b'0' + (v % 10) as u8;
    }
    out
}

/// Free space at least this large is kept at the end of a read buffer.
pub const MIN_READ_SPACE: usize = 16 * 1024;

/// Makes room for the next read into `rbuf[*rend..]`, where
/// `rbuf[*rstart..*rend]` holds unparsed octets: an empty buffer starts
/// again at 0; a buffer with less than [`MIN_READ_SPACE`] free at its end
/// moves its unparsed octets to the front.
pub fn make_read_room(rbuf: &mut [u8], rstart: &mut usize, rend: &mut usize) {
    if *rstart == *rend {
        *rstart = 0;
        *rend = 0;
    } else if rbuf.len() - *rend < MIN_READ_SPACE {
        rbuf.copy_within(*rstart..*rend, 0);
        *rend -= *rstart;
        *rstart = 0;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_room_resets_or_compacts() {
        let mut buf = vec![0u8; MIN_READ_SPACE + 8];
        let (mut a, mut b) = (5, 5);
        make_read_room(&mut buf, &mut a, &mut b);
        assert_eq!((a, b), (0, 0));
        // Enough room left: untouched.
        let (mut a, mut b) = (2, 6);
        make_read_room(&mut buf, &mut a, &mut b);
        assert_eq!((a, b), (2, 6));
        // Too little room: the unparsed octets move to the front.
        let n = buf.len();
        buf[n - 3..].copy_from_slice(b"xyz");
        let (mut a, mut b) = (n - 3, n);
        make_read_room(&mut buf, &mut a, &mut b);
        assert_eq!((a, b), (0, 3));
        assert_eq!(&buf[..3], b"xyz");
    }

    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2024-05-06 14:22:33 UTC
        assert_eq!(civil(1_715_005_353), (2024, 5, 6, 14, 22, 33));
        assert_eq!(timestamp(1_715_005_353), "20240506-142233");
        assert_eq!(&smpp_date(1_715_005_353), b"2405061422");
        // Leap day.
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn proc_usage_parses_and_reads_ourselves() {
        let stat = "4242 (smsc (loop 0)) S 1 4242 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 500";
        let status = "Name:\tsmsc\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        let u = ProcUsage::parse(stat, status, 100).unwrap();
        assert_eq!(u.cpu, Duration::from_secs(3), "(250 + 50) ticks at 100 Hz");
        assert_eq!((u.vm_rss_kib, u.vm_hwm_kib), (10240, 20480));
        assert!(ProcUsage::parse("garbage", status, 100).is_none());
        let me = ProcUsage::read(std::process::id()).unwrap();
        assert!(me.vm_rss_kib > 0 && me.vm_hwm_kib >= me.vm_rss_kib);
    }

    #[test]
    fn nofile_soft_limit_is_raised_to_hard() {
        let (soft, hard) = raise_nofile().unwrap();
        assert!(soft <= hard);
        assert!(soft >= 64);
    }

    #[test]
    fn cpu_readings_move() {
        let a = thread_cpu();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu() >= a);
        assert!(process_cpu() >= thread_cpu());
    }
}
