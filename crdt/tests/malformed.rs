//! Nothing a peer, a file or a user sends may panic: random bytes and mutated valid frames go
//! into every decoder and every entry point that takes bytes. Each must return `Ok` or `Err`.

use proptest::prelude::*;
use tandem_crdt::{
    Client, Document, DocumentConfig, Extensions, Message, OfflineState, PeerAccess, Presence,
    PresenceState, SessionConfig, SyncSession, UserInfo,
};

/// A document with some history (inserts, deletes, emoji) and a second client's edits.
fn sample_doc() -> Document {
    let mut a = Document::new(DocumentConfig::new(7)).unwrap();
    let mut b = Document::new(DocumentConfig::new(300)).unwrap();
    b.apply_update(&a.insert(0, "hello 👋 wörld\n", 0).unwrap()).unwrap();
    a.apply_update(&b.insert(3, "中文", 0).unwrap()).unwrap();
    a.delete(1..4, 0).unwrap();
    a.insert(5, "😀", 0).unwrap();
    a
}

/// Debug builds of yrs assert on client ids past 53 bits while decoding; tandem-crdt catches
/// that panic (see `decode.rs`), but the default hook would still print each one with a
/// backtrace, thousands of times. A panic that escapes still fails the test: proptest sees it.
fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

/// Valid frames of every kind, to mutate.
fn valid_frames() -> Vec<Vec<u8>> {
    let mut doc = sample_doc();
    let mut presence = Presence::new(7);
    let user = UserInfo { name: "ana".into(), color: "#ff0000".into(), color_light: None };
    let cursor = tandem_crdt::StickySelection::from_chars(&mut doc, 1, 3).unwrap();
    let awareness = presence
        .set_local_state(&PresenceState { user: Some(user), cursor: Some(cursor) }, 0)
        .unwrap();
    vec![
        Message::SyncStep1 { state_vector: doc.state_vector() }.encode(),
        Message::SyncStep2 { update: doc.encode_state() }.encode(),
        Message::Update { update: doc.insert(0, "x", 0).unwrap() }.encode(),
        Message::Update { update: doc.delete(0..2, 0).unwrap() }.encode(),
        Message::Awareness { update: awareness }.encode(),
        Message::AuthDenied { reason: "no".into() }.encode(),
        Message::QueryAwareness.encode(),
        Message::Durable { seq: 3, state_vector: doc.state_vector() }.encode(),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Flip(i, b) if !bytes.is_empty() => bytes[i % len] ^= b | 1,
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            _ => {}
        }
    }
    bytes
}

/// Feeds `bytes` to every entry point. Results are ignored: only a panic fails.
fn feed_everywhere(bytes: &[u8]) {
    quiet_caught_panics();
    let _ = Message::decode_frame(bytes);
    let _ = OfflineState::decode(bytes);
    let _ = Presence::clients_in_update(bytes);
    let _ = Presence::new(1).apply_update(bytes, 0);

    let mut doc = sample_doc();
    let _ = doc.apply_update(bytes);
    let _ = doc.encode_diff(bytes);
    let _ = doc.text();
    // The document stays usable after whatever it was fed.
    let len = doc.len_chars();
    doc.insert(len, "!", 0).unwrap();
    let _ = Document::from_state(DocumentConfig::new(9), bytes);

    for config in [
        SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite),
        SessionConfig::client(Extensions::Tandem),
    ] {
        let mut doc = sample_doc();
        let mut presence = Presence::new(1);
        let mut session = SyncSession::new(config);
        let _ = session.receive(bytes, &mut doc, &mut presence, 0);
    }
    let mut client = Client::new(DocumentConfig::new(5), Extensions::Tandem).unwrap();
    client.connect().unwrap();
    let _ = client.receive(bytes, 0);
    let stored = OfflineState { state: bytes.to_vec(), unconfirmed: vec![bytes.to_vec()] };
    let _ = Client::restore(DocumentConfig::new(6), &stored, Extensions::Tandem);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        feed_everywhere(&bytes);
    }

    #[test]
    fn mutated_frames_never_panic(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let frames = valid_frames();
        let frame = mutate(frames[which % frames.len()].clone(), &mutations);
        feed_everywhere(&frame);
        // The payload alone, as an update or awareness update would arrive unwrapped.
        if frame.len() > 3 {
            feed_everywhere(&frame[3..]);
        }
    }
}

#[test]
fn client_ids_past_53_bits_are_errors() {
    // varUint(2^60): eight 7-bit groups of zeros, then 0x10.
    let big = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    let mut state_vector = vec![1];
    state_vector.extend(big);
    state_vector.push(1);
    assert!(sample_doc().encode_diff(&state_vector).is_err());
    let mut frame = vec![0, 0, state_vector.len() as u8];
    frame.extend(&state_vector);
    assert!(Message::decode_frame(&frame).is_err());
    // An update whose one struct belongs to that client.
    let mut update = vec![1, 1];
    update.extend(big);
    update.extend([0, 4, 1, 1, b't', 1, b'x', 0]);
    assert!(sample_doc().apply_update(&update).is_err());
    let mut awareness = vec![1];
    awareness.extend(big);
    awareness.extend([1, 2, b'{', b'}']);
    assert!(Presence::new(1).apply_update(&awareness, 0).is_err());
}

#[test]
fn huge_declared_counts_are_refused_before_allocating() {
    // Five bytes declaring 2^27 entries: yrs would reserve (and clear) room for all of them.
    let bomb = [0xff, 0xff, 0xff, 0x3f];
    assert!(sample_doc().apply_update(&bomb).is_err());
    assert!(sample_doc().encode_diff(&bomb).is_err());
    assert!(Presence::new(1).apply_update(&bomb, 0).is_err());
    let mut frame = vec![0, 0, bomb.len() as u8];
    frame.extend(bomb);
    assert!(Message::decode_frame(&frame).is_err());
}

#[test]
fn valid_frames_are_accepted() {
    for frame in valid_frames() {
        let mut doc = sample_doc();
        let mut presence = Presence::new(1);
        let mut session = SyncSession::new(SessionConfig::client(Extensions::Tandem));
        session.receive(&frame, &mut doc, &mut presence, 0).unwrap();
    }
}
