//! Durability under `kill -9`: every update the server confirmed is there after a restart.

use std::time::Duration;

use tandem_crdt::Client;
use tandem_crdt::mux::MUX_PATH;
use tandem_e2e::{ClientOptions, MuxTestClient, ServerOptions, TestClient, TestServer, now_ms};

/// Makes `n` edits, each appending a numbered marker `<i>`; returns their frames.
fn edits(writer: &mut Client, sent: &mut usize, n: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for _ in 0..n {
        let end = writer.document().len_chars();
        let marker = format!("<{sent}>");
        frames.extend(writer.replace(end..end, &marker, now_ms()).unwrap());
        *sent += 1;
    }
    frames
}

/// Checks that the restarted `server`'s `doc` holds the first `confirmed` of the `sent`
/// markers, and none that was never sent.
async fn check_survivors(server: &TestServer, doc: &str, confirmed: usize, sent: usize) {
    let reader =
        TestClient::connect_synced(&server.ws_url(doc), ClientOptions::default()).await.unwrap();
    let text = reader.text();
    for i in 0..confirmed {
        assert!(text.contains(&format!("<{i}>")), "{doc}: confirmed update {i} lost");
    }
    let survived = text.matches('<').count();
    eprintln!("{doc}: {survived} updates survived");
    assert!(survived >= confirmed && survived <= sent, "{doc}: {survived} of {sent}");
}

#[tokio::test]
async fn sigkill_loses_no_confirmed_update() {
    let mut server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("crash");
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let mut writer = TestClient::connect_synced(&url, durable).await.unwrap();

    // Stream edits in bursts; once some are confirmed, send one more burst and kill the
    // server while it is still storing it.
    let mut sent = 0;
    loop {
        let frames = edits(writer.client_mut(), &mut sent, 50);
        writer.send_frames(frames).await.unwrap();
        writer.pump(Duration::from_millis(1)).await.unwrap();
        if writer.client().unconfirmed_count() < sent && sent >= 1_000 {
            break;
        }
        assert!(sent < 100_000, "the server never confirmed anything");
    }
    let frames = edits(writer.client_mut(), &mut sent, 500);
    writer.send_frames(frames).await.unwrap();
    server.kill();
    // Confirmations that reached the socket before the kill still count: drain them.
    let _ = writer.wait_closed().await;
    let confirmed = sent - writer.client().unconfirmed_count();
    eprintln!("sent {sent} updates, {confirmed} confirmed durable before SIGKILL");

    let server = server.restart().await.unwrap();
    check_survivors(&server, "crash", confirmed, sent).await;
}

/// Issue 16: the same over one multiplexed socket, three documents at once.
#[tokio::test]
async fn sigkill_loses_no_update_confirmed_over_a_multiplexed_socket() {
    let mut server = TestServer::start(ServerOptions::default()).await.unwrap();
    let docs = ["team/a", "team/b", "team/c"];
    let url = format!("ws://{}{MUX_PATH}", server.addr());
    let mut mux = MuxTestClient::connect(&url, true).await.unwrap();
    for doc in docs {
        mux.open(doc).await.unwrap();
    }
    for doc in docs {
        mux.wait_synced(doc).await.unwrap();
    }
    let unconfirmed = |mux: &MuxTestClient, doc: &str| mux.docs[doc].client.unconfirmed_count();
    let mut sent = [0; 3];
    loop {
        for (doc, sent) in docs.iter().zip(&mut sent) {
            let frames = edits(&mut mux.docs.get_mut(*doc).unwrap().client, sent, 20);
            mux.send_frames(doc, frames).await.unwrap();
        }
        mux.pump(Duration::from_millis(1)).await.unwrap();
        let confirmed_in_each = docs.iter().zip(sent).all(|(doc, n)| unconfirmed(&mux, doc) < n);
        if confirmed_in_each && sent.iter().sum::<usize>() >= 600 {
            break;
        }
        assert!(sent[0] < 100_000, "the server never confirmed anything");
    }
    for (doc, sent) in docs.iter().zip(&mut sent) {
        let frames = edits(&mut mux.docs.get_mut(*doc).unwrap().client, sent, 200);
        mux.send_frames(doc, frames).await.unwrap();
    }
    server.kill();
    let _ = mux.wait_closed().await;

    let server = server.restart().await.unwrap();
    for (doc, sent) in docs.iter().zip(sent) {
        let confirmed = sent - unconfirmed(&mux, doc);
        eprintln!("{doc}: sent {sent} updates, {confirmed} confirmed durable before SIGKILL");
        check_survivors(&server, doc, confirmed, sent).await;
    }
}
