//! The network side of a collaborative session: one background thread with a small tokio
//! runtime that keeps a websocket to the server open, reconnecting with backoff and jitter, and
//! moves frames between it and the editor's event loop.
//!
//! The editor stays synchronous: it receives [`NetEvent`]s through a callback (which forwards
//! them into its own event channel) and sends frames with [`NetHandle::send`]. Each connection
//! has an epoch; a frame is sent only on the connection it was made for, because the sync
//! session numbers the updates it sends per connection and a frame meant for a closed
//! connection must not be counted on the next one.
//!
//! What goes wrong is a [`Problem`]: transient ones back off, problems with the server's setup
//! (a certificate, say) are retried only every [`SLOW_RETRY`], and a refused request is not
//! retried at all.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_connect::{Connector, Problem, Retry, SLOW_RETRY, WsStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::mux::MuxCommand;

/// First retry delay after a failed or dropped connection.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(15);

/// What the network thread reports to the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Trying to connect (attempt number, from 1).
    Connecting {
        /// Attempt number since the last successful connection.
        attempt: u32,
    },
    /// A connection is open; frames for it carry this epoch.
    Connected {
        /// The connection's epoch.
        epoch: u64,
    },
    /// A frame arrived on connection `epoch`.
    Frame {
        /// The connection it came on.
        epoch: u64,
        /// The frame's bytes.
        bytes: Vec<u8>,
    },
    /// The connection failed or closed; the next attempt comes after `retry_in`.
    Disconnected {
        /// Why.
        problem: Problem,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// The server refused this client's request for good (bad token, bad document id); no
    /// retry follows.
    Refused {
        /// Why.
        problem: Problem,
    },
}

/// What a document's handle asks of its own connection's task.
pub(super) enum Command {
    Send {
        epoch: u64,
        frame: Vec<u8>,
    },
    /// Drop connection `epoch` (its sync state is unknown) and reconnect after a backoff.
    Reset {
        epoch: u64,
        reason: String,
    },
    Close,
}

/// Read and write buffers of a connection: frames are small keystrokes, and a workspace that
/// falls back to a connection per file would pay tungstenite's 128 KiB defaults per file.
const SOCKET_BUFFER_BYTES: usize = 8 << 10;

/// One document's connection, as the editor or a workspace replica holds it; dropping it closes
/// the connection (or leaves the document on a shared one).
pub struct NetHandle {
    transport: Transport,
}

/// How a [`NetHandle`]'s document reaches the server.
enum Transport {
    /// A websocket of its own, served by a thread (joined on drop) or, after a multiplexed
    /// connection fell back, by a task.
    Own { commands: mpsc::UnboundedSender<Command>, thread: Option<std::thread::JoinHandle<()>> },
    /// A document on a [`Multiplexer`](super::mux::Multiplexer)'s websocket.
    Shared { doc: Arc<str>, commands: mpsc::UnboundedSender<MuxCommand> },
}

impl NetHandle {
    /// Starts connecting to `url` (a `ws://` or `wss://` URL) with `connector` in the
    /// background; every event goes to `on_event`, on the network thread.
    pub fn spawn(
        url: String,
        connector: Connector,
        on_event: impl Fn(NetEvent) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new()
            .name("tandem-net".into())
            .spawn(move || runtime.block_on(run(url, connector, receiver, on_event, 0)))?;
        Ok(Self { transport: Transport::Own { commands, thread: Some(thread) } })
    }

    /// The handle of `doc` on a multiplexed connection whose task reads `commands`.
    pub(super) fn shared(doc: Arc<str>, commands: mpsc::UnboundedSender<MuxCommand>) -> Self {
        Self { transport: Transport::Shared { doc, commands } }
    }

    /// Sends `frame` on connection `epoch`; dropped if that connection is gone.
    pub fn send(&self, epoch: u64, frame: Vec<u8>) {
        // The task only stops when this handle drops, so a failed send means it is exiting.
        match &self.transport {
            Transport::Own { commands, .. } => {
                let _ = commands.send(Command::Send { epoch, frame });
            }
            Transport::Shared { doc, commands } => {
                let _ = commands.send(MuxCommand::Send { doc: doc.clone(), epoch, frame });
            }
        }
    }

    /// Closes connection `epoch` (say, after a malformed frame, when the sync session's state is
    /// unknown) and reconnects with backoff; a [`NetEvent::Disconnected`] follows. Consecutive
    /// resets lengthen the backoff, so a server that keeps sending bad frames is not hammered.
    /// On a multiplexed connection only this document's session closes; the others keep it.
    pub fn reset(&self, epoch: u64, reason: String) {
        match &self.transport {
            Transport::Own { commands, .. } => {
                let _ = commands.send(Command::Reset { epoch, reason });
            }
            Transport::Shared { doc, commands } => {
                let _ = commands.send(MuxCommand::Reset { doc: doc.clone(), epoch, reason });
            }
        }
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        match &mut self.transport {
            Transport::Own { commands, thread } => {
                let _ = commands.send(Command::Close);
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
            Transport::Shared { doc, commands } => {
                let _ = commands.send(MuxCommand::Close { doc: doc.clone() });
            }
        }
    }
}

/// How a connection ended.
enum Ended {
    /// The editor is closing.
    Closing,
    /// Failed or lost: what [`Problem::retry`] says comes next.
    Failed(Problem),
    /// Dropped by the editor after a bad frame: retry, backing off further each time in a row.
    Reset(Problem),
}

/// Keeps one document's websocket to `url` open until the handle closes; epochs follow
/// `last_epoch` (a multiplexed connection that falls back hands over the last one it gave, so a
/// stale frame never matches a new connection).
pub(super) async fn run(
    url: String,
    connector: Connector,
    mut commands: mpsc::UnboundedReceiver<Command>,
    on_event: impl Fn(NetEvent),
    last_epoch: u64,
) {
    let mut epoch = last_epoch;
    let mut attempt = 0;
    // Connections dropped in a row for bad frames: they connect fine, so `attempt` alone would
    // reconnect at the shortest delay forever.
    let mut resets = 0;
    loop {
        attempt += 1;
        on_event(NetEvent::Connecting { attempt });
        // Boxed: the handshake's future (TLS, HTTP) is 10 KB, and unboxed it would size this
        // task for its whole life — a workspace keeps one task per file.
        let ended = match Box::pin(connector.connect(&url, Some(socket_config()))).await {
            Ok((socket, _)) => {
                epoch += 1;
                attempt = 0;
                on_event(NetEvent::Connected { epoch });
                pump(socket, epoch, &mut commands, &on_event).await
            }
            Err(error) => {
                tracing::debug!(%error, "connection attempt failed");
                Ended::Failed(Problem::from_connect(&error))
            }
        };
        let (problem, retry_in) = match ended {
            Ended::Closing => return,
            Ended::Reset(problem) => {
                resets += 1;
                (problem, backoff(attempt + resets))
            }
            Ended::Failed(problem) => {
                resets = 0;
                match problem.retry() {
                    Retry::Backoff => {
                        let delay = backoff(attempt);
                        (problem, delay)
                    }
                    Retry::Slowly => (problem, SLOW_RETRY.mul_f64(rand::random_range(0.75..1.25))),
                    Retry::Never => {
                        on_event(NetEvent::Refused { problem });
                        wait_for_close(&mut commands).await;
                        return;
                    }
                }
            }
        };
        on_event(NetEvent::Disconnected { problem, retry_in });
        if sleep_or_close(retry_in, &mut commands).await {
            return;
        }
    }
}

/// Small socket buffers (see [`SOCKET_BUFFER_BYTES`]).
pub(super) fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
}

async fn pump(
    mut socket: WsStream,
    epoch: u64,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    on_event: &impl Fn(NetEvent),
) -> Ended {
    let lost = |detail: String| Ended::Failed(Problem::Lost { detail });
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send { epoch: for_epoch, frame }) => {
                    if for_epoch != epoch {
                        continue;
                    }
                    if let Err(e) = socket.send(WsMessage::Binary(frame.into())).await {
                        return lost(e.to_string());
                    }
                }
                Some(Command::Reset { epoch: for_epoch, reason }) => {
                    if for_epoch != epoch {
                        continue;
                    }
                    let frame = CloseFrame { code: CloseCode::Protocol, reason: reason.clone().into() };
                    // Best effort: the connection is abandoned whether or not the close goes out.
                    let _ = socket.close(Some(frame)).await;
                    return Ended::Reset(Problem::Lost { detail: reason });
                }
                Some(Command::Close) | None => {
                    let _ = socket.close(None).await;
                    return Ended::Closing;
                }
            },
            message = socket.next() => match message {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    on_event(NetEvent::Frame { epoch, bytes: bytes.to_vec() });
                }
                Some(Ok(WsMessage::Close(frame))) => return Ended::Failed(close_problem(frame)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return lost(e.to_string()),
                None => return lost("connection closed".into()),
            },
        }
    }
}

/// What the server's close frame means (none: a normal close).
pub(super) fn close_problem(frame: Option<CloseFrame>) -> Problem {
    let (code, reason) = frame
        .map(|f| (u16::from(f.code), f.reason.to_string()))
        .unwrap_or((u16::from(CloseCode::Normal), String::new()));
    Problem::from_close(code, &reason)
}

/// Sleeps for `delay` unless the editor closes first; returns whether it did.
async fn sleep_or_close(delay: Duration, commands: &mut mpsc::UnboundedReceiver<Command>) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return false,
            command = commands.recv() => match command {
                // Frames made while offline are for no connection; the next connect resyncs.
                Some(Command::Send { .. } | Command::Reset { .. }) => {}
                Some(Command::Close) | None => return true,
            },
        }
    }
}

async fn wait_for_close(commands: &mut mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = commands.recv().await {
        if matches!(command, Command::Close) {
            return;
        }
    }
}

/// Exponential backoff with ±50 % jitter, so clients cut off together do not return together.
pub fn backoff(attempt: u32) -> Duration {
    let exp = BACKOFF_START.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let base = exp.min(BACKOFF_MAX);
    let jitter = rand::random_range(0.5..1.5);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            assert!(d >= BACKOFF_START / 2, "{d:?}");
            assert!(d <= BACKOFF_MAX.mul_f64(1.5), "{d:?}");
        }
        let early: Duration = (0..50).map(|_| backoff(1)).sum();
        let late: Duration = (0..50).map(|_| backoff(6)).sum();
        assert!(late > early * 8, "{early:?} {late:?}");
    }

    /// A loopback websocket server accepting `n` connections; reports each one's end.
    fn echo_server(n: usize) -> (String, std::sync::mpsc::Receiver<Option<CloseCode>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/doc", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                for _ in 0..n {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                    let mut code = None;
                    while let Some(Ok(message)) = ws.next().await {
                        if let WsMessage::Close(frame) = message {
                            code = frame.map(|f| f.code);
                        }
                    }
                    let _ = tx.send(code);
                }
            });
        });
        (url, rx)
    }

    #[test]
    fn reset_drops_the_connection_and_reconnects_after_a_backoff() {
        let (url, closed) = echo_server(2);
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = NetHandle::spawn(url, connector(), move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        let next = || rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(next(), NetEvent::Connecting { attempt: 1 });
        assert_eq!(next(), NetEvent::Connected { epoch: 1 });
        // A reset for another connection changes nothing.
        handle.reset(7, "stale".into());
        handle.reset(1, "malformed frame".into());
        match next() {
            NetEvent::Disconnected { problem, retry_in } => {
                assert_eq!(problem, Problem::Lost { detail: "malformed frame".into() });
                assert!(retry_in >= BACKOFF_START / 2, "{retry_in:?}");
            }
            other => panic!("expected Disconnected, got {other:?}"),
        }
        assert_eq!(closed.recv_timeout(Duration::from_secs(5)).unwrap(), Some(CloseCode::Protocol));
        assert_eq!(next(), NetEvent::Connecting { attempt: 1 });
        assert_eq!(next(), NetEvent::Connected { epoch: 2 });
        drop(handle);
    }

    #[test]
    fn unreachable_server_reports_connecting_and_disconnected() {
        let (tx, rx) = std::sync::mpsc::channel();
        // Port 9 on loopback: nothing listens, connect fails at once.
        let handle = NetHandle::spawn("ws://127.0.0.1:9/doc".into(), connector(), move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first, NetEvent::Connecting { attempt: 1 });
        let second = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let NetEvent::Disconnected { problem, retry_in } = second else {
            panic!("expected Disconnected, got {second:?}");
        };
        assert_eq!(problem, Problem::Refused { addr: "127.0.0.1:9".into() });
        assert!(retry_in <= BACKOFF_START.mul_f64(1.5), "{retry_in:?}");
        drop(handle);
    }

    /// A loopback server answering every request with `status` and `body` (no upgrade).
    fn http_server(status: &'static str, body: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/doc", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        url
    }

    fn first_failure(url: String) -> NetEvent {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = NetHandle::spawn(url, connector(), move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            NetEvent::Connecting { attempt: 1 }
        );
        let event = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        drop(handle);
        event
    }

    #[test]
    fn a_refused_token_stops_retrying_and_a_missing_route_retries_slowly() {
        let refused = first_failure(http_server("401 Unauthorized", "bad token"));
        let expected = Problem::Http { status: 401, body: "bad token".into() };
        assert_eq!(refused, NetEvent::Refused { problem: expected });

        let missing = first_failure(http_server("404 Not Found", "not found"));
        let NetEvent::Disconnected { problem, retry_in } = missing else {
            panic!("expected Disconnected, got {missing:?}");
        };
        assert_eq!(problem, Problem::Http { status: 404, body: "not found".into() });
        assert!(retry_in >= SLOW_RETRY / 2, "a setup problem is retried slowly: {retry_in:?}");

        let full = first_failure(http_server("503 Service Unavailable", "too many connections"));
        let NetEvent::Disconnected { retry_in, .. } = full else { panic!("{full:?}") };
        assert!(
            retry_in <= BACKOFF_START.mul_f64(1.5),
            "a full server is retried soon: {retry_in:?}"
        );
    }

    fn connector() -> Connector {
        Connector::new(None).unwrap()
    }
}
