//! tandem-server: the self-hosted sync server for tandem documents.
//!
//! It speaks the Yjs sync protocol as y-websocket does: a document lives at
//! `ws://HOST:PORT/DOC-ID` (also `ws://HOST:PORT/ws/DOC-ID`), each binary frame is one
//! y-protocols message, and stock Yjs clients (`WebsocketProvider`) work unchanged.
//!
//! # Connecting
//! - `?token=T` — required when the server has an auth key ([`auth`]).
//! - `?ext=durable` — tandem's extension: after the storage transaction holding a
//!   connection's updates commits, the server sends message type 100 `Durable { seq,
//!   state_vector }`, meaning "your first `seq` update messages on this connection are stored".
//!   Only connections that ask receive it, so stock Yjs clients never see a type they do not
//!   know. [`tandem_crdt::Client`] handles it.
//!
//! # Shape
//! [`run`] serves on a listener until its `shutdown` future resolves, so tests drive it in
//! process. Inside: `app` is the state they share, `http` routes requests, `connection` pumps
//! one websocket's bytes, `room`
//! owns each loaded document (replica, presence, per-connection sync sessions; its CRDT work
//! runs on `executor`'s threads, never on the async runtime's), [`storage`]
//! keeps update logs and snapshots (SQLite or PostgreSQL) behind a group-committing writer,
//! [`cluster`] carries commits and awareness between servers sharing a PostgreSQL database,
//! [`history`] records versions of every document and restores them,
//! [`metrics`] counts everything.
//!
//! ```no_run
//! # async fn example() -> Result<(), tandem_server::ServerError> {
//! use tandem_server::{Config, Database};
//!
//! let config = Config::new(Database::Sqlite("/tmp/tandem/tandem.db".into()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tandem_server::run(config, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
#![deny(missing_docs)]

mod admission;
mod app;
pub mod auth;
pub mod cluster;
pub mod config;
mod connection;
mod cpu_budget;
mod executor;
pub mod history;
mod http;
mod linger;
mod listen;
mod manage;
mod memory;
pub mod metrics;
mod multiplex;
mod outbox;
mod peer;
mod request;
mod room;
mod session;
pub mod storage;
mod text_cache;
pub mod tls;
mod token_bucket;
pub mod transfer;
mod web_bundle;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, Database, Limits};
pub use room::LoadError;
pub use tandem_crdt::validate_doc_id;

use admission::Admission;
use app::App;
use history::History;
use listen::Listening;
use metrics::Metrics;
use room::{RoomSettings, Rooms};
use storage::{StorageError, Writer};
use tls::ServerTls;

/// Unwritten bytes above which connections stop reading until storage catches up.
const MAX_PENDING_WRITE_BYTES: usize = 64 << 20;
/// Awareness updates waiting to be announced to other servers; more are dropped (a peer's
/// renewal repairs it).
const PRESENCE_QUEUE: usize = 4_096;
/// How long shutdown waits for connections to close before saving anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database could not be opened, migrated or written at shutdown.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Listening for the other servers sharing the database failed.
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    /// Socket errors.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key cannot serve.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
}

/// Serves on `listener` until `shutdown` resolves; then stops accepting, closes every
/// connection with "going away", saves every loaded document and returns. With
/// [`Config::tls`], every connection is TLS.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = config.tls.clone().map(ServerTls::load).transpose()?;
    let storage::Opened { storage, cluster, history } = storage::open(&config.database).await?;
    let pruner = tokio::spawn(history::recorder::prune_periodically(
        history.clone(),
        config.history_keep_all,
        config.history_prune_interval,
    ));
    let history = History::spawn(history, config.version_interval);
    let metrics = Arc::new(Metrics::default());
    let writer = Writer::spawn(storage.clone(), metrics.clone(), MAX_PENDING_WRITE_BYTES);
    // Servers sharing a PostgreSQL database apply each other's commits to their rooms and
    // relay each other's awareness.
    let remote = match &cluster {
        Some(cluster) => Some((cluster.clone(), cluster.watch().await?)),
        None => None,
    };
    let (presence_out, presence_in) = match remote {
        Some(_) => {
            let (out, rx) = tokio::sync::mpsc::channel(PRESENCE_QUEUE);
            (Some(out), Some(rx))
        }
        None => (None, None),
    };
    let settings = RoomSettings {
        text_name: config.text_name.clone(),
        compact_after_updates: config.compact_after_updates.max(1),
        idle_unload: config.idle_unload,
        presence_out,
        history: history.clone(),
    };
    let rooms = Arc::new(Rooms::new(storage.clone(), writer.clone(), metrics.clone(), settings));
    if config.auth_key.is_none() {
        tracing::warn!(
            "no auth key set: anyone who can reach this server may read and edit every document"
        );
    }
    let admission = Admission::new(connection_limit(config.limits.max_connections));
    let app = Arc::new(App {
        admission: admission.clone(),
        config,
        storage: storage.clone(),
        writer,
        rooms,
        history,
        metrics,
        shutdown: CancellationToken::new(),
        tracker: TaskTracker::new(),
        next_connection: AtomicU64::new(0),
    });
    let maintenance = tokio::spawn(maintain(app.clone()));
    let follower = remote.map(|(cluster, commits)| {
        let rooms = app.rooms.clone();
        tokio::spawn(async move { cluster::follow(&*cluster, &*rooms, commits).await })
    });
    let publisher = cluster
        .zip(presence_in)
        .map(|(cluster, presence)| tokio::spawn(cluster::publish_presence(cluster, presence)));
    tracing::info!(
        addr = %listener.local_addr()?,
        tls = tls.is_some(),
        database = ?app.config.database,
        web = %match &app.config.web_dir {
            Some(dir) => dir.display().to_string(),
            None if web_bundle::is_embedded() => "built in".to_owned(),
            None => "none (built without web/dist)".to_owned(),
        },
        "listening"
    );

    if let Some(tls) = &tls {
        tokio::spawn(tls.watch(app.config.tls_reload_interval, app.shutdown.clone()));
    }
    let listening = Listening {
        router: http::router(app.clone()),
        tls: tls.as_ref().map(ServerTls::acceptor),
        admission,
        handshake_timeout: app.config.limits.handshake_timeout,
    };
    let serving = listen::serve(listener, listening, app.shutdown.clone(), SHUTDOWN_GRACE);
    tokio::pin!(serving, shutdown);
    tokio::select! {
        // Serving ends only after the token is cancelled; something else cancelled it.
        () = &mut serving => {}
        () = &mut shutdown => {
            // Websockets watch this token themselves; the accept loop stops on it.
            app.shutdown.cancel();
            serving.await;
        }
    }

    app.shutdown.cancel();
    app.tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, app.tracker.wait()).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; saving anyway");
    }
    maintenance.abort();
    pruner.abort();
    for task in follower.into_iter().chain(publisher) {
        task.abort();
    }
    let saved = app.rooms.save_all().await;
    // Versions queued as the last clients left.
    app.history.flush().await;
    storage.close().await;
    saved?;
    tracing::info!("stopped");
    Ok(())
}

/// `--max-connections`, lowered to what fits in the process's file descriptors beside the
/// sockets kept for requests that are not websockets ([`admission::HTTP_RESERVE`]).
fn connection_limit(configured: usize) -> usize {
    let fits = listen::socket_budget_of_this_process()
        .map(|budget| budget.saturating_sub(admission::HTTP_RESERVE).max(1));
    match fits {
        Some(fits) if fits < configured => {
            tracing::warn!(
                max_connections = configured,
                fits,
                reserve = listen::DESCRIPTOR_RESERVE,
                "the limit on open files (ulimit -n) allows fewer connections than --max-connections; using that"
            );
            fits
        }
        _ => configured,
    }
}

async fn maintain(app: Arc<App>) {
    let mut ticks = tokio::time::interval(app.config.maintenance_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        app.rooms.maintain(storage::unix_ms()).await;
    }
}
