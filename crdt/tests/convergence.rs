//! Randomized convergence tests in the style of zed's `text` crate: seeded RNG, hundreds of
//! iterations, a plain `String` as the model.
//!
//! Two invariants are checked: every replica that has seen the same updates holds the same text
//! and state, whatever the order, duplication or delay of delivery; and each replica's `String`
//! view, patched only by its own local edits and the deltas it was handed, equals its document
//! text after every step (that is what keeps the editor's rope in step with the CRDT).
//!
//! A failing iteration prints its seed; rerun just it with `TANDEM_SEED=<seed>`.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use tandem_crdt::{
    Client, Document, DocumentConfig, Extensions, PeerAccess, Presence, SessionConfig, SyncSession,
};

/// Fragments typed by the random editors: ASCII, emoji (with a skin-tone modifier), CJK, a
/// combining mark, CRLF.
const FRAGMENTS: &[&str] =
    &["a", "bc", " ", "xyz", "😀", "👋🏽", "中", "文字", "e\u{301}", "\u{301}", "\r\n", "\n"];

fn seeds(default_count: u64) -> Vec<u64> {
    match std::env::var("TANDEM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..default_count).collect(),
    }
}

fn random_text(rng: &mut StdRng) -> String {
    (0..rng.random_range(1..=3)).map(|_| *FRAGMENTS.choose(rng).unwrap()).collect()
}

/// A random replacement `(range, text)` on a text of `len` chars: insert, delete or both.
fn random_edit(rng: &mut StdRng, len: usize) -> (std::ops::Range<usize>, String) {
    let start = rng.random_range(0..=len);
    let end = match rng.random_range(0..3) {
        0 => start,
        _ => rng.random_range(start..=len.min(start + 6)),
    };
    let text = if end > start && rng.random_bool(0.5) { String::new() } else { random_text(rng) };
    (start..end, text)
}

fn replace_chars(view: &mut String, range: std::ops::Range<usize>, text: &str) {
    let start = view.char_indices().nth(range.start).map_or(view.len(), |(b, _)| b);
    let end = view.char_indices().nth(range.end).map_or(view.len(), |(b, _)| b);
    view.replace_range(start..end, text);
}

/// One replica with its editor view and the messages on their way to it.
struct Peer {
    doc: Document,
    view: String,
    inbox: Vec<Vec<u8>>,
}

impl Peer {
    fn receive(&mut self, update: &[u8], seed: u64) {
        let delta = self.doc.apply_update(update).unwrap();
        delta.apply_to(&mut self.view).unwrap();
        assert_eq!(self.view, self.doc.text(), "seed {seed}: view out of step after {delta:?}");
    }
}

/// Brings `a` and `b` up to date with each other the way a reconnect does: state vector out,
/// missing updates back.
fn sync_pair(peers: &mut [Peer], a: usize, b: usize, seed: u64) {
    let for_b = peers[a].doc.encode_diff(&peers[b].doc.state_vector()).unwrap();
    let for_a = peers[b].doc.encode_diff(&peers[a].doc.state_vector()).unwrap();
    peers[b].receive(&for_b, seed);
    peers[a].receive(&for_a, seed);
}

fn run_peers(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = rng.random_range(2..=8);
    let mut peers: Vec<Peer> = (0..n)
        .map(|i| Peer {
            doc: Document::new(DocumentConfig::new(1000 + i as u64)).unwrap(),
            view: String::new(),
            inbox: Vec::new(),
        })
        .collect();
    // Peers in different groups cannot reach each other; everything sent across is lost.
    let mut group = vec![0usize; n];
    for step in 0..rng.random_range(20..120) {
        let now = step as u64 * 40;
        match rng.random_range(0..10) {
            0..=4 => {
                let p = rng.random_range(0..n);
                let (range, text) = random_edit(&mut rng, peers[p].view.chars().count());
                let update = peers[p].doc.replace(range.clone(), &text, now).unwrap();
                replace_chars(&mut peers[p].view, range, &text);
                assert_eq!(peers[p].view, peers[p].doc.text(), "seed {seed}: local edit");
                for q in (0..n).filter(|&q| q != p && group[q] == group[p]) {
                    peers[q].inbox.push(update.clone());
                    if rng.random_bool(0.1) {
                        peers[q].inbox.push(update.clone()); // duplicated by the network
                    }
                }
            }
            5..=7 => {
                // Deliver one message, any of those in flight (delivery order is random).
                let waiting: Vec<usize> = (0..n).filter(|&q| !peers[q].inbox.is_empty()).collect();
                if let Some(&q) = waiting.choose(&mut rng) {
                    let i = rng.random_range(0..peers[q].inbox.len());
                    let update = peers[q].inbox.swap_remove(i);
                    peers[q].receive(&update, seed);
                }
            }
            8 => {
                // A partition: every peer lands in one of two groups.
                for g in &mut group {
                    *g = rng.random_range(0..2);
                }
            }
            _ => {
                // The partition heals: peers reconnect and sync by state vector.
                group.fill(0);
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                if a != b {
                    sync_pair(&mut peers, a, b, seed);
                }
            }
        }
    }
    // Heal, drain every inbox, then sync each peer with the first both ways.
    for peer in &mut peers {
        for update in std::mem::take(&mut peer.inbox) {
            peer.receive(&update, seed);
        }
    }
    for q in 1..n {
        sync_pair(&mut peers, 0, q, seed);
    }
    for q in 1..n {
        sync_pair(&mut peers, 0, q, seed);
    }
    let text = peers[0].doc.text();
    let state_vector = peers[0].doc.state_vector();
    for (q, peer) in peers.iter().enumerate() {
        assert_eq!(peer.doc.text().as_bytes(), text.as_bytes(), "seed {seed}: peer {q} text");
        assert_eq!(peer.view, text, "seed {seed}: peer {q} view");
        assert_eq!(peer.doc.state_vector(), state_vector, "seed {seed}: peer {q} state");
        assert!(!peer.doc.has_held_updates(), "seed {seed}: peer {q} still holds updates");
        // A fresh replica loading any peer's state ends with the same text.
        let reloaded = Document::from_state(DocumentConfig::new(1), &peer.doc.encode_state());
        assert_eq!(reloaded.unwrap().text(), text, "seed {seed}: peer {q} reload");
    }
}

#[test]
fn peers_converge_under_random_delivery_duplication_and_partitions() {
    let mut failed = Vec::new();
    for seed in seeds(300) {
        if std::panic::catch_unwind(|| run_peers(seed)).is_err() {
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "failed seeds {failed:?}");
}

/// The server's side of one client connection.
struct Connection {
    session: SyncSession,
    /// Frames in flight on this connection (a websocket keeps order within it).
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
}

/// A tandem client with its editor view.
struct Editor {
    client: Client,
    view: String,
    connection: Option<Connection>,
}

struct Room {
    doc: Document,
    presence: Presence,
    editors: Vec<Editor>,
}

impl Room {
    fn connect(&mut self, e: usize) {
        let mut session =
            SyncSession::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite));
        let to_client = session.open(&self.doc, &self.presence).unwrap();
        let to_server = self.editors[e].client.connect().unwrap();
        self.editors[e].connection = Some(Connection { session, to_server, to_client });
    }

    /// Delivers the oldest frame in one direction of editor `e`'s connection.
    fn deliver(&mut self, e: usize, towards_server: bool, seed: u64) {
        let Some(conn) = self.editors[e].connection.as_mut() else { return };
        if towards_server {
            if conn.to_server.is_empty() {
                return;
            }
            let frame = conn.to_server.remove(0);
            let incoming =
                conn.session.receive(&frame, &mut self.doc, &mut self.presence, 0).unwrap();
            conn.to_client.extend(incoming.replies);
            // Storage is instant here: confirm at once, then relay to everyone else connected.
            if let Some(seq) = incoming.update_seq {
                conn.to_client.extend(conn.session.durable_frame(seq, &self.doc));
            }
            for update in incoming.applied_updates {
                for (o, other) in self.editors.iter_mut().enumerate() {
                    if let (true, Some(c)) = (o != e, other.connection.as_mut()) {
                        c.to_client.push(SyncSession::update_frame(&update));
                    }
                }
            }
        } else {
            if conn.to_client.is_empty() {
                return;
            }
            let frame = conn.to_client.remove(0);
            let editor = &mut self.editors[e];
            let event = editor.client.receive(&frame, 0).unwrap();
            for delta in &event.deltas {
                delta.apply_to(&mut editor.view).unwrap();
            }
            assert_eq!(editor.view, editor.client.document().text(), "seed {seed}: view");
            if let Some(conn) = editor.connection.as_mut() {
                conn.to_server.extend(event.replies);
            }
        }
    }

    fn busy(&self) -> Vec<(usize, bool)> {
        let mut busy = Vec::new();
        for (e, editor) in self.editors.iter().enumerate() {
            if let Some(c) = &editor.connection {
                if !c.to_server.is_empty() {
                    busy.push((e, true));
                }
                if !c.to_client.is_empty() {
                    busy.push((e, false));
                }
            }
        }
        busy
    }
}

fn run_room(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = rng.random_range(2..=6);
    // As tandem-server configures its replicas: every update a client sends is checked.
    let server_config = DocumentConfig {
        track_deltas: false,
        track_undo: false,
        verify_integration: true,
        ..DocumentConfig::new(1)
    };
    let mut room = Room {
        doc: Document::new(server_config).unwrap(),
        presence: Presence::new(1),
        editors: (0..n)
            .map(|i| Editor {
                client: Client::new(DocumentConfig::new(100 + i as u64), Extensions::Tandem)
                    .unwrap(),
                view: String::new(),
                connection: None,
            })
            .collect(),
    };
    for e in 0..n {
        if rng.random_bool(0.7) {
            room.connect(e);
        }
    }
    for step in 0..rng.random_range(30..150) {
        let now = step as u64 * 200;
        let e = rng.random_range(0..n);
        match rng.random_range(0..12) {
            0..=3 => {
                let editor = &mut room.editors[e];
                let (range, text) = random_edit(&mut rng, editor.view.chars().count());
                let frames = editor.client.replace(range.clone(), &text, now).unwrap();
                replace_chars(&mut editor.view, range, &text);
                if let Some(c) = editor.connection.as_mut() {
                    c.to_server.extend(frames);
                }
            }
            4 => {
                let editor = &mut room.editors[e];
                let change = if rng.random_bool(0.7) {
                    editor.client.undo(now).unwrap()
                } else {
                    editor.client.redo(now).unwrap()
                };
                if let Some((delta, frames)) = change {
                    delta.apply_to(&mut editor.view).unwrap();
                    if let Some(c) = editor.connection.as_mut() {
                        c.to_server.extend(frames);
                    }
                }
                assert_eq!(editor.view, editor.client.document().text(), "seed {seed}: undo");
            }
            5..=9 => {
                if let Some(&(e, towards_server)) = room.busy().choose(&mut rng) {
                    room.deliver(e, towards_server, seed);
                }
            }
            10 => {
                // The connection drops; whatever was in flight on it is lost.
                room.editors[e].connection = None;
                room.editors[e].client.disconnect();
            }
            _ => {
                if room.editors[e].connection.is_none() {
                    room.connect(e);
                }
            }
        }
    }
    for e in 0..n {
        if room.editors[e].connection.is_none() {
            room.connect(e);
        }
    }
    while let Some(&(e, towards_server)) = room.busy().choose(&mut rng) {
        room.deliver(e, towards_server, seed);
    }
    let text = room.doc.text();
    assert!(!room.doc.has_held_updates(), "seed {seed}: the server holds updates");
    for (e, editor) in room.editors.iter().enumerate() {
        assert_eq!(editor.client.document().text(), text, "seed {seed}: editor {e}");
        assert_eq!(editor.view, text, "seed {seed}: editor {e} view");
        assert_eq!(editor.client.document().state_vector(), room.doc.state_vector());
        assert!(!editor.client.document().has_held_updates(), "seed {seed}: editor {e} holds");
        assert!(editor.client.is_synced(), "seed {seed}: editor {e} synced");
        assert_eq!(editor.client.unconfirmed_count(), 0, "seed {seed}: editor {e} confirmed");
    }
}

#[test]
fn clients_converge_through_a_server_session() {
    let mut failed = Vec::new();
    for seed in seeds(200) {
        if std::panic::catch_unwind(|| run_room(seed)).is_err() {
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "failed seeds {failed:?}");
}
