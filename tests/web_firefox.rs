//! The browser client in Firefox: real `tandem-server` serving the built page (web/dist),
//! headless Debian Firefox ESR driven by puppeteer-core over WebDriver BiDi
//! (`tests/browser/firefox.mjs`), and a Rust client on the same document.
//!
//! Needs firefox-esr, node and puppeteer-core (scripts/setup-browser.sh); skips with the reason
//! printed when one is missing (fails under `CI=true`). Builds the page with scripts/build-web.sh when web/dist is missing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use tandem_e2e::{
    ClientOptions, ServerOptions, TestClient, TestServer, repo_root, require_or_skip,
};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long the whole scenario may take on a slow, shared 2-core machine (Firefox starts slower
/// than Chromium).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// Firefox types text with emoji (one with a skin-tone modifier: two code points, one
/// grapheme) and CJK into CodeMirror and a Rust client receives exactly that text; the Rust
/// client types and Firefox shows exactly the result, the Rust user's cursor label and the
/// state "connected". Then Tab and Shift-Tab (issue 13) in another document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_page_and_rust_client_edit_one_document() -> anyhow::Result<()> {
    let test = "firefox_page_and_rust_client_edit_one_document";
    let Some(runner_dir) = detect(test) else {
        return Ok(());
    };
    let dist = built_page()?;
    let web_dir = dist.to_str().context("web/dist path is not UTF-8")?.to_owned();
    let server = TestServer::start(ServerOptions {
        args: vec!["--web-dir".into(), web_dir],
        ..Default::default()
    })
    .await?;
    let doc = "web-firefox";
    let mut rust = TestClient::connect_synced(
        &server.ws_url(doc),
        ClientOptions { durable: true, ..Default::default() },
    )
    .await?;
    rust.set_presence("Rusty", Some((0, 0))).await?;

    let page_text = "Firefox types 日本語 and 中文, emoji 😀👍🏽🎉 done.";
    let rust_text = "\nRust answers héllo 👋 世界";
    let screenshot =
        std::env::temp_dir().join(format!("tandem-firefox-{}.png", std::process::id()));
    let base = format!("http://{}", server.addr());
    let mut firefox = Command::new("node")
        .arg("firefox.mjs")
        .args(["--base", &base, "--doc", doc, "--text", page_text, "--rust", rust_text])
        .arg("--out")
        .arg(&screenshot)
        .current_dir(&runner_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node firefox.mjs")?;
    let mut events = events(&mut firefox)?;
    let deadline = Instant::now() + SCENARIO_TIMEOUT;

    let ready = next_event(&mut events, &mut firefox, &mut rust, "ready", deadline).await?;
    eprintln!("firefox: {}", ready["version"]);
    let typed = next_event(&mut events, &mut firefox, &mut rust, "typed", deadline).await?;
    assert_eq!(typed["text"], page_text, "the editor's text after typing in Firefox");
    // The Rust client gets exactly what Firefox typed, and sees who typed it.
    rust.wait_text(page_text).await?;
    assert_eq!(rust.text(), page_text);
    assert_eq!(rust.peer_names(), ["Fox"], "the Rust client sees the Firefox page's user");

    // The Rust client types at the end, key by key, its cursor following.
    for ch in rust_text.chars() {
        let at = rust.text().chars().count();
        rust.insert(at, &ch.to_string()).await?;
        rust.set_presence("Rusty", Some((at + 1, at + 1))).await?;
        rust.pump(Duration::from_millis(5)).await?;
    }
    let expected = format!("{page_text}{rust_text}");
    let shown = next_event(&mut events, &mut firefox, &mut rust, "shown", deadline).await?;
    let tabs = next_event(&mut events, &mut firefox, &mut rust, "tabs", deadline).await?;
    let status = tokio::time::timeout(SCENARIO_TIMEOUT, firefox.wait())
        .await
        .context("firefox.mjs did not exit")??;
    ensure!(status.success(), "firefox.mjs failed ({status}):\n{}", stderr(&mut firefox).await);

    assert_eq!(shown["text"], expected.as_str(), "the editor's text in Firefox");
    assert_eq!(shown["rendered"], expected.as_str(), "the lines Firefox renders");
    assert_eq!(shown["labels"], serde_json::json!(["Rusty"]), "cursor labels in Firefox");
    assert_eq!(shown["conn"], "connected", "the connection state in Firefox");
    assert_eq!(shown["unconfirmed"], 0, "Firefox's edits are confirmed durable");
    assert!(
        shown["userAgent"].as_str().is_some_and(|ua| ua.contains("Firefox/")),
        "it really was Firefox: {}",
        shown["userAgent"]
    );
    rust.wait_text(&expected).await?;
    let (status, body) = server.get(&format!("/api/docs/{doc}/text")).await?;
    assert_eq!((status, body.as_str()), (200, expected.as_str()), "the server's text");
    ensure!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "no screenshot");
    eprintln!("firefox screenshot: {}", screenshot.display());

    // Issue 13: Tab inserts at the cursor, indents a multi-line selection, Shift-Tab dedents.
    assert_eq!(tabs["atCursor"], "a   b", "Tab at the cursor in Firefox");
    assert_eq!(tabs["indented"], "    a   b\n    line two\n    line three");
    assert_eq!(tabs["dedented"], "a   b\nline two\nline three");
    assert_eq!(tabs["focused"], true, "Tab kept the focus in the editor");
    Ok(())
}

/// `tests/browser` when Firefox ESR, node and puppeteer-core are all there; otherwise prints
/// why the test cannot run here and returns `None`.
fn detect(test: &str) -> Option<PathBuf> {
    let firefox = std::env::var("TANDEM_FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
    if !Path::new(&firefox).exists() {
        require_or_skip(
            test,
            &format!("no Firefox at {firefox} (scripts/setup-browser.sh installs firefox-esr)"),
        );
        return None;
    }
    if !tandem_e2e::node_available(test) {
        return None;
    }
    let runner_dir = repo_root().join("tests/browser");
    if !runner_dir.join("node_modules/puppeteer-core").is_dir() {
        require_or_skip(test, "puppeteer-core is not installed (run scripts/setup-browser.sh)");
        return None;
    }
    Some(runner_dir)
}

/// web/dist, built by scripts/build-web.sh (which honours `CARGO_TARGET_DIR`) when missing.
fn built_page() -> anyhow::Result<PathBuf> {
    let root = repo_root();
    let dist = root.join("web/dist");
    let built = |dist: &Path| {
        dist.join("index.html").is_file() && dist.join("tandem_web_bg.wasm").is_file()
    };
    if !built(&dist) {
        eprintln!("web/dist is missing: running scripts/build-web.sh");
        let status = std::process::Command::new(root.join("scripts/build-web.sh"))
            .current_dir(&root)
            .status()
            .context("running scripts/build-web.sh")?;
        ensure!(status.success() && built(&dist), "scripts/build-web.sh failed ({status})");
    }
    Ok(dist)
}

/// The JSON lines the scenario prints, as they come; other lines are echoed to stderr.
fn events(child: &mut Child) -> anyhow::Result<mpsc::UnboundedReceiver<Value>> {
    let stdout = child.stdout.take().context("no stdout")?;
    Ok(tandem_e2e::json_lines(stdout, "firefox.mjs"))
}

/// Waits for the event named `name`, pumping the Rust client meanwhile (so it answers syncs and
/// sees presence); fails with the scenario's stderr if it ends first, or at `deadline`.
async fn next_event(
    events: &mut mpsc::UnboundedReceiver<Value>,
    child: &mut Child,
    rust: &mut TestClient,
    name: &str,
    deadline: Instant,
) -> anyhow::Result<Value> {
    loop {
        match events.try_recv() {
            Ok(event) if event["event"] == name => return Ok(event),
            Ok(event) => bail!("expected {name:?} from firefox.mjs, got {event}"),
            Err(mpsc::error::TryRecvError::Disconnected) => {
                let status = child.wait().await?;
                bail!("firefox.mjs ended ({status}) before {name:?}:\n{}", stderr(child).await);
            }
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        ensure!(
            Instant::now() < deadline,
            "no {name:?} from firefox.mjs within {SCENARIO_TIMEOUT:?}"
        );
        rust.pump(Duration::from_millis(20)).await?;
    }
}

async fn stderr(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ =
            tokio::time::timeout(Duration::from_secs(5), stderr.read_to_string(&mut text)).await;
    }
    text
}
