//! The legend of the authorship colouring: who wrote the text, each name in the colour its text
//! is tinted with, on the last text row of a window, right-aligned above its status bar.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::UnicodeWidthStr;

use super::rgb;
use crate::theme::{Rgb, Theme};

/// Draws the legend over the bottom right of `window` (its text rows, then its status bar):
/// `authors` with their colours, or that the server is being asked (`None`). Authors who do not
/// fit are counted (`+2`).
pub fn render_authors(
    authors: Option<&[(String, Rgb)]>,
    theme: &Theme,
    window: Rect,
    buf: &mut Buffer,
) {
    if window.height < 2 || window.width < 12 {
        return;
    }
    let ui = &theme.ui;
    let base = Style::default().fg(rgb(ui.status_foreground)).bg(rgb(ui.status_background));
    let room = usize::from(window.width);
    let mut pieces: Vec<(String, Style)> = vec![(" authors:".into(), base)];
    match authors {
        None => pieces.push((" asking the server… ".into(), base)),
        Some([]) => pieces.push((" none known ".into(), base)),
        Some(authors) => {
            for (shown, (name, colour)) in authors.iter().enumerate() {
                let piece = format!(" ● {name}");
                let more = authors.len() - shown;
                let after = if more > 1 { format!(" +{}", more - 1).width() } else { 0 };
                if width(&pieces) + piece.width() + after + 1 > room {
                    pieces.push((format!(" +{more}"), base));
                    break;
                }
                pieces.push((piece, base.fg(rgb(*colour))));
            }
            pieces.push((" ".into(), base));
        }
    }
    let total = width(&pieces).min(room);
    let mut x = window.x + (room - total) as u16;
    let y = window.y + window.height - 2;
    let end = window.x + window.width;
    for (text, style) in &pieces {
        let left = usize::from(end.saturating_sub(x));
        let (next, _) = buf.set_stringn(x, y, text, left, *style);
        x = next;
    }
}

fn width(pieces: &[(String, Style)]) -> usize {
    pieces.iter().map(|(t, _)| t.width()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(authors: Option<&[(String, Rgb)]>, width: u16) -> (String, Buffer) {
        let theme = crate::Config::default().load_theme().unwrap();
        let area = Rect::new(0, 0, width, 3);
        let mut buf = Buffer::empty(area);
        render_authors(authors, &theme, area, &mut buf);
        let text = (0..width).map(|x| buf[(x, 1)].symbol().to_owned()).collect::<String>();
        (text, buf)
    }

    #[test]
    fn names_each_author_in_their_colour_right_aligned() {
        let authors = [("ada".to_owned(), Rgb(200, 0, 0)), ("李".to_owned(), Rgb(0, 0, 200))];
        let (text, buf) = row(Some(&authors), 30);
        assert_eq!(text.trim(), "authors: ● ada ● 李");
        assert_eq!(text.find("authors"), Some(10), "{text:?}: right-aligned, 21 cells");
        let at = |needle: &str| text.find(needle).map(|b| text[..b].chars().count() as u16);
        assert_eq!(buf[(at("ada").unwrap(), 1)].fg, rgb(Rgb(200, 0, 0)));
        assert_eq!(buf[(at("李").unwrap(), 1)].fg, rgb(Rgb(0, 0, 200)));
    }

    #[test]
    fn authors_who_do_not_fit_are_counted_and_a_pending_answer_says_so() {
        let authors: Vec<(String, Rgb)> =
            ["ada", "bob", "carl", "dora"].iter().map(|n| (n.to_string(), Rgb(1, 2, 3))).collect();
        let (text, _) = row(Some(&authors), 25);
        assert_eq!(text, " authors: ● ada ● bob +2 ");
        assert!(row(None, 40).0.contains("authors: asking the server…"));
        assert!(row(Some(&[]), 40).0.ends_with("authors: none known "));
    }
}
