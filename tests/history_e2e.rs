//! Version history end to end (issue 14): the real server records versions with their
//! authors, names and restores them over REST, every kind of client converges on a restore
//! while another keeps typing, and history survives restarts, compaction, retention and a
//! second server on PostgreSQL.

mod collab;

use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_e2e::{ClientOptions, ServerOptions, TestClient, TestServer, now_ms};
use tokio::io::AsyncWriteExt;

/// `GET path` as JSON, asserting the status.
async fn get_json(server: &TestServer, path: &str, status: u16) -> Value {
    let (got, body) = server.get(path).await.unwrap();
    assert_eq!(got, status, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// `POST path` with `body` as JSON, asserting the status.
async fn post_json(server: &TestServer, path: &str, body: &str, status: u16) -> Value {
    let (got, answer) = server.post(path, body).await.unwrap();
    assert_eq!(got, status, "POST {path} {body}: {answer}");
    serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("POST {path}: not JSON ({e}): {answer}"))
}

/// A document's versions, newest first.
async fn versions(server: &TestServer, doc: &str, token: &str) -> Vec<Value> {
    let listed = get_json(server, &format!("/api/docs/{doc}/versions{token}"), 200).await;
    listed.as_array().cloned().unwrap_or_default()
}

/// Polls the version list until `ready` holds for it (versions are written in the background).
async fn versions_until(
    server: &TestServer,
    doc: &str,
    token: &str,
    what: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let listed = versions(server, doc, token).await;
        if ready(&listed) {
            return listed;
        }
        assert!(Instant::now() < deadline, "no {what}: {listed:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn version_text(server: &TestServer, doc: &str, id: &Value) -> String {
    let (status, text) = server.get(&format!("/api/docs/{doc}/versions/{id}/text")).await.unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

fn authors(version: &Value) -> Vec<&str> {
    version["authors"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap()
}

fn with_token(token: &str) -> ClientOptions {
    ClientOptions { token: Some(token.to_owned()), durable: true, ..ClientOptions::default() }
}

/// Two named clients edit: the automatic version names both (one by its token's `name` claim,
/// one by its presence), a named version is listed first with its text, and the version made
/// when the last client leaves holds the final text.
#[tokio::test]
async fn versions_list_their_authors_and_names() {
    let key = "history-key";
    let options = ServerOptions {
        auth_key: Some(key.into()),
        args: vec!["--version-interval".into(), "1".into()],
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await.unwrap();
    let ada_token = TestServer::token(key, &["--doc", "notes", "--name", "ada"]).unwrap();
    let bob_token = TestServer::token(key, &["--doc", "notes"]).unwrap();
    let url = server.ws_url("notes");
    let mut ada = TestClient::connect_synced(&url, with_token(&ada_token)).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, with_token(&bob_token)).await.unwrap();
    bob.set_presence("bob", None).await.unwrap();
    ada.insert(0, "ada was here\n").await.unwrap();
    bob.wait_text("ada was here\n").await.unwrap();
    bob.append("bob too\n").await.unwrap();
    ada.wait_text("ada was here\nbob too\n").await.unwrap();
    bob.wait_durable().await.unwrap();

    let q = format!("?token={ada_token}");
    let listed = versions_until(&server, "notes", &q, "version by both", |v| {
        v.iter().any(|v| authors(v) == ["ada", "bob"])
    })
    .await;
    let auto = listed.iter().find(|v| authors(v) == ["ada", "bob"]).unwrap();
    assert_eq!(auto["kind"], "auto");
    assert_eq!(auto["name"], Value::Null);
    assert_eq!(auto["chars"], 21);
    assert!(auto["created_at_ms"].as_u64().unwrap() <= now_ms());

    let named =
        post_json(&server, &format!("/api/docs/notes/versions{q}"), r#"{"name":"draft 1"}"#, 201)
            .await;
    assert_eq!(named["kind"], "named");
    assert_eq!(named["name"], "draft 1");
    let listed = versions(&server, "notes", &q).await;
    assert_eq!(listed[0], named, "newest first");
    let ids: Vec<i64> = listed.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let text_path = format!("/api/docs/notes/versions/{}/text{q}", named["id"]);
    assert_eq!(server.get(&text_path).await.unwrap(), (200, "ada was here\nbob too\n".into()));

    // The last client leaving records what changed since.
    ada.append("bye\n").await.unwrap();
    ada.wait_durable().await.unwrap();
    ada.close().await.unwrap();
    bob.close().await.unwrap();
    let listed = versions_until(&server, "notes", &q, "version on leaving", |v| {
        v[0]["chars"] == 25 && v[0]["kind"] == "auto"
    })
    .await;
    assert_eq!(authors(&listed[0]), ["ada"]);

    // `tandem history URL` prints the list; `tandem history URL VID` one version's text.
    let list = tandem_history(&[&url, "--token", &ada_token]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), listed.len(), "{list}");
    assert!(lines[0].trim_start().starts_with(&listed[0]["id"].to_string()), "{list}");
    assert!(
        list.contains("named") && list.contains("\"draft 1\"") && list.contains("ada, bob"),
        "{list}"
    );
    let vid = named["id"].to_string();
    assert_eq!(tandem_history(&[&url, &vid, "--token", &ada_token]), "ada was here\nbob too\n");
}

/// Runs `tandem history ARGS...` and returns its output; fails the test when it fails.
fn tandem_history(args: &[&str]) -> String {
    let output = tandem_cli(args);
    assert!(
        output.status.success(),
        "tandem history {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn tandem_cli(args: &[&str]) -> std::process::Output {
    let binary = tandem_e2e::workspace_binary("tandem", "TANDEM_BIN").unwrap();
    let log = std::env::temp_dir().join(format!("tandem-history-{}.log", std::process::id()));
    std::process::Command::new(binary)
        .arg("history")
        .args(args)
        .arg("--log")
        .arg(log)
        .env_remove("TANDEM_TOKEN")
        .output()
        .unwrap()
}

/// Against the stock y-websocket server, `tandem history` says that server keeps no history.
#[tokio::test]
async fn tandem_history_against_a_stock_server_says_it_keeps_none() {
    const TEST: &str = "tandem_history_against_a_stock_server_says_it_keeps_none";
    if !tandem_e2e::node_available(TEST) {
        return;
    }
    let Some(script) = collab::NodeYServer::script(TEST) else { return };
    let server = collab::NodeYServer::start(&script).await.unwrap();
    let output = tandem_cli(&[&server.ws_url("stock")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("keeps no version history"), "{stderr}");
}

/// A stock Yjs replica (`tests/js/yjs-observer.mjs`) kept on one room.
struct YjsReplica {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    answers: tokio::sync::mpsc::UnboundedReceiver<Value>,
    room: String,
}

impl YjsReplica {
    async fn join(server_url: &str, room: &str) -> Self {
        let script = tandem_e2e::repo_root().join("tests/js/yjs-observer.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .arg(server_url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let answers = tandem_e2e::json_lines(child.stdout.take().unwrap(), "yjs-observer");
        let mut replica = Self { _child: child, stdin, answers, room: room.to_owned() };
        replica.ask("join").await;
        replica
    }

    async fn ask(&mut self, command: &str) -> String {
        self.stdin.write_all(format!("{command} {}\n", self.room).as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(tandem_e2e::TIMEOUT, self.answers.recv())
            .await
            .expect("the Yjs replica did not answer")
            .expect("the Yjs replica exited");
        assert_eq!(answer["ok"], true, "{command}: {answer}");
        assert_eq!(answer["errors"], 0, "Yjs logged errors: {answer}");
        answer["text"].as_str().unwrap_or_default().to_owned()
    }

    async fn wait_text(&mut self, expected: &str) {
        let deadline = Instant::now() + tandem_e2e::TIMEOUT;
        loop {
            let text = self.ask("text").await;
            if text == expected {
                return;
            }
            assert!(Instant::now() < deadline, "the Yjs replica has {text:?}, not {expected:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A restore is a CRDT edit: a tandem client and a stock Yjs client converge on it, a third
/// client typing through it keeps what it typed, the restore is listed, and restoring the
/// version recorded just before it undoes it.
#[tokio::test]
async fn a_restore_converges_every_client_and_keeps_concurrent_typing() {
    let Some(_) = tandem_e2e::StockYjsClient::detect("history_restore") else {
        return;
    };
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("plan");
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut ada = TestClient::connect_synced(&url, durable.clone()).await.unwrap();
    ada.set_presence("ada", None).await.unwrap();
    ada.insert(0, "intro\nkeep me\n").await.unwrap();
    ada.wait_durable().await.unwrap();
    let v1 = post_json(&server, "/api/docs/plan/versions", r#"{"name":"v1"}"#, 201).await;

    let mut carl = TestClient::connect_synced(&url, durable.clone()).await.unwrap();
    carl.set_presence("carl", None).await.unwrap();
    ada.append("a later paragraph\n").await.unwrap();
    ada.replace(0..5, "INTRO").await.unwrap();
    carl.wait_text("INTRO\nkeep me\na later paragraph\n").await.unwrap();
    carl.insert(6, "[carl before] ").await.unwrap();
    carl.wait_durable().await.unwrap();
    let before_restore = carl.text();
    let mut yjs = YjsReplica::join(&format!("ws://{}", server.addr()), "plan").await;
    yjs.wait_text(&before_restore).await;

    // Carl types on: this edit is made before carl sees the restore and reaches the server
    // after it.
    let at = carl.text().find("keep").unwrap();
    let concurrent = carl.client_mut().replace(at..at, "<typed during> ", now_ms()).unwrap();
    let restored = post_json(
        &server,
        "/api/docs/plan/restore",
        &format!(r#"{{"version":{}}}"#, v1["id"]),
        201,
    )
    .await;
    assert_eq!(restored["kind"], "restore");
    carl.send_frames(concurrent).await.unwrap();
    carl.append("<typed after>").await.unwrap();

    let expected = "intro\n<typed during> keep me\n<typed after>";
    ada.wait_text(expected).await.unwrap();
    carl.wait_text(expected).await.unwrap();
    yjs.wait_text(expected).await;
    assert_eq!(server.get("/api/docs/plan/text").await.unwrap(), (200, expected.into()));

    // Listed: the restore, and before it the text it replaced.
    let listed = versions(&server, "plan", "").await;
    assert_eq!(listed[0]["id"], restored["id"]);
    let before = &listed[1];
    assert_eq!(before["kind"], "auto");
    assert_eq!(authors(before), ["ada", "carl"]);
    assert_eq!(version_text(&server, "plan", &before["id"]).await, before_restore);
    assert_eq!(version_text(&server, "plan", &restored["id"]).await, "intro\nkeep me\n");

    // Undone by restoring the version before it.
    let body = format!(r#"{{"version":{}}}"#, before["id"]);
    post_json(&server, "/api/docs/plan/restore", &body, 201).await;
    ada.wait_text(&before_restore).await.unwrap();
    carl.wait_text(&before_restore).await.unwrap();
    yjs.wait_text(&before_restore).await;
}

/// Every way a history request can be wrong is a 4xx with a JSON reason, and changes nothing.
#[tokio::test]
async fn every_rest_error_path_is_a_4xx_with_a_reason() {
    let key = "history-key";
    let options = ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() };
    let server = TestServer::start(options).await.unwrap();
    let writer = TestServer::token(key, &["--doc", "doc"]).unwrap();
    let reader = TestServer::token(key, &["--doc", "doc", "--read-only"]).unwrap();
    let other = TestServer::token(key, &["--doc", "other"]).unwrap();
    let mut ada =
        TestClient::connect_synced(&server.ws_url("doc"), with_token(&writer)).await.unwrap();
    ada.insert(0, "the text").await.unwrap();
    ada.wait_durable().await.unwrap();
    let w = format!("?token={writer}");
    let v = post_json(&server, &format!("/api/docs/doc/versions{w}"), r#"{"name":"n"}"#, 201).await;
    let vid = &v["id"];
    let mut other_client =
        TestClient::connect_synced(&server.ws_url("other"), with_token(&other)).await.unwrap();
    other_client.insert(0, "elsewhere").await.unwrap();
    other_client.wait_durable().await.unwrap();
    let o = format!("?token={other}");
    let other_v =
        post_json(&server, &format!("/api/docs/other/versions{o}"), r#"{"name":"o"}"#, 201).await;
    let before = versions(&server, "doc", &w).await;

    let gets = [
        (format!("/api/docs/doc/versions/abc/text{w}"), 400),
        (format!("/api/docs/doc/versions/0/text{w}"), 400),
        (format!("/api/docs/doc/versions/-3/text{w}"), 400),
        (format!("/api/docs/doc/versions/99999999/text{w}"), 404),
        (format!("/api/docs/doc/versions/{}/text{w}", other_v["id"]), 404),
        (format!("/api/docs/doc/versions/{vid}/diff{w}&against=x"), 400),
        (format!("/api/docs/doc/versions/{vid}/diff{w}&against=99999999"), 404),
        (format!("/api/docs/doc/versions/x/diff{w}"), 400),
        (format!("/api/docs/doc/restore{w}"), 405),
        (format!("/api/docs/a%01b/versions{w}"), 400),
        ("/api/docs/doc/versions".to_owned(), 401),
        (format!("/api/docs/doc/versions{o}"), 401),
        (format!("/api/docs/doc/versions/{vid}/text?token=forged.token"), 401),
    ];
    for (path, status) in gets {
        let answer = get_json(&server, &path, status).await;
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{path}: {answer}");
    }
    let posts = [
        (format!("/api/docs/doc/versions{w}"), "not json", 400),
        (format!("/api/docs/doc/versions{w}"), r#"{"name":""}"#, 400),
        (format!("/api/docs/doc/versions{w}"), r#"{"name":"   "}"#, 400),
        (format!("/api/docs/doc/versions{w}"), r#"{"name":5}"#, 400),
        (format!("/api/docs/doc/versions{w}"), r#"{"nom":"x"}"#, 400),
        (
            format!("/api/docs/doc/versions{w}"),
            &format!(r#"{{"name":"{}"}}"#, "x".repeat(201)),
            400,
        ),
        (format!("/api/docs/doc/restore{w}"), "{}", 400),
        (format!("/api/docs/doc/restore{w}"), r#"{"version":"1"}"#, 400),
        (format!("/api/docs/doc/restore{w}"), r#"{"version":0}"#, 400),
        (format!("/api/docs/doc/restore{w}"), r#"{"version":99999999}"#, 404),
        (format!("/api/docs/doc/restore{w}"), &format!(r#"{{"version":{}}}"#, other_v["id"]), 404),
        (format!("/api/docs/doc/versions/{vid}/text{w}"), "{}", 405),
        ("/api/docs/doc/versions".to_owned(), r#"{"name":"x"}"#, 401),
        (format!("/api/docs/doc/versions?token={reader}"), r#"{"name":"x"}"#, 403),
        (format!("/api/docs/doc/restore?token={reader}"), &format!(r#"{{"version":{vid}}}"#), 403),
    ];
    for (path, body, status) in posts {
        let answer = post_json(&server, &path, body, status).await;
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{path}: {answer}");
    }

    // Nothing changed; a read-only token lists and reads.
    assert_eq!(versions(&server, "doc", &format!("?token={reader}")).await, before);
    let text = format!("/api/docs/doc/versions/{vid}/text?token={reader}");
    assert_eq!(server.get(&text).await.unwrap(), (200, "the text".into()));
    assert_eq!(server.get(&format!("/api/docs/doc/text{w}")).await.unwrap().1, "the text");
    ada.pump(Duration::from_millis(200)).await.unwrap();
    assert_eq!(ada.text(), "the text");
    // The diff of a version against the current text, and against another version.
    ada.append(" grew").await.unwrap();
    ada.wait_durable().await.unwrap();
    let diff = get_json(&server, &format!("/api/docs/doc/versions/{vid}/diff{w}"), 200).await;
    assert_eq!(diff, serde_json::json!([{"retain": 8}, {"delete": 5}]));
    let grown =
        post_json(&server, &format!("/api/docs/doc/versions{w}"), r#"{"name":"g"}"#, 201).await;
    let path = format!("/api/docs/doc/versions/{}/diff{w}&against={vid}", grown["id"]);
    assert_eq!(
        get_json(&server, &path, 200).await,
        serde_json::json!([{"retain": 8}, {"insert": " grew"}])
    );
}

/// Versions outlive the server process and the compaction of the update log; on the next
/// start, retention thins out versions that have aged (here by moving their time back 20 days)
/// while named ones stay.
#[tokio::test]
async fn history_survives_restart_and_compaction_and_old_versions_are_pruned() {
    let options = ServerOptions {
        args: ["--version-interval", "1", "--compact-after", "5"].map(String::from).to_vec(),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await.unwrap();
    let url = server.ws_url("log");
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut ada = TestClient::connect_synced(&url, durable.clone()).await.unwrap();
    ada.set_presence("ada", None).await.unwrap();
    // Two rounds of typing, each in more updates than a compaction takes, each waited out
    // until the interval made a version of it.
    let mut line = 0;
    let mut listed = Vec::new();
    for round in 1..=2 {
        for _ in 0..10 {
            ada.append(&format!("line {line}\n")).await.unwrap();
            line += 1;
        }
        ada.wait_durable().await.unwrap();
        listed = versions_until(&server, "log", "", "an automatic version per round", |v| {
            v.iter().filter(|v| v["kind"] == "auto").count() >= round
        })
        .await;
    }
    let named = post_json(&server, "/api/docs/log/versions", r#"{"name":"kept"}"#, 201).await;
    listed.insert(0, named.clone());
    ada.close().await.unwrap();
    let (_, metrics) = server.get("/metrics").await.unwrap();
    let compactions = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tandem_compactions_total ")?.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no compaction counter:\n{metrics}"));
    assert!(compactions >= 1.0, "the log was never compacted");
    let mut texts = Vec::new();
    for version in &listed {
        texts.push(version_text(&server, "log", &version["id"]).await);
    }
    assert!(texts.iter().all(|t| t.starts_with("line 0\n")), "{texts:?}");

    assert!(server.stop().await.unwrap());
    let mut server = server.restart().await.unwrap();
    assert_eq!(versions(&server, "log", "").await, listed, "the same versions after a restart");
    for (version, text) in listed.iter().zip(&texts) {
        assert_eq!(&version_text(&server, "log", &version["id"]).await, text);
    }

    // Twenty days later (the versions' times moved back): one version per hour is kept, and
    // every named one.
    assert!(server.stop().await.unwrap());
    age_versions(&server.data_dir().join("tandem.db"), 20).await;
    let server = server.restart().await.unwrap();
    let pruned = versions_until(&server, "log", "", "pruning", |v| v.len() < listed.len()).await;
    let hours: std::collections::BTreeSet<i64> = listed
        .iter()
        .filter(|v| v["kind"] != "named")
        .map(|v| v["created_at_ms"].as_i64().unwrap().div_euclid(3_600_000))
        .collect();
    assert_eq!(pruned.len(), hours.len() + 1, "{pruned:#?}");
    assert!(pruned.iter().any(|v| v["id"] == named["id"]), "the named version was pruned");
    assert_eq!(
        pruned.iter().find(|v| v["kind"] != "named").unwrap()["id"],
        listed.iter().find(|v| v["kind"] != "named").unwrap()["id"],
        "the newest of its hour stays"
    );
}

/// Moves every version in the SQLite file `db` back by `days`.
async fn age_versions(db: &std::path::Path, days: i64) {
    use sqlx::Connection;
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query("UPDATE versions SET created_at = created_at - $1")
        .bind(days * 86_400_000)
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
}

/// Two servers on one PostgreSQL database share one history: each records its own clients as
/// authors, a version named on one is listed and restored on the other, and the restore
/// reaches the clients of both.
#[tokio::test]
async fn two_servers_on_postgres_share_one_history() {
    let Some(db) = tandem_e2e::PostgresDatabase::create("history_postgres").await.unwrap() else {
        return;
    };
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let a = TestServer::start(options.clone()).await.unwrap();
    let b = TestServer::start(options).await.unwrap();
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut ada = TestClient::connect_synced(&a.ws_url("shared"), durable.clone()).await.unwrap();
    let mut bob = TestClient::connect_synced(&b.ws_url("shared"), durable).await.unwrap();
    ada.set_presence("ada", None).await.unwrap();
    bob.set_presence("bob", None).await.unwrap();
    ada.insert(0, "first\n").await.unwrap();
    bob.wait_text("first\n").await.unwrap();
    ada.wait_durable().await.unwrap();
    let v1 = post_json(&a, "/api/docs/shared/versions", r#"{"name":"first"}"#, 201).await;
    assert_eq!(authors(&v1), ["ada"]);
    bob.append("second\n").await.unwrap();
    ada.wait_text("first\nsecond\n").await.unwrap();
    bob.wait_durable().await.unwrap();

    assert_eq!(versions(&b, "shared", "").await[0], v1, "named on a, listed on b");
    post_json(&b, "/api/docs/shared/restore", &format!(r#"{{"version":{}}}"#, v1["id"]), 201).await;
    ada.wait_text("first\n").await.unwrap();
    bob.wait_text("first\n").await.unwrap();
    let listed = versions(&a, "shared", "").await;
    assert_eq!(listed[0]["kind"], "restore");
    assert_eq!(authors(&listed[1]), ["bob"], "b's client edited since the named version");
    assert_eq!(version_text(&a, "shared", &listed[1]["id"]).await, "first\nsecond\n");

    drop((ada, bob, a, b));
    db.drop_database().await.unwrap();
}

/// `GET /api/docs/ID/authors` as JSON with `token`, asserting the status.
async fn authors_of(server: &TestServer, doc: &str, token: &str) -> Value {
    get_json(server, &format!("/api/docs/{doc}/authors?token={token}"), 200).await
}

/// "Who wrote this": two named clients (one by its token's `name` claim, one by its presence
/// name) and an unnamed one write into each other's text; the authors endpoint gives the
/// current text's runs by author (chars and UTF-16 units), a read-only token reads them, every
/// refusal is a 4xx with a reason, and after a restart the runs are the same.
#[tokio::test]
async fn authors_name_who_wrote_each_part_and_survive_a_restart() {
    let key = "authors-key";
    let options = ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() };
    let mut server = TestServer::start(options).await.unwrap();
    let ada_token = TestServer::token(key, &["--doc", "team/plan", "--name", "ada"]).unwrap();
    let bob_token = TestServer::token(key, &["--doc", "team/plan"]).unwrap();
    let reader = TestServer::token(key, &["--doc", "team/plan", "--read-only"]).unwrap();
    let url = server.ws_url("team/plan");
    let mut ada = TestClient::connect_synced(&url, with_token(&ada_token)).await.unwrap();
    let mut bob = TestClient::connect_synced(&url, with_token(&bob_token)).await.unwrap();
    let mut anon = TestClient::connect_synced(&url, with_token(&bob_token)).await.unwrap();
    bob.set_presence("bob", None).await.unwrap();
    ada.insert(0, "hello world\n").await.unwrap();
    bob.wait_text("hello world\n").await.unwrap();
    bob.insert(6, "big 👋 ").await.unwrap();
    anon.wait_text("hello big 👋 world\n").await.unwrap();
    anon.append("?").await.unwrap();
    ada.wait_text("hello big 👋 world\n?").await.unwrap();
    for client in [&mut ada, &mut bob, &mut anon] {
        client.wait_durable().await.unwrap();
    }
    let expected = serde_json::json!([
        {"chars": 6, "utf16": 6, "author": "ada"},
        {"chars": 6, "utf16": 7, "author": "bob"},
        {"chars": 6, "utf16": 6, "author": "ada"},
        {"chars": 1, "utf16": 1, "author": null},
    ]);
    assert_eq!(authors_of(&server, "team/plan", &ada_token).await, expected);
    assert_eq!(authors_of(&server, "team/plan", &reader).await, expected, "read-only reads");

    let refusals = [
        (format!("/api/docs/team/plan/authors?token=forged.{reader}"), 401),
        ("/api/docs/team/plan/authors".to_owned(), 401),
        (format!("/api/docs/team/none/authors?token={ada_token}"), 401),
        (format!("/api/docs/a%01b/authors?token={ada_token}"), 400),
    ];
    for (path, status) in refusals {
        let answer = get_json(&server, &path, status).await;
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{path}: {answer}");
    }
    let answer =
        post_json(&server, &format!("/api/docs/team/plan/authors?token={ada_token}"), "{}", 405)
            .await;
    assert!(answer["error"].is_string(), "{answer}");

    for client in [ada, bob, anon] {
        client.close().await.unwrap();
    }
    assert!(server.stop().await.unwrap());
    let server = server.restart().await.unwrap();
    assert_eq!(authors_of(&server, "team/plan", &reader).await, expected, "after a restart");

    // An unknown document is a 404.
    let open = TestServer::start(ServerOptions::default()).await.unwrap();
    let answer = get_json(&open, "/api/docs/nothing/authors", 404).await;
    assert!(answer["error"].is_string(), "{answer}");
}

/// The terminal editor's history panel against the real server: F4 names the current text, the
/// list shows the named version with its author, the preview shows it beside the current text,
/// Enter asks before restoring, and a second editor converges on the restored text.
#[tokio::test]
async fn the_editor_history_panel_names_previews_and_restores_a_version() {
    const TEST: &str = "the_editor_history_panel_names_previews_and_restores_a_version";
    if !collab::tmux_available(TEST) {
        return;
    }
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("story");
    let (file_a, file_b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let a =
        collab::Pane::start("a", &dir.path().join("a"), &collab::editor_args(&url, "ann", &file_a))
            .unwrap();
    let b =
        collab::Pane::start("b", &dir.path().join("b"), &collab::editor_args(&url, "bob", &file_b))
            .unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);
    a.type_text("first draft of the story");
    b.wait_for(&["first draft of the story"]);

    a.keys(&["F4"]);
    a.wait_for(&["History of story", "Esc close"]);
    a.keys(&["n"]);
    a.type_text("v1");
    a.wait_for(&["Name the current text: v1"]);
    a.keys(&["Enter"]);
    a.wait_for(&["named version", "named   ann  \"v1\""]);
    a.keys(&["Escape"]);
    a.wait_until_gone("History of story");

    a.keys(&["C-a"]);
    a.type_text("second take");
    b.wait_for(&["second take"]);
    a.keys(&["F4"]);
    // The named version is listed first; its text shows beside the current one.
    let screen = a.wait_for(&["\"v1\"", "first draft of the story", "second take", "now"]);
    assert!(screen.contains("version "), "{screen}");
    a.keys(&["Enter"]);
    a.wait_for(&["Restore version", "(y/n)"]);
    a.keys(&["y"]);
    a.wait_for(&["restored: the text is now version"]);
    a.keys(&["Escape"]);
    a.wait_until_gone("History of story");
    let converged = b.wait_for(&["first draft of the story"]);
    assert!(!converged.contains("second take"), "{converged}");
    a.wait_for(&["first draft of the story"]);
    let (status, text) = server.get("/api/docs/story/text").await.unwrap();
    assert_eq!((status, text.as_str()), (200, "first draft of the story"));
}

/// Against the stock y-websocket server the history command says that server keeps none, and
/// so does the authorship colouring.
#[tokio::test]
async fn the_editor_history_panel_on_a_stock_server_says_it_keeps_none() {
    const TEST: &str = "the_editor_history_panel_on_a_stock_server_says_it_keeps_none";
    if !collab::tmux_available(TEST) || !tandem_e2e::node_available(TEST) {
        return;
    }
    let Some(script) = collab::NodeYServer::script(TEST) else { return };
    let server = collab::NodeYServer::start(&script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("stock");
    let args = collab::editor_args(&url, "ann", &dir.path().join("a.txt"));
    let a = collab::Pane::start("a", &dir.path().join("a"), &args).unwrap();
    a.wait_for(&["connected"]);
    a.keys(&["F4"]);
    a.wait_for(&["keeps no version history"]);
    a.keys(&["F5"]);
    a.wait_for(&["this server keeps no authorship"]);
}

/// The colours in effect where `needle` first appears on a `tmux capture-pane -e` screen:
/// `(foreground, background)` as `(r, g, b)`, `None` for the default or a palette colour.
type Colours = (Option<(u8, u8, u8)>, Option<(u8, u8, u8)>);

fn colours_at(screen: &str, needle: &str) -> Colours {
    let end = screen.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {screen:?}"));
    let mut colours: Colours = (None, None);
    for sequence in screen[..end].split("\x1b[").skip(1) {
        let Some((params, _)) = sequence.split_once('m') else { continue };
        let numbers: Vec<u8> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < numbers.len() {
            i += match numbers[i..] {
                [38, 2, r, g, b, ..] => {
                    colours.0 = Some((r, g, b));
                    5
                }
                [48, 2, r, g, b, ..] => {
                    colours.1 = Some((r, g, b));
                    5
                }
                [38, 5, _, ..] => {
                    colours.0 = None;
                    3
                }
                [48, 5, _, ..] => {
                    colours.1 = None;
                    3
                }
                [0, ..] => {
                    colours = (None, None);
                    1
                }
                [30..=39 | 90..=97, ..] => {
                    colours.0 = None;
                    1
                }
                [40..=49 | 100..=107, ..] => {
                    colours.1 = None;
                    1
                }
                _ => 1,
            };
        }
    }
    colours
}

fn rgb_of(hex: &str) -> Option<(u8, u8, u8)> {
    let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
    Some((channel(1)?, channel(3)?, channel(5)?))
}

/// "Who wrote this" in the terminal editor: two clients write a line each (ada named by her
/// token, bob by his presence), a third user's editor presses F5, and each line shows tinted in
/// its author's colour — bob's is his cursor's, ada (gone) gets the one picked from her name —
/// with a legend naming both in those colours.
#[tokio::test]
async fn the_editor_colours_the_text_by_author_with_a_legend() {
    const TEST: &str = "the_editor_colours_the_text_by_author_with_a_legend";
    if !collab::tmux_available(TEST) {
        return;
    }
    let key = "who-key";
    let options = ServerOptions { auth_key: Some(key.into()), ..ServerOptions::default() };
    let server = TestServer::start(options).await.unwrap();
    let ada_token = TestServer::token(key, &["--doc", "who", "--name", "ada"]).unwrap();
    let token = TestServer::token(key, &["--doc", "who"]).unwrap();
    let url = server.ws_url("who");
    let mut ada = TestClient::connect_synced(&url, with_token(&ada_token)).await.unwrap();
    ada.insert(0, "ada wrote this line\n").await.unwrap();
    ada.wait_durable().await.unwrap();
    ada.close().await.unwrap();
    let mut bob = TestClient::connect_synced(&url, with_token(&token)).await.unwrap();
    bob.set_presence("bob", None).await.unwrap();
    bob.append("bob wrote that line\n").await.unwrap();
    bob.wait_durable().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut args = collab::editor_args(&url, "cat", &dir.path().join("who.txt"));
    args.extend(["--token".to_owned(), token.clone()]);
    let pane = collab::Pane::start("cat", &dir.path().join("cat"), &args).unwrap();
    pane.wait_for(&["connected · 2 here", "bob wrote that line"]);
    pane.keys(&["F5"]);
    pane.wait_for(&["authors: ● ada ● bob"]);

    let screen = pane.screen_with_colours();
    let (_, ada_bg) = colours_at(&screen, "ada wrote this line");
    let (_, bob_bg) = colours_at(&screen, "bob wrote that line");
    assert!(ada_bg.is_some() && bob_bg.is_some(), "{screen:?}");
    assert_ne!(ada_bg, bob_bg, "two authors, two colours: {screen:?}");
    // The legend's names are in the authors' colours: bob's cursor's, ada's from her name.
    assert_eq!(colours_at(&screen, "● bob").0, rgb_of("#3366ff"), "{screen:?}");
    let ada_colour = tandem::collab::name_colour("ada");
    assert_eq!(colours_at(&screen, "● ada").0, rgb_of(ada_colour), "{screen:?}");

    // F5 again: no colour left.
    pane.keys(&["F5"]);
    pane.wait_until_gone("authors:");
    let screen = pane.screen_with_colours();
    let plain = colours_at(&screen, "ada wrote this line").1;
    assert_eq!(plain, colours_at(&screen, "bob wrote that line").1, "{screen:?}");
    assert!(plain != ada_bg && plain != bob_bg, "{screen:?}");
    bob.close().await.unwrap();
}
