//! A workspace open in the editor: `tandem ws://HOST:PORT/PREFIX/` (the trailing slash says "the
//! folder"). The editor holds the workspace's manifest (`PREFIX/.tandem/manifest`, see
//! [`crate::workspace::manifest`]) as a shared document it never shows: the file picker lists its
//! files, each picked file opens as the shared document `PREFIX/ID`, and a new file made from the
//! picker is a new line of the manifest, so every `tandem sync` copy of the workspace writes it to
//! disk.
//!
//! The manifest's presence says where everyone is: each editor in the workspace publishes the
//! document in front of it there (an extra presence field, `tandemView.file`), so the presence list
//! shows who is in which file and following someone crosses into files not open here yet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tandem_crdt::{doc_id_from_path, doc_id_to_path};

use super::picker::{ItemSink, Picked, PickerItem, PickerSource};
use crate::collab::{AppOptions, CollabError, NetEvent, PeerView, SharedDoc, Target};
use crate::config::Config;
use crate::editor::Editor;
use crate::workspace::manifest::{MANIFEST_NAME, Manifest, valid_relative};

/// Why a file cannot be made in the workspace.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NewFileError {
    /// The path cannot be a document id under the prefix.
    #[error("{0:?} cannot be a file of the workspace (a relative path: no empty, . or .. part)")]
    BadPath(String),
    /// The token grants read-only access.
    #[error("read-only: the token grants read-only access")]
    ReadOnly,
}

/// The open workspace: its manifest, and the picker it feeds.
pub struct Workspace {
    /// `ws://HOST:PORT` (or `wss://`).
    server_url: String,
    /// The prefix, without a trailing slash.
    prefix: String,
    /// The manifest's text, in an editor never shown.
    editor: Editor,
    manifest: SharedDoc,
    /// The last picker opened over the files, to add files as they arrive.
    feed: Option<Feed>,
    /// How files are opened (identity, token, store).
    options: AppOptions,
}

impl Workspace {
    /// Opens the workspace at `options.url` (`ws://HOST:PORT/PREFIX/`): its stored manifest, and
    /// a connection whose events go to `events`.
    pub fn open(
        options: AppOptions,
        config: &Config,
        events: impl Fn(NetEvent) + Send + 'static,
    ) -> Result<Self, CollabError> {
        let target = Target::parse(&options.url)?;
        let prefix = doc_id_from_path(target.doc.trim_end_matches('/'))
            .map_err(|e| CollabError::Url(format!("{}: {e}", options.url)))?;
        let scheme = options.url.split_once("://").map_or("ws", |(s, _)| s);
        let server_url = format!("{scheme}://{}", target.server);
        let manifest_url =
            format!("{server_url}/{}", doc_id_to_path(&format!("{prefix}/{MANIFEST_NAME}")));
        let manifest_options = AppOptions { url: manifest_url, file: None, ..options.clone() };
        let (editor, manifest) = SharedDoc::open(manifest_options, config, events)?;
        Ok(Self { server_url, prefix, editor, manifest, feed: None, options })
    }

    /// The prefix (without a trailing slash).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How the workspace was opened (identity, token, store).
    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    /// How a file of the workspace is opened: `url`, with the workspace's identity and store.
    pub fn options_for(&self, url: &str) -> AppOptions {
        AppOptions { url: url.to_owned(), file: None, ..self.options.clone() }
    }

    /// The files: path to document id (relative to the prefix).
    pub fn files(&self) -> BTreeMap<String, String> {
        Manifest::parse(&self.manifest_text()).files()
    }

    fn manifest_text(&self) -> String {
        self.editor.rope().to_string()
    }

    /// The URL of document `id` (relative to the prefix).
    pub fn url_of(&self, id: &str) -> String {
        format!("{}/{}", self.server_url, doc_id_to_path(&format!("{}/{id}", self.prefix)))
    }

    /// The document id (relative to the prefix) of a shared document, when it is one of the
    /// workspace's.
    pub fn id_of(&self, target: &Target) -> Option<String> {
        let id = doc_id_from_path(&target.doc).ok()?;
        let server = self.server_url.split_once("://").map_or("", |(_, s)| s);
        let rest = id.strip_prefix(&self.prefix)?.strip_prefix('/')?;
        (target.server == server && rest != MANIFEST_NAME).then(|| rest.to_owned())
    }

    /// The path of document `id` in the workspace, if the manifest lists it.
    pub fn path_of(&self, id: &str) -> Option<String> {
        self.files().into_iter().find_map(|(path, i)| (i == id).then_some(path))
    }

    /// The picker's items: every file, by path.
    fn items(&self, files: &BTreeMap<String, String>) -> Vec<PickerItem> {
        files
            .iter()
            .map(|(path, id)| PickerItem {
                label: path.clone(),
                target: Picked::Document(self.url_of(id)),
            })
            .collect()
    }

    /// A picker source over the files (a new path makes a new file); files that arrive while it
    /// is open are added to it.
    pub fn picker_source(&mut self) -> Box<dyn PickerSource> {
        let files = self.files();
        let sink = Arc::new(Mutex::new(None));
        let listed = files.keys().cloned().collect();
        self.feed = Some(Feed { sink: sink.clone(), listed });
        Box::new(FilesOfWorkspace { items: self.items(&files), sink })
    }

    /// Adds the files that arrived to the open picker.
    fn refresh_feed(&mut self) {
        let Some(feed) = &self.feed else { return };
        let sink = feed.sink.lock().ok().and_then(|s| s.clone());
        let Some(sink) = sink.filter(|s| !s.is_closed()) else {
            // Closed, or not fed yet (it is fed as it opens, before any event).
            self.feed = None;
            return;
        };
        let items = self.items(&self.files());
        let Some(feed) = &mut self.feed else { return };
        for item in items {
            if feed.listed.insert(item.label.clone()) {
                sink.push(item);
            }
        }
    }

    /// Makes the file `path` (workspace-relative, `/`-separated) unless it exists: a new line
    /// of the manifest. Returns its document's URL.
    pub fn create(&mut self, path: &str, now: u64) -> Result<String, NewFileError> {
        let path = path.trim().trim_start_matches("./");
        let too_long = self.prefix.len() + 1 + path.len() > tandem_crdt::MAX_DOC_ID_BYTES;
        if !valid_relative(path) || path.starts_with(".tandem/") || too_long {
            return Err(NewFileError::BadPath(path.to_owned()));
        }
        if let Some(id) = self.files().get(path) {
            return Ok(self.url_of(id));
        }
        if self.options.token.as_deref().is_some_and(crate::collab::token_is_read_only) {
            return Err(NewFileError::ReadOnly);
        }
        let manifest = Manifest::parse(&self.manifest_text());
        let id = manifest.allocate_id(path);
        let edit = manifest.add(path, &id);
        if let Err(e) = self.manifest.edit(&mut self.editor, &[edit], now) {
            tracing::error!(error = %e, "adding a file to the manifest");
        }
        tracing::info!(%path, %id, "new file in the workspace");
        Ok(self.url_of(&id))
    }

    /// Publishes the document in front of the user (an id under the prefix, `None` for none of
    /// the workspace's) with the next [`Workspace::send`].
    pub fn set_location(&mut self, id: Option<String>) {
        self.manifest.collab().set_location(id);
    }

    /// Everyone in the workspace, each with the path of the file in front of them.
    pub fn peers(&mut self) -> Vec<PeerView> {
        let files = self.files();
        let mut peers = self.manifest.collab().peers(&self.editor).to_vec();
        for peer in &mut peers {
            peer.file = peer
                .file
                .take()
                .and_then(|id| files.iter().find_map(|(path, i)| (*i == id).then(|| path.clone())));
        }
        peers
    }

    /// The document (id under the prefix) in front of the user `name` in `colour`, as the
    /// manifest's presence says; `None` when they are not in the workspace or in none of its
    /// files.
    pub fn location_of(&mut self, name: &str, colour: crate::theme::Rgb) -> Option<String> {
        let peers = self.manifest.collab().peers(&self.editor);
        let peer = peers.iter().find(|p| p.name == name && p.colour == colour)?;
        peer.file.clone()
    }

    /// Whether the user `name` in `colour` is in the workspace.
    pub fn is_here(&mut self, name: &str, colour: crate::theme::Rgb) -> bool {
        let peers = self.manifest.collab().peers(&self.editor);
        peers.iter().any(|p| p.name == name && p.colour == colour)
    }

    /// Handles a network event of the manifest; new files reach an open picker.
    pub fn network(&mut self, event: NetEvent, now: u64) -> Result<(), CollabError> {
        let result = self.manifest.network(&mut self.editor, event, now);
        self.refresh_feed();
        result
    }

    /// The manifest's connection text, for the message line when it is not connected.
    pub fn status(&mut self, now: u64) -> String {
        self.manifest.status(&self.editor, now)
    }

    /// Sends the manifest's changes and presence.
    pub fn send(&mut self, now: u64) {
        self.manifest.send(&mut self.editor, now);
    }

    /// Stores the manifest's changes.
    pub fn persist(&mut self, now: u64) -> Result<(), CollabError> {
        self.manifest.persist(now)
    }

    /// Periodic work: presence renewal, peer expiry.
    pub fn tick(&mut self, now: u64) {
        self.manifest.tick(&mut self.editor, now);
    }

    /// Leaves: tells the others, stores the manifest, closes its connection.
    pub fn shutdown(mut self, now: u64) -> Result<(), CollabError> {
        self.manifest.shutdown(&mut self.editor, now)
    }

    /// Stops the network without a goodbye (tests).
    pub fn disconnect_now(&mut self) {
        self.manifest.disconnect_now();
    }
}

/// A picker over the files, as the workspace keeps feeding it.
struct Feed {
    /// Where its items go, once it opened.
    sink: Arc<Mutex<Option<ItemSink>>>,
    /// The paths it lists.
    listed: BTreeSet<String>,
}

/// The workspace's files as picker items; Enter on a path no file has makes that file.
struct FilesOfWorkspace {
    items: Vec<PickerItem>,
    /// Kept for the workspace to add files that arrive while the picker is open.
    sink: Arc<Mutex<Option<ItemSink>>>,
}

impl PickerSource for FilesOfWorkspace {
    fn feed(&self, sink: ItemSink) {
        for item in &self.items {
            sink.push(item.clone());
        }
        if let Ok(mut slot) = self.sink.lock() {
            *slot = Some(sink);
        }
    }

    fn fallback(&self, query: &str) -> Option<Picked> {
        let query = query.trim();
        (!query.is_empty()).then(|| Picked::NewFile(query.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::Receiver;

    use super::super::{App, AppEvent};
    use super::*;
    use crate::input::KeyEvent;
    use crate::theme::Theme;

    fn options(data: &std::path::Path, url: &str) -> AppOptions {
        AppOptions {
            url: url.into(),
            token: None,
            name: "ann".into(),
            color: "#ee6352".into(),
            file: None,
            offline: true,
            ca_cert: None,
            data_dir: data.to_owned(),
        }
    }

    /// An app with an offline workspace open over an empty buffer.
    fn app(data: &std::path::Path) -> (App, Receiver<AppEvent>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut app = App::new(&Config::default(), Theme::dark(), tx);
        app.resize(100, 24);
        app.open_workspace(options(data, "ws://h:1/my team/")).unwrap();
        app.open_scratch();
        (app, rx)
    }

    fn type_text(app: &mut App, text: &str) {
        for key in KeyEvent::typed(text) {
            app.handle(AppEvent::Key(key), 0);
        }
    }

    fn press(app: &mut App, spec: &str) {
        app.handle(AppEvent::Key(spec.parse().unwrap()), 0);
    }

    /// Lets the picker's matcher catch up (it runs on its own threads).
    fn settle(app: &mut App, rx: &Receiver<AppEvent>) {
        while let Ok(event) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            app.handle(event, 0);
        }
    }

    #[test]
    fn ids_and_urls_of_files_round_trip_with_escapes() {
        let data = tempfile::tempdir().unwrap();
        let ws = Workspace::open(
            options(data.path(), "ws://h:1/my%20team/"),
            &Config::default(),
            |_| {},
        )
        .unwrap();
        assert_eq!(ws.prefix(), "my team");
        let url = ws.url_of("docs/a b.md");
        assert_eq!(url, "ws://h:1/my%20team/docs/a%20b.md");
        assert_eq!(ws.id_of(&Target::parse(&url).unwrap()).as_deref(), Some("docs/a b.md"));
        let elsewhere =
            ["ws://h:2/my%20team/x", "ws://h:1/other/x", "ws://h:1/my%20team/.tandem/manifest"];
        for url in elsewhere {
            assert_eq!(ws.id_of(&Target::parse(url).unwrap()), None, "{url}");
        }
    }

    #[test]
    fn issue_16_a_new_path_in_the_picker_makes_a_file_of_the_workspace() {
        let data = tempfile::tempdir().unwrap();
        let (mut app, rx) = app(data.path());
        press(&mut app, "ctrl-o");
        type_text(&mut app, "notes/todo.md");
        settle(&mut app, &rx);
        press(&mut app, "enter");
        assert_eq!(app.buffers().len(), 1, "the empty buffer was replaced");
        assert_eq!(app.buffers()[0].name(), "notes/todo.md");
        assert!(app.shared().is_some());
        type_text(&mut app, "- a line");
        app.send(0);
        let workspace = app.workspace.as_ref().unwrap();
        let files: Vec<(String, String)> = workspace.files().into_iter().collect();
        assert_eq!(files, [("notes/todo.md".to_owned(), "notes/todo.md".to_owned())]);
        // The picker lists it now; picking it shows the open buffer.
        press(&mut app, "ctrl-o");
        type_text(&mut app, "todo");
        settle(&mut app, &rx);
        press(&mut app, "enter");
        assert_eq!(app.buffers().len(), 1);
        assert_eq!(app.editor().rope().to_string(), "- a line");
        // A path that cannot be a document is refused with a reason.
        press(&mut app, "ctrl-o");
        type_text(&mut app, "../escape");
        settle(&mut app, &rx);
        press(&mut app, "enter");
        let message = app.editor().message().map(|m| m.text.clone()).unwrap_or_default();
        assert!(message.contains("cannot be a file of the workspace"), "{message}");
        app.shutdown(0).unwrap();
    }
}
