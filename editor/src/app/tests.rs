//! The front end with a shared document opened offline: keys through the app's keymap and the
//! session's own commands, the local store, the presence list, malformed frames.

use tandem_crdt::{Document, DocumentConfig, SyncSession};

use super::*;
use crate::collab::{AppOptions, NetEvent};
use crate::{Key, KeyEvent};

fn offline_options(dir: &std::path::Path) -> AppOptions {
    AppOptions {
        url: "ws://127.0.0.1:9/notes".into(),
        token: None,
        name: "ann".into(),
        color: "#ee6352".into(),
        file: None,
        offline: true,
        ca_cert: None,
        data_dir: dir.to_owned(),
    }
}

fn open_offline(options: AppOptions) -> App {
    let (tx, _rx) = std::sync::mpsc::channel();
    let config = crate::Config::default();
    let theme = config.load_theme().unwrap();
    App::open(options, &config, theme, tx).unwrap()
}

#[test]
fn quitting_offline_and_reopening_keeps_every_edit_and_its_unconfirmed_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    for key in KeyEvent::typed("typed offline") {
        app.handle(AppEvent::Key(key), 0);
        app.send(0);
        app.persist(0).unwrap();
    }
    // A crash: no shutdown, only what was appended after each batch.
    drop(app);
    let mut app = open_offline(offline_options(dir.path()));
    assert_eq!(app.editor().rope().to_string(), "typed offline");
    assert_eq!(app.shared().unwrap().collab().client().unconfirmed_count(), 13);
    assert_eq!(app.status(0), "offline · 13 unconfirmed");
    app.handle(AppEvent::Key(KeyEvent::ctrl(Key::End)), 0);
    app.handle(AppEvent::Key(KeyEvent::plain(Key::Char('!'))), 0);
    app.shutdown(0).unwrap();
    let app = open_offline(offline_options(dir.path()));
    assert_eq!(app.editor().rope().to_string(), "typed offline!");
}

#[test]
fn a_linked_file_seeds_an_empty_offline_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    std::fs::write(&file, "# notes\n").unwrap();
    let mut app =
        open_offline(AppOptions { file: Some(file.clone()), ..offline_options(dir.path()) });
    assert_eq!(app.editor().rope().to_string(), "# notes\n");
    assert_eq!(app.shared().unwrap().collab().client().document().text(), "# notes\n");
    app.handle(AppEvent::Key(KeyEvent::ctrl(Key::End)), 0);
    app.handle(AppEvent::Key(KeyEvent::plain(Key::Char('x'))), 0);
    app.handle(AppEvent::Key(KeyEvent::ctrl(Key::Char('s'))), 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# notes\nx");
    app.shutdown(0).unwrap();
}

#[test]
fn the_presence_list_is_a_keymap_command_shown_in_help_and_remappable() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    let help = app.keys().help_lines();
    let row = help.iter().find(|(_, name, _)| *name == "toggle_presence");
    assert_eq!(row.map(|(keys, _, _)| keys.as_str()), Some("F2"), "{help:?}");
    let screen = |app: &mut App| {
        let area = ratatui::layout::Rect::new(0, 0, 40, 6);
        let mut buf = ratatui::buffer::Buffer::empty(area);
        app.render(area, &mut buf, 0);
        buf.content().iter().map(|c| c.symbol()).collect::<String>()
    };
    assert!(!screen(&mut app).contains("ann (you)"));
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(2))), 0);
    assert!(screen(&mut app).contains("ann (you)"), "{}", screen(&mut app));
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(2))), 0);
    assert!(!screen(&mut app).contains("ann (you)"));
    assert_eq!(app.editor().rope().to_string(), "", "F2 must not reach the text");
    app.shutdown(0).unwrap();

    // Remapped in the config: Alt-P toggles, F2 is free.
    let toml = "[keys]\n\"f2\" = \"none\"\n\"alt-p\" = \"toggle_presence\"\n";
    let config = crate::Config::from_toml(toml, std::path::Path::new("user.toml")).unwrap();
    let theme = config.load_theme().unwrap();
    let (tx, _rx) = std::sync::mpsc::channel();
    let mut app = App::open(offline_options(dir.path()), &config, theme, tx).unwrap();
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(2))), 0);
    assert!(!app.editor().presence_list_shown());
    app.handle(AppEvent::Key("alt-p".parse().unwrap()), 0);
    assert!(app.editor().presence_list_shown());
}

#[test]
fn the_presence_command_explains_itself_outside_a_shared_document() {
    let mut ed = Editor::new("text");
    crate::Keys::default().press(&mut ed, KeyEvent::plain(Key::F(2)));
    assert!(!ed.presence_list_shown());
    let message = ed.message().map(|m| m.text.clone()).unwrap_or_default();
    assert!(message.contains("not a shared document"), "{message}");
    assert_eq!(ed.rope().to_string(), "text");
}

#[test]
fn a_malformed_frame_drops_the_connection_and_the_next_one_resyncs() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    app.handle(AppEvent::Net(BufferId(0), NetEvent::Connected { epoch: 1 }), 0);
    assert_eq!(app.epoch(), Some(1));
    // A sync update whose length runs past the frame's end.
    app.handle(
        AppEvent::Net(BufferId(0), NetEvent::Frame { epoch: 1, bytes: vec![0, 2, 200, 1] }),
        0,
    );
    assert_eq!(app.epoch(), None, "the bad connection must be dropped");
    assert!(app.status(0).starts_with("connecting"), "{}", app.status(0));
    let message = app.editor().message().map(|m| m.text.clone()).unwrap_or_default();
    assert!(!message.is_empty(), "the error is reported");

    let mut server = Document::new(DocumentConfig::new(1)).unwrap();
    let update = server.insert(0, "from the server", 0).unwrap();
    // Frames still in flight on the dropped connection are ignored.
    let frame = SyncSession::update_frame(&update);
    app.handle(AppEvent::Net(BufferId(0), NetEvent::Frame { epoch: 1, bytes: frame.clone() }), 0);
    assert_eq!(app.editor().rope().to_string(), "");
    // The network thread reconnects; the new connection works.
    app.handle(AppEvent::Net(BufferId(0), NetEvent::Connected { epoch: 2 }), 0);
    app.handle(AppEvent::Net(BufferId(0), NetEvent::Frame { epoch: 2, bytes: frame }), 0);
    assert_eq!(app.editor().rope().to_string(), "from the server");
}

#[test]
fn a_file_alone_runs_the_same_loop_without_a_session() {
    let config = crate::Config::default();
    let mut app = App::solo(Editor::new(""), &config, Theme::dark());
    let (tx, rx) = std::sync::mpsc::channel();
    for key in KeyEvent::typed("hi") {
        tx.send(AppEvent::Key(key)).unwrap();
    }
    // Unsaved: quitting asks, "n" quits without saving.
    tx.send(AppEvent::Key(KeyEvent::ctrl(Key::Char('q')))).unwrap();
    tx.send(AppEvent::Key(KeyEvent::plain(Key::Char('n')))).unwrap();
    let mut frames = 0;
    app.run_loop(&rx, |_, _| {
        frames += 1;
        Ok(())
    })
    .unwrap();
    assert!(app.should_quit());
    assert_eq!(app.editor().rope().to_string(), "hi");
    assert!(frames >= 2, "a first frame, then one per batch");
    assert!(
        app.editor_mut().take_pending_edits().is_empty(),
        "alone, the loop consumes local edits"
    );
    assert_eq!(app.status(0), "");
    assert_eq!(app.epoch(), None);
    app.shutdown(0).unwrap();
}

/// Issue 11: a signal keeps every buffer's unsaved edits — typed in the same batch, before the
/// loop sent, persisted or journaled them — in the shared document's store, the file's journal
/// and, for an unnamed buffer, a rescued journal.
#[test]
fn a_signal_keeps_every_unsaved_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let journal_dir = dir.path().join("journal");
    let file = dir.path().join("local.txt");
    std::fs::write(&file, "local\n").unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    app.start_journal(journal_dir.clone());
    let typed = |app: &mut App, text: &str| {
        KeyEvent::typed(text).into_iter().for_each(|k| app.handle(AppEvent::Key(k), 0));
    };
    typed(&mut app, "shared ");
    app.open_file(&file).unwrap();
    typed(&mut app, "file ");
    app.open_scratch();
    typed(&mut app, "unnamed");
    app.handle(AppEvent::Signal(Signal::Terminate), 0);
    assert_eq!(app.signalled(), Some(Signal::Terminate));
    let kept = app.rescue(0);
    assert_eq!(kept.len(), 3, "{kept:?}");
    // The process exits here: no shutdown.
    drop(app);

    let journal = crate::journal::load(&journal_dir, &file).unwrap().unwrap();
    assert_eq!(journal.text, "file local\n");
    let listed = crate::journal::recoverable(&journal_dir).unwrap();
    let rescued = listed.iter().find(|r| r.file.to_string_lossy().contains("unnamed-3")).unwrap();
    let unnamed = crate::journal::load(&journal_dir, &rescued.file).unwrap().unwrap();
    assert_eq!(unnamed.text, "unnamed");
    let app = open_offline(offline_options(dir.path()));
    assert_eq!(app.editor().rope().to_string(), "shared ");
}

/// Issue 11: a config problem reaches the first buffer's message line, once.
#[test]
fn a_config_problem_is_shown_on_the_message_line() {
    let config =
        Config { problem: Some("config.toml:2:9: invalid type".into()), ..Config::default() };
    let (tx, _rx) = std::sync::mpsc::channel();
    let mut app = App::new(&config, Theme::dark(), tx);
    app.open_scratch();
    let message = app.editor().message().unwrap();
    assert!(message.text.contains("config.toml:2:9: invalid type"), "{message:?}");
    app.open_scratch();
    assert!(app.editor().message().is_none(), "once");
}

/// Issue 11: a second instance of one shared document on one machine is not refused: it gets its
/// own replica slot, and its edits merge with the first one's (here at the next start, offline).
#[test]
fn two_instances_of_one_document_each_get_a_replica_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = open_offline(offline_options(dir.path()));
    let mut second = open_offline(offline_options(dir.path()));
    assert_ne!(first.shared().unwrap().store_dir(), second.shared().unwrap().store_dir());
    for (app, text) in [(&mut first, "first "), (&mut second, "second ")] {
        for key in KeyEvent::typed(text) {
            app.handle(AppEvent::Key(key), 0);
        }
        app.send(0);
        app.persist(0).unwrap();
    }
    first.shutdown(0).unwrap();
    // The second one crashes: its replica keeps its edits until the next start takes them in.
    drop(second);
    let app = open_offline(offline_options(dir.path()));
    let text = app.editor().rope().to_string();
    assert!(text.contains("first ") && text.contains("second "), "{text:?}");
    drop(app);
    let again = open_offline(offline_options(dir.path()));
    assert_eq!(again.editor().rope().to_string(), text, "folded into the main store");
}

#[test]
fn the_history_panel_is_f4_in_help_lists_versions_and_previews_one_beside_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    let help = app.keys().help_lines();
    let row = help.iter().find(|(_, name, _)| *name == "history");
    assert_eq!(row.map(|(keys, _, _)| keys.as_str()), Some("F4"), "{help:?}");
    for key in KeyEvent::typed("the text now") {
        app.handle(AppEvent::Key(key), 0);
    }
    let screen = |app: &mut App| {
        let area = ratatui::layout::Rect::new(0, 0, 80, 12);
        let mut buf = ratatui::buffer::Buffer::empty(area);
        app.render(area, &mut buf, 0);
        buf.content().iter().map(|c| c.symbol()).collect::<String>()
    };
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(4))), 0);
    assert!(screen(&mut app).contains("History of notes"), "{}", screen(&mut app));
    // The server's answers, as the panel's calls would bring them.
    let id = app.buffers()[0].id;
    let version = crate::collab::VersionInfo {
        id: 4,
        created_at_ms: 0,
        name: Some("draft".into()),
        authors: vec!["ann".into()],
        chars: 13,
        kind: "named".into(),
    };
    app.handle(AppEvent::History(id, history::Reply::Listed(Ok(vec![version]))), 0);
    app.handle(AppEvent::History(id, history::Reply::Text(4, Ok("the text then".into()))), 0);
    let shown = screen(&mut app);
    assert!(shown.contains("#4     01-01 00:00:00  named   ann  \"draft\""), "{shown}");
    assert!(shown.contains("the text now") && shown.contains("the text then"), "{shown}");
    app.handle(AppEvent::Key(KeyEvent::plain(Key::Esc)), 0);
    assert!(!screen(&mut app).contains("History of notes"));
    assert_eq!(app.editor().rope().to_string(), "the text now", "the panel's keys stay in it");
}

#[test]
fn authorship_is_f5_and_tints_each_authors_run_in_their_cursor_colour_with_a_legend() {
    use crate::collab::{AuthorRun, HistoryError};
    use crate::theme::Rgb;
    let dir = tempfile::tempdir().unwrap();
    let mut app = open_offline(offline_options(dir.path()));
    let help = app.keys().help_lines();
    let row = help.iter().find(|(_, name, _)| *name == "authorship");
    assert_eq!(row.map(|(keys, _, _)| keys.as_str()), Some("F5"), "{help:?}");
    for key in KeyEvent::typed("ann wrote bob wrote ??") {
        app.handle(AppEvent::Key(key), 0);
    }
    let area = ratatui::layout::Rect::new(0, 0, 60, 6);
    let render = |app: &mut App| {
        let mut buf = ratatui::buffer::Buffer::empty(area);
        app.render(area, &mut buf, 0);
        buf
    };
    let row_text = |buf: &ratatui::buffer::Buffer, y: u16| {
        (0..area.width).map(|x| buf[(x, y)].symbol().to_owned()).collect::<String>()
    };
    let theme = crate::Config::default().load_theme().unwrap();
    let background = crate::ui::rgb(theme.ui.background);
    let tint = |c: Rgb| crate::ui::rgb(crate::ui::author_tint(c, theme.ui.background));
    // ann is this user: her colour is her cursor's. bob is not here: the one picked from his name.
    let ann = Rgb::parse("#ee6352").unwrap();
    let bob = Rgb::parse(crate::collab::name_colour("bob")).unwrap();
    assert_ne!(ann, bob);

    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(5))), 0);
    let buf = render(&mut app);
    assert!(row_text(&buf, 3).contains("authors: asking the server…"), "{}", row_text(&buf, 3));
    let id = app.buffers()[0].id;
    let run = |chars, author: Option<&str>| AuthorRun {
        chars,
        utf16: chars,
        author: author.map(str::to_owned),
    };
    // Runs of another text (edits on their way) colour nothing.
    app.handle(AppEvent::Authors(id, Ok(vec![run(3, Some("ann"))])), 0);
    let buf = render(&mut app);
    let text = row_text(&buf, 0);
    let x = |needle: &str| text.find(needle).unwrap() as u16;
    assert_eq!(buf[(x("ann"), 0)].bg, background, "{text}");
    let runs = vec![run(10, Some("ann")), run(10, Some("bob")), run(2, None)];
    app.handle(AppEvent::Authors(id, Ok(runs)), 0);
    let buf = render(&mut app);
    for (needle, want) in [("ann wrote", tint(ann)), ("bob wrote", tint(bob)), ("??", background)] {
        for i in 0..needle.len() as u16 {
            assert_eq!(buf[(x(needle) + i, 0)].bg, want, "{needle} at {i}: {text}");
        }
    }
    let legend = row_text(&buf, 3);
    assert!(legend.contains("authors: ● ann ● bob"), "{legend}");
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(1))), 0);
    assert!(!row_text(&render(&mut app), 3).contains("authors:"), "the help screen covers it");
    app.handle(AppEvent::Key(KeyEvent::plain(Key::Esc)), 0);
    assert_eq!(buf[(legend.find("● ann").unwrap() as u16 + 2, 3)].fg, crate::ui::rgb(ann));
    let bob_at = legend.chars().position(|c| c == 'b').unwrap() as u16;
    assert_eq!(buf[(bob_at, 3)].fg, crate::ui::rgb(bob), "{legend}");

    // The ranges follow an edit until the next answer: text typed before bob's run moves it.
    app.handle(AppEvent::Key(KeyEvent::ctrl(Key::Home)), 0);
    app.handle(AppEvent::Key(KeyEvent::plain(Key::Char('>'))), 0);
    let buf = render(&mut app);
    let text = row_text(&buf, 0);
    let x = |needle: &str| text.find(needle).unwrap() as u16;
    assert_eq!(buf[(x("bob wrote"), 0)].bg, tint(bob), "{text}");
    assert_eq!(buf[(x("bob wrote") - 1, 0)].bg, tint(ann), "{text}");

    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(5))), 0);
    let buf = render(&mut app);
    assert_eq!(buf[(x("bob wrote"), 0)].bg, background, "off: no colour");
    assert!(!row_text(&buf, 3).contains("authors:"), "off: no legend");
    // An answer still on its way when it was switched off changes nothing.
    app.handle(AppEvent::Authors(id, Ok(vec![run(23, Some("bob"))])), 0);
    assert_eq!(render(&mut app)[(x("bob wrote"), 0)].bg, background);

    // A stock y-websocket server keeps no authorship: the colouring goes off, saying so.
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(5))), 0);
    app.handle(AppEvent::Authors(id, Err(HistoryError::NoHistory)), 0);
    let message = app.editor().message().map(|m| m.text.clone()).unwrap_or_default();
    assert!(message.contains("keeps no authorship"), "{message}");
    assert!(!row_text(&render(&mut app), 3).contains("authors:"));
}

#[test]
fn authorship_in_a_local_buffer_says_only_shared_documents_have_authors() {
    let config = crate::Config::default();
    let theme = config.load_theme().unwrap();
    let mut app = App::solo(Editor::with_rope(ropey::Rope::from("notes"), &config), &config, theme);
    app.handle(AppEvent::Key(KeyEvent::plain(Key::F(5))), 0);
    let message = app.editor().message().map(|m| m.text.clone()).unwrap_or_default();
    assert!(message.contains("only shared documents have authors"), "{message}");
}
