//! Following another user of a shared document, as in Zed and Teamtype: pick them in the presence list (F2) and
//! the focused view keeps their cursor and their first line in sight, switching to the shared buffer they switch
//! to; any key of yours stops it. "Go to" jumps to their cursor once.
//!
//! A user is recognised across documents by name and colour: each document gives them another client id.

use super::buffers::BufferId;
use super::{App, Overlay};
use crate::collab::PeerView;
use crate::editor::MessageKind;
use crate::input::{Key, KeyEvent};
use crate::selection::Selection;
use crate::theme::Rgb;

/// Whom the focused view follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Follow {
    /// The buffer where they were last seen.
    pub(super) buffer: BufferId,
    name: String,
    colour: Rgb,
}

impl Follow {
    /// The followed user's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

impl App {
    /// The focused buffer's peers, as the presence list shows them.
    fn focused_peers(&mut self) -> Vec<PeerView> {
        let i = self.focused_index();
        let slot = &mut self.buffers[i];
        match &mut slot.shared {
            Some(shared) => shared.collab().peers(&slot.editor).to_vec(),
            None => Vec::new(),
        }
    }

    /// A key while the presence list is open: arrows pick a user, Enter follows them, G goes to them, Esc closes
    /// the list. Returns false for any other key, which closes the list and then acts as usual.
    pub(super) fn presence_key(&mut self, key: KeyEvent) -> bool {
        let peers = self.focused_peers();
        let Some(Overlay::Presence { selected }) = &mut self.overlay else { return false };
        let chosen = peers.get(*selected).cloned();
        match key.key {
            Key::Up => *selected = selected.saturating_sub(1),
            Key::Down => *selected = (*selected + 1).min(peers.len().saturating_sub(1)),
            Key::Enter | Key::Char('f') | Key::Char('g') | Key::Esc => {
                self.close_presence_list();
                let Some(peer) = chosen else { return true };
                match key.key {
                    Key::Enter | Key::Char('f') => self.start_following(&peer),
                    Key::Char('g') => self.go_to(&peer),
                    _ => {}
                }
            }
            _ => {
                if key.key != Key::F(2) {
                    self.close_presence_list();
                }
                return false;
            }
        }
        true
    }

    fn close_presence_list(&mut self) {
        self.overlay = None;
        if self.editor().presence_list_shown() {
            self.editor_mut().toggle_presence_list();
        }
    }

    fn start_following(&mut self, peer: &PeerView) {
        let buffer = self.splits.focused_pane().buffer;
        self.follow = Some(Follow { buffer, name: peer.name.clone(), colour: peer.colour });
        let text = format!("following {} (any key stops)", peer.name);
        self.editor_mut().notify(text, MessageKind::Info);
        self.follow_peer();
    }

    /// Moves the cursor to `peer`'s, once.
    fn go_to(&mut self, peer: &PeerView) {
        let Some((_, head)) = peer.cursor else {
            return self
                .editor_mut()
                .notify(format!("{} has no cursor here", peer.name), MessageKind::Info);
        };
        let editor = self.editor_mut();
        editor.set_selection(Selection::point(head));
        editor.reveal(head);
    }

    /// Brings the followed user into view: their shared buffer in the focused split, their first line at the
    /// top and their cursor on screen. Stops following when they left every document open here.
    pub(super) fn follow_peer(&mut self) {
        let Some(follow) = self.follow.clone() else { return };
        let mut seen_in = None;
        let mut focused_in = None;
        for slot in &mut self.buffers {
            let Some(shared) = &mut slot.shared else { continue };
            let peers = shared.collab().peers(&slot.editor);
            for peer in peers.iter().filter(|p| p.name == follow.name && p.colour == follow.colour)
            {
                if peer.focused == Some(true) {
                    focused_in = Some((slot.id, peer.clone()));
                }
                if slot.id == follow.buffer {
                    seen_in = Some((slot.id, peer.clone()));
                }
            }
        }
        let Some((buffer, peer)) = focused_in.or(seen_in) else {
            if self.buffers.iter().any(|s| {
                s.id == follow.buffer && s.shared.as_ref().is_some_and(|s| s.epoch().is_some())
            }) {
                self.follow = None;
                let text = format!("stopped following: {} left", follow.name);
                self.editor_mut().notify(text, MessageKind::Info);
            }
            return;
        };
        if buffer != self.splits.focused_pane().buffer {
            self.show_buffer(buffer);
        }
        if let Some(f) = &mut self.follow {
            f.buffer = buffer;
        }
        let editor = self.editor_mut();
        if let Some(top) = peer.top {
            editor.scroll_to_pos(top);
        }
        if let Some((_, head)) = peer.cursor {
            editor.reveal(head);
        }
    }
}
