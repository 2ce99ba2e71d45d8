//! `tandem --recover` against the real binary: it lists what the recovery journal holds.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ropey::Rope;
use tandem::Edit;
use tandem::journal::{self, Journal};

fn recover(data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--recover")
        .env("TANDEM_DATA_DIR", data_dir)
        .env("TANDEM_LOG_FILE", data_dir.join("tandem.log"))
        .output()
        .unwrap()
}

#[test]
fn recover_lists_journaled_files_with_time_and_size() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let out = recover(&data_dir);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no unsaved edits to recover"));

    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    let mut j = Journal::open(&data_dir.join("journal"), &file, &Rope::from_str("hello"));
    j.record(&Edit::insert(5, " world"), Instant::now());
    j.flush().unwrap();
    let found = journal::recoverable(&data_dir.join("journal")).unwrap();

    let out = recover(&data_dir);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, format!("{}\n", found[0].line()));
    let canonical = std::fs::canonicalize(&file).unwrap();
    assert!(stdout.starts_with(&format!("{}  ", canonical.display())), "{stdout}");
    assert!(
        stdout.contains(" UTC  ") && stdout.trim_end().ends_with(" bytes journaled"),
        "{stdout}"
    );
}
