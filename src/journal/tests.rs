#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

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
    rec.entries.iter().map(|(j, _)| *j).collect()
}

fn files(d: &Path) -> Vec<PathBuf> {
    fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn added_and_not_done_come_back_in_order() {
    let d = dir("basic");
    let (mut w, rec) = Writer::open(&d, Mode::Fsync).unwrap();
    assert!(rec.entries.is_empty());
    let mut b = Batch::default();
    for jid in [5, 3, 9, 7] {
        b.add(&receipt(jid), "movider");
    }
    b.add_raw(11, |out| out.extend_from_slice(b"M some fields"));
    b.done(3);
    b.done(0); // never journaled: nothing written
    w.commit(&mut b).unwrap();
    assert!(b.is_empty());
    b.done(7);
    b.done(42); // unknown: ignored
    w.commit(&mut b).unwrap();
    assert_eq!(w.live(), 3);
    drop(w);

    let (w, rec) = Writer::open(&d, Mode::Fsync).unwrap();
    assert_eq!(jids(&rec), vec![5, 9, 11]);
    assert_eq!(rec.max_jid, 42);
    assert_eq!(rec.unreadable, 0);
    let Entry::Receipt { system_id, receipt } = &rec.entries[0].1 else {
        panic!("{:?}", rec.entries[0]);
    };
    assert_eq!(system_id, b"movider");
    assert_eq!(receipt.text(), b"hello world");
    let Entry::Message(line) = &rec.entries[2].1 else {
        panic!("{:?}", rec.entries[2]);
    };
    assert_eq!(line, "M some fields");
    // The reopened writer compacted into one new generation.
    assert_eq!(files(&d), vec![w.path()]);
    drop(w);
    // And that generation reads back the same, in the same order.
    let (_, again) = Writer::open(&d, Mode::Write).unwrap();
    assert_eq!(jids(&again), vec![5, 9, 11]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_torn_last_frame_is_skipped() {
    let d = dir("torn");
    let (mut w, _) = Writer::open(&d, Mode::Write).unwrap();
    let mut b = Batch::default();
    b.add(&receipt(1), "movider");
    b.add(&receipt(2), "movider");
    w.commit(&mut b).unwrap();
    let (path, gen, pos) = (w.path(), w.head_gen(), w.pos);
    drop(w);
    // A crash in the middle of the next write: the frame's first half.
    let mut next = Batch::default();
    next.done(1);
    next.add(&receipt(3), "movider");
    record::seal_frame(&mut next.frame, gen);
    let half = next.frame.len() / 2;
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &next.frame[..half], pos).unwrap();
    drop(f);
    let (_, rec) = Writer::open(&d, Mode::Write).unwrap();
    // Neither half-written record counts: 1 is not done, 3 not added.
    assert_eq!(jids(&rec), vec![1, 2]);
    assert_eq!(rec.unreadable, 1);
    fs::remove_dir_all(&d).unwrap();
}

/// Commits `n` receipts from jid `from` on, one batch each, with every one
/// done at once except those `keep` says.
fn churn(w: &mut Writer, from: u64, n: u64, keep: impl Fn(u64) -> bool) {
    let mut b = Batch::default();
    for jid in from..from + n {
        b.add(&receipt(jid), "movider");
        w.commit(&mut b).unwrap();
        if !keep(jid) {
            b.done(jid);
        }
    }
    w.commit(&mut b).unwrap();
}

#[test]
fn the_ring_reuses_two_segments_and_keeps_what_is_live_in_order() {
    let d = dir("ring");
    let (mut w, _) = Writer::open_with(&d, Mode::Write, 8192).unwrap();
    // Many laps of the ring, a few receipts kept live along the way.
    churn(&mut w, 1, 3000, |j| j % 500 == 0);
    assert_eq!(w.live(), 6);
    assert_eq!(w.segments(), 2, "steady state: two segments reused");
    assert_eq!(files(&d).len(), 2);
    let sizes: Vec<u64> = files(&d)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .collect();
    assert!(sizes.iter().all(|&s| s < 8192 + 4096), "{sizes:?}");
    drop(w);
    let (w, rec) = Writer::open_with(&d, Mode::Write, 8192).unwrap();
    assert_eq!(jids(&rec), vec![500, 1000, 1500, 2000, 2500, 3000]);
    assert_eq!(rec.unreadable, 0);
    assert_eq!(rec.max_jid, 3000);
    assert_eq!(files(&d), vec![w.path()]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_segment_full_of_live_records_is_kept_and_the_ring_grows() {
    let d = dir("grow");
    let (mut w, _) = Writer::open_with(&d, Mode::Write, 8192).unwrap();
    // Held receipts fill more than a quarter of the first segments.
    churn(&mut w, 1, 200, |j| j <= 120);
    churn(&mut w, 1000, 2000, |_| false);
    assert!(w.segments() > 2, "{} segments", w.segments());
    // Once they are done, the ring shrinks back to reusing segments.
    let mut b = Batch::default();
    for jid in 1..=120 {
        b.done(jid);
    }
    w.commit(&mut b).unwrap();
    let grown = w.segments();
    churn(&mut w, 5000, 3000, |_| false);
    assert_eq!(w.segments(), grown, "no more segments added");
    assert_eq!(w.live(), 0);
    drop(w);
    let (_, rec) = Writer::open_with(&d, Mode::Write, 8192).unwrap();
    assert!(rec.entries.is_empty(), "{:?}", jids(&rec));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_crash_at_any_moment_of_a_lap_loses_nothing_live() {
    // Replay after each commit of many laps (the files as a kill -9 would
    // leave them): exactly the receipts added and not done come back.
    let d = dir("laps");
    let (mut w, _) = Writer::open_with(&d, Mode::Write, 4096).unwrap();
    let mut b = Batch::default();
    let mut want: std::collections::BTreeSet<u64> = Default::default();
    for jid in 1..=600u64 {
        b.add(&receipt(jid), "movider");
        want.insert(jid);
        if jid % 3 != 0 {
            b.done(jid);
            want.remove(&jid);
        }
        if jid > 30 && jid % 7 == 0 && want.remove(&(jid - 30)) {
            b.done(jid - 30);
        }
        w.commit(&mut b).unwrap();
        if jid % 50 == 0 {
            let copy = dir(&format!("laps-copy-{jid}"));
            fs::create_dir_all(&copy).unwrap();
            for f in files(&d) {
                fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
            }
            let (_, rec) = Writer::open_with(&copy, Mode::Write, 4096).unwrap();
            let mut got = jids(&rec);
            got.sort();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "at {jid}");
            fs::remove_dir_all(&copy).unwrap();
        }
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_failed_write_is_retried_whole_after_cutting_its_remains() {
    let d = dir("fail");
    let (mut w, _) = Writer::open(&d, Mode::Fsync).unwrap();
    let path = w.path();
    let mut b = Batch::default();
    b.add(&receipt(1), "movider");
    w.commit(&mut b).unwrap();
    // The disk refuses the next write: a read-only handle and no mapping.
    let head = w.segments.back_mut().unwrap();
    let map = head.map.take();
    let writable = std::mem::replace(&mut head.file, File::open(&path).unwrap());
    b.add(&receipt(2), "movider");
    assert!(w.commit(&mut b).is_err());
    assert!(!b.is_empty(), "the batch is kept for the retry");
    assert_eq!(w.live(), 1);
    // As if the failed write had left part of its frame behind: the
    // retry writes over it.
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7], w.pos)
        .unwrap();
    let head = w.segments.back_mut().unwrap();
    head.file = writable;
    head.map = map;
    w.commit(&mut b).unwrap();
    assert_eq!(w.live(), 2);
    b.add(&receipt(3), "movider");
    w.commit(&mut b).unwrap();
    drop(w);
    let (_, rec) = Writer::open(&d, Mode::Fsync).unwrap();
    assert_eq!(jids(&rec), vec![1, 2, 3], "nothing after the cut is lost");
    assert_eq!(rec.unreadable, 0);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_text_journal_of_the_earlier_format_is_carried_over() {
    let d = dir("legacy");
    fs::create_dir_all(&d).unwrap();
    let mut line = Vec::new();
    receipt(0).write_spool_line("movider", &mut line);
    let line = String::from_utf8(line).unwrap();
    fs::write(
        d.join("journal-000000000004.log"),
        format!("A 70000 {line}A 70001 {line}D 70000\n"),
    )
    .unwrap();
    let (w, rec) = Writer::open(&d, Mode::Write).unwrap();
    assert_eq!(jids(&rec), vec![70001]);
    assert_eq!(rec.max_jid, 70001);
    assert_eq!(w.path(), d.join("journal-000000000005.bin"));
    assert_eq!(files(&d), vec![w.path()], "the text file is gone");
    drop(w);
    let (_, rec) = Writer::open(&d, Mode::Write).unwrap();
    assert_eq!(jids(&rec), vec![70001]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn garbage_in_the_directory_is_not_a_journal() {
    let d = dir("garbage");
    fs::create_dir_all(&d).unwrap();
    // Random octets under a journal's name: no frame checks out.
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(d.join("journal-000000000001.bin"), &junk).unwrap();
    let (mut w, rec) = Writer::open(&d, Mode::Write).unwrap();
    assert!(rec.entries.is_empty());
    // And the journal made in its place works.
    let mut b = Batch::default();
    b.add(&receipt(70000), "movider");
    w.commit(&mut b).unwrap();
    drop(w);
    let (_, rec) = Writer::open(&d, Mode::Write).unwrap();
    assert_eq!(jids(&rec), vec![70000]);
    fs::remove_dir_all(&d).unwrap();
}
