//! Keystroke → frame on a 50 MB file that is one single line (minified JSON, a log without line breaks), at its
//! start, middle and end, soft wrap off: what issue 11 measured at 1.8–2.0 s per keystroke.
//!
//! `cargo bench -p tandem --bench long_line`. The file is generated once under the target dir; frames are rendered
//! into ratatui's `TestBackend` at 120×40 with no highlighter (lines over 4 KB are not highlighted anyway).

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

/// `{"k":"v",…}` without a line break, 50 MB; `first` opens it (a tab there makes the line take the general
/// layout path, which scans the line from its start: the baseline).
fn generate(name: &str, first: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= SIZE) {
        return path;
    }
    let mut out = String::with_capacity(SIZE + 64);
    out.push_str(first);
    let mut i = 0usize;
    while out.len() < SIZE {
        out.push_str(&format!("\"key{i}\":\"value number {i}\","));
        i += 1;
    }
    out.push_str("\"end\":0}");
    std::fs::write(&path, &out).expect("writing the benchmark file");
    path
}

fn frame(term: &mut Terminal<TestBackend>, theme: &Theme, ed: &mut Editor) {
    let _ = ed.take_damage();
    ed.take_pending_edits();
    let input = RenderInput { theme, decorations: &[], connection: None, syntax: None, help: &[] };
    term.draw(|f| {
        black_box(render(ed, None, &input, f.area(), f.buffer_mut()));
    })
    .unwrap();
}

fn press(ed: &mut Editor, spec: &str) {
    KEYS.press(ed, spec.parse::<KeyEvent>().unwrap());
}

fn open(path: &std::path::Path) -> Editor {
    let mut ed = Editor::open(path, &Config { soft_wrap: false, ..Config::default() }).unwrap();
    ed.resize(120, 40);
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

    // The baseline: the same line with a tab at its start, laid out from its start on every frame.
    let mut ed = open(&generate("bench-50mb-one-line-tab.json", "\t{"));
    press(&mut ed, "ctrl-end");
    frame(&mut term, &theme, &mut ed);
    g.bench_function("baseline_general_layout_insert_char_at_end", |b| {
        b.iter_custom(|iters| keystrokes(&mut ed, &mut term, &theme, iters))
    });
    drop(ed);

    let mut ed = open(&generate("bench-50mb-one-line.json", "{"));
    frame(&mut term, &theme, &mut ed);
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
    for (name, go) in places {
        go(&mut ed);
        frame(&mut term, &theme, &mut ed);
        g.bench_function(format!("insert_char_at_{name}"), |b| {
            b.iter_custom(|iters| keystrokes(&mut ed, &mut term, &theme, iters))
        });
    }
    g.finish();
}

criterion_group!(long_line, benches);
criterion_main!(long_line);
