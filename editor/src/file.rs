//! Reading and writing files without ever clobbering them, and noticing when another program changed them.
//!
//! Bytes are kept as they are: CRLF or LF, a missing final newline, a BOM. A file that is not valid UTF-8 is opened
//! read-only (its invalid bytes shown as U+FFFD) and never written back, so tandem cannot corrupt it. The BOM is
//! taken off the text on load and put back on save ([`Bom`]), so that it can be neither seen, deleted nor typed
//! before. How a save replaces the file (rename of a temporary file, or in place) is decided in [`save`].

mod save;

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ropey::Rope;

pub use save::save;

/// The UTF-8 byte order mark, U+FEFF.
const BOM: char = '\u{FEFF}';

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
    /// Writing in place failed part way; the previous content was kept in a backup copy.
    #[error("cannot write {path}: {source}; its previous content is kept in {backup}")]
    InPlace {
        /// The file.
        path: PathBuf,
        /// The backup copy of its previous content.
        backup: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Whether the file starts with a UTF-8 byte order mark. It is not part of the editable text: [`load`] takes it
/// off and [`save`] writes it back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Bom {
    /// No BOM.
    #[default]
    Absent,
    /// The file starts with EF BB BF.
    Present,
}

impl Bom {
    /// The status bar's encoding name.
    pub fn encoding(self) -> &'static str {
        match self {
            Bom::Absent => "UTF-8",
            Bom::Present => "UTF-8 BOM",
        }
    }
}

/// Whether we may write the file, as vim sees it: a write-protected file can be edited, but saving asks first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Access {
    /// Writable, or not there yet.
    #[default]
    Writable,
    /// No write permission for us, or no write bit at all (mode 444, which even root should not ignore silently).
    WriteProtected,
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
    /// Whether the file had a BOM (taken off `rope`).
    pub bom: Bom,
    /// Whether we may write it.
    pub access: Access,
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
    let access = access(path);
    let (rope, read_only) = match Rope::from_reader(BufReader::with_capacity(1 << 16, file)) {
        Ok(rope) => (rope, None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            let bytes = fs::read(path).map_err(read_err)?;
            let bad = std::str::from_utf8(&bytes).err().map_or(0, |e| e.valid_up_to());
            let rope = Rope::from_str(&String::from_utf8_lossy(&bytes));
            let reason = format!(
                "not valid UTF-8 (byte {bad}): opened read-only so that it is never corrupted; \
                 invalid bytes are shown as \u{FFFD}"
            );
            (rope, Some(reason))
        }
        Err(e) => return Err(read_err(e)),
    };
    let (rope, bom) = take_bom(rope);
    Ok(Some(Loaded { rope, read_only, stamp, bom, access }))
}

fn take_bom(mut rope: Rope) -> (Rope, Bom) {
    if rope.get_char(0) == Some(BOM) {
        rope.remove(0..1);
        (rope, Bom::Present)
    } else {
        (rope, Bom::Absent)
    }
}

/// Whether we may write `path` now ([`Access::Writable`] when it does not exist: creating it is another matter).
pub fn access(path: &Path) -> Access {
    match fs::metadata(path) {
        Ok(meta) if write_protected(path, &meta) => Access::WriteProtected,
        _ => Access::Writable,
    }
}

#[cfg(unix)]
fn write_protected(path: &Path, meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o222 == 0
        || rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_err()
}

#[cfg(not(unix))]
fn write_protected(_path: &Path, meta: &fs::Metadata) -> bool {
    meta.permissions().readonly()
}

/// The current state of `path` on disk; `None` when it does not exist.
pub fn stamp(path: &Path) -> io::Result<Option<DiskStamp>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(DiskStamp::of(&meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
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
        let stamp = save(&path, &loaded.rope, loaded.bom).unwrap();
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
