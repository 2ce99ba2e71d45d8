//! tandem behind nginx: the documented `assets/deploy/nginx.conf` terminates TLS (a test
//! certificate authority) in front of a plain tandem-server started with `--trust-proxy`. The
//! terminal editor, a stock Yjs client and a tandem client edit one document through it.
//! Needs nginx (scripts/setup-deploy.sh); the editor part needs tmux too.

mod collab;

use collab::{Pane, tmux_available};
use tandem_e2e::{
    ClientOptions, Nginx, ServerOptions, StockYjsClient, TestCa, TestClient, TestServer, Validity,
    nginx_binary,
};

const TEST: &str = "the_editor_a_stock_yjs_client_and_a_tandem_client_edit_through_nginx";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_a_stock_yjs_client_and_a_tandem_client_edit_through_nginx() {
    let Some(nginx) = nginx_binary(TEST) else { return };
    let Some(yjs) = StockYjsClient::detect(TEST) else { return };
    if !tmux_available(TEST) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let files =
        ca.issue(&["localhost"], Validity::Current).unwrap().write(dir.path(), &ca).unwrap();
    let server = TestServer::start(ServerOptions {
        args: vec!["--trust-proxy".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let proxy = Nginx::start(&nginx, server.addr(), &files).await.unwrap();
    let base = format!("wss://localhost:{}", proxy.addr.port());
    let url = format!("{base}/proxied");

    let options =
        ClientOptions { ca_cert: Some(files.ca.clone()), durable: true, ..Default::default() };
    let mut ada = TestClient::connect_synced(&url, options).await.unwrap();
    ada.set_presence("ada", None).await.unwrap();
    let ca_arg = files.ca.to_str().unwrap();
    let args = [url.as_str(), "--name", "eve", "--ca-cert", ca_arg].map(str::to_owned);
    let eve = Pane::start("eve", &dir.path().join("eve"), &args).unwrap();
    eve.wait_for(&["connected · 2 here"]);
    eve.type_text("typed in the editor ✍️");
    ada.wait_until("the editor's text", |c| c.text().contains("typed in the editor ✍️"))
        .await
        .unwrap();

    let text = yjs.trusting(&files.ca).edit_beside(&mut ada, &base, "proxied").await.unwrap();
    assert!(text.contains("[yan 0]") && text.contains("typed in the editor ✍️"), "{text}");
    ada.wait_durable().await.unwrap();
    eve.wait_for(&["<yan-done>", "<ada-done>"]);

    // Durable on the server behind the proxy; its log names the client nginx forwarded.
    assert_eq!(server.get("/api/docs/proxied/text").await.unwrap().1, text);
    assert!(server.log().contains("\"peer\":\"Some(127.0.0.1 via 127.0.0.1:"), "{}", server.log());
}
