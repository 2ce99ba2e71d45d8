//! Running the [`App`] in a real terminal: the terminal set up (and restored on every exit path),
//! terminal input read on its own thread into the app's one channel (double and triple clicks
//! counted there), frames drawn with ratatui and the clipboard effects sent as OSC 52. The same
//! for files alone, shared documents, or both side by side.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Position;

use crate::collab::{AppOptions, now_ms};
use crate::config::Config;
use crate::editor::Effect;
use crate::ui::terminal::{ClickCounter, Mouse, enter_terminal, osc52};
#[cfg(unix)]
use crate::ui::{TermEvent, TtyInput};

use super::{App, AppEvent, Signal};

/// What to edit.
#[derive(Debug, Clone)]
pub enum Document {
    /// A local file (or a new, unnamed buffer).
    File(Option<PathBuf>),
    /// A shared document on a server.
    Shared(AppOptions),
    /// A workspace on a server (`ws://HOST:PORT/PREFIX/`): its files are what the picker lists.
    Workspace(AppOptions),
}

/// How the editor ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The user quit.
    Quit,
    /// A signal ended it after every unsaved buffer was written to disk (the lines say where).
    Signalled(Signal, Vec<String>),
}

/// Opens the documents, each in a buffer (the first one shown), and runs the editor until the user quits or a
/// signal ends it. Local files' unsaved edits are journaled in `journal_dir` (see [`crate::journal`]).
pub fn run(
    config: &Config,
    documents: Vec<Document>,
    journal_dir: Option<PathBuf>,
) -> anyhow::Result<Outcome> {
    let mut config = config.clone();
    let theme = config.theme_or_default();
    let config = &config;
    let (events, inbox) = mpsc::channel();
    // From the start, so a signal during opening is not fatal either: it waits in the channel.
    super::signals::forward(events.clone()).context("catching signals")?;
    let mut app = App::new(config, theme, events.clone());
    for document in documents {
        match document {
            Document::File(Some(path)) => {
                app.open_file(&path).with_context(|| format!("opening {}", path.display()))?;
            }
            Document::File(None) => {
                app.open_scratch();
            }
            Document::Shared(options) => {
                let url = options.url.clone();
                app.open_shared(options).with_context(|| format!("opening {url}"))?;
            }
            Document::Workspace(options) => {
                let url = options.url.clone();
                app.open_workspace(options).with_context(|| format!("opening {url}"))?;
            }
        }
    }
    // A workspace alone opens with its file picker, over an empty buffer that the first file
    // picked replaces.
    let pick = app.buffers().is_empty();
    if pick {
        app.open_scratch();
    }
    // The first document on the command line is the one shown.
    if let Some(first) = app.buffers().first().map(|s| s.id) {
        app.show(first);
    }

    let mouse = if config.mouse { Mouse::Captured } else { Mouse::Ignored };
    let _guard = enter_terminal(mouse).context("setting up the terminal")?;
    let mut term =
        Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;
    let size = term.size()?;
    app.resize(size.width, size.height);
    if let Some(dir) = journal_dir {
        app.start_journal(dir);
    }
    if pick && app.has_workspace() {
        app.pick_file();
    }
    if config.syntax {
        app.load_syntax(events.clone());
    }
    std::thread::Builder::new()
        .name("tandem-input".into())
        .spawn(move || read_terminal(&events))
        .context("starting the input thread")?;

    let ended = app.run_loop(&inbox, |app, now| {
        term.draw(|frame| {
            if let Some((x, y)) = app.render(frame.area(), frame.buffer_mut(), now) {
                frame.set_cursor_position(Position { x, y });
            }
        })?;
        for effect in app.take_effects() {
            if let Effect::Clipboard(text) = effect {
                osc52(&text)?;
            }
        }
        Ok(())
    });
    if let Err(e) = ended {
        // The terminal broke (a write failed): the work is kept as on a signal.
        app.rescue(now_ms());
        return Err(e);
    }
    if let Some(signal) = app.signalled() {
        let kept = app.rescue(now_ms());
        tracing::info!(signal = signal.name(), "ended by a signal");
        return Ok(Outcome::Signalled(signal, kept));
    }
    app.shutdown(now_ms()).context("closing the documents")?;
    tracing::info!("quit");
    Ok(Outcome::Quit)
}

/// Forwards terminal input until the terminal or the UI loop goes away. On Unix tandem reads the bytes itself
/// ([`TtyInput`]); resizes come as SIGWINCH through [`super::signals`].
#[cfg(unix)]
fn read_terminal(events: &mpsc::Sender<AppEvent>) {
    let mut clicks = ClickCounter::default();
    let mut input = match TtyInput::open() {
        Ok(input) => input,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the terminal");
            return;
        }
    };
    loop {
        let batch = match input.next_events() {
            Ok(Some(batch)) => batch,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "reading the terminal");
                return;
            }
        };
        for event in batch {
            let event = match event {
                TermEvent::Key(k) => AppEvent::Key(k),
                TermEvent::Mouse(mut m) => {
                    clicks.count(&mut m, Instant::now());
                    AppEvent::Mouse(m)
                }
                TermEvent::Paste(text) => AppEvent::Paste(text),
            };
            if events.send(event).is_err() {
                return;
            }
        }
    }
}

/// Forwards terminal events until the terminal or the UI loop goes away. Consoles without Unix terminals report
/// keys as events, not escape sequences, so crossterm's reader is right there.
#[cfg(not(unix))]
fn read_terminal(events: &mpsc::Sender<AppEvent>) {
    use crate::ui::terminal::{convert_key, convert_mouse};
    let mut clicks = ClickCounter::default();
    while let Ok(event) = event::read() {
        let event = match event {
            Event::Key(k) => convert_key(k).map(AppEvent::Key),
            Event::Mouse(m) => convert_mouse(m).map(|mut m| {
                clicks.count(&mut m, Instant::now());
                AppEvent::Mouse(m)
            }),
            Event::Paste(text) => Some(AppEvent::Paste(text)),
            Event::Resize(w, h) => Some(AppEvent::Resize(w, h)),
            _ => None,
        };
        if let Some(event) = event
            && events.send(event).is_err()
        {
            return;
        }
    }
}
