//! Snapshot merging for a database several servers write: the compacting server's replica may
//! lack updates another server logged, so its state is merged with what is stored before the
//! log is dropped. Pure: the caller reads and writes the rows.

/// The state to store as a snapshot: `state` (the compacting server's replica) merged with
/// what is stored (`stored`: the snapshot, then the log rows, oldest first). `None` if a
/// stored update does not apply, or leaves a gap: then nothing may be dropped.
pub(crate) fn merge_snapshot<'a>(
    state: &[u8],
    stored: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Vec<u8>> {
    let mut stored = stored.into_iter().peekable();
    if stored.peek().is_none() {
        return Some(state.to_vec());
    }
    let config = tandem_crdt::DocumentConfig {
        track_deltas: false,
        track_undo: false,
        ..tandem_crdt::DocumentConfig::new(tandem_crdt::client_id_from_random(rand::random()))
    };
    let mut merged = tandem_crdt::Document::from_state(config, state).ok()?;
    for data in stored {
        merged.apply_update(data).ok()?;
    }
    (!merged.has_held_updates()).then(|| merged.encode_state())
}
