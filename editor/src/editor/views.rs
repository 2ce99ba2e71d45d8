//! Several views of one document: the editor works on its active [`View`]; the others are parked here, kept in
//! step with every edit (local, remote, undo), and swapped in when the front end focuses or draws them. Each view
//! has its own cursors, scroll position and display options.
//!
//! All positions are char offsets into the buffer.

use super::{Editor, View};
use crate::selection::Selection;
use crate::text::{Assoc, Edit};

/// Identifies one view of a document (unique within its editor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ViewId(pub u32);

/// A view that is not the active one.
#[derive(Clone, Debug)]
struct ParkedView {
    id: ViewId,
    view: View,
    /// Char offset of the start of its top line: edits move it like text, so the view keeps showing the same text.
    top: usize,
}

/// The document's views other than the active one.
#[derive(Clone, Debug)]
pub(super) struct Views {
    active: ViewId,
    parked: Vec<ParkedView>,
    next_id: u32,
}

impl Default for Views {
    fn default() -> Self {
        Views { active: ViewId(0), parked: Vec::new(), next_id: 1 }
    }
}

impl Views {
    /// Maps every parked view through `edit`.
    pub(super) fn map(&mut self, edit: &Edit) {
        for p in &mut self.parked {
            p.view.selection = p.view.selection.map(edit);
            p.view.others.iter_mut().for_each(|s| *s = s.map(edit));
            p.top = edit.map_pos(p.top, Assoc::Before);
        }
    }
}

impl Editor {
    /// The active view's id.
    pub fn view_id(&self) -> ViewId {
        self.views.active
    }

    /// Every view's id, the active one first.
    pub fn view_ids(&self) -> Vec<ViewId> {
        std::iter::once(self.views.active).chain(self.views.parked.iter().map(|p| p.id)).collect()
    }

    /// Adds a view showing what the active one shows (with its primary cursor only); returns its id. The active
    /// view stays active.
    pub fn add_view(&mut self) -> ViewId {
        let id = ViewId(self.views.next_id);
        self.views.next_id += 1;
        let mut view = self.view.clone();
        view.others.clear();
        view.dragging = false;
        let top = self.rope().line_to_char(view.viewport.top_line);
        self.views.parked.push(ParkedView { id, view, top });
        id
    }

    /// Makes view `id` the active one; false when there is no such view.
    pub fn focus_view(&mut self, id: ViewId) -> bool {
        if id == self.views.active {
            return true;
        }
        let Some(i) = self.views.parked.iter().position(|p| p.id == id) else { return false };
        let top = self.rope().line_to_char(self.view.viewport.top_line);
        let incoming = std::mem::replace(
            &mut self.views.parked[i],
            ParkedView { id: self.views.active, view: self.view.clone(), top },
        );
        self.view = incoming.view;
        self.views.active = id;
        let len = self.rope().len_chars();
        let clamp = |s: Selection| Selection { anchor: s.anchor.min(len), head: s.head.min(len) };
        self.view.selection = clamp(self.view.selection);
        self.view.others.iter_mut().for_each(|s| *s = clamp(*s));
        let top_line = self.rope().char_to_line(incoming.top.min(len));
        if top_line != self.view.viewport.top_line {
            self.view.viewport.top_line = top_line;
            self.view.viewport.top_row = 0;
        }
        true
    }

    /// Runs `f` with view `id` active, then makes the previously active view active again (drawing a view that is
    /// not focused). Runs `f` on the active view when there is no view `id`.
    pub fn with_view<R>(&mut self, id: ViewId, f: impl FnOnce(&mut Editor) -> R) -> R {
        let before = self.views.active;
        self.focus_view(id);
        let result = f(self);
        self.focus_view(before);
        result
    }

    /// Names a document that has no file (a shared document: its URL) for the status bar.
    pub fn set_label(&mut self, label: impl Into<String>) {
        self.doc.label = Some(label.into());
    }

    /// Scrolls so that the line holding `pos` is the first one shown (following another user's view).
    pub fn scroll_to_pos(&mut self, pos: usize) {
        let line = self.rope().char_to_line(pos.min(self.rope().len_chars()));
        self.view.viewport.top_line = line;
        self.view.viewport.top_row = 0;
    }

    /// Scrolls so that `pos` is on screen, centring it when it was not; the cursor stays where it is.
    pub fn reveal(&mut self, pos: usize) {
        let pos = pos.min(self.rope().len_chars());
        let height = usize::from(self.text_height());
        let (line, row, col) = self.visual(pos);
        let top = (self.view.viewport.top_line, self.view.viewport.top_row);
        let off_screen = (line, row) < top
            || line - top.0 >= height
            || self.rows_between(top, (line, row)) >= height;
        if off_screen {
            (self.view.viewport.top_line, self.view.viewport.top_row) =
                self.retreat_rows((line, row), height / 2);
        }
        if !self.view.options.soft_wrap {
            let width = usize::from(self.text_width());
            if col < self.view.viewport.left_col || col >= self.view.viewport.left_col + width {
                self.view.viewport.left_col = col.saturating_sub(width / 2);
            }
        }
    }

    /// Removes view `id`; when it is the active one, another view becomes active. Returns false when `id` is the
    /// last view (a document always has one) or unknown.
    pub fn remove_view(&mut self, id: ViewId) -> bool {
        if id == self.views.active {
            let Some(next) = self.views.parked.first().map(|p| p.id) else { return false };
            self.focus_view(next);
        }
        let before = self.views.parked.len();
        self.views.parked.retain(|p| p.id != id);
        self.views.parked.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_views_keep_their_cursor_through_edits_in_another_view() {
        let mut ed = Editor::new("one\ntwo\nthree\n");
        let second = ed.add_view();
        ed.focus_view(second);
        ed.set_selection(Selection::point(8)); // "three"
        ed.focus_view(ViewId(0));
        ed.set_selection(Selection::point(0));
        ed.type_char('X');
        ed.focus_view(second);
        assert_eq!(
            ed.selection(),
            Selection::point(9),
            "mapped through the edit made in the first view"
        );
        ed.type_char('Y');
        assert_eq!(ed.rope().to_string(), "Xone\ntwo\nYthree\n");
        ed.focus_view(ViewId(0));
        assert_eq!(ed.selection(), Selection::point(1));
        assert_eq!(ed.view_ids(), vec![ViewId(0), second]);
        assert!(ed.remove_view(ViewId(0)));
        assert_eq!(ed.view_id(), second);
        assert!(!ed.remove_view(second), "the last view stays");
    }

    #[test]
    fn with_view_draws_another_view_and_comes_back() {
        let mut ed = Editor::new("a\nb\nc\n");
        let other = ed.add_view();
        ed.with_view(other, |ed| ed.set_selection(Selection::point(4)));
        assert_eq!(ed.view_id(), ViewId(0));
        assert_eq!(ed.selection(), Selection::point(0));
        assert_eq!(ed.with_view(other, |ed| ed.selection()), Selection::point(4));
    }
}
