//! What a server stores and relays is exactly what its replica integrated (issue 18, item 2).
//!
//! A mutated update can be valid enough for yrs to apply, yet integrate differently on a
//! replica that splits blocks differently: then the live server, a connected peer, a fresh peer
//! and the restarted server disagree for ever. A verifying [`Document`] (the server's
//! configuration) refuses such an update with [`Error::IrreproducibleUpdate`], and what it
//! accepts ([`tandem_crdt::Integrated::update`]) rebuilds the same text everywhere.
//!
//! The differential fuzz test mutates 1–3 bytes of real updates (seeded; `TANDEM_FUZZ_FRAMES`
//! sets the count) and checks after every accepted frame that the live replica, a connected
//! peer fed the relayed bytes, a fresh peer loaded from the live state and a replica reloaded
//! from the stored bytes hold byte-identical text, and that a rejected frame leaves the live
//! replica as it was (or, for an irreproducible one, that the reload from storage is).

mod mutation;

use mutation::mutate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_crdt::{
    Document, DocumentConfig, Error, Extensions, Message, PeerAccess, Presence, SessionConfig,
    SyncSession,
};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, Options, Text, Transact};

/// The issue's sync Update payload: client 1000 typing "hello world", editing it, setting a map
/// entry and formatting, with 1–3 bytes mutated by the fuzzer that found it.
const ISSUE_PAYLOAD: &str = "010ae80700010107636f6e74656e740384e80701036c6c6f84e807050620776f726c64c1e80704e8070402c4e8070ce80705026967c4e80704e8070b015ac1e8070fe8070b012801046d6574610161017d01c6e80701e8070201620474727565c6e80704e8070f0162046e756c6c01e8070300020b021001";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn server_config(client_id: u64) -> DocumentConfig {
    DocumentConfig {
        track_deltas: false,
        track_undo: false,
        verify_integration: true,
        ..DocumentConfig::new(client_id)
    }
}

/// A peer's replica, or the server before the fix: plain, unverified.
fn peer_config(client_id: u64) -> DocumentConfig {
    DocumentConfig { verify_integration: false, ..server_config(client_id) }
}

fn load(config: DocumentConfig, stored: &[Vec<u8>]) -> Document {
    Document::from_updates(config, stored.iter().map(Vec::as_slice)).unwrap()
}

#[test]
fn the_issue_payload_diverges_without_verification() {
    // Today's server: applies the peer's bytes, stores them, and serves fresh peers its state.
    let payload = hex(ISSUE_PAYLOAD);
    let mut live = Document::new(peer_config(5)).unwrap();
    live.apply_update(&payload).unwrap();
    let fresh = Document::from_state(peer_config(6), &live.encode_state()).unwrap();
    assert_eq!(live.text(), "liglo worl");
    assert_eq!(fresh.text(), "lligo worl", "the re-encoding places the text elsewhere");
}

#[test]
fn a_verifying_document_refuses_the_issue_payload() {
    let payload = hex(ISSUE_PAYLOAD);
    let mut live = Document::new(server_config(5)).unwrap();
    let refused = live.integrate_update(&payload);
    assert!(
        matches!(&refused, Err(Error::MalformedUpdate(why)) if why.contains("origins")),
        "{refused:?}"
    );
    assert_eq!(live.encode_state(), Document::new(peer_config(6)).unwrap().encode_state());
    // The plain-apply entry point (another server's update) finds where it landed.
    let mut other = Document::new(server_config(7)).unwrap();
    let refused = other.apply_update(&payload);
    assert!(matches!(refused, Err(Error::IrreproducibleUpdate)), "{refused:?}");
}

#[test]
fn a_store_written_before_verification_still_loads_and_verifies_from_there() {
    // A log that already holds the bad update loads as it always did, and later updates are
    // checked against a second replica that replayed the same log.
    let stored = vec![hex(ISSUE_PAYLOAD)];
    let mut server = load(server_config(5), &stored);
    assert_eq!(server.text(), load(peer_config(6), &stored).text());
    let mut typist = load(DocumentConfig::new(9), &stored);
    let update = typist.insert(0, "ok ", 0).unwrap();
    server.integrate_update(&update).unwrap();
    assert_eq!(server.text(), typist.text());
}

#[test]
fn accepted_updates_are_reencoded_and_local_edits_keep_verifying() {
    let mut server = Document::new(server_config(1)).unwrap();
    let mut alice = Document::new(DocumentConfig::new(2)).unwrap();
    let first = alice.insert(0, "ab", 0).unwrap();
    let second = alice.insert(1, "😀", 0).unwrap();
    // Held until its predecessor arrives: it is still stored and relayed, as Yjs keeps
    // pending structs.
    let held = server.integrate_update(&second).unwrap();
    assert_eq!(server.text(), "");
    assert!(Document::from_state(peer_config(3), &held.update).unwrap().has_held_updates());
    let integrated = server.integrate_update(&first).unwrap();
    assert_eq!(server.text(), "a😀b");
    let mut peer = Document::new(peer_config(4)).unwrap();
    peer.apply_update(&integrated.update).unwrap();
    assert_eq!(peer.text(), "a😀b", "the unblocked update travels with the one that freed it");
    assert_eq!(server.integrate_update(&first).unwrap().update, vec![0, 0], "a duplicate");
    // A verifying replica's own edits reach its second replica too.
    server.insert(0, "!", 0).unwrap();
    server.integrate_update(&alice.insert(0, "x", 0).unwrap()).unwrap();
    assert_eq!(server.len_chars(), 5);
}

/// The fuzz corpus' base: client 1000 typing "hello world" into the root text `content`.
const HELLO: &str = "0101e80700040107636f6e74656e740b68656c6c6f20776f726c6400";

/// A server's replica that holds [`HELLO`].
fn server_with_hello() -> Document {
    let mut server = Document::new(server_config(1)).unwrap();
    server.integrate_update(&hex(HELLO)).unwrap();
    server
}

// One test per class of frame the differential fuzz against stock Yjs found (minimal frames,
// each against a replica holding HELLO unless said otherwise; what stock Yjs 13.6 does with
// each is in the comment).

#[test]
fn an_origin_in_the_items_own_future_is_refused() {
    // "x" at clock 11 of client 1000, after clock 81 of the same client. Yjs: "Unexpected
    // case"; yrs integrated it.
    let mut server = server_with_hello();
    let refused = server.integrate_update(&hex("0101e8070b84e80751017800"));
    assert!(
        matches!(&refused, Err(Error::MalformedUpdate(why)) if why.contains("later unit")),
        "{refused:?}"
    );
    assert_eq!(server.encode_state(), load(peer_config(2), &[hex(HELLO)]).encode_state());
}

#[test]
fn a_deletion_of_nothing_is_refused() {
    // Deletes 0 units at clock 5 of a client nobody has. Yjs: "Unexpected case".
    let mut server = server_with_hello();
    let refused = server.integrate_update(&hex("0001e8a307010500"));
    assert!(
        matches!(&refused, Err(Error::MalformedUpdate(why)) if why.contains("nothing")),
        "{refused:?}"
    );
    assert!(!server.has_held_updates());
}

#[test]
fn a_gap_beside_another_clients_new_units_is_refused() {
    // On an empty replica: "x" at clock 1 of client 2000 (after a gap) and "h" at clock 0 of
    // client 1000. Yjs integrates "h" and holds "x"; this replica held both, so its text
    // was "" where every stock Yjs client showed "h".
    let mut server = Document::new(server_config(1)).unwrap();
    let frame = "0201d00f01040107636f6e74656e74017801e80700040107636f6e74656e74016800";
    let refused = server.integrate_update(&hex(frame));
    assert!(
        matches!(&refused, Err(Error::MalformedUpdate(why)) if why.contains("gap")),
        "{refused:?}"
    );
    assert!(!server.has_held_updates());
    // Each client's part alone is fine: the gap waits, the other integrates.
    let gapped = "0101d00f01040107636f6e74656e74017800";
    server.integrate_update(&hex(gapped)).unwrap();
    assert!(server.has_held_updates());
    server.integrate_update(&hex("0101e80700040107636f6e74656e74016800")).unwrap();
    assert_eq!(server.text(), "h");
}

#[test]
fn items_that_land_outside_their_origins_are_irreproducible() {
    // "x" by client 2000 after "r" (clock 8) and before "w" (clock 6): the right origin lies
    // left of the left one. The live replica put it after "hello ", stock Yjs from a state
    // "hello xworld", a fresh replica loaded from the server's state at the end.
    let inverted = "0101d00f00c4e80708e80706017800";
    // "xy" at clocks 10–11 of client 1000 between "o" (4) and " " (5): the replica has clock
    // 10, so "y" is integrated after clock 10 ("d"), right of its right origin.
    let overlapping = "0101e8070ac4e80704e8070502787900";
    for frame in [inverted, overlapping] {
        let mut server = server_with_hello();
        let refused = server.integrate_update(&hex(frame));
        assert!(matches!(refused, Err(Error::IrreproducibleUpdate)), "{frame}: {refused:?}");
    }
}

#[test]
fn a_held_update_deletes_at_once_as_yjs_does() {
    // "x" at clock 13 of client 1000 (the replica has up to 10: held) and a deletion of
    // clocks 5–6 (" w"). Yjs deletes at once ("helloorld") and holds "x"; this replica held
    // the deletion too ("hello world") until the gap closed.
    let mut server = server_with_hello();
    let held = server.integrate_update(&hex("0101e8070d84e80706017801e807010502")).unwrap();
    assert_eq!(server.text(), "helloorld");
    assert!(server.has_held_updates());
    let mut connected = load(peer_config(2), &[hex(HELLO)]);
    connected.apply_update(&held.update).unwrap();
    assert_eq!(connected.text(), "helloorld", "what is relayed does the same");
    // Clocks 11–12 ("ab" after "d") close the gap: "x" lands after the deleted "w".
    let filled = server.integrate_update(&hex("0101e8070b84e8070a02616200")).unwrap();
    connected.apply_update(&filled.update).unwrap();
    assert!(!server.has_held_updates());
    assert_eq!(server.text(), "helloxorldab");
    assert_eq!(connected.text(), server.text());
}

/// Real updates to mutate: two yrs clients typing, deleting, formatting and setting map entries
/// (the shapes of the issue's payload), one update per transaction, plus their merged states.
/// Returns the stored base to start from and the updates to mutate.
fn corpus() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let doc = |id: u64| Doc::with_options(Options::with_client_id(yrs::ClientID::new(id)));
    let (a, b) = (doc(1000), doc(2000));
    let (ta, tb) = (a.get_or_insert_text("content"), b.get_or_insert_text("content"));
    let (ma, mb) = (a.get_or_insert_map("meta"), b.get_or_insert_map("meta"));
    let mut updates = Vec::new();
    let mut record = |doc: &Doc, edit: &dyn Fn(&mut yrs::TransactionMut<'_>)| {
        let mut txn = doc.transact_mut();
        edit(&mut txn);
        let update = txn.encode_update_v1();
        updates.push(update.clone());
        update
    };
    let base = vec![record(&a, &|t| ta.insert(t, 0, "hello world"))];
    b.transact_mut().apply_update(yrs::Update::decode_v1(&base[0]).unwrap()).unwrap();
    record(&a, &|t| ta.remove_range(t, 0, 2));
    record(&a, &|t| ta.insert(t, 3, "ig"));
    record(&a, &|t| ta.insert(t, 5, "Z"));
    record(&a, &|t| ta.remove_range(t, 8, 3));
    record(&a, &|t| {
        ma.insert(t, "a", 1);
    });
    let bold = yrs::types::Attrs::from([("b".into(), true.into())]);
    record(&a, &|t| ta.format(t, 1, 3, bold.clone()));
    record(&b, &|t| tb.insert(t, 6, "big 😀 "));
    record(&b, &|t| tb.remove_range(t, 0, 1));
    record(&b, &|t| {
        mb.insert(t, "z", "v");
    });
    record(&b, &|t| tb.insert(t, 4, "中文"));
    let merged = |doc: &Doc| {
        use yrs::ReadTxn;
        doc.transact().encode_state_as_update_v1(&yrs::StateVector::default())
    };
    updates.push(merged(&a));
    updates.push(merged(&b));
    assert!(ta.get_string(&a.transact()).len() > 3);
    (base, updates)
}

#[derive(Debug, Default)]
struct Counts {
    tried: usize,
    accepted: usize,
    rejected: usize,
    irreproducible: usize,
    divergences: usize,
}

/// The texts every replica holds after `frame` reached a server whose store holds `stored`:
/// `[live, connected peer, fresh peer, reloaded server]`, or `None` if it was rejected.
/// `verify` picks today's server (apply and relay the peer's bytes) or the fixed one.
fn deliver(stored: &[Vec<u8>], frame: &[u8], verify: bool) -> Result<[String; 4], Error> {
    let config = if verify { server_config } else { peer_config };
    let mut live = load(config(1), stored);
    let mut connected = load(peer_config(2), stored);
    let before = (live.text(), live.state_vector(), live.encode_state());
    let relayed = match live.integrate_update(frame) {
        Ok(integrated) if verify => integrated.update,
        Ok(_) => frame.to_vec(),
        Err(error) => {
            if !matches!(error, Error::IrreproducibleUpdate) {
                let after = (live.text(), live.state_vector(), live.encode_state());
                assert_eq!(before, after, "a rejected frame changed the replica: {error}");
            }
            // Nothing was stored or relayed: a reload is the state before.
            assert_eq!(load(config(3), stored).text(), before.0);
            return Err(error);
        }
    };
    let _ = connected.apply_update(&relayed);
    let fresh = fresh_peer(&mut live);
    let mut log = stored.to_vec();
    log.push(relayed);
    let reloaded = load(config(5), &log);
    Ok([live.text(), connected.text(), fresh.text(), reloaded.text()])
}

/// A peer that joins now: it syncs with `server` as a session does, by SyncStep1.
fn fresh_peer(server: &mut Document) -> Document {
    let mut session =
        SyncSession::new(SessionConfig::server(Extensions::Stock, PeerAccess::ReadWrite));
    let mut presence = Presence::new(server.client_id());
    let step1 =
        Message::SyncStep1 { state_vector: Document::new(peer_config(4)).unwrap().state_vector() };
    let replies = session.receive(&step1.encode(), server, &mut presence, 0).unwrap().replies;
    let mut fresh = Document::new(peer_config(4)).unwrap();
    for frame in replies {
        for message in Message::decode_frame(&frame).unwrap() {
            if let Message::SyncStep2 { update } | Message::Update { update } = message {
                fresh.apply_update(&update).unwrap();
            }
        }
    }
    fresh
}

fn fuzz(frames: usize, verify: bool) -> Counts {
    let (base, updates) = corpus();
    let bases = [Vec::new(), base];
    let mut rng = StdRng::seed_from_u64(18);
    let mut counts = Counts::default();
    while counts.tried < frames {
        let stored = &bases[rng.random_range(0..bases.len())];
        let original = &updates[rng.random_range(0..updates.len())];
        let frame = mutate(&mut rng, original);
        counts.tried += 1;
        match deliver(stored, &frame, verify) {
            Ok(texts) => {
                counts.accepted += 1;
                if texts.iter().any(|text| *text != texts[0]) {
                    if counts.divergences < 3 {
                        let frame: String = frame.iter().map(|b| format!("{b:02x}")).collect();
                        eprintln!("divergence {texts:?} on {} stored, frame {frame}", stored.len());
                    }
                    counts.divergences += 1;
                }
            }
            Err(Error::IrreproducibleUpdate) => counts.irreproducible += 1,
            Err(_) => counts.rejected += 1,
        }
    }
    counts
}

fn fuzz_frames(default: usize) -> usize {
    std::env::var("TANDEM_FUZZ_FRAMES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

#[test]
fn fuzzed_updates_disagree_less_with_verification() {
    let frames = fuzz_frames(3_000);
    let before = fuzz(frames, false);
    let after = fuzz(frames, true);
    eprintln!("fuzz without verification: {before:?}");
    eprintln!("fuzz with verification: {after:?}");
    assert!(before.divergences > 0, "the mutations reach the bug: {before:?}");
    assert!(after.divergences < before.divergences, "{before:?} {after:?}");
    assert!(after.accepted > frames / 20, "enough mutations apply to test something: {after:?}");
}

/// The whole invariant, for every frame (3,000 by default; `TANDEM_FUZZ_FRAMES` for more).
#[test]
fn fuzzed_updates_never_make_replicas_disagree() {
    let after = fuzz(fuzz_frames(3_000), true);
    assert_eq!(after.divergences, 0, "{after:?}");
    assert!(after.accepted > 100, "enough mutations apply to test something: {after:?}");
}
