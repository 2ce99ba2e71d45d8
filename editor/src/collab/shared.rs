//! [`SharedDoc`]: what a shared document adds to the editor — its [`Collab`] session, the
//! [`NetHandle`] and the [`OfflineStore`]. The front end ([`crate::app::App`]) holds one when the
//! document is shared and feeds it the network events; everything here is about the document and
//! the wire, nothing about the terminal or the screen.
//!
//! The front end's loop: [`SharedDoc::network`] for every network event, [`SharedDoc::send`]
//! once per batch (local edits go out together), then [`SharedDoc::persist`] (the store is
//! updated after every change batch, off the latency path).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ropey::Rope;
use tandem_connect::{Connector, Problem, Retry};
use tandem_crdt::{DocumentConfig, MAX_CLIENT_ID, UserInfo};

use crate::config::Config;
use crate::editor::{Editor, MessageKind};
use crate::text::Edit;

use super::{
    ChangeTracking, Collab, CollabError, Connection, Frames, Loaded, NetEvent, NetHandle,
    OfflineStore, SharedHistory, Target,
};

/// Rewrite the snapshot at most this often after confirmations (so restarts count right).
const SNAPSHOT_EVERY_MS: u64 = 5_000;

/// Wall-clock milliseconds since the Unix epoch (presence and undo grouping need wall time).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// How to open a collaborative document.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// `ws://HOST:PORT/DOC-ID`.
    pub url: String,
    /// tandem-server access token.
    pub token: Option<String>,
    /// Name shown to others.
    pub name: String,
    /// Colour shown to others, `#rrggbb`.
    pub color: String,
    /// Local file linked to the document (Ctrl-S writes it; seeds an empty document).
    pub file: Option<PathBuf>,
    /// Open the stored copy without connecting.
    pub offline: bool,
    /// A private certificate authority to trust for `wss://` (PEM), besides the platform's.
    pub ca_cert: Option<PathBuf>,
    /// Root of the local store (the platform data dir by default).
    pub data_dir: PathBuf,
}

/// A shared document's session, network and local store.
pub struct SharedDoc {
    collab: Collab,
    net: Option<NetHandle>,
    epoch: Option<u64>,
    outbox: Frames,
    store: OfflineStore,
    target: Target,
    /// The linked file's text, until the first sync decides whether it seeds the document.
    file_text: Option<String>,
    snapshot_due: bool,
    last_snapshot_ms: u64,
    /// How it was opened (another document of the same server reuses the identity and token).
    options: AppOptions,
}

impl SharedDoc {
    /// Opens the stored copy of the document (if any) in an editor configured by `config` and,
    /// unless offline, starts connecting; network events are given to `events` (on the network
    /// thread).
    pub fn open(
        options: AppOptions,
        config: &Config,
        events: impl Fn(NetEvent) + Send + 'static,
    ) -> Result<(Editor, Self), CollabError> {
        let now = now_ms();
        let target = Target::parse(&options.url)?;
        let mut store = OfflineStore::open(&options.data_dir, &target.server, &target.doc)?;
        let mut loaded = store.load()?;
        // Replica slots of instances that have exited: their edits join this one's.
        let idle = store.idle_replicas()?;
        for (_, other) in &idle {
            if let Some(other) = other {
                loaded.get_or_insert_with(Loaded::default).absorb(other.clone());
            }
        }
        // A fresh client id per run: the stored state holds the old ids' updates already.
        // Undo steps end where the editor's word-by-word rule ends them (Collab::flush), never
        // by a timer: a burst of typing undoes a word at a time, slow typing a word at once.
        let doc_config = DocumentConfig {
            undo_group_ms: u64::MAX,
            ..DocumentConfig::new(rand::random_range(1..=MAX_CLIENT_ID))
        };
        let client = Loaded::restore(loaded.as_ref(), doc_config)?;
        if !idle.is_empty() {
            store.write_snapshot(&client.offline_state())?;
            for (slot, _) in idle {
                slot.remove()?;
            }
        }
        let text = client.document().text();

        let mut file_text = None;
        let mut editor = match &options.file {
            Some(path) => {
                let mut ed = Editor::open(path, config)?;
                if let Some(reason) = ed.read_only() {
                    return Err(CollabError::Link {
                        path: path.clone(),
                        reason: reason.to_owned(),
                    });
                }
                // Counts from the file's text: the buffer shows as modified when the document
                // differs from the file.
                ed.set_history(Box::new(SharedHistory::new(ChangeTracking::Counted)));
                let on_disk = ed.rope().to_string();
                if on_disk != text {
                    let len = ed.rope().len_chars();
                    ed.apply_remote(Edit { range: 0..len, text: text.clone() });
                }
                if !text.is_empty() && on_disk != text {
                    ed.notify(
                        format!(
                            "the stored document differs from {} and wins; Ctrl-S overwrites the file",
                            path.display()
                        ),
                        MessageKind::Info,
                    );
                }
                file_text = Some(on_disk);
                ed
            }
            None => {
                let mut ed = Editor::with_rope(Rope::from_str(&text), config);
                ed.set_history(Box::new(SharedHistory::new(ChangeTracking::Ignored)));
                ed
            }
        };
        if loaded.as_ref().is_some_and(|l| l.torn_tail) {
            editor.notify(
                "the local store ended in a torn write (a crash); the last unsynced batch is lost",
                MessageKind::Error,
            );
        }
        editor.enable_presence_list();
        if options.token.as_deref().is_some_and(super::token_is_read_only) {
            editor.set_read_only(Some("the token grants read-only access".into()));
        }
        let user = UserInfo {
            name: options.name.clone(),
            color: options.color.clone(),
            color_light: None,
        };
        let collab = Collab::new(client, user);
        let mut shared = Self {
            collab,
            net: None,
            epoch: None,
            outbox: Vec::new(),
            store,
            target,
            file_text,
            snapshot_due: false,
            last_snapshot_ms: now,
            options: options.clone(),
        };
        if options.offline {
            shared.collab.set_connection(Connection::Offline);
            shared.seed_from_file(&mut editor, now)?;
        } else {
            shared.connect(events)?;
        }
        Ok((editor, shared))
    }

    /// Starts the network thread; its events go to `events`.
    fn connect(&mut self, events: impl Fn(NetEvent) + Send + 'static) -> Result<(), CollabError> {
        let url = self.target.connect_url(self.options.token.as_deref());
        let connector = Connector::new(self.options.ca_cert.as_deref())?;
        self.net = Some(NetHandle::spawn(url, connector, events).map_err(CollabError::Net)?);
        self.collab.set_connection(Connection::Connecting);
        Ok(())
    }

    /// Goes online from an `--offline` session, without a restart: connects as
    /// [`SharedDoc::open`] would have, the stored edits syncing as after any network cut. Returns
    /// whether it started connecting (false when already online).
    pub fn go_online(
        &mut self,
        events: impl Fn(NetEvent) + Send + 'static,
    ) -> Result<bool, CollabError> {
        if self.net.is_some() {
            return Ok(false);
        }
        self.options.offline = false;
        self.connect(events)?;
        Ok(true)
    }

    /// The collaborative session.
    pub fn collab(&mut self) -> &mut Collab {
        &mut self.collab
    }

    /// The status bar's connection text.
    pub fn status(&mut self, ed: &Editor, now: u64) -> String {
        self.collab.status(ed, now)
    }

    /// How the document was opened.
    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    /// The document's target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Where the document is stored locally.
    pub fn store_dir(&self) -> &std::path::Path {
        self.store.dir()
    }

    /// Whether a connection is open (its epoch).
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// Handles one network event. A malformed frame also drops its connection, which reconnects
    /// with backoff; the error is returned for the message line.
    pub fn network(
        &mut self,
        ed: &mut Editor,
        event: NetEvent,
        now: u64,
    ) -> Result<(), CollabError> {
        match event {
            NetEvent::Connecting { .. } => {
                if !matches!(self.collab.connection(), Connection::Retrying { .. }) {
                    self.collab.set_connection(Connection::Connecting);
                }
            }
            NetEvent::Connected { epoch } => {
                tracing::info!(epoch, url = %self.target.base, "connected");
                self.epoch = Some(epoch);
                self.outbox = self.collab.connected(ed, now)?;
            }
            NetEvent::Frame { epoch, bytes } => {
                if self.epoch != Some(epoch) {
                    return Ok(());
                }
                let received = match self.collab.receive(ed, &bytes, now) {
                    Ok(received) => received,
                    Err(e) => {
                        self.drop_connection(epoch, &e);
                        return Err(e);
                    }
                };
                self.outbox.extend(received.frames);
                self.snapshot_due |= received.confirmed > 0;
                if let Some(reason) = received.denied {
                    ed.notify(Problem::Denied { reason }.to_string(), MessageKind::Error);
                }
                if received.first_sync {
                    self.seed_from_file(ed, now)?;
                }
            }
            NetEvent::Disconnected { problem, retry_in } => {
                tracing::info!(%problem, ?retry_in, "disconnected");
                self.epoch = None;
                // A problem only the server's operator or the user can fix is said in full, once;
                // so is a server going away (the status bar soon says "connection refused" while
                // it restarts).
                let repeated = matches!(self.collab.connection(), Connection::Retrying { problem: before, .. } if *before == problem);
                if problem.retry() == Retry::Slowly && !repeated {
                    ed.notify(problem.to_string(), MessageKind::Error);
                } else if problem == Problem::GoingAway {
                    ed.notify(problem.to_string(), MessageKind::Info);
                }
                let retry_at_ms = now + retry_in.as_millis() as u64;
                self.collab.disconnected(Connection::Retrying { problem, retry_at_ms });
            }
            NetEvent::Refused { problem } => {
                tracing::warn!(%problem, "refused");
                self.epoch = None;
                ed.notify(problem.to_string(), MessageKind::Error);
                self.collab.disconnected(Connection::Refused { problem });
            }
        }
        Ok(())
    }

    /// After a malformed frame the sync session's state is unknown: forget the connection (its
    /// queued replies and any frames still in flight on it) and let the network thread reconnect
    /// with backoff; the next handshake resyncs whatever was lost.
    fn drop_connection(&mut self, epoch: u64, error: &CollabError) {
        tracing::warn!(epoch, error = %error, "malformed frame; reconnecting");
        self.epoch = None;
        self.outbox.clear();
        self.collab.disconnected(Connection::Connecting);
        if let Some(net) = &self.net {
            net.reset(epoch, format!("malformed frame from the server: {error}"));
        }
    }

    /// On the first sync (or at once offline): an empty document takes the linked file's text;
    /// a non-empty one wins, and the editor says so when they differ.
    fn seed_from_file(&mut self, ed: &mut Editor, now: u64) -> Result<(), CollabError> {
        let Some(file_text) = self.file_text.take() else { return Ok(()) };
        match self.collab.seed(ed, &file_text, now)? {
            Some(frames) => {
                self.outbox.extend(frames);
                // The document now equals the file: nothing unsaved.
                ed.set_history(Box::new(SharedHistory::new(ChangeTracking::Counted)));
                ed.notify("the empty document was seeded from the file", MessageKind::Info);
            }
            None if !file_text.is_empty() && ed.rope() != file_text.as_str() => {
                let name = ed.path().map(|p| p.display().to_string()).unwrap_or_default();
                ed.notify(
                    format!("the shared document differs from {name} and wins; Ctrl-S overwrites the file"),
                    MessageKind::Info,
                );
            }
            None => {}
        }
        Ok(())
    }

    /// Makes `edits` as this user though not typed (see [`Collab::apply_local`]); they go out
    /// with the next [`SharedDoc::send`] and are stored with the next [`SharedDoc::persist`].
    pub fn edit(&mut self, ed: &mut Editor, edits: &[Edit], now: u64) -> Result<(), CollabError> {
        let frames = self.collab.apply_local(ed, edits, now)?;
        self.outbox.extend(frames);
        Ok(())
    }

    /// Periodic work (call about once a second): presence renewal, peer expiry, snapshots.
    pub fn tick(&mut self, ed: &mut Editor, now: u64) {
        match self.collab.tick(ed, now) {
            Ok(frames) => self.outbox.extend(frames),
            Err(e) => ed.notify(e.to_string(), MessageKind::Error),
        }
    }

    /// Moves local edits into the CRDT and sends every waiting frame on the open connection.
    pub fn send(&mut self, ed: &mut Editor, now: u64) {
        match self.collab.flush(ed, now) {
            Ok(frames) => self.outbox.extend(frames),
            Err(e) => ed.notify(e.to_string(), MessageKind::Error),
        }
        let frames = std::mem::take(&mut self.outbox);
        if let (Some(net), Some(epoch)) = (&self.net, self.epoch) {
            for frame in frames {
                net.send(epoch, frame);
            }
        }
    }

    /// Writes what changed since the last call to the store (appended and fsync'd), and
    /// rewrites the snapshot when the log is long or confirmations changed what is at risk.
    pub fn persist(&mut self, now: u64) -> Result<(), CollabError> {
        let journal = self.collab.client_mut().drain_journal();
        self.store.append_journal(&journal)?;
        let confirmations_old =
            self.snapshot_due && now.saturating_sub(self.last_snapshot_ms) >= SNAPSHOT_EVERY_MS;
        if self.store.wants_compaction() || confirmations_old {
            self.snapshot(now)?;
        }
        Ok(())
    }

    fn snapshot(&mut self, now: u64) -> Result<(), CollabError> {
        self.store.write_snapshot(&self.collab.client().offline_state())?;
        self.snapshot_due = false;
        self.last_snapshot_ms = now;
        Ok(())
    }

    /// Puts everything on disk now, with a fresh snapshot (before exiting on a signal, without a goodbye).
    pub fn flush(&mut self, now: u64) -> Result<(), CollabError> {
        self.persist(now)?;
        self.snapshot(now)
    }

    /// Leaves cleanly: tells the others, writes a final snapshot, closes the connection.
    pub fn shutdown(mut self, ed: &mut Editor, now: u64) -> Result<(), CollabError> {
        if let Ok(frames) = self.collab.leave(now) {
            self.outbox.extend(frames);
        }
        self.send(ed, now);
        self.persist(now)?;
        self.snapshot(now)?;
        // Dropping the handle sends what is queued, closes the socket and joins the thread.
        drop(self.net.take());
        Ok(())
    }

    /// Stops the network without a goodbye, like a crash would (tests and benchmarks).
    pub fn disconnect_now(&mut self) {
        self.net = None;
        self.epoch = None;
    }
}
