//! One document: its text, undo history and link to a file. Several views may show one document (issue 15), so
//! nothing here knows about cursors or screens.
//!
//! All positions are char offsets into the buffer.

use std::path::{Path, PathBuf};

use ropey::Rope;

use crate::buffer::Buffer;
use crate::file::DiskStamp;
use crate::history::{LinearHistory, UndoHistory};

/// A text with its history and file.
pub struct Document {
    pub(super) buffer: Buffer,
    pub(super) history: Box<dyn UndoHistory>,
    /// Positions kept in step with edits, for the collaborative layer.
    pub(super) marks: Vec<usize>,
    pub(super) path: Option<PathBuf>,
    /// Size and mtime when last read or written, to notice other programs' changes.
    pub(super) disk: Option<DiskStamp>,
    pub(super) read_only: Option<String>,
    /// A byte order mark the file starts with: kept on save, never part of the text.
    pub(super) bom: crate::file::Bom,
    /// Whether we may write the file (saving a write-protected one asks first).
    pub(super) access: crate::file::Access,
    /// The history's state when last saved.
    pub(super) saved_state: u64,
    pub(super) changed_on_disk: bool,
    /// What to call a document without a file (a shared document's URL).
    pub(super) label: Option<String>,
    /// The answer to an offer to recover unsaved edits, until the journal takes it.
    pub(super) recovery: Option<super::RecoveryAnswer>,
}

impl Document {
    /// An unnamed document holding `rope`, with linear undo.
    pub fn new(rope: Rope) -> Self {
        Document {
            buffer: Buffer::new(rope),
            history: Box::new(LinearHistory::new()),
            marks: Vec::new(),
            path: None,
            disk: None,
            read_only: None,
            bom: crate::file::Bom::Absent,
            access: crate::file::Access::Writable,
            saved_state: 0,
            changed_on_disk: false,
            label: None,
            recovery: None,
        }
    }

    /// The text.
    pub fn rope(&self) -> &Rope {
        self.buffer.rope()
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the document is read-only, if it is.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Unsaved changes exist.
    pub fn is_modified(&self) -> bool {
        self.history.state_id() != self.saved_state
    }

    /// The name the status bar shows: the file, else the label (a shared document's URL), else "[new]".
    pub fn display_name(&self) -> String {
        match (&self.path, &self.label) {
            (Some(path), _) => path.display().to_string(),
            (None, Some(label)) => label.clone(),
            (None, None) => "[new]".to_owned(),
        }
    }
}
