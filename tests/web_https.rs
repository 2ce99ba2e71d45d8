//! The browser client over https: tandem-server with `--tls-cert/--tls-key` (a certificate
//! authority made for the test, which Chromium trusts), the page, its service worker, IndexedDB
//! and the websocket all on the https origin. The page is the one built into the binary (no
//! `--web-dir`): one binary serves everything.
//!
//! Needs Chromium, node and the built page, like `web_browser`.

#[path = "support/browser.rs"]
mod browser;

use browser::BrowserTools;
use tandem_e2e::{ClientOptions, ServerOptions, TestCa, TestClient, TestServer, Validity};

/// The offline scenario of `web_browser`, over https: a page goes offline, types, reloads from
/// its service worker and IndexedDB, and merges with another page when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_offline_and_merges_over_https() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::detect("the_page_works_offline_and_merges_over_https") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new("tandem test CA")?;
    let cert = ca.issue(&["localhost"], Validity::Current)?;
    let files = cert.write(dir.path(), &ca)?;
    let options = ServerOptions { tls: Some(files.clone()), ..ServerOptions::default() };
    let server = TestServer::start(options).await?;
    let doc = "web-https";
    let texts = ["Online over TLS. ", "Offline 🔒 ", "reloaded offline.", "B typed meanwhile. "];
    let args: Vec<String> =
        texts.iter().flat_map(|t| ["--text".to_owned(), (*t).to_owned()]).collect();
    let base = format!("https://localhost:{}", server.addr().port());
    let mut scenario = tools.trusting(&cert).run("offline", &base, doc, &args)?;

    let reloaded = scenario.expect("reloaded-offline").await?;
    assert_eq!(reloaded["text"], format!("{}{}", texts[0], texts[1]).as_str(), "{reloaded}");
    let merged = scenario.expect("merged").await?;
    scenario.finish().await?;
    let expected = format!("{}{}{}{}", texts[3], texts[0], texts[1], texts[2]);
    assert_eq!(merged["text"], expected.as_str());
    let options = ClientOptions { ca_cert: Some(files.ca), ..ClientOptions::default() };
    let mut reader = TestClient::connect_synced(&server.ws_url(doc), options).await?;
    reader.wait_text(&expected).await?;
    Ok(())
}

/// The status bar says why the page is not connected: the server is full, going away, then
/// unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_bar_says_why_the_page_is_not_connected() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::detect("the_status_bar_says_why_the_page_is_not_connected")
    else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new("tandem test CA")?;
    let cert = ca.issue(&["localhost"], Validity::Current)?;
    let options = ServerOptions {
        tls: Some(cert.write(dir.path(), &ca)?),
        args: vec!["--max-connections".into(), "1".into()],
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await?;
    let base = format!("https://localhost:{}", server.addr().port());
    let mut scenario = tools.trusting(&cert).run("banner", &base, "web-banner", &[])?;
    let full = scenario.expect("full").await?;
    assert!(full["status"].as_str().is_some_and(|s| s.contains("retry in")), "{full}");
    server.stop().await?;
    scenario.expect("going-away").await?;
    scenario.expect("unreachable").await?;
    scenario.finish().await?;
    Ok(())
}

/// Behind nginx terminating TLS (the documented configuration): the home page lists the
/// documents, opens one by name and its edits become durable on the plain server behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_through_nginx() -> anyhow::Result<()> {
    const TEST: &str = "the_page_works_through_nginx";
    let Some(tools) = BrowserTools::detect(TEST) else { return Ok(()) };
    let Some(nginx) = tandem_e2e::nginx_binary(TEST) else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new("tandem test CA")?;
    let cert = ca.issue(&["localhost"], Validity::Current)?;
    let files = cert.write(dir.path(), &ca)?;
    let server = TestServer::start(ServerOptions::default()).await?;
    let proxy = tandem_e2e::Nginx::start(&nginx, server.addr(), &files).await?;
    let base = format!("https://localhost:{}", proxy.addr.port());
    let options = ClientOptions { ca_cert: Some(files.ca), durable: true, ..Default::default() };
    let mut existing = TestClient::connect_synced(
        &format!("wss://localhost:{}/listed", proxy.addr.port()),
        options,
    )
    .await?;
    existing.insert(0, "already here").await?;
    existing.wait_durable().await?;
    let args = ["--text".to_owned(), "listed".to_owned()];
    let mut scenario = tools.trusting(&cert).run("home", &base, "made-through-nginx", &args)?;
    scenario.expect("opened").await?;
    scenario.finish().await?;
    let (_, text) = server.get("/api/docs/made-through-nginx/text").await?;
    assert_eq!(text, "made from the home page");
    Ok(())
}
