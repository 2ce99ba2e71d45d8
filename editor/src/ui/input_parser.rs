//! Terminal input bytes → the editor's own events, without IO (the reader is [`super::tty`]).
//!
//! Why our own parser: crossterm reads `ESC [ 1 ; 2 R` as a cursor position report and drops it, but it is also
//! what xterm-compatible terminals send for Shift-F3, and tandem never asks for a cursor position. Here every
//! `CSI … R` is F3 with the modifiers its second parameter gives, and no sequence is read as a reply to a
//! question tandem did not ask.
//!
//! Covered: UTF-8 text, C0 control keys (0x08 is Ctrl-H, as crossterm read it), Alt as an `ESC` prefix, SS3 and
//! CSI keys with xterm modifiers (`CSI 1;5C`), `CSI … ~` keys, the Linux console's `CSI [ A`–`E`, CSI-u and
//! modifyOtherKeys (`CSI 27;m;c ~`) keys, SGR (1006), rxvt (1015) and X10 mouse reports, and bracketed paste.
//! Anything else that is a complete escape sequence is skipped whole.

use crate::input::{Key, KeyEvent, Modifiers, MouseEvent, MouseKind};

/// One thing the terminal sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermEvent {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event (clicks not yet counted: always 1).
    Mouse(MouseEvent),
    /// Bracketed paste: the text between `CSI 200 ~` and `CSI 201 ~`.
    Paste(String),
}

/// Collects bytes until they make complete events. A sequence cut between two reads waits for the rest; when no
/// more bytes come (the reader's short wait runs out), [`InputParser::flush`] reads what waits as typed keys, so a
/// lone `ESC` is the Escape key.
#[derive(Debug, Default)]
pub struct InputParser {
    pending: Vec<u8>,
}

const ESC: u8 = 0x1b;
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";
/// An unfinished escape sequence longer than this is garbage, not a sequence still arriving.
const MAX_SEQUENCE: usize = 64;

/// What the bytes at the front make.
enum Parsed {
    /// `len` bytes read, making this event or nothing tandem uses.
    Done(Option<TermEvent>, usize),
    /// The bytes are the start of something longer.
    Incomplete,
}

impl InputParser {
    /// Adds `bytes` and returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<TermEvent> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while start < self.pending.len() {
            match parse(&self.pending[start..]) {
                Parsed::Done(event, len) => {
                    events.extend(event);
                    start += len;
                }
                Parsed::Incomplete => break,
            }
        }
        self.pending.drain(..start);
        events
    }

    /// Whether some bytes wait for the rest of a sequence.
    pub fn is_waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether the waiting bytes are a bracketed paste, which a pause never ends (only its closing sequence).
    pub fn in_paste(&self) -> bool {
        self.pending.starts_with(PASTE_START)
    }

    /// No more bytes came: the waiting ones are read as typed. A lone `ESC` is Escape, `ESC [` is Alt-[, and an
    /// unfinished sequence or character is dropped.
    pub fn flush(&mut self) -> Vec<TermEvent> {
        let mut events = Vec::new();
        while !self.pending.is_empty() {
            let (event, len) = match parse(&self.pending) {
                Parsed::Done(event, len) => (event, len),
                Parsed::Incomplete => flush_incomplete(&self.pending),
            };
            events.extend(event);
            self.pending.drain(..len);
        }
        events
    }
}

/// Reads an unfinished sequence at the front of `buf` as typed keys.
fn flush_incomplete(buf: &[u8]) -> (Option<TermEvent>, usize) {
    match buf {
        [ESC] | [ESC, ESC, ..] => (Some(key(Key::Esc, Modifiers::default())), 1),
        [ESC, c @ (b'[' | b'O')] => (Some(char_key(char::from(*c), alt())), 2),
        _ => (None, buf.len()),
    }
}

fn alt() -> Modifiers {
    Modifiers { alt: true, ..Modifiers::default() }
}

fn ctrl() -> Modifiers {
    Modifiers { ctrl: true, ..Modifiers::default() }
}

fn key(key: Key, mods: Modifiers) -> TermEvent {
    TermEvent::Key(KeyEvent { key, mods })
}

/// A character key as bindings name it: the case carries Shift, and with Ctrl or Alt the letter is lowercase.
fn char_key(c: char, mut mods: Modifiers) -> TermEvent {
    mods.shift = false;
    let c = if mods.ctrl || mods.alt { c.to_ascii_lowercase() } else { c };
    key(Key::Char(c), mods)
}

/// Parses the event at the front of `buf` (not empty).
fn parse(buf: &[u8]) -> Parsed {
    match buf[0] {
        ESC => parse_escape(buf),
        b'\r' => Parsed::Done(Some(key(Key::Enter, Modifiers::default())), 1),
        b'\t' => Parsed::Done(Some(key(Key::Tab, Modifiers::default())), 1),
        0x7f => Parsed::Done(Some(key(Key::Backspace, Modifiers::default())), 1),
        0 => Parsed::Done(Some(char_key(' ', ctrl())), 1),
        // In raw mode Enter is CR, so LF is Ctrl-J, and 0x08 is Ctrl-H (bound to delete backward by default).
        c @ 0x01..=0x1a => Parsed::Done(Some(char_key(char::from(c - 1 + b'a'), ctrl())), 1),
        c @ 0x1c..=0x1f => Parsed::Done(Some(char_key(char::from(c - 0x1c + b'4'), ctrl())), 1),
        _ => parse_utf8(buf),
    }
}

fn parse_utf8(buf: &[u8]) -> Parsed {
    let len = match buf[0] {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Parsed::Done(None, 1),
    };
    let Some(bytes) = buf.get(..len) else {
        return Parsed::Incomplete;
    };
    match std::str::from_utf8(bytes).ok().and_then(|s| s.chars().next()) {
        Some(c) => Parsed::Done(Some(char_key(c, Modifiers::default())), len),
        None => Parsed::Done(None, 1),
    }
}

/// `ESC` followed by something: SS3, CSI, or Alt with the key after it.
fn parse_escape(buf: &[u8]) -> Parsed {
    match buf.get(1) {
        None => Parsed::Incomplete,
        // Escape pressed twice: the first is Escape on its own.
        Some(&ESC) => Parsed::Done(Some(key(Key::Esc, Modifiers::default())), 1),
        Some(b'[') => parse_csi(buf),
        Some(b'O') => match buf.get(2) {
            None => Parsed::Incomplete,
            Some(&c) => match final_key(c) {
                Some(k) => Parsed::Done(Some(key(k, Modifiers::default())), 3),
                None => Parsed::Done(Some(char_key('O', alt())), 2),
            },
        },
        Some(_) => match parse(&buf[1..]) {
            Parsed::Done(Some(TermEvent::Key(mut k)), len) => {
                k.mods.alt = true;
                if let Key::Char(c) = k.key {
                    k.key = Key::Char(c.to_ascii_lowercase());
                }
                Parsed::Done(Some(TermEvent::Key(k)), len + 1)
            }
            Parsed::Done(other, len) => Parsed::Done(other, len + 1),
            Parsed::Incomplete => Parsed::Incomplete,
        },
    }
}

/// The key a CSI or SS3 sequence's final byte names on its own (arrows, Home/End, F1–F4).
fn final_key(c: u8) -> Option<Key> {
    Some(match c {
        b'A' => Key::Up,
        b'B' => Key::Down,
        b'C' => Key::Right,
        b'D' => Key::Left,
        b'H' => Key::Home,
        b'F' => Key::End,
        b'P' => Key::F(1),
        b'Q' => Key::F(2),
        // Never a cursor position report: tandem does not ask for one.
        b'R' => Key::F(3),
        b'S' => Key::F(4),
        _ => return None,
    })
}

/// `ESC [` …: a key, a mouse report, a paste, or a sequence to skip.
fn parse_csi(buf: &[u8]) -> Parsed {
    match buf.get(2) {
        None => Parsed::Incomplete,
        Some(b'M') => parse_x10_mouse(buf),
        // The Linux console's F1–F5.
        Some(b'[') => match buf.get(3) {
            None => Parsed::Incomplete,
            Some(&c @ b'A'..=b'E') => {
                Parsed::Done(Some(key(Key::F(c - b'A' + 1), Modifiers::default())), 4)
            }
            Some(_) => Parsed::Done(None, 4),
        },
        Some(_) => {
            if buf.starts_with(PASTE_START) {
                return parse_paste(buf);
            }
            if PASTE_START.starts_with(buf) {
                return Parsed::Incomplete;
            }
            parse_csi_sequence(buf)
        }
    }
}

fn parse_paste(buf: &[u8]) -> Parsed {
    let body = &buf[PASTE_START.len()..];
    match body.windows(PASTE_END.len()).position(|w| w == PASTE_END) {
        Some(end) => {
            let text = String::from_utf8_lossy(&body[..end]).into_owned();
            Parsed::Done(Some(TermEvent::Paste(text)), PASTE_START.len() + end + PASTE_END.len())
        }
        None => Parsed::Incomplete,
    }
}

/// A CSI sequence: parameter bytes, intermediate bytes, then one final byte (ECMA-48).
fn parse_csi_sequence(buf: &[u8]) -> Parsed {
    for (i, &b) in buf.iter().enumerate().skip(2) {
        match b {
            0x20..=0x3f => continue,
            0x40..=0x7e => {
                let params = std::str::from_utf8(&buf[2..i]).unwrap_or("");
                return Parsed::Done(csi_event(params, b), i + 1);
            }
            // Not a sequence after all: skip what was read, the byte is read afresh.
            _ => return Parsed::Done(None, i),
        }
    }
    if buf.len() > MAX_SEQUENCE {
        return Parsed::Done(None, buf.len());
    }
    Parsed::Incomplete
}

/// The numbers of `params` (`1;5`, subparameters after `:` ignored); empty or unreadable ones are 0.
fn numbers(params: &str) -> Vec<u32> {
    params.split(';').map(|p| p.split(':').next().unwrap_or("").parse().unwrap_or(0)).collect()
}

/// xterm's modifier parameter: 1 + a bit mask (1 Shift, 2 Alt, 4 Ctrl; Meta counts as Alt).
fn modifiers(param: Option<&u32>) -> Modifiers {
    let mask = param.map_or(0, |m| m.saturating_sub(1));
    Modifiers { shift: mask & 1 != 0, alt: mask & (2 | 32) != 0, ctrl: mask & 4 != 0 }
}

fn csi_event(params: &str, final_byte: u8) -> Option<TermEvent> {
    if let Some(mouse) = params.strip_prefix('<') {
        return sgr_mouse(mouse, final_byte);
    }
    // Private parameters (`?`, `>`, `=`) mark replies and modes, never keys.
    if params.starts_with(['?', '>', '=']) {
        return None;
    }
    let n = numbers(params);
    let mods = modifiers(n.get(1));
    match final_byte {
        b'~' => tilde_key(&n, mods),
        b'u' => unicode_key(n.first().copied().unwrap_or(0), mods),
        b'Z' => Some(key(Key::BackTab, Modifiers { shift: false, ..mods })),
        // rxvt's mouse (mode 1015): the button still carries X10's 32.
        b'M' if n.len() == 3 => mouse(n[0].saturating_sub(32), n[1], n[2], false),
        c => final_key(c).map(|k| key(k, mods)),
    }
}

/// `CSI n ~` and `CSI n ; m ~` keys (vt220 numbering), and xterm's modifyOtherKeys `CSI 27 ; m ; code ~`.
fn tilde_key(n: &[u32], mods: Modifiers) -> Option<TermEvent> {
    let k = match n.first().copied().unwrap_or(0) {
        1 | 7 => Key::Home,
        2 => Key::Insert,
        3 => Key::Delete,
        4 | 8 => Key::End,
        5 => Key::PageUp,
        6 => Key::PageDown,
        f @ 11..=15 => Key::F((f - 10) as u8),
        f @ 17..=21 => Key::F((f - 11) as u8),
        f @ 23..=26 => Key::F((f - 12) as u8),
        f @ 28..=29 => Key::F((f - 13) as u8),
        f @ 31..=34 => Key::F((f - 14) as u8),
        27 => return unicode_key(n.get(2).copied().unwrap_or(0), mods),
        _ => return None,
    };
    Some(key(k, mods))
}

/// A key given by its code point (CSI-u, modifyOtherKeys).
fn unicode_key(code: u32, mods: Modifiers) -> Option<TermEvent> {
    let k = match code {
        9 => Key::Tab,
        13 => Key::Enter,
        27 => Key::Esc,
        8 | 127 => Key::Backspace,
        c => return char::from_u32(c).filter(|c| !c.is_control()).map(|c| char_key(c, mods)),
    };
    Some(key(k, mods))
}

/// SGR mouse (mode 1006): `CSI < button ; column ; row M` (press, drag, wheel) or `m` (release).
fn sgr_mouse(params: &str, final_byte: u8) -> Option<TermEvent> {
    let n = numbers(params);
    match (final_byte, n.as_slice()) {
        (b'M' | b'm', &[button, column, row]) => mouse(button, column, row, final_byte == b'm'),
        _ => None,
    }
}

/// X10 mouse: `CSI M` and three bytes, each 32 more than the button, column and row (the latter two 1-based).
fn parse_x10_mouse(buf: &[u8]) -> Parsed {
    match buf.get(3..6) {
        None => Parsed::Incomplete,
        Some(&[b, x, y]) => {
            let [b, x, y] = [b, x, y].map(|v| u32::from(v.saturating_sub(32)));
            Parsed::Done(mouse(b, x, y, false), 6)
        }
        Some(_) => Parsed::Done(None, 6),
    }
}

/// A mouse report of the left button or the wheel at 1-based `column`, `row`; `released` for SGR's `m`. Other
/// buttons, horizontal wheels and motion without a button are not used by tandem.
fn mouse(button: u32, column: u32, row: u32, released: bool) -> Option<TermEvent> {
    let low = button & 0b11;
    let kind = if button & 64 != 0 {
        match low {
            0 => MouseKind::ScrollUp,
            1 => MouseKind::ScrollDown,
            _ => return None,
        }
    } else if button & 32 != 0 {
        match low {
            0 => MouseKind::Drag,
            _ => return None,
        }
    } else {
        match (low, released) {
            (0, false) => MouseKind::Down,
            // X10 and rxvt say "released" with button 3, not which button.
            (0, true) | (3, false) => MouseKind::Up,
            _ => return None,
        }
    };
    let cell = |v: u32| u16::try_from(v.saturating_sub(1)).unwrap_or(u16::MAX);
    Some(TermEvent::Mouse(MouseEvent {
        kind,
        column: cell(column),
        row: cell(row),
        shift: button & 4 != 0,
        alt: button & 8 != 0,
        clicks: 1,
    }))
}

#[cfg(test)]
mod tests;
