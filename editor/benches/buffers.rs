//! Issue 15's figures: keystroke → frame with 8 buffers open and 4 splits on screen (one of them the 100 MB file,
//! in two views), with 50 cursors, opening 8 files of 1 MB up to the first frame, and the file picker's first
//! results on a tree of 100 000 files. Each against the same measurement with one buffer in one split (what the
//! editor did before buffers and splits), in the same run.
//!
//! `cargo bench -p tandem --bench buffers`. Frames are drawn by the app (the terminal's code path) into ratatui's
//! `TestBackend` at 200×50. The 1 MB files and the 100 000-file tree are generated in a temporary directory that is
//! removed afterwards; the 100 MB file is shared with the `editor` benchmark.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tandem::app::picker::{FilesSource, Picker};
use tandem::app::{App, AppEvent};
use tandem::{Budget, Config, KeyEvent, Syntaxes, Theme};

mod support;

const W: u16 = 200;
const H: u16 = 50;

fn press(app: &mut App, spec: &str) {
    app.handle(AppEvent::Key(spec.parse::<KeyEvent>().unwrap()), 0);
}

fn new_app() -> App {
    let (tx, _rx) = std::sync::mpsc::channel();
    let mut app = App::new(&Config::default(), Theme::dark(), tx);
    app.resize(W, H);
    app
}

fn frame(term: &mut Terminal<TestBackend>, app: &mut App) {
    term.draw(|f| {
        std::hint::black_box(app.render(f.area(), f.buffer_mut(), 0));
    })
    .unwrap();
}

/// Idle frames until highlighting caught up, as the loop draws them between keys.
fn catch_up(term: &mut Terminal<TestBackend>, app: &mut App) {
    app.set_highlight_budget(Budget::IDLE);
    while app.is_busy() {
        frame(term, app);
    }
    app.set_highlight_budget(Budget::KEYSTROKE);
}

/// Rust-like files of about 1 MB each.
fn small_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    let block = "fn compute(input: &[u64]) -> u64 {\n    input.iter().sum() // total\n}\n\n";
    let text = block.repeat((1 << 20) / block.len());
    (0..n)
        .map(|i| {
            let path = dir.join(format!("file{i}.rs"));
            std::fs::write(&path, &text).unwrap();
            path
        })
        .collect()
}

/// 8 buffers (the 100 MB file and seven of 1 MB) and 4 splits: the big file twice (two views, the cursor in the
/// middle of it), two small files beside.
fn four_splits(big: &Path, small: &[PathBuf], syntaxes: &Arc<Syntaxes>) -> App {
    let mut app = new_app();
    app.open_file(big).unwrap();
    for path in small {
        app.open_file(path).unwrap();
    }
    let first = app.buffers()[0].id;
    app.show(first);
    app.set_syntaxes(syntaxes.clone());
    press(&mut app, "alt-v"); // the big file, second view, on the right
    press(&mut app, "alt-h");
    press(&mut app, "alt-."); // a small file below it
    press(&mut app, "ctrl-alt-left");
    press(&mut app, "alt-h");
    press(&mut app, "alt-,"); // another below the first view
    press(&mut app, "ctrl-alt-up"); // back to the big file's first view
    goto_middle(&mut app);
    app
}

fn one_split(big: &Path, syntaxes: &Arc<Syntaxes>) -> App {
    let mut app = new_app();
    app.open_file(big).unwrap();
    app.set_syntaxes(syntaxes.clone());
    goto_middle(&mut app);
    app
}

fn goto_middle(app: &mut App) {
    press(app, "ctrl-g");
    for k in KeyEvent::typed("1400000") {
        app.handle(AppEvent::Key(k), 0);
    }
    press(app, "enter");
    press(app, "end");
}

/// Times keystrokes and their frames only; the idle frames between them are not timed, as when a person types.
fn keystrokes(app: &mut App, term: &mut Terminal<TestBackend>, iters: u64) -> Duration {
    let typed = KeyEvent::typed("\n    let value = compute(42, \"text\"); // note");
    let mut next = typed.iter().cycle();
    let mut timed = Duration::ZERO;
    for _ in 0..iters {
        let key = *next.next().unwrap();
        let started = Instant::now();
        app.handle(AppEvent::Key(key), 0);
        frame(term, app);
        timed += started.elapsed();
        catch_up(term, app);
        app.send(0);
    }
    timed
}

fn benches(c: &mut Criterion) {
    let big = support::generate();
    let dir = tempfile::tempdir().unwrap();
    let small = small_files(dir.path(), 8);
    let syntaxes = Arc::new(Syntaxes::load());
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();

    let mut g = c.benchmark_group("keystroke_to_frame_100mb");
    let mut one = one_split(&big, &syntaxes);
    frame(&mut term, &mut one);
    g.bench_function("one_buffer_one_split", |b| {
        b.iter_custom(|iters| keystrokes(&mut one, &mut term, iters))
    });
    drop(one);
    let mut four = four_splits(&big, &small[..7], &syntaxes);
    frame(&mut term, &mut four);
    g.bench_function("eight_buffers_four_splits", |b| {
        b.iter_custom(|iters| keystrokes(&mut four, &mut term, iters))
    });
    for _ in 0..49 {
        press(&mut four, "alt-shift-down");
    }
    assert_eq!(four.editor().cursors().len(), 50);
    g.bench_function("eight_buffers_four_splits_50_cursors", |b| {
        b.iter_custom(|iters| keystrokes(&mut four, &mut term, iters))
    });
    drop(four);
    g.finish();

    let mut g = c.benchmark_group("open_first_frame");
    g.sample_size(20);
    g.bench_function("one_file_of_1mb", |b| {
        b.iter(|| {
            let mut app = new_app();
            app.open_file(&small[0]).unwrap();
            app.set_syntaxes(syntaxes.clone());
            frame(&mut term, &mut app);
            app
        })
    });
    g.bench_function("eight_files_of_1mb", |b| {
        b.iter(|| {
            let mut app = new_app();
            for path in &small {
                app.open_file(path).unwrap();
            }
            app.set_syntaxes(syntaxes.clone());
            frame(&mut term, &mut app);
            app
        })
    });
    g.finish();
    drop(dir);

    let tree = tempfile::tempdir().unwrap();
    file_tree(tree.path(), 100_000);
    let mut g = c.benchmark_group("picker_100k_files");
    g.sample_size(20);
    // The first results on screen, and the whole walk matched (for scale).
    g.bench_function("first_results", |b| {
        b.iter(|| {
            let source = Box::new(FilesSource { root: tree.path().to_owned() });
            let mut picker = Picker::new("Open", source, Arc::new(|| {}));
            while picker.matches(1).is_empty() {
                picker.refresh();
            }
            picker
        })
    });
    g.bench_function("first_results_for_a_query", |b| {
        b.iter(|| {
            let source = Box::new(FilesSource { root: tree.path().to_owned() });
            let mut picker = Picker::new("Open", source, Arc::new(|| {}));
            picker.paste("d7f77");
            while picker.matches(1).is_empty() {
                picker.refresh();
            }
            picker
        })
    });
    g.finish();
    drop(tree);
}

/// `n` empty files in 100 directories of 10 subdirectories each.
fn file_tree(root: &Path, n: usize) {
    let per_dir = n / 1000;
    for d in 0..100 {
        for s in 0..10 {
            let dir = root.join(format!("dir{d}")).join(format!("sub{s}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..per_dir {
                std::fs::write(dir.join(format!("file{f}.rs")), "").unwrap();
            }
        }
    }
}

criterion_group!(buffers, benches);
criterion_main!(buffers);
