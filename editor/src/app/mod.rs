//! The front end: one [`App`] is the editor with everything around it — the [`Keys`] it dispatches,
//! the theme and highlighter it draws with, and, for a shared document, the [`SharedDoc`] (session,
//! network, store). Editing a file alone is the same app with no shared document, so there is one
//! event loop ([`App::run_loop`]) for both, with one highlighter budget, one disk check and one
//! clipboard path; [`terminal::run`] runs it in a real terminal.
//!
//! Everything reaches the app as an [`AppEvent`] on one channel (terminal input, network, loaded
//! grammars), so the loop sleeps until something happens and reacts at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::collab::{self, AppOptions, CollabError, NetEvent, SharedDoc, now_ms};
use crate::commands::Context;
use crate::config::Config;
use crate::editor::{Editor, MessageKind};
use crate::highlight::{Budget, Highlighter, Syntaxes};
use crate::input::{KeyEvent, MouseEvent};
use crate::journal::Live;
use crate::keys::Keys;
use crate::theme::{Rgb, Theme};
use crate::ui::{RenderInput, help_lines, render, render_peers};

pub mod terminal;

#[cfg(test)]
mod tests;

/// How long the loop waits for an event before doing periodic work (presence renewal).
pub const TICK: Duration = Duration::from_secs(1);
/// How often the file on disk is checked for changes by other programs.
const DISK_CHECK_MS: u64 = 2_000;
/// Most events handled before drawing again, so a flood of input still shows progress.
const BATCH: usize = 1024;

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
    /// From the network thread (shared documents).
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

/// The editor and what surrounds it.
pub struct App {
    /// The editor model.
    pub editor: Editor,
    keys: Keys,
    theme: Theme,
    highlighter: Option<Highlighter>,
    /// The shared document's session, network and store; `None` when editing alone.
    shared: Option<SharedDoc>,
    /// The recovery journal of a local file's unsaved edits; `None` for a shared document (its
    /// store keeps every edit) and until [`App::start_journal`].
    journal: Option<Live>,
}

impl App {
    /// An app editing `editor` alone.
    pub fn solo(mut editor: Editor, config: &Config, theme: Theme) -> Self {
        let keys = Keys::configured(config, &mut editor);
        App { editor, keys, theme, highlighter: None, shared: None, journal: None }
    }

    /// Starts journaling a local file's unsaved edits in the platform state dir (see
    /// [`crate::journal`]); nothing for a shared document.
    pub fn start_journal(&mut self) {
        if self.shared.is_none() {
            self.journal = Live::start(&mut self.editor);
        }
    }

    /// Opens a shared document (see [`SharedDoc::open`]); network events are sent to `events`.
    pub fn open(
        options: AppOptions,
        config: &Config,
        theme: Theme,
        events: Sender<AppEvent>,
    ) -> Result<Self, CollabError> {
        let (editor, shared) = SharedDoc::open(options, config, move |event| {
            // The UI loop is gone when this fails: nothing left to tell.
            let _ = events.send(AppEvent::Net(event));
        })?;
        let mut app = App::solo(editor, config, theme);
        // Undo in a shared document is the CRDT's per-user undo.
        for command in collab::commands() {
            app.keys.register(command);
        }
        app.shared = Some(shared);
        Ok(app)
    }

    /// Starts loading the grammars in the background; an [`AppEvent::Syntax`] follows on `events`
    /// when one fits the file's name or the first line.
    pub fn load_syntax(&self, events: Sender<AppEvent>) {
        let rope = self.editor.rope();
        let sample_end = rope.line_to_char(rope.len_lines().min(200));
        let sample = ropey::Rope::from(rope.slice(..sample_end));
        let (path, theme) = (self.editor.path().map(PathBuf::from), self.theme.clone());
        std::thread::spawn(move || {
            let syntaxes = Arc::new(Syntaxes::load());
            let first = crate::text::line_text(&sample, 0).into_owned();
            if let Some(name) = syntaxes.detect(path.as_deref(), &first) {
                // syntect compiles each grammar's regexes on first use; do that here, not in the
                // first frame.
                Highlighter::new(syntaxes.clone(), name.clone(), &theme).highlight(&sample, 0..200);
                let _ = events.send(AppEvent::Syntax(SyntaxReady { syntaxes, name }));
            }
        });
    }

    /// The key bindings and commands.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared document's session, if the document is shared.
    pub fn shared(&mut self) -> Option<&mut SharedDoc> {
        self.shared.as_mut()
    }

    /// The status bar's connection text (empty when editing alone).
    pub fn status(&mut self, now: u64) -> String {
        match &mut self.shared {
            Some(shared) => shared.status(&self.editor, now),
            None => String::new(),
        }
    }

    /// Whether a connection is open (its epoch).
    pub fn epoch(&self) -> Option<u64> {
        self.shared.as_ref().and_then(SharedDoc::epoch)
    }

    /// Handles one event. Errors are reported on the message line.
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
                let session = self.shared.as_mut().map(|s| s.collab() as &mut dyn std::any::Any);
                self.keys.handle_key(&mut Context { editor: ed, session, now_ms: now }, k);
            }
            AppEvent::Mouse(m) => ed.handle_mouse(m),
            AppEvent::Paste(text) => ed.paste(&text),
            AppEvent::Resize(w, h) => ed.resize(w, h),
            AppEvent::Net(net) => {
                if let Some(shared) = &mut self.shared {
                    shared.network(ed, net, now)?;
                }
            }
            AppEvent::Syntax(ready) => {
                tracing::info!(syntax = %ready.name, "highlighting");
                self.highlighter = Some(Highlighter::new(ready.syntaxes, ready.name, &self.theme));
            }
        }
        Ok(())
    }

    /// Periodic work (call about once a second): presence renewal, peer expiry, snapshots.
    pub fn tick(&mut self, now: u64) {
        if let Some(shared) = &mut self.shared {
            shared.tick(&mut self.editor, now);
        }
    }

    /// Sends the batch's local edits to the shared document; alone, they are simply consumed.
    pub fn send(&mut self, now: u64) {
        match &mut self.shared {
            Some(shared) => shared.send(&mut self.editor, now),
            None => Live::update(&mut self.journal, &mut self.editor, Instant::now()),
        }
    }

    /// Writes what changed to the shared document's local store (nothing when alone).
    pub fn persist(&mut self, now: u64) -> Result<(), CollabError> {
        match &mut self.shared {
            Some(shared) => shared.persist(now),
            None => Ok(()),
        }
    }

    /// Draws the editor with the other users' cursors, the connection state and (when toggled)
    /// the presence list; returns where the terminal cursor goes.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer, now: u64) -> Option<(u16, u16)> {
        let (decorations, status) = match &mut self.shared {
            Some(shared) => {
                let decorations = shared.collab().decorations(&self.editor);
                (decorations, Some(shared.status(&self.editor, now)))
            }
            None => (Vec::new(), None),
        };
        let damage = self.editor.take_damage();
        if let Some(h) = self.highlighter.as_mut() {
            h.apply_damage(damage);
        }
        let syntax = self.highlighter.as_ref().map(|h| h.syntax_name().to_owned());
        let help = help_lines(&self.editor, &self.keys);
        let input = RenderInput {
            theme: &self.theme,
            decorations: &decorations,
            connection: status.as_deref(),
            syntax: syntax.as_deref(),
            help: &help,
        };
        let cursor = render(&self.editor, self.highlighter.as_mut(), &input, area, buf);
        if let Some(shared) = &mut self.shared
            && self.editor.presence_list_shown()
        {
            let collab = shared.collab();
            let user = collab.user().clone();
            let colour = Rgb::parse(&user.color).unwrap_or(self.theme.ui.foreground);
            let peers = collab.peers(&self.editor);
            render_peers((&user.name, colour), peers, &self.theme, area, buf);
        }
        cursor
    }

    /// The loop, until the user quits or `inbox` closes: `draw` a frame, update the store, sleep
    /// until an event arrives (at most [`TICK`]), handle it and everything queued behind it, then
    /// send the batch's frames at once. The terminal and the latency benchmark share it, so the
    /// benchmark measures what users get.
    ///
    /// Signals (SIGTERM, SIGHUP, SIGQUIT; issue 11) hook in where events arrive: a signal thread
    /// sends an event on this same channel, and its arm flushes the recovery journal and the
    /// shared document's store ([`App::persist`]) and returns, so that the caller's terminal
    /// guard restores the terminal.
    pub fn run_loop(
        &mut self,
        inbox: &Receiver<AppEvent>,
        mut draw: impl FnMut(&mut App, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut last_tick = now_ms();
        let mut last_disk_check = last_tick;
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
            // Highlighting and searching catch up a step per frame while nothing else happens.
            let catching_up = self.highlighter.as_ref().is_some_and(|h| !h.is_complete());
            let wait = if catching_up || self.editor.is_busy() { Duration::ZERO } else { TICK };
            // Journaled edits reach the disk on time even when no key follows them.
            let wait = match self.journal.as_ref().and_then(Live::next_flush) {
                Some(due) => wait.min(due.saturating_duration_since(Instant::now())),
                None => wait,
            };
            let received = inbox.recv_timeout(wait);
            idle = matches!(received, Err(RecvTimeoutError::Timeout));
            match received {
                Ok(event) => {
                    let now = now_ms();
                    self.handle(event, now);
                    // Everything already queued before drawing again: a paste or fast typing
                    // costs one frame.
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
                last_tick = now;
            }
            if now.saturating_sub(last_disk_check) >= DISK_CHECK_MS {
                self.editor.check_disk();
                last_disk_check = now;
            }
            self.send(now);
        }
    }

    /// Leaves cleanly: a shared document tells the others, writes a final snapshot and closes the
    /// connection.
    pub fn shutdown(mut self, now: u64) -> Result<(), CollabError> {
        Live::finish(self.journal.take());
        match self.shared.take() {
            Some(shared) => shared.shutdown(&mut self.editor, now),
            None => Ok(()),
        }
    }

    /// Stops the network without a goodbye, like a crash would (tests and benchmarks).
    pub fn disconnect_now(&mut self) {
        if let Some(shared) = &mut self.shared {
            shared.disconnect_now();
        }
    }
}
