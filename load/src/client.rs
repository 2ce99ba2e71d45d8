//! One simulated client: a tokio task that connects, syncs, types (or only reads), measures what
//! it receives and reconnects with backoff when the connection drops.
//!
//! Typing clients keep a [`tandem_crdt::Client`] (their replica, session and unconfirmed
//! updates). Readers and idle clients keep no replica at all, so ten thousand of them cost little:
//! they speak the protocol with two precomputed frames. Typing clients do not apply the other
//! clients' live updates either: a load generator should spend its CPU loading the server, and
//! inserting relative to one's own text is still a valid Yjs edit.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tandem_connect::{Connector, Problem, WsStream};
use tandem_crdt::{Client, Document, DocumentConfig, Extensions, Message};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use yrs::updates::decoder::Decode;

use crate::config::{LoadConfig, Reconnect};
use crate::protocol::Protocol;
use crate::stats::{SendLog, Stats};

/// Only the first clients of each document decode received updates to measure latency; the
/// others just count them. Decoding every update at every receiver would make the generator,
/// not the server, the bottleneck of a hot document.
pub(crate) const MEASURING_CLIENTS_PER_DOC: usize = 32;
/// How long one websocket handshake may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Probability that a keystroke lands somewhere else than after the previous one.
const CURSOR_JUMP: f64 = 0.05;
/// The keystroke interval of clients that do not type.
const IDLE_INTERVAL: Duration = Duration::from_secs(86_400);
/// What typing clients type: mostly letters, some spaces and newlines.
const ALPHABET: &[u8] = b"etaoinshrdlucmfwypvbgkqjxz      \n";

/// A websocket connection as the client tasks use it.
pub(crate) type Ws = WsStream;

/// Where the run is; the client tasks watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Clients connect and sync.
    Connecting,
    /// Typing clients type.
    Typing,
    /// Nobody types; in-flight updates are still received.
    Draining,
    /// Close everything.
    Stop,
}

/// What every client task shares.
pub(crate) struct Shared {
    pub config: LoadConfig,
    pub stats: Stats,
    pub log: SendLog,
    pub connect_permits: Semaphore,
    /// Opens every connection (`wss://` with `--ca-cert`).
    pub connector: Connector,
    /// SyncStep1 of an empty replica: a reader's opening frame.
    pub empty_step1: Vec<u8>,
    /// SyncStep2 of an empty replica: a reader's answer to the server's SyncStep1.
    pub empty_step2: Vec<u8>,
}

impl Shared {
    /// The shared state for a run; `client_id_base` numbers the writers' Yjs client ids.
    pub fn new(
        config: LoadConfig,
        connector: Connector,
        client_id_base: u64,
    ) -> anyhow::Result<Self> {
        let empty = Document::new(DocumentConfig::new(1))?;
        let empty_step1 = Message::SyncStep1 { state_vector: empty.state_vector() }.encode();
        let empty_step2 = Message::SyncStep2 { update: empty.encode_state() }.encode();
        Ok(Self {
            log: SendLog::new(client_id_base, config.total_writers()),
            connect_permits: Semaphore::new(config.connect_concurrency),
            connector,
            stats: Stats::default(),
            config,
            empty_step1,
            empty_step2,
        })
    }
}

/// Who a client task is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientSpec {
    /// Its document.
    pub doc: usize,
    /// Its number among all clients (spreads histogram locks).
    pub index: usize,
    /// Its number within its document.
    pub index_in_doc: usize,
    /// Typing clients: their writer slot (see [`SendLog`]).
    pub writer_slot: Option<usize>,
}

/// What a client task hands back.
#[derive(Debug, Default)]
pub(crate) struct ClientOutcome {
    /// Its document.
    pub doc: usize,
    /// Typing clients under `--verify-durable` or `--verify-sent`: every update sent, oldest
    /// first.
    pub sent: Vec<Vec<u8>>,
    /// How many of `sent` (the oldest) the server confirmed durable.
    pub confirmed: usize,
}

/// Opens a websocket with small buffers (thousands of them must fit) and no Nagle delay; a
/// failure says what went wrong in words.
pub(crate) async fn connect(connector: &Connector, url: &str) -> anyhow::Result<Ws> {
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    match connector.connect(url, Some(config)).await {
        Ok((ws, _)) => Ok(ws),
        Err(error) => Err(anyhow::anyhow!(Problem::from_connect(&error).to_string())),
    }
}

/// A typing client's replica and bookkeeping.
struct Writer {
    client: Client,
    slot: usize,
    client_id: u64,
    /// Clock of this client's next inserted item: only local inserts advance it, by their
    /// length in UTF-16 units (ASCII here, so chars).
    next_clock: u32,
    cursor: usize,
    /// Send times of the updates not yet confirmed durable, oldest first.
    unconfirmed_sent_us: VecDeque<u64>,
    /// Every update sent, oldest first (only under `--verify-durable` or `--verify-sent`).
    updates: Option<Vec<Vec<u8>>>,
}

impl Writer {
    fn new(shared: &Shared, slot: usize) -> anyhow::Result<Self> {
        let client_id = shared.log.client_id(slot);
        // Deltas stay on: they keep the replica's char index right after a resync.
        let client = Client::new(DocumentConfig::new(client_id), shared.config.extensions)?;
        Ok(Self {
            client,
            slot,
            client_id,
            next_clock: 0,
            cursor: 0,
            unconfirmed_sent_us: VecDeque::new(),
            updates: shared.config.keeps_sent_updates().then(Vec::new),
        })
    }

    /// Types one keystroke; returns the frames to send.
    fn type_key(&mut self, shared: &Shared, rng: &mut SmallRng) -> anyhow::Result<Vec<Vec<u8>>> {
        let now_us = shared.stats.now_us();
        let len = self.client.document().len_chars();
        if self.cursor > len || rng.random::<f64>() < CURSOR_JUMP {
            self.cursor = rng.random_range(0..=len);
        }
        let frames = if self.cursor > 0 && rng.random::<f64>() < shared.config.delete_ratio {
            self.cursor -= 1;
            self.client.replace(self.cursor..self.cursor + 1, "", now_us / 1000)?
        } else {
            let text: String = (0..shared.config.payload)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            // Logged before sending, so even the fastest receiver finds it.
            shared.log.record(self.slot, self.next_clock, now_us);
            self.next_clock += shared.config.payload as u32;
            let frames = self.client.replace(self.cursor..self.cursor, &text, now_us / 1000)?;
            self.cursor += shared.config.payload;
            frames
        };
        self.unconfirmed_sent_us.push_back(now_us);
        if let Some(updates) = &mut self.updates {
            for frame in &frames {
                for message in Message::decode_frame(frame)? {
                    if let Message::Update { update } = message {
                        updates.push(update);
                    }
                }
            }
        }
        Ok(frames)
    }

    /// The server confirmed `n` more updates durable.
    fn confirmed(&mut self, shared: &Shared, n: usize) {
        let now = shared.stats.now_us();
        for _ in 0..n {
            if let Some(sent) = self.unconfirmed_sent_us.pop_front() {
                shared.stats.durable_latency.record(self.slot, now.saturating_sub(sent));
            }
        }
        shared.stats.count(&shared.stats.durable_confirmed, n as u64);
        shared.stats.durable_confirmed_total.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The outcome of document `doc`'s writer: the updates it sent and how many of them the
    /// server confirmed durable (they are confirmed oldest first).
    fn into_outcome(self, doc: usize, extensions: Extensions) -> ClientOutcome {
        let sent = self.updates.unwrap_or_default();
        let confirmed = if extensions.tandem() {
            sent.len().saturating_sub(self.client.unconfirmed_count())
        } else {
            0
        };
        ClientOutcome { doc, sent, confirmed }
    }
}

/// Why a connection ended.
enum Ended {
    /// The run is over.
    Stop,
    /// The connection dropped or misbehaved; reconnect.
    Dropped,
}

/// One client task, from first connect to the end of the run.
pub(crate) async fn run_client(
    shared: Arc<Shared>,
    spec: ClientSpec,
    mut phase: watch::Receiver<Phase>,
) -> ClientOutcome {
    let mut rng = SmallRng::seed_from_u64(spec.index as u64 ^ shared.log.client_id(0));
    let mut writer = match spec.writer_slot.map(|slot| Writer::new(&shared, slot)).transpose() {
        Ok(writer) => writer,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot create a replica");
            Stats::bump(&shared.stats.errors);
            None
        }
    };
    let url = shared.config.doc_url(
        spec.doc,
        shared.config.node_of(spec.index_in_doc),
        shared.config.extensions,
    );
    let mut state = ConnState { synced_once: false, connected_once: false };
    let mut failures_in_row = 0u32;
    loop {
        if *phase.borrow() == Phase::Stop {
            break;
        }
        let started_us = shared.stats.now_us();
        let attempt = {
            let _permit = shared.connect_permits.acquire().await;
            connect(&shared.connector, &url).await
        };
        let ws = match attempt {
            Ok(ws) => ws,
            Err(e) => {
                // One client says why, so a run that cannot connect is not silent.
                if spec.index == 0 && failures_in_row == 0 {
                    tracing::warn!(error = %format!("{e:#}"), url, "connect failed");
                } else {
                    tracing::debug!(error = %format!("{e:#}"), url, "connect failed");
                }
                Stats::bump(&shared.stats.connect_failures);
                failures_in_row += 1;
                if backoff(failures_in_row, &mut rng, &mut phase).await {
                    break;
                }
                continue;
            }
        };
        failures_in_row = 0;
        Stats::bump(&shared.stats.connections);
        if state.connected_once {
            Stats::bump(&shared.stats.reconnects);
        }
        state.connected_once = true;
        let ended =
            drive(&shared, spec, &mut writer, ws, &mut phase, started_us, &mut state, &mut rng)
                .await;
        if let Some(writer) = &mut writer {
            writer.client.disconnect();
        }
        match ended {
            Ended::Stop => break,
            Ended::Dropped if shared.config.reconnect == Reconnect::Never => break,
            Ended::Dropped => {
                if backoff(1, &mut rng, &mut phase).await {
                    break;
                }
            }
        }
    }
    match writer {
        Some(writer) => writer.into_outcome(spec.doc, shared.config.extensions),
        None => ClientOutcome { doc: spec.doc, ..ClientOutcome::default() },
    }
}

/// Waits before reconnecting (100 ms doubling to 2 s, jittered). Returns true if the run
/// stopped meanwhile.
async fn backoff(failures: u32, rng: &mut SmallRng, phase: &mut watch::Receiver<Phase>) -> bool {
    let base = Duration::from_millis(100 * (1u64 << failures.min(5))).min(Duration::from_secs(2));
    let wait = base.mul_f64(rng.random_range(0.5..1.5));
    let deadline = Instant::now() + wait;
    loop {
        tokio::select! {
            () = sleep_until(deadline) => return *phase.borrow() == Phase::Stop,
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    return true;
                }
            }
        }
    }
}

/// What survives reconnections.
struct ConnState {
    synced_once: bool,
    connected_once: bool,
}

/// Time until the next keystroke: exponential, so keystrokes form a Poisson process. A rate of
/// zero (idle clients) gives a day.
fn next_interval(rate: f64, rng: &mut SmallRng) -> Duration {
    let u: f64 = rng.random();
    Duration::try_from_secs_f64(-(1.0 - u).ln() / rate).unwrap_or(IDLE_INTERVAL).min(IDLE_INTERVAL)
}

/// Runs one established connection until it drops or the run stops.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
async fn drive(
    shared: &Shared,
    spec: ClientSpec,
    writer: &mut Option<Writer>,
    ws: Ws,
    phase: &mut watch::Receiver<Phase>,
    started_us: u64,
    state: &mut ConnState,
    rng: &mut SmallRng,
) -> Ended {
    let (mut tx, mut rx) = ws.split();
    let protocol = shared.config.protocol;
    let doc_name = shared.config.doc_name(spec.doc);
    let mut opening = protocol.opening(&doc_name);
    let sync_opening = match writer {
        Some(w) => match w.client.connect() {
            Ok(frames) => frames,
            Err(e) => {
                tracing::error!(error = %e, "cannot open a session");
                Stats::bump(&shared.stats.errors);
                return Ended::Dropped;
            }
        },
        None => vec![shared.empty_step1.clone()],
    };
    opening.extend(sync_opening.into_iter().map(|frame| protocol.wrap(&doc_name, frame)));
    if send_all(&mut tx, opening).await.is_err() {
        return Ended::Dropped;
    }
    let receiver = Receiver {
        shard: spec.index,
        measure: spec.index_in_doc < MEASURING_CLIENTS_PER_DOC,
        own_id: writer.as_ref().map(|w| w.client_id),
        node: shared.config.node_of(spec.index_in_doc),
    };
    let mut synced = false;
    let mut next_key = Instant::now() + next_interval(shared.config.rate, rng);
    loop {
        let typing = writer.is_some() && synced && *phase.borrow() == Phase::Typing;
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    let _ = tx.close().await;
                    return Ended::Stop;
                }
                if *phase.borrow() == Phase::Typing {
                    next_key = Instant::now() + next_interval(shared.config.rate, rng);
                }
            }
            frame = rx.next() => {
                let bytes = match frame {
                    Some(Ok(WsMessage::Binary(bytes))) => bytes,
                    Some(Ok(WsMessage::Close(_))) | None => return Ended::Dropped,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "connection dropped");
                        return Ended::Dropped;
                    }
                };
                let handled = protocol
                    .unwrap(&doc_name, &bytes)
                    .map_err(anyhow::Error::from)
                    .and_then(|inner| match inner {
                        Some(frame) => on_frame(shared, writer, &frame, &receiver),
                        None => Ok(Handled { replies: Vec::new(), synced: false }),
                    });
                let replies = match handled {
                    Ok(handled) => {
                        if handled.synced && !synced {
                            synced = true;
                            shared.stats.sync_time.record(spec.index, shared.stats.now_us() - started_us);
                            if !state.synced_once {
                                state.synced_once = true;
                                Stats::bump(&shared.stats.synced_clients);
                            }
                        }
                        wrap_all(protocol, &doc_name, handled.replies)
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "bad frame from the server");
                        Stats::bump(&shared.stats.errors);
                        return Ended::Dropped;
                    }
                };
                if send_all(&mut tx, replies).await.is_err() {
                    return Ended::Dropped;
                }
            }
            () = sleep_until(next_key), if typing => {
                // Open loop: the schedule does not wait for the server, but a stalled task
                // catches up by at most one second of keystrokes.
                next_key = (next_key + next_interval(shared.config.rate, rng))
                    .max(Instant::now() - Duration::from_secs(1));
                let Some(w) = writer.as_mut() else { continue };
                match w.type_key(shared, rng) {
                    Ok(frames) => {
                        shared.stats.count(&shared.stats.sent_updates, 1);
                        if send_all(&mut tx, wrap_all(protocol, &doc_name, frames)).await.is_err() {
                            return Ended::Dropped;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "local edit failed");
                        Stats::bump(&shared.stats.errors);
                    }
                }
            }
        }
    }
}

/// The frames as `protocol` sends them for document `doc`.
fn wrap_all(protocol: Protocol, doc: &str, frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    match protocol {
        Protocol::YWebsocket => frames,
        _ => frames.into_iter().map(|frame| protocol.wrap(doc, frame)).collect(),
    }
}

async fn send_all<S>(tx: &mut S, frames: Vec<Vec<u8>>) -> Result<(), S::Error>
where
    S: futures_util::Sink<WsMessage> + Unpin,
{
    if frames.is_empty() {
        return Ok(());
    }
    for frame in frames {
        tx.feed(WsMessage::Binary(frame.into())).await?;
    }
    tx.flush().await
}

/// What one frame from the server meant.
struct Handled {
    replies: Vec<Vec<u8>>,
    synced: bool,
}

/// Who receives, for the latency probe.
struct Receiver {
    /// Spreads histogram locks.
    shard: usize,
    /// Whether this client decodes updates to measure latency.
    measure: bool,
    /// A writer's own Yjs client id (echoes of its own updates are not deliveries).
    own_id: Option<u64>,
    /// The node this client is connected to.
    node: usize,
}

fn on_frame(
    shared: &Shared,
    writer: &mut Option<Writer>,
    bytes: &[u8],
    receiver: &Receiver,
) -> anyhow::Result<Handled> {
    let stats = &shared.stats;
    let messages = Message::decode_frame(bytes)?;
    stats.count(&stats.received_messages, messages.len() as u64);
    let mut handled = Handled { replies: Vec::new(), synced: false };
    let mut only_updates = true;
    for message in &messages {
        match message {
            Message::Update { update } => {
                stats.count(&stats.received_updates, 1);
                if receiver.measure {
                    record_latency(shared, receiver, update)?;
                }
            }
            Message::SyncStep1 { .. } if writer.is_none() => {
                handled.replies.push(shared.empty_step2.clone());
            }
            Message::SyncStep2 { .. } => {
                handled.synced = true;
                only_updates = false;
            }
            Message::AuthDenied { reason } => anyhow::bail!("access denied: {reason}"),
            _ => only_updates = false,
        }
    }
    if let Some(w) = writer.as_mut().filter(|_| !only_updates) {
        let event = w.client.receive(bytes, stats.now_us() / 1000)?;
        handled.replies.extend(event.replies);
        if event.confirmed > 0 {
            w.confirmed(shared, event.confirmed);
        }
    }
    Ok(handled)
}

/// Turns the inserts in a received update into latencies, via the send log. The update's
/// bytes need not be the ones the writer sent: a server that re-encodes updates (y-sweet
/// broadcasts what its own replica emits) keeps every insert's client id and clock, and those
/// are all the probe reads (the ids fit in 32 bits, see [`crate::run`]). Deliveries from a
/// writer on another node also count as cross-node.
fn record_latency(shared: &Shared, receiver: &Receiver, update: &[u8]) -> anyhow::Result<()> {
    let update = yrs::Update::decode_v1(update)?;
    let now = shared.stats.now_us();
    let config = &shared.config;
    for (client, ranges) in update.insertions(true).iter() {
        let client = client.get();
        // A server may echo a client's own update back to it; that is not delivery to a peer.
        if Some(client) == receiver.own_id {
            continue;
        }
        let cross_node = config.urls.len() > 1
            && shared.log.slot_of(client).is_some_and(|slot| {
                config.node_of(slot % config.writers_per_doc.max(1)) != receiver.node
            });
        for range in ranges.iter() {
            shared.log.lookup(client, range.clone(), |sent| {
                let latency = now.saturating_sub(sent);
                shared.stats.latency.record(receiver.shard, latency);
                if cross_node {
                    shared.stats.cross_node_latency.record(receiver.shard, latency);
                }
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystroke_intervals_average_one_over_the_rate() {
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 20_000;
        let total: f64 = (0..n).map(|_| next_interval(5.0, &mut rng).as_secs_f64()).sum();
        let mean = total / n as f64;
        assert!((mean - 0.2).abs() < 0.01, "mean interval {mean}");
        assert_eq!(next_interval(0.0, &mut rng), IDLE_INTERVAL);
    }
}
