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

/// Where a search stopped when it hit its line budget before finding anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A match, as a char range.
    Match(usize, usize),
    /// Nothing in the whole buffer.
    None,
    /// Budget exhausted; resume from this line (the search has not wrapped past its origin yet).
    Pending(usize),
}

fn char_offset(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

impl Query {
    /// Compiles `pattern`. Fails only for an invalid regex.
    pub fn new(pattern: &str, opts: SearchOptions) -> Result<Self, regex::Error> {
        let source = if opts.regex { pattern.to_owned() } else { regex::escape(pattern) };
        let regex = RegexBuilder::new(&source)
            .case_insensitive(opts.ignore_case)
            .size_limit(1 << 22)
            .build()?;
        Ok(Query { regex })
    }

    /// Non-empty matches in `line`, as char ranges in the buffer.
    pub fn line_matches(&self, rope: &Rope, line: usize) -> Vec<Range<usize>> {
        let text = line_text(rope, line);
        let base = rope.line_to_char(line);
        let mut out = Vec::new();
        let mut chars = 0;
        let mut byte = 0;
        for m in self.regex.find_iter(&text).filter(|m| !m.is_empty()) {
            chars += char_offset(&text[byte..], m.start() - byte);
            let len = m.as_str().chars().count();
            out.push(base + chars..base + chars + len);
            chars += len;
            byte = m.end();
        }
        out
    }

    /// First match starting at or after `from`, wrapping around the end; scans at most `budget` lines.
    pub fn find_next(&self, rope: &Rope, from: usize, budget: usize) -> Found {
        let from = from.min(rope.len_chars());
        let start_line = rope.char_to_line(from);
        if let Some(m) = self.line_matches(rope, start_line).into_iter().find(|m| m.start >= from) {
            return Found::Match(m.start, m.end);
        }
        self.scan_forward(rope, start_line, start_line + 1, budget)
    }

    /// Continues a [`Found::Pending`] forward search that began on `origin_line`.
    pub fn scan_forward(
        &self,
        rope: &Rope,
        origin_line: usize,
        resume: usize,
        budget: usize,
    ) -> Found {
        let lines = rope.len_lines();
        // Lines are visited in order resume, resume+1, …, wrapping, until origin_line is reached again (inclusive,
        // for matches before the origin on the origin line).
        let total = (origin_line + lines - resume % lines.max(1)) % lines.max(1) + 1;
        for i in 0..total.min(budget) {
            let line = (resume + i) % lines;
            if let Some(m) = self.line_matches(rope, line).into_iter().next() {
                return Found::Match(m.start, m.end);
            }
        }
        if budget < total { Found::Pending((resume + budget) % lines) } else { Found::None }
    }

    /// Last match ending before `before`, wrapping around the start; scans at most `budget` lines.
    pub fn find_prev(&self, rope: &Rope, before: usize, budget: usize) -> Found {
        let before = before.min(rope.len_chars());
        let lines = rope.len_lines();
        let start_line = rope.char_to_line(before);
        if let Some(m) =
            self.line_matches(rope, start_line).into_iter().rev().find(|m| m.start < before)
        {
            return Found::Match(m.start, m.end);
        }
        for i in 1..=lines.min(budget) {
            let line = (start_line + lines - i % lines) % lines;
            if let Some(m) = self.line_matches(rope, line).into_iter().next_back() {
                return Found::Match(m.start, m.end);
            }
        }
        if budget < lines { Found::Pending(start_line) } else { Found::None }
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
        assert_eq!(q("a.b", false).find_prev(&r, 6, 100), Found::Match(1, 4));
        assert_eq!(q("a.b", false).find_prev(&r, 1, 100), Found::Match(6, 9));
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
    fn budget_yields_pending() {
        let r = Rope::from_str(&"x\n".repeat(10));
        assert_eq!(q("y", false).find_next(&r, 0, 3), Found::Pending(4));
        assert_eq!(q("y", false).scan_forward(&r, 0, 4, 100), Found::None);
    }
}
