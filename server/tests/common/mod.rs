//! Runs `tandem_server::run` inside the test process on `127.0.0.1:0`.

#![allow(dead_code)] // Each test file uses a different part.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tandem_server::{Config, Database, ServerError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this process.
pub struct InProcess {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServerError>>,
}

/// Defaults for tests: SQLite in `dir`, fast maintenance.
pub fn sqlite_config(dir: &Path) -> Config {
    let mut config = Config::new(Database::Sqlite(dir.join("tandem.db")));
    config.maintenance_interval = Duration::from_millis(50);
    config
}

impl InProcess {
    pub async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let handle = tokio::spawn(tandem_server::run(config, listener, async move {
            let _ = stop.await;
        }));
        let server = Self { addr, shutdown: Some(shutdown), handle };
        // run() opens the database before serving; wait until it answers.
        for _ in 0..500 {
            if let Ok((200, _)) = tandem_e2e::http_get(addr, "/healthz").await {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("in-process server did not become healthy");
    }

    pub fn ws_url(&self, doc: &str) -> String {
        format!("ws://{}/{doc}", self.addr)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        tandem_e2e::http_get(self.addr, path).await.unwrap()
    }

    /// Triggers the graceful shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.handle).await.expect("server task panicked")
    }
}

/// The value of an unlabelled metric (or one whose labels are part of `name`).
pub fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{metrics}"))
}
