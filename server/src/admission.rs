//! [`Admission`]: how many sockets may be open at once, how many of them may be websockets, and
//! which one gives way when they are all taken.
//!
//! Every accepted socket counts from the moment it is accepted, while it is still in its TLS
//! or HTTP handshake ("pending"), not only once it is a websocket: a crowd of half-open
//! handshakes would otherwise use up the process's file descriptors and lock everyone out.
//! When every slot is taken, the oldest pending socket is evicted to make room: a legitimate
//! client finishes its handshake in milliseconds, so a flood of handshakes that never finish
//! only pushes out its own members.
//!
//! Websockets may take `limit` slots; [`HTTP_RESERVE`] more are kept for sockets that are not
//! websockets, so a server whose websockets fill `limit` still completes TLS handshakes and
//! answers plain requests: the page loads, and its websocket upgrade gets an HTTP 503 that
//! says the server is full, instead of a socket closed unanswered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Slots beyond the websockets' limit, for page and API requests and handshakes in progress:
/// a few browsers loading the page at once (each opens up to six sockets).
pub(crate) const HTTP_RESERVE: usize = 16;

/// Open sockets, up to a limit.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Websockets at most.
    limit: usize,
    state: Mutex<State>,
    /// Signalled when a slot is dropped (its socket closed).
    freed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Sockets counted: pending, established and evicted but not yet closed.
    open: usize,
    /// Established websockets.
    websockets: usize,
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
}

/// Why a socket cannot become a websocket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every websocket slot is taken: answer that the server is full.
    Full,
    /// The socket was evicted to make room for a newer one: it must be closed.
    Evicted,
}

impl Admission {
    /// Room for `limit` websockets (at least one) and [`HTTP_RESERVE`] more sockets.
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
    /// has closed it, so the sockets open never exceed the limit. There is always a pending
    /// or evicted socket to wait for: websockets never take the [`HTTP_RESERVE`].
    pub fn make_room(&self) -> Room {
        let mut state = self.state();
        if state.open < self.limit + HTTP_RESERVE {
            return Room::Free;
        }
        if state.evicting == 0
            && let Some((_, oldest)) = state.pending.pop_first()
        {
            oldest.cancel();
            state.evicting += 1;
        }
        Room::Making
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

    /// Websockets that may still open.
    pub fn available(&self) -> usize {
        self.limit.saturating_sub(self.state().websockets)
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
    /// Makes the socket a websocket, which is never evicted from now on; refused when every
    /// websocket slot is taken (the socket stays an HTTP connection) or when it was evicted
    /// already. Establishing twice is harmless.
    pub fn establish(&self) -> Result<(), Refused> {
        let mut state = self.admission.state();
        if self.evicted.is_cancelled() {
            return Err(Refused::Evicted);
        }
        if !state.pending.contains_key(&self.id) {
            return Ok(());
        }
        if state.websockets >= self.admission.limit {
            return Err(Refused::Full);
        }
        state.pending.remove(&self.id);
        state.websockets += 1;
        Ok(())
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
        let was_pending = state.pending.remove(&self.id).is_some();
        if self.evicted.is_cancelled() {
            state.evicting -= 1;
        } else if !was_pending {
            state.websockets -= 1;
        }
        // One waiter at most (the accept loop); a permit is kept if it is not waiting yet.
        self.admission.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admits sockets until every slot is taken.
    fn fill(admission: &Arc<Admission>) -> Vec<Slot> {
        let mut slots = Vec::new();
        while admission.make_room() == Room::Free {
            slots.push(admission.admit());
        }
        slots
    }

    #[test]
    fn a_full_house_of_handshakes_makes_room_for_the_next_one() {
        let admission = Admission::new(2);
        let mut slots = fill(&admission);
        assert_eq!(slots.len(), 2 + HTTP_RESERVE);
        // The oldest pending socket gave way, and counts until it is closed.
        assert!(slots[0].evicted.is_cancelled());
        assert!(!slots[1].evicted.is_cancelled());
        assert_eq!(admission.make_room(), Room::Making, "one eviction at a time");
        assert!(!slots[1].evicted.is_cancelled());
        let first = slots.remove(0);
        assert_eq!(
            first.establish(),
            Err(Refused::Evicted),
            "an evicted socket stays no websocket"
        );
        drop(first);
        assert_eq!(admission.make_room(), Room::Free);
        slots.push(admission.admit());
        drop(slots);
        assert_eq!(admission.available(), 2);
        assert_eq!(admission.make_room(), Room::Free);
        assert_eq!(admission.state().open, 0);
    }

    #[test]
    fn websockets_never_take_the_reserve_and_are_never_evicted() {
        let admission = Admission::new(2);
        let websocket = admission.admit();
        assert_eq!(websocket.establish(), Ok(()));
        assert_eq!(websocket.establish(), Ok(()), "establishing twice counts once");
        let newer = admission.admit();
        assert_eq!(newer.establish(), Ok(()));
        assert_eq!(admission.available(), 0);
        // Both websocket slots are taken: a new socket is still admitted and served, but it
        // cannot become a websocket.
        let page = admission.admit();
        assert_eq!(page.establish(), Err(Refused::Full));
        let mut others = fill(&admission);
        assert_eq!(others.len(), HTTP_RESERVE - 1);
        assert!(page.evicted.is_cancelled(), "the oldest pending socket gives way");
        assert!(!websocket.evicted.is_cancelled() && !newer.evicted.is_cancelled());
        drop(page);
        // A websocket that closes frees its slot for a pending socket.
        drop(websocket);
        let promoted = others.pop().expect("pending sockets");
        assert_eq!(promoted.establish(), Ok(()));
        assert_eq!(admission.available(), 0);
        drop((newer, promoted, others));
        assert_eq!(admission.available(), 2);
    }
}
