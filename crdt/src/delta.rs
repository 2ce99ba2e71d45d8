//! [`Delta`]: what a remote change did to the text, in chars, ready to patch a rope.
//!
//! All positions in this module are char offsets.

use crate::error::Result;
use crate::offsets::char_to_byte;
use yrs::Assoc;

/// One step of a [`Delta`], walking the old text from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaOp {
    /// Keep this many chars.
    Retain(usize),
    /// Insert this text here.
    Insert(String),
    /// Remove this many chars here.
    Delete(usize),
}

/// A change to a text as retain/insert/delete steps in chars (the Quill/Yjs delta shape).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// The steps, in order.
    pub ops: Vec<DeltaOp>,
}

/// One contiguous replacement, in the coordinates of the text as the previous edits of the same
/// list left it: apply a list's edits in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    /// Char index where the edit starts.
    pub start: usize,
    /// How many chars it removes there.
    pub removed: usize,
    /// What it inserts there.
    pub inserted: String,
}

impl Delta {
    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.iter().all(|op| matches!(op, DeltaOp::Retain(_)))
    }

    /// The delta as a list of replacements to apply in order (what a rope wants).
    pub fn edits(&self) -> Vec<TextEdit> {
        let mut edits: Vec<TextEdit> = Vec::new();
        // `at` is the position in the text as the edits so far left it; `last_end` is where the
        // last edit's insertion ends, so ops that touch it extend that edit instead of adding one.
        let mut at = 0;
        let mut last_end = None;
        for op in &self.ops {
            match op {
                DeltaOp::Retain(n) => at += n,
                DeltaOp::Insert(text) => {
                    match edits.last_mut() {
                        Some(last) if last_end == Some(at) => last.inserted.push_str(text),
                        _ => edits.push(TextEdit { start: at, removed: 0, inserted: text.clone() }),
                    }
                    at += text.chars().count();
                    last_end = Some(at);
                }
                DeltaOp::Delete(n) => {
                    match edits.last_mut() {
                        Some(last) if last_end == Some(at) => last.removed += n,
                        _ => {
                            edits.push(TextEdit { start: at, removed: *n, inserted: String::new() })
                        }
                    }
                    last_end = Some(at);
                }
            }
        }
        edits
    }

    /// Applies the delta to a plain string (tests, and clients that keep a `String` view).
    pub fn apply_to(&self, text: &mut String) -> Result<()> {
        for edit in self.edits() {
            let start = char_to_byte(text, edit.start)?;
            let end = start + char_to_byte(&text[start..], edit.removed)?;
            text.replace_range(start..end, &edit.inserted);
        }
        Ok(())
    }

    /// Where char position `pos` of the old text lies in the new one. A position at an insertion
    /// point moves after the inserted text with [`Assoc::After`] (it sticks to the char after
    /// it, like a yrs sticky index) and stays before it with [`Assoc::Before`]. A position
    /// inside deleted text goes to where the deletion was.
    pub fn map_position(&self, pos: usize, assoc: Assoc) -> usize {
        let mut old = 0;
        let mut new = 0;
        for op in &self.ops {
            match op {
                DeltaOp::Retain(n) => {
                    if pos < old + n {
                        return new + (pos - old);
                    }
                    old += n;
                    new += n;
                }
                DeltaOp::Insert(text) => {
                    if pos == old && assoc == Assoc::Before {
                        return new;
                    }
                    new += text.chars().count();
                }
                DeltaOp::Delete(n) => {
                    if pos < old + n {
                        return new;
                    }
                    old += n;
                }
            }
        }
        new + (pos - old.min(pos))
    }

    /// Merges neighbouring ops of one kind and drops empty ones and a trailing retain.
    pub fn normalized(mut self) -> Self {
        let mut ops: Vec<DeltaOp> = Vec::with_capacity(self.ops.len());
        for op in self.ops.drain(..) {
            match (ops.last_mut(), op) {
                (_, DeltaOp::Retain(0) | DeltaOp::Delete(0)) => {}
                (_, DeltaOp::Insert(text)) if text.is_empty() => {}
                (Some(DeltaOp::Retain(a)), DeltaOp::Retain(b)) => *a += b,
                (Some(DeltaOp::Delete(a)), DeltaOp::Delete(b)) => *a += b,
                (Some(DeltaOp::Insert(a)), DeltaOp::Insert(b)) => a.push_str(&b),
                (_, op) => ops.push(op),
            }
        }
        if matches!(ops.last(), Some(DeltaOp::Retain(_))) {
            ops.pop();
        }
        Self { ops }
    }
}

#[cfg(test)]
mod tests {
    use super::DeltaOp::{Delete, Insert, Retain};
    use super::*;

    fn delta(ops: Vec<DeltaOp>) -> Delta {
        Delta { ops }
    }

    fn ins(s: &str) -> DeltaOp {
        Insert(s.to_owned())
    }

    fn applied(d: &Delta, text: &str) -> String {
        let mut s = text.to_owned();
        d.apply_to(&mut s).unwrap();
        s
    }

    #[test]
    fn edits_merge_touching_ops_and_keep_coordinates_sequential() {
        let d = delta(vec![Retain(1), ins("😀"), Delete(2), ins("中"), Retain(3), Delete(1)]);
        assert_eq!(
            d.edits(),
            vec![
                TextEdit { start: 1, removed: 2, inserted: "😀中".into() },
                TextEdit { start: 6, removed: 1, inserted: String::new() },
            ]
        );
        assert_eq!(applied(&d, "aXYbcdEf"), "a😀中bcdf");
    }

    #[test]
    fn apply_to_counts_chars_not_bytes() {
        // "é" as e + combining acute is two chars; CRLF is two chars.
        let text = "e\u{301}\r\n👋中";
        let d = delta(vec![Retain(2), Delete(2), Retain(1), ins("🏽")]);
        assert_eq!(applied(&d, text), "e\u{301}👋🏽中");
        let past_end = delta(vec![Retain(7), ins("x")]);
        assert!(past_end.apply_to(&mut text.to_owned()).is_err());
    }

    #[test]
    fn empty_and_normalized() {
        assert!(Delta::default().is_empty());
        assert!(delta(vec![Retain(4)]).is_empty());
        assert!(!delta(vec![Retain(4), Delete(1)]).is_empty());
        let d = delta(vec![
            Retain(0),
            Retain(2),
            Retain(1),
            ins(""),
            ins("a"),
            ins("b"),
            Delete(0),
            Delete(1),
            Delete(2),
            Retain(5),
        ]);
        assert_eq!(d.normalized().ops, vec![Retain(3), ins("ab"), Delete(3)]);
    }

    #[test]
    fn map_position_through_insert_and_delete() {
        // "abcdef" -> "ab" + "XY" + (delete "cd") + "ef"
        let d = delta(vec![Retain(2), ins("XY"), Delete(2)]);
        assert_eq!(applied(&d, "abcdef"), "abXYef");
        assert_eq!(d.map_position(0, Assoc::Before), 0);
        assert_eq!(d.map_position(1, Assoc::After), 1);
        assert_eq!(d.map_position(2, Assoc::Before), 2, "stays before text inserted at it");
        assert_eq!(d.map_position(2, Assoc::After), 4, "moves after text inserted at it");
        assert_eq!(
            d.map_position(3, Assoc::Before),
            4,
            "inside deleted text: where the deletion was"
        );
        assert_eq!(d.map_position(4, Assoc::Before), 4);
        assert_eq!(d.map_position(5, Assoc::Before), 5);
        assert_eq!(d.map_position(6, Assoc::After), 6, "end of text");
    }

    #[test]
    fn map_position_counts_chars_of_astral_inserts() {
        // "a🙂b" -> "a" + "😀😀" + (delete "🙂") + "b" + "z"
        let d = delta(vec![Retain(1), Delete(1), ins("😀😀"), Retain(1), ins("z")]);
        assert_eq!(applied(&d, "a🙂b"), "a😀😀bz");
        assert_eq!(d.map_position(1, Assoc::Before), 1);
        assert_eq!(d.map_position(2, Assoc::Before), 1, "before the 'b' is the insertion point");
        assert_eq!(d.map_position(2, Assoc::After), 3, "after two one-char emoji");
        assert_eq!(d.map_position(3, Assoc::Before), 4);
        assert_eq!(d.map_position(3, Assoc::After), 5, "end of text, after the appended 'z'");
    }
}
