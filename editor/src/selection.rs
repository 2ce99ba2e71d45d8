//! The local cursor and its selection.
//!
//! All positions are char offsets into the buffer.

use std::ops::Range;

use crate::text::Edit;

/// A cursor (`head`) with the other end of its selection (`anchor`); empty when both are equal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Where the selection started; stays put while extending.
    pub anchor: usize,
    /// Where the cursor is.
    pub head: usize,
}

impl Selection {
    /// An empty selection at `pos`.
    pub fn point(pos: usize) -> Self {
        Selection { anchor: pos, head: pos }
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.anchor == self.head
    }

    /// The selected chars, start ≤ end.
    pub fn range(&self) -> Range<usize> {
        self.anchor.min(self.head)..self.anchor.max(self.head)
    }

    /// Moves the head to `pos`, keeping the anchor when `extend`, else collapsing onto it.
    pub fn moved_to(self, pos: usize, extend: bool) -> Self {
        if extend { Selection { anchor: self.anchor, head: pos } } else { Selection::point(pos) }
    }

    /// The selection after `edit` was applied by someone else.
    pub fn map(self, edit: &Edit) -> Self {
        Selection { anchor: edit.map_pos(self.anchor, true), head: edit.map_pos(self.head, true) }
    }
}
