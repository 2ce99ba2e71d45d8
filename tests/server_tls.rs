//! tandem-server with `--tls-cert/--tls-key`, signed by a certificate authority made for the test:
//! https and wss for tandem's clients, tandem-load and a stock Yjs client; every connection
//! problem named as a person can act on it, against real servers; the certificate reloaded while
//! clients stay connected.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tandem_connect::{Connector, Problem};
use tandem_e2e::{
    ClientOptions, Closed, ServerOptions, StockYjsClient, TIMEOUT, TestCa, TestClient, TestServer,
    Validity, presented_certificate, workspace_binary,
};

/// What connecting to `url`, trusting `ca`, runs into.
async fn problem(url: &str, ca: Option<&Path>) -> Problem {
    match Connector::new(ca).unwrap().connect(url, None).await {
        Ok(_) => panic!("{url}: connected"),
        Err(error) => Problem::from_connect(&error),
    }
}

#[tokio::test]
async fn tandem_clients_and_tandem_load_edit_over_wss_and_the_page_comes_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let (server, files) =
        TestServer::start_tls(dir.path(), &ca, &["localhost"], Validity::Current).await.unwrap();
    assert_eq!(server.get("/healthz").await.unwrap(), (200, "ok\n".into()));
    let (status, page) = server.get("/").await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("<html"), "{page}");

    let url = server.ws_url("secure");
    assert!(url.starts_with("wss://localhost:"), "{url}");
    let options =
        ClientOptions { ca_cert: Some(files.ca.clone()), durable: true, ..Default::default() };
    let mut alice = TestClient::connect_synced(&url, options.clone()).await.unwrap();
    alice.insert(0, "over TLS 🔒").await.unwrap();
    alice.wait_durable().await.unwrap();
    let mut bob = TestClient::connect_synced(&url, options).await.unwrap();
    bob.wait_text("over TLS 🔒").await.unwrap();
    assert_eq!(server.get("/api/docs/secure/text").await.unwrap().1, "over TLS 🔒");

    let base = format!("wss://localhost:{}", server.addr().port());
    let ca_arg = files.ca.to_str().unwrap();
    let report =
        load(&base, &["--docs", "2", "--clients-per-doc", "2", "--ca-cert", ca_arg], &[]).await;
    assert_eq!(report["connections"]["synced"], 4, "{report}");
    assert_eq!(report["verify"]["missing"], 0, "{report}");
    assert!(report["durable"]["confirmed_total"].as_u64().unwrap() > 0, "{report}");
    // The system's trust store, moved by the variables OpenSSL reads too.
    let by_file = load(&base, &[], &[("SSL_CERT_FILE", &files.ca)]).await;
    assert_eq!(by_file["connections"]["synced"], 1, "{by_file}");
    let by_dir = load(&base, &[], &[("SSL_CERT_DIR", files.ca.parent().unwrap())]).await;
    assert_eq!(by_dir["connections"]["synced"], 1, "{by_dir}");
}

/// A short `tandem-load` run against `base` with `args` and `env`; its JSON report.
async fn load(base: &str, args: &[&str], env: &[(&str, &Path)]) -> serde_json::Value {
    let binary = workspace_binary("tandem-load", "TANDEM_LOAD_BIN").unwrap();
    let out = tokio::process::Command::new(binary)
        .args(["--url", base, "--rate", "20", "--duration", "1", "--drain", "1"])
        .args(["--ext-durable", "--verify-durable", "--json"])
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test]
async fn a_stock_yjs_client_trusting_the_ca_edits_with_a_tandem_client_over_wss() {
    let Some(yjs) = StockYjsClient::detect("stock_yjs_over_wss") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let (server, files) =
        TestServer::start_tls(dir.path(), &ca, &["localhost"], Validity::Current).await.unwrap();
    let base = format!("wss://localhost:{}", server.addr().port());
    let options = ClientOptions { ca_cert: Some(files.ca.clone()), ..Default::default() };
    let mut ada = TestClient::connect_synced(&server.ws_url("interop"), options).await.unwrap();
    ada.set_presence("ada", None).await.unwrap();
    let text = yjs.trusting(&files.ca).edit_beside(&mut ada, &base, "interop").await.unwrap();
    assert!(text.contains("[yan 0]") && text.contains("<ada-done>"), "{text}");
}

#[tokio::test]
async fn every_connection_problem_is_named_against_real_servers() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("the trusted CA").unwrap();
    let trusted = ca.write(dir.path()).unwrap();
    let stranger = TestCa::new("an unknown CA").unwrap();
    let localhost = || "localhost".to_owned();

    let (untrusted, _) =
        TestServer::start_tls(&dir.path().join("u"), &stranger, &["localhost"], Validity::Current)
            .await
            .unwrap();
    let url = untrusted.ws_url("doc");
    let expected = Problem::UntrustedCertificate { host: localhost() };
    assert_eq!(problem(&url, Some(&trusted)).await, expected);
    assert_eq!(problem(&url, None).await, expected, "the platform's roots alone");

    let (misnamed, _) =
        TestServer::start_tls(&dir.path().join("m"), &ca, &["other.example"], Validity::Current)
            .await
            .unwrap();
    match problem(&misnamed.ws_url("doc"), Some(&trusted)).await {
        Problem::WrongHost { host, presented } => {
            assert_eq!(host, "localhost");
            assert!(presented.iter().any(|n| n.contains("other.example")), "{presented:?}");
        }
        other => panic!("expected WrongHost, got {other:?}"),
    }

    let (expired, _) =
        TestServer::start_tls(&dir.path().join("e"), &ca, &["localhost"], Validity::Expired)
            .await
            .unwrap();
    let got = problem(&expired.ws_url("doc"), Some(&trusted)).await;
    assert_eq!(got, Problem::ExpiredCertificate { host: localhost() });

    // wss:// to a plain server, ws:// to a TLS one.
    let plain = TestServer::start(ServerOptions::default()).await.unwrap();
    let port = plain.addr().port();
    let got = problem(&format!("wss://localhost:{port}/doc"), Some(&trusted)).await;
    assert_eq!(got, Problem::NotTls { host: localhost() });
    let got = problem(&format!("ws://localhost:{}/doc", expired.addr().port()), None).await;
    assert!(matches!(got, Problem::Lost { .. }), "{got:?}");

    assert!(matches!(
        problem("wss://no-such-host.invalid/doc", None).await,
        Problem::UnknownHost { .. }
    ));
    let closed: SocketAddr =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let got = problem(&format!("ws://{closed}/doc"), None).await;
    assert_eq!(got, Problem::Refused { addr: closed.to_string() });

    // HTTP statuses on upgrade: a bad document id (400), a full server (503).
    let got = problem(&format!("ws://{}/ws/a/%2E%2E/b", plain.addr()), None).await;
    assert!(matches!(got, Problem::Http { status: 400, .. }), "{got:?}");
    let full = TestServer::start(ServerOptions {
        args: vec!["--max-connections".into(), "1".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let _holder =
        TestClient::connect_synced(&full.ws_url("doc"), ClientOptions::default()).await.unwrap();
    let got = problem(&full.ws_url("doc"), None).await;
    assert_eq!(got, Problem::Http { status: 503, body: "too many connections".into() });
    // Over TLS too: the handshake completes and the upgrade is answered.
    let files = ca.issue(&["localhost"], Validity::Current).unwrap();
    let full_tls = TestServer::start(ServerOptions {
        tls: Some(files.write(&dir.path().join("f"), &ca).unwrap()),
        args: vec!["--max-connections".into(), "1".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let holder_options = ClientOptions { ca_cert: Some(trusted.clone()), ..Default::default() };
    let _tls_holder =
        TestClient::connect_synced(&full_tls.ws_url("doc"), holder_options).await.unwrap();
    let got = problem(&full_tls.ws_url("doc"), Some(&trusted)).await;
    assert_eq!(got, Problem::Http { status: 503, body: "too many connections".into() });

    // A refused token closes with 1008 and its reason; a stopping server with 1001.
    let key = "k".repeat(32);
    let locked =
        TestServer::start(ServerOptions { auth_key: Some(key), ..ServerOptions::default() })
            .await
            .unwrap();
    let mut anonymous =
        TestClient::connect(&locked.ws_url("doc"), ClientOptions::default()).await.unwrap();
    let Closed::Frame(code, reason) = anonymous.wait_closed().await.unwrap() else {
        panic!("no close frame")
    };
    let denied = Problem::from_close(code, &reason);
    assert!(
        matches!(&denied, Problem::Denied { reason } if reason.contains("token")),
        "{denied:?}"
    );
    assert!(denied.to_string().contains("--token"), "{denied}");
    let mut server = plain;
    let mut client =
        TestClient::connect_synced(&server.ws_url("doc"), ClientOptions::default()).await.unwrap();
    assert!(server.stop().await.unwrap());
    let Closed::Frame(code, reason) = client.wait_closed().await.unwrap() else {
        panic!("no close frame")
    };
    assert_eq!(Problem::from_close(code, &reason), Problem::GoingAway);
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("tandem test CA").unwrap();
    let first = ca.issue(&["localhost"], Validity::Current).unwrap();
    let files = first.write(dir.path(), &ca).unwrap();
    let server = TestServer::start(ServerOptions {
        tls: Some(files.clone()),
        args: vec!["--tls-reload-secs".into(), "1".into()],
        ..ServerOptions::default()
    })
    .await
    .unwrap();
    let addr = server.addr();
    assert_eq!(presented_certificate(addr, "localhost", &files.ca).await.unwrap(), first.der());
    let options =
        ClientOptions { ca_cert: Some(files.ca.clone()), durable: true, ..Default::default() };
    let url = server.ws_url("renewal");
    let mut kept = TestClient::connect_synced(&url, options.clone()).await.unwrap();
    kept.insert(0, "before.").await.unwrap();
    kept.wait_durable().await.unwrap();

    // certbot's way: new files in place (here written over the old ones).
    let renewed = ca.issue(&["localhost"], Validity::Current).unwrap();
    renewed.write(dir.path(), &ca).unwrap();
    wait_presented(addr, &files.ca, &renewed).await;

    // SIGHUP reloads at once, whether or not the files look changed.
    let third = ca.issue(&["localhost"], Validity::Current).unwrap();
    third.write(dir.path(), &ca).unwrap();
    // SAFETY: kill(2) on the server child's pid; no memory is touched.
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
    wait_presented(addr, &files.ca, &third).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !server.log().contains("\"on_signal\":true") {
        assert!(tokio::time::Instant::now() < deadline, "no reload on SIGHUP:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken renewal (a key that does not match) keeps the certificate in use.
    std::fs::write(&files.key, ca.issue(&["localhost"], Validity::Current).unwrap().key_pem)
        .unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !server.log().contains("TLS certificate not reloaded") {
        assert!(tokio::time::Instant::now() < deadline, "no failed reload:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(presented_certificate(addr, "localhost", &files.ca).await.unwrap(), third.der());

    // The connection opened before all this still edits, and a new one sees its edits.
    assert!(kept.closed().is_none(), "{:?}", kept.closed());
    kept.append("after.").await.unwrap();
    kept.wait_durable().await.unwrap();
    let mut fresh = TestClient::connect_synced(&url, options).await.unwrap();
    fresh.wait_text("before.after.").await.unwrap();
}

/// Waits until new handshakes at `addr` present `cert`.
async fn wait_presented(addr: SocketAddr, ca: &Path, cert: &tandem_e2e::ServerCert) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if presented_certificate(addr, "localhost", ca).await.ok() == Some(cert.der()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the new certificate was never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
