//! [`WebClient`]: the JS face of [`ViewClient`]. It converts values and nothing else.
//!
//! Positions are UTF-16 code units; times are `Date.now()` milliseconds; frames are
//! `Uint8Array`s to send on the websocket as binary messages.

use js_sys::{Array, Object, Reflect, Uint8Array};
use tandem_crdt::{PeerAccess, Removal};
use wasm_bindgen::prelude::*;

use crate::error::WebError;
use crate::view::{HistoryStep, RemoteEvent, Utf16Change, ViewClient};

impl From<WebError> for JsValue {
    fn from(error: WebError) -> Self {
        JsError::new(&error.to_string()).into()
    }
}

/// A tandem client for one document, driven by the page: it moves frames between this and a
/// websocket, applies the returned changes to CodeMirror and stores `offlineState()`.
#[wasm_bindgen]
pub struct WebClient {
    inner: ViewClient,
}

#[wasm_bindgen]
impl WebClient {
    /// A client over an empty document. `clientId`: 53 random bits, fresh per page load.
    #[wasm_bindgen(constructor)]
    pub fn new(client_id: f64, name: &str, color: &str) -> Result<WebClient, JsValue> {
        let id = ViewClient::client_id_from_js(client_id)?;
        Ok(Self { inner: ViewClient::new(id, name, color)? })
    }

    /// A client restored from bytes `offlineState()` returned earlier.
    pub fn restore(
        client_id: f64,
        name: &str,
        color: &str,
        stored: &[u8],
    ) -> Result<WebClient, JsValue> {
        let id = ViewClient::client_id_from_js(client_id)?;
        Ok(Self { inner: ViewClient::restore(id, name, color, stored)? })
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.inner.text()
    }

    /// What to keep in IndexedDB: the document state and the unconfirmed updates.
    #[wasm_bindgen(js_name = offlineState)]
    pub fn offline_state(&self) -> Vec<u8> {
        self.inner.offline_state()
    }

    /// Local updates not yet confirmed durable by the server.
    #[wasm_bindgen(js_name = unconfirmedCount)]
    pub fn unconfirmed_count(&self) -> usize {
        self.inner.unconfirmed_count()
    }

    /// Whether the connection finished its initial sync.
    #[wasm_bindgen(js_name = isSynced)]
    pub fn is_synced(&self) -> bool {
        self.inner.is_synced()
    }

    /// The websocket opened: returns the frames to send first.
    pub fn connect(&mut self) -> Result<Array, JsValue> {
        Ok(frames(self.inner.connect()?))
    }

    /// The websocket closed.
    pub fn disconnect(&mut self) {
        self.inner.disconnect();
    }

    /// Handles one frame from the server. Returns `{ replies, changes, presenceChanged, synced,
    /// confirmed, authDenied, access, gone }` (`access`: `"read-only"` or `"read-write"`, once
    /// the server says; `gone`: `{deleted: true}` or `{renamedTo}`, when the document left);
    /// `changes` is an array of groups of `{from, to, insert}`, each group one CodeMirror
    /// transaction, applied in order. Throws on a malformed frame: close the
    /// connection then.
    pub fn receive(&mut self, frame: &[u8], now: f64) -> Result<Object, JsValue> {
        let event = self.inner.receive(frame, millis(now))?;
        remote_event(event)
    }

    /// The editor replaced UTF-16 units `from..to` with `text`. Returns frames to send.
    pub fn replace(
        &mut self,
        from: usize,
        to: usize,
        text: &str,
        now: f64,
    ) -> Result<Array, JsValue> {
        Ok(frames(self.inner.replace(from, to, text, millis(now))?))
    }

    /// Undoes this user's last step: `{ changes, frames }` (one group of changes), or
    /// `undefined` when there is nothing to undo.
    pub fn undo(&mut self, now: f64) -> Result<JsValue, JsValue> {
        history_step(self.inner.undo(millis(now))?)
    }

    /// Redoes this user's last undone step, like `undo`.
    pub fn redo(&mut self, now: f64) -> Result<JsValue, JsValue> {
        history_step(self.inner.redo(millis(now))?)
    }

    /// Ends the current undo step (the cursor jumped): the next edit undoes on its own.
    #[wasm_bindgen(js_name = endUndoStep)]
    pub fn end_undo_step(&mut self) {
        self.inner.end_undo_step();
    }

    /// Publishes the local selection in UTF-16 units. Returns frames to send.
    #[wasm_bindgen(js_name = setSelection)]
    pub fn set_selection(
        &mut self,
        anchor: usize,
        head: usize,
        now: f64,
    ) -> Result<Array, JsValue> {
        Ok(frames(self.inner.set_selection(Some((anchor, head)), millis(now))?))
    }

    /// Publishes that this user has no cursor (the editor lost focus). Returns frames to send.
    #[wasm_bindgen(js_name = clearSelection)]
    pub fn clear_selection(&mut self, now: f64) -> Result<Array, JsValue> {
        Ok(frames(self.inner.set_selection(None, millis(now))?))
    }

    /// Changes the displayed name and colour (`#rrggbb`). Returns frames to send.
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(&mut self, name: &str, color: &str, now: f64) -> Result<Array, JsValue> {
        Ok(frames(self.inner.set_user(name, color, millis(now))?))
    }

    /// Sends the local presence again (every 15 s, so peers do not time this user out).
    #[wasm_bindgen(js_name = publishPresence)]
    pub fn publish_presence(&mut self, now: f64) -> Result<Array, JsValue> {
        Ok(frames(self.inner.publish_presence(millis(now))?))
    }

    /// The frames that tell the others this user left.
    pub fn leave(&mut self, now: f64) -> Result<Array, JsValue> {
        Ok(frames(self.inner.leave(millis(now))?))
    }

    /// Forgets peers silent for 30 s; true if anyone was removed.
    #[wasm_bindgen(js_name = expirePeers)]
    pub fn expire_peers(&mut self, now: f64) -> Result<bool, JsValue> {
        Ok(self.inner.expire_peers(millis(now))?)
    }

    /// Everyone else: `[{ clientId, name, color, anchor, head }]`, with `anchor`/`head` in
    /// UTF-16 units or `undefined` when they have no cursor here.
    pub fn peers(&mut self) -> Result<Array, JsValue> {
        let out = Array::new();
        for peer in self.inner.peers() {
            let object = Object::new();
            set(&object, "clientId", &JsValue::from_f64(peer.client_id as f64))?;
            set(&object, "name", &peer.name.into())?;
            set(&object, "color", &peer.color.into())?;
            if let Some((anchor, head)) = peer.selection {
                set(&object, "anchor", &JsValue::from_f64(anchor as f64))?;
                set(&object, "head", &JsValue::from_f64(head as f64))?;
            }
            out.push(&object);
        }
        Ok(out)
    }
}

/// `Date.now()` as whole milliseconds; a clock before 1970 counts as 0.
fn millis(now: f64) -> u64 {
    // Float-to-int casts saturate, and NaN becomes 0.
    now.max(0.0) as u64
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(object, &JsValue::from_str(key), value).map(|_| ())
}

fn frames(frames: Vec<Vec<u8>>) -> Array {
    frames.iter().map(|frame| JsValue::from(Uint8Array::from(frame.as_slice()))).collect()
}

fn change_group(changes: &[Utf16Change]) -> Result<Array, JsValue> {
    let out = Array::new();
    for change in changes {
        let object = Object::new();
        set(&object, "from", &JsValue::from_f64(change.from as f64))?;
        set(&object, "to", &JsValue::from_f64(change.to as f64))?;
        set(&object, "insert", &JsValue::from_str(&change.insert))?;
        out.push(&object);
    }
    Ok(out)
}

fn remote_event(event: RemoteEvent) -> Result<Object, JsValue> {
    let object = Object::new();
    set(&object, "replies", &frames(event.replies).into())?;
    let groups = Array::new();
    for group in &event.changes {
        let group = change_group(group)?;
        groups.push(&group);
    }
    set(&object, "changes", &groups.into())?;
    set(&object, "presenceChanged", &JsValue::from_bool(event.presence_changed))?;
    set(&object, "synced", &JsValue::from_bool(event.synced))?;
    set(&object, "confirmed", &JsValue::from_f64(event.confirmed as f64))?;
    if let Some(reason) = event.auth_denied {
        set(&object, "authDenied", &JsValue::from_str(&reason))?;
    }
    if let Some(access) = event.access {
        // The page's own names for the two states (document.js `setAccess`).
        let name = match access {
            PeerAccess::ReadOnly => "read-only",
            PeerAccess::ReadWrite => "read-write",
        };
        set(&object, "access", &JsValue::from_str(name))?;
    }
    if let Some(removal) = event.gone {
        // `{ deleted: true }` or `{ renamedTo: ID }` (document.js `documentGone`).
        let gone = Object::new();
        match removal {
            Removal::Deleted => set(&gone, "deleted", &JsValue::TRUE)?,
            Removal::Renamed { to } => set(&gone, "renamedTo", &JsValue::from_str(&to))?,
        }
        set(&object, "gone", &gone.into())?;
    }
    Ok(object)
}

fn history_step(step: Option<HistoryStep>) -> Result<JsValue, JsValue> {
    let Some(HistoryStep { changes, frames: sent }) = step else {
        return Ok(JsValue::UNDEFINED);
    };
    let object = Object::new();
    set(&object, "changes", &change_group(&changes)?.into())?;
    set(&object, "frames", &frames(sent).into())?;
    Ok(object.into())
}
