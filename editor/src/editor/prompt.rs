//! The one-line prompts on the message line (search, replace, go to, save as) and their line editing.
//!
//! Positions in the prompt's input are char offsets into it.

use std::path::PathBuf;

use super::files::Overwrite;
use super::search::Direction;
use super::view::Viewport;
use super::{Editor, Mode};
use crate::input::{Key, KeyEvent};
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

impl Editor {
    // ----- prompts -----

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

    pub(super) fn prompt_key(&mut self, mut p: Prompt, key: KeyEvent) {
        let byte_at = |s: &str, i: usize| s.char_indices().nth(i).map_or(s.len(), |(b, _)| b);
        let searching = matches!(p.kind, PromptKind::Search | PromptKind::ReplaceFind);
        let mut changed = false;
        match (key.key, key.mods.ctrl, key.mods.alt) {
            (Key::Esc, _, _) => return self.cancel_prompt(p),
            (Key::Enter, _, _) => return self.submit_prompt(p),
            (Key::Char('r'), false, true) | (Key::Char('r'), true, false) if searching => {
                self.search.options.regex = !self.search.options.regex;
                changed = true;
            }
            (Key::Char('c'), false, true) if searching => {
                self.search.options.ignore_case = !self.search.options.ignore_case;
                changed = true;
            }
            (Key::Down | Key::F(3), _, _) | (Key::Char('f' | 'n'), true, false)
                if matches!(p.kind, PromptKind::Search) =>
            {
                self.mode = Mode::Prompt(p);
                return self.search_step(Direction::Forward);
            }
            (Key::Up, _, _) | (Key::Char('p'), true, false)
                if matches!(p.kind, PromptKind::Search) =>
            {
                self.mode = Mode::Prompt(p);
                return self.search_step(Direction::Backward);
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

    pub(super) fn prompt_changed(&mut self, p: Prompt) {
        let incremental = matches!(p.kind, PromptKind::Search);
        let (input, origin) = (p.input.clone(), p.origin);
        self.mode = Mode::Prompt(p);
        if incremental {
            self.search_incremental(&input, origin);
        }
    }

    pub(super) fn cancel_prompt(&mut self, p: Prompt) {
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

    pub(super) fn submit_prompt(&mut self, p: Prompt) {
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
