//! Running the editor in a real terminal: crossterm setup and teardown (also on panic), event conversion at the
//! edge, the draw loop, OSC 52 clipboard, and grammars loaded on a background thread.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use crossterm::event::{
    self, Event, KeyCode, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Position;

use crate::config::Config;
use crate::editor::{Editor, Effect};
use crate::highlight::{Budget, Highlighter, Syntaxes};
use crate::input::{Key, KeyEvent, Modifiers, MouseEvent, MouseKind};
use crate::theme::Theme;
use crate::ui::{RenderInput, render};

/// How often the file on disk is checked for changes by other programs.
const DISK_CHECK: Duration = Duration::from_secs(2);

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

pub(crate) fn enter_terminal(mouse: bool) -> io::Result<TerminalGuard> {
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
    if mouse {
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

/// Loads the grammars on a background thread and calls `done` there with the syntax that fits the editor's file
/// name and first line (never, when none does). The collaborative front end shares this.
pub(crate) fn load_syntax(
    editor: &Editor,
    theme: &Theme,
    done: impl FnOnce(Arc<Syntaxes>, String) + Send + 'static,
) {
    let sample_end = editor.rope().line_to_char(editor.rope().len_lines().min(200));
    let sample = ropey::Rope::from(editor.rope().slice(..sample_end));
    let (path, theme) = (editor.path().map(PathBuf::from), theme.clone());
    std::thread::spawn(move || {
        let syntaxes = Arc::new(Syntaxes::load());
        let first = crate::text::line_text(&sample, 0).into_owned();
        if let Some(name) = syntaxes.detect(path.as_deref(), &first) {
            // syntect compiles each grammar's regexes on first use; do that here, not in the first frame.
            Highlighter::new(syntaxes.clone(), name.clone(), &theme).highlight(&sample, 0..200);
            done(syntaxes, name);
        }
    });
}

/// Opens `path` (or an empty buffer) and runs the editor until the user quits.
pub fn run(config: &Config, path: Option<PathBuf>) -> anyhow::Result<()> {
    let theme = config.load_theme().context("loading the theme")?;
    let mut editor = match &path {
        Some(p) => Editor::open(p, config).with_context(|| format!("opening {}", p.display()))?,
        None => Editor::with_rope(ropey::Rope::new(), config),
    };
    tracing::info!(path = ?path, chars = editor.rope().len_chars(), "opened");
    let (syntax_tx, syntax_rx) = mpsc::channel();
    if config.syntax {
        load_syntax(&editor, &theme, move |syntaxes, name| {
            let _ = syntax_tx.send((syntaxes, name));
        });
    }
    let mut highlighter: Option<Highlighter> = None;

    let _guard = enter_terminal(config.mouse).context("setting up the terminal")?;
    let mut term =
        Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;
    let size = term.size()?;
    editor.resize(size.width, size.height);
    let mut journal = crate::journal::Live::start(&mut editor);
    let mut last_disk_check = Instant::now();
    let mut waiting_for_syntax = config.syntax;
    let mut idle = false;
    loop {
        if highlighter.is_none()
            && let Ok((syntaxes, name)) = syntax_rx.try_recv()
        {
            tracing::info!(syntax = %name, "highlighting");
            highlighter = Some(Highlighter::new(syntaxes, name, &theme));
            waiting_for_syntax = false;
        }
        let damage = editor.take_damage();
        if let Some(h) = highlighter.as_mut() {
            h.apply_damage(damage);
            // A frame answering input stays short; idle frames catch up on highlighting.
            h.set_budget(if idle { Budget::IDLE } else { Budget::KEYSTROKE });
        }
        let syntax_name = highlighter.as_ref().map(|h| h.syntax_name().to_owned());
        term.draw(|frame| {
            let input = RenderInput {
                theme: &theme,
                decorations: &[],
                connection: None,
                syntax: syntax_name.as_deref(),
            };
            if let Some((x, y)) =
                render(&editor, highlighter.as_mut(), &input, frame.area(), frame.buffer_mut())
            {
                frame.set_cursor_position(Position { x, y });
            }
        })?;
        for effect in editor.take_effects() {
            match effect {
                Effect::Clipboard(text) => osc52(&text)?,
            }
        }
        crate::journal::Live::update(&mut journal, &mut editor, Instant::now());
        if editor.should_quit() {
            break;
        }
        if waiting_for_syntax
            && matches!(syntax_rx.try_recv(), Err(mpsc::TryRecvError::Disconnected))
        {
            // Plain text: the loader found no grammar for this file.
            waiting_for_syntax = false;
        }
        let catching_up =
            editor.is_busy() || highlighter.as_ref().is_some_and(|h| !h.is_complete());
        let timeout = if catching_up {
            Duration::ZERO
        } else if waiting_for_syntax {
            Duration::from_millis(20)
        } else {
            Duration::from_millis(500)
        };
        let input = event::poll(timeout)?;
        idle = !input;
        if input {
            // Handle everything already queued before drawing again, so a paste or fast typing costs one frame.
            loop {
                handle_event(&mut editor, event::read()?);
                if editor.should_quit() || !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        } else if editor.is_busy() {
            editor.tick();
        }
        if last_disk_check.elapsed() >= DISK_CHECK {
            editor.check_disk();
            last_disk_check = Instant::now();
        }
    }
    crate::journal::Live::finish(journal);
    tracing::info!("quit");
    Ok(())
}

fn handle_event(editor: &mut Editor, ev: Event) {
    match ev {
        Event::Key(k) => {
            if let Some(k) = convert_key(k) {
                editor.handle_key(k);
            }
        }
        Event::Mouse(m) => {
            if let Some(m) = convert_mouse(m) {
                editor.handle_mouse(m);
            }
        }
        Event::Paste(text) => editor.paste(&text),
        Event::Resize(w, h) => editor.resize(w, h),
        _ => {}
    }
}
