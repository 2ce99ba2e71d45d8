//! The editor's history in collaborative mode: undo and redo come from the CRDT's per-user undo
//! (the session registers its own `undo` and `redo` commands), so this
//! history records nothing to revert. It counts changes, so that the editor can tell whether a
//! linked file is out of date, and tells where an undo step starts by the local rule
//! ([`crate::history::joins`]), so that undo in a shared document goes word by word too.

use crate::history::{Change, ChangeKind, Step, UndoHistory, joins};
use crate::selection::Selection;
use crate::text::Edit;

/// Whether changes to a shared document make the buffer count as modified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChangeTracking {
    /// Count changes, so that the editor reports unsaved changes (a linked file).
    Counted,
    /// Never modified: the document lives in the local store, nothing to save.
    #[default]
    Ignored,
}

/// An [`UndoHistory`] that never reverts: the collaborative layer brings its own undo and redo.
#[derive(Debug, Default)]
pub struct SharedHistory {
    version: u64,
    tracking: ChangeTracking,
    /// The last change's kind and selection after it, while its step is open.
    open: Option<(ChangeKind, Selection)>,
}

impl SharedHistory {
    /// A history that counts changes or not, as `tracking` says.
    pub fn new(tracking: ChangeTracking) -> Self {
        Self { version: 0, tracking, open: None }
    }

    fn bump(&mut self) {
        if self.tracking == ChangeTracking::Counted {
            self.version += 1;
        }
    }
}

impl UndoHistory for SharedHistory {
    fn record(&mut self, change: Change) -> Step {
        self.bump();
        let step = match self.open {
            Some(last) if joins(last, &change) => Step::Joined,
            _ => Step::New,
        };
        self.open = Some((change.kind, change.after));
        step
    }

    fn seal(&mut self) {
        self.open = None;
    }

    fn remote_edit(&mut self, _edit: &Edit) {
        self.bump();
    }

    fn state_id(&self) -> u64 {
        self.version
    }
}
