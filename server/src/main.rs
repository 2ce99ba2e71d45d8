//! `tandem-server`: serve documents, mint an access token, or the operator's tools (backup,
//! export, import).
//!
//! Thin on purpose: flags and environment variables become a [`tandem_server::Config`],
//! SIGINT/SIGTERM become the shutdown future, and [`tandem_server::run`] does the rest.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tandem_server::auth::{Access, AuthKey, Grant};
use tandem_server::config;
use tandem_server::{Config, Database, Limits};

/// tandem's sync server: documents at ws://HOST:PORT/DOC-ID, browser client at /.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve documents (the default).
    Serve(Box<ServeArgs>),
    /// Print a signed access token.
    Token(TokenArgs),
    /// Write a consistent copy of the SQLite database, while the server runs.
    Backup(BackupArgs),
    /// Write every document's text as a file under DIR (ids as paths).
    Export(TransferArgs),
    /// Create a document from every file under DIR (paths as ids); existing ones are left alone.
    Import(TransferArgs),
}

/// Where documents are stored: the same flags for serving and for the operator's tools.
#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// Directory for the SQLite database (tandem.db). Default: the platform's data directory.
    #[arg(long, env = "TANDEM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database instead of DATA_DIR/tandem.db: postgres://USER@HOST/DB or sqlite://PATH.
    #[arg(long, env = "TANDEM_DATABASE_URL")]
    database_url: Option<String>,
}

/// The auth key, given inline or in a file (so it is in neither argv nor the environment).
#[derive(Debug, clap::Args)]
struct AuthKeyArgs {
    /// Key that signs access tokens; with it every connection needs ?token=. Without it access
    /// is open.
    #[arg(long, env = "TANDEM_AUTH_KEY", hide_env_values = true, conflicts_with = "auth_key_file")]
    auth_key: Option<String>,
    /// File holding the auth key (its first line; surrounding whitespace is ignored).
    #[arg(long, env = "TANDEM_AUTH_KEY_FILE", value_name = "PATH")]
    auth_key_file: Option<PathBuf>,
    /// Key rotation: a file of lines `ID KEY`. The first key mints tokens (which carry its id);
    /// tokens of every listed key are honoured, so deleting a line (and restarting) revokes the
    /// tokens of that key. --auth-key still honours the tokens minted before rotation.
    #[arg(long, env = "TANDEM_AUTH_KEYS_FILE", value_name = "PATH")]
    auth_keys_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct BackupArgs {
    /// Where to write the copy (must not exist yet).
    path: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
struct TransferArgs {
    /// The directory: read by import, written by export.
    dir: PathBuf,
    /// Only ids starting with this (export); put before every id (import). `team/` is a folder.
    #[arg(long, default_value = "")]
    prefix: String,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Name of the shared Y.Text.
    #[arg(long, env = "TANDEM_TEXT_NAME", default_value = tandem_crdt::DEFAULT_TEXT_NAME)]
    text_name: String,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    auth: AuthKeyArgs,
    /// Directory of the browser client's files (index.html ...) to serve instead of the client
    /// built into the binary.
    #[arg(long, env = "TANDEM_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Name of the shared Y.Text.
    #[arg(long, env = "TANDEM_TEXT_NAME", default_value = tandem_crdt::DEFAULT_TEXT_NAME)]
    text_name: String,
    /// Largest websocket message accepted, in bytes.
    #[arg(long, env = "TANDEM_MAX_MESSAGE_SIZE", default_value_t = config::DEFAULT_MAX_MESSAGE_BYTES)]
    max_message_size: usize,
    /// Most simultaneous connections (handshakes in progress count; lowered to what `ulimit -n`
    /// allows).
    #[arg(long, env = "TANDEM_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most documents open at once on one multiplexed connection (`/api/mux`); the connection
    /// counts once against --max-connections.
    #[arg(long, env = "TANDEM_MAX_DOCS_PER_CONNECTION", default_value_t = config::DEFAULT_MAX_DOCS_PER_CONNECTION)]
    max_docs_per_connection: usize,
    /// Seconds a client has for its TLS handshake and for each request's headers.
    #[arg(long, env = "TANDEM_HANDSHAKE_TIMEOUT_SECS", default_value_t = config::DEFAULT_HANDSHAKE_TIMEOUT.as_secs())]
    handshake_timeout_secs: u64,
    /// Seconds a websocket may stay silent (pings unanswered) before it is closed.
    #[arg(long, env = "TANDEM_IDLE_TIMEOUT_SECS", default_value_t = config::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout_secs: u64,
    /// Sustained messages per second per connection (bursts of 10 s worth).
    #[arg(long, env = "TANDEM_RATE_LIMIT_MESSAGES", default_value_t = config::DEFAULT_RATE_MESSAGES)]
    rate_limit_messages: u32,
    /// Sustained bytes per second per connection (bursts of 10 s worth).
    #[arg(long, env = "TANDEM_RATE_LIMIT_BYTES", default_value_t = config::DEFAULT_RATE_BYTES)]
    rate_limit_bytes: u64,
    /// Milliseconds of server CPU per second one connection's updates may cost (after a
    /// half-second burst); a connection over it is read more slowly.
    #[arg(long, env = "TANDEM_CPU_BUDGET_MS", default_value_t = config::DEFAULT_CPU_BUDGET_MS)]
    cpu_budget_ms: u32,
    /// Frames queued for one client before it is dropped as too slow.
    #[arg(long, env = "TANDEM_MAX_QUEUED_MESSAGES", default_value_t = config::DEFAULT_MAX_QUEUED_MESSAGES)]
    max_queued_messages: usize,
    /// Bytes queued for one client before it is dropped as too slow.
    #[arg(long, env = "TANDEM_MAX_QUEUED_BYTES", default_value_t = config::DEFAULT_MAX_QUEUED_BYTES)]
    max_queued_bytes: usize,
    /// Seconds a document without connections stays in memory.
    #[arg(long, env = "TANDEM_IDLE_UNLOAD_SECS", default_value_t = config::DEFAULT_IDLE_UNLOAD.as_secs())]
    idle_unload_secs: u64,
    /// Logged updates after which a document's log is compacted into a snapshot.
    #[arg(long, env = "TANDEM_COMPACT_AFTER", default_value_t = config::DEFAULT_COMPACT_AFTER_UPDATES)]
    compact_after: usize,
    /// Seconds after a version of a changed document before the next automatic one.
    #[arg(long, env = "TANDEM_VERSION_INTERVAL", default_value_t = config::DEFAULT_VERSION_INTERVAL.as_secs())]
    version_interval: u64,
    /// Days every version is kept; older ones thin out to one per hour, after 30 days to one
    /// per day (named versions are kept forever).
    #[arg(long, env = "TANDEM_HISTORY_KEEP_ALL", default_value_t = 7)]
    history_keep_all: u64,
    /// Log format.
    #[arg(long, env = "TANDEM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Serve https and wss with this certificate chain (PEM, the server's certificate first).
    /// Reloaded when the file changes or on SIGHUP.
    #[arg(long, env = "TANDEM_TLS_CERT", requires = "tls_key", value_name = "PATH")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "TANDEM_TLS_KEY", requires = "tls_cert", value_name = "PATH")]
    tls_key: Option<PathBuf>,
    /// Seconds between checks of the TLS files for a renewal.
    #[arg(long, env = "TANDEM_TLS_RELOAD_SECS", default_value_t = config::DEFAULT_TLS_RELOAD_INTERVAL.as_secs())]
    tls_reload_secs: u64,
    /// Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry
    /// (the one the proxy added) for the logs. Without it the header is ignored.
    #[arg(long, env = "TANDEM_TRUST_PROXY")]
    trust_proxy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// Document id (or id prefix with --prefix; `--doc "" --prefix` grants every document).
    #[arg(long)]
    doc: String,
    /// Grant every document whose id starts with --doc.
    #[arg(long)]
    prefix: bool,
    /// Read but not write.
    #[arg(long)]
    read_only: bool,
    /// Lifetime in seconds; 0 never expires.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Who holds the token: the author name of their edits in the version history.
    #[arg(long)]
    name: Option<String>,
    /// The server's key (--auth-key, --auth-key-file or the first of --auth-keys-file).
    #[command(flatten)]
    auth: AuthKeyArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(args)) => token(args),
        Some(Command::Serve(args)) => serve(*args),
        Some(Command::Backup(args)) => backup(args),
        Some(Command::Export(args)) => transfer(args, Transfer::Export),
        Some(Command::Import(args)) => transfer(args, Transfer::Import),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tandem-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    // A prefix may end with the `/` that closes a workspace's folder (`--prefix team/`).
    let checked =
        if args.prefix { args.doc.strip_suffix('/').unwrap_or(&args.doc) } else { &args.doc };
    if !(args.prefix && checked.is_empty()) {
        tandem_server::validate_doc_id(checked).context("--doc")?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    let grant = Grant {
        doc: args.doc,
        prefix: args.prefix,
        access: if args.read_only { Access::ReadOnly } else { Access::ReadWrite },
        expires_at: (args.ttl > 0).then(|| now.saturating_add(args.ttl)),
        name: args.name,
    };
    let (key, _) = args.auth.keys()?;
    let key =
        key.context("give the server's key: --auth-key, --auth-key-file or --auth-keys-file")?;
    println!("{}", key.mint(&grant));
    Ok(())
}

impl AuthKeyArgs {
    /// The key that mints tokens, then every other key whose tokens are honoured: the keys of
    /// --auth-keys-file first (its first line mints), then --auth-key.
    fn keys(&self) -> anyhow::Result<(Option<AuthKey>, Vec<AuthKey>)> {
        let mut keys = match &self.auth_keys_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--auth-keys-file {}", path.display()))?;
                tandem_server::auth::keys_from_lines(&text)
                    .with_context(|| format!("--auth-keys-file {}", path.display()))?
            }
            None => Vec::new(),
        };
        keys.extend(self.key()?);
        let mut keys = keys.into_iter();
        Ok((keys.next(), keys.collect()))
    }

    /// The key without an id, if one is given; an empty one counts as none.
    fn key(&self) -> anyhow::Result<Option<AuthKey>> {
        let text = match (&self.auth_key, &self.auth_key_file) {
            (Some(key), _) => key.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("--auth-key-file {}", path.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned(),
            (None, None) => return Ok(None),
        };
        if text.is_empty() && self.auth_key_file.is_some() {
            bail!("--auth-key-file holds no key");
        }
        Ok((!text.is_empty()).then(|| AuthKey::new(text.as_bytes())))
    }
}

impl DatabaseArgs {
    fn database(&self) -> anyhow::Result<Database> {
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("", "", "tandem")
                .map(|dirs| dirs.data_dir().to_owned())
                .context("no home directory to put data in; pass --data-dir")?,
        };
        Database::from_url(self.database_url.as_deref(), &data_dir)
            .map_err(anyhow::Error::msg)
            .context("--database-url")
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let database = args.database.database()?;
    let Database::Sqlite(from) = database else {
        bail!(
            "backup copies SQLite databases; for PostgreSQL use pg_dump \
             (pg_dump --format=custom --file tandem.dump \"$TANDEM_DATABASE_URL\")"
        );
    };
    runtime()?.block_on(tandem_server::storage::backup_sqlite(&from, &args.path))?;
    eprintln!("tandem-server: {} copied to {}", from.display(), args.path.display());
    Ok(())
}

/// Which way documents move.
#[derive(Debug, Clone, Copy)]
enum Transfer {
    Export,
    Import,
}

fn transfer(args: TransferArgs, direction: Transfer) -> anyhow::Result<()> {
    let database = args.database.database()?;
    let report = runtime()?.block_on(async {
        let opened = tandem_server::storage::open(&database).await?;
        let storage = &*opened.storage;
        let files = tandem_server::transfer::Files { dir: &args.dir, prefix: &args.prefix };
        let report = match direction {
            Transfer::Export => {
                tandem_server::transfer::export(storage, &args.text_name, files).await
            }
            Transfer::Import => {
                tandem_server::transfer::import(storage, &args.text_name, files).await
            }
        };
        storage.close().await;
        anyhow::Ok(report?)
    })?;
    for (what, why) in &report.skipped {
        eprintln!("tandem-server: skipped {what}: {why}");
    }
    let verb = match direction {
        Transfer::Export => "exported",
        Transfer::Import => "imported",
    };
    eprintln!("tandem-server: {verb} {} documents, skipped {}", report.done, report.skipped.len());
    if !report.skipped.is_empty() {
        bail!("{} skipped (see above)", report.skipped.len());
    }
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a person at a terminal, never into a log file or journald.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let config = config_from(&args)?;
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tandem_server::run(config, listener, shutdown_signal()).await.context("server failed")
    })
}

fn config_from(args: &ServeArgs) -> anyhow::Result<Config> {
    let database = args.database.database()?;
    if args.max_message_size == 0 || args.max_connections == 0 || args.max_docs_per_connection == 0
    {
        bail!(
            "--max-message-size, --max-connections and --max-docs-per-connection must be positive"
        );
    }
    let mut config = Config::new(database);
    (config.auth_key, config.older_auth_keys) = args.auth.keys()?;
    config.trust_proxy = args.trust_proxy;
    config.web_dir = args.web_dir.clone();
    config.text_name = args.text_name.clone();
    config.limits = Limits {
        max_message_bytes: args.max_message_size,
        max_connections: args.max_connections,
        max_docs_per_connection: args.max_docs_per_connection,
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
        rate_messages: args.rate_limit_messages,
        rate_bytes: args.rate_limit_bytes,
        cpu_budget_ms: args.cpu_budget_ms,
        max_queued_messages: args.max_queued_messages,
        max_queued_bytes: args.max_queued_bytes,
    };
    config.idle_unload = Duration::from_secs(args.idle_unload_secs);
    config.compact_after_updates = args.compact_after;
    config.version_interval = Duration::from_secs(args.version_interval.max(1));
    config.history_keep_all = Duration::from_secs(args.history_keep_all.saturating_mul(86_400));
    config.tls = args
        .tls_cert
        .clone()
        .zip(args.tls_key.clone())
        .map(|(cert, key)| tandem_server::tls::TlsFiles { cert, key });
    config.tls_reload_interval = Duration::from_secs(args.tls_reload_secs.max(1));
    Ok(config)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
