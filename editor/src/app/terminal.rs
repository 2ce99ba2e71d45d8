//! Running the [`App`] in a real terminal: the terminal set up (and restored on every exit path),
//! terminal input read on its own thread into the app's one channel, frames drawn with ratatui and
//! the clipboard effects sent as OSC 52. The same for a file alone and for a shared document.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::Context as _;
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Position;

use crate::collab::{AppOptions, now_ms};
use crate::config::Config;
use crate::editor::{Editor, Effect};
use crate::ui::terminal::{Mouse, convert_key, convert_mouse, enter_terminal, osc52};

use super::{App, AppEvent};

/// What to edit.
#[derive(Debug, Clone)]
pub enum Document {
    /// A local file (or a new, unnamed buffer).
    File(Option<PathBuf>),
    /// A shared document on a server.
    Shared(AppOptions),
}

/// Opens the document and runs the editor until the user quits.
pub fn run(config: &Config, document: Document) -> anyhow::Result<()> {
    let theme = config.load_theme().context("loading the theme")?;
    let (events, inbox) = mpsc::channel();
    let mut app = match document {
        Document::File(path) => {
            let editor = match &path {
                Some(p) => {
                    Editor::open(p, config).with_context(|| format!("opening {}", p.display()))?
                }
                None => Editor::with_rope(ropey::Rope::new(), config),
            };
            tracing::info!(path = ?path, chars = editor.rope().len_chars(), "opened");
            App::solo(editor, config, theme)
        }
        Document::Shared(options) => {
            let url = options.url.clone();
            let mut app = App::open(options, config, theme, events.clone())
                .with_context(|| format!("opening {url}"))?;
            if let Some(shared) = app.shared() {
                let (base, store) = (&shared.target().base, shared.store_dir().display());
                tracing::info!(url = %base, store = %store, "collaborating");
            }
            app
        }
    };

    let mouse = if config.mouse { Mouse::Captured } else { Mouse::Ignored };
    let _guard = enter_terminal(mouse).context("setting up the terminal")?;
    let mut term =
        Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;
    let size = term.size()?;
    app.editor.resize(size.width, size.height);
    app.start_journal();
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
        for effect in app.editor.take_effects() {
            match effect {
                Effect::Clipboard(text) => osc52(&text)?,
            }
        }
        Ok(())
    })?;
    app.shutdown(now_ms()).context("closing the document")?;
    tracing::info!("quit");
    Ok(())
}

/// Forwards terminal events until the terminal or the UI loop goes away.
fn read_terminal(events: &mpsc::Sender<AppEvent>) {
    while let Ok(event) = event::read() {
        let event = match event {
            Event::Key(k) => convert_key(k).map(AppEvent::Key),
            Event::Mouse(m) => convert_mouse(m).map(AppEvent::Mouse),
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
