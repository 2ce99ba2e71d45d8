//! Keystroke in editor A → the character drawn in editor B, through a real tandem-server.
//!
//! Both editors run in this process, each with the real collaborative loop
//! ([`tandem::collab::App::run_loop`]: one channel for input and network, the reconnecting
//! websocket thread, the offline store fsync'd after every batch) drawing into ratatui's
//! `TestBackend`. A keystroke is injected into A's channel at t0; B reports each frame it draws
//! with the length of its text; the latency is the first frame of B that holds the keystroke,
//! minus t0. Keystrokes come one at a time with a 2–10 ms pause, like fast typing.
//!
//! `cargo bench -p tandem-e2e --bench collab_latency` (KEYSTROKES=N to change the count).

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tandem::app::{App, AppEvent};
use tandem::collab::AppOptions;
use tandem::{Config, Key, KeyEvent};
use tandem_e2e::{ServerOptions, TestServer};

const WARMUP: usize = 50;

/// What an editor reports after drawing a frame.
struct Drawn {
    at: Instant,
    chars: usize,
    status: String,
}

/// One editor on its own thread: where to send its input, what it drew, and the thread.
struct Running {
    keys: Sender<AppEvent>,
    drawn: Receiver<Drawn>,
    thread: JoinHandle<anyhow::Result<()>>,
}

fn spawn_editor(name: &str, url: &str, home: &Path) -> anyhow::Result<Running> {
    let (events, inbox) = mpsc::channel();
    let (report, drawn) = mpsc::channel();
    let options = AppOptions {
        url: url.to_owned(),
        token: None,
        name: name.to_owned(),
        color: "#30bced".into(),
        file: None,
        offline: false,
        ca_cert: None,
        data_dir: home.to_owned(),
    };
    let sender = events.clone();
    let thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let config = Config::default();
        let theme = config.load_theme()?;
        let mut app = App::open(options, &config, theme, sender)?;
        let mut term = Terminal::new(TestBackend::new(120, 40))?;
        app.resize(120, 40);
        app.run_loop(&inbox, |app, now| {
            term.draw(|frame| {
                app.render(frame.area(), frame.buffer_mut(), now);
            })?;
            let chars = app.editor().rope().len_chars();
            // The bench may have stopped listening; the loop ends on its quit key anyway.
            let _ = report.send(Drawn { at: Instant::now(), chars, status: app.status(now) });
            Ok(())
        })?;
        app.shutdown(tandem::collab::now_ms())?;
        Ok(())
    });
    Ok(Running { keys: events, drawn, thread })
}

/// Waits for a frame satisfying `ok`.
fn wait_drawn(
    drawn: &Receiver<Drawn>,
    what: &str,
    ok: impl Fn(&Drawn) -> bool,
) -> anyhow::Result<Drawn> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = drawn.recv_timeout(left).with_context(|| format!("waiting for {what}"))?;
        if ok(&frame) {
            return Ok(frame);
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; a filter that is not ours means another bench was asked for.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"collab_latency".contains(a.as_str()))
    {
        return Ok(());
    }
    let keystrokes: usize =
        std::env::var("KEYSTROKES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Runtime::new()?;
    let server = runtime.block_on(TestServer::start(ServerOptions::default()))?;
    let url = server.ws_url("latency");
    let dir = tempfile::tempdir()?;
    let Running { keys: a_keys, drawn: a_drawn, thread: a_thread } =
        spawn_editor("ann", &url, &dir.path().join("a"))?;
    let Running { keys: b_keys, drawn: b_drawn, thread: b_thread } =
        spawn_editor("bob", &url, &dir.path().join("b"))?;
    wait_drawn(&a_drawn, "A connected", |d| d.status.starts_with("connected · 2 here"))?;
    wait_drawn(&b_drawn, "B connected", |d| d.status.starts_with("connected · 2 here"))?;

    let mut latencies = Vec::with_capacity(keystrokes);
    let mut chars = 0;
    for i in 0..WARMUP + keystrokes {
        let key =
            if i % 80 == 79 { Key::Enter } else { Key::Char((b'a' + (i % 26) as u8) as char) };
        // Forget frames B drew before this keystroke.
        while b_drawn.try_recv().is_ok() {}
        while a_drawn.try_recv().is_ok() {}
        let t0 = Instant::now();
        a_keys.send(AppEvent::Key(KeyEvent::plain(key))).context("editor A stopped")?;
        chars += 1;
        let frame = wait_drawn(&b_drawn, "B to draw the keystroke", |d| d.chars >= chars)?;
        if frame.chars != chars {
            bail!("B holds {} chars, expected {chars}", frame.chars);
        }
        if i >= WARMUP {
            latencies.push(frame.at - t0);
        }
        std::thread::sleep(Duration::from_micros(rand::random_range(2_000..10_000)));
    }
    for keys in [&a_keys, &b_keys] {
        keys.send(AppEvent::Key(KeyEvent::ctrl(Key::Char('q'))))?;
    }
    drop((a_drawn, b_drawn));
    for thread in [a_thread, b_thread] {
        thread.join().map_err(|_| anyhow::anyhow!("editor thread panicked"))??;
    }

    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    println!(
        "collab_latency: {} keystrokes A -> drawn in B via tandem-server: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        ms(mean),
    );
    Ok(())
}
