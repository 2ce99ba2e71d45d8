//! The end-of-run checks: under `--verify-durable` every update the server confirmed durable must
//! be in the state a fresh sync returns; under `--verify-sent` the sent updates missing from it
//! are counted.

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tandem_connect::Connector;
use tandem_crdt::{Document, DocumentConfig, Message};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::{ClientOutcome, connect};
use crate::protocol::Protocol;
use crate::stats::VerifyReport;

/// How long to keep trying to fetch a document (the server may still be restarting).
const FETCH_PATIENCE: Duration = Duration::from_secs(30);

/// Where a document is and how to talk to it.
#[derive(Debug, Clone)]
pub struct DocAddress {
    /// Its websocket URL.
    pub url: String,
    /// Its name (Hocuspocus puts it in every frame).
    pub name: String,
    /// The server's dialect.
    pub protocol: Protocol,
}

/// Fetches a document's full state with a fresh sync: SyncStep1 with an empty state vector,
/// then the server's SyncStep2 is the whole document.
pub async fn fetch_state(connector: &Connector, doc: &DocAddress) -> anyhow::Result<Vec<u8>> {
    let empty = Document::new(DocumentConfig::new(1))?;
    let mut ws = connect(connector, &doc.url).await?;
    let step1 = Message::SyncStep1 { state_vector: empty.state_vector() }.encode();
    for frame in doc.protocol.opening(&doc.name) {
        ws.feed(WsMessage::Binary(frame.into())).await?;
    }
    ws.send(WsMessage::Binary(doc.protocol.wrap(&doc.name, step1).into())).await?;
    let answer = timeout(Duration::from_secs(30), async {
        while let Some(frame) = ws.next().await {
            if let WsMessage::Binary(bytes) = frame? {
                let Some(inner) = doc.protocol.unwrap(&doc.name, &bytes)? else { continue };
                for message in Message::decode_frame(&inner)? {
                    if let Message::SyncStep2 { update } = message {
                        return Ok(update);
                    }
                }
            }
        }
        anyhow::bail!("connection closed before SyncStep2")
    })
    .await
    .context("no SyncStep2 within 30 s")?;
    let _ = ws.close(None).await;
    answer
}

/// Like [`fetch_state`], retrying while the server comes back.
pub async fn fetch_state_patiently(
    connector: &Connector,
    doc: &DocAddress,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + FETCH_PATIENCE;
    loop {
        match fetch_state(connector, doc).await {
            Ok(state) => return Ok(state),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %format!("{e:#}"), url = doc.url, "fetch failed, retrying");
                sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether every update in `confirmed` is already contained in `state`: applying them to a
/// replica of `state` must change nothing. Returns how many are missing.
pub fn count_missing(state: &[u8], confirmed: &[Vec<u8>]) -> anyhow::Result<u64> {
    if confirmed.is_empty() {
        return Ok(0);
    }
    let merged = yrs::merge_updates_v1(confirmed).context("merging confirmed updates")?;
    if adds_anything(state, &merged)? {
        // Something is missing: find out how much, one update at a time.
        let mut missing = 0;
        for update in confirmed {
            if adds_anything(state, update)? {
                missing += 1;
            }
        }
        Ok(missing.max(1))
    } else {
        Ok(0)
    }
}

fn adds_anything(state: &[u8], update: &[u8]) -> anyhow::Result<bool> {
    let mut probe = Document::from_state(verifier_config(), state)?;
    let before = probe.encode_state();
    probe.apply_update(update)?;
    Ok(probe.encode_state() != before)
}

fn verifier_config() -> DocumentConfig {
    DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) }
}

/// What to check at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only what the server confirmed durable.
    Confirmed,
    /// Also every update sent.
    Sent,
}

/// Checks each document's writers' updates against its fetched final state: the confirmed ones
/// must all be there; with [`Scope::Sent`] the missing sent ones are counted too.
pub(crate) async fn verify(
    connector: &Connector,
    docs: Vec<(DocAddress, Vec<ClientOutcome>)>,
    scope: Scope,
) -> VerifyReport {
    let mut report = VerifyReport { ok: true, ..VerifyReport::default() };
    for (doc, writers) in docs {
        report.confirmed_checked += writers.iter().map(|w| w.confirmed as u64).sum::<u64>();
        if scope == Scope::Sent {
            report.sent_checked += writers.iter().map(|w| w.sent.len() as u64).sum::<u64>();
        }
        let state = match fetch_state_patiently(connector, &doc).await {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), url = doc.url, "cannot fetch the final state");
                report.fetch_failures += 1;
                report.ok = false;
                continue;
            }
        };
        let check = |updates: &[Vec<u8>]| {
            count_missing(&state, updates).unwrap_or_else(|e| {
                tracing::error!(error = %format!("{e:#}"), url = doc.url, "cannot check updates");
                updates.len() as u64
            })
        };
        for writer in &writers {
            let missing = check(&writer.sent[..writer.confirmed.min(writer.sent.len())]);
            report.missing += missing;
            report.ok &= missing == 0;
            if scope == Scope::Sent {
                report.sent_missing += check(&writer.sent);
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_updates_are_found_and_missing_ones_counted() {
        let mut writer = Document::new(DocumentConfig::new(42)).unwrap();
        let updates: Vec<Vec<u8>> =
            (0..5).map(|i| writer.insert(i, "x", i as u64).unwrap()).collect();
        let backspace = writer.delete(2..3, 10).unwrap();
        let mut server = Document::new(verifier_config()).unwrap();
        for update in &updates[..3] {
            server.apply_update(update).unwrap();
        }
        let partial = server.encode_state();
        assert_eq!(count_missing(&partial, &updates[..3]).unwrap(), 0);
        assert_eq!(count_missing(&partial, &updates).unwrap(), 2);
        // A delete the server never stored is missing too.
        assert_eq!(count_missing(&partial, std::slice::from_ref(&backspace)).unwrap(), 1);
        server.apply_update(&backspace).unwrap();
        assert_eq!(count_missing(&server.encode_state(), &[backspace]).unwrap(), 0);
    }
}
