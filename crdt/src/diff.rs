//! Text diffs, pure: the minimal change that turns one text into another (a server's restore
//! of an old version, a workspace's file diffed into its document), the three-way merge of two
//! texts that both moved on from a common one, and the change as runs for a preview.
//!
//! All positions are char offsets (the unit of [`crate::Document::replace_each`]).
//!
//! A change is found in two passes: the common prefix and suffix are cut off (an append, a
//! one-line edit or a `git checkout` of one hunk is then a single edit, found in linear time),
//! and what remains is diffed by lines, each changed run of lines narrowed to the chars that
//! differ. A pathological diff is bounded by [`DIFF_DEADLINE`] (outside the browser, which
//! has no clock here): past it the rest of the middle is one replacement, still correct,
//! merely less minimal.

use std::ops::Range;
use std::time::Duration;

use similar::{Algorithm, DiffOp};

/// One replacement: the chars `range` (in the old text) become `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Chars replaced, as char offsets in the old text.
    pub range: Range<usize>,
    /// Replacement text.
    pub text: String,
}

impl Change {
    /// Inserts `text` at char offset `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self { range: at..at, text: text.into() }
    }
}

/// One step of a change read from the start of the old text: keep, insert or delete chars.
/// Serialized as `{"retain": n}`, `{"insert": "..."}` or `{"delete": n}` (Quill's delta ops).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Run {
    /// Keep this many chars of the old text.
    Retain(usize),
    /// Insert this text.
    Insert(String),
    /// Drop this many chars of the old text.
    Delete(usize),
}

/// The change from `old` to `new` as runs: what a preview shows, deletions and insertions
/// marked in place. A trailing retain is left out.
pub fn runs(old: &str, new: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut at = 0;
    for change in minimal_edits(old, new) {
        if change.range.start > at {
            out.push(Run::Retain(change.range.start - at));
        }
        if !change.range.is_empty() {
            out.push(Run::Delete(change.range.len()));
        }
        if !change.text.is_empty() {
            out.push(Run::Insert(change.text));
        }
        at = change.range.end;
    }
    out
}

/// Longest time a line diff may take before it settles for a coarser change.
pub const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// The edits that turn `old` into `new`, in ascending order of position, ranges in `old`'s
/// chars and not overlapping. Apply them from the last to the first so that each range is
/// still valid when its turn comes ([`apply`] does).
pub fn minimal_edits(old: &str, new: &str) -> Vec<Change> {
    if old == new {
        return Vec::new();
    }
    let (prefix, suffix) = line_ends(old, new);
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];
    let base = old[..prefix].chars().count();
    if old_mid.is_empty() || new_mid.is_empty() {
        let mut edits = Vec::new();
        refine(old_mid, new_mid, base, &mut edits);
        return edits;
    }
    let old_lines: Vec<&str> = old_mid.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_mid.split_inclusive('\n').collect();
    // Char offset of each old line's start.
    let mut starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = base;
    for line in &old_lines {
        starts.push(at);
        at += line.chars().count();
    }
    starts.push(at);
    let mut edits = Vec::new();
    for Hunk { base: old_range, side: new_range } in hunks(&old_lines, &new_lines) {
        let removed = old_lines[old_range.clone()].concat();
        let inserted = new_lines[new_range].concat();
        refine(&removed, &inserted, starts[old_range.start], &mut edits);
    }
    edits
}

/// Most tokens a changed run may have on either side to be diffed by words; a larger one is
/// one replacement of what lies between its common ends.
const MAX_REFINED_TOKENS: usize = 20_000;

/// Pushes the edits that turn `removed` (starting at char `start` of the old text) into
/// `inserted`: by words, so that what both share — and every concurrent edit anchored in it —
/// stays in place; past [`MAX_REFINED_TOKENS`], one replacement inside the common ends.
fn refine(removed: &str, inserted: &str, start: usize, edits: &mut Vec<Change>) {
    let (p, s) = word_ends(removed, inserted);
    let start = start + removed[..p].chars().count();
    let removed = &removed[p..removed.len() - s];
    let inserted = &inserted[p..inserted.len() - s];
    let (old_tokens, new_tokens) = (tokens(removed), tokens(inserted));
    if removed.is_empty()
        || inserted.is_empty()
        || old_tokens.len().max(new_tokens.len()) > MAX_REFINED_TOKENS
    {
        push_narrowed(edits, start, removed, inserted.to_owned());
        return;
    }
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_tokens,
        &new_tokens,
        deadline(),
    );
    let (mut a, mut b, mut at) = (0, 0, start);
    // The change being gathered: where it starts, the old text it replaces, the new text.
    let mut pending: Option<(usize, String, String)> = None;
    for op in ops {
        let (old_len, new_len) = (op.old_range().len(), op.new_range().len());
        let old_part = old_tokens[a..a + old_len].concat();
        let old_chars = old_part.chars().count();
        if matches!(op, DiffOp::Equal { .. }) {
            if let Some((from, old_text, new_text)) = pending.take() {
                push_narrowed(edits, from, &old_text, new_text);
            }
        } else {
            let (_, old_text, new_text) =
                pending.get_or_insert_with(|| (at, String::new(), String::new()));
            old_text.push_str(&old_part);
            new_text.extend(new_tokens[b..b + new_len].iter().copied());
        }
        a += old_len;
        b += new_len;
        at += old_chars;
    }
    if let Some((from, old_text, new_text)) = pending {
        push_narrowed(edits, from, &old_text, new_text);
    }
}

/// Pushes the replacement of `old` (at char `start`) by `new`, without the ends they share.
fn push_narrowed(edits: &mut Vec<Change>, start: usize, old: &str, new: String) {
    let (p, s) = common_ends(old, &new);
    let from = start + old[..p].chars().count();
    let removed = old[p..old.len() - s].chars().count();
    edits.push(Change { range: from..from + removed, text: new[p..new.len() - s].to_owned() });
}

/// [`common_ends`] backed off to whole lines: what remains between them starts at a line's
/// start in both texts and ends at a line's end (or the text's end).
fn line_ends(a: &str, b: &str) -> (usize, usize) {
    let (mut p, mut s) = common_ends(a, b);
    p = a[..p].rfind('\n').map_or(0, |i| i + 1);
    let whole_lines = |text: &str, s: usize| {
        let rest = &text[..text.len() - s];
        rest.is_empty() || rest.ends_with('\n')
    };
    if s > 0 && !(whole_lines(a, s) && whole_lines(b, s)) {
        let suffix = &a[a.len() - s..];
        s = suffix.find('\n').map_or(0, |i| s - (i + 1));
    }
    // Both ends may claim the same chars when one text repeats; the prefix keeps them.
    s = s.min(a.len() - p).min(b.len() - p);
    (p, s)
}

/// [`common_ends`] backed off to word boundaries, so that a word changed at its start or end
/// is compared as a whole word.
fn word_ends(a: &str, b: &str) -> (usize, usize) {
    let (mut p, mut s) = common_ends(a, b);
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    while p > 0 {
        let before = a[..p].chars().next_back();
        if !(is_word(before) && (is_word(a[p..].chars().next()) || is_word(b[p..].chars().next())))
        {
            break;
        }
        p -= before.map_or(1, char::len_utf8);
    }
    while s > 0 {
        let (a_end, b_end) = (a.len() - s, b.len() - s);
        let after = a[a_end..].chars().next();
        let a_before = a[p..a_end].chars().next_back();
        let b_before = b[p..b_end].chars().next_back();
        if !(is_word(after) && (is_word(a_before) || is_word(b_before))) {
            break;
        }
        s -= after.map_or(1, char::len_utf8);
    }
    (p, s)
}

/// `text` cut into words (runs of alphanumeric chars), runs of whitespace and single other
/// chars: the units a restore keeps or replaces.
fn tokens(text: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() && c != '\n' {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut token_start = 0;
    let mut previous: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let current = class(c);
        let joins = previous.as_ref().is_some_and(|p| *p == current && current != Class::Other);
        if !joins && i > token_start {
            out.push(&text[token_start..i]);
            token_start = i;
        }
        previous = Some(current);
    }
    if token_start < text.len() {
        out.push(&text[token_start..]);
    }
    out
}

/// Applies edits from [`minimal_edits`] (ascending, in `text`'s chars) to `text`.
pub fn apply(text: &str, edits: &[Change]) -> String {
    let mut out = text.to_owned();
    for edit in edits.iter().rev() {
        let start = char_to_byte(&out, edit.range.start);
        let end = char_to_byte(&out, edit.range.end);
        out.replace_range(start..end, &edit.text);
    }
    out
}

/// The text that keeps both `ours` and `theirs`, which each changed `base`: a change made on one
/// side only is taken; the same change made on both sides is taken once (so a change that
/// reached both already is never doubled); different changes to the same lines are both kept,
/// ours first. Works by lines; nothing from either side is dropped.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> String {
    if ours == theirs || theirs == base {
        return ours.to_owned();
    }
    if ours == base {
        return theirs.to_owned();
    }
    let base_lines: Vec<&str> = base.split_inclusive('\n').collect();
    let ours_lines: Vec<&str> = ours.split_inclusive('\n').collect();
    let theirs_lines: Vec<&str> = theirs.split_inclusive('\n').collect();
    let ours_hunks = hunks(&base_lines, &ours_lines);
    let theirs_hunks = hunks(&base_lines, &theirs_lines);
    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    let (mut i, mut j, mut line) = (0, 0, 0);
    while i < ours_hunks.len() || j < theirs_hunks.len() {
        // The next region: the earliest hunk and every hunk of either side overlapping it.
        let first = match (ours_hunks.get(i), theirs_hunks.get(j)) {
            (Some(a), Some(b)) if b.base.start < a.base.start => b.base.clone(),
            (Some(a), _) => a.base.clone(),
            (None, Some(b)) => b.base.clone(),
            (None, None) => break,
        };
        let mut region = first;
        let (oi, tj) = (i, j);
        loop {
            let mut grew = false;
            while let Some(h) = ours_hunks.get(i).filter(|h| overlaps(&h.base, &region)) {
                region = region.start.min(h.base.start)..region.end.max(h.base.end);
                i += 1;
                grew = true;
            }
            while let Some(h) = theirs_hunks.get(j).filter(|h| overlaps(&h.base, &region)) {
                region = region.start.min(h.base.start)..region.end.max(h.base.end);
                j += 1;
                grew = true;
            }
            if !grew {
                break;
            }
        }
        out.extend(base_lines[line..region.start].iter().copied());
        let ours_part = side_text(&base_lines, &ours_lines, &ours_hunks[oi..i], &region);
        let theirs_part = side_text(&base_lines, &theirs_lines, &theirs_hunks[tj..j], &region);
        match (oi == i, tj == j) {
            (false, true) => out.push_str(&ours_part),
            (true, false) => out.push_str(&theirs_part),
            _ => out.push_str(&union(&ours_part, &theirs_part)),
        }
        line = region.end;
    }
    out.extend(base_lines[line..].iter().copied());
    out
}

/// Both versions of a conflicting region, lines they share once: ours, with the lines only
/// theirs has where they have them (both, ours first, where each replaced the other's).
fn union(ours: &str, theirs: &str) -> String {
    if ours == theirs {
        return ours.to_owned();
    }
    let ours_lines: Vec<&str> = ours.split_inclusive('\n').collect();
    let theirs_lines: Vec<&str> = theirs.split_inclusive('\n').collect();
    let mut out = String::with_capacity(ours.len() + theirs.len());
    let mut push = |line: &str| {
        // A last line without a newline keeps its own line when something follows it.
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(line);
    };
    let mut at = 0;
    for hunk in hunks(&ours_lines, &theirs_lines) {
        // Lines both have, then ours, then theirs: nothing of either is dropped.
        ours_lines[at..hunk.base.end].iter().for_each(|l| push(l));
        theirs_lines[hunk.side].iter().for_each(|l| push(l));
        at = hunk.base.end;
    }
    ours_lines[at..].iter().for_each(|l| push(l));
    out
}

/// One changed run of lines: `base` lines replaced by the side's `side` lines.
#[derive(Debug, Clone)]
struct Hunk {
    base: Range<usize>,
    side: Range<usize>,
}

/// When a line diff started now must settle. `std::time::Instant` panics in the browser's
/// wasm32, so there the diff has no deadline.
fn deadline() -> Option<std::time::Instant> {
    #[cfg(not(target_arch = "wasm32"))]
    return Some(std::time::Instant::now() + DIFF_DEADLINE);
    #[cfg(target_arch = "wasm32")]
    return None;
}

/// The changed runs of lines between `base` and `side`, in order. Positions are counted here
/// from the lengths of the diff's operations, which come in order and cover both sequences
/// (`similar` reports an insertion's position in the old sequence inconsistently).
fn hunks(base: &[&str], side: &[&str]) -> Vec<Hunk> {
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, base, side, deadline());
    let (mut b, mut s) = (0, 0);
    let mut out: Vec<Hunk> = Vec::new();
    for op in ops {
        let (old_len, new_len) = (op.old_range().len(), op.new_range().len());
        if !matches!(op, DiffOp::Equal { .. }) {
            match out.last_mut() {
                // A deletion next to an insertion is one replacement.
                Some(last) if last.base.end == b && last.side.end == s => {
                    last.base.end += old_len;
                    last.side.end += new_len;
                }
                _ => out.push(Hunk { base: b..b + old_len, side: s..s + new_len }),
            }
        }
        b += old_len;
        s += new_len;
    }
    out
}

/// Whether two base ranges touch the same lines. Two insertions at one point overlap (their
/// order is a conflict); an insertion at the edge of a change does not (it stays beside it), so
/// edits to adjacent lines merge without a conflict.
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return b.start < a.start && a.start < b.end;
    }
    if b.is_empty() {
        return a.start < b.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

/// A side's text for the base lines `region`, given its hunks inside the region.
fn side_text(base: &[&str], side: &[&str], hunks: &[Hunk], region: &Range<usize>) -> String {
    let mut out = String::new();
    let mut line = region.start;
    for hunk in hunks {
        out.extend(base[line..hunk.base.start].iter().copied());
        out.extend(side[hunk.side.clone()].iter().copied());
        line = hunk.base.end;
    }
    out.extend(base[line..region.end].iter().copied());
    out
}

/// Byte lengths of the longest common prefix and suffix (on char boundaries, not overlapping).
fn common_ends(a: &str, b: &str) -> (usize, usize) {
    let prefix = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    // Never let the prefix land inside a char of the shorter string.
    let prefix = floor_boundary(a, floor_boundary(b, prefix));
    let (a_rest, b_rest) = (&a[prefix..], &b[prefix..]);
    let suffix = a_rest
        .chars()
        .rev()
        .zip(b_rest.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    (prefix, suffix)
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(old: &str, new: &str) -> Vec<Change> {
        let edits = minimal_edits(old, new);
        assert_eq!(apply(old, &edits), new, "{old:?} -> {new:?}: {edits:?}");
        for pair in edits.windows(2) {
            assert!(pair[0].range.end <= pair[1].range.start, "{edits:?}");
        }
        edits
    }

    #[test]
    fn an_append_is_one_insert_at_the_end() {
        let old = "line one\nline two\n";
        let edits = check(old, "line one\nline two\nadded by echo\n");
        assert_eq!(edits, vec![Change::insert(18, "added by echo\n")]);
    }

    #[test]
    fn scattered_line_changes_are_separate_small_edits() {
        let old = "a1\nb2\nc3\nd4\ne5\n";
        let new = "a1\nbX\nc3\nd4\neY\n";
        let edits = check(old, new);
        assert_eq!(
            edits,
            vec![
                Change { range: 4..5, text: "X".into() },
                Change { range: 13..14, text: "Y".into() }
            ]
        );
    }

    #[test]
    fn unicode_positions_are_chars() {
        let edits = check("会议 👋 notes\n", "会议 👋 new notes\n");
        assert_eq!(edits.len(), 1);
        assert!(edits[0].range.is_empty() && edits[0].text.chars().count() == 4, "{edits:?}");
        check("é", "e\u{301}");
        check("👋\n👋\n", "👋\n🙂\n");
        check("", "x\n");
        check("x\ny\n", "");
    }

    #[test]
    fn merge_takes_one_sided_changes() {
        let base = "a\nb\nc\n";
        assert_eq!(merge3(base, "a\nB\nc\n", "a\nb\nc\nd\n"), "a\nB\nc\nd\n");
        assert_eq!(merge3(base, base, "x\n"), "x\n");
        assert_eq!(merge3(base, "y\n", base), "y\n");
    }

    #[test]
    fn merge_takes_a_change_both_sides_made_once() {
        // The engine applied a file's change to the document, then died before recording it:
        // both sides hold it, and it must not be doubled.
        let base = "a\nb\n";
        let both = "a\nb\nappended\n";
        assert_eq!(merge3(base, both, both), both);
        assert_eq!(merge3(base, "a\nb\nappended\nremote\n", both), "a\nb\nappended\nremote\n");
    }

    #[test]
    fn merge_keeps_both_conflicting_changes() {
        let base = "a\nb\n";
        assert_eq!(merge3(base, "a\nb\nours\n", "a\nb\ntheirs\n"), "a\nb\nours\ntheirs\n");
        assert_eq!(merge3(base, "a\nOURS\n", "a\nTHEIRS\n"), "a\nOURS\nTHEIRS\n");
        // Adjacent lines are not a conflict.
        assert_eq!(merge3("a\nb\nc\n", "A\nb\nc\n", "a\nB\nc\n"), "A\nB\nc\n");
        // No final newline: the two versions still stay on their own lines.
        assert_eq!(merge3("a", "a1", "a2"), "a1\na2");
    }

    #[test]
    fn runs_mark_insertions_and_deletions_in_place() {
        assert_eq!(runs("same", "same"), vec![]);
        assert_eq!(
            runs("a1\nb2\nc3\n", "a1\nbX\nc3\nnew\n"),
            vec![
                Run::Retain(4),
                Run::Delete(1),
                Run::Insert("X".into()),
                Run::Retain(4),
                Run::Insert("new\n".into()),
            ]
        );
        let json = serde_json::to_string(&runs("one two", "one three two!")).unwrap();
        assert_eq!(json, r#"[{"retain":4},{"insert":"three "},{"retain":3},{"insert":"!"}]"#);
    }

    #[test]
    fn a_rewritten_run_of_lines_keeps_the_words_both_have() {
        let old = "INTRO\n[carl before] keep me\na later paragraph\n";
        let new = "intro\nkeep me\n";
        let edits = check(old, new);
        // "keep me" is never deleted: an edit anchored in it survives a restore.
        let keep = old.find("keep me").unwrap();
        for edit in &edits {
            assert!(edit.range.end <= keep || edit.range.start >= keep + 7, "{edits:?}");
        }
        assert_eq!(
            tokens("a_b  c,d\n\n😀é"),
            vec!["a_b", "  ", "c", ",", "d", "\n", "\n", "😀", "é"]
        );
    }

    #[test]
    fn a_line_moved_across_empty_lines() {
        check("😀\n\n", "\n\n😀");
    }

    proptest! {
        #[test]
        fn minimal_edits_always_rebuild_the_new_text(
            old in "[ab\n😀é]{0,40}",
            new in "[ab\n😀é]{0,40}",
        ) {
            let edits = minimal_edits(&old, &new);
            prop_assert_eq!(apply(&old, &edits), new);
        }

        #[test]
        fn merge_keeps_every_line_one_side_added(
            base in proptest::collection::vec("[a-c]{1,2}", 0..6),
            ours_add in "[x-z]{1,3}",
            theirs_add in "[0-9]{1,3}",
            at in 0usize..7,
        ) {
            let base: String = base.iter().map(|l| format!("{l}\n")).collect();
            let lines: Vec<&str> = base.split_inclusive('\n').collect();
            let at = at.min(lines.len());
            let ours = format!("{}{ours_add}\n{}", lines[..at].concat(), lines[at..].concat());
            let theirs = format!("{base}{theirs_add}\n");
            let merged = merge3(&base, &ours, &theirs);
            let ours_line = format!("{ours_add}\n");
            let theirs_line = format!("{theirs_add}\n");
            prop_assert!(merged.contains(&ours_line), "{}", merged);
            prop_assert!(merged.contains(&theirs_line), "{}", merged);
            prop_assert_eq!(merged.len(), base.len() + ours_add.len() + theirs_add.len() + 2);
        }
    }
}
