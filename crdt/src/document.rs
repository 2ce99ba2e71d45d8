//! [`Document`]: one yrs document holding one root text, edited by char index.
//!
//! All positions in this module are char offsets into the text unless a name says `utf16`.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use yrs::types::Delta as YrsDelta;
use yrs::undo::Options as UndoOptions;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Assoc, Doc, GetString, IndexedSequence, Observable, OffsetKind, Options, Origin, Out,
    ReadTxn, StateVector, StickyIndex, Text, TextRef, Transact, TransactionMut, UndoManager,
    Update, WriteTxn,
};

use crate::authorship::ClientRun;
use crate::decode;
use crate::delta::{Delta, DeltaOp};
use crate::error::{Error, Result};
use crate::offsets::AstralIndex;
use crate::peer_update;

/// The root text's name when none is configured; y-websocket demos and tandem agree on it.
pub const DEFAULT_TEXT_NAME: &str = "content";

/// Typing closer together than this (in milliseconds) undoes as one step.
pub const DEFAULT_UNDO_GROUP_MS: u64 = 500;

/// Largest client id a Yjs peer can represent (JavaScript numbers are exact to 53 bits).
pub const MAX_CLIENT_ID: u64 = (1 << 53) - 1;

/// An update that changes nothing, as yrs encodes it (no structs, no deletions): a peer with
/// nothing to send answers SyncStep1 with it. Nothing to store or relay.
pub const EMPTY_UPDATE: &[u8] = &[0, 0];

/// A client id made from `random` bits (from the caller's random source: this crate has
/// none): the low 53 bits, so every Yjs peer can represent it.
pub fn client_id_from_random(random: u64) -> u64 {
    random & MAX_CLIENT_ID
}

/// How to build a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentConfig {
    /// This replica's Yjs client id (at most 53 bits). Pass a fresh random one per session:
    /// two live replicas sharing an id corrupt each other.
    pub client_id: u64,
    /// Name of the root `Y.Text` that holds the document.
    pub text_name: String,
    /// Local edits closer together than this many milliseconds undo as one step.
    pub undo_group_ms: u64,
    /// Whether remote changes produce [`Delta`]s. A server, which keeps no view of the text, turns
    /// this off and saves the walk over the text that a delta costs.
    pub track_deltas: bool,
    /// Whether local edits can be undone. A server makes no local edits and turns this off, so
    /// no undo manager watches its transactions.
    pub track_undo: bool,
    /// Whether every remote update is checked to integrate the same way from its re-encoding
    /// (see [`Document::integrate_update`]). A server turns this on: what it stores and relays
    /// must rebuild exactly the replica it serves. Costs a second replica and a second apply.
    pub verify_integration: bool,
}

impl DocumentConfig {
    /// A configuration with the default text name, undo grouping, undo and deltas on.
    pub fn new(client_id: u64) -> Self {
        Self {
            client_id,
            text_name: DEFAULT_TEXT_NAME.to_owned(),
            undo_group_ms: DEFAULT_UNDO_GROUP_MS,
            track_deltas: true,
            track_undo: true,
            verify_integration: false,
        }
    }
}

/// What [`Document::integrate_update`] did with a remote update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrated {
    /// What changed in the text, in chars (empty when deltas are not tracked).
    pub delta: Delta,
    /// The update as this replica took it in, re-encoded: the blocks and deletions it integrated
    /// (with any held updates it unblocked), merged with what of it is held until its
    /// dependencies arrive. An update that changed nothing encodes as `[0, 0]`. This, not the
    /// peer's bytes, is what to store and relay: the peer's bytes may integrate differently on a
    /// replica that splits blocks differently.
    pub update: Vec<u8>,
    /// The client ids whose items the update carried: who wrote it.
    pub writers: Vec<u64>,
}

/// Where a verifying document's remote update comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// A client's connection: checked whole before it is applied (see [`peer_update::check`]).
    Client,
    /// Another server or the store, which checked it when a client sent it: it may arrive
    /// before an update it follows, so only the second replica checks it.
    Server,
}

/// Whether an apply keeps the re-encoding of what it integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reencoding {
    Keep,
    Skip,
}

/// A change this replica made that must reach the others (an undo or a redo): the update to send
/// and the delta to apply to the local view of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalChange {
    /// The encoded Yjs update (lib0 v1) to send to peers.
    pub update: Vec<u8>,
    /// What changed in the text, in chars, to patch the local view with.
    pub delta: Delta,
}

/// A clock shared with yrs (undo grouping, awareness), set from the time each call passes in:
/// tandem-crdt never reads the system clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedClock(Arc<AtomicU64>);

impl SharedClock {
    pub(crate) fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::Relaxed);
    }

    /// Moves the clock to `now_ms` unless it already shows a later time.
    pub(crate) fn advance_to(&self, now_ms: u64) {
        self.0.fetch_max(now_ms, Ordering::Relaxed);
    }
}

impl yrs::sync::Clock for SharedClock {
    fn now(&self) -> yrs::sync::Timestamp {
        self.0.load(Ordering::Relaxed)
    }
}

/// A text change as yrs reports it, in UTF-16 units; converted to chars after the transaction.
enum RawOp {
    Retain(u32),
    Insert(String),
    Delete(u32),
}

type RawOps = Arc<Mutex<Vec<RawOp>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it; the data (a buffer of
    // pending ops) is still well-formed.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A replica of one collaborative text.
///
/// Local edits take char indices and return the encoded update to send; remote updates return
/// the [`Delta`] that patches a local view (a rope) without re-reading the text.
///
/// ```
/// use tandem_crdt::{Document, DocumentConfig};
///
/// let mut alice = Document::new(DocumentConfig::new(1)).unwrap();
/// let mut bob = Document::new(DocumentConfig::new(2)).unwrap();
/// let update = alice.insert(0, "héllo 👋", 0).unwrap();
/// let delta = bob.apply_update(&update).unwrap();
/// assert_eq!(bob.text(), "héllo 👋");
/// assert_eq!(delta.edits()[0].inserted, "héllo 👋");
/// ```
pub struct Document {
    config: DocumentConfig,
    doc: Doc,
    text: TextRef,
    /// `None` when deltas are not tracked: then remote edits are not seen, and the index is
    /// rebuilt from the text when a conversion needs it.
    astral: Option<AstralIndex>,
    clock: SharedClock,
    /// `None` when undo is not tracked.
    undo: Option<UndoManager>,
    local_origin: Origin,
    remote_origin: Origin,
    raw_ops: RawOps,
    /// Remote updates that cannot be integrated yet because updates they follow have not
    /// arrived, merged into one (see [`integrate`]).
    held: Option<Vec<u8>>,
    /// With [`DocumentConfig::verify_integration`]: a second replica fed only re-encodings of
    /// what this one integrated, as a fresh peer or a reloaded server would be.
    shadow: Option<Box<Document>>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("client_id", &self.config.client_id)
            .field("text_name", &self.config.text_name)
            .finish_non_exhaustive()
    }
}

impl Document {
    /// An empty document.
    pub fn new(config: DocumentConfig) -> Result<Self> {
        if config.client_id > MAX_CLIENT_ID {
            return Err(Error::BadClientId(config.client_id));
        }
        let mut options = Options::with_client_id(yrs::ClientID::new(config.client_id));
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let text = doc.get_or_insert_text(config.text_name.as_str());
        let local_origin = Origin::from("tandem-local");
        let remote_origin = Origin::from("tandem-remote");
        let clock = SharedClock::default();
        let undo = config.track_undo.then(|| {
            let mut undo = UndoManager::with_options(UndoOptions {
                capture_timeout_millis: config.undo_group_ms,
                tracked_origins: HashSet::from([local_origin.clone()]),
                capture_transaction: None,
                timestamp: Arc::new(clock.clone()),
                init_undo_stack: Vec::new(),
                init_redo_stack: Vec::new(),
            });
            undo.expand_scope(&doc, &text);
            undo
        });
        let raw_ops = RawOps::default();
        if config.track_deltas {
            observe_remote_deltas(&text, local_origin.clone(), raw_ops.clone());
        }
        let astral = config.track_deltas.then(AstralIndex::default);
        let shadow = match config.verify_integration {
            true => Some(Box::new(Self::new(shadow_config(&config))?)),
            false => None,
        };
        Ok(Self {
            config,
            doc,
            text,
            astral,
            clock,
            undo,
            local_origin,
            remote_origin,
            raw_ops,
            held: None,
            shadow,
        })
    }

    /// A document loaded from a full state (as [`Document::encode_state`] made it, or any Yjs
    /// update). Loading is not an undoable edit.
    pub fn from_state(config: DocumentConfig, state: &[u8]) -> Result<Self> {
        Self::from_updates(config, [state])
    }

    /// A document loaded from stored updates (a snapshot and a log), applied in order. Loading
    /// is not an undoable edit.
    ///
    /// With [`DocumentConfig::verify_integration`] the stored updates are not checked (a store
    /// written before checking existed may hold one that fails the check, and the document must
    /// still load as it always did): both replicas replay them alike, and every update after
    /// that is checked.
    pub fn from_updates<'a>(
        config: DocumentConfig,
        updates: impl IntoIterator<Item = &'a [u8]> + Clone,
    ) -> Result<Self> {
        let unverified = DocumentConfig { verify_integration: false, ..config.clone() };
        let mut document = Self::new(unverified)?;
        for update in updates.clone() {
            document.apply_update(update)?;
        }
        if config.verify_integration {
            let mut shadow = Self::new(shadow_config(&config))?;
            for update in updates {
                shadow.apply_update(update)?;
            }
            document.shadow = Some(Box::new(shadow));
        }
        document.config = config;
        Ok(document)
    }

    /// This replica's client id.
    pub fn client_id(&self) -> u64 {
        self.config.client_id
    }

    /// The configuration this document was built with.
    pub fn config(&self) -> &DocumentConfig {
        &self.config
    }

    /// The whole text.
    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// The text's runs by the Yjs client id that inserted them, in order (see
    /// [`crate::ClientRun`]). Reading them changes nothing in the replica.
    pub fn client_runs(&self) -> Vec<ClientRun> {
        crate::authorship::client_runs(&mut self.doc.transact_mut(), &self.text)
    }

    /// Length of the text in UTF-16 code units (Yjs' and browsers' unit).
    pub fn len_utf16(&self) -> usize {
        self.text.len(&self.doc.transact()) as usize
    }

    /// Length of the text in chars.
    pub fn len_chars(&self) -> usize {
        let astral = match &self.astral {
            Some(index) => index.astral_count(),
            None => AstralIndex::from_text(&self.text()).astral_count(),
        };
        self.len_utf16() - astral
    }

    /// UTF-16 offset of char index `char_idx`.
    pub fn char_to_utf16(&mut self, char_idx: usize) -> Result<usize> {
        let len = self.len_chars();
        if char_idx > len {
            return Err(Error::OutOfRange { start: char_idx, end: char_idx, len });
        }
        Ok(self.astral_index().char_to_utf16(char_idx))
    }

    /// Char index of UTF-16 offset `utf16_idx`.
    pub fn utf16_to_char(&mut self, utf16_idx: usize) -> Result<usize> {
        if utf16_idx > self.len_utf16() {
            return Err(Error::BadUtf16Offset(utf16_idx));
        }
        self.astral_index().utf16_to_char(utf16_idx)
    }

    /// Inserts `text` before char `char_idx` as a local edit; returns the update to send.
    /// `now_ms` groups typing for undo.
    pub fn insert(&mut self, char_idx: usize, text: &str, now_ms: u64) -> Result<Vec<u8>> {
        self.replace(char_idx..char_idx, text, now_ms)
    }

    /// Deletes the chars in `range` as a local edit; returns the update to send.
    pub fn delete(&mut self, range: Range<usize>, now_ms: u64) -> Result<Vec<u8>> {
        self.replace(range, "", now_ms)
    }

    /// Replaces the chars in `range` with `text` in one local transaction; returns the update
    /// to send (empty changes still return a valid, empty update).
    pub fn replace(&mut self, range: Range<usize>, text: &str, now_ms: u64) -> Result<Vec<u8>> {
        self.replace_each(&[(range, text)], now_ms)
    }

    /// Applies several replacements in order, in one local transaction (one update, one undo
    /// step): the edits a keystroke makes at several cursors. Each range is in chars of the text
    /// as the edits before it left it. Nothing changes when one is out of range.
    pub fn replace_each(&mut self, edits: &[(Range<usize>, &str)], now_ms: u64) -> Result<Vec<u8>> {
        let mut len = self.len_chars();
        for (range, text) in edits {
            if range.start > range.end || range.end > len {
                return Err(Error::OutOfRange { start: range.start, end: range.end, len });
            }
            len = len - range.len() + text.chars().count();
        }
        let index = self.astral_index();
        let mut spans = Vec::with_capacity(edits.len());
        for (range, text) in edits {
            let start16 = index.char_to_utf16(range.start);
            let end16 = index.char_to_utf16(range.end);
            index.remove(range.clone());
            index.insert(range.start, text);
            spans.push((start16, end16, *text));
        }
        self.set_clock(now_ms);
        let mut txn = self.doc.transact_mut_with(self.local_origin.clone());
        for (start16, end16, text) in spans {
            if end16 > start16 {
                self.text.remove_range(&mut txn, to_u32(start16), to_u32(end16 - start16));
            }
            if !text.is_empty() {
                self.text.insert(&mut txn, to_u32(start16), text);
            }
        }
        let update = txn.encode_update_v1();
        drop(txn);
        self.follow_local(&update)?;
        Ok(update)
    }

    /// Keeps a verifying document's second replica in step with a local edit.
    fn follow_local(&mut self, update: &[u8]) -> Result<()> {
        match self.shadow.as_mut() {
            Some(shadow) => shadow.apply(update, Reencoding::Skip).map(drop),
            None => Ok(()),
        }
    }

    /// Applies an update from another replica (or a stored state) and returns what changed in
    /// the text, in chars. Updates may arrive in any order, twice, or before their dependencies.
    ///
    /// With [`DocumentConfig::verify_integration`] this checks the update as
    /// [`Document::integrate_update`] does.
    pub fn apply_update(&mut self, update: &[u8]) -> Result<Delta> {
        if self.shadow.is_some() {
            return Ok(self.verified(update, Peer::Server)?.delta);
        }
        Ok(self.apply(update, Reencoding::Skip)?.delta)
    }

    /// Applies an update from another replica like [`Document::apply_update`], and also returns
    /// the re-encoding of what this replica took in ([`Integrated::update`]).
    ///
    /// With [`DocumentConfig::verify_integration`], the re-encoding is applied to a second
    /// replica that has seen only re-encodings, and both must then hold the same text and state
    /// vector. yrs integrates a mutated update whose origins contradict each other (a right
    /// origin left of its left origin, say) by scanning past them, so where the text lands
    /// depends on how the blocks around it happen to be split: the peer's bytes and their
    /// re-encoding then place it differently, and replicas disagree for ever. Such an update
    /// is an [`Error::IrreproducibleUpdate`], and it has already changed this replica: discard
    /// the document and rebuild it from what was stored and relayed, which never saw it.
    pub fn integrate_update(&mut self, update: &[u8]) -> Result<Integrated> {
        self.verified(update, Peer::Client)
    }

    /// Applies `update` and, on a verifying document, checks a client's update before (see
    /// [`peer_update::check`]), where the items it integrated landed, and that the second
    /// replica integrates the re-encoding alike.
    fn verified(&mut self, update: &[u8], peer: Peer) -> Result<Integrated> {
        if self.shadow.is_none() {
            return self.apply(update, Reencoding::Keep);
        }
        let before = self.doc.transact().state_vector();
        let mut origins = match peer {
            Peer::Client => decode::guarded(|| peer_update::check(update, &before))
                .unwrap_or(Err("a client id does not fit in 53 bits"))
                .map_err(|problem| Error::MalformedUpdate(problem.into()))?,
            Peer::Server => {
                decode::guarded(|| peer_update::origins(update, &before)).unwrap_or_default()
            }
        };
        // Held items are checked when they are integrated, which may be now.
        if let Some(held) = &self.held {
            origins.extend(peer_update::origins(held, &before));
        }
        let integrated = self.apply(update, Reencoding::Keep)?;
        let txn = self.doc.transact();
        let misplaced = !origins.iter().all(|item| item.hold(&txn));
        drop(txn);
        if let Some(shadow) = self.shadow.as_mut().filter(|_| !misplaced) {
            shadow.apply(&integrated.update, Reencoding::Skip)?;
            if same_integration(&self.doc, &self.text, &shadow.doc, &shadow.text, &before) {
                return Ok(integrated);
            }
        }
        Err(Error::IrreproducibleUpdate)
    }

    fn apply(&mut self, update: &[u8], reencoding: Reencoding) -> Result<Integrated> {
        let update = decode::update(update)?;
        let writers = update.state_vector().iter().map(|(client, _)| client.get()).collect();
        let len_before = self.config.track_deltas.then(|| self.len_chars());
        let update = {
            // One transaction for the update and whatever held updates it unblocks, so the
            // observer reports one delta.
            let mut txn = self.doc.transact_mut_with(self.remote_origin.clone());
            let newly_held = integrate(&mut txn, update, &mut self.held)?;
            // Retry what was held while that makes progress. Retry at least once: the new
            // update may have been held itself and, merged with the others, close their gaps.
            let mut seen = None;
            while let Some(held) = self.held.take_if(|_| seen.as_ref() != Some(&txn.state_vector()))
            {
                seen = Some(txn.state_vector());
                let held = decode::update(&held)?;
                integrate(&mut txn, held, &mut self.held)?;
            }
            // Committing squashes neighbouring blocks and collects deleted ones, which changes
            // how the update re-encodes: encode what a later reader of this replica sees.
            txn.commit();
            match (reencoding, newly_held) {
                (Reencoding::Skip, _) => Vec::new(),
                (Reencoding::Keep, None) => txn.encode_update_v1(),
                (Reencoding::Keep, Some(held)) => {
                    yrs::merge_updates_v1([txn.encode_update_v1().as_slice(), &held])
                        .map_err(|e| Error::UpdateRejected(e.to_string()))?
                }
            }
        };
        let delta = match len_before {
            Some(len_before) => self.take_delta(len_before),
            None => {
                // Without deltas the index cannot follow remote edits: drop it, so the next
                // conversion rebuilds it from the text instead of trusting a stale one.
                self.astral = None;
                Delta::default()
            }
        };
        Ok(Integrated { delta, update, writers })
    }

    /// The state vector (what this replica has seen), encoded for SyncStep1.
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// The whole document as one update: what a new replica needs, and what a store keeps.
    /// Remote updates still waiting for their predecessors are included (as Yjs does), so a
    /// store never loses them.
    pub fn encode_state(&self) -> Vec<u8> {
        self.with_held(self.doc.transact().encode_state_as_update_v1(&StateVector::default()))
    }

    /// What a replica with the encoded `state_vector` is missing, as one update (SyncStep2).
    pub fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>> {
        let sv = decode::state_vector(state_vector)?;
        Ok(self.with_held(self.doc.transact().encode_state_as_update_v1(&sv)))
    }

    /// What a replica with the encoded `state_vector` is missing, as the two updates a peer
    /// should apply one after the other: what this replica integrated, then what it holds (see
    /// [`Document::encode_diff`]). Merged into one, a held update's gap would make the whole
    /// merge wait on the receiving tandem replica, integrated text included.
    pub fn encode_diff_and_held(&self, state_vector: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let sv = decode::state_vector(state_vector)?;
        Ok((self.doc.transact().encode_state_as_update_v1(&sv), self.held.clone()))
    }

    /// The whole document as the two updates a store should keep and replay in order: what
    /// this replica integrated, then what it holds (see [`Document::encode_diff_and_held`]).
    pub fn encode_state_and_held(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let state = self.doc.transact().encode_state_as_update_v1(&StateVector::default());
        (state, self.held.clone())
    }

    /// Whether some remote updates wait for updates they follow (false once every replica has
    /// exchanged everything).
    pub fn has_held_updates(&self) -> bool {
        self.held.is_some()
    }

    fn with_held(&self, update: Vec<u8>) -> Vec<u8> {
        match &self.held {
            None => update,
            // The held update decoded when it arrived, so merging cannot fail; keep the
            // integrated state alone if it somehow does.
            Some(held) => yrs::merge_updates_v1([update.as_slice(), held]).unwrap_or(update),
        }
    }

    /// Undoes this replica's last undo step (never another user's edits); `None` when there is
    /// none or undo is not tracked.
    pub fn undo(&mut self, now_ms: u64) -> Result<Option<LocalChange>> {
        self.run_history(now_ms, UndoManager::undo_blocking)
    }

    /// Redoes the last undone step.
    pub fn redo(&mut self, now_ms: u64) -> Result<Option<LocalChange>> {
        self.run_history(now_ms, UndoManager::redo_blocking)
    }

    /// Whether there is a step to undo.
    pub fn can_undo(&self) -> bool {
        self.undo.as_ref().is_some_and(UndoManager::can_undo)
    }

    /// Whether there is a step to redo.
    pub fn can_redo(&self) -> bool {
        self.undo.as_ref().is_some_and(UndoManager::can_redo)
    }

    /// Ends the current undo step: the next edit starts a new one however soon it comes
    /// (the editor calls this when the cursor jumps, for example).
    pub fn end_undo_step(&mut self) {
        if let Some(undo) = self.undo.as_mut() {
            undo.reset();
        }
    }

    /// A position before char `char_idx` that follows its text through concurrent edits.
    /// `Assoc::After` sticks to the char after the position, `Assoc::Before` to the one before.
    pub fn sticky_position(&mut self, char_idx: usize, assoc: Assoc) -> Result<StickyIndex> {
        let utf16 = self.char_to_utf16(char_idx)?;
        let txn = self.doc.transact();
        // yrs has no item to stick to at the very end with `Assoc::After`; Yjs then names the
        // text itself, which resolves to its end, wherever that is by then. Do the same.
        Ok(self
            .text
            .sticky_index(&txn, to_u32(utf16), assoc)
            .unwrap_or_else(|| StickyIndex::from_type(&txn, &self.text, assoc)))
    }

    /// The char index a sticky position points at now, or `None` if it points into another
    /// document or a text this replica has not seen yet.
    pub fn resolve_position(&mut self, position: &StickyIndex) -> Option<usize> {
        let offset = position.get_offset(&self.doc.transact())?;
        self.utf16_to_char(offset.index as usize).ok()
    }

    /// Sets the undo manager's clock. yrs takes a last-change time of 0 as "no change yet" (so
    /// an edit at 0 would never group with the next) and subtracts times unchecked (so a clock
    /// going backwards would overflow): shift by one and never go back.
    fn set_clock(&self, now_ms: u64) {
        self.clock.advance_to(now_ms.saturating_add(1));
    }

    fn astral_index(&mut self) -> &mut AstralIndex {
        let text = &self.text;
        let doc = &self.doc;
        match &mut self.astral {
            Some(index) => index,
            slot => slot.insert(AstralIndex::from_text(&text.get_string(&doc.transact()))),
        }
    }

    fn run_history(
        &mut self,
        now_ms: u64,
        step: impl FnOnce(&mut UndoManager) -> bool,
    ) -> Result<Option<LocalChange>> {
        if self.undo.is_none() {
            return Ok(None);
        }
        self.set_clock(now_ms);
        let len_before = self.len_chars();
        let captured: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = captured.clone();
        let key = Origin::from("tandem-history");
        self.doc
            .observe_update_v1(key.clone(), move |_, event| lock(&sink).push(event.update.clone()))
            .map_err(|e| Error::UpdateRejected(e.to_string()))?;
        let changed = self.undo.as_mut().is_some_and(step);
        self.doc.unobserve_update_v1(key).map_err(|e| Error::UpdateRejected(e.to_string()))?;
        if !changed {
            return Ok(None);
        }
        let updates = std::mem::take(&mut *lock(&captured));
        let update = match updates.len() {
            1 => updates.into_iter().next().unwrap_or_default(),
            _ => {
                yrs::merge_updates_v1(&updates).map_err(|e| Error::UpdateRejected(e.to_string()))?
            }
        };
        self.follow_local(&update)?;
        let delta = if self.config.track_deltas {
            self.take_delta(len_before)
        } else {
            self.astral = None;
            Delta::default()
        };
        Ok(Some(LocalChange { update, delta }))
    }

    /// Converts the ops yrs reported for the last transaction into a char delta, keeping the
    /// astral index in step. The ops walk the text as it was, so the index (still describing the
    /// old text) is updated op by op as the walk goes.
    fn take_delta(&mut self, len_before: usize) -> Delta {
        let raw = std::mem::take(&mut *lock(&self.raw_ops));
        let mut walked = self.astral.clone().unwrap_or_default();
        match convert_ops(raw, &mut walked) {
            Some(ops) => {
                self.astral = Some(walked);
                Delta { ops }
            }
            None => {
                // yrs and the index disagree (a peer split a surrogate pair, say): fall back to
                // replacing the whole view, which is always right.
                let text = self.text();
                self.astral = Some(AstralIndex::from_text(&text));
                Delta { ops: vec![DeltaOp::Delete(len_before), DeltaOp::Insert(text)] }.normalized()
            }
        }
    }
}

/// Integrates `update` into the transaction, or holds it back in `held`.
///
/// yrs 0.28 integrates a block whose predecessors from the same client are missing by leaving a
/// hole in its store, and then reports a state vector that claims the hole: peers syncing by
/// state vector never send the missing blocks, and later merges place text at wrong clocks
/// (the randomized convergence test found replicas diverging this way). Yjs instead keeps such
/// blocks pending. So an update is handed to yrs only when, for every client, its blocks
/// continue what this replica has without a gap; and whatever yrs still leaves pending
/// (blocks whose origins are missing, deletions of unknown items) is taken back out, so yrs'
/// own retry, which merges pending updates with gaps, never runs.
///
/// Returns what of `update` was held, encoded.
fn integrate(
    txn: &mut TransactionMut<'_>,
    update: Update,
    held: &mut Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    if !continues_state(&update, &txn.state_vector()) {
        let deletions = deletions_of(&update)?;
        let newly_held = hold(held, update.encode_v1())?;
        // Yjs applies a held update's deletions of units it has at once; so does this replica,
        // or the two would show different texts until the gap closes (for ever, if it never
        // does). Applying them again when the whole update is integrated changes nothing.
        if let Some(deletions) = deletions {
            integrate_now(txn, deletions, held)?;
        }
        return Ok(Some(newly_held));
    }
    integrate_now(txn, update, held)
}

/// The deletions of `update` alone, as an update, if it has any.
fn deletions_of(update: &Update) -> Result<Option<Update>> {
    if update.delete_set().is_empty() {
        return Ok(None);
    }
    // An update is its blocks (none here: a zero count) followed by its deletions.
    let mut bytes = vec![0];
    bytes.extend(update.delete_set().encode_v1());
    decode::update(&bytes).map(Some)
}

/// Integrates `update`, which continues what the transaction's document has; holds back what
/// yrs leaves pending. Returns what of it was held, encoded.
fn integrate_now(
    txn: &mut TransactionMut<'_>,
    update: Update,
    held: &mut Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    txn.apply_update(update).map_err(|e| Error::UpdateRejected(e.to_string()))?;
    if txn.has_missing_updates()
        && let Some(pending) = txn.prune_pending()
    {
        return hold(held, pending.encode_v1()).map(Some);
    }
    Ok(None)
}

/// Adds `update` to the held updates and returns it. They are kept merged, as Yjs keeps its
/// pending structs: two held updates may each have a gap that only the other fills.
fn hold(held: &mut Option<Vec<u8>>, update: Vec<u8>) -> Result<Vec<u8>> {
    *held = Some(match held.take() {
        None => update.clone(),
        Some(previous) => yrs::merge_updates_v1([previous.as_slice(), update.as_slice()])
            .map_err(|e| Error::UpdateRejected(e.to_string()))?,
    });
    Ok(update)
}

/// Above this many new units, comparing where each landed costs more than comparing the texts.
const MAX_UNITS_COMPARED: u32 = 8;

/// Whether two replicas that were the same before `before` hold the same after it: the same
/// state vector and the same text. For a few new units (typing), each unit's index in both is
/// compared instead of the whole texts: every other unit kept its order, so equal indices of
/// the new ones mean equal texts, and finding an index walks only the text before it.
fn same_integration(
    live: &Doc,
    live_text: &TextRef,
    shadow: &Doc,
    shadow_text: &TextRef,
    before: &StateVector,
) -> bool {
    let (live, shadow) = (live.transact(), shadow.transact());
    let after = live.state_vector();
    if after != shadow.state_vector() || live_text.len(&live) != shadow_text.len(&shadow) {
        return false;
    }
    let new: Vec<(yrs::ClientID, std::ops::Range<u32>)> = after
        .iter()
        .filter(|(client, clock)| before.get(client) < **clock)
        .map(|(client, clock)| (*client, before.get(client)..*clock))
        .collect();
    let units: u32 = new.iter().map(|(_, range)| range.len() as u32).sum();
    if units > MAX_UNITS_COMPARED {
        return live_text.get_string(&live) == shadow_text.get_string(&shadow);
    }
    new.into_iter().all(|(client, range)| {
        range.into_iter().all(|clock| {
            let unit = StickyIndex::from_id(yrs::ID::new(client, clock), Assoc::After);
            let index = |txn: &yrs::Transaction<'_>| unit.get_offset(txn).map(|o| o.index);
            index(&live) == index(&shadow)
        })
    })
}

/// The configuration of a verifying document's second replica: the same text, nothing tracked.
fn shadow_config(config: &DocumentConfig) -> DocumentConfig {
    DocumentConfig {
        track_deltas: false,
        track_undo: false,
        verify_integration: false,
        ..config.clone()
    }
}

/// Whether every client's blocks in `update` start at or before what `state` has seen and
/// leave no gap between them.
fn continues_state(update: &Update, state: &StateVector) -> bool {
    update.insertions(true).iter().all(|(client, ranges)| {
        let mut ranges: Vec<_> = ranges.iter().cloned().collect();
        ranges.sort_by_key(|r| r.start);
        let mut seen = state.get(client);
        ranges.into_iter().all(|range| {
            let continues = range.start <= seen;
            seen = seen.max(range.end);
            continues
        })
    })
}

fn convert_ops(raw: Vec<RawOp>, index: &mut AstralIndex) -> Option<Vec<DeltaOp>> {
    let mut ops = Vec::with_capacity(raw.len());
    let mut at = 0usize;
    for op in raw {
        match op {
            RawOp::Retain(units) => {
                let end = index.utf16_to_char(index.char_to_utf16(at) + units as usize).ok()?;
                ops.push(DeltaOp::Retain(end - at));
                at = end;
            }
            RawOp::Insert(text) => {
                index.insert(at, &text);
                at += text.chars().count();
                ops.push(DeltaOp::Insert(text));
            }
            RawOp::Delete(units) => {
                let end = index.utf16_to_char(index.char_to_utf16(at) + units as usize).ok()?;
                index.remove(at..end);
                ops.push(DeltaOp::Delete(end - at));
            }
        }
    }
    Some(ops)
}

fn observe_remote_deltas(text: &TextRef, local_origin: Origin, sink: RawOps) {
    text.observe("tandem-deltas", move |txn, event| {
        // Local edits are already in the caller's view; computing their delta would walk the
        // whole text on every keystroke for nothing.
        if txn.origin() == Some(&local_origin) {
            return;
        }
        let mut ops = lock(&sink);
        for change in event.delta(txn) {
            match change {
                &YrsDelta::Retain(units, _) => ops.push(RawOp::Retain(units)),
                &YrsDelta::Deleted(units) => ops.push(RawOp::Delete(units)),
                YrsDelta::Inserted(Out::Any(Any::String(s)), _) => {
                    ops.push(RawOp::Insert(s.to_string()))
                }
                // Embeds are not text and tandem never makes them; the view leaves them out.
                YrsDelta::Inserted(_, _) => {}
            }
        }
    });
}

/// yrs takes u32 offsets; a text past 4 Gi UTF-16 units is beyond what yrs can hold anyway.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(client_id: u64) -> Document {
        Document::new(DocumentConfig::new(client_id)).unwrap()
    }

    /// Applies `update` to `to` and checks that its delta, applied to `view`, gives its text.
    fn deliver(update: &[u8], to: &mut Document, view: &mut String) {
        let delta = to.apply_update(update).unwrap();
        delta.apply_to(view).unwrap();
        assert_eq!(*view, to.text());
    }

    #[test]
    fn local_edits_count_chars_across_emoji_cjk_combining_and_crlf() {
        let mut d = doc(1);
        d.insert(0, "a😀e\u{301}中\r\nz", 0).unwrap();
        assert_eq!(d.len_chars(), 8);
        assert_eq!(d.len_utf16(), 9);
        d.insert(2, "👋", 0).unwrap(); // after the first emoji
        assert_eq!(d.text(), "a😀👋e\u{301}中\r\nz");
        d.delete(4..5, 0).unwrap(); // the combining mark alone
        assert_eq!(d.text(), "a😀👋e中\r\nz");
        d.replace(5..7, "\n", 0).unwrap(); // CRLF -> LF
        assert_eq!(d.text(), "a😀👋e中\nz");
        assert_eq!(d.char_to_utf16(3).unwrap(), 5);
        assert_eq!(d.utf16_to_char(5).unwrap(), 3);
        assert!(matches!(d.utf16_to_char(2), Err(Error::BadUtf16Offset(2))));
        assert!(matches!(d.char_to_utf16(8), Err(Error::OutOfRange { len: 7, .. })));
        assert!(d.utf16_to_char(100).is_err());
    }

    #[test]
    fn bad_ranges_and_ids_are_errors() {
        let mut d = doc(1);
        d.insert(0, "abc", 0).unwrap();
        assert!(matches!(d.insert(4, "x", 0), Err(Error::OutOfRange { start: 4, len: 3, .. })));
        #[allow(clippy::reversed_empty_ranges)]
        let inverted = d.delete(2..1, 0);
        assert!(matches!(inverted, Err(Error::OutOfRange { start: 2, end: 1, .. })));
        assert!(d.delete(0..4, 0).is_err());
        assert_eq!(d.text(), "abc", "failed edits change nothing");
        assert!(matches!(
            Document::new(DocumentConfig::new(MAX_CLIENT_ID + 1)),
            Err(Error::BadClientId(_))
        ));
        assert!(matches!(d.apply_update(&[0xff, 0xff]), Err(Error::MalformedUpdate(_))));
        assert!(matches!(d.encode_diff(&[0xff]), Err(Error::MalformedStateVector(_))));
    }

    #[test]
    fn several_replacements_are_one_update_and_one_undo_step() {
        let mut d = doc(1);
        d.insert(0, "a😀 b\nc", 0).unwrap();
        d.end_undo_step();
        // A keystroke at three cursors, the last first: "x" after each letter.
        d.replace_each(&[(6..6, "x"), (4..4, "x"), (1..1, "x")], 1).unwrap();
        assert_eq!(d.text(), "ax😀 bx\ncx");
        let mut other = doc(2);
        other.apply_update(&d.encode_state()).unwrap();
        assert_eq!(other.text(), "ax😀 bx\ncx");
        assert!(d.replace_each(&[(0..0, "y"), (99..99, "z")], 2).is_err());
        assert_eq!(d.text(), "ax😀 bx\ncx", "nothing applied when one edit is out of range");
        d.undo(3).unwrap();
        assert_eq!(d.text(), "a😀 b\nc", "one undo step");
    }

    #[test]
    fn remote_deltas_are_in_chars() {
        let mut a = doc(1);
        let mut b = doc(2);
        let mut view = String::new();
        deliver(&a.insert(0, "😀😀中\r\n", 0).unwrap(), &mut b, &mut view);
        deliver(&a.insert(2, "👋x", 0).unwrap(), &mut b, &mut view);
        deliver(&a.delete(1..3, 0).unwrap(), &mut b, &mut view);
        deliver(&a.replace(3..5, "é", 0).unwrap(), &mut b, &mut view);
        assert_eq!(view, "😀x中é");
        // A remote edit never shows up as a delta of the local replica's own edits.
        let delta = b.apply_update(&b.encode_state()).unwrap();
        assert!(delta.is_empty(), "re-applying known state changes nothing: {delta:?}");
        // Local edits produce no pending delta either: the next remote delta is exactly the remote edit.
        b.insert(0, "🙂", 0).unwrap();
        view.insert(0, '🙂');
        deliver(&a.insert(4, "!", 0).unwrap(), &mut b, &mut view);
        assert_eq!(b.text(), "🙂😀x中é!");
    }

    #[test]
    fn a_document_without_deltas_rebuilds_its_index_after_remote_edits() {
        // Regression: the cached index went stale when remote edits arrived without deltas.
        let mut server =
            Document::new(DocumentConfig { track_deltas: false, ..DocumentConfig::new(1) })
                .unwrap();
        let mut client = doc(2);
        server.apply_update(&client.insert(0, "ab", 0).unwrap()).unwrap();
        assert_eq!(server.char_to_utf16(2).unwrap(), 2); // builds and caches the index
        server.apply_update(&client.insert(0, "😀😀", 0).unwrap()).unwrap();
        assert_eq!(server.len_chars(), 4);
        assert_eq!(server.char_to_utf16(4).unwrap(), 6);
        let update = server.insert(3, "中", 0).unwrap();
        client.apply_update(&update).unwrap();
        assert_eq!(client.text(), "😀😀a中b");
        assert!(server.apply_update(&update).unwrap().is_empty());
    }

    #[test]
    fn state_diff_and_reload() {
        let mut a = doc(1);
        a.insert(0, "hello 👋", 0).unwrap();
        let b_state = {
            let mut b = doc(2);
            b.apply_update(&a.encode_state()).unwrap();
            b.state_vector()
        };
        a.insert(7, " world", 0).unwrap();
        let diff = a.encode_diff(&b_state).unwrap();
        assert!(diff.len() < a.encode_state().len());
        let reloaded = Document::from_state(DocumentConfig::new(3), &a.encode_state()).unwrap();
        assert_eq!(reloaded.text(), "hello 👋 world");
        assert!(!reloaded.can_undo(), "loading is not an undoable edit");
        assert_eq!(reloaded.state_vector(), a.state_vector());
    }

    #[test]
    fn updates_out_of_order_wait_for_their_dependencies() {
        let mut a = doc(1);
        let first = a.insert(0, "ab", 0).unwrap();
        let second = a.insert(1, "😀", 0).unwrap();
        let mut b = doc(2);
        let mut view = String::new();
        deliver(&second, &mut b, &mut view);
        assert_eq!(view, "");
        deliver(&first, &mut b, &mut view);
        assert_eq!(view, "a😀b");
        deliver(&second, &mut b, &mut view);
        assert_eq!(view, "a😀b", "a duplicate changes nothing");
    }

    #[test]
    fn an_update_after_a_gap_waits_instead_of_claiming_the_gap() {
        // Regression: yrs 0.28 integrated "2" (clock 1 of `a`, whose neighbours `c` already
        // has) before "1" (clock 0) and then claimed clock 0 in its state vector, so syncing by
        // state vector never delivered "1" and the replicas diverged.
        let mut a = doc(1);
        let mut c = doc(3);
        let base = doc_with(2, "b");
        a.apply_update(&base).unwrap();
        c.apply_update(&base).unwrap();
        let _one = a.insert(1, "1", 0).unwrap(); // lost on its way to c
        let two = a.insert(0, "2", 0).unwrap();
        let mut view = c.text();
        deliver(&two, &mut c, &mut view);
        assert_eq!(view, "b", "held until its predecessor arrives");
        assert!(c.has_held_updates());
        let sv_before = c.state_vector();
        deliver(&a.encode_diff(&sv_before).unwrap(), &mut c, &mut view);
        assert_eq!(view, "2b1");
        assert!(!c.has_held_updates());
        // A held update travels on in state and diffs, so a store never loses it.
        let mut d = doc(4);
        d.apply_update(&base).unwrap();
        d.apply_update(&two).unwrap();
        let mut e = Document::from_state(DocumentConfig::new(5), &d.encode_state()).unwrap();
        e.apply_update(&a.encode_state()).unwrap();
        assert_eq!(e.text(), "2b1");
    }

    fn doc_with(client_id: u64, text: &str) -> Vec<u8> {
        doc(client_id).insert(0, text, 0).unwrap()
    }

    #[test]
    fn text_name_selects_the_root_text() {
        let mut a =
            Document::new(DocumentConfig { text_name: "other".into(), ..DocumentConfig::new(1) })
                .unwrap();
        let update = a.insert(0, "x", 0).unwrap();
        let mut b = doc(2);
        b.apply_update(&update).unwrap();
        assert_eq!(b.text(), "", "the default `content` text is untouched");
    }

    #[test]
    fn sticky_positions_follow_concurrent_edits() {
        let mut a = doc(1);
        let mut b = doc(2);
        b.apply_update(&a.insert(0, "ab😀cd", 0).unwrap()).unwrap();
        let before_c = a.sticky_position(3, Assoc::After).unwrap();
        let end = a.sticky_position(5, Assoc::Before).unwrap();
        a.apply_update(&b.insert(0, "中中👋", 0).unwrap()).unwrap();
        a.apply_update(&b.delete(4..5, 0).unwrap()).unwrap(); // the "b"
        assert_eq!(a.text(), "中中👋a😀cd");
        assert_eq!(a.resolve_position(&before_c), Some(5));
        assert_eq!(a.resolve_position(&end), Some(7));
        assert!(a.sticky_position(8, Assoc::After).is_err());
        // The end of the text with `After` (Yjs: the type itself) follows appends.
        let at_end = a.sticky_position(7, Assoc::After).unwrap();
        a.apply_update(&b.insert(7, "!!", 0).unwrap()).unwrap();
        assert_eq!(a.resolve_position(&at_end), Some(9));
        let json = serde_json::to_value(&at_end).unwrap();
        assert_eq!(json["tname"], "content", "Yjs' JSON for a type-scoped position");
        // A position from a text this replica never saw does not resolve.
        let mut c = doc(3);
        let foreign = c.insert(0, "zz", 0).map(|_| c.sticky_position(1, Assoc::After)).unwrap();
        assert_eq!(a.resolve_position(&foreign.unwrap()), None);
    }

    #[test]
    fn undo_groups_from_time_zero_and_survives_a_clock_going_back() {
        let mut d = doc(1);
        d.insert(0, "a", 0).unwrap();
        d.insert(1, "b", 100).unwrap();
        d.insert(2, "c", 50).unwrap(); // clock went backwards: no panic, still the same step
        d.undo(200).unwrap();
        assert_eq!(d.text(), "");
    }

    #[test]
    fn without_undo_tracking_nothing_is_undoable() {
        let mut d =
            Document::new(DocumentConfig { track_undo: false, ..DocumentConfig::new(3) }).unwrap();
        d.insert(0, "abc", 10).unwrap();
        assert!(!d.can_undo());
        assert_eq!(d.undo(20).unwrap(), None);
        assert_eq!(d.redo(30).unwrap(), None);
        d.end_undo_step();
        assert_eq!(d.text(), "abc");
    }
}
