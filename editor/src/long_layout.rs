//! Layout of long lines from checkpoints, so that a position in a 50 MB line is laid out from a point near it
//! rather than from the line's start (what every frame used to cost: seconds per keystroke).
//!
//! A checkpoint is a glyph's [`Resume`] state, from which [`Glyphs::resume`] lays out exactly: without soft
//! wrap any glyph will do, with soft wrap a glyph that starts a row. They are taken about every [`SPACING`] chars
//! as the line is laid out to answer questions, and kept until an edit in the line drops those the edit may move
//! (at or after the start of the word it touches). The next question lays out again from the last one kept —
//! near the edit, since that is where the cursor is — so a keystroke costs a few thousand chars of layout wherever
//! it lands. Only the first question about a far part of the line (a jump to its end) lays out the way there,
//! once.
//!
//! Offsets are char offsets from the start of the line; rows and columns are cells, as in [`crate::layout`].

use std::borrow::Cow;
use std::ops::ControlFlow;

use ropey::Rope;

use crate::layout::{Glyph, Glyphs, LayoutOptions, Resume};
use crate::text::{Edit, content_len};

/// Chars between two checkpoints.
pub const SPACING: usize = 4096;
/// Chars laid out from one slice of the rope at a time.
const STEP: usize = 64 * 1024;
/// Chars read past what is wanted, so that a grapheme cluster at the end is whole.
const CLUSTER_MARGIN: usize = 64;
/// Long lines whose checkpoints are kept (one per view option set, so splits with other widths do not evict).
const MAX_ENTRIES: usize = 4;

/// The checkpoints of one line under one set of layout options.
#[derive(Debug)]
struct Entry {
    /// Char offset of the line's start in the buffer.
    start: usize,
    opts: LayoutOptions,
    /// Ascending; the first is the line's start.
    checkpoints: Vec<Resume>,
    /// Where the line ends (just after its last glyph, as [`crate::layout::position_of`] says), once laid out to it.
    end: Option<(usize, usize)>,
}

/// Checkpoints of the long lines asked about most recently.
#[derive(Debug, Default)]
pub struct LongLines {
    entries: Vec<Entry>,
}

/// The part of a long line to lay out for a screen: `text` starts at the glyph `from`.
#[derive(Debug)]
pub struct LineWindow<'a> {
    /// The text from `from` to a little past the last cell asked for.
    pub text: Cow<'a, str>,
    /// Where `text` starts.
    pub from: Resume,
    /// Char offset in the line where `text` ends.
    pub to: usize,
}

impl LongLines {
    /// Visual (row, column) of char `offset` in line `line` (see [`crate::layout::position_of`]).
    pub fn position_of(
        &mut self,
        rope: &Rope,
        line: usize,
        offset: usize,
        opts: LayoutOptions,
    ) -> (usize, usize) {
        let entry = self.entry(rope, line, opts);
        let from = entry.before(|c| c.offset <= offset);
        let found = entry.walk(rope, from, |g| {
            if g.offset + g.chars > offset {
                ControlFlow::Break((g.row, g.col))
            } else {
                ControlFlow::Continue(())
            }
        });
        found.unwrap_or_else(|| entry.end.unwrap_or_default())
    }

    /// Char offset displayed at (`row`, `col`) of line `line` (see [`crate::layout::offset_at`]).
    pub fn offset_at(
        &mut self,
        rope: &Rope,
        line: usize,
        row: usize,
        col: usize,
        opts: LayoutOptions,
    ) -> usize {
        let entry = self.entry(rope, line, opts);
        let from = entry.before(|c| (c.row, c.col) <= (row, col));
        let mut prev: Option<(usize, usize)> = None;
        let found = entry.walk(rope, from, |g| {
            if g.row > row {
                let on_row = prev.filter(|p| p.0 == row).map(|p| p.1);
                return ControlFlow::Break(on_row.unwrap_or(g.offset));
            }
            if g.row == row && col < g.col + g.width {
                return ControlFlow::Break(g.offset);
            }
            prev = Some((g.row, g.offset));
            ControlFlow::Continue(())
        });
        found.unwrap_or_else(|| content_len(rope.line(line)))
    }

    /// Whether line `line` has a visual row `row` (row 0 always exists).
    pub fn has_row(&mut self, rope: &Rope, line: usize, row: usize, opts: LayoutOptions) -> bool {
        let entry = self.entry(rope, line, opts);
        if let Some(end) = entry.end {
            return row < end_rows(end, opts);
        }
        let from = entry.before(|c| c.row <= row);
        let found = entry.walk(rope, from, |g| {
            if g.row >= row { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        found.is_some() || entry.end.is_some_and(|end| row < end_rows(end, opts))
    }

    /// Visual rows of line `line` (see [`crate::layout::row_count`]); lays out to the line's end once.
    pub fn row_count(&mut self, rope: &Rope, line: usize, opts: LayoutOptions) -> usize {
        let entry = self.entry(rope, line, opts);
        if entry.end.is_none() {
            let from = *entry.checkpoints.last().unwrap_or(&Resume::default());
            entry.walk(rope, from, |_| ControlFlow::<()>::Continue(()));
        }
        entry.end.map_or(1, |end| end_rows(end, opts))
    }

    /// The text of line `line` to lay out for the cells from (`row`, `col`) on, `rows` rows down (with soft wrap)
    /// or `cols` columns across (without).
    pub fn window(
        &mut self,
        rope: &Rope,
        line: usize,
        opts: LayoutOptions,
        (row, col): (usize, usize),
        (rows, cols): (usize, usize),
    ) -> LineWindow<'static> {
        let last = match opts.wrap {
            Some(_) => self.offset_at(rope, line, row + rows, 0, opts),
            None => self.offset_at(rope, line, 0, col + cols, opts),
        };
        let entry = self.entry(rope, line, opts);
        let from = entry.before(|c| (c.row, c.col) <= (row, col));
        let len = content_len(rope.line(line));
        let to = (last + margin(opts)).min(len);
        let text = rope.slice(entry.start + from.offset..entry.start + to).to_string().into();
        LineWindow { text, from, to }
    }

    /// Keeps the checkpoints in step with `edit`, just applied to the buffer: those the edit may move are dropped.
    pub fn edited(&mut self, rope: &Rope, edit: &Edit) {
        let inserted = edit.inserted_len();
        let removed = edit.range.len();
        self.entries.retain_mut(|e| {
            if edit.range.end < e.start {
                e.start = e.start + inserted - removed;
                return true;
            }
            if edit.range.start < e.start {
                // The line's start went (its line break removed).
                return false;
            }
            let Ok(line) = rope.try_char_to_line(e.start) else { return false };
            if edit.range.start > e.start + content_len(rope.line(line)) {
                // After the line's end (and its line break).
                return true;
            }
            let first_moved = first_moved(rope, edit.range.start, e.opts).saturating_sub(e.start);
            e.checkpoints.retain(|c| c.offset == 0 || c.offset < first_moved);
            e.end = None;
            true
        });
    }

    /// The entry of line `line` under `opts`, made the most recent; a new one knows only the line's start.
    fn entry(&mut self, rope: &Rope, line: usize, opts: LayoutOptions) -> &mut Entry {
        let start = rope.line_to_char(line);
        let found = self.entries.iter().position(|e| e.start == start && e.opts == opts);
        let entry = match found {
            Some(i) => self.entries.remove(i),
            None => Entry { start, opts, checkpoints: vec![Resume::default()], end: None },
        };
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.remove(0);
        }
        self.entries.push(entry);
        let last = self.entries.len() - 1;
        &mut self.entries[last]
    }
}

/// Rows a line takes whose end is at `end` (see [`crate::layout::row_count`]).
fn end_rows(end: (usize, usize), opts: LayoutOptions) -> usize {
    if opts.wrap.is_none() { 1 } else { end.0 + 1 }
}

/// Chars read past the last glyph wanted: a whole cluster, and with soft wrap a row's width more, since whether a
/// word fits looks ahead by up to that much.
fn margin(opts: LayoutOptions) -> usize {
    CLUSTER_MARGIN + opts.wrap.map_or(0, |w| w + 1)
}

/// The first char offset in the buffer whose layout an edit at `at` may change. Without wrap, the glyphs from
/// `at` on (a grapheme boundary at `at` depends on the char there). With wrap, from the start of the word that
/// ends at `at` too: whether that word fits on its row depends on its width, which the edit may change. A word
/// longer than a row never fits whole, so the search back stops a row's width before `at`.
fn first_moved(rope: &Rope, at: usize, opts: LayoutOptions) -> usize {
    let Some(wrap) = opts.wrap else { return at };
    let floor = at.saturating_sub(wrap + 1);
    let mut pos = at;
    while pos > floor {
        let c = rope.char(pos - 1);
        if c == ' ' || c == '\t' || c == '\n' {
            return pos;
        }
        pos -= 1;
    }
    if pos == 0 { 0 } else { at }
}

impl Entry {
    /// The last checkpoint for which `is_before` holds (checkpoints are in layout order).
    fn before(&self, is_before: impl Fn(&Resume) -> bool) -> Resume {
        let i = self.checkpoints.partition_point(is_before);
        self.checkpoints[i.saturating_sub(1)]
    }

    /// Lays the line out from checkpoint `from`, giving each glyph to `visit` until it breaks (its value is
    /// returned) or the line ends (`None`; then `end` is known). Takes checkpoints past the last one on the way.
    fn walk<T>(
        &mut self,
        rope: &Rope,
        mut from: Resume,
        mut visit: impl FnMut(&Glyph<'_>) -> ControlFlow<T>,
    ) -> Option<T> {
        let line = rope.char_to_line(self.start);
        let len = content_len(rope.line(line));
        let margin = margin(self.opts);
        // Most questions are about a place near a checkpoint: a short slice first, longer ones after.
        let mut step = 2 * SPACING;
        // Glyphs before this were given to `visit` already (a slice starts again from the last checkpoint).
        let mut seen = from.offset;
        loop {
            let slice_end = (from.offset + step + margin).min(len);
            // Glyphs before `exact` have all the text their layout looks at.
            let exact = if slice_end == len { len } else { slice_end - margin };
            let text = rope.slice(self.start + from.offset..self.start + slice_end).to_string();
            let mut next = from;
            let mut end = (from.row, from.col);
            for g in Glyphs::resume(&text, self.opts, from) {
                if g.offset >= exact {
                    break;
                }
                let here = Resume { offset: g.offset, row: g.row, col: g.col };
                if here.exact(self.opts) {
                    next = here;
                    self.note(here);
                }
                if g.offset >= seen
                    && let ControlFlow::Break(found) = visit(&g)
                {
                    return Some(found);
                }
                end = (g.row, g.col + g.width);
            }
            seen = exact;
            if slice_end == len {
                self.end = Some(match self.opts.wrap {
                    Some(wrap) if end.1 >= wrap.max(2) => (end.0 + 1, 0),
                    _ => end,
                });
                return None;
            }
            if next.offset > from.offset {
                // The glyphs from `next` on are laid out again from there, with the text after them.
                from = next;
                step = STEP;
            } else {
                // No row started in the whole slice (clusters of hundreds of chars): read more at once.
                step *= 2;
            }
        }
    }

    /// Keeps `at` as a checkpoint if it is far enough past the last one.
    fn note(&mut self, at: Resume) {
        let last = self.checkpoints.last().map_or(0, |c| c.offset);
        if at.offset >= last + SPACING {
            self.checkpoints.push(at);
        }
    }
}

#[cfg(test)]
mod tests;
