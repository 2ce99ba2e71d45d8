//! What a connection's frames cost the server, and how that slows the connection (issue 18).
//!
//! The rate limit counts messages and bytes, but one small update to a document of 20,000
//! client ids costs milliseconds: two clients well inside the rate limit kept a core busy. So
//! each frame's handling time on its room's lane is measured ([`Receipt::handled`]) and charged
//! to its connection ([`CpuBudget`]):
//! - a CPU-time token bucket: past a burst, a connection gets `--cpu-budget-ms` of handling per
//!   second, and its socket is read more slowly (TCP pushes back on the client), as with the
//!   rate limit;
//! - frames in flight are weighed by what this connection's frames typically cost, so one
//!   connection never queues more than about [`QUEUED_WORK`] of work ahead of everyone else on
//!   its room's lane (cheap frames still pipeline up to [`MAX_FRAMES_IN_FLIGHT`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::token_bucket::TokenBucket;

/// Frames of one connection queued on its room's lane and not handled yet, at most.
pub(crate) const MAX_FRAMES_IN_FLIGHT: u32 = 64;
/// Handling time one connection may have queued on its room's lane (estimated from what its
/// frames typically cost): what a connection that leaves, or another member's frame, waits
/// behind it.
const QUEUED_WORK: Duration = Duration::from_millis(20);
/// CPU time a connection may use at once before its budget slows it: a large paste is handled
/// at full speed.
const BURST: Duration = Duration::from_millis(500);

/// One connection's handling costs, written by its room's lane and read by the connection.
#[derive(Debug)]
pub(crate) struct CostMeter {
    /// Handling time of every frame so far, in nanoseconds.
    spent_ns: AtomicU64,
    /// A moving average of one frame's handling time, in nanoseconds.
    typical_ns: AtomicU64,
}

impl CostMeter {
    fn new() -> Self {
        // Until its frames show what they cost, a connection has one frame in flight: 64
        // unknown frames may be 64 of the expensive kind. Cheap frames bring the average down
        // within about 30 frames.
        let unknown = u64::try_from(QUEUED_WORK.as_nanos()).unwrap_or(u64::MAX);
        Self { spent_ns: AtomicU64::new(0), typical_ns: AtomicU64::new(unknown) }
    }

    fn record(&self, cost: Duration) {
        let ns = u64::try_from(cost.as_nanos()).unwrap_or(u64::MAX);
        self.spent_ns.fetch_add(ns, Ordering::Relaxed);
        // Only the room's lane writes, one frame at a time: load and store do not race.
        let typical = self.typical_ns.load(Ordering::Relaxed);
        self.typical_ns.store(typical - typical / 8 + ns / 8, Ordering::Relaxed);
    }
}

/// Goes with a frame to its room's lane: frees the frame's in-flight slots and records what
/// handling it cost.
pub(crate) struct Receipt {
    _slots: OwnedSemaphorePermit,
    meter: Arc<CostMeter>,
}

impl Receipt {
    /// The frame was handled in `cost`.
    pub fn handled(self, cost: Duration) {
        self.meter.record(cost);
    }
}

/// A connection's CPU budget.
pub(crate) struct CpuBudget {
    bucket: TokenBucket,
    meter: Arc<CostMeter>,
    /// What of `meter.spent_ns` was charged to the bucket already.
    charged_ns: u64,
}

impl CpuBudget {
    /// A budget of `ms_per_sec` milliseconds of handling per second (at least 1).
    pub fn new(ms_per_sec: u32) -> Self {
        let rate = f64::from(ms_per_sec.max(1)) / 1000.0;
        Self {
            bucket: TokenBucket::new(rate, BURST.as_secs_f64()),
            meter: Arc::new(CostMeter::new()),
            charged_ns: 0,
        }
    }

    /// Charges what the connection's frames cost since the last call; returns how long the
    /// connection must wait before its next frame.
    pub fn charge(&mut self, now: Instant) -> Duration {
        let spent = self.meter.spent_ns.load(Ordering::Relaxed);
        let new = spent.saturating_sub(self.charged_ns);
        self.charged_ns = spent;
        self.bucket.take(new as f64 / 1e9, now)
    }

    /// How many of the [`MAX_FRAMES_IN_FLIGHT`] slots the next frame takes: more when this
    /// connection's frames are expensive.
    pub fn slots(&self) -> u32 {
        let slot = QUEUED_WORK.as_nanos() as u64 / u64::from(MAX_FRAMES_IN_FLIGHT);
        let typical = self.meter.typical_ns.load(Ordering::Relaxed);
        u32::try_from(typical / slot).unwrap_or(u32::MAX).clamp(1, MAX_FRAMES_IN_FLIGHT)
    }

    /// The receipt for a frame holding `slots` (taken per [`Self::slots`]).
    pub fn receipt(&self, slots: OwnedSemaphorePermit) -> Receipt {
        Receipt { _slots: slots, meter: self.meter.clone() }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;

    use super::*;

    fn handle(budget: &CpuBudget, cost: Duration) {
        let slots = Arc::new(Semaphore::new(MAX_FRAMES_IN_FLIGHT as usize));
        budget.receipt(slots.try_acquire_owned().unwrap()).handled(cost);
    }

    #[test]
    fn cheap_frames_pipeline_and_expensive_ones_take_the_whole_queue() {
        let budget = CpuBudget::new(250);
        assert_eq!(budget.slots(), MAX_FRAMES_IN_FLIGHT, "one unknown frame at a time");
        for _ in 0..100 {
            handle(&budget, Duration::from_micros(20));
        }
        assert_eq!(budget.slots(), 1, "64 cheap frames may be queued");
        for _ in 0..100 {
            handle(&budget, Duration::from_millis(3));
        }
        assert_eq!(budget.slots(), 9, "about 20 ms of 3 ms frames");
        for _ in 0..100 {
            handle(&budget, Duration::from_millis(50));
        }
        assert_eq!(budget.slots(), MAX_FRAMES_IN_FLIGHT, "one at a time");
    }

    #[test]
    fn a_connection_that_spends_more_than_its_budget_waits() {
        let start = Instant::now();
        let mut budget = CpuBudget::new(250);
        for _ in 0..100 {
            handle(&budget, Duration::from_millis(5));
        }
        // The burst (0.5 s) is spent exactly: nothing owed.
        assert_eq!(budget.charge(start), Duration::ZERO);
        handle(&budget, Duration::from_millis(25));
        // 25 ms of CPU at 250 ms per second: 100 ms.
        let wait = budget.charge(start);
        assert!(wait.abs_diff(Duration::from_millis(100)) < Duration::from_millis(1), "{wait:?}");
        // A second later the debt is paid and 150 ms are back.
        assert_eq!(budget.charge(start + Duration::from_secs(1)), Duration::ZERO);
    }
}
