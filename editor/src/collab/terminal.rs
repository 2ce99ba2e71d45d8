//! Running an [`App`] in a real terminal: one channel carries terminal input (read on its own
//! thread) and network events, so the loop sleeps until either arrives and reacts at once.

use std::io;
use std::sync::mpsc;

use anyhow::Context;
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Position;

use crate::config::Config;
use crate::editor::Effect;
use crate::ui::terminal::{convert_key, convert_mouse, enter_terminal, osc52};

use super::{App, AppEvent, AppOptions, now_ms};

/// Opens the collaborative document and runs the editor until the user quits.
pub fn run(config: &Config, options: AppOptions) -> anyhow::Result<()> {
    let theme = config.load_theme().context("loading the theme")?;
    let (events, inbox) = mpsc::channel();
    let url = options.url.clone();
    let mut app = App::open(options, config, theme, events.clone())
        .with_context(|| format!("opening {url}"))?;
    tracing::info!(url = %app.target().base, store = %app.store_dir().display(), "collaborating");

    let _guard = enter_terminal(config.mouse).context("setting up the terminal")?;
    let mut term =
        Terminal::new(CrosstermBackend::new(io::stdout())).context("setting up the terminal")?;
    let size = term.size()?;
    app.editor.resize(size.width, size.height);
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
