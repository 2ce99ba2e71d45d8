//! Drawing the app: the splits with their buffers, the message line and any overlay.

use super::*;

impl App {
    /// Draws the splits with their buffers (other users' cursors, connection states), the
    /// message line and any overlay; returns where the terminal cursor goes.
    pub fn render(&mut self, area: Rect, buf: &mut Buffer, now: u64) -> Option<(u16, u16)> {
        if area != self.area {
            self.resize(area.width, area.height);
        }
        self.follow_peer();
        let ui = &self.theme.ui;
        buf.set_style(area, Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.background)));
        if area.height < 3 || area.width < 8 {
            return None;
        }
        for slot in &mut self.buffers {
            let damage = slot.editor.take_damage();
            if !matches!(&damage, Ok(lines) if lines.is_empty())
                && let Some(colouring) = self.authorship.get_mut(&slot.id)
            {
                colouring.edited(now);
            }
            if let Some(h) = slot.highlighter.as_mut() {
                h.apply_damage(damage);
            }
        }
        let layout = self.layout_area();
        let focused = self.splits.focused();
        let help = help_lines(self.editor(), &self.keys);
        let mut cursor = None;
        self.visible.clear();
        for (id, rect) in self.splits.rects(layout) {
            let Some(pane) = self.splits.pane(id) else { continue };
            let Some(i) = self.index_of(pane.buffer) else { continue };
            let legend = self.author_legend(i);
            let slot = &mut self.buffers[i];
            self.visible.push(slot.id);
            let (decorations, connection) = (slot.decorations(), slot.connection(now));
            let syntax = slot.highlighter.as_ref().map(|h| h.syntax_name().to_owned());
            let focus = if id == focused { WindowFocus::Focused } else { WindowFocus::Unfocused };
            let highlighter = &mut slot.highlighter;
            let colouring = self.authorship.get(&slot.id);
            let (theme, help) = (&self.theme, if id == focused { &help[..] } else { &[] });
            let at = slot.editor.with_view(pane.view, |ed| {
                fit(ed, rect);
                let authors = match (colouring, &legend) {
                    (Some(colouring), Some(Some(legend))) => {
                        authorship::author_spans(ed, rect.height, colouring.runs(), legend)
                    }
                    _ => Vec::new(),
                };
                let input = RenderInput {
                    theme,
                    decorations: &decorations,
                    authors: &authors,
                    connection: connection.as_deref(),
                    syntax: syntax.as_deref(),
                    help,
                };
                render_window(ed, highlighter.as_mut(), &input, rect, buf, focus)
            });
            // The help screen covers the text, and so the colours' legend.
            if let Some(legend) = &legend
                && !matches!(slot.editor.mode(), Mode::Help(_))
            {
                crate::ui::render_authors(legend.as_deref(), &self.theme, rect, buf);
            }
            cursor = cursor.or(at);
        }
        let separator =
            Style::default().fg(rgb(self.theme.ui.gutter)).bg(rgb(self.theme.ui.background));
        for line in self.splits.separators(layout) {
            for y in line.y..line.y + line.height {
                buf[(line.x, y)].set_symbol("│").set_style(separator);
            }
        }
        let message = Rect { y: area.y + area.height - 1, height: 1, ..area };
        let i = self.focused_index();
        if let Some(c) = render_message(&self.buffers[i].editor, &self.theme, message, buf) {
            cursor = Some(c);
        }
        match &mut self.overlay {
            Some(Overlay::Picker(picker)) => {
                let preview = picker.preview_for(&self.buffers);
                return crate::ui::render_picker(&picker.view(preview), &self.theme, layout, buf);
            }
            Some(Overlay::Presence { selected }) => {
                let selected = *selected;
                if let Some((name, colour)) = self.me() {
                    let peers = self.focused_peers();
                    let selected = (!peers.is_empty()).then(|| selected.min(peers.len() - 1));
                    render_peers((&name, colour), &peers, selected, &self.theme, layout, buf);
                }
            }
            Some(Overlay::History(_)) => return self.render_history(layout, buf),
            None => {}
        }
        cursor
    }
}
