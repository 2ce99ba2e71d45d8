//! Decoding peers' bytes with yrs, without panics.
//!
//! yrs 0.28 `debug_assert!`s that every client id it decodes fits in 53 bits, so in a debug
//! build an update, state vector, awareness update or sticky position naming a larger id
//! panics inside yrs (a release build masks the id instead). Decoding is pure: it builds a new
//! value and touches no document, so catching that panic leaves nothing half-changed. This is
//! the one place tandem-crdt catches a panic. (On wasm32, where panics abort, release builds
//! are unaffected because the assertion is compiled out.)
//!
//! Each of these formats starts with a count that yrs reserves room for before reading the
//! entries: a five-byte message declaring 2^27 entries costs a third of a second and 256 MB.
//! Every entry takes at least one byte, so a count larger than the bytes that follow is
//! refused before yrs sees it.

use yrs::StateVector;
use yrs::Update;
use yrs::encoding::read::{Cursor, Read};
use yrs::sync::awareness::AwarenessUpdate;
use yrs::updates::decoder::Decode;

use crate::error::{Error, Result};

const BAD_CLIENT_ID: &str = "a client id does not fit in 53 bits";

/// Runs a decode, turning yrs' debug assertion on client ids into `None`.
pub(crate) fn guarded<T>(decode: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).ok()
}

/// Whether the leading count of `bytes` is no larger than the number of bytes after it.
fn plausible_count(bytes: &[u8]) -> bool {
    let mut cursor = Cursor::new(bytes);
    match cursor.read_var::<u64>() {
        Ok(count) => count <= (bytes.len() - cursor.next) as u64,
        // Let yrs report the malformed varint itself.
        Err(_) => true,
    }
}

const IMPLAUSIBLE_COUNT: &str = "declares more entries than it has bytes";

/// Decodes a lib0 v1 update.
pub(crate) fn update(bytes: &[u8]) -> Result<Update> {
    if !plausible_count(bytes) {
        return Err(Error::MalformedUpdate(IMPLAUSIBLE_COUNT.into()));
    }
    guarded(|| Update::decode_v1(bytes))
        .ok_or_else(|| Error::MalformedUpdate(BAD_CLIENT_ID.into()))?
        .map_err(|e| Error::MalformedUpdate(e.to_string()))
}

/// Decodes a lib0 v1 state vector.
pub(crate) fn state_vector(bytes: &[u8]) -> Result<StateVector> {
    if !plausible_count(bytes) {
        return Err(Error::MalformedStateVector(IMPLAUSIBLE_COUNT.into()));
    }
    guarded(|| StateVector::decode_v1(bytes))
        .ok_or_else(|| Error::MalformedStateVector(BAD_CLIENT_ID.into()))?
        .map_err(|e| Error::MalformedStateVector(e.to_string()))
}

/// Decodes an awareness update.
pub(crate) fn awareness(bytes: &[u8]) -> Result<AwarenessUpdate> {
    if !plausible_count(bytes) {
        return Err(Error::MalformedAwareness(IMPLAUSIBLE_COUNT.into()));
    }
    guarded(|| AwarenessUpdate::decode_v1(bytes))
        .ok_or_else(|| Error::MalformedAwareness(BAD_CLIENT_ID.into()))?
        .map_err(|e| Error::MalformedAwareness(e.to_string()))
}

/// Parses JSON into `T`; sticky positions inside name client ids, hence the guard.
pub(crate) fn json<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    guarded(|| serde_json::from_str(text).ok()).flatten()
}
