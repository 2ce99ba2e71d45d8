//! Collaborative editing: the terminal editor as a client of tandem-server (or of any stock
//! y-websocket server), with offline editing that merges later.
//!
//! - [`Collab`]: sans-IO glue between an [`Editor`](crate::Editor) and a
//!   [`tandem_crdt::Client`]: local edits into the CRDT, remote deltas into the rope, remote
//!   cursors, per-user undo, the status text.
//! - [`SharedHistory`]: the editor's history in collaborative mode (undo comes from the CRDT).
//! - [`OfflineStore`]: the document and every unconfirmed local update on disk.
//! - [`NetHandle`]: a background websocket with reconnection, backoff and jitter.
//! - [`Multiplexer`]: one websocket for many documents' [`NetHandle`]s (a workspace's files).
//! - [`SharedDoc`]: all of the above for one document; the front end ([`crate::app::App`]) holds
//!   one for a shared document and feeds it network events.
//! - [`HistoryClient`]: the document's version history on tandem-server (REST).
//! - [`commands`]: the session's own `undo` and `redo`, registered over the built-in ones.
//!
//! Nothing here draws: the renderer (`ui/`) shows the peers this module reports.
//!
//! All positions are char offsets into the buffer.
//!
//! ```
//! use tandem::collab::Collab;
//! use tandem::{Editor, KeyEvent, Keys};
//! use tandem_crdt::{Client, DocumentConfig, Extensions, UserInfo};
//!
//! let user = UserInfo { name: "ada".into(), color: "#ee6352".into(), color_light: None };
//! let client = Client::new(DocumentConfig::new(7), Extensions::Tandem).unwrap();
//! let mut collab = Collab::new(client, user);
//! let mut ed = Editor::new("");
//! for key in KeyEvent::typed("hi") {
//!     Keys::default().press(&mut ed, key);
//! }
//! // Not connected: no frames yet, the edit waits in the client as unconfirmed.
//! assert!(collab.flush(&mut ed, 0).unwrap().is_empty());
//! assert_eq!(collab.client().document().text(), "hi");
//! assert_eq!(collab.client().unconfirmed_count(), 2); // one update per keystroke
//! ```

mod commands;
mod history;
mod identity;
mod mux;
mod net;
mod session;
mod shared;
mod store;
mod versions;

#[cfg(test)]
mod tests;

pub use commands::commands;
pub use history::{ChangeTracking, SharedHistory};
pub use identity::{Target, name_colour, user_color, user_name};
pub use mux::{Endpoint, Multiplexer};
pub use net::{NetEvent, NetHandle, backoff};
pub use session::{Collab, Connection, Frames, PRESENCE_RENEW_MS, PeerView, Received};
pub use shared::{AppOptions, SharedDoc, now_ms};
pub use store::{COMPACT_LOG_BYTES, Loaded, OfflineStore, Origin, StoreError, safe_name};
pub use versions::{AuthorRun, HistoryClient, HistoryError, VersionInfo, version_line};

/// What can go wrong in a collaborative session.
#[derive(Debug, thiserror::Error)]
pub enum CollabError {
    /// The document URL is not `ws://HOST:PORT/DOC-ID`.
    #[error("bad document URL {0}")]
    Url(String),
    /// The colour is not `#rrggbb`.
    #[error("invalid colour {0:?} (expected \"#rrggbb\")")]
    Colour(String),
    /// The CRDT refused something (a malformed frame from the server, a corrupt stored state).
    #[error(transparent)]
    Crdt(#[from] tandem_crdt::Error),
    /// The local store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The linked file could not be read.
    #[error(transparent)]
    File(#[from] crate::file::FileError),
    /// The linked file cannot hold the document.
    #[error("cannot link {path}: {reason}")]
    Link {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// The network thread could not start.
    #[error("starting the network thread: {0}")]
    Net(std::io::Error),
    /// The TLS configuration (`--ca-cert`) could not be built.
    #[error(transparent)]
    Tls(#[from] tandem_connect::TlsConfigError),
}
