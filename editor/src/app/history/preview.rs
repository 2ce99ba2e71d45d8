//! The history panel's preview: the current text and a version's side by side, each with what
//! differs marked — in the current text what the version lacks, in the version what it adds.
//! Pure; the change is the same minimal diff a restore makes ([`tandem_crdt::diff`]).
//!
//! All positions are char offsets.

use std::ops::Range;

/// A text with some of its chars marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// The text.
    pub text: String,
    /// Marked chars, in order, not overlapping.
    pub marks: Vec<Range<usize>>,
}

impl Marked {
    /// The line (0-based) of the first marked char, if any.
    pub fn first_marked_line(&self) -> Option<usize> {
        let start = self.marks.first()?.start;
        Some(self.text.chars().take(start).filter(|&c| c == '\n').count())
    }

    /// Lines from `first` on, at most `count`, each as `(chars, marked)` pieces: the line's
    /// text cut where marks start and end. A marked line break shows as a marked space at the
    /// line's end, so a joined or split line is seen.
    pub fn lines(&self, first: usize, count: usize) -> Vec<Vec<(String, bool)>> {
        let mut lines = Vec::new();
        let mut pieces: Vec<(String, bool)> = Vec::new();
        let mut line = 0;
        let mut marks = self.marks.iter().peekable();
        for (at, c) in self.text.chars().enumerate() {
            if lines.len() >= count {
                break;
            }
            while marks.next_if(|m| m.end <= at).is_some() {}
            let marked = marks.peek().is_some_and(|m| m.contains(&at));
            if line >= first {
                let shown = match c {
                    '\n' if marked => Some(' '),
                    '\n' => None,
                    '\t' => Some(' '),
                    c => Some(c),
                };
                if let Some(shown) = shown {
                    match pieces.last_mut() {
                        Some((text, m)) if *m == marked => text.push(shown),
                        _ => pieces.push((shown.to_string(), marked)),
                    }
                }
            }
            if c == '\n' {
                if line >= first {
                    lines.push(std::mem::take(&mut pieces));
                }
                line += 1;
            }
        }
        if lines.len() < count && line >= first {
            lines.push(pieces);
        }
        lines
    }
}

/// The current text and a version's, each marked where they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The current text; marked: what restoring the version would remove.
    pub current: Marked,
    /// The version's text; marked: what restoring it would bring back.
    pub version: Marked,
}

impl Preview {
    /// Compares `current` with `version`.
    pub fn new(current: &str, version: &str) -> Self {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        // Where the version's chars are relative to the current text's, so far.
        let mut shift: isize = 0;
        for change in tandem_crdt::diff::minimal_edits(current, version) {
            if !change.range.is_empty() {
                removed.push(change.range.clone());
            }
            let at = change.range.start.saturating_add_signed(shift);
            let len = change.text.chars().count();
            if len > 0 {
                added.push(at..at + len);
            }
            shift += len as isize - change.range.len() as isize;
        }
        Self {
            current: Marked { text: current.to_owned(), marks: removed },
            version: Marked { text: version.to_owned(), marks: added },
        }
    }

    /// Whether the texts are the same.
    pub fn is_same(&self) -> bool {
        self.current.marks.is_empty() && self.version.marks.is_empty()
    }

    /// The first line worth showing: a little above the first difference in either text.
    pub fn first_interesting_line(&self) -> usize {
        let first = [self.current.first_marked_line(), self.version.first_marked_line()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(0);
        first.saturating_sub(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str, marked: bool) -> (String, bool) {
        (text.to_owned(), marked)
    }

    #[test]
    fn what_a_restore_removes_and_brings_back_is_marked() {
        let preview = Preview::new("one two 👋 three\n", "one 2 👋 three\nfour\n");
        assert_eq!(preview.current.marks, vec![4..7]);
        assert_eq!(preview.version.marks, vec![4..5, 13..18]);
        assert_eq!(
            preview.current.lines(0, 5),
            vec![vec![piece("one ", false), piece("two", true), piece(" 👋 three", false)], vec![]]
        );
        assert_eq!(
            preview.version.lines(0, 5),
            vec![
                vec![
                    piece("one ", false),
                    piece("2", true),
                    piece(" 👋 three", false),
                    piece(" ", true)
                ],
                vec![piece("four", true)],
                vec![],
            ]
        );
        assert!(!preview.is_same());
        assert!(Preview::new("same", "same").is_same());
    }

    #[test]
    fn lines_start_where_asked_and_a_removed_line_break_shows() {
        let text = (0..30).map(|i| format!("line {i}\n")).collect::<String>();
        let joined = text.replacen("line 20\n", "line 20", 1);
        let preview = Preview::new(&text, &joined);
        assert_eq!(preview.first_interesting_line(), 18);
        let lines = preview.current.lines(19, 3);
        assert_eq!(
            lines,
            vec![
                vec![piece("line 19", false)],
                vec![piece("line 20", false), piece(" ", true)],
                vec![piece("line 21", false)],
            ]
        );
        assert_eq!(preview.version.lines(20, 1), vec![vec![piece("line 20line 21", false)]]);
        assert_eq!(Preview::new("", "").current.lines(0, 3), vec![vec![]]);
        assert_eq!(Preview::new("a\tb", "").current.lines(0, 1), vec![vec![piece("a b", true)]]);
    }
}
