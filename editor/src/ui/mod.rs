//! Drawing the editor with ratatui, and (in [`terminal`]) running it in a real terminal with crossterm.
//!
//! Rendering reads the model and touches only the visible lines, so its cost does not depend on the file size.
//! Buffer positions are char offsets; screen positions are cells of the area drawn into.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use unicode_width::UnicodeWidthStr;

use crate::editor::{Editor, MessageKind, Mode};
use crate::highlight::{Highlighter, Span};
use crate::keymap::HelpLine;
use crate::keys::Keys;
use crate::layout::Glyphs;
use crate::text;
use crate::theme::{Rgb, Theme};

mod authors;
mod history;
#[cfg(unix)]
mod input_parser;
mod peers;
mod picker;
pub mod terminal;
#[cfg(unix)]
mod tty;

pub use crate::decoration::{AuthorSpan, Decoration};
pub use authors::render_authors;
pub use history::render_history;
#[cfg(unix)]
pub(crate) use input_parser::TermEvent;
pub use peers::render_peers;
pub use picker::render_picker;
#[cfg(unix)]
pub(crate) use tty::TtyInput;

/// Everything drawn besides the editor itself.
pub struct RenderInput<'a> {
    /// Colours.
    pub theme: &'a Theme,
    /// Other users' cursors.
    pub decorations: &'a [Decoration],
    /// Who wrote the text on screen, in text order (the authorship colouring; empty when off).
    pub authors: &'a [AuthorSpan],
    /// Connection state for the status bar (the collaborative client fills it).
    pub connection: Option<&'a str>,
    /// Syntax name for the status bar.
    pub syntax: Option<&'a str>,
    /// Rows of the help screen (the front end owns the keymap; see [`help_lines`]).
    pub help: &'a [HelpLine],
}

/// The help rows `render` needs for `ed`: the keymap's, only while the help screen is open.
pub fn help_lines(ed: &Editor, keys: &Keys) -> Vec<HelpLine> {
    if matches!(ed.mode(), Mode::Help(_)) { keys.help_lines() } else { Vec::new() }
}

/// The terminal colour of `c`.
pub(crate) fn rgb(c: Rgb) -> Color {
    Color::Rgb(c.0, c.1, c.2)
}

fn blend(a: Rgb, b: Rgb) -> Rgb {
    let mix = |x: u8, y: u8| ((u16::from(x) + 2 * u16::from(y)) / 3) as u8;
    Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The background of text written by the author of colour `a` on background `b`: lighter than
/// a selection in that colour ([`blend`]), so that a user's selection still shows over it.
pub(crate) fn author_tint(a: Rgb, b: Rgb) -> Rgb {
    let mix = |x: u8, y: u8| ((u16::from(x) + 3 * u16::from(y)) / 4) as u8;
    Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws `ed` into `area` of `buf` and returns where the terminal cursor belongs.
pub fn render(
    ed: &Editor,
    highlighter: Option<&mut Highlighter>,
    input: &RenderInput<'_>,
    area: Rect,
    buf: &mut Buffer,
) -> Option<(u16, u16)> {
    let ui = &input.theme.ui;
    buf.set_style(area, Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.background)));
    if area.height < 3 || area.width < 8 {
        return None;
    }
    let window = Rect { height: area.height - 1, ..area };
    let mut cursor = render_window(ed, highlighter, input, window, buf, WindowFocus::Focused);
    if let Some(c) = render_message(
        ed,
        input.theme,
        Rect { y: area.y + area.height - 1, height: 1, ..area },
        buf,
    ) {
        cursor = Some(c);
    }
    cursor
}

/// Whether a window has the keyboard: its status bar says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFocus {
    /// Keys go to this window.
    Focused,
    /// Another window has the keys.
    Unfocused,
}

/// Draws one window onto `ed`: its text (or the help screen) and, on `area`'s last row, its status bar. Returns
/// where the cursor is, for the focused window.
pub fn render_window(
    ed: &Editor,
    highlighter: Option<&mut Highlighter>,
    input: &RenderInput<'_>,
    area: Rect,
    buf: &mut Buffer,
    focus: WindowFocus,
) -> Option<(u16, u16)> {
    let ui = &input.theme.ui;
    buf.set_style(area, Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.background)));
    if area.height < 2 || area.width < 4 {
        return None;
    }
    let text_area = Rect { height: area.height - 1, ..area };
    let cursor = if let Mode::Help(scroll) = ed.mode() {
        render_help(input.help, *scroll, input.theme, text_area, buf);
        None
    } else {
        render_text(ed, highlighter, input, text_area, buf)
    };
    render_status(ed, input, Rect { y: area.y + area.height - 1, height: 1, ..area }, buf, focus);
    cursor.filter(|_| focus == WindowFocus::Focused)
}

struct Row {
    line: usize,
    first_row: usize,
    y: u16,
}

fn render_text(
    ed: &Editor,
    highlighter: Option<&mut Highlighter>,
    input: &RenderInput<'_>,
    area: Rect,
    buf: &mut Buffer,
) -> Option<(u16, u16)> {
    let ui = &input.theme.ui;
    let rope = ed.rope();
    let view = ed.view();
    let opts = ed.layout_options();
    let gutter = ed.gutter_width().min(area.width.saturating_sub(1));
    let text_x = area.x + gutter;
    let text_w = usize::from(area.width - gutter);
    let height = usize::from(area.height);
    let last_line = rope.len_lines();
    let visible_lines = view.top_line..(view.top_line + height).min(last_line);
    let spans: Vec<Arc<[Span]>> = match highlighter {
        Some(h) => h.highlight(rope, visible_lines.clone()),
        None => Vec::new(),
    };
    let sel = ed.selection();
    let sel_range = sel.range();
    let head_line = rope.char_to_line(sel.head);
    let brackets = ed.bracket_pair();
    // The other cursors' selections that can be on screen (the first visible line to the last).
    let shown = rope.line_to_char(view.top_line)..rope.line_to_char(visible_lines.end);
    let others: Vec<std::ops::Range<usize>> = ed
        .other_cursors()
        .iter()
        .map(|s| s.range())
        .filter(|r| !r.is_empty() && r.start <= shown.end && r.end >= shown.start)
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    let mut y = 0usize;
    let mut line = view.top_line;
    // Glyphs come in text order, so the authors' spans are walked once.
    let mut author_i = 0;
    while y < height && line < last_line {
        let start = rope.line_to_char(line);
        let skip_rows = if line == view.top_line { view.top_row } else { 0 };
        // A long line is laid out only from a checkpoint near the visible cells (see crate::long_layout).
        let first_cell = if opts.wrap.is_some() { (skip_rows, 0) } else { (0, view.left_col) };
        let window = ed.line_window(line, first_cell, (height - y, text_w));
        rows.push(Row { line, first_row: skip_rows, y: area.y + y as u16 });
        if gutter > 0 {
            let number = format!("{:>w$} ", line + 1, w = usize::from(gutter) - 1);
            let fg = if line == head_line { ui.gutter_current } else { ui.gutter };
            buf.set_stringn(
                area.x,
                area.y + y as u16,
                number,
                usize::from(gutter),
                Style::default().fg(rgb(fg)),
            );
        }
        let line_spans = spans.get(line - view.top_line).cloned().unwrap_or_else(|| Arc::from([]));
        let matches = ed
            .search_highlight()
            .map(|q| q.matches_in(&window.text, start + window.from.offset))
            .unwrap_or_default();
        let mut span_i = 0;
        let mut used_rows = 1;
        let mut end_cell = (0usize, 0usize);
        for g in Glyphs::resume(&window.text, opts, window.from) {
            end_cell = (g.row, g.col + g.width);
            used_rows = g.row + 1;
            if g.row < skip_rows {
                continue;
            }
            let row_y = y + g.row - skip_rows;
            if row_y >= height {
                break;
            }
            let col = if opts.wrap.is_some() { g.col } else { g.col.wrapping_sub(view.left_col) };
            if opts.wrap.is_none() && g.col < view.left_col {
                continue;
            }
            if col >= text_w {
                // Past the right edge: the rest of this row is hidden (only a mis-sized area gets here with wrap).
                if opts.wrap.is_none() {
                    break;
                }
                continue;
            }
            let pos = start + g.offset;
            while span_i < line_spans.len() && line_spans[span_i].range.end <= g.offset {
                span_i += 1;
            }
            let mut style = Style::default();
            if let Some(s) = line_spans.get(span_i).filter(|s| s.range.start <= g.offset) {
                style = style.fg(rgb(s.fg));
            }
            while input.authors.get(author_i).is_some_and(|a| a.range.end <= pos) {
                author_i += 1;
            }
            if let Some(a) = input.authors.get(author_i).filter(|a| a.range.start <= pos) {
                style = style.bg(rgb(author_tint(a.colour, ui.background)));
            }
            if matches.iter().any(|m| m.contains(&pos)) {
                style = style.bg(rgb(ui.search_match));
            }
            for d in input.decorations {
                if d.selection.as_ref().is_some_and(|r| r.contains(&pos)) {
                    style = style.bg(rgb(blend(d.colour, ui.background)));
                }
            }
            if sel_range.contains(&pos) || others.iter().any(|r| r.contains(&pos)) {
                style = style.bg(rgb(ui.selection));
            }
            if brackets.is_some_and(|(a, b)| pos == a || pos == b) {
                style = style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
            }
            draw_glyph(
                buf,
                text_x + col as u16,
                area.y + row_y as u16,
                g.text,
                g.width,
                text_w - col,
                style,
            );
        }
        // A selected line break shows as one highlighted cell after the line (when the line's end was laid out).
        let content_end = text::content_len(rope.line(line));
        let ends_selected = sel_range.contains(&(start + content_end))
            && line + 1 < last_line
            && window.to == content_end;
        if let Some(wrap) = opts.wrap
            && end_cell.1 >= wrap
        {
            end_cell = (end_cell.0 + 1, 0);
            used_rows = used_rows.max(end_cell.0 + 1);
        }
        if ends_selected && end_cell.0 >= skip_rows {
            let col = end_cell.1.wrapping_sub(if opts.wrap.is_some() { 0 } else { view.left_col });
            let row_y = y + end_cell.0 - skip_rows;
            if col < text_w && row_y < height {
                buf[(text_x + col as u16, area.y + row_y as u16)].set_bg(rgb(ui.selection));
            }
        }
        y += used_rows.saturating_sub(skip_rows).max(1);
        line += 1;
    }
    let text_area = Rect { x: text_x, width: area.width - gutter, ..area };
    for d in input.decorations {
        if let Some((x, y)) = screen_pos(ed, &rows, d.pos, area, gutter) {
            buf[(x, y)].set_bg(rgb(d.colour)).set_fg(rgb(ui.background));
            if let Some((fx, fy)) = flag_place(buf, text_area, (x, y), d.label.width()) {
                let style = Style::default()
                    .bg(rgb(d.colour))
                    .fg(rgb(ui.background))
                    .add_modifier(Modifier::BOLD);
                buf.set_stringn(fx, fy, &d.label, d.label.width(), style);
            }
        }
    }
    for other in ed.other_cursors() {
        if (shown.start..=shown.end).contains(&other.head)
            && let Some((x, y)) = screen_pos(ed, &rows, other.head, area, gutter)
        {
            buf[(x, y)].set_bg(rgb(ui.foreground)).set_fg(rgb(ui.background));
        }
    }
    screen_pos(ed, &rows, sel.head, area, gutter)
}

/// Draws one grapheme; tabs become spaces, control chars their Unicode picture, lone combining marks sit on a
/// dotted circle. Wide glyphs cut by the right edge become spaces.
fn draw_glyph(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    text: &str,
    width: usize,
    room: usize,
    style: Style,
) {
    let first = text.chars().next().unwrap_or(' ');
    let pictured;
    let symbol = if text == "\t" || width > room {
        " "
    } else if first.is_control() {
        pictured = char::from_u32(0x2400 + u32::from(first))
            .filter(|_| u32::from(first) < 0x20)
            .unwrap_or('\u{FFFD}');
        return draw_cells(buf, x, y, &pictured.to_string(), 1, style);
    } else if text.width() == 0 {
        pictured = '\u{25CC}';
        return draw_cells(buf, x, y, &format!("{pictured}{text}"), 1, style);
    } else {
        text
    };
    if symbol == " " {
        for i in 0..width.min(room) as u16 {
            buf[(x + i, y)].set_symbol(" ").set_style(style);
        }
    } else {
        draw_cells(buf, x, y, symbol, width, style);
    }
}

fn draw_cells(buf: &mut Buffer, x: u16, y: u16, symbol: &str, width: usize, style: Style) {
    buf[(x, y)].set_symbol(symbol).set_style(style);
    for i in 1..width as u16 {
        buf[(x + i, y)].reset();
        buf[(x + i, y)].set_style(style);
    }
}

/// Where another user's name flag goes for their cursor at `(x, y)`, so that it never covers text (as Zed and
/// VS Code Live Share place theirs): after the end of the cursor's row, else on blank cells just above or below
/// the cursor; `None` when there is no such room (the cursor keeps its colour).
fn flag_place(buf: &Buffer, text: Rect, (x, y): (u16, u16), width: usize) -> Option<(u16, u16)> {
    let width = u16::try_from(width).ok()?;
    let right = text.x + text.width;
    let blank = |cx: u16, cy: u16| buf[(cx, cy)].symbol() == " ";
    // After the row's last glyph, one blank cell apart.
    let last = (text.x..right).rev().find(|&cx| !blank(cx, y));
    let after = last.map_or(x + 1, |l| (l + 2).max(x + 1));
    if after + width <= right {
        return Some((after, y));
    }
    let fits = |cy: u16| x + width <= right && (x..x + width).all(|cx| blank(cx, cy));
    [
        y.checked_sub(1).filter(|&up| up >= text.y),
        Some(y + 1).filter(|&down| down < text.y + text.height),
    ]
    .into_iter()
    .flatten()
    .find(|&cy| fits(cy))
    .map(|cy| (x, cy))
}

fn screen_pos(
    ed: &Editor,
    rows: &[Row],
    pos: usize,
    area: Rect,
    gutter: u16,
) -> Option<(u16, u16)> {
    let rope = ed.rope();
    let line = rope.char_to_line(pos.min(rope.len_chars()));
    let row = rows.iter().find(|r| r.line == line)?;
    let offset = pos - rope.line_to_char(line);
    let (vrow, col) = ed.line_position(line, offset);
    let vrow = vrow.checked_sub(row.first_row)?;
    let col = if ed.options().soft_wrap { col } else { col.checked_sub(ed.view().left_col)? };
    let y = row.y + u16::try_from(vrow).ok()?;
    let x = area.x + gutter + u16::try_from(col).ok()?;
    (y < area.y + area.height && x < area.x + area.width).then_some((x, y))
}

fn render_status(
    ed: &Editor,
    input: &RenderInput<'_>,
    area: Rect,
    buf: &mut Buffer,
    focus: WindowFocus,
) {
    let ui = &input.theme.ui;
    let style = match focus {
        WindowFocus::Focused => {
            Style::default().fg(rgb(ui.status_foreground)).bg(rgb(ui.status_background))
        }
        WindowFocus::Unfocused => Style::default().fg(rgb(ui.gutter)).bg(rgb(ui.status_background)),
    };
    buf.set_style(area, style);
    let s = ed.status();
    let flags = format!(
        "{}{}",
        if s.modified { " [+]" } else { "" },
        if s.read_only {
            " [read-only]"
        } else if s.write_protected {
            " [RO]"
        } else {
            ""
        },
    );
    let position = format!("{}:{}", s.line, s.column);
    let parts = StatusParts {
        name: &s.name,
        flags: &flags,
        mode: s.mode,
        position: &position,
        connection: input.connection,
        details: [Some(s.line_ending.label()), Some(s.encoding), input.syntax],
    };
    let width = usize::from(area.width);
    let (left, right) = parts.fit(width);
    let right_w = right.width().min(width);
    buf.set_stringn(
        area.x,
        area.y,
        &left,
        width.saturating_sub(right_w + 1),
        style.add_modifier(Modifier::BOLD),
    );
    buf.set_stringn(area.x + (width - right_w) as u16, area.y, &right, right_w, style);
}

/// What the status bar shows, by importance when the terminal is narrow: the modified and read-only flags and
/// the cursor position always; then the connection, the mode and the details (line ending, encoding, syntax) as
/// room allows; the file name fills what is left, shortened from its start.
struct StatusParts<'a> {
    name: &'a str,
    flags: &'a str,
    mode: &'a str,
    position: &'a str,
    connection: Option<&'a str>,
    /// Left to right, dropped from the right first.
    details: [Option<&'a str>; 3],
}

impl StatusParts<'_> {
    /// The left and right texts for `width` cells.
    fn fit(&self, width: usize) -> (String, String) {
        let mut details: Vec<&str> = self.details.iter().flatten().copied().collect();
        let mut connection = self.connection;
        let mut mode = Some(self.mode);
        loop {
            let mut right: Vec<&str> = vec![self.position];
            right.extend(&details);
            right.extend(connection);
            let right = format!("{} ", right.join("  "));
            let mode_text = mode.map(|m| format!("  {m}")).unwrap_or_default();
            // A name of at least a few cells, the flags, the mode, one space before the right part.
            let fixed = 1 + self.flags.width() + mode_text.width() + 1 + right.width();
            let name_room = width.saturating_sub(fixed);
            let enough = name_room >= self.name.width().min(8);
            if enough || (details.is_empty() && connection.is_none() && mode.is_none()) {
                let name = shorten_start(self.name, name_room);
                return (format!(" {name}{}{mode_text}", self.flags), right);
            }
            if details.pop().is_none() && mode.take().is_none() {
                connection = None;
            }
        }
    }
}

/// `text` in at most `room` cells: its end kept, an ellipsis for what was cut from its start.
fn shorten_start(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_owned();
    }
    if room == 0 {
        return String::new();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in text.chars().rev() {
        let w = c.to_string().width();
        if used + w > room {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// A question for `width` cells: its choices (from the first `(x)` on) are kept whole and the text before them is
/// shortened from its start, so a long file name goes first.
fn fit_question(question: &str, width: usize) -> String {
    if question.width() <= width {
        return question.to_owned();
    }
    let bytes = question.as_bytes();
    let choices = (0..bytes.len().saturating_sub(2))
        .find(|&i| bytes[i] == b'(' && bytes[i + 2] == b')' && bytes[i + 1].is_ascii_alphabetic());
    match choices {
        Some(i) => {
            let (text, choices) = question.split_at(i);
            let room = width.saturating_sub(choices.width() + 1);
            format!("{} {choices}", shorten_start(text.trim_end(), room)).trim_start().to_owned()
        }
        None => question.to_owned(),
    }
}

/// Draws the message line: `ed`'s prompt, question or message. Returns where the cursor is while a prompt is open.
pub fn render_message(
    ed: &Editor,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Option<(u16, u16)> {
    let ui = &theme.ui;
    let width = usize::from(area.width);
    match ed.mode() {
        Mode::Prompt(p) => {
            let label = p.label(ed.search_options());
            let style = Style::default().fg(rgb(ui.message)).add_modifier(Modifier::BOLD);
            let (x, _) = buf.set_stringn(area.x, area.y, &label, width, style);
            let before: String = p.input.chars().take(p.cursor).collect();
            // Keep the prompt's cursor visible by dropping input from the left when it is too long.
            let room = usize::from(area.x + area.width - x).saturating_sub(1);
            let skip = before.width().saturating_sub(room);
            let mut shown = String::new();
            let mut dropped = 0;
            for c in p.input.chars() {
                if dropped < skip {
                    dropped += c.to_string().width();
                    continue;
                }
                shown.push(c);
            }
            // Prefilled input is selected: typing replaces it.
            let input_style = if p.selected {
                Style::default().fg(rgb(ui.background)).bg(rgb(ui.foreground))
            } else {
                Style::default().fg(rgb(ui.foreground))
            };
            buf.set_stringn(x, area.y, &shown, room + 1, input_style);
            let cx = x + (before.width() - skip.min(before.width())) as u16;
            if let Some(m) = ed.message() {
                let text = format!("  {}", m.text);
                let start = x + shown.width() as u16;
                let fg = if m.kind == MessageKind::Error { ui.error } else { ui.message };
                if start < area.x + area.width {
                    let room = usize::from(area.x + area.width - start);
                    buf.set_stringn(start, area.y, &text, room, Style::default().fg(rgb(fg)));
                }
            }
            Some((cx.min(area.x + area.width - 1), area.y))
        }
        Mode::Confirm(c) => {
            let style = Style::default().fg(rgb(ui.message)).add_modifier(Modifier::BOLD);
            buf.set_stringn(area.x, area.y, fit_question(&c.question(), width), width, style);
            None
        }
        _ => {
            if let Some(m) = ed.message() {
                let fg = if m.kind == MessageKind::Error { ui.error } else { ui.message };
                buf.set_stringn(area.x, area.y, &m.text, width, Style::default().fg(rgb(fg)));
            }
            None
        }
    }
}

/// What the help screen says after the keys: how tandem keeps work safe and the units it counts in.
pub const HELP_NOTES: &[&str] = &[
    "Recovery journal: unsaved edits of a file reach the disk within a second, append-only, in journal/ of",
    "  the state dir (Linux: ~/.local/state/tandem/journal; DATA_DIR/journal with --data-dir or",
    "  TANDEM_DATA_DIR), never beside the file. A crash, kill -9 or power cut loses at most the last second;",
    "  SIGTERM, SIGHUP (terminal closed) and SIGQUIT write every unsaved buffer first (an unnamed one to",
    "  journal/rescued/). Reopening the file offers (r)ecover (d)iscard (o)pen read-only; `tandem --recover`",
    "  lists what waits. Saving, or quitting with \"don't save\", removes the journal.",
    "Go to LINE:COL: COL is the display column the status bar shows (tabs expanded, wide chars two).",
    "Prompts: Ctrl-U clears, Alt-Backspace deletes a word, Tab completes a file name, ~ is your home.",
];

fn render_help(lines: &[HelpLine], scroll: usize, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let ui = &theme.ui;
    let base = Style::default().fg(rgb(ui.foreground)).bg(rgb(ui.help_background));
    buf.set_style(area, base);
    let width = usize::from(area.width);
    let title = " tandem — keys (Esc closes, arrows scroll; remap in config.toml [keys]) ";
    buf.set_stringn(
        area.x,
        area.y,
        title,
        width,
        base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
    );
    let key_w = lines.iter().map(|(k, _, _)| k.width()).max().unwrap_or(0).min(width / 3);
    let name_w = lines.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0);
    let keys = lines.iter().map(|(keys, name, help)| {
        (format!(" {keys:<key_w$}  {name:<name_w$}  {help}"), Some(format!(" {keys:<key_w$}")))
    });
    let notes = std::iter::once(String::new())
        .chain(HELP_NOTES.iter().map(|n| format!(" {n}")))
        .map(|n| (n, None));
    for (i, (row, keys)) in
        keys.chain(notes).skip(scroll).take(usize::from(area.height) - 1).enumerate()
    {
        let y = area.y + 1 + i as u16;
        buf.set_stringn(area.x, y, &row, width, base);
        if let Some(keys) = keys {
            let key_style = base.fg(rgb(ui.gutter_current));
            buf.set_stringn(area.x, y, keys, width.min(key_w + 1), key_style);
        }
    }
}

#[cfg(test)]
mod tests;
