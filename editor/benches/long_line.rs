//! Keystroke → frame on a 50 MB file that is one single line (minified JSON, a log without line breaks), at its
//! start, middle and end: what issue 11 measured at 1.8–2.0 s per keystroke. Three lines — plain ASCII, ASCII with
//! tabs, and non-ASCII text (Cyrillic, CJK) — with soft wrap off, and the plain and non-ASCII ones with soft wrap
//! on, with a search highlight on screen.
//!
//! `cargo bench -p tandem --bench long_line [-- FILTER]`. The files are generated once under the target dir;
//! frames are rendered into ratatui's `TestBackend` at 120×40 with no highlighter (lines over 4 KB are not
//! highlighted anyway).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tandem::ui::{RenderInput, render};
use tandem::{Config, Editor, KeyEvent, Keys, Theme};

static KEYS: std::sync::LazyLock<Keys> = std::sync::LazyLock::new(Keys::default);

const SIZE: usize = 50 * 1024 * 1024;

/// The kinds of long line measured.
#[derive(Clone, Copy)]
enum Line {
    /// `{"key0":"value number 0",…}`: ASCII, no tab.
    Plain,
    /// The same with a tab before every value.
    Tabs,
    /// `{"ключ0":"значение 中文 0",…}`: two-byte and wide chars.
    Unicode,
}

impl Line {
    fn name(self) -> &'static str {
        match self {
            Line::Plain => "plain",
            Line::Tabs => "tabs",
            Line::Unicode => "unicode",
        }
    }

    fn entry(self, i: usize) -> String {
        match self {
            Line::Plain => format!("\"key{i}\":\"value number {i}\","),
            Line::Tabs => format!("\"key{i}\":\t\"value number {i}\","),
            Line::Unicode => format!("\"ключ{i}\":\"значение 中文 {i}\","),
        }
    }
}

/// A 50 MB file of one line of `line`'s entries, without a line break.
fn generate(line: Line) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-50mb-one-line-{}.json", line.name()));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= SIZE) {
        return path;
    }
    let mut out = String::with_capacity(SIZE + 64);
    out.push('{');
    let mut i = 0usize;
    while out.len() < SIZE {
        out.push_str(&line.entry(i));
        i += 1;
    }
    out.push_str("\"end\":0}");
    std::fs::write(&path, &out).expect("writing the benchmark file");
    path
}

fn frame(term: &mut Terminal<TestBackend>, theme: &Theme, ed: &mut Editor) {
    let _ = ed.take_damage();
    ed.take_pending_edits();
    let input = RenderInput {
        theme,
        decorations: &[],
        authors: &[],
        connection: None,
        syntax: None,
        help: &[],
    };
    term.draw(|f| {
        black_box(render(ed, None, &input, f.area(), f.buffer_mut()));
    })
    .unwrap();
}

fn press(ed: &mut Editor, spec: &str) {
    KEYS.press(ed, spec.parse::<KeyEvent>().unwrap());
}

fn open(path: &std::path::Path, soft_wrap: bool) -> Editor {
    let mut ed = Editor::open(path, &Config { soft_wrap, ..Config::default() }).unwrap();
    ed.resize(120, 40);
    // A search whose matches are on screen everywhere: the highlight must not search the whole line per frame.
    press(&mut ed, "ctrl-f");
    KeyEvent::typed("number").into_iter().for_each(|k| KEYS.press(&mut ed, k));
    press(&mut ed, "esc");
    ed
}

fn keystrokes(
    ed: &mut Editor,
    term: &mut Terminal<TestBackend>,
    theme: &Theme,
    iters: u64,
) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        let started = Instant::now();
        press(ed, "x");
        frame(term, theme, ed);
        timed += started.elapsed();
    }
    timed
}

fn benches(c: &mut Criterion) {
    let theme = Theme::dark();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut g = c.benchmark_group("long_line_50mb");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));

    type Go<'a> = &'a dyn Fn(&mut Editor);
    let places: [(&str, Go<'_>); 3] = [
        ("start", &|ed| press(ed, "ctrl-home")),
        ("middle", &|ed| {
            press(ed, "ctrl-g");
            KeyEvent::typed(&format!("1:{}", SIZE / 2)).into_iter().for_each(|k| KEYS.press(ed, k));
            press(ed, "enter");
        }),
        ("end", &|ed| press(ed, "ctrl-end")),
    ];
    let cases = [
        (Line::Plain, false),
        (Line::Tabs, false),
        (Line::Unicode, false),
        (Line::Plain, true),
        (Line::Unicode, true),
    ];
    for (line, soft_wrap) in cases {
        let mut ed = open(&generate(line), soft_wrap);
        frame(&mut term, &theme, &mut ed);
        let wrap = if soft_wrap { "wrap" } else { "nowrap" };
        for (place, go) in places {
            go(&mut ed);
            frame(&mut term, &theme, &mut ed);
            g.bench_function(format!("{}_{wrap}_insert_char_at_{place}", line.name()), |b| {
                b.iter_custom(|iters| keystrokes(&mut ed, &mut term, &theme, iters))
            });
        }
    }
    g.finish();
}

criterion_group!(long_line, benches);
criterion_main!(long_line);
