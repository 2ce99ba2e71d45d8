//! Prometheus metrics, kept in atomics and rendered by hand in the text exposition format
//! (`GET /metrics`).

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// Sets the value.
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Bucket upper bounds in seconds, from 50 µs to 10 s.
const BUCKETS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
    }
}

/// Why a message or connection was rejected (the `reason` label of `tandem_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Undecodable frame, bad update or awareness.
    Malformed,
    /// A text frame.
    TextFrame,
    /// A frame over the size limit.
    TooLarge,
    /// A read-only client's update.
    ReadOnly,
    /// A missing or invalid token.
    Auth,
    /// A reader that fell too far behind.
    SlowReader,
    /// Over the connection limit.
    ConnectionLimit,
    /// Presence published for a client another connection owns (left out, not relayed).
    Presence,
    /// A document past `--max-docs-per-connection` on a multiplexed connection.
    DocumentLimit,
}

impl Rejection {
    const ALL: [Rejection; 9] = [
        Rejection::Malformed,
        Rejection::TextFrame,
        Rejection::TooLarge,
        Rejection::ReadOnly,
        Rejection::Auth,
        Rejection::SlowReader,
        Rejection::ConnectionLimit,
        Rejection::Presence,
        Rejection::DocumentLimit,
    ];

    fn label(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::TextFrame => "text_frame",
            Rejection::TooLarge => "too_large",
            Rejection::ReadOnly => "read_only",
            Rejection::Auth => "auth",
            Rejection::SlowReader => "slow_reader",
            Rejection::ConnectionLimit => "connection_limit",
            Rejection::Presence => "presence",
            Rejection::DocumentLimit => "document_limit",
        }
    }
}

/// Every metric the server keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open websocket connections.
    pub connections: Gauge,
    /// Websocket connections accepted since start.
    pub connections_total: Counter,
    /// Documents open on multiplexed connections.
    pub mux_documents: Gauge,
    /// Documents opened on multiplexed connections since start.
    pub mux_documents_total: Counter,
    /// Documents loaded in memory.
    pub documents_loaded: Gauge,
    /// Websocket messages received.
    pub messages_in: Counter,
    /// Websocket messages sent.
    pub messages_out: Counter,
    /// Bytes received in websocket messages.
    pub bytes_in: Counter,
    /// Bytes sent in websocket messages.
    pub bytes_out: Counter,
    /// Time to apply one client frame to its document.
    pub update_apply_seconds: Histogram,
    /// Time of one storage transaction (a group commit).
    pub storage_commit_seconds: Histogram,
    /// Storage commit attempts that failed (each retry of a held batch counts).
    pub storage_errors: Counter,
    /// 1 while the writer holds a batch that storage refused, else 0.
    pub storage_failing: Gauge,
    /// Compactions of a log into a snapshot.
    pub compactions: Counter,
    /// Times a connection had to wait for its rate limit.
    pub rate_limited: Counter,
    /// Times a connection had to wait because its frames used up its CPU budget.
    pub cpu_limited: Counter,
    /// Replicas built only to read the text of a document that is not loaded.
    pub text_builds: Counter,
    rejected: [Counter; Rejection::ALL.len()],
}

impl Metrics {
    /// Counts one rejection.
    pub fn reject(&self, reason: Rejection) {
        self.rejected[reason as usize].inc();
    }

    /// Rejections so far for `reason`.
    pub fn rejected(&self, reason: Rejection) -> u64 {
        self.rejected[reason as usize].get()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauges = [
            ("tandem_connections", "Open websocket connections.", self.connections.get()),
            ("tandem_documents_loaded", "Documents loaded in memory.", self.documents_loaded.get()),
            (
                "tandem_mux_documents",
                "Documents open on multiplexed connections (each also counts as a session of its room).",
                self.mux_documents.get(),
            ),
            (
                "tandem_storage_failing",
                "1 while the writer holds writes that storage refused (retrying), else 0.",
                self.storage_failing.get(),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        let counters = [
            (
                "tandem_connections_total",
                "Websocket connections accepted.",
                &self.connections_total,
            ),
            (
                "tandem_mux_documents_total",
                "Documents opened on multiplexed connections.",
                &self.mux_documents_total,
            ),
            ("tandem_messages_in_total", "Websocket messages received.", &self.messages_in),
            ("tandem_messages_out_total", "Websocket messages sent.", &self.messages_out),
            ("tandem_bytes_in_total", "Bytes received in websocket messages.", &self.bytes_in),
            ("tandem_bytes_out_total", "Bytes sent in websocket messages.", &self.bytes_out),
            (
                "tandem_storage_errors_total",
                "Storage commit attempts that failed.",
                &self.storage_errors,
            ),
            (
                "tandem_compactions_total",
                "Update logs compacted into snapshots.",
                &self.compactions,
            ),
            (
                "tandem_rate_limited_total",
                "Times a connection waited for its rate limit.",
                &self.rate_limited,
            ),
            (
                "tandem_cpu_limited_total",
                "Times a connection waited because its updates used up its CPU budget.",
                &self.cpu_limited,
            ),
            (
                "tandem_text_builds_total",
                "Replicas built to read the text of a document that is not loaded.",
                &self.text_builds,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.get()
            );
        }
        let name = "tandem_rejected_total";
        let _ = writeln!(
            out,
            "# HELP {name} Messages or connections rejected, by reason.\n# TYPE {name} counter"
        );
        for reason in Rejection::ALL {
            let _ =
                writeln!(out, "{name}{{reason=\"{}\"}} {}", reason.label(), self.rejected(reason));
        }
        self.update_apply_seconds.render(
            &mut out,
            "tandem_update_apply_seconds",
            "Time to apply one client frame to its document.",
        );
        self.storage_commit_seconds.render(
            &mut out,
            "tandem_storage_commit_seconds",
            "Time of one storage transaction (group commit).",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.messages_in.add(3);
        metrics.reject(Rejection::TextFrame);
        metrics.update_apply_seconds.observe(Duration::from_micros(40));
        metrics.update_apply_seconds.observe(Duration::from_millis(3));
        let text = metrics.render();
        assert!(text.contains("tandem_messages_in_total 3\n"), "{text}");
        assert!(text.contains("tandem_rejected_total{reason=\"text_frame\"} 1\n"), "{text}");
        assert!(text.contains("tandem_update_apply_seconds_bucket{le=\"0.00005\"} 1\n"), "{text}");
        assert!(text.contains("tandem_update_apply_seconds_bucket{le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("tandem_update_apply_seconds_count 2\n"), "{text}");
    }
}
