//! Three tandem-servers on one PostgreSQL behind HAProxy running the documented
//! `assets/deploy/haproxy.cfg`, the way an operator scales out: tandem-load types through the
//! balancer while a node is killed with SIGKILL, the nodes are restarted one at a time with
//! SIGTERM, and the database refuses every connection for a while. The load's clients reconnect
//! through the balancer, and at the end every update a node confirmed durable is in the
//! document (`--verify-durable`). Needs haproxy (scripts/setup-haproxy.sh) and PostgreSQL
//! (TANDEM_TEST_DATABASE_URL).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tandem_e2e::{
    Balance, ClientOptions, Haproxy, PostgresDatabase, ServerOptions, TestClient, TestServer,
    haproxy_binary, now_ms, workspace_binary,
};
use tokio::time::{Instant, sleep};

/// Three nodes, their database and the balancer in front.
struct Cluster {
    db: PostgresDatabase,
    nodes: Vec<TestServer>,
    proxy: Haproxy,
}

impl Cluster {
    /// Starts the cluster; `None` (after `require_or_skip`) when haproxy or PostgreSQL is
    /// missing.
    async fn start(test: &str, balance: Balance) -> Option<Self> {
        let haproxy = haproxy_binary(test)?;
        let db = PostgresDatabase::create(test).await.unwrap()?;
        let mut nodes = Vec::new();
        for _ in 0..3 {
            // A fixed port per node: the balancer's configuration names it across restarts.
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            let options = ServerOptions {
                database_url: Some(db.url.clone()),
                listen: Some(port),
                ..ServerOptions::default()
            };
            nodes.push(TestServer::start(options).await.unwrap());
        }
        let addrs: Vec<SocketAddr> = nodes.iter().map(TestServer::addr).collect();
        let proxy = Haproxy::start(&haproxy, &addrs, balance).await.unwrap();
        Some(Self { db, nodes, proxy })
    }

    /// Restarts node `i` on its port and data after it stopped.
    async fn restart(&mut self, i: usize) {
        self.nodes[i] = self.nodes[i].restart().await.unwrap();
    }

    /// Stops every node and drops the database.
    async fn finish(mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        drop(self.proxy);
        self.db.drop_database().await.unwrap();
    }
}

/// Starts tandem-load through the balancer: 2 documents × 6 typing clients × 10 keys/s for
/// `seconds`, durable confirmations counted and verified at the end.
fn start_load(proxy: &Haproxy, seconds: u32) -> tokio::process::Child {
    let binary = workspace_binary("tandem-load", "TANDEM_LOAD_BIN").unwrap();
    tokio::process::Command::new(binary)
        .args(["--url", &format!("ws://{}", proxy.addr), "--json"])
        .args(["--docs", "2", "--clients-per-doc", "6", "--rate", "10"])
        .args(["--duration", &seconds.to_string(), "--drain", "1", "--doc-prefix", "cluster-"])
        .args(["--ext-durable", "--verify-durable"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Waits for the load and checks its report: everyone synced, every confirmed update found.
async fn finish_load(load: tokio::process::Child) -> serde_json::Value {
    let output = load.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    eprintln!("{report:#}");
    assert!(output.status.success(), "verification failed:\n{report:#}\n{stderr}");
    assert_eq!(report["connections"]["synced"], report["connections"]["clients"], "{report:#}");
    let verify = &report["verify"];
    assert_eq!(verify["ok"], true, "{report:#}");
    assert_eq!(verify["missing"], 0, "{report:#}");
    assert!(verify["confirmed_checked"].as_u64().unwrap() > 0, "{report:#}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_a_rolling_restart_behind_haproxy_lose_no_confirmed_update() {
    let test = "kill_9_and_a_rolling_restart_behind_haproxy_lose_no_confirmed_update";
    // Round robin: each document's clients sit on all three nodes, so every keystroke crosses
    // the database to reach most readers, and the killed node's clients move to the others.
    let Some(mut cluster) = Cluster::start(test, Balance::RoundRobin).await else { return };
    let load = start_load(&cluster.proxy, 8);
    sleep(Duration::from_secs(3)).await;
    cluster.nodes[0].kill();
    sleep(Duration::from_secs(1)).await;
    cluster.restart(0).await;
    for i in 1..3 {
        assert!(cluster.nodes[i].stop().await.unwrap(), "node {i} did not stop cleanly");
        cluster.restart(i).await;
    }
    let report = finish_load(load).await;
    // Every node went away once with clients on it; they all came back through the balancer.
    assert!(report["connections"]["reconnects"].as_u64().unwrap() >= 3, "{report:#}");
    cluster.finish().await;
}

/// Refuses (and cuts) every connection to `database`, or allows them again: the database
/// restarting, as far as the nodes can tell.
async fn allow_connections(database_url: &str, allow: bool) {
    use sqlx::Connection;
    let name = url::Url::parse(database_url).unwrap().path().trim_start_matches('/').to_owned();
    let admin_url = std::env::var("TANDEM_TEST_DATABASE_URL").unwrap();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let statement = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.unwrap();
    if !allow {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&name)
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

/// A durable client typing on its own document through the balancer, counting confirmations.
struct Typist {
    client: TestClient,
    sent: usize,
}

impl Typist {
    /// The updates confirmed durable so far.
    fn confirmed(&self) -> usize {
        self.sent - self.client.client().unconfirmed_count()
    }

    /// Types a key every 100 ms for `period`, reading confirmations meanwhile.
    async fn type_for(&mut self, period: Duration) {
        let end = Instant::now() + period;
        while Instant::now() < end {
            let at = self.client.client().document().len_chars();
            let frames = self.client.client_mut().replace(at..at, "k", now_ms()).unwrap();
            self.client.send_frames(frames).await.unwrap();
            self.sent += 1;
            let next = Instant::now() + Duration::from_millis(100);
            while self.client.pump(next.saturating_duration_since(Instant::now())).await.unwrap() {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_hashing_survives_a_node_crash_and_a_database_outage() {
    let test = "consistent_hashing_survives_a_node_crash_and_a_database_outage";
    // By document: each document on one node until that node goes away.
    let Some(mut cluster) = Cluster::start(test, Balance::ConsistentUri).await else { return };
    let url = format!("ws://{}/outage-typist", cluster.proxy.addr);
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let client = TestClient::connect_synced(&url, durable).await.unwrap();
    let mut typist = Typist { client, sent: 0 };
    let load = start_load(&cluster.proxy, 8);
    typist.type_for(Duration::from_secs(3)).await;
    // The database gone for two seconds under load: nodes may confirm nothing meanwhile (the
    // clients are told the truth), and must store what they held back once it is back.
    allow_connections(&cluster.db.url, false).await;
    // Confirmations of commits that ended before the cut may still be on their way.
    typist.type_for(Duration::from_millis(300)).await;
    let before = typist.confirmed();
    typist.type_for(Duration::from_millis(1500)).await;
    let during = typist.confirmed();
    allow_connections(&cluster.db.url, true).await;
    typist.client.wait_durable().await.unwrap();
    eprintln!(
        "typist: {before} confirmed at the cut, {during} after 1.5 s without the database, {} sent",
        typist.sent
    );
    assert!(typist.sent > during, "nothing typed during the outage");
    assert_eq!(during, before, "confirmed while the database refused every connection");
    assert_eq!(typist.confirmed(), typist.sent, "not everything confirmed after the outage");
    typist.client.close().await.unwrap();
    sleep(Duration::from_millis(500)).await;
    for node in &mut cluster.nodes {
        node.kill();
    }
    sleep(Duration::from_millis(500)).await;
    for i in 0..3 {
        cluster.restart(i).await;
    }
    let report = finish_load(load).await;
    assert!(report["connections"]["reconnects"].as_u64().unwrap() >= 12, "{report:#}");
    cluster.finish().await;
}
