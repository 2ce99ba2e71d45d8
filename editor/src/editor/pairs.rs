//! Brackets and quotes: the partner of the bracket at the cursor (highlighted, and a jump), pairs closed as they
//! are typed (typing the closer steps over it; Backspace between an empty pair deletes both), and a line break
//! after an opening bracket indenting one level more.
//!
//! All positions are char offsets into the buffer.

use ropey::Rope;

use super::Editor;
use crate::history::ChangeKind;
use crate::selection::{Movement, Selection};

/// Opening and closing brackets.
const BRACKETS: [(char, char); 3] = [('(', ')'), ('[', ']'), ('{', '}')];
/// Quotes closed as they are typed.
const QUOTES: [char; 3] = ['"', '\'', '`'];
/// Most chars scanned for a partner, so a 100 MB file never stalls a frame.
const SCAN_LIMIT: usize = 100_000;

fn closer_of(c: char) -> Option<char> {
    BRACKETS.iter().find(|(o, _)| *o == c).map(|(_, k)| *k)
}

fn opener_of(c: char) -> Option<char> {
    BRACKETS.iter().find(|(_, k)| *k == c).map(|(o, _)| *o)
}

/// The partner of the bracket at `pos`: nesting counted, at most [`SCAN_LIMIT`] chars away.
pub(crate) fn partner(rope: &Rope, pos: usize) -> Option<usize> {
    let c = rope.get_char(pos)?;
    if let Some(close) = closer_of(c) {
        let mut depth = 0usize;
        for (i, d) in rope.chars_at(pos).enumerate().take(SCAN_LIMIT) {
            if d == c {
                depth += 1;
            } else if d == close {
                depth -= 1;
                if depth == 0 {
                    return Some(pos + i);
                }
            }
        }
    } else if let Some(open) = opener_of(c) {
        let mut depth = 0usize;
        let mut chars = rope.chars_at(pos + 1);
        let mut at = pos + 1;
        while let Some(d) = chars.prev() {
            at -= 1;
            if pos + 1 - at > SCAN_LIMIT {
                break;
            }
            if d == c {
                depth += 1;
            } else if d == open {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
        }
    }
    None
}

impl Editor {
    /// The bracket at the cursor (or just before it) and its partner, for the renderer to highlight.
    pub fn bracket_pair(&self) -> Option<(usize, usize)> {
        let head = self.view.selection.head;
        let rope = self.rope();
        let at = [head, head.wrapping_sub(1)]
            .into_iter()
            .find(|p| rope.get_char(*p).is_some_and(|c| closer_of(c).or(opener_of(c)).is_some()))?;
        Some((at, partner(rope, at)?))
    }

    /// Moves the cursor to the partner of the bracket at the cursor.
    pub fn jump_to_bracket(&mut self) {
        match self.bracket_pair() {
            Some((_, partner)) => {
                self.view.preferred_col = None;
                self.move_to(partner, Movement::Move);
            }
            None => self.info("no bracket pair at the cursor"),
        }
    }

    /// Types `c`, closing brackets and quotes: an opener before a space, a closer or the line end gets its
    /// closer too (the cursor between), and a closer typed before the same closer steps over it.
    pub fn type_char_closing(&mut self, c: char) {
        let sel = self.view.selection;
        if !sel.is_empty() || self.doc.read_only.is_some() {
            return self.type_char(c);
        }
        let rope = self.rope();
        let next = rope.get_char(sel.head);
        let prev = sel.head.checked_sub(1).and_then(|p| rope.get_char(p));
        let is_quote = QUOTES.contains(&c);
        if (opener_of(c).is_some() || is_quote) && next == Some(c) {
            self.view.preferred_col = None;
            return self.move_to(sel.head + 1, Movement::Move);
        }
        let next_is_free =
            next.is_none_or(|n| n.is_whitespace() || opener_of(n).is_some() || ",;:".contains(n));
        let closer = match closer_of(c) {
            Some(closer) if next_is_free => Some(closer),
            None if is_quote
                && next_is_free
                && prev.is_none_or(|p| !p.is_alphanumeric() && p != c) =>
            {
                Some(c)
            }
            _ => None,
        };
        match closer {
            Some(closer) => {
                self.replace_selection(&format!("{c}{closer}"), ChangeKind::TypeWord);
                self.view.selection = Selection::point(sel.head + 1);
            }
            None => self.type_char(c),
        }
    }

    /// Backspace: between an empty pair of brackets or quotes, deletes both.
    pub fn backspace_pair(&mut self) {
        let sel = self.view.selection;
        let rope = self.rope();
        let prev = sel.head.checked_sub(1).and_then(|p| rope.get_char(p));
        let next = rope.get_char(sel.head);
        let empty_pair = match (prev, next) {
            (Some(p), Some(n)) => closer_of(p) == Some(n) || (QUOTES.contains(&p) && p == n),
            _ => false,
        };
        if sel.is_empty() && empty_pair {
            self.delete_range(sel.head - 1..sel.head + 1, ChangeKind::DeleteChar);
        } else {
            self.backspace();
        }
    }

    /// A line break keeping the indentation, one level deeper after an opening bracket; between a bracket pair the
    /// closer goes to a line of its own.
    pub fn newline_indent(&mut self) {
        let sel = self.view.selection;
        let start = sel.range().start;
        let rope = self.rope();
        let prev = start.checked_sub(1).and_then(|p| rope.get_char(p));
        let Some(closer) = prev.and_then(closer_of) else { return self.newline() };
        let line = rope.char_to_line(start);
        let line_start = rope.line_to_char(line);
        let indent: String =
            rope.slice(line_start..start).chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        let unit = if self.view.options.insert_spaces {
            " ".repeat(self.view.options.tab_width)
        } else {
            "\t".to_owned()
        };
        let le = self.doc.buffer.line_ending().as_str();
        let closes_here = sel.is_empty() && rope.get_char(start) == Some(closer);
        let opened = format!("{le}{indent}{unit}");
        let text = if closes_here { format!("{opened}{le}{indent}") } else { opened.clone() };
        self.replace_selection(&text, ChangeKind::TypeSpace);
        self.view.selection = Selection::point(start + opened.chars().count());
        self.scroll_to_cursor();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::tests::check;

    #[test]
    fn pairs_close_as_typed_and_closers_are_stepped_over() {
        check("|", "(", "(|)");
        check("|", "(x)", "(x)|");
        check("|", "foo(\"a\")", "foo(\"a\")|");
        check("|x", "(", "(|x");
        check("don|", "'", "don'|");
        check("(|)", "<backspace>", "|");
        check("(a|)", "<backspace>", "(|)");
    }

    #[test]
    fn a_line_break_after_an_opening_bracket_indents() {
        check("    if x {|}", "<enter>", "    if x {\n    \t|\n    }");
        check("call(|", "<enter>", "call(\n\t|");
        check("  plain|", "<enter>", "  plain\n  |");
    }

    #[test]
    fn the_partner_of_a_bracket_is_found_and_jumped_to() {
        let rope = Rope::from_str("f(a[1], {b: (2)})");
        assert_eq!(partner(&rope, 1), Some(16));
        assert_eq!(partner(&rope, 16), Some(1));
        assert_eq!(partner(&rope, 8), Some(15));
        assert_eq!(partner(&rope, 0), None);
        check("f|(a[1])", "<alt-m>", "f(a[1]|)");
        check("f(a[1])|", "<alt-m>", "f|(a[1])");
    }
}
