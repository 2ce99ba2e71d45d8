//! tandem-server as a separate process: restart, bad input, auth, slow readers.

use std::time::Duration;

use tandem_crdt::Message as Protocol;
use tandem_e2e::{ClientOptions, Closed, RawWebSocket, ServerOptions, TestClient, TestServer};
use tokio_tungstenite::tungstenite::Message;

fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{metrics}"))
}

#[tokio::test]
async fn restart_after_sigterm_keeps_text() {
    let mut server = TestServer::start(ServerOptions::default()).await.unwrap();
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut alice =
        TestClient::connect_synced(&server.ws_url("doc"), durable.clone()).await.unwrap();
    alice.insert(0, "first line\n").await.unwrap();
    alice.append("二行目 🚀\n").await.unwrap();
    alice.wait_durable().await.unwrap();
    assert!(server.stop().await.unwrap(), "graceful shutdown exits with success");
    assert_eq!(alice.wait_closed().await.unwrap().code(), Some(1001));
    let log = server.log();
    assert!(log.contains("\"message\":\"disconnected\""), "{log}");
    assert!(!log.contains("二行目"), "logs must never contain document content");

    let server = server.restart().await.unwrap();
    let bob =
        TestClient::connect_synced(&server.ws_url("doc"), ClientOptions::default()).await.unwrap();
    assert_eq!(bob.text(), "first line\n二行目 🚀\n");
    assert!(server.data_dir().join("tandem.db").is_file());
}

/// Each bad input closes its own connection with a reason; a pair of good clients on the same
/// document keeps syncing throughout.
#[tokio::test]
async fn bad_input_closes_only_the_offending_connection() {
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("shared");
    let mut alice = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();

    let invalid_update = Protocol::Update { update: vec![0xff; 16] }.encode();
    let cases: Vec<(&str, Message, u16)> = vec![
        ("garbage", Message::Binary(vec![0x07, 0x01, 0x02, 0x03].into()), 1007),
        ("truncated varint", Message::Binary(vec![0x80].into()), 1007),
        ("truncated sync message", Message::Binary(vec![0x00, 0x02, 0x85].into()), 1007),
        ("text frame", Message::Text("hello".into()), 1003),
        ("invalid update", Message::Binary(invalid_update.into()), 1007),
        ("100 MiB frame", Message::Binary(vec![0u8; 100 << 20].into()), 1009),
    ];
    for (i, (name, message, code)) in cases.into_iter().enumerate() {
        let mut mallory = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
        // The send itself may fail once the server hangs up mid-frame.
        let _ = mallory.send_message(message).await;
        let closed = mallory.wait_closed().await.unwrap();
        match &closed {
            Closed::Frame(got, reason) => {
                assert_eq!(*got, code, "{name}: {reason}");
                assert!(!reason.is_empty(), "{name}: close without a reason");
            }
            other => panic!("{name}: expected close code {code}, got {other:?}"),
        }
        alice.append(&format!("{i} ")).await.unwrap();
        let expected = alice.text();
        bob.wait_text(&expected).await.unwrap();
    }
    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"text_frame\"}"), 1.0);
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"too_large\"}"), 1.0);
    assert!(metric(&metrics, "tandem_rejected_total{reason=\"malformed\"}") >= 4.0);
    assert_eq!(server.get("/api/docs/shared/text").await.unwrap().1, alice.text());
}

#[tokio::test]
async fn auth_tokens() {
    let key = "test-key";
    let options = ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() };
    let server = TestServer::start(options).await.unwrap();
    let url = server.ws_url("team-notes");
    let with_token =
        |token: &str| ClientOptions { token: Some(token.into()), ..ClientOptions::default() };

    async fn refused(url: &str, options: ClientOptions) -> (Closed, Option<String>) {
        let mut client = TestClient::connect(url, options).await.unwrap();
        let closed = client.wait_closed().await.unwrap();
        (closed, client.auth_denied().map(str::to_owned))
    }

    // No token.
    let (closed, denied) = refused(&url, ClientOptions::default()).await;
    assert_eq!(closed.code(), Some(1008));
    assert!(denied.is_some_and(|d| d.contains("token is required")));
    // Expired (ttl 1 s, then wait it out).
    let expired = TestServer::token(key, &["--doc", "team-notes", "--ttl", "1"]).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (closed, denied) = refused(&url, with_token(&expired)).await;
    assert_eq!(closed, Closed::Frame(1008, "token expired".into()));
    assert_eq!(denied.as_deref(), Some("token expired"));
    // A token for another document, and one signed with another key.
    let other = TestServer::token(key, &["--doc", "other"]).unwrap();
    assert_eq!(refused(&url, with_token(&other)).await.0.code(), Some(1008));
    let forged = TestServer::token("wrong-key", &["--doc", "team-notes"]).unwrap();
    assert_eq!(refused(&url, with_token(&forged)).await.0.code(), Some(1008));

    // Read-write by prefix; read-only exact.
    let writer_token = TestServer::token(key, &["--doc", "team-", "--prefix"]).unwrap();
    let reader_token = TestServer::token(key, &["--doc", "team-notes", "--read-only"]).unwrap();
    let mut writer = TestClient::connect_synced(&url, with_token(&writer_token)).await.unwrap();
    let mut reader = TestClient::connect_synced(&url, with_token(&reader_token)).await.unwrap();
    // Clients that asked for tandem's extensions learn their access before the sync ends.
    let durable = |token: &str| ClientOptions { durable: true, ..with_token(token) };
    let told = TestClient::connect_synced(&url, durable(&reader_token)).await.unwrap();
    assert_eq!(told.client().access(), Some(tandem_crdt::PeerAccess::ReadOnly));
    let told = TestClient::connect_synced(&url, durable(&writer_token)).await.unwrap();
    assert_eq!(told.client().access(), Some(tandem_crdt::PeerAccess::ReadWrite));
    assert_eq!(reader.client().access(), None, "a stock client is never sent the message");
    writer.insert(0, "from the writer").await.unwrap();
    reader.wait_text("from the writer").await.unwrap();
    // The reader's edit is refused: not applied, not broadcast, not stored.
    reader.insert(0, "READER ").await.unwrap();
    writer.append("!").await.unwrap();
    reader.wait_until("the writer's next edit", |c| c.text().ends_with('!')).await.unwrap();
    writer.pump(Duration::from_millis(300)).await.unwrap();
    assert_eq!(writer.text(), "from the writer!");
    assert!(reader.closed().is_none(), "a refused write does not disconnect the reader");
    let text_url = format!("/api/docs/team-notes/text?token={writer_token}");
    assert_eq!(server.get(&text_url).await.unwrap(), (200, "from the writer!".into()));
    assert_eq!(server.get("/api/docs/team-notes/text").await.unwrap().0, 401);
    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert!(metric(&metrics, "tandem_rejected_total{reason=\"read_only\"}") >= 1.0);
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"auth\"}"), 5.0);
}

/// A server that drops a reader `max_queued` frames behind. The typists of these tests are
/// firehoses: in a debug build their updates cost seconds of CPU, which a CPU budget would
/// rightly slow down; the tests are about the readers.
async fn firehose_server(max_queued: usize) -> TestServer {
    let max_queued = max_queued.to_string();
    let args = ["--max-queued-messages", &max_queued, "--cpu-budget-ms", "100000"];
    let options =
        ServerOptions { args: args.map(String::from).to_vec(), ..ServerOptions::default() };
    TestServer::start(options).await.unwrap()
}

/// A client that never reads while another types 10,000 updates is dropped; the server's memory
/// does not grow with what it would have had to queue.
#[tokio::test]
async fn slow_reader_is_dropped_and_memory_stays_bounded() {
    let server = firehose_server(500).await;
    let url = server.ws_url("firehose");
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut typist = TestClient::connect_synced(&url, durable).await.unwrap();
    let small = ClientOptions { recv_buffer: Some(4096), ..ClientOptions::default() };
    let mut sleeper = TestClient::connect_synced(&url, small).await.unwrap();
    typist.insert(0, "x").await.unwrap();
    let rss_before = server.rss_kib().unwrap();

    // 10,000 updates of 4 KiB each: 40 MB that would pile up for the sleeper. The text stays
    // 4 KiB (each update replaces the previous block).
    let block = "y".repeat(4096);
    typist.replace(0..1, &block).await.unwrap();
    for i in 1..10_000 {
        let block = format!("{i:05}{}", &block[5..]);
        typist.replace(0..4096, &block).await.unwrap();
    }
    typist.wait_durable().await.unwrap();
    let late = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    assert!(late.text() == typist.text(), "the server applied every update");
    let rss_after = server.rss_kib().unwrap();
    let growth_mib = rss_after.saturating_sub(rss_before) / 1024;
    eprintln!("server RSS {rss_before} KiB -> {rss_after} KiB (+{growth_mib} MiB)");
    assert!(growth_mib < 30, "server RSS grew by {growth_mib} MiB");

    let closed = sleeper.wait_closed().await.unwrap();
    assert!(sleeper.frames_received() < 10_000, "dropped before everything was delivered");
    assert_eq!(closed.code(), Some(1013), "{closed:?}");
    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"slow_reader\"}"), 1.0);
    late.close().await.unwrap();
}

/// Issue 18 item 6: a client sending a frame over `--max-message-size` learns why it was cut
/// off (close 1009), even one that reads only after its whole message is out and gives up when
/// a write fails ([`RawWebSocket`]): the server takes in the rest of the frame instead of
/// resetting the connection. A tungstenite client ([`TestClient`]) sees the same.
#[tokio::test]
async fn a_frame_over_the_size_limit_is_closed_with_1009() {
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let mut raw = RawWebSocket::connect(server.addr(), "/big", None).await.unwrap();
    match raw.send_frame_of(100 << 20).await {
        Closed::Frame(code, reason) => assert_eq!(code, 1009, "{reason}"),
        other => panic!("expected close 1009, got {other:?}"),
    }
    let mut client =
        TestClient::connect_synced(&server.ws_url("big"), ClientOptions::default()).await.unwrap();
    // The send fails or not depending on when the server's close frame arrives.
    let _ = client.send_message(Message::Binary(vec![0u8; 100 << 20].into())).await;
    match client.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => assert_eq!(code, 1009, "{reason}"),
        other => panic!("tungstenite: expected close 1009, got {other:?}"),
    }
    let (_, metrics) = server.get("/metrics").await.unwrap();
    assert_eq!(metric(&metrics, "tandem_rejected_total{reason=\"too_large\"}"), 2.0);
}

/// Issue 18 item 6: a reader dropped for falling behind sees close 1013 ("try again later")
/// when it reads again, even seconds later, not a reset connection.
#[tokio::test]
async fn a_dropped_slow_reader_sees_1013_when_it_reads_again() {
    let server = firehose_server(100).await;
    let mut sleeper = RawWebSocket::connect(server.addr(), "/firehose", Some(4096)).await.unwrap();
    let mut typist =
        TestClient::connect_synced(&server.ws_url("firehose"), ClientOptions::default())
            .await
            .unwrap();
    let block = "z".repeat(4096);
    typist.insert(0, &block).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    loop {
        let (_, metrics) = server.get("/metrics").await.unwrap();
        if metric(&metrics, "tandem_rejected_total{reason=\"slow_reader\"}") >= 1.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sleeper was never dropped");
        for _ in 0..50 {
            i += 1;
            typist.replace(0..4096, &format!("{i:06}{}", &block[6..])).await.unwrap();
        }
    }
    // Away from its socket well past the one second the server used to wait.
    tokio::time::sleep(Duration::from_secs(3)).await;
    match sleeper.read_until_closed().await {
        Closed::Frame(code, reason) => assert_eq!(code, 1013, "{reason}"),
        other => panic!("expected close 1013, got {other:?}"),
    }
}

/// Issue 18 item 6: once every document has unloaded, the server's memory goes back to the
/// system; it used to stay at its peak (480 MB with no document loaded after a load test).
#[tokio::test]
async fn memory_goes_back_to_the_system_once_documents_unload() {
    // The writers answer no ping while the test waits (a TestClient reads only when asked): on
    // a loaded machine this test outlasts the default idle timeout, and silent writers would
    // be dropped and their documents unloaded before they are counted.
    let options = ServerOptions {
        args: ["--idle-unload-secs", "1", "--idle-timeout-secs", "600"].map(String::from).to_vec(),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await.unwrap();
    // Prepending char by char makes one block per char: a replica of many small allocations,
    // as a document typed by people is.
    let mut typist = tandem_crdt::Document::new(tandem_crdt::DocumentConfig::new(7)).unwrap();
    for i in 0..4_000 {
        typist.insert(0, &char::from(b'a' + (i % 26) as u8).to_string(), 0).unwrap();
    }
    let update = Protocol::Update { update: typist.encode_state() }.encode();
    let loaded = |metrics: &str| metric(metrics, "tandem_documents_loaded");
    let mut writers = Vec::new();
    let baseline = server.rss_kib().unwrap();
    for doc in 0..120 {
        let url = server.ws_url(&format!("doc-{doc}"));
        let mut writer = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
        writer.send_frames(vec![update.clone()]).await.unwrap();
        writers.push(writer);
    }
    for doc in 0..120 {
        let path = format!("/api/docs/doc-{doc}/text");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while server.get(&path).await.unwrap().1.len() < 4_000 {
            assert!(std::time::Instant::now() < deadline, "doc-{doc} never got the update");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let peak = server.rss_kib().unwrap();
    assert_eq!(loaded(&server.get("/metrics").await.unwrap().1), 120.0);
    for writer in writers {
        writer.close().await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while loaded(&server.get("/metrics").await.unwrap().1) > 0.0 {
        assert!(std::time::Instant::now() < deadline, "documents never unloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_kib().unwrap();
    eprintln!("server RSS: {baseline} KiB at start, {peak} KiB loaded, {after} KiB unloaded");
    let grown = peak.saturating_sub(baseline);
    assert!(grown > 20 << 10, "the documents did not take memory: {grown} KiB");
    assert!(
        after.saturating_sub(baseline) < grown / 2,
        "still {after} KiB after unloading (start {baseline} KiB, peak {peak} KiB)"
    );
}

#[tokio::test]
async fn token_command_validates_its_input() {
    assert!(TestServer::token("k", &["--doc", "../etc"]).is_err());
    assert!(TestServer::token("k", &["--doc", "a//b"]).is_err());
    assert!(TestServer::token("k", &["--doc", "team/", "--prefix"]).is_ok());
    let admin = TestServer::token("k", &["--doc", "", "--prefix", "--ttl", "0"]).unwrap();
    assert_eq!(admin.split('.').count(), 2);
}

/// Issues 13, 16: a non-ASCII, multi-segment id opens through every endpoint of the real binary,
/// and a `--prefix 团队/` token grants the whole workspace and nothing beside it.
#[tokio::test]
async fn path_like_ids_and_workspace_tokens() {
    let key = "test-key";
    let options = ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() };
    let server = TestServer::start(options).await.unwrap();
    let token = TestServer::token(key, &["--doc", "团队/", "--prefix"]).unwrap();
    let with_token = ClientOptions { token: Some(token.clone()), ..ClientOptions::default() };
    let id = "团队/笔记/会议 记录.md";
    let encoded = tandem_crdt::doc_id_to_path(id);

    let mut writer =
        TestClient::connect_synced(&server.ws_url(&encoded), with_token.clone()).await.unwrap();
    writer.insert(0, "议程 🚀").await.unwrap();
    let ws_url = server.ws_url(&format!("ws/{}", encoded.replace('/', "%2F")));
    let mut reader = TestClient::connect_synced(&ws_url, with_token.clone()).await.unwrap();
    reader.wait_text("议程 🚀").await.unwrap();
    let text_url = format!("/api/docs/{}/text?token={token}", encoded.replace('/', "%2F"));
    assert_eq!(server.get(&text_url).await.unwrap(), (200, "议程 🚀".into()));

    let beside = tandem_crdt::doc_id_to_path("团队x/notes");
    let mut outsider = TestClient::connect(&server.ws_url(&beside), with_token).await.unwrap();
    assert_eq!(outsider.wait_closed().await.unwrap().code(), Some(1008));
}

/// Issue 13, sharing and managing: a share link is never wider than its maker's token; rename
/// and delete need write access; connected clients of a renamed or deleted document are told
/// (tandem clients by the `Gone` message, everyone by close code 4410) and the text follows the
/// rename or is gone from the server.
#[tokio::test]
async fn share_rename_and_delete_over_the_api() {
    let key = "manage-key";
    let server =
        TestServer::start(ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() })
            .await
            .unwrap();
    let team = TestServer::token(key, &["--doc", "team/", "--prefix", "--ttl", "3600"]).unwrap();
    let reader = TestServer::token(key, &["--doc", "team/a.md", "--read-only"]).unwrap();
    let options = |token: &str, durable: bool| ClientOptions {
        token: Some(token.to_owned()),
        durable,
        ..ClientOptions::default()
    };
    let url = server.ws_url("team/a.md");
    let mut writer = TestClient::connect_synced(&url, options(&team, true)).await.unwrap();
    writer.insert(0, "会议 notes").await.unwrap();
    writer.wait_durable().await.unwrap();

    // Share: a read-only link for this one document, capped at the maker's expiry.
    let share = "/api/docs/team%2Fa.md/share";
    let (status, body) = server
        .request("POST", share, Some(&team), r#"{"access":"r","expires_in_s":999999}"#)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let shared: serde_json::Value = serde_json::from_str(&body).unwrap();
    let link = shared["token"].as_str().unwrap();
    let expires = shared["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(expires <= now + 3600, "the link outlives its maker's token: {body}");
    assert_eq!(shared["access"], "r");
    let told = TestClient::connect_synced(&url, options(link, true)).await.unwrap();
    assert_eq!(told.client().access(), Some(tandem_crdt::PeerAccess::ReadOnly));
    assert_eq!(told.text(), "会议 notes");
    let other = TestClient::connect(&server.ws_url("team/b.md"), options(link, false)).await;
    let mut other = other.unwrap();
    assert_eq!(other.wait_closed().await.unwrap().code(), Some(1008), "for that document only");
    // Neither a read-only token nor its link shares, renames or deletes.
    for token in [reader.as_str(), link] {
        let (status, _) =
            server.request("POST", share, Some(token), r#"{"access":"rw"}"#).await.unwrap();
        assert_eq!(status, 403);
        let (status, _) =
            server.request("DELETE", "/api/docs/team%2Fa.md", Some(token), "").await.unwrap();
        assert_eq!(status, 403);
    }
    assert_eq!(server.request("POST", share, None, r#"{"access":"r"}"#).await.unwrap().0, 401);
    assert_eq!(server.request("POST", share, Some(&team), "{}").await.unwrap().0, 400);

    // Rename: both ids need write access; the connected clients are told and closed.
    let rename = "/api/docs/team%2Fa.md/rename";
    let exact = TestServer::token(key, &["--doc", "team/a.md"]).unwrap();
    let (status, _) =
        server.request("POST", rename, Some(&exact), r#"{"to":"elsewhere"}"#).await.unwrap();
    assert_eq!(status, 401, "the token does not grant the new id");
    let (status, _) =
        server.request("POST", rename, Some(&team), r#"{"to":"team/../x"}"#).await.unwrap();
    assert_eq!(status, 400);
    let mut stock = TestClient::connect_synced(&url, options(&team, false)).await.unwrap();
    let mut told = told;
    let (status, body) =
        server.request("POST", rename, Some(&team), r#"{"to":"team/记录.md"}"#).await.unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"id":"team/记录.md"}"#));
    let renamed = tandem_crdt::Removal::Renamed { to: "team/记录.md".into() };
    for client in [&mut writer, &mut told] {
        assert_eq!(client.wait_closed().await.unwrap().code(), Some(4410));
        assert_eq!(client.gone(), Some(&renamed));
    }
    assert_eq!(stock.wait_closed().await.unwrap().code(), Some(4410));
    assert_eq!(stock.gone(), None, "a stock client learns it from the close only");
    let moved = format!("/api/docs/team%2F%E8%AE%B0%E5%BD%95.md/text?token={team}");
    assert_eq!(server.get(&moved).await.unwrap(), (200, "会议 notes".into()));
    assert_eq!(
        server.get(&format!("/api/docs/team%2Fa.md/text?token={team}")).await.unwrap().0,
        404
    );
    let (status, _) =
        server.request("POST", rename, Some(&team), r#"{"to":"team/c"}"#).await.unwrap();
    assert_eq!(status, 404, "the old id holds nothing any more");

    // Delete: the connected client is told; the text is gone; a second delete finds nothing.
    let new_url = server.ws_url("team/%E8%AE%B0%E5%BD%95.md");
    let mut writer = TestClient::connect_synced(&new_url, options(&team, true)).await.unwrap();
    assert_eq!(writer.text(), "会议 notes");
    let mut blocker = TestClient::connect_synced(&server.ws_url("team/open"), options(&team, true))
        .await
        .unwrap();
    let to_open = r#"{"to":"team/open"}"#;
    let path = "/api/docs/team%2F%E8%AE%B0%E5%BD%95.md";
    let (status, _) =
        server.request("POST", &format!("{path}/rename"), Some(&team), to_open).await.unwrap();
    assert_eq!(status, 409, "someone has the new id open");
    blocker.pump(Duration::from_millis(50)).await.unwrap();
    assert_eq!(server.request("DELETE", path, Some(&team), "").await.unwrap().0, 204);
    assert_eq!(writer.wait_closed().await.unwrap().code(), Some(4410));
    assert_eq!(writer.gone(), Some(&tandem_crdt::Removal::Deleted));
    assert_eq!(writer.text(), "会议 notes", "the client keeps its copy");
    assert_eq!(server.get(&format!("{path}/text?token={team}")).await.unwrap().0, 404);
    assert_eq!(server.request("DELETE", path, Some(&team), "").await.unwrap().0, 404);
    let (_, list) = server
        .get(&format!(
            "/api/docs?token={}",
            TestServer::token(key, &["--doc", "", "--prefix"]).unwrap()
        ))
        .await
        .unwrap();
    assert!(!list.contains("team/a.md") && !list.contains("记录"), "{list}");
}
