//! The text of a document on a rope, and the single place where it changes.
//!
//! All positions are char offsets into the buffer.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use ropey::Rope;

use crate::layout::{self, LayoutOptions};
use crate::long_layout::{LineWindow, LongLines};
use crate::text::{Edit, LineEnding, content_len, line_text};

/// Lines at least this long (in bytes) are checked for the plain-line fast path ([`Buffer::plain_long_line`]).
pub const LONG_LINE_BYTES: usize = 64 * 1024;

/// Whether `text` keeps a line plain: ASCII, no tab, no line break.
fn plain(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii() && !matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Who made an edit: local edits are queued for the collaborative layer, remote ones came from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EditSource {
    /// Made in this editor (typing, undo, reload).
    Local,
    /// Made elsewhere and already in the CRDT.
    Remote,
}

/// Whether local edits are grouped by command (see [`Buffer::take_pending_groups`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grouping {
    /// Every edit is its own group.
    EachEdit,
    /// The edits until the next change of grouping are one command's.
    OneCommand,
}

/// Lines touched by one edit, for caches keyed by line number (the highlighter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineDamage {
    /// First line that changed.
    pub line: usize,
    /// Lines after `line` whose line breaks were removed.
    pub removed: usize,
    /// Lines after `line` created by inserted line breaks.
    pub added: usize,
}

/// The local edits of one command, as the collaborative layer takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCommand {
    /// The edits, in order (one per cursor).
    pub edits: Vec<Edit>,
    /// The command opened an undo step: the shared document's undo starts a new step with it.
    pub new_undo_step: bool,
}

/// Most damage records kept between two frames; past that a consumer re-derives everything from the first line.
const MAX_DAMAGE: usize = 64;

/// A rope plus the edits applied to it that the collaborative layer has not yet consumed.
pub struct Buffer {
    rope: Rope,
    pending: Vec<Edit>,
    /// Index in `pending` where each command's edits start: the edits of one command (one keystroke typed at
    /// several cursors) form one group, which the collaborative layer sends as one transaction.
    group_starts: Vec<usize>,
    /// A command that edits at several places is running: its edits join one group.
    grouping: bool,
    /// Index in `pending` of each edit that opened an undo step (the shared document's undo mirrors them).
    step_starts: Vec<usize>,
    /// The char range of the content of a long line known to be plain (see [`Buffer::plain_long_line`]), kept
    /// through edits that keep it plain so that typing in it never rescans it.
    plain_long: Cell<Option<Range<usize>>>,
    /// Layout checkpoints of the long lines laid out lately (see [`crate::long_layout`]).
    long_lines: RefCell<LongLines>,
    damage: Vec<LineDamage>,
    damage_overflow: Option<usize>,
    line_ending: LineEnding,
}

impl Buffer {
    /// Wraps a rope; the line ending is detected from its first line.
    pub fn new(rope: Rope) -> Self {
        let line_ending = LineEnding::detect(&rope);
        Buffer {
            rope,
            pending: Vec::new(),
            group_starts: Vec::new(),
            grouping: false,
            step_starts: Vec::new(),
            plain_long: Cell::new(None),
            long_lines: RefCell::new(LongLines::default()),
            damage: Vec::new(),
            damage_overflow: None,
            line_ending,
        }
    }

    /// The text.
    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The line ending used for new lines.
    pub fn line_ending(&self) -> LineEnding {
        self.line_ending
    }

    /// Applies `edit` to the rope; the only function that mutates the text. Returns the removed text, or `None`
    /// when the range is out of bounds (the buffer is then unchanged).
    pub(crate) fn splice(&mut self, edit: &Edit, source: EditSource) -> Option<String> {
        let len = self.rope.len_chars();
        if edit.range.start > edit.range.end || edit.range.end > len {
            return None;
        }
        let removed_slice = self.rope.slice(edit.range.clone());
        let removed: String = removed_slice.into();
        let line = self.rope.char_to_line(edit.range.start);
        let removed_lines = self.rope.char_to_line(edit.range.end) - line;
        self.rope.remove(edit.range.clone());
        self.rope.insert(edit.range.start, &edit.text);
        self.keep_plain_long(edit);
        self.long_lines.get_mut().edited(&self.rope, edit);
        let added = self.rope.char_to_line(edit.range.start + edit.inserted_len()) - line;
        self.note_damage(LineDamage { line, removed: removed_lines, added });
        if source == EditSource::Local {
            if !self.grouping {
                self.group_starts.push(self.pending.len());
            }
            self.pending.push(edit.clone());
        }
        Some(removed)
    }

    /// Whether line `idx` is long (at least [`LONG_LINE_BYTES`]) and plain: ASCII without tabs, so that laid out
    /// on one row each char takes one cell and its column is its offset. Layout of such a line (a 50 MB minified
    /// file) then needs no scan from its start. The answer for the last long line asked about is kept through
    /// edits, so a keystroke in it costs no scan either.
    pub fn plain_long_line(&self, idx: usize) -> bool {
        let line = self.rope.line(idx);
        if line.len_bytes() < LONG_LINE_BYTES {
            return false;
        }
        let start = self.rope.line_to_char(idx);
        let content = start..start + crate::text::content_len(line);
        let known = self.plain_long.take();
        if known.as_ref() == Some(&content) {
            self.plain_long.set(known);
            return true;
        }
        let is_plain = line.slice(..content.end - start).chunks().all(plain);
        self.plain_long.set(if is_plain { Some(content) } else { known });
        is_plain
    }

    /// Whether line `idx` is laid out from checkpoints rather than from its start (see [`crate::long_layout`]).
    fn is_long(&self, idx: usize) -> bool {
        self.rope.line(idx).len_bytes() >= LONG_LINE_BYTES
    }

    /// A long plain line without wrap: its columns are its offsets (see [`Buffer::plain_long_line`]).
    fn columns_are_offsets(&self, idx: usize, opts: LayoutOptions) -> bool {
        opts.wrap.is_none() && self.plain_long_line(idx)
    }

    /// Visual (row, column) of char `offset` in line `idx` (see [`layout::position_of`]); a long line is laid
    /// out only from a checkpoint near `offset`.
    pub fn position_of(&self, idx: usize, offset: usize, opts: LayoutOptions) -> (usize, usize) {
        if self.columns_are_offsets(idx, opts) {
            (0, offset)
        } else if self.is_long(idx) {
            self.long_lines.borrow_mut().position_of(&self.rope, idx, offset, opts)
        } else {
            layout::position_of(&line_text(&self.rope, idx), offset, opts)
        }
    }

    /// Char offset in line `idx` displayed at (`row`, `col`) (see [`layout::offset_at`]).
    pub fn offset_at(&self, idx: usize, row: usize, col: usize, opts: LayoutOptions) -> usize {
        if self.columns_are_offsets(idx, opts) {
            col.min(content_len(self.rope.line(idx)))
        } else if self.is_long(idx) {
            self.long_lines.borrow_mut().offset_at(&self.rope, idx, row, col, opts)
        } else {
            layout::offset_at(&line_text(&self.rope, idx), row, col, opts)
        }
    }

    /// Visual rows of line `idx` (see [`layout::row_count`]). A long line with soft wrap is laid out to its end
    /// (once, until it is edited): [`Buffer::has_row`] answers most questions without that.
    pub fn row_count(&self, idx: usize, opts: LayoutOptions) -> usize {
        if opts.wrap.is_none() {
            1
        } else if self.is_long(idx) {
            self.long_lines.borrow_mut().row_count(&self.rope, idx, opts)
        } else {
            layout::row_count(&line_text(&self.rope, idx), opts)
        }
    }

    /// Whether line `idx` has a visual row `row`, laying out a long line only up to that row.
    pub fn has_row(&self, idx: usize, row: usize, opts: LayoutOptions) -> bool {
        if opts.wrap.is_none() || row == 0 {
            row == 0
        } else if self.is_long(idx) {
            self.long_lines.borrow_mut().has_row(&self.rope, idx, row, opts)
        } else {
            row < layout::row_count(&line_text(&self.rope, idx), opts)
        }
    }

    /// The text of line `idx` to lay out for a screen showing it from (`row`, `col`) on, `size` = (rows, columns)
    /// of cells: the whole line when it is short, otherwise a window from a checkpoint before (`row`, `col`) to a
    /// little past the last cell.
    pub fn layout_window(
        &self,
        idx: usize,
        opts: LayoutOptions,
        at: (usize, usize),
        size: (usize, usize),
    ) -> LineWindow<'_> {
        if self.columns_are_offsets(idx, opts) {
            let start = self.rope.line_to_char(idx);
            let len = content_len(self.rope.line(idx));
            let from = at.1.min(len);
            let to = (from + size.1 + 1).min(len);
            let text = self.rope.slice(start + from..start + to).to_string().into();
            let from = layout::Resume { offset: from, row: 0, col: from };
            LineWindow { text, from, to }
        } else if self.is_long(idx) {
            self.long_lines.borrow_mut().window(&self.rope, idx, opts, at, size)
        } else {
            let text = line_text(&self.rope, idx);
            let to = content_len(self.rope.line(idx));
            LineWindow { text, from: layout::Resume::default(), to }
        }
    }

    /// Keeps the known plain long line's range in step with `edit` (just applied), or forgets it when the edit
    /// may have made it something else.
    fn keep_plain_long(&mut self, edit: &Edit) {
        let Some(known) = self.plain_long.take() else { return };
        let inserted = edit.inserted_len();
        let removed = edit.range.len();
        let kept = if edit.range.end < known.start {
            // Before the line (an edit ending right at its start may join it to the previous line).
            Some(known.start + inserted - removed..known.end + inserted - removed)
        } else if edit.range.start > known.end {
            Some(known)
        } else if edit.range.start >= known.start
            && edit.range.end <= known.end
            && plain(&edit.text)
        {
            Some(known.start..known.end + inserted - removed)
        } else {
            None
        };
        self.plain_long.set(kept);
    }

    fn note_damage(&mut self, damage: LineDamage) {
        if let Some(first) = self.damage_overflow.as_mut() {
            *first = (*first).min(damage.line);
        } else if self.damage.len() >= MAX_DAMAGE {
            let first = self.damage.iter().map(|d| d.line).min().unwrap_or(damage.line);
            self.damage_overflow = Some(first.min(damage.line));
            self.damage.clear();
        } else {
            self.damage.push(damage);
        }
    }

    /// Local edits applied since the last call, in order, for the collaborative layer to mirror.
    pub fn take_pending_edits(&mut self) -> Vec<Edit> {
        self.group_starts.clear();
        self.step_starts.clear();
        std::mem::take(&mut self.pending)
    }

    /// The last pending edit opened an undo step (history said so when it recorded it).
    pub(crate) fn mark_undo_step(&mut self) {
        if let Some(last) = self.pending.len().checked_sub(1) {
            self.step_starts.push(last);
        }
    }

    /// [`Buffer::take_pending_edits`] in groups, one per command: the edits one keystroke made at every cursor.
    pub fn take_pending_groups(&mut self) -> Vec<Vec<Edit>> {
        self.take_pending_commands().into_iter().map(|c| c.edits).collect()
    }

    /// [`Buffer::take_pending_groups`] with, for each command, whether it opened an undo step.
    pub fn take_pending_commands(&mut self) -> Vec<PendingCommand> {
        let starts = std::mem::take(&mut self.group_starts);
        let steps = std::mem::take(&mut self.step_starts);
        let mut edits = std::mem::take(&mut self.pending);
        let mut groups = Vec::with_capacity(starts.len());
        for &start in starts.iter().rev() {
            let start = start.min(edits.len());
            let new_undo_step = steps.iter().any(|&s| s >= start && s < edits.len());
            groups.push(PendingCommand { edits: edits.split_off(start), new_undo_step });
        }
        groups.retain(|g| !g.edits.is_empty());
        groups.reverse();
        groups
    }

    /// Starts or ends a command whose local edits form one group.
    pub(crate) fn set_grouping(&mut self, grouping: Grouping) {
        self.grouping = grouping == Grouping::OneCommand;
        if self.grouping {
            // The command's first edit starts a new group even when the previous one is still open.
            self.group_starts.push(self.pending.len());
        }
    }

    /// Line damage since the last call. `Err(line)` means "too many edits: everything from `line` on changed".
    pub fn take_damage(&mut self) -> Result<Vec<LineDamage>, usize> {
        match self.damage_overflow.take() {
            Some(line) => Err(line),
            None => Ok(std::mem::take(&mut self.damage)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_records_pending_and_damage() {
        let mut b = Buffer::new(Rope::from_str("ab\ncd\nef"));
        assert_eq!(
            b.splice(&Edit { range: 1..4, text: "X\nY\nZ".into() }, EditSource::Local),
            Some("b\nc".into())
        );
        assert_eq!(b.rope().to_string(), "aX\nY\nZd\nef");
        assert_eq!(b.take_pending_edits(), vec![Edit { range: 1..4, text: "X\nY\nZ".into() }]);
        assert_eq!(b.take_damage(), Ok(vec![LineDamage { line: 0, removed: 1, added: 2 }]));
        assert_eq!(b.splice(&Edit::insert(99, "x"), EditSource::Local), None);
        assert!(b.splice(&Edit::insert(0, "r"), EditSource::Remote).is_some());
        assert!(b.take_pending_edits().is_empty());
    }

    #[test]
    fn edits_of_one_command_form_one_group() {
        let mut b = Buffer::new(Rope::from_str("a b c"));
        b.splice(&Edit::insert(0, "1"), EditSource::Local);
        b.set_grouping(Grouping::OneCommand);
        b.splice(&Edit::insert(6, "x"), EditSource::Local);
        b.splice(&Edit::insert(4, "x"), EditSource::Local);
        b.set_grouping(Grouping::EachEdit);
        b.splice(&Edit::insert(0, "2"), EditSource::Local);
        b.splice(&Edit::insert(0, "3"), EditSource::Local);
        let sizes: Vec<usize> = b.take_pending_groups().iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 2, 1, 1]);
        assert!(b.take_pending_groups().is_empty());
    }

    #[test]
    fn a_plain_long_line_is_known_through_plain_edits_and_forgotten_otherwise() {
        let known = |b: &Buffer| {
            let k = b.plain_long.take();
            b.plain_long.set(k.clone());
            k
        };
        let long = "x".repeat(LONG_LINE_BYTES);
        let mut b = Buffer::new(Rope::from_str(&format!("short\n{long}\nend")));
        assert!(!b.plain_long_line(0), "short lines never take the fast path");
        assert!(b.plain_long_line(1));
        b.splice(&Edit::insert(6 + 10, "typed"), EditSource::Local);
        assert_eq!(known(&b), Some(6..6 + LONG_LINE_BYTES + 5));
        b.splice(&Edit::insert(0, "before "), EditSource::Remote);
        assert!(b.plain_long_line(1));
        b.splice(&Edit::insert(20, "\t"), EditSource::Local);
        assert_eq!(known(&b), None, "a tab ends it");
        assert!(!b.plain_long_line(1));
        let mut b = Buffer::new(Rope::from_str(&format!("{long}é")));
        assert!(!b.plain_long_line(0), "not ASCII");
        b.splice(&Edit::delete(LONG_LINE_BYTES..LONG_LINE_BYTES + 1), EditSource::Local);
        assert!(b.plain_long_line(0));
    }
}
