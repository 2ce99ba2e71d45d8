//! Text diffs for the workspace engine, pure: the minimal change that turns a document's text
//! into a file's, and the three-way merge of a file and a document that both moved on from the
//! text they last agreed on.
//!
//! All positions are char offsets (the CRDT's [`tandem_crdt::Client::replace`] unit).
//!
//! A change is found in two passes: the common prefix and suffix are cut off (an append, a
//! one-line edit or a `git checkout` of one hunk is then a single edit, found in linear time),
//! and what remains is diffed by lines, each changed run of lines narrowed to the chars that
//! differ. A pathological diff is bounded by [`DIFF_DEADLINE`]: past it the rest of the middle
//! is one replacement, still correct, merely less minimal.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp};

use crate::text::Edit;

/// Longest time a line diff may take before it settles for a coarser change.
pub const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// The edits that turn `old` into `new`, in ascending order of position, ranges in `old`'s
/// chars and not overlapping. Apply them from the last to the first so that each range is
/// still valid when its turn comes ([`apply`] does).
pub fn minimal_edits(old: &str, new: &str) -> Vec<Edit> {
    if old == new {
        return Vec::new();
    }
    let (prefix, suffix) = common_ends(old, new);
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];
    let base = old[..prefix].chars().count();
    if old_mid.is_empty() || new_mid.is_empty() || !(old_mid.contains('\n')) {
        return vec![Edit { range: base..base + old_mid.chars().count(), text: new_mid.into() }];
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
        let (p, s) = common_ends(&removed, &inserted);
        let start = starts[old_range.start] + removed[..p].chars().count();
        let removed_mid = &removed[p..removed.len() - s];
        edits.push(Edit {
            range: start..start + removed_mid.chars().count(),
            text: inserted[p..inserted.len() - s].to_owned(),
        });
    }
    edits
}

/// Applies edits from [`minimal_edits`] (ascending, in `text`'s chars) to `text`.
pub fn apply(text: &str, edits: &[Edit]) -> String {
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

/// The changed runs of lines between `base` and `side`, in order. Positions are counted here
/// from the lengths of the diff's operations, which come in order and cover both sequences
/// (`similar` reports an insertion's position in the old sequence inconsistently).
fn hunks(base: &[&str], side: &[&str]) -> Vec<Hunk> {
    let deadline = Instant::now() + DIFF_DEADLINE;
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, base, side, Some(deadline));
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

    fn check(old: &str, new: &str) -> Vec<Edit> {
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
        assert_eq!(edits, vec![Edit::insert(18, "added by echo\n")]);
    }

    #[test]
    fn scattered_line_changes_are_separate_small_edits() {
        let old = "a1\nb2\nc3\nd4\ne5\n";
        let new = "a1\nbX\nc3\nd4\neY\n";
        let edits = check(old, new);
        assert_eq!(
            edits,
            vec![Edit { range: 4..5, text: "X".into() }, Edit { range: 13..14, text: "Y".into() }]
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
