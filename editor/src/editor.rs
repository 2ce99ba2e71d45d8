//! The editor state: one buffer with its cursor, history, viewport, prompts and file, driven by key and mouse
//! events. Pure apart from reading and writing the edited file; no terminal in sight.
//!
//! All positions are char offsets into the buffer. Screen coordinates are cells relative to the editor's area,
//! whose last two rows are the status bar and the message line.

use std::ops::Range;
use std::path::{Path, PathBuf};

use ropey::Rope;

use crate::buffer::{Buffer, LineDamage};
use crate::config::Config;
use crate::file::{self, DiskStamp};
use crate::history::{Change, ChangeKind, LinearHistory, UndoHistory};
use crate::input::{Key, KeyEvent, MouseEvent, MouseKind};
use crate::keymap::Keymap;
use crate::layout::{self, LayoutOptions};
use crate::search::{Found, Query, SearchOptions};
use crate::selection::Selection;
use crate::text::{self, Edit, LineEnding};

/// Bytes a search scans per step, so that no frame waits on a whole 100 MB buffer.
const SEARCH_BUDGET: usize = 4 << 20;
/// Largest text sent to the terminal's clipboard through OSC 52; terminals refuse much more.
const OSC52_LIMIT: usize = 1 << 20;

/// Display and typing settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Cells per tab stop.
    pub tab_width: usize,
    /// Tab inserts spaces.
    pub insert_spaces: bool,
    /// Wrap long lines at the window edge.
    pub soft_wrap: bool,
    /// Show the line-number gutter.
    pub line_numbers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { tab_width: 4, insert_spaces: false, soft_wrap: false, line_numbers: true }
    }
}

impl From<&Config> for Options {
    fn from(c: &Config) -> Self {
        Options {
            tab_width: c.tab_width,
            insert_spaces: c.insert_spaces,
            soft_wrap: c.soft_wrap,
            line_numbers: c.line_numbers,
        }
    }
}

/// A cursor movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Motion {
    /// One grapheme left.
    Left,
    /// One grapheme right.
    Right,
    /// One visual row up.
    Up,
    /// One visual row down.
    Down,
    /// Previous word start.
    WordLeft,
    /// Next word start.
    WordRight,
    /// Indentation, then column 0.
    LineStart,
    /// End of line.
    LineEnd,
    /// One screen up.
    PageUp,
    /// One screen down.
    PageDown,
    /// Start of buffer.
    DocStart,
    /// End of buffer.
    DocEnd,
}

/// The visible part of the buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    /// First visible line.
    pub top_line: usize,
    /// First visible visual row of that line (soft wrap).
    pub top_row: usize,
    /// First visible column (no soft wrap).
    pub left_col: usize,
    /// Width of the whole editor area in cells.
    pub width: u16,
    /// Height of the whole editor area in cells, status bar and message line included.
    pub height: u16,
}

/// Something the front end must do on the editor's behalf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put this text on the system clipboard (OSC 52).
    Clipboard(String),
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

/// What a prompt asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// Incremental search.
    Search,
    /// Pattern to replace.
    ReplaceFind,
    /// Replacement for `pattern`.
    ReplaceWith {
        /// The pattern being replaced.
        pattern: String,
    },
    /// Line (and column) to go to.
    Goto,
    /// File name to save under.
    SaveAs,
}

/// A one-line input on the message line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// What it asks for.
    pub kind: PromptKind,
    /// Typed text.
    pub input: String,
    /// Cursor in `input`, in chars.
    pub cursor: usize,
    origin: Selection,
    origin_view: Viewport,
}

impl Prompt {
    /// The label shown before the input.
    pub fn label(&self, opts: SearchOptions) -> String {
        let flags = format!(
            "{}{}",
            if opts.regex { " [regex]" } else { "" },
            if opts.ignore_case { " [ignore case]" } else { "" }
        );
        match &self.kind {
            PromptKind::Search => format!("Search{flags}: "),
            PromptKind::ReplaceFind => format!("Replace{flags}: "),
            PromptKind::ReplaceWith { pattern } => format!("Replace {pattern:?} with: "),
            PromptKind::Goto => "Go to line[:column]: ".into(),
            PromptKind::SaveAs => "Save as: ".into(),
        }
    }
}

/// A replace-one-by-one session.
#[derive(Clone, Debug)]
pub struct ReplaceSession {
    query: Query,
    replacement: String,
    regex: bool,
    current: Range<usize>,
    origin: usize,
    wrapped: bool,
    count: usize,
}

/// A yes/no question on the message line.
#[derive(Clone, Debug)]
pub enum Confirm {
    /// Quit with unsaved changes?
    Quit,
    /// Overwrite a file that changed on disk?
    Overwrite,
    /// Discard changes and reload?
    Reload,
    /// Write a file we have no write permission for?
    WriteProtected,
    /// Replace this match?
    Replace(ReplaceSession),
}

impl Confirm {
    /// The question.
    pub fn question(&self) -> &'static str {
        match self {
            Confirm::Quit => "Save changes before quitting? (y)es (n)o (Esc) cancel",
            Confirm::Overwrite => {
                "The file changed on disk since it was read. Overwrite it? (y)es (n)o"
            }
            Confirm::Reload => "Discard unsaved changes and reload from disk? (y)es (n)o",
            Confirm::WriteProtected => "The file is read-only. Write it anyway? (y)es (n)o",
            Confirm::Replace(_) => "Replace this match? (y)es (n)o (a)ll (Esc) stop",
        }
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

struct PendingSearch {
    query: Query,
    origin: usize,
    resume: usize,
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
    buffer: Buffer,
    selection: Selection,
    preferred_col: Option<usize>,
    marks: Vec<usize>,
    history: Box<dyn UndoHistory>,
    keymap: Keymap,
    options: Options,
    view: Viewport,
    mode: Mode,
    path: Option<PathBuf>,
    disk: Option<DiskStamp>,
    read_only: Option<String>,
    bom: file::Bom,
    access: file::Access,
    saved_state: u64,
    changed_on_disk: bool,
    message: Option<Message>,
    clipboard: String,
    effects: Vec<Effect>,
    search_opts: SearchOptions,
    last_search: Option<String>,
    highlight: Option<Query>,
    pending_search: Option<PendingSearch>,
    dragging: bool,
    quit: bool,
    /// Whether the presence list is shown; `None` outside a shared document.
    presence_list: Option<bool>,
}

impl Editor {
    /// An unnamed buffer holding `text`, with default options and key bindings.
    pub fn new(text: &str) -> Self {
        Editor::with_rope(Rope::from_str(text), &Config::default())
    }

    /// A buffer over `rope` configured by `config`.
    pub fn with_rope(rope: Rope, config: &Config) -> Self {
        let (keymap, errors) = Keymap::from_table(&config.keys);
        let mut ed = Editor {
            buffer: Buffer::new(rope),
            selection: Selection::default(),
            preferred_col: None,
            marks: Vec::new(),
            history: Box::new(LinearHistory::new()),
            keymap,
            options: Options::from(config),
            view: Viewport { width: 80, height: 24, ..Viewport::default() },
            mode: Mode::Normal,
            path: None,
            disk: None,
            read_only: None,
            bom: file::Bom::Absent,
            access: file::Access::Writable,
            saved_state: 0,
            changed_on_disk: false,
            message: None,
            clipboard: String::new(),
            effects: Vec::new(),
            search_opts: SearchOptions::default(),
            last_search: None,
            highlight: None,
            pending_search: None,
            dragging: false,
            quit: false,
            presence_list: None,
        };
        if !errors.is_empty() {
            ed.error(format!("config [keys]: {}", errors.join("; ")));
        }
        ed
    }

    /// Opens `path` (a new, empty buffer if it does not exist).
    pub fn open(path: &Path, config: &Config) -> Result<Self, file::FileError> {
        let loaded = file::load(path)?;
        let mut ed = match loaded {
            Some(l) => {
                let mut ed = Editor::with_rope(l.rope, config);
                ed.disk = Some(l.stamp);
                (ed.bom, ed.access) = (l.bom, l.access);
                if let Some(reason) = l.read_only {
                    ed.error(format!("read-only: {reason}"));
                    ed.read_only = Some(reason);
                }
                ed
            }
            None => {
                let mut ed = Editor::with_rope(Rope::new(), config);
                ed.info(format!("new file {}", path.display()));
                ed
            }
        };
        ed.path = Some(path.to_owned());
        Ok(ed)
    }

    /// Replaces the undo implementation (the collaborative client uses CRDT-based per-user undo).
    pub fn set_history(&mut self, history: Box<dyn UndoHistory>) {
        self.saved_state = history.state_id();
        self.history = history;
    }

    // ----- accessors for the renderer and the front end -----

    /// The text.
    pub fn rope(&self) -> &Rope {
        self.buffer.rope()
    }

    /// The local selection.
    pub fn selection(&self) -> Selection {
        self.selection
    }

    /// Extra positions kept in step with edits (for the collaborative layer).
    pub fn marks(&self) -> &[usize] {
        &self.marks
    }

    /// Sets the extra positions.
    pub fn set_marks(&mut self, marks: Vec<usize>) {
        let len = self.rope().len_chars();
        self.marks = marks.into_iter().map(|m| m.min(len)).collect();
    }

    /// Moves the local selection (clamped to the buffer), e.g. after a collaborative undo.
    pub fn set_selection(&mut self, selection: Selection) {
        let len = self.rope().len_chars();
        self.selection =
            Selection { anchor: selection.anchor.min(len), head: selection.head.min(len) };
        self.after_change();
    }

    /// Makes the buffer read-only for `reason` (editing keys then say so), or editable again with `None`.
    pub fn set_read_only(&mut self, reason: Option<String>) {
        self.read_only = reason;
    }

    /// Shows `text` on the message line.
    pub fn notify(&mut self, text: impl Into<String>, kind: MessageKind) {
        self.message = Some(Message { text: text.into(), kind });
    }

    /// The viewport.
    pub fn view(&self) -> Viewport {
        self.view
    }

    /// Display options.
    pub fn options(&self) -> Options {
        self.options
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
        self.search_opts
    }

    /// The query whose matches are highlighted.
    pub fn search_highlight(&self) -> Option<&Query> {
        self.highlight.as_ref()
    }

    /// The key bindings.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the buffer is read-only, if it is.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Unsaved changes exist.
    pub fn is_modified(&self) -> bool {
        self.history.state_id() != self.saved_state
    }

    /// The user asked to quit and nothing stands in the way.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Work remains for [`Editor::tick`] (a search in progress).
    pub fn is_busy(&self) -> bool {
        self.pending_search.is_some()
    }

    /// Front-end effects since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Local edits since the last call, for the collaborative layer.
    pub fn take_pending_edits(&mut self) -> Vec<Edit> {
        self.buffer.take_pending_edits()
    }

    /// Line damage since the last call, for line caches (see [`Buffer::take_damage`]).
    pub fn take_damage(&mut self) -> Result<Vec<LineDamage>, usize> {
        self.buffer.take_damage()
    }

    /// Layout of lines on screen with the current options and size.
    pub fn layout_options(&self) -> LayoutOptions {
        LayoutOptions {
            tab_width: self.options.tab_width,
            wrap: self.options.soft_wrap.then(|| usize::from(self.text_width()).max(2)),
        }
    }

    /// Cells taken by the line-number gutter (number and one space).
    pub fn gutter_width(&self) -> u16 {
        if !self.options.line_numbers {
            return 0;
        }
        let digits = self.rope().len_lines().max(1).ilog10() as u16 + 1;
        digits.max(3) + 1
    }

    /// Rows for text.
    pub fn text_height(&self) -> u16 {
        self.view.height.saturating_sub(2).max(1)
    }

    /// Columns for text.
    pub fn text_width(&self) -> u16 {
        self.view.width.saturating_sub(self.gutter_width()).max(1)
    }

    /// The status bar's facts.
    pub fn status(&self) -> Status {
        let head = self.selection.head;
        let line = self.rope().char_to_line(head);
        let text = text::line_text(self.rope(), line);
        let offset = head - self.rope().line_to_char(line);
        let nowrap = LayoutOptions { tab_width: self.options.tab_width, wrap: None };
        let (_, col) = layout::position_of(&text, offset, nowrap);
        let name =
            self.path.as_ref().map_or_else(|| "[new]".to_owned(), |p| p.display().to_string());
        let mode = match &self.mode {
            Mode::Normal if self.selection.is_empty() => "EDIT",
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
            read_only: self.read_only.is_some(),
            write_protected: self.access == file::Access::WriteProtected,
            line: line + 1,
            column: col + 1,
            lines: self.rope().len_lines(),
            encoding: self.bom.encoding(),
            line_ending: self.buffer.line_ending(),
            mode,
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), kind: MessageKind::Info });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), kind: MessageKind::Error });
    }

    // ----- the two ways text changes -----

    /// Applies a local edit: the buffer changes, the edit is queued for the collaborative layer, history records
    /// it and the selection becomes `after`. Refused when read-only.
    fn apply_local(&mut self, edit: Edit, after: Selection, kind: ChangeKind) -> bool {
        if let Some(reason) = &self.read_only {
            self.message =
                Some(Message { text: format!("read-only: {reason}"), kind: MessageKind::Error });
            return false;
        }
        let before = self.selection;
        let Some(removed) = self.buffer.splice(&edit, true) else { return false };
        self.marks.iter_mut().for_each(|m| *m = edit.map_pos(*m, true));
        self.selection = after;
        self.history.record(Change { edit, removed, before, after, kind });
        true
    }

    /// Applies an edit made elsewhere (a remote peer): not recorded in local history nor queued as pending; the
    /// cursor, marks and viewport are mapped through it. Returns false when the range is out of bounds.
    pub fn apply_remote(&mut self, edit: Edit) -> bool {
        let top_char = self.rope().line_to_char(self.view.top_line);
        if self.buffer.splice(&edit, false).is_none() {
            return false;
        }
        self.selection = self.selection.map(&edit);
        self.marks.iter_mut().for_each(|m| *m = edit.map_pos(*m, true));
        let top = edit.map_pos(top_char, false);
        let top_line = self.rope().char_to_line(top);
        if top_line != self.view.top_line {
            self.view.top_line = top_line;
            self.view.top_row = 0;
        }
        self.history.remote_edit(&edit);
        true
    }

    /// Replaces the selection with `text` and puts the cursor after it.
    fn replace_selection(&mut self, text: &str, kind: ChangeKind) {
        let range = self.selection.range();
        let end = range.start + text.chars().count();
        if self.apply_local(Edit { range, text: text.to_owned() }, Selection::point(end), kind) {
            self.after_change();
        }
    }

    fn after_change(&mut self) {
        self.preferred_col = None;
        self.scroll_to_cursor();
    }

    fn delete_range(&mut self, range: Range<usize>, kind: ChangeKind) {
        if range.is_empty() {
            return;
        }
        let start = range.start;
        if self.apply_local(Edit::delete(range), Selection::point(start), kind) {
            self.after_change();
        }
    }

    // ----- input -----

    /// Handles one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        match std::mem::take(&mut self.mode) {
            Mode::Normal => self.normal_key(key),
            Mode::Prompt(p) => self.prompt_key(p, key),
            Mode::Confirm(c) => self.confirm_key(c, key),
            Mode::Help(scroll) => self.help_key(scroll, key),
        }
    }

    fn normal_key(&mut self, key: KeyEvent) {
        let message_before = self.message.clone();
        if let Some(cmd) = self.keymap.get(&key) {
            (cmd.run)(self);
        } else if let (Key::Char(c), false, false) = (key.key, key.mods.ctrl, key.mods.alt) {
            self.type_char(c);
        } else {
            self.error(format!("{key} is not bound (F1 shows the keys)"));
            return;
        }
        // A message lasts until the next key unless the key set a new one.
        if self.message == message_before && matches!(self.mode, Mode::Normal) && !self.is_busy() {
            self.message = None;
        }
    }

    /// Inserts text pasted by the terminal (bracketed paste), with its line breaks converted to the buffer's.
    pub fn paste(&mut self, text: &str) {
        if let Mode::Prompt(p) = &mut self.mode {
            let line = text.lines().next().unwrap_or_default();
            let at = p.input.char_indices().nth(p.cursor).map_or(p.input.len(), |(i, _)| i);
            p.input.insert_str(at, line);
            p.cursor += line.chars().count();
            if let Mode::Prompt(p) = std::mem::take(&mut self.mode) {
                self.prompt_changed(p);
            }
            return;
        }
        let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = match self.buffer.line_ending() {
            LineEnding::Lf => normalized,
            LineEnding::CrLf => normalized.replace('\n', "\r\n"),
        };
        self.history.seal();
        self.replace_selection(&text, ChangeKind::Other);
    }

    /// Handles a mouse event.
    pub fn handle_mouse(&mut self, ev: MouseEvent) {
        if !matches!(self.mode, Mode::Normal) {
            return;
        }
        match ev.kind {
            MouseKind::ScrollUp => self.scroll(-3),
            MouseKind::ScrollDown => self.scroll(3),
            MouseKind::Up => self.dragging = false,
            MouseKind::Down | MouseKind::Drag => {
                if ev.kind == MouseKind::Drag && !self.dragging {
                    return;
                }
                if ev.row >= self.text_height() {
                    return;
                }
                if ev.kind == MouseKind::Drag {
                    if ev.row == 0 {
                        self.scroll(-1);
                    } else if ev.row + 1 >= self.text_height() {
                        self.scroll(1);
                    }
                }
                let pos = self.screen_to_pos(ev.column, ev.row);
                let extend = ev.kind == MouseKind::Drag || ev.shift;
                self.dragging = true;
                self.move_to(pos, extend);
            }
        }
    }

    /// Sets the editor area's size in cells.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.width = width;
        self.view.height = height;
        self.scroll_to_cursor();
    }

    /// Does a bounded slice of background work (continuing a search). Returns whether more remains.
    pub fn tick(&mut self) -> bool {
        let Some(p) = self.pending_search.take() else { return false };
        let found = p.query.scan_forward(self.rope(), p.origin, p.resume, SEARCH_BUDGET);
        self.search_found(found, p.query, p.origin);
        self.is_busy()
    }

    // ----- movement -----

    fn line_text(&self, line: usize) -> std::borrow::Cow<'_, str> {
        text::line_text(self.rope(), line)
    }

    /// (line, visual row, column) of `pos`.
    fn visual(&self, pos: usize) -> (usize, usize, usize) {
        let line = self.rope().char_to_line(pos);
        let offset = pos - self.rope().line_to_char(line);
        let (row, col) = layout::position_of(&self.line_text(line), offset, self.layout_options());
        (line, row, col)
    }

    fn rows_in(&self, line: usize) -> usize {
        if self.options.soft_wrap {
            layout::row_count(&self.line_text(line), self.layout_options())
        } else {
            1
        }
    }

    /// The (line, row) `n` visual rows after (line, row), clamped to the buffer.
    fn advance_rows(&self, (mut line, mut row): (usize, usize), n: usize) -> (usize, usize) {
        let last = self.rope().len_lines() - 1;
        for _ in 0..n {
            if row + 1 < self.rows_in(line) {
                row += 1;
            } else if line < last {
                line += 1;
                row = 0;
            } else {
                break;
            }
        }
        (line, row)
    }

    /// The (line, row) `n` visual rows before (line, row), clamped to the buffer.
    fn retreat_rows(&self, (mut line, mut row): (usize, usize), n: usize) -> (usize, usize) {
        for _ in 0..n {
            if row > 0 {
                row -= 1;
            } else if line > 0 {
                line -= 1;
                row = self.rows_in(line) - 1;
            } else {
                break;
            }
        }
        (line, row)
    }

    fn pos_at_row(&self, (line, row): (usize, usize), col: usize) -> usize {
        let offset = layout::offset_at(&self.line_text(line), row, col, self.layout_options());
        self.rope().line_to_char(line) + offset
    }

    /// Char offset under a screen cell of the text area.
    pub fn screen_to_pos(&self, column: u16, row: u16) -> usize {
        let at = self.advance_rows((self.view.top_line, self.view.top_row), usize::from(row));
        let mut col = usize::from(column.saturating_sub(self.gutter_width()));
        if !self.options.soft_wrap {
            col += self.view.left_col;
        }
        self.pos_at_row(at, col)
    }

    fn move_to(&mut self, pos: usize, extend: bool) {
        self.selection = self.selection.moved_to(pos.min(self.rope().len_chars()), extend);
        self.history.seal();
        self.scroll_to_cursor();
    }

    /// Moves the cursor, extending the selection when `extend`.
    pub fn motion(&mut self, motion: Motion, extend: bool) {
        let sel = self.selection;
        let rope = self.rope();
        let head = sel.head;
        let pos = match motion {
            Motion::Left if !extend && !sel.is_empty() => sel.range().start,
            Motion::Right if !extend && !sel.is_empty() => sel.range().end,
            Motion::Left => text::prev_grapheme(rope, head),
            Motion::Right => text::next_grapheme(rope, head),
            Motion::WordLeft => text::prev_word(rope, head),
            Motion::WordRight => text::next_word(rope, head),
            Motion::LineStart => {
                let line = rope.char_to_line(head);
                let start = rope.line_to_char(line);
                let indent =
                    self.line_text(line).chars().take_while(|c| *c == ' ' || *c == '\t').count();
                if head == start + indent { start } else { start + indent }
            }
            Motion::LineEnd => text::line_content_end(rope, rope.char_to_line(head)),
            Motion::DocStart => 0,
            Motion::DocEnd => rope.len_chars(),
            Motion::Up | Motion::Down | Motion::PageUp | Motion::PageDown => {
                let page = usize::from(self.text_height()).saturating_sub(1).max(1);
                let (rows, down) = match motion {
                    Motion::Up => (1, false),
                    Motion::Down => (1, true),
                    Motion::PageUp => (page, false),
                    _ => (page, true),
                };
                return self.vertical(rows, down, extend);
            }
        };
        self.preferred_col = None;
        self.move_to(pos, extend);
    }

    fn vertical(&mut self, rows: usize, down: bool, extend: bool) {
        let (line, row, col) = self.visual(self.selection.head);
        let want = *self.preferred_col.get_or_insert(col);
        let last = self.rope().len_lines() - 1;
        let at_edge = if down {
            line == last && row + 1 >= self.rows_in(line)
        } else {
            line == 0 && row == 0
        };
        let pos = if at_edge {
            if down { self.rope().len_chars() } else { 0 }
        } else if down {
            self.pos_at_row(self.advance_rows((line, row), rows), want)
        } else {
            self.pos_at_row(self.retreat_rows((line, row), rows), want)
        };
        if rows > 1 {
            self.scroll(if down { rows as isize } else { -(rows as isize) });
        }
        self.selection = self.selection.moved_to(pos, extend);
        self.history.seal();
        self.scroll_to_cursor();
    }

    /// Scrolls the view by `rows` visual rows without moving the cursor.
    pub fn scroll(&mut self, rows: isize) {
        let top = (self.view.top_line, self.view.top_row);
        let (line, row) = if rows < 0 {
            self.retreat_rows(top, rows.unsigned_abs())
        } else {
            self.advance_rows(top, rows.unsigned_abs())
        };
        self.view.top_line = line;
        self.view.top_row = row;
    }

    /// Scrolls so that the cursor is on screen, touching only the lines between the view and the cursor.
    pub fn scroll_to_cursor(&mut self) {
        let height = usize::from(self.text_height());
        let (line, row, col) = self.visual(self.selection.head);
        let top = (self.view.top_line, self.view.top_row);
        if (line, row) < top {
            (self.view.top_line, self.view.top_row) = (line, row);
        } else if line - top.0 >= height || self.rows_between(top, (line, row)) >= height {
            (self.view.top_line, self.view.top_row) = self.retreat_rows((line, row), height - 1);
        }
        if self.options.soft_wrap {
            self.view.left_col = 0;
        } else {
            let width = usize::from(self.text_width());
            if col < self.view.left_col {
                self.view.left_col = col;
            } else if col >= self.view.left_col + width {
                self.view.left_col = col + 1 - width;
            }
        }
    }

    /// Visual rows from `a` to `b` (a ≤ b, at most a screen apart in lines).
    fn rows_between(&self, a: (usize, usize), b: (usize, usize)) -> usize {
        if a.0 == b.0 {
            return b.1 - a.1;
        }
        let middle: usize = (a.0..b.0).map(|l| self.rows_in(l)).sum();
        middle - a.1 + b.1
    }

    /// Centres the view on the cursor's line.
    fn center_on_cursor(&mut self) {
        let (line, row, _) = self.visual(self.selection.head);
        let half = usize::from(self.text_height()) / 2;
        (self.view.top_line, self.view.top_row) = self.retreat_rows((line, row), half);
        self.scroll_to_cursor();
    }

    // ----- editing commands -----

    fn type_char(&mut self, c: char) {
        let kind = if c.is_whitespace() { ChangeKind::TypeSpace } else { ChangeKind::TypeWord };
        self.replace_selection(c.encode_utf8(&mut [0; 4]), kind);
    }

    /// Inserts a line break and the current line's indentation.
    pub fn newline(&mut self) {
        let head = self.selection.range().start;
        let line = self.rope().char_to_line(head);
        let start = self.rope().line_to_char(line);
        let indent: String = self
            .rope()
            .slice(start..head)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let text = format!("{}{indent}", self.buffer.line_ending().as_str());
        self.replace_selection(&text, ChangeKind::TypeSpace);
    }

    /// Inserts a tab, or spaces to the next tab stop.
    pub fn indent(&mut self) {
        if !self.options.insert_spaces {
            return self.replace_selection("\t", ChangeKind::TypeSpace);
        }
        let (_, _, col) = self.visual(self.selection.range().start);
        let n = self.options.tab_width - col % self.options.tab_width;
        self.replace_selection(&" ".repeat(n), ChangeKind::TypeSpace);
    }

    /// Deletes the selection or the grapheme before the cursor.
    pub fn backspace(&mut self) {
        if !self.selection.is_empty() {
            return self.delete_range(self.selection.range(), ChangeKind::Other);
        }
        let head = self.selection.head;
        self.delete_range(text::prev_grapheme(self.rope(), head)..head, ChangeKind::DeleteChar);
    }

    /// Deletes the selection or the grapheme after the cursor.
    pub fn delete(&mut self) {
        if !self.selection.is_empty() {
            return self.delete_range(self.selection.range(), ChangeKind::Other);
        }
        let head = self.selection.head;
        self.delete_range(head..text::next_grapheme(self.rope(), head), ChangeKind::DeleteChar);
    }

    /// Deletes back to the previous word start.
    pub fn delete_word_back(&mut self) {
        let head = self.selection.head;
        self.delete_range(text::prev_word(self.rope(), head)..head, ChangeKind::Other);
    }

    /// Deletes forward to the next word start.
    pub fn delete_word_fwd(&mut self) {
        let head = self.selection.head;
        self.delete_range(head..text::next_word(self.rope(), head), ChangeKind::Other);
    }

    /// Undoes the last step.
    pub fn undo(&mut self) {
        match self.history.undo() {
            Some(r) => self.apply_revert(r.edits, r.selection),
            None => self.info("nothing to undo"),
        }
    }

    /// Redoes the last undone step.
    pub fn redo(&mut self) {
        match self.history.redo() {
            Some(r) => self.apply_revert(r.edits, r.selection),
            None => self.info("nothing to redo"),
        }
    }

    fn apply_revert(&mut self, edits: Vec<Edit>, selection: Selection) {
        for edit in &edits {
            // Pending (for the collaborative layer) but not recorded: history already moved this step.
            if self.buffer.splice(edit, true).is_some() {
                self.marks.iter_mut().for_each(|m| *m = edit.map_pos(*m, true));
            }
        }
        let len = self.rope().len_chars();
        self.selection =
            Selection { anchor: selection.anchor.min(len), head: selection.head.min(len) };
        self.after_change();
    }

    fn selected_or_line(&self) -> Range<usize> {
        if !self.selection.is_empty() {
            return self.selection.range();
        }
        let line = self.rope().char_to_line(self.selection.head);
        let start = self.rope().line_to_char(line);
        let end = if line + 1 < self.rope().len_lines() {
            self.rope().line_to_char(line + 1)
        } else {
            self.rope().len_chars()
        };
        start..end
    }

    /// Copies the selection, or the current line when nothing is selected.
    pub fn copy(&mut self) {
        let range = self.selected_or_line();
        self.clipboard = self.rope().slice(range).into();
        if self.clipboard.len() <= OSC52_LIMIT {
            self.effects.push(Effect::Clipboard(self.clipboard.clone()));
        }
        self.info(format!("copied {} chars", self.clipboard.chars().count()));
    }

    /// Cuts the selection, or the current line when nothing is selected.
    pub fn cut(&mut self) {
        let range = self.selected_or_line();
        self.copy();
        self.history.seal();
        self.delete_range(range, ChangeKind::Other);
    }

    /// Pastes the internal clipboard.
    pub fn paste_clipboard(&mut self) {
        let text = self.clipboard.clone();
        if text.is_empty() {
            return self.info("clipboard is empty");
        }
        self.history.seal();
        self.replace_selection(&text, ChangeKind::Other);
    }

    /// Sets the internal clipboard (the front end may fill it from elsewhere).
    pub fn set_clipboard(&mut self, text: String) {
        self.clipboard = text;
    }

    /// Selects everything.
    pub fn select_all(&mut self) {
        self.selection = Selection { anchor: 0, head: self.rope().len_chars() };
        self.scroll_to_cursor();
    }

    /// Clears selection, search highlight and message.
    pub fn clear(&mut self) {
        self.selection = Selection::point(self.selection.head);
        self.highlight = None;
        self.pending_search = None;
        self.message = None;
    }

    /// Toggles soft wrap.
    pub fn toggle_wrap(&mut self) {
        self.options.soft_wrap = !self.options.soft_wrap;
        self.view.top_row = 0;
        self.view.left_col = 0;
        self.scroll_to_cursor();
        self.info(if self.options.soft_wrap { "soft wrap on" } else { "soft wrap off" });
    }

    /// Toggles the line-number gutter.
    pub fn toggle_line_numbers(&mut self) {
        self.options.line_numbers = !self.options.line_numbers;
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

    // ----- prompts -----

    fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let cursor = input.chars().count();
        self.mode = Mode::Prompt(Prompt {
            kind,
            input,
            cursor,
            origin: self.selection,
            origin_view: self.view,
        });
    }

    /// Starts an incremental search.
    pub fn find(&mut self) {
        self.open_prompt(PromptKind::Search, String::new());
    }

    /// Starts a replace.
    pub fn replace(&mut self) {
        if self.read_only.is_some() {
            return self.error("read-only: cannot replace");
        }
        self.open_prompt(PromptKind::ReplaceFind, self.last_search.clone().unwrap_or_default());
    }

    /// Asks for a line to go to.
    pub fn goto_line(&mut self) {
        self.open_prompt(PromptKind::Goto, String::new());
    }

    /// Asks for a file name and saves there.
    pub fn save_as(&mut self) {
        let current = self.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        self.open_prompt(PromptKind::SaveAs, current);
    }

    fn prompt_key(&mut self, mut p: Prompt, key: KeyEvent) {
        let byte_at = |s: &str, i: usize| s.char_indices().nth(i).map_or(s.len(), |(b, _)| b);
        let searching = matches!(p.kind, PromptKind::Search | PromptKind::ReplaceFind);
        let mut changed = false;
        match (key.key, key.mods.ctrl, key.mods.alt) {
            (Key::Esc, _, _) => return self.cancel_prompt(p),
            (Key::Enter, _, _) => return self.submit_prompt(p),
            (Key::Char('r'), false, true) | (Key::Char('r'), true, false) if searching => {
                self.search_opts.regex = !self.search_opts.regex;
                changed = true;
            }
            (Key::Char('c'), false, true) if searching => {
                self.search_opts.ignore_case = !self.search_opts.ignore_case;
                changed = true;
            }
            (Key::Down | Key::F(3), _, _) | (Key::Char('f' | 'n'), true, false)
                if matches!(p.kind, PromptKind::Search) =>
            {
                self.mode = Mode::Prompt(p);
                return self.search_step(true);
            }
            (Key::Up, _, _) | (Key::Char('p'), true, false)
                if matches!(p.kind, PromptKind::Search) =>
            {
                self.mode = Mode::Prompt(p);
                return self.search_step(false);
            }
            (Key::Char('v'), true, false) => {
                let clip = self.clipboard.lines().next().unwrap_or_default().to_owned();
                p.input.insert_str(byte_at(&p.input, p.cursor), &clip);
                p.cursor += clip.chars().count();
                changed = true;
            }
            (Key::Char(c), false, false) => {
                p.input.insert(byte_at(&p.input, p.cursor), c);
                p.cursor += 1;
                changed = true;
            }
            (Key::Backspace, _, _) if p.cursor > 0 => {
                p.cursor -= 1;
                p.input.remove(byte_at(&p.input, p.cursor));
                changed = true;
            }
            (Key::Delete, _, _) if p.cursor < p.input.chars().count() => {
                p.input.remove(byte_at(&p.input, p.cursor));
                changed = true;
            }
            (Key::Left, _, _) => p.cursor = p.cursor.saturating_sub(1),
            (Key::Right, _, _) => p.cursor = (p.cursor + 1).min(p.input.chars().count()),
            (Key::Home, _, _) => p.cursor = 0,
            (Key::End, _, _) => p.cursor = p.input.chars().count(),
            _ => {}
        }
        if changed {
            self.prompt_changed(p);
        } else {
            self.mode = Mode::Prompt(p);
        }
    }

    fn prompt_changed(&mut self, p: Prompt) {
        let incremental = matches!(p.kind, PromptKind::Search);
        let (input, origin) = (p.input.clone(), p.origin);
        self.mode = Mode::Prompt(p);
        if incremental {
            self.search_incremental(&input, origin);
        }
    }

    fn cancel_prompt(&mut self, p: Prompt) {
        if matches!(p.kind, PromptKind::Search) {
            self.selection = p.origin;
            self.view =
                Viewport { width: self.view.width, height: self.view.height, ..p.origin_view };
            self.highlight = None;
            self.pending_search = None;
        }
        self.message = None;
    }

    fn submit_prompt(&mut self, p: Prompt) {
        self.message = None;
        match p.kind {
            PromptKind::Search => {
                self.last_search = Some(p.input).filter(|s| !s.is_empty());
            }
            PromptKind::ReplaceFind => match Query::new(&p.input, self.search_opts) {
                Ok(_) if !p.input.is_empty() => {
                    self.last_search = Some(p.input.clone());
                    self.open_prompt(PromptKind::ReplaceWith { pattern: p.input }, String::new());
                }
                Ok(_) => {}
                Err(e) => {
                    self.error(format!("invalid regex: {e}"));
                    self.mode = Mode::Prompt(p);
                }
            },
            PromptKind::ReplaceWith { pattern } => self.start_replace(&pattern, p.input),
            PromptKind::Goto => self.goto(&p.input),
            PromptKind::SaveAs => {
                if p.input.trim().is_empty() {
                    return self.info("not saved");
                }
                self.path = Some(PathBuf::from(p.input.trim()));
                self.disk = None;
                self.write_file(false);
            }
        }
    }

    fn goto(&mut self, input: &str) {
        let mut parts = input.trim().splitn(2, [':', ',']);
        let line = parts.next().and_then(|s| s.trim().parse::<usize>().ok());
        let col = parts.next().and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(1);
        let Some(line) = line else { return self.error(format!("not a line number: {input:?}")) };
        let line = line.clamp(1, self.rope().len_lines()) - 1;
        let start = self.rope().line_to_char(line);
        let len = text::content_len(self.rope().line(line));
        let pos = text::grapheme_floor(self.rope(), start + (col.max(1) - 1).min(len));
        self.selection = Selection::point(pos);
        self.preferred_col = None;
        self.history.seal();
        self.center_on_cursor();
    }

    // ----- search -----

    fn search_incremental(&mut self, input: &str, origin: Selection) {
        self.pending_search = None;
        if input.is_empty() {
            self.selection = origin;
            self.highlight = None;
            self.message = None;
            return;
        }
        match Query::new(input, self.search_opts) {
            Ok(q) => {
                self.highlight = Some(q.clone());
                self.message = None;
                let from = origin.range().start;
                let found = q.find_next(self.rope(), from, SEARCH_BUDGET);
                self.search_found(found, q, from);
            }
            Err(e) => {
                self.highlight = None;
                self.error(format!("invalid regex: {e}"));
            }
        }
    }

    fn search_found(&mut self, found: Found, query: Query, origin: usize) {
        match found {
            Found::Match(start, end) => {
                self.selection = Selection { anchor: start, head: end };
                self.history.seal();
                self.center_if_off_screen();
                if matches!(self.message.as_ref().map(|m| m.text.as_str()), Some("searching…")) {
                    self.message = None;
                }
            }
            Found::None => self.error("no match"),
            Found::Pending(resume) => {
                self.info("searching…");
                self.pending_search = Some(PendingSearch { query, origin, resume });
            }
        }
    }

    fn center_if_off_screen(&mut self) {
        let before = self.view;
        self.scroll_to_cursor();
        if self.view.top_line != before.top_line || self.view.top_row != before.top_row {
            self.center_on_cursor();
        }
    }

    fn search_step(&mut self, forward: bool) {
        let query = match (&self.highlight, &self.last_search) {
            (Some(q), _) => q.clone(),
            (None, Some(s)) => match Query::new(s, self.search_opts) {
                Ok(q) => q,
                Err(e) => return self.error(format!("invalid regex: {e}")),
            },
            (None, None) => return self.info("no previous search (Ctrl-F)"),
        };
        self.highlight = Some(query.clone());
        let range = self.selection.range();
        let from = if range.is_empty() { range.end } else { range.start + 1 };
        let found = if forward {
            query.find_next(self.rope(), from, SEARCH_BUDGET)
        } else {
            query.find_prev(self.rope(), range.start)
        };
        self.search_found(found, query, from);
    }

    /// Next match of the last search.
    pub fn find_next(&mut self) {
        self.search_step(true);
    }

    /// Previous match of the last search.
    pub fn find_prev(&mut self) {
        self.search_step(false);
    }

    fn start_replace(&mut self, pattern: &str, replacement: String) {
        let query = match Query::new(pattern, self.search_opts) {
            Ok(q) => q,
            Err(e) => return self.error(format!("invalid regex: {e}")),
        };
        let from = self.selection.range().start;
        match query.find_next(self.rope(), from, usize::MAX) {
            Found::Match(s, e) => {
                self.highlight = Some(query.clone());
                let regex = self.search_opts.regex;
                let session = ReplaceSession {
                    query,
                    replacement,
                    regex,
                    current: s..e,
                    origin: s,
                    wrapped: false,
                    count: 0,
                };
                self.show_replace(session);
            }
            _ => self.error("no match"),
        }
    }

    fn show_replace(&mut self, session: ReplaceSession) {
        self.selection = Selection { anchor: session.current.start, head: session.current.end };
        self.center_if_off_screen();
        self.mode = Mode::Confirm(Confirm::Replace(session));
    }

    fn replace_key(&mut self, mut s: ReplaceSession, key: KeyEvent) {
        let next_from = match key.key {
            Key::Char('y') => {
                let text = s.query.expand(self.rope(), s.current.clone(), &s.replacement, s.regex);
                let end = s.current.start + text.chars().count();
                let edit = Edit { range: s.current.clone(), text };
                self.history.seal();
                if !self.apply_local(edit, Selection::point(end), ChangeKind::Other) {
                    return;
                }
                s.count += 1;
                end
            }
            Key::Char('n') => s.current.end,
            Key::Char('a') => return self.replace_all(s),
            Key::Esc | Key::Char('q') => return self.finish_replace(s.count),
            _ => {
                self.mode = Mode::Confirm(Confirm::Replace(s));
                return;
            }
        };
        let Found::Match(start, end) = s.query.find_next(self.rope(), next_from, usize::MAX) else {
            return self.finish_replace(s.count);
        };
        if start < next_from {
            s.wrapped = true;
        }
        if s.wrapped && start >= s.origin {
            return self.finish_replace(s.count);
        }
        s.current = start..end;
        self.show_replace(s);
    }

    fn replace_all(&mut self, mut s: ReplaceSession) {
        self.history.seal();
        let mut pos = 0;
        while let Found::Match(start, end) = s.query.find_next(self.rope(), pos, usize::MAX) {
            if start < pos {
                break;
            }
            let text = s.query.expand(self.rope(), start..end, &s.replacement, s.regex);
            pos = start + text.chars().count();
            let sel = Selection::point(pos);
            if !self.apply_local(Edit { range: start..end, text }, sel, ChangeKind::Batch) {
                break;
            }
            s.count += 1;
        }
        self.history.seal();
        self.finish_replace(s.count);
    }

    fn finish_replace(&mut self, count: usize) {
        self.mode = Mode::Normal;
        self.after_change();
        self.info(format!("replaced {count} match{}", if count == 1 { "" } else { "es" }));
    }

    // ----- confirmations -----

    fn confirm_key(&mut self, c: Confirm, key: KeyEvent) {
        let yes = key.key == Key::Char('y');
        let no = key.key == Key::Char('n');
        match c {
            Confirm::Replace(s) => self.replace_key(s, key),
            Confirm::Quit if yes => {
                self.save();
                self.quit = !self.is_modified() && matches!(self.mode, Mode::Normal);
            }
            Confirm::Quit if no => self.quit = true,
            Confirm::Overwrite if yes => self.write_file(true),
            Confirm::Reload if yes => self.do_reload(),
            Confirm::WriteProtected if yes => self.write_file(false),
            _ if key.key == Key::Esc || no => self.message = None,
            other => self.mode = Mode::Confirm(other),
        }
    }

    // ----- files -----

    /// Saves to the file (asks for a name when there is none).
    pub fn save(&mut self) {
        if let Some(reason) = &self.read_only {
            let text = format!("not saved: read-only: {reason}");
            return self.error(text);
        }
        let Some(path) = &self.path else { return self.save_as() };
        self.access = file::access(path);
        if self.access == file::Access::WriteProtected {
            return self.mode = Mode::Confirm(Confirm::WriteProtected);
        }
        self.write_file(false);
    }

    fn write_file(&mut self, force: bool) {
        let Some(path) = self.path.clone() else { return };
        if !force {
            let now = file::stamp(&path).ok().flatten();
            if now.is_some() && now != self.disk {
                self.mode = Mode::Confirm(Confirm::Overwrite);
                return;
            }
        }
        match file::save(&path, self.rope(), self.bom) {
            Ok(stamp) => {
                self.disk = Some(stamp);
                self.changed_on_disk = false;
                self.history.seal();
                self.saved_state = self.history.state_id();
                let lines = self.rope().len_lines();
                self.info(format!("saved {} ({lines} lines, {} bytes)", path.display(), stamp.len));
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Asks to quit; confirms first when there are unsaved changes.
    pub fn quit(&mut self) {
        if self.is_modified() {
            self.mode = Mode::Confirm(Confirm::Quit);
        } else {
            self.quit = true;
        }
    }

    /// Notices when another program changed the file. Call periodically.
    pub fn check_disk(&mut self) {
        let Some(path) = &self.path else { return };
        let Some(known) = self.disk else { return };
        if self.changed_on_disk {
            return;
        }
        if let Ok(now) = file::stamp(path)
            && now != Some(known)
        {
            self.changed_on_disk = true;
            self.error("the file changed on disk (Alt-L reloads; saving asks first)");
        }
    }

    /// Reloads the file from disk (asks first when there are unsaved changes).
    pub fn reload(&mut self) {
        if self.path.is_none() {
            return self.info("no file to reload");
        }
        if self.is_modified() {
            self.mode = Mode::Confirm(Confirm::Reload);
        } else {
            self.do_reload();
        }
    }

    fn do_reload(&mut self) {
        let Some(path) = self.path.clone() else { return };
        match file::load(&path) {
            Ok(Some(loaded)) if loaded.read_only.is_none() => {
                let text: String = loaded.rope.into();
                let len = self.rope().len_chars();
                let head = self.selection.head;
                self.history.seal();
                // One undoable edit, so that the collaborative layer sees the reload like any other change.
                let edit = Edit { range: 0..len, text };
                let pos = head.min(edit.inserted_len());
                if self.apply_local(edit, Selection::point(pos), ChangeKind::Other) {
                    self.history.seal();
                    self.saved_state = self.history.state_id();
                    self.selection = Selection::point(text::grapheme_floor(self.rope(), pos));
                    self.disk = Some(loaded.stamp);
                    (self.bom, self.access) = (loaded.bom, loaded.access);
                    self.changed_on_disk = false;
                    self.after_change();
                    self.info(format!("reloaded {}", path.display()));
                }
            }
            Ok(Some(_)) => self.error("not reloaded: the file is no longer valid UTF-8"),
            Ok(None) => self.error("not reloaded: the file no longer exists"),
            Err(e) => self.error(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
