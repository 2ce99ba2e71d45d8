//! Collaborative editing at 100 MB: a remote batch that inserts 1 MB into a 100 MB document, from
//! the frame's arrival to the frame drawn (CRDT apply, delta to chars, rope patch, cursor and peer
//! mapping, render into ratatui's `TestBackend` at 120×40).
//!
//! `cargo bench -p tandem --bench collab`.

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ropey::Rope;
use tandem::collab::{ChangeTracking, Collab, SharedHistory};
use tandem::ui::{RenderInput, render};
use tandem::{Config, Editor, Selection, Theme};
use tandem_crdt::{Client, Document, DocumentConfig, Extensions, SyncSession, UserInfo};

const MB: usize = 1024 * 1024;

/// Prose-like lines of varied length, `size` bytes of ASCII.
fn text(size: usize, tag: &str) -> String {
    let mut out = String::with_capacity(size + 128);
    let mut i = 0usize;
    while out.len() < size {
        let words = 4 + i % 9;
        out.push_str(&format!("{tag} {i}:"));
        for w in 0..words {
            out.push_str([" lorem", " ipsum", " dolor", " sit", " amet"][(i + w) % 5]);
        }
        out.push('\n');
        i += 1;
    }
    out.truncate(size);
    out
}

fn remote_insert(c: &mut Criterion) {
    let base = text(100 * MB, "line");
    let chunk = text(MB, "remote");
    // The peer that sends, and the editor's replica, share the 100 MB document.
    let mut peer =
        Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) }).unwrap();
    let seed = peer.replace(0..0, &base, 0).unwrap();
    let mut client = Client::new(DocumentConfig::new(2), Extensions::Tandem).unwrap();
    client.document_mut().apply_update(&seed).unwrap();
    let user = UserInfo { name: "bench".into(), color: "#30bced".into(), color_light: None };
    let mut collab = Collab::new(client, user);
    let mut ed = Editor::with_rope(Rope::from_str(&base), &Config::default());
    drop(base);
    ed.set_history(Box::new(SharedHistory::new(ChangeTracking::Ignored)));
    ed.resize(120, 40);
    // The editor looks at the middle, where the remote text lands.
    ed.set_selection(Selection::point(ed.rope().len_chars() / 2));
    collab.connected(&mut ed, 0).unwrap();
    let theme = Theme::dark();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let mut group = c.benchmark_group("collab");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("remote_1mb_insert_into_100mb_to_frame", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let at = peer.len_chars() / 2;
                let frame = SyncSession::update_frame(&peer.replace(at..at, &chunk, 0).unwrap());
                let start = Instant::now();
                collab.receive(&mut ed, &frame, 0).unwrap();
                term.draw(|f| {
                    let decorations = collab.decorations(&ed);
                    let status = collab.status(&ed, 0);
                    let input = RenderInput {
                        theme: &theme,
                        decorations: &decorations,
                        authors: &[],
                        connection: Some(&status),
                        syntax: None,
                        help: &[],
                    };
                    render(&ed, None, &input, f.area(), f.buffer_mut());
                })
                .unwrap();
                total += start.elapsed();
            }
            assert_eq!(
                ed.rope().len_chars(),
                peer.len_chars(),
                "the editor holds every remote char"
            );
            total
        })
    });
    group.finish();
}

criterion_group!(benches, remote_insert);
criterion_main!(benches);
