//! The history panel (the `history` command, F4): a shared document's versions on
//! tandem-server — when, who, which name — with the highlighted one previewed read-only beside
//! the current text, the differences marked; Enter restores it after asking, `n` names the
//! current text. A restore is the server's edit, so the text converges here (and for everyone)
//! over the document's connection like any remote edit.
//!
//! [`panel`] is the model (pure: keys and replies in, calls out), [`preview`] marks the
//! differences, [`io`] makes the calls off the UI thread; this module wires them into the
//! [`App`]. Against a stock y-websocket server the first call finds no history and the panel
//! closes saying so.

mod io;
mod panel;
mod preview;

pub(super) use io::off_thread;
pub use io::{Call, Reply};
pub use panel::{HistoryPanel, HistoryView, Next};

use super::*;
use crate::collab::HistoryClient;

/// An open history panel: its model, the buffer whose document it browses, and that
/// document's history API.
pub(super) struct OpenHistory {
    panel: HistoryPanel,
    buffer: BufferId,
    client: HistoryClient,
}

/// The history API of `shared`'s document, reached as its connection is (token, CA).
pub(super) fn client_for(shared: &SharedDoc) -> Result<HistoryClient, String> {
    let options = shared.options();
    let connector =
        tandem_connect::Connector::new(options.ca_cert.as_deref()).map_err(|e| e.to_string())?;
    HistoryClient::new(&shared.target().base, options.token.clone(), connector)
        .map_err(|e| e.to_string())
}

impl App {
    /// Opens the history panel over the focused buffer's shared document.
    pub(super) fn open_history(&mut self) {
        let i = self.focused_index();
        let slot = &mut self.buffers[i];
        let Some(shared) = slot.shared.as_ref() else {
            return slot.editor.notify(
                "history is kept for shared documents (tandem ws://HOST/DOC on tandem-server)",
                MessageKind::Info,
            );
        };
        let client = match client_for(shared) {
            Ok(client) => client,
            Err(e) => return slot.editor.notify(format!("no history: {e}"), MessageKind::Error),
        };
        let panel = HistoryPanel::new(shared.target().doc.clone());
        let open = OpenHistory { panel, buffer: slot.id, client };
        self.overlay = Some(Overlay::History(Box::new(open)));
        self.history_call(Call::List);
    }

    /// A key while the panel is open.
    pub(super) fn history_key(&mut self, key: KeyEvent) {
        let Some(Overlay::History(open)) = &mut self.overlay else { return };
        let next = open.panel.key(key);
        self.history_next(next);
    }

    /// Pasted text while the panel is open (into a name being typed).
    pub(super) fn history_paste(&mut self, text: &str) {
        if let Some(Overlay::History(open)) = &mut self.overlay {
            open.panel.paste(text);
        }
    }

    /// The server answered a call for `buffer`'s panel (ignored once that panel is closed).
    pub(super) fn history_reply(&mut self, buffer: BufferId, reply: Reply) {
        let Some(Overlay::History(open)) = &mut self.overlay else { return };
        if open.buffer != buffer {
            return;
        }
        let next = open.panel.reply(reply);
        self.history_next(next);
    }

    fn history_next(&mut self, next: Next) {
        match next {
            Next::Stay => {}
            Next::Call(call) => self.history_call(call),
            Next::Close(message) => {
                self.overlay = None;
                if let Some(message) = message {
                    self.editor_mut().notify(message, MessageKind::Info);
                }
            }
        }
    }

    fn history_call(&mut self, call: Call) {
        let (Some(Overlay::History(open)), Some(events)) = (&self.overlay, &self.events) else {
            return;
        };
        io::spawn(open.client.clone(), call, open.buffer, events.clone());
    }

    /// Draws the open panel over `area`; returns where the cursor goes (after a name being
    /// typed). A panel whose buffer was closed closes too.
    pub(super) fn render_history(&mut self, area: Rect, buf: &mut Buffer) -> Option<(u16, u16)> {
        let Some(Overlay::History(open)) = &self.overlay else { return None };
        let Some(i) = self.index_of(open.buffer) else {
            self.overlay = None;
            return None;
        };
        let rope = self.buffers[i].editor.rope();
        let Some(Overlay::History(open)) = &mut self.overlay else { return None };
        // More lines than can show: the renderer keeps what fits.
        let view = open.panel.view(rope, usize::from(area.height));
        crate::ui::render_history(&view, &self.theme, area, buf)
    }
}
