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

mod app;
pub mod auth;
pub mod cluster;
pub mod config;
mod connection;
mod cpu_budget;
mod executor;
mod http;
pub mod metrics;
mod outbox;
mod peer;
mod room;
pub mod storage;
pub mod tls;
mod token_bucket;
pub mod transfer;
mod web_bundle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::serve::{Listener, ListenerExt, TapIo};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{Config, Database, Limits};
pub use room::LoadError;
pub use tandem_crdt::validate_doc_id;

use app::App;
use metrics::Metrics;
use room::{RoomSettings, Rooms};
use storage::{StorageError, Writer};
use tls::{HandshakeLimits, ServerTls, TlsListener};

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
    let storage::Opened { storage, cluster } = storage::open(&config.database).await?;
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
    };
    let rooms = Arc::new(Rooms::new(storage.clone(), writer.clone(), metrics.clone(), settings));
    if config.auth_key.is_none() {
        tracing::warn!(
            "no auth key set: anyone who can reach this server may read and edit every document"
        );
    }
    let app = Arc::new(App {
        connection_slots: Arc::new(Semaphore::new(config.limits.max_connections)),
        config,
        storage: storage.clone(),
        writer,
        rooms,
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

    let token = app.shutdown.clone();
    let service = http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let stop = async move {
        shutdown.await;
        // Websockets are no longer hyper's: they watch this token themselves.
        token.cancel();
    };
    // Without TCP_NODELAY, Nagle's algorithm holds a small frame back until the peer's delayed
    // ACK (40 ms on Linux): a floor under every relayed keystroke's latency. The send loop
    // batches frames itself (connection.rs), so small segments are not the cost Nagle guards
    // against.
    match tls {
        None => serve_on(listener.tap_io(set_nodelay), service, stop).await?,
        Some(tls) => {
            tokio::spawn(tls.watch(app.config.tls_reload_interval, app.shutdown.clone()));
            let listener = TlsListener::new(listener, tls.acceptor(), HandshakeLimits::default())
                .tap_io(|stream| set_nodelay(stream.get_mut().0));
            serve_on(listener, service, stop).await?
        }
    }

    app.shutdown.cancel();
    app.tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, app.tracker.wait()).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; saving anyway");
    }
    maintenance.abort();
    for task in follower.into_iter().chain(publisher) {
        task.abort();
    }
    let saved = app.rooms.save_all().await;
    storage.close().await;
    saved?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves HTTP on `listener` until `stop` resolves. The listener comes wrapped in
/// [`ListenerExt::tap_io`], which is also what gives handlers the peer's address.
async fn serve_on<L, F>(
    listener: TapIo<L, F>,
    service: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    F: FnMut(&mut L::Io) + Send + 'static,
{
    axum::serve(listener, service).with_graceful_shutdown(stop).await
}

fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
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
