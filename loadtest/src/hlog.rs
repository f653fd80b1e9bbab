//! HdrHistogram interval logs (`.hlog`): one histogram per second of the
//! run, in the standard format HdrHistogram's `HistogramLogProcessor`,
//! `HistogramLogAnalyzer` and the other implementations' log readers take.
//!
//! Each file starts with comment lines, `#[Histogram log format version
//! 1.3]`, `#[StartTime: ...]` and `#[BaseTime: ...]` (both the wall-clock
//! time sending began, in seconds since the epoch) and the legend line
//! `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`;
//! then one line per interval: its start in seconds after BaseTime, its
//! length in seconds, its largest value, and the interval's histogram
//! (V2 format, deflate-compressed, base64). Values are in **microseconds**,
//! `Interval_Max` too (HistogramLogProcessor: `-outputValueUnitRatio 1000`
//! prints milliseconds). Written with the `hdrhistogram` crate's own
//! interval-log writer; [`read`] reads one back with its iterator.

use crate::stats::Hists;
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use std::time::{Duration, SystemTime};

/// One interval log, built in memory.
pub struct IntervalLog {
    buf: Vec<u8>,
    ser: V2DeflateSerializer,
}

impl IntervalLog {
    /// The header: `comment` (one `#` line per line of it), the format
    /// version, StartTime and BaseTime at `start`, the legend.
    pub fn new(start: SystemTime, comment: &str) -> Result<IntervalLog, String> {
        let mut log = IntervalLog {
            buf: Vec::new(),
            ser: V2DeflateSerializer::new(),
        };
        IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut log.buf, &mut log.ser)
            .map_err(|e| format!("interval log header: {e}"))?;
        log.buf.extend_from_slice(
            b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        );
        Ok(log)
    }

    /// Appends the interval starting `offset` after BaseTime, `length` long.
    pub fn append(
        &mut self,
        h: &Histogram<u64>,
        offset: Duration,
        length: Duration,
    ) -> Result<(), String> {
        // A builder without headers writes nothing: just the interval line.
        IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.buf, &mut self.ser)
            .map_err(|e| format!("interval log: {e}"))?
            .write_histogram(h, offset, length, None)
            .map_err(|e| format!("interval log: {e}"))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// The run's interval logs, next to the `.hgrm` files of the same name
/// (in the order of [`Hists::all`]).
pub const FILES: [&str; 8] = [
    "submit_resp.hlog",
    "submit_resp_uncorrected.hlog",
    "receipt.hlog",
    "receipt_uncorrected.hlog",
    "mo.hlog",
    "mo_uncorrected.hlog",
    "query.hlog",
    "enquire_link.hlog",
];

const WHAT: [&str; 8] = [
    "submit -> submit_sm_resp, corrected for coordinated omission (from the intended send time)",
    "submit -> submit_sm_resp, uncorrected (from the actual write)",
    "submit -> receipt, corrected for coordinated omission (from the intended send time)",
    "submit -> receipt, uncorrected (from the actual write)",
    "submit -> MO deliver_sm at the receiving account, corrected (from the intended send time)",
    "submit -> MO deliver_sm at the receiving account, uncorrected (from the actual write)",
    "query_sm -> query_sm_resp (from the write)",
    "enquire_link -> enquire_link_resp beside the messages (from the write)",
];

/// The histograms of `h` in [`FILES`] order.
fn kinds(h: &Hists) -> [&Histogram<u64>; 8] {
    h.all()
}

/// The interval logs of a run: one per latency kind, fed once per interval.
/// A failure is kept and reported by [`RunLogs::finish`] (the run goes on).
pub struct RunLogs {
    logs: Vec<IntervalLog>,
    error: Option<String>,
}

impl RunLogs {
    pub fn new(start: SystemTime) -> RunLogs {
        let mut logs = Vec::new();
        let mut error = None;
        for what in WHAT {
            let comment = format!(
                "loadtest: {what}\nlatency in microseconds; one interval per second from the start of sending"
            );
            match IntervalLog::new(start, &comment) {
                Ok(l) => logs.push(l),
                Err(e) => error = Some(e),
            }
        }
        RunLogs { logs, error }
    }

    /// Appends one interval of every kind.
    pub fn append(&mut self, h: &Hists, offset: Duration, length: Duration) {
        if self.error.is_some() {
            return;
        }
        for (log, hist) in self.logs.iter_mut().zip(kinds(h)) {
            if let Err(e) = log.append(hist, offset, length) {
                self.error = Some(e);
                return;
            }
        }
    }

    /// (file name, content) of each log, or the first error.
    pub fn finish(&self) -> Result<Vec<(&'static str, &[u8])>, String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(FILES
            .iter()
            .zip(&self.logs)
            .map(|(f, l)| (*f, l.as_bytes()))
            .collect())
    }
}

/// One interval read back.
pub struct Interval {
    /// Start, after BaseTime.
    pub start: Duration,
    pub length: Duration,
    /// The `Interval_Max` column.
    pub max: f64,
    pub hist: Histogram<u64>,
}

/// Reads an interval log: BaseTime (if any) and the intervals, each
/// histogram decoded.
pub fn read(log: &[u8]) -> Result<(Option<Duration>, Vec<Interval>), String> {
    let mut base = None;
    let mut out = Vec::new();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(log) {
        match entry.map_err(|e| format!("interval log: {e:?}"))? {
            LogEntry::BaseTime(t) => base = Some(t),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(iv) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(iv.encoded_histogram())
                    .map_err(|e| format!("interval log base64: {e}"))?;
                let hist = de
                    .deserialize(&mut raw.as_slice())
                    .map_err(|e| format!("interval log histogram: {e}"))?;
                out.push(Interval {
                    start: iv.start_timestamp(),
                    length: iv.duration(),
                    max: iv.max(),
                    hist,
                });
            }
        }
    }
    Ok((base, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::new_hist;

    #[test]
    fn intervals_read_back() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let mut log = IntervalLog::new(start, "a test\nsecond line").unwrap();
        // (values, start offset in ms, length in ms); the middle one empty.
        let intervals: [(&[u64], u64, u64); 3] = [
            (&[1, 250, 250, 999, 12_345], 0, 1000),
            (&[], 1000, 1000),
            (&[7, 3_600_000_000], 2000, 437),
        ];
        for (values, off, len) in intervals {
            let mut h = new_hist();
            for v in values {
                h.record(*v).unwrap();
            }
            log.append(&h, Duration::from_millis(off), Duration::from_millis(len))
                .unwrap();
        }
        let text = std::str::from_utf8(log.as_bytes()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#a test");
        assert_eq!(lines[1], "#second line");
        assert_eq!(lines[2], "#[Histogram log format version 1.3]");
        assert_eq!(
            lines[3],
            "#[StartTime: 1700000000.250 (seconds since epoch)]"
        );
        assert_eq!(
            lines[4],
            "#[BaseTime: 1700000000.250 (seconds since epoch)]"
        );
        assert_eq!(
            lines[5],
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        );
        assert!(
            lines[6].starts_with("0.000,1.000,12351.000,"),
            "{}",
            lines[6]
        );
        assert_eq!(lines.len(), 9);

        let (base, got) = read(log.as_bytes()).unwrap();
        assert_eq!(
            base,
            Some(start.duration_since(SystemTime::UNIX_EPOCH).unwrap())
        );
        assert_eq!(got.len(), 3);
        for (iv, (values, off, len)) in got.iter().zip(intervals) {
            assert_eq!(iv.start, Duration::from_millis(off));
            assert_eq!(iv.length, Duration::from_millis(len));
            assert_eq!(iv.hist.len(), values.len() as u64);
            let max = values.iter().copied().max().unwrap_or(0);
            assert_eq!(iv.hist.max(), new_hist().highest_equivalent(max));
            assert_eq!(iv.max, iv.hist.max() as f64);
            for v in values {
                assert!(iv.hist.count_at(*v) > 0, "{v}");
            }
        }
        assert_eq!(got[0].hist.count_at(250), 2);
        assert!(read(b"0.000,1.000,5.0,not base64!\n").is_err());
    }

    #[test]
    fn run_logs_eight_files() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut logs = RunLogs::new(start);
        let mut h = Hists::new();
        h.resp_c.record(100).unwrap();
        h.resp_u.record(50).unwrap();
        h.rcpt_c.record(2000).unwrap();
        h.rcpt_c.record(3000).unwrap();
        h.mo_u.record(700).unwrap();
        h.enquire.record(40).unwrap();
        logs.append(&h, Duration::ZERO, Duration::from_secs(1));
        logs.append(
            &Hists::new(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        let files = logs.finish().unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.0).collect();
        assert_eq!(names, FILES);
        let counts: Vec<Vec<u64>> = files
            .iter()
            .map(|(_, b)| read(b).unwrap().1.iter().map(|i| i.hist.len()).collect())
            .collect();
        assert_eq!(
            counts,
            [
                vec![1, 0],
                vec![1, 0],
                vec![2, 0],
                vec![0, 0],
                vec![0, 0],
                vec![1, 0],
                vec![0, 0],
                vec![1, 0]
            ]
        );
        let text = String::from_utf8(files[2].1.to_vec()).unwrap();
        assert!(
            text.starts_with("#loadtest: submit -> receipt, corrected"),
            "{text}"
        );
    }
}
