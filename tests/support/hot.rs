//! The hot-document attack of issue 18 (item 3): one document made expensive to touch, then
//! hammered within the default rate limits, while the rest of the server is watched.
//!
//! - seed: one update holding `seed_clients` items, each from its own client id, chained one
//!   after the other (the 323 KB update of 20,000 client ids);
//! - attack: `attackers` connections each send `rate` one-char updates per second to it (and
//!   read whatever the server relays, so none is dropped as a slow reader);
//! - watch: `GET /healthz` every 50 ms, and an update relayed between two clients of another
//!   document every 50 ms (send to receive);
//! - at the end, with the attack still on: SIGTERM, and how long until a client of the other
//!   document is told "going away" and until the process exits.
//!
//! [`HotAttack::run`] returns the latencies; the test (`tests/server_hot_document.rs`) checks
//! generous bounds and the benchmark prints the precise figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tandem_crdt::{Document, DocumentConfig, Message as YMessage, SyncSession};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{TIMEOUT, TestServer, http_get};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The attack's shape.
#[derive(Debug, Clone)]
pub struct HotAttack {
    /// Client ids in the seed update (20,000 in the issue).
    pub seed_clients: usize,
    /// Connections hammering the hot document (2 in the issue).
    pub attackers: usize,
    /// Updates per second each attacker sends (500 in the issue; the default limit is 1,000).
    pub rate: u32,
    /// How long the attack runs before SIGTERM.
    pub duration: Duration,
}

impl Default for HotAttack {
    fn default() -> Self {
        Self { seed_clients: 20_000, attackers: 2, rate: 500, duration: Duration::from_secs(10) }
    }
}

/// What the attack did to the rest of the server. Latencies in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct HotAttackReport {
    /// Bytes of the seed update.
    pub seed_bytes: usize,
    /// `GET /healthz` round trips during the attack.
    pub healthz_ms: Vec<f64>,
    /// Another document's relay (send to receive) during the attack.
    pub relay_ms: Vec<f64>,
    /// Updates the attackers sent.
    pub attack_updates: u64,
    /// `tandem_cpu_limited_total` at the end: how often connections waited for their CPU
    /// budget (`None`: the server has no such metric).
    pub cpu_limited: Option<u64>,
    /// Updates the server applied (`tandem_update_apply_seconds_count`), and their mean cost
    /// in milliseconds.
    pub applied: Option<(u64, f64)>,
    /// SIGTERM to "going away" on another document's connection (`None`: never came).
    pub sigterm_close_ms: Option<f64>,
    /// SIGTERM to the process's exit.
    pub sigterm_exit_ms: f64,
}

/// The `p`th percentile (0–100) of `values`; 0 when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n => sorted[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1],
    }
}

impl HotAttackReport {
    /// One line of figures.
    pub fn summary(&self) -> String {
        let stats = |v: &[f64]| {
            format!(
                "n={} p50={:.1} p99={:.1} max={:.1} ms",
                v.len(),
                percentile(v, 50.0),
                percentile(v, 99.0),
                percentile(v, 100.0)
            )
        };
        format!(
            "seed {} bytes; attack updates sent {}, applied (count, mean ms) {:?}; CPU-limited \
             waits {:?}; /healthz {}; other document's relay {}; SIGTERM to going-away {}; to \
             exit {:.0} ms",
            self.seed_bytes,
            self.attack_updates,
            self.applied,
            self.cpu_limited,
            stats(&self.healthz_ms),
            stats(&self.relay_ms),
            self.sigterm_close_ms.map_or("never".to_owned(), |ms| format!("{ms:.0} ms")),
            self.sigterm_exit_ms,
        )
    }
}

fn write_var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    write_var(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// One Yjs update (lib0 v1) of `clients` one-char items of the root text `text_name`, each from
/// its own client id and each placed right after the previous one. Encoded directly: building
/// it through 20,000 replicas would take longer than the attack.
pub fn seed_update(clients: usize, text_name: &str) -> Vec<u8> {
    // Ids of 32 bits, as Yjs picks them: 5-byte varints, as in the update. Falling
    // along the chain: yrs integrates clients from the highest id, so each item finds its left
    // origin already in place (rising ids make yrs 0.28 recurse once per client: a debug
    // build's stack overflows).
    let id = |i: usize| 0xF000_0000_u64 - i as u64 * 7919;
    let mut out = Vec::new();
    write_var(&mut out, clients as u64);
    for i in 0..clients {
        write_var(&mut out, 1); // one struct
        write_var(&mut out, id(i));
        write_var(&mut out, 0); // at clock 0
        if i == 0 {
            out.push(0x04); // an item of string content, no origins: its parent follows
            write_var(&mut out, 1); // the parent is a root type, by name
            write_string(&mut out, text_name);
        } else {
            out.push(0x84); // string content, left origin: the previous client's item
            write_var(&mut out, id(i - 1));
            write_var(&mut out, 0);
        }
        write_string(&mut out, "x");
    }
    write_var(&mut out, 0); // no deletions
    out
}

async fn connect(server: &TestServer, doc: &str) -> anyhow::Result<Socket> {
    let url = server.ws_url(doc);
    let (socket, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(&url))
        .await
        .with_context(|| format!("connecting to {url} timed out"))??;
    Ok(socket)
}

/// A writer of one-char updates under its own client id.
struct Typist(Document);

impl Typist {
    fn new(client_id: u64) -> anyhow::Result<Self> {
        Ok(Self(Document::new(DocumentConfig::new(client_id))?))
    }

    fn next_frame(&mut self) -> anyhow::Result<Vec<u8>> {
        Ok(SyncSession::update_frame(&self.0.insert(0, "a", 0)?))
    }
}

fn is_update(frame: &[u8]) -> bool {
    YMessage::decode_frame(frame)
        .is_ok_and(|messages| messages.iter().any(|m| matches!(m, YMessage::Update { .. })))
}

impl HotAttack {
    /// Runs the attack against `server` (document ids `hot` and `calm`), then stops it with
    /// SIGTERM.
    pub async fn run(&self, server: &mut TestServer) -> anyhow::Result<HotAttackReport> {
        let mut report = HotAttackReport::default();
        let seed = seed_update(self.seed_clients, tandem_crdt::DEFAULT_TEXT_NAME);
        report.seed_bytes = seed.len();
        let mut seeder = connect(server, "hot").await?;
        seeder.send(Message::Binary(SyncSession::update_frame(&seed).into())).await?;
        let deadline = Instant::now() + TIMEOUT * 3;
        loop {
            // The text waits for the seed to be applied, which on a loaded machine may take
            // longer than one request's timeout: only the deadline ends the wait.
            let (status, text) = match http_get(server.addr(), "/api/docs/hot/text").await {
                Ok(answer) => answer,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(error) => {
                    return Err(error.context(format!("server log:\n{}", server.log())));
                }
            };
            if status == 200 && text.len() == self.seed_clients {
                break;
            }
            if Instant::now() > deadline {
                bail!("the seed update was not applied: {status}, {} chars", text.len());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(seeder);

        // Before the attack: it measures what the attack does to connections already open.
        let mut sender = connect(server, "calm").await?;
        let mut receiver = connect(server, "calm").await?;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let mut attackers = Vec::new();
        for n in 0..self.attackers {
            let socket = connect(server, "hot").await?;
            attackers.push(tokio::spawn(attack(
                socket,
                n as u64,
                self.rate,
                stop.clone(),
                sent.clone(),
            )));
        }
        let addr = server.addr();
        let healthz = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    if let Ok(Ok((200, _))) =
                        tokio::time::timeout(TIMEOUT * 3, http_get(addr, "/healthz")).await
                    {
                        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                latencies
            }
        });

        let mut typist = Typist::new(4242)?;
        let started = Instant::now();
        while started.elapsed() < self.duration {
            let sent_at = Instant::now();
            sender.send(Message::Binary(typist.next_frame()?.into())).await?;
            loop {
                match tokio::time::timeout(TIMEOUT * 3, receiver.next()).await {
                    Ok(Some(Ok(Message::Binary(frame)))) if is_update(&frame) => break,
                    Ok(Some(Ok(_))) => {}
                    other => bail!("the other document's receiver: {other:?}"),
                }
            }
            report.relay_ms.push(sent_at.elapsed().as_secs_f64() * 1000.0);
            // Read what the server sent the sender (its opening frames), so it is not dropped.
            while let Ok(Some(_)) = tokio::time::timeout(Duration::ZERO, sender.next()).await {}
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let (_, metrics) = http_get(server.addr(), "/metrics").await?;
        let metric = |name: &str| -> Option<f64> {
            metrics.lines().find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        };
        report.cpu_limited = metric("tandem_cpu_limited_total ").map(|n| n as u64);
        if let (Some(count), Some(sum)) = (
            metric("tandem_update_apply_seconds_count "),
            metric("tandem_update_apply_seconds_sum "),
        ) {
            report.applied = Some((count as u64, sum * 1000.0 / count.max(1.0)));
        }
        // SAFETY: kill(2) on the server's pid; no memory is touched.
        let signalled = Instant::now();
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
        let close_deadline = signalled + TIMEOUT * 3;
        while Instant::now() < close_deadline {
            let left = close_deadline - Instant::now();
            match tokio::time::timeout(left, receiver.next()).await {
                Ok(Some(Ok(Message::Close(_)))) => {
                    report.sigterm_close_ms = Some(signalled.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        stop.store(true, Ordering::Relaxed);
        if let Err(error) = server.stop().await {
            eprintln!("{error:#}");
        }
        report.sigterm_exit_ms = signalled.elapsed().as_secs_f64() * 1000.0;
        for attacker in attackers {
            attacker.abort();
        }
        report.healthz_ms = healthz.await?;
        report.attack_updates = sent.load(Ordering::Relaxed);
        Ok(report)
    }
}

/// One attacker: `rate` updates per second in batches every 10 ms, reading (and dropping)
/// whatever the server sends back, until `stop`.
async fn attack(
    socket: Socket,
    n: u64,
    rate: u32,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let (mut sink, mut stream) = socket.split();
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut typist = Typist::new(1_000 + n)?;
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let mut due = 0.0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        due += f64::from(rate) / 100.0;
        while due >= 1.0 {
            sink.feed(Message::Binary(typist.next_frame()?.into())).await?;
            sent.fetch_add(1, Ordering::Relaxed);
            due -= 1.0;
        }
        sink.flush().await?;
    }
    Ok(())
}
