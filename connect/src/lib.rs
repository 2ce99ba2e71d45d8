//! tandem-connect: how tandem's Rust clients (the terminal editor, tandem-load) reach a server.
//!
//! - [`Connector`]: opens `ws://` and `wss://` websockets with one rustls configuration
//!   ([`client_config`]): the platform's roots, which honour `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR`, plus a `--ca-cert FILE` for a private authority. Host names are always
//!   verified.
//! - [`Connector::request`]: one HTTP request to the server's JSON API (the version history).
//! - [`ConnectError`]: which step of an attempt failed (lookup, TCP, TLS/upgrade, time).
//! - [`Problem`]: what went wrong in words a person can act on, and whether to [`Retry`] soon,
//!   slowly or never. Pure, and the same for every client.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use tandem_connect::{Connector, Problem};
//!
//! let connector = Connector::new(None)?;
//! match connector.connect("wss://docs.example/notes", None).await {
//!     Ok((socket, _response)) => drop(socket),
//!     Err(error) => {
//!         let problem = Problem::from_connect(&error);
//!         eprintln!("{} (retry: {:?})", problem, problem.retry());
//!     }
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod connect;
mod http;
mod problem;
mod tls;

pub use connect::{ConnectError, Connector, DEFAULT_CONNECT_TIMEOUT, WsStream};
pub use http::HttpResponse;
pub use problem::{Problem, Retry, SLOW_RETRY};
pub use tls::{TlsConfigError, client_config};
