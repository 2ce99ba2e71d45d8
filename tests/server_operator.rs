//! The operator's tools of the real `tandem-server` binary: a backup taken while clients write
//! restores to a server holding every update confirmed before it began; export and import move
//! documents out and back in; the auth key from a file; the client address from a trusted proxy;
//! logs without colour codes when stderr is a file.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tandem_e2e::{ClientOptions, ServerOptions, TIMEOUT, TestClient, TestServer, server_binary};
use tokio::time::Instant;

/// Runs `tandem-server ARGS` to completion; returns its stderr, failing on a non-zero exit.
async fn tool(args: &[&str], data_dir: &Path) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(server_binary()?)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TANDEM_DATABASE_URL")
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    anyhow::ensure!(out.status.success(), "tandem-server {args:?} failed: {stderr}");
    Ok(stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_every_confirmed_update() {
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    let url = server.ws_url("busy");
    let confirmed = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let (url, confirmed, stop) = (url.clone(), confirmed.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let options = ClientOptions { durable: true, ..ClientOptions::default() };
            let mut client = TestClient::connect_synced(&url, options).await?;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let token = format!("<w{writer}-{n}>");
                client.append(&token).await?;
                client.wait_durable().await?;
                confirmed.lock().unwrap().push(token);
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let deadline = Instant::now() + TIMEOUT;
    while confirmed.lock().unwrap().len() < 60 {
        assert!(Instant::now() < deadline, "the writers are too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Everything confirmed before the backup starts must be in it; the writers go on meanwhile.
    // On a loaded machine a backup may finish before the next confirmation: then it proves
    // nothing about load, and another one is taken (each into a directory of its own).
    let mut attempts = Vec::new();
    let (before, during) = loop {
        let before = confirmed.lock().unwrap().clone();
        let restore_dir = tempfile::tempdir().unwrap();
        let copy = restore_dir.path().join("tandem.db");
        tool(&["backup", copy.to_str().unwrap()], server.data_dir()).await.unwrap();
        let during = confirmed.lock().unwrap().len() - before.len();
        attempts.push(restore_dir);
        if during > 0 || attempts.len() == 5 {
            break (before, during);
        }
    };
    let restore_dir = attempts.pop().unwrap();
    let copy = restore_dir.path().join("tandem.db");
    let copy_arg = copy.to_str().unwrap();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    assert!(during > 0, "no update was confirmed while any of 5 backups ran: not under load");
    let refused = tool(&["backup", copy_arg], server.data_dir()).await.unwrap_err().to_string();
    assert!(refused.contains("never overwrites"), "{refused}");

    let restored = TestServer::start(ServerOptions {
        data_dir: Some(restore_dir.path().to_owned()),
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let (status, text) = restored.get("/api/docs/busy/text").await.unwrap();
    assert_eq!(status, 200);
    let missing: Vec<&String> =
        before.iter().filter(|token| !text.contains(token.as_str())).collect();
    assert!(missing.is_empty(), "confirmed before the backup, missing from it: {missing:?}");
}

#[tokio::test]
async fn export_and_import_move_documents_out_and_back_in() {
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    for (doc, text) in [
        ("team/notes.md", "# notes 📝\n"),
        ("team/src/main.rs", "fn main() {}\n"),
        ("solo", "alone"),
    ] {
        let url = server.ws_url(&doc.replace('/', "%2F"));
        let options = ClientOptions { durable: true, ..ClientOptions::default() };
        let mut client = TestClient::connect_synced(&url, options).await.unwrap();
        client.append(text).await.unwrap();
        client.wait_durable().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    // Export reads while the server runs.
    let said = tool(&["export", out_arg, "--prefix", "team/"], server.data_dir()).await.unwrap();
    assert!(said.contains("exported 2 documents"), "{said}");
    assert_eq!(std::fs::read_to_string(out.join("notes.md")).unwrap(), "# notes 📝\n");
    assert_eq!(std::fs::read_to_string(out.join("src/main.rs")).unwrap(), "fn main() {}\n");
    assert!(!out.join("solo").exists());

    let fresh = dir.path().join("fresh");
    let said = tool(&["import", out_arg, "--prefix", "moved/"], &fresh).await.unwrap();
    assert!(said.contains("imported 2 documents"), "{said}");
    let again = tool(&["import", out_arg, "--prefix", "moved/"], &fresh).await.unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    let moved =
        TestServer::start(ServerOptions { data_dir: Some(fresh), ..ServerOptions::default() })
            .await
            .unwrap();
    let (_, text) = moved.get("/api/docs/moved%2Fsrc%2Fmain.rs/text").await.unwrap();
    assert_eq!(text, "fn main() {}\n");
}

#[tokio::test]
async fn the_auth_key_comes_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{}\n", "s".repeat(32))).unwrap();
    let key_arg = key_file.to_str().unwrap().to_owned();
    let server = TestServer::start(ServerOptions {
        args: vec!["--auth-key-file".into(), key_arg.clone()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let argv = std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&argv).contains(&"s".repeat(32)), "the key is in argv");

    let minted = std::process::Command::new(server_binary().unwrap())
        .args(["token", "--doc", "vault", "--auth-key-file", &key_arg])
        .env_remove("TANDEM_AUTH_KEY")
        .output()
        .unwrap();
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let options = ClientOptions { token: Some(token), ..ClientOptions::default() };
    TestClient::connect_synced(&server.ws_url("vault"), options).await.unwrap();
    let mut anonymous =
        TestClient::connect(&server.ws_url("vault"), ClientOptions::default()).await.unwrap();
    assert_eq!(anonymous.wait_closed().await.unwrap().code(), Some(1008));
}

/// Opens a websocket to `doc` on `server` with an `X-Forwarded-For` header, and closes it.
async fn connect_forwarded(server: &TestServer, doc: &str, forwarded: &str) -> anyhow::Result<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.ws_url(doc).into_client_request()?;
    request.headers_mut().insert("x-forwarded-for", forwarded.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    socket.close(None).await?;
    Ok(())
}

/// Waits until the server logged a disconnect from document `doc`; returns that line.
async fn disconnect_line(server: &TestServer, doc: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let log = server.log();
        let needle = format!("\"doc\":\"{doc}\"");
        if let Some(line) =
            log.lines().find(|l| l.contains("\"disconnected\"") && l.contains(&needle))
        {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no disconnect of {doc} logged:\n{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_with_trust_proxy() {
    let plain = TestServer::start(ServerOptions::default()).await.unwrap();
    connect_forwarded(&plain, "direct", "6.6.6.6, 203.0.113.7").await.unwrap();
    let line = disconnect_line(&plain, "direct").await;
    assert!(line.contains("\"peer\":\"Some(127.0.0.1:") && !line.contains("203.0.113.7"), "{line}");

    let proxied = TestServer::start(ServerOptions {
        args: vec!["--trust-proxy".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    connect_forwarded(&proxied, "behind", "6.6.6.6, 203.0.113.7").await.unwrap();
    let line = disconnect_line(&proxied, "behind").await;
    assert!(
        line.contains("Some(203.0.113.7 via 127.0.0.1:") && !line.contains("6.6.6.6"),
        "{line}"
    );
}

#[tokio::test]
async fn a_log_written_to_a_file_has_no_colour_codes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let log_path = dir.path().join("server.log");
    let mut child = std::process::Command::new(server_binary()?)
        .args(["--listen", "127.0.0.1:0", "--log-format", "text", "--data-dir"])
        .arg(dir.path())
        .env_remove("TANDEM_AUTH_KEY")
        .env_remove("TANDEM_DATABASE_URL")
        .env_remove("TANDEM_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .spawn()
        .context("spawning tandem-server")?;
    let deadline = Instant::now() + TIMEOUT;
    let log = loop {
        let log = std::fs::read_to_string(&log_path)?;
        if log.contains("listening") {
            break log;
        }
        anyhow::ensure!(Instant::now() < deadline, "never listened:\n{log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(log.contains(" INFO ") && !log.contains('\u{1b}'), "{log:?}");
    Ok(())
}

#[tokio::test]
async fn the_browser_client_is_built_into_the_binary() {
    let dist = tandem_e2e::repo_root().join("web/dist");
    let Ok(index) = std::fs::read_to_string(dist.join("index.html")) else {
        tandem_e2e::require_or_skip(
            "the_browser_client_is_built_into_the_binary",
            "web/dist is not built (scripts/build-web.sh), so the binary holds no client",
        );
        return;
    };
    // No --web-dir: what the binary holds.
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    assert_eq!(server.get("/").await.unwrap(), (200, index.clone()));
    assert_eq!(server.get("/d/team%2Fnotes").await.unwrap(), (200, index));
    let worker = std::fs::read_to_string(dist.join("sw.js")).unwrap();
    assert_eq!(server.get("/sw.js").await.unwrap(), (200, worker));
}
