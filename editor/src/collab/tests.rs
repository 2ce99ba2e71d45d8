//! The collaborative glue without terminal or sockets: editors with their [`Collab`] sessions
//! wired in memory to a server-role [`SyncSession`] per connection over one server replica.

use tandem_connect::Problem;
use tandem_crdt::{
    Client, Document, DocumentConfig, Extensions, PeerAccess, Presence, SessionConfig, SyncSession,
    UserInfo,
};

use super::*;
use crate::{Editor, Key, KeyEvent, MessageKind, Selection};

/// The server side: one replica, one session per connected editor, relaying like tandem-server.
struct Hub {
    doc: Document,
    presence: Presence,
    sessions: Vec<Option<SyncSession>>,
    inbox: Vec<Vec<Vec<u8>>>,
}

struct Peer {
    ed: Editor,
    collab: Collab,
    outbox: Vec<Vec<u8>>,
}

impl Hub {
    fn new(peers: usize) -> Self {
        Hub {
            doc: Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) })
                .unwrap(),
            presence: Presence::new(1),
            sessions: (0..peers).map(|_| None).collect(),
            inbox: vec![Vec::new(); peers],
        }
    }

    fn open(&mut self, i: usize) {
        let mut session =
            SyncSession::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite));
        self.inbox[i] = session.open(&self.doc, &self.presence).unwrap();
        self.sessions[i] = Some(session);
    }

    fn receive_from(&mut self, i: usize, frame: &[u8]) {
        let Some(session) = self.sessions[i].as_mut() else { return };
        let incoming = session.receive(frame, &mut self.doc, &mut self.presence, 0).unwrap();
        self.inbox[i].extend(incoming.replies);
        if let Some(seq) = incoming.update_seq {
            self.inbox[i].extend(session.durable_frame(seq, &self.doc));
        }
        for j in 0..self.sessions.len() {
            if j == i || self.sessions[j].is_none() {
                continue;
            }
            for update in &incoming.applied_updates {
                self.inbox[j].push(SyncSession::update_frame(update));
            }
            for (update, _) in &incoming.presence {
                self.inbox[j].push(SyncSession::awareness_frame(update));
            }
        }
    }
}

impl Peer {
    fn decorations(&mut self) -> Vec<crate::decoration::Decoration> {
        self.collab.decorations(&self.ed)
    }

    fn status(&mut self) -> String {
        self.collab.status(&self.ed, 0)
    }

    fn flush(&mut self, now: u64) -> Vec<Vec<u8>> {
        self.collab.flush(&mut self.ed, now).unwrap()
    }
}

fn peer(id: u64, name: &str) -> Peer {
    let user = UserInfo { name: name.into(), color: "#30bced".into(), color_light: None };
    let mut ed = Editor::new("");
    ed.set_history(Box::new(SharedHistory::new(ChangeTracking::Ignored)));
    Peer {
        ed,
        collab: Collab::new(
            Client::new(DocumentConfig::new(id), Extensions::Tandem).unwrap(),
            user,
        ),
        outbox: vec![],
    }
}

fn connect(hub: &mut Hub, peers: &mut [Peer], i: usize) {
    let p = &mut peers[i];
    p.outbox = p.collab.connected(&mut p.ed, 0).unwrap();
    hub.open(i);
    pump(hub, peers);
}

fn disconnect(hub: &mut Hub, peers: &mut [Peer], i: usize) {
    hub.sessions[i] = None;
    hub.inbox[i].clear();
    peers[i].outbox.clear();
    let problem = Problem::Refused { addr: "127.0.0.1:8080".into() };
    peers[i].collab.disconnected(Connection::Retrying { problem, retry_at_ms: 0 });
}

/// Moves frames both ways until nothing is in flight.
fn pump(hub: &mut Hub, peers: &mut [Peer]) {
    loop {
        let mut moved = false;
        for (i, p) in peers.iter_mut().enumerate() {
            let mut frames = std::mem::take(&mut p.outbox);
            frames.extend(p.collab.flush(&mut p.ed, 0).unwrap());
            if hub.sessions[i].is_none() {
                continue;
            }
            for frame in frames {
                moved = true;
                hub.receive_from(i, &frame);
            }
        }
        for (i, p) in peers.iter_mut().enumerate() {
            for frame in std::mem::take(&mut hub.inbox[i]) {
                moved = true;
                let received = p.collab.receive(&mut p.ed, &frame, 0).unwrap();
                p.outbox.extend(received.frames);
            }
        }
        if !moved {
            return;
        }
    }
}

/// The default bindings with the session's own undo and redo, as the front end has them.
static KEYS: std::sync::LazyLock<crate::Keys> = std::sync::LazyLock::new(|| {
    let mut keys = crate::Keys::default();
    for command in super::commands() {
        keys.register(command);
    }
    keys
});

fn typed(p: &mut Peer, text: &str) {
    for k in KeyEvent::typed(text) {
        key(p, k, 0);
    }
}

/// Presses `key`; its frames (an undo's) go out with the next flush.
fn key(p: &mut Peer, key: KeyEvent, now: u64) {
    let session: &mut dyn std::any::Any = &mut p.collab;
    let mut cx = crate::Context { editor: &mut p.ed, session: Some(session), now_ms: now };
    KEYS.handle_key(&mut cx, key);
}

fn text(p: &Peer) -> String {
    p.ed.rope().to_string()
}

fn two_connected() -> (Hub, Vec<Peer>) {
    let mut hub = Hub::new(2);
    let mut peers = vec![peer(10, "ann"), peer(20, "bob")];
    connect(&mut hub, &mut peers, 0);
    connect(&mut hub, &mut peers, 1);
    (hub, peers)
}

#[test]
fn typing_in_one_editor_shows_in_the_other_and_concurrent_typing_converges() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "hello 😀 世界");
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[1]), "hello 😀 世界");
    // Both type at once, at the same place, before any frame moves.
    key(&mut peers[1], KeyEvent::ctrl(Key::End), 0);
    typed(&mut peers[0], "A");
    typed(&mut peers[1], "B");
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[0]), text(&peers[1]));
    assert_eq!(hub.doc.text(), text(&peers[0]));
    assert!(text(&peers[0]).contains('A') && text(&peers[0]).contains('B'));
    assert_eq!(peers[0].collab.client().unconfirmed_count(), 0, "every edit confirmed durable");
}

#[test]
fn the_local_cursor_stays_on_its_text_and_remote_cursors_are_drawn_with_names() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "hello world");
    pump(&mut hub, &mut peers);
    // Bob selects "world" (6..11), then Ann inserts before it.
    peers[1].ed.set_selection(Selection { anchor: 6, head: 11 });
    pump(&mut hub, &mut peers);
    peers[0].ed.set_selection(Selection::point(0));
    typed(&mut peers[0], ">> ");
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[1]), ">> hello world");
    assert_eq!(peers[1].ed.selection(), Selection { anchor: 9, head: 14 }, "still on \"world\"");

    let decorations = peers[0].decorations();
    assert_eq!(decorations.len(), 1);
    assert_eq!(decorations[0].label, "bob");
    assert_eq!(decorations[0].pos, 14);
    assert_eq!(decorations[0].selection, Some(9..14));
    assert_eq!(decorations[0].colour, crate::Rgb(0x30, 0xbc, 0xed));
    let bob_sees = peers[1].decorations();
    assert_eq!((bob_sees[0].label.as_str(), bob_sees[0].pos), ("ann", 3));
    assert!(peers[0].status().starts_with("connected · 2 here · 0 unconfirmed"));
}

#[test]
fn undo_and_redo_revert_only_this_users_edits() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "ann");
    pump(&mut hub, &mut peers);
    key(&mut peers[1], KeyEvent::ctrl(Key::End), 0);
    typed(&mut peers[1], " bob");
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[0]), "ann bob");

    key(&mut peers[0], KeyEvent::ctrl(Key::Char('z')), 10_000);
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[0]), " bob");
    assert_eq!(text(&peers[1]), " bob");
    // The undo was not mirrored back as a new local edit: nothing left to send.
    assert!(peers[0].flush(10_000).is_empty());
    key(&mut peers[0], KeyEvent::ctrl(Key::Char('z')), 10_001);
    assert_eq!(
        peers[0].ed.message().map(|m| (m.text.as_str(), m.kind)),
        Some(("nothing to undo", MessageKind::Info)),
        "bob's edit is not ann's to undo"
    );
    key(&mut peers[0], KeyEvent::ctrl(Key::Char('y')), 10_002);
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[1]), "ann bob");
    assert_eq!(peers[0].ed.selection(), Selection::point(3), "cursor after the redone text");
}

#[test]
fn edits_made_offline_on_both_sides_merge_on_reconnect() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "base\n");
    pump(&mut hub, &mut peers);
    disconnect(&mut hub, &mut peers, 1);
    typed(&mut peers[0], "online ann\n");
    key(&mut peers[1], KeyEvent::ctrl(Key::End), 0);
    typed(&mut peers[1], "offline bob\n");
    pump(&mut hub, &mut peers);
    let unconfirmed = peers[1].collab.client().unconfirmed_count();
    assert_eq!(unconfirmed, "offline bob\n".len());
    assert_eq!(
        peers[1].status(),
        format!("connection refused · retry in 0s · {unconfirmed} unconfirmed")
    );
    assert_eq!(text(&peers[1]), "base\noffline bob\n");
    connect(&mut hub, &mut peers, 1);
    assert_eq!(text(&peers[0]), text(&peers[1]));
    for part in ["base\n", "online ann\n", "offline bob\n"] {
        assert_eq!(
            text(&peers[0]).matches(part).count(),
            1,
            "{part:?} once in {:?}",
            text(&peers[0])
        );
    }
    assert_eq!(peers[1].collab.client().unconfirmed_count(), 0);
}

#[test]
fn an_empty_document_is_seeded_from_the_file_and_a_full_one_wins() {
    let (mut hub, mut peers) = two_connected();
    let p = &mut peers[0];
    let frames = p.collab.seed(&mut p.ed, "from file\n", 0).unwrap().unwrap();
    p.outbox.extend(frames);
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[1]), "from file\n");
    let p = &mut peers[1];
    assert!(p.collab.seed(&mut p.ed, "other file\n", 0).unwrap().is_none());
    assert_eq!(text(&peers[1]), "from file\n");
}

#[test]
fn issue_15_a_keystroke_at_several_cursors_is_one_update_and_converges() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "one\ntwo\nthree");
    pump(&mut hub, &mut peers);
    let before = peers[0].collab.client().unconfirmed_count();
    assert_eq!(before, 0);
    peers[0].ed.set_selection(Selection::point(0));
    key(&mut peers[0], "alt-shift-down".parse().unwrap(), 0);
    key(&mut peers[0], "alt-shift-down".parse().unwrap(), 0);
    typed(&mut peers[0], "- ");
    // Not pumped yet: two keystrokes at three cursors are two updates, not six.
    let frames = peers[0].flush(0);
    peers[0].outbox.extend(frames);
    assert_eq!(peers[0].collab.client().unconfirmed_count(), 2);
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[1]), "- one\n- two\n- three");
    assert_eq!(hub.doc.text(), text(&peers[0]));
    // Undo in the shared document takes back the keystroke at every cursor.
    key(&mut peers[0], KeyEvent::ctrl(Key::Char('z')), 10_000);
    pump(&mut hub, &mut peers);
    assert!(!text(&peers[1]).contains("- "), "{:?}", text(&peers[1]));
}

#[test]
fn issue_15_where_a_user_looks_reaches_the_others() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], &"line\n".repeat(100));
    pump(&mut hub, &mut peers);
    peers[0].ed.set_selection(Selection::point(0));
    peers[0].ed.resize(40, 12);
    peers[0].ed.scroll(50);
    peers[0].collab.set_focused(false);
    pump(&mut hub, &mut peers);
    let bob = &mut peers[1];
    let seen = bob.collab.peers(&bob.ed)[0].clone();
    assert_eq!(seen.focused, Some(false));
    assert_eq!(seen.top, Some(50 * 5), "the first char of ann's view");
}

/// Issue 11: undo in a shared document goes word by word, like local undo, even for a burst of typing
/// sent in one flush.
#[test]
fn undo_in_a_shared_document_groups_word_by_word() {
    let (mut hub, mut peers) = two_connected();
    typed(&mut peers[0], "one two three");
    pump(&mut hub, &mut peers);
    key(&mut peers[0], KeyEvent::ctrl(Key::Char('z')), 0);
    pump(&mut hub, &mut peers);
    assert_eq!(text(&peers[0]), "one two");
    assert_eq!(text(&peers[1]), "one two");
    key(&mut peers[0], KeyEvent::ctrl(Key::Char('z')), 0);
    assert_eq!(text(&peers[0]), "one");
}
