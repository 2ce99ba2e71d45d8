//! The collaborative terminal editor end to end: real `tandem` processes in tmux and a real
//! tandem-server. Typed text and cursors travel both ways; edits made while the server is down
//! (including across an editor restart) merge when it comes back. Skips without tmux.

mod collab;

use std::time::Duration;

use collab::{FixedServer, Pane, editor_args, free_port, save_and_read, tmux_available};
use tandem_e2e::{ServerOptions, TestServer};

#[tokio::test]
async fn two_editors_in_tmux_see_each_others_text_and_cursors() {
    if !tmux_available("two_editors_in_tmux_see_each_others_text_and_cursors") {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("pair");
    let (file_a, file_b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let a = Pane::start("a", &dir.path().join("a"), &editor_args(&url, "ann", &file_a)).unwrap();
    let b = Pane::start("b", &dir.path().join("b"), &editor_args(&url, "bob", &file_b)).unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);

    a.type_text("hello from A 😀");
    b.wait_for(&["hello from A 😀"]);
    b.keys(&["C-End"]);
    b.type_text(" + typed in B 世界");
    a.wait_for(&["hello from A 😀 + typed in B 世界"]);
    // Each shows the other's cursor with a name flag (the names appear nowhere else).
    a.wait_for(&["bob"]);
    b.wait_for(&["ann"]);
    // Every edit confirmed durable by the server.
    a.wait_for(&["0 unconfirmed"]);
    b.wait_for(&["0 unconfirmed"]);

    let text_a = save_and_read(&a, &file_a);
    assert_eq!(text_a, "hello from A 😀 + typed in B 世界");
    assert_eq!(save_and_read(&b, &file_b), text_a);
}

#[tokio::test]
async fn offline_edits_on_both_sides_and_an_editor_restart_merge_when_the_server_returns() {
    if !tmux_available("offline_edits_merge") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
    let server_dir = dir.path().join("server");
    let mut server = FixedServer::start(addr, &server_dir).await.unwrap();
    let url = server.ws_url("merge");
    let (file_a, file_b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let args_a = editor_args(&url, "ann", &file_a);
    let a = Pane::start("a", &dir.path().join("a"), &args_a).unwrap();
    let b = Pane::start("b", &dir.path().join("b"), &editor_args(&url, "bob", &file_b)).unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);
    a.type_text("base.");
    b.wait_for(&["base."]);
    // Only A's offline keystrokes may count as unconfirmed below: let "base." become durable.
    a.wait_for(&["0 unconfirmed"]);

    server.kill();
    a.wait_for(&["· retry in"]);
    b.wait_for(&["· retry in"]);
    a.keys(&["C-End"]);
    a.type_text("A-offline-1.");
    b.keys(&["C-End"]);
    b.type_text("B-offline-1.");
    a.wait_for(&["A-offline-1.", "12 unconfirmed"]);

    // A quits while offline (saving the linked file first) and comes back.
    assert_eq!(save_and_read(&a, &file_a), "base.A-offline-1.");
    a.keys(&["C-q"]);
    a.wait_exit();
    drop(a);
    let a = Pane::start("a2", &dir.path().join("a"), &args_a).unwrap();
    a.wait_for(&["base.A-offline-1.", "retry in", "12 unconfirmed"]);
    a.keys(&["C-End"]);
    a.type_text("A-offline-2.");
    b.type_text("B-offline-2.");
    b.wait_for(&["B-offline-2."]);

    let _server = FixedServer::start(addr, &server_dir).await.unwrap();
    // Backoff may have grown to ~20 s while the server was down.
    let limit = Duration::from_secs(60);
    a.wait_within(&["connected · 2 here · 0 unconfirmed"], limit);
    b.wait_within(&["connected · 2 here · 0 unconfirmed"], limit);
    let expected_parts = ["base.", "A-offline-1.", "A-offline-2.", "B-offline-1.", "B-offline-2."];
    for pane in [&a, &b] {
        pane.wait_for(&expected_parts);
    }
    let text_a = save_and_read(&a, &file_a);
    let text_b = save_and_read(&b, &file_b);
    assert_eq!(text_a, text_b);
    for part in expected_parts {
        assert_eq!(text_a.matches(part).count(), 1, "{part:?} exactly once in {text_a:?}");
    }
    assert_eq!(text_a.len(), expected_parts.iter().map(|p| p.len()).sum::<usize>(), "{text_a:?}");
}

#[tokio::test]
async fn refused_tokens_and_read_only_access_are_explained() {
    if !tmux_available("refused_tokens_and_read_only_access_are_explained") {
        return;
    }
    let server = TestServer::start(ServerOptions {
        auth_key: Some("k".repeat(32)),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("secret");
    let file = dir.path().join("f.txt");
    let none =
        Pane::start("none", &dir.path().join("n"), &editor_args(&url, "ann", &file)).unwrap();
    none.wait_for(&["refused: a token is required", "access refused"]);

    let token = TestServer::token(&"k".repeat(32), &["--doc", "secret", "--read-only"]).unwrap();
    let mut args = editor_args(&url, "bob", &file);
    args.extend(["--token".into(), token]);
    let reader = Pane::start("reader", &dir.path().join("r"), &args).unwrap();
    reader.wait_for(&["connected · 1 here"]);
    reader.type_text("x");
    reader.wait_for(&["read-only: the token grants read-only access"]);
}

/// Issue 11: an editor started with `--offline` goes online with Alt-G, without a restart; what
/// was typed offline reaches the other editor, and two instances of one document on one machine
/// (one data dir) are both allowed, each its own replica.
#[tokio::test]
async fn issue_11_offline_goes_online_without_restart_and_two_instances_share_a_data_dir() {
    if !tmux_available("issue_11_offline_goes_online_without_restart") {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("later");
    let (file_a, file_b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let mut args_a = editor_args(&url, "ann", &file_a);
    args_a.push("--offline".into());
    let a = Pane::start("a", &dir.path().join("a"), &args_a).unwrap();
    a.wait_for(&["offline"]);
    a.type_text("typed offline");
    // A second instance of the same document with the same home (data dir): not refused.
    let b = Pane::start("b", &dir.path().join("a"), &editor_args(&url, "bob", &file_b)).unwrap();
    b.wait_for(&["connected · 1 here"]);
    a.keys(&["M-g"]);
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["typed offline"]);
}
