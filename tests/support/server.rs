//! [`TestServer`]: the real `tandem-server` binary on a free port with its own data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::TIMEOUT;

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Data directory; `None` makes a fresh temporary one (deleted when the last
    /// [`TestServer`] using it is dropped).
    pub data_dir: Option<PathBuf>,
    /// `--database-url` (PostgreSQL tests).
    pub database_url: Option<String>,
    /// `--auth-key`.
    pub auth_key: Option<String>,
    /// Extra command-line arguments, e.g. `["--max-queued-messages", "100"]`.
    pub args: Vec<String>,
    /// `--tls-cert` and `--tls-key`: the server speaks https and wss, and is addressed as
    /// `localhost` (the name test certificates hold).
    pub tls: Option<crate::TlsFiles>,
    /// The process's limit on open files (`ulimit -n`, soft and hard).
    pub max_open_files: Option<u64>,
    /// `--listen`: a fixed address, kept across restarts (a load balancer's configuration
    /// names it); `None` listens on a free port, a new one at each restart.
    pub listen: Option<SocketAddr>,
}

/// A running `tandem-server` process. Dropping it kills the process.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    addr: SocketAddr,
    options: ServerOptions,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// Keeps a temporary data directory alive across restarts.
    temp: Option<Arc<tempfile::TempDir>>,
}

/// The `tandem-server` binary: `TANDEM_SERVER_BIN` if set, else built (once per test process,
/// a no-op when up to date) into the target directory the tests run from.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| workspace_binary("tandem-server", "TANDEM_SERVER_BIN"))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// The binary `name` of the workspace package of the same name: the path in `env_var` if set,
/// else built with cargo into the target directory and profile the tests run from. Callers
/// cache the result, so cargo runs once per test process.
pub fn workspace_binary(name: &str, env_var: &str) -> Result<PathBuf, String> {
    build_binary(name, env_var).map_err(|e| format!("{e:#}"))
}

fn build_binary(name: &str, env_var: &str) -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var(env_var) {
        return Ok(PathBuf::from(path));
    }
    // The test executable is TARGET/PROFILE/deps/NAME.
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable is not in TARGET/PROFILE/deps")?;
    let target_dir = profile_dir.parent().context("no target directory")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", name, "--bin", name, "--target-dir"])
        .arg(target_dir)
        .current_dir(crate::repo_root());
    if profile_dir.file_name().is_some_and(|dir| dir == "release") {
        build.arg("--release");
    }
    let status = build.status().with_context(|| format!("running cargo build -p {name}"))?;
    if !status.success() {
        bail!("cargo build -p {name} failed: {status}");
    }
    Ok(profile_dir.join(name))
}

impl TestServer {
    /// Starts a server on a free port and waits until `/healthz` answers 200.
    pub async fn start(options: ServerOptions) -> anyhow::Result<Self> {
        let (data_dir, temp) = match &options.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::Builder::new().prefix("tandem-e2e-").tempdir()?;
                (temp.path().to_owned(), Some(Arc::new(temp)))
            }
        };
        Self::spawn(options, data_dir, temp).await
    }

    async fn spawn(
        options: ServerOptions,
        data_dir: PathBuf,
        temp: Option<Arc<tempfile::TempDir>>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&data_dir)?;
        let log_path = data_dir.join(format!("server-{}.log", rand::random::<u32>()));
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(server_binary()?);
        let listen = options.listen.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
        command
            .args(["--listen", &listen, "--log-format", "json", "--data-dir"])
            .arg(&data_dir)
            .args(&options.args)
            .env_remove("TANDEM_AUTH_KEY")
            .env_remove("TANDEM_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(url) = &options.database_url {
            command.args(["--database-url", url]);
        }
        if let Some(key) = &options.auth_key {
            command.args(["--auth-key", key]);
        }
        if let Some(tls) = &options.tls {
            command.arg("--tls-cert").arg(&tls.cert).arg("--tls-key").arg(&tls.key);
        }
        if let Some(limit) = options.max_open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit(2) only, between fork and exec: async-signal-safe, no allocation.
            unsafe {
                command.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, limit, limit));
            }
        }
        let child = command.spawn().context("spawning tandem-server")?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            options,
            data_dir,
            log_path,
            temp,
        };
        server.addr = server.wait_listening().await?;
        server.wait_healthy().await?;
        Ok(server)
    }

    /// Reads the bound address from the JSON log line `listening`.
    async fn wait_listening(&mut self) -> anyhow::Result<SocketAddr> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.log();
            for line in log.lines() {
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                let fields = &entry["fields"];
                if fields["message"] == "listening"
                    && let Some(addr) = fields["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    return Ok(addr);
                }
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("tandem-server exited with {status} before listening; log:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("tandem-server did not start listening; log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `/healthz` to answer 200. Not with TLS: tests start TLS servers with expired
    /// or misnamed certificates too; the bound listener takes connections once `listening` is
    /// logged.
    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        if self.options.tls.is_some() {
            return Ok(());
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok((200, _)) = self.get("/healthz").await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("/healthz never answered 200; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `ws://ADDR/DOC`, or `wss://localhost:PORT/DOC` with TLS.
    pub fn ws_url(&self, doc: &str) -> String {
        match &self.options.tls {
            None => format!("ws://{}/{doc}", self.addr),
            Some(_) => format!("wss://localhost:{}/{doc}", self.addr.port()),
        }
    }

    /// `GET path` (over TLS, trusting the server's authority, when the server has TLS): the
    /// status and body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        match &self.options.tls {
            None => http_get(self.addr, path).await,
            Some(tls) => https_get(self.addr, "localhost", &tls.ca, path).await,
        }
    }

    /// `POST path` with the JSON `body` (plain http only): the status and body.
    pub async fn post(&self, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
        http_post(self.addr, path, body).await
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Resident memory of the process in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Kills the process with SIGKILL (a crash) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM and waits for it to exit; returns whether it exited
    /// successfully.
    pub async fn stop(&mut self) -> anyhow::Result<bool> {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            if Instant::now() > deadline {
                self.kill();
                bail!("tandem-server ignored SIGTERM; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts a TLS server: a certificate for `names` issued by `ca`, valid as `validity` says,
    /// written into `dir`; returns the files too (`ca` among them, for clients).
    pub async fn start_tls(
        dir: &Path,
        ca: &crate::TestCa,
        names: &[&str],
        validity: crate::Validity,
    ) -> anyhow::Result<(Self, crate::TlsFiles)> {
        let files = ca.issue(names, validity)?.write(dir, ca)?;
        let options = ServerOptions { tls: Some(files.clone()), ..ServerOptions::default() };
        Ok((Self::start(options).await?, files))
    }

    /// Starts a new process with the same options and data directory (after [`Self::stop`] or
    /// [`Self::kill`]). It listens on a new free port, unless [`ServerOptions::listen`] fixed
    /// one.
    pub async fn restart(&self) -> anyhow::Result<Self> {
        Self::spawn(self.options.clone(), self.data_dir.clone(), self.temp.clone()).await
    }

    /// Runs `tandem-server token --auth-key KEY ARGS...` and returns the token.
    pub fn token(key: &str, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(server_binary()?)
            .args(["token", "--auth-key", key])
            .args(args)
            .env_remove("TANDEM_AUTH_KEY")
            .output()?;
        if !output.status.success() {
            bail!("token failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 GET (the tests need no HTTP client crate): status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    get_on(stream, &addr.to_string(), path).await
}

/// A minimal HTTP/1.1 POST of a JSON `body`: status and body.
pub async fn http_post(addr: SocketAddr, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    exchange(stream, format!("{head}{body}")).await
}

/// [`http_get`] over TLS to `host` at `addr`, trusting the authority of the PEM file `ca`.
pub async fn https_get(
    addr: SocketAddr,
    host: &str,
    ca: &Path,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    let stream = tls_connect(addr, host, ca).await?;
    get_on(stream, host, path).await
}

/// The certificate the TLS server at `addr` presents now to `host` (verified against `ca`).
pub async fn presented_certificate(
    addr: SocketAddr,
    host: &str,
    ca: &Path,
) -> anyhow::Result<rustls_pki_types::CertificateDer<'static>> {
    let stream = tls_connect(addr, host, ca).await?;
    let certs = stream.get_ref().1.peer_certificates().context("no certificate presented")?;
    Ok(certs.first().context("empty certificate chain")?.clone().into_owned())
}

async fn tls_connect(
    addr: SocketAddr,
    host: &str,
    ca: &Path,
) -> anyhow::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let config = tandem_connect::client_config(Some(ca))?;
    let name = rustls_pki_types::ServerName::try_from(host.to_owned())?;
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    Ok(tokio::time::timeout(TIMEOUT, connector.connect(name, tcp)).await??)
}

async fn get_on(
    stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    host: &str,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    exchange(stream, request).await
}

/// Sends a whole request and reads the whole response: status and body.
async fn exchange(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    request: String,
) -> anyhow::Result<(u16, String)> {
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut response)).await??;
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").context("no HTTP header end")?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let body = &response[end + 4..];
    let status =
        head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no HTTP status")?;
    let body =
        if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let rest = &body[line_end + 2..];
        match size {
            Some(size) if size > 0 && rest.len() >= size => {
                out.extend_from_slice(&rest[..size]);
                body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
            }
            _ => break,
        }
    }
    out
}
