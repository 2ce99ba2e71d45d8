//! Text diffs for the workspace engine: [`tandem_crdt::diff`] (shared with the server's
//! restore of an old version) in the editor's [`Edit`] type.

use tandem_crdt::diff;

pub use tandem_crdt::diff::merge3;

use crate::text::Edit;

/// The edits that turn `old` into `new`, in ascending order of position, ranges in `old`'s
/// chars and not overlapping (see [`diff::minimal_edits`]).
pub fn minimal_edits(old: &str, new: &str) -> Vec<Edit> {
    diff::minimal_edits(old, new)
        .into_iter()
        .map(|change| Edit { range: change.range, text: change.text })
        .collect()
}

/// Applies edits from [`minimal_edits`] (ascending, in `text`'s chars) to `text`.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let changes: Vec<diff::Change> = edits
        .iter()
        .map(|edit| diff::Change { range: edit.range.clone(), text: edit.text.clone() })
        .collect();
    diff::apply(text, &changes)
}
