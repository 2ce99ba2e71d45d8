//! Reading and atomically writing files, and noticing when another program changed them.
//!
//! Bytes are kept as they are: CRLF or LF, a missing final newline, a BOM. A file that is not valid UTF-8 is opened
//! read-only (its invalid bytes shown as U+FFFD) and never written back, so tandem cannot corrupt it.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ropey::Rope;

/// Errors from reading or writing a file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing failed; the original file is untouched.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// What a file looked like on disk, to detect changes by other programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskStamp {
    /// Last modification time, when the platform reports one.
    pub modified: Option<SystemTime>,
    /// Size in bytes.
    pub len: u64,
}

impl DiskStamp {
    fn of(meta: &fs::Metadata) -> Self {
        DiskStamp { modified: meta.modified().ok(), len: meta.len() }
    }
}

/// A file read into a rope.
pub struct Loaded {
    /// The text.
    pub rope: Rope,
    /// Why the file must not be written back, if it must not.
    pub read_only: Option<String>,
    /// The file's state when read.
    pub stamp: DiskStamp,
}

/// Reads `path`. `Ok(None)` when it does not exist (a new file).
pub fn load(path: &Path) -> Result<Option<Loaded>, FileError> {
    let read_err = |source| FileError::Read { path: path.to_owned(), source };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if meta.is_dir() {
        return Err(read_err(io::Error::other("is a directory")));
    }
    let stamp = DiskStamp::of(&meta);
    match Rope::from_reader(BufReader::with_capacity(1 << 16, file)) {
        Ok(rope) => Ok(Some(Loaded { rope, read_only: None, stamp })),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            let bytes = fs::read(path).map_err(read_err)?;
            let bad = std::str::from_utf8(&bytes).err().map_or(0, |e| e.valid_up_to());
            let rope = Rope::from_str(&String::from_utf8_lossy(&bytes));
            let reason = format!(
                "not valid UTF-8 (byte {bad}): opened read-only so that it is never corrupted; \
                 invalid bytes are shown as \u{FFFD}"
            );
            Ok(Some(Loaded { rope, read_only: Some(reason), stamp }))
        }
        Err(e) => Err(read_err(e)),
    }
}

/// The current state of `path` on disk; `None` when it does not exist.
pub fn stamp(path: &Path) -> io::Result<Option<DiskStamp>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(DiskStamp::of(&meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `rope` to `path` atomically: a temporary file in the same directory is written, flushed to disk, given
/// the original's permissions and renamed over the original. A symlink is followed so that the link survives.
pub fn save(path: &Path, rope: &Rope) -> Result<DiskStamp, FileError> {
    let write_err = |source| FileError::Write { path: path.to_owned(), source };
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let permissions = fs::metadata(&target).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(".tandem-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(write_err)?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        for chunk in rope.chunks() {
            w.write_all(chunk.as_bytes()).map_err(write_err)?;
        }
        w.flush().map_err(write_err)?;
    }
    match permissions {
        Some(p) => tmp.as_file().set_permissions(p).map_err(write_err)?,
        None => set_new_file_permissions(tmp.as_file()).map_err(write_err)?,
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    let file = tmp.persist(&target).map_err(|e| write_err(e.error))?;
    // Make the rename itself durable; not every platform lets a directory be synced, so failure is ignored.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    let meta = file.metadata().map_err(write_err)?;
    Ok(DiskStamp::of(&meta))
}

/// Temporary files are created private (0600); a new file gets the usual 0644 instead.
#[cfg(unix)]
fn set_new_file_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_new_file_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_round_trips_bytes_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        let text = "héllo\r\n中文 👍🏽\r\nno final newline";
        fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let loaded = load(&path).unwrap().unwrap();
        assert!(loaded.read_only.is_none());
        let stamp = save(&path, &loaded.rope).unwrap();
        assert_eq!(fs::read(&path).unwrap(), text.as_bytes());
        assert_eq!(stamp.len, text.len() as u64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
    }

    #[test]
    fn invalid_utf8_opens_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        fs::write(&path, b"ok\xff\xfe").unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert!(loaded.read_only.unwrap().contains("byte 2"));
        assert_eq!(loaded.rope.to_string(), "ok\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn missing_file_is_new() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("nope")).unwrap().is_none());
    }
}
