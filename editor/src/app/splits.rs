//! The layout of splits: a binary tree whose leaves are panes, each showing one view of one buffer. Pure geometry
//! and bookkeeping, no editor and no terminal: the [`App`](super::App) asks it where each pane goes, which pane
//! is under the mouse, which is next in a direction.
//!
//! Side-by-side panes are separated by one column (drawn by the app); stacked panes need no separator, since each
//! ends with its own status bar.

use std::collections::BTreeMap;

use ratatui::layout::Rect;

use super::buffers::BufferId;
use crate::editor::ViewId;
use crate::request::{Direction, Resize};

/// Identifies a pane of the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaneId(u32);

/// What a pane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pane {
    /// The buffer.
    pub buffer: BufferId,
    /// Which of the buffer's views.
    pub view: ViewId,
}

/// How a split divides its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Side by side, a separator column between.
    Columns,
    /// One above the other.
    Rows,
}

/// Share of a split's area the first child takes, in percent.
const MIN_SHARE: u16 = 10;
const STEP: u16 = 5;
/// Smallest pane: a status bar and a text row, or a few columns.
const MIN_HEIGHT: u16 = 2;
const MIN_WIDTH: u16 = 8;

#[derive(Clone, Debug)]
enum Node {
    Leaf(PaneId),
    Split { axis: Axis, share: u16, first: Box<Node>, second: Box<Node> },
}

impl Node {
    fn contains(&self, id: PaneId) -> bool {
        match self {
            Node::Leaf(leaf) => *leaf == id,
            Node::Split { first, second, .. } => first.contains(id) || second.contains(id),
        }
    }

    fn layout(&self, area: Rect, out: &mut Vec<(PaneId, Rect)>) {
        match self {
            Node::Leaf(id) => out.push((*id, area)),
            Node::Split { axis, share, first, second } => {
                let (a, b) = divide(area, *axis, *share);
                first.layout(a, out);
                second.layout(b, out);
            }
        }
    }

    /// Replaces leaf `id` with `with(leaf)`; returns whether it was found.
    fn replace_leaf(&mut self, id: PaneId, with: &mut dyn FnMut(Node) -> Node) -> bool {
        match self {
            Node::Leaf(leaf) if *leaf == id => {
                let old = std::mem::replace(self, Node::Leaf(id));
                *self = with(old);
                true
            }
            Node::Leaf(_) => false,
            Node::Split { first, second, .. } => {
                first.replace_leaf(id, with) || second.replace_leaf(id, with)
            }
        }
    }

    /// Removes leaf `id`, its sibling taking the parent's place.
    fn remove_leaf(&mut self, id: PaneId) -> bool {
        let Node::Split { first, second, .. } = self else { return false };
        let keep = match (&**first, &**second) {
            (Node::Leaf(a), _) if *a == id => {
                Some(std::mem::replace(&mut **second, Node::Leaf(id)))
            }
            (_, Node::Leaf(b)) if *b == id => Some(std::mem::replace(&mut **first, Node::Leaf(id))),
            _ => None,
        };
        match keep {
            Some(node) => {
                *self = node;
                true
            }
            None => first.remove_leaf(id) || second.remove_leaf(id),
        }
    }

    /// Moves the innermost split holding `id` towards `resize` for it; false when no split holds it.
    fn resize(&mut self, id: PaneId, resize: Resize) -> bool {
        let Node::Split { share, first, second, .. } = self else { return false };
        if first.resize(id, resize) || second.resize(id, resize) {
            return true;
        }
        let grow_first = first.contains(id) == (resize == Resize::Grow);
        if !first.contains(id) && !second.contains(id) {
            return false;
        }
        *share = if grow_first {
            (*share + STEP).min(100 - MIN_SHARE)
        } else {
            share.saturating_sub(STEP).max(MIN_SHARE)
        };
        true
    }
}

fn divide(area: Rect, axis: Axis, share: u16) -> (Rect, Rect) {
    match axis {
        Axis::Columns => {
            let usable = area.width.saturating_sub(1);
            let a = (u32::from(usable) * u32::from(share) / 100) as u16;
            let a = a.clamp(
                MIN_WIDTH.min(usable),
                usable.saturating_sub(MIN_WIDTH).max(MIN_WIDTH.min(usable)),
            );
            let first = Rect { width: a, ..area };
            let second = Rect { x: area.x + a + 1, width: usable - a, ..area };
            (first, second)
        }
        Axis::Rows => {
            let a = (u32::from(area.height) * u32::from(share) / 100) as u16;
            let a = a.clamp(
                MIN_HEIGHT.min(area.height),
                area.height.saturating_sub(MIN_HEIGHT).max(MIN_HEIGHT.min(area.height)),
            );
            let first = Rect { height: a, ..area };
            let second = Rect { y: area.y + a, height: area.height - a, ..area };
            (first, second)
        }
    }
}

/// The panes and how they share the screen.
#[derive(Clone, Debug)]
pub struct Splits {
    root: Node,
    panes: BTreeMap<PaneId, Pane>,
    focused: PaneId,
    next_id: u32,
}

impl Splits {
    /// One pane showing `pane`, focused.
    pub fn new(pane: Pane) -> Self {
        let id = PaneId(0);
        Splits {
            root: Node::Leaf(id),
            panes: BTreeMap::from([(id, pane)]),
            focused: id,
            next_id: 1,
        }
    }

    /// The focused pane's id.
    pub fn focused(&self) -> PaneId {
        self.focused
    }

    /// What the focused pane shows.
    pub fn focused_pane(&self) -> Pane {
        self.panes[&self.focused]
    }

    /// What pane `id` shows.
    pub fn pane(&self, id: PaneId) -> Option<Pane> {
        self.panes.get(&id).copied()
    }

    /// Changes what pane `id` shows.
    pub fn set_pane(&mut self, id: PaneId, pane: Pane) {
        if let Some(slot) = self.panes.get_mut(&id) {
            *slot = pane;
        }
    }

    /// Every pane, in no particular order.
    pub fn panes(&self) -> impl Iterator<Item = (PaneId, Pane)> + '_ {
        self.panes.iter().map(|(id, pane)| (*id, *pane))
    }

    /// Focuses pane `id` (if it exists).
    pub fn focus(&mut self, id: PaneId) {
        if self.panes.contains_key(&id) {
            self.focused = id;
        }
    }

    /// Splits the focused pane along `axis`; the new pane shows `pane`, comes second and gets the focus.
    pub fn split(&mut self, axis: Axis, pane: Pane) -> PaneId {
        let id = PaneId(self.next_id);
        self.next_id += 1;
        self.panes.insert(id, pane);
        let focused = self.focused;
        self.root.replace_leaf(focused, &mut |old| Node::Split {
            axis,
            share: 50,
            first: Box::new(old),
            second: Box::new(Node::Leaf(id)),
        });
        self.focused = id;
        id
    }

    /// Closes pane `id`; the focus goes to the pane that took its place. `None` for the last pane (or an unknown
    /// one): the layout always has a pane.
    pub fn close(&mut self, id: PaneId, area: Rect) -> Option<Pane> {
        if self.panes.len() < 2 || !self.panes.contains_key(&id) {
            return None;
        }
        let rects = self.rects(area);
        let here = rects.iter().find(|(p, _)| *p == id).map(|(_, r)| *r);
        self.root.remove_leaf(id);
        let pane = self.panes.remove(&id);
        if self.focused == id {
            // The pane now covering the closed one's top-left corner, else the first.
            let rects = self.rects(area);
            self.focused = here
                .and_then(|r| rects.iter().find(|(_, q)| contains(*q, r.x, r.y)))
                .or(rects.first())
                .map_or(self.focused, |(p, _)| *p);
        }
        pane
    }

    /// Where each pane goes in `area`, in reading order.
    pub fn rects(&self, area: Rect) -> Vec<(PaneId, Rect)> {
        let mut out = Vec::with_capacity(self.panes.len());
        self.root.layout(area, &mut out);
        out
    }

    /// The columns between side-by-side panes: (x, y, height) of each separator.
    pub fn separators(&self, area: Rect) -> Vec<Rect> {
        let rects = self.rects(area);
        rects
            .iter()
            .filter(|(_, r)| r.x + r.width < area.x + area.width)
            .filter(|(_, r)| rects.iter().any(|(_, q)| q.x == r.x + r.width + 1))
            .map(|(_, r)| Rect { x: r.x + r.width, y: r.y, width: 1, height: r.height })
            .collect()
    }

    /// The pane under the cell (x, y).
    pub fn pane_at(&self, area: Rect, x: u16, y: u16) -> Option<PaneId> {
        self.rects(area).into_iter().find(|(_, r)| contains(*r, x, y)).map(|(id, _)| id)
    }

    /// Focuses the next pane in reading order, wrapping.
    pub fn focus_next(&mut self, area: Rect) {
        let rects = self.rects(area);
        let at = rects.iter().position(|(id, _)| *id == self.focused).unwrap_or(0);
        self.focused = rects[(at + 1) % rects.len()].0;
    }

    /// Focuses the nearest pane in `direction` that faces the focused one; false when there is none.
    pub fn focus_direction(&mut self, direction: Direction, area: Rect) -> bool {
        let rects = self.rects(area);
        let Some(&(_, from)) = rects.iter().find(|(id, _)| *id == self.focused) else {
            return false;
        };
        let faces = |r: &Rect| match direction {
            Direction::Left => {
                r.x + r.width < from.x && overlap(r.y, r.height, from.y, from.height)
            }
            Direction::Right => {
                r.x > from.x + from.width && overlap(r.y, r.height, from.y, from.height)
            }
            Direction::Up => r.y + r.height <= from.y && overlap(r.x, r.width, from.x, from.width),
            Direction::Down => {
                r.y >= from.y + from.height && overlap(r.x, r.width, from.x, from.width)
            }
        };
        let distance = |r: &Rect| match direction {
            Direction::Left => from.x - (r.x + r.width),
            Direction::Right => r.x - (from.x + from.width),
            Direction::Up => from.y - (r.y + r.height),
            Direction::Down => r.y - (from.y + from.height),
        };
        let best =
            rects.iter().filter(|(_, r)| faces(r)).min_by_key(|(_, r)| (distance(r), r.y, r.x));
        match best {
            Some((id, _)) => {
                self.focused = *id;
                true
            }
            None => false,
        }
    }

    /// Grows or shrinks the focused pane within its split; false when it fills the screen alone.
    pub fn resize(&mut self, resize: Resize) -> bool {
        let focused = self.focused;
        self.root.resize(focused, resize)
    }
}

fn contains(r: Rect, x: u16, y: u16) -> bool {
    x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height
}

fn overlap(a: u16, a_len: u16, b: u16, b_len: u16) -> bool {
    a < b + b_len && b < a + a_len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane(n: u64) -> Pane {
        Pane { buffer: BufferId(n), view: ViewId(0) }
    }

    const AREA: Rect = Rect { x: 0, y: 0, width: 81, height: 24 };

    #[test]
    fn splits_share_the_area_and_focus_moves_between_them() {
        let mut s = Splits::new(pane(1));
        let right = s.split(Axis::Columns, pane(2));
        let below = s.split(Axis::Rows, pane(3));
        let rects = s.rects(AREA);
        assert_eq!(rects[0], (PaneId(0), Rect::new(0, 0, 40, 24)));
        assert_eq!(rects[1], (right, Rect::new(41, 0, 40, 12)));
        assert_eq!(rects[2], (below, Rect::new(41, 12, 40, 12)));
        assert_eq!(s.separators(AREA), vec![Rect::new(40, 0, 1, 24)]);
        assert_eq!(s.focused(), below);
        assert!(s.focus_direction(Direction::Up, AREA));
        assert_eq!(s.focused(), right);
        assert!(s.focus_direction(Direction::Left, AREA));
        assert_eq!(s.focused(), PaneId(0));
        assert!(!s.focus_direction(Direction::Left, AREA));
        assert_eq!(s.pane_at(AREA, 50, 20), Some(below));
        s.focus_next(AREA);
        assert_eq!(s.focused(), right);
    }

    #[test]
    fn resizing_and_closing() {
        let mut s = Splits::new(pane(1));
        let right = s.split(Axis::Columns, pane(2));
        assert!(s.resize(Resize::Grow));
        assert_eq!(s.rects(AREA)[1].1.width, 44, "the focused (second) pane grew");
        assert!(s.resize(Resize::Shrink));
        assert!(s.resize(Resize::Shrink));
        assert_eq!(s.rects(AREA)[1].1.width, 36);
        assert_eq!(s.close(right, AREA), Some(pane(2)));
        assert_eq!(s.rects(AREA), vec![(PaneId(0), AREA)]);
        assert_eq!(s.focused(), PaneId(0));
        assert_eq!(s.close(PaneId(0), AREA), None, "the last pane stays");
        assert!(!s.resize(Resize::Grow));
    }
}
