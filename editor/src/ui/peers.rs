//! The presence list: who is in a shared document, in their colours, in the top right corner.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::rgb;
use crate::collab::PeerView;
use crate::theme::{Rgb, Theme};

/// Draws the list of users over the top right of `area`: `me` (name, colour) first, then `peers`, the one at
/// index `selected` highlighted (Enter follows them, G goes to them).
pub fn render_peers(
    me: (&str, Rgb),
    peers: &[PeerView],
    selected: Option<usize>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let ui = &theme.ui;
    let mut rows = vec![(format!("● {} (you)", me.0), me.1)];
    rows.extend(peers.iter().map(|p| match &p.file {
        // In a workspace: the file in front of them.
        Some(file) => (format!("● {}  {file}", p.name), p.colour),
        None => (format!("● {}", p.name), p.colour),
    }));
    let width = rows.iter().map(|(r, _)| r.chars().count()).max().unwrap_or(0) as u16 + 2;
    let width = width.max(if peers.is_empty() { 12 } else { 36 }).min(area.width);
    let height = (rows.len() as u16 + 1).min(area.height.saturating_sub(2));
    let x = area.x + area.width - width;
    let base = Style::default().fg(rgb(ui.status_foreground)).bg(rgb(ui.status_background));
    buf.set_style(Rect { x, y: area.y, width, height }, base);
    let title = if peers.is_empty() { "here:" } else { "here (Enter follows, G goes to):" };
    buf.set_stringn(x + 1, area.y, title, usize::from(width - 1), base);
    for (i, (row, colour)) in rows.iter().enumerate().take(usize::from(height.saturating_sub(1))) {
        let y = area.y + 1 + i as u16;
        let mut style = base.fg(rgb(*colour));
        if i > 0 && selected == Some(i - 1) {
            style = style.bg(rgb(ui.selection));
            buf.set_style(Rect { x, y, width, height: 1 }, style);
        }
        buf.set_stringn(x + 1, y, row, usize::from(width - 1), style);
    }
}
