//! Browser scenarios for the end-to-end tests: headless Debian Chromium driven by playwright-core
//! from `tests/browser/run.mjs`, which reports what happens as JSON lines on stdout and waits
//! for the test's word on stdin where the test must act before the pages go on
//! ([`Scenario::say`]).
//!
//! Included by the `web_*` tests with `#[path]`; it builds on the shared helpers of `tandem_e2e`.

#![allow(dead_code)] // Each test file uses a different subset.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tandem_e2e::{ServerOptions, TestServer, repo_root, require_or_skip};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// How long a whole browser scenario may take on a slow, shared 2-core machine.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// What the browser tests need on this machine.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    runner_dir: PathBuf,
    dist: PathBuf,
    /// Chromium trusts the server certificate with this key (`--ignore-certificate-errors-spki-list`).
    trusted_spki: Option<String>,
}

impl BrowserTools {
    /// The tools, or `None` after printing why the test cannot run here.
    pub fn detect(test: &str) -> Option<Self> {
        let chromium =
            std::env::var("TANDEM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if !Path::new(&chromium).exists() {
            require_or_skip(
                test,
                &format!("no Chromium at {chromium} (scripts/setup-browser.sh installs it)"),
            );
            return None;
        }
        if !tandem_e2e::node_available(test) {
            return None;
        }
        let root = repo_root();
        let runner_dir = root.join("tests/browser");
        if !runner_dir.join("node_modules/playwright-core").is_dir() {
            require_or_skip(
                test,
                "playwright-core is not installed (run scripts/setup-browser.sh)",
            );
            return None;
        }
        let dist = root.join("web/dist");
        if !dist.join("index.html").is_file() || !dist.join("tandem_web_bg.wasm").is_file() {
            require_or_skip(test, "the browser client is not built (run scripts/build-web.sh)");
            return None;
        }
        Some(Self { runner_dir, dist, trusted_spki: None })
    }

    /// The same tools with a browser that trusts `cert` (a test certificate authority's server
    /// certificate), as if its authority were installed.
    pub fn trusting(&self, cert: &tandem_e2e::ServerCert) -> Self {
        Self { trusted_spki: Some(cert.spki_sha256()), ..self.clone() }
    }

    /// A `tandem-server` serving the built page.
    pub async fn server(&self) -> anyhow::Result<TestServer> {
        self.server_with(ServerOptions::default()).await
    }

    /// A `tandem-server` with `options` (an auth key, say) serving the built page.
    pub async fn server_with(&self, mut options: ServerOptions) -> anyhow::Result<TestServer> {
        let web_dir = self.dist.to_str().context("web/dist path is not UTF-8")?.to_owned();
        options.args.extend(["--web-dir".into(), web_dir]);
        TestServer::start(options).await
    }

    /// Starts `node run.mjs SCENARIO --base BASE --doc DOC` with `args` appended.
    pub fn run(
        &self,
        scenario: &str,
        base: &str,
        doc: &str,
        args: &[String],
    ) -> anyhow::Result<Scenario> {
        let mut command = Command::new("node");
        if let Some(spki) = &self.trusted_spki {
            command.env("TANDEM_TRUST_SPKI", spki);
        }
        let mut child = command
            .arg("run.mjs")
            .arg(scenario)
            .args(["--base", base, "--doc", doc])
            .args(args)
            .current_dir(&self.runner_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting node run.mjs")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let events = tandem_e2e::json_lines(stdout, "run.mjs");
        let stdin = child.stdin.take();
        Ok(Scenario { child, events, stdin })
    }
}

/// A running browser scenario.
#[derive(Debug)]
pub struct Scenario {
    child: Child,
    events: mpsc::UnboundedReceiver<Value>,
    stdin: Option<ChildStdin>,
}

impl Scenario {
    /// The event named `name` if it arrived (other events are printed and dropped); fails with
    /// the scenario's stderr if the scenario ended without it.
    pub async fn poll(&mut self, name: &str) -> anyhow::Result<Option<Value>> {
        loop {
            match self.events.try_recv() {
                Ok(event) if event["event"] == name => return Ok(Some(event)),
                Ok(event) => eprintln!("run.mjs event: {event}"),
                Err(mpsc::error::TryRecvError::Empty) => return Ok(None),
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    let status = self.child.wait().await?;
                    bail!(
                        "browser scenario ended ({status}) before {name:?}:\n{}",
                        self.stderr().await
                    );
                }
            }
        }
    }

    /// Tells the scenario `word` (one line on its stdin), which it waits for with `heard` in
    /// browser.mjs: the scenario's events only say what happened, so a scenario must not go on
    /// to something that changes what the test is still checking (closing the pages) before
    /// the test says so.
    pub async fn say(&mut self, word: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("the scenario's stdin is closed")?;
        stdin.write_all(format!("{word}\n").as_bytes()).await.context("telling the scenario")?;
        stdin.flush().await.context("telling the scenario")?;
        Ok(())
    }

    /// Waits for the event named `name`; fails after [`SCENARIO_TIMEOUT`].
    pub async fn expect(&mut self, name: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + SCENARIO_TIMEOUT;
        loop {
            if let Some(event) = self.poll(name).await? {
                return Ok(event);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no {name:?} from the browser scenario within {SCENARIO_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the scenario to exit successfully.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        // End of input: a scenario still waiting for a word fails instead of hanging.
        drop(self.stdin.take());
        let status = tokio::time::timeout(SCENARIO_TIMEOUT, self.child.wait())
            .await
            .context("browser scenario did not exit")??;
        if !status.success() {
            bail!("browser scenario failed ({status}):\n{}", self.stderr().await);
        }
        Ok(())
    }

    async fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), stderr.read_to_string(&mut text))
                .await;
        }
        text
    }
}
