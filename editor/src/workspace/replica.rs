//! [`Replica`]: the engine's copy of one document — a CRDT client restored from its offline
//! store, its connection, and what it has to send and store. The engine is not a user: it
//! publishes no presence, so editors show only the people in a file.

use tandem_crdt::{Client, DocumentConfig, MAX_CLIENT_ID};

use crate::collab::{CollabError, Loaded, NetEvent, NetHandle, OfflineStore};
use crate::text::Edit;

use super::diff;

/// One document of a workspace, as the engine holds it.
pub struct Replica {
    client: Client,
    store: OfflineStore,
    net: Option<NetHandle>,
    epoch: Option<u64>,
    outbox: Vec<Vec<u8>>,
    /// Finished an initial sync in this run: its text is the server's (plus local edits).
    synced: bool,
    /// The text changed by a remote update since [`Replica::take_changed`].
    changed: bool,
    /// Updates were applied since the last [`Replica::persist`].
    dirty: bool,
}

/// What one network event did to a replica.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    /// The text changed.
    pub text_changed: bool,
    /// The initial sync of this connection finished.
    pub synced: bool,
    /// The server refused access for good.
    pub refused: bool,
    /// The server confirmed local updates durable.
    pub confirmed: bool,
}

impl Replica {
    /// Restores the replica stored in `store` (an empty one when nothing is).
    pub fn open(mut store: OfflineStore) -> Result<Self, CollabError> {
        let loaded = store.load()?;
        if loaded.as_ref().is_some_and(|l| l.torn_tail) {
            tracing::warn!(store = %store.dir().display(), "torn tail in the store dropped");
        }
        // A fresh client id per run and document: the stored state holds the old ids' updates.
        let mut config = DocumentConfig::new(rand::random_range(1..=MAX_CLIENT_ID));
        // The engine never undoes: no undo manager per file.
        config.track_undo = false;
        let client = Loaded::restore(loaded.as_ref(), config)?;
        Ok(Self {
            client,
            store,
            net: None,
            epoch: None,
            outbox: Vec::new(),
            synced: false,
            changed: false,
            dirty: false,
        })
    }

    /// Starts its connection (`net` reports events; see [`crate::collab::Multiplexer::open`]).
    pub fn connect(&mut self, net: NetHandle) {
        self.net = Some(net);
    }

    /// The text.
    pub fn text(&self) -> String {
        self.client.document().text()
    }

    /// Whether it finished an initial sync with the server in this run.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Whether a connection is open and synced.
    pub fn online(&self) -> bool {
        self.epoch.is_some() && self.client.is_synced()
    }

    /// Local updates the server has not confirmed durable yet.
    pub fn unconfirmed(&self) -> usize {
        self.client.unconfirmed_count()
    }

    /// The store (for the base text beside it).
    pub fn store(&self) -> &OfflineStore {
        &self.store
    }

    /// Whether a remote update changed the text since the last call; resets it.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Whether a remote update changed the text since [`Replica::take_changed`].
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Handles one network event.
    pub fn network(&mut self, event: NetEvent, now_ms: u64) -> Effect {
        let mut effect = Effect::default();
        match event {
            NetEvent::Connecting { .. } => {}
            NetEvent::Connected { epoch } => {
                self.epoch = Some(epoch);
                match self.client.connect() {
                    Ok(frames) => self.outbox.extend(frames),
                    Err(e) => tracing::error!(error = %e, "opening a sync session"),
                }
            }
            NetEvent::Frame { epoch, bytes } => {
                if self.epoch != Some(epoch) {
                    return effect;
                }
                self.dirty = true;
                match self.client.receive(&bytes, now_ms) {
                    Ok(event) => {
                        self.outbox.extend(event.replies);
                        effect.text_changed = event.deltas.iter().any(|d| !d.is_empty());
                        self.changed |= effect.text_changed;
                        if event.synced {
                            self.synced = true;
                            effect.synced = true;
                        }
                        effect.refused = event.auth_denied.is_some();
                        effect.confirmed = event.confirmed > 0;
                    }
                    Err(e) => {
                        // Its sync state is unknown: drop the connection, the next one resyncs.
                        tracing::warn!(error = %e, "malformed frame; reconnecting");
                        self.disconnected();
                        if let Some(net) = &self.net {
                            net.reset(epoch, format!("malformed frame from the server: {e}"));
                        }
                    }
                }
            }
            NetEvent::Disconnected { .. } => self.disconnected(),
            NetEvent::Refused { problem } => {
                tracing::error!(%problem, "refused");
                self.disconnected();
                effect.refused = true;
            }
        }
        effect
    }

    fn disconnected(&mut self) {
        self.epoch = None;
        self.outbox.clear();
        self.client.disconnect();
    }

    /// Makes the text `new` by the smallest change (see [`diff::minimal_edits`]); returns whether
    /// anything changed.
    pub fn set_text(&mut self, new: &str, now_ms: u64) -> Result<bool, CollabError> {
        let old = self.text();
        let edits = diff::minimal_edits(&old, new);
        self.apply(&edits, now_ms)?;
        Ok(!edits.is_empty())
    }

    /// Applies edits (ascending, in the current text's chars, as [`diff::minimal_edits`] gives).
    pub fn apply(&mut self, edits: &[Edit], now_ms: u64) -> Result<(), CollabError> {
        if edits.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        // One transaction, so that no peer ever sees half a change: a manifest rename is "add the
        // new line, delete the old one", and a peer that read the text in between would see one
        // id on two paths and fix the manifest to the first path (the old one), after which the
        // deletion left the file on no path at all and both sides deleted it. From the last edit
        // to the first, each range still means what it meant in the text the edits were made for.
        let reversed: Vec<(std::ops::Range<usize>, &str)> =
            edits.iter().rev().map(|edit| (edit.range.clone(), edit.text.as_str())).collect();
        let frames = self.client.replace_each(&reversed, now_ms)?;
        self.outbox.extend(frames);
        Ok(())
    }

    /// Sends what waits on the open connection.
    pub fn send(&mut self) {
        let frames = std::mem::take(&mut self.outbox);
        if let (Some(net), Some(epoch)) = (&self.net, self.epoch) {
            for frame in frames {
                net.send(epoch, frame);
            }
        }
    }

    /// Whether [`Replica::persist`] has anything to do.
    pub fn wants_persist(&self) -> bool {
        self.dirty
    }

    /// Appends the updates applied since the last call to the store (fsync'd), and rewrites the
    /// snapshot when the log is long. Confirmed updates stay logged as unconfirmed until the
    /// next snapshot: a restart sends them again, which is harmless (updates are idempotent).
    pub fn persist(&mut self) -> Result<(), CollabError> {
        self.dirty = false;
        let journal = self.client.drain_journal();
        self.store.append_journal(&journal)?;
        if self.store.wants_compaction() {
            self.snapshot()?;
        }
        Ok(())
    }

    /// Rewrites the snapshot (on exit, so the next start loads one file).
    pub fn snapshot(&mut self) -> Result<(), CollabError> {
        self.store.write_snapshot(&self.client.offline_state()).map_err(CollabError::from)
    }
}

#[cfg(test)]
mod tests {
    use tandem_crdt::{Document, JournalEntry};

    use super::*;
    use crate::workspace::manifest::Manifest;

    #[test]
    fn a_peer_never_sees_half_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let store = OfflineStore::new(dir.path(), "host:1", "team/.tandem/manifest");
        let mut replica = Replica::open(store).unwrap();
        replica.client.enable_journal();
        let before = "docs/guide.md\tdocs/guide.md\nsrc/lib.rs\tsrc/lib.rs\n";
        replica.set_text(before, 1).unwrap();
        let mut peer = Document::new(DocumentConfig::new(7)).unwrap();
        for entry in replica.client.drain_journal() {
            if let JournalEntry::Local(update) = entry {
                peer.apply_update(&update).unwrap();
            }
        }
        assert_eq!(peer.text(), before);

        let edits = Manifest::parse(before).rename("docs/guide.md", "manual/guide.md");
        assert!(edits.len() > 1, "a rename is several edits: {edits:?}");
        replica.apply(&edits, 2).unwrap();
        for entry in replica.client.drain_journal() {
            let JournalEntry::Local(update) = entry else { continue };
            peer.apply_update(&update).unwrap();
            // What a peer's engine would read, and fix the manifest to, at this point.
            let files = Manifest::parse(&peer.text()).files();
            assert_eq!(
                files.get("manual/guide.md").map(String::as_str),
                Some("docs/guide.md"),
                "the peer reads the file at its new path after every update: {files:?}"
            );
        }
        assert_eq!(Manifest::parse(&peer.text()).fixes(), Vec::new());
    }
}
