//! A consistent copy of a SQLite database while a server writes to it: `VACUUM INTO` reads one
//! snapshot of the database (WAL included) in a read transaction, so the copy holds exactly the
//! transactions committed before it began, and the server keeps writing meanwhile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The copy's path is taken: a backup never overwrites anything.
    #[error("{} exists; a backup never overwrites a file", .0.display())]
    Exists(PathBuf),
    /// The database could not be opened or copied.
    #[error("copying {}: {source}", from.display())]
    Copy {
        /// The database.
        from: PathBuf,
        /// SQLite's error.
        source: sqlx::Error,
    },
    /// The copy failed its integrity check.
    #[error("the copy {} fails SQLite's integrity check: {reason}", path.display())]
    Corrupt {
        /// The copy.
        path: PathBuf,
        /// What `PRAGMA quick_check` said.
        reason: String,
    },
    /// Writing the copy into place failed.
    #[error("writing {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Copies the database at `from` to `to` (which must not exist): written beside `to`, checked,
/// synced, then renamed into place, so `to` is either absent or a whole, checked copy.
pub async fn backup_sqlite(from: &Path, to: &Path) -> Result<(), BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    let partial = partial_path(to);
    // A partial copy left by an interrupted backup is ours to replace.
    match std::fs::remove_file(&partial) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&partial)(e)),
        _ => {}
    }
    let copy_error = |source| BackupError::Copy { from: from.to_owned(), source };
    let options = SqliteConnectOptions::new()
        .filename(from)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30));
    let mut connection = SqliteConnection::connect_with(&options).await.map_err(copy_error)?;
    let target = partial.to_str().ok_or_else(|| {
        io(&partial)(std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"))
    })?;
    sqlx::query("VACUUM INTO ?").bind(target).execute(&mut connection).await.map_err(copy_error)?;
    connection.close().await.map_err(copy_error)?;
    check(&partial).await?;
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(io(&partial))?;
    std::fs::rename(&partial, to).map_err(io(to))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(())
}

fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    to.with_file_name(name)
}

/// `PRAGMA quick_check` on the copy.
async fn check(path: &Path) -> Result<(), BackupError> {
    let corrupt = |reason: String| BackupError::Corrupt { path: path.to_owned(), reason };
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut connection =
        SqliteConnection::connect_with(&options).await.map_err(|e| corrupt(e.to_string()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    let _ = connection.close().await;
    if verdict == "ok" { Ok(()) } else { Err(corrupt(verdict)) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{SqliteStorage, Storage, WriteOp};

    #[tokio::test]
    async fn the_copy_holds_what_was_committed_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tandem.db");
        let storage = SqliteStorage::open(&db).await.unwrap();
        let doc: Arc<str> = "notes".into();
        storage
            .commit(&[WriteOp::Append { doc: doc.clone(), update: vec![1, 2, 3] }])
            .await
            .unwrap();
        let copy = dir.path().join("backup.db");
        backup_sqlite(&db, &copy).await.unwrap();
        // The server keeps writing; the copy does not change.
        storage.commit(&[WriteOp::Append { doc: doc.clone(), update: vec![4] }]).await.unwrap();
        let restored = SqliteStorage::open(&copy).await.unwrap();
        assert_eq!(restored.load("notes").await.unwrap().updates, vec![vec![1, 2, 3]]);
        assert!(matches!(backup_sqlite(&db, &copy).await, Err(BackupError::Exists(_))));
        assert!(!partial_path(&copy).exists());
        let missing = backup_sqlite(&dir.path().join("absent.db"), &dir.path().join("b.db")).await;
        assert!(matches!(missing, Err(BackupError::Copy { .. })), "{missing:?}");
    }
}
