//! Finding text: literal or regex, case-sensitive or not, one line at a time.
//!
//! All positions are char offsets into the buffer. Matches never span a line break: each line is searched on its
//! own (without its terminator), which keeps a search over a 100 MB buffer free of a full-text copy.

use std::ops::Range;

use regex::{Regex, RegexBuilder};
use ropey::Rope;

use crate::text::line_text;

/// How a pattern is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Read the pattern as a regular expression instead of literal text.
    pub regex: bool,
    /// Ignore case.
    pub ignore_case: bool,
}

/// A compiled search pattern.
#[derive(Clone, Debug)]
pub struct Query {
    regex: Regex,
}

/// The outcome of a bounded search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A match, as a char range.
    Match(usize, usize),
    /// Nothing in the whole buffer.
    None,
    /// Budget exhausted; resume the forward search from this char offset.
    Pending(usize),
}

/// Bytes of whole lines copied and searched at once.
const WINDOW_BYTES: usize = 1 << 18;

/// A run of whole lines copied out of the rope, so the regex engine sees contiguous text.
struct Window {
    text: String,
    start_byte: usize,
    start_char: usize,
    end_char: usize,
}

impl Window {
    /// The whole lines from the one containing `first_char` until about [`WINDOW_BYTES`] later.
    fn forward(rope: &Rope, first_char: usize) -> Self {
        let line = rope.char_to_line(first_char);
        let start_char = rope.line_to_char(line);
        let start_byte = rope.char_to_byte(start_char);
        let end_byte = (start_byte + WINDOW_BYTES).min(rope.len_bytes());
        Window::lines(rope, start_char, line_end_after(rope, end_byte))
    }

    /// The whole lines ending with the one containing `last_char`, about [`WINDOW_BYTES`] long.
    fn backward(rope: &Rope, last_char: usize) -> Self {
        let end_char = line_end_after(rope, rope.char_to_byte(last_char));
        let end_byte = rope.char_to_byte(end_char);
        let start_line = rope.byte_to_line(end_byte.saturating_sub(WINDOW_BYTES));
        Window::lines(rope, rope.line_to_char(start_line), end_char)
    }

    fn lines(rope: &Rope, start_char: usize, end_char: usize) -> Self {
        let slice = rope.slice(start_char..end_char);
        let mut text = String::with_capacity(slice.len_bytes());
        slice.chunks().for_each(|c| text.push_str(c));
        Window { text, start_byte: rope.char_to_byte(start_char), start_char, end_char }
    }

    fn chars(&self, rope: &Rope, m: &regex::Match<'_>) -> (usize, usize) {
        (
            rope.byte_to_char(self.start_byte + m.start()),
            rope.byte_to_char(self.start_byte + m.end()),
        )
    }
}

/// Char offset of the start of the line after the one holding `byte` (or the end of the text).
fn line_end_after(rope: &Rope, byte: usize) -> usize {
    if byte >= rope.len_bytes() {
        return rope.len_chars();
    }
    let line = rope.byte_to_line(byte);
    if line + 1 < rope.len_lines() { rope.line_to_char(line + 1) } else { rope.len_chars() }
}

fn char_offset(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

fn spans_lines(m: &regex::Match<'_>) -> bool {
    m.as_str().contains(['\n', '\r'])
}

impl Query {
    /// Compiles `pattern`. Fails only for an invalid regex.
    pub fn new(pattern: &str, opts: SearchOptions) -> Result<Self, regex::Error> {
        let source = if opts.regex { pattern.to_owned() } else { regex::escape(pattern) };
        let regex = RegexBuilder::new(&source)
            .case_insensitive(opts.ignore_case)
            .multi_line(true)
            .crlf(true)
            .size_limit(1 << 22)
            .build()?;
        Ok(Query { regex })
    }

    /// Non-empty matches in `line`, as char ranges in the buffer.
    pub fn line_matches(&self, rope: &Rope, line: usize) -> Vec<Range<usize>> {
        self.matches_in(&line_text(rope, line), rope.line_to_char(line))
    }

    /// Non-empty matches in `text`, the buffer's text from char `base` on (part of one line: a screen's window
    /// of a long line, so that drawing never searches the rest of it), as char ranges in the buffer.
    pub fn matches_in(&self, text: &str, base: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut chars = 0;
        let mut byte = 0;
        for m in self.regex.find_iter(text).filter(|m| !m.is_empty()) {
            chars += char_offset(&text[byte..], m.start() - byte);
            let len = m.as_str().chars().count();
            out.push(base + chars..base + chars + len);
            chars += len;
            byte = m.end();
        }
        out
    }

    /// First valid match in `w` starting at or after char `from` and before char `until`.
    fn first_in(
        &self,
        rope: &Rope,
        w: &Window,
        from: usize,
        until: usize,
    ) -> Option<(usize, usize)> {
        let mut at = rope.char_to_byte(from.max(w.start_char)) - w.start_byte;
        while let Some(m) = self.regex.find_at(&w.text, at) {
            let (start, end) = w.chars(rope, &m);
            if start >= until {
                return None;
            }
            if !m.is_empty() && !spans_lines(&m) {
                return Some((start, end));
            }
            at = m.start() + w.text[m.start()..].chars().next().map_or(1, char::len_utf8);
            if at > w.text.len() {
                return None;
            }
        }
        None
    }

    /// First match starting at or after `from`, wrapping around the end; scans about `budget` bytes before
    /// answering [`Found::Pending`].
    pub fn find_next(&self, rope: &Rope, from: usize, budget: usize) -> Found {
        let from = from.min(rope.len_chars());
        self.scan_forward(rope, from, from, budget)
    }

    /// Continues a forward search that started at `origin` and has reached `resume` (wrapped when below origin).
    pub fn scan_forward(
        &self,
        rope: &Rope,
        origin: usize,
        mut resume: usize,
        budget: usize,
    ) -> Found {
        let mut scanned = 0;
        let mut wrapped = resume < origin;
        loop {
            if wrapped && resume >= origin {
                return Found::None;
            }
            if scanned >= budget {
                return Found::Pending(resume);
            }
            let w = Window::forward(rope, resume);
            let until = if wrapped { origin } else { usize::MAX };
            if let Some((s, e)) = self.first_in(rope, &w, resume, until) {
                return Found::Match(s, e);
            }
            scanned += w.text.len().max(1);
            resume = w.end_char;
            if resume >= rope.len_chars() {
                if wrapped || origin == 0 {
                    return Found::None;
                }
                wrapped = true;
                resume = 0;
            }
        }
    }

    /// The match starting at char `at` as `(K, N)`: it is the K-th (1-based) of the N matches in the buffer. Scans
    /// the whole buffer: for bounded sizes. `None` when no match starts at `at`.
    pub fn count(&self, rope: &Rope, at: usize) -> Option<(usize, usize)> {
        let (mut n, mut k) = (0, None);
        let mut resume = 0;
        while resume < rope.len_chars() {
            let w = Window::forward(rope, resume);
            let mut from = resume;
            while let Some((s, _)) = self.first_in(rope, &w, from, w.end_char) {
                n += 1;
                if s == at {
                    k = Some(n);
                }
                from = s + 1;
            }
            resume = w.end_char.max(resume + 1);
        }
        k.map(|k| (k, n))
    }

    /// Last match starting before `before`, wrapping around the start. Scans the whole buffer if need be.
    pub fn find_prev(&self, rope: &Rope, before: usize) -> Found {
        let before = before.min(rope.len_chars());
        let mut end = before;
        let mut wrapped = false;
        loop {
            let w = Window::backward(rope, end);
            let limit = if wrapped { w.end_char } else { before };
            let mut last = None;
            let mut from = w.start_char;
            while let Some((s, e)) = self.first_in(rope, &w, from, limit) {
                last = Some((s, e));
                from = s + 1;
            }
            if let Some((s, e)) = last {
                return Found::Match(s, e);
            }
            if wrapped && w.start_char <= before {
                return Found::None;
            }
            if w.start_char == 0 {
                if wrapped {
                    return Found::None;
                }
                wrapped = true;
                end = rope.len_chars();
            } else {
                end = w.start_char - 1;
            }
        }
    }

    /// The replacement for the match at `range`, with `$1`-style groups expanded when the query is a regex.
    pub fn expand(
        &self,
        rope: &Rope,
        range: Range<usize>,
        replacement: &str,
        regex: bool,
    ) -> String {
        if !regex {
            return replacement.to_owned();
        }
        let text: String = rope.slice(range).into();
        let mut out = String::new();
        match self.regex.captures(&text) {
            Some(caps) => caps.expand(replacement, &mut out),
            None => out.push_str(replacement),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(p: &str, regex: bool) -> Query {
        Query::new(p, SearchOptions { regex, ignore_case: false }).unwrap()
    }

    #[test]
    fn literal_search_wraps() {
        let r = Rope::from_str("中a.b\nxa.b\n");
        assert_eq!(q("a.b", false).find_next(&r, 0, 100), Found::Match(1, 4));
        assert_eq!(q("a.b", false).find_next(&r, 2, 100), Found::Match(6, 9));
        assert_eq!(q("a.b", false).find_next(&r, 7, 100), Found::Match(1, 4));
        assert_eq!(q("a.b", false).find_prev(&r, 6), Found::Match(1, 4));
        assert_eq!(q("a.b", false).find_prev(&r, 1), Found::Match(6, 9));
        assert_eq!(q("zz", false).find_prev(&r, 3), Found::None);
        assert_eq!(q("zz", false).find_next(&r, 0, 100), Found::None);
        assert_eq!(q("a\\.b", false).find_next(&r, 0, 100), Found::None);
    }

    #[test]
    fn regex_search_and_expand() {
        let r = Rope::from_str("let x = 10;\nlet yy = 200;\n");
        let query = q(r"(\w+) = (\d+)", true);
        assert_eq!(query.find_next(&r, 5, 100), Found::Match(16, 24));
        assert_eq!(query.expand(&r, 16..24, "$2 = $1", true), "200 = yy");
        assert_eq!(query.line_matches(&r, 0), vec![4..10]);
    }

    #[test]
    fn budget_yields_pending_and_resumes_across_windows() {
        let big = "x\n".repeat(WINDOW_BYTES);
        let r = Rope::from_str(&format!("y\n{big}{big}"));
        let Found::Pending(at) = q("y", false).find_next(&r, 3, 1) else {
            panic!("expected pending")
        };
        assert!(at > 3);
        assert_eq!(q("y", false).scan_forward(&r, 3, at, usize::MAX), Found::Match(0, 1));
        assert_eq!(q("y", false).find_next(&r, 1, usize::MAX), Found::Match(0, 1));
        assert_eq!(q("y", false).find_prev(&r, r.len_chars()), Found::Match(0, 1));
        assert_eq!(q("z", false).find_prev(&r, r.len_chars()), Found::None);
        assert_eq!(q("z", false).find_next(&r, 7, usize::MAX), Found::None);
    }

    #[test]
    fn matches_never_span_lines_and_anchors_are_per_line() {
        let r = Rope::from_str("ab\r\ncd\nab");
        assert_eq!(q(r"b\s+c", true).find_next(&r, 0, usize::MAX), Found::None);
        assert_eq!(q(r"^ab$", true).find_next(&r, 1, usize::MAX), Found::Match(7, 9));
        assert_eq!(q(r"^cd$", true).find_next(&r, 0, usize::MAX), Found::Match(4, 6));
        assert_eq!(q(r"b$", true).find_prev(&r, 8), Found::Match(1, 2));
        assert_eq!(q(r"b$", true).find_prev(&r, 9), Found::Match(8, 9));
    }
}
