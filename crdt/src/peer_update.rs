//! What an update from a peer may contain before a server's replica takes it in.
//!
//! yrs and stock Yjs integrate every update a real editor makes the same way, but they differ on
//! malformed ones that still decode, and whatever a server accepts, every replica must rebuild
//! exactly (issue 18). The differential fuzz test against stock Yjs found these classes:
//! - an item whose origin is its own or a later unit of its client: Yjs throws ("Unexpected
//!   case") where yrs integrates it;
//! - a deletion of zero units, or past 2^32: Yjs throws;
//! - an update that cannot be integrated whole because one client's blocks start after a gap,
//!   while another's could be: Yjs integrates those at once, tandem-crdt holds the whole update
//!   (see `Document`);
//! - an item whose origins contradict the text: it lands wherever the scan past them stops,
//!   which depends on how the blocks around happen to be split, so a replica that loads it
//!   from a state lays it out differently (checked once integrated: [`Origins::hold`]).
//!
//! (Held updates' deletions, which Yjs applies at once, are the document's part.) Checking
//! reads the bytes once and the state vector, never the document.

use yrs::StateVector;
use yrs::block::{BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB};
use yrs::block::{HAS_RIGHT_ORIGIN, ItemContent};
use yrs::encoding::read::{Cursor, Read as _};
use yrs::updates::decoder::{Decoder, DecoderV1};

/// One client's run of blocks in an update, and the origins of its items.
struct Run {
    client: u64,
    /// The first block's clock.
    start: u32,
    /// The clock after the last block.
    end: u32,
    /// Each item's clocks and origins, in order.
    items: Vec<(std::ops::Range<u32>, Option<yrs::ID>, Option<yrs::ID>)>,
}

/// An item a replica integrates from a peer's update, and its origins: once integrated, it
/// must lie between them (see [`Origins::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origins {
    /// The item's first unit new to the replica.
    first: yrs::ID,
    /// The item's last unit.
    last: yrs::ID,
    /// Its left origin: where it was typed after. An item whose first units the replica
    /// already has is integrated from the first new one, after the unit before it.
    left: Option<yrs::ID>,
    /// Its right origin: where it was typed before.
    right: Option<yrs::ID>,
}

impl Origins {
    /// Whether the item lies between its origins in the replica that integrated it.
    ///
    /// A peer types an item between two neighbours, and integration scans from the left one
    /// towards the right one, past items typed there concurrently. Origins that contradict the
    /// text (the right one left of the left one, or in another type) make the scan run past
    /// them, and where it stops depends on how the blocks around happen to be split: a replica
    /// that loads the same items from a state lays them out differently. So does an item that
    /// lands left of its left origin (resolving the right origin can split the block the left
    /// one pointed into).
    ///
    /// Indices count visible units only. A position before a unit (`Assoc::After`) has the
    /// unit's index, or if it is deleted, the next visible one's; a position after it
    /// (`Assoc::Before`) has the index past it, or the same if it is deleted. Of two units in
    /// order, the first's position after it is never past the second's position before it,
    /// and the comparison catches every misplaced item but one that is deleted.
    pub(crate) fn hold<T: yrs::ReadTxn>(&self, txn: &T) -> bool {
        let at = |id: yrs::ID, assoc| yrs::StickyIndex::from_id(id, assoc).get_offset(txn);
        let in_order = |before: yrs::ID, after: yrs::ID| {
            match (at(before, yrs::Assoc::Before), at(after, yrs::Assoc::After)) {
                (Some(before), Some(after)) => {
                    before.branch == after.branch && before.index <= after.index
                }
                // Collected (its parent was deleted): no text of it remains anywhere.
                _ => true,
            }
        };
        self.left.is_none_or(|left| in_order(left, self.first))
            && self.right.is_none_or(|right| in_order(self.last, right))
    }
}

/// Checks a peer's update `bytes` (lib0 v1, already decoded once by yrs) for a replica whose
/// state vector is `state`: `Err` says why it must not be integrated, `Ok` holds the origins
/// of the items it brings, to check once they are integrated ([`Origins::hold`]).
///
/// An update that cannot be integrated whole is held back, in part by Yjs (what it can
/// integrate, it does) and whole by tandem-crdt. Both agree when every client that brings new
/// units starts after a gap (both hold it all) or none does (both integrate what they can and
/// hold the rest alike). A real peer sends the first kind: an edit typed right after
/// reconnecting reaches the server before the sync that carries the edits made offline, and a
/// peer's sync carries back what it holds itself.
pub(crate) fn check(bytes: &[u8], state: &StateVector) -> Result<Vec<Origins>, &'static str> {
    // yrs' decoder already accepted these bytes, so a read error here means a shape it skips
    // over that this walk does not; refuse it too.
    const UNREADABLE: &str = "an update this check cannot read";
    let mut decoder = DecoderV1::new(Cursor::new(bytes));
    let runs = read_runs(&mut decoder).map_err(|_| UNREADABLE)??;
    let known = |client: u64| state.get(&yrs::ClientID::new(client));
    let new_runs = runs.iter().filter(|run| run.end > known(run.client));
    let (mut gapped, mut whole) = (0, 0);
    for run in new_runs {
        match run.start > known(run.client) {
            true => gapped += 1,
            false => whole += 1,
        }
    }
    if gapped > 0 && whole > 0 {
        return Err("a gap in a client's clocks, in an update that brings another's units");
    }
    read_deletions(&mut decoder).map_err(|_| UNREADABLE)??;
    Ok(origins_of(&runs, state))
}

/// The items of an update `bytes` that [`check`] need not see (another server's, or merged
/// ones a replica holds) whose units are new to a replica at `state`, with their origins.
pub(crate) fn origins(bytes: &[u8], state: &StateVector) -> Vec<Origins> {
    let mut decoder = DecoderV1::new(Cursor::new(bytes));
    match read_runs(&mut decoder) {
        Ok(Ok(runs)) => origins_of(&runs, state),
        _ => Vec::new(),
    }
}

/// The origins of the items whose units are new to a replica at `state`.
fn origins_of(runs: &[Run], state: &StateVector) -> Vec<Origins> {
    let mut origins = Vec::new();
    for run in runs {
        let known = state.get(&yrs::ClientID::new(run.client));
        let id = |clock| yrs::ID::new(yrs::ClientID::new(run.client), clock);
        for (clocks, left, right) in run.items.iter().filter(|(clocks, ..)| clocks.end > known) {
            let left = match clocks.start < known {
                true => Some(id(known - 1)),
                false => *left,
            };
            if left.is_some() || right.is_some() {
                let (first, last) = (id(clocks.start.max(known)), id(clocks.end - 1));
                origins.push(Origins { first, last, left, right: *right });
            }
        }
    }
    origins
}

type Read<T> = Result<T, yrs::encoding::read::Error>;

/// Every client's run of blocks, or the first item that no peer could have made.
fn read_runs(decoder: &mut DecoderV1<'_>) -> Read<Result<Vec<Run>, &'static str>> {
    let clients: u32 = decoder.read_var()?;
    let mut runs = Vec::new();
    for _ in 0..clients {
        let blocks: u32 = decoder.read_var()?;
        let client = decoder.read_client()?.get();
        let start: u32 = decoder.read_var()?;
        let mut run = Run { client, start, end: start, items: Vec::new() };
        for _ in 0..blocks {
            let info = decoder.read_info()?;
            let len = match info {
                BLOCK_SKIP_REF_NUMBER => decoder.read_var::<u32>()?,
                BLOCK_GC_REF_NUMBER => decoder.read_len()?,
                _ => match read_item(decoder, info, client, run.end)? {
                    Ok((len, left, right)) => {
                        run.items.push((run.end..run.end.saturating_add(len), left, right));
                        len
                    }
                    Err(problem) => return Ok(Err(problem)),
                },
            };
            run.end = run.end.saturating_add(len);
        }
        if run.end == u32::MAX {
            return Ok(Err("clocks past 2^32"));
        }
        runs.push(run);
    }
    Ok(Ok(runs))
}

/// An item's length and its left and right origins.
type ItemRead = (u32, Option<yrs::ID>, Option<yrs::ID>);

/// Reads the item at `clock` of `client` after its `info` byte: its length and origins.
fn read_item(
    decoder: &mut DecoderV1<'_>,
    info: u8,
    client: u64,
    clock: u32,
) -> Read<Result<ItemRead, &'static str>> {
    let left = (info & HAS_ORIGIN != 0).then(|| decoder.read_left_id()).transpose()?;
    let right = (info & HAS_RIGHT_ORIGIN != 0).then(|| decoder.read_right_id()).transpose()?;
    let mut parent = None;
    if left.is_none() && right.is_none() {
        match decoder.read_parent_info()? {
            true => drop(decoder.read_string()?),
            false => parent = Some(decoder.read_left_id()?),
        }
        if info & HAS_PARENT_SUB != 0 {
            decoder.read_string()?;
        }
    }
    let len = ItemContent::decode(decoder, info)?.len_utf16();
    if left.is_some() && left == right {
        return Ok(Err("an item's left and right origins are the same"));
    }
    // A unit of the same client can only be an origin or a parent of units made after it.
    let later = |id: &yrs::ID| id.client.get() == client && id.clock >= clock;
    if left.iter().chain(&right).chain(&parent).any(later) {
        return Ok(Err("an item refers to its own or a later unit of its client"));
    }
    Ok(Ok((len, left, right)))
}

/// Checks the update's deletions: each of at least one unit, ending before 2^32.
fn read_deletions(decoder: &mut DecoderV1<'_>) -> Read<Result<(), &'static str>> {
    let clients: u32 = decoder.read_var()?;
    for _ in 0..clients {
        decoder.reset_ds_cur_val();
        let _client: u64 = decoder.read_var()?;
        let ranges: u32 = decoder.read_var()?;
        for _ in 0..ranges {
            let clock = decoder.read_ds_clock()?;
            let len = decoder.read_ds_len()?;
            if len == 0 || clock.checked_add(len).is_none() {
                return Ok(Err("a deletion of nothing or past 2^32"));
            }
        }
    }
    Ok(Ok(()))
}
