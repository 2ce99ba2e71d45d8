use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::layout;
use crate::text::line_text;

const PIECES: &[&str] =
    &["word ", "ab", "\t", "中文", "👍🏽", "e\u{301}", " ", "xyzzy", "{\"k\":1},"];

fn long_line(rng: &mut StdRng, chars: usize) -> String {
    let mut s = String::new();
    while s.chars().count() < chars {
        s.push_str(PIECES[rng.random_range(0..PIECES.len())]);
    }
    s
}

/// What laying out the whole line says, for comparison: each glyph's (offset, chars, row, col, width).
struct Reference {
    glyphs: Vec<(usize, usize, usize, usize, usize)>,
    text: String,
    opts: LayoutOptions,
}

impl Reference {
    fn new(rope: &Rope, line: usize, opts: LayoutOptions) -> Self {
        let text = line_text(rope, line).into_owned();
        let glyphs = layout::Glyphs::new(&text, opts)
            .map(|g| (g.offset, g.chars, g.row, g.col, g.width))
            .collect();
        Reference { glyphs, text, opts }
    }

    /// As [`layout::offset_at`] says, from the glyphs laid out once.
    fn offset_at(&self, row: usize, col: usize) -> usize {
        let mut prev: Option<&(usize, usize, usize, usize, usize)> = None;
        for g in &self.glyphs {
            if g.2 > row {
                return prev.filter(|p| p.2 == row).map_or(g.0, |p| p.0);
            }
            if g.2 == row && col < g.3 + g.4 {
                return g.0;
            }
            prev = Some(g);
        }
        prev.map_or(0, |p| p.0 + p.1)
    }

    fn position_of(&self, offset: usize) -> (usize, usize) {
        match self.glyphs.iter().find(|g| g.0 + g.1 > offset) {
            Some(g) => (g.2, g.3),
            None => layout::position_of(&self.text, usize::MAX, self.opts),
        }
    }
}

fn check(
    long: &mut LongLines,
    rope: &Rope,
    line: usize,
    opts: LayoutOptions,
    rng: &mut StdRng,
    what: &str,
) {
    let reference = Reference::new(rope, line, opts);
    let len = content_len(rope.line(line));
    let rows = layout::row_count(&reference.text, opts);
    // Near the end first (lays out the whole way), then anywhere.
    let mut offsets = vec![len, len.saturating_sub(1), 0];
    offsets.extend((0..20).map(|_| rng.random_range(0..=len)));
    for offset in offsets {
        let want = reference.position_of(offset);
        assert_eq!(
            long.position_of(rope, line, offset, opts),
            want,
            "{what}: position_of({offset}) {opts:?}"
        );
        let (row, col) = want;
        for col in [col, col + 1, col + 7, 0] {
            assert_eq!(
                long.offset_at(rope, line, row, col, opts),
                reference.offset_at(row, col),
                "{what}: offset_at({row}, {col}) {opts:?}"
            );
        }
        assert!(long.has_row(rope, line, row, opts), "{what}: has_row({row})");
    }
    assert!(!long.has_row(rope, line, rows, opts), "{what}: has_row(past the end)");
    assert_eq!(long.row_count(rope, line, opts), rows, "{what}: row_count");
    let window = long.window(rope, line, opts, (rows / 2, 10), (5, 40));
    let from = window.from;
    let shown: Vec<_> = layout::Glyphs::resume(&window.text, opts, from)
        .take_while(|g| g.offset + CLUSTER_MARGIN < window.to || window.to == len)
        .map(|g| (g.offset, g.chars, g.row, g.col, g.width))
        .collect();
    let first = reference
        .glyphs
        .iter()
        .position(|g| g.0 == from.offset)
        .expect("the window starts at a glyph");
    assert_eq!(shown, reference.glyphs[first..first + shown.len()], "{what}: window");
}

#[test]
fn long_lines_lay_out_from_checkpoints_as_from_their_start_through_edits() {
    let mut rng = StdRng::seed_from_u64(11);
    let line = long_line(&mut rng, 80_000);
    for opts in [
        LayoutOptions { tab_width: 4, wrap: None },
        LayoutOptions { tab_width: 8, wrap: Some(80) },
        LayoutOptions { tab_width: 4, wrap: Some(7) },
    ] {
        let mut rope = Rope::from_str(&format!("intro\n{line}\nlast"));
        let mut long = LongLines::default();
        check(&mut long, &rope, 1, opts, &mut rng, "fresh");
        for round in 0..8 {
            let len = rope.len_chars();
            let start =
                if round % 4 == 0 { rng.random_range(0..8) } else { rng.random_range(0..len) };
            let end = (start + rng.random_range(0..4)).min(len);
            let mut text = PIECES[rng.random_range(0..PIECES.len())].to_owned();
            if round == 5 {
                text.push('\n');
            }
            let edit = Edit { range: start..end, text };
            rope.remove(edit.range.clone());
            rope.insert(edit.range.start, &edit.text);
            long.edited(&rope, &edit);
            let long_line =
                (0..rope.len_lines()).max_by_key(|&l| rope.line(l).len_chars()).unwrap_or(0);
            check(&mut long, &rope, long_line, opts, &mut rng, &format!("after {edit:?}"));
        }
    }
}

#[test]
fn a_keystroke_keeps_the_checkpoints_before_it() {
    let mut rng = StdRng::seed_from_u64(3);
    let opts = LayoutOptions { tab_width: 4, wrap: Some(60) };
    let mut rope = Rope::from_str(&long_line(&mut rng, 60_000));
    let mut long = LongLines::default();
    long.row_count(&rope, 0, opts);
    let before = long.entries[0].checkpoints.len();
    assert!(before > 10, "{before} checkpoints");
    let at = 30_000;
    rope.insert(at, "x");
    long.edited(&rope, &Edit::insert(at, "x"));
    let kept = &long.entries[0].checkpoints;
    assert!(
        kept.len() >= before / 2 - 1 && kept.iter().all(|c| c.offset < at),
        "{} kept",
        kept.len()
    );
    assert_eq!(long.entries[0].end, None);
}
