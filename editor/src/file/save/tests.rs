use std::fs;
use std::path::Path;

use super::*;
use crate::file::{Access, load};

const ME: Owner = Owner { uid: 1000, gid: 1000 };

fn existing(owner: Owner, links: u64) -> Option<Existing> {
    Some(Existing { owner, links })
}

#[test]
fn the_strategy_keeps_inodes_that_matter() {
    let other = Owner { uid: 0, gid: 0 };
    let other_group = Owner { uid: 1000, gid: 50 };
    assert_eq!(strategy(None, NewFile::Created(ME)), Strategy::Rename);
    assert_eq!(strategy(existing(ME, 1), NewFile::Created(ME)), Strategy::Rename);
    assert_eq!(
        strategy(existing(other, 1), NewFile::Created(ME)),
        Strategy::InPlace(InPlace::Owner)
    );
    let group = strategy(existing(other_group, 1), NewFile::Created(ME));
    assert_eq!(group, Strategy::InPlace(InPlace::Owner));
    assert_eq!(
        strategy(existing(ME, 2), NewFile::Created(ME)),
        Strategy::InPlace(InPlace::HardLinks)
    );
    assert_eq!(strategy(existing(ME, 1), NewFile::Refused), Strategy::InPlace(InPlace::Directory));
}

/// A test that needs root or a tool: skipped with a reason locally, a failure under `CI=true`.
fn unavailable(reason: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
    eprintln!("skipped: {reason}");
}

fn only_file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn a_hard_linked_file_keeps_its_inode_and_every_name_sees_the_new_text() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    let other = dir.path().join("b.txt");
    fs::write(&path, "old\n").unwrap();
    fs::hard_link(&path, &other).unwrap();
    let inode = fs::metadata(&path).unwrap().ino();
    save(&path, &Rope::from_str("new\n"), Bom::Absent).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    assert_eq!(fs::read_to_string(&other).unwrap(), "new\n");
    assert_eq!(only_file_names(dir.path()), ["a.txt", "b.txt"], "the backup copy is removed");
}

#[cfg(unix)]
#[test]
fn a_file_owned_by_someone_else_keeps_its_owner() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.txt");
    fs::write(&path, "old text that is longer\n").unwrap();
    if let Err(e) = std::os::unix::fs::chown(&path, Some(4321), Some(4322)) {
        return unavailable(&format!("chown needs root: {e}"));
    }
    save(&path, &Rope::from_str("new\n"), Bom::Absent).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    assert_eq!(fs::read_to_string(&path).unwrap(), "new\n", "the old, longer tail is cut off");
    assert_eq!(only_file_names(dir.path()), ["theirs.txt"]);
}

/// Makes a directory immutable (`chattr +i`), which refuses new files even to root, and undoes it on drop.
struct Immutable<'a>(&'a Path);

impl<'a> Immutable<'a> {
    fn new(dir: &'a Path) -> Result<Self, String> {
        let out = std::process::Command::new("chattr").arg("+i").arg(dir).output();
        match out {
            Ok(o) if o.status.success() => Ok(Immutable(dir)),
            Ok(o) => Err(format!("chattr +i failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => Err(format!("no chattr: {e}")),
        }
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

#[cfg(unix)]
#[test]
fn a_writable_file_in_a_directory_that_refuses_new_files_is_saved_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    fs::write(&path, "old\n").unwrap();
    let guard = match Immutable::new(dir.path()) {
        Ok(g) => g,
        Err(reason) => return unavailable(&reason),
    };
    save(&path, &Rope::from_str("new\n"), Bom::Absent).unwrap();
    let created = save(&dir.path().join("new.txt"), &Rope::from_str("x"), Bom::Absent);
    drop(guard);
    assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
    assert!(matches!(created, Err(FileError::Write { .. })), "a new file still cannot be created");
    assert_eq!(only_file_names(dir.path()), ["a.txt"]);
}

#[test]
fn the_bom_is_kept_off_the_text_and_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.txt");
    fs::write(&path, "\u{FEFF}one\n").unwrap();
    let loaded = load(&path).unwrap().unwrap();
    assert_eq!(loaded.bom, Bom::Present);
    assert_eq!(loaded.rope.to_string(), "one\n");
    save(&path, &Rope::from_str("two\n"), loaded.bom).unwrap();
    assert_eq!(fs::read(&path).unwrap(), "\u{FEFF}two\n".as_bytes());
}

#[cfg(unix)]
#[test]
fn mode_444_is_write_protected_even_for_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.txt");
    fs::write(&path, "x").unwrap();
    assert_eq!(load(&path).unwrap().unwrap().access, Access::Writable);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    assert_eq!(load(&path).unwrap().unwrap().access, Access::WriteProtected);
    assert_eq!(crate::file::access(&dir.path().join("absent")), Access::Writable);
}
