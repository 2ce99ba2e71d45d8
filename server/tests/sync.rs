//! The server in process, real sockets: sync, durability, restart, presence, HTTP endpoints.

mod common;

use std::time::Duration;

use common::{InProcess, metric, sqlite_config};
use tandem_crdt::PeerAccess;
use tandem_e2e::{ClientOptions, Closed, PostgresDatabase, TestClient};
use tandem_server::auth::{Access, AuthKey, Grant};
use tandem_server::{Config, Database};

fn durable() -> ClientOptions {
    ClientOptions { durable: true, ..ClientOptions::default() }
}

#[tokio::test]
async fn two_clients_converge_and_a_late_joiner_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let url = server.ws_url("notes");
    let mut alice = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();

    // Concurrent edits: neither has seen the other's before typing.
    for i in 0..20 {
        alice.insert(0, &format!("a{i} ")).await.unwrap();
        bob.append(&format!(" b{i}")).await.unwrap();
    }
    alice.insert(0, "👋 ").await.unwrap();
    alice.wait_until("bob's edits", |c| c.text().contains("b19")).await.unwrap();
    bob.wait_until("alice's edits", |c| c.text().contains("👋")).await.unwrap();
    let text = alice.text();
    bob.wait_text(&text).await.unwrap();
    for i in 0..20 {
        assert!(text.contains(&format!("a{i} ")) && text.contains(&format!(" b{i}")), "{text}");
    }

    let mut carol = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    assert_eq!(carol.text(), text);
    carol.insert(0, "C").await.unwrap();
    alice.wait_text(&format!("C{text}")).await.unwrap();
    bob.wait_text(&format!("C{text}")).await.unwrap();

    let (status, body) = server.get("/api/docs/notes/text").await;
    assert_eq!((status, body), (200, format!("C{text}")));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn documents_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut a =
        TestClient::connect_synced(&server.ws_url("a"), ClientOptions::default()).await.unwrap();
    let mut b =
        TestClient::connect_synced(&server.ws_url("b"), ClientOptions::default()).await.unwrap();
    a.insert(0, "only in a").await.unwrap();
    b.insert(0, "only in b").await.unwrap();
    // Also reachable under /ws/ID.
    let url = format!("ws://{}/ws/a", server.addr);
    let mut a2 = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    a2.wait_text("only in a").await.unwrap();
    assert!(!b.pump(Duration::from_millis(300)).await.unwrap() || b.text() == "only in b");
    assert_eq!(b.text(), "only in b");
    server.stop().await.unwrap();
}

/// Issue 18 item 6: every endpoint decodes an id once, by one rule; ids are path-like.
#[tokio::test]
async fn path_like_ids_are_decoded_the_same_on_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let id = "team/会议记录/My Notes Ü 2024!";
    let encoded = tandem_crdt::doc_id_to_path(id);
    let mut writer = TestClient::connect_synced(&server.ws_url(&encoded), durable()).await.unwrap();
    writer.insert(0, "shared").await.unwrap();
    writer.wait_durable().await.unwrap();
    // The same document under /ws/, with the segments' slashes encoded as %2F.
    let url = format!("ws://{}/ws/{}", server.addr, encoded.replace('/', "%2F"));
    let mut reader = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    reader.wait_text("shared").await.unwrap();
    assert_eq!(server.get(&format!("/api/docs/{encoded}/text")).await, (200, "shared".into()));
    let slashes_encoded = format!("/api/docs/{}/text", encoded.replace('/', "%2F"));
    assert_eq!(server.get(&slashes_encoded).await, (200, "shared".into()));
    let listing: serde_json::Value =
        serde_json::from_str(&server.get("/api/docs").await.1).unwrap();
    assert_eq!(listing[0]["id"], id);

    // `/%61` and `/ws/%61` are both document `a`; `%2561` is the document `%61`.
    let mut a =
        TestClient::connect_synced(&server.ws_url("%61"), ClientOptions::default()).await.unwrap();
    a.insert(0, "in a").await.unwrap();
    let url = format!("ws://{}/ws/%61", server.addr);
    let mut a2 = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    a2.wait_text("in a").await.unwrap();
    assert_eq!(server.get("/api/docs/a/text").await, (200, "in a".into()));
    assert_eq!(server.get("/api/docs/%2561/text").await.0, 404);

    // (Not `a/%2E%2E/b`: the client's URL parser already resolves that to `a/b`.)
    for bad in ["a//b", "a%2F%2E%2E%2Fb", "x%07", "%FF"] {
        assert!(
            TestClient::connect_synced(&server.ws_url(bad), ClientOptions::default())
                .await
                .is_err(),
            "{bad}"
        );
        assert_eq!(server.get(&format!("/api/docs/{bad}/text")).await.0, 400, "{bad}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn durable_confirmations_only_for_clients_that_ask() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let url = server.ws_url("d");
    let mut tandem = TestClient::connect_synced(&url, durable()).await.unwrap();
    for i in 0..50 {
        tandem.append(&i.to_string()).await.unwrap();
    }
    assert!(tandem.client().unconfirmed_count() > 0);
    tandem.wait_durable().await.unwrap();

    // Without ?ext=durable no type-100 message arrives: the client would count it as
    // confirmations, so the unconfirmed count stays.
    let mut plain = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    plain.append("x").await.unwrap();
    tandem.wait_until("plain's edit", |c| c.text().ends_with('x')).await.unwrap();
    plain.pump(Duration::from_millis(300)).await.unwrap();
    assert_eq!(plain.client().unconfirmed_count(), 1);
    // The access message (type 101) likewise goes only to the client that asked, before sync.
    assert_eq!(tandem.client().access(), Some(PeerAccess::ReadWrite));
    assert_eq!(plain.client().access(), None);
    server.stop().await.unwrap();
}

async fn restart_keeps_text(config: impl Fn() -> Config) {
    let server = InProcess::start(config()).await;
    let url = server.ws_url("kept");
    let mut alice = TestClient::connect_synced(&url, durable()).await.unwrap();
    alice.insert(0, "héllo wörld 🌍\n").await.unwrap();
    for i in 0..30 {
        alice.append(&format!("line {i}\n")).await.unwrap();
    }
    alice.replace(0..1, "H").await.unwrap();
    alice.wait_durable().await.unwrap();
    let text = alice.text();
    server.stop().await.unwrap();
    assert!(alice.wait_closed().await.unwrap().code() == Some(1001));

    let server = InProcess::start(config()).await;
    let bob =
        TestClient::connect_synced(&server.ws_url("kept"), ClientOptions::default()).await.unwrap();
    assert_eq!(bob.text(), text);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn restart_keeps_text_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    restart_keeps_text(|| sqlite_config(dir.path())).await;
}

#[tokio::test]
async fn restart_keeps_text_postgres() {
    let Some(db) = PostgresDatabase::create("restart_keeps_text_postgres").await.unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    restart_keeps_text(|| {
        let mut config = sqlite_config(dir.path());
        config.database = Database::Postgres(db.url.clone());
        config
    })
    .await;
    db.drop_database().await.unwrap();
}

/// Waits until no document is loaded.
async fn wait_all_unloaded(server: &InProcess) {
    for _ in 0..200 {
        if metric(&server.get("/metrics").await.1, "tandem_documents_loaded") == 0.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("documents never unloaded");
}

/// Issue 18 item 6: `GET /api/docs/ID/text` of a document that is not loaded built its replica
/// on every request (0.28 s for one of 20,000 client ids). Now it is built once per stored
/// state, however many ask at once, and an update stored since is in the next answer.
#[tokio::test]
async fn an_unloaded_documents_text_is_built_once_per_stored_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.idle_unload = Duration::from_millis(100);
    let server = InProcess::start(config).await;
    let url = server.ws_url("report");
    let builds = |metrics: &str| metric(metrics, "tandem_text_builds_total");
    let write = |text: &'static str| {
        let url = url.clone();
        async move {
            let mut writer = TestClient::connect_synced(&url, durable()).await.unwrap();
            writer.append(text).await.unwrap();
            writer.wait_durable().await.unwrap();
            writer.close().await.unwrap();
        }
    };
    write("first").await;
    wait_all_unloaded(&server).await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let addr = server.addr;
        requests.spawn(async move { tandem_e2e::http_get(addr, "/api/docs/report/text").await });
    }
    while let Some(answer) = requests.join_next().await {
        assert_eq!(answer.unwrap().unwrap(), (200, "first".to_owned()));
    }
    for _ in 0..5 {
        assert_eq!(server.get("/api/docs/report/text").await, (200, "first".to_owned()));
    }
    assert_eq!(builds(&server.get("/metrics").await.1), 1.0, "one build for 25 requests");

    write(" second").await;
    wait_all_unloaded(&server).await;
    assert_eq!(server.get("/api/docs/report/text").await, (200, "first second".to_owned()));
    assert_eq!(server.get("/api/docs/report/text").await, (200, "first second".to_owned()));
    assert_eq!(builds(&server.get("/metrics").await.1), 2.0, "rebuilt once after the update");
    assert_eq!(server.get("/api/docs/missing/text").await.0, 404);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn compaction_and_idle_unload_keep_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.compact_after_updates = 10;
    config.idle_unload = Duration::from_millis(100);
    let server = InProcess::start(config).await;
    let url = server.ws_url("idle");
    let mut alice = TestClient::connect_synced(&url, durable()).await.unwrap();
    for i in 0..35 {
        alice.append(&format!("{i},")).await.unwrap();
    }
    alice.wait_durable().await.unwrap();
    let text = alice.text();
    alice.close().await.unwrap();

    // Unloaded after the quiet period, having been compacted at least once on the way.
    let mut unloaded = false;
    for _ in 0..100 {
        let (_, metrics) = server.get("/metrics").await;
        if metric(&metrics, "tandem_documents_loaded") == 0.0 {
            assert!(metric(&metrics, "tandem_compactions_total") >= 1.0, "{metrics}");
            unloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(unloaded, "document never unloaded");
    // Read back from storage (snapshot + tail), then through a fresh room.
    assert_eq!(server.get("/api/docs/idle/text").await, (200, text.clone()));
    let bob = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    assert_eq!(bob.text(), text);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn awareness_is_relayed_and_departures_announced() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let url = server.ws_url("p");
    let mut alice = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    alice.insert(0, "abc").await.unwrap();
    alice.set_presence("alice", Some((1, 2))).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    // A joiner gets everyone's awareness with the first frames.
    bob.wait_until("alice's presence", |c| c.peer_names() == ["alice"]).await.unwrap();
    bob.set_presence("bob", None).await.unwrap();
    alice.wait_until("bob's presence", |c| c.peer_names() == ["bob"]).await.unwrap();

    // Bob's connection drops without a goodbye: the server announces it.
    drop(bob);
    alice.wait_until("bob's departure", |c| c.peer_names().is_empty()).await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn http_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.web_dir = Some(web.path().to_owned());
    let server = InProcess::start(config).await;

    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    // No index.html yet: the placeholder.
    let (status, body) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(body.contains("tandem-server is running"), "{body}");
    std::fs::write(web.path().join("index.html"), "<p>client</p>").unwrap();
    std::fs::write(web.path().join("app.js"), "js()").unwrap();
    assert_eq!(server.get("/").await, (200, "<p>client</p>".into()));
    assert_eq!(server.get("/app.js").await, (200, "js()".into()));
    assert_eq!(server.get("/d/notes").await, (200, "<p>client</p>".into()));
    assert_eq!(server.get("/notes").await, (200, "<p>client</p>".into()));

    assert_eq!(server.get("/api/docs/missing/text").await.0, 404);
    assert_eq!(server.get("/api/docs/a%2F..%2Fb/text").await.0, 400);
    let mut alice = TestClient::connect_synced(&server.ws_url("listed"), durable()).await.unwrap();
    alice.insert(0, "12345").await.unwrap();
    alice.wait_durable().await.unwrap();
    let (status, listing) = server.get("/api/docs").await;
    assert_eq!(status, 200);
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing[0]["id"], "listed");
    assert_eq!(listing[0]["connections"], 1);
    assert!(listing[0]["stored_bytes"].as_i64().unwrap() > 5);
    assert!(listing[0]["updated_at_ms"].as_i64().unwrap() > 1_600_000_000_000);

    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(metric(&metrics, "tandem_connections"), 1.0);
    assert_eq!(metric(&metrics, "tandem_documents_loaded"), 1.0);
    assert!(metric(&metrics, "tandem_messages_in_total") >= 2.0);
    assert!(metric(&metrics, "tandem_storage_commit_seconds_count") >= 1.0);
    assert!(metric(&metrics, "tandem_update_apply_seconds_count") >= 1.0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_clients_with_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut alice =
        TestClient::connect_synced(&server.ws_url("x"), ClientOptions::default()).await.unwrap();
    server.stop().await.unwrap();
    match alice.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => {
            assert_eq!((code, reason.as_str()), (1001, "server shutting down"))
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_document_that_fails_to_load_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    server.stop().await.unwrap();
    // Corrupt the stored document behind the server's back.
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("tandem.db").display()))
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO snapshots (doc, state, updated_at) VALUES ('broken', x'ffffffff0102', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let server = InProcess::start(sqlite_config(dir.path())).await;
    let mut client =
        TestClient::connect(&server.ws_url("broken"), ClientOptions::default()).await.unwrap();
    match client.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => {
            assert_eq!(code, 1011);
            assert!(reason.starts_with("document could not be loaded"), "{reason}");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(!client.client().is_synced(), "no SyncStep1 before the document is loaded");
    // Other documents are served as usual.
    TestClient::connect_synced(&server.ws_url("fine"), ClientOptions::default()).await.unwrap();
    server.stop().await.unwrap();
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("tandem.db").display()))
            .await
            .unwrap();
    let state: Vec<u8> = sqlx::query_scalar("SELECT state FROM snapshots WHERE doc = 'broken'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, [0xff, 0xff, 0xff, 0xff, 0x01, 0x02], "the stored document is untouched");
}

#[tokio::test]
async fn connections_over_the_limit_are_turned_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(dir.path());
    config.limits.max_connections = 1;
    let server = InProcess::start(config).await;
    let first =
        TestClient::connect_synced(&server.ws_url("x"), ClientOptions::default()).await.unwrap();
    let second = TestClient::connect(&server.ws_url("x"), ClientOptions::default()).await;
    let error = second.unwrap_err().to_string();
    assert!(error.contains("503"), "{error}");
    // Full of websockets, the server still answers other requests: a browser loads the page
    // and learns why its websocket was refused.
    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.get("/d/x").await.0, 200);
    let metrics = server.get("/metrics").await.1;
    assert_eq!(metric(&metrics, "tandem_connections_available"), 0.0);
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"connection_limit\"}"), 1.0);
    first.close().await.unwrap();
    // The slot frees once the first connection is gone.
    let mut admitted = false;
    for _ in 0..100 {
        if TestClient::connect(&server.ws_url("x"), ClientOptions::default()).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted);
    server.stop().await.unwrap();
}

/// Issue 18: a token is checked for as long as the connection lasts. At its expiry the
/// connection is closed with 1008 "token expired" (after y-protocols' "permission denied"),
/// and frames read before but applied after that moment (held back by the rate limit) are
/// never applied.
#[tokio::test]
async fn a_connection_ends_when_its_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let key = AuthKey::new(b"expiry");
    let mut config = sqlite_config(dir.path());
    config.auth_key = Some(key.clone());
    config.limits.rate_messages = 1;
    let server = InProcess::start(config).await;
    let token = |doc: &str, seconds: u64| {
        let now = tandem_e2e::now_ms() / 1000;
        let grant = Grant {
            doc: doc.into(),
            prefix: false,
            access: Access::ReadWrite,
            expires_at: Some(now + seconds),
            name: None,
        };
        key.mint(&grant)
    };
    let options = |token: String| ClientOptions { token: Some(token), ..ClientOptions::default() };

    let url = server.ws_url("d");
    let mut writer = TestClient::connect_synced(&url, options(token("d", 3))).await.unwrap();
    // Ten seconds' burst, then one message a second: most of these wait in the socket.
    for _ in 0..40 {
        writer.append("x").await.unwrap();
    }
    match writer.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => assert_eq!((code, reason.as_str()), (1008, "token expired")),
        other => panic!("{other:?}"),
    }
    assert_eq!(writer.auth_denied(), Some("token expired"));
    let reader = TestClient::connect_synced(&url, options(token("d", 60))).await.unwrap();
    let applied = reader.text().len();
    assert!(applied < 20, "{applied} of 40 frames applied");
    server.stop().await.unwrap();
}

/// Key rotation: tokens of every configured key open documents, each checked with the key its
/// id names; restarted without a key, that key's tokens are refused and the others still work.
#[tokio::test]
async fn retiring_a_key_revokes_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let before = AuthKey::new(b"before rotation");
    let june = AuthKey::with_id("2026-06", b"june");
    let december = AuthKey::with_id("2026-12", b"december");
    let grant = Grant {
        doc: "d".into(),
        prefix: false,
        access: Access::ReadWrite,
        expires_at: None,
        name: None,
    };
    let tokens = [&before, &june, &december].map(|key| key.mint(&grant));
    let options =
        |token: &str| ClientOptions { token: Some(token.into()), ..ClientOptions::default() };
    let config = |older: Vec<AuthKey>| {
        let mut config = sqlite_config(dir.path());
        config.auth_key = Some(december.clone());
        config.older_auth_keys = older;
        config
    };

    let server = InProcess::start(config(vec![june.clone(), before.clone()])).await;
    for token in &tokens {
        TestClient::connect_synced(&server.ws_url("d"), options(token)).await.unwrap();
    }
    server.stop().await.unwrap();

    let server = InProcess::start(config(vec![before.clone()])).await;
    let [legacy, from_june, from_december] = &tokens;
    for token in [legacy, from_december] {
        TestClient::connect_synced(&server.ws_url("d"), options(token)).await.unwrap();
    }
    let mut revoked = TestClient::connect(&server.ws_url("d"), options(from_june)).await.unwrap();
    let closed = revoked.wait_closed().await.unwrap();
    assert_eq!(closed, Closed::Frame(1008, "token signed with a retired or unknown key".into()));
    server.stop().await.unwrap();
}

/// Issue 18: a connection may publish or remove presence only for the clients it owns. Mallory
/// connects with alice's client id and renames her, then removes her: both are refused, alice
/// stays "alice" for everyone, and mallory's departure takes nothing of alice's with it.
#[tokio::test]
async fn no_connection_can_rewrite_or_remove_anothers_presence() {
    let dir = tempfile::tempdir().unwrap();
    let server = InProcess::start(sqlite_config(dir.path())).await;
    let url = server.ws_url("p");
    let mut alice = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    alice.set_presence("alice", Some((0, 0))).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    bob.wait_until("alice's presence", |c| c.peer_names() == ["alice"]).await.unwrap();

    let as_alice = ClientOptions {
        client_id: Some(alice.client().presence().client_id()),
        ..ClientOptions::default()
    };
    let mut mallory = TestClient::connect_synced(&url, as_alice).await.unwrap();
    // Each renewal raises the clock, so stock awareness would take the last one.
    for _ in 0..3 {
        mallory.set_presence("mallory-as-alice", None).await.unwrap();
    }
    let refused = |metrics: &str| metric(metrics, "tandem_rejected_total{reason=\"presence\"}");
    let mut seen = 0.0;
    for _ in 0..500 {
        seen = refused(&server.get("/metrics").await.1);
        if seen >= 3.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen >= 3.0, "{seen} refused");
    mallory.close().await.unwrap();
    // Bob and a newcomer see alice as herself, after mallory left too.
    let mut carol = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    carol.wait_until("alice's presence", |c| c.peer_names() == ["alice"]).await.unwrap();
    alice.insert(0, "barrier").await.unwrap();
    bob.wait_text("barrier").await.unwrap();
    assert_eq!(bob.peer_names(), ["alice"]);
    server.stop().await.unwrap();
}
