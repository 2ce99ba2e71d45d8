//! [`Haproxy`]: HAProxy running `assets/deploy/haproxy.cfg` (the documented configuration) in
//! front of several tandem-servers, with the test's addresses and a chosen balancing mode.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{TIMEOUT, http_get, repo_root, require_or_skip};

/// How HAProxy picks a node for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// Each connection to the next node: one document's clients spread over every node.
    RoundRobin,
    /// By the URI (the document), with consistent hashing: the documented default.
    ConsistentUri,
}

/// A running HAProxy; dropping it stops it.
#[derive(Debug)]
pub struct Haproxy {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// The haproxy binary, if installed (`scripts/setup-haproxy.sh`); reports it otherwise.
pub fn haproxy_binary(test: &str) -> Option<PathBuf> {
    let found = ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .map(PathBuf::from)
        .find(|bin| Command::new(bin).arg("-v").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        require_or_skip(test, "haproxy is not installed (scripts/setup-haproxy.sh installs it)");
    }
    found
}

impl Haproxy {
    /// Starts `binary` with the documented configuration balancing over `nodes` as `balance`
    /// says; waits until `/healthz` answers through it.
    pub async fn start(
        binary: &PathBuf,
        nodes: &[SocketAddr],
        balance: Balance,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("tandem-haproxy-").tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let documented = std::fs::read_to_string(repo_root().join("assets/deploy/haproxy.cfg"))?;
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(&config, test_config(&documented, addr, nodes, balance)?)?;
        let log = dir.path().join("haproxy.log");
        let child = Command::new(binary)
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting haproxy")?;
        let log = || std::fs::read_to_string(&log).unwrap_or_default();
        let mut haproxy = Self { child, addr, _dir: dir };
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Ok((200, _)) = http_get(addr, "/healthz").await {
                return Ok(haproxy);
            }
            if let Some(status) = haproxy.child.try_wait()? {
                bail!("haproxy exited with {status}:\n{}", log());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("haproxy never proxied /healthz:\n{}", log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The documented configuration with the test's addresses and balancing mode.
fn test_config(
    documented: &str,
    addr: SocketAddr,
    nodes: &[SocketAddr],
    balance: Balance,
) -> anyhow::Result<String> {
    let servers: String = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| format!("    server node{} {node}\n", i + 1))
        .collect();
    let balancing = match balance {
        Balance::RoundRobin => "balance roundrobin\n",
        Balance::ConsistentUri => "balance uri\n    hash-type consistent\n",
    };
    let mut swaps = vec![
        ("bind 127.0.0.1:8080", format!("bind {addr}")),
        ("balance uri\n    hash-type consistent\n", balancing.to_owned()),
        // Health checks every 200 ms: the test's outages are short.
        ("check inter 1s", "check inter 200ms".to_owned()),
    ];
    let documented_servers = "    server node1 127.0.0.1:8081\n    server node2 127.0.0.1:8082\n    \
                              server node3 127.0.0.1:8083\n";
    swaps.push((documented_servers, servers));
    let mut config = documented.to_owned();
    for (example, test) in swaps {
        if !config.contains(example) {
            bail!("assets/deploy/haproxy.cfg no longer says {example:?}; update the test's swaps");
        }
        config = config.replacen(example, &test, 1);
    }
    Ok(config)
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
