//! The journal kept in step with an [`Editor`] by the terminal loop: two calls, [`Live::start`] after opening
//! and [`Live::update`] after every frame.

use std::time::Instant;

use crate::editor::{RecoveryAnswer, RecoveryOffer};
use crate::{Editor, MessageKind};

use super::{Journal, JournalError};

/// The journal of the editor's file.
#[derive(Debug)]
pub struct Live {
    journal: Journal,
    /// Whether edits were recorded since the journal was last removed.
    journaled: bool,
    /// An earlier session's journal was offered for recovery and the answer is not in yet: nothing is written.
    offered: bool,
}

impl Live {
    /// Starts journaling `editor`'s file in `dir` ([`super::default_dir`] unless configured). `None` (nothing
    /// journaled) without a file and for a read-only buffer. When an earlier session's journal of this file holds
    /// edits, the editor offers them ([`Editor::offer_recovery`]) and journaling waits for the answer; a journal
    /// that cannot be replayed (the file changed since) is kept, not replaced, and the message line says so.
    pub fn start(dir: &std::path::Path, editor: &mut Editor) -> Option<Self> {
        let file = editor.path()?.to_owned();
        if editor.read_only().is_some() {
            return None;
        }
        if super::waiting(dir, &file) {
            let journal = super::journal_path(dir, &file);
            match super::load(dir, &file) {
                Ok(Some(recovery)) => {
                    let offered = match recovery.differs {
                        Some(d) => {
                            let when = std::fs::metadata(&journal)
                                .and_then(|m| m.modified())
                                .map_or_else(|_| "an earlier session".into(), super::utc);
                            let lines = (d.first_line, d.disk_lines, d.recovered_lines);
                            editor.offer_recovery(RecoveryOffer {
                                text: recovery.text,
                                when,
                                lines,
                            });
                            true
                        }
                        // The journal holds nothing the file lacks: it is replaced.
                        None => false,
                    };
                    let mut journal = Journal::open(dir, &file, editor.rope());
                    if !offered && let Err(e) = journal.discard() {
                        tracing::warn!("recovery journal: {e}");
                    }
                    return Some(Live { journal, journaled: false, offered });
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("recovery journal of {}: {e}", file.display()),
            }
            let text = format!(
                "unsaved edits of an earlier session are kept in {} (`tandem --recover` lists them); \
                 this session is not journaled",
                journal.display()
            );
            editor.notify(text, MessageKind::Error);
            return None;
        }
        let journal = Journal::open(dir, &file, editor.rope());
        Some(Live { journal, journaled: false, offered: false })
    }

    /// Records the edits made since the last call, fsyncs them when due at `now`, and removes the journal when
    /// the text is saved (or back at its saved state). A failure is shown once and ends journaling.
    pub fn update(live: &mut Option<Self>, editor: &mut Editor, now: Instant) {
        let edits = editor.take_pending_edits();
        let Some(this) = live else { return };
        let result = match editor.take_recovery_answer() {
            // The earlier journal stays for another time; this read-only session writes nothing.
            Some(RecoveryAnswer::ReadOnly) => return *live = None,
            Some(RecoveryAnswer::Discard) => {
                this.offered = false;
                this.journal.discard().and_then(|()| this.step(&edits, editor, now))
            }
            // At once: the recovered text replaces the earlier journal.
            Some(RecoveryAnswer::Recover) => {
                this.offered = false;
                this.step(&edits, editor, now).and_then(|()| this.journal.flush())
            }
            None if this.offered => Ok(()),
            None => this.step(&edits, editor, now),
        };
        if let Err(e) = result {
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

    /// The editor quit cleanly: saved, or the user chose not to save, so nothing is left to recover (an offer
    /// never answered leaves the earlier journal).
    pub fn finish(live: Option<Self>) {
        if let Some(mut this) = live.filter(|l| !l.offered)
            && let Err(e) = this.journal.discard()
        {
            tracing::warn!("recovery journal: {e}");
        }
    }

    /// When the buffered edits are due on disk, if any are buffered.
    pub fn next_flush(&self) -> Option<Instant> {
        self.journal.next_flush()
    }

    /// The journal file.
    pub fn path(&self) -> &std::path::Path {
        self.journal.path()
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
    use crate::{Config, KeyEvent, Keys, Mode};

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
        let mut live = Live::start(&dir, &mut ed);
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

        // A second editor on the file is offered the first one's edits; opening it read-only keeps them.
        let mut second = Editor::open(&t.file, &Config::default()).unwrap();
        let mut second_live = Live::start(&t.dir, &mut second);
        assert!(matches!(second.mode(), Mode::Confirm(_)), "the recovery is offered");
        Keys::default().press(&mut second, KeyEvent::plain(crate::Key::Char('o')));
        Live::update(&mut second_live, &mut second, t.t0 + Duration::from_secs(1));
        assert!(second_live.is_none() && second.read_only().is_some());
        assert_eq!(load(&t.dir, &t.file).unwrap().unwrap().text, "xab");

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

    /// Issue 11: an earlier session's journal is offered on reopening; (r)ecover puts its text in as an unsaved,
    /// undoable change and journals from there; (d)iscard removes it.
    #[test]
    fn reopening_offers_the_journal_to_recover_or_discard() {
        let mut t = typed_x();
        Live::update(&mut t.live, &mut t.ed, t.t0 + Duration::from_secs(1));
        // kill -9: no finish.
        drop(t.live.take());

        let mut ed = Editor::open(&t.file, &Config::default()).unwrap();
        let mut live = Live::start(&t.dir, &mut ed);
        let Mode::Confirm(confirm) = ed.mode() else { panic!("no offer") };
        assert!(confirm.question().contains("line 1 differs"), "{}", confirm.question());
        assert!(confirm.question().contains("(r)ecover (d)iscard (o)pen read-only"));
        Keys::default().press(&mut ed, KeyEvent::plain(crate::Key::Char('r')));
        Live::update(&mut live, &mut ed, t.t0 + Duration::from_secs(2));
        assert_eq!(ed.rope().to_string(), "xab");
        assert!(ed.is_modified());
        assert_eq!(std::fs::read_to_string(&t.file).unwrap(), "ab", "recovering does not save");
        // The recovered text is journaled at once, over the file as it is.
        assert_eq!(load(&t.dir, &t.file).unwrap().unwrap().text, "xab");
        Keys::default().press(&mut ed, "ctrl-z".parse().unwrap());
        assert_eq!(ed.rope().to_string(), "ab", "undo shows the file's text");
        drop(live);

        let mut ed = Editor::open(&t.file, &Config::default()).unwrap();
        let mut live = Live::start(&t.dir, &mut ed);
        Keys::default().press(&mut ed, KeyEvent::plain(crate::Key::Char('d')));
        Live::update(&mut live, &mut ed, t.t0 + Duration::from_secs(3));
        assert_eq!(ed.rope().to_string(), "ab");
        assert!(recoverable(&t.dir).unwrap().is_empty(), "discarded");
        assert!(live.is_some(), "journaling goes on");
    }
}
