//! Workspaces: a directory and a prefix of shared documents kept in step, both ways.
//!
//! `tandem share DIR ws://HOST/PREFIX` publishes a directory; `tandem sync ws://HOST/PREFIX DIR`
//! keeps a copy of a workspace; both run the same [`Engine`] until stopped. Every text file is
//! the document `PREFIX/PATH` (see [`manifest`] for what a rename does), and the manifest
//! document `PREFIX/.tandem/manifest` lists them. A file changed on disk by any program becomes
//! the smallest CRDT change; a change from the workspace is written to the file atomically;
//! created, deleted and renamed files and directories propagate; changes made offline — on disk
//! while the engine was stopped, or while the server was unreachable — merge when it runs again.
//!
//! The decisions are pure and tested without IO: [`diff`] (minimal changes, three-way merge),
//! [`manifest`] (the file list and its concurrent edits), [`plan`] (what to do about each path).
//! [`settle`] decides when a batch of file events may be read (once their writers closed the
//! files). [`scan`] and [`state`] read and write the directory and the engine's own state; [`Engine`]
//! drives them with the watcher and the network.
//!
//! ```
//! use tandem::workspace::diff::{apply, minimal_edits};
//!
//! let before = "fn main() {}\n";
//! let after = "fn main() {}\n// added by echo\n";
//! let edits = minimal_edits(before, after);
//! assert_eq!(edits.len(), 1); // one insert at the end, not a rewrite
//! assert_eq!(apply(before, &edits), after);
//! ```

pub mod diff;
mod engine;
pub mod manifest;
pub mod plan;
mod replica;
pub mod scan;
pub mod settle;
pub mod state;

pub use engine::{Engine, Event, WorkspaceOptions};
pub use plan::Source;

/// Default size limit of a shared file (the server takes messages up to 8 MiB by default, and a
/// file's first sync is one message).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 << 20;

/// Runs an engine until Ctrl-C or SIGTERM.
pub fn run(options: WorkspaceOptions) -> anyhow::Result<()> {
    let (events, receiver) = std::sync::mpsc::channel();
    let engine = Engine::start(options, events)?;
    engine.run(receiver)
}
