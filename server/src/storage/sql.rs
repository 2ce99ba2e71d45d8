//! What the two sqlx backends ([`super::SqliteStorage`], [`super::PostgresStorage`]) share:
//! the tables, the statements both accept (`$N` parameters, `ON CONFLICT ... DO UPDATE`),
//! the batching of appends into multi-row statements, and turning rows into results.
//!
//! Tables: `updates` (the log: autoincrement id, doc, data), `snapshots` (doc → compacted
//! state) and `documents` (doc → stored bytes and last change, for the listing); `versions`
//! (the history, [`crate::history`]) moves and goes with a renamed or deleted document.

use std::borrow::Cow;

use sqlx::database::HasStatementCache;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, QueryBuilder, SqlSafeStr, Type};

use super::{DocumentInfo, Relocated, Stamp, StoredDocument};

/// The snapshot (`part` 0) then the log (`part` 1) in one statement: one round trip, and one
/// statement reads one consistent state in both databases, so the two parts are from the same
/// moment without a transaction.
pub(super) const LOAD: &str = "SELECT state, 0 AS part, 0 AS id FROM snapshots WHERE doc = $1 \
     UNION ALL SELECT data, 1, id FROM updates WHERE doc = $1 ORDER BY part, id";
/// The parts of a [`super::Stamp`], from the indexes alone (`LENGTH` of a blob or bytea reads
/// its header, not its bytes).
const STAMP: &str = "SELECT (SELECT MAX(id) FROM updates WHERE doc = $1), \
     (SELECT updated_at FROM snapshots WHERE doc = $1), \
     (SELECT CAST(LENGTH(state) AS BIGINT) FROM snapshots WHERE doc = $1)";
pub(super) const APPEND: &str = "INSERT INTO updates (doc, data) ";
const TOUCH_AFTER_APPEND: &str = "INSERT INTO documents (id, stored_bytes, updated_at) ";
const TOUCH_AFTER_APPEND_CONFLICT: &str = " ON CONFLICT (id) DO UPDATE SET \
     stored_bytes = documents.stored_bytes + excluded.stored_bytes, updated_at = excluded.updated_at";
const PUT_SNAPSHOT: &str = "INSERT INTO snapshots (doc, state, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (doc) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at";
const TOUCH_AFTER_SNAPSHOT: &str = "INSERT INTO documents (id, stored_bytes, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET stored_bytes = excluded.stored_bytes";
const LIST: &str = "SELECT id, stored_bytes, updated_at FROM documents ORDER BY id";
const EXISTS: &str = "SELECT COUNT(*) FROM documents WHERE id = $1";
/// What moving a document from `$1` to `$2` changes: its log, its snapshot, its listing.
/// The version history (`versions`, migration 2) and its authors (`authors`, migration 3) go
/// along.
const RENAME: [&str; 5] = [
    "UPDATE updates SET doc = $2 WHERE doc = $1",
    "UPDATE snapshots SET doc = $2 WHERE doc = $1",
    "UPDATE documents SET id = $2 WHERE id = $1",
    "UPDATE versions SET doc = $2 WHERE doc = $1",
    "UPDATE authors SET doc = $2 WHERE doc = $1",
];
/// What deleting document `$1` removes, its version history and authors included.
const DELETE: [&str; 5] = [
    "DELETE FROM updates WHERE doc = $1",
    "DELETE FROM snapshots WHERE doc = $1",
    "DELETE FROM documents WHERE id = $1",
    "DELETE FROM versions WHERE doc = $1",
    "DELETE FROM authors WHERE doc = $1",
];
const PING: &str = "SELECT 1";

/// Rows per multi-row statement: under SQLite's limit of 32,766 bound variables (and
/// PostgreSQL's 65,535) at 3 variables per row.
pub(super) const ROWS_PER_STATEMENT: usize = 4_096;

/// A row of [`LOAD`]: data, part (0 snapshot, 1 log), log id.
pub(super) type LoadRow = (Vec<u8>, i32, i64);

/// The schema migrations of a backend: its tables, then the version history's and its
/// authors' ([`crate::history::store`]).
pub(super) fn migrator(schema: &'static str, history_schema: &'static str) -> Migrator {
    let migration = |version, description, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(description),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(1, "documents, snapshots and the update log", schema),
        migration(2, "version history", history_schema),
        migration(3, "authors of the text", crate::history::store::AUTHORS_SCHEMA),
    ])
}

/// Everything stored for `doc`, read in one statement.
pub(super) async fn load<DB>(pool: &Pool<DB>, doc: &str) -> Result<StoredDocument, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    LoadRow: for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let rows: Vec<LoadRow> = sqlx::query_as(LOAD).bind(doc).fetch_all(pool).await?;
    Ok(stored_document(rows))
}

/// The stamp of what is stored for `doc`.
pub(super) async fn stamp<DB>(pool: &Pool<DB>, doc: &str) -> Result<Option<Stamp>, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    (Option<i64>, Option<i64>, Option<i64>): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let (last_update, snapshot_at, snapshot_bytes) =
        sqlx::query_as(STAMP).bind(doc).fetch_one(pool).await?;
    Ok(Stamp::of(last_update, snapshot_at, snapshot_bytes))
}

/// Every stored document, by id.
pub(super) async fn list<DB>(pool: &Pool<DB>) -> Result<Vec<DocumentInfo>, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    (String, i64, i64): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(LIST).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, stored_bytes, updated_at_ms)| DocumentInfo { id, stored_bytes, updated_at_ms })
        .collect())
}

/// Checks that the database answers.
pub(super) async fn ping<DB>(pool: &Pool<DB>) -> Result<(), sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::query::<DB>(PING).execute(pool).await?;
    Ok(())
}

/// A stored document from the rows of [`LOAD`].
pub(super) fn stored_document(rows: Vec<LoadRow>) -> StoredDocument {
    let mut snapshot = None;
    let mut updates = Vec::with_capacity(rows.len());
    for (data, part, _) in rows {
        if part == 0 {
            snapshot = Some(data);
        } else {
            updates.push(data);
        }
    }
    StoredDocument { snapshot, updates }
}

/// Consecutive appends of one commit, written with one multi-row `INSERT` into the log (per
/// [`ROWS_PER_STATEMENT`] rows) and one upsert of the `documents` rows: a statement per update
/// made the writer wait on a round trip to the database per update.
#[derive(Default)]
pub(super) struct AppendRun<'a> {
    pub(super) updates: Vec<(&'a str, &'a [u8])>,
    /// Bytes appended per document, in first-seen order.
    pub(super) documents: Vec<(&'a str, i64)>,
}

impl<'a> AppendRun<'a> {
    pub(super) fn push(&mut self, doc: &'a str, update: &'a [u8]) {
        if update == tandem_crdt::EMPTY_UPDATE {
            return;
        }
        self.updates.push((doc, update));
        // Commits hold few documents compared with updates; a linear search beats hashing.
        match self.documents.iter_mut().find(|(id, _)| *id == doc) {
            Some((_, bytes)) => *bytes += update.len() as i64,
            None => self.documents.push((doc, update.len() as i64)),
        }
    }

    /// The multi-row `INSERT`s of the run's updates: `start`, the values, then `end`.
    pub(super) fn inserts<DB>(&self, start: &str, end: &str) -> Vec<QueryBuilder<DB>>
    where
        DB: Database,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
    {
        self.updates
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| {
                let mut insert = QueryBuilder::<DB>::new(start);
                insert.push_values(chunk, |mut row, (doc, update)| {
                    row.push_bind(*doc).push_bind(*update);
                });
                insert.push(end);
                insert
            })
            .collect()
    }

    /// Upserts the `documents` rows of the run's appends and empties the run.
    pub(super) async fn touch_documents<DB>(
        &mut self,
        tx: &mut DB::Connection,
        now: i64,
    ) -> Result<(), sqlx::Error>
    where
        DB: Database + HasStatementCache,
        DB::Arguments: IntoArguments<DB>,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        i64: for<'t> Encode<'t, DB> + Type<DB>,
    {
        // In id order, like PostgreSQL's `lock_documents`: rows created by this statement are
        // locked by it, in this order.
        self.documents.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for chunk in self.documents.chunks(ROWS_PER_STATEMENT) {
            let mut touch = QueryBuilder::<DB>::new(TOUCH_AFTER_APPEND);
            touch.push_values(chunk, |mut row, (doc, bytes)| {
                row.push_bind(*doc).push_bind(*bytes).push_bind(now);
            });
            touch.push(TOUCH_AFTER_APPEND_CONFLICT);
            // Row counts vary per commit: keep them out of the prepared-statement cache.
            touch.build().persistent(false).execute(&mut *tx).await?;
        }
        self.updates.clear();
        self.documents.clear();
        Ok(())
    }
}

/// Stores `state` as `doc`'s snapshot and its size as the document's (the log it replaces is
/// the caller's to drop).
pub(super) async fn put_snapshot<DB>(
    tx: &mut DB::Connection,
    doc: &str,
    state: &[u8],
    now: i64,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
{
    sqlx::query::<DB>(PUT_SNAPSHOT).bind(doc).bind(state).bind(now).execute(&mut *tx).await?;
    sqlx::query::<DB>(TOUCH_AFTER_SNAPSHOT)
        .bind(doc)
        .bind(state.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether `doc` is stored (it has a `documents` row: every append and snapshot makes one).
async fn exists<DB>(tx: &mut DB::Connection, doc: &str) -> Result<bool, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let (count,): (i64,) = sqlx::query_as(EXISTS).bind(doc).fetch_one(&mut *tx).await?;
    Ok(count > 0)
}

/// Moves `from`'s rows to `to`, inside the caller's transaction.
pub(super) async fn rename<DB>(
    tx: &mut DB::Connection,
    from: &str,
    to: &str,
) -> Result<Relocated, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    if !exists::<DB>(tx, from).await? {
        return Ok(Relocated::NoSuchDocument);
    }
    if exists::<DB>(tx, to).await? {
        return Ok(Relocated::TargetTaken);
    }
    for statement in RENAME {
        sqlx::query::<DB>(statement).bind(from).bind(to).execute(&mut *tx).await?;
    }
    Ok(Relocated::Done)
}

/// Removes every row of `doc`, inside the caller's transaction.
pub(super) async fn delete<DB>(tx: &mut DB::Connection, doc: &str) -> Result<Relocated, sqlx::Error>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    if !exists::<DB>(tx, doc).await? {
        return Ok(Relocated::NoSuchDocument);
    }
    for statement in DELETE {
        sqlx::query::<DB>(statement).bind(doc).execute(&mut *tx).await?;
    }
    Ok(Relocated::Done)
}

/// A statement `start (item, item, ...) end` over a list of bound items.
pub(super) fn list_statement<DB, T>(start: &str, items: &[T], end: &str) -> QueryBuilder<DB>
where
    DB: Database,
    T: Copy + for<'t> Encode<'t, DB> + Type<DB>,
{
    let mut statement = QueryBuilder::<DB>::new(start);
    statement.push("(");
    let mut list = statement.separated(", ");
    for item in items {
        list.push_bind(*item);
    }
    statement.push(")");
    statement.push(end);
    statement
}

#[cfg(test)]
pub(super) mod tests {
    //! Tests every backend runs.

    use std::sync::Arc;

    use super::super::{Storage, WriteOp};
    use super::*;

    /// Renaming moves the log and snapshot and listing; deleting removes them; neither touches
    /// another document.
    pub(crate) async fn rename_and_delete(storage: &dyn Storage) {
        let (_, a) = typed(1, "alpha");
        let (_, b) = typed(2, "beta");
        storage.commit(&[append("a", &a), append("b", &b)]).await.unwrap();
        storage
            .commit(&[WriteOp::Snapshot { doc: Arc::from("b"), state: b.clone() }])
            .await
            .unwrap();
        assert_eq!(storage.rename("a", "b").await.unwrap(), Relocated::TargetTaken);
        assert_eq!(storage.rename("zz", "c").await.unwrap(), Relocated::NoSuchDocument);
        assert_eq!(storage.rename("a", "文/c").await.unwrap(), Relocated::Done);
        assert!(storage.load("a").await.unwrap().is_empty());
        assert_eq!(stored_text(&storage.load("文/c").await.unwrap()), "alpha");
        assert_eq!(storage.rename("b", "a").await.unwrap(), Relocated::Done, "a is free again");
        assert_eq!(stored_text(&storage.load("a").await.unwrap()), "beta");
        assert_eq!(storage.delete("a").await.unwrap(), Relocated::Done);
        assert_eq!(storage.delete("a").await.unwrap(), Relocated::NoSuchDocument);
        assert!(storage.load("a").await.unwrap().is_empty());
        let ids: Vec<String> = storage.list().await.unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["文/c"]);
    }

    pub(crate) fn append(doc: &str, update: &[u8]) -> WriteOp {
        WriteOp::Append { doc: Arc::from(doc), update: update.to_vec() }
    }

    /// Log, snapshot, listing and a commit larger than one multi-row statement, on any backend.
    pub(crate) async fn log_snapshot_and_listing(storage: &dyn Storage) {
        assert!(storage.load("a").await.unwrap().is_empty());

        let (mut replica, one) = typed(1, "one");
        let two = replica.insert(3, " two", 0).unwrap();
        storage.commit(&[append("a", &one), append("b", b"x"), append("a", &two)]).await.unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot, None);
        assert_eq!(loaded.updates, vec![one, two]);

        // The snapshot drops only what was appended before it in the same commit.
        let lost = replica.insert(0, ">", 0).unwrap();
        let state = replica.encode_state();
        let snapshot = WriteOp::Snapshot { doc: Arc::from("a"), state: state.clone() };
        let three = replica.insert(0, "3", 0).unwrap();
        let empty = append("a", tandem_crdt::EMPTY_UPDATE);
        storage.commit(&[append("a", &lost), snapshot, append("a", &three), empty]).await.unwrap();
        let loaded = storage.load("a").await.unwrap();
        assert_eq!(loaded.snapshot.as_deref(), Some(&state[..]));
        assert_eq!(loaded.updates, vec![three.clone()]);
        assert_eq!(stored_text(&loaded), "3>one two");

        // More rows than one statement holds, interleaved over two documents, keep their order.
        let many: Vec<WriteOp> = (0..ROWS_PER_STATEMENT * 2 + 7)
            .map(|i| append(if i % 3 == 0 { "c" } else { "d" }, i.to_string().as_bytes()))
            .collect();
        storage.commit(&many).await.unwrap();
        let expected = |doc: &str| -> Vec<Vec<u8>> {
            many.iter()
                .filter_map(|op| match op {
                    WriteOp::Append { doc: d, update } if &**d == doc => Some(update.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(storage.load("c").await.unwrap().updates, expected("c"));
        assert_eq!(storage.load("d").await.unwrap().updates, expected("d"));

        let list = storage.list().await.unwrap();
        let sizes: Vec<(&str, i64)> =
            list.iter().map(|d| (d.id.as_str(), d.stored_bytes)).collect();
        let bytes = |doc: &str| expected(doc).iter().map(|u| u.len() as i64).sum::<i64>();
        let a = (state.len() + three.len()) as i64;
        assert_eq!(sizes, vec![("a", a), ("b", 1), ("c", bytes("c")), ("d", bytes("d"))]);

        // Every append and every compaction gives a document a new stamp; other documents'
        // writes leave it.
        assert_eq!(storage.stamp("s").await.unwrap(), None);
        let (mut replica, first) = typed(3, "s");
        storage.commit(&[append("s", &first)]).await.unwrap();
        let mut seen = vec![storage.stamp("s").await.unwrap()];
        storage.commit(&[append("t", b"x")]).await.unwrap();
        assert_eq!(storage.stamp("s").await.unwrap(), seen[0]);
        let snapshot = |replica: &tandem_crdt::Document| WriteOp::Snapshot {
            doc: Arc::from("s"),
            state: replica.encode_state(),
        };
        storage.commit(&[snapshot(&replica)]).await.unwrap();
        seen.push(storage.stamp("s").await.unwrap());
        storage.commit(&[append("s", &replica.insert(0, ">", 0).unwrap())]).await.unwrap();
        seen.push(storage.stamp("s").await.unwrap());
        storage.commit(&[snapshot(&replica)]).await.unwrap();
        seen.push(storage.stamp("s").await.unwrap());
        assert!(seen.iter().all(Option::is_some), "{seen:?}");
        for (i, stamp) in seen.iter().enumerate() {
            assert!(!seen[..i].contains(stamp), "stamp {i} seen before: {seen:?}");
        }
        storage.ping().await.unwrap();
        storage.close().await;
    }

    /// A replica that typed `text` (its id fixed so that texts order predictably).
    pub(crate) fn typed(client: u64, text: &str) -> (tandem_crdt::Document, Vec<u8>) {
        let config = tandem_crdt::DocumentConfig {
            track_deltas: false,
            ..tandem_crdt::DocumentConfig::new(client)
        };
        let mut document = tandem_crdt::Document::new(config).unwrap();
        let update = document.insert(0, text, 0).unwrap();
        (document, update)
    }

    pub(crate) fn stored_text(stored: &StoredDocument) -> String {
        let mut document = typed(99, "").0;
        for update in stored.snapshot.iter().chain(&stored.updates) {
            document.apply_update(update).unwrap();
        }
        document.text()
    }
}
