//! [`Presence`]: who is in a document and where their cursors are (the Yjs awareness CRDT).
//!
//! The local state uses the field names y-codemirror and y-monaco read, so stock Yjs editors show
//! tandem users and tandem shows theirs: `{ "user": { "name", "color" }, "cursor": { "anchor",
//! "head" } }`, with `anchor`/`head` as Yjs relative-position JSON. Cursor positions in this
//! module's API are char offsets, resolved through a [`Document`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use yrs::sync::Awareness;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::updates::encoder::Encode;
use yrs::{Assoc, Doc, StickyIndex};

use crate::decode;
use crate::document::{Document, SharedClock};
use crate::error::{Error, Result};
use crate::ownership::{LetGo, Ownership};

/// y-protocols' timeout: a peer that sent nothing for this long is taken to be gone.
pub const PRESENCE_TIMEOUT_MS: u64 = 30_000;

/// A user's name and colour, as Yjs editors show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Display name.
    pub name: String,
    /// CSS colour, `#rrggbb`.
    pub color: String,
    /// A light variant of the colour for selections (y-codemirror reads it).
    #[serde(rename = "colorLight", default, skip_serializing_if = "Option::is_none")]
    pub color_light: Option<String>,
}

/// A selection as two sticky positions; `anchor == head` is a plain cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StickySelection {
    /// Where the selection started.
    pub anchor: StickyIndex,
    /// Where the cursor is.
    pub head: StickyIndex,
}

impl StickySelection {
    /// A selection from char positions in `document`.
    pub fn from_chars(document: &mut Document, anchor: usize, head: usize) -> Result<Self> {
        Ok(Self {
            anchor: document.sticky_position(anchor, Assoc::After)?,
            head: document.sticky_position(head, Assoc::After)?,
        })
    }

    /// The selection's `(anchor, head)` char positions in `document` now.
    pub fn to_chars(&self, document: &mut Document) -> Option<(usize, usize)> {
        Some((document.resolve_position(&self.anchor)?, document.resolve_position(&self.head)?))
    }
}

/// The awareness state tandem publishes and reads. Unknown fields from other clients are kept
/// out of this view but not rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PresenceState {
    /// Who this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
    /// Where their cursor is; `None` when they have no focus in the text.
    #[serde(default)]
    pub cursor: Option<StickySelection>,
}

/// tandem's own presence field, beside the standard ones (stock Yjs clients ignore it): where the
/// user is looking, so that others can follow them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ViewPresence {
    /// Whether this document is the one the user has in front of them (they may have several
    /// open).
    pub focused: bool,
    /// The start of the first line they see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<StickyIndex>,
    /// In a workspace's manifest: the document (its id under the workspace's prefix) the user
    /// has in front of them, so that everyone in the workspace sees who is in which file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// The [`ViewPresence`] of an awareness state, if it has one.
#[derive(Deserialize)]
struct ViewOnly {
    #[serde(rename = "tandemView", default)]
    view: Option<ViewPresence>,
}

/// A [`PresenceState`] with tandem's [`ViewPresence`] beside its fields.
#[derive(Serialize)]
struct StateWithView<'a> {
    #[serde(flatten)]
    state: &'a PresenceState,
    #[serde(rename = "tandemView")]
    view: &'a ViewPresence,
}

/// Another client's presence, as last heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// Their Yjs client id.
    pub client_id: u64,
    /// Their state; `None` fields when they sent something tandem does not understand.
    pub state: PresenceState,
    /// Where they look, when they are a tandem client that says so.
    pub view: Option<ViewPresence>,
}

/// Which clients an awareness update added, changed or removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceChange {
    /// Clients seen for the first time.
    pub added: Vec<u64>,
    /// Clients whose state changed.
    pub updated: Vec<u64>,
    /// Clients that left or timed out.
    pub removed: Vec<u64>,
}

impl PresenceChange {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// What of a peer's awareness update a server applied ([`Presence::apply_owned_update`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedPresence {
    /// The update to relay: the peer's bytes, or their re-encoding without the refused clients;
    /// `None` when nothing was left.
    pub update: Option<Vec<u8>>,
    /// What it changed.
    pub change: PresenceChange,
    /// Clients it spoke for that another connection owns: left out (kept as claims, see
    /// [`Presence::release`]).
    pub refused: Vec<u64>,
}

/// The awareness CRDT of one document: the local state and every peer's.
pub struct Presence {
    awareness: Awareness,
    clock: SharedClock,
    /// Server: which connection may publish each client id's presence.
    ownership: Ownership,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence").field("client_id", &self.client_id()).finish_non_exhaustive()
    }
}

impl Presence {
    /// Presence for the replica `client_id` (the same id as its [`Document`]).
    pub fn new(client_id: u64) -> Self {
        let clock = SharedClock::default();
        let doc = Doc::with_client_id(client_id);
        Self {
            awareness: Awareness::with_clock(doc, clock.clone()),
            clock,
            ownership: Ownership::default(),
        }
    }

    /// The local client id.
    pub fn client_id(&self) -> u64 {
        self.awareness.client_id().get()
    }

    /// Publishes the local state; returns the encoded awareness update to send.
    pub fn set_local_state(&mut self, state: &PresenceState, now_ms: u64) -> Result<Vec<u8>> {
        self.clock.set(now_ms);
        self.awareness
            .set_local_state(state)
            .map_err(|e| Error::MalformedAwareness(e.to_string()))?;
        self.encode_clients(&[self.client_id()])
    }

    /// Publishes the local state with where this user looks; returns the update to send.
    pub fn set_local_state_with_view(
        &mut self,
        state: &PresenceState,
        view: &ViewPresence,
        now_ms: u64,
    ) -> Result<Vec<u8>> {
        self.clock.set(now_ms);
        self.awareness
            .set_local_state(StateWithView { state, view })
            .map_err(|e| Error::MalformedAwareness(e.to_string()))?;
        self.encode_clients(&[self.client_id()])
    }

    /// The local state, if one was set.
    pub fn local_state(&self) -> Option<PresenceState> {
        self.awareness.local_state()
    }

    /// Raises the local state's clock past a removal the server may have published while this
    /// client was disconnected (the server marks a dropped connection's clients gone with their
    /// clock + 1). Without it the re-announcement after a reconnect carries an old clock, every
    /// peer ignores it, and the user stays invisible until two renewals later (up to 30 s).
    pub fn outrun_removal(&mut self) {
        if let Some(raw) = self.awareness.local_state_raw() {
            // Each call raises the clock by one: two beat the removal's clock + 1.
            self.awareness.set_local_state_raw(raw.clone());
            self.awareness.set_local_state_raw(raw);
        }
    }

    /// Marks the local client as gone (sent when leaving); returns the update to send.
    pub fn clear_local_state(&mut self, now_ms: u64) -> Result<Vec<u8>> {
        self.clock.set(now_ms);
        self.awareness.clean_local_state();
        self.encode_clients(&[self.client_id()])
    }

    /// Applies an encoded awareness update from a peer.
    pub fn apply_update(&mut self, update: &[u8], now_ms: u64) -> Result<PresenceChange> {
        self.apply_decoded(decode::awareness(update)?, now_ms)
    }

    /// Server: applies the part of a peer's awareness update that the connection `owner` (any
    /// number unique among the connections) may publish: the clients it owns, and those no one
    /// owns yet, which become its. A client another connection owns (or the server's own) is
    /// left out, so no one can rename, move or remove someone else's cursor; what was left out
    /// is kept as a claim in case the owner lets the client go (see [`Presence::release`]).
    pub fn apply_owned_update(
        &mut self,
        update: &[u8],
        owner: u64,
        now_ms: u64,
    ) -> Result<OwnedPresence> {
        let mut decoded = decode::awareness(update)?;
        let local = self.client_id();
        let mut refused = Vec::new();
        decoded.clients.retain(|client, entry| {
            let client = client.get();
            let mine = client != local && self.ownership.may_publish(client, owner);
            if !mine {
                refused.push(client);
                if client != local && check_json(entry).is_ok() {
                    self.ownership.refuse(client, owner, entry.clone(), now_ms);
                }
            }
            mine
        });
        if decoded.clients.is_empty() {
            return Ok(OwnedPresence { refused, ..OwnedPresence::default() });
        }
        let clients: Vec<u64> = decoded.clients.keys().map(|id| id.get()).collect();
        let update = if refused.is_empty() { update.to_vec() } else { decoded.encode_v1() };
        let change = self.apply_decoded(decoded, now_ms)?;
        for client in clients {
            self.ownership.published(client, owner);
        }
        Ok(OwnedPresence { update: Some(update), change, refused })
    }

    /// Server: the connection `owner` wrote updates as `clients`; those no one owns become its.
    pub fn claim(&mut self, owner: u64, clients: &[u64]) {
        let local = self.client_id();
        for &client in clients.iter().filter(|&&client| client != local) {
            self.ownership.wrote_as(client, owner);
        }
    }

    /// Server: the clients the connection `owner` publishes that have a state now (whose
    /// departure its close announces).
    pub fn published_by(&self, owner: u64) -> Vec<u64> {
        let mut clients = self.ownership.published_by(owner);
        clients.retain(|&client| self.has_state(client));
        clients
    }

    /// Server: the connection `owner` closed. Each client it owned goes to the connection that
    /// last claimed it, if the claim is fresh (a client that reconnected before its old
    /// connection's close was seen), else it is marked gone. Returns the update telling
    /// everyone, if anyone's presence changed.
    pub fn release(&mut self, owner: u64, now_ms: u64) -> Result<Option<Vec<u8>>> {
        let let_go = self
            .ownership
            .release(owner, now_ms)
            .into_iter()
            // Only what it published: it may have written as another server's client.
            .filter(|LetGo { published, claim, .. }| *published || claim.is_some())
            .map(|LetGo { client, claim, .. }| (client, claim))
            .collect();
        Ok(self.hand_over(let_go, now_ms)?.1)
    }

    fn apply_decoded(&mut self, update: AwarenessUpdate, now_ms: u64) -> Result<PresenceChange> {
        self.clock.set(now_ms);
        for entry in update.clients.values() {
            check_json(entry)?;
        }
        let summary = self
            .awareness
            .apply_update_summary(update)
            .map_err(|e| Error::MalformedAwareness(e.to_string()))?;
        Ok(summary
            .map(|s| PresenceChange {
                added: s.added.iter().map(|c| c.get()).collect(),
                updated: s.updated.iter().map(|c| c.get()).collect(),
                removed: s.removed.iter().map(|c| c.get()).collect(),
            })
            .unwrap_or_default())
    }

    /// Every known client with a state, the local one included, encoded as one update (what a
    /// new connection is sent).
    pub fn encode_all(&self) -> Result<Vec<u8>> {
        self.awareness
            .update()
            .map(|u| u.encode_v1())
            .map_err(|e| Error::MalformedAwareness(e.to_string()))
    }

    /// Whether any client (local or remote) has a state.
    pub fn is_empty(&self) -> bool {
        self.awareness.iter().all(|(_, state)| state.data.is_none())
    }

    /// The encoded update for the given clients (used to announce departures).
    pub fn encode_clients(&self, clients: &[u64]) -> Result<Vec<u8>> {
        let ids = clients.iter().map(|&c| yrs::ClientID::new(c));
        self.awareness
            .update_with_clients(ids)
            .map(|u| u.encode_v1())
            .map_err(|e| Error::MalformedAwareness(e.to_string()))
    }

    /// Marks the given remote clients as gone (their connection dropped); returns the update
    /// that tells everyone else, or `None` if none of them had a state.
    pub fn remove_clients(&mut self, clients: &[u64], now_ms: u64) -> Result<Option<Vec<u8>>> {
        let removed = self.remove_states(clients, now_ms);
        if removed.is_empty() {
            return Ok(None);
        }
        self.encode_clients(&removed).map(Some)
    }

    /// Removes the states of those of `clients` that have one; returns those.
    fn remove_states(&mut self, clients: &[u64], now_ms: u64) -> Vec<u64> {
        self.clock.set(now_ms);
        let present: Vec<u64> =
            clients.iter().copied().filter(|&client| self.has_state(client)).collect();
        for &client in &present {
            self.awareness.remove_state(yrs::ClientID::new(client));
        }
        present
    }

    /// Removes remote clients silent for [`PRESENCE_TIMEOUT_MS`]; returns their ids and the
    /// update announcing it. On a server, a silent client that another connection claimed goes
    /// to that connection instead (its old connection is likely half-open, see [`Ownership`]).
    pub fn expire_silent(&mut self, now_ms: u64) -> Result<Option<(Vec<u64>, Vec<u8>)>> {
        let local = self.client_id();
        let silent: Vec<u64> = self
            .awareness
            .iter()
            .filter(|(id, state)| {
                id.get() != local
                    && state.data.is_some()
                    && now_ms.saturating_sub(state.last_updated) >= PRESENCE_TIMEOUT_MS
            })
            .map(|(id, _)| id.get())
            .collect();
        let let_go = silent
            .into_iter()
            .map(|client| (client, self.ownership.let_go(client, now_ms)))
            .collect();
        let (removed, update) = self.hand_over(let_go, now_ms)?;
        Ok(update.map(|update| (removed, update)))
    }

    /// Applies what became of clients let go (see [`Ownership`]): the claim's entry of each
    /// that was handed over, a removal of each other one that has a state. Returns the removed
    /// clients and the update announcing the changes, if any.
    fn hand_over(
        &mut self,
        let_go: Vec<(u64, Option<AwarenessUpdateEntry>)>,
        now_ms: u64,
    ) -> Result<(Vec<u64>, Option<Vec<u8>>)> {
        let mut handed = HashMap::new();
        let mut gone = Vec::new();
        for (client, claim) in let_go {
            match claim {
                Some(entry) => {
                    handed.insert(yrs::ClientID::new(client), entry);
                }
                None => gone.push(client),
            }
        }
        let mut changed: Vec<u64> = handed.keys().map(|id| id.get()).collect();
        if !handed.is_empty() {
            self.apply_decoded(AwarenessUpdate { clients: handed }, now_ms)?;
        }
        let gone = self.remove_states(&gone, now_ms);
        changed.extend(&gone);
        changed.sort_unstable();
        if changed.is_empty() {
            return Ok((gone, None));
        }
        Ok((gone, Some(self.encode_clients(&changed)?)))
    }

    fn has_state(&self, client: u64) -> bool {
        self.awareness.state::<serde_json::Value>(yrs::ClientID::new(client)).is_some()
    }

    /// Every remote client that has a state, by client id.
    pub fn peers(&self) -> BTreeMap<u64, Peer> {
        let local = self.client_id();
        self.awareness
            .iter()
            .filter(|(id, _)| id.get() != local)
            .filter_map(|(id, state)| {
                let json = state.data.as_ref()?;
                let state = decode::json::<PresenceState>(json).unwrap_or_default();
                let view = decode::json::<ViewOnly>(json).and_then(|v| v.view);
                Some((id.get(), Peer { client_id: id.get(), state, view }))
            })
            .collect()
    }

    /// Client ids in an encoded awareness update (a server uses it to learn which clients a
    /// connection speaks for, so it can announce their departure).
    pub fn clients_in_update(update: &[u8]) -> Result<Vec<(u64, bool)>> {
        let update = decode::awareness(update)?;
        Ok(update
            .clients
            .iter()
            .map(|(id, AwarenessUpdateEntry { json, .. })| (id.get(), json.as_ref() != "null"))
            .collect())
    }
}

/// A state must be JSON (or `null`, a departure): peers parse it.
fn check_json(entry: &AwarenessUpdateEntry) -> Result<()> {
    if entry.json.as_ref() != "null" {
        serde_json::from_str::<serde_json::Value>(&entry.json)
            .map_err(|e| Error::MalformedAwareness(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentConfig;

    fn user(name: &str) -> UserInfo {
        UserInfo { name: name.into(), color: "#30bced".into(), color_light: None }
    }

    #[test]
    fn local_state_uses_y_codemirror_field_names() {
        let mut document = Document::new(DocumentConfig::new(7)).unwrap();
        document.insert(0, "héllo 👋", 0).unwrap();
        let cursor = StickySelection::from_chars(&mut document, 1, 7).unwrap();
        let mut presence = Presence::new(7);
        presence
            .set_local_state(&PresenceState { user: Some(user("ana")), cursor: Some(cursor) }, 5)
            .unwrap();
        let json = serde_json::to_value(presence.local_state().unwrap()).unwrap();
        assert_eq!(json["user"]["name"], "ana");
        assert_eq!(json["user"]["color"], "#30bced");
        assert_eq!(json["cursor"]["anchor"]["item"]["client"], 7);
        assert!(json["cursor"]["head"]["assoc"].is_number());
        let back: PresenceState = serde_json::from_value(json).unwrap();
        assert_eq!(back.cursor.unwrap().to_chars(&mut document), Some((1, 7)));
    }

    #[test]
    fn where_a_user_looks_travels_beside_the_standard_fields() {
        let mut document = Document::new(DocumentConfig::new(7)).unwrap();
        document.insert(0, "one\ntwo\n", 0).unwrap();
        let top = document.sticky_position(4, Assoc::After).unwrap();
        let mut ana = Presence::new(7);
        let state = PresenceState { user: Some(user("ana")), cursor: None };
        let view = ViewPresence { focused: true, top: Some(top), file: Some("src/a.rs".into()) };
        let update = ana.set_local_state_with_view(&state, &view, 0).unwrap();
        let mut ben = Presence::new(8);
        ben.apply_update(&update, 0).unwrap();
        let peer = &ben.peers()[&7];
        assert_eq!(peer.state, state, "stock clients read the standard fields as before");
        let seen = peer.view.as_ref().unwrap();
        assert!(seen.focused);
        assert_eq!(seen.file.as_deref(), Some("src/a.rs"));
        assert_eq!(document.resolve_position(seen.top.as_ref().unwrap()), Some(4));
        let plain = ana.set_local_state(&state, 1).unwrap();
        ben.apply_update(&plain, 1).unwrap();
        assert_eq!(ben.peers()[&7].view, None);
    }

    #[test]
    fn peers_join_update_leave_and_time_out() {
        let mut ana = Presence::new(1);
        let mut ben = Presence::new(2);
        let joined =
            ana.set_local_state(&PresenceState { user: Some(user("ana")), cursor: None }, 0);
        let change = ben.apply_update(&joined.unwrap(), 0).unwrap();
        assert_eq!(change.added, vec![1]);
        assert_eq!(ben.peers()[&1].state.user.as_ref().unwrap().name, "ana");
        assert_eq!(
            Presence::clients_in_update(&ana.encode_all().unwrap()).unwrap(),
            vec![(1, true)]
        );

        let renamed =
            ana.set_local_state(&PresenceState { user: Some(user("Ana")), cursor: None }, 1);
        assert_eq!(ben.apply_update(&renamed.unwrap(), 1).unwrap().updated, vec![1]);

        let left = ana.clear_local_state(2).unwrap();
        assert_eq!(Presence::clients_in_update(&left).unwrap(), vec![(1, false)]);
        assert_eq!(ben.apply_update(&left, 2).unwrap().removed, vec![1]);
        assert!(ben.peers().is_empty());

        // Silent peers expire after the timeout, measured from their last update.
        let back =
            ana.set_local_state(&PresenceState { user: Some(user("ana")), cursor: None }, 10);
        ben.apply_update(&back.unwrap(), 10).unwrap();
        assert!(ben.expire_silent(10 + PRESENCE_TIMEOUT_MS - 1).unwrap().is_none());
        let (gone, update) = ben.expire_silent(10 + PRESENCE_TIMEOUT_MS).unwrap().unwrap();
        assert_eq!(gone, vec![1]);
        assert_eq!(Presence::clients_in_update(&update).unwrap(), vec![(1, false)]);
    }

    #[test]
    fn a_reconnecting_client_is_seen_again_at_once() {
        let mut server = Presence::new(100);
        let mut ana = Presence::new(1);
        let mut bo = Presence::new(2);
        let state = PresenceState { user: Some(user("ana")), cursor: None };
        let joined = ana.set_local_state(&state, 0).unwrap();
        server.apply_update(&joined, 0).unwrap();
        bo.apply_update(&joined, 0).unwrap();
        // Ana's connection drops: the server tells Bo she left.
        let removal = server.remove_clients(&[1], 1).unwrap().unwrap();
        bo.apply_update(&removal, 1).unwrap();
        assert!(bo.peers().is_empty());
        // She reconnects and announces herself again.
        ana.outrun_removal();
        let again = ana.encode_clients(&[1]).unwrap();
        server.apply_update(&again, 2).unwrap();
        assert!(!server.is_empty(), "the server takes the announcement");
        bo.apply_update(&again, 2).unwrap();
        assert_eq!(bo.peers()[&1].state.user.as_ref().unwrap().name, "ana");
    }

    #[test]
    fn server_removes_departed_clients() {
        let mut server = Presence::new(100);
        assert!(server.is_empty());
        let mut ana = Presence::new(1);
        let joined = ana.set_local_state(&PresenceState::default(), 0).unwrap();
        server.apply_update(&joined, 0).unwrap();
        assert!(!server.is_empty());
        assert!(server.remove_clients(&[5], 1).unwrap().is_none(), "never present");
        let update = server.remove_clients(&[1, 5], 1).unwrap().unwrap();
        assert_eq!(Presence::clients_in_update(&update).unwrap(), vec![(1, false)]);
        assert!(server.is_empty());
    }

    #[test]
    fn malformed_awareness_is_an_error() {
        let mut presence = Presence::new(1);
        assert!(presence.apply_update(&[1, 2], 0).is_err());
        // One client (id 2, clock 1) whose state is not JSON.
        let mut bad = vec![1, 2, 1, 3];
        bad.extend_from_slice(b"{x:");
        assert!(matches!(presence.apply_update(&bad, 0), Err(Error::MalformedAwareness(_))));
        assert!(presence.peers().is_empty());
        // Valid JSON that is not a tandem state still counts as a peer, with empty fields.
        let mut odd = vec![1, 2, 1, 9];
        odd.extend_from_slice(b"{\"x\":[1]}");
        assert_eq!(presence.apply_update(&odd, 0).unwrap().added, vec![2]);
        assert_eq!(presence.peers()[&2].state, PresenceState::default());
    }
}
