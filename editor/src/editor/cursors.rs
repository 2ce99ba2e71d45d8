//! Multiple cursors: the primary cursor is the view's selection, the others sit beside it and are mapped through
//! every edit. A command runs at every cursor through [`Editor::each_cursor`]: from the last cursor to the first,
//! so an edit never moves a cursor not yet visited, as one undo step and one group of pending edits (one CRDT
//! transaction in a shared document).
//!
//! All positions are char offsets into the buffer.

use std::ops::Range;

use ropey::Rope;

use super::{Editor, Effect};
use crate::history::ChangeKind;
use crate::search::{Found, Query, SearchOptions};
use crate::selection::Selection;
use crate::text;

impl Editor {
    /// Every cursor, the primary first.
    pub fn cursors(&self) -> Vec<Selection> {
        std::iter::once(self.view.selection).chain(self.view.others.iter().copied()).collect()
    }

    /// The cursors besides the primary one.
    pub fn other_cursors(&self) -> &[Selection] {
        &self.view.others
    }

    /// Runs `op` at every cursor, as one undo step; with a single cursor it simply runs `op`.
    pub fn each_cursor(&mut self, mut op: impl FnMut(&mut Editor)) {
        if self.view.others.is_empty() {
            return op(self);
        }
        let primary = self.view.selection;
        let mut all = self.cursors();
        all.sort_by_key(|s| std::cmp::Reverse((s.range().start, s.range().end)));
        let primary_at = all.iter().position(|s| *s == primary).unwrap_or(0);
        let viewport = self.view.viewport;
        // The cursors wait in `others`, where every edit maps them.
        self.view.others = all;
        self.batch(|ed| {
            for i in 0..ed.view.others.len() {
                ed.view.selection = ed.view.others[i];
                ed.view.preferred_col = None;
                op(ed);
                ed.view.others[i] = ed.view.selection;
            }
        });
        let mut all = std::mem::take(&mut self.view.others);
        self.view.selection = all.remove(primary_at);
        self.view.others = all;
        self.view.viewport = viewport;
        self.normalize_cursors();
        self.scroll_to_cursor();
    }

    /// Sorts the cursors and merges those that touch, keeping the primary one primary.
    pub(super) fn normalize_cursors(&mut self) {
        if self.view.others.is_empty() {
            return;
        }
        let primary = self.view.selection;
        let mut all = self.cursors();
        all.sort_by_key(|s| (s.range().start, s.range().end));
        let mut merged: Vec<Selection> = Vec::with_capacity(all.len());
        for s in all {
            match merged.last_mut() {
                Some(last) if overlaps(last.range(), s.range()) => {
                    if s == primary {
                        *last = s;
                    }
                }
                _ => merged.push(s),
            }
        }
        let at = merged
            .iter()
            .position(|s| *s == primary)
            .or_else(|| merged.iter().position(|s| s.range().contains(&primary.head)))
            .unwrap_or(0);
        self.view.selection = merged.remove(at);
        self.view.others = merged;
    }

    /// Drops every cursor but the primary one.
    pub fn clear_cursors(&mut self) {
        self.view.others.clear();
    }

    /// Adds a cursor one row below the lowest cursor (or above the highest), at the same column; it becomes the
    /// primary one.
    pub fn add_cursor_vertically(&mut self, direction: VerticalAdd) {
        let all = self.cursors();
        let from = match direction {
            VerticalAdd::Below => all.iter().map(|s| s.head).max(),
            VerticalAdd::Above => all.iter().map(|s| s.head).min(),
        };
        let Some(from) = from else { return };
        let (line, row, col) = self.visual(from);
        let target = match direction {
            VerticalAdd::Below => self.advance_rows((line, row), 1),
            VerticalAdd::Above => self.retreat_rows((line, row), 1),
        };
        if target == (line, row) {
            return self.info("no line to add a cursor on");
        }
        let pos = self.pos_at_row(target, col);
        self.push_primary(Selection::point(pos));
    }

    /// Selects the word under the cursor, or with a selection adds a cursor selecting its next occurrence
    /// (wrapping around the buffer).
    pub fn add_next_match(&mut self) {
        let sel = self.view.selection;
        if sel.is_empty() {
            let word = word_at(self.rope(), sel.head);
            if word.is_empty() {
                return self.info("no word under the cursor");
            }
            self.view.selection = Selection { anchor: word.start, head: word.end };
            return self.scroll_to_cursor();
        }
        let needle: String = self.rope().slice(sel.range()).into();
        let options = SearchOptions { regex: false, ignore_case: false };
        let Ok(query) = Query::new(&needle, options) else { return };
        let taken = self.cursors();
        let mut from = sel.range().end;
        for _ in 0..=taken.len() {
            let Found::Match(start, end) = query.find_next(self.rope(), from, usize::MAX) else {
                return self.info("no other match");
            };
            if !taken.iter().any(|s| s.range() == (start..end)) {
                return self.push_primary(Selection { anchor: start, head: end });
            }
            from = end;
        }
        self.info("every match has a cursor");
    }

    /// Adds a cursor at `pos`, or removes the cursor there (Alt-click).
    pub fn toggle_cursor_at(&mut self, pos: usize) {
        let pos = pos.min(self.rope().len_chars());
        if let Some(i) = self.view.others.iter().position(|s| s.head == pos) {
            self.view.others.remove(i);
            return;
        }
        if self.view.selection.head == pos {
            if !self.view.others.is_empty() {
                self.view.selection = self.view.others.remove(0);
            }
            return;
        }
        self.push_primary(Selection::point(pos));
    }

    fn push_primary(&mut self, selection: Selection) {
        let old = std::mem::replace(&mut self.view.selection, selection);
        self.view.others.push(old);
        self.normalize_cursors();
        self.doc.history.seal();
        self.scroll_to_cursor();
        let n = self.view.others.len() + 1;
        self.info(format!("{n} cursors (Esc keeps one)"));
    }

    /// Copies the text of every cursor's selection (or line): one piece per cursor, joined by line breaks, so
    /// that pasting with as many cursors gives each its own piece.
    pub fn copy_each(&mut self) {
        if self.view.others.is_empty() {
            return self.copy();
        }
        let mut pieces = Vec::new();
        let mut all = self.cursors();
        all.sort_by_key(|s| s.range().start);
        for s in all {
            let range = self.with_selection(s, Editor::selected_or_line);
            pieces.push(String::from(self.rope().slice(range)));
        }
        self.clipboard = pieces.join("\n");
        if self.clipboard.len() <= super::edit::OSC52_LIMIT {
            self.effects.push(Effect::Clipboard(self.clipboard.clone()));
        }
        self.clipboard_pieces = pieces;
        self.info(format!("copied {} selections", self.clipboard_pieces.len()));
    }

    /// Cuts every cursor's selection (or line), as [`Editor::copy_each`] copies them.
    pub fn cut_each(&mut self) {
        if self.view.others.is_empty() {
            return self.cut();
        }
        self.copy_each();
        let before = self.rope().len_chars();
        self.each_cursor(|ed| {
            let range = ed.selected_or_line();
            ed.delete_range(range, ChangeKind::Other);
        });
        if self.rope().len_chars() < before {
            let n = self.clipboard_pieces.len();
            self.info(format!("cut {} chars ({n} selections)", before - self.rope().len_chars()));
        }
    }

    /// Pastes at every cursor: each its own piece when the clipboard was copied from as many cursors, else all of
    /// it at each.
    pub fn paste_each(&mut self) {
        if self.view.others.is_empty() {
            return self.paste_clipboard();
        }
        let pieces = self.clipboard_pieces.clone();
        let whole = self.clipboard.clone();
        if whole.is_empty() {
            return self.info("clipboard is empty");
        }
        let distribute = pieces.len() == self.view.others.len() + 1 && pieces.join("\n") == whole;
        // each_cursor visits the cursors from the last to the first.
        let mut next = pieces.into_iter().rev();
        self.each_cursor(|ed| {
            let text = if distribute { next.next().unwrap_or_default() } else { whole.clone() };
            ed.replace_selection(&text, ChangeKind::Other);
        });
    }

    /// Runs `f` with `selection` as the primary selection, then puts the primary selection back.
    fn with_selection<R>(&mut self, selection: Selection, f: impl FnOnce(&Editor) -> R) -> R {
        let saved = std::mem::replace(&mut self.view.selection, selection);
        let result = f(self);
        self.view.selection = saved;
        result
    }

    /// Selects the word at `pos` (double click).
    pub fn select_word_at(&mut self, pos: usize) {
        let word = word_at(self.rope(), pos);
        let word = if word.is_empty() { pos..text::next_grapheme(self.rope(), pos) } else { word };
        self.view.selection = Selection { anchor: word.start, head: word.end };
        self.doc.history.seal();
        self.scroll_to_cursor();
    }

    /// Selects the line at `pos`, with its line break (triple click).
    pub fn select_line_at(&mut self, pos: usize) {
        let line = self.rope().char_to_line(pos.min(self.rope().len_chars()));
        let start = self.rope().line_to_char(line);
        let end = if line + 1 < self.rope().len_lines() {
            self.rope().line_to_char(line + 1)
        } else {
            self.rope().len_chars()
        };
        self.view.selection = Selection { anchor: start, head: end };
        self.doc.history.seal();
        self.scroll_to_cursor();
    }
}

/// Where [`Editor::add_cursor_vertically`] adds a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerticalAdd {
    /// Below the lowest cursor.
    Below,
    /// Above the highest cursor.
    Above,
}

fn overlaps(a: Range<usize>, b: Range<usize>) -> bool {
    b.start < a.end || a == b || (a.is_empty() && b.start == a.start)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The run of word characters (letters, digits, `_`) around `pos`; empty when there is none.
pub(crate) fn word_at(rope: &Rope, pos: usize) -> Range<usize> {
    let pos = pos.min(rope.len_chars());
    let mut start = pos;
    let mut back = rope.chars_at(pos);
    while back.prev().is_some_and(is_word_char) {
        start -= 1;
    }
    let mut end = pos;
    let mut forward = rope.chars_at(pos);
    while forward.next().is_some_and(is_word_char) {
        end += 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::tests::{ed, run, state};

    /// The text with every cursor marked `|`.
    fn marked(e: &Editor) -> String {
        let mut heads: Vec<usize> = e.cursors().iter().map(|s| s.head).collect();
        heads.sort();
        let mut out = String::new();
        for (i, c) in e.rope().chars().enumerate() {
            out.extend(heads.iter().filter(|h| **h == i).map(|_| '|'));
            out.push(c);
        }
        out.extend(heads.iter().filter(|h| **h == e.rope().len_chars()).map(|_| '|'));
        out
    }

    #[test]
    fn typing_deleting_and_undo_work_at_every_cursor() {
        let mut e = ed("|ab\ncd\nef");
        run(&mut e, "<alt-shift-down><alt-shift-down>");
        assert_eq!(marked(&e), "|ab\n|cd\n|ef");
        run(&mut e, "xy");
        assert_eq!(marked(&e), "xy|ab\nxy|cd\nxy|ef");
        run(&mut e, "<backspace>");
        assert_eq!(marked(&e), "x|ab\nx|cd\nx|ef");
        run(&mut e, "<end>!");
        assert_eq!(marked(&e), "xab!|\nxcd!|\nxef!|");
        run(&mut e, "<ctrl-z>");
        assert_eq!(e.rope().to_string(), "xab\nxcd\nxef", "one undo step for all cursors");
        assert_eq!(e.cursors().len(), 3);
        run(&mut e, "<esc>");
        assert_eq!(e.cursors().len(), 1);
    }

    #[test]
    fn pending_edits_of_one_keystroke_at_every_cursor_are_one_group() {
        let mut e = ed("|a\nb");
        run(&mut e, "<alt-shift-down>");
        e.take_pending_edits();
        run(&mut e, "xy");
        let groups = e.take_pending_groups();
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2]);
    }

    #[test]
    fn next_match_selects_the_word_then_adds_its_occurrences() {
        let mut e = ed("fo|o bar foo baz foo");
        run(&mut e, "<ctrl-d>");
        assert_eq!(state(&e), "^foo| bar foo baz foo");
        run(&mut e, "<ctrl-d><ctrl-d><ctrl-d>");
        assert_eq!(e.cursors().len(), 3);
        run(&mut e, "Q");
        assert_eq!(e.rope().to_string(), "Q bar Q baz Q");
    }

    #[test]
    fn copy_and_paste_give_each_cursor_its_own_piece() {
        let mut e = ed("|one\ntwo\n");
        run(&mut e, "<alt-shift-down><shift-end><ctrl-c><end> <ctrl-v>");
        assert_eq!(e.rope().to_string(), "one one\ntwo two\n");
        let mut e = ed("|a b");
        e.toggle_cursor_at(2);
        e.set_clipboard("Z".into());
        run(&mut e, "<ctrl-v>");
        assert_eq!(marked(&e), "Z|a Z|b");
    }

    #[test]
    fn cursors_that_meet_merge() {
        let mut e = ed("|ab");
        e.toggle_cursor_at(1);
        run(&mut e, "<backspace><backspace>");
        assert_eq!(marked(&e), "|b");
        assert_eq!(e.cursors().len(), 1);
    }

    #[test]
    fn words_and_lines_under_the_mouse() {
        let mut e = ed("|hello wörld_1 end\nnext");
        e.select_word_at(8);
        assert_eq!(e.selection(), Selection { anchor: 6, head: 13 });
        e.select_line_at(3);
        assert_eq!(e.selection(), Selection { anchor: 0, head: 18 });
    }
}
