//! tandem-crdt: the one CRDT model every tandem client and the server share.
//!
//! A thin, sans-IO layer over [yrs](https://docs.rs/yrs) (the Rust port of Yjs): no sockets, no
//! files, no clock, no randomness — time and client ids come in as arguments, so the same code
//! runs in the terminal editor, the server and the browser (it builds for
//! `wasm32-unknown-unknown`).
//!
//! - [`Document`]: one root `Y.Text`, edited by **char index** (ropey's unit); local edits
//!   return the update to send, remote updates return a [`Delta`] in chars.
//! - [`offsets`]: the one place chars, UTF-16 units and UTF-8 bytes are converted.
//! - Sticky positions ([`StickySelection`]) that follow text through concurrent edits.
//! - [`Presence`]: the awareness CRDT, with y-codemirror's field names.
//! - Per-user undo ([`Document::undo`]): only this replica's edits, grouped in time.
//! - [`Message`] and [`SyncSession`]: the y-protocols wire format and the sync conversation,
//!   bytes in and bytes out, plus tandem's durability extension.
//! - [`ClientRun`]s ([`Document::client_runs`]): who inserted each stretch of the text.
//! - [`diff`]: the minimal change between two texts (a restore, a file diffed in, a preview).
//! - [`validate_doc_id`] and [`doc_id_from_path`]: the document-id rule and its URL form.
//! - [`Client`] and [`OfflineState`]: what a client keeps across connections and restarts.
//!
//! ```
//! use tandem_crdt::{
//!     Client, Document, DocumentConfig, Extensions, PeerAccess, Presence, SessionConfig, SyncSession,
//! };
//!
//! // A server-side replica and a client, wired back to back.
//! let mut server_doc = Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) }).unwrap();
//! let mut server_presence = Presence::new(1);
//! let mut server = SyncSession::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite));
//! let mut client = Client::new(DocumentConfig::new(2), Extensions::Tandem).unwrap();
//!
//! let mut to_server = client.connect().unwrap();
//! let mut to_client = server.open(&server_doc, &server_presence).unwrap();
//! to_server.extend(client.replace(0..0, "hi 👋", 10).unwrap());
//! while !to_server.is_empty() || !to_client.is_empty() {
//!     for frame in std::mem::take(&mut to_server) {
//!         let incoming = server.receive(&frame, &mut server_doc, &mut server_presence, 10).unwrap();
//!         to_client.extend(incoming.replies);
//!     }
//!     for frame in std::mem::take(&mut to_client) {
//!         to_server.extend(client.receive(&frame, 10).unwrap().replies);
//!     }
//! }
//! assert_eq!(server_doc.text(), "hi 👋");
//! ```
#![deny(missing_docs)]

mod authorship;
mod client;
mod decode;
mod delta;
pub mod diff;
mod doc_id;
mod document;
mod error;
pub mod mux;
mod offline;
pub mod offsets;
mod ownership;
mod peer_update;
mod presence;
mod protocol;
mod session;

pub use authorship::ClientRun;
pub use client::{Client, ClientEvent, JournalEntry, LocalView};
pub use delta::{Delta, DeltaOp, TextEdit};
pub use doc_id::{DocIdError, MAX_DOC_ID_BYTES, doc_id_from_path, doc_id_to_path, validate_doc_id};
pub use document::{
    DEFAULT_TEXT_NAME, DEFAULT_UNDO_GROUP_MS, Document, DocumentConfig, EMPTY_UPDATE, Integrated,
    LocalChange, MAX_CLIENT_ID, client_id_from_random,
};
pub use error::{Error, Result};
pub use offline::{OfflineState, UnconfirmedUpdates};
pub use presence::{
    PRESENCE_TIMEOUT_MS, Peer, Presence, PresenceChange, PresenceState, StickySelection, UserInfo,
    ViewPresence,
};
pub use protocol::{
    MSG_ACCESS, MSG_AUTH, MSG_AWARENESS, MSG_DURABLE, MSG_GONE, MSG_QUERY_AWARENESS, MSG_SYNC,
    Message, Removal,
};
pub use session::{Extensions, Incoming, PeerAccess, Role, SessionConfig, SyncSession};
pub use yrs::{Assoc, StickyIndex};

#[cfg(test)]
mod tests {
    use super::*;

    /// The server moves documents between tokio worker threads.
    #[test]
    fn shared_types_are_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Document>();
        assert_send::<Presence>();
        assert_send::<SyncSession>();
        assert_send::<Client>();
    }
}
