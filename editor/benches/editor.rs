//! Editor performance at 100 MB: open + first frame, keystroke → frame (also with the authorship
//! colouring on), scrolling, searching.
//!
//! `cargo bench -p tandem --bench editor`. The 100 MB source-like file is
//! generated once under the target dir. Frames are rendered into ratatui's `TestBackend` at 120×40.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::generate;
use tandem::ui::{RenderInput, render};
use tandem::{
    Budget, Config, Editor, Highlighter, Key, KeyEvent, Keys, Query, SearchOptions, Syntaxes, Theme,
};

mod support;

/// The default bindings, as the front end has them.
static KEYS: std::sync::LazyLock<Keys> = std::sync::LazyLock::new(Keys::default);

const W: u16 = 120;
const H: u16 = 40;

struct Screen {
    term: Terminal<TestBackend>,
    theme: Theme,
    highlighter: Option<Highlighter>,
    /// The author of each authored range and the authors' colours (the app keeps them between
    /// frames too).
    authorship: (Vec<usize>, Vec<(String, tandem::Rgb)>),
}

/// Authored ranges over the whole 100 MB file, as the authorship colouring keeps them.
const AUTHOR_RANGES: usize = 100_000;

/// Three authors, for the ranges in turn.
fn author_legend() -> Vec<(String, tandem::Rgb)> {
    ["ada", "bob", "carl"].iter().map(|n| (n.to_string(), tandem::Rgb(200, 80, 40))).collect()
}

impl Screen {
    fn new(highlighter: Option<Highlighter>) -> Self {
        Screen {
            term: Terminal::new(TestBackend::new(W, H)).unwrap(),
            theme: Theme::dark(),
            highlighter,
            authorship: (Vec::new(), author_legend()),
        }
    }

    /// A frame answering input, as the front ends draw it.
    fn frame(&mut self, ed: &mut Editor) {
        self.draw(ed, Budget::KEYSTROKE);
    }

    /// Idle frames until highlighting has caught up, as the front ends draw them between keys; returns the
    /// longest one.
    fn catch_up(&mut self, ed: &mut Editor, idle_frames: &mut Vec<Duration>) {
        while self.highlighter.as_ref().is_some_and(|h| !h.is_complete()) {
            let started = Instant::now();
            self.draw(ed, Budget::IDLE);
            idle_frames.push(started.elapsed());
        }
    }

    fn draw(&mut self, ed: &mut Editor, budget: Budget) {
        let damage = ed.take_damage();
        if let Some(h) = self.highlighter.as_mut() {
            h.apply_damage(damage);
            h.set_budget(budget);
        }
        ed.take_pending_edits();
        // With the authorship colouring on (marks set), the app's per-frame work for it.
        let (runs, legend) = &mut self.authorship;
        if runs.len() != ed.marks().len() / 2 {
            *runs = (0..ed.marks().len() / 2).map(|i| i % 3).collect();
        }
        let authors = if runs.is_empty() {
            Vec::new()
        } else {
            tandem::app::authorship::author_spans(ed, H, runs, legend)
        };
        let input = RenderInput {
            theme: &self.theme,
            decorations: &[],
            authors: &authors,
            connection: None,
            syntax: None,
            help: &[],
        };
        let hl = self.highlighter.as_mut();
        self.term
            .draw(|f| {
                black_box(render(ed, hl, &input, f.area(), f.buffer_mut()));
            })
            .unwrap();
    }
}

fn open(path: &std::path::Path) -> Editor {
    let mut ed = Editor::open(path, &Config::default()).unwrap();
    ed.resize(W, H);
    ed
}

fn press(ed: &mut Editor, spec: &str) {
    KEYS.press(ed, spec.parse::<KeyEvent>().unwrap());
}

fn benches(c: &mut Criterion) {
    let path = generate();
    let syntaxes = Arc::new(Syntaxes::load());
    let rust_highlighter =
        || Some(Highlighter::new(syntaxes.clone(), "Rust".into(), &Theme::dark()));

    let mut g = c.benchmark_group("open_100mb");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("open_and_first_frame", |b| {
        b.iter(|| {
            let mut ed = open(&path);
            Screen::new(None).frame(&mut ed);
            ed
        })
    });
    g.finish();

    // One editor in the middle of the file, highlighted, for all keystroke benchmarks.
    let mut ed = open(&path);
    let mut screen = Screen::new(rust_highlighter());
    press(&mut ed, "ctrl-g");
    for k in KeyEvent::typed("1400000") {
        KEYS.press(&mut ed, k);
    }
    press(&mut ed, "enter");
    press(&mut ed, "end");
    screen.frame(&mut ed);

    let mut g = c.benchmark_group("keystroke_to_frame_100mb");
    // Typing real code: one key per iteration, lines of ordinary length (Enter auto-indents), with the string
    // open for a third of the keys (every following visible line changes colour). Only the key and its frame
    // are timed; between keys the idle frames catch up on highlighting, as when a person types (keys ≥ 30 ms
    // apart), and the longest of them is printed.
    let typed = KeyEvent::typed("\n    let value = compute(42, \"text\"); // note");
    let mut next = typed.iter().cycle();
    let mut idle_frames = Vec::new();
    let mut keystrokes = |key: &mut dyn FnMut(&mut Editor), iters: u64| {
        let mut timed = Duration::ZERO;
        for _ in 0..iters {
            let started = Instant::now();
            key(&mut ed);
            screen.frame(&mut ed);
            timed += started.elapsed();
            screen.catch_up(&mut ed, &mut idle_frames);
        }
        timed
    };
    g.bench_function("insert_char", |b| {
        b.iter_custom(|iters| {
            keystrokes(
                &mut |ed| {
                    if let Some(k) = next.next() {
                        KEYS.press(ed, *k);
                    }
                },
                iters,
            )
        })
    });
    g.bench_function("backspace", |b| {
        b.iter_custom(|iters| keystrokes(&mut |ed| press(ed, "backspace"), iters))
    });
    // The authorship colouring (issue 14): its ranges are the editor's marks, which every edit
    // maps, and each frame tints the visible ones.
    g.bench_function("insert_char_authorship", |b| {
        b.iter_custom(|iters| {
            keystrokes(
                &mut |ed| {
                    if ed.marks().is_empty() {
                        let step = ed.rope().len_chars() / (2 * AUTHOR_RANGES);
                        ed.set_marks((0..2 * AUTHOR_RANGES).map(|i| i * step).collect());
                    }
                    if let Some(k) = next.next() {
                        KEYS.press(ed, *k);
                    }
                },
                iters,
            )
        })
    });
    ed.set_marks(Vec::new());
    idle_frames.sort();
    let at = |q: f64| idle_frames.get((idle_frames.len() as f64 * q) as usize).copied();
    eprintln!(
        "idle (highlighting catch-up) frames while typing: {} frames, p50 {:?}, p99 {:?}, max {:?}, {} over 16 ms",
        idle_frames.len(),
        at(0.5),
        at(0.99),
        idle_frames.last(),
        idle_frames.iter().filter(|d| **d > Duration::from_millis(16)).count()
    );
    g.bench_function("cursor_down", |b| {
        b.iter(|| {
            press(&mut ed, "down");
            screen.frame(&mut ed);
        })
    });
    g.bench_function("cursor_right", |b| {
        b.iter(|| {
            press(&mut ed, "right");
            screen.frame(&mut ed);
        })
    });
    g.bench_function("page_down_scroll", |b| {
        b.iter(|| {
            press(&mut ed, "pagedown");
            screen.frame(&mut ed);
        })
    });
    g.bench_function("mouse_wheel_scroll", |b| {
        b.iter(|| {
            ed.scroll(3);
            screen.frame(&mut ed);
        })
    });
    g.bench_function("find_next_and_frame", |b| {
        press(&mut ed, "ctrl-f");
        for k in KeyEvent::typed("needle") {
            KEYS.press(&mut ed, k);
        }
        while ed.tick() {}
        press(&mut ed, "enter");
        b.iter(|| {
            press(&mut ed, "f3");
            while ed.tick() {}
            screen.frame(&mut ed);
        })
    });
    g.bench_function("incremental_search_step_no_match", |b| {
        // One bounded step of a search that finds nothing: what a frame waits for while searching.
        b.iter(|| {
            press(&mut ed, "ctrl-f");
            KEYS.press(&mut ed, KeyEvent::plain(Key::Char('@')));
            screen.frame(&mut ed);
            press(&mut ed, "esc");
        })
    });
    g.finish();

    let mut g = c.benchmark_group("search_100mb");
    g.sample_size(10);
    let rope = ed.rope().clone();
    let absent = Query::new("no such text anywhere", SearchOptions::default()).unwrap();
    g.bench_function("full_scan_literal_no_match", |b| {
        b.iter(|| absent.find_next(&rope, 0, usize::MAX))
    });
    let absent_regex =
        Query::new(r"no\s+such\d", SearchOptions { regex: true, ignore_case: false }).unwrap();
    g.bench_function("full_scan_regex_no_match", |b| {
        b.iter(|| absent_regex.find_next(&rope, 0, usize::MAX))
    });
    let regex =
        Query::new(r"result-\d+7\b", SearchOptions { regex: true, ignore_case: false }).unwrap();
    g.bench_function("regex_next_match_from_middle", |b| {
        b.iter(|| regex.find_next(&rope, rope.len_chars() / 2, usize::MAX))
    });
    g.finish();
}

criterion_group!(editor, benches);
criterion_main!(editor);
