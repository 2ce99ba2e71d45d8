//! The one error type of tandem-crdt.

/// Everything that can go wrong in tandem-crdt. Malformed input from a peer, a file or a user is
/// always one of these, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A char index or range lies outside the document.
    #[error("char range {start}..{end} is outside a text of {len} chars")]
    OutOfRange {
        /// First char of the requested range.
        start: usize,
        /// One past the last char of the requested range.
        end: usize,
        /// Length of the text in chars.
        len: usize,
    },
    /// A UTF-16 offset pointed into the middle of a surrogate pair or past the end.
    #[error("UTF-16 offset {0} is not on a character boundary of the text")]
    BadUtf16Offset(usize),
    /// A client id does not fit the 53 bits that Yjs clients can represent.
    #[error("client id {0} does not fit in 53 bits")]
    BadClientId(u64),
    /// An update could not be decoded.
    #[error("malformed update: {0}")]
    MalformedUpdate(String),
    /// An update decoded but could not be applied.
    #[error("update could not be applied: {0}")]
    UpdateRejected(String),
    /// An update integrated differently from its own re-encoding, so replicas would disagree
    /// (see [`crate::Document::integrate_update`]). The document it was applied to has changed
    /// and must be discarded.
    #[error("update does not integrate the same way when re-encoded")]
    IrreproducibleUpdate,
    /// A state vector could not be decoded.
    #[error("malformed state vector: {0}")]
    MalformedStateVector(String),
    /// A protocol frame could not be decoded.
    #[error("malformed message: {0}")]
    MalformedMessage(String),
    /// A frame carried a message type this side does not speak.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A frame was empty.
    #[error("empty message")]
    EmptyMessage,
    /// An awareness update could not be decoded or applied.
    #[error("malformed awareness update: {0}")]
    MalformedAwareness(String),
    /// Stored offline state could not be read.
    #[error("malformed offline state: {0}")]
    MalformedOfflineState(String),
    /// A sticky position could not be decoded.
    #[error("malformed sticky position: {0}")]
    MalformedPosition(String),
}

/// Result with tandem-crdt's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
