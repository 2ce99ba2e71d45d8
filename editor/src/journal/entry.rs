//! The pure half of the journal: what its records hold, replaying them over a base text, and what a recovery
//! changes compared with the file on disk. All positions are char offsets.

use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ropey::Rope;

use crate::text::Edit;

/// Record kind of the header: which file, and which text the first edits apply to.
pub(super) const HEADER: u8 = 0;
/// Record kind of a whole text.
pub(super) const SNAPSHOT: u8 = 1;
/// Record kind of one edit.
pub(super) const EDIT: u8 = 2;
/// Every kind, for [`crate::records::parse`].
pub(super) const KINDS: [u8; 3] = [HEADER, SNAPSHOT, EDIT];

/// The text edits start from, recognised by its UTF-8 length and CRC-32 (the file on disk when it was opened or
/// last saved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Base {
    pub bytes: u64,
    pub crc: u32,
}

impl Base {
    pub fn of(text: &Rope) -> Self {
        let mut crc = crc32fast::Hasher::new();
        text.chunks().for_each(|c| crc.update(c.as_bytes()));
        Base { bytes: text.len_bytes() as u64, crc: crc.finalize() }
    }
}

/// One decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    Header { base: Base, file: PathBuf },
    Snapshot(String),
    Edit(Edit),
}

pub(super) fn encode_header(base: Base, file: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&base.bytes.to_le_bytes());
    out.extend_from_slice(&base.crc.to_le_bytes());
    out.extend_from_slice(&path_bytes(file));
    out
}

pub(super) fn encode_edit(edit: &Edit) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + edit.text.len());
    out.extend_from_slice(&(edit.range.start as u64).to_le_bytes());
    out.extend_from_slice(&(edit.range.end as u64).to_le_bytes());
    out.extend_from_slice(edit.text.as_bytes());
    out
}

/// The record as an entry; `None` when its payload does not parse (then it and what follows are ignored).
pub(super) fn decode(kind: u8, payload: Vec<u8>) -> Option<Entry> {
    let u64_at = |at: usize| Some(u64::from_le_bytes(payload.get(at..at + 8)?.try_into().ok()?));
    match kind {
        HEADER => {
            let bytes = u64_at(0)?;
            let crc = u32::from_le_bytes(payload.get(8..12)?.try_into().ok()?);
            let file = path_from_bytes(payload.get(12..)?)?;
            Some(Entry::Header { base: Base { bytes, crc }, file })
        }
        SNAPSHOT => String::from_utf8(payload).ok().map(Entry::Snapshot),
        EDIT => {
            let range = usize::try_from(u64_at(0)?).ok()?..usize::try_from(u64_at(8)?).ok()?;
            let text = String::from_utf8(payload.get(16..)?.to_vec()).ok()?;
            Some(Entry::Edit(Edit { range, text }))
        }
        _ => None,
    }
}

#[cfg(unix)]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(bytes).into())
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    String::from_utf8(bytes.to_vec()).ok().map(PathBuf::from)
}

/// Why entries could not be replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReplayError {
    /// Edits follow a base that is not the text given (the file changed on disk since).
    BaseChanged,
}

/// Replays `entries` (after the header) over `disk`, the file's current text, or over the last snapshot when there
/// is one. An edit out of range ends the replay like a torn record would.
pub(super) fn replay(base: Base, disk: &Rope, entries: &[Entry]) -> Result<Rope, ReplayError> {
    let last_snapshot = entries.iter().rposition(|e| matches!(e, Entry::Snapshot(_)));
    let (mut text, rest) = match last_snapshot.map(|i| (&entries[i], &entries[i + 1..])) {
        Some((Entry::Snapshot(s), rest)) => (Rope::from_str(s), rest),
        _ if Base::of(disk) == base => (disk.clone(), entries),
        _ if entries.iter().any(|e| matches!(e, Entry::Edit(_))) => {
            return Err(ReplayError::BaseChanged);
        }
        _ => (disk.clone(), entries),
    };
    for entry in rest {
        match entry {
            Entry::Header { .. } | Entry::Snapshot(_) => {}
            Entry::Edit(edit) => {
                let Range { start, end } = edit.range;
                if start > end || end > text.len_chars() {
                    break;
                }
                text.remove(start..end);
                text.insert(start, &edit.text);
            }
        }
    }
    Ok(text)
}

/// The lines a recovery changes: 1-based `first_line`, and how many lines there are from there on disk and in
/// the recovered text (the rest is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Differs {
    /// First line that differs, 1-based.
    pub first_line: usize,
    /// Lines of the file on disk replaced.
    pub disk_lines: usize,
    /// Lines of the recovered text in their place.
    pub recovered_lines: usize,
}

/// What differs between `disk` and `recovered`, line by line from both ends; `None` when they are the same.
pub fn differs(disk: &str, recovered: &str) -> Option<Differs> {
    if disk == recovered {
        return None;
    }
    let a: Vec<&str> = disk.split_inclusive('\n').collect();
    let b: Vec<&str> = recovered.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix =
        a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    Some(Differs {
        first_line: prefix + 1,
        disk_lines: a.len() - prefix - suffix,
        recovered_lines: b.len() - prefix - suffix,
    })
}

/// `time` as `YYYY-MM-DD HH:MM:SS UTC` (no time zone database needed).
pub fn utc(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let base = Base::of(&Rope::from_str("héllo"));
        let header = encode_header(base, std::path::Path::new("/a/b.txt"));
        assert_eq!(decode(HEADER, header), Some(Entry::Header { base, file: "/a/b.txt".into() }));
        let edit = Edit { range: 2..4, text: "中文👍🏽".into() };
        assert_eq!(decode(EDIT, encode_edit(&edit)), Some(Entry::Edit(edit)));
        assert_eq!(decode(SNAPSHOT, b"x".to_vec()), Some(Entry::Snapshot("x".into())));
        assert_eq!(decode(EDIT, vec![1, 2, 3]), None);
        assert_eq!(decode(SNAPSHOT, vec![0xff]), None);
    }

    #[test]
    fn replay_applies_edits_to_the_base_and_refuses_a_changed_one() {
        let disk = Rope::from_str("héllo");
        let base = Base::of(&disk);
        let entries = [
            Entry::Edit(Edit::insert(5, " wörld")),
            Entry::Edit(Edit { range: 0..1, text: "H".into() }),
        ];
        assert_eq!(replay(base, &disk, &entries).unwrap().to_string(), "Héllo wörld");
        let changed = Rope::from_str("other");
        assert_eq!(replay(base, &changed, &entries), Err(ReplayError::BaseChanged));
        let after_snapshot = [Entry::Snapshot("abc".into()), Entry::Edit(Edit::insert(3, "d"))];
        assert_eq!(replay(base, &changed, &after_snapshot).unwrap().to_string(), "abcd");
        let out_of_range = [Entry::Edit(Edit::insert(1, "x")), Entry::Edit(Edit::insert(99, "y"))];
        assert_eq!(replay(base, &disk, &out_of_range).unwrap().to_string(), "hxéllo");
    }

    #[test]
    fn differs_names_the_changed_lines() {
        assert_eq!(differs("a\nb\n", "a\nb\n"), None);
        let d = differs("a\nb\nc\n", "a\nB\nB2\nc\n").unwrap();
        assert_eq!(d, Differs { first_line: 2, disk_lines: 1, recovered_lines: 2 });
        let d = differs("a\n", "a\nb").unwrap();
        assert_eq!(d, Differs { first_line: 2, disk_lines: 0, recovered_lines: 1 });
    }

    #[test]
    fn utc_formats_civil_time() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_233_336);
        assert_eq!(utc(t), "2026-12-02 17:42:16 UTC");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29 00:00:00 UTC");
    }
}
