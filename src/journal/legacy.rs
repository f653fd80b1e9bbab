//! Journals of the earlier text format (`journal-<gen>.log`: `A <jid>
//! <spool line>` and `D <jid>` lines), read once at start and carried into
//! the binary format, so an upgrade loses no receipt.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::record;
use crate::receipt::Receipt;
use std::collections::HashMap;
use std::path::Path;

pub fn generation(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("journal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// A line read back: a receipt added (with its line) or done.
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

/// One text line's entry as a binary record; None if it is not whole.
fn to_record(jid: u64, spool: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match spool.strip_prefix("M ") {
        Some(m) => {
            // A pending message: all of its fields (persist::message_line).
            if !matches!(m.split_whitespace().count(), 22 | 34) {
                return None;
            }
            let at = record::begin_record(&mut out, record::MESSAGE, jid);
            out.extend_from_slice(spool.as_bytes());
            record::end_record(&mut out, at);
        }
        None => {
            let (sid, r) = Receipt::from_spool_line(spool)?;
            record::push_receipt_record(&mut out, jid, &r, &sid);
        }
    }
    Some(out)
}

/// The live entries of a text journal as binary records, in journal
/// order; the largest jid; the lines that could not be read.
pub fn read(text: &[u8]) -> (Vec<Vec<u8>>, u64, u64) {
    let text = String::from_utf8_lossy(text);
    let mut live: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut order: Vec<u64> = Vec::new();
    let (mut max_jid, mut unreadable) = (0u64, 0u64);
    for raw in text.split_inclusive('\n') {
        // A line without its newline was cut by the crash.
        let parsed = raw.strip_suffix('\n').and_then(parse_line);
        match parsed {
            Some(Line::Add(jid, spool)) => match to_record(jid, spool.trim_end()) {
                Some(rec) => {
                    max_jid = max_jid.max(jid);
                    if live.insert(jid, rec).is_none() {
                        order.push(jid);
                    }
                }
                None => unreadable += 1,
            },
            Some(Line::Done(jid)) => {
                max_jid = max_jid.max(jid);
                live.remove(&jid);
            }
            None if raw.trim().is_empty() => {}
            None => unreadable += 1,
        }
    }
    let recs = order.iter().filter_map(|j| live.remove(j)).collect();
    (recs, max_jid, unreadable)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

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

    #[test]
    fn a_text_journal_becomes_records() {
        let r = crate::testutil::receipt();
        let mut line = Vec::new();
        r.write_spool_line("movider", &mut line);
        let line = String::from_utf8(line).unwrap();
        let text = format!(
            "A 5 {line}A 6 {line}D 5\nA 7 6d6f76\nA 8 {}",
            line.trim_end()
        );
        let (recs, max_jid, unreadable) = read(text.as_bytes());
        assert_eq!(recs.len(), 1);
        assert_eq!(max_jid, 6);
        // The half receipt (7) and the line cut without its newline (8).
        assert_eq!(unreadable, 2);
        let rec = record::records(&recs[0]).next().unwrap();
        assert_eq!((rec.kind, rec.jid), (record::RECEIPT, 6));
        let (sid, back) = record::read_receipt(rec.body).unwrap();
        assert_eq!(sid, b"movider");
        assert_eq!(back.text(), r.text());
    }
}
