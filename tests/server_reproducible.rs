//! What tandem-server stores and relays is exactly what it integrated (issue 18, item 2): after
//! every frame a writer sends, the live server, a connected client, a fresh client and the
//! restarted server hold the same text, and a frame the server refuses changes nothing.
//!
//! The differential fuzz test drives stock Yjs clients (npm `yjs` + `y-websocket` on node,
//! `tests/js/yjs-observer.mjs`) and skips without node; `TANDEM_FUZZ_FRAMES_E2E` sets how many
//! mutated frames it sends (default 150). Any disagreement or Yjs error fails it, with the
//! frame in hex: the classes it found have their minimal frames in `crdt/tests/reproducible.rs`.

#[path = "../crdt/tests/mutation/mod.rs"]
mod mutation;

use std::time::Duration;

use mutation::mutate;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_crdt::{Document, DocumentConfig, Message, SyncSession};
use tandem_e2e::{ClientOptions, ServerOptions, StockYjsClient, TestClient, TestServer};
use tokio::io::AsyncWriteExt;

/// The issue's sync Update payload: an item whose left and right origins are the same unit.
/// The live server placed its text one way, fresh replicas another ("liglo worl" against
/// "lligo worl").
const ISSUE_PAYLOAD: &str = "010ae80700010107636f6e74656e740384e80701036c6c6f84e807050620776f726c64c1e80704e8070402c4e8070ce80705026967c4e80704e8070b015ac1e8070fe8070b012801046d6574610161017d01c6e80701e8070201620474727565c6e80704e8070f0162046e756c6c01e8070300020b021001";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The document's text on the server (empty when it does not exist).
async fn server_text(server: &TestServer, doc: &str) -> String {
    let (status, body) = server.get(&format!("/api/docs/{doc}/text")).await.unwrap();
    match status {
        200 => body,
        404 => String::new(),
        _ => panic!("GET text: {status} {body}"),
    }
}

/// Sends `update` as an Update frame, then a query the server answers, and waits for the
/// answer or the close: either way the server has handled the update. Returns the close code,
/// if the server closed the connection.
async fn send_update(client: &mut TestClient, update: &[u8]) -> Option<u16> {
    // Read what is already on its way (other peers' awareness), so that the next frame to
    // arrive is the answer.
    while client.pump(Duration::from_millis(30)).await.unwrap() {}
    let frames = vec![SyncSession::update_frame(update), Message::QueryAwareness.encode()];
    let seen = client.frames_received();
    client.send_frames(frames).await.unwrap();
    client
        .wait_until("the server's answer", |c| c.frames_received() > seen || c.closed().is_some())
        .await
        .unwrap();
    client.closed().map(|closed| closed.code().unwrap_or(0))
}

#[tokio::test]
async fn the_issue_payload_is_refused_and_changes_nothing() {
    let mut server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("repro");
    let mut alice = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    let mut mallory = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    let closed = send_update(&mut mallory, &hex(ISSUE_PAYLOAD)).await;

    let live = server_text(&server, "repro").await;
    // Whatever reached alice has arrived once a frame sent after it does.
    alice.insert(0, "").await.unwrap();
    alice.pump(Duration::from_millis(300)).await.unwrap();
    let fresh = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap().text();
    server.stop().await.unwrap();
    let restarted = server.restart().await.unwrap();
    let reloaded = server_text(&restarted, "repro").await;
    let texts = [live, alice.text(), fresh, reloaded];
    assert!(texts.iter().all(|t| *t == texts[0]), "live, connected, fresh, restarted: {texts:?}");
    assert_eq!(closed, Some(1007), "refused as invalid payload; texts {texts:?}");
    assert_eq!(texts[0], "", "a refused frame changes nothing");
}

/// A stock Yjs node process holding replicas ([`yjs-observer.mjs`]).
struct Observer {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    answers: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
}

impl Observer {
    fn start(server_url: &str) -> Self {
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
        Self { child, stdin, answers }
    }

    /// Runs `command ROOM` and returns the replica's text and the Yjs errors logged so far.
    async fn ask(&mut self, command: &str, room: &str) -> (String, u64) {
        self.stdin.write_all(format!("{command} {room}\n").as_bytes()).await.unwrap();
        let answer = tokio::time::timeout(tandem_e2e::TIMEOUT, self.answers.recv())
            .await
            .expect("the Yjs observer did not answer")
            .expect("the Yjs observer exited");
        assert_eq!(answer["ok"], true, "{command} {room}: {answer}");
        let text = answer["text"].as_str().unwrap_or_default().to_owned();
        (text, answer["errors"].as_u64().unwrap_or(0))
    }

    /// The kept replica's text once it equals `expected`, or after a second.
    async fn text_like(&mut self, room: &str, expected: &str) -> (String, u64) {
        for _ in 0..20 {
            let answer = self.ask("text", room).await;
            if answer.0 == expected {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.ask("text", room).await
    }
}

/// Real updates: two tandem clients typing, deleting and replacing, from a shared base.
fn corpus() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut a = Document::new(DocumentConfig::new(1000)).unwrap();
    let mut b = Document::new(DocumentConfig::new(2000)).unwrap();
    let base = a.insert(0, "hello world", 0).unwrap();
    b.apply_update(&base).unwrap();
    let updates = vec![
        a.delete(0..2, 1).unwrap(),
        a.insert(3, "ig", 2).unwrap(),
        a.replace(5..7, "Z😀", 3).unwrap(),
        b.insert(6, "big 中文 ", 1).unwrap(),
        b.delete(1..4, 2).unwrap(),
        a.encode_state(),
        b.encode_diff(&Document::new(DocumentConfig::new(3)).unwrap().state_vector()).unwrap(),
    ];
    (base, updates)
}

const FUZZ: &str = "fuzzed_frames_keep_stock_yjs_clients_and_the_server_in_agreement";

#[tokio::test]
async fn fuzzed_frames_keep_stock_yjs_clients_and_the_server_in_agreement() {
    if StockYjsClient::detect(FUZZ).is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{FUZZ} needs node under CI");
        return;
    }
    let frames: usize =
        std::env::var("TANDEM_FUZZ_FRAMES_E2E").ok().and_then(|n| n.parse().ok()).unwrap_or(150);
    let mut server = TestServer::start(ServerOptions::default()).await.unwrap();
    let mut yjs = Observer::start(&format!("ws://{}", server.addr()));
    let (base, updates) = corpus();
    let mut rng = StdRng::seed_from_u64(18);
    let (mut accepted, mut rejected) = (0, 0);
    let mut lives = Vec::new();
    for trial in 0..frames {
        let room = format!("fz{trial}");
        let mut writer =
            TestClient::connect_synced(&server.ws_url(&room), ClientOptions::default())
                .await
                .unwrap();
        assert_eq!(send_update(&mut writer, &base).await, None);
        let (before, _) = yjs.ask("join", &room).await;
        let original = &updates[rng.random_range(0..updates.len())];
        let frame = mutate(&mut rng, original);
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        let closed = send_update(&mut writer, &frame).await;
        let live = server_text(&server, &room).await;
        let (connected, _) = yjs.text_like(&room, &live).await;
        let (fresh, errors) = yjs.ask("fresh", &room).await;
        match closed {
            Some(code) => {
                rejected += 1;
                assert_eq!(code, 1007, "trial {trial}, frame {hex}");
                assert_eq!(live, before, "trial {trial}: a refused frame changed the text: {hex}");
            }
            None => accepted += 1,
        }
        let texts = [&live, &connected, &fresh];
        assert!(
            texts.iter().all(|text| *text == &live),
            "trial {trial}: live, connected and fresh stock Yjs clients disagree: {texts:?}, \
             frame {hex}"
        );
        assert_eq!(errors, 0, "trial {trial}: stock Yjs could not apply what it got: {hex}");
        lives.push((room, live));
    }
    server.stop().await.unwrap();
    let restarted = server.restart().await.unwrap();
    for (room, live) in &lives {
        assert_eq!(server_text(&restarted, room).await, *live, "{room} after a restart");
    }
    drop(yjs.stdin);
    let _ = yjs.child.wait().await;
    eprintln!("{frames} frames: {accepted} accepted, {rejected} rejected, no disagreement");
    assert!(accepted > frames / 20, "enough mutations apply to test something");
}
