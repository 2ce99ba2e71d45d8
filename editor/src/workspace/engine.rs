//! [`Engine`]: keeps a directory and a workspace in step, both ways, until stopped. The IO shell
//! around the pure parts: it watches the directory (the `notify` crate's native watcher — no
//! polling), holds a [`Replica`] of the manifest and of every file's document (all on one
//! multiplexed websocket, on one small tokio runtime), and on every batch of events
//!
//! 1. rescans the directory when the watcher reported something (stat only, ignore rules
//!    applied; a file is read only when its size or time moved or an event named it),
//! 2. [plans](super::plan::plan) what to do for every path and carries it out: files diffed into
//!    documents as minimal changes, remote changes written atomically, renames, deletions,
//!    conflicts — planning again after renames, which are planned alone,
//! 3. sends what the replicas have to send, appends their updates to their offline stores (in
//!    parallel: each fsync waits for the disk), then records the new base texts and the index.
//!
//! Writes that need the workspace's view wait for it: a file is published once the manifest and
//! its document have synced in this run (so it never lands blindly on a document that already
//! has text), and nothing is deleted or renamed here before the manifest has synced. Changes to
//! known files merge offline: they are CRDT edits of the stored replica.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use anyhow::Context;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use ropey::Rope;
use tandem_connect::Connector;

use crate::collab::{Endpoint, Multiplexer, NetEvent, NetHandle, Target, now_ms};
use crate::file::Bom;

use super::diff;
use super::manifest::{MANIFEST_NAME, Manifest, conflict_path};
use super::plan::{Action, Disk, Sides, Source, plan};
use super::replica::Replica;
use super::scan::{self, Read, Skip, Stamp};
use super::settle::Settle;
use super::state::{self, BaseEntry, Index, StateDir};

/// Plans in one batch at most (each rename round is one).
const MAX_ROUNDS: usize = 64;
/// Text published here and not yet confirmed durable, at most (bytes): until the server
/// confirms a file, the engine holds its text four times (the document, the unconfirmed update,
/// the journal entry, the frame on its way), so a large tree is published in waves. On one
/// multiplexed socket a wave is a round trip, so small waves cost little time.
const PUBLISH_WINDOW_BYTES: u64 = 4 << 20;
/// Frame bytes handled in one batch at most: a batch's updates are held again in the replicas'
/// journals until the batch ends and stores them, so a download of a large tree goes in batches.
const BATCH_BYTES: usize = 4 << 20;
/// Documents opened and not yet synced, at most: each sync brings a whole document, and the
/// server sends them faster than they are stored, so a download opens documents in waves.
const OPEN_WINDOW: usize = 64;
/// Threads appending to offline stores at once (fsyncs overlap in the disk's journal).
const PERSIST_THREADS: usize = 8;

/// How to run an engine.
#[derive(Debug, Clone)]
pub struct WorkspaceOptions {
    /// The directory.
    pub root: PathBuf,
    /// `ws://HOST:PORT/PREFIX` (or `wss://`).
    pub url: String,
    /// tandem-server access token (one with `--prefix` grants the whole workspace).
    pub token: Option<String>,
    /// Root of the local state (the platform data dir by default).
    pub data_dir: PathBuf,
    /// Who wins when both sides have a file they never agreed on.
    pub source: Source,
    /// Files larger than this are not shared.
    pub max_file_bytes: u64,
    /// A certificate authority to trust for `wss://` besides the system's.
    pub ca_cert: Option<PathBuf>,
}

/// What wakes the engine.
#[derive(Debug)]
pub enum Event {
    /// A document's connection reported something (the full document id).
    Net(Arc<str>, NetEvent),
    /// The watcher reported something.
    Fs(notify::Result<notify::Event>),
    /// Stop (a signal, or the caller).
    Stop,
}

impl Event {
    /// The bytes of the frame it carries, if any.
    fn frame_bytes(&self) -> usize {
        match self {
            Event::Net(_, NetEvent::Frame { bytes, .. }) => bytes.len(),
            _ => 0,
        }
    }
}

/// A file on disk as last scanned.
#[derive(Debug, Clone)]
struct DiskFile {
    stamp: Stamp,
    skip: Option<Skip>,
}

/// The engine; see the module docs.
pub struct Engine {
    options: WorkspaceOptions,
    root: PathBuf,
    target: Target,
    prefix: String,
    state: StateDir,
    index: Index,
    index_dirty: bool,
    manifest: Replica,
    docs: HashMap<String, Replica>,
    /// The connection every document shares; before the runtime, which drops its task.
    mux: Multiplexer,
    /// Runs the connection's task and the signal handler (held, never read).
    _runtime: tokio::runtime::Runtime,
    events: Sender<Event>,
    _watcher: notify::RecommendedWatcher,
    disk: BTreeMap<String, DiskFile>,
    /// The whole directory must be walked again (at start, after a watcher error or a change of
    /// an ignore file).
    rescan: bool,
    /// Paths to look at again (named by the watcher, or moved here): a walk of these only.
    pending: BTreeSet<String>,
    /// Something happened that may change the plan (else a batch only sends and stores).
    replan: bool,
    /// When the file events of this batch may be read.
    settle: Settle,
    named: BTreeSet<String>,
    /// Files published in this round, added to the manifest together at its end.
    new_lines: Vec<(String, String)>,
    renamed_here: Vec<(String, String)>,
    /// Documents whose base text is written once their stores are: the given text, or the
    /// document's own (`None`).
    pending_bases: BTreeMap<String, Option<String>>,
    reported_skips: BTreeSet<String>,
    started: Instant,
    settled_once: bool,
    /// Bytes of text published and not yet confirmed (see [`PUBLISH_WINDOW_BYTES`]).
    in_flight: u64,
    /// A file waits to be published until confirmations make room in the window.
    publish_waiting: bool,
    /// Documents opened and not synced yet (see [`OPEN_WINDOW`]), as of this round.
    unsynced: usize,
    fatal: Option<String>,
}

impl Engine {
    /// Opens the directory's state, restores every replica from its store and starts watching
    /// and connecting. Events go to `events`; feed them back with [`Engine::run`].
    pub fn start(options: WorkspaceOptions, events: Sender<Event>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.root)
            .with_context(|| format!("creating {}", options.root.display()))?;
        let root = std::fs::canonicalize(&options.root)
            .with_context(|| format!("opening {}", options.root.display()))?;
        let target = Target::parse(&options.url)?;
        let prefix = target.doc.trim_end_matches('/').to_owned();
        tandem_crdt::validate_doc_id(&prefix)
            .map_err(|e| anyhow::anyhow!("workspace prefix {prefix:?}: {e}"))?;
        let state = StateDir::open(&options.data_dir, &root, &target.server, &prefix)?;
        let index = state.load_index()?;
        let connector = Connector::new(options.ca_cert.as_deref())?;
        // Sockets and store logs: two descriptors a file. The soft limit is often 1024.
        if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tandem-net")
            .enable_all()
            .build()
            .context("starting the network runtime")?;
        spawn_signal_handler(&runtime, events.clone());
        let endpoint = Endpoint {
            scheme: target.base.split_once("://").map_or("ws", |(s, _)| s).to_owned(),
            server: target.server.clone(),
            token: options.token.clone(),
        };
        let mux = Multiplexer::spawn_in(runtime.handle(), endpoint, connector);
        let watcher = watch(&root, events.clone())?;
        let manifest_id = format!("{prefix}/{MANIFEST_NAME}");
        let manifest = Replica::open(state.store(&manifest_id))?;
        let mut engine = Self {
            options,
            root,
            target,
            prefix,
            state,
            index,
            index_dirty: false,
            manifest,
            docs: HashMap::new(),
            mux,
            _runtime: runtime,
            events,
            _watcher: watcher,
            disk: BTreeMap::new(),
            rescan: true,
            pending: BTreeSet::new(),
            replan: false,
            settle: Settle::new(Instant::now()),
            named: BTreeSet::new(),
            new_lines: Vec::new(),
            renamed_here: Vec::new(),
            pending_bases: BTreeMap::new(),
            reported_skips: BTreeSet::new(),
            started: Instant::now(),
            settled_once: false,
            in_flight: 0,
            publish_waiting: false,
            unsynced: 0,
            fatal: None,
        };
        let net = engine.connect(&manifest_id);
        engine.manifest.connect(net);
        let ids: Vec<String> = engine.index.files.values().map(|e| e.id.clone()).collect();
        for id in ids {
            engine.replica(&id)?;
        }
        Ok(engine)
    }

    /// Runs until [`Event::Stop`] (or the channel closes); then stores everything and closes.
    pub fn run(mut self, events: Receiver<Event>) -> anyhow::Result<()> {
        self.cycle();
        'events: while let Ok(event) = events.recv() {
            let woke = Instant::now();
            self.settle = Settle::new(woke);
            let mut batch = event.frame_bytes();
            let mut stop = self.handle(event);
            while batch < BATCH_BYTES {
                let next = if self.rescan || !self.pending.is_empty() {
                    let wait = self.settle.ready_at().saturating_duration_since(Instant::now());
                    events.recv_timeout(wait)
                } else {
                    events.try_recv().map_err(|_| RecvTimeoutError::Timeout)
                };
                match next {
                    Ok(event) => {
                        batch += event.frame_bytes();
                        stop |= self.handle(event);
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => break 'events,
                }
            }
            if stop || self.fatal.is_some() {
                break;
            }
            tracing::debug!(settle_us = woke.elapsed().as_micros(), replan = self.replan, "batch");
            if std::mem::take(&mut self.replan) {
                self.cycle();
                tracing::debug!(batch_us = woke.elapsed().as_micros(), "cycle done");
            } else {
                // Handshakes and confirmations: frames to send, nothing to decide.
                self.flush();
                self.report_progress();
            }
        }
        self.shutdown()
    }

    /// Handles one event; returns whether to stop.
    fn handle(&mut self, event: Event) -> bool {
        match event {
            Event::Stop => return true,
            Event::Net(doc, event) => self.network(&doc, event),
            Event::Fs(Ok(event)) => self.file_event(event),
            Event::Fs(Err(e)) => {
                tracing::warn!(error = %e, "watcher error; rescanning");
                self.rescan = true;
                self.replan = true;
            }
        }
        false
    }

    fn network(&mut self, doc: &str, event: NetEvent) {
        let now = now_ms();
        self.replan |= matches!(event, NetEvent::Disconnected { .. });
        let manifest = doc.strip_prefix(&self.prefix).and_then(|d| d.strip_prefix('/'));
        let effect = match manifest {
            Some(MANIFEST_NAME) => {
                let effect = self.manifest.network(event, now);
                if effect.refused {
                    self.fatal = Some(format!("the server refused {}", self.target.base));
                }
                effect
            }
            Some(id) => match self.docs.get_mut(id) {
                Some(replica) => replica.network(event, now),
                None => return,
            },
            None => return,
        };
        self.replan |=
            effect.synced || effect.text_changed || (effect.confirmed && self.publish_waiting);
        if effect.refused && self.fatal.is_none() {
            eprintln!("tandem: the server refused {doc}");
        }
    }

    fn file_event(&mut self, event: notify::Event) {
        if matches!(event.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write))
        {
            return;
        }
        let names: Vec<Option<String>> = event.paths.iter().map(|p| self.relative(p)).collect();
        if names.iter().all(Option::is_none) && !event.need_rescan() {
            return;
        }
        self.replan = true;
        let named: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
        self.settle.note(&event.kind, &named, Instant::now());
        // New ignore rules may hide or show files anywhere below.
        self.rescan |= event.need_rescan()
            || names.iter().flatten().any(|p| {
                let name = p.rsplit('/').next().unwrap_or(p);
                name == ".gitignore" || name == scan::TANDEM_IGNORE
            });
        self.pending.extend(names.iter().flatten().cloned());
        if let (EventKind::Modify(ModifyKind::Name(RenameMode::Both)), [Some(from), Some(to)]) =
            (event.kind, names.as_slice())
        {
            self.note_rename(from, to);
        }
        self.named.extend(names.into_iter().flatten());
    }

    /// A rename the watcher saw: of a file, or of a directory (every known file under it).
    fn note_rename(&mut self, from: &str, to: &str) {
        self.renamed_here.push((from.to_owned(), to.to_owned()));
        let dir = format!("{from}/");
        for path in self.index.files.keys().filter(|p| p.starts_with(&dir)) {
            let moved = format!("{to}/{}", &path[dir.len()..]);
            self.renamed_here.push((path.clone(), moved));
        }
    }

    /// The workspace path of a file under the root, unless it is never shared.
    fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        let parts = parts?;
        let first = parts.first()?;
        if *first == ".tandem" || parts.iter().any(|p| *p == ".git" || scan::is_scratch(p)) {
            return None;
        }
        Some(parts.join("/"))
    }

    /// One batch: plan and act until nothing moves, then send, store and record.
    fn cycle(&mut self) {
        // Remote updates reach the stores before their files are written.
        self.stage();
        self.in_flight = self.unconfirmed_bytes();
        self.unsynced = self.docs.values().filter(|r| !r.synced()).count();
        self.publish_waiting = false;
        for _ in 0..MAX_ROUNDS {
            if self.rescan || !self.pending.is_empty() {
                self.scan();
            }
            // One parse a round: planning and acting read the same manifest text.
            let manifest = Manifest::parse(&self.manifest.text());
            let sides = self.sides(&manifest);
            let actions = plan(&sides, |old, new| self.same_as_base(old, new));
            tracing::debug!(?actions, "planned");
            self.renamed_here.clear();
            let mut moved = false;
            for action in actions {
                match self.act(&action, &manifest) {
                    Ok(done) => moved |= done,
                    Err(e) => {
                        tracing::error!(?action, error = %format!("{e:#}"), "action failed");
                        eprintln!("tandem: {e:#}");
                    }
                }
            }
            let lines = std::mem::take(&mut self.new_lines);
            if let Err(e) = self.manifest.apply(&manifest.add_all(&lines), now_ms()) {
                tracing::error!(error = %e, "adding to the manifest");
            }
            if !moved {
                break;
            }
        }
        self.named.clear();
        self.fix_manifest();
        self.flush();
        self.report_progress();
    }

    /// Walks the directory again: all of it when [`Engine::rescan`] says so, else only the
    /// pending paths (an editor's save is a stat of one file, not of the whole tree).
    fn scan(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let full = std::mem::take(&mut self.rescan);
        let max_path = tandem_crdt::MAX_DOC_ID_BYTES.saturating_sub(self.prefix.len() + 2);
        let max_len = self.options.max_file_bytes;
        let listing = if full {
            scan::walk(&self.root, max_len, max_path)
        } else {
            scan::walk_paths(&self.root, max_len, max_path, &pending)
        };
        let mut disk = BTreeMap::new();
        for (path, stamp) in listing.files {
            let known = self.index.files.get(&path).is_some_and(|b| b.stamp == stamp);
            let cached =
                self.disk.get(&path).filter(|d| d.stamp == stamp && !self.named.contains(&path));
            let skip = match cached {
                Some(d) => d.skip.clone(),
                None if known => None,
                None => match scan::read_text(
                    &scan::disk_path(&self.root, &path),
                    self.options.max_file_bytes,
                ) {
                    Ok(Read::Text(..)) => None,
                    Ok(Read::Skipped(reason)) => Some(reason),
                    Ok(Read::Missing) => continue,
                    Err(e) => {
                        tracing::warn!(%path, error = %e, "cannot read");
                        continue;
                    }
                },
            };
            disk.insert(path, DiskFile { stamp, skip });
        }
        if full {
            self.disk = disk;
        } else {
            self.disk.retain(|path, _| !scan::within(path, &pending));
            self.disk.extend(disk);
        }
        let mut skipped: Vec<(String, String)> = listing
            .skipped
            .into_iter()
            .map(|s| (s.path, s.reason.to_string()))
            .chain(
                self.disk
                    .iter()
                    .filter_map(|(p, d)| Some((p.clone(), d.skip.as_ref()?.to_string()))),
            )
            .filter(|(path, _)| !self.reported_skips.contains(path))
            .collect();
        skipped.sort();
        if !skipped.is_empty() {
            let list: Vec<String> =
                skipped.iter().take(20).map(|(p, why)| format!("  {p}: {why}")).collect();
            let more = skipped.len().saturating_sub(20);
            println!(
                "tandem: skipped {} file{} (not shared):\n{}{}",
                skipped.len(),
                if skipped.len() == 1 { "" } else { "s" },
                list.join("\n"),
                if more > 0 { format!("\n  … and {more} more") } else { String::new() }
            );
            self.reported_skips.extend(skipped.into_iter().map(|(p, _)| p));
        }
    }

    /// Bytes of the files whose documents hold updates the server has not confirmed yet.
    fn unconfirmed_bytes(&self) -> u64 {
        let waiting = |id: &String| self.docs.get(id).is_some_and(|r| r.unconfirmed() > 0);
        self.index.files.values().filter(|e| waiting(&e.id)).map(|e| e.stamp.len).sum()
    }

    fn remote(&self) -> BTreeMap<String, String> {
        Manifest::parse(&self.manifest.text()).files()
    }

    fn sides(&self, manifest: &Manifest) -> Sides {
        let disk = self
            .disk
            .iter()
            .map(|(path, file)| {
                let kind = match (&file.skip, self.index.files.get(path)) {
                    (Some(_), _) => Disk::Unshareable,
                    (None, Some(base)) => Disk::Text {
                        changed: base.stamp != file.stamp || self.named.contains(path),
                    },
                    (None, None) => Disk::Text { changed: true },
                };
                (path.clone(), kind)
            })
            .collect();
        Sides {
            base: self.index.files.iter().map(|(p, e)| (p.clone(), e.id.clone())).collect(),
            disk,
            remote: manifest.files(),
            changed_docs: self
                .docs
                .iter()
                .filter(|(_, r)| r.changed())
                .map(|(id, _)| id.clone())
                .collect(),
            renamed_here: self.renamed_here.clone(),
        }
    }

    /// Whether the file at `new` holds the base text of the file that was at `old`.
    fn same_as_base(&self, old: &str, new: &str) -> bool {
        let (Some(base), Some(file)) = (self.index.files.get(old), self.disk.get(new)) else {
            return false;
        };
        if base.stamp.len != file.stamp.len {
            return false;
        }
        let base_text = self.docs.get(&base.id).and_then(|r| state::read_base(r.store()));
        base_text.is_some_and(|b| self.read(new).is_some_and(|(text, _)| text == b))
    }

    fn read(&self, path: &str) -> Option<(String, Stamp)> {
        match scan::read_text(&scan::disk_path(&self.root, path), self.options.max_file_bytes) {
            Ok(Read::Text(text, stamp)) => Some((text, stamp)),
            _ => None,
        }
    }

    /// Carries out one action; returns whether it changed anything (`false`: it waits).
    ///
    /// `manifest` is the manifest as this round began: every action of a round is about a
    /// different path, and new files' lines are added together after it.
    fn act(&mut self, action: &Action, manifest: &Manifest) -> anyhow::Result<bool> {
        let now = now_ms();
        let manifest_ready = self.manifest.synced();
        match action {
            Action::Publish { path } => {
                if !manifest_ready || !self.manifest.online() {
                    return Ok(false);
                }
                let id = manifest.allocate_id(path);
                if !self.may_open(&id) || !self.replica(&id)?.synced() {
                    return Ok(false);
                }
                if self.in_flight >= PUBLISH_WINDOW_BYTES {
                    self.publish_waiting = true;
                    return Ok(false);
                }
                let Some((text, stamp)) = self.read(path) else { return Ok(false) };
                self.in_flight += stamp.len;
                self.replica(&id)?.set_text(&text, now)?;
                self.new_lines.push((path.clone(), id.clone()));
                self.agree(path, &id, stamp);
            }
            Action::Download { path, id } => {
                if !manifest_ready || !self.may_open(id) || !self.replica(id)?.synced() {
                    return Ok(false);
                }
                let text = self.replica(id)?.text();
                let stamp = self.write(path, &text)?;
                self.agree(path, id, stamp);
            }
            Action::Meet { path, id } => {
                if !manifest_ready || !self.may_open(id) || !self.replica(id)?.synced() {
                    return Ok(false);
                }
                let Some((text, stamp)) = self.read(path) else { return Ok(false) };
                let theirs = self.replica(id)?.text();
                let stamp = if text == theirs {
                    stamp
                } else {
                    self.resolve_first_contact(path, id, &text, &theirs, now)?
                };
                self.agree(path, id, stamp);
            }
            Action::Merge { path, id } => return self.merge(path, id, now),
            Action::Unpublish { path } => {
                let edits = manifest.remove(path);
                self.manifest.apply(&edits, now)?;
                self.forget(path);
            }
            Action::DeleteLocal { path } => {
                if !manifest_ready {
                    return Ok(false);
                }
                let file = scan::disk_path(&self.root, path);
                std::fs::remove_file(&file)
                    .with_context(|| format!("deleting {}", file.display()))?;
                self.remove_empty_dirs(path);
                println!("tandem: deleted {path} (deleted in the workspace)");
                self.forget(path);
            }
            Action::Republish { path, id } => {
                if !manifest_ready || !self.manifest.online() {
                    return Ok(false);
                }
                if manifest.files().values().any(|v| v == id) {
                    // Its document lives on at another path: this file is a new one.
                    self.forget(path);
                } else {
                    println!("tandem: {path} was deleted in the workspace but changed here: kept");
                    self.new_lines.push((path.clone(), id.clone()));
                }
            }
            Action::Forget { path } => self.forget(path),
            Action::MoveLocal { from, to } => {
                if !manifest_ready {
                    return Ok(false);
                }
                let (old, new) =
                    (scan::disk_path(&self.root, from), scan::disk_path(&self.root, to));
                if let Some(dir) = new.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::rename(&old, &new)
                    .with_context(|| format!("renaming {} to {}", old.display(), new.display()))?;
                self.remove_empty_dirs(from);
                println!("tandem: renamed {from} to {to} (renamed in the workspace)");
                self.move_base(from, to);
            }
            Action::MoveRemote { from, to } => {
                let edits = manifest.rename(from, to);
                self.manifest.apply(&edits, now)?;
                self.move_base(from, to);
            }
            Action::SetAside { path } => {
                if !manifest_ready {
                    return Ok(false);
                }
                let aside = self.free_conflict_path(path, "local-conflict");
                let (old, new) =
                    (scan::disk_path(&self.root, path), scan::disk_path(&self.root, &aside));
                std::fs::rename(&old, &new)?;
                println!(
                    "tandem: {path} was replaced in the workspace; your version is in {aside}"
                );
                self.forget(path);
                self.pending.insert(aside);
            }
        }
        Ok(true)
    }

    /// Both sides have `path` with different texts and no base: the source wins (see
    /// [`Source`]); the other version goes to a conflict file, which is then shared like any new
    /// file. Returns the stamp of the file at `path` afterwards.
    fn resolve_first_contact(
        &mut self,
        path: &str,
        id: &str,
        ours: &str,
        theirs: &str,
        now: u64,
    ) -> anyhow::Result<Stamp> {
        match self.options.source {
            Source::Directory => {
                let aside = self.free_conflict_path(path, "workspace-conflict");
                self.pending.insert(aside.clone());
                self.write(&aside, theirs)?;
                self.replica(id)?.set_text(ours, now)?;
                println!(
                    "tandem: {path} differs from the workspace's; the directory's version wins, the workspace's is in {aside}"
                );
                self.read(path).map(|(_, stamp)| stamp).context("reading back")
            }
            Source::Workspace => {
                let aside = self.free_conflict_path(path, "local-conflict");
                self.pending.insert(aside.clone());
                let (old, new) =
                    (scan::disk_path(&self.root, path), scan::disk_path(&self.root, &aside));
                std::fs::rename(&old, &new)?;
                println!(
                    "tandem: {path} differs from the workspace's; the workspace's version wins, yours is in {aside}"
                );
                self.write(path, theirs)
            }
        }
    }

    /// Reconciles a file and its document, three-way with their base text.
    fn merge(&mut self, path: &str, id: &str, now: u64) -> anyhow::Result<bool> {
        let Some((disk, stamp)) = self.read(path) else { return Ok(false) };
        let replica = self.replica(id)?;
        replica.take_changed();
        let doc = replica.text();
        let base = state::read_base(replica.store());
        let merged = match &base {
            _ if doc == disk => disk.clone(),
            Some(base) => diff::merge3(base, &doc, &disk),
            // No base text (lost): the file's change cannot be told apart; keep both versions.
            None => diff::merge3("", &doc, &disk),
        };
        if merged != doc {
            replica.set_text(&merged, now)?;
        }
        let written =
            if merged == disk { Some(stamp) } else { self.write_checked(path, &merged, stamp)? };
        match written {
            Some(stamp) => {
                if base.as_deref() != Some(merged.as_str()) {
                    self.pending_bases.insert(id.to_owned(), None);
                }
                self.set_base(path, id, stamp);
            }
            // Another program wrote the file meanwhile, from what was read: that is its base.
            None => {
                self.pending_bases.insert(id.to_owned(), Some(disk));
                self.set_base(path, id, stamp);
            }
        }
        Ok(false)
    }

    /// The base of `path` is now the document `id`'s text and the file's `stamp`.
    fn agree(&mut self, path: &str, id: &str, stamp: Stamp) {
        if let Some(r) = self.docs.get_mut(id) {
            r.take_changed();
        }
        self.pending_bases.insert(id.to_owned(), None);
        self.set_base(path, id, stamp);
    }

    fn set_base(&mut self, path: &str, id: &str, stamp: Stamp) {
        let entry = BaseEntry { id: id.to_owned(), stamp };
        if self.index.files.get(path) != Some(&entry) {
            self.index.files.insert(path.to_owned(), entry);
            self.index_dirty = true;
        }
        if let Some(file) = self.disk.get_mut(path) {
            file.stamp = stamp;
        } else {
            self.disk.insert(path.to_owned(), DiskFile { stamp, skip: None });
        }
    }

    fn forget(&mut self, path: &str) {
        self.index_dirty |= self.index.files.remove(path).is_some();
        self.disk.remove(path);
    }

    fn move_base(&mut self, from: &str, to: &str) {
        if let Some(entry) = self.index.files.remove(from) {
            // The old stamp: the new path is then compared with the base text once.
            self.index.files.insert(to.to_owned(), entry);
            self.index_dirty = true;
        }
        self.disk.remove(from);
        self.pending.insert(to.to_owned());
    }

    fn free_conflict_path(&self, path: &str, tag: &str) -> String {
        let remote = self.remote();
        conflict_path(path, tag, |p| {
            remote.contains_key(p) || scan::disk_path(&self.root, p).exists()
        })
    }

    /// Writes `text` to `path` atomically (the editor's save: temp file, fsync, rename).
    fn write(&mut self, path: &str, text: &str) -> anyhow::Result<Stamp> {
        let file = scan::disk_path(&self.root, path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let t = Instant::now();
        crate::file::save(&file, &Rope::from_str(text), Bom::Absent)?;
        tracing::debug!(%path, us = t.elapsed().as_micros(), "written");
        let meta =
            std::fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?;
        let stamp = Stamp::of(&meta);
        self.disk.insert(path.to_owned(), DiskFile { stamp, skip: None });
        Ok(stamp)
    }

    /// [`Engine::write`], unless the file changed since it was read as `read` (another program
    /// wrote it meanwhile: its change is merged in the next batch instead of overwritten);
    /// `None` then.
    fn write_checked(
        &mut self,
        path: &str,
        text: &str,
        read: Stamp,
    ) -> anyhow::Result<Option<Stamp>> {
        let file = scan::disk_path(&self.root, path);
        let now = std::fs::metadata(&file).map(|m| Stamp::of(&m)).ok();
        if now != Some(read) {
            self.pending.insert(path.to_owned());
            return Ok(None);
        }
        self.write(path, text).map(Some)
    }

    /// Removes the directories of `path` that became empty, up to the root.
    fn remove_empty_dirs(&self, path: &str) {
        let mut dir = scan::disk_path(&self.root, path);
        while dir.pop() && dir.starts_with(&self.root) && dir != self.root {
            if std::fs::remove_dir(&dir).is_err() {
                break;
            }
        }
    }

    /// Whether document `id` is open, or may be opened now (see [`OPEN_WINDOW`]).
    fn may_open(&self, id: &str) -> bool {
        self.unsynced < OPEN_WINDOW || self.docs.contains_key(id)
    }

    /// The replica of document `id`, opened (and connecting) on first use.
    fn replica(&mut self, id: &str) -> anyhow::Result<&mut Replica> {
        if !self.docs.contains_key(id) {
            self.unsynced += 1;
            let doc_id = format!("{}/{id}", self.prefix);
            let mut replica = Replica::open(self.state.store(&doc_id))?;
            replica.connect(self.connect(&doc_id));
            self.docs.insert(id.to_owned(), replica);
        }
        self.docs.get_mut(id).context("replica vanished")
    }

    fn connect(&self, doc_id: &str) -> NetHandle {
        let events = self.events.clone();
        let doc: Arc<str> = doc_id.into();
        self.mux.open(doc_id, move |event| {
            let _ = events.send(Event::Net(doc.clone(), event));
        })
    }

    /// Rewrites the manifest to what it reads (after concurrent changes merged), once synced.
    fn fix_manifest(&mut self) {
        if !self.manifest.online() {
            return;
        }
        let manifest = Manifest::parse(&self.manifest.text());
        let fixes = manifest.fixes();
        if !fixes.is_empty()
            && let Err(e) = self.manifest.apply(&fixes, now_ms())
        {
            tracing::error!(error = %e, "fixing the manifest");
        }
    }

    /// Sends, stores (in parallel), then records base texts and the index.
    fn flush(&mut self) {
        let t = Instant::now();
        // Local updates reach the stores before they leave; their fsyncs come after the sends.
        self.stage();
        self.manifest.send();
        for replica in self.docs.values_mut() {
            replica.send();
        }
        let sent = t.elapsed();
        let mut dirty: Vec<&mut Replica> =
            self.docs.values_mut().filter(|r| r.wants_persist()).collect();
        if self.manifest.wants_persist() {
            dirty.push(&mut self.manifest);
        }
        in_parallel(dirty, Replica::persist);
        let stored = t.elapsed();
        for (id, text) in std::mem::take(&mut self.pending_bases) {
            let Some(replica) = self.docs.get(&id) else { continue };
            let text = text.unwrap_or_else(|| replica.text());
            if let Err(e) = state::write_base(replica.store(), &text) {
                tracing::error!(error = %e, "writing a base text");
            }
        }
        if self.index_dirty {
            match self.state.save_index(&self.index) {
                Ok(()) => self.index_dirty = false,
                Err(e) => tracing::error!(error = %e, "saving the index"),
            }
        }
        tracing::debug!(
            sent_us = sent.as_micros(),
            stored_us = stored.as_micros(),
            done_us = t.elapsed().as_micros(),
            "flushed"
        );
    }

    /// Writes the new updates of every replica to its store, without waiting for the disk (see
    /// [`Replica::stage`]).
    fn stage(&mut self) {
        let docs = self.docs.values_mut().filter(|r| r.wants_persist());
        for replica in docs.chain(std::iter::once(&mut self.manifest)) {
            if let Err(e) = replica.stage() {
                tracing::error!(error = %e, "storing a document");
                eprintln!("tandem: {e}");
            }
        }
    }

    /// Says once when the directory and the workspace first agree on every file.
    fn report_progress(&mut self) {
        if self.settled_once || !self.manifest.online() {
            return;
        }
        let remote = self.remote();
        let agreed = self
            .disk
            .iter()
            .all(|(path, file)| file.skip.is_some() || self.index.files.contains_key(path))
            && remote.keys().all(|path| self.index.files.contains_key(path))
            && self.manifest.unconfirmed() == 0
            && self.docs.values().all(|r| r.unconfirmed() == 0);
        if !agreed {
            return;
        }
        self.settled_once = true;
        let bytes: u64 = self.index.files.values().map(|e| e.stamp.len).sum();
        let verb = match self.options.source {
            Source::Directory => "published",
            Source::Workspace => "synced",
        };
        println!(
            "tandem: {verb} {} files ({bytes} bytes) in {:.1} s; watching {} (Ctrl-C to stop)",
            self.index.files.len(),
            self.started.elapsed().as_secs_f64(),
            self.root.display()
        );
    }

    fn shutdown(mut self) -> anyhow::Result<()> {
        self.flush();
        let mut all: Vec<&mut Replica> = self.docs.values_mut().collect();
        all.push(&mut self.manifest);
        in_parallel(all, Replica::snapshot);
        match self.fatal.take() {
            Some(reason) => anyhow::bail!(reason),
            None => Ok(()),
        }
    }
}

/// Runs `work` on every replica, [`PERSIST_THREADS`] at a time: each store write waits for an
/// fsync, and concurrent fsyncs share the disk's journal commits.
fn in_parallel(
    mut replicas: Vec<&mut Replica>,
    work: fn(&mut Replica) -> Result<(), crate::collab::CollabError>,
) {
    let chunk = replicas.len().div_ceil(PERSIST_THREADS).max(1);
    std::thread::scope(|scope| {
        for part in replicas.chunks_mut(chunk) {
            scope.spawn(move || {
                for replica in part {
                    if let Err(e) = work(replica) {
                        tracing::error!(error = %e, "storing a document");
                        eprintln!("tandem: {e}");
                    }
                }
            });
        }
    });
}

fn watch(root: &Path, events: Sender<Event>) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Event::Fs(event));
    })
    .context("starting the file watcher")?;
    watcher
        .watch(root, notify::RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", root.display()))?;
    Ok(watcher)
}

/// Ctrl-C and SIGTERM stop the engine cleanly (stores snapshotted, connections closed).
fn spawn_signal_handler(runtime: &tokio::runtime::Runtime, events: Sender<Event>) {
    runtime.spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else { return };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = events.send(Event::Stop);
    });
}
