//! Durability under `kill -9`: every update the server confirmed is there after a restart.

use std::time::Duration;

use tandem_e2e::{ClientOptions, ServerOptions, TestClient, TestServer, now_ms};

/// Makes `n` edits, each appending a numbered marker `<i>`; returns their frames.
fn edits(writer: &mut TestClient, sent: &mut usize, n: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for _ in 0..n {
        let end = writer.client().document().len_chars();
        let marker = format!("<{sent}>");
        frames.extend(writer.client_mut().replace(end..end, &marker, now_ms()).unwrap());
        *sent += 1;
    }
    frames
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
        let frames = edits(&mut writer, &mut sent, 50);
        writer.send_frames(frames).await.unwrap();
        writer.pump(Duration::from_millis(1)).await.unwrap();
        if writer.client().unconfirmed_count() < sent && sent >= 1_000 {
            break;
        }
        assert!(sent < 100_000, "the server never confirmed anything");
    }
    let frames = edits(&mut writer, &mut sent, 500);
    writer.send_frames(frames).await.unwrap();
    server.kill();
    // Confirmations that reached the socket before the kill still count: drain them.
    let _ = writer.wait_closed().await;
    let confirmed = sent - writer.client().unconfirmed_count();
    eprintln!("sent {sent} updates, {confirmed} confirmed durable before SIGKILL");

    let server = server.restart().await.unwrap();
    let reader = TestClient::connect_synced(&server.ws_url("crash"), ClientOptions::default())
        .await
        .unwrap();
    let text = reader.text();
    for i in 0..confirmed {
        assert!(text.contains(&format!("<{i}>")), "confirmed update {i} lost");
    }
    // Nothing is invented either.
    let survived = text.matches('<').count();
    eprintln!("{survived} updates survived");
    assert!(survived >= confirmed && survived <= sent, "{survived} of {sent}");
}
