//! Golden byte vectors: every message tandem sends, byte for byte, as DESIGN.md's lib0 encoding
//! spells it (varUint = LEB128, varUint8Array = varUint length + bytes, varString = varUint8Array
//! of UTF-8). The expected bytes are written out by hand, not produced by the code under test.

use tandem_crdt::{
    Document, DocumentConfig, Extensions, Message, PeerAccess, Presence, PresenceState,
    SessionConfig, SyncSession, UserInfo,
};

/// Client id 300 takes two LEB128 bytes: 300 = 0b10_0101100 -> 0xAC 0x02.
const CLIENT: u64 = 300;
const CLIENT_LEB: [u8; 2] = [0xAC, 0x02];

fn doc() -> Document {
    Document::new(DocumentConfig::new(CLIENT)).unwrap()
}

/// Yjs update v1 of client 300 inserting "hi" at the start of root text "content":
/// 1 client; 1 struct; client; clock 0; info 4 (ContentString, no origins, so parent info
/// follows); parent is a root key (1) named varString("content"); content varString("hi");
/// empty delete set (0 clients).
fn insert_hi_update() -> Vec<u8> {
    let mut u = vec![1, 1];
    u.extend(CLIENT_LEB);
    u.extend([0, 4, 1, 7]);
    u.extend(b"content");
    u.extend([2, b'h', b'i', 0]);
    u
}

#[test]
fn local_updates_are_lib0_v1() {
    let mut d = doc();
    assert_eq!(d.insert(0, "hi", 0).unwrap(), insert_hi_update());
    // Appending "!" after clock 1: info 0x84 = ContentString | has origin; origin id (300, 1);
    // no parent info when an origin is given.
    let mut append = vec![1, 1];
    append.extend(CLIENT_LEB);
    append.extend([2, 0x84]);
    append.extend(CLIENT_LEB);
    append.extend([1, 1, b'!', 0]);
    assert_eq!(d.insert(2, "!", 0).unwrap(), append);
    // Deleting "h": no structs; delete set with 1 client, 1 range (clock 0, length 1).
    let mut delete = vec![0, 1];
    delete.extend(CLIENT_LEB);
    delete.extend([1, 0, 1]);
    assert_eq!(d.delete(0..1, 0).unwrap(), delete);
    assert_eq!(d.text(), "i!");
    // The hand-written update loads into a fresh replica.
    let mut other = Document::new(DocumentConfig::new(1)).unwrap();
    other.apply_update(&insert_hi_update()).unwrap();
    assert_eq!(other.text(), "hi");
}

#[test]
fn sync_step1() {
    // State vector after "hi": 1 entry, client 300, clock 2.
    let mut d = doc();
    d.insert(0, "hi", 0).unwrap();
    let mut sv = vec![1];
    sv.extend(CLIENT_LEB);
    sv.push(2);
    assert_eq!(d.state_vector(), sv);
    let mut frame = vec![0, 0, 4];
    frame.extend(&sv);
    let message = Message::SyncStep1 { state_vector: sv };
    assert_eq!(message.encode(), frame);
    assert_eq!(Message::decode_frame(&frame).unwrap(), vec![message]);
    // An empty document's SyncStep1, as a stock Yjs client sends it first.
    let empty = Document::new(DocumentConfig::new(1)).unwrap();
    let opening = SyncSession::new(SessionConfig::client(Extensions::Stock))
        .open(&empty, &Presence::new(1))
        .unwrap();
    assert_eq!(opening, vec![vec![0, 0, 1, 0]]);
}

#[test]
fn sync_step2_and_update() {
    let update = insert_hi_update();
    assert_eq!(update.len(), 19);
    let mut step2 = vec![0, 1, 19];
    step2.extend(&update);
    let mut live = vec![0, 2, 19];
    live.extend(&update);
    assert_eq!(Message::SyncStep2 { update: update.clone() }.encode(), step2);
    assert_eq!(Message::Update { update: update.clone() }.encode(), live);
    assert_eq!(SyncSession::update_frame(&update), live);
    assert_eq!(
        Message::decode_frame(&step2).unwrap(),
        vec![Message::SyncStep2 { update: update.clone() }]
    );
    assert_eq!(Message::decode_frame(&live).unwrap(), vec![Message::Update { update }]);

    // The answer to an empty state vector is the whole state: the same bytes.
    let mut d = doc();
    d.insert(0, "hi", 0).unwrap();
    let mut server = Document::new(DocumentConfig::new(1)).unwrap();
    let mut presence = Presence::new(1);
    server.apply_update(&d.encode_state()).unwrap();
    let mut session =
        SyncSession::new(SessionConfig::server(Extensions::Stock, PeerAccess::ReadWrite));
    let incoming = session.receive(&[0, 0, 1, 0], &mut server, &mut presence, 0).unwrap();
    assert_eq!(incoming.replies, vec![step2]);
}

#[test]
fn awareness() {
    // set_local_state -> update: 1 client; client 300; clock 1; varString(JSON state).
    let json = r##"{"user":{"name":"a","color":"#fff"},"cursor":null}"##;
    let mut presence = Presence::new(CLIENT);
    let user = UserInfo { name: "a".into(), color: "#fff".into(), color_light: None };
    let update =
        presence.set_local_state(&PresenceState { user: Some(user), cursor: None }, 0).unwrap();
    let mut expected = vec![1];
    expected.extend(CLIENT_LEB);
    expected.extend([1, json.len() as u8]);
    expected.extend(json.as_bytes());
    assert_eq!(update, expected);
    // The message wraps the update in a varUint8Array.
    let mut frame = vec![1, expected.len() as u8];
    frame.extend(&expected);
    assert_eq!(SyncSession::awareness_frame(&update), frame);
    assert_eq!(Message::decode_frame(&frame).unwrap(), vec![Message::Awareness { update }]);

    // Leaving: the clock goes up and the state is JSON null.
    let left = presence.clear_local_state(1).unwrap();
    let mut expected = vec![1];
    expected.extend(CLIENT_LEB);
    expected.extend([2, 4]);
    expected.extend(b"null");
    assert_eq!(left, expected);
}

#[test]
fn auth_denied_and_query_awareness() {
    let denied = Message::AuthDenied { reason: "ça".into() };
    // 2 auth; 0 permission denied; varString: 3 UTF-8 bytes.
    let frame = vec![2, 0, 3, 0xC3, 0xA7, b'a'];
    assert_eq!(denied.encode(), frame);
    assert_eq!(Message::decode_frame(&frame).unwrap(), vec![denied]);
    assert_eq!(Message::QueryAwareness.encode(), vec![3]);
    assert_eq!(Message::decode_frame(&[3]).unwrap(), vec![Message::QueryAwareness]);
    assert_eq!(Message::AuthGranted.encode(), vec![2, 1]);
}

#[test]
fn durable() {
    // 100 durable; varUint8Array(varUint(seq 300) + varUint8Array(state vector [1, 300, 2])).
    let mut sv = vec![1];
    sv.extend(CLIENT_LEB);
    sv.push(2);
    let message = Message::Durable { seq: 300, state_vector: sv };
    let frame = vec![100, 7, 0xAC, 0x02, 4, 1, 0xAC, 0x02, 2];
    assert_eq!(message.encode(), frame);
    assert_eq!(Message::decode_frame(&frame).unwrap(), vec![message]);
    // What a server session sends once an update is stored.
    let mut d = doc();
    d.insert(0, "hi", 0).unwrap();
    let session =
        SyncSession::new(SessionConfig::server(Extensions::Tandem, PeerAccess::ReadWrite));
    assert_eq!(session.durable_frame(300, &d), Some(frame));
}
