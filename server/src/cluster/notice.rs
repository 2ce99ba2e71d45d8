//! The NOTIFY protocol: what a server announces on [`CHANNEL`] (JSON [`Notice`]s) and what
//! another server's notice asks of this one ([`RemoteCommit`]s). Pure: no database here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::RemoteCommit;

/// The channel servers sharing a PostgreSQL database announce their commits on.
pub(crate) const CHANNEL: &str = "tandem_commits";
/// Delivered to every listening server when the transaction it runs in commits.
pub(crate) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// Largest payload PostgreSQL's NOTIFY takes (its limit is 8,000 bytes).
const MAX_NOTICE_BYTES: usize = 7_900;
/// Snapshot ids per notice: document ids are at most 128 bytes, so 50 fit the limit.
const SNAPSHOTS_PER_NOTICE: usize = 50;

/// What a server announces on [`CHANNEL`] after a commit (JSON).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Notice {
    /// The announcing server (a random node id): it ignores its own.
    node: u64,
    /// Log rows appended, by id range (other documents' rows may fall in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updates: Option<(i64, i64)>,
    /// Documents whose log was compacted into their snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    snapshots: Vec<String>,
    /// Awareness of a document's clients: the document and the update in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presence: Option<(String, String)>,
}

impl Notice {
    /// What another server's notice asks of this one.
    fn into_commits(self) -> Vec<RemoteCommit> {
        let mut commits: Vec<RemoteCommit> =
            self.snapshots.into_iter().map(|doc| RemoteCommit::Snapshot { doc }).collect();
        if let Some((from, to)) = self.updates {
            commits.push(RemoteCommit::Updates { from, to });
        }
        if let Some((doc, update)) = self.presence {
            match BASE64.decode(update) {
                Ok(update) => commits.push(RemoteCommit::Presence { doc, update }),
                Err(error) => tracing::warn!(%error, "ignoring undecodable awareness"),
            }
        }
        commits
    }
}

/// The payloads `node` announces for a commit that compacted `snapshots` and appended the log
/// rows `appended` (nothing when it did neither).
pub(crate) fn commit_payloads(
    node: u64,
    snapshots: &[String],
    appended: Option<(i64, i64)>,
) -> Result<Vec<String>, serde_json::Error> {
    let mut notices: Vec<Notice> = snapshots
        .chunks(SNAPSHOTS_PER_NOTICE)
        .map(|docs| Notice { node, snapshots: docs.to_vec(), ..Notice::default() })
        .collect();
    if appended.is_some() {
        notices.push(Notice { node, updates: appended, ..Notice::default() });
    }
    notices.iter().map(serde_json::to_string).collect()
}

/// The payload announcing awareness `update` of `node`'s clients of `doc`; `None` when it is
/// too large for a notice (the peer's next, smaller renewal gets through).
pub(crate) fn presence_payload(
    node: u64,
    doc: &str,
    update: &[u8],
) -> Result<Option<String>, serde_json::Error> {
    let presence = Some((doc.to_owned(), BASE64.encode(update)));
    let payload = serde_json::to_string(&Notice { node, presence, ..Notice::default() })?;
    Ok((payload.len() <= MAX_NOTICE_BYTES).then_some(payload))
}

/// What a notice heard on [`CHANNEL`] asks of server `node`: nothing for its own notices.
pub(crate) fn heard(node: u64, payload: &str) -> Vec<RemoteCommit> {
    match serde_json::from_str::<Notice>(payload) {
        Ok(notice) if notice.node == node => Vec::new(),
        Ok(notice) => notice.into_commits(),
        Err(error) => {
            tracing::warn!(%error, "ignoring an unreadable commit notice");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_a_server_ignores_its_own() {
        let snapshots: Vec<String> = (0..51).map(|i| format!("doc{i}")).collect();
        let payloads = commit_payloads(1, &snapshots, Some((3, 9))).unwrap();
        assert_eq!(payloads.len(), 3, "two snapshot notices and one for the appends");
        assert!(payloads.iter().all(|p| p.len() <= MAX_NOTICE_BYTES));
        let heard_by_2: Vec<RemoteCommit> = payloads.iter().flat_map(|p| heard(2, p)).collect();
        assert_eq!(heard_by_2.len(), 52);
        assert_eq!(heard_by_2[51], RemoteCommit::Updates { from: 3, to: 9 });
        assert!(payloads.iter().all(|p| heard(1, p).is_empty()));

        let presence = presence_payload(1, "doc", b"\x01\x02").unwrap().unwrap();
        let update = b"\x01\x02".to_vec();
        assert_eq!(heard(2, &presence), vec![RemoteCommit::Presence { doc: "doc".into(), update }]);
        assert_eq!(presence_payload(1, "doc", &[0; MAX_NOTICE_BYTES]).unwrap(), None);
        assert!(commit_payloads(1, &[], None).unwrap().is_empty());
    }
}
