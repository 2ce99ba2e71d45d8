//! The terminal editor against servers on the internet: it edits over `wss://` with a private
//! authority (`--ca-cert`), and each thing that can go wrong with a connection shows in its status
//! bar in words, with the full sentence (what to fix) on its message line. Skips without tmux.

mod collab;

use std::time::Duration;

use collab::{Pane, free_port, tmux_available};
use tandem_e2e::{ClientOptions, ServerOptions, TestCa, TestClient, TestServer, Validity};

/// `tandem URL --name NAME` plus `extra`.
fn args(url: &str, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![url.to_owned(), "--name".into(), name.into()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

#[tokio::test]
async fn the_editor_edits_over_wss_and_says_what_is_wrong_with_a_connection() {
    if !tmux_available("the_editor_edits_over_wss_and_says_what_is_wrong_with_a_connection") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let ca_file = ca.write(dir.path()).unwrap();
    let ca_arg = ca_file.to_str().unwrap();
    let mut good =
        TestServer::start_tls(&dir.path().join("good"), &ca, &["localhost"], Validity::Current)
            .await
            .unwrap()
            .0;
    let expired =
        TestServer::start_tls(&dir.path().join("old"), &ca, &["localhost"], Validity::Expired)
            .await
            .unwrap()
            .0;
    let misnamed = TestServer::start_tls(
        &dir.path().join("other"),
        &ca,
        &["other.example"],
        Validity::Current,
    )
    .await
    .unwrap()
    .0;
    let plain = TestServer::start(ServerOptions {
        args: vec!["--max-connections".into(), "1".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let _holder =
        TestClient::connect_synced(&plain.ws_url("held"), ClientOptions::default()).await.unwrap();
    let home = |name: &str| dir.path().join(name);

    let url = good.ws_url("remote");
    let ann = Pane::start("ann", &home("ann"), &args(&url, "ann", &["--ca-cert", ca_arg])).unwrap();
    let untrusting = Pane::start("untrusting", &home("u"), &args(&url, "ann", &[])).unwrap();
    let old =
        Pane::start("old", &home("o"), &args(&expired.ws_url("d"), "ann", &["--ca-cert", ca_arg]))
            .unwrap();
    let other = Pane::start(
        "other",
        &home("m"),
        &args(&misnamed.ws_url("d"), "ann", &["--ca-cert", ca_arg]),
    )
    .unwrap();
    let nowhere =
        Pane::start("nowhere", &home("n"), &args("wss://no-such-host.invalid/d", "ann", &[]))
            .unwrap();
    let closed = format!("ws://127.0.0.1:{}/d", free_port().unwrap());
    let refused = Pane::start("refused", &home("r"), &args(&closed, "ann", &[])).unwrap();
    let full = Pane::start("full", &home("f"), &args(&plain.ws_url("d"), "ann", &[])).unwrap();
    let bad_id = format!("ws://{}/bad%01id", plain.addr());
    let bad = Pane::start("bad", &home("b"), &args(&bad_id, "ann", &[])).unwrap();

    ann.wait_for(&["connected · 1 here"]);
    ann.type_text("typed over TLS");
    let options = ClientOptions { ca_cert: Some(ca_file.clone()), ..Default::default() };
    let mut reader = TestClient::connect_synced(&url, options).await.unwrap();
    reader.wait_text("typed over TLS").await.unwrap();

    // Status bar, then the start of the full sentence on the message line.
    untrusting.wait_for(&[
        "certificate not trusted · retry in",
        "the certificate of localhost is not signed",
    ]);
    old.wait_for(&["certificate expired · retry in", "the certificate of localhost has expired"]);
    other.wait_for(&["certificate for another host", "other.example, not localhost"]);
    nowhere.wait_for(&["unknown host no-such-host.invalid · retry in"]);
    refused.wait_for(&["connection refused · retry in"]);
    full.wait_for(&["server full or unavailable (HTTP 503) · retry in"]);
    bad.wait_for(&["refused: bad document id (HTTP 400)", "the server refused the document id"]);
    // A certificate problem is retried only slowly.
    let screen = untrusting.screen();
    let secs: u64 = screen
        .split("retry in ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no countdown in\n{screen}"));
    assert!(secs > 20, "{screen}");

    // A server that stops says so.
    assert!(good.stop().await.unwrap());
    ann.wait_within(&["the server is going away", "retry in"], Duration::from_secs(30));
}
