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
