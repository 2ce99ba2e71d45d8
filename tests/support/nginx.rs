//! [`Nginx`]: nginx running `assets/deploy/nginx.conf` (the documented configuration) in front of
//! a plain tandem-server, terminating TLS with a test certificate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{TIMEOUT, TlsFiles, https_get, repo_root, require_or_skip};

/// A running nginx; dropping it stops it.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    /// Where it listens for https.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The nginx binary, if installed (`scripts/setup-deploy.sh`); reports it otherwise.
pub fn nginx_binary(test: &str) -> Option<PathBuf> {
    let found = ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|bin| Command::new(bin).arg("-v").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        require_or_skip(test, "nginx is not installed (scripts/setup-deploy.sh installs it)");
    }
    found
}

impl Nginx {
    /// Starts `binary` with the documented site configuration, proxying to `upstream` and
    /// serving `tls` for `localhost`; waits until `/healthz` answers through it.
    pub async fn start(
        binary: &PathBuf,
        upstream: SocketAddr,
        tls: &TlsFiles,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("tandem-nginx-").tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let documented = std::fs::read_to_string(repo_root().join("assets/deploy/nginx.conf"))?;
        let site = site_config(&documented, addr, upstream, tls)?;
        std::fs::write(dir.path().join("site.conf"), site)?;
        let prefix = dir.path().display().to_string();
        // As root, nginx's workers would run as `nobody`, who cannot enter the test's directory.
        // SAFETY: geteuid(2) has no preconditions and touches no memory.
        let user = if unsafe { libc::geteuid() } == 0 { "user root;" } else { "" };
        let main = format!(
            "{user}\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log {prefix}/access.log;\n  client_body_temp_path {prefix}/body;\n  \
             proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n  \
             uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n  \
             include {prefix}/site.conf;\n}}\n"
        );
        let config = dir.path().join("nginx.conf");
        std::fs::write(&config, main)?;
        let child = Command::new(binary)
            .args(["-p", &prefix, "-c"])
            .arg(&config)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting nginx")?;
        let mut nginx = Self { child, addr, dir };
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Ok((200, _)) = https_get(addr, "localhost", &tls.ca, "/healthz").await {
                return Ok(nginx);
            }
            if let Some(status) = nginx.child.try_wait()? {
                bail!("nginx exited with {status}:\n{}", nginx.error_log());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("nginx never proxied /healthz:\n{}", nginx.error_log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// nginx's error log.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// The documented site with the test's port, certificate and upstream in place of its examples.
fn site_config(
    documented: &str,
    addr: SocketAddr,
    upstream: SocketAddr,
    tls: &TlsFiles,
) -> anyhow::Result<String> {
    let swaps = [
        ("listen 443 ssl;", format!("listen {addr} ssl;")),
        ("listen [::]:443 ssl;", String::new()),
        ("server_name docs.example;", "server_name localhost;".to_owned()),
        ("/etc/letsencrypt/live/docs.example/fullchain.pem", tls.cert.display().to_string()),
        ("/etc/letsencrypt/live/docs.example/privkey.pem", tls.key.display().to_string()),
        ("http://127.0.0.1:8080", format!("http://{upstream}")),
    ];
    let mut site = documented.to_owned();
    for (example, test) in swaps {
        if !site.contains(example) {
            bail!("assets/deploy/nginx.conf no longer says {example:?}; update the test's swaps");
        }
        site = site.replace(example, &test);
    }
    Ok(site)
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
