//! The signals that end the editor from outside — SIGTERM (a shutdown, `kill`), SIGHUP (the terminal closed, an
//! ssh connection dropped) and SIGQUIT — arrive as an [`AppEvent::Signal`] on the app's one channel, so the loop
//! writes every unsaved buffer to the recovery journal and every shared document's store
//! ([`super::App::rescue`]) before the terminal is restored and the process exits with `128 + signal`.
//!
//! SIGWINCH (the terminal resized) comes through here too, as an [`AppEvent::Resize`] with the new size, since
//! tandem reads the terminal's input bytes itself ([`crate::ui::terminal`]) rather than through crossterm.

use std::sync::mpsc::Sender;

use super::AppEvent;

/// A signal that ends the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: asked to stop.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGQUIT.
    Quit,
}

impl Signal {
    /// The signal's number (POSIX fixes these three).
    pub fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Quit => 3,
            Signal::Terminate => 15,
        }
    }

    /// The exit code a shell reports for a process ended by this signal, `128 + number`.
    pub fn exit_code(self) -> u8 {
        128 + self.number()
    }

    /// The signal's name, `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Quit => "SIGQUIT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Catches the three signals from now on and forwards each to `events` from a thread of its own. The handlers are
/// installed before this returns, so a signal sent right after it is not missed.
#[cfg(unix)]
pub fn forward(events: Sender<AppEvent>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    // tokio (already a dependency for the network) turns signals into streams; a current-thread runtime on one
    // thread of its own is all this needs.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    let (mut term, mut hup, mut quit, mut winch) = {
        let _entered = runtime.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::quit())?,
            signal(SignalKind::window_change())?,
        )
    };
    std::thread::Builder::new().name("tandem-signals".into()).spawn(move || {
        runtime.block_on(async move {
            loop {
                let caught = tokio::select! {
                    _ = term.recv() => Signal::Terminate,
                    _ = hup.recv() => Signal::Hangup,
                    _ = quit.recv() => Signal::Quit,
                    _ = winch.recv() => {
                        let size = crossterm::terminal::size();
                        if let Ok((w, h)) = size
                            && events.send(AppEvent::Resize(w, h)).is_err()
                        {
                            return;
                        }
                        continue;
                    }
                };
                tracing::warn!(signal = caught.name(), "signal");
                // The loop is gone: the process is exiting anyway.
                if events.send(AppEvent::Signal(caught)).is_err() {
                    return;
                }
            }
        })
    })?;
    Ok(())
}

/// Signals are a Unix matter; elsewhere the terminal's own close events end the editor.
#[cfg(not(unix))]
pub fn forward(_events: Sender<AppEvent>) -> std::io::Result<()> {
    Ok(())
}
