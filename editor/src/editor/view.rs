//! One window onto a document: its selection, viewport and display options, and the mapping between buffer
//! positions and visual rows (soft wrap) that scrolling and vertical movement need.
//!
//! All positions are char offsets into the buffer; rows are visual rows, columns display cells.

use crate::config::Config;
use crate::selection::Selection;
use crate::text;

use super::Editor;

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

/// The state of one view onto a document.
#[derive(Clone, Debug)]
pub struct View {
    /// The local selection.
    pub(super) selection: Selection,
    /// Column kept by vertical movement across shorter lines.
    pub(super) preferred_col: Option<usize>,
    /// The visible part.
    pub(super) viewport: Viewport,
    /// Wrap, gutter and tab settings.
    pub(super) options: Options,
    /// A mouse drag is selecting.
    pub(super) dragging: bool,
    /// Cursors besides the primary one (multiple cursors; see cursors.rs), kept in step with edits.
    pub(super) others: Vec<Selection>,
}

impl View {
    /// A view at the start of the buffer with `options`, sized until the front end says otherwise.
    pub fn new(options: Options) -> Self {
        View {
            selection: Selection::default(),
            preferred_col: None,
            viewport: Viewport { width: 80, height: 24, ..Viewport::default() },
            options,
            dragging: false,
            others: Vec::new(),
        }
    }

    /// The selection.
    pub fn selection(&self) -> Selection {
        self.selection
    }

    /// The visible part.
    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// Display options.
    pub fn options(&self) -> Options {
        self.options
    }
}

impl Editor {
    // ----- movement -----

    pub(super) fn line_text(&self, line: usize) -> std::borrow::Cow<'_, str> {
        text::line_text(self.rope(), line)
    }

    /// (line, visual row, column) of `pos`.
    pub(super) fn visual(&self, pos: usize) -> (usize, usize, usize) {
        let line = self.rope().char_to_line(pos);
        let offset = pos - self.rope().line_to_char(line);
        let (row, col) = self.doc.buffer.position_of(line, offset, self.layout_options());
        (line, row, col)
    }

    pub(super) fn rows_in(&self, line: usize) -> usize {
        self.doc.buffer.row_count(line, self.layout_options())
    }

    /// Whether `line` has a visual row `row` (cheaper than [`Editor::rows_in`] on a long wrapped line).
    pub(super) fn has_row(&self, line: usize, row: usize) -> bool {
        self.doc.buffer.has_row(line, row, self.layout_options())
    }

    /// The (line, row) `n` visual rows after (line, row), clamped to the buffer.
    pub(super) fn advance_rows(
        &self,
        (mut line, mut row): (usize, usize),
        n: usize,
    ) -> (usize, usize) {
        let last = self.rope().len_lines() - 1;
        for _ in 0..n {
            if self.has_row(line, row + 1) {
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
    pub(super) fn retreat_rows(
        &self,
        (mut line, mut row): (usize, usize),
        n: usize,
    ) -> (usize, usize) {
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

    pub(super) fn pos_at_row(&self, (line, row): (usize, usize), col: usize) -> usize {
        let start = self.rope().line_to_char(line);
        start + self.doc.buffer.offset_at(line, row, col, self.layout_options())
    }

    /// Char offset under a screen cell of the text area.
    pub fn screen_to_pos(&self, column: u16, row: u16) -> usize {
        let at = self.advance_rows(
            (self.view.viewport.top_line, self.view.viewport.top_row),
            usize::from(row),
        );
        let mut col = usize::from(column.saturating_sub(self.gutter_width()));
        if !self.view.options.soft_wrap {
            col += self.view.viewport.left_col;
        }
        self.pos_at_row(at, col)
    }

    /// Scrolls the view by `rows` visual rows without moving the cursor.
    pub fn scroll(&mut self, rows: isize) {
        let top = (self.view.viewport.top_line, self.view.viewport.top_row);
        let (line, row) = if rows < 0 {
            self.retreat_rows(top, rows.unsigned_abs())
        } else {
            self.advance_rows(top, rows.unsigned_abs())
        };
        self.view.viewport.top_line = line;
        self.view.viewport.top_row = row;
    }

    /// Scrolls so that the cursor is on screen, touching only the lines between the view and the cursor.
    pub fn scroll_to_cursor(&mut self) {
        let height = usize::from(self.text_height());
        let (line, row, col) = self.visual(self.view.selection.head);
        let top = (self.view.viewport.top_line, self.view.viewport.top_row);
        if (line, row) < top {
            (self.view.viewport.top_line, self.view.viewport.top_row) = (line, row);
        } else if line - top.0 >= height || self.rows_between(top, (line, row)) >= height {
            (self.view.viewport.top_line, self.view.viewport.top_row) =
                self.retreat_rows((line, row), height - 1);
        }
        if self.view.options.soft_wrap {
            self.view.viewport.left_col = 0;
        } else {
            let width = usize::from(self.text_width());
            if col < self.view.viewport.left_col {
                self.view.viewport.left_col = col;
            } else if col >= self.view.viewport.left_col + width {
                self.view.viewport.left_col = col + 1 - width;
            }
        }
    }

    /// Visual rows from `a` to `b` (a ≤ b, at most a screen apart in lines).
    pub(super) fn rows_between(&self, a: (usize, usize), b: (usize, usize)) -> usize {
        if a.0 == b.0 {
            return b.1 - a.1;
        }
        let middle: usize = (a.0..b.0).map(|l| self.rows_in(l)).sum();
        middle - a.1 + b.1
    }

    /// Centres the view on the cursor's line.
    pub(super) fn center_on_cursor(&mut self) {
        let (line, row, _) = self.visual(self.view.selection.head);
        let half = usize::from(self.text_height()) / 2;
        (self.view.viewport.top_line, self.view.viewport.top_row) =
            self.retreat_rows((line, row), half);
        self.scroll_to_cursor();
    }

    pub(super) fn center_if_off_screen(&mut self) {
        let before = self.view.viewport;
        self.scroll_to_cursor();
        if self.view.viewport.top_line != before.top_line
            || self.view.viewport.top_row != before.top_row
        {
            self.center_on_cursor();
        }
    }
}
