//! The editor's history in collaborative mode: undo and redo come from the CRDT's per-user undo
//! (the session registers its own `undo` and `redo` commands), so this
//! history records nothing to revert. It only counts
//! changes, so that the editor can tell whether a linked file is out of date.

use crate::history::{Change, UndoHistory};
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
}

impl SharedHistory {
    /// A history that counts changes or not, as `tracking` says.
    pub fn new(tracking: ChangeTracking) -> Self {
        Self { version: 0, tracking }
    }

    fn bump(&mut self) {
        if self.tracking == ChangeTracking::Counted {
            self.version += 1;
        }
    }
}

impl UndoHistory for SharedHistory {
    fn record(&mut self, _change: Change) {
        self.bump();
    }

    fn seal(&mut self) {}

    fn remote_edit(&mut self, _edit: &Edit) {
        self.bump();
    }

    fn state_id(&self) -> u64 {
        self.version
    }
}
