//! The browser client end to end: real `tandem-server`, headless Chromium pages running the
//! built page (web/dist), and a Rust client, all on one document.
//!
//! Needs Chromium, node and the built page (scripts/setup-browser.sh, scripts/build-web.sh);
//! when they are missing, each test skips with the reason printed, or fails under `CI=true`.

#[path = "support/browser.rs"]
mod browser;

use std::time::Duration;

use anyhow::{Context, ensure};
use browser::{BrowserTools, SCENARIO_TIMEOUT};
use tandem_e2e::{ClientOptions, TestClient, repo_root};
use tokio::time::Instant;

/// Where the Rust client types: after this line's prefix, which the pages never touch.
const RUST_PREFIX: &str = "🦀 rust: ";

/// Two pages type at once (one at the end, one at the start) while a Rust client types in the
/// middle; everyone ends with the same text, exactly what each typed, and the pages show each
/// other's and the Rust client's cursors with names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_and_a_rust_client_converge_with_cursors() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::detect("two_pages_and_a_rust_client_converge_with_cursors")
    else {
        return Ok(());
    };
    let server = tools.server().await?;
    let doc = "web-converge";
    let mut rust = TestClient::connect_synced(
        &server.ws_url(doc),
        ClientOptions { durable: true, ..Default::default() },
    )
    .await?;
    rust.insert(0, &format!("{RUST_PREFIX}\n")).await?;
    let rust_cursor = RUST_PREFIX.chars().count();
    rust.set_presence("Rusty", Some((rust_cursor, rust_cursor))).await?;

    let text_a = "Ada types 日本語 and emoji 😀👍🏽 at the end.";
    let text_b = "Bo writes 中文 🎉 first. ";
    let text_rust = "Rust says héllo 👋 世界";
    let screenshot = if std::env::var_os("TANDEM_UPDATE_SCREENSHOT").is_some() {
        repo_root().join("assets/screenshot-web.png")
    } else {
        std::env::temp_dir().join(format!("tandem-screenshot-{}.png", std::process::id()))
    };
    let base = format!("http://{}", server.addr());
    let args: Vec<String> = [text_a, text_b, &format!("{RUST_PREFIX}{text_rust}\n")]
        .iter()
        .flat_map(|t| ["--text".to_owned(), (*t).to_owned()])
        .chain(["--out".to_owned(), screenshot.display().to_string()])
        .collect();
    let mut scenario = tools.run("converge", &base, doc, &args)?;

    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    while scenario.poll("ready").await?.is_none() {
        ensure!(Instant::now() < deadline, "the pages never got ready");
        rust.pump(Duration::from_millis(20)).await?;
    }
    // Type while the pages type, each char where the Rust user's cursor is now (remote edits
    // move it: the presence cursor is a sticky position).
    for ch in text_rust.chars() {
        let cursor = rust.client().presence().local_state().and_then(|state| state.cursor);
        let at = cursor
            .and_then(|c| c.to_chars(rust.client_mut().document_mut()))
            .map(|(_, head)| head)
            .context("the Rust client lost its cursor")?;
        rust.insert(at, &ch.to_string()).await?;
        rust.set_presence("Rusty", Some((at + 1, at + 1))).await?;
        let next = Instant::now() + Duration::from_millis(15);
        while Instant::now() < next && rust.pump(next - Instant::now()).await? {}
    }
    let converged = loop {
        if let Some(event) = scenario.poll("converged").await? {
            break event;
        }
        ensure!(Instant::now() < deadline, "the pages never converged");
        rust.pump(Duration::from_millis(20)).await?;
    };
    // Read before the browsers close: closing pages say they left.
    let mut peers = rust.peer_names();
    peers.sort();
    scenario.finish().await?;

    let expected = format!("{text_b}{RUST_PREFIX}{text_rust}\n{text_a}");
    rust.wait_text(&expected).await?;
    assert_eq!(converged["text"], expected.as_str(), "the pages' text");
    for page in ["labelsA", "labelsB"] {
        let labels: Vec<&str> = converged[page]
            .as_array()
            .context("labels")?
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let other = if page == "labelsA" { "Bo" } else { "Ada" };
        assert_eq!(labels, sorted(&[other, "Rusty"]), "cursors shown by page {page}");
    }
    assert_eq!(peers, ["Ada", "Bo"], "the Rust client sees both pages");
    // The server has it too, durably: the page's edits were confirmed.
    let (status, body) = server.get(&format!("/api/docs/{doc}/text")).await?;
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    ensure!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000), "no screenshot");
    Ok(())
}

/// A page goes offline, types, is reloaded while offline (the service worker serves the page,
/// IndexedDB the document), types again and comes back online: its edits and the other page's
/// merge and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_survive_a_reload_and_merge() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::detect("offline_edits_survive_a_reload_and_merge") else {
        return Ok(());
    };
    let server = tools.server().await?;
    let doc = "web-offline";
    let texts = [
        "Online first. ",
        "Offline 中文 🎉 ",
        "after reload ✍️ still offline.",
        "B typed 👋 meanwhile. ",
    ];
    let args: Vec<String> =
        texts.iter().flat_map(|t| ["--text".to_owned(), (*t).to_owned()]).collect();
    let mut scenario = tools.run("offline", &format!("http://{}", server.addr()), doc, &args)?;

    let typed = scenario.expect("typed-offline").await?;
    assert!(
        typed["unconfirmed"].as_u64().is_some_and(|n| n > 0),
        "offline edits are unconfirmed: {typed}"
    );
    let reloaded = scenario.expect("reloaded-offline").await?;
    assert_eq!(
        reloaded["text"],
        format!("{}{}", texts[0], texts[1]).as_str(),
        "restored from IndexedDB"
    );
    assert!(
        reloaded["unconfirmed"].as_u64().is_some_and(|n| n > 0),
        "still unconfirmed after reload"
    );
    let merged = scenario.expect("merged").await?;
    scenario.finish().await?;

    let expected = format!("{}{}{}{}", texts[3], texts[0], texts[1], texts[2]);
    assert_eq!(merged["text"], expected.as_str());
    let mut reader =
        TestClient::connect_synced(&server.ws_url(doc), ClientOptions::default()).await?;
    reader.wait_text(&expected).await?;
    Ok(())
}

/// The home page lists documents from the server's `/api/docs` and creates one from a name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_lists_documents_and_opens_one_by_name() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::detect("home_page_lists_documents_and_opens_one_by_name")
    else {
        return Ok(());
    };
    let server = tools.server().await?;
    let mut writer = TestClient::connect_synced(
        &server.ws_url("existing-doc"),
        ClientOptions { durable: true, ..Default::default() },
    )
    .await?;
    writer.insert(0, "already here").await?;
    writer.wait_durable().await?;
    let args = ["--text".to_owned(), "existing-doc".to_owned()];
    let base = format!("http://{}", server.addr());
    // A name with spaces and capitals becomes a valid document id.
    let mut scenario = tools.run("home", &base, "Project Plan 2026", &args)?;
    let opened = scenario.expect("opened").await?;
    scenario.finish().await?;
    assert_eq!(opened["url"], format!("{base}/d/project-plan-2026").as_str());
    let (status, text) = server.get("/api/docs/project-plan-2026/text").await?;
    assert_eq!((status, text.as_str()), (200, "made from the home page"));
    Ok(())
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    names.sort();
    names
}
