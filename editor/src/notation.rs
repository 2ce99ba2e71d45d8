//! A tiny notation for a buffer with a selection, used by tests: `|` marks the cursor (head) and `^` the other end
//! of the selection when it is not empty. `"he^ll|o"` is "hello" with "ll" selected and the cursor after it.

use crate::selection::Selection;

/// Splits notation into text and selection (char offsets). Without `|` the cursor is at the end.
pub fn parse(s: &str) -> (String, Selection) {
    let mut text = String::new();
    let (mut head, mut anchor) = (None, None);
    let mut n = 0;
    for c in s.chars() {
        match c {
            '|' => head = Some(n),
            '^' => anchor = Some(n),
            c => {
                text.push(c);
                n += 1;
            }
        }
    }
    let head = head.unwrap_or(n);
    (text, Selection { anchor: anchor.unwrap_or(head), head })
}

/// Writes text and selection back in the notation.
pub fn render(text: &str, sel: Selection) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        mark(&mut out, i, sel);
        out.push(c);
    }
    mark(&mut out, text.chars().count(), sel);
    out
}

fn mark(out: &mut String, i: usize, sel: Selection) {
    if sel.anchor == i && !sel.is_empty() {
        out.push('^');
    }
    if sel.head == i {
        out.push('|');
    }
}
