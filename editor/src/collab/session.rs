//! [`Collab`]: the glue between one [`Editor`] and a [`tandem_crdt::Client`], with no IO: frames
//! come in as bytes and go out as return values, and the clock is an argument. The terminal
//! front end, the benchmarks and the tests all drive this same type.
//!
//! All positions are char offsets into the buffer; the editor's rope and the CRDT's text are
//! kept identical, so the editor's primitive [`Edit`]s map one to one onto CRDT replacements
//! and the CRDT's [`Delta`]s patch the rope. The one rule that keeps them identical: local edits
//! are drained into the CRDT before any remote change touches the rope.

use tandem_connect::Problem;
use tandem_crdt::{Client, Delta, LocalView, UserInfo};

use crate::decoration::Decoration;
use crate::editor::{Editor, MessageKind};
use crate::history::UndoStep;
use crate::selection::Selection;
use crate::text::Edit;
use crate::theme::Rgb;

use super::CollabError;

/// Republish presence this often: y-protocols peers drop a user silent for 30 s.
pub const PRESENCE_RENEW_MS: u64 = 15_000;

/// Frames to send, in order, on the current connection.
pub type Frames = Vec<Vec<u8>>;

/// The state of the link to the server, as the status bar tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Started with `--offline`: no network at all.
    Offline,
    /// A connection attempt is under way.
    Connecting,
    /// The last attempt failed or the connection dropped; the next attempt starts at `retry_at_ms`.
    Retrying {
        /// Why the connection is down.
        problem: Problem,
        /// Wall-clock time of the next attempt, in ms since the Unix epoch.
        retry_at_ms: u64,
    },
    /// Connected; `synced` once the initial exchange finished.
    Connected {
        /// Whether the initial sync finished.
        synced: bool,
    },
    /// The server refused access for good (bad token, …); no retry.
    Refused {
        /// Why.
        problem: Problem,
    },
}

/// Another user in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// Their awareness client id.
    pub client_id: u64,
    /// Display name ("anonymous" when they published none).
    pub name: String,
    /// Their colour.
    pub colour: Rgb,
    /// Their selection `(anchor, head)` in chars, when it resolves in this replica.
    pub cursor: Option<(usize, usize)>,
    /// Whether this document is the one in front of them (`None`: their client does not say).
    pub focused: Option<bool>,
    /// The first char they see, when their client says and it resolves here.
    pub top: Option<usize>,
    /// In a workspace's manifest: the document they have in front of them (its id under the
    /// prefix), when their client says.
    pub file: Option<String>,
}

/// What a frame from the server did, beyond patching the editor.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames to send back.
    pub frames: Frames,
    /// The first initial sync of this session finished with this frame.
    pub first_sync: bool,
    /// How many local updates the server confirmed durable.
    pub confirmed: usize,
    /// The server refused access, with its reason.
    pub denied: Option<String>,
}

/// When to send the cursor in presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Publish {
    /// Only when it moved since last published.
    IfMoved,
    /// Now, moved or not.
    Always,
}

/// One editor's collaborative session over one document.
pub struct Collab {
    client: Client,
    user: UserInfo,
    /// The selection and view last published in presence (positions as the editor had them then).
    published: Option<(Selection, LocalView)>,
    /// Whether this document is the one in front of the user (the app may show several).
    focused: bool,
    /// In a workspace's manifest: the document in front of the user, published with presence.
    location: Option<String>,
    last_publish_ms: u64,
    connection: Connection,
    /// Whether this connection's server sends durability confirmations (stock y-websocket
    /// servers never do, so their count of unconfirmed edits means nothing).
    durable_seen: bool,
    synced_once: bool,
    peers: Option<Vec<PeerView>>,
    /// Frames made outside a flush (undo, redo), sent with the next one.
    outbox: Frames,
}

impl Collab {
    /// A session over `client` (its text must equal the editor's) for `user`. The session starts
    /// `Connecting`; say [`Connection::Offline`] with [`Collab::set_connection`] when it never will.
    pub fn new(client: Client, user: UserInfo) -> Self {
        Self {
            client,
            user,
            published: None,
            focused: true,
            location: None,
            last_publish_ms: 0,
            connection: Connection::Connecting,
            durable_seen: false,
            synced_once: false,
            peers: None,
            outbox: Vec::new(),
        }
    }

    /// The CRDT client (for the store: journal, offline state).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The CRDT client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The user as others see them.
    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// The connection state.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Sets the connection state (connecting, retrying, offline) without touching the session;
    /// use [`Collab::connected`] and [`Collab::disconnected`] when a connection opens or closes.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// Moves the editor's local edits into the CRDT and publishes the cursor if it moved.
    /// Returns the frames to send (none while disconnected: the edits wait in the client).
    pub fn flush(&mut self, ed: &mut Editor, now_ms: u64) -> Result<Frames, CollabError> {
        let mut frames = std::mem::take(&mut self.outbox);
        // One transaction per command: a keystroke typed at several cursors is one update.
        for command in ed.take_pending_commands() {
            // Undo steps as the local rule draws them (word by word), not by the CRDT's timer alone.
            if command.new_undo_step {
                self.client.document_mut().end_undo_step();
            }
            let edits: Vec<_> =
                command.edits.iter().map(|e| (e.range.clone(), e.text.as_str())).collect();
            frames.extend(self.client.replace_each(&edits, now_ms)?);
            self.peers = None;
        }
        frames.extend(self.publish(ed, now_ms, Publish::IfMoved)?);
        Ok(frames)
    }

    /// Publishes the cursor and view when they moved, or always (a new connection, a renewal).
    fn publish(&mut self, ed: &Editor, now_ms: u64, when: Publish) -> Result<Frames, CollabError> {
        let force = when == Publish::Always;
        let published = (ed.selection(), self.local_view(ed));
        if !force && self.published.as_ref() == Some(&published) {
            return Ok(Vec::new());
        }
        self.published = Some(published.clone());
        self.last_publish_ms = now_ms;
        let (selection, view) = published;
        let cursor = Some((selection.anchor, selection.head));
        Ok(self.client.set_presence_with_view(self.user.clone(), cursor, view, now_ms)?)
    }

    fn local_view(&self, ed: &Editor) -> LocalView {
        let top = ed.rope().line_to_char(ed.view().top_line.min(ed.rope().len_lines() - 1));
        LocalView { focused: self.focused, top: Some(top), file: self.location.clone() }
    }

    /// Says whether this document is the one in front of the user; others following them
    /// switch documents with them. Published with the next flush.
    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
    }

    /// Says which document of a workspace is in front of the user (this session being the
    /// workspace's manifest), so that everyone in it sees who is in which file and followers
    /// cross files. Published with the next flush.
    pub fn set_location(&mut self, file: Option<String>) {
        self.location = file;
    }

    /// Periodic work: renews presence before peers time it out, forgets silent peers.
    pub fn tick(&mut self, ed: &mut Editor, now_ms: u64) -> Result<Frames, CollabError> {
        if self.client.expire_silent_peers(now_ms)?.is_some() {
            self.peers = None;
        }
        let mut frames = self.flush(ed, now_ms)?;
        if now_ms.saturating_sub(self.last_publish_ms) >= PRESENCE_RENEW_MS {
            frames.extend(self.publish(ed, now_ms, Publish::Always)?);
        }
        Ok(frames)
    }

    /// A connection opened: returns its opening frames (sync handshake and presence).
    pub fn connected(&mut self, ed: &mut Editor, now_ms: u64) -> Result<Frames, CollabError> {
        // Edits typed while disconnected go into the client first; the handshake carries them.
        self.flush(ed, now_ms)?;
        let mut frames = self.client.connect()?;
        self.connection = Connection::Connected { synced: false };
        self.durable_seen = false;
        self.peers = None;
        frames.extend(self.publish(ed, now_ms, Publish::Always)?);
        Ok(frames)
    }

    /// The connection closed; editing goes on and is sent on the next connection.
    pub fn disconnected(&mut self, connection: Connection) {
        self.client.disconnect();
        self.connection = connection;
        self.peers = None;
    }

    /// Handles one frame from the server: remote edits patch the editor (its cursor and marks
    /// follow their text), presence updates the peers. An `Err` means the frame was malformed.
    pub fn receive(
        &mut self,
        ed: &mut Editor,
        frame: &[u8],
        now_ms: u64,
    ) -> Result<Received, CollabError> {
        let mut frames = self.flush(ed, now_ms)?;
        let event = self.client.receive(frame, now_ms)?;
        self.durable_seen |= event.durable;
        frames.extend(event.replies);
        let cursor_published =
            self.published.as_ref() == Some(&(ed.selection(), self.local_view(ed)));
        for delta in &event.deltas {
            self.apply_delta(ed, delta);
        }
        if cursor_published {
            // The sticky cursor already published follows the text; no need to send it again.
            self.published = Some((ed.selection(), self.local_view(ed)));
        }
        if !event.deltas.is_empty() || !event.presence.is_empty() {
            self.peers = None;
        }
        let mut first_sync = false;
        if event.synced {
            self.connection = Connection::Connected { synced: true };
            first_sync = !self.synced_once;
            self.synced_once = true;
        }
        if let Some(reason) = &event.auth_denied {
            self.connection =
                Connection::Refused { problem: Problem::Denied { reason: reason.clone() } };
        }
        Ok(Received { frames, first_sync, confirmed: event.confirmed, denied: event.auth_denied })
    }

    /// Patches the editor with a CRDT delta, without queuing it as a local edit.
    fn apply_delta(&mut self, ed: &mut Editor, delta: &Delta) {
        for e in delta.edits() {
            let edit = Edit { range: e.start..e.start + e.removed, text: e.inserted };
            if !ed.apply_remote(edit) {
                // Cannot happen while the two texts are equal; if they ever differ, the CRDT is
                // the truth and the view is rebuilt from it rather than left wrong.
                tracing::error!("remote edit out of the buffer's range; reloading the view");
                let len = ed.rope().len_chars();
                ed.apply_remote(Edit { range: 0..len, text: self.client.document().text() });
                return;
            }
        }
    }

    /// Undoes (or redoes) this user's last step, never someone else's edits. The frames wait
    /// for the next [`Collab::flush`]; the session's `undo` and `redo` commands call this.
    pub fn revert(
        &mut self,
        ed: &mut Editor,
        now_ms: u64,
        step: UndoStep,
    ) -> Result<(), CollabError> {
        if let Some(reason) = ed.read_only() {
            ed.notify(format!("read-only: {reason}"), MessageKind::Error);
            return Ok(());
        }
        let mut frames = self.flush(ed, now_ms)?;
        let change = match step {
            UndoStep::Undo => self.client.undo(now_ms)?,
            UndoStep::Redo => self.client.redo(now_ms)?,
        };
        let Some((delta, sent)) = change else {
            self.outbox = frames;
            let text = match step {
                UndoStep::Undo => "nothing to undo",
                UndoStep::Redo => "nothing to redo",
            };
            ed.notify(text, MessageKind::Info);
            return Ok(());
        };
        frames.extend(sent);
        self.apply_delta(ed, &delta);
        // Like a local undo: the cursor goes where the reverted text ends.
        if let Some(last) = delta.edits().last() {
            ed.set_selection(Selection::point(last.start + last.inserted.chars().count()));
        }
        self.peers = None;
        frames.extend(self.publish(ed, now_ms, Publish::IfMoved)?);
        self.outbox = frames;
        Ok(())
    }

    /// Seeds an empty document with `text` (a linked file's contents) as a local edit.
    /// Returns the frames, or `None` when the document is not empty (it wins).
    pub fn seed(
        &mut self,
        ed: &mut Editor,
        text: &str,
        now_ms: u64,
    ) -> Result<Option<Frames>, CollabError> {
        self.flush(ed, now_ms)?;
        if self.client.document().len_chars() > 0 || text.is_empty() {
            return Ok(None);
        }
        let frames = self.client.replace(0..0, text, now_ms)?;
        ed.apply_remote(Edit::insert(0, text));
        self.peers = None;
        Ok(Some(frames))
    }

    /// Makes `edits` (ascending, in the current text's chars) as this user, though not typed: a
    /// program's change, such as a line added to a workspace's manifest. Returns the frames.
    pub fn apply_local(
        &mut self,
        ed: &mut Editor,
        edits: &[Edit],
        now_ms: u64,
    ) -> Result<Frames, CollabError> {
        let mut frames = self.flush(ed, now_ms)?;
        for edit in edits.iter().rev() {
            frames.extend(self.client.replace(edit.range.clone(), &edit.text, now_ms)?);
            ed.apply_remote(edit.clone());
        }
        self.peers = None;
        Ok(frames)
    }

    /// The frames that tell others this user left (send before closing).
    pub fn leave(&mut self, now_ms: u64) -> Result<Frames, CollabError> {
        Ok(self.client.leave(now_ms)?)
    }

    /// Everyone else here (none while disconnected: their presence would be stale).
    pub fn peers(&mut self, ed: &Editor) -> &[PeerView] {
        if !matches!(self.connection, Connection::Connected { .. }) {
            return &[];
        }
        let len = ed.rope().len_chars();
        self.peers.get_or_insert_with(|| {
            let mut peers: Vec<PeerView> = self
                .client
                .peers()
                .into_iter()
                .map(|(peer, cursor)| {
                    let focused = peer.view.as_ref().map(|v| v.focused);
                    let file = peer.view.as_ref().and_then(|v| v.file.clone());
                    let top = peer
                        .view
                        .as_ref()
                        .and_then(|v| v.top.as_ref())
                        .and_then(|t| self.client.document_mut().resolve_position(t))
                        .map(|t| t.min(len));
                    let user = peer.state.user.as_ref();
                    let name = user.map_or("anonymous", |u| u.name.as_str()).to_owned();
                    let colour = user
                        .and_then(|u| Rgb::parse(&u.color).ok())
                        .unwrap_or(Rgb(0x88, 0x88, 0x88));
                    let cursor = cursor.map(|(a, h)| (a.min(len), h.min(len)));
                    PeerView { client_id: peer.client_id, name, colour, cursor, focused, top, file }
                })
                .collect();
            peers.sort_by(|a, b| (&a.name, a.client_id).cmp(&(&b.name, b.client_id)));
            peers
        })
    }

    /// Other users' cursors and selections, for the renderer.
    pub fn decorations(&mut self, ed: &Editor) -> Vec<Decoration> {
        self.peers(ed)
            .iter()
            .filter_map(|p| {
                let (anchor, head) = p.cursor?;
                Some(Decoration {
                    pos: head,
                    selection: (anchor != head).then(|| anchor.min(head)..anchor.max(head)),
                    colour: p.colour,
                    label: p.name.clone(),
                })
            })
            .collect()
    }

    /// The status bar's connection text, e.g. "connected · 2 here · 0 unconfirmed".
    pub fn status(&mut self, ed: &Editor, now_ms: u64) -> String {
        let unconfirmed = self.client.unconfirmed_count();
        let state = match &self.connection {
            Connection::Offline => "offline".to_owned(),
            Connection::Connecting => "connecting".to_owned(),
            Connection::Retrying { problem, retry_at_ms } => {
                let secs = retry_at_ms.saturating_sub(now_ms).div_ceil(1000);
                format!("{} · retry in {secs}s", problem.summary())
            }
            Connection::Connected { synced: false } => "syncing".to_owned(),
            Connection::Connected { synced: true } => {
                // Everyone present, this user included: two users see "2 here".
                let here = self.peers(ed).len() + 1;
                // A stock y-websocket server never confirms anything: the count would only grow.
                if self.durable_seen || unconfirmed == 0 {
                    format!("connected · {here} here · {unconfirmed} unconfirmed")
                } else {
                    format!("connected · {here} here · — unconfirmed")
                }
            }
            Connection::Refused { problem } => format!("refused: {}", problem.summary()),
        };
        match &self.connection {
            Connection::Connected { .. } => state,
            _ => format!("{state} · {unconfirmed} unconfirmed"),
        }
    }
}
