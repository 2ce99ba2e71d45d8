//! Several servers on one PostgreSQL database (DESIGN.md, "Scaling past one machine"): clients
//! of one document on different servers see each other's edits and presence, and compaction by
//! any server keeps every server's updates. Skipped without `TANDEM_TEST_DATABASE_URL`.

mod common;

use std::time::Duration;

use common::{InProcess, metric};
use tandem_e2e::{ClientOptions, PostgresDatabase, TestClient};
use tandem_server::{Config, Database};

fn config(url: &str) -> Config {
    let mut config = Config::new(Database::Postgres(url.to_owned()));
    config.maintenance_interval = Duration::from_millis(50);
    // Both servers compact the shared document many times while both are typing into it.
    config.compact_after_updates = 7;
    config
}

fn durable() -> ClientOptions {
    ClientOptions { durable: true, ..ClientOptions::default() }
}

#[tokio::test]
async fn two_servers_on_one_postgres_database_share_a_document() {
    let test = "two_servers_on_one_postgres_database_share_a_document";
    let Some(db) = PostgresDatabase::create(test).await.unwrap() else {
        return;
    };
    let one = InProcess::start(config(&db.url)).await;
    let two = InProcess::start(config(&db.url)).await;
    let mut alice = TestClient::connect_synced(&one.ws_url("shared"), durable()).await.unwrap();
    let mut bob = TestClient::connect_synced(&two.ws_url("shared"), durable()).await.unwrap();

    // Concurrent edits through different servers.
    for i in 0..40 {
        alice.append(&format!(" a{i}")).await.unwrap();
        bob.insert(0, &format!("b{i} ")).await.unwrap();
    }
    alice.wait_until("bob's edits via server two", |c| c.text().contains("b39 ")).await.unwrap();
    bob.wait_until("alice's edits via server one", |c| c.text().contains(" a39")).await.unwrap();
    let text = alice.text();
    bob.wait_text(&text).await.unwrap();
    for i in 0..40 {
        assert!(text.contains(&format!(" a{i}")) && text.contains(&format!("b{i} ")), "{text}");
    }
    alice.wait_durable().await.unwrap();
    bob.wait_durable().await.unwrap();

    // Awareness crosses servers too, departures included.
    alice.set_presence("alice", Some((1, 2))).await.unwrap();
    bob.wait_until("alice's presence via server one", |c| c.peer_names() == ["alice"])
        .await
        .unwrap();
    let mut dave = TestClient::connect_synced(&two.ws_url("shared"), durable()).await.unwrap();
    dave.set_presence("dave", None).await.unwrap();
    alice
        .wait_until("dave's presence via server two", |c| c.peer_names() == ["dave"])
        .await
        .unwrap();
    drop(dave);
    alice.wait_until("dave's departure", |c| c.peer_names().is_empty()).await.unwrap();

    // A late joiner on either server gets everything; so does the HTTP API.
    let carol = TestClient::connect_synced(&two.ws_url("shared"), durable()).await.unwrap();
    assert_eq!(carol.text(), text);
    assert_eq!(one.get("/api/docs/shared/text").await, (200, text.clone()));

    // Both servers compacted the log they share.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for server in [&one, &two] {
        let (_, metrics) = server.get("/metrics").await;
        assert!(metric(&metrics, "tandem_compactions_total") > 0.0, "{metrics}");
    }
    drop((alice, bob, carol));
    one.stop().await.unwrap();
    two.stop().await.unwrap();

    // What is stored (snapshot + log) holds every edit from both servers.
    let three = InProcess::start(config(&db.url)).await;
    assert_eq!(three.get("/api/docs/shared/text").await, (200, text));
    three.stop().await.unwrap();
    db.drop_database().await.unwrap();
}
