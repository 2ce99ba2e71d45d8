//! Version history: every document's past, kept apart from its update log so that compaction
//! never touches it.
//!
//! A version is the document's whole text at a moment, with who edited since the version
//! before it. Versions are made
//! - automatically ([`VersionKind::Auto`]): when a room has changed and `--version-interval`
//!   has passed since its last version, when its last client leaves, and before a restore;
//! - on request ([`VersionKind::Named`]): `POST /api/docs/ID/versions`;
//! - by a restore ([`VersionKind::Restore`]): the text the restore made.
//!
//! Parts: [`pending`] tracks what a room owes its next version (pure), [`store`] keeps versions
//! in the server's database (SQLite or PostgreSQL; each version's text deflated), [`recorder`]
//! writes the versions rooms hand it and prunes old ones in the background by [`retention`]'s
//! rule (pure, time passed in), and [`api`] serves the REST endpoints. [`authorship`] credits
//! each Yjs client id of a document to an author, for `GET /api/docs/ID/authors`. A restore turns the
//! current text into the version's by the minimal change ([`tandem_crdt::diff`]), made as a
//! CRDT edit of the server's replica, so every client converges and concurrent edits survive.

pub(crate) mod api;
pub(crate) mod authorship;
pub(crate) mod pending;
pub(crate) mod recorder;
pub mod retention;
pub mod store;

use serde::{Deserialize, Serialize};

pub use recorder::History;
pub use store::{HistoryStore, NewVersion};

/// Why a version was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    /// Recorded by the server: an interval passed, the last client left, or a restore follows.
    Auto,
    /// Named by a user; kept forever.
    Named,
    /// Made by restoring an older version.
    Restore,
}

impl VersionKind {
    /// The name stored in the database (and sent in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Auto => "auto",
            VersionKind::Named => "named",
            VersionKind::Restore => "restore",
        }
    }

    /// The kind stored as `name`; `None` for a name this server does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(VersionKind::Auto),
            "named" => Some(VersionKind::Named),
            "restore" => Some(VersionKind::Restore),
            _ => None,
        }
    }
}

/// One recorded version, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Unique across the database, increasing with time.
    pub id: i64,
    /// When it was recorded, unix milliseconds.
    pub created_at_ms: i64,
    /// The name given to a named version.
    pub name: Option<String>,
    /// Who edited since the version before it (presence names or token `name` claims), sorted.
    pub authors: Vec<String>,
    /// Its length in chars.
    pub chars: i64,
    /// Why it was made.
    pub kind: VersionKind,
}
