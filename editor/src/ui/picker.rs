//! Drawing the fuzzy picker: a box over most of the screen with the query, the best matches (the highlighted one
//! marked) on the left and the highlighted item's preview on the right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::rgb;
use crate::app::picker::PickerView;
use crate::theme::Theme;

/// Draws `picker` over `area`; returns where the cursor goes (the end of the query).
pub fn render_picker(
    picker: &PickerView<'_>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Option<(u16, u16)> {
    let ui = &theme.ui;
    let margin_x = area.width / 16;
    let margin_y = area.height / 10;
    let frame = Rect {
        x: area.x + margin_x,
        y: area.y + margin_y,
        width: area.width.saturating_sub(2 * margin_x),
        height: area.height.saturating_sub(2 * margin_y),
    };
    if frame.width < 10 || frame.height < 4 {
        return None;
    }
    let base = Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.help_background));
    buf.set_style(frame, base);
    let width = usize::from(frame.width);
    let (matched, seen) = picker.counts;
    let title = format!(" {} — {matched}/{seen} (Enter opens, Esc closes) ", picker.title);
    buf.set_stringn(
        frame.x,
        frame.y,
        &title,
        width,
        base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
    );
    let prompt = format!("> {}", picker.query);
    let (end_x, _) =
        buf.set_stringn(frame.x, frame.y + 1, &prompt, width, base.add_modifier(Modifier::BOLD));
    let list = Rect { y: frame.y + 2, height: frame.height - 2, width: frame.width / 2, ..frame };
    let preview = Rect { x: list.x + list.width + 1, width: frame.width - list.width - 1, ..list };
    let rows = usize::from(list.height);
    let first = picker.selected.saturating_sub(rows.saturating_sub(1));
    for (i, label) in picker.rows.iter().enumerate().skip(first).take(rows) {
        let y = list.y + (i - first) as u16;
        let style = if i == picker.selected { base.bg(rgb(ui.selection)) } else { base };
        if i == picker.selected {
            buf.set_style(Rect { y, height: 1, ..list }, style);
        }
        buf.set_stringn(list.x + 1, y, label, usize::from(list.width.saturating_sub(1)), style);
    }
    if let Some(text) = &picker.preview {
        let style = base.fg(rgb(ui.gutter_current));
        for (i, line) in text.lines().take(usize::from(preview.height)).enumerate() {
            let shown: String = line.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
            buf.set_stringn(
                preview.x,
                preview.y + i as u16,
                shown,
                usize::from(preview.width),
                style,
            );
        }
    }
    Some((end_x.min(frame.x + frame.width - 1), frame.y + 1))
}
