//! Command-line flags and their validation. Durations are in seconds on the command line and
//! [`Duration`]s after validation.

use std::time::Duration;

use clap::Parser;
use tandem_crdt::Extensions;

use crate::protocol::Protocol;

/// Flags of `tandem-load`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tandem-load",
    version,
    about = "Load generator for y-websocket-compatible sync servers (tandem-server, the stock node server, ...)."
)]
pub struct Args {
    /// Server base URL; client i of document d connects to `URL/<doc-prefix><d>` (or what
    /// `--protocol` makes of it). Repeat it for several nodes of one cluster: the clients of
    /// each document are spread over them in turn, and latency from a writer on one node to a
    /// reader on another is reported apart.
    #[arg(long = "url", required = true)]
    pub urls: Vec<String>,
    /// The server's dialect of the Yjs sync protocol.
    #[arg(long, value_enum, default_value_t = Protocol::YWebsocket)]
    pub protocol: Protocol,
    /// Number of documents.
    #[arg(long, default_value_t = 1)]
    pub docs: usize,
    /// Simulated clients per document.
    #[arg(long, default_value_t = 1)]
    pub clients_per_doc: usize,
    /// Keystrokes per second per typing client (0: every client stays idle).
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Seconds of typing (or of holding idle connections) after every client has synced.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Chars inserted per keystroke.
    #[arg(long, default_value_t = 1)]
    pub payload: usize,
    /// Fraction of each document's clients that only read.
    #[arg(long, default_value_t = 0.0)]
    pub read_only_ratio: f64,
    /// Fraction of keystrokes that are backspaces instead of inserts.
    #[arg(long, default_value_t = 0.1)]
    pub delete_ratio: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Whether clients reconnect after an established connection drops. `never` leaves what a
    /// killed server stored untouched by resyncing clients, so `--verify-sent` counts what
    /// the server itself lost.
    #[arg(long, value_enum, default_value_t = Reconnect::Always)]
    pub reconnect: Reconnect,
    /// At the end, count the sent updates (confirmed or not) that are missing from the state
    /// a fresh sync returns. Works with every protocol; missing updates are reported, they do
    /// not fail the run.
    #[arg(long)]
    pub verify_sent: bool,
    /// Connect with `?ext=durable` and count tandem's Durable confirmations.
    #[arg(long)]
    pub ext_durable: bool,
    /// Reconnect with backoff when the server goes away and, at the end, check that every update
    /// the server confirmed durable is in the state a fresh sync returns. Needs `--ext-durable`.
    #[arg(long)]
    pub verify_durable: bool,
    /// Document names are this prefix followed by the document number.
    #[arg(long, default_value = "doc-")]
    pub doc_prefix: String,
    /// Before the run, write this many single-char updates into every document over one
    /// connection each (builds a long update log for cold-load measurements).
    #[arg(long, default_value_t = 0)]
    pub seed_updates: usize,
    /// Seconds to wait for every client to connect and sync before typing starts anyway.
    #[arg(long, default_value_t = 60.0)]
    pub connect_timeout: f64,
    /// Websocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
    /// Seconds to keep receiving after typing stops, so in-flight updates are measured.
    #[arg(long, default_value_t = 2.0)]
    pub drain: f64,
    /// Trust this certificate authority (PEM) for wss:// besides the system's (SSL_CERT_FILE
    /// and SSL_CERT_DIR are honoured too).
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<std::path::PathBuf>,
}

/// A flag combination that cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// The URL is not `ws://...` or `wss://...`.
    #[error("--url must start with ws:// or wss:// (got {0:?})")]
    BadUrl(String),
    /// A count that must be positive is zero.
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
    /// A number is negative, not finite or out of its range.
    #[error("--{name} must be in {range} (got {value})")]
    OutOfRange {
        /// The flag.
        name: &'static str,
        /// The allowed range, for the message.
        range: &'static str,
        /// What was given.
        value: f64,
    },
    /// `--ext-durable` with a dialect other than y-websocket.
    #[error("--ext-durable is tandem-server's extension (needs --protocol y-websocket)")]
    DurableNeedsYWebsocket,
    /// Several `--url`s with y-sweet, whose documents live on one server.
    #[error("--protocol y-sweet takes one --url")]
    OneYSweetNode,
    /// `--verify-durable` without `--ext-durable`.
    #[error("--verify-durable needs --ext-durable (only durable confirmations can be verified)")]
    VerifyWithoutDurable,
}

/// Whether clients reconnect after a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reconnect {
    /// With backoff, until the run ends (a client that resyncs re-sends what it has).
    Always,
    /// A dropped client stays away for the rest of the run.
    Never,
}

/// A validated run plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Base URLs of the nodes, without trailing slashes.
    pub urls: Vec<String>,
    /// The servers' dialect.
    pub protocol: Protocol,
    /// Number of documents.
    pub docs: usize,
    /// Clients per document.
    pub clients_per_doc: usize,
    /// Typing clients per document (the others only read).
    pub writers_per_doc: usize,
    /// Keystrokes per second per typing client.
    pub rate: f64,
    /// Typing window.
    pub duration: Duration,
    /// Chars per insert.
    pub payload: usize,
    /// Fraction of keystrokes that delete.
    pub delete_ratio: f64,
    /// [`Extensions::Tandem`] asks for and counts durable confirmations.
    pub extensions: Extensions,
    /// Verify confirmed updates at the end.
    pub verify_durable: bool,
    /// Count missing sent updates at the end.
    pub verify_sent: bool,
    /// Reconnect after drops.
    pub reconnect: Reconnect,
    /// Document name prefix.
    pub doc_prefix: String,
    /// Updates written into each document before the run.
    pub seed_updates: usize,
    /// Connect phase limit.
    pub connect_timeout: Duration,
    /// Concurrent handshakes.
    pub connect_concurrency: usize,
    /// Receive-only tail after typing.
    pub drain: Duration,
    /// A private certificate authority to trust.
    pub ca_cert: Option<std::path::PathBuf>,
}

impl LoadConfig {
    /// The websocket URL of document `doc` on node `node` (an index into the URLs, modulo
    /// their number); `extensions` are asked for in the URL.
    pub fn doc_url(&self, doc: usize, node: usize, extensions: Extensions) -> String {
        let base = &self.urls[node % self.urls.len()];
        self.protocol.doc_url(base, &self.doc_name(doc), extensions)
    }

    /// The node that client `index_in_doc` of a document connects to: a document's clients
    /// take the nodes in turn, so writers and readers of one document sit on every node.
    pub fn node_of(&self, index_in_doc: usize) -> usize {
        index_in_doc % self.urls.len()
    }

    /// Whether typing clients keep every update they send, for an end-of-run check.
    pub fn keeps_sent_updates(&self) -> bool {
        self.verify_durable || self.verify_sent
    }

    /// The name of document `doc`.
    pub fn doc_name(&self, doc: usize) -> String {
        format!("{}{doc}", self.doc_prefix)
    }

    /// Total simulated clients.
    pub fn total_clients(&self) -> usize {
        self.docs * self.clients_per_doc
    }

    /// Total typing clients.
    pub fn total_writers(&self) -> usize {
        self.docs * self.writers_per_doc
    }
}

fn check(name: &'static str, range: &'static str, value: f64, ok: bool) -> Result<(), ConfigError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, range, value })
    }
}

impl Args {
    /// Checks the flags and turns them into a plan.
    pub fn validate(&self) -> Result<LoadConfig, ConfigError> {
        if let Some(bad) =
            self.urls.iter().find(|url| !(url.starts_with("ws://") || url.starts_with("wss://")))
        {
            return Err(ConfigError::BadUrl(bad.clone()));
        }
        if self.ext_durable && self.protocol != Protocol::YWebsocket {
            return Err(ConfigError::DurableNeedsYWebsocket);
        }
        if self.protocol == Protocol::YSweet && self.urls.len() > 1 {
            return Err(ConfigError::OneYSweetNode);
        }
        for (name, value) in [
            ("docs", self.docs),
            ("clients-per-doc", self.clients_per_doc),
            ("payload", self.payload),
            ("connect-concurrency", self.connect_concurrency),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        check("rate", "[0, 10000]", self.rate, (0.0..=10_000.0).contains(&self.rate))?;
        check("duration", "[0, 86400]", self.duration, (0.0..=86_400.0).contains(&self.duration))?;
        check("drain", "[0, 600]", self.drain, (0.0..=600.0).contains(&self.drain))?;
        check(
            "connect-timeout",
            "(0, 3600]",
            self.connect_timeout,
            self.connect_timeout > 0.0 && self.connect_timeout <= 3600.0,
        )?;
        check(
            "read-only-ratio",
            "[0, 1]",
            self.read_only_ratio,
            (0.0..=1.0).contains(&self.read_only_ratio),
        )?;
        check(
            "delete-ratio",
            "[0, 0.5]",
            self.delete_ratio,
            (0.0..=0.5).contains(&self.delete_ratio),
        )?;
        if self.verify_durable && !self.ext_durable {
            return Err(ConfigError::VerifyWithoutDurable);
        }
        let readers = (self.clients_per_doc as f64 * self.read_only_ratio).round() as usize;
        let writers_per_doc =
            if self.rate == 0.0 { 0 } else { self.clients_per_doc.saturating_sub(readers) };
        Ok(LoadConfig {
            urls: self.urls.iter().map(|url| url.trim_end_matches('/').to_owned()).collect(),
            protocol: self.protocol,
            docs: self.docs,
            clients_per_doc: self.clients_per_doc,
            writers_per_doc,
            rate: self.rate,
            duration: Duration::from_secs_f64(self.duration),
            payload: self.payload,
            delete_ratio: self.delete_ratio,
            extensions: if self.ext_durable { Extensions::Tandem } else { Extensions::Stock },
            verify_durable: self.verify_durable,
            verify_sent: self.verify_sent,
            reconnect: self.reconnect,
            doc_prefix: self.doc_prefix.clone(),
            seed_updates: self.seed_updates,
            connect_timeout: Duration::from_secs_f64(self.connect_timeout),
            connect_concurrency: self.connect_concurrency,
            drain: Duration::from_secs_f64(self.drain),
            ca_cert: self.ca_cert.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Args {
        let mut argv = vec!["tandem-load", "--url", "ws://127.0.0.1:1234/"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn defaults_validate_and_split_readers() {
        let config = parse(&["--docs", "3", "--clients-per-doc", "10", "--read-only-ratio", "0.3"])
            .validate()
            .unwrap();
        assert_eq!(config.urls, ["ws://127.0.0.1:1234"]);
        assert_eq!(config.writers_per_doc, 7);
        assert_eq!(config.total_clients(), 30);
        assert_eq!(config.total_writers(), 21);
        assert_eq!(
            config.doc_url(2, 0, Extensions::Tandem),
            "ws://127.0.0.1:1234/doc-2?ext=durable"
        );
        assert_eq!(config.doc_url(0, 0, Extensions::Stock), "ws://127.0.0.1:1234/doc-0");
        assert_eq!(config.protocol, Protocol::YWebsocket);
        assert_eq!(config.reconnect, Reconnect::Always);
    }

    #[test]
    fn several_urls_spread_each_documents_clients_over_the_nodes() {
        let config = parse(&["--url", "ws://b:2", "--url", "ws://c:3/", "--clients-per-doc", "4"])
            .validate()
            .unwrap();
        assert_eq!(config.urls, ["ws://127.0.0.1:1234", "ws://b:2", "ws://c:3"]);
        let nodes: Vec<usize> = (0..4).map(|i| config.node_of(i)).collect();
        assert_eq!(nodes, [0, 1, 2, 0]);
        assert_eq!(config.doc_url(1, config.node_of(2), Extensions::Stock), "ws://c:3/doc-1");
    }

    #[test]
    fn the_protocol_shapes_the_urls() {
        let config = parse(&["--protocol", "y-sweet"]).validate().unwrap();
        assert_eq!(config.doc_url(3, 0, Extensions::Stock), "ws://127.0.0.1:1234/doc/ws/doc-3");
        let config = parse(&["--protocol", "hocuspocus"]).validate().unwrap();
        assert_eq!(config.protocol, Protocol::Hocuspocus);
    }

    #[test]
    fn rate_zero_means_idle_clients() {
        let config = parse(&["--rate", "0", "--clients-per-doc", "5"]).validate().unwrap();
        assert_eq!(config.writers_per_doc, 0);
    }

    #[test]
    fn bad_flags_are_refused() {
        let cases: [(&[&str], ConfigError); 7] = [
            (&["--protocol", "hocuspocus", "--ext-durable"], ConfigError::DurableNeedsYWebsocket),
            (&["--protocol", "y-sweet", "--url", "ws://b:2"], ConfigError::OneYSweetNode),
            (&["--docs", "0"], ConfigError::Zero("docs")),
            (&["--verify-durable"], ConfigError::VerifyWithoutDurable),
            (
                &["--read-only-ratio", "1.5"],
                ConfigError::OutOfRange { name: "read-only-ratio", range: "[0, 1]", value: 1.5 },
            ),
            (
                &["--rate", "NaN"],
                ConfigError::OutOfRange { name: "rate", range: "[0, 10000]", value: f64::NAN },
            ),
            (&["--payload", "0"], ConfigError::Zero("payload")),
        ];
        for (flags, expected) in cases {
            let got = parse(flags).validate().unwrap_err();
            // NaN != NaN, so compare the messages.
            assert_eq!(got.to_string(), expected.to_string(), "{flags:?}");
        }
        let args = parse(&["--url", "http://x"]);
        assert_eq!(args.validate().unwrap_err(), ConfigError::BadUrl("http://x".into()));
    }
}
