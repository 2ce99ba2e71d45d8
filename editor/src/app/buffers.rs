//! One open buffer: its [`Editor`] (the document and its views) and what keeps it safe and in sync — the shared
//! document's session, network and store, or a local file's recovery journal — plus its highlighter. The app holds
//! a list of these; a shared document keeps syncing in the background whether or not it is on screen.

use std::time::Instant;

use crate::collab::{CollabError, NetEvent, SharedDoc};
use crate::decoration::Decoration;
use crate::editor::Editor;
use crate::highlight::Highlighter;
use crate::journal::Live;

/// Identifies an open buffer for as long as the app runs (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub(crate) u64);

/// An open buffer.
pub struct Slot {
    /// Its id.
    pub id: BufferId,
    /// The document and its views.
    pub editor: Editor,
    /// The shared document's session, network and store; `None` for a local file.
    pub shared: Option<SharedDoc>,
    /// The recovery journal of a local file's unsaved edits.
    pub journal: Option<Live>,
    /// Colours, once the grammars are loaded and one fits.
    pub highlighter: Option<Highlighter>,
}

impl Slot {
    /// A local buffer.
    pub fn local(id: BufferId, editor: Editor) -> Self {
        Slot { id, editor, shared: None, journal: None, highlighter: None }
    }

    /// A shared document's buffer (named by its URL when it has no linked file).
    pub fn shared(id: BufferId, mut editor: Editor, shared: SharedDoc) -> Self {
        editor.set_label(shared.target().base.clone());
        Slot { id, editor, shared: Some(shared), journal: None, highlighter: None }
    }

    /// The name in the buffer list: the file, else the shared document's label (its URL, or its
    /// path in an open workspace), else "[new]".
    pub fn name(&self) -> String {
        self.editor.document().display_name()
    }

    /// The status bar's connection text (`None` for a local file).
    pub fn connection(&mut self, now: u64) -> Option<String> {
        let shared = self.shared.as_mut()?;
        Some(shared.status(&self.editor, now))
    }

    /// Other users' cursors (none for a local file).
    pub fn decorations(&mut self) -> Vec<Decoration> {
        match &mut self.shared {
            Some(shared) => shared.collab().decorations(&self.editor),
            None => Vec::new(),
        }
    }

    /// Handles a network event of this buffer's shared document.
    pub fn network(&mut self, event: NetEvent, now: u64) -> Result<(), CollabError> {
        match &mut self.shared {
            Some(shared) => shared.network(&mut self.editor, event, now),
            None => Ok(()),
        }
    }

    /// Sends the local edits to the shared document; for a local file, journals them.
    pub fn send(&mut self, now: u64) {
        match &mut self.shared {
            Some(shared) => shared.send(&mut self.editor, now),
            None => Live::update(&mut self.journal, &mut self.editor, Instant::now()),
        }
    }

    /// Writes what changed to the shared document's local store.
    pub fn persist(&mut self, now: u64) -> Result<(), CollabError> {
        match &mut self.shared {
            Some(shared) => shared.persist(now),
            None => Ok(()),
        }
    }

    /// Periodic work: presence renewal, peer expiry, snapshots.
    pub fn tick(&mut self, now: u64) {
        if let Some(shared) = &mut self.shared {
            shared.tick(&mut self.editor, now);
        }
    }

    /// Closes the buffer: a local file's journal is discarded (it was saved, or the user chose not to), a shared
    /// document says goodbye and writes its final snapshot.
    pub fn shutdown(mut self, now: u64) -> Result<(), CollabError> {
        Live::finish(self.journal.take());
        match self.shared.take() {
            Some(shared) => shared.shutdown(&mut self.editor, now),
            None => Ok(()),
        }
    }
}
