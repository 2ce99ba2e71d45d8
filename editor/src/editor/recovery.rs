//! The offer to recover an earlier session's unsaved edits of this file from the recovery journal: (r)ecover
//! shows them as one undoable change over the file's text, (d)iscard drops them, (o)pen read-only (or Esc)
//! leaves them in the journal for later. The editor asks and applies the answer to its text; the journal
//! ([`crate::journal::Live`]) acts on the answer through [`Editor::take_recovery_answer`].

use super::{Confirm, Editor, Mode};
use crate::history::ChangeKind;
use crate::input::{Key, KeyEvent};
use crate::selection::Selection;
use crate::text::Edit;

/// Unsaved edits found in the recovery journal when the file was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryOffer {
    /// The file's text with the edits.
    pub text: String,
    /// When the journal was last written (`YYYY-MM-DD HH:MM:SS UTC`).
    pub when: String,
    /// 1-based first line that differs from the file, and how many lines differ on disk and in `text`.
    pub lines: (usize, usize, usize),
}

impl RecoveryOffer {
    /// The question on the message line: what differs, then the choices.
    pub fn question(&self) -> String {
        format!(
            "Unsaved edits of {} ({}): (r)ecover (d)iscard (o)pen read-only",
            self.when,
            self.what()
        )
    }

    fn what(&self) -> String {
        let (first, disk, recovered) = self.lines;
        match (disk, recovered) {
            (0, n) => format!("{n} line(s) added at line {first}"),
            (n, 0) => format!("{n} line(s) removed at line {first}"),
            (1, 1) => format!("line {first} differs"),
            (_, n) => format!("lines {first}–{} differ", first + n - 1),
        }
    }
}

/// What the user chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryAnswer {
    /// The edits are in the text now (unsaved); the journal continues from them.
    Recover,
    /// The edits are dropped: the journal goes.
    Discard,
    /// The file is open read-only and the journal stays for another time.
    ReadOnly,
}

impl Editor {
    /// Asks what to do with an earlier session's unsaved edits of this file.
    pub fn offer_recovery(&mut self, offer: RecoveryOffer) {
        self.mode = Mode::Confirm(Confirm::Recover(Box::new(offer)));
    }

    /// The answer to [`Editor::offer_recovery`], once given (taken once).
    pub fn take_recovery_answer(&mut self) -> Option<RecoveryAnswer> {
        self.doc.recovery.take()
    }

    pub(super) fn recovery_key(&mut self, offer: Box<RecoveryOffer>, key: KeyEvent) {
        let answer = match key.key {
            Key::Char('r') => RecoveryAnswer::Recover,
            Key::Char('d') => RecoveryAnswer::Discard,
            Key::Char('o') | Key::Esc => RecoveryAnswer::ReadOnly,
            _ => return self.mode = Mode::Confirm(Confirm::Recover(offer)),
        };
        match answer {
            RecoveryAnswer::Recover => self.recover(&offer),
            RecoveryAnswer::Discard => {
                self.info("discarded the unsaved edits of the earlier session")
            }
            RecoveryAnswer::ReadOnly => {
                self.doc.read_only = Some(
                    "unsaved edits of an earlier session wait in the recovery journal: reopen the file to \
                     recover or discard them"
                        .into(),
                );
                self.info("opened read-only: the unsaved edits stay in the recovery journal");
            }
        }
        self.doc.recovery = Some(answer);
    }

    /// Puts the recovered text in as one undoable change, the cursor where it starts to differ; the file's text
    /// stays the saved state, so the buffer shows as modified and Ctrl-Z shows the file.
    fn recover(&mut self, offer: &RecoveryOffer) {
        let len = self.rope().len_chars();
        self.doc.history.seal();
        let edit = Edit { range: 0..len, text: offer.text.clone() };
        if self.apply_local(edit, Selection::point(0), ChangeKind::Other) {
            self.doc.history.seal();
            let line = offer.lines.0.saturating_sub(1).min(self.rope().len_lines() - 1);
            self.view.selection = Selection::point(self.rope().line_to_char(line));
            self.after_change();
            self.scroll_to_cursor();
            self.info(format!(
                "recovered: {} (Ctrl-Z shows the file's text, Ctrl-S saves)",
                offer.what()
            ));
        }
    }
}
