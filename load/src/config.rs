//! Command-line flags and their validation. Durations are in seconds on the command line and
//! [`Duration`]s after validation.

use std::time::Duration;

use clap::Parser;

/// Flags of `tandem-load`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tandem-load",
    version,
    about = "Load generator for y-websocket-compatible sync servers (tandem-server, the stock node server, ...)."
)]
pub struct Args {
    /// Server base URL; client i of document d connects to `URL/<doc-prefix><d>`.
    #[arg(long)]
    pub url: String,
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
    /// `--verify-durable` without `--ext-durable`.
    #[error("--verify-durable needs --ext-durable (only durable confirmations can be verified)")]
    VerifyWithoutDurable,
}

/// A validated run plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Base URL without a trailing slash.
    pub url: String,
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
    /// Ask for and count durable confirmations.
    pub ext_durable: bool,
    /// Verify confirmed updates at the end.
    pub verify_durable: bool,
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
    /// The websocket URL of document `doc`.
    pub fn doc_url(&self, doc: usize, ext_durable: bool) -> String {
        let query = if ext_durable { "?ext=durable" } else { "" };
        format!("{}/{}", self.url, self.doc_name(doc)) + query
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
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            return Err(ConfigError::BadUrl(self.url.clone()));
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
            url: self.url.trim_end_matches('/').to_owned(),
            docs: self.docs,
            clients_per_doc: self.clients_per_doc,
            writers_per_doc,
            rate: self.rate,
            duration: Duration::from_secs_f64(self.duration),
            payload: self.payload,
            delete_ratio: self.delete_ratio,
            ext_durable: self.ext_durable,
            verify_durable: self.verify_durable,
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
        assert_eq!(config.url, "ws://127.0.0.1:1234");
        assert_eq!(config.writers_per_doc, 7);
        assert_eq!(config.total_clients(), 30);
        assert_eq!(config.total_writers(), 21);
        assert_eq!(config.doc_url(2, true), "ws://127.0.0.1:1234/doc-2?ext=durable");
        assert_eq!(config.doc_url(0, false), "ws://127.0.0.1:1234/doc-0");
    }

    #[test]
    fn rate_zero_means_idle_clients() {
        let config = parse(&["--rate", "0", "--clients-per-doc", "5"]).validate().unwrap();
        assert_eq!(config.writers_per_doc, 0);
    }

    #[test]
    fn bad_flags_are_refused() {
        let cases: [(&[&str], ConfigError); 5] = [
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
        let mut args = parse(&[]);
        args.url = "http://x".into();
        assert_eq!(args.validate().unwrap_err(), ConfigError::BadUrl("http://x".into()));
    }
}
