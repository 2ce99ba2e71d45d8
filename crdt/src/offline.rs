//! What a client keeps on disk (or in IndexedDB) between sessions: the document's full state
//! and the local updates no server has confirmed durable yet.

use yrs::encoding::read::{Cursor, Read};
use yrs::encoding::write::Write;

use crate::error::{Error, Result};

/// Identifies the format; the trailing digit is its version.
const MAGIC: &[u8; 8] = b"TANDEM1\n";

/// A client's stored copy of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfflineState {
    /// The full document state (an update from the empty document).
    pub state: Vec<u8>,
    /// Local updates not yet confirmed durable by a server, oldest first. The state already
    /// contains them; they are kept apart so the client knows what is still at risk.
    pub unconfirmed: Vec<Vec<u8>>,
}

impl OfflineState {
    /// The bytes to store.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + self.state.len() + 16);
        out.extend_from_slice(MAGIC);
        out.write_buf(&self.state);
        out.write_var(self.unconfirmed.len() as u64);
        for update in &self.unconfirmed {
            out.write_buf(update);
        }
        out
    }

    /// Reads stored bytes; anything truncated or foreign is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| Error::MalformedOfflineState(e.to_string());
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad(&"not a tandem offline state (wrong header)"))?;
        let mut cursor = Cursor::new(body);
        let state = cursor.read_buf().map_err(|e| bad(&e))?.to_vec();
        let count: u64 = cursor.read_var().map_err(|e| bad(&e))?;
        let mut unconfirmed = Vec::new();
        for _ in 0..count {
            unconfirmed.push(cursor.read_buf().map_err(|e| bad(&e))?.to_vec());
        }
        if cursor.has_content() {
            return Err(bad(&"trailing bytes after the last update"));
        }
        Ok(Self { state, unconfirmed })
    }
}

/// Local updates waiting for a server's durable confirmation, each with the number it was sent
/// under on the current connection.
#[derive(Debug, Clone, Default)]
pub struct UnconfirmedUpdates {
    entries: Vec<(Vec<u8>, Option<u64>)>,
}

impl UnconfirmedUpdates {
    /// Updates restored from an [`OfflineState`]; none counts as sent.
    pub fn from_updates(updates: Vec<Vec<u8>>) -> Self {
        Self { entries: updates.into_iter().map(|u| (u, None)).collect() }
    }

    /// Records a new local update, sent as number `sent_as` if the client is connected.
    pub fn push(&mut self, update: Vec<u8>, sent_as: Option<u64>) {
        self.entries.push((update, sent_as));
    }

    /// Every update so far went out within message number `seq` (a SyncStep2 carries the whole
    /// diff, so it covers all of them).
    pub fn mark_all_sent(&mut self, seq: u64) {
        for (_, sent) in &mut self.entries {
            sent.get_or_insert(seq);
        }
    }

    /// The connection dropped: nothing is in flight any more.
    pub fn mark_all_unsent(&mut self) {
        for (_, sent) in &mut self.entries {
            *sent = None;
        }
    }

    /// The server stored messages up to number `seq`: forget what they carried. Returns how
    /// many updates were confirmed.
    pub fn confirm(&mut self, seq: u64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(_, sent)| !sent.is_some_and(|s| s <= seq));
        before - self.entries.len()
    }

    /// How many updates are not yet confirmed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every update is confirmed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The unconfirmed updates, oldest first.
    pub fn updates(&self) -> Vec<Vec<u8>> {
        self.entries.iter().map(|(u, _)| u.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OfflineState {
        OfflineState { state: vec![1, 2, 3, 4], unconfirmed: vec![vec![9; 130], vec![], vec![7]] }
    }

    #[test]
    fn round_trips() {
        for state in [OfflineState::default(), sample()] {
            assert_eq!(OfflineState::decode(&state.encode()).unwrap(), state);
        }
        assert!(sample().encode().starts_with(b"TANDEM1\n"));
    }

    #[test]
    fn every_truncation_and_extension_is_an_error() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(
                matches!(OfflineState::decode(&bytes[..cut]), Err(Error::MalformedOfflineState(_))),
                "cut at {cut} decoded"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(OfflineState::decode(&longer).is_err());
        let mut foreign = bytes;
        foreign[6] = b'2';
        assert!(OfflineState::decode(&foreign).is_err(), "another format version");
    }

    #[test]
    fn a_huge_count_fails_without_allocating_for_it() {
        let mut bytes = MAGIC.to_vec();
        bytes.write_buf([]);
        bytes.write_var(u64::MAX);
        assert!(OfflineState::decode(&bytes).is_err());
    }

    #[test]
    fn unconfirmed_updates_are_confirmed_by_send_number() {
        let mut pending = UnconfirmedUpdates::from_updates(vec![vec![1]]);
        assert_eq!(pending.confirm(u64::MAX), 0, "restored updates were never sent");
        pending.push(vec![2], None); // typed offline
        pending.mark_all_sent(1); // the SyncStep2 (message 1) carried both
        pending.push(vec![3], Some(2));
        pending.push(vec![4], Some(3));
        assert_eq!(pending.len(), 4);
        assert_eq!(pending.confirm(2), 3);
        assert_eq!(pending.updates(), vec![vec![4]]);
        pending.mark_all_unsent(); // connection dropped before message 3 was confirmed
        assert_eq!(pending.confirm(3), 0, "a new connection's numbers mean other messages");
        pending.mark_all_sent(1);
        assert_eq!(pending.confirm(1), 1);
        assert!(pending.is_empty());
    }
}
