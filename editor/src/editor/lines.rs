//! Whole-line operations: toggle a line comment, duplicate, move the selected lines up or down, join lines.
//! Each is one undo step and one group of pending edits (one CRDT transaction), made of small edits so that
//! collaborators' concurrent typing in the same lines survives.
//!
//! All positions are char offsets into the buffer.

use std::ops::RangeInclusive;

use super::Editor;
use crate::buffer::Grouping;
use crate::history::ChangeKind;
use crate::selection::Selection;
use crate::text::{self, Edit};

/// Which way [`Editor::move_lines`] moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineMove {
    /// Towards the start of the buffer.
    Up,
    /// Towards the end.
    Down,
}

/// The line comment token of a syntax (by its name, as the highlighter reports it).
pub fn line_comment(syntax: &str) -> Option<&'static str> {
    let token = match syntax {
        "Rust" | "C" | "C++" | "C#" | "Go" | "Java" | "JavaScript" | "JavaScript (Babel)"
        | "TypeScript" | "Swift" | "Kotlin" | "Scala" | "D" | "Objective-C" | "Objective-C++"
        | "Groovy" | "PHP" | "JSON" => "//",
        "Python"
        | "Ruby"
        | "Perl"
        | "R"
        | "TOML"
        | "YAML"
        | "Makefile"
        | "Bourne Again Shell (bash)"
        | "Shell-Unix-Generic"
        | "CMake"
        | "Nim"
        | "Dockerfile"
        | "Git Ignore"
        | "Git Config"
        | "Elixir" => "#",
        "SQL" | "Lua" | "Haskell" | "Ada" | "Elm" => "--",
        "Erlang" | "LaTeX" | "TeX" | "MATLAB" => "%",
        "Lisp" | "Clojure" | "Scheme" | "Assembly x86 (NASM)" => ";",
        "Batch File" => "REM",
        "Vim Script" | "VimL" => "\"",
        _ => return None,
    };
    Some(token)
}

impl Editor {
    /// Runs `f` as one undo step whose edits form one group (one CRDT transaction); inside
    /// [`Editor::each_cursor`] the surrounding step already is one.
    pub(super) fn batch(&mut self, f: impl FnOnce(&mut Editor)) {
        if self.batching {
            return f(self);
        }
        self.doc.history.seal();
        self.doc.buffer.set_grouping(Grouping::OneCommand);
        self.batching = true;
        f(self);
        self.batching = false;
        self.doc.buffer.set_grouping(Grouping::EachEdit);
        self.doc.history.seal();
    }

    /// Applies `edit` with the selection mapped through it.
    fn edit_keeping_selection(&mut self, edit: Edit) -> bool {
        let after = self.view.selection.map(&edit);
        self.apply_local(edit, after, ChangeKind::Other)
    }

    /// The lines the selection covers (a selection ending at a line's start leaves that line out).
    pub(super) fn selected_lines(&self) -> RangeInclusive<usize> {
        let range = self.view.selection.range();
        let rope = self.rope();
        let first = rope.char_to_line(range.start);
        let mut last = rope.char_to_line(range.end);
        if last > first && rope.line_to_char(last) == range.end {
            last -= 1;
        }
        first..=last
    }

    /// Sets the syntax's line comment token (the front end knows the syntax).
    pub fn set_comment_token(&mut self, token: Option<&'static str>) {
        self.comment_token = token;
    }

    /// Comments the selected lines out with the syntax's line comment token, or back in when they all are.
    pub fn toggle_comment(&mut self) {
        let Some(token) = self.comment_token else {
            return self.info("no line comment known for this file's syntax");
        };
        let lines = self.selected_lines();
        let rope = self.rope();
        let indents: Vec<(usize, usize, String)> = lines
            .clone()
            .map(|l| {
                let text = text::line_text(rope, l).into_owned();
                let indent = text.chars().take_while(|c| *c == ' ' || *c == '\t').count();
                (l, indent, text)
            })
            .filter(|(_, indent, text)| text.chars().count() > *indent)
            .collect();
        if indents.is_empty() {
            return;
        }
        let commented = indents.iter().all(|(_, indent, text)| {
            text.chars().skip(*indent).collect::<String>().starts_with(token)
        });
        let column = indents.iter().map(|(_, indent, _)| *indent).min().unwrap_or(0);
        let starts: Vec<usize> = indents.iter().map(|(l, _, _)| rope.line_to_char(*l)).collect();
        let token_len = token.chars().count();
        self.batch(|ed| {
            for ((_, indent, text), start) in indents.iter().zip(starts).rev() {
                let edit = if commented {
                    let after: String = text.chars().skip(indent + token_len).take(1).collect();
                    let len = token_len + usize::from(after == " ");
                    Edit::delete(start + indent..start + indent + len)
                } else {
                    Edit::insert(start + column, format!("{token} "))
                };
                ed.edit_keeping_selection(edit);
            }
        });
        self.after_change();
    }

    /// Indents the selected lines one level (a tab, or `tab_width` spaces), blank lines left alone; the
    /// selection grows with them. One undo step.
    pub fn indent_lines(&mut self) {
        let unit = if self.view.options.insert_spaces {
            " ".repeat(self.view.options.tab_width)
        } else {
            "\t".to_owned()
        };
        let rope = self.rope();
        let starts: Vec<usize> = self
            .selected_lines()
            .filter(|l| text::line_content_end(rope, *l) > rope.line_to_char(*l))
            .map(|l| rope.line_to_char(l))
            .collect();
        self.batch(|ed| {
            for start in starts.into_iter().rev() {
                ed.edit_keeping_selection(Edit::insert(start, unit.clone()));
            }
        });
        self.after_change();
    }

    /// Shift-Tab: removes one level of indentation (a tab, or up to `tab_width` spaces) from the selected lines, or
    /// the cursor's line. One undo step.
    pub fn dedent(&mut self) {
        let width = self.view.options.tab_width.max(1);
        let rope = self.rope();
        let removals: Vec<(usize, usize)> = self
            .selected_lines()
            .filter_map(|l| {
                let start = rope.line_to_char(l);
                let mut chars = rope.line(l).chars();
                let n = match chars.next() {
                    Some('\t') => 1,
                    Some(' ') => 1 + chars.take(width - 1).take_while(|c| *c == ' ').count(),
                    _ => 0,
                };
                (n > 0).then_some((start, n))
            })
            .collect();
        self.batch(|ed| {
            for (start, n) in removals.into_iter().rev() {
                ed.edit_keeping_selection(Edit::delete(start..start + n));
            }
        });
        self.after_change();
    }

    /// Duplicates the selected text after itself, or the cursor's line below it (the cursor goes with the copy).
    pub fn duplicate(&mut self) {
        let sel = self.view.selection;
        let rope = self.rope();
        if !sel.is_empty() {
            let text: String = rope.slice(sel.range()).into();
            let end = sel.range().end;
            let len = text.chars().count();
            if self.apply_local(
                Edit::insert(end, text),
                Selection { anchor: end, head: end + len },
                ChangeKind::Other,
            ) {
                self.after_change();
            }
            return;
        }
        let line = rope.char_to_line(sel.head);
        let start = rope.line_to_char(line);
        let content_end = text::line_content_end(rope, line);
        let content: String = rope.slice(start..content_end).into();
        let le = self.doc.buffer.line_ending().as_str();
        let copy = format!("{le}{content}");
        let head = sel.head + copy.chars().count();
        if self.apply_local(
            Edit::insert(content_end, copy),
            Selection::point(head),
            ChangeKind::Other,
        ) {
            self.after_change();
        }
    }

    /// Moves the selected lines (or the cursor's) one line up or down, over the neighbouring line.
    pub fn move_lines(&mut self, direction: LineMove) {
        let lines = self.selected_lines();
        let rope = self.rope();
        let (first, last) = (*lines.start(), *lines.end());
        let le = self.doc.buffer.line_ending().as_str().to_owned();
        let edits = match direction {
            LineMove::Up if first > 0 => {
                let above = first - 1;
                let above_start = rope.line_to_char(above);
                let content: String =
                    rope.slice(above_start..text::line_content_end(rope, above)).into();
                let insert_at = text::line_content_end(rope, last);
                [
                    Edit::insert(insert_at, format!("{le}{content}")),
                    Edit::delete(above_start..rope.line_to_char(first)),
                ]
            }
            LineMove::Down if last + 1 < rope.len_lines() => {
                let below = last + 1;
                let content_end = text::line_content_end(rope, below);
                let content: String = rope.slice(rope.line_to_char(below)..content_end).into();
                let block_end = text::line_content_end(rope, last);
                [
                    Edit::delete(block_end..content_end),
                    Edit::insert(rope.line_to_char(first), format!("{content}{le}")),
                ]
            }
            _ => return,
        };
        self.batch(|ed| {
            for edit in edits {
                ed.edit_keeping_selection(edit);
            }
        });
        self.after_change();
    }

    /// Joins the cursor's line with the next (or the selected lines into one), leaving one space between.
    pub fn join_lines(&mut self) {
        let lines = self.selected_lines();
        let (first, last) = (*lines.start(), *lines.end());
        let last = if last == first { first + 1 } else { last };
        if last >= self.rope().len_lines() {
            return;
        }
        self.batch(|ed| {
            for line in (first..last).rev() {
                let rope = ed.rope();
                let end = text::line_content_end(rope, line);
                let next_start = rope.line_to_char(line + 1);
                let next_end = text::line_content_end(rope, line + 1);
                let indent = rope
                    .slice(next_start..next_end)
                    .chars()
                    .take_while(|c| c.is_whitespace())
                    .count();
                let empty_next = next_start + indent == next_end;
                let ends_blank = end == rope.line_to_char(line)
                    || rope.get_char(end - 1).is_some_and(|c| c == ' ');
                let glue = if empty_next || ends_blank { "" } else { " " };
                ed.edit_keeping_selection(Edit {
                    range: end..next_start + indent,
                    text: glue.into(),
                });
            }
        });
        self.after_change();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::tests::{ed, run, state};

    /// `before` in the notation, `script` run, the result in the notation.
    fn after(before: &str, script: &str) -> String {
        let mut e = ed(before);
        run(&mut e, script);
        state(&e)
    }

    #[test]
    fn comments_toggle_at_the_common_indentation_and_undo_at_once() {
        let mut e = ed("fn a() {\n    ^x;\n\n    y;|\n}");
        e.set_comment_token(Some("//"));
        run(&mut e, "<ctrl-/>");
        assert_eq!(state(&e), "fn a() {\n    // ^x;\n\n    // y;|\n}");
        run(&mut e, "<ctrl-/>");
        assert_eq!(e.rope().to_string(), "fn a() {\n    x;\n\n    y;\n}");
        run(&mut e, "<ctrl-z>");
        assert_eq!(e.rope().to_string(), "fn a() {\n    // x;\n\n    // y;\n}");
        assert_eq!(e.take_pending_groups().len(), 3, "one group per command");
        let mut e = ed("|x");
        run(&mut e, "<ctrl-/>");
        assert!(e.message().unwrap().text.contains("no line comment"));
        assert_eq!(line_comment("Python"), Some("#"));
    }

    #[test]
    fn lines_are_duplicated_moved_and_joined() {
        assert_eq!(after("a\nb|c\nd", "<alt-d>"), "a\nbc\nb|c\nd");
        assert_eq!(after("a\n^bc|\nd", "<alt-d>"), "a\nbc^bc|\nd");
        assert_eq!(after("a\nb|c\nd", "<alt-up>"), "b|c\na\nd");
        assert_eq!(after("a\nb|c\nd", "<alt-down>"), "a\nd\nb|c");
        assert_eq!(after("a\nb|c\nd", "<alt-down><alt-down>"), "a\nd\nb|c", "the last line stays");
        assert_eq!(after("^a\nb|\nc", "<alt-down>"), "c\n^a\nb|");
        assert_eq!(after("one|\n   two\nthree", "<alt-j>"), "one| two\nthree");
        assert_eq!(after("^one\ntwo\nthree|", "<alt-j>"), "^one two three|");
    }
}
