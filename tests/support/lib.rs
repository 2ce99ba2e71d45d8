//! Shared helpers for the end-to-end tests: start the real `tandem-server` binary
//! ([`TestServer`]), talk to it as a tandem client over a real websocket ([`TestClient`]), and
//! small utilities (HTTP GET, fresh PostgreSQL databases, [`require_or_skip`]).
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
mod haproxy;
mod hot;
mod mux;
mod nginx;
mod pki;
mod raw_ws;
mod server;
mod tmpfs;

pub use client::{ClientOptions, Closed, TestClient};
pub use haproxy::{Balance, Haproxy, haproxy_binary};
pub use hot::{HotAttack, HotAttackReport, percentile, seed_update};
pub use mux::{MuxDocument, MuxTestClient};
pub use nginx::{Nginx, nginx_binary};
pub use pki::{ServerCert, TestCa, TlsFiles, Validity};
pub use raw_ws::RawWebSocket;
pub use server::{
    ServerOptions, TestServer, http_get, http_post, http_request, https_get, presented_certificate,
    server_binary, workspace_binary,
};
pub use tandem_require::require_or_skip;
pub use tmpfs::Tmpfs;

use std::path::PathBuf;
use std::time::Duration;

/// How long helpers wait for something that should happen at once on a healthy machine (the
/// machine running the tests may be slow and shared).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether `node` runs here; when it does not, reports it with [`require_or_skip`].
pub fn node_available(test: &str) -> bool {
    let ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !ok {
        require_or_skip(test, "node is not installed (apt-get install nodejs npm)");
    }
    ok
}

/// The stock Yjs client of `tests/js` (yjs + y-websocket's `WebsocketProvider` on node), ready
/// to start with [`StockYjsClient::spawn`]; `None`, after [`require_or_skip`], when node or the
/// npm packages (`scripts/setup-node.sh`) are missing.
#[derive(Debug)]
pub struct StockYjsClient {
    script: PathBuf,
    extra_ca: Option<PathBuf>,
}

impl StockYjsClient {
    /// The client, if it can run here.
    pub fn detect(test: &str) -> Option<Self> {
        if !node_available(test) {
            return None;
        }
        let js = repo_root().join("tests/js");
        if !js.join("node_modules/y-websocket").is_dir() {
            require_or_skip(test, "tests/js/node_modules is missing: run scripts/setup-node.sh");
            return None;
        }
        Some(Self { script: js.join("yjs-client.mjs"), extra_ca: None })
    }

    /// The same client trusting the authority of the PEM file `ca` for `wss://` (node's
    /// `NODE_EXTRA_CA_CERTS`).
    pub fn trusting(&self, ca: &std::path::Path) -> Self {
        Self { script: self.script.clone(), extra_ca: Some(ca.to_owned()) }
    }

    /// Starts it on `server_url`/`room` as user `name`: it edits, ends with the marker
    /// `<NAME-done>`, waits for `expect_marker` in the text and a peer named `expect_peer`, then
    /// prints one JSON line `{ ok, text, peers, error? }` and exits.
    pub fn spawn(
        &self,
        server_url: &str,
        room: &str,
        name: &str,
        expect_marker: &str,
        expect_peer: &str,
    ) -> std::io::Result<tokio::process::Child> {
        let mut command = tokio::process::Command::new("node");
        if let Some(ca) = &self.extra_ca {
            command.env("NODE_EXTRA_CA_CERTS", ca);
        }
        command
            .arg(&self.script)
            .args([server_url, room, name, expect_marker, expect_peer])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
    }

    /// Runs this client as "yan" on `base`/`room` beside `ada`, a client already synced there
    /// and present as "ada": each waits for the other's marker and presence. Returns the final
    /// text, which `ada` holds too.
    pub async fn edit_beside(
        &self,
        ada: &mut TestClient,
        base: &str,
        room: &str,
    ) -> anyhow::Result<String> {
        let node = self.spawn(base, room, "yan", "<ada-done>", "ada")?;
        ada.wait_until("the node client's marker", |c| c.text().contains("<yan-done>")).await?;
        ada.append("<ada-done>").await?;
        let (result, stderr) = Self::result(node).await;
        anyhow::ensure!(result["ok"] == true, "the stock Yjs client failed: {result}\n{stderr}");
        let text = result["text"].as_str().unwrap_or_default().to_owned();
        ada.wait_text(&text).await?;
        Ok(text)
    }

    /// Waits for a started client to finish and returns its JSON result, with its stderr for
    /// assertion messages. Panics (failing the test) when it does not finish in time or prints
    /// no JSON.
    pub async fn result(child: tokio::process::Child) -> (serde_json::Value, String) {
        let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
            .await
            .expect("the stock Yjs client did not finish in time")
            .expect("waiting for the stock Yjs client");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let result = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("bad output from node ({e}):\n{stdout}\n{stderr}"));
        (result, stderr)
    }
}

/// The JSON lines a child process prints on `stdout`, as they come; other lines are echoed to
/// stderr behind `label`.
pub fn json_lines(
    stdout: tokio::process::ChildStdout,
    label: &'static str,
) -> tokio::sync::mpsc::UnboundedReceiver<serde_json::Value> {
    use tokio::io::AsyncBufReadExt;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(event) => {
                    if sender.send(event).is_err() {
                        break;
                    }
                }
                Err(_) => eprintln!("{label}: {line}"),
            }
        }
    });
    receiver
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
    /// names. `Ok(None)`, after [`require_or_skip`], when the variable is unset.
    pub async fn create(test: &str) -> anyhow::Result<Option<Self>> {
        use anyhow::Context;
        use sqlx::Connection;
        let Ok(admin_url) = std::env::var("TANDEM_TEST_DATABASE_URL") else {
            require_or_skip(test, "TANDEM_TEST_DATABASE_URL is not set (PostgreSQL tests need it)");
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
