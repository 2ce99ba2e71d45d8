//! Model and keystroke tests in the buffer notation of [`crate::notation`]; the helpers serve the other files'
//! tests too.

use super::*;
use crate::input::{Modifiers, MouseEvent, MouseKind};
use crate::keys::Keys;
use crate::notation;

/// The default bindings, as the front end has them.
static KEYS: std::sync::LazyLock<Keys> = std::sync::LazyLock::new(Keys::default);

fn press(e: &mut Editor, key: KeyEvent) {
    KEYS.press(e, key);
}

pub(super) fn ed(s: &str) -> Editor {
    let (text, sel) = notation::parse(s);
    let mut e = Editor::new(&text);
    e.view.selection = sel;
    e
}

pub(super) fn state(e: &Editor) -> String {
    notation::render(&e.rope().to_string(), e.selection())
}

fn key(spec: &str) -> KeyEvent {
    spec.parse().unwrap()
}

/// Runs a small script: plain text is typed, `<spec>` presses a key ("<ctrl-z>", "<left>").
pub(super) fn run(e: &mut Editor, script: &str) {
    run_with(&KEYS, e, script);
}

fn run_with(keys: &Keys, e: &mut Editor, script: &str) {
    let mut rest = script;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(end) = after.find('>')
            && end > 0
        {
            keys.press(e, key(&after[..end]));
            rest = &after[end + 1..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        for k in KeyEvent::typed(&c.to_string()) {
            keys.press(e, k);
        }
        rest = &rest[c.len_utf8()..];
    }
}

pub(super) fn check(before: &str, script: &str, after: &str) {
    let mut e = ed(before);
    run(&mut e, script);
    assert_eq!(state(&e), after, "{before:?} + {script:?}");
}

#[test]
fn typing_and_undo_groups_by_word() {
    check("|", "hello world<ctrl-z>", "hello|");
    check("|", "hello world<ctrl-z><ctrl-z>", "|");
    check("|", "hello world<ctrl-z><ctrl-z><ctrl-y><ctrl-y>", "hello world|");
    check("|", "hello<ctrl-z>", "|");
    check("ab|", "<backspace><backspace><ctrl-z>", "ab|");
    check("|", "ab<left>c<ctrl-z>", "a|b");
}

#[test]
fn movement_by_grapheme_cluster() {
    check("|e\u{301}👍🏽中", "<right>", "e\u{301}|👍🏽中");
    check("|e\u{301}👍🏽中", "<right><right>", "e\u{301}👍🏽|中");
    check("e\u{301}👍🏽中|", "<left><left>", "e\u{301}|👍🏽中");
    check("a👍🏽|b", "<backspace>", "a|b");
    check("a|👍🏽b", "<delete>", "a|b");
    check("a|\r\nb", "<right>", "a\r\n|b");
    check("a\r\n|b", "<backspace>", "a|b");
}

#[test]
fn selection_with_shift_and_typing_replaces_it() {
    check("|hello", "<shift-right><shift-right>", "^he|llo");
    check("|hello", "<shift-right><shift-right>X", "X|llo");
    check("he^ll|o", "<left>", "he|llo");
    check("foo |bar baz", "<ctrl-shift-right>", "foo ^bar| baz");
    check("one two|", "<ctrl-left><ctrl-left>", "|one two");
    check("a|bc", "<ctrl-a>", "^abc|");
}

#[test]
fn vertical_movement_keeps_column() {
    check("ab|cd\nx\nefgh", "<down>", "abcd\nx|\nefgh");
    check("ab|cd\nx\nefgh", "<down><down>", "abcd\nx\nef|gh");
    check("ab|cd", "<up>", "|abcd");
    check("ab|cd", "<down>", "abcd|");
    // Wide chars count two columns.
    check("ab|cd\n中文", "<down>", "abcd\n中|文");
}

#[test]
fn home_end_and_smart_home() {
    check("  ab|c", "<home>", "  |abc");
    check("  ab|c", "<home><home>", "|  abc");
    check("  |abc\nx", "<end>", "  abc|\nx");
    check("ab\ncd|", "<ctrl-home>", "|ab\ncd");
    check("|ab\ncd", "<ctrl-end>", "ab\ncd|");
}

#[test]
fn enter_keeps_indent_and_line_ending() {
    check("    foo|", "<enter>x", "    foo\n    x|");
    check("a\r\nb|", "<enter>c", "a\r\nb\r\nc|");
}

#[test]
fn cut_copy_paste() {
    let mut e = ed("^hello| world");
    run(&mut e, "<ctrl-x>");
    assert_eq!(state(&e), "| world");
    assert_eq!(e.take_effects(), vec![Effect::Clipboard("hello".into())]);
    run(&mut e, "<end><ctrl-v>");
    assert_eq!(state(&e), " worldhello|");
    run(&mut e, "<ctrl-z>");
    assert_eq!(state(&e), " world|");
    // Without a selection, copy takes the whole line.
    check("a|b\ncd", "<ctrl-c><ctrl-end><enter><ctrl-v>", "ab\ncd\nab\n|");
}

#[test]
fn bracketed_paste_converts_line_endings() {
    let mut e = ed("x\r\ny|");
    e.paste("1\n2\r3");
    assert_eq!(state(&e), "x\r\ny1\r\n2\r\n3|");
}

#[test]
fn incremental_search_and_escape_restores() {
    check("|one two one", "<ctrl-f>one<enter>", "^one| two one");
    check("|one two one", "<ctrl-f>one<down><enter>", "one two ^one|");
    check("o|ne two one", "<ctrl-f>one<enter>", "one two ^one|");
    check("|one two one", "<ctrl-f>tw<esc>", "|one two one");
    check("|one two one", "<ctrl-f>one<enter><f3>", "one two ^one|");
    check("|one two one", "<ctrl-f>one<enter><f3><f3>", "^one| two one");
    check("|one two one", "<ctrl-f>one<enter><f3><shift-f3>", "^one| two one");
    // Regex toggle.
    check("|a1 b22", "<ctrl-f><alt-r>\\d+<enter>", "a^1| b22");
    check("|a1 b22", "<ctrl-f><alt-r>\\d{2}<enter>", "a1 b^22|");
    // Case-insensitive toggle.
    check("|x FOO", "<ctrl-f><alt-c>foo<enter>", "x ^FOO|");
}

#[test]
fn search_highlight_tracks_query() {
    let mut e = ed("|aXa");
    run(&mut e, "<ctrl-f>a");
    assert_eq!(e.search_highlight().unwrap().line_matches(e.rope(), 0), vec![0..1, 2..3]);
    run(&mut e, "<esc>");
    assert!(e.search_highlight().is_none());
}

#[test]
fn replace_one_by_one_and_all() {
    check("|a a a", "<ctrl-r>a<enter>b<enter>yny", "b a b|");
    check("|a a a", "<ctrl-r>a<enter>b<enter>a", "b b b|");
    check("|a a a", "<ctrl-r>a<enter>bb<enter>a<ctrl-z>", "^a| a a");
    check("|x=1 y=22", "<ctrl-r><alt-r>(\\w)=(\\d+)<enter>$2=$1<enter>a", "1=x 22=y|");
    // Replacing with something that contains the pattern does not loop.
    check("|a\na", "<ctrl-r>a<enter>aa<enter>a", "aa\naa|");
}

#[test]
fn goto_line() {
    check("|a\nb\nc", "<ctrl-g>3<enter>", "a\nb\n|c");
    check("|a\nbcd\nc", "<ctrl-g>2:3<enter>", "a\nbc|d\nc");
    check("|a\nb", "<ctrl-g>99<enter>", "a\n|b");
    check("|a\nb", "<ctrl-g>x<enter>", "|a\nb");
}

#[test]
fn quit_asks_when_modified() {
    let mut e = ed("|");
    run(&mut e, "<ctrl-q>");
    assert!(e.should_quit());
    let mut e = ed("|");
    run(&mut e, "x<ctrl-q>");
    assert!(!e.should_quit());
    assert!(matches!(e.mode(), Mode::Confirm(Confirm::Quit)));
    run(&mut e, "<esc>");
    assert!(!e.should_quit() && matches!(e.mode(), Mode::Normal));
    run(&mut e, "<ctrl-q>n");
    assert!(e.should_quit());
}

#[test]
fn modified_flag_follows_undo_to_save_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "ab").unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    assert!(!e.is_modified());
    run(&mut e, "x");
    assert!(e.is_modified());
    run(&mut e, "<ctrl-s>");
    assert!(!e.is_modified());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "xab");
    run(&mut e, "y");
    assert!(e.is_modified());
    run(&mut e, "<ctrl-z>");
    assert!(!e.is_modified());
}

#[test]
fn external_change_is_noticed_and_save_asks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "ab").unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    std::fs::write(&path, "changed elsewhere").unwrap();
    e.check_disk();
    assert!(e.message().unwrap().text.contains("changed on disk"));
    run(&mut e, "x<ctrl-s>");
    assert!(matches!(e.mode(), Mode::Confirm(Confirm::Overwrite)));
    run(&mut e, "n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "changed elsewhere");
    run(&mut e, "<ctrl-s>y");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "xab");
}

#[test]
fn reload_replaces_text_undoably() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "old").unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    std::fs::write(&path, "new text").unwrap();
    run(&mut e, "<alt-l>");
    assert_eq!(e.rope().to_string(), "new text");
    assert!(!e.is_modified());
}

#[test]
fn read_only_refuses_edits_and_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad");
    std::fs::write(&path, b"a\xffb").unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    run(&mut e, "x<ctrl-s>");
    assert_eq!(e.rope().to_string(), "a\u{FFFD}b");
    assert!(e.message().unwrap().text.contains("read-only"));
    assert_eq!(std::fs::read(&path).unwrap(), b"a\xffb");
}

#[test]
fn pending_edits_are_primitive_and_drainable() {
    let mut e = ed("ab|");
    run(&mut e, "c<backspace><shift-left>X<ctrl-z>");
    assert_eq!(
        e.take_pending_edits(),
        vec![
            Edit::insert(2, "c"),
            Edit::delete(2..3),
            Edit { range: 1..2, text: "X".into() },
            Edit { range: 1..2, text: "b".into() },
        ]
    );
    assert!(e.take_pending_edits().is_empty());
}

#[test]
fn remote_edits_map_cursor_and_skip_history() {
    let mut e = ed("he^ll|o");
    e.set_marks(vec![5]);
    assert!(e.apply_remote(Edit::insert(0, "¡")));
    assert_eq!(state(&e), "¡he^ll|o");
    assert_eq!(e.marks(), &[6]);
    assert!(e.apply_remote(Edit::delete(3..5)));
    assert_eq!(state(&e), "¡he|o");
    assert!(e.take_pending_edits().is_empty());
    assert!(!e.apply_remote(Edit::insert(99, "x")));
    run(&mut e, "<ctrl-z>");
    assert_eq!(e.rope().to_string(), "¡heo");
}

#[test]
fn unbound_keys_report_and_mode_keys_work() {
    let mut e = ed("|");
    press(&mut e, KeyEvent { key: Key::F(9), mods: Modifiers::default() });
    assert!(e.message().unwrap().text.contains("not bound"));
    run(&mut e, "<f1>");
    assert!(matches!(e.mode(), Mode::Help(0)));
    run(&mut e, "<down><esc>");
    assert!(matches!(e.mode(), Mode::Normal));
}

#[test]
fn remapped_keys_come_from_config() {
    let config =
        Config::from_toml("[keys]\n\"ctrl-s\" = \"none\"\n\"ctrl-k\" = \"cut\"\n", Path::new("c"))
            .unwrap();
    let mut e = Editor::with_rope(Rope::from_str("ab\ncd"), &config);
    let keys = Keys::configured(&config, &mut e);
    run_with(&keys, &mut e, "<ctrl-k>");
    assert_eq!(e.rope().to_string(), "cd");
    assert!(keys.keymap().get(&key("ctrl-s")).is_none());
    assert!(keys.keymap().keys_for("cut").contains(&key("ctrl-k")));
}

#[test]
fn view_follows_cursor_and_mouse_maps_cells() {
    let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    let mut e = Editor::new(&text);
    e.resize(20, 12);
    run(&mut e, "<ctrl-end>");
    assert_eq!(e.view().top_line, 91);
    run(&mut e, "<ctrl-home>");
    assert_eq!(e.view().top_line, 0);
    // Gutter is 4 cells ("  1 "): clicking column 6 of row 2 lands on line 3, char 2.
    e.handle_mouse(MouseEvent {
        kind: MouseKind::Down,
        column: 6,
        row: 2,
        shift: false,
        alt: false,
        clicks: 1,
    });
    assert_eq!(e.selection(), Selection::point(e.rope().line_to_char(2) + 2));
    e.handle_mouse(MouseEvent {
        kind: MouseKind::Drag,
        column: 8,
        row: 3,
        shift: false,
        alt: false,
        clicks: 1,
    });
    assert_eq!(e.selection().range(), e.rope().line_to_char(2) + 2..e.rope().line_to_char(3) + 4);
    e.handle_mouse(MouseEvent {
        kind: MouseKind::ScrollDown,
        column: 0,
        row: 0,
        shift: false,
        alt: false,
        clicks: 1,
    });
    assert_eq!(e.view().top_line, 3);
}

#[test]
fn soft_wrap_moves_by_visual_rows() {
    let mut e = ed("ab|cdefghij");
    e.view.options.line_numbers = false;
    e.view.options.soft_wrap = true;
    e.resize(4, 10);
    run(&mut e, "<down>");
    assert_eq!(state(&e), "abcdef|ghij");
    run(&mut e, "<down>");
    assert_eq!(state(&e), "abcdefghij|");
    run(&mut e, "<up><up>");
    assert_eq!(state(&e), "ab|cdefghij");
}

#[test]
fn incremental_search_on_big_buffer_is_budgeted() {
    let line = "x".repeat(99) + "\n";
    let text = line.repeat(60_000) + "needle\n";
    let mut e = Editor::new(&text);
    run(&mut e, "<ctrl-f>needle");
    assert!(e.is_busy());
    while e.tick() {}
    assert_eq!(e.selection().range(), 6_000_000..6_000_006);
}

#[test]
fn the_bom_is_kept_but_cannot_be_seen_deleted_or_typed_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.txt");
    std::fs::write(&path, "\u{FEFF}ab").unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    assert_eq!(e.rope().to_string(), "ab", "the BOM is not part of the text");
    assert_eq!(e.status().encoding, "UTF-8 BOM");
    run(&mut e, "<ctrl-home><backspace>x<ctrl-s>");
    assert_eq!(std::fs::read(&path).unwrap(), "\u{FEFF}xab".as_bytes());
    run(&mut e, "<ctrl-home><delete><delete><delete><ctrl-s>");
    assert_eq!(std::fs::read(&path).unwrap(), "\u{FEFF}".as_bytes());
    assert_eq!(e.status().column, 1);
}

#[cfg(unix)]
#[test]
fn a_write_protected_file_is_marked_and_saving_asks_before_writing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.txt");
    std::fs::write(&path, "ab").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut e = Editor::open(&path, &Config::default()).unwrap();
    assert!(e.status().write_protected);
    run(&mut e, "x<ctrl-s>");
    assert!(matches!(e.mode(), Mode::Confirm(Confirm::WriteProtected)));
    run(&mut e, "n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "ab", "never silently replaced");
    assert!(e.is_modified());
    run(&mut e, "<ctrl-s>y");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "xab");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "the permissions are kept");
    assert!(!e.is_modified());
}

/// Issue 11: a save as that fails or is declined leaves the buffer's name alone; the question names the file.
#[test]
fn save_as_that_fails_or_is_declined_keeps_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let (mine, theirs) = (dir.path().join("mine.txt"), dir.path().join("theirs.txt"));
    std::fs::write(&mine, "mine").unwrap();
    std::fs::write(&theirs, "theirs").unwrap();
    let mut e = Editor::open(&mine, &Config::default()).unwrap();
    run(&mut e, "x<alt-s><ctrl-u>");
    run(&mut e, &format!("{}<enter>", dir.path().join("no/such/dir/f.txt").display()));
    assert!(e.message().unwrap().text.starts_with("not saved"), "{:?}", e.message());
    assert_eq!(e.path(), Some(mine.as_path()), "a failed save as keeps the name");

    run(&mut e, &format!("<alt-s><ctrl-u>{}<enter>", theirs.display()));
    let Mode::Confirm(confirm) = e.mode() else { panic!("no question") };
    assert_eq!(confirm.question(), format!("{} exists — overwrite? (y)es (n)o", theirs.display()));
    run(&mut e, "n");
    assert_eq!(e.path(), Some(mine.as_path()), "a declined save as keeps the name");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs");
    assert!(e.is_modified());

    run(&mut e, &format!("<alt-s><ctrl-u>{}<enter>y", theirs.display()));
    assert_eq!(e.path(), Some(theirs.as_path()));
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "xmine");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
    assert!(!e.is_modified());
}

/// Issue 11: quitting an unnamed buffer with "save" asks its name, saves, then quits.
#[test]
fn quitting_an_unnamed_buffer_with_save_asks_the_name_then_quits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("named.txt");
    let mut e = ed("|");
    run(&mut e, "words<ctrl-q>y");
    assert!(matches!(e.mode(), Mode::Prompt(_)), "asks the name");
    assert!(!e.should_quit());
    run(&mut e, &format!("{}<enter>", file.display()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "words");
    assert!(e.should_quit());
}

/// Issue 11: prompts edit like a line editor — prefilled text selected (typing replaces it), Ctrl-U clears,
/// Alt-Backspace deletes a word, `~` is the home directory, Tab completes file names.
#[test]
fn prompts_edit_like_a_line_editor() {
    let input = |e: &Editor| match e.mode() {
        Mode::Prompt(p) => p.input.clone(),
        other => panic!("no prompt: {other:?}"),
    };
    let mut e = ed("|one two one");
    run(&mut e, "<ctrl-f>one<enter><esc><ctrl-r>");
    assert_eq!(input(&e), "one", "the last pattern, prefilled");
    run(&mut e, "two");
    assert_eq!(input(&e), "two", "typing replaces the prefilled text");
    run(&mut e, "<esc><ctrl-r><end>s");
    assert_eq!(input(&e), "ones", "a motion keeps the prefilled text");
    run(&mut e, " more words<alt-backspace>");
    assert_eq!(input(&e), "ones more ");
    run(&mut e, "<alt-backspace>");
    assert_eq!(input(&e), "ones ");
    run(&mut e, "<ctrl-u>");
    assert_eq!(input(&e), "");
    run(&mut e, "<esc>");

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/alpha.txt"), "").unwrap();
    std::fs::write(dir.path().join("notes/alpine.txt"), "").unwrap();
    let typed = format!("{}/no", dir.path().display());
    run(&mut e, &format!("<alt-s>{typed}<tab>"));
    assert_eq!(input(&e), format!("{}/notes/", dir.path().display()), "a directory gets its /");
    run(&mut e, "al<tab>");
    assert_eq!(input(&e), format!("{}/notes/alp", dir.path().display()), "what both share");
    assert!(e.message().unwrap().text.contains("alpha.txt  alpine.txt"));
    run(&mut e, "h<tab>");
    assert_eq!(input(&e), format!("{}/notes/alpha.txt", dir.path().display()));
    run(&mut e, "<esc>");

    assert_eq!(
        prompt::expand_home("~/x.txt"),
        std::path::Path::new(&std::env::var("HOME").unwrap()).join("x.txt")
    );
    assert_eq!(prompt::expand_home("a~/x"), std::path::PathBuf::from("a~/x"));
}

/// Issue 11: "a" after some "n" replaces only the matches not answered yet.
#[test]
fn replace_all_after_no_leaves_the_skipped_matches() {
    check("|x x x x", "<ctrl-r>x<enter>y<enter>yna", "y x y y|");
    // Started in the middle: the rest to the end, then from the top up to where it started.
    check("x x |x x", "<ctrl-r>x<enter>y<enter>na", "y y| x y");
}

/// Issue 11: search says which match of how many, and when it wrapped; cut says what it did.
#[test]
fn search_counts_matches_and_says_when_it_wrapped_and_cut_counts_chars() {
    let mut e = ed("one |two one one");
    run(&mut e, "<ctrl-f>one");
    assert_eq!(e.message().unwrap().text, "match 2 of 3");
    run(&mut e, "<enter><f3>");
    assert_eq!(e.message().unwrap().text, "match 3 of 3");
    run(&mut e, "<f3>");
    assert_eq!(e.message().unwrap().text, "match 1 of 3 (wrapped to the top)");
    run(&mut e, "<shift-f3>");
    assert_eq!(e.message().unwrap().text, "match 3 of 3 (wrapped to the bottom)");

    let mut e = ed("a^bc|d");
    run(&mut e, "<ctrl-x>");
    assert_eq!(e.message().unwrap().text, "cut 2 chars");
}

/// Issue 11: Tab on a selection indents its lines (never replaces it), Shift-Tab dedents; without a selection
/// Tab inserts at the cursor.
#[test]
fn tab_indents_and_shift_tab_dedents_the_selected_lines() {
    let mut e = ed("a^b\n\ncd|\nef");
    e.view.options.insert_spaces = true;
    e.view.options.tab_width = 4;
    run(&mut e, "<tab>");
    assert_eq!(e.rope().to_string(), "    ab\n\n    cd\nef", "blank lines stay blank");
    run(&mut e, "<backtab>");
    assert_eq!(e.rope().to_string(), "ab\n\ncd\nef");
    run(&mut e, "<ctrl-z>");
    assert_eq!(e.rope().to_string(), "    ab\n\n    cd\nef", "one undo step each");
    check("x|y", "<tab>", "x\t|y");
    check("\t\tx|y", "<backtab>", "\tx|y");
    check("a^bc|d", "<tab>", "\ta^bc|d");
}

/// Issue 11: go to LINE:COL counts display columns (tabs expanded, wide chars two), as the status bar does.
#[test]
fn goto_column_is_the_status_bar_column() {
    let mut e = ed("|x\na\t中bc");
    e.view.options.tab_width = 4;
    run(&mut e, "<ctrl-g>2:7<enter>");
    assert_eq!(state(&e), "x\na\t中|bc");
    assert_eq!(e.status().column, 7);
    run(&mut e, "<ctrl-g>2:5<enter>");
    assert_eq!(state(&e), "x\na\t|中bc");
}

/// Issue 11: Backspace arriving as 0x08 (read as Ctrl-H) deletes one grapheme, in the text and in prompts.
#[test]
fn ctrl_h_is_backspace() {
    check("a👍🏽|", "<ctrl-h>", "a|");
    check("one two|", "<ctrl-h>", "one tw|");
    check("one two|", "<alt-backspace>", "one |");
    let mut e = ed("|");
    run(&mut e, "<ctrl-f>ab<ctrl-h>");
    let Mode::Prompt(p) = e.mode() else { panic!("no prompt") };
    assert_eq!(p.input, "a");
}
