//! Replays Joseph Gentle's editing traces (`../shared/traces`, see its SOURCE.md) through
//! `Document` and compares with each file's `endContent`.
//!
//! - Sequential traces: every patch is one local edit (positions are chars). A second replica
//!   applies each update and patches a ropey `Rope` with the deltas, as the editor does.
//! - Concurrent traces: each agent has its own replica; before a transaction it merges exactly
//!   the transactions its `parents` name (and their ancestors), then applies its patches.
//!
//! In debug builds the big sequential traces (automerge-paper, seph-blog1, rustcode) are cut to
//! their first `DEBUG_PREFIX` transactions to keep the run to seconds; `cargo test --release`
//! (or `TANDEM_FULL_TRACES=1`) replays them whole.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use ropey::Rope;
use serde_json::Value;
use tandem_crdt::{Delta, Document, DocumentConfig};

const DEBUG_PREFIX: usize = 3_000;

fn traces_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces");
    if dir.is_dir() {
        Some(dir)
    } else {
        // CI checks out ../shared beside the clone, so there a missing directory is a failure.
        let reason = format!("no editing traces at {}", dir.display());
        tandem_require::require_or_skip("the editing-trace replays", &reason);
        None
    }
}

fn load(path: &Path) -> Value {
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut json)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// `(position, deleted chars, inserted text)` of every patch of a transaction.
fn patches(txn: &Value) -> impl Iterator<Item = (usize, usize, &str)> {
    txn["patches"].as_array().unwrap().iter().map(|p| {
        (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize, p[2].as_str().unwrap())
    })
}

fn full_replay() -> bool {
    !cfg!(debug_assertions) || std::env::var_os("TANDEM_FULL_TRACES").is_some()
}

fn apply_delta(rope: &mut Rope, delta: &Delta) {
    for edit in delta.edits() {
        rope.remove(edit.start..edit.start + edit.removed);
        rope.insert(edit.start, &edit.inserted);
    }
}

fn replay_sequential(name: &str) {
    let Some(dir) = traces_dir() else { return };
    let trace = load(&dir.join("sequential_traces").join(format!("{name}.json.gz")));
    let txns = trace["txns"].as_array().unwrap();
    let whole = full_replay() || txns.len() <= DEBUG_PREFIX;
    let count = if whole { txns.len() } else { DEBUG_PREFIX };
    let mut local = Document::new(DocumentConfig::new(1)).unwrap();
    let mut remote = Document::new(DocumentConfig::new(2)).unwrap();
    let mut model = String::new();
    let mut view = Rope::new();
    for txn in &txns[..count] {
        for (pos, del, ins) in patches(txn) {
            let update = local.replace(pos..pos + del, ins, 0).unwrap();
            apply_delta(&mut view, &remote.apply_update(&update).unwrap());
            if !whole {
                let start = model.char_indices().nth(pos).map_or(model.len(), |(b, _)| b);
                let end =
                    model[start..].char_indices().nth(del).map_or(model.len(), |(b, _)| start + b);
                model.replace_range(start..end, ins);
            }
        }
    }
    let expected = if whole { trace["endContent"].as_str().unwrap() } else { model.as_str() };
    assert_eq!(local.text(), expected, "{name}: local replica");
    assert_eq!(remote.text(), expected, "{name}: remote replica");
    assert_eq!(view.to_string(), expected, "{name}: rope patched by deltas");
    let prefix = if whole { "" } else { " (prefix; --release for all)" };
    println!("{name}: {count} of {} transactions{prefix}", txns.len());
}

#[test]
fn automerge_paper() {
    replay_sequential("automerge-paper");
}

#[test]
fn seph_blog1() {
    replay_sequential("seph-blog1");
}

#[test]
fn rustcode() {
    replay_sequential("rustcode");
}

#[test]
fn small_sequential_traces() {
    for name in [
        "sveltecomponent",
        "json-crdt-patch",
        "json-crdt-blog-post",
        "friendsforever_flat",
        "clownschool_flat",
    ] {
        replay_sequential(name);
    }
}

/// One agent's replica, which has seen exactly the transactions in `applied`.
struct Agent {
    doc: Document,
    view: Rope,
    applied: HashSet<usize>,
}

fn replay_concurrent(name: &str) {
    let Some(dir) = traces_dir() else { return };
    let trace = load(&dir.join("concurrent_traces").join(format!("{name}.json.gz")));
    let txns = trace["txns"].as_array().unwrap();
    let agents = trace["numAgents"].as_u64().unwrap() as usize;
    let mut agents: Vec<Agent> = (0..agents)
        .map(|a| Agent {
            doc: Document::new(DocumentConfig::new(10 + a as u64)).unwrap(),
            view: Rope::new(),
            applied: HashSet::new(),
        })
        .collect();
    let mut updates: Vec<Vec<Vec<u8>>> = Vec::with_capacity(txns.len());
    for (i, txn) in txns.iter().enumerate() {
        let agent = &mut agents[txn["agent"].as_u64().unwrap() as usize];
        // Collect the parents' ancestors this agent has not merged yet; an applied transaction's
        // ancestors are all applied, so the walk stops there.
        let mut missing = Vec::new();
        let mut stack: Vec<usize> = txn["parents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as usize)
            .collect();
        while let Some(j) = stack.pop() {
            if agent.applied.insert(j) {
                missing.push(j);
                stack.extend(
                    txns[j]["parents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_u64().unwrap() as usize),
                );
            }
        }
        missing.sort_unstable();
        for j in missing {
            for update in &updates[j] {
                let delta = agent.doc.apply_update(update).unwrap();
                apply_delta(&mut agent.view, &delta);
            }
        }
        let mut mine = Vec::new();
        for (pos, del, ins) in patches(txn) {
            mine.push(agent.doc.replace(pos..pos + del, ins, 0).unwrap());
            agent.view.remove(pos..pos + del);
            agent.view.insert(pos, ins);
        }
        agent.applied.insert(i);
        updates.push(mine);
    }
    let expected = trace["endContent"].as_str().unwrap();
    // The last transaction follows every other one, so its agent has merged everything.
    let last = txns.last().unwrap()["agent"].as_u64().unwrap() as usize;
    assert_eq!(agents[last].doc.text(), expected, "{name}: last agent");
    for (a, agent) in agents.iter().enumerate() {
        assert_eq!(agent.view.to_string(), agent.doc.text(), "{name}: agent {a} view");
    }
    // Every update delivered in trace order to a fresh replica gives the same text.
    let mut all =
        Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(99) }).unwrap();
    for update in updates.iter().flatten() {
        all.apply_update(update).unwrap();
    }
    assert_eq!(all.text(), expected, "{name}: all updates in order");
    println!("{name}: {} transactions across {} agents", txns.len(), agents.len());
}

#[test]
fn concurrent_friendsforever() {
    replay_concurrent("friendsforever");
}

#[test]
fn concurrent_clownschool() {
    replay_concurrent("clownschool");
}
