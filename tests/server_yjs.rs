//! A stock Yjs client (npm `yjs` + `y-websocket`'s `WebsocketProvider` on node) and a tandem
//! client edit one document on tandem-server at the same time: both converge, and each sees
//! the other's awareness. Needs node and `scripts/setup-node.sh`; without, skips with the
//! reason printed (fails under `CI=true`).

use tandem_e2e::{ClientOptions, ServerOptions, StockYjsClient, TestClient, TestServer};

const TEST: &str = "stock_yjs_client_and_tandem_client_converge";

#[tokio::test]
async fn stock_yjs_client_and_tandem_client_converge() {
    let Some(yjs) = StockYjsClient::detect(TEST) else { return };
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("interop");
    let mut rust = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    rust.set_presence("rust", Some((0, 0))).await.unwrap();

    let node = yjs
        .spawn(&format!("ws://{}", server.addr()), "interop", "yjs", "<rust-done>", "rust")
        .unwrap();

    // Edit while the Yjs client edits.
    for i in 0..5 {
        rust.insert(0, &format!("[rust {i}]")).await.unwrap();
    }
    rust.append("<rust-done>").await.unwrap();
    rust.wait_until("the Yjs client's edits and presence", |c| {
        c.text().contains("<yjs-done>") && c.peer_names().contains(&"yjs".to_owned())
    })
    .await
    .unwrap();

    let (result, stderr) = StockYjsClient::result(node).await;
    assert_eq!(result["ok"], true, "{result}\n{stderr}");
    assert!(result["peers"].as_array().unwrap().contains(&"rust".into()), "{result}");
    // Both have every edit of both: the same text, byte for byte.
    assert_eq!(result["text"].as_str().unwrap(), rust.text());
    for i in 0..5 {
        assert!(
            rust.text().contains(&format!("[yjs {i}]"))
                && rust.text().contains(&format!("[rust {i}]"))
        );
    }
    // The Yjs client left: its presence goes away.
    rust.wait_until("the Yjs client's departure", |c| c.peer_names().is_empty()).await.unwrap();
}
