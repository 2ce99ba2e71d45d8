//! The browser's history sidebar end to end (issue 14): real `tandem-server`, headless Chromium
//! pages running the built page (web/dist) and the `tandem` terminal editor in tmux, on one
//! document.
//!
//! Needs Chromium, node, the built page and tmux (scripts/setup-browser.sh, scripts/build-web.sh,
//! scripts/setup-tmux.sh); when they are missing, each test skips with the reason printed, or
//! fails under `CI=true`.

#[path = "support/browser.rs"]
mod browser;
mod collab;

use std::time::Duration;

use anyhow::{Context, ensure};
use browser::{BrowserTools, SCENARIO_TIMEOUT};
use collab::{Pane, editor_args, save_and_read, tmux_available, wait_until};
use serde_json::Value;
use tandem_e2e::{ServerOptions, TestServer, repo_root};

/// The `--text` arguments of a scenario.
fn text_args(texts: &[&str]) -> Vec<String> {
    texts.iter().flat_map(|t| ["--text".to_owned(), (*t).to_owned()]).collect()
}

/// [`text_args`] and `--out` for the scenario's screenshot: `assets/NAME` with
/// `TANDEM_UPDATE_SCREENSHOT`, else in the temporary directory.
fn scenario_args(texts: &[&str], screenshot: &str) -> Vec<String> {
    let out = if std::env::var_os("TANDEM_UPDATE_SCREENSHOT").is_some() {
        repo_root().join("assets").join(screenshot)
    } else {
        std::env::temp_dir().join(format!("{}-{screenshot}", std::process::id()))
    };
    let mut args = text_args(texts);
    args.extend(["--out".to_owned(), out.display().to_string()]);
    args
}

/// Strings of a JSON array.
fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Two pages edit, each names a version from the sidebar, the second's preview marks what it
/// deleted and inserted, the terminal editor types, and one page restores the first version
/// after confirming: the other page and the terminal editor show exactly its text, and the
/// sidebars list the restore. The authors' dots have the colours of their cursors; axe-core
/// finds nothing serious in the open sidebar in either theme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_restores_a_named_version_and_every_client_follows() -> anyhow::Result<()> {
    let test = "a_page_restores_a_named_version_and_every_client_follows";
    let Some(tools) = BrowserTools::detect(test) else {
        return Ok(());
    };
    if !tmux_available(test) {
        return Ok(());
    }
    let server = tools.server().await?;
    let doc = "web-history";
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("history.txt");
    let pane = Pane::start(
        "history",
        &dir.path().join("editor"),
        &editor_args(&server.ws_url(doc), "Termi", &file),
    )?;
    tokio::task::block_in_place(|| pane.wait_for(&["connected"]));

    // Each change has one place only (no shifted twin), so the preview's marks are exact.
    let (line_a, line_b, dropped, added) = (
        "Ada's plan: one (two) three 中文\n",
        "Bo adds four 🎉\n",
        "(two)",
        "Bo's second thoughts",
    );
    let terminal = " + typed in the terminal";
    let args =
        scenario_args(&[line_a, line_b, dropped, added, terminal], "screenshot-web-history.png");
    let mut run = tools.run("history", &format!("http://{}", server.addr()), doc, &args)?;

    let named = run.expect("named").await?;
    let first = named["first"].as_str().context("first")?.to_owned();
    let second = named["second"].as_str().context("second")?.to_owned();
    assert_eq!(first, format!("{line_a}{line_b}"));
    assert_eq!(second, format!("{}{added}", first.replacen(dropped, "", 1)));
    tokio::task::block_in_place(|| {
        pane.wait_within(&["Bo's second thoughts"], SCENARIO_TIMEOUT);
        pane.keys(&["C-End"]);
        pane.type_text(terminal);
    });

    let restored = run.expect("restored").await?;
    run.finish().await?;

    // Who wrote the first draft, each in the colour of their cursor.
    let colours = &named["colours"];
    let authors = colours["authors"].as_array().context("authors")?;
    let present = colours["present"].as_array().context("present")?;
    let names: Vec<&str> = authors.iter().filter_map(|a| a[0].as_str()).collect();
    assert_eq!(names, ["Ada", "Bo"], "{colours}");
    for author in authors {
        let shown = present.iter().find(|p| p[0] == author[0]).context("author not present")?;
        assert_eq!(
            shown[1], author[1],
            "{}'s colour differs from their cursor's: {colours}",
            author[0]
        );
    }

    let preview = &restored["preview"];
    assert_eq!(strings(&preview["deleted"]), [dropped], "{preview}");
    assert_eq!(strings(&preview["inserted"]), [added], "{preview}");
    assert_eq!(
        preview["text"],
        format!("{line_a}{line_b}{added}").as_str(),
        "old and new in place"
    );
    assert!(
        preview["summary"]
            .as_str()
            .is_some_and(|s| s.contains("20 characters inserted, 5 deleted")),
        "{preview}"
    );

    assert!(restored["messy"].as_str().is_some_and(|t| t.ends_with(terminal)), "{restored}");
    assert!(restored["question"].as_str().is_some_and(|q| q.contains("first draft")), "{restored}");
    assert_eq!(restored["focusedFirst"], "Cancel", "Enter alone must not restore");
    assert!(restored["outcome"].as_str().is_some_and(|o| o.starts_with("Restored")), "{restored}");
    assert_eq!(restored["textA"], first.as_str());
    assert_eq!(restored["textB"], first.as_str(), "the other page follows the restore");
    assert_eq!(restored["violations"], serde_json::json!([]), "axe-core: {restored}");

    // The terminal editor shows the restored text, exactly.
    let saved = tokio::task::block_in_place(|| {
        wait_until(
            "the terminal editor to drop the restored-away text",
            SCENARIO_TIMEOUT,
            || (!pane.screen().contains("second thoughts")).then_some(()),
            || pane.screen(),
        );
        save_and_read(&pane, &file)
    });
    assert_eq!(saved, first, "the terminal editor's text");
    let (status, text) = server.get(&format!("/api/docs/{doc}/text")).await?;
    assert_eq!((status, text.as_str()), (200, first.as_str()));
    let (_, listed) = server.get(&format!("/api/docs/{doc}/versions")).await?;
    let listed: Value = serde_json::from_str(&listed)?;
    let kinds: Vec<&str> =
        listed.as_array().context("versions")?.iter().filter_map(|v| v["kind"].as_str()).collect();
    ensure!(kinds.first() == Some(&"restore"), "the restore is the newest version: {kinds:?}");
    Ok(())
}

/// A read-only link on a phone in the dark theme: the sidebar, used from the keyboard alone,
/// lists and previews versions; naming and restoring are disabled with the reason said; it
/// covers the screen without scrolling sideways, passes axe-core, and Escape closes it and
/// gives the focus back to its button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_page_browses_the_history_but_cannot_change_it() -> anyhow::Result<()> {
    let test = "a_read_only_page_browses_the_history_but_cannot_change_it";
    let Some(tools) = BrowserTools::detect(test) else {
        return Ok(());
    };
    let key = "history-browser-key";
    let server = tools
        .server_with(ServerOptions { auth_key: Some(key.into()), ..Default::default() })
        .await?;
    let doc = "read-only-history";
    let write = TestServer::token(key, &["--doc", doc, "--name", "ada"])?;
    let read = TestServer::token(key, &["--doc", doc, "--read-only"])?;
    let text = "kept for the record 📜\n";
    let mut writer = tandem_e2e::TestClient::connect_synced(
        &server.ws_url(doc),
        tandem_e2e::ClientOptions {
            token: Some(write.clone()),
            durable: true,
            ..Default::default()
        },
    )
    .await?;
    writer.insert(0, text).await?;
    writer.wait_durable().await?;
    let name = "reviewed";
    let (status, body) = server
        .post(
            &format!("/api/docs/{doc}/versions?token={write}"),
            &format!(r#"{{"name":"{name}"}}"#),
        )
        .await?;
    assert_eq!(status, 201, "{body}");

    let mut run = tools.run(
        "historyReadOnly",
        &format!("http://{}", server.addr()),
        doc,
        &scenario_args(&[&read, name], "screenshot-web-history-mobile.png"),
    )?;
    let seen = run.expect("readOnly").await?;
    run.finish().await?;
    assert_eq!(seen["preview"], text, "{seen}");
    assert_eq!(seen["restoreDisabled"], true, "{seen}");
    assert_eq!(seen["nameDisabled"], true, "{seen}");
    assert!(seen["why"].as_str().is_some_and(|w| w.contains("reading only")), "{seen}");
    assert_eq!(seen["describedBy"], "history-why");
    assert_eq!(seen["theme"], "dark");
    assert_eq!(seen["sideways"], false, "the sidebar scrolls sideways on a phone: {seen}");
    assert_eq!(seen["width"], seen["viewport"], "the sidebar covers a phone's width: {seen}");
    assert_eq!(seen["violations"], serde_json::json!([]), "axe-core: {seen}");
    assert_eq!(seen["closed"]["hidden"], true, "{seen}");
    assert_eq!(seen["closed"]["focus"], "history-button", "{seen}");
    assert_eq!(seen["closed"]["expanded"], "false");
    tokio::time::timeout(Duration::from_secs(5), writer.close()).await.ok();
    Ok(())
}

/// "Who wrote this" (issue 14): a Rust client present as "Rusty" writes a line, the page
/// types; with the colouring on, each author's text is tinted in the colour of their cursor
/// (the presence list's), the legend names both, text typed later is coloured once the server
/// has it, and switching it off removes every mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorship_colouring_uses_each_authors_cursor_colour() -> anyhow::Result<()> {
    let test = "authorship_colouring_uses_each_authors_cursor_colour";
    let Some(tools) = BrowserTools::detect(test) else {
        return Ok(());
    };
    let server = tools.server().await?;
    let doc = "web-authors";
    let mut rust = tandem_e2e::TestClient::connect_synced(
        &server.ws_url(doc),
        tandem_e2e::ClientOptions { durable: true, ..Default::default() },
    )
    .await?;
    rust.set_presence("Rusty", None).await?;
    rust.insert(0, "Rusty's line 🦀\n").await?;
    rust.wait_durable().await?;

    let (typed, more) = ("Ada's words 😀 中文", " and more");
    let args = text_args(&[typed, more]);
    let mut run = tools.run("authorship", &format!("http://{}", server.addr()), doc, &args)?;
    // Rusty stays present (peers silent for 30 s are dropped) for as long as the page looks.
    let deadline = tokio::time::Instant::now() + SCENARIO_TIMEOUT;
    let mut renew = tokio::time::Instant::now();
    let seen = loop {
        if let Some(event) = run.poll("authorship").await? {
            break event;
        }
        ensure!(tokio::time::Instant::now() < deadline, "no authorship event");
        if renew.elapsed() > Duration::from_secs(5) {
            rust.set_presence("Rusty", None).await?;
            renew = tokio::time::Instant::now();
        }
        rust.pump(Duration::from_millis(50)).await?;
    };
    run.finish().await?;

    assert_eq!(seen["pressed"], "true");
    for (state, ada) in
        [(&seen["first"], typed.to_owned()), (&seen["after"], format!("{typed}{more}"))]
    {
        assert_eq!(state["byAuthor"]["Ada"]["text"], ada.as_str(), "{state}");
        assert_eq!(state["byAuthor"]["Rusty"]["text"], "Rusty's line 🦀", "{state}");
        for author in ["Ada", "Rusty"] {
            let colours = &state["byAuthor"][author]["colors"];
            assert_eq!(
                colours,
                &serde_json::json!([state["present"][author]]),
                "{author}: {state}"
            );
        }
        assert_eq!(strings(&state["legend"]), ["Rusty", "Ada"], "{state}");
    }
    assert_eq!(seen["first"]["present"]["Rusty"], "rgb(51, 102, 255)", "Rusty's own colour");
    Ok(())
}
