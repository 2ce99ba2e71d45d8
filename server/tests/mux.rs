//! The multiplexed websocket (`/api/mux`, issue 16): many documents over one connection, each
//! one a session of its own. The server runs in process; clients speak over real sockets.

mod common;

use std::time::Duration;

use common::{InProcess, metric, sqlite_config};
use tandem_crdt::mux::{MUX_PATH, MUX_VERSION};
use tandem_e2e::{ClientOptions, Closed, MuxTestClient, TestClient};
use tandem_server::auth::{Access, AuthKey, Grant};

fn mux_url(server: &InProcess, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("ws://{}{MUX_PATH}?token={token}", server.addr),
        None => format!("ws://{}{MUX_PATH}", server.addr),
    }
}

/// A durable multiplexed client without a token that opened `docs` and synced them.
async fn synced(server: &InProcess, docs: &[&str]) -> MuxTestClient {
    let mut mux = MuxTestClient::connect(&mux_url(server, None), true).await.unwrap();
    for doc in docs {
        mux.open(doc).await.unwrap();
    }
    for doc in docs {
        mux.wait_synced(doc).await.unwrap();
    }
    mux
}

/// A server with an auth key, and a token of it for every document under `team/` that expires
/// at `expires_at` (unix seconds).
async fn team_server(dir: &std::path::Path, expires_at: Option<u64>) -> (InProcess, String) {
    let key = AuthKey::new(b"mux");
    let mut config = sqlite_config(dir);
    config.auth_key = Some(key.clone());
    let server = InProcess::start(config).await;
    let grant = Grant {
        doc: "team/".into(),
        prefix: true,
        access: Access::ReadWrite,
        expires_at,
        name: None,
    };
    (server, key.mint(&grant))
}

async fn metrics(server: &InProcess) -> String {
    server.get("/metrics").await.1
}

/// Waits until the metric `name` reads a value that is `good`.
async fn wait_metric(server: &InProcess, name: &str, good: impl Fn(f64) -> bool) {
    for _ in 0..200 {
        if good(metric(&metrics(server).await, name)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never reached the value awaited:\n{}", metrics(server).await);
}

#[tokio::test]
async fn three_documents_share_one_socket_and_meet_their_own_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let docs = ["team/a.md", "team/src/b.rs", "notes"];
    let mut mux = synced(&server, &docs).await;
    assert_eq!(mux.hello, Some(MUX_VERSION));
    for doc in docs {
        mux.append(doc, &format!("in {doc}")).await.unwrap();
    }
    for doc in docs {
        mux.wait_durable(doc).await.unwrap();
    }
    for doc in docs {
        let path = format!("/api/docs/{}/text", tandem_crdt::doc_id_to_path(doc));
        assert_eq!(server.get(&path).await, (200, format!("in {doc}")), "{doc}");
    }

    // A client of one of the documents on a socket of its own: both ways.
    let options = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut plain =
        TestClient::connect_synced(&server.ws_url("team/src/b.rs"), options).await.unwrap();
    assert_eq!(plain.text(), "in team/src/b.rs");
    plain.append(" + plain").await.unwrap();
    plain.wait_durable().await.unwrap();
    mux.wait_text("team/src/b.rs", "in team/src/b.rs + plain").await.unwrap();
    mux.append("team/src/b.rs", " + mux").await.unwrap();
    plain.wait_text("in team/src/b.rs + plain + mux").await.unwrap();
    // The other documents saw none of it.
    assert_eq!(mux.text("notes"), "in notes");

    let text = metrics(&server).await;
    assert_eq!(metric(&text, "tandem_connections"), 2.0, "the socket counts once");
    assert_eq!(metric(&text, "tandem_mux_documents"), 3.0);
    assert_eq!(metric(&text, "tandem_mux_documents_total"), 3.0);

    // Shutdown: the socket goes away with 1001.
    let stopping = tokio::spawn(server.stop());
    assert_eq!(mux.wait_closed().await.unwrap().code(), Some(1001));
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_prefix_token_opens_its_documents_and_the_others_are_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = team_server(dir.path(), None).await;
    let mut mux = MuxTestClient::connect(&mux_url(&server, Some(&token)), true).await.unwrap();
    mux.open("team/a").await.unwrap();
    mux.open("elsewhere/b").await.unwrap();
    mux.open("team/c").await.unwrap();
    mux.open("team//bad").await.unwrap();

    let (code, reason) = mux.wait_doc_closed("elsewhere/b").await.unwrap();
    assert_eq!(code, 1008, "{reason}");
    assert!(mux.docs["elsewhere/b"].auth_denied.is_some(), "y-protocols' refusal came first");
    let (code, reason) = mux.wait_doc_closed("team//bad").await.unwrap();
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("empty"), "{reason}");
    for doc in ["team/a", "team/c"] {
        mux.wait_synced(doc).await.unwrap();
        mux.append(doc, doc).await.unwrap();
        mux.wait_durable(doc).await.unwrap();
        assert_eq!(mux.doc_closed(doc), None);
    }
    assert_eq!(mux.closed(), None);
    let text = metrics(&server).await;
    assert!(metric(&text, "tandem_rejected_total{reason=\"auth\"}") >= 1.0, "{text}");

    // Without a token, nothing opens (and the socket stays).
    let mut anonymous = MuxTestClient::connect(&mux_url(&server, None), false).await.unwrap();
    anonymous.open("team/a").await.unwrap();
    assert_eq!(anonymous.wait_doc_closed("team/a").await.unwrap().0, 1008);
    assert_eq!(anonymous.text("team/a"), "");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_malformed_message_closes_only_its_own_socket() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut other = synced(&server, &["shared"]).await;
    let mut bad = synced(&server, &["shared"]).await;
    bad.append("shared", "before").await.unwrap();
    bad.wait_durable("shared").await.unwrap();

    // A kind this version does not know.
    bad.send_raw(vec![1, b'x', 9]).await.unwrap();
    match bad.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => {
            assert_eq!(code, 1007, "{reason}");
            assert!(reason.contains("unknown kind"), "{reason}");
        }
        closed => panic!("closed without a code: {closed:?}"),
    }
    other.wait_text("shared", "before").await.unwrap();
    other.append("shared", " after").await.unwrap();
    other.wait_durable("shared").await.unwrap();
    assert_eq!(other.closed(), None);
    assert_eq!(server.get("/api/docs/shared/text").await, (200, "before after".into()));
    wait_metric(&server, "tandem_mux_documents", |v| v == 1.0).await;
    let text = metrics(&server).await;
    assert_eq!(metric(&text, "tandem_rejected_total{reason=\"malformed\"}"), 1.0, "{text}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn documents_past_the_limit_are_refused_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.limits.max_docs_per_connection = 2;
    let server = InProcess::start(config).await;
    let mut mux = MuxTestClient::connect(&mux_url(&server, None), true).await.unwrap();
    for doc in ["a", "b", "c"] {
        mux.open(doc).await.unwrap();
    }
    let (code, reason) = mux.wait_doc_closed("c").await.unwrap();
    assert_eq!(code, 1013, "{reason}");
    for doc in ["a", "b"] {
        mux.wait_synced(doc).await.unwrap();
        mux.append(doc, doc).await.unwrap();
        mux.wait_durable(doc).await.unwrap();
    }
    let text = metrics(&server).await;
    assert_eq!(metric(&text, "tandem_rejected_total{reason=\"document_limit\"}"), 1.0);

    mux.close_doc("a").await.unwrap();
    wait_metric(&server, "tandem_mux_documents", |v| v == 1.0).await;
    mux.open("c").await.unwrap();
    mux.wait_synced("c").await.unwrap();
    mux.append("c", "c").await.unwrap();
    mux.wait_durable("c").await.unwrap();
    // Reopening the closed one is refused again: two are open.
    mux.open("a").await.unwrap();
    assert_eq!(mux.wait_doc_closed("a").await.unwrap().0, 1013);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn closing_a_document_removes_its_presence_and_reopening_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut mux = synced(&server, &["d", "e"]).await;
    mux.set_presence("d", "muxed").await.unwrap();
    mux.append("d", "kept").await.unwrap();
    mux.wait_durable("d").await.unwrap();
    let mut watcher =
        TestClient::connect_synced(&server.ws_url("d"), ClientOptions::default()).await.unwrap();
    watcher.wait_until("muxed present", |c| c.peer_names() == ["muxed"]).await.unwrap();

    mux.close_doc("d").await.unwrap();
    watcher.wait_until("muxed gone", |c| c.peer_names().is_empty()).await.unwrap();
    wait_metric(&server, "tandem_mux_documents", |v| v == 1.0).await;
    // The server's close ends the session the client closed (the client reopens only after
    // it); the other one stays open.
    let (code, reason) = mux.wait_doc_closed("d").await.unwrap();
    assert_eq!((code, reason.as_str()), (1000, "client left the document"));
    mux.wait_synced("e").await.unwrap();
    mux.append("e", "still here").await.unwrap();
    mux.wait_durable("e").await.unwrap();

    mux.open("d").await.unwrap();
    mux.wait_text("d", "kept").await.unwrap();
    mux.append("d", "!").await.unwrap();
    mux.wait_durable("d").await.unwrap();
    watcher.wait_text("kept!").await.unwrap();

    // The socket's end removes every presence it held.
    mux.set_presence("d", "again").await.unwrap();
    watcher.wait_until("again present", |c| c.peer_names() == ["again"]).await.unwrap();
    drop(mux);
    watcher.wait_until("again gone", |c| c.peer_names().is_empty()).await.unwrap();
    wait_metric(&server, "tandem_mux_documents", |v| v == 0.0).await;
    wait_metric(&server, "tandem_connections", |v| v == 1.0).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_documents_largest_frame_fits_the_multiplexed_socket() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    let max = 64 * 1024;
    config.limits.max_message_bytes = max;
    let server = InProcess::start(config).await;
    let longest = "x".repeat(tandem_crdt::MAX_DOC_ID_BYTES);
    let mut mux = synced(&server, &[&longest, "other"]).await;
    // As large as a document's own socket takes (and not a y-protocol message): the session
    // refuses it, the socket stays.
    mux.send_frames(&longest, vec![vec![0xff; max]]).await.unwrap();
    let (code, reason) = mux.wait_doc_closed(&longest).await.unwrap();
    assert_eq!(code, 1007, "{reason}");
    mux.append("other", "still open").await.unwrap();
    mux.wait_durable("other").await.unwrap();
    assert_eq!(mux.closed(), None);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn each_document_ends_when_the_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = team_server(dir.path(), Some(tandem_e2e::now_ms() / 1000 + 2)).await;
    let mut mux = MuxTestClient::connect(&mux_url(&server, Some(&token)), true).await.unwrap();
    for doc in ["team/a", "team/b"] {
        mux.open(doc).await.unwrap();
        mux.wait_synced(doc).await.unwrap();
    }
    for doc in ["team/a", "team/b"] {
        let (code, reason) = mux.wait_doc_closed(doc).await.unwrap();
        assert_eq!(code, 1008, "{reason}");
        assert!(reason.contains("expired"), "{reason}");
        assert!(mux.docs[doc].auth_denied.is_some());
    }
    // The socket stays for documents a renewed token would open (a new socket).
    assert_eq!(mux.closed(), None);
    server.stop().await.unwrap();
}

/// A client closing a document gets exactly one close back, after the old session's last
/// message and before anything of a new one: each durable count it then gets is the new
/// session's.
#[tokio::test]
async fn a_document_reopened_after_its_close_gets_a_fresh_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut mux = synced(&server, &["r"]).await;
    mux.append("r", "one").await.unwrap();
    for round in 0..5 {
        // Updates in flight when the client closes: their durable counts may still come, but
        // before the close.
        mux.append("r", &format!(" {round}")).await.unwrap();
        mux.close_doc("r").await.unwrap();
        let (code, _) = mux.wait_doc_closed("r").await.unwrap();
        assert_eq!(code, 1000, "round {round}");
        mux.open("r").await.unwrap();
        mux.wait_synced("r").await.unwrap();
        assert_eq!(mux.doc_closed("r"), None, "one close per session, round {round}");
    }
    mux.append("r", "!").await.unwrap();
    mux.wait_durable("r").await.unwrap();
    assert_eq!(server.get("/api/docs/r/text").await, (200, "one 0 1 2 3 4!".into()));
    wait_metric(&server, "tandem_mux_documents", |v| v == 1.0).await;
    server.stop().await.unwrap();
}

/// Many documents send no faster than one connection may: the socket has a connection's rate
/// limit (each document's own never binds first).
#[tokio::test]
async fn the_socket_has_one_connections_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.limits.max_message_bytes = 4096;
    // Bursts of 100 KB: each document sends less than that, the three together more.
    config.limits.rate_bytes = 10_000;
    let server = InProcess::start(config).await;
    let docs = ["a", "b", "c"];
    let mut mux = synced(&server, &docs).await;
    let chunk = "x".repeat(3000);
    for _ in 0..14 {
        for doc in docs {
            mux.append(doc, &chunk).await.unwrap();
        }
    }
    wait_metric(&server, "tandem_rate_limited_total", |v| v >= 1.0).await;
    // Slowed down, not dropped.
    for doc in docs {
        mux.wait_durable(doc).await.unwrap();
        assert_eq!(mux.text(doc).len(), 14 * 3000);
    }
    server.stop().await.unwrap();
}
