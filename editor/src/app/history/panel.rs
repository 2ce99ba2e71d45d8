//! [`HistoryPanel`]: the history panel's model, pure. Keys and the server's answers go in;
//! what to ask the server next ([`Call`]) and whether the panel stays ([`Next`]) come out; the
//! renderer reads a [`HistoryView`].

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

use ropey::Rope;

use super::io::{Call, Reply};
use super::preview::Preview;
use crate::collab::{HistoryError, VersionInfo};
use crate::input::{Key, KeyEvent};

/// Lines a page key scrolls the preview by.
const PAGE: usize = 10;

/// What the panel wants after a key or a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing more.
    Stay,
    /// Ask the server.
    Call(Call),
    /// Close the panel, with a message for the message line.
    Close(Option<String>),
}

/// What the panel is asking the user, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asking {
    Nothing,
    /// "Restore this version?"
    Restore(i64),
    /// The name being typed for the current version.
    Name(String),
}

/// A shared document's version history, browsed.
#[derive(Debug)]
pub struct HistoryPanel {
    /// The document's name, for the title.
    title: String,
    /// `None` until the first list arrives.
    versions: Option<Vec<VersionInfo>>,
    selected: usize,
    /// Texts read so far (or why they could not be), by version id.
    texts: HashMap<i64, Result<String, String>>,
    asking: Asking,
    /// The last outcome or problem, for the panel's bottom line.
    note: Option<String>,
    /// The preview's first line; `None`: a little above the first difference.
    scroll: Option<usize>,
    /// The last preview made: version id, hash of the current text, the preview.
    preview: Option<(i64, u64, Preview)>,
}

/// What the renderer shows of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryView {
    /// The title bar.
    pub title: String,
    /// One line per version, newest first.
    pub rows: Vec<String>,
    /// The highlighted row.
    pub selected: usize,
    /// The preview's heading over the version's column.
    pub version_label: String,
    /// The current text's lines as `(text, marked)` pieces (marked: a restore removes it).
    pub current: Vec<Vec<(String, bool)>>,
    /// The version's lines (marked: a restore brings it back); empty while it loads.
    pub version: Vec<Vec<(String, bool)>>,
    /// The bottom line: a question, the name being typed, an outcome or the keys.
    pub status: String,
    /// Whether the bottom line is an input (the cursor goes after it).
    pub typing: bool,
}

impl HistoryPanel {
    /// An empty panel for the document called `title`; ask for [`Call::List`] first.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            versions: None,
            selected: 0,
            texts: HashMap::new(),
            asking: Asking::Nothing,
            note: Some("loading the versions…".into()),
            scroll: None,
            preview: None,
        }
    }

    fn selected_version(&self) -> Option<&VersionInfo> {
        self.versions.as_ref()?.get(self.selected)
    }

    /// The highlighted version's text, asked for if not read yet.
    fn need_text(&self) -> Next {
        match self.selected_version() {
            Some(v) if !self.texts.contains_key(&v.id) => Next::Call(Call::Text(v.id)),
            _ => Next::Stay,
        }
    }

    fn select(&mut self, index: usize) -> Next {
        let count = self.versions.as_ref().map_or(0, Vec::len);
        let index = index.min(count.saturating_sub(1));
        if index != self.selected {
            self.selected = index;
            self.scroll = None;
        }
        self.need_text()
    }

    /// Handles a key.
    pub fn key(&mut self, key: KeyEvent) -> Next {
        let plain = !key.mods.ctrl && !key.mods.alt;
        match std::mem::replace(&mut self.asking, Asking::Nothing) {
            Asking::Restore(id) => match key.key {
                Key::Char('y') | Key::Enter if plain => {
                    self.note = Some(format!("restoring version {id}…"));
                    Next::Call(Call::Restore(id))
                }
                _ => {
                    self.note = Some("not restored".into());
                    Next::Stay
                }
            },
            Asking::Name(mut name) => {
                match key.key {
                    Key::Esc => self.note = None,
                    Key::Enter if !name.trim().is_empty() => {
                        self.note = Some("naming the current text…".into());
                        return Next::Call(Call::Name(name.trim().to_owned()));
                    }
                    Key::Backspace => {
                        name.pop();
                        self.asking = Asking::Name(name);
                    }
                    Key::Char(c) if plain => {
                        name.push(c);
                        self.asking = Asking::Name(name);
                    }
                    _ => self.asking = Asking::Name(name),
                }
                Next::Stay
            }
            Asking::Nothing => self.browse(key, plain),
        }
    }

    fn browse(&mut self, key: KeyEvent, plain: bool) -> Next {
        match key.key {
            Key::Esc | Key::F(4) => Next::Close(None),
            Key::Char('q') if plain => Next::Close(None),
            Key::Char('c' | 'q') if key.mods.ctrl => Next::Close(None),
            Key::Up => self.select(self.selected.saturating_sub(1)),
            Key::Down => self.select(self.selected + 1),
            Key::Home => self.select(0),
            Key::End => self.select(usize::MAX),
            Key::PageUp => {
                self.scroll = Some(self.shown_scroll().saturating_sub(PAGE));
                Next::Stay
            }
            Key::PageDown => {
                self.scroll = Some(self.shown_scroll() + PAGE);
                Next::Stay
            }
            Key::Enter | Key::Char('r') if plain => {
                if let Some(v) = self.selected_version() {
                    self.asking = Asking::Restore(v.id);
                }
                Next::Stay
            }
            Key::Char('n') if plain => {
                self.asking = Asking::Name(String::new());
                Next::Stay
            }
            _ => Next::Stay,
        }
    }

    /// Adds pasted text to the name being typed.
    pub fn paste(&mut self, text: &str) {
        if let Asking::Name(name) = &mut self.asking {
            name.push_str(text.lines().next().unwrap_or_default());
        }
    }

    /// Takes in the server's answer.
    pub fn reply(&mut self, reply: Reply) -> Next {
        match reply {
            Reply::Listed(Ok(versions)) => {
                let keep = self.selected_version().map(|v| v.id);
                self.selected =
                    keep.and_then(|id| versions.iter().position(|v| v.id == id)).unwrap_or(0);
                if versions.is_empty() {
                    self.note = Some("no versions yet: n names the current text".into());
                } else if self.note.as_deref() == Some("loading the versions…") {
                    self.note = None;
                }
                self.versions = Some(versions);
                self.need_text()
            }
            Reply::Listed(Err(HistoryError::NoHistory)) => {
                Next::Close(Some(HistoryError::NoHistory.to_string()))
            }
            Reply::Listed(Err(error)) => {
                self.note = Some(format!("cannot list the versions: {error}"));
                Next::Stay
            }
            Reply::Text(id, text) => {
                self.texts.insert(id, text.map_err(|e| e.to_string()));
                Next::Stay
            }
            Reply::Restored(result) => {
                self.note = Some(match result {
                    Ok(made) => format!("restored: the text is now version {}", made.id),
                    Err(error) => format!("not restored: {error}"),
                });
                Next::Call(Call::List)
            }
            Reply::Named(result) => {
                self.note = Some(match result {
                    Ok(made) => {
                        format!("named version {} \"{}\"", made.id, made.name.unwrap_or_default())
                    }
                    Err(error) => format!("not named: {error}"),
                });
                Next::Call(Call::List)
            }
        }
    }

    fn shown_scroll(&self) -> usize {
        self.scroll
            .or_else(|| self.preview.as_ref().map(|(.., p)| p.first_interesting_line()))
            .unwrap_or(0)
    }

    /// What to draw, with `current` the document's text now and `lines` the preview's height.
    pub fn view(&mut self, current: &Rope, lines: usize) -> HistoryView {
        let rows = self.versions.iter().flatten().map(row).collect();
        let selected = self.selected_version().cloned();
        let mut version_label = String::new();
        let mut version = Vec::new();
        if let Some(v) = &selected {
            version_label = format!("version {} · {}", v.id, when(v.created_at_ms));
            match self.texts.get(&v.id) {
                Some(Ok(text)) => {
                    let hash = rope_hash(current);
                    let fresh =
                        matches!(&self.preview, Some((id, h, _)) if *id == v.id && *h == hash);
                    if !fresh {
                        let preview = Preview::new(&current.to_string(), text);
                        self.preview = Some((v.id, hash, preview));
                    }
                }
                Some(Err(error)) => version_label = format!("version {}: {error}", v.id),
                None => version_label.push_str(" · loading…"),
            }
        }
        let scroll = self.shown_scroll();
        let current_lines = match (&self.preview, &selected) {
            (Some((id, _, preview)), Some(v)) if *id == v.id => {
                if preview.is_same() {
                    version_label.push_str(" · the same as now");
                }
                version = preview.version.lines(scroll, lines);
                preview.current.lines(scroll, lines)
            }
            _ => unmarked_lines(current, scroll, lines),
        };
        let (status, typing) = match &self.asking {
            Asking::Restore(id) => (
                format!("Restore version {id}? The text now is kept as a version first. (y/n)"),
                false,
            ),
            Asking::Name(name) => (format!("Name the current text: {name}"), true),
            Asking::Nothing => (self.note.clone().unwrap_or_default(), false),
        };
        HistoryView {
            title: format!(
                "History of {} · ↑↓ choose · PgUp/PgDn scroll · Enter restore · n name the current text · Esc close",
                self.title
            ),
            rows,
            selected: self.selected,
            version_label,
            current: current_lines,
            version,
            status,
            typing,
        }
    }
}

/// One version's row: id, time, kind, authors and name.
fn row(v: &VersionInfo) -> String {
    let authors = if v.authors.is_empty() { "-".to_owned() } else { v.authors.join(", ") };
    let mut line = format!("#{:<5} {}  {:<7} {authors}", v.id, when(v.created_at_ms), v.kind);
    if let Some(name) = &v.name {
        line.push_str(&format!("  \"{name}\""));
    }
    line
}

/// `MM-DD HH:MM:SS`, UTC (as `tandem history` prints, without the year).
fn when(created_at_ms: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(created_at_ms.max(0) as u64);
    let full = crate::journal::utc(at);
    full.get(5..19).unwrap_or(&full).to_owned()
}

fn rope_hash(rope: &Rope) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for chunk in rope.chunks() {
        chunk.hash(&mut hasher);
    }
    rope.len_chars().hash(&mut hasher);
    hasher.finish()
}

/// `rope`'s lines from `first`, at most `count`, nothing marked (no version to compare with).
fn unmarked_lines(rope: &Rope, first: usize, count: usize) -> Vec<Vec<(String, bool)>> {
    (first..rope.len_lines().min(first + count))
        .map(|line| {
            let text: String = crate::text::line_text(rope, line)
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            vec![(text, false)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Modifiers;

    fn version(id: i64, name: Option<&str>) -> VersionInfo {
        VersionInfo {
            id,
            created_at_ms: 86_400_000 * 340 + id * 60_000,
            name: name.map(str::to_owned),
            authors: vec!["ada".into(), "bob".into()],
            chars: 10,
            kind: if name.is_some() { "named".into() } else { "auto".into() },
        }
    }

    fn key(k: Key) -> KeyEvent {
        KeyEvent { key: k, mods: Modifiers::default() }
    }

    fn typed(panel: &mut HistoryPanel, text: &str) {
        for c in text.chars() {
            assert_eq!(panel.key(key(Key::Char(c))), Next::Stay);
        }
    }

    fn listed(panel: &mut HistoryPanel) -> Next {
        panel.reply(Reply::Listed(Ok(vec![version(7, Some("draft")), version(3, None)])))
    }

    #[test]
    fn the_list_shows_who_when_and_which_name_and_asks_for_the_highlighted_text() {
        let mut panel = HistoryPanel::new("notes");
        assert_eq!(listed(&mut panel), Next::Call(Call::Text(7)));
        let view = panel.view(&Rope::from_str("now\n"), 5);
        assert_eq!(view.rows[0], "#7     12-07 00:07:00  named   ada, bob  \"draft\"");
        assert_eq!(view.rows[1], "#3     12-07 00:03:00  auto    ada, bob");
        assert_eq!(view.version_label, "version 7 · 12-07 00:07:00 · loading…");
        assert_eq!(
            view.current,
            vec![vec![("now".to_owned(), false)], vec![("".to_owned(), false)]]
        );
        assert_eq!(panel.key(key(Key::Down)), Next::Call(Call::Text(3)));
        panel.reply(Reply::Text(3, Ok("then\n".into())));
        assert_eq!(panel.key(key(Key::Up)), Next::Call(Call::Text(7)));
        assert_eq!(panel.key(key(Key::Down)), Next::Stay, "read already");
        let view = panel.view(&Rope::from_str("now\n"), 5);
        assert_eq!(view.selected, 1);
        assert_eq!(view.current[0], vec![("now".to_owned(), true)]);
        assert_eq!(view.version[0], vec![("then".to_owned(), true)]);
    }

    #[test]
    fn restoring_asks_first_and_lists_again_after() {
        let mut panel = HistoryPanel::new("notes");
        listed(&mut panel);
        assert_eq!(panel.key(key(Key::Enter)), Next::Stay);
        let view = panel.view(&Rope::new(), 3);
        assert!(view.status.starts_with("Restore version 7?"), "{}", view.status);
        assert_eq!(panel.key(key(Key::Char('x'))), Next::Stay, "anything but y declines");
        assert_eq!(panel.view(&Rope::new(), 3).status, "not restored");
        panel.key(key(Key::Char('r')));
        assert_eq!(panel.key(key(Key::Char('y'))), Next::Call(Call::Restore(7)));
        let made = version(9, None);
        assert_eq!(panel.reply(Reply::Restored(Ok(made))), Next::Call(Call::List));
        assert_eq!(panel.view(&Rope::new(), 3).status, "restored: the text is now version 9");
        let refused = Err(HistoryError::Refused("the token grants reading only".into()));
        panel.reply(Reply::Restored(refused));
        assert_eq!(
            panel.view(&Rope::new(), 3).status,
            "not restored: the server refused: the token grants reading only"
        );
    }

    #[test]
    fn naming_types_a_name_and_sends_it() {
        let mut panel = HistoryPanel::new("notes");
        listed(&mut panel);
        panel.key(key(Key::Char('n')));
        typed(&mut panel, "first  ");
        panel.paste("draft\nignored");
        panel.key(key(Key::Backspace));
        let view = panel.view(&Rope::new(), 3);
        assert_eq!(
            (view.status.as_str(), view.typing),
            ("Name the current text: first  draf", true)
        );
        assert_eq!(panel.key(key(Key::Enter)), Next::Call(Call::Name("first  draf".into())));
        let reply = Reply::Named(Ok(version(11, Some("first  draf"))));
        assert_eq!(panel.reply(reply), Next::Call(Call::List));
        assert_eq!(panel.view(&Rope::new(), 3).status, "named version 11 \"first  draf\"");
        // Esc leaves naming without closing; an empty name is not sent.
        panel.key(key(Key::Char('n')));
        assert_eq!(panel.key(key(Key::Enter)), Next::Stay);
        assert_eq!(panel.key(key(Key::Esc)), Next::Stay);
        assert_eq!(panel.key(key(Key::Esc)), Next::Close(None));
    }

    #[test]
    fn a_server_without_history_closes_the_panel_saying_so() {
        let mut panel = HistoryPanel::new("notes");
        match panel.reply(Reply::Listed(Err(HistoryError::NoHistory))) {
            Next::Close(Some(message)) => assert!(message.contains("keeps no version history")),
            other => panic!("{other:?}"),
        }
        let mut panel = HistoryPanel::new("notes");
        let down = Err(HistoryError::Connect("connection refused".into()));
        assert_eq!(panel.reply(Reply::Listed(down)), Next::Stay);
        assert_eq!(
            panel.view(&Rope::new(), 3).status,
            "cannot list the versions: connection refused"
        );
    }

    #[test]
    fn the_preview_opens_near_the_first_difference_and_pages() {
        let current: String = (0..60).map(|i| format!("line {i}\n")).collect();
        let old = current.replace("line 40\n", "line forty\n");
        let mut panel = HistoryPanel::new("notes");
        listed(&mut panel);
        panel.reply(Reply::Text(7, Ok(old)));
        let rope = Rope::from_str(&current);
        let view = panel.view(&rope, 5);
        assert_eq!(view.current[0], vec![("line 38".to_owned(), false)]);
        assert_eq!(view.version[2][1], ("forty".to_owned(), true));
        panel.key(key(Key::PageDown));
        assert_eq!(panel.view(&rope, 5).current[0], vec![("line 48".to_owned(), false)]);
        panel.key(key(Key::PageUp));
        panel.key(key(Key::PageUp));
        assert_eq!(panel.view(&rope, 5).current[0], vec![("line 28".to_owned(), false)]);
    }
}
