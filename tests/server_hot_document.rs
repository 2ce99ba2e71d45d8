//! One hot document must not stall the whole server (issue 18, item 3): while two connections
//! hammer a document seeded with 20,000 client ids, `/healthz`, another document's relay and
//! SIGTERM stay responsive.
//!
//! The bounds here are generous (the machine running the tests is shared and the binaries are
//! debug builds); the precise figures are in BENCHMARKS.md, measured with release binaries:
//! `TANDEM_SERVER_BIN=target/release/tandem-server TANDEM_HOT_ATTACK_SECS=20 cargo test -p
//! tandem-e2e --test server_hot_document -- --nocapture`.

use std::time::Duration;

use tandem_crdt::{Document, DocumentConfig};
use tandem_e2e::{HotAttack, ServerOptions, TestServer, percentile, seed_update};

#[test]
fn the_seed_update_holds_one_item_per_client() {
    let update = seed_update(300, "content");
    let document = Document::from_updates(DocumentConfig::new(1), [update.as_slice()]).unwrap();
    assert_eq!(document.text(), "x".repeat(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_document_leaves_health_other_documents_and_shutdown_responsive() {
    let secs: u64 =
        std::env::var("TANDEM_HOT_ATTACK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let options = ServerOptions {
        args: ["--cpu-budget-ms", "250"].map(String::from).to_vec(),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await.unwrap();
    let attack = HotAttack { duration: Duration::from_secs(secs), ..HotAttack::default() };
    let report = attack.run(&mut server).await.unwrap();
    eprintln!("{}", report.summary());

    assert!(report.relay_ms.len() >= 10, "the other document relayed too little: {report:?}");
    assert!(percentile(&report.healthz_ms, 99.0) < 1_000.0, "{}", report.summary());
    assert!(percentile(&report.relay_ms, 99.0) < 1_000.0, "{}", report.summary());
    assert!(report.cpu_limited > Some(0), "no attacker was slowed: {}", report.summary());
    let close = report.sigterm_close_ms.unwrap_or(f64::INFINITY);
    assert!(close < 3_000.0, "SIGTERM acted on late: {}", report.summary());
}
