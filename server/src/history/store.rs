//! [`HistoryStore`]: versions in the server's own database, in a `versions` table beside the
//! update log (so compacting the log never touches them). Each row holds the version's whole
//! text, deflated, and its SHA-256, so an automatic version identical to the last one is not
//! stored twice (two servers sharing a PostgreSQL database both see a document change).
//!
//! Full texts rather than deltas: reading any version is one row and one inflate, and
//! pruning drops rows independently. BENCHMARKS.md records the bytes this costs.

use std::collections::HashMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::{Version, VersionKind};
use crate::storage::error::StorageError;

/// The `versions` table in SQLite (migration 2).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE versions (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, created_at INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT, authors TEXT NOT NULL, chars INTEGER NOT NULL, digest BLOB NOT NULL, body BLOB NOT NULL);
CREATE INDEX versions_by_doc ON versions (doc, id);
";
/// The `versions` table in PostgreSQL (migration 2).
pub(crate) const POSTGRES_SCHEMA: &str = "
CREATE TABLE versions (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, doc TEXT NOT NULL, created_at BIGINT NOT NULL, kind TEXT NOT NULL, name TEXT, authors TEXT NOT NULL, chars BIGINT NOT NULL, digest BYTEA NOT NULL, body BYTEA NOT NULL);
CREATE INDEX versions_by_doc ON versions (doc, id);
";

/// The `authors` table (migration 3; the same statement in SQLite and PostgreSQL): the name
/// each Yjs client id of a document is credited to ([`super::authorship`]).
pub(crate) const AUTHORS_SCHEMA: &str = "
CREATE TABLE authors (doc TEXT NOT NULL, client BIGINT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (doc, client));
";

const LATEST: &str =
    "SELECT id, kind, authors, digest FROM versions WHERE doc = $1 ORDER BY id DESC LIMIT 1";
const SET_AUTHORS: &str = "UPDATE versions SET authors = $1 WHERE id = $2";
const INSERT: &str = "INSERT INTO versions (doc, created_at, kind, name, authors, chars, digest, body) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
const LIST: &str = "SELECT id, created_at, kind, name, authors, chars FROM versions \
     WHERE doc = $1 ORDER BY id DESC";
const BODY: &str = "SELECT body FROM versions WHERE doc = $1 AND id = $2";
const DOCUMENTS: &str = "SELECT DISTINCT doc FROM versions";
const DELETE: &str = "DELETE FROM versions WHERE doc = $1 AND id = $2";
/// The first name stored for a client id stays (a relayed update credits nobody new).
const ADD_AUTHOR: &str = "INSERT INTO authors (doc, client, name) VALUES ($1, $2, $3) ON CONFLICT (doc, client) DO NOTHING";
const AUTHORS: &str = "SELECT client, name FROM authors WHERE doc = $1";

/// A version about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    /// Why it is made.
    pub kind: VersionKind,
    /// A named version's name.
    pub name: Option<String>,
    /// Who edited since the version before it.
    pub authors: Vec<String>,
    /// The document's text.
    pub text: String,
    /// When, unix milliseconds.
    pub created_at_ms: i64,
}

/// Where versions are kept.
pub trait HistoryStore: Send + Sync + 'static {
    /// Stores `version` of `doc` and returns it as listed. With `unless_unchanged`, nothing is
    /// stored (and `None` returned) when the document's latest version has the same text; if
    /// that one is automatic it gains `version`'s authors (two servers sharing a database
    /// each record the same change, each with its own clients as authors).
    fn record<'a>(
        &'a self,
        doc: &'a str,
        version: &'a NewVersion,
        unless_unchanged: bool,
    ) -> BoxFuture<'a, Result<Option<Version>, StorageError>>;
    /// Every version of `doc`, newest first.
    fn list<'a>(&'a self, doc: &'a str) -> BoxFuture<'a, Result<Vec<Version>, StorageError>>;
    /// The text of version `id` of `doc`; `None` if `doc` has no such version.
    fn text<'a>(
        &'a self,
        doc: &'a str,
        id: i64,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>>;
    /// Every document that has versions.
    fn documents(&self) -> BoxFuture<'_, Result<Vec<String>, StorageError>>;
    /// Drops versions `ids` of `doc` (in one transaction).
    fn delete<'a>(
        &'a self,
        doc: &'a str,
        ids: &'a [i64],
    ) -> BoxFuture<'a, Result<(), StorageError>>;
    /// Credits `doc`'s client ids to names (in one transaction); a client id that has a name
    /// keeps it.
    fn add_authors<'a>(
        &'a self,
        doc: &'a str,
        names: &'a [(u64, String)],
    ) -> BoxFuture<'a, Result<(), StorageError>>;
    /// The name of every client id of `doc` that has one.
    fn authors<'a>(
        &'a self,
        doc: &'a str,
    ) -> BoxFuture<'a, Result<HashMap<u64, String>, StorageError>>;
}

/// A row of [`LIST`].
type ListRow = (i64, i64, String, Option<String>, String, i64);

fn version_from_row((id, created_at_ms, kind, name, authors, chars): ListRow) -> Version {
    Version {
        id,
        created_at_ms,
        name,
        // Written by this module as a JSON array of strings; anything else reads as none.
        authors: serde_json::from_str(&authors).unwrap_or_default(),
        chars,
        // A kind from a newer server reads as automatic.
        kind: VersionKind::parse(&kind).unwrap_or(VersionKind::Auto),
    }
}

/// Both lists' names, sorted, once each.
fn merge_authors(a: &[String], b: &[String]) -> Vec<String> {
    let mut all: Vec<String> = a.iter().chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn deflate(text: &str) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(text.len() / 3), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

fn inflate(body: &[u8]) -> Result<String, StorageError> {
    let mut text = String::with_capacity(body.len() * 3);
    DeflateDecoder::new(body).read_to_string(&mut text).map_err(|error| {
        StorageError::Corrupt(format!("a stored version does not inflate: {error}"))
    })?;
    Ok(text)
}

/// A [`HistoryStore`] over one sqlx pool type: both backends accept the same statements.
macro_rules! sql_history_store {
    ($name:ident, $pool:ty, $db:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            /// Reads.
            reader: $pool,
            /// Writes (SQLite: the one write connection, which it shares with the log's writer).
            writer: $pool,
        }

        impl $name {
            /// Versions in the database of these pools (already migrated by the storage).
            pub fn new(reader: $pool, writer: $pool) -> Self {
                Self { reader, writer }
            }
        }

        impl HistoryStore for $name {
            fn record<'a>(
                &'a self,
                doc: &'a str,
                version: &'a NewVersion,
                unless_unchanged: bool,
            ) -> BoxFuture<'a, Result<Option<Version>, StorageError>> {
                Box::pin(async move {
                    let digest = digest(&version.text);
                    if unless_unchanged {
                        let latest: Option<(i64, String, String, Vec<u8>)> =
                            sqlx::query_as(LATEST).bind(doc).fetch_optional(&self.writer).await?;
                        if let Some((id, kind, authors, latest)) = latest
                            && latest == digest
                        {
                            let known: Vec<String> =
                                serde_json::from_str(&authors).unwrap_or_default();
                            let merged = merge_authors(&known, &version.authors);
                            if kind == VersionKind::Auto.as_str() && merged != known {
                                sqlx::query(SET_AUTHORS)
                                    .bind(serde_json::to_string(&merged).unwrap_or_default())
                                    .bind(id)
                                    .execute(&self.writer)
                                    .await?;
                            }
                            return Ok(None);
                        }
                    }
                    let chars = version.text.chars().count() as i64;
                    let authors = serde_json::to_string(&version.authors).unwrap_or_default();
                    let (id,): (i64,) = sqlx::query_as::<$db, (i64,)>(INSERT)
                        .bind(doc)
                        .bind(version.created_at_ms)
                        .bind(version.kind.as_str())
                        .bind(version.name.as_deref())
                        .bind(&authors)
                        .bind(chars)
                        .bind(&digest)
                        .bind(deflate(&version.text))
                        .fetch_one(&self.writer)
                        .await?;
                    Ok(Some(Version {
                        id,
                        created_at_ms: version.created_at_ms,
                        name: version.name.clone(),
                        authors: version.authors.clone(),
                        chars,
                        kind: version.kind,
                    }))
                })
            }

            fn list<'a>(
                &'a self,
                doc: &'a str,
            ) -> BoxFuture<'a, Result<Vec<Version>, StorageError>> {
                Box::pin(async move {
                    let rows: Vec<ListRow> =
                        sqlx::query_as(LIST).bind(doc).fetch_all(&self.reader).await?;
                    Ok(rows.into_iter().map(version_from_row).collect())
                })
            }

            fn text<'a>(
                &'a self,
                doc: &'a str,
                id: i64,
            ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
                Box::pin(async move {
                    let row: Option<(Vec<u8>,)> = sqlx::query_as(BODY)
                        .bind(doc)
                        .bind(id)
                        .fetch_optional(&self.reader)
                        .await?;
                    row.map(|(body,)| inflate(&body)).transpose()
                })
            }

            fn documents(&self) -> BoxFuture<'_, Result<Vec<String>, StorageError>> {
                Box::pin(async move {
                    let rows: Vec<(String,)> =
                        sqlx::query_as(DOCUMENTS).fetch_all(&self.reader).await?;
                    Ok(rows.into_iter().map(|(doc,)| doc).collect())
                })
            }

            fn delete<'a>(
                &'a self,
                doc: &'a str,
                ids: &'a [i64],
            ) -> BoxFuture<'a, Result<(), StorageError>> {
                Box::pin(async move {
                    let mut tx = self.writer.begin().await?;
                    for id in ids {
                        sqlx::query(DELETE).bind(doc).bind(id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn add_authors<'a>(
                &'a self,
                doc: &'a str,
                names: &'a [(u64, String)],
            ) -> BoxFuture<'a, Result<(), StorageError>> {
                Box::pin(async move {
                    let mut tx = self.writer.begin().await?;
                    for (client, name) in names {
                        // Client ids are at most 53 bits (tandem_crdt::MAX_CLIENT_ID).
                        sqlx::query(ADD_AUTHOR)
                            .bind(doc)
                            .bind(*client as i64)
                            .bind(name)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn authors<'a>(
                &'a self,
                doc: &'a str,
            ) -> BoxFuture<'a, Result<HashMap<u64, String>, StorageError>> {
                Box::pin(async move {
                    let rows: Vec<(i64, String)> =
                        sqlx::query_as(AUTHORS).bind(doc).fetch_all(&self.reader).await?;
                    Ok(rows.into_iter().map(|(client, name)| (client as u64, name)).collect())
                })
            }
        }
    };
}

sql_history_store!(
    SqliteHistory,
    sqlx::SqlitePool,
    sqlx::Sqlite,
    "Versions in the SQLite database file."
);
sql_history_store!(
    PostgresHistory,
    sqlx::PgPool,
    sqlx::Postgres,
    "Versions in a PostgreSQL database several servers may share."
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    fn new_version(kind: VersionKind, text: &str, at: i64) -> NewVersion {
        NewVersion {
            kind,
            name: (kind == VersionKind::Named).then(|| "v1".to_owned()),
            authors: vec!["ada".into(), "bob".into()],
            text: text.into(),
            created_at_ms: at,
        }
    }

    /// Recording, listing, reading and deleting on any backend.
    pub(crate) async fn record_list_read_delete(store: &dyn HistoryStore) {
        let doc = "notes/a";
        assert!(store.list(doc).await.unwrap().is_empty());
        let text = "héllo 👋\n".repeat(1000);
        let first =
            store.record(doc, &new_version(VersionKind::Auto, &text, 10), true).await.unwrap();
        let first = first.expect("recorded");
        assert_eq!(first.chars, 8000);
        let mut again = new_version(VersionKind::Auto, &text, 11);
        again.authors = vec!["cy".into()];
        assert_eq!(
            store.record(doc, &again, true).await.unwrap(),
            None,
            "the same text again is not stored"
        );
        let first = Version { authors: vec!["ada".into(), "bob".into(), "cy".into()], ..first };
        let named =
            store.record(doc, &new_version(VersionKind::Named, &text, 12), false).await.unwrap();
        let named = named.expect("a named version is stored even when unchanged");
        store.record("other", &new_version(VersionKind::Auto, "x", 13), true).await.unwrap();

        let listed = store.list(doc).await.unwrap();
        assert_eq!(listed, vec![named.clone(), first.clone()], "newest first");
        assert_eq!(listed[0].name.as_deref(), Some("v1"));
        assert_eq!(listed[0].authors, vec!["ada".to_owned(), "bob".to_owned()]);
        assert_eq!(listed[1].authors, first.authors, "the same text's authors are merged in");
        assert_eq!(store.text(doc, first.id).await.unwrap().as_deref(), Some(&text[..]));
        assert_eq!(store.text("other", first.id).await.unwrap(), None, "another document's id");
        assert_eq!(store.text(doc, 999_999).await.unwrap(), None);
        let mut docs = store.documents().await.unwrap();
        docs.sort();
        assert_eq!(docs, vec!["notes/a".to_owned(), "other".to_owned()]);

        store.delete(doc, &[first.id]).await.unwrap();
        assert_eq!(store.list(doc).await.unwrap(), vec![named]);
    }

    /// Authors' names on any backend: the first name of a client id stays.
    pub(crate) async fn authors_keep_their_first_name(store: &dyn HistoryStore) {
        let doc = "notes/a";
        assert!(store.authors(doc).await.unwrap().is_empty());
        let big = tandem_crdt::MAX_CLIENT_ID;
        store.add_authors(doc, &[(1, "ada".into()), (big, "bob".into())]).await.unwrap();
        store.add_authors(doc, &[(1, "mallory".into()), (2, "cy".into())]).await.unwrap();
        store.add_authors("other", &[(3, "dee".into())]).await.unwrap();
        let expected: HashMap<u64, String> =
            [(1, "ada".into()), (big, "bob".into()), (2, "cy".into())].into();
        assert_eq!(store.authors(doc).await.unwrap(), expected);
    }

    #[tokio::test]
    async fn sqlite_versions() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("t.db")).await.unwrap();
        record_list_read_delete(&*storage.history()).await;
        authors_keep_their_first_name(&*storage.history()).await;
    }

    #[test]
    fn a_text_deflates_and_inflates_back() {
        let text = "fn main() {}\n".repeat(100);
        let body = deflate(&text);
        assert!(body.len() < text.len() / 10);
        assert_eq!(inflate(&body).unwrap(), text);
        assert!(inflate(b"not deflate").is_err());
    }
}
