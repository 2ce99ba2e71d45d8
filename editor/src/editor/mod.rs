//! The editor state, driven by key and mouse events. Pure apart from reading and writing the edited file; no
//! terminal in sight.
//!
//! All positions are char offsets into the buffer. Screen coordinates are cells relative to the editor's area,
//! whose last two rows are the status bar and the message line.
//!
//! The state is split along its seams, so that [`Editor`] can grow from one buffer and one view into a set of
//! each without another rewrite:
//! - [`Document`] (document.rs): the text, its history and its link to a file — what several views would share;
//! - [`View`] (view.rs): the selection, the viewport and the display options of one window onto a document, and
//!   everything that maps between buffer positions and screen rows;
//! - edit.rs: the two ways text changes (local and remote) and the editing operations;
//! - movement.rs: cursor motions and the mouse;
//! - prompt.rs: the one-line prompts and their line editing;
//! - search.rs: incremental search and replace;
//! - files.rs: save, reload, quit and noticing changes on disk.
//!
//! The editor holds one document and one view today; everything else reaches them through
//! [`Editor::document`] and [`Editor::current_view`] (the focused view) so that more can be added behind them.

use std::path::Path;

use ropey::Rope;

use crate::buffer::LineDamage;
use crate::config::Config;
use crate::file;
use crate::history::UndoHistory;
use crate::input::{Key, KeyEvent};
use crate::layout::LayoutOptions;
use crate::search::{Query, SearchOptions};
use crate::selection::Selection;
use crate::text::{Edit, LineEnding};

mod cursors;
mod document;
mod edit;
mod files;
mod lines;
mod movement;
mod pairs;
mod prompt;
mod recovery;
mod search;
mod view;
mod views;

pub use cursors::VerticalAdd;
pub use document::Document;
pub use files::AfterSave;
pub use lines::{LineMove, line_comment};
pub use movement::Motion;
pub use prompt::{Prompt, PromptEdit, PromptKind, SearchFlag};
pub use recovery::{RecoveryAnswer, RecoveryOffer};
pub use search::ReplaceSession;
pub use view::{Options, View, Viewport};
pub use views::ViewId;

use search::SearchState;

/// Something the front end must do on the editor's behalf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put this text on the system clipboard (OSC 52).
    Clipboard(String),
    /// Act on the set of buffers and views around this editor.
    Request(crate::request::Request),
}

/// Severity of the message line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Information.
    Info,
    /// Something went wrong.
    Error,
}

/// The message line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Text.
    pub text: String,
    /// Severity.
    pub kind: MessageKind,
}

/// A yes/no question on the message line.
#[derive(Clone, Debug)]
pub enum Confirm {
    /// Quit with unsaved changes?
    Quit,
    /// Close the buffer with unsaved changes?
    Close,
    /// Overwrite a file that changed on disk?
    Overwrite,
    /// Save as over a file that exists?
    Exists {
        /// The file.
        path: std::path::PathBuf,
        /// What follows the save.
        then: AfterSave,
    },
    /// Discard changes and reload?
    Reload,
    /// Write a file we have no write permission for?
    WriteProtected,
    /// Replace this match?
    Replace(ReplaceSession),
    /// Recover an earlier session's unsaved edits?
    Recover(Box<RecoveryOffer>),
}

impl Confirm {
    /// The question.
    pub fn question(&self) -> std::borrow::Cow<'static, str> {
        let fixed = match self {
            Confirm::Quit => "Save changes before quitting? (y)es (n)o (Esc) cancel",
            Confirm::Close => "Save changes before closing this buffer? (y)es (n)o (Esc) cancel",
            Confirm::Overwrite => {
                "The file changed on disk since it was read. Overwrite it? (y)es (n)o"
            }
            Confirm::Exists { path, .. } => {
                return format!("{} exists — overwrite? (y)es (n)o", path.display()).into();
            }
            Confirm::Reload => "Discard unsaved changes and reload from disk? (y)es (n)o",
            Confirm::WriteProtected => "The file is read-only. Write it anyway? (y)es (n)o",
            Confirm::Replace(_) => "Replace this match? (y)es (n)o (a)ll (Esc) stop",
            Confirm::Recover(offer) => return offer.question().into(),
        };
        fixed.into()
    }
}

/// What keys currently do.
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// Editing.
    #[default]
    Normal,
    /// Typing into a prompt.
    Prompt(Prompt),
    /// Answering a question.
    Confirm(Confirm),
    /// Reading the help screen, scrolled by this many rows.
    Help(usize),
}

/// Facts for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// File name, or "[new]".
    pub name: String,
    /// Unsaved changes.
    pub modified: bool,
    /// Opened read-only.
    pub read_only: bool,
    /// The file is write-protected: saving asks first.
    pub write_protected: bool,
    /// 1-based line of the cursor.
    pub line: usize,
    /// 1-based display column of the cursor.
    pub column: usize,
    /// Total lines.
    pub lines: usize,
    /// "UTF-8" or "UTF-8 BOM".
    pub encoding: &'static str,
    /// Line ending.
    pub line_ending: LineEnding,
    /// Mode name.
    pub mode: &'static str,
}

/// One open document and everything needed to edit it.
pub struct Editor {
    doc: Document,
    view: View,
    mode: Mode,
    message: Option<Message>,
    clipboard: String,
    effects: Vec<Effect>,
    search: SearchState,
    quit: bool,
    /// Whether the presence list is shown; `None` outside a shared document.
    presence_list: Option<bool>,
    /// The document's views other than the active one.
    views: views::Views,
    /// A command runs at several cursors: its edits are one undo step.
    batching: bool,
    /// The pieces of a copy made at several cursors, for a paste at as many.
    clipboard_pieces: Vec<String>,
    /// The syntax's line comment token (`//`, `#`, …), for toggling comments.
    comment_token: Option<&'static str>,
}

impl Editor {
    /// An unnamed buffer holding `text`, with default options.
    pub fn new(text: &str) -> Self {
        Editor::with_rope(Rope::from_str(text), &Config::default())
    }

    /// A buffer over `rope` configured by `config`.
    pub fn with_rope(rope: Rope, config: &Config) -> Self {
        Editor {
            doc: Document::new(rope),
            view: View::new(Options::from(config)),
            mode: Mode::Normal,
            message: None,
            clipboard: String::new(),
            effects: Vec::new(),
            search: SearchState::default(),
            quit: false,
            presence_list: None,
            views: views::Views::default(),
            batching: false,
            clipboard_pieces: Vec::new(),
            comment_token: None,
        }
    }

    /// Opens `path` (a new, empty buffer if it does not exist).
    pub fn open(path: &Path, config: &Config) -> Result<Self, file::FileError> {
        let loaded = file::load(path)?;
        let mut ed = match loaded {
            Some(l) => {
                let mut ed = Editor::with_rope(l.rope, config);
                ed.doc.disk = Some(l.stamp);
                (ed.doc.bom, ed.doc.access) = (l.bom, l.access);
                if let Some(reason) = l.read_only {
                    ed.error(format!("read-only: {reason}"));
                    ed.doc.read_only = Some(reason);
                }
                ed
            }
            None => {
                let mut ed = Editor::with_rope(Rope::new(), config);
                ed.info(format!("new file {}", path.display()));
                ed
            }
        };
        ed.doc.path = Some(path.to_owned());
        Ok(ed)
    }

    /// Replaces the undo implementation (the collaborative client uses CRDT-based per-user undo).
    pub fn set_history(&mut self, history: Box<dyn UndoHistory>) {
        self.doc.saved_state = history.state_id();
        self.doc.history = history;
    }

    // ----- accessors for the renderer and the front end -----

    /// The text.
    pub fn rope(&self) -> &Rope {
        self.doc.buffer.rope()
    }

    /// The local selection.
    pub fn selection(&self) -> Selection {
        self.view.selection
    }

    /// Extra positions kept in step with edits (for the collaborative layer).
    pub fn marks(&self) -> &[usize] {
        &self.doc.marks
    }

    /// Sets the extra positions.
    pub fn set_marks(&mut self, marks: Vec<usize>) {
        let len = self.rope().len_chars();
        self.doc.marks = marks.into_iter().map(|m| m.min(len)).collect();
    }

    /// Moves the local selection (clamped to the buffer), e.g. after a collaborative undo.
    pub fn set_selection(&mut self, selection: Selection) {
        let len = self.rope().len_chars();
        self.view.selection =
            Selection { anchor: selection.anchor.min(len), head: selection.head.min(len) };
        self.normalize_cursors();
        self.after_change();
    }

    /// Makes the buffer read-only for `reason` (editing keys then say so), or editable again with `None`.
    pub fn set_read_only(&mut self, reason: Option<String>) {
        self.doc.read_only = reason;
    }

    /// Shows `text` on the message line.
    pub fn notify(&mut self, text: impl Into<String>, kind: MessageKind) {
        self.message = Some(Message { text: text.into(), kind });
    }

    /// The viewport.
    pub fn view(&self) -> Viewport {
        self.view.viewport
    }

    /// Display options.
    pub fn options(&self) -> Options {
        self.view.options
    }

    /// The current mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The message line.
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// Search options (regex, case).
    pub fn search_options(&self) -> SearchOptions {
        self.search.options
    }

    /// The query whose matches are highlighted.
    pub fn search_highlight(&self) -> Option<&Query> {
        self.search.highlight.as_ref()
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.doc.path()
    }

    /// Why the buffer is read-only, if it is.
    pub fn read_only(&self) -> Option<&str> {
        self.doc.read_only()
    }

    /// Unsaved changes exist.
    pub fn is_modified(&self) -> bool {
        self.doc.is_modified()
    }

    /// The document being edited.
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The focused view onto the document.
    pub fn current_view(&self) -> &View {
        &self.view
    }

    /// The user asked to quit and nothing stands in the way.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Work remains for [`Editor::tick`] (a search in progress).
    pub fn is_busy(&self) -> bool {
        self.search.pending.is_some()
    }

    /// Front-end effects since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Asks the front end to act on the buffers and views around this editor.
    pub fn request(&mut self, request: crate::request::Request) {
        self.effects.push(Effect::Request(request));
    }

    /// Takes the internal clipboard (the front end moves it to the buffer that gets the focus).
    pub fn take_clipboard(&mut self) -> String {
        std::mem::take(&mut self.clipboard)
    }

    /// Local edits since the last call, one group per command (the edits one keystroke made at every cursor).
    pub fn take_pending_groups(&mut self) -> Vec<Vec<Edit>> {
        self.doc.buffer.take_pending_groups()
    }

    /// [`Editor::take_pending_groups`] with, for each command, whether it opened an undo step.
    pub fn take_pending_commands(&mut self) -> Vec<crate::buffer::PendingCommand> {
        self.doc.buffer.take_pending_commands()
    }

    /// Whether this buffer agreed to close: [`Editor::quit`] or [`Editor::close`] was answered. Resets it.
    pub fn take_quit(&mut self) -> bool {
        std::mem::take(&mut self.quit)
    }

    /// Local edits since the last call, for the collaborative layer.
    pub fn take_pending_edits(&mut self) -> Vec<Edit> {
        self.doc.buffer.take_pending_edits()
    }

    /// Line damage since the last call, for line caches (see [`Buffer::take_damage`]).
    pub fn take_damage(&mut self) -> Result<Vec<LineDamage>, usize> {
        self.doc.buffer.take_damage()
    }

    /// Visual (row, column) of char `offset` in line `line` with the view's layout (a long line is laid out only
    /// near `offset`: see [`crate::long_layout`]).
    pub fn line_position(&self, line: usize, offset: usize) -> (usize, usize) {
        self.doc.buffer.position_of(line, offset, self.layout_options())
    }

    /// The text of line `line` to lay out for the screen cells from (`row`, `col`) on, `size` = (rows, columns)
    /// (see [`crate::buffer::Buffer::layout_window`]).
    pub fn line_window(
        &self,
        line: usize,
        at: (usize, usize),
        size: (usize, usize),
    ) -> crate::long_layout::LineWindow<'_> {
        self.doc.buffer.layout_window(line, self.layout_options(), at, size)
    }

    /// Layout of lines on screen with the current options and size.
    pub fn layout_options(&self) -> LayoutOptions {
        LayoutOptions {
            tab_width: self.view.options.tab_width,
            wrap: self.view.options.soft_wrap.then(|| usize::from(self.text_width()).max(2)),
        }
    }

    /// Cells taken by the line-number gutter (number and one space).
    pub fn gutter_width(&self) -> u16 {
        if !self.view.options.line_numbers {
            return 0;
        }
        let digits = self.rope().len_lines().max(1).ilog10() as u16 + 1;
        digits.max(3) + 1
    }

    /// Rows for text.
    pub fn text_height(&self) -> u16 {
        self.view.viewport.height.saturating_sub(2).max(1)
    }

    /// Columns for text.
    pub fn text_width(&self) -> u16 {
        self.view.viewport.width.saturating_sub(self.gutter_width()).max(1)
    }

    /// The status bar's facts.
    pub fn status(&self) -> Status {
        let head = self.view.selection.head;
        let line = self.rope().char_to_line(head);
        let offset = head - self.rope().line_to_char(line);
        let nowrap = LayoutOptions { tab_width: self.view.options.tab_width, wrap: None };
        // The status bar counts display columns on one row, wrapped or not.
        let col = self.doc.buffer.position_of(line, offset, nowrap).1;
        let name = self.doc.display_name();
        let mode = match &self.mode {
            Mode::Normal if self.view.selection.is_empty() => "EDIT",
            Mode::Normal => "SELECT",
            Mode::Prompt(p) if matches!(p.kind, PromptKind::Search) => "SEARCH",
            Mode::Prompt(_) => "PROMPT",
            Mode::Confirm(Confirm::Replace(_)) => "REPLACE",
            Mode::Confirm(_) => "CONFIRM",
            Mode::Help(_) => "HELP",
        };
        Status {
            name,
            modified: self.is_modified(),
            read_only: self.doc.read_only.is_some(),
            write_protected: self.doc.access == file::Access::WriteProtected,
            line: line + 1,
            column: col + 1,
            lines: self.rope().len_lines(),
            encoding: self.doc.bom.encoding(),
            line_ending: self.doc.buffer.line_ending(),
            mode,
        }
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), kind: MessageKind::Info });
    }

    pub(crate) fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), kind: MessageKind::Error });
    }

    /// Clears the message line.
    pub fn clear_message(&mut self) {
        self.message = None;
    }

    /// Answers a question or scrolls the help screen: the keys of [`Mode::Confirm`] and [`Mode::Help`], which are
    /// answers rather than commands (y, n, a, Esc) and so are not in the keymap. Other modes ignore it.
    pub fn answer(&mut self, key: KeyEvent) {
        match std::mem::take(&mut self.mode) {
            Mode::Confirm(c) => self.confirm_key(c, key),
            Mode::Help(scroll) => self.help_key(scroll, key),
            other => self.mode = other,
        }
    }

    /// Sets the editor area's size in cells.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.viewport.width = width;
        self.view.viewport.height = height;
        self.scroll_to_cursor();
    }

    // ----- confirmations -----

    fn confirm_key(&mut self, c: Confirm, key: KeyEvent) {
        let yes = key.key == Key::Char('y');
        let no = key.key == Key::Char('n');
        match c {
            Confirm::Replace(s) => self.replace_key(s, key),
            Confirm::Recover(offer) => self.recovery_key(offer, key),
            // An unnamed buffer asks its name first, saves, then quits.
            Confirm::Quit | Confirm::Close if yes && self.doc.path.is_none() => {
                self.ask_save_as(AfterSave::Quit);
            }
            Confirm::Quit | Confirm::Close if yes => {
                self.save();
                self.quit = !self.is_modified() && matches!(self.mode, Mode::Normal);
            }
            Confirm::Exists { path, then } if yes => {
                self.save_as_to(path, files::Overwrite::Confirmed, then);
            }
            Confirm::Exists { .. } if no || key.key == Key::Esc => self.info("not saved"),
            Confirm::Quit | Confirm::Close if no => self.quit = true,
            Confirm::Overwrite if yes => self.write_file(files::Overwrite::Confirmed),
            Confirm::Reload if yes => self.do_reload(),
            Confirm::WriteProtected if yes => self.write_file(files::Overwrite::Ask),
            _ if key.key == Key::Esc || no => self.message = None,
            other => self.mode = Mode::Confirm(other),
        }
    }

    /// Selects everything.
    pub fn select_all(&mut self) {
        self.view.others.clear();
        self.view.selection = Selection { anchor: 0, head: self.rope().len_chars() };
        self.scroll_to_cursor();
    }

    /// Clears selection, search highlight and message.
    pub fn clear(&mut self) {
        self.view.others.clear();
        self.view.selection = Selection::point(self.view.selection.head);
        self.search.highlight = None;
        self.search.pending = None;
        self.message = None;
    }

    /// Toggles soft wrap.
    pub fn toggle_wrap(&mut self) {
        self.view.options.soft_wrap = !self.view.options.soft_wrap;
        self.view.viewport.top_row = 0;
        self.view.viewport.left_col = 0;
        self.scroll_to_cursor();
        self.info(if self.view.options.soft_wrap { "soft wrap on" } else { "soft wrap off" });
    }

    /// Toggles the line-number gutter.
    pub fn toggle_line_numbers(&mut self) {
        self.view.options.line_numbers = !self.view.options.line_numbers;
        self.scroll_to_cursor();
    }

    /// Shows or hides the list of who is here (shared documents only).
    pub fn toggle_presence_list(&mut self) {
        match &mut self.presence_list {
            Some(shown) => *shown = !*shown,
            None => self.info("no presence list: this is not a shared document"),
        }
    }

    /// Marks the buffer as a shared document, so it has a presence list (hidden at first).
    pub fn enable_presence_list(&mut self) {
        self.presence_list.get_or_insert(false);
    }

    /// Whether the presence list is shown.
    pub fn presence_list_shown(&self) -> bool {
        self.presence_list == Some(true)
    }

    /// Opens the help screen.
    pub fn help(&mut self) {
        self.mode = Mode::Help(0);
    }

    fn help_key(&mut self, scroll: usize, key: KeyEvent) {
        let page = usize::from(self.text_height());
        self.mode = match key.key {
            Key::Esc | Key::Enter | Key::F(1) | Key::Char('q') => Mode::Normal,
            Key::Up => Mode::Help(scroll.saturating_sub(1)),
            Key::Down => Mode::Help(scroll + 1),
            Key::PageUp => Mode::Help(scroll.saturating_sub(page)),
            Key::PageDown | Key::Char(' ') => Mode::Help(scroll + page),
            _ => Mode::Help(scroll),
        };
    }
}

#[cfg(test)]
mod tests;
