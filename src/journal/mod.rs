//! The receipt journal (`--journal write|fsync`): every receipt the server
//! creates is recorded before the submit_sm_resp that accepted its message
//! leaves, and every receipt that is finished (acknowledged, refused for
//! good, dropped, expired) is recorded as done. After a crash, the receipts
//! added and not done are delivered again; nothing accepted is lost.
//! Pending messages (scheduled, delayed, an MO message on its way) are
//! kept the same way.
//!
//! One journal for all loops, a ring of segment files
//! `<spool-dir>/journal-<gen>.bin` of binary records in checksummed frames
//! (`record.rs`): a receipt's fields as they are, a pending message's line
//! (`persist::message_line`), a done mark.
//!
//! Each loop collects its records for one iteration in a [`Batch`] and
//! commits it, under one lock, before it writes to any socket: one frame,
//! one copy into the head segment's shared mapping, an `fdatasync` in `fsync` mode when
//! the batch adds something, and an update of the in-memory live set,
//! which keeps only where each live record is (no copy of it). When the
//! head is full ([`SEGMENT_BYTES`]), the oldest segment's live records are
//! copied to the head and it is reused as the next generation (see
//! [`Writer`]); a receipt can move between loops without any coordination:
//! the journal knows it by its jid, not by the loop.
//!
//! `write` mode survives a crash or `SIGKILL` of the process (the data is
//! in the kernel); `fsync` mode also survives a power cut. Journals of the
//! earlier text format (`journal-<gen>.log`) are read once and carried
//! into the binary one (`legacy.rs`).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod legacy;
mod live;
pub mod record;

use crate::receipt::Receipt;
use record::{FRAME_HEADER, MAX_FRAME};
use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// One loop's journal records for one iteration: a frame in the making
/// (its header reserved at the front, sealed at commit), and what each
/// record does to the live set, noted as it is written (no second parse).
pub struct Batch {
    frame: Vec<u8>,
    ops: Vec<Op>,
    adds: usize,
}

/// A record of the batch: added at `at` in the payload, `len` octets; or
/// done (`len == 0`).
#[derive(Clone, Copy)]
struct Op {
    jid: u64,
    at: u32,
    len: u32,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            frame: vec![0; FRAME_HEADER],
            ops: Vec::new(),
            adds: 0,
        }
    }
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.frame.len() <= FRAME_HEADER
    }

    fn payload_len(&self) -> u32 {
        (self.frame.len() - FRAME_HEADER) as u32
    }

    /// Records a receipt as created. `system_id` names its account.
    #[inline]
    pub fn add(&mut self, r: &Receipt, system_id: &str) {
        let at = self.payload_len();
        let len = record::push_receipt_record(&mut self.frame, r.jid, r, system_id.as_bytes());
        self.ops.push(Op {
            jid: r.jid,
            at,
            len: len as u32,
        });
        self.adds += 1;
    }

    /// Records something else the journal keeps alive until it is done (a
    /// pending message): `write` appends its text line.
    pub fn add_raw(&mut self, jid: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.payload_len();
        let start = record::begin_record(&mut self.frame, record::MESSAGE, jid);
        write(&mut self.frame);
        record::end_record(&mut self.frame, start);
        let len = self.payload_len() - at;
        self.ops.push(Op { jid, at, len });
        self.adds += 1;
    }

    /// Records a receipt as finished (no-op for one never journaled).
    #[inline]
    pub fn done(&mut self, jid: u64) {
        if jid != 0 {
            record::begin_record(&mut self.frame, record::DONE, jid);
            self.ops.push(Op { jid, at: 0, len: 0 });
        }
    }

    fn clear(&mut self) {
        self.frame.truncate(FRAME_HEADER);
        self.ops.clear();
        self.adds = 0;
    }
}

/// What the journal still had: a receipt (with its account's system_id)
/// or a pending message's line.
#[derive(Debug)]
pub enum Entry {
    Receipt {
        system_id: Vec<u8>,
        receipt: Receipt,
    },
    Message(String),
}

fn file_name(gen: u64) -> String {
    format!("journal-{gen:012}.bin")
}

fn generation(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("journal-")?
        .strip_suffix(".bin")?
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

use live::{LiveSet as Live, Loc};

/// One file of the ring, mapped shared: a frame copied into the mapping is
/// in the page cache, so it survives the process being killed (`write`
/// mode) and `fdatasync` writes it out (`fsync` mode). Octets past the
/// mapping (a segment run past its size) are written with `pwrite`.
struct Segment {
    gen: u64,
    file: File,
    map: Option<memmap2::MmapMut>,
}

impl Segment {
    /// `file` sized to at least `bytes` and mapped (a file that cannot be
    /// mapped is written with `pwrite` alone).
    fn new(gen: u64, file: File, bytes: u64) -> io::Result<Segment> {
        use std::os::fd::AsRawFd;
        // Blocks allocated now, not when a page of the mapping is first
        // written: a full disk is an error here, never a SIGBUS later.
        let len = bytes.max(file.metadata()?.len());
        // SAFETY: fallocate on an open descriptor this function borrows.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EOPNOTSUPP) {
                return Err(e);
            }
            // A filesystem without fallocate: written with pwrite alone (a
            // full disk is then an error of the write, not a fault).
            file.set_len(len)?;
            return Ok(Segment {
                gen,
                file,
                map: None,
            });
        }
        // SAFETY: the mapping is of a file only this process writes (the
        // spool directory is the server's own); it is dropped with the
        // file. A file truncated behind the server's back would fault it.
        let map = unsafe { memmap2::MmapMut::map_mut(&file) }.ok();
        Ok(Segment { gen, file, map })
    }

    /// `data` at `at`: copied into the mapping where it fits, else written.
    fn write_at(&mut self, data: &[u8], at: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let end = at as usize + data.len();
        match self.map.as_mut().and_then(|m| m.get_mut(at as usize..end)) {
            Some(dst) => {
                dst.copy_from_slice(data);
                Ok(())
            }
            None => self.file.write_all_at(data, at),
        }
    }
}

/// The one writer behind a lock in [`crate::server::Shared`].
///
/// The journal is a ring of segment files written in place (mapped):
/// when the head segment is full, the oldest is reused under the next
/// generation's name once its few live records have been copied to the
/// head; one that still holds many (long-held receipts) is kept and a new
/// segment is added instead. Reused files keep their pages and blocks, so
/// the steady state allocates nothing in the kernel and makes no system
/// call: each commit is a copy into the page cache, not a write growing a
/// file while another is deleted.
pub struct Writer {
    dir: PathBuf,
    mode: Mode,
    /// Oldest first; the last one is written to. Generations are
    /// consecutive, so a generation's segment is at `gen - front.gen`.
    segments: VecDeque<Segment>,
    /// Where the next frame goes in the head segment.
    pos: u64,
    /// A segment is full past this many octets.
    segment_bytes: u64,
    /// Records added and not done: jid -> where it is.
    live: Live,
    /// The last commit failed (logged once, not on every retry).
    failing: bool,
}

/// What [`Writer::open`] found in the directory.
pub struct Recovered {
    /// Every receipt and message added and not done, in jid order (the
    /// order each loop made them).
    pub entries: Vec<(u64, Entry)>,
    /// The largest jid seen: new jids are made above it.
    pub max_jid: u64,
    /// Frames or records that could not be read (a write that a crash cut).
    pub unreadable: u64,
}

/// `recs` (whole records, in order) as frames of at most [`MAX_FRAME`]
/// octets for a segment of generation `gen`; each record's offset in them.
fn frames_of<'a>(gen: u64, recs: impl Iterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<u64>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut offsets = Vec::new();
    let mut frame_start: Option<usize> = None;
    for rec in recs {
        let start = match frame_start {
            Some(s) if buf.len() - s + rec.len() <= MAX_FRAME => s,
            open => {
                if let Some(s) = open {
                    record::seal_frame(buf.get_mut(s..).unwrap_or(&mut []), gen);
                }
                buf.extend_from_slice(&[0; FRAME_HEADER]);
                buf.len() - FRAME_HEADER
            }
        };
        frame_start = Some(start);
        offsets.push(buf.len() as u64);
        buf.extend_from_slice(rec);
    }
    if let Some(s) = frame_start {
        record::seal_frame(buf.get_mut(s..).unwrap_or(&mut []), gen);
    }
    (buf, offsets)
}

/// The live records of the segments' contents replayed in generation
/// order: (jid, index of the segment, offset, length) in journal order;
/// plus the largest jid and the count of torn frames and records.
/// A live record found by replay: (jid, index of its segment, offset, length).
type Found = (u64, usize, usize, usize);

fn replay(files: &[(u64, Vec<u8>)]) -> (Vec<Found>, u64, u64) {
    let mut live: HashMap<u64, usize, std::hash::BuildHasherDefault<JidHasher>> =
        HashMap::default();
    let mut order: Vec<Found> = Vec::new();
    let (mut max_jid, mut unreadable) = (0u64, 0u64);
    for (seg, (gen, file)) in files.iter().enumerate() {
        let (frames, end) = record::frames(file, *gen);
        unreadable += u64::from(end == record::End::Torn);
        for (base, payload) in frames {
            let mut recs = record::records(payload);
            for r in recs.by_ref() {
                max_jid = max_jid.max(r.jid);
                let gone = if r.kind == record::DONE {
                    live.remove(&r.jid)
                } else {
                    order.push((r.jid, seg, base + r.at, r.len));
                    // Added again (a copy, a retried commit): the later counts.
                    live.insert(r.jid, order.len() - 1)
                };
                if let Some(slot) = gone.and_then(|i| order.get_mut(i)) {
                    slot.0 = 0;
                }
            }
            unreadable += u64::from(recs.rest_unreadable);
        }
    }
    order.retain(|(jid, ..)| *jid != 0);
    // Copies moved some forward: creation order is jid order (per loop).
    order.sort_by_key(|(jid, ..)| *jid);
    (order, max_jid, unreadable)
}

/// A live record turned into what the loops load.
fn entry(rec: &[u8]) -> Option<(u64, Entry)> {
    let r = record::records(rec).next()?;
    match r.kind {
        record::RECEIPT => {
            let (system_id, receipt) = record::read_receipt(r.body)?;
            Some((r.jid, Entry::Receipt { system_id, receipt }))
        }
        record::MESSAGE => {
            let line = std::str::from_utf8(r.body).ok()?;
            Some((r.jid, Entry::Message(line.trim_end().to_string())))
        }
        _ => None,
    }
}

/// The directory entry of a rename or a new file survives a power cut.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Default size of a segment: the ring is two of these in steady state.
pub const SEGMENT_BYTES: u64 = 1 << 20;

impl Writer {
    /// Reads the journal in `dir` (every segment, in generation order; a
    /// text journal of the earlier format if it is newer), then starts a
    /// new generation that holds only the live records, and deletes the
    /// older files.
    pub fn open(dir: &Path, mode: Mode) -> io::Result<(Writer, Recovered)> {
        Writer::open_with(dir, mode, SEGMENT_BYTES)
    }

    /// [`Writer::open`] with segments of `segment_bytes` (tests use small ones).
    pub fn open_with(
        dir: &Path,
        mode: Mode,
        segment_bytes: u64,
    ) -> io::Result<(Writer, Recovered)> {
        fs::create_dir_all(dir)?;
        let mut gens: Vec<(u64, PathBuf)> = Vec::new();
        let mut old_text: Vec<(u64, PathBuf)> = Vec::new();
        for p in fs::read_dir(dir)?.flatten().map(|e| e.path()) {
            if let Some(g) = generation(&p) {
                gens.push((g, p));
            } else if let Some(g) = legacy::generation(&p) {
                old_text.push((g, p));
            }
        }
        gens.sort();
        old_text.sort();
        let newest_bin = gens.last().map_or(0, |(g, _)| *g);
        let newest_text = old_text.last().map_or(0, |(g, _)| *g);

        // The live records, whole, in journal order.
        let (recs, max_jid, mut unreadable): (Vec<Vec<u8>>, u64, u64) = if newest_text > newest_bin
        {
            let path = old_text.last().map(|(_, p)| p.as_path()).unwrap_or(dir);
            legacy::read(&fs::read(path)?)
        } else {
            let mut files = Vec::with_capacity(gens.len());
            for (g, p) in &gens {
                files.push((*g, fs::read(p)?));
            }
            let (live, max_jid, unreadable) = replay(&files);
            let recs = live
                .iter()
                .filter_map(|&(_, seg, at, len)| {
                    files.get(seg)?.1.get(at..at + len).map(<[u8]>::to_vec)
                })
                .collect();
            (recs, max_jid, unreadable)
        };
        let mut entries = Vec::with_capacity(recs.len());
        for rec in &recs {
            match entry(rec) {
                Some(e) => entries.push(e),
                None => unreadable += 1,
            }
        }

        // The live set as the first frames of a new generation, made
        // durable (a temporary file, synced, renamed into place).
        let gen = newest_bin.max(newest_text) + 1;
        let (buf, offsets) = frames_of(gen, recs.iter().map(Vec::as_slice));
        let tmp = dir.join("journal.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(&buf)?;
        f.sync_data()?;
        fs::rename(&tmp, dir.join(file_name(gen)))?;
        sync_dir(dir)?;
        let mut live = Live::default();
        for (rec, at) in recs.iter().zip(offsets) {
            if let Some(r) = record::records(rec).next() {
                let len = rec.len() as u32;
                live.insert(r.jid, Loc { gen, at, len });
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(file_name(gen)))?;
        let segment_bytes = segment_bytes.max(4096);
        let first = Segment::new(gen, file, segment_bytes)?;
        let w = Writer {
            dir: dir.to_path_buf(),
            mode,
            segments: VecDeque::from([first]),
            pos: buf.len() as u64,
            segment_bytes,
            live,
            failing: false,
        };
        for (_, p) in gens.into_iter().chain(old_text) {
            fs::remove_file(p)?;
        }
        Ok((
            w,
            Recovered {
                entries,
                max_jid,
                unreadable,
            },
        ))
    }

    /// Writes `batch` as one frame at the head, makes it durable as the
    /// mode asks, and updates the live set. On error the batch is kept for
    /// a retry (written again at the same place): the caller must not send
    /// the responses it covers.
    pub fn commit(&mut self, batch: &mut Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let res = (|| {
            if self.pos >= self.segment_bytes {
                self.advance()?;
            }
            self.write_frame(&mut batch.frame, batch.adds > 0)
        })();
        match res {
            Ok(at) => {
                if self.failing {
                    self.failing = false;
                    tracing::info!("journal writes work again");
                }
                let gen = self.head_gen();
                for op in &batch.ops {
                    if op.len == 0 {
                        self.live.remove(op.jid);
                    } else {
                        let at = at + u64::from(op.at);
                        let len = op.len;
                        self.live.insert(op.jid, Loc { gen, at, len });
                    }
                }
                batch.clear();
                Ok(())
            }
            Err(e) => {
                if !self.failing {
                    self.failing = true;
                    tracing::warn!("journal write failed, holding responses until it works: {e}");
                }
                Err(e)
            }
        }
    }

    fn head_gen(&self) -> u64 {
        self.segments.back().map_or(0, |s| s.gen)
    }

    /// Seals `frame` for the head segment and writes it at `pos` (synced in
    /// fsync mode when `adds`); returns the payload's offset.
    fn write_frame(&mut self, frame: &mut [u8], adds: bool) -> io::Result<u64> {
        record::seal_frame(frame, self.head_gen());
        let at = self.pos + FRAME_HEADER as u64;
        self.write_sealed(frame, adds)?;
        Ok(at)
    }

    /// Records of `payload` (a frame written to segment `gen` with its
    /// payload at `base`) applied to the live set (the copies of
    /// `copy_forward`; a batch notes its own as it is written).
    fn apply(&mut self, payload: &[u8], gen: u64, base: u64) {
        for r in record::records(payload) {
            if r.kind == record::DONE {
                self.live.remove(r.jid);
            } else {
                let (at, len) = (base + r.at as u64, r.len as u32);
                self.live.insert(r.jid, Loc { gen, at, len });
            }
        }
    }

    /// The head is full: reuse the oldest segment when little of it is
    /// live (those records are first copied to the head, which may run past
    /// its nominal size by that much), else add a segment. What is live
    /// where is counted here, once a segment, not on every record.
    fn advance(&mut self) -> io::Result<()> {
        let gen = self.head_gen() + 1;
        let oldest = self.segments.front().map_or(0, |s| s.gen);
        let mut recs: Vec<Loc> = Vec::new();
        if self.segments.len() >= 2 {
            recs = self
                .live
                .iter()
                .map(|(_, l)| l)
                .filter(|l| l.gen == oldest)
                .collect();
        }
        let live_bytes: u64 = recs.iter().map(|l| u64::from(l.len)).sum();
        let next = if self.segments.len() >= 2 && live_bytes <= self.segment_bytes / 4 {
            self.copy_forward(recs)?;
            let mut old = self.segments.pop_front().ok_or(io::ErrorKind::NotFound)?;
            fs::rename(
                self.dir.join(file_name(old.gen)),
                self.dir.join(file_name(gen)),
            )?;
            old.gen = gen;
            old
        } else {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(self.dir.join(file_name(gen)))?;
            Segment::new(gen, file, self.segment_bytes)?
        };
        if self.mode == Mode::Fsync {
            sync_dir(&self.dir)?;
        }
        self.segments.push_back(next);
        self.pos = 0;
        Ok(())
    }

    /// Copies `recs`, the live records of the oldest segment, to the head
    /// in the order they were written, so the oldest can be overwritten.
    fn copy_forward(&mut self, mut recs: Vec<Loc>) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let Some(old) = self.segments.front() else {
            return Ok(());
        };
        if recs.is_empty() {
            return Ok(());
        }
        recs.sort_unstable_by_key(|l| l.at);
        let mut bytes = Vec::with_capacity(recs.iter().map(|l| l.len as usize).sum());
        let mut spans = Vec::with_capacity(recs.len());
        for l in &recs {
            let (start, at, len) = (bytes.len(), l.at as usize, l.len as usize);
            match old.map.as_ref().and_then(|m| m.get(at..at + len)) {
                Some(rec) => bytes.extend_from_slice(rec),
                None => {
                    bytes.resize(start + len, 0);
                    old.file
                        .read_exact_at(bytes.get_mut(start..).unwrap_or(&mut []), l.at)?;
                }
            }
            spans.push(start..bytes.len());
        }
        let gen = self.head_gen();
        let (frames, _) = frames_of(gen, spans.iter().filter_map(|s| bytes.get(s.clone())));
        let base = self.pos;
        self.write_sealed(&frames, true)?;
        // The copies' frames were sealed already; apply them as adds.
        let (parsed, _) = record::frames(&frames, gen);
        for (at, payload) in parsed {
            self.apply(payload, gen, base + at as u64);
        }
        Ok(())
    }

    /// Writes sealed frames at `pos` in the head (synced in fsync mode
    /// when `sync`).
    fn write_sealed(&mut self, frames: &[u8], sync: bool) -> io::Result<()> {
        let head = self.segments.back_mut().ok_or(io::ErrorKind::NotFound)?;
        head.write_at(frames, self.pos)?;
        if self.mode == Mode::Fsync && sync {
            head.file.sync_data()?;
        }
        self.pos += frames.len() as u64;
        Ok(())
    }

    /// Receipts added and not done.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// The segment written to.
    pub fn path(&self) -> PathBuf {
        self.dir.join(file_name(self.head_gen()))
    }

    /// Segment files in the ring.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }
}

#[cfg(test)]
mod tests;
