//! Shared helpers for the end-to-end tests: start the real `tandem-server` binary
//! ([`TestServer`]), talk to it as a tandem client over a real websocket ([`TestClient`]), and
//! small utilities (HTTP GET, fresh PostgreSQL databases, skipping with a reason).
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use tandem_e2e::{ClientOptions, ServerOptions, TestClient, TestServer};
//!
//! let server = TestServer::start(ServerOptions::default()).await?;
//! let mut alice = TestClient::connect_synced(&server.ws_url("notes"), ClientOptions::default()).await?;
//! alice.insert(0, "hello").await?;
//! let mut bob = TestClient::connect_synced(&server.ws_url("notes"), ClientOptions::default()).await?;
//! bob.wait_text("hello").await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
mod server;

pub use client::{ClientOptions, Closed, TestClient};
pub use server::{ServerOptions, TestServer, http_get, server_binary};

use std::path::PathBuf;
use std::time::Duration;

/// How long helpers wait for something that should happen at once on a healthy machine (the
/// machine running the tests may be slow and shared).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Prints why a test does not run here; call it and return.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
}

/// Milliseconds since the unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A PostgreSQL database created for one test, from `TANDEM_TEST_DATABASE_URL`.
#[derive(Debug)]
pub struct PostgresDatabase {
    /// URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    /// Creates a fresh, uniquely named database next to the one `TANDEM_TEST_DATABASE_URL`
    /// names. `Ok(None)` (with the reason printed) when the variable is unset.
    pub async fn create(test: &str) -> anyhow::Result<Option<Self>> {
        use anyhow::Context;
        use sqlx::Connection;
        let Ok(admin_url) = std::env::var("TANDEM_TEST_DATABASE_URL") else {
            skip(test, "TANDEM_TEST_DATABASE_URL is not set (PostgreSQL tests need it)");
            return Ok(None);
        };
        let name = format!("tandem_test_{}_{}", std::process::id(), rand::random::<u32>());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .context("creating the test database")?;
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).context("TANDEM_TEST_DATABASE_URL")?;
        url.set_path(&name);
        Ok(Some(Self { url: url.to_string(), admin_url, name }))
    }

    /// Drops the database (call at the end of the test; a failed test leaves it for
    /// inspection).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}
