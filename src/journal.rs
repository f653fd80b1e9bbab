//! The receipt journal (`--journal write|fsync`): every receipt the server
//! creates is recorded before the submit_sm_resp that accepted its message
//! leaves, and every receipt that is finished (acknowledged, refused for
//! good, dropped, expired) is recorded as done. After a crash, the receipts
//! added and not done are delivered again; nothing accepted is lost.
//!
//! One journal for all loops, `<spool-dir>/journal-<gen>.log`, of text lines:
//!
//! ```text
//! A <jid> <spool line>      a receipt was created (fields as in the spool)
//! A <jid> M <fields>        a pending message (scheduled, delayed, an MO
//!                           message on its way): `persist.rs`
//! D <jid>                   that receipt (or message) is finished
//! ```
//!
//! Each loop collects its lines for one iteration in a [`Batch`] and
//! commits it, under one lock, before it writes to any socket: a write, an
//! `fdatasync` in `fsync` mode when the batch adds receipts, and an update
//! of the in-memory live set. When the file has grown past twice the live
//! set (and at least [`ROTATE_MIN_BYTES`]), the writer starts a new
//! generation holding only the live receipts and deletes the old one, so a
//! receipt can move between loops without any coordination: the journal
//! knows it by its jid, not by the loop.
//!
//! `write` mode survives a crash or `SIGKILL` of the process (the data is
//! in the kernel); `fsync` mode also survives a power cut.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::receipt::Receipt;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A journal file is compacted once it exceeds this and twice the live set.
pub const ROTATE_MIN_BYTES: u64 = 64 << 20;

/// Bits of a jid that name the loop that created the receipt: jids are
/// `counter << LOOP_BITS | loop`, unique without a shared counter.
pub const LOOP_BITS: u32 = 16;

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Mode {
    /// No journal: receipts live in memory (and the spool at shutdown).
    Off,
    /// Written before responses leave: survives a process crash.
    Write,
    /// Written and fdatasync'ed: survives a power cut too.
    Fsync,
}

enum Op {
    Add { jid: u64, start: usize, end: usize },
    Done(u64),
}

/// One loop's journal lines for one iteration.
#[derive(Default)]
pub struct Batch {
    text: Vec<u8>,
    ops: Vec<Op>,
    adds: usize,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Records a receipt as created. `system_id` names its account.
    pub fn add(&mut self, r: &Receipt, system_id: &str) {
        let start = self.text.len();
        self.text.extend_from_slice(b"A ");
        crate::receipt::push_u64(&mut self.text, r.jid);
        self.text.push(b' ');
        r.write_spool_line(system_id, &mut self.text);
        self.ops.push(Op::Add {
            jid: r.jid,
            start,
            end: self.text.len(),
        });
        self.adds += 1;
    }

    /// Records something else the journal keeps alive until its `D` line
    /// (a pending message): `write` appends its line, ending in `\n`.
    pub fn add_raw(&mut self, jid: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.text.len();
        self.text.extend_from_slice(b"A ");
        crate::receipt::push_u64(&mut self.text, jid);
        self.text.push(b' ');
        write(&mut self.text);
        if self.text.last() != Some(&b'\n') {
            self.text.push(b'\n');
        }
        self.ops.push(Op::Add {
            jid,
            start,
            end: self.text.len(),
        });
        self.adds += 1;
    }

    /// Records a receipt as finished (no-op for one never journaled).
    pub fn done(&mut self, jid: u64) {
        if jid != 0 {
            self.text.extend_from_slice(b"D ");
            crate::receipt::push_u64(&mut self.text, jid);
            self.text.push(b'\n');
            self.ops.push(Op::Done(jid));
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ops.clear();
        self.adds = 0;
    }
}

/// A journal line read back: a receipt added (with its line) or done.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Add(u64, &'a str),
    Done(u64),
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    let (kind, rest) = line.split_once(' ')?;
    match kind {
        "A" => {
            let (jid, spool) = rest.split_once(' ')?;
            Some(Line::Add(jid.parse().ok()?, spool))
        }
        "D" => Some(Line::Done(rest.trim_end().parse().ok()?)),
        _ => None,
    }
}

fn file_name(gen: u64) -> String {
    format!("journal-{gen:012}.log")
}

fn generation(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("journal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// jids are the server's own counters, not input from the network: a
/// multiplicative hash is enough (SipHash cost more than the map itself).
#[derive(Default, Clone, Copy)]
pub struct JidHasher(u64);

impl std::hash::Hasher for JidHasher {
    fn finish(&self) -> u64 {
        // The product's high bits depend on every bit of the jid; the map
        // indexes by the low bits (a jid's low bits are its loop number).
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Live = HashMap<u64, Box<[u8]>, std::hash::BuildHasherDefault<JidHasher>>;

/// The one writer behind a lock in [`crate::server::Shared`].
pub struct Writer {
    dir: PathBuf,
    mode: Mode,
    gen: u64,
    file: File,
    bytes: u64,
    /// Receipts added and not done: jid -> its `A` line.
    live: Live,
    live_bytes: u64,
    /// The last commit failed (logged once, not on every retry).
    failing: bool,
}

/// What [`Writer::open`] found in the directory.
pub struct Recovered {
    /// (jid, spool line) of every receipt added and not done.
    pub receipts: Vec<(u64, String)>,
    /// The largest jid seen: new jids are made above it.
    pub max_jid: u64,
    /// Lines that could not be read (a torn last line after a crash).
    pub unreadable: u64,
}

/// Writes `live` as generation `gen` and makes it durable (written to a
/// temporary file, synced, renamed into place, directory synced). Returns
/// the file open for appending and its size.
fn write_generation(dir: &Path, gen: u64, live: &Live) -> io::Result<(File, u64)> {
    let tmp = dir.join("journal.tmp");
    let mut buf = Vec::new();
    for line in live.values() {
        buf.extend_from_slice(line);
    }
    let mut f = File::create(&tmp)?;
    f.write_all(&buf)?;
    f.sync_data()?;
    let path = dir.join(file_name(gen));
    fs::rename(&tmp, &path)?;
    // The rename itself must survive a power cut.
    File::open(dir)?.sync_all()?;
    Ok((
        OpenOptions::new().append(true).open(&path)?,
        buf.len() as u64,
    ))
}

impl Writer {
    /// Reads the newest journal in `dir` (each generation holds the whole
    /// live set of the one before), then starts a new generation that holds
    /// only the live receipts, and deletes the older files.
    pub fn open(dir: &Path, mode: Mode) -> io::Result<(Writer, Recovered)> {
        fs::create_dir_all(dir)?;
        let mut gens: Vec<(u64, PathBuf)> = fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter_map(|p| generation(&p).map(|g| (g, p)))
            .collect();
        gens.sort();
        let mut live = Live::default();
        // Recovered receipts in the order they were journaled.
        let mut order: Vec<u64> = Vec::new();
        let (mut max_jid, mut unreadable) = (0u64, 0u64);
        if let Some((_, newest)) = gens.last() {
            let text = fs::read(newest)?;
            let text = String::from_utf8_lossy(&text);
            for raw in text.split_inclusive('\n') {
                // A line without its newline was cut by the crash.
                let parsed = raw
                    .strip_suffix('\n')
                    .and_then(|l| parse_line(l).map(|p| (l, p)))
                    .filter(|(_, p)| match p {
                        // A line ended after a failed write may hold half
                        // a receipt: only whole ones count.
                        Line::Add(_, spool) => match spool.strip_prefix("M ") {
                            // A pending message: all of its fields.
                            Some(m) => matches!(m.split_whitespace().count(), 22 | 34),
                            None => Receipt::from_spool_line(spool).is_some(),
                        },
                        Line::Done(_) => true,
                    });
                match parsed {
                    Some((l, Line::Add(jid, _))) => {
                        max_jid = max_jid.max(jid);
                        let mut line = l.as_bytes().to_vec();
                        line.push(b'\n');
                        if live.insert(jid, line.into_boxed_slice()).is_none() {
                            order.push(jid);
                        }
                    }
                    Some((_, Line::Done(jid))) => {
                        max_jid = max_jid.max(jid);
                        live.remove(&jid);
                    }
                    None if raw.trim().is_empty() => {}
                    None => unreadable += 1,
                }
            }
        }
        // A live line is `A <jid> <spool line>\n`: the spool line is what
        // follows the jid.
        let receipts = order
            .iter()
            .filter_map(|&jid| {
                let line = std::str::from_utf8(live.get(&jid)?).ok()?;
                let spool = line.trim_end().splitn(3, ' ').nth(2)?;
                Some((jid, spool.to_string()))
            })
            .collect();
        let next_gen = gens.last().map_or(1, |(g, _)| g + 1);
        let (file, bytes) = write_generation(dir, next_gen, &live)?;
        let w = Writer {
            dir: dir.to_path_buf(),
            mode,
            gen: next_gen,
            file,
            bytes,
            live_bytes: bytes,
            live,
            failing: false,
        };
        for (g, p) in gens {
            if g < next_gen {
                fs::remove_file(p)?;
            }
        }
        Ok((
            w,
            Recovered {
                receipts,
                max_jid,
                unreadable,
            },
        ))
    }

    /// Appends `batch`, makes it durable as the mode asks, updates the live
    /// set and compacts when due. On error the batch is kept for a retry:
    /// the caller must not send the responses it covers.
    pub fn commit(&mut self, batch: &mut Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.append(batch) {
            Ok(()) if self.failing => {
                self.failing = false;
                crate::log::info(format_args!("journal writes work again"));
            }
            Ok(()) => {}
            Err(e) => {
                if !self.failing {
                    self.failing = true;
                    crate::log::warn(format_args!(
                        "journal write failed, holding responses until it works: {e}"
                    ));
                }
                return Err(e);
            }
        }
        self.apply(batch);
        batch.clear();
        if self.bytes > ROTATE_MIN_BYTES.max(2 * self.live_bytes) {
            if let Err(e) = self.rotate() {
                // The current file is still whole: go on with it.
                crate::log::warn(format_args!("journal compaction failed: {e}"));
            }
        }
        Ok(())
    }

    /// The batch's lines on disk (and synced in fsync mode). A failed write
    /// is retried whole: a repeated A or D line means the same thing, and
    /// the half line a failure may leave is ended before the retry (replay
    /// skips it).
    fn append(&mut self, batch: &Batch) -> io::Result<()> {
        if self.failing {
            // The failed write may have left half a line: end it, so the
            // retried batch's first line stays readable.
            self.file.write_all(b"\n")?;
        }
        self.file.write_all(&batch.text)?;
        if self.mode == Mode::Fsync && batch.adds > 0 {
            self.file.sync_data()?;
        }
        self.bytes += batch.text.len() as u64;
        Ok(())
    }

    /// The batch applied to the live set.
    fn apply(&mut self, batch: &Batch) {
        for op in &batch.ops {
            match *op {
                Op::Add { jid, start, end } => {
                    if let Some(line) = batch.text.get(start..end) {
                        self.live_bytes += line.len() as u64;
                        if let Some(old) = self.live.insert(jid, line.into()) {
                            self.live_bytes -= old.len() as u64;
                        }
                    }
                }
                Op::Done(jid) => {
                    if let Some(old) = self.live.remove(&jid) {
                        self.live_bytes -= old.len() as u64;
                    }
                }
            }
        }
    }

    /// Compacts: a new generation with the live receipts only, then the
    /// old file goes.
    pub fn rotate(&mut self) -> io::Result<()> {
        let old = self.path();
        let (file, bytes) = write_generation(&self.dir, self.gen + 1, &self.live)?;
        self.file = file;
        self.bytes = bytes;
        self.gen += 1;
        fs::remove_file(old)
    }

    /// Receipts added and not done.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(file_name(self.gen))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("smsc-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn receipt(jid: u64) -> Receipt {
        let mut r = crate::testutil::receipt();
        r.jid = jid;
        r
    }

    fn jids(rec: &Recovered) -> Vec<u64> {
        rec.receipts.iter().map(|(j, _)| *j).collect()
    }

    #[test]
    fn added_and_not_done_come_back_in_order() {
        let d = dir("basic");
        let (mut w, rec) = Writer::open(&d, Mode::Fsync).unwrap();
        assert!(rec.receipts.is_empty());
        let mut b = Batch::default();
        for jid in [5, 3, 9, 7] {
            b.add(&receipt(jid), "movider");
        }
        b.done(3);
        b.done(0); // never journaled: nothing written
        w.commit(&mut b).unwrap();
        assert!(b.is_empty());
        b.done(7);
        b.done(42); // unknown: ignored
        w.commit(&mut b).unwrap();
        assert_eq!(w.live(), 2);
        drop(w);

        let (w, rec) = Writer::open(&d, Mode::Fsync).unwrap();
        assert_eq!(jids(&rec), vec![5, 9]);
        assert_eq!(rec.max_jid, 42);
        let (sid, r) = Receipt::from_spool_line(&rec.receipts[0].1).unwrap();
        assert_eq!(sid, b"movider");
        assert_eq!(r.text(), b"hello world");
        // The reopened writer compacted into one new generation.
        let files: Vec<_> = fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].path(), w.path());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let d = dir("torn");
        let (mut w, _) = Writer::open(&d, Mode::Write).unwrap();
        let mut b = Batch::default();
        b.add(&receipt(1), "movider");
        b.add(&receipt(2), "movider");
        w.commit(&mut b).unwrap();
        let path = w.path();
        drop(w);
        // A crash in the middle of the next write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"D 1\nA 3 6d6f766964657220303132").unwrap();
        drop(f);
        let (_, rec) = Writer::open(&d, Mode::Write).unwrap();
        assert_eq!(jids(&rec), vec![2]);
        assert_eq!(rec.unreadable, 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rotation_keeps_only_the_live_set() {
        let d = dir("rotate");
        let (mut w, _) = Writer::open(&d, Mode::Write).unwrap();
        let mut b = Batch::default();
        for jid in 1..=1000 {
            b.add(&receipt(jid), "movider");
            if jid % 10 != 0 {
                b.done(jid);
            }
        }
        w.commit(&mut b).unwrap();
        let before = w.path();
        let big = fs::metadata(&before).unwrap().len();
        w.rotate().unwrap();
        assert!(!before.exists());
        let small = fs::metadata(w.path()).unwrap().len();
        assert!(small * 5 < big, "{small} vs {big}");
        // Records after the rotation go to the new file.
        b.done(10);
        w.commit(&mut b).unwrap();
        drop(w);
        let (_, rec) = Writer::open(&d, Mode::Write).unwrap();
        let mut got = jids(&rec);
        got.sort();
        assert_eq!(got, (2..=100).map(|i| i * 10).collect::<Vec<_>>());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_is_retried_whole_and_a_torn_line_ended() {
        let d = dir("fail");
        let (mut w, _) = Writer::open(&d, Mode::Fsync).unwrap();
        let path = w.path();
        let mut b = Batch::default();
        b.add(&receipt(1), "movider");
        w.commit(&mut b).unwrap();
        // The disk refuses the next write (a read-only handle stands in).
        let writable = std::mem::replace(&mut w.file, File::open(&path).unwrap());
        b.add(&receipt(2), "movider");
        assert!(w.commit(&mut b).is_err());
        assert!(!b.is_empty(), "the batch is kept for the retry");
        assert_eq!(w.live(), 1);
        // As if the failed write had left half a line behind.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"A 2 6d6f76")
            .unwrap();
        w.file = writable;
        w.commit(&mut b).unwrap();
        assert_eq!(w.live(), 2);
        drop(w);
        let (_, rec) = Writer::open(&d, Mode::Fsync).unwrap();
        assert_eq!(jids(&rec), vec![1, 2]);
        assert_eq!(rec.unreadable, 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn lines_parse_strictly() {
        assert_eq!(parse_line("D 17"), Some(Line::Done(17)));
        assert_eq!(parse_line("A 9 x y"), Some(Line::Add(9, "x y")));
        assert_eq!(parse_line("A x y"), None);
        assert_eq!(parse_line("Z 1"), None);
        assert_eq!(parse_line("D"), None);
        assert_eq!(
            generation(Path::new("/d/journal-000000000012.log")),
            Some(12)
        );
        assert_eq!(generation(Path::new("/d/journal.tmp")), None);
    }
}
