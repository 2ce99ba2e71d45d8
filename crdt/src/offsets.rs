//! Conversion between the three ways tandem counts positions in text.
//!
//! - **chars** (Unicode scalar values): the editor's unit (ropey) and the unit of every public
//!   `tandem-crdt` API unless a name says otherwise.
//! - **UTF-16 code units**: Yjs' unit. Our yrs documents count in it so that indices, deltas and
//!   sticky positions agree with browsers and stock Yjs clients.
//! - **UTF-8 bytes**: Rust's `str` indexing.
//!
//! Chars and UTF-16 units differ only for characters outside the Basic Multilingual Plane (emoji
//! and other astral characters), which take two UTF-16 units. [`AstralIndex`] remembers where those
//! are, so a whole document can be converted in `O(log k)` for `k` astral characters instead of a
//! scan of the text; the free functions convert within one string.

use std::ops::Range;

use crate::error::{Error, Result};

/// Byte offset of char `char_idx` in `s`; `char_idx == char count` gives `s.len()`.
pub fn char_to_byte(s: &str, char_idx: usize) -> Result<usize> {
    if char_idx == 0 {
        return Ok(0);
    }
    let mut seen = 0;
    for (byte, _) in s.char_indices() {
        if seen == char_idx {
            return Ok(byte);
        }
        seen += 1;
    }
    if seen == char_idx {
        Ok(s.len())
    } else {
        Err(Error::OutOfRange { start: char_idx, end: char_idx, len: seen })
    }
}

/// Char index of byte offset `byte_idx` in `s`, which must lie on a char boundary.
pub fn byte_to_char(s: &str, byte_idx: usize) -> Result<usize> {
    if !s.is_char_boundary(byte_idx) {
        let len = s.chars().count();
        return Err(Error::OutOfRange { start: byte_idx, end: byte_idx, len });
    }
    Ok(s[..byte_idx].chars().count())
}

/// UTF-16 offset of char `char_idx` in `s`.
pub fn char_to_utf16(s: &str, char_idx: usize) -> Result<usize> {
    let mut units = 0;
    let mut chars = s.chars();
    for seen in 0..char_idx {
        match chars.next() {
            Some(c) => units += c.len_utf16(),
            None => return Err(Error::OutOfRange { start: char_idx, end: char_idx, len: seen }),
        }
    }
    Ok(units)
}

/// Char index of UTF-16 offset `utf16_idx` in `s`; an offset inside a surrogate pair is an error.
pub fn utf16_to_char(s: &str, utf16_idx: usize) -> Result<usize> {
    let mut units = 0;
    for (chars, c) in s.chars().enumerate() {
        if units == utf16_idx {
            return Ok(chars);
        }
        units += c.len_utf16();
        if units > utf16_idx {
            return Err(Error::BadUtf16Offset(utf16_idx));
        }
    }
    if units == utf16_idx { Ok(s.chars().count()) } else { Err(Error::BadUtf16Offset(utf16_idx)) }
}

/// Length of `s` in UTF-16 code units.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// True when `c` takes two UTF-16 code units.
fn is_astral(c: char) -> bool {
    c.len_utf16() == 2
}

/// The char positions of every astral character of a text, kept in step with its edits, so that
/// char and UTF-16 offsets of the whole text convert without reading it.
///
/// Positions are char indices, sorted. The UTF-16 offset of the astral char at `positions[i]` is
/// `positions[i] + i`, which is strictly increasing too, so both directions are binary searches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AstralIndex {
    positions: Vec<usize>,
}

impl AstralIndex {
    /// The index of a whole text.
    pub fn from_text(text: &str) -> Self {
        let positions =
            text.chars().enumerate().filter(|(_, c)| is_astral(*c)).map(|(i, _)| i).collect();
        Self { positions }
    }

    /// How many astral characters the text holds.
    pub fn astral_count(&self) -> usize {
        self.positions.len()
    }

    /// UTF-16 offset of char index `char_idx`.
    pub fn char_to_utf16(&self, char_idx: usize) -> usize {
        char_idx + self.positions.partition_point(|&p| p < char_idx)
    }

    /// Char index of UTF-16 offset `utf16_idx`; an offset inside a surrogate pair is an error.
    pub fn utf16_to_char(&self, utf16_idx: usize) -> Result<usize> {
        // Astral chars that end at or before `utf16_idx`: their start (p + i) + 2 <= utf16_idx.
        // `p + i` grows strictly with `i`, so the predicate is monotone and a binary search holds.
        let (mut lo, mut hi) = (0, self.positions.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.positions[mid] + mid + 2 <= utf16_idx {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let ended = lo;
        if self.positions.get(ended).is_some_and(|&p| p + ended + 1 == utf16_idx) {
            return Err(Error::BadUtf16Offset(utf16_idx));
        }
        Ok(utf16_idx - ended)
    }

    /// Records that `text` was inserted at char `char_idx`.
    pub fn insert(&mut self, char_idx: usize, text: &str) {
        let at = self.positions.partition_point(|&p| p < char_idx);
        let mut inserted_chars = 0;
        let mut new_positions = Vec::new();
        for (i, c) in text.chars().enumerate() {
            inserted_chars += 1;
            if is_astral(c) {
                new_positions.push(char_idx + i);
            }
        }
        for p in &mut self.positions[at..] {
            *p += inserted_chars;
        }
        self.positions.splice(at..at, new_positions);
    }

    /// Records that the chars in `range` were removed (an empty or inverted range removes
    /// nothing).
    pub fn remove(&mut self, range: Range<usize>) {
        if range.start >= range.end {
            return;
        }
        let from = self.positions.partition_point(|&p| p < range.start);
        let to = self.positions.partition_point(|&p| p < range.end);
        let removed = range.end - range.start;
        for p in &mut self.positions[to..] {
            *p -= removed;
        }
        self.positions.drain(from..to);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Emoji (astral), a combining mark (two chars, one grapheme), CJK (BMP, 3 UTF-8 bytes), CRLF.
    const MIXED: &str = "a😀e\u{301}中\r\n👋🏽z";

    #[test]
    fn free_functions_count_each_unit() {
        // chars: a 😀 e ◌́ 中 \r \n 👋 🏽 z
        assert_eq!(MIXED.chars().count(), 10);
        assert_eq!(utf16_len(MIXED), 13);
        assert_eq!(char_to_byte(MIXED, 0).unwrap(), 0);
        assert_eq!(char_to_byte(MIXED, 2).unwrap(), 5);
        assert_eq!(char_to_byte(MIXED, 4).unwrap(), 8, "the combining mark is its own char");
        assert_eq!(char_to_byte(MIXED, 5).unwrap(), 11, "CJK takes three bytes");
        assert_eq!(char_to_byte(MIXED, 7).unwrap(), 13, "CR and LF are two chars");
        assert_eq!(char_to_byte(MIXED, 10).unwrap(), MIXED.len());
        assert!(matches!(char_to_byte(MIXED, 11), Err(Error::OutOfRange { len: 10, .. })));
        assert_eq!(byte_to_char(MIXED, 13).unwrap(), 7);
        assert!(byte_to_char(MIXED, 2).is_err(), "byte 2 is inside the emoji");
        assert!(byte_to_char(MIXED, 100).is_err());
        assert_eq!(char_to_utf16(MIXED, 2).unwrap(), 3);
        assert_eq!(char_to_utf16(MIXED, 9).unwrap(), 12);
        assert!(char_to_utf16(MIXED, 11).is_err());
        assert_eq!(utf16_to_char(MIXED, 3).unwrap(), 2);
        assert_eq!(utf16_to_char(MIXED, 13).unwrap(), 10);
        assert!(matches!(utf16_to_char(MIXED, 2), Err(Error::BadUtf16Offset(2))));
        assert!(utf16_to_char(MIXED, 14).is_err());
        assert_eq!(utf16_to_char("", 0).unwrap(), 0);
    }

    #[test]
    fn index_agrees_with_free_functions_on_mixed_text() {
        let index = AstralIndex::from_text(MIXED);
        assert_eq!(index.astral_count(), 3);
        for c in 0..=10 {
            assert_eq!(index.char_to_utf16(c), char_to_utf16(MIXED, c).unwrap(), "char {c}");
        }
        for u in 0..=13 {
            match utf16_to_char(MIXED, u) {
                Ok(c) => assert_eq!(index.utf16_to_char(u).unwrap(), c, "unit {u}"),
                Err(_) => assert!(index.utf16_to_char(u).is_err(), "unit {u} splits a pair"),
            }
        }
    }

    #[test]
    fn index_follows_edits() {
        let mut text = String::from("ab");
        let mut index = AstralIndex::from_text(&text);
        index.insert(1, "😀中👋");
        text.insert_str(1, "😀中👋");
        assert_eq!(index, AstralIndex::from_text(&text));
        index.remove(2..4);
        assert_eq!(index, AstralIndex::from_text("a😀b"));
        #[allow(clippy::reversed_empty_ranges)]
        index.remove(3..1);
        assert_eq!(index, AstralIndex::from_text("a😀b"), "an inverted range is a no-op");
    }

    fn any_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('a'),
                Just('\n'),
                Just('é'),
                Just('中'),
                Just('\u{301}'),
                Just('😀'),
                Just('𝄞')
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Insert(usize, String),
        Remove(usize, usize),
    }

    fn any_edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), any_text()).prop_map(|(at, text)| Edit::Insert(at, text)),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Remove(a, b)),
        ]
    }

    proptest! {
        /// The index, kept in step with random edits, converts exactly like a scan of the text.
        #[test]
        fn index_matches_naive_model(start in any_text(), edits in proptest::collection::vec(any_edit(), 0..20)) {
            let mut chars: Vec<char> = start.chars().collect();
            let mut index = AstralIndex::from_text(&start);
            for edit in edits {
                match edit {
                    Edit::Insert(at, text) => {
                        let at = at % (chars.len() + 1);
                        index.insert(at, &text);
                        chars.splice(at..at, text.chars());
                    }
                    Edit::Remove(a, b) => {
                        let (a, b) = (a % (chars.len() + 1), b % (chars.len() + 1));
                        let range = a.min(b)..a.max(b);
                        index.remove(range.clone());
                        chars.drain(range);
                    }
                }
                let text: String = chars.iter().collect();
                prop_assert_eq!(&index, &AstralIndex::from_text(&text));
                for c in 0..=chars.len() {
                    prop_assert_eq!(index.char_to_utf16(c), char_to_utf16(&text, c).unwrap());
                }
                for u in 0..=utf16_len(&text) {
                    prop_assert_eq!(index.utf16_to_char(u).ok(), utf16_to_char(&text, u).ok());
                }
            }
        }
    }
}
