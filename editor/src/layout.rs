//! Where the graphemes of a line land on screen: widths, tab stops and soft wrap.
//!
//! Offsets are char offsets from the start of the line; columns and rows are terminal cells relative to the line's
//! first visual row. Wide CJK and emoji take two cells; a grapheme never straddles two rows.

use unicode_segmentation::{GraphemeIndices, UnicodeSegmentation};
use unicode_width::UnicodeWidthStr;

/// How lines are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutOptions {
    /// Cells per tab stop (at least 1).
    pub tab_width: usize,
    /// Row width for soft wrap; `None` lays each line out on a single row.
    pub wrap: Option<usize>,
}

/// Where a layout resumes: a glyph's char offset in the line, visual row and column. Laying out the text from
/// that glyph on with [`Glyphs::resume`] places every later glyph as laying out the whole line would, provided
/// the glyph starts a row or soft wrap is off (see [`Resume::exact`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resume {
    /// Char offset in the line.
    pub offset: usize,
    /// Visual row.
    pub row: usize,
    /// Column within the row.
    pub col: usize,
}

impl Resume {
    /// Whether layout can resume here exactly: without wrap a glyph's column is all the state there is (tab stops
    /// depend on it alone); with wrap, only at a row's start does no earlier word's width matter any more.
    pub fn exact(&self, opts: LayoutOptions) -> bool {
        opts.wrap.is_none() || self.col == 0
    }
}

/// One grapheme placed on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glyph<'a> {
    /// The grapheme's text as in the buffer.
    pub text: &'a str,
    /// Char offset in the line.
    pub offset: usize,
    /// Chars in the grapheme.
    pub chars: usize,
    /// Visual row within the line.
    pub row: usize,
    /// Column within the row.
    pub col: usize,
    /// Cells taken.
    pub width: usize,
}

/// Cells a grapheme other than a tab takes: control chars and lone combining marks take one cell (they are drawn
/// as a substitute), wide chars two.
pub fn grapheme_width(g: &str) -> usize {
    if g.chars().next().is_some_and(char::is_control) { 1 } else { g.width().clamp(1, 2) }
}

/// The grapheme clusters of a line.
enum Clusters<'a> {
    /// An ASCII line (the common case, laid out on every frame): every byte is a cluster, since the one
    /// multi-byte ASCII cluster, CR LF, cannot occur inside a line's content.
    Ascii { line: &'a str, at: usize },
    /// Anything else, segmented by Unicode's rules.
    Unicode(GraphemeIndices<'a>),
}

impl<'a> Clusters<'a> {
    /// Cells the word starting with the next cluster takes: the clusters up to the next space or tab.
    fn next_word_width(&self) -> usize {
        match self {
            Clusters::Ascii { line, at } => {
                line.as_bytes()[*at..].iter().take_while(|b| !matches!(b, b' ' | b'\t')).count()
            }
            Clusters::Unicode(graphemes) => graphemes
                .as_str()
                .graphemes(true)
                .take_while(|g| !is_blank(g))
                .map(grapheme_width)
                .sum(),
        }
    }

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Clusters::Ascii { line, at } => {
                let text = line.get(*at..*at + 1)?;
                *at += 1;
                Some(text)
            }
            Clusters::Unicode(graphemes) => graphemes.next().map(|(_, g)| g),
        }
    }
}

/// Iterator over the glyphs of one line's content (without its terminator). Soft wrap breaks before a word that
/// would not fit on the row (a word longer than a row breaks where the row ends).
pub struct Glyphs<'a> {
    graphemes: Clusters<'a>,
    opts: LayoutOptions,
    offset: usize,
    row: usize,
    col: usize,
    /// The previous grapheme was a space or tab (or there was none): the next one may start a word.
    after_blank: bool,
}

fn is_blank(g: &str) -> bool {
    g == " " || g == "\t"
}

impl<'a> Glyphs<'a> {
    /// Lays out `line` from its start.
    pub fn new(line: &'a str, opts: LayoutOptions) -> Self {
        Glyphs::resume(line, opts, Resume::default())
    }

    /// Lays out `text`, the part of a line from the glyph at `at` on, with offsets, rows and columns counted from
    /// the line's start. Exact when `at` is (see [`Resume::exact`]) and `text` is not cut inside a grapheme or, with
    /// soft wrap, within a row's width after the last glyph used (a word's width looks ahead).
    pub fn resume(line: &'a str, opts: LayoutOptions, at: Resume) -> Self {
        let opts =
            LayoutOptions { tab_width: opts.tab_width.max(1), wrap: opts.wrap.map(|w| w.max(2)) };
        let graphemes = if line.is_ascii() && !line.contains("\r\n") {
            Clusters::Ascii { line, at: 0 }
        } else {
            Clusters::Unicode(line.grapheme_indices(true))
        };
        Glyphs { graphemes, opts, offset: at.offset, row: at.row, col: at.col, after_blank: true }
    }
}

impl<'a> Iterator for Glyphs<'a> {
    type Item = Glyph<'a>;

    fn next(&mut self) -> Option<Glyph<'a>> {
        let word_width = match self.opts.wrap {
            Some(_) if self.after_blank && self.col > 0 => Some(self.graphemes.next_word_width()),
            _ => None,
        };
        let text = self.graphemes.next()?;
        let blank = is_blank(text);
        if let (Some(wrap), Some(word)) = (self.opts.wrap, word_width)
            && !blank
            && self.col + word > wrap
            && word <= wrap
        {
            // The word fits on a row of its own but not on what is left of this one.
            self.row += 1;
            self.col = 0;
        }
        self.after_blank = blank;
        let tab = |col: usize| self.opts.tab_width - col % self.opts.tab_width;
        let mut width = if text == "\t" { tab(self.col) } else { grapheme_width(text) };
        if let Some(wrap) = self.opts.wrap {
            if self.col > 0 && self.col + width > wrap {
                self.row += 1;
                self.col = 0;
                if text == "\t" {
                    width = tab(0);
                }
            }
            width = width.min(wrap);
        }
        let chars = if text.len() == 1 { 1 } else { text.chars().count() };
        let glyph = Glyph { text, offset: self.offset, chars, row: self.row, col: self.col, width };
        self.offset += chars;
        self.col += width;
        Some(glyph)
    }
}

/// Visual (row, column) of char `offset` in `line`; the end of the line is just after the last glyph.
pub fn position_of(line: &str, offset: usize, opts: LayoutOptions) -> (usize, usize) {
    let mut end = (0, 0);
    for g in Glyphs::new(line, opts) {
        if g.offset + g.chars > offset {
            return (g.row, g.col);
        }
        end = (g.row, g.col + g.width);
    }
    if let Some(wrap) = opts.wrap
        && end.1 >= wrap.max(2)
    {
        return (end.0 + 1, 0);
    }
    end
}

/// Number of visual rows `line` takes (at least 1).
pub fn row_count(line: &str, opts: LayoutOptions) -> usize {
    if opts.wrap.is_none() {
        return 1;
    }
    let (row, _) = position_of(line, usize::MAX, opts);
    row + 1
}

/// Char offset in `line` displayed at (`row`, `col`): the glyph covering that cell, or the end of the row when
/// the cell lies past it.
pub fn offset_at(line: &str, row: usize, col: usize, opts: LayoutOptions) -> usize {
    let mut prev: Option<Glyph<'_>> = None;
    for g in Glyphs::new(line, opts) {
        if g.row > row {
            // Past the end of a wrapped row: stay on that row's last glyph rather than jump to the next row.
            return prev.filter(|p| p.row == row).map_or(g.offset, |p| p.offset);
        }
        if g.row == row && col < g.col + g.width {
            return g.offset;
        }
        prev = Some(g);
    }
    prev.map_or(0, |p| p.offset + p.chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOWRAP: LayoutOptions = LayoutOptions { tab_width: 4, wrap: None };

    #[test]
    fn widths_and_tabs() {
        let cols: Vec<_> =
            Glyphs::new("a\t中👍🏽e\u{301}", NOWRAP).map(|g| (g.col, g.width)).collect();
        assert_eq!(cols, vec![(0, 1), (1, 3), (4, 2), (6, 2), (8, 1)]);
        assert_eq!(position_of("a\t中b", 3, NOWRAP), (0, 6));
        assert_eq!(position_of("a\t中b", 4, NOWRAP), (0, 7));
        assert_eq!(offset_at("a\t中b", 0, 5, NOWRAP), 2);
        assert_eq!(offset_at("a\t中b", 0, 50, NOWRAP), 4);
    }

    #[test]
    fn wrap_moves_wide_chars_to_next_row() {
        let opts = LayoutOptions { tab_width: 4, wrap: Some(5) };
        let rows: Vec<_> = Glyphs::new("abcd中ef", opts).map(|g| (g.row, g.col)).collect();
        assert_eq!(rows, vec![(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 2), (1, 3)]);
        assert_eq!(row_count("abcd中ef", opts), 2);
        assert_eq!(row_count("abcde", opts), 2);
        assert_eq!(row_count("", opts), 1);
        assert_eq!(position_of("abcde", 5, opts), (1, 0));
        assert_eq!(offset_at("abcd中ef", 0, 4, opts), 3);
        assert_eq!(offset_at("abcd中ef", 1, 9, opts), 7);
    }

    #[test]
    fn soft_wrap_breaks_between_words() {
        let opts = LayoutOptions { tab_width: 4, wrap: Some(10) };
        let rows = |line: &str| -> Vec<String> {
            let mut rows: Vec<String> = Vec::new();
            for g in Glyphs::new(line, opts) {
                if rows.len() <= g.row {
                    rows.resize(g.row + 1, String::new());
                }
                rows[g.row].push_str(g.text);
            }
            rows
        };
        assert_eq!(rows("the quick brown fox"), ["the quick ", "brown fox"]);
        assert_eq!(rows("a verylongwordindeed x"), ["a verylong", "wordindeed", " x"]);
        assert_eq!(rows("día über straße"), ["día über ", "straße"]);
        assert_eq!(row_count("the quick brown fox", opts), 2);
        assert_eq!(offset_at("the quick brown fox", 1, 0, opts), 10);
        assert_eq!(position_of("the quick brown fox", 11, opts), (1, 1));
    }

    #[test]
    fn ascii_lines_lay_out_as_unicode_segmentation_says() {
        let opts = LayoutOptions { tab_width: 4, wrap: Some(7) };
        for line in ["let x = 1;\t// note", "a\rb\x07c", "\r\n", "", "\t\tend \x1b[0m"] {
            let fast: Vec<_> = Glyphs::new(line, opts).map(|g| (g.text, g.row, g.col)).collect();
            let texts: Vec<_> = line.graphemes(true).collect();
            assert_eq!(fast.iter().map(|g| g.0).collect::<Vec<_>>(), texts, "{line:?}");
            // Mixed with one non-ASCII char, the same line takes the Unicode path: same places.
            let mixed = format!("{line} é");
            let slow: Vec<_> = Glyphs::new(&mixed, opts)
                .map(|g| (g.text, g.row, g.col))
                .take(fast.len())
                .collect();
            assert_eq!(fast, slow, "{line:?}");
        }
    }
}
