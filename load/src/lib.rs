//! tandem-load: a load generator for y-websocket-compatible sync servers.
//!
//! Simulated clients connect to `URL/<doc>` (y-websocket's convention: the path names the
//! document), sync with the y-protocols messages of [`tandem_crdt`], type single-char edits at
//! a Poisson rate and measure, at the other clients of the same document, how long each
//! keystroke took to arrive. All clients live in one process, so a shared [`SendLog`] keyed by
//! Yjs client id and clock identifies every received insert without putting timestamps on the
//! wire. The same run works against tandem-server, the stock node y-websocket server or any
//! other compatible server; `--protocol hocuspocus` and `--protocol y-sweet` speak those
//! servers' dialects (see [`Protocol`]). Several `--url`s spread each document's clients over
//! the nodes of a cluster and report the latency between nodes apart.
//!
//! ```no_run
//! use clap::Parser;
//! use tandem_load::{Args, run};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let args = Args::parse_from(["tandem-load", "--url", "ws://127.0.0.1:8080", "--duration", "2"]);
//! let report = run(args.validate()?).await?;
//! println!("{}", report.human());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod client;
mod config;
mod protocol;
mod run;
mod seed;
mod stats;
mod verify;

pub use config::{Args, ConfigError, LoadConfig, Reconnect};
pub use protocol::{Protocol, ProtocolError, create_document};
pub use run::run;
pub use seed::seed_document;
pub use stats::{
    ConnectionReport, DurableReport, Latencies, LatencySummary, Report, SeedReport, SendLog, Stats,
    VerifyReport,
};
pub use verify::{DocAddress, count_missing, fetch_state};
