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

fn guarded<T>(decode: impl FnOnce() -> T) -> Option<T> {
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

/// Checks the origins of every item in a lib0 v1 update that [`update`] decoded: an item sits
/// between its left and its right origin, so they cannot be the same unit, and neither can lie
/// inside the item itself. A peer's own edits always satisfy this; a forged or corrupted item
/// that does not makes yrs scan past its origins, and where it lands then depends on how the
/// blocks around it happen to be split, so replicas that split them differently disagree.
pub(crate) fn consistent_origins(bytes: &[u8]) -> Result<()> {
    guarded(|| scan_origins(bytes))
        .ok_or_else(|| Error::MalformedUpdate(BAD_CLIENT_ID.into()))?
        .map_err(|e| Error::MalformedUpdate(e.to_string()))?
        .map_or(Ok(()), |problem| Err(Error::MalformedUpdate(problem.into())))
}

/// Walks the blocks as yrs' own decoder does, keeping only ids; `Ok(Some(problem))` names the
/// first contradiction found.
fn scan_origins(bytes: &[u8]) -> Result<Option<&'static str>, yrs::encoding::read::Error> {
    use yrs::block::{BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB};
    use yrs::block::{HAS_RIGHT_ORIGIN, ItemContent};
    use yrs::updates::decoder::{Decoder, DecoderV1};

    let mut decoder = DecoderV1::new(Cursor::new(bytes));
    let clients: u32 = decoder.read_var()?;
    for _ in 0..clients {
        let blocks: u32 = decoder.read_var()?;
        let client = decoder.read_client()?;
        let mut clock: u32 = decoder.read_var()?;
        for _ in 0..blocks {
            let info = decoder.read_info()?;
            if info == BLOCK_SKIP_REF_NUMBER {
                clock += decoder.read_var::<u32>()?;
                continue;
            }
            if info == BLOCK_GC_REF_NUMBER {
                clock += decoder.read_len()?;
                continue;
            }
            let left = (info & HAS_ORIGIN != 0).then(|| decoder.read_left_id()).transpose()?;
            let right =
                (info & HAS_RIGHT_ORIGIN != 0).then(|| decoder.read_right_id()).transpose()?;
            if left.is_none() && right.is_none() {
                if decoder.read_parent_info()? {
                    decoder.read_string()?;
                } else {
                    decoder.read_left_id()?;
                }
                if info & HAS_PARENT_SUB != 0 {
                    decoder.read_string()?;
                }
            }
            let len = ItemContent::decode(&mut decoder, info)?.len_utf16();
            let inside =
                |id: &yrs::ID| id.client == client && (clock..clock + len).contains(&id.clock);
            if left.is_some() && left == right {
                return Ok(Some("an item's left and right origins are the same"));
            }
            if left.iter().chain(&right).any(inside) {
                return Ok(Some("an item is its own origin"));
            }
            clock += len;
        }
    }
    Ok(None)
}
