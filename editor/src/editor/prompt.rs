//! The one-line prompts on the message line (search, replace, go to, save as) and their line editing.
//!
//! Positions in the prompt's input are char offsets into it.

use std::path::PathBuf;

use super::files::{AfterSave, Overwrite};
use super::search::Direction;
use super::view::Viewport;
use super::{Editor, Mode};
use crate::search::{Query, SearchOptions};
use crate::selection::Selection;
use crate::text;

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
    SaveAs {
        /// What follows the save.
        then: AfterSave,
    },
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
    /// The input is prefilled and selected: typing replaces it, Backspace clears it, a motion keeps it.
    pub selected: bool,
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
            PromptKind::SaveAs { .. } => "Save as: ".into(),
        }
    }
}

/// A line-editing operation on a prompt's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptEdit {
    /// Insert text at the cursor.
    Insert(String),
    /// Delete the char before the cursor.
    DeleteBackward,
    /// Delete the char under the cursor.
    DeleteForward,
    /// Cursor one char left.
    Left,
    /// Cursor one char right.
    Right,
    /// Cursor to the start.
    Home,
    /// Cursor to the end.
    End,
    /// Clear the input (Ctrl-U).
    Clear,
    /// Delete the word before the cursor (Alt-Backspace).
    DeleteWordBackward,
}

/// A search option a prompt key toggles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchFlag {
    /// The pattern is a regular expression.
    Regex,
    /// Letters match either case.
    IgnoreCase,
}

impl Prompt {
    /// Applies `edit`; returns whether the input changed (the cursor alone moving does not count).
    pub fn apply(&mut self, edit: &PromptEdit) -> bool {
        if std::mem::take(&mut self.selected)
            && matches!(
                edit,
                PromptEdit::Insert(_)
                    | PromptEdit::DeleteBackward
                    | PromptEdit::DeleteForward
                    | PromptEdit::DeleteWordBackward
            )
        {
            self.input.clear();
            self.cursor = 0;
            if !matches!(edit, PromptEdit::Insert(_)) {
                return true;
            }
        }
        let len = self.input.chars().count();
        match edit {
            PromptEdit::Insert(text) => {
                let at = self.byte_at(self.cursor);
                self.input.insert_str(at, text);
                self.cursor += text.chars().count();
                return true;
            }
            PromptEdit::DeleteBackward if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.input.remove(at);
                return true;
            }
            PromptEdit::DeleteForward if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.input.remove(at);
                return true;
            }
            PromptEdit::Clear if !self.input.is_empty() => {
                self.input.clear();
                self.cursor = 0;
                return true;
            }
            PromptEdit::DeleteWordBackward if self.cursor > 0 => {
                let chars: Vec<char> = self.input.chars().take(self.cursor).collect();
                let word = |c: &char| c.is_alphanumeric() || *c == '_';
                let spaces = chars.iter().rev().take_while(|c| !word(c)).count();
                let words = chars.iter().rev().skip(spaces).take_while(|c| word(c)).count();
                let start = self.cursor - spaces - words;
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.input.replace_range(from..to, "");
                self.cursor = start;
                return true;
            }
            PromptEdit::DeleteBackward
            | PromptEdit::DeleteForward
            | PromptEdit::Clear
            | PromptEdit::DeleteWordBackward => {}
            PromptEdit::Left => self.cursor = self.cursor.saturating_sub(1),
            PromptEdit::Right => self.cursor = (self.cursor + 1).min(len),
            PromptEdit::Home => self.cursor = 0,
            PromptEdit::End => self.cursor = len,
        }
        false
    }

    /// Byte index of char `i` of the input.
    fn byte_at(&self, i: usize) -> usize {
        self.input.char_indices().nth(i).map_or(self.input.len(), |(b, _)| b)
    }
}

impl Editor {
    /// Opens a prompt; a prefilled `input` starts selected, so typing replaces it.
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let cursor = input.chars().count();
        self.message = None;
        self.mode = Mode::Prompt(Prompt {
            kind,
            selected: !input.is_empty(),
            input,
            cursor,
            origin: self.view.selection,
            origin_view: self.view.viewport,
        });
    }

    /// Starts an incremental search.
    pub fn find(&mut self) {
        self.open_prompt(PromptKind::Search, String::new());
    }

    /// Starts a replace.
    pub fn replace(&mut self) {
        if self.doc.read_only.is_some() {
            return self.error("read-only: cannot replace");
        }
        self.open_prompt(PromptKind::ReplaceFind, self.search.last.clone().unwrap_or_default());
    }

    /// Asks for a line to go to.
    pub fn goto_line(&mut self) {
        self.open_prompt(PromptKind::Goto, String::new());
    }

    /// Asks for a file name and saves there.
    pub fn save_as(&mut self) {
        self.ask_save_as(AfterSave::Stay);
    }

    pub(super) fn ask_save_as(&mut self, then: AfterSave) {
        let current = self.doc.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        self.open_prompt(PromptKind::SaveAs { then }, current);
    }

    /// Applies a line-editing operation to the open prompt; an incremental search follows the input.
    pub fn edit_prompt(&mut self, edit: PromptEdit) {
        let Mode::Prompt(mut p) = std::mem::take(&mut self.mode) else { return };
        if p.apply(&edit) {
            self.prompt_changed(p);
        } else {
            self.mode = Mode::Prompt(p);
        }
    }

    /// Tab in the save-as prompt: completes the file name from its directory's entries like a shell (a directory
    /// gets its `/`; several candidates complete to what they share and are listed on the message line).
    pub fn complete_prompt(&mut self) {
        let Mode::Prompt(p) = &mut self.mode else { return };
        if !matches!(p.kind, PromptKind::SaveAs { .. }) {
            return;
        }
        p.selected = false;
        let split = p.input.rfind('/').map_or(0, |i| i + 1);
        let (dir, prefix) = p.input.split_at(split);
        let listed = if dir.is_empty() { PathBuf::from(".") } else { expand_home(dir) };
        let mut names: Vec<String> = std::fs::read_dir(&listed)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        let hidden = name.starts_with('.') && !prefix.starts_with('.');
                        let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
                        (name.starts_with(prefix) && !hidden)
                            .then(|| if is_dir { format!("{name}/") } else { name })
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let completed = match names.as_slice() {
            [] => None,
            [only] => Some(only.clone()),
            [first, rest @ ..] => Some(rest.iter().fold(first.clone(), |common, name| {
                common
                    .chars()
                    .zip(name.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            })),
        };
        if let Some(name) = completed {
            p.input = format!("{dir}{name}");
            p.cursor = p.input.chars().count();
        }
        match names.len() {
            0 => self.error("no file name completes it"),
            1 => self.message = None,
            n => {
                let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
                let more = if n > shown.len() { format!(" … ({n})") } else { String::new() };
                self.info(format!("{}{more}", shown.join("  ")));
            }
        }
    }

    /// Pastes the first line of the internal clipboard into the prompt.
    pub fn paste_into_prompt(&mut self) {
        let clip = self.clipboard.lines().next().unwrap_or_default().to_owned();
        self.edit_prompt(PromptEdit::Insert(clip));
    }

    /// Toggles a search option while typing a search or replace pattern (the search follows).
    pub fn toggle_search_flag(&mut self, flag: SearchFlag) {
        let Mode::Prompt(p) = std::mem::take(&mut self.mode) else { return };
        if !matches!(p.kind, PromptKind::Search | PromptKind::ReplaceFind) {
            self.mode = Mode::Prompt(p);
            return;
        }
        match flag {
            SearchFlag::Regex => self.search.options.regex = !self.search.options.regex,
            SearchFlag::IgnoreCase => {
                self.search.options.ignore_case = !self.search.options.ignore_case;
            }
        }
        self.prompt_changed(p);
    }

    /// Jumps to the next match while typing a search (ignored in other prompts).
    pub fn prompt_find_next(&mut self) {
        self.prompt_search_step(Direction::Forward);
    }

    /// Jumps to the previous match while typing a search (ignored in other prompts).
    pub fn prompt_find_prev(&mut self) {
        self.prompt_search_step(Direction::Backward);
    }

    fn prompt_search_step(&mut self, direction: Direction) {
        if matches!(&self.mode, Mode::Prompt(p) if matches!(p.kind, PromptKind::Search)) {
            self.search_step(direction);
        }
    }

    /// Closes the prompt without acting (a search puts the cursor and view back).
    pub fn cancel_prompt(&mut self) {
        match std::mem::take(&mut self.mode) {
            Mode::Prompt(p) => self.close_prompt(p),
            other => self.mode = other,
        }
    }

    /// Acts on the prompt's input.
    pub fn submit_prompt(&mut self) {
        match std::mem::take(&mut self.mode) {
            Mode::Prompt(p) => self.accept_prompt(p),
            other => self.mode = other,
        }
    }

    pub(super) fn prompt_changed(&mut self, p: Prompt) {
        let incremental = matches!(p.kind, PromptKind::Search);
        let (input, origin) = (p.input.clone(), p.origin);
        self.mode = Mode::Prompt(p);
        if incremental {
            self.search_incremental(&input, origin);
        }
    }

    fn close_prompt(&mut self, p: Prompt) {
        if matches!(p.kind, PromptKind::Search) {
            self.view.selection = p.origin;
            self.view.viewport = Viewport {
                width: self.view.viewport.width,
                height: self.view.viewport.height,
                ..p.origin_view
            };
            self.search.highlight = None;
            self.search.pending = None;
        }
        self.message = None;
    }

    fn accept_prompt(&mut self, p: Prompt) {
        self.message = None;
        match p.kind {
            PromptKind::Search => {
                self.search.last = Some(p.input).filter(|s| !s.is_empty());
            }
            PromptKind::ReplaceFind => match Query::new(&p.input, self.search.options) {
                Ok(_) if !p.input.is_empty() => {
                    self.search.last = Some(p.input.clone());
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
            PromptKind::SaveAs { then } => {
                if p.input.trim().is_empty() {
                    return self.info("not saved");
                }
                self.save_as_to(expand_home(p.input.trim()), Overwrite::Ask, then);
            }
        }
    }

    pub(super) fn goto(&mut self, input: &str) {
        let mut parts = input.trim().splitn(2, [':', ',']);
        let line = parts.next().and_then(|s| s.trim().parse::<usize>().ok());
        let col = parts.next().and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(1);
        let Some(line) = line else { return self.error(format!("not a line number: {input:?}")) };
        let line = line.clamp(1, self.rope().len_lines()) - 1;
        let start = self.rope().line_to_char(line);
        let len = text::content_len(self.rope().line(line));
        // COL counts display columns, tabs expanded, as the status bar shows them.
        let nowrap =
            crate::layout::LayoutOptions { tab_width: self.view.options.tab_width, wrap: None };
        let offset = self.doc.buffer.offset_at(line, 0, col.max(1) - 1, nowrap);
        let pos = text::grapheme_floor(self.rope(), start + offset.min(len));
        self.view.selection = Selection::point(pos);
        self.view.preferred_col = None;
        self.doc.history.seal();
        self.center_on_cursor();
    }
}

/// `~` and `~/…` as the home directory, as a shell would; anything else as typed.
pub(super) fn expand_home(input: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    match input.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(input)),
        Some(rest) if rest.starts_with('/') => {
            home().map_or_else(|| PathBuf::from(input), |h| h.join(&rest[1..]))
        }
        _ => PathBuf::from(input),
    }
}
