//! tandem-web: the browser client's bindings over [`tandem_crdt::Client`].
//!
//! The browser editor (CodeMirror 6) counts positions in UTF-16 code units, like every JS string;
//! tandem-crdt counts in chars. [`ViewClient`] is the one place that converts between them: it
//! takes and returns UTF-16 positions and keeps a record of where the astral characters of the
//! editor's text are, so that a remote change, which tandem-crdt reports in chars of the text
//! *before* the change, turns into CodeMirror changes in that same text's UTF-16 offsets.
//!
//! [`ViewClient`] is plain Rust (tested natively); [`WebClient`] is its `wasm-bindgen` face,
//! which only converts values to and from JS. Time (`Date.now()`) and the client id (53 random
//! bits from `crypto.getRandomValues`) come in from JS: tandem-crdt reads no clock.
//!
//! ```
//! use tandem_web::ViewClient;
//!
//! let mut client = ViewClient::new(7, "ada", "#e91e63").unwrap();
//! client.replace(0, 0, "hi 👋!", 0).unwrap();
//! // "👋" is two UTF-16 units: the "!" after it sits at UTF-16 offset 5.
//! client.replace(5, 6, "?", 0).unwrap();
//! assert_eq!(client.text(), "hi 👋?");
//! ```
#![deny(missing_docs)]

mod bindings;
mod error;
mod view;

pub use bindings::WebClient;
pub use error::WebError;
pub use view::{HistoryStep, PeerView, RemoteEvent, Utf16Change, ViewClient};
