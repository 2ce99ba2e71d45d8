//! The document's file: save (atomic, asking before overwriting a file changed on disk), save as, reload,
//! quitting with unsaved changes, and noticing changes made by other programs.

use std::path::PathBuf;

use super::{Confirm, Editor, Mode};
use crate::file;
use crate::history::ChangeKind;
use crate::selection::Selection;
use crate::text::{self, Edit};

/// What follows a successful save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterSave {
    /// Nothing: keep editing.
    Stay,
    /// Quit (or close the buffer): the user asked to save before quitting.
    Quit,
}

/// Whether saving over a file that changed on disk since it was read asks first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Overwrite {
    /// Ask (the file changed under us).
    Ask,
    /// The user said yes.
    Confirmed,
}

impl Editor {
    // ----- files -----

    /// Saves to the file (asks for a name when there is none).
    pub fn save(&mut self) {
        if let Some(reason) = &self.doc.read_only {
            let text = format!("not saved: read-only: {reason}");
            return self.error(text);
        }
        let Some(path) = &self.doc.path else { return self.save_as() };
        self.doc.access = file::access(path);
        if self.doc.access == file::Access::WriteProtected {
            return self.mode = Mode::Confirm(Confirm::WriteProtected);
        }
        self.write_file(Overwrite::Ask);
    }

    pub(super) fn write_file(&mut self, overwrite: Overwrite) {
        let Some(path) = self.doc.path.clone() else { return };
        if overwrite == Overwrite::Ask {
            let now = file::stamp(&path).ok().flatten();
            if now.is_some() && now != self.doc.disk {
                self.mode = Mode::Confirm(Confirm::Overwrite);
                return;
            }
        }
        match file::save(&path, self.rope(), self.doc.bom) {
            Ok(stamp) => self.saved(path, stamp),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// Saves under a new name (save as). The buffer takes the name only once its text is written there, so a
    /// failed or declined save as leaves it as it was; a file already there is overwritten only when the user says
    /// so. `then` is what follows a successful save (quitting, when asked to save before quitting).
    pub(super) fn save_as_to(&mut self, path: PathBuf, overwrite: Overwrite, then: AfterSave) {
        if self.doc.path.as_ref() == Some(&path) {
            self.save();
        } else if overwrite == Overwrite::Ask && std::fs::symlink_metadata(&path).is_ok() {
            return self.mode = Mode::Confirm(Confirm::Exists { path, then });
        } else {
            match file::save(&path, self.rope(), self.doc.bom) {
                Ok(stamp) => {
                    self.doc.access = file::access(&path);
                    self.saved(path, stamp);
                }
                Err(e) => return self.error(format!("not saved: {e}")),
            }
        }
        if then == AfterSave::Quit && !self.is_modified() && matches!(self.mode, Mode::Normal) {
            self.quit = true;
        }
    }

    /// The text is on disk in `path` as `stamp` says: it is the buffer's file and its saved state now.
    fn saved(&mut self, path: PathBuf, stamp: file::DiskStamp) {
        self.doc.disk = Some(stamp);
        self.doc.changed_on_disk = false;
        self.doc.history.seal();
        self.doc.saved_state = self.doc.history.state_id();
        let lines = self.rope().len_lines();
        self.info(format!("saved {} ({lines} lines, {} bytes)", path.display(), stamp.len));
        self.doc.path = Some(path);
    }

    /// Asks to quit; confirms first when there are unsaved changes.
    pub fn quit(&mut self) {
        if self.is_modified() {
            self.mode = Mode::Confirm(Confirm::Quit);
        } else {
            self.quit = true;
        }
    }

    /// Asks to close the buffer; confirms first when there are unsaved changes ([`Editor::should_quit`] then
    /// tells that it may close).
    pub fn close(&mut self) {
        if self.is_modified() {
            self.mode = Mode::Confirm(Confirm::Close);
        } else {
            self.quit = true;
        }
    }

    /// Notices when another program changed the file. Call periodically.
    pub fn check_disk(&mut self) {
        let Some(path) = &self.doc.path else { return };
        let Some(known) = self.doc.disk else { return };
        if self.doc.changed_on_disk {
            return;
        }
        if let Ok(now) = file::stamp(path)
            && now != Some(known)
        {
            self.doc.changed_on_disk = true;
            self.error("the file changed on disk (Alt-L reloads; saving asks first)");
        }
    }

    /// Reloads the file from disk (asks first when there are unsaved changes).
    pub fn reload(&mut self) {
        if self.doc.path.is_none() {
            return self.info("no file to reload");
        }
        if self.is_modified() {
            self.mode = Mode::Confirm(Confirm::Reload);
        } else {
            self.do_reload();
        }
    }

    pub(super) fn do_reload(&mut self) {
        let Some(path) = self.doc.path.clone() else { return };
        match file::load(&path) {
            Ok(Some(loaded)) if loaded.read_only.is_none() => {
                let text: String = loaded.rope.into();
                let len = self.rope().len_chars();
                let head = self.view.selection.head;
                self.doc.history.seal();
                // One undoable edit, so that the collaborative layer sees the reload like any other change.
                let edit = Edit { range: 0..len, text };
                let pos = head.min(edit.inserted_len());
                if self.apply_local(edit, Selection::point(pos), ChangeKind::Other) {
                    self.doc.history.seal();
                    self.doc.saved_state = self.doc.history.state_id();
                    self.view.selection = Selection::point(text::grapheme_floor(self.rope(), pos));
                    self.doc.disk = Some(loaded.stamp);
                    (self.doc.bom, self.doc.access) = (loaded.bom, loaded.access);
                    self.doc.changed_on_disk = false;
                    self.after_change();
                    self.info(format!("reloaded {}", path.display()));
                }
            }
            Ok(Some(_)) => self.error("not reloaded: the file is no longer valid UTF-8"),
            Ok(None) => self.error("not reloaded: the file no longer exists"),
            Err(e) => self.error(e.to_string()),
        }
    }
}
