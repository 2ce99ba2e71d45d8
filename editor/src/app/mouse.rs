//! Mouse input: clicks, drags and the wheel, mapped to the pane under the pointer.

use super::*;

impl App {
    pub(super) fn mouse(&mut self, m: MouseEvent) {
        if self.overlay.is_some() {
            return;
        }
        let layout = self.layout_area();
        let rects = self.splits.rects(layout);
        let under = rects.iter().find(|(_, r)| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        });
        let (id, rect) = match m.kind {
            MouseKind::Drag | MouseKind::Up => {
                let Some(drag) = self.drag else { return };
                let Some(found) = rects.iter().find(|(id, _)| *id == drag) else { return };
                *found
            }
            _ => match under {
                Some(found) => *found,
                None => return,
            },
        };
        let Some(pane) = self.splits.pane(id) else { return };
        let Some(i) = self.index_of(pane.buffer) else { return };
        if m.kind == MouseKind::Down && id != self.splits.focused() {
            let before = self.splits.focused();
            self.splits.focus(id);
            self.focus_changed(before);
        }
        match m.kind {
            MouseKind::Down => self.drag = Some(id),
            MouseKind::Up => self.drag = None,
            _ => {}
        }
        // Relative to the pane; a drag past its edge stays on the edge row, which scrolls.
        let text_rows = rect.height.saturating_sub(1).max(1);
        let column = m.column.saturating_sub(rect.x).min(rect.width.saturating_sub(1));
        let row = if m.row < rect.y { 0 } else { (m.row - rect.y).min(text_rows - 1) };
        let local = MouseEvent { column, row, ..m };
        let on_status_bar = m.row >= rect.y + text_rows;
        let editor = &mut self.buffers[i].editor;
        editor.with_view(pane.view, |ed| {
            if m.kind != MouseKind::Down || !matches!(ed.mode(), Mode::Normal) {
                return ed.handle_mouse(local);
            }
            if on_status_bar {
                return;
            }
            let pos = ed.screen_to_pos(local.column, local.row);
            match (m.alt, m.clicks) {
                (true, _) => ed.toggle_cursor_at(pos),
                (false, 2) => ed.select_word_at(pos),
                (false, 3..) => ed.select_line_at(pos),
                _ => {
                    ed.clear_cursors();
                    ed.handle_mouse(local);
                }
            }
        });
    }
}
