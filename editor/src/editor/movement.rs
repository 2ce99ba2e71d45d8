//! Cursor motions and the mouse.
//!
//! All positions are char offsets into the buffer.

use super::{Editor, Mode};
use crate::input::{MouseEvent, MouseKind};
use crate::selection::Movement;
use crate::text;

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

impl Editor {
    /// Handles a mouse event.
    pub fn handle_mouse(&mut self, ev: MouseEvent) {
        if !matches!(self.mode, Mode::Normal) {
            return;
        }
        match ev.kind {
            MouseKind::ScrollUp => self.scroll(-3),
            MouseKind::ScrollDown => self.scroll(3),
            MouseKind::Up => self.view.dragging = false,
            MouseKind::Down | MouseKind::Drag => {
                if ev.kind == MouseKind::Drag && !self.view.dragging {
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
                let movement = if ev.kind == MouseKind::Drag || ev.shift {
                    Movement::Extend
                } else {
                    Movement::Move
                };
                self.view.dragging = true;
                self.move_to(pos, movement);
            }
        }
    }

    pub(super) fn move_to(&mut self, pos: usize, movement: Movement) {
        let pos = pos.min(self.rope().len_chars());
        self.view.selection = self.view.selection.moved_to(pos, movement);
        self.doc.history.seal();
        self.scroll_to_cursor();
    }

    /// Moves the cursor, moving or extending the selection as `movement` says.
    pub fn motion(&mut self, motion: Motion, movement: Movement) {
        let extend = movement == Movement::Extend;
        let sel = self.view.selection;
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
                let (rows, direction) = match motion {
                    Motion::Up => (1, Vertical::Up),
                    Motion::Down => (1, Vertical::Down),
                    Motion::PageUp => (page, Vertical::Up),
                    _ => (page, Vertical::Down),
                };
                return self.vertical(rows, direction, movement);
            }
        };
        self.view.preferred_col = None;
        self.move_to(pos, movement);
    }

    fn vertical(&mut self, rows: usize, direction: Vertical, movement: Movement) {
        let down = direction == Vertical::Down;
        let (line, row, col) = self.visual(self.view.selection.head);
        let want = *self.view.preferred_col.get_or_insert(col);
        let last = self.rope().len_lines() - 1;
        let at_edge =
            if down { line == last && !self.has_row(line, row + 1) } else { line == 0 && row == 0 };
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
        self.view.selection = self.view.selection.moved_to(pos, movement);
        self.doc.history.seal();
        self.scroll_to_cursor();
    }
}

/// Which way a vertical motion goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vertical {
    Up,
    Down,
}
