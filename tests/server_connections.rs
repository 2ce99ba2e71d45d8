//! Connections that never finish or never speak (issue 18 item 4): handshakes that stall must
//! not use up the server's file descriptors, and a websocket that stops answering is closed.

use std::net::SocketAddr;
use std::time::Duration;

use tandem_e2e::{ClientOptions, Closed, ServerOptions, TestCa, TestClient, TestServer, Validity};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Stalled handshakes opened against each server: more than the server's descriptors.
const STALLED: usize = 1_100;
/// The server's limit on open files: far fewer than [`STALLED`].
const SERVER_OPEN_FILES: u64 = 256;

/// Opens `count` connections to `addr` that start a request (or, for TLS, say nothing) and
/// never finish it. Connections the server already closed are kept too: they cost it nothing.
async fn stall(addr: SocketAddr, count: usize, tls: bool) -> Vec<TcpStream> {
    let mut stalled = Vec::with_capacity(count);
    for _ in 0..count {
        // A connect that hangs means the server stopped accepting: it is locked out already.
        let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr));
        let Ok(connected) = connect.await else { break };
        let Ok(mut tcp) = connected else { continue };
        if !tls {
            let _ = tcp.write_all(b"GET /doc HTTP/1.1\r\nHost: localhost\r\n").await;
        }
        stalled.push(tcp);
    }
    stalled
}

/// 1,100 handshakes that never finish, against a server allowed 256 open files and a handshake
/// timeout far longer than the test: a client that comes after them still connects at once,
/// edits, and `/healthz` answers. On plain TCP and on TLS.
#[tokio::test]
async fn stalled_handshakes_do_not_lock_out_a_client() {
    // The test holds 1,100 sockets itself.
    rlimit::increase_nofile_limit(4 * STALLED as u64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let files =
        ca.issue(&["localhost"], Validity::Current).unwrap().write(dir.path(), &ca).unwrap();
    for tls in [None, Some(files)] {
        let server = TestServer::start(ServerOptions {
            args: vec!["--handshake-timeout-secs".into(), "600".into()],
            max_open_files: Some(SERVER_OPEN_FILES),
            tls: tls.clone(),
            ..ServerOptions::default()
        })
        .await
        .unwrap();
        let stalled = stall(server.addr(), STALLED, tls.is_some()).await;
        assert!(stalled.len() > SERVER_OPEN_FILES as usize, "{} connected", stalled.len());

        let options = ClientOptions {
            ca_cert: tls.as_ref().map(|files| files.ca.clone()),
            durable: true,
            ..ClientOptions::default()
        };
        let url = server.ws_url("doc");
        let connect = TestClient::connect_synced(&url, options);
        let mut client = tokio::time::timeout(Duration::from_secs(15), connect)
            .await
            .unwrap_or_else(|_| panic!("locked out (tls: {}):\n{}", tls.is_some(), server.log()))
            .unwrap();
        client.insert(0, "still served").await.unwrap();
        client.wait_durable().await.unwrap();
        assert_eq!(server.get("/healthz").await.unwrap(), (200, "ok\n".into()));
        assert_eq!(server.get("/api/docs/doc/text").await.unwrap().1, "still served");
        let log = server.log();
        assert!(!log.contains("Too many open files"), "{log}");
        drop(stalled);
    }
}

/// With `--idle-timeout-secs 1`: a websocket that answers the server's pings stays open while
/// it sends nothing; one that stops reading (so answers no ping) is closed with 1001.
#[tokio::test]
async fn silent_websockets_are_closed_and_quiet_ones_are_not() {
    let server = TestServer::start(ServerOptions {
        args: vec!["--idle-timeout-secs".into(), "1".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let url = server.ws_url("quiet");
    let mut quiet = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    let mut frozen = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    // Reading answers pings (tungstenite queues the pong as it reads the ping).
    let listen = async {
        let until = tokio::time::Instant::now() + Duration::from_secs(4);
        while tokio::time::Instant::now() < until {
            quiet.pump(Duration::from_millis(100)).await.unwrap();
        }
    };
    listen.await;
    assert_eq!(quiet.closed(), None);
    // Its close frame may be lost: answering the pings queued before it hits a closed socket.
    match frozen.wait_closed().await.unwrap() {
        Closed::Frame(code, reason) => {
            assert_eq!(code, 1001, "{reason}");
            assert!(reason.contains("silent"), "{reason}");
        }
        Closed::Dropped(_) => {}
        other => panic!("{other:?}"),
    }
    let log = server.log();
    let closed = log.lines().filter(|line| line.contains("pings unanswered")).count();
    assert_eq!(closed, 1, "{log}");
    quiet.insert(0, "still here").await.unwrap();
    let reader = TestClient::connect_synced(&url, ClientOptions::default()).await.unwrap();
    assert_eq!(reader.text(), "still here");
}
