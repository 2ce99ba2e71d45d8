//! Storage faults on the real binary (issue 18): a full disk never turns confirmations into
//! lies, and a database that cannot be opened is reported with its path.
//!
//! The disk tests mount small tmpfs file systems, so they need root (CI runs as root); elsewhere
//! they skip with the reason, and under `CI=true` a failure to mount fails them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tandem_e2e::{ClientOptions, ServerOptions, TestClient, TestServer, Tmpfs, now_ms};

/// The value of the counter `name` in the server's `/metrics`.
async fn metric(server: &TestServer, name: &str) -> f64 {
    let (_, body) = server.get("/metrics").await.unwrap();
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
}

/// A durable client sending one 8 KB update (a numbered marker `<i>` and padding) every 50 ms.
struct Typist {
    client: TestClient,
    sent: usize,
}

impl Typist {
    /// The updates confirmed durable so far.
    fn confirmed(&self) -> usize {
        self.sent - self.client.client().unconfirmed_count()
    }

    /// Types for `period`, reading confirmations meanwhile.
    async fn type_for(&mut self, period: Duration) {
        let end = Instant::now() + period;
        while Instant::now() < end {
            let at = self.client.client().document().len_chars();
            let text = format!("<{}>{}", self.sent, "x".repeat(8 * 1024));
            let frames = self.client.client_mut().replace(at..at, &text, now_ms()).unwrap();
            self.client.send_frames(frames).await.unwrap();
            self.sent += 1;
            let next = Instant::now() + Duration::from_millis(50);
            while self.client.pump(next.saturating_duration_since(Instant::now())).await.unwrap() {}
            assert!(self.client.closed().is_none(), "closed: {:?}", self.client.closed());
        }
    }
}

/// The file that takes the disk's space.
const FILLER: &str = "filler";

/// A server whose database sits on a 2 MB tmpfs filled with [`FILLER`], and a typist on it.
struct FullDisk {
    // Dropped in this order: the server before the disk it writes on.
    server: TestServer,
    typist: Typist,
    disk: Tmpfs,
}

impl FullDisk {
    /// Starts the server, fills the disk but 400 KB, types until `/healthz` says it is full;
    /// returns the setup, the updates confirmed after 2 s of typing and the `/healthz` answer.
    async fn start(test: &str) -> Option<(Self, usize, (u16, String))> {
        let disk = Tmpfs::mount(test, "2m")?;
        let database = format!("sqlite://{}", disk.path().join("tandem.db").display());
        // The data directory (and the server's log) stays off the small disk: only the
        // database fills it.
        let options = ServerOptions { database_url: Some(database), ..ServerOptions::default() };
        let server = TestServer::start(options).await.unwrap();
        let durable = ClientOptions { durable: true, ..ClientOptions::default() };
        let client = TestClient::connect_synced(&server.ws_url("full"), durable).await.unwrap();
        let mut typist = Typist { client, sent: 0 };

        disk.fill(FILLER, 400 * 1024);
        typist.type_for(Duration::from_secs(2)).await;
        let before = typist.confirmed();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut health = server.get("/healthz").await.unwrap();
        while health.0 == 200 && Instant::now() < deadline {
            typist.type_for(Duration::from_millis(500)).await;
            health = server.get("/healthz").await.unwrap();
        }
        Some((Self { server, typist, disk }, before, health))
    }

    /// Deletes the filler file: space returns.
    fn free(&self) {
        std::fs::remove_file(self.disk.path().join(FILLER)).unwrap();
    }

    /// The first `confirmed` updates missing from the document after a restart.
    async fn missing_after_restart(&self, confirmed: usize) -> Vec<usize> {
        let server = self.server.restart().await.unwrap();
        let reader = TestClient::connect_synced(&server.ws_url("full"), ClientOptions::default())
            .await
            .unwrap();
        let text = reader.text();
        (0..confirmed).filter(|i| !text.contains(&format!("<{i}>"))).collect()
    }
}

#[tokio::test]
async fn issue_18_full_disk_never_confirms_a_lost_update() {
    let test = "issue_18_full_disk_never_confirms_a_lost_update";
    let Some((mut full, before, health)) = FullDisk::start(test).await else { return };
    let at_full = full.typist.confirmed();
    full.typist.type_for(Duration::from_secs(3)).await;
    let during = full.typist.confirmed();
    let errors = metric(&full.server, "tandem_storage_errors_total").await;
    eprintln!(
        "confirmed: {before} before full, {at_full} when /healthz said {health:?}, {during} \
         after 3 s more on the full disk ({} sent, {errors} storage errors)",
        full.typist.sent
    );
    assert_eq!(during, at_full, "confirmations went on while the disk was full");
    assert_eq!(health.0, 503, "/healthz while the disk is full: {health:?}");
    assert!(health.1.contains("full"), "/healthz gives no reason: {health:?}");
    assert!(errors > 0.0, "no storage error counted");
    assert!(full.typist.sent > during, "everything sent was confirmed: the disk never filled");

    full.free();
    full.typist.type_for(Duration::from_secs(1)).await;
    full.typist.client.wait_durable().await.unwrap();
    let after = full.typist.confirmed();
    let health = full.server.get("/healthz").await.unwrap();
    eprintln!(
        "confirmed after freeing the disk: {after} of {}; /healthz {health:?}",
        full.typist.sent
    );
    assert_eq!(health.0, 200, "/healthz after the disk was freed: {health:?}");

    full.server.kill();
    let missing = full.missing_after_restart(after).await;
    eprintln!("missing after kill -9 and restart: {} of {after} confirmed", missing.len());
    assert!(missing.is_empty(), "confirmed updates lost: {missing:?}");
}

#[tokio::test]
async fn issue_18_sigterm_on_a_full_disk_loses_no_confirmed_update() {
    let test = "issue_18_sigterm_on_a_full_disk_loses_no_confirmed_update";
    let Some((mut full, _, health)) = FullDisk::start(test).await else { return };
    assert_eq!(health.0, 503, "/healthz while the disk is full: {health:?}");
    full.typist.type_for(Duration::from_secs(1)).await;
    let confirmed = full.typist.confirmed();
    // Shutdown cannot save on a full disk: it must still end (saying why), not hang.
    let clean = full.server.stop().await.unwrap();
    let log = full.server.log();
    eprintln!(
        "SIGTERM on the full disk: clean exit {clean}; {confirmed} of {} confirmed",
        full.typist.sent
    );
    assert!(!clean || log.contains("disk is full"), "exit 0 without a word: {log}");

    full.free();
    let missing = full.missing_after_restart(confirmed).await;
    eprintln!("missing after SIGTERM and restart: {} of {confirmed} confirmed", missing.len());
    assert!(missing.is_empty(), "confirmed updates lost: {missing:?}");
}

/// Terminates every backend connected to `database` but the killer's own, every 150 ms, until
/// `stop` is set: connections dying mid-commit. Returns how many it terminated.
async fn terminate_backends(admin_url: String, database: String, stop: Arc<AtomicBool>) -> u64 {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let mut killed = 0;
    while !stop.load(Ordering::Relaxed) {
        let terminated: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        killed += terminated.len() as u64;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    killed
}

/// Runs `terminate_backends` while `typist` types for `period`.
async fn kill_backends_while_typing(typist: &mut Typist, database: &str, period: Duration) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let admin_url = std::env::var("TANDEM_TEST_DATABASE_URL").unwrap();
    let killer = tokio::spawn(terminate_backends(admin_url, database.to_owned(), stop.clone()));
    typist.type_for(period).await;
    stop.store(true, Ordering::Relaxed);
    killer.await.unwrap()
}

/// Lets connections to `database` in or not (`ALTER DATABASE ... ALLOW_CONNECTIONS`); when
/// not, also ends those open, so that from then on nothing can commit.
async fn allow_connections(database: &str, allow: bool) {
    use sqlx::Connection;
    let admin_url = std::env::var("TANDEM_TEST_DATABASE_URL").unwrap();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let statement = format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allow}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.unwrap();
    if !allow {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(database)
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn issue_18_postgres_down_mid_commit_loses_no_confirmed_update() {
    let test = "issue_18_postgres_down_mid_commit_loses_no_confirmed_update";
    let Some(db) = tandem_e2e::PostgresDatabase::create(test).await.unwrap() else { return };
    let name = url::Url::parse(&db.url).unwrap().path().trim_start_matches('/').to_owned();
    let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let mut server = TestServer::start(options).await.unwrap();
    let durable = ClientOptions { durable: true, ..ClientOptions::default() };
    let client = TestClient::connect_synced(&server.ws_url("killed"), durable).await.unwrap();
    let mut typist = Typist { client, sent: 0 };
    typist.type_for(Duration::from_secs(1)).await;

    // Connections killed mid-commit, reconnecting at once.
    let killed = kill_backends_while_typing(&mut typist, &name, Duration::from_secs(2)).await;
    // The database gone for seconds (a restart): nothing may be confirmed meanwhile.
    allow_connections(&name, false).await;
    // Confirmations of commits that ended before the cut may still be on their way.
    typist.type_for(Duration::from_millis(500)).await;
    let down = typist.confirmed();
    let killed =
        killed + kill_backends_while_typing(&mut typist, &name, Duration::from_secs(4)).await;
    let health = server.get("/healthz").await.unwrap();
    let during = typist.confirmed();
    allow_connections(&name, true).await;
    typist.type_for(Duration::from_millis(500)).await;
    typist.client.wait_durable().await.unwrap();
    let confirmed = typist.confirmed();
    let errors = metric(&server, "tandem_storage_errors_total").await;
    eprintln!(
        "{killed} backends terminated; confirmed {down} when the database went down, {during} \
         while down (/healthz {health:?}), {confirmed} of {} after; {errors} storage errors",
        typist.sent
    );
    assert!(killed > 0, "no connection was terminated");
    assert_eq!(during, down, "confirmed while the database was down");
    assert_eq!(health.0, 503, "/healthz while the database is down: {health:?}");

    server.kill();
    let server = server.restart().await.unwrap();
    let reader = TestClient::connect_synced(&server.ws_url("killed"), ClientOptions::default())
        .await
        .unwrap();
    let text = reader.text();
    let missing = (0..confirmed).filter(|i| !text.contains(&format!("<{i}>"))).count();
    eprintln!("missing after kill -9 and restart: {missing} of {confirmed} confirmed");
    assert_eq!(missing, 0);
    drop(server);
    db.drop_database().await.unwrap();
}

/// Runs the server on `database` until it exits (it should fail at once); returns its stderr.
fn failed_start(database: &Path) -> String {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(tandem_e2e::server_binary().unwrap())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--database-url")
        .arg(format!("sqlite://{}", database.display()))
        .env_remove("TANDEM_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the server started on {database:?}: {stderr}");
    stderr
}

#[test]
fn issue_18_read_only_disk_error_names_the_path() {
    let test = "issue_18_read_only_disk_error_names_the_path";
    let Some(disk) = Tmpfs::mount(test, "1m") else { return };
    disk.remount_read_only();
    let database: PathBuf = disk.path().join("tandem.db");
    let stderr = failed_start(&database);
    assert!(stderr.contains(&database.display().to_string()), "no path in: {stderr}");
}

#[test]
fn issue_18_unreadable_database_error_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tandem.db");
    std::fs::write(&database, vec![0xA5u8; 8192]).unwrap();
    let stderr = failed_start(&database);
    assert!(stderr.contains(&database.display().to_string()), "no path in: {stderr}");
}
