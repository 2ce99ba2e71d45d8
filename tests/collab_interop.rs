//! The collaborative terminal editor with stock Yjs software: a node Yjs client
//! (`y-websocket`'s `WebsocketProvider`) on tandem-server sees the editor's text and user name
//! and its edits appear in the editor; two editors converge through the stock y-websocket server
//! from npm. Skips without tmux or node.

mod collab;

use collab::{NodeYServer, Pane, editor_args, save_and_read, tmux_available};
use tandem_e2e::{ServerOptions, StockYjsClient, TestServer, node_available};

#[tokio::test]
async fn a_stock_yjs_client_sees_the_editor_and_its_edits_appear_in_it() {
    const TEST: &str = "a_stock_yjs_client_sees_the_editor_and_its_edits_appear_in_it";
    if !tmux_available(TEST) {
        return;
    }
    let Some(yjs) = StockYjsClient::detect(TEST) else { return };
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    let a =
        Pane::start("a", &dir.path().join("a"), &editor_args(&server.ws_url("yjs"), "ann", &file))
            .unwrap();
    a.wait_for(&["connected · 1 here"]);

    let node =
        yjs.spawn(&format!("ws://{}", server.addr()), "yjs", "yjs", "<ann-done>", "ann").unwrap();
    a.wait_for(&["connected · 2 here"]);
    a.type_text("typed in tandem <ann-done>");
    a.wait_for(&["<yjs-done>", "[yjs 4]", "yjs"]);

    let (result, stderr) = StockYjsClient::result(node).await;
    assert_eq!(result["ok"], true, "{result}\n{stderr}");
    assert!(result["peers"].as_array().unwrap().contains(&"ann".into()), "{result}");
    let node_text = result["text"].as_str().unwrap();
    assert_eq!(save_and_read(&a, &file), node_text, "both sides hold the same text");
    for i in 0..5 {
        assert!(node_text.contains(&format!("[yjs {i}]")), "{node_text}");
    }
    assert!(node_text.contains("typed in tandem"), "{node_text}");
}

#[tokio::test]
async fn two_editors_converge_through_the_stock_y_websocket_server() {
    const TEST: &str = "two_editors_converge_through_the_stock_y_websocket_server";
    if !tmux_available(TEST) || !node_available(TEST) {
        return;
    }
    let Some(script) = NodeYServer::script(TEST) else { return };
    let server = NodeYServer::start(&script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = server.ws_url("stock");
    let (file_a, file_b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    let a = Pane::start("a", &dir.path().join("a"), &editor_args(&url, "ann", &file_a)).unwrap();
    let b = Pane::start("b", &dir.path().join("b"), &editor_args(&url, "bob", &file_b)).unwrap();
    a.wait_for(&["connected · 2 here"]);
    b.wait_for(&["connected · 2 here"]);
    a.type_text("from A.");
    b.wait_for(&["from A."]);
    b.keys(&["C-End"]);
    b.type_text("from B.");
    a.wait_for(&["from A.from B.", "bob"]);
    // No durability counter without tandem's extension.
    a.wait_for(&["— unconfirmed"]);
    let text_a = save_and_read(&a, &file_a);
    assert_eq!(text_a, "from A.from B.");
    assert_eq!(save_and_read(&b, &file_b), text_a);
}
