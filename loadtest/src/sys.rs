//! The few OS calls the load tester needs: CPU pinning, CPU-time readings,
//! the wall-clock date for folder names and receipt texts.

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
