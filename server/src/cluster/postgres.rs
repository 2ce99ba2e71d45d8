//! [`PostgresCluster`]: servers sharing one PostgreSQL database hear each other's commits
//! through `LISTEN`/`NOTIFY` and read each other's log rows.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use super::notice::{self, CHANNEL, NOTIFY};
use super::{Cluster, ClusterError, LogRow, RemoteCommit};

/// Documents per `IN (...)` list: far under PostgreSQL's 65,535 bound variables.
const DOCS_PER_STATEMENT: usize = 4_096;
const UPDATES_BETWEEN: &str = "SELECT doc, data FROM updates WHERE id >= ";
/// Notices heard and not yet followed; the listener waits while this many are queued.
const HEARD_QUEUE: usize = 1024;

/// This server's membership of the servers sharing a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresCluster {
    pool: PgPool,
    /// This server among those sharing the database (random).
    node: u64,
}

impl PostgresCluster {
    /// Server `node` on the database `pool` connects to (the pool the storage uses).
    pub(crate) fn new(pool: PgPool, node: u64) -> Self {
        Self { pool, node }
    }
}

impl Cluster for PostgresCluster {
    fn watch(&self) -> BoxFuture<'_, Result<mpsc::Receiver<RemoteCommit>, ClusterError>> {
        Box::pin(async move {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            let (commits, rx) = mpsc::channel(HEARD_QUEUE);
            tokio::spawn(listen(listener, self.node, commits));
            Ok(rx)
        })
    }

    fn updates_between<'a>(
        &'a self,
        from: i64,
        to: i64,
        docs: &'a [Arc<str>],
    ) -> BoxFuture<'a, Result<Vec<LogRow>, ClusterError>> {
        Box::pin(async move {
            let mut rows = Vec::new();
            for chunk in docs.chunks(DOCS_PER_STATEMENT) {
                let mut select = sqlx::QueryBuilder::<sqlx::Postgres>::new(UPDATES_BETWEEN);
                select.push_bind(from).push(" AND id <= ").push_bind(to).push(" AND doc IN (");
                let mut list = select.separated(", ");
                for doc in chunk {
                    list.push_bind(&**doc);
                }
                select.push(") ORDER BY id");
                // Lists vary in length: keep them out of the prepared-statement cache.
                let query = select.build_query_as::<(String, Vec<u8>)>().persistent(false);
                rows.extend(query.fetch_all(&self.pool).await?);
            }
            Ok(rows)
        })
    }

    fn publish_presence<'a>(
        &'a self,
        doc: &'a str,
        update: &'a [u8],
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move {
            let Some(payload) = notice::presence_payload(self.node, doc, update)? else {
                tracing::debug!(doc, bytes = update.len(), "awareness too large to announce");
                return Ok(());
            };
            sqlx::query(NOTIFY).bind(CHANNEL).bind(payload).execute(&self.pool).await?;
            Ok(())
        })
    }
}

/// Forwards what other servers announce until the pool closes or nobody follows any more.
async fn listen(mut listener: PgListener, node: u64, commits: mpsc::Sender<RemoteCommit>) {
    loop {
        let heard = match listener.try_recv().await {
            Ok(Some(notification)) => notice::heard(node, notification.payload()),
            // The connection dropped (it reconnects on the next call): notices sent meanwhile
            // are lost.
            Ok(None) => vec![RemoteCommit::Lost],
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "listening for other servers' commits failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                vec![RemoteCommit::Lost]
            }
        };
        for commit in heard {
            if commits.send(commit).await.is_err() {
                return;
            }
        }
    }
}
