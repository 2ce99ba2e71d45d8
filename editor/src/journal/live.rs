//! The journal kept in step with an [`Editor`] by the terminal loop: two calls, [`Live::start`] after opening
//! and [`Live::update`] after every frame.

use std::time::Instant;

use crate::{Editor, MessageKind};

use super::{Journal, JournalError};

/// The journal of the editor's file.
#[derive(Debug)]
pub struct Live {
    journal: Journal,
    /// Whether edits were recorded since the journal was last removed.
    journaled: bool,
}

impl Live {
    /// Starts journaling `editor`'s file in the [default dir](super::default_dir). `None` (nothing journaled)
    /// without a file or a home directory, for a read-only buffer, and when an earlier session's journal of this
    /// file waits to be recovered: it is kept, not replaced, and the message line says so.
    pub fn start(editor: &mut Editor) -> Option<Self> {
        let dir = super::default_dir()?;
        Live::start_in(&dir, editor)
    }

    /// [`Live::start`] with the journal dir given (tests).
    pub fn start_in(dir: &std::path::Path, editor: &mut Editor) -> Option<Self> {
        let file = editor.path()?.to_owned();
        if editor.read_only().is_some() {
            return None;
        }
        if super::waiting(dir, &file) {
            let journal = super::journal_path(dir, &file);
            let text = format!(
                "unsaved edits of an earlier session are kept in {} (`tandem --recover` lists them); \
                 this session is not journaled",
                journal.display()
            );
            editor.notify(text, MessageKind::Error);
            return None;
        }
        let journal = Journal::open(dir, &file, editor.rope());
        Some(Live { journal, journaled: false })
    }

    /// Records the edits made since the last call, fsyncs them when due at `now`, and removes the journal when
    /// the text is saved (or back at its saved state). A failure is shown once and ends journaling.
    pub fn update(live: &mut Option<Self>, editor: &mut Editor, now: Instant) {
        let edits = editor.take_pending_edits();
        let Some(this) = live else { return };
        if let Err(e) = this.step(&edits, editor, now) {
            tracing::warn!("recovery journal: {e}");
            editor.notify(format!("recovery journal stopped: {e}"), MessageKind::Error);
            *live = None;
        }
    }

    fn step(
        &mut self,
        edits: &[crate::Edit],
        editor: &Editor,
        now: Instant,
    ) -> Result<(), JournalError> {
        for edit in edits {
            self.journal.record(edit, now);
            self.journaled = true;
        }
        if self.journaled && !editor.is_modified() {
            self.journaled = false;
            return self.journal.saved(editor.rope());
        }
        self.journal.tick(now)
    }

    /// The editor quit cleanly: saved, or the user chose not to save, so nothing is left to recover.
    pub fn finish(live: Option<Self>) {
        if let Some(mut this) = live
            && let Err(e) = this.journal.discard()
        {
            tracing::warn!("recovery journal: {e}");
        }
    }

    /// When the buffered edits are due on disk, if any are buffered.
    pub fn next_flush(&self) -> Option<Instant> {
        self.journal.next_flush()
    }

    /// Writes everything buffered now (before exiting on a signal).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.journal.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::journal::{load, recoverable};
    use crate::{Config, KeyEvent, Keys};

    /// An editor on a file holding "ab", its journal in `dir`, and "x" typed and journaled since `t0`.
    struct Typed {
        _tmp: tempfile::TempDir,
        dir: PathBuf,
        file: PathBuf,
        ed: Editor,
        live: Option<Live>,
        t0: Instant,
    }

    fn typed_x() -> Typed {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, file) = (tmp.path().join("journal"), tmp.path().join("a.txt"));
        std::fs::write(&file, "ab").unwrap();
        let mut ed = Editor::open(&file, &Config::default()).unwrap();
        let mut live = Live::start_in(&dir, &mut ed);
        let t0 = Instant::now();
        KeyEvent::typed("x").into_iter().for_each(|k| Keys::default().press(&mut ed, k));
        Live::update(&mut live, &mut ed, t0);
        Typed { _tmp: tmp, dir, file, ed, live, t0 }
    }

    #[test]
    fn typing_is_journaled_when_due_and_saving_removes_the_journal() {
        let mut t = typed_x();
        assert!(recoverable(&t.dir).unwrap().is_empty(), "not due yet");
        Live::update(&mut t.live, &mut t.ed, t.t0 + Duration::from_secs(1));
        assert_eq!(load(&t.dir, &t.file).unwrap().unwrap().text, "xab");

        // A second editor on the file does not replace the first one's journal.
        let mut second = Editor::open(&t.file, &Config::default()).unwrap();
        assert!(Live::start_in(&t.dir, &mut second).is_none());
        assert!(second.message().unwrap().text.contains("tandem --recover"));

        Keys::default().press(&mut t.ed, "ctrl-s".parse().unwrap());
        Live::update(&mut t.live, &mut t.ed, t.t0 + Duration::from_secs(2));
        assert!(recoverable(&t.dir).unwrap().is_empty());
    }

    #[test]
    fn quitting_without_saving_leaves_nothing_to_recover() {
        let mut t = typed_x();
        Live::update(&mut t.live, &mut t.ed, t.t0 + Duration::from_secs(1));
        assert_eq!(recoverable(&t.dir).unwrap().len(), 1);
        Live::finish(t.live);
        assert!(recoverable(&t.dir).unwrap().is_empty());
    }
}
