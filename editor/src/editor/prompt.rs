//! The one-line prompts on the message line (search, replace, go to, save as) and their line editing.
//!
//! Positions in the prompt's input are char offsets into it.

use std::path::PathBuf;

use super::files::Overwrite;
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
            PromptEdit::DeleteBackward | PromptEdit::DeleteForward => {}
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
    pub(super) fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let cursor = input.chars().count();
        self.mode = Mode::Prompt(Prompt {
            kind,
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
        let current = self.doc.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        self.open_prompt(PromptKind::SaveAs, current);
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
            PromptKind::SaveAs => {
                if p.input.trim().is_empty() {
                    return self.info("not saved");
                }
                self.doc.path = Some(PathBuf::from(p.input.trim()));
                self.doc.disk = None;
                self.write_file(Overwrite::Ask);
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
        let pos = text::grapheme_floor(self.rope(), start + (col.max(1) - 1).min(len));
        self.view.selection = Selection::point(pos);
        self.view.preferred_col = None;
        self.doc.history.seal();
        self.center_on_cursor();
    }
}
