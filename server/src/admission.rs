//! [`Admission`]: how many sockets may be open at once, and which one gives way when they all
//! are.
//!
//! Every accepted socket counts from the moment it is accepted, while it is still in its TLS
//! or HTTP handshake ("pending"), not only once it is a websocket: a crowd of half-open
//! handshakes would otherwise use up the process's file descriptors and lock everyone out.
//! When every slot is taken, the oldest pending socket is evicted to make room: a legitimate
//! client finishes its handshake in milliseconds, so a flood of handshakes that never finish
//! only pushes out its own members. Only when every slot holds an established websocket is a
//! new socket refused.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Open sockets, up to a limit.
#[derive(Debug)]
pub(crate) struct Admission {
    limit: usize,
    state: Mutex<State>,
    /// Signalled when a slot is dropped (its socket closed).
    freed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Sockets counted: pending, established and evicted but not yet closed.
    open: usize,
    /// Evicted sockets whose tasks have not closed them yet.
    evicting: usize,
    /// The last slot number handed out; numbers grow, so the smallest pending is the oldest.
    last: u64,
    /// Pending sockets by age, each with the token that evicts it.
    pending: BTreeMap<u64, CancellationToken>,
}

/// Whether the next socket can be admitted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// A slot is free: accept and [`Admission::admit`].
    Free,
    /// A pending socket is being closed to make room: wait for [`Admission::freed`].
    Making,
    /// Every slot holds an established websocket: the next socket is refused.
    Full,
}

impl Admission {
    /// Room for `limit` sockets (at least one).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit: limit.max(1), state: Mutex::default(), freed: Notify::new() })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few counters updated under the lock in one step each; a panic
        // elsewhere cannot leave them half-changed.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes room for one more socket if every slot is taken, by evicting the oldest pending
    /// socket (unless one is being evicted already). An evicted socket counts until its task
    /// has closed it, so the sockets open never exceed the limit.
    pub fn make_room(&self) -> Room {
        let mut state = self.state();
        if state.open < self.limit {
            return Room::Free;
        }
        if state.evicting > 0 {
            return Room::Making;
        }
        match state.pending.pop_first() {
            Some((_, oldest)) => {
                oldest.cancel();
                state.evicting += 1;
                Room::Making
            }
            None => Room::Full,
        }
    }

    /// Resolves after a slot was dropped since the last call (or now, if one was).
    pub async fn freed(&self) {
        self.freed.notified().await;
    }

    /// A slot for a socket just accepted, after [`Admission::make_room`] said [`Room::Free`].
    /// Only one task (the accept loop) admits, so the room it found is still there.
    pub fn admit(self: &Arc<Self>) -> Slot {
        let mut state = self.state();
        state.open += 1;
        state.last += 1;
        let id = state.last;
        let evicted = CancellationToken::new();
        state.pending.insert(id, evicted.clone());
        Slot { admission: self.clone(), id, evicted }
    }

    /// Sockets that may still be admitted without evicting one.
    pub fn available(&self) -> usize {
        self.limit.saturating_sub(self.state().open)
    }
}

/// One socket's place in the [`Admission`] count, from its accept until it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    admission: Arc<Admission>,
    id: u64,
    evicted: CancellationToken,
}

impl Slot {
    /// Marks the socket established (an open websocket): it is never evicted from now on.
    /// `false` if it was evicted already; then it must be closed.
    pub fn establish(&self) -> bool {
        let mut state = self.admission.state();
        state.pending.remove(&self.id);
        !self.evicted.is_cancelled()
    }

    /// Resolves when the socket was evicted to make room for a newer one.
    pub fn evicted(&self) -> WaitForCancellationFuture<'_> {
        self.evicted.cancelled()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.admission.state();
        state.open -= 1;
        state.pending.remove(&self.id);
        if self.evicted.is_cancelled() {
            state.evicting -= 1;
        }
        // One waiter at most (the accept loop); a permit is kept if it is not waiting yet.
        self.admission.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_house_of_handshakes_makes_room_for_the_next_one() {
        let admission = Admission::new(2);
        assert_eq!(admission.make_room(), Room::Free);
        let first = admission.admit();
        let second = admission.admit();
        assert_eq!(admission.available(), 0);
        // The oldest pending socket gives way, and counts until it is closed.
        assert_eq!(admission.make_room(), Room::Making);
        assert!(first.evicted.is_cancelled());
        assert!(!second.evicted.is_cancelled());
        assert_eq!(admission.make_room(), Room::Making, "one eviction at a time");
        assert!(!second.evicted.is_cancelled());
        assert!(!first.establish(), "an evicted socket cannot become a websocket");
        drop(first);
        assert_eq!(admission.make_room(), Room::Free);
        let third = admission.admit();
        drop((second, third));
        assert_eq!(admission.available(), 2);
    }

    #[test]
    fn established_sockets_are_never_evicted() {
        let admission = Admission::new(2);
        let websocket = admission.admit();
        assert!(websocket.establish());
        let pending = admission.admit();
        assert_eq!(admission.make_room(), Room::Making);
        assert!(pending.evicted.is_cancelled());
        drop(pending);
        let newer = admission.admit();
        assert!(newer.establish());
        // Both slots hold websockets: the next socket is refused.
        assert_eq!(admission.make_room(), Room::Full);
        drop(websocket);
        assert_eq!(admission.make_room(), Room::Free);
    }
}
