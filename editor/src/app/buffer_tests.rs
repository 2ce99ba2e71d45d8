//! Issue 15: several buffers and splits in one app, driven by keys and the mouse as the terminal would.

use std::path::Path;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::*;
use crate::input::{MouseEvent, MouseKind};

fn app_with(files: &[&Path]) -> (App, std::sync::mpsc::Receiver<AppEvent>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut app = App::new(&Config::default(), Theme::dark(), tx);
    app.resize(81, 25);
    for file in files {
        app.open_file(file).unwrap();
    }
    let first = app.buffers()[0].id;
    app.show(first);
    (app, rx)
}

fn press(app: &mut App, spec: &str) {
    app.handle(AppEvent::Key(spec.parse().unwrap()), 0);
}

fn type_text(app: &mut App, text: &str) {
    for key in KeyEvent::typed(text) {
        app.handle(AppEvent::Key(key), 0);
    }
}

fn screen(app: &mut App) -> String {
    let area = Rect::new(0, 0, 81, 25);
    let mut buf = Buffer::empty(area);
    app.render(area, &mut buf, 0);
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

fn click(app: &mut App, column: u16, row: u16, clicks: u8, alt: bool) {
    let down = MouseEvent { kind: MouseKind::Down, column, row, shift: false, alt, clicks };
    app.handle(AppEvent::Mouse(down), 0);
    app.handle(AppEvent::Mouse(MouseEvent { kind: MouseKind::Up, ..down }), 0);
}

fn files(dir: &Path, names: &[(&str, &str)]) -> Vec<std::path::PathBuf> {
    names
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

#[test]
fn two_files_in_two_splits_are_edited_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), &[("a.txt", "alpha\n"), ("b.txt", "beta\n")]);
    let (mut app, _rx) = app_with(&[&paths[0], &paths[1]]);
    assert_eq!(app.editor().path(), Some(paths[0].as_path()));
    press(&mut app, "alt-v");
    press(&mut app, "alt-.");
    assert_eq!(
        app.editor().path(),
        Some(paths[1].as_path()),
        "the new split shows the next buffer"
    );
    let shown = screen(&mut app);
    assert!(shown.contains("alpha") && shown.contains("beta") && shown.contains('│'), "{shown}");
    type_text(&mut app, "B:");
    press(&mut app, "ctrl-s");
    // The other split, by key, then by mouse.
    press(&mut app, "ctrl-alt-left");
    assert_eq!(app.editor().path(), Some(paths[0].as_path()));
    type_text(&mut app, "A:");
    press(&mut app, "ctrl-s");
    click(&mut app, 60, 0, 1, false);
    assert_eq!(app.editor().path(), Some(paths[1].as_path()), "a click focuses the split");
    assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "A:alpha\n");
    assert_eq!(std::fs::read_to_string(&paths[1]).unwrap(), "B:beta\n");
    press(&mut app, "alt-x");
    assert_eq!(app.splits().rects(Rect::new(0, 0, 81, 24)).len(), 1);
    press(&mut app, "alt-x");
    assert!(app.editor().message().unwrap().text.contains("last split"));
}

#[test]
fn views_of_one_buffer_keep_their_own_cursor_and_scroll() {
    let dir = tempfile::tempdir().unwrap();
    let long: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    let paths = files(dir.path(), &[("long.txt", &long)]);
    let (mut app, _rx) = app_with(&[&paths[0]]);
    press(&mut app, "alt-h");
    press(&mut app, "ctrl-end");
    type_text(&mut app, "END");
    press(&mut app, "alt-o");
    type_text(&mut app, "TOP");
    let shown = screen(&mut app);
    assert!(shown.contains("TOPline 1") && shown.contains("END"), "{shown}");
    assert_eq!(app.editor().selection().head, 3);
    press(&mut app, "alt-o");
    assert_eq!(app.editor().selection().head, long.chars().count() + 6, "mapped through TOP");
    // Resizing moves the border.
    let before = app.splits().rects(Rect::new(0, 0, 81, 24))[1].1.height;
    press(&mut app, "alt-=");
    assert!(app.splits().rects(Rect::new(0, 0, 81, 24))[1].1.height > before);
}

#[test]
fn closing_a_modified_buffer_asks_and_buffers_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), &[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")]);
    let (mut app, _rx) = app_with(&[&paths[0], &paths[1], &paths[2]]);
    press(&mut app, "alt-,");
    assert_eq!(app.editor().path(), Some(paths[2].as_path()), "previous wraps around");
    press(&mut app, "alt-.");
    assert_eq!(app.editor().path(), Some(paths[0].as_path()));
    type_text(&mut app, "x");
    press(&mut app, "alt-w");
    assert!(matches!(app.editor().mode(), Mode::Confirm(crate::editor::Confirm::Close)));
    press(&mut app, "esc");
    assert_eq!(app.buffers().len(), 3, "Esc keeps it");
    press(&mut app, "alt-w");
    press(&mut app, "n");
    assert_eq!(app.buffers().len(), 2);
    assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "a\n", "not saved");
    assert_eq!(app.editor().path(), Some(paths[1].as_path()));
    press(&mut app, "alt-w");
    assert_eq!(app.buffers().len(), 1, "unmodified: closed without asking");
    press(&mut app, "alt-w");
    assert!(app.should_quit(), "closing the last buffer quits");
}

#[test]
fn quitting_asks_for_every_modified_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), &[("a.txt", "a\n"), ("b.txt", "b\n"), ("c.txt", "c\n")]);
    let (mut app, _rx) = app_with(&[&paths[0], &paths[1], &paths[2]]);
    type_text(&mut app, "1");
    press(&mut app, "alt-.");
    press(&mut app, "alt-.");
    type_text(&mut app, "3");
    press(&mut app, "ctrl-q");
    assert_eq!(app.editor().path(), Some(paths[2].as_path()));
    press(&mut app, "y");
    assert_eq!(app.editor().path(), Some(paths[0].as_path()), "then the other modified one");
    assert!(!app.should_quit());
    press(&mut app, "esc");
    assert!(!app.should_quit(), "Esc cancels quitting");
    type_text(&mut app, "2");
    press(&mut app, "ctrl-q");
    press(&mut app, "n");
    assert!(app.should_quit());
    assert_eq!(std::fs::read_to_string(&paths[2]).unwrap(), "3c\n");
    assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "a\n");
}

/// Waits for the picker's threads, refreshing the app as the loop would.
fn settle(
    app: &mut App,
    rx: &std::sync::mpsc::Receiver<AppEvent>,
    until: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Ok(event) = rx.try_recv() {
            app.handle(event, 0);
        }
        let shown = screen(app);
        if until(&shown) {
            return shown;
        }
        assert!(Instant::now() < deadline, "never settled:\n{shown}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_buffer_list_switches_by_fuzzy_name() {
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), &[("alpha.rs", "fn a() {}\n"), ("notes.md", "# notes\n")]);
    let (mut app, rx) = app_with(&[&paths[0], &paths[1]]);
    press(&mut app, "ctrl-b");
    type_text(&mut app, "nts");
    let shown = settle(&mut app, &rx, |s| s.contains("1/2"));
    assert!(shown.contains("# notes"), "the preview shows the buffer: {shown}");
    press(&mut app, "enter");
    assert_eq!(app.editor().path(), Some(paths[1].as_path()));
}

#[test]
fn mouse_clicks_select_words_lines_and_add_cursors() {
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), &[("a.txt", "one two\nthree\n")]);
    let (mut app, _rx) = app_with(&[&paths[0]]);
    let gutter = app.editor().gutter_width();
    click(&mut app, gutter + 5, 0, 2, false);
    assert_eq!(app.editor().selection().range(), 4..7, "double click: the word");
    click(&mut app, gutter + 1, 1, 3, false);
    assert_eq!(app.editor().selection().range(), 8..14, "triple click: the line");
    click(&mut app, gutter, 0, 1, false);
    click(&mut app, gutter, 1, 1, true);
    type_text(&mut app, ">");
    assert_eq!(app.editor().rope().to_string(), ">one two\n>three\n");
}

#[test]
fn dragging_past_the_bottom_of_a_split_scrolls_it() {
    let dir = tempfile::tempdir().unwrap();
    let long: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    let paths = files(dir.path(), &[("long.txt", &long)]);
    let (mut app, _rx) = app_with(&[&paths[0]]);
    press(&mut app, "alt-h"); // two splits of 12 rows, one above the other
    press(&mut app, "alt-o");
    let down = MouseEvent {
        kind: MouseKind::Down,
        column: 10,
        row: 0,
        shift: false,
        alt: false,
        clicks: 1,
    };
    app.handle(AppEvent::Mouse(down), 0);
    for _ in 0..5 {
        // Below the top split, over the other one: the drag still belongs to the top split.
        app.handle(AppEvent::Mouse(MouseEvent { kind: MouseKind::Drag, row: 20, ..down }), 0);
    }
    app.handle(AppEvent::Mouse(MouseEvent { kind: MouseKind::Up, row: 20, ..down }), 0);
    let view = app.editor().view();
    assert!(view.top_line >= 5, "scrolled by the drag: {view:?}");
    assert!(app.editor().selection().range().len() > 10 * 7, "{:?}", app.editor().selection());
}
