//! One load run: seed, connect every client, type for the duration, drain, stop, verify.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::sleep;

use tandem_connect::Connector;

use crate::client::{CONNECT_TIMEOUT, ClientSpec, Phase, Shared, run_client};
use crate::config::LoadConfig;
use crate::protocol::{Protocol, create_document};
use crate::seed::seed_document;
use crate::stats::{ConnectionReport, DurableReport, Report, SeedReport};
use crate::verify::{DocAddress, Scope, verify};

/// Client ids stay below this (Yjs's own are random 32-bit numbers).
const CLIENT_ID_LIMIT: u64 = 1 << 32;
/// y-sweet documents created over HTTP at once.
const CREATE_CONCURRENCY: usize = 16;

/// Runs the load described by `config` and reports what it measured.
pub async fn run(config: LoadConfig) -> anyhow::Result<Report> {
    // Fresh Yjs client ids for every run: documents on a persistent server remember old ones,
    // and two replicas sharing an id corrupt each other. Seeders take the ids after the writers.
    // 32-bit ids, as Yjs draws them: y-sweet 0.9.1 (yrs 0.19) mangles larger ones when it
    // re-encodes an update, and then neither the latency probe nor the verification would find
    // the writers' inserts.
    let writers = config.total_writers() as u64;
    let span = writers + config.docs as u64 + 1;
    let base = rand::rng().random_range(1..CLIENT_ID_LIMIT - span);
    let connector = Connector::new(config.ca_cert.as_deref())?.with_timeout(CONNECT_TIMEOUT);
    // y-sweet loads a stored document while creating it, so a cold load shows up here.
    let create_s = if config.protocol == Protocol::YSweet {
        let started = Instant::now();
        create_all(&config).await?;
        Some(started.elapsed().as_secs_f64())
    } else {
        None
    };
    let seed = seed_all(&config, &connector, base + writers).await?;
    let shared = Arc::new(Shared::new(config.clone(), connector, base)?);
    let stats = &shared.stats;
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);

    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(config.total_clients());
    for doc in 0..config.docs {
        for index_in_doc in 0..config.clients_per_doc {
            let spec = ClientSpec {
                doc,
                index: tasks.len(),
                index_in_doc,
                writer_slot: (index_in_doc < config.writers_per_doc)
                    .then(|| doc * config.writers_per_doc + index_in_doc),
            };
            tasks.push(tokio::spawn(run_client(shared.clone(), spec, phase_rx.clone())));
        }
    }
    let total = config.total_clients() as u64;
    while stats.synced_clients.load(Ordering::Relaxed) < total
        && connect_started.elapsed() < config.connect_timeout
    {
        sleep(std::time::Duration::from_millis(20)).await;
    }
    let connect_phase = connect_started.elapsed();
    tracing::info!(
        synced = stats.synced_clients.load(Ordering::Relaxed),
        total,
        seconds = connect_phase.as_secs_f64(),
        "connected"
    );

    stats.set_counting(true);
    let _ = phase_tx.send(Phase::Typing);
    let window_started = Instant::now();
    sleep(config.duration).await;
    stats.set_counting(false);
    let window = window_started.elapsed().as_secs_f64();
    let _ = phase_tx.send(Phase::Draining);
    sleep(config.drain).await;
    let _ = phase_tx.send(Phase::Stop);

    let mut outcomes_by_doc: Vec<Vec<_>> = (0..config.docs).map(|_| Vec::new()).collect();
    for task in tasks {
        let outcome = task.await.context("a client task panicked")?;
        if !outcome.sent.is_empty() {
            outcomes_by_doc[outcome.doc].push(outcome);
        }
    }
    let verify_report = if config.keeps_sent_updates() {
        let scope = if config.verify_sent { Scope::Sent } else { Scope::Confirmed };
        let docs = outcomes_by_doc
            .into_iter()
            .enumerate()
            .map(|(doc, writers)| {
                // A fresh sync on the first node, without extensions: what a new client sees.
                let address = DocAddress {
                    url: config.doc_url(doc, 0, tandem_crdt::Extensions::Stock),
                    name: config.doc_name(doc),
                    protocol: config.protocol,
                };
                (address, writers)
            })
            .collect();
        Some(verify(&shared.connector, docs, scope).await)
    } else {
        None
    };

    let per_s = |n: u64| if window > 0.0 { n as f64 / window } else { 0.0 };
    Ok(Report {
        urls: config.urls.clone(),
        protocol: config.protocol,
        docs: config.docs as u64,
        clients_per_doc: config.clients_per_doc as u64,
        writers_per_doc: config.writers_per_doc as u64,
        rate: config.rate,
        duration_s: window,
        sent_updates: stats.sent_updates.get(),
        updates_per_s: per_s(stats.sent_updates.get()),
        received_messages: stats.received_messages.get(),
        messages_per_s: per_s(stats.received_messages.get()),
        received_updates: stats.received_updates.get(),
        latency: stats.latency.summary(),
        cross_node_latency: (config.urls.len() > 1).then(|| stats.cross_node_latency.summary()),
        sync_time: stats.sync_time.summary(),
        errors: stats.errors.load(Ordering::Relaxed),
        connections: ConnectionReport {
            clients: total,
            synced: stats.synced_clients.load(Ordering::Relaxed),
            established: stats.connections.load(Ordering::Relaxed),
            failures: stats.connect_failures.load(Ordering::Relaxed),
            reconnects: stats.reconnects.load(Ordering::Relaxed),
            connect_phase_s: connect_phase.as_secs_f64(),
        },
        durable: config.extensions.tandem().then(|| DurableReport {
            confirmed: stats.durable_confirmed.get(),
            confirmed_per_s: per_s(stats.durable_confirmed.get()),
            confirmed_total: stats.durable_confirmed_total.load(Ordering::Relaxed),
            latency: stats.durable_latency.summary(),
        }),
        verify: verify_report,
        seed,
        create_s,
    })
}

/// Creates every document on a y-sweet server, a few at a time.
async fn create_all(config: &LoadConfig) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let base = &config.urls[0];
    let mut created = futures_util::stream::iter(0..config.docs)
        .map(|doc| async move { create_document(base, &config.doc_name(doc)).await })
        .buffer_unordered(CREATE_CONCURRENCY);
    while let Some(result) = created.next().await {
        result?;
    }
    Ok(())
}

/// Seeds every document, a few at a time.
async fn seed_all(
    config: &LoadConfig,
    connector: &Connector,
    first_id: u64,
) -> anyhow::Result<Option<SeedReport>> {
    if config.seed_updates == 0 {
        return Ok(None);
    }
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for doc in 0..config.docs {
        if running.len() >= 4
            && let Some(done) = running.join_next().await
        {
            done.context("a seeding task panicked")??;
        }
        let address = DocAddress {
            url: config.doc_url(doc, 0, config.extensions),
            name: config.doc_name(doc),
            protocol: config.protocol,
        };
        let (n, extensions) = (config.seed_updates, config.extensions);
        let connector = connector.clone();
        running.spawn(async move {
            seed_document(&connector, &address, n, first_id + doc as u64, extensions).await
        });
    }
    while let Some(done) = running.join_next().await {
        done.context("a seeding task panicked")??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = (config.seed_updates * config.docs) as f64;
    Ok(Some(SeedReport {
        updates_per_doc: config.seed_updates as u64,
        seconds,
        updates_per_s: total / seconds.max(1e-9),
    }))
}
