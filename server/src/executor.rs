//! [`Executor`]: the threads that do CRDT work, so the async runtime's threads only move bytes.
//!
//! Applying one update to a large document can take milliseconds (issue 18: 1–2.5 ms at 20,000
//! client ids). On tokio's worker threads, a document hammered by two clients kept both workers
//! busy: `/healthz` took seconds, other documents stalled and SIGTERM waited. Here each room
//! queues its work on its own [`Lane`], and a fixed set of threads runs the lanes that have work,
//! round robin: a lane runs on one thread at a time, for one time slice, then goes to the back of
//! the queue. A hot document so occupies at most one thread, and a quiet one waits at most a
//! slice per busy document ahead of it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long a lane runs before the next lane with work gets the thread.
const SLICE: Duration = Duration::from_millis(2);

/// Stack of each thread. yrs recurses in places (0.28 once per client of an update in one
/// order): an update of 20,000 client ids overflows a debug build's 2 MiB. Only the pages
/// touched are ever resident, so a generous reservation costs nothing per thread.
const STACK_BYTES: usize = 64 << 20;

type Job = Box<dyn FnOnce() + Send>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Jobs run outside these locks; a poisoned one only means a thread died between two lines.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct RunQueue {
    lanes: VecDeque<Arc<Lane>>,
    stopping: bool,
}

struct Shared {
    queue: Mutex<RunQueue>,
    ready: Condvar,
}

impl Shared {
    fn schedule(&self, lane: Arc<Lane>) {
        lock(&self.queue).lanes.push_back(lane);
        self.ready.notify_one();
    }

    /// The next lane with work; `None` once the executor stops.
    fn next(&self) -> Option<Arc<Lane>> {
        let mut queue = lock(&self.queue);
        loop {
            if queue.stopping {
                return None;
            }
            if let Some(lane) = queue.lanes.pop_front() {
                return Some(lane);
            }
            queue = self.ready.wait(queue).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// A fixed set of threads running [`Lane`]s. Dropping it stops the threads (work still queued
/// is dropped: callers waiting on [`Lane::run`] get `None`).
pub(crate) struct Executor {
    shared: Arc<Shared>,
}

impl Executor {
    /// Starts `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(RunQueue { lanes: VecDeque::new(), stopping: false }),
            ready: Condvar::new(),
        });
        for n in 0..threads.max(1) {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tandem-crdt-{n}"))
                .stack_size(STACK_BYTES)
                .spawn(move || work(&shared));
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a CRDT thread");
            }
        }
        Self { shared }
    }

    /// One thread per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// A new, empty lane.
    pub fn lane(&self) -> Arc<Lane> {
        Arc::new(Lane {
            state: Mutex::new(LaneState { jobs: VecDeque::new(), scheduled: false }),
            shared: self.shared.clone(),
        })
    }

    /// Runs `job` on one of the threads and returns its result (`None` if the executor stopped
    /// or `job` panicked).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.lane().run(job).await
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        lock(&self.shared.queue).stopping = true;
        self.shared.ready.notify_all();
    }
}

struct LaneState {
    jobs: VecDeque<Job>,
    /// In the run queue or running: set by whoever queues the lane, cleared by the thread that
    /// finds it empty.
    scheduled: bool,
}

/// Jobs that run one at a time, in the order they were queued (a room's work).
pub(crate) struct Lane {
    state: Mutex<LaneState>,
    shared: Arc<Shared>,
}

impl Lane {
    /// Queues `job` behind the lane's earlier jobs.
    pub fn submit(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) {
        let schedule = {
            let mut state = lock(&self.state);
            state.jobs.push_back(Box::new(job));
            !std::mem::replace(&mut state.scheduled, true)
        };
        if schedule {
            self.shared.schedule(self.clone());
        }
    }

    /// Queues `job` and waits for its result (`None` if the executor stopped or `job`
    /// panicked).
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.submit(move || {
            let _ = tx.send(job());
        });
        rx.await.ok()
    }

    /// Runs jobs for up to a [`SLICE`]; returns whether jobs are left (the lane stays
    /// scheduled) or not (it is no longer).
    fn run_slice(&self) -> bool {
        let started = Instant::now();
        loop {
            let job = {
                let mut state = lock(&self.state);
                match state.jobs.pop_front() {
                    Some(job) => job,
                    None => {
                        state.scheduled = false;
                        return false;
                    }
                }
            };
            if std::panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                tracing::error!("a CRDT job panicked");
            }
            if started.elapsed() >= SLICE {
                let mut state = lock(&self.state);
                if state.jobs.is_empty() {
                    state.scheduled = false;
                    return false;
                }
                return true;
            }
        }
    }
}

fn work(shared: &Shared) {
    while let Some(lane) = shared.next() {
        if lane.run_slice() {
            shared.schedule(lane);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_lane_runs_its_jobs_in_order() {
        let executor = Executor::new(2);
        let lane = executor.lane();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for n in 0..100 {
            let seen = seen.clone();
            lane.submit(move || lock(&seen).push(n));
        }
        assert_eq!(lane.run(|| 7).await, Some(7));
        assert_eq!(*lock(&seen), (0..100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_busy_lane_does_not_hold_up_another() {
        // One thread: the quiet lane's job must get it between the busy lane's slices.
        let executor = Executor::new(1);
        let busy = executor.lane();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..1_000 {
            let done = done.clone();
            busy.submit(move || {
                std::thread::sleep(Duration::from_millis(1));
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        assert_eq!(executor.run(|| "quiet").await, Some("quiet"));
        assert!(done.load(Ordering::Relaxed) < 1_000, "the quiet job waited for every busy one");
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_the_lane_goes_on() {
        let executor = Executor::new(1);
        let lane = executor.lane();
        let panicked: Option<()> =
            lane.run(|| std::panic::resume_unwind(Box::new("injected"))).await;
        assert_eq!(panicked, None);
        assert_eq!(lane.run(|| 1).await, Some(1));
    }
}
