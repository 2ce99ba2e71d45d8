//! [`WriteConnection`]: the writer's pooled connection, closed instead of reused after a
//! failed commit.
//!
//! After an error inside a transaction, the driver's idea of the connection's transaction state
//! and the database's may differ: SQLite may or may not have rolled the transaction back on
//! SQLITE_FULL, and sqlx counts nested transactions itself (a connection it believes is still
//! inside one gets a `SAVEPOINT` for its next `begin` and a `RELEASE` for its "commit"). On a
//! full disk a second connection's `BEGIN IMMEDIATE` got "database is locked" while the writer
//! kept reporting commits: a transaction was left open. A connection killed under PostgreSQL
//! is in an unknown state too. Closing the connection rolls back whatever it held, and the pool
//! opens a fresh one, so no later commit runs inside a transaction nobody will end.
//!
//! Observed with sqlx 0.9: with `Pool::begin` (the transaction owning the pooled connection),
//! commits after the first SQLITE_FULL reported success and stored nothing (the test below:
//! 199 reported, 192 missing). With the transaction begun on a connection held here, every
//! commit after SQLITE_FULL failed honestly, even without the close; the close stays because
//! the driver's state after a failed transaction is not something to rely on.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};

/// A connection from the writer's pool that is closed on drop unless [`Self::committed`] was
/// called: every early return on an error discards it.
pub(super) struct WriteConnection<DB: Database> {
    connection: PoolConnection<DB>,
    committed: bool,
}

impl<DB: Database> WriteConnection<DB> {
    /// A connection outside any transaction: one that still counts an open transaction (it
    /// should never happen, since failures close it) is closed and another one taken.
    pub(super) async fn acquire(pool: &Pool<DB>) -> Result<Self, sqlx::Error> {
        loop {
            let mut connection = pool.acquire().await?;
            if !connection.is_in_transaction() {
                return Ok(Self { connection, committed: false });
            }
            tracing::warn!("discarding a writer connection left inside a transaction");
            connection.close_on_drop();
        }
    }

    /// The transaction on it committed: the connection may go back to the pool.
    pub(super) fn committed(mut self) {
        self.committed = true;
    }
}

impl<DB: Database> Deref for WriteConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.connection
    }
}

impl<DB: Database> DerefMut for WriteConnection<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.connection
    }
}

impl<DB: Database> Drop for WriteConnection<DB> {
    fn drop(&mut self) {
        if !self.committed {
            self.connection.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::storage::{SqliteStorage, Storage, WriteOp};

    /// Every commit that reported success on a filling disk is there for a fresh connection,
    /// and so is the first one after space returns.
    #[tokio::test]
    async fn issue_18_a_commit_reported_after_sqlite_full_is_stored() {
        let test = "issue_18_a_commit_reported_after_sqlite_full_is_stored";
        let Some(disk) = tandem_e2e::Tmpfs::mount(test, "1m") else { return };
        let path = disk.path().join("t.db");
        let storage = SqliteStorage::open(&path).await.unwrap();
        disk.fill("filler", 200 * 1024);
        let append = |i: usize| WriteOp::Append {
            doc: Arc::from("doc"),
            update: format!("<{i}>{}", "x".repeat(8 * 1024)).into_bytes(),
        };
        let mut stored = Vec::new();
        let mut refused = 0;
        for i in 0..200 {
            match storage.commit(&[append(i)]).await {
                Ok(()) => stored.push(i),
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 0, "the disk never filled");
        std::fs::remove_file(disk.path().join("filler")).unwrap();
        storage.commit(&[append(1_000)]).await.unwrap();
        stored.push(1_000);
        storage.close().await;

        let fresh = SqliteStorage::open(&path).await.unwrap();
        let log = fresh.load("doc").await.unwrap().updates;
        let missing: Vec<usize> = stored
            .iter()
            .copied()
            .filter(|i| !log.iter().any(|u| u.starts_with(format!("<{i}>").as_bytes())))
            .collect();
        eprintln!(
            "{} commits reported, {refused} refused, {} missing",
            stored.len(),
            missing.len()
        );
        assert!(missing.is_empty(), "reported committed but not stored: {missing:?}");
        fresh.close().await;
    }
}
