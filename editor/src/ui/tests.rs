//! Whole-screen rendering tests against ratatui's `TestBackend`.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use unicode_width::UnicodeWidthStr;

use super::*;
use crate::config::Config;
use crate::input::KeyEvent;
use crate::layout;

fn draw(
    ed: &mut Editor,
    w: u16,
    h: u16,
    decorations: &[Decoration],
) -> (Terminal<TestBackend>, Option<(u16, u16)>) {
    ed.resize(w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::dark();
    let help = help_lines(ed, &KEYS);
    let input = RenderInput {
        theme: &theme,
        decorations,
        authors: &[],
        connection: None,
        syntax: None,
        help: &help,
    };
    let mut cursor = None;
    term.draw(|f| cursor = render(ed, None, &input, f.area(), f.buffer_mut())).unwrap();
    (term, cursor)
}

/// The screen as the user sees it: one string per row, wide glyphs once.
fn screen(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            let mut row = String::new();
            let mut x = 0;
            while x < buf.area.width {
                let sym = buf[(x, y)].symbol();
                row.push_str(sym);
                x += sym.width().max(1) as u16;
            }
            row
        })
        .collect()
}

/// The default bindings, as the front end has them.
static KEYS: std::sync::LazyLock<Keys> = std::sync::LazyLock::new(Keys::default);

fn type_keys(ed: &mut Editor, spec: &[&str]) {
    for s in spec {
        KEYS.press(ed, s.parse::<KeyEvent>().unwrap());
    }
}

#[test]
fn plain_screen_with_gutter_status_and_message() {
    let mut ed = Editor::new("fn main() {\n\tprintln!(\"hi\");\n}\n");
    let (term, cursor) = draw(&mut ed, 30, 7, &[]);
    assert_eq!(
        screen(&term),
        vec![
            "  1 fn main() {               ",
            "  2     println!(\"hi\");       ",
            "  3 }                         ",
            "  4                           ",
            "                              ",
            " [new]  EDIT   1:1  LF  UTF-8 ",
            "                              ",
        ]
    );
    assert_eq!(cursor, Some((4, 0)));
}

#[test]
fn wide_cjk_and_emoji_with_soft_wrap() {
    let config = Config { soft_wrap: true, ..Config::default() };
    let mut ed = Editor::with_rope(ropey::Rope::from_str("中文字符混合 abc 👍🏽x\nok"), &config);
    type_keys(&mut ed, &["down"]);
    let (term, cursor) = draw(&mut ed, 14, 7, &[]);
    assert_eq!(
        screen(&term),
        vec![
            "  1 中文字符混",
            "    合 abc 👍🏽x",
            "              ",
            "  2 ok        ",
            "              ",
            " [new]    2:1 ",
            "              ",
        ]
    );
    assert_eq!(cursor, Some((4, 3)));
}

#[test]
fn wide_char_cut_by_right_edge_becomes_blank_and_horizontal_scroll() {
    let mut ed = Editor::new("abcdefg中h\n");
    let (term, _) = draw(&mut ed, 12, 4, &[]);
    assert_eq!(screen(&term)[0], "  1 abcdefg ");
    type_keys(&mut ed, &["end"]);
    let (term, cursor) = draw(&mut ed, 12, 4, &[]);
    assert_eq!(screen(&term)[0], "  1 defg中h ");
    assert_eq!(cursor, Some((11, 0)));
}

#[test]
fn tabs_control_chars_and_combining_marks() {
    let mut ed = Editor::new("a\tb\u{1}c\u{301}d\n\u{301}x");
    KEYS.press(&mut ed, KeyEvent::ctrl(crate::input::Key::Char('w')));
    let (term, _) = draw(&mut ed, 16, 4, &[]);
    let rows = screen(&term);
    assert_eq!(rows[0], "  1 a   b\u{2401}c\u{301}d    ");
    assert_eq!(rows[1], "  2 \u{25CC}\u{301}x          ");
}

#[test]
fn selection_and_search_matches_are_coloured() {
    let mut ed = Editor::new("one two one\n");
    type_keys(&mut ed, &["shift-right", "shift-right"]);
    let (term, _) = draw(&mut ed, 20, 4, &[]);
    let buf = term.backend().buffer();
    let sel = Theme::dark().ui.selection;
    assert_eq!(buf[(4, 0)].bg, Color::Rgb(sel.0, sel.1, sel.2));
    assert_eq!(buf[(5, 0)].bg, Color::Rgb(sel.0, sel.1, sel.2));
    assert_ne!(buf[(6, 0)].bg, Color::Rgb(sel.0, sel.1, sel.2));
    type_keys(&mut ed, &["esc", "ctrl-f", "o", "n", "e"]);
    let (term, cursor) = draw(&mut ed, 20, 4, &[]);
    let m = Theme::dark().ui.search_match;
    // The match after the cursor is selected; the other one is highlighted as a match.
    assert_eq!(term.backend().buffer()[(4, 0)].bg, Color::Rgb(m.0, m.1, m.2));
    assert_eq!(term.backend().buffer()[(12, 0)].bg, Color::Rgb(sel.0, sel.1, sel.2));
    let rows = screen(&term);
    assert_eq!(rows[3], "Search: one  match 2", "match 2 of 2, cut at the edge");
    assert_eq!(cursor, Some((11, 3)));
}

#[test]
fn remote_cursor_decorations_draw_with_label() {
    let mut ed = Editor::new("hello\nworld\n");
    let deco =
        [Decoration { pos: 8, selection: Some(6..8), colour: Rgb(200, 0, 0), label: "ann".into() }];
    let (term, _) = draw(&mut ed, 16, 5, &deco);
    let rows = screen(&term);
    // Issue 11: the name flag never covers text: it goes after the end of the cursor's line.
    assert_eq!(rows[0], "  1 hello       ");
    assert_eq!(rows[1], "  2 world ann   ");
    let buf = term.backend().buffer();
    assert_eq!(buf[(6, 1)].bg, Color::Rgb(200, 0, 0));
    let b = blend(Rgb(200, 0, 0), Theme::dark().ui.background);
    assert_eq!(buf[(4, 1)].bg, Color::Rgb(b.0, b.1, b.2));
    assert_eq!(buf[(5, 1)].bg, Color::Rgb(b.0, b.1, b.2));
}

#[test]
fn help_screen_lists_bound_keys() {
    let mut ed = Editor::new("");
    type_keys(&mut ed, &["f1"]);
    let (term, _) = draw(&mut ed, 60, 8, &[]);
    let rows = screen(&term);
    assert!(rows[0].starts_with(" tandem — keys"));
    assert!(
        rows[1].contains("Ctrl-S") && rows[1].contains("save") && rows[1].contains("Save the file"),
        "{rows:#?}"
    );
    assert!(rows[6].contains("HELP"));
}

#[test]
fn status_bar_shows_modified_line_col_and_crlf() {
    let mut ed = Editor::new("a\r\nb中c\r\n");
    type_keys(&mut ed, &["down", "end", "x"]);
    let (term, _) = draw(&mut ed, 34, 5, &[]);
    assert_eq!(screen(&term)[3], " [new] [+]  EDIT 2:6  CRLF  UTF-8 ");
}

#[cfg(unix)]
#[test]
fn status_bar_marks_write_protected_files_and_the_bom() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro");
    std::fs::write(&path, "\u{FEFF}a\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut ed = Editor::open(&path, &Config::default()).unwrap();
    let (term, _) = draw(&mut ed, 200, 5, &[]);
    let status = screen(&term)[3].trim_end().to_owned();
    assert!(status.starts_with(&format!(" {} [RO]  EDIT ", path.display())), "{status}");
    assert!(status.ends_with(" 1:1  LF  UTF-8 BOM"), "{status}");
}

#[test]
fn wide_glyph_that_does_not_fit_wraps_whole() {
    let config = Config { soft_wrap: true, line_numbers: false, ..Config::default() };
    let mut ed = Editor::with_rope(ropey::Rope::from_str("abcdefghi👍🏽中\n"), &config);
    let (term, _) = draw(&mut ed, 10, 5, &[]);
    assert_eq!(screen(&term)[..3], ["abcdefghi ", "👍🏽中      ", "          "]);
}

#[test]
fn rendering_into_a_smaller_area_than_the_view_does_not_panic() {
    let config = Config { soft_wrap: true, ..Config::default() };
    let mut ed = Editor::with_rope(ropey::Rope::from_str(&"中文👍🏽 wide text ".repeat(20)), &config);
    ed.resize(60, 20);
    let theme = Theme::dark();
    let input = RenderInput {
        theme: &theme,
        decorations: &[],
        authors: &[],
        connection: None,
        syntax: None,
        help: &[],
    };
    let mut term = Terminal::new(TestBackend::new(17, 5)).unwrap();
    term.draw(|f| {
        render(&ed, None, &input, f.area(), f.buffer_mut());
    })
    .unwrap();
    assert!(screen(&term)[0].starts_with("  1 中文👍🏽"));
}

/// Issue 11: on a narrow terminal the status bar keeps the modified flag and the position (the file name is
/// shortened first), and questions keep their choices.
#[test]
fn small_terminals_keep_the_modified_flag_and_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a-rather-long-file-name.txt");
    std::fs::write(&path, "x").unwrap();
    let mut ed = Editor::open(&path, &Config::default()).unwrap();
    type_keys(&mut ed, &["y"]);
    let (term, _) = draw(&mut ed, 24, 4, &[]);
    let status = &screen(&term)[2];
    assert_eq!(status, " …ame.txt [+]  EDIT 1:2 ", "{status:?}");

    let question = format!("{} exists — overwrite? (y)es (n)o", path.display());
    let fitted = fit_question(&question, 40);
    assert!(fitted.ends_with("overwrite? (y)es (n)o"), "{fitted}");
    assert!(fitted.starts_with('…') && fitted.width() <= 40, "{fitted}");
    assert_eq!(fit_question("Quit? (y)es (n)o", 40), "Quit? (y)es (n)o");
}

/// Issue 11: with no room after the line, the flag goes on blank cells above or below the cursor, never on text.
#[test]
fn name_flags_find_blank_room_or_are_left_out() {
    let mut ed = Editor::new(
        "abcdefghijkl
\nxxxxxxxxxxxx\n",
    );
    let deco =
        |pos| [Decoration { pos, selection: None, colour: Rgb(200, 0, 0), label: "bob".into() }];
    // Cursor on "c" of a full row: the blank line below takes the flag.
    let (term, _) = draw(&mut ed, 16, 5, &deco(2));
    let rows = screen(&term);
    assert_eq!(rows[0], "  1 abcdefghijkl");
    assert_eq!(rows[1], "  2   bob       ");
    // Cursor on a full row between two full rows: no flag at all.
    let mut ed = Editor::new("abcdefghijkl\nabcdefghijkl\nabcdefghijkl\n");
    let (term, _) = draw(&mut ed, 16, 5, &deco(15));
    let rows = screen(&term);
    assert_eq!(&rows[..3], ["  1 abcdefghijkl", "  2 abcdefghijkl", "  3 abcdefghijkl"]);
}

/// Issue 11: the help screen says what the recovery journal is and where it lives, after the keys.
#[test]
fn help_screen_explains_the_recovery_journal() {
    let mut ed = Editor::new("");
    type_keys(&mut ed, &["f1"]);
    let rows = help_lines(&ed, &KEYS).len();
    for _ in 0..rows {
        type_keys(&mut ed, &["down"]);
    }
    let (term, _) = draw(&mut ed, 110, 12, &[]);
    let screen = screen(&term).join("\n");
    assert!(screen.contains("Recovery journal: unsaved edits"), "{screen}");
    assert!(screen.contains("~/.local/state/tandem/journal"), "{screen}");
    assert!(screen.contains("tandem --recover"), "{screen}");
}

/// Issue 11: a long plain line (laid out from its visible window only) draws, scrolls and reports its column
/// exactly as the general layout does.
#[test]
fn a_long_plain_line_draws_its_end_like_any_line() {
    let long = format!("{}tail", "a".repeat(crate::buffer::LONG_LINE_BYTES));
    let mut ed = Editor::new(&format!("{long}\nnext\n"));
    type_keys(&mut ed, &["end"]);
    let (term, cursor) = draw(&mut ed, 20, 4, &[]);
    let rows = screen(&term);
    assert_eq!(rows[0], "  1 aaaaaaaaaaatail ", "{rows:?}");
    assert_eq!(cursor, Some((19, 0)));
    assert_eq!(ed.status().column, long.len() + 1);
    // The same with a tab in front takes the general path: the same picture, one tab further.
    let mut general = Editor::new(&format!("\t{long}\nnext\n"));
    type_keys(&mut general, &["end"]);
    let (term, _) = draw(&mut general, 20, 4, &[]);
    assert_eq!(screen(&term)[0], rows[0]);
    type_keys(&mut ed, &["shift-left", "shift-left"]);
    let (term, _) = draw(&mut ed, 20, 4, &[]);
    let sel = Theme::dark().ui.selection;
    assert_eq!(term.backend().buffer()[(17, 0)].bg, Color::Rgb(sel.0, sel.1, sel.2));
    type_keys(&mut ed, &["ctrl-home"]);
    let (term, _) = draw(&mut ed, 20, 4, &[]);
    assert_eq!(screen(&term)[0], "  1 aaaaaaaaaaaaaaaa");
}

/// What the text area's rows should show of `line` laid out whole (the reference for long lines, which are laid
/// out from checkpoints near the screen): `height` rows from the view's top row (soft wrap) or `width` columns from
/// its left column (without).
fn expected_rows(line: &str, ed: &Editor, width: usize, height: usize) -> Vec<String> {
    let opts = ed.layout_options();
    let view = ed.view();
    let (top, left) = if opts.wrap.is_some() { (view.top_row, 0) } else { (0, view.left_col) };
    let mut cells = vec![vec![String::from(" "); width]; height];
    for g in layout::Glyphs::new(line, opts) {
        let (Some(y), Some(x)) = (g.row.checked_sub(top), g.col.checked_sub(left)) else {
            continue;
        };
        if y >= height || x >= width {
            continue;
        }
        let room = width - x;
        if g.text == "\t" || g.width > room {
            continue;
        }
        cells[y][x] = g.text.to_string();
        for c in 1..g.width {
            cells[y][x + c] = String::new();
        }
    }
    cells.into_iter().map(|row| row.concat()).collect()
}

/// Issue 11: a long line with tabs, wide chars and combining marks, with and without soft wrap, draws, places the
/// cursor and reports its column at its end, middle and start as laying the whole line out does.
#[test]
fn a_long_line_with_tabs_and_wide_chars_draws_like_the_whole_line_laid_out() {
    let unit = "ab\t中文 👍🏽 e\u{301}x \"key\":1, ";
    let long = format!("{}tail", unit.repeat(crate::buffer::LONG_LINE_BYTES / unit.len() + 1));
    let nowrap = layout::LayoutOptions { tab_width: 4, wrap: None };
    for soft_wrap in [false, true] {
        let config = Config { soft_wrap, ..Config::default() };
        let mut ed = Editor::with_rope(ropey::Rope::from_str(&format!("{long}\nnext\n")), &config);
        for keys in [
            &["end"][..],
            &["ctrl-g", "1", ":", "3", "0", "0", "0", "0", "enter", "right"],
            &["home"],
        ] {
            type_keys(&mut ed, keys);
            let (term, cursor) = draw(&mut ed, 30, 8, &[]);
            let text_rows: Vec<String> =
                screen(&term)[..6].iter().map(|r| r.chars().skip(4).collect()).collect();
            let rows = if soft_wrap { 6 } else { 1 };
            let want = expected_rows(&long, &ed, 26, rows);
            assert_eq!(text_rows[..rows], want[..], "wrap {soft_wrap}, after {keys:?}");
            let head = ed.selection().head;
            let (row, col) = layout::position_of(&long, head, ed.layout_options());
            let view = ed.view();
            let (y, x) =
                if soft_wrap { (row - view.top_row, col) } else { (0, col - view.left_col) };
            assert_eq!(cursor, Some((4 + x as u16, y as u16)), "wrap {soft_wrap}, after {keys:?}");
            assert_eq!(ed.status().column, layout::position_of(&long, head, nowrap).1 + 1);
        }
    }
}
