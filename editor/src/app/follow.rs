//! Following another user of a shared document, as in Zed and Teamtype: pick them in the presence list (F2) and
//! the focused view keeps their cursor and their first line in sight, switching to the shared buffer they switch
//! to; any key of yours stops it. "Go to" jumps to their cursor once.
//!
//! In an open workspace the presence list is everyone in it, each with the file in front of them (the manifest's
//! presence says), and following them crosses files: the file they switch to is opened here when it is not yet.
//!
//! A user is recognised across documents by name and colour: each document gives them another client id.

use super::buffers::BufferId;
use super::{App, Overlay};
use crate::collab::PeerView as Peer;
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
    lasts: Lasts,
}

/// How long a [`Follow`] lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lasts {
    /// Until any key of the user's.
    UntilStopped,
    /// Until their cursor is reached once ("go to" someone in another file).
    Once,
}

impl Follow {
    /// The followed user's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

impl App {
    /// The peers of the presence list: the focused buffer's, or in a workspace everyone in it (each with the path
    /// of their file; the cursor of those in the focused file), then those of the focused file who joined it alone.
    pub(super) fn focused_peers(&mut self) -> Vec<Peer> {
        let i = self.focused_index();
        let slot = &mut self.buffers[i];
        let here = match &mut slot.shared {
            Some(shared) => shared.collab().peers(&slot.editor).to_vec(),
            None => Vec::new(),
        };
        let Some(workspace) = &mut self.workspace else { return here };
        let mut peers = workspace.peers();
        for peer in here {
            match peers.iter_mut().find(|p| p.name == peer.name && p.colour == peer.colour) {
                Some(p) => (p.cursor, p.top) = (peer.cursor, peer.top),
                None => peers.push(peer),
            }
        }
        peers
    }

    /// Who this user is, as the presence list shows them: name and colour.
    pub(super) fn me(&mut self) -> Option<(String, Rgb)> {
        let i = self.focused_index();
        let options = match (&self.buffers[i].shared, &self.workspace) {
            (Some(shared), _) => shared.options(),
            (None, Some(workspace)) => workspace.options(),
            (None, None) => return None,
        };
        let colour = Rgb::parse(&options.color).unwrap_or(self.theme.ui.foreground);
        Some((options.name.clone(), colour))
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

    fn start_following(&mut self, peer: &Peer) {
        let buffer = self.splits.focused_pane().buffer;
        let (name, colour) = (peer.name.clone(), peer.colour);
        self.follow = Some(Follow { buffer, name, colour, lasts: Lasts::UntilStopped });
        // Their buffer first: the message goes to the editor in front.
        self.follow_peer();
        let text = format!("following {} (any key stops)", peer.name);
        self.editor_mut().notify(text, MessageKind::Info);
    }

    /// Moves the cursor to `peer`'s, once (in a workspace, in their file).
    fn go_to(&mut self, peer: &Peer) {
        if self.workspace.is_some() && peer.cursor.is_none() && peer.file.is_some() {
            let buffer = self.splits.focused_pane().buffer;
            let (name, colour) = (peer.name.clone(), peer.colour);
            self.follow = Some(Follow { buffer, name, colour, lasts: Lasts::Once });
            return self.follow_peer();
        }
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
        if self.follow_in_workspace(&follow) {
            return;
        }
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

impl App {
    /// Follows a user the open workspace knows: into the file its manifest says is in front of them, opened here
    /// when it is not yet. Returns false when there is no workspace or they are not in it (then they are followed
    /// from document to document as usual).
    fn follow_in_workspace(&mut self, follow: &Follow) -> bool {
        let Some(workspace) = &mut self.workspace else { return false };
        if !workspace.is_here(&follow.name, follow.colour) {
            return false;
        }
        let Some(id) = workspace.location_of(&follow.name, follow.colour) else {
            // In the workspace but in none of its files: stay where we are.
            return true;
        };
        let url = workspace.url_of(&id);
        let buffer = match self.shared_buffer(&url) {
            Some(buffer) => buffer,
            None => {
                self.open_document(&url);
                match self.shared_buffer(&url) {
                    Some(buffer) => buffer,
                    None => {
                        // It cannot be opened (the message line says why): following would retry forever.
                        self.follow = None;
                        return true;
                    }
                }
            }
        };
        if buffer != self.splits.focused_pane().buffer {
            self.show_buffer(buffer);
        }
        if let Some(f) = &mut self.follow {
            f.buffer = buffer;
        }
        // Their cursor in the file, once its presence arrived.
        let Some(i) = self.index_of(buffer) else { return true };
        let slot = &mut self.buffers[i];
        let Some(shared) = &mut slot.shared else { return true };
        let peers = shared.collab().peers(&slot.editor);
        let Some(peer) =
            peers.iter().find(|p| p.name == follow.name && p.colour == follow.colour).cloned()
        else {
            return true;
        };
        let editor = self.editor_mut();
        match follow.lasts {
            Lasts::UntilStopped => {
                if let Some(top) = peer.top {
                    editor.scroll_to_pos(top);
                }
                if let Some((_, head)) = peer.cursor {
                    editor.reveal(head);
                }
            }
            Lasts::Once => {
                if let Some((_, head)) = peer.cursor {
                    editor.set_selection(Selection::point(head));
                    editor.reveal(head);
                }
                self.follow = None;
            }
        }
        true
    }
}
