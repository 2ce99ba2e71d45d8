//! The multiplexed connection against an in-test server speaking [`tandem_crdt::mux`].

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_connect::{Connector, Problem};
use tandem_crdt::mux::{MUX_VERSION, MuxMessage, encode_frame};
use tokio::sync::mpsc;
use tokio_tungstenite::accept_hdr_async;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use super::{Endpoint, Multiplexer};
use crate::collab::{NetEvent, NetHandle};

const WAIT: Duration = Duration::from_secs(5);
/// Longer than the first backoff after a reset (at most 375 ms).
const BEYOND_BACKOFF: Duration = Duration::from_millis(800);

/// One connection accepted by the fake server.
struct Conn {
    /// The request's path and query.
    path: String,
    /// Binary messages from the client.
    from_client: std_mpsc::Receiver<Vec<u8>>,
    /// Messages to the client; `None` drops the socket without a close.
    to_client: mpsc::UnboundedSender<Option<Vec<u8>>>,
}

impl Conn {
    fn recv(&self) -> Vec<u8> {
        self.from_client.recv_timeout(WAIT).expect("a message from the client")
    }

    fn send(&self, message: &MuxMessage) {
        self.send_raw(message.encode());
    }

    fn send_raw(&self, bytes: Vec<u8>) {
        self.to_client.send(Some(bytes)).unwrap();
    }

    fn drop_socket(&self) {
        self.to_client.send(None).unwrap();
    }
}

/// A loopback server: every connection to `/api/mux` first gets `greeting`; other paths get
/// nothing first. Accepted connections come out of the receiver.
fn fake_server(greeting: Vec<u8>) -> (Endpoint, std_mpsc::Receiver<Conn>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap().to_string();
    let (conns, accepted) = std_mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let mut path = String::new();
                // The callback's signature is tungstenite's; its error type is not ours to shrink.
                #[allow(clippy::result_large_err)]
                let callback = |request: &Request, response: Response| {
                    path = request.uri().to_string();
                    Ok(response)
                };
                let Ok(mut ws) = accept_hdr_async(tcp, callback).await else { continue };
                if path.starts_with("/api/mux") {
                    ws.send(WsMessage::Binary(greeting.clone().into())).await.unwrap();
                }
                let (from_tx, from_client) = std_mpsc::channel();
                let (to_client, mut to_rx) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
                if conns.send(Conn { path, from_client, to_client }).is_err() {
                    return;
                }
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            message = ws.next() => match message {
                                Some(Ok(WsMessage::Binary(bytes))) => {
                                    let _ = from_tx.send(bytes.to_vec());
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            },
                            out = to_rx.recv() => match out {
                                Some(Some(bytes)) => {
                                    if ws.send(WsMessage::Binary(bytes.into())).await.is_err() {
                                        return;
                                    }
                                }
                                _ => return,
                            },
                        }
                    }
                });
            }
        });
    });
    let endpoint = Endpoint { scheme: "ws".into(), server, token: Some("secret".into()) };
    (endpoint, accepted)
}

fn hello() -> Vec<u8> {
    MuxMessage::Hello { version: MUX_VERSION }.encode()
}

/// A client: its runtime, its multiplexer and every document's events.
struct Client {
    runtime: tokio::runtime::Runtime,
    mux: Multiplexer,
}

/// One document's handle and events.
struct Doc {
    handle: NetHandle,
    events: std_mpsc::Receiver<NetEvent>,
}

impl Doc {
    /// The next event other than `Connecting`.
    fn next(&self) -> NetEvent {
        loop {
            match self.events.recv_timeout(WAIT).expect("an event") {
                NetEvent::Connecting { .. } => {}
                event => return event,
            }
        }
    }

    fn connected(&self) -> u64 {
        match self.next() {
            NetEvent::Connected { epoch } => epoch,
            other => panic!("expected Connected, got {other:?}"),
        }
    }

    fn disconnected(&self) -> Problem {
        match self.next() {
            NetEvent::Disconnected { problem, .. } => problem,
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }

    fn quiet(&self) {
        let extra: Vec<NetEvent> =
            self.events.try_iter().filter(|e| !matches!(e, NetEvent::Connecting { .. })).collect();
        assert_eq!(extra, Vec::new());
    }
}

impl Client {
    fn new(endpoint: Endpoint) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mux = Multiplexer::spawn_in(runtime.handle(), endpoint, Connector::new(None).unwrap());
        Self { runtime, mux }
    }

    fn open(&self, doc: &str) -> Doc {
        let (tx, events) = std_mpsc::channel();
        let handle = self.mux.open(doc, move |event| {
            let _ = tx.send(event);
        });
        Doc { handle, events }
    }
}

fn frame(doc: &str, bytes: &[u8]) -> Vec<u8> {
    encode_frame(doc, bytes)
}

/// A server and a client with documents `team/a` and `team/b` open on one connection.
fn two_documents() -> (Client, Conn, std_mpsc::Receiver<Conn>, Doc, Doc) {
    let (endpoint, conns) = fake_server(hello());
    let client = Client::new(endpoint);
    let a = client.open("team/a");
    let b = client.open("team/b");
    let conn = conns.recv_timeout(WAIT).unwrap();
    assert_eq!(conn.path, "/api/mux?ext=durable&token=secret");
    (client, conn, conns, a, b)
}

#[test]
fn each_document_gets_its_own_epoch_and_frames() {
    let (_client, conn, conns, a, b) = two_documents();
    let (epoch_a, epoch_b) = (a.connected(), b.connected());
    assert_ne!(epoch_a, epoch_b);

    a.handle.send(epoch_a + 100, vec![9]);
    a.handle.send(epoch_a, vec![1, 2]);
    b.handle.send(epoch_b, vec![3]);
    assert_eq!(conn.recv(), frame("team/a", &[1, 2]), "a frame for another epoch is dropped");
    assert_eq!(conn.recv(), frame("team/b", &[3]));

    conn.send(&MuxMessage::Frame { doc: "team/b", frame: &[4, 5] });
    conn.send(&MuxMessage::Frame { doc: "team/unknown", frame: &[6] });
    assert_eq!(b.next(), NetEvent::Frame { epoch: epoch_b, bytes: vec![4, 5] });
    a.quiet();
    assert!(conns.try_recv().is_err(), "one socket for both documents");
}

#[test]
fn reset_reopens_one_document_and_leaves_the_others() {
    let (_client, conn, conns, a, b) = two_documents();
    let (epoch_a, epoch_b) = (a.connected(), b.connected());
    a.handle.reset(epoch_a, "malformed frame".into());
    let close = MuxMessage::Close { doc: "team/a", code: 1002, reason: "malformed frame" };
    assert_eq!(conn.recv(), close.encode());
    assert_eq!(a.disconnected(), Problem::Lost { detail: "malformed frame".into() });
    // The old session's messages still on their way, then its close from the server: the
    // session reopens only after that close (longer than the backoff here), and none of them
    // reaches the new one.
    conn.send(&MuxMessage::Frame { doc: "team/a", frame: &[42] });
    std::thread::sleep(BEYOND_BACKOFF);
    a.quiet();
    conn.send(&MuxMessage::Close { doc: "team/a", code: 1000, reason: "client left the document" });
    let reopened = a.connected();
    assert!(reopened > epoch_a, "{reopened} after {epoch_a}");
    a.quiet();

    a.handle.send(epoch_a, vec![1]);
    a.handle.send(reopened, vec![2]);
    assert_eq!(conn.recv(), frame("team/a", &[2]), "only the new session's frames go out");
    conn.send(&MuxMessage::Frame { doc: "team/b", frame: &[7] });
    assert_eq!(b.next(), NetEvent::Frame { epoch: epoch_b, bytes: vec![7] });
    b.quiet();
    assert!(conns.try_recv().is_err(), "the socket stayed");
}

#[test]
fn a_policy_close_refuses_that_document_only() {
    let (_client, conn, _conns, a, b) = two_documents();
    let (_, epoch_b) = (a.connected(), b.connected());
    conn.send(&MuxMessage::Close { doc: "team/a", code: 1008, reason: "no access" });
    assert_eq!(
        a.next(),
        NetEvent::Refused { problem: Problem::Denied { reason: "no access".into() } }
    );

    conn.send(&MuxMessage::Close { doc: "team/b", code: 1011, reason: "restarting" });
    let problem = b.disconnected();
    assert_eq!(problem, Problem::Closed { code: 1011, reason: "restarting".into() });
    let reopened = b.connected();
    assert!(reopened > epoch_b);
    conn.send(&MuxMessage::Frame { doc: "team/a", frame: &[1] });
    conn.send(&MuxMessage::Frame { doc: "team/b", frame: &[2] });
    assert_eq!(b.next(), NetEvent::Frame { epoch: reopened, bytes: vec![2] });
    a.quiet();
}

#[test]
fn a_lost_socket_disconnects_every_document_and_reconnects_them_with_new_epochs() {
    let (_client, conn, conns, a, b) = two_documents();
    let (epoch_a, epoch_b) = (a.connected(), b.connected());
    conn.drop_socket();
    a.disconnected();
    b.disconnected();
    let again = conns.recv_timeout(WAIT).unwrap();
    assert!(again.path.starts_with("/api/mux?"));
    let (new_a, new_b) = (a.connected(), b.connected());
    assert!(new_a > epoch_a.max(epoch_b) && new_b > epoch_a.max(epoch_b), "{new_a} {new_b}");
    a.handle.send(new_a, vec![1]);
    assert_eq!(again.recv(), frame("team/a", &[1]));
}

#[test]
fn dropping_a_handle_leaves_its_document() {
    let (_client, conn, _conns, a, b) = two_documents();
    let (_, epoch_b) = (a.connected(), b.connected());
    drop(a);
    assert_eq!(conn.recv(), MuxMessage::Close { doc: "team/a", code: 1000, reason: "" }.encode());
    b.handle.send(epoch_b, vec![1]);
    assert_eq!(conn.recv(), frame("team/b", &[1]));
}

#[test]
fn a_document_opened_again_waits_for_the_close_of_its_old_session() {
    let (client, conn, _conns, a, b) = two_documents();
    let _ = (a.connected(), b.connected());
    drop(a);
    assert_eq!(conn.recv(), MuxMessage::Close { doc: "team/a", code: 1000, reason: "" }.encode());
    let again = client.open("team/a");
    // A durable count of the old session arrives before its close: the new handle sees neither.
    conn.send(&MuxMessage::Frame { doc: "team/a", frame: &[7, 1] });
    std::thread::sleep(BEYOND_BACKOFF);
    again.quiet();
    conn.send(&MuxMessage::Close { doc: "team/a", code: 1000, reason: "client left the document" });
    let epoch = again.connected();
    conn.send(&MuxMessage::Frame { doc: "team/a", frame: &[8] });
    assert_eq!(again.next(), NetEvent::Frame { epoch, bytes: vec![8] });
}

#[test]
fn a_server_without_the_framing_gets_a_connection_per_document() {
    // A stock y-websocket server's first message: sync step 1 with an empty state vector.
    let (endpoint, conns) = fake_server(vec![0, 0, 1, 0]);
    let client = Client::new(endpoint);
    let a = client.open("team/a b");
    let mux = conns.recv_timeout(WAIT).unwrap();
    assert!(mux.path.starts_with("/api/mux?"));
    let own = conns.recv_timeout(WAIT).unwrap();
    assert_eq!(own.path, "/team/a%20b?ext=durable&token=secret");
    let epoch = a.connected();
    a.handle.send(epoch, vec![0, 1, 2]);
    assert_eq!(own.recv(), vec![0, 1, 2], "frames go unframed");
    own.send_raw(vec![0, 2, 0]);
    assert_eq!(a.next(), NetEvent::Frame { epoch, bytes: vec![0, 2, 0] });

    let b = client.open("team/b");
    let own_b = conns.recv_timeout(WAIT).unwrap();
    assert_eq!(own_b.path, "/team/b?ext=durable&token=secret", "and so does a later document");
    b.connected();
    drop(client.runtime);
}

#[test]
fn a_server_without_the_route_gets_a_connection_per_document() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap().to_string();
    let (paths, requested) = std_mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = paths.send(line.split(' ').nth(1).unwrap_or_default().to_owned());
            let _ = (&stream).write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let client = Client::new(Endpoint { scheme: "ws".into(), server, token: None });
    let _a = client.open("team/a");
    assert_eq!(requested.recv_timeout(WAIT).unwrap(), "/api/mux?ext=durable");
    assert_eq!(requested.recv_timeout(WAIT).unwrap(), "/team/a?ext=durable");
}
