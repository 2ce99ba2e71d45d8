//! The fuzzy picker: a query, the items that match it best (nucleo, the matcher helix uses, on its own worker
//! threads), and a preview of the highlighted one. Items stream in from a [`PickerSource`] on a background
//! thread — the working directory's files through the `ignore` crate's walker, which respects `.gitignore` as
//! ripgrep does, or a fixed list such as the open buffers or a workspace's documents — so typing never waits for
//! a walk of 100 000 files: each frame shows what has been matched so far.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nucleo::pattern::{CaseMatching, Normalization};
use nucleo::{Config, Injector, Nucleo};

use super::buffers::{BufferId, Slot};
use crate::input::{Key, KeyEvent};

/// What picking an item opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Picked {
    /// A file (opened, or created on save when it does not exist).
    Path(PathBuf),
    /// An open buffer.
    Buffer(BufferId),
    /// A shared document, `ws://HOST:PORT/DOC-ID`.
    Document(String),
    /// A new file of the open workspace at this path (relative to the workspace's root).
    NewFile(String),
}

/// One candidate: what it is called and what picking it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickerItem {
    /// Matched against the query and shown.
    pub label: String,
    /// What picking it opens.
    pub target: Picked,
}

/// Where a picker's items come from.
pub trait PickerSource: Send {
    /// Delivers the items to `sink`, on a background thread when that takes time; returns at once.
    fn feed(&self, sink: ItemSink);
    /// What Enter opens when nothing matches the query (for files: the query as a new file's path).
    fn fallback(&self, query: &str) -> Option<Picked> {
        let _ = query;
        None
    }
}

/// Where a source puts its items (cheap to clone, usable from any thread).
#[derive(Clone)]
pub struct ItemSink {
    injector: Injector<PickerItem>,
    closed: Arc<AtomicBool>,
}

impl ItemSink {
    /// Adds an item.
    pub fn push(&self, item: PickerItem) {
        self.injector.push(item, |item, columns| columns[0] = item.label.as_str().into());
    }

    /// The picker was closed: a source still delivering should stop (a walk of a huge tree).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// A fixed list of items (open buffers, a workspace's document ids).
pub struct ItemsSource(pub Vec<PickerItem>);

impl PickerSource for ItemsSource {
    fn feed(&self, sink: ItemSink) {
        for item in &self.0 {
            sink.push(item.clone());
        }
    }
}

/// The files under `root`, walked in the background with `.gitignore` (and `.ignore`, and hidden files) left out.
pub struct FilesSource {
    /// The directory walked; labels are paths relative to it.
    pub root: PathBuf,
}

impl PickerSource for FilesSource {
    fn feed(&self, sink: ItemSink) {
        let root = self.root.clone();
        let spawned = std::thread::Builder::new().name("tandem-picker".into()).spawn(move || {
            let walker = ignore::WalkBuilder::new(&root).require_git(false).build_parallel();
            walker.run(|| {
                let (sink, root) = (sink.clone(), root.clone());
                Box::new(move |entry| {
                    if sink.is_closed() {
                        return ignore::WalkState::Quit;
                    }
                    let Ok(entry) = entry else { return ignore::WalkState::Continue };
                    if entry.file_type().is_some_and(|t| t.is_file()) {
                        let path = entry.path();
                        let label = path.strip_prefix(&root).unwrap_or(path).display().to_string();
                        sink.push(PickerItem { label, target: Picked::Path(path.to_owned()) });
                    }
                    ignore::WalkState::Continue
                })
            });
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "starting the file walk");
        }
    }

    fn fallback(&self, query: &str) -> Option<Picked> {
        let query = query.trim();
        (!query.is_empty()).then(|| Picked::Path(self.root.join(query)))
    }
}

/// What a key did to the picker.
#[derive(Debug, PartialEq, Eq)]
pub enum PickerKey {
    /// Still open.
    Stay,
    /// Closed without picking.
    Close,
    /// An item was picked (the picker closes).
    Pick(Picked),
}

/// Rows shown at most; the view scrolls past them.
const ROWS: u32 = 200;
/// Bytes of a file read for its preview.
const PREVIEW_BYTES: u64 = 16 * 1024;

/// An open picker.
pub struct Picker {
    title: &'static str,
    matcher: Nucleo<PickerItem>,
    source: Box<dyn PickerSource>,
    query: String,
    selected: u32,
    /// The preview of the last highlighted item: (target, text).
    preview: Option<(Picked, Arc<str>)>,
    /// Set when the picker closes, so that its source stops delivering.
    closed: Arc<AtomicBool>,
}

impl Drop for Picker {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// What the renderer shows of a picker.
pub struct PickerView<'a> {
    /// Title, e.g. "Open".
    pub title: &'a str,
    /// The query typed so far.
    pub query: &'a str,
    /// Labels of the best matches, best first.
    pub rows: Vec<&'a str>,
    /// Index of the highlighted row in `rows`.
    pub selected: usize,
    /// Matches / items seen so far.
    pub counts: (u32, u32),
    /// The highlighted item's preview.
    pub preview: Option<Arc<str>>,
}

impl Picker {
    /// A picker over `source`'s items; `notify` is called (from other threads) when there is something new to
    /// show.
    pub fn new(
        title: &'static str,
        source: Box<dyn PickerSource>,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let matcher = Nucleo::new(Config::DEFAULT.match_paths(), notify, None, 1);
        let closed = Arc::new(AtomicBool::new(false));
        source.feed(ItemSink { injector: matcher.injector(), closed: closed.clone() });
        let mut picker = Picker {
            title,
            matcher,
            source,
            query: String::new(),
            selected: 0,
            preview: None,
            closed,
        };
        picker.refresh();
        picker
    }

    /// Takes in what the matcher found since the last call (at most a millisecond's wait).
    pub fn refresh(&mut self) {
        self.matcher.tick(1);
        let matched = self.matcher.snapshot().matched_item_count();
        self.selected = self.selected.min(matched.saturating_sub(1));
    }

    /// Handles a key: typing edits the query, arrows move, Enter picks, Esc closes.
    pub fn key(&mut self, key: KeyEvent) -> PickerKey {
        let matched = self.matcher.snapshot().matched_item_count();
        match key.key {
            Key::Esc => return PickerKey::Close,
            Key::Enter => return self.pick(),
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Tab => {
                self.selected = (self.selected + 1).min(matched.saturating_sub(1))
            }
            Key::PageUp => self.selected = self.selected.saturating_sub(10),
            Key::PageDown => self.selected = (self.selected + 10).min(matched.saturating_sub(1)),
            Key::Backspace if self.query.pop().is_some() => self.set_query(false),
            Key::Char(c) if !key.mods.ctrl && !key.mods.alt => {
                self.query.push(c);
                self.set_query(true);
            }
            Key::Char('c' | 'q') if key.mods.ctrl => return PickerKey::Close,
            _ => {}
        }
        PickerKey::Stay
    }

    /// Pastes text into the query (its first line).
    pub fn paste(&mut self, text: &str) {
        self.query.push_str(text.lines().next().unwrap_or_default());
        self.set_query(true);
    }

    fn set_query(&mut self, appended: bool) {
        self.matcher.pattern.reparse(
            0,
            &self.query,
            CaseMatching::Smart,
            Normalization::Smart,
            appended,
        );
        self.selected = 0;
        self.refresh();
    }

    fn pick(&mut self) -> PickerKey {
        match self.highlighted() {
            Some(item) => PickerKey::Pick(item.target.clone()),
            None => match self.source.fallback(&self.query) {
                Some(picked) => PickerKey::Pick(picked),
                None => PickerKey::Stay,
            },
        }
    }

    fn highlighted(&self) -> Option<&PickerItem> {
        self.matcher.snapshot().get_matched_item(self.selected).map(|item| item.data)
    }

    /// The query typed so far.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The best matches so far, best first (at most `n`).
    pub fn matches(&self, n: u32) -> Vec<&PickerItem> {
        let snapshot = self.matcher.snapshot();
        let end = snapshot.matched_item_count().min(n);
        snapshot.matched_items(0..end).map(|item| item.data).collect()
    }

    /// The highlighted item's preview: a file's first lines (read once per item), an open buffer's text.
    pub fn preview_for(&mut self, buffers: &[Slot]) -> Option<Arc<str>> {
        let target = self.highlighted()?.target.clone();
        if let Some((cached, text)) = &self.preview
            && *cached == target
        {
            return Some(text.clone());
        }
        let text: Arc<str> = match &target {
            Picked::Path(path) => read_head(path)?.into(),
            Picked::Buffer(id) => {
                let slot = buffers.iter().find(|s| s.id == *id)?;
                let rope = slot.editor.rope();
                let end = rope.line_to_char(rope.len_lines().min(200));
                String::from(rope.slice(..end)).into()
            }
            Picked::Document(_) | Picked::NewFile(_) => return None,
        };
        self.preview = Some((target, text.clone()));
        Some(text)
    }

    /// What the renderer shows, with `preview` for the highlighted item.
    pub fn view(&self, preview: Option<Arc<str>>) -> PickerView<'_> {
        let snapshot = self.matcher.snapshot();
        let first = self.selected.saturating_sub(ROWS - 1);
        let end = snapshot.matched_item_count().min(first + ROWS);
        let rows =
            snapshot.matched_items(first..end).map(|item| item.data.label.as_str()).collect();
        PickerView {
            title: self.title,
            query: &self.query,
            rows,
            selected: (self.selected - first) as usize,
            counts: (snapshot.matched_item_count(), snapshot.item_count()),
            preview,
        }
    }
}

/// The start of a text file, `None` for a binary one (a NUL byte) or one that cannot be read.
fn read_head(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path).ok()?.take(PREVIEW_BYTES).read_to_end(&mut bytes).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn picker(source: Box<dyn PickerSource>) -> Picker {
        Picker::new("test", source, Arc::new(|| {}))
    }

    fn typed(p: &mut Picker, text: &str) {
        for k in KeyEvent::typed(text) {
            p.key(k);
        }
    }

    /// Refreshes until `done` holds (the walk and the matcher run on other threads).
    fn settle(p: &mut Picker, done: impl Fn(&Picker) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(p) {
            assert!(Instant::now() < deadline, "picker never settled");
            std::thread::sleep(Duration::from_millis(5));
            p.refresh();
        }
    }

    #[test]
    fn files_respect_gitignore_and_match_fuzzily() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/editor")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
        std::fs::write(root.join("src/editor/movement.rs"), "fn motion() {}\n").unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(root.join("target/debug/movement.rs"), "ignored").unwrap();
        std::fs::write(root.join("trace.log"), "ignored").unwrap();
        let mut p = picker(Box::new(FilesSource { root: root.to_owned() }));
        settle(&mut p, |p| p.matches(10).len() == 2);
        let labels: Vec<_> = p.matches(10).iter().map(|i| i.label.clone()).collect();
        assert!(!labels.iter().any(|l| l.contains("target") || l.ends_with(".log")), "{labels:?}");
        typed(&mut p, "edmov");
        settle(&mut p, |p| p.matches(10).len() == 1);
        assert_eq!(
            p.matches(10)[0].label,
            format!(
                "src{}editor{}movement.rs",
                std::path::MAIN_SEPARATOR,
                std::path::MAIN_SEPARATOR
            )
        );
        assert_eq!(p.preview_for(&[]).as_deref(), Some("fn motion() {}\n"));
        assert_eq!(
            p.key(KeyEvent::plain(Key::Enter)),
            PickerKey::Pick(Picked::Path(root.join("src/editor/movement.rs")))
        );
        typed(&mut p, "zzz");
        settle(&mut p, |p| p.matches(10).is_empty());
        assert_eq!(
            p.key(KeyEvent::plain(Key::Enter)),
            PickerKey::Pick(Picked::Path(root.join("edmovzzz"))),
            "no match: the query is a new file's path"
        );
        assert_eq!(p.key(KeyEvent::plain(Key::Esc)), PickerKey::Close);
    }

    #[test]
    fn a_list_of_items_is_a_source_too() {
        let items = ["notes/today", "notes/tomorrow", "plans"].map(|d| PickerItem {
            label: d.into(),
            target: Picked::Document(format!("ws://h/{d}")),
        });
        let mut p = picker(Box::new(ItemsSource(items.to_vec())));
        typed(&mut p, "tmrw");
        settle(&mut p, |p| p.matches(10).len() == 1);
        assert_eq!(
            p.key(KeyEvent::plain(Key::Enter)),
            PickerKey::Pick(Picked::Document("ws://h/notes/tomorrow".into()))
        );
        typed(&mut p, "nothing");
        settle(&mut p, |p| p.matches(10).is_empty());
        assert_eq!(p.key(KeyEvent::plain(Key::Enter)), PickerKey::Stay);
    }
}
