//! What a synced directory keeps between runs: the **base** — for each path, the document it
//! was last reconciled with and the file's stamp then — in `index.json`, and each document's
//! replica and base text in its offline store, all under one folder of the data dir per
//! directory (`workspaces/NAME-HASH/`), locked while an engine runs.
//!
//! The base texts are what makes offline work mergeable: a file changed on disk while the engine
//! was stopped is diffed against the text it last agreed on, and the change applied to the
//! document as a CRDT edit (three-way when the document moved too, [`super::diff::merge3`]).
//!
//! Crash order: a document's update is in its store (fsync'd) before its base text is replaced,
//! and a file is written (fsync'd) before its base is; so a base is never ahead of what it
//! describes. A base behind is harmless: the merge takes a change both sides already have once.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::collab::{OfflineStore, safe_name};

use super::scan::Stamp;

/// One path of the base.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseEntry {
    /// Its document, relative to the prefix.
    pub id: String,
    /// The file's stamp when last reconciled.
    pub stamp: Stamp,
}

/// The base of every path, as stored in `index.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    /// Path to entry.
    pub files: BTreeMap<String, BaseEntry>,
}

/// Errors of the workspace's local state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file of the state could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another engine keeps this directory in step already.
    #[error("another tandem is syncing this directory (lock {0})")]
    Busy(PathBuf),
    /// `index.json` does not parse.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The folder of one synced directory's state, locked.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    server: String,
    _lock: File,
}

impl StateDir {
    /// Opens (creating) the state of directory `root` synced with `server` (host:port) and
    /// `prefix`, and locks it.
    pub fn open(
        data_dir: &Path,
        root: &Path,
        server: &str,
        prefix: &str,
    ) -> Result<Self, StateError> {
        let name = root.file_name().map_or("root".into(), |n| safe_name(&n.to_string_lossy()));
        let key = format!("{}\n{server}\n{prefix}", root.display());
        let dir = data_dir.join("workspaces").join(format!("{name}-{:016x}", fnv1a(&key)));
        let io = |action, path: &Path| {
            let path = path.to_owned();
            move |source| StateError::Io { action, path, source }
        };
        fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("opening", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StateError::Busy(lock_path)),
            Err(fs::TryLockError::Error(source)) => {
                return Err(StateError::Io { action: "locking", path: lock_path, source });
            }
        }
        Ok(Self { dir, server: server.to_owned(), _lock: lock })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The offline store of document `doc_id` (the full id).
    pub fn store(&self, doc_id: &str) -> OfflineStore {
        OfflineStore::new(&self.dir, &self.server, doc_id)
    }

    /// The stored base, empty when there is none.
    pub fn load_index(&self) -> Result<Index, StateError> {
        let path = self.dir.join("index.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StateError::Corrupt { path, reason: e.to_string() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Index::default()),
            Err(source) => Err(StateError::Io { action: "reading", path, source }),
        }
    }

    /// Replaces the stored base atomically.
    pub fn save_index(&self, index: &Index) -> Result<(), StateError> {
        let json = serde_json::to_vec(index).unwrap_or_default();
        write_atomic(&self.dir.join("index.json"), &json, Fsync::Yes)
    }
}

/// Whether an atomic write waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// fsync the file before the rename.
    Yes,
    /// Leave it to the OS (a stale copy is harmless, see the module docs).
    No,
}

/// The base text of a document, beside its store.
pub fn read_base(store: &OfflineStore) -> Option<String> {
    fs::read_to_string(store.dir().join("base")).ok()
}

/// Replaces a document's base text.
pub fn write_base(store: &OfflineStore, text: &str) -> Result<(), StateError> {
    write_atomic(&store.dir().join("base"), text.as_bytes(), Fsync::No)
}

fn write_atomic(path: &Path, bytes: &[u8], fsync: Fsync) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let write = || -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        if fsync == Fsync::Yes {
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    };
    write().map_err(|source| StateError::Io { action: "writing", path: path.to_owned(), source })
}

/// FNV-1a: stable across runs and platforms, for naming a directory's state folder.
fn fnv1a(s: &str) -> u64 {
    s.bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_and_a_second_engine_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let root = Path::new("/some/project");
        let state = StateDir::open(data.path(), root, "h:1", "team").unwrap();
        assert_eq!(state.load_index().unwrap(), Index::default());
        let mut index = Index::default();
        let stamp = Stamp { len: 3, mtime_ns: 42 };
        index.files.insert("a.txt".into(), BaseEntry { id: "a.txt".into(), stamp });
        state.save_index(&index).unwrap();
        assert_eq!(state.load_index().unwrap(), index);
        assert!(matches!(
            StateDir::open(data.path(), root, "h:1", "team"),
            Err(StateError::Busy(_))
        ));
        // Another directory, or the same one synced elsewhere, has its own state.
        StateDir::open(data.path(), Path::new("/other"), "h:1", "team").unwrap();
        StateDir::open(data.path(), root, "h:1", "other").unwrap();
        drop(state);
        StateDir::open(data.path(), root, "h:1", "team").unwrap();
    }

    #[test]
    fn base_texts_live_beside_the_store() {
        let data = tempfile::tempdir().unwrap();
        let state = StateDir::open(data.path(), Path::new("/p"), "h:1", "team").unwrap();
        let store = state.store("team/src/main.rs");
        assert_eq!(read_base(&store), None);
        write_base(&store, "fn main() {}\n").unwrap();
        assert_eq!(read_base(&state.store("team/src/main.rs")).as_deref(), Some("fn main() {}\n"));
    }
}
