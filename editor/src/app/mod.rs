//! The front end: one [`App`] is the set of open buffers (local files and shared documents, see
//! [`buffers`]) with a layout of splits showing views of them ([`splits`]), and everything around
//! them — the [`Keys`] it dispatches, the theme and highlighters it draws with, the pickers
//! ([`picker`]) and following another user ([`follow`]). Editing one file alone is the same app
//! with one buffer and no shared document, so there is one event loop ([`App::run_loop`]) for
//! everything, with one highlighter budget, one disk check and one clipboard path;
//! [`terminal::run`] runs it in a real terminal.
//!
//! Everything reaches the app as an [`AppEvent`] on one channel (terminal input, every shared
//! document's network, loaded grammars, picker results), so the loop sleeps until something
//! happens and reacts at once. Commands that act beyond one editor (switch buffer, split, open a
//! file) leave a [`Request`] among the editor's effects, acted on here after the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::collab::{self, AppOptions, CollabError, NetEvent, SharedDoc, now_ms};
use crate::commands::Context;
use crate::config::Config;
use crate::editor::{Editor, Effect, MessageKind, Mode};
use crate::highlight::{Budget, Highlighter, Syntaxes};
use crate::input::{Key, KeyEvent, MouseEvent, MouseKind};
use crate::journal::Live;
use crate::keys::Keys;
use crate::request::Request;
use crate::theme::{Rgb, Theme};
use crate::ui::{
    RenderInput, WindowFocus, help_lines, render_message, render_peers, render_window,
};

pub mod authorship;
pub mod buffers;
mod follow;
pub mod history;
mod mouse;
mod panes;
pub mod picker;
mod render;
mod requests;
pub mod signals;
pub mod splits;
pub mod terminal;
pub mod workspace;

pub use buffers::{BufferId, Slot};
use follow::Follow;
use picker::{Picked, Picker, PickerItem, PickerKey};
pub use signals::Signal;
use splits::{Axis, Pane, PaneId, Splits};
use workspace::Workspace;

#[cfg(test)]
mod buffer_tests;
#[cfg(test)]
mod tests;

/// How long the loop waits for an event before doing periodic work (presence renewal).
pub const TICK: Duration = Duration::from_secs(1);
/// How often the files on disk are checked for changes by other programs.
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
    /// From the network thread of a shared document's buffer.
    Net(BufferId, NetEvent),
    /// From the network thread of the open workspace's manifest.
    Manifest(NetEvent),
    /// The grammars finished loading (on a background thread).
    Syntax(SyntaxReady),
    /// The open picker has new results to show.
    Picker,
    /// tandem-server answered the history panel of a buffer.
    History(BufferId, history::Reply),
    /// tandem-server answered the authorship colouring of a buffer: its text's runs by author.
    Authors(BufferId, Result<Vec<collab::AuthorRun>, collab::HistoryError>),
    /// A signal ends the editor: unsaved work is written to disk first ([`App::rescue`]).
    Signal(Signal),
}

/// Loaded grammars.
pub struct SyntaxReady {
    syntaxes: Arc<Syntaxes>,
}

impl std::fmt::Debug for SyntaxReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxReady").finish_non_exhaustive()
    }
}

/// What keys go to besides the focused editor.
enum Overlay {
    /// A fuzzy picker (files, buffers).
    Picker(Box<Picker>),
    /// The presence list of the focused shared document, with the highlighted user.
    Presence { selected: usize },
    /// The version history of a shared document.
    History(Box<history::OpenHistory>),
}

/// Buffers being closed, waiting for their answers to "save changes?".
enum Closing {
    /// One buffer.
    Buffer(BufferId),
    /// Every buffer, then the app; the buffers already asked.
    All(Vec<BufferId>),
}

/// The buffers, the splits showing them and what surrounds them.
pub struct App {
    buffers: Vec<Slot>,
    next_buffer: u64,
    splits: Splits,
    keys: Keys,
    theme: Theme,
    config: Config,
    /// Where new buffers' and pickers' events go (shared documents' network, picker results).
    events: Option<Sender<AppEvent>>,
    syntaxes: Option<Arc<Syntaxes>>,
    /// Where local files' unsaved edits are journaled (the terminal sets it; tests leave it off).
    journal_dir: Option<PathBuf>,
    overlay: Option<Overlay>,
    closing: Option<Closing>,
    follow: Option<Follow>,
    /// Clipboard effects for the terminal.
    effects: Vec<Effect>,
    quit: bool,
    /// The signal that ended the loop, if one did.
    signalled: Option<Signal>,
    /// The screen, as last resized.
    area: Rect,
    /// The pane a mouse drag started in.
    drag: Option<PaneId>,
    /// Buffers on screen in the last frame (only their highlighting needs catching up).
    visible: Vec<BufferId>,
    /// A picker notification is on its way (at most one at a time on the channel).
    picker_pending: Arc<AtomicBool>,
    /// A problem in the config's `[keys]`, for the first buffer's message line.
    pending_message: Option<crate::editor::Message>,
    /// The workspace open in the editor (`tandem ws://HOST/PREFIX/`), if any.
    workspace: Option<Workspace>,
    /// The buffers coloured by author.
    authorship: BTreeMap<BufferId, authorship::Colouring>,
}

impl App {
    /// An app editing `editor` alone.
    pub fn solo(editor: Editor, config: &Config, theme: Theme) -> Self {
        let mut app = App::empty(config, theme, None);
        app.add_buffer(|id| Slot::local(id, editor));
        app
    }

    /// An app with no buffer yet (add some with [`App::open_file`] and [`App::open_shared`]);
    /// shared documents and pickers report to `events`.
    pub fn new(config: &Config, theme: Theme, events: Sender<AppEvent>) -> Self {
        App::empty(config, theme, Some(events))
    }

    fn empty(config: &Config, theme: Theme, events: Option<Sender<AppEvent>>) -> Self {
        let mut scratch = Editor::with_rope(ropey::Rope::new(), config);
        let mut keys = Keys::configured(config, &mut scratch);
        // Undo in a shared document is the CRDT's per-user undo (local files keep their own).
        for command in collab::commands() {
            keys.register(command);
        }
        let placeholder = Pane { buffer: BufferId(0), view: crate::editor::ViewId(0) };
        App {
            buffers: Vec::new(),
            next_buffer: 0,
            splits: Splits::new(placeholder),
            keys,
            theme,
            config: config.clone(),
            events,
            syntaxes: None,
            journal_dir: None,
            overlay: None,
            closing: None,
            follow: None,
            effects: Vec::new(),
            quit: false,
            signalled: None,
            area: Rect::new(0, 0, 80, 24),
            drag: None,
            visible: Vec::new(),
            picker_pending: Arc::new(AtomicBool::new(false)),
            pending_message: None,
            workspace: None,
            authorship: BTreeMap::new(),
        }
        .with_config_errors(scratch)
    }

    /// Keeps a problem in the config (its file, theme or `[keys]`) for the first buffer's
    /// message line.
    fn with_config_errors(mut self, scratch: Editor) -> Self {
        let problems: Vec<&str> =
            [self.config.problem.as_deref(), scratch.message().map(|m| m.text.as_str())]
                .into_iter()
                .flatten()
                .collect();
        if !problems.is_empty() {
            let text = problems.join("; ");
            self.pending_message = Some(crate::editor::Message { text, kind: MessageKind::Error });
        }
        self
    }

    /// Opens a shared document (see [`SharedDoc::open`]) as the only buffer; network events are
    /// sent to `events`.
    pub fn open(
        options: AppOptions,
        config: &Config,
        theme: Theme,
        events: Sender<AppEvent>,
    ) -> Result<Self, CollabError> {
        let mut app = App::new(config, theme, events);
        app.open_shared(options)?;
        Ok(app)
    }

    /// Opens `path` (a new buffer when it does not exist) and shows it in the focused split.
    pub fn open_file(&mut self, path: &Path) -> Result<BufferId, crate::FileError> {
        if let Some(slot) = self.buffers.iter().find(|s| same_file(s.editor.path(), path)) {
            let id = slot.id;
            self.show_buffer(id);
            return Ok(id);
        }
        let editor = Editor::open(path, &self.config)?;
        tracing::info!(path = %path.display(), chars = editor.rope().len_chars(), "opened");
        let id = self.add_buffer(|id| Slot::local(id, editor));
        Ok(id)
    }

    /// Opens a new, unnamed buffer.
    pub fn open_scratch(&mut self) -> BufferId {
        let editor = Editor::with_rope(ropey::Rope::new(), &self.config);
        self.add_buffer(|id| Slot::local(id, editor))
    }

    /// Opens a shared document and shows it in the focused split; it keeps syncing in the
    /// background when another buffer is shown.
    pub fn open_shared(&mut self, options: AppOptions) -> Result<BufferId, CollabError> {
        if let Some(open) = self.shared_buffer(&options.url) {
            self.show_buffer(open);
            return Ok(open);
        }
        let id = BufferId(self.next_buffer);
        let (editor, shared) = SharedDoc::open(options, &self.config, self.net_events(id))?;
        let (base, store) = (&shared.target().base, shared.store_dir().display());
        tracing::info!(url = %base, store = %store, "collaborating");
        let path = self.workspace.as_ref().and_then(|w| w.path_of(&w.id_of(shared.target())?));
        Ok(self.add_buffer(|id| {
            let mut slot = Slot::shared(id, editor, shared);
            if let Some(path) = path {
                // A workspace's file is named by its path.
                slot.editor.set_label(path);
            }
            slot
        }))
    }

    /// Where buffer `id`'s network reports: its events on the app's channel.
    fn net_events(&self, id: BufferId) -> impl Fn(NetEvent) + Send + 'static {
        let events = self.events.clone();
        move |event| {
            // The UI loop is gone when this fails: nothing left to tell.
            if let Some(events) = &events {
                let _ = events.send(AppEvent::Net(id, event));
            }
        }
    }

    /// Connects the focused buffer's shared document when it was opened offline.
    fn go_online(&mut self) {
        let i = self.focused_index();
        let events = self.net_events(self.buffers[i].id);
        let slot = &mut self.buffers[i];
        let Some(shared) = slot.shared.as_mut() else {
            return slot
                .editor
                .notify("not a shared document: nothing to connect", MessageKind::Info);
        };
        match shared.go_online(events) {
            Ok(true) => slot.editor.notify("going online…", MessageKind::Info),
            Ok(false) => slot.editor.notify("already online", MessageKind::Info),
            Err(e) => slot.editor.notify(format!("cannot go online: {e}"), MessageKind::Error),
        }
    }

    /// The open buffer of the shared document at `url`, if there is one.
    fn shared_buffer(&self, url: &str) -> Option<BufferId> {
        let target = collab::Target::parse(url).ok()?;
        self.buffers
            .iter()
            .find(|s| s.shared.as_ref().is_some_and(|d| d.target().base == target.base))
            .map(|s| s.id)
    }

    /// Opens the workspace at `options.url` (`ws://HOST:PORT/PREFIX/`): its files are what the
    /// file picker (Ctrl-O) lists.
    pub fn open_workspace(&mut self, options: AppOptions) -> Result<(), CollabError> {
        let events = self.events.clone();
        let workspace = Workspace::open(options, &self.config, move |event| {
            if let Some(events) = &events {
                let _ = events.send(AppEvent::Manifest(event));
            }
        })?;
        tracing::info!(prefix = %workspace.prefix(), "workspace open");
        self.workspace = Some(workspace);
        for slot in &mut self.buffers {
            slot.editor.enable_presence_list();
        }
        Ok(())
    }

    /// Whether a workspace is open.
    pub fn has_workspace(&self) -> bool {
        self.workspace.is_some()
    }

    /// Opens the file picker (over the workspace's files when one is open), as Ctrl-O does.
    pub fn pick_file(&mut self) {
        self.request(Request::OpenFile);
    }

    /// Adds the buffer `make` builds and shows it in the focused split.
    fn add_buffer(&mut self, make: impl FnOnce(BufferId) -> Slot) -> BufferId {
        let id = BufferId(self.next_buffer);
        self.next_buffer += 1;
        let mut slot = make(id);
        let (w, h) = (self.area.width, self.area.height);
        slot.editor.resize(w, h);
        if let Some(dir) = self.journal_dir.as_deref().filter(|_| slot.shared.is_none()) {
            slot.journal = Live::start(dir, &mut slot.editor);
        }
        if let Some(syntaxes) = &self.syntaxes {
            slot.highlighter = highlighter_for(syntaxes, &mut slot.editor, &self.theme);
        }
        if self.workspace.is_some() {
            // Who is in which file of the workspace, from any buffer.
            slot.editor.enable_presence_list();
        }
        if let Some(message) = self.pending_message.take()
            && slot.editor.message().is_none()
        {
            slot.editor.notify(message.text, message.kind);
        }
        let first = self.buffers.is_empty();
        self.buffers.push(slot);
        if first {
            let view = self.buffers[0].editor.view_id();
            self.splits = Splits::new(Pane { buffer: id, view });
        } else {
            self.show_buffer(id);
        }
        id
    }

    /// Starts journaling local files' unsaved edits in `dir` (see [`crate::journal`]), for the
    /// buffers open now and those opened later.
    pub fn start_journal(&mut self, dir: PathBuf) {
        for slot in self.buffers.iter_mut().filter(|s| s.shared.is_none() && s.journal.is_none()) {
            slot.journal = Live::start(&dir, &mut slot.editor);
        }
        self.journal_dir = Some(dir);
    }

    /// Starts loading the grammars in the background; an [`AppEvent::Syntax`] follows on
    /// `events`.
    pub fn load_syntax(&self, events: Sender<AppEvent>) {
        let editor = self.editor();
        let rope = editor.rope();
        let sample_end = rope.line_to_char(rope.len_lines().min(200));
        let sample = ropey::Rope::from(rope.slice(..sample_end));
        let (path, theme) = (editor.path().map(PathBuf::from), self.theme.clone());
        std::thread::spawn(move || {
            let syntaxes = Arc::new(Syntaxes::load());
            let first = crate::text::line_text(&sample, 0).into_owned();
            if let Some(name) = syntaxes.detect(path.as_deref(), &first) {
                // syntect compiles each grammar's regexes on first use; do that here, not in the
                // first frame.
                Highlighter::new(syntaxes.clone(), name, &theme).highlight(&sample, 0..200);
            }
            let _ = events.send(AppEvent::Syntax(SyntaxReady { syntaxes }));
        });
    }

    /// Highlights every buffer with a grammar that fits it, now and when opened later.
    pub fn set_syntaxes(&mut self, syntaxes: Arc<Syntaxes>) {
        for slot in &mut self.buffers {
            slot.highlighter = highlighter_for(&syntaxes, &mut slot.editor, &self.theme);
        }
        self.syntaxes = Some(syntaxes);
    }

    /// Sets how much highlighting the next frame may do (a frame answering input, or an idle one).
    pub fn set_highlight_budget(&mut self, budget: Budget) {
        for slot in &mut self.buffers {
            if let Some(h) = slot.highlighter.as_mut() {
                h.set_budget(budget);
            }
        }
    }

    /// The key bindings and commands.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The focused buffer's editor.
    pub fn editor(&self) -> &Editor {
        &self.buffers[self.focused_index()].editor
    }

    /// The focused buffer's editor, to change.
    pub fn editor_mut(&mut self) -> &mut Editor {
        let i = self.focused_index();
        &mut self.buffers[i].editor
    }

    /// Every open buffer, in the order they were opened.
    pub fn buffers(&self) -> &[Slot] {
        &self.buffers
    }

    /// The layout of splits.
    pub fn splits(&self) -> &Splits {
        &self.splits
    }

    /// The focused buffer's shared document, if it is shared.
    pub fn shared(&mut self) -> Option<&mut SharedDoc> {
        let i = self.focused_index();
        self.buffers[i].shared.as_mut()
    }

    /// The focused buffer's connection text (empty for a local file).
    pub fn status(&mut self, now: u64) -> String {
        let i = self.focused_index();
        self.buffers[i].connection(now).unwrap_or_default()
    }

    /// Whether the focused buffer's connection is open (its epoch).
    pub fn epoch(&self) -> Option<u64> {
        self.buffers[self.focused_index()].shared.as_ref().and_then(SharedDoc::epoch)
    }

    /// The user asked to quit and every buffer agreed.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Front-end effects (the clipboard) since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    fn focused_index(&self) -> usize {
        self.index_of(self.splits.focused_pane().buffer).unwrap_or(0)
    }

    fn index_of(&self, id: BufferId) -> Option<usize> {
        self.buffers.iter().position(|s| s.id == id)
    }

    /// Sets the screen size.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.size_views();
    }

    /// The area the splits share: the screen but its last row (the message line).
    fn layout_area(&self) -> Rect {
        Rect { height: self.area.height.saturating_sub(1).max(1), ..self.area }
    }

    /// Sizes the focused view to its pane (mouse mapping and paging need it before the next
    /// frame).
    fn size_views(&mut self) {
        let layout = self.layout_area();
        for (id, rect) in self.splits.rects(layout) {
            let Some(pane) = self.splits.pane(id) else { continue };
            let Some(i) = self.index_of(pane.buffer) else { continue };
            self.buffers[i]
                .editor
                .with_view(pane.view, |ed| ed.resize(rect.width, rect.height + 1));
        }
    }

    /// Handles one event. Errors are reported on the message line.
    pub fn handle(&mut self, event: AppEvent, now: u64) {
        if let Err(e) = self.try_handle(event, now) {
            tracing::error!(error = %e, "collaboration");
            self.editor_mut().notify(e.to_string(), MessageKind::Error);
        }
    }

    fn try_handle(&mut self, event: AppEvent, now: u64) -> Result<(), CollabError> {
        match event {
            AppEvent::Key(k) => self.key(k, now),
            AppEvent::Mouse(m) => self.mouse(m),
            AppEvent::Paste(text) => match &mut self.overlay {
                Some(Overlay::Picker(picker)) => picker.paste(&text),
                Some(Overlay::History(_)) => self.history_paste(&text),
                _ => {
                    let ed = self.editor_mut();
                    if matches!(ed.mode(), Mode::Normal) {
                        ed.each_cursor(|ed| ed.paste(&text));
                    } else {
                        ed.paste(&text);
                    }
                }
            },
            AppEvent::Resize(w, h) => self.resize(w, h),
            AppEvent::Net(id, net) => {
                let Some(i) = self.index_of(id) else { return Ok(()) };
                let result = self.buffers[i].network(net, now);
                if result.is_ok() {
                    self.follow_peer();
                }
                return result;
            }
            AppEvent::Manifest(net) => {
                let Some(workspace) = &mut self.workspace else { return Ok(()) };
                let result = workspace.network(net, now);
                if result.is_ok() {
                    self.follow_peer();
                }
                return result;
            }
            AppEvent::Syntax(ready) => self.set_syntaxes(ready.syntaxes),
            AppEvent::History(buffer, reply) => self.history_reply(buffer, reply),
            AppEvent::Authors(buffer, answer) => self.authors_answer(buffer, answer, now),
            AppEvent::Picker => {
                self.picker_pending.store(false, Ordering::Relaxed);
                if let Some(Overlay::Picker(picker)) = &mut self.overlay {
                    picker.refresh();
                }
            }
            AppEvent::Signal(signal) => {
                // The first signal counts; the loop stops at once and the caller rescues.
                self.signalled.get_or_insert(signal);
                self.quit = true;
            }
        }
        Ok(())
    }

    /// The signal that ended the loop, if one did (the caller then [rescues](App::rescue) and
    /// exits non-zero without [`App::shutdown`], which would discard the journals).
    pub fn signalled(&self) -> Option<Signal> {
        self.signalled
    }

    /// Puts every unsaved edit on disk before exiting at once (a signal, a broken terminal): call
    /// it once, after the loop. Local edits reach the journals and
    /// the shared documents, journals and shared documents' stores are fsync'd, and a modified
    /// buffer without a journal (unnamed, or a file whose earlier journal still waits) is kept as
    /// a rescued journal ([`crate::journal::rescue`]). Returns where each buffer's edits went, as
    /// log lines; failures are logged and the next buffer is tried.
    pub fn rescue(&mut self, now: u64) -> Vec<String> {
        self.send(now);
        let mut kept = Vec::new();
        for (n, slot) in self.buffers.iter_mut().enumerate() {
            let name = slot.editor.path().map_or_else(
                || format!("unnamed-{}", n + 1),
                |p| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            );
            let result = match (&mut slot.shared, &mut slot.journal, &self.journal_dir) {
                (Some(shared), _, _) => shared
                    .flush(now)
                    .map(|()| format!("{name}: in its store {}", shared.store_dir().display()))
                    .map_err(|e| e.to_string()),
                (None, Some(live), _) if slot.editor.is_modified() => live
                    .flush()
                    .map(|()| format!("{name}: in its journal {}", live.path().display()))
                    .map_err(|e| e.to_string()),
                (None, None, Some(dir)) if slot.editor.is_modified() => {
                    crate::journal::rescue(dir, &name, slot.editor.rope())
                        .map(|file| format!("{name}: rescued as {}", file.display()))
                        .map_err(|e| e.to_string())
                }
                (None, _, _) => continue,
            };
            match result {
                Ok(line) => {
                    tracing::info!("unsaved edits kept: {line}");
                    kept.push(line);
                }
                Err(e) => tracing::error!("keeping the unsaved edits of {name}: {e}"),
            }
        }
        kept
    }

    fn key(&mut self, key: KeyEvent, now: u64) {
        // Any key of yours stops following (and does what it does; Esc only stops).
        if let Some(follow) = self.follow.take() {
            if key.key != Key::Esc {
                self.dispatch_key(key, now);
            }
            let text = format!("stopped following {}", follow.name());
            self.editor_mut().notify(text, MessageKind::Info);
            return;
        }
        self.dispatch_key(key, now);
    }

    fn dispatch_key(&mut self, key: KeyEvent, now: u64) {
        match &mut self.overlay {
            Some(Overlay::Picker(picker)) => {
                match picker.key(key) {
                    PickerKey::Stay => {}
                    PickerKey::Close => self.overlay = None,
                    PickerKey::Pick(picked) => {
                        self.overlay = None;
                        self.picked(picked);
                    }
                }
                return;
            }
            Some(Overlay::History(_)) => return self.history_key(key),
            Some(Overlay::Presence { .. }) | None => {}
        }
        if matches!(self.overlay, Some(Overlay::Presence { .. })) && self.presence_key(key) {
            return;
        }
        let i = self.focused_index();
        let slot = &mut self.buffers[i];
        let session = slot.shared.as_mut().map(|s| s.collab() as &mut dyn std::any::Any);
        self.keys.handle_key(&mut Context { editor: &mut slot.editor, session, now_ms: now }, key);
        self.after_command();
    }

    /// Acts on what the focused editor asked for, and on its answers to "save changes?".
    fn after_command(&mut self) {
        let i = self.focused_index();
        for effect in self.buffers[i].editor.take_effects() {
            match effect {
                Effect::Request(request) => self.request(request),
                clipboard @ Effect::Clipboard(_) => self.effects.push(clipboard),
            }
        }
        self.advance_closing();
        let shown = self.editor().presence_list_shown();
        match (&self.overlay, shown) {
            (None, true) => self.overlay = Some(Overlay::Presence { selected: 0 }),
            (Some(Overlay::Presence { .. }), false) => self.overlay = None,
            _ => {}
        }
    }

    /// Options for another document: the workspace's when it is one of its files, else those of
    /// a shared document already open (identity, token, store).
    fn shared_options(&self, url: &str) -> Option<AppOptions> {
        if let Some(workspace) = &self.workspace {
            return Some(workspace.options_for(url));
        }
        let open = self.buffers.iter().find_map(|s| s.shared.as_ref())?;
        Some(AppOptions { url: url.to_owned(), file: None, ..open.options().clone() })
    }

    /// Periodic work (call about once a second): presence renewal, peer expiry, snapshots.
    pub fn tick(&mut self, now: u64) {
        for slot in &mut self.buffers {
            slot.tick(now);
        }
        if let Some(workspace) = &mut self.workspace {
            workspace.tick(now);
        }
    }

    /// Sends every buffer's local edits to its shared document (or journals them).
    pub fn send(&mut self, now: u64) {
        for slot in &mut self.buffers {
            slot.send(now);
        }
        let i = self.focused_index();
        if let Some(workspace) = &mut self.workspace {
            let focused = self.buffers[i].shared.as_ref().and_then(|s| workspace.id_of(s.target()));
            workspace.set_location(focused);
            workspace.send(now);
        }
    }

    /// Writes what changed to the shared documents' local stores.
    pub fn persist(&mut self, now: u64) -> Result<(), CollabError> {
        for slot in &mut self.buffers {
            slot.persist(now)?;
        }
        match &mut self.workspace {
            Some(workspace) => workspace.persist(now),
            None => Ok(()),
        }
    }

    /// Whether a visible buffer's highlighting or the focused editor's search has work left (the loop then
    /// draws idle frames back to back).
    pub fn is_busy(&self) -> bool {
        let highlighting = self.buffers.iter().any(|s| {
            self.visible.contains(&s.id) && s.highlighter.as_ref().is_some_and(|h| !h.is_complete())
        });
        highlighting || self.editor().is_busy()
    }

    /// The loop, until the user quits or `inbox` closes: `draw` a frame, update the stores,
    /// sleep until an event arrives (at most [`TICK`]), handle it and everything queued behind
    /// it, then send the batch's frames at once. The terminal and the latency benchmark share it,
    /// so the benchmark measures what users get.
    ///
    /// Signals (SIGTERM, SIGHUP, SIGQUIT) arrive on this same channel ([`signals`]): their arm
    /// writes every unsaved buffer to disk ([`App::rescue`]) and the loop returns at once, so
    /// that the caller's terminal guard restores the terminal.
    pub fn run_loop(
        &mut self,
        inbox: &Receiver<AppEvent>,
        mut draw: impl FnMut(&mut App, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut last_tick = now_ms();
        let mut last_disk_check = last_tick;
        let mut idle = false;
        loop {
            // A frame answering input stays short; idle frames catch up on highlighting.
            self.set_highlight_budget(if idle { Budget::IDLE } else { Budget::KEYSTROKE });
            draw(self, now_ms())?;
            self.persist(now_ms()).context("writing the local store")?;
            // After the frame, which noticed the edits the colouring asks again after.
            let next_authors = self.ask_authors(now_ms());
            if self.quit {
                return Ok(());
            }
            // Highlighting and searching catch up a step per frame while nothing else happens.
            let wait = if self.is_busy() { Duration::ZERO } else { TICK };
            // Journaled edits reach the disk on time even when no key follows them.
            let next_flush =
                self.buffers.iter().filter_map(|s| s.journal.as_ref()?.next_flush()).min();
            let wait = match next_flush {
                Some(due) => wait.min(due.saturating_duration_since(Instant::now())),
                None => wait,
            };
            // The authorship colouring asks the server once edits settle, even when no key follows.
            let wait = match next_authors {
                Some(due) => wait.min(Duration::from_millis(due.saturating_sub(now_ms()))),
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
                        if self.signalled.is_some() {
                            break;
                        }
                        self.handle(event, now);
                    }
                    // After a signal the terminal may be gone: no frame, no goodbye.
                    if self.signalled.is_some() {
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let editor = self.editor_mut();
                    if editor.is_busy() {
                        editor.tick();
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
                for slot in &mut self.buffers {
                    slot.editor.check_disk();
                }
                last_disk_check = now;
            }
            self.send(now);
        }
    }

    /// Leaves cleanly: local files' journals are discarded (saved, or the user chose not to),
    /// shared documents tell the others, write a final snapshot and close their connections.
    pub fn shutdown(mut self, now: u64) -> Result<(), CollabError> {
        let mut result = Ok(());
        for slot in self.buffers.drain(..) {
            if let Err(e) = slot.shutdown(now) {
                tracing::error!(error = %e, "closing a buffer");
                result = Err(e);
            }
        }
        if let Some(workspace) = self.workspace.take()
            && let Err(e) = workspace.shutdown(now)
        {
            tracing::error!(error = %e, "closing the workspace");
            result = Err(e);
        }
        result
    }

    /// Stops every network without a goodbye, like a crash would (tests and benchmarks).
    pub fn disconnect_now(&mut self) {
        for slot in &mut self.buffers {
            if let Some(shared) = &mut slot.shared {
                shared.disconnect_now();
            }
        }
        if let Some(workspace) = &mut self.workspace {
            workspace.disconnect_now();
        }
    }
}

/// Sizes `ed`'s active view to a pane: the text and a status bar (the editor counts the shared message line in
/// its height too). Only a change of size scrolls to the cursor, so a view following someone else stays put.
fn fit(ed: &mut Editor, pane: Rect) {
    let viewport = ed.view();
    if (viewport.width, viewport.height) != (pane.width, pane.height + 1) {
        ed.resize(pane.width, pane.height + 1);
    }
}

/// Whether `ed` is asking "save changes?".
fn waiting_for_answer(ed: &Editor) -> bool {
    matches!(ed.mode(), Mode::Confirm(crate::editor::Confirm::Quit | crate::editor::Confirm::Close))
}

fn same_file(open: Option<&Path>, path: &Path) -> bool {
    let Some(open) = open else { return false };
    open == path
        || std::fs::canonicalize(open)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(path).ok() == Some(a))
}

/// The highlighter for `editor`'s syntax, if one fits; the editor learns the syntax's comment token.
fn highlighter_for(
    syntaxes: &Arc<Syntaxes>,
    editor: &mut Editor,
    theme: &Theme,
) -> Option<Highlighter> {
    let first = crate::text::line_text(editor.rope(), 0);
    // A shared document has no file, but its name (a URL, a workspace's path) may end in one's extension.
    let name_hint = PathBuf::from(editor.document().display_name());
    let name = syntaxes.detect(Some(editor.path().unwrap_or(&name_hint)), &first)?;
    tracing::info!(syntax = %name, "highlighting");
    editor.set_comment_token(crate::editor::line_comment(&name));
    Some(Highlighter::new(syntaxes.clone(), name, theme))
}

fn rgb(c: Rgb) -> ratatui::style::Color {
    ratatui::style::Color::Rgb(c.0, c.1, c.2)
}
