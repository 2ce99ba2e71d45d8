//! Counters, latency histograms and the report. All latencies are recorded in microseconds and
//! reported in milliseconds.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Histograms are sharded so that thousands of client tasks rarely contend on one lock.
const SHARDS: usize = 16;
/// Largest latency recorded exactly (10 minutes, in µs); longer ones saturate.
const MAX_LATENCY_US: u64 = 600_000_000;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking client task cannot leave a histogram or a send log half-updated in a way
    // that matters for a report, so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant histogram bounds are valid")
}

/// A latency histogram shared by every client task.
pub struct Latencies {
    shards: Box<[Mutex<Histogram<u64>>]>,
}

impl Default for Latencies {
    fn default() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect();
        Self { shards }
    }
}

impl Latencies {
    /// Records one latency of `us` microseconds; `shard` spreads the callers (any number).
    pub fn record(&self, shard: usize, us: u64) {
        lock(&self.shards[shard % SHARDS]).saturating_record(us.max(1));
    }

    /// All shards merged into one summary.
    pub fn summary(&self) -> LatencySummary {
        let mut all = new_histogram();
        for shard in self.shards.iter() {
            // Same bounds on both sides, so adding cannot fail.
            let _ = all.add(&*lock(shard));
        }
        LatencySummary::of(&all)
    }
}

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

impl LatencySummary {
    /// The summary of a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// A counter that only counts inside the measurement window (see [`Stats::set_counting`]).
#[derive(Default)]
pub struct WindowCounter(AtomicU64);

impl WindowCounter {
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything the client tasks measure, shared between them.
pub struct Stats {
    start: Instant,
    counting: AtomicBool,
    /// Updates sent (keystrokes) inside the window.
    pub sent_updates: WindowCounter,
    /// Messages received inside the window.
    pub received_messages: WindowCounter,
    /// Update messages received inside the window.
    pub received_updates: WindowCounter,
    /// Updates confirmed durable inside the window.
    pub durable_confirmed: WindowCounter,
    /// Updates confirmed durable at any time (seeding and the drain included).
    pub durable_confirmed_total: AtomicU64,
    /// Protocol errors, send failures and malformed frames.
    pub errors: AtomicU64,
    /// Connection attempts that failed.
    pub connect_failures: AtomicU64,
    /// Reconnections after an established connection dropped.
    pub reconnects: AtomicU64,
    /// Connections established (reconnections included).
    pub connections: AtomicU64,
    /// Clients whose first sync completed.
    pub synced_clients: AtomicU64,
    /// End-to-end latency: a keystroke sent by one client until another client received it.
    pub latency: Latencies,
    /// The part of `latency` whose writer and reader sat on different nodes (several URLs).
    pub cross_node_latency: Latencies,
    /// Connect to SyncStep2 received.
    pub sync_time: Latencies,
    /// A keystroke sent until the server confirmed it durable.
    pub durable_latency: Latencies,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            counting: AtomicBool::new(false),
            sent_updates: WindowCounter::default(),
            received_messages: WindowCounter::default(),
            received_updates: WindowCounter::default(),
            durable_confirmed: WindowCounter::default(),
            durable_confirmed_total: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            synced_clients: AtomicU64::new(0),
            latency: Latencies::default(),
            cross_node_latency: Latencies::default(),
            sync_time: Latencies::default(),
            durable_latency: Latencies::default(),
        }
    }
}

impl Stats {
    /// Microseconds since the stats were created: the time base of every timestamp.
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Opens or closes the measurement window of the [`WindowCounter`]s.
    pub fn set_counting(&self, on: bool) {
        self.counting.store(on, Ordering::Relaxed);
    }

    /// Adds `n` to a window counter if the window is open.
    pub fn count(&self, counter: &WindowCounter, n: u64) {
        if self.counting.load(Ordering::Relaxed) {
            counter.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds one to a plain counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One writer's inserts, oldest first: (clock of the first inserted item, send time in µs).
type WriterLog = Mutex<Vec<(u32, u64)>>;

/// When each typing client sent each insert, so that any receiver in this process can turn a
/// received update into a latency. Writers are numbered `0..n` and their Yjs client ids are
/// `base + slot`, so the lookup is an index, not a hash.
pub struct SendLog {
    base: u64,
    writers: Box<[WriterLog]>,
}

impl SendLog {
    /// A log for `writers` writers whose client ids start at `base`.
    pub fn new(base: u64, writers: usize) -> Self {
        Self { base, writers: (0..writers).map(|_| Mutex::default()).collect() }
    }

    /// The Yjs client id of writer `slot`.
    pub fn client_id(&self, slot: usize) -> u64 {
        self.base + slot as u64
    }

    /// Writer `slot` sent an insert whose first item has clock `clock` at `sent_us`. Clocks of
    /// one writer only grow, so the log stays sorted.
    pub fn record(&self, slot: usize, clock: u32, sent_us: u64) {
        if let Some(log) = self.writers.get(slot) {
            lock(log).push((clock, sent_us));
        }
    }

    /// The writer slot of Yjs client id `client`, if it is one of this run's writers.
    pub fn slot_of(&self, client: u64) -> Option<usize> {
        let slot = usize::try_from(client.checked_sub(self.base)?).ok()?;
        (slot < self.writers.len()).then_some(slot)
    }

    /// Calls `found` with the send time of every insert by `client` whose first clock lies in
    /// `clocks` (a received update may merge several inserts).
    pub fn lookup(&self, client: u64, clocks: Range<u32>, mut found: impl FnMut(u64)) {
        let Some(log) = self.slot_of(client).map(|slot| &self.writers[slot]) else { return };
        let log = lock(log);
        let first = log.partition_point(|&(clock, _)| clock < clocks.start);
        for &(clock, sent) in &log[first..] {
            if clock >= clocks.end {
                break;
            }
            found(sent);
        }
    }
}

/// Connection figures of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionReport {
    /// Simulated clients.
    pub clients: u64,
    /// Clients that completed their first sync within the connect timeout.
    pub synced: u64,
    /// Connections established, reconnections included.
    pub established: u64,
    /// Connection attempts that failed.
    pub failures: u64,
    /// Reconnections after a drop.
    pub reconnects: u64,
    /// Seconds from the first connect until every client had synced (or the timeout).
    pub connect_phase_s: f64,
}

/// Durable confirmations (tandem's extension).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DurableReport {
    /// Updates confirmed durable inside the window.
    pub confirmed: u64,
    /// Confirmed durable updates per second over the window.
    pub confirmed_per_s: f64,
    /// Updates confirmed durable over the whole run.
    pub confirmed_total: u64,
    /// Keystroke until durable confirmation.
    pub latency: LatencySummary,
}

/// Result of `--verify-durable` and `--verify-sent`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Updates the server confirmed durable and that were checked.
    pub confirmed_checked: u64,
    /// Confirmed updates missing from the final state.
    pub missing: u64,
    /// Updates sent (confirmed or not) that were checked (with `--verify-sent`).
    pub sent_checked: u64,
    /// Sent updates missing from the final state (with `--verify-sent`): what the server
    /// lost, when clients did not resync (`--reconnect never`).
    pub sent_missing: u64,
    /// Documents whose final state could not be fetched.
    pub fetch_failures: u64,
    /// Whether every confirmed update was found and every document fetched.
    pub ok: bool,
}

/// Result of `--seed-updates`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    /// Updates written per document.
    pub updates_per_doc: u64,
    /// Seconds the seeding took (all documents).
    pub seconds: f64,
    /// Updates per second while seeding.
    pub updates_per_s: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Server URLs (the nodes).
    pub urls: Vec<String>,
    /// The servers' dialect.
    pub protocol: crate::protocol::Protocol,
    /// Documents.
    pub docs: u64,
    /// Clients per document.
    pub clients_per_doc: u64,
    /// Typing clients per document.
    pub writers_per_doc: u64,
    /// Keystrokes per second per typing client.
    pub rate: f64,
    /// Length of the typing window in seconds.
    pub duration_s: f64,
    /// Updates sent inside the window.
    pub sent_updates: u64,
    /// Updates sent per second ("updates/s in" at the server).
    pub updates_per_s: f64,
    /// Messages received inside the window.
    pub received_messages: u64,
    /// Messages received per second ("messages/s out" of the server).
    pub messages_per_s: f64,
    /// Update messages received inside the window.
    pub received_updates: u64,
    /// End-to-end latency of keystrokes between clients.
    pub latency: LatencySummary,
    /// The keystrokes written on one node and received on another (several URLs only).
    pub cross_node_latency: Option<LatencySummary>,
    /// Connect until SyncStep2 received.
    pub sync_time: LatencySummary,
    /// Protocol and send errors.
    pub errors: u64,
    /// Connection figures.
    pub connections: ConnectionReport,
    /// Durable confirmations (with `--ext-durable`).
    pub durable: Option<DurableReport>,
    /// Verification (with `--verify-durable`).
    pub verify: Option<VerifyReport>,
    /// Seeding (with `--seed-updates`).
    pub seed: Option<SeedReport>,
    /// Seconds spent creating the documents over HTTP before connecting (y-sweet only; it
    /// loads a stored document then, so a cold load's time is this plus the sync time).
    pub create_s: Option<f64>,
}

impl Report {
    /// A short human-readable summary.
    pub fn human(&self) -> String {
        let l = &self.latency;
        let c = &self.connections;
        let mut out = format!(
            "{} docs x {} clients ({} typing) x {} keys/s for {:.1}s against {}\n\
             sent      {} updates ({:.0}/s)\n\
             received  {} messages ({:.0}/s), {} updates\n\
             latency   p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} samples)\n\
             sync      p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n\
             clients   {} synced of {} in {:.1}s; {} connections, {} failures, {} reconnects, {} errors\n",
            self.docs,
            self.clients_per_doc,
            self.writers_per_doc,
            self.rate,
            self.duration_s,
            self.urls.join(" "),
            self.sent_updates,
            self.updates_per_s,
            self.received_messages,
            self.messages_per_s,
            self.received_updates,
            l.p50_ms,
            l.p90_ms,
            l.p99_ms,
            l.max_ms,
            l.count,
            self.sync_time.p50_ms,
            self.sync_time.p99_ms,
            self.sync_time.max_ms,
            c.synced,
            c.clients,
            c.connect_phase_s,
            c.established,
            c.failures,
            c.reconnects,
            self.errors,
        );
        if let Some(x) = &self.cross_node_latency {
            out += &format!(
                "cross     node to node p50 {:.2} ms  p99 {:.2} ms  ({} samples)\n",
                x.p50_ms, x.p99_ms, x.count
            );
        }
        if let Some(d) = &self.durable {
            out += &format!(
                "durable   {} confirmed ({:.0}/s), {} in total; ack p50 {:.2} ms p99 {:.2} ms\n",
                d.confirmed,
                d.confirmed_per_s,
                d.confirmed_total,
                d.latency.p50_ms,
                d.latency.p99_ms
            );
        }
        if let Some(s) = &self.seed {
            out += &format!(
                "seeded    {} updates per doc in {:.1}s ({:.0}/s)\n",
                s.updates_per_doc, s.seconds, s.updates_per_s
            );
        }
        if let Some(v) = &self.verify {
            out += &format!(
                "verify    {}: {} confirmed updates checked, {} missing, {} docs not fetched\n",
                if v.ok { "OK" } else { "FAILED" },
                v.confirmed_checked,
                v.missing,
                v.fetch_failures
            );
            if v.sent_checked > 0 {
                out += &format!(
                    "sent      {} updates checked, {} missing after the run\n",
                    v.sent_checked, v.sent_missing
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let latencies = Latencies::default();
        // 1..=1000 ms, spread over shards like many client tasks would.
        for ms in 1..=1000u64 {
            latencies.record(ms as usize, ms * 1000);
        }
        let s = latencies.summary();
        assert_eq!(s.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.002 + 0.001;
        assert!(close(s.p50_ms, 500.0), "p50 {}", s.p50_ms);
        assert!(close(s.p90_ms, 900.0), "p90 {}", s.p90_ms);
        assert!(close(s.p99_ms, 990.0), "p99 {}", s.p99_ms);
        assert!(close(s.max_ms, 1000.0), "max {}", s.max_ms);
        assert!(close(s.mean_ms, 500.5), "mean {}", s.mean_ms);
    }

    #[test]
    fn empty_and_huge_latencies() {
        let latencies = Latencies::default();
        assert_eq!(latencies.summary(), LatencySummary::default());
        latencies.record(0, u64::MAX);
        latencies.record(0, 0);
        let s = latencies.summary();
        assert_eq!(s.count, 2);
        assert!(s.max_ms >= 599_000.0);
    }

    #[test]
    fn window_counters_count_only_inside_the_window() {
        let stats = Stats::default();
        stats.count(&stats.sent_updates, 5);
        stats.set_counting(true);
        stats.count(&stats.sent_updates, 2);
        stats.set_counting(false);
        stats.count(&stats.sent_updates, 7);
        assert_eq!(stats.sent_updates.get(), 2);
    }

    #[test]
    fn send_log_finds_every_insert_in_a_clock_range() {
        let log = SendLog::new(1000, 2);
        assert_eq!(log.client_id(1), 1001);
        for (clock, t) in [(0, 10), (1, 11), (2, 12), (5, 15)] {
            log.record(1, clock, t);
        }
        let mut found = Vec::new();
        log.lookup(1001, 1..6, |t| found.push(t));
        assert_eq!(found, vec![11, 12, 15]);
        found.clear();
        log.lookup(1001, 3..5, |t| found.push(t));
        assert!(found.is_empty());
        // Unknown clients (other runs, other tools) are ignored.
        log.lookup(999, 0..10, |t| found.push(t));
        log.lookup(1002, 0..10, |t| found.push(t));
        log.lookup(1000, 0..10, |t| found.push(t));
        assert!(found.is_empty());
    }
}
