//! The terminal at the edge: crossterm setup and teardown (also on panic), conversion of crossterm's events into
//! the editor's own, and the OSC 52 clipboard. The loop that uses them is [`crate::app::terminal`].

use std::io::{self, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use crossterm::event;
#[cfg(not(unix))]
use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};
use crossterm::{cursor, execute, terminal};

#[cfg(not(unix))]
use crate::input::{Key, KeyEvent, Modifiers};
use crate::input::{MouseEvent, MouseKind};

/// Converts a crossterm key event; `None` for releases and keys tandem does not know. Only where crossterm reads
/// the input (not on Unix: see [`super::input_parser`]).
#[cfg(not(unix))]
pub fn convert_key(ev: event::KeyEvent) -> Option<KeyEvent> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let m = ev.modifiers;
    let mut mods = Modifiers {
        ctrl: m.contains(KeyModifiers::CONTROL),
        alt: m.contains(KeyModifiers::ALT),
        shift: m.contains(KeyModifiers::SHIFT),
    };
    let key = match ev.code {
        KeyCode::Char(c) => {
            // The character's case already carries Shift; with Ctrl or Alt, bindings are written lowercase.
            mods.shift = false;
            Key::Char(if mods.ctrl || mods.alt { c.to_ascii_lowercase() } else { c })
        }
        KeyCode::Enter => Key::Enter,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => {
            // Shift is what makes it BackTab: bindings say "backtab".
            mods.shift = false;
            Key::BackTab
        }
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Insert => Key::Insert,
        KeyCode::Esc => Key::Esc,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    Some(KeyEvent { key, mods })
}

/// Converts a crossterm mouse event; `None` for buttons other than the left one. Only where crossterm reads the
/// input.
#[cfg(not(unix))]
pub fn convert_mouse(ev: event::MouseEvent) -> Option<MouseEvent> {
    let kind = match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => MouseKind::Down,
        MouseEventKind::Drag(MouseButton::Left) => MouseKind::Drag,
        MouseEventKind::Up(MouseButton::Left) => MouseKind::Up,
        MouseEventKind::ScrollUp => MouseKind::ScrollUp,
        MouseEventKind::ScrollDown => MouseKind::ScrollDown,
        _ => return None,
    };
    Some(MouseEvent {
        kind,
        column: ev.column,
        row: ev.row,
        shift: ev.modifiers.contains(KeyModifiers::SHIFT),
        alt: ev.modifiers.contains(KeyModifiers::ALT),
        clicks: 1,
    })
}

/// Longest pause between the clicks of a double or triple click.
const MULTI_CLICK: Duration = Duration::from_millis(400);

/// Counts presses in a row on one cell, since terminals report every press as a single click.
#[derive(Debug, Default)]
pub(crate) struct ClickCounter {
    last: Option<(Instant, u16, u16)>,
    clicks: u8,
}

impl ClickCounter {
    /// Sets `ev.clicks` for a press at `now`: 2 after a press on the same cell just before, 3 after that, then 1
    /// again.
    pub(crate) fn count(&mut self, ev: &mut MouseEvent, now: Instant) {
        if ev.kind != MouseKind::Down {
            return;
        }
        let again = self.last.is_some_and(|(at, column, row)| {
            now.duration_since(at) <= MULTI_CLICK && (column, row) == (ev.column, ev.row)
        });
        self.clicks = if again && self.clicks < 3 { self.clicks + 1 } else { 1 };
        self.last = Some((now, ev.column, ev.row));
        ev.clicks = self.clicks;
    }
}

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        event::DisableBracketedPaste,
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

/// Restores the terminal on every exit path, including unwinding.
pub(crate) struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Whether the terminal reports the mouse to the editor (then the terminal's own selection needs Shift).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mouse {
    /// Clicks, drags and the wheel come to the editor.
    Captured,
    /// The terminal keeps the mouse.
    Ignored,
}

/// Enters raw mode and the alternate screen; the guard restores the terminal when dropped, and a panic does too.
pub(crate) fn enter_terminal(mouse: Mouse) -> io::Result<TerminalGuard> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        tracing::error!(%info, "panic");
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    let guard = TerminalGuard;
    let mut out = io::stdout();
    execute!(out, terminal::EnterAlternateScreen, event::EnableBracketedPaste)?;
    if mouse == Mouse::Captured {
        execute!(out, event::EnableMouseCapture)?;
    }
    Ok(guard)
}

pub(crate) fn osc52(text: &str) -> io::Result<()> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = io::stdout();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_in_a_row_on_one_cell_count_up_to_three() {
        let mut counter = ClickCounter::default();
        let t0 = Instant::now();
        let press = |counter: &mut ClickCounter, column, at: Duration| {
            let mut ev = MouseEvent {
                kind: MouseKind::Down,
                column,
                row: 1,
                shift: false,
                alt: false,
                clicks: 1,
            };
            counter.count(&mut ev, t0 + at);
            ev.clicks
        };
        assert_eq!(press(&mut counter, 3, Duration::ZERO), 1);
        assert_eq!(press(&mut counter, 3, Duration::from_millis(200)), 2);
        assert_eq!(press(&mut counter, 3, Duration::from_millis(400)), 3);
        assert_eq!(press(&mut counter, 3, Duration::from_millis(500)), 1);
        assert_eq!(press(&mut counter, 4, Duration::from_millis(600)), 1, "another cell");
        assert_eq!(press(&mut counter, 4, Duration::from_millis(2000)), 1, "too late");
    }
}
