//! "Who wrote this" (the `authorship` command, F5): a shared document's text tinted in each
//! author's colour — the colour of their cursor when they are here, else the one picked from
//! their name — with a legend naming them, from tandem-server's `GET /api/docs/ID/authors`.
//!
//! [`model`] decides (pure: runs, edits and time in; requests and ranges out); this module
//! wires it into the [`App`]: requests go off the UI thread as the history panel's do, the
//! ranges are kept as the editor's marks so that they follow every edit until the next answer,
//! and each frame colours only the ranges on screen. Against a stock y-websocket server the
//! first answer switches the colouring off, saying that server keeps no authorship.

mod model;

use model::{Authorship, Outcome, visible};

use super::*;
use crate::collab::{AuthorRun, HistoryClient, HistoryError};
use crate::decoration::AuthorSpan;

/// The colouring of one buffer: its model and the document's REST API.
pub(super) struct Colouring {
    model: Authorship,
    client: HistoryClient,
}

impl Colouring {
    /// The buffer's text changed at `now`: ask again once the edits settle.
    pub(super) fn edited(&mut self, now: u64) {
        self.model.edited(now);
    }

    /// The author of each range shown (an index into the legend).
    pub(super) fn runs(&self) -> &[usize] {
        self.model.runs()
    }
}

impl App {
    /// Switches the colouring of the focused buffer on or off.
    pub(super) fn toggle_authorship(&mut self) {
        let i = self.focused_index();
        let slot = &mut self.buffers[i];
        if self.authorship.remove(&slot.id).is_some() {
            slot.editor.set_marks(Vec::new());
            return slot.editor.notify("authorship colouring off", MessageKind::Info);
        }
        let Some(shared) = slot.shared.as_ref() else {
            return slot.editor.notify(
                "only shared documents have authors (tandem ws://HOST/DOC on tandem-server)",
                MessageKind::Info,
            );
        };
        let client = match history::client_for(shared) {
            Ok(client) => client,
            Err(e) => return slot.editor.notify(format!("no authors: {e}"), MessageKind::Error),
        };
        let colouring = Colouring { model: Authorship::new(now_ms()), client };
        self.authorship.insert(slot.id, colouring);
        slot.editor.notify("colouring the text by author", MessageKind::Info);
    }

    /// Sends the requests that are due; returns when the next one is (for the loop's wait).
    pub(super) fn ask_authors(&mut self, now: u64) -> Option<u64> {
        let buffers = &self.buffers;
        self.authorship.retain(|id, _| buffers.iter().any(|s| s.id == *id));
        for (&buffer, colouring) in &mut self.authorship {
            if !colouring.model.ask(now) {
                continue;
            }
            let Some(events) = self.events.clone() else { continue };
            let client = colouring.client.clone();
            history::off_thread(events, async move {
                AppEvent::Authors(buffer, client.authors().await)
            });
        }
        self.authorship.values().filter_map(|c| c.model.due()).min()
    }

    /// The server answered `buffer`'s colouring (ignored once it is off).
    pub(super) fn authors_answer(
        &mut self,
        buffer: BufferId,
        answer: Result<Vec<AuthorRun>, HistoryError>,
        now: u64,
    ) {
        let (Some(i), Some(colouring)) = (self.index_of(buffer), self.authorship.get_mut(&buffer))
        else {
            return;
        };
        let editor = &mut self.buffers[i].editor;
        match colouring.model.answered(answer, editor.rope().len_chars(), now) {
            Outcome::Apply(ranges) => editor.set_marks(ranges.marks()),
            Outcome::Wait(None) => {}
            Outcome::Wait(Some(problem)) => editor.notify(problem, MessageKind::Error),
            Outcome::Off(why) => {
                self.authorship.remove(&buffer);
                editor.set_marks(Vec::new());
                editor.notify(why, MessageKind::Info);
            }
        }
    }

    /// The legend of buffer `i`'s colouring (authors and their colours), if it is on: `Some(None)`
    /// until the server's first fitting answer.
    pub(super) fn author_legend(&mut self, i: usize) -> Option<Option<Vec<(String, Rgb)>>> {
        let colouring = self.authorship.get(&self.buffers[i].id)?;
        let Some(authors) = colouring.model.authors() else { return Some(None) };
        let slot = &mut self.buffers[i];
        // The people here, this user first: an author's colour is their cursor's.
        let mut present: Vec<(String, Rgb)> = Vec::new();
        if let Some(shared) = &mut slot.shared {
            let options = shared.options();
            if let Ok(colour) = Rgb::parse(&options.color) {
                present.push((options.name.clone(), colour));
            }
            let peers = shared.collab().peers(&slot.editor);
            present.extend(peers.iter().map(|p| (p.name.clone(), p.colour)));
        }
        let legend = authors
            .iter()
            .map(|name| {
                let here = present.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
                let colour = here.unwrap_or_else(|| {
                    Rgb::parse(collab::name_colour(name)).unwrap_or(self.theme.ui.foreground)
                });
                (name.clone(), colour)
            })
            .collect();
        Some(Some(legend))
    }
}

/// The coloured spans of `ed`'s view (`height` rows): the ranges kept as its marks, with
/// `runs[i]` the author of range `i` and that author's colour in `legend`. Only what is on
/// screen is looked at, whatever the document's size.
pub fn author_spans(
    ed: &Editor,
    height: u16,
    runs: &[usize],
    legend: &[(String, Rgb)],
) -> Vec<AuthorSpan> {
    let rope = ed.rope();
    let top = ed.view().top_line.min(rope.len_lines());
    // A line takes at least one row, so no more lines than rows are on screen.
    let end = (top + usize::from(height)).min(rope.len_lines());
    let shown = rope.line_to_char(top)..rope.line_to_char(end);
    visible(ed.marks(), runs, shown)
        .filter_map(|(range, author)| Some(AuthorSpan { range, colour: legend.get(author)?.1 }))
        .collect()
}
