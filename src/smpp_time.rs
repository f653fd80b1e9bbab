//! SMPP time fields (smpp34.md §9, spec §7.1.1): `YYMMDDhhmmsstnnp`.
//!
//! Used for `schedule_delivery_time` and `validity_period` in, `final_date`
//! out, and receipt dates. Pure calendar maths (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`), no clock: callers pass `now`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::dlr::Ymdhm;

/// Default century pivot (Appendix C): two-digit years below it are 20YY,
/// the rest 19YY.
pub const CENTURY_PIVOT: u8 = 38;

/// Length of the time field without its NUL.
pub const FIELD_LEN: usize = 16;

const SECS_PER_DAY: i64 = 86_400;

/// A decoded SMPP time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmppTime {
    /// Empty field: "immediately" (schedule) or "SMSC default" (validity).
    None,
    /// Absolute time, converted to UTC. Tenths of a second are dropped.
    Absolute { unix_secs: i64 },
    /// Offset from "now".
    Relative { secs: u64 },
}

impl SmppTime {
    /// Resolves to a UTC unix time given the caller's `now`; `None` for
    /// [`SmppTime::None`]. Saturates instead of overflowing.
    pub fn to_unix(self, now_unix: i64) -> Option<i64> {
        match self {
            SmppTime::None => None,
            SmppTime::Absolute { unix_secs } => Some(unix_secs),
            SmppTime::Relative { secs } => {
                Some(now_unix.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
            }
        }
    }
}

/// Why a time field was rejected (map to ESME_RINVSCHED / ESME_RINVEXPIRY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// Neither empty nor 16 characters.
    BadLength,
    /// Non-digit at `index` where a digit is required.
    BadDigit { index: usize },
    /// A value out of range (month 13, Feb 30, nn > 48, ...) or `p` not `+`/`-`/`R`.
    BadField,
}

impl core::fmt::Display for TimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::BadLength => f.write_str("time field is not 16 characters"),
            Self::BadDigit { index } => write!(f, "time field: non-digit at {index}"),
            Self::BadField => f.write_str("time field: value out of range"),
        }
    }
}

impl std::error::Error for TimeError {}

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ymdhms {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Ymdhms {
    /// The receipt-date form (seconds dropped, year clamped to 0..=65535).
    pub fn ymdhm(&self) -> Ymdhm {
        Ymdhm {
            year: u16::try_from(self.year.clamp(0, i32::from(u16::MAX))).unwrap_or(0),
            month: self.month,
            day: self.day,
            hour: self.hour,
            minute: self.minute,
        }
    }
}

/// Gregorian leap year.
pub const fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1..=12) of `year`; 0 for an invalid month.
pub const fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). Fields are
/// not validated; out-of-range values roll over arithmetically. Cannot overflow
/// for any `i32` year.
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let m = i64::from(month);
    let y = i64::from(year) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`] (Hinnant). Returns (year, month, day); the
/// year saturates at the `i32` bounds.
pub fn civil_from_days(days: i64) -> (i32, u8, u8) {
    // Keep z + 719468 and the year far from overflow.
    let z = days.clamp(-MAX_ABS_DAYS, MAX_ABS_DAYS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    let year = i32::try_from(y).unwrap_or(if y < 0 { i32::MIN } else { i32::MAX });
    (year, small(m), small(d))
}

/// About +-1.9 billion years: well inside `i32` years.
const MAX_ABS_DAYS: i64 = 700_000_000_000;

#[inline]
fn small(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(0)
}

/// Breaks a unix time into UTC fields. Times beyond about +-1.9 billion years
/// saturate.
pub fn civil_from_unix(secs: i64) -> Ymdhms {
    let days = secs.div_euclid(SECS_PER_DAY);
    let rem = secs.rem_euclid(SECS_PER_DAY); // [0, 86399]
    let (year, month, day) = civil_from_days(days);
    Ymdhms {
        year,
        month,
        day,
        hour: small(rem / 3600),
        minute: small(rem % 3600 / 60),
        second: small(rem % 60),
    }
}

/// Unix time of UTC fields. Fields are not validated (see [`days_from_civil`]).
pub fn unix_from_civil(t: Ymdhms) -> i64 {
    days_from_civil(t.year, t.month, t.day) * SECS_PER_DAY
        + i64::from(t.hour) * 3600
        + i64::from(t.minute) * 60
        + i64::from(t.second)
}

#[inline]
fn digit(b: u8, index: usize) -> Result<u8, TimeError> {
    if b.is_ascii_digit() {
        Ok(b - b'0')
    } else {
        Err(TimeError::BadDigit { index })
    }
}

#[inline]
fn two(hi: u8, lo: u8, index: usize) -> Result<u8, TimeError> {
    Ok(digit(hi, index)? * 10 + digit(lo, index + 1)?)
}

/// Parses a time field (without its NUL) with the default century pivot.
pub fn parse(field: &[u8]) -> Result<SmppTime, TimeError> {
    parse_with_pivot(field, CENTURY_PIVOT)
}

/// Parses a time field; `YY < pivot` means 20YY, otherwise 19YY.
///
/// Relative times (`p` = `R`) are lenient: `t` and `nn` may be any digits
/// (the spec wants `0` and `00`; they are ignored), and fields are not
/// range-checked. The duration is approximated as years x 365 days +
/// months x 30 days + days + hh:mm:ss, as most SMSCs do; the spec does not
/// define calendar arithmetic for it.
pub fn parse_with_pivot(field: &[u8], pivot: u8) -> Result<SmppTime, TimeError> {
    if field.is_empty() {
        return Ok(SmppTime::None);
    }
    let &[y1, y2, mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2, t, n1, n2, p] =
        <&[u8; FIELD_LEN]>::try_from(field).map_err(|_| TimeError::BadLength)?;
    let yy = two(y1, y2, 0)?;
    let month = two(mo1, mo2, 2)?;
    let day = two(d1, d2, 4)?;
    let hour = two(h1, h2, 6)?;
    let minute = two(mi1, mi2, 8)?;
    let second = two(s1, s2, 10)?;
    digit(t, 12)?; // tenths: validated, then dropped
    let nn = two(n1, n2, 13)?;
    match p {
        b'R' => {
            let secs = u64::from(yy) * 365 * 86_400
                + u64::from(month) * 30 * 86_400
                + u64::from(day) * 86_400
                + u64::from(hour) * 3600
                + u64::from(minute) * 60
                + u64::from(second);
            Ok(SmppTime::Relative { secs })
        }
        b'+' | b'-' => {
            let year = if yy < pivot {
                2000 + i32::from(yy)
            } else {
                1900 + i32::from(yy)
            };
            let valid = (1..=12).contains(&month)
                && day >= 1
                && day <= days_in_month(year, month)
                && hour <= 23
                && minute <= 59
                && second <= 59
                && nn <= 48;
            if !valid {
                return Err(TimeError::BadField);
            }
            let local = unix_from_civil(Ymdhms {
                year,
                month,
                day,
                hour,
                minute,
                second,
            });
            // `+`: local is ahead of UTC, so UTC = local - offset.
            let offset = i64::from(nn) * 900;
            let unix_secs = if p == b'+' {
                local - offset
            } else {
                local + offset
            };
            Ok(SmppTime::Absolute { unix_secs })
        }
        _ => Err(TimeError::BadField),
    }
}

#[inline]
fn ascii2(v: u8) -> [u8; 2] {
    [b'0' + v / 10 % 10, b'0' + v % 10]
}

/// Writes `YYMMDDhhmmss000+` (UTC, offset 00) for e.g. `query_sm_resp.final_date`.
/// The century is lost: only `year mod 100` is written.
pub fn format_absolute(unix_secs: i64, out: &mut [u8; FIELD_LEN]) {
    let t = civil_from_unix(unix_secs);
    let [y1, y2] = ascii2(small(i64::from(t.year.rem_euclid(100))));
    let [mo1, mo2] = ascii2(t.month);
    let [d1, d2] = ascii2(t.day);
    let [h1, h2] = ascii2(t.hour);
    let [mi1, mi2] = ascii2(t.minute);
    let [s1, s2] = ascii2(t.second);
    *out = [
        y1, y2, mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2, b'0', b'0', b'0', b'+',
    ];
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    fn ymdhms(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Ymdhms {
        Ymdhms {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn spec_example_absolute() {
        // smpp34.md §9: 2024-05-06 14:22:33.0 at UTC+01:00 = 13:22:33 UTC.
        assert_eq!(
            parse(b"240506142233004+"),
            Ok(SmppTime::Absolute {
                unix_secs: 1_715_001_753
            })
        );
        // Same local time at UTC-01:00 is 15:22:33 UTC.
        assert_eq!(
            parse(b"240506142233004-"),
            Ok(SmppTime::Absolute {
                unix_secs: 1_715_001_753 + 7200
            })
        );
        // Tenths are dropped; nn = 00.
        assert_eq!(
            parse(b"240506132233900+"),
            Ok(SmppTime::Absolute {
                unix_secs: 1_715_001_753
            })
        );
        // Max offset 48 quarter hours = 12 h.
        assert_eq!(
            parse(b"240506132233048-"),
            Ok(SmppTime::Absolute {
                unix_secs: 1_715_001_753 + 12 * 3600
            })
        );
    }

    #[test]
    fn spec_example_relative() {
        assert_eq!(
            parse(b"000001020000000R"),
            Ok(SmppTime::Relative { secs: 93_600 })
        );
        // 1 year 1 month: 365 + 30 days.
        assert_eq!(
            parse(b"010100000000000R"),
            Ok(SmppTime::Relative { secs: 395 * 86_400 })
        );
        // Lenient: t and nn ignored, fields not range-checked (99 hours).
        assert_eq!(
            parse(b"000000990000512R"),
            Ok(SmppTime::Relative { secs: 99 * 3600 })
        );
        assert_eq!(
            parse(b"999999999999999R"),
            Ok(SmppTime::Relative {
                secs: 99 * 365 * 86_400 + 99 * 30 * 86_400 + 99 * 86_400 + 99 * 3600 + 99 * 60 + 99
            })
        );
    }

    #[test]
    fn empty_and_length() {
        assert_eq!(parse(b""), Ok(SmppTime::None));
        assert_eq!(parse(b"24050614223300+"), Err(TimeError::BadLength));
        assert_eq!(parse(b"240506142233004+\0"), Err(TimeError::BadLength));
        assert_eq!(parse(b"\0"), Err(TimeError::BadLength));
    }

    #[test]
    fn bad_digits_report_index() {
        let good = *b"240506142233004+";
        for i in 0..15 {
            let mut f = good;
            f[i] = b'x';
            assert_eq!(
                parse(&f),
                Err(TimeError::BadDigit { index: i }),
                "index {i}"
            );
        }
        let mut f = good;
        f[15] = b'X';
        assert_eq!(parse(&f), Err(TimeError::BadField));
        f[15] = b'r'; // lowercase is not R
        assert_eq!(parse(&f), Err(TimeError::BadField));
    }

    #[test]
    fn bad_fields() {
        for f in [
            &b"241306142233004+"[..], // month 13
            b"240006142233004+",      // month 0
            b"240500142233004+",      // day 0
            b"240431142233004+",      // April 31
            b"240506242233004+",      // hour 24
            b"240506146033004+",      // minute 60
            b"240506142260004+",      // second 60
            b"240506142233049+",      // nn 49
            b"230229000000000+",      // 2023 not leap
            b"380229000000000+",      // 1938 not leap
        ] {
            assert_eq!(
                parse(f),
                Err(TimeError::BadField),
                "{}",
                String::from_utf8_lossy(f)
            );
        }
    }

    #[test]
    fn leap_days_and_century_pivot() {
        assert_eq!(
            parse(b"240229120000000+"),
            Ok(SmppTime::Absolute {
                unix_secs: 1_709_208_000
            })
        );
        assert!(parse(b"000229000000000+").is_ok()); // 2000 divisible by 400
                                                     // 37 -> 2037, 38 -> 1938.
        assert_eq!(
            parse(b"371231235959000+"),
            Ok(SmppTime::Absolute {
                unix_secs: 2_145_916_799
            })
        );
        assert_eq!(
            parse(b"380101000000000+"),
            Ok(SmppTime::Absolute {
                unix_secs: -1_009_843_200
            })
        );
        assert_eq!(
            parse(b"991231235959000+"),
            Ok(SmppTime::Absolute {
                unix_secs: 946_684_799
            })
        );
        // Pivot 0: everything 19YY.
        assert_eq!(
            parse_with_pivot(b"000301000000000+", 0),
            Ok(SmppTime::Absolute {
                unix_secs: -2_203_891_200 // 1900-03-01
            })
        );
        assert!(is_leap(2000) && is_leap(2024) && is_leap(1600));
        assert!(!is_leap(1900) && !is_leap(2100) && !is_leap(2023));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2023, 12), 31);
        assert_eq!(days_in_month(2023, 0), 0);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn civil_known_values() {
        assert_eq!(unix_from_civil(ymdhms(1970, 1, 1, 0, 0, 0)), 0);
        assert_eq!(unix_from_civil(ymdhms(1969, 12, 31, 23, 59, 59)), -1);
        assert_eq!(unix_from_civil(ymdhms(2000, 3, 1, 0, 0, 0)), 951_868_800);
        assert_eq!(
            unix_from_civil(ymdhms(2038, 1, 19, 3, 14, 7)),
            2_147_483_647
        );
        assert_eq!(civil_from_unix(0), ymdhms(1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(-1), ymdhms(1969, 12, 31, 23, 59, 59));
        assert_eq!(
            civil_from_unix(951_868_799),
            ymdhms(2000, 2, 29, 23, 59, 59)
        );
        assert_eq!(
            civil_from_unix(1_715_001_753),
            ymdhms(2024, 5, 6, 13, 22, 33)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn civil_round_trip_every_day_across_centuries() {
        // 1600-03-01 .. about 2500, every day, plus a time of day.
        let start = days_from_civil(1600, 3, 1);
        let mut prev = civil_from_days(start - 1);
        for d in start..start + 330_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
            assert!(dd >= 1 && dd <= days_in_month(y, m));
            // Consecutive days advance the date by one.
            assert!((y, m, dd) > prev);
            prev = (y, m, dd);
            let secs = d * 86_400 + 45_296;
            let t = civil_from_unix(secs);
            assert_eq!((t.hour, t.minute, t.second), (12, 34, 56));
            assert_eq!(unix_from_civil(t), secs);
        }
    }

    #[test]
    fn extremes_do_not_panic() {
        for s in [i64::MIN, i64::MIN + 1, -1, i64::MAX - 1, i64::MAX] {
            let t = civil_from_unix(s);
            assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day));
            let mut out = [0u8; 16];
            format_absolute(s, &mut out);
            assert!(out[..15].iter().all(u8::is_ascii_digit));
        }
        assert!(civil_from_unix(i64::MAX).year > 1_000_000_000);
        assert!(civil_from_unix(i64::MIN).year < -1_000_000_000);
        // Any i32 year converts without overflow.
        let _ = unix_from_civil(ymdhms(i32::MAX, 12, 31, 23, 59, 59));
        let _ = unix_from_civil(ymdhms(i32::MIN, 1, 1, 0, 0, 0));
        assert!(unix_from_civil(ymdhms(i32::MIN, 1, 1, 0, 0, 0)) < 0);
    }

    #[test]
    fn format_absolute_bytes() {
        let mut out = [0u8; 16];
        format_absolute(1_715_001_753, &mut out);
        assert_eq!(&out, b"240506132233000+");
        format_absolute(946_684_799, &mut out);
        assert_eq!(&out, b"991231235959000+");
        format_absolute(0, &mut out);
        assert_eq!(&out, b"700101000000000+");
        // And it parses back to the same instant within the pivot window.
        format_absolute(2_000_000_000, &mut out);
        assert_eq!(
            parse(&out),
            Ok(SmppTime::Absolute {
                unix_secs: 2_000_000_000
            })
        );
    }

    #[test]
    fn to_unix_and_ymdhm() {
        assert_eq!(SmppTime::None.to_unix(100), None);
        assert_eq!(SmppTime::Absolute { unix_secs: 5 }.to_unix(100), Some(5));
        assert_eq!(SmppTime::Relative { secs: 60 }.to_unix(100), Some(160));
        assert_eq!(
            SmppTime::Relative { secs: u64::MAX }.to_unix(100),
            Some(i64::MAX)
        );
        let m = civil_from_unix(1_715_001_753).ymdhm();
        assert_eq!(
            m,
            Ymdhm {
                year: 2024,
                month: 5,
                day: 6,
                hour: 13,
                minute: 22
            }
        );
        assert_eq!(ymdhms(-5, 1, 1, 0, 0, 0).ymdhm().year, 0);
        assert_eq!(ymdhms(70_000, 1, 1, 0, 0, 0).ymdhm().year, 65_535);
    }
}
