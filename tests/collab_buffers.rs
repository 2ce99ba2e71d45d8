//! Issue 15 end to end: the real `tandem` binary in tmux with several buffers — a shared document beside a
//! local file in one process, following another editor, and typing at several cursors in a shared document —
//! against a real tandem-server. Skips without tmux (fails under CI=true).

mod collab;

use collab::{Pane, tmux_available, wait_for};
use tandem_e2e::{ServerOptions, TestServer};

/// Types `lines`, pressing Enter between them.
fn type_lines(pane: &Pane, lines: &[&str]) {
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            pane.keys(&["Enter"]);
        }
        pane.type_text(line);
    }
}

fn args(url: &str, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend([url.to_owned(), "--name".into(), name.into()]);
    args
}

#[tokio::test]
async fn issue_15_a_shared_document_and_a_local_file_in_one_process() {
    if !tmux_available("issue_15_a_shared_document_and_a_local_file_in_one_process") {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("side-by-side");
    let local = dir.path().join("local.txt");
    std::fs::write(&local, "a local file\n").unwrap();
    let local_arg = local.display().to_string();
    // Ann: the local file first, the shared document in a second buffer.
    let a = Pane::start("a", &dir.path().join("a"), &args(&url, "ann", &[&local_arg])).unwrap();
    let b = Pane::start("b", &dir.path().join("b"), &args(&url, "bob", &[])).unwrap();
    a.wait_for(&["a local file"]);
    b.wait_for(&["connected · 2 here"]);
    // Bob types while Ann looks at her local file: her shared buffer syncs in the background.
    b.type_text("typed by bob");
    b.wait_for(&["typed by bob", "0 unconfirmed"]);
    a.type_text("edited ");
    a.keys(&["C-s"]);
    a.wait_for(&["saved "]);
    // Side by side: the shared document in a split next to the file.
    a.keys(&["M-v"]);
    a.keys(&["M-."]);
    let screen = a.wait_for(&["typed by bob", "edited a local file", "connected · 2 here"]);
    assert!(screen.contains('│'), "{screen}");
    a.keys(&["C-End"]);
    a.type_text(" + ann");
    b.wait_for(&["typed by bob + ann"]);
    // Back on the local file, Bob's next words still arrive in the shared split.
    a.keys(&["M-o"]);
    b.type_text("!");
    a.wait_for(&["typed by bob + ann!"]);
    a.keys(&["C-q"]);
    a.wait_exit();
    assert_eq!(std::fs::read_to_string(&local).unwrap(), "edited a local file\n");
}

#[tokio::test]
async fn issue_15_follow_mode_tracks_another_editors_cursor() {
    if !tmux_available("issue_15_follow_mode_tracks_another_editors_cursor") {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("follow");
    // Both also have a second shared document open, in a buffer behind the first.
    let other = server.ws_url("follow-other");
    let a = Pane::start(
        "a",
        &dir.path().join("a"),
        &args(&url, "ann", &[]).into_iter().chain([other.clone()]).collect::<Vec<_>>(),
    )
    .unwrap();
    let b = Pane::start(
        "b",
        &dir.path().join("b"),
        &args(&url, "bob", &[]).into_iter().chain([other.clone()]).collect::<Vec<_>>(),
    )
    .unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);
    // A long document: 200 numbered lines; both start at the top.
    // A line feed typed in a terminal arrives as Ctrl-J, a line break too.
    let rows: Vec<String> = (1..=200).map(|i| format!("row-{i:03}")).collect();
    for chunk in rows.chunks(20) {
        let sep = if chunk[0] == rows[0] { "" } else { "\n" };
        a.type_text(&format!("{sep}{}", chunk.join("\n")));
        a.wait_for(&[chunk[chunk.len() - 1].as_str()]);
    }
    a.wait_for(&["200:8", "0 unconfirmed"]);
    // Bob may still be receiving the last rows: a remote insertion at his cursor carries the
    // cursor along but keeps the view's top line, so he presses C-End until row 200 shows.
    wait_for(
        "row-200 in bob's view",
        || {
            b.keys(&["C-End"]);
            std::thread::sleep(std::time::Duration::from_millis(200));
            b.screen().contains("row-200").then_some(())
        },
        || b.screen(),
    );
    a.keys(&["C-Home"]);
    b.keys(&["C-Home"]);
    a.wait_for(&["row-001"]);
    // Ann follows Bob from the presence list.
    a.keys(&["F2"]);
    a.wait_for(&["Enter follows"]);
    a.keys(&["Enter"]);
    a.wait_for(&["following bob"]);
    // Bob jumps far down: Ann's view goes with him.
    b.keys(&["C-g"]);
    b.type_text("150");
    b.keys(&["Enter"]);
    b.wait_for(&["row-150"]);
    let screen = a.wait_for(&["row-150"]);
    assert!(!screen.contains("row-001"), "{screen}");
    // Bob switches to the other shared document: Ann's split switches with him, and back.
    b.keys(&["M-."]);
    b.wait_for(&["follow-other"]);
    a.wait_for(&["follow-other"]);
    b.keys(&["M-,"]);
    a.wait_for(&["row-150"]);
    // Any key of Ann's stops following (a motion brings her own cursor back into view); Bob moves
    // again and Ann's view stays.
    a.keys(&["Right"]);
    a.wait_for(&["stopped following bob", "row-001"]);
    b.keys(&["C-g"]);
    b.type_text("100");
    b.keys(&["Enter"]);
    b.wait_for(&["row-100"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let screen = a.screen();
    assert!(screen.contains("row-001") && !screen.contains("row-100"), "{screen}");
}

#[tokio::test]
async fn issue_15_typing_at_several_cursors_in_a_shared_document_converges() {
    if !tmux_available("issue_15_typing_at_several_cursors_in_a_shared_document_converges") {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("cursors");
    let a = Pane::start("a", &dir.path().join("a"), &args(&url, "ann", &[])).unwrap();
    let b = Pane::start("b", &dir.path().join("b"), &args(&url, "bob", &[])).unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);
    type_lines(&a, &["apple", "banana", "cherry"]);
    b.wait_for(&["cherry"]);
    a.keys(&["C-Home"]);
    a.keys(&["M-S-Down"]);
    a.keys(&["M-S-Down"]);
    a.wait_for(&["3 cursors"]);
    a.type_text("* ");
    a.keys(&["End"]);
    a.type_text("!");
    // Ann's name flag sits on the line above her cursor (the last one): look at the others.
    b.wait_for(&["* apple!", "* cherry!"]);
    a.wait_for(&["0 unconfirmed"]);
    // Bob edits meanwhile; both converge on one text.
    b.keys(&["C-End", "Enter"]);
    b.type_text("date");
    // Names flag the cursors over the text; the saved files tell the whole text.
    a.wait_for(&["date"]);
    let file = dir.path().join("out.txt");
    let save = |pane: &Pane| {
        pane.keys(&["M-s"]);
        pane.type_text(&file.display().to_string());
        pane.keys(&["Enter"]);
        pane.wait_for(&["saved "]);
        std::fs::read_to_string(&file).unwrap()
    };
    let text_a = save(&a);
    assert_eq!(text_a, "* apple!\n* banana!\n* cherry!\ndate");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(save(&b), text_a);
}
