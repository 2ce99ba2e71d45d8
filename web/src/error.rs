//! The one error type of tandem-web.

/// Everything the bindings refuse. The page shows the message and, for errors from the server's
/// frames, drops the connection and reconnects.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// tandem-crdt refused an edit, a frame or stored state.
    #[error(transparent)]
    Crdt(#[from] tandem_crdt::Error),
    /// A client id from JS was not an integer in 0..2^53.
    #[error("client id {0} is not an integer in 0..2^53")]
    BadClientId(f64),
    /// A UTF-16 range from JS ended before it started.
    #[error("UTF-16 range {from}..{to} is reversed")]
    ReversedRange {
        /// Start of the range.
        from: usize,
        /// End of the range.
        to: usize,
    },
}
