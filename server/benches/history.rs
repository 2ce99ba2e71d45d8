//! Version history storage (issue 14): listing 10,000 versions, reading a version of a 1 MB
//! document, and the bytes a version of a 100 KB document costs (printed once, not timed).
//!
//!     cargo bench -p tandem-server --bench history
//!
//! SQLite in a temporary directory, as the server stores versions (deflated text per row).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::Connection;
use tandem_server::history::{NewVersion, VersionKind};
use tandem_server::storage::{SqliteStorage, Storage};

/// A deterministic stream of pseudo-random numbers (no dependency, same text every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

const WORDS: &[&str] = &[
    "the",
    "server",
    "keeps",
    "every",
    "version",
    "of",
    "a",
    "document",
    "and",
    "its",
    "authors",
    "restore",
    "makes",
    "text",
    "equal",
    "again",
    "clients",
    "converge",
    "on",
    "change",
    "while",
    "others",
    "keep",
    "typing",
    "history",
    "never",
    "lost",
    "compaction",
    "log",
    "snapshot",
    "named",
    "hour",
    "day",
    "retention",
    "prunes",
    "old",
    "versions",
    "quietly",
    "in",
    "background",
];

/// About `bytes` of prose in lines of ~70 chars.
fn prose(rng: &mut Lcg, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 80);
    let mut line = 0;
    while text.len() < bytes {
        let word = WORDS[rng.next(WORDS.len())];
        text.push_str(word);
        line += word.len() + 1;
        if line > 70 {
            text.push_str(".\n");
            line = 0;
        } else {
            text.push(' ');
        }
    }
    text
}

/// `text` with a sentence inserted at a random line start (a typical few seconds of typing).
fn edited(rng: &mut Lcg, text: &str) -> String {
    let starts: Vec<usize> =
        std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let at = starts[rng.next(starts.len())];
    let sentence = prose(rng, 40);
    format!("{}{}\n{}", &text[..at], sentence.trim_end(), &text[at..])
}

fn version(text: String, at: i64) -> NewVersion {
    NewVersion {
        kind: VersionKind::Auto,
        name: None,
        authors: vec!["ada".into(), "bob".into()],
        text,
        created_at_ms: at,
    }
}

fn history(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tandem.db");
    let storage = runtime.block_on(SqliteStorage::open(&db)).unwrap();
    let store = storage.history();
    let mut rng = Lcg(14);

    // Bytes per version: a 100 KB document, 1,000 versions a small edit apart.
    let started = Instant::now();
    let mut text = prose(&mut rng, 100 * 1024);
    let first_len = text.len();
    runtime.block_on(async {
        for i in 0..1_000 {
            text = edited(&mut rng, &text);
            store.record("prose", &version(text.clone(), i), false).await.unwrap();
        }
    });
    let (payload, rows): (i64, i64) = runtime.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as(
            "SELECT sum(length(body) + length(digest) + length(authors) + length(doc)), count(*) \
             FROM versions WHERE doc = 'prose'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap()
    });
    let file: u64 = ["tandem.db", "tandem.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "history/bytes_per_version: {rows} versions of a {:.0}-{:.0} KB document: {} stored bytes \
         per version ({:.1} % of the text), database file {} bytes per version; recorded in {:?}",
        first_len as f64 / 1024.0,
        text.len() as f64 / 1024.0,
        payload / rows,
        100.0 * (payload / rows) as f64 / ((first_len + text.len()) / 2) as f64,
        file / rows as u64,
        started.elapsed(),
    );

    // 10,000 versions of one document, listed.
    runtime.block_on(async {
        for i in 0..10_000 {
            store.record("many", &version(format!("version {i}\n"), i), false).await.unwrap();
        }
    });
    c.bench_function("history/list_10000_versions", |b| {
        b.iter(|| {
            let listed = runtime.block_on(store.list("many")).unwrap();
            assert_eq!(listed.len(), 10_000);
        })
    });

    // A version of a 1 MB document, read back.
    let big = prose(&mut rng, 1024 * 1024);
    let id =
        runtime.block_on(store.record("big", &version(big.clone(), 0), false)).unwrap().unwrap().id;
    c.bench_function("history/read_version_of_1mb_document", |b| {
        b.iter(|| {
            let text = runtime.block_on(store.text("big", id)).unwrap().unwrap();
            assert_eq!(text.len(), big.len());
        })
    });
    runtime.block_on(storage.close());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = history
}
criterion_main!(benches);
