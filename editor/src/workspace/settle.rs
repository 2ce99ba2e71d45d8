//! When a batch of file events has settled enough to read the files it names.
//!
//! An editor's save, an `echo >>` or a `git checkout` is several events in a few milliseconds,
//! and a file read while its writer is still at it would be diffed half-written (the rest follows
//! in the next batch, but every peer sees the half meanwhile). Waiting a fixed [`SETTLE`] after
//! the first event avoids that, but then every save waits for it. The watcher says when a writer
//! is done, though — the close of a file opened for writing — so a batch is ready as soon as every
//! file written in it was closed again and no event came for [`QUIET`] (the next file of a
//! `git checkout` follows within that, so a checkout stays one batch rather than one a file).
//! A file still open, or a watcher that reports no closes (FSEvents, ReadDirectoryChangesW),
//! waits for [`SETTLE`] as before.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RenameMode};

/// The longest a batch waits after its first event.
pub const SETTLE: Duration = Duration::from_millis(25);
/// How long no event must come once every written file was closed.
pub const QUIET: Duration = Duration::from_millis(2);

/// The events of one batch so far.
#[derive(Debug, Clone)]
pub struct Settle {
    started: Instant,
    last: Instant,
    /// Files written (or created) and not closed since.
    writing: BTreeSet<String>,
}

impl Settle {
    /// A batch that began at `now`.
    pub fn new(now: Instant) -> Self {
        Self { started: now, last: now, writing: BTreeSet::new() }
    }

    /// Notes an event of kind `kind` about `paths` (workspace paths) that came at `now`.
    pub fn note(&mut self, kind: &EventKind, paths: &[&str], now: Instant) {
        self.last = self.last.max(now);
        match kind {
            EventKind::Create(CreateKind::File) | EventKind::Modify(ModifyKind::Data(_)) => {
                self.writing.extend(paths.iter().map(|p| (*p).to_owned()));
            }
            // Closed, deleted or moved away: nothing more will be written there.
            EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                for path in paths {
                    self.writing.remove(*path);
                }
            }
            _ => {}
        }
    }

    /// When the files named so far may be read.
    pub fn ready_at(&self) -> Instant {
        let limit = self.started + SETTLE;
        if self.writing.is_empty() { (self.last + QUIET).min(limit) } else { limit }
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{DataChange, RemoveKind};

    use super::*;

    const WRITE: EventKind = EventKind::Modify(ModifyKind::Data(DataChange::Any));
    const CLOSE: EventKind = EventKind::Access(AccessKind::Close(AccessMode::Write));

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_append_is_ready_once_its_writer_closed_the_file() {
        // `echo >> notes.md`: a write and a close, a fraction of a millisecond apart.
        let t0 = Instant::now();
        let mut batch = Settle::new(t0);
        batch.note(&WRITE, &["notes.md"], t0);
        assert_eq!(batch.ready_at(), t0 + SETTLE, "still open: it may be half-written");
        batch.note(&CLOSE, &["notes.md"], t0 + ms(1));
        assert_eq!(batch.ready_at(), t0 + ms(1) + QUIET);
        assert!(batch.ready_at() < t0 + SETTLE);
    }

    #[test]
    fn every_written_file_must_be_closed_and_later_events_extend_the_quiet() {
        let t0 = Instant::now();
        let mut batch = Settle::new(t0);
        batch.note(&EventKind::Create(CreateKind::File), &["a.rs"], t0);
        batch.note(&WRITE, &["b.rs"], t0 + ms(1));
        batch.note(&CLOSE, &["a.rs"], t0 + ms(2));
        assert_eq!(batch.ready_at(), t0 + SETTLE, "b.rs is still being written");
        batch.note(&CLOSE, &["b.rs"], t0 + ms(3));
        assert_eq!(batch.ready_at(), t0 + ms(3) + QUIET);
        // The next file of a checkout, within the quiet: the batch waits for it too.
        batch.note(&WRITE, &["c.rs"], t0 + ms(4));
        batch.note(&CLOSE, &["c.rs"], t0 + ms(5));
        assert_eq!(batch.ready_at(), t0 + ms(5) + QUIET);
    }

    #[test]
    fn a_file_left_open_waits_for_the_settle_time_and_no_longer() {
        let t0 = Instant::now();
        let mut batch = Settle::new(t0);
        batch.note(&WRITE, &["log.txt"], t0);
        batch.note(&WRITE, &["log.txt"], t0 + ms(20));
        assert_eq!(batch.ready_at(), t0 + SETTLE);
        // Events keep coming: the batch is still read at the settle time.
        batch.note(&CLOSE, &["log.txt"], t0 + ms(24));
        assert_eq!(batch.ready_at(), t0 + SETTLE);
    }

    #[test]
    fn renames_deletions_and_events_without_closes_do_not_hold_a_batch() {
        let t0 = Instant::now();
        let mut batch = Settle::new(t0);
        // An editor's atomic save: its temporary file is ignored, the rename names the file.
        batch.note(&EventKind::Modify(ModifyKind::Name(RenameMode::To)), &["a.rs"], t0);
        assert_eq!(batch.ready_at(), t0 + QUIET);
        batch.note(&WRITE, &["b.rs"], t0);
        batch.note(&EventKind::Remove(RemoveKind::File), &["b.rs"], t0 + ms(1));
        assert_eq!(batch.ready_at(), t0 + ms(1) + QUIET);
        batch.note(&WRITE, &["c.rs"], t0 + ms(1));
        batch.note(&EventKind::Modify(ModifyKind::Name(RenameMode::From)), &["c.rs"], t0 + ms(2));
        assert_eq!(batch.ready_at(), t0 + ms(2) + QUIET);
        // A directory made, a file's mode changed: nothing being written.
        batch.note(&EventKind::Create(CreateKind::Folder), &["d"], t0 + ms(3));
        assert_eq!(batch.ready_at(), t0 + ms(3) + QUIET);
    }
}
