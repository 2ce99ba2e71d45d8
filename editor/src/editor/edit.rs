//! The two ways text changes — a local edit (recorded, queued for the collaborative layer) and a remote one — and
//! the editing operations built on them: typing, deleting, undo, the clipboard.
//!
//! All positions are char offsets into the buffer.

use std::ops::Range;

use super::prompt::PromptEdit;
use super::{Editor, Effect, Message, MessageKind, Mode};
use crate::buffer::{EditSource, Grouping};
use crate::history::{Change, ChangeKind, Step};
use crate::selection::Selection;
use crate::text::{self, Assoc, Edit, LineEnding};

/// Largest text sent to the terminal's clipboard through OSC 52; terminals refuse much more.
pub(super) const OSC52_LIMIT: usize = 1 << 20;

impl Editor {
    // ----- the two ways text changes -----

    /// Applies a local edit: the buffer changes, the edit is queued for the collaborative layer, history records
    /// it and the selection becomes `after`. Refused when read-only.
    pub(super) fn apply_local(&mut self, edit: Edit, after: Selection, kind: ChangeKind) -> bool {
        if let Some(reason) = &self.doc.read_only {
            self.message =
                Some(Message { text: format!("read-only: {reason}"), kind: MessageKind::Error });
            return false;
        }
        let before = self.view.selection;
        let Some(removed) = self.doc.buffer.splice(&edit, EditSource::Local) else { return false };
        self.map_positions(&edit);
        self.view.selection = after;
        // The edits of one command at several cursors are one undo step.
        let kind = if self.batching { ChangeKind::Batch } else { kind };
        if self.doc.history.record(Change { edit, removed, before, after, kind }) == Step::New {
            self.doc.buffer.mark_undo_step();
        }
        true
    }

    /// Applies an edit made elsewhere (a remote peer): not recorded in local history nor queued as pending; the
    /// cursor, marks and viewport are mapped through it. Returns false when the range is out of bounds.
    pub fn apply_remote(&mut self, edit: Edit) -> bool {
        let top_char = self.rope().line_to_char(self.view.viewport.top_line);
        if self.doc.buffer.splice(&edit, EditSource::Remote).is_none() {
            return false;
        }
        self.view.selection = self.view.selection.map(&edit);
        self.map_positions(&edit);
        self.normalize_cursors();
        let top = edit.map_pos(top_char, Assoc::Before);
        let top_line = self.rope().char_to_line(top);
        if top_line != self.view.viewport.top_line {
            self.view.viewport.top_line = top_line;
            self.view.viewport.top_row = 0;
        }
        self.doc.history.remote_edit(&edit);
        true
    }

    /// Replaces the selection with `text` and puts the cursor after it.
    pub(super) fn replace_selection(&mut self, text: &str, kind: ChangeKind) {
        let range = self.view.selection.range();
        let end = range.start + text.chars().count();
        if self.apply_local(Edit { range, text: text.to_owned() }, Selection::point(end), kind) {
            self.after_change();
        }
    }

    /// Moves everything that points into the text through `edit`: marks, the other cursors, parked views.
    pub(super) fn map_positions(&mut self, edit: &Edit) {
        let map = edit.pos_mapper(Assoc::After);
        self.doc.marks.iter_mut().for_each(|m| *m = map(*m));
        self.view.others.iter_mut().for_each(|s| *s = s.map(edit));
        self.views.map(edit);
    }

    pub(super) fn after_change(&mut self) {
        self.view.preferred_col = None;
        self.scroll_to_cursor();
    }

    pub(super) fn delete_range(&mut self, range: Range<usize>, kind: ChangeKind) {
        if range.is_empty() {
            return;
        }
        let start = range.start;
        if self.apply_local(Edit::delete(range), Selection::point(start), kind) {
            self.after_change();
        }
    }

    /// Inserts text pasted by the terminal (bracketed paste), with its line breaks converted to the buffer's.
    pub fn paste(&mut self, text: &str) {
        if matches!(self.mode, Mode::Prompt(_)) {
            let line = text.lines().next().unwrap_or_default();
            return self.edit_prompt(PromptEdit::Insert(line.to_owned()));
        }
        let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = match self.doc.buffer.line_ending() {
            LineEnding::Lf => normalized,
            LineEnding::CrLf => normalized.replace('\n', "\r\n"),
        };
        self.doc.history.seal();
        self.replace_selection(&text, ChangeKind::Other);
    }

    // ----- editing commands -----

    /// Types `c` over the selection.
    pub fn type_char(&mut self, c: char) {
        let kind = if c.is_whitespace() { ChangeKind::TypeSpace } else { ChangeKind::TypeWord };
        self.replace_selection(c.encode_utf8(&mut [0; 4]), kind);
    }

    /// Inserts a line break and the current line's indentation.
    pub fn newline(&mut self) {
        let head = self.view.selection.range().start;
        let line = self.rope().char_to_line(head);
        let start = self.rope().line_to_char(line);
        let indent: String = self
            .rope()
            .slice(start..head)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let text = format!("{}{indent}", self.doc.buffer.line_ending().as_str());
        self.replace_selection(&text, ChangeKind::TypeSpace);
    }

    /// Inserts a tab, or spaces to the next tab stop.
    pub fn indent(&mut self) {
        // A selection is never replaced by a tab: its lines are indented.
        if !self.view.selection.is_empty() {
            return self.indent_lines();
        }
        if !self.view.options.insert_spaces {
            return self.replace_selection("\t", ChangeKind::TypeSpace);
        }
        let (_, _, col) = self.visual(self.view.selection.range().start);
        let n = self.view.options.tab_width - col % self.view.options.tab_width;
        self.replace_selection(&" ".repeat(n), ChangeKind::TypeSpace);
    }

    /// Deletes the selection or the grapheme before the cursor.
    pub fn backspace(&mut self) {
        if !self.view.selection.is_empty() {
            return self.delete_range(self.view.selection.range(), ChangeKind::Other);
        }
        let head = self.view.selection.head;
        self.delete_range(text::prev_grapheme(self.rope(), head)..head, ChangeKind::DeleteChar);
    }

    /// Deletes the selection or the grapheme after the cursor.
    pub fn delete(&mut self) {
        if !self.view.selection.is_empty() {
            return self.delete_range(self.view.selection.range(), ChangeKind::Other);
        }
        let head = self.view.selection.head;
        self.delete_range(head..text::next_grapheme(self.rope(), head), ChangeKind::DeleteChar);
    }

    /// Deletes back to the previous word start.
    pub fn delete_word_back(&mut self) {
        let head = self.view.selection.head;
        self.delete_range(text::prev_word(self.rope(), head)..head, ChangeKind::Other);
    }

    /// Deletes forward to the next word start.
    pub fn delete_word_fwd(&mut self) {
        let head = self.view.selection.head;
        self.delete_range(head..text::next_word(self.rope(), head), ChangeKind::Other);
    }

    /// Undoes the last step.
    pub fn undo(&mut self) {
        match self.doc.history.undo() {
            Some(r) => self.apply_revert(r.edits, r.selection),
            None => self.info("nothing to undo"),
        }
    }

    /// Redoes the last undone step.
    pub fn redo(&mut self) {
        match self.doc.history.redo() {
            Some(r) => self.apply_revert(r.edits, r.selection),
            None => self.info("nothing to redo"),
        }
    }

    pub(super) fn apply_revert(&mut self, edits: Vec<Edit>, selection: Selection) {
        // One step, one group of pending edits.
        self.doc.buffer.set_grouping(Grouping::OneCommand);
        for edit in &edits {
            // Pending (for the collaborative layer) but not recorded: history already moved this step.
            if self.doc.buffer.splice(edit, EditSource::Local).is_some() {
                self.map_positions(edit);
            }
        }
        self.doc.buffer.set_grouping(Grouping::EachEdit);
        let len = self.rope().len_chars();
        self.view.selection =
            Selection { anchor: selection.anchor.min(len), head: selection.head.min(len) };
        self.normalize_cursors();
        self.after_change();
    }

    pub(super) fn selected_or_line(&self) -> Range<usize> {
        if !self.view.selection.is_empty() {
            return self.view.selection.range();
        }
        let line = self.rope().char_to_line(self.view.selection.head);
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
        self.doc.history.seal();
        let before = self.rope().len_chars();
        self.delete_range(range, ChangeKind::Other);
        // The text is gone: say so, not "copied" (a read-only buffer's refusal stays on the message line).
        if self.rope().len_chars() < before {
            self.info(format!("cut {} chars", before - self.rope().len_chars()));
        }
    }

    /// Pastes the internal clipboard.
    pub fn paste_clipboard(&mut self) {
        let text = self.clipboard.clone();
        if text.is_empty() {
            return self.info("clipboard is empty");
        }
        self.doc.history.seal();
        self.replace_selection(&text, ChangeKind::Other);
    }

    /// Sets the internal clipboard (the front end may fill it from elsewhere).
    pub fn set_clipboard(&mut self, text: String) {
        self.clipboard = text;
    }
}
