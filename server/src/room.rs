//! Rooms: one per loaded document. A room owns the document's replica and presence, applies
//! each connection's frames through that connection's [`SyncSession`], relays updates and
//! awareness to the other connections, and hands updates to the storage [`Writer`].
//!
//! Every piece of a room's CRDT work runs on its [`Lane`] of the [`Executor`]'s threads, never
//! on the async runtime's: connections queue frames there and go on reading. The `async`
//! methods wait for their job; the plain ones are the jobs themselves.
//!
//! [`Rooms`] is the registry: it loads a document fully before anyone is served from it,
//! unloads it after a quiet period once everything is saved, and compacts logs in between.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use tandem_crdt::{
    ClientRun, Document, DocumentConfig, EMPTY_UPDATE, Presence, Removal, SessionConfig,
    SyncSession, client_id_from_random,
};
use tokio::sync::OnceCell;
// The runtime's clock for idle tracking, so tests can pause and advance it.
use tokio::time::Instant;

use crate::cluster::Replicas;
use crate::cpu_budget::Receipt;
use crate::executor::{Executor, Lane};
use crate::history::authorship::Authorship;
use crate::history::pending::Pending;
use crate::history::{History, NewVersion, VersionKind};
use crate::memory;
use crate::metrics::{Metrics, Rejection};
use crate::outbox::{CloseReason, Outbox, code};
use crate::storage::{Ack, Relocated, Storage, StorageError, StoredDocument, WriteOp, Writer};
use crate::text_cache::{self, TextCache};

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// What is stored does not decode; serving an empty document instead could overwrite it.
    #[error("stored document is corrupt: {0}")]
    Corrupt(#[from] tandem_crdt::Error),
    /// The server stopped (or building the replica failed) before the document was in memory.
    #[error("the document could not be built in memory")]
    Unbuilt,
}

/// How rooms behave (from the server's [`crate::Config`]).
#[derive(Debug, Clone)]
pub(crate) struct RoomSettings {
    pub text_name: String,
    pub compact_after_updates: usize,
    pub idle_unload: Duration,
    /// Where awareness updates of this server's clients go to reach other servers sharing the
    /// database (`None`: no other servers).
    pub presence_out: Option<PresenceOut>,
    /// Where versions are recorded.
    pub history: History,
}

/// A room's awareness update for other servers: the document and the update.
pub(crate) type PresenceOut = tokio::sync::mpsc::Sender<(Arc<str>, Vec<u8>)>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a room lock cannot leave the replica half-updated in a way that
    // matters more than losing the room; keep serving.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Member {
    session: SyncSession,
    outbox: Arc<Outbox>,
    /// The `name` claim of the connection's token: its author name in the history, before the
    /// name its presence gives.
    author: Option<String>,
}

impl Member {
    /// The name this connection's edits are credited to: its token's, else its presence's.
    fn author(&self, presence: &Presence) -> Option<String> {
        if let Some(author) = &self.author {
            return Some(author.clone());
        }
        let peers = presence.peers();
        self.session.peer_clients(presence).iter().find_map(|client| {
            let user = peers.get(client)?.state.user.as_ref()?;
            (!user.name.is_empty()).then(|| user.name.clone())
        })
    }
}

/// Why the server's own edit of a document (a restore) was not made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EditError {
    /// The room is being reloaded after an internal error.
    #[error("the document is reloading after an internal error; try again")]
    Poisoned,
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopping,
    /// The CRDT refused the edit.
    #[error(transparent)]
    Crdt(#[from] tandem_crdt::Error),
}

struct RoomState {
    document: Document,
    presence: Presence,
    members: HashMap<u64, Member>,
    /// Updates appended to the log since the last snapshot.
    unsnapshotted: usize,
    /// Bumped by every applied update: unloading checks nothing changed while it saved.
    version: u64,
    /// When the last member left; `None` while someone is connected.
    idle_since: Option<Instant>,
    /// What the next version owes.
    pending: Pending,
    /// Who wrote with which client id.
    authorship: Authorship,
}

/// One loaded document and its connections.
pub(crate) struct Room {
    id: Arc<str>,
    state: Mutex<RoomState>,
    /// Where the room's CRDT work runs, one job at a time.
    lane: Arc<Lane>,
    /// Connections, readable without waiting for the lane.
    connections: AtomicUsize,
    writer: Writer,
    metrics: Arc<Metrics>,
    compact_after_updates: usize,
    presence_out: Option<PresenceOut>,
    history: History,
    /// Set when applying a frame panicked inside the CRDT: the replica may be inconsistent, so
    /// it is never saved again, everyone is disconnected, and the next connection reloads the
    /// document from storage (which never saw the bad frame).
    poisoned: AtomicBool,
}

/// A fresh client id for the server's replica: it never edits, but must not share an id with a
/// peer's awareness.
fn server_client_id() -> u64 {
    client_id_from_random(rand::random())
}

fn replica(text_name: &str, stored: &StoredDocument) -> Result<Document, tandem_crdt::Error> {
    let config = DocumentConfig {
        text_name: text_name.to_owned(),
        track_deltas: false,
        track_undo: false,
        // What is stored and relayed must rebuild this replica exactly (issue 18).
        verify_integration: true,
        ..DocumentConfig::new(server_client_id())
    };
    Document::from_updates(config, stored.snapshot.iter().chain(&stored.updates).map(Vec::as_slice))
}

/// Builds the replica of `stored` on the executor's threads (a long log takes a while).
async fn build_replica(
    executor: &Executor,
    text_name: &str,
    stored: StoredDocument,
) -> Result<(Document, StoredDocument), LoadError> {
    let text_name = text_name.to_owned();
    let built = executor.run(move || (replica(&text_name, &stored), stored)).await;
    match built {
        Some((Ok(document), stored)) => Ok((document, stored)),
        Some((Err(error), _)) => Err(error.into()),
        None => Err(LoadError::Unbuilt),
    }
}

impl Room {
    async fn load(
        id: Arc<str>,
        storage: &dyn Storage,
        executor: &Executor,
        writer: Writer,
        metrics: Arc<Metrics>,
        settings: &RoomSettings,
    ) -> Result<Self, LoadError> {
        let stored = storage.load(&id).await?;
        let (document, stored) = build_replica(executor, &settings.text_name, stored).await?;
        let presence = Presence::new(document.client_id());
        Ok(Self {
            id,
            state: Mutex::new(RoomState {
                document,
                presence,
                members: HashMap::new(),
                // A long tail left by a crash is compacted by the next maintenance pass.
                unsnapshotted: stored.updates.len(),
                version: 0,
                idle_since: Some(Instant::now()),
                pending: Pending::new(crate::storage::unix_ms()),
                authorship: Authorship::default(),
            }),
            lane: executor.lane(),
            connections: AtomicUsize::new(0),
            writer,
            metrics,
            compact_after_updates: settings.compact_after_updates,
            presence_out: settings.presence_out.clone(),
            history: settings.history.clone(),
            poisoned: AtomicBool::new(false),
        })
    }

    /// Adds a connection and queues its opening frames (SyncStep1 and everyone's awareness).
    /// `author` is its token's `name` claim, for the history.
    pub async fn join(
        self: &Arc<Self>,
        connection: u64,
        config: SessionConfig,
        outbox: Arc<Outbox>,
        author: Option<String>,
    ) -> Result<(), CloseReason> {
        let room = self.clone();
        let joined = self.lane.run(move || room.join_now(connection, config, outbox, author)).await;
        match joined {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(CloseReason::new(
                code::INTERNAL,
                format!("could not open the session: {error}"),
            )),
            None => Err(CloseReason::new(code::INTERNAL, "could not open the session")),
        }
    }

    fn join_now(
        &self,
        connection: u64,
        config: SessionConfig,
        outbox: Arc<Outbox>,
        author: Option<String>,
    ) -> Result<(), tandem_crdt::Error> {
        let mut state = lock(&self.state);
        if self.is_poisoned() {
            // Deleted, renamed or reloading since this connection acquired it.
            outbox.close(CloseReason::new(code::TRY_AGAIN_LATER, "document changed; reconnect"));
            return Ok(());
        }
        let mut session = SyncSession::new(config);
        for frame in session.open(&state.document, &state.presence)? {
            outbox.push(frame);
        }
        state.members.insert(connection, Member { session, outbox, author });
        self.connections.store(state.members.len(), Ordering::Relaxed);
        state.idle_since = None;
        Ok(())
    }

    /// Queues one frame from `connection` behind its earlier ones; `receipt` learns what
    /// handling it cost. A malformed frame closes that connection with the reason (the
    /// document and the other connections are untouched) and its later frames are ignored.
    pub fn submit(self: &Arc<Self>, connection: u64, frame: Bytes, now_ms: u64, receipt: Receipt) {
        let room = self.clone();
        self.lane.submit(move || {
            let started = std::time::Instant::now();
            if let Err(reason) = room.receive(connection, &frame, now_ms) {
                tracing::info!(doc = %room.id, client = connection, reason = %reason.reason, "malformed frame");
                room.eject(connection, reason, now_ms);
            }
            receipt.handled(started.elapsed());
        });
    }

    /// Handles one frame from `connection`. An `Err` means the frame was malformed: close that
    /// connection with the reason; the document and the other connections are untouched.
    fn receive(&self, connection: u64, frame: &[u8], now_ms: u64) -> Result<(), CloseReason> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if !state.members.contains_key(&connection) || self.is_poisoned() {
            // A poisoned room stores nothing more: its connections are closing, and what they
            // still send is unconfirmed, so their clients send it again after reconnecting.
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = self.guarded(state, "a client's frame", |state| {
            let member = state.members.get_mut(&connection)?;
            Some(member.session.receive(frame, &mut state.document, &mut state.presence, now_ms))
        });
        let incoming = match result {
            Some(Some(Ok(incoming))) => incoming,
            // Gone meanwhile: nothing was applied.
            Some(None) => return Ok(()),
            Some(Some(Err(error))) => {
                self.metrics.reject(Rejection::Malformed);
                if matches!(error, tandem_crdt::Error::IrreproducibleUpdate) {
                    // The replica took the update in but its re-encoding rebuilds something
                    // else: nothing was stored or relayed, so reload from storage.
                    tracing::warn!(doc = %self.id, client = connection, "an update integrates differently when re-encoded; reloading the document");
                    self.poison(state, Some(connection));
                }
                return Err(CloseReason::new(code::INVALID_PAYLOAD, error.to_string()));
            }
            None => {
                self.metrics.reject(Rejection::Malformed);
                return Err(CloseReason::new(code::INVALID_PAYLOAD, "frame could not be applied"));
            }
        };
        self.metrics.update_apply_seconds.observe(started.elapsed());
        let Some(member) = state.members.get_mut(&connection) else {
            return Ok(());
        };
        if incoming.refused_update {
            self.metrics.reject(Rejection::ReadOnly);
        }
        if !incoming.refused_presence.is_empty() {
            self.metrics.reject(Rejection::Presence);
            tracing::info!(doc = %self.id, client = connection, refused = ?incoming.refused_presence, "presence for clients another connection owns refused");
        }
        for reply in incoming.replies {
            member.outbox.push(reply);
        }
        let ack_sink = member.session.config().extensions.tandem().then(|| member.outbox.clone());
        let updates = incoming.applied_updates.len();
        for (i, update) in incoming.applied_updates.into_iter().enumerate() {
            if update != EMPTY_UPDATE {
                broadcast(&state.members, Some(connection), SyncSession::update_frame(&update));
                state.unsnapshotted += 1;
                state.version += 1;
                state.pending.edited(connection);
            }
            // One ack per frame, on its last update: it confirms every message up to update_seq.
            let ack = match (&ack_sink, incoming.update_seq) {
                (Some(sink), Some(seq)) if i + 1 == updates => Some(Ack {
                    sink: sink.clone(),
                    seq,
                    state_vector: state.document.state_vector(),
                }),
                _ => None,
            };
            self.writer.write(WriteOp::Append { doc: self.id.clone(), update }, ack);
        }
        if !incoming.writers.is_empty() {
            let RoomState { authorship, members, presence, .. } = &mut *state;
            let member = members.get(&connection);
            authorship.wrote(connection, &incoming.writers, || member?.author(presence));
            self.store_authors(authorship);
        }
        if !incoming.presence.is_empty() && state.authorship.is_unnamed(connection) {
            self.name_author(state, connection);
        }
        for (update, _) in incoming.presence {
            // Relayed even when nothing changed: renewals keep the peer from timing out elsewhere.
            broadcast(&state.members, Some(connection), SyncSession::awareness_frame(&update));
            self.publish_presence(update);
        }
        Ok(())
    }

    /// Queues an update another server stored: it is applied and relayed to every connection
    /// here.
    pub fn submit_remote(self: &Arc<Self>, update: Vec<u8>) {
        let room = self.clone();
        self.lane.submit(move || room.apply_remote(&update));
    }

    fn apply_remote(&self, update: &[u8]) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if self.is_poisoned() {
            return;
        }
        match self
            .guarded(state, "another server's update", |state| state.document.apply_update(update))
        {
            Some(Ok(_)) => {
                broadcast(&state.members, None, SyncSession::update_frame(update));
                // It is in the log too: it counts towards this room's next compaction.
                state.unsnapshotted += 1;
            }
            Some(Err(error)) => {
                tracing::warn!(doc = %self.id, %error, "another server's update does not apply");
                if matches!(error, tandem_crdt::Error::IrreproducibleUpdate) {
                    self.poison(state, None);
                }
            }
            None => {}
        }
    }

    /// Hands an awareness update of this server's clients to the other servers. Best effort:
    /// when the queue is full it is dropped, and the peer's next renewal (every 15 s) repairs it.
    fn publish_presence(&self, update: Vec<u8>) {
        if let Some(out) = &self.presence_out {
            let _ = out.try_send((self.id.clone(), update));
        }
    }

    /// Queues awareness from another server's clients: it is applied and relayed to every
    /// connection here.
    pub fn submit_remote_presence(self: &Arc<Self>, update: Vec<u8>, now_ms: u64) {
        let room = self.clone();
        self.lane.submit(move || room.apply_remote_presence(&update, now_ms));
    }

    fn apply_remote_presence(&self, update: &[u8], now_ms: u64) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        match state.presence.apply_update(update, now_ms) {
            Ok(_) => broadcast(&state.members, None, SyncSession::awareness_frame(update)),
            Err(error) => {
                tracing::warn!(doc = %self.id, %error, "another server's awareness does not apply");
            }
        }
    }

    /// Applies everything stored (after missed announcements or another server's compaction)
    /// and relays what was new here.
    fn apply_stored(&self, stored: &StoredDocument) {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if self.is_poisoned() {
            return;
        }
        let sv = state.document.state_vector();
        let result = self.guarded(state, "the stored document", |state| {
            // A diff always carries the whole delete set: compare before and after to see
            // whether anything arrived.
            let before = state.document.encode_diff(&sv)?;
            for update in stored.snapshot.iter().chain(&stored.updates) {
                state.document.apply_update(update)?;
            }
            let after = state.document.encode_diff(&sv)?;
            Ok::<_, tandem_crdt::Error>((before != after).then_some(after))
        });
        match result {
            Some(Ok(Some(diff))) => {
                broadcast(&state.members, None, SyncSession::update_frame(&diff))
            }
            Some(Ok(None)) | None => {}
            Some(Err(error)) => {
                tracing::warn!(doc = %self.id, %error, "stored document does not apply")
            }
        }
    }

    /// Runs `apply` (CRDT work on the replica) and catches a panic inside it: the replica may
    /// then be inconsistent, so the room is poisoned (see [`Room::poisoned`]). `None` after a
    /// panic. `what` names the input, for the log.
    fn guarded<T>(
        &self,
        state: &mut RoomState,
        what: &str,
        apply: impl FnOnce(&mut RoomState) -> T,
    ) -> Option<T> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| apply(state))) {
            Ok(result) => Some(result),
            Err(_) => {
                tracing::error!(doc = %self.id, what, "applying panicked; reloading the document");
                self.poison(state, None);
                None
            }
        }
    }

    /// Stops the room storing anything and closes its connections, which reconnect to a room
    /// loaded afresh from storage.
    fn poison(&self, state: &mut RoomState, culprit: Option<u64>) {
        self.poisoned.store(true, Ordering::Relaxed);
        // The connection whose frame did it is closed as having sent an invalid one instead.
        for (_, member) in state.members.iter().filter(|(id, _)| Some(**id) != culprit) {
            member.outbox.close(CloseReason::new(
                code::INTERNAL,
                "document reloaded after an internal error; reconnect",
            ));
        }
    }

    /// The document left this id: every connection is told (tandem clients by a `Gone`
    /// message, everyone by the close) and the room stores nothing more, so the storage change
    /// that follows is final. The next connection to the id gets a fresh room.
    fn retire(&self, removal: &Removal) {
        let state = lock(&self.state);
        self.poisoned.store(true, Ordering::Relaxed);
        let reason = match removal {
            Removal::Deleted => "document deleted".to_owned(),
            Removal::Renamed { to } => format!("document renamed to {to}"),
        };
        for member in state.members.values() {
            if let Some(frame) = member.session.gone_frame(removal) {
                member.outbox.push(frame);
            }
            member.outbox.close(CloseReason::new(code::GONE, reason.clone()));
        }
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// Removes a connection once its queued frames are handled, and tells the others that the
    /// users it spoke for left. `now` is the runtime's clock, for idle tracking.
    pub async fn leave(self: &Arc<Self>, connection: u64, now_ms: u64, now: Instant) {
        let room = self.clone();
        self.lane
            .run(move || {
                let mut state = lock(&room.state);
                room.remove_member(&mut state, connection, now_ms, now);
            })
            .await;
    }

    /// Closes `connection` with `reason` and removes it: its frames still queued are ignored.
    fn eject(&self, connection: u64, reason: CloseReason, now_ms: u64) {
        let mut state = lock(&self.state);
        if let Some(member) = self.remove_member(&mut state, connection, now_ms, Instant::now()) {
            member.outbox.close(reason);
        }
    }

    fn remove_member(
        &self,
        state: &mut RoomState,
        connection: u64,
        now_ms: u64,
        now: Instant,
    ) -> Option<Member> {
        let member = state.members.remove(&connection)?;
        self.connections.store(state.members.len(), Ordering::Relaxed);
        if state.pending.is_editor(connection) {
            let name = member.author(&state.presence);
            state.pending.name_editor(connection, name);
        }
        if state.authorship.is_unnamed(connection) {
            if let Some(name) = member.author(&state.presence) {
                state.authorship.named(connection, &name);
            }
            state.authorship.forget(connection);
            self.store_authors(&mut state.authorship);
        }
        match member.session.leave(&mut state.presence, now_ms) {
            Ok(Some(update)) => {
                broadcast(&state.members, None, SyncSession::awareness_frame(&update));
                self.publish_presence(update);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(doc = %self.id, %error, "announcing a departure failed"),
        }
        if state.members.is_empty() {
            state.idle_since = Some(now);
            if state.pending.is_changed() && !self.is_poisoned() {
                let version = self.take_version(state, VersionKind::Auto, None, now_ms);
                self.history.queue(self.id.clone(), version);
            }
        }
        Some(member)
    }

    /// Credits what `connection` wrote unnamed to its name, if it has one now.
    fn name_author(&self, state: &mut RoomState, connection: u64) {
        let name = state.members.get(&connection).and_then(|m| m.author(&state.presence));
        if let Some(name) = name {
            state.authorship.named(connection, &name);
            self.store_authors(&mut state.authorship);
        }
    }

    /// Hands the names `authorship` learnt to the history, to store.
    fn store_authors(&self, authorship: &mut Authorship) {
        let names = authorship.take_fresh();
        if !names.is_empty() {
            self.history.queue_authors(self.id.clone(), names);
        }
    }

    /// The current text's runs by client, and the names this room credits client ids to
    /// (`None`: the server is stopping). Connections that wrote unnamed and have a name now are
    /// credited first.
    pub async fn authorship(self: &Arc<Self>) -> Option<(Vec<ClientRun>, HashMap<u64, String>)> {
        self.run(|room| {
            let mut guard = lock(&room.state);
            let state = &mut *guard;
            for connection in state.authorship.unnamed() {
                room.name_author(state, connection);
            }
            (state.document.client_runs(), state.authorship.names().clone())
        })
        .await
    }

    /// The version to record now, of kind `kind`: the text and who edited since the last one.
    fn take_version(
        &self,
        state: &mut RoomState,
        kind: VersionKind,
        name: Option<String>,
        now_ms: u64,
    ) -> NewVersion {
        for connection in state.pending.editors() {
            let author = state.members.get(&connection).and_then(|m| m.author(&state.presence));
            state.pending.name_editor(connection, author);
        }
        NewVersion {
            kind,
            name,
            authors: state.pending.take(now_ms),
            text: state.document.text(),
            created_at_ms: now_ms as i64,
        }
    }

    /// The version to record now (named, or the one before a restore), whether or not the text
    /// changed since the last (`None`: the server is stopping).
    pub async fn checkpoint(
        self: &Arc<Self>,
        kind: VersionKind,
        name: Option<String>,
        now_ms: u64,
    ) -> Option<NewVersion> {
        self.run(move |room| {
            let mut state = lock(&room.state);
            room.take_version(&mut state, kind, name, now_ms)
        })
        .await
    }

    /// Makes the text equal to `text` by the smallest change from the current one, as an edit
    /// of the server's replica that every connection receives and the log stores (a restore).
    /// Edits other clients make meanwhile merge with it like any concurrent edit.
    pub async fn replace_text(
        self: &Arc<Self>,
        text: String,
        now_ms: u64,
    ) -> Result<(), EditError> {
        self.run(move |room| room.replace_text_now(&text, now_ms))
            .await
            .unwrap_or(Err(EditError::Stopping))
    }

    fn replace_text_now(&self, text: &str, now_ms: u64) -> Result<(), EditError> {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if self.is_poisoned() {
            return Err(EditError::Poisoned);
        }
        let changes = tandem_crdt::diff::minimal_edits(&state.document.text(), text);
        if changes.is_empty() {
            return Ok(());
        }
        // Last first: each range is then still in the current text's chars when applied.
        let edits: Vec<(std::ops::Range<usize>, &str)> =
            changes.iter().rev().map(|c| (c.range.clone(), c.text.as_str())).collect();
        let update = match self
            .guarded(state, "a restore", |state| state.document.replace_each(&edits, now_ms))
        {
            Some(result) => result?,
            None => return Err(EditError::Poisoned),
        };
        broadcast(&state.members, None, SyncSession::update_frame(&update));
        state.unsnapshotted += 1;
        state.version += 1;
        self.writer.write(WriteOp::Append { doc: self.id.clone(), update }, None);
        Ok(())
    }

    /// Periodic upkeep: expires silent peers' presence and compacts a long log. Returns since
    /// when the room has had no connections.
    fn maintain(&self, now_ms: u64) -> Option<Instant> {
        let mut state = lock(&self.state);
        match state.presence.expire_silent(now_ms) {
            Ok(Some((_, update))) => {
                broadcast(&state.members, None, SyncSession::awareness_frame(&update));
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(doc = %self.id, %error, "expiring presence failed"),
        }
        if state.unsnapshotted >= self.compact_after_updates && !self.is_poisoned() {
            self.snapshot(&mut state);
        }
        let interval_ms = self.history.interval().as_millis() as u64;
        if state.pending.is_due(now_ms, interval_ms) && !self.is_poisoned() {
            let version = self.take_version(&mut state, VersionKind::Auto, None, now_ms);
            self.history.queue(self.id.clone(), version);
        }
        state.idle_since
    }

    /// Queues a snapshot if the log grew since the last one; returns the room's version.
    fn save(&self) -> u64 {
        let mut state = lock(&self.state);
        if state.unsnapshotted > 0 && !self.is_poisoned() {
            self.snapshot(&mut state);
        }
        state.version
    }

    fn snapshot(&self, state: &mut RoomState) {
        // Queued behind every append this room made so far, so the writer commits the snapshot
        // after all the updates it contains and may then drop the whole log.
        let (snapshot, held) = state.document.encode_state_and_held();
        self.writer.write(WriteOp::Snapshot { doc: self.id.clone(), state: snapshot }, None);
        // Held updates go in the log behind the snapshot: merged into it, their gaps would
        // make a reload hold the whole snapshot back and serve an empty text.
        if let Some(update) = held {
            self.writer.write(WriteOp::Append { doc: self.id.clone(), update }, None);
        }
        state.unsnapshotted = 0;
        self.metrics.compactions.inc();
    }

    fn version(&self) -> u64 {
        lock(&self.state).version
    }

    /// Runs `job` on the room's lane and waits for it (`None`: the server is stopping).
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce(&Room) -> T + Send + 'static,
    ) -> Option<T> {
        let room = self.clone();
        self.lane.run(move || job(&room)).await
    }

    /// The current text (`None`: the server is stopping).
    pub async fn text(self: &Arc<Self>) -> Option<String> {
        self.run(|room| lock(&room.state).document.text()).await
    }

    /// Number of connections.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Queues `frame` for every member but `except`.
fn broadcast(members: &HashMap<u64, Member>, except: Option<u64>, frame: Vec<u8>) {
    let frame = Bytes::from(frame);
    for (&id, member) in members {
        if Some(id) != except {
            // A full outbox closes itself; the connection then leaves the room.
            member.outbox.push(frame.clone());
        }
    }
}

struct Slot {
    room: Arc<OnceCell<Arc<Room>>>,
    /// Connections using or loading the room; only a room with none may be unloaded.
    users: usize,
}

/// Every document in memory, by id.
pub(crate) struct Rooms {
    slots: Mutex<HashMap<Arc<str>, Slot>>,
    /// The threads every room's CRDT work runs on.
    executor: Executor,
    /// Other servers' commits taken from the database's announcements so far: a room whose
    /// load overlapped one resyncs once it is visible (see [`Rooms::acquire`]).
    remote_commits: AtomicU64,
    storage: Arc<dyn Storage>,
    writer: Writer,
    metrics: Arc<Metrics>,
    settings: RoomSettings,
    /// Texts of documents that are not loaded, for the HTTP API.
    texts: TextCache,
}

/// A connection's hold on a room: while it exists the room stays loaded.
pub(crate) struct RoomLease {
    rooms: Arc<Rooms>,
    id: Arc<str>,
    room: Option<Arc<Room>>,
}

impl RoomLease {
    /// The room.
    pub fn room(&self) -> &Arc<Room> {
        match &self.room {
            Some(room) => room,
            None => unreachable!("a lease handed out always holds its room"),
        }
    }
}

impl Drop for RoomLease {
    fn drop(&mut self) {
        self.rooms.release(&self.id);
    }
}

impl Rooms {
    pub fn new(
        storage: Arc<dyn Storage>,
        writer: Writer,
        metrics: Arc<Metrics>,
        settings: RoomSettings,
    ) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            executor: Executor::per_core(),
            remote_commits: AtomicU64::new(0),
            storage,
            writer,
            metrics,
            settings,
            texts: TextCache::new(text_cache::DEFAULT_MAX_BYTES),
        }
    }

    /// The room of `doc`, loaded from storage first if needed (concurrent callers share one
    /// load). Nobody is served before the whole stored document is in memory.
    pub async fn acquire(self: &Arc<Self>, doc: &str) -> Result<RoomLease, LoadError> {
        let (id, cell) = {
            let mut slots = lock(&self.slots);
            let id = match slots.get_key_value(doc) {
                Some((id, _)) => id.clone(),
                None => Arc::from(doc),
            };
            let slot = slots
                .entry(id.clone())
                .or_insert_with(|| Slot { room: Arc::new(OnceCell::new()), users: 0 });
            if slot.room.get().is_some_and(|room| room.is_poisoned()) {
                // Its connections are closing; later ones get a replica fresh from storage.
                slot.room = Arc::new(OnceCell::new());
                self.metrics.documents_loaded.dec();
            }
            slot.users += 1;
            (id, slot.room.clone())
        };
        // Dropping the lease on a failed load releases the slot again.
        let mut lease = RoomLease { rooms: self.clone(), id: id.clone(), room: None };
        // Set by the call that loads the room: the remote commits seen when the load began.
        let loaded_after = AtomicU64::new(u64::MAX);
        let room = cell
            .get_or_try_init(|| async {
                loaded_after.store(self.remote_commits.load(Ordering::Acquire), Ordering::Relaxed);
                let started = std::time::Instant::now();
                let room = Room::load(
                    id.clone(),
                    &*self.storage,
                    &self.executor,
                    self.writer.clone(),
                    self.metrics.clone(),
                    &self.settings,
                )
                .await?;
                self.metrics.documents_loaded.inc();
                tracing::debug!(doc = %id, elapsed_ms = started.elapsed().as_millis() as u64, "document loaded");
                Ok::<_, LoadError>(Arc::new(room))
            })
            .await?;
        // Another server's commit announced while this load read the database may have been
        // skipped by `follow` (the room was not visible yet) and missed by the read.
        let seen = loaded_after.into_inner();
        if seen != u64::MAX && seen != self.remote_commits.load(Ordering::Acquire) {
            self.resync_room(&id, room).await;
        }
        lease.room = Some(room.clone());
        Ok(lease)
    }

    fn release(&self, id: &str) {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.get_mut(id) {
            slot.users = slot.users.saturating_sub(1);
            if slot.users == 0 && !slot.room.initialized() {
                slots.remove(id);
            }
        }
    }

    fn loaded(&self) -> Vec<(Arc<str>, Arc<Room>)> {
        lock(&self.slots)
            .iter()
            .filter_map(|(id, slot)| Some((id.clone(), slot.room.get()?.clone())))
            .collect()
    }

    /// The room of `doc` if it is loaded (a poisoned one is on its way out: storage, or the
    /// next room, speaks for the document).
    pub fn get(&self, doc: &str) -> Option<Arc<Room>> {
        lock(&self.slots)
            .get(doc)
            .and_then(|slot| slot.room.get().filter(|room| !room.is_poisoned()).cloned())
    }

    /// Periodic upkeep of every room; unloads rooms idle for the configured quiet period, and
    /// then gives the memory they held back to the system.
    pub async fn maintain(&self, now_ms: u64) {
        let mut unloaded = 0;
        for (id, room) in self.loaded() {
            let idle_since = room.run(move |room| room.maintain(now_ms)).await.flatten();
            if idle_since.is_some_and(|since| since.elapsed() >= self.settings.idle_unload)
                && self.unload(&id, &room).await
            {
                unloaded += 1;
            }
        }
        if unloaded > 0 {
            let _ = tokio::task::spawn_blocking(memory::release_free_memory).await;
        }
    }

    /// Saves an idle room and removes it; whether it was removed (not if it changed or was
    /// joined meanwhile, or saving failed).
    async fn unload(&self, id: &Arc<str>, room: &Arc<Room>) -> bool {
        let Some(version) = room.run(Room::save).await else {
            return false;
        };
        if let Err(error) = self.writer.flush().await {
            tracing::warn!(doc = %id, %error, "not unloading: saving failed");
            return false;
        }
        // Nothing else is queued for an idle room; reading the version here, not on its lane,
        // keeps the check and the removal under one lock of the slots.
        let mut slots = lock(&self.slots);
        let unchanged = room.version() == version;
        let unload = slots.get(id).is_some_and(|slot| slot.users == 0) && unchanged;
        if unload {
            slots.remove(id);
            self.metrics.documents_loaded.dec();
            tracing::debug!(doc = %id, "document unloaded");
        }
        unload
    }

    /// Applies what storage holds for `doc` to its room.
    async fn resync_room(&self, doc: &str, room: &Arc<Room>) {
        match self.storage.load(doc).await {
            Ok(stored) => {
                room.run(move |room| room.apply_stored(&stored)).await;
            }
            Err(error) => tracing::warn!(doc, %error, "resyncing from storage failed"),
        }
    }

    /// Deletes `doc` (`Removal::Deleted`) or moves it to a new id: its connections are told and
    /// closed, what its room queued is committed, then storage changes in one transaction. A
    /// rename onto an id someone has open is refused (that room's replica would hide the moved
    /// text).
    pub async fn relocate(&self, doc: &str, removal: &Removal) -> Result<Relocated, StorageError> {
        if let Removal::Renamed { to } = removal
            && self.get(to).is_some_and(|room| room.connections() > 0)
        {
            return Ok(Relocated::TargetTaken);
        }
        if let Some(room) = self.get(doc) {
            room.retire(removal);
        }
        self.texts.forget(doc);
        if let Removal::Renamed { to } = removal {
            self.texts.forget(to);
        }
        self.writer.flush().await?;
        match removal {
            Removal::Deleted => self.storage.delete(doc).await,
            Removal::Renamed { to } => {
                let relocated = self.storage.rename(doc, to).await?;
                if relocated == Relocated::Done
                    && let Some(room) = self.get(to)
                {
                    // Loaded empty and idle: the next connection loads the moved document.
                    room.poisoned.store(true, Ordering::Relaxed);
                }
                Ok(relocated)
            }
        }
    }

    /// Saves every loaded room and waits for the writes to commit (shutdown).
    pub async fn save_all(&self) -> Result<(), StorageError> {
        for (_, room) in self.loaded() {
            room.run(Room::save).await;
        }
        self.writer.flush().await
    }

    /// The current text of `doc`: from memory if loaded, else as stored, built once per stored
    /// state ([`TextCache`]); `None` if the document does not exist.
    pub async fn text(&self, doc: &str) -> Result<Option<String>, LoadError> {
        if let Some(room) = self.get(doc) {
            return room.text().await.map(Some).ok_or(LoadError::Unbuilt);
        }
        let Some(stamp) = self.storage.stamp(doc).await? else {
            return Ok(None);
        };
        let build = || async {
            // Read after the stamp: the text is at least as new as the state it is kept for.
            let stored = self.storage.load(doc).await?;
            self.metrics.text_builds.inc();
            let (document, _) =
                build_replica(&self.executor, &self.settings.text_name, stored).await?;
            Ok::<_, LoadError>(document.text())
        };
        Ok(Some(self.texts.text(doc, stamp, build).await?.to_string()))
    }

    /// The current text of `doc` by client, and the names its room credits client ids to;
    /// `None` if the document does not exist. The document is loaded for this (and then stays
    /// until it is idle again, like after any visit), so repeated asking builds no replica.
    pub async fn authorship(
        self: &Arc<Self>,
        doc: &str,
    ) -> Result<Option<(Vec<ClientRun>, HashMap<u64, String>)>, LoadError> {
        if self.get(doc).is_none() && self.storage.stamp(doc).await?.is_none() {
            return Ok(None);
        }
        let lease = self.acquire(doc).await?;
        lease.room().authorship().await.map(Some).ok_or(LoadError::Unbuilt)
    }
}

/// Other servers' commits reach this server's rooms through here ([`crate::cluster::follow`]).
impl Replicas for Rooms {
    fn heard(&self) {
        self.remote_commits.fetch_add(1, Ordering::AcqRel);
    }

    fn loaded(&self) -> Vec<Arc<str>> {
        Rooms::loaded(self).into_iter().map(|(id, _)| id).collect()
    }

    fn apply_update(&self, doc: &str, update: &[u8]) {
        if let Some(room) = self.get(doc) {
            room.submit_remote(update.to_vec());
        }
    }

    fn apply_presence(&self, doc: &str, update: &[u8]) {
        if let Some(room) = self.get(doc) {
            room.submit_remote_presence(update.to_vec(), crate::storage::unix_ms());
        }
    }

    async fn resync(&self, doc: &str) {
        if let Some(room) = self.get(doc) {
            self.resync_room(doc, &room).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_crdt::{
        Extensions, Message, PRESENCE_TIMEOUT_MS, PeerAccess, PresenceState, UserInfo,
    };

    use super::*;
    use crate::outbox::OutboxReceiver;
    use crate::storage::SqliteStorage;

    async fn rooms(dir: &std::path::Path) -> Arc<Rooms> {
        let sqlite = SqliteStorage::open(&dir.join("t.db")).await.unwrap();
        let history = History::spawn(sqlite.history(), Duration::from_secs(300));
        let storage: Arc<dyn Storage> = Arc::new(sqlite);
        let metrics = Arc::new(Metrics::default());
        let writer = Writer::spawn(storage.clone(), metrics.clone(), 1 << 20);
        let settings = RoomSettings {
            text_name: "content".into(),
            compact_after_updates: 1000,
            idle_unload: Duration::from_secs(60),
            presence_out: None,
            history,
        };
        Arc::new(Rooms::new(storage, writer, metrics, settings))
    }

    fn member(room: &Room, id: u64) -> OutboxReceiver {
        member_with_outbox(room, id).1
    }

    fn member_with_outbox(room: &Room, id: u64) -> (Arc<Outbox>, OutboxReceiver) {
        let (outbox, rx) = Outbox::new(100, 1 << 20, Arc::new(Metrics::default()));
        let config = SessionConfig::server(Extensions::Stock, PeerAccess::ReadWrite);
        room.join_now(id, config, outbox.clone(), None).unwrap();
        (outbox, rx)
    }

    #[tokio::test]
    async fn a_panicking_apply_poisons_the_room_and_the_next_connection_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let rooms = rooms(dir.path()).await;
        let lease = rooms.acquire("doc").await.unwrap();
        let room = rooms.get("doc").unwrap();
        let (alice, _alice_rx) = member_with_outbox(&room, 1);
        let mut typist = Document::new(DocumentConfig::new(5)).unwrap();
        let update = typist.insert(0, "kept", 0).unwrap();
        room.receive(1, &SyncSession::update_frame(&update), 0).unwrap();
        rooms.writer.flush().await.unwrap();

        // resume_unwind: a panic without the panic hook's noise in the test output.
        let applied = room.guarded(&mut lock(&room.state), "a test", |_| {
            std::panic::resume_unwind(Box::new("injected"))
        });
        assert_eq!(applied, None::<()>);
        assert!(room.is_poisoned());
        assert_eq!(alice.close_reason().map(|r| r.code), Some(code::INTERNAL));
        room.save();
        rooms.writer.flush().await.unwrap();
        assert_eq!(rooms.storage.load("doc").await.unwrap().snapshot, None, "never saved again");

        drop(lease);
        let reloaded = rooms.acquire("doc").await.unwrap();
        assert!(!Arc::ptr_eq(reloaded.room(), &room), "a fresh replica");
        assert_eq!(reloaded.room().text().await.as_deref(), Some("kept"));
        assert!(!reloaded.room().is_poisoned());
    }

    #[tokio::test]
    async fn idle_rooms_unload_after_the_quiet_period() {
        let dir = tempfile::tempdir().unwrap();
        let rooms = rooms(dir.path()).await;
        drop(rooms.acquire("doc").await.unwrap());
        // Paused only around the jumps: storage runs on real threads with real timeouts.
        let wait = |secs| async move {
            tokio::time::pause();
            tokio::time::advance(Duration::from_secs(secs)).await;
            tokio::time::resume();
        };
        wait(59).await;
        rooms.maintain(0).await;
        assert!(rooms.get("doc").is_some(), "unloaded before the quiet period ended");
        wait(2).await;
        rooms.maintain(0).await;
        assert!(rooms.get("doc").is_none(), "still loaded after the quiet period");
    }

    #[tokio::test]
    async fn writers_are_credited_by_token_name_or_by_presence_name_once_it_comes() {
        let dir = tempfile::tempdir().unwrap();
        let rooms = rooms(dir.path()).await;
        let lease = rooms.acquire("doc").await.unwrap();
        let room = lease.room();
        let (outbox, _ada_rx) = Outbox::new(100, 1 << 20, Arc::new(Metrics::default()));
        let config = SessionConfig::server(Extensions::Stock, PeerAccess::ReadWrite);
        room.join_now(1, config, outbox, Some("ada".into())).unwrap();
        let _bob_rx = member(room, 2);
        let mut ada = Document::new(DocumentConfig::new(5)).unwrap();
        let mut bob = Document::new(DocumentConfig::new(6)).unwrap();
        let update = ada.insert(0, "hello world", 0).unwrap();
        room.receive(1, &SyncSession::update_frame(&update), 0).unwrap();
        bob.apply_update(&update).unwrap();
        // Bob writes before his presence names him.
        let update = bob.insert(6, "big ", 0).unwrap();
        room.receive(2, &SyncSession::update_frame(&update), 0).unwrap();
        let (runs, names) = room.authorship().await.unwrap();
        let clients: Vec<(u64, usize)> = runs.iter().map(|r| (r.client, r.chars)).collect();
        assert_eq!(clients, vec![(5, 6), (6, 4), (5, 5)]);
        assert_eq!(names, [(5, "ada".to_owned())].into());

        let update = named_presence(6, "bob", 1_000);
        room.receive(2, &SyncSession::awareness_frame(&update), 1_000).unwrap();
        let (_, names) = room.authorship().await.unwrap();
        assert_eq!(names, [(5, "ada".to_owned()), (6, "bob".to_owned())].into());
        room.history.flush().await;
        assert_eq!(room.history.store().authors("doc").await.unwrap(), names, "stored");
    }

    /// The awareness update of client `client` announcing itself as `name`.
    fn named_presence(client: u64, name: &str, now_ms: u64) -> Vec<u8> {
        let mut presence = Presence::new(client);
        let user = UserInfo { name: name.into(), color: "#000000".into(), color_light: None };
        let state = PresenceState { user: Some(user), cursor: None };
        presence.set_local_state(&state, now_ms).unwrap()
    }

    fn drain(rx: &mut OutboxReceiver) -> Vec<Message> {
        std::iter::from_fn(|| rx.try_recv())
            .flat_map(|frame| Message::decode_frame(&frame).unwrap())
            .collect()
    }

    /// Who a client sees after applying, in order, the awareness frames `rx` received.
    fn seen(rx: &mut OutboxReceiver, view: &mut Presence) -> Vec<(u64, String)> {
        for message in drain(rx) {
            if let Message::Awareness { update } = message {
                view.apply_update(&update, 0).unwrap();
            }
        }
        let peers = view.peers().into_values();
        peers.map(|p| (p.client_id, p.state.user.map(|u| u.name).unwrap_or_default())).collect()
    }

    /// A room in which connection 2 announced the page client 77 ("ada") at 1 s, its clock then
    /// raised as a reconnect raises it (`Client::connect`), while connection 1 watches.
    struct PageAnnounced {
        _dir: tempfile::TempDir,
        lease: RoomLease,
        watcher: OutboxReceiver,
        view: Presence,
        page: Presence,
        state: PresenceState,
    }

    impl PageAnnounced {
        async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let lease = rooms(dir.path()).await.acquire("doc").await.unwrap();
            let room = lease.room();
            let (mut watcher, mut view) = (member(room, 1), Presence::new(1));
            let _old = member(room, 2);
            let user = UserInfo { name: "ada".into(), color: "#000000".into(), color_light: None };
            let state = PresenceState { user: Some(user), cursor: None };
            let mut page = Presence::new(77);
            let joined = page.set_local_state(&state, 1_000).unwrap();
            room.receive(2, &SyncSession::awareness_frame(&joined), 1_000).unwrap();
            assert_eq!(seen(&mut watcher, &mut view), [(77, "ada".to_owned())]);
            page.outrun_removal();
            Self { _dir: dir, lease, watcher, view, page, state }
        }

        /// Who the watcher sees now.
        fn seen(&mut self) -> Vec<(u64, String)> {
            seen(&mut self.watcher, &mut self.view)
        }

        /// The page announces itself on `connection` at `now_ms`.
        fn announce(&mut self, connection: u64, now_ms: u64) {
            let update = self.page.set_local_state(&self.state, now_ms).unwrap();
            let frame = SyncSession::awareness_frame(&update);
            self.lease.room().receive(connection, &frame, now_ms).unwrap();
        }

        fn close(&self, connection: u64, now_ms: u64) {
            let room = self.lease.room();
            room.remove_member(&mut lock(&room.state), connection, now_ms, Instant::now());
        }
    }

    /// A page's socket drops and the page reconnects and announces itself before the server has
    /// read the old socket's end: that announcement is refused (the old connection owns the
    /// client), but when the old connection leaves, the others see the page, not its departure.
    #[tokio::test]
    async fn a_client_that_reconnects_before_its_old_connection_leaves_stays_visible() {
        let mut page = PageAnnounced::new().await;
        let _new = member(page.lease.room(), 3);
        page.announce(3, 2_000);
        page.close(2, 2_500);
        assert_eq!(page.seen(), [(77, "ada".to_owned())], "the page is seen");
        // The new connection owns the client now: its close announces the departure.
        page.close(3, 3_000);
        assert_eq!(page.seen(), []);
    }

    /// A page reconnected while its old connection stays half-open (closed only by the idle
    /// timeout): when the server expires the old connection's silent presence, the page's
    /// refused announcement on its new connection takes over, so it is seen at once and its
    /// renewals are taken, and the old connection's close later changes nothing.
    #[tokio::test]
    async fn a_client_whose_old_connection_hangs_is_seen_again_when_that_one_expires() {
        let mut page = PageAnnounced::new().await;
        let _new = member(page.lease.room(), 3);
        page.announce(3, 16_000);
        page.lease.room().maintain(1_000 + PRESENCE_TIMEOUT_MS);
        assert_eq!(page.seen(), [(77, "ada".to_owned())], "handed over");
        page.announce(3, 50_000);
        page.lease.room().maintain(31_000 + PRESENCE_TIMEOUT_MS);
        page.close(2, 61_000);
        assert_eq!(page.seen(), [(77, "ada".to_owned())], "renewed, not expired");
    }

    #[tokio::test]
    async fn silent_peers_expire_after_30_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let rooms = rooms(dir.path()).await;
        let lease = rooms.acquire("doc").await.unwrap();
        let room = lease.room();
        let _alice = member(room, 1);
        let mut bob = member(room, 2);

        let update = named_presence(77, "alice", 1_000);
        room.receive(1, &SyncSession::awareness_frame(&update), 1_000).unwrap();
        assert!(matches!(drain(&mut bob).last(), Some(Message::Awareness { .. })));

        room.maintain(1_000 + 29_000);
        assert!(drain(&mut bob).iter().all(|m| !matches!(m, Message::Awareness { .. })));
        room.maintain(1_000 + 30_000);
        let messages = drain(&mut bob);
        let Some(Message::Awareness { update }) = messages.last() else {
            panic!("no expiry announced: {messages:?}");
        };
        assert_eq!(Presence::clients_in_update(update).unwrap(), vec![(77, false)]);
    }
}
