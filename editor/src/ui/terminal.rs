//! The terminal at the edge: crossterm setup and teardown (also on panic), conversion of crossterm's events into
//! the editor's own, and the OSC 52 clipboard. The loop that uses them is [`crate::app::terminal`].

use std::io::{self, Write};

use base64::Engine;
use crossterm::event::{self, KeyCode, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};
use crossterm::{cursor, execute, terminal};

use crate::input::{Key, KeyEvent, Modifiers, MouseEvent, MouseKind};

/// Converts a crossterm key event; `None` for releases and keys tandem does not know.
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
        KeyCode::BackTab => Key::BackTab,
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

/// Converts a crossterm mouse event; `None` for buttons other than the left one.
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
    })
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
