//! What a server is told at start: where to store documents, who may connect, and its limits.
//!
//! The binary fills a [`Config`] from flags and environment variables; tests build one with
//! [`Config::new`] and change the fields they care about.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::AuthKey;
use crate::tls::TlsFiles;

/// Default largest websocket message accepted from a client (8 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 << 20;
/// Default maximum number of simultaneous websocket connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default maximum number of documents open at once on one multiplexed connection.
pub const DEFAULT_MAX_DOCS_PER_CONNECTION: usize = 10_000;
/// Default sustained messages per second a connection may send (bursts of ten seconds' worth).
pub const DEFAULT_RATE_MESSAGES: u32 = 1_000;
/// Default sustained bytes per second a connection may send (bursts of ten seconds' worth).
pub const DEFAULT_RATE_BYTES: u64 = 16 << 20;
/// Default milliseconds of handling per second a connection's frames may cost (after a burst):
/// one core. Handling time is measured on the wall clock, so on a loaded machine (and in debug
/// builds, ten times slower) a lower default slowed ordinary heavy typists in the end-to-end
/// tests; operators who want expensive clients slowed sooner set it lower (250 stops the
/// hot-document attack of issue 18 at a few updates per second).
pub const DEFAULT_CPU_BUDGET_MS: u32 = 1_000;
/// Default number of frames that may wait for a slow reader before it is dropped.
pub const DEFAULT_MAX_QUEUED_MESSAGES: usize = 4_096;
/// Default bytes that may wait for a slow reader before it is dropped.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 32 << 20;
/// Default time a client has for its TLS handshake and for each request's headers.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a websocket may stay silent (not even answering pings) before it is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default quiet period after which a document without connections is unloaded.
pub const DEFAULT_IDLE_UNLOAD: Duration = Duration::from_secs(60);
/// Default interval at which the TLS certificate's files are checked for a renewal.
pub const DEFAULT_TLS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// Default number of logged updates after which a document's log is compacted into a snapshot.
pub const DEFAULT_COMPACT_AFTER_UPDATES: usize = 1_000;

/// Default time after a version of a changed document before the next automatic one.
pub const DEFAULT_VERSION_INTERVAL: Duration = Duration::from_secs(300);
/// Default interval between prunings of old versions.
pub const DEFAULT_HISTORY_PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Where documents are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite database file (WAL mode), created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host/db`).
    Postgres(String),
}

impl Database {
    /// The database a `--database-url` names, or `DATA_DIR/tandem.db` without one. Accepts
    /// `postgres://`, `postgresql://`, `sqlite://PATH` and `sqlite:PATH`.
    pub fn from_url(url: Option<&str>, data_dir: &std::path::Path) -> Result<Self, String> {
        let Some(url) = url else {
            return Ok(Database::Sqlite(data_dir.join("tandem.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err("sqlite URL without a path".into());
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        Err(format!("unsupported database URL (use postgres://... or sqlite://PATH): {url}"))
    }
}

/// Resource limits; every one protects the server from one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest websocket message (and frame) a client may send, in bytes.
    pub max_message_bytes: usize,
    /// Simultaneous connections, counted from their accept (a handshake in progress counts);
    /// lowered to what fits in the process's limit on open files. When every one is taken the
    /// oldest connection still in its handshake is closed to make room; when every one is a
    /// websocket, more are answered with 503.
    pub max_connections: usize,
    /// Documents open at once on one multiplexed connection (`/api/mux`), which counts once
    /// against `max_connections`; one more is refused with its own close (1013).
    pub max_docs_per_connection: usize,
    /// How long a client may take for its TLS handshake and for each request's headers
    /// (also how long a keep-alive HTTP connection may stay silent).
    pub handshake_timeout: Duration,
    /// How long a websocket may stay silent before it is closed; the server pings it three
    /// times in that span, and every client answers pings by itself.
    pub idle_timeout: Duration,
    /// Sustained messages per second per connection; a faster sender is slowed down (its socket is
    /// read more slowly), never disconnected.
    pub rate_messages: u32,
    /// Sustained bytes per second per connection, handled like `rate_messages`.
    pub rate_bytes: u64,
    /// Milliseconds of handling per second a connection's frames may cost the server (after a
    /// half-second burst); a connection over it is read more slowly, like `rate_messages`.
    pub cpu_budget_ms: u32,
    /// Frames that may wait to be sent to one connection; past that it is dropped as too slow.
    pub max_queued_messages: usize,
    /// Bytes that may wait to be sent to one connection; past that it is dropped as too slow.
    pub max_queued_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_docs_per_connection: DEFAULT_MAX_DOCS_PER_CONNECTION,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            rate_messages: DEFAULT_RATE_MESSAGES,
            rate_bytes: DEFAULT_RATE_BYTES,
            cpu_budget_ms: DEFAULT_CPU_BUDGET_MS,
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
        }
    }
}

/// Everything [`crate::run`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where documents live.
    pub database: Database,
    /// With a key, every connection needs a valid token; without one, access is open. This key
    /// mints tokens (share links).
    pub auth_key: Option<AuthKey>,
    /// Keys whose tokens are still honoured beside `auth_key`'s (key rotation): each token is
    /// checked with the key its id names, so removing a key here revokes its tokens.
    pub older_auth_keys: Vec<AuthKey>,
    /// Directory of the browser client's static files; `None` serves the client built into the
    /// binary (or, without one, a page saying how to get it).
    pub web_dir: Option<PathBuf>,
    /// Name of the root `Y.Text` (for `/api/docs/ID/text`).
    pub text_name: String,
    /// Resource limits.
    pub limits: Limits,
    /// A document with no connections for this long is saved and dropped from memory.
    pub idle_unload: Duration,
    /// A document's update log is compacted into a snapshot after this many updates.
    pub compact_after_updates: usize,
    /// How often rooms are checked for silent peers, compaction and idleness.
    pub maintenance_interval: Duration,
    /// Serve https and wss with this certificate; `None` serves plain http and ws.
    pub tls: Option<TlsFiles>,
    /// How often the certificate's files are checked for a renewal (SIGHUP reloads at once).
    pub tls_reload_interval: Duration,
    /// Behind one reverse proxy: log the client address it puts last in `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// A changed document gets an automatic version this long after its last one.
    pub version_interval: Duration,
    /// Every version is kept this long; older ones thin out ([`crate::history::retention`]).
    pub history_keep_all: Duration,
    /// How often old versions are pruned (also once at start).
    pub history_prune_interval: Duration,
}

impl Config {
    /// Defaults with the given database: open access, no web directory, default limits.
    pub fn new(database: Database) -> Self {
        Self {
            database,
            auth_key: None,
            older_auth_keys: Vec::new(),
            web_dir: None,
            text_name: tandem_crdt::DEFAULT_TEXT_NAME.to_owned(),
            limits: Limits::default(),
            idle_unload: DEFAULT_IDLE_UNLOAD,
            compact_after_updates: DEFAULT_COMPACT_AFTER_UPDATES,
            maintenance_interval: Duration::from_secs(1),
            tls: None,
            tls_reload_interval: DEFAULT_TLS_RELOAD_INTERVAL,
            trust_proxy: false,
            version_interval: DEFAULT_VERSION_INTERVAL,
            history_keep_all: crate::history::retention::DEFAULT_KEEP_ALL,
            history_prune_interval: DEFAULT_HISTORY_PRUNE_INTERVAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let dir = std::path::Path::new("/data");
        assert_eq!(Database::from_url(None, dir), Ok(Database::Sqlite("/data/tandem.db".into())));
        assert_eq!(
            Database::from_url(Some("sqlite:///tmp/x.db?mode=rwc"), dir),
            Ok(Database::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            Database::from_url(Some("postgres://u@h/db"), dir),
            Ok(Database::Postgres("postgres://u@h/db".into()))
        );
        assert!(Database::from_url(Some("mysql://x"), dir).is_err());
    }
}
