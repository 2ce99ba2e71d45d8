//! Replays real editing traces one transaction per patch (as an editor sends keystrokes) and
//! compares tandem-crdt with raw yrs. See BENCHMARKS-crdt.md for the figures.
//!
//! - `a_raw_yrs`: yrs `TextRef` with `OffsetKind::Utf16`, the baseline. The traces hold no
//!   astral characters (checked before timing), so char positions equal UTF-16 positions and
//!   pass straight through: the cheapest correct conversion.
//! - `a2_raw_yrs_encode`: the same plus `encode_update_v1` per transaction, which any networked
//!   editor pays.
//! - `b_document`: `tandem_crdt::Document::replace` per patch (it returns the encoded update).
//! - `c_remote_rope`: a second `Document` applying (b)'s updates and patching a ropey `Rope`
//!   with the deltas: the remote-apply path of an editor.
//! - `encode_state`, `from_state`, `encode_diff` on the final document.
//!
//! The four replays run the first `PREFIX` patches of each trace; state encoding, loading and
//! diffing use the whole trace's final state.
//!
//! `long-document` measures one keystroke's cost where real documents end up long: the
//! 30k-patch prefix of automerge-paper (today's replays), its whole final document (105k chars
//! after 260k patches) and a 1 MB document of the same edit density (ten replicas of that
//! history side by side, about 2.6 million edits' worth of blocks). On each, a typist types
//! [`KEYSTROKES`] chars in bursts at random places: `local_edit` (`Document::replace`, which
//! encodes the update), `remote_apply` (a replica applying those updates with deltas, as an
//! editor does) and `server_apply` (the server's replica: no deltas, no undo, re-encoding
//! verified). Times are per iteration of [`KEYSTROKES`] keystrokes.
//!
//! Run: `cargo bench -p tandem-crdt --bench replay` (the 1 MB document is built once, several
//! minutes, and cached in the target directory).

use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ropey::Rope;
use tandem_crdt::{Document, DocumentConfig};
use yrs::{Doc, OffsetKind, Options, ReadTxn, Text, Transact};

/// `(char position, deleted chars, inserted text)`.
type Patch = (u32, u32, String);

fn load(name: &str) -> Option<(Vec<Patch>, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/traces/sequential_traces")
        .join(format!("{name}.json.gz"));
    let Ok(file) = std::fs::File::open(&path) else {
        println!("skipped {name}: no trace at {}", path.display());
        return None;
    };
    let mut json = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut json).ok()?;
    let trace: serde_json::Value = serde_json::from_str(&json).ok()?;
    let mut patches = Vec::new();
    for txn in trace["txns"].as_array()? {
        for p in txn["patches"].as_array()? {
            patches.push((p[0].as_u64()? as u32, p[1].as_u64()? as u32, p[2].as_str()?.to_owned()));
        }
    }
    let astral = |s: &str| s.chars().any(|c| c.len_utf16() == 2);
    assert!(!patches.iter().any(|(_, _, s)| astral(s)), "{name} has astral chars");
    Some((patches, trace["endContent"].as_str()?.to_owned()))
}

/// Replays `patches` into a raw yrs text; returns the doc and the bytes of updates encoded.
fn raw_yrs(patches: &[Patch], encode: bool) -> (Doc, usize) {
    raw_yrs_with(patches, encode, false)
}

/// [`raw_yrs`], optionally with a yrs `UndoManager` tracking the edits (as `Document` has), to
/// tell yrs' undo bookkeeping apart from tandem's own costs.
fn raw_yrs_with(patches: &[Patch], encode: bool, undo: bool) -> (Doc, usize) {
    let mut options = Options::with_client_id(yrs::ClientID::new(1));
    options.offset_kind = OffsetKind::Utf16;
    let doc = Doc::with_options(options);
    let text = doc.get_or_insert_text("content");
    let origin = yrs::Origin::from("local");
    let _undo = undo.then(|| {
        let mut options = yrs::undo::Options::default();
        options.tracked_origins.insert(origin.clone());
        let mut undo = yrs::UndoManager::with_options(options);
        undo.expand_scope(&doc, &text);
        undo
    });
    let mut bytes = 0;
    for (pos, del, ins) in patches {
        let mut txn = doc.transact_mut_with(origin.clone());
        if *del > 0 {
            text.remove_range(&mut txn, *pos, *del);
        }
        if !ins.is_empty() {
            text.insert(&mut txn, *pos, ins);
        }
        if encode {
            bytes += txn.encode_update_v1().len();
        }
    }
    (doc, bytes)
}

fn document(patches: &[Patch]) -> (Document, Vec<Vec<u8>>) {
    let mut doc = Document::new(DocumentConfig::new(1)).unwrap();
    let updates = patches
        .iter()
        .map(|(pos, del, ins)| {
            let (pos, del) = (*pos as usize, *del as usize);
            doc.replace(pos..pos + del, ins, 0).unwrap()
        })
        .collect();
    (doc, updates)
}

fn remote_rope(updates: &[Vec<u8>]) -> Rope {
    let mut doc = Document::new(DocumentConfig::new(2)).unwrap();
    let mut rope = Rope::new();
    for update in updates {
        for edit in doc.apply_update(update).unwrap().edits() {
            rope.remove(edit.start..edit.start + edit.removed);
            rope.insert(edit.start, &edit.inserted);
        }
    }
    rope
}

/// Patches replayed per timed iteration. yrs finds each position by walking its block list
/// from the text start, so a full trace costs tens of seconds per iteration (automerge-paper:
/// 260k patches) and grows quadratically; a prefix keeps ten criterion samples to seconds.
const PREFIX: usize = 30_000;

/// The final state of `patches`, built with raw yrs (the same content a `Document` holds).
fn final_state(patches: &[Patch]) -> Vec<u8> {
    raw_yrs(patches, false).0.transact().encode_state_as_update_v1(&yrs::StateVector::default())
}

fn bench_trace(c: &mut Criterion, name: &str) {
    let Some((all_patches, end)) = load(name) else { return };
    let patches = &all_patches[..PREFIX.min(all_patches.len())];
    let (prefix_doc, updates) = document(patches);
    assert_eq!(remote_rope(&updates).to_string(), prefix_doc.text());
    let state = final_state(&all_patches);
    let final_doc = Document::from_state(DocumentConfig::new(3), &state).unwrap();
    assert_eq!(final_doc.text(), end);
    let half_sv = Document::from_state(
        DocumentConfig::new(4),
        &final_state(&all_patches[..all_patches.len() / 2]),
    )
    .unwrap()
    .state_vector();

    let mut group = c.benchmark_group(name);
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(patches.len() as u64));
    group.bench_function("a_raw_yrs", |b| b.iter(|| raw_yrs(black_box(patches), false).1));
    group.bench_function("a2_raw_yrs_encode", |b| b.iter(|| raw_yrs(black_box(patches), true).1));
    group.bench_function("a3_raw_yrs_encode_undo", |b| {
        b.iter(|| raw_yrs_with(black_box(patches), true, true).1)
    });
    group.bench_function("b_document", |b| b.iter(|| document(black_box(patches)).1.len()));
    group.bench_function("c_remote_rope", |b| b.iter(|| remote_rope(black_box(&updates))));
    group.throughput(Throughput::Bytes(state.len() as u64));
    group.bench_function("encode_state", |b| b.iter(|| final_doc.encode_state()));
    group.bench_function("from_state", |b| {
        b.iter_batched(
            || DocumentConfig::new(3),
            |config| Document::from_state(config, black_box(&state)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("encode_diff_from_half", |b| {
        b.iter(|| final_doc.encode_diff(black_box(&half_sv)).unwrap())
    });
    group.finish();
}

/// Keystrokes typed per timed iteration of the long-document benchmarks.
const KEYSTROKES: usize = 500;
/// Keystrokes per burst at one place.
const BURST: usize = 25;
/// Copies of the automerge-paper history side by side in the 1 MB document.
const COPIES: u64 = 10;

/// The final state of `patches` replayed by a raw yrs replica with client id `client`.
fn final_state_as(patches: &[Patch], client: u64) -> Vec<u8> {
    let mut options = Options::with_client_id(yrs::ClientID::new(client));
    options.offset_kind = OffsetKind::Utf16;
    let doc = Doc::with_options(options);
    let text = doc.get_or_insert_text("content");
    for (pos, del, ins) in patches {
        let mut txn = doc.transact_mut();
        if *del > 0 {
            text.remove_range(&mut txn, *pos, *del);
        }
        if !ins.is_empty() {
            text.insert(&mut txn, *pos, ins);
        }
    }
    let txn = doc.transact();
    txn.encode_state_as_update_v1(&yrs::StateVector::default())
}

/// `COPIES` replicas of the whole trace, each by its own client, merged: every copy starts at
/// the text start with no origin, so they sit side by side (ordered by client id), each with
/// its history's blocks. Cached in the target directory: building takes minutes.
fn copies_state(patches: &[Patch]) -> Vec<u8> {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("automerge-paper-x10.update");
    if let Ok(state) = std::fs::read(&cache) {
        return state;
    }
    let copies: Vec<Vec<u8>> = (0..COPIES).map(|k| final_state_as(patches, 100 + k)).collect();
    let state = yrs::merge_updates_v1(&copies).unwrap();
    let _ = std::fs::write(&cache, &state);
    state
}

/// A typist's keystrokes on a document of `len` chars: bursts of `BURST` chars at random
/// places, each burst typed left to right, as `(char position, char)`.
fn keystrokes(len: usize) -> Vec<(usize, char)> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(17);
    let mut out = Vec::with_capacity(KEYSTROKES);
    let mut typed = 0;
    while out.len() < KEYSTROKES {
        let start = rng.random_range(0..=len + typed);
        for i in 0..BURST.min(KEYSTROKES - out.len()) {
            out.push((start + i, (b'a' + rng.random_range(0..26u8)) as char));
        }
        typed += BURST;
    }
    out
}

fn server_config(client: u64) -> DocumentConfig {
    DocumentConfig {
        track_deltas: false,
        track_undo: false,
        verify_integration: true,
        ..DocumentConfig::new(client)
    }
}

fn bench_long(c: &mut Criterion) {
    let Some((patches, end)) = load("automerge-paper") else { return };
    let prefix = final_state(&patches[..PREFIX.min(patches.len())]);
    let full = final_state(&patches);
    assert_eq!(Document::from_state(DocumentConfig::new(3), &full).unwrap().text(), end);
    let megabyte = copies_state(&patches);
    let mut group = c.benchmark_group("long-document");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(KEYSTROKES as u64));
    for (name, state) in [("prefix-30k", &prefix), ("final-105k", &full), ("copies-1mb", &megabyte)]
    {
        let len = Document::from_state(DocumentConfig::new(3), state).unwrap().len_chars();
        println!("{name}: {len} chars, state {} bytes", state.len());
        let keys = keystrokes(len);
        let type_all = |doc: &mut Document| -> Vec<Vec<u8>> {
            keys.iter()
                .map(|&(pos, ch)| doc.replace(pos..pos, ch.encode_utf8(&mut [0; 4]), 0).unwrap())
                .collect()
        };
        let updates = type_all(&mut Document::from_state(DocumentConfig::new(7), state).unwrap());
        group.bench_function(format!("{name}/local_edit"), |b| {
            b.iter_batched(
                || Document::from_state(DocumentConfig::new(7), state).unwrap(),
                |mut doc| type_all(&mut doc),
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("{name}/remote_apply"), |b| {
            b.iter_batched(
                || Document::from_state(DocumentConfig::new(8), state).unwrap(),
                |mut doc| {
                    for update in &updates {
                        black_box(doc.apply_update(update).unwrap());
                    }
                    doc
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("{name}/server_apply"), |b| {
            b.iter_batched(
                || Document::from_state(server_config(9), state).unwrap(),
                |mut doc| {
                    for update in &updates {
                        black_box(doc.integrate_update(update).unwrap());
                    }
                    doc
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_trace(c, "automerge-paper");
    bench_trace(c, "seph-blog1");
    bench_long(c);
}

criterion_group!(replay, benches);
criterion_main!(replay);
