//! Syntax highlighting of the visible lines only, with syntect (pure-Rust regexes).
//!
//! Line numbers index the buffer; span ranges are char offsets within a line. The parser state at the start of
//! each recently drawn line is cached, plus a sparse checkpoint every [`CHECKPOINT`] lines. Drawing a window parses
//! from the nearest cached state above it, at most [`MAX_LOOKBACK`] lines; beyond that it starts fresh a little
//! above the window (a guess, which may mis-colour a long block comment, but never stalls typing in a 100 MB file).
//! After an edit only the changed line is re-parsed when its end state equals the cached state of the next line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ropey::Rope;
use syntect::highlighting::{
    Color, HighlightIterator, HighlightState, Highlighter as SynHighlighter, ScopeSelectors,
    StyleModifier, Theme as SynTheme, ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxDefinition, SyntaxSet};

use crate::buffer::LineDamage;
use crate::text::line_text;
use crate::theme::{Rgb, Theme};

/// Lines between sparse checkpoints of parser state.
const CHECKPOINT: usize = 64;
/// Most lines parsed above the window to reach it from a cached state.
const MAX_LOOKBACK: usize = 400;
/// Lines of context parsed above the window when no cached state is near.
const GUESS_CONTEXT: usize = 60;
/// How much parsing one [`Highlighter::highlight`] call may do. One syntect line costs 0.05–1.5 ms with its
/// pure-Rust regexes (tenfold differences with the grammar, the line and the machine's load), so the budget is a
/// time: lines are parsed while the moving average of a line's cost still fits, and lines not reached keep their
/// previous colours until a later call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Parsing time allowed.
    pub time: Duration,
    /// Parse one line even when it does not fit, so the call makes progress.
    pub at_least_one_line: bool,
}

impl Budget {
    /// A frame that answers input: with layout and drawing (about 0.5 ms at 120×40) the frame stays within
    /// 2 ms, so even the edited line may keep its previous colours until the next idle frame when it is costly.
    pub const KEYSTROKE: Budget =
        Budget { time: Duration::from_millis(1), at_least_one_line: false };
    /// An idle frame catching up (the front end draws them back to back while nothing happens): well within a
    /// 16 ms frame, and short, since a key pressed meanwhile waits for it.
    pub const IDLE: Budget = Budget { time: Duration::from_millis(4), at_least_one_line: true };
}
/// Longer lines are not highlighted (regexes over them are slow).
const MAX_LINE_BYTES: usize = 4096;

/// The loaded grammars: syntect's defaults plus tandem's own (TOML). Loading takes tens of milliseconds, so the
/// front end does it on a background thread.
pub struct Syntaxes {
    set: SyntaxSet,
}

impl Syntaxes {
    /// Loads every grammar.
    pub fn load() -> Self {
        let mut builder = SyntaxSet::load_defaults_newlines().into_builder();
        // The bundled grammar is checked by a unit test; if it ever failed to parse, TOML would just be plain.
        if let Ok(toml) = SyntaxDefinition::load_from_str(
            include_str!("../../assets/syntaxes/TOML.sublime-syntax"),
            true,
            None,
        ) {
            builder.add(toml);
        }
        Syntaxes { set: builder.build() }
    }

    /// The grammar name for a file, by extension then by first line; `None` for plain text.
    pub fn detect(&self, path: Option<&Path>, first_line: &str) -> Option<String> {
        let ext = path.and_then(|p| p.extension()).and_then(|e| e.to_str()).unwrap_or_default();
        // syntect bundles no TypeScript grammar; JavaScript's colours TypeScript well enough.
        let ext = match ext {
            "ts" | "tsx" | "mts" | "cts" => "js",
            "jsonc" | "json5" => "json",
            other => other,
        };
        let file_name =
            path.and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
        let syntax = self
            .set
            .find_syntax_by_extension(ext)
            .or_else(|| self.set.find_syntax_by_extension(file_name))
            .or_else(|| self.set.find_syntax_by_first_line(first_line))?;
        (syntax.name != "Plain Text").then(|| syntax.name.clone())
    }
}

/// A run of a line drawn in one colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Char offsets within the line.
    pub range: Range<usize>,
    /// Foreground colour.
    pub fg: Rgb,
}

#[derive(Clone, PartialEq, Eq)]
struct State {
    parse: ParseState,
    highlight: HighlightState,
}

struct Entry {
    /// Parser state at the start of the line.
    state: State,
    spans: Option<Arc<[Span]>>,
    /// `spans` were computed from a different start state: fit for display until re-parsed, not for reuse.
    stale: bool,
}

/// Highlights one buffer.
pub struct Highlighter {
    syntaxes: Arc<Syntaxes>,
    syntax: String,
    theme: SynTheme,
    entries: BTreeMap<usize, Entry>,
    complete: bool,
    budget: Budget,
    /// Moving average of one line's parse time, to stop before a line that would overrun the budget.
    line_cost: Duration,
}

fn colour(c: Rgb) -> Color {
    Color { r: c.0, g: c.1, b: c.2, a: 255 }
}

impl Highlighter {
    /// A highlighter for the grammar named `syntax` (from [`Syntaxes::detect`]) in `theme`'s colours.
    pub fn new(syntaxes: Arc<Syntaxes>, syntax: String, theme: &Theme) -> Self {
        let scopes = theme
            .syntax
            .iter()
            .filter_map(|(selector, c)| {
                let scope = ScopeSelectors::from_str(selector).ok()?;
                let style = StyleModifier {
                    foreground: Some(colour(*c)),
                    background: None,
                    font_style: None,
                };
                Some(ThemeItem { scope, style })
            })
            .collect();
        let settings = ThemeSettings {
            foreground: Some(colour(theme.ui.foreground)),
            background: Some(colour(theme.ui.background)),
            ..ThemeSettings::default()
        };
        let theme = SynTheme { name: None, author: None, settings, scopes };
        Highlighter {
            syntaxes,
            syntax,
            theme,
            entries: BTreeMap::new(),
            complete: true,
            budget: Budget::IDLE,
            line_cost: Duration::ZERO,
        }
    }

    /// Sets how much the next [`Highlighter::highlight`] calls may parse ([`Budget::IDLE`] at first): front ends
    /// pass [`Budget::KEYSTROKE`] for a frame that follows input and [`Budget::IDLE`] while catching up.
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// The grammar's name.
    pub fn syntax_name(&self) -> &str {
        &self.syntax
    }

    fn fresh_state(&self) -> Option<State> {
        let syntax = self.syntaxes.set.find_syntax_by_name(&self.syntax)?;
        let highlighter = SynHighlighter::new(&self.theme);
        Some(State {
            parse: ParseState::new(syntax),
            highlight: HighlightState::new(&highlighter, ScopeStack::new()),
        })
    }

    /// Forgets what edits invalidated; pass [`crate::Editor::take_damage`]'s result before highlighting.
    pub fn apply_damage(&mut self, damage: Result<Vec<LineDamage>, usize>) {
        match damage {
            Ok(list) => list.into_iter().for_each(|d| self.damage(d)),
            Err(line) => {
                self.entries.split_off(&(line + 1));
                if let Some(e) = self.entries.get_mut(&line) {
                    e.stale = true;
                }
            }
        }
    }

    fn damage(&mut self, d: LineDamage) {
        // The state at the start of the changed line is still right; its spans and everything after are not.
        let mut tail = self.entries.split_off(&(d.line + 1));
        if let Some(e) = self.entries.get_mut(&d.line) {
            e.stale = true;
        }
        let shifted = tail.split_off(&(d.line + d.removed + 1));
        for (line, entry) in shifted {
            self.entries.insert(line + d.added - d.removed, entry);
        }
    }

    /// Colour spans for each line in `lines` (clamped to the buffer). Parses within the budget
    /// (see [`Highlighter::set_budget`]); lines not reached keep their previous colours (or none) and
    /// [`Highlighter::is_complete`] turns false, so the caller draws again when idle.
    pub fn highlight(&mut self, rope: &Rope, lines: Range<usize>) -> Vec<Arc<[Span]>> {
        let end = lines.end.min(rope.len_lines());
        let first = lines.start.min(end);
        let start = match self.entries.range(..=first).next_back() {
            Some((&l, e)) if first - l <= MAX_LOOKBACK => Some((l, e.state.clone())),
            _ => None,
        };
        let (mut line, mut state) = match start {
            Some(s) => s,
            None => match self.fresh_state() {
                Some(s) => (first.saturating_sub(if first == 0 { 0 } else { GUESS_CONTEXT }), s),
                None => return vec![Arc::from([]); end - first],
            },
        };
        let syntax_set = &self.syntaxes.set;
        let highlighter = SynHighlighter::new(&self.theme);
        let default_fg = self.theme.settings.foreground;
        let mut out = Vec::with_capacity(end - first);
        let started = Instant::now();
        let mut parsed = 0;
        let mut converged = false;
        while line < end {
            let cached = self.entries.get(&line).filter(|e| e.state == state && !e.stale);
            let next = self.entries.get(&(line + 1));
            if let (Some(Entry { spans: Some(spans), .. }), Some(next)) = (cached, next) {
                if line >= first {
                    out.push(spans.clone());
                }
                state = next.state.clone();
                line += 1;
                converged = true;
                continue;
            }
            let must_parse = parsed == 0 && self.budget.at_least_one_line;
            if !must_parse && started.elapsed() + self.line_cost > self.budget.time {
                // Out of time for this frame: remember where to resume and show what is known.
                let spans = self.entries.remove(&line).and_then(|e| e.spans);
                self.entries.insert(line, Entry { state, spans, stale: true });
                for l in line.max(first)..end {
                    out.push(
                        self.entries
                            .get(&l)
                            .and_then(|e| e.spans.clone())
                            .unwrap_or_else(|| Arc::from([])),
                    );
                }
                self.complete = false;
                return out;
            }
            parsed += 1;
            let start_state = state.clone();
            let line_started = Instant::now();
            let spans =
                highlight_line(rope, line, &mut state, syntax_set, &highlighter, default_fg);
            // Weighted towards recent lines: costs change with the text and the load.
            self.line_cost = (self.line_cost * 3 + line_started.elapsed()) / 4;
            if line >= first || line % CHECKPOINT == 0 {
                let spans = (line >= first).then_some(spans.clone());
                self.entries.insert(line, Entry { state: start_state, spans, stale: false });
            }
            if line >= first {
                out.push(spans);
            }
            line += 1;
            // The next line's cached colours were computed from another start state: keep them for display only.
            converged = match self.entries.get_mut(&line) {
                Some(e) if e.state == state => true,
                Some(e) => {
                    e.state = state.clone();
                    e.stale = true;
                    false
                }
                None => false,
            };
        }
        self.complete = true;
        if !converged && line < rope.len_lines() {
            // The state below the window changed: cached states further down are stale.
            self.entries.split_off(&line);
            self.entries.insert(line, Entry { state, spans: None, stale: true });
        }
        self.prune(first, end);
        out
    }

    /// Whether the last [`Highlighter::highlight`] coloured every line it was asked for.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Keeps spans and states near the window and sparse checkpoints elsewhere.
    fn prune(&mut self, first: usize, end: usize) {
        if self.entries.len() < 4 * (end - first) + 2048 {
            return;
        }
        let near = first.saturating_sub(end - first)..end + (end - first);
        self.entries.retain(|l, _| near.contains(l) || l % CHECKPOINT == 0);
        for (l, e) in self.entries.iter_mut() {
            if !near.contains(l) {
                e.spans = None;
            }
        }
    }
}

fn highlight_line(
    rope: &Rope,
    line: usize,
    state: &mut State,
    syntax_set: &SyntaxSet,
    highlighter: &SynHighlighter<'_>,
    default_fg: Option<Color>,
) -> Arc<[Span]> {
    let mut text = line_text(rope, line).into_owned();
    if text.len() > MAX_LINE_BYTES {
        return Arc::from([]);
    }
    text.push('\n');
    let Ok(ops) = state.parse.parse_line(&text, syntax_set) else { return Arc::from([]) };
    let mut spans = Vec::new();
    let mut offset = 0;
    for (style, piece) in HighlightIterator::new(&mut state.highlight, &ops, &text, highlighter) {
        let len = piece.chars().count();
        if Some(style.foreground) != default_fg {
            let c = style.foreground;
            spans.push(Span { range: offset..offset + len, fg: Rgb(c.r, c.g, c.b) });
        }
        offset += len;
    }
    spans.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn syntaxes() -> Arc<Syntaxes> {
        static S: OnceLock<Arc<Syntaxes>> = OnceLock::new();
        S.get_or_init(|| Arc::new(Syntaxes::load())).clone()
    }

    #[test]
    fn detects_required_languages() {
        let s = syntaxes();
        for (file, name) in [
            ("a.rs", "Rust"),
            ("a.md", "Markdown"),
            ("a.py", "Python"),
            ("a.js", "JavaScript"),
            ("a.ts", "JavaScript"),
            ("a.json", "JSON"),
            ("Cargo.toml", "TOML"),
            ("a.c", "C"),
            ("a.go", "Go"),
            ("a.sh", "Bourne Again Shell (bash)"),
        ] {
            assert_eq!(s.detect(Some(Path::new(file)), "").as_deref(), Some(name), "{file}");
        }
        assert_eq!(s.detect(None, "#!/bin/bash").as_deref(), Some("Bourne Again Shell (bash)"));
        assert_eq!(s.detect(Some(Path::new("notes.txt")), "hello"), None);
    }

    const ONE_LINE: Budget = Budget { time: Duration::ZERO, at_least_one_line: true };

    fn full(h: &mut Highlighter, rope: &Rope, lines: Range<usize>) -> Vec<Arc<[Span]>> {
        let mut out = h.highlight(rope, lines.clone());
        while !h.is_complete() {
            out = h.highlight(rope, lines.clone());
        }
        out
    }

    fn coloured(h: &mut Highlighter, rope: &Rope, line: usize) -> Vec<String> {
        let spans = full(h, rope, line..line + 1).remove(0);
        let text = line_text(rope, line);
        spans
            .iter()
            .map(|s| text.chars().skip(s.range.start).take(s.range.len()).collect())
            .collect()
    }

    #[test]
    fn block_comment_state_flows_and_edits_reparse() {
        let s = syntaxes();
        let theme = Theme::dark();
        let mut h = Highlighter::new(s, "Rust".into(), &theme);
        let mut rope = Rope::from_str("fn main() {}\n/* start\nstill comment\n*/ let x = 1;\n");
        assert!(coloured(&mut h, &rope, 0).contains(&"fn".to_owned()));
        full(&mut h, &rope, 0..4);
        assert_eq!(coloured(&mut h, &rope, 2), vec!["still comment".to_owned()]);
        // Close the comment early: line 2 is no longer a comment.
        rope.insert(21, " */");
        h.apply_damage(Ok(vec![LineDamage { line: 1, removed: 0, added: 0 }]));
        let spans = full(&mut h, &rope, 0..4);
        assert!(spans[2].is_empty(), "{:?}", spans[2]);
    }

    #[test]
    fn parsing_is_budgeted_per_call_and_catches_up() {
        let mut h = Highlighter::new(syntaxes(), "Rust".into(), &Theme::dark());
        h.set_budget(ONE_LINE);
        let rope = Rope::from_str(&"let x = \"s\"; // c\n".repeat(20));
        let first = h.highlight(&rope, 0..20);
        assert!(!h.is_complete());
        assert!(!first[0].is_empty());
        assert!(first[1..].iter().all(|s| s.is_empty()));
        let done = full(&mut h, &rope, 0..20);
        assert!(h.is_complete());
        assert!(done.iter().all(|s| s.len() >= 3), "{done:?}");
    }

    /// Spans as a fresh highlighter computes them with all the time it needs.
    fn reference(rope: &Rope, lines: Range<usize>) -> Vec<Arc<[Span]>> {
        let mut h = Highlighter::new(syntaxes(), "Rust".into(), &Theme::dark());
        h.set_budget(Budget { time: Duration::from_secs(10), at_least_one_line: true });
        full(&mut h, rope, lines)
    }

    #[test]
    fn an_unclosed_string_keeps_old_colours_until_idle_frames_catch_up_exactly() {
        let mut h = Highlighter::new(syntaxes(), "Rust".into(), &Theme::dark());
        let mut rope = Rope::from_str(&"let x = 1; // one\nfn f() -> u8 { 2 }\n".repeat(30));
        let before = full(&mut h, &rope, 0..40);
        assert_eq!(before, reference(&rope, 0..40));
        // Open a string on line 3: every line below turns into string contents.
        h.set_budget(ONE_LINE);
        let at = rope.line_to_char(3) + 8;
        rope.insert(at, "\"");
        h.apply_damage(Ok(vec![LineDamage { line: 3, removed: 0, added: 0 }]));
        let keystroke = h.highlight(&rope, 0..40);
        assert!(!h.is_complete(), "one line per call: the rest waits for idle frames");
        // Lines not re-parsed yet keep their previous colours rather than going blank.
        assert_eq!(keystroke[10], before[10]);
        assert_eq!(keystroke[..3], before[..3]);
        let mut frames = 1;
        while !h.is_complete() {
            h.highlight(&rope, 0..40);
            frames += 1;
        }
        assert!(frames > 30, "{frames}");
        let caught_up = h.highlight(&rope, 0..40);
        assert_eq!(caught_up, reference(&rope, 0..40));
        assert_ne!(caught_up[10], before[10]);
        // Closing it again restores the original colours.
        rope.remove(at..at + 1);
        h.apply_damage(Ok(vec![LineDamage { line: 3, removed: 0, added: 0 }]));
        assert_eq!(full(&mut h, &rope, 0..40), before);
    }

    #[test]
    fn a_keystroke_budget_may_defer_every_line_and_idle_frames_finish_them() {
        let mut h = Highlighter::new(syntaxes(), "Rust".into(), &Theme::dark());
        let mut rope = Rope::from_str(&"let s = 1; // one\n".repeat(10));
        let before = full(&mut h, &rope, 0..10);
        rope.insert(rope.line_to_char(2) + 8, "\"");
        h.apply_damage(Ok(vec![LineDamage { line: 2, removed: 0, added: 0 }]));
        // No time for even one line: everything keeps its colours, nothing blocks.
        h.set_budget(Budget { time: Duration::ZERO, at_least_one_line: false });
        assert_eq!(h.highlight(&rope, 0..10), before);
        assert!(!h.is_complete());
        h.set_budget(Budget::IDLE);
        assert_eq!(full(&mut h, &rope, 0..10), reference(&rope, 0..10));
    }
}
