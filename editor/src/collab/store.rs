//! The local offline store: one document's state on disk, so edits survive network cuts, crashes
//! and restarts until a server confirms them.
//!
//! Two files per document, in the platform data dir under `docs/<server>/<doc>`:
//! - `state` — an [`OfflineState`] snapshot, replaced atomically (temp file, fsync, rename, fsync
//!   of the directory);
//! - `log` — updates appended since the snapshot, one [record](crate::records) each, of kind 0
//!   (local) or 1 (remote); fsync'd after every batch.
//!
//! Appending keeps each keystroke batch cheap on a 100 MB document; the snapshot is rewritten
//! when the log grows past [`COMPACT_LOG_BYTES`] and on clean exit. Loading replays the log over
//! the snapshot and stops at the first torn or corrupt record (a crash mid-append), which loses at
//! most that last unsynced batch. Replaying a record the snapshot already holds is harmless:
//! updates are idempotent.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tandem_crdt::{
    Client, Document, DocumentConfig, Extensions, JournalEntry, OfflineState, Result as CrdtResult,
};

use crate::records::{self, AppendLog};

/// Most instances of one document that one data dir holds at once (replica slots).
const MAX_SLOTS: usize = 64;

/// Rewrite the snapshot when the log has grown past this many bytes.
pub const COMPACT_LOG_BYTES: u64 = 4 << 20;

const LOCAL: u8 = 0;
const REMOTE: u8 = 1;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a store file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another process has this document open: two writers would overwrite each other's
    /// snapshot and lose edits.
    #[error("another tandem has this document open (lock {path})")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The snapshot file is not a tandem offline state.
    #[error("{path} is not a tandem offline state: {reason}")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Whose update a log record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Typed here: unconfirmed until a server says it is durable.
    Local,
    /// Received from the server.
    Remote,
}

/// A document's files on disk.
#[derive(Debug)]
pub struct OfflineStore {
    dir: PathBuf,
    log: AppendLog,
    lock: Option<File>,
}

/// What [`OfflineStore::load`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The snapshot with every logged update folded in: local ones are unconfirmed.
    pub state: OfflineState,
    /// Remote updates from the log, to apply after the state.
    pub remote: Vec<Vec<u8>>,
    /// Whether the log ended in a torn or corrupt record (dropped).
    pub torn_tail: bool,
}

impl OfflineStore {
    /// The store of document `doc` on the server named `server` (host and port), under
    /// `data_dir`. Both names are made safe for a file system path.
    pub fn new(data_dir: &Path, server: &str, doc: &str) -> Self {
        let dir = data_dir.join("docs").join(safe_name(server)).join(safe_name(doc));
        let log = AppendLog::new(dir.join("log"));
        Self { dir, log, lock: None }
    }

    /// Takes the document's lock (held until the store is dropped; the OS releases it if the
    /// process dies), so that a second editor on the same document and data dir is refused.
    pub fn lock(&mut self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir).map_err(|source| self.io("creating", "", source))?;
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| self.io("opening", "lock", source))?;
        // A std lock (Rust 1.89, the workspace's minimum) rather than unsafe flock(2) calls.
        match file.try_lock() {
            Ok(()) => {
                self.lock = Some(file);
                Ok(())
            }
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Busy { path }),
            Err(fs::TryLockError::Error(source)) => Err(self.io("locking", "lock", source)),
        }
    }

    /// Opens the document's store for one instance: its main folder, or — when another tandem
    /// holds that — the first free replica slot `replicas/N/` beside it. Each instance has its own
    /// snapshot and log (and its own client id, fresh every run), so two terminals or two views
    /// of one document on one machine are two replicas that merge like any peers; none is refused.
    pub fn open(data_dir: &Path, server: &str, doc: &str) -> Result<Self, StoreError> {
        let main = OfflineStore::new(data_dir, server, doc);
        for n in 0..MAX_SLOTS {
            let mut store = main.slot(n);
            match store.lock() {
                Ok(()) => return Ok(store),
                Err(StoreError::Busy { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Busy { path: main.dir.join("lock") })
    }

    /// Replica slot `n` of the document whose main store this is (0 is the main store itself).
    fn slot(&self, n: usize) -> Self {
        let dir = match n {
            0 => self.main_dir().to_owned(),
            n => self.main_dir().join("replicas").join(n.to_string()),
        };
        let log = AppendLog::new(dir.join("log"));
        Self { dir, log, lock: None }
    }

    /// The document's main folder (a replica slot's lives under it).
    fn main_dir(&self) -> &Path {
        match self.dir.parent() {
            Some(replicas) if replicas.file_name().is_some_and(|n| n == "replicas") => {
                replicas.parent().unwrap_or(&self.dir)
            }
            _ => &self.dir,
        }
    }

    /// The replica slots no instance holds now (their tandem exited or crashed), locked, with what
    /// they store: fold their updates into this store, snapshot it, then [remove](Self::remove)
    /// them, so that no edit made in a second instance waits for that slot to be opened again.
    pub fn idle_replicas(&self) -> Result<Vec<(OfflineStore, Option<Loaded>)>, StoreError> {
        let mut idle = Vec::new();
        for n in 1..MAX_SLOTS {
            let mut slot = self.slot(n);
            if slot.dir == self.dir || !slot.dir.exists() {
                continue;
            }
            match slot.lock() {
                Ok(()) => {
                    let loaded = slot.load()?;
                    idle.push((slot, loaded));
                }
                Err(StoreError::Busy { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(idle)
    }

    /// Deletes this replica slot's files (its updates are in another store now).
    pub fn remove(self) -> Result<(), StoreError> {
        fs::remove_dir_all(&self.dir).map_err(|source| self.io("removing", "", source))
    }

    /// The folder holding this document's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads what is stored; `None` when nothing is.
    pub fn load(&mut self) -> Result<Option<Loaded>, StoreError> {
        let snapshot_path = self.dir.join("state");
        let snapshot = match fs::read(&snapshot_path) {
            Ok(bytes) => Some(OfflineState::decode(&bytes).map_err(|e| StoreError::Corrupt {
                path: snapshot_path.clone(),
                reason: e.to_string(),
            })?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(StoreError::Io { action: "reading", path: snapshot_path, source });
            }
        };
        let log =
            self.log.read(&[LOCAL, REMOTE]).map_err(|source| self.io("reading", "log", source))?;
        if snapshot.is_none() && log.is_none() {
            return Ok(None);
        }
        let log = log.unwrap_or_default();
        let mut loaded = Loaded {
            state: snapshot.unwrap_or_default(),
            torn_tail: log.torn_tail,
            ..Loaded::default()
        };
        for (kind, update) in log.records {
            match kind {
                LOCAL => loaded.state.unconfirmed.push(update),
                _ => loaded.remote.push(update),
            }
        }
        Ok(Some(loaded))
    }

    /// Appends updates and fsyncs: after this returns they survive a crash.
    pub fn append(&mut self, updates: &[(Origin, &[u8])]) -> Result<(), StoreError> {
        self.write(updates)?;
        self.sync()
    }

    /// Appends updates without waiting for the disk: after this returns they survive the process
    /// being killed, and a crash of the machine once [`OfflineStore::sync`] returned.
    pub fn write(&mut self, updates: &[(Origin, &[u8])]) -> Result<(), StoreError> {
        let mut buf = Vec::new();
        for (origin, update) in updates {
            let kind = match origin {
                Origin::Local => LOCAL,
                Origin::Remote => REMOTE,
            };
            records::encode(&mut buf, kind, update);
        }
        self.log.write(&buf).map_err(|source| self.io("appending to", "log", source))
    }

    /// Waits until every update written is on disk.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.log.sync().map_err(|source| self.io("syncing", "log", source))
    }

    /// Appends what a client's journal holds (see [`Client::drain_journal`]) and fsyncs.
    pub fn append_journal(&mut self, journal: &[JournalEntry]) -> Result<(), StoreError> {
        self.write_journal(journal)?;
        self.sync()
    }

    /// [`OfflineStore::write`] of what a client's journal holds: no fsync.
    pub fn write_journal(&mut self, journal: &[JournalEntry]) -> Result<(), StoreError> {
        let records: Vec<(Origin, &[u8])> = journal
            .iter()
            .map(|entry| match entry {
                JournalEntry::Local(u) => (Origin::Local, u.as_slice()),
                JournalEntry::Remote(u) => (Origin::Remote, u.as_slice()),
            })
            .collect();
        self.write(&records)
    }

    /// Whether the log is big enough that the snapshot should be rewritten.
    pub fn wants_compaction(&self) -> bool {
        self.log.len() >= COMPACT_LOG_BYTES
    }

    /// Replaces the snapshot with `state` (which must hold everything logged so far) and empties
    /// the log.
    pub fn write_snapshot(&mut self, state: &OfflineState) -> Result<(), StoreError> {
        fs::create_dir_all(&self.dir).map_err(|source| self.io("creating", "", source))?;
        let tmp = self.dir.join("state.tmp");
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&state.encode())?;
            file.sync_all()?;
            fs::rename(&tmp, self.dir.join("state"))?;
            sync_dir(&self.dir)
        };
        write().map_err(|source| self.io("writing", "state", source))?;
        self.log.clear().map_err(|source| self.io("truncating", "log", source))
    }

    fn io(&self, action: &'static str, name: &str, source: io::Error) -> StoreError {
        StoreError::Io { action, path: self.dir.join(name), source }
    }
}

impl Loaded {
    /// Adds what another replica slot stored (its snapshot, its logged updates) as updates to
    /// apply: they merge like any peer's.
    pub fn absorb(&mut self, other: Loaded) {
        if !other.state.state.is_empty() {
            self.remote.push(other.state.state);
        }
        self.remote.extend(other.state.unconfirmed);
        self.remote.extend(other.remote);
    }

    /// The client this stored copy restores (a new one for `None`), its journal on: logged local
    /// updates stay unconfirmed, logged remote ones are applied after them.
    pub fn restore(loaded: Option<&Loaded>, config: DocumentConfig) -> CrdtResult<Client> {
        let mut client = match loaded {
            Some(l) if l.state.state.is_empty() => {
                // Only a log (the first snapshot comes at compaction or exit): restore from the
                // empty document's state so the logged local updates still count as unconfirmed.
                let empty = Document::new(DocumentConfig::new(1))?.encode_state();
                let stored =
                    OfflineState { state: empty, unconfirmed: l.state.unconfirmed.clone() };
                Client::restore(config, &stored, Extensions::Tandem)?
            }
            Some(l) => Client::restore(config, &l.state, Extensions::Tandem)?,
            None => Client::new(config, Extensions::Tandem)?,
        };
        if let Some(l) = loaded {
            for update in &l.remote {
                client.document_mut().apply_update(update)?;
            }
        }
        client.enable_journal();
        Ok(client)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // A rename is durable only once the directory entry is; not possible on every platform.
    match File::open(dir) {
        Ok(d) => d.sync_all().or(Ok(())),
        Err(_) => Ok(()),
    }
}

/// The longest name [`safe_name`] gives: file systems take 255 bytes per name, and callers may
/// add a little (a suffix, a temporary file's decoration).
pub const MAX_SAFE_NAME_BYTES: usize = 200;

/// A file-name-safe rendering of `name`: letters, digits, `-`, `_` and `.` kept, everything else
/// as `%XX`, and no name that is only dots. A rendering longer than [`MAX_SAFE_NAME_BYTES`] (a
/// document id may be 512 bytes, three times that encoded) keeps its start and ends in `~` and a
/// 128-bit hash of the whole name, so distinct names stay distinct; no shorter rendering has a
/// `~`, and names that fit are rendered as they always were.
pub fn safe_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(byte as char),
            b'.' if !out.is_empty() => out.push('.'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    if out.is_empty() {
        return "%".to_owned();
    }
    if out.len() > MAX_SAFE_NAME_BYTES {
        let hash = format!("~{:032x}", fnv1a_128(name.as_bytes()));
        // The rendering is ASCII: any byte is a char boundary.
        out.truncate(MAX_SAFE_NAME_BYTES - hash.len());
        out.push_str(&hash);
    }
    out
}

/// 128-bit FNV-1a: stable across runs and platforms (a store must be found again), wide enough
/// that two document ids never share a name.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(text: &[u8]) -> OfflineState {
        OfflineState { state: text.to_vec(), unconfirmed: vec![] }
    }

    #[test]
    fn nothing_stored_loads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OfflineStore::new(dir.path(), "127.0.0.1:8080", "notes");
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn appended_updates_come_back_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OfflineStore::new(dir.path(), "h:1", "d");
        store.write_snapshot(&state(b"snap")).unwrap();
        store.append(&[(Origin::Local, b"a"), (Origin::Remote, b"bb")]).unwrap();
        store.append(&[(Origin::Local, b"ccc")]).unwrap();
        let loaded = OfflineStore::new(dir.path(), "h:1", "d").load().unwrap().unwrap();
        assert_eq!(loaded.state.state, b"snap");
        assert_eq!(loaded.state.unconfirmed, vec![b"a".to_vec(), b"ccc".to_vec()]);
        assert_eq!(loaded.remote, vec![b"bb".to_vec()]);
        assert!(!loaded.torn_tail);
    }

    #[test]
    fn torn_tail_is_dropped_and_later_appends_follow_the_good_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OfflineStore::new(dir.path(), "h:1", "d");
        store.append(&[(Origin::Local, b"good")]).unwrap();
        let log = store.dir().join("log");
        let mut bytes = fs::read(&log).unwrap();
        bytes.extend_from_slice(&[0, 9, 0, 0, 0, b'x']);
        fs::write(&log, bytes).unwrap();

        let mut store = OfflineStore::new(dir.path(), "h:1", "d");
        let loaded = store.load().unwrap().unwrap();
        assert!(loaded.torn_tail);
        assert_eq!(loaded.state.unconfirmed, vec![b"good".to_vec()]);
        store.append(&[(Origin::Local, b"next")]).unwrap();
        let loaded = OfflineStore::new(dir.path(), "h:1", "d").load().unwrap().unwrap();
        assert_eq!(loaded.state.unconfirmed, vec![b"good".to_vec(), b"next".to_vec()]);
    }

    #[test]
    fn snapshot_empties_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = OfflineStore::new(dir.path(), "h:1", "d");
        store.append(&[(Origin::Local, b"a")]).unwrap();
        store.write_snapshot(&state(b"all")).unwrap();
        let loaded = OfflineStore::new(dir.path(), "h:1", "d").load().unwrap().unwrap();
        assert_eq!(loaded.state, state(b"all"));
    }

    #[test]
    fn a_second_instance_of_a_document_gets_its_own_replica_slot() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = OfflineStore::new(dir.path(), "h:1", "d");
        first.lock().unwrap();
        let mut second = OfflineStore::new(dir.path(), "h:1", "d");
        assert!(matches!(second.lock(), Err(StoreError::Busy { .. })), "one lock per slot");
        // Issue 11: opening is never refused: the second instance gets slot 1, the third slot 2.
        let second = OfflineStore::open(dir.path(), "h:1", "d").unwrap();
        assert_eq!(second.dir(), first.dir().join("replicas").join("1"));
        let third = OfflineStore::open(dir.path(), "h:1", "d").unwrap();
        assert_eq!(third.dir(), first.dir().join("replicas").join("2"));
        assert!(first.idle_replicas().unwrap().is_empty(), "both are in use");
        drop(third);
        let idle = first.idle_replicas().unwrap();
        assert_eq!(idle.len(), 1);
        let (slot, _) = idle.into_iter().next().unwrap();
        slot.remove().unwrap();
        assert!(!first.dir().join("replicas").join("2").exists());
        drop(first);
        assert_eq!(OfflineStore::open(dir.path(), "h:1", "d").unwrap().dir(), second.main_dir());
    }

    #[test]
    fn corrupt_snapshot_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = OfflineStore::new(dir.path(), "h:1", "d");
        fs::create_dir_all(store.dir()).unwrap();
        fs::write(store.dir().join("state"), b"garbage").unwrap();
        let err = OfflineStore::new(dir.path(), "h:1", "d").load().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn names_cannot_escape_the_store() {
        assert_eq!(safe_name("../etc"), "%2E.%2Fetc");
        assert_eq!(safe_name(".."), "%2E.");
        assert_eq!(safe_name("127.0.0.1:8080"), "127.0.0.1%3A8080");
        assert_eq!(safe_name(""), "%");
    }

    #[test]
    fn issue_16_a_long_document_id_gets_a_short_distinct_file_name() {
        // The longest id, nearly all escapes: 1,530 bytes once encoded.
        let id = |last: char| format!("{}/{last}", "é/".repeat(127).trim_end_matches('/'));
        let (a, b) = (id('a'), id('b'));
        assert!(tandem_crdt::validate_doc_id(&a).is_ok() && a.len() > 380, "{}", a.len());
        let (name_a, name_b) = (safe_name(&a), safe_name(&b));
        assert!(name_a.len() <= MAX_SAFE_NAME_BYTES, "{}", name_a.len());
        assert_ne!(name_a, name_b);
        assert_eq!(safe_name(&a), name_a, "stable");
        assert!(name_a.contains('~') && !safe_name("team/notes.md").contains('~'));
        // The store of such a document works on a real file system.
        let dir = tempfile::tempdir().unwrap();
        let mut store = OfflineStore::new(dir.path(), "h:1", &a);
        store.lock().unwrap();
        store.append(&[(Origin::Local, b"kept")]).unwrap();
        let loaded = OfflineStore::new(dir.path(), "h:1", &a).load().unwrap().unwrap();
        assert_eq!(loaded.state.unconfirmed, vec![b"kept".to_vec()]);
    }
}
