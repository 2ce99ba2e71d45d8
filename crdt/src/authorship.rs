//! Who wrote the current text: its runs by the Yjs client id whose edit inserted them.
//!
//! Every character of a Yjs text is an item with an id `(client, clock)`, and the client is
//! the replica that inserted it. [`client_runs`] walks the text in order and reports each
//! stretch of visible characters inserted by one client; a server maps the clients to the
//! names of the connections that sent them.
//!
//! Lengths are given both in chars (Rust's and the terminal editor's unit) and in UTF-16 code
//! units (Yjs' and browsers' unit), so no reader converts.

use yrs::types::text::{Diff, YChange};
use yrs::{IdSet, Out, ReadTxn, Snapshot, Text, TextRef, TransactionMut};

/// A stretch of the current text inserted by one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRun {
    /// The Yjs client id whose edit inserted it.
    pub client: u64,
    /// Its length in chars (at least 1).
    pub chars: usize,
    /// Its length in UTF-16 code units (at least 1).
    pub utf16: usize,
}

/// The text's runs by client, in order; adjacent runs of one client are merged, so the runs
/// of a text one client wrote are one run.
///
/// yrs reports the id of each item only from a diff between two snapshots: against an empty
/// snapshot, every visible item is "added" and carries its id. The newer snapshot is the
/// current state vector with an empty delete set, so that yrs splits no block to match it
/// (the replica's block structure is left exactly as it was; a server's replica must stay in
/// step with its shadow, see [`crate::Document::integrate_update`]); deleted items that still
/// hold their text are then left out here, by the real delete set.
pub(crate) fn client_runs(txn: &mut TransactionMut, text: &TextRef) -> Vec<ClientRun> {
    let deleted = txn.snapshot().delete_set;
    let newer = Snapshot::new(txn.state_vector(), IdSet::new());
    let diffs =
        text.diff_range(txn, Some(&newer), Some(&Snapshot::default()), |change: YChange| {
            (!deleted.contains(&change.id)).then(|| change.id.client.get())
        });
    merge(diffs)
}

fn merge(diffs: Vec<Diff<Option<u64>>>) -> Vec<ClientRun> {
    let mut runs: Vec<ClientRun> = Vec::new();
    for diff in diffs {
        let (Some(Some(client)), Out::Any(yrs::Any::String(text))) = (diff.ychange, &diff.insert)
        else {
            continue;
        };
        let chars = text.chars().count();
        let utf16 = text.encode_utf16().count();
        if chars == 0 {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.client == client => {
                last.chars += chars;
                last.utf16 += utf16;
            }
            _ => runs.push(ClientRun { client, chars, utf16 }),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use crate::{Document, DocumentConfig};

    use super::ClientRun;

    fn run(client: u64, chars: usize, utf16: usize) -> ClientRun {
        ClientRun { client, chars, utf16 }
    }

    fn exchange(from: &mut Document, to: &mut Document) {
        let update = from.encode_state();
        to.apply_update(&update).unwrap();
    }

    #[test]
    fn an_empty_text_has_no_runs() {
        let document = Document::new(DocumentConfig::new(1)).unwrap();
        assert_eq!(document.client_runs(), vec![]);
    }

    #[test]
    fn runs_follow_who_inserted_each_stretch_and_skip_deletions() {
        let mut ada = Document::new(DocumentConfig::new(1)).unwrap();
        let mut bob = Document::new(DocumentConfig::new(2)).unwrap();
        ada.insert(0, "hello world", 0).unwrap();
        ada.insert(5, ",", 0).unwrap();
        exchange(&mut ada, &mut bob);
        // Bob writes in the middle, emoji and CJK included, and deletes some of Ada's text.
        bob.insert(6, " 👋会", 0).unwrap();
        bob.delete(9..11, 0).unwrap();
        exchange(&mut bob, &mut ada);
        assert_eq!(ada.text(), "hello, 👋会orld");
        let runs = ada.client_runs();
        assert_eq!(runs, vec![run(1, 6, 6), run(2, 3, 4), run(1, 4, 4)]);
        assert_eq!(runs.iter().map(|r| r.chars).sum::<usize>(), ada.text().chars().count());
        assert_eq!(runs.iter().map(|r| r.utf16).sum::<usize>(), ada.len_utf16());
        assert_eq!(bob.client_runs(), runs, "every replica reports the same runs");
    }

    #[test]
    fn one_writer_is_one_run_and_reading_leaves_the_replica_as_it_was() {
        let mut ada = Document::new(DocumentConfig::new(1)).unwrap();
        for (i, word) in ["a", "b", "c", "d"].iter().enumerate() {
            ada.insert(i, word, 0).unwrap();
        }
        ada.delete(1..2, 0).unwrap();
        let state = ada.encode_state();
        assert_eq!(ada.client_runs(), vec![run(1, 3, 3)]);
        assert_eq!(ada.encode_state(), state, "reading changed the replica");
    }
}
