//! Drawing the history panel over the whole text area: a title, the versions (the highlighted
//! one marked), then the current text and the highlighted version side by side — in the current
//! text what a restore would remove is struck through on the error colour, in the version what
//! it would bring back is on the search-match colour — and a bottom line for questions and
//! outcomes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::{blend, rgb};
use crate::app::history::HistoryView;
use crate::theme::Theme;

/// Draws `view` over `area`; returns where the cursor goes (after a name being typed).
pub fn render_history(
    view: &HistoryView,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Option<(u16, u16)> {
    let ui = &theme.ui;
    if area.width < 20 || area.height < 8 {
        return None;
    }
    let base = Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.help_background));
    // Over the text and its status bar: nothing of them shows through.
    ratatui::widgets::Widget::render(ratatui::widgets::Clear, area, buf);
    buf.set_style(area, base);
    let width = usize::from(area.width);
    let bar = base.add_modifier(Modifier::BOLD | Modifier::REVERSED);
    buf.set_style(Rect { height: 1, ..area }, bar);
    buf.set_stringn(area.x, area.y, format!(" {}", view.title), width, bar);

    // The list: up to a third of the height, scrolled to keep the highlighted row in sight.
    let list_rows = (view.rows.len().max(1) as u16).min((area.height - 3) / 3).max(1);
    let first = view.selected.saturating_sub(usize::from(list_rows) - 1);
    for (i, row) in view.rows.iter().enumerate().skip(first).take(usize::from(list_rows)) {
        let y = area.y + 1 + (i - first) as u16;
        let style = if i == view.selected { base.bg(rgb(ui.selection)) } else { base };
        buf.set_style(Rect { y, height: 1, ..area }, style);
        buf.set_stringn(area.x + 1, y, row, width.saturating_sub(1), style);
    }

    // Headings, then the two texts side by side.
    let heading_y = area.y + 1 + list_rows;
    let half = area.width / 2;
    let heading = base.fg(rgb(ui.status_foreground)).bg(rgb(ui.status_background));
    buf.set_style(Rect { y: heading_y, height: 1, ..area }, heading);
    buf.set_stringn(area.x + 1, heading_y, "now", usize::from(half), heading);
    let right = area.x + half + 1;
    let right_width = usize::from(area.width - half - 1);
    buf.set_stringn(right, heading_y, &view.version_label, right_width, heading);
    let text_y = heading_y + 1;
    let status_y = area.y + area.height - 1;
    let text_rows = usize::from(status_y - text_y);
    let removed =
        base.bg(rgb(blend(ui.error, ui.help_background))).add_modifier(Modifier::CROSSED_OUT);
    let added = base.bg(rgb(ui.search_match)).fg(rgb(ui.background));
    let columns = [
        (area.x + 1, usize::from(half.saturating_sub(2)), &view.current, removed),
        (right, right_width, &view.version, added),
    ];
    for (x, room, lines, marked) in columns {
        for (row, pieces) in lines.iter().take(text_rows).enumerate() {
            let mut at = x;
            let mut left = room;
            for (text, is_marked) in pieces {
                if left == 0 {
                    break;
                }
                let style = if *is_marked { marked } else { base };
                let (end, _) = buf.set_stringn(at, text_y + row as u16, text, left, style);
                left = left.saturating_sub(usize::from(end - at));
                at = end;
            }
        }
    }
    let separator = base.fg(rgb(ui.gutter));
    for y in heading_y + 1..status_y {
        buf[(area.x + half, y)].set_symbol("│").set_style(separator);
    }

    buf.set_style(Rect { y: status_y, height: 1, ..area }, bar);
    let (end, _) = buf.set_stringn(area.x, status_y, &view.status, width, bar);
    view.typing.then_some((end.min(area.x + area.width - 1), status_y))
}
