//! Helpers for the collaborative editor's end-to-end tests: the real `tandem` binary in private
//! tmux servers ([`Pane`]), tandem-server on a fixed port so that a restarted server is found by
//! editors still retrying the old address ([`FixedServer`]), and the stock y-websocket server
//! from npm ([`NodeYServer`]).

#![allow(dead_code)] // Each test file uses a different subset.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tandem_e2e::{TIMEOUT, http_get, repo_root, server_binary, workspace_binary};

/// Whether tmux runs here; reports it with [`tandem_e2e::require_or_skip`] when not.
pub fn tmux_available(test: &str) -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !ok {
        tandem_e2e::require_or_skip(test, "tmux is not installed");
    }
    ok
}

/// The `tandem` binary: `TANDEM_BIN` if set, else built once per test process into the target
/// directory the tests run from.
pub fn tandem_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| workspace_binary("tandem", "TANDEM_BIN"))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// A free loopback port (bound and released; good enough on a test machine).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `check` until it returns `Some`, or fails after [`TIMEOUT`] with `what` and `detail()`.
pub fn wait_for<T>(what: &str, check: impl FnMut() -> Option<T>, detail: impl Fn() -> String) -> T {
    wait_until(what, TIMEOUT, check, detail)
}

/// [`wait_for`] with its own limit.
pub fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
    detail: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{}", detail());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `tandem` editor in its own tmux server (so tests never touch the user's sessions).
pub struct Pane {
    socket: String,
    /// The editor's own data dir (its offline store), config and log.
    pub home: PathBuf,
}

impl Pane {
    /// Starts `tandem ARGS` in a 120×24 pane with `home` as its data dir and an empty config.
    pub fn start(name: &str, home: &Path, args: &[String]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(home)?;
        let config = home.join("config.toml");
        std::fs::write(&config, "syntax = false\n")?;
        let socket =
            format!("tandem-collab-{}-{name}-{}", std::process::id(), rand::random::<u32>());
        let pane = Pane { socket, home: home.to_owned() };
        let mut command = vec![tandem_binary()?.display().to_string()];
        command.extend(args.iter().cloned());
        command.extend([
            "--config".into(),
            config.display().to_string(),
            "--log".into(),
            home.join("tandem.log").display().to_string(),
            "--data-dir".into(),
            home.join("data").display().to_string(),
        ]);
        let quoted: Vec<String> =
            command.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
        let out = pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "120",
            "-y",
            "24",
            &quoted.join(" "),
        ])?;
        if !out.status.success() {
            bail!("tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(pane)
    }

    fn tmux(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("LANG", "C.UTF-8")
            .env("TANDEM_LOG", "debug")
            .output()
            .context("running tmux")
    }

    /// Sends tmux key names (`C-s`, `End`, `Enter`…).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        let _ = self.tmux(&args);
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        let _ = self.tmux(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "e2e"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// What the pane shows now with its colours and attributes, as escape sequences.
    pub fn screen_with_colours(&self) -> String {
        self.tmux(&["capture-pane", "-e", "-p", "-t", "e2e"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Waits until the screen contains every one of `needles`; returns the screen.
    pub fn wait_for(&self, needles: &[&str]) -> String {
        self.wait_within(needles, TIMEOUT)
    }

    /// [`Pane::wait_for`] with a longer or shorter limit (reconnect backoff can be long).
    pub fn wait_within(&self, needles: &[&str], limit: Duration) -> String {
        let what = format!("{needles:?} in pane {}", self.socket);
        wait_until(
            &what,
            limit,
            || {
                let screen = self.screen();
                needles.iter().all(|n| screen.contains(n)).then_some(screen)
            },
            || format!("{}\n--- log:\n{}", self.screen(), self.log_tail()),
        )
    }

    /// Waits until the screen no longer contains `needle` (a panel closed); returns the screen.
    pub fn wait_until_gone(&self, needle: &str) -> String {
        let what = format!("{needle:?} to leave pane {}", self.socket);
        wait_for(
            &what,
            || {
                let screen = self.screen();
                (!screen.contains(needle)).then_some(screen)
            },
            || format!("{}\n--- log:\n{}", self.screen(), self.log_tail()),
        )
    }

    /// Whether the tmux session (the editor) is still running.
    pub fn is_running(&self) -> bool {
        self.tmux(&["has-session", "-t", "e2e"]).is_ok_and(|o| o.status.success())
    }

    /// Waits for the editor to exit.
    pub fn wait_exit(&self) {
        wait_for("the editor to exit", || (!self.is_running()).then_some(()), || self.screen());
    }

    /// The end of the editor's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.home.join("tandem.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Arguments for `tandem URL --name NAME --file FILE`.
pub fn editor_args(url: &str, name: &str, file: &Path) -> Vec<String> {
    vec![url.into(), "--name".into(), name.into(), "--file".into(), file.display().to_string()]
}

/// Saves with Ctrl-S and returns the linked file's contents once written.
pub fn save_and_read(pane: &Pane, file: &Path) -> String {
    pane.keys(&["C-s"]);
    pane.wait_for(&["saved "]);
    std::fs::read_to_string(file).unwrap_or_default()
}

/// tandem-server on a port chosen by the test, so a restart comes back on the same address.
pub struct FixedServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
}

impl FixedServer {
    /// Starts the server on `addr` with `data_dir` and waits until `/healthz` answers.
    pub async fn start(addr: SocketAddr, data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let log =
            std::fs::File::options().create(true).append(true).open(data_dir.join("server.log"))?;
        let child = Command::new(server_binary()?)
            .args(["--listen", &addr.to_string(), "--log-format", "json", "--data-dir"])
            .arg(data_dir)
            .env_remove("TANDEM_AUTH_KEY")
            .env_remove("TANDEM_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("spawning tandem-server")?;
        let server = FixedServer { child, addr, data_dir: data_dir.to_owned() };
        let deadline = Instant::now() + TIMEOUT;
        while !matches!(http_get(addr, "/healthz").await, Ok((200, _))) {
            if Instant::now() > deadline {
                bail!("tandem-server on {addr} never became healthy");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    /// `ws://ADDR/DOC`.
    pub fn ws_url(&self, doc: &str) -> String {
        format!("ws://{}/{doc}", self.addr)
    }

    /// Kills the server with SIGKILL (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The stock y-websocket server (`@y/websocket-server`, pinned in bench/), in-memory.
pub struct NodeYServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl NodeYServer {
    /// The server script, installing bench/'s node packages first when needed (idempotent).
    pub fn script(test: &str) -> Option<PathBuf> {
        let bench = repo_root().join("bench");
        let script = bench.join("node_modules/@y/websocket-server/src/server.js");
        if !script.is_file() {
            let installed = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&bench)
                .status()
                .is_ok_and(|s| s.success());
            if !installed || !script.is_file() {
                tandem_e2e::require_or_skip(
                    test,
                    "bench/node_modules/@y/websocket-server is missing and npm ci failed",
                );
                return None;
            }
        }
        Some(script)
    }

    /// Starts `script` on a free port and waits until it accepts connections.
    pub async fn start(script: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let child = Command::new("node")
            .arg(script)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawning the y-websocket server")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let server = NodeYServer { child, addr };
        let deadline = Instant::now() + TIMEOUT;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                bail!("the y-websocket server never listened on {addr}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    /// `ws://ADDR/DOC`.
    pub fn ws_url(&self, doc: &str) -> String {
        format!("ws://{}/{doc}", self.addr)
    }
}

impl Drop for NodeYServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
