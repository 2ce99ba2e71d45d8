//! [`App`]: one collaborative document in the editor — the [`Editor`], its [`Collab`] session,
//! the [`NetHandle`] and the [`OfflineStore`] — driven by [`AppEvent`]s that the front end feeds
//! from one channel (terminal input and network events alike, so a remote frame is handled the
//! moment it arrives, with no polling delay).
//!
//! The front end's loop: [`App::handle`] every queued event, [`App::send`] (local edits go out
//! once per batch), draw with [`App::render`], then [`App::persist`] (the store is updated after
//! every change batch, off the latency path).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};

use anyhow::Context;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ropey::Rope;
use tandem_crdt::{
    Client, Document, DocumentConfig, JournalEntry, MAX_CLIENT_ID, OfflineState, UserInfo,
};

use crate::commands;
use crate::config::Config;
use crate::editor::{Editor, MessageKind};
use crate::highlight::{Budget, Highlighter, Syntaxes};
use crate::input::{KeyEvent, MouseEvent};
use crate::keys::Keys;
use crate::text::Edit;
use crate::theme::Theme;
use crate::ui::terminal::load_syntax;
use crate::ui::{RenderInput, help_lines, render};

use super::{
    ChangeTracking, Collab, CollabError, Connection, Frames, NetEvent, NetHandle, OfflineStore,
    Origin, SharedHistory, Target,
};

/// Rewrite the snapshot at most this often after confirmations (so restarts count right).
const SNAPSHOT_EVERY_MS: u64 = 5_000;

/// Wall-clock milliseconds since the Unix epoch (presence and undo grouping need wall time).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Everything that can happen to an [`App`].
#[derive(Debug)]
pub enum AppEvent {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event.
    Mouse(MouseEvent),
    /// Bracketed paste.
    Paste(String),
    /// The terminal's new size.
    Resize(u16, u16),
    /// From the network thread.
    Net(NetEvent),
    /// The grammars finished loading (on a background thread) and this syntax fits the document.
    Syntax(SyntaxReady),
}

/// Loaded grammars and the name of the syntax to highlight with.
pub struct SyntaxReady {
    syntaxes: Arc<Syntaxes>,
    name: String,
}

impl std::fmt::Debug for SyntaxReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxReady").field("name", &self.name).finish_non_exhaustive()
    }
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
    /// Root of the local store (the platform data dir by default).
    pub data_dir: PathBuf,
}

/// One collaborative document open in the editor.
pub struct App {
    /// The editor model.
    pub editor: Editor,
    collab: Collab,
    theme: Theme,
    net: Option<NetHandle>,
    epoch: Option<u64>,
    outbox: Frames,
    store: OfflineStore,
    target: Target,
    /// The linked file's text, until the first sync decides whether it seeds the document.
    file_text: Option<String>,
    snapshot_due: bool,
    last_snapshot_ms: u64,
    highlighter: Option<Highlighter>,
    keys: Keys,
}

impl App {
    /// Opens the stored copy of the document (if any) and, unless offline, starts connecting;
    /// network events are sent to `events`.
    pub fn open(
        options: AppOptions,
        config: &Config,
        theme: Theme,
        events: Sender<AppEvent>,
    ) -> Result<Self, CollabError> {
        let now = now_ms();
        let target = Target::parse(&options.url)?;
        let mut store = OfflineStore::new(&options.data_dir, &target.server, &target.doc);
        store.lock()?;
        let loaded = store.load()?;
        // A fresh client id per run: the stored state holds the old ids' updates already.
        let doc_config = DocumentConfig::new(rand::random_range(1..=MAX_CLIENT_ID));
        let mut client = match &loaded {
            Some(l) if l.state.state.is_empty() => {
                // Only a log (the first snapshot comes at compaction or exit): restore from the
                // empty document's state so the logged local updates still count as unconfirmed.
                let empty = Document::new(DocumentConfig::new(1))?.encode_state();
                let stored =
                    OfflineState { state: empty, unconfirmed: l.state.unconfirmed.clone() };
                Client::restore(doc_config, &stored, true)?
            }
            Some(l) => Client::restore(doc_config, &l.state, true)?,
            None => Client::new(doc_config, true)?,
        };
        if let Some(l) = &loaded {
            for update in &l.remote {
                client.document_mut().apply_update(update)?;
            }
        }
        client.enable_journal();
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
        let mut keys = Keys::configured(config, &mut editor);
        for command in super::commands() {
            keys.register(command);
        }
        if options.token.as_deref().is_some_and(super::token_is_read_only) {
            editor.set_read_only(Some("the token grants read-only access".into()));
        }
        let user = UserInfo {
            name: options.name.clone(),
            color: options.color.clone(),
            color_light: None,
        };
        let collab = Collab::new(client, user);
        let mut app = Self {
            editor,
            collab,
            theme,
            net: None,
            epoch: None,
            outbox: Vec::new(),
            store,
            target,
            file_text,
            snapshot_due: false,
            last_snapshot_ms: now,
            highlighter: None,
            keys,
        };
        if options.offline {
            app.collab.set_connection(Connection::Offline);
            app.seed_from_file(now)?;
        } else {
            let url = app.target.connect_url(options.token.as_deref());
            let net = NetHandle::spawn(url, move |event| {
                // The UI loop is gone when this fails: nothing left to tell.
                let _ = events.send(AppEvent::Net(event));
            })
            .map_err(CollabError::Net)?;
            app.net = Some(net);
        }
        Ok(app)
    }

    /// Starts loading the grammars in the background; an [`AppEvent::Syntax`] follows on
    /// `events` when one fits the linked file's name or the first line.
    pub fn load_syntax(&self, events: Sender<AppEvent>) {
        load_syntax(&self.editor, &self.theme, move |syntaxes, name| {
            let _ = events.send(AppEvent::Syntax(SyntaxReady { syntaxes, name }));
        });
    }

    /// The key bindings and commands.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The collaborative session.
    pub fn collab(&mut self) -> &mut Collab {
        &mut self.collab
    }

    /// The status bar's connection text.
    pub fn status(&mut self, now: u64) -> String {
        self.collab.status(&self.editor, now)
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

    /// Handles one event. Errors are reported on the message line; a malformed frame also drops
    /// its connection, which reconnects with backoff.
    pub fn handle(&mut self, event: AppEvent, now: u64) {
        if let Err(e) = self.try_handle(event, now) {
            tracing::error!(error = %e, "collaboration");
            self.editor.notify(e.to_string(), MessageKind::Error);
        }
    }

    fn try_handle(&mut self, event: AppEvent, now: u64) -> Result<(), CollabError> {
        let ed = &mut self.editor;
        match event {
            AppEvent::Key(k) => {
                let mut cx =
                    commands::Context { editor: ed, session: Some(&mut self.collab), now_ms: now };
                self.keys.handle_key(&mut cx, k);
            }
            AppEvent::Mouse(m) => ed.handle_mouse(m),
            AppEvent::Paste(text) => ed.paste(&text),
            AppEvent::Resize(w, h) => ed.resize(w, h),
            AppEvent::Net(net) => self.network(net, now)?,
            AppEvent::Syntax(ready) => {
                tracing::info!(syntax = %ready.name, "highlighting");
                self.highlighter = Some(Highlighter::new(ready.syntaxes, ready.name, &self.theme));
            }
        }
        Ok(())
    }

    fn network(&mut self, event: NetEvent, now: u64) -> Result<(), CollabError> {
        match event {
            NetEvent::Connecting { .. } => {
                if !matches!(self.collab.connection(), Connection::Retrying { .. }) {
                    self.collab.set_connection(Connection::Connecting);
                }
            }
            NetEvent::Connected { epoch } => {
                tracing::info!(epoch, url = %self.target.base, "connected");
                self.epoch = Some(epoch);
                self.outbox = self.collab.connected(&mut self.editor, now)?;
            }
            NetEvent::Frame { epoch, bytes } => {
                if self.epoch != Some(epoch) {
                    return Ok(());
                }
                let received = match self.collab.receive(&mut self.editor, &bytes, now) {
                    Ok(received) => received,
                    Err(e) => {
                        self.drop_connection(epoch, &e);
                        return Err(e);
                    }
                };
                self.outbox.extend(received.frames);
                self.snapshot_due |= received.confirmed > 0;
                if let Some(reason) = received.denied {
                    self.editor.notify(explain_refusal(&reason), MessageKind::Error);
                }
                if received.first_sync {
                    self.seed_from_file(now)?;
                }
            }
            NetEvent::Disconnected { reason, retry_in } => {
                tracing::info!(%reason, ?retry_in, "disconnected");
                self.epoch = None;
                let retry_at_ms = now + retry_in.as_millis() as u64;
                self.collab.disconnected(Connection::Retrying { reason, retry_at_ms });
            }
            NetEvent::Refused { reason } => {
                tracing::warn!(%reason, "refused");
                self.epoch = None;
                self.editor.notify(explain_refusal(&reason), MessageKind::Error);
                self.collab.disconnected(Connection::Refused { reason });
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
    fn seed_from_file(&mut self, now: u64) -> Result<(), CollabError> {
        let Some(file_text) = self.file_text.take() else { return Ok(()) };
        match self.collab.seed(&mut self.editor, &file_text, now)? {
            Some(frames) => {
                self.outbox.extend(frames);
                // The document now equals the file: nothing unsaved.
                self.editor.set_history(Box::new(SharedHistory::new(ChangeTracking::Counted)));
                self.editor
                    .notify("the empty document was seeded from the file", MessageKind::Info);
            }
            None if !file_text.is_empty() && self.editor.rope() != file_text.as_str() => {
                let name = self.editor.path().map(|p| p.display().to_string()).unwrap_or_default();
                self.editor.notify(
                    format!("the shared document differs from {name} and wins; Ctrl-S overwrites the file"),
                    MessageKind::Info,
                );
            }
            None => {}
        }
        Ok(())
    }

    /// Periodic work (call about once a second): presence renewal, peer expiry, snapshots.
    pub fn tick(&mut self, now: u64) {
        match self.collab.tick(&mut self.editor, now) {
            Ok(frames) => self.outbox.extend(frames),
            Err(e) => self.editor.notify(e.to_string(), MessageKind::Error),
        }
    }

    /// Moves local edits into the CRDT and sends every waiting frame on the open connection.
    pub fn send(&mut self, now: u64) {
        match self.collab.flush(&mut self.editor, now) {
            Ok(frames) => self.outbox.extend(frames),
            Err(e) => self.editor.notify(e.to_string(), MessageKind::Error),
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
        if !journal.is_empty() {
            let records: Vec<(Origin, &[u8])> = journal
                .iter()
                .map(|entry| match entry {
                    JournalEntry::Local(u) => (Origin::Local, u.as_slice()),
                    JournalEntry::Remote(u) => (Origin::Remote, u.as_slice()),
                })
                .collect();
            self.store.append(&records)?;
        }
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

    /// Draws the editor with the other users' cursors, the connection state and (when toggled)
    /// the presence list; returns where the terminal cursor goes.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer, now: u64) -> Option<(u16, u16)> {
        let decorations = self.collab.decorations(&self.editor);
        let status = self.collab.status(&self.editor, now);
        let damage = self.editor.take_damage();
        if let Some(h) = self.highlighter.as_mut() {
            h.apply_damage(damage);
        }
        let syntax = self.highlighter.as_ref().map(|h| h.syntax_name().to_owned());
        let input = RenderInput {
            theme: &self.theme,
            decorations: &decorations,
            connection: Some(&status),
            syntax: syntax.as_deref(),
            help: &help_lines(&self.editor, &self.keys),
        };
        let cursor = render(&self.editor, self.highlighter.as_mut(), &input, area, buf);
        if self.editor.presence_list_shown() {
            self.render_peers(area, buf);
        }
        cursor
    }

    fn render_peers(&mut self, area: Rect, buf: &mut Buffer) {
        let ui = self.theme.ui.clone();
        let me = format!("● {} (you)", self.collab.user().name);
        let mine = crate::theme::Rgb::parse(&self.collab.user().color).unwrap_or(ui.foreground);
        let mut rows = vec![(me, mine)];
        rows.extend(
            self.collab.peers(&self.editor).iter().map(|p| (format!("● {}", p.name), p.colour)),
        );
        let width = rows.iter().map(|(r, _)| r.chars().count()).max().unwrap_or(0) as u16 + 2;
        let width = width.max(12).min(area.width);
        let height = (rows.len() as u16 + 1).min(area.height.saturating_sub(2));
        let x = area.x + area.width - width;
        let rgb = |c: crate::theme::Rgb| Color::Rgb(c.0, c.1, c.2);
        let base = Style::default().fg(rgb(ui.status_foreground)).bg(rgb(ui.status_background));
        buf.set_style(Rect { x, y: area.y, width, height }, base);
        buf.set_stringn(x + 1, area.y, "here:", usize::from(width - 1), base);
        for (i, (row, colour)) in
            rows.iter().enumerate().take(usize::from(height.saturating_sub(1)))
        {
            buf.set_stringn(
                x + 1,
                area.y + 1 + i as u16,
                row,
                usize::from(width - 1),
                base.fg(rgb(*colour)),
            );
        }
    }

    /// The front end's loop, until the user quits or `inbox` closes: `draw` a frame, update the
    /// store, sleep until an event arrives (at most [`TICK`]), handle it and everything queued
    /// behind it, then send the batch's frames at once. The terminal and the latency benchmark
    /// share it, so the benchmark measures what users get.
    pub fn run_loop(
        &mut self,
        inbox: &Receiver<AppEvent>,
        mut draw: impl FnMut(&mut App, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut last_tick = now_ms();
        let mut idle = false;
        loop {
            if let Some(h) = self.highlighter.as_mut() {
                // A frame answering input stays short; idle frames catch up on highlighting.
                h.set_budget(if idle { Budget::IDLE } else { Budget::KEYSTROKE });
            }
            draw(self, now_ms())?;
            self.persist(now_ms()).context("writing the local store")?;
            if self.editor.should_quit() {
                return Ok(());
            }
            // Highlighting catches up a few lines per frame while nothing else happens.
            let catching_up = self.highlighter.as_ref().is_some_and(|h| !h.is_complete());
            let wait = if catching_up || self.editor.is_busy() { Duration::ZERO } else { TICK };
            let received = inbox.recv_timeout(wait);
            idle = matches!(received, Err(RecvTimeoutError::Timeout));
            match received {
                Ok(event) => {
                    let now = now_ms();
                    self.handle(event, now);
                    for event in inbox.try_iter().take(BATCH) {
                        self.handle(event, now);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.editor.is_busy() {
                        self.editor.tick();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = now_ms();
            if now.saturating_sub(last_tick) >= TICK.as_millis() as u64 {
                self.tick(now);
                self.editor.check_disk();
                last_tick = now;
            }
            self.send(now);
        }
    }

    /// Leaves cleanly: tells the others, writes a final snapshot, closes the connection.
    pub fn shutdown(mut self, now: u64) -> Result<(), CollabError> {
        if let Ok(frames) = self.collab.leave(now) {
            self.outbox.extend(frames);
        }
        self.send(now);
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

/// A refusal in words a user can act on.
fn explain_refusal(reason: &str) -> String {
    if reason.contains("token") {
        format!("access refused: {reason} (pass a valid --token)")
    } else {
        format!("access refused: {reason}")
    }
}

/// How long the loop waits for an event before doing periodic work.
pub const TICK: Duration = Duration::from_secs(1);
/// Most events handled before drawing again, so a flood of input still shows progress.
const BATCH: usize = 1024;
