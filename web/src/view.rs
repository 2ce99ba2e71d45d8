//! [`ViewClient`]: a [`Client`] seen through an editor that counts in UTF-16.
//!
//! All positions in this module's public API are UTF-16 code units of the editor's text; the
//! [`Client`] underneath counts in chars.

use tandem_crdt::offsets::AstralIndex;
use tandem_crdt::{
    Client, Delta, DocumentConfig, Extensions, MAX_CLIENT_ID, OfflineState, PeerAccess, Removal,
    UserInfo,
};

use crate::error::WebError;

/// One replacement in the editor's text, in UTF-16 units of the text before the group of changes
/// it belongs to (CodeMirror's `{from, to, insert}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf16Change {
    /// First UTF-16 unit replaced.
    pub from: usize,
    /// One past the last UTF-16 unit replaced.
    pub to: usize,
    /// The text put there.
    pub insert: String,
}

/// What one frame from the server means for the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteEvent {
    /// Frames to send back.
    pub replies: Vec<Vec<u8>>,
    /// Text changes, one group per remote update; apply the groups in order, each as one
    /// editor transaction (a group's positions refer to the text the previous groups left).
    pub changes: Vec<Vec<Utf16Change>>,
    /// Someone else's presence changed: redraw cursors and the presence list.
    pub presence_changed: bool,
    /// The initial sync finished with this frame.
    pub synced: bool,
    /// How many local updates the server confirmed durable.
    pub confirmed: usize,
    /// The server refused access, with its reason.
    pub auth_denied: Option<String>,
    /// The server said what this connection may do (its `Access` message).
    pub access: Option<PeerAccess>,
    /// The document left this id (its `Gone` message).
    pub gone: Option<Removal>,
}

/// An undo or redo: the editor changes (one group) and the frames that carry it to the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryStep {
    /// Changes to apply to the editor, in UTF-16 units of its current text.
    pub changes: Vec<Utf16Change>,
    /// Frames to send (none while offline).
    pub frames: Vec<Vec<u8>>,
}

/// Another user as the page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// Their Yjs client id (below 2^53, so exact as a JS number).
    pub client_id: u64,
    /// Display name (empty when they sent none).
    pub name: String,
    /// CSS colour (empty when they sent none).
    pub color: String,
    /// Their selection's anchor and head in UTF-16 units, when they have one in this text.
    pub selection: Option<(usize, usize)>,
}

/// A tandem client whose positions are UTF-16 offsets of the editor's text.
///
/// The editor's text always equals the document's between calls: every local change goes
/// through [`ViewClient::replace`], and every change this returns must be applied to the editor
/// before the next call.
#[derive(Debug)]
pub struct ViewClient {
    client: Client,
    /// Astral characters of the editor's text. It equals the document's own index except while
    /// a remote delta is being converted: the delta is in chars of the text before it, which the
    /// document no longer has.
    view_index: AstralIndex,
    user: UserInfo,
    /// The local selection as char offsets `(anchor, head)`, republished with the user info.
    selection: Option<(usize, usize)>,
}

impl ViewClient {
    /// A client with an empty document. `client_id` must be fresh and random per page load.
    pub fn new(client_id: u64, name: &str, color: &str) -> Result<Self, WebError> {
        let client = Client::new(DocumentConfig::new(client_id), Extensions::Tandem)?;
        Ok(Self::around(client, name, color))
    }

    /// A client restored from bytes that [`ViewClient::offline_state`] produced earlier.
    pub fn restore(
        client_id: u64,
        name: &str,
        color: &str,
        stored: &[u8],
    ) -> Result<Self, WebError> {
        let stored = OfflineState::decode(stored)?;
        let client = Client::restore(DocumentConfig::new(client_id), &stored, Extensions::Tandem)?;
        Ok(Self::around(client, name, color))
    }

    fn around(client: Client, name: &str, color: &str) -> Self {
        let view_index = AstralIndex::from_text(&client.document().text());
        let user = UserInfo {
            name: name.to_owned(),
            color: color.to_owned(),
            color_light: Some(format!("{color}33")),
        };
        Self { client, view_index, user, selection: None }
    }

    /// Checks that a JS number is a usable client id.
    pub fn client_id_from_js(id: f64) -> Result<u64, WebError> {
        let valid = id.fract() == 0.0 && (0.0..=MAX_CLIENT_ID as f64).contains(&id);
        // The range check above makes the cast exact.
        if valid { Ok(id as u64) } else { Err(WebError::BadClientId(id)) }
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.client.document().text()
    }

    /// The bytes to keep in IndexedDB: document state and unconfirmed updates.
    pub fn offline_state(&self) -> Vec<u8> {
        self.client.offline_state().encode()
    }

    /// Local updates the server has not yet confirmed durable.
    pub fn unconfirmed_count(&self) -> usize {
        self.client.unconfirmed_count()
    }

    /// Whether the connection finished its initial sync.
    pub fn is_synced(&self) -> bool {
        self.client.is_synced()
    }

    /// The websocket opened: the frames to send first.
    pub fn connect(&mut self) -> Result<Vec<Vec<u8>>, WebError> {
        Ok(self.client.connect()?)
    }

    /// The websocket closed; edits go on locally and are sent after the next connect.
    pub fn disconnect(&mut self) {
        self.client.disconnect();
    }

    /// Handles one frame from the server.
    pub fn receive(&mut self, frame: &[u8], now_ms: u64) -> Result<RemoteEvent, WebError> {
        let event = self.client.receive(frame, now_ms)?;
        let changes = event.deltas.iter().map(|delta| self.view_changes(delta)).collect();
        Ok(RemoteEvent {
            replies: event.replies,
            changes,
            presence_changed: event.presence.iter().any(|change| !change.is_empty()),
            synced: event.synced,
            confirmed: event.confirmed,
            auth_denied: event.auth_denied,
            access: event.access,
            gone: event.gone,
        })
    }

    /// Replaces UTF-16 units `from..to` of the editor's text with `text` (the editor already
    /// did). Returns the frames to send (none while offline).
    pub fn replace(
        &mut self,
        from: usize,
        to: usize,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>, WebError> {
        if to < from {
            return Err(WebError::ReversedRange { from, to });
        }
        let document = self.client.document_mut();
        let start = document.utf16_to_char(from)?;
        let end = document.utf16_to_char(to)?;
        let frames = self.client.replace(start..end, text, now_ms)?;
        self.view_index.remove(start..end);
        self.view_index.insert(start, text);
        Ok(frames)
    }

    /// Undoes this user's last step (never anyone else's); `None` when there is nothing to undo.
    pub fn undo(&mut self, now_ms: u64) -> Result<Option<HistoryStep>, WebError> {
        let change = self.client.undo(now_ms)?;
        Ok(change.map(|(delta, frames)| HistoryStep { changes: self.view_changes(&delta), frames }))
    }

    /// Redoes this user's last undone step.
    pub fn redo(&mut self, now_ms: u64) -> Result<Option<HistoryStep>, WebError> {
        let change = self.client.redo(now_ms)?;
        Ok(change.map(|(delta, frames)| HistoryStep { changes: self.view_changes(&delta), frames }))
    }

    /// Ends the current undo step, so the next edit undoes on its own (the cursor jumped).
    pub fn end_undo_step(&mut self) {
        self.client.document_mut().end_undo_step();
    }

    /// Publishes the local selection (`None`: the editor lost focus). Returns frames to send.
    pub fn set_selection(
        &mut self,
        selection: Option<(usize, usize)>,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>, WebError> {
        self.selection = match selection {
            Some((anchor, head)) => {
                let document = self.client.document_mut();
                Some((document.utf16_to_char(anchor)?, document.utf16_to_char(head)?))
            }
            None => None,
        };
        self.publish_presence(now_ms)
    }

    /// Changes the displayed name and colour. Returns frames to send.
    pub fn set_user(
        &mut self,
        name: &str,
        color: &str,
        now_ms: u64,
    ) -> Result<Vec<Vec<u8>>, WebError> {
        self.user = UserInfo {
            name: name.to_owned(),
            color: color.to_owned(),
            color_light: Some(format!("{color}33")),
        };
        self.publish_presence(now_ms)
    }

    /// Sends the local presence again; peers drop anyone silent for 30 s, so the page calls this
    /// every 15 s.
    pub fn publish_presence(&mut self, now_ms: u64) -> Result<Vec<Vec<u8>>, WebError> {
        Ok(self.client.set_presence(self.user.clone(), self.selection, now_ms)?)
    }

    /// The frames that tell the others this user left.
    pub fn leave(&mut self, now_ms: u64) -> Result<Vec<Vec<u8>>, WebError> {
        Ok(self.client.leave(now_ms)?)
    }

    /// Forgets peers silent for too long; true if anyone was removed.
    pub fn expire_peers(&mut self, now_ms: u64) -> Result<bool, WebError> {
        Ok(self.client.expire_silent_peers(now_ms)?.is_some_and(|change| !change.is_empty()))
    }

    /// Everyone else in the document, with selections in UTF-16 units of the current text.
    pub fn peers(&mut self) -> Vec<PeerView> {
        let peers = self.client.peers();
        let document = self.client.document_mut();
        peers
            .into_iter()
            .map(|(peer, chars)| {
                let user = peer.state.user.unwrap_or_else(|| UserInfo {
                    name: String::new(),
                    color: String::new(),
                    color_light: None,
                });
                let selection = chars.and_then(|(anchor, head)| {
                    Some((document.char_to_utf16(anchor).ok()?, document.char_to_utf16(head).ok()?))
                });
                PeerView {
                    client_id: peer.client_id,
                    name: user.name,
                    color: user.color,
                    selection,
                }
            })
            .collect()
    }

    /// Turns a delta in chars of the editor's current text into one group of UTF-16 changes in
    /// that text's coordinates, and moves the view index past it.
    fn view_changes(&mut self, delta: &Delta) -> Vec<Utf16Change> {
        let mut changes = Vec::new();
        // The delta's edits are sequential (each in the text the previous ones left) and in
        // increasing order; `shift` is how far the earlier edits moved the text, in UTF-16 units,
        // which maps an edit back to the coordinates of the text before the group.
        let mut shift: isize = 0;
        for edit in delta.edits() {
            let end = edit.start + edit.removed;
            let from = self.view_index.char_to_utf16(edit.start);
            let to = self.view_index.char_to_utf16(end);
            let inserted_len = tandem_crdt::offsets::utf16_len(&edit.inserted);
            changes.push(Utf16Change {
                from: from.saturating_add_signed(-shift),
                to: to.saturating_add_signed(-shift),
                insert: edit.inserted.clone(),
            });
            shift += inserted_len as isize - (to - from) as isize;
            self.view_index.remove(edit.start..end);
            self.view_index.insert(edit.start, &edit.inserted);
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies groups of changes as CodeMirror would: each group in the coordinates of the text
    /// before it, changes in a group sorted and non-overlapping.
    fn apply(text: &mut String, groups: &[Vec<Utf16Change>]) {
        for group in groups {
            let mut units: Vec<u16> = text.encode_utf16().collect();
            for change in group.iter().rev() {
                let insert: Vec<u16> = change.insert.encode_utf16().collect();
                units.splice(change.from..change.to, insert);
            }
            *text = String::from_utf16(&units).expect("changes split a surrogate pair");
        }
    }

    /// Moves every frame between two clients and a relay until all are quiet.
    fn exchange(a: &mut ViewClient, view_a: &mut String, b: &mut ViewClient, view_b: &mut String) {
        let mut to_b = a.connect().unwrap();
        let mut to_a = b.connect().unwrap();
        while !to_a.is_empty() || !to_b.is_empty() {
            for frame in std::mem::take(&mut to_b) {
                let event = b.receive(&frame, 0).unwrap();
                apply(view_b, &event.changes);
                to_a.extend(event.replies);
            }
            for frame in std::mem::take(&mut to_a) {
                let event = a.receive(&frame, 0).unwrap();
                apply(view_a, &event.changes);
                to_b.extend(event.replies);
            }
        }
    }

    #[test]
    fn local_edits_take_utf16_offsets() {
        let mut client = ViewClient::new(1, "a", "#000000").unwrap();
        client.replace(0, 0, "a😀b中c", 0).unwrap();
        // "a" 0, "😀" 1..3, "b" 3, "中" 4, "c" 5.
        client.replace(3, 5, "", 0).unwrap();
        assert_eq!(client.text(), "a😀c");
        assert!(client.replace(2, 2, "x", 0).is_err(), "offset inside a surrogate pair");
        assert!(client.replace(3, 1, "x", 0).is_err(), "reversed range");
    }

    #[test]
    fn remote_changes_arrive_in_utf16_of_the_old_text() {
        let mut a = ViewClient::new(1, "a", "#000000").unwrap();
        let mut b = ViewClient::new(2, "b", "#ffffff").unwrap();
        a.replace(0, 0, "😀😀 中文 🎉", 0).unwrap();
        let (mut view_a, mut view_b) = (a.text(), String::new());
        exchange(&mut a, &mut view_a, &mut b, &mut view_b);
        assert_eq!(view_b, "😀😀 中文 🎉");

        // Concurrent edits on both sides of astral characters, then a sync.
        a.disconnect();
        b.disconnect();
        a.replace(2, 4, "x", 1).unwrap(); // second 😀 → x
        apply(&mut view_a, &[vec![Utf16Change { from: 2, to: 4, insert: "x".into() }]]);
        a.replace(7, 9, "🚀y", 1).unwrap(); // 🎉 → 🚀y (after "😀x 中文 ")
        view_a = a.text();
        b.replace(0, 0, "👋", 1).unwrap();
        b.replace(8, 9, "", 1).unwrap(); // drop 文 (after "👋😀😀 中")
        view_b = b.text();
        exchange(&mut a, &mut view_a, &mut b, &mut view_b);
        assert_eq!(a.text(), b.text());
        assert_eq!(view_a, a.text());
        assert_eq!(view_b, b.text());
        assert_eq!(view_a, "👋😀x 中 🚀y");
    }

    #[test]
    fn undo_reverts_only_local_edits_and_reports_view_changes() {
        let mut a = ViewClient::new(1, "a", "#000000").unwrap();
        let mut b = ViewClient::new(2, "b", "#ffffff").unwrap();
        a.replace(0, 0, "🙂 hello", 0).unwrap();
        let (mut view_a, mut view_b) = (a.text(), String::new());
        exchange(&mut a, &mut view_a, &mut b, &mut view_b);
        b.replace(0, 0, "B:", 1_000).unwrap();
        view_b = b.text();
        exchange(&mut a, &mut view_a, &mut b, &mut view_b);
        let step = a.undo(2_000).unwrap().expect("a has a step to undo");
        assert!(!step.frames.is_empty(), "a is connected: the undo goes out");
        apply(&mut view_a, &[step.changes]);
        assert_eq!(view_a, "B:");
        assert_eq!(a.text(), "B:");
        assert!(a.undo(2_001).unwrap().is_none());
        let step = a.redo(2_002).unwrap().expect("a has a step to redo");
        apply(&mut view_a, &[step.changes]);
        assert_eq!(view_a, "B:🙂 hello");
    }

    #[test]
    fn peers_see_selections_in_utf16() {
        let mut a = ViewClient::new(1, "ada", "#e91e63").unwrap();
        let mut b = ViewClient::new(2, "bob", "#2196f3").unwrap();
        a.replace(0, 0, "😀😀abc", 0).unwrap();
        let (mut view_a, mut view_b) = (a.text(), String::new());
        a.set_selection(Some((4, 6)), 0).unwrap();
        exchange(&mut a, &mut view_a, &mut b, &mut view_b);
        let peers = b.peers();
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].name, "ada");
        assert_eq!(peers[0].color, "#e91e63");
        assert_eq!(peers[0].selection, Some((4, 6)));
    }

    #[test]
    fn offline_state_round_trips_unconfirmed_edits() {
        let mut a = ViewClient::new(1, "a", "#000000").unwrap();
        a.replace(0, 0, "offline 中 ✍️", 0).unwrap();
        assert_eq!(a.unconfirmed_count(), 1);
        let restored = ViewClient::restore(3, "a", "#000000", &a.offline_state()).unwrap();
        assert_eq!(restored.text(), "offline 中 ✍️");
        assert_eq!(restored.unconfirmed_count(), 1);
        assert!(ViewClient::restore(3, "a", "#000000", b"garbage").is_err());
    }

    #[test]
    fn client_ids_from_js_must_be_53_bit_integers() {
        assert_eq!(ViewClient::client_id_from_js(42.0).unwrap(), 42);
        assert!(ViewClient::client_id_from_js(1.5).is_err());
        assert!(ViewClient::client_id_from_js(-1.0).is_err());
        assert!(ViewClient::client_id_from_js(2f64.powi(53)).is_err());
        assert!(ViewClient::client_id_from_js(f64::NAN).is_err());
    }
}
