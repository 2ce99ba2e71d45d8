//! The local cursor and its selection.
//!
//! All positions are char offsets into the buffer.

use std::ops::Range;

use crate::text::{Assoc, Edit};

/// Whether a motion moves the whole selection or extends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// Move the cursor; the selection collapses onto it.
    Move,
    /// Move the head; the anchor stays, so the selection grows or shrinks.
    Extend,
}

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

    /// Moves the head to `pos`: with [`Movement::Extend`] the anchor stays, with [`Movement::Move`] the selection
    /// collapses onto `pos`.
    pub fn moved_to(self, pos: usize, movement: Movement) -> Self {
        match movement {
            Movement::Extend => Selection { anchor: self.anchor, head: pos },
            Movement::Move => Selection::point(pos),
        }
    }

    /// The selection after `edit` was applied by someone else.
    pub fn map(self, edit: &Edit) -> Self {
        Selection {
            anchor: edit.map_pos(self.anchor, Assoc::After),
            head: edit.map_pos(self.head, Assoc::After),
        }
    }
}
