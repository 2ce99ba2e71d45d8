//! Buffers in panes: which buffer a pane shows, splitting, moving the focus, closing a buffer
//! (asking first when it has unsaved work).

use super::*;

impl App {
    pub(super) fn cycle_buffer(&mut self, step: usize) {
        let n = self.buffers.len();
        let i = self.focused_index();
        let id = self.buffers[(i + step) % n].id;
        self.show_buffer(id);
    }

    /// Shows buffer `id` in the focused split.
    pub fn show(&mut self, id: BufferId) {
        self.show_buffer(id);
    }

    /// Shows buffer `id` in the focused split, in a view of its own when another split shows it.
    pub(super) fn show_buffer(&mut self, id: BufferId) {
        let focused = self.splits.focused();
        let old = self.splits.focused_pane();
        if old.buffer == id {
            return;
        }
        let Some(i) = self.index_of(id) else { return };
        let shown: Vec<_> =
            self.splits.panes().filter(|(_, p)| p.buffer == id).map(|(_, p)| p.view).collect();
        let editor = &mut self.buffers[i].editor;
        let view = match editor.view_ids().into_iter().find(|v| !shown.contains(v)) {
            Some(free) => free,
            None => editor.add_view(),
        };
        self.splits.set_pane(focused, Pane { buffer: id, view });
        self.release_view(old);
        self.focus_changed(focused);
        self.size_views();
    }

    /// Forgets the view a pane showed when no pane shows it any more and its buffer has
    /// another view in a split.
    pub(super) fn release_view(&mut self, pane: Pane) {
        if self.splits.panes().any(|(_, p)| p == pane) {
            return;
        }
        let others_shown = self.splits.panes().any(|(_, p)| p.buffer == pane.buffer);
        if let Some(i) = self.index_of(pane.buffer)
            && others_shown
        {
            self.buffers[i].editor.remove_view(pane.view);
        }
    }

    pub(super) fn split(&mut self, axis: Axis) {
        let before = self.splits.focused();
        let pane = self.splits.focused_pane();
        let i = self.focused_index();
        let view = self.buffers[i].editor.add_view();
        self.splits.split(axis, Pane { buffer: pane.buffer, view });
        self.focus_changed(before);
    }

    /// The focus moved from pane `before`: the newly focused view becomes its editor's active
    /// one, the clipboard follows, and shared documents learn where this user looks.
    pub(super) fn focus_changed(&mut self, before: PaneId) {
        let now = self.splits.focused_pane();
        let old = self.splits.pane(before).map(|p| p.buffer);
        if let Some(i) = self.index_of(now.buffer) {
            self.buffers[i].editor.focus_view(now.view);
        }
        if let Some(old) = old.filter(|b| *b != now.buffer)
            && let (Some(from), Some(to)) = (self.index_of(old), self.index_of(now.buffer))
        {
            let clipboard = self.buffers[from].editor.take_clipboard();
            self.buffers[to].editor.set_clipboard(clipboard);
        }
        for slot in &mut self.buffers {
            let focused = slot.id == now.buffer;
            if let Some(shared) = &mut slot.shared {
                shared.collab().set_focused(focused);
            }
        }
        if let Some(Overlay::Presence { .. }) = self.overlay {
            self.overlay = None;
        }
    }

    /// Moves on with closing a buffer or quitting, as the answers to "save changes?" come.
    pub(super) fn advance_closing(&mut self) {
        let i = self.focused_index();
        if self.closing.is_none() && self.buffers[i].editor.should_quit() {
            // The quit command, answered (or nothing unsaved) in the focused buffer.
            self.closing = Some(Closing::All(vec![self.buffers[i].id]));
        }
        match self.closing.take() {
            None => {}
            Some(Closing::Buffer(id)) => {
                let Some(i) = self.index_of(id) else { return };
                if self.buffers[i].editor.take_quit() {
                    self.close_buffer(id);
                } else if waiting_for_answer(&self.buffers[i].editor) {
                    self.closing = Some(Closing::Buffer(id));
                }
            }
            Some(Closing::All(mut asked)) => {
                for i in 0..self.buffers.len() {
                    let id = self.buffers[i].id;
                    if self.buffers[i].editor.should_quit() {
                        continue;
                    }
                    if waiting_for_answer(&self.buffers[i].editor) {
                        self.show_buffer(id);
                        self.closing = Some(Closing::All(asked));
                        return;
                    }
                    if asked.contains(&id) {
                        // Cancelled: nobody quits.
                        self.buffers.iter_mut().for_each(|s| {
                            s.editor.take_quit();
                        });
                        return;
                    }
                    asked.push(id);
                    self.buffers[i].editor.quit();
                    if !self.buffers[i].editor.should_quit() {
                        self.show_buffer(id);
                        self.closing = Some(Closing::All(asked));
                        return;
                    }
                }
                self.quit = true;
            }
        }
    }

    /// Closes buffer `id` (it agreed); the splits showing it show another buffer. Closing the
    /// last buffer quits.
    pub(super) fn close_buffer(&mut self, id: BufferId) {
        let Some(i) = self.index_of(id) else { return };
        if self.buffers.len() == 1 {
            self.quit = true;
            return;
        }
        let next = self.buffers[(i + 1) % self.buffers.len()].id;
        let focused = self.splits.focused();
        let showing: Vec<PaneId> =
            self.splits.panes().filter(|(_, p)| p.buffer == id).map(|(p, _)| p).collect();
        for pane in showing {
            self.splits.focus(pane);
            self.show_buffer(next);
        }
        self.splits.focus(focused);
        let slot = self.buffers.remove(i);
        if let Some(follow) = &self.follow
            && follow.buffer == id
        {
            self.follow = None;
        }
        let name = slot.name();
        if let Err(e) = slot.shutdown(now_ms()) {
            tracing::error!(error = %e, "closing a buffer");
        }
        let focused_pane = self.splits.focused_pane();
        if let Some(i) = self.index_of(focused_pane.buffer) {
            self.buffers[i].editor.focus_view(focused_pane.view);
        }
        self.focus_changed(focused);
        self.editor_mut().notify(format!("closed {name}"), MessageKind::Info);
    }
}
