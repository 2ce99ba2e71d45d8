//! Undo and redo of local edits.
//!
//! All positions are char offsets into the buffer. The editor talks to history only through [`UndoHistory`], so the
//! collaborative client can swap in per-user undo driven by the CRDT without touching the commands.

use crate::selection::Selection;
use crate::text::Edit;

/// One applied local edit, with what it removed so that it can be reverted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The edit as applied.
    pub edit: Edit,
    /// The text the edit replaced.
    pub removed: String,
    /// Selection before the edit.
    pub before: Selection,
    /// Selection after the edit.
    pub after: Selection,
    /// How the edit was made, for grouping.
    pub kind: ChangeKind,
}

/// What produced a change; consecutive typing or deleting merges into one undo step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A single typed character that is not whitespace.
    TypeWord,
    /// Typed whitespace (space, tab, newline).
    TypeSpace,
    /// Backspace or Delete of one grapheme.
    DeleteChar,
    /// Part of a multi-edit operation (replace all, reload): merges with the previous batch change until sealed.
    Batch,
    /// Anything else (paste, cut, replace, …): always its own step.
    Other,
}

/// Whether a recorded change opened a new undo step or joined the open one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The change is the first of a new undo step.
    New,
    /// The change joined the open step (typing a word, deleting a run).
    Joined,
}

/// The grouping rule shared by local undo and a shared document's CRDT undo: whether `change`, coming right
/// after `last` with no seal in between, joins its undo step — typing a word (and the spaces before it), a run
/// of deletions, one batch.
pub fn joins(last: (ChangeKind, Selection), change: &Change) -> bool {
    let (last_kind, last_after) = last;
    if (last_kind, change.kind) == (ChangeKind::Batch, ChangeKind::Batch) {
        return true;
    }
    last_after == change.before
        && matches!(
            (last_kind, change.kind),
            (ChangeKind::TypeWord, ChangeKind::TypeWord)
                | (ChangeKind::TypeSpace, ChangeKind::TypeSpace | ChangeKind::TypeWord)
                | (ChangeKind::DeleteChar, ChangeKind::DeleteChar)
        )
}

/// Which way to revert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoStep {
    /// Undo the last step.
    Undo,
    /// Redo the last undone step.
    Redo,
}

/// The edits to apply to undo or redo one step, and the selection to restore afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revert {
    /// Apply in order.
    pub edits: Vec<Edit>,
    /// Selection after applying.
    pub selection: Selection,
}

/// The editor's contract with an undo implementation.
pub trait UndoHistory {
    /// Records a local change just applied to the buffer; says whether it opened a new undo step.
    fn record(&mut self, change: Change) -> Step;
    /// Ends the current group: the next change starts a new undo step.
    fn seal(&mut self);
    /// The edits that undo the last step, which the history now considers undone. A history that only counts
    /// changes keeps the default: in a shared document undo is the collaborative session's own command.
    fn undo(&mut self) -> Option<Revert> {
        None
    }
    /// The edits that redo the last undone step.
    fn redo(&mut self) -> Option<Revert> {
        None
    }
    /// Someone else changed the buffer.
    fn remote_edit(&mut self, edit: &Edit);
    /// Identifies the current state so that the editor can tell whether it equals the saved one.
    fn state_id(&self) -> u64;
}

struct Group {
    id: u64,
    changes: Vec<Change>,
}

/// Linear undo/redo stacks with word-wise grouping of typing.
#[derive(Default)]
pub struct LinearHistory {
    undo: Vec<Group>,
    redo: Vec<Group>,
    sealed: bool,
    next_id: u64,
}

impl LinearHistory {
    /// Empty history.
    pub fn new() -> Self {
        LinearHistory { next_id: 1, ..Default::default() }
    }

    fn continues(&self, change: &Change) -> bool {
        let Some(last) = self.undo.last().and_then(|g| g.changes.last()) else { return false };
        !self.sealed && joins((last.kind, last.after), change)
    }
}

fn invert(change: &Change) -> Edit {
    let start = change.edit.range.start;
    Edit { range: start..start + change.edit.inserted_len(), text: change.removed.clone() }
}

impl UndoHistory for LinearHistory {
    fn record(&mut self, change: Change) -> Step {
        self.redo.clear();
        let joined = self.continues(&change);
        self.sealed = false;
        if joined && let Some(group) = self.undo.last_mut() {
            group.changes.push(change);
            return Step::Joined;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.undo.push(Group { id, changes: vec![change] });
        Step::New
    }

    fn seal(&mut self) {
        self.sealed = true;
    }

    fn undo(&mut self) -> Option<Revert> {
        let group = self.undo.pop()?;
        let edits = group.changes.iter().rev().map(invert).collect();
        let selection = group.changes.first().map(|c| c.before).unwrap_or_default();
        self.redo.push(group);
        self.sealed = true;
        Some(Revert { edits, selection })
    }

    fn redo(&mut self) -> Option<Revert> {
        let group = self.redo.pop()?;
        let edits = group.changes.iter().map(|c| c.edit.clone()).collect();
        let selection = group.changes.last().map(|c| c.after).unwrap_or_default();
        self.undo.push(group);
        self.sealed = true;
        Some(Revert { edits, selection })
    }

    /// Local undo stacks hold positions that a concurrent edit invalidates; rather than risk undoing the wrong
    /// text, they are dropped. The collaborative client replaces this type with CRDT-based undo.
    fn remote_edit(&mut self, _edit: &Edit) {
        self.undo.clear();
        self.redo.clear();
    }

    fn state_id(&self) -> u64 {
        self.undo.last().map_or(0, |g| g.id)
    }
}
