//! [`Client`]: everything a collaborative client (the terminal editor, the browser, the load
//! tool) keeps for one document: the replica, presence, the connection's session and the local
//! updates still at risk. It does no IO: the caller moves frames and stores [`OfflineState`].
//!
//! All positions are char offsets.

use std::ops::Range;

use crate::delta::Delta;
use crate::document::{Document, DocumentConfig};
use crate::error::Result;
use crate::offline::{OfflineState, UnconfirmedUpdates};
use crate::presence::{
    Peer, Presence, PresenceChange, PresenceState, StickySelection, ViewPresence,
};

/// Where this user looks, for [`Client::set_presence_with_view`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalView {
    /// Whether this document is the one in front of the user.
    pub focused: bool,
    /// Char offset of the first char they see.
    pub top: Option<usize>,
    /// In a workspace's manifest: the document in front of the user (see [`ViewPresence`]).
    pub file: Option<String>,
}
use crate::protocol::Removal;
use crate::session::{Extensions, PeerAccess, SessionConfig, SyncSession};

/// What a frame from the server meant for the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientEvent {
    /// Frames to send back.
    pub replies: Vec<Vec<u8>>,
    /// Changes to the text, to apply to the view in order.
    pub deltas: Vec<Delta>,
    /// Changes to other users' presence.
    pub presence: Vec<PresenceChange>,
    /// The initial sync finished with this frame.
    pub synced: bool,
    /// How many local updates this frame confirmed durable.
    pub confirmed: usize,
    /// The frame was a durability confirmation (tandem extension), even one that confirmed
    /// nothing new: the server is one that confirms, so an unconfirmed count means something.
    pub durable: bool,
    /// The server refused access.
    pub auth_denied: Option<String>,
    /// The server said what this connection may do (tandem extension).
    pub access: Option<PeerAccess>,
    /// The document left this id (tandem extension): keep the local copy, do not reconnect.
    pub gone: Option<Removal>,
}

/// An update the client applied since the journal was last drained, for an append-only store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEntry {
    /// Made here (an edit, undo or redo): unconfirmed until a server says it is durable.
    Local(Vec<u8>),
    /// Received from the server.
    Remote(Vec<u8>),
}

/// A collaborative client's state for one document.
#[derive(Debug)]
pub struct Client {
    document: Document,
    presence: Presence,
    unconfirmed: UnconfirmedUpdates,
    session: Option<SyncSession>,
    extensions: Extensions,
    journal: Option<Vec<JournalEntry>>,
    /// Per connection: what the server last said this one may do.
    access: Option<PeerAccess>,
}

impl Client {
    /// A client over an empty document. [`Extensions::Tandem`]: ask tandem servers for
    /// durability confirmations (the caller also says so when connecting, see the server's docs).
    pub fn new(config: DocumentConfig, extensions: Extensions) -> Result<Self> {
        let presence = Presence::new(config.client_id);
        Ok(Self {
            document: Document::new(config)?,
            presence,
            unconfirmed: UnconfirmedUpdates::default(),
            session: None,
            extensions,
            journal: None,
            access: None,
        })
    }

    /// A client restored from what it stored earlier. The restored updates stay unconfirmed
    /// until a server confirms them.
    pub fn restore(
        config: DocumentConfig,
        stored: &OfflineState,
        extensions: Extensions,
    ) -> Result<Self> {
        let presence = Presence::new(config.client_id);
        let mut document = Document::new(config)?;
        document.apply_update(&stored.state)?;
        for update in &stored.unconfirmed {
            document.apply_update(update)?;
        }
        Ok(Self {
            document,
            presence,
            unconfirmed: UnconfirmedUpdates::from_updates(stored.unconfirmed.clone()),
            session: None,
            extensions,
            journal: None,
            access: None,
        })
    }

    /// What to store now so that nothing is lost if the process dies.
    pub fn offline_state(&self) -> OfflineState {
        OfflineState {
            state: self.document.encode_state(),
            unconfirmed: self.unconfirmed.updates(),
        }
    }

    /// The replica.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The replica, mutably (cursor conversions need it).
    pub fn document_mut(&mut self) -> &mut Document {
        &mut self.document
    }

    /// Presence of everyone in the document.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Other users, with their cursors resolved to char positions where possible.
    pub fn peers(&mut self) -> Vec<(Peer, Option<(usize, usize)>)> {
        let peers = self.presence.peers();
        peers
            .into_values()
            .map(|peer| {
                let cursor =
                    peer.state.cursor.as_ref().and_then(|c| c.to_chars(&mut self.document));
                (peer, cursor)
            })
            .collect()
    }

    /// Local updates not yet confirmed durable by a server.
    pub fn unconfirmed_count(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Whether a connection is open (it may still be syncing).
    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    /// What the server lets this connection do, once it said so (tandem servers tell clients
    /// that asked for extensions); `None` while disconnected or before it did.
    pub fn access(&self) -> Option<PeerAccess> {
        self.access
    }

    /// Whether the connection finished its initial sync.
    pub fn is_synced(&self) -> bool {
        self.session.as_ref().is_some_and(SyncSession::is_synced)
    }

    /// A connection opened: returns the frames to send first.
    pub fn connect(&mut self) -> Result<Vec<Vec<u8>>> {
        let mut session = SyncSession::new(SessionConfig::client(self.extensions));
        self.presence.outrun_removal();
        let frames = session.open(&self.document, &self.presence)?;
        self.unconfirmed.mark_all_unsent();
        self.session = Some(session);
        self.access = None;
        Ok(frames)
    }

    /// The connection closed or failed. Edits go on locally and are sent on the next connect.
    pub fn disconnect(&mut self) {
        self.session = None;
        self.access = None;
        self.unconfirmed.mark_all_unsent();
    }

    /// Handles one frame from the server. An `Err` means the server sent something malformed;
    /// drop the connection.
    pub fn receive(&mut self, frame: &[u8], now_ms: u64) -> Result<ClientEvent> {
        let Some(session) = self.session.as_mut() else {
            return Ok(ClientEvent::default());
        };
        let sent_before = session.updates_sent();
        let incoming = session.receive(frame, &mut self.document, &mut self.presence, now_ms)?;
        if session.updates_sent() > sent_before {
            // We answered the server's SyncStep1: that SyncStep2 carries every local update.
            self.unconfirmed.mark_all_sent(session.updates_sent());
        }
        if let Some(journal) = self.journal.as_mut() {
            journal.extend(incoming.applied_updates.iter().cloned().map(JournalEntry::Remote));
        }
        let confirmed = incoming.durable.map_or(0, |seq| self.unconfirmed.confirm(seq));
        if incoming.access.is_some() {
            self.access = incoming.access;
        }
        Ok(ClientEvent {
            replies: incoming.replies,
            deltas: incoming.deltas,
            presence: incoming.presence.into_iter().map(|(_, change)| change).collect(),
            synced: incoming.synced,
            confirmed,
            durable: incoming.durable.is_some(),
            auth_denied: incoming.auth_denied,
            access: incoming.access,
            gone: incoming.gone,
        })
    }

    /// Replaces the chars in `range` with `text` (insert: empty range; delete: empty text).
    /// Returns the frames to send now (none while offline).
    pub fn replace(
        &mut self,
        range: Range<usize>,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let update = self.document.replace(range, text, now_ms)?;
        Ok(self.record_local_update(update))
    }

    /// Applies several replacements in order as one transaction (one update): a keystroke at
    /// several cursors. See [`Document::replace_each`]. Returns the frames to send now.
    pub fn replace_each(
        &mut self,
        edits: &[(Range<usize>, &str)],
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let update = self.document.replace_each(edits, now_ms)?;
        Ok(self.record_local_update(update))
    }

    /// Undoes this user's last step. Returns the delta for the view and the frames to send.
    pub fn undo(&mut self, now_ms: u64) -> Result<Option<(Delta, Vec<Vec<u8>>)>> {
        let change = self.document.undo(now_ms)?;
        Ok(change.map(|c| (c.delta, self.record_local_update(c.update))))
    }

    /// Redoes this user's last undone step.
    pub fn redo(&mut self, now_ms: u64) -> Result<Option<(Delta, Vec<Vec<u8>>)>> {
        let change = self.document.redo(now_ms)?;
        Ok(change.map(|c| (c.delta, self.record_local_update(c.update))))
    }

    /// Publishes who this user is and where the cursor is (`None`: no cursor). Returns frames.
    pub fn set_presence(
        &mut self,
        user: crate::presence::UserInfo,
        cursor: Option<(usize, usize)>,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let state = PresenceState { user: Some(user), cursor: self.sticky_cursor(cursor)? };
        let update = self.presence.set_local_state(&state, now_ms)?;
        Ok(self.frames_if_connected(SyncSession::awareness_frame(&update)))
    }

    /// [`Client::set_presence`] with where this user looks (see [`ViewPresence`]): whether this
    /// document is the one in front of them and the first char of their view.
    pub fn set_presence_with_view(
        &mut self,
        user: crate::presence::UserInfo,
        cursor: Option<(usize, usize)>,
        view: LocalView,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>> {
        let top = match view.top {
            Some(top) => Some(self.document.sticky_position(top, yrs::Assoc::After)?),
            None => None,
        };
        let state = PresenceState { user: Some(user), cursor: self.sticky_cursor(cursor)? };
        let view = ViewPresence { focused: view.focused, top, file: view.file };
        let update = self.presence.set_local_state_with_view(&state, &view, now_ms)?;
        Ok(self.frames_if_connected(SyncSession::awareness_frame(&update)))
    }

    /// A cursor `(anchor, head)` in chars as sticky positions for presence.
    fn sticky_cursor(&mut self, cursor: Option<(usize, usize)>) -> Result<Option<StickySelection>> {
        cursor
            .map(|(anchor, head)| StickySelection::from_chars(&mut self.document, anchor, head))
            .transpose()
    }

    /// The frame that tells everyone this user left (send it before closing).
    pub fn leave(&mut self, now_ms: u64) -> Result<Vec<Vec<u8>>> {
        let update = self.presence.clear_local_state(now_ms)?;
        Ok(self.frames_if_connected(SyncSession::awareness_frame(&update)))
    }

    /// Removes peers silent for too long; returns the change, if any.
    pub fn expire_silent_peers(&mut self, now_ms: u64) -> Result<Option<PresenceChange>> {
        Ok(self
            .presence
            .expire_silent(now_ms)?
            .map(|(removed, _)| PresenceChange { removed, ..PresenceChange::default() }))
    }

    /// Starts keeping a journal of every update applied from now on (see
    /// [`Client::drain_journal`]): a store can append these instead of rewriting the whole state.
    pub fn enable_journal(&mut self) {
        self.journal.get_or_insert_with(Vec::new);
    }

    /// The updates applied since the last call, oldest first (empty unless the journal is on).
    pub fn drain_journal(&mut self) -> Vec<JournalEntry> {
        self.journal.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn record_local_update(&mut self, update: Vec<u8>) -> Vec<Vec<u8>> {
        if let Some(journal) = self.journal.as_mut() {
            journal.push(JournalEntry::Local(update.clone()));
        }
        match self.session.as_mut() {
            Some(session) => {
                let (frame, seq) = session.send_update(&update);
                self.unconfirmed.push(update, Some(seq));
                vec![frame]
            }
            None => {
                self.unconfirmed.push(update, None);
                Vec::new()
            }
        }
    }

    fn frames_if_connected(&self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        if self.session.is_some() { vec![frame] } else { Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::{Presence, UserInfo};
    use crate::session::PeerAccess;

    /// A server replica with one session, for driving a client.
    struct Server {
        document: Document,
        presence: Presence,
        session: SyncSession,
    }

    impl Server {
        fn new() -> Self {
            Self {
                document: Document::new(DocumentConfig {
                    track_deltas: false,
                    ..DocumentConfig::new(100)
                })
                .unwrap(),
                presence: Presence::new(100),
                session: SyncSession::new(SessionConfig::server(
                    Extensions::Tandem,
                    PeerAccess::ReadWrite,
                )),
            }
        }

        /// Runs the conversation until quiet, confirming every update as durable at once.
        fn talk(&mut self, client: &mut Client, mut to_server: Vec<Vec<u8>>) -> Vec<ClientEvent> {
            let mut to_client = Vec::new();
            let mut events = Vec::new();
            while !to_server.is_empty() || !to_client.is_empty() {
                for frame in std::mem::take(&mut to_server) {
                    let incoming = self
                        .session
                        .receive(&frame, &mut self.document, &mut self.presence, 0)
                        .unwrap();
                    to_client.extend(incoming.replies);
                    if let Some(seq) = incoming.update_seq {
                        to_client.extend(self.session.durable_frame(seq, &self.document));
                    }
                }
                for frame in std::mem::take(&mut to_client) {
                    let event = client.receive(&frame, 0).unwrap();
                    to_server.extend(event.replies.clone());
                    events.push(event);
                }
            }
            events
        }
    }

    #[test]
    fn offline_edits_survive_a_restart_and_are_confirmed_on_connect() {
        let mut client = Client::new(DocumentConfig::new(1), Extensions::Tandem).unwrap();
        assert!(client.replace(0..0, "typed offline 😀", 0).unwrap().is_empty());
        assert_eq!(client.unconfirmed_count(), 1);
        let stored = OfflineState::decode(&client.offline_state().encode()).unwrap();

        let mut restarted =
            Client::restore(DocumentConfig::new(2), &stored, Extensions::Tandem).unwrap();
        assert_eq!(restarted.document().text(), "typed offline 😀");
        assert_eq!(restarted.unconfirmed_count(), 1);
        let mut server = Server::new();
        let opening = restarted.connect().unwrap();
        let mut to_server = opening;
        to_server.extend(server.session.open(&server.document, &server.presence).unwrap());
        // The server's own opening frames go to the client; route them through `talk` as replies.
        let server_opening = to_server.split_off(1);
        let mut events = Vec::new();
        for frame in server_opening {
            let event = restarted.receive(&frame, 0).unwrap();
            events.push(event);
        }
        let replies: Vec<Vec<u8>> = events.iter().flat_map(|e| e.replies.clone()).collect();
        to_server.extend(replies);
        let events = server.talk(&mut restarted, to_server);
        assert_eq!(server.document.text(), "typed offline 😀");
        assert!(restarted.is_synced());
        assert_eq!(restarted.access(), Some(crate::PeerAccess::ReadWrite), "the server said so");
        assert_eq!(events.iter().map(|e| e.confirmed).sum::<usize>(), 1);
        assert_eq!(restarted.unconfirmed_count(), 0);

        // Live edits are sent at once and confirmed one by one.
        let frames = restarted.replace(0..5, "", 0).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(restarted.unconfirmed_count(), 1);
        server.talk(&mut restarted, frames);
        assert_eq!(restarted.unconfirmed_count(), 0);
        assert_eq!(server.document.text(), " offline 😀");
    }

    #[test]
    fn a_durability_frame_is_reported_even_when_it_confirms_nothing_new() {
        let mut server = Server::new();
        let mut client = Client::new(DocumentConfig::new(1), Extensions::Tandem).unwrap();
        let opening = client.connect().unwrap();
        server.talk(&mut client, opening);
        let frames = client.replace(0..0, "x", 0).unwrap();
        let events = server.talk(&mut client, frames);
        assert!(events.iter().any(|e| e.durable && e.confirmed == 1));
        // The same confirmation again (a resend after a reconnect) confirms nothing new.
        let again = server.session.durable_frame(1, &server.document).unwrap();
        let event = client.receive(&again, 0).unwrap();
        assert!(event.durable);
        assert_eq!(event.confirmed, 0);
        // Any other frame is not a confirmation.
        let sync_step1 = server.session.open(&server.document, &server.presence).unwrap();
        assert!(!client.receive(&sync_step1[0], 0).unwrap().durable);
    }

    #[test]
    fn disconnect_keeps_unconfirmed_updates_for_the_next_connection() {
        let mut server = Server::new();
        let mut client = Client::new(DocumentConfig::new(1), Extensions::Tandem).unwrap();
        let opening = client.connect().unwrap();
        server.talk(&mut client, opening);
        let frames = client.replace(0..0, "x", 0).unwrap();
        client.disconnect();
        assert!(!client.is_connected());
        drop(frames); // lost in the network
        assert!(client.receive(&[0, 0, 1, 0], 0).unwrap() == ClientEvent::default());
        assert_eq!(client.unconfirmed_count(), 1);
        assert_eq!(client.offline_state().unconfirmed.len(), 1);
    }

    #[test]
    fn undo_and_presence_produce_frames_only_when_connected() {
        let mut client = Client::new(DocumentConfig::new(1), Extensions::Stock).unwrap();
        client.replace(0..0, "ab", 0).unwrap();
        let (delta, frames) = client.undo(1).unwrap().unwrap();
        assert!(frames.is_empty());
        let mut view = "ab".to_owned();
        delta.apply_to(&mut view).unwrap();
        assert_eq!(view, "");
        assert!(client.undo(2).unwrap().is_none());
        let (delta, _) = client.redo(3).unwrap().unwrap();
        delta.apply_to(&mut view).unwrap();
        assert_eq!(view, "ab");
        let user = UserInfo { name: "n".into(), color: "#123456".into(), color_light: None };
        assert!(client.set_presence(user.clone(), Some((0, 2)), 0).unwrap().is_empty());
        client.connect().unwrap();
        assert_eq!(client.set_presence(user, Some((1, 1)), 0).unwrap().len(), 1);
        assert!(
            client
                .set_presence(
                    UserInfo { name: "n".into(), color: "#123456".into(), color_light: None },
                    Some((5, 5)),
                    0
                )
                .is_err(),
            "a cursor past the end"
        );
        assert_eq!(client.leave(0).unwrap().len(), 1);
    }
}
