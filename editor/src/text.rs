//! Text primitives shared by the model: the primitive [`Edit`], line endings, grapheme and word boundaries.
//!
//! All positions are char offsets into the buffer (ropey's unit).

use std::borrow::Cow;
use std::ops::Range;

use ropey::{Rope, RopeSlice};
use unicode_segmentation::{GraphemeCursor, GraphemeIncomplete};

/// A primitive change: replace the chars in `range` with `text`.
///
/// Insertions have an empty range, deletions an empty text. This is the unit the collaborative layer mirrors into
/// the CRDT, so it says nothing about cursors or undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Chars replaced, as char offsets in the buffer before the edit.
    pub range: Range<usize>,
    /// Replacement text.
    pub text: String,
}

impl Edit {
    /// Inserts `text` at char offset `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit { range: at..at, text: text.into() }
    }

    /// Deletes the chars in `range`.
    pub fn delete(range: Range<usize>) -> Self {
        Edit { range, text: String::new() }
    }

    /// Number of chars the edited span holds afterwards.
    pub fn inserted_len(&self) -> usize {
        self.text.chars().count()
    }

    /// Where a position ends up after this edit. A position inside the replaced range moves to its start; one at
    /// the start of an insertion moves past the inserted text with [`Assoc::After`].
    pub fn map_pos(&self, pos: usize, assoc: Assoc) -> usize {
        self.pos_mapper(assoc)(pos)
    }

    /// [`Edit::map_pos`] for many positions (the editor's marks: the authorship colouring keeps
    /// two per authored range): the inserted text is counted once, not once per position.
    pub fn pos_mapper(&self, assoc: Assoc) -> impl Fn(usize) -> usize + use<> {
        let Range { start, end } = self.range;
        let inserted = self.inserted_len();
        move |pos| {
            if pos < start || (pos == start && assoc == Assoc::Before && start == end) {
                pos
            } else if pos >= end {
                pos - (end - start) + inserted
            } else {
                start
            }
        }
    }
}

/// Which side of an insertion made exactly at a position the position stays on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assoc {
    /// Before the inserted text (the top of the view stays put when text is inserted there).
    Before,
    /// After the inserted text (cursors and marks move past what is typed at them).
    After,
}

/// The line terminator a file mostly uses; new lines typed by the user get this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
}

impl LineEnding {
    /// The terminator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }

    /// Short name for the status bar.
    pub fn label(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
        }
    }

    /// Guesses from the first line break of the text (only the first line is read, so this is O(line length)).
    pub fn detect(rope: &Rope) -> Self {
        if rope.len_lines() < 2 {
            return LineEnding::Lf;
        }
        let first = rope.line(0);
        let n = first.len_chars();
        if n >= 2 && first.char(n - 2) == '\r' && first.char(n - 1) == '\n' {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Number of chars of `line` without its terminator.
pub fn content_len(line: RopeSlice<'_>) -> usize {
    let n = line.len_chars();
    if n >= 2 && line.char(n - 1) == '\n' && line.char(n - 2) == '\r' {
        n - 2
    } else if n >= 1 && is_line_break(line.char(n - 1)) {
        n - 1
    } else {
        n
    }
}

/// Line `idx` of the rope without its terminator, borrowed when it lies in one chunk.
pub fn line_text(rope: &Rope, idx: usize) -> Cow<'_, str> {
    let line = rope.line(idx);
    line.slice(..content_len(line)).into()
}

/// Char offset of the end of line `idx`'s content (before its terminator).
pub fn line_content_end(rope: &Rope, idx: usize) -> usize {
    rope.line_to_char(idx) + content_len(rope.line(idx))
}

/// Char offset after the grapheme cluster that starts at or contains `pos`.
pub fn next_grapheme(rope: &Rope, pos: usize) -> usize {
    if pos >= rope.len_chars() {
        return rope.len_chars();
    }
    let byte = rope.char_to_byte(pos);
    let (mut chunk, mut chunk_byte, mut chunk_char, _) = rope.chunk_at_byte(byte);
    let mut cursor = GraphemeCursor::new(byte, rope.len_bytes(), true);
    loop {
        match cursor.next_boundary(chunk, chunk_byte) {
            Ok(None) => return rope.len_chars(),
            Ok(Some(b)) => return chunk_char + chunk[..b - chunk_byte].chars().count(),
            Err(GraphemeIncomplete::NextChunk) => {
                chunk_byte += chunk.len();
                (chunk, _, chunk_char, _) = rope.chunk_at_byte(chunk_byte);
            }
            Err(GraphemeIncomplete::PreContext(b)) => {
                let ctx = rope.chunk_at_byte(b - 1).0;
                cursor.provide_context(ctx, b - ctx.len());
            }
            Err(_) => return pos + 1,
        }
    }
}

/// Char offset of the start of the grapheme cluster before `pos`.
pub fn prev_grapheme(rope: &Rope, pos: usize) -> usize {
    if pos == 0 {
        return 0;
    }
    let pos = pos.min(rope.len_chars());
    let byte = rope.char_to_byte(pos);
    let (mut chunk, mut chunk_byte, mut chunk_char, _) = rope.chunk_at_byte(byte);
    let mut cursor = GraphemeCursor::new(byte, rope.len_bytes(), true);
    loop {
        match cursor.prev_boundary(chunk, chunk_byte) {
            Ok(None) => return 0,
            Ok(Some(b)) => return chunk_char + chunk[..b - chunk_byte].chars().count(),
            Err(GraphemeIncomplete::PrevChunk) => {
                (chunk, chunk_byte, chunk_char, _) = rope.chunk_at_byte(chunk_byte - 1);
            }
            Err(GraphemeIncomplete::PreContext(b)) => {
                let ctx = rope.chunk_at_byte(b - 1).0;
                cursor.provide_context(ctx, b - ctx.len());
            }
            Err(_) => return pos - 1,
        }
    }
}

/// Snaps `pos` to the start of the grapheme cluster containing it.
pub fn grapheme_floor(rope: &Rope, pos: usize) -> usize {
    let pos = pos.min(rope.len_chars());
    if pos == 0 || pos == rope.len_chars() {
        return pos;
    }
    let start = prev_grapheme(rope, next_grapheme(rope, pos));
    if start <= pos { start } else { prev_grapheme(rope, pos) }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Space,
    Word,
    Punct,
}

fn class(c: char) -> CharClass {
    if c.is_whitespace() {
        CharClass::Space
    } else if c.is_alphanumeric() || c == '_' {
        CharClass::Word
    } else {
        CharClass::Punct
    }
}

/// Start of the next word after `pos` (Ctrl+Right): skips whitespace, then one run of word or punctuation chars.
pub fn next_word(rope: &Rope, pos: usize) -> usize {
    let mut p = pos;
    let mut chars = rope.chars_at(pos.min(rope.len_chars())).peekable();
    while chars.next_if(|c| class(*c) == CharClass::Space).is_some() {
        p += 1;
    }
    if let Some(first) = chars.next() {
        p += 1;
        let k = class(first);
        while chars.next_if(|c| class(*c) == k).is_some() {
            p += 1;
        }
    }
    p
}

/// Start of the word before `pos` (Ctrl+Left).
pub fn prev_word(rope: &Rope, pos: usize) -> usize {
    let mut p = pos.min(rope.len_chars());
    let mut chars = rope.chars_at(p);
    let mut k = None;
    while let Some(c) = chars.prev() {
        let ck = class(c);
        match k {
            None if ck == CharClass::Space => {}
            None => k = Some(ck),
            Some(k) if k != ck => break,
            Some(_) => {}
        }
        p -= 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphemes_step_over_clusters() {
        let r = Rope::from_str("e\u{301}x👍🏽\r\n中");
        assert_eq!(next_grapheme(&r, 0), 2);
        assert_eq!(next_grapheme(&r, 2), 3);
        assert_eq!(next_grapheme(&r, 3), 5);
        assert_eq!(next_grapheme(&r, 5), 7);
        assert_eq!(prev_grapheme(&r, 7), 5);
        assert_eq!(prev_grapheme(&r, 5), 3);
        assert_eq!(prev_grapheme(&r, 2), 0);
        assert_eq!(grapheme_floor(&r, 1), 0);
        assert_eq!(grapheme_floor(&r, 4), 3);
    }

    #[test]
    fn graphemes_across_chunk_boundaries() {
        let text = "👍🏽".repeat(2000);
        let r = Rope::from_str(&text);
        let mut p = 0;
        let mut n = 0;
        while p < r.len_chars() {
            p = next_grapheme(&r, p);
            n += 1;
        }
        assert_eq!(n, 2000);
        while p > 0 {
            p = prev_grapheme(&r, p);
            n -= 1;
        }
        assert_eq!(n, 0);
    }

    #[test]
    fn words() {
        let r = Rope::from_str("foo.bar  baz\nqux");
        assert_eq!(next_word(&r, 0), 3);
        assert_eq!(next_word(&r, 3), 4);
        assert_eq!(next_word(&r, 4), 7);
        assert_eq!(next_word(&r, 7), 12);
        assert_eq!(prev_word(&r, 12), 9);
        assert_eq!(prev_word(&r, 9), 4);
        assert_eq!(prev_word(&r, 4), 3);
        assert_eq!(prev_word(&r, 14), 13);
    }

    #[test]
    fn map_pos_through_edits() {
        let e = Edit { range: 2..5, text: "xy".into() };
        assert_eq!(e.map_pos(1, Assoc::After), 1);
        assert_eq!(e.map_pos(3, Assoc::After), 2);
        assert_eq!(e.map_pos(5, Assoc::After), 4);
        assert_eq!(e.map_pos(9, Assoc::After), 8);
        let ins = Edit::insert(2, "ab");
        assert_eq!(ins.map_pos(2, Assoc::After), 4);
        assert_eq!(ins.map_pos(2, Assoc::Before), 2);
    }

    #[test]
    fn line_endings() {
        assert_eq!(LineEnding::detect(&Rope::from_str("a\r\nb")), LineEnding::CrLf);
        assert_eq!(LineEnding::detect(&Rope::from_str("a\nb\r\n")), LineEnding::Lf);
        let r = Rope::from_str("ab\r\ncd");
        assert_eq!(line_text(&r, 0), "ab");
        assert_eq!(line_content_end(&r, 0), 2);
        assert_eq!(line_content_end(&r, 1), 6);
    }
}
