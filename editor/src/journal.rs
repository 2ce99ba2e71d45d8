//! The recovery journal: unsaved edits of a local file, on disk within a second, so that `kill -9`, a crash or a
//! power cut loses at most the last second of typing.
//!
//! One journal per file, keyed by its canonical path, in `DIR/<crc>-<name>.journal` where `DIR` is
//! [`default_dir`] (the platform state dir, never beside the user's file). A journal is an append-only log of
//! [records](crate::records) (CRC'd, a torn tail dropped on reading): a header naming the file and the text the
//! edits start from (its length and CRC-32), then edits and whole-text snapshots. Edits are buffered and fsync'd
//! at most [`FLUSH_DELAY`] after the first unsynced one ([`Journal::tick`], [`Journal::next_flush`]); saving the
//! file removes the journal ([`Journal::saved`]).
//!
//! ```
//! use std::time::Instant;
//! use ropey::Rope;
//! use tandem::journal::{self, Journal};
//! use tandem::Edit;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let file = dir.path().join("notes.txt");
//! std::fs::write(&file, "hello").unwrap();
//! let journal_dir = dir.path().join("journal");
//! let mut j = Journal::open(&journal_dir, &file, &Rope::from_str("hello"));
//! j.record(&Edit::insert(5, " world"), Instant::now());
//! j.flush().unwrap();
//! // The editor is killed here; the next start finds the edit.
//! let found = journal::recoverable(&journal_dir).unwrap();
//! assert_eq!(found.len(), 1);
//! let recovery = journal::load(&journal_dir, &file).unwrap().unwrap();
//! assert_eq!(recovery.text, "hello world");
//! ```

mod entry;
mod live;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ropey::Rope;

pub use entry::{Differs, differs, utc};
pub use live::Live;

use crate::records::{self, AppendLog};
use crate::text::Edit;
use entry::{Base, EDIT, Entry, HEADER, KINDS, ReplayError, SNAPSHOT};

/// Buffered edits are fsync'd at most this long after the first of them.
pub const FLUSH_DELAY: Duration = Duration::from_millis(500);

const EXTENSION: &str = "journal";

/// What can go wrong with a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing a journal failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The journal does not start with a header.
    #[error("{0} is not a tandem journal")]
    Corrupt(PathBuf),
    /// The file changed on disk since the journaled edits began, and no snapshot lets them be replayed.
    #[error("{0} changed on disk since the unsaved edits were journaled: they cannot be replayed")]
    BaseChanged(PathBuf),
}

/// The platform dir for journals: `journal/` in `TANDEM_DATA_DIR` when set, else in the state dir (Linux:
/// `~/.local/state/tandem/journal`), else in the local data dir. `None` without a home directory.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TANDEM_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("journal"));
    }
    let dirs = directories::ProjectDirs::from("", "", "tandem")?;
    let base = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    Some(base.join("journal"))
}

/// The canonical form of `file`, even when it does not exist yet (its directory canonicalized).
fn canonical(file: &Path) -> PathBuf {
    if let Ok(path) = fs::canonicalize(file) {
        return path;
    }
    match (file.parent(), file.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            fs::canonicalize(dir).map_or_else(|_| file.to_owned(), |d| d.join(name))
        }
        _ => file.to_owned(),
    }
}

/// Where the journal of `file` lives in `dir`: a CRC of the whole canonical path (names can be long) and the
/// file name, readable by someone browsing the dir.
fn journal_path(dir: &Path, file: &Path) -> PathBuf {
    let file = canonical(file);
    let crc = crc32fast::hash(file.as_os_str().as_encoded_bytes());
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name: String = crate::collab::safe_name(&name).chars().take(64).collect();
    dir.join(format!("{crc:08x}-{name}.{EXTENSION}"))
}

/// The base's CRC, computed on a thread: a 100 MB file costs tens of milliseconds that opening and saving should
/// not wait for (a rope clone is cheap). Needed only at the first flush.
#[derive(Debug)]
enum PendingBase {
    Computing(std::thread::JoinHandle<Base>, Rope),
    Ready(Base),
}

impl PendingBase {
    fn of(text: &Rope) -> Self {
        let copy = text.clone();
        match std::thread::Builder::new().name("journal-crc".into()).spawn(move || Base::of(&copy))
        {
            Ok(handle) => PendingBase::Computing(handle, text.clone()),
            Err(_) => PendingBase::Ready(Base::of(text)),
        }
    }

    fn get(&mut self) -> Base {
        let base = match std::mem::replace(self, PendingBase::Ready(Base { bytes: 0, crc: 0 })) {
            PendingBase::Ready(base) => base,
            // A panicked thread (it cannot, short of memory) is redone here.
            PendingBase::Computing(handle, text) => {
                handle.join().unwrap_or_else(|_| Base::of(&text))
            }
        };
        *self = PendingBase::Ready(base);
        base
    }
}

/// The journal of one open file.
#[derive(Debug)]
pub struct Journal {
    log: AppendLog,
    file: PathBuf,
    base: PendingBase,
    /// Whether the log holds this session's header (an older journal is replaced on the first flush).
    started: bool,
    pending: Vec<u8>,
    due: Option<Instant>,
}

impl Journal {
    /// The journal of `file` in `dir`, whose edits start from `base` (the text as loaded). Nothing is written
    /// until the first flush, which replaces any older journal of that file: offer its recovery first.
    pub fn open(dir: &Path, file: &Path, base: &Rope) -> Self {
        let file = canonical(file);
        let log = AppendLog::new(journal_path(dir, &file));
        let base = PendingBase::of(base);
        Journal { log, file, base, started: false, pending: Vec::new(), due: None }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        self.log.path()
    }

    /// Buffers an edit made at `now` (char offsets of the text before it).
    pub fn record(&mut self, edit: &Edit, now: Instant) {
        records::encode(&mut self.pending, EDIT, &entry::encode_edit(edit));
        self.due.get_or_insert(now + FLUSH_DELAY);
    }

    /// Buffers the whole text (after a reload, say, whose edit would be as large), made at `now`.
    pub fn snapshot(&mut self, text: &Rope, now: Instant) {
        records::encode(&mut self.pending, SNAPSHOT, text.to_string().as_bytes());
        self.due.get_or_insert(now + FLUSH_DELAY);
    }

    /// When [`Journal::tick`] must next be called (for the event loop's wait), if anything is buffered.
    pub fn next_flush(&self) -> Option<Instant> {
        self.due
    }

    /// Flushes when the buffered edits are due at `now`.
    pub fn tick(&mut self, now: Instant) -> Result<(), JournalError> {
        match self.due {
            Some(due) if now >= due => self.flush(),
            _ => Ok(()),
        }
    }

    /// Writes and fsyncs everything buffered (on a signal, before exiting).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        if !self.started {
            self.log.clear().map_err(|e| self.io("starting", e))?;
            let base = self.base.get();
            records::encode(&mut bytes, HEADER, &entry::encode_header(base, &self.file));
        }
        bytes.append(&mut self.pending);
        self.log.append(&bytes).map_err(|e| self.io("appending to", e))?;
        self.started = true;
        self.due = None;
        Ok(())
    }

    /// The file was saved with `text`: the journal is removed and later edits start from `text`.
    pub fn saved(&mut self, text: &Rope) -> Result<(), JournalError> {
        self.base = PendingBase::of(text);
        self.discard()
    }

    /// Removes the journal and anything buffered (the user chose not to keep the edits).
    pub fn discard(&mut self) -> Result<(), JournalError> {
        self.pending.clear();
        self.due = None;
        self.started = false;
        self.log.remove().map_err(|e| self.io("removing", e))
    }

    fn io(&self, action: &'static str, source: io::Error) -> JournalError {
        JournalError::Io { action, path: self.log.path().to_owned(), source }
    }
}

/// A journal found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recoverable {
    /// The file whose unsaved edits it holds.
    pub file: PathBuf,
    /// The journal itself.
    pub journal: PathBuf,
    /// When it was last written.
    pub modified: SystemTime,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Recoverable {
    /// `PATH  TIME  SIZE`, the line `tandem --recover` prints.
    pub fn line(&self) -> String {
        format!("{}  {}  {} bytes journaled", self.file.display(), utc(self.modified), self.bytes)
    }
}

/// Reads a journal's entries: the header's base and file, then the rest.
fn read(path: &Path) -> Result<Option<(Base, PathBuf, Vec<Entry>)>, JournalError> {
    let io_err = |source| JournalError::Io { action: "reading", path: path.to_owned(), source };
    let Some(read) = AppendLog::new(path.to_owned()).read(&KINDS).map_err(io_err)? else {
        return Ok(None);
    };
    let mut entries =
        read.records.into_iter().map_while(|(kind, payload)| entry::decode(kind, payload));
    match entries.next() {
        Some(Entry::Header { base, file }) => Ok(Some((base, file, entries.collect()))),
        // Flushed headers always come with an entry, so an empty journal is only a crash between the two.
        None => Ok(None),
        Some(_) => Err(JournalError::Corrupt(path.to_owned())),
    }
}

/// Whether `file` has a journal in `dir` holding edits (an earlier session's, waiting to be recovered).
fn waiting(dir: &Path, file: &Path) -> bool {
    matches!(read(&journal_path(dir, file)), Ok(Some((_, _, entries))) if !entries.is_empty())
}

/// Every journal in `dir` holding edits, oldest first. Unreadable ones are skipped with a log line.
pub fn recoverable(dir: &Path) -> Result<Vec<Recoverable>, JournalError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io { action: "listing", path: dir.to_owned(), source });
        }
    };
    let mut found = Vec::new();
    for journal in entries.filter_map(Result::ok).map(|e| e.path()) {
        if journal.extension().is_none_or(|e| e != EXTENSION) {
            continue;
        }
        match (read(&journal), fs::metadata(&journal)) {
            (Ok(Some((_, file, entries))), Ok(meta)) if !entries.is_empty() => {
                found.push(Recoverable {
                    file,
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    bytes: meta.len(),
                    journal,
                })
            }
            (Err(e), _) => tracing::warn!(journal = %journal.display(), "unreadable journal: {e}"),
            _ => {}
        }
    }
    found.sort_by_key(|r| r.modified);
    Ok(found)
}

/// A recovered text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// The file.
    pub file: PathBuf,
    /// Its text with the journaled edits (without a BOM: see [`crate::file`]).
    pub text: String,
    /// What differs from the file on disk; `None` when nothing does.
    pub differs: Option<Differs>,
}

/// The recovery of `file` from its journal in `dir`; `None` when there is none. The file on disk is read to
/// replay the edits over and to say what differs.
pub fn load(dir: &Path, file: &Path) -> Result<Option<Recovery>, JournalError> {
    let Some((base, file, entries)) = read(&journal_path(dir, file))? else { return Ok(None) };
    let disk = match crate::file::load(&file) {
        Ok(loaded) => loaded.map(|l| l.rope).unwrap_or_default(),
        Err(e) => {
            return Err(JournalError::Io {
                action: "reading",
                path: file,
                source: io::Error::other(e),
            });
        }
    };
    let text = match entry::replay(base, &disk, &entries) {
        Ok(text) => text.to_string(),
        Err(ReplayError::BaseChanged) => return Err(JournalError::BaseChanged(file)),
    };
    let differs = differs(&disk.to_string(), &text);
    Ok(Some(Recovery { file, text, differs }))
}

/// Keeps `text`, an unsaved buffer without a journal of its own (an unnamed buffer, or a file whose earlier
/// journal still waits), as the journal of a new name in `dir/rescued/` when the editor must exit at once (a
/// signal). `label` says what it was (`unnamed-1`, the file's name); the name it can be recovered under is
/// returned: `tandem --recover` lists it and opening it offers the text.
pub fn rescue(dir: &Path, label: &str, text: &Rope) -> Result<PathBuf, JournalError> {
    let rescued = dir.join("rescued");
    fs::create_dir_all(&rescued).map_err(|source| JournalError::Io {
        action: "creating",
        path: rescued.clone(),
        source,
    })?;
    let stamp: String = utc(SystemTime::now())
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned();
    let label: String = crate::collab::safe_name(label).chars().take(64).collect();
    let file = rescued.join(format!("{label}-{stamp}-{}.txt", std::process::id()));
    let mut journal = Journal::open(dir, &file, &Rope::new());
    journal.snapshot(text, Instant::now());
    journal.flush()?;
    Ok(file)
}

/// Removes the journal of `file` in `dir` (the user chose to discard it).
pub fn discard(dir: &Path, file: &Path) -> Result<(), JournalError> {
    let path = journal_path(dir, file);
    AppendLog::new(path.clone()).remove().map_err(|source| JournalError::Io {
        action: "removing",
        path,
        source,
    })
}

#[cfg(test)]
mod tests;
