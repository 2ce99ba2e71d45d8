//! The editor's own input events. The terminal front end converts into these at the edge, so the model and its
//! tests never see a terminal crate.

use std::fmt;
use std::str::FromStr;

/// A key, without modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A printable character (lowercase when Ctrl or Alt is held).
    Char(char),
    /// Enter / Return.
    Enter,
    /// Tab.
    Tab,
    /// Shift-Tab as reported by terminals.
    BackTab,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Insert.
    Insert,
    /// Escape.
    Esc,
    /// Left arrow.
    Left,
    /// Right arrow.
    Right,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Home.
    Home,
    /// End.
    End,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Function key F1–F24.
    F(u8),
}

/// Modifier keys held with a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Modifiers {
    /// Ctrl.
    pub ctrl: bool,
    /// Alt / Meta.
    pub alt: bool,
    /// Shift (not reported for printable characters, whose case already says it).
    pub shift: bool,
}

/// A key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyEvent {
    /// The key.
    pub key: Key,
    /// Held modifiers.
    pub mods: Modifiers,
}

impl KeyEvent {
    /// A key without modifiers.
    pub fn plain(key: Key) -> Self {
        KeyEvent { key, mods: Modifiers::default() }
    }

    /// Ctrl + key.
    pub fn ctrl(key: Key) -> Self {
        KeyEvent { key, mods: Modifiers { ctrl: true, ..Modifiers::default() } }
    }

    /// Shift + key.
    pub fn shift(key: Key) -> Self {
        KeyEvent { key, mods: Modifiers { shift: true, ..Modifiers::default() } }
    }

    /// The key events that type `text`, one per char (`\n` becomes Enter, `\t` Tab).
    pub fn typed(text: &str) -> Vec<KeyEvent> {
        text.chars()
            .map(|c| match c {
                '\n' => KeyEvent::plain(Key::Enter),
                '\t' => KeyEvent::plain(Key::Tab),
                c => KeyEvent::plain(Key::Char(c)),
            })
            .collect()
    }
}

/// The key spec could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown key {0:?} (expected e.g. \"ctrl-s\", \"alt-shift-left\", \"f1\", \"pageup\")")]
pub struct KeyParseError(pub String);

impl FromStr for KeyEvent {
    type Err = KeyParseError;

    /// Reads specs such as `ctrl-s`, `Ctrl+Shift+Left`, `f3`, `alt-x`, `-` (the minus key itself).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = || KeyParseError(spec.to_owned());
        let lower = spec.trim().to_lowercase();
        let mut mods = Modifiers::default();
        let mut rest = lower.as_str();
        while let Some((head, tail)) = rest.split_once(['-', '+']) {
            if tail.is_empty() {
                break;
            }
            match head {
                "ctrl" | "c" | "control" => mods.ctrl = true,
                "alt" | "a" | "meta" | "m" => mods.alt = true,
                "shift" | "s" => mods.shift = true,
                _ => return Err(err()),
            }
            rest = tail;
        }
        let key = match rest {
            "enter" | "return" => Key::Enter,
            "tab" => Key::Tab,
            "backtab" => Key::BackTab,
            "backspace" | "bs" => Key::Backspace,
            "delete" | "del" => Key::Delete,
            "insert" | "ins" => Key::Insert,
            "esc" | "escape" => Key::Esc,
            "left" => Key::Left,
            "right" => Key::Right,
            "up" => Key::Up,
            "down" => Key::Down,
            "home" => Key::Home,
            "end" => Key::End,
            "pageup" | "pgup" => Key::PageUp,
            "pagedown" | "pgdn" => Key::PageDown,
            "space" => Key::Char(' '),
            f if f.len() > 1 && f.starts_with('f') => Key::F(f[1..].parse().map_err(|_| err())?),
            s => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Key::Char(c),
                    _ => return Err(err()),
                }
            }
        };
        Ok(KeyEvent { key, mods })
    }
}

impl fmt::Display for KeyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.mods.alt {
            f.write_str("Alt-")?;
        }
        if self.mods.shift {
            f.write_str("Shift-")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("Space"),
            Key::Char(c) => write!(f, "{}", c.to_uppercase()),
            Key::F(n) => write!(f, "F{n}"),
            Key::PageUp => f.write_str("PgUp"),
            Key::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// What the mouse did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MouseKind {
    /// Left button pressed.
    Down,
    /// Moved with the left button held.
    Drag,
    /// Left button released.
    Up,
    /// Wheel up.
    ScrollUp,
    /// Wheel down.
    ScrollDown,
}

/// A mouse event at a screen cell (0-based, relative to the editor's whole area).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MouseEvent {
    /// What happened.
    pub kind: MouseKind,
    /// Column.
    pub column: u16,
    /// Row.
    pub row: u16,
    /// Shift held (extends the selection on click).
    pub shift: bool,
    /// Alt held (a click adds or removes a cursor).
    pub alt: bool,
    /// Clicks in a row at this cell: 1, 2 for a double click (selects a word), 3 a triple (a line).
    pub clicks: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_keys() {
        let k: KeyEvent = "ctrl-shift-left".parse().unwrap();
        assert_eq!(k.key, Key::Left);
        assert!(k.mods.ctrl && k.mods.shift && !k.mods.alt);
        assert_eq!(k.to_string(), "Ctrl-Shift-Left");
        assert_eq!("Ctrl+S".parse::<KeyEvent>().unwrap(), KeyEvent::ctrl(Key::Char('s')));
        assert_eq!("f12".parse::<KeyEvent>().unwrap(), KeyEvent::plain(Key::F(12)));
        assert_eq!("ctrl--".parse::<KeyEvent>().unwrap(), KeyEvent::ctrl(Key::Char('-')));
        assert!("hyper-x".parse::<KeyEvent>().is_err());
        assert!("ctrl-xy".parse::<KeyEvent>().is_err());
    }
}
