//! Running the [`App`] in a real terminal: the terminal set up (and restored on every exit path),
//! terminal input read on its own thread into the app's one channel (double and triple clicks
//! counted there), frames drawn with ratatui and the clipboard effects sent as OSC 52. The same
//! for files alone, shared documents, or both side by side.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Context as _;
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Position;

use crate::collab::{AppOptions, now_ms};
use crate::config::Config;
use crate::editor::Effect;
use crate::ui::terminal::{ClickCounter, Mouse, convert_key, convert_mouse, enter_terminal, osc52};

use super::{App, AppEvent};

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

/// Opens the documents, each in a buffer (the first one shown), and runs the editor until the user quits.
pub fn run(config: &Config, documents: Vec<Document>) -> anyhow::Result<()> {
    let theme = config.load_theme().context("loading the theme")?;
    let (events, inbox) = mpsc::channel();
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
    app.start_journal();
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

    app.run_loop(&inbox, |app, now| {
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
    })?;
    app.shutdown(now_ms()).context("closing the documents")?;
    tracing::info!("quit");
    Ok(())
}

/// Forwards terminal events until the terminal or the UI loop goes away.
fn read_terminal(events: &mpsc::Sender<AppEvent>) {
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
