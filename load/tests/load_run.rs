//! Short load runs against real servers: an in-process relay built from tandem-crdt's server
//! session (always available), the stock node y-websocket server and Hocuspocus (bench/) when
//! node is installed, and y-sweet when scripts/setup-y-sweet.sh has installed it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tandem_crdt::{
    Document, DocumentConfig, Extensions, PeerAccess, Presence, SessionConfig, SyncSession,
};
use tandem_load::{Args, Report, run};
use tandem_require::require_or_skip;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// One document of the relay: the replica and every connection's outbox.
struct Room {
    doc: Document,
    presence: Presence,
    peers: HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
}

type Rooms = Arc<Mutex<HashMap<String, Room>>>;

/// A minimal y-websocket relay: applies updates, forwards them to the other peers, and (with
/// `?ext=durable`) confirms each one at once. Its rooms outlive a "crash" when reused. A
/// `forgetful` relay ignores the SyncStep2 that reconnecting clients send, so what it lost in a
/// crash stays lost: a broken server for the verifier to catch.
struct Relay {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(addr: SocketAddr, rooms: Rooms, forgetful: bool) -> Relay {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut next_id = 0u64;
            let mut accept_stopped = stopped.clone();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        next_id += 1;
                        tokio::spawn(serve(stream, rooms.clone(), next_id, stopped.clone(), forgetful));
                    }
                    _ = accept_stopped.changed() => return,
                }
            }
        });
        Relay { addr, stop, task }
    }

    /// Drops every connection and stops listening, like `kill -9`.
    async fn crash(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    rooms: Rooms,
    id: u64,
    mut stopped: watch::Receiver<bool>,
    forgetful: bool,
) {
    let mut path = String::new();
    // The callback's signature is tungstenite's; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
        path = req.uri().to_string();
        Ok(resp)
    })
    .await
    else {
        return;
    };
    let (name, query) = path.trim_start_matches('/').split_once('?').unwrap_or((&path[1..], ""));
    let name = name.to_owned();
    let mut session = SyncSession::new(SessionConfig::server(
        if query.contains("ext=durable") { Extensions::Tandem } else { Extensions::Stock },
        PeerAccess::ReadWrite,
    ));
    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
    let opening = {
        let mut rooms = rooms.lock().unwrap();
        let room = rooms.entry(name.clone()).or_insert_with(|| Room {
            doc: Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) })
                .unwrap(),
            presence: Presence::new(1),
            peers: HashMap::new(),
        });
        room.peers.insert(id, out_tx.clone());
        session.open(&room.doc, &room.presence).unwrap()
    };
    let (mut tx, mut rx) = ws.split();
    for frame in opening {
        let _ = out_tx.send(frame);
    }
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            out = out_rx.recv() => match out {
                Some(frame) => if tx.send(WsMessage::Binary(frame.into())).await.is_err() { break },
                None => break,
            },
            frame = rx.next() => {
                let Some(Ok(WsMessage::Binary(bytes))) = frame else {
                    if matches!(frame, Some(Ok(_))) { continue }
                    break;
                };
                let resync = bytes.first() == Some(&0) && bytes.get(1) == Some(&1);
                if forgetful && resync {
                    continue;
                }
                let mut rooms = rooms.lock().unwrap();
                let room = rooms.get_mut(&name).unwrap();
                let Ok(incoming) = session.receive(&bytes, &mut room.doc, &mut room.presence, 0) else { break };
                for reply in incoming.replies {
                    let _ = out_tx.send(reply);
                }
                for update in &incoming.applied_updates {
                    let frame = SyncSession::update_frame(update);
                    for (peer, outbox) in &room.peers {
                        if *peer != id {
                            let _ = outbox.send(frame.clone());
                        }
                    }
                }
                if let Some(frame) = incoming.update_seq.and_then(|seq| session.durable_frame(seq, &room.doc)) {
                    let _ = out_tx.send(frame);
                }
            }
        }
    }
    if let Some(room) = rooms.lock().unwrap().get_mut(&name) {
        room.peers.remove(&id);
    }
}

fn args(url: &str, extra: &[&str]) -> Args {
    let mut argv = vec!["tandem-load", "--url", url];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv).unwrap()
}

fn assert_healthy(report: &Report) {
    assert!(report.sent_updates > 0, "{report:#?}");
    assert!(report.received_updates > 0, "{report:#?}");
    assert!(report.latency.count > 0, "{report:#?}");
    assert!(report.latency.p99_ms < 2000.0, "{report:#?}");
    assert_eq!(report.errors, 0, "{report:#?}");
    assert_eq!(report.connections.synced, report.connections.clients, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_load_against_the_in_process_relay() {
    let relay = Relay::start("127.0.0.1:0".parse().unwrap(), Rooms::default(), false).await;
    let url = format!("ws://{}", relay.addr);
    let flags = ["--docs", "2", "--clients-per-doc", "3", "--rate", "20", "--duration", "2"];
    let extra = ["--drain", "0.5", "--ext-durable", "--verify-durable"];
    let report =
        run(args(&url, &[&flags[..], &extra[..]].concat()).validate().unwrap()).await.unwrap();
    assert_healthy(&report);
    // Every update reaches the two other clients of its document, and the relay echoes nothing.
    assert!(report.received_updates >= report.sent_updates, "{report:#?}");
    let durable = report.durable.as_ref().unwrap();
    assert!(durable.confirmed_total >= report.sent_updates, "{report:#?}");
    let verify = report.verify.as_ref().unwrap();
    assert!(verify.ok && verify.confirmed_checked >= report.sent_updates, "{report:#?}");
    relay.crash().await;
}

/// Runs a 3 s load, crashes the relay after 1 s and restarts it (with its rooms, or with empty
/// rooms as a server that lost its data would).
async fn load_through_a_crash(keep_rooms: bool) -> Report {
    let rooms = Rooms::default();
    let relay = Relay::start("127.0.0.1:0".parse().unwrap(), rooms.clone(), false).await;
    let addr = relay.addr;
    let url = format!("ws://{addr}");
    let flags = ["--clients-per-doc", "4", "--rate", "20", "--duration", "3", "--drain", "1"];
    let config = args(&url, &[&flags[..], &["--ext-durable", "--verify-durable"][..]].concat())
        .validate()
        .unwrap();
    let load = tokio::spawn(run(config));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    relay.crash().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let relay = if keep_rooms {
        Relay::start(addr, rooms, false).await
    } else {
        Relay::start(addr, Rooms::default(), true).await
    };
    let report = load.await.unwrap().unwrap();
    relay.crash().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_and_verifies_after_a_server_crash() {
    let report = load_through_a_crash(true).await;
    assert!(report.connections.reconnects >= 4, "{report:#?}");
    let verify = report.verify.as_ref().unwrap();
    assert!(verify.ok && verify.confirmed_checked > 0 && verify.missing == 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_catches_a_server_that_lost_confirmed_updates() {
    let report = load_through_a_crash(false).await;
    let verify = report.verify.as_ref().unwrap();
    assert!(!verify.ok && verify.missing > 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_urls_spread_clients_and_measure_cross_node_latency() {
    // Two relays sharing their rooms: two nodes of one cluster.
    let rooms = Rooms::default();
    let a = Relay::start("127.0.0.1:0".parse().unwrap(), rooms.clone(), false).await;
    let b = Relay::start("127.0.0.1:0".parse().unwrap(), rooms, false).await;
    let (url_a, url_b) = (format!("ws://{}", a.addr), format!("ws://{}", b.addr));
    let flags = ["--url", &url_b, "--clients-per-doc", "4", "--rate", "20", "--duration", "1.5"];
    let report =
        run(args(&url_a, &[&flags[..], &["--drain", "0.5"][..]].concat()).validate().unwrap())
            .await
            .unwrap();
    assert_healthy(&report);
    assert_eq!(report.urls, [url_a, url_b]);
    let cross = report.cross_node_latency.as_ref().unwrap();
    // Of the three readers of each keystroke, two sit on the other node.
    assert!(cross.count > 0 && cross.count < report.latency.count, "{report:#?}");
    a.crash().await;
    b.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reconnection_verify_sent_counts_what_the_server_lost() {
    let rooms = Rooms::default();
    let relay = Relay::start("127.0.0.1:0".parse().unwrap(), rooms, false).await;
    let addr = relay.addr;
    let flags = ["--clients-per-doc", "3", "--rate", "20", "--duration", "2", "--drain", "0.5"];
    let extra = ["--reconnect", "never", "--verify-sent"];
    let config =
        args(&format!("ws://{addr}"), &[&flags[..], &extra[..]].concat()).validate().unwrap();
    let load = tokio::spawn(run(config));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    relay.crash().await;
    // Back with nothing: a server that kept its documents in memory only.
    let relay = Relay::start(addr, Rooms::default(), true).await;
    let report = load.await.unwrap().unwrap();
    relay.crash().await;
    assert_eq!(report.connections.reconnects, 0, "{report:#?}");
    let verify = report.verify.as_ref().unwrap();
    assert!(verify.sent_checked > 0, "{report:#?}");
    assert_eq!(verify.sent_missing, verify.sent_checked, "{report:#?}");
    // Nothing was confirmed (no --ext-durable), so nothing confirmed is missing.
    assert!(verify.ok && verify.confirmed_checked == 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_a_json_report() {
    let relay = Relay::start("127.0.0.1:0".parse().unwrap(), Rooms::default(), false).await;
    let url = format!("ws://{}", relay.addr);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem-load"))
        .args(["--url", &url, "--clients-per-doc", "3", "--rate", "20", "--duration", "1"])
        .args(["--drain", "0.3", "--json"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["sent_updates"].as_u64().unwrap() > 0, "{json}");
    assert!(json["latency"]["p99_ms"].as_f64().unwrap() > 0.0, "{json}");
    assert_eq!(json["connections"]["synced"], 3, "{json}");
    assert!(json["durable"].is_null(), "{json}");
    relay.crash().await;
}

/// Starts the node script `script` (a path under bench/) on a free port; `None` after
/// `require_or_skip` when it cannot run here.
async fn start_node_server(test: &str, script: &str) -> Option<(tokio::process::Child, String)> {
    let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench").join(script);
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/node_modules");
    if !server.exists() || !installed.exists() {
        let reason = format!("{} cannot run (run scripts/setup-node.sh)", server.display());
        require_or_skip(test, &reason);
        return None;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new("node")
        .arg(&server)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(child) = child else {
        require_or_skip(test, "node is not installed");
        return None;
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some((child, format!("ws://127.0.0.1:{port}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_load_against_the_node_y_websocket_server() {
    const TEST: &str = "two_second_load_against_the_node_y_websocket_server";
    let script = "node_modules/@y/websocket-server/src/server.js";
    let Some((_child, url)) = start_node_server(TEST, script).await else { return };
    let flags = ["--docs", "2", "--clients-per-doc", "3", "--rate", "20", "--duration", "2"];
    let report =
        run(args(&url, &[&flags[..], &["--drain", "0.5"][..]].concat()).validate().unwrap())
            .await
            .unwrap();
    assert_healthy(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_load_against_hocuspocus() {
    const TEST: &str = "two_second_load_against_hocuspocus";
    let Some((_child, url)) = start_node_server(TEST, "hocuspocus-server.mjs").await else {
        return;
    };
    let flags = ["--docs", "2", "--clients-per-doc", "3", "--rate", "20", "--duration", "2"];
    let extra =
        ["--drain", "0.5", "--protocol", "hocuspocus", "--verify-sent", "--seed-updates", "50"];
    let report =
        run(args(&url, &[&flags[..], &extra[..]].concat()).validate().unwrap()).await.unwrap();
    assert_healthy(&report);
    let verify = report.verify.as_ref().unwrap();
    assert!(verify.sent_checked > 0 && verify.sent_missing == 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_durable_load_against_tandem_server() {
    let Some(binary) = std::env::var_os("TANDEM_SERVER_BIN").map(PathBuf::from) else {
        return require_or_skip(
            "two_second_durable_load_against_tandem_server",
            "set TANDEM_SERVER_BIN to a tandem-server binary (scripts/test.sh does)",
        );
    };
    let data = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let _child = tokio::process::Command::new(binary)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("ws://127.0.0.1:{port}");
    let flags = ["--docs", "2", "--clients-per-doc", "3", "--rate", "20", "--duration", "2"];
    let extra = ["--drain", "1", "--ext-durable", "--verify-durable"];
    let report =
        run(args(&url, &[&flags[..], &extra[..]].concat()).validate().unwrap()).await.unwrap();
    assert_healthy(&report);
    assert!(report.durable.as_ref().unwrap().confirmed_total > 0, "{report:#?}");
    assert!(report.verify.as_ref().unwrap().ok, "{report:#?}");
}

/// Where scripts/setup-y-sweet.sh installs y-sweet.
fn y_sweet_binary() -> PathBuf {
    let tools = std::env::var_os("TANDEM_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
        cache.join("tandem-tools")
    });
    tools.join("bin/y-sweet")
}

/// y-sweet re-encodes every update through its own replica (yrs 0.19) instead of relaying the
/// bytes, and drops frames to a connection whose queue (1,024 frames) is full: the probe still
/// finds each keystroke, 2,000 seeded updates still settle, and every sent update is in the
/// final state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_second_load_against_y_sweet() {
    const TEST: &str = "two_second_load_against_y_sweet";
    let binary = y_sweet_binary();
    if !binary.exists() {
        let reason = format!("{} is missing (run scripts/setup-y-sweet.sh)", binary.display());
        return require_or_skip(TEST, &reason);
    }
    let store = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let _child = tokio::process::Command::new(binary)
        .arg("serve")
        .arg(store.path())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("ws://127.0.0.1:{port}");
    let flags = ["--docs", "2", "--clients-per-doc", "3", "--rate", "20", "--duration", "2"];
    let extra =
        ["--drain", "0.5", "--protocol", "y-sweet", "--verify-sent", "--seed-updates", "2000"];
    let report =
        run(args(&url, &[&flags[..], &extra[..]].concat()).validate().unwrap()).await.unwrap();
    assert_healthy(&report);
    assert!(report.create_s.is_some(), "{report:#?}");
    let verify = report.verify.as_ref().unwrap();
    assert!(verify.sent_checked > 0 && verify.sent_missing == 0, "{report:#?}");
}
