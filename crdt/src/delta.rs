//! [`Delta`]: what a remote change did to the text, in chars, ready to patch a rope.
//!
//! All positions in this module are char offsets.

use crate::error::Result;
use crate::offsets::char_to_byte;

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
    /// point moves after the inserted text when `after_inserts` is true (a cursor typing there
    /// stays put otherwise). A position inside deleted text goes to where the deletion was.
    pub fn map_position(&self, pos: usize, after_inserts: bool) -> usize {
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
                    if pos == old && !after_inserts {
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
