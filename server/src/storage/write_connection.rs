//! [`WriteConnection`]: the writer's pooled connection, closed instead of reused after a
//! failed commit.
//!
//! After an error inside a transaction, the driver's idea of the connection's transaction state
//! and the database's may differ: on SQLite a `COMMIT` refused with SQLITE_FULL left sqlx
//! counting an open transaction that SQLite had rolled back (or the other way round), so the
//! next `begin` issued a `SAVEPOINT` and its "commit" a `RELEASE` inside a transaction that
//! never ended. Every later commit then reported success without storing anything, and the
//! server confirmed updates it had lost. A connection killed under PostgreSQL is in an unknown
//! state too. Closing the connection rolls back whatever it held; the pool opens a fresh one.

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
