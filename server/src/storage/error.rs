//! The storage error, in a module of its own so that what storage builds on (the history
//! store) can name it without importing the storage backends that build on it.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The SQLite database file could not be opened or migrated.
    #[error("cannot open database {}", path.display())]
    Open {
        /// The database file.
        path: std::path::PathBuf,
        /// Why.
        source: Box<StorageError>,
    },
    /// A batch of writes could not be committed (yet: the writer keeps it and retries).
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// The writer task is gone (the server is shutting down).
    #[error("storage writer stopped")]
    WriterStopped,
    /// Something stored does not decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}
