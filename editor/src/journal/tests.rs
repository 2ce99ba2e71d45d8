use std::fs;
use std::time::{Duration, Instant};

use ropey::Rope;

use super::*;

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    file: PathBuf,
}

/// A journal of the setup's file over `base` holding `edit`, flushed.
fn journaled(s: &Setup, base: &str, edit: Edit) -> Journal {
    let mut j = Journal::open(&s.dir, &s.file, &Rope::from_str(base));
    j.record(&edit, Instant::now());
    j.flush().unwrap();
    j
}

fn setup(text: &str) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    fs::write(&file, text).unwrap();
    Setup { dir: tmp.path().join("state").join("journal"), file, _tmp: tmp }
}

#[test]
fn edits_are_buffered_until_due_then_recovered_with_what_differs() {
    let s = setup("one\ntwo\n");
    let t0 = Instant::now();
    let mut j = Journal::open(&s.dir, &s.file, &Rope::from_str("one\ntwo\n"));
    j.record(&Edit::insert(4, "2"), t0);
    j.record(&Edit::insert(5, "\n"), t0 + Duration::from_millis(100));
    assert_eq!(j.next_flush(), Some(t0 + FLUSH_DELAY), "due after the first edit, not the last");
    j.tick(t0 + Duration::from_millis(200)).unwrap();
    assert!(!j.path().exists(), "nothing written before it is due");
    j.tick(t0 + FLUSH_DELAY).unwrap();
    assert_eq!(j.next_flush(), None);
    assert!(j.path().starts_with(&s.dir), "never beside the user's file");

    let found = recoverable(&s.dir).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].file, fs::canonicalize(&s.file).unwrap());
    let line = found[0].line();
    assert!(line.contains("notes.txt") && line.contains("UTC") && line.contains("bytes"), "{line}");
    let r = load(&s.dir, &s.file).unwrap().unwrap();
    assert_eq!(r.text, "one\n2\ntwo\n");
    assert_eq!(r.differs, Some(Differs { first_line: 2, disk_lines: 0, recovered_lines: 1 }));
}

#[test]
fn a_torn_tail_loses_only_the_last_record() {
    let s = setup("abc");
    let mut j = journaled(&s, "abc", Edit::insert(3, "d"));
    j.record(&Edit::insert(4, "e"), Instant::now());
    j.flush().unwrap();
    let bytes = fs::read(j.path()).unwrap();
    fs::write(j.path(), &bytes[..bytes.len() - 3]).unwrap();
    assert_eq!(load(&s.dir, &s.file).unwrap().unwrap().text, "abcd");
}

#[test]
fn saving_removes_the_journal_and_later_edits_start_from_the_saved_text() {
    let s = setup("abc");
    let mut j = journaled(&s, "abc", Edit::insert(0, "x"));
    fs::write(&s.file, "xabc").unwrap();
    j.saved(&Rope::from_str("xabc")).unwrap();
    assert!(recoverable(&s.dir).unwrap().is_empty());
    assert_eq!(load(&s.dir, &s.file).unwrap(), None);
    j.record(&Edit::insert(4, "!"), Instant::now());
    j.flush().unwrap();
    assert_eq!(load(&s.dir, &s.file).unwrap().unwrap().text, "xabc!");
    discard(&s.dir, &s.file).unwrap();
    assert!(recoverable(&s.dir).unwrap().is_empty());
}

#[test]
fn a_file_changed_on_disk_needs_a_snapshot_to_be_recovered() {
    let s = setup("abc");
    let mut j = journaled(&s, "abc", Edit::insert(0, "x"));
    fs::write(&s.file, "changed").unwrap();
    assert!(matches!(load(&s.dir, &s.file), Err(JournalError::BaseChanged(_))));
    j.snapshot(&Rope::from_str("whole"), Instant::now());
    j.flush().unwrap();
    assert_eq!(load(&s.dir, &s.file).unwrap().unwrap().text, "whole");
}

#[test]
fn a_new_session_replaces_an_old_journal_and_other_files_are_ignored() {
    let s = setup("abc");
    journaled(&s, "abc", Edit::insert(0, "old "));
    fs::write(s.dir.join("README"), "not a journal").unwrap();
    fs::write(s.dir.join("junk.journal"), "garbage").unwrap();
    let mut new = Journal::open(&s.dir, &s.file, &Rope::from_str("abc"));
    new.record(&Edit::insert(3, " new"), Instant::now());
    new.flush().unwrap();
    assert_eq!(load(&s.dir, &s.file).unwrap().unwrap().text, "abc new");
    assert_eq!(recoverable(&s.dir).unwrap().len(), 1);
}

#[test]
fn journals_are_keyed_by_canonical_path() {
    let s = setup("abc");
    let via_dot = s.file.parent().unwrap().join(".").join("notes.txt");
    assert_eq!(journal_path(&s.dir, &s.file), journal_path(&s.dir, &via_dot));
    let other = s.file.with_file_name("other.txt");
    assert_ne!(journal_path(&s.dir, &s.file), journal_path(&s.dir, &other));
    assert!(journal_path(&s.dir, &other).to_string_lossy().ends_with("-other.txt.journal"));
}
