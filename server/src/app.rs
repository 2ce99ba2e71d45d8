//! [`App`]: the state every request and connection shares, and the checks made on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::Admission;
use crate::auth::{self, Access, AuthError, Grant};
use crate::config::Config;
use crate::history::History;
use crate::metrics::{Metrics, Rejection};
use crate::room::Rooms;
use crate::storage::{self, Storage, Writer};

/// State shared by every request and connection.
pub(crate) struct App {
    /// The server's configuration.
    pub config: Config,
    /// Loads, listings and health checks.
    pub storage: Arc<dyn Storage>,
    /// The one task every write goes through.
    pub writer: Writer,
    /// The loaded documents.
    pub rooms: Arc<Rooms>,
    /// The documents' version history.
    pub history: History,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Counts every socket, from its accept, up to `--max-connections`.
    pub admission: Arc<Admission>,
    /// Cancelled when the server stops: websockets close with "going away".
    pub shutdown: CancellationToken,
    /// The websocket tasks, awaited at shutdown.
    pub tracker: TaskTracker,
    /// The last connection number handed out.
    pub next_connection: AtomicU64,
}

impl App {
    /// A new connection number, for the logs.
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The `name` claim of a token [`App::authorize`] accepted: who its holder is in the
    /// version history. Without an auth key tokens are not checked, so their claims are not
    /// believed.
    pub fn author_claim(&self, token: Option<&str>) -> Option<String> {
        self.config.auth_key.as_ref()?;
        crate::auth::name_claim(token?)
    }

    /// Checks a request's token for `doc` (`""`: every document) and counts a refusal: the one
    /// check websockets and the API share. Returns what the token grants (its expiry among it);
    /// without an auth key access is open and never expires.
    pub fn authorize(&self, token: Option<&str>, doc: &str) -> Result<Grant, AuthError> {
        let result = match (&self.config.auth_key, token) {
            (None, _) => Ok(Grant {
                doc: String::new(),
                prefix: true,
                access: Access::ReadWrite,
                expires_at: None,
                name: None,
            }),
            (Some(_), None) => Err(AuthError::Missing),
            (Some(key), Some(token)) => auth::grant_by_any(
                std::iter::once(key).chain(&self.config.older_auth_keys),
                token,
                doc,
                storage::unix_ms() / 1000,
            ),
        };
        if result.is_err() {
            self.metrics.reject(Rejection::Auth);
        }
        result
    }
}
