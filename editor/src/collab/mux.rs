//! One websocket for many documents: a workspace holds a document per file, and a connection per
//! document costs a socket, a task and buffers per file on both sides. A [`Multiplexer`] keeps
//! one connection to tandem-server's `/api/mux` (framed as [`tandem_crdt::mux`] says) and hands
//! out a [`NetHandle`] per document that behaves as that document's own connection would:
//!
//! - every document gets [`NetEvent::Connected`] with an epoch of its own when its session opens,
//!   and frames only for that epoch;
//! - [`NetHandle::reset`] closes that document's session and reopens it after a backoff, the
//!   socket and the other documents untouched; so does a close of one session by the server,
//!   except a 1008, which refuses that document for good;
//! - a session this client closes (a reset, a dropped handle) is reopened only once the server's
//!   close of it has come: messages of the old session still on their way are dropped, never
//!   taken for the new session's (a durable count of the old session would confirm updates the
//!   server never stored);
//! - when the socket is lost every document is disconnected, and after the reconnection (with
//!   the backoff and [`Problem`] rules of a single connection) every open document gets a new
//!   epoch.
//!
//! A server that does not speak the framing — a stock y-websocket server greets `/api/mux` as a
//! document named `api/mux`, with a sync message; an older tandem-server refuses the path — gets
//! a connection per document instead, for the rest of the run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tandem_connect::{Connector, Problem, Retry, SLOW_RETRY, WsStream};
use tandem_crdt::doc_id_to_path;
use tandem_crdt::mux::{MUX_PATH, MuxMessage, encode_frame};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::Target;
use super::net::{self, Command, NetEvent, NetHandle, backoff};

/// How long the server has to greet a new connection. tandem-server greets at once; a server
/// still silent after this waits for the client to speak first, which no multiplexing server does.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The close code of a session this client drops after a malformed frame (protocol error).
const CLOSE_PROTOCOL: u16 = 1002;
/// The close code of a session this client leaves.
const CLOSE_NORMAL: u16 = 1000;

/// Where a workspace's documents live: one server, one token for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `ws` or `wss`.
    pub scheme: String,
    /// `HOST:PORT`.
    pub server: String,
    /// tandem-server access token.
    pub token: Option<String>,
}

impl Endpoint {
    /// The URL of the multiplexed connection.
    fn mux_url(&self) -> String {
        self.url(MUX_PATH.trim_start_matches('/'))
    }

    /// The URL of `doc`'s own connection.
    pub fn doc_url(&self, doc: &str) -> String {
        self.url(&doc_id_to_path(doc))
    }

    fn url(&self, path: &str) -> String {
        let target = Target {
            server: self.server.clone(),
            doc: path.to_owned(),
            base: format!("{}://{}/{path}", self.scheme, self.server),
        };
        target.connect_url(self.token.as_deref())
    }
}

type Callback = Arc<dyn Fn(NetEvent) + Send + Sync>;

/// What a document's handle (or the multiplexer) asks of the connection's task.
pub(super) enum MuxCommand {
    /// A document joins, with the callback of its events.
    Open {
        doc: Arc<str>,
        on_event: Callback,
    },
    Send {
        doc: Arc<str>,
        epoch: u64,
        frame: Vec<u8>,
    },
    Reset {
        doc: Arc<str>,
        epoch: u64,
        reason: String,
    },
    Close {
        doc: Arc<str>,
    },
}

/// One connection for many documents; see the module docs. The connection closes once this and
/// every handle it gave are dropped.
pub struct Multiplexer {
    commands: mpsc::UnboundedSender<MuxCommand>,
}

impl Multiplexer {
    /// Starts connecting to `endpoint` with `connector`, as a task on `runtime`.
    pub fn spawn_in(
        runtime: &tokio::runtime::Handle,
        endpoint: Endpoint,
        connector: Connector,
    ) -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = Task {
            endpoint,
            connector,
            commands: receiver,
            docs: HashMap::new(),
            reopening: Vec::new(),
            last_epoch: 0,
            attempt: 0,
        };
        runtime.spawn(task.run());
        Self { commands }
    }

    /// Opens document `doc` on the connection; every event goes to `on_event`, on the runtime's
    /// thread. Open each document once at a time.
    pub fn open(
        &self,
        doc: &str,
        on_event: impl Fn(NetEvent) + Send + Sync + 'static,
    ) -> NetHandle {
        let doc: Arc<str> = doc.into();
        let _ =
            self.commands.send(MuxCommand::Open { doc: doc.clone(), on_event: Arc::new(on_event) });
        NetHandle::shared(doc, self.commands.clone())
    }
}

/// A document as the connection's task holds it.
struct Doc {
    on_event: Callback,
    state: DocState,
    /// Sessions closed in a row without a frame in between (each lengthens the next backoff).
    closes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocState {
    /// Waits for the socket.
    Idle,
    /// Its session is open on the socket; frames carry this epoch.
    Open(u64),
    /// Its session closed (reset here, or closed by the server); it reopens at this instant.
    Closed(Instant),
    /// This client closed its session and waits for the server's close, which follows the old
    /// session's last message; then it reopens at this instant (`None`: its handle is gone, and
    /// it is forgotten).
    Closing(Option<Instant>),
    /// Refused for good.
    Refused,
}

/// How a socket ended.
enum Ended {
    /// Every handle is gone.
    Closing,
    /// Failed or lost: what [`Problem::retry`] says comes next.
    Failed(Problem),
    /// The server does not speak the framing.
    Unsupported(String),
}

/// The connection's task.
struct Task {
    endpoint: Endpoint,
    connector: Connector,
    commands: mpsc::UnboundedReceiver<MuxCommand>,
    docs: HashMap<Arc<str>, Doc>,
    /// Documents in [`DocState::Closed`] (few: the timer looks only at these).
    reopening: Vec<Arc<str>>,
    /// The last epoch given to any document: epochs never repeat, so a frame made for a session
    /// never goes out on a later one.
    last_epoch: u64,
    /// Connection attempts since the last successful one.
    attempt: u32,
}

impl Task {
    async fn run(mut self) {
        let url = self.endpoint.mux_url();
        loop {
            self.attempt += 1;
            let attempt = self.attempt;
            self.notify_idle(|| NetEvent::Connecting { attempt });
            let ended = match Box::pin(self.connector.connect(&url, Some(net::socket_config())))
                .await
            {
                Ok((socket, _)) => match greeting(socket).await {
                    Greeting::Hello(socket) => {
                        self.attempt = 0;
                        self.pump(*socket).await
                    }
                    Greeting::Other => Ended::Unsupported(
                        "no hello first on /api/mux (a stock y-websocket server?)".into(),
                    ),
                    Greeting::Failed(problem) => Ended::Failed(problem),
                },
                Err(error) => {
                    tracing::debug!(%error, "multiplexed connection attempt failed");
                    match Problem::from_connect(&error) {
                        Problem::Http { status: status @ (400 | 404), .. } => {
                            Ended::Unsupported(format!("it answers /api/mux with HTTP {status}"))
                        }
                        problem => Ended::Failed(problem),
                    }
                }
            };
            let problem = match ended {
                Ended::Closing => return,
                Ended::Unsupported(why) => {
                    tracing::warn!(
                        server = %self.endpoint.server,
                        "the server has no multiplexed connection ({why}): one connection per \
                         document for the rest of this run"
                    );
                    return self.fall_back().await;
                }
                Ended::Failed(problem) => problem,
            };
            let retry_in = match problem.retry() {
                Retry::Backoff => backoff(self.attempt),
                Retry::Slowly => SLOW_RETRY.mul_f64(rand::random_range(0.75..1.25)),
                Retry::Never => return self.refuse_all(problem).await,
            };
            self.lost(&problem, retry_in);
            if self.wait(retry_in).await {
                return;
            }
        }
    }

    /// Serves the documents on a socket that greeted with a hello, until it ends.
    async fn pump(&mut self, socket: WsStream) -> Ended {
        let (sink, mut stream) = socket.split();
        // Writes run beside reads, so the socket is read while a long write waits for the server:
        // a server that pushes while it reads cannot deadlock against this client.
        let (out, queue) = mpsc::unbounded_channel();
        let writer = write_all(sink, queue);
        tokio::pin!(writer);
        let ids: Vec<Arc<str>> = self.docs.keys().cloned().collect();
        for doc in ids {
            self.open_session(&doc);
        }
        loop {
            let reopen_at = self.next_reopen();
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command, &out),
                    None => {
                        drop(out);
                        // Best effort: the queue drains and the socket closes, or time runs out.
                        let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
                        return Ended::Closing;
                    }
                },
                message = stream.next() => {
                    if let Err(problem) = self.received(message) {
                        return Ended::Failed(problem);
                    }
                }
                result = &mut writer => {
                    let detail = result.err().unwrap_or_else(|| "writer stopped".into());
                    return Ended::Failed(Problem::Lost { detail });
                }
                () = tokio::time::sleep_until(reopen_at.unwrap_or_else(Instant::now)), if reopen_at.is_some() => {
                    self.reopen_due();
                }
            }
        }
    }

    /// One command while the socket is up.
    fn command(&mut self, command: MuxCommand, out: &mpsc::UnboundedSender<WsMessage>) {
        let message = match command {
            MuxCommand::Open { doc, on_event } => {
                // Opened again while its old session is closing: it opens after the close.
                let closing =
                    matches!(self.docs.get(&doc).map(|d| d.state), Some(DocState::Closing(_)));
                let state =
                    if closing { DocState::Closing(Some(Instant::now())) } else { DocState::Idle };
                self.docs.insert(doc.clone(), Doc { on_event, state, closes: 0 });
                if !closing {
                    self.open_session(&doc);
                }
                return;
            }
            MuxCommand::Send { doc, epoch, frame } => {
                match self.docs.get(&doc) {
                    Some(d) if d.state == DocState::Open(epoch) => {}
                    _ => return,
                }
                encode_frame(&doc, &frame)
            }
            MuxCommand::Reset { doc, epoch, reason } => {
                let Some(d) = self.docs.get_mut(&doc) else { return };
                if d.state != DocState::Open(epoch) {
                    return;
                }
                d.closes += 1;
                let retry_in = backoff(d.closes);
                d.state = DocState::Closing(Some(Instant::now() + retry_in));
                (d.on_event)(NetEvent::Disconnected {
                    problem: Problem::Lost { detail: reason.clone() },
                    retry_in,
                });
                MuxMessage::Close { doc: &doc, code: CLOSE_PROTOCOL, reason: &reason }.encode()
            }
            MuxCommand::Close { doc } => {
                let Some(d) = self.docs.get_mut(&doc) else { return };
                match d.state {
                    // Kept until the server's close, so a new handle of it waits for that.
                    DocState::Open(_) => d.state = DocState::Closing(None),
                    DocState::Closing(_) => {
                        d.state = DocState::Closing(None);
                        return;
                    }
                    DocState::Idle | DocState::Closed(_) | DocState::Refused => {
                        self.docs.remove(&doc);
                        return;
                    }
                }
                MuxMessage::Close { doc: &doc, code: CLOSE_NORMAL, reason: "" }.encode()
            }
        };
        // A failed send means the writer ended; the select sees that next.
        let _ = out.send(WsMessage::Binary(message.into()));
    }

    /// One message from the socket; an error ends the socket.
    fn received(
        &mut self,
        message: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), Problem> {
        let bytes = match message {
            Some(Ok(WsMessage::Binary(bytes))) => bytes,
            Some(Ok(WsMessage::Close(frame))) => return Err(net::close_problem(frame)),
            Some(Ok(_)) => return Ok(()),
            Some(Err(e)) => return Err(Problem::Lost { detail: e.to_string() }),
            None => return Err(Problem::Lost { detail: "connection closed".into() }),
        };
        // A malformed message names no document for sure, so no session's state is known.
        let message = MuxMessage::decode(&bytes)
            .map_err(|e| Problem::Lost { detail: format!("from the server: {e}") })?;
        match message {
            MuxMessage::Hello { .. } => {}
            MuxMessage::Frame { doc, frame } => {
                if let Some(d) = self.docs.get_mut(doc)
                    && let DocState::Open(epoch) = d.state
                {
                    d.closes = 0;
                    (d.on_event)(NetEvent::Frame { epoch, bytes: frame.to_vec() });
                }
            }
            MuxMessage::Close { doc, code, reason } => self.closed_by_server(doc, code, reason),
        }
        Ok(())
    }

    /// The server ended `doc`'s session: refused for good, or reopened after a backoff.
    fn closed_by_server(&mut self, doc: &str, code: u16, reason: &str) {
        let Some(d) = self.docs.get_mut(doc) else { return };
        match d.state {
            DocState::Open(_) => {}
            // The close of a session this client closed (or one that crossed it): every message
            // of that session has come, so a new one may open.
            DocState::Closing(Some(at)) => {
                d.state = DocState::Closed(at);
                self.reopening.push(doc.into());
                return;
            }
            DocState::Closing(None) => {
                self.docs.remove(doc);
                return;
            }
            DocState::Idle | DocState::Closed(_) | DocState::Refused => return,
        }
        let problem = Problem::from_close(code, reason);
        let retry_in = match problem.retry() {
            Retry::Never => {
                d.state = DocState::Refused;
                (d.on_event)(NetEvent::Refused { problem });
                return;
            }
            Retry::Slowly => SLOW_RETRY.mul_f64(rand::random_range(0.75..1.25)),
            Retry::Backoff => {
                d.closes += 1;
                backoff(d.closes)
            }
        };
        d.state = DocState::Closed(Instant::now() + retry_in);
        (d.on_event)(NetEvent::Disconnected { problem, retry_in });
        self.reopening.push(doc.into());
    }

    /// Gives `doc` a new session (its replica's first frame opens it on the server).
    fn open_session(&mut self, doc: &str) {
        let Some(d) = self.docs.get_mut(doc) else { return };
        if d.state == DocState::Refused {
            return;
        }
        self.last_epoch += 1;
        d.state = DocState::Open(self.last_epoch);
        (d.on_event)(NetEvent::Connected { epoch: self.last_epoch });
    }

    fn next_reopen(&self) -> Option<Instant> {
        self.reopening
            .iter()
            .filter_map(|doc| match self.docs.get(doc)?.state {
                DocState::Closed(at) => Some(at),
                _ => None,
            })
            .min()
    }

    fn reopen_due(&mut self) {
        let now = Instant::now();
        for doc in std::mem::take(&mut self.reopening) {
            match self.docs.get(&doc).map(|d| d.state) {
                Some(DocState::Closed(at)) if at <= now => self.open_session(&doc),
                Some(DocState::Closed(_)) => self.reopening.push(doc),
                _ => {}
            }
        }
    }

    /// The socket is gone: every document with a session (or waiting for one) is disconnected.
    fn lost(&mut self, problem: &Problem, retry_in: Duration) {
        self.reopening.clear();
        // The socket's end ends every session: nothing of them can come any more.
        self.docs.retain(|_, d| d.state != DocState::Closing(None));
        for d in self.docs.values_mut() {
            if matches!(d.state, DocState::Open(_) | DocState::Closed(_) | DocState::Closing(_)) {
                d.state = DocState::Idle;
                (d.on_event)(NetEvent::Disconnected { problem: problem.clone(), retry_in });
            }
        }
    }

    fn notify_idle(&self, event: impl Fn() -> NetEvent) {
        for d in self.docs.values().filter(|d| d.state == DocState::Idle) {
            (d.on_event)(event());
        }
    }

    /// Waits `delay` before the next attempt, taking documents in and out meanwhile; returns
    /// whether every handle is gone.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return false,
                command = self.commands.recv() => match command {
                    Some(MuxCommand::Open { doc, on_event }) => {
                        on_event(NetEvent::Connecting { attempt: self.attempt });
                        self.docs.insert(doc, Doc { on_event, state: DocState::Idle, closes: 0 });
                    }
                    Some(MuxCommand::Close { doc }) => {
                        self.docs.remove(&doc);
                    }
                    // Frames made while offline are for no session; the next one resyncs.
                    Some(MuxCommand::Send { .. } | MuxCommand::Reset { .. }) => {}
                    None => return true,
                },
            }
        }
    }

    /// The server refused the connection itself (the token, say): every document is refused,
    /// and so is every document opened later.
    async fn refuse_all(mut self, problem: Problem) {
        for d in self.docs.values().filter(|d| d.state != DocState::Refused) {
            (d.on_event)(NetEvent::Refused { problem: problem.clone() });
        }
        while let Some(command) = self.commands.recv().await {
            if let MuxCommand::Open { on_event, .. } = command {
                on_event(NetEvent::Refused { problem: problem.clone() });
            }
        }
    }

    /// Serves every document, present and future, on a connection of its own (see
    /// [`net::run`]): this task only routes the handles' commands to them.
    async fn fall_back(mut self) {
        let mut routes: HashMap<Arc<str>, mpsc::UnboundedSender<Command>> = HashMap::new();
        let docs = std::mem::take(&mut self.docs);
        for (doc, d) in docs {
            if d.state != DocState::Refused {
                routes.insert(doc.clone(), self.own_connection(&doc, d.on_event));
            }
        }
        while let Some(command) = self.commands.recv().await {
            let (route, command) = match command {
                MuxCommand::Open { doc, on_event } => {
                    let route = self.own_connection(&doc, on_event);
                    routes.insert(doc, route);
                    continue;
                }
                MuxCommand::Send { doc, epoch, frame } => {
                    (routes.get(&doc).cloned(), Command::Send { epoch, frame })
                }
                MuxCommand::Reset { doc, epoch, reason } => {
                    (routes.get(&doc).cloned(), Command::Reset { epoch, reason })
                }
                MuxCommand::Close { doc } => (routes.remove(&doc), Command::Close),
            };
            if let Some(route) = route {
                let _ = route.send(command);
            }
        }
    }

    fn own_connection(&self, doc: &str, on_event: Callback) -> mpsc::UnboundedSender<Command> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let url = self.endpoint.doc_url(doc);
        let connector = self.connector.clone();
        tokio::spawn(net::run(url, connector, receiver, move |e| on_event(e), self.last_epoch));
        commands
    }
}

/// What a new socket's first message says.
enum Greeting {
    /// A hello: the server speaks the framing.
    Hello(Box<WsStream>),
    /// Something else, or silence: it does not.
    Other,
    /// The socket failed first.
    Failed(Problem),
}

async fn greeting(mut socket: WsStream) -> Greeting {
    let deadline = Instant::now() + HELLO_TIMEOUT;
    loop {
        let message = match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(message) => message,
            Err(_) => return Greeting::Other,
        };
        return match message {
            Some(Ok(WsMessage::Binary(bytes))) => match MuxMessage::decode(&bytes) {
                Ok(MuxMessage::Hello { .. }) => Greeting::Hello(Box::new(socket)),
                _ => Greeting::Other,
            },
            Some(Ok(WsMessage::Close(frame))) => Greeting::Failed(net::close_problem(frame)),
            Some(Ok(WsMessage::Text(_))) => Greeting::Other,
            Some(Ok(_)) => continue,
            Some(Err(e)) => Greeting::Failed(Problem::Lost { detail: e.to_string() }),
            None => Greeting::Failed(Problem::Lost { detail: "connection closed".into() }),
        };
    }
}

/// Writes what `queue` holds, flushing when it runs dry; closes the socket when the queue
/// closes. Ends with the socket's error.
async fn write_all(
    mut sink: SplitSink<WsStream, WsMessage>,
    mut queue: mpsc::UnboundedReceiver<WsMessage>,
) -> Result<(), String> {
    while let Some(message) = queue.recv().await {
        sink.feed(message).await.map_err(|e| e.to_string())?;
        if queue.is_empty() {
            sink.flush().await.map_err(|e| e.to_string())?;
        }
    }
    let _ = sink.close().await;
    Ok(())
}

#[cfg(test)]
#[path = "mux_tests.rs"]
mod tests;
