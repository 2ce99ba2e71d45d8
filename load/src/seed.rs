//! `--seed-updates`: writes a long update log into a document over one connection, as fast as
//! the server takes it, before the measured run (cold-load benchmarks need such a document).

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tandem_connect::Connector;
use tandem_crdt::{Client, DocumentConfig, Extensions, Message};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::connect;
use crate::verify::DocAddress;

/// Frames written between flushes.
const BATCH: usize = 256;
/// Without durable confirmations, updates sent before waiting for a barrier's answer. Servers
/// that drop frames to a connection whose outbound queue is full (y-sweet keeps 1,024 and
/// echoes every update to its sender) would otherwise drop the barrier's answer too.
const ROUND: usize = 512;
/// How long the server may take to catch up after the last update.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Writes `n` one-char updates into the document `doc` (typing at a cursor that sometimes
/// jumps) and waits until the server has them all: durably with [`Extensions::Tandem`]
/// (tandem's Durable confirmations), otherwise until it answered a SyncStep1 sent after the
/// last update (servers handle one connection's messages in order), in rounds of [`ROUND`]
/// updates each closed by such a barrier. `client_id` must be fresh.
pub async fn seed_document(
    connector: &Connector,
    doc: &DocAddress,
    n: usize,
    client_id: u64,
    extensions: Extensions,
) -> anyhow::Result<()> {
    let durable = extensions.tandem();
    let (protocol, name) = (doc.protocol, doc.name.as_str());
    let mut client = Client::new(DocumentConfig::new(client_id), extensions)?;
    let ws =
        connect(connector, &doc.url).await.with_context(|| format!("connecting to {}", doc.url))?;
    let (mut tx, mut rx) = ws.split();
    for frame in protocol.opening(name) {
        tx.feed(WsMessage::Binary(frame.into())).await?;
    }
    for frame in client.connect()? {
        tx.feed(WsMessage::Binary(protocol.wrap(name, frame).into())).await?;
    }
    let mut rng = SmallRng::seed_from_u64(client_id);
    let mut cursor = 0usize;
    let mut sent = 0usize;
    // Barriers sent; the server's answers (SyncStep2) number one more: the first answers the
    // opening SyncStep1.
    let mut barriers = 0usize;
    let mut step2_seen = 0usize;
    let settle = async {
        loop {
            // Read whatever the server sent first, so its outbound queue never fills up.
            tokio::select! {
                biased;
                frame = rx.next() => {
                    let bytes = match frame.context("connection closed while seeding")?? {
                        WsMessage::Binary(bytes) => bytes,
                        _ => continue,
                    };
                    let Some(bytes) = protocol.unwrap(name, &bytes)? else { continue };
                    step2_seen += Message::decode_frame(&bytes)?
                        .iter()
                        .filter(|m| matches!(m, Message::SyncStep2 { .. }))
                        .count();
                    let event = client.receive(&bytes, 0)?;
                    for reply in event.replies {
                        tx.feed(WsMessage::Binary(protocol.wrap(name, reply).into())).await?;
                    }
                    tx.flush().await?;
                    let done = if durable {
                        sent == n && client.unconfirmed_count() == 0
                    } else {
                        barriers == n.div_ceil(ROUND) && step2_seen > barriers
                    };
                    if done {
                        return anyhow::Ok(());
                    }
                }
                () = std::future::ready(()), if may_send(durable, sent, n, barriers, step2_seen) => {
                    let round_end = if durable { n } else { ((barriers + 1) * ROUND).min(n) };
                    if sent < round_end {
                        for _ in 0..BATCH.min(round_end - sent) {
                            let len = client.document().len_chars();
                            if cursor > len || rng.random::<f64>() < 0.02 {
                                cursor = rng.random_range(0..=len);
                            }
                            let c = (b'a' + rng.random_range(0..26u8)) as char;
                            for frame in client.replace(cursor..cursor, c.encode_utf8(&mut [0; 4]), 0)? {
                                tx.feed(WsMessage::Binary(protocol.wrap(name, frame).into())).await?;
                            }
                            cursor += 1;
                            sent += 1;
                        }
                    } else {
                        let state_vector = client.document().state_vector();
                        let step1 = Message::SyncStep1 { state_vector }.encode();
                        tx.feed(WsMessage::Binary(protocol.wrap(name, step1).into())).await?;
                        barriers += 1;
                    }
                    tx.flush().await?;
                }
            }
        }
    };
    timeout(SETTLE_TIMEOUT, settle).await.context("the server did not take the seed in time")??;
    let _ = tx.close().await;
    Ok(())
}

/// Whether the seeder may write now: with confirmations, while updates remain; without, while
/// rounds remain and the last barrier has been answered (`step2_seen` counts the answer to the
/// opening SyncStep1 too).
fn may_send(durable: bool, sent: usize, n: usize, barriers: usize, step2_seen: usize) -> bool {
    if durable {
        return sent < n;
    }
    let waiting = barriers > 0 && step2_seen <= barriers;
    !waiting && barriers < n.div_ceil(ROUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_confirmations_each_round_waits_for_its_barrier() {
        let n = ROUND + 10;
        // Round 1 open, nothing answered yet: write.
        assert!(may_send(false, 0, n, 0, 0));
        assert!(may_send(false, ROUND, n, 0, 1));
        // Barrier 1 sent, unanswered: wait; answered: round 2.
        assert!(!may_send(false, ROUND, n, 1, 1));
        assert!(may_send(false, ROUND, n, 1, 2));
        // Both rounds closed: nothing more, answered or not.
        assert!(!may_send(false, n, n, 2, 2));
        assert!(!may_send(false, n, n, 2, 3));
        // With confirmations: everything at once, no barriers.
        assert!(may_send(true, ROUND * 3, n * 4, 0, 0));
        assert!(!may_send(true, n, n, 0, 0));
    }
}
